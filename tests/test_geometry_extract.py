"""Curves from masks and masks from curves, against synthetic masks with known boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from monai_spine.geometry import (
    N_POINTS,
    SpineCurves,
    curves_from_mask,
    curves_from_volume,
    mask_from_curves,
    row_extents,
    spine_component,
    spine_curves_from_views,
)


def band(low, high, z_top, z_bottom, shape, spacing):
    """Mask (W, H) of the pixels whose centre lies in [low(z), high(z)] with z in [z_top, z_bottom] (mm)."""
    x = np.arange(shape[0])[:, None] * spacing[0]
    z = np.arange(shape[1]) * spacing[1]
    return (x >= low(z)) & (x <= high(z)) & (z >= z_top) & (z <= z_bottom)


def _straight():
    return (lambda z: 20 + 0.15 * z), (lambda z: 50 + 0.15 * z)


def _arc():
    radius, zc = 300.0, 100.0
    centre = lambda z: 120 - np.sqrt(radius**2 - (z - zc) ** 2) + radius - 40  # noqa: E731
    return (lambda z: centre(z) - 12), (lambda z: centre(z) + 12)


def _s_shape():
    centre = lambda z: 60 + 15 * np.sin(2 * np.pi * z / 180)  # noqa: E731
    half = lambda z: 8 + 6 * z / 180  # noqa: E731
    return (lambda z: centre(z) - half(z)), (lambda z: centre(z) + half(z))


# name: (boundaries, z_top, z_bottom, shape, spacing (column, row) mm)
CASES = {
    "straight": (_straight(), 10.0, 190.0, (200, 420), (0.5, 0.5)),
    "arc": (_arc(), 5.0, 195.0, (260, 410), (0.6, 0.5)),
    "s_shape": (_s_shape(), 12.0, 185.0, (300, 400), (0.4, 0.5)),
    "anisotropic": (_s_shape(), 12.0, 185.0, (400, 240), (0.3, 0.8)),
}


@pytest.mark.parametrize("name", CASES)
def test_curves_match_truth_within_half_pixel(name):
    (low_fn, high_fn), z_top, z_bottom, shape, spacing = CASES[name]
    mask = band(low_fn, high_fn, z_top, z_bottom, shape, spacing)
    curves = curves_from_mask(mask, spacing)
    rows = np.flatnonzero(mask.any(axis=0))

    for curve in curves:
        assert curve.shape == (N_POINTS, 2)
    z = curves.centre[:, 1]
    np.testing.assert_allclose(z, np.linspace(rows[0] * spacing[1], rows[-1] * spacing[1], N_POINTS))
    np.testing.assert_array_equal(curves.low[:, 1], z)
    np.testing.assert_array_equal(curves.high[:, 1], z)

    tol = 0.5 * spacing[0] + 1e-6 + 0.01 * spacing[0]  # half a pixel, plus the truth's curvature between rows
    assert np.abs(curves.low[:, 0] - low_fn(z)).max() <= tol
    assert np.abs(curves.high[:, 0] - high_fn(z)).max() <= tol
    assert np.abs(curves.centre[:, 0] - (low_fn(z) + high_fn(z)) / 2).max() <= tol
    np.testing.assert_allclose(curves.centre[:, 0], (curves.low[:, 0] + curves.high[:, 0]) / 2)


@pytest.mark.parametrize("name", CASES)
def test_mask_curves_mask_round_trip(name):
    (low_fn, high_fn), z_top, z_bottom, shape, spacing = CASES[name]
    mask = band(low_fn, high_fn, z_top, z_bottom, shape, spacing)
    curves = curves_from_mask(mask, spacing)
    back = mask_from_curves(curves.low, curves.high, shape, spacing)

    iou = (mask & back).sum() / (mask | back).sum()
    assert iou > 0.999
    rows, first, last = row_extents(mask)
    rows_back, first_back, last_back = row_extents(back)
    np.testing.assert_array_equal(rows_back, rows)
    # per row, the boundary curves at the row's height lie within half a pixel of the mask's pixel edges
    z_rows = rows * spacing[1]
    low_at = np.interp(z_rows, curves.low[:, 1], curves.low[:, 0]) / spacing[0]
    high_at = np.interp(z_rows, curves.high[:, 1], curves.high[:, 0]) / spacing[0]
    assert np.abs(low_at - (first - 0.5)).max() < 0.5
    assert np.abs(high_at - (last + 0.5)).max() < 0.5
    assert np.abs(first_back - first).max() <= 1 and np.abs(last_back - last).max() <= 1


def test_round_trip_is_exact_when_rows_match_points():
    """With exactly N_POINTS foreground rows the curve points sit on row centres: the mask comes back unchanged."""
    low_fn, high_fn = _s_shape()
    spacing = (0.4, 0.75)
    shape = (300, 260)
    mask = band(low_fn, high_fn, 30 * spacing[1], (30 + N_POINTS - 1) * spacing[1], shape, spacing)
    assert mask.any(axis=0).sum() == N_POINTS
    curves = curves_from_mask(mask, spacing)
    np.testing.assert_array_equal(mask_from_curves(curves.low, curves.high, shape, spacing), mask)
    # and survives rounding to 0.001 mm, as curves.json stores them
    rounded = [np.round(c, 3) for c in (curves.low, curves.high)]
    np.testing.assert_array_equal(mask_from_curves(*rounded, shape, spacing), mask)


def test_pixel_edges_of_a_rectangle():
    mask = np.zeros((10, 8), dtype=np.uint8)
    mask[3:7, 2:6] = 1  # columns 3..6, rows 2..5
    curves = curves_from_mask(mask, (2.0, 1.0), n_points=4)
    np.testing.assert_allclose(curves.low, [[5.0, 2.0], [5.0, 3.0], [5.0, 4.0], [5.0, 5.0]])
    np.testing.assert_allclose(curves.high[:, 0], 13.0)
    np.testing.assert_allclose(curves.centre[:, 0], 9.0)


def test_lateral_mask_gives_posterior_and_anterior():
    """The same function on a lateral mask: low = posterior (smaller y), high = anterior; spine curves map them."""
    posterior = lambda z: 30 + 0.1 * z  # noqa: E731
    anterior = lambda z: 70 + 10 * np.sin(z / 40)  # noqa: E731
    spacing = (0.5, 0.5)
    lateral_mask = band(posterior, anterior, 10, 180, (240, 400), spacing)
    lateral = curves_from_mask(lateral_mask, spacing)
    z = lateral.low[:, 1]
    assert np.abs(lateral.low[:, 0] - posterior(z)).max() <= 0.26
    assert np.abs(lateral.high[:, 0] - anterior(z)).max() <= 0.26

    low_fn, high_fn = _straight()
    coronal = curves_from_mask(band(low_fn, high_fn, 10, 190, (200, 420), spacing), spacing)
    spine = spine_curves_from_views(coronal, lateral)
    np.testing.assert_array_equal(spine.sagittal_posterior, lateral.low)
    np.testing.assert_array_equal(spine.sagittal_anterior, lateral.high)
    np.testing.assert_array_equal(spine.coronal_right, coronal.low)
    np.testing.assert_array_equal(spine.coronal_left, coronal.high)


def test_gaps_are_interpolated_and_blobs_dropped():
    low_fn, high_fn = _s_shape()
    spacing = (0.4, 0.5)
    shape = (300, 400)
    clean = band(low_fn, high_fn, 12, 185, shape, spacing)
    dirty = clean.copy()
    dirty[:, 150:160] = False  # a 5 mm gap across the spine
    dirty[:, 210] = False
    dirty[250:280, 20:60] = True  # a blob beside the spine, larger than the gap's neighbourhood
    reference = curves_from_mask(clean, spacing)
    curves = curves_from_mask(dirty, spacing)
    for got, want in zip(curves, reference, strict=True):
        np.testing.assert_array_equal(got[:, 1], want[:, 1])
        assert np.abs(got[:, 0] - want[:, 0]).max() <= spacing[0]  # interpolation across the 10 empty rows

    # a gap longer than max_gap_mm splits the spine: the smaller piece goes
    split = curves_from_mask(dirty, spacing, max_gap_mm=4.0)
    assert split.centre[0, 1] == pytest.approx(160 * spacing[1])
    assert split.centre[-1, 1] == pytest.approx(reference.centre[-1, 1])


def test_spine_component_bridges_only_along_height():
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:8, 0:10] = True
    mask[5:8, 13:25] = True  # 3 empty rows below the first piece
    mask[15:18, 0:5] = True  # beside the spine, 7 columns away
    np.testing.assert_array_equal(spine_component(mask, max_gap=0), mask & (np.arange(30) >= 13))
    np.testing.assert_array_equal(spine_component(mask, max_gap=2), mask & (np.arange(30) >= 13))
    kept = spine_component(mask, max_gap=3)
    assert kept[5:8].all(axis=0)[np.r_[0:10, 13:25]].all() and not kept[15:18].any()
    assert not spine_component(np.zeros((4, 4)), 3).any()


def test_empty_or_wrong_shape_mask_raises():
    with pytest.raises(ValueError, match="no foreground"):
        curves_from_mask(np.zeros((10, 10)), (1.0, 1.0))
    with pytest.raises(ValueError, match="2D"):
        curves_from_mask(np.ones((2, 10, 10)), (1.0, 1.0))
    with pytest.raises(ValueError, match="3D"):
        curves_from_volume(np.ones((10, 10)), (1.0, 1.0, 1.0))


def tube(spacing, shape=(60, 50, 120)):
    """A stack of axial discs of radius 7 mm centred on a known 3D curve; returns the mask and the curve."""
    sx, sy, sz = spacing
    z = np.arange(shape[2]) * sz
    x_c = 24 + 6 * np.sin(z / 50)
    y_c = 15 + 0.04 * z + 3 * np.cos(z / 35)
    x = np.arange(shape[0])[:, None, None] * sx
    y = np.arange(shape[1])[None, :, None] * sy
    mask = (x - x_c) ** 2 + (y - y_c) ** 2 <= 7.0**2
    mask[..., :8] = False
    mask[..., -5:] = False
    truth = lambda zz: (24 + 6 * np.sin(zz / 50), 15 + 0.04 * zz + 3 * np.cos(zz / 35))  # noqa: E731
    return mask, truth


def test_volume_centre_line_within_half_voxel():
    spacing = (0.8, 0.6, 1.5)
    mask, truth = tube(spacing)
    result = curves_from_volume(mask, spacing)
    line = result.centre_line
    assert line.shape == (N_POINTS, 3)
    np.testing.assert_allclose(line[:, 2], np.linspace(8 * 1.5, 114 * 1.5, N_POINTS))
    x_true, y_true = truth(line[:, 2])
    err_x = np.abs(line[:, 0] - x_true).max() / spacing[0]
    err_y = np.abs(line[:, 1] - y_true).max() / spacing[1]
    assert err_x < 0.5 and err_y < 0.5

    curves = result.curves
    z = curves.sagittal_centre[:, 1]
    x_true, y_true = truth(z)
    tol = 0.5 + 0.05
    assert np.abs(curves.coronal_right[:, 0] - (x_true - 7)).max() / spacing[0] < tol
    assert np.abs(curves.coronal_left[:, 0] - (x_true + 7)).max() / spacing[0] < tol
    assert np.abs(curves.sagittal_posterior[:, 0] - (y_true - 7)).max() / spacing[1] < tol
    assert np.abs(curves.sagittal_anterior[:, 0] - (y_true + 7)).max() / spacing[1] < tol

    # the coronal and sagittal curves are those of the mask's projections
    coronal = curves_from_mask(mask.any(axis=1), (spacing[0], spacing[2]))
    lateral = curves_from_mask(mask.any(axis=0), (spacing[1], spacing[2]))
    np.testing.assert_allclose(curves.to_array(), spine_curves_from_views(coronal, lateral).to_array())


def test_curve3d_from_volume_curves_follows_the_tube():
    spacing = (0.8, 0.6, 1.5)
    mask, truth = tube(spacing)
    curve3d = curves_from_volume(mask, spacing).curves.curve3d()
    x_true, y_true = truth(curve3d[:, 2])
    assert np.abs(curve3d[:, 0] - x_true).max() / spacing[0] < 0.55
    assert np.abs(curve3d[:, 1] - y_true).max() / spacing[1] < 0.55


def test_curve3d_interpolates_sagittal_at_coronal_heights():
    n = 11
    z_cor = np.linspace(0, 100, n)
    z_sag = np.linspace(-10, 90, n)  # the lateral view saw the spine 10 mm higher
    coronal = np.stack([5 + 0.2 * z_cor, z_cor], axis=1)
    sagittal = np.stack([-3 + 0.5 * z_sag, z_sag], axis=1)
    spine = SpineCurves(coronal, coronal - [1, 0], coronal + [1, 0], sagittal, sagittal - [2, 0], sagittal + [2, 0])
    curve3d = spine.curve3d()
    assert curve3d.shape == (n, 3)
    np.testing.assert_allclose(curve3d[:, [0, 2]], coronal)
    inside = z_cor <= 90
    np.testing.assert_allclose(curve3d[inside, 1], -3 + 0.5 * z_cor[inside])
    np.testing.assert_allclose(curve3d[~inside, 1], -3 + 0.5 * 90)  # held constant beyond the end


def test_partial_end_rows_are_trimmed_on_request():
    """A band whose first and last 4 rows are cut short (a tilted end plate) starts at the first full row."""
    mask = np.zeros((40, 60), dtype=bool)
    mask[10:30, 5:55] = True
    for k in range(4):  # narrowing wedges at both ends, shifted to one side
        mask[10 : 10 + 4 * (k + 1), 5 + k] = False
        mask[:, 5 + k][mask[:, 5 + k].nonzero()[0]] = False
        mask[10 : 12 + 4 * k, 54 - k] = False
    rows = np.nonzero(mask.any(0))[0]
    widths = mask.sum(0)[rows]
    full = rows[widths >= 0.7 * np.median(widths)]
    trimmed = curves_from_mask(mask, (1.0, 1.0), min_width_fraction=0.7)
    assert trimmed.centre[0, 1] == full[0] and trimmed.centre[-1, 1] == full[-1]
    untrimmed = curves_from_mask(mask, (1.0, 1.0))
    assert untrimmed.centre[0, 1] == rows[0] and untrimmed.centre[-1, 1] == rows[-1]


def test_a_narrow_tail_below_the_column_is_trimmed_on_request():
    """A 300 mm column 50 mm wide that narrows to 24 mm for its last 40 mm (a mask run past the S1 body into the
    sacrum, off to one side): with ``tail_width_fraction`` 0.7 the curves end at the column's last full row, so the
    centre line keeps the column's centre; without it they run on to the tail's end and its centre pulls the line
    13 mm aside. A column that narrows only at its top (a cervical spine) keeps every row."""
    mask = np.zeros((120, 400), dtype=bool)  # (columns, rows), 1 mm pixels
    mask[30:80, 20:320] = True  # the column: x from 29.5 to 79.5 mm (pixel centres at index × spacing)
    mask[30:54, 320:360] = True  # the tail, at the column's right side
    trimmed = curves_from_mask(mask, (1.0, 1.0), tail_width_fraction=0.7)
    assert trimmed.centre[-1, 1] == 319 and trimmed.centre[0, 1] == 20
    np.testing.assert_allclose(trimmed.centre[:, 0], 54.5)
    untrimmed = curves_from_mask(mask, (1.0, 1.0))
    assert untrimmed.centre[-1, 1] == 359 and untrimmed.centre[-1, 0] == 41.5
    necked = np.zeros_like(mask)
    necked[30:80, 60:360] = True
    necked[43:67, 20:60] = True  # a narrower top: not a tail
    assert curves_from_mask(necked, (1.0, 1.0), tail_width_fraction=0.7).centre[[0, -1], 1].tolist() == [20, 359]


def test_smoothing_keeps_a_cubic_curve_and_removes_pixel_steps():
    """A cubic lateral deviation sampled by a 1 mm pixel staircase: the smoothed curve is closer to the truth and its
    tangent angles no longer jump (the Cobb angle reads them), and an exact cubic comes back unchanged."""
    from monai_spine.geometry import smooth_along_height

    z = np.linspace(100.0, 700.0, 209)
    x = 200.0 + 12.0 * np.sin((z - 100.0) / 600.0 * np.pi)  # a 12 mm single curve over 600 mm
    stepped = np.c_[np.round(x), z]
    smoothed = smooth_along_height(stepped, 200.0)
    np.testing.assert_array_equal(smoothed[:, 1], z)
    assert np.abs(smoothed[:, 0] - x).mean() < 0.5 * np.abs(stepped[:, 0] - x).mean()
    def tangent_jump_deg(curve):
        return np.abs(np.diff(np.degrees(np.arctan(np.diff(curve[:, 0]) / np.diff(z))))).max()

    assert tangent_jump_deg(stepped) > 10.0 and tangent_jump_deg(smoothed) < 1.0
    cubic = np.c_[1e-7 * (z - 400.0) ** 3 + 3e-4 * z**2, z]
    np.testing.assert_allclose(smooth_along_height(cubic, 200.0), cubic, atol=1e-6)
    np.testing.assert_array_equal(smooth_along_height(cubic[:3], 200.0), cubic[:3])  # too short to filter
