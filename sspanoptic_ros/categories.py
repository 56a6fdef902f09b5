# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Panoptic categories: dataset ids, names, thing/stuff flag and display colour.

The order of a category list is the order of the semantic logit channels. Category
id 0 is reserved for "unknown / void" everywhere (maps, messages, COCO files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

UNKNOWN_ID = 0


@dataclass(frozen=True)
class Category:
    """One thing or stuff class as in COCO panoptic's ``categories`` list."""

    id: int
    name: str
    isthing: bool
    color: tuple[int, int, int]

    def __post_init__(self):
        if self.id <= UNKNOWN_ID:
            raise ValueError(f"category {self.name!r}: id must be > 0 (0 means unknown), got {self.id}")
        if len(self.color) != 3 or not all(0 <= c <= 255 for c in self.color):
            raise ValueError(f"category {self.name!r}: color must be 3 values in 0..255, got {self.color}")

    @classmethod
    def from_dict(cls, d: dict) -> Category:
        """Build from a COCO-style dict (``id``, ``name``, ``isthing``, ``color``)."""
        try:
            return cls(int(d["id"]), str(d["name"]), bool(d["isthing"]), tuple(int(c) for c in d["color"]))
        except KeyError as e:
            raise ValueError(f"category entry {d!r} lacks the key {e}") from None

    def to_dict(self) -> dict:
        """Return the COCO-style dict."""
        return {"id": self.id, "name": self.name, "isthing": int(self.isthing), "color": list(self.color)}


def validate_categories(categories: list[Category]) -> list[Category]:
    """Check that ids are unique and that there is at least one thing class."""
    ids = [c.id for c in categories]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate category ids in {ids}")
    if not any(c.isthing for c in categories):
        raise ValueError("the category list has no thing class; the detector needs at least one")
    return categories


def check_matching_categories(
    ours: list[Category], theirs: list[Category], what: str, their_source: str
) -> None:
    """Raise ValueError naming both lists where an id of both is another class in each.

    An id's name and thing/stuff must agree; ids in one list only are left to the callers'
    checks of the ids in use. ``what`` names ``ours`` (e.g. "the model's"), ``their_source``
    where ``theirs`` came from.
    """
    mine = {c.id: (c.name, c.isthing) for c in ours}
    if any(mine.get(c.id, (c.name, c.isthing)) != (c.name, c.isthing) for c in theirs):
        raise ValueError(
            f"the categories of {their_source} ({describe_categories(theirs)}) are not {what} "
            f"({describe_categories(ours)})"
        )


def describe_categories(categories: list[Category], shown: int = 8) -> str:
    """Return ``N categories: 1 'person', 2 'bicycle', ...`` (the first ``shown`` of them)."""
    names = ", ".join(f"{c.id} {c.name!r}" for c in categories[:shown])
    more = f", ... ({len(categories) - shown} more)" if len(categories) > shown else ""
    return f"{len(categories)} categories: {names}{more}"


def load_categories(path: str | Path) -> list[Category]:
    """Read a COCO panoptic category list (JSON list, or a dict with ``categories``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"category file not found: {path}")
    data = json.loads(path.read_text())
    if isinstance(data, dict):
        data = data.get("categories", data)
    return validate_categories([Category.from_dict(d) for d in data])


def thing_channels(categories: list[Category]) -> list[int]:
    """Semantic channel of each detector class (detector class k is the k-th thing)."""
    return [i for i, c in enumerate(categories) if c.isthing]


def stuff_channels(categories: list[Category]) -> list[int]:
    """Semantic channels of the stuff classes."""
    return [i for i, c in enumerate(categories) if not c.isthing]
