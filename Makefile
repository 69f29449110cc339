# Trạm Sách: `make run` serves the app, `make test` runs every check. Nothing else to install by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
PO     := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)

.PHONY: run test lint test-sqlite test-postgresql test-browser bench translations extract-messages venv clean audit

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

translations: $(MO)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext -o app/translations/messages.pot --no-location --sort-output --omit-header app catalog rotation
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) demo load --first-start
	@echo "Trạm Sách is at http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
	$(FLASK) run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-sqlite: $(STAMP) translations
	$(BIN)/python -m pytest --db sqlite --basetemp=/tmp/tramsach-pytest-sqlite

test-postgresql: $(STAMP) translations
	$(BIN)/python -m pytest --db postgresql --basetemp=/tmp/tramsach-pytest-postgresql

# Both engines at once (two cores); each suite's output is printed whole when it ends.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

# Dependency audit with PyPI's vulnerability data (OSV is not needed); exit 2 when PyPI cannot be reached.
audit: $(STAMP)
	$(BIN)/python -m tests.security.audit

bench: $(STAMP) translations
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
