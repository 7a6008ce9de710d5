"""nbgrader's kernels in the same bubblewrap sandbox as `python -m autograder` (bubblewrap.py).

`SandboxedKernelManager` is the kernel manager that `ExecuteWithCanaries` (canary.py) gives nbgrader's
Execute. It starts each student's kernel inside the sandbox, which shows only Python and its packages,
`mmembed`, the course's models and pictures. The kernel cannot see or touch `submitted/`, `autograded/`,
`gradebook.db`, `source/`, other students or the grader; it has no network, a private HOME and /tmp, and its own
PID namespace, so nothing it started outlives it.

The network namespace is empty, so the kernel talks to nbgrader over Unix sockets (ZeroMQ's `ipc` transport)
in a fresh folder of its own, the only place it may write outside its tmpfs. Its connection file is shown
read-only. Interrupts go as messages on the control channel (a signal would stop at bwrap).

Without a sandbox (see bubblewrap.status()) the kernel starts as nbgrader always did, with one warning line,
unless `c.SandboxedKernelManager.require_sandbox = True` (in nbgrader_config.py): then grading stops.
"""

import os
import shutil
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool

import mmembed.paths

from .sandbox import bubblewrap, isolation

# What the kernel's environment may keep of nbgrader's (everything else, paths and tokens included, stays out).
KEPT_ENVIRONMENT = (
    "LANG",
    "LC_ALL",
    "PYTHONIOENCODING",
    "MPLBACKEND",
    "MMEMBED_MODEL",
    "MMEMBED_OFFLINE",
    "MMEMBED_PRECISION",
    "OMP_NUM_THREADS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)
MEMORY_BYTES = 6 * 2**30  # address space of a kernel, as for a quiz_search.py child


class SandboxRequired(RuntimeError):
    pass


def kernel_mounts(socket_dir: Path, connection_file: Path) -> bubblewrap.Mounts:
    """Python and its packages, mmembed, the course's models and pictures, the hub cache (read-only); the
    socket folder (read-write); the connection file (read-only)."""
    read_only = [
        *bubblewrap.python_paths(),
        Path(mmembed.__file__).resolve().parent,
        mmembed.paths.MODELS_DIR.resolve(),
        mmembed.paths.IMAGES_DIR.resolve(),
    ]
    model = os.environ.get("MMEMBED_MODEL", "")
    if model and Path(model).expanduser().is_dir():
        read_only.append(Path(model).expanduser().resolve())
    from huggingface_hub import constants

    if Path(constants.HF_HUB_CACHE).is_dir():
        read_only.append(Path(constants.HF_HUB_CACHE).resolve())
    return bubblewrap.Mounts(
        read_only=read_only, read_write=[socket_dir], files={str(connection_file): connection_file}
    )


class SandboxedKernelManager(AsyncKernelManager):
    require_sandbox = Bool(False, help="Refuse to start a kernel when no sandbox can run.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = bubblewrap.status()
        if not self.sandbox.available:
            if self.require_sandbox:
                raise SandboxRequired(f"no sandbox for the kernel ({self.sandbox.reason}) and require_sandbox is set")
            self.log.warning("NO SANDBOX for student kernels (%s): they run as nbgrader itself", self.sandbox.reason)
            return
        self.socket_dir = Path(tempfile.mkdtemp(prefix="nbsandbox-"))
        self.uid = isolation.throwaway_uid() if os.geteuid() == 0 else None
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
        outside = kw.get("env") or os.environ
        env = {key: outside[key] for key in KEPT_ENVIRONMENT if key in outside}
        env.update(PATH="/usr/local/bin:/usr/bin:/bin", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        from huggingface_hub import constants

        env["HF_HUB_CACHE"] = str(Path(constants.HF_HUB_CACHE).resolve())
        connection_file = Path(self.connection_file).resolve()
        if self.uid is not None:  # the kernel reads its key from it (shown read-only)
            os.chown(connection_file, self.uid, self.uid)
        mounts = kernel_mounts(self.socket_dir, connection_file)
        command = bubblewrap.command(kernel_cmd, mounts, env, uid=self.uid)
        # As root the process limit applies to the throwaway uid alone; an ordinary user's count is all of theirs.
        own = 0 if self.uid is not None else isolation.processes_of(os.getuid())
        kw = {**kw, "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "cwd": "/"}
        kw["preexec_fn"] = isolation.limits(MEMORY_BYTES, own + isolation.MAX_PROCESSES)
        return command, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "socket_dir", None) is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
