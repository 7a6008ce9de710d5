"""What a notebook's source promises a student will see, and what a run in Lab actually showed.

Promises are read from the code with `ast`, so they follow the lectures as they change:
- a cell *draws* if its top-level code calls `plt.<something>` (not `plt.close`), or calls a function defined in the
  notebook that does;
- a cell *shows progress* if its top-level code calls `tqdm(...)` or `trange(...)` (under any name it is imported as);
- a *literal Korean title* is `set_title`/`title`/`suptitle` called with one plain string containing Hangul and no
  size or font arguments, so its size is matplotlib's default title size.
"""

import ast
import re
from dataclasses import dataclass

HANGUL = re.compile("[\uac00-\ud7a3]")
NOT_DRAWING = {"close", "ioff", "ion", "rc", "rcdefaults", "style", "colormaps", "get_cmap", "savefig"}
PROGRESS_CALLS = {"tqdm", "trange"}
TITLE_CALLS = {"set_title": "axes.titlesize", "title": "axes.titlesize", "suptitle": "figure.titlesize"}
TITLE_KEYWORDS_KEEPING_SIZE = {"loc", "pad", "y", "color"}
# A text bar as tqdm prints it: " 45%|████▌     | 9/20 [...]".
TEXT_BAR = re.compile(r"(\d{1,3})%\|[^|\n]*\|\s*(\d+)/(\d+)")
# What Lab shows in place of a widget it cannot display.
WIDGET_FAILURES = ("Error displaying widget", "Loading widget...")


def code_cells(nb) -> list[tuple[int, ast.Module]]:
    """(index, syntax tree) of every code cell; IPython magics and shell lines are left out of the tree."""
    parsed = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            parsed.append((index, ast.parse("\n".join(lines))))
    return parsed


def top_level_calls(tree: ast.Module) -> list[ast.Call]:
    """Calls the cell itself makes when it runs, not those inside the functions and classes it defines."""
    calls, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return calls


def all_calls(node: ast.AST) -> list[ast.Call]:
    return [child for child in ast.walk(node) if isinstance(child, ast.Call)]


def is_drawing_call(call: ast.Call, drawing_functions: set[str]) -> bool:
    function = call.func
    if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) and function.value.id == "plt":
        return function.attr not in NOT_DRAWING
    return isinstance(function, ast.Name) and function.id in drawing_functions


def called_name(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def drawing_cells(nb) -> list[int]:
    """Indices of the cells that should show a figure."""
    drawing_functions: set[str] = set()
    cells = []
    for index, tree in code_cells(nb):
        for definition in ast.walk(tree):
            if isinstance(definition, ast.FunctionDef) and any(
                is_drawing_call(call, drawing_functions) for call in all_calls(definition)
            ):
                drawing_functions.add(definition.name)
        if any(is_drawing_call(call, drawing_functions) for call in top_level_calls(tree)):
            cells.append(index)
    return cells


def progress_names(nb) -> set[str]:
    """The names tqdm's bars go by in the notebook: tqdm and trange, and whatever they are imported as."""
    names = set(PROGRESS_CALLS)
    for _, tree in code_cells(nb):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tqdm":
                names.update(alias.asname or alias.name for alias in node.names if alias.name in PROGRESS_CALLS)
    return names


def progress_cells(nb) -> list[int]:
    """Indices of the cells that should show a progress bar."""
    names = progress_names(nb)
    return [
        index for index, tree in code_cells(nb) if any(called_name(call) in names for call in top_level_calls(tree))
    ]


@dataclass(frozen=True)
class KoreanTitle:
    cell: int
    text: str
    size_setting: str  # the rcParams entry that sets its size, e.g. "axes.titlesize"


def literal_korean_titles(nb) -> list[KoreanTitle]:
    titles = []
    for index, tree in code_cells(nb):
        for call in all_calls(tree):
            name = called_name(call)
            if name not in TITLE_CALLS or len(call.args) != 1 or not isinstance(call.args[0], ast.Constant):
                continue
            text = call.args[0].value
            keywords = {keyword.arg for keyword in call.keywords}
            if isinstance(text, str) and HANGUL.search(text) and "\n" not in text:
                if keywords <= TITLE_KEYWORDS_KEEPING_SIZE:
                    titles.append(KoreanTitle(index, text, TITLE_CALLS[name]))
    return titles


def error_outputs(nb) -> list[str]:
    """'cell N: Ename: message' for every error output of a saved notebook."""
    return [
        f"cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]


def unfinished_bars(cell_view: dict) -> list[str]:
    """The progress bars of one cell (as the page shows it) that did not reach the end."""
    unfinished = []
    for output in cell_view["outputs"]:
        for bar in output["bars"]:
            if bar["width"] != "100%" or "danger" in bar["style"]:
                unfinished.append(f"widget bar at {bar['width'] or '0%'}: {output['text'].strip()[:120]!r}")
        for percent, done, total in TEXT_BAR.findall(output["text"]):
            if percent != "100" or done != total:
                unfinished.append(f"text bar at {percent}% ({done}/{total})")
    return unfinished


def widget_errors(cell_view: dict) -> list[str]:
    """Widgets Lab could not display (no widget manager, or a model it did not get)."""
    return [
        output["text"].strip()[:200]
        for output in cell_view["outputs"]
        if any(sign in output["text"] for sign in WIDGET_FAILURES)
    ]


def shows_progress_bar(cell_view: dict) -> bool:
    return any(output["bars"] or TEXT_BAR.search(output["text"]) for output in cell_view["outputs"])


def shown_images(cell_view: dict) -> int:
    """How many images the cell's outputs show, loaded and with a size on the page."""
    return sum(image["loaded"] and image["shown"] for output in cell_view["outputs"] for image in output["images"])


def broken_images(cell_view: dict) -> int:
    return sum(
        not (image["loaded"] and image["shown"]) for output in cell_view["outputs"] for image in output["images"]
    )
