# Gatescope: `make run` serves the app, `make test` runs every check. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
comma := ,
# torch (for parity tests) is large: CI always installs it, elsewhere ask with WITH_TORCH=1.
EXTRAS := test,fast,course$(if $(or $(filter true,$(CI)),$(WITH_TORCH)),$(comma)torch,)

.PHONY: run test lint typecheck unit e2e browser docker-engine bench classroom clean retrain-models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[fast]'
	touch $@

$(VENV)/.installed-$(EXTRAS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/gatescope serve --host $(HOST) --port $(PORT)

browser: $(VENV)/.installed-$(EXTRAS)
	bash scripts/ensure_browser.sh $(BIN)

lint: $(VENV)/.installed-$(EXTRAS)
	$(BIN)/ruff check app gatescope tests bench scripts
	$(BIN)/ruff format --check app gatescope tests bench scripts
	$(BIN)/mypy app gatescope

# Twice: with the compiled kernel where it runs, then with it switched off (the NumPy
# reference loop everywhere; the Docker image test runs once, in the first pass).
test: lint browser docker-engine
	$(BIN)/pytest
	$(BIN)/pytest --engine-kernel=numpy --ignore=tests/docker

# The Docker smoke test's tools (tests/docker): Debian's docker.io, docker-compose and
# debootstrap when root and missing; the test starts its own dockerd.
docker-engine:
	bash scripts/docker/engine.sh install

# Every bench/*_bench.py in turn (`make bench BENCH=classroom` runs one; the classroom alone
# takes about 11 minutes: 100 students for 5 minutes, fair limits then limits by address).
bench: $(VENV)/.installed-$(EXTRAS)
	$(BIN)/python -m bench $(BENCH)

# One classroom run, shortened as asked: `make classroom ARGS="--students 20 --minutes 0.33"`.
classroom: $(VENV)/.installed-$(EXTRAS)
	$(BIN)/python -m bench.classroom $(ARGS)

# Retrain every shipped model from scratch into app/builtin_models (their recorded commands).
retrain-models: $(VENV)/.installed-$(EXTRAS)
	$(BIN)/python -m app.training.retrain

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
