"""What the grader writes: Gradescope's results.json, the class's grades.csv, and JUnit XML for CI systems.

Every output passes through `scrub` before anyone sees it, so no hidden query or hidden answer is ever shown.
results.json follows Gradescope's autograder specification: `score`, `max_score`, `execution_time`, `output`,
`visibility`, `stdout_visibility`, and `tests[]` with `name`, `score`, `max_score`, `output`, `visibility`.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from mmembed.files import write_atomically as write_bytes_atomically

from . import config
from .grade import Graded

GRADES_COLUMNS = ["student", "score", "max_score", "seconds", "status"]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "(숨김)")
    return text


def results(graded: Graded, secrets: list[str], note: str = "") -> dict:
    """Gradescope's results.json for one submission."""
    tests = [
        {
            "name": config.TITLES[check.name],
            "score": check.score,
            "max_score": check.max_score,
            "output": scrub(check.output, secrets),
            "visibility": "visible",
        }
        for check in graded.checks
    ]
    return {
        "score": sum(test["score"] for test in tests),
        "max_score": config.MAX_SCORE,
        "execution_time": round(graded.seconds, 1),
        "output": scrub(note, secrets),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "status": graded.status,
            "memory_peak_mb": round(graded.memory_peak_bytes / 2**20),
            "cpu_seconds": round(graded.cpu_seconds, 1),
        },
    }


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, text.encode("utf-8"))


def write_results(data: dict, path: Path) -> None:
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=2))


# A cell starting with one of these gets a "'" in front: a spreadsheet program would run it as a formula. "'" is
# there too, so that the guard can always be told from the text and read_grades gives back what was written.
GUARDED = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(value) -> str:
    """A spreadsheet cell that a spreadsheet program will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in GUARDED else text


def _uncell(text: str) -> str:
    """The text that `_cell` was given."""
    return text[1:] if text[:1] == "'" and text[1:2] in GUARDED else text


def write_grades(rows: list[dict], path: Path) -> None:
    """grades.csv: one row per student, in the order given, written atomically."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(GRADES_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in GRADES_COLUMNS])
    write_atomically(path, table.getvalue())


def read_grades(path: Path) -> dict[str, dict]:
    """student -> row of a grades.csv that write_grades wrote, every value as text ({} when there is no file).
    Raises ValueError for a file that is not one (other columns, not UTF-8)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: the file saved again by a spreadsheet
            table = list(csv.reader(file))
    except FileNotFoundError:
        return {}
    if not table or table[0] != GRADES_COLUMNS or any(len(cells) != len(GRADES_COLUMNS) for cells in table):
        raise ValueError(f"{path} is not a grades.csv of this grader (columns: {', '.join(GRADES_COLUMNS)})")
    rows = [dict(zip(GRADES_COLUMNS, map(_uncell, cells))) for cells in table[1:]]
    return {row["student"]: row for row in rows}


def junit(data: dict, suite: str = "quiz_search") -> str:
    """JUnit XML: one test case per check, a <failure> for each check without full marks."""
    tests = data["tests"]
    failures = [test for test in tests if test["score"] < test["max_score"]]
    root = ET.Element("testsuites", name="autograder", tests=str(len(tests)), failures=str(len(failures)))
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(tests)),
        failures=str(len(failures)),
        errors="0",
        skipped="0",
        time=str(data.get("execution_time", 0)),
    )
    properties = ET.SubElement(element, "properties")
    ET.SubElement(properties, "property", name="score", value=str(data["score"]))
    ET.SubElement(properties, "property", name="max_score", value=str(data["max_score"]))
    for test in tests:
        case = ET.SubElement(element, "testcase", classname=suite, name=test["name"], time="0")
        case_properties = ET.SubElement(case, "properties")
        ET.SubElement(case_properties, "property", name="score", value=str(test["score"]))
        ET.SubElement(case_properties, "property", name="max_score", value=str(test["max_score"]))
        if test["score"] < test["max_score"]:
            failure = ET.SubElement(case, "failure", message=f"{test['score']}/{test['max_score']}")
            failure.text = test["output"]
        else:
            ET.SubElement(case, "system-out").text = test["output"]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
