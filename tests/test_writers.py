"""curves.json and curve3d.csv: contract fields, rounding, round trip, validation and atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import monai_spine
from monai_spine.errors import SpineInputError
from monai_spine.geometry import N_POINTS, SpineCurves, read_curves_json, write_curve3d_csv, write_curves_json

CONTRACT_KEYS = [
    "schema",
    "mode",
    "inputs",
    "n_points",
    "coronal",
    "sagittal",
    "curve3d_mm",
    "measures",
    "qc",
    "provenance",
]


def make_curves(seed=0) -> SpineCurves:
    rng = np.random.default_rng(seed)
    z = np.linspace(101.23456, 512.98765, N_POINTS)
    x = 150 + 20 * np.sin(z / 80) + rng.normal(0, 1e-4, N_POINTS)
    y = -5 + 12 * np.cos(z / 120)
    z_sag = z - 7.77777
    return SpineCurves(
        coronal_centre=np.stack([x, z], 1),
        coronal_right=np.stack([x - 17.123456, z], 1),
        coronal_left=np.stack([x + 16.987654, z], 1),
        sagittal_centre=np.stack([y, z_sag], 1),
        sagittal_posterior=np.stack([y - 14.44444, z_sag], 1),
        sagittal_anterior=np.stack([y + 15.55555, z_sag], 1),
    )


def write(path, curves=None, **overrides):
    kwargs = dict(
        mode="dxa",
        inputs={"dxa": "scan.dcm", "modality": "DX", "pixel_spacing_mm": np.array([0.5, 0.5])},
        measures={"coronal_cobb_deg": np.float32(12.5), "thoracic_kyphosis_deg": float("nan")},
        qc={"warnings": ["low contrast"]},
        provenance={"bundles": {"dxa_regressor": "0.1.0"}},
    )
    kwargs.update(overrides)
    write_curves_json(path, curves if curves is not None else make_curves(), **kwargs)


def test_curves_json_fields_exactly_as_contract(tmp_path):
    path = tmp_path / "curves.json"
    curves = make_curves()
    write(path, curves)
    doc = json.loads(path.read_text())
    assert list(doc) == CONTRACT_KEYS
    assert doc["schema"] == "monai-spine/curves/v1"
    assert doc["mode"] == "dxa" and doc["n_points"] == 209
    assert list(doc["coronal"]) == ["centre", "right", "left"]
    assert list(doc["sagittal"]) == ["centre", "posterior", "anterior"]
    for view in ("coronal", "sagittal"):
        for points in doc[view].values():
            assert len(points) == 209 and all(len(p) == 2 for p in points)
    assert len(doc["curve3d_mm"]) == 209 and all(len(p) == 3 for p in doc["curve3d_mm"])
    # pairs are [lateral, z]: right is the smaller x, posterior the smaller y
    np.testing.assert_allclose(doc["coronal"]["right"], np.round(curves.coronal_right, 3))
    np.testing.assert_allclose(doc["sagittal"]["posterior"], np.round(curves.sagittal_posterior, 3))
    np.testing.assert_allclose(doc["curve3d_mm"], np.round(curves.curve3d(), 3))
    # metadata made plain: numpy to Python, NaN to null, defaults filled in
    assert doc["inputs"]["pixel_spacing_mm"] == [0.5, 0.5]
    assert doc["measures"] == {"coronal_cobb_deg": 12.5, "thoracic_kyphosis_deg": None}
    assert doc["qc"] == {"warnings": ["low contrast"]}
    assert doc["provenance"] == {"monai_spine": monai_spine.__version__, "bundles": {"dxa_regressor": "0.1.0"}}
    # every coordinate has at most 3 decimals
    text = path.read_text()
    for token in text.replace("[", " ").replace("]", " ").replace(",", " ").split():
        if token[0].isdigit() or token[0] == "-":
            assert len(token.split(".")[-1]) <= 3 or "." not in token


def test_curves_json_round_trip_within_a_micrometre(tmp_path):
    path = tmp_path / "curves.json"
    curves = make_curves()
    write(path, curves, mode="biplanar")
    read, doc = read_curves_json(path)
    assert isinstance(read, SpineCurves) and doc["mode"] == "biplanar"
    error = np.abs(read.to_array() - curves.to_array()).max()
    assert error <= 0.0005 + 1e-9
    assert np.abs(np.asarray(doc["curve3d_mm"]) - curves.curve3d()).max() <= 0.0005 + 1e-9
    # writing what was read gives the same curves (curve3d's y is re-interpolated from the rounded sagittal centre)
    again = tmp_path / "again.json"
    write(again, read, mode="biplanar")
    doc_again = json.loads(again.read_text())
    assert np.abs(np.subtract(doc_again["curve3d_mm"], doc["curve3d_mm"])).max() <= 0.001 + 1e-9
    doc_again.pop("curve3d_mm")
    assert doc_again == {k: v for k, v in doc.items() if k != "curve3d_mm"}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(schema="monai-spine/curves/v2"), "unsupported curves.json schema 'monai-spine/curves/v2'"),
        (lambda d: d.pop("schema"), "unsupported curves.json schema None"),
        (lambda d: d.pop("qc"), "no 'qc' field"),
        (lambda d: d.update(mode="mri"), "mode must be one of"),
        (lambda d: d["sagittal"].pop("anterior"), "sagittal has no 'anterior' curve"),
        (lambda d: d["coronal"]["left"].pop(), "coronal.left must be a list of 209 finite"),
        (lambda d: d["curve3d_mm"][3].pop(), "curve3d_mm must be a list of 209 finite"),
        (lambda d: d.update(n_points=208), "coronal.centre must be a list of 208"),
    ],
)
def test_read_rejects_bad_documents(tmp_path, change, message):
    path = tmp_path / "curves.json"
    write(path)
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(SpineInputError, match=message) as err:
        read_curves_json(path)
    assert str(err.value).startswith(f"{path}: ")


def test_read_rejects_non_json(tmp_path):
    path = tmp_path / "curves.json"
    path.write_text("{not json")
    with pytest.raises(SpineInputError, match="cannot read curves.json"):
        read_curves_json(path)


def test_write_rejects_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        write(tmp_path / "curves.json", mode="ct")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "curves.json"
    write(path)
    before = path.read_text()
    with pytest.raises(TypeError):
        write(path, make_curves(seed=1), measures={"bad": object()})
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.json"]


def test_curve3d_csv(tmp_path):
    path = tmp_path / "curve3d.csv"
    curve3d = make_curves().curve3d()
    curve3d[0, 1] = -0.0001  # rounds to zero, written without a sign
    write_curve3d_csv(path, curve3d)
    lines = path.read_text().splitlines()
    assert lines[0] == "index,x_mm,y_mm,z_mm"
    assert len(lines) == 1 + 209
    assert lines[1].split(",")[2] == "0.000"
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(209))
    assert np.abs(table[:, 1:] - curve3d).max() <= 0.0005 + 1e-9
    assert all(len(value.split(".")[1]) == 3 for line in lines[1:] for value in line.split(",")[1:])
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        write_curve3d_csv(tmp_path / "bad.csv", curve3d[:, :2])
    assert not (tmp_path / "bad.csv").exists()
