# scforhis: every target that needs Python depends on `install`, which creates .venv from
# pyproject.toml when it is missing, so each works from a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install generate check test fuzz lint format demo bench vendor-check mutate clean

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
	$(PY) -m ruff check codegen scforhis tests bench tools
	$(PY) -m ruff format --check codegen scforhis tests bench tools
	$(PY) -m mypy codegen scforhis

format: install
	$(PY) -m ruff check --fix codegen scforhis tests bench tools
	$(PY) -m ruff format codegen scforhis tests bench tools

demo: generate
	$(PY) -m tools.demo

bench: install $(AJV)
	$(PY) -m bench.run

# The vendor check (not part of `make test`): clients generated from generated/openapi.json by
# OpenAPI Generator (pip; it bundles its jar, Java 17 runs it) and openapi-typescript (npm),
# compiled, linted and run against the sandbox (tools/vendor_check.py). `php -l` needs a PHP
# interpreter: Debian's php-cli, installed here when missing.
VENDOR_NPM := tools/vendor/node_modules/.installed-stamp
VENDOR_PIP := $(VENV)/.vendor-stamp

$(VENDOR_NPM): tools/vendor/package.json tools/vendor/package-lock.json
	npm ci --prefix tools/vendor --no-audit --no-fund --loglevel=error
	touch $(VENDOR_NPM)

$(VENDOR_PIP): $(STAMP) tools/vendor/requirements.txt
	$(PY) -m pip install --quiet -r tools/vendor/requirements.txt
	touch $(VENDOR_PIP)

vendor-check: install $(VENDOR_NPM) $(VENDOR_PIP)
	command -v php >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends php-cli >/dev/null; }
	$(PY) -m tools.vendor_check

# Mutation check (not part of `make test`): small edits of the modules that guard data and
# secrets, each tested in a private copy; prints the score per module and every survivor.
mutate: install $(AJV)
	$(PY) -m tools.mutate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
