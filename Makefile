# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both set up .venv first (idempotent: a no-op once the requirement files are installed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Wheels of the real ROS 2 launch / launch_ros / ros2cli (see its README.md), where they exist.
ROS2_WHEELS ?= ../shared/wheels/ros2

.PHONY: setup test lint demo demo-model gpu-carry gpu-check clean

setup: $(STAMP)

$(STAMP): requirements/dev.txt requirements/ros2-tools.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements/dev.txt
	if [ -d $(ROS2_WHEELS) ]; then \
		bash $(ROS2_WHEELS)/install.sh $(PY) && \
		$(PY) -m pip install -qq --disable-pip-version-check -r requirements/ros2-tools.txt; \
	else \
		echo "make setup: no $(ROS2_WHEELS): the tests that run ros2 launch, the ros2 CLI and colcon will skip"; \
	fi
	$(PY) -m pip install -qq --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: setup
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -q test

lint: setup
	$(PY) -m ruff check .

demo: setup
	$(PY) -m sspanoptic_ros.demo

# Re-train the bundled demo model from scratch on CPU (see models/README.md).
demo-model: setup
	$(PY) -m sspanoptic_ros.data.synthetic --out out/synthetic/train --num 800 --seed 1 --size 256x384
	$(PY) -m sspanoptic_ros.data.synthetic --out out/synthetic/val --num 100 --seed 2 --size 256x384
	$(PY) -m sspanoptic_ros.data.synthetic --out out/synthetic/test --num 100 --seed 3 --size 256x384
	$(PY) -m sspanoptic_ros.train.cli models/demo_synthetic_train.yaml
	$(PY) -m sspanoptic_ros.export.cli release out/train_demo/last.pt models/demo_synthetic.pt
	cp out/train_demo/train_log.jsonl models/demo_synthetic_train_log.jsonl
	$(PY) -m sspanoptic_ros.evaluation.eval_cli --model models/demo_synthetic.pt --backend torch \
		--images out/synthetic/test/images --json out/synthetic/test/panoptic.json \
		--panoptic out/synthetic/test/panoptic --out out/eval_demo

# The prepared GPU check (README, "GPU check"): gpu-carry here, then gpu-check on the GPU machine,
# which runs with that machine's own python3 and packages (no .venv there).
gpu-carry: setup
	$(PY) tools/gpu_carry.py

gpu-check:
	bash tools/gpu_check.sh

clean:
	rm -rf $(VENV) build *.egg-info out
