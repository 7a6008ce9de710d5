"""The messages between the grader and a child, over pipes and a socket: never through a file a child could replace.

A message is one header line of JSON, `{"name": ..., "kind": "json" | "npy", "size": N}`, then N bytes: UTF-8
JSON, or an array in NumPy's .npy format (read back with `allow_pickle=False`, so it can hold numbers only).

`read_messages` is what the grader uses on what a child sent: it keeps every message in order and says where
the stream stopped making sense, so the grader can check the stream against the step's schema (protocol.py).
`decode` is the child's reader of what the grader sent.

Standalone on purpose (the standard library and NumPy only): child.py imports it inside the sandbox, where the
rest of the grader is not visible.
"""

import io
import json

import numpy as np

MAX_HEADER_BYTES = 1_000


def encode(name: str, value) -> bytes:
    """One message: a NumPy array goes as .npy, anything else as JSON."""
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        kind, payload = "npy", buffer.getvalue()
    else:
        kind, payload = "json", json.dumps(value, ensure_ascii=False).encode("utf-8")
    header = json.dumps({"name": name, "kind": kind, "size": len(payload)}).encode("ascii")
    return header + b"\n" + payload


def read_messages(data: bytes) -> tuple[list[tuple[str, object]], str | None]:
    """([(name, value), ...] in order, None) for a well-formed stream; on the first malformed message, what came
    before it and why it is malformed (in English, for the instructor)."""
    messages, position = [], 0
    while position < len(data):
        end = data.find(b"\n", position, position + MAX_HEADER_BYTES)
        if end < 0:
            return messages, "a message without a header line"
        try:
            header = json.loads(data[position:end])
            name, kind, size = header["name"], header["kind"], header["size"]
        except (ValueError, KeyError, TypeError):
            return messages, "a header that is not JSON with name, kind and size"
        if not isinstance(name, str) or kind not in ("json", "npy") or type(size) is not int or size < 0:
            return messages, "a header with a field of the wrong type"
        payload = data[end + 1 : end + 1 + size]
        if len(payload) != size:
            return messages, f"a message cut short ({name!r})"
        try:
            if kind == "json":
                value = json.loads(payload.decode("utf-8"))
            else:
                value = np.load(io.BytesIO(payload), allow_pickle=False)
        except Exception:
            return messages, f"a payload that does not parse ({name!r})"
        messages.append((name, value))
        position = end + 1 + size
    return messages, None


def decode(data: bytes) -> dict:
    """{name: value} for the well-formed messages at the start of `data` (a later message wins a name)."""
    return dict(read_messages(data)[0])
