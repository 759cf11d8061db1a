"""Lumbar count variants: 4, 5 or 6 lumbar vertebrae, their names, labels, discs and spine column."""

import json

import numpy as np
import pytest

from monai_spine.geometry.grid import Grid
from monai_spine.phantom.anatomy import Variants, build_anatomy, mobile_levels, sample_variants, spine_length_mm
from monai_spine.phantom.anatomy.variants import LUMBAR_COUNT
from monai_spine.phantom.raster import rasterise_column


def _straight_line() -> np.ndarray:
    z = np.linspace(0.0, spine_length_mm(), 1001)
    return np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=1)


@pytest.mark.parametrize("count, last", [(4, "L4"), (5, "L5"), (6, "L6")])
def test_lumbar_count_names_the_levels_and_discs(count, last):
    anatomy = build_anatomy(_straight_line(), variants=Variants(lumbar_count=count))
    names = [v.name for v in anatomy.vertebrae]
    assert names[-2:] == [last, "sacrum"] and names[:7] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    assert [n for n in names if n.startswith("L")] == [f"L{i}" for i in range(1, count + 1)]
    assert anatomy.discs[-1].name == f"{last}/S1" and len(anatomy.discs) == len(names) - 2  # none below C1
    assert anatomy.vertebrae[-1].superior_endplate == pytest.approx(_straight_line()[-1], abs=1e-6)  # same line
    labels = {v.name: v.label for v in anatomy.vertebrae}
    assert labels["L4"] == 28 and labels.get("L5", 27) == 27 and labels.get("L6", 0) == 0  # no L6 in TotalSegmentator


def test_a_sixth_lumbar_body_is_in_the_column():
    anatomy = build_anatomy(_straight_line(), variants=Variants(lumbar_count=6))
    l6 = anatomy.vertebrae[-2]
    grid = Grid.covering(l6.centre - 40.0, l6.centre + 40.0, (1.0,) * 3)
    column = rasterise_column(anatomy, grid).numpy()
    assert column[tuple(np.round(grid.to_index(l6.centre[None])[0]).astype(int))]
    assert column[40, 40].all()  # bodies and discs continuous along the line through L6


def test_lumbar_counts_drawn_with_their_shares():
    rng = np.random.default_rng(0)
    counts = np.array([sample_variants(rng).lumbar_count for _ in range(4000)])
    for count, share in LUMBAR_COUNT.items():
        assert np.mean(counts == count) == pytest.approx(share, abs=0.015)
    assert mobile_levels(6)[-2:] == ("L5", "L6") and mobile_levels(4)[-1] == "L4"
    with pytest.raises(ValueError, match="lumbar_count"):
        Variants(lumbar_count=7)


def test_a_six_lumbar_study_names_l6_in_its_truth(tmp_path):
    """Study 35 draws six lumbar vertebrae: its truth names L6 (label 0), its DXA mask holds L6's body centre."""
    from monai_spine.phantom.study import make_study
    from monai_spine.phantom.write import write_study

    study = make_study(35, modalities=("dxa",))
    assert study.anatomy.variants.lumbar_count == 6
    write_study(study, tmp_path / "study")
    truth = json.loads((tmp_path / "study" / "truth.json").read_text())
    assert truth["variants"]["lumbar_count"] == 6
    named = {v["name"]: v for v in truth["vertebrae"]}
    assert named["L6"]["label"] == 0 and named["L5"]["label"] == 27 and "S1" not in named
    l6 = next(v for v in study.anatomy.vertebrae if v.name == "L6")
    column, row = np.round(study.dxa.image.to_pixel(l6.centre[[0, 2]])).astype(int)
    assert bool(study.dxa.mask[column, row])
