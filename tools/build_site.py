"""Build the course website (site/README.md) from the lectures the test run executed.

    python -m tools.build_site [--executed build/executed/lectures] [--out build/site]
    make site

Nothing is executed: each lecture must be there, run, in --executed (tests/lectures/conftest.py writes it there
after the lecture's offline run succeeded). Each page gets a first cell saying that its outputs come from `mini`
and the stand-ins. Exits non-zero, saying what is missing, when a lecture has not been run, and when Sphinx warns
(a broken link or reference is a warning).
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
LECTURES = REPO / "lectures"
GLOSSARY = LECTURES / "용어집.md"
EXECUTED = REPO / "build" / "executed" / "lectures"
SOURCE = REPO / "build" / "site-src"
OUT = REPO / "build" / "site"

# MathJax draws the lectures' formulas; the site carries its own copy, from npm (Node 20 is on the course machines).
MATHJAX = "mathjax@3.2.2"
MATHJAX_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mmembed-ci" / "mathjax"
MATHJAX_FILE = MATHJAX_CACHE / "node_modules" / "mathjax" / "es5" / "tex-svg.js"

OFFLINE_NOTE = (
    "> **이 페이지의 출력에 대하여:** 인터넷 없이(`MMEMBED_OFFLINE=1`) 강의용 작은 CLIP인 `mini`와 대체 모델로 "
    "실행한 결과입니다. 인터넷이 되는 곳에서 실제 모델로 실행하면 숫자와 순위가 달라질 수 있습니다."
)


def lecture_names() -> list[str]:
    """The lectures' file names, in order (lectures/NN*_*.ipynb)."""
    return sorted(path.name for path in LECTURES.glob("[0-9][0-9]*_*.ipynb"))


def executed_notebook(executed: Path, name: str) -> nbformat.NotebookNode:
    """The lecture's executed copy, with the offline note as its first cell; refused if it has not been run."""
    path = executed / name
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run the lectures first (make test, or pytest tests/lectures)")
    nb = nbformat.read(path, as_version=4)
    if not any(cell.cell_type == "code" and cell.get("outputs") for cell in nb.cells):
        raise SystemExit(f"{path} has no outputs: it is not an executed lecture")
    lecture = nbformat.read(LECTURES / name, as_version=4)
    if [cell.source for cell in nb.cells] != [cell.source for cell in lecture.cells]:
        raise SystemExit(f"{path} is a run of another version of {name}: run the lectures again")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(OFFLINE_NOTE))
    return nb


def mathjax_file() -> Path:
    """npm's MathJax (SVG output: one file, no web fonts), installed into the cache on first use."""
    if not MATHJAX_FILE.is_file():
        command = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(MATHJAX_CACHE), MATHJAX]
        subprocess.run(command, check=True)
    return MATHJAX_FILE


def write_source(executed: Path, source: Path) -> None:
    """Sphinx's source folder: conf.py and _static from site/, the front page, the glossary, the lectures."""
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(SITE, source, ignore=shutil.ignore_patterns("README.md", "index.md.in", "__pycache__"))
    names = lecture_names()
    contents = "\n".join(Path(name).stem for name in names)
    (source / "index.md").write_text(
        (SITE / "index.md.in").read_text(encoding="utf-8").replace("@LECTURES@", contents), encoding="utf-8"
    )
    shutil.copy2(GLOSSARY, source / GLOSSARY.name)
    (source / "_static" / "mathjax").mkdir(parents=True)
    shutil.copy2(mathjax_file(), source / "_static" / "mathjax" / "tex-svg.js")
    for name in names:
        nbformat.write(executed_notebook(executed, name), source / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_site", description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=EXECUTED, help="the executed lecture notebooks")
    parser.add_argument("--out", type=Path, default=OUT, help="where the HTML goes")
    args = parser.parse_args(argv)
    write_source(args.executed, SOURCE)
    if args.out.exists():
        shutil.rmtree(args.out)
    build = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", str(SOURCE), str(args.out)]
    finished = subprocess.run(build)
    if finished.returncode == 0:
        print(f"site: {args.out / 'index.html'}")
    return finished.returncode


if __name__ == "__main__":
    sys.exit(main())
