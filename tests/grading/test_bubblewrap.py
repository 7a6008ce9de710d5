"""autograder/sandbox/bubblewrap.py: what a program in the sandbox can see and do, tried from inside it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import bubblewrap
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.skipif(not bubblewrap.status().available, reason=bubblewrap.status().reason or "no sandbox")
UID = 1_987_654_321 if os.geteuid() == 0 else None


def inside(code: str, mounts: bubblewrap.Mounts | None = None) -> subprocess.CompletedProcess:
    mounts = mounts or bubblewrap.Mounts(read_only=bubblewrap.python_paths())
    command = bubblewrap.command([sys.executable, "-E", "-s", "-c", code], mounts, env={}, uid=UID)
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_only_what_is_bound_is_there():
    result = inside(
        "import os; print(os.path.exists({!r}), os.path.exists('/etc/passwd'), os.path.exists('/root/.bashrc'))".format(
            str(REPO_ROOT / "solutions" / "quiz_search.py")
        )
    )
    assert result.stdout.split() == ["False", "False", "False"], result.stderr


def test_bound_folders_are_read_only(tmp_path):
    (tmp_path / "file.txt").write_text("kept")
    (tmp_path / "file.txt").chmod(0o666)  # only the read-only mount stands in the way
    tmp_path.chmod(0o777)
    result = inside(
        f"open({str(tmp_path / 'file.txt')!r}, 'w').write('changed')",
        bubblewrap.Mounts(read_only=[*bubblewrap.python_paths(), tmp_path]),
    )
    assert result.returncode != 0 and "Read-only file system" in result.stderr
    assert (tmp_path / "file.txt").read_text() == "kept"


def test_private_tmp_home_and_no_network():
    name = f"bubblewrap-test-{os.getpid()}"
    code = (
        "import os, socket\n"
        "for folder in ['/tmp', '/var/tmp', '/dev/shm', os.environ['HOME']]:\n"
        f"    open(os.path.join(folder, {name!r}), 'w').write('x')\n"
        "print(sorted(os.listdir('/tmp')))\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('network')\n"
        "except OSError as error:\n"
        "    print('no network')\n"
    )
    result = inside(code)
    assert result.returncode == 0, result.stderr
    assert "no network" in result.stdout and repr(name) in result.stdout
    assert not any(Path(folder, name).exists() for folder in ("/tmp", "/var/tmp", "/dev/shm"))  # none on the host


@pytest.mark.skipif(UID is None, reason="a throwaway uid needs root")
def test_runs_as_the_throwaway_uid_without_capabilities():
    result = inside(
        "import os; print(os.getuid(), os.getgid(), os.getgroups()); print(open('/proc/self/status').read())"
    )
    first, *status = result.stdout.splitlines()
    assert first == f"{UID} {UID} []"
    assert "CapEff:\t0000000000000000" in status


def test_its_own_pid_namespace():
    result = inside("import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert max(eval(result.stdout)) < 10, result.stdout  # only the sandbox's own few processes


def test_the_outermost_paths_are_bound_once():
    assert bubblewrap._outermost([Path("/a/b"), Path("/a"), Path("/c")]) == [Path("/a"), Path("/c")]
