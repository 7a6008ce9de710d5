"""A grade-import file for the course's LMS, made from the class's grades.csv: the totals go where marks are kept.

    python -m autograder export --format canvas|moodle --roster ROSTER.csv --grades RESULTS/grades.csv --output FILE

The LMS knows students by its own ids, the grader by their folder names, so the roster joins the two: a CSV with a
`folder` column and the LMS's own columns, as the LMS exports them (add `folder` to that export):

- Canvas ("Import" in the Gradebook): `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`. The file has those
  five columns, then the assignment's column `NAME (ID)` (`NAME` alone: Canvas makes a new assignment), and a
  `Points Possible` row under the header, as Canvas's own export does.
- Moodle (Grade administration > Import > CSV file): `ID number` and/or `Email address`. The file has those, then
  the grade column; in Moodle's preview map "ID number" to useridnumber (or "Email address" to useremail) and the
  grade column to the grade item.

Nothing is left out silently. A folder without a roster row, a roster row without a folder, and a folder with no
mark to give ("not graded", or "grader error", whose 0 is not the student's) are listed on stderr and counted in the
summary line, and the exit code is then 1; the file still holds every student who can be given a mark. Exit code 2:
the roster or grades.csv cannot be used. Column names match without regard to case, spaces or underscores.
"""

import argparse
import csv
import io
import sys
from pathlib import Path

from . import config, report

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDS = ["ID number", "Email address"]
ALIASES = {"idnumber": "ID number", "email": "Email address", "name": "Student", "sisid": "SIS User ID"}
NO_MARK = {"not graded", "grader error"}  # rows whose score is not the student's mark
DEFAULT_ASSIGNMENT = "퀴즈 3-6 quiz_search"


def key(column: str) -> str:
    return "".join(column.split()).replace("_", "").lower()


KNOWN = {key(column): column for column in ["folder", *CANVAS_COLUMNS, *MOODLE_IDS]} | ALIASES


def read_roster(path: Path) -> dict[str, dict]:
    """folder -> {LMS column: value}. Raises ValueError for a roster without `folder` or with a folder twice."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise ValueError(f"{path} is empty")
    columns = [KNOWN.get(key(name), name) for name in rows[0]]
    if "folder" not in columns:
        raise ValueError(f"{path} has no 'folder' column (the student's folder name in the class folder)")
    roster = {}
    for cells in rows[1:]:
        entry = {column: value.strip() for column, value in zip(columns, cells)}
        folder = entry.pop("folder", "")
        if folder in roster:
            raise ValueError(f"{path}: the folder {folder!r} is in the roster twice")
        if folder:
            roster[folder] = entry
    return roster


def canvas(students: list[tuple[dict, str]], assignment: str, assignment_id: str) -> list[list[str]]:
    title = f"{assignment} ({assignment_id})" if assignment_id else assignment
    table = [[*CANVAS_COLUMNS, title], ["    Points Possible", "", "", "", "", str(config.MAX_SCORE)]]
    return table + [[entry.get(column, "") for column in CANVAS_COLUMNS] + [score] for entry, score in students]


def moodle(students: list[tuple[dict, str]], assignment: str) -> list[list[str]]:
    ids = [column for column in MOODLE_IDS if any(entry.get(column) for entry, _ in students)] or MOODLE_IDS[:1]
    return [[*ids, assignment]] + [[entry.get(column, "") for column in ids] + [score] for entry, score in students]


def has_id(entry: dict, lms: str) -> bool:
    wanted = ["ID", "SIS User ID", "SIS Login ID"] if lms == "canvas" else MOODLE_IDS
    return any(entry.get(column) for column in wanted)


def export(lms: str, roster: dict[str, dict], grades: dict[str, dict], assignment: str, assignment_id: str = ""):
    """(table, problems): the LMS's import table, and what was left out of it, each as (kind, name)."""
    students, problems = [], []
    for folder, row in grades.items():
        entry = roster.get(folder)
        if entry is None:
            problems.append(("folder not in the roster", folder))
        elif row["status"] in NO_MARK or row["score"] == "":
            problems.append((f"no mark ({row['status']})", folder))
        elif not has_id(entry, lms):
            problems.append((f"roster row without a {lms} id", folder))
        else:
            students.append((entry, row["score"]))
    problems += [("roster student without a folder", folder) for folder in roster if folder not in grades]
    table = canvas(students, assignment, assignment_id) if lms == "canvas" else moodle(students, assignment)
    return table, problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["canvas", "moodle"], required=True, help="the LMS")
    parser.add_argument("--roster", type=Path, required=True, help="CSV: folder, and the LMS's id columns")
    parser.add_argument("--grades", type=Path, default=Path("results") / "grades.csv", help="the class's grades.csv")
    parser.add_argument("--output", type=Path, required=True, help="the import file to write (CSV, UTF-8)")
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, help="the grade column's name in the LMS")
    parser.add_argument("--assignment-id", default="", help="Canvas: the assignment's id (an existing assignment)")


def command(args: argparse.Namespace) -> int:
    try:
        roster = read_roster(args.roster)
        grades = report.read_grades(args.grades)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        print(f"[autograder] export: {error}", file=sys.stderr)
        return 2
    if not grades:
        print(f"[autograder] export: no grades in {args.grades}", file=sys.stderr)
        return 2
    table, problems = export(args.format, roster, grades, args.assignment, args.assignment_id)
    text = io.StringIO()
    csv.writer(text).writerows(table)
    report.write_atomically(args.output, text.getvalue())
    for kind, folder in problems:
        print(f"[autograder] export: {kind}: {folder}", file=sys.stderr)
    counts = {kind: sum(k == kind for k, _ in problems) for kind in dict(problems)}
    left_out = "".join(f"; {kind}: {count}" for kind, count in counts.items())
    print(f"{args.format}: {len(table) - (2 if args.format == 'canvas' else 1)} students -> {args.output}{left_out}")
    return 1 if problems else 0
