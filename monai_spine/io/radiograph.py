"""Reading 2D projection images: coronal DXA, AP/PA and lateral radiographs (DICOM or 2D NIfTI).

The frames are those of ``docs/frames.md``: an image ends up as ``(1, W, H)`` = (channel, column, row) with a
3×3 affine ``diag(column spacing, row spacing, 1)`` from ``(column, row, 1)`` to ``(x, z, 1)`` mm
(**coronal image frame**) or ``(y, z, 1)`` mm (**lateral image frame**).

:class:`RadiographReader` is a MONAI :class:`~monai.data.ImageReader`: it returns the pixels *in the file's own
order* together with an affine that maps the file's ``(column, row, 1)`` to the frame in mm, so that MONAI's
:class:`~monai.transforms.Orientation` (with the labels and axis codes of :data:`FRAME_AXCODES` and
:data:`FRAME_LABELS`) puts the image in the standard display. ``monai_spine.transforms.LoadRadiograph`` does both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from monai.data import ImageReader
from monai.utils import ensure_tuple

from monai_spine.errors import SpineInputError, warn

from .checks import MAX_IMAGE_PIXELS, check_file, check_finite_and_not_blank
from .dicom import check_monochrome, check_pixel_module, decode_dicom_pixels, read_dicom
from .files import as_plain
from .nifti import is_nifti_path, load_nifti, nifti_array

__all__ = [
    "FRAMES",
    "FRAME_AXCODES",
    "FRAME_LABELS",
    "STANDARD_PATIENT_ORIENTATION",
    "RadiographReader",
    "describe_orientation",
    "file_grid_affine",
]

#: the 2D frames of ``docs/frames.md``
FRAMES = ("coronal", "lateral")

#: ``PatientOrientation`` (0020,0020) of an image already in the standard display of each frame
STANDARD_PATIENT_ORIENTATION = {"coronal": ("L", "F"), "lateral": ("A", "F")}

#: axis codes of the standard display, for :class:`monai.transforms.Orientation`
FRAME_AXCODES = {"coronal": "LF", "lateral": "AF"}

#: (toward negative, toward positive) label of each frame axis, for :class:`monai.transforms.Orientation`:
#: coronal x runs right → left, lateral y posterior → anterior, z head → feet.
FRAME_LABELS = {"coronal": (("R", "L"), ("H", "F")), "lateral": (("P", "A"), ("H", "F"))}

# patient direction letter -> (frame axis, sign)
_LETTERS = {
    "coronal": {"L": (0, 1), "R": (0, -1), "F": (1, 1), "H": (1, -1)},
    "lateral": {"A": (0, 1), "P": (0, -1), "F": (1, 1), "H": (1, -1)},
}

_AXIS_OF_LETTER = {"L": "LR", "R": "LR", "A": "AP", "P": "AP", "H": "HF", "F": "HF"}
_VIEW_OF_AXES = {
    frozenset(("LR", "HF")): "coronal",
    frozenset(("AP", "HF")): "lateral",
    frozenset(("LR", "AP")): "axial",
}

_SPACING_TAGS = ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing")
_MM_PER_UNIT = {"mm": 1.0, "meter": 1000.0, "micron": 1e-3, "unknown": 1.0}


def _check_frame(frame: str) -> str:
    if frame not in FRAMES:
        raise ValueError(f"frame must be one of {FRAMES}, got {frame!r}.")
    return frame


def file_grid_affine(
    shape: Sequence[int], spacing: Sequence[float], directions: Sequence[tuple[int, int]]
) -> np.ndarray:
    """The 3×3 affine from a file's ``(column, row, 1)`` to frame mm, origin at the standard display's first pixel.

    Args:
        shape: ``(W, H)``, number of columns and rows in the file.
        spacing: ``(column spacing, row spacing)`` in mm, as stored for the file's axes.
        directions: for the file's column axis then row axis, ``(frame axis, ±1)``: which frame axis
            (0: x or y, 1: z) the index runs along and whether it runs toward the positive end.

    Returns:
        ``A`` (3×3, float64) such that ``Orientation`` to the standard display yields ``diag(s0, s1, 1)``:
        each frame coordinate of the file's pixels spans ``[0, (n - 1) × spacing]``.
    """
    a = np.eye(3)
    for i, (n, sp, (axis, sign)) in enumerate(zip(shape, spacing, directions)):
        a[:2, i] = 0.0
        a[axis, i] = sign * float(sp)
        if sign < 0:
            a[axis, 2] = (int(n) - 1) * float(sp)
    return a


def describe_orientation(file_affine: np.ndarray) -> list[str]:
    """The operations that put a file grid with this :func:`file_grid_affine` in the standard display.

    Returns:
        a list drawn from ``"flip columns"`` (reverse the column order of the file), ``"flip rows"``
        and ``"transpose"`` (swap rows and columns), to be read in that order; ``[]`` when the file is
        already in the standard display.
    """
    a = np.asarray(file_affine, dtype=float)
    ops = []
    col_axis = int(np.argmax(np.abs(a[:2, 0])))
    row_axis = int(np.argmax(np.abs(a[:2, 1])))
    if a[col_axis, 0] < 0:
        ops.append("flip columns")
    if a[row_axis, 1] < 0:
        ops.append("flip rows")
    if col_axis != 0:
        ops.append("transpose")
    return ops


class RadiographReader(ImageReader):
    """Read one 2D projection image, a DICOM file (DX, CR, secondary capture, ...) or a 2D NIfTI file.

    ``get_data`` returns the pixels in the file's own order as a float32 array ``(W, H)`` (column index first,
    the layout of MONAI's readers) and a meta dict whose ``affine`` (3×3) maps the file's ``(column, row, 1)``
    to the chosen frame in mm. Apply MONAI ``Orientation(axcodes=FRAME_AXCODES[frame],
    labels=FRAME_LABELS[frame])`` to get the standard display; ``monai_spine.transforms.LoadRadiograph`` does.

    DICOM:
        - pixels decoded by pydicom (compressed transfer syntaxes through pylibjpeg / pyjpegls), modality LUT
          (``RescaleSlope``/``RescaleIntercept``) applied, ``MONOCHROME1`` inverted as
          ``max + min − value`` so that higher values are brighter (denser) as in ``MONOCHROME2``;
        - spacing, first found of ``PixelSpacing`` (calibrated, in the patient), ``ImagerPixelSpacing``
          (at the detector; divided by ``EstimatedRadiographicMagnificationFactor`` when present),
          ``NominalScannedPixelSpacing`` (scanned film); all are ``[row spacing, column spacing]`` in DICOM;
          none: 1.0 mm with a warning;
        - ``PatientOrientation`` (0020,0020): first value the patient direction of increasing column index,
          second of increasing row index; compound (oblique) values use their first, dominant, letter; missing
          or unusable: the standard display is assumed, with a warning.

    NIfTI:
        voxel axis 0 runs along columns, axis 1 along rows (top to bottom), the image is taken as already in
        the standard display; spacing from ``pixdim`` (converted from the header's spatial unit to mm);
        a third axis of length 1 is accepted.

    Meta written (besides MONAI's ``affine``, ``original_affine``, ``spatial_shape``, ``original_channel_dim``):
        ``frame``, ``spacing_source``, ``file_spacing_mm`` (column, row spacing of the file's axes),
        ``patient_orientation`` (the tag as read, ``[]`` if none), ``modality``, ``photometric_interpretation``,
        ``intensity_applied`` (list of str), ``file_format`` (``"DICOM"`` or ``"NIfTI"``), ``warnings`` (list of str).

    Args:
        frame: ``"coronal"`` (AP/PA radiograph, DXA) or ``"lateral"``.

    Raises:
        SpineInputError: on any unusable input (see ``docs/inputs.md``), with a one-line problem naming the file.
    """

    def __init__(self, frame: str = "coronal"):
        super().__init__()
        self.frame = _check_frame(frame)

    def verify_suffix(self, filename: Sequence[os.PathLike | str] | os.PathLike | str) -> bool:
        """One file (not a folder): any DICOM file, or a ``.nii`` / ``.nii.gz`` file."""
        names = ensure_tuple(filename)
        return len(names) == 1 and not os.path.isdir(os.fspath(names[0]))

    def read(self, data: Sequence[os.PathLike | str] | os.PathLike | str, **kwargs):
        """Open one file: returns a ``pydicom.Dataset`` or a ``nibabel`` image (pixels not yet decoded)."""
        names = ensure_tuple(data)
        if len(names) != 1:
            raise ValueError(f"RadiographReader reads one file at a time, got {len(names)}.")
        path = os.fspath(names[0])
        check_file(path)
        if is_nifti_path(path):
            return load_nifti(path)
        ds = read_dicom(path)
        ds.filename = path  # kept for messages; pydicom sets it too, but not for every reader path
        return ds

    def get_data(self, img) -> tuple[np.ndarray, dict]:
        """Pixels ``(W, H)`` float32 in file order and the meta dict described in the class docstring."""
        if hasattr(img, "dataobj"):
            arr, meta = self._nifti(img, img.get_filename())
        else:
            arr, meta = self._dicom(img, img.filename)
        meta["spatial_shape"] = np.asarray(arr.shape)
        meta["original_channel_dim"] = float("nan")
        meta["frame"] = self.frame
        return np.ascontiguousarray(arr, dtype=np.float32), meta

    # DICOM ------------------------------------------------------------------------------------------------
    def _dicom(self, ds, path: str) -> tuple[np.ndarray, dict]:
        notes: list[str] = []
        check_monochrome(ds, path, what="a monochrome radiograph")
        frames = check_pixel_module(ds, path, limit=MAX_IMAGE_PIXELS)
        if frames > 1:
            raise SpineInputError(
                path, f"multi-frame DICOM ({frames} frames, a volume or a cine); a single 2D image is expected"
            )
        modality = str(ds.get("Modality", "") or "unknown")
        po = [str(v) for v in (ds.get("PatientOrientation", None) or [])]
        directions = self._directions(po, path, notes)
        arr, lut = decode_dicom_pixels(ds, path)
        if arr.ndim != 2:
            raise SpineInputError(path, f"pixel data of shape {tuple(arr.shape)}; a single 2D image is expected")
        arr = arr.astype(np.float64, copy=False)
        arr = check_finite_and_not_blank(arr, path, notes=notes)
        applied = [lut] if lut else []
        pi = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
        if pi == "MONOCHROME1":
            arr = arr.max() + arr.min() - arr
            applied.append("inverted MONOCHROME1 (max + min - value)")
        if modality in ("CT", "MR", "PT", "NM", "US"):
            warn(path, f"modality {modality} is not a projection radiograph", notes)

        row_sp, col_sp, source = self._dicom_spacing(ds, path, notes)
        w, h = arr.shape[1], arr.shape[0]
        affine = file_grid_affine((w, h), (col_sp, row_sp), directions)
        meta = {
            "affine": affine,
            "original_affine": affine.copy(),
            "spacing_source": source,
            "file_spacing_mm": [col_sp, row_sp],
            "patient_orientation": po,
            "modality": modality,
            "photometric_interpretation": pi,
            "sop_class": str(getattr(ds.get("SOPClassUID", None), "name", "") or ""),
            "intensity_applied": applied,
            "file_format": "DICOM",
            "warnings": notes,
        }
        return arr.T, as_plain_meta(meta)

    @staticmethod
    def _dicom_spacing(ds, path: str, notes: list[str]) -> tuple[float, float, str]:
        """``(row spacing, column spacing, source)`` in mm; see the class docstring for the order of tags."""
        for tag in _SPACING_TAGS:
            raw = ds.get(tag, None)
            if raw is None or raw == "" or (isinstance(raw, (list, tuple)) and not raw) or getattr(raw, "VM", 1) == 0:
                continue
            try:
                vals = [float(v) for v in (raw if not isinstance(raw, (str, float, int)) else [raw])]
            except (TypeError, ValueError):
                warn(path, f"{tag} {as_plain(raw)} is not a number pair; ignored", notes)
                continue
            if len(vals) == 1:
                vals = vals * 2
            if len(vals) != 2 or not all(math.isfinite(v) and v > 0 for v in vals):
                warn(path, f"{tag} {vals} is not a valid spacing; ignored", notes)
                continue
            row_sp, col_sp = vals
            source = tag
            if tag == "ImagerPixelSpacing":
                try:
                    mag = float(ds.get("EstimatedRadiographicMagnificationFactor", 0) or 0)
                except (TypeError, ValueError):
                    mag = 0.0
                if math.isfinite(mag) and mag > 0:
                    row_sp, col_sp = row_sp / mag, col_sp / mag
                    source = "ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor"
                else:
                    warn(
                        path,
                        "spacing from ImagerPixelSpacing (at the detector) without "
                        "EstimatedRadiographicMagnificationFactor: lengths include the X-ray magnification",
                        notes,
                    )
            return row_sp, col_sp, source
        warn(path, "no valid pixel spacing tag (PixelSpacing, ImagerPixelSpacing, NominalScannedPixelSpacing): "
             "1.0 mm per pixel assumed", notes)
        return 1.0, 1.0, "none"

    def _directions(self, po: list[str], path: str, notes: list[str]) -> list[tuple[int, int]]:
        """``(frame axis, sign)`` of the file's column and row axes from ``PatientOrientation``."""
        letters = _LETTERS[self.frame]
        standard = STANDARD_PATIENT_ORIENTATION[self.frame]
        std_dirs = [letters[c] for c in standard]
        view = self.frame
        if len(po) != 2 or not all(v.strip() for v in po):
            what = "missing" if not po else f"unusable ({po})"
            warn(path, f"PatientOrientation (0020,0020) {what}: the standard {view} display is assumed "
                 f"({standard[0]}, {standard[1]})", notes)
            return std_dirs
        first = [v.strip().upper()[0] for v in po]
        axes = {_AXIS_OF_LETTER.get(c) for c in first}
        if None not in axes and len(axes) == 2:
            seen = _VIEW_OF_AXES[frozenset(axes)]
            if seen != self.frame:
                article = "an" if seen == "axial" else "a"
                raise SpineInputError(
                    path, f"PatientOrientation {po} is that of {article} {seen} view; a {self.frame} image is expected"
                )
        if not all(c in letters for c in first) or letters[first[0]][0] == letters[first[1]][0]:
            warn(path, f"PatientOrientation (0020,0020) {po} is not a valid pair of directions: the standard "
                 f"{view} display is assumed ({standard[0]}, {standard[1]})", notes)
            return std_dirs
        return [letters[c] for c in first]

    # NIfTI ------------------------------------------------------------------------------------------------
    def _nifti(self, img, path: str) -> tuple[np.ndarray, dict]:
        notes: list[str] = []
        shape = tuple(int(s) for s in img.header.get_data_shape())
        if len(shape) < 2:
            raise SpineInputError(path, f"{len(shape)}D image of shape {shape}; a 2D image is expected")
        extra = shape[2:]
        if extra and extra[0] > 1:
            raise SpineInputError(
                path, f"3D volume ({'×'.join(map(str, shape[:3]))} voxels); a 2D image is expected"
            )
        if any(s > 1 for s in extra[1:]):
            raise SpineInputError(
                path, f"image of shape {shape} holds several images or channels; a single 2D image is expected"
            )
        arr = nifti_array(img, path, limit=MAX_IMAGE_PIXELS).reshape(shape[:2]).astype(np.float64, copy=False)
        arr = check_finite_and_not_blank(arr, path, notes=notes)
        zooms = [float(z) for z in img.header.get_zooms()[:2]]
        unit = img.header.get_xyzt_units()[0]
        factor = _MM_PER_UNIT.get(unit, 1.0)
        if len(zooms) == 2 and all(math.isfinite(z) and z > 0 for z in zooms):
            col_sp, row_sp = zooms[0] * factor, zooms[1] * factor
            source = "NIfTI header"
        else:
            warn(path, f"NIfTI pixdim {zooms} is not a valid spacing: 1.0 mm per pixel assumed", notes)
            col_sp, row_sp, source = 1.0, 1.0, "none"
        affine = file_grid_affine(shape[:2], (col_sp, row_sp), [(0, 1), (1, 1)])
        meta = {
            "affine": affine,
            "original_affine": affine.copy(),
            "spacing_source": source,
            "file_spacing_mm": [col_sp, row_sp],
            "patient_orientation": [],
            "modality": "unknown",
            "photometric_interpretation": "",
            "sop_class": "",
            "intensity_applied": [],
            "file_format": "NIfTI",
            "warnings": notes,
        }
        return arr, as_plain_meta(meta)


def as_plain_meta(meta: dict) -> dict:
    """Meta with plain Python values, arrays (``affine``, ...) kept as numpy arrays."""
    return {k: (v if isinstance(v, np.ndarray) else as_plain(v)) for k, v in meta.items()}
