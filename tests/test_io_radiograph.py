"""2D projection images read through LoadRadiograph: DICOM tags, pixels, spacing, orientation and bad files.

The transforms' array and dictionary forms are tested in ``tests/transforms/test_io.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pydicom
import pytest
import torch
from monai.data.utils import affine_to_spacing

from monai_spine.errors import SpineInputError
from monai_spine.transforms import LoadRadiograph

SC_SOP = "1.2.840.10008.5.1.4.1.1.7"  # secondary capture
W, H = 4, 3  # standard display: 4 columns (toward the left / anterior), 3 rows (toward the feet)
SX, SZ = 0.1, 0.2  # mm between columns, between rows in the standard display
STANDARD = (np.arange(W * H, dtype=np.uint16).reshape(W, H) * 7 + 5)  # [column, row] in the standard display


def file_pixels(standard: np.ndarray, po: tuple[str, str], horizontal: str) -> tuple[np.ndarray, list[float]]:
    """The DICOM ``(rows, columns)`` array and ``PixelSpacing`` of ``standard`` stored with PatientOrientation ``po``.

    Independent of the code under test: each file pixel is placed from the meaning of the letters
    (first: direction of increasing column index, second: of increasing row index).
    """
    w, h = standard.shape
    a, b = po[0][0], po[1][0]
    on_h = (horizontal, {"L": "R", "A": "P"}[horizontal])
    wf, hf = (w, h) if a in on_h else (h, w)
    out = np.zeros((hf, wf), dtype=standard.dtype)
    for fr in range(hf):
        for fc in range(wf):
            x = z = None
            for letter, i in ((a, fc), (b, fr)):
                if letter == horizontal:
                    x = i
                elif letter in on_h:
                    x = w - 1 - i
                elif letter == "F":
                    z = i
                else:  # H
                    z = h - 1 - i
            out[fr, fc] = standard[x, z]
    col_sp = SX if a in on_h else SZ
    row_sp = SX if b in on_h else SZ
    return out, [row_sp, col_sp]  # DICOM PixelSpacing is [row spacing, column spacing]


CORONAL_PO = [
    ("L", "F"), ("R", "F"), ("L", "H"), ("R", "H"),
    ("F", "L"), ("F", "R"), ("H", "L"), ("H", "R"),
]


@pytest.mark.parametrize("po", CORONAL_PO, ids=lambda p: "".join(p))
def test_coronal_patient_orientation(tmp_path, write_dicom, po):
    pixels, spacing = file_pixels(STANDARD, po, "L")
    f = write_dicom(tmp_path / "x.dcm", pixels, PatientOrientation=list(po), PixelSpacing=spacing)
    img = LoadRadiograph()(f)
    assert img.shape == (1, W, H) and img.dtype == torch.float32
    np.testing.assert_array_equal(img[0].numpy(), STANDARD)
    np.testing.assert_allclose(img.affine.numpy(), np.diag([SX, SZ, 1.0]))
    assert "spacing_mm" not in img.meta  # the affine is the one source of the spacing
    assert img.meta["spacing_source"] == "PixelSpacing"
    assert img.meta["frame"] == "coronal"
    expected_ops = [
        op for op, on in (
            ("flip columns", po[0] in ("R", "H")),
            ("flip rows", po[1] in ("R", "H")),
            ("transpose", po[0] in ("H", "F")),
        ) if on
    ]
    assert img.meta["orientation_applied"] == expected_ops
    assert img.meta["warnings"] == []
    assert img.meta["filename_or_obj"] == f
    # the original affine maps the file's own pixel grid to the same frame mm
    orig = np.asarray(img.meta["original_affine"])
    fc, fr = 1, 2  # a file pixel
    x, z, _ = orig @ [fc, fr, 1]
    assert img[0, round(x / SX), round(z / SZ)] == pixels[fr, fc]


@pytest.mark.parametrize("po", [("A", "F"), ("P", "F"), ("F", "P"), ("PL", "FR")], ids=lambda p: "".join(p))
def test_lateral_patient_orientation(tmp_path, write_dicom, po):
    pixels, spacing = file_pixels(STANDARD, (po[0][0], po[1][0]), "A")
    f = write_dicom(tmp_path / "x.dcm", pixels, PatientOrientation=list(po), PixelSpacing=spacing)
    img = LoadRadiograph(frame="lateral")(f)
    np.testing.assert_array_equal(img[0].numpy(), STANDARD)
    np.testing.assert_allclose(img.affine.numpy(), np.diag([SX, SZ, 1.0]))
    assert img.meta["frame"] == "lateral"


def test_oblique_values_use_dominant_letter(tmp_path, write_dicom):
    pixels, spacing = file_pixels(STANDARD, ("R", "F"), "L")
    f = write_dicom(tmp_path / "x.dcm", pixels, PatientOrientation=["RA", "FL"], PixelSpacing=spacing)
    img = LoadRadiograph()(f)
    np.testing.assert_array_equal(img[0].numpy(), STANDARD)
    assert img.meta["orientation_applied"] == ["flip columns"]


def test_missing_orientation_assumes_standard_with_warning(tmp_path, write_dicom):
    pixels, spacing = file_pixels(STANDARD, ("L", "F"), "L")
    f = write_dicom(tmp_path / "x.dcm", pixels, PixelSpacing=spacing)
    with pytest.warns(UserWarning, match="PatientOrientation"):
        img = LoadRadiograph()(f)
    np.testing.assert_array_equal(img[0].numpy(), STANDARD)
    assert img.meta["orientation_applied"] == []
    assert any("PatientOrientation" in w and "assumed" in w for w in img.meta["warnings"])


@pytest.mark.parametrize(
    "tags, spacing, source, warns",
    [
        ({"PixelSpacing": [0.2, 0.1]}, [0.1, 0.2], "PixelSpacing", False),
        ({"PixelSpacing": [0.2, 0.1], "ImagerPixelSpacing": [0.3, 0.3]}, [0.1, 0.2], "PixelSpacing", False),
        (
            {"ImagerPixelSpacing": [0.25, 0.125], "EstimatedRadiographicMagnificationFactor": 1.25},
            [0.1, 0.2],
            "ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor",
            False,
        ),
        ({"ImagerPixelSpacing": [0.2, 0.1]}, [0.1, 0.2], "ImagerPixelSpacing", True),
        ({"NominalScannedPixelSpacing": [0.2, 0.1]}, [0.1, 0.2], "NominalScannedPixelSpacing", False),
        ({"PixelSpacing": [0.0, 0.0], "ImagerPixelSpacing": [0.2, 0.1]}, [0.1, 0.2], "ImagerPixelSpacing", True),
        ({}, [1.0, 1.0], "none", True),
    ],
    ids=["PS", "PS-over-IPS", "IPS/ERMF", "IPS", "NSPS", "PS-invalid", "none"],
)
def test_spacing_source(tmp_path, write_dicom, tags, spacing, source, warns):
    f = write_dicom(tmp_path / "x.dcm", np.ones((3, 4), np.uint16) * np.arange(4, dtype=np.uint16),
                    PatientOrientation=["L", "F"], **tags)
    if warns:
        with pytest.warns(UserWarning):
            img = LoadRadiograph()(f)
    else:
        img = LoadRadiograph()(f)
    assert img.meta["spacing_source"] == source
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=2), spacing, rtol=1e-9)
    np.testing.assert_allclose(img.affine.numpy(), np.diag(spacing + [1.0]), rtol=1e-9)
    assert bool(img.meta["warnings"]) == warns


def test_monochrome1_and_rescale(tmp_path, write_dicom):
    stored = np.array([[0, 1, 2], [3, 4, 10]], dtype=np.uint16)  # rows × columns
    f = write_dicom(tmp_path / "x.dcm", stored, PhotometricInterpretation="MONOCHROME1", PatientOrientation=["L", "F"],
                    PixelSpacing=[1, 1], RescaleSlope=2, RescaleIntercept=-10, SOPClassUID=SC_SOP, Modality="OT")
    img = LoadRadiograph()(f)
    values = stored * 2.0 - 10  # modality LUT, then MONOCHROME1 → max + min - value
    expected = (values.max() + values.min() - values).T
    np.testing.assert_array_equal(img[0].numpy(), expected)
    assert img.meta["modality"] == "OT"
    assert img.meta["intensity_applied"] == [
        "modality LUT (RescaleSlope 2, RescaleIntercept -10)", "inverted MONOCHROME1 (max + min - value)"
    ]


def test_real_cr_rg1(testdata):
    """pydicom-data's RG1 (a real CR): MONOCHROME1, PatientOrientation L\\F, PixelSpacing 0\\0 (unusable)."""
    f = testdata("RG1_UNCI.dcm")
    raw = pydicom.dcmread(f).pixel_array.astype(np.float64)
    with pytest.warns(UserWarning, match="spacing"):
        img = LoadRadiograph()(f)
    assert img.shape == (1, 1841, 1955)  # (columns, rows)
    assert img.meta["modality"] == "CR"
    assert img.meta["patient_orientation"] == ["L", "F"]
    assert img.meta["orientation_applied"] == []
    assert img.meta["spacing_source"] == "none"
    assert affine_to_spacing(img.affine, r=2).tolist() == [1.0, 1.0]
    assert any("PixelSpacing" in w for w in img.meta["warnings"])
    np.testing.assert_array_equal(img[0].numpy(), (raw.max() + raw.min() - raw).T)


def test_real_cr_rg3_flipped(testdata):
    """RG3 has PatientOrientation R\\F: its columns run toward the patient's right and must be flipped."""
    f = testdata("RG3_UNCI.dcm")
    raw = pydicom.dcmread(f).pixel_array.astype(np.float64)
    with pytest.warns(UserWarning):
        img = LoadRadiograph()(f)
    assert img.meta["orientation_applied"] == ["flip columns"]
    np.testing.assert_array_equal(img[0].numpy(), (raw.max() + raw.min() - raw)[:, ::-1].T)


@pytest.mark.parametrize(
    "compressed, reference",
    [
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),
    ],
)
def test_compressed_equals_uncompressed(testdata, compressed, reference):
    with pytest.warns(UserWarning):
        a = LoadRadiograph()(testdata(compressed))
        b = LoadRadiograph()(testdata(reference))
    assert torch.equal(a, b)
    np.testing.assert_allclose(a.affine, b.affine)


def test_nifti_2d_and_singleton_3d(tmp_path, write_nifti):
    arr = STANDARD.astype(np.float32)  # axis 0 columns, axis 1 rows
    affine = np.diag([-SX, -SZ, 1.0, 1.0])  # the direction is not used: the layout is the contract's
    for name, data in (("a.nii", arr), ("b.nii.gz", arr[:, :, None])):
        img = LoadRadiograph()(write_nifti(tmp_path / name, data, affine))
        np.testing.assert_array_equal(img[0].numpy(), STANDARD)
        np.testing.assert_allclose(affine_to_spacing(img.affine, r=2), [SX, SZ], rtol=1e-6)
        assert img.meta["spacing_source"] == "NIfTI header"
        assert img.meta["orientation_applied"] == []
    img = LoadRadiograph()(write_nifti(tmp_path / "u.nii", arr, np.diag([100.0, 200.0, 1, 1]), units="micron"))
    np.testing.assert_allclose(affine_to_spacing(img.affine, r=2), [0.1, 0.2], rtol=1e-6)


# bad input ------------------------------------------------------------------------------------------------
def _bad_inputs():
    def missing(tmp, **_):
        return os.fspath(tmp / "nope.dcm"), "no such file"

    def empty(tmp, **_):
        (tmp / "empty.dcm").write_bytes(b"")
        return os.fspath(tmp / "empty.dcm"), "empty file (0 bytes)"

    def text(tmp, **_):
        (tmp / "notes.dcm").write_text("patient notes\nnot an image\n")
        return os.fspath(tmp / "notes.dcm"), "not a DICOM file"

    def truncated(tmp, testdata, cut_file, **_):
        return cut_file(testdata("MR_small.dcm"), 0.5), "truncated or damaged DICOM"

    def rgb(tmp, testdata, **_):
        return testdata("SC_rgb.dcm"), "RGB image (3 samples per pixel); a monochrome radiograph is expected"

    def palette(tmp, testdata, **_):
        return testdata("examples_palette.dcm"), "palette-colour image"

    def sr(tmp, testdata, **_):
        return testdata("test-SR.dcm"), "no pixel data (Comprehensive SR Storage)"

    def pixel_data_deleted(tmp, testdata, **_):
        ds = pydicom.dcmread(testdata("MR_small.dcm"))
        del ds.PixelData
        ds.save_as(tmp / "nopix.dcm")
        return os.fspath(tmp / "nopix.dcm"), "no pixel data"

    def zeros(tmp, write_dicom, **_):
        return write_dicom(tmp / "z.dcm", np.zeros((8, 8), np.uint16), PatientOrientation=["L", "F"]), \
            "all 64 pixels are 0: the image is blank"

    def nan_nifti(tmp, write_nifti, **_):
        return write_nifti(tmp / "nan.nii.gz", np.full((5, 4), np.nan, np.float32)), "all 20 pixels are NaN"

    def multiframe(tmp, testdata, **_):
        return testdata("emri_small.dcm"), "multi-frame DICOM (10 frames"

    def volume_nifti(tmp, write_nifti, **_):
        return write_nifti(tmp / "v.nii.gz", np.ones((4, 5, 6), np.float32)), \
            "3D volume (4×5×6 voxels); a 2D image is expected"

    def folder(tmp, **_):
        (tmp / "series").mkdir()
        return os.fspath(tmp / "series"), "is a folder"

    def lateral_as_coronal(tmp, write_dicom, **_):
        f = write_dicom(tmp / "lat.dcm", np.arange(12, dtype=np.uint16).reshape(3, 4), PatientOrientation=["A", "F"])
        return f, "is that of a lateral view; a coronal image is expected"

    return [missing, empty, text, truncated, rgb, palette, sr, pixel_data_deleted, zeros, nan_nifti, multiframe,
            volume_nifti, folder, lateral_as_coronal]


@pytest.mark.parametrize("make", _bad_inputs(), ids=lambda f: f.__name__)
def test_bad_input(tmp_path, testdata, write_dicom, write_nifti, cut_file, make):
    path, problem = make(tmp_path, testdata=testdata, write_dicom=write_dicom, write_nifti=write_nifti,
                         cut_file=cut_file)
    with pytest.raises(SpineInputError) as info:
        LoadRadiograph()(path)
    err = info.value
    assert str(err).startswith(f"{path}: ") and err.path == path
    assert "\n" not in str(err)
    assert problem in err.problem, err.problem


def test_some_nan_pixels_replaced_with_warning(tmp_path, write_nifti):
    arr = STANDARD.astype(np.float32)
    arr[0, 0] = np.nan
    with pytest.warns(UserWarning, match="1 of 12 pixels are NaN or infinite"):
        img = LoadRadiograph()(write_nifti(tmp_path / "n.nii", arr))
    assert img[0, 0, 0] == np.sort(STANDARD.ravel())[1] == 12 and np.isfinite(img.numpy()).all()
    assert img.meta["warnings"] == ["1 of 12 pixels are NaN or infinite: set to the lowest finite value (12)"]
