#!/usr/bin/env bash
# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# The prepared GPU check (tools/gpu_check.py says what it runs). On the GPU machine, from the
# repository root with .gpu_check/ carried (tools/gpu_carry.py prepares it):
#     bash tools/gpu_check.sh            # at most 8 minutes; report under $OUT, else out/gpu_check/
#     bash tools/gpu_check.sh --dry-run  # the same steps on the CPU, small and quick (make test runs it)
# PYTHON picks the interpreter. Default: for --dry-run, .venv's where it exists (make setup
# builds it; the system python3 of a development machine has no torch); else python3, the GPU
# machine's own with torch.
set -uo pipefail
cd "$(dirname "$0")/.."
default=python3
if [[ " $* " == *" --dry-run "* && -x .venv/bin/python ]]; then
  default=.venv/bin/python
fi
exec "${PYTHON:-$default}" tools/gpu_check.py "$@"
