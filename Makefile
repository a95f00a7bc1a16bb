# The two commands a user needs: `make demo` (the main job on the embedded default)
# and `make test`. Both create .venv and install into it first; a second call skips
# the install because the stamp is newer than the lock file and pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# Stages call `har` and `dvc` by name; put the project's environment first.
export PATH := $(BIN):$(PATH)
# One BLAS/OpenMP thread per process unless the caller says otherwise: Ray workers
# and parallel representation tasks otherwise oversubscribe small machines.
export OMP_NUM_THREADS ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: setup demo test test-fast bench lint clean-demo compare

setup: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	touch $@

# One local Ray head for the whole run: every Ray stage joins it (RAY_ADDRESS)
# instead of starting its own; `har with-ray` stops exactly that head at the end.
demo: $(STAMP)
	$(BIN)/har with-ray -- bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest

# Unit tests spread over the cores (pytest-xdist; one BLAS thread per worker): they
# share no service, port or folder. `make test` stays in one process: its integration
# tests are CPU-bound (training, Ray heads, servers), and on 2 cores two xdist workers
# took 1,836 s against 1,588 s in one process (fresh clone, idle machine).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not slow" -n auto --maxprocesses=4

bench: $(STAMP)
	bash scripts/bench.sh

lint: $(STAMP)
	$(BIN)/ruff check components flows tests bench
	$(BIN)/mypy

# Experiments side by side in 120 columns: each model's test top-1 (metrics/eval.json),
# then the parameters that differ; columns equal in every row are left out.
# `dvc exp show --only-changed` has the rest (mean class accuracy, each job's file).
compare: $(STAMP)
	dvc exp show --no-pager --only-changed --drop 'Created|metrics/|.*\.(mean_class_acc|top5|videos)$$'

# Everything a demo run leaves (models, runs, checkpoints, DVC's cache); the next
# `make demo` starts from scratch. Keeps .venv and the committed files.
clean-demo:
	rm -rf outputs exports mlartifacts mlflow.db .prefect .dvc/cache .dvc/tmp
	git clean -fdXq -- data metrics models plots reports

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock --no-header -q
