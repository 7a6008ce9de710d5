# Two commands do everything, each installing what is missing first:
#   make demo   text-to-image search over the course pictures, then the solved quiz_search.py
#   make test   the project's tests (what CI runs)
PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
EXTRAS ?= course,test
QUERY ?= a red car
BIN := $(VENV)/bin

.PHONY: demo test check install constraints clean

demo: $(VENV)/.installed
	$(BIN)/python -m mmembed search "$(QUERY)"
	$(BIN)/python solutions/quiz_search.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(VENV)/.installed
	$(BIN)/python -m mmembed check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --constraint $(CONSTRAINTS) --editable ".[$(EXTRAS)]"
	touch $@

# Regenerate constraints.txt: a fresh install of the ranges in pyproject.toml, frozen.
# torch is installed first and pinned without its local label (+cpu), so CPU and CUDA machines share the file.
TORCH ?= torch==2.13.0
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install "$(TORCH)" --editable ".[$(EXTRAS)]"
	{ grep '^#' $(CONSTRAINTS); .venv-constraints/bin/pip freeze --exclude-editable \
	  | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && rm -rf .venv-constraints

clean:
	rm -rf $(VENV) models/tiny
