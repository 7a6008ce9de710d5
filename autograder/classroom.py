"""Grading a whole class: `<class>/<student>/quiz_search.py`, several students at a time.

Each student's grading is its own child processes, so a crash, hang or memory blow-up costs that student only.
Students are graded `jobs` at a time (threads that wait on the children), each child with its share of the cores.
Results are written as each student finishes; Ctrl-C stops the children and keeps what was already graded.
"""

import os
import stat
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from . import report, runner
from .grade import Graded, Limits, all_failed, grade_submission
from .reference import Reference

NOT_STUDENTS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def students(folder: Path, skip: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """(student, their quiz_search.py) for every real folder in `folder`, by name. A folder that is a link is a
    student too (graded as "refused": it could point at someone else's work); `skip` is e.g. the results folder."""
    found = []
    skip = {path.resolve() for path in skip}
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.name in NOT_STUDENTS or Path(entry.path).resolve() in skip:
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and entry.is_dir()):
            found.append((entry.name, Path(entry.path) / "quiz_search.py"))
    return found


def grade_student(path: Path, ref: Reference, limits: Limits, sandboxed: bool) -> Graded:
    if path.parent.is_symlink():
        message = "제출 폴더가 링크(symlink)입니다. 폴더 자체를 제출하세요. 0점입니다."
        return Graded(all_failed(message), "refused", 0.0)
    return grade_submission(path, ref, limits, sandboxed)


def stop_until_done(futures: list[Future], every: float = 0.5) -> None:
    """After Ctrl-C: kill every running child, again and again, until each student's thread has returned.
    run_child already refuses to start, or kills, a child once `stopping` is set; repeating the kill is the
    second guard, so no timing of a child's start can make the grader wait out a time limit."""
    runner.stop_all()
    # Not concurrent.futures.wait: it never counts a future that shutdown(cancel_futures=True) cancelled as done.
    while not all(future.done() for future in futures):
        time.sleep(every)
        runner.stop_all()


def grade_class(
    folder: Path, out: Path, ref: Reference, limits: Limits, jobs: int, sandboxed: bool, note: str = ""
) -> tuple[list[dict], bool]:
    """Grade every student into out/<student>.json and out/grades.csv. Returns (rows, finished)."""
    roster = students(folder, skip=(out,))
    limits.threads = max(1, cores() // max(1, jobs))
    rows, lock, finished = {}, threading.Lock(), True

    def one(student: str, path: Path) -> dict | None:
        graded = grade_student(path, ref, limits, sandboxed)
        status = "no sandbox" if graded.status == "ok" and not sandboxed else graded.status
        if runner.stopping.is_set():  # Ctrl-C came while this student ran: its result is not trusted
            return None
        report.write_results(report.results(graded, ref.secrets, note), out / f"{student}.json")
        for line in graded.log:
            tqdm.write(f"[autograder] {student}: {line}")
        max_score = sum(check.max_score for check in graded.checks)
        row = {"student": student, "score": graded.score, "max_score": max_score, "seconds": round(graded.seconds, 1)}
        row["status"] = status
        with lock:
            rows[student] = row
        return row

    with tqdm(total=len(roster), desc="Grading", unit="student") as progress:
        executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
        futures = []
        try:
            for student, path in roster:
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
    ordered = [rows[student] for student, _ in roster if student in rows]
    report.write_grades(ordered, out / "grades.csv")
    return ordered, finished
