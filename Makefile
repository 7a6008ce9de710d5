# Two commands do everything, each installing what is missing first:
#   make demo   text-to-image search over the course pictures
#   make test   the project's tests (what CI runs)
PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
EXTRAS ?= course,test
QUERY ?= A dog
BIN := $(VENV)/bin

.PHONY: demo test check install clean

demo: $(VENV)/.installed
	$(BIN)/python -m mmembed search "$(QUERY)"

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(VENV)/.installed
	$(BIN)/python -m mmembed check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --constraint $(CONSTRAINTS) --editable ".[$(EXTRAS)]"
	touch $@

clean:
	rm -rf $(VENV) models/tiny
