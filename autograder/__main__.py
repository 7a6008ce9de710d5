"""python -m autograder SUBMISSION [--results PATH]: grade one quiz_search.py, or a folder of <student>/quiz_search.py.

Exit code 0 whatever the scores; 2 when the grader itself cannot run (no such path, no model, ...).
"""

import argparse
import sys
import time
from pathlib import Path

from . import config, report
from .grade import grade_submission
from .reference import compute_reference


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m autograder", description="quiz_search.py 채점기 (퀴즈 3-6)")
    parser.add_argument("submission", type=Path, help="quiz_search.py, or a folder of <student>/quiz_search.py")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results file (one submission; default results.json) or folder (a class; default results/)",
    )
    parser.add_argument("--model", default=config.DEFAULT_MODEL, help=f"grading model (default {config.DEFAULT_MODEL})")
    parser.add_argument("--timeout", type=float, default=config.DEFAULT_TIMEOUT, help="seconds per child process")
    parser.add_argument(
        "--memory-gb", type=float, default=config.DEFAULT_MEMORY_GB, help="address-space limit of a child"
    )
    return parser.parse_args(argv)


def students(folder: Path) -> list[tuple[str, Path]]:
    return [(path.name, path / "quiz_search.py") for path in sorted(folder.iterdir()) if path.is_dir()]


def grade_one(path: Path, ref, args) -> dict:
    if not path.is_file():
        return report.failed_results(f"제출물에 quiz_search.py가 없습니다: {path.name}")
    try:
        checks = grade_submission(path, ref, timeout=args.timeout, memory_gb=args.memory_gb)
    except Exception as error:  # a grader bug must not stop the batch; the instructor sees it on stderr
        print(f"[autograder] error while grading {path}: {error!r}", file=sys.stderr)
        return report.failed_results("채점기 오류로 채점하지 못했습니다. 조교에게 알려 주세요.")
    return report.results(checks, ref.secrets)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.submission.exists():
        print(f"[autograder] no such file or folder: {args.submission}", file=sys.stderr)
        return 2
    try:
        ref = compute_reference(args.model)
    except Exception as error:
        print(f"[autograder] cannot compute the reference with model {args.model!r}: {error}", file=sys.stderr)
        return 2

    if args.submission.is_file():
        started = time.monotonic()
        data = grade_one(args.submission, ref, args)
        report.write_results(data, args.results or Path("results.json"))
        print(f"{args.submission}: {data['score']}/{data['max_score']} ({time.monotonic() - started:.1f} s)")
        return 0

    out = args.results or Path("results")
    rows = []
    for name, path in students(args.submission):
        started = time.monotonic()
        data = grade_one(path, ref, args)
        report.write_results(data, out / f"{name}.json")
        rows.append((name, data["score"], data["max_score"]))
        print(f"{name}: {data['score']}/{data['max_score']} ({time.monotonic() - started:.1f} s)", flush=True)
    report.write_grades(rows, out / "grades.csv")
    print(f"{len(rows)} submissions -> {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
