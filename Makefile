# Set-up is part of every target: a fresh clone needs only `make reports` or `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Optional local mirror of the public sources (laid out like ../shared/datasets); empty = download.
MIRROR ?=

.PHONY: install reports lab test lint docs clean-data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# fetch, clean, score and report, each step skipped when its inputs, code and parameters are unchanged
reports: install
	$(BIN)/exportrisk build $(if $(MIRROR),--from $(MIRROR))

# JupyterLab in notebooks/, the project's environment registered as the kernel "exportrisk" the notebooks ask for;
# LAB_ARGS go to jupyter lab (e.g. LAB_ARGS="--no-browser --port 8890")
lab: install
	$(BIN)/python -m ipykernel install --user --name exportrisk --display-name "Python (exportrisk)"
	cd notebooks && EXPORTRISK_ROOT=$(CURDIR) ../$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: install
	$(BIN)/ruff check exportrisk tests benchmarks notebooks
	$(BIN)/ruff format --check exportrisk tests benchmarks notebooks

test: install lint
	$(BIN)/python -m pytest

docs: install
	$(BIN)/python -m exportrisk.docs

clean-data:
	rm -rf data/processed/*.parquet
