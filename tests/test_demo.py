"""``monai-spine demo`` end to end: the files of the contract, and measures close to the known truth."""

import json

import pytest

from monai_spine.cli import main
from monai_spine.cli.demo import DEMO_SHAPE
from monai_spine.geometry.writers import read_curves_json


def test_demo_writes_contract_files_and_matches_truth(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    dxa = out / "dxa"
    for name in ("curves.json", "curve3d.csv", "overlay.png", "report.png"):
        assert (dxa / name).stat().st_size > 0
    curves, document = read_curves_json(dxa / "curves.json")
    assert document["mode"] == "dxa" and curves.n_points == 209
    measures = document["measures"]
    assert measures["coronal_cobb_deg"] == pytest.approx(DEMO_SHAPE.cobb_deg, abs=2.0)
    assert measures["thoracic_kyphosis_deg"] == pytest.approx(DEMO_SHAPE.kyphosis_deg, abs=1.5)
    assert measures["lumbar_lordosis_deg"] == pytest.approx(DEMO_SHAPE.lordosis_deg, abs=1.5)
    assert "coronal Cobb" in capsys.readouterr().out
    assert not [p for p in out.rglob(".partial-*")]
    assert json.loads((dxa / "curves.json").read_text())["schema"] == "monai-spine/curves/v1"
