# perceptflow: `make demo` runs the workflow on the embedded demo, `make test` runs the test suite.
# Both create .venv (Python 3.11+) and install perceptflow into it when needed; no conda required.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
# pip takes these torch builds from a local wheel folder when one is configured, else from PyPI.
TORCH_PINS ?= 'torch>=2.4' 'torchvision>=0.19'
STAMP := $(VENV)/.perceptflow-installed

.PHONY: demo test test-fast test-faults test-slurm lint report dry-run clean help

help:
	@echo "make demo   - set up .venv and run the workflow on config.yaml (the embedded demo)"
	@echo "make test   - set up .venv and run the test suite"
	@echo "make test-faults - the fault-injection suite (kills, full disk, concurrent workflows; docs/reliability.md)"
	@echo "make test-slurm - start a one-node SLURM cluster (root; apt-get) and run the workflow on it"
	@echo "make lint   - ruff (lint, docstrings, format), snakefmt, snakemake --lint, mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_PINS)
	$(BIN)/python -m pip install --quiet -e '.[workflow,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html
	@echo "Open results/report.html; metrics in results/evaluate/*/*/metrics.json"

test: $(STAMP)
	$(BIN)/python -m pytest -m "not faults and not slurm"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not faults and not slurm"

test-faults: $(STAMP)
	$(BIN)/python -m pytest -m faults tests/faults

# SLURM + MLflow server integration (tests/slurm): installs slurm-wlm and munge via apt-get when missing.
test-slurm: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[workflow,dev,slurm]'
	$(BIN)/python -m pytest -m slurm tests/slurm

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
	$(BIN)/mypy

dry-run: $(STAMP)
	$(BIN)/snakemake -n

clean:
	rm -rf results logs .snakemake
