"""What a student's kernel may leave in an autograded notebook and its feedback: bounded and inert.

Outputs are counted in bytes (their JSON), at most CELL_BYTES per cell and NOTEBOOK_BYTES per notebook. While
the kernel runs, an output over either cap is dropped as it arrives (nbgrader never holds it), and afterwards
`bound_outputs` trims what is left: a stream is cut, any other output dropped, and the cell ends with the marker
"(출력이 잘렸습니다)". Errors are kept, shortened. The grader's own cells count against CELL_BYTES only.

HTML is made inert by nbconvert's `SanitizeHTML` (bleach): no `<script>`, no event handlers, no `javascript:`
links, in outputs and in markdown cells; output types that could run code (JavaScript, widgets, SVG) are dropped.
"""

import json

from bleach import ALLOWED_TAGS
from nbconvert.filters import markdown2html
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

CELL_BYTES = 1 * 2**20
NOTEBOOK_BYTES = 10 * 2**20
ERROR_TEXT_CHARS = 2_000  # an error's message and each traceback line
ERROR_TRACEBACK_LINES = 40
CUT_MARKER = "\n(출력이 잘렸습니다)\n"


def size(output) -> int:
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8", errors="replace"))


def marker() -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=CUT_MARKER)


def shortened_error(output: NotebookNode) -> NotebookNode:
    return NotebookNode(
        output_type="error",
        ename=str(output.get("ename", ""))[:200],
        evalue=str(output.get("evalue", ""))[:ERROR_TEXT_CHARS],
        traceback=[str(line)[:ERROR_TEXT_CHARS] for line in output.get("traceback", [])[-ERROR_TRACEBACK_LINES:]],
    )


def _cut_stream(output: NotebookNode, room: int) -> NotebookNode | None:
    """The stream with as much of its text as fits in `room` bytes (escaping makes a character 1 to 6 bytes)."""
    text = output.get("text", "")
    length = min(len(text), room)
    while length > 0:
        piece = NotebookNode({**output, "text": text[:length]})
        weight = size(piece)
        if weight <= room:
            return piece
        length = min(length - 1, length * room // weight)
    return None


def bound_cell(outputs: list, room: int) -> tuple[list, int]:
    """The outputs that fit in min(CELL_BYTES, room) bytes, with the marker if any was cut; and the bytes used.
    Errors are always kept (shortened): nbgrader reads a failed test from them."""
    outputs = [shortened_error(o) if o.get("output_type") == "error" else o for o in outputs]
    errors = sum(size(o) for o in outputs if o.get("output_type") == "error")
    budget = max(0, min(CELL_BYTES, room) - size(marker()) - errors)  # room is kept for the marker and errors
    kept, used, cut = [], 0, False
    for output in outputs:
        if output.get("output_type") == "error":
            kept.append(output)
            continue
        if cut:
            continue
        weight = size(output)
        if used + weight <= budget:
            kept.append(output)
            used += weight
            continue
        cut = True
        piece = _cut_stream(output, budget - used) if output.get("output_type") == "stream" else None
        if piece is not None:
            kept.append(piece)
            used += size(piece)
    if cut and min(CELL_BYTES, room) - errors >= size(marker()):
        kept.append(marker())
    return kept, sum(size(o) for o in kept)


def bound_outputs(nb: NotebookNode, grader_cell=lambda cell: False) -> None:
    """Trim every code cell's outputs to the caps, in place (the grader's own cells to CELL_BYTES alone)."""
    room = NOTEBOOK_BYTES
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        own = grader_cell(cell)
        cell.outputs, used = bound_cell(list(cell.get("outputs", [])), CELL_BYTES if own else max(0, room))
        if not own:
            room -= used


class StreamingCap:
    """The caps applied as outputs arrive from the kernel: `admit(cell_index, output, own)` gives what to keep of
    the output (all of it, a stream's first part, or None) and whether the cut marker should follow (once a cell)."""

    def __init__(self):
        self.cell_bytes: dict[int, int] = {}
        self.notebook_bytes = 0
        self.marked: set[int] = set()

    def admit(self, cell_index: int, output: NotebookNode, own: bool) -> tuple[NotebookNode | None, bool]:
        if output.get("output_type") == "error":
            return output, False
        used = self.cell_bytes.get(cell_index, 0)
        room = CELL_BYTES - used if own else min(CELL_BYTES - used, NOTEBOOK_BYTES - self.notebook_bytes)
        if cell_index in self.marked:
            return None, False
        weight = size(output)
        if weight > room:
            self.marked.add(cell_index)
            room -= size(marker())
            output = _cut_stream(output, room) if output.get("output_type") == "stream" and room > 0 else None
            weight = size(output) if output is not None else 0
        self.cell_bytes[cell_index] = used + weight
        if not own:
            self.notebook_bytes += weight
        return output, cell_index in self.marked


class BoundOutputs(Preprocessor):
    """`bound_outputs` as an nbconvert preprocessor (for the feedback, after autograding bounded it once)."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        bound_outputs(nb)
        return nb, resources


# bleach's default tags, and what rendered markdown and plain HTML tables need; no attribute that runs code.
SAFE_TAGS = [
    *ALLOWED_TAGS,
    *"p br hr pre span div sub sup del h1 h2 h3 h4 h5 h6 table thead tbody tr th td img".split(),
]
SAFE_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "*": ["class"]}


class Sanitize(SanitizeHTML):
    """nbconvert's SanitizeHTML (bleach), with markdown rendered before it is cleaned: a `[link](javascript:...)`
    is plain text to bleach until it is HTML. Markdown cells and outputs are kept as their cleaned HTML."""

    enabled = Bool(True)

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", True)
        kwargs.setdefault("tags", SAFE_TAGS)
        kwargs.setdefault("attributes", SAFE_ATTRIBUTES)
        super().__init__(**kwargs)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = self.clean_markdown(cell.source)
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)

    def clean_markdown(self, source: str) -> str:
        """Rendered and cleaned until rendering changes nothing more: text that was inert inside a stripped tag
        (`<script>` ... `[x](javascript:...)` on one line) must not turn into a link when the feedback renders it."""
        for _ in range(5):
            cleaned = self.sanitize_html_tags(markdown2html(source))
            if cleaned == source:
                break
            source = cleaned
        return source

    def sanitize_code_outputs(self, outputs):
        for output in outputs:
            data = output.get("data", {})
            if "text/markdown" in data:
                markdown = data.pop("text/markdown")
                data.setdefault("text/html", self.clean_markdown(markdown))
        return super().sanitize_code_outputs(outputs)
