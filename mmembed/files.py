"""Writing a file so that a reader never sees half of it: the embedding cache, the index and the grader's reports."""

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes | str) -> None:
    """Readers see the old file or the new one, never half of one: a temporary file beside it, then a rename.

    `data` is bytes, or text written as UTF-8. The folder is made if it is missing, so a caller never has to
    (the grader's --results folder, a new index folder).

    No fsync: after a power cut a torn cache entry is recomputed like any unreadable entry, and a report is
    written again by grading again.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")  # before the temporary file exists: text UTF-8 cannot hold leaves nothing behind
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
