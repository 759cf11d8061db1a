"""Reading DICOM files with pydicom: failures, colour images and undecodable pixels as one-line errors."""

from __future__ import annotations

import os
import warnings

import numpy as np

from monai_spine.errors import SpineInputError, one_line

from .checks import check_file

__all__ = ["read_dicom", "check_monochrome", "decode_dicom_pixels"]

# photometric interpretations that carry colour; a monochrome image is expected everywhere in monai-spine
_COLOUR = (
    "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_420", "YBR_PARTIAL_422", "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK"
)


def read_dicom(path: str | os.PathLike, *, stop_before_pixels: bool = False):
    """Read a DICOM file with pydicom, turning every failure into a :class:`SpineInputError`.

    Files without the 128-byte preamble and ``DICM`` prefix (old ACR-NEMA style) are retried with
    ``force=True`` and kept only if they hold image elements (``Rows``, ``Columns``).

    Returns:
        the ``pydicom.Dataset``.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    check_file(path)
    try:
        return pydicom.dcmread(os.fspath(path), stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        pass
    except Exception as e:
        raise SpineInputError(path, f"truncated or damaged DICOM file ({one_line(e, 120)})") from e
    # no DICM prefix: maybe a raw dataset; pydicom warns loudly on garbage, keep that quiet
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(os.fspath(path), force=True, stop_before_pixels=stop_before_pixels)
            ok = "Rows" in ds and "Columns" in ds and int(ds.Rows) > 0 and int(ds.Columns) > 0
    except Exception:
        ok = False
    if not ok:
        kind = "not a DICOM or NIfTI file" if not str(path).lower().endswith(".dcm") else "not a DICOM file"
        raise SpineInputError(path, f"{kind} (no DICOM header found)")
    return ds


def _sop_name(ds) -> str:
    uid = ds.get("SOPClassUID", None)
    name = getattr(uid, "name", None) if uid is not None else None
    return str(name) if name else "unknown SOP class"


def check_monochrome(ds, path: str | os.PathLike, *, what: str = "a monochrome image") -> None:
    """Refuse colour and palette images and DICOM objects without pixel data."""
    has_pixels = any(t in ds for t in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))
    if not has_pixels:
        name = _sop_name(ds)
        if "Image" in name:
            raise SpineInputError(
                path, f"no pixel data although its SOP class is {name}: the file is truncated or damaged"
            )
        raise SpineInputError(path, f"no pixel data ({name}); an image is expected")
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    pi = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if spp != 1 or pi in _COLOUR:
        label = pi or "colour"
        label = "RGB" if label == "RGB" else f"colour ({label})"
        raise SpineInputError(path, f"{label} image ({spp} samples per pixel); {what} is expected")
    if pi == "PALETTE COLOR":
        raise SpineInputError(path, f"palette-colour image (PALETTE COLOR); {what} is expected")


def decode_dicom_pixels(ds, path: str | os.PathLike, *, modality_lut: bool = True) -> tuple[np.ndarray, str | None]:
    """Decode the pixel data of ``ds`` (any transfer syntax with an installed decoder) and apply the modality LUT.

    The modality LUT is ``RescaleSlope``/``RescaleIntercept`` or a Modality LUT Sequence, applied by
    :func:`pydicom.pixels.apply_modality_lut` unless it is the identity or ``modality_lut`` is False.

    Returns:
        ``(array, applied)``: the array as pydicom lays it out, ``(rows, columns)`` or ``(frames, rows, columns)``,
        in the stored dtype when no modality LUT applies (else float64 or the LUT's dtype); ``applied`` describes
        the modality LUT applied, or is ``None``.
    """
    from pydicom.pixels import apply_modality_lut

    check_monochrome(ds, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except Exception as e:
        msg = one_line(str(e).split(" - ")[0], 140)
        if "less than expected" in msg or "truncat" in msg.lower() or isinstance(e, EOFError):
            raise SpineInputError(path, f"truncated or damaged DICOM: {msg}") from e
        ts = getattr(getattr(ds, "file_meta", None), "get", lambda *_: None)("TransferSyntaxUID")
        tsn = getattr(ts, "name", None) or "unknown transfer syntax"
        raise SpineInputError(path, f"cannot decode the pixel data ({tsn}): {msg}") from e
    applied = None
    if not modality_lut:
        return np.asarray(arr), None
    if "ModalityLUTSequence" in ds:
        arr = apply_modality_lut(arr, ds)
        applied = "modality LUT (Modality LUT Sequence)"
    elif "RescaleSlope" in ds or "RescaleIntercept" in ds:
        try:
            slope = float(ds.get("RescaleSlope", 1) or 1)
            intercept = float(ds.get("RescaleIntercept", 0) or 0)
        except (TypeError, ValueError) as e:
            raise SpineInputError(path, "RescaleSlope/RescaleIntercept are not numbers") from e
        if slope != 1.0 or intercept != 0.0:
            arr = apply_modality_lut(arr, ds)
            applied = f"modality LUT (RescaleSlope {slope:g}, RescaleIntercept {intercept:g})"
    return np.asarray(arr), applied
