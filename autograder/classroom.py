"""Grading a whole class: `<class>/<student>/quiz_search.py`, several students at a time.

Each student's grading is its own child processes, so a crash, hang or memory blow-up costs that student only. An
error in the grader itself while it grades one student costs that student only too: they get the status
"grader error" and 0 points with a message that says it was not their code, the traceback goes to the instructor's
OUT/grader-errors.log, and the class goes on.
Students are graded `jobs` at a time (threads that wait on the children), each child with its share of the cores.
Every student folder has its own name and its own row (autograder/names.py). grades.csv is rewritten atomically
after each student, the students not graded yet marked "not graded", so a grader stopped in any way leaves a
valid file; Ctrl-C stops the children and keeps what was already graded.
"""

import os
import stat
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from tqdm.auto import tqdm

from . import config, report, runner
from .grade import Graded, Limits, all_failed, grade_submission
from .names import unique_names
from .reference import Reference
from .sandbox.cores import available_cores

NOT_STUDENTS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}  # __MACOSX: what a Mac puts in a zip
GRADES = "grades.csv"
ERROR_LOG = "grader-errors.log"
REGRADED = {"grader error", "timeout", "not graded"}  # what --only-failed grades again (and students without a row)
GRADER_ERROR = (
    "채점기에 오류가 나서 이 제출물을 채점하지 못했습니다. 제출한 코드의 문제가 아닙니다. "
    "교수자나 조교에게 알려 주세요. 지금의 0점은 다시 채점하면 바뀝니다."
)

_log_lock = threading.Lock()


def students(folder: Path, skip: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """(student, their quiz_search.py) for every real folder in `folder`, by name. A folder that is a link is a
    student too (graded as "refused": it could point at someone else's work); `skip` is e.g. the results folder.

    Folders are listed as bytes and named by autograder/names.py. The path keeps the real bytes: os.fsdecode
    turns the bytes that do not decode into lone surrogates, which os.fsencode turns back when the file is opened.
    """
    skip = {os.path.realpath(os.fsencode(path)) for path in skip}
    not_students = {os.fsencode(name) for name in NOT_STUDENTS}
    found = []
    with os.scandir(os.fsencode(folder)) as entries:
        for entry in entries:
            if entry.name in not_students or os.path.realpath(entry.path) in skip:
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and entry.is_dir()):
                found.append(entry.name)
    return [(name, folder / os.fsdecode(raw) / "quiz_search.py") for name, raw in unique_names(found).items()]


def grade_student(path: Path, ref: Reference, limits: Limits, sandboxed: bool) -> Graded:
    if path.parent.is_symlink():
        message = "제출 폴더가 링크(symlink)입니다. 폴더 자체를 제출하세요. 0점입니다."
        return Graded(all_failed(message), "refused", 0.0)
    return grade_submission(path, ref, limits, sandboxed)


def stop_until_done(futures: list[Future], every: float = 0.5) -> None:
    """After Ctrl-C: kill every running child, again and again, until each student's thread has returned.
    The runner already refuses to start, or kills, a child once `stopping` is set; repeating the kill is the
    second guard, so no timing of a child's start can make the grader wait out a time limit."""
    runner.stop_all()
    # Not concurrent.futures.wait: it never counts a future that shutdown(cancel_futures=True) cancelled as done.
    while not all(future.done() for future in futures):
        time.sleep(every)
        runner.stop_all()


def row_of(student: str, graded: Graded, sandboxed: bool) -> dict:
    status = "no sandbox" if graded.status == "ok" and not sandboxed else graded.status
    max_score = sum(check.max_score for check in graded.checks)
    row = {"student": student, "score": graded.score, "max_score": max_score, "seconds": round(graded.seconds, 1)}
    return {**row, "status": status, **{check.name: check.score for check in graded.checks}}  # a column per check


def not_graded(student: str) -> dict:
    return {"student": student, "score": "", "max_score": config.MAX_SCORE, "seconds": "", "status": "not graded"}


def log_grader_error(out: Path, student: str, text: str) -> None:
    """Append to the instructor's log: when, which student, and the grader's traceback."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    with _log_lock, open(out / ERROR_LOG, "a", encoding="utf-8") as log:
        log.write(f"{stamp} {student}: the grader failed (not the student's code)\n{text.rstrip()}\n\n")


def grader_failed(student: str, out: Path, seconds: float, write: Callable[[str, Graded], None]) -> Graded:
    """What a student gets when grading them raised in the grader: logged, 0 points, a result file that says so."""
    graded = Graded(all_failed(GRADER_ERROR), "grader error", seconds)
    try:
        log_grader_error(out, student, traceback.format_exc())
        write(student, graded)
    except Exception:  # a full disk: the row still says "grader error"
        tqdm.write(f"[autograder] {student}: grader error, and it could not be recorded:\n{traceback.format_exc()}")
    return graded


def grade_class(
    folder: Path,
    out: Path,
    ref: Reference,
    limits: Limits,
    jobs: int,
    sandboxed: bool,
    note: str = "",
    earlier: dict[str, dict] | None = None,
) -> tuple[list[dict], bool]:
    """Grade every student into out/<student>.json and out/grades.csv. Returns (rows, finished): one row per
    student folder, by name. `earlier` is an earlier run's grades.csv (--only-failed): a student whose row there
    has a status outside REGRADED keeps that row and result file, and is not graded again."""
    earlier = earlier or {}
    roster = students(folder, skip=(out,))
    rows = {student: earlier.get(student) or not_graded(student) for student, _ in roster}
    todo = [(student, path) for student, path in roster if rows[student]["status"] in REGRADED]
    limits.threads = max(1, available_cores() // max(1, jobs))
    report.write_grades(list(rows.values()), out / GRADES)
    finished, lock = True, threading.Lock()

    def write(student: str, graded: Graded) -> None:
        report.write_results(report.results(graded, ref.secrets, note), out / f"{student}.json")

    def one(student: str, path: Path) -> dict | None:
        started = time.monotonic()
        try:
            graded = grade_student(path, ref, limits, sandboxed)
            if runner.stopping.is_set():  # Ctrl-C came while this student ran: its result is not trusted
                return None
            write(student, graded)
        except Exception:
            if runner.stopping.is_set():
                return None
            graded = grader_failed(student, out, time.monotonic() - started, write)
            tqdm.write(f"[autograder] {student}: grader error, the traceback is in {out / ERROR_LOG}")
        for line in graded.log:
            tqdm.write(f"[autograder] {student}: {line}")
        row = row_of(student, graded, sandboxed)
        with lock:  # before this thread takes the next student: grades.csv never lags behind a result file
            rows[student] = row
            report.write_grades(list(rows.values()), out / GRADES)
        return row

    with tqdm(total=len(todo), desc="Grading", unit="student") as progress:
        executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
        futures = []
        try:
            for student, path in todo:
                futures.append(executor.submit(one, student, path))
            for future in as_completed(futures):
                row = future.result()
                if row:
                    progress.set_postfix_str(f"{row['student']}: {row['score']}/{row['max_score']}", refresh=False)
                progress.update()
        except KeyboardInterrupt:
            finished = False
            executor.shutdown(wait=False, cancel_futures=True)
            stop_until_done(futures)
        finally:
            executor.shutdown(wait=True)
    return list(rows.values()), finished
