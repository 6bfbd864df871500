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

PROFILE ?= default
DATA_ROOT ?=
PROFILE_FILE := configs/profiles/$(PROFILE).yaml

.PHONY: help setup lint test study book motion reproduce clean-results
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

lint: setup  ## ruff: the lint rules and the formatting of pyproject.toml (make lint FIX=1 applies them)
	$(VENV)/bin/ruff check $(if $(FIX),--fix) .
	$(VENV)/bin/ruff format $(if $(FIX),,--check) .

TEST_WORKERS ?= 2
test: lint  ## lint, then the test suite (TEST_WORKERS pytest processes, one test file each at a time)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

study: setup  ## run the study's notebooks at PROFILE (default: default) into book/executed
	$(MLIB) study --profile $(PROFILE_FILE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT))

book: study  ## run the study at PROFILE and build the book in book/_build/html
	$(VENV)/bin/jupyter-book build . --path-output book -W -n --keep-going
	@echo "the book: book/_build/html/index.html"

MOTION_SET ?=
motion: setup  ## the learning-budget study on motion-only (~50 min on 2 CPU cores); rewrites book/motion-budget/budget.csv
	$(MLIB) study --profile configs/profiles/motion.yaml $(foreach s,$(MOTION_SET),--set $(s))

reproduce: setup  ## the real databases on a GPU box: make reproduce DATA_ROOT=/path/to/databases
	@test -n "$(DATA_ROOT)" || { echo "make reproduce needs DATA_ROOT=/path/to/databases (see book/reproduce.md)" >&2; exit 2; }
	$(MLIB) study --profile configs/profiles/full.yaml --data-root $(DATA_ROOT) --check
	$(MAKE) book PROFILE=full DATA_ROOT=$(DATA_ROOT)

clean-results:  ## remove generated corpora, caches, runs, results and the built book
	rm -rf data cache runs results book/executed book/_build

environment.yml: requirements.txt  ## regenerate the conda environment from requirements.txt
	$(PY) -m mlib.core.envfile requirements.txt > $@
