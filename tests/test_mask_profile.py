"""``geometry.profile``: a mask's per-row centre and width in mm, its ends left out, and the ragged-sides check."""

from __future__ import annotations

import numpy as np
import pytest

from monai_spine.geometry.profile import RAGGED_JUMP_MM, ragged_mask_warning, row_profile


def _column(widths_px, height=200, width=80, centre_px=40):
    """A ``(W, H)`` mask, rows 20..20+len(widths) holding a run of ``widths_px[i]`` pixels about ``centre_px``."""
    mask = np.zeros((width, height), bool)
    for row, w in enumerate(widths_px, start=20):
        mask[centre_px - w // 2: centre_px - w // 2 + w, row] = True
    return mask


def test_centre_and_width_in_mm_ends_left_out():
    """Columns 30-49 on rows 20-119 at 0.5 × 2 mm pixels, origin x 10 mm: centre 10 + 39.5 × 0.5, width 19 × 0.5;
    5 mm (3 rows of 2 mm, rounded) left out at each end."""
    profile = row_profile(_column([20] * 100), (0.5, 2.0), origin_x_mm=10.0, end_mm=5.0)
    assert profile.row_mm == 2.0
    assert profile.rows[0] == 20 + 3 and profile.rows[-1] == 119 - 3
    assert np.allclose(profile.centre_mm[profile.rows], 10.0 + 39.5 * 0.5)
    assert np.allclose(profile.width_mm[profile.rows], 19 * 0.5)
    assert np.isnan(profile.centre_mm[:23]).all() and np.isnan(profile.width_mm[117:]).all()


def test_empty_mask_has_no_rows():
    profile = row_profile(np.zeros((10, 10), bool), (1.0, 1.0))
    assert profile.rows.size == 0 and profile.width_jumps_per_100mm(RAGGED_JUMP_MM) == 0.0


@pytest.mark.parametrize("every, ragged", [(0, False), (50, False), (10, True)])
def test_ragged_sides(every, ragged):
    """A 100 mm column at 1 mm pixels whose width steps by 8 mm every ``every`` rows: 2 jumps per 100 mm is a
    spine's outline, 10 is a broken segmentation."""
    widths = [30 + (8 if every and (row // every) % 2 else 0) for row in range(100)]
    warning = ragged_mask_warning("AP", _column(widths), (1.0, 1.0))
    assert (warning is not None) == ragged
    if ragged:
        assert warning.startswith("the AP spine mask is ragged: its width jumps by more than 3 mm ")
