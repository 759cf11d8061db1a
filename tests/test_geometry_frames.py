"""Frame mappings: crop frame and normalised height frame, against the formulas of docs/frames.md."""

from __future__ import annotations

import numpy as np
import pytest

from monai_spine.geometry import N_POINTS, CropFrame, HeightFrame, crop_centre


def test_crop_frame_formula():
    crop = CropFrame(centre_mm=(150.0, 300.0), pixel_mm=1.25)
    assert crop.size == 224 and crop.centre_px == 111.5
    np.testing.assert_allclose(crop.to_mm([111.5, 111.5]), [150.0, 300.0])
    np.testing.assert_allclose(crop.to_mm([0.0, 223.0]), [150.0 - 111.5 * 1.25, 300.0 + 111.5 * 1.25])
    np.testing.assert_allclose(crop.to_px([150.0 + 2.5, 300.0 - 5.0]), [113.5, 107.5])
    # the crop spans exactly size × pixel_mm: pixel edges -0.5 and 223.5 are 280 mm apart
    edges = crop.to_mm([[-0.5, -0.5], [223.5, 223.5]])
    np.testing.assert_allclose(edges[1] - edges[0], [280.0, 280.0])


def test_crop_frame_round_trip_vectorised():
    rng = np.random.default_rng(0)
    crop = CropFrame(centre_mm=(87.3, 412.9), pixel_mm=0.731, size=224)
    points_mm = rng.uniform(-200, 800, size=(5, 7, 2))
    px = crop.to_px(points_mm)
    assert px.shape == (5, 7, 2)
    np.testing.assert_allclose(crop.to_mm(px), points_mm, atol=1e-9)
    points_px = rng.uniform(-10, 240, size=(N_POINTS, 2))
    np.testing.assert_allclose(crop.to_px(crop.to_mm(points_px)), points_px, atol=1e-9)
    # lateral values map like the first coordinate
    np.testing.assert_allclose(crop.lateral_to_px(points_mm[..., 0]), px[..., 0])
    np.testing.assert_allclose(crop.lateral_to_mm(px[..., 0]), points_mm[..., 0], atol=1e-9)


def test_crop_frame_rejects_bad_pixel_size():
    with pytest.raises(ValueError, match="pixel_mm"):
        CropFrame((0.0, 0.0), 0.0)


def test_crop_centre_rule_is_midpoint_of_end_points():
    z = np.linspace(100, 500, N_POINTS)
    line = np.stack([200 + 40 * np.sin(z / 60), z], axis=1)  # a bent line: mean and midpoint differ
    expected = [(line[0, 0] + line[-1, 0]) / 2, 300.0]
    np.testing.assert_allclose(crop_centre(line), expected)
    assert abs(crop_centre(line)[0] - line[:, 0].mean()) > 1.0
    crop = CropFrame.around(line, pixel_mm=2.0)
    assert crop.centre_mm == pytest.approx(tuple(expected))
    np.testing.assert_allclose(crop.to_px(crop_centre(line)), [111.5, 111.5])
    np.testing.assert_allclose(crop_centre(np.array([[0, 0, 0], [2, 4, 6.0]])), [1, 2, 3])


def test_crop_pixel_follows_spine_height_with_spine_fill():
    z = np.linspace(300.0, 525.0, N_POINTS)  # a 225 mm lumbar column
    line = np.stack([200 + 5 * np.sin(z / 60), z], axis=1)
    lumbar = CropFrame.around(line, pixel_mm=3.2, spine_fill=0.85)
    assert lumbar.pixel_mm == pytest.approx(225.0 / (0.85 * 224))
    rows = lumbar.to_px(line[[0, -1]])[:, 1]
    assert rows[1] - rows[0] == pytest.approx(0.85 * 224)  # the column fills 85 % of the rows
    assert lumbar.centre_mm == pytest.approx(tuple(crop_centre(line)))
    whole = np.stack([np.full(N_POINTS, 200.0), np.linspace(0.0, 650.0, N_POINTS)], axis=1)
    assert CropFrame.around(whole, pixel_mm=3.2, spine_fill=0.85).pixel_mm == 3.2  # capped: a whole spine as before
    assert CropFrame.around(line, pixel_mm=3.2).pixel_mm == 3.2
    with pytest.raises(ValueError, match="spine_fill"):
        CropFrame.around(line, pixel_mm=3.2, spine_fill=0.0)


def test_height_frame_heights():
    frame = HeightFrame(z_top=120.0, z_bottom=536.0)
    z = frame.heights
    assert z.shape == (N_POINTS,)
    # z_k = z_top + (k - 1)(z_bottom - z_top) / 208, k = 1 ... 209
    k = np.arange(1, N_POINTS + 1)
    np.testing.assert_allclose(z, 120.0 + (k - 1) * (536.0 - 120.0) / 208)
    assert z[0] == 120.0 and z[-1] == 536.0


def test_height_frame_curve_values_round_trip():
    frame = HeightFrame(50.0, 450.0)
    values = 30 + 10 * np.cos(frame.heights / 70)
    curve = frame.curve(values)
    assert curve.shape == (N_POINTS, 2)
    np.testing.assert_array_equal(curve[:, 1], frame.heights)
    np.testing.assert_array_equal(frame.values(curve), values)
    assert HeightFrame.of_curve(curve) == frame
    with pytest.raises(ValueError, match="209"):
        frame.curve(values[:-1])


def test_height_frame_resamples_other_curves():
    frame = HeightFrame(0.0, 100.0)
    # a linear curve on other, decreasing heights that stop short of the bottom
    z = np.linspace(80.0, -20.0, 37)
    curve = np.stack([3 + 0.5 * z, z], axis=1)
    values = frame.values(curve)
    inside = frame.heights <= 80.0
    np.testing.assert_allclose(values[inside], 3 + 0.5 * frame.heights[inside])
    np.testing.assert_allclose(values[~inside], 3 + 0.5 * 80.0)  # held constant beyond the curve's end


def test_curve_to_crop_px_values_and_back():
    """A curve in image mm → 209 values in crop px (the regressor's target) → the same curve in mm."""
    z = np.linspace(210.0, 640.0, N_POINTS)
    curve = np.stack([180 + 25 * np.sin(z / 90), z], axis=1)
    crop = CropFrame.around(curve, pixel_mm=2.2)
    frame = HeightFrame.of_curve(curve)
    values_px = crop.lateral_to_px(frame.values(curve))
    assert np.all((values_px > 0) & (values_px < 223))
    np.testing.assert_allclose(frame.curve(crop.lateral_to_mm(values_px)), curve, atol=1e-9)
    # the heights, mapped to crop rows, span the crop symmetrically about its centre
    v = crop.to_px(curve)[:, 1]
    assert v[0] + v[-1] == pytest.approx(2 * 111.5)
