"""Grading a class as an instructor watches it: the progress bar, Ctrl-C in the middle, the grader failing on one
student, and grading again only the students who were not graded properly (--only-failed).

The loop's own rules are tested with a stand-in for grading one student (no child, no model: a second in all);
Ctrl-C is tested on the real grader.
"""

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from autograder import classroom, config, report
from autograder.grade import Graded, Limits, all_failed
from tests.helpers import REPO_ROOT

SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
MARKER = f"ctrl-c-{os.getpid()}"
SLOW = SOLUTION.replace(
    "import mmembed\n",
    "import mmembed\nimport subprocess, sys, time\n"
    f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {MARKER}'])\ntime.sleep(600)\n",
    1,
)


def as_from_a_terminal():
    """Ctrl-C as an instructor's shell delivers it. A pytest-xdist worker may have SIGINT ignored or blocked, and
    the grader would inherit that (CI: the grader's main thread never saw the signal)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.slow
def test_ctrl_c_stops_the_children_and_keeps_what_was_graded(tmp_path):
    students = {"a_first": SOLUTION, "b_slow": SLOW, "c_never_reached": SOLUTION}
    for name, text in students.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "quiz_search.py").write_text(text, encoding="utf-8")
    results = tmp_path / "results"
    command = [sys.executable, "-m", "autograder", str(tmp_path / "class"), "--results", str(results)]
    process = subprocess.Popen(
        [*command, "--jobs", "1", "--timeout", "600"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.monotonic() + 600
    while not (results / "a_first.json").exists() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # b_slow's child is running now
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # the grader prints every thread's stack (faulthandler)
        time.sleep(2)
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"the grader did not stop within 120 s of Ctrl-C; its threads:\n{stderr.decode()[-6000:]}")
    assert process.returncode == 130, stderr.decode()[-2000:]
    assert "stopped by Ctrl-C" in stdout.decode()
    assert "Grading" in stderr.decode()  # tqdm's bar: students done and left
    with open(results / "grades.csv", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert list(rows) == ["a_first", "b_slow", "c_never_reached"]  # one row per folder, graded or not
    assert rows["a_first"]["status"] == "ok" and rows["a_first"]["score"] == str(config.MAX_SCORE)
    for student in ["b_slow", "c_never_reached"]:
        assert rows[student]["status"] == "not graded" and rows[student]["score"] == "", rows[student]
    assert not (results / "b_slow.json").exists() and not (results / "c_never_reached.json").exists()
    sleeping = []
    for proc in os.listdir("/proc"):
        try:
            if proc.isdigit() and MARKER.encode() in open(f"/proc/{proc}/cmdline", "rb").read():
                sleeping.append(proc)
        except OSError:
            pass
    assert sleeping == []


class _CtrlCAfterTheFirstLook:
    """`runner.stopping` for a Ctrl-C that lands while a child starts: the look before Popen says "go on", every
    later look says "stopping", and stop_all has already run (it found no child to kill)."""

    def __init__(self):
        self.looks = 0

    def is_set(self):
        self.looks += 1
        return self.looks > 1


@pytest.mark.slow
def test_ctrl_c_while_a_child_starts_stops_that_child_too(monkeypatch):
    from autograder import runner
    from mmembed.paths import MINI_DIR

    monkeypatch.setattr(runner, "stopping", _CtrlCAfterTheFirstLook())
    staged = runner.stage("import time\ntime.sleep(600)\n")
    started = time.monotonic()
    server = runner.ForkServer(staged, MINI_DIR, threads=1, memory_gb=6, sandboxed=False)
    try:
        run = server.start(seconds=60)
    finally:
        server.release()
        runner.remove(staged)
    assert run.status != "timeout" and time.monotonic() - started < 30, run


@pytest.mark.slow
def test_after_ctrl_c_a_child_that_starts_late_is_killed_too(monkeypatch):
    """A student's thread that starts a child after the first stop_all (between two children) is not waited out."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from autograder import classroom, runner

    monkeypatch.setattr(runner, "stopping", threading.Event())

    def late_child():
        runner.stopping.wait()
        time.sleep(0.3)  # the first stop_all has looked by now
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        with runner._running_lock:
            runner._running.add(process)
        try:
            return process.wait(timeout=60)
        finally:
            with runner._running_lock:
                runner._running.discard(process)

    never_started = Future()
    never_started.cancel()  # a student still waiting when Ctrl-C came: shutdown cancels it, and it must count as done
    with ThreadPoolExecutor(1) as executor:
        future = executor.submit(late_child)
        classroom.stop_until_done([future, never_started], every=0.1)
    assert future.result() == -signal.SIGKILL


# The loop's own rules, with a stand-in for grading one student: folder name -> the status it is graded with, or
# an exception the grader raises on it.
REF = SimpleNamespace(secrets=["a hidden answer"])  # all that grade_class reads of the reference itself


def grade_with_stand_in(monkeypatch, outcomes: dict, during=None) -> list[str]:
    """classroom.grade_student replaced: each student gets the status `outcomes` gives (or its exception raised);
    `during(student)` runs while a student is graded. Returns the students graded, in order."""
    graded = []

    def grade_student(path, ref, limits, sandboxed):
        graded.append(path.parent.name)
        if during:
            during(path.parent.name)
        outcome = outcomes[path.parent.name]
        if isinstance(outcome, Exception):
            raise outcome
        return Graded(all_failed(f"{path.parent.name}: {outcome}"), outcome, 0.1)

    monkeypatch.setattr(classroom, "grade_student", grade_student)
    return graded


def make_class(folder, students) -> None:
    for student in students:
        (folder / student).mkdir(parents=True)


def grades(out) -> dict[str, dict]:
    return report.read_grades(out / "grades.csv")


def test_a_grader_error_costs_that_student_only(tmp_path, monkeypatch):
    outcomes = {"a": "ok", "b_breaks_the_grader": KeyError("a bug in the grader"), "c": "crashed"}
    make_class(tmp_path / "class", outcomes)
    graded = grade_with_stand_in(monkeypatch, outcomes)
    rows, finished = classroom.grade_class(tmp_path / "class", tmp_path / "out", REF, Limits(), 2, True)
    assert finished and sorted(graded) == sorted(outcomes)
    assert [(row["student"], row["status"]) for row in rows] == [
        ("a", "ok"),
        ("b_breaks_the_grader", "grader error"),
        ("c", "crashed"),
    ]
    assert grades(tmp_path / "out")["b_breaks_the_grader"]["score"] == "0"
    feedback = (tmp_path / "out" / "b_breaks_the_grader.json").read_text(encoding="utf-8")
    assert classroom.GRADER_ERROR in feedback and "KeyError" not in feedback  # the student is told, not shown
    log = (tmp_path / "out" / classroom.ERROR_LOG).read_text(encoding="utf-8")
    assert "b_breaks_the_grader: the grader failed" in log and "KeyError: 'a bug in the grader'" in log
    assert "Traceback" in log and " a:" not in log and " c:" not in log


def test_grades_csv_is_whole_after_each_student(tmp_path, monkeypatch):
    """A grader killed at any moment leaves a grades.csv with every student: graded, or "not graded" yet."""
    outcomes = {"a": "ok", "b": "timeout", "c": "ok"}
    make_class(tmp_path / "class", outcomes)
    seen = {}
    grade_with_stand_in(monkeypatch, outcomes, during=lambda student: seen.update({student: grades(tmp_path / "out")}))
    classroom.grade_class(tmp_path / "class", tmp_path / "out", REF, Limits(), 1, True)
    statuses = {student: {name: row["status"] for name, row in rows.items()} for student, rows in seen.items()}
    assert statuses == {
        "a": {"a": "not graded", "b": "not graded", "c": "not graded"},
        "b": {"a": "ok", "b": "not graded", "c": "not graded"},
        "c": {"a": "ok", "b": "timeout", "c": "not graded"},
    }
    assert sorted(os.listdir(tmp_path / "out")) == ["a.json", "b.json", "c.json", "grades.csv"]  # no temporary file


def test_only_failed_grades_again_exactly_the_students_not_graded_properly(tmp_path, monkeypatch):
    first = {
        "ok": "ok",
        "refused": "refused",
        "crashed": "crashed",
        "no_sandbox": "no sandbox",
        "timeout": "timeout",
        "grader_error": RuntimeError("a bug in the grader"),
        "not_graded": "ok",
        "gone": "ok",
    }
    make_class(tmp_path / "class", first)
    grade_with_stand_in(monkeypatch, first)
    classroom.grade_class(tmp_path / "class", tmp_path / "out", REF, Limits(), 1, True)
    earlier = grades(tmp_path / "out")
    earlier["not_graded"] = classroom.not_graded("not_graded")  # as Ctrl-C leaves it
    report.write_grades(list(earlier.values()), tmp_path / "out" / "grades.csv")
    lines = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "class" / "gone").rmdir()  # a folder taken out: its row goes too
    (tmp_path / "class" / "late").mkdir()  # handed in late: no row yet
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").glob("*.json")}

    again = {name: "ok" for name in [*first, "late"]}
    graded = grade_with_stand_in(monkeypatch, again)
    earlier = grades(tmp_path / "out")
    rows, _ = classroom.grade_class(tmp_path / "class", tmp_path / "out", REF, Limits(), 1, True, earlier=earlier)
    assert sorted(graded) == ["grader_error", "late", "not_graded", "timeout"]
    assert [row["student"] for row in rows] == sorted({*first, "late"} - {"gone"})
    kept = ("crashed,", "no_sandbox,", "ok,", "refused,")
    after_lines = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert [line for line in after_lines if line.startswith(kept)] == [line for line in lines if line.startswith(kept)]
    after = {path.name: path.read_bytes() for path in (tmp_path / "out").glob("*.json")}
    assert {name for name in before if after[name] != before[name]} == {"grader_error.json", "timeout.json"}
