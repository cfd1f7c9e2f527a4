# Two commands for a new machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= corpus
OUT ?= outputs
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install install-test run test lint format docs constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet -c constraints.txt -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/claims run $(CORPUS) --out $(OUT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

docs: install
	$(BIN)/python -m pipeline.schemas > docs/tables.md

constraints: install-test
	$(PIP) freeze --exclude-editable | sed '1i # Versions proven to work together here. Regenerate with: make constraints' > constraints.txt

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
