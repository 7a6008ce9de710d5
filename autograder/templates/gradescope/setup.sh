#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu base image, with the bundle unpacked in /autograder/source.
# It installs what is missing of Python 3.11, bubblewrap and util-linux (setpriv), builds a virtual environment
# with the course package at the exact versions the course was tested with, puts the grading model in place,
# closes the hidden files to other users, and ends by grading the reference solution: the build fails unless it
# scores full marks, so a broken bundle is caught here and not on the first student.
#
# Settings (environment variables; the defaults are Gradescope's, `python -m autograder gradescope --check`
# changes them to build inside a throwaway folder):
#   AUTOGRADER_ROOT   Gradescope's folder                         (default /autograder)
#   MMEMBED_VENV      where the virtual environment is built      (default @VENV@)
#   TORCH_INDEX_URL   where pip finds the CPU build of PyTorch    (default https://download.pytorch.org/whl/cpu;
#                     empty: pip's own configuration)
#   HF_HOME           the Hugging Face cache for a hub model      (default $MMEMBED_VENV/hf: readable by the
#                     sandbox's user, unlike /root)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="${MMEMBED_VENV:-@VENV@}"
TORCH_INDEX_URL="${TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}"
export HF_HOME="${HF_HOME:-$VENV/hf}"
cd "$ROOT/source"
umask 022  # everything installed is readable by the throwaway user that runs student code

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v python3.11 >/dev/null && python3.11 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3.11 python3.11-venv)
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ca-certificates "${missing[@]}" \
        || { apt-get install -y -qq --no-install-recommends software-properties-common \
             && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -qq \
             && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi

# A Python the sandbox's user can run: the system's python3.11, never one under a 0700 home (a pyenv in /root).
python3.11 -m venv "$VENV"
PYTHON="$VENV/bin/python"
# The CPU build of PyTorch (PyPI's default build for Linux carries CUDA: several GB).
"$PYTHON" -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==@TORCH_VERSION@"
"$PYTHON" -m pip install -q --constraint constraints.txt --editable .
chmod -R a+rX "$VENV"

# The grading model: @GRADING_MODEL@ (a hub model is downloaded now: grading itself has no network).
"$PYTHON" -m autograder gradescope --prepare-model "@GRADING_MODEL@"

# The reference solution must score full marks here, in this image, or the build fails.
"$PYTHON" -m autograder gradescope --self-check --root "$ROOT" --model "@GRADING_MODEL@"
