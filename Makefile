# The study's entry points. `make book` runs the whole study on the default
# synthetic corpus and builds the book; `make test` runs the test suite. Both
# set up the environment first if needed.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MLIB := $(VENV)/bin/mlib
STAMP := $(VENV)/.installed

.PHONY: help setup test
help:  ## list the targets
	@grep -E '^[a-z][a-zA-Z_.-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name mlib --display-name "Python (mlib)"
	touch $@

setup: $(STAMP)  ## create .venv with the pinned environment and the `mlib` Jupyter kernel

test: setup  ## run the test suite
	$(PY) -m pytest

environment.yml: requirements.txt  ## regenerate the conda environment from requirements.txt
	$(PY) -m mlib.envfile requirements.txt > $@
