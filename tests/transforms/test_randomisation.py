"""Domain randomisation transforms: known truth for each (label intensities, contrast order, exact inversion,
grid period, shutters, field of view, the arms' chord-length profile) plus determinism, numpy/torch inputs and
array/dictionary agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.transforms import (
    DIXON_CONTRASTS,
    FOV_PRESETS,
    MRI_CONTRASTS,
    RandArmsOverlay,
    RandArmsOverlayd,
    RandBowelGas,
    RandBowelGasd,
    RandCollimation,
    RandDixonContrast,
    RandDixonContrastD,
    RandDixonContrastd,
    RandFlattenLowFrequency,
    RandGridLines,
    RandIntensityLookup,
    RandInvert,
    RandLabelToIntensity,
    RandLabelToIntensityd,
    RandMarkers,
    RandQuantumNoise,
    RandScatter,
    RandSpineFieldOfView,
    RandSpineFieldOfViewd,
    RandWiresAndButtons,
    TissueLabel,
    ct_to_tissue_labels,
    dxa_randomisation,
    mri_randomisation,
    radiograph_randomisation,
)

IMAGE_TRANSFORMS = (RandScatter, RandFlattenLowFrequency, RandQuantumNoise, RandIntensityLookup, RandInvert,
                    RandGridLines, RandCollimation, RandMarkers, RandWiresAndButtons, RandArmsOverlay, RandBowelGas)


def _labels(shape=(1, 24, 20, 30)) -> np.ndarray:
    """A label map with every tissue in slabs along the last axis."""
    labels = np.zeros(shape, dtype=np.uint8)
    for k, tissue in enumerate(TissueLabel):
        labels[..., 3 * k : 3 * k + 3] = tissue
    return labels


def _radiograph(width=120, height=200) -> np.ndarray:
    """A smooth 2D image ``(1, W, H)`` with a bright vertical band (a spine)."""
    u, v = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    return (0.3 + 0.5 * np.exp(-((u - width / 2) / 10) ** 2) + 0.1 * v / height)[None].astype(np.float32)


def _spine_mask(width=120, height=200, top=40, bottom=180) -> np.ndarray:
    mask = np.zeros((1, width, height), dtype=np.float32)
    mask[:, width // 2 - 8 : width // 2 + 8, top : bottom + 1] = 1
    return mask


def test_ct_to_tissue_labels_thresholds():
    hu = np.array([-1000, -700, -100, 5, 50, 200, 1200, 3000])
    expected = [TissueLabel.BACKGROUND, TissueLabel.LUNG, TissueLabel.FAT, TissueLabel.FLUID, TissueLabel.SOFT_TISSUE,
                TissueLabel.MARROW, TissueLabel.CORTICAL, TissueLabel.METAL]
    assert ct_to_tissue_labels(hu).tolist() == [int(t) for t in expected]
    labels = ct_to_tissue_labels(MetaTensor(torch.tensor(hu, dtype=torch.float32), affine=torch.eye(4)))
    assert isinstance(labels, MetaTensor) and labels.dtype == torch.uint8


def test_label_intensities_constant_within_and_different_between_draws():
    labels = _labels()
    generator = RandLabelToIntensity(contrasts=None, std_range=(0, 0), texture_range=(0, 0))
    generator.set_random_state(3)
    first, second = generator(labels), generator(labels)
    means = []
    for image in (first, second):
        per_label = {t: np.unique(image[labels == t]) for t in TissueLabel}
        assert all(len(values) == 1 for values in per_label.values())  # one value per label
        means.append(np.array([per_label[t][0] for t in TissueLabel]))
    assert np.abs(means[0] - means[1]).min() > 1e-4  # every label's intensity changed between draws
    assert len(np.unique(means[0])) == len(TissueLabel)


def test_label_spread_and_texture_add_variation_inside_labels():
    labels = _labels()
    generator = RandLabelToIntensity(contrasts=None, std_range=(0.05, 0.05), texture_range=(0.1, 0.1))
    generator.set_random_state(0)
    image = generator(torch.as_tensor(labels))
    assert isinstance(image, torch.Tensor) and image.dtype == torch.float32
    assert float(image[torch.as_tensor(labels) == TissueLabel.FAT].std()) > 0.05


def test_label_texture_has_its_amplitude_in_every_label():
    """One smoothed field textures every label (disjoint voxels), each scaled by its own amplitude."""
    labels = torch.as_tensor(_labels())
    generator = RandLabelToIntensity(contrasts=None, std_range=(0.0, 0.0), texture_range=(0.1, 0.1))
    generator.set_random_state(3)
    image = generator(labels)
    for value in labels.unique():
        inside = labels == value
        if int(inside.sum()) > 2000:
            assert 0.07 < float(image[inside].std()) < 0.13, int(value)


@pytest.mark.parametrize(("contrast", "brighter", "darker"), [
    ("fat", TissueLabel.FAT, TissueLabel.FLUID),
    ("water", TissueLabel.FLUID, TissueLabel.FAT),
    ("in_phase", TissueLabel.FAT, TissueLabel.SOFT_TISSUE),
    ("t1", TissueLabel.FAT, TissueLabel.FLUID),
    ("t1", TissueLabel.MARROW, TissueLabel.DISC),
    ("t2", TissueLabel.FLUID, TissueLabel.SOFT_TISSUE),
    ("t2", TissueLabel.DISC, TissueLabel.MARROW),
    ("opposed_phase", TissueLabel.SOFT_TISSUE, TissueLabel.MARROW),
])
def test_contrast_presets_order_tissues(contrast, brighter, darker):
    labels = _labels()
    generator = RandLabelToIntensity(contrasts=[contrast], std_range=(0, 0), texture_range=(0, 0))
    generator.set_random_state(0)
    for _ in range(20):
        image = generator(labels)
        assert generator.contrast == contrast
        assert image[labels == brighter].mean() > image[labels == darker].mean()
        assert image[labels == TissueLabel.CORTICAL].mean() < 0.1


def test_contrasts_are_all_drawn():
    generator = RandLabelToIntensity()
    generator.set_random_state(0)
    labels = _labels((1, 4, 4, 30))
    drawn = set()
    for _ in range(60):
        generator.randomize(labels)
        drawn.add(generator.contrast)
    assert drawn == set(MRI_CONTRASTS)


def test_label_to_intensity_dict_keeps_labels_and_matches_array():
    labels = torch.as_tensor(_labels())
    data = RandLabelToIntensityd("tissues", output_keys="image", contrasts=["t2"]).set_random_state(5)(
        {"tissues": labels})
    image = RandLabelToIntensity(contrasts=["t2"]).set_random_state(5)(labels)
    assert torch.equal(data["tissues"], labels)
    assert torch.allclose(data["image"], image)


def test_inversion_twice_is_identity_and_keeps_range():
    image = np.round(_radiograph() * 1000).astype(np.float32)
    invert = RandInvert(prob=1.0)
    once = invert(image)
    assert once.min() == image.min() and once.max() == image.max()
    assert np.array_equal(invert(once), image)
    assert np.array_equal(once, image.max() + image.min() - image)


@pytest.mark.parametrize(("angle", "axis"), [(0.0, 0), (90.0, 1)])
def test_grid_lines_have_the_requested_period(angle, axis):
    image = np.zeros((1, 128, 160), dtype=np.float32)
    image[0, 0, 0] = 1.0  # a range of 1
    period = 4.0
    grid = RandGridLines(period_px_range=(period, period), angles_deg=(angle,), angle_jitter_deg=0.0,
                         amplitude_range=(0.05, 0.05), prob=1.0)
    lines = grid(image)[0] - image[0]
    spectrum = np.abs(np.fft.rfft(lines.mean(axis=1 - axis), axis=0))
    n = image.shape[1 + axis]
    assert int(np.argmax(spectrum[1:]) + 1) == round(n / period)
    assert np.abs(lines.mean(axis=axis)).max() < 1e-3  # constant along the lines


def test_collimation_makes_shuttered_region_constant():
    image = torch.as_tensor(_radiograph())
    collimation = RandCollimation(side_prob=1.0, depth_range=(0.1, 0.2), prob=1.0)
    collimation.set_random_state(2)
    out = collimation(image)
    shutter = torch.as_tensor(collimation.shutter)[None]
    assert 0 < int(shutter.sum()) < shutter.numel()
    assert torch.unique(out[shutter]).numel() == 1
    assert float(out[shutter][0]) in (float(image.min()), float(image.max()))
    assert torch.equal(out[~shutter], image[~shutter])
    assert shutter[0, 0, :].all() and shutter[0, -1, :].all()  # every side shuttered


@pytest.mark.parametrize("transform", IMAGE_TRANSFORMS)
def test_image_transforms_numpy_torch_deterministic_and_leave_masks(transform):
    image, mask = _radiograph(), _spine_mask()
    a = transform(prob=1.0).set_random_state(7)(image)
    b = transform(prob=1.0).set_random_state(7)(torch.as_tensor(image))
    meta = transform(prob=1.0).set_random_state(7)(MetaTensor(torch.as_tensor(image), affine=torch.eye(3)))
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor) and isinstance(meta, MetaTensor)
    assert a.shape == image.shape and np.allclose(a, b.numpy(), atol=1e-6)
    assert not np.allclose(a, image)
    dictionary_form = getattr(__import__("monai_spine.transforms", fromlist=["x"]), transform.__name__ + "d")
    data = dictionary_form("image", prob=1.0).set_random_state(7)({"image": image, "label": mask.copy()})
    assert np.array_equal(data["label"], mask)  # image-only: the mask is untouched
    assert np.allclose(data["image"], a, atol=1e-6)  # dictionary and array forms agree


def test_quantum_noise_grows_with_intensity():
    image = np.concatenate([np.full((1, 200, 100), 0.1), np.full((1, 200, 100), 1.0)], axis=2).astype(np.float32)
    image[0, 0, 0] = 0.0
    out = RandQuantumNoise(photons_range=(400, 400), prob=1.0).set_random_state(0)(image)
    dark, bright = out[0, :, 1:100].std(), out[0, :, 100:].std()
    assert bright / dark == pytest.approx(np.sqrt(10), rel=0.15)
    assert bright == pytest.approx(np.sqrt(1.0 / 400), rel=0.1)


def test_intensity_lookup_keeps_tissues_uniform_and_reorders_them():
    tissues = np.repeat(np.array([0.0, 1 / 3, 2 / 3, 1.0], dtype=np.float32), 25)[None, :, None] * np.ones((1, 1, 10))
    lookup = RandIntensityLookup(knots_range=(4, 4), prob=1.0)
    orders = set()
    for seed in range(20):
        out = lookup.set_random_state(seed)(tissues)
        means = out[0, ::25, 0]
        assert np.allclose(out[0].reshape(4, 25, 10), means[:, None, None], atol=1e-6)  # a tissue stays one value
        assert np.allclose(means, lookup.knots)  # with 4 knots the 4 tissue values are the knots themselves
        orders.add(tuple(np.argsort(means)))
    assert len(orders) > 5  # the tissues' brightness order is drawn, not kept
    with pytest.raises(ValueError, match="knots_range"):
        RandIntensityLookup(knots_range=(1, 3))


def test_scatter_keeps_mean_and_lowers_detail():
    image = _radiograph()
    out = RandScatter(fraction_range=(0.4, 0.4), sigma_mm_range=(30, 30), prob=1.0)(image)
    assert out.mean() == pytest.approx(image.mean(), rel=0.02)
    assert np.ptp(out[0, :, 100]) < np.ptp(image[0, :, 100])


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_flatten_low_frequency_scales_the_large_scale_and_keeps_detail_and_mean(share):
    """A ramp (large scale: a Gaussian blur keeps a linear function) loses ``share`` of its slope away from the
    edges; a 4-pixel texture (blurred away by σ 40 mm) keeps its amplitude; the mean is kept."""
    u, v = np.meshgrid(np.arange(120), np.arange(200), indexing="ij")
    ramp, texture = 0.004 * v, 0.05 * np.sin(2 * np.pi * u / 4)
    image = MetaTensor(torch.as_tensor((1.0 + ramp + texture)[None], dtype=torch.float32),
                       affine=torch.diag(torch.tensor([2.0, 2.0, 1.0], dtype=torch.float64)))
    out = RandFlattenLowFrequency(share_range=(share, share), sigma_mm_range=(40, 40), prob=1.0)(image)[0].numpy()
    inner = np.s_[60:61, 90:110]  # 30 pixels (60 mm) and more from every edge
    slope = np.polyfit(v[inner].ravel(), (out - texture)[inner].ravel(), 1)[0]
    assert slope == pytest.approx(0.004 * (1 - share), rel=0.03)
    assert np.allclose(out[58:62, 100] - out[58:62, 100].mean(), texture[58:62, 100], atol=2e-3)
    assert out.mean() == pytest.approx(float(image.mean()), abs=1e-5)


@pytest.mark.parametrize("preset", sorted(FOV_PRESETS))
@pytest.mark.parametrize("mode", ["crop", "fill"])
def test_field_of_view_keeps_minimum_spine_and_crops_mask_like_image(preset, mode):
    spacing = 2.0
    affine = torch.diag(torch.tensor([1.5, spacing, 1.0], dtype=torch.float64))
    image = MetaTensor(torch.as_tensor(_radiograph(120, 400)), affine=affine)
    mask = MetaTensor(torch.as_tensor(_spine_mask(120, 400, top=60, bottom=360)), affine=affine)
    marked = image + 10 * mask  # the mask's pixels are recognisable in the image
    fov = RandSpineFieldOfViewd(["image", "label"], "label", presets=[preset], min_spine_mm=150.0,
                                width_mm=(80.0, 150.0), mode=mode)
    for seed in range(10):
        out = fov.set_random_state(seed)({"image": marked, "label": mask})
        visible = out["label"][0].any(0).nonzero().flatten()
        assert (visible[-1] - visible[0] + 1) * spacing >= 150.0
        assert torch.equal(out["image"] > 5, out["label"] > 0)  # the same window for image and mask
        if mode == "crop":
            assert out["image"].shape == out["label"].shape
            assert out["image"].shape[1] * 1.5 <= 150.0 + 1.5
            assert torch.allclose(out["image"].affine[:2, :2], affine[:2, :2])
        else:
            assert out["image"].shape == marked.shape


def test_radiograph_randomisation_puts_skull_and_pelvis_in_and_out_of_the_field():
    """A whole-spine radiograph (C1-S1 column, 80 mm of skull above it, 100 mm of pelvis below, 2 mm pixels): over
    the radiograph training draws the skull and the pelvis are each in the field in some images and out in others."""
    spacing, top, bottom = 2.0, 40, 350
    affine = torch.diag(torch.tensor([2.0, spacing, 1.0], dtype=torch.float64))
    image = MetaTensor(torch.as_tensor(_radiograph(120, 400)), affine=affine)
    mask = MetaTensor(torch.as_tensor(_spine_mask(120, 400, top=top, bottom=bottom)), affine=affine)
    skull_in = pelvis_in = pelvis_out = 0
    draws = 200
    for seed in range(draws):
        out = radiograph_randomisation().set_random_state(seed)({"image": image.clone(), "label": mask.clone()})
        rows = out["label"][0].any(0).nonzero().flatten()
        skull_in += int(rows[0] * spacing >= 20.0)  # at least 20 mm of the skull above C1
        below_mm = (out["label"].shape[2] - 1 - rows[-1]) * spacing
        pelvis_in += int(below_mm >= 40.0)
        pelvis_out += int(below_mm == 0.0)  # the field ends inside the column: no pelvis
    # whole images half the time, and of the cropped ones the chest fields keep the skull and end above the pelvis
    assert 0.45 * draws < skull_in < 0.8 * draws and 0.45 * draws < pelvis_in < 0.8 * draws
    assert 0.15 * draws < pelvis_out < 0.5 * draws


def test_field_of_view_without_mask_and_with_numpy():
    image = _radiograph(60, 300)
    fov = RandSpineFieldOfView(presets=["lumbar"], spacing_mm=1.0).set_random_state(0)
    out = fov(image)
    assert isinstance(out, np.ndarray) and 150 <= out.shape[2] <= 260 and out.shape[1] == 60
    assert np.array_equal(out, image[:, :, fov.window[1]])


def test_compositions_reproducible_and_masks_follow_images():
    image, mask = torch.as_tensor(_radiograph(120, 400)), torch.as_tensor(_spine_mask(120, 400, 60, 360))
    for make in (dxa_randomisation, radiograph_randomisation):
        runs = [make().set_random_state(s)({"image": image.clone(), "label": mask.clone()}) for s in (1, 1, 2)]
        assert torch.equal(runs[0]["image"], runs[1]["image"]) and torch.equal(runs[0]["label"], runs[1]["label"])
        assert not (runs[0]["image"].shape == runs[2]["image"].shape
                    and torch.equal(runs[0]["image"], runs[2]["image"]))
        for run in runs:
            assert run["image"].shape == run["label"].shape
            assert set(torch.unique(run["label"]).tolist()) <= {0.0, 1.0}
    labels = torch.as_tensor(_labels((1, 24, 20, 60)))
    spine = (labels == TissueLabel.DISC) | (labels == TissueLabel.MARROW)
    runs = [mri_randomisation().set_random_state(s)({"tissues": labels, "label": spine}) for s in (4, 4)]
    assert torch.equal(runs[0]["image"], runs[1]["image"])
    assert runs[0]["image"].shape == runs[0]["label"].shape == runs[0]["tissues"].shape


def _dixon(shape=(1, 12, 10, 8)) -> tuple[np.ndarray, np.ndarray]:
    """Water and fat images of four tissues in slabs along the last axis: fluid (water 1.0, fat 0), muscle (0.4, 0),
    fatty marrow (0.3, 0.5) and fat (0.05, 0.9), as a Dixon pair shows them."""
    water, fat = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for k, (w, f) in enumerate([(1.0, 0.0), (0.4, 0.0), (0.3, 0.5), (0.05, 0.9)]):
        water[..., 2 * k : 2 * k + 2], fat[..., 2 * k : 2 * k + 2] = w, f
    return water, fat


@pytest.mark.parametrize(
    "contrast, expected",
    [
        ("in_phase", lambda w, f: w + f),
        ("opposed_phase", lambda w, f: np.abs(w - f)),
        ("water", lambda w, f: w),
        ("fat", lambda w, f: f),
        ("t2_like", lambda w, f: w * w / w.max() + 0.6 * f),  # water's 99.5th percentile is its maximum here
    ],
)
def test_dixon_contrasts_are_the_documented_combinations(contrast, expected):
    water, fat = _dixon()
    out = RandDixonContrast(contrasts=(contrast,), weight_jitter=0.0)(water, fat)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == water.shape
    np.testing.assert_allclose(out, expected(water, fat), rtol=1e-6, atol=1e-7)


def test_dixon_t2_like_brightens_fluid_over_muscle_and_opposed_phase_darkens_marrow():
    water, fat = _dixon()
    tissue = {name: (..., slice(2 * k, 2 * k + 2)) for k, name in enumerate(("fluid", "muscle", "marrow", "fat"))}

    def mean(img, name):
        return float(img[tissue[name]].mean())

    images = {c: RandDixonContrast((c,), 0.0)(water, fat) for c in ("water", "t2_like", "in_phase", "opposed_phase")}
    assert (
        mean(images["t2_like"], "fluid") / mean(images["t2_like"], "muscle")
        > 2 * (mean(images["water"], "fluid") / mean(images["water"], "muscle")) - 1e-6
    )
    assert mean(images["opposed_phase"], "marrow") < 0.3 * mean(images["in_phase"], "marrow")


def test_dixon_contrast_draws_every_preset_with_jittered_weights_and_is_reproducible():
    water, fat = _dixon()
    transform = RandDixonContrast(weight_jitter=0.2).set_random_state(3)
    seen = set()
    for _ in range(60):
        transform.randomize()
        preset = DIXON_CONTRASTS[transform.contrast]
        for weight, nominal in zip(transform.weights, (preset.water_weight, preset.fat_weight)):
            assert abs(weight - nominal) <= 0.2 * abs(nominal) + 1e-12 and np.sign(weight) == np.sign(nominal)
        seen.add(transform.contrast)
    assert seen == set(DIXON_CONTRASTS)
    a = RandDixonContrast().set_random_state(7)(torch.as_tensor(water), torch.as_tensor(fat))
    b = RandDixonContrast().set_random_state(7)(torch.as_tensor(water), torch.as_tensor(fat))
    assert isinstance(a, torch.Tensor) and torch.equal(a, b)


def test_dixon_contrast_dict_writes_output_key_keeps_meta_and_respects_prob():
    water, fat = _dixon()
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    data = {"water": MetaTensor(water, affine=affine), "fat": MetaTensor(fat, affine=affine), "image": water + fat}
    out = RandDixonContrastd(("water", "fat"), output_key="image").set_random_state(5)(data)
    expected = RandDixonContrast().set_random_state(5)(water, fat)
    np.testing.assert_allclose(out["image"].numpy(), expected)
    assert isinstance(out["image"], MetaTensor) and torch.equal(out["image"].affine, data["water"].affine)
    assert out["water"] is data["water"] and out["fat"] is data["fat"]
    kept = RandDixonContrastD(("water", "fat"), prob=0.0)(data)
    assert kept["image"] is data["image"]
    assert RandDixonContrastd(("water", "fat"), allow_missing_keys=True)({"water": water}) == {"water": water}


def test_dixon_contrast_refuses_bad_arguments():
    water, fat = _dixon()
    with pytest.raises(ValueError, match="differ in shape"):
        RandDixonContrast()(water, fat[..., :4])
    with pytest.raises(ValueError, match="subset"):
        RandDixonContrast(contrasts=("t1",))
    with pytest.raises(ValueError, match="water and the fat"):
        RandDixonContrastd("water")


def _one_arm(**kwargs) -> RandArmsOverlay:
    """One straight arm of fixed sizes (R 40 mm, humerus r_o 12 mm with a 4 mm cortex, 300 mm long; 0.002 of the
    range per mm of soft tissue, bone 2.5× soft tissue), always applied; ``kwargs`` override."""
    fixed = dict(arms_range=(1, 1), radius_mm_range=(40.0, 40.0), humerus_radius_mm_range=(12.0, 12.0),
                 cortex_mm_range=(4.0, 4.0), humerus_length_mm_range=(300.0, 300.0), bend_deg=0.0, fold_prob=0.0,
                 strength_range=(0.002, 0.002), bone_ratio_range=(2.5, 2.5), prob=1.0)
    return RandArmsOverlay(**{**fixed, **kwargs})


def _flat(width: int, height: int, spacing: float, frame: str | None = None) -> MetaTensor:
    """A constant image of 0.3 whose corner pixel is 1.3 (a range of 1), ``spacing`` mm pixels."""
    image = torch.full((1, width, height), 0.3)
    image[0, 0, 0] = 1.3
    meta = {"frame": frame} if frame else {}
    return MetaTensor(image, affine=torch.diag(torch.tensor([spacing, spacing, 1.0], dtype=torch.float64)), meta=meta)


def _chord(radius: float, d: np.ndarray) -> np.ndarray:
    return 2 * np.sqrt(np.clip(radius**2 - d**2, 0, None))


def test_arm_profile_is_the_chord_length_model():
    """A horizontal arm on a flat image: across its axis, soft tissue 2 sqrt(R² − d²) plus the humerus' cortex
    (k − 1)(L(r_o) − L(r_i)), so the bone is brightest at d = r_i, darker in its middle, nothing beyond R."""
    spacing = 0.5
    image = _flat(800, 400, spacing)
    arms = _one_arm(angle_deg_range=(0.0, 0.0), height_range=(0.3, 0.3), offset_mm_range=(-150.0, -150.0))
    added = (arms(image) - image)[0].numpy()
    (arm,) = arms.arms
    assert arm.shoulder == pytest.approx((399.5 * spacing - 150.0, 0.3 * 399 * spacing))  # 150 mm behind the middle
    assert arm.elbow == pytest.approx((arm.shoulder[0] + 300.0, arm.shoulder[1]))
    z = np.arange(400) * spacing
    d = np.abs(z - arm.shoulder[1])
    profile = added[220]  # 60 mm anterior of the shoulder, on the humerus (300 mm long)
    expected = 0.002 * 1.0 * (_chord(40.0, d) + 1.5 * (_chord(12.0, d) - _chord(8.0, d)))
    np.testing.assert_allclose(profile, expected, atol=2e-6)
    assert np.all(profile[d > 40.0] == 0) and profile[d < 39.0].min() > 0.0
    assert abs(d[np.argmax(profile)] - 8.0) <= spacing  # brightest where the ray is tangent to the cavity
    centre = profile[np.argmin(d)]
    assert centre == pytest.approx(0.002 * (80.0 + 1.5 * 8.0), rel=1e-3)  # 2R of soft tissue and 2t of cortex
    assert profile.max() - centre > 0.02  # the tube's edges are brighter than its middle
    plateau = (d > 14.0) & (d < 38.0)  # soft tissue only beside the bone
    np.testing.assert_allclose(profile[plateau], 0.002 * _chord(40.0, d[plateau]), atol=2e-6)
    behind = added[: int((arm.shoulder[0] - 41.0) / spacing)]  # behind the shoulder's rounded end: nothing
    assert np.all(behind == 0)
    # 10.25 mm past the elbow: the humerus' closed end and the upper arm's rounded end (distances to the elbow)
    # overlap the forearm (0.8 R = 32 mm, in line); one arm's tissue is the longer of the two chords, not their sum
    past = np.hypot(720 * spacing - arm.elbow[0], z - arm.elbow[1])
    soft = np.maximum(_chord(40.0, past), _chord(32.0, d))
    expected = 0.002 * (soft + 1.5 * (_chord(12.0, past) - _chord(8.0, past)))
    np.testing.assert_allclose(added[720], expected, atol=2e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_arm_band_lies_on_the_drawn_line_from_the_shoulder_on_the_spine(seed):
    spacing = 1.0
    image = _flat(300, 400, spacing, frame="lateral")
    spine = torch.as_tensor(_spine_mask(300, 400, top=40, bottom=360))  # columns 142–157
    descends = seed % 2 == 0
    arms = RandArmsOverlayd("image", "label", prob=1.0, arms_range=(1, 1), bend_deg=0.0, fold_prob=0.0,
                            descend_prob=float(descends))
    data = {"image": image, "label": spine.clone()}
    added = (arms.set_random_state(seed)(data)["image"] - image)[0].numpy()
    (arm,) = arms.transform.arms
    xs, zs = arm.shoulder
    assert 40 + 0.1 * 320 <= zs / spacing <= 40 + 0.5 * 320  # upper half of the spine
    assert abs(xs - 149.5 * spacing) <= 30.0  # on the spine's middle column ± 30 mm
    assert 20.0 <= abs(arm.angle_deg) <= 70.0 and (arm.angle_deg > 0) == descends  # > 0: rows grow anteriorly
    slope = np.tan(np.deg2rad(arm.angle_deg))
    reach = arm.radius / np.cos(np.deg2rad(arm.angle_deg))  # the band's half-height along a column
    z = np.arange(400) * spacing
    checked = 0
    for u in range(300):
        x = u * spacing
        line = zs + (x - xs) * slope
        if not (xs + arm.radius < x < arm.hand[0] - arm.radius and reach < line < z[-1] - reach):
            continue
        column = added[u]
        assert float((z * column).sum() / column.sum()) == pytest.approx(line, abs=0.3)  # the band's centre
        assert np.all(column[np.abs(z - line) > reach + spacing] == 0)  # and nothing off the band
        checked += 1
    assert checked >= 10
    assert torch.equal(data["label"], spine)


def test_folded_forearm_turns_back_toward_the_head():
    arms = _one_arm(fold_prob=1.0, arms_range=(2, 2))
    for seed in range(5):
        arms.set_random_state(seed)(_flat(100, 100, 1.0))
        for arm in arms.arms:
            upper, forearm = np.subtract(arm.elbow, arm.shoulder), np.subtract(arm.hand, arm.elbow)
            turn = np.degrees(np.arccos(upper @ forearm / np.linalg.norm(upper) / np.linalg.norm(forearm)))
            assert 120.0 - 1e-6 <= turn <= 160.0 + 1e-6 and arm.hand[1] < arm.elbow[1]
            assert 220.0 - 1e-6 <= np.linalg.norm(forearm) <= 280.0 + 1e-6


def test_arm_shoulder_is_placed_on_the_spine_mask():
    image, spine = _flat(120, 200, 2.0), _spine_mask(120, 200, top=40, bottom=180)  # columns 52–67
    arms = _one_arm(height_range=(0.25, 0.25), offset_mm_range=(10.0, 10.0)).set_random_state(0)
    arms(image, spine)
    assert arms.arms[0].shoulder == pytest.approx((59.5 * 2.0 + 10.0, (40 + 0.25 * 140) * 2.0))


def test_arm_pixels_follow_the_spacing():
    """The same draw (positions are fractions of the image and mm) on the same 200 mm field at 1 and 0.5 mm pixels:
    the band is twice as many pixels across and covers four times as many."""
    coarse = _one_arm(arms_range=(2, 2)).set_random_state(4)
    fine = _one_arm(arms_range=(2, 2)).set_random_state(4)
    a = (coarse(_flat(200, 200, 1.0)) - 0.3)[0].numpy()
    b = (fine(_flat(400, 400, 0.5)) - 0.3)[0].numpy()
    assert [arm.angle_deg for arm in coarse.arms] == [arm.angle_deg for arm in fine.arms]
    a[0, 0] = b[0, 0] = 0.0  # the corner pixel that gives the range
    assert (b > 0).sum() / (a > 0).sum() == pytest.approx(4.0, rel=0.03)
    u = int(round(coarse.arms[0].shoulder[0] + 60.0))  # a column 60 mm anterior of the shoulder
    assert (b[2 * u] > 0).sum() / (a[u] > 0).sum() == pytest.approx(2.0, rel=0.05)
    assert b.max() == pytest.approx(a.max(), rel=0.05)  # the same brightness: paths are in mm


def test_arms_only_on_lateral_frames_reproducible_and_prob_zero_untouched():
    lateral, coronal = _flat(150, 250, 2.0, "lateral"), _flat(150, 250, 2.0, "coronal")
    assert torch.equal(_one_arm()(coronal), coronal)  # beside the trunk in an AP image: not drawn
    assert not torch.equal(_one_arm(frames=None)(coronal), coronal)
    first, again, other = (RandArmsOverlay(prob=1.0).set_random_state(s)(lateral) for s in (3, 3, 4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert isinstance(first, MetaTensor) and torch.equal(first.affine, lateral.affine)
    assert torch.equal(RandArmsOverlay(prob=0.0)(lateral), lateral)
    data = {"image": lateral, "label": torch.as_tensor(_spine_mask(150, 250))}
    out = RandArmsOverlayd("image", "label", prob=0.0)(data)
    assert out["image"] is lateral and out["label"] is data["label"]
    out = RandArmsOverlayd("image", "label", prob=1.0).set_random_state(0)(data)
    assert out["label"] is data["label"] and float((out["image"] - lateral).min()) >= 0.0
    assert float((out["image"] - lateral).max()) > 0.05
    with pytest.raises(ValueError, match="mask_key"):
        RandArmsOverlayd(["image", "label"], "label")
    with pytest.raises(ValueError, match="cortex"):
        RandArmsOverlay(humerus_radius_mm_range=(4.0, 6.0), cortex_mm_range=(3.0, 5.0))


def test_radiograph_randomisation_adds_arms_before_exposure_on_a_real_shaped_lateral():
    affine = torch.diag(torch.tensor([2.0, 2.0, 1.0], dtype=torch.float64))
    image = MetaTensor(torch.as_tensor(_radiograph(256, 448)), affine=affine, meta={"frame": "lateral"})
    mask = MetaTensor(torch.as_tensor(_spine_mask(256, 448, 30, 420)), affine=affine)
    compose = radiograph_randomisation()
    names = [type(t).__name__ for t in compose.transforms]
    assert names.index("RandSpineFieldOfViewd") < names.index("RandArmsOverlayd") < names.index("RandScaleIntensityd")
    arms = compose.transforms[names.index("RandArmsOverlayd")]
    assert arms.prob == pytest.approx(0.3) and arms.mask_key == "label"
    fired = set()
    for seed in range(8):
        out = compose.set_random_state(seed)({"image": image.clone(), "label": mask.clone()})
        fired.add(bool(arms._do_transform and arms.transform._do_transform))
        assert out["image"].shape == out["label"].shape and torch.isfinite(out["image"]).all()
        assert set(torch.unique(out["label"]).tolist()) <= {0.0, 1.0}
    assert fired == {True, False}


def _one_bead(**kwargs) -> RandBowelGas:
    """One gas sphere of radius 15 mm, 0.002 of the range per mm of soft tissue, always applied; ``kwargs``
    override."""
    fixed = dict(loops_range=(1, 1), beads_range=(1, 1), radius_mm_range=(15.0, 15.0),
                 strength_range=(0.002, 0.002), prob=1.0)
    return RandBowelGas(**{**fixed, **kwargs})


def _abdomen(width: int, height: int, spacing: float, frame: str | None = None) -> MetaTensor:
    """A constant image of 0.5 (an abdomen) with one pixel of 0 (air) and one of 1 (a range of 1) in its first
    column, ``spacing`` mm pixels."""
    image = _flat(width, height, spacing, frame) + 0.2
    image[0, 0, 0], image[0, 0, 1] = 1.0, 0.0
    return image


def test_bowel_gas_sphere_takes_away_its_chord():
    """One sphere on a flat image: the image loses 0.002 of its range per mm of gas, 2 sqrt(r² − d²), nothing
    beyond r; the sphere's centre is at its drawn place on the spine mask."""
    spacing = 0.5
    image, spine = _abdomen(400, 400, spacing), _spine_mask(400, 400, top=40, bottom=360)  # columns 192–207
    gas = _one_bead(height_range=(0.5, 0.5), offset_mm_range=(-30.0, -30.0))
    taken = (image - gas(image, spine))[0].numpy()
    ((cx, cz),) = gas.loops[0].centres
    assert (cx, cz) == pytest.approx((199.5 * spacing - 30.0, 200 * spacing))
    x, z = np.meshgrid(np.arange(400) * spacing, np.arange(400) * spacing, indexing="ij")
    expected = 0.002 * _chord(15.0, np.hypot(x - cx, z - cz))
    np.testing.assert_allclose(taken, expected, atol=2e-6)
    assert taken.max() == pytest.approx(0.002 * 30.0, rel=1e-3)


def test_bowel_gas_loop_is_a_tube_and_loops_add():
    """The beads of a loop overlap into one tube (the larger chord, not the sum), consecutive centres 0.8 r apart;
    two loops on the same place add; no pixel goes below the image's minimum."""
    gas = _one_bead(beads_range=(6, 6)).set_random_state(1)
    image = _abdomen(300, 300, 1.0)
    taken = (image - gas(image))[0].numpy()
    (loop,) = gas.loops
    steps = np.linalg.norm(np.diff(np.array(loop.centres), axis=0), axis=1)
    np.testing.assert_allclose(steps, 0.8 * 15.0)
    inside = [c for c in loop.centres if 0 <= c[0] < 300 and 0 <= c[1] < 300]
    assert inside and all(taken[int(round(cx)), int(round(cz))] <= 0.002 * 30.0 + 1e-6 for cx, cz in inside)
    two = _one_bead(loops_range=(2, 2), height_range=(0.5, 0.5), offset_mm_range=(0.0, 0.0))
    double = (image - two.set_random_state(0)(image))[0].numpy()
    assert double.max() == pytest.approx(2 * 0.002 * 30.0, rel=2e-3)  # both loops start on the same point (±0.5 px)
    strong = _one_bead(strength_range=(0.05, 0.05), height_range=(0.5, 0.5), offset_mm_range=(0.0, 0.0))(image)
    assert float(strong.min()) == 0.0 and float(strong[0, 150, 150]) == 0.0  # 1.5 of the range taken: clipped
    assert float(strong.max()) == pytest.approx(1.0)


def test_bowel_gas_lies_over_the_lower_spine_and_in_front_of_it_in_a_lateral():
    """Loop starts in the lower half of the visible spine; in a lateral image within 10 mm behind to 160 mm in
    front of the spine's middle column (anterior: increasing columns), in an AP image within 140 mm either side;
    the mask is read, never changed."""
    spacing = 2.0
    spine = torch.as_tensor(_spine_mask(300, 400, top=40, bottom=360))  # middle column 149.5
    for frame, (low, high) in (("lateral", (-10.0, 160.0)), ("coronal", (-140.0, 140.0))):
        gas = RandBowelGasd("image", "label", prob=1.0)
        starts = []
        for seed in range(20):
            data = {"image": _abdomen(300, 400, spacing, frame), "label": spine.clone()}
            out = gas.set_random_state(seed)(data)
            assert torch.equal(out["label"], spine) and float((out["image"] - data["image"]).max()) <= 0.0
            starts += [loop.centres[0] for loop in gas.transform.loops]
        x, z = np.array(starts).T / spacing
        assert np.all((z >= 40 + 0.45 * 320 - 1e-6) & (z <= 40 + 1.05 * 320 + 1e-6))
        offsets = (x - 149.5) * spacing
        assert offsets.min() >= low - 1e-6 and offsets.max() <= high + 1e-6
        assert offsets.min() < low + 0.3 * (high - low) and offsets.max() > high - 0.3 * (high - low)


def test_bowel_gas_prob_zero_untouched_and_bad_arguments():
    """Seeds, array types and the dictionary form are checked with the other image transforms
    (``test_image_transforms_numpy_torch_deterministic_and_leave_masks``)."""
    image = _abdomen(150, 250, 2.0, "coronal")
    assert torch.equal(RandBowelGas(prob=0.0)(image), image)
    data = {"image": image, "label": torch.as_tensor(_spine_mask(150, 250))}
    assert RandBowelGasd("image", "label", prob=0.0)(data)["image"] is image
    with pytest.raises(ValueError, match="mask_key"):
        RandBowelGasd(["image", "label"], "label")
    with pytest.raises(ValueError, match="beads_range"):
        RandBowelGas(beads_range=(0, 3))
    with pytest.raises(ValueError, match="radius_mm_range"):
        RandBowelGas(radius_mm_range=(0.0, 5.0))
