"""The course as a student gets it: the student edition, installed in a fresh virtual environment.

`student_copy()` builds the edition once per test process (`make student-edition`: every lecture and quiz; a copy, so
well under a second) and a fresh venv in which `import mmembed` is the edition's own copy, installed editable as its
Makefile does. The venv does not download the course's dependencies (torch alone is minutes from PyPI): its
site-packages links to the test environment's packages, all but the repository's mmembed (`lend_packages`). Its
kernelspec, `student-edition`, is what the lectures (tests.helpers.execute_lecture) and the released quizzes
(tests/edition/test_released_quizzes.py) run in, so CI runs each of them once, from what students receive.

What this cannot show: a student's own machine and its freshly resolved packages (tests/unit/test_install_* resolve
the pins; the Colab stand-in in tests/edition/test_colab.py installs the edition with pip's build isolation).
"""

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import OFFLINE_SETTINGS
from tools.make_student_edition import build

KERNEL = "student-edition"


@dataclass(frozen=True)
class StudentCopy:
    edition: Path  # the edition's folder (what students clone)
    python: Path  # the venv's interpreter
    kernels: Path  # a kernelspec folder holding KERNEL, run by that interpreter
    env: dict  # the environment of its processes and kernels: offline, and no PYTHONPATH to the repository


def lend_packages(python: Path) -> None:
    """Give the venv of `python` the test environment's packages, less mmembed: its site-packages gets a link to every
    entry of the test environment's but mmembed's own (and its editable-install hooks). In site-packages itself, not
    in a folder a .pth file adds: libraries tell installed packages from the standard library by that path (dill,
    which `datasets` hashes with, cannot pickle pyarrow's types from a folder named otherwise). The packages' data
    outside site-packages (share/jupyter, etc/jupyter) is linked too, where an install would have put it."""
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    for entry in Path(sysconfig.get_paths()["purelib"]).resolve().iterdir():
        if not re.match(r"(__editable__[._]+)?mmembed", entry.name):
            (Path(purelib) / entry.name).symlink_to(entry)
    prefix = Path(purelib).parents[2]  # venv/lib/pythonX.Y/site-packages
    for data in ("share/jupyter", "etc/jupyter"):  # JupyterLab's pages and assets, kernelspecs, extensions' config
        if (Path(sys.prefix) / data).is_dir():
            (prefix / data).parent.mkdir(parents=True, exist_ok=True)
            (prefix / data).symlink_to(Path(sys.prefix).resolve() / data)


def clean_environment(python: Path, **settings: str) -> dict:
    """This process's environment without anything that points at the repository or its venv, plus `settings`."""
    kept = ("MMEMBED_", "PYTHON", "VIRTUAL_ENV", "JUPYTER_PATH", "CONDA")
    env = {key: value for key, value in os.environ.items() if not key.startswith(kept)}
    env.update(PATH=os.pathsep.join([str(python.parent), env.get("PATH", "")]), PYTHONIOENCODING="utf-8")
    env.update(settings)
    return env


@functools.cache
def student_copy() -> StudentCopy:
    """The edition and its venv, built on first use in this process (each pytest-xdist worker has its own)."""
    base = Path(tempfile.mkdtemp(prefix="mmembed-student-copy-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    edition = build(base / "course")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", base / "venv"], check=True, capture_output=True)
    python = base / "venv" / "bin" / "python"
    lend_packages(python)
    env = clean_environment(python, **OFFLINE_SETTINGS)
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--editable", edition],
        capture_output=True, text=True, env=env, cwd=base,
    )  # fmt: skip
    if installed.returncode != 0:
        raise RuntimeError(f"pip could not install the student edition:\n{installed.stdout}\n{installed.stderr}")
    spec = base / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return StudentCopy(edition, python, base / "kernels", env)


def run_in_kernel(
    nb, cwd: Path, env: dict, kernel="python3", kernel_dirs=None, timeout=300, on_cell_start=None, allow_errors=False
):
    """Run `nb` (in place) top to bottom in a fresh `kernel` (from `kernel_dirs`, or Jupyter's own kernelspecs),
    started in `cwd` with exactly `env`. Raises nbclient's CellExecutionError when a cell fails (except cells tagged
    "raises-exception"), unless `allow_errors`."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    specs = KernelSpecManager(kernel_dirs=[str(path) for path in kernel_dirs]) if kernel_dirs else KernelSpecManager()
    manager = AsyncKernelManager(kernel_name=kernel, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=timeout,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_start=on_cell_start,
        allow_errors=allow_errors,
    )
    client.execute(env=env)
    return nb


def run_notebook(nb, copy: StudentCopy, cwd: Path, timeout: int, on_cell_start=None, allow_errors=False):
    """Run `nb` in a fresh kernel of the student copy (`run_in_kernel`)."""
    return run_in_kernel(nb, cwd, copy.env, KERNEL, [copy.kernels], timeout, on_cell_start, allow_errors)


def students_file(path: str) -> Path:
    """A file of the edition by its path there (the same path as in the repository), e.g. "images/MANIFEST.csv"."""
    return student_copy().edition / path


def students_manifest():
    """The pictures as students get them (the edition's images/MANIFEST.csv: no `group` column, quiz 7's pictures
    captioned with their names): what a lecture's claims test recomputes with, since it is what the lecture read."""
    from mmembed.manifest import read_manifest

    return read_manifest(students_file("images/MANIFEST.csv"))
