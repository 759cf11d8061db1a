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
    RandCurveFieldOfViewd,
    RandCurveFieldWidthd,
    SaveCurveValuesd,
    cut_curve_field_of_view,
    cut_curve_field_width,
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


def _cut_in_mm(curves: SpineCurves, top: float, bottom: float) -> SpineCurves:
    """The curves of the spine that a field of view keeps from ``top`` to ``bottom`` (shares of its length),
    resampled in mm at 209 heights, with their own relative depth: the truth of a cut image."""
    z = curves.coronal_centre[:, 1]
    kept = np.linspace(z[0] + top * (z[-1] - z[0]), z[0] + bottom * (z[-1] - z[0]), 209)
    arrays = [np.c_[np.interp(kept, z, c[:, 0]), kept] for c in curves.to_array()]
    return SpineCurves(*arrays).with_relative_depth()


@pytest.mark.parametrize("top, bottom", [(0.6, 1.0), (0.0, 0.45), (0.2, 0.7)])
def test_cut_curve_field_of_view_gives_the_targets_of_the_cut_spines_own_crop(targets_file, top, bottom):
    path, frame = targets_file
    values, rows = LoadCurveTargets(with_rows=True)(path)
    curves = _curves()
    assert np.allclose(rows.numpy() * SIZE, frame.to_px(curves.coronal_centre)[:, 1], atol=1e-3)
    # a bright spot on the spine at 80 % of the kept part, and the image all ones
    spot = top + 0.8 * (bottom - top)
    index = spot * 208
    u = float(np.interp(index, np.arange(209), values[0].numpy())) * SIZE
    v = float(np.interp(index, np.arange(209), rows.numpy())) * SIZE
    image = torch.ones(1, SIZE, SIZE)
    image[0, int(round(u)), int(round(v))] = 10.0
    cut_image, cut_values, cut_rows = cut_curve_field_of_view(image, values, rows, top, bottom)
    # the truth: the cut spine cropped around its own end points, as spine_crop crops a cut DXA
    cut = _cut_in_mm(curves, top, bottom)
    cut_frame = CropFrame.around(cut.coronal_centre, frame.pixel_mm, SIZE)
    expected = curves_in_crop(cut, cut_frame)
    for i, name in enumerate(CURVE_NAMES):
        assert np.abs(cut_values[i].numpy() * SIZE - expected[name][:, 0]).max() < 0.05, name
    assert np.allclose(cut_rows.numpy() * SIZE, expected["coronal_centre"][:, 1], atol=0.05)
    assert float(cut_values[3].mean()) == pytest.approx(0.0, abs=1e-6)  # relative depth of the kept part
    # the spot moved with the spine; rows beyond a cut are background, the kept rows are not
    spot_uv = np.unravel_index(int(cut_image[0].argmax()), (SIZE, SIZE))
    centre = curves.coronal_centre
    spot_z = centre[0, 1] + spot * (centre[-1, 1] - centre[0, 1])
    expected_spot = cut_frame.to_px([np.interp(spot_z, centre[:, 1], centre[:, 0]), spot_z])
    assert np.abs(np.array(spot_uv) - expected_spot).max() <= 1.0
    first, last = (int(r) for r in np.round(cut_rows.numpy()[[0, -1]] * SIZE))
    assert float(cut_image[0, SIZE // 2, first + 2 : last - 2].min()) > 0.5
    if top > 0:
        assert float(cut_image[0, :, : first - 1].max()) == 0.0
    if bottom < 1:
        assert float(cut_image[0, :, last + 2 :].max()) == 0.0


def test_random_field_of_view_cuts_reproducibly_and_checks_its_range(targets_file):
    path, _ = targets_file
    data = LoadCurveTargetsd("label", rows_key="rows")({"label": path, "image": torch.ones(1, SIZE, SIZE)})
    assert data["rows"].shape == (209,)
    off = RandCurveFieldOfViewd(prob=0.0)(data)
    assert torch.equal(off["label"], data["label"])
    first = RandCurveFieldOfViewd(prob=1.0).set_random_state(5)(data)
    second = RandCurveFieldOfViewd(prob=1.0).set_random_state(5)(data)
    assert torch.equal(first["label"], second["label"]) and not torch.equal(first["label"], data["label"])
    assert float(first["image"].min()) == 0.0  # a cut field of view
    with pytest.raises(ValueError, match="keep_range"):
        RandCurveFieldOfViewd(keep_range=(0.0, 0.5))
    with pytest.raises(ValueError, match="top < bottom"):
        cut_curve_field_of_view(data["image"], data["label"], data["rows"], 0.5, 0.5)


def test_narrow_field_keeps_the_spine_and_a_band_of_the_drawn_width(targets_file):
    path, frame = targets_file
    data = {"label": LoadCurveTargets()(path), "image": torch.ones(1, SIZE, SIZE)}
    spine = _curves()
    u_right = frame.to_px(spine.coronal_right)[:, 0].min()  # the spine's outermost columns
    u_left = frame.to_px(spine.coronal_left)[:, 0].max()
    for seed in range(20):
        cut = RandCurveFieldWidthd(width_mm=(100.0, 200.0), pixel_mm=3.2, margin_mm=10.0, prob=1.0)
        out = cut.set_random_state(seed)(data)
        kept = torch.nonzero(out["image"][0, :, 0]).flatten()
        first, last = int(kept.min()), int(kept.max())
        assert torch.equal(out["label"], data["label"])  # the targets do not move
        # the spine and its 10 mm margins are kept, to the column grid
        assert first < u_right - 10.0 / 3.2 + 1 and last > u_left + 10.0 / 3.2 - 1
        assert 100.0 / 3.2 - 1 <= last - first + 1 <= max(200.0 / 3.2, u_left - u_right + 20.0 / 3.2) + 1
        assert float(out["image"][0, first:last + 1].min()) == 1.0 and float(out["image"].sum()) < SIZE * SIZE
    # a field drawn narrower than the spine is widened to the spine and its margins
    narrow = RandCurveFieldWidthd(width_mm=(20.0, 40.0), pixel_mm=3.2, margin_mm=10.0, prob=1.0).set_random_state(0)
    kept = torch.nonzero(narrow(data)["image"][0, :, 0]).flatten()
    assert abs(kept.numel() - (u_left - u_right + 20.0 / 3.2)) <= 1.0  # the columns in the band, to the grid
    assert torch.equal(RandCurveFieldWidthd(prob=0.0)(data)["image"], data["image"])
    with pytest.raises(ValueError, match="width_mm"):
        RandCurveFieldWidthd(width_mm=(0.0, 100.0))
    with pytest.raises(ValueError, match="left < right"):
        cut_curve_field_width(data["image"], 50.0, 50.0)


def test_saved_values_name_the_image(tmp_path):
    from monai.data import MetaTensor

    values = torch.rand(6, 209)
    image = MetaTensor(torch.zeros(1, 4, 4), meta={"filename_or_obj": "/a/b.nii.gz"})
    SaveCurveValuesd("pred", str(tmp_path))({"pred": values, "image": image})
    document = json.loads((tmp_path / "b_curves.json").read_text())
    assert document["curve_names"] == list(CURVE_NAMES)
    assert np.allclose(document["values"], values.numpy(), atol=1e-6)
