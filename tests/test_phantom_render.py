"""The phantom's renderers (CT, DXA, Dixon MRI) on small hand-made fraction volumes with known answers."""

import numpy as np
import pytest
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.phantom.materials import (
    COMPONENTS,
    MATERIALS,
    Tissue,
    attenuation,
    linear_attenuation,
    mass_attenuation,
    material_property,
    material_values,
)
from monai_spine.phantom.render.ct import render_ct, sample_hu, skip_ct_draws
from monai_spine.phantom.render.dxa import dxa_geometry, project_mask_parallel, render_dxa, skip_dxa_draws
from monai_spine.phantom.render.mri import MriPose, MriPosture, mri_grid, render_mri, skip_mri_draws


def _phantom(grid: Grid, background: str = "muscle", **regions) -> torch.Tensor:
    """Fractions on ``grid``: ``background`` everywhere, then each ``material=bool (X, Y, Z) mask`` painted on top."""
    fractions = torch.zeros((len(MATERIALS), *grid.shape))
    fractions[MATERIALS.index(background)] = 1.0
    for material, mask in regions.items():
        fractions[:, mask] = 0.0
        fractions[MATERIALS.index(material), mask] = 1.0
    return fractions


def _coords(grid: Grid):
    """Phantom-frame voxel centres as broadcastable ``(X,1,1)``, ``(1,Y,1)``, ``(1,1,Z)`` tensors, mm."""
    return grid.axis(0)[:, None, None], grid.axis(1)[None, :, None], grid.axis(2)[None, None, :]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------------- materials


def test_material_property_mixes_by_volume_and_batches():
    grid = Grid((2, 3, 4), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    fractions = torch.rand((2, len(MATERIALS), *grid.shape), generator=_gen())
    fractions /= fractions.sum(1, keepdim=True)
    hu = material_values("hu")
    expected = (fractions * torch.as_tensor(hu, dtype=torch.float32)[:, None, None, None]).sum(1)
    assert torch.allclose(material_property(fractions, "hu"), expected, atol=1e-3)
    mu = attenuation(fractions, "dxa_low")
    assert mu.shape == (2, *grid.shape)
    with pytest.raises(ValueError, match="mix by volume"):
        material_property(fractions, "t1_water_ms")


def test_attenuation_values_follow_nist_and_dual_energy_physics():
    cortical = MATERIALS.index("cortical")
    pure = torch.eye(len(MATERIALS))[:, :, None, None, None]  # one voxel of each material
    mu_low = attenuation(pure, 40.0)[:, 0, 0, 0]
    assert mu_low[cortical] == pytest.approx(0.6655 * 1.92 / 10.0, rel=1e-5)  # NIST table value × density, 1/mm
    w = np.log(70.0 / 60.0) / np.log(80.0 / 60.0)  # 70 keV lies between the tabulated 60 and 80 keV
    assert mass_attenuation("muscle", "dxa_high") == pytest.approx(0.2048 ** (1 - w) * 0.1823**w, rel=1e-6)
    ratio = {name: mass_attenuation(name, "dxa_low") / mass_attenuation(name, "dxa_high") for name in COMPONENTS}
    assert ratio["cortical_bone"] > ratio["muscle"] > ratio["adipose"]  # the R-values that DXA relies on
    assert linear_attenuation("radiograph").shape == (len(COMPONENTS),)
    with pytest.raises(ValueError, match="energy"):
        attenuation(pure, 150.0)


def test_bone_scale_keeps_that_share_of_bones_attenuation_above_soft_tissue():
    pure = torch.eye(len(MATERIALS))[:, :, None, None, None].double()
    tissue = Tissue(0.12, 0.45, 0.2)
    full, none, half = (attenuation(pure, "radiograph", tissue, scale)[:, 0, 0, 0] for scale in (1.0, 0.0, 0.5))
    assert torch.equal(full, attenuation(pure, "radiograph", tissue)[:, 0, 0, 0])
    muscle = full[MATERIALS.index("muscle")]
    bone_tissue = linear_attenuation("radiograph")[list(COMPONENTS).index("cortical_bone")]
    for material in ("cortical", "cancellous"):
        m = MATERIALS.index(material)
        bone_share = tissue.composition()[m, list(COMPONENTS).index("cortical_bone")]
        assert float(full[m] - none[m]) == pytest.approx(bone_share * (bone_tissue - float(muscle)), rel=1e-9)
        assert float(half[m]) == pytest.approx(0.5 * float(full[m] + none[m]), rel=1e-9)
    assert float(none[MATERIALS.index("cortical")]) == pytest.approx(
        (1 - tissue.cortical_porosity) * float(muscle) + tissue.cortical_porosity * float(
            linear_attenuation("radiograph")[list(COMPONENTS).index("cortical_pore")]), rel=1e-9)
    others = [m for m in range(len(MATERIALS)) if MATERIALS[m] not in ("cortical", "cancellous")]
    assert torch.equal(full[others], none[others])


def test_cancellous_bone_follows_the_persons_tissue():
    dense, porous = Tissue(0.16, 0.30), Tissue(0.07, 0.60)
    c = MATERIALS.index("cancellous")
    assert material_values("hu", dense)[c] > material_values("hu", porous)[c] + 100.0
    assert material_values("pd_fat", porous)[c] > material_values("pd_fat", dense)[c]
    for seed in range(20):
        tissue = Tissue.sample(_gen(seed))
        assert 0.04 <= tissue.bone_volume_fraction <= 0.2 and 0.2 <= tissue.marrow_fat_fraction <= 0.7
        assert 0.0 <= tissue.cortical_porosity <= 0.6
    with pytest.raises(ValueError, match="bone_volume_fraction"):
        Tissue(bone_volume_fraction=1.5)


# ---------------------------------------------------------------------------------------------------------- CT


@pytest.mark.parametrize("material", ["lung", "fat", "muscle", "disc", "cancellous", "cortical"])
def test_ct_pure_block_has_its_hu(material):
    grid = Grid((24, 24, 24), (1.5, 1.5, 1.5), (0.0, 0.0, 0.0))
    block = torch.zeros(grid.shape, dtype=torch.bool)
    block[4:20, 4:20, 4:20] = True
    fractions = _phantom(grid, "air", **{material: block})
    inner = (slice(8, 16),) * 3
    hu = material_values("hu")
    ct = render_ct(fractions, grid, _gen(), noise_hu=10.0, hu=hu)
    assert ct.dtype == torch.float32 and ct.shape == grid.shape
    assert float(ct[inner].mean()) == pytest.approx(hu[MATERIALS.index(material)], abs=2.0)
    assert float(ct[inner].std()) == pytest.approx(10.0, rel=0.15)
    assert float(ct[0, 0, 0]) == pytest.approx(-1000.0, abs=50.0)
    # Per-study CT numbers: within their spread of the typical value.
    spread = {"lung": 60, "fat": 15, "muscle": 10, "disc": 15, "cancellous": 150, "cortical": 150}[material]
    drawn = render_ct(fractions, grid, _gen(3), noise_hu=0.0)
    assert abs(float(drawn[inner].mean()) - hu[MATERIALS.index(material)]) < 4 * spread


def test_ct_blur_spreads_an_edge_and_values_are_clipped():
    grid = Grid((16, 14, 14), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    bone = torch.zeros(grid.shape, dtype=torch.bool)
    bone[8:] = True
    fractions = _phantom(grid, "muscle", cortical=bone)
    hu = material_values("hu")
    sharp = render_ct(fractions, grid, _gen(), noise_hu=0.0, blur_mm=0.0, hu=hu)[:, 7, 7]
    soft = render_ct(fractions, grid, _gen(), noise_hu=0.0, blur_mm=1.5, hu=hu)[:, 7, 7]
    assert float(sharp[7]) == pytest.approx(hu[MATERIALS.index("muscle")], abs=1e-3)
    assert hu[MATERIALS.index("muscle")] + 100 < float(soft[7]) < float(soft[8]) < hu[MATERIALS.index("cortical")] - 100
    hot = render_ct(fractions, grid, _gen(), noise_hu=0.0, blur_mm=0.0, hu=np.full(len(MATERIALS), 5000.0))
    assert float(hot.max()) == 3071.0


def test_sample_hu_varies_between_people():
    tissue = Tissue()
    a, b = sample_hu(_gen(1), tissue), sample_hu(_gen(2), tissue)
    assert not np.allclose(a, b)
    assert a[MATERIALS.index("air")] == -1000.0


# --------------------------------------------------------------------------------------------------------- DXA


def _slab_phantom(bone_mm: float):
    """Muscle 150 mm deep in the upper rows and 250 mm in the lower, with a centred cortical slab ``bone_mm`` thick."""
    grid = Grid((40, 128, 40), (2.0, 2.5, 2.0), (-39.0, -158.75, 0.0))  # voxel edges on multiples of 2.5 mm
    x, y, z = _coords(grid)
    depth = torch.where(z < 40.0, 75.0, 125.0)
    body = (y.abs() < depth).expand(grid.shape)
    slab = ((x.abs() < 10.0) & (y.abs() < bone_mm / 2)).expand(grid.shape)
    return _phantom(grid, "air", muscle=body, cortical=slab), grid


@pytest.mark.parametrize("bone_mm", [5.0, 20.0])
def test_dxa_bone_channel_is_areal_density_and_soft_tissue_does_not_leak(bone_mm):
    fractions, grid = _slab_phantom(bone_mm)
    dxa = render_dxa(fractions, grid, _gen(), pixel_mm=1.0, photons_per_mm2=1e12, tissue=Tissue())  # compact cortex
    expected = bone_mm * 1.92 / 10.0  # g/cm² of ICRU-44 cortical bone
    column = int(round(dxa.to_pixel([0.0, 0.0])[0]))
    thin = float(dxa.bone[column - 3 : column + 4, 5:25].mean())  # rows in 150 mm of muscle
    thick = float(dxa.bone[column - 3 : column + 4, 55:75].mean())  # rows in 250 mm
    assert thin == pytest.approx(expected, rel=0.02) and thick == pytest.approx(expected, rel=0.02)
    beside = dxa.bone[column + 20 : column + 30]
    assert float(beside[:, 5:25].abs().max()) < 0.01 and float(beside[:, 55:75].abs().max()) < 0.01  # no bone
    soft = dxa.soft[column + 20 : column + 30]
    assert float(soft[:, 5:25].mean()) == pytest.approx(15.0 * 1.05, rel=0.02)  # 15 cm of muscle, g/cm²
    assert float(soft[:, 55:75].mean()) == pytest.approx(25.0 * 1.05, rel=0.02)


def test_dxa_photon_noise_follows_exposure():
    fractions, grid = _slab_phantom(10.0)
    low = render_dxa(fractions, grid, _gen(), photons_per_mm2=1e4).bone[60:75, 55:75].std()
    high = render_dxa(fractions, grid, _gen(), photons_per_mm2=1e6).bone[60:75, 55:75].std()
    assert float(low / high) == pytest.approx(10.0, rel=0.25)  # noise ∝ 1 / sqrt(photons)


@pytest.mark.parametrize("pixel_mm", [0.5, 2.5])
def test_dxa_resampling_keeps_positions(pixel_mm):
    grid = Grid((50, 20, 30), (2.0, 5.0, 2.0), (-49.0, -47.5, 0.0))
    rod = torch.zeros(grid.shape, dtype=torch.bool)
    rod[31, 8:12, :] = True  # one voxel wide, at x = 13 mm
    fractions = _phantom(grid, "muscle", cortical=rod)
    dxa = render_dxa(fractions, grid, _gen(), pixel_mm=pixel_mm, photons_per_mm2=1e12)
    assert dxa.shape == dxa_geometry(grid, pixel_mm)[0] and dxa.pixel_mm == (pixel_mm, pixel_mm)
    expected = dxa.to_pixel([13.0, 30.0])
    columns = torch.arange(dxa.shape[0], dtype=torch.float64)
    window = (columns - expected[0]).abs() < 8.0 / pixel_mm
    profile = dxa.bone.double().mean(1) * window
    assert float((profile * columns).sum() / profile.sum()) == pytest.approx(expected[0], abs=0.5)
    truth = project_mask_parallel(rod, grid, dxa)
    found = columns[truth.any(1)]
    assert float(found.float().mean()) == pytest.approx(expected[0], abs=0.5)
    assert truth.shape == dxa.shape and bool(truth[truth.any(1)].all())  # the rod spans every row


# --------------------------------------------------------------------------------------------------------- MRI


def _mri_phantom():
    grid = Grid((40, 24, 60), (2.0, 2.0, 2.0), (-39.0, -23.0, 0.0))
    x, y, z = _coords(grid)
    fat = (x < -15.0).expand(grid.shape)
    lung = ((x > 15.0) & (z < 30.0)).expand(grid.shape)
    return grid, fat, lung


def test_mri_fat_shows_in_fat_image_not_water():
    grid, fat, lung = _mri_phantom()
    fractions = _phantom(grid, "muscle", fat=fat, lung=lung)
    mri = render_mri(fractions, torch.zeros(grid.shape, dtype=torch.bool), grid, _gen(), snr=1e4, bias_strength=0.0)
    assert mri.in_phase.shape == mri.water.shape == mri.fat.shape == mri.spine_mask.shape == mri.grid.shape
    assert mri.grid.spacing == (2.232, 2.232, 3.0)
    index = lambda point: tuple(int(round(i)) for i in mri.grid.to_index(point))  # noqa: E731
    in_fat, in_muscle, in_lung = index([-28.0, 0.0, 90.0]), index([0.0, 0.0, 90.0]), index([28.0, 0.0, 20.0])
    assert float(mri.fat[in_fat]) > 5 * float(mri.water[in_fat])
    assert float(mri.water[in_muscle]) > 10 * float(mri.fat[in_muscle])
    assert float(mri.fat[in_fat]) > float(mri.water[in_muscle])  # T1 weighting: fat is bright
    assert float(mri.in_phase[in_lung]) < 0.05 * float(mri.in_phase[in_muscle])  # lung: almost no signal
    assert float(mri.in_phase[in_fat]) == pytest.approx(float(mri.water[in_fat] + mri.fat[in_fat]), rel=0.01)


def _above_muscle(mri) -> torch.Tensor:
    """The fat image less its value in muscle (the median inside the body), clamped at 0: fat markers only."""
    body = mri.in_phase > 0.1 * float(mri.in_phase.max())
    return (mri.fat - float(mri.fat[body].median())).clamp_min(0.0)


def _marker_centroid(volume: torch.Tensor, grid: Grid) -> np.ndarray:
    """Centroid of a volume in its grid's frame, mm."""
    weights = volume.double() / volume.double().sum()
    axes = [grid.axis(d, dtype=torch.float64).reshape([-1 if i == d else 1 for i in range(3)]) for d in range(3)]
    return np.array([float((weights * axis).sum()) for axis in axes])


def test_pose_puts_a_marker_where_the_recorded_transform_says():
    grid = Grid((40, 20, 50), (2.0, 2.0, 2.0), (-39.0, -19.0, 0.0))
    x, y, z = _coords(grid)
    p0 = np.array([11.0, 3.0, 61.0])
    marker = ((x - p0[0]).abs() <= 4) & ((y - p0[1]).abs() <= 4) & ((z - p0[2]).abs() <= 4)
    fractions = _phantom(grid, "muscle", fat=marker)
    pose = MriPose(rotation_deg=7.0, translation_mm=(12.0, -9.0), centre_mm=(5.0, 20.0))
    mri = render_mri(fractions, marker, grid, _gen(), pose=pose, snr=1e5, bias_strength=0.0)
    dxa = render_dxa(fractions, grid, _gen(), photons_per_mm2=1e12)
    expected = mri.phantom_to_mri(p0)
    tolerance = 0.5 * np.asarray(mri.grid.spacing)
    fat_centroid = _marker_centroid(_above_muscle(mri), mri.grid)
    mask_centroid = _marker_centroid(mri.spine_mask, mri.grid)
    assert np.all(np.abs(fat_centroid - expected) < 0.5 * tolerance)
    assert np.all(np.abs(mask_centroid - expected) < tolerance)
    # The recorded MRI → DXA matrix takes the marker's MRI coronal-frame position to its DXA image-frame position.
    mri_coronal = fat_centroid[[0, 2]] - np.asarray(mri.grid.origin)[[0, 2]]
    in_dxa = mri.matrix_mri_to_dxa(dxa) @ np.append(mri_coronal, 1.0)
    assert np.all(np.abs(in_dxa[:2] - dxa.to_image_mm(p0[[0, 2]])) < 0.5 * tolerance[[0, 2]])
    assert np.allclose(mri.mri_to_phantom(mri.phantom_to_mri(p0)), p0)


def test_posture_moves_the_lower_spine_by_the_requested_amount():
    grid = Grid((40, 24, 70), (2.0, 2.0, 2.0), (-39.0, -23.0, 0.0))
    x, y, z = _coords(grid)
    posture = MriPosture(bend_mm=15.0, lordosis_mm=-6.0, start_z_mm=40.0, end_z_mm=110.0)
    markers = {}
    for name, height in (("upper", 25.0), ("lower", 110.0)):
        markers[name] = (x.abs() <= 4) & (y.abs() <= 4) & ((z - height).abs() <= 4)
    fractions = _phantom(grid, "muscle", fat=markers["upper"] | markers["lower"])
    mri = render_mri(fractions, markers["lower"], grid, _gen(), posture=posture, snr=1e5, bias_strength=0.0)
    fat = _above_muscle(mri)
    z_mri = mri.grid.axis(2)[None, None, :]
    upper = _marker_centroid(fat * (z_mri < 70.0), mri.grid)
    lower = _marker_centroid(fat * (z_mri >= 70.0), mri.grid)
    half = 0.5 * np.asarray(mri.grid.spacing)
    assert np.all(np.abs(upper - [0.0, 0.0, 25.0]) < half)
    assert np.all(np.abs(lower - [15.0, -6.0, 110.0]) < half)
    assert np.all(np.abs(_marker_centroid(mri.spine_mask, mri.grid) - [15.0, -6.0, 110.0]) < 2 * half)
    assert np.allclose(posture.invert(posture.apply([[3.0, 1.0, 150.0]])), [[3.0, 1.0, 150.0]])


def test_default_mri_grid_covers_the_posed_phantom():
    grid = Grid((40, 20, 50), (2.0, 2.0, 2.0), (-39.0, -19.0, 0.0))
    pose = MriPose(rotation_deg=10.0, translation_mm=(30.0, 0.0))
    target = mri_grid(grid, pose)
    corners = pose.apply(grid.to_mm(np.array([[0, 0, 0], [39, 19, 49], [0, 19, 49], [39, 0, 0]])))
    index = target.to_index(corners)
    assert np.all(index >= -0.5) and np.all(index <= np.asarray(target.shape) - 0.5)


# ------------------------------------------------------------------------------------------- determinism, errors


def test_renderers_are_deterministic_given_the_generator():
    grid, fat, lung = _mri_phantom()
    fractions = _phantom(grid, "muscle", fat=fat, lung=lung)
    mask = torch.zeros(grid.shape, dtype=torch.bool)

    def render(seed):
        gen = _gen(seed)
        pose, posture = MriPose.sample(gen), MriPosture.sample(gen, start_z_mm=40.0, end_z_mm=100.0)
        ct = render_ct(fractions, grid, gen)
        dxa = render_dxa(fractions, grid, gen)
        mri = render_mri(fractions, mask, grid, gen, pose=pose, posture=posture)
        return ct, dxa.bone, dxa.soft, mri.in_phase, mri.water, mri.fat

    first, again, other = render(5), render(5), render(6)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not any(torch.equal(a, b) for a, b in zip(first, other))


def test_skipping_a_modality_leaves_the_generator_where_rendering_it_does():
    """What a study renders after a skipped modality is what it renders after that modality rendered."""
    grid, fat, lung = _mri_phantom()
    fractions = _phantom(grid, "muscle", fat=fat, lung=lung)
    mask = torch.zeros(grid.shape, dtype=torch.bool)
    tissue = Tissue()
    pose, posture = MriPose(1.5, (4.0, -3.0), (0.0, 60.0)), MriPosture(bend_mm=5.0, start_z_mm=40.0, end_z_mm=100.0)
    cases = [
        (lambda g: render_ct(fractions, grid, g, tissue=tissue), lambda g: skip_ct_draws(g, grid)),
        (lambda g: render_dxa(fractions, grid, g, pixel_mm=1.7, tissue=tissue),
         lambda g: skip_dxa_draws(g, grid, pixel_mm=1.7)),
        (lambda g: render_mri(fractions, mask, grid, g, pose, posture, tissue=tissue),
         lambda g: skip_mri_draws(g, grid, pose, posture)),
    ]
    for render, skip in cases:
        rendered, skipped = _gen(3), _gen(3)
        render(rendered)
        skip(skipped)
        assert torch.equal(rendered.get_state(), skipped.get_state())
        assert not torch.equal(skipped.get_state(), _gen(3).get_state())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda f, m, g: render_dxa(f, g, _gen(), pixel_mm=0.0), "pixel_mm"),
        (lambda f, m, g: render_dxa(f, g, _gen(), pixel_mm=(1.0, 3.0)), "pixel_mm"),
        (lambda f, m, g: render_dxa(f, g, _gen(), photons_per_mm2=-1.0), "photons_per_mm2"),
        (lambda f, m, g: render_ct(f, g, _gen(), noise_hu=-1.0), "noise_hu"),
        (lambda f, m, g: render_ct(f, g, _gen(), blur_mm=-0.5), "blur_mm"),
        (lambda f, m, g: render_ct(f[:5], g, _gen()), "materials"),
        (lambda f, m, g: render_ct(f[:, :-1], g, _gen()), "does not match the grid"),
        (lambda f, m, g: render_mri(f, m, g, _gen(), snr=0.0), "snr"),
        (lambda f, m, g: render_mri(f, m[:-1], g, _gen()), "spine_mask"),
        (lambda f, m, g: MriPosture(bend_mm=5.0, start_z_mm=100.0, end_z_mm=50.0), "end_z_mm"),
        (lambda f, m, g: project_mask_parallel(m[:-1], g, None), "mask shape"),
    ],
)
def test_bad_parameters_raise_clear_errors(call, message):
    grid = Grid((6, 5, 4), (2.0, 2.0, 2.0), (0.0, 0.0, 0.0))
    fractions, mask = _phantom(grid), torch.zeros(grid.shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=message):
        call(fractions, mask, grid)
