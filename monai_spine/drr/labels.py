"""A labelled CT: the CT (HU) and its vertebra labels on one grid, read and checked, with the levels named.

Label schemes map label ids to level names (``"C1"`` … ``"L6"``, ``"T13"``, ``"S1"``):

- ``"totalseg"`` (TotalSegmentator v2): 26 S1, 27 L5 … 31 L1, 32 T12 … 43 T1, 44 C7 … 50 C1;
- ``"verse"`` (VerSe): 1 C1 … 7 C7, 8 T1 … 19 T12, 20 L1 … 24 L5, 25 L6, 26 S1 (sacrum), 28 T13.

Everything is in the **patient volume frame** of ``docs/frames.md`` (the CT reoriented to ``LAI``, mm from the
centre of its first voxel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from monai.data.utils import affine_to_spacing

from monai_spine.errors import SpineInputError
from monai_spine.geometry import Grid
from monai_spine.transforms import LoadVolume

__all__ = ["LABEL_SCHEMES", "LEVEL_ORDER", "LabelledCT", "read_labelled_ct"]

_CERVICAL = [f"C{i}" for i in range(1, 8)]
_THORACIC = [f"T{i}" for i in range(1, 13)]
_LUMBAR = [f"L{i}" for i in range(1, 6)]

LEVEL_ORDER = (*_CERVICAL, *_THORACIC, "T13", *_LUMBAR, "L6", "S1")
"""Every level a scheme can name, head to feet."""

LABEL_SCHEMES = {
    "totalseg": {26: "S1", **{27 + i: name for i, name in enumerate(_LUMBAR[::-1])},
                 **{32 + i: name for i, name in enumerate(_THORACIC[::-1])},
                 **{44 + i: name for i, name in enumerate(_CERVICAL[::-1])}},
    "verse": {**{1 + i: name for i, name in enumerate(_CERVICAL + _THORACIC + _LUMBAR)}, 25: "L6", 26: "S1",
              28: "T13"},
}
"""Label id → level name, per scheme."""

_AFFINE_TOL_MM = 1e-3


@dataclass(frozen=True)
class LabelledCT:
    """A CT and its vertebra labels on ``grid`` (patient volume frame, origin at the first voxel's centre).

    Args:
        hu: ``(X, Y, Z)`` float32 CT numbers.
        labels: ``(X, Y, Z)`` int16 level index into :data:`LEVEL_ORDER` plus one (0: background).
        grid: the voxel grid, mm.
        ids: level name → the label id in the input file, for the levels present.
        source: the CT's file (or folder) name.
    """

    hu: torch.Tensor
    labels: torch.Tensor
    grid: Grid
    ids: dict[str, int]
    source: str

    @property
    def levels(self) -> list[str]:
        """The levels present, head to feet."""
        return [name for name in LEVEL_ORDER if name in self.ids]


def _load(path: str | os.PathLike, loader: LoadVolume):
    if not os.path.exists(path):
        raise SpineInputError(path, "no such file or folder")
    return loader(path)


def read_labelled_ct(
    ct_path: str | os.PathLike, labels_path: str | os.PathLike, scheme: str = "totalseg"
) -> LabelledCT:
    """Read a CT (NIfTI or DICOM series) and its label volume, check them, and name the levels.

    Raises:
        SpineInputError: an unreadable or 2D file, labels on another grid (shape or affine), no vertebra label
            of ``scheme``.
    """
    if scheme not in LABEL_SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(LABEL_SCHEMES)}, got {scheme!r}.")
    ct = _load(ct_path, LoadVolume())
    labels = _load(labels_path, LoadVolume(dtype=np.float32))
    if tuple(ct.shape) != tuple(labels.shape):
        raise SpineInputError(
            labels_path, f"labels of shape {tuple(labels.shape[1:])} are not on the CT's grid {tuple(ct.shape[1:])}"
        )
    if not torch.allclose(ct.affine, labels.affine, atol=_AFFINE_TOL_MM):
        raise SpineInputError(labels_path, "labels are not on the CT's grid (their affine differs)")
    ids = labels[0].round().to(torch.int64)
    counts = torch.bincount(ids.flatten().clamp(min=0))  # a count per id: far faster than a sort (unique)
    present = set(torch.nonzero(counts).flatten().tolist())
    names = {name: label for label, name in LABEL_SCHEMES[scheme].items() if label in present}
    if not names:
        raise SpineInputError(
            labels_path,
            f"no vertebra labels of the {scheme!r} scheme "
            f"(ids {min(LABEL_SCHEMES[scheme])}-{max(LABEL_SCHEMES[scheme])})",
        )
    level_index = torch.zeros(int(ids.max()) + 1 if ids.max() > 0 else 1, dtype=torch.int16)
    for name, label in names.items():
        level_index[label] = LEVEL_ORDER.index(name) + 1
    levels = level_index[ids.clamp(min=0)]
    grid = Grid(tuple(ct.shape[1:]), tuple(affine_to_spacing(ct.affine, r=3).tolist()), (0.0, 0.0, 0.0))
    return LabelledCT(ct[0].as_tensor().float(), levels, grid, names, os.path.basename(os.path.normpath(ct_path)))
