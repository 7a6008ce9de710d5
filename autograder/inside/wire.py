"""The messages between the grader and a child, over pipes: never through a file the child could replace.

A message is one header line of JSON, `{"name": ..., "kind": "json" | "npy", "size": N}`, then N bytes: UTF-8
JSON, or an array in NumPy's .npy format (read back with `allow_pickle=False`, so it can hold numbers only).

The grader sends the job on the child's stdin; the child sends each result on a pipe of its own as soon as it
has it, so a crash costs only what was not sent yet. Whatever arrives from a child is untrusted: `read_messages`
stops at the first malformed message and keeps what came before.

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


def decode(data: bytes) -> dict:
    """{name: value} for the well-formed messages at the start of `data` (a later message wins a name)."""
    messages, position = {}, 0
    while position < len(data):
        end = data.find(b"\n", position, position + MAX_HEADER_BYTES)
        if end < 0:
            break
        try:
            header = json.loads(data[position:end])
            name, kind, size = header["name"], header["kind"], header["size"]
        except (ValueError, KeyError, TypeError):
            break
        if not isinstance(name, str) or kind not in ("json", "npy") or not isinstance(size, int) or size < 0:
            break
        payload = data[end + 1 : end + 1 + size]
        if len(payload) != size:
            break
        try:
            if kind == "json":
                messages[name] = json.loads(payload.decode("utf-8"))
            else:
                messages[name] = np.load(io.BytesIO(payload), allow_pickle=False)
        except Exception:  # a forged or truncated payload ends the stream
            break
        position = end + 1 + size
    return messages
