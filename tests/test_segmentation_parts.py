"""Segmentation parts against known truth: finding inputs, datalists, centre lines (transforms: tests/transforms)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.errors import SpineInputError
from monai_spine.segmentation import CentreLineErrorMetric, centre_line_error_mm, find_images, load_datalist


def test_find_images_skips_bad_files_and_refuses_an_empty_folder(tmp_path, write_nifti):
    write_nifti(tmp_path / "dxa.nii.gz", np.ones((30, 40), np.float32) + np.eye(30, 40, dtype=np.float32))
    write_nifti(tmp_path / "mri.nii.gz", np.random.default_rng(0).random((8, 9, 10)).astype(np.float32))
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning) as record:
        two = find_images(tmp_path, ndim=2)
    assert sorted(str(w.message).split(":")[0] for w in record) == [
        f"skipped {tmp_path / 'mri.nii.gz'}", f"skipped {tmp_path / 'notes.txt'}"]
    assert [d["image"] for d in two] == [str(tmp_path / "dxa.nii.gz")]
    with pytest.warns(UserWarning) as record:
        three = find_images(tmp_path, ndim=3)
    assert any("dxa.nii.gz: 2D image" in str(w.message) for w in record)
    assert [d["image"] for d in three] == [str(tmp_path / "mri.nii.gz")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpineInputError, match="no 2D image to segment"):
        find_images(tmp_path / "empty", ndim=2)
    with pytest.raises(SpineInputError, match="no such folder"):
        find_images(tmp_path / "absent", ndim=2)


def test_load_datalist_maps_keys_and_paths(tmp_path):
    doc = {"training": [{"dxa": "s0/dxa.dcm", "dxa_spine": "s0/m.nii.gz"}], "test": [{"dxa": "s1/dxa.dcm"}]}
    (tmp_path / "dataset.json").write_text(json.dumps(doc))
    out = load_datalist(tmp_path / "dataset.json", "training", {"image": "dxa", "label": "dxa_spine"})
    assert out == [{"image": str(tmp_path / "s0/dxa.dcm"), "label": str(tmp_path / "s0/m.nii.gz")}]
    out = load_datalist(tmp_path / "dataset.json", "test", {"img": "dxa"})  # the transforms' own key name
    assert out == [{"img": str(tmp_path / "s1/dxa.dcm")}]
    with pytest.raises(SpineInputError, match="test entry 0 has no dxa_spine"):
        load_datalist(tmp_path / "dataset.json", "test", {"image": "dxa", "label": "dxa_spine"})
    with pytest.raises(SpineInputError, match="no 'validation' split"):
        load_datalist(tmp_path / "dataset.json", "validation")


def _band(shift_px: int, shape=(60, 200)) -> torch.Tensor:
    mask = torch.zeros(1, 1, *shape)
    mask[0, 0, 20 + shift_px:36 + shift_px, 10:190] = 1
    return mask


def test_centre_line_error_known_shift():
    affine = torch.diag(torch.tensor([0.5, 1.0, 1.0], dtype=torch.float64))
    truth = MetaTensor(_band(0), affine=affine)
    metric = CentreLineErrorMetric()
    metric(MetaTensor(_band(3), affine=affine), truth)  # 3 columns × 0.5 mm
    metric(MetaTensor(_band(0), affine=affine), truth)
    metric(MetaTensor(torch.zeros(1, 1, 60, 200), affine=affine), truth)  # empty prediction: NaN, left out
    np.testing.assert_allclose(metric.get_buffer().flatten()[:2].numpy(), [1.5, 0.0], atol=1e-4)
    assert torch.isnan(metric.get_buffer()[2, 0])
    np.testing.assert_allclose(float(metric.aggregate()), 0.75, atol=1e-4)
    # 3D: a tube displaced by (3, 4) voxels of 1 mm gives 5 mm
    line = np.stack([np.zeros(50), np.zeros(50), np.arange(50.0)], axis=1)
    np.testing.assert_allclose(centre_line_error_mm(line + (3, 4, 0), line), 5.0)
