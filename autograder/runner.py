"""Run one student's steps in a fork server (inside/child.py): in the bubblewrap sandbox when there is one.

`ForkServer` starts the child once per student (Python, torch and the model load once); each `run` sends one
step on the control socket with two fresh pipes, and reads back only that step's result, checked against the
step's schema (protocol.py). The grader never reads or writes a path the child could have replaced.

Limits, per student:
- a control group (sandbox/cgroups.py) when the grader may make one: memory including shmem, memfd and tmpfs,
  processes, and a CPU quota of the student's share of the cores. Each step's time limit then counts the CPU time
  of the student's processes, so a neighbour's load never times an honest student out; a wall-clock backstop
  (WALL_FACTOR times longer) catches a child that sleeps;
- without a control group, the wall clock alone, and the rlimits of isolation.py (which always apply too).
Afterwards nothing the child started is left: the sandbox's PID namespace ends with it, and the cgroup is
emptied; without a sandbox, the process group is killed, and as root every process of the child's throwaway uid.

Sandbox layout (what the child sees besides the system, Python and its packages, and mmembed), all at neutral
paths: no host path of the course, no student's name.

    /course/quizzes/quiz_search.py   the submission (a copy, read-only)
    /course/images/quiz-image/       the pictures (read-only); /course is the working folder
    /course/model/                   the grading model
    /grader/child.py, /grader/wire.py, /grader/guard.py, /grader/mmembed/
"""

import contextlib
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import config, protocol
from .inside import wire
from .sandbox import bubblewrap, cgroups, isolation

MAX_RESULT_BYTES = 64 * 2**20  # 200×512 floats are 400 kB; anything near this is not an honest answer
STDERR_TAIL_BYTES = 8_000
GRACE_SECONDS = 2  # after a step ends, how long to wait for its pipe to close
WALL_FACTOR = 2  # the wall-clock backstop when time is counted in CPU seconds (a child that only waits)
MAX_PROCESSES = isolation.MAX_PROCESSES
MODEL_IN_SANDBOX = "/course/model"

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
class StepRun:
    status: str  # "ok", "timeout", "crashed", "protocol", "too much output", "stopped"
    data: protocol.StepData | None  # the step's checked data when status is "ok"
    function: str | None = None  # the quiz function the child said it was in, for blame
    detail: str = ""  # for the instructor's log (English, and the child's stderr tail)
    cpu_seconds: float = 0.0
    imported: bool = True  # False: it ended before the submission was even imported
    # When the submission called an mmembed helper ("import", "step"), as the child's guard reported it on the
    # step's pipe: final, whatever the step did after (a crash, a hang, a forged message).
    helper_calls: frozenset = frozenset()


@dataclass
class Budget:
    """A step's time limit. With a cgroup: `seconds` of CPU time per core the student was given, counted over all
    of the student's processes, and WALL_FACTOR times `seconds` on the wall clock. Without: `seconds` of wall
    clock."""

    seconds: float
    cores: int
    group: object = None  # the student's cgroups.ChildGroup, or None
    started_wall: float = field(default_factory=time.monotonic)
    started_cpu: float = 0.0

    def __post_init__(self):
        if self.group is not None:
            self.started_cpu = self.group.cpu_seconds()

    def cpu_used(self) -> float:
        return self.group.cpu_seconds() - self.started_cpu if self.group is not None else 0.0

    def exceeded(self) -> bool:
        wall = time.monotonic() - self.started_wall
        if self.group is None:
            return wall > self.seconds
        return self.cpu_used() > self.seconds * self.cores or wall > WALL_FACTOR * self.seconds


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


def _feed(fd: int, data: bytes) -> None:
    """Write `data` to a pipe and close it, in the background (a child that never reads it just never gets it)."""

    def write():
        try:
            with open(fd, "wb", closefd=True) as pipe:
                pipe.write(data)
        except OSError:
            pass

    threading.Thread(target=write, daemon=True).start()


def child_env(model: str, threads: int) -> dict:
    """A small, fixed environment: nothing of the grader's own environment leaks in."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MMEMBED_MODEL": model,  # main() calls mmembed.load_clip() without a name
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TQDM_DISABLE": "1",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def model_bind(model_dir: Path) -> Path:
    """The folder to show for a model: a Hugging Face cache snapshot links into its repository's blobs/."""
    model_dir = model_dir.resolve()
    if model_dir.parent.name == "snapshots":
        return model_dir.parent.parent
    return model_dir


def model_in_sandbox(model_dir: Path) -> str:
    """Where the child finds the model: under /course/model, whatever its host path."""
    model_dir = model_dir.resolve()
    return str(Path(MODEL_IN_SANDBOX) / model_dir.relative_to(model_bind(model_dir)))


def sandbox_mounts(submission: Path, model_dir: Path) -> bubblewrap.Mounts:
    """What the child sees. Refuses a Python environment that would show a secret (the solution, the grader)."""
    mmembed_dir = Path(__import__("mmembed").__file__).resolve().parent
    mounts = bubblewrap.Mounts(
        read_only=bubblewrap.python_paths(),
        files={
            "/grader/mmembed": mmembed_dir,  # beside child.py: the child imports the grader's own mmembed
            "/course/quizzes/quiz_search.py": submission,
            "/course/images/quiz-image": config.IMAGE_DIR,
            MODEL_IN_SANDBOX: model_bind(model_dir),
            "/grader/child.py": config.CHILD_SCRIPT,
            "/grader/wire.py": config.CHILD_SCRIPT.with_name("wire.py"),
            "/grader/guard.py": config.CHILD_SCRIPT.with_name("guard.py"),
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


def stage(submission_text: str) -> Path:
    """A fresh private folder (mode 0700, the grader's, with a neutral name) holding the submission's copy, laid
    out as in the sandbox so the fallback finds the pictures the same way."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-"))
    (folder / "quizzes").mkdir()
    (folder / "quizzes" / "quiz_search.py").write_text(submission_text, encoding="utf-8")
    (folder / "images").mkdir()
    (folder / "images" / "quiz-image").symlink_to(config.IMAGE_DIR, target_is_directory=True)
    return folder


def remove(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)


class ForkServer:
    """One life of a student's child process: `start`, then `run` one step at a time, then `release`. After a
    crash, a hang or a protocol breach it is closed (`alive` is False), and the grader starts another."""

    def __init__(self, staged: Path, model_dir: Path, threads: int, memory_gb: float, sandboxed: bool):
        self.staged, self.model_dir, self.threads, self.sandboxed = staged, model_dir, threads, sandboxed
        self.memory_bytes = int(memory_gb * 2**30)
        self.address_space_bytes = int(max(config.MIN_ADDRESS_SPACE_GB, 2 * memory_gb) * 2**30)
        self.process = self.control = self.stderr = self.group = None
        self.uid = isolation.throwaway_uid() if isolation.available() else None
        self.oom_before = 0

    # --- starting -------------------------------------------------------------------------------------------

    def start(self, seconds: float) -> StepRun:
        """Start the child and wait until it has loaded the model ("ready")."""
        if stopping.is_set():
            return StepRun("stopped", None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        setup = {"threads": self.threads, "control_fd": theirs.fileno()}
        argv, cwd, env, fds = self._command(setup)
        if cgroups.support().available:
            self.group = cgroups.ChildGroup.create(self.memory_bytes, MAX_PROCESSES, self.threads)
        stderr_read, stderr_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr_write,
                pass_fds=(theirs.fileno(), *fds),
                start_new_session=True,
                preexec_fn=self._preexec(),
            )
        except OSError as error:
            for fd in (stderr_read, stderr_write, *fds):
                os.close(fd)
            theirs.close()
            return StepRun("crashed", None, detail=f"could not start the child: {error}")
        for fd in (stderr_write, *fds):
            os.close(fd)
        theirs.close()
        with _running_lock:
            _running.add(self.process)
            if stopping.is_set():  # Ctrl-C came while this child was starting, after stop_all looked: stop it too
                _kill_group(self.process)
        self.stderr = _Drain(stderr_read, STDERR_TAIL_BYTES, keep_tail=True)
        self.stderr.start()
        _feed(os.dup(self.process.stdin.fileno()), wire.encode("setup", self.setup))
        self.process.stdin.close()
        reply, status = self._reply(self._budget(seconds))
        if status != "ok" or reply.get("ready") != {}:
            return self._failed(status if status != "ok" else "protocol", "while starting")
        return StepRun("ok", None)

    def _command(self, setup: dict):
        """(argv, cwd, environment, extra fds) for the child; fills in self.setup."""
        submission = self.staged / "quizzes" / "quiz_search.py"
        if self.sandboxed:
            mounts = sandbox_mounts(submission, self.model_dir)
            model = model_in_sandbox(self.model_dir)
            self.setup = {**setup, "submission": "/course/quizzes/quiz_search.py", "sweep": True}
            self.setup.update(image_dir="/course/images/quiz-image", model=model)
            args = bubblewrap.command(
                [sys.executable, "-E", "-s", "/grader/child.py"],
                mounts,
                child_env(model, self.threads),
                cwd="/course",
                uid=self.uid,
            )
            argv, fds = bubblewrap.with_args_fd(args)
            return argv, "/", {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, fds
        home = self.staged / "home"
        home.mkdir(exist_ok=True)
        if self.uid is not None:
            os.chown(home, self.uid, self.uid)
            self.staged.chmod(0o711)  # the child may enter the folder, not list it
        self.setup = {**setup, "submission": str(submission), "sweep": self.uid is not None}
        self.setup.update(image_dir=str(self.staged / "images" / "quiz-image"), model=str(self.model_dir))
        env = {**child_env(str(self.model_dir), self.threads), "HOME": str(home), "HF_HOME": str(home / "hf")}
        return [sys.executable, "-E", "-s", str(config.CHILD_SCRIPT)], self.staged, env, ()

    def _preexec(self):
        if self.sandboxed:  # setpriv drops to the throwaway uid inside, after bwrap has mounted everything
            shared = self.uid is None or bubblewrap.needs_user_namespace()  # its processes count as ours
            own = isolation.processes_of(os.getuid()) if shared else 0
            limits = isolation.limits(self.address_space_bytes, own + MAX_PROCESSES)
        else:
            limits = isolation.limits(self.address_space_bytes, None, self.uid)
        group = self.group

        def preexec():
            if group is not None:
                group.preexec()
            limits()

        return preexec

    # --- one step -------------------------------------------------------------------------------------------

    def run(self, step: str, job: dict, arrays: dict, seconds: float, queries: int = 0) -> StepRun:
        """Run `step` in a fresh fork, with `job` and `arrays` as its only inputs."""
        messages = []
        run = self._run(step, job, arrays, seconds, queries, messages)
        run.helper_calls = protocol.helper_calls(messages)
        return run

    def _run(self, step: str, job: dict, arrays: dict, seconds: float, queries: int, messages: list) -> StepRun:
        """`run`; fills in `messages` with the well-formed start of what the step sent."""
        if stopping.is_set():
            return StepRun("stopped", None)
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        budget = self._budget(seconds)
        self.oom_before = self.group.oom_kills() if self.group is not None else 0
        try:
            socket.send_fds(self.control, [wire.encode("step", {"name": step})], [job_read, result_write])
        except OSError:
            for fd in (job_read, job_write, result_read, result_write):
                os.close(fd)
            return self._failed("crashed", f"before {step}")
        finally:
            for fd in (job_read, result_write):
                with contextlib.suppress(OSError):
                    os.close(fd)
        results = _Drain(result_read, MAX_RESULT_BYTES)
        results.start()
        _feed(job_write, wire.encode("job", job) + b"".join(wire.encode(n, a) for n, a in arrays.items()))
        reply, status = self._reply(budget)
        results.join(GRACE_SECONDS)
        received, malformed = wire.read_messages(bytes(results.data))
        messages.extend(received)
        function = protocol.last_function(messages)
        cpu = budget.cpu_used()
        if results.overflow:
            return self._failed("too much output", f"in {step}", function)
        if status != "ok":
            failed = self._failed(status, f"in {step}", function)
            failed.imported = protocol.imported(messages)
            return failed
        done = reply.get("done")
        if not isinstance(done, dict) or done.get("step") != step or results.is_alive():
            return self._failed("protocol", f"{step}: the child's report does not match the step", function)
        if not done.get("clean"):
            self.close()  # something of the student's survived the step: no later step may share its sandbox
        exit_code = done.get("exit")
        if malformed:  # a stream cut short by a crash is malformed too, but then the child did not exit 0
            status = "protocol" if exit_code == 0 else "crashed"
            return StepRun(status, None, function, f"{step}: {malformed} (exit {exit_code})", cpu)
        try:
            data = protocol.accept(step, messages, queries)
        except protocol.NoResult as error:
            status = "out of memory" if self._out_of_memory() else "crashed"
            return StepRun(status, None, function, f"{error} (exit {exit_code})", cpu, protocol.imported(messages))
        except protocol.ProtocolError as error:
            return StepRun("protocol", None, function, f"{error} (exit {exit_code})", cpu)
        return StepRun("ok", data, function, "", cpu)

    def _budget(self, seconds: float) -> Budget:
        return Budget(seconds, self.threads, self.group)

    def _reply(self, budget: Budget) -> tuple[dict, str]:
        """The child's next control message ({name: value}) and "ok", or ({}, why there is none)."""
        while True:
            if stopping.is_set():
                return {}, "stopped"
            if budget.exceeded():
                return {}, "timeout"
            ready, _, _ = select.select([self.control], [], [], 0.1)
            if ready:
                try:
                    message = self.control.recv(10_000)
                except OSError:
                    message = b""
                return (wire.decode(message), "ok") if message else ({}, "crashed")

    def _failed(self, status: str, where: str, function: str | None = None) -> StepRun:
        """End this child (a later step starts a fresh one) and say why, with its stderr for the instructor."""
        self.close()
        tail = printable(bytes(self.stderr.data)) if self.stderr is not None else ""
        oom = self._out_of_memory()
        detail = f"child {status} {where}{' (out of memory)' if oom else ''}: ...{tail[-1500:]}"
        return StepRun("out of memory" if oom and status == "crashed" else status, None, function, detail)

    def _out_of_memory(self) -> bool:
        """Did the kernel kill one of the student's processes for memory since the step began?"""
        return self.group is not None and self.group.oom_kills() > self.oom_before

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            _kill_group(self.process)
            self.process.wait()
            if self.uid is not None and not self.sandboxed:
                isolation.kill_all(self.uid)
            with _running_lock:
                _running.discard(self.process)
            self.process = None
        if self.group is not None:
            self.group.kill()
        if self.stderr is not None:
            self.stderr.join(GRACE_SECONDS)

    def release(self) -> tuple[int, float]:
        """After the last step: end the child and remove its cgroup. Returns the cgroup's (peak memory in bytes,
        CPU seconds), zeros without one."""
        self.close()
        if self.group is None:
            return 0, 0.0
        used = self.group.memory_peak_bytes(), self.group.cpu_seconds()
        self.group.remove()
        self.group = None
        return used

    @property
    def alive(self) -> bool:
        return self.process is not None


def printable(data: bytes) -> str:
    """A child's bytes as text safe for a log or a terminal: invalid UTF-8 replaced, control characters (a
    terminal's escape sequences among them) shown as escapes, newlines and tabs kept."""
    text = data.decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the child and anything left in its process group (in the sandbox: bwrap, and with it the namespace)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
