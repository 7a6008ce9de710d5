"""Last term's `python -m autograder.ci` and `python -m autograder.gradescope`, kept until the end of the 2027 spring
term: each says the new form on stderr, then runs as that subcommand of `python -m autograder`."""

import argparse
import sys
from collections.abc import Callable

UNTIL = "the end of the 2027 spring term"


def run_as_subcommand(name: str, add_arguments: Callable, command: Callable) -> int:
    print(
        f"[autograder] `python -m autograder.{name}` is now `python -m autograder {name}`; the old form works until"
        f" {UNTIL}",
        file=sys.stderr,
    )
    parser = argparse.ArgumentParser(prog=f"python -m autograder {name}")
    add_arguments(parser)
    return command(parser.parse_args())
