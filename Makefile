# Developer entry points. `make run` and `make test` bootstrap everything from python3 + make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# Use uv from PATH when present, otherwise a private copy installed with pip into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v $(PYTHON))
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install run test test-unit test-pg e2e lint fmt typecheck migrate migrations-check check docs bench clean

help: ## list targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml verifier/pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.synced ## create .venv with the locked dependencies

run: install ## serve on http://127.0.0.1:8000 (SQLite, development settings)
	$(BIN)/identity serve --host 127.0.0.1 --port 8000

test: install ## the whole suite (SQLite; PostgreSQL too with IDENTITY_TEST_DATABASE_URL)
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install ## unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-pg: install ## the suite on the local PostgreSQL (database identity_test)
	IDENTITY_TEST_DATABASE_URL=$${IDENTITY_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/identity_test} \
		$(BIN)/pytest $(PYTEST_ARGS)

e2e: install ## tests that start uvicorn on 127.0.0.1
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

lint: install ## ruff format --check, ruff check and the import contracts
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

fmt: install ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## mypy (strict on identity/)
	$(BIN)/mypy

migrate: install ## apply migrations to IDENTITY_DATABASE_URL (default ./identity.db)
	$(BIN)/identity migrate upgrade head

# Through the CLI, so the database is the one the service's settings name (env.py reads none).
migrations-check: install ## upgrade IDENTITY_DATABASE_URL to head, then check the models for drift
	$(BIN)/identity migrate upgrade head && $(BIN)/identity migrate check

check: lint typecheck test ## what CI runs on SQLite

docs: install ## regenerate docs/configuration.md from identity.config.Settings
	$(BIN)/python -m tools.config_reference

bench: install ## PostgreSQL benchmark -> bench/results/latest.md (BENCH_ARGS=--quick; bench/README.md)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.verifier

clean: ## remove the virtualenv and tool cache
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache
