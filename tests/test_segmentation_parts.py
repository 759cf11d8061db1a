"""The segmentation bundles' parts against known truth: 2.5D slices, file grids, mask QC, inputs, centre lines."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.errors import SpineInputError
from monai_spine.segmentation import CentreLineErrorMetric, centre_line_error_mm, find_images, load_datalist
from monai_spine.transforms import (
    AdjacentSlices,
    AdjacentSlicesd,
    CheckSpineMask,
    CheckSpineMaskd,
    FileOrientation,
    LoadVolume,
)


def test_adjacent_slices_known_values():
    volume = torch.arange(5, dtype=torch.float32).reshape(1, 1, 1, 5).expand(1, 2, 3, 5).clone()
    out = AdjacentSlices()(volume)
    assert out.shape == (3, 2, 3, 5)
    np.testing.assert_array_equal(out[:, 0, 0].numpy(), [[0, 0, 1, 2, 3], [0, 1, 2, 3, 4], [1, 2, 3, 4, 4]])
    wide = AdjacentSlices(offsets=(-2, 0, 2), axis=0)(torch.arange(4.0).reshape(1, 4, 1, 1))
    np.testing.assert_array_equal(wide[:, :, 0, 0].numpy(), [[0, 0, 0, 1], [0, 1, 2, 3], [2, 3, 3, 3]])
    meta = MetaTensor(volume, affine=torch.diag(torch.tensor([2.0, 2.0, 3.0, 1.0])))
    d = AdjacentSlicesd(keys=["image", "absent"], allow_missing_keys=True)({"image": meta})
    assert isinstance(d["image"], MetaTensor) and torch.equal(d["image"].affine, meta.affine)
    with pytest.raises(ValueError, match="one-channel"):
        AdjacentSlices()(torch.zeros(2, 3, 3, 3))


@pytest.mark.parametrize("codes", [("R", "A", "S"), ("P", "L", "I"), ("S", "R", "A")])
def test_file_orientation_restores_the_file_grid(tmp_path, codes):
    rng = np.random.default_rng(0)
    data = rng.random((6, 7, 8)).astype(np.float32)
    affine = np.diag([0.9, 1.1, 3.0, 1.0])
    affine[:3, 3] = (10, -20, 30)
    img = nib.Nifti1Image(data, affine).as_reoriented(
        nib.orientations.ornt_transform(nib.orientations.axcodes2ornt(("R", "A", "S")),
                                        nib.orientations.axcodes2ornt(codes)))
    path = tmp_path / "v.nii.gz"
    nib.save(img, path)
    loaded = LoadVolume()(path)  # in the patient frame, LAI
    back = FileOrientation()(loaded)
    assert back.shape[1:] == img.shape
    np.testing.assert_allclose(back.affine.numpy(), img.affine, atol=1e-5)
    np.testing.assert_array_equal(back[0].numpy(), np.asarray(img.dataobj))
    with pytest.raises(ValueError, match="original_affine"):
        FileOrientation()(MetaTensor(torch.zeros(1, 2, 2, 2)))


def test_check_spine_mask_warns_on_empty_and_short():
    affine = torch.diag(torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64))
    empty = MetaTensor(torch.zeros(1, 20, 100), affine=affine, meta={"filename_or_obj": "/data/x.dcm"})
    with pytest.warns(UserWarning, match=r"/data/x.dcm: no spine found"):
        out = CheckSpineMaskd(keys="pred")({"pred": empty})["pred"]
    assert out.meta["qc_warnings"] == ["no spine found (empty mask)"]
    short = torch.zeros(1, 20, 100)
    short[0, 5:10, 40:60] = 1  # 20 rows × 2 mm = 40 mm
    with pytest.warns(UserWarning, match="40 mm long"):
        CheckSpineMask()(MetaTensor(short, affine=affine))
    long = torch.zeros(1, 20, 100)
    long[0, 5:10, 10:90] = 1  # 160 mm
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "qc_warnings" not in CheckSpineMask()(MetaTensor(long, affine=affine)).meta


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
