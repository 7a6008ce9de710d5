"""How a class did check by check (python -m autograder summary): from quiz_search.py's grades.csv, and from the
notebook quizzes' nbgrader gradebook, made here with nbgrader's own Gradebook API (no notebook is run, ~5 s:
importing nbgrader is most of it). The commands run in this process, through python -m autograder's main()."""

import csv
import warnings

import pytest

from autograder import classroom, config, report, summary
from autograder.__main__ import main as autograder_main
from autograder.checks import failed, passed
from autograder.grade import Graded, all_failed


def row(student, passing, status="ok"):
    checks = [(passed if n in passing else failed)(n, "") for n in config.POINTS]
    return classroom.row_of(student, Graded(checks, status, 1.0), True)


@pytest.fixture
def results(tmp_path):
    """Four students graded (one of them timed out), one grader error and one not graded: four are counted."""
    rows = [
        row("a", set(config.POINTS)),
        row("b", {"load_images", "embed_images_shape"}),
        row("c", {"load_images"}),
        classroom.row_of("d", Graded(all_failed("시간 초과"), "timeout", 30.0), True),
        classroom.row_of("e", Graded(all_failed(classroom.GRADER_ERROR), "grader error", 1.0), True),
        classroom.not_graded("f"),
    ]
    report.write_grades(rows, tmp_path / "results" / "grades.csv")
    return tmp_path / "results"


def alembic_head() -> str:
    """The revision nbgrader stamps a new gradebook with, read in this process (nbgrader runs `alembic heads`)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """nbgrader's gradebook.db: quiz1 with an autograded test worth 2, one worth 1 and a manually graded answer;
    three students submitted, one did not; the answer of one submission is still waiting for a grader."""
    from nbgrader import api
    from sqlalchemy.exc import SAWarning

    path = tmp_path_factory.mktemp("course") / "gradebook.db"
    scores = {"kim": (2, 1, 1), "lee": (2, 0, None), "park": (0, 0, 0)}
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.setattr(api, "get_alembic_version", alembic_head)  # the same stamp, without a process (seconds)
        warnings.simplefilter("ignore", category=SAWarning)  # from nbgrader's own add_submission
        with api.Gradebook(f"sqlite:///{path}") as book:
            book.add_assignment("quiz1")
            book.add_notebook("quiz1", "quiz1")
            book.add_grade_cell("test_shape", "quiz1", "quiz1", max_score=2, cell_type="code")
            book.add_grade_cell("test_values", "quiz1", "quiz1", max_score=1, cell_type="code")
            book.add_grade_cell("answer_why", "quiz1", "quiz1", max_score=1, cell_type="markdown")
            for student in [*scores, "absent"]:
                book.add_student(student)
            for student, (shape, values, why) in scores.items():
                book.add_submission("quiz1", student)
                for cell, score in [("test_shape", shape), ("test_values", values)]:
                    grade = book.find_grade(cell, "quiz1", "quiz1", student)
                    grade.auto_score, grade.needs_manual_grade = score, False
                grade = book.find_grade("answer_why", "quiz1", "quiz1", student)
                grade.manual_score, grade.needs_manual_grade = why, why is None
            book.db.commit()
    return path


def test_rates_from_grades_csv(results):
    rates = {rate.name: rate for rate in summary.from_grades(results / "grades.csv")}
    assert list(rates) == list(config.POINTS)
    assert (rates["load_images"].graded, rates["load_images"].passed) == (4, 3)
    assert (rates["embed_images_shape"].passed, rates["main_output"].passed) == (2, 1)
    assert rates["load_images"].percent == 75.0 and rates["load_images"].title == config.TITLES["load_images"]


def test_rates_from_an_nbgrader_gradebook(gradebook):
    rates = {rate.name: rate for rate in summary.from_gradebook(gradebook)}
    assert list(rates) == ["quiz1/quiz1/test_shape", "quiz1/quiz1/test_values", "quiz1/quiz1/answer_why"]
    counted = {name: (rate.graded, rate.passed, rate.points) for name, rate in rates.items()}
    assert counted == {
        "quiz1/quiz1/test_shape": (3, 2, 2),  # "absent" has no submission: not counted
        "quiz1/quiz1/test_values": (3, 1, 1),
        "quiz1/quiz1/answer_why": (2, 1, 1),  # lee's answer waits for a manual grade
    }
    with pytest.raises(ValueError, match="no assignment 'quiz9'"):
        summary.from_gradebook(gradebook, "quiz9")


def test_the_chart_draws_every_korean_label(results):
    """No tofu: matplotlib warns about every glyph its font lacks ("Glyph 54617 ... missing from font(s)")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = summary.chart(summary.from_grades(results / "grades.csv"), "quiz_search.py 검사별 통과율 (학생 4명)")
    assert not [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    from matplotlib import rcParams

    assert rcParams["font.family"][0] == "NanumGothic"


@pytest.mark.parametrize("source", ["results", "gradebook"])
def test_summary_command_writes_table_markdown_and_png(source, request, capsys):
    path = request.getfixturevalue(source)
    assert autograder_main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    prefix = path / "summary" if source == "results" else path.parent / "summary-nbgrader"
    with open(f"{prefix}.csv", newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == ["check", "title", "points", "graded", "passed", "pass_rate_percent"]
    if source == "results":
        assert table[1] == ["load_images", config.TITLES["load_images"], "2", "4", "3", "75.0"]
        assert "| 퀴즈 3 load_images: 사진 200장, val_0..val_199 순서, RGB | 2 | 4 | 3 | 75.0% |" in out
    else:
        assert table[1] == ["quiz1/quiz1/test_shape", "quiz1 quiz1: test_shape", "2", "3", "2", "66.7"]
        assert "| quiz1 quiz1: answer_why | 1 | 2 | 1 | 50.0% |" in out
    assert open(f"{prefix}.md", encoding="utf-8").read().startswith("# ")
    assert open(f"{prefix}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_summary_of_something_else_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert autograder_main(["summary", str(tmp_path / "notes.txt")]) == 2
    assert "neither a results folder nor an nbgrader gradebook.db" in capsys.readouterr().err
