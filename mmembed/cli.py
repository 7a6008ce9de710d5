"""The command line: `python -m mmembed {search,download,cache,check}`."""

import argparse
import sys
import warnings

from .hub import COURSE_MODELS
from .paths import QUIZ_IMAGE_DIR, REPO_ROOT

PRECISIONS = ("fp32", "bf16", "auto")  # mmembed.precision.PRECISIONS, not imported here: it imports torch


def _show(path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def run_search(args) -> None:
    from pathlib import Path

    from .cache import embed_folder_counted
    from .embedding import check_texts, embed_texts
    from .images import image_files
    from .models import load_clip, pick_device
    from .precision import resolve_precision
    from .search import search

    query = check_texts([args.query])[0]  # fail on bad input before loading anything
    resolve_precision(args.precision, pick_device())
    folder = Path(args.folder)
    pictures = len(image_files(folder))
    check_k(args.k, pictures)
    model, processor = load_clip(args.model)
    print(f"Model: {model.mmembed_name}")
    found = embed_folder_counted(folder, model, processor, precision=args.precision)
    check_k(args.k, len(found.names))  # fewer, if some files were not readable pictures
    print(f"Searching {len(found.names)} images in {_show(folder)} for {query!r}")
    print(f"Embeddings: {found.computed} computed, {found.cached} from the cache ({found.precision})")
    text_embedding = embed_texts([query], model, processor, precision=args.precision)
    captions = course_captions(folder)
    for rank, (name, score) in enumerate(search(text_embedding, found.embeddings, found.names, k=args.k), start=1):
        print(f"{rank:>2}. {name:<24} {score:.4f}  {captions.get(name, '')}".rstrip())


def check_k(k: int, pictures: int) -> None:
    if not 1 <= k <= pictures:
        raise ValueError(f"-k must be between 1 and the number of images ({pictures}), got {k}.")


def course_captions(folder) -> dict[str, str]:
    """{file name: English caption} when `folder` is one of the course's picture folders, else {}."""
    from .manifest import read_manifest
    from .paths import IMAGES_DIR

    try:
        relative = folder.resolve().relative_to(IMAGES_DIR.resolve()).as_posix()
    except ValueError:
        return {}
    return {p.path.rsplit("/", 1)[-1]: p.caption_en for p in read_manifest() if p.path.rsplit("/", 1)[0] == relative}


def run_download(args) -> None:
    from .hub import download

    for folder in download(tuple(args.models)):
        print(folder)


def run_cache(args) -> None:
    from .cache import cache_dir, cache_sets, clear_cache

    root = cache_dir()
    if args.action == "clear":
        print(f"Removed {clear_cache(root)} cached embeddings from {root}")
        return
    sets = cache_sets(root)
    print(f"Embedding cache: {root} (set MMEMBED_CACHE to move it)")
    for entry in sets:
        about = entry.about
        print(
            f"  {entry.entries:>6} pictures  {entry.size / 1e6:7.1f} MB  "
            f"{about.get('model')}, {about.get('precision')} on {about.get('device')}"
        )
    total = sum(entry.entries for entry in sets)
    print(f"Total: {total} embeddings, {sum(entry.size for entry in sets) / 1e6:.1f} MB")


def run_check(args) -> None:
    from .check import run_checks

    if run_checks():
        sys.exit(1)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m mmembed", description="Multimodal embeddings course helper.")
    commands = main.add_subparsers(dest="command", required=True)

    search = commands.add_parser("search", help="text-to-image search over a folder of pictures")
    search.add_argument("query", help='the text to search for, e.g. "A dog"')
    search.add_argument("folder", nargs="?", default=QUIZ_IMAGE_DIR, help=f"default: {_show(QUIZ_IMAGE_DIR)}")
    search.add_argument("-k", type=int, default=5, help="how many results to show (default 5)")
    search.add_argument(
        "--model",
        default=None,
        help='hub id, local folder, "tiny" or "mini" (default: MMEMBED_MODEL, else the lecture model)',
    )
    search.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="number format of the model (default: MMEMBED_PRECISION, else auto: bf16 where the hardware has it)",
    )
    search.set_defaults(run=run_search)

    download = commands.add_parser("download", help="prefetch the course's hub models for offline use")
    download.add_argument("--models", nargs="+", default=list(COURSE_MODELS), metavar="HUB_ID")
    download.set_defaults(run=run_download)

    cache = commands.add_parser("cache", help="the embedding cache: what it holds (info) or empty it (clear)")
    cache.add_argument("action", choices=["info", "clear"])
    cache.set_defaults(run=run_cache)

    check = commands.add_parser("check", help="check that this machine is ready for the course")
    check.set_defaults(run=run_check)
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # one "Loading weights" bar per run is noise in a terminal
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"
    try:
        args.run(args)
    except (OSError, ValueError) as error:  # expected failures get one line, not a traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
