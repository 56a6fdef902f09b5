# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both set up .venv first (idempotent: a no-op once the requirement files are installed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint demo clean

setup: $(STAMP)

$(STAMP): requirements/dev.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: setup
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -q test

lint: setup
	$(PY) -m ruff check .

demo: setup
	$(PY) -m sspanoptic_ros.demo

clean:
	rm -rf $(VENV) build *.egg-info out
