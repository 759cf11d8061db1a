"""Reading 3D volumes (CT, MRI): a NIfTI file, a DICOM series folder, or one DICOM file.

Both readers are MONAI :class:`~monai.data.ImageReader` s and follow MONAI's conventions: ``get_data`` returns the
voxels ``(X, Y, Z)`` in the file's order with ``affine`` = ``original_affine`` the true voxel → RAS world mapping
(mm), ``space`` ``"RAS"``, ``spatial_shape`` and ``spacing``. ``monai_spine.transforms.LoadVolume`` then reorients
them to the **patient volume frame** of ``docs/frames.md`` with MONAI ``Orientation(axcodes="LAI")``.

DICOM series are read with pydicom rather than MONAI's ``PydicomReader`` because the latter stacks slices in
``InstanceNumber`` order and checks neither that they are evenly spaced nor that they form one series; here slices
are ordered by their position along the slice normal (as ITK/GDCM do) and anything that does not make one regular
grid is refused with a one-line :class:`~monai_spine.errors.SpineInputError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from monai.data import ImageReader, NibabelReader
from monai.data.utils import affine_to_spacing, orientation_ras_lps
from monai.utils import ensure_tuple

from monai_spine.errors import SpineInputError, one_line, warn

from .checks import MAX_VOLUME_VOXELS, check_file, check_finite_and_not_blank, check_image_size
from .dicom import check_monochrome, check_pixel_module, decode_dicom_pixels, read_dicom
from .nifti import is_nifti_path, load_nifti

__all__ = ["DicomVolume", "DicomVolumeReader", "NiftiVolumeReader", "volume_reader_for"]

_ORIENT_TOL = 1e-4  # direction cosines
_SPACING_RTOL = 1e-2  # slice gaps may differ by 1 % (+ 1e-3 mm) before the series is refused


def _dims(shape: Sequence[int]) -> str:
    return "×".join(str(int(s)) for s in shape)


@dataclass
class DicomVolume:
    """What :meth:`DicomVolumeReader.read` found: the slices of one series in order, and their geometry (LPS, mm).

    Attributes:
        path: the folder or file given.
        datasets: pydicom datasets, one per slice (or one multi-frame dataset), in order along ``step``.
        files: the file of each dataset.
        frames: for a multi-frame file, the frame index of each slice in order; else ``None``.
        shape: ``(X, Y, Z)`` = (columns, rows, slices).
        affine_lps: 4×4 voxel → DICOM LPS world (mm).
        warnings: notes for ``meta["warnings"]``.
    """

    path: str
    datasets: list
    files: list[str]
    frames: list[int] | None
    shape: tuple[int, int, int]
    affine_lps: np.ndarray
    warnings: list[str] = field(default_factory=list)


def _floats(value, n: int, what: str, path) -> np.ndarray:
    try:
        out = np.asarray([float(v) for v in value], dtype=float)
    except (TypeError, ValueError) as e:
        raise SpineInputError(path, f"{what} is not numeric") from e
    if out.shape != (n,) or not np.isfinite(out).all():
        raise SpineInputError(path, f"{what} {out.tolist()} is not {n} finite numbers")
    return out


def _pixel_spacing(ds, path, notes: list[str]) -> tuple[float, float]:
    """``(row spacing, column spacing)`` from ``PixelSpacing`` (1.0 with a warning when absent)."""
    ps = ds.get("PixelSpacing", None)
    if ps:
        sp = _floats(ps, 2, "PixelSpacing", path)
        if (sp > 0).all():
            return float(sp[0]), float(sp[1])
    warn(path, "no valid PixelSpacing: 1.0 mm assumed in-plane", notes)
    return 1.0, 1.0


def _plane(ds, path) -> tuple[np.ndarray, np.ndarray]:
    """``(ImageOrientationPatient (6,), ImagePositionPatient (3,))``, refusing slices that lack them."""
    if "ImageOrientationPatient" not in ds or "ImagePositionPatient" not in ds:
        raise SpineInputError(
            path, "no ImagePositionPatient/ImageOrientationPatient: the slice's place in 3D is unknown"
        )
    iop = _floats(ds.ImageOrientationPatient, 6, "ImageOrientationPatient", path)
    ipp = _floats(ds.ImagePositionPatient, 3, "ImagePositionPatient", path)
    r, c = iop[:3], iop[3:]
    if abs(np.linalg.norm(r) - 1) > 1e-2 or abs(np.linalg.norm(c) - 1) > 1e-2 or abs(r @ c) > 1e-2:
        raise SpineInputError(path, f"ImageOrientationPatient {iop.tolist()} is not two orthogonal unit vectors")
    return iop, ipp


def _grid(
    iop: np.ndarray, positions: np.ndarray, row_sp: float, col_sp: float, path, notes: list[str], single_step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Order slices along the normal and build the LPS affine.

    Args:
        positions: ``(n, 3)`` ImagePositionPatient of the slices.
        single_step: slice spacing to use when ``n == 1``.

    Returns:
        ``(order, affine_lps)``: slice indices in increasing position along ``row cosine × column cosine``.
    """
    r, c = iop[:3] / np.linalg.norm(iop[:3]), iop[3:] / np.linalg.norm(iop[3:])
    normal = np.cross(r, c)
    dist = positions @ normal
    order = np.argsort(dist, kind="stable")
    dist = dist[order]
    a = np.eye(4)
    a[:3, 0] = r * col_sp
    a[:3, 1] = c * row_sp
    a[:3, 3] = positions[order[0]]
    n = len(order)
    if n == 1:
        a[:3, 2] = normal * single_step
        return order, a
    gaps = np.diff(dist)
    if (gaps < 1e-3).any():
        k = int((gaps < 1e-3).sum()) + 1
        raise SpineInputError(
            path,
            f"{k} slices share a position (several echoes, phases or time points?); one volume per folder is expected",
        )
    mean = float((dist[-1] - dist[0]) / (n - 1))
    if np.abs(gaps - mean).max() > _SPACING_RTOL * mean + 1e-3:
        raise SpineInputError(
            path, f"slices are not evenly spaced (gaps {gaps.min():.4g} to {gaps.max():.4g} mm): missing slices?"
        )
    step = (positions[order[-1]] - positions[order[0]]) / (n - 1)
    if np.linalg.norm(np.cross(step / np.linalg.norm(step), normal)) > 1e-3:
        warn(path, "slice positions are sheared against the slice normal (gantry tilt): the affine keeps the shear",
             notes)
    a[:3, 2] = step
    return order, a


def _folder_files(folder: Path, path: str) -> list[Path]:
    """The files directly in ``folder`` (hidden ones aside); a bad-input error for a folder with none."""
    entries = sorted(folder.iterdir())
    files = [e for e in entries if e.is_file() and not e.name.startswith(".")]
    if files:
        return files
    subs = [e for e in entries if e.is_dir()]
    if subs:
        raise SpineInputError(
            path, f"no files directly in this folder ({len(subs)} subfolders); pass the folder of one series"
        )
    raise SpineInputError(path, "empty folder; a DICOM series folder is expected")


def _read_images(files: list[Path]) -> tuple[list, list[str]]:
    """The DICOM datasets with pixel data among ``files``, and their names; empty, non-DICOM and pixel-less files
    are skipped, a damaged DICOM file is bad input."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    images, names = [], []
    for f in files:
        if f.stat().st_size == 0:
            continue
        try:
            ds = pydicom.dcmread(os.fspath(f))
        except InvalidDicomError:
            continue
        except Exception as e:
            raise SpineInputError(f, f"truncated or damaged DICOM file ({one_line(e, 120)})") from e
        if any(t in ds for t in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            images.append(ds)
            names.append(os.fspath(f))
    return images, names


def _check_one_series(images: list, path: str) -> None:
    """Bad input when ``images`` belong to more than one series (named by description or number)."""
    series: dict[str, list] = {}
    for ds in images:
        series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    if len(series) > 1:
        parts = []
        for group in series.values():
            label = group[0].get("SeriesDescription", "") or group[0].get("SeriesNumber", "") or "?"
            parts.append(f"'{label}' ({len(group)} images)")
        raise SpineInputError(
            path, f"{len(series)} DICOM series in one folder: {', '.join(parts)}; pass a folder holding one series"
        )


class DicomVolumeReader(ImageReader):
    """Read one DICOM series (a folder) or one DICOM file as a volume ``(X, Y, Z)``, X along columns, Y along rows.

    A folder must hold the images of exactly one series directly (files that are not DICOM images, such as a
    ``DICOMDIR``, are skipped). Slices are ordered along the slice normal, must share size, orientation and
    spacing and be evenly spaced. A single-frame file gives ``Z = 1`` with slice spacing ``SpacingBetweenSlices``
    or 1.0 (SimpleITK's convention). An enhanced multi-frame file is read from its per-frame functional groups.

    Pixels: decoded by pydicom, modality LUT (``RescaleSlope``/``RescaleIntercept``) applied per slice.

    Meta written: MONAI's ``affine`` / ``original_affine`` (4×4 voxel → RAS, mm), ``spatial_shape``, ``space``
    (``"RAS"``), ``spacing`` (3,), ``original_channel_dim``; and ``modality``, ``series_instance_uid``,
    ``series_description``, ``n_slices``, ``file_format`` (``"DICOM"``), ``warnings`` (list of str).

    Args:
        require_3d: refuse inputs with a single slice (``Z = 1``): "a 3D volume is expected".
    """

    def __init__(self, require_3d: bool = True):
        super().__init__()
        self.require_3d = require_3d

    def verify_suffix(self, filename: Sequence[os.PathLike | str] | os.PathLike | str) -> bool:
        """A folder, or one file that is not NIfTI."""
        names = ensure_tuple(filename)
        return len(names) == 1 and (os.path.isdir(os.fspath(names[0])) or not is_nifti_path(names[0]))

    def read(self, data: Sequence[os.PathLike | str] | os.PathLike | str, **kwargs) -> DicomVolume:
        """Find the slices and their geometry (pixels are decoded in :meth:`get_data`)."""
        names = ensure_tuple(data)
        if len(names) != 1:
            raise ValueError(f"DicomVolumeReader reads one folder or file at a time, got {len(names)}.")
        path = os.fspath(names[0])
        p = check_file(path, folder_ok=True)
        if p.is_dir():
            datasets, files = self._scan_folder(p, path)
        else:
            datasets, files = [read_dicom(path)], [path]
            check_monochrome(datasets[0], path, what="a monochrome volume")
            check_pixel_module(datasets[0], path)
        frames = int(datasets[0].get("NumberOfFrames", 1) or 1) if len(datasets) == 1 else 0
        if self.require_3d and not p.is_dir() and frames == 1:
            raise SpineInputError(path, f"a single 2D DICOM image ({datasets[0].get('Rows')}×"
                                        f"{datasets[0].get('Columns')} pixels); a 3D volume (a series folder or a "
                                        "NIfTI) is expected")
        if frames > 1:
            vol = self._multiframe(datasets[0], files[0], path)
        else:
            vol = self._series(datasets, files, path)
        if self.require_3d and vol.shape[2] == 1:
            what = "one DICOM slice" if p.is_dir() else "a single 2D DICOM image"
            raise SpineInputError(
                path, f"{what} ({_dims(vol.shape[:2])} pixels); a 3D volume (a series folder or a NIfTI) is expected"
            )
        return vol

    def get_data(self, img: DicomVolume) -> tuple[np.ndarray, dict]:
        """Voxels ``(X, Y, Z)`` (modality LUT applied) and MONAI meta (see the class docstring)."""
        x, y, z = img.shape
        slices = []
        luts = set()
        if img.frames is not None:
            ds, f = img.datasets[0], img.files[0]
            arr, _ = decode_dicom_pixels(ds, f, modality_lut=False)  # rescale may differ per frame: below
            arr = arr.reshape(-1, y, x)
            slopes, intercepts = _frame_rescale(ds, arr.shape[0])
            for k in img.frames:
                s = arr[k]
                if slopes[k] != 1.0 or intercepts[k] != 0.0:
                    s = s.astype(np.float64) * slopes[k] + intercepts[k]
                    luts.add(f"modality LUT (RescaleSlope {slopes[k]:g}, RescaleIntercept {intercepts[k]:g})")
                slices.append(s.T)
        else:
            for ds, f in zip(img.datasets, img.files):
                s, lut = decode_dicom_pixels(ds, f)
                if s.shape != (y, x):
                    raise SpineInputError(f, f"pixel data of shape {s.shape}; {y}×{x} expected like the other slices")
                if lut:
                    luts.add(lut)
                slices.append(s.T)
        kinds = {s.dtype for s in slices}
        dtype = np.result_type(*kinds) if len(kinds) > 1 else slices[0].dtype
        vol = np.stack([s.astype(dtype, copy=False) for s in slices], axis=-1)
        notes = list(img.warnings)
        vol = check_finite_and_not_blank(vol, img.path, unit="voxels", notes=notes)
        ras = orientation_ras_lps(img.affine_lps)
        ds0 = img.datasets[0]
        meta = {
            "affine": ras,
            "original_affine": ras.copy(),
            "spatial_shape": np.asarray(vol.shape),
            "space": "RAS",
            "spacing": affine_to_spacing(ras, r=3),
            "original_channel_dim": float("nan"),
            "modality": str(ds0.get("Modality", "") or "unknown"),
            "series_instance_uid": str(ds0.get("SeriesInstanceUID", "") or ""),
            "series_description": str(ds0.get("SeriesDescription", "") or ""),
            "n_slices": int(vol.shape[2]),
            "intensity_applied": sorted(luts),
            "file_format": "DICOM",
            "warnings": notes,
        }
        return vol, meta

    # ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _scan_folder(folder: Path, path: str) -> tuple[list, list[str]]:
        """The DICOM images of a series folder (pydicom datasets) and their file names, checked to be one
        monochrome series; other files are skipped."""
        files = _folder_files(folder, path)
        images, names = _read_images(files)
        if not images:
            raise SpineInputError(path, f"no DICOM images in this folder ({len(files)} files, none a DICOM image)")
        _check_one_series(images, path)
        for ds, f in zip(images, names):
            check_monochrome(ds, f, what="a monochrome volume")
            check_pixel_module(ds, f)
        if len(images) > 1 and any(int(d.get("NumberOfFrames", 1) or 1) > 1 for d in images):
            raise SpineInputError(path, "several multi-frame DICOM files in one folder; pass one file or one series")
        return images, names

    @staticmethod
    def _series(datasets: list, files: list[str], path: str) -> DicomVolume:
        notes: list[str] = []
        ds0, f0 = datasets[0], files[0]
        rows, cols = int(ds0.get("Rows", 0) or 0), int(ds0.get("Columns", 0) or 0)
        iop0, _ = _plane(ds0, f0)
        row_sp, col_sp = _pixel_spacing(ds0, f0, notes)
        positions = []
        for ds, f in zip(datasets, files):
            if (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)) != (rows, cols):
                raise SpineInputError(
                    f, f"slice of {ds.get('Rows')}×{ds.get('Columns')} pixels; the series has {rows}×{cols}"
                )
            iop, ipp = _plane(ds, f)
            if np.abs(iop - iop0).max() > _ORIENT_TOL * 10:
                raise SpineInputError(f, "slice orientation differs from the rest of the series (a localizer?)")
            if ds is not ds0 and "PixelSpacing" in ds:
                rs, cs = _floats(ds.PixelSpacing, 2, "PixelSpacing", f)
                if abs(rs - row_sp) > 1e-4 or abs(cs - col_sp) > 1e-4:
                    raise SpineInputError(f, f"PixelSpacing {[rs, cs]} differs from the series' {[row_sp, col_sp]}")
            positions.append(ipp)
        single = 1.0
        if len(datasets) == 1 and ds0.get("SpacingBetweenSlices", None):
            sbs = float(ds0.SpacingBetweenSlices)
            single = sbs if np.isfinite(sbs) and sbs > 0 else 1.0
        order, a = _grid(iop0, np.asarray(positions), row_sp, col_sp, path, notes, single)
        return DicomVolume(
            path=path,
            datasets=[datasets[i] for i in order],
            files=[files[i] for i in order],
            frames=None,
            shape=(cols, rows, len(datasets)),
            affine_lps=a,
            warnings=notes,
        )

    @staticmethod
    def _multiframe(ds, f: str, path: str) -> DicomVolume:
        notes: list[str] = []
        n = int(ds.NumberOfFrames)
        per = ds.get("PerFrameFunctionalGroupsSequence", None)
        shared = (ds.get("SharedFunctionalGroupsSequence", None) or [None])[0]
        if not per or len(per) != n:
            raise SpineInputError(
                path,
                f"multi-frame DICOM ({n} frames) without per-frame positions (PerFrameFunctionalGroupsSequence): "
                "its 3D geometry is unknown",
            )

        def item(frame_item, seq):
            for group in (frame_item, shared):
                if group is not None and seq in group and len(group[seq].value):
                    return group[seq].value[0]
            return None

        iops, positions = [], []
        row_sp = col_sp = None
        for k, fi in enumerate(per):
            po = item(fi, "PlaneOrientationSequence")
            pp = item(fi, "PlanePositionSequence")
            pm = item(fi, "PixelMeasuresSequence")
            if po is None or pp is None or "ImageOrientationPatient" not in po or "ImagePositionPatient" not in pp:
                raise SpineInputError(
                    path, f"frame {k + 1} of {n} has no plane position/orientation: its place in 3D is unknown"
                )
            iops.append(_floats(po.ImageOrientationPatient, 6, "ImageOrientationPatient", path))
            positions.append(_floats(pp.ImagePositionPatient, 3, "ImagePositionPatient", path))
            if row_sp is None:
                row_sp, col_sp = _pixel_spacing(pm, path, notes) if pm is not None else _pixel_spacing(ds, path, notes)
        iops_a = np.asarray(iops)
        if np.abs(iops_a - iops_a[0]).max() > _ORIENT_TOL * 10:
            raise SpineInputError(path, "frames have different orientations; one volume is expected")
        order, a = _grid(iops_a[0], np.asarray(positions), row_sp, col_sp, path, notes, 1.0)
        return DicomVolume(
            path=path,
            datasets=[ds],
            files=[f],
            frames=[int(i) for i in order],
            shape=(int(ds.Columns), int(ds.Rows), n),
            affine_lps=a,
            warnings=notes,
        )


def _frame_rescale(ds, n: int) -> tuple[list[float], list[float]]:
    """Per-frame ``(slopes, intercepts)`` of a multi-frame file: its PixelValueTransformationSequence (per-frame,
    else shared functional group), else the top-level ``RescaleSlope``/``RescaleIntercept``, else ``(1, 0)``."""
    shared = (ds.get("SharedFunctionalGroupsSequence", None) or [None])[0]
    per = ds.get("PerFrameFunctionalGroupsSequence", None) or [None] * n
    top = (float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0))
    slopes, intercepts = [], []
    for fi in per:
        value = top
        for group in (fi, shared):
            if group is not None and "PixelValueTransformationSequence" in group:
                t = group.PixelValueTransformationSequence[0]
                value = (float(t.get("RescaleSlope", 1) or 1), float(t.get("RescaleIntercept", 0) or 0))
                break
        slopes.append(value[0])
        intercepts.append(value[1])
    return slopes, intercepts


class NiftiVolumeReader(NibabelReader):
    """MONAI's :class:`~monai.data.NibabelReader` for one 3D NIfTI volume, with monai-spine's input checks.

    Accepts shapes ``(X, Y, Z)`` and ``(X, Y, Z, 1, ...)``; refuses 4D series, 2D images (with ``require_3d``),
    NaN/infinite or blank voxels, and unreadable files, with a one-line :class:`SpineInputError`.
    ``meta`` is MONAI's (the NIfTI header, ``affine``/``original_affine`` voxel → RAS) plus ``file_format``
    (``"NIfTI"``) and ``warnings``.

    Args:
        require_3d: refuse images with fewer than 2 voxels along one of the 3 spatial axes.
    """

    def __init__(self, require_3d: bool = True, **kwargs):
        super().__init__(squeeze_non_spatial_dims=True, **kwargs)
        self.require_3d = require_3d

    def read(self, data: Sequence[os.PathLike | str] | os.PathLike | str, **kwargs):
        names = ensure_tuple(data)
        if len(names) != 1:
            raise ValueError(f"NiftiVolumeReader reads one file at a time, got {len(names)}.")
        path = os.fspath(names[0])
        img = load_nifti(path)
        shape = tuple(int(s) for s in img.header.get_data_shape())
        spatial = (shape + (1, 1, 1))[:3]
        if any(s > 1 for s in shape[3:]):
            raise SpineInputError(
                path, f"{len(shape)}D image ({_dims(shape)}) holds several volumes; a single 3D volume is expected"
            )
        check_image_size(shape, path, MAX_VOLUME_VOXELS, unit="voxels")
        if self.require_3d and min(spatial) < 2:
            kind = "2D image" if sorted(spatial)[1] > 1 else "image"
            raise SpineInputError(path, f"{kind} ({_dims(spatial)} voxels); a 3D volume is expected")
        if img.get_data_dtype().names is not None:
            raise SpineInputError(path, "RGB image (colour NIfTI datatype); a monochrome volume is expected")
        try:
            return super().read(path, **kwargs)  # MONAI: nibabel.load + correct_nifti_header_if_necessary
        except Exception as e:
            raise SpineInputError(path, f"not a readable NIfTI file ({one_line(e, 120)})") from e

    def get_data(self, img) -> tuple[np.ndarray, dict]:
        path = img.get_filename()
        try:
            arr, meta = super().get_data(img)
        except SpineInputError:
            raise
        except Exception as e:
            raise SpineInputError(path, f"truncated or damaged NIfTI file ({one_line(e, 120)})") from e
        arr = np.asarray(arr)
        if arr.ndim > 3:
            arr = arr.reshape(arr.shape[:3])
        while arr.ndim < 3:
            arr = arr[..., None]
        meta["original_channel_dim"] = float("nan")
        meta["spatial_shape"] = np.asarray(arr.shape)
        notes: list[str] = []
        arr = check_finite_and_not_blank(arr, path, unit="voxels", notes=notes)
        meta["file_format"] = "NIfTI"
        meta["warnings"] = notes
        return arr, meta


def volume_reader_for(path: os.PathLike | str, require_3d: bool = True) -> ImageReader:
    """The reader for ``path``: :class:`NiftiVolumeReader` for ``.nii``/``.nii.gz``, else :class:`DicomVolumeReader`."""
    return NiftiVolumeReader(require_3d=require_3d) if is_nifti_path(path) else DicomVolumeReader(require_3d=require_3d)
