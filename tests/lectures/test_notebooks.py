"""The notebooks: every lecture runs top to bottom in a real Jupyter kernel, offline and in time, and shows
at least one figure; every committed notebook is stored without outputs; and what a student reads is the
lesson only: the glossary is linked, its terms are used, there is one offline switch, no developer text
(test files, checks that `mmembed` has not drifted from the lecture), and every lecture ends with a summary
and exercises whose answers are in solutions/lectures/."""

import ast
import re

import nbformat
import pytest

from tests.helpers import REPO_ROOT
from tests.lectures.conftest import LECTURES, LECTURES_DIR, executed_lecture, lecture_group, seconds_limit
from tests.lectures.test_session_length import taught_cells

COMMITTED = sorted(
    path
    for folder in ("lectures", "quizzes", "solutions")
    for path in (REPO_ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in path.parts
)
GLOSSARY = LECTURES_DIR / "용어집.md"
PREDICTION = "**예측해 보기:**"
EXERCISE = "**연습:**"
NOTHING_TO_PRACTISE = ("준비", "미리 보기")
SOLUTIONS_DIR = REPO_ROOT / "solutions" / "lectures"
# Words the glossary replaced: one Korean term per concept (the glossary's term in the comment).
REPLACED_TERMS = {
    "텍스트 타워": "텍스트 인코더",
    "글 탑": "텍스트 인코더",
    "이미지 타워": "이미지 인코더",
    "사진 탑": "이미지 인코더",
    "코스 사진": "강의 사진",
    "대역": "대체 모델",
    "선생님": "교사 모델",
    "사영": "투영",
    "보폭": "스트라이드",
    "눈금": "점수 범위",
}


def names(paths):
    return [path.relative_to(REPO_ROOT).as_posix() for path in paths]


def cells(notebook):
    return nbformat.read(notebook, as_version=4).cells


def student_text(notebook):
    return "\n".join(cell.source for cell in cells(notebook))


@pytest.mark.slow
@pytest.mark.parametrize(
    "notebook",
    [pytest.param(path, marks=pytest.mark.xdist_group(lecture_group(path))) for path in LECTURES],
    ids=names(LECTURES),
)
def test_lecture_runs_top_to_bottom(notebook, record_property):
    nb, seconds = executed_lecture(notebook)
    limit = seconds_limit(notebook)
    record_property("seconds", round(seconds, 1))
    print(f"{notebook.name}: {seconds:.0f} s with MMEMBED_OFFLINE=1")

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # JupyterLab shows stderr in a pink box, which students take for an error. Offline, a lecture writes nothing
    # there: mmembed's notes go to stdout, and no library warns (a glyph missing from the Korean font, say).
    pink = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not pink, f"{notebook.name} writes to stderr: {pink}"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{notebook.name} shows no figure"
    # transformers draws a "Loading weights 0/110" bar at every model load; the lectures switch it off (see below)
    assert not [o for o in outputs if "Loading weights" in str(o)], f"{notebook.name} shows a loading bar"
    assert seconds < limit, f"{notebook.name} took {seconds:.0f} s (limit {limit} s)"


@pytest.mark.parametrize("notebook", COMMITTED, ids=names(COMMITTED))
def test_committed_notebook_has_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{notebook.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_starts_with_goals_and_the_glossary(notebook):
    first = cells(notebook)[0]
    assert first.cell_type == "markdown" and "## 학습 목표" in first.source
    assert "[용어집](용어집.md)" in first.source and GLOSSARY.is_file()


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_ends_with_a_summary_and_two_to_four_exercises_with_answers(notebook):
    """The session's last cell (before a final "## 더 알아보기" part, if any) is its summary and exercises."""
    last = cells(notebook)[len(taught_cells(notebook)) - 1]
    assert last.cell_type == "markdown" and "## 정리" in last.source and "## 연습 문제" in last.source
    exercises = re.findall(r"^\d\. ", last.source.split("## 연습 문제")[1], re.M)
    assert 2 <= len(exercises) <= 4, f"{notebook.name}: {len(exercises)} exercises"
    answers = SOLUTIONS_DIR / f"{notebook.stem}.md"
    assert answers.is_file(), f"no answers for {notebook.name} in {answers.relative_to(REPO_ROOT)}"
    assert f"solutions/lectures/{answers.name}" in last.source
    assert len(re.findall(r"^## \d\. ", answers.read_text(encoding="utf-8"), re.M)) == len(exercises)


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_every_prediction_is_answered_by_the_next_cell(notebook):
    """At least two "예측해 보기" prompts; each is a markdown cell, the next cell is the code that answers it, and the
    markdown after that says whether the usual guess was right."""
    lecture = cells(notebook)
    prompts = [i for i, c in enumerate(lecture) if c.cell_type == "markdown" and c.source.startswith(PREDICTION)]
    assert len(prompts) >= 2, f"{notebook.name}: {len(prompts)} {PREDICTION} prompts"
    for i in prompts:
        assert lecture[i + 1].cell_type == "code" and lecture[i + 2].cell_type == "markdown", (notebook.name, i)


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_every_taught_section_ends_with_a_short_exercise(notebook):
    """Each numbered section of the session ("## 3. ...") has a "**연습:**" for the class, but the setup and the
    preview of a quiz, which have nothing to practise."""
    sections, current = {}, None
    for cell in taught_cells(notebook):
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            if re.match(r"## \d+\. ", line):
                current = line
                sections[current] = 0
            elif line.startswith("## "):
                current = None
            elif current and line.startswith(EXERCISE):
                sections[current] += 1
    practised = {
        heading: count for heading, count in sections.items() if not any(w in heading for w in NOTHING_TO_PRACTISE)
    }
    assert practised and [heading for heading, count in practised.items() if not count] == [], notebook.name


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_a_lecture_that_loads_a_model_switches_the_loading_bars_off_first(notebook):
    code = [cell.source for cell in cells(notebook) if cell.cell_type == "code"]
    if any(call in source for source in code for call in ("from_pretrained(", "load_clip(", "course_model(")):
        assert "transformers_logging.disable_progress_bar()" in code[0], notebook.name


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_student_sees_one_offline_switch_and_no_developer_text(notebook):
    text = student_text(notebook)
    assert "MMEMBED_MODEL" not in text, "the one offline switch is MMEMBED_OFFLINE=1"
    assert not re.search(r"tests/|test_\w+\.py", text), "students do not need the project's test files"
    assert "mmembed가 바뀌" not in text and "강의와 패키지가 어긋나" not in text


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_no_cell_asserts_that_mmembed_agrees_with_the_lecture(notebook):
    """Those drift checks live in the claims tests of tests/lectures, which read each lecture's run."""
    for index, cell in enumerate(cells(notebook)):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assert):
                assert "mmembed" not in ast.unparse(node), f"{notebook.name}, cell {index}: {ast.unparse(node)}"


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_uses_the_glossary_terms(notebook):
    text = student_text(notebook)
    for replaced, term in REPLACED_TERMS.items():
        assert replaced not in text, f"{notebook.name} says {replaced!r}; the glossary's term is {term!r}"


def test_glossary_has_a_korean_and_an_english_term_for_every_entry():
    rows = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    entries = [row for row in rows if not row.startswith(("| 한국어", "| ---"))]
    assert len(entries) >= 40
    for row in entries:
        korean, english, meaning = (part.strip() for part in re.split(r"(?<!\\)\|", row.strip().strip("|")))
        assert korean and english and meaning, row
    assert "| 텍스트 인코더 | text encoder |" in "\n".join(rows)
    assert "온도의 역수" in GLOSSARY.read_text(encoding="utf-8")
