"""The released quizzes 1, 2 and 7 as students run them: the edition's notebooks, in a kernel of the edition's own
fresh venv (tests.student_copy), offline.

Solved as a student would (each answer cell's release code with the solution in place of `raise
NotImplementedError()`), a notebook runs top to bottom with every visible check passing. Untouched, everything before
the first answer cell runs (the setup works from the edition), and each answer cell stops with NotImplementedError.
Grading the solved notebooks with nbgrader is tests/grading/test_nbgrader.py; this is the copy students open.
"""

from pathlib import Path

import nbformat
import pytest

from tests.helpers import nbgrader_solutions
from tests.student_copy import run_notebook, student_copy
from tools.make_student_edition import QUIZ_FILES, REPO

pytestmark = pytest.mark.slow

QUIZ_NOTEBOOKS = sorted(path for path in QUIZ_FILES.values() if path.endswith(".ipynb"))
RELEASE_ANSWER = "# YOUR CODE HERE\nraise NotImplementedError()"
quizzes = pytest.mark.parametrize("name", QUIZ_NOTEBOOKS, ids=[path.split("/")[-1][:5] for path in QUIZ_NOTEBOOKS])


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def run_edition_quiz(name: str, solved: bool):
    copy = student_copy()
    nb = nbformat.read(copy.edition / name, as_version=4)
    answers = nbgrader_solutions(REPO / "solutions" / "quiz_notebooks" / Path(name).name)
    if solved:
        for cell in nb.cells:
            if nbgrader(cell).get("solution") and cell.cell_type == "code":
                assert RELEASE_ANSWER in cell.source, cell.source
                cell.source = cell.source.replace(RELEASE_ANSWER, answers[nbgrader(cell)["grade_id"]])
    return run_notebook(nb, copy, (copy.edition / name).parent, timeout=600, allow_errors=not solved)


def errors(cell) -> list:
    return [output for output in cell.get("outputs", []) if output.output_type == "error"]


@quizzes
def test_a_solved_quiz_runs_top_to_bottom_from_the_edition(name):
    nb = run_edition_quiz(name, solved=True)  # raises on the first cell that fails
    checks = [cell for cell in nb.cells if nbgrader(cell).get("grade") and cell.cell_type == "code"]
    assert checks and all(cell.execution_count for cell in checks)
    assert not [cell for cell in nb.cells if errors(cell)]


@quizzes
def test_an_untouched_quiz_runs_up_to_the_first_answer_and_each_answer_cell_asks_for_work(name):
    nb = run_edition_quiz(name, solved=False)
    answer_cells = [index for index, cell in enumerate(nb.cells) if nbgrader(cell).get("solution")]
    assert answer_cells
    code_before = [cell for cell in nb.cells[: answer_cells[0]] if cell.cell_type == "code"]
    assert code_before and all(cell.execution_count and not errors(cell) for cell in code_before)
    for index in answer_cells:
        assert [error.ename for error in errors(nb.cells[index])] == ["NotImplementedError"], index
