"""Canaries for nbgrader: catching a notebook that disarms the tests running in its own kernel.

nbgrader runs a student's notebook and its test cells in one kernel, so code in an answer cell can disarm
the tests: an IPython input or AST transformer that rewrites them, a custom exception handler that hides
their failures, `all` or `np.testing.assert_allclose` redefined to always agree. While autograding,
`ExecuteWithCanaries` puts a probe (kernel_checks.py, with a random tag) after every test cell and one after
the last cell, and takes them out again. Each probe must fail with "CANARY-<tag>: OK". The notebook a student
runs has none of them: it ends cleanly.

A probe that does not fail as it should or fails with "TAMPERED", or a test cell that shows a result value
(nbgrader reads a number there as partial credit): every test cell of that notebook scores 0, with a message
saying why. This is a tripwire: the kernel runs in the sandbox (nbsandbox.py), so disarmed tests are all a
notebook can reach, and the tripwire catches those.
"""

import inspect
import secrets

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade

from . import recheck
from .inside import kernel_checks
from .nbsandbox import SandboxedKernelManager

PROBE_MARK = "mmembed_probe"  # metadata key of the cells inserted while autograding

# The checks, as source the kernel runs: a real function of kernel_checks.py (linted and tested there).
CHECKS = inspect.getsource(kernel_checks._canary_problems)


def canary_code(tag: str) -> str:
    """The check and the assertion that must fail, with "CANARY-<tag>: OK" when nothing was disarmed."""
    # The checks run in a namespace of their own: in the student's, `type = "dog"` would break them.
    return (
        "import builtins as _canary_builtins\n"
        "_canary_namespace = {'__builtins__': _canary_builtins}\n"
        f"_canary_builtins.exec({CHECKS!r}, _canary_namespace)\n"
        "_canary_found = _canary_namespace['_canary_problems']()\n"
        f'assert False, "CANARY-{tag}: " + ("OK" if not _canary_found else "TAMPERED " + "; ".join(_canary_found))\n'
    )


# The first probe: which threads the kernel runs before any student code (a thread a notebook leaves
# running could write into the outputs of later test cells).
BASELINE_SOURCE = (
    "import threading as _canary_threading\n_canary_threads = {t.ident for t in _canary_threading.enumerate()}\n"
)

FLAG_MESSAGE = (
    "채점 무결성 확인 실패: {reasons}. "
    "이 노트북에서 테스트를 무력화하는 코드가 발견되어 모든 문제를 0점 처리했습니다 "
    "(IPython 입력 변환기, assert·all·allclose 재정의, 남겨 둔 스레드 등). "
    "실수라고 생각하면 강사에게 문의하세요."
)


def _cell(source: str, tag: str) -> NotebookNode:
    return NotebookNode(
        cell_type="code",
        execution_count=None,
        outputs=[],
        source=source,
        metadata=NotebookNode({PROBE_MARK: tag}),
        id=f"canary-{tag}",
    )


def _error(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[message])


def _errors(cell: NotebookNode) -> list[NotebookNode]:
    return [output for output in cell.get("outputs", []) if output.output_type == "error"]


def canary_verdict(cell: NotebookNode, tag: str) -> str | None:
    """None if the canary failed the way it must ("CANARY-<tag>: OK"), else what went wrong."""
    errors = _errors(cell)
    if not errors:
        return f"canary {tag} did not fail"
    error = errors[-1]
    expected = f"CANARY-{tag}: OK"
    if error.ename == "AssertionError" and error.evalue == expected:
        return None
    if error.ename == "AssertionError" and error.evalue.startswith(f"CANARY-{tag}: TAMPERED"):
        return f"canary {tag}: {error.evalue.removeprefix(f'CANARY-{tag}: ')}"
    return f"canary {tag} failed with {error.ename}: {error.evalue[:80]}"


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class ExecuteWithCanaries(Execute):
    """nbgrader's Execute, with a probe after every test cell and the canary checked afterwards; for quizzes
    2 and 7, the answer texts are also read out and checked by the grader itself (autograder/recheck.py).

    Used in place of Execute in `Autograde.autograde_preprocessors` (autograder/nbgrader_config.py). Its
    kernels start in the sandbox (nbsandbox.SandboxedKernelManager).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources: dict):
        nonce = secrets.token_hex(6)
        cells, probes = [_cell(BASELINE_SOURCE, f"{nonce}-baseline")], []
        for cell in nb.cells:
            cells.append(cell)
            if is_grade(cell) and cell.cell_type == "code":
                tag = f"{nonce}-{len(probes) + 1}"
                probes.append(tag)
                cells.append(_cell(canary_code(tag), tag))
        rechecked = [_grade_id(cell) for cell in nb.cells if is_grade(cell) and _grade_id(cell) in recheck.RECHECKS]
        if rechecked:
            cells.append(_cell(recheck.export_source(rechecked), f"{nonce}-answers"))

        end = f"{nonce}-end"
        probes.append(end)
        nb.cells = [*cells, _cell(canary_code(end), end)]

        nb, resources = super().preprocess(nb, resources)

        exported = [cell for cell in nb.cells if cell.metadata.get(PROBE_MARK) == f"{nonce}-answers"]
        answers = recheck.read_answers(exported[0]) if exported else None
        for cell in nb.cells:
            if _grade_id(cell) in rechecked and not _errors(cell):
                why = recheck.disagreement(_grade_id(cell), answers)
                if why:
                    self.log.warning("%s: the grader's own search does not confirm the test: %s", _grade_id(cell), why)
                    cell.outputs.insert(0, _error("RecheckFailed", f"채점기 재확인 실패: {why}. 이 문제는 0점입니다."))

        reasons = []
        for cell in nb.cells:
            tag = cell.metadata.get(PROBE_MARK)
            if tag in probes:
                reasons.append(canary_verdict(cell, tag))
        nb.cells = [cell for cell in nb.cells if PROBE_MARK not in cell.metadata]
        reasons.extend(
            f"test cell {_grade_id(cell)} shows a result value"
            for cell in nb.cells
            if is_grade(cell) and any(output.output_type == "execute_result" for output in cell.get("outputs", []))
        )
        reasons = [reason for reason in reasons if reason]
        if reasons:
            self._void_tests(nb, reasons)
        return nb, resources

    def _void_tests(self, nb: NotebookNode, reasons: list[str]) -> None:
        message = FLAG_MESSAGE.format(reasons="; ".join(reasons))
        self.log.warning("Integrity check failed, every test scores 0: %s", "; ".join(reasons))
        nb.metadata["mmembed_integrity"] = {"passed": False, "reasons": reasons}
        for cell in nb.cells:
            if is_grade(cell) and cell.cell_type == "code":
                # First, so nbgrader's grading (which stops at the first error or result value) reads this.
                cell.outputs.insert(0, _error("IntegrityCheckFailed", message))
