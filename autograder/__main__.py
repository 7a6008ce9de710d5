"""python -m autograder [COMMAND] ...: the grader's one command line (`python -m autograder COMMAND --help`).

    python -m autograder [grade] SUBMISSION [options]   grade one quiz_search.py, or a class of <student>/quiz_search.py
    python -m autograder gradescope ...                 the Gradescope bundle: build it, check it, what it runs there
    python -m autograder export ...                     the class's grades as an import file for Canvas or Moodle
    python -m autograder summary RESULTS/|gradebook.db  how the class did, check by check
    python -m autograder ci results.json [CHECK]        one check's verdict (or the score) for a CI system

`grade` is the default: a first argument that names no command is the submission (a submission folder that
happens to be called like a command: `python -m autograder grade export`). Last term's `python -m autograder.ci`
and `python -m autograder.gradescope` still work until the end of the 2027 spring term, with a note on stderr
(old_entries.py).

grade's exit code: 0 whatever the scores; 2 when the grader itself cannot run (no such path, no model, no sandbox
with --require-sandbox, ...); 130 after Ctrl-C (what was graded is kept).
"""

import argparse
import faulthandler
import signal
import sys
import time
from pathlib import Path

from . import ci, classroom, config, export, gradescope, report, summary
from .grade import grade_submission
from .sandbox import cores
from .session import SessionError, open_session

# name -> the module that defines it: add_arguments(parser) and command(args) -> exit code
COMMANDS = {"gradescope": gradescope, "export": export, "summary": summary, "ci": ci}
DEFAULT_COMMAND = "grade"


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submission", type=Path, help="quiz_search.py, or a folder of <student>/quiz_search.py")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results file (one submission; default results.json) or folder (a class; default results/)",
    )
    parser.add_argument(
        "--model",
        default=config.GRADING_MODEL,
        help=f"grading model (default {config.GRADING_MODEL}: mmembed/grading.py, or MMEMBED_GRADING_MODEL)",
    )
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m autograder",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="name", metavar="COMMAND")
    grade = commands.add_parser(DEFAULT_COMMAND, help="grade quiz_search.py (quizzes 3-6): a file or a class (default)")
    add_grade_arguments(grade)
    grade.set_defaults(handler=command)
    for name, module in COMMANDS.items():
        first_line = module.__doc__.strip().splitlines()[0]
        sub = commands.add_parser(name, help=first_line, description=first_line)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.command)
    return top


def parse_args(argv: list[str]) -> argparse.Namespace:
    """`grade` goes in front of arguments that name no command (the submission, or grade's options)."""
    if not argv or argv[0] not in [DEFAULT_COMMAND, *COMMANDS, "-h", "--help"]:
        argv = [DEFAULT_COMMAND, *argv]
    return parser().parse_args(argv)


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
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    return args.handler(args)


def command(args: argparse.Namespace) -> int:
    """`grade`: one submission into a results file, or a class into a results folder."""
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
