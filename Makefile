# Two commands do everything, each installing what is missing first:
#   make demo   text-to-image search over the course pictures, then the solved quiz_search.py
#   make test   the project's tests (what CI runs), and the course website they check (make site)
PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
EXTRAS ?= course,test,scale,site
QUERY ?= a red car
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint site check install constraints clean

demo: $(VENV)/.installed
	$(BIN)/python -m mmembed search "$(QUERY)"
	$(BIN)/python solutions/quiz_search.py

# Both cores: pytest-xdist, one worker per core; a module (or a lecture's tests) stays on one worker.
XDIST ?= -n 2 --dist loadgroup

# Then the course website from the lectures this run executed (build/executed), and the tests that read it.
test: lint
	rm -rf build/executed
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory site
	$(BIN)/python -m pytest -m site $(PYTEST_ARGS)

# What a developer runs while working: no notebooks, graders, builds or browser (under 2 minutes).
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest $(XDIST) -m "not slow and not browser and not online" $(PYTEST_ARGS)

# Only the browser tests (tests/browser/): every lecture and quiz 1 in JupyterLab in the system Chromium, on one
# JupyterLab server; screenshots in test-artifacts/browser/. One worker: the suite shares one server.
.PHONY: test-browser
test-browser: $(VENV)/.installed
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The course website (site/README.md): the lectures as executed by the last test run, rendered by Sphinx + myst-nb.
site: $(VENV)/.installed
	$(BIN)/python -m tools.build_site

check: $(VENV)/.installed
	$(BIN)/python -m mmembed check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --constraint $(CONSTRAINTS) --editable ".[$(EXTRAS)]"
	touch $@

# Regenerate constraints.txt: a fresh install of the ranges in pyproject.toml, frozen.
# torch is installed first and pinned without its local label (+cpu), so CPU and CUDA machines share the file.
# Frozen with the oldest Python 3.11 we support, Debian 12's 3.11.2, so no pin needs a newer patch release
# (tests/unit/test_install_debian_python.py checks).
TORCH ?= torch==2.13.0
CONSTRAINTS_PYTHON ?= /usr/bin/python3.11
constraints:
	rm -rf .venv-constraints && $(CONSTRAINTS_PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install "$(TORCH)" --editable ".[$(EXTRAS)]"
	{ grep '^#' $(CONSTRAINTS); .venv-constraints/bin/pip freeze --exclude-editable \
	  | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && rm -rf .venv-constraints

# What students get (tools/make_student_edition.py): the lectures, released quizzes, pictures, mmembed and mini,
# and no answer. EDITION_ARGS="--git" for a one-commit repository, "--lectures 01 02 --quizzes 1" to release by week.
EDITION ?= build/student-edition
.PHONY: student-edition
student-edition: $(VENV)/.installed
	$(BIN)/python -m tools.make_student_edition $(EDITION) --force $(EDITION_ARGS)

# Also the world-readable environments the tests with real users build (tests/debian_python.py).
clean:
	rm -rf $(VENV) models/tiny /var/tmp/mmembed-py311-*
