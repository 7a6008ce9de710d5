"""What the grader writes: Gradescope's results.json, the class's grades.csv, and JUnit XML for CI systems.

Every output passes through `scrub` before anyone sees it, so no hidden query or hidden answer is ever shown.
results.json follows Gradescope's autograder specification: `score`, `max_score`, `execution_time`, `output`,
`visibility`, `stdout_visibility`, and `tests[]` with `name`, `score`, `max_score`, `output`, `visibility`.
grades.csv has a student's total, time and status, then one column per check (the points it got), in the order of
config.POINTS. The JUnit XML is made with junitparser and is valid against Jenkins' junit-10.xsd.
"""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser

from mmembed.files import write_atomically  # the grader writes its reports with it, as report.write_atomically

from . import config
from .grade import Graded

GRADES_COLUMNS = ["student", "score", "max_score", "seconds", "status"]
CHECK_COLUMNS = list(config.POINTS)  # after GRADES_COLUMNS: the points each check got ("" when not graded)


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


def write_results(data: dict, path: Path) -> None:
    """results.json in UTF-8. A lone surrogate (from bytes that were not UTF-8) is written as its JSON escape, as
    ensure_ascii=True would: UTF-8 cannot hold it, and json.loads reads the escape back."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    write_atomically(path, SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text))


SURROGATE = re.compile("[\ud800-\udfff]")


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
    """grades.csv: one row per student, in the order given, written atomically. A row without a check's key (a
    student not graded yet) leaves that check's cell empty."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(GRADES_COLUMNS + CHECK_COLUMNS)
    for row in rows:
        writer.writerow(
            [_cell(row[column]) for column in GRADES_COLUMNS] + [_cell(row.get(c, "")) for c in CHECK_COLUMNS]
        )
    write_atomically(path, table.getvalue())


def read_grades(path: Path) -> dict[str, dict]:
    """student -> row of a grades.csv that write_grades wrote, every value as text ({} when there is no file).
    A grades.csv from before the per-check columns is read too (its rows have no check keys).
    Raises ValueError for a file that is not one (other columns, not UTF-8)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: the file saved again by a spreadsheet
            table = list(csv.reader(file))
    except FileNotFoundError:
        return {}
    columns = table[0] if table else []
    if columns not in (GRADES_COLUMNS, GRADES_COLUMNS + CHECK_COLUMNS) or any(len(c) != len(columns) for c in table):
        raise ValueError(f"{path} is not a grades.csv of this grader (columns: {', '.join(GRADES_COLUMNS)}, checks)")
    rows = [dict(zip(columns, map(_uncell, cells))) for cells in table[1:]]
    return {row["student"]: row for row in rows}


# XML 1.0 allows only these characters, in text and in attributes alike; the C1 controls (U+007F-U+009F) are allowed
# but are a terminal's escape sequences, so they are shown as escapes too.
NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML cannot hold written as an escape (ESC -> \\x1b, a lone surrogate -> \\udc80).
    A student's output can hold anything; one such character makes the whole report unreadable."""
    return NOT_XML.sub(lambda match: _escape(match.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def reason(output: str, score: int, max_score: int) -> str:
    """A failure's message: the first line of the check's feedback, or the points if it has none."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[0] if lines else f"{score}/{max_score}점"


def junit(data: dict, suite: str = "quiz_search") -> str:
    """JUnit XML of a results.json: one test case per check, named by its title; a <failure> for a check without full
    marks, whose message is why. The points are the suite's properties (the schema allows none in a test case):
    score and max_score, then score.CHECK and max_score.CHECK for each check (a key of config.POINTS)."""
    keys = {title: key for key, title in config.TITLES.items()}
    tests = data["tests"]
    cases = junitparser.TestSuite(xml_text(suite))
    cases.add_property("score", str(data["score"]))
    cases.add_property("max_score", str(data["max_score"]))
    for number, test in enumerate(tests, 1):
        key = keys.get(test["name"], str(number))
        cases.add_property(f"score.{key}", str(test["score"]))
        cases.add_property(f"max_score.{key}", str(test["max_score"]))
    for test in tests:
        case = junitparser.TestCase(xml_text(test["name"]), classname=xml_text(suite), time=0)
        output = xml_text(test["output"])
        if test["score"] < test["max_score"]:
            failure = junitparser.Failure(message=reason(output, test["score"], test["max_score"]), type_="points")
            failure.text = output
            case.result = [failure]
        else:
            case.system_out = output
        cases.add_testcase(case)  # counts tests and failures
    cases.time = round(float(data.get("execution_time", 0)), 1)
    root = junitparser.JUnitXml("autograder")
    root.add_testsuite(cases)
    root.tests, root.failures, root.errors = cases.tests, cases.failures, cases.errors
    tree = ET.fromstring(root.tostring())  # indented by the standard library, with lxml installed or not
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree, encoding="unicode") + "\n"
