"""Reading a student's quiz_search.py safely, before anything runs: what is graded is a copy of plain text.

A submission is refused, with a Korean message and 0 points, when it is missing, a link (it could point at
the solution or another student's file), not a regular file, empty, over 1 MB, binary, or not UTF-8.
The file is opened without following links and read once; it is never executed in place.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 1_000_000


@dataclass
class Submission:
    text: str | None  # the source, or None when refused
    problem: str | None  # why it was refused, in Korean, for the student
    status: str  # "ok", or "no file" / "refused" for the instructor


def read_submission(path: Path) -> Submission:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Submission(None, f"제출물에 {path.name}이(가) 없습니다.", "no file")
    except OSError as error:
        if os.path.islink(path):
            return Submission(
                None, f"{path.name}이(가) 파일이 아니라 링크(symlink)입니다. 파일 자체를 제출하세요.", "refused"
            )
        return Submission(None, f"{path.name}을(를) 열 수 없습니다 ({error.strerror}).", "refused")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Submission(None, f"{path.name}이(가) 보통 파일이 아닙니다 (폴더나 장치 파일).", "refused")
        if info.st_size > MAX_BYTES:
            return Submission(
                None, f"{path.name}이(가) 너무 큽니다 ({info.st_size:,}바이트, 최대 {MAX_BYTES:,}바이트).", "refused"
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:  # it grew while being read
        return Submission(None, f"{path.name}이(가) 너무 큽니다 (최대 {MAX_BYTES:,}바이트).", "refused")
    if not data.strip():
        return Submission(None, f"{path.name}이(가) 비어 있습니다.", "refused")
    if b"\x00" in data:
        return Submission(
            None,
            f"{path.name}이(가) 텍스트가 아니라 바이너리 파일입니다. 파이썬 소스 파일(.py)을 제출하세요.",
            "refused",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Submission(
            None,
            f"{path.name}이(가) UTF-8로 저장되어 있지 않습니다 ({error.start}번째 바이트). "
            "편집기에서 인코딩을 UTF-8로 바꿔 다시 저장하세요.",
            "refused",
        )
    return Submission(text.removeprefix("\ufeff"), None, "ok")
