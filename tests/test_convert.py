"""convert(): DICOM → NIfTI compared with SimpleITK's reading of the same DICOM (the reference)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import torch

from monai_spine.errors import SpineInputError
from monai_spine.io import convert
from monai_spine.transforms import LoadRadiograph

CT5N = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "98892001" / "CT5N"


def sitk_read(src) -> sitk.Image:
    if os.path.isdir(src):
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(os.fspath(src)))
        return reader.Execute()
    return sitk.ReadImage(os.fspath(src))


def assert_same_image(ours: sitk.Image, ref: sitk.Image):
    assert ours.GetSize() == ref.GetSize()
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(ours).astype(np.float64), sitk.GetArrayFromImage(ref).astype(np.float64)
    )
    np.testing.assert_allclose(ours.GetSpacing(), ref.GetSpacing(), atol=1e-4)
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-4)


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # rescale intercept −1024
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "693_J2KR.dcm",  # pydicom-data: 512 × 512 CT, JPEG 2000 lossless
    ],
)
def test_single_file_matches_simpleitk(tmp_path, testdata, name):
    src = testdata(name)
    out = convert(src, tmp_path / "out.nii.gz")
    assert out == tmp_path / "out.nii.gz"
    assert_same_image(sitk.ReadImage(os.fspath(out)), sitk_read(src))


def test_real_series_matches_simpleitk(tmp_path):
    out = convert(CT5N, tmp_path / "ct.nii")
    assert_same_image(sitk.ReadImage(os.fspath(out)), sitk_read(CT5N))


def test_oblique_shuffled_series_matches_simpleitk(tmp_path, ct_series):
    folder = ct_series(n=4, oblique=True)
    out = convert(folder, tmp_path / "out" / "deeper" / "s.nii.gz")  # folders are created
    ours, ref = sitk.ReadImage(os.fspath(out)), sitk_read(folder)
    assert_same_image(ours, ref)
    assert ref.GetSize() == (128, 128, 4) and abs(ref.GetSpacing()[2] - 3.0) < 1e-4


@pytest.mark.parametrize(
    "orientation, frame, axis0_lps",
    [
        (["R", "H"], "coronal", [1, 0, 0]),  # flipped and transposed; axis 0 toward L = LPS +x
        (["L", "F"], "coronal", [1, 0, 0]),  # already in the standard display
        (["A", "F"], "lateral", [0, -1, 0]),  # axis 0 toward A = LPS −y
        (["H", "P"], "lateral", [0, -1, 0]),  # transposed and both flipped
    ],
)
def test_radiograph_round_trip(tmp_path, write_dicom, orientation, frame, axis0_lps):
    """A projection image (no patient geometry) becomes a 2D NIfTI that loads as the same image."""
    stored = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 9 + 1)
    src = write_dicom(tmp_path / "dx.dcm", stored, PatientOrientation=orientation, PixelSpacing=[0.2, 0.1],
                      PhotometricInterpretation="MONOCHROME1")
    a = LoadRadiograph(frame=frame)(src)
    out = convert(src, tmp_path / "dx.nii.gz")
    b = LoadRadiograph(frame=frame)(out)
    assert torch.equal(a, b)
    np.testing.assert_allclose(b.affine.numpy(), a.affine.numpy())
    assert b.meta["spacing_source"] == "NIfTI header" and b.meta["orientation_applied"] == []
    ref = sitk.ReadImage(os.fspath(out))  # other tools see the same geometry: axis 0 as the frame's, axis 1 to feet
    d = np.asarray(ref.GetDirection()).reshape(3, 3)
    np.testing.assert_allclose(d[:, 0], axis0_lps, atol=1e-6)
    np.testing.assert_allclose(d[:, 1], [0, 0, -1], atol=1e-6)  # LPS −z = feet


def test_failure_leaves_nothing(tmp_path, testdata, cut_file):
    bad = cut_file(testdata("MR_small.dcm"), 0.5)
    target = tmp_path / "out" / "x.nii.gz"
    with pytest.raises(SpineInputError, match="truncated"):
        convert(bad, target)
    assert not target.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_overwrites_existing_output(tmp_path, testdata):
    target = tmp_path / "x.nii.gz"
    target.write_bytes(b"old")
    convert(testdata("MR_small.dcm"), target)
    assert sitk.ReadImage(os.fspath(target)).GetSize() == (64, 64, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nii.gz"]  # no temporary file left


def test_refuses_to_overwrite_input(tmp_path, testdata):
    src = tmp_path / "scan.nii.gz"  # a DICOM file with a NIfTI name
    shutil.copy(testdata("MR_small.dcm"), src)
    before = src.read_bytes()
    with pytest.raises(SpineInputError, match="is the input") as info:
        convert(src, src)
    assert "\n" not in str(info.value)
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "case, problem",
    [
        ("not_nifti_output", "output name must end in .nii or .nii.gz"),
        ("output_is_folder", "is a folder"),
        ("missing_input", "no such file or folder"),
        ("nifti_input", "already a NIfTI file"),
        ("rgb_input", "RGB image (3 samples per pixel)"),
        ("sr_input", "no pixel data (Comprehensive SR Storage)"),
        ("text_input", "not a DICOM file"),
    ],
)
def test_bad_arguments(tmp_path, testdata, write_nifti, case, problem):
    out = tmp_path / "o.nii.gz"
    src = testdata("MR_small.dcm")
    if case == "not_nifti_output":
        out = tmp_path / "o.png"
    elif case == "output_is_folder":
        out = tmp_path / "dir.nii"
        out.mkdir()
    elif case == "missing_input":
        src = tmp_path / "none.dcm"
    elif case == "nifti_input":
        src = write_nifti(tmp_path / "in.nii.gz", np.ones((3, 3, 3), np.float32))
    elif case == "rgb_input":
        src = testdata("SC_rgb.dcm")
    elif case == "sr_input":
        src = testdata("test-SR.dcm")
    elif case == "text_input":
        src = tmp_path / "t.dcm"
        src.write_text("hello\n")
    with pytest.raises(SpineInputError) as info:
        convert(src, out)
    assert problem in info.value.problem and "\n" not in str(info.value)
    assert not (tmp_path / "o.nii.gz").exists()
