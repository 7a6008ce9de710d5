"""Grading a class as an instructor watches it: the progress bar, and Ctrl-C in the middle."""

import csv
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow

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
    assert list(rows) == ["a_first"] and rows["a_first"]["status"] == "ok"
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


def test_ctrl_c_while_a_child_starts_stops_that_child_too(monkeypatch):
    from autograder import runner
    from mmembed.paths import MINI_DIR

    monkeypatch.setattr(runner, "stopping", _CtrlCAfterTheFirstLook())
    staged = runner.stage("import time\ntime.sleep(600)\n")
    try:
        run = runner.run_child(staged, {"steps": []}, {}, MINI_DIR, timeout=60, memory_gb=6, sandboxed=False)
    finally:
        runner.remove(staged)
    assert run.status != "timeout" and run.seconds < 30, run


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
