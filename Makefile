# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both set up the venvs first (idempotent: a no-op once the requirement files are installed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# ROS 2 Jazzy (the LTS) beside the Kilted .venv: the two share distribution names, so each has a venv.
JAZZY_VENV ?= .venv-jazzy
JAZZY_STAMP := $(JAZZY_VENV)/.installed
# Wheels of the real ROS 2 launch / launch_ros / ros2cli (see their README.md), where they exist.
ROS2_WHEELS ?= ../shared/wheels/ros2
JAZZY_WHEELS ?= ../shared/wheels/ros2-jazzy
PIP_INSTALL := -m pip install -qq --disable-pip-version-check

.PHONY: setup no-jazzy test lint demo demo-model gpu-carry gpu-check clean

# venv(DIR, ROS requirement files, tool folder): the non-ROS pins of dev.txt with one
# distribution's ROS 2, then, where the tool folder exists, colcon and the real ROS 2 tools, and a
# check that the message packages of the 3D outputs import (sensor_msgs_py, message_filters and
# visualization_msgs come from the tool folder and the ROS requirement file, not from rosdep here).
# ros2-tools.txt goes in before the folder's install.sh: the tools' metadata requires
# `ament-index-python`, which the core installs as `ros-ament-index-python`, so a resolver run
# after them (here: installing setuptools, which launch_ros requires) printed "ERROR: ...
# launch-ros requires ament-index-python, which is not installed". install.sh adds the tools with
# --no-deps, which skips that check; their third-party requirements it installs before them.
define venv
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python $(PIP_INSTALL) -r requirements/dev.txt $(2)
	if [ -d $(3) ]; then \
		$(1)/bin/python $(PIP_INSTALL) --find-links $(3) -r requirements/ros2-tools.txt && \
		bash $(3)/install.sh $(1)/bin/python && \
		$(1)/bin/python -c "import sensor_msgs_py.point_cloud2, message_filters, visualization_msgs.msg"; \
	else \
		echo "make setup: no $(3): the tests that run ros2 launch, the ros2 CLI and colcon will skip"; \
	fi
	$(1)/bin/python $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $(1)/.installed
endef

# Jazzy's core pins are in its tool folder: without the folder there is no Jazzy venv.
setup: $(STAMP) $(if $(wildcard $(JAZZY_WHEELS)/install.sh),$(JAZZY_STAMP),no-jazzy)

$(STAMP): requirements/dev.txt requirements/kilted.txt requirements/ros2-tools.txt setup.py
	$(call venv,$(VENV),-r requirements/kilted.txt,$(ROS2_WHEELS))

$(JAZZY_STAMP): requirements/dev.txt requirements/jazzy.txt requirements/ros2-tools.txt setup.py \
		$(JAZZY_WHEELS)/requirements-jazzy-core.txt
	$(call venv,$(JAZZY_VENV),-r $(JAZZY_WHEELS)/requirements-jazzy-core.txt -r requirements/jazzy.txt,$(JAZZY_WHEELS))

no-jazzy:
	@echo "make setup: no $(JAZZY_WHEELS): no $(JAZZY_VENV); make test runs the ROS tests on Kilted only"

# Three pytest runs, each ending with a line "<label>: N passed, N failed, N skipped"
# (conftest.py), all repeated at the end; a failure in any fails make test. The ROS tests
# (marked `ros`, setup.cfg) run on Kilted while the rest of the suite runs beside them (it waits
# on no ROS graph, and the one node it starts, the GPU check's bag step, takes its ROS domain
# from another range: SSPANOPTIC_DOMAINS, bench/session.py); then the ROS tests run on Jazzy.
# --durations names the slowest tests of each run.
SUMMARY := out/test_summary.txt
RUN_TESTS = ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST TEST_SUMMARY=$(SUMMARY) PATH=$(abspath $(1))/bin:$$PATH \
	ROS_DISTRO=$(2) TEST_LABEL="$(3)" SSPANOPTIC_DOMAINS=$(4) $(1)/bin/python -m pytest -q --durations=5
test: setup
	@mkdir -p out && rm -f $(SUMMARY); status=0; \
	$(call RUN_TESTS,$(VENV),kilted,kilted not-ROS,20-69) -m "not ros" test > out/test_not_ros.log 2>&1 & \
	rest=$$!; \
	$(call RUN_TESTS,$(VENV),kilted,kilted,120-219) -m ros test || status=1; \
	wait $$rest || status=1; cat out/test_not_ros.log; \
	if [ -f $(JAZZY_STAMP) ]; then \
		$(call RUN_TESTS,$(JAZZY_VENV),jazzy,jazzy,120-219) -m ros test || status=1; \
	else \
		echo "make test: no $(JAZZY_VENV) (no $(JAZZY_WHEELS)): the ROS tests ran on Kilted only"; \
	fi; \
	echo "make test:"; cat $(SUMMARY); exit $$status

lint: setup
	$(PY) -m ruff check .

demo: setup
	$(PY) -m sspanoptic_ros.demo

# Re-train the bundled demo model from scratch on CPU (see models/README.md).
demo-model: setup
	$(PY) -m sspanoptic_ros.data.synthetic_dataset --out out/synthetic/train --num 800 --seed 1 --size 256x384
	$(PY) -m sspanoptic_ros.data.synthetic_dataset --out out/synthetic/val --num 100 --seed 2 --size 256x384
	$(PY) -m sspanoptic_ros.data.synthetic_dataset --out out/synthetic/test --num 100 --seed 3 --size 256x384
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
	rm -rf $(VENV) $(JAZZY_VENV) build *.egg-info out
