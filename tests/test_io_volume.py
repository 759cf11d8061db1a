"""3D volumes read through LoadVolume against known transforms, SimpleITK's reading of DICOM series, bad files.

The transforms' array and dictionary forms are tested in ``tests/transforms/test_io.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from monai.data.utils import affine_to_spacing

from monai_spine.errors import SpineInputError
from monai_spine.transforms import LoadVolume

CT5N = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "98892001" / "CT5N"
CT2_UNEVEN = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "77654033" / "CT2"
MR2_MIXED = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "98892003" / "MR2"


def assert_patient_frame(img):
    """Voxel axes toward left (−x RAS), anterior (+y), feet (−z): the LAI patient volume frame."""
    a = img.affine.numpy()[:3, :3]
    dominant = np.argmax(np.abs(a), axis=0)
    np.testing.assert_array_equal(dominant, [0, 1, 2])
    assert a[0, 0] < 0 and a[1, 1] > 0 and a[2, 2] < 0
    assert img.meta["frame"] == "patient"
    assert "spacing_mm" not in img.meta  # the affine is the one source of the spacing


def assert_same_world_as_sitk(img, ref: sitk.Image):
    """Every voxel of ``img`` holds the value SimpleITK reads at the same world point (LPS there, RAS here)."""
    vol = img[0].numpy()
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in vol.shape], indexing="ij"), -1).reshape(-1, 3)
    ras = idx @ img.affine.numpy()[:3, :3].T + img.affine.numpy()[:3, 3]
    lps = ras * [-1, -1, 1]
    d = np.asarray(ref.GetDirection()).reshape(3, 3) * np.asarray(ref.GetSpacing())
    ref_idx = np.linalg.solve(d, (lps - np.asarray(ref.GetOrigin())).T).T
    np.testing.assert_allclose(ref_idx, np.round(ref_idx), atol=1e-3)
    ref_arr = sitk.GetArrayFromImage(ref).transpose(2, 1, 0)  # → (x, y, z) index order
    r = np.round(ref_idx).astype(int)
    np.testing.assert_array_equal(vol.reshape(-1), ref_arr[r[:, 0], r[:, 1], r[:, 2]].astype(np.float32))


def sitk_series(folder) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(os.fspath(folder)))
    return reader.Execute()


def test_nifti_permuted_flipped_affine(tmp_path, write_nifti):
    v = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6) + 1
    # voxel axis 0 → superior 2 mm, axis 1 → left 3 mm, axis 2 → posterior 4 mm (RAS affine)
    affine = np.array([[0, -3, 0, 10], [0, 0, -4, 20], [2, 0, 0, 30], [0, 0, 0, 1]], dtype=float)
    img = LoadVolume()(write_nifti(tmp_path / "v.nii.gz", v, affine))
    assert img.shape == (1, 5, 6, 4)
    out = img[0].numpy()
    # out[i, j, k] = v[3 - k, i, 5 - j]: left = +axis 1, anterior = −axis 2, feet = −axis 0
    np.testing.assert_array_equal(out, v.transpose(1, 2, 0)[:, ::-1, ::-1])
    assert out[0, 0, 0] == v[3, 0, 5]
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=3), [3, 4, 2])
    assert_patient_frame(img)
    # same world point for every value
    world_in = affine @ np.array([3, 0, 5, 1.0])
    np.testing.assert_allclose(img.affine.numpy() @ [0, 0, 0, 1], world_in)
    np.testing.assert_allclose(img.meta["original_affine"], affine)
    assert img.meta["filename_or_obj"].endswith("v.nii.gz")


def test_nifti_already_lai_unchanged(tmp_path, write_nifti):
    v = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    affine = np.diag([-1.5, 2.0, -2.5, 1.0])
    img = LoadVolume()(write_nifti(tmp_path / "v.nii", v, affine))
    np.testing.assert_array_equal(img[0].numpy(), v)
    np.testing.assert_allclose(img.affine.numpy(), affine)


def test_dicom_series_real_ct(tmp_path):
    """pydicom's 5-slice CT series: InstanceNumber runs against the z position."""
    img = LoadVolume()(CT5N)
    assert img.shape == (1, 16, 16, 5)
    assert_patient_frame(img)
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=3), [0.488281, 0.488281, 2.5], rtol=1e-6)
    assert img.meta["modality"] == "CT"
    assert_same_world_as_sitk(img, sitk_series(CT5N))


def test_dicom_series_oblique_shuffled(ct_series):
    folder = ct_series(n=4, oblique=True)
    img = LoadVolume()(folder)
    assert img.shape == (1, 128, 4, 128)  # rows of the file toward L, slices toward A, columns toward the feet
    # columns (0.8 mm apart) run toward the left, rows (0.5 mm apart) toward the feet
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=3), [0.8, 3.0, 0.5], rtol=1e-5)
    assert_same_world_as_sitk(img, sitk_series(folder))
    assert img.meta["warnings"] == []


# bad input ------------------------------------------------------------------------------------------------
def _bad_inputs():
    def missing(tmp, **_):
        return os.fspath(tmp / "nope"), "no such file or folder"

    def empty_file(tmp, **_):
        (tmp / "e.nii.gz").write_bytes(b"")
        return os.fspath(tmp / "e.nii.gz"), "empty file (0 bytes)"

    def empty_folder(tmp, **_):
        (tmp / "d").mkdir()
        return os.fspath(tmp / "d"), "empty folder"

    def folder_without_dicom(tmp, **_):
        (tmp / "d").mkdir()
        (tmp / "d" / "readme.txt").write_text("nothing here\n")
        return os.fspath(tmp / "d"), "no DICOM images in this folder"

    def nested_folder(tmp, **_):
        (tmp / "d" / "s1").mkdir(parents=True)
        return os.fspath(tmp / "d"), "pass the folder of one series"

    def single_dicom(tmp, testdata, **_):
        return testdata("CT_small.dcm"), "a single 2D DICOM image (128×128 pixels); a 3D volume"

    def nifti_2d(tmp, write_nifti, **_):
        f = write_nifti(tmp / "p.nii.gz", np.ones((6, 7), np.float32))
        return f, "2D image (6×7×1 voxels); a 3D volume is expected"

    def nifti_4d(tmp, write_nifti, **_):
        return write_nifti(tmp / "t.nii.gz", np.ones((3, 4, 5, 2), np.float32)), "holds several volumes"

    def nan_volume(tmp, write_nifti, **_):
        return write_nifti(tmp / "nan.nii.gz", np.full((3, 4, 5), np.nan, np.float32)), "all 60 voxels are NaN"

    def zero_volume(tmp, write_nifti, **_):
        return write_nifti(tmp / "z.nii.gz", np.zeros((3, 4, 5), np.int16)), "all 60 voxels are 0"

    def uneven_real(tmp, **_):
        return os.fspath(CT2_UNEVEN), "slices are not evenly spaced"

    def missing_slice(tmp, ct_series, **_):
        folder = Path(ct_series(n=5, oblique=False))
        (folder / "slice_004.dcm").unlink()  # InstanceNumber 4 is the third slice in space
        return os.fspath(folder), "slices are not evenly spaced (gaps 3 to 6 mm)"

    def several_series(tmp, **_):
        return os.fspath(MR2_MIXED), "3 DICOM series in one folder"

    def duplicate_positions(tmp, ct_series, testdata, **_):
        folder = Path(ct_series(n=3, oblique=False))
        ds = pydicom.dcmread(folder / "slice_001.dcm")
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.InstanceNumber = 9
        ds.save_as(folder / "slice_009.dcm")
        return os.fspath(folder), "2 slices share a position"

    def truncated_slice(tmp, ct_series, cut_file, **_):
        folder = Path(ct_series(n=3, oblique=False))
        victim = folder / "slice_001.dcm"
        shutil.move(cut_file(victim, 0.6), victim)
        return os.fspath(folder), "truncated or damaged DICOM", os.fspath(victim)  # the error names the bad slice

    def rgb_file(tmp, testdata, **_):
        return testdata("SC_rgb.dcm"), "RGB image (3 samples per pixel)"

    def multiframe_without_geometry(tmp, testdata, **_):
        return testdata("emri_small.dcm"), "without per-frame positions"

    return [missing, empty_file, empty_folder, folder_without_dicom, nested_folder, single_dicom, nifti_2d, nifti_4d,
            nan_volume, zero_volume, uneven_real, missing_slice, several_series, duplicate_positions, truncated_slice,
            rgb_file, multiframe_without_geometry]


@pytest.mark.parametrize("make", _bad_inputs(), ids=lambda f: f.__name__)
def test_bad_input(tmp_path, testdata, write_nifti, ct_series, cut_file, make):
    path, problem, *named = make(tmp_path, testdata=testdata, write_nifti=write_nifti, ct_series=ct_series,
                                 cut_file=cut_file)
    with pytest.raises(SpineInputError) as info:
        LoadVolume()(path)
    err = info.value
    named = named[0] if named else path
    assert os.path.samefile(err.path, named) if os.path.exists(named) else err.path == named
    assert str(err) == f"{err.path}: {err.problem}" and "\n" not in str(err)
    assert problem in err.problem, err.problem


def test_enhanced_multiframe_equals_series(tmp_path, ct_series):
    """One enhanced multi-frame file (frames stored out of order) reads as the series it was made from."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    folder = Path(ct_series(n=4, oblique=True))
    slices = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]  # file order ≠ position order
    ds = slices[0].copy()
    ds.NumberOfFrames = len(slices)
    ds.PixelData = b"".join(s.PixelData for s in slices)
    orient, measures = Dataset(), Dataset()
    orient.ImageOrientationPatient = slices[0].ImageOrientationPatient
    measures.PixelSpacing = slices[0].PixelSpacing
    measures.SliceThickness = 3.0
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for s in slices:
        pos, item, rescale = Dataset(), Dataset(), Dataset()
        pos.ImagePositionPatient = s.ImagePositionPatient
        rescale.RescaleSlope, rescale.RescaleIntercept = 1, -1024
        item.PlanePositionSequence = Sequence([pos])
        item.PixelValueTransformationSequence = Sequence([rescale])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "RescaleSlope", "RescaleIntercept"):
        delattr(ds, tag)
    ds.save_as(tmp_path / "multiframe.dcm")
    a, b = LoadVolume()(tmp_path / "multiframe.dcm"), LoadVolume()(folder)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(a.affine.numpy(), b.affine.numpy(), atol=1e-6)
