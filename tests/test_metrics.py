"""Curve metrics against offsets whose errors are known exactly (docs/measures.md, "Metrics")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monai_spine.geometry.curves import CURVE_NAMES, N_POINTS, SpineCurves
from monai_spine.measures import curve_distance, curve_mae_mm, lateral_mae, relative_error_percent, spine_errors

Z = np.linspace(20.0, 520.0, N_POINTS)
"""Heights of a 500 mm spine starting 20 mm below the top of the image."""


def wavy(amplitude: float, phase: float) -> np.ndarray:
    """``(N, 2)`` curve ``(lateral, z)``."""
    return np.stack([100.0 + amplitude * np.sin(2.0 * np.pi * Z / 400.0 + phase), Z], axis=1)


def spine(shift_lateral: float = 0.0) -> SpineCurves:
    """A spine with distinct curves, every lateral coordinate moved by ``shift_lateral``."""
    curves = [wavy(5.0 + i, 0.3 * i) + [shift_lateral + 10.0 * i, 0.0] for i in range(len(CURVE_NAMES))]
    return SpineCurves(*curves)


def test_lateral_mae_of_known_offsets_in_a_batch():
    rng = np.random.default_rng(0)
    truth = rng.normal(112.0, 20.0, (4, 6, N_POINTS))  # e.g. regressor targets in crop pixels
    offsets = rng.choice([-1.0, 1.0], truth.shape) * np.arange(1, 25).reshape(4, 6, 1)
    mae = lateral_mae(truth + offsets, truth)
    assert mae.shape == (4, 6)
    np.testing.assert_allclose(mae, np.arange(1, 25).reshape(4, 6), rtol=1e-12)
    assert lateral_mae(truth[0, 0] + 2.5, truth[0, 0]) == pytest.approx(2.5)


def test_lateral_mae_of_half_offset_points():
    truth = np.zeros(N_POINTS)
    pred = truth.copy()
    pred[::2] = 3.0  # 105 of 209 points off by 3
    assert lateral_mae(pred, truth) == pytest.approx(3.0 * 105 / 209)


def test_lateral_mae_of_spine_curves_is_per_curve_mm():
    np.testing.assert_allclose(lateral_mae(spine(1.5), spine()), np.full(6, 1.5))


def test_curve_mae_compares_at_equal_heights():
    """A prediction sampled at other heights along the same curve has no lateral error."""
    truth = np.stack([0.2 * Z + 40.0, Z], axis=1)
    z_pred = np.linspace(0.0, 540.0, N_POINTS)  # found 20 mm too high and 20 mm too low
    pred = np.stack([0.2 * z_pred + 40.0, z_pred], axis=1)
    assert curve_mae_mm(pred, truth) == pytest.approx(0.0, abs=1e-9)
    assert lateral_mae(pred[:, 0], truth[:, 0]) > 1.0  # point by point, the heights differ
    assert curve_mae_mm(pred + [2.0, 0.0], truth) == pytest.approx(2.0)


def test_curve_mae_and_relative_error_of_a_known_offset():
    truth = wavy(8.0, 0.0)
    pred = truth + [-1.25, 0.0]
    assert curve_mae_mm(pred, truth) == pytest.approx(1.25)
    assert relative_error_percent(pred, truth) == pytest.approx(100.0 * 1.25 / 500.0)
    batch = curve_mae_mm(np.stack([pred, truth + [3.0, 0.0]]), np.stack([truth, truth]))
    np.testing.assert_allclose(batch, [1.25, 3.0])


def test_curve_mae_of_spine_curves():
    np.testing.assert_allclose(curve_mae_mm(spine(-0.75), spine()), np.full(6, 0.75))
    np.testing.assert_allclose(relative_error_percent(spine(-0.75), spine()), np.full(6, 0.15))


def test_curve_distance_of_known_offsets():
    truth = np.stack([wavy(5.0, 0.0)[:, 0], np.zeros(N_POINTS), Z], axis=1)
    result = curve_distance(truth + [3.0, 4.0, 0.0], truth)
    assert result.mean_mm == pytest.approx(5.0) and result.max_mm == pytest.approx(5.0)
    ramp = np.linspace(0.0, 2.0, N_POINTS)[:, None] * [0.0, 0.6, 0.8]  # distance 0 ... 2 mm along the curve
    result = curve_distance(truth + ramp, truth)
    assert result.mean_mm == pytest.approx(1.0) and result.max_mm == pytest.approx(2.0)
    batch = curve_distance(np.stack([truth + [3.0, 4.0, 0.0], truth + ramp]), np.stack([truth, truth]))
    np.testing.assert_allclose(batch.mean_mm, [5.0, 1.0])
    np.testing.assert_allclose(batch.max_mm, [5.0, 2.0])


def test_curve_distance_of_spine_curves_uses_the_3d_centre_line():
    truth = spine()
    pred = SpineCurves.from_array(truth.to_array())
    pred.coronal_centre = pred.coronal_centre + [3.0, 0.0]
    pred.sagittal_centre = pred.sagittal_centre + [4.0, 0.0]
    result = curve_distance(pred, truth)
    assert result.mean_mm == pytest.approx(5.0) and result.max_mm == pytest.approx(5.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        lateral_mae(np.zeros(209), np.zeros(208))


def test_spine_errors_is_json_and_zero_for_the_truth():
    truth = spine()
    errors = json.loads(json.dumps(spine_errors(truth, truth)))
    assert set(errors["curve_mae_mm"]) == set(CURVE_NAMES)
    assert errors["mean_curve_mae_mm"] == 0.0 and errors["distance3d_max_mm"] == 0.0
    assert all(v == 0.0 for v in errors["measure_errors"].values())


def test_spine_errors_of_a_shifted_spine():
    errors = spine_errors(spine(2.0), spine())
    assert errors["mean_curve_mae_mm"] == pytest.approx(2.0)
    assert errors["mean_relative_error_percent"] == pytest.approx(0.4)
    assert errors["distance3d_mean_mm"] == pytest.approx(2.0 * np.sqrt(2.0))  # x and y both moved by 2
    assert all(abs(v) < 1e-9 for v in errors["measure_errors"].values())  # a shift changes no angle
