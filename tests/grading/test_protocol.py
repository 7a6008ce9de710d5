"""autograder/protocol.py: a step's stream is accepted only if it is exactly what that step produces.

Each case is a stream a student's code could write into its own result pipe; none needs a model or a child.
"""

import numpy as np
import pytest

from autograder.inside.wire import encode, read_messages
from autograder.protocol import NoResult, ProtocolError, accept


def raw(name: str, payload: bytes) -> bytes:
    """A message with a payload encode() could not make (JSON that escapes a lone surrogate)."""
    return f'{{"name": "{name}", "kind": "json", "size": {len(payload)}}}\n'.encode() + payload


def stream(*messages: bytes) -> list:
    parsed, malformed = read_messages(b"".join(messages))
    assert malformed is None
    return parsed


def test_an_honest_stream_is_accepted():
    data = accept(
        "embed_text_hidden",
        stream(
            encode("running", {"function": "embed_text"}),
            encode("embed_text_0.npy", np.zeros((1, 512), np.float32)),
            encode("embed_text_hidden", {"errors": [None, "ValueError: x", None]}),
        ),
        queries=3,
    )
    assert data.function == "embed_text" and set(data.arrays) == {"embed_text_0.npy"}
    assert data.result == {"errors": [None, "ValueError: x", None]}


@pytest.mark.parametrize(
    "step, messages, why",
    [
        ("embed_images", [encode("embed_text", {"errors": [None]}), encode("embed_images", {})], "does not send"),
        ("main", [encode("main", {"stdout": "x"}), encode("main", {"stdout": "y"})], "after the step's result"),
        ("main", [encode("main", {"stdout": 5})], "not a string"),
        ("main", [encode("main", {"stdout": "x", "score": 12})], "unexpected keys"),
        ("main", [encode("main", ["stdout"])], "not a JSON object"),
        ("search_top1", [encode("search_top1", {"answers": ["a", "b"]})], "right length"),
        ("search_top1", [raw("search_top1", b'{"answers": ["\\ud800"]}')], "lone surrogate"),
        ("load_images", [encode("load_images", {"names": ["a"] * 3, "modes": ["RGB"]})], "right length"),
        ("main", [encode("running", {"function": "os.system"}), encode("main", {})], "'running'"),
        ("embed_images", [encode("embed_images.npy", np.zeros(3, np.int64)), encode("embed_images", {})], "float"),
        ("main", [encode("main", {"error": "x" * 10_000})], "at most"),
        ("main", [encode("main", {"during": "grading"})], "not 'import'"),
    ],
)
def test_anything_else_is_a_protocol_error(step, messages, why):
    with pytest.raises(ProtocolError, match=why):
        accept(step, stream(*messages), queries=1)


def test_a_stream_without_the_result_is_a_crash_not_a_protocol_error():
    with pytest.raises(NoResult):
        accept("main", stream(encode("running", {"function": "load_images"})))


@pytest.mark.parametrize(
    "garbage, why",
    [
        (b'{"name": "main", "kind": "json", "size": "12"}\n', "wrong type"),
        (b'{"name": "main", "kind": "pickle", "size": 1}\nx', "wrong type"),
        (b"\xff\xfe not a header\n", "not JSON"),
        (b"x" * 5000, "without a header line"),
        (b'{"name": "main", "kind": "json", "size": 3}\n\xff\xfe\xfd', "does not parse"),
        (b'{"name": "main", "kind": "json", "size": 99}\n{}', "cut short"),
    ],
)
def test_the_wire_says_where_a_stream_stops_making_sense(garbage, why):
    messages, malformed = read_messages(encode("running", {"function": "load_images"}) + garbage)
    assert [name for name, _ in messages] == ["running"] and why in malformed
