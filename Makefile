# The README's two commands live here: `make demo` and `make test`.
# Each one installs what it needs (venv, Python packages, npm tools) and is safe to re-run.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# Debian packages the tests drive: Chromium (Playwright cannot download its own browser here) and jq
# (the seed's bg-deploy.sh runs unchanged in the end-to-end tests).
DEBIAN_TOOLS := /usr/bin/chromium /usr/bin/jq

.PHONY: demo test lint typecheck protos clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --silent
	touch $(NODE_STAMP)

$(DEBIAN_TOOLS):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core jq

demo: $(STAMP)
	$(PY) -m scripts.demo

lint: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	node_modules/.bin/buf lint greet/protos

test: $(STAMP) $(NODE_STAMP) $(DEBIAN_TOOLS)
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest

protos: $(STAMP)
	$(PY) -m scripts.gen_protos

clean:
	rm -rf $(VENV) node_modules
