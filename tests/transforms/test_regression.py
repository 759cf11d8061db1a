"""The regressor's transforms: targets from ``targets.json`` and the crop jitter, against known geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from monai_spine.cohort import curves_from_crop, curves_in_crop
from monai_spine.geometry import CURVE_NAMES, CropFrame, HeightFrame, SpineCurves
from monai_spine.transforms import (
    LoadCurveTargets,
    LoadCurveTargetsd,
    RandCurveCropJitterd,
    SaveCurveValuesd,
    jitter_crop,
)

SIZE = 224


def _curves() -> SpineCurves:
    z = np.linspace(100.0, 700.0, 209)
    x = 300.0 + 20.0 * np.sin(z / 90.0)
    y = 15.0 * np.cos(z / 120.0)
    return SpineCurves(*(np.c_[x + dx, z] for dx in (0.0, -15.0, 15.0)),
                       *(np.c_[y + dy, z] for dy in (0.0, -12.0, 12.0))).with_relative_depth()


@pytest.fixture
def targets_file(tmp_path):
    frame = CropFrame((300.0, 400.0), 3.2)
    document = {"crop_frame": {"size": SIZE},
                "curves_crop_px": {k: v.tolist() for k, v in curves_in_crop(_curves(), frame).items()}}
    path = tmp_path / "targets.json"
    path.write_text(json.dumps(document))
    return path, frame


def test_targets_are_the_crop_curves_over_the_crop_side_and_invert_exactly(targets_file):
    path, frame = targets_file
    values = LoadCurveTargets()(path)
    assert values.shape == (6, 209) and values.dtype == torch.float32
    curves = _curves()
    assert np.allclose(values[0].numpy() * SIZE, frame.lateral_to_px(curves.coronal_centre[:, 0]), atol=1e-3)
    assert np.allclose(values[3].numpy() * SIZE * frame.pixel_mm, curves.sagittal_centre[:, 0], atol=1e-3)
    back = curves_from_crop(values.numpy(), frame, HeightFrame.of_curve(curves.coronal_centre))
    assert np.abs(back.to_array() - curves.to_array()).max() < 1e-3
    assert torch.equal(LoadCurveTargetsd("label")({"label": path})["label"], values)


def test_jitter_moves_image_and_coronal_targets_together():
    image = torch.zeros(1, SIZE, SIZE)
    u, v = 80, 150
    image[0, u, v] = 1.0
    curves = torch.full((6, 209), 0.1)
    curves[:3] = u / SIZE
    for shift, zoom in (((6.0, -4.0), 1.0), ((0.0, 0.0), 1.1), ((-3.0, 5.0), 0.95)):
        moved, moved_curves = jitter_crop(image, curves, shift, zoom)
        c = (SIZE - 1) / 2
        expected_u, expected_v = c + zoom * (u - c) + shift[0], c + zoom * (v - c) + shift[1]
        centre = [float((moved[0].sum(dim=1 - axis) * torch.arange(SIZE)).sum() / moved[0].sum()) for axis in (0, 1)]
        assert centre == pytest.approx([expected_u, expected_v], abs=0.1)  # bilinear sampling of a single pixel
        assert float(moved_curves[0, 0]) * SIZE == pytest.approx(expected_u, abs=1e-3)
        assert torch.allclose(moved_curves[3:], 0.1 * zoom * torch.ones(3, 209))  # relative depth scales only


def test_random_jitter_is_reproducible_and_off_at_prob_zero():
    data = {"image": torch.rand(1, SIZE, SIZE), "label": torch.rand(6, 209)}
    off = RandCurveCropJitterd(prob=0.0)(data)
    assert torch.equal(off["image"], data["image"]) and torch.equal(off["label"], data["label"])
    first = RandCurveCropJitterd(prob=1.0).set_random_state(3)(data)
    second = RandCurveCropJitterd(prob=1.0).set_random_state(3)(data)
    assert torch.equal(first["label"], second["label"]) and not torch.equal(first["label"], data["label"])


def test_saved_values_name_the_image(tmp_path):
    from monai.data import MetaTensor

    values = torch.rand(6, 209)
    image = MetaTensor(torch.zeros(1, 4, 4), meta={"filename_or_obj": "/a/b.nii.gz"})
    SaveCurveValuesd("pred", str(tmp_path))({"pred": values, "image": image})
    document = json.loads((tmp_path / "b_curves.json").read_text())
    assert document["curve_names"] == list(CURVE_NAMES)
    assert np.allclose(document["values"], values.numpy(), atol=1e-6)
