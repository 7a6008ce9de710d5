"""One check's verdict from results.json, for CI systems that score one command at a time (GitHub Classroom).

    python -m autograder ci results.json CHECK    exit 0 when CHECK has full marks; prints its feedback
    python -m autograder ci results.json          prints "Score: S/M (P%)" (GitLab reads the percentage)

CHECK is a key of autograder.config.POINTS (e.g. load_images). Run `python -m autograder` first. Exit code 1: the
check has less than full marks, or is not in results.json; 2: results.json cannot be read.
"""

import argparse
import json
import sys
from pathlib import Path

from . import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="the results.json that `python -m autograder` wrote")
    parser.add_argument(
        "check", nargs="?", choices=list(config.POINTS), metavar="CHECK", help=f"one of: {', '.join(config.POINTS)}"
    )


def command(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"[autograder] ci: cannot read {args.results}: {error}", file=sys.stderr)
        return 2
    if args.check is None:
        percent = round(100 * data["score"] / data["max_score"]) if data["max_score"] else 0
        print(f"Score: {data['score']}/{data['max_score']} ({percent}%)")
        return 0
    test = next((test for test in data["tests"] if test["name"] == config.TITLES[args.check]), None)
    if test is None:
        print(f"{args.check}: not in {args.results}", file=sys.stderr)
        return 1
    print(f"{test['name']}: {test['score']}/{test['max_score']}\n{test['output']}")
    return 0 if test["score"] == test["max_score"] else 1


if __name__ == "__main__":  # last term's `python -m autograder.ci`
    from autograder.old_entries import run_as_subcommand

    sys.exit(run_as_subcommand("ci", add_arguments, command))
