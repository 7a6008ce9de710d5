"""Debian's own Python 3.11 for the tests that need a Python other users can run, or the oldest 3.11 we support.

Debian 12's `python3.11` is 3.11.2 (Ubuntu's 3.11 packages are close): what a JupyterHub server or a grading image
often has. This machine's course Python (a pyenv under /root, mode 0700) cannot be run by any other Unix user, so
tests with real users run this one instead.

`shared_venv()` is one virtual environment for every test in a run that needs one, whatever the pytest-xdist worker:
Debian's interpreter, under /var/tmp (mode 0755, outside any private home), running the course's own packages: a
`.pth` file adds the site-packages of the environment the tests run from (.venv, installed from constraints.txt)
on its path, its share/jupyter and etc/jupyter are that environment's (links: kernelspecs, nbconvert templates,
extensions' config), and its bin/ has the console scripts of those packages (nbgrader, jupyter, alembic) for this
interpreter. Building it takes a second and needs no network, where a full `pip install` of the course (torch
included) from PyPI takes minutes; that the pins resolve for this Python is test_install_debian_python's dry run.
Other users can run it if the test environment's files are world-readable (a repository under a 0700 home is not:
`unreadable_by_others()` names the folder). A file lock lets the first caller build it while the others wait; its name
carries a digest of what it was built from, so a later run reuses it. `make clean` removes them.
"""

import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
MISSING = "no /usr/bin/python3.11 (Debian: apt-get install python3.11 python3.11-venv; .ci/run installs it)"
SHARED_ROOT = Path("/var/tmp")


def available() -> bool:
    if not DEBIAN_PYTHON.exists():
        return False
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import ensurepip, venv"], capture_output=True)
    return probe.returncode == 0


def version() -> str:
    return subprocess.run(
        [DEBIAN_PYTHON, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def create_venv(folder: Path, pip: bool = True) -> Path:
    """A bare virtual environment of Debian's python3.11 (with its own pip) in `folder`; returns its python."""
    subprocess.run(
        [DEBIAN_PYTHON, "-m", "venv", *([] if pip else ["--without-pip"]), folder], check=True, capture_output=True
    )
    return folder / "bin" / "python"


def course_site_packages() -> Path:
    """The site-packages the tests run from (.venv in `make test`)."""
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def unreadable_by_others(path: Path) -> Path | None:
    """The first folder on the way to `path` that other users cannot enter, or None."""
    for folder in [*reversed(path.parents), path]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def _write_console_scripts(folder: Path):
    """bin/NAME for each console script of the course's packages, run by this venv's interpreter."""
    python = folder / "bin" / "python"
    for entry in entry_points(group="console_scripts"):
        script = folder / "bin" / entry.name
        if script.exists():
            continue
        module, _, attribute = entry.value.partition(":")
        call = attribute.strip() or "main"
        script.write_text(f"#!{python}\nimport sys\nfrom {module} import {call.split('.')[0]}\nsys.exit({call}())\n")
        script.chmod(0o755)


def shared_venv() -> Path:
    """The run's world-readable virtual environment (built on first use); returns its folder."""
    site_packages = course_site_packages()
    key = hashlib.sha256(f"{version()} {site_packages} {sys.version} data".encode()).hexdigest()[:12]
    folder = SHARED_ROOT / f"mmembed-py311-{key}"
    done = folder / ".built"
    with open(SHARED_ROOT / f"{folder.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building it: wait for it
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that died half-way
            old_umask = os.umask(0o022)
            try:
                python = create_venv(folder, pip=False)  # the course's pip comes with its packages
                purelib = subprocess.run(
                    [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    capture_output=True, text=True, check=True,
                ).stdout.strip()  # fmt: skip
                # addsitedir, not a bare path: the course's own .pth files (its editable install) are read too
                (Path(purelib) / "mmembed-course.pth").write_text(
                    f"import site; site.addsitedir({str(site_packages)!r})\n"
                )
                _write_console_scripts(folder)
                for data in ("share/jupyter", "etc/jupyter"):  # kernelspecs, nbconvert templates, extensions' config
                    if (Path(sys.prefix) / data).is_dir():
                        (folder / data).parent.mkdir(parents=True, exist_ok=True)
                        (folder / data).symlink_to(Path(sys.prefix).resolve() / data)
            finally:
                os.umask(old_umask)
            done.touch()
    return folder
