PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-long test test-slow lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# about two minutes from a fresh clone, install included: the committed learner beside exact
# Bayes and tuned SGD / Adam, and a short training run (examples/demo.py)
demo: $(STAMP)
	$(BIN)/python examples/demo.py --out runs/demo

# the longer recipe, about five minutes on 2 CPU cores: train configs/demo.toml, then evaluate
demo-long: $(STAMP)
	rm -rf runs/demo-long
	$(BIN)/iai train configs/demo.toml --out runs/demo-long
	$(BIN)/iai eval runs/demo-long --out runs/demo-long/eval

# one process per core (pytest-xdist), one thread each: the tests are small, and on 2 cores
# this runs them in about half the time of one process
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	OMP_NUM_THREADS=1 $(BIN)/pytest -q -n auto

test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=slow $(BIN)/pytest -q -m 'slow or hypothesis'

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) runs
