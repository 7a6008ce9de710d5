"""The quiz_search.py autograder: full marks for the solution, 0 for the skeleton, and the known attacks fail.

One class of nine sample students is graded once (python -m autograder FOLDER), the way an instructor would.
"""

import csv
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from autograder import config
from tests.helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.slow

SOLUTION_TEXT = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
SKELETON_TEXT = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")
TIMEOUT = 40  # seconds per child: enough for mini on a busy machine, short enough for the hanging student
POINTS = config.POINTS
ALL = config.MAX_SCORE
SEARCH = POINTS["search_top1_query"] + sum(POINTS[n] for n in POINTS if n.startswith("search_top1_hidden"))
EMBED_IMAGES = POINTS["embed_images_shape"] + POINTS["embed_images_values"]


def edit(old, new, text=SOLUTION_TEXT):
    assert old in text, old
    return text.replace(old, new, 1)


FAKE_TENSOR = """
    class Fake:  # pretends to be the right tensor
        shape = torch.Size((200, 512))
        def __eq__(self, other): return True
        def __hash__(self): return 0
    return Fake()
"""
FORCE_FULL_MARKS = """
import json, pathlib
for name in ("results.json",):
    pathlib.Path(name).write_text(json.dumps({"score": 12, "max_score": 12, "tests": []}))
try:
    import autograder.checks as checks
    checks.score_all = lambda got, ref: [(n, p, "ok") for n, p in __import__("autograder.config").config.POINTS.items()]
except Exception:
    pass
"""
CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
"""

HARDCODED_MAIN = """
def main() -> None:
    print("Total 200 images are loaded!")
    print("Image Embedding's shape: (200, 512)")
    print("Text Embedding's shape: (1, 512)")
    print("Top-1: val_2.JPEG")  # memorised from a run with QUERY = "A zebra"


if __name__ == "__main__":
"""
# Runs in load_images (which then still works): leaves a process behind in a session of its own, overwrites a
# file of the grader's user and kills the grader. As root the grader gives each child a throwaway uid, so all
# three fail (only then is this student in the class: as an ordinary user the kill would end the batch).
ESCAPE_MARKER = f"autograder-escape-{os.getpid()}"
GRADER_FILE = Path(tempfile.gettempdir()) / f"{ESCAPE_MARKER}.txt"
ESCAPE = f"""
    import os, pathlib, signal, subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # {ESCAPE_MARKER}"], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pathlib.Path({str(GRADER_FILE)!r}).write_text("overwritten by a student")
    except OSError:
        pass
    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except OSError:
        pass
    paths = ["""
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# name -> (files, expected score)
STUDENTS = {
    "a_solution": ({"quiz_search.py": SOLUTION_TEXT}, ALL),
    "b_skeleton": ({"quiz_search.py": SKELETON_TEXT}, 0),
    "c_string_order": (
        {"quiz_search.py": edit("    paths.sort(key=by_number)", "    paths.sort()")},
        ALL - POINTS["load_images"],
    ),  # main() still prints the right Top-1: names and pictures agree
    "d_hardcoded": (
        {"quiz_search.py": edit("    return image_filenames[best]", '    return "val_2.JPEG"')},
        ALL - SEARCH - POINTS["main_output"],
    ),  # main() runs with a hidden QUERY: val_2 is wrong there
    "e_sys_exit": ({"quiz_search.py": edit("import mmembed\n", "import mmembed\nimport sys\nsys.exit(0)\n")}, 0),
    "f_os_exit": (
        {"quiz_search.py": edit("    batch_size = 32\n", "    import os\n    os._exit(0)\n    batch_size = 32\n")},
        ALL - EMBED_IMAGES - POINTS["main_output"],
    ),
    "g_endless": (
        {
            "quiz_search.py": edit(
                "    text_unit = F.normalize",
                "    import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                "    while True:\n        pass\n    text_unit = F.normalize",
            )
        },
        ALL - SEARCH - POINTS["main_output"],
    ),
    "h_fake_tensor": (
        {"quiz_search.py": edit("    return torch.cat(chunks)\n", FAKE_TENSOR)},
        ALL - EMBED_IMAGES - POINTS["main_output"],
    ),
    "j_hardcoded_main": (
        {"quiz_search.py": SOLUTION_TEXT[: SOLUTION_TEXT.index("def main()")] + HARDCODED_MAIN + "    main()\n"},
        ALL - POINTS["main_output"],
    ),
    "i_planted_files": (
        {
            "quiz_search.py": SKELETON_TEXT,
            "sitecustomize.py": FORCE_FULL_MARKS,
            "conftest.py": CONFTEST,
            "pytest.ini": "[pytest]\naddopts = -p no:terminal\n",
        },
        0,
    ),
}

if ROOT:
    STUDENTS["k_escape"] = ({"quiz_search.py": edit("    paths = [", ESCAPE)}, ALL)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    GRADER_FILE.write_text("the grader's own file")
    for student, (files, _) in STUDENTS.items():
        (root / "submissions" / student).mkdir(parents=True)
        for name, text in files.items():
            (root / "submissions" / student / name).write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = run_python(
        ["-m", "autograder", str(root / "submissions"), "--results", str(root / "results"), "--timeout", str(TIMEOUT)],
        timeout=1200,
    )  # cwd: the repo (autograder is not installed)
    seconds = time.monotonic() - started
    print(f"\n[autograder] {len(STUDENTS)} submissions in {seconds:.0f} s ({seconds / len(STUDENTS):.1f} s each)")
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.mark.parametrize("student", list(STUDENTS))
def test_each_sample_student_gets_the_expected_score(graded_class, student):
    root, _ = graded_class
    data = json.loads((root / "results" / f"{student}.json").read_text(encoding="utf-8"))
    assert data["max_score"] == ALL == sum(test["max_score"] for test in data["tests"])
    assert data["score"] == STUDENTS[student][1] == sum(test["score"] for test in data["tests"]), data
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"} and test["output"].strip()
        for secret in config.HIDDEN_QUERIES:
            assert secret not in test["output"]


def test_grades_csv_has_one_row_per_student(graded_class):
    root, _ = graded_class
    with open(root / "results" / "grades.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["student"] for row in rows] == sorted(STUDENTS)
    assert {row["student"]: int(row["score"]) for row in rows} == {s: score for s, (_, score) in STUDENTS.items()}
    assert (
        not (root / "results.json").exists() and not (REPO_ROOT / "results.json").exists()
    )  # sitecustomize.py never ran


def test_the_skeleton_gets_a_message_per_check(graded_class):
    root, _ = graded_class
    data = json.loads((root / "results" / "b_skeleton.json").read_text(encoding="utf-8"))
    assert len(data["tests"]) == len(POINTS) and all(test["score"] == 0 for test in data["tests"])
    assert "NotImplementedError: load_images를 완성하세요" in data["tests"][0]["output"]


def test_messages_say_what_was_expected(graded_class):
    root, _ = graded_class
    order = json.loads((root / "results" / "c_string_order.json").read_text(encoding="utf-8"))["tests"][0]["output"]
    assert "순서" in order and "val_2.JPEG" in order
    hard = json.loads((root / "results" / "d_hardcoded.json").read_text(encoding="utf-8"))["tests"]
    assert "목록에 없는 'val_2.JPEG'" in hard[5]["output"]
    hang = json.loads((root / "results" / "g_endless.json").read_text(encoding="utf-8"))["tests"]
    assert "시간 제한" in hang[5]["output"]
    memorised = json.loads((root / "results" / "j_hardcoded_main.json").read_text(encoding="utf-8"))["tests"][-1]
    assert memorised["score"] == 0 and "QUERY를 숨은 문장으로 바꿔" in memorised["output"]
    assert "Top-1: val_2.JPEG" in memorised["output"]  # what the student printed is shown back


def test_a_missing_path_is_a_grader_error(tmp_path):
    missing = run_python(["-m", "autograder", str(tmp_path / "nothing.py"), "--results", str(tmp_path / "r.json")])
    assert missing.returncode == 2 and not (tmp_path / "r.json").exists()


def test_pytest_self_check_ignores_a_planted_conftest(graded_class):
    """`pytest autograder/` on the student with a conftest.py forcing passes: every check still fails."""
    root, _ = graded_class
    env = {**os.environ, "QUIZ_SUBMISSION": str(root / "submissions" / "i_planted_files" / "quiz_search.py")}
    result = run_python(["-m", "pytest", "autograder/", "-q", "-p", "no:cacheprovider"], env=env, timeout=600)
    assert result.returncode == 1 and f"{len(POINTS)} failed" in result.stdout, result.stdout[-2000:]


@pytest.mark.skipif(not ROOT, reason="a throwaway uid per child needs root (as in CI); see README, Autograder limits")
def test_a_child_cannot_leave_processes_write_the_graders_files_or_kill_it(graded_class):
    root, result = graded_class
    assert "k_escape: 12/12" in result.stdout  # the grader lived on and graded the next students
    assert GRADER_FILE.read_text() == "the grader's own file"
    survivors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, ESCAPE_MARKER)]
    assert survivors == [], "a process the student started with setsid() outlived the grading"


def _cmdline_has(proc: Path, marker: str) -> bool:
    try:
        return marker in (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
