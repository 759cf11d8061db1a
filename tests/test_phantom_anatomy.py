"""The phantom's anatomy and rasteriser: truth consistency, partial volumes, labels, dimensions, rotation."""

import numpy as np
import pytest
import torch

from monai_spine.geometry import curves_from_volume
from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import (
    LEVEL_DIMS,
    LEVELS,
    SPINE_LEVELS,
    VERTEBRA_LABELS,
    Body,
    build_anatomy,
    level_label,
    level_spans,
    place_vertebrae,
    sample_body,
    spine_length_mm,
)
from monai_spine.phantom.materials import MATERIALS
from monai_spine.phantom.raster import rasterise
from monai_spine.phantom.shape import CoronalCurve, SpineShape, shape_centre_line

VOXEL = 3.0


def _straight_line(scale: float = 1.0) -> np.ndarray:
    z = np.linspace(0.0, spine_length_mm(scale), 1001)
    return np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=1)


def _curved_line() -> np.ndarray:
    shape = SpineShape(
        length_mm=spine_length_mm(), coronal=(CoronalCurve(20.0, (0.2, 0.6)),), kyphosis_deg=35.0, lordosis_deg=45.0
    )
    return shape_centre_line(shape, n_points=1001)


def _spine_grid(line: np.ndarray, margin=(45.0, 45.0, 10.0), spacing: float = VOXEL) -> Grid:
    return Grid.covering(line.min(0) - margin, line.max(0) + margin, (spacing,) * 3)


@pytest.fixture(scope="module")
def torso_raster():
    line = _curved_line()
    grid = Grid.covering((-200.0, -150.0, -60.0), (200.0, 150.0, 640.0), (VOXEL,) * 3)
    return grid, rasterise(build_anatomy(line, Body(), None, np.random.default_rng(0)), grid)


def test_labels_are_totalsegmentator_v2_names_and_ids():
    assert list(VERTEBRA_LABELS)[:2] == ["vertebrae_C7", "vertebrae_T1"]
    assert list(VERTEBRA_LABELS)[-2:] == ["vertebrae_L5", "sacrum"]
    # TotalSegmentator v2: 26 sacrum, 27 L5 … 31 L1, 32 T12 … 43 T1, 44 C7 … 50 C1 (one id less per level down)
    assert list(VERTEBRA_LABELS.values()) == list(range(44, 44 - len(LEVELS), -1))
    assert (level_label("C1"), level_label("C7"), level_label("T1"), level_label("T12")) == (50, 44, 43, 32)
    assert (level_label("L1"), level_label("L5"), level_label("sacrum")) == (31, 27, 26)


def test_spine_length_is_bodies_and_discs_and_placement_fills_the_line():
    length = spine_length_mm()
    assert length == pytest.approx(sum(LEVEL_DIMS[n].body_height + LEVEL_DIMS[n].disc_height for n in SPINE_LEVELS))
    assert 430.0 < length < 530.0
    spans = level_spans()
    assert spans["C7"][0] == 0.0 and spans["L5"][1] == pytest.approx(1.0)
    line = _curved_line()
    vertebrae = place_vertebrae(line)
    assert [v.name for v in vertebrae] == list(LEVELS)
    assert np.allclose(vertebrae[0].superior_endplate, line[0], atol=1e-6)
    assert np.allclose(vertebrae[-1].superior_endplate, line[-1], atol=1e-6)  # sacrum hangs from the line's end
    for v in vertebrae:
        assert np.allclose(v.axes.T @ v.axes, np.eye(3), atol=1e-9) and np.linalg.det(v.axes) == pytest.approx(1.0)


def test_spine_mask_centroid_follows_the_centre_line():
    line = _curved_line()
    grid = _spine_grid(line)
    raster = rasterise(build_anatomy(line), grid)
    measured = curves_from_volume(raster.spine_mask.cpu().numpy(), grid.spacing).centre_line + np.asarray(grid.origin)
    z = measured[:, 2]
    inner = (z > 20.0) & (z < line[-1, 2] - 20.0)  # away from the tilted end plates of C7 and S1
    for axis in (0, 1):
        expected = np.interp(z[inner], line[:, 2], line[:, axis])
        assert np.abs(measured[inner, axis] - expected).max() <= 0.5 * VOXEL
    assert measured[0, 2] <= VOXEL and measured[-1, 2] >= line[-1, 2] - VOXEL


def test_fractions_are_partitions_and_labels_run_top_to_bottom(torso_raster):
    grid, raster = torso_raster
    f = raster.fractions
    assert f.dtype == torch.float32 and f.shape == (len(MATERIALS),) + tuple(grid.shape)
    assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0
    assert torch.allclose(f.sum(0), torch.ones(grid.shape), atol=1e-5)
    volume_ml = f.sum(dim=(1, 2, 3)) * VOXEL**3 / 1000.0
    for material in MATERIALS:
        assert volume_ml[MATERIALS.index(material)] > 10.0, material  # every tissue is there
    labels = raster.vertebra_labels
    assert labels.dtype == torch.uint8 and raster.spine_mask.dtype == torch.bool
    top_to_bottom = [level_label(name) for name in LEVELS]  # TotalSegmentator ids: 44 (C7) down to 26 (sacrum)
    assert torch.unique(labels).tolist() == [0] + sorted(top_to_bottom)
    z_index = torch.arange(grid.shape[2], dtype=torch.float64)
    mean_z = [float((labels == k).sum(dim=(0, 1)).double() @ z_index / (labels == k).sum()) for k in top_to_bottom]
    assert np.all(np.diff(mean_z) > 0)
    assert not (raster.spine_mask & (labels == level_label("sacrum"))).any()  # the column stops at the top of S1


@pytest.mark.parametrize("level", ["T8", "L2"])
def test_body_width_and_depth_match_the_table(level):
    line = _straight_line()
    anatomy = build_anatomy(line)
    vertebra = anatomy.vertebrae[LEVELS.index(level)]
    grid = _spine_grid(line)
    raster = rasterise(anatomy, grid)
    body = (raster.spine_mask & (raster.vertebra_labels == vertebra.label)).cpu().numpy()
    z = grid.axis(2).numpy()
    inside = (z > vertebra.superior_endplate[2] + VOXEL) & (z < vertebra.inferior_endplate[2] - VOXEL)
    width = max(body[:, :, k].any(axis=1).sum() for k in np.flatnonzero(inside)) * VOXEL
    depth = max(body[:, :, k].any(axis=0).sum() for k in np.flatnonzero(inside)) * VOXEL
    assert width == pytest.approx(LEVEL_DIMS[level].endplate_width, abs=VOXEL)
    assert depth == pytest.approx(LEVEL_DIMS[level].endplate_depth, abs=VOXEL)


def _process_direction_deg(raster, grid: Grid, label: int) -> float:
    """Direction of the posterior elements' centroid from the body's, degrees from posterior toward +x (left)."""
    labels, column = raster.vertebra_labels.cpu().numpy(), raster.spine_mask.cpu().numpy()
    x, y = (grid.axis(d).numpy() for d in (0, 1))
    centroids = []
    for part in ((labels == label) & column, (labels == label) & ~column):
        ix, iy, _ = np.nonzero(part)
        centroids.append((x[ix].mean(), y[iy].mean()))
    (bx, by), (px, py) = centroids
    return float(np.degrees(np.arctan2(px - bx, -(py - by))))


def test_axial_rotation_turns_the_spinous_process():
    line = _straight_line()
    grid = _spine_grid(line, margin=(60.0, 80.0, 10.0))
    level = "L1"
    directions = {}
    for angle in (0.0, 20.0):
        raster = rasterise(build_anatomy(line, axial_rotation_deg=lambda z, a=angle: np.full_like(z, a)), grid)
        directions[angle] = _process_direction_deg(raster, grid, level_label(level))
    assert directions[0.0] == pytest.approx(0.0, abs=1.0)
    # a positive rotation turns the body toward the left, so the spinous process toward the right (−x)
    assert directions[20.0] - directions[0.0] == pytest.approx(-20.0, abs=2.0)


def test_same_seed_gives_the_same_raster():
    line = _curved_line()
    grid = Grid.covering((-60.0, -80.0, 250.0), (60.0, 60.0, 560.0), (4.0,) * 3)

    def make(seed: int):
        rng = np.random.default_rng(seed)
        return rasterise(build_anatomy(line, sample_body(rng), None, rng), grid)

    a, b, c = make(5), make(5), make(6)
    assert torch.equal(a.fractions, b.fractions)
    assert torch.equal(a.vertebra_labels, b.vertebra_labels) and torch.equal(a.spine_mask, b.spine_mask)
    assert not torch.equal(a.fractions, c.fractions)


def test_bad_parameters_raise_clear_errors():
    line = _straight_line()
    with pytest.raises(ValueError, match="scale"):
        spine_length_mm(-1.0)
    with pytest.raises(ValueError, match="scale"):
        place_vertebrae(line, scale=-1.0)
    with pytest.raises(ValueError, match="unknown level 'T13'"):
        level_label("T13")
    with pytest.raises(ValueError, match="fat_mm"):
        Body(fat_mm=-2.0)
    with pytest.raises(ValueError, match="arc length"):
        place_vertebrae(line[: len(line) // 2])
    with pytest.raises(ValueError, match="one value per centre-line point"):
        place_vertebrae(line, axial_rotation_deg=np.zeros(3))
    with pytest.raises(ValueError, match="supersample"):
        rasterise(build_anatomy(line), _spine_grid(line, spacing=10.0), supersample=0)
