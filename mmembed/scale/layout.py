"""Embeddings on disk as clip-retrieval writes them, so that autofaiss and embedding-reader read them as they are.

The layout follows clip-retrieval 2.45.0 (clip_retrieval/clip_inference/writer.py, unchanged since 2.x in 2022):

    img_emb/img_emb_<N>.npy           the embeddings of shard N, one row per picture (np.save)
    metadata/metadata_<N>.parquet     the same shard's pictures, row for row: the column `image_path`

N is zero-padded to the number of digits of the shard count, as clip-retrieval pads its partitions
(img_emb_0.npy .. img_emb_9.npy for up to 10 shards, img_emb_00.npy .. for up to 100). The one difference:
clip-retrieval stores float16; this project stores float32, normalised, so an index built from the folder
answers exactly as the single process does. embedding-reader and autofaiss read either, from the .npy header.
The layout records no model: whoever reads the folder must know which model made it.
"""

import io
import math
import re
from pathlib import Path

import numpy as np

from ..files import write_atomically

EMBEDDINGS_FOLDER = "img_emb"
METADATA_FOLDER = "metadata"
PATH_COLUMN = "image_path"
SHARD_NUMBER = re.compile(r"^img_emb_(\d+)\.npy$")


class LayoutError(ValueError):
    """A folder that is not in clip-retrieval's layout, or whose embeddings and metadata disagree."""


def shard_digits(shard_count: int) -> int:
    """How many digits clip-retrieval pads shard numbers to: int(log10(count)) + 1."""
    return int(math.log10(max(shard_count, 1))) + 1


def shard_files(folder: Path, number: int, shard_count: int) -> tuple[Path, Path]:
    """(embeddings file, metadata file) of shard `number` of `shard_count`."""
    label = str(number).zfill(shard_digits(shard_count))
    return (
        folder / EMBEDDINGS_FOLDER / f"img_emb_{label}.npy",
        folder / METADATA_FOLDER / f"metadata_{label}.parquet",
    )


def write_shard(folder: Path, number: int, shard_count: int, vectors: np.ndarray, image_paths: list[str]) -> None:
    """Write one shard: its embeddings and, row for row, its pictures' paths. Each file is written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(vectors) != len(image_paths):
        raise LayoutError(f"shard {number}: {len(vectors)} embeddings for {len(image_paths)} pictures")
    embeddings_file, metadata_file = shard_files(folder, number, shard_count)
    embeddings_file.parent.mkdir(parents=True, exist_ok=True)
    metadata_file.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    write_atomically(embeddings_file, buffer.getvalue())
    table = io.BytesIO()
    pq.write_table(pa.table({PATH_COLUMN: pa.array(image_paths, pa.string())}), table)
    write_atomically(metadata_file, table.getvalue())


def embeddings_files(folder: Path) -> dict[int, Path]:
    """{shard number: its img_emb file} in `folder`/img_emb, in shard order, whatever their zero padding."""
    embeddings = Path(folder) / EMBEDDINGS_FOLDER
    if not embeddings.is_dir():
        raise LayoutError(f"{folder}에 {EMBEDDINGS_FOLDER}/ 폴더가 없습니다: clip-retrieval 형식의 임베딩이 아닙니다.")
    found = {int(match.group(1)): p for p in embeddings.iterdir() if (match := SHARD_NUMBER.match(p.name))}
    return dict(sorted(found.items()))


def read_shard(embeddings_file: Path) -> tuple[np.ndarray, list[str]]:
    """(float32 embeddings, image paths) of the shard whose img_emb file is `embeddings_file`."""
    import pyarrow.parquet as pq

    label = embeddings_file.stem.removeprefix("img_emb_")
    metadata_file = embeddings_file.parent.parent / METADATA_FOLDER / f"metadata_{label}.parquet"
    vectors = np.load(embeddings_file, allow_pickle=False).astype(np.float32, copy=False)
    try:
        image_paths = pq.read_table(metadata_file, columns=[PATH_COLUMN]).column(PATH_COLUMN).to_pylist()
    except FileNotFoundError:
        raise LayoutError(f"{embeddings_file.name}에 맞는 {METADATA_FOLDER}/{metadata_file.name}이 없습니다") from None
    if vectors.ndim != 2 or len(vectors) != len(image_paths):
        raise LayoutError(
            f"{embeddings_file.name}의 임베딩은 {vectors.shape}인데 {metadata_file.name}은 {len(image_paths)}행입니다"
        )
    return vectors, image_paths


def read_embeddings(folder: str | Path) -> tuple[np.ndarray, list[str]]:
    """Every shard of `folder`, in shard order: (N, D) float32 embeddings and the N image paths."""
    folder = Path(folder)
    files = embeddings_files(folder)
    if not files:
        raise LayoutError(f"{folder / EMBEDDINGS_FOLDER}에 img_emb_N.npy 파일이 없습니다.")
    shards = [read_shard(path) for path in files.values()]
    dimensions = {vectors.shape[1] for vectors, _ in shards}
    if len(dimensions) > 1:
        raise LayoutError(f"{folder}의 샤드들의 차원이 서로 다릅니다: {sorted(dimensions)}")
    return np.concatenate([vectors for vectors, _ in shards]), [path for _, paths in shards for path in paths]
