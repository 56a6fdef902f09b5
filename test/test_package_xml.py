# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""package.xml, read by catkin_pkg (what colcon and rosdep read it with) and resolved by rosdep.

``rosdep install --simulate`` runs against the rosdistro snapshot in ../shared/data/rosdep (the
rosdep YAMLs and each distribution's released packages) for Humble on Ubuntu jammy and Jazzy and
Kilted on noble. The declared dependencies must be exactly what the code imports (mapped to
rosdep keys), apart from the Python packages the user brings: torch and torchvision (rosdep's
python3-torch is the distribution's CPU-only build) and the optional backends and tools.
"""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package
from conftest import REPO

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

ROSDEP_DATA = REPO.parent / "shared" / "data" / "rosdep"
PLATFORMS = {"humble": "ubuntu:jammy", "jazzy": "ubuntu:noble", "kilted": "ubuntu:noble"}
# Python modules that are ROS packages of the same name.
ROS_MODULES = {"rclpy", "rcl_interfaces", "sensor_msgs", "std_msgs", "diagnostic_msgs",
               "lifecycle_msgs", "builtin_interfaces", "ament_index_python", "launch", "launch_ros",
               "vision_msgs", "visualization_msgs", "message_filters", "sensor_msgs_py"}
PYTHON_KEYS = {"numpy": "python3-numpy", "yaml": "python3-yaml", "cv2": "python3-opencv",
               "pytest": "python3-pytest", "catkin_pkg": "python3-catkin-pkg", "scipy": "python3-scipy"}
# Imported, but not for rosdep to install (README, "On a robot").
USER_BROUGHT = {
    "torch": "the user's CPU or CUDA build (NVIDIA's on Jetson)",
    "torchvision": "matches the user's torch",
    "onnxruntime": "optional backend (pip, or onnxruntime-gpu)",
    "tensorrt": "optional backend, from NVIDIA",
    "onnx": "sspanoptic-export",
    "torch_tensorrt": "sspanoptic-export torch-tensorrt",
    "rosbags": "sspanoptic-bench bag and make demo",
    "matplotlib": "sspanoptic-bench bag plots",
    "pycocotools": "sspanoptic-eval",
    "PIL": "the COCO loader of training and the demo",
    "panopticapi": "the PQ reference of the tests (pip only)",
}
# Declared, but used without an import.
USED_WITHOUT_IMPORT = {
    "exec": {"lifecycle_msgs": "the node's lifecycle services (rclpy.lifecycle)",
             "ros2launch": "ros2 launch", "rviz2": "use_rviz:=true"},
    "test": {"ros2lifecycle", "ros2param", "ros2run", "ros2topic"},  # the CLI the tests run
}


def imported(*folders: str) -> set[str]:
    """Top-level modules imported by the Python files under ``folders``, less the standard library."""
    names = set()
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names.add(node.module.split(".")[0])
    # The project's own: the package, test helpers, and tools/ scripts the tests import.
    local = {"sspanoptic_ros", "conftest", "ros_helpers", "colcon_helpers", "gpu_carry", "gpu_check"}
    return names - set(sys.stdlib_module_names) - local


def rosdep_keys(modules: set[str]) -> set[str]:
    unknown = modules - ROS_MODULES - set(PYTHON_KEYS) - set(USER_BROUGHT)
    assert not unknown, f"imported, but neither declared nor listed as brought by the user: {unknown}"
    return {m if m in ROS_MODULES else PYTHON_KEYS[m] for m in modules if m not in USER_BROUGHT}


@pytest.fixture(scope="module")
def package():
    package = parse_package(str(REPO))
    package.validate()
    return package


def test_exec_dependencies_are_what_the_package_and_its_launch_files_import(package):
    declared = {d.name for d in package.exec_depends}
    assert declared == rosdep_keys(imported("sspanoptic_ros", "launch")) | set(USED_WITHOUT_IMPORT["exec"])
    assert not {d.name for d in package.build_depends}  # pure Python: colcon needs nothing else


def test_test_dependencies_are_what_the_tests_import(package):
    runtime = {d.name for d in package.exec_depends}
    declared = {d.name for d in package.test_depends}
    assert declared == (rosdep_keys(imported("test")) - runtime) | USED_WITHOUT_IMPORT["test"]


def test_versions_agree_with_setup_py(package):
    setup = ast.parse((REPO / "setup.py").read_text())
    (call,) = [n for n in ast.walk(setup) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup"]
    keywords = {k.arg: k.value for k in call.keywords}
    assert ast.literal_eval(keywords["version"]) == package.version
    assert package.licenses == ["Apache-2.0"] and package.get_build_type() == "ament_python"


@pytest.fixture(scope="module")
def rosdep(tmp_path_factory):
    """Return a function running ``rosdep ARGS`` on the rosdistro snapshot, after ``rosdep update``."""
    if not ROSDEP_DATA.is_dir():
        pytest.skip(f"rosdistro snapshot not found at {ROSDEP_DATA}")
    executable = shutil.which("rosdep", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                             os.environ.get("PATH", "")]))
    if executable is None:
        pytest.skip("rosdep not installed: make setup installs it (requirements/dev.txt)")
    home = tmp_path_factory.mktemp("rosdep")
    sources = home / "sources.list.d"
    sources.mkdir()
    (sources / "20-default.list").write_text(
        "".join(f"yaml {(ROSDEP_DATA / name).as_uri()}\n"
                for name in ("rosdep_base.yaml", "rosdep_python.yaml")))
    index = home / "index-v4.yaml"
    index.write_text("%YAML 1.1\n---\ntype: index\nversion: 4\ndistributions:\n" + "".join(
        f"  {distro}:\n    distribution: [{(ROSDEP_DATA / f'{distro}_distribution.yaml').as_uri()}]\n"
        f"    distribution_status: active\n    distribution_type: ros2\n    python_version: 3\n"
        for distro in PLATFORMS))
    env = {**os.environ, "ROSDEP_SOURCE_PATH": str(sources), "ROSDISTRO_INDEX_URL": index.as_uri(),
           "ROS_HOME": str(home / "ros_home")}
    env.pop("ROS_DISTRO", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([executable, *args], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120)

    update = run("update")
    assert update.returncode == 0, update.stdout
    return run


@pytest.mark.parametrize("distro", PLATFORMS)
def test_rosdep_resolves_every_key(distro, rosdep, tmp_path):
    source = tmp_path / "src" / "sspanoptic_ros"
    source.mkdir(parents=True)
    shutil.copy(REPO / "package.xml", source)  # the whole repository would be crawled
    result = rosdep("install", "--from-paths", str(tmp_path / "src"), "--ignore-src", "--simulate",
                    "--reinstall", "-y", "--rosdistro", distro, "--os", PLATFORMS[distro])
    assert result.returncode == 0, result.stdout
    installs = [line.split()[-1] for line in result.stdout.splitlines() if "install" in line]
    assert f"ros-{distro}-rclpy" in installs and f"ros-{distro}-rviz2" in installs, result.stdout
    assert "python3-opencv" in installs, result.stdout
    assert not [p for p in installs if "torch" in p], "rosdep must not install a torch"
    assert "[pip]" not in result.stdout, "Python packages from pip are the user's (venv), not rosdep's"


def test_rosdep_refuses_a_key_it_cannot_resolve(rosdep, tmp_path):
    """The check above can fail: a key with no entry for noble (python3-torch has one) does."""
    source = tmp_path / "src" / "broken"
    source.mkdir(parents=True)
    text = (REPO / "package.xml").read_text().replace("<name>sspanoptic_ros</name>", "<name>broken</name>")
    (source / "package.xml").write_text(
        text.replace("<exec_depend>rclpy</exec_depend>", "<exec_depend>python3-ruff</exec_depend>"))
    result = rosdep("install", "--from-paths", str(tmp_path / "src"), "--ignore-src", "--simulate",
                    "--reinstall", "-y", "--rosdistro", "jazzy", "--os", "ubuntu:noble")
    assert result.returncode != 0 and "python3-ruff" in result.stdout, result.stdout
