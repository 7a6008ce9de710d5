"""A grading model the sandbox's throwaway user cannot read (a model saved as root: model.safetensors is 0600).

Without the check every student would crash in turn; the grader says why once, and `gradescope --prepare-model`
(what a Gradescope setup.sh runs as root) makes the model readable: test_autograder grades with such
a readable model."""

import os
import shutil

import pytest

from autograder.runner import model_unreadable_in_sandbox
from autograder.sandbox import bubblewrap
from mmembed.paths import MINI_DIR, REPO_ROOT
from tests.helpers import run_python

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the throwaway user exists only when the grader runs as root"),
    pytest.mark.skipif(not bubblewrap.status().available, reason=bubblewrap.status().reason or "no sandbox"),
]


def test_an_unreadable_model_is_refused_once_and_prepare_model_fixes_it(tmp_path, offline_env):
    model = shutil.copytree(MINI_DIR, tmp_path / "model")
    (model / "model.safetensors").chmod(0o600)
    submission = REPO_ROOT / "solutions" / "quiz_search.py"
    command = ["-m", "autograder", str(submission), "--model", str(model), "--results", str(tmp_path / "r.json")]

    refused = run_python(command, env=offline_env, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"cannot read {model / 'model.safetensors'} (mode -rw-------)" in refused.stderr
    assert f"chmod -R a+rX {model}" in refused.stderr and not (tmp_path / "r.json").exists()

    prepared = run_python(["-m", "autograder", "gradescope", "--prepare-model", str(model)], env=offline_env)
    assert prepared.returncode == 0, prepared.stderr
    assert (model / "model.safetensors").stat().st_mode & 0o777 == 0o604  # readable by others, nothing more
    assert model_unreadable_in_sandbox(model, sandboxed=True) is None
