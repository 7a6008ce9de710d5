"""Run child.py on one submission: in the bubblewrap sandbox when there is one, else with the older isolation.

The job goes in on the child's stdin and the results come back on a pipe (wire.py): the grader never reads or
writes a path the child could have replaced. Limits: wall-clock time (enforced here), address space, file size,
processes. Afterwards nothing the child started is left: the sandbox's PID namespace ends with it; without a
sandbox, the process group is killed, and as root every process of the child's throwaway uid.

Sandbox layout (what the child sees besides the system, Python and its packages, mmembed and the model):

    /course/quizzes/quiz_search.py   the submission (a copy, read-only)
    /course/images/quiz-image/       the pictures (read-only); /course is the working folder
    /grader/child.py, /grader/wire.py, /grader/mmembed/
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import config
from .inside import wire
from .sandbox import bubblewrap, isolation

MAX_RESULT_BYTES = 64 * 2**20  # 200×512 floats are 400 kB; anything near this is not an honest answer
STDERR_TAIL_BYTES = 8_000
GRACE_SECONDS = 2  # after the child ends, how long to wait for its pipes to close
MAX_PROCESSES = isolation.MAX_PROCESSES


# Ctrl-C while a class is graded: `stop_all` kills every running child and no new one starts.
stopping = threading.Event()
_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def stop_all() -> None:
    stopping.set()
    with _running_lock:
        for process in list(_running):
            _kill_group(process)


@dataclass
class ChildRun:
    status: str  # "ok", "timeout", "exit <code>", "too much output"
    messages: dict  # what the child sent, by name (wire.decode)
    stderr: str  # the end of what it printed on stderr, for the instructor's log
    seconds: float


class _Drain(threading.Thread):
    """Reads a pipe to its end in the background, keeping at most `limit` bytes (the head, or the tail)."""

    def __init__(self, fd: int, limit: int, keep_tail: bool = False):
        super().__init__(daemon=True)
        self.fd, self.limit, self.keep_tail = fd, limit, keep_tail
        self.data, self.overflow = bytearray(), False

    def run(self):
        with open(self.fd, "rb", buffering=0, closefd=True) as pipe:
            while chunk := pipe.read(1 << 16):
                self.data += chunk
                if len(self.data) > self.limit:
                    if not self.keep_tail:
                        self.overflow = True
                        del self.data[self.limit :]
                        return
                    del self.data[: len(self.data) - self.limit]


class _Feed(threading.Thread):
    """Writes the job to the child's stdin and closes it (a child that never reads it just never gets it)."""

    def __init__(self, pipe, data: bytes):
        super().__init__(daemon=True)
        self.pipe, self.data = pipe, data

    def run(self):
        try:
            self.pipe.write(self.data)
            self.pipe.close()
        except OSError:
            pass


def child_env(model_dir: Path, threads: int) -> dict:
    """A small, fixed environment: nothing of the grader's own environment leaks in."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MMEMBED_MODEL": str(model_dir),  # main() calls mmembed.load_clip() without a name
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TQDM_DISABLE": "1",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def sandbox_mounts(submission: Path, model_dir: Path) -> bubblewrap.Mounts:
    """What the child sees. Refuses a Python environment that would show a secret (the solution, the grader)."""
    mmembed_dir = Path(__import__("mmembed").__file__).resolve().parent
    mounts = bubblewrap.Mounts(
        read_only=[*bubblewrap.python_paths(), model_bind(model_dir)],
        files={
            "/grader/mmembed": mmembed_dir,  # beside child.py: the child imports the grader's own mmembed
            "/course/quizzes/quiz_search.py": submission,
            "/course/images/quiz-image": config.IMAGE_DIR,
            "/grader/child.py": config.CHILD_SCRIPT,
            "/grader/wire.py": config.CHILD_SCRIPT.with_name("wire.py"),
        },
    )
    for secret in (config.SOLUTION, Path(__file__).resolve()):
        for path in mounts.read_only:
            if secret.is_relative_to(path):
                raise RuntimeError(f"the sandbox would show {secret} (it lies inside {path}); refusing to grade")
    return mounts


def model_unreadable_in_sandbox(model_dir: Path, sandboxed: bool) -> str | None:
    """Why the sandboxed child could not read the model, or None. As root the grader runs children as a throwaway
    user, who cannot read a file only its owner may (save_pretrained as root writes model.safetensors as 0600):
    every student would then crash, so the grader says so once, before grading anyone."""
    if not sandboxed or os.geteuid() != 0:
        return None
    folder = model_bind(model_dir)
    for path in [folder, *sorted(folder.rglob("*"))]:
        mode = path.stat().st_mode  # through links, as the child opens them
        needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needed != needed:
            return (
                f"the sandbox runs student code as an unprivileged user, who cannot read {path} "
                f"(mode {stat.filemode(mode)}); make the model readable: chmod -R a+rX {folder}"
            )
    return None


def model_bind(model_dir: Path) -> Path:
    """The folder to show for a model: a Hugging Face cache snapshot links into its repository's blobs/."""
    model_dir = model_dir.resolve()
    if model_dir.parent.name == "snapshots":
        return model_dir.parent.parent
    return model_dir


def stage(submission_text: str) -> Path:
    """A fresh private folder (mode 0700, the grader's) holding the submission's copy, laid out as in the sandbox
    so the fallback finds the pictures the same way: folder/quizzes/quiz_search.py, folder/images -> the repo's."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-"))
    (folder / "quizzes").mkdir()
    (folder / "quizzes" / "quiz_search.py").write_text(submission_text, encoding="utf-8")
    (folder / "images").mkdir()
    (folder / "images" / "quiz-image").symlink_to(config.IMAGE_DIR, target_is_directory=True)
    return folder


def _sandboxed(staged: Path, job: dict, env: dict, model_dir: Path, memory_bytes: int, uid: int | None):
    """(argv, cwd, environment, preexec) for a child in the bubblewrap sandbox."""
    mounts = sandbox_mounts(staged / "quizzes" / "quiz_search.py", model_dir)
    job.update(submission="/course/quizzes/quiz_search.py", image_dir="/course/images/quiz-image")
    argv = bubblewrap.command([sys.executable, "-E", "-s", "/grader/child.py"], mounts, env, cwd="/course", uid=uid)
    # As root the limit applies to the throwaway uid alone; an ordinary user's count includes all their processes.
    processes = MAX_PROCESSES if uid is not None else isolation.processes_of(os.getuid()) + MAX_PROCESSES
    return argv, "/", {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, isolation.limits(memory_bytes, processes)


def _fallback(staged: Path, job: dict, env: dict, memory_bytes: int, uid: int | None):
    """(argv, cwd, environment, preexec) for a child without a sandbox: the isolation of isolation.py."""
    job.update(submission=str(staged / "quizzes" / "quiz_search.py"), image_dir=str(staged / "images" / "quiz-image"))
    home = staged / "home"
    home.mkdir(exist_ok=True)
    if uid is not None:
        os.chown(home, uid, uid)
        staged.chmod(0o711)  # the child may enter the folder, not list it
    argv = [sys.executable, "-E", "-s", str(config.CHILD_SCRIPT)]
    return (
        argv,
        staged,
        {**env, "HOME": str(home), "HF_HOME": str(home / "hf")},
        isolation.limits(memory_bytes, None, uid),
    )


def run_child(
    staged: Path, job: dict, inputs: dict, model_dir: Path, timeout: float, memory_gb: float, sandboxed: bool
) -> ChildRun:
    """Run child.py once on the staged submission. `job` and `inputs` (arrays) go to the child on stdin."""
    env = child_env(model_dir, max(1, int(job.get("threads", 1))))
    result_read, result_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    job = {**job, "result_fd": result_write, "model": str(model_dir)}
    uid = isolation.throwaway_uid() if isolation.available() else None
    memory_bytes = int(memory_gb * 2**30)
    if sandboxed:
        argv, cwd, popen_env, preexec = _sandboxed(staged, job, env, model_dir, memory_bytes, uid)
    else:
        argv, cwd, popen_env, preexec = _fallback(staged, job, env, memory_bytes, uid)
    data = wire.encode("job", job) + b"".join(wire.encode(name, value) for name, value in inputs.items())

    if stopping.is_set():
        for fd in (result_read, result_write, stderr_read, stderr_write):
            os.close(fd)
        return ChildRun("stopped", {}, "", 0.0)
    started = time.monotonic()
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=popen_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr_write,
        pass_fds=(result_write,),
        start_new_session=True,
        preexec_fn=preexec,
    ) as process:
        with _running_lock:
            _running.add(process)
            if stopping.is_set():  # Ctrl-C came while this child was starting, after stop_all looked: stop it too
                _kill_group(process)
        os.close(result_write)
        os.close(stderr_write)
        results, stderr = _Drain(result_read, MAX_RESULT_BYTES), _Drain(stderr_read, STDERR_TAIL_BYTES, keep_tail=True)
        for thread in (results, stderr, _Feed(process.stdin, data)):
            thread.start()
        try:
            code = process.wait(timeout=timeout)
            status = "ok" if code == 0 else f"exit {code}"
        except subprocess.TimeoutExpired:
            status = "timeout"
        finally:
            _kill_group(process)
            process.wait()
            if uid is not None and not sandboxed:
                isolation.kill_all(uid)
            with _running_lock:
                _running.discard(process)
        results.join(GRACE_SECONDS)  # without a sandbox, a process that escaped may hold the pipe: do not wait
        stderr.join(GRACE_SECONDS)
    if results.overflow:
        status = "too much output"
    messages = wire.decode(bytes(results.data))
    return ChildRun(status, messages, bytes(stderr.data).decode("utf-8", "replace"), time.monotonic() - started)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the child and anything left in its process group (in the sandbox: bwrap, and with it the namespace)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def remove(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)
