"""How a class did check by check: the share of students with full marks on each, as a table and a bar chart.

    python -m autograder summary RESULTS/                       quiz_search.py: from RESULTS/grades.csv
    python -m autograder summary gradebook.db [--assignment A]  the notebook quizzes: nbgrader's gradebook

A total says how each student did; this says what the class has not yet understood, which is what the next lecture
can fix. It prints the table and writes PREFIX.csv, PREFIX.md and PREFIX.png (Korean labels), PREFIX being
RESULTS/summary, or summary-nbgrader beside the gradebook, unless --output says otherwise.
A student counts for a check once graded: quiz_search rows "not graded" and "grader error", nbgrader students without
a submission and answers still waiting for a manual grade are left out (the table says how many were counted).
"""

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from mmembed.files import write_atomically as write_bytes_atomically

from . import config, report
from .export import NO_MARK


@dataclass
class Rate:
    name: str  # a check (a key of config.POINTS), or an nbgrader grade cell as assignment/notebook/cell
    title: str  # what the chart calls it
    points: float
    graded: int = 0  # students counted
    passed: int = 0  # of them, with full marks

    @property
    def percent(self) -> float:
        return 100 * self.passed / self.graded if self.graded else 0.0


def from_grades(path: Path) -> list[Rate]:
    """One Rate per check of quiz_search.py, from a grades.csv with per-check columns."""
    rates = [Rate(name, config.TITLES[name], points) for name, points in config.POINTS.items()]
    for row in report.read_grades(path).values():
        if row["status"] in NO_MARK:
            continue
        for rate in rates:
            if row.get(rate.name, "") != "":
                rate.graded += 1
                rate.passed += float(row[rate.name]) >= rate.points
    return rates


def from_gradebook(path: Path, assignment: str | None = None) -> list[Rate]:
    """One Rate per grade cell (autograder test or manually graded answer) of each assignment in nbgrader's
    gradebook.db, in the notebooks' order, read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    if not path.is_file():  # Gradebook would make an empty one
        raise ValueError(f"no gradebook at {path}")
    rates = {}
    with Gradebook(f"sqlite:///{path.resolve()}") as gradebook:
        for quiz in gradebook.assignments:
            if assignment not in (None, quiz.name):
                continue
            for notebook in quiz.notebooks:
                for cell in notebook.grade_cells:
                    name = f"{quiz.name}/{notebook.name}/{cell.name}"
                    rates[name] = Rate(name, f"{quiz.name} {notebook.name}: {cell.name}", cell.max_score)
            for submission in gradebook.assignment_submissions(quiz.name):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rate = rates[f"{quiz.name}/{notebook.name}/{grade.name}"]
                        if grade.needs_manual_grade and grade.manual_score is None:
                            continue  # not graded yet
                        rate.graded += 1
                        rate.passed += grade.score >= grade.max_score
    if assignment and not rates:
        raise ValueError(f"{path} has no assignment {assignment!r} with graded cells")
    return list(rates.values())


def table(rates: list[Rate]) -> list[list[str]]:
    rows = [["check", "title", "points", "graded", "passed", "pass_rate_percent"]]
    for rate in rates:
        rows.append([rate.name, rate.title, f"{rate.points:g}", rate.graded, rate.passed, f"{rate.percent:.1f}"])
    return [[report._cell(value) for value in row] for row in rows]


def markdown(rates: list[Rate]) -> str:
    lines = ["| 검사 | 배점 | 채점된 학생 | 만점 받은 학생 | 통과율 |", "| --- | ---: | ---: | ---: | ---: |"]
    for rate in rates:
        title = rate.title.replace("|", "\\|")
        lines.append(f"| {title} | {rate.points:g} | {rate.graded} | {rate.passed} | {rate.percent:.1f}% |")
    return "\n".join(lines) + "\n"


def chart(rates: list[Rate], heading: str) -> bytes:
    """A horizontal bar per check, the share with full marks, labelled in Korean (NanumGothic, as the lectures)."""
    import koreanize_matplotlib  # noqa: F401  (NanumGothic for every figure, and no minus sign it lacks)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 1.2 + 0.45 * len(rates)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = range(len(rates))[::-1]  # the first check on top
    bars = axes.barh(list(positions), [rate.percent for rate in rates], color="#4c72b0")
    axes.bar_label(bars, labels=[f"{rate.passed}/{rate.graded}명" for rate in rates], padding=3, fontsize=9)
    axes.set_yticks(list(positions), [rate.title for rate in rates], fontsize=9)
    axes.set_xlim(0, 110)
    axes.set_xticks(range(0, 101, 20), [f"{tick}%" for tick in range(0, 101, 20)])
    axes.set_xlabel("만점을 받은 학생의 비율 (채점된 학생 중)")
    axes.set_title(heading)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, help="a results folder with grades.csv, or nbgrader's gradebook.db")
    parser.add_argument("--assignment", default=None, help="nbgrader: only this assignment")
    parser.add_argument("--output", type=Path, default=None, help="PREFIX of PREFIX.csv, PREFIX.md, PREFIX.png")


def command(args: argparse.Namespace) -> int:
    try:
        if args.source.is_dir():
            rates, heading = from_grades(args.source / "grades.csv"), "quiz_search.py 검사별 통과율"
            prefix = args.output or args.source / "summary"
        elif args.source.suffix == ".db" and args.source.is_file():
            rates, heading = from_gradebook(args.source, args.assignment), "nbgrader 채점 셀별 통과율"
            prefix = args.output or args.source.parent / "summary-nbgrader"
        else:
            raise ValueError(f"{args.source} is neither a results folder nor an nbgrader gradebook.db")
    except (OSError, ValueError) as error:
        print(f"[autograder] summary: {error}", file=sys.stderr)
        return 2
    students = max((rate.graded for rate in rates), default=0)
    heading = f"{heading} (채점된 학생 {students}명)"
    text = io.StringIO()
    csv.writer(text).writerows(table(rates))
    report.write_atomically(prefix.with_name(prefix.name + ".csv"), text.getvalue())
    report.write_atomically(prefix.with_name(prefix.name + ".md"), f"# {heading}\n\n{markdown(rates)}")
    write_bytes_atomically(prefix.with_name(prefix.name + ".png"), chart(rates, heading))
    print(f"{heading}\n\n{markdown(rates)}\n-> {prefix}.csv, {prefix}.md, {prefix}.png")
    return 0
