"""Gradescope: the autograder bundle, and grading one submission the way Gradescope lays it out.

    python -m autograder gradescope --output autograder.zip [--model mini]   build the bundle
    python -m autograder gradescope --run [--root /autograder]              what run_autograder calls
    python -m autograder gradescope --prepare-model NAME                    what setup.sh calls

The bundle follows Gradescope's autograder specification: `setup.sh` and `run_autograder` at the root of the
zip, which Gradescope unpacks into /autograder/source. Next to them: the course package (pyproject.toml,
mmembed/, autograder/, constraints.txt), the reference solution, the quiz pictures and, for `mini`, the model.
Each submission is graded from /autograder/submission into /autograder/results/results.json, in the sandbox
where the image allows bubblewrap, otherwise as a throwaway unprivileged user (Gradescope runs as root).
"""

import argparse
import stat
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from . import config, report
from .grade import Graded, all_failed

TEMPLATES = Path(__file__).resolve().parent / "templates" / "gradescope"
REPO_ROOT = config.REPO_ROOT
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


def _files(relative: str):
    path = REPO_ROOT / relative
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*")):
        if file.is_file() and not SKIPPED_PARTS.intersection(file.relative_to(REPO_ROOT).parts):
            yield file


def _template(name: str, model: str) -> str:
    torch_version = metadata.version("torch").split("+")[0]
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    return text.replace("@GRADING_MODEL@", model).replace("@TORCH_VERSION@", torch_version)


def build_bundle(output: Path, model: str = config.DEFAULT_MODEL) -> list[str]:
    """Write the zip; returns the names it holds. The grading model is the committed `mini`, or a hub model
    that setup.sh downloads (a local folder is bundled under models/<its name>)."""
    entries = list(BUNDLED)
    grading_model = model
    if model == "mini":
        entries.append("models/mini")
    elif Path(model).is_dir():
        raise SystemExit("bundle a local model folder by copying it into models/ of the repository and naming it")
    output.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, _template(name, grading_model))
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


def run(root: Path, model: str, timeout: float | None) -> int:
    """Grade root/submission into root/results/results.json, whatever the submission holds."""
    from .grade import grade_submission
    from .session import SessionError, open_session

    results = root / "results" / "results.json"
    try:
        session = open_session(model, timeout)
    except SessionError as error:
        print(f"[autograder] {error}", file=sys.stderr)
        return 2
    submission = find_submission(root / "submission")
    if not submission.exists() and not submission.is_symlink():
        graded = Graded(
            all_failed("quiz_search.py를 제출하세요 (제출물에 quiz_search.py가 없습니다). 0점입니다."), "no file", 0
        )
    else:
        graded = grade_submission(submission, session.ref, session.limits, session.sandboxed)
    report.write_results(report.results(graded, session.ref.secrets, session.note), results)
    print(f"{submission}: {graded.score}/{config.MAX_SCORE} ({graded.status}, {graded.seconds:.1f} s)")
    return 0


def prepare_model(model: str) -> int:
    """Make the grading model available offline (a hub model is downloaded into the Hugging Face cache)."""
    from .reference import model_folder
    from .runner import model_bind

    folder = model_bind(model_folder(model))
    for path in [folder, *folder.rglob("*")]:  # the sandbox's throwaway user must read it (runner.py)
        real = path.resolve()
        mode = real.stat().st_mode
        real.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if real.is_dir() else 0))
    print(f"grading model {model!r}: {folder} (readable by the sandbox's user)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder gradescope", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the autograder bundle (a .zip) here")
    parser.add_argument("--model", default=config.DEFAULT_MODEL, help="grading model (default: mini, bundled)")
    parser.add_argument("--run", action="store_true", help="grade <root>/submission (what run_autograder does)")
    parser.add_argument(
        "--root", type=Path, default=Path("/autograder"), help="Gradescope's folder (default /autograder)"
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per child (default: from the reference)")
    parser.add_argument("--prepare-model", metavar="NAME", help="make the grading model available offline")
    args = parser.parse_args(argv)
    if args.prepare_model:
        return prepare_model(args.prepare_model)
    if args.run:
        return run(args.root, args.model, args.timeout)
    if args.output is None:
        parser.error("give --output autograder.zip (or --run inside Gradescope)")
    names = build_bundle(args.output, args.model)
    print(f"{args.output}: {len(names)} files, grading model {args.model!r}; upload it as the autograder on Gradescope")
    return 0


if __name__ == "__main__":
    sys.exit(main())
