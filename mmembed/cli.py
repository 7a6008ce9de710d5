"""The command line: `python -m mmembed {search,index,cache,check,download,evaluate,viz}`.

Each command imports what it needs when it runs, so `--help` and a mistyped command are answered at once, before
torch (seconds to import) loads. The library raises; this module turns an expected failure (OSError, ValueError)
into one line on stderr and exit status 1.

What a student runs (search, index, download, cache, check: the README, the student edition's README and lectures
04, 06a and 08 name them) speaks Korean, notes, errors and help alike; `evaluate` and `viz`, which only maintainers
run, print their figures in English. argparse's own words ("usage:", "invalid choice") stay as argparse says them.
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
    print(f"질의 {query!r}: {_show(folder)}의 사진 {len(found.names)}장에서 찾습니다")
    print(embeddings_line(found))
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
        raise ValueError("폴더와 --index 중 하나만 주세요.")
    index = PictureIndex.open(args.index)
    check_k(args.k, len(index.names))
    model, processor = load_model(args, default=index.model)
    index.check_model(model)
    print(f"질의 {query!r}: {index.kind} 인덱스 {_show(Path(args.index))}의 사진 {len(index.names)}장에서 찾습니다")
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
        raise ValueError("인덱싱할 사진 폴더나 --from-embeddings 폴더를 주세요.")
    folder = Path(args.folder)
    pictures = len(picture_files(folder))  # a missing folder fails before torch and the model load
    if args.engine == "ray":
        return build_ray_index(args, folder, output, pictures)
    build_folder_index(args, folder, output, pictures)


def index_embeddings(args, output) -> None:
    """`index --from-embeddings DIR --model NAME`: clip-retrieval's layout does not record the model."""
    from .scale import index_from_embeddings

    if args.folder is not None or args.engine != "local":
        raise ValueError("--from-embeddings에는 사진 폴더도 --engine도 주지 않습니다: 임베딩이 이미 있습니다.")
    if args.model is None:
        raise ValueError("--from-embeddings에는 --model이 필요합니다: 어느 모델이 만든 임베딩인지 폴더에 없습니다.")
    report = index_from_embeddings(args.from_embeddings, output, args.model, kind=args.kind)
    print_index(report, output)


def build_ray_index(args, folder, output, pictures: int) -> None:
    from .scale import RayMissingError, build_index_with_ray
    from .scale.cluster import RayStartError

    print(f"{_show(folder)} 아래의 사진 {pictures}장을 Ray Data로 인덱싱합니다 (하위 폴더까지)")
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
            f"중단했습니다: 같은 명령을 다시 실행하면 이어서 합니다 (끝난 샤드: {output / 'shards.json'}).",
            file=sys.stderr,
        )
        sys.exit(130)
    print(
        f"Ray: 작업자 {report.workers}개, 샤드 {report.shards_embedded}개 임베딩·{report.shards_reused}개 재사용, "
        f"클러스터 시작 {report.startup_seconds:.1f}초, 임베딩 {report.embedding_seconds:.1f}초"
    )
    if report.log_folder is not None:
        print(f"Ray의 로그: {report.log_folder}")
    print_index(report.index, output)


def build_folder_index(args, folder, output, pictures: int) -> None:
    from .index import build_index

    model, processor = load_model(args)
    print(f"{_show(folder)} 아래의 사진 {pictures}장을 인덱싱합니다 (하위 폴더까지)")
    try:
        report = build_index(folder, output, model, processor, kind=args.kind, precision=args.precision)
    except KeyboardInterrupt:
        print("중단했습니다: 같은 명령을 다시 실행하면 이어서 합니다 (임베딩한 것은 캐시에 있습니다).", file=sys.stderr)
        sys.exit(130)
    print(embeddings_line(report))
    print_index(report, output)


def embeddings_line(report) -> str:
    """How many embeddings were computed now and how many came from the cache, in which precision."""
    return f"임베딩: 새로 계산 {report.computed}장, 캐시에서 {report.cached}장 ({report.precision})"


def print_index(report, output) -> None:
    print(
        f"인덱스: {report.kind}, {report.dimension}차원 벡터 {report.vectors}개, "
        f"{report.bytes / 1e6:.1f} MB ({_show(output)}에 저장)"
    )


def load_model(args, default: str | None = None):
    """The model of --model (else `default`, else load_clip's choice), after checking --precision; says which."""
    from transformers.utils import logging as transformers_logging

    from .precision import resolve_precision
    from .zoo import load_clip, pick_device

    transformers_logging.disable_progress_bar()  # one "Loading weights" bar per run is noise in a terminal
    resolve_precision(args.precision, pick_device())
    model, processor = load_clip(args.model or default)
    print(f"모델: {model.mmembed_name}")
    return model, processor


def check_k(k: int, pictures: int) -> None:
    if not 1 <= k <= pictures:
        raise ValueError(f"-k는 1부터 사진 수({pictures})까지여야 하는데 {k}입니다.")


def run_download(args) -> None:
    from .zoo.hub import download

    for folder in download(tuple(args.models)):
        print(folder)


def run_cache(args) -> None:
    from .cache import cache_dir, cache_sets, clear_cache

    root = cache_dir()
    if args.action == "clear":
        print(f"캐시한 임베딩 {clear_cache(root)}개를 지웠습니다: {root}")
        return
    sets = cache_sets(root)
    print(f"임베딩 캐시: {root} (다른 곳에 두려면 MMEMBED_CACHE를 정하세요)")
    for entry in sets:
        about = entry.about
        print(
            f"  사진 {entry.entries:>6}장  {entry.size / 1e6:7.1f} MB  "
            f"{about.get('model')}, {about.get('precision')}, 장치 {about.get('device')}"
        )
    total = sum(entry.entries for entry in sets)
    print(f"합계: 임베딩 {total}개, {sum(entry.size for entry in sets) / 1e6:.1f} MB")


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
    main = argparse.ArgumentParser(prog="python -m mmembed", description="멀티모달 임베딩 강의의 도우미 명령")
    commands = main.add_subparsers(dest="command", required=True)

    search = commands.add_parser("search", help="사진 폴더에서 문장으로 사진 찾기 (텍스트 → 이미지 검색)")
    search.add_argument("query", help='찾을 문장, 예: "A dog"')
    search.add_argument("folder", nargs="?", default=None, help=f"기본값: {_show(QUIZ_IMAGE_DIR)}")
    search.add_argument("--index", metavar="INDEX_DIR", help="폴더 대신 `index`로 만든 인덱스에서 찾기")
    search.add_argument("-k", type=int, default=5, help="보여 줄 결과 수 (기본값 5)")
    search.add_argument(
        "--model",
        default=None,
        help='허브 id, 모델 폴더, "tiny" 또는 "mini" (기본값: MMEMBED_MODEL, 없으면 강의 모델)',
    )
    search.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="모델의 정밀도 (기본값: MMEMBED_PRECISION, 없으면 auto: 하드웨어가 지원하면 bf16)",
    )
    search.set_defaults(run=run_search)

    index = commands.add_parser("index", help="사진 폴더(하위 폴더까지)의 벡터 인덱스 만들기")
    index.add_argument("folder", nargs="?", help="인덱싱할 사진 폴더, 예: images (--from-embeddings와 함께 쓰지 않음)")
    index.add_argument("--output", required=True, metavar="INDEX_DIR", help="인덱스를 저장할 폴더")
    index.add_argument(
        "--kind",
        choices=INDEX_KINDS,
        default="auto",
        help="flat(정확 검색), hnsw(근사 검색), auto: 10,000장까지 flat, 그보다 많으면 hnsw (기본값)",
    )
    index.add_argument("--model", default=None, help="search와 같음")
    index.add_argument("--precision", choices=PRECISIONS, default=None, help="search와 같음")
    index.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help='local: 이 프로세스 (기본값), ray: Ray Data의 작업자들 (pip install ".[scale]")',
    )
    index.add_argument(
        "--address", help='--engine ray일 때: 실행 중인 클러스터 ("auto", "ray://head:10001"), 기본값: 새 로컬 클러스터'
    )
    index.add_argument("--workers", type=int, help="--engine ray일 때: 작업자 수 (기본값: 코어를 나눠 정함)")
    index.add_argument(
        "--gpus-per-worker", type=float, default=0, help="--engine ray일 때: 작업자 하나의 GPU 수 (기본값 0)"
    )
    index.add_argument(
        "--from-embeddings",
        metavar="DIR",
        help="clip-retrieval 형식(img_emb/, metadata/)으로 저장한 임베딩을 인덱싱 (--model 필요)",
    )
    index.set_defaults(run=run_index)

    download = commands.add_parser("download", help="강의의 허브 모델을 미리 내려받아 인터넷 없이 쓰기")
    download.add_argument("--models", nargs="+", default=list(COURSE_MODELS), metavar="HUB_ID")
    download.set_defaults(run=run_download)

    cache = commands.add_parser("cache", help="임베딩 캐시: 들어 있는 것 보기(info), 비우기(clear)")
    cache.add_argument("action", choices=["info", "clear"])
    cache.set_defaults(run=run_cache)

    check = commands.add_parser("check", help="이 컴퓨터가 강의를 돌릴 준비가 됐는지 확인")
    check.set_defaults(run=run_check)

    evaluate = commands.add_parser(
        "evaluate", help="모델이 강의 사진을 얼마나 잘 찾는지 (교수자용): recall@k, 질의 형태, 제로샷, 시험용 문장"
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

    viz = commands.add_parser("viz", help="폴더의 사진을 캡션과 함께 한 장의 PNG로 (교수자용)")
    viz.add_argument("folder", nargs="?", default=QUIZ_IMAGE_DIR, type=Path, help=f"default: {_show(QUIZ_IMAGE_DIR)}")
    viz.add_argument("--out", type=Path, default=Path("sheet.png"), help="the PNG to write (default sheet.png)")
    viz.add_argument("--lang", choices=LANGUAGES, default="en", help="the captions' language (default en)")
    viz.add_argument("--columns", type=int, default=10, help="pictures per row (default 10)")
    viz.set_defaults(run=run_viz)
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    warnings.formatwarning = lambda message, *_, **__: f"경고: {message}\n"
    try:
        args.run(args)
    except (OSError, ValueError) as error:  # expected failures get one line, not a traceback
        print(f"오류: {error}", file=sys.stderr)
        sys.exit(1)
