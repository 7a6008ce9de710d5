"""Canaries for nbgrader: catching a notebook that disarms the tests running in its own kernel.

nbgrader runs a student's notebook and its test cells in one kernel, so code in an answer cell can disarm
the tests: an IPython input or AST transformer that rewrites them, a custom exception handler that hides
their failures, `all` or `np.testing.assert_allclose` redefined to always agree. Two kinds of canary:

- the locked cell `integrity_canary` at the end of each quiz notebook (its text is `CANARY_SOURCE`), which
  students see and which must fail with "CANARY-end: OK";
- probes, the same check with a random tag, that `ExecuteWithCanaries` puts after every test cell while
  autograding and takes out again, so a notebook cannot disarm only the tests and leave the last cell alone.

A canary that does not fail as it should, fails with "TAMPERED", is missing or moved, or a test cell that
shows a result value (nbgrader reads a number there as partial credit): every test cell of that notebook
scores 0, with a message saying why. This is a tripwire, not a sandbox: code in the kernel can in principle
fake anything the kernel says (README, "Autograder limits").
"""

import secrets

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade

from . import recheck

CANARY_ID = "integrity_canary"
PROBE_MARK = "mmembed_probe"  # metadata key of the cells inserted while autograding

# Runs in the student's kernel. Every check is something a disarming notebook changes; none is something
# an honest answer changes. (Names start with _canary_ so they do not clash with a student's variables.)
CHECKS = """\
def _canary_problems():
    import builtins, sys, threading, types
    import numpy, torch
    from IPython import get_ipython
    problems = []
    shell = get_ipython()
    if shell is None:
        return ["IPython shell missing"]
    if shell.input_transformers_post:
        problems.append("input_transformers_post")
    if shell.ast_transformers:
        problems.append("ast_transformers")
    if shell.custom_exceptions:
        problems.append("custom exception handler")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        problems.append("trace/profile function")
    manager = shell.input_transformer_manager
    for transform in [*shell.input_transformers_cleanup, *manager.line_transforms, *manager.token_transformers]:
        if not getattr(transform, "__module__", "").startswith("IPython."):
            problems.append("input transformer " + repr(transform)[:60])
    for name in ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "showtraceback", "_showtraceback", "showsyntaxerror", "get_exception_only"):
        method = getattr(shell, name, None)
        owner = getattr(getattr(method, "__func__", method), "__module__", "") or ""
        if not owner.startswith(("IPython.", "ipykernel.")):
            problems.append("shell." + name)
    for name in ("all", "any", "abs", "len", "isinstance", "tuple", "list", "set", "sorted", "float", "str",
                 "round", "print", "type", "repr", "getattr", "AssertionError"):
        value = getattr(builtins, name, None)
        if type(value) not in (types.BuiltinFunctionType, type) or value.__module__ != "builtins":
            problems.append("builtins." + name)
        if name in shell.user_ns and shell.user_ns[name] is not value:
            problems.append(name + " redefined")
    try:
        numpy.testing.assert_allclose(0.0, 1.0)
        problems.append("numpy.testing.assert_allclose")
    except AssertionError:
        pass
    if numpy.allclose(0.0, 1.0) or bool(torch.allclose(torch.zeros(2), torch.ones(2))):
        problems.append("allclose")
    if bool((torch.tensor([1.0, 2.0]) == torch.tensor([1.0, 3.0])).all()):
        problems.append("torch ==")
    mmembed = sys.modules.get("mmembed")
    if mmembed is not None:
        for name in ("load_clip", "load_images", "embed_texts", "embed_images", "search", "top_k"):
            if not getattr(getattr(mmembed, name, None), "__module__", "").startswith("mmembed."):
                problems.append("mmembed." + name)
    # A thread the notebook started could clear or write into the outputs of later test cells; threads of
    # the libraries (tqdm's monitor, thread pools) are fine.
    started = shell.user_ns.get("_canary_threads") or set()
    libraries = ("threading", "concurrent.", "tqdm", "ipykernel", "IPython", "jupyter_client", "zmq",
                 "matplotlib", "torch", "transformers", "huggingface_hub", "httpx", "anyio", "urllib3")
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None) or getattr(thread, "function", None)  # Thread, Timer
        origin = getattr(target, "__module__", "") if target is not None else type(thread).__module__
        if thread.ident not in started and not (origin or "").startswith(libraries):
            problems.append("thread left running: " + thread.name)
    return problems
"""


def canary_code(tag: str) -> str:
    """The check and the assertion that must fail, with "CANARY-<tag>: OK" when nothing was disarmed."""
    return (
        CHECKS
        + "_canary_found = _canary_problems()\n"
        + f'assert False, "CANARY-{tag}: " + ("OK" if not _canary_found else "TAMPERED " + "; ".join(_canary_found))\n'
    )


CANARY_SOURCE = (
    "# 무결성 확인 (채점용 셀, 고치지 마세요). 이 셀은 실패하는 것이 정상입니다.\n"
    "# 마지막 줄의 AssertionError에 'CANARY-end: OK'가 나오면 테스트가 제대로 돌아간 것입니다.\n"
    "# 테스트를 무력화하는 코드(IPython 입력 변환기, assert·all·allclose 재정의 등)가 있으면 노트북 전체가 0점입니다.\n"
    + canary_code("end")
)

# The first probe: which threads the kernel runs before any student code (a thread a notebook leaves
# running could write into the outputs of later test cells).
BASELINE_SOURCE = (
    "import threading as _canary_threading\n_canary_threads = {t.ident for t in _canary_threading.enumerate()}\n"
)

FLAG_MESSAGE = (
    "채점 무결성 확인 실패: {reasons}. "
    "이 노트북에서 테스트를 무력화하는 코드가 발견되어 모든 문제를 0점 처리했습니다 "
    "(IPython 입력 변환기, assert·all·allclose 재정의, 채점 셀 이동·삭제 등). "
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

    Used in place of Execute in `Autograde.autograde_preprocessors` (autograder/nbgrader_config.py).
    """

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
        nb.cells = cells

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
        reasons.extend(self._canary_cell_problems(nb))
        reasons = [reason for reason in reasons if reason]
        if reasons:
            self._void_tests(nb, reasons)
        return nb, resources

    @staticmethod
    def _canary_cell_problems(nb: NotebookNode) -> list[str]:
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        canaries = [cell for cell in code if _grade_id(cell) == CANARY_ID]
        problems = []
        if len(canaries) != 1:
            return [f"the cell {CANARY_ID} is missing" if not canaries else f"{len(canaries)} cells {CANARY_ID}"]
        if code[-1] is not canaries[0]:
            problems.append(f"the cell {CANARY_ID} is not the last code cell")
        problems.append(canary_verdict(canaries[0], "end"))
        for cell in code:
            if is_grade(cell) and any(output.output_type == "execute_result" for output in cell.outputs):
                problems.append(f"test cell {_grade_id(cell)} shows a result value")
        return problems

    def _void_tests(self, nb: NotebookNode, reasons: list[str]) -> None:
        message = FLAG_MESSAGE.format(reasons="; ".join(reasons))
        self.log.warning("Integrity check failed, every test scores 0: %s", "; ".join(reasons))
        nb.metadata["mmembed_integrity"] = {"passed": False, "reasons": reasons}
        for cell in nb.cells:
            if is_grade(cell) and cell.cell_type == "code":
                # First, so nbgrader's grading (which stops at the first error or result value) reads this.
                cell.outputs.insert(0, _error("IntegrityCheckFailed", message))
