"""The grader's verdict on every graded answer of quizzes 1, 2 and 7, reached outside the student's kernel.

In the kernel a test cell runs beside the student's code, which can disarm it (an event callback that clears its
error, a replaced `numpy.allclose`, a list that answers every lookup with the expected name). So while autograding,
a cell after the student's last one prints the answers as plain data (inside/answer_export.py), and the grader
runs its own tests on that data in a fresh process of its own (hidden_tests.py). Its verdict replaces the kernel's
both ways: a test the kernel passed that the grader does not confirm scores 0, and a test the grader confirms
scores its points whatever the kernel's cell showed.
"""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

from nbformat.notebooknode import NotebookNode

from ..inside import answer_export
from . import hidden_tests
from .kernel_manager import kernel_environment

GRADE_IDS = tuple(hidden_tests.TESTS)
QUIZ7_TARGETS = hidden_tests.QUIZ7_TARGETS
EXPORT = inspect.getsource(answer_export._answers_export)
TIMEOUT_SECONDS = 600

FAILED = "채점기 확인 실패: {why} 이 문제는 0점입니다."
CONFIRMED = "채점기가 노트북 밖에서 답을 다시 확인해 통과로 판정했습니다 (노트북 안의 테스트 결과는 쓰지 않습니다).\n"


def export_source(grade_ids: list[str], mark: str) -> str:
    """Kernel code that prints `mark` and the answers the tests of `grade_ids` read, as JSON."""
    names = sorted({name for grade_id in grade_ids for name in hidden_tests.VARIABLES[grade_id]})
    return (
        "import builtins as _answers_builtins\n"
        "_answers_namespace = {'__builtins__': _answers_builtins}\n"
        f"_answers_builtins.exec({EXPORT!r}, _answers_namespace)\n"
        f"_answers_namespace['_answers_export']({names!r}, {mark!r})\n"
    )


def read_answers(cell: NotebookNode, mark: str) -> dict | None:
    """The answers the export cell printed, or None unless it printed exactly one line of them."""
    lines = [
        line
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
        for line in output.get("text", "").splitlines()
        if line.startswith(mark)
    ]
    if len(lines) != 1:
        return None
    try:
        answers = json.loads(lines[0][len(mark) :])
    except ValueError:
        return None
    return answers if isinstance(answers, dict) else None


def run_hidden_tests(answers: dict | None, grade_ids: list[str]) -> dict[str, str | None]:
    """{grade_id: None if it passes, else why not}, from a fresh process that sees only the answers."""
    env = {**kernel_environment(os.environ), "HOME": os.environ.get("HOME", "/")}
    result = subprocess.run(
        [sys.executable, "-I", str(Path(hidden_tests.__file__).resolve())],
        input=json.dumps({"answers": answers, "grade_ids": grade_ids}),
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the grader's hidden tests failed to run: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def _error(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[message])


def apply(cell: NotebookNode, why: str | None) -> None:
    """Make nbgrader read the grader's verdict from the cell: a first error if it fails, no error nor result
    value (nbgrader reads a number there as partial credit) if it passes."""
    if why is not None:
        cell.outputs.insert(0, _error("GraderCheckFailed", FAILED.format(why=why)))
        return
    kept = [output for output in cell.outputs if output.output_type not in ("error", "execute_result")]
    if len(kept) != len(cell.outputs):
        kept.append(NotebookNode(output_type="stream", name="stdout", text=CONFIRMED))
    cell.outputs = kept
