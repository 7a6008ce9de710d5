"""Answer keys that cannot drift (issue 33, item 5): every check block of solutions/lectures/<lecture>.md prints,
in the lecture's own kernel after the whole lecture has run, exactly the output its key states.

The checks run in the lecture's one offline run (tests.helpers.execute_lecture, shared through the lecture's xdist
group), as extra cells that are taken out of the executed notebook again; here each check is one test, so a key
that is wrong, or raises, fails alone and the lecture's other tests still pass. The format is in
solutions/README.md.
"""

import pytest

from tests.helpers import REPO_ROOT, KeyCheck, answer_key, answer_key_checks
from tests.lectures.conftest import LECTURES, answer_key_results, lecture_run_marks

CHECKS = [(notebook, check) for notebook in LECTURES for check in answer_key_checks(answer_key(notebook))]


def comparable(text: str) -> str:
    """The text with each line's trailing whitespace and the trailing empty lines gone."""
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def where(check: KeyCheck) -> str:
    return f"{check.key.relative_to(REPO_ROOT).as_posix()}, line {check.line} (under {check.heading!r})"


@pytest.mark.parametrize(
    "notebook, check",
    [
        pytest.param(notebook, check, id=f"{check.key.stem}-line{check.line}", marks=lecture_run_marks(notebook))
        for notebook, check in CHECKS
    ],
)
def test_answer_key_prints_what_it_states(notebook, check):
    assert check.expected is not None, f"{where(check)}: the python check block has no ```text block right after it"
    (result,) = [result for result in answer_key_results(notebook) if result.check.line == check.line]
    assert result.check.code == check.code, f"{where(check)} changed during the test session"
    assert result.error is None, f"{where(check)} raised in the lecture's kernel:\n{result.error}"
    assert comparable(result.output) == comparable(check.expected), (
        f"{where(check)} printed\n{result.output}\nbut the key states\n{check.expected}"
    )


def test_check_blocks_are_read_with_their_expected_output(tmp_path):
    """The format of solutions/README.md: blank lines may stand between the two blocks; other code blocks, and
    headings inside them, are not checks."""
    key = tmp_path / "01_example.md"
    key.write_text(
        "# 01강 풀이\n\n## 1. 첫 문제\n\n```python\n# not a heading\nx = 1\n```\n\n"
        "```python check\nprint(round(0.70710678, 4))\n```\n\n```text\n0.7071\n```\n\n"
        "## 2. 둘째 문제\n\n```python check\nprint('no text block')\n```\n\n말로 된 풀이.\n",
        encoding="utf-8",
    )
    first, second = answer_key_checks(key)
    assert (first.line, first.heading, first.code, first.expected) == (
        10,
        "## 1. 첫 문제",
        "print(round(0.70710678, 4))",
        "0.7071",
    )
    assert (second.heading, second.code, second.expected) == ("## 2. 둘째 문제", "print('no text block')", None)
    assert answer_key_checks(tmp_path / "missing.md") == []


def test_outputs_are_compared_up_to_trailing_whitespace():
    assert comparable("0.7071  \n(2, 3)\n\n") == comparable("0.7071\n(2, 3)")
    assert comparable(" 0.7071") != comparable("0.7071")
