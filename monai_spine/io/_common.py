"""Checks and small helpers shared by the 2D and 3D readers and by ``convert``.

Every function here turns a library failure (pydicom, nibabel, the file system) into a
:class:`~monai_spine.errors.SpineInputError` whose text is one line a user can act on.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_spine.errors import SpineInputError

__all__ = [
    "NIFTI_SUFFIXES",
    "as_plain",
    "check_file",
    "check_finite_and_not_blank",
    "decode_dicom_pixels",
    "is_nifti_path",
    "load_nifti",
    "one_line",
    "read_dicom",
    "warn",
]

NIFTI_SUFFIXES = (".nii", ".nii.gz")

# photometric interpretations that carry colour; a monochrome image is expected everywhere in monai-spine
_COLOUR = (
    "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_420", "YBR_PARTIAL_422", "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK"
)


def one_line(text: Any, limit: int = 200) -> str:
    """``text`` as one line of at most ``limit`` characters (whitespace runs collapsed)."""
    s = re.sub(r"\s+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def warn(path: str | os.PathLike, message: str, store: list[str] | None = None) -> None:
    """Record ``message`` in ``store`` (a meta ``warnings`` list) and emit it as a ``UserWarning`` naming ``path``."""
    if store is not None:
        store.append(message)
    warnings.warn(f"{os.fspath(path)}: {message}", UserWarning, stacklevel=3)


def is_nifti_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a NIfTI file by its suffix (``.nii`` or ``.nii.gz``, any case)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def check_file(path: str | os.PathLike, *, folder_ok: bool = False) -> Path:
    """Check that ``path`` exists and is a non-empty readable file (or, with ``folder_ok``, a folder).

    Raises:
        SpineInputError: missing path, a folder where a file is expected, an empty or unreadable file.
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise SpineInputError(path, "no such file or folder")
    if p.is_dir():
        if folder_ok:
            if not os.access(p, os.R_OK | os.X_OK):
                raise SpineInputError(path, "folder cannot be read (permission denied)")
            return p
        raise SpineInputError(path, "is a folder; a single image file (DICOM or NIfTI) is expected")
    if not p.is_file():
        raise SpineInputError(path, "not a regular file")
    if p.stat().st_size == 0:
        raise SpineInputError(path, "empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise SpineInputError(path, "file cannot be read (permission denied)")
    return p


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
    except Exception as e:  # noqa: BLE001 - any parser failure is a damaged file
        raise SpineInputError(path, f"truncated or damaged DICOM file ({one_line(e, 120)})") from e
    # no DICM prefix: maybe a raw dataset; pydicom warns loudly on garbage, keep that quiet
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(os.fspath(path), force=True, stop_before_pixels=stop_before_pixels)
            ok = "Rows" in ds and "Columns" in ds and int(ds.Rows) > 0 and int(ds.Columns) > 0
    except Exception:  # noqa: BLE001
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
    except Exception as e:  # noqa: BLE001 - decoder errors come in many types
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


def load_nifti(path: str | os.PathLike):
    """``nibabel.load`` with failures turned into :class:`SpineInputError`; returns the nibabel image."""
    import nibabel as nib

    check_file(path)
    try:
        img = nib.load(os.fspath(path))
        _ = img.header.get_data_shape()
    except Exception as e:  # noqa: BLE001
        raise SpineInputError(path, f"not a readable NIfTI file ({one_line(e, 120)})") from e
    return img


def nifti_array(img, path: str | os.PathLike) -> np.ndarray:
    """The voxel array of a nibabel image (scaling applied), failures as :class:`SpineInputError`."""
    dt = img.get_data_dtype()
    if dt.names is not None or "RGB" in str(img.header.get_value_label("datatype")).upper():
        raise SpineInputError(path, "RGB image (colour NIfTI datatype); a monochrome image is expected")
    try:
        return np.asanyarray(img.dataobj)
    except Exception as e:  # noqa: BLE001 - truncated gzip, short file, ...
        raise SpineInputError(path, f"truncated or damaged NIfTI file ({one_line(e, 120)})") from e


def check_finite_and_not_blank(
    arr: np.ndarray, path: str | os.PathLike, *, unit: str = "pixels", notes: list[str] | None = None
) -> np.ndarray:
    """Refuse arrays that are all NaN/infinite or hold one value everywhere (a blank image).

    Some NaN/infinite values among finite ones (a masked map) are set to the lowest finite value, with a
    warning recorded in ``notes``.

    Returns:
        ``arr``, or a float copy with the non-finite values replaced.
    """
    n = int(arr.size)
    if n == 0:
        raise SpineInputError(path, f"image has no {unit}")
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        bad = n - int(np.count_nonzero(finite))
        if bad == n:
            kind = "NaN" if np.isnan(arr).all() else "NaN or infinite"
            raise SpineInputError(path, f"all {n} {unit} are {kind}")
        if bad:
            low = arr[finite].min()
            arr = np.where(finite, arr, low)
            warn(path, f"{bad} of {n} {unit} are NaN or infinite: set to the lowest finite value ({float(low):g})",
                 notes)
    lo, hi = arr.min(), arr.max()
    if lo == hi:
        v = float(lo)
        if v == 0:
            raise SpineInputError(path, f"all {n} {unit} are 0: the image is blank")
        raise SpineInputError(path, f"all {n} {unit} have the same value ({v:g}): the image is blank")
    return arr


def as_plain(value: Any) -> Any:
    """``value`` as plain Python types (str, int, float, list, dict) so that MONAI can keep it in ``meta``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, str):
            return str(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) or hasattr(value, "__iter__"):
        return [as_plain(v) for v in value]
    return str(value)


def check_same_grid(mask, image, path: str | os.PathLike) -> None:
    """Raise :class:`SpineInputError` unless ``mask`` lies on ``image``'s pixels: same shape and affine (1 µm)."""
    if tuple(mask.shape) != tuple(image.shape) or not np.allclose(mask.affine, image.affine, atol=1e-3):
        raise SpineInputError(path, f"the mask's grid {tuple(mask.shape[1:])} does not match its image's "
                                    f"{tuple(image.shape[1:])} (shape or spacing)")
