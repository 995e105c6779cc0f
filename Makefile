PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV := $(VENV)/.installed-dev

.PHONY: demo demo-long test test-slow lint clean

# the package and what it needs at run time, enough for the demo; the venv's own pip (23.2 on
# Python 3.11) installs it: upgrading pip first cost seconds and changed nothing
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0 -e .
	touch $(STAMP)

# with the tests' and linter's extras (pyproject's [dev]), in one pip run from a fresh clone
$(DEV): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0 -e '.[dev]'
	touch $(STAMP) $(DEV)

# about 70 s from a fresh clone, install included: the committed learner beside exact
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
test: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	OMP_NUM_THREADS=1 $(BIN)/pytest -q -n auto

test-slow: $(DEV)
	HYPOTHESIS_PROFILE=slow $(BIN)/pytest -q -m 'slow or hypothesis'

lint: $(DEV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) runs
