"""For CI systems that score one command at a time (GitHub Classroom's command grader): read results.json.

    python -m autograder.ci results.json CHECK    exit 0 when CHECK has full marks; prints its feedback
    python -m autograder.ci results.json          prints "Score: S/M (P%)" (GitLab reads the percentage)

CHECK is a key of autograder.config.POINTS (e.g. load_images). Run `python -m autograder` first.
"""

import json
import sys
from pathlib import Path

from . import config


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    data = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    if len(argv) == 1:
        percent = round(100 * data["score"] / data["max_score"]) if data["max_score"] else 0
        print(f"Score: {data['score']}/{data['max_score']} ({percent}%)")
        return 0
    check = argv[1]
    if check not in config.TITLES:
        print(f"unknown check {check!r}; one of: {', '.join(config.POINTS)}", file=sys.stderr)
        return 2
    test = next((test for test in data["tests"] if test["name"] == config.TITLES[check]), None)
    if test is None:
        print(f"{check}: not in {argv[0]}", file=sys.stderr)
        return 1
    print(f"{test['name']}: {test['score']}/{test['max_score']}\n{test['output']}")
    return 0 if test["score"] == test["max_score"] else 1


if __name__ == "__main__":
    sys.exit(main())
