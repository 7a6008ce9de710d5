"""One pipeline from picture files to embeddings, through one cache, so that no picture is embedded twice.

`embed_paths` embeds a list of picture files; `embed_folder` (lectures 04 and later) and the index
(`python -m mmembed index`) both call it. `python -m mmembed cache info | clear` shows and empties the cache.

An entry is one picture's embedding, a small .npy file:

    <cache folder>/images/<settings key>/<SHA-256 of the picture file>.npy

The settings key is a hash of everything that changes an embedding: the model (its class, its config, its
weights: the hub revision or a hash of its weight files, and the fingerprint of its weights as they are in memory,
mmembed.fingerprint, so a model trained after loading gets a new key), the image processor's settings, the
precision, the device type and the transformers version. A changed picture has a new content hash and a changed
model a new key, so neither is ever served stale; a renamed or copied picture costs nothing. Nothing outside this
module depends on the key: changing it costs recomputing the entries, nothing more.

The cache folder: MMEMBED_CACHE, else the user cache folder (platformdirs: ~/.cache/mmembed on Linux).
Writes are atomic (a temporary file, then a rename). An unreadable entry is recomputed with a one-line warning.
"""

import hashlib
import io
import json
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch
import transformers
from PIL import Image, UnidentifiedImageError

from .embedding import batched, embed_batches, model_device, prepare_workers
from .files import write_atomically
from .fingerprint import model_fingerprint, model_label
from .images import image_files, load_image
from .precision import Precision, resolve_precision

CACHE_ENV = "MMEMBED_CACHE"
FORMAT = 2  # bump when the entry layout or the settings key changes (2: the fingerprint with its version)
UNREADABLE_PICTURE = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError)  # as load_images
UNREADABLE_ENTRY = (OSError, ValueError, EOFError)
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def cache_dir() -> Path:
    """Where the cache lives: MMEMBED_CACHE, else the user cache folder for "mmembed"."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(platformdirs.user_cache_dir("mmembed"))


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- which model: weights on disk, and as they are in memory ----


class WeightHashes:
    """SHA-256 of weight files, remembered by path, size and modification time in `<cache>/weights.json`,
    so a 600 MB file is read once, not on every run."""

    def __init__(self, root: Path):
        self.path = root / "weights.json"
        try:
            self.known = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}

    def sha256(self, file: Path) -> str:
        stat = file.stat()
        key = str(file.resolve())
        remembered = self.known.get(key)
        if isinstance(remembered, dict) and remembered.get("stamp") == [stat.st_size, stat.st_mtime_ns]:
            return remembered["sha256"]
        digest = file_sha256(file)
        self.known[key] = {"stamp": [stat.st_size, stat.st_mtime_ns], "sha256": digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(self.known, indent=1).encode("utf-8"))
        except OSError:
            pass  # not remembered: the next run hashes the file again
        return digest


def hub_snapshot_id(folder: Path) -> str | None:
    """'hub:<repo>@<revision>' for a folder inside the Hugging Face cache (.../models--org--name/snapshots/<rev>)."""
    parts = folder.resolve().parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return f"hub:{parts[-3].removeprefix('models--').replace('--', '/')}@{parts[-1]}"
    return None


def weights_id(source: str, hashes: WeightHashes) -> str | None:
    """What identifies the weights a model was loaded from: a hub revision or a hash of its weight files."""
    if not source:
        return None
    folder = Path(source).expanduser()
    if folder.is_dir():
        if snapshot := hub_snapshot_id(folder):
            return snapshot
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
        if not files:
            return None
        return "sha256:" + text_sha256(" ".join(f"{p.name}={hashes.sha256(p)}" for p in files))
    try:  # a hub id: the snapshot from_pretrained read, found in the local cache without asking the hub
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(source, "config.json")
    except Exception:
        return None
    return hub_snapshot_id(Path(config).parent) if isinstance(config, str) else None


def model_identity(model, hashes: WeightHashes) -> dict:
    """Which model, for the settings key: its class, config, weights on disk and fingerprint in memory."""
    source = str(getattr(model, "name_or_path", "") or "")
    return {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": text_sha256(model.config.to_json_string()),
        "weights": weights_id(source, hashes),
        "fingerprint": model_fingerprint(model),
    }


def processor_settings(processor) -> str:
    image_processor = getattr(processor, "image_processor", processor)
    settings = image_processor.to_dict() if hasattr(image_processor, "to_dict") else repr(image_processor)
    return json.dumps(settings, sort_keys=True, default=str)


# ---- the entries ----


class ImageStore:
    """The entries of one settings key: get and put one picture's embedding by the picture's content hash."""

    def __init__(self, root: Path, model, processor, precision: Precision, device: torch.device):
        settings = {
            "format": FORMAT,
            "model": model_identity(model, WeightHashes(root)),
            "processor": processor_settings(processor),
            "precision": precision,
            "device": device.type,
            "transformers": transformers.__version__,
        }
        self.folder = root / "images" / text_sha256(json.dumps(settings, sort_keys=True))[:32]
        self.about = {"model": model_label(model), "precision": precision, "device": device.type}
        self.writable = True

    def get(self, content_hash: str) -> np.ndarray | None:
        """The cached embedding, or None when there is none. Raises one of UNREADABLE_ENTRY for a broken one."""
        path = self.folder / f"{content_hash}.npy"
        if not path.exists():
            return None
        vector = np.load(path, allow_pickle=False)
        if vector.dtype != np.float32 or vector.ndim != 1 or vector.size == 0 or not np.isfinite(vector).all():
            raise ValueError(f"not a float32 embedding vector ({vector.dtype}, shape {vector.shape})")
        return vector

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        if not self.writable:
            return
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True, exist_ok=True)
                write_atomically(self.folder / "about.json", json.dumps(self.about).encode("utf-8"))
            buffer = io.BytesIO()
            np.save(buffer, vector.astype(np.float32, copy=False), allow_pickle=False)
            write_atomically(self.folder / f"{content_hash}.npy", buffer.getvalue())
        except OSError as error:
            self.writable = False
            warnings.warn(f"{self.folder}에 쓸 수 없어서 임베딩을 캐시에 저장하지 않습니다 ({error})", stacklevel=3)


# ---- embed_paths and embed_folder ----


@dataclass
class FolderEmbeddings:
    """What `embed_paths` and `embed_folder` return. It unpacks as `embeddings, names = embed_folder(...)`; the
    counts are for whoever wants to know how much the cache saved (`python -m mmembed index`, the benchmark)."""

    embeddings: torch.Tensor  # (N, D) float32, row i is the picture paths[i]
    paths: list[Path]  # the readable pictures, in the order they were given
    computed: int  # pictures the model embedded in this call
    cached: int  # pictures whose embedding came from the cache
    precision: Precision  # as resolved

    @property
    def names(self) -> list[str]:
        """The pictures' file names: embed_folder's are in natural order, as load_images gives them."""
        return [path.name for path in self.paths]

    def __iter__(self):
        return iter((self.embeddings, self.names))


def embed_folder(
    folder: str | Path,
    model,
    processor,
    cache: bool | str | Path = True,
    precision: str | None = None,
    batch_size: int = 32,
    progress: bool | None = None,
) -> FolderEmbeddings:
    """Embed every readable picture in `folder`: `embeddings, names = embed_folder(...)` gives the (N, D) float32
    embeddings and the file names in natural order.

    With `cache=True` (or a folder to keep the cache in) a picture embedded before with the same model,
    processor settings and precision is read from the cache instead. Unreadable pictures are skipped with a
    warning, as in `load_images`.
    """
    return embed_paths(image_files(folder), model, processor, cache, precision, batch_size, progress)


def embed_paths(
    paths: Sequence[Path],
    model,
    processor,
    cache: bool | str | Path = True,
    precision: str | None = None,
    batch_size: int = 32,
    progress: bool | None = None,
) -> FolderEmbeddings:
    """Embed the pictures at `paths`, in that order, through the cache (as embed_folder); an unreadable one is left
    out with a one-line warning. Each batch is cached as soon as it is embedded, so a run that was interrupted
    resumes where it stopped. Raises FileNotFoundError when no picture is readable."""
    device = model_device(model)
    precision = resolve_precision(precision, device)
    store = None
    if cache is not False and cache is not None:
        root = cache_dir() if cache is True else Path(cache).expanduser()
        store = ImageStore(root, model, processor, precision, device)

    vectors = look_up(paths, store)
    missing = [path for path, vector in vectors.items() if vector is None]
    for path, content_hash, vector in embed_pictures(missing, model, processor, precision, batch_size, progress):
        vectors[path] = vector
        if store is not None:
            store.put(content_hash, vector)
    vectors = {path: vector for path, vector in vectors.items() if vector is not None}  # the readable pictures
    if not vectors:
        where = os.path.commonpath([Path(path).parent for path in paths]) if paths else "빈 파일 목록"
        raise FileNotFoundError(f"{where}에 읽을 수 있는 사진이 없습니다")
    embeddings = torch.from_numpy(np.stack(list(vectors.values())))
    computed = sum(path in vectors for path in missing)
    return FolderEmbeddings(embeddings, list(vectors), computed, len(vectors) - computed, precision)


def look_up(paths: Sequence[Path], store: ImageStore | None) -> dict[Path, np.ndarray | None]:
    """{picture: its cached embedding, or None}, in the order of `paths`; unreadable files are left out."""
    vectors, broken = {}, []
    for path in paths:
        path = Path(path)
        try:
            content_hash = file_sha256(path)
        except OSError as error:
            warn_unreadable(path, error)
            continue
        try:
            vectors[path] = store.get(content_hash) if store is not None else None
        except UNREADABLE_ENTRY:
            vectors[path] = None
            broken.append(path.name)
    if broken:
        shown = ", ".join(broken[:3]) + (", ..." if len(broken) > 3 else "")
        warnings.warn(
            f"캐시 {store.folder}에서 읽지 못한 임베딩 {len(broken)}개를 다시 계산합니다 ({shown})", stacklevel=3
        )
    return vectors


def embed_pictures(
    paths: list[Path], model, processor, precision: Precision, batch_size: int, progress: bool | None
) -> Iterator[tuple[Path, str, np.ndarray]]:
    """(picture, SHA-256 of the bytes embedded, embedding) for each readable picture at `paths`, batch by batch;
    an unreadable one is skipped with a warning.

    Reading and decoding happen in the background with the rest of the preparation, one batch ahead of the model.
    """

    def prepare(batch):
        pictures, done, failed = [], [], []
        for path in batch:
            try:
                data = path.read_bytes()
                pictures.append(load_image(io.BytesIO(data)))
            except UNREADABLE_PICTURE as error:
                failed.append((path, error))
                continue
            done.append((path, hashlib.sha256(data).hexdigest()))  # the bytes embedded, even if the file changed
        inputs = {"pixel_values": processor(images=pictures, return_tensors="pt")["pixel_values"]} if pictures else None
        return (done, failed), inputs

    batches = batched(paths, batch_size)
    workers = prepare_workers(model_device(model))
    for (done, failed), embeddings in embed_batches(
        batches, prepare, model, "image", precision, "사진 임베딩", progress, workers
    ):
        for path, error in failed:
            warn_unreadable(path, error)
        for (path, content_hash), vector in zip(done, embeddings if embeddings is not None else []):
            yield path, content_hash, vector.numpy()


def warn_unreadable(path: Path, error: Exception) -> None:
    warnings.warn(f"읽을 수 있는 사진이 아니어서 건너뜁니다: {path} ({error})", stacklevel=2)


# ---- python -m mmembed cache info | clear ----


@dataclass
class CacheSet:
    about: dict  # model label, precision, device
    entries: int
    size: int  # bytes


def cache_sets(root: Path | None = None) -> list[CacheSet]:
    """What the cache holds: one set of entries per model, processor settings and precision."""
    images = (root or cache_dir()) / "images"
    sets = []
    for folder in sorted(images.iterdir()) if images.is_dir() else []:
        try:
            about = json.loads((folder / "about.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            about = {"model": "?", "precision": "?", "device": "?"}
        entries = list(folder.glob("*.npy"))
        sets.append(CacheSet(about, len(entries), sum(entry.stat().st_size for entry in entries)))
    return sets


def clear_cache(root: Path | None = None) -> int:
    """Delete every cached embedding and remembered weight hash; returns how many embeddings were deleted.
    Only the cache's own files go: MMEMBED_CACHE may point at a folder that holds other things too."""
    root = root or cache_dir()
    removed = sum(entry.entries for entry in cache_sets(root))
    shutil.rmtree(root / "images", ignore_errors=True)
    (root / "weights.json").unlink(missing_ok=True)
    return removed
