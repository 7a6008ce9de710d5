"""The gradebook an instructor takes away: grades.csv with a column per check, and the grade-import file of the
course's LMS (Canvas, Moodle) made from it with a roster. The grades.csv is written by the grader's own functions
(classroom.row_of, report.write_grades), so no student has to be graded here (<2 s)."""

import csv
import subprocess
import sys

import pytest

from autograder import classroom, config, export, report
from autograder.checks import failed, passed
from autograder.grade import Graded, all_failed
from tests.helpers import REPO_ROOT

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def graded(passing: set[str], status="ok") -> Graded:
    return Graded([(passed if n in passing else failed)(n, "피드백") for n in config.POINTS], status, 4.2)


@pytest.fixture
def results(tmp_path):
    """A class's RESULTS/grades.csv: full marks, part marks, a timeout, a grader error, one not graded yet, and
    folders whose names a spreadsheet would run as a formula or that are not in the roster."""
    rows = [
        classroom.row_of("kim", graded(set(config.POINTS)), True),
        classroom.row_of("lee", graded({"load_images", "embed_images_shape", "main_output"}), True),
        classroom.row_of("=park", graded({"load_images"}), True),
        classroom.row_of("choi", Graded(all_failed("시간 초과"), "timeout", 30.0), True),
        classroom.row_of("jung", Graded(all_failed(classroom.GRADER_ERROR), "grader error", 1.0), True),
        classroom.not_graded("kang"),
        classroom.row_of("stranger", graded(set(config.POINTS)), True),
    ]
    path = tmp_path / "results" / "grades.csv"
    report.write_grades(rows, path)
    return path


def write_roster(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([header, *rows])
    return path


def run_export(*args):
    command = [sys.executable, "-m", "autograder", "export", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def test_grades_csv_has_a_column_per_check_after_the_totals(results):
    with open(results, newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == report.GRADES_COLUMNS + list(config.POINTS)
    rows = {cells[0]: dict(zip(table[0], cells)) for cells in table[1:]}
    assert [rows["lee"][name] for name in config.POINTS] == ["2", "1", "0", "0", "0", "0", "0", "0", "0", "1"]
    assert rows["lee"]["score"] == "4" and rows["choi"]["load_images"] == "0"
    assert [rows["kang"][name] for name in config.POINTS] == [""] * len(config.POINTS)  # not graded: empty
    assert "'=park" in rows  # the formula guard on the student's name
    back = report.read_grades(results)  # as --only-failed reads it: every value as written
    assert back["=park"]["load_images"] == "2" and back["kang"]["status"] == "not graded"
    report.write_grades(list(back.values()), results.with_name("again.csv"))
    assert results.with_name("again.csv").read_bytes() == results.read_bytes()


def test_a_grades_csv_from_before_the_check_columns_is_still_read(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("student,score,max_score,seconds,status\nkim,12,12,3.1,ok\n", encoding="utf-8")
    assert report.read_grades(path)["kim"]["score"] == "12"


def test_canvas_file_follows_canvas_gradebook_import(results, tmp_path):
    roster = write_roster(
        tmp_path / "roster.csv",
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "folder"],
        [
            ["김민준", "101", "2026001", "mjkim", "01", "kim"],
            ["이서연", "102", "2026002", "sylee", "01", "lee"],
            ["박지호", "103", "2026003", "jhpark", "02", "=park"],
            ["최유진", "104", "2026004", "yjchoi", "02", "choi"],
            ["정하은", "105", "2026005", "hejung", "02", "jung"],
            ["강도윤", "106", "2026006", "dykang", "01", "kang"],
            ["윤서준", "107", "2026007", "sjyoon", "01", "yoon"],
        ],
    )
    output = tmp_path / "canvas.csv"
    run = run_export("--format", "canvas", "--roster", roster, "--grades", results, "--output", output,
                     "--assignment", "퀴즈 3-6", "--assignment-id", "4242")  # fmt: skip
    with open(output, newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == [*CANVAS_HEADER, "퀴즈 3-6 (4242)"]
    assert table[1] == ["    Points Possible", "", "", "", "", str(config.MAX_SCORE)]
    assert table[2:] == [
        ["김민준", "101", "2026001", "mjkim", "01", "12"],
        ["이서연", "102", "2026002", "sylee", "01", "4"],
        ["박지호", "103", "2026003", "jhpark", "02", "2"],
        ["최유진", "104", "2026004", "yjchoi", "02", "0"],  # a timeout is a mark
    ]
    # Nothing left out silently: each on stderr, counted in the summary line, and the exit code says so.
    assert run.returncode == 1, run.stderr
    assert "folder not in the roster: stranger" in run.stderr
    assert "roster student without a folder: yoon" in run.stderr
    assert "no mark (grader error): jung" in run.stderr and "no mark (not graded): kang" in run.stderr
    assert run.stdout.startswith(f"canvas: 4 students -> {output}; ")
    assert "folder not in the roster: 1" in run.stdout and "roster student without a folder: 1" in run.stdout


def test_moodle_file_maps_idnumber_or_email_to_the_grade(results, tmp_path):
    roster = write_roster(
        tmp_path / "roster.csv",
        ["folder", "idnumber", "email"],  # Moodle's own names ("ID number", "Email address") work as well
        [["kim", "2026001", "kim@univ.ac.kr"], ["lee", "", "lee@univ.ac.kr"], ["=park", "2026003", ""],
         ["stranger", "", ""]],
    )  # fmt: skip
    output = tmp_path / "moodle.csv"
    run = run_export("--format", "moodle", "--roster", roster, "--grades", results, "--output", output)
    with open(output, newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table == [
        ["ID number", "Email address", export.DEFAULT_ASSIGNMENT],
        ["2026001", "kim@univ.ac.kr", "12"],
        ["", "lee@univ.ac.kr", "4"],
        ["2026003", "", "2"],
    ]
    assert run.returncode == 1 and "roster row without a moodle id: stranger" in run.stderr
    assert "folder not in the roster: choi" in run.stderr


def test_a_complete_roster_exits_0(results, tmp_path):
    grades = report.read_grades(results)
    graded = [name for name, row in grades.items() if row["status"] not in export.NO_MARK]
    report.write_grades([grades[name] for name in graded], results)
    roster = write_roster(tmp_path / "r.csv", ["folder", "ID number"], [[name, f"id-{name}"] for name in graded])
    run = run_export("--format", "moodle", "--roster", roster, "--grades", results, "--output", tmp_path / "m.csv")
    assert run.returncode == 0 and run.stderr == "" and run.stdout.startswith("moodle: 5 students -> ")


def test_a_roster_that_cannot_be_used_is_refused(results, tmp_path):
    no_folder = write_roster(tmp_path / "a.csv", ["SIS User ID"], [["1"]])
    twice = write_roster(tmp_path / "b.csv", ["folder", "SIS User ID"], [["kim", "1"], ["kim", "2"]])
    for roster, said in [(no_folder, "no 'folder' column"), (twice, "'kim' is in the roster twice")]:
        run = run_export("--format", "canvas", "--roster", roster, "--grades", results, "--output", tmp_path / "c")
        assert run.returncode == 2 and said in run.stderr and not (tmp_path / "c").exists()
