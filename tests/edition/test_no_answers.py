"""No answer in the student edition: built into a temporary folder and searched for everything that answers a quiz.

What counts as an answer is read from the private repository itself, so a new hidden query or solution is covered:
the hidden queries (autograder/config.py), the solutions' code and hidden tests, quiz 2's answers (its reserved texts
and the honest descriptions of tests/evaluation_texts), quiz 7's captions and descriptions, and every private file by
content. A picture's own description that happens to be a query's
words is not a leak: the manifest, the pictures' nouns and the COYO sample describe every picture, and do not say which
texts the grader uses (they are only searched for lists of the hidden queries, not for a query beside its picture).
"""

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest

from autograder import config
from mmembed.training.query_forms import read_picture_nouns
from tools.make_student_edition import REPO, quiz7_targets

pytestmark = pytest.mark.xdist_group("student_edition")  # one worker builds the edition once

PRIVATE = ["solutions", "autograder", "tools", "benchmarks", "tests", ".ci"]
LEFT_OUT = [*PRIVATE, "images/catalog.csv", "images/README.md"]
BINARY = {".jpeg", ".jpg", ".png", ".gz", ".safetensors"}
PICTURE_DESCRIPTIONS = {"images/MANIFEST.csv", "mmembed/data/picture_nouns.csv", "data/coyo-sample/train.jsonl"}
# The pictures' names, which mini and lecture 07 train on. A name is not an answer to hide: CLIP knows trumpets too,
# and a student who looks at the picture writes the name (issue 32: "quiz 7, whose natural answers are names"). So
# the edition captions quiz 7's pictures with their names, and two of their captions are just a name anyway.
PICTURE_NAMES = "mmembed/data/picture_nouns.csv"


def text_files(root: Path) -> dict[str, str]:
    """{path relative to root: text} of every file that is not a picture, model or archive."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes().decode("utf-8", errors="replace")
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix.lower() not in BINARY and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def texts(edition) -> dict[str, str]:
    return text_files(edition)


def manifest_rows() -> list[dict]:
    with open(REPO / "images" / "MANIFEST.csv", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def quiz2_answers() -> list[str]:
    """Texts that pass quiz 2: the group texts it was answered with (the first four of tools/reserved_texts.json,
    whose other texts name a group no quiz asks for any more) and the honest descriptions that measure it."""
    reserved = json.loads((REPO / "tools" / "reserved_texts.json").read_text(encoding="utf-8"))["texts"][:4]
    honest = json.loads((REPO / "tests" / "evaluation_texts" / "quiz2.json").read_text(encoding="utf-8"))["honest"]
    return list(dict.fromkeys([*reserved, *honest["en"], *honest["ko"]]))


def quiz7_descriptions() -> list[str]:
    """The plain descriptions of quiz 7's pictures that measure it (tests/evaluation_texts/quiz7.json)."""
    found = json.loads((REPO / "tests" / "evaluation_texts" / "quiz7.json").read_text(encoding="utf-8"))
    return [text for by_language in found["descriptions"].values() for texts in by_language.values() for text in texts]


def quiz7_captions() -> list[str]:
    targets = {f"quiz-image/{name}" for name in quiz7_targets()}
    return [row[key] for row in manifest_rows() if row["path"] in targets for key in ("caption_en", "caption_ko")]


def quiz7_telling_captions() -> list[str]:
    """Quiz 7's captions that say more than the picture's name ("a trumpet", "트럼펫" say only that: what a student
    who looks writes, and what mini is trained on, so no answer to hide)."""
    nouns = read_picture_nouns()
    targets = {f"quiz-image/{name}" for name in quiz7_targets()}
    names = {name.casefold() for path in targets for name in (*nouns[path].en, *nouns[path].ko)}
    return [caption for caption in quiz7_captions() if caption.casefold() not in names]


def solution_lines() -> list[str]:
    """The telling lines of the quizzes' solution and hidden-test blocks (25 characters or more).

    Quiz 3-6 asks students to write again what lecture 04 does, so a line the public lectures or mmembed already
    hold is no answer; every other line is.
    """
    sources = [(REPO / "solutions" / "quiz_search.py").read_text(encoding="utf-8")]
    for notebook in sorted((REPO / "solutions" / "quiz_notebooks").glob("*.ipynb")):
        sources += ["".join(cell["source"]) for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]]
    lines = set()
    for source in sources:
        for block in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", source, re.DOTALL):
            lines |= {line.strip() for line in block.splitlines()}
    public = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*(REPO / "lectures").glob("*.ipynb"), *(REPO / "mmembed").rglob("*.py")]
    )
    return sorted(line for line in lines if len(line) >= 25 and not line.startswith("# HINT:") and line not in public)


def found(texts: dict[str, str], needles: list[str], skip=()) -> list[tuple[str, str]]:
    return [
        (name, needle)
        for name, text in texts.items()
        if name not in skip
        for needle in needles
        if needle.casefold() in text.casefold()
    ]


def test_what_students_need_is_there(edition):
    for path in [
        "README.md",
        "Makefile",
        "pyproject.toml",
        "mmembed/__init__.py",
        "models/mini/model.safetensors",
        "images/LICENSES.md",
        "mmembed/data/LICENSE-open_clip.txt",
        "quizzes/quiz_search.py",
        "quizzes/check_quiz_search.py",
        "quizzes/quiz_notebooks/quiz7_find_pictures.ipynb",
        "lectures/04_image_search.ipynb",
        "jupyter/student/labconfig/page_config.json",
    ]:
        assert (edition / path).is_file(), path
    assert len(list((edition / "images" / "quiz-image").iterdir())) == 200


def test_private_folders_and_files_are_left_out(edition):
    assert [path for path in LEFT_OUT if (edition / path).exists()] == []


def test_no_private_file_is_copied(edition):
    """No file of the edition has the content of a private one (a key, a hidden-test notebook, config.py)."""
    private = {
        hashlib.sha256(path.read_bytes()).hexdigest(): path.relative_to(REPO).as_posix()
        for folder in PRIVATE
        for path in (REPO / folder).rglob("*")
        if path.is_file() and path.stat().st_size >= 64 and "student_edition" not in path.parts
    }
    copies = [
        (path.relative_to(edition).as_posix(), private[digest])
        for path in edition.rglob("*")
        if path.is_file() and (digest := hashlib.sha256(path.read_bytes()).hexdigest()) in private
    ]
    assert copies == []


def test_no_solution_or_hidden_test_block(texts):
    assert found(texts, ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END SOLUTION", "END HIDDEN TESTS"]) == []


def test_no_line_of_a_solution(texts):
    lines = solution_lines()
    assert len(lines) >= 10  # the solutions were read
    assert found(texts, lines) == []


def test_hidden_queries_are_not_listed(texts):
    """No file names the hidden queries as such, lists them together, or puts one beside a quiz picture's name."""
    queries = [query.casefold() for query in config.HIDDEN_QUERIES]
    assert found(texts, ["HIDDEN_QUERIES", "숨은 문장:"]) == []
    listed, beside = [], []
    for name, text in texts.items():
        text = text.casefold()
        starts = {query: [m.start() for m in re.finditer(re.escape(query), text)] for query in queries}
        if all(starts.values()) and max(min(s) for s in starts.values()) - min(min(s) for s in starts.values()) < 500:
            listed.append(name)
        if name not in PICTURE_DESCRIPTIONS:
            near = r"val_\d+\.jpe?g"
            beside += [
                (name, q) for q, s in starts.items() for i in s if re.search(near, text[max(0, i - 200) : i + 200])
            ]
    assert listed == [] and beside == []


def test_manifest_has_no_group_column(edition):
    with open(edition / "images" / "MANIFEST.csv", encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert "group" not in reader.fieldnames
    assert len(rows) == len(manifest_rows())


def test_short_texts_have_no_group_rows(edition):
    with open(edition / "images" / "short_texts.csv", encoding="utf-8", newline="") as file:
        assert {row["kind"] for row in csv.DictReader(file)} == {"category"}


def test_quiz2_answers_are_nowhere(texts):
    answers = quiz2_answers()
    assert {"a dog's head", "개의 머리", "강아지 얼굴"} <= set(answers) and len(answers) >= 30
    assert found(texts, answers, skip=PICTURE_DESCRIPTIONS) == []  # a dog's own caption may say it
    label = re.compile(r"group\W{0,5}head\b", re.IGNORECASE)
    assert [name for name, text in texts.items() if label.search(text)] == []


def test_quiz7_captions_are_nowhere(texts):
    """No caption of quiz 7's pictures that says more than the picture's name, in any file (the names' list
    included), and none of the descriptions that measure quiz 7; bare names ("a trumpet", "트럼펫") may be anywhere."""
    telling = quiz7_telling_captions()
    assert 0 < len(telling) < len(quiz7_captions()) == 10
    assert found(texts, telling) == []
    descriptions = quiz7_descriptions()
    assert len(descriptions) >= 30
    assert found(texts, descriptions) == []


def test_quiz7_pictures_are_captioned_with_their_first_names(edition):
    with open(edition / "images" / "MANIFEST.csv", encoding="utf-8", newline="") as file:
        captions = {row["path"]: (row["caption_en"], row["caption_ko"]) for row in csv.DictReader(file)}
    nouns = read_picture_nouns()
    targets = [f"quiz-image/{name}" for name in quiz7_targets()]
    assert {path: captions[path] for path in targets} == {
        path: (nouns[path].en[0], nouns[path].ko[0]) for path in targets
    }
    assert captions["quiz-image/val_134.JPEG"] == ("the Eiffel Tower", "에펠탑")
    untouched = {
        row["path"]: (row["caption_en"], row["caption_ko"]) for row in manifest_rows() if row["path"] not in targets
    }
    assert {path: captions[path] for path in untouched} == untouched
