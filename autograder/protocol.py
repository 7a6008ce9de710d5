"""What the grader accepts from a child for each step: a strict schema, checked before anything is scored.

A forked child runs exactly one step and writes on a pipe that belongs to that step alone (inside/child.py).
What arrives there is student-controlled bytes, so it is accepted only if it is exactly what the step produces:

    imported   {}: the submission was imported (sent once, first; a step that dies before it would die in every step)
    running*   {"function": one of the four quiz functions}: where the child is, to blame a hang on the right one
    helper_call* {"during": "import" | "step"}: the submission called an mmembed function other than load_clip
               (inside/guard.py): while it was imported, or in the step itself. Final for the step (grade.py)
    arrays*    the step's own .npy arrays, by name, of floats, within a size bound
    the step   one JSON object named after the step, with the step's keys and types, and nothing after it

Every string must be valid Unicode text of bounded length (no lone surrogates, which cannot be written to a
file). Anything else raises `ProtocolError`, and that student's status becomes "protocol".
"""

import re
from dataclasses import dataclass, field

import numpy as np

FUNCTIONS = ("load_images", "embed_images", "embed_text", "search_top1")
HELPER_CALL, HELPER_PHASES = "helper_call", ("import", "step")  # inside/guard.py's message
MAX_ITEMS = 1_000  # names, modes or rows: the quiz has 200 pictures
MAX_ARRAY_VALUES = 1_000 * 2_048
TEXT = 600  # an error message (the child cuts its own at 500 characters)


class ProtocolError(ValueError):
    """A child's stream that is not what its step produces (English, for the instructor's log)."""


class NoResult(ProtocolError):
    """A well-formed stream that ends before the step's result: the child died (os._exit, a signal)."""


@dataclass
class StepData:
    result: dict  # the step's JSON object
    arrays: dict = field(default_factory=dict)  # name -> float ndarray
    function: str | None = None  # the quiz function running last, if any


def text(value, limit: int, where: str) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"{where}: not a string of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{where}: not valid Unicode text (a lone surrogate)") from None
    return value


def texts(value, limit: int, where: str, length: int | None = None, optional: bool = False) -> list:
    if not isinstance(value, list) or len(value) > MAX_ITEMS or (length is not None and len(value) != length):
        raise ProtocolError(f"{where}: not a list of the right length")
    return [None if optional and item is None else text(item, limit, f"{where}[{i}]") for i, item in enumerate(value)]


def _result_fields(step: str, result: dict, queries: int) -> dict:
    """The step's own keys, checked; an "error" (with "during": "import" for a failed import) is allowed anywhere."""
    kind = step.removesuffix("_hidden")
    allowed = {"error", "during"}
    checked = {}
    if "error" in result:
        checked["error"] = text(result["error"], TEXT, f"{step}.error")
    if "during" in result:
        if result["during"] != "import":
            raise ProtocolError(f"{step}.during: not 'import'")
        checked["during"] = "import"
    if kind == "main":
        allowed.add("stdout")
        if "stdout" in result:
            checked["stdout"] = text(result["stdout"], 5_100, "main.stdout")
    elif kind == "load_images":
        allowed |= {"names", "modes"}
        if "names" in result or "modes" in result:
            checked["names"] = texts(result.get("names"), 300, "load_images.names")
            checked["modes"] = texts(result.get("modes"), 60, "load_images.modes", len(checked["names"]))
    elif kind == "embed_text":
        allowed.add("errors")
        if "errors" in result:
            checked["errors"] = texts(result["errors"], TEXT, f"{step}.errors", queries, optional=True)
    elif kind == "search_top1":
        allowed.add("answers")
        if "answers" in result:
            checked["answers"] = texts(result["answers"], 400, f"{step}.answers", queries)
    extra = set(result) - allowed
    if extra:
        raise ProtocolError(f"{step}: unexpected keys {sorted(extra)[:3]}")
    return checked


def _array_names(step: str, queries: int) -> set[str]:
    kind = step.removesuffix("_hidden")
    if kind == "load_images":
        return {"load_images_means.npy"}
    if kind == "embed_images":
        return {"embed_images.npy"}
    if kind == "embed_text":
        return {f"embed_text_{i}.npy" for i in range(queries)}
    return set()


def accept(step: str, messages: list[tuple[str, object]], queries: int = 0) -> StepData:
    """The step's data from its messages (wire.read_messages), or ProtocolError. `queries`: how many texts the
    step was given (embed_text, search_top1)."""
    arrays, function, result, imported = {}, None, None, False
    array_names = _array_names(step, queries)
    for name, value in messages:
        if result is not None:
            raise ProtocolError(f"{step}: a message after the step's result ({name[:40]!r})")
        if name == "imported":  # the submission was imported: what follows is the step itself
            if value != {} or imported or function is not None or arrays:
                raise ProtocolError(f"{step}: a malformed or misplaced 'imported' message")
            imported = True
        elif name == HELPER_CALL:
            if not isinstance(value, dict) or set(value) != {"during"} or value["during"] not in HELPER_PHASES:
                raise ProtocolError(f"{step}: a malformed {HELPER_CALL!r} message")
        elif name == "running":
            if not isinstance(value, dict) or set(value) != {"function"} or value["function"] not in FUNCTIONS:
                raise ProtocolError(f"{step}: a malformed 'running' message")
            function = value["function"]
        elif name in array_names:
            if name in arrays:
                raise ProtocolError(f"{step}: {name} sent twice")
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.size > MAX_ARRAY_VALUES:
                raise ProtocolError(f"{step}: {name} is not a float array within the size bound")
            arrays[name] = value
        elif name == step:
            if not isinstance(value, dict):
                raise ProtocolError(f"{step}: the result is not a JSON object")
            result = _result_fields(step, value, queries)
        else:
            raise ProtocolError(f"{step}: a message this step does not send ({re.sub(r'[^ -~]', '?', name[:40])!r})")
    if result is None:
        raise NoResult(f"{step}: no result")
    return StepData(result, arrays, function)


def imported(messages: list[tuple[str, object]]) -> bool:
    """Did the child get past importing the submission? (A hang or crash before it would recur in every step.)"""
    return any(name == "imported" for name, _ in messages)


def last_function(messages: list[tuple[str, object]]) -> str | None:
    """The function a child said it was running last (for blame after a crash), if it said so in due form."""
    for name, value in reversed(messages):
        if name == "running" and isinstance(value, dict) and value.get("function") in FUNCTIONS:
            return value["function"]
    return None


def helper_calls(messages: list[tuple[str, object]]) -> frozenset[str]:
    """When the submission called an mmembed helper, by the well-formed helper_call messages among `messages`,
    wherever they are (before a crash, a hang or a malformed message: a use once reported stays reported)."""
    return frozenset(
        value["during"]
        for name, value in messages
        if name == HELPER_CALL and isinstance(value, dict) and value.get("during") in HELPER_PHASES
    )
