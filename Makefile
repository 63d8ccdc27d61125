# scforhis: every target that needs Python depends on `install`, which creates .venv from
# pyproject.toml when it is missing, so each works from a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install generate check test fuzz lint format demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

generate: install
	$(PY) -m codegen generate

check: install
	$(PY) -m codegen check

# Ajv (Node.js) checks the generated schemas as a second implementation; npm installs it.
AJV := tools/ajv/node_modules/.installed-stamp

$(AJV): tools/ajv/package.json tools/ajv/package-lock.json
	npm ci --prefix tools/ajv --no-audit --no-fund --loglevel=error
	touch $(AJV)

test: install $(AJV)
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest

fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -k "property or fuzz or hypothesis" tests

lint: install
	$(PY) -m ruff check codegen tests bench tools generated/python
	$(PY) -m ruff format --check codegen tests bench tools
	$(PY) -m mypy codegen generated/python/scforhis

format: install
	$(PY) -m ruff check --fix codegen tests bench tools
	$(PY) -m ruff format codegen tests bench tools

demo: generate
	$(PY) -m tools.demo

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
