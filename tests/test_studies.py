"""The study writer shared by every source of studies: known arrays in, the same arrays and frames read back."""

import json

import nibabel as nib
import numpy as np
import pydicom
import pytest

from monai_spine.geometry import SpineCurves
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.projection import SlotScanProjection
from monai_spine.studies import CtPart, DxaPart, RadiographPart, RenderedStudy, lai_origin_spacing, write_study

LINE = np.c_[np.zeros(209), np.linspace(0.0, 100.0, 209)]
CURVES = SpineCurves(*[LINE + (10.0, 0.0)] * 6)
ORIGIN, SPACING = (-20.0, -30.0, -5.0), (2.0, 2.5, 3.0)


def _affine() -> np.ndarray:
    flips = np.array([-1.0, 1.0, -1.0])
    affine = np.diag([*(flips * SPACING), 1.0])
    affine[:3, 3] = flips * ORIGIN
    return affine


def _study(**parts) -> RenderedStudy:
    return RenderedStudy(source="drr", seed=12, labels={"scoliotic": False}, subject={"centre_line_mm": [[0, 0, 0]]},
                         patient_frame="x left, y anterior, z feet, mm", **parts)


def test_lai_origin_and_spacing_come_back_from_the_affine():
    origin, spacing = lai_origin_spacing(_affine())
    assert origin == list(ORIGIN) and spacing == list(SPACING)


def test_a_dxa_and_ct_study_is_written_with_its_frames_and_truth(tmp_path):
    bone = np.linspace(0.0, 1.5, 12 * 20).reshape(12, 20)  # (W, H) g/cm²
    mask = bone > 0.7
    hu = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6) - 50.0
    dxa = DxaPart(bone, 0.5 * bone, mask, (1.2, 1.2), (-7.0, 3.0), CURVES)
    ct = CtPart(hu, (hu > 0).astype(np.uint8), hu > 10, _affine(), CURVES, np.zeros((3, 3)))
    entry = write_study(_study(dxa=dxa, ct=ct), tmp_path / "s")

    assert entry == {
        "id": "s",
        "seed": 12,
        "scoliotic": False,
        "ct": "s/ct.nii.gz",
        "ct_vertebrae": "s/ct_vertebrae.nii.gz",
        "ct_spine": "s/ct_spine.nii.gz",
        "dxa": "s/dxa.dcm",
        "dxa_soft": "s/dxa_soft.dcm",
        "dxa_spine": "s/dxa_spine.nii.gz",
        "truth": "s/truth.json",
    }
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert truth["frames"]["ct"] == {"origin_mm": list(ORIGIN), "spacing_mm": list(SPACING)}
    assert truth["frames"]["dxa"] == {"origin_mm": [-7.0, 3.0], "pixel_mm": [1.2, 1.2]}
    assert list(truth["curves"]) == ["dxa", "ct"] and truth["curves"]["dxa"]["sagittal_anterior"][0] == [10.0, 0.0]
    assert list(truth)[:4] == ["schema", "seed", "scoliotic", "centre_line_mm"] and "centre_line_in" in truth

    ds = pydicom.dcmread(tmp_path / "s" / "dxa.dcm")
    assert ds.PatientName == "Drr^Spine" and ds.SeriesDescription == "monai-spine drr DXA bone"
    np.testing.assert_allclose(
        ds.pixel_array.T * float(ds.RescaleSlope) + float(ds.RescaleIntercept), bone, atol=1.5 / 65535
    )
    volume = nib.load(tmp_path / "s" / "ct.nii.gz")
    np.testing.assert_array_equal(volume.get_fdata(), np.round(hu))
    np.testing.assert_allclose(volume.affine, _affine())
    np.testing.assert_array_equal(nib.load(tmp_path / "s" / "dxa_spine.nii.gz").get_fdata(), mask)


def test_a_lone_lateral_view_is_written_with_its_geometry(tmp_path):
    geometry = SlotScanProjection(
        view="lateral",
        pixel_mm=(1.5, 1.5),
        shape=(30, 40),
        source_to_detector_mm=1300.0,
        source_to_isocentre_mm=1000.0,
        isocentre=(0.0, 0.0, 30.0),
    )
    image = np.random.default_rng(0).random((30, 40))
    lateral = RadiographPart(image, image > 0.5, geometry, BoundaryCurves(LINE, LINE - 5.0, LINE + 5.0))
    entry = write_study(_study(lateral=lateral), tmp_path / "s")
    assert set(entry) - {"id", "seed", "scoliotic"} == {"lateral", "lateral_spine", "truth"}
    ds = pydicom.dcmread(tmp_path / "s" / "lateral.dcm")
    assert ds.ViewPosition == "LL" and float(ds.DistanceSourceToDetector) == pytest.approx(1300.0)
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert truth["frames"]["lateral"] == geometry.to_dict()
    assert list(truth["curves"]["lateral"]) == ["sagittal_centre", "sagittal_posterior", "sagittal_anterior"]
    assert "centre_line_in" not in truth
