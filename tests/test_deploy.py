"""``python -m monai_spine.deploy``: a phantom DXA study through a real Orthanc PACS (C-GET in, C-STORE of the SR and
the secondary capture back), the DICOM objects checked by dciodvfy, pydicom and highdicom; bad input folders.

Orthanc (Debian ``orthanc``) and dciodvfy (Debian ``dicom3tools``) are installed with apt-get when missing; the tests
skip only when apt-get itself is unavailable.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage

from monai_spine.deploy.__main__ import main
from monai_spine.deploy.pacs import CALLING_AE_TITLE
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import write_study
from monai_spine.pipelines.dicom_results import CENTRE_LINE_IDS, MEASURE_CODES, SC_FILE, SR_FILE

SEED = 3  # a phantom whose DXA the route measures (Cobb 7.6°, kyphosis 43.9°, lordosis 48.6°)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory, apt_install):
    """A private Orthanc on the loopback: ``(rest_url, dicom_port)``; AE title ``ORTHANC``, which accepts DICOM only
    from the application's AE title on 127.0.0.1."""
    program = apt_install("Orthanc", "orthanc")
    folder = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port = _free_port(), _free_port()
    config = {"Name": "monai-spine-test", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
              "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "DicomAlwaysAllowEcho": False, "DicomAlwaysAllowStore": False,
              "DicomCheckModalityHost": True, "Plugins": [],
              "DicomModalities": {"monai_spine": {"AET": CALLING_AE_TITLE, "Host": "127.0.0.1",
                                                  "Port": _free_port(),  # C-GET: Orthanc never calls it
                                                  "AllowGet": True, "AllowStore": True}}}
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "w")
    server = subprocess.Popen([program, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(150):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{url}/system", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"Orthanc did not start: {(folder / 'orthanc.log').read_text()[-2000:]}")
        yield url, dicom_port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def dxa_study(tmp_path_factory) -> Path:
    """A folder with one phantom study's DXA (``dxa.dcm``) and, beside it, its soft-tissue image (another patient ID,
    as the phantom writes it)."""
    folder = tmp_path_factory.mktemp("study") / "study"
    write_study(make_study(SEED, StudyConfig(dxa_whole_body=False), modalities=("dxa",)), folder, modalities=("dxa",))
    return folder


@pytest.fixture(scope="module")
def biplanar_study(tmp_path_factory) -> Path:
    """A folder with one phantom study's AP and lateral radiographs (DX, calibrated by their tags) and, apart, its
    true AP spine mask."""
    root = tmp_path_factory.mktemp("biplanar")
    write_study(make_study(SEED, StudyConfig(dxa_whole_body=False), modalities=("biplanar",)), root / "rendered",
                modalities=("biplanar",))
    folder = root / "study"
    folder.mkdir()
    for name in ("ap.dcm", "lateral.dcm"):
        shutil.copy(root / "rendered" / name, folder)
    return root


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def test_pacs_round_trip(orthanc, dxa_study, dciodvfy, tmp_path, capfd):
    url, dicom_port = orthanc
    dxa = pydicom.dcmread(dxa_study / "dxa.dcm")
    request = urllib.request.Request(f"{url}/instances", data=(dxa_study / "dxa.dcm").read_bytes(), method="POST")
    urllib.request.urlopen(request, timeout=30).read()

    out = tmp_path / "out"
    assert main(["--pacs", f"127.0.0.1:{dicom_port}:ORTHANC", "--study", dxa.StudyInstanceUID, "-o", str(out)]) == 0
    assert capfd.readouterr().err == ""  # file descriptor 2: holoscan's C++ loggers are quiet too
    curves = json.loads((out / "curves.json").read_text())

    stored = [pydicom.dcmread(pydicom.filebase.DicomBytesIO(_get(f"{url}/instances/{i}/file")))
              for i in json.loads(_get(f"{url}/instances"))]
    assert len(stored) == 3  # the DXA, the SR and the secondary capture
    [sr] = [hd.sr.Comprehensive3DSR.from_dataset(ds) for ds in stored if ds.SOPClassUID == Comprehensive3DSRStorage]
    [sc] = [ds for ds in stored if ds.SOPClassUID == SecondaryCaptureImageStorage and ds.SamplesPerPixel == 3]
    for path in (out / SR_FILE, out / SC_FILE):
        assert dciodvfy(path) == [], path.name

    assert sr.StudyInstanceUID == sc.StudyInstanceUID == dxa.StudyInstanceUID
    assert len({sr.SeriesInstanceUID, sc.SeriesInstanceUID, dxa.SeriesInstanceUID}) == 3
    groups = {g.tracking_identifier: g for g in sr.content.get_planar_roi_measurement_groups()}
    assert set(groups) == set(CENTRE_LINE_IDS)
    coronal, spatial = (groups[name] for name in CENTRE_LINE_IDS)
    points = coronal.roi.value  # SCOORD POLYLINE (column, row) in the DXA's pixels
    assert coronal.roi.graphic_type == hd.sr.GraphicTypeValues.POLYLINE and points.shape == (curves["n_points"], 2)
    assert coronal.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == dxa.SOPInstanceUID
    spacing = np.asarray(curves["inputs"]["pixel_spacing_mm"])  # identity orientation: mm = (pixel − 0.5) × spacing
    assert np.allclose((points - 0.5) * spacing, curves["coronal"]["centre"], atol=1e-3)
    line = spatial.roi.value  # SCOORD3D POLYLINE, LPS = (x, −y, −z)
    assert spatial.roi.ReferencedFrameOfReferenceUID and line.shape == (curves["n_points"], 3)
    assert np.allclose(line * [1, -1, -1], curves["curve3d_mm"], atol=1e-3)
    measured = {m.name: m for g in groups.values() for m in g.get_measurements()}
    for name, code in MEASURE_CODES.items():
        assert measured[code].value == pytest.approx(curves["measures"][name], abs=1e-6), name
        assert measured[code].unit == pydicom.sr.codedict.codes.UCUM.Degree
    assert sc.PhotometricInterpretation == "RGB" and (sc.Rows, sc.Columns) > (100, 100)


def test_biplanar_pair_from_a_folder(biplanar_study, dciodvfy, tmp_path):
    """An AP + lateral pair in, the SR out: its coronal centre line is drawn on the AP where the AP shows the spine
    (the 3D line projected through the AP's geometry, not the patient frame's x and z, which the AP magnifies), the
    lateral is listed as evidence, and the 3D centre line is the route's."""
    out = tmp_path / "out"
    assert main(["-i", str(biplanar_study / "study"), "-o", str(out)]) == 0
    curves = json.loads((out / "curves.json").read_text())
    assert curves["mode"] == "biplanar"
    assert dciodvfy(out / SR_FILE) == [] and dciodvfy(out / SC_FILE) == []
    ap, lateral = (pydicom.dcmread(biplanar_study / "study" / name) for name in ("ap.dcm", "lateral.dcm"))
    sr = hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(out / SR_FILE))
    evidence = {sop.ReferencedSOPInstanceUID for study in sr.CurrentRequestedProcedureEvidenceSequence
                for series in study.ReferencedSeriesSequence for sop in series.ReferencedSOPSequence}
    assert evidence == {ap.SOPInstanceUID, lateral.SOPInstanceUID}
    groups = {g.tracking_identifier: g for g in sr.content.get_planar_roi_measurement_groups()}
    coronal, spatial = (groups[name] for name in CENTRE_LINE_IDS)
    assert coronal.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ap.SOPInstanceUID
    true_mask = np.asarray(nib.load(biplanar_study / "rendered" / "ap_spine.nii.gz").dataobj) > 0  # (columns, rows)
    assert true_mask.shape == (ap.Columns, ap.Rows)
    columns, rows = np.floor(coronal.roi.value).astype(int).T  # SCOORD: (0, 0) is the first pixel's outer corner
    inside = true_mask[np.clip(columns, 0, ap.Columns - 1), np.clip(rows, 0, ap.Rows - 1)]
    assert inside.mean() > 0.9, inside.mean()
    assert np.allclose(spatial.roi.value * [1, -1, -1], curves["curve3d_mm"], atol=1e-3)


@pytest.mark.parametrize("case", ["empty", "two patients", "no DXA nor pair"])
def test_bad_input_folder(case, dxa_study, write_dicom, tmp_path, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    if case == "two patients":
        for name in ("dxa.dcm", "dxa_soft.dcm"):
            shutil.copy(dxa_study / name, folder)
    elif case == "no DXA nor pair":
        write_dicom(folder / "ap.dcm", np.zeros((64, 32), np.uint16), ViewPosition="AP")
    out = tmp_path / "out"
    assert main(["-i", str(folder), "-o", str(out)]) == 2
    err = capfd.readouterr().err.strip()  # file descriptor 2: nothing from holoscan's C++ loggers either
    expected = {"empty": "no DICOM image", "two patients": "images of 2 patients",
                "no DXA nor pair": "no DXA image and no AP + lateral pair"}[case]
    assert err.count("\n") == 0 and str(folder) in err and expected in err, err
    assert not out.exists()
