"""Every student folder is graded under a name of its own, whatever bytes its name is made of.

The rule (autograder/names.py) is tested on names alone; then one small class, its names in UTF-8, in CP949 (a zip
made on Korean Windows) and in bytes that are neither, is graded for real once, with the grader made to fail on
one student, and graded again with --only-failed.
"""

import csv
import io
import json
import os
import random
import re
import unicodedata

import pytest

from autograder import classroom, config, names, report
from tests.helpers import REPO_ROOT

KIM = "김철수"
KIM_CP949 = KIM.encode("cp949")
KIM_UTF8 = KIM.encode("utf-8")
NAME_MAX = 255  # bytes in a file name (ext4, APFS, NTFS)


def assert_safe_file_name(name: str) -> None:
    """`name`.json, and write_atomically's temporary file beside it, can be written in any results folder."""
    assert "/" not in name and not name.startswith(".") and name.encode("utf-8")
    assert not [char for char in name if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}], name
    assert len(f".{name}.json.12345678.tmp".encode()) <= NAME_MAX
    assert f"{name}.json" not in {classroom.GRADES, classroom.ERROR_LOG}


def test_a_name_is_utf8_else_cp949_else_its_bytes_escaped():
    assert names.decoded(KIM_UTF8) == KIM
    assert names.decoded(KIM_CP949) == KIM
    assert names.decoded("이영희".encode() + b"\xff") == "이영희\\xff"  # neither: the UTF-8 part stays readable
    assert names.decoded(b"\xed\xb2\x80") == "\\xed\\xb2\\x80"  # UTF-8 for a lone surrogate: escaped, never kept


def test_control_characters_slashes_and_a_leading_dot_are_escaped():
    assert names.decoded(b"a\nb\x1b[31m\x7f") == "a\\x0ab\\x1b[31m\\x7f"
    assert names.decoded("evil\u202etxt.exe".encode()) == "evil\\u202etxt.exe"  # right-to-left override
    assert names.decoded(b"a/b") == "a\\x2fb"
    assert names.decoded(b".hidden") == "\\x2ehidden"
    assert names.decoded(b"c string order") == "c string order"  # spaces and dots inside are kept
    assert names.decoded(b"m..paths") == "m..paths"


def test_a_long_name_is_cut_and_says_so():
    name = names.decoded(("가" * 300).encode())
    assert name.endswith("…") and len(name.encode()) <= names.MAX_BYTES
    assert_safe_file_name(name)


def test_a_utf8_and_a_cp949_name_of_the_same_text_both_get_a_name():
    # The raw bytes decide: CP949's 0xB1 sorts before UTF-8's 0xEA, whatever order the folders are listed in.
    expected = {KIM: KIM_CP949, f"{KIM} (2)": KIM_UTF8}
    assert names.unique_names([KIM_UTF8, KIM_CP949]) == names.unique_names([KIM_CP949, KIM_UTF8]) == expected


def test_names_differing_only_in_an_undecodable_byte_stay_apart():
    assert names.unique_names([b"kim\xff", b"kim\\xff", b"kim\xfe"]) == {
        "kim\\xfe": b"kim\xfe",
        "kim\\xff": b"kim\\xff",  # a backslash in the real name
        "kim\\xff (2)": b"kim\xff",
    }


def test_names_one_file_system_would_store_as_one_file_stay_apart():
    nfd = unicodedata.normalize("NFD", KIM).encode()  # a zip made on a Mac
    assert names.unique_names([b"Kim", b"kim", KIM_UTF8, nfd]) == {
        "Kim": b"Kim",
        "kim (2)": b"kim",
        unicodedata.normalize("NFD", KIM): nfd,  # its bytes sort first (0xE1 before 0xEA)
        f"{KIM} (2)": KIM_UTF8,
    }


def test_a_numbered_name_is_never_taken_from_the_folder_that_has_it():
    assert names.unique_names([b"X", b"x", b"x (2)"]) == {"X": b"X", "x (2)": b"x (2)", "x (3)": b"x"}


def test_long_names_that_agree_until_the_cut_stay_apart():
    long = ("가" * 300).encode()
    named = names.unique_names([long + b"1", long + b"2"])
    assert sorted(name.endswith("… (2)") for name in named) == [False, True]
    for name in named:
        assert_safe_file_name(name)


def test_any_bytes_get_distinct_safe_names_in_a_fixed_order():
    pieces = [b"a", b"A", b".", b" (2)", b"\\xff", b"\xff", b"\n", b"\xe2\x80\xae", KIM_CP949, KIM_UTF8, b"\xea"]
    generator = random.Random(7)
    raws = {b"".join(generator.choices(pieces, k=generator.randint(1, 4))) for _ in range(400)}
    raws.add(b"\xff" * 250)
    named = names.unique_names(raws)
    assert sorted(named.values()) == sorted(raws)
    assert len({names._same(name) for name in named}) == len(raws)
    for name in named:
        assert_safe_file_name(name)
    shuffled = list(raws)
    generator.shuffle(shuffled)
    assert list(names.unique_names(shuffled).items()) == list(named.items())


def test_students_are_listed_by_bytes_and_opened_by_their_real_bytes(tmp_path):
    folder = os.fsencode(tmp_path / "class")
    os.mkdir(folder)
    for raw in [KIM_CP949, KIM_UTF8, b"kim\xff", b"__pycache__", b".git", b".ipynb_checkpoints", b"results"]:
        os.mkdir(os.path.join(folder, raw))
    open(os.path.join(folder, b"notes.txt"), "w").close()
    os.symlink(os.path.join(folder, KIM_UTF8), os.path.join(folder, b"link"))
    os.symlink(os.path.join(folder, b"gone"), os.path.join(folder, b"broken"))
    roster = classroom.students(tmp_path / "class", skip=(tmp_path / "class" / "results",))
    assert [name for name, _ in roster] == ["kim\\xff", "link", KIM, f"{KIM} (2)"]
    for (_, path), raw in zip(roster, [b"kim\xff", b"link", KIM_CP949, KIM_UTF8]):
        assert os.fsencode(path.parent) == os.path.join(folder, raw) and path.name == "quiz_search.py"
        assert path.parent.is_dir()


def test_grades_csv_reads_back_what_was_written_and_guards_formulas(tmp_path):
    students = ["=HYPERLINK(1)", "'=already quoted", "'plain", "-1", "a,b", 'say "hi"', KIM, "kim\\xff"]
    rows = [{"student": s, "score": 3, "max_score": 12, "seconds": 1.5, "status": "ok"} for s in students]
    rows.append(classroom.not_graded("late"))
    path = tmp_path / "results" / "grades.csv"
    report.write_grades(rows, path)
    assert os.listdir(path.parent) == ["grades.csv"]  # written atomically: no temporary file left
    cells = [row[0] for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8")))][1:]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert len(set(cells)) == len(cells)
    read = report.read_grades(path)
    assert list(read) == [*students, "late"]
    # the rows as written, then an empty cell for each check the rows did not give
    assert [list(row.values())[: len(rows[0])] for row in read.values()] == [
        [str(v) for v in row.values()][: len(rows[0])] for row in rows
    ]
    report.write_grades(list(read.values()), tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_reading_grades_csv_that_is_missing_or_foreign(tmp_path):
    assert report.read_grades(tmp_path / "none.csv") == {}
    (tmp_path / "other.csv").write_text("name,points\nkim,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a grades.csv"):
        report.read_grades(tmp_path / "other.csv")


@pytest.mark.parametrize("case", ["foreign grades.csv", "a file"])
def test_only_failed_refuses_what_it_cannot_use_before_grading(tmp_path, capfd, case):
    from autograder.__main__ import main

    (tmp_path / "class" / "kim").mkdir(parents=True)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "grades.csv").write_text("name,points\n", encoding="utf-8")
    submission = tmp_path / "class" if case == "foreign grades.csv" else REPO_ROOT / "solutions" / "quiz_search.py"
    assert main([str(submission), "--results", str(tmp_path / "results"), "--only-failed"]) == 2
    assert "--only-failed" in capfd.readouterr().err


# The real class: one folder per way a name can be stored, each with a different submission, so that each result
# shows which folder was opened. Only the solution runs a child; the others are refused before anything runs.
SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_bytes()
FAILING = "이영희"  # the grader is made to fail on this student, the first time only
CLASS = {
    KIM_CP949: (KIM, SOLUTION),
    KIM_UTF8: (f"{KIM} (2)", b""),
    b"kim\\xff": ("kim\\xff", b"\x7fELF\x00\x01"),
    b"kim\xff": ("kim\\xff (2)", None),
    FAILING.encode(): (FAILING, b""),
}
LATE = "박민수"  # hands in after the first run: no row yet


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class graded by `python -m autograder` (in this process, to make the grader fail on one student),
    then graded again with --only-failed after a late student's folder appeared."""
    from autograder import __main__ as cli
    from autograder import session
    from autograder.reference import compute_reference

    root = tmp_path_factory.mktemp("names")
    class_dir, results = root / "class", root / "results"
    for raw, (_, content) in CLASS.items():
        os.makedirs(os.path.join(os.fsencode(class_dir), raw))
        if content is not None:
            with open(os.path.join(os.fsencode(class_dir), raw, b"quiz_search.py"), "wb") as file:
                file.write(content)
    ref = compute_reference(config.GRADING_MODEL)
    real_grade_student = classroom.grade_student
    graded, failing = [], {FAILING.encode()}

    def grade_student(path, *args):
        graded.append(os.fsencode(path.parent.name))
        if graded[-1] in failing:
            raise RuntimeError("the grader broke on purpose")
        return real_grade_student(path, *args)

    command = [str(class_dir), "--results", str(results), "--timeout", "120"]
    with pytest.MonkeyPatch.context() as patch:
        # Both runs share one reference (seconds saved); were the session to get it otherwise, each computes its own.
        patch.setattr(session, "compute_reference", lambda model: ref, raising=False)
        patch.setattr(classroom, "grade_student", grade_student)
        first = cli.main(command)
        first_files = {path.name: path.read_bytes() for path in results.iterdir()}
        graded_first, graded[:] = list(graded), []
        failing.clear()
        (class_dir / LATE).mkdir()
        again = cli.main([*command, "--only-failed"])
    return {"results": results, "exits": (first, again), "first": first_files, "graded": (graded_first, graded)}


def rows_of(text: bytes) -> dict[str, dict]:
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text.decode("utf-8")))}


def first_result(graded_class, name: str) -> dict:
    return json.loads(graded_class["first"][f"{name}.json"])


@pytest.mark.slow
def test_every_folder_is_graded_with_its_own_row_and_result_file(graded_class):
    assert graded_class["exits"] == (0, 0)
    shown = [name for name, _ in CLASS.values()]
    assert sorted(graded_class["graded"][0]) == sorted(CLASS)
    assert list(rows_of(graded_class["first"]["grades.csv"])) == sorted(shown)
    assert sorted(graded_class["first"]) == sorted(["grades.csv", "grader-errors.log", *(f"{n}.json" for n in shown)])


@pytest.mark.slow
def test_each_folder_is_opened_by_its_own_bytes(graded_class):
    """Each result is its own folder's: the solution in the CP949 folder, and what each other folder holds."""
    assert first_result(graded_class, KIM)["score"] == config.MAX_SCORE  # as the solution scores alone
    said = {name: first_result(graded_class, name)["tests"][0]["output"] for name in ["kim\\xff", "kim\\xff (2)"]}
    assert "비어 있습니다" in first_result(graded_class, f"{KIM} (2)")["tests"][0]["output"]
    assert "바이너리" in said["kim\\xff"] and "quiz_search.py이(가) 없습니다" in said["kim\\xff (2)"]


@pytest.mark.slow
def test_the_grader_failing_on_one_student_of_a_real_class_costs_that_student_only(graded_class):
    rows = rows_of(graded_class["first"]["grades.csv"])
    assert rows[FAILING]["status"] == "grader error" and rows[FAILING]["score"] == "0"
    assert [name for name, row in rows.items() if row["status"] == "grader error"] == [FAILING]
    data = first_result(graded_class, FAILING)
    assert data["score"] == 0 and data["max_score"] == config.MAX_SCORE
    for test in data["tests"]:
        assert test["score"] == 0 and "채점기" in test["output"] and "교수자나 조교" in test["output"]
    log = graded_class["first"]["grader-errors.log"].decode("utf-8")
    assert re.match(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d {FAILING}: the grader failed", log)
    assert "Traceback" in log and "RuntimeError: the grader broke on purpose" in log


@pytest.mark.slow
def test_only_failed_grades_the_failed_and_the_new_and_keeps_the_rest(graded_class):
    results = graded_class["results"]
    assert sorted(graded_class["graded"][1]) == sorted([FAILING.encode(), LATE.encode()])
    before = graded_class["first"]["grades.csv"].decode("utf-8").splitlines()
    after = (results / "grades.csv").read_text(encoding="utf-8").splitlines()
    kept = [line for line in before if not line.startswith((FAILING, LATE))]
    assert [line for line in after if not line.startswith((FAILING, LATE))] == kept
    rows = rows_of((results / "grades.csv").read_bytes())
    assert rows[FAILING]["status"] == "refused" and rows[LATE]["status"] == "no file"
    changed = {name for name, data in graded_class["first"].items() if (results / name).read_bytes() != data}
    assert changed == {"grades.csv", f"{FAILING}.json"}
    assert (results / f"{LATE}.json").exists()
