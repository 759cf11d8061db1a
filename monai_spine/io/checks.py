"""Checks of input files and arrays shared by the 2D and 3D readers, ``convert`` and the commands.

Each turns a failure into a :class:`~monai_spine.errors.SpineInputError` whose text is one line a user can act on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monai_spine.errors import SpineInputError, warn

__all__ = [
    "MAX_IMAGE_PIXELS",
    "MAX_VOLUME_VOXELS",
    "check_file",
    "check_finite_and_not_blank",
    "check_image_size",
    "check_same_grid",
]

MAX_IMAGE_PIXELS = 2**27
"""Largest 2D image read, in pixels (about 11585 × 11585): a stitched full-spine radiograph of 450 × 1000 mm at
0.1 mm is 45 million; a header declaring more is damaged, or the image would not fit the memory of the route."""

MAX_VOLUME_VOXELS = 2**30
"""Largest volume (or multi-frame file) read, in voxels (4 GiB as float32): a whole-body CT of 512 × 512 × 2000 is
half of it."""


def check_file(path: str | os.PathLike, *, folder_ok: bool = False) -> Path:
    """Check that ``path`` exists and is a non-empty readable file (or, with ``folder_ok``, a folder).

    Raises:
        SpineInputError: missing path, a folder where a file is expected, an empty or unreadable file.
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise SpineInputError(path, "no such file or folder")
    if p.is_dir():
        if folder_ok:
            if not os.access(p, os.R_OK | os.X_OK):
                raise SpineInputError(path, "folder cannot be read (permission denied)")
            return p
        raise SpineInputError(path, "is a folder; a single image file (DICOM or NIfTI) is expected")
    if not p.is_file():
        raise SpineInputError(path, "not a regular file")
    if p.stat().st_size == 0:
        raise SpineInputError(path, "empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise SpineInputError(path, "file cannot be read (permission denied)")
    return p


def check_image_size(shape: Sequence[int], path: str | os.PathLike, limit: int, *, unit: str = "pixels") -> None:
    """Refuse an image whose declared ``shape`` has an axis under 1 or more than ``limit`` elements.

    Run on the header's shape *before* the pixels are read, so that a damaged header (say 65535 × 65535 with a few
    kilobytes of data) is refused at once instead of allocating gigabytes.

    Raises:
        SpineInputError: ``"declared image size 65535×65535 (4294836225 pixels) is over the limit of ..."``.
    """
    dims = [int(s) for s in shape]
    text = "×".join(map(str, dims))
    if any(s < 1 for s in dims):
        raise SpineInputError(path, f"declared image size {text} has an empty or negative axis")
    n = math.prod(dims)
    if n > limit:
        raise SpineInputError(path, f"declared image size {text} ({n} {unit}) is over the limit of {limit} {unit}: "
                                    "a damaged header, or an image too large to read")


def check_finite_and_not_blank(
    arr: np.ndarray, path: str | os.PathLike, *, unit: str = "pixels", notes: list[str] | None = None
) -> np.ndarray:
    """Refuse arrays that are all NaN/infinite or hold one value everywhere (a blank image).

    Some NaN/infinite values among finite ones (a masked map) are set to the lowest finite value, with a
    warning recorded in ``notes``.

    Returns:
        ``arr``, or a float copy with the non-finite values replaced.
    """
    n = int(arr.size)
    if n == 0:
        raise SpineInputError(path, f"image has no {unit}")
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        bad = n - int(np.count_nonzero(finite))
        if bad == n:
            kind = "NaN" if np.isnan(arr).all() else "NaN or infinite"
            raise SpineInputError(path, f"all {n} {unit} are {kind}")
        if bad:
            low = arr[finite].min()
            arr = np.where(finite, arr, low)
            warn(path, f"{bad} of {n} {unit} are NaN or infinite: set to the lowest finite value ({float(low):g})",
                 notes)
    lo, hi = arr.min(), arr.max()
    if lo == hi:
        v = float(lo)
        if v == 0:
            raise SpineInputError(path, f"all {n} {unit} are 0: the image is blank")
        raise SpineInputError(path, f"all {n} {unit} have the same value ({v:g}): the image is blank")
    return arr


def check_same_grid(mask, image, path: str | os.PathLike) -> None:
    """Raise :class:`SpineInputError` unless ``mask`` lies on ``image``'s pixels: same shape and affine (1 µm)."""
    if tuple(mask.shape) != tuple(image.shape) or not np.allclose(mask.affine, image.affine, atol=1e-3):
        raise SpineInputError(path, f"the mask's grid {tuple(mask.shape[1:])} does not match its image's "
                                    f"{tuple(image.shape[1:])} (shape or spacing)")

