"""MONAI datalists for synthetic cohorts: training / validation / test splits balanced for scoliosis."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .files import atomic_write_text

__all__ = ["SPLITS", "merge_datalists", "split_balanced", "write_datalist", "write_folds"]

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


def merge_datalists(
    path: str | os.PathLike,
    sources: Mapping[str | os.PathLike, Mapping[str, str] | None],
    description: str,
) -> dict[str, list[dict]]:
    """Write at ``path`` one MONAI datalist of the entries of several (e.g. a phantom cohort and ``drr`` renders).

    Every string value of an entry that names an existing file or folder relative to its own datalist's folder (the
    image and mask paths, and the study folder named by ``id``) is rewritten relative to ``path``'s folder, so the
    merged list reads the same files and its ids stay unique across sources.

    Args:
        path: the merged datalist file.
        sources: ``{datalist file: {its split: split in the merged list}}``; a split not named (or ``None`` for
            all) keeps its own name, e.g. ``{"test": "training"}`` trains on a cohort's test studies too.
        description: the merged list's ``description``.

    Returns:
        the merged splits (:data:`SPLITS`), as written (``path``'s folder is created if needed).
    """
    target = Path(path).parent
    target.mkdir(parents=True, exist_ok=True)
    merged: dict[str, list[dict]] = {split: [] for split in SPLITS}
    for source, split_map in sources.items():
        folder = Path(source).parent
        document = json.loads(Path(source).read_text())
        for split in SPLITS:
            for entry in document.get(split, []):
                rebased = {
                    key: os.path.relpath(folder / value, target)
                    if isinstance(value, str) and (folder / value).exists()
                    else value
                    for key, value in entry.items()
                }
                merged[(split_map or {}).get(split, split)].append(rebased)
    write_datalist(path, merged, description)
    return merged


def write_folds(datalist: str | os.PathLike, n_folds: int = 5, seed: int = 0) -> list[Path]:
    """Cross-validation datalists of a datalist: its training and validation entries cut in ``n_folds`` folds
    (shuffled with ``seed``, balanced for ``scoliotic`` when entries have it); fold ``i`` validates on part ``i``
    and trains on the others; ``test`` is kept as it is. Written beside it as ``<name>_fold<i>.json`` (paths in the
    entries stay relative to the same folder).

    Returns:
        the fold files, in order.
    """
    path = Path(datalist)
    document = json.loads(path.read_text())
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}.")
    pool = document.get("training", []) + document.get("validation", [])
    if len(pool) < n_folds:
        raise ValueError(f"{path}: {len(pool)} training and validation entries, fewer than {n_folds} folds.")
    rng = np.random.default_rng(seed)
    fold_of = {}
    for stratum in (True, False):
        members = [i for i, entry in enumerate(pool) if bool(entry.get("scoliotic", False)) == stratum]
        rng.shuffle(members)
        fold_of.update({int(i): k % n_folds for k, i in enumerate(members)})
    files = []
    for fold in range(n_folds):
        splits = {"training": [e for i, e in enumerate(pool) if fold_of[i] != fold],
                  "validation": [e for i, e in enumerate(pool) if fold_of[i] == fold],
                  "test": document.get("test", [])}
        files.append(path.with_name(f"{path.stem}_fold{fold}.json"))
        write_datalist(files[-1], splits, f"{document.get('description', path.name)}: fold {fold} of {n_folds}")
    return files
