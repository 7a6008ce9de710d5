"""Canaries for nbgrader: a tripwire for a notebook that disarms the tests running in its own kernel.

nbgrader runs a student's notebook and its test cells in one kernel, so code in an answer cell can disarm
the tests: an IPython input or AST transformer that rewrites them, an event callback or a custom exception handler
that hides their failures, `all` or `numpy.allclose` replaced to agree everywhere but on a probe. While
autograding, `ExecuteWithCanaries` puts a probe (inside/kernel_checks.py, with a random tag) after every test cell
and one after the last cell, and takes them out again. Each probe must fail with "CANARY-<tag>: OK". The notebook
a student runs has none of them: it ends cleanly.

A probe that does not fail as it should or fails with "TAMPERED", or a test cell that shows a result value
(nbgrader reads a number there as partial credit): every test cell of that notebook scores 0, with a message
saying why. The scores do not rest on the canaries: every graded answer of quizzes 1, 2 and 7 is also tested by
the grader outside the kernel (verdicts.py), and that verdict is the one nbgrader records. The kernel runs in the
sandbox (kernel_manager.py); its outputs are bounded and made inert (outputs.py).
"""

import inspect
import secrets

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Bool, Integer

from ..inside import kernel_checks
from . import outputs, verdicts
from .doors import REFUSED_MARK
from .kernel_manager import SandboxedKernelManager

PROBE_MARK = "mmembed_probe"  # metadata key of the cells inserted while autograding

# The checks, as source the kernel runs: real functions of kernel_checks.py (linted and tested there).
CHECKS = inspect.getsource(kernel_checks._canary_problems)
BASELINE = inspect.getsource(kernel_checks._canary_baseline)


def canary_code(tag: str, baseline: str) -> str:
    """The check and the assertion that must fail, with "CANARY-<tag>: OK" when nothing was disarmed."""
    # The checks run in a namespace of their own: in the student's, `type = "dog"` would break them.
    return (
        "import builtins as _canary_builtins\n"
        "_canary_namespace = {'__builtins__': _canary_builtins}\n"
        f"_canary_builtins.exec({CHECKS!r}, _canary_namespace)\n"
        f"_canary_found = _canary_namespace['_canary_problems']({baseline!r})\n"
        f'assert False, "CANARY-{tag}: " + ("OK" if not _canary_found else "TAMPERED " + "; ".join(_canary_found))\n'
    )


def baseline_code(baseline: str) -> str:
    """The first cell: what the kernel runs and holds before any student code (its threads, the watched
    library functions), kept under the module name `baseline` for the probes to compare with."""
    return (
        "import builtins as _canary_builtins\n"
        "_canary_namespace = {'__builtins__': _canary_builtins}\n"
        f"_canary_builtins.exec({BASELINE!r}, _canary_namespace)\n"
        f"_canary_namespace['_canary_baseline']({list(kernel_checks.WATCHED)!r}, {baseline!r})\n"
    )


REFUSED_MESSAGE = "제출물 거부: {reasons}. 이 노트북은 채점하지 않았고 모든 문제가 0점입니다 (맨 위의 안내를 보세요)."
FLAG_MESSAGE = (
    "채점 무결성 확인 실패: {reasons}. "
    "이 노트북에서 테스트를 무력화하는 코드가 발견되어 모든 문제를 0점 처리했습니다 "
    "(IPython 입력 변환기·이벤트 콜백, assert·all·allclose나 numpy·torch 함수 바꿔치기, 남겨 둔 스레드 등). "
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
    """nbgrader's Execute, with a probe after every test cell and the canary checked afterwards; the answers
    exported and tested by the grader itself (verdicts.py); outputs bounded as they arrive (outputs.py).

    Used in place of Execute in `Autograde.autograde_preprocessors` (notebooks/nbgrader_config.py). Its
    kernels start in the sandbox (kernel_manager.SandboxedKernelManager).
    """

    # nbgrader fails the whole notebook when a cell's outputs are still arriving 4 s after its reply: a flood of
    # outputs would stop the student's grading. Here outputs beyond the caps are dropped, and a late one is lost.
    raise_on_iopub_timeout = Bool(False).tag(config=True)
    iopub_timeout = Integer(15).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources: dict):
        if nb.metadata.get(REFUSED_MARK):  # a placeholder for a refused submission (doors.py): nothing to run
            self._void_tests(nb, [str(nb.metadata[REFUSED_MARK])], REFUSED_MESSAGE, "SubmissionRefused")
            return nb, resources
        nonce = secrets.token_hex(6)
        baseline = f"_mmembed_canary_{nonce}"
        cells, probes = [_cell(baseline_code(baseline), f"{nonce}-baseline")], []
        for cell in nb.cells:
            cells.append(cell)
            if is_grade(cell) and cell.cell_type == "code":
                tag = f"{nonce}-{len(probes) + 1}"
                probes.append(tag)
                cells.append(_cell(canary_code(tag, baseline), tag))
        graded = [_grade_id(cell) for cell in nb.cells if is_grade(cell) and _grade_id(cell) in verdicts.GRADE_IDS]
        mark = f"MMEMBED-ANSWERS-{nonce} "
        if graded:
            cells.append(_cell(verdicts.export_source(graded, mark), f"{nonce}-answers"))

        end = f"{nonce}-end"
        probes.append(end)
        nb.cells = [*cells, _cell(canary_code(end, baseline), end)]

        self._cap = outputs.StreamingCap()
        nb, resources = super().preprocess(nb, resources)

        exported = [cell for cell in nb.cells if cell.metadata.get(PROBE_MARK) == f"{nonce}-answers"]
        answers = verdicts.read_answers(exported[0], mark) if exported else None
        reasons = [
            canary_verdict(cell, cell.metadata[PROBE_MARK])
            for cell in nb.cells
            if cell.metadata.get(PROBE_MARK) in probes
        ]
        nb.cells = [cell for cell in nb.cells if PROBE_MARK not in cell.metadata]
        reasons.extend(
            f"test cell {_grade_id(cell)} shows a result value"
            for cell in nb.cells
            if is_grade(cell) and any(output.output_type == "execute_result" for output in cell.get("outputs", []))
        )
        found = verdicts.run_hidden_tests(answers, graded) if graded else {}
        for cell in nb.cells:
            if _grade_id(cell) in found:
                if found[_grade_id(cell)] is not None:
                    self.log.warning("%s: the grader's own test fails: %s", _grade_id(cell), found[_grade_id(cell)])
                verdicts.apply(cell, found[_grade_id(cell)])
        reasons = [reason for reason in reasons if reason]
        if reasons:
            self._void_tests(nb, reasons)
        outputs.bound_outputs(nb)
        return nb, resources

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handler, with the byte caps applied before nbgrader keeps an output."""
        cap = getattr(self, "_cap", None)
        if cap is not None and cell_index in cap.marked and msg["msg_type"] != "error":
            return None  # this cell is full: not even parsed
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or cap is None:
            return out
        own = PROBE_MARK in self.nb.cells[cell_index].metadata
        kept, cut = cap.admit(cell_index, out, own)
        if outs and outs[-1] is out:
            outs.pop()
        if kept is not None:
            outs.append(kept)
        if cut:
            outs.append(outputs.marker())
        return kept

    def _void_tests(self, nb, reasons: list[str], message: str = FLAG_MESSAGE, name="IntegrityCheckFailed") -> None:
        text = message.format(reasons="; ".join(reasons))
        what = "Submission refused" if name == "SubmissionRefused" else "Integrity check failed"
        self.log.warning("%s, every test scores 0: %s", what, "; ".join(reasons))
        nb.metadata["mmembed_integrity"] = {"passed": False, "reasons": reasons}
        for cell in nb.cells:
            if is_grade(cell) and cell.cell_type == "code":
                # First, so nbgrader's grading (which stops at the first error or result value) reads this.
                cell.outputs.insert(0, _error(name, text))
