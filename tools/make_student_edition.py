"""Build the student edition: the copy of the course that students get, with nothing in it that answers a quiz.

    python -m tools.make_student_edition OUT                              # every lecture and released quiz
    python -m tools.make_student_edition OUT --lectures 01 02 03 --quizzes 1 2   # release by week
    python -m tools.make_student_edition OUT --git                        # a git repository with one commit
    python -m tools.make_student_edition OUT --git --colab-url https://github.com/OWNER/REPO   # for Colab
    make student-edition                                                  # into build/student-edition

What goes in: the chosen lectures (outputs stripped) and the glossary; the chosen quizzes in their released form
(quizzes/quiz_notebooks/*, quizzes/quiz_search.py) with the public self-check; the pictures and their licences;
the data sample of lecture 06; `mmembed` and the offline model `mini` (`tiny` and the stand-ins are built on first
use, as in the repository); the student Jupyter profile; and the edition's own README.md, Makefile and
pyproject.toml from tools/student_edition/, whose install is the student profile (no grader, no instructor tools),
with its CI: .github/workflows/self-check.yml (GitHub Classroom) and .gitlab-ci.yml, which run the public self-check
only, with no token and no other repository (every file under tools/student_edition/ is copied, dotfiles too).

What stays out: solutions/ (quiz answers, nbgrader sources with hidden tests, exercise keys), the grader with its
hidden queries (autograder/), the instructor's tools, benchmarks and tests. Three data files are rewritten, because
the course's own copies carry answers (tests/edition/test_no_answers.py checks the result):
- images/MANIFEST.csv loses its `group` column (quiz 2's answer), and quiz 7's five pictures lose the captions that
  say more than their names ("a drawing of the Eiffel Tower": pasting one is a right answer). Each is captioned with
  its first name in mmembed/data/picture_nouns.csv instead ("the Eiffel Tower", "에펠탑"), which the edition holds
  anyway and a student who looks at the picture writes: lectures embed every caption, and read naturally so;
- images/short_texts.csv loses its `group` rows (the names of quiz 2's group);
- data/coyo-sample/train.jsonl: a row whose text is the original caption of a quiz 7 picture gets that picture's
  name too, so lecture 06b still finds every row's text equal to the picture's caption.
images/catalog.csv and images/README.md are left out: they are the picture build's inputs and notes, with groups.

`--git` starts a fresh history (one commit, branch main): the course's own history holds the solutions.

Colab: every notebook of the edition (lectures and released quizzes) opens with one setup code cell,
tools/student_edition/colab_setup.py (its docstring says what it does). It does nothing outside Colab. In Colab it
clones the edition from `--colab-url` (where the instructor publishes the edition: a GitHub repository, or any git
URL Colab can clone), installs it editable (pip adds only what Colab lacks: the `colab` extra of the edition's
pyproject is what the lectures import beyond mmembed's dependencies and Colab's Jupyter), moves to the notebook's
folder in the clone and names the embedding cache's folder. Without `--colab-url`, the cell says in Colab that this
copy has no address. The edition's README gets one "Open in Colab" badge per notebook (lectures, then quizzes)
when the URL is GitHub's (https://github.com/OWNER/REPO, branch main); otherwise it says how to open a notebook in
Colab, or, without a URL, how the instructor adds one. The cell reads MMEMBED_COLAB_ROOT in place of /content: for
tests/edition/test_colab.py, which runs the cell in a fresh virtual environment standing in for Colab, against a
local clone URL. Quiz notebooks handed in from Colab carry the cell; nbgrader grades them as the release (tested).
"""

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

import nbformat

from mmembed.paths import PACKAGE_DATA

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "student_edition"  # the edition's own files, at their edition paths
STAMP = ".student-edition"  # marks a folder this tool made, so --force never deletes anything else
BRANCH = "main"  # the branch --git makes, which Colab badges point at
COLAB_SETUP = TEMPLATES / "colab_setup.py"  # the setup cell (below its docstring) of every notebook
NOT_COPIED = {"pyproject.toml.in", "colab_setup.py"}  # templates the builder fills in
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
README_COLAB = "<!-- @COLAB@ -->"  # where the edition's README gets its Colab section

COLAB_SETUP_ID = "colab-setup"  # the id of the setup cell on top of every notebook
QUIZ7_NOTEBOOK = REPO / "quizzes" / "quiz_notebooks" / "quiz7_find_pictures.ipynb"

# Files copied as they are (tracked files only: no caches, no one's work in progress).
COPIED = [
    "mmembed",
    "models/mini",
    "images/cat.jpg",
    "images/quiz-image",
    "images/topk-image",
    "images/LICENSES.md",
    "data/coyo-sample/README.md",
    "jupyter/student",
    "lectures/용어집.md",
    "constraints.txt",
]
# Quizzes by number: quiz_search.py is quizzes 3 to 6.
QUIZ_FILES = {
    "1": "quizzes/quiz_notebooks/quiz1_cosine_similarity.ipynb",
    "2": "quizzes/quiz_notebooks/quiz2_topk_text.ipynb",
    "3-6": "quizzes/quiz_search.py",
    "7": "quizzes/quiz_notebooks/quiz7_find_pictures.ipynb",
}
QUIZ_ALIASES = {"3": "3-6", "4": "3-6", "5": "3-6", "6": "3-6", "search": "3-6"}
# The course's dependencies a student does not need: the grader's JUnit writer, the COYO sample builder's hashing.
NOT_FOR_STUDENTS = {"junitparser", "imagehash"}
# The `colab` extra: what the lectures import beyond mmembed's own dependencies, Jupyter being Colab's own
# (lecture 06b's datasets, lecture 07's scikit-image); their ranges are the course's.
COLAB_EXTRA = {"scikit-image", "datasets"}


class EditionError(Exception):
    """The edition cannot be built as asked (a lecture that does not exist, a folder that is not ours)."""


def tracked_files(path: str) -> list[str]:
    """The files git tracks at or under `path`, relative to the repository, as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", path], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def lecture_notebooks(chosen: list[str] | None) -> list[Path]:
    """The lecture notebooks whose number is in `chosen` ("05" takes 05a and 05b), or all of them."""
    notebooks = sorted((REPO / "lectures").glob("*.ipynb"))
    if chosen is None:
        return notebooks
    picked = []
    for number in chosen:
        matches = [nb for nb in notebooks if re.match(rf"{re.escape(number)}[a-z]?_", nb.name)]
        if not matches:
            raise EditionError(f"no lecture numbered {number!r} in lectures/")
        picked += [nb for nb in matches if nb not in picked]
    return sorted(picked)


def quiz_files(chosen: list[str] | None) -> list[str]:
    keys = list(QUIZ_FILES) if chosen is None else []
    for number in chosen or []:
        key = QUIZ_ALIASES.get(number, number)
        if key not in QUIZ_FILES:
            raise EditionError(f"no quiz {number!r}: choose from 1, 2, 3-6 (or 3, 4, 5, 6, search), 7")
        keys += [key] if key not in keys else []
    return [QUIZ_FILES[key] for key in keys]


def quiz7_targets() -> list[str]:
    """The file names of quiz 7's pictures, as the released notebook lists them (TARGET_NAMES = [...])."""
    notebook = nbformat.read(QUIZ7_NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        found = re.search(r"^TARGET_NAMES = (\[.*?\])", cell.source, re.MULTILINE)
        if found:
            return json.loads(found.group(1).replace("'", '"'))
    raise EditionError(f"{QUIZ7_NOTEBOOK} names no TARGET_NAMES")


def colab_setup_source(url: str | None, folder: str) -> str:
    """The setup cell's code: colab_setup.py below its docstring, with COURSE_URL and NOTEBOOK_FOLDER filled in."""
    source = COLAB_SETUP.read_text(encoding="utf-8").split('"""', 2)[2].lstrip("\n")
    for name, value in (("COURSE_URL", url or ""), ("NOTEBOOK_FOLDER", folder)):
        source, count = re.subn(rf'^{name} = "[^"\n]*"', f"{name} = {json.dumps(value)}", source, flags=re.MULTILINE)
        if count != 1:
            raise EditionError(f'{COLAB_SETUP} must assign {name} = "..." once at the start of a line')
    return source.rstrip("\n")


def copy_notebook(source: Path, out: Path, name: str, colab_url: str | None) -> None:
    """`source` as the edition's `name` (its path in the edition): without outputs, opened by the Colab setup cell."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    setup = colab_setup_source(colab_url, Path(name).parent.as_posix())
    notebook.cells.insert(0, nbformat.v4.new_code_cell(setup, id=COLAB_SETUP_ID))
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out / name)


def github_repository(url: str | None) -> tuple[str, str] | None:
    """(owner, repository) of https://github.com/OWNER/REPO[.git], or None for any other URL."""
    found = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url or "")
    return (found.group(1), found.group(2)) if found else None


def notebook_title(notebook: Path) -> str:
    """The notebook's first heading, e.g. "01. 모달리티와 CLIP: ..." or "퀴즈 1. 코사인 유사도: ..."."""
    first = nbformat.read(notebook, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("#").strip()


def colab_section(names: list[str], url: str | None) -> str:
    """The README's Colab section: for a GitHub URL a badge per notebook (`names`: the lectures', then the quizzes',
    paths in the edition); for another URL, how to open a notebook in Colab; without one, how the instructor adds it."""
    lines = ["## Colab에서 열기", ""]
    repository = github_repository(url)
    if repository:
        owner, repo = repository
        lines += ["아래 배지를 누르면 노트북이 Colab에서 열립니다.", "", "| 노트북 | Colab |", "| --- | --- |"]
        for name in names:
            link = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{BRANCH}/{quote(name)}"
            lines.append(f"| {notebook_title(REPO / name)} | [![Open In Colab]({COLAB_BADGE})]({link}) |")
        lines.append("")
    elif url:
        lines += [
            "Colab의 *파일 → 노트북 업로드*로 `lectures/`(퀴즈는 `quizzes/quiz_notebooks/`)의 노트북을 여세요.",
            "",
        ]
    else:
        lines += [
            "이 자료에는 아직 Colab 주소가 없어서, 노트북 맨 위의 준비 셀이 Colab에서 아무것도 하지 않습니다.",
            "교수자가 자료를 GitHub에 올린 뒤 `python -m tools.make_student_edition 폴더 --git --colab-url "
            "https://github.com/계정/저장소`로 다시 만들면, 준비 셀에 그 주소가 들어가고 여기에 노트북마다 "
            "Colab 배지가 생깁니다.",
            "",
        ]
    if url:
        lines += [
            "노트북 맨 위의 **준비 셀**을 먼저 실행하세요. Colab에서는 이 자료를 내려받아 설치하고(처음 한 번, 1-2분),",
            "작업 폴더를 노트북이 있는 폴더로 옮기고, 임베딩 캐시가 있는 폴더를 알려 줍니다. Colab에 이미 있는",
            "PyTorch는 그대로 쓰며, 런타임을 다시 시작할 필요가 없습니다. 런타임이 끝나면 내려받은 자료와 임베딩 캐시,",
            "고친 파일이 모두 지워지니, 퀴즈 노트북은 *파일 → 다운로드 → .ipynb 다운로드*로 저장해 제출하세요.",
            "내 컴퓨터에서는 준비 셀이 아무 일도 하지 않습니다.",
            "",
        ]
    return "\n".join(lines)


def student_readme(names: list[str], url: str | None) -> str:
    template = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    if template.count(README_COLAB) != 1:
        raise EditionError(f"{TEMPLATES / 'README.md'} must hold {README_COLAB} once")
    return template.replace(README_COLAB, colab_section(names, url).rstrip("\n"))


def csv_text(fieldnames: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def quiz_image_paths(names: list[str]) -> set[str]:
    return {f"quiz-image/{name}" for name in names}


def quiz7_name_captions(targets: list[str]) -> dict[str, dict[str, str]]:
    """{quiz 7 picture's path: its edition captions}: its first English and Korean name (picture_nouns.csv)."""
    with open(PACKAGE_DATA / "picture_nouns.csv", encoding="utf-8", newline="") as file:
        names = {row["path"]: row for row in csv.DictReader(file)}  # en, ko: names separated by "|"
    return {
        path: {"caption_en": names[path]["en"].split("|")[0], "caption_ko": names[path]["ko"].split("|")[0]}
        for path in quiz_image_paths(targets)
    }


def student_manifest(targets: list[str]) -> str:
    """images/MANIFEST.csv without the `group` column, quiz 7's pictures captioned with their names."""
    named = quiz7_name_captions(targets)
    with open(REPO / "images" / "MANIFEST.csv", encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        fields = [name for name in reader.fieldnames if name != "group"]
        rows = []
        for row in reader:
            row = {name: row[name] for name in fields}
            row.update(named.get(row["path"], {}))
            rows.append(row)
    return csv_text(fields, rows)


def student_short_texts() -> str:
    """images/short_texts.csv without its `group` rows."""
    with open(REPO / "images" / "short_texts.csv", encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return csv_text(reader.fieldnames, [row for row in reader if row["kind"] != "group"])


def student_coyo_sample(targets: list[str]) -> str:
    """data/coyo-sample/train.jsonl, each text that is a quiz 7 picture's caption replaced by that picture's name (with
    the length columns).

    On the picture's own row the text stays equal to the edition's caption; on another row (the sample pairs some
    pictures with wrong captions on purpose) it stays unequal to that picture's caption."""
    named = quiz7_name_captions(targets)
    with open(REPO / "images" / "MANIFEST.csv", encoding="utf-8", newline="") as file:
        secret = {
            row["caption_en"]: named[row["path"]]["caption_en"] for row in csv.DictReader(file) if row["path"] in named
        }
    lines = []
    for line in (REPO / "data" / "coyo-sample" / "train.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["text"] in secret:
            text = secret[row["text"]]
            row.update(text=text, text_length=len(text), word_count=len(text.split()))
        lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def student_pyproject() -> str:
    """tools/student_edition/pyproject.toml.in with the course's own dependency ranges, less NOT_FOR_STUDENTS."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def name(requirement: str) -> str:
        return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()

    def wanted(requirement: str) -> bool:
        return name(requirement) not in NOT_FOR_STUDENTS

    def toml_list(requirements: list[str]) -> str:
        return "[\n" + "".join(f"    {json.dumps(r)},\n" for r in requirements if wanted(r)) + "]"

    template = (TEMPLATES / "pyproject.toml.in").read_text(encoding="utf-8")
    course = project["optional-dependencies"]["course"]
    return (
        template.replace("@DEPENDENCIES@", toml_list(project["dependencies"]))
        .replace("@COURSE@", toml_list(course))
        .replace("@COLAB@", toml_list([r for r in course if name(r) in COLAB_EXTRA]))
        .replace("@REQUIRES_PYTHON@", json.dumps(project["requires-python"]))
    )


def prepare(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / STAMP).is_file():
            raise EditionError(f"{out} is not empty and was not made by this tool: choose another folder")
        if not force:
            raise EditionError(f"{out} holds an earlier edition: pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def build(
    out: Path,
    lectures: list[str] | None = None,
    quizzes: list[str] | None = None,
    force: bool = False,
    colab_url: str | None = None,
) -> Path:
    """Write the edition into `out` (empty, missing, or an earlier edition with force) and return `out`.

    `colab_url`: where the edition is published, for its notebooks' Colab setup cell and its README's badges."""
    out = Path(out).resolve()
    notebooks, quiz_paths, targets = lecture_notebooks(lectures), quiz_files(quizzes), quiz7_targets()
    prepare(out, force)

    for path in COPIED:
        for name in tracked_files(path):
            copy_file(REPO / name, out / name)
    for notebook in notebooks:
        copy_notebook(notebook, out, f"lectures/{notebook.name}", colab_url)
    for name in quiz_paths:
        if name.endswith(".ipynb"):
            copy_notebook(REPO / name, out, name, colab_url)
        else:
            copy_file(REPO / name, out / name)

    (out / "images" / "MANIFEST.csv").write_text(student_manifest(targets), encoding="utf-8")
    (out / "images" / "short_texts.csv").write_text(student_short_texts(), encoding="utf-8")
    (out / "data" / "coyo-sample" / "train.jsonl").write_text(student_coyo_sample(targets), encoding="utf-8")

    for source in sorted(TEMPLATES.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts and source.name not in NOT_COPIED:
            copy_file(source, out / source.relative_to(TEMPLATES))
    (out / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
    opened = [f"lectures/{notebook.name}" for notebook in notebooks] + [n for n in quiz_paths if n.endswith(".ipynb")]
    (out / "README.md").write_text(student_readme(opened, colab_url), encoding="utf-8")
    (out / STAMP).write_text("made by python -m tools.make_student_edition; safe to delete\n", encoding="utf-8")
    return out


def commit_fresh_history(out: Path) -> None:
    """`out` as a new git repository with one commit; the stamp stays, ignored, so --force can replace it."""
    identity = ["-c", "user.name=mmembed course", "-c", "user.email=course@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", BRANCH], cwd=out, check=True)
    with open(out / ".git" / "info" / "exclude", "a", encoding="utf-8") as exclude:
        exclude.write(f"/{STAMP}\n")
    for command in (["add", "."], ["commit", "-q", "-m", "학생용 강의 자료"]):
        subprocess.run(["git", *identity, *command], cwd=out, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.make_student_edition", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the folder to build (missing, empty, or an earlier edition)")
    parser.add_argument("--lectures", nargs="+", metavar="NN", help="lecture numbers (e.g. 01 02 05); default all")
    parser.add_argument("--quizzes", nargs="+", metavar="N", help="quizzes: 1 2 3-6 7; default all")
    parser.add_argument("--git", action="store_true", help="make it a git repository with a fresh, one-commit history")
    parser.add_argument("--force", action="store_true", help="replace an earlier edition in OUT")
    parser.add_argument(
        "--colab-url",
        metavar="URL",
        help="where students' Colab gets the edition (https://github.com/OWNER/REPO, or any git URL): the notebooks' "
        "Colab setup cell clones it, and a GitHub URL gives the README an Open in Colab badge per notebook",
    )
    args = parser.parse_args(argv)
    try:
        out = build(args.out, args.lectures, args.quizzes, force=args.force, colab_url=args.colab_url)
    except EditionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.git:
        commit_fresh_history(out)
    count = sum(1 for path in out.rglob("*") if path.is_file() and ".git" not in path.relative_to(out).parts)
    print(f"student edition: {out} ({count} files{', one git commit' if args.git else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
