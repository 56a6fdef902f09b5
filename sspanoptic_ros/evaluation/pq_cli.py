# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Command line ``sspanoptic-pq``: PQ / SQ / RQ of COCO panoptic files, printed as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from sspanoptic_ros.evaluation.pq import pq_compute


def main(argv: list[str] | None = None) -> int:
    """Evaluate predictions; print the keys and numbers of panopticapi's ``pq_compute``."""
    parser = argparse.ArgumentParser(prog="sspanoptic-pq", description=__doc__)
    parser.add_argument("--gt-json", required=True, help="ground-truth panoptic JSON")
    parser.add_argument("--gt-folder", required=True, help="ground-truth panoptic PNGs")
    parser.add_argument("--pred-json", required=True, help="predicted panoptic JSON")
    parser.add_argument("--pred-folder", required=True, help="predicted panoptic PNGs")
    args = parser.parse_args(argv)
    try:
        results = pq_compute(args.gt_json, args.gt_folder, args.pred_json, args.pred_folder)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"sspanoptic-pq: error: {e}")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
