# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ament linters a ROS user expects, and the package's import contracts.

flake8/pep257 through ruff, copyright headers, and .importlinter (import-linter: one-way layers,
no ROS below the applications, no torch in the ROS layer). Also the rule that picks the tests
``make test`` runs on every ROS distribution (setup.cfg).
"""

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

HEADER = ("# Copyright 2026 The sspanoptic_ros Authors", "# SPDX-License-Identifier: Apache-2.0")
SOURCE_DIRS = ("sspanoptic_ros", "test", "export", "launch", "tools")


def python_files():
    files = [REPO / "setup.py"]
    for d in SOURCE_DIRS:
        files += sorted((REPO / d).rglob("*.py"))
    return files


def test_flake8_and_pep257_rules():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *map(str, python_files())],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_copyright_headers():
    missing = [
        str(p.relative_to(REPO)) for p in python_files() if tuple(p.read_text().splitlines()[:2]) != HEADER
    ]
    assert not missing, f"files without the copyright header: {missing}"


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# What makes a test file ROS-facing: importing one of these or a *_msgs / *_interfaces package,
# directly or through a module of this package that imports one when it is imported.
ROS_MODULES = {"rclpy", "launch", "launch_ros", "ament_index_python", "catkin_pkg", "sensor_msgs_py",
               "message_filters", "ros_helpers", "colcon_helpers"}


def imported_modules(statements) -> set[str]:
    """Names of the modules imported by ``statements`` (``from a import b``: a and a.b)."""
    names = set()
    for node in statements:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def is_ros(name: str) -> bool:
    top = name.split(".")[0]
    return top in ROS_MODULES or top.endswith(("_msgs", "_interfaces"))


def imports_ros(name: str) -> bool:
    """Whether importing ``name`` (a module of this package, else anything) loads ROS 2 itself."""
    path = REPO.joinpath(*name.split(".")).with_suffix(".py")
    if not name.startswith("sspanoptic_ros.") or not path.is_file():
        return is_ros(name)
    return any(map(is_ros, imported_modules(ast.parse(path.read_text()).body)))


def marked_ros(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "pytestmark"
               and "pytest.mark.ros" in ast.unparse(n.value) for n in tree.body)


def test_exactly_the_test_files_that_import_ros_are_marked_ros():
    """``make test`` runs the tests marked ``ros`` on Jazzy too: none may be left out, nor added."""
    wrong = []
    for path in sorted((REPO / "test").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        ros = any(map(imports_ros, imported_modules(ast.walk(tree))))
        if ros != marked_ros(tree):
            wrong.append(f"{path.name}: imports ROS: {ros}, marked ros: {not ros}")
    assert not wrong, wrong
