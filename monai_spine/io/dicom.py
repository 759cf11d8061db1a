"""Reading DICOM files with pydicom: failures, colour images and undecodable pixels as one-line errors."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from monai_spine.errors import SpineInputError, one_line

from .checks import MAX_VOLUME_VOXELS, check_file, check_image_size

__all__ = ["read_dicom", "check_monochrome", "check_pixel_module", "decode_dicom_pixels", "element_int"]

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
    """The SOP class's name, from the dataset or, in a file cut inside its header, from the file meta."""
    uid = ds.get("SOPClassUID", None) or getattr(ds.get("file_meta", None), "MediaStorageSOPClassUID", None)
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


def element_int(ds, keyword: str, path: str | os.PathLike, default: int | None) -> int:
    """A DICOM element's value as an int; ``default`` when missing or empty (``None``: the element is required)."""
    try:
        raw = ds.get(keyword, None)
    except ValueError:  # pydicom converts an IS value when first read: '1A' fails there
        raw = bytes(ds.get_item(keyword).value).decode("ascii", "replace").strip()
    if raw is None or raw == "":
        if default is None:
            raise SpineInputError(path, f"{keyword} is missing: the pixel layout is unknown")
        return default
    try:
        return int(raw)
    except (TypeError, ValueError) as e:
        raise SpineInputError(path, f"{keyword} {one_line(raw, 40)!r} is not a whole number") from e


def check_pixel_module(ds, path: str | os.PathLike, *, limit: int = MAX_VOLUME_VOXELS) -> int:
    """Check the Image Pixel module of ``ds`` before its pixels are decoded; return its number of frames.

    Refused: a layout element that is missing or not a whole number; ``BitsStored`` over ``BitsAllocated``;
    ``HighBit`` other than ``BitsStored - 1`` (pydicom ignores it, so the values would be wrong); a
    ``PixelRepresentation`` other than 0 or 1; more than ``limit`` samples (:func:`~.checks.check_image_size`); native
    (uncompressed) ``PixelData`` shorter than the header says (truncated) or longer (rows, columns or bits that do not
    match the data, which pydicom would silently cut).
    """
    frames = element_int(ds, "NumberOfFrames", path, 1) or 1
    rows, columns = (element_int(ds, k, path, None) for k in ("Rows", "Columns"))
    samples = element_int(ds, "SamplesPerPixel", path, 1)
    allocated, stored = (element_int(ds, k, path, None) for k in ("BitsAllocated", "BitsStored"))
    high_bit = element_int(ds, "HighBit", path, stored - 1)
    if not 0 < stored <= allocated:
        raise SpineInputError(path, f"BitsStored {stored} does not fit BitsAllocated {allocated}")
    if high_bit != stored - 1:
        raise SpineInputError(path, f"HighBit {high_bit} is not BitsStored - 1 ({stored - 1}): the pixel values' bit "
                                    "layout is ambiguous")
    if (representation := element_int(ds, "PixelRepresentation", path, 0)) not in (0, 1):
        raise SpineInputError(path, f"PixelRepresentation {representation} is neither 0 (unsigned) nor 1 (signed)")
    check_image_size((frames, rows, columns, samples), path, limit, unit="samples")
    syntax = getattr(ds.get("file_meta", None), "get", lambda *_: None)("TransferSyntaxUID")
    if "PixelData" in ds and not (syntax is not None and syntax.is_compressed):
        expected, found = math.ceil(frames * rows * columns * samples * allocated / 8), len(ds.PixelData)
        if found < expected:
            raise SpineInputError(path, f"truncated or damaged DICOM: PixelData holds {found} of the {expected} "
                                        f"bytes that {frames} × {rows} × {columns} pixels of {allocated} bits need")
        if found > expected + 1:  # one byte pads an odd length
            raise SpineInputError(path, f"PixelData holds {found} bytes but {frames} × {rows} × {columns} pixels of "
                                        f"{allocated} bits need {expected}: the header does not match the pixels")
    return frames


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
    check_pixel_module(ds, path)
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
            slope, intercept = (float(default if ds.get(k, None) in (None, "") else ds.get(k))
                                for k, default in (("RescaleSlope", 1), ("RescaleIntercept", 0)))
        except (TypeError, ValueError) as e:
            raise SpineInputError(path, "RescaleSlope/RescaleIntercept are not numbers") from e
        if not (math.isfinite(slope) and math.isfinite(intercept) and slope != 0):
            raise SpineInputError(path, f"RescaleSlope {slope:g} and RescaleIntercept {intercept:g} are not a usable "
                                        "modality LUT (finite, slope not 0)")
        if slope != 1.0 or intercept != 0.0:  # pydicom's apply_modality_lut skips a slope without its intercept
            arr = arr.astype(np.float64) * slope + intercept
            applied = f"modality LUT (RescaleSlope {slope:g}, RescaleIntercept {intercept:g})"
    return np.asarray(arr), applied
