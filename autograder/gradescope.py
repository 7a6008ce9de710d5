"""Gradescope: the autograder bundle, and grading one submission the way Gradescope lays it out.

    python -m autograder gradescope --output autograder.zip [--model mini]   build the bundle
    python -m autograder gradescope --check autograder.zip                  try it here as Gradescope runs it
    python -m autograder gradescope --run [--root /autograder]              what run_autograder calls
    python -m autograder gradescope --prepare-model NAME                    what setup.sh calls
    python -m autograder gradescope --self-check                            setup.sh's last step

The grading model is mmembed.grading.GRADING_MODEL unless --model names another; the bundle's two scripts name it.

The bundle follows Gradescope's autograder specification: `setup.sh` and `run_autograder` at the root of the
zip, which Gradescope unpacks into /autograder/source. Next to them: the course package (pyproject.toml,
mmembed/, autograder/, constraints.txt), the reference solution, the quiz pictures and, for `mini`, the model.
setup.sh builds a virtual environment (MMEMBED_VENV, default /opt/mmembed) that run_autograder calls by its path.

Each submission is graded from /autograder/submission into /autograder/results/results.json, in the sandbox
where the image allows bubblewrap, otherwise as a throwaway uid with no capabilities (Gradescope runs as root).
results.json is always written: a provisional "Autograder error" first, replaced by the grade at the end, or by a
readable message if the grader itself fails (as otter-grader does).
"""

import argparse
import contextlib
import os
import resource
import shutil
import stat
import sys
import tempfile
import time
import traceback
import zipfile
from importlib import metadata
from pathlib import Path

from . import config, report
from .grade import Graded, all_failed

TEMPLATES = Path(__file__).resolve().parent / "templates" / "gradescope"
REPO_ROOT = config.REPO_ROOT
DEFAULT_VENV = "/opt/mmembed"
# What the bundle holds of the repository (folders are taken whole, without caches).
BUNDLED = [
    "pyproject.toml",
    "README.md",
    "constraints.txt",
    "mmembed",
    "autograder",
    "solutions/quiz_search.py",
    "quizzes/quiz_search.py",
    "images/quiz-image",
    "images/MANIFEST.csv",
    "images/short_texts.csv",
]
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}
# What the child's throwaway uid must not read in the unpacked bundle: the solution and the hidden queries
# (autograder/config.py). Everything in autograder/ is closed to others but inside/, which the child runs.
CLOSED = ("solutions", "autograder")
OPEN_INSIDE = "autograder/inside"
# The checks on hidden queries, shown to students at `--hidden-visibility` (Gradescope's test visibility).
HIDDEN_CHECKS = [name for name in config.POINTS if name.startswith("search_top1_hidden")]
VISIBILITIES = ("after_due_date", "visible", "hidden", "after_published")
GRADER_MB = 192  # what the grader itself holds while a child runs (torch for the search rotation; the reference
# is computed in a process of its own): extra_data's grader_peak_mb
MIN_CHILD_MB = 256
GRADER_ERROR = "Autograder error: 채점기 자체의 문제로 채점하지 못했습니다. 교수자에게 알려 주세요."


def _files(relative: str):
    path = REPO_ROOT / relative
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*")):
        if file.is_file() and not SKIPPED_PARTS.intersection(file.relative_to(REPO_ROOT).parts):
            yield file


def _template(name: str, model: str, hidden_visibility: str, venv: str) -> str:
    torch_version = metadata.version("torch").split("+")[0]
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    run_options = f"--hidden-visibility {hidden_visibility}"
    for key, value in {"GRADING_MODEL": model, "TORCH_VERSION": torch_version, "VENV": venv}.items():
        text = text.replace(f"@{key}@", value)
    return text.replace("@RUN_OPTIONS@", run_options)


class BundleError(ValueError):
    """The bundle cannot be built as asked (English, one line, for the instructor)."""


def build_bundle(
    output: Path, model: str = config.GRADING_MODEL, hidden_visibility: str = "after_due_date", venv=DEFAULT_VENV
) -> list[str]:
    """Write the zip; returns the names it holds. The grading model is the committed `mini`, or a hub model
    that setup.sh downloads. A local folder is refused with a BundleError: setup.sh could not find it."""
    entries = list(BUNDLED)
    if model == "mini":
        entries.append("models/mini")
    elif Path(model).is_dir():
        raise BundleError(
            f"{model} is a local folder, which the bundle cannot carry: copy it into models/ of the repository and "
            "name it there, or name a hub model"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, _template(name, model, hidden_visibility, venv))
            names.append(name)
        for relative in entries:
            for file in _files(relative):
                arcname = file.relative_to(REPO_ROOT).as_posix()
                bundle.write(file, arcname)
                names.append(arcname)
    return names


def find_submission(folder: Path) -> Path:
    """submission/quiz_search.py, or the one quiz_search.py somewhere below it (a zip upload keeps its folder)."""
    direct = folder / "quiz_search.py"
    if direct.exists() or direct.is_symlink():
        return direct
    found = [path for path in folder.rglob("quiz_search.py") if "__MACOSX" not in path.parts]
    return found[0] if len(found) == 1 else direct


def is_bundle(folder: Path) -> bool:
    """Whether `folder` is an unpacked autograder bundle (never a developer's repository: that has tests/)."""
    return (folder / "setup.sh").is_file() and (folder / "run_autograder").is_file() and not (folder / "tests").exists()


def close_to_others(source: Path = REPO_ROOT) -> None:
    """In an unpacked bundle, as root: the solution and the grader's code (its hidden queries) become readable by
    root only; the child's own code (autograder/inside/) stays readable by everyone. The grader, root, reads them
    as before; a child running as a throwaway uid cannot, with or without the sandbox."""
    if os.geteuid() != 0 or not is_bundle(source):
        return
    for relative in CLOSED:
        for path in [source / relative, *(source / relative).rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o077)
    (source / "autograder").chmod(0o711)  # others may pass through to inside/, not list the folder
    for path in [source / OPEN_INSIDE, *(source / OPEN_INSIDE).rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))


def grader_peak_mb() -> int:
    """The grader's own peak resident memory (the reference's process, which has exited, is not counted). On
    Gradescope it shares the container's memory with the student's child, whose peak is extra_data's
    memory_peak_mb."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def reference_in_a_subprocess(model: str):
    """compute_reference in a fresh Python that exits afterwards: the model, the pictures and what torch allocated
    for them are that process's, and go back to the container before any student's child starts. The grader keeps
    only the reference's arrays (a few hundred kB), about 170 MB less for as long as it runs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .reference import compute_reference

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(compute_reference, model).result()


def release_free_memory() -> None:
    """Return the C heap's free pages to the kernel (glibc keeps them otherwise, and the container's memory limit
    counts them for as long as the grader runs): 65 MB after a reference computed in-process."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def container_memory_bytes() -> int | None:
    """The tightest memory limit on our cgroup and those above it (Gradescope's container: 768 MB by default),
    or None when there is none."""
    from .sandbox.cgroups import own_directories, read_text

    limits = []
    for name, directory in own_directories().items():
        if name in ("", "memory"):
            while os.path.exists(f"{directory}/cgroup.procs"):
                for file in ("memory.max", "memory.limit_in_bytes"):  # v2, v1 ("max" or a huge number: none)
                    text = read_text(f"{directory}/{file}")
                    if text.isdigit() and int(text) < 2**60:
                        limits.append(int(text))
                directory = os.path.dirname(directory)
    return min(limits, default=None)


def child_memory_gb() -> float:
    """The memory a student's child may hold: the default, or less when the container holds less, leaving the
    grader its share. The child's cgroup then fills up (status "out of memory") before the container does, and if
    the container's OOM killer acts anyway, it picks the child (oom_score_adj 1000), not the grader."""
    container = container_memory_bytes()
    if container is None:
        return config.DEFAULT_MEMORY_GB
    return round(max(MIN_CHILD_MB, min(config.DEFAULT_MEMORY_GB * 1024, container / 2**20 - GRADER_MB)) / 1024, 3)


def with_visibility(data: dict, hidden_visibility: str) -> dict:
    """Gradescope's visibility for the checks on hidden queries (their names and points stay in results.json)."""
    titles = {config.TITLES[name] for name in HIDDEN_CHECKS}
    for test in data["tests"]:
        if test["name"] in titles:
            test["visibility"] = hidden_visibility
    return data


def error_results(message: str) -> dict:
    """What Gradescope shows when the grader could not grade: a readable message, 0 points, every check listed."""
    tests = [
        {"name": config.TITLES[name], "score": 0, "max_score": points, "output": "", "visibility": "visible"}
        for name, points in config.POINTS.items()
    ]
    return {
        "score": 0,
        "max_score": config.MAX_SCORE,
        "execution_time": 0,
        "output": message,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"status": "grader error"},
    }


def run(
    root: Path,
    model: str,
    timeout: float | None,
    hidden_visibility: str = "after_due_date",
    memory_gb: float | None = None,
) -> int:
    """Grade root/submission into root/results/results.json, whatever the submission holds (`memory_gb`: the
    child's; default what fits the container). Returns 0 when the submission was graded, 2 when the grader could
    not grade (results.json then says so)."""
    results = root / "results" / "results.json"
    started = time.monotonic()
    report.write_results(error_results(f"{GRADER_ERROR} (채점이 끝나기 전에 멈췄습니다.)"), results)
    try:
        graded, secrets, note, limits = _grade(root, model, timeout, memory_gb)
    except _CannotGrade as error:
        print(f"[autograder] {error}", file=sys.stderr)
        report.write_results(error_results(f"{GRADER_ERROR}\n\n{error}"), results)
        return 2
    except BaseException as error:  # anything at all: the student still gets a readable message
        print(traceback.format_exc(), file=sys.stderr)
        report.write_results(error_results(f"{GRADER_ERROR}\n\n{type(error).__name__}: {error}"), results)
        return 2
    from .sandbox.cgroups import support

    data = with_visibility(report.results(graded, secrets, note), hidden_visibility)
    seconds = round(time.monotonic() - started, 1)
    extra = {"grader_peak_mb": grader_peak_mb(), "child_memory_gb": limits.memory_gb, "seconds_total": seconds}
    data["extra_data"].update(extra, threads=limits.threads)  # threads: the CPU quota's cores (sandbox/cores.py)
    data["extra_data"]["cgroups"] = support().available
    report.write_results(data, results)
    print(f"{root / 'submission'}: {graded.score}/{config.MAX_SCORE} ({graded.status}, {graded.seconds:.1f} s)")
    return 0


class _CannotGrade(RuntimeError):
    """The grader cannot grade here (English, for the instructor; shown in results.json too)."""


def _grade(root: Path, model: str, timeout: float | None, memory_gb: float | None):
    """(graded, the reference's secrets, the session's note, the limits) for root/submission."""
    from .grade import grade_submission
    from .session import SessionError, open_session

    close_to_others()
    try:
        session = open_session(model, timeout, memory_gb or child_memory_gb(), reference=reference_in_a_subprocess)
    except SessionError as error:
        raise _CannotGrade(str(error)) from None
    release_free_memory()
    submission = find_submission(root / "submission")
    if not submission.exists() and not submission.is_symlink():
        message = "quiz_search.py를 제출하세요 (제출물에 quiz_search.py가 없습니다). 0점입니다."
        graded = Graded(all_failed(message), "no file", 0)
    else:
        graded = grade_submission(submission, session.ref, session.limits, session.sandboxed)
    return graded, session.ref.secrets, session.note, session.limits


def self_check(root: Path, model: str) -> int:
    """setup.sh's last step: the reference solution, graded here as a student's submission, must score full
    marks (exit 0); otherwise the image is broken, and the build fails with the reason (exit 1)."""
    scratch = Path(tempfile.mkdtemp(prefix="gradescope-self-check-"))
    try:
        (scratch / "submission").mkdir()
        shutil.copy(config.SOLUTION, scratch / "submission" / "quiz_search.py")
        code = run(scratch, model, None)
        data = __import__("json").loads((scratch / "results" / "results.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"self-check: the reference solution scores {data['score']}/{config.MAX_SCORE}")
    if code != 0 or data["score"] != config.MAX_SCORE:
        for test in data["tests"]:
            if test["score"] < test["max_score"]:
                print(f"  {test['name']}: {test['output']}", file=sys.stderr)
        print(f"self-check FAILED: {data['output']}", file=sys.stderr)
        return 1
    return 0


def prepare_model(model: str) -> int:
    """Make the grading model available offline (a hub model is downloaded into the Hugging Face cache) and
    readable by the sandbox's user; close the bundle's hidden files to that user."""
    from .reference import model_folder
    from .runner import model_bind

    folder = model_bind(model_folder(model))
    for path in [folder, *folder.rglob("*")]:  # the sandbox's throwaway user must read it (runner.py)
        real = path.resolve()
        mode = real.stat().st_mode
        real.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if real.is_dir() else 0))
    print(f"grading model {model!r}: {folder} (readable by the sandbox's user)")
    close_to_others()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, help="write the autograder bundle (a .zip) here")
    parser.add_argument(
        "--model",
        default=config.GRADING_MODEL,
        help=f"grading model (default {config.GRADING_MODEL}: mmembed/grading.py; mini is bundled)",
    )
    parser.add_argument(
        "--hidden-visibility",
        choices=VISIBILITIES,
        default="after_due_date",
        help="when students see the checks on hidden queries (Gradescope's visibility; default after_due_date)",
    )
    parser.add_argument("--venv", default=DEFAULT_VENV, help=f"where setup.sh builds the environment ({DEFAULT_VENV})")
    parser.add_argument("--check", type=Path, metavar="ZIP", help="run a built bundle here as Gradescope would")
    parser.add_argument(
        "--torch-index-url",
        default="https://download.pytorch.org/whl/cpu",
        help="--check: where setup.sh finds PyTorch ('' for pip's own configuration)",
    )
    parser.add_argument("--run", action="store_true", help="grade <root>/submission (what run_autograder does)")
    parser.add_argument(
        "--root", type=Path, default=Path("/autograder"), help="Gradescope's folder (default /autograder)"
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per child (default: from the reference)")
    parser.add_argument(
        "--memory-gb", type=float, default=None, help="memory of one student's processes (default: fits the container)"
    )
    parser.add_argument("--prepare-model", metavar="NAME", help="make the grading model available offline")
    parser.add_argument("--self-check", action="store_true", help="grade the reference solution; fail unless 12/12")


def command(args: argparse.Namespace) -> int:
    if args.prepare_model:
        return prepare_model(args.prepare_model)
    if args.self_check:
        return self_check(args.root, args.model)
    if args.run:
        return run(args.root, args.model, args.timeout, args.hidden_visibility, args.memory_gb)
    if args.check:
        from .gradescope_check import check

        return check(args.check, args.torch_index_url)
    if args.output is None:
        print("[autograder] gradescope: give --output autograder.zip (or --run inside Gradescope)", file=sys.stderr)
        return 2
    try:
        names = build_bundle(args.output, args.model, args.hidden_visibility, args.venv)
    except BundleError as error:
        print(f"[autograder] gradescope: {error}", file=sys.stderr)
        return 2
    print(f"{args.output}: {len(names)} files, grading model {args.model!r}; upload it as the autograder on Gradescope")
    return 0


if __name__ == "__main__":  # last term's `python -m autograder.gradescope`
    from autograder.old_entries import run_as_subcommand

    sys.exit(run_as_subcommand("gradescope", add_arguments, command))
