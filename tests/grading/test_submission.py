"""autograder/submission.py: what is graded is a copy of plain text, read without following links."""

import os

import pytest

from autograder.submission import MAX_BYTES, read_submission

SOURCE = "def main():\n    print('안녕')\n"


def test_plain_utf8_text_is_read_as_it_is(tmp_path):
    (tmp_path / "quiz_search.py").write_text(SOURCE, encoding="utf-8")
    submission = read_submission(tmp_path / "quiz_search.py")
    assert (submission.text, submission.problem, submission.status) == (SOURCE, None, "ok")


def test_a_byte_order_mark_is_dropped(tmp_path):
    (tmp_path / "quiz_search.py").write_bytes(b"\xef\xbb\xbf" + SOURCE.encode())
    assert read_submission(tmp_path / "quiz_search.py").text == SOURCE


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "비어 있습니다"),
        (b"   \n\n", "비어 있습니다"),
        ("# 한글\n".encode("cp949"), "UTF-8"),
        (b"\x00\x01\x02", "바이너리"),
        (b"#" * (MAX_BYTES + 1), "너무 큽니다"),
    ],
)
def test_refused_contents(tmp_path, content, words):
    (tmp_path / "quiz_search.py").write_bytes(content)
    submission = read_submission(tmp_path / "quiz_search.py")
    assert submission.text is None and submission.status == "refused" and words in submission.problem


def test_a_link_is_refused_even_to_a_good_file(tmp_path):
    (tmp_path / "real.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "quiz_search.py").symlink_to(tmp_path / "real.py")
    submission = read_submission(tmp_path / "quiz_search.py")
    assert submission.text is None and "링크" in submission.problem


def test_a_folder_a_fifo_and_a_missing_file(tmp_path):
    (tmp_path / "folder").mkdir()
    assert "보통 파일이 아닙니다" in read_submission(tmp_path / "folder").problem
    os.mkfifo(tmp_path / "fifo")
    assert "보통 파일이 아닙니다" in read_submission(tmp_path / "fifo").problem  # opened without blocking
    missing = read_submission(tmp_path / "quiz_search.py")
    assert missing.status == "no file" and "없습니다" in missing.problem
