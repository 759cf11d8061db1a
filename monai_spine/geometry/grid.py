"""Voxel grids whose axes run along the patient frame: the phantom's volumes and every volume projected by a DRR.

The **phantom frame** has the patient axes of ``docs/frames.md`` (x toward the left, y anterior, z toward the
feet, mm) with its origin on the spine: z = 0 at the top of the centre line, x and y at the centre line's
mean. Every image of a synthetic study is a grid or a projection in this frame, so its truth is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """A regular grid whose voxel axes run along the phantom frame's x, y, z (the ``LAI`` orientation).

    Args:
        shape: voxels along x, y, z.
        spacing: voxel size along x, y, z, mm.
        origin: phantom-frame position (mm) of the centre of voxel ``(0, 0, 0)``.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    @classmethod
    def covering(cls, low_mm, high_mm, spacing) -> Grid:
        """The smallest grid with ``spacing`` whose voxel centres cover the box ``[low_mm, high_mm]``."""
        low, high, spacing = (np.asarray(v, dtype=np.float64) for v in (low_mm, high_mm, spacing))
        shape = np.ceil((high - low) / spacing).astype(int) + 1
        return cls(tuple(int(n) for n in shape), tuple(float(s) for s in spacing), tuple(float(o) for o in low))

    def axis(self, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """Phantom-frame coordinates (mm) of the voxel centres along axis ``dim``, shape ``(shape[dim],)``."""
        index = torch.arange(self.shape[dim], device=device, dtype=torch.float64)
        return (self.origin[dim] + index * self.spacing[dim]).to(dtype)

    def to_index(self, points_mm) -> np.ndarray:
        """Phantom-frame points ``(..., 3)`` mm → continuous voxel indices ``(..., 3)``."""
        return (np.asarray(points_mm, dtype=np.float64) - self.origin) / self.spacing

    def to_mm(self, index) -> np.ndarray:
        """Continuous voxel indices ``(..., 3)`` → phantom-frame points ``(..., 3)`` mm."""
        return np.asarray(index, dtype=np.float64) * self.spacing + self.origin

    def affine_ras(self) -> np.ndarray:
        """4×4 voxel → RAS-mm affine (NIfTI, MONAI), with the phantom origin at RAS ``(0, 0, 0)``.

        Phantom x (left) is RAS −x, y (anterior) is RAS +y, z (feet) is RAS −z.
        """
        flips = np.array([-1.0, 1.0, -1.0])
        affine = np.eye(4)
        affine[:3, :3] = np.diag(flips * self.spacing)
        affine[:3, 3] = flips * np.asarray(self.origin)
        return affine
