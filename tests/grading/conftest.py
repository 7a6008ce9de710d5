"""Fixtures the grading tests share: one emulated Gradescope image.

`gradescope_image` is a freshly built autograder.zip, unpacked into a throwaway root folder under /var/tmp (a path
every user may enter, unlike pytest's 0700 temporary folders) and set up by its own setup.sh, run as root: the
virtual environment it builds there (from Debian's python3.11, PyTorch from this machine's package index) is also
the world-readable Python that the fallback's throwaway uid can run, which this machine's pyenv under /root is
not. It is built once per test run (a few minutes): every test that uses it carries GRADESCOPE, so pytest-xdist's
`--dist loadgroup` keeps them on one worker.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import run_python

GRADESCOPE = pytest.mark.xdist_group("gradescope")


@pytest.fixture(scope="session")
def gradescope_bundle(tmp_path_factory) -> Path:
    bundle = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = run_python(["-m", "autograder", "gradescope", "--output", str(bundle)], timeout=300)
    assert result.returncode == 0, result.stderr
    return bundle


@pytest.fixture(scope="session")
def gradescope_image(gradescope_bundle):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("Gradescope's setup.sh runs as root, and the emulation needs setpriv (util-linux)")
    from autograder.gradescope_check import Image

    folder = Path(tempfile.mkdtemp(prefix="mmembed-gradescope-", dir="/var/tmp"))
    try:
        yield Image.build(gradescope_bundle, folder, torch_index_url="")  # "": pip's own index (this machine's)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
