"""The spine column of a labelled CT (``monai_spine.drr.column``): C2 to S1, bodies and discs, no atlas, no alae."""

import numpy as np
import torch

from monai_spine.drr.column import S1_BODY_MARGIN_MM, SpineColumn, SpineColumnd, posterior_wall_depth
from monai_spine.drr.labels import LEVEL_ORDER

SPACING = (1.0, 1.0, 1.0)


def _stack(levels: dict[str, tuple[float, float, float]], depth=60.0, gap=6.0) -> np.ndarray:
    """Level-index volume of boxes stacked head to feet: name → (width, height, x offset) mm, ``depth`` deep,
    ``gap`` apart; x 200, y 100 voxels."""
    height = int(sum(h + gap for _, h, _ in levels.values()) + 2 * gap)
    volume = np.zeros((200, 100, height), dtype=np.int16)
    z = gap
    for name, (width, h, _) in levels.items():
        x0 = int(100 - width / 2)
        volume[x0 : x0 + int(width), 20 : 20 + int(depth), int(z) : int(z + h)] = LEVEL_ORDER.index(name) + 1
        z += h + gap
    return volume


def _level(volume, name):
    return volume == LEVEL_ORDER.index(name) + 1


def test_the_atlas_has_no_body_and_no_disc_below_it():
    volume = _stack({"C1": (70.0, 10.0, 0), "C2": (30.0, 16.0, 0), "C3": (30.0, 14.0, 0), "C4": (30.0, 14.0, 0)})
    column = SpineColumn(SPACING)(volume)
    assert not (column & _level(volume, "C1")).any()
    for name in ("C2", "C3", "C4"):
        assert (column & _level(volume, name)).any(), name
    z = np.flatnonzero(column.any(axis=(0, 1)))
    c2_top = np.flatnonzero(_level(volume, "C2").any(axis=(0, 1)))[0]
    assert z[0] == c2_top  # no C1/C2 disc above C2's body
    gap = (np.flatnonzero(_level(volume, "C2").any(axis=(0, 1)))[-1] + 3)  # between C2 and C3: a disc
    assert column[:, :, gap].any()


def test_s1_enters_as_its_body_not_its_alae():
    """An S1 label as wide as the sacrum (alae at the body's depth): the column keeps L5's width plus the margin."""
    volume = _stack({"L4": (48.0, 26.0, 0), "L5": (50.0, 25.0, 0), "S1": (110.0, 28.0, 0)})
    column = SpineColumnd("levels", SPACING)({"levels": torch.as_tensor(volume)})["levels_column"].numpy()
    s1 = column & _level(volume, "S1")
    x = np.flatnonzero(s1.any(axis=(1, 2)))
    assert s1.any() and np.ptp(x) + 1 <= 50.0 + 2 * S1_BODY_MARGIN_MM + 2
    assert s1[100, 70:80, :].any() and not s1[100, 20:50, :].any()  # the body: the front (y anterior), midline
    assert not (_level(volume, "S1") & column)[:35].any() and not (_level(volume, "S1") & column)[165:].any()


def _vertebra(canal: bool) -> np.ndarray:
    """Level-index volume (1 mm voxels, y anterior) of L2–L4 alike, each a 40 mm wide body 35 mm deep (y 65–99)
    in front of an arch (y 20–64): with ``canal``, the arch rings an empty canal 20 mm wide and 15 mm deep
    (y 50–64) on the midline, as a real vertebra's does; without, the label is solid."""
    volume = np.zeros((120, 110, 110), dtype=np.int16)
    for k, name in enumerate(("L2", "L3", "L4")):
        z = slice(10 + 32 * k, 36 + 32 * k)
        volume[40:80, 20:100, z] = LEVEL_ORDER.index(name) + 1
        if canal:
            volume[50:70, 50:65, z] = 0
    return volume


def test_body_is_what_lies_in_front_of_the_canal():
    """With a canal the body is cut at its posterior wall, 35 mm deep whatever the arch's length; a solid label
    (no canal to find) falls back to the anterior 36 % of its depth."""
    for canal, depth_mm in ((True, 35), (False, round(0.36 * 80))):
        volume = _vertebra(canal)
        column = SpineColumn(SPACING)(volume)
        y = np.flatnonzero(column[60, :, 55])  # L3's midline at mid-height
        assert abs(y.size - depth_mm) <= 1 and y[-1] == 99, (canal, y.size)


def test_posterior_wall_is_the_front_of_the_midline_gap():
    """Voxel depths (mm, anterior positive) of a label whose midline is empty from −10 to +4 mm: the wall is +5 mm;
    off the midline (pedicles) the gap is filled and does not count; a gap under 6 mm is no canal."""
    depth = np.arange(-40.0, 41.0)
    midline = (depth < -10) | (depth > 4)
    lateral = np.where(midline, 0.0, 15.0)
    assert posterior_wall_depth(np.concatenate([depth, depth]), np.concatenate([lateral, np.full_like(depth, 15.0)]),
                                SPACING) == 5.0
    narrow = np.where((depth < 0) | (depth > 4), 0.0, 15.0)
    assert posterior_wall_depth(depth, narrow, SPACING) is None
