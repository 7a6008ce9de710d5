"""The shard plan and its manifest: what resumes an interrupted Ray build.

The pictures, in the natural order of mmembed.images.picture_files, are cut into shards of SHARD_SIZE. Each shard
is written whole (layout.write_shard) and only then recorded in `shards.json` beside it, atomically, so a shard
in the manifest is complete. On a cluster the embedding cache is per node, so this manifest, on the driver, is
what a rerun reads: a shard recorded with the same pictures (paths, sizes, modification times), model
fingerprint and precision is never embedded again; every other shard is.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..files import write_atomically
from .layout import shard_files

MANIFEST_NAME = "shards.json"
FORMAT = 1
SHARD_SIZE = 1000  # pictures per shard: what a kill can cost at most, per worker, and the driver holds at most


@dataclass
class Shard:
    number: int
    files: list[Path]

    def input_digest(self, folder: Path) -> str:
        """A SHA-256 of the shard's pictures as the file system lists them: path, size, modification time."""
        digest = hashlib.sha256()
        for path in self.files:
            stat = path.stat()
            digest.update(f"{path.relative_to(folder).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()


def plan_shards(files: list[Path], shard_size: int = SHARD_SIZE) -> list[Shard]:
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    starts = range(0, len(files), shard_size)
    return [Shard(number, files[start : start + shard_size]) for number, start in enumerate(starts)]


@dataclass
class ShardManifest:
    """shards.json: the build's settings and, per finished shard, its input digest and the pictures skipped."""

    path: Path
    settings: dict  # folder, model fingerprint, precision, shard size, shard count: a change starts over
    done: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, output: Path, settings: dict) -> "ShardManifest":
        path = Path(output) / MANIFEST_NAME
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        if saved.get("format") != FORMAT or saved.get("settings") != settings:
            return cls(path, settings)  # another build: none of its shards count
        return cls(path, settings, {int(number): entry for number, entry in saved["shards"].items()})

    def is_done(self, shard: Shard, folder: Path, shard_count: int) -> bool:
        entry = self.done.get(shard.number)
        return (
            entry is not None
            and entry["input"] == shard.input_digest(folder)
            and all(path.is_file() for path in shard_files(self.path.parent, shard.number, shard_count))
        )

    def record(self, shard: Shard, folder: Path, embedded: int, skipped: list[str]) -> None:
        self.done[shard.number] = {"input": shard.input_digest(folder), "embedded": embedded, "skipped": skipped}
        document = {"format": FORMAT, "settings": self.settings, "shards": {str(n): e for n, e in self.done.items()}}
        write_atomically(self.path, json.dumps(document, indent=1).encode("utf-8"))
