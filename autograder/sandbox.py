"""Start child.py on one submission in its own process group, with a wall-clock and a memory limit.

When the grader runs as root (CI, a grading server), each child also runs under a throwaway user id of its
own (isolation.py). Run as an ordinary user (a student's self-check), the child shares that user's rights:
see the README, "Autograder limits".
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import config, isolation


def stage(submission: Path) -> Path:
    """A fresh folder holding only a copy of the submission, laid out so its own IMAGE_DIR finds the pictures.

    workdir/submission/quiz_search.py   (nothing else from the student's folder: no conftest.py, sitecustomize.py)
    workdir/images -> <repo>/images     (so Path(__file__).parent.parent / "images" / "quiz-image" works)
    workdir/io/                         (job.json in, results out)
    workdir/cwd/                        (the child's current directory)
    """
    workdir = Path(tempfile.mkdtemp(prefix="autograder-"))
    workdir.chmod(0o711)  # a child under another uid may enter the folder, but not list it
    for name in ("submission", "io", "cwd"):
        (workdir / name).mkdir(mode=0o755)
    shutil.copyfile(submission, workdir / "submission" / "quiz_search.py")
    (workdir / "images").symlink_to(config.IMAGE_DIR.parent, target_is_directory=True)
    return workdir


def _limits(memory_bytes, uid=None):
    def apply():  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))  # no single file over 1 GB
        if uid is not None:
            isolation.become(uid)

    return apply


def child_env(workdir: Path, model: str) -> dict:
    """A small, fixed environment: nothing of the grader's own environment leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir / "cwd"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MMEMBED_MODEL": model,  # main() calls mmembed.load_clip() without a name
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(workdir / "cwd" / "hf"),
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
    }


def run_child(workdir: Path, job: dict, timeout: float, memory_gb: float) -> str:
    """Run child.py once; return "ok", "timeout" or "exit <code>". The whole process group dies afterwards."""
    io_dir = workdir / "io"
    (io_dir / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    uid = isolation.throwaway_uid() if isolation.available() else None
    if uid is not None:
        for folder in (io_dir, workdir / "cwd"):  # the only places the child may write (a rerun gets them too)
            _chown_tree(folder, uid)
    with open(workdir / "stdout.txt", "ab") as out, open(workdir / "stderr.txt", "ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-I", str(config.CHILD_SCRIPT), str(io_dir)],
            cwd=workdir / "cwd",
            env=child_env(workdir, job["model"]),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limits(int(memory_gb * 2**30), uid),
        )
        try:
            code = process.wait(timeout=timeout)
            status = "ok" if code == 0 else f"exit {code}"
        except subprocess.TimeoutExpired:
            status = "timeout"
        finally:
            _kill_group(process)
            if uid is not None:
                isolation.kill_all(uid)
    return status


def _chown_tree(folder: Path, uid: int) -> None:
    os.lchown(folder, uid, uid)
    for path in folder.rglob("*"):
        os.lchown(path, uid, uid)


def _kill_group(process):
    """Kill the child and anything it left behind in its process group (a session of its own)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
