"""nbgrader configuration for the quiz notebooks (quizzes 1, 2 and 7).

Course layout, relative to the course root (the repository, or a copy of it: two folders above this file):

    solutions/quiz_notebooks/*.ipynb            nbgrader *source*: solutions, hidden tests, nbgrader metadata
    quizzes/quiz_notebooks/*.ipynb              nbgrader *release*: what students get (generate_assignment)
    submitted/<student>/quiz_notebooks/         students' notebooks, collected by the instructor
    autograded/, feedback/, gradebook.db        written by nbgrader autograde (not committed)

Run nbgrader from the repository root with this file, e.g.
    nbgrader generate_assignment quiz_notebooks --force --NbGrader.config_file=autograder/notebooks/nbgrader_config.py
(see README; nbgrader then warns "No nbgrader_config.py file found", wrongly: this file is loaded).
The grading model is mmembed.grading.GRADING_MODEL, as for `python -m autograder` and Gradescope: the quizzes'
check cells and the grader's recheck (notebooks/hidden_tests.py) load it by name. `mini` unless the instructor
changes it there, or for one run with MMEMBED_GRADING_MODEL (`MMEMBED_GRADING_MODEL=openai/clip-vit-base-patch32`
grades with the real CLIP, once downloaded). The kernel gets these variables, and nothing else of nbgrader's
environment.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (traitlets defines get_config when it runs this file)

COURSE_ROOT = Path(__file__).resolve().parents[2]

c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "quizzes"  # doors.RELEASE
c.CourseDirectory.submitted_directory = "submitted"  # doors.SUBMITTED
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
# Only the notebooks are part of the assignment (caches and checkpoints are ignored by nbgrader's default).
c.CourseDirectory.include = ["*.ipynb"]

# Regular files only, at every door (autograder/notebooks/doors.py): `nbgrader collect` copies from the exchange
# without following links, and before autograding, submissions gathered by hand are checked the same way. A refused
# notebook is replaced by a placeholder that scores 0 and tells the student why in its feedback.
from autograder.notebooks import doors  # noqa: E402

c.ExchangeFactory.collect = "autograder.notebooks.collect.LinkSafeCollect"
c.Autograde.pre_convert_hook = doors.before_autograde(COURSE_ROOT, doors.SUBMITTED, doors.RELEASE)

# One kernel for everything: the course's Python with mmembed installed.
c.Execute.kernel_name = "python3"
# A cell may load the model (real CLIP: a download on first use) and embed 200 pictures on a CPU:
# nbgrader's default of 30 s per cell is far too short.
c.Execute.timeout = 300

# nbgrader gives 0 points to a test cell that wrote anything to stderr. Warnings and progress bars that
# torch / transformers / tqdm print are not the student's fault: drop those stderr outputs before grading.
# (A failing test is an *error* output, which this never removes.)
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?i)warn|deprecat|Loading weights|it/s\]|batch/s\]|s/it\]|\[mmembed\]"

# The grading model is named by the quizzes themselves (mmembed.grading); MMEMBED_GRADING_MODEL, if set, reaches
# the kernel and the recheck. Anything else a notebook loads without a name is its offline stand-in: the kernel has
# no network. In fp32 on every machine (bf16 where the hardware has it could tip a close top-k), in the kernel and
# in the recheck alike.
os.environ.setdefault("MMEMBED_OFFLINE", "1")
os.environ.setdefault("MMEMBED_PRECISION", "fp32")
# The kernel gets these (kernel_manager.KEPT_ENVIRONMENT): UTF-8 for the Korean text, figures inline.
if "utf-8" not in os.environ.get("LANG", "").lower().replace("utf8", "utf-8"):
    os.environ["LANG"] = "C.UTF-8"
os.environ.setdefault("PYTHONIOENCODING", "utf-8")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

# nbgrader's Execute is replaced by one that starts each student's kernel in the bubblewrap sandbox
# (autograder/notebooks/kernel_manager.py), tests every graded answer itself outside the kernel
# (notebooks/verdicts.py), bounds outputs in bytes as they arrive, and puts a canary probe after every test cell
# (notebooks/canary.py): a disarmed notebook scores 0 on every test. Outputs are then made inert (outputs.py).
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.notebooks.canary import ExecuteWithCanaries  # noqa: E402
from autograder.notebooks.outputs import BoundOutputs, Sanitize  # noqa: E402

c.Autograde.autograde_preprocessors = [
    ExecuteWithCanaries,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    Sanitize,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# The feedback HTML: bounded and sanitised again, whatever wrote the autograded notebook.
c.GenerateFeedback.preprocessors = [GetGrades, BoundOutputs, Sanitize, CSSHTMLHeaderPreprocessor]

# Students' notebooks: a line cap as well as the byte caps (outputs.py), so a print loop stays readable.
c.LimitOutput.max_lines = 1000

# Without bubblewrap (not Linux, not installed, no user namespaces) kernels run unsandboxed, with a warning.
# A grading server should refuse instead: set this to True, or pass --SandboxedKernelManager.require_sandbox=True.
c.SandboxedKernelManager.require_sandbox = False
