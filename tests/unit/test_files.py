"""write_atomically: the one way the course replaces a file (cache entries, index files, the grader's reports)."""

import os

import pytest

from mmembed.files import write_atomically


def test_bytes_and_text_are_written_whole(tmp_path):
    write_atomically(tmp_path / "vectors.npy", b"\x93NUMPY")
    write_atomically(tmp_path / "grades.csv", "student,score\n김민지,14\n")
    assert (tmp_path / "vectors.npy").read_bytes() == b"\x93NUMPY"
    assert (tmp_path / "grades.csv").read_bytes() == "student,score\n김민지,14\n".encode()  # UTF-8


def test_a_file_is_replaced_and_its_folder_made(tmp_path):
    target = tmp_path / "results" / "alice" / "results.json"
    write_atomically(target, "{}")
    write_atomically(target, '{"score": 14}')
    assert target.read_text(encoding="utf-8") == '{"score": 14}'
    assert os.listdir(target.parent) == ["results.json"]  # no temporary file left beside it


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "report.md"
    write_atomically(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "lone surrogate \ud800")  # text UTF-8 cannot hold
    with pytest.raises(TypeError):
        write_atomically(target, ["not", "bytes"])  # fails while writing the temporary file
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.md"]
