#!/usr/bin/env bash
# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# The prepared GPU check (tools/gpu_check.py says what it runs). On the GPU machine, from the
# repository root with .gpu_check/ carried (tools/gpu_carry.py prepares it):
#     bash tools/gpu_check.sh            # at most 8 minutes; report under $OUT, else out/gpu_check/
#     bash tools/gpu_check.sh --dry-run  # the same steps on the CPU, small and quick (make test runs it)
# PYTHON picks the interpreter (default: python3, the GPU machine's own with torch).
set -uo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" tools/gpu_check.py "$@"
