# linesift: `make train` sets up .venv and runs the whole pipeline (DVC stages, MLflow run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

.PHONY: setup setup-dev train tune repro test lint format compare ui bench clean

# `make train` needs only the package (training is plain Python stages); the test suite
# also needs pytest, ruff, DVC, notebooks, Spark and datatrove (the dev extras).
# (again when the compiled segmentation walk's source changes: an editable install does not
# rebuild it by itself)
$(BIN)/linesift: pyproject.toml setup.py src/linesift/_cwalk.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/linesift
	$(BIN)/python -m pip install -q -e '.[dev,spark,datatrove]'
	touch $@

setup: $(BIN)/linesift

setup-dev: $(VENV)/.dev-installed

# The full pipeline: prepare -> featurize -> train -> evaluate (see dvc.yaml).
train: setup
	$(BIN)/python -m linesift.prepare
	$(BIN)/python -m linesift.features
	$(BIN)/python -m linesift.modeling.train --description "$(or $(DESC),make train)"
	$(BIN)/python -m linesift.evaluate

# Hyperparameter search over the features make train made (tune in params.yaml; MLflow
# experiment linesift-tune, a child run per trial; table in metrics/tune_<kind>.csv).
tune: setup
	$(BIN)/python -m linesift.modeling.tune --description "$(or $(DESC),make tune)"

# Same stages through DVC (skips stages whose inputs did not change; `dvc exp show` compares).
repro: setup-dev
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench

format: setup-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix .

# MLflow runs, newest first, with the params changed against the champion (ARGS="--sort cv_f1").
compare: setup
	$(BIN)/linesift runs $(ARGS)

ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

bench: setup
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/run.py --repeat 3

clean:
	rm -rf data/interim data/processed
