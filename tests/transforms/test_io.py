"""LoadRadiograph / LoadVolume and their dictionary forms on small files of known orientation and spacing.

The readers' handling of DICOM tags and bad files is tested in ``tests/test_io_radiograph.py`` and
``tests/test_io_volume.py``.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing

from monai_spine.transforms import (
    LoadRadiograph,
    LoadRadiographD,
    LoadRadiographd,
    LoadRadiographDict,
    LoadVolume,
    LoadVolumeD,
    LoadVolumed,
    LoadVolumeDict,
)

FILE_PIXELS = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5 + 1  # DICOM (rows, columns)
PIXEL_SPACING = [0.2, 0.1]  # DICOM [row spacing, column spacing] mm


def radiograph(tmp_path, write_dicom, write_nifti, kind: str) -> tuple[str, np.ndarray, str]:
    """A 2D file, the image ``(W, H)`` it holds in the standard display of its frame, and the frame."""
    if kind == "coronal L\\F":  # already in the standard display: the transpose of (rows, columns)
        path = write_dicom(tmp_path / "a.dcm", FILE_PIXELS, PatientOrientation=["L", "F"], PixelSpacing=PIXEL_SPACING)
        return path, FILE_PIXELS.T, "coronal"
    if kind == "coronal R\\F":  # columns toward the patient's right: flipped
        path = write_dicom(tmp_path / "a.dcm", FILE_PIXELS, PatientOrientation=["R", "F"], PixelSpacing=PIXEL_SPACING)
        return path, FILE_PIXELS[:, ::-1].T, "coronal"
    if kind == "lateral P\\F":  # columns toward posterior: flipped so that anterior is toward increasing columns
        path = write_dicom(tmp_path / "a.dcm", FILE_PIXELS, PatientOrientation=["P", "F"], PixelSpacing=PIXEL_SPACING)
        return path, FILE_PIXELS[:, ::-1].T, "lateral"
    # a 2D NIfTI is stored (W, H) in the standard display, spacing in its header
    path = write_nifti(tmp_path / "a.nii.gz", FILE_PIXELS.T.astype(np.float32), np.diag([0.1, 0.2, 1.0, 1.0]))
    return path, FILE_PIXELS.T, "coronal"


RADIOGRAPHS = ["coronal L\\F", "coronal R\\F", "lateral P\\F", "NIfTI"]


@pytest.mark.parametrize("kind", RADIOGRAPHS)
def test_load_radiograph_standard_display(tmp_path, write_dicom, write_nifti, kind):
    path, expected, frame = radiograph(tmp_path, write_dicom, write_nifti, kind)
    img = LoadRadiograph(frame=frame)(path)
    assert isinstance(img, MetaTensor) and img.shape == (1, 4, 3) and img.dtype == torch.float32
    np.testing.assert_array_equal(img[0].numpy(), expected)
    np.testing.assert_allclose(img.affine.numpy(), np.diag([0.1, 0.2, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=2), [0.1, 0.2], rtol=1e-6)
    assert "spacing_mm" not in img.meta  # the affine is the one source of the spacing
    assert img.meta["frame"] == frame and img.meta["filename_or_obj"] == path


def test_load_radiograph_dtype_and_frame(tmp_path, write_dicom, write_nifti):
    path, expected, _ = radiograph(tmp_path, write_dicom, write_nifti, "coronal R\\F")
    img = LoadRadiograph(dtype=np.float64)(path)
    assert img.dtype == torch.float64
    np.testing.assert_array_equal(img[0].numpy(), expected)
    with pytest.raises(ValueError, match="frame must be one of"):
        LoadRadiograph(frame="axial")


def test_load_radiograph_dictionary_form(tmp_path, write_dicom, write_nifti):
    (tmp_path / "ap").mkdir()
    (tmp_path / "lat").mkdir()
    ap, ap_expected, _ = radiograph(tmp_path / "ap", write_dicom, write_nifti, "coronal R\\F")
    lateral, lateral_expected, _ = radiograph(tmp_path / "lat", write_dicom, write_nifti, "lateral P\\F")
    t = LoadRadiographd(keys=("ap", "lateral", "absent"), frame=("coronal", "lateral", "coronal"),
                        allow_missing_keys=True)
    out = t({"ap": ap, "lateral": lateral, "other": 1})
    assert set(out) == {"ap", "lateral", "other"} and out["other"] == 1
    for key, expected, frame in (("ap", ap_expected, "coronal"), ("lateral", lateral_expected, "lateral")):
        np.testing.assert_array_equal(out[key][0].numpy(), expected)
        assert out[key].meta["frame"] == frame
    with pytest.raises(KeyError):
        LoadRadiographd(keys="ap")({"lateral": lateral})


def test_load_radiograph_dictionary_form_reads_each_items_frame(tmp_path, write_dicom, write_nifti):
    (tmp_path / "ap").mkdir()
    (tmp_path / "lat").mkdir()
    ap, ap_expected, _ = radiograph(tmp_path / "ap", write_dicom, write_nifti, "coronal R\\F")
    lateral, lateral_expected, _ = radiograph(tmp_path / "lat", write_dicom, write_nifti, "lateral P\\F")
    t = LoadRadiographd(keys="image", frame_key="frame")
    for path, expected, frame in ((ap, ap_expected, "coronal"), (lateral, lateral_expected, "lateral")):
        out = t({"image": path, "frame": frame})
        np.testing.assert_array_equal(out["image"][0].numpy(), expected)
        assert out["image"].meta["frame"] == frame
    assert t({"image": ap})["image"].meta["frame"] == "coronal"  # no frame in the item: the default
    with pytest.raises(ValueError, match="frame must be one of"):
        t({"image": ap, "frame": "axial"})


def ras_volume() -> tuple[np.ndarray, np.ndarray]:
    """A random volume stored RAS (indices increasing toward right, anterior, superior) and its affine, mm."""
    data = np.random.default_rng(1).random((4, 5, 6)).astype(np.float32)
    affine = np.diag([1.5, 2.0, 2.5, 1.0])
    affine[:3, 3] = (-10, 5, 40)
    return data, affine


@pytest.mark.parametrize("codes", [("R", "A", "S"), ("L", "A", "I"), ("P", "S", "L"), ("I", "R", "P")])
def test_load_volume_to_the_patient_frame(tmp_path, codes):
    """Whatever the file's axis order, the output is LAI: the RAS volume flipped along x and z."""
    data, affine = ras_volume()
    ras_to_codes = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt(("R", "A", "S")),
                                                   nib.orientations.axcodes2ornt(codes))
    stored = nib.Nifti1Image(data, affine).as_reoriented(ras_to_codes)
    nib.save(stored, tmp_path / "v.nii.gz")
    img = LoadVolume()(tmp_path / "v.nii.gz")
    assert isinstance(img, MetaTensor) and img.shape == (1, 4, 5, 6) and img.dtype == torch.float32
    np.testing.assert_array_equal(img[0].numpy(), data[::-1, :, ::-1])
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=3), [1.5, 2.0, 2.5], rtol=1e-6)
    assert nib.aff2axcodes(img.affine.numpy()) == ("L", "A", "I")
    # voxel (0, 0, 0) is the RAS volume's last x and z voxel, at the same world point
    np.testing.assert_allclose(img.affine.numpy() @ [0, 0, 0, 1], affine @ [3, 0, 5, 1], atol=1e-5)
    np.testing.assert_allclose(img.meta["original_affine"], stored.affine, atol=1e-6)
    assert "spacing_mm" not in img.meta and img.meta["frame"] == "patient"


def test_load_volume_dictionary_form(tmp_path, write_nifti):
    data, affine = ras_volume()
    path = write_nifti(tmp_path / "v.nii.gz", data, affine)
    out = LoadVolumed(keys=("mri", "ct"), dtype=np.float64, allow_missing_keys=True)({"mri": path, "other": 1})
    assert set(out) == {"mri", "other"} and out["mri"].dtype == torch.float64
    np.testing.assert_array_equal(out["mri"][0].numpy(), data[::-1, :, ::-1])
    with pytest.raises(KeyError):
        LoadVolumed(keys="ct")({"mri": path})


def test_aliases():
    assert LoadRadiographD is LoadRadiographDict is LoadRadiographd
    assert LoadVolumeD is LoadVolumeDict is LoadVolumed
