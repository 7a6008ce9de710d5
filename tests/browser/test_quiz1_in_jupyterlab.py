"""Quiz 1 as a student does it in JupyterLab: type an answer into each answer cell, Run All, read the checks.

The correct answers are the instructor's solutions (solutions/quiz_notebooks/, between `### BEGIN SOLUTION` and
`### END SOLUTION`), typed where the release has nbgrader's stub. Screenshots: test-artifacts/browser/quiz1_*.png.
"""

import nbformat
import pytest

from tests.browser import lab_ui
from tests.browser.lab_runs import WINDOW
from tests.browser.notebook_checks import HANGUL
from tests.helpers import REPO_ROOT, nbgrader_solutions

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("jupyterlab")]

QUIZ = "quizzes/quiz_notebooks/quiz1_cosine_similarity.ipynb"
SOLUTION = REPO_ROOT / "solutions" / "quiz_notebooks" / "quiz1_cosine_similarity.ipynb"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # what nbgrader puts in place of a solution
SECONDS = 120
# A common mistake: the dot product, without dividing by the vectors' lengths.
WRONG_ROWWISE = "rowwise = (vec1 * vec2).sum(dim=1)"


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def is_answer(cell) -> bool:
    return cell.metadata.get("nbgrader", {}).get("solution", False)


def is_check(cell) -> bool:
    return cell.metadata.get("nbgrader", {}).get("grade", False)


def solution_code(grade: str) -> str:
    """The instructor's code for one answer cell: the lines between the solution markers."""
    return nbgrader_solutions(SOLUTION)[grade]


def answered(cell, code: str) -> str:
    assert STUB in cell.source, f"{grade_id(cell)}: the release's answer cell has no stub to replace"
    return cell.source.replace(STUB, code)


@pytest.fixture(scope="module")
def quiz(lab_page, jupyter_lab):
    """Quiz 1 opened from the file browser: (page, the notebook as released)."""
    lab_page.set_viewport_size(WINDOW)
    lab_ui.open_from_file_browser(lab_page, QUIZ)
    yield lab_page, nbformat.read(jupyter_lab.root / QUIZ, as_version=4)
    lab_page.set_viewport_size(WINDOW)
    lab_ui.close_notebook(lab_page)
    jupyter_lab.shut_down_kernels()


def answer_and_run(page, lab, answers: dict[int, str], screenshot):
    """Type the answers, Run All, save; (the saved notebook, the cells as the page shows them)."""
    page.set_viewport_size(WINDOW)
    for index, source in answers.items():
        lab_ui.replace_cell_source(page, index, source)
    finished, seconds = lab_ui.run_all(page, SECONDS)
    assert finished, f"quiz 1 was still running {seconds:.0f} s after Run All"
    lab_ui.save(page)
    lab_ui.screenshot_notebook(page, screenshot)
    return nbformat.read(lab.root / QUIZ, as_version=4), lab_ui.cells(page)


def errors(cell) -> list:
    return [output for output in cell.outputs if output.output_type == "error"]


def solved_answers(release) -> dict:
    """{cell index: the answer cell with the solution's code} for every answer cell of the release."""
    return {
        index: answered(cell, solution_code(grade_id(cell)))
        for index, cell in enumerate(release.cells)
        if is_answer(cell)
    }


def test_correct_answers_pass_the_visible_checks(quiz, jupyter_lab, artifacts):
    page, release = quiz
    answers = solved_answers(release)
    assert answers, "quiz 1 has no answer cells"
    saved, shown = answer_and_run(page, jupyter_lab, answers, artifacts / "quiz1_correct.png")

    checked = [index for index, cell in enumerate(saved.cells) if is_check(cell) or is_answer(cell)]
    for index in checked:
        assert not errors(saved.cells[index]), (
            f"cell {index} ({grade_id(saved.cells[index])}) failed: {errors(saved.cells[index])[0].evalue}"
        )
        assert shown[index]["prompt"].strip("[]: ").isdigit(), f"cell {index} did not run: {shown[index]['prompt']}"
        assert all(output["mime"] == "application/vnd.jupyter.stdout" for output in shown[index]["outputs"])


def test_a_wrong_answer_shows_the_failure_in_korean(quiz, jupyter_lab, artifacts):
    page, release = quiz
    answers = solved_answers(release)
    [rowwise] = [index for index, cell in enumerate(release.cells) if grade_id(cell) == "quiz1_rowwise_answer"]
    answers[rowwise] = answered(release.cells[rowwise], WRONG_ROWWISE)
    saved, shown = answer_and_run(page, jupyter_lab, answers, artifacts / "quiz1_wrong.png")

    check = next(index for index in range(rowwise + 1, len(saved.cells)) if is_check(saved.cells[index]))
    [failure] = errors(saved.cells[check])
    korean_lines = [line for line in failure.evalue.splitlines() if HANGUL.search(line)]
    assert failure.ename == "AssertionError" and korean_lines, f"{failure.ename}: {failure.evalue}"
    shown_text = "\n".join(output["text"] for output in shown[check]["outputs"])
    assert all(line.strip() in shown_text for line in korean_lines), f"the page shows: {shown_text[-500:]!r}"
    print(f"cell {check} shows: {' / '.join(line.strip() for line in korean_lines)}")
