#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu base image, with the bundle unpacked in /autograder/source.
# It installs Python 3.11, bubblewrap (the sandbox, where the image allows it) and the course package with the
# exact versions the course was tested with, then puts the grading model in place.
set -euo pipefail
SOURCE="${AUTOGRADER_ROOT:-/autograder}/source"
cd "$SOURCE"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends software-properties-common ca-certificates bubblewrap util-linux
if ! command -v python3.11 >/dev/null; then
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv \
        || { add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -qq \
             && apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv; }
fi

python3.11 -m venv /opt/mmembed
/opt/mmembed/bin/pip install -q --upgrade pip
# The CPU build of PyTorch (PyPI's default build for Linux carries CUDA: several GB).
/opt/mmembed/bin/pip install -q --index-url https://download.pytorch.org/whl/cpu "torch==@TORCH_VERSION@"
/opt/mmembed/bin/pip install -q --constraint constraints.txt --editable .
ln -sf /opt/mmembed/bin/python /usr/local/bin/python3  # run_autograder calls python3 from PATH

# The grading model: @GRADING_MODEL@ (a hub model is downloaded now: grading itself has no network).
/opt/mmembed/bin/python -m autograder gradescope --prepare-model "@GRADING_MODEL@"
