"""The phantom's soft tissue and foreign objects: organs with their CT numbers and texture, bowel gas, breasts,
instrumentation, ECG leads and buttons, checked in the rasterised fractions against the anatomy that placed them."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import Body, Devices, build_anatomy, sample_body, spine_length_mm
from monai_spine.phantom.anatomy.devices import DEVICE_SHARES
from monai_spine.phantom.materials import MATERIALS, attenuation, material_property, material_values
from monai_spine.phantom.raster import (
    MUSCLE_FAT_SHARE,
    ORGAN_FAT_SHARE,
    ORGAN_TEXTURE_SD,
    VISCERAL_FAT_SHARE,
    rasterise,
)
from monai_spine.phantom.render.ct import HU_RANGE, render_ct
from monai_spine.phantom.shape import CoronalCurve, SpineShape, shape_centre_line

VOXEL = 2.5


def _line() -> np.ndarray:
    shape = SpineShape(length_mm=spine_length_mm(), coronal=(CoronalCurve(25.0, (0.2, 0.7)),), kyphosis_deg=40.0,
                       lordosis_deg=50.0)
    return shape_centre_line(shape, n_points=1001)


def _grid(anatomy) -> Grid:
    """The study grid's rule (``study._study_grid``): the torso's box, 5 mm margins, 60 mm above C7 to S1 + 220 mm."""
    t = anatomy.torso
    half = float(np.max(np.abs(t.centre_x) + t.half_width))
    low = (-half - 5.0, float(np.min(t.centre_y - t.half_depth)) - 5.0, -60.0)
    high = (half + 5.0, float(np.max(t.centre_y + t.half_depth)) + 5.0, float(anatomy.vertebrae[-1].centre[2]) + 220.0)
    return Grid.covering(low, high, (VOXEL,) * 3)


def _anatomy(seed: int, body: Body | None = None):
    return build_anatomy(_line(), body or Body(), None, np.random.default_rng(seed))


def _index(grid: Grid, point) -> tuple[int, int, int]:
    return tuple(int(round((float(p) - o) / s)) for p, o, s in zip(point, grid.origin, grid.spacing))


@pytest.fixture(scope="module")
def study():
    anatomy = _anatomy(3)
    grid = _grid(anatomy)
    return anatomy, grid, rasterise(anatomy, grid)


def _ap_path(fractions: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Line integrals of the 60 keV attenuation along y (a parallel AP beam), ``(X, Z)``."""
    return attenuation(fractions, 60.0).sum(1) * grid.spacing[1]


def test_organs_have_their_ct_numbers_and_a_texture_of_the_stated_size(study):
    anatomy, grid, raster = study
    hu = material_property(raster.fractions, "hu")
    plain = rasterise(replace(anatomy, organ_texture_seed=None), grid)
    plain_hu = material_property(plain.fractions, "hu")
    given, fat = material_values("hu"), material_values("hu")[MATERIALS.index("fat")]
    abdomen = anatomy.abdomen
    for name, organ in (("liver", abdomen.liver), ("spleen", abdomen.spleen), ("kidney", abdomen.kidneys[0])):
        m = MATERIALS.index(name)
        fat_or_organ = raster.fractions[m] + raster.fractions[MATERIALS.index("fat")]
        core = (plain.fractions[m] > 1 - 1e-6) & (fat_or_organ > 1 - 1e-6)
        assert int(core.sum()) > 100, name
        assert bool(core[_index(grid, organ.centre)]), name  # the organ is where the anatomy put it
        assert torch.allclose(plain_hu[core], torch.tensor(given[m], dtype=torch.float32), atol=0.01)  # untextured
        spread = ORGAN_FAT_SHARE * (given[m] - fat)  # the texture moves up to 2 × this share into fat
        assert float(hu[core].mean()) == pytest.approx(given[m] - spread, abs=0.25 * spread), name
        sd = float(hu[core].std())
        assert 0.3 * ORGAN_TEXTURE_SD * spread < sd < 1.2 * ORGAN_TEXTURE_SD * spread, name
        assert float(hu[core].min()) >= given[m] - 2 * spread - 1e-3 and float(hu[core].max()) <= given[m] + 1e-3


def _cavity_fat(anatomy, grid, raster, level: str) -> tuple[float, float, float]:
    """At ``level``'s height: the fat fraction of the lean-or-fat voxels in front of the body (40–90 mm anterior of
    its centre, within 60 mm of the midline), beside it in the psoas (30–40 mm to the side), and in the erector
    spinae (25–45 mm to either side, 40–70 mm behind the body's centre)."""
    v = {x.name: x for x in anatomy.vertebrae}[level]
    fat, lean = raster.fractions[MATERIALS.index("fat")], raster.fractions[MATERIALS.index("muscle")]
    ix, iy, iz = _index(grid, v.centre)
    step = 1.0 / grid.spacing[0]

    def share(xs: slice, ys: slice) -> float:
        f, m = fat[xs, ys, iz], lean[xs, ys, iz]
        keep = (f + m) > 0.99
        return float(f[keep].mean())

    front = share(slice(ix - int(60 * step), ix + int(60 * step)), slice(iy + int(40 * step), iy + int(90 * step)))
    psoas = share(slice(ix + int(30 * step), ix + int(40 * step)), slice(iy - 2, iy + 3))
    behind = slice(iy - int(70 * step), iy - int(40 * step))
    back = 0.5 * (share(slice(ix + int(25 * step), ix + int(45 * step)), behind)
                  + share(slice(ix - int(45 * step), ix - int(25 * step)), behind))
    return front, psoas, back


def _share(constants, fat_mm: float) -> float:
    base, slope, high = constants
    return min(base + slope * fat_mm, high)


def test_the_abdominal_cavity_holds_visceral_fat_that_grows_with_body_fat(study):
    """Fat between the bowel loops, in front of the lumbar spine, and streaks of it in the back muscles; the psoas
    beside the bodies stays lean; more subcutaneous fat, more visceral fat; untextured, the cavity is a uniform
    mixture of the share."""
    anatomy, grid, raster = study
    expected = _share(VISCERAL_FAT_SHARE, anatomy.body.fat_mm)
    front, psoas, back = _cavity_fat(anatomy, grid, raster, "L3")
    assert front == pytest.approx(expected, abs=0.15)
    assert back == pytest.approx(_share(MUSCLE_FAT_SHARE, anatomy.body.fat_mm), abs=0.06) and back > 0.02
    assert psoas < 0.05
    obese = _anatomy(3, replace(Body(), fat_mm=40.0))
    obese_grid = _grid(obese)
    assert _cavity_fat(obese, obese_grid, rasterise(obese, obese_grid), "L3")[0] > front + 0.2
    plain = rasterise(replace(anatomy, organ_texture_seed=None), grid)
    f, m = plain.fractions[MATERIALS.index("fat")], plain.fractions[MATERIALS.index("muscle")]
    ix, iy, iz = _index(grid, {x.name: x for x in anatomy.vertebrae}["L3"].centre)
    column = (f + m)[ix, iy + 20 : iy + 32, iz] > 0.99  # in front of L3, lean or fat only
    assert torch.allclose(f[ix, iy + 20 : iy + 32, iz][column], torch.tensor(expected), atol=1e-3)


def test_bowel_gas_lowers_the_attenuation_along_its_rays(study):
    anatomy, grid, raster = study
    assert len(anatomy.abdomen.gas) >= 3
    no_gas = rasterise(replace(anatomy, abdomen=replace(anatomy.abdomen, gas=())), grid)
    drop = _ap_path(no_gas.fractions, grid) - _ap_path(raster.fractions, grid)
    assert float(drop.min()) > -1e-5  # gas only takes attenuation away
    air = MATERIALS.index("air")
    gas = (raster.fractions[air] - no_gas.fractions[air]).clamp_min(0.0).sum(1) * grid.spacing[1]  # mm of gas per ray
    mu_fluid = float(attenuation(torch.eye(len(MATERIALS))[:, :, None, None], 60.0)[MATERIALS.index("fluid"), 0, 0])
    deep = gas > 10.0
    assert int(deep.sum()) > 20
    # where a ray crosses ≥ 10 mm of gas, it lost that much fluid's attenuation
    assert torch.allclose(drop[deep], gas[deep] * mu_fluid, rtol=0.02)
    assert torch.equal(no_gas.spine_mask, raster.spine_mask) and torch.equal(no_gas.vertebra_labels,
                                                                             raster.vertebra_labels)


def test_some_bowel_gas_lies_over_the_lumbar_spine_in_the_frontal_view():
    over = 0
    for seed in range(12):
        anatomy = _anatomy(seed, sample_body(np.random.default_rng(seed)))
        lumbar = [v for v in anatomy.vertebrae if v.name.startswith("L")]
        hits = 0
        for pocket in anatomy.abdomen.gas:
            x, _, z = pocket.centre
            near = [v for v in lumbar if abs(v.centre[2] - z) < 0.5 * v.dims.body_height + 5.0]
            hits += any(abs(x - v.centre[0]) < 0.5 * v.dims.endplate_width for v in near)
        over += hits > 0
    assert 3 <= over <= 11  # it varies from study to study


def test_breasts_only_for_female_builds_in_front_of_the_chest_and_inside_the_grid():
    builds = {bool(_anatomy(seed).breasts) for seed in range(8)}
    assert builds == {True, False}
    anatomy = next(a for a in (_anatomy(seed) for seed in range(8)) if a.breasts)
    grid = _grid(anatomy)
    raster = rasterise(anatomy, grid)
    gland = raster.fractions[MATERIALS.index("gland")]
    assert float(gland.sum()) * VOXEL**3 / 1000.0 > 20.0  # ml
    y = grid.axis(1)[None, :, None].expand_as(gland)
    t7 = next(v for v in anatomy.vertebrae if v.name == "T7")
    assert float(y[gland > 0].min()) > t7.centre[1] + 60.0  # on the anterior chest wall, in front of the ribs
    for breast in anatomy.breasts:
        front = breast.mound.centre[1] + breast.mound.semi_axes[1]
        assert front <= grid.origin[1] + (grid.shape[1] - 0.5) * VOXEL  # the grid was not widened for it
        inside = breast.mound.centre + np.array([0.0, breast.mound.semi_axes[1] - 5.0, 0.0])  # 5 mm behind its front
        breast_tissue = raster.fractions[MATERIALS.index("fat")] + gland
        assert float(breast_tissue[_index(grid, inside)]) > 0.5


@pytest.fixture(scope="module")
def instrumented():
    shares = dict(DEVICE_SHARES)
    DEVICE_SHARES.update(instrumentation=1.0, ecg=1.0, snaps=1.0)
    try:
        anatomy = _anatomy(11)
    finally:
        DEVICE_SHARES.update(shares)
    grid = _grid(anatomy)
    return anatomy, grid, rasterise(anatomy, grid)


def test_instrumentation_puts_metal_along_the_planned_screws_and_is_the_brightest_in_the_ap(instrumented):
    anatomy, grid, raster = instrumented
    construct = anatomy.devices.instrumentation
    assert construct is not None and len(construct.screws) >= 8 and len(construct.rods) >= 2
    metal = raster.fractions[MATERIALS.index(construct.metal)]
    for screw in construct.screws:
        along = [metal[_index(grid, screw.start + t * (screw.end - screw.start))] for t in np.linspace(0.1, 0.9, 9)]
        assert float(np.median(along)) > 0.6 and min(along) > 0.2
    path = _ap_path(raster.fractions, grid)
    i, k = np.unravel_index(int(path.argmax()), tuple(path.shape))
    x, z = grid.origin[0] + i * VOXEL, grid.origin[2] + k * VOXEL
    ends = np.array([s.start for s in construct.screws] + [s.end for s in construct.screws])
    assert ends[:, 0].min() - 10 <= x <= ends[:, 0].max() + 10 and ends[:, 2].min() - 30 <= z <= ends[:, 2].max() + 30
    ct = render_ct(raster.fractions, grid, torch.Generator().manual_seed(0), noise_hu=0.0, blur_mm=0.0)
    assert float(ct.max()) == HU_RANGE[1] and bool((ct[metal > 0.5] == HU_RANGE[1]).all())  # clipped like a scanner


def test_foreign_objects_change_the_fractions_only(instrumented):
    anatomy, grid, raster = instrumented
    devices = anatomy.devices
    assert devices.electrodes and devices.leads and devices.buttons
    bare = rasterise(replace(anatomy, devices=Devices()), grid)
    assert torch.equal(bare.spine_mask, raster.spine_mask) and torch.equal(bare.vertebra_labels, raster.vertebra_labels)
    steel = raster.fractions[MATERIALS.index("steel")]
    for electrode in devices.electrodes:
        assert float(steel[_index(grid, electrode.centre)]) > 0.3
    wire = devices.leads[0]
    assert float(steel[_index(grid, 0.5 * (wire.start + wire.end))]) > 0.02


def test_soft_tissue_draws_leave_the_skeleton_and_the_studys_later_draws_alone():
    line = _line()
    first, second = np.random.default_rng(5), np.random.default_rng(5)
    plain = build_anatomy(line, Body(), None, first)
    shares = dict(DEVICE_SHARES)
    DEVICE_SHARES.update(instrumentation=1.0, ecg=1.0, snaps=1.0, bra_clasp=1.0)
    try:
        loaded = build_anatomy(line, Body(), None, second)
    finally:
        DEVICE_SHARES.update(shares)
    assert loaded.devices.instrumentation is not None and plain.texture_seed == loaded.texture_seed
    assert first.random() == second.random()
    for a, b in zip(plain.vertebrae, loaded.vertebrae):
        assert np.array_equal(a.centre, b.centre) and np.array_equal(a.axes, b.axes)
