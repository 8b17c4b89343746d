# paydesk — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned dependencies

run: $(STAMP) ## start paydesk on SQLite with the offline Stripe sandbox, and a walkthrough
	$(BIN)/paydesk demo

test: $(STAMP) ## run every test (PostgreSQL ones too when it is reachable)
	$(BIN)/pytest -n 3

lint: $(STAMP) ## ruff, mypy, import-linter (the layers) and deptry (the dependencies)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry src

format: $(STAMP) ## format the code
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: $(STAMP) ## print payments/s, webhook events/s acknowledged and applied, latency percentiles (see bench/README.md)
	$(BIN)/python bench/payments.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/applied.py

lock: ## re-pin requirements.lock from pyproject.toml
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean: ## remove the virtualenv and local databases
	rm -rf $(VENV) paydesk.db* paydesk-demo.db*
