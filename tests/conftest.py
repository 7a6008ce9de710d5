"""Fixtures every test folder shares: the offline tiny and mini models, the real CLIP (online), offline env."""

import os

import pytest

from .helpers import UNREACHABLE_HUB


def pytest_configure(config):
    """pytest-xdist declares the `xdist_group` mark; declared here too, a test module runs in one process
    (`-p no:xdist`) under --strict-markers."""
    config.addinivalue_line("markers", "xdist_group(name): the test runs on the same xdist worker as its group")


@pytest.fixture(scope="session")
def tiny():
    """The offline tiny CLIP (random weights), loaded once per test run."""
    import mmembed

    return mmembed.load_clip("tiny", device="cpu")


@pytest.fixture(scope="session")
def mini():
    """The offline mini CLIP (trained in this repo), loaded once per test run."""
    import mmembed
    from mmembed.paths import MINI_DIR

    assert (MINI_DIR / "config.json").exists(), "models/mini is committed; run python -m tools.train_mini to rebuild it"
    return mmembed.load_clip("mini", device="cpu")


@pytest.fixture(scope="session")
def real_clip():
    """The lectures' real model from the hub (`online` tests only), loaded once per test run."""
    import mmembed
    from mmembed.zoo.registry import DEFAULT_MODEL

    return mmembed.load_clip(DEFAULT_MODEL, device="cpu")


@pytest.fixture
def offline_env(tmp_path):
    """Environment for a child process that has no hub and an empty Hugging Face cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "MMEMBED_"))}
    env.update(HF_ENDPOINT=UNREACHABLE_HUB, HF_HOME=str(tmp_path / "hf-home"), PYTHONIOENCODING="utf-8")
    return env


@pytest.fixture(scope="session")
def site():
    """The course website as `make site` built it from this run's executed lectures (tests marked `site`)."""
    from tools.build_site import OUT

    if not (OUT / "index.html").is_file():
        pytest.fail(f"{OUT} has not been built: make site (after the lectures ran: make test does both)")
    return OUT
