"""Run a built autograder bundle on this machine the way Gradescope runs it, before an instructor uploads it.

    python -m autograder gradescope --check autograder.zip [--torch-index-url URL]

What is emulated (Linux, as root):
- the image: the bundle unpacked into <throwaway>/autograder/source, and its own setup.sh run as root, with its
  global paths (AUTOGRADER_ROOT, MMEMBED_VENV, HF_HOME) inside the throwaway folder;
- each run: run_autograder with the system PATH only (no virtual environment on it), under Docker's default
  capability set (a `setpriv` bounding set; no inheritable or ambient capabilities), in a cgroup with Gradescope's
  default memory (768 MB) and one CPU, with a fresh submission/ and results/;
- once with bubblewrap as the image has it, and once with a `bwrap` that fails (first on PATH), which is what
  Docker's seccomp profile does to it on Gradescope.
What is not: Docker's seccomp profile and AppArmor (a bounding set does not filter system calls: root's
`bwrap --unshare-user` still works here), its read-only /sys/fs/cgroup, its network and its filesystem.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import config
from .sandbox import cgroups

# Docker's default capabilities (moby's oci/caps/defaults.go), what Gradescope's containers get.
DOCKER_CAPABILITIES = (
    "chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service net_raw sys_chroot mknod "
    "audit_write setfcap"
).split()
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GRADESCOPE_MEMORY_MB = 768  # Gradescope's default container (the autograder settings offer more)
GRADESCOPE_CPUS = 1.0
FAILING_BWRAP = """#!/bin/sh
echo "bwrap: No permissions to create new namespace (emulated: Docker's seccomp profile)" >&2
exit 1
"""


@dataclass
class Run:
    """One run of run_autograder: its exit code and output, results.json (None if missing or not JSON), and the
    peak memory of the whole emulated container."""

    returncode: int
    stdout: str
    stderr: str
    results: dict | None
    container_peak_mb: int
    seconds: float


def docker_capabilities() -> list[str]:
    """The `setpriv` prefix that runs a command with Docker's default capabilities and nothing more."""
    bounding = ",".join(["-all", *(f"+{name}" for name in DOCKER_CAPABILITIES)])
    return ["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--ambient-caps=-all", "--"]


class Image:
    """An emulated Gradescope image: a throwaway folder (mode 0755, outside any private home) holding
    autograder/ (AUTOGRADER_ROOT) and the virtual environment setup.sh builds."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.autograder = folder / "autograder"
        self.venv = folder / "venv"
        self._runs = 0

    @classmethod
    def build(cls, bundle: Path, folder: Path, torch_index_url: str = "") -> "Image":
        """Unpack `bundle` as Gradescope does and run its setup.sh as root; raises RuntimeError with the end of
        its output if setup.sh fails (its last step grades the reference solution)."""
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        image = cls(folder)
        source = image.autograder / "source"
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(source)
            for info in archive.infolist():  # zipfile does not restore permissions; Gradescope does
                mode = info.external_attr >> 16
                if mode:
                    (source / info.filename).chmod(mode & 0o777)
        image.autograder.chmod(0o755)
        env = {**image.settings(), "TORCH_INDEX_URL": torch_index_url}
        result = subprocess.run(
            ["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=1800
        )
        image.setup_output = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"setup.sh failed (exit {result.returncode}):\n{image.setup_output[-4000:]}")
        return image

    def settings(self, path: str = SYSTEM_PATH) -> dict:
        """The environment of setup.sh and run_autograder: Gradescope's, with the global paths in the folder."""
        return {
            "PATH": path,
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "AUTOGRADER_ROOT": str(self.autograder),
            "MMEMBED_VENV": str(self.venv),
        }

    def run(
        self, submission: str, bwrap_fails: bool = False, memory_mb: int = GRADESCOPE_MEMORY_MB, args: tuple = ()
    ) -> Run:
        """Grade `submission` (the text of quiz_search.py) with run_autograder in a fresh submission/ and
        results/, as a new container would; `args` go to the grader (Gradescope passes none)."""
        self._runs += 1
        root = Path(tempfile.mkdtemp(prefix=f"run{self._runs}-", dir=self.folder))
        root.chmod(0o755)
        (root / "source").symlink_to(self.autograder / "source", target_is_directory=True)
        (root / "submission").mkdir()
        (root / "submission" / "quiz_search.py").write_text(submission, encoding="utf-8")
        (root / "results").mkdir()
        path = SYSTEM_PATH
        if bwrap_fails:
            (root / "bin").mkdir()
            (root / "bin" / "bwrap").write_text(FAILING_BWRAP)
            (root / "bin" / "bwrap").chmod(0o755)
            path = f"{root / 'bin'}:{SYSTEM_PATH}"
        env = {**self.settings(path), "AUTOGRADER_ROOT": str(root)}
        command = [*docker_capabilities(), str(root / "source" / "run_autograder"), *args]
        started = time.monotonic()
        with Container(memory_mb) as container:
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=1800, preexec_fn=container.join
            )
            peak = container.peak_mb()
        try:
            results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            results = None
        return Run(result.returncode, result.stdout, result.stderr, results, peak, time.monotonic() - started)


class Container:
    """A cgroup standing for the container: Gradescope's memory and CPUs for run_autograder and all it starts.
    Without cgroups it limits nothing and reports a peak of 0."""

    def __init__(self, memory_mb: int, cpus: float = GRADESCOPE_CPUS):
        self.group = None
        if cgroups.support().available:
            self.group = cgroups.ChildGroup.create(memory_mb * 2**20, 4096, cpus)
            # Joining only: a container's processes keep their own oom_score_adj (the grader's stays 0).
            self._joins = [(path, text) for path, text in self.group._joins if b"oom_score_adj" not in path]

    def join(self) -> None:
        """A preexec_fn: the new process enters the container's cgroup."""
        for path, text in self._joins if self.group is not None else ():
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, text)
            finally:
                os.close(fd)

    def peak_mb(self) -> int:
        return round(self.group.memory_peak_bytes() / 2**20) if self.group is not None else 0

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.group is None:
            return
        self.group.kill()
        for directory in self.group._unique:  # the grader's own groups inside, deepest first
            for inner, _, _ in sorted(os.walk(directory), key=lambda entry: -entry[0].count("/")):
                if inner != directory:
                    with contextlib.suppress(OSError):
                        os.rmdir(inner)
        self.group.remove()


def summary(name: str, run: Run) -> str:
    data = run.results or {}
    extra = data.get("extra_data", {})
    return (
        f"{name:<34} {data.get('score', '-')!s:>3}/{config.MAX_SCORE}  {extra.get('status', 'NO results.json'):<14}"
        f" container {run.container_peak_mb:>4} MB (child {extra.get('memory_peak_mb', '-')} MB,"
        f" grader {extra.get('grader_peak_mb', '-')} MB)  {run.seconds:5.1f} s"
    )


def check(bundle: Path, torch_index_url: str = "https://download.pytorch.org/whl/cpu") -> int:
    """Build the image from `bundle`, then grade the reference solution and the skeleton with and without
    bubblewrap. Exit 0 when the solution scores full marks and the skeleton 0 in both, with a results.json each."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("--check needs root and setpriv (util-linux), as Gradescope's setup.sh runs as root", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="gradescope-check-", dir="/var/tmp"))
    try:
        print(f"building the image in {folder} (setup.sh, as on Gradescope)...", flush=True)
        try:
            image = Image.build(bundle.resolve(), folder, torch_index_url)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        source = image.autograder / "source"
        solution = (source / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
        skeleton = (source / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")
        good = True
        for bwrap_fails in (False, True):
            mode = "bwrap fails (fallback)" if bwrap_fails else "bubblewrap as installed"
            for name, text, expected in (("solution", solution, config.MAX_SCORE), ("skeleton", skeleton, 0)):
                run = image.run(text, bwrap_fails)
                print(summary(f"{name}, {mode}", run), flush=True)
                if run.results is None or run.results.get("score") != expected:
                    good = False
                    print(run.stderr[-3000:], file=sys.stderr)
        print("OK: upload the bundle" if good else "FAILED: see above", flush=True)
        return 0 if good else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
