"""``monai_spine.geometry.pose``: rigid resampling between grids, the posed grid, and the MRI → DXA matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.geometry.pose import MriPose, matrix_mri_to_dxa, posed_grid, resample_rigid

GRID = Grid((30, 25, 40), (1.5, 1.5, 2.0), (0.0, 0.0, 0.0))


def _rotation(degrees_xyz) -> np.ndarray:
    rx, ry, rz = np.deg2rad(degrees_xyz)
    about_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
    about_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    about_z = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
    return about_z @ about_y @ about_x


def test_a_voxel_moves_to_r_p_plus_t():
    """A lone voxel at ``p`` is found at ``R p + t`` on another grid: the peak of the interpolated values."""
    volume = torch.zeros(1, *GRID.shape)
    volume[0, 10, 12, 20] = 1.0
    rotation, shift = _rotation((3.0, -2.0, 5.0)), np.array([4.0, -3.0, 7.0])
    moved = rotation @ GRID.to_mm([10, 12, 20]) + shift
    target = Grid((5, 5, 5), (1.0, 1.0, 1.0), tuple(moved - 2.0))
    out = resample_rigid(volume, GRID, target, rotation, shift)
    assert out[0, 2, 2, 2] == pytest.approx(1.0, abs=1e-4)
    assert int(out.argmax()) == np.ravel_multi_index((0, 2, 2, 2), out.shape)


def test_identity_on_a_sub_grid_is_a_crop_and_outside_is_zero():
    volume = torch.rand(2, *GRID.shape)
    target = Grid((30, 25, 10), GRID.spacing, (0.0, 0.0, 20.0))
    out = resample_rigid(volume, GRID, target, np.eye(3), np.zeros(3), mode="nearest")
    assert torch.allclose(out, volume[..., 10:20])
    outside = Grid((3, 3, 3), (1.0, 1.0, 1.0), (-50.0, -50.0, -50.0))
    assert resample_rigid(volume, GRID, outside, np.eye(3), np.zeros(3)).abs().max() == 0.0


def test_posed_grid_covers_the_moved_box_and_the_matrix_undoes_the_pose():
    pose = MriPose(1.5, (12.0, -8.0), (20.0, 40.0))
    target = posed_grid(GRID, pose, (2.232, 2.232, 3.0))
    corners = np.array([[x, 0.0, z] for x in (0.0, 43.5) for z in (0.0, 78.0)])
    moved = pose.apply(corners)
    assert np.all(moved[:, [0, 2]] >= np.asarray(target.origin)[[0, 2]] - 1e-9)
    assert np.all(moved[:, [0, 2]] <= target.to_mm(np.asarray(target.shape) - 1)[[0, 2]] + 1e-9)
    rotation, shift = pose.rigid()
    assert np.allclose(rotation @ corners.T + shift[:, None], moved.T)
    dxa_origin = np.array([-5.0, 10.0])
    mri_origin = np.array([target.origin[0], target.origin[2]])
    point = np.array([30.0, 0.0, 50.0])  # DXA patient frame
    in_mri = pose.apply(point)[[0, 2]] - mri_origin  # MRI coronal frame
    matrix = matrix_mri_to_dxa(pose, mri_origin, dxa_origin)
    assert np.allclose(matrix @ [*in_mri, 1.0], [*(point[[0, 2]] - dxa_origin), 1.0])
