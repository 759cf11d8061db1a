"""``report.png``: laid out once at its fixed size when its notes fit, grown to hold them all when they do not (a
warning cut off at the page's edge is a warning lost)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from monai_spine.geometry import N_POINTS, SpineCurves
from monai_spine.report.figures import _DPI, save_report

WARNING = ("the DXA curve regressor's sagittal curves are learnt from synthetic images and are 5.5 mm off on average "
           "on renders of a real CT: read the sagittal curve and its angles as an estimate")


def _curves() -> SpineCurves:
    z = np.linspace(200.0, 700.0, N_POINTS)
    centre = 10.0 * np.sin(z / 120.0)
    lateral = [centre, centre - 20.0, centre + 20.0, 0.5 * centre, 0.5 * centre - 17.0, 0.5 * centre + 17.0]
    return SpineCurves.from_array(np.stack([np.c_[x, z] for x in lateral]))


def test_notes_that_fit_keep_the_fixed_page(tmp_path):
    save_report(tmp_path / "report.png", _curves(), {"coronal_cobb_deg": 12.0}, "study", [WARNING])
    assert Image.open(tmp_path / "report.png").size == (round(11 * _DPI), round(7.5 * _DPI))


def test_notes_that_overflow_grow_the_page(tmp_path):
    save_report(tmp_path / "report.png", _curves(), {"coronal_cobb_deg": 12.0}, "study", [WARNING] * 8)
    width, height = Image.open(tmp_path / "report.png").size
    assert height > 7.5 * _DPI  # every line of the eight warnings is on the page
