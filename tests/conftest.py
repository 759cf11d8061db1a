"""Shared fixtures: real DICOM test files, writers of small DICOM / NIfTI files with known content, Debian programs
installed on demand (dciodvfy)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """The ONNX models the runners make from the bundles' weights go to this session's temporary folder (and to
    the commands the tests start), never to the user's ``~/.cache``."""
    folder = tmp_path_factory.getbasetemp() / "monai_spine_cache"
    os.environ["MONAI_SPINE_CACHE"] = str(folder)
    yield folder
    os.environ.pop("MONAI_SPINE_CACHE", None)


@pytest.fixture(scope="session")
def apt_install():
    """``apt_install(program, package)``: the path of ``program``, installing Debian ``package`` with apt-get first if
    it is missing (the package lists updated when a fresh machine has none; dpkg's lock waited for, as another test
    worker may be installing); the test skips when apt-get itself is unavailable."""

    def install(program: str, package: str) -> str:
        if shutil.which(program) is None:
            if shutil.which("apt-get") is None:
                pytest.skip(f"{program} is missing and apt-get is unavailable to install {package}")
            command = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", package]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            if subprocess.run(command, capture_output=True, timeout=600, env=env).returncode != 0:
                subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"], check=True,
                               capture_output=True, timeout=600, env=env)
                subprocess.run(command, check=True, capture_output=True, timeout=600, env=env)
        return shutil.which(program)

    return install


@pytest.fixture(scope="session")
def dciodvfy(apt_install):
    """``dciodvfy(path)``: the ``Error`` lines dicom3tools' dciodvfy finds in a DICOM file."""
    program = apt_install("dciodvfy", "dicom3tools")

    def check(path) -> list[str]:
        run = subprocess.run([program, str(path)], capture_output=True, text=True, timeout=60)
        return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]

    return check


@pytest.fixture
def testdata():
    """``testdata(name)``: path of a DICOM test file shipped by pydicom or pydicom-data (never downloaded).

    Fails the test when the file is not installed: the ``[dev]`` extra installs ``pydicom-data``.
    """
    from pydicom.data import get_testdata_file

    def get(name: str) -> str:
        path = get_testdata_file(name, download=False)
        if path is None:
            pytest.fail(f"{name} is not installed (pip install -e '.[dev]' installs pydicom-data)")
        return path

    return get


@pytest.fixture
def write_dicom():
    """``write_dicom(path, pixels, **tags)``: write a monochrome 2D DICOM file and return its path.

    ``pixels`` is ``(rows, columns)`` as DICOM stores it (uint8/uint16/int16); ``tags`` are set on the dataset by
    keyword (``PixelSpacing=[row, col]``, ``PatientOrientation=["L", "F"]``, ``Modality``, ...). A ``SOPClassUID``
    tag picks the storage class (default Digital X-Ray for Presentation), ``PhotometricInterpretation`` defaults
    to ``MONOCHROME2``.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def write(path: str | os.PathLike, pixels: np.ndarray, **tags) -> str:
        pixels = np.asarray(pixels)
        sop_class = tags.pop("SOPClassUID", "1.2.840.10008.5.1.4.1.1.1.1")  # DX for presentation
        pi = tags.pop("PhotometricInterpretation", "MONOCHROME2")
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.Modality = "DX"
        ds.PatientName = "Test^Phantom"
        ds.PatientID = "0"
        bits = 8 * pixels.dtype.itemsize
        ds.set_pixel_data(pixels, pi, bits, generate_instance_uid=False)
        for key, value in tags.items():
            if value is None:
                if key in ds:
                    delattr(ds, key)
            else:
                setattr(ds, key, value)
        ds.save_as(os.fspath(path), enforce_file_format=True)
        return os.fspath(path)

    return write


@pytest.fixture
def write_nifti():
    """``write_nifti(path, array, affine=None, units="mm")``: write a NIfTI-1 file and return its path."""
    import nibabel as nib

    def write(path: str | os.PathLike, array: np.ndarray, affine: np.ndarray | None = None, units: str = "mm") -> str:
        img = nib.Nifti1Image(np.asarray(array), np.eye(4) if affine is None else np.asarray(affine, dtype=float))
        img.header.set_xyzt_units(units)
        nib.save(img, os.fspath(path))
        return os.fspath(path)

    return write


@pytest.fixture
def make_ragged():
    """``make_ragged(mask, pixel_mm)``: a ``(1, W, H)`` spine mask made ragged in place, as a segmentation that broke
    up: its side toward the high columns cut back by 4 mm (``pixel_mm``: the column spacing) on every other band of 3
    of its rows. Returns the mask."""

    def make(mask, pixel_mm: float):
        cut = int(np.ceil(4.0 / pixel_mm))
        for first in np.flatnonzero(np.asarray(mask[0]).any(axis=0))[::6]:
            for row in range(first, first + 3):
                spine = np.flatnonzero(np.asarray(mask[0, :, row]))
                mask[0, spine[-cut:] if spine.size > 2 * cut else [], row] = 0
        return mask

    return make


@pytest.fixture
def cut_file(tmp_path):
    """``cut_file(src, fraction=0.5)``: a copy of ``src`` in ``tmp_path`` truncated to ``fraction`` of its bytes."""

    def cut(src: str | os.PathLike, fraction: float = 0.5) -> str:
        data = Path(src).read_bytes()
        out = tmp_path / f"cut_{Path(src).name}"
        out.write_bytes(data[: int(len(data) * fraction)])
        return os.fspath(out)

    return cut


@pytest.fixture
def ct_series(tmp_path, testdata):
    """``ct_series(n=4, oblique=True, name="series")``: a DICOM series folder of ``n`` slices built from CT_small.dcm.

    Slices are 3 mm apart along the slice normal of a rotated ``ImageOrientationPatient`` (when ``oblique``), have
    anisotropic ``PixelSpacing`` [0.5, 0.8] (0.5 mm between rows, 0.8 mm between columns), distinct pixels
    (slice ``k`` adds ``10 k`` to the stored values) and ``InstanceNumber`` s that do *not* follow
    the position order, so only a reader that sorts by position gets them right.
    """
    import pydicom
    from pydicom.uid import generate_uid

    def build(n: int = 4, oblique: bool = True, name: str = "series") -> str:
        folder = tmp_path / name
        folder.mkdir()
        src = pydicom.dcmread(testdata("CT_small.dcm"))
        if oblique:
            t = np.deg2rad(20.0)
            row = np.array([np.cos(t), np.sin(t), 0.0])
            col = np.array([0.0, 0.0, -1.0])  # a rotated coronal plane
        else:
            row, col = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
        normal = np.cross(row, col)
        origin = np.array([float(v) for v in src.ImagePositionPatient])
        uid = generate_uid()
        base = src.pixel_array
        numbers = [3, 1, 4, 2, 6, 5, 8, 7][:n] if n <= 8 else list(range(n, 0, -1))
        for k in range(n):
            ds = pydicom.dcmread(testdata("CT_small.dcm"))
            ds.SeriesInstanceUID = uid
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.InstanceNumber = numbers[k]
            ds.ImageOrientationPatient = [f"{v:.6f}" for v in np.concatenate([row, col])]
            ds.ImagePositionPatient = [f"{v:.4f}" for v in origin + 3.0 * k * normal]
            ds.SliceLocation = f"{3.0 * k:.4f}"
            ds.PixelSpacing = ["0.5", "0.8"]
            ds.PixelData = (base + 10 * k).astype(base.dtype).tobytes()
            ds.save_as(folder / f"slice_{numbers[k]:03d}.dcm")
        return os.fspath(folder)

    return build
