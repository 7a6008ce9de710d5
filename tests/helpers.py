"""Small helpers the tests share."""

import functools
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
# An address where nothing listens: the hub "cannot be reached" at once, online or offline.
UNREACHABLE_HUB = "http://127.0.0.1:9"


def run_python(args, env=None, timeout=120, cwd=REPO_ROOT):
    """Run `python ARGS` in a fresh process, the way a student would, and return the CompletedProcess."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)


# What the notebooks run on in CI: MMEMBED_OFFLINE=1 puts each lecture's hub model's offline stand-in in its
# place ("mini" for the CLIP models, small random-weight models of the same classes for the others).
OFFLINE_SETTINGS = {
    "MMEMBED_OFFLINE": "1",
    # Headless, and unlike "Agg" it still puts each figure into the cell's outputs as image/png.
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


# Answer keys (solutions/lectures/<lecture>.md): a "python check" fence directly followed by a "text" fence.
ANSWER_KEYS_DIR = REPO_ROOT / "solutions" / "lectures"
EXECUTED_LECTURES = REPO_ROOT / "build" / "executed" / "lectures"  # tools/build_site.py's EXECUTED
FENCE = "```"


@dataclass(frozen=True)
class KeyCheck:
    """One check of an answer key: the code of a ```python check block, and the ```text block right after it
    (None when there is none: the test reports the key as malformed)."""

    key: Path
    line: int  # of the ```python check fence, counted from 1
    heading: str  # the nearest heading above it: which exercise it checks
    code: str
    expected: str | None


@dataclass(frozen=True)
class KeyResult:
    """What a check printed in the lecture's kernel (stdout, and a last expression's value), or the traceback of
    the error it raised."""

    check: KeyCheck
    output: str
    error: str | None


class LectureRun(NamedTuple):
    nb: Any  # the executed notebook: the lecture's own cells only
    seconds: float  # the lecture's cells, without the answer keys' checks
    error: Any  # the CellExecutionError of the first lecture cell that failed, or None
    key_results: list[KeyResult]  # empty when the lecture failed before its checks ran


def answer_key(notebook: Path) -> Path:
    return ANSWER_KEYS_DIR / f"{notebook.stem}.md"


def answer_key_checks(key: Path) -> list[KeyCheck]:
    """Every ```python check block of `key` (in order) with the ```text block that follows it; [] without a key.

    Only blank lines may stand between the two blocks (solutions/README.md describes the format)."""
    if not key.is_file():
        return []
    lines = key.read_text(encoding="utf-8").splitlines()

    def block(start: int) -> tuple[str, int]:
        """The body of the fence opened on line `start` (0-based), and the line after its closing fence."""
        end = start + 1
        while end < len(lines) and lines[end].strip() != FENCE:
            end += 1
        return "\n".join(lines[start + 1 : end]), end + 1

    checks, heading, index = [], "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line.strip()
        if line.strip() != f"{FENCE}python check":
            index += 1 if not line.startswith(FENCE) else block(index)[1] - index  # skip other fences whole
            continue
        code, index_after = block(index)
        following = index_after
        while following < len(lines) and not lines[following].strip():
            following += 1
        expected = None
        if following < len(lines) and lines[following].strip() == f"{FENCE}text":
            expected, index_after = block(following)
        checks.append(KeyCheck(key, index + 1, heading, code, expected))
        index = index_after
    return checks


def key_result(check: KeyCheck, cell) -> KeyResult:
    printed, error = [], None
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stdout":
            printed.append(output.text)
        elif output.output_type == "execute_result" and "text/plain" in output.get("data", {}):
            printed.append(output["data"]["text/plain"] + "\n")
        elif output.output_type == "error":
            error = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.traceback))  # without the terminal colours
    return KeyResult(check, "".join(printed), error)


@functools.cache
def execute_lecture(notebook: Path, timeout: int) -> LectureRun:
    """Run a lecture top to bottom offline, once per test session, as students get it: the student edition's copy of
    `notebook` (lectures/NAME), in a kernel of the edition's fresh venv (tests.student_copy); then, in the same
    kernel, the check blocks of its answer key (solutions/lectures/<lecture>.md).

    The edition's notebook opens with the Colab setup cell, which does nothing outside Colab; it runs, and is taken
    out of the executed notebook with the checks: the checks run as extra cells after the lecture (each may fail on
    its own without stopping the others). The notebook other tests read, and that the site is made from, holds the
    lecture's own cells only, with no answer in it. What the checks printed is kept in `key_results`
    (tests/lectures/test_answer_keys.py compares it with the keys).

    The notebook and the time are there even when a cell failed, so a test can report it. Several tests read the
    same run (tests/lectures/test_notebooks.py checks it ran; the claims tests check what its cells printed against
    what its prose says).
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from tests.student_copy import run_notebook, student_copy
    from tools.make_student_edition import COLAB_SETUP_ID

    copy = student_copy()
    students_notebook = copy.edition / "lectures" / notebook.name
    nb = nbformat.read(students_notebook, as_version=4)
    lecture_cells = len(nb.cells)
    checks = answer_key_checks(answer_key(notebook))
    for check in checks:  # "raises-exception": a check that fails is recorded, and the next one still runs
        nb.cells.append(nbformat.v4.new_code_cell(check.code, metadata={"tags": ["raises-exception"]}))
    checks_started = []

    def on_cell_start(cell, cell_index):
        if cell_index == lecture_cells:
            checks_started.append(time.monotonic())

    started = time.monotonic()
    error = None
    try:
        run_notebook(nb, copy, students_notebook.parent, timeout, on_cell_start)
    except CellExecutionError as failure:
        error = failure
    seconds = (checks_started[0] if checks_started else time.monotonic()) - started
    check_cells = nb.cells[lecture_cells:]
    del nb.cells[lecture_cells:]
    nb.cells = [cell for cell in nb.cells if cell.get("id") != COLAB_SETUP_ID]
    ran = error is None
    if ran and notebook.parent == REPO_ROOT / "lectures":
        EXECUTED_LECTURES.mkdir(parents=True, exist_ok=True)  # what `make site` renders (tools/build_site.py)
        nbformat.write(nb, EXECUTED_LECTURES / notebook.name)
    return LectureRun(nb, seconds, error, [key_result(c, cell) for c, cell in zip(checks, check_cells)] if ran else [])


def code_cell(nb, marker: str):
    """The one code cell of `nb` whose source contains `marker`."""
    cells = [cell for cell in nb.cells if cell.cell_type == "code" and marker in cell.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {marker!r}; expected exactly one"
    return cells[0]


def lecture_function(notebook: Path, name: str, **names):
    """The function `name` as the committed `notebook` defines it (in its one code cell with `def name(`), compiled
    on its own; `names` are the globals it uses besides torch and F (torch.nn.functional)."""
    import ast

    import nbformat
    import torch
    import torch.nn.functional as F

    tree = ast.parse(code_cell(nbformat.read(notebook, as_version=4), f"def {name}(").source)
    wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    namespace = {"F": F, "torch": torch, **names}
    exec(compile(ast.Module(wanted, type_ignores=[]), notebook.name, "exec"), namespace)
    return namespace[name]


def normalise(embeddings):
    """Each row divided by its length, as the lectures write it by hand before `@`."""
    return embeddings / embeddings.norm(dim=-1, keepdim=True)


def quiz_captions() -> tuple[list[str], list[str]]:
    """English and Korean captions of val_0 .. val_199 as students get them (the edition's, which the lectures read), in
    the order mmembed.load_images gives the pictures."""
    from mmembed.images import image_files
    from mmembed.paths import QUIZ_IMAGE_DIR
    from tests.student_copy import students_manifest

    pictures = {Path(p.path).name: p for p in students_manifest() if p.path.startswith("quiz-image/")}
    names = [path.name for path in image_files(QUIZ_IMAGE_DIR)]
    return [pictures[n].caption_en for n in names], [pictures[n].caption_ko for n in names]


def markdown_text(nb) -> str:
    """The notebook's prose: every markdown cell, in order."""
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def lecture_code(notebook: Path, offline_names: tuple[str, ...] = ()) -> str:
    """The notebook's code as committed (every code cell, in order), checked to run the same online and offline:
    it never asks whether it is offline, and no string in it names any of `offline_names` (a stand-in, a local
    sample)."""
    import ast

    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    assert "MMEMBED_OFFLINE" not in code and "offline_requested" not in code
    strings = [n.value for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    for name in offline_names:
        assert not [text for text in strings if name in text], name
    return code


def assert_loads_through_course_model(code: str, at_least: int) -> set[str]:
    """Every `.from_pretrained(...)` argument in `code` (at least `at_least` of them) is `mmembed.course_model(...)`
    or a variable assigned from it, so the same code loads the real model online and its stand-in offline.
    Returns those variables."""
    from_course_model = set(re.findall(r"^(\w+) = mmembed\.course_model\(\"[^\"]+\"\)", code, flags=re.M))
    arguments = re.findall(r"\.from_pretrained\((mmembed\.course_model\(\"[^\"]+\"\)|\w+)\)", code)
    assert len(arguments) == code.count(".from_pretrained(") >= at_least
    for argument in arguments:
        assert argument.startswith("mmembed.course_model(") or argument in from_course_model, argument
    return from_course_model


def shows_a_figure(nb, marker: str) -> bool:
    """Whether the code cell whose source contains `marker` put a figure into its outputs."""
    return any("image/png" in output.get("data", {}) for output in code_cell(nb, marker).outputs)


def notebook_source(notebook: Path) -> str:
    """Every cell's source of the committed notebook, one after another."""
    import nbformat

    return "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)


def figures(text: str) -> list[float]:
    """Every number in `text`, thousands separators removed ("12,389" is 12389.0)."""
    return [float(value.replace(",", "")) for value in re.findall(r"-?\d[\d,]*\.?\d*", text)]


def assert_new_terms_are_glossary_entries_of(notebook: Path, number: str, terms: list[str]) -> None:
    """Each term is a glossary entry pointing at lecture `number` ("(08a)"), and the lecture uses it twice or more."""
    glossary = (REPO_ROOT / "lectures" / "용어집.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in glossary.splitlines() if line.startswith("| ")}
    text = notebook_source(notebook)
    for term in terms:
        assert term in rows, f"{term} is not a glossary entry"
        assert rows[term].rstrip().endswith(f"({number}) |"), f"the glossary does not point {term} at lecture {number}"
        assert text.count(term) >= 2, f"the lecture names {term} but hardly uses it"


def decimals(text: str) -> list[float]:
    """Every decimal number in `text`, in order ("-0." and "0.83" alike)."""
    return [float(number) for number in re.findall(r"-?\d+\.\d*", text)]


def assert_contains(text: str, *expected: str) -> None:
    """Each of `expected` is somewhere in `text` (what a cell printed, or the prose); the failure lists the
    missing ones."""
    missing = [part for part in expected if part not in text]
    assert not missing, f"missing: {missing}\n--- in:\n{text}"


def cell_text(nb, marker: str) -> str:
    """Everything the code cell whose source contains `marker` printed (stdout, and text/plain results)."""
    parts = []
    for output in code_cell(nb, marker).outputs:
        if output.output_type == "stream" and output.name == "stdout":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def printed_text(nb, marker: str) -> str:
    """What the code cell whose source contains `marker` printed, stdout only: unlike `cell_text`, no figure's
    text/plain ("<Figure size ...>") runs into the next printed line."""
    return "".join(
        output.text
        for output in code_cell(nb, marker).outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


class Listener(threading.Thread):
    """A TCP server on the grader's loopback that counts connections (a sandboxed child must make none)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0

    def run(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def nbgrader_solutions(source: Path) -> dict[str, str]:
    """{grade id: the instructor's code} of each answer cell of an nbgrader source notebook (solutions/quiz_notebooks):
    the lines between `### BEGIN SOLUTION` and `### END SOLUTION`, which a student types where the release has
    `raise NotImplementedError()`."""
    import nbformat

    answers = {}
    for cell in nbformat.read(source, as_version=4).cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution") and cell.cell_type == "code":
            lines = cell.source.splitlines()
            answers[grading["grade_id"]] = "\n".join(
                lines[lines.index("### BEGIN SOLUTION") + 1 : lines.index("### END SOLUTION")]
            )
    return answers
