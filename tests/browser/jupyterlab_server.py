"""One JupyterLab server for the browser tests, as a student starts it, but in throwaway folders.

The server runs `python -m jupyterlab` (the student edition's venv, or the test environment's) on 127.0.0.1, with a
token, no browser, `MMEMBED_OFFLINE=1` (the course's one offline switch), and its own Jupyter, IPython and matplotlib
folders, so nothing of the user's settings leaks in. It serves a *mirror* of what a student has, the student
edition, from the edition's own venv (tests.student_copy); the profile tests serve the repository's. The notebook
folders are copies (running and saving them never touches the source), everything else is a link to the real thing.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO_ROOT

# Copied: the tests run, edit and save these notebooks. Linked: everything they read (images, models, data, ...).
COPIED_FOLDERS = ("lectures", "quizzes")
NOT_MIRRORED = ("test-artifacts",)

# Lab settings of a fresh install, except that Lab does not ask about (or fetch) Jupyter news: the question is a
# pop-up over the notebook, and fetching it needs the internet.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def mirror(source: Path, destination: Path) -> Path:
    """A folder laid out like `source` (the repository, or the student edition): copies of the notebook folders,
    links to the rest."""
    destination.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name in NOT_MIRRORED:
            continue
        if entry.name in COPIED_FOLDERS:
            shutil.copytree(entry, destination / entry.name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            (destination / entry.name).symlink_to(entry)
    return destination


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class JupyterLab:
    """A running server: where it is, how to log in, and what it serves."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    def lab_url(self, workspace: str) -> str:
        """Lab in a new, empty workspace (no tabs or folders restored from an earlier test)."""
        return f"{self.url}/lab/workspaces/{workspace}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self):
        """End every session and its kernel, so the next notebook has the CPU to itself."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:]


def server_environment(folder: Path, profile: Path | None = None) -> dict:
    """The shell's environment without its Jupyter, IPython, matplotlib and course settings, plus the offline switch.
    With a `profile` (one of the repository's jupyter/ folders), Jupyter's configuration starts as a copy of it, and
    comes before the environment's (JUPYTER_PREFER_ENV_PATH=0: in a virtual environment Jupyter otherwise lets the
    environment's own configuration, which enables every nbgrader server extension, win over the profile)."""
    if profile is not None:
        shutil.copytree(profile, folder / "jupyter-config")
    own = ("JUPYTER", "IPYTHON", "MPL", "MMEMBED_")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    environment.update(
        MMEMBED_OFFLINE="1",
        JUPYTER_CONFIG_DIR=str(folder / "jupyter-config"),
        JUPYTER_DATA_DIR=str(folder / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(folder / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(folder / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "lab-workspaces"),
        IPYTHONDIR=str(folder / "ipython"),
        MPLCONFIGDIR=str(folder / "matplotlib"),
        PYTHONIOENCODING="utf-8",
    )
    if profile is not None:
        environment["JUPYTER_PREFER_ENV_PATH"] = "0"
    for name, settings in LAB_SETTINGS.items():
        path = folder / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return environment


def start_jupyterlab(
    folder: Path,
    startup_seconds: float = 90,
    profile: Path | None = None,
    source: Path = REPO_ROOT,
    python: Path = Path(sys.executable),
) -> JupyterLab:
    """Start `python -m jupyterlab` serving a mirror of `source` in `folder`; return once its API answers. Its
    notebooks' kernel ("python3") is that same interpreter: the student edition's venv runs the edition's mmembed."""
    root = mirror(source, folder / "course")
    port, token = free_port(), secrets.token_hex(16)
    log = folder / "jupyterlab.log"
    command = [
        *(str(python), "-m", "jupyterlab"),
        *("--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0"),
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=server_environment(folder, profile), stdout=log_file, stderr=subprocess.STDOUT
        )
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log, process=process)
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}:\n{lab.log_tail()}")
        try:
            lab.api("status")
            return lab
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    stop_jupyterlab(lab)
    raise RuntimeError(f"jupyter lab did not answer within {startup_seconds:.0f} s:\n{lab.log_tail()}")


def stop_jupyterlab(lab: JupyterLab, seconds: float = 30):
    """Stop the server as Ctrl+C would (it shuts its kernels down); kill it if it hangs."""
    if lab.process.poll() is None:
        lab.process.terminate()
        try:
            lab.process.wait(seconds)
        except subprocess.TimeoutExpired:
            lab.process.kill()
            lab.process.wait()
