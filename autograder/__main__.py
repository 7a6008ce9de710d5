"""python -m autograder SUBMISSION [options]: grade one quiz_search.py, or a class folder of <student>/quiz_search.py.
python -m autograder gradescope --output autograder.zip: build the Gradescope autograder bundle.

Exit code 0 whatever the scores; 2 when the grader itself cannot run (no such path, no model, no sandbox with
--require-sandbox, ...); 130 after Ctrl-C (what was graded is kept).
"""

import argparse
import faulthandler
import signal
import sys
import time
from pathlib import Path

from . import classroom, config, report
from .grade import grade_submission
from .sandbox import cores
from .session import SessionError, open_session


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
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per step: CPU time per core given, with cgroups; wall clock without (default: from the "
        "reference run here)",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=config.DEFAULT_MEMORY_GB,
        help=f"memory one student's processes may hold, shared memory and tmpfs included (cgroups; default "
        f"{config.DEFAULT_MEMORY_GB:g})",
    )
    parser.add_argument(
        "--jobs", type=int, default=cores.available_cores(), help="students graded at once (default: cores)"
    )
    parser.add_argument("--require-sandbox", action="store_true", help="refuse to grade without the bubblewrap sandbox")
    parser.add_argument(
        "--require-limits", action="store_true", help="refuse to grade without a cgroup per student (root, Linux)"
    )
    parser.add_argument("--junit", type=Path, default=None, help="also write JUnit XML (one test case per check)")
    parser.add_argument(
        "--only-failed",
        action="store_true",
        help="a class: grade again only the students whose row in RESULTS/grades.csv says "
        f"{', '.join(sorted(classroom.REGRADED))}, or who have none; keep the other rows and result files",
    )
    return parser.parse_args(argv)


def earlier_grades(args) -> dict[str, dict] | None:
    """--only-failed: the rows of the class's grades.csv ({} if it has none). None, said why, when it cannot be."""
    if not args.submission.is_dir():
        print("[autograder] --only-failed is for a class folder", file=sys.stderr)
        return None
    path = (args.results or Path("results")) / classroom.GRADES
    try:
        return report.read_grades(path)
    except (OSError, ValueError) as error:
        print(f"[autograder] --only-failed cannot read {path}: {error}", file=sys.stderr)
        return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gradescope"]:
        from .gradescope import main as gradescope_main

        return gradescope_main(argv[1:])
    if argv[:1] == ["export"]:
        from .export import main as export_main

        return export_main(argv[1:])
    if argv[:1] == ["summary"]:
        from .summary import main as summary_main

        return summary_main(argv[1:])
    args = parse_args(argv)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <grader>` prints where every thread is, for a grader that seems stuck
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    if not args.submission.exists() and not args.submission.is_symlink():
        print(f"[autograder] no such file or folder: {args.submission}", file=sys.stderr)
        return 2
    earlier = earlier_grades(args) if args.only_failed else {}
    if earlier is None:
        return 2
    try:
        session = open_session(args.model, args.timeout, args.memory_gb, args.require_sandbox, args.require_limits)
    except SessionError as error:
        print(f"[autograder] {error}", file=sys.stderr)
        return 2
    ref, limits, sandboxed, note = session.ref, session.limits, session.sandboxed, session.note

    if not args.submission.is_dir():
        graded = grade_submission(args.submission, ref, limits, sandboxed)
        data = report.results(graded, ref.secrets, note)
        report.write_results(data, args.results or Path("results.json"))
        if args.junit:
            report.write_atomically(args.junit, report.junit(data))
        for line in graded.log:
            print(f"[autograder] {line}", file=sys.stderr)
        print(f"{args.submission}: {data['score']}/{data['max_score']} ({graded.status}, {graded.seconds:.1f} s)")
        return 0

    out = args.results or Path("results")
    started = time.monotonic()
    rows, finished = classroom.grade_class(args.submission, out, ref, limits, args.jobs, sandboxed, note, earlier)
    seconds = time.monotonic() - started
    print(f"{len(rows)} submissions in {seconds:.0f} s (time limit {limits.timeout:g} s per step) -> {out}/")
    errors = sum(row["status"] == "grader error" for row in rows)
    if errors:
        print(f"[autograder] {errors} grader error(s), tracebacks in {out / classroom.ERROR_LOG}; then --only-failed")
    if not finished:
        print("[autograder] stopped by Ctrl-C: the students above are graded and kept; --only-failed grades the rest")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
