"""Regular files only, at every door a submission comes through: nbgrader never follows a student's link.

A submission reaches the course folder through the exchange (`nbgrader collect`, collect.py) or by hand (unzip,
tar, a copy into `submitted/`); both go through `copy_regular_files` before nbgrader reads a byte of it. It opens
every entry relative to its folder with O_NOFOLLOW, so a symbolic link is never followed, not even one swapped in
while it copies; it keeps only regular files with one name (a hard link may point at anyone's file) and real
folders, and at most MAX_FILES files, MAX_FILE_BYTES each and MAX_TOTAL_BYTES in all, MAX_DEPTH folders deep.

Anything else is refused. A refused notebook becomes a placeholder: the released notebook with a first cell
telling the student, in Korean, what was refused and why, and a mark that makes autograding give every test 0
without starting a kernel (canary.py). The student reads that note in their feedback. A submission by hand that
held something refused is moved to `refused/<student>/<assignment>/` in the course folder, for the instructor.
"""

import errno
import fnmatch
import logging
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_FILES = 100
MAX_FILE_BYTES = 20 * 2**20
MAX_TOTAL_BYTES = 50 * 2**20
MAX_DEPTH = 5
SUBMITTED, RELEASE = "submitted", "quizzes"  # the course's folders (nbgrader_config.py names the same)
REFUSED_MARK = "mmembed_refused"  # notebook metadata of a placeholder: why it was refused
REFUSED_NOTE = (
    "## 제출물이 거부되었습니다\n\n"
    "이 노트북은 채점하지 않았고, 모든 문제가 0점입니다. 이유: {reasons}.\n\n"
    "채점기는 일반 파일만 받습니다: 링크(심볼릭 링크, 하드 링크), 장치·파이프 같은 특수 파일, "
    "너무 크거나 많은 파일은 받지 않습니다. 노트북 파일 자체를 다시 제출하고, 실수라고 생각하면 강사에게 문의하세요."
)
KOREAN_REASONS = {
    "link": "링크입니다",
    "hard link": "하드 링크입니다",
    "not a regular file": "일반 파일이 아닙니다",
    "too large": "파일이 너무 큽니다",
    "too many files": "파일이 너무 많습니다",
    "too deep": "폴더가 너무 깊습니다",
    "unreadable": "읽을 수 없습니다",
}


@dataclass
class Admission:
    copied: list[str] = field(default_factory=list)  # relative paths
    refused: dict[str, str] = field(default_factory=dict)  # relative path ("." for the whole folder) -> reason
    total_bytes: int = 0


def _open_entry(name: str, dir_fd: int) -> tuple[int | None, str | None]:
    """An fd for one entry, never through a link, never blocking on a pipe; or why it is refused."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(name, flags, dir_fd=dir_fd), None
    except OSError as error:
        return None, "link" if error.errno == errno.ELOOP else "unreadable"


def _copy_file(fd: int, info: os.stat_result, dest: Path) -> None:
    with open(dest, "xb") as out:
        left = info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)
    os.utime(dest, ns=(info.st_atime_ns, info.st_mtime_ns))


def _walk(dir_fd: int, dest: Path, relative: str, depth: int, admission: Admission, wanted) -> None:
    for name in sorted(os.listdir(dir_fd)):
        path = f"{relative}/{name}" if relative else name
        fd, why = _open_entry(name, dir_fd)
        if fd is None:
            admission.refused[path] = why
            continue
        try:
            info = os.fstat(fd)
            if not wanted(path, stat.S_ISDIR(info.st_mode)):
                continue
            if stat.S_ISDIR(info.st_mode):
                if depth >= MAX_DEPTH:
                    admission.refused[path] = "too deep"
                    continue
                (dest / name).mkdir()
                _walk(fd, dest / name, path, depth + 1, admission, wanted)
            elif not stat.S_ISREG(info.st_mode):
                admission.refused[path] = "not a regular file"
            elif info.st_nlink != 1:
                admission.refused[path] = "hard link"
            elif info.st_size > MAX_FILE_BYTES or admission.total_bytes + info.st_size > MAX_TOTAL_BYTES:
                admission.refused[path] = "too large"
            elif len(admission.copied) >= MAX_FILES:
                admission.refused[path] = "too many files"
            else:
                _copy_file(fd, info, dest / name)
                admission.copied.append(path)
                admission.total_bytes += info.st_size
        finally:
            os.close(fd)


def copy_regular_files(source: Path, dest: Path, wanted=lambda path, is_folder: True) -> Admission:
    """Copy the regular files of the folder `source` into a new folder `dest`, following no link. `wanted(path,
    is_folder)` leaves out what the course does not collect (nbgrader's include and ignore patterns)."""
    admission = Admission()
    dest.mkdir(parents=True)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        dir_fd = os.open(source, flags)
    except OSError as error:
        admission.refused["."] = "link" if error.errno in (errno.ELOOP, errno.ENOTDIR) else "unreadable"
        return admission
    try:
        _walk(dir_fd, dest, "", 0, admission, wanted)
    finally:
        os.close(dir_fd)
    return admission


def korean(reasons: dict[str, str]) -> str:
    return "; ".join(
        f"{'제출 폴더' if path == '.' else path}: {KOREAN_REASONS.get(why, why)}"
        for path, why in sorted(reasons.items())
    )


def write_placeholders(dest: Path, release: Path, admission: Admission) -> list[str]:
    """A placeholder for each refused notebook (every released one if the whole folder was refused)."""
    if "." in admission.refused:
        names = sorted(path.name for path in release.glob("*.ipynb"))
    else:
        names = [path for path in admission.refused if path.endswith(".ipynb") and "/" not in path]
    written = []
    for name in names:
        reasons = {path: why for path, why in admission.refused.items() if path in (".", name)}
        nb = nbformat.read(release / name, as_version=4) if (release / name).is_file() else nbformat.v4.new_notebook()
        nb.metadata[REFUSED_MARK] = korean(reasons)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(REFUSED_NOTE.format(reasons=korean(reasons))))
        (dest / name).unlink(missing_ok=True)
        nbformat.write(nb, dest / name)
        written.append(name)
    return written


def needs_copy(folder: Path) -> bool:
    """Whether a folder gathered by hand holds anything `copy_regular_files` would not take as it is."""
    if folder.is_symlink() or not folder.is_dir():
        return True
    count, total = 0, 0
    for directory, folders, files in os.walk(folder):  # never into a linked folder: it is listed as a name
        depth = len(Path(directory).relative_to(folder).parts)
        for name in [*folders, *files]:
            info = os.lstat(os.path.join(directory, name))
            if stat.S_ISDIR(info.st_mode):
                if depth >= MAX_DEPTH:
                    return True
                continue
            count, total = count + 1, total + info.st_size
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > MAX_FILE_BYTES:
                return True
            if count > MAX_FILES or total > MAX_TOTAL_BYTES:
                return True
    return False


def admit_in_place(folder: Path, release: Path, quarantine: Path, log=None) -> Admission | None:
    """Check a submission gathered by hand (`submitted/<student>/<assignment>`). If it holds anything but
    regular files within the caps, keep only those (and placeholders), and move the original to `quarantine`."""
    if not os.path.lexists(folder) or not needs_copy(folder):
        return None
    aside = folder.with_name(f".{folder.name}.checking-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(folder, aside)  # a link is moved, not followed
    admission = copy_regular_files(aside, folder)
    write_placeholders(folder, release, admission)
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(quarantine):
        _remove(quarantine)
    os.rename(aside, quarantine)
    if log is not None:
        log.warning("Refused in %s (moved to %s): %s", folder, quarantine, admission.refused)
    return admission


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)


def admit_students(root: Path, assignment: str, student: str = "*", submitted="submitted", release="release", log=None):
    """`admit_in_place` for every `submitted/<student>/<assignment>` matching `student` (a name or a glob)."""
    admitted = {}
    release_folder = root / release / assignment
    for student_folder in sorted((root / submitted).iterdir()) if (root / submitted).is_dir() else []:
        if not fnmatch.fnmatchcase(student_folder.name, student):
            continue
        folder = student_folder / assignment
        quarantine = root / "refused" / student_folder.name / assignment
        if student_folder.is_symlink():  # the student's own folder is a link: refused whole, never entered
            quarantine.parent.mkdir(parents=True, exist_ok=True)
            os.rename(student_folder, quarantine.with_name(f"{assignment}.link-{time.monotonic_ns()}"))
            folder.mkdir(parents=True)
            admission = Admission(refused={".": "link"})
            write_placeholders(folder, release_folder, admission)
            admitted[student_folder.name] = admission
            continue
        admitted[student_folder.name] = admit_in_place(folder, release_folder, quarantine, log)
    return admitted


def before_autograde(root: Path, submitted: str, release: str):
    """nbgrader's `Autograde.pre_convert_hook`: `admit_students` for the students being graded, before nbgrader
    copies or reads anything of theirs. (nbgrader logs a failing hook and goes on, so this one cannot fail
    quietly: it logs at error level.)"""
    log = logging.getLogger("autograder.notebooks.doors")

    def hook(assignment: str, student: str, notebooks: list[str]) -> None:
        try:
            admit_students(root, assignment, student or "*", submitted, release, log)
        except Exception:
            log.exception("could not check the submissions of %s for links: not safe to grade", assignment)
            raise

    return hook
