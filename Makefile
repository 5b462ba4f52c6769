# Wandel: the two Quick-start commands (make demo, make test) work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test venv dev lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

dev: $(STAMP)

DEMO_DB := out/demo/wandel-demo.duckdb

# after the demo: in a terminal serve it (the address is printed), otherwise one smoke request
demo: venv
	$(BIN)/wandel demo
	if [ -t 1 ]; then $(BIN)/wandel serve --db $(DEMO_DB); else $(BIN)/wandel serve --db $(DEMO_DB) --smoke; fi

lint: dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: dev
	$(BIN)/mypy

pytest: dev
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test: lint typecheck pytest

bench: dev
	for b in bench/*_bench.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
