"""No text written for maintainers in front of students (issue 34, item 2).

Students read the lecture notebooks and any other page in lectures/, the quizzes in quizzes/ (and the edition's
self-check beside them), and the student README (tools/student_edition/README.md, and README.md as the edition
builder writes it). None of them may carry what only
the people who build the course need: the training records of `mini` (`metrics.json`, the `NOISY_` settings, the
"목표 0.90" it was tuned to, "처음 mini"), this repository's own machine and how the course was prepared
("이 저장소의 컴퓨터", "강의를 준비하며", "원래 강의의 퀴즈는"), or the project's issue numbers. Those belong in
the README's maintainer sections and the instructor notes.

A failure names each hit by file and cell (notebooks) or line (text files), with the words around it.
`developer_text_hits` is the one check; a test of other student material (a rendered site) can call it too.
"""

import re
from pathlib import Path

import nbformat
import pytest

from tests.helpers import REPO_ROOT

# What students must not read, each with the pattern that finds it.
DEVELOPER_TEXT = {
    "metrics.json": re.compile(r"metrics\.json"),
    "NOISY_": re.compile(r"NOISY_"),
    "이 저장소의 컴퓨터": re.compile(r"이 저장소의 컴퓨터"),
    "강의를 준비하며": re.compile(r"강의를 준비하며"),
    "처음 mini": re.compile(r"처음 mini"),
    "원래 강의의 퀴즈는": re.compile(r"원래 강의의 퀴즈는"),
    "목표 0.90": re.compile(r"목표\s*0\.90?"),
    "an issue number": re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE),
    "이슈": re.compile(r"이슈"),
}
CONTEXT = 40  # characters shown on each side of a hit

STUDENT_NOTEBOOKS = sorted(
    [*(REPO_ROOT / "lectures").glob("*.ipynb"), *(REPO_ROOT / "quizzes").rglob("*.ipynb")],
)
STUDENT_TEXT_FILES = sorted(
    [
        *(REPO_ROOT / "lectures").glob("*.md"),
        *(REPO_ROOT / "quizzes").rglob("*.py"),
        *(REPO_ROOT / "tools" / "student_edition" / "quizzes").glob("*.py"),  # the edition's self-check and runner
        REPO_ROOT / "tools" / "student_edition" / "README.md",
    ]
)


def developer_text_hits(text: str) -> list[str]:
    """Each developer-only word in `text`, as 'word: «...context...»', in the order they occur."""
    hits = []
    for word, pattern in DEVELOPER_TEXT.items():
        for match in pattern.finditer(text):
            start, end = max(match.start() - CONTEXT, 0), match.end() + CONTEXT
            context = " ".join(text[start:end].split())
            hits.append((match.start(), f"{word}: «{context}»"))
    return [hit for _, hit in sorted(hits)]


def notebook_hits(notebook: Path) -> list[str]:
    """Hits in every cell's source (prose and code comments alike: both are in front of students), by cell."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [
        f"cell {index} ({cell.cell_type}): {hit}"
        for index, cell in enumerate(cells)
        for hit in developer_text_hits(cell.source)
    ]


def text_file_hits(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"line {number}: {hit}" for number, line in enumerate(lines, 1) for hit in developer_text_hits(line)]


def report(path: Path, hits: list[str]) -> str:
    return f"{path.relative_to(REPO_ROOT).as_posix()} has developer-only text:\n" + "\n".join(
        f"  {hit}" for hit in hits
    )


def names(paths: list[Path]) -> list[str]:
    return [path.relative_to(REPO_ROOT).as_posix() for path in paths]


@pytest.mark.parametrize("notebook", STUDENT_NOTEBOOKS, ids=names(STUDENT_NOTEBOOKS))
def test_student_notebook_has_no_developer_text(notebook):
    hits = notebook_hits(notebook)
    assert not hits, report(notebook, hits)


@pytest.mark.parametrize("path", STUDENT_TEXT_FILES, ids=names(STUDENT_TEXT_FILES))
def test_student_text_file_has_no_developer_text(path):
    hits = text_file_hits(path)
    assert not hits, report(path, hits)


@pytest.mark.xdist_group("student_edition")  # the worker that builds the edition once for tests/edition
def test_the_edition_readme_has_no_developer_text(edition):
    """README.md as the edition builder writes it, whatever it adds to the template (badges, links)."""
    readme = edition / "README.md"
    hits = text_file_hits(readme)
    assert not hits, "the edition's README.md has developer-only text:\n" + "\n".join(f"  {hit}" for hit in hits)


@pytest.mark.parametrize(
    "text, found",
    [
        ("mini의 metrics.json을 읽으면", ["metrics.json"]),
        ("NOISY_QUERY_SHARE = 0.3", ["NOISY_"]),
        ("강의를 준비하며 잰 값은 0.96에서 0.84로", ["강의를 준비하며"]),
        ("처음 mini는 형용사를 듣지 못했습니다", ["처음 mini"]),
        ("목표 0.90에 닿을 때까지", ["목표 0.90"]),
        ("(issue 32에서 고침)", ["an issue number"]),
        ("see Issue #34", ["an issue number"]),
        ("이 이슈는 다음 학기에", ["이슈"]),
        ("이 저장소의 컴퓨터에서 잰 시간", ["이 저장소의 컴퓨터"]),
        ("원래 강의의 퀴즈는 세 문제였습니다", ["원래 강의의 퀴즈는"]),
        # what students may read: the words in other senses
        ("mini는 강의 사진으로 학습한 작은 CLIP입니다. 처음 실행할 때 모델을 내려받습니다.", []),
        ("이 저장소의 images/에 있는 사진 210장", []),
        ("코사인 유사도가 0.90보다 크면", []),
    ],
)
def test_the_check_finds_each_word_and_only_those(text, found):
    assert [hit.split(":")[0] for hit in developer_text_hits(text)] == found
