"""Projection geometries: projection ↔ back-projection, triangulation, magnification, orientation, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monai_spine.projection import (
    ConeBeamProjection,
    ParallelProjection,
    Projection,
    SlotScanProjection,
    triangulate,
)

ISOCENTRE = (3.0, -4.0, 120.0)


def _source_pair(cls, ap_side, lateral_side):
    common = dict(source_to_detector_mm=1300.0, source_to_isocentre_mm=900.0, isocentre=ISOCENTRE)
    return (
        cls(view="ap", source_side=ap_side, pixel_mm=(0.4, 0.5), shape=(300, 400), **common),
        cls(view="lateral", source_side=lateral_side, pixel_mm=(0.45, 0.5), shape=(280, 400), **common),
    )


PAIRS = {
    "parallel": (
        ParallelProjection(view="ap", pixel_mm=(0.8, 0.9), shape=(50, 60), origin=(-20.0, 25.0)),
        ParallelProjection(view="lateral", pixel_mm=(0.7, 0.9), shape=(40, 60), origin=(-15.0, 25.0)),
    ),
    "cone": _source_pair(ConeBeamProjection, "anterior", "right"),
    "cone_pa_left": _source_pair(ConeBeamProjection, "posterior", "left"),
    "slot": _source_pair(SlotScanProjection, "anterior", "right"),
    "slot_pa_left": _source_pair(SlotScanProjection, "posterior", "left"),
}


def _points(n=50, seed=0):
    """Random patient-frame points (N, 3) mm around the isocentre."""
    return np.asarray(ISOCENTRE) + np.random.default_rng(seed).uniform(-60, 60, size=(n, 3))


@pytest.mark.parametrize("name", PAIRS)
def test_triangulation_recovers_projected_points(name):
    ap, lateral = PAIRS[name]
    points = _points()
    recovered = triangulate(ap, ap.project(points), lateral, lateral.project(points))
    assert np.abs(recovered - points).max() < 1e-6


@pytest.mark.parametrize("name", PAIRS)
def test_points_on_a_back_projected_ray_project_to_its_pixel(name):
    for geometry in PAIRS[name]:
        pixels = np.random.default_rng(1).uniform(0, 40, size=(20, 2))
        origins, directions = geometry.back_project(pixels)
        assert np.allclose(np.linalg.norm(directions, axis=1), 1.0)
        for t in (700.0, 900.0, 1100.0):
            assert np.allclose(geometry.project(origins + t * directions), pixels, atol=1e-9)


@pytest.mark.parametrize("name", PAIRS)
def test_rays_are_the_pixel_centres_back_projections(name):
    geometry = PAIRS[name][0]
    origins, directions = geometry.rays()
    assert origins.shape == directions.shape == (*geometry.shape, 3)
    o, d = geometry.back_project([[7.0, 11.0]])
    assert np.allclose(origins[7, 11].numpy(), o[0]) and np.allclose(directions[7, 11].numpy(), d[0])


@pytest.mark.parametrize("name", PAIRS)
def test_images_keep_the_standard_orientation(name):
    """AP columns toward the patient's left, lateral columns anterior, rows toward the feet, whichever the source."""
    ap, lateral = PAIRS[name]
    point = np.asarray([ISOCENTRE])
    for geometry, axis in ((ap, 0), (lateral, 1)):
        moved = point + 5.0 * np.eye(3)[axis]
        assert geometry.project(moved)[0, 0] > geometry.project(point)[0, 0]
        lower = point + [0.0, 0.0, 5.0]
        assert geometry.project(lower)[0, 1] > geometry.project(point)[0, 1]


def test_cone_magnification_is_sid_over_source_distance():
    ap, lateral = PAIRS["cone"]
    points = _points(10)
    for geometry in (ap, lateral):
        depth = np.abs((points - geometry.source)[:, geometry.beam_axis])
        expected = geometry.source_to_detector_mm / depth
        assert np.allclose(geometry.magnification(points), expected[:, None])
        # a small shift across the beam moves the image by the magnified shift
        shift = 1e-3 * np.eye(3)[geometry.column_axis]
        moved = (geometry.project(points + shift) - geometry.project(points))[:, 0] * geometry.pixel_mm[0]
        assert np.allclose(moved, 1e-3 * expected, rtol=1e-6)
    assert np.isclose(ap.magnification([ISOCENTRE])[0, 0], 1300.0 / 900.0)
    assert np.allclose(ap.project([ISOCENTRE]), ap.centre_pixel)


def test_slot_scan_is_parallel_vertically():
    ap, _ = PAIRS["slot"]
    points = _points(10)
    rows = ap.project(points)[:, 1]
    assert np.allclose(rows, (points[:, 2] - ISOCENTRE[2]) / ap.pixel_mm[1] + (ap.shape[1] - 1) / 2)
    assert np.allclose(ap.magnification(points)[:, 1], 1.0)
    origins, directions = ap.back_project([[0.0, 0.0], [10.0, 30.0]])
    assert np.allclose(directions[:, 2], 0.0) and not np.isclose(origins[0, 2], origins[1, 2])


def test_parallel_projection_and_image_mm():
    ap, lateral = PAIRS["parallel"]
    point = np.array([[4.0, -7.0, 61.0]])
    assert np.allclose(ap.project(point), [[(4.0 + 20.0) / 0.8, (61.0 - 25.0) / 0.9]])
    assert np.allclose(lateral.project(point), [[(-7.0 + 15.0) / 0.7, (61.0 - 25.0) / 0.9]])
    assert np.allclose(ap.project_mm(point), [[24.0, 36.0]])
    assert np.allclose(ap.mm_to_pixel(ap.pixel_to_mm([[3.0, 4.0]])), [[3.0, 4.0]])
    assert np.allclose(ap.magnification(point), 1.0)


@pytest.mark.parametrize("name", PAIRS)
def test_dict_round_trip_through_json(name):
    for geometry in PAIRS[name]:
        data = json.loads(json.dumps(geometry.to_dict()))
        assert Projection.from_dict(data) == geometry
        assert type(geometry).from_dict(data) == geometry


def test_from_dict_refuses_another_type():
    with pytest.raises(ValueError):
        ConeBeamProjection.from_dict(PAIRS["slot"][0].to_dict())


@pytest.mark.parametrize(
    "build",
    [
        lambda: ParallelProjection(view="pa", pixel_mm=1.0, shape=(10, 10)),
        lambda: ParallelProjection(view="ap", pixel_mm=0.0, shape=(10, 10)),
        lambda: ConeBeamProjection(view="ap", source_side="right", pixel_mm=1.0, shape=(10, 10),
                                   source_to_detector_mm=1000, source_to_isocentre_mm=800),
        lambda: SlotScanProjection(view="lateral", pixel_mm=1.0, shape=(10, 10), source_to_detector_mm=800,
                                   source_to_isocentre_mm=900),
    ],
)
def test_bad_geometries_are_refused(build):
    with pytest.raises(ValueError):
        build()
