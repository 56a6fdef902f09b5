# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ament linters a ROS user expects, and the package's import contracts.

flake8/pep257 through ruff, copyright headers, and .importlinter (import-linter: one-way layers,
no ROS below the applications, no torch in the ROS layer).
"""

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
