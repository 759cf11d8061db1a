"""The clinical-parameter centre line reproduces its parameters through the Foundation's measures."""

import numpy as np
import pytest

from monai_spine.measures import coronal_cobb, sagittal_profile
from monai_spine.phantom import SpineShape, centre_line


@pytest.mark.parametrize("cobb", [0.0, 12.0, -35.0, 80.0])
@pytest.mark.parametrize("kyphosis, lordosis", [(10.0, 20.0), (42.0, 55.0), (70.0, 80.0)])
def test_measures_reproduce_requested_angles(cobb, kyphosis, lordosis):
    line = centre_line(SpineShape(length_mm=480.0, cobb_deg=cobb, kyphosis_deg=kyphosis, lordosis_deg=lordosis))
    coronal = coronal_cobb(line[:, [0, 2]])
    profile = sagittal_profile(line[:, [1, 2]])
    assert coronal.main.angle_deg == pytest.approx(abs(cobb), abs=0.3)
    if cobb:
        assert coronal.main.convexity == ("right" if cobb > 0 else "left")
    assert profile.kyphosis_deg == pytest.approx(kyphosis, abs=0.3)
    assert profile.lordosis_deg == pytest.approx(lordosis, abs=0.3)


def test_centre_line_frame_and_balance():
    line = centre_line(SpineShape(length_mm=500.0, cobb_deg=30.0))
    assert line.shape == (209, 3)
    np.testing.assert_allclose(np.diff(line[:, 2]), 500.0 / 208)
    np.testing.assert_allclose(line[:, :2].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(line[0, :2], line[-1, :2], atol=1e-6)  # C7 plumb line over the sacrum
    upper = line[: 209 * 6 // 10]
    assert line[:, 0].argmin() not in (0, 208)  # convex right: an interior apex toward the patient's right
    assert upper[:, 1].argmin() not in (0, len(upper) - 1)  # kyphosis apex posterior, inside the thoracic part


@pytest.mark.parametrize(
    "kwargs", [{"length_mm": 50.0}, {"cobb_deg": 130.0}, {"kyphosis_range": (0.5, 0.4)}, {"cobb_range": (0.2, 1.2)}]
)
def test_bad_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SpineShape(**kwargs)
