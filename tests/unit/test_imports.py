"""No import circle inside mmembed/ or autograder/, read from the source with `ast`; and loading a file as a module.

Every import counts, also one inside a function: a module that imports another lazily still depends on it. So does
a module named in a string, as `importlib.import_module` takes it ("mmembed.zoo", or "mmembed.zoo.tiny:TINY").
`from . import hub` depends on the module mmembed.zoo.hub; `from mmembed import load_clip` on the package itself.
"""

import ast
import dataclasses
import re
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from mmembed.modules import load_module
from tests.helpers import REPO_ROOT, run_python

PACKAGES = ("mmembed", "autograder")


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of the packages under `root`."""
    modules = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            parts = file.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return modules


def imported_modules(name: str, file: Path, known: set[str]) -> set[str]:
    """The known modules that the module `name` (in `file`) imports, anywhere in its code."""
    is_package = file.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                base = node.module
            # `from package import name`: the submodule `name` if there is one, else the package itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = node.value.split(":")[0]  # a whole dotted name: not "mmembed", a folder's name too
            targets = [named] if "." in named and named in known else []
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a non-module name: its nearest module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    modules = module_files(root, packages)
    return {name: imported_modules(name, file, set(modules)) for name, file in modules.items()}


def circle_in(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return error.args[1]
    return None


def test_no_import_circle_in_mmembed_or_autograder():
    graph = import_graph(REPO_ROOT)
    assert circle_in(graph) is None, f"import circle: {' -> '.join(circle_in(graph))}"


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing `start` may import in turn (its imports, theirs, and so on)."""
    found, todo = set(), [start]
    while todo:
        for module in graph[todo.pop()] - found:
            found.add(module)
            todo.append(module)
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_each_layer_imports_only_the_layers_below_it():
    """mmembed is what students run: it never imports the grader (autograder) or the maintainers' tools (tools),
    which stand on it. Lecture 07's training engine (mmembed.training) stands on the model zoo (mmembed.zoo: its
    bilingual tokenizer extends the zoo's CLIP BPE), so nothing the zoo imports, directly or through another
    module, is the training engine. (autograder/inside/ has its own rule: see the test of code beside student code.)
    """
    graph = import_graph(REPO_ROOT, [*PACKAGES, "tools"])
    # the directions that are allowed are seen, so the graph spans the layers
    assert "mmembed.training" in graph["tools.train_mini"]
    assert "mmembed.zoo.clip_bpe" in graph["mmembed.training.tokenizer"]
    for name in graph:
        if in_package(name, "mmembed"):
            above = {module for module in graph[name] if not in_package(module, "mmembed")}
            assert not above, f"{name} imports {sorted(above)}"
        if in_package(name, "mmembed.zoo"):
            training = {module for module in reachable(graph, name) if in_package(module, "mmembed.training")}
            assert not training, f"{name} imports, directly or not, {sorted(training)}"


def test_the_graph_has_the_imports_the_code_makes():
    graph = import_graph(REPO_ROOT)
    assert {"mmembed.zoo.registry", "mmembed.zoo.hub"} <= graph["mmembed.zoo.sources"]  # from . import hub, registry
    assert "mmembed.zoo.sources" in graph["mmembed.zoo.load"]  # from .sources import resolve
    assert {"mmembed.zoo.load", "mmembed.zoo.sources"} <= graph["mmembed.zoo"]  # by name, imported on first use
    assert "mmembed.zoo.registry" in graph["mmembed.zoo.hub"]
    assert "mmembed.zoo.load" in graph["mmembed"]  # the package's __init__, by name: "mmembed.zoo.load"
    assert {"mmembed.zoo.tiny", "mmembed.zoo.standins"} <= graph["mmembed.zoo.registry"]  # "mmembed.zoo.tiny:TINY"
    assert any(name.startswith("autograder.") for name in graph) and any(graph[n] for n in graph if "autograder" in n)


def test_a_lazy_import_circle_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def later():\n    from .a import something\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text('BUILDER = "pkg.c:make"  # imported by name, later\n')
    graph = import_graph(tmp_path, ["pkg"])
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}, "pkg.d": {"pkg.c"}}
    assert set(circle_in(graph)) == {"pkg.a", "pkg.b"}


# ---------------------------------------------------------------- loading a file as a module


def test_load_module_runs_the_file_as_a_registered_module(tmp_path):
    file = tmp_path / "answer.py"
    file.write_text("import dataclasses\n\n@dataclasses.dataclass\nclass Point:\n    x: int\n\nORIGIN = Point(0)\n")
    module = load_module(file, "course_answer_test")
    try:
        assert sys.modules["course_answer_test"] is module
        assert dataclasses.asdict(module.ORIGIN) == {"x": 0}  # dataclasses look their module up in sys.modules
    finally:
        sys.modules.pop("course_answer_test", None)


def test_load_module_forgets_a_file_that_fails(tmp_path):
    file = tmp_path / "broken.py"
    file.write_text("raise SystemExit(3)\n")
    with pytest.raises(SystemExit):
        load_module(file, "course_broken_test")
    assert "course_broken_test" not in sys.modules
    with pytest.raises(ImportError, match="Cannot load"):
        load_module(tmp_path / "notes.txt", "course_notes_test")


def module_map() -> dict[str, bool]:
    """{module: taught} from mmembed's docstring: a line "    name [name ...]   [*] what it is" names modules of
    the group above it ("  zoo/   ..." is a package and prefixes its lines); a star marks what lectures import."""
    import mmembed

    modules, package = {}, "mmembed"
    for line in mmembed.__doc__.splitlines():
        if group := re.match(r"^  (\w+)/\s+(\*)?", line):
            package = f"mmembed.{group.group(1)}"
            modules[package] = bool(group.group(2))
        elif re.match(r"^  \S", line):
            package = "mmembed"
        elif entry := re.match(r"^ {4}(\w+(?: \w+)*?)\s{2,}(\*)?", line):
            for name in entry.group(1).split():
                modules[package if name == "__init__" else f"{package}.{name}"] = bool(entry.group(2))
    return modules


def test_the_package_docstring_maps_every_module_once():
    assert sorted(module_map()) == sorted(module_files(REPO_ROOT, ["mmembed"]))


def test_lectures_and_quizzes_import_only_the_modules_the_map_marks_as_taught():
    """A lecture teaches a module by importing it; the map says which ones, so a new import is a decision."""
    taught = {name for name, starred in module_map().items() if starred} | {"mmembed"}
    notebooks = sorted((REPO_ROOT / "lectures").glob("*.ipynb")) + sorted((REPO_ROOT / "quizzes").rglob("*.ipynb"))
    assert len(notebooks) >= 10
    for notebook in notebooks + [REPO_ROOT / "quizzes" / "quiz_search.py"]:
        text = notebook.read_text(encoding="utf-8").replace("\\n", "\n")
        used = set(re.findall(r"(?:^|[\s\"])(?:from|import) (mmembed[\w.]*)", text, re.M))
        if notebook.parent.name == "lectures":
            assert used, notebook.name
        assert used <= taught, f"{notebook.name} imports {sorted(used - taught)}, not marked * in mmembed's map"


def test_nothing_of_the_course_imports_a_moved_name():
    """The old module names (mmembed.moved) are for last term's copies; the course itself uses the new ones."""
    graph = import_graph(REPO_ROOT, [*PACKAGES, "tools", "tests", "benchmarks"])
    old = {name for name, file in module_files(REPO_ROOT, ["mmembed"]).items() if "alias(__name__" in file.read_text()}
    assert {"mmembed.models", "mmembed.evaluate"} <= old
    for name, imports in graph.items():
        if name == __name__:  # names the old modules to test them
            continue
        assert not imports & old, f"{name} imports {sorted(imports & old)}"


def test_an_old_name_is_the_new_module_and_says_so_once():
    import mmembed.zoo.load

    for old in ("mmembed.models", "mmembed.evaluate"):
        sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match="mmembed.models는 mmembed.zoo.load"):
        from mmembed.models import load_clip
    assert load_clip is mmembed.zoo.load.load_clip
    result = run_python(["-m", "mmembed.evaluate", "--help"])
    assert result.returncode == 0 and "`python -m mmembed evaluate`" in result.stderr  # the command it now is


def test_code_that_runs_beside_student_code_imports_nothing_of_the_grader():
    """autograder/inside/ is shown to student code (in the sandbox, or as source sent into a kernel): it may import
    the standard library, NumPy, torch and mmembed, and its own neighbours, never the grader."""
    graph = import_graph(REPO_ROOT)
    inside = {name for name in graph if name.startswith("autograder.inside")}
    assert {"autograder.inside.child", "autograder.inside.wire", "autograder.inside.kernel_checks"} <= inside
    for name in inside:
        grader = {module for module in graph[name] if module.split(".")[0] == "autograder"} - inside
        assert not grader, f"{name} imports {sorted(grader)}"
