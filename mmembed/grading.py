"""The grading model: the one model that grades every quiz, in every grader and in every quiz notebook.

Read by `python -m autograder` and the Gradescope bundle (quizzes 3-6), and by quizzes 2 and 7: their check cells
and hidden tests, and the grader's own recheck of them under nbgrader. An instructor changes the grading model
here, once; or for one run, with the environment variable MMEMBED_GRADING_MODEL (e.g. the real CLIP,
`MMEMBED_GRADING_MODEL=openai/clip-vit-base-patch32`, downloaded first with `python -m mmembed download`).

The default is `mini`, the course's own small CLIP (lecture 07), committed in models/mini: it needs no network, so
every machine grades the same way, and what a student's check cell shows, online or offline, is the grade.
The lectures' model (`mmembed.zoo.registry.DEFAULT_MODEL`, which `load_clip()` loads without a name) is another
setting: MMEMBED_MODEL changes that one and never the grading model.

No torch here: a quiz notebook imports this before anything heavy, and `python -m autograder --help` reads it.
"""

import os

GRADING_MODEL_ENV = "MMEMBED_GRADING_MODEL"
COURSE_GRADING_MODEL = "mini"

GRADING_MODEL: str = os.environ.get(GRADING_MODEL_ENV, "").strip() or COURSE_GRADING_MODEL
