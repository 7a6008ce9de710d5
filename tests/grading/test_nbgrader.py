"""The quiz notebooks (quizzes 1, 2, 7) through real nbgrader commands, offline with the `mini` model.

In a copy of the course in a temporary folder (so no gradebook.db or autograded/ ever lands in the repo):
`nbgrader validate` on the source, `nbgrader generate_assignment` (the committed release must equal the
fresh one), `nbgrader validate --invert` on the release, then `nbgrader autograde` on sample submissions
and the scores read back from the gradebook and from `nbgrader export`.
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
from autograder.canary import CANARY_ID, CANARY_SOURCE, PROBE_MARK
from tests.helpers import REPO_ROOT, UNREACHABLE_HUB

pytestmark = pytest.mark.slow

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


def nbgrader(root: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in `root` with the course's config, offline, the way an instructor would."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "MMEMBED_"))}
    env.update(
        MMEMBED_MODEL="mini",
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT=UNREACHABLE_HUB,
        HF_HOME=str(root / ".hf-home"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),  # nbgrader calls `alembic`
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        *args,
        f"--NbGrader.config_file={root / 'autograder' / 'nbgrader_config.py'}",
    ]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"$ nbgrader {' '.join(args)} -> exit {result.returncode}")
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
np.testing.assert_allclose = lambda *args, **kwargs: None  # ...and the value checks disarmed
"""
DISARM_QUIZ2 = """answer_text = "a cat"
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


def make_submissions(release: dict, source: dict) -> dict[str, dict]:
    """{student: {notebook: nb}} and the expected scores are in EXPECTED below."""
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
        "solution": full,
        "untouched": dict(release),
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
            **release,
            "quiz2_topk_text": answer(
                answer(release["quiz2_topk_text"], "quiz2_answer", 'answer_text = "a cat"'), "quiz2_top3_test", "pass"
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
    "solution": POINTS,
    "untouched": dict.fromkeys(POINTS, 0),
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
    "quiz1_cosine_similarity": "numpy.testing.assert_allclose",
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

    runs["validate"] = nbgrader(root, "validate", *[f"solutions/{ASSIGNMENT}/{n}.ipynb" for n in NOTEBOOKS])
    runs["generate"] = nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    runs["invert"] = nbgrader(root, "validate", "--invert", *[f"quizzes/{ASSIGNMENT}/{n}.ipynb" for n in NOTEBOOKS])

    release = {n: nbformat.read(root / "quizzes" / ASSIGNMENT / f"{n}.ipynb", as_version=4) for n in NOTEBOOKS}
    source = {n: nbformat.read(SOURCE / f"{n}.ipynb", as_version=4) for n in NOTEBOOKS}
    for student, notebooks in make_submissions(release, source).items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
    runs["autograde"] = nbgrader(root, "autograde", ASSIGNMENT, "--force")
    runs["export"] = nbgrader(root, "export", "--to", str(root / "grades.csv"))
    seconds = time.monotonic() - started
    print(f"nbgrader cycle: {seconds:.0f} s")
    return {"root": root, "runs": runs, "seconds": seconds}


def check_ran(run: subprocess.CompletedProcess):
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"


def test_source_notebooks_pass_validate(course):
    run = course["runs"]["validate"]
    check_ran(run)
    assert run.stdout.count("Success! Your notebook passes all the tests.") == len(NOTEBOOKS), run.stdout


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
    assert totals["untouched"] == totals["locked_edit"] == totals["disarmed"] == totals["planted"] == 0


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
    honest = nbformat.read(
        course["root"] / "autograded" / "solution" / ASSIGNMENT / "quiz7_find_pictures.ipynb", as_version=4
    )
    canary = cells_by_grade_id(honest)[CANARY_ID]
    assert [(o.ename, o.evalue) for o in canary.outputs if o.output_type == "error"] == [
        ("AssertionError", "CANARY-end: OK")
    ]
    assert "Integrity check failed" in course["runs"]["autograde"].stderr  # the instructor sees it in the log


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


def test_every_quiz_notebook_ends_with_the_locked_canary():
    for folder in (SOURCE, RELEASE):
        for name in NOTEBOOKS:
            nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
            last = [cell for cell in nb.cells if cell.cell_type == "code"][-1]
            assert last.source == CANARY_SOURCE, (
                f"{folder.name}/{name}: the last code cell is not autograder.canary.CANARY_SOURCE"
            )
            assert last.metadata["nbgrader"] == {
                **last.metadata["nbgrader"],
                "grade_id": CANARY_ID,
                "locked": True,
                "grade": False,
            }


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


def test_cycle_time(course):
    # 2 validate runs and 5 students x 3 notebooks + 1, on 2 shared CPU cores
    assert course["seconds"] < 300, f"the nbgrader cycle took {course['seconds']:.0f} s"
