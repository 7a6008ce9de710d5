"""autograder/notebooks/canary.py on small crafted notebooks: what voids a notebook, what does not, and what it says.

The verdict on one probe's output is checked without a kernel; whole crafted notebooks go through
`ExecuteWithCanaries` (nbgrader's Execute, the kernel in the sandbox) as autograding would run them.
"""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.notebooks.canary import PROBE_MARK, ExecuteWithCanaries, canary_verdict

TEST_METADATA = {
    "grade": True,
    "grade_id": "t_test",
    "locked": True,
    "points": 1,
    "schema_version": 3,
    "solution": False,
}


def probe_cell(*outputs):
    return nbformat.from_dict({"cell_type": "code", "source": "", "metadata": {}, "outputs": list(outputs)})


def error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[])


@pytest.mark.parametrize(
    "outputs, verdict",
    [
        ([error("AssertionError", "CANARY-7: OK")], None),
        ([], "canary 7 did not fail"),
        ([error("AssertionError", "CANARY-7: TAMPERED ast_transformers")], "canary 7: TAMPERED ast_transformers"),
        ([error("AssertionError", "CANARY-8: OK")], "canary 7 failed with AssertionError: CANARY-8: OK"),
        ([error("NameError", "name '_canary_problems' is not defined")], "canary 7 failed with NameError"),
    ],
)
def test_verdict_on_a_probes_output(outputs, verdict):
    found = canary_verdict(probe_cell(*outputs), "7")
    assert found == verdict if verdict is None else found.startswith(verdict), found


ANSWERS = {
    "honest": "x = 41 + 1",
    "input_transformer": 'x = 0\nget_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])',
    "assert_helper": "x = 0\nimport numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None",
    "thread_left_running": "x = 42\nimport threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()",
    "shadowed_builtin": "x = 42\nall = lambda iterable: True",
    "data_under_a_builtins_name": "x = 42\nlist = [1, 2]\ntype = 'dog'",  # a test calling list() fails; no void
}
EXPECTED_REASON = {
    "input_transformer": "did not fail",  # the probes' own asserts were rewritten away
    "assert_helper": "numpy.testing.assert_allclose",
    "thread_left_running": "thread left running",
    "shadowed_builtin": "all redefined",
}


def crafted(answer: str, test_source: str = "assert x == 42") -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(answer), new_code_cell(test_source, metadata={"nbgrader": TEST_METADATA})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def autograde(nb, tmp_path):
    executor = ExecuteWithCanaries(timeout=120, kernel_name="python3")
    graded, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return graded


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ANSWERS))
def test_a_crafted_notebook_is_voided_only_when_it_disarms(case, tmp_path):
    graded = autograde(crafted(ANSWERS[case]), tmp_path)
    test_cell = graded.cells[-1]
    assert not any(PROBE_MARK in cell.metadata for cell in graded.cells)  # the probes are taken out
    voided = graded.metadata.get("mmembed_integrity", {}).get("passed") is False
    if case in ("honest", "data_under_a_builtins_name"):
        assert not voided and not [o for o in test_cell.outputs if o.output_type == "error"]
    else:
        assert voided, graded.metadata
        first = test_cell.outputs[0]
        assert first.ename == "IntegrityCheckFailed" and EXPECTED_REASON[case] in first.evalue, first.evalue


@pytest.mark.slow
def test_a_test_cell_showing_a_value_voids_the_notebook(tmp_path):
    graded = autograde(crafted("x = 42", "assert x == 42\n1.0"), tmp_path)  # nbgrader would read 1.0 as a score
    assert "shows a result value" in graded.cells[-1].outputs[0].evalue
