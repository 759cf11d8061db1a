"""The spine column of a labelled CT (``monai_spine.drr.column``): C2 to S1, bodies and discs, no atlas, no alae."""

import numpy as np
import torch

from monai_spine.drr.column import S1_BODY_MARGIN_MM, SpineColumn, SpineColumnd
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
