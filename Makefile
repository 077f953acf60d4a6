# Set-up is part of every target: a fresh clone needs only `make reports` or `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Optional local mirror of the public sources (laid out like ../shared/datasets); empty = download.
MIRROR ?=

.PHONY: install reports test lint docs clean-data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

reports: install
	$(BIN)/exportrisk fetch $(if $(MIRROR),--from $(MIRROR))
	$(BIN)/exportrisk clean

lint: install
	$(BIN)/ruff check exportrisk tests benchmarks
	$(BIN)/ruff format --check exportrisk tests benchmarks

test: install lint
	$(BIN)/python -m pytest

docs: install
	$(BIN)/python -m exportrisk.docs

clean-data:
	rm -rf data/processed/*.parquet
