"""``monai-spine demo`` end to end on the phantom: the files of the contract in dxa/ and biplanar/, and
curves close to the phantom's truth."""

import re

import numpy as np
import pytest

from monai_spine.cli import main
from monai_spine.geometry.writers import read_curves_json


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    return out


def test_demo_writes_contract_files_and_reports_errors(demo, capsys):
    assert main(["demo", "--out", str(demo)]) == 0
    report = capsys.readouterr().out
    for mode in ("dxa", "biplanar"):
        for name in ("curves.json", "curve3d.csv", "overlay.png", "report.png"):
            assert (demo / mode / name).stat().st_size > 0
        curves, document = read_curves_json(demo / mode / "curves.json")
        assert document["mode"] == mode and curves.n_points == 209
        assert not any("stand-in" in w for w in document["qc"]["warnings"])  # every route runs its bundles
        assert any("not reliable" in w for w in document["qc"]["warnings"])  # their known limitations, said
    _, document = read_curves_json(demo / "biplanar" / "curves.json")
    assert "radiograph_spine_segmentation" in document["provenance"]["bundles"]
    assert (demo / "input" / "truth.json").exists()
    assert not list(demo.rglob(".partial-*"))

    match = re.search(r"DXA centre lines: coronal mean error ([\d.]+) mm, sagittal \(relative depth\) ([\d.]+) mm",
                      report)
    coronal_error, sagittal_error = float(match.group(1)), float(match.group(2))
    distance = float(re.search(r"bi-planar 3D centre line: mean distance ([\d.]+) mm", report).group(1))
    # DXA route: coronal curves from the 0.5.2 mask (smoothed), 0.85 mm; sagittal from the 0.6 regressor, 3.33 mm
    # (3.36 mm before the spine ended above the mask's tail; 0.5: 2.36 mm, 0.4: 1.63 mm, 0.3: 1.56 mm, 0.2: 3.42 mm;
    # issue 11's targets: 1 and 2 mm, docs/regression.md).
    # 0.6 learnt adults' lordosis, two thirds of it in L4-S1; the demo study keeps the phantom's default symmetric
    # one, on which 0.6 reads a hook that is not there (30 such studies: 3D 4.40 -> 5.79 mm; with adults' lordosis
    # 5.94 -> 4.39 mm; the real CT's renders 5.89 -> 5.29 mm, docs/real_anatomy.md)
    assert coronal_error < 1.2 and sagittal_error < 3.8
    # bi-planar route with the radiograph bundle 0.4: 1.55 mm on the C2-S1 column (0.3: 1.73 mm, 0.2: 5.16 mm; 0.31 mm
    # with the phantom's own masks, tests/test_biplanar.py; issue 12's target 1.0 mm)
    assert distance < 2.5
    errors = [abs(float(e)) for e in re.findall(r"error\s+([+-][\d.]+)°", report)]
    # DXA angles (0.6, the spine ending above the mask's tail): +0.7°, +0.7°, +5.0° (before: +0.7°, -1.3°, +4.2°; the
    # lordosis is the symmetric one 0.6 over-reads, above); bi-planar Cobb +0.8°, kyphosis +3.8°, lordosis +9.5°
    # (bundle 0.4.5: its lateral mask strays at the sacrum on this study; 3.8° lordosis MAE on the phantom test set)
    assert len(errors) == 6 and max(errors[:3]) < 6.0 and max(errors[3:5]) < 7.0 and errors[5] < 15.0
    dxa_curves, _ = read_curves_json(demo / "dxa" / "curves.json")
    np.testing.assert_allclose(dxa_curves.sagittal_centre[:, 0].mean(), 0.0, atol=1e-3)  # single view: y relative
