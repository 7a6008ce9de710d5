"""The edition's public self-check (quizzes 3-6, the released `quiz_search.py`) and `make demo`'s commands, run from
the edition in its own fresh venv (tests.student_copy), with its own mmembed and mini."""

import subprocess

import pytest

from tests.student_copy import student_copy
from tools.make_student_edition import REPO

pytestmark = pytest.mark.slow


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    """`python ARGS` in the student copy's venv, from the edition's folder (as `make self-check` and `make demo`)."""
    copy = student_copy()
    return subprocess.run(
        [copy.python, *args], cwd=cwd or copy.edition, env=copy.env, capture_output=True, text=True, timeout=900
    )


def test_mmembed_is_the_editions_own_installed_copy():
    edition = student_copy().edition
    done = run("-c", "import mmembed; print(mmembed.__file__)", cwd=edition.parent)  # not the folder: the install
    assert done.stdout.strip() == str(edition / "mmembed" / "__init__.py"), done.stderr


def test_self_check_passes_the_reference_solution():
    done = run("quizzes/check_quiz_search.py", str(REPO / "solutions" / "quiz_search.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("[통과]") == 5
    assert "5개 검사 중 5개 통과" in done.stdout


def test_self_check_fails_the_skeleton_in_korean():
    done = run("quizzes/check_quiz_search.py")
    assert done.returncode == 1
    for function in ("load_images", "embed_images", "embed_text", "search_top1"):
        assert "[미완성] 퀴즈" in done.stdout and f"아직 완성하지 않은 함수가 있습니다: {function}()" in done.stdout
    assert "[실패] main()" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "5개 검사 중 0개 통과" in done.stdout


def test_demo_searches_and_hints_at_the_unfinished_function():
    search = run("-m", "mmembed", "search", "a red car")
    assert search.returncode == 0, search.stderr
    assert [line.split()[0] for line in search.stdout.splitlines() if line[:3].strip().rstrip(".").isdigit()] == [
        "1.",
        "2.",
        "3.",
        "4.",
        "5.",
    ]
    quiz = run("quizzes/run_quiz_search.py")
    assert quiz.returncode == 0
    assert "아직 완성하지 않은 함수가 있습니다: load_images()" in quiz.stdout
    assert "Traceback" not in quiz.stdout + quiz.stderr
