"""A vector index over a folder of pictures: `python -m mmembed index FOLDER --output INDEX_DIR`, searched with
`python -m mmembed search "text" --index INDEX_DIR` (lectures 08a and 08b).

The folder is read recursively and every picture is embedded through the embedding cache (mmembed.cache's
embed_paths, the one pipeline from picture files to embeddings), which saves each batch as soon as it is embedded:
a build that was interrupted resumes where it stopped, because the pictures embedded before the interruption come
from the cache. Unreadable files are skipped with a one-line warning. The vectors are normalised, so the inner
product FAISS computes is the cosine similarity, the same number as `text @ image.T` in lectures 02-04.
build_index embeds and saves; save_index, its second half, saves embeddings computed elsewhere (mmembed.scale).

Which index, measured in lecture 08a (its further reading: one query at a time, one CPU core, 512-dimensional
embeddings of the course pictures, their augmented copies and synthetic neighbours; a loaded 2-core machine,
December 2026):

    vectors   exact (IndexFlatIP)   HNSW (M 32, efSearch 128)   HNSW recall@10
    1,000     0.03-0.04 ms          0.1-0.4 ms                   1.00
    10,000    0.8-1.9 ms            0.1-0.3 ms                   0.99-1.00
    100,000   7-21 ms               0.1-0.5 ms                   0.96
    embedding the query text with mini: 3-13 ms (the real CLIP's text encoder: tens of ms)

HNSW gets ahead from a few thousand vectors, but up to 10,000 an exact query costs less than embedding the query,
so exactness costs nothing anyone notices and there is no graph to build. At 100,000 the exact query is several
times the query's embedding and HNSW stays under a millisecond. So: exact search (`IndexFlatIP`) up to FLAT_LIMIT
vectors, HNSW above. The HNSW graph is built with one `add` call: the same 100,000 vectors added 10,000 at a time
gave recall@10 0.84 instead of 0.96 at efSearch 128 (faiss inserts each call's vectors highest level first).

An index folder holds:
    index.json             what the index is: the model, the kind, the size, and the names of the two files below
    vectors-<build>.faiss  the FAISS index
    pictures-<build>.txt   one picture path per line, relative to the indexed folder: line i is vector i
index.json is written last and atomically and names its own build's files, so an interrupted build never leaves a
half-written index: the previous index stays whole until the new one is complete.

index.json names the model twice: by its label, for people, and by its fingerprint (mmembed.fingerprint), to refuse
a query embedded by another model. It stores nothing of the embedding cache, so a change to the cache never makes
a saved index unusable; an index whose fingerprint has an older FINGERPRINT_VERSION is refused as such. Format 1
(before the fingerprint had a version) stored version 1's fingerprint as "weights" and still opens.
"""

import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cache import embed_paths
from .choices import INDEX_KINDS as KINDS
from .files import write_atomically
from .fingerprint import model_fingerprint, model_label
from .images import picture_files
from .precision import Precision

FORMAT = 2  # bump when the folder layout or index.json changes (2: the model's fingerprint with its version)
MANIFEST_NAME = "index.json"
FLAT_LIMIT = 10_000  # the largest collection searched exactly by default (see the module docstring)
HNSW_LINKS = 32  # M: links per vector; the faiss wiki's range is 4-64, more is more accurate and uses more memory
HNSW_EF_SEARCH = 128  # efSearch: candidates kept while searching; more is more accurate and slower
ADD_CHUNK = 10_000  # vectors added to a flat index per step of its progress bar (HNSW: all at once, see above)


class WrongModelError(ValueError):
    """A query embedded by another model than the index's: its numbers live in another space."""


class OutdatedIndexError(ValueError):
    """An index saved by another version of mmembed, in a format or with a model fingerprint this one cannot read:
    the pictures must be indexed again (from the embedding cache, if it still holds them)."""


class KOutOfRangeError(ValueError):
    """`k`, the number of results asked for, is not between 1 and the number of pictures in the index."""


def choose_kind(vectors: int, kind: str = "auto") -> str:
    """ "flat" or "hnsw": `kind` itself, or for "auto" exact search up to FLAT_LIMIT vectors."""
    if kind not in KINDS:
        raise ValueError(f"인덱스 종류는 {', '.join(KINDS)} 중 하나여야 합니다 (받은 값: {kind!r}).")
    if kind != "auto":
        return kind
    return "flat" if vectors <= FLAT_LIMIT else "hnsw"


def new_faiss_index(kind: str, dimension: int) -> faiss.Index:
    """An empty inner-product index: exact (IndexFlatIP) or an HNSW graph over the full vectors."""
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def filled_index(kind: str, vectors: np.ndarray, progress: bool | None = None) -> faiss.Index:
    """The index of `kind` holding `vectors`. A flat index is filled in chunks under a progress bar; an HNSW graph
    in one `add` call (one step of the bar), because a graph built from several calls finds fewer true neighbours."""
    index = new_faiss_index(kind, vectors.shape[1])
    chunk = ADD_CHUNK if kind == "flat" else max(len(vectors), 1)
    starts = range(0, len(vectors), chunk)
    show = len(starts) > 1 if progress is None else progress
    for start in tqdm(starts, desc=f"{kind} 인덱스 만들기", unit="묶음", disable=not show):
        index.add(vectors[start : start + chunk])
    return index


@dataclass
class BuildReport:
    directory: Path
    kind: str
    vectors: int
    dimension: int
    computed: int
    cached: int
    precision: Precision
    bytes: int  # the size of the FAISS index file


def build_index(
    folder, output, model, processor, kind="auto", precision=None, batch_size=32, progress=None
) -> BuildReport:
    """Embed every picture under `folder` (through the embedding cache) and save an index of them in `output`."""
    folder = Path(folder).resolve()
    embedded = embed_paths(
        picture_files(folder), model, processor, precision=precision, batch_size=batch_size, progress=progress
    )
    names = [path.relative_to(folder).as_posix() for path in embedded.paths]
    saved = save_index(output, folder, names, embedded.embeddings.numpy(), model, embedded.precision, kind, progress)
    return replace(saved, computed=embedded.computed, cached=embedded.cached)


def save_index(
    output, folder, names: list[str], vectors: np.ndarray, model, precision: Precision, kind="auto", progress=None
) -> BuildReport:
    """Save an index of `vectors` in `output`: row i is the picture `names[i]` (relative to `folder`), embedded by
    `model` in `precision`. build_index's second half, for embeddings computed elsewhere too (mmembed.scale); the
    report counts nothing as computed or cached, which only the caller knows."""
    output = Path(output)
    if len(names) != len(vectors) or not len(names):
        raise ValueError(
            f"인덱스에는 벡터가 하나 이상, 벡터마다 이름이 하나씩 있어야 합니다: "
            f"이름 {len(names)}개, 벡터 {len(vectors)}개."
        )
    vectors = normalised(vectors)
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


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows of unit length (float32), so FAISS's inner product is the cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def remove_other_builds(output: Path, keep: set[str]) -> None:
    for pattern in ("vectors-*.faiss", "pictures-*.txt"):
        for path in output.glob(pattern):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def read_about(directory: Path) -> dict:
    """index.json of the index in `directory`, in the current format (format 1 is read as format 2)."""
    try:
        about = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{directory}에 인덱스가 없습니다: python -m mmembed index 폴더 --output {directory}로 만드세요"
        ) from None
    if about.get("format") == 1:  # format 1's "weights" is the fingerprint of version 1, the first
        about["format"], about["fingerprint"] = FORMAT, {"version": 1, "sha256": about.pop("weights")}
    if about.get("format") != FORMAT:
        raise OutdatedIndexError(
            f"{directory}의 인덱스는 형식 {about.get('format')}이라 이 mmembed(형식 {FORMAT})가 읽을 수 없습니다: "
            f"다시 만드세요 (python -m mmembed index 폴더 --output {directory})."
        )
    return about


@dataclass
class PictureIndex:
    """A saved index, opened: search it with query embeddings of the model it was built with."""

    directory: Path
    about: dict
    names: list[str]  # picture paths relative to `folder`; names[i] is vector i
    faiss_index: faiss.Index

    @property
    def folder(self) -> Path:
        return Path(self.about["folder"])

    @property
    def model(self) -> str:
        return self.about["model"]

    @property
    def kind(self) -> str:
        return self.about["kind"]

    @classmethod
    def open(cls, directory: str | Path) -> "PictureIndex":
        directory = Path(directory)
        about = read_about(directory)
        names = (directory / about["files"]["pictures"]).read_text(encoding="utf-8").splitlines()
        index = faiss.read_index(str(directory / about["files"]["vectors"]))
        if not index.ntotal == len(names) == about["vectors"]:
            raise ValueError(f"{directory}의 인덱스가 망가졌습니다 (벡터 {index.ntotal}개, 이름 {len(names)}개).")
        if about["kind"] == "hnsw":
            index.hnsw.efSearch = about["hnsw"]["efSearch"]
        return cls(directory, about, names, index)

    def check_model(self, model) -> None:
        """Raise WrongModelError unless `model` has the weights the index was built with (OutdatedIndexError when
        the index's fingerprint is of another version, which says nothing either way)."""
        saved, current = self.about["fingerprint"], model_fingerprint(model)
        if saved["version"] != current["version"]:
            raise OutdatedIndexError(
                f"{self.directory}의 인덱스는 모델의 지문을 버전 {saved['version']} 방식으로 기록했는데 이 mmembed는 "
                f"버전 {current['version']} 방식으로 계산하므로 질의의 모델을 확인할 수 없습니다: "
                f"인덱스를 다시 만드세요 (python -m mmembed index {self.folder} --output {self.directory})."
            )
        if current != saved:
            raise WrongModelError(
                f"이 인덱스는 '{self.model}' 모델로 만들었는데 질의는 '{model_label(model)}' 모델에서 나왔습니다: "
                f"두 모델의 임베딩은 서로 다른 공간에 있습니다. --model {self.model}로 검색하세요 "
                "(또는 이 모델로 인덱스를 다시 만드세요)."
            )

    def search(self, query_embeddings, k: int = 5) -> list[list[tuple[str, float]]]:
        """The k pictures most similar to each query, best first, as (path relative to the folder, cosine)."""
        if not 1 <= k <= len(self.names):
            raise KOutOfRangeError(f"k는 1부터 인덱스의 사진 수({len(self.names)})까지여야 하는데 {k}입니다.")
        queries = torch.as_tensor(query_embeddings).float()
        queries = F.normalize(queries.unsqueeze(0) if queries.ndim == 1 else queries, dim=-1).numpy()
        if queries.shape[1] != self.about["dimension"]:
            raise WrongModelError(
                f"질의는 {queries.shape[1]}차원인데 이 인덱스에는 '{self.model}' 모델의 "
                f"{self.about['dimension']}차원 임베딩이 들어 있습니다."
            )
        scores, rows = self.faiss_index.search(queries, k)
        return [
            [(self.names[row], float(score)) for score, row in zip(row_scores, row_ids) if row >= 0]
            for row_scores, row_ids in zip(scores, rows)
        ]
