"""Make the student skeleton quizzes/quiz_search.py from the reference solutions/quiz_search.py.

The solution is the single source. Each region

        ### BEGIN SOLUTION
        # HINT: 한국어 힌트 (one line)
        ...solution code...
        ### END SOLUTION

becomes, at the indentation of `### BEGIN SOLUTION`,

        # TODO
        raise NotImplementedError("한국어 힌트")

Everything else (docstrings, imports, constants, signatures, main) is copied unchanged. The markers are
nbgrader's, so the same convention serves the notebooks.

    python -m tools.make_quiz_skeleton            # write the skeleton
    python -m tools.make_quiz_skeleton --check    # exit 1 if the committed skeleton is not up to date
"""

import argparse
import sys
from pathlib import Path

from mmembed.paths import SKELETON, SOLUTION

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "# HINT:"
LINE_LENGTH = 120  # ruff's, in pyproject.toml: the skeleton is formatted as the rest of the code


def quoted(text: str) -> str:
    """A string literal as ruff format writes it: double quotes, unless the text holds a double quote."""
    if '"' in text and "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def raise_not_implemented(hint: str, indent: str) -> str:
    """`raise NotImplementedError("hint")`, on one line or, when longer than 120 characters, on three."""
    line = f"{indent}raise NotImplementedError({quoted(hint)})\n"
    if len(line) - 1 <= LINE_LENGTH:
        return line
    return f"{indent}raise NotImplementedError(\n{indent}    {quoted(hint)}\n{indent})\n"


def make_skeleton(solution: str) -> str:
    """The skeleton text for a solution text. Raises ValueError on an unclosed region or a missing hint."""
    lines = solution.splitlines(keepends=True)
    output, index = [], 0
    while index < len(lines):
        line = lines[index]
        if line.strip() != BEGIN:
            if line.strip() == END:
                raise ValueError(f"line {index + 1}: {END} without {BEGIN}")
            output.append(line)
            index += 1
            continue
        start, indent = index + 1, line[: len(line) - len(line.lstrip())]
        hint = lines[start].strip() if start < len(lines) else ""
        if not hint.startswith(HINT):
            raise ValueError(f"line {start + 1}: the line after {BEGIN} must be '{HINT} <Korean hint>'")
        end = next((i for i in range(start, len(lines)) if lines[i].strip() in (BEGIN, END)), None)
        if end is None or lines[end].strip() != END:
            raise ValueError(f"line {index + 1}: {BEGIN} is not closed by {END}")
        output.append(f"{indent}# TODO\n")
        output.append(raise_not_implemented(hint.removeprefix(HINT).strip(), indent))
        index = end + 1
    return "".join(output)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the skeleton is stale")
    parser.add_argument("--solution", type=Path, default=SOLUTION)
    parser.add_argument("--skeleton", type=Path, default=SKELETON)
    args = parser.parse_args(argv)

    expected = make_skeleton(args.solution.read_text(encoding="utf-8"))
    if args.check:
        current = args.skeleton.read_text(encoding="utf-8") if args.skeleton.exists() else None
        if current != expected:
            print(f"{args.skeleton} is out of date: run python -m tools.make_quiz_skeleton", file=sys.stderr)
            return 1
        print(f"{args.skeleton} is up to date.")
        return 0
    args.skeleton.parent.mkdir(parents=True, exist_ok=True)
    args.skeleton.write_text(expected, encoding="utf-8", newline="\n")
    print(f"wrote {args.skeleton}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
