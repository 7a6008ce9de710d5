"""The rule of quizzes 3-6: no mmembed function but load_clip. Its two witnesses, without a sandbox or a model:
the source reading (autograder/rules.py) and the child's run-time guard (autograder/inside/guard.py), the latter
in a fresh process, since it rewrites mmembed's namespaces. The grader's own use of both is graded in
tests/grading/test_autograder.py (the RULE_BREAKERS students).
"""

import ast
import json

import pytest

from autograder import protocol
from autograder.checks import CHECKS_OF_FUNCTION, RULE, enforce_rule, passed
from autograder.config import POINTS
from autograder.grade import helper_uses
from autograder.inside.wire import encode, read_messages
from autograder.rules import IMPORT, functions_using_helpers
from tests.helpers import REPO_ROOT, run_python

SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
SKELETON = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = SOLUTION) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def at_top(code: str, text: str = SOLUTION) -> str:
    return edit("import mmembed\n", "import mmembed\n" + code + "\n", text)


def in_load_images(code: str, text: str = SOLUTION) -> str:
    return edit("    paths = [path", code + "\n    paths = [path", text)


def in_search(code: str, text: str = SOLUTION) -> str:
    return edit("    text_unit = F.normalize", code + "\n    text_unit = F.normalize", text)


LOAD, SEARCH, EMBED = {"load_images", "main"}, {"search_top1", "main"}, {"embed_images", "main"}
ARGS = "(text_embedding, image_embeddings, image_filenames)[0][0]"  # a call of mmembed.search, its top name
CASES = {
    "a direct call": (in_load_images("    return mmembed.load_images(image_dir)"), LOAD),
    "an alias of the module": (
        at_top("import mmembed as m", in_load_images("    return m.load_images(image_dir)")),
        LOAD,
    ),
    "from-import under another name": (
        at_top(
            "from mmembed.embedding import embed_images as e",
            edit("    batch_size = 32\n", "    return e(images, model, processor)\n"),
        ),
        EMBED,
    ),
    "a module-level alias used inside": (
        at_top("E = mmembed.embed_images", edit("    batch_size = 32\n", "    return E(images, model, processor)\n")),
        EMBED,
    ),
    "importlib with a constant": (
        in_search(f'    import importlib\n    return importlib.import_module("mmembed.similarity").search{ARGS}'),
        SEARCH,
    ),
    "importlib with a built name": (
        in_load_images(
            '    import importlib\n    m = importlib.import_module("mm" + "embed")\n    return m.load_images(image_dir)'
        ),
        LOAD,
    ),
    "from importlib import import_module": (
        in_load_images(
            '    from importlib import import_module as load\n    return load("mmembed.images").load_images(image_dir)'
        ),
        LOAD,
    ),
    "__import__": (in_load_images('    return __import__("mmembed").load_images(image_dir)'), LOAD),
    "getattr with a built string": (
        in_search(f'    return getattr(mmembed, "sea" + "rch"){ARGS}'),
        SEARCH,
    ),
    "getattr through an alias of getattr": (
        in_search(
            '    import builtins\n    fetch = builtins.getattr\n    return fetch(mmembed, "top_k")(text_embedding, 1)'
        ),
        SEARCH,
    ),
    "sys.modules": (
        in_search(f'    import sys\n    return sys.modules["mmembed"].search{ARGS}'),
        SEARCH,
    ),
    "a loop over sys.modules": (
        in_search(
            "    import sys\n    for name, module in list(sys.modules.items()):\n"
            f"        if name.endswith('similarity'):\n            return module.search{ARGS}"
        ),
        SEARCH,
    ),
    "vars of the module": (in_load_images('    return vars(mmembed)["load_images"](image_dir)'), LOAD),
    "a module's __dict__": (in_load_images('    return mmembed.images.__dict__["load_images"](image_dir)'), LOAD),
    "a helper of the student's own": (
        at_top(
            "\ndef _load(folder):\n    return mmembed.load_images(folder)\n",
            in_load_images("    return _load(image_dir)"),
        ),
        LOAD,
    ),
    "a class of the student's own": (
        at_top(
            "\nclass Finder:\n    find = staticmethod(mmembed.search)\n",
            in_search(f"    return Finder.find{ARGS}"),
        ),
        SEARCH,
    ),
    "a global set by another function": (
        at_top(
            "\ndef _setup():\n    global FIND\n    FIND = mmembed.search\n",
            in_search(f"    return FIND{ARGS}"),
        ),
        SEARCH,
    ),
    "a default argument": (
        edit(
            "def search_top1(text_embedding, image_embeddings, image_filenames)",
            "def search_top1(text_embedding, image_embeddings, image_filenames, find=mmembed.search)",
        ),
        SEARCH,
    ),
    "a reference that never runs": (in_search("    if False:\n        mmembed.search"), SEARCH),
    "main() itself": (
        edit("    images, filenames = load_images()", "    images, filenames = mmembed.load_images(IMAGE_DIR)"),
        {"main"},
    ),
    "a call when the file is imported": (at_top("PICTURES = mmembed.load_images(IMAGE_DIR.parent)"), {IMPORT}),
    "a call at import whose result a function uses": (
        at_top("PICTURES = mmembed.load_images('.')", in_load_images("    return PICTURES")),
        {IMPORT} | LOAD,
    ),
    "from mmembed import * and a helper used": (
        at_top(
            "from mmembed import *",
            in_search(f"    return search{ARGS}"),
        ),
        SEARCH,
    ),
}
ALLOWED = {
    "the solution": SOLUTION,
    "the skeleton": SKELETON,
    "load_clip by its full path": edit("mmembed.load_clip()", "mmembed.zoo.load.load_clip()"),
    "load_clip by getattr": edit("mmembed.load_clip()", 'getattr(mmembed, "load_clip")()'),
    "load_clip imported": at_top("from mmembed import load_clip", edit("mmembed.load_clip()", "load_clip()")),
    "getattr on a model output": edit("output.pooler_output.cpu()", 'getattr(output, "pooler_output", output).cpu()'),
    "importlib of torch": in_search(
        '    import importlib\n    F2 = importlib.import_module("torch.nn.functional")\n'
        "    text_embedding = F2.normalize(text_embedding, dim=-1)"
    ),
    "mmembed's data, not its functions": in_load_images("    print(mmembed.__file__, mmembed.paths.QUIZ_IMAGE_DIR)"),
    "an own function named as mmembed's, after importing it": at_top("from mmembed import embed_images, load_images"),
    "from mmembed import * with the student's own functions": at_top("from mmembed import *"),
    "a helper only under __main__": edit(
        'if __name__ == "__main__":\n', 'if __name__ == "__main__":\n    mmembed.load_images(IMAGE_DIR)\n'
    ),
    "a file that does not parse": "def load_images(:\n",
}


@pytest.mark.parametrize("way", list(CASES))
def test_the_source_shows_which_functions_reach_a_helper(way):
    source, expected = CASES[way]
    ast.parse(source)
    assert functions_using_helpers(source) == expected


@pytest.mark.parametrize("way", list(ALLOWED))
def test_honest_code_and_load_clip_reach_no_helper(way):
    assert functions_using_helpers(ALLOWED[way]) == set()


def test_each_witness_costs_those_functions_checks_with_a_fixed_korean_sentence():
    results = [passed(name, "맞았습니다.") for name in POINTS]
    found = helper_uses(
        {"search_top1", "main"}, {"embed_text_hidden": frozenset({"step"}), "main": frozenset({"step"})}
    )
    assert found == {"search_top1": "code", "main": "code", "embed_text": "run"}
    graded = {r.name: r for r in enforce_rule(results, found)}
    lost = {name for name, r in graded.items() if r.score == 0}
    assert lost == {*CHECKS_OF_FUNCTION["search_top1"], *CHECKS_OF_FUNCTION["embed_text"], "main_output"}
    assert graded["embed_text_values"].output.startswith("embed_text을(를) 실행하는 동안")
    assert graded["search_top1_query"].output.startswith("search_top1의 코드가")
    assert all(RULE in graded[name].output for name in lost)
    assert graded["load_images"].score == POINTS["load_images"] and graded["load_images"].output == "맞았습니다."


def test_a_helper_called_at_import_costs_every_check():
    found = helper_uses(set(), {"load_images": frozenset({"import"})})
    assert found == {"import": "import"}
    assert all(r.score == 0 for r in enforce_rule([passed(name, "맞았습니다.") for name in POINTS], found))


def test_a_reported_call_is_final_for_its_step_whatever_follows():
    """The guard's message counts even when the step then crashes or writes garbage: protocol.helper_calls reads
    the well-formed start of the stream, and accept() takes the message wherever it stands before the result."""
    stream = encode("helper_call", {"during": "import"}) + encode("imported", {})
    stream += encode("helper_call", {"during": "step"}) + b"\xff garbage"
    messages, malformed = read_messages(stream)
    assert malformed and protocol.helper_calls(messages) == {"import", "step"}
    accepted = accept_whole(encode("helper_call", {"during": "step"}) + encode("embed_images", {}))
    assert accepted.result == {}
    with pytest.raises(protocol.ProtocolError, match="helper_call"):
        accept_whole(encode("helper_call", {"during": "later"}) + encode("embed_images", {}))


def accept_whole(data: bytes):
    messages, malformed = read_messages(data)
    assert malformed is None
    return protocol.accept("embed_images", messages)


# --- the guard, as the fork server installs it, in a process of its own ---------------------------------------

STUDENT = """
import importlib
import sys

import mmembed
import mmembed.images
from mmembed.images import natural_key as key  # an alias, taken before any call

AT_IMPORT = mmembed.images.natural_key("val_1") if FLAG else None


def honest():
    return sorted(["val_10", "val_2"])


def direct():
    return mmembed.images.natural_key("val_2")


def alias():
    return key("val_2")


def imported_later():  # mmembed.texts was not loaded when the guard was installed
    return importlib.import_module("mmembed.texts").check_texts(["a"])


def built_name():
    return getattr(__import__("mmembed.images", fromlist=["_"]), "natural_" + "key")("val_2")


def from_sys_modules():
    return sys.modules["mmembed.images"].natural_key("val_2")


def lazy_package_name(folder):  # mmembed.load_images calls four of mmembed's functions in turn
    return mmembed.load_images(folder)


def _mine():
    return mmembed.images.natural_key("val_2")


def helper_of_a_helper():
    return _mine()


def reloaded():  # a module run again has fresh functions: covered too
    return importlib.reload(mmembed.images).natural_key("val_2")
"""
HARNESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from PIL import Image
import mmembed, mmembed.images
from mmembed.modules import load_module
from guard import Guard

folder = sys.argv[2]
for i in (10, 2):
    Image.new("RGB", (4, 4)).save(f"{folder}/val_{i}.png")
guard = Guard()
guard.install()
sent = []
guard.start(lambda name, value: sent.append([name, value]), "import")
import builtins
builtins.FLAG = sys.argv[3] == "1"
student = load_module(sys.argv[4], "quiz_search")
guard.start(lambda name, value: sent.append([name, value]), "step")
uses = {}
probes = ["honest", "direct", "alias", "imported_later", "built_name", "from_sys_modules", "helper_of_a_helper"]
for probe in probes + ["reloaded"]:
    before = guard.uses
    getattr(student, probe)()
    uses[probe] = guard.uses - before
before = guard.uses
pictures, names = student.lazy_package_name(folder)
uses["lazy_package_name"] = guard.uses - before
print(json.dumps({"uses": uses, "sent": sent, "names": names}))
"""


@pytest.mark.parametrize("at_import", [False, True], ids=["calls-in-functions", "a-call-at-import"])
def test_the_guard_sees_every_way_once_per_call_and_reports_at_once(tmp_path, at_import):
    student = tmp_path / "quiz_search.py"
    student.write_text(STUDENT, encoding="utf-8")
    folder = tmp_path / "pictures"
    folder.mkdir()
    inside = REPO_ROOT / "autograder" / "inside"
    result = run_python(["-c", HARNESS, str(inside), str(folder), "1" if at_import else "0", str(student)])
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["uses"] == {
        "honest": 0,
        "direct": 1,
        "alias": 1,
        "imported_later": 1,
        "built_name": 1,
        "from_sys_modules": 1,
        "helper_of_a_helper": 1,
        "reloaded": 1,
        "lazy_package_name": 1,  # mmembed's own calls inside it do not count
    }
    assert seen["names"] == ["val_2.png", "val_10.png"]  # the wrapped functions still do their work
    reported = [["helper_call", {"during": "step"}]]  # once per phase, however many calls
    assert seen["sent"] == ([["helper_call", {"during": "import"}]] if at_import else []) + reported
