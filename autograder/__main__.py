"""python -m autograder SUBMISSION [options]: grade one quiz_search.py, or a class folder of <student>/quiz_search.py.
python -m autograder gradescope --output autograder.zip: build the Gradescope autograder bundle.

Exit code 0 whatever the scores; 2 when the grader itself cannot run (no such path, no model, no sandbox with
--require-sandbox, ...); 130 after Ctrl-C (what was graded is kept).
"""

import argparse
import sys
import time
from pathlib import Path

from . import bubblewrap, classroom, config, report
from .grade import Limits, grade_submission
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
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per child process (default: from the reference run here)"
    )
    parser.add_argument(
        "--memory-gb", type=float, default=config.DEFAULT_MEMORY_GB, help="address-space limit of a child"
    )
    parser.add_argument("--jobs", type=int, default=classroom.cores(), help="students graded at once (default: cores)")
    parser.add_argument("--require-sandbox", action="store_true", help="refuse to grade without the bubblewrap sandbox")
    parser.add_argument("--junit", type=Path, default=None, help="also write JUnit XML (one test case per check)")
    return parser.parse_args(argv)


def choose_sandbox(required: bool) -> bool | None:
    """True with the sandbox, False for the fallback (said in one line), None when it is required and missing."""
    sandbox = bubblewrap.status()
    if sandbox.available:
        print("[autograder] sandbox: bubblewrap (read-only files, no network, private /tmp, own PID namespace)")
        return True
    if required:
        print(f"[autograder] --require-sandbox: no sandbox here ({sandbox.reason}); not grading", file=sys.stderr)
        return None
    print(
        f"[autograder] NO SANDBOX ({sandbox.reason}): falling back to separate processes with limits"
        " (student code can read this machine's files and use the network; see README, 'Autograder limits')",
        file=sys.stderr,
    )
    return False


def limits_for(args, ref) -> Limits:
    """The time limit: --timeout, or max(30 s, 10 × the reference pipeline measured on this machine)."""
    if args.timeout is not None:
        return Limits(args.timeout, args.memory_gb, timeout_reason="(채점자가 --timeout으로 정한 값입니다.)")
    timeout = max(config.MIN_TIMEOUT, config.TIMEOUT_FACTOR * ref.seconds)
    reason = (
        f"(기준 풀이가 이 컴퓨터에서 {ref.seconds:.1f}초 걸렸습니다. 제한은 그 {config.TIMEOUT_FACTOR}배와 "
        f"{config.MIN_TIMEOUT}초 중 큰 값입니다. 무한 루프나 너무 느린 코드가 없는지 확인하세요.)"
    )
    return Limits(round(timeout), args.memory_gb, timeout_reason=reason)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gradescope"]:
        from .gradescope import main as gradescope_main

        return gradescope_main(argv[1:])
    args = parse_args(argv)
    if not args.submission.exists() and not args.submission.is_symlink():
        print(f"[autograder] no such file or folder: {args.submission}", file=sys.stderr)
        return 2
    sandboxed = choose_sandbox(args.require_sandbox)
    if sandboxed is None:
        return 2
    try:
        ref = compute_reference(args.model)
    except Exception as error:
        print(f"[autograder] cannot compute the reference with model {args.model!r}: {error}", file=sys.stderr)
        return 2
    limits = limits_for(args, ref)
    note = "" if sandboxed else "샌드박스 없이 채점했습니다 (채점 환경에 bubblewrap이 없음)."

    if not args.submission.is_dir():
        limits.threads = classroom.cores()
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
    rows, finished = classroom.grade_class(args.submission, out, ref, limits, args.jobs, sandboxed, note)
    seconds = time.monotonic() - started
    print(f"{len(rows)} submissions in {seconds:.0f} s (time limit {limits.timeout:g} s per child) -> {out}/")
    if not finished:
        print("[autograder] stopped by Ctrl-C: the students above are graded and kept; run again for the rest")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
