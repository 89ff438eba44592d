# make run: install, migrate and serve on http://127.0.0.1:5000 (PORT=5001 make run for another port).
# make run DEMO=0 (or DEMO=0 in the environment): no demo practitioners, an empty diary for a real clinic.
# make test: install and run every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
DEMO ?= 1
export FLASK_APP := wsgi.py

.PHONY: run test install install-test migrate demo

run: install migrate demo
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# Tests run in parallel, one worker per core (pytest-xdist); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

test: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/flask db upgrade

# A demo clinic (invented practitioners and their hours) on a diary with no practitioners yet.
demo: migrate
ifneq ($(DEMO),0)
	$(BIN)/flask clinic demo
endif

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed
