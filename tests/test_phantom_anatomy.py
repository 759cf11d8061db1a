"""The phantom's anatomy and rasteriser: truth consistency, partial volumes, labels, dimensions, rotation."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from monai_spine.geometry import curves_from_volume
from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import (
    CERVICAL_LEVELS,
    LEVEL_DIMS,
    LEVELS,
    SACRUM_BELOW_S1_ID,
    SPINE_LEVELS,
    VERTEBRA_LABELS,
    Body,
    Variants,
    build_anatomy,
    level_label,
    level_spans,
    place_vertebrae,
    sample_body,
    sample_variants,
    spine_length_mm,
)
from monai_spine.phantom.anatomy.spine import SACRAL_EXTRA_TILT_DEG
from monai_spine.phantom.anatomy.variants import RIB_PAIRS, TRANSITIONAL_L5
from monai_spine.phantom.materials import MATERIALS, material_property
from monai_spine.phantom.raster import BODY_WAIST, ENDPLATE_MM, rasterise, rasterise_column
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


def _named(anatomy, name: str):
    return next(v for v in anatomy.vertebrae if v.name == name)


@pytest.fixture(scope="module")
def torso_raster():
    line = _curved_line()
    grid = Grid.covering((-200.0, -150.0, -130.0), (200.0, 150.0, 640.0), (VOXEL,) * 3)  # skull base to thighs
    return grid, rasterise(build_anatomy(line, Body(), None, np.random.default_rng(0), Variants()), grid)


def test_labels_are_totalsegmentator_v2_names_and_ids():
    assert list(VERTEBRA_LABELS)[:2] == ["vertebrae_C1", "vertebrae_C2"]
    assert list(VERTEBRA_LABELS)[6:8] == ["vertebrae_C7", "vertebrae_T1"]
    assert list(VERTEBRA_LABELS)[-3:] == ["vertebrae_L5", "vertebrae_S1", "sacrum"]
    # TotalSegmentator v2: 25 sacrum (below S1), 26 S1, 27 L5 … 31 L1, 32 T12 … 43 T1, 44 C7 … 50 C1 (one id less
    # per level down)
    assert list(VERTEBRA_LABELS.values()) == list(range(50, 50 - len(CERVICAL_LEVELS + LEVELS) - 1, -1))
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
    occasional = ("gland", "titanium", "steel")  # breasts and metal are in some studies only (test_phantom_soft_tissue)
    for material in (m for m in MATERIALS if m not in occasional):
        assert volume_ml[MATERIALS.index(material)] > 10.0, material  # every tissue is there
    labels = raster.vertebra_labels
    assert labels.dtype == torch.uint8 and raster.spine_mask.dtype == torch.bool
    # TotalSegmentator ids: 50 (C1) … 26 (S1), then 25 (the sacrum below S1)
    top_to_bottom = [level_label(name) for name in CERVICAL_LEVELS + LEVELS] + [SACRUM_BELOW_S1_ID]
    assert torch.unique(labels).tolist() == [0] + sorted(top_to_bottom)
    z_index = torch.arange(grid.shape[2], dtype=torch.float64)
    mean_z = [float((labels == k).sum(dim=(0, 1)).double() @ z_index / (labels == k).sum()) for k in top_to_bottom]
    assert np.all(np.diff(mean_z) > 0)


def test_column_holds_the_s1_body_not_the_alae_and_ends_at_its_bottom():
    """The column's sacral part is the S1 body (the sacrum's first body height), not the alae or lower segments;
    S1 with its alae is labelled S1 (26), the sacrum below it TotalSegmentator's ``sacrum`` (25). The body ends on
    the axial plane through its inferior face's centre, as CT labels draw it: the column's lowest slices hold the
    body's whole depth, so the centre line goes on back down the sacral slope (on the face perpendicular to the
    arc, they held the anterior corner only and the centre line turned 6 mm forward over its last 10 mm)."""
    anatomy = build_anatomy(_curved_line())
    s1 = anatomy.sacrum.vertebra
    grid = Grid.covering(s1.centre - (80.0, 60.0, 60.0), s1.centre + (80.0, 60.0, 60.0), (1.0,) * 3)
    raster = rasterise(anatomy, grid)
    column, labels = raster.spine_mask.numpy(), raster.vertebra_labels.numpy()
    assert torch.equal(rasterise_column(anatomy, grid), raster.spine_mask)

    def at(local) -> tuple[bool, int]:
        index = tuple(np.round(grid.to_index(s1.to_world(np.asarray(local, float))[None])[0]).astype(int))
        return bool(column[index]), int(labels[index])

    half_w, half_d, half_h = 0.5 * s1.dims.endplate_width, 0.5 * s1.dims.endplate_depth, 0.5 * s1.dims.body_height
    assert at((0.0, 0.0, 0.0)) == (True, s1.label)  # the S1 body's centre
    assert at((0.0, 0.0, half_h - 3.0)) == (True, s1.label)  # just above its inferior endplate
    assert at((0.0, 0.0, half_h + 3.0)) == (False, SACRUM_BELOW_S1_ID)  # S2: the sacrum below S1, not column
    for side in (1.0, -1.0):  # the alae beside the body: sacrum, not column
        assert at((side * (half_w + 12.0), -0.3 * half_d, 0.0)) == (False, s1.label)
    sacral = np.argwhere(column & (labels == s1.label)) * grid.spacing + grid.origin
    local = (sacral - s1.centre) @ s1.axes
    assert np.abs(local[:, 0]).max() <= half_w + 1.0 and local[:, 2].min() >= -half_h - 3.0  # curved top
    floor = anatomy.sacrum.point(s1.dims.body_height)[2]  # the inferior face's centre
    z_column = np.argwhere(column)[:, 2] * grid.spacing[2] + grid.origin[2]
    assert abs(z_column.max() - floor) <= 1.0
    y, z = grid.axis(1).numpy(), grid.axis(2).numpy()
    depth = [np.ptp(y[column[:, :, k].any(axis=0)]) for k in range(len(z)) if floor - 3.0 <= z[k] <= floor]
    assert min(depth) > 0.8 * s1.dims.endplate_depth  # the lowest slices cut the body across, not a corner
    centre = [np.mean(y[column[:, :, k].any(axis=0)][[0, -1]]) for k in range(len(z)) if floor - 20.0 <= z[k] <= floor]
    assert np.all(np.diff(centre) <= 0.5) and centre[0] - centre[-1] > 5.0  # on back, toward posterior


def test_sacrum_stands_level_with_the_pelvis_under_a_tilted_lumbar_spine():
    """A lumbar curve whose line ends tilted 30° in the coronal plane: the sacrum keeps the line's sagittal tilt
    (its slope) but stands upright in the coronal plane, as the level pelvis holds it; the L5/S1 disc takes the
    wedge. (It used to hang at the line's 30°, its ala tips 50 mm apart in height between level iliac wings.)"""
    shape = SpineShape(length_mm=spine_length_mm(), coronal=(CoronalCurve(-40.0, (0.75, 1.0)),), kyphosis_deg=35.0,
                       lordosis_deg=45.0)
    line = shape_centre_line(shape, n_points=1001)
    end = line[-1] - line[-3]
    assert abs(np.degrees(np.arctan2(end[0], end[2]))) > 20.0  # the line's end is tilted sideways
    sacrum = build_anatomy(line).sacrum
    inferior, left = sacrum.axes[:, 2], sacrum.axes[:, 0]
    assert abs(inferior[0]) < 1e-9 and np.allclose(left, (1.0, 0.0, 0.0))
    assert abs(np.degrees(np.arctan2(-inferior[1], inferior[2])) - np.degrees(np.arctan2(-end[1], end[2]))
               - SACRAL_EXTRA_TILT_DEG) < 0.05  # the sagittal tilt is the line's, plus the L5/S1 wedge


@pytest.mark.parametrize("level", ["T8", "L2"])
def test_body_width_and_depth_match_the_table(level):
    line = _straight_line()
    anatomy = build_anatomy(line)
    vertebra = _named(anatomy, level)
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


def test_vertebral_body_proportions_widen_and_deepen_the_bodies_alone():
    line = _straight_line()
    reference, broad = place_vertebrae(line), place_vertebrae(line, body_proportions=(1.1, 1.3))
    for a, b in zip(reference, broad):
        assert b.dims == replace(a.dims, endplate_width=1.1 * a.dims.endplate_width,
                                 endplate_depth=1.3 * a.dims.endplate_depth)
        np.testing.assert_allclose(b.centre, a.centre)
    # the rasterised column at L3's centre (its waist) is 1.1 times as wide and 1.3 times as deep, to within a voxel
    grid = _spine_grid(line, spacing=1.0)
    l3 = _named(build_anatomy(line), "L3")
    k = int(round((l3.centre[2] - grid.origin[2]) / grid.spacing[2]))
    extents = []
    for body in (Body(), Body(vertebral_body_width=1.1, vertebral_body_depth=1.3)):
        column = rasterise_column(build_anatomy(line, body), grid)[..., k].cpu().numpy() >= 0.5
        extents.append([column.any(1 - axis).sum() * grid.spacing[axis] for axis in (0, 1)])
    (width, depth), (broad_width, broad_depth) = extents
    waist = 1.0 - BODY_WAIST  # the body's centre is at its waist
    expected = [l3.dims.endplate_width, l3.dims.endplate_depth, 1.1 * l3.dims.endplate_width,
                1.3 * l3.dims.endplate_depth]
    for measured, analytic in zip((width, depth, broad_width, broad_depth), expected):
        assert measured == pytest.approx(waist * analytic, abs=1.5)
    with pytest.raises(ValueError, match="vertebral_body_depth"):
        Body(vertebral_body_depth=2.0)


def test_posterior_exponent_fills_the_bodies_back_corners_alone():
    """A superellipse of exponent 4 behind the body's centre: the posterior half's area grows by its ratio to the
    ellipse's, 4 Γ(1.25)² / Γ(1.5) / π = 1.180, while the front half, the width and the depth stay."""
    line = _straight_line()
    reference, square = place_vertebrae(line), place_vertebrae(line, posterior_exponent=4.0)
    for a, b in zip(reference, square):
        assert b.dims == replace(a.dims, posterior_exponent=4.0)
    l3 = _named(build_anatomy(line), "L3")
    grid = Grid.covering(l3.centre - (40.0, 40.0, 2.0), l3.centre + (40.0, 40.0, 2.0), (0.5,) * 3)
    k = int(round((l3.centre[2] - grid.origin[2]) / grid.spacing[2]))
    front = (grid.axis(1).numpy() > l3.centre[1])[None, :]
    halves = []
    for body in (Body(), Body(vertebral_body_posterior_exponent=4.0)):
        column = rasterise_column(build_anatomy(line, body), grid)[..., k].cpu().numpy()
        halves.append(((column * front).sum(), (column * ~front).sum()))
        extents = [(column >= 0.5).any(1 - axis).sum() * grid.spacing[axis] for axis in (0, 1)]
        assert extents == pytest.approx([(1.0 - BODY_WAIST) * l3.dims.endplate_width,
                                         (1.0 - BODY_WAIST) * l3.dims.endplate_depth], abs=1.0)
    (front_ellipse, back_ellipse), (front_square, back_square) = halves
    assert front_square / front_ellipse == pytest.approx(1.0, abs=0.005)
    assert back_square / back_ellipse == pytest.approx(1.180, abs=0.02)
    with pytest.raises(ValueError, match="vertebral_body_posterior_exponent"):
        Body(vertebral_body_posterior_exponent=1.5)


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


def _lumbar_rasters(texture_seed):
    """A straight spine's L2–L4 on a 1 mm grid, without and with the trabecular texture of ``texture_seed``."""
    line = _straight_line()
    anatomy = build_anatomy(line)
    l3 = _named(anatomy, "L3")
    grid = Grid.covering(l3.centre - (30.0, 30.0, 45.0), l3.centre + (30.0, 30.0, 45.0), (1.0,) * 3)
    return l3, grid, rasterise(anatomy, grid), rasterise(replace(anatomy, texture_seed=texture_seed), grid)


def test_cancellous_bone_is_textured_by_seed_keeping_mean_density_labels_and_column():
    l3, grid, plain, textured = _lumbar_rasters(11)
    interior = (plain.fractions[MATERIALS.index("cancellous")] > 0.999) & (plain.vertebra_labels == l3.label)
    density_plain = material_property(plain.fractions, "density")[interior]
    density = material_property(textured.fractions, "density")[interior]
    assert float(density_plain.std()) < 1e-4  # uniform marrow before
    assert float(density.std() / density.mean()) > 0.02  # textured after (bone tissue traded for marrow and back)
    assert float(density.mean()) == pytest.approx(float(density_plain.mean()), rel=0.01)
    assert torch.allclose(textured.fractions.sum(0), torch.ones(grid.shape), atol=1e-5)
    assert torch.equal(textured.vertebra_labels, plain.vertebra_labels)
    assert torch.equal(textured.spine_mask, plain.spine_mask)
    again, other = (rasterise(replace(build_anatomy(_straight_line()), texture_seed=s), grid) for s in (11, 12))
    assert torch.equal(again.fractions, textured.fractions) and not torch.equal(other.fractions, textured.fractions)


def test_bodies_have_cortical_endplates_and_a_concave_waist():
    l3, grid, plain, _ = _lumbar_rasters(None)
    i, j = (int(round((l3.centre[d] - grid.origin[d]) / grid.spacing[d])) for d in (0, 1))
    z = grid.axis(2).numpy()
    within = (z > l3.superior_endplate[2] - 3.0) & (z < l3.inferior_endplate[2] + 3.0)
    cortical_mm = float(plain.fractions[MATERIALS.index("cortical"), i, j][within].sum()) * grid.spacing[2]
    assert cortical_mm == pytest.approx(2 * ENDPLATE_MM, abs=0.3)  # two endplates on the body's axis
    body = (plain.spine_mask & (plain.vertebra_labels == l3.label)).numpy()
    mid = int(round((l3.centre[2] - grid.origin[2]) / grid.spacing[2]))
    top = int(np.ceil((l3.superior_endplate[2] - grid.origin[2]) / grid.spacing[2])) + 1
    width_mid, width_top = (body[:, :, k].any(axis=1).sum() * grid.spacing[0] for k in (mid, top))
    assert width_mid / width_top == pytest.approx(1.0 - BODY_WAIST, abs=0.04)


def test_shoulder_girdle_crosses_the_upper_thoracic_spine():
    anatomy = build_anatomy(_curved_line(), Body())  # no texture: bone voxels are bone
    grid = Grid.covering((-200.0, -150.0, -60.0), (200.0, 150.0, 200.0), (VOXEL,) * 3)
    raster = rasterise(anatomy, grid)
    t1, t5 = (_named(anatomy, name) for name in ("T1", "T5"))
    bone = raster.fractions[MATERIALS.index("cortical")] + raster.fractions[MATERIALS.index("cancellous")]

    def voxel(point):
        return tuple(int(round((point[d] - grid.origin[d]) / grid.spacing[d])) for d in range(3))

    girdle = anatomy.shoulders
    for medial, lateral in girdle.clavicles:
        # the sternal end lies in front of the spine in a frontal view, between T1 and T5
        assert abs(medial.start[0] - t1.centre[0]) < 40.0 and t1.superior_endplate[2] < medial.start[2] < t5.centre[2]
        assert abs(lateral.end[0] - t1.centre[0]) > 120.0  # reaches the shoulder
        for point in (0.5 * (medial.start + medial.end), 0.5 * (lateral.start + lateral.end)):
            assert float(bone[voxel(point)]) > 0.5 and int(raster.vertebra_labels[voxel(point)]) == 0
    for scapula in girdle.scapulae:
        middle = scapula.point(0.5 * sum(scapula.angles))
        assert float(bone[voxel(middle)]) > 0.5
        assert middle[1] < t5.centre[1] - 0.5 * t5.dims.endplate_depth  # on the back, behind the bodies
        assert scapula.point(scapula.angles[0])[1] < t5.centre[1] - 40.0  # the medial border behind the processes
        assert abs(middle[0] - t5.centre[0]) > 60.0  # beside the spine, over the ribs
    assert float(bone[voxel(girdle.manubrium.centre)]) > 0.5


def test_variants_are_drawn_with_their_population_shares():
    rng = np.random.default_rng(0)
    drawn = [sample_variants(rng) for _ in range(4000)]
    for pairs, share in RIB_PAIRS.items():
        assert np.mean([v.rib_pairs == pairs for v in drawn]) == pytest.approx(share, abs=0.015)
    for kind, share in TRANSITIONAL_L5.items():
        assert np.mean([v.transitional_l5 == kind for v in drawn]) == pytest.approx(share, abs=0.02)
    with pytest.raises(ValueError, match="rib_pairs"):
        Variants(rib_pairs=14)


def test_rib_pairs_11_and_13_drop_the_12th_or_add_a_cervical_rib():
    line = _straight_line()
    grid = Grid.covering((-200.0, -150.0, -40.0), (200.0, 150.0, 330.0), (VOXEL,) * 3)
    twelve, eleven, thirteen = (build_anatomy(line, variants=Variants(rib_pairs=n)) for n in (12, 11, 13))
    assert [len(a.ribs) for a in (twelve, eleven, thirteen)] == [24, 22, 26]
    rib12 = next(r for r in twelve.ribs if r.name == "rib_left_12")
    cervical = next(r for r in thirteen.ribs if r.name == "rib_left_0")
    c7 = _named(thirteen, "C7")
    assert c7.superior_endplate[2] - 1.0 < cervical.neck.start[2] < c7.inferior_endplate[2]  # its head is on C7
    bone = {}
    for name, anatomy in (("12", twelve), ("11", eleven), ("13", thirteen)):
        f = rasterise(anatomy, grid).fractions
        bone[name] = f[MATERIALS.index("cortical")] + f[MATERIALS.index("cancellous")]

    def at(point):
        return tuple(int(round((point[d] - grid.origin[d]) / grid.spacing[d])) for d in range(3))

    middle12 = at(rib12.point(0.5 * sum(rib12.angles)))
    assert float(bone["12"][middle12]) > 0.5 and float(bone["11"][middle12]) < 0.05
    middle0 = at(cervical.point(0.5 * sum(cervical.angles)))
    assert float(bone["13"][middle0]) > 0.5 and float(bone["12"][middle0]) < 0.05


@pytest.mark.parametrize("kind, touches", [("none", False), ("enlarged", False), ("articulating", True)])
def test_transitional_l5_processes_reach_the_sacral_alae(kind, touches):
    line = _straight_line()
    anatomy = build_anatomy(line, variants=Variants(transitional_l5=kind))
    l5, sacrum = anatomy.vertebrae[-2], anatomy.vertebrae[-1]
    grid = Grid.covering(l5.centre - (70.0, 60.0, 25.0), sacrum.centre + (70.0, 30.0, 10.0), (2.0,) * 3)
    labels = rasterise(anatomy, grid).vertebra_labels.numpy()
    x = grid.axis(0).numpy()[:, None, None] - l5.centre[0]
    lateral = np.abs(x) > 0.5 * l5.dims.endplate_width + 5.0  # beside the bodies: the processes and the alae
    l5_side = (labels == l5.label) & lateral
    sacrum_side = np.roll(labels == sacrum.label, -1, axis=2) & lateral  # one voxel up: adjacent in z
    assert bool((l5_side & sacrum_side).any()) == touches
    height = l5_side.any(axis=(0, 1)).sum() * 2.0
    assert height >= (19.0 if kind != "none" else 0.0)  # Castellvi I: a process at least 19 mm high
