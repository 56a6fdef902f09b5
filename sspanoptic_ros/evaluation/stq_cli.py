# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Command line ``sspanoptic-stq``: STQ / AQ / SQ of panoptic video, printed as JSON and a table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sspanoptic_ros.evaluation.stq import stq_compute


def format_table(results: dict) -> str:
    """Markdown table: one row per sequence and one for all of them (percentages)."""
    lines = ["| sequence | frames | tracks | STQ | AQ | SQ | ID switches |", "|" + " --- |" * 7]
    rows = [*results["sequences"].items(), ("overall", results["overall"])]
    for name, r in rows:
        lines.append(f"| {name} | {r['frames']} | {r['tracks']} | {100 * r['stq']:.1f} | "
                     f"{100 * r['aq']:.1f} | {100 * r['sq']:.1f} | {r['id_switches']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Evaluate; print the results as JSON (fractions), then as a table (percentages)."""
    parser = argparse.ArgumentParser(prog="sspanoptic-stq", description=__doc__.splitlines()[0])
    parser.add_argument("--gt", required=True, type=Path,
                        help="ground-truth sequence folder, or a folder of them")
    parser.add_argument("--pred", required=True, type=Path,
                        help="predicted sequence folder, or a folder of them (same names)")
    parser.add_argument("--json", type=Path, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    try:
        results = stq_compute(args.gt, args.pred)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"sspanoptic-stq: error: {e}")
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
