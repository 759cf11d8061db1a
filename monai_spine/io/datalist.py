"""MONAI datalists for synthetic cohorts: training / validation / test splits balanced for scoliosis."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from .files import atomic_write_text

__all__ = ["SPLITS", "split_balanced", "write_datalist"]

SPLITS = ("training", "validation", "test")


def split_balanced(
    entries: Sequence[dict], fractions: Sequence[float] = (0.8, 0.1, 0.1), key: str = "scoliotic", seed: int = 0
) -> dict[str, list[dict]]:
    """Split ``entries`` into :data:`SPLITS` with the same share of ``entry[key]`` (True/False) in each.

    Each stratum is shuffled with ``seed`` and cut by ``fractions`` (rounded so that every entry is used);
    within a split, entries keep their original order. Deterministic for a given seed.
    """
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be {len(SPLITS)} non-negative numbers summing to 1, got {fractions}.")
    rng = np.random.default_rng(seed)
    assignment = {}
    for stratum in (True, False):
        members = [i for i, entry in enumerate(entries) if bool(entry[key]) == stratum]
        rng.shuffle(members)
        cuts = np.round(np.cumsum(fractions)[:-1] * len(members)).astype(int)
        for split, part in zip(SPLITS, np.split(np.asarray(members, dtype=int), cuts)):
            assignment.update({int(i): split for i in part})
    return {split: [entries[i] for i in sorted(assignment) if assignment[i] == split] for split in SPLITS}


def write_datalist(path: str | os.PathLike, splits: dict[str, list[dict]], description: str) -> None:
    """Write a MONAI datalist (``{"training": [...], "validation": [...], "test": [...]}``) atomically."""
    document = {"description": description, **{split: splits[split] for split in SPLITS}}
    atomic_write_text(path, json.dumps(document, indent=1))
