"""Autograde a class of notebook submissions several students at a time, into one gradebook.

    python -m autograder.notebooks.parallel quiz_notebooks --jobs 2 [--config autograder/notebooks/nbgrader_config.py]

nbgrader's own way to grade one student is `nbgrader autograde ASSIGNMENT --student NAME`; this runs one such
command per student in `submitted/`, `jobs` at a time, all against the course's one gradebook.db (SQLite
serialises their short writes). First every submission goes through the same door as in nbgrader itself
(doors.py: regular files only). Each student's kernel starts in the sandbox (kernel_manager.py). Run it from the
course root, as `nbgrader` itself; the exit code is 1 if any student's run failed (its log is printed).
"""

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from ..sandbox.cores import available_cores
from . import doors

DEFAULT_CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"


def submitted_students(root: Path, assignment: str) -> list[str]:
    return sorted(path.parent.name for path in (root / "submitted").glob(f"*/{assignment}") if path.is_dir())


def autograde(student: str, assignment: str, config: Path, extra: list[str], root: Path):
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, *extra]
    command.append(f"--NbGrader.config_file={config}")
    return student, subprocess.run(command, cwd=root, capture_output=True, text=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.notebooks.parallel", description=__doc__.splitlines()[0]
    )
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=available_cores(), help="students at once (default: the cores)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="nbgrader config file")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course root (default: here)")
    parser.add_argument("--force", action="store_true", help="grade again students already graded")
    args = parser.parse_args(argv)

    for student, admission in doors.admit_students(
        args.root, args.assignment, "*", doors.SUBMITTED, doors.RELEASE
    ).items():
        if admission is not None and admission.refused:
            tqdm.write(f"[nbgrader] {student}: refused {admission.refused} (placeholders get 0 and a note)")
    students = submitted_students(args.root, args.assignment)
    if not students:
        print(f"no submissions in {args.root / 'submitted'}/*/{args.assignment}", file=sys.stderr)
        return 2
    extra = ["--force"] if args.force else []
    failed = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = [pool.submit(autograde, s, args.assignment, args.config.resolve(), extra, args.root) for s in students]
        for future in tqdm(as_completed(runs), total=len(runs), desc="Autograding", unit="student"):
            student, result = future.result()
            for line in result.stderr.splitlines():  # nbgrader's warnings: integrity checks, rechecks
                if "| WARNING]" in line or "| ERROR]" in line:
                    tqdm.write(f"[nbgrader] {student}: {line}")
            if result.returncode != 0:
                failed.append(student)
                tqdm.write(f"[nbgrader] {student}: exit {result.returncode}\n{result.stderr[-3000:]}")
    print(f"{len(students) - len(failed)} of {len(students)} students autograded into the course's gradebook")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
