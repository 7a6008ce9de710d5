"""autograder/notebooks/doors.py and outputs.py without nbgrader: what a door takes, what an output cap keeps.

The whole flow (real nbgrader commands, the exchange, a class) is in test_nbgrader.py; these are the rules, fast.
"""

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.notebooks import doors, outputs


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "instructor" / "gradebook.db"
    path.parent.mkdir()
    path.write_bytes(b"SQLite format 3\0 the answers")
    return path


@pytest.fixture
def release(tmp_path):
    folder = tmp_path / "release" / "quiz_notebooks"
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[new_code_cell("x = None")]), folder / "quiz.ipynb")
    return folder


def test_only_regular_files_with_one_name_are_copied(tmp_path, secret):
    source = tmp_path / "submission"
    (source / "sub").mkdir(parents=True)
    (source / "quiz.ipynb").write_text("{}")
    (source / "sub" / "data.txt").write_text("mine")
    (source / "link.ipynb").symlink_to(secret)
    (source / "sub" / "folder_link").symlink_to(secret.parent)
    os.link(secret, source / "hard.ipynb")
    os.mkfifo(source / "pipe")
    admission = doors.copy_regular_files(source, tmp_path / "copy")
    assert sorted(admission.copied) == ["quiz.ipynb", "sub/data.txt"]
    assert admission.refused == {
        "link.ipynb": "link",
        "sub/folder_link": "link",
        "hard.ipynb": "hard link",
        "pipe": "not a regular file",
    }
    copied = {path.relative_to(tmp_path / "copy").as_posix() for path in (tmp_path / "copy").rglob("*")}
    assert copied == {"quiz.ipynb", "sub", "sub/data.txt"}


def test_a_linked_folder_is_refused_whole(tmp_path, secret):
    (tmp_path / "submission").symlink_to(secret.parent)
    admission = doors.copy_regular_files(tmp_path / "submission", tmp_path / "copy")
    assert admission.refused == {".": "link"} and admission.copied == []


def test_caps_on_size_count_and_depth(tmp_path, monkeypatch):
    monkeypatch.setattr(doors, "MAX_FILES", 3)
    monkeypatch.setattr(doors, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(doors, "MAX_DEPTH", 1)
    source = tmp_path / "submission"
    (source / "a" / "b").mkdir(parents=True)
    (source / "big").write_bytes(b"x" * 11)
    for name in "cdef":
        (source / name).write_text(name)
    (source / "a" / "b" / "deep").write_text("deep")
    admission = doors.copy_regular_files(source, tmp_path / "copy")
    assert admission.refused == {"big": "too large", "f": "too many files", "a/b": "too deep"}


def test_a_submission_by_hand_is_cleaned_in_place_with_a_korean_placeholder(tmp_path, secret, release):
    folder = tmp_path / "submitted" / "kim" / "quiz_notebooks"
    folder.mkdir(parents=True)
    (folder / "quiz.ipynb").symlink_to(secret)
    (folder / "notes.txt").write_text("mine")
    admitted = doors.admit_students(tmp_path, "quiz_notebooks", "*", "submitted", "release")
    assert admitted["kim"].refused == {"quiz.ipynb": "link"}
    placeholder = nbformat.read(folder / "quiz.ipynb", as_version=4)
    assert not (folder / "quiz.ipynb").is_symlink() and placeholder.metadata[doors.REFUSED_MARK]
    assert "제출물이 거부되었습니다" in placeholder.cells[0].source and "링크입니다" in placeholder.cells[0].source
    assert (folder / "notes.txt").read_text() == "mine"
    assert (tmp_path / "refused" / "kim" / "quiz_notebooks" / "quiz.ipynb").is_symlink()
    assert secret.read_bytes().startswith(b"SQLite")  # untouched
    assert doors.admit_students(tmp_path, "quiz_notebooks", "*", "submitted", "release")["kim"] is None  # clean now


def test_a_linked_student_folder_gets_a_placeholder_for_every_notebook(tmp_path, secret, release):
    (tmp_path / "submitted").mkdir()
    (tmp_path / "submitted" / "lee").symlink_to(secret.parent)
    doors.admit_students(tmp_path, "quiz_notebooks", "lee", "submitted", "release")
    assert not (tmp_path / "submitted" / "lee").is_symlink()
    assert (tmp_path / "submitted" / "lee" / "quiz_notebooks" / "quiz.ipynb").is_file()
    assert sorted(p.name for p in secret.parent.iterdir()) == ["gradebook.db"]


def test_outputs_are_cut_to_the_cell_and_notebook_caps_with_the_marker():
    big = new_output("stream", name="stdout", text="x" * (3 * outputs.CELL_BYTES))
    many = [new_output("display_data", data={"text/plain": "y" * 1000}) for _ in range(2000)]
    error = new_output("error", ename="E", evalue="v" * 10**6, traceback=["t" * 10**6] * 100)
    nb = new_notebook(cells=[new_code_cell("", outputs=[big]), new_code_cell("", outputs=[*many, error])])
    nb.cells += [new_code_cell("", outputs=[new_output("stream", name="stdout", text="z" * 2**21)]) for _ in range(12)]
    outputs.bound_outputs(nb)
    sizes = [sum(outputs.size(o) for o in cell.outputs) for cell in nb.cells]
    assert max(sizes) <= outputs.CELL_BYTES and sum(sizes) <= outputs.NOTEBOOK_BYTES
    assert all(outputs.CUT_MARKER in cell.outputs[-1].get("text", "") for cell in nb.cells[:10])
    assert nb.cells[1].outputs[-2].output_type == "error"  # an error is kept, shortened


def test_outputs_arriving_from_the_kernel_are_cut_as_they_come():
    cap = outputs.StreamingCap()
    kept, cut = cap.admit(0, new_output("stream", name="stdout", text="z" * 2**21), own=False)
    assert cut and kept.text == "z" * len(kept.text) and outputs.size(kept) <= outputs.CELL_BYTES
    assert cap.admit(0, new_output("stream", name="stdout", text="more"), own=False) == (None, False)
    error = new_output("error", ename="E", evalue="v", traceback=[])
    assert cap.admit(0, error, own=False) == (error, False)  # a failed test always gets through
    for cell in range(1, 12):
        cap.admit(cell, new_output("stream", name="stdout", text="z" * 2**21), own=False)
    assert cap.notebook_bytes <= outputs.NOTEBOOK_BYTES
    assert cap.admit(99, new_output("stream", name="stdout", text="probe"), own=True)[0] is not None


def test_html_and_markdown_are_made_inert():
    from nbformat.v4 import new_markdown_cell

    hostile = '<script>run()</script><img src=x onerror="run()"> [link](javascript:run())'
    outputs_in = [
        new_output("display_data", data={"text/html": '<p onclick="run()">p</p><script>run()</script>'}),
        new_output("display_data", data={"text/markdown": "[x](javascript:run())", "text/plain": "x"}),
        new_output("display_data", data={"application/javascript": "run()", "text/plain": "js"}),
    ]
    honest = "`a < b` **bold** & [a link](https://example.org)"
    nb = new_notebook(
        cells=[new_markdown_cell(hostile), new_markdown_cell(honest), new_code_cell("", outputs=outputs_in)]
    )
    nb, _ = outputs.Sanitize()(nb, {})  # as nbconvert calls it (a preprocessor off by default does nothing)
    text = nbformat.writes(nb)
    for runnable in ("<script", "onerror", "onclick", "javascript:", "application/javascript"):
        assert runnable not in text, runnable
    assert nb.cells[1].source.strip() == (
        '<p><code>a &lt; b</code> <strong>bold</strong> &amp; <a href="https://example.org">a link</a></p>'
    )
