"""Where a cohort's DXA ↔ MRI pairs come from: a phantom datalist, a participant folder layout, or a CSV list.

Every reader returns :class:`PairSource` s in a stable order and checks only what makes the list unusable
(a missing list, no pairs, duplicate or unsafe ids): a pair whose files are missing or unreadable is still
listed, and fails on its own when it is built (``docs/cohort.md``).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monai_spine.errors import SpineInputError

__all__ = [
    "PairSource",
    "DXA_FILE",
    "MRI_CANDIDATES",
    "pairs_from_datalist",
    "pairs_from_folder",
    "pairs_from_csv",
    "check_pairs",
]

DXA_FILE = "dxa.dcm"
"""The DXA of a participant folder: one 2D DICOM file."""

MRI_CANDIDATES = ("mri.nii.gz", "mri.nii", "mri")
"""The MRI of a participant folder: the first of these that exists (``mri/`` is a DICOM series folder)."""

MASK_FILES = {"dxa_mask": "dxa_spine.nii.gz", "mri_mask": "mri_spine.nii.gz"}
"""Optional spine masks of a participant folder, used with ``use_given_masks``."""

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class PairSource:
    """One DXA ↔ MRI pair to build.

    Args:
        id: the pair's name, also its folder name under ``pairs/`` (letters, digits, ``.``, ``_``, ``-``).
        dxa: the coronal DXA (DICOM or 2D NIfTI).
        mri: the MRI volume (NIfTI or a DICOM series folder).
        dxa_mask, mri_mask: the spine masks on the images' grids, if given (used with ``use_given_masks``).
    """

    id: str
    dxa: str
    mri: str
    dxa_mask: str | None = None
    mri_mask: str | None = None


def _resolve(base: Path, value: str | None) -> str | None:
    """A path as written in a list, relative to ``base`` unless absolute."""
    return None if value in (None, "") else os.fspath(base / value)


def pairs_from_datalist(path: str | os.PathLike) -> list[PairSource]:
    """The pairs of a MONAI datalist such as the phantom's ``dataset.json``.

    Every entry of every list in the document (``training``, ``validation``, ``test``, ...) is a pair; it needs
    ``id``, ``dxa`` and ``mri``, and may have the masks ``dxa_spine`` and ``mri_spine``. Paths are relative to
    the datalist's folder.

    Raises:
        SpineInputError: the file is missing or not JSON, an entry lacks a key, or :func:`check_pairs` refuses
            the list.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpineInputError(path, f"cannot read the datalist: {err}") from None
    if not isinstance(document, dict):
        raise SpineInputError(path, "a datalist must hold a JSON object of lists")
    pairs = []
    for split, entries in document.items():
        if not isinstance(entries, list):
            continue
        for number, entry in enumerate(entries):
            missing = [key for key in ("id", "dxa", "mri") if not isinstance(entry, dict) or key not in entry]
            if missing:
                raise SpineInputError(path, f"{split} entry {number} has no {', '.join(missing)}")
            pairs.append(PairSource(str(entry["id"]), _resolve(path.parent, entry["dxa"]),
                                    _resolve(path.parent, entry["mri"]), _resolve(path.parent, entry.get("dxa_spine")),
                                    _resolve(path.parent, entry.get("mri_spine"))))
    check_pairs(pairs, path)
    return pairs


def _first_existing(folder: Path, names: Sequence[str]) -> Path:
    """The first of ``folder / name`` that exists, else the first one (which then fails to load, naming it)."""
    return next((folder / name for name in names if (folder / name).exists()), folder / names[0])


def _optional(path: Path) -> str | None:
    return os.fspath(path) if path.exists() else None


def pairs_from_folder(root: str | os.PathLike) -> list[PairSource]:
    """The pairs of a participant folder layout: one pair per subfolder ``ROOT/<participant id>/``.

    In each: the DXA :data:`DXA_FILE`; the MRI, the first of :data:`MRI_CANDIDATES`; optionally the masks
    ``dxa_spine.nii.gz`` and ``mri_spine.nii.gz``. Subfolders whose name starts with ``.`` are left out.

    Raises:
        SpineInputError: ``root`` is not a folder, has no subfolder, or has an unsafe folder name.
    """
    root = Path(root)
    if not root.is_dir():
        raise SpineInputError(root, "not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise SpineInputError(root, "no participant folders (expected ROOT/<participant id>/dxa.dcm and mri.nii.gz)")
    pairs = [
        PairSource(folder.name, os.fspath(folder / DXA_FILE), os.fspath(_first_existing(folder, MRI_CANDIDATES)),
                   **{key: _optional(folder / name) for key, name in MASK_FILES.items()})
        for folder in folders
    ]
    check_pairs(pairs, root)
    return pairs


def pairs_from_csv(path: str | os.PathLike) -> list[PairSource]:
    """The pairs of a CSV list with a header row: columns ``id``, ``dxa``, ``mri`` and optionally ``dxa_spine``,
    ``mri_spine``; paths relative to the CSV's folder. Blank lines are skipped.

    Raises:
        SpineInputError: the file is missing, lacks a column or a cell, or :func:`check_pairs` refuses the list.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows, columns = list(reader), reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SpineInputError(path, f"cannot read the pair list: {err}") from None
    missing = [column for column in ("id", "dxa", "mri") if column not in columns]
    if missing:
        raise SpineInputError(path, f"the pair list needs a header with columns id,dxa,mri "
                                    f"(missing {', '.join(missing)})")
    pairs = []
    for line, row in enumerate(rows, start=2):
        cells = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if not any(cells.values()):
            continue
        empty = [key for key in ("id", "dxa", "mri") if not cells[key]]
        if empty:
            raise SpineInputError(path, f"line {line} has no {', '.join(empty)}")
        pairs.append(PairSource(cells["id"], *(_resolve(path.parent, cells.get(key))
                                               for key in ("dxa", "mri", "dxa_spine", "mri_spine"))))
    check_pairs(pairs, path)
    return pairs


def check_pairs(pairs: Sequence[PairSource], where: str | os.PathLike) -> None:
    """Refuse a pair list that cannot be built: empty, or with unsafe or repeated ids.

    Raises:
        SpineInputError: naming ``where`` (the list's file or folder).
    """
    if not pairs:
        raise SpineInputError(where, "no pairs found")
    seen = set()
    for pair in pairs:
        if not _SAFE_ID.fullmatch(pair.id):
            raise SpineInputError(where, f"pair id {pair.id!r} is not a safe folder name (letters, digits, . _ -)")
        if pair.id in seen:
            raise SpineInputError(where, f"pair id {pair.id!r} appears twice")
        seen.add(pair.id)
