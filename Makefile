# The two commands of the README.
VENV ?= .venv
PY = $(VENV)/bin/python
TORCH = 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: serve test install deps lint bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch's CPU build (platehub train, its tests), never PyPI's multi-GB CUDA one: a local wheel first
	@# (pip's find-links, e.g. /opt/wheels), without the network; else PyTorch's CPU index
	$(PY) -m pip install -q --no-index --no-deps 'torch==$(TORCH)+cpu' 2>/dev/null \
	  || $(PY) -m pip install -q 'torch==$(TORCH)+cpu' --index-url $(TORCH_INDEX) \
	  || { echo "make install: torch $(TORCH)+cpu (the CPU build) is in no local wheel folder (pip's" \
	       "find-links) and could not be had from $(TORCH_INDEX) (see pip's error above); put its wheel in" \
	       "a folder named by PIP_FIND_LINKS, or set TORCH_INDEX to a mirror of that index" >&2; exit 1; }
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
