"""Rebuilding the image set from its sources reproduces the committed files byte for byte.

The build needs the pinned Debian packages (downloaded with apt-get into the cache, see images/README.md)
and the pinned scikit-image. Where neither the cached packages nor apt-get are available the test is skipped
on a developer's machine, but fails in CI (CI is set), so it can never be skipped silently there.
"""

import os
import shutil
import subprocess
import sys

import pytest

from mmembed.manifest import read_manifest
from mmembed.paths import IMAGES_DIR, REPO_ROOT

pytestmark = pytest.mark.slow


def committed_outputs() -> list[str]:
    return ["MANIFEST.csv"] + [picture.path for picture in read_manifest()]


def sources_reachable() -> bool:
    return shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None


def test_rebuild_reproduces_committed_files(tmp_path):
    if not sources_reachable():
        if os.environ.get("CI"):
            pytest.fail("apt-get and dpkg-deb are needed to rebuild images/ in CI")
        pytest.skip("apt-get/dpkg-deb not available: cannot fetch the Debian image sources")
    if not os.environ.get("CI"):
        pytest.importorskip("skimage", reason="scikit-image (pinned in tools/build_images.py) is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "tools.build_images", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()}
    assert built == set(committed_outputs())
    different = [
        relative
        for relative in sorted(built)
        if (tmp_path / relative).read_bytes() != (IMAGES_DIR / relative).read_bytes()
    ]
    assert different == [], f"rebuilt files differ from the committed ones: {different[:10]}"
