"""Saving a FAISS index from embeddings already computed, in the folder format of mmembed.index.

mmembed.index.build_index embeds and saves in one call; the Ray engine and `--from-embeddings` have their
embeddings already, so `save_index` does the second half with index.py's own pieces (choose_kind, filled_index,
the file names and index.json) and PictureIndex.open reads the result like any other index.
TODO(index.py): when index.py exposes this half as a function of its own, call it here instead.
"""

import json
import secrets
from pathlib import Path

import faiss
import numpy as np

from ..files import write_atomically
from ..fingerprint import model_fingerprint, model_label
from ..index import (
    FORMAT,
    HNSW_EF_SEARCH,
    HNSW_LINKS,
    MANIFEST_NAME,
    BuildReport,
    choose_kind,
    filled_index,
    remove_other_builds,
)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows of unit length (float32), so FAISS's inner product is the cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def save_index(
    output, folder, names: list[str], vectors: np.ndarray, model, precision: str, kind="auto", progress=None
) -> BuildReport:
    """Save an index of `vectors` (row i is the picture `names[i]`, relative to `folder`) made by `model`."""
    output, vectors = Path(output), normalised(vectors)
    if len(names) != len(vectors) or not len(names):
        raise ValueError(f"An index needs one name per vector, and at least one: {len(names)} names, {len(vectors)}.")
    kind = choose_kind(len(vectors), kind)
    index = filled_index(kind, vectors, progress)
    output.mkdir(parents=True, exist_ok=True)
    build = secrets.token_hex(4)
    vectors_file, pictures_file = f"vectors-{build}.faiss", f"pictures-{build}.txt"
    data = faiss.serialize_index(index).tobytes()
    write_atomically(output / vectors_file, data)
    write_atomically(output / pictures_file, "".join(f"{name}\n" for name in names).encode("utf-8"))
    about = {
        "format": FORMAT,
        "folder": str(Path(folder).resolve()),
        "model": model_label(model),
        "fingerprint": model_fingerprint(model),
        "precision": precision,
        "kind": kind,
        "vectors": len(names),
        "dimension": int(vectors.shape[1]),
        "hnsw": {"M": HNSW_LINKS, "efSearch": HNSW_EF_SEARCH} if kind == "hnsw" else None,
        "files": {"vectors": vectors_file, "pictures": pictures_file},
    }
    write_atomically(output / MANIFEST_NAME, json.dumps(about, indent=1).encode("utf-8"))
    remove_other_builds(output, keep={vectors_file, pictures_file})
    return BuildReport(output, kind, len(names), about["dimension"], 0, 0, precision, len(data))
