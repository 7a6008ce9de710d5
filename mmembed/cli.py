"""The command line: `python -m mmembed {search,index,cache,check,download,evaluate,viz}`.

Each command imports what it needs when it runs, so `--help` and a mistyped command are answered at once, before
torch (seconds to import) loads. The library raises; this module turns an expected failure (OSError, ValueError)
into one line on stderr and exit status 1.
"""

import argparse
import sys
import warnings
from pathlib import Path

from .choices import ENGINES, INDEX_KINDS, LANGUAGES, PRECISIONS
from .paths import QUIZ_IMAGE_DIR, REPO_ROOT
from .zoo.hub import COURSE_MODELS


def _show(path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def run_search(args) -> None:
    """`search`: the query, the folder and -k are checked first, so a typo is answered before torch loads."""
    from .images import image_files
    from .texts import check_texts

    query = check_texts([args.query])[0]
    if args.index is not None:
        return search_index(args, query)
    folder = Path(args.folder or QUIZ_IMAGE_DIR)
    check_k(args.k, len(image_files(folder)))
    search_folder(args, query, folder)


def search_folder(args, query: str, folder) -> None:
    from .cache import embed_folder
    from .embedding import embed_texts
    from .manifest import captions
    from .similarity import search

    model, processor = load_model(args)
    found = embed_folder(folder, model, processor, precision=args.precision)
    check_k(args.k, len(found.names))  # fewer, if some files were not readable pictures
    print(f"Searching {len(found.names)} images in {_show(folder)} for {query!r}")
    print(f"Embeddings: {found.computed} computed, {found.cached} from the cache ({found.precision})")
    text_embedding = embed_texts([query], model, processor, precision=args.precision)
    found_captions = captions()
    for rank, (name, score) in enumerate(search(text_embedding, found.embeddings, found.names, k=args.k), start=1):
        print(f"{rank:>2}. {name:<24} {score:.4f}  {found_captions.get((folder / name).resolve(), '')}".rstrip())


def search_index(args, query: str) -> None:
    """`search "text" --index INDEX_DIR`: with the index's own model unless --model names one (it must match)."""
    from .embedding import embed_texts
    from .index import PictureIndex
    from .manifest import captions

    if args.folder is not None:
        raise ValueError("Give a folder or --index, not both.")
    index = PictureIndex.open(args.index)
    check_k(args.k, len(index.names))
    model, processor = load_model(args, default=index.model)
    index.check_model(model)
    print(f"Searching {len(index.names)} images in the {index.kind} index {_show(Path(args.index))} for {query!r}")
    text_embedding = embed_texts([query], model, processor, precision=args.precision)
    found_captions = captions()
    for rank, (name, score) in enumerate(index.search(text_embedding, k=args.k)[0], start=1):
        print(f"{rank:>2}. {name:<24} {score:.4f}  {found_captions.get((index.folder / name).resolve(), '')}".rstrip())


def run_index(args) -> None:
    from .images import picture_files

    output = Path(args.output)
    if args.from_embeddings is not None:
        return index_embeddings(args, output)
    if args.folder is None:
        raise ValueError("Give a folder of pictures, or --from-embeddings DIR.")
    folder = Path(args.folder)
    pictures = len(picture_files(folder))  # a missing folder fails before torch and the model load
    if args.engine == "ray":
        return build_ray_index(args, folder, output, pictures)
    build_folder_index(args, folder, output, pictures)


def index_embeddings(args, output) -> None:
    """`index --from-embeddings DIR --model NAME`: clip-retrieval's layout does not record the model."""
    from .scale import index_from_embeddings

    if args.folder is not None or args.engine != "local":
        raise ValueError("--from-embeddings takes no folder and no --engine: the embeddings are already made.")
    if args.model is None:
        raise ValueError("--from-embeddings needs --model: the embeddings' folder does not say which model made them.")
    report = index_from_embeddings(args.from_embeddings, output, args.model, kind=args.kind)
    print_index(report, output)


def build_ray_index(args, folder, output, pictures: int) -> None:
    from .scale import RayMissingError, build_index_with_ray
    from .scale.cluster import RayStartError

    print(f"Indexing {pictures} pictures under {_show(folder)} on Ray Data, subfolders included")
    try:
        report = build_index_with_ray(
            folder,
            output,
            args.model,
            address=args.address,
            workers=args.workers,
            gpus_per_worker=args.gpus_per_worker,
            precision=args.precision,
            kind=args.kind,
        )
    except (RayMissingError, RayStartError) as error:
        raise ValueError(str(error)) from None
    except KeyboardInterrupt:
        print(
            f"Interrupted: run the same command again to resume (finished shards: {output / 'shards.json'}).",
            file=sys.stderr,
        )
        sys.exit(130)
    print(
        f"Ray: {report.workers} workers; shards {report.shards_embedded} embedded, {report.shards_reused} reused; "
        f"cluster start {report.startup_seconds:.1f} s, embedding {report.embedding_seconds:.1f} s"
    )
    if report.log_folder is not None:
        print(f"Ray's logs: {report.log_folder}")
    print_index(report.index, output)


def build_folder_index(args, folder, output, pictures: int) -> None:
    from .index import build_index

    model, processor = load_model(args)
    print(f"Indexing {pictures} pictures under {_show(folder)}, subfolders included")
    try:
        report = build_index(folder, output, model, processor, kind=args.kind, precision=args.precision)
    except KeyboardInterrupt:
        print("Interrupted: run the same command again to resume (what was embedded is in the cache).", file=sys.stderr)
        sys.exit(130)
    print(f"Embeddings: {report.computed} computed, {report.cached} from the cache ({report.precision})")
    print_index(report, output)


def print_index(report, output) -> None:
    print(
        f"Index: {report.kind}, {report.vectors} vectors of {report.dimension} dimensions, "
        f"{report.bytes / 1e6:.1f} MB in {_show(output)}"
    )


def load_model(args, default: str | None = None):
    """The model of --model (else `default`, else load_clip's choice), after checking --precision; says which."""
    from transformers.utils import logging as transformers_logging

    from .precision import resolve_precision
    from .zoo import load_clip, pick_device

    transformers_logging.disable_progress_bar()  # one "Loading weights" bar per run is noise in a terminal
    resolve_precision(args.precision, pick_device())
    model, processor = load_clip(args.model or default)
    print(f"Model: {model.mmembed_name}")
    return model, processor


def check_k(k: int, pictures: int) -> None:
    if not 1 <= k <= pictures:
        raise ValueError(f"-k must be between 1 and the number of images ({pictures}), got {k}.")


def run_download(args) -> None:
    from .zoo.hub import download

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
    """One [OK]/[FAIL] line per requirement, each as soon as it is known; exit status 1 if any failed."""
    from .check import verdicts

    failures = 0
    for ok, message in verdicts():
        print(f"[{'OK' if ok else 'FAIL'}] {message}", flush=True)
        failures += not ok
    if failures:
        sys.exit(1)


def run_evaluate(args) -> None:
    import json

    from transformers.utils import logging as transformers_logging

    from .training.evaluate import evaluate, figure_lines
    from .training.validity import read_texts, validity, validity_lines
    from .zoo import load_clip

    transformers_logging.disable_progress_bar()
    texts = read_texts(args.texts) if args.texts else None  # a wrong folder is answered before the model loads
    model, processor = load_clip(args.model, device="cpu")
    figures = evaluate(model, processor)
    rates = validity(model, processor, texts) if texts else None
    if args.json:
        print(json.dumps(figures | ({"validity": rates} if rates else {}), indent=2, ensure_ascii=False))
        return
    print(f"Model: {model.mmembed_name} (on the 200 quiz pictures and 9 dogs of the course)")
    print("\n".join(figure_lines(figures)))
    if rates:
        print(f"  held-out validity, on the texts of {_show(args.texts)}")
        print("\n".join(validity_lines(rates)))


def run_viz(args) -> None:
    import matplotlib

    matplotlib.use("Agg")  # a file, not a window: the command runs in terminals without a display
    from .viz import folder_sheet

    figure = folder_sheet(args.folder, lang=args.lang, columns=args.columns)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m mmembed", description="Multimodal embeddings course helper.")
    commands = main.add_subparsers(dest="command", required=True)

    search = commands.add_parser("search", help="text-to-image search over a folder of pictures")
    search.add_argument("query", help='the text to search for, e.g. "A dog"')
    search.add_argument("folder", nargs="?", default=None, help=f"default: {_show(QUIZ_IMAGE_DIR)}")
    search.add_argument("--index", metavar="INDEX_DIR", help="search an index built by `index` instead of a folder")
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

    index = commands.add_parser("index", help="build a vector index over a folder of pictures, subfolders included")
    index.add_argument("folder", nargs="?", help="the pictures to index, e.g. images (not with --from-embeddings)")
    index.add_argument("--output", required=True, metavar="INDEX_DIR", help="the folder to save the index in")
    index.add_argument(
        "--kind",
        choices=INDEX_KINDS,
        default="auto",
        help="flat (exact), hnsw (approximate), or auto: flat up to 10,000 pictures, hnsw above (default)",
    )
    index.add_argument("--model", default=None, help="as for search")
    index.add_argument("--precision", choices=PRECISIONS, default=None, help="as for search")
    index.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help='local: this process (default); ray: Ray Data workers (pip install ".[scale]")',
    )
    index.add_argument(
        "--address", help='with --engine ray: a running cluster ("auto", "ray://head:10001"); default: a new local one'
    )
    index.add_argument("--workers", type=int, help="with --engine ray: how many workers (default: one per core share)")
    index.add_argument(
        "--gpus-per-worker", type=float, default=0, help="with --engine ray: GPUs per worker (default 0)"
    )
    index.add_argument(
        "--from-embeddings",
        metavar="DIR",
        help="index embeddings saved in clip-retrieval's layout (img_emb/, metadata/); needs --model",
    )
    index.set_defaults(run=run_index)

    download = commands.add_parser("download", help="prefetch the course's hub models for offline use")
    download.add_argument("--models", nargs="+", default=list(COURSE_MODELS), metavar="HUB_ID")
    download.set_defaults(run=run_download)

    cache = commands.add_parser("cache", help="the embedding cache: what it holds (info) or empty it (clear)")
    cache.add_argument("action", choices=["info", "clear"])
    cache.set_defaults(run=run_cache)

    check = commands.add_parser("check", help="check that this machine is ready for the course")
    check.set_defaults(run=run_check)

    evaluate = commands.add_parser(
        "evaluate", help="how well a model finds the course pictures: recall@k, zero-shot, the dog group"
    )
    evaluate.add_argument("--model", default="mini", help='default "mini"; a model folder works too')
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.add_argument(
        "--texts",
        type=Path,
        metavar="DIR",
        help="also the held-out validity rates on the evaluation texts in DIR (maintainers: tests/evaluation_texts)",
    )
    evaluate.set_defaults(run=run_evaluate)

    viz = commands.add_parser("viz", help="a contact sheet: every picture of a folder with its caption, as a PNG")
    viz.add_argument("folder", nargs="?", default=QUIZ_IMAGE_DIR, type=Path, help=f"default: {_show(QUIZ_IMAGE_DIR)}")
    viz.add_argument("--out", type=Path, default=Path("sheet.png"), help="the PNG to write (default sheet.png)")
    viz.add_argument("--lang", choices=LANGUAGES, default="en", help="the captions' language (default en)")
    viz.add_argument("--columns", type=int, default=10, help="pictures per row (default 10)")
    viz.set_defaults(run=run_viz)
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"
    try:
        args.run(args)
    except (OSError, ValueError) as error:  # expected failures get one line, not a traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
