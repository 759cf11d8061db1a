"""Reading NIfTI files with nibabel: failures and colour images as one-line errors."""

from __future__ import annotations

import os

import numpy as np

from monai_spine.errors import SpineInputError, one_line

from .checks import MAX_VOLUME_VOXELS, check_file, check_image_size

__all__ = ["NIFTI_SUFFIXES", "is_nifti_path", "load_nifti", "nifti_array"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a NIfTI file by its suffix (``.nii`` or ``.nii.gz``, any case)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def load_nifti(path: str | os.PathLike):
    """``nibabel.load`` with failures turned into :class:`SpineInputError`; returns the nibabel image."""
    import nibabel as nib

    check_file(path)
    try:
        img = nib.load(os.fspath(path))
        _ = img.header.get_data_shape()
    except Exception as e:
        raise SpineInputError(path, f"not a readable NIfTI file ({one_line(e, 120)})") from e
    return img


def nifti_array(img, path: str | os.PathLike, *, limit: int = MAX_VOLUME_VOXELS) -> np.ndarray:
    """The voxel array of a nibabel image (scaling applied), failures as :class:`SpineInputError`.

    A header declaring more than ``limit`` voxels, or an empty axis, is refused before any voxel is read.
    """
    check_image_size(img.header.get_data_shape(), path, limit, unit="voxels")
    dt = img.get_data_dtype()
    if dt.names is not None or "RGB" in str(img.header.get_value_label("datatype")).upper():
        raise SpineInputError(path, "RGB image (colour NIfTI datatype); a monochrome image is expected")
    try:
        return np.asanyarray(img.dataobj)
    except Exception as e:
        raise SpineInputError(path, f"truncated or damaged NIfTI file ({one_line(e, 120)})") from e
