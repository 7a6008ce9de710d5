"""Each lecture fits one class of 75-90 minutes.

The estimate of a session's length, in minutes:

    Hangul syllables of its markdown / 125  +  2 per code cell  +  12 for the exercises

(125 syllables a minute is reading aloud with pauses to explain; 2 minutes a code cell is running it and talking
about what it printed.) Everything from a final "## 더 알아보기" heading on is left out: material for students who
want more, which a class may skip. A session must come out between 55 and 95 minutes.

    python -m tests.lectures.test_session_length     # the table, for whoever is cutting or moving material
"""

import json
from pathlib import Path

import pytest

LECTURES = sorted((Path(__file__).resolve().parents[2] / "lectures").glob("[0-9][0-9]*_*.ipynb"))
SYLLABLES_PER_MINUTE = 125
MINUTES_PER_CODE_CELL = 2
EXERCISE_MINUTES = 12
SHORTEST, LONGEST = 55, 95
FURTHER_READING = "## 더 알아보기"


def taught_cells(notebook: Path) -> list[dict]:
    """The cells before a "## 더 알아보기" heading (all cells when there is none)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for position, cell in enumerate(cells):
        lines = "".join(cell["source"]).splitlines()
        if cell["cell_type"] == "markdown" and any(line.strip() == FURTHER_READING for line in lines):
            return cells[:position]
    return cells


def hangul_syllables(text: str) -> int:
    return sum("\uac00" <= character <= "\ud7a3" for character in text)


def session_minutes(notebook: Path) -> float:
    cells = taught_cells(notebook)
    syllables = sum(hangul_syllables("".join(c["source"])) for c in cells if c["cell_type"] == "markdown")
    code_cells = sum(c["cell_type"] == "code" for c in cells)
    return syllables / SYLLABLES_PER_MINUTE + MINUTES_PER_CODE_CELL * code_cells + EXERCISE_MINUTES


@pytest.mark.parametrize("notebook", LECTURES, ids=lambda path: path.stem)
def test_a_session_fits_one_class(notebook):
    minutes = session_minutes(notebook)
    assert SHORTEST <= minutes <= LONGEST, f"{notebook.name}: about {minutes:.0f} minutes"


def test_further_reading_is_the_last_heading_of_its_level():
    """A "## 더 알아보기" part runs to the end: no "## " heading of the session comes after it."""
    for notebook in LECTURES:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        rest = cells[len(taught_cells(notebook)) :]
        headings = [
            line.strip()
            for cell in rest
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines()
            if line.startswith("## ")
        ]
        assert headings in ([], [FURTHER_READING]), (notebook.name, headings)


if __name__ == "__main__":
    for notebook in LECTURES:
        print(f"{notebook.stem:<40} {session_minutes(notebook):5.0f} min")
