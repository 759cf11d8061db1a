"""The phantom's analytic head, arms and legs and the whole-body DXA they complete."""

import numpy as np
import pytest
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import Body, Ellipsoid, build_anatomy, spine_length_mm
from monai_spine.phantom.extremities import (
    Morph,
    Part,
    Profile,
    chord,
    extremity_line_integrals,
    extremity_parts,
    material_paths,
    trunk_z_edges,
    vertex_z,
)
from monai_spine.phantom.materials import MATERIALS, Tissue, linear_attenuation
from monai_spine.phantom.raster import rasterise
from monai_spine.phantom.render.dxa import (
    WHOLE_BODY_FIELD_MM,
    dxa_geometry,
    dxa_geometry_whole_body,
    project_mask_parallel,
    render_dxa,
)
from monai_spine.phantom.study import GRID_ABOVE_BASION_MM

BONE_G_PER_CM2_PER_MM = 0.192
"""Areal density of 1 mm of ICRU-44 cortical bone (1.92 g/cm³), g/cm²."""


def _index(name: str) -> int:
    return MATERIALS.index(name)


def _find(parts, name: str) -> Part:
    for part in parts:
        if part.name == name:
            return part
        found = _find(part.inside, name)
        if found is not None:
            return found
    return None


def _straight(body: Body):
    """The anatomy of a straight spine with ``body`` and its trunk grid as ``make_study`` makes it (2.5 mm)."""
    z = np.linspace(0.0, spine_length_mm(body.scale), 1001)
    anatomy = build_anatomy(np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=1), body)
    torso = anatomy.torso
    half_width = float(np.max(np.abs(torso.centre_x) + torso.half_width))
    top = float(anatomy.neck.basion[2]) - GRID_ABOVE_BASION_MM
    low = (-half_width - 5.0, float(np.min(torso.centre_y - torso.half_depth)) - 5.0, top)
    high = (half_width + 5.0, float(np.max(torso.centre_y + torso.half_depth)) + 5.0, z[-1] + 220.0)
    return anatomy, Grid.covering(low, high, (2.5,) * 3)


def _paths_are_nested(parts, origin, pixel, shape) -> bool:
    """Whether no material's path is negative."""
    return float(material_paths(parts, origin, pixel, shape).min()) >= -1e-3


@pytest.fixture(scope="module")
def body():
    """A straight adult spine's anatomy, its trunk grid and raster, its whole-body DXA without noise, and parts."""
    anatomy, grid = _straight(Body())
    raster = rasterise(anatomy, grid)
    tissue = Tissue()
    dxa = render_dxa(raster.fractions, grid, torch.Generator().manual_seed(0), photons_per_mm2=1e12, tissue=tissue,
                     anatomy=anatomy)
    return anatomy, grid, raster, tissue, dxa, extremity_parts(anatomy, grid)


# ------------------------------------------------------------------------------------------------------- chords


def test_chords_are_closed_forms_and_match_a_rasterised_solid():
    sphere = Ellipsoid(np.array([3.0, 7.0, -2.0]), np.full(3, 20.0))
    at = chord(sphere, torch.tensor([3.0, 15.0, 30.0]), torch.tensor([-2.0]))[:, 0]
    assert at.tolist() == pytest.approx([40.0, 2.0 * np.sqrt(400.0 - 144.0), 0.0], rel=1e-6)

    # A tapering superelliptic profile, cut by a sagittal plane, against the voxels of the same solid along y.
    profile = Profile(np.array([0.0, 40.0, 100.0]), np.array([0.0, 10.0, 5.0]), np.array([30.0, 20.0, 25.0]),
                      np.array([18.0, 25.0, 12.0]), exponent=2.5, x_range=(-20.0, np.inf))
    x, z = torch.linspace(-40.0, 45.0, 35), torch.linspace(-5.0, 105.0, 23)
    analytic = chord(profile, x, z).double()
    dy = 0.02
    y = (torch.arange(-30.0, 30.0, dy) + dy / 2).double()[None, None]
    zn = z.double().numpy()
    cx, a, b = (torch.as_tensor(np.interp(zn, profile.z, v))[None, :, None]
                for v in (profile.centre_x, profile.half_width, profile.half_depth))
    inside = ((x.double()[:, None, None] - cx).abs() / a) ** 2.5 + (y.abs() / b) ** 2.5 <= 1.0
    inside &= (x.double() >= -20.0)[:, None, None] & torch.as_tensor((zn >= 0.0) & (zn < 100.0))[None, :, None]
    numeric = inside.sum(-1) * dy
    assert float((analytic - numeric).abs().max()) < 0.02 * float(numeric.max())

    morph = Morph(profile, sphere, 0.0, 10.0)
    row = torch.tensor([0.0, 5.0, 10.0])
    expected = 0.5 * (chord(profile, x, row)[:, 1] + chord(sphere, x, row)[:, 1])
    assert torch.allclose(chord(morph, x, row)[:, 1], expected)
    assert torch.allclose(chord(morph, x, row)[:, 0], chord(sphere, x, row)[:, 0])
    assert torch.allclose(chord(morph, x, row)[:, 2], chord(profile, x, row)[:, 2])


def test_nested_parts_split_the_path_between_materials():
    def cylinder(radius):
        return Profile(np.array([0.0, 100.0]), np.zeros(2), np.full(2, radius), np.full(2, radius))

    marrow = Part("marrow", cylinder(8.0), "fat")
    bone = Part("bone", cylinder(12.0), "cortical", (marrow,))
    limb = Part("limb", cylinder(50.0), "fat", (Part("lean", cylinder(45.0), "muscle", (bone,)),))
    paths = material_paths([limb], (-60.0, -10.0), (1.0, 1.0), (121, 120))
    centre = paths[:, 60, 60]  # x = 0, z = 50
    assert float(centre[_index("fat")]) == pytest.approx(2 * 5.0 + 2 * 8.0, abs=1e-4)
    assert float(centre[_index("muscle")]) == pytest.approx(2 * 33.0, abs=1e-4)
    assert float(centre[_index("cortical")]) == pytest.approx(2 * 4.0, abs=1e-4)
    assert float(paths[:, :, :10].abs().max()) == 0.0 and float(paths[:, :, 110:].abs().max()) == 0.0  # z ∉ [0, 100)
    total = paths.sum(0)  # the limb's outer chord, whatever lies inside it
    assert torch.allclose(total, chord(limb.solid, -60.0 + torch.arange(121.0), -10.0 + torch.arange(120.0)), atol=1e-4)

    thin = Part("thin", cylinder(5.0), "muscle", (Part("rod", cylinder(12.0), "cortical"),))  # clipped to its parent
    poking = material_paths([thin], (-60.0, -10.0), (1.0, 1.0), (121, 120))
    assert float(poking[_index("cortical"), 60, 60]) == pytest.approx(2 * 5.0) and float(poking.min()) >= 0.0



def test_line_integrals_weight_the_paths_with_attenuation(body):
    anatomy, grid, *_ = body
    origin, pixel, shape = (-300.0, -260.0), (2.0, 2.0), (300, 900)
    lines = extremity_line_integrals(anatomy, grid, origin, pixel, shape, ("dxa_low", 70.0), Tissue())
    paths = material_paths(extremity_parts(anatomy, grid), origin, pixel, shape)
    mu = Tissue().composition() @ linear_attenuation(70.0)
    expected = torch.einsum("m,mwh->wh", torch.as_tensor(mu, dtype=torch.float32), paths)
    assert lines.shape == (2, *shape) and torch.allclose(lines[1], expected, atol=1e-4)


# ------------------------------------------------------------------------------------------------------- anatomy


@pytest.mark.parametrize(
    "build",
    [Body(scale=1.15, fat_mm=45.0, hip_half_width=230.0, waist_half_width=200.0, chest_half_width=200.0),
     Body(scale=0.85, fat_mm=4.0, hip_half_width=110.0, shoulder_half_width=130.0, neck_half_width=40.0)],
)
def test_siblings_do_not_meet_in_extreme_builds(build):
    anatomy, grid = _straight(build)
    shape, origin = dxa_geometry_whole_body(anatomy, grid, 2.0)
    assert _paths_are_nested(extremity_parts(anatomy, grid), origin, (2.0, 2.0), shape)


def test_parts_lie_beside_the_trunk(body):
    anatomy, grid, raster, _, dxa, parts = body
    assert _paths_are_nested(parts, dxa.origin_mm, dxa.pixel_mm, dxa.shape)
    # Parts lie in air, clear of the trunk's tissue (the cervical spine and the mandible are in the trunk grid).
    in_air = material_paths(parts, dxa.origin_mm, dxa.pixel_mm, dxa.shape).sum(0)
    trunk = project_mask_parallel(raster.fractions[_index("air")] < 0.5, grid, dxa)
    assert not bool(((in_air > 0) & trunk).any())
    assert vertex_z(anatomy) == pytest.approx(anatomy.neck.basion[2] - 142.0)  # the skull (136 mm) and scalp on it
    assert -270.0 < vertex_z(anatomy) < -230.0  # stature − cervicale height ≈ 250 mm (ANSUR II)
    assert _find(parts, "femur_left") is not None and _find(parts, "radius_right") is not None


# ------------------------------------------------------------------------------------------------------- whole-body DXA


def test_whole_body_geometry_is_a_scanner_field_on_the_trunk_image_pixels():
    anatomy, grid = _straight(Body(scale=1.1))
    for pixel in (1.0, 2.5):
        shape, origin = dxa_geometry_whole_body(anatomy, grid, pixel)
        assert shape == (int(WHOLE_BODY_FIELD_MM[0] / pixel), int(WHOLE_BODY_FIELD_MM[1] / pixel))
        assert abs(origin[0] + 0.5 * (shape[0] - 1) * pixel) <= 0.5 * pixel  # centred on the midline (x = 0)
        assert origin[1] - 0.5 * pixel < vertex_z(anatomy) < origin[1] + 50.0  # the head at the top
        shift = (np.asarray(dxa_geometry(grid, pixel)[1]) - origin) / pixel  # whole pixels from the trunk image's
        np.testing.assert_allclose(shift, np.round(shift), atol=1e-9)
    with pytest.raises(ValueError, match="field_mm"):
        dxa_geometry_whole_body(anatomy, grid, 1.0, (600.0, 0.5))
    small = Grid((4, 4, 4), (2.0, 2.0, 2.0), (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="anatomy"):
        render_dxa(torch.zeros((len(MATERIALS), 4, 4, 4)), small, torch.Generator(), field_mm=(600.0, 1950.0))


def test_whole_body_dxa_shows_limbs_with_their_bone_density(body):
    anatomy, grid, raster, tissue, dxa, parts = body
    assert dxa.shape == (600, 1950)
    paths = material_paths(parts, dxa.origin_mm, dxa.pixel_mm, dxa.shape)
    truth = ((1.0 - tissue.cortical_porosity) * paths[_index("cortical")]
             + tissue.bone_volume_fraction * paths[_index("cancellous")])
    truth = truth * BONE_G_PER_CM2_PER_MM
    for name in ("femur_left", "humerus_right", "tibia_right"):
        shaft = _find(parts, name).solid
        z = shaft.z[0] + 0.45 * (shaft.z[-1] - shaft.z[0])
        x, width = np.interp(z, shaft.z, shaft.centre_x), np.interp(z, shaft.z, shaft.half_width)
        column, row = (int(v) for v in np.round(dxa.to_pixel([x, z])))
        across = slice(column - int(width) - 2, column + int(width) + 3)
        rendered, expected = (float(image[across, row - 2 : row + 3].sum()) for image in (dxa.bone, truth))
        assert rendered == pytest.approx(expected, rel=0.03), name  # the bone's ρ · path
        peak = float(truth[across, row].max())
        assert float(dxa.bone[column, row]) > 1.0, name  # through the marrow: two cortices
        # The limb's soft tissue medial of the bone (the fibula is lateral of the tibia) shows no bone.
        inner = int(width) + 4
        beside = slice(column - inner - 8, column - inner) if x > 0 else slice(column + inner, column + inner + 8)
        assert float(dxa.bone[beside, row - 2 : row + 3].abs().max()) < 0.03 * peak, name
    # Between the knees: air.
    knee = _find(parts, "femur_left").solid.z[-1]
    column, row = (int(v) for v in np.round(dxa.to_pixel([float(np.mean(anatomy.torso.centre_x)), knee - 150.0])))
    assert abs(float(dxa.bone[column, row])) < 0.05 and float(dxa.soft[column, row]) < 0.5
    # The head: the skull's bone above the neck.
    column, row = (int(v) for v in np.round(dxa.to_pixel([0.0, vertex_z(anatomy) + 100.0])))
    assert float(dxa.bone[column, row]) > 1.5


def test_whole_body_dxa_has_no_seam_at_the_trunk_grid_and_keeps_its_truth(body):
    anatomy, grid, raster, tissue, dxa, _ = body
    rows = dxa.origin_mm[1] + dxa.pixel_mm[1] * np.arange(dxa.shape[1])
    for edge in trunk_z_edges(grid):
        first_below = int(np.searchsorted(rows, edge))
        above = float(dxa.soft[:, first_below - 3 : first_below].mean())
        below = float(dxa.soft[:, first_below : first_below + 3].mean())
        assert below == pytest.approx(above, rel=0.05), edge
    trunk = render_dxa(raster.fractions, grid, torch.Generator().manual_seed(0), photons_per_mm2=1e12, tissue=tissue)
    centres = []
    for image in (trunk, dxa):  # the spine mask lands on the same phantom (x, z) in both images
        pixels = torch.nonzero(project_mask_parallel(raster.spine_mask, grid, image)).double().mean(0).numpy()
        centres.append(np.asarray(image.origin_mm) + pixels * np.asarray(image.pixel_mm))
    assert np.abs(centres[0] - centres[1]).max() < 0.5
    column = int(round(dxa.to_pixel([0.0, 200.0])[0]))
    row_trunk, row_whole = (int(round(image.to_pixel([0.0, 200.0])[1])) for image in (trunk, dxa))
    column_trunk = int(round(trunk.to_pixel([0.0, 200.0])[0]))
    assert float(dxa.bone[column, row_whole]) == pytest.approx(float(trunk.bone[column_trunk, row_trunk]), rel=0.05)
