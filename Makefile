# The two commands of the README.
VENV ?= .venv
PY = $(VENV)/bin/python

.PHONY: serve test install deps lint bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q 'torch==2.13.0'  # the CPU wheel of the machine image (platehub train, its tests)
	$(PY) -m pip install -q -e '.[test,train]'
	touch $@

install: $(VENV)/.installed

serve: install  ## set up and run the server on the embedded default (SQLite + images under ./data)
	$(VENV)/bin/platehub serve

deps:  ## the Debian packages the tests start for real (PostgreSQL, Chromium, ...), installed when missing
	tools/install-test-deps

test: deps install  ## set up and run the tests (lint included)
	$(VENV)/bin/ruff check src tests
	$(PY) -m pytest -q

bench: install  ## accuracy and speed on the dev set
	$(VENV)/bin/platehub bench ../shared/data/plates-dev/manifest.jsonl
