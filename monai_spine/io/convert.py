"""DICOM → NIfTI: ``monai-spine convert INPUT OUTPUT.nii.gz``.

Volumes (a series folder, a single slice, an enhanced multi-frame file) keep their pixels, spacing, origin and
orientation: the NIfTI affine is the DICOM LPS geometry turned to RAS, so that a reader of the NIfTI (nibabel,
SimpleITK, MONAI) finds the same voxel → world mapping as a reader of the DICOM. Read with pydicom
(:class:`~monai_spine.io.volume.DicomVolumeReader`), written with nibabel; SimpleITK is only used by the tests, as
the reference.

2D projection images without patient geometry (DX/CR/DXA secondary captures: no ``ImagePositionPatient``) are
written in the 2D NIfTI convention of ``docs/inputs.md`` (shape ``(W, H, 1)``: voxel axis 0 along columns, axis 1
along rows, in the standard display, ``MONOCHROME1`` inverted; the affine maps axis 0 toward the patient's left, or
anterior for a lateral view, and axis 1 toward the feet), so that loading the NIfTI gives the same image as
loading the DICOM.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monai_spine.errors import SpineInputError, one_line

from .checks import check_file
from .dicom import element_int, read_dicom
from .files import atomic_path
from .nifti import is_nifti_path
from .radiograph import RadiographReader
from .volume import DicomVolumeReader

__all__ = ["convert", "compact_dtype"]

# RAS direction of each frame axis of a 2D image: (column axis, row axis, normal)
_FRAME_RAS = {
    "coronal": ((-1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),  # toward L, toward feet, anterior
    "lateral": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (-1.0, 0.0, 0.0)),  # toward A, toward feet, left
}


def compact_dtype(arr: np.ndarray) -> np.ndarray:
    """``arr`` in the smallest NIfTI dtype that holds every value exactly.

    Integer arrays are kept; float arrays of whole numbers become int16, uint16 or int32 when they fit; other
    float arrays become float32 when that is exact, else stay float64.
    """
    if arr.dtype.kind in "iub":
        return arr
    a = np.asarray(arr, dtype=np.float64)
    if np.isfinite(a).all() and np.array_equal(a, np.round(a)):
        lo, hi = a.min(), a.max()
        for t in (np.int16, np.uint16, np.int32):
            info = np.iinfo(t)
            if info.min <= lo and hi <= info.max:
                return a.astype(t)
    f32 = a.astype(np.float32)
    return f32 if np.array_equal(f32.astype(np.float64), a, equal_nan=True) else a


def _is_projection(path: Path) -> bool:
    """A single-frame DICOM file without patient geometry (a radiograph, a DXA export)."""
    ds = read_dicom(path, stop_before_pixels=True)
    frames = element_int(ds, "NumberOfFrames", path, 1)
    return frames <= 1 and ("ImagePositionPatient" not in ds or "ImageOrientationPatient" not in ds)


def _projection_frame(path: Path) -> str:
    ds = read_dicom(path, stop_before_pixels=True)
    po = [str(v).strip().upper()[:1] for v in (ds.get("PatientOrientation", None) or [])]
    return "lateral" if any(c in ("A", "P") for c in po) and not any(c in ("L", "R") for c in po) else "coronal"


def _standard_display(arr: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 2D image on its file grid ``(columns, rows)`` → the standard display of its frame, and its pixel spacing.

    ``affine`` (3 × 3, :class:`~monai_spine.io.RadiographReader`'s) maps the file grid to the frame's mm; the
    standard display is the flip/transpose whose affine is diagonal and positive (``docs/frames.md``), found with
    nibabel's orientation tools.
    """
    import nibabel as nib

    ornt = nib.orientations.io_orientation(affine)  # per file axis: (frame axis, ±1)
    spacing = np.empty(2)
    spacing[ornt[:, 0].astype(int)] = np.linalg.norm(affine[:2, :2], axis=0)
    return nib.orientations.apply_orientation(arr, ornt), spacing


def _projection_nifti(path: Path):
    import nibabel as nib

    frame = _projection_frame(path)
    reader = RadiographReader(frame=frame)
    arr, meta = reader.get_data(reader.read(path))
    image, (sc, sr) = _standard_display(np.asarray(arr, dtype=np.float64), np.asarray(meta["affine"], dtype=float))
    arr = compact_dtype(image)[:, :, None]  # (W, H, 1): ITK cannot read a 2D NIfTI whose plane is not xy
    axes = _FRAME_RAS[frame]
    affine = np.eye(4)
    affine[:3, 0] = np.asarray(axes[0]) * sc
    affine[:3, 1] = np.asarray(axes[1]) * sr
    affine[:3, 2] = axes[2]
    out = nib.Nifti1Image(arr, affine)
    out.header["descrip"] = f"monai-spine {frame} image".encode()[:79]
    return out


def _volume_nifti(path: Path):
    import nibabel as nib

    reader = DicomVolumeReader(require_3d=False)
    arr, meta = reader.get_data(reader.read(path))
    return nib.Nifti1Image(compact_dtype(arr), np.asarray(meta["affine"], dtype=np.float64))


def convert(input: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Convert a DICOM file or series folder to a NIfTI file with the same pixels, spacing, origin and orientation.

    Args:
        input: a DICOM file (single slice, enhanced multi-frame, or a 2D radiograph) or a folder holding one series.
        output: the NIfTI file to write, ending in ``.nii`` or ``.nii.gz``; its folder is created if needed; an
            existing file is replaced. Written to a temporary file in the same folder, then renamed: a failure
            leaves nothing behind.

    Returns:
        the output path.

    Raises:
        SpineInputError: unusable input (see ``docs/inputs.md``), an output name that is not NIfTI, an output that
            is the input, or an output that cannot be written.
    """
    src, dst = Path(os.fspath(input)).expanduser(), Path(os.fspath(output)).expanduser()
    if not is_nifti_path(dst):
        raise SpineInputError(output, "output name must end in .nii or .nii.gz")
    check_file(src, folder_ok=True)
    if dst.is_dir():
        raise SpineInputError(output, "is a folder; an output file name is expected")
    if dst.exists() and os.path.samefile(src, dst):
        raise SpineInputError(output, "is the input; choose another output file")
    if is_nifti_path(src):
        raise SpineInputError(input, "already a NIfTI file; convert reads DICOM")

    if src.is_file() and _is_projection(src):
        img = _projection_nifti(src)
    else:
        img = _volume_nifti(src)
    img.header.set_xyzt_units("mm")
    img.set_sform(img.affine, code=1)  # scanner-based: the DICOM patient coordinates
    img.set_qform(img.affine, code=1)

    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dst) as tmp:
            img.to_filename(tmp)
    except OSError as e:
        raise SpineInputError(output, f"cannot write the output ({one_line(e.strerror or e, 120)})") from e
    return dst
