"""Rigid 2D maps as 3×3 homogeneous matrices of ``(x, z, 1)`` mm, and their SimpleITK form.

Alignment keeps one matrix, **MRI coronal frame → DXA frame** (``alignment.json``'s ``matrix_mri_to_dxa``).
SimpleITK's registration and resampling want the other direction: a transform from the fixed image (the DXA)
to the moving one (the MRI), which :func:`to_sitk` and :func:`from_sitk` convert to and from.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from monai_spine.geometry.pose import apply_matrix, rigid_matrix, rotation_deg

__all__ = ["rigid_matrix", "rotation_deg", "apply_matrix", "to_sitk", "from_sitk"]


def to_sitk(matrix_mri_to_dxa, centre_mm=(0.0, 0.0)) -> sitk.Euler2DTransform:
    """The DXA → MRI ``Euler2DTransform`` (fixed → moving) of an MRI → DXA matrix, rotating about ``centre_mm``.

    The centre (DXA frame) does not change the map, only how an optimiser's parameters move it: at the spine,
    rotation and translation are nearly independent. The angle is taken from the matrix's first column, so a
    rounded matrix (e.g. read from JSON) is accepted.
    """
    inverse = np.linalg.inv(np.asarray(matrix_mri_to_dxa, dtype=np.float64))
    angle = rotation_deg(inverse)
    centre = np.asarray(centre_mm, dtype=np.float64)
    offset = inverse[:2, 2] - centre + rigid_matrix(angle)[:2, :2] @ centre
    return sitk.Euler2DTransform(centre.tolist(), np.deg2rad(angle), offset.tolist())


def from_sitk(transform: sitk.Transform) -> np.ndarray:
    """The MRI → DXA matrix of a DXA → MRI (fixed → moving) rigid SimpleITK transform."""
    transform = sitk.Euler2DTransform(transform)
    centre = np.asarray(transform.GetCenter())
    rotation = np.asarray(transform.GetMatrix()).reshape(2, 2)
    forward = np.eye(3)
    forward[:2, :2] = rotation
    forward[:2, 2] = centre - rotation @ centre + np.asarray(transform.GetTranslation())
    return np.linalg.inv(forward)
