"""Clinical measures against curves whose angles are known analytically (docs/measures.md, "Validation")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monai_spine.geometry.curves import N_POINTS, SpineCurves
from monai_spine.measures import (
    coronal_cobb,
    measure_spine,
    plane_of_max_curvature,
    sagittal_profile,
    tangent_angles,
    turning_points,
)

TOLERANCE_DEG = 0.5
NOISE_MM = 0.01
"""White noise on the lateral coordinate under which every tolerance below still holds (docs/measures.md)."""


def circular_arc(turn_deg: float, height_mm: float = 500.0, start_deg: float | None = None) -> np.ndarray:
    """``(N, 2)`` circular arc, evenly spaced in z over ``height_mm``, tangent tilt from ``start_deg`` to
    ``start_deg + turn_deg`` (default symmetric about the z axis). Closed form."""
    start = np.radians(-turn_deg / 2.0 if start_deg is None else start_deg)
    end = start + np.radians(turn_deg)
    radius = height_mm / (np.sin(end) - np.sin(start))
    z = np.linspace(0.0, height_mm, N_POINTS)
    tilt = np.arcsin(np.sin(start) + z / radius)
    return np.stack([radius * (np.cos(start) - np.cos(tilt)), z], axis=1)


def sinusoid(amplitude_mm: float, height_mm: float = 500.0) -> np.ndarray:
    """``(N, 2)`` one full period ``x = A sin(2 pi z / L)``: two curves of Cobb ``2 atan(2 pi A / L)``."""
    z = np.linspace(0.0, height_mm, N_POINTS)
    return np.stack([amplitude_mm * np.sin(2.0 * np.pi * z / height_mm), z], axis=1)


class CurvatureProfile:
    """A planar curve from a piecewise-linear curvature profile ``kappa(s)`` along its arc length.

    Each piece is an arc of constant curvature turning by a given angle; neighbouring pieces are joined by a
    linear curvature ramp ``blend_mm`` long, so tangent and curvature stay continuous. The tangent tilt is
    known in closed form (the integral of a piecewise-linear curvature); positions are integrated on a fine
    grid (error < 1e-6 mm) and resampled evenly in z.

    Args:
        turns_deg: signed turn of each constant-curvature piece, degrees (positive: tilt increases downward).
        lengths_mm: arc length of each piece, mm.
        blend_mm: length of each curvature ramp, mm.
        start_deg: tangent tilt at the top, degrees.
    """

    def __init__(self, turns_deg, lengths_mm, blend_mm: float = 60.0, start_deg: float = 0.0):
        kappa = np.radians(turns_deg) / np.asarray(lengths_mm, dtype=float)
        knots_s, knots_k, s = [0.0], [kappa[0]], 0.0
        for i, length in enumerate(lengths_mm):
            s += length
            if i + 1 < len(lengths_mm):
                knots_s += [s, s + blend_mm]
                knots_k += [kappa[i], kappa[i + 1]]
                s += blend_mm
        knots_s.append(s)
        knots_k.append(kappa[-1])
        self.knots_s, self.knots_k = np.array(knots_s), np.array(knots_k)
        self.start = np.radians(start_deg)
        fine_s = np.union1d(np.linspace(0.0, s, 200_001), self.knots_s)
        tilt = self.tilt(fine_s)
        steps = np.diff(fine_s)
        mid = self.tilt((fine_s[1:] + fine_s[:-1]) / 2.0)
        # Simpson's rule on each step for x = integral of sin(tilt), z = integral of cos(tilt).
        dx = steps * (np.sin(tilt[:-1]) + 4 * np.sin(mid) + np.sin(tilt[1:])) / 6.0
        dz = steps * (np.cos(tilt[:-1]) + 4 * np.cos(mid) + np.cos(tilt[1:])) / 6.0
        self.fine_x = np.concatenate([[0.0], np.cumsum(dx)])
        self.fine_z = np.concatenate([[0.0], np.cumsum(dz)])
        self.fine_s = fine_s

    def tilt(self, s) -> np.ndarray:
        """Tangent tilt (radians) at arc length ``s``: exact integral of the piecewise-linear curvature."""
        s = np.asarray(s, dtype=float)
        theta = np.full(s.shape, self.start)
        for s0, s1, k0, k1 in zip(self.knots_s[:-1], self.knots_s[1:], self.knots_k[:-1], self.knots_k[1:]):
            t = np.clip(s - s0, 0.0, s1 - s0)
            theta += k0 * t + (k1 - k0) * t**2 / (2.0 * (s1 - s0))
        return theta

    def curve(self) -> np.ndarray:
        """``(N, 2)`` points ``(lateral, z)``, evenly spaced in z."""
        z = np.linspace(0.0, self.fine_z[-1], N_POINTS)
        return np.stack([np.interp(z, self.fine_z, self.fine_x), z], axis=1)

    def tilt_at_z(self, z) -> np.ndarray:
        """Tangent tilt, degrees, at heights ``z``."""
        return np.degrees(self.tilt(np.interp(z, self.fine_z, self.fine_s)))

    def curve_turns_deg(self) -> np.ndarray:
        """Signed turns between consecutive extremes of the tilt (the ends and curvature zero crossings)."""
        ends = [0.0, self.knots_s[-1]]
        for s0, s1, k0, k1 in zip(self.knots_s[:-1], self.knots_s[1:], self.knots_k[:-1], self.knots_k[1:]):
            if k0 * k1 < 0:
                ends.append(s0 + (s1 - s0) * k0 / (k0 - k1))
        return np.degrees(np.diff(self.tilt(np.sort(ends))))


def noisy(curve: np.ndarray, sigma_mm: float, seed: int) -> np.ndarray:
    """``curve`` with white Gaussian noise on its lateral coordinate(s) (all but the last column)."""
    out = curve.copy()
    out[:, :-1] += np.random.default_rng(seed).normal(0.0, sigma_mm, out[:, :-1].shape)
    return out


def mirrored(curve: np.ndarray) -> np.ndarray:
    out = curve.copy()
    out[:, 0] *= -1.0
    return out


NOISE_CASES = [pytest.param(0.0, 0, id="exact")] + [
    pytest.param(NOISE_MM, seed, id=f"noise{NOISE_MM}mm-seed{seed}") for seed in range(3)
]


# ----------------------------------------------------------------------------- tangent angles, turning points


def test_tangent_angles_of_an_arc_are_exact():
    """The fitted tangent tilt along a steep circular arc stays within 0.1 deg of the closed form."""
    height, start, turn = 520.0, -30.0, 80.0
    arc = circular_arc(turn, height, start)
    radius = height / (np.sin(np.radians(start + turn)) - np.sin(np.radians(start)))
    truth = np.degrees(np.arcsin(np.sin(np.radians(start)) + arc[:, 1] / radius))
    assert np.max(np.abs(tangent_angles(arc) - truth)) < 0.1


def test_turning_points_ignore_small_wiggles():
    angles = np.concatenate([np.linspace(0, 30, 50), np.linspace(30, 27, 10), np.linspace(27, 40, 20),
                             np.linspace(40, -10, 60)])
    np.testing.assert_array_equal(turning_points(angles, 5.0), [0, 79, 139])
    np.testing.assert_array_equal(turning_points(angles, 2.0), [0, 49, 59, 79, 139])
    np.testing.assert_array_equal(turning_points(np.full(20, 3.0), 5.0), [0, 19])


# ----------------------------------------------------------------------------- coronal Cobb


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("turn", [10.0, 25.0, 45.0, 80.0])
@pytest.mark.parametrize("height, start", [(450.0, None), (500.0, -10.0), (550.0, -60.0)])
def test_cobb_of_circular_arc(turn, height, start, sigma, seed):
    arc = noisy(circular_arc(turn, height, start), sigma, seed)
    for curve, side in ((arc, "right"), (mirrored(arc), "left")):
        result = coronal_cobb(curve)
        assert abs(result.main.angle_deg - turn) < TOLERANCE_DEG
        assert len(result.curves) == 1 and result.curves[0] is result.main
        assert result.main.convexity == side
        assert result.main.upper_index <= 5 and result.main.lower_index >= N_POINTS - 6
        if start is None and sigma == 0.0:  # symmetric arc: apex at mid-height
            assert abs(result.main.apex_index - N_POINTS // 2) <= 1
            assert result.main.apex_mm == pytest.approx(tuple(curve[N_POINTS // 2]), abs=0.5)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("turn", [25.0, 45.0, 80.0])
def test_a_longer_window_tames_heavier_noise(turn, seed):
    """Under 0.2 mm noise the default 60 mm fits err by up to ~2 deg on these arcs; 150 mm fits by < 1 deg."""
    arc = noisy(circular_arc(turn, 500.0), 0.2, seed)
    assert abs(coronal_cobb(arc, window_mm=150.0).main.angle_deg - turn) < 1.0


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("amplitude, height", [(20.0, 500.0), (40.0, 460.0), (8.0, 540.0)])
def test_cobb_of_sinusoid(amplitude, height, sigma, seed):
    curve = noisy(sinusoid(amplitude, height), sigma, seed)
    truth = 2.0 * np.degrees(np.arctan(2.0 * np.pi * amplitude / height))
    result = coronal_cobb(curve)
    assert [c.convexity for c in result.curves] == ["left", "right"]
    for c in result.curves:
        assert abs(c.angle_deg - truth) < TOLERANCE_DEG
    assert abs(result.main.angle_deg - truth) < TOLERANCE_DEG
    quarter = (N_POINTS - 1) // 4
    assert [c.apex_index for c in result.curves] == pytest.approx([quarter, 3 * quarter], abs=3)
    assert abs(result.curves[0].lower_index - 2 * quarter) <= 3


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("turns, lengths", [((45.0, -40.0), (260.0, 220.0)), ((-30.0, 62.0), (200.0, 280.0))])
def test_cobb_of_double_major_s_curve(turns, lengths, sigma, seed):
    profile = CurvatureProfile(turns, lengths, blend_mm=60.0, start_deg=-turns[0] / 2.0)
    truth = profile.curve_turns_deg()
    result = coronal_cobb(noisy(profile.curve(), sigma, seed))
    assert len(result.curves) == 2
    for c, t in zip(result.curves, truth):
        assert abs(c.angle_deg - abs(t)) < TOLERANCE_DEG
        assert c.convexity == ("right" if t > 0 else "left")
    assert abs(result.main.angle_deg - np.max(np.abs(truth))) < TOLERANCE_DEG


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("tilt_deg", [0.0, 7.0])
def test_cobb_of_straight_line(tilt_deg, sigma, seed):
    z = np.linspace(0.0, 500.0, N_POINTS)
    line = noisy(np.stack([30.0 + np.tan(np.radians(tilt_deg)) * z, z], axis=1), sigma, seed)
    result = coronal_cobb(line)
    assert result.main.angle_deg < TOLERANCE_DEG
    assert result.curves == ()


def test_min_cobb_splits_or_keeps_curves():
    """A 6 deg counter-curve splits the spine at min_cobb_deg=5; at 10 the spine is one curve."""
    profile = CurvatureProfile((30.0, -6.0, 35.0), (180.0, 100.0, 180.0), blend_mm=40.0)
    turns = profile.curve_turns_deg()
    fine = coronal_cobb(profile.curve(), min_cobb_deg=5.0)
    assert [c.angle_deg for c in fine.curves] == pytest.approx(np.abs(turns), abs=TOLERANCE_DEG)
    coarse = coronal_cobb(profile.curve(), min_cobb_deg=10.0)
    assert len(coarse.curves) == 1
    assert coarse.main.angle_deg == pytest.approx(np.sum(turns), abs=TOLERANCE_DEG)
    assert (coarse.main.upper_index, coarse.main.lower_index) == (0, N_POINTS - 1)


# ----------------------------------------------------------------------------- sagittal kyphosis and lordosis


SAGITTAL_CASES = [
    # turns of the (kyphotic, lordotic) arcs and their lengths; the spine starts tilted backward going down
    pytest.param((40.0, -55.0), (280.0, 220.0), id="normal"),
    pytest.param((62.0, -38.0), (300.0, 190.0), id="hyperkyphotic"),
    pytest.param((18.0, -70.0), (250.0, 240.0), id="flat-back-hyperlordotic"),
]


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("turns, lengths", SAGITTAL_CASES)
def test_kyphosis_and_lordosis_at_inflection(turns, lengths, sigma, seed):
    profile = CurvatureProfile(turns, lengths, blend_mm=50.0, start_deg=-turns[0] / 2.0)
    kyphosis, lordosis = profile.curve_turns_deg()
    result = sagittal_profile(noisy(profile.curve(), sigma, seed))
    assert result.method == "inflection"
    assert abs(result.kyphosis_deg - kyphosis) < TOLERANCE_DEG
    assert abs(result.lordosis_deg + lordosis) < TOLERANCE_DEG
    assert result.kyphosis.convexity == "posterior" and result.lordosis.convexity == "anterior"
    assert result.kyphosis.lower_index == result.lordosis.upper_index
    # kyphotic apex: the most posterior point relative to its chord lies behind it (smaller y)
    k = result.kyphosis
    chord_y = np.interp(k.apex_mm[1], [k.upper_mm[1], k.lower_mm[1]], [k.upper_mm[0], k.lower_mm[0]])
    assert k.apex_mm[0] < chord_y


def test_kyphosis_ignores_a_cervical_lordosis_on_top():
    profile = CurvatureProfile((-12.0, 45.0, -50.0), (60.0, 260.0, 200.0), blend_mm=40.0, start_deg=-5.0)
    cervical, kyphosis, lordosis = profile.curve_turns_deg()
    result = sagittal_profile(profile.curve())
    assert result.kyphosis_deg == pytest.approx(kyphosis, abs=TOLERANCE_DEG)
    assert result.lordosis_deg == pytest.approx(-lordosis, abs=TOLERANCE_DEG)


def test_a_sacral_kyphosis_below_a_lumbar_field_is_not_the_kyphosis():
    """A lumbar-only field (T11-S1, as the real CT's renders): the S1 body tilting back turns the lower end more
    than the thoracic part above turns; it used to be taken for the kyphosis, leaving no lordosis below it."""
    profile = CurvatureProfile((10.0, -55.0, 20.0), (60.0, 150.0, 30.0), blend_mm=15.0, start_deg=-5.0)
    thoracic, lumbar, sacral = profile.curve_turns_deg()
    assert sacral > thoracic
    result = sagittal_profile(profile.curve())
    assert result.kyphosis_deg == pytest.approx(thoracic, abs=TOLERANCE_DEG)
    # the 60 mm tangent fit blurs the tilt at the L5/S1 inflection, 30 mm from the end: 2 degrees less
    assert result.lordosis_deg == pytest.approx(-lumbar, abs=2.5)
    assert result.lordosis.lower_mm[1] > 0.8 * profile.curve()[-1, 1]


def test_a_chest_field_keeps_its_thoracic_kyphosis_at_the_lower_end():
    """A cervico-thoracic field: the kyphotic turn at the lower end is long, so it is the thoracic kyphosis."""
    profile = CurvatureProfile((-15.0, 45.0), (80.0, 250.0), blend_mm=40.0, start_deg=5.0)
    cervical, kyphosis = profile.curve_turns_deg()
    result = sagittal_profile(profile.curve())
    assert result.kyphosis_deg == pytest.approx(kyphosis, abs=TOLERANCE_DEG)
    assert result.lordosis is None


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
def test_kyphosis_and_lordosis_at_vertebra_levels(sigma, seed):
    profile = CurvatureProfile((40.0, -55.0), (280.0, 220.0), blend_mm=50.0, start_deg=-20.0)
    curve = profile.curve()
    levels = {"T4": 60.0, "T12": 250.0, "L1": 280.0, "S1": 470.0}
    tilt = dict(zip(levels, profile.tilt_at_z(list(levels.values()))))
    result = sagittal_profile(noisy(curve, sigma, seed), vertebra_z=levels)
    assert result.method == "levels"
    assert abs(result.kyphosis_deg - (tilt["T12"] - tilt["T4"])) < TOLERANCE_DEG
    assert abs(result.lordosis_deg - (tilt["L1"] - tilt["S1"])) < TOLERANCE_DEG
    assert result.kyphosis.upper_mm[1] == 60.0 and result.lordosis.lower_mm[1] == 470.0


def test_vertebra_levels_report_a_reversed_curve_as_negative():
    """A thoracic lordosis measured between T4 and T12 is a negative kyphosis."""
    profile = CurvatureProfile((-20.0, -40.0), (250.0, 250.0), blend_mm=20.0, start_deg=25.0)
    levels = {"T4": 20.0, "T12": 200.0, "L1": 230.0, "S1": 480.0}
    tilt = dict(zip(levels, profile.tilt_at_z(list(levels.values()))))
    result = sagittal_profile(profile.curve(), vertebra_z=levels)
    assert result.kyphosis_deg == pytest.approx(tilt["T12"] - tilt["T4"], abs=TOLERANCE_DEG)
    assert result.kyphosis_deg < -10.0


def test_vertebra_levels_must_be_complete_and_in_order():
    with pytest.raises(ValueError, match="S1"):
        sagittal_profile(circular_arc(30.0), vertebra_z={"T4": 0.0, "T12": 100.0, "L1": 120.0})
    with pytest.raises(ValueError, match="T4 at or below T12"):
        sagittal_profile(circular_arc(30.0), vertebra_z={"T4": 100.0, "T12": 0.0, "L1": 120.0, "S1": 400.0})


# ----------------------------------------------------------------------------- plane of maximum curvature


def planar_3d(lateral: np.ndarray, plane_deg: float) -> np.ndarray:
    """``(N, 3)`` curve lying in the vertical plane at ``plane_deg`` from sagittal toward the patient's left."""
    beta = np.radians(plane_deg)
    u, z = lateral[:, 0], lateral[:, 1]
    return np.stack([u * np.sin(beta), u * np.cos(beta), z], axis=1)


def plane_difference(a: float, b: float) -> float:
    """Angle between two vertical planes given by orientation in degrees (planes repeat every 180 deg)."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


@pytest.mark.parametrize("sigma, seed", NOISE_CASES)
@pytest.mark.parametrize("plane_deg", [0.0, 25.0, 63.0, 90.0, 118.0, 171.0])
@pytest.mark.parametrize("turn", [25.0, 60.0])
def test_plane_of_max_curvature_of_a_planar_arc(turn, plane_deg, sigma, seed):
    curve = noisy(planar_3d(circular_arc(turn, 500.0, -turn / 3.0), plane_deg), sigma, seed)
    plane = plane_of_max_curvature(curve)
    assert plane_difference(plane.angle_deg, plane_deg) < 1.0
    assert abs(plane.cobb_deg - turn) < TOLERANCE_DEG
    assert 0.0 <= plane.angle_deg < 180.0


def test_plane_of_max_curvature_of_a_planar_s_curve():
    profile = CurvatureProfile((35.0, -50.0), (240.0, 260.0), blend_mm=60.0, start_deg=-15.0)
    plane = plane_of_max_curvature(planar_3d(profile.curve(), 40.0))
    assert plane_difference(plane.angle_deg, 40.0) < 1.0
    assert plane.cobb_deg == pytest.approx(np.max(np.abs(profile.curve_turns_deg())), abs=TOLERANCE_DEG)


# ----------------------------------------------------------------------------- measure_spine


def spine(coronal: np.ndarray, sagittal: np.ndarray, half_width_mm: float = 15.0) -> SpineCurves:
    """SpineCurves with the given centre lines and boundaries offset sideways by ``half_width_mm``."""
    offset = np.array([half_width_mm, 0.0])
    return SpineCurves(coronal, coronal - offset, coronal + offset, sagittal, sagittal - offset, sagittal + offset)


def test_measure_spine_is_json_and_matches_the_parts():
    coronal_profile = CurvatureProfile((45.0, -40.0), (260.0, 220.0), blend_mm=60.0, start_deg=-20.0)
    sagittal = CurvatureProfile((40.0, -55.0), (280.0, 220.0), blend_mm=50.0, start_deg=-20.0)
    coronal = coronal_profile.curve()
    coronal[:, 1] *= sagittal.curve()[-1, 1] / coronal[-1, 1]  # same heights for both views
    curves = spine(coronal + [100.0, 30.0], sagittal.curve() + [50.0, 30.0])
    measures = json.loads(json.dumps(measure_spine(curves)))

    cobb = coronal_cobb(curves.coronal_centre)
    profile = sagittal_profile(curves.sagittal_centre)
    assert measures["coronal_cobb_deg"] == pytest.approx(cobb.main.angle_deg)
    assert measures["coronal_apex_mm"] == pytest.approx(list(cobb.main.apex_mm))
    assert [c["main"] for c in measures["coronal_curves"]] == [c is cobb.main for c in cobb.curves]
    assert [c["convexity"] for c in measures["coronal_curves"]] == ["right", "left"]
    assert measures["thoracic_kyphosis_deg"] == pytest.approx(profile.kyphosis_deg)
    assert measures["lumbar_lordosis_deg"] == pytest.approx(profile.lordosis_deg)
    assert measures["thoracic_kyphosis_deg"] == pytest.approx(sagittal.curve_turns_deg()[0], abs=TOLERANCE_DEG)
    assert measures["kyphosis_apex_mm"] == pytest.approx(list(profile.kyphosis.apex_mm))
    assert measures["lordosis_apex_mm"] == pytest.approx(list(profile.lordosis.apex_mm))
    assert measures["sagittal_method"] == "inflection"
    assert 0.0 <= measures["plane_of_max_curvature_deg"] < 180.0
    assert measures["plane_of_max_curvature_cobb_deg"] >= max(
        measures["coronal_cobb_deg"], measures["lumbar_lordosis_deg"]
    ) - TOLERANCE_DEG


def test_measure_spine_of_a_straight_spine():
    z = np.linspace(0.0, 500.0, N_POINTS)
    line = np.stack([np.full_like(z, 80.0), z], axis=1)
    measures = json.loads(json.dumps(measure_spine(spine(line, line))))
    assert measures["coronal_cobb_deg"] < TOLERANCE_DEG
    assert measures["coronal_curves"] == []
    assert abs(measures["thoracic_kyphosis_deg"]) < TOLERANCE_DEG
    assert abs(measures["lumbar_lordosis_deg"]) < TOLERANCE_DEG
    assert measures["plane_of_max_curvature_cobb_deg"] < TOLERANCE_DEG
