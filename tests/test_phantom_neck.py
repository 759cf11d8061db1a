"""The phantom's cervical spine (C1–C6 on a sampled lordosis), skull base and mandible."""

import numpy as np
import pytest
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import LEVEL_DIMS, build_anatomy, spine_length_mm
from monai_spine.phantom.anatomy.head_neck import (
    BASION_ABOVE_DENS_MM,
    CERVICAL_LORDOSIS_DEG,
    DENS_LENGTH_MM,
    place_cervical,
    sample_cervical_lordosis,
)
from monai_spine.phantom.materials import MATERIALS
from monai_spine.phantom.raster import rasterise, rasterise_column


def _straight_line() -> np.ndarray:
    z = np.linspace(0.0, spine_length_mm(), 1001)
    return np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=1)


def _sagittal_deg(direction) -> float:
    return float(np.degrees(np.arctan2(direction[1], direction[2])))


@pytest.mark.parametrize("lordosis", [10.0, 40.0])
def test_cervical_levels_stack_up_a_lordosis_from_c7(lordosis):
    neck = place_cervical(np.zeros(3), (0.0, 0.0, 1.0), 1.0, lordosis, None)
    names = [v.name for v in neck.vertebrae]
    assert names == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert not neck.vertebrae[0].has_body and all(v.has_body for v in neck.vertebrae[1:])
    z = [v.centre[2] for v in neck.vertebrae]
    assert np.all(np.diff(z) > 0) and z[-1] < 0.0  # head to feet, all above the top of C7 (z = 0)
    c6, c2 = neck.vertebrae[-1], neck.vertebrae[1]
    assert np.linalg.norm(c6.inferior_endplate) == pytest.approx(LEVEL_DIMS["C6"].disc_height, abs=0.05)  # C6/C7
    # the C2–C7 lordosis: the tangent at C2's inferior endplate against C7's top, turned toward anterior going up
    assert _sagittal_deg(c2.inferior_normal) - _sagittal_deg((0.0, 0.0, 1.0)) == pytest.approx(lordosis, abs=0.5)
    c4 = neck.vertebrae[3]
    chord_y = np.interp(c4.centre[2], [c2.centre[2], c6.centre[2]], [c2.centre[1], c6.centre[1]])
    assert c4.centre[1] - chord_y > 0.01 * lordosis  # convex anterior: C4 in front of the C2–C6 chord
    above_c2 = np.linalg.norm(neck.basion - c2.superior_endplate)  # up the straight path above C2
    assert above_c2 == pytest.approx(DENS_LENGTH_MM + BASION_ABOVE_DENS_MM, abs=0.5)
    body, *rami = neck.mandible
    assert body.centre[2] > neck.basion[2] and all(r.end[2] < r.start[2] for r in rami)  # rami rise to the skull


def test_lordosis_drawn_in_its_range():
    rng = np.random.default_rng(3)
    draws = [sample_cervical_lordosis(rng) for _ in range(200)]
    assert CERVICAL_LORDOSIS_DEG[0] <= min(draws) and max(draws) <= CERVICAL_LORDOSIS_DEG[1]
    assert sample_cervical_lordosis(None) == pytest.approx(np.mean(CERVICAL_LORDOSIS_DEG))


@pytest.fixture(scope="module")
def neck_raster():
    anatomy = build_anatomy(_straight_line())
    grid = Grid.covering((-100.0, -120.0, anatomy.neck.basion[2] - 5.0), (100.0, 120.0, 30.0), (1.0,) * 3)
    return anatomy, grid, rasterise(anatomy, grid)


def test_atlas_dens_and_bodies_in_labels_only_bodies_in_the_column(neck_raster):
    anatomy, grid, raster = neck_raster
    named = {v.name: v for v in anatomy.vertebrae}
    labels, column = raster.vertebra_labels.numpy(), raster.spine_mask.numpy()
    assert torch.equal(rasterise_column(anatomy, grid), raster.spine_mask)

    def at(point) -> tuple[int, bool]:
        index = tuple(np.round(grid.to_index(np.asarray(point, float)[None])[0]).astype(int))
        return int(labels[index]), bool(column[index])

    for name in ("C2", "C3", "C4", "C5", "C6"):
        assert at(named[name].centre) == (named[name].label, True), name
    c1, c2 = named["C1"], named["C2"]
    assert c1.label == 50 and c2.label == 49 and named["C6"].label == 45
    assert not (column & (labels == c1.label)).any() and (labels == c1.label).sum() > 1000  # the atlas: a ring
    dens = c2.to_world([0.0, 1.0, -0.5 * c2.dims.body_height - 0.5 * DENS_LENGTH_MM])
    assert at(dens) == (c2.label, False)  # the dens: C2's bone, not column
    lateral_mass = c1.to_world([0.5 * (c1.dims.canal_width + c1.dims.pedicle_width), -5.0, 0.0])
    assert at(lateral_mass) == (c1.label, False)
    top_z = grid.to_mm(np.argwhere(column)).min(axis=0)[2]  # C2's tilted superior endplate is the column's top
    assert c2.superior_endplate[2] - 0.5 * c2.dims.endplate_depth - 1.0 < top_z < c2.superior_endplate[2]


def test_mandible_is_bone_without_a_label(neck_raster):
    anatomy, grid, raster = neck_raster
    body, *_ = anatomy.neck.mandible
    chin = body.point(0.5 * np.pi)
    index = tuple(np.round(grid.to_index(chin[None])[0]).astype(int))
    bone = raster.fractions[MATERIALS.index("cortical")] + raster.fractions[MATERIALS.index("cancellous")]
    assert float(bone[index]) > 0.9 and int(raster.vertebra_labels[index]) == 0
