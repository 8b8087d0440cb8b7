# One entry point for every task. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV_VERSION := 0.13.8
PYTEST_ARGS ?=

.PHONY: help install system-deps demo test test-fast test-browser test-postgres check fix bench messages migrate seed clean

help:
	@echo "make demo        set up, seed the demo and serve web + worker at http://127.0.0.1:8000"
	@echo "make test        set up and run the whole test suite"
	@echo "make test-fast   the suite without slow, Spark and browser tests"
	@echo "make test-browser the browser tests only (Playwright + Debian's chromium)"
	@echo "make check       ruff, mypy, Django system checks, missing migrations"
	@echo "make fix         ruff format + autofix"
	@echo "make bench       benchmarks (prints tables with ratios against baselines)"
	@echo "make messages    update the French and German catalogues from the sources and compile them"

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "datalux needs Python >= 3.11 (found " + sys.version.split()[0] + "): install python3.11 or set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --compile-bytecode --extra dev --extra spark --python $(BIN)/python
	@touch $(STAMP)

install: $(STAMP)

# Debian packages (chromium, Java, bubblewrap, gettext; PostgreSQL for CI): installed when missing.
system-deps:
	@sh scripts/system-deps $(SYSTEM_DEPS)

migrate: install
	$(BIN)/datalux migrate

seed: migrate
	$(BIN)/datalux demo seed

demo: install
	@sh scripts/system-deps sandbox
	$(BIN)/datalux demo up

test: install
	@sh scripts/system-deps browser java sandbox gettext
	@sh .ci/pytest.sh $(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	@sh scripts/system-deps gettext
	@sh .ci/pytest.sh $(BIN)/pytest -m "not slow and not spark and not browser" $(PYTEST_ARGS)

test-browser: install
	@sh scripts/system-deps browser
	@sh .ci/pytest.sh $(BIN)/pytest -m browser $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/datalux manage check
	$(BIN)/datalux manage makemigrations --check --dry-run

fix: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench

# After changing interface text: translate what msgfmt reports as untranslated or fuzzy, then
# run it again to compile (tests/core/test_translations.py fails until both are done).
messages: install
	@sh scripts/system-deps gettext
	cd src/datalux && ../../$(BIN)/datalux manage makemessages -l fr -l de --no-location --ignore 'migrations/*'
	@for l in fr de; do printf "%s: " $$l; msgfmt --check --statistics -o /dev/null src/datalux/locale/$$l/LC_MESSAGES/django.po; done
	cd src/datalux && ../../$(BIN)/datalux manage compilemessages

clean:
	rm -rf $(VENV) var/test-*
