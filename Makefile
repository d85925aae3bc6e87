# The two commands of the README. Everything else is set up by them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: build test setup clean

$(BIN)/kg: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BIN)/kg

setup: $(BIN)/kg

build: setup
	$(BIN)/kg build

test: setup
	bash .ci/system-deps
	$(BIN)/python -m pytest -q

clean:
	rm -rf build $(VENV)
