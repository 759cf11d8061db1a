"""The DICOM files of a rendered study (``monai-spine phantom`` and ``drr``): the DXA and soft-tissue secondary
captures, the AP and lateral DX For Presentation and the CT series pass dciodvfy without errors and read back, in
pydicom and highdicom, with the rendered values up to the written precision."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest

from monai_spine.drr import prepare_source, read_labelled_ct, render_study
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import rendered_study
from monai_spine.studies import write_study
from monai_spine.transforms import LoadRadiograph

TINY = StudyConfig(ct_spacing_mm=5.0, column_spacing_mm=2.0, dxa_pixel_mm=2.0, dxa_whole_body=False,
                   radiograph_pixel_mm=3.0)
SEED = 3
SOURCES = ("phantom", "drr")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    """``{source: (RenderedStudy, folder)}``: a tiny phantom study with its CT series, and a drr study of its CT."""
    root = tmp_path_factory.mktemp("study_dicom")
    groups = ("ct", "dxa", "biplanar")
    phantom = rendered_study(make_study(SEED, TINY, modalities=groups), groups)
    write_study(phantom, root / "phantom", ct_dicom=True)
    ct = read_labelled_ct(root / "phantom" / "ct.nii.gz", root / "phantom" / "ct_vertebrae.nii.gz")
    drr = render_study(prepare_source(ct), SEED, ("dxa", "biplanar"))
    write_study(drr, root / "drr")
    return {"phantom": (phantom, root / "phantom"), "drr": (drr, root / "drr")}


def _pixels(path) -> tuple[pydicom.Dataset, np.ndarray, np.ndarray]:
    """The dataset, its stored pixels ``(W, H)`` and highdicom's values after the modality LUT ``(W, H)``."""
    ds = pydicom.dcmread(path)
    return ds, ds.pixel_array.T.astype(np.float64), hd.imread(path).get_frame(1).T


@pytest.mark.parametrize("source", SOURCES)
def test_every_file_passes_dciodvfy(written, dciodvfy, source):
    """Every image, and of the phantom's CT series (the same writer for every slice) the first, middle and last."""
    folder = written[source][1]
    images = sorted(folder.glob("*.dcm"))
    assert [path.name for path in images] == ["ap.dcm", "dxa.dcm", "dxa_soft.dcm", "lateral.dcm"]
    series = sorted((folder / "ct_dicom").glob("*.dcm"))
    assert bool(series) == (source == "phantom")
    for path in images + ([series[k] for k in (0, len(series) // 2, -1)] if series else []):
        assert dciodvfy(path) == [], path.relative_to(folder)


@pytest.mark.parametrize("source", SOURCES)
def test_every_image_has_its_own_instance_and_series(written, source):
    """A PACS keys instances by SOP Instance UID: a DXA, an AP and a lateral of one study that shared one would
    overwrite each other there. One study UID, one frame of reference per CT, a UID of its own for every image."""
    folder = written[source][1]
    images = [pydicom.dcmread(path, stop_before_pixels=True) for path in sorted(folder.glob("*.dcm"))]
    assert len({ds.SOPInstanceUID for ds in images}) == len(images) == 4
    assert len({ds.SeriesInstanceUID for ds in images}) == 4
    same_patient = [ds for ds in images if ds.PatientID == images[0].PatientID]
    assert len({ds.StudyInstanceUID for ds in same_patient}) == 1 and len(same_patient) >= 3
    if source == "phantom":
        series = sorted((folder / "ct_dicom").glob("*.dcm"))
        slices = [pydicom.dcmread(path, stop_before_pixels=True) for path in series]
        assert len({ds.SOPInstanceUID for ds in slices + images}) == len(slices) + len(images)


@pytest.mark.parametrize("source", SOURCES)
def test_dxa_secondary_captures_keep_their_values(written, source):
    """Bone (g/cm²) and soft-tissue images: stored through RescaleSlope/Intercept, read back within half a step."""
    study, folder = written[source]
    for name, image in (("dxa", study.dxa.bone), ("dxa_soft", study.dxa.soft)):
        image = np.asarray(image, dtype=np.float64)
        ds, stored, values = _pixels(folder / f"{name}.dcm")
        slope = float(ds.RescaleSlope)
        assert ds.ConversionType == "SYN" and slope == pytest.approx(np.ptp(image) / 65535, rel=1e-6)
        np.testing.assert_allclose(stored * slope + float(ds.RescaleIntercept), image, rtol=0, atol=0.5001 * slope)
        np.testing.assert_allclose(values, image, rtol=0, atol=0.5001 * slope)


@pytest.mark.parametrize("source", SOURCES)
def test_radiographs_store_the_image_mapped_onto_16_bits_without_rescale(written, source):
    """DX For Presentation allows only RescaleSlope 1 / RescaleIntercept 0: the stored integers are the image's range
    mapped linearly onto 0 … 65535 (bone bright), and readers get exactly those integers."""
    study, folder = written[source]
    for view, frame in (("ap", "coronal"), ("lateral", "lateral")):
        image = np.asarray(getattr(study, view).image, dtype=np.float64)
        expected = (image - image.min()) / np.ptp(image) * 65535
        ds, stored, values = _pixels(folder / f"{view}.dcm")
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, 0.0)
        assert (ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign) == ("LOG", -1)
        np.testing.assert_allclose(stored, expected, rtol=0, atol=0.5001)
        np.testing.assert_array_equal(values, stored)
        np.testing.assert_array_equal(LoadRadiograph(frame=frame)(folder / f"{view}.dcm")[0].numpy(), stored)


def test_ct_series_holds_the_rounded_hu(written):
    study, folder = written["phantom"]
    hu = np.round(np.asarray(study.ct.hu, dtype=np.float64))
    files = sorted((folder / "ct_dicom").glob("*.dcm"))
    assert len(files) == hu.shape[2]
    for k in (0, hu.shape[2] // 2, hu.shape[2] - 1):
        ds, stored, values = _pixels(files[k])
        assert ds.InstanceNumber == k + 1 and ds.ImageType == ["DERIVED", "PRIMARY", "AXIAL"]
        np.testing.assert_array_equal(stored[:, ::-1], hu[:, :, k])  # rows run posterior → anterior in the file
        np.testing.assert_array_equal(values, stored)
