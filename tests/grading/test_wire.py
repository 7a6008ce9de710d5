"""autograder/inside/wire.py: what a child sends is read back exactly, and a forged stream costs only what is forged."""

import numpy as np

from autograder.inside.wire import decode, encode


def test_round_trip_of_json_and_arrays():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    messages = decode(encode("step", {"names": ["val_0.JPEG", "한글"]}) + encode("step.npy", array))
    assert messages["step"] == {"names": ["val_0.JPEG", "한글"]}
    assert messages["step.npy"].dtype == np.float32 and (messages["step.npy"] == array).all()


def test_a_truncated_or_forged_message_ends_the_stream_and_keeps_what_came_before():
    good = encode("import", {})
    assert decode(good + encode("main", {"stdout": "x"})[:-1]) == {"import": {}}
    assert decode(good + b"not a header\n") == {"import": {}}
    assert decode(good + b'{"name": "a", "kind": "pickle", "size": 1}\nx') == {"import": {}}
    assert decode(good + b'{"name": "a", "kind": "json", "size": -5}\n') == {"import": {}}
    assert decode(good + b"x" * 5000) == {"import": {}}  # no header line within the limit


def test_arrays_of_objects_are_never_unpickled():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    payload = buffer.getvalue()
    forged = f'{{"name": "embed_images.npy", "kind": "npy", "size": {len(payload)}}}\n'.encode() + payload
    assert decode(encode("import", {}) + forged) == {"import": {}}
