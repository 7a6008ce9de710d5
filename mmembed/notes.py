"""One-line notes to the user ("[mmembed] ..."): which offline stand-in or local sample replaced what was asked.

In a terminal a note goes to stderr, out of the way of the output a script prints. In a Jupyter kernel it goes
to stdout: JupyterLab shows stderr in a pink box, which students read as an error, and a note is not one.
Students read the notes, so they are written in Korean (after the `[mmembed] ` prefix, which tests look for).
"""

import sys

_said: set[str] = set()


def in_jupyter_kernel() -> bool:
    return type(sys.stdout).__module__.startswith("ipykernel")


def say(message: str, once: bool = True) -> None:
    """Print `[mmembed] message`; with `once`, only the first time in this process (a lecture loads a model
    and then its processor with the same call)."""
    if once and message in _said:
        return
    _said.add(message)
    print(f"[mmembed] {message}", file=sys.stdout if in_jupyter_kernel() else sys.stderr)
