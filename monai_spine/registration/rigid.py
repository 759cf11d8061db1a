"""Rigid 2D maps as 3×3 homogeneous matrices of ``(x, z, 1)`` mm, and their SimpleITK form.

Alignment keeps one matrix, **MRI coronal frame → DXA frame** (``alignment.json``'s ``matrix_mri_to_dxa``).
SimpleITK's registration and resampling want the other direction: a transform from the fixed image (the DXA)
to the moving one (the MRI), which :func:`to_sitk` and :func:`from_sitk` convert to and from.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

__all__ = ["rigid_matrix", "rotation_deg", "apply_matrix", "to_sitk", "from_sitk"]


def rigid_matrix(angle_deg: float, translation_mm=(0.0, 0.0), centre_mm=(0.0, 0.0)) -> np.ndarray:
    """``p ↦ R (p − c) + c + t`` as a 3×3 matrix; ``R`` turns +x toward +z by ``angle_deg`` (as SimpleITK's)."""
    a = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.asarray(centre_mm, dtype=np.float64)
    matrix = np.eye(3)
    matrix[:2, :2] = rotation
    matrix[:2, 2] = centre - rotation @ centre + np.asarray(translation_mm, dtype=np.float64)
    return matrix


def rotation_deg(matrix) -> float:
    """The rotation angle of a rigid 3×3 matrix, degrees (+x toward +z)."""
    return float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))


def apply_matrix(matrix, points) -> np.ndarray:
    """Map ``(N, 2)`` points ``(x, z)`` mm by a 3×3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(matrix)[:2, :2].T + np.asarray(matrix)[:2, 2]


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
