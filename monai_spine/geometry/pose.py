"""Moving a patient between two acquisitions: the in-plane rigid move between a DXA and an MRI, the grid that
covers a posed volume, and resampling a volume of one grid onto another through a rigid map.

Every position is in mm in the patient frames of ``docs/frames.md`` (x toward the patient's left, y anterior,
z toward the feet); grids are :class:`~monai_spine.geometry.grid.Grid` (``LAI`` voxel axes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .grid import Grid

__all__ = [
    "UKB_SPACING_MM",
    "MriPose",
    "apply_matrix",
    "matrix_mri_to_dxa",
    "posed_grid",
    "resample_rigid",
    "rigid_matrix",
    "rotation_deg",
]

UKB_SPACING_MM = (2.232, 2.232, 3.0)
"""UK Biobank Dixon voxel size (x, y, z), mm: 2.232 mm in-plane, 3 mm slices (West et al. 2016)."""


@dataclass(frozen=True)
class MriPose:
    """The rigid in-plane (coronal) move of the patient between the DXA and the MRI.

    A DXA patient-frame point ``p`` lies in the MRI patient frame at ``q = R (p − c) + c + t`` in ``(x, z)``;
    ``y`` is unchanged. ``R`` turns +x (patient's left) toward +z (feet) by ``rotation_deg``: clockwise on a
    standard coronal display (x to the right, z down).

    Args:
        rotation_deg: rotation about the y axis through ``centre_mm``, degrees.
        translation_mm: ``t = (tx, tz)``, mm.
        centre_mm: ``c``, the ``(x, z)`` the rotation turns about, mm.
    """

    rotation_deg: float = 0.0
    translation_mm: tuple[float, float] = (0.0, 0.0)
    centre_mm: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        values = [self.rotation_deg, *self.translation_mm, *self.centre_mm]
        if len(values) != 5 or not np.all(np.isfinite(values)):
            raise ValueError(f"MriPose needs a finite angle and (x, z) pairs, got {self}.")

    @classmethod
    def sample(
        cls,
        generator: torch.Generator,
        max_rotation_deg: float = 5.0,
        max_translation_mm: float = 20.0,
        centre_mm=(0.0, 0.0),
    ) -> MriPose:
        """A uniform random pose within ``±max_rotation_deg`` and ``±max_translation_mm`` (each of x, z)."""
        u = torch.rand(3, generator=generator, device=generator.device, dtype=torch.float64).tolist()
        return cls(
            rotation_deg=max_rotation_deg * (2.0 * u[0] - 1.0),
            translation_mm=(max_translation_mm * (2.0 * u[1] - 1.0), max_translation_mm * (2.0 * u[2] - 1.0)),
            centre_mm=(float(centre_mm[0]), float(centre_mm[1])),
        )

    def matrix(self) -> np.ndarray:
        """3×3 homogeneous map of ``(x, z, 1)``: DXA patient frame → MRI patient frame, mm."""
        a = np.deg2rad(self.rotation_deg)
        rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        centre = np.asarray(self.centre_mm)
        out = np.eye(3)
        out[:2, :2] = rotation
        out[:2, 2] = centre - rotation @ centre + np.asarray(self.translation_mm)
        return out

    def rigid(self) -> tuple[np.ndarray, np.ndarray]:
        """The pose as a 3D map ``p ↦ R p + t``: ``R (3, 3)`` (a rotation about y) and ``t (3,)`` mm."""
        matrix = self.matrix()
        rotation, shift = np.eye(3), np.zeros(3)
        rotation[np.ix_([0, 2], [0, 2])] = matrix[:2, :2]
        shift[[0, 2]] = matrix[:2, 2]
        return rotation, shift

    def apply(self, points) -> np.ndarray:
        """``(..., 3)`` DXA patient-frame points → MRI patient frame, mm."""
        return _apply_xz(self.matrix(), points)

    def invert(self, points) -> np.ndarray:
        """``(..., 3)`` MRI patient-frame points → DXA patient frame, mm."""
        return _apply_xz(np.linalg.inv(self.matrix()), points)


def _apply_xz(matrix: np.ndarray, points) -> np.ndarray:
    """Apply a 3×3 ``(x, z, 1)`` map to ``(..., 3)`` points, leaving y."""
    out = np.array(points, dtype=np.float64)
    xz = out[..., [0, 2]] @ matrix[:2, :2].T + matrix[:2, 2]
    out[..., 0], out[..., 2] = xz[..., 0], xz[..., 1]
    return out


def posed_grid(grid: Grid, pose: MriPose, spacing, margin_mm: float = 0.0) -> Grid:
    """A grid of ``spacing`` voxels (mm) covering ``grid``'s box once moved by ``pose``, widened by ``margin_mm``
    on every side (the MRI patient frame)."""
    if len(spacing) != 3 or min(spacing) <= 0.0:
        raise ValueError(f"spacing must be 3 positive voxel sizes (mm), got {spacing}.")
    low, high = np.asarray(grid.origin), np.asarray(grid.to_mm(np.asarray(grid.shape) - 1))
    margin = np.full(3, margin_mm)
    corners = np.array([[x, 0.0, z] for x in (low[0], high[0]) for z in (low[2], high[2])])
    moved = pose.apply(corners)
    box_low = np.array([moved[:, 0].min(), low[1], moved[:, 2].min()]) - margin
    box_high = np.array([moved[:, 0].max(), high[1], moved[:, 2].max()]) + margin
    return Grid.covering(box_low, box_high, spacing)


def _index_to_normal(grid: Grid) -> np.ndarray:
    """4×4 map of voxel indices to ``grid_sample``'s normalised coordinates (``align_corners=True``), x, y, z."""
    half = np.maximum(np.asarray(grid.shape) - 1, 1) / 2.0
    out = np.diag([*(1.0 / half), 1.0])
    out[:3, 3] = -1.0
    return out


def _mm_to_index(grid: Grid) -> np.ndarray:
    """4×4 map of frame points (mm) to ``grid``'s voxel indices."""
    out = np.diag([*(1.0 / np.asarray(grid.spacing)), 1.0])
    out[:3, 3] = -np.asarray(grid.origin) / np.asarray(grid.spacing)
    return out


def resample_rigid(
    volume: torch.Tensor, grid: Grid, target: Grid, rotation: np.ndarray, shift: np.ndarray, mode: str = "bilinear"
) -> torch.Tensor:
    """``(C, X, Y, Z)`` on ``grid`` → ``(C, X', Y', Z')`` on ``target`` for a patient moved by ``p ↦ R p + t``.

    Each target voxel centre ``q`` takes the value at ``R⁻¹ (q − t)`` (``grid_sample``: trilinear for
    ``mode="bilinear"``, ``"nearest"`` for labels; zero outside ``grid``). ``grid`` and ``target`` lie in one
    frame, mm; the map from the target's normalised coordinates to ``grid``'s is one affine (``affine_grid``).
    """
    unmove = np.eye(4)
    unmove[:3, :3], unmove[:3, 3] = rotation.T, -rotation.T @ np.asarray(shift, dtype=np.float64)
    to_source = (
        _index_to_normal(grid)
        @ _mm_to_index(grid)
        @ unmove
        @ np.linalg.inv(_mm_to_index(target))
        @ np.linalg.inv(_index_to_normal(target))
    )
    theta = np.concatenate([to_source[2::-1, 2::-1], to_source[2::-1, 3:]], axis=1)  # axes as (Z, Y, X)
    theta = torch.as_tensor(theta.copy(), dtype=volume.dtype, device=volume.device)[None]
    sampling = F.affine_grid(theta, [1, volume.shape[0], *target.shape], align_corners=True)
    return F.grid_sample(volume[None], sampling, mode=mode, align_corners=True)[0]


def matrix_mri_to_dxa(pose: MriPose, mri_origin_mm, dxa_origin_mm) -> np.ndarray:
    """3×3 homogeneous map: MRI coronal frame ``(x, z)`` mm → DXA image frame ``(x, z)`` mm (``alignment.json``'s).

    ``[[Rᵀ, Rᵀ(o_mri − c − t) + c − o_dxa], [0, 0, 1]]`` with ``R, c, t`` of ``pose``, ``o_mri`` the MRI grid's
    ``(x, z)`` origin in the MRI patient frame and ``o_dxa`` the DXA pixel ``(0, 0)`` in the DXA patient frame; its
    rotation is ``−pose.rotation_deg``.
    """
    to_patient = np.eye(3)
    to_patient[:2, 2] = mri_origin_mm
    to_dxa = np.eye(3)
    to_dxa[:2, 2] = -np.asarray(dxa_origin_mm, dtype=np.float64)
    return to_dxa @ np.linalg.inv(pose.matrix()) @ to_patient


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
