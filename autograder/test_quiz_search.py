"""Self-check for quizzes 3-6: `pytest autograder/` grades quizzes/quiz_search.py (or the file in QUIZ_SUBMISSION).

The same checks, points and messages as `python -m autograder`, with the same grading model
(mmembed.grading.GRADING_MODEL): one test per check, failing with the grader's message. The messages are scrubbed
of the hidden queries and their answers (the reference's secrets) as results.json's are: the grader's checks never
name them, and the scrub is the second net for anything of a student's own output that could.
"""

import os
from pathlib import Path

import pytest

from autograder import config, report
from autograder.grade import grade_submission
from autograder.reference import compute_reference
from autograder.sandbox import bubblewrap

SUBMISSION = Path(os.environ.get("QUIZ_SUBMISSION") or config.SKELETON).resolve()


@pytest.fixture(scope="module")
def graded():
    """({check: test result}, the secrets to scrub) for the submission, graded once in a child process."""
    if not SUBMISSION.is_file():
        pytest.fail(f"채점할 파일이 없습니다: {SUBMISSION}")
    ref = compute_reference(config.GRADING_MODEL)
    graded = grade_submission(SUBMISSION, ref, sandboxed=bubblewrap.status().available)
    return {check.name: check for check in graded.checks}, ref.secrets


@pytest.mark.parametrize("check", list(config.POINTS))
def test_check(graded, check):
    checks, secrets = graded
    result = checks[check]
    title = config.TITLES[check]
    assert result.passed, f"{title} ({result.score}/{result.max_score}점)\n{report.scrub(result.output, secrets)}"
