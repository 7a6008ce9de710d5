"""nbgrader's kernels in the same bubblewrap sandbox as `python -m autograder` (sandbox/bubblewrap.py).

`SandboxedKernelManager` is the kernel manager that `ExecuteWithCanaries` (canary.py) gives nbgrader's
Execute. It starts each student's kernel inside the sandbox, which shows only Python and its packages and the
`mmembed` the kernel imports, with that copy's models and pictures. The kernel cannot see or touch `submitted/`,
`autograded/`, `gradebook.db`, `source/`, other students or the grader; it has no network, a private HOME and
/tmp, and its own PID namespace, so nothing it started outlives it.

Which `mmembed` that is, is asked of the kernel's own Python, started the way the kernel starts (from `/`, with
the kernel's environment): a course folder holding a copy of the repository can sit anywhere while the kernel
imports an installed clone (an editable install on a JupyterHub), and the sandbox binds the one that is imported.

The network namespace is empty, so the kernel talks to nbgrader over Unix sockets (ZeroMQ's `ipc` transport) in
a folder of its own, the only place it may write outside its tmpfs folders. As root that folder is a tmpfs of
SOCKET_DIR_BYTES, and the kernel runs in a cgroup (sandbox/cgroups.py) of KERNEL_MEMORY_BYTES that its tmpfs pages
count against; as another user it is in $XDG_RUNTIME_DIR (a per-user tmpfs with a size cap, where there is one).
Interrupts go as messages on the control channel (a signal would stop at bwrap).

Without a sandbox (see bubblewrap.status()) the kernel starts as nbgrader always did, with one warning line,
unless `c.SandboxedKernelManager.require_sandbox = True` (in nbgrader_config.py): then grading stops.
"""

import contextlib
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool

from ..sandbox import bubblewrap, cgroups, isolation

# What the kernel's environment may keep of nbgrader's (everything else, paths and tokens included, stays out).
KEPT_ENVIRONMENT = (
    "LANG",
    "LC_ALL",
    "PYTHONIOENCODING",
    "MPLBACKEND",
    "MMEMBED_MODEL",
    "MMEMBED_GRADING_MODEL",  # mmembed.grading: the model the quizzes' check cells and the recheck grade with
    "MMEMBED_OFFLINE",
    "MMEMBED_PRECISION",
    "OMP_NUM_THREADS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)
MEMORY_BYTES = 6 * 2**30  # address space of a kernel, as for a quiz_search.py child
KERNEL_MEMORY_BYTES = 4 * 2**30  # the kernel's cgroup: its processes and every tmpfs page it writes
SOCKET_DIR_BYTES = 1 * 2**20  # ZeroMQ's sockets take no room; anything else the kernel writes there does
SOCKET_DIR_FILES = 64

# Asked of the kernel's Python: where the mmembed it imports, and that copy's models and pictures, are.
WHERE_MMEMBED = (
    "import json, mmembed, mmembed.paths as p; "
    "print(json.dumps([str(p.REPO_ROOT / 'mmembed'), str(p.MODELS_DIR), str(p.IMAGES_DIR)]))"
)


class SandboxRequired(RuntimeError):
    pass


def kernel_environment(outside) -> dict[str, str]:
    """The kernel's whole environment: the kept variables, a plain PATH, the hub offline."""
    from huggingface_hub import constants

    env = {key: outside[key] for key in KEPT_ENVIRONMENT if key in outside}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["HF_HUB_CACHE"] = str(Path(constants.HF_HUB_CACHE).resolve())
    return env


@functools.cache
def imported_course(python: str, environment: tuple) -> list[Path]:
    """The mmembed package, models and pictures that `python` imports when started as a kernel is."""
    result = subprocess.run(
        [python, "-I", "-c", WHERE_MMEMBED],
        cwd="/",
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the kernel's Python cannot import mmembed: {result.stderr.strip()[-500:]}")
    return [Path(path).resolve() for path in json.loads(result.stdout.strip().splitlines()[-1])]


def kernel_mounts(socket_dir: Path, connection_file: Path, course: list[Path], env: dict) -> bubblewrap.Mounts:
    """Python and its packages, the imported mmembed with its models and pictures, the hub cache (read-only); the
    socket folder (read-write); the connection file (read-only)."""
    read_only = [*bubblewrap.python_paths(), *(path for path in course if path.exists())]
    for model in (env.get("MMEMBED_MODEL", ""), env.get("MMEMBED_GRADING_MODEL", "")):
        if model and Path(model).expanduser().is_dir():
            read_only.append(Path(model).expanduser().resolve())
    if Path(env["HF_HUB_CACHE"]).is_dir():
        read_only.append(Path(env["HF_HUB_CACHE"]))
    return bubblewrap.Mounts(
        read_only=read_only, read_write=[socket_dir], files={str(connection_file): connection_file}
    )


def _socket_folder(uid: int | None) -> tuple[Path, bool]:
    """A fresh folder for the kernel's sockets, and whether it is a tmpfs we mounted (root only)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    parent = runtime if uid is None and runtime and os.access(runtime, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="nbsandbox-", dir=parent))
    if uid is None:
        return folder, False
    options = f"size={SOCKET_DIR_BYTES},nr_inodes={SOCKET_DIR_FILES},mode=0700,uid={uid},gid={uid},nosuid,nodev"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "nbsandbox", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        raise RuntimeError(f"cannot mount a tmpfs on {folder}: {mounted.stderr.decode(errors='replace').strip()}")
    return folder, True


class SandboxedKernelManager(AsyncKernelManager):
    require_sandbox = Bool(False, help="Refuse to start a kernel when no sandbox can run.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = bubblewrap.status()
        self.group = None
        self.socket_dir = None
        if not self.sandbox.available:
            if self.require_sandbox:
                raise SandboxRequired(f"no sandbox for the kernel ({self.sandbox.reason}) and require_sandbox is set")
            self.log.warning("NO SANDBOX for student kernels (%s): they run as nbgrader itself", self.sandbox.reason)
            return
        self.uid = isolation.throwaway_uid() if os.geteuid() == 0 else None
        self.socket_dir, self.socket_tmpfs = _socket_folder(self.uid)
        if self.uid is not None:
            os.chown(self.socket_dir, self.uid, self.uid)
        self.transport = "ipc"
        self.ip = str(self.socket_dir / "kernel")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.sandbox.available:
            if self.kernel_spec is not None:
                self.kernel_spec.interrupt_mode = "message"
            kernel_cmd, kw = self._sandboxed(kernel_cmd, kw)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def _sandboxed(self, kernel_cmd: list[str], kw: dict) -> tuple[list[str], dict]:
        env = kernel_environment(kw.get("env") or os.environ)
        connection_file = Path(self.connection_file).resolve()
        if self.uid is not None:  # the kernel reads its key from it (shown read-only)
            os.chown(connection_file, self.uid, self.uid)
        course = imported_course(kernel_cmd[0], tuple(sorted(env.items())))
        mounts = kernel_mounts(self.socket_dir, connection_file, course, env)
        command = bubblewrap.command(kernel_cmd, mounts, env, uid=self.uid)
        # As root the process limit applies to the throwaway uid alone; an ordinary user's count is all of theirs.
        own = 0 if self.uid is not None else isolation.processes_of(os.getuid())
        limits = isolation.limits(MEMORY_BYTES, own + isolation.MAX_PROCESSES)
        if self.group is not None:  # a restarted kernel: the old one's group goes with it
            self.group.remove()
            self.group = None
        if self.uid is not None and cgroups.support().available:
            self.group = cgroups.ChildGroup.create(KERNEL_MEMORY_BYTES, isolation.MAX_PROCESSES, cpus=1)
            join = self.group.preexec

            def preexec():
                join()
                limits()
        else:
            preexec = limits
        kw = {**kw, "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "cwd": "/", "preexec_fn": preexec}
        return command, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if restart:
            return
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self.socket_dir is not None and self.socket_dir.exists():
            if self.socket_tmpfs:
                subprocess.run(["umount", "--lazy", str(self.socket_dir)], capture_output=True)
            with contextlib.suppress(OSError):
                shutil.rmtree(self.socket_dir)
