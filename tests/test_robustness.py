"""Robustness of the readers through the real commands: damaged, odd and wrong files give exit 2 with one line naming
the file and the problem and nothing in ``--out``, or a result with a warning; never a traceback, a hang or a silent
result (docs/inputs.md, "What is refused and what is warned").

The damaged files are mutations of real ones: pydicom-data's PA chest radiograph ``RG1_UNCI.dcm`` (binned 5 × 5 to
1.0 mm pixels: its collimator edges, 368 × 392 mm, over its 1841 × 1955 pixels give 0.2 mm, while its PixelSpacing tag
says 0) and pydicom's own test files. Each case runs in-process through ``monai_spine.cli.main``, under a
``signal.alarm`` deadline; two run through the installed ``monai-spine`` script.
"""

from __future__ import annotations

import ast
import copy
import gzip
import inspect
import json
import os
import re
import signal
import struct
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

from monai_spine.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 60  # a case past this is a hang


@pytest.fixture(autouse=True)
def deadline():
    """Fail a case that runs past :data:`DEADLINE_S` (a hang), without a plugin."""

    def expire(signum, frame):
        raise TimeoutError(f"no answer within {DEADLINE_S} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(DEADLINE_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _binned(name: str, spacing_mm: float, factor: int = 5) -> pydicom.Dataset:
    """A pydicom-data radiograph with its real header, its pixels averaged over ``factor`` × ``factor`` blocks and
    ``PixelSpacing`` set to ``factor × spacing_mm`` (its real pixel size, which the file does not carry)."""
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file(name, download=False))
    px = ds.pixel_array
    h, w = (s // factor * factor for s in px.shape)
    binned = px[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3)).round().astype(np.uint16)
    ds.Rows, ds.Columns = binned.shape
    ds.PixelData = binned.tobytes()
    ds.PixelSpacing = [f"{factor * spacing_mm:g}"] * 2
    return ds


@pytest.fixture(scope="module")
def chest(tmp_path_factory) -> pydicom.Dataset:
    """pydicom-data's PA chest CR ``RG1_UNCI.dcm`` at 1.0 mm (0.2 mm from its collimator edges, binned 5 × 5)."""
    return _binned("RG1_UNCI.dcm", 0.2)


def _save(ds: pydicom.Dataset, path: Path) -> str:
    ds.save_as(path)
    return os.fspath(path)


def _mutated(chest: pydicom.Dataset, path: Path, change) -> str:
    ds = copy.deepcopy(chest)
    change(ds)
    return _save(ds, path)


def _raw(keyword: str, vr: str, value: str):
    """Set an element to a value pydicom would refuse to write (``NaN`` in a DS)."""
    tag = pydicom.datadict.tag_for_keyword(keyword)
    return lambda ds: ds.__setitem__(keyword, DataElement(tag, vr, value, validation_mode=pydicom.config.IGNORE))


def _garbage(syntax):
    """Compressed transfer syntax whose one fragment is 5000 random bytes."""

    def change(ds):
        ds.file_meta.TransferSyntaxUID = syntax
        ds.PixelData = encapsulate([np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()])
        ds["PixelData"].VR = "OB"

    return change


def _set(**tags):
    return lambda ds: [setattr(ds, k, v) for k, v in tags.items()]


def _delete(*keywords):
    return lambda ds: [delattr(ds, k) for k in keywords]


# mutations of the chest radiograph that must be refused: (change, the problem's words)
REFUSED = {
    "rows_beyond_data": (lambda ds: setattr(ds, "Rows", ds.Rows + 1),
                         "truncated or damaged DICOM: PixelData holds 287776 of the 288512 bytes"),
    "rows_short_of_data": (lambda ds: setattr(ds, "Rows", ds.Rows - 1),
                           "PixelData holds 287776 bytes but 1 × 390 × 368 pixels of 16 bits need 287040: the header "
                           "does not match the pixels"),
    "columns_short_of_data": (lambda ds: setattr(ds, "Columns", ds.Columns - 2),
                              "the header does not match the pixels"),
    "bits_allocated_8": (_set(BitsAllocated=8), "BitsStored 15 does not fit BitsAllocated 8"),
    "bits_allocated_12": (_set(BitsAllocated=12, BitsStored=12, HighBit=11), "PixelData holds 287776 bytes but"),
    "bits_stored_over_allocated": (_set(BitsStored=20, HighBit=19), "BitsStored 20 does not fit BitsAllocated 16"),
    "bits_stored_0": (_set(BitsStored=0, HighBit=0), "BitsStored 0 does not fit BitsAllocated 16"),
    "high_bit_inconsistent": (_set(HighBit=3), "HighBit 3 is not BitsStored - 1 (14)"),
    "pixel_representation_2": (_set(PixelRepresentation=2), "PixelRepresentation 2 is neither 0 (unsigned) nor 1"),
    "photometric_unknown": (_set(PhotometricInterpretation="FOO"), "Unknown (0028,0004) 'Photometric Interpretation'"),
    "photometric_missing": (_delete("PhotometricInterpretation"), "'Photometric Interpretation'"),
    "rgb_samples": (_set(SamplesPerPixel=3), "(3 samples per pixel); a monochrome"),
    "pixel_data_missing": (_delete("PixelData"), "no pixel data although its SOP class is Computed Radiography"),
    "rows_missing": (_delete("Rows"), "Rows is missing: the pixel layout is unknown"),
    "three_frames": (lambda ds: (setattr(ds, "NumberOfFrames", 3), setattr(ds, "PixelData", ds.PixelData * 3)),
                     "multi-frame DICOM (3 frames"),
    "huge_65535": (_set(Rows=65535, Columns=65535),
                   "declared image size 1×65535×65535×1 (4294836225 samples) is over the limit"),
    "huge_65535_jpeg2000": (lambda ds: (_garbage(JPEG2000Lossless)(ds), _set(Rows=65535, Columns=65535)(ds)),
                            "declared image size 1×65535×65535×1"),
    "garbage_jpeg2000": (_garbage(JPEG2000Lossless), "cannot decode the pixel data (JPEG 2000 Image Compression"),
    "garbage_jpeg": (_garbage(JPEGBaseline8Bit), "cannot decode the pixel data (JPEG Baseline (Process 1))"),
    "garbage_rle": (_garbage(RLELossless), "cannot decode the pixel data (RLE Lossless)"),
    "rescale_nan": (_raw("RescaleIntercept", "DS", "NaN"),
                    "RescaleSlope 1 and RescaleIntercept nan are not a usable modality LUT"),
    "rescale_slope_0": (_set(RescaleSlope="0", RescaleIntercept="0"), "RescaleSlope 0 and RescaleIntercept 0 are not"),
    "rescale_overflow": (_set(RescaleSlope="1e308"), "all 143888 pixels are NaN or infinite"),
}

# mutations read with a warning: the spacing tags (1.0 mm per pixel assumed, said on stderr and in the meta)
WARNED = {
    "pixel_spacing_missing": _delete("PixelSpacing"),
    "pixel_spacing_zero": _set(PixelSpacing=["0", "0"]),
    "pixel_spacing_negative": _set(PixelSpacing=["-0.2", "-0.2"]),
    "pixel_spacing_nan": _raw("PixelSpacing", "DS", "NaN\\NaN"),
    "imager_spacing_inf": lambda ds: (delattr(ds, "PixelSpacing"), _raw("ImagerPixelSpacing", "DS", "inf\\0.2")(ds)),
    "imager_spacing_zero": lambda ds: (delattr(ds, "PixelSpacing"), setattr(ds, "ImagerPixelSpacing", ["0", "0"])),
}


def _refused(argv: list[str], capsys, path: str, problem: str, out: Path | None) -> None:
    """``main(argv)`` exits 2, its last stderr line ``monai-spine CMD: error: PATH: ...PROBLEM...``, ``out`` empty."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert errors == [err.splitlines()[-1]] and len(errors) == 1, err
    assert errors[0].startswith(f"monai-spine {argv[0]}: error: {path}: "), errors[0]
    assert problem in errors[0], errors[0]
    assert "Traceback" not in err
    if out is not None:
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_damaged_dicom_is_refused_by_infer_and_convert(name, chest, tmp_path, capsys):
    change, problem = REFUSED[name]
    path = _mutated(chest, tmp_path / f"{name}.dcm", change)
    _refused(["infer", "--dxa", path, "--out", str(tmp_path / "out")], capsys, path, problem, tmp_path / "out")
    _refused(["convert", path, str(tmp_path / "out.nii.gz")], capsys, path, "", None)
    assert not (tmp_path / "out.nii.gz").exists()


@pytest.mark.parametrize("name", sorted(WARNED))
def test_bad_spacing_tag_converts_with_a_warning(name, chest, tmp_path, capsys):
    path = _mutated(chest, tmp_path / f"{name}.dcm", WARNED[name])
    out = tmp_path / "out.nii.gz"
    assert main(["convert", path, str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"monai-spine: warning: {path}: no valid pixel spacing tag (PixelSpacing, ImagerPixelSpacing, " \
           "NominalScannedPixelSpacing): 1.0 mm per pixel assumed" in err
    img = nib.load(out)
    assert img.shape == (368, 391, 1) and np.allclose(img.header.get_zooms()[:2], 1.0)


@pytest.mark.parametrize("length", [64, 132, 600, "half", "all but one"])
def test_truncated_file_is_refused(length, chest, tmp_path, capsys):
    data = Path(_save(chest, tmp_path / "whole.dcm")).read_bytes()
    n = {"half": len(data) // 2, "all but one": len(data) - 1}.get(length, length)
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:n])
    problem = {64: "not a DICOM file (no DICOM header found)", 132: "no pixel data (unknown SOP class)",
               600: "no pixel data although its SOP class is Computed Radiography Image Storage: the file is "
                    "truncated or damaged"}.get(length, "truncated or damaged DICOM: PixelData holds")
    _refused(["infer", "--dxa", str(path), "--out", str(tmp_path / "o")], capsys, str(path), problem, tmp_path / "o")


def _pdf(tmp: Path, **_) -> str:
    """An Encapsulated PDF Storage object: a DICOM file without pixels."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality, ds.MIMETypeOfEncapsulatedDocument = "DOC", "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    ds.save_as(tmp / "report.dcm", enforce_file_format=True)
    return os.fspath(tmp / "report.dcm")


def _real(name: str):
    def get(tmp: Path, testdata, **_) -> str:
        return testdata(name)

    return get


def _written(name: str, content: bytes | None):
    def make(tmp: Path, **_) -> str:
        if content is None:
            (tmp / name).mkdir()
        else:
            (tmp / name).write_bytes(content)
        return os.fspath(tmp / name)

    return make


def _nifti(name: str, array: np.ndarray, declared: tuple[int, ...] | None = None):
    """A NIfTI file of ``array``; with ``declared``, its header then claims that shape (data left as it is)."""

    def make(tmp: Path, **_) -> str:
        path = tmp / name
        nib.save(nib.Nifti1Image(array, np.eye(4)), path)
        if declared:
            raw = bytearray(gzip.decompress(path.read_bytes()))
            raw[40:56] = struct.pack("<8h", len(declared), *declared, *[1] * (7 - len(declared)))
            path.write_bytes(gzip.compress(bytes(raw)))
        return os.fspath(path)

    return make


_PIXELS = np.random.default_rng(0).random((40, 50)).astype(np.float32)

# other files given as a DXA: (make, the problem's words)
WRONG_FILES = {
    "ct_slice": (_real("CT_small.dcm"), "no spine found in the image: spine mask only"),
    "mr_slice": (_real("MR_small.dcm"), "no spine found in the image"),  # an empty mask or a QC refusal
    "structured_report": (_real("test-SR.dcm"), "no pixel data (Comprehensive SR Storage); an image is expected"),
    "encapsulated_pdf": (_pdf, "no pixel data (Encapsulated PDF Storage); an image is expected"),
    "rgb": (_real("SC_rgb.dcm"), "RGB image (3 samples per pixel); a monochrome radiograph is expected"),
    "segmentation_3_frames": (_real("liver.dcm"), "multi-frame DICOM (3 frames, a volume or a cine)"),
    "bad_value_representation": (_real("badVR.dcm"), "NumberOfFrames '1A' is not a whole number"),
    "empty": (_written("empty.dcm", b""), "empty file (0 bytes)"),
    "text_named_dcm": (_written("notes.dcm", b"patient notes\nnot an image\n"), "not a DICOM file"),
    "folder": (_written("series", None), "is a folder; a single image file (DICOM or NIfTI) is expected"),
    "missing": (lambda tmp, **_: os.fspath(tmp / "nope.dcm"), "no such file or folder"),
    "nifti_all_inf": (_nifti("inf.nii.gz", np.full((40, 50), np.inf, np.float32)),
                      "all 2000 pixels are NaN or infinite"),
    "nifti_3d": (_nifti("v.nii.gz", np.ones((20, 30, 10), np.float32)), "3D volume (20×30×10 voxels)"),
    "nifti_4d": (_nifti("t.nii.gz", np.ones((20, 30, 1, 3), np.float32)), "holds several images or channels"),
    "nifti_zero_axis": (_nifti("z.nii.gz", np.zeros((0, 5), np.float32)), "declared image size 0×5 has an empty"),
    "nifti_huge_header": (_nifti("h.nii.gz", _PIXELS, (32767, 32767)),
                          "declared image size 32767×32767 (1073676289 voxels) is over the limit of 134217728"),
}


@pytest.mark.parametrize("name", sorted(WRONG_FILES))
def test_wrong_file_as_dxa_is_refused(name, tmp_path, testdata, capsys):
    make, problem = WRONG_FILES[name]
    path = make(tmp_path, testdata=testdata)
    _refused(["infer", "--dxa", path, "--out", str(tmp_path / "out")], capsys, path, problem, tmp_path / "out")


@pytest.mark.parametrize("name", ["huge_65535", "rows_short_of_data", "garbage_jpeg2000"])
def test_damaged_ap_is_refused_by_the_biplanar_route(name, chest, tmp_path, capsys):
    change, problem = REFUSED[name]
    ap = _mutated(chest, tmp_path / "ap.dcm", change)
    lateral = _mutated(chest, tmp_path / "lateral.dcm", _set(PatientOrientation=["A", "F"], ViewPosition="LL"))
    _refused(["infer", "--ap", ap, "--lateral", lateral, "--out", str(tmp_path / "out")], capsys, ap, problem,
             tmp_path / "out")


@pytest.mark.parametrize("name, volume, problem", [
    ("huge_header", _nifti("m.nii.gz", np.ones((8, 8, 8), np.float32), (2048, 2048, 2048)),
     "declared image size 2048×2048×2048 (8589934592 voxels) is over the limit of 1073741824 voxels"),
    ("all_nan", _nifti("m.nii.gz", np.full((8, 8, 8), np.nan, np.float32)), "all 512 voxels are NaN"),
    ("zero_axis", _nifti("m.nii.gz", np.zeros((8, 0, 8), np.float32)), "declared image size 8×0×8 has an empty"),
])
def test_damaged_mri_is_refused_by_align(name, volume, problem, chest, tmp_path, capsys):
    dxa = _save(chest, tmp_path / "dxa.dcm")
    mri = volume(tmp_path)
    _refused(["align", "--dxa", dxa, "--mri", mri, "--out", str(tmp_path / "out")], capsys, mri, problem,
             tmp_path / "out")


def test_console_script_exits_2_with_one_line(chest, tmp_path):
    """The installed script on a header claiming 65535 × 65535 pixels: exit 2, one line, no traceback, no output
    (one run only: a process start costs seconds of imports)."""
    path = _mutated(chest, tmp_path / "bad.dcm", REFUSED["huge_65535"][0])
    script = Path(sys.executable).parent / "monai-spine"
    run = subprocess.run([str(script), "infer", "--dxa", path, "--out", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=DEADLINE_S)
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [f"monai-spine infer: error: {path}: declared image size 1×65535×65535×1 "
                                       "(4294836225 samples) is over the limit of 134217728 samples: a damaged "
                                       "header, or an image too large to read"]
    assert not (tmp_path / "out").exists()


def test_convert_refuses_a_value_that_is_not_a_number(testdata, tmp_path, capsys):
    """pydicom's ``badVR.dcm`` has NumberOfFrames ``1A``: convert reads it before the pixels."""
    path = testdata("badVR.dcm")
    _refused(["convert", path, str(tmp_path / "out.nii.gz")], capsys, path, "NumberOfFrames '1A' is not a whole number",
             None)
    assert not (tmp_path / "out.nii.gz").exists()


def test_extremity_radiograph_is_refused_as_no_spine(tmp_path, capsys):
    """pydicom-data's AP lower-leg CR (``RG3_UNCI.dcm``, 35 × 35 cm cassette over 1760 pixels: 0.2 mm), binned to
    1.0 mm: no spine in it, the DXA route refuses it."""
    path = _save(_binned("RG3_UNCI.dcm", 0.2), tmp_path / "leg.dcm")
    _refused(["infer", "--dxa", path, "--out", str(tmp_path / "out")], capsys, path, "no spine found in the image",
             tmp_path / "out")


def test_chest_radiograph_as_dxa_gives_a_result_with_a_warning(chest, tmp_path, capsys):
    """The chest CR shows a thoracic spine, so the DXA route finds one, but warns that a CR is not a DXA: the warning
    is printed and written in ``curves.json``'s QC (its lordosis, on an image without a lumbar spine, is no measure)."""
    path = _save(chest, tmp_path / "chest.dcm")
    assert main(["infer", "--dxa", path, "--out", str(tmp_path / "out")]) == 0
    warning = "modality CR is an X-ray radiograph, not a DXA"
    assert f"monai-spine: warning: {path}: {warning}" in capsys.readouterr().err
    qc = json.loads((tmp_path / "out" / "curves.json").read_text())["qc"]["warnings"]
    assert any(w.startswith(warning) for w in qc)


# weights_only everywhere ---------------------------------------------------------------------------------------------
def _unsafe_loads(tree: ast.AST) -> list[str]:
    """``torch.load`` without ``weights_only=True``, any ``pickle`` / ``dill`` / ``joblib`` load, ``np.load`` with
    ``allow_pickle=True``, in a parsed module or expression."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        true = lambda key: isinstance(keywords.get(key), ast.Constant) and keywords[key].value is True  # noqa: E731
        if name.endswith("torch.load") and not true("weights_only"):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif name.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") and name.endswith(("load", "loads")):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif name.endswith(("np.load", "numpy.load")) and "allow_pickle" in keywords and not (
            isinstance(keywords["allow_pickle"], ast.Constant) and keywords["allow_pickle"].value is False
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def _config_expressions(value):
    """Every ``"$..."`` Python expression in a bundle config, its ``@id`` references made names."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _config_expressions(v)
    elif isinstance(value, list):
        for v in value:
            yield from _config_expressions(v)
    elif isinstance(value, str) and value.startswith("$"):
        yield re.sub(r"@([\w#]+)", lambda m: "ref_" + m.group(1).replace("#", "_"), value[1:])


def test_unsafe_loads_are_found():
    """The scanner finds what it must (else the next test would pass on anything)."""
    bad = "torch.load(p)\ntorch.load(p, weights_only=False)\npickle.load(f)\nnp.load(p, allow_pickle=True)\n"
    good = "torch.load(p, map_location='cpu', weights_only=True)\nnp.load(p)\njson.load(f)\n"
    assert len(_unsafe_loads(ast.parse(bad))) == 4 and _unsafe_loads(ast.parse(good)) == []


def test_weights_only_everywhere():
    """No code of the package, its transforms, bundles or benchmarks unpickles a file; bundle configs load weights
    only through MONAI's ``CheckpointLoader`` (weights-only in MONAI 1.6, checked here) or weights-only expressions."""
    from monai.handlers import CheckpointLoader

    found = {}
    for folder in ("monai_spine", "transforms", "bundles", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if hits := _unsafe_loads(ast.parse(path.read_text(), filename=str(path))):
                found[str(path.relative_to(ROOT))] = hits
    configs = sorted((ROOT / "bundles").glob("*/configs/*.json"))
    assert len(configs) >= 4 * 6
    for path in configs:
        for expression in _config_expressions(json.loads(path.read_text())):
            if hits := _unsafe_loads(ast.parse(expression.strip())):
                found.setdefault(str(path.relative_to(ROOT)), []).extend(hits)
    assert found == {}
    loader = ast.parse(inspect.getsource(CheckpointLoader))
    assert _unsafe_loads(loader) == [] and "torch.load" in ast.unparse(loader)
