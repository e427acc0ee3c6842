# Named tasks. The two set-up commands of README.md are `make run` and `make test`;
# both work on a fresh machine (they create .venv and install what they need).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint bench install servers

$(BIN)/triage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(BIN)/triage

# The main job on the embedded default: SQLite store, the sample Maildir inbox.
run: install
	$(BIN)/triage --config config.toml consent import examples/registry.csv  # the sample's consent records (a merge)
	$(BIN)/triage --config config.toml run

# The servers the tests talk to (Dovecot); skipped when not root, where those tests then skip.
servers:
	@bash scripts/install-test-servers

test: install servers
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

bench: install servers
	$(BIN)/python benchmarks/ingest.py --parse-processes 0
	$(BIN)/python benchmarks/ingest.py --parse-processes 2
	$(BIN)/python benchmarks/classify.py
