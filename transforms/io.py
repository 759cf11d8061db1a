"""Loading transforms: 2D projection images and 3D volumes as MetaTensors in the frames of ``docs/frames.md``.

Array transforms take a path and return a :class:`~monai.data.MetaTensor`; the dictionary forms (suffix ``d``)
load the paths stored under ``keys``. Bad input raises :class:`monai_spine.errors.SpineInputError`
(``"<path>: <problem>"``, one line).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import DtypeLike, KeysCollection
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.transforms import EnsureChannelFirst, MapTransform, Orientation, Transform
from monai.utils import ensure_tuple_rep
from monai.utils.enums import TransformBackends

from monai_spine.io.radiograph import FRAME_AXCODES, FRAME_LABELS, FRAMES, RadiographReader, describe_orientation
from monai_spine.io.volume import volume_reader_for

__all__ = [
    "LoadRadiograph",
    "LoadRadiographd",
    "LoadRadiographD",
    "LoadRadiographDict",
    "LoadVolume",
    "LoadVolumed",
    "LoadVolumeD",
    "LoadVolumeDict",
    "PATIENT_AXCODES",
    "RAS_LABELS",
]

#: axis codes of the **patient volume frame**: voxel axes toward the left, anterior, the feet
PATIENT_AXCODES = "LAI"
#: MONAI's labels for an affine to RAS world: (toward negative, toward positive) of each world axis
RAS_LABELS = (("L", "R"), ("P", "A"), ("I", "S"))


def _to_metatensor(arr: np.ndarray, meta: dict, filename, dtype: DtypeLike) -> MetaTensor:
    """What ``monai.transforms.LoadImage`` does after ``reader.get_data``: dtype, ``filename_or_obj``, channel first."""
    meta["filename_or_obj"] = os.fspath(filename)
    arr = np.ascontiguousarray(arr, dtype=dtype) if dtype is not None else np.ascontiguousarray(arr)
    img = MetaTensor.ensure_torch_and_prune_meta(arr, meta)
    return EnsureChannelFirst(channel_dim="no_channel")(img)


class LoadRadiograph(Transform):
    """Load one 2D projection image (DICOM or 2D NIfTI) in the standard display of its frame.

    Reads with :class:`monai_spine.io.RadiographReader` (the file's pixels and their file-grid affine) and puts
    them in the standard display with MONAI ``Orientation`` (so the flip/transpose is recorded in
    ``applied_operations`` and invertible): coronal, patient's right at column 0 and head at row 0; lateral,
    anterior toward increasing columns and head at row 0.

    Returns:
        ``MetaTensor`` of shape ``(1, W, H)`` = (channel, column, row), float32 by default; ``affine`` 3×3
        ``diag(column spacing, row spacing, 1)`` from ``(column, row, 1)`` to ``(x, z, 1)`` mm (coronal) or
        ``(y, z, 1)`` mm (lateral): the one source of the spacing, read it with MONAI's
        ``affine_to_spacing(img.affine, r=2)`` (it stays true through resampling). ``meta``:

        - ``frame``: ``"coronal"`` or ``"lateral"``;
        - ``spacing_source``: ``"PixelSpacing"``, ``"ImagerPixelSpacing"``,
          ``"ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor"``, ``"NominalScannedPixelSpacing"``,
          ``"NIfTI header"`` or ``"none"`` (1.0 mm assumed, with a warning);
        - ``orientation_applied``: operations done on the file's grid, in order, from ``"flip columns"``,
          ``"flip rows"``, ``"transpose"``; ``[]`` when the file was already in the standard display;
        - ``patient_orientation`` (the tag as read), ``modality``, ``photometric_interpretation``,
          ``intensity_applied`` (modality LUT, MONOCHROME1 inversion), ``file_format``, ``file_spacing_mm``,
          ``warnings`` (list of str, also emitted as ``UserWarning``);
        - MONAI's ``filename_or_obj``, ``affine``, ``original_affine`` (the file grid → frame mm),
          ``spatial_shape``, ``original_channel_dim``.

    Args:
        frame: ``"coronal"`` (AP/PA radiograph, DXA; the default) or ``"lateral"``.
        dtype: data type of the output, float32 by default; ``None`` keeps float32 from the reader.
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(self, frame: str = "coronal", dtype: DtypeLike = np.float32) -> None:
        if frame not in FRAMES:
            raise ValueError(f"frame must be one of {FRAMES}, got {frame!r}.")
        self.frame = frame
        self.dtype = dtype
        self.reader = RadiographReader(frame=frame)
        self.orientation = Orientation(axcodes=FRAME_AXCODES[frame], labels=FRAME_LABELS[frame])

    def __call__(self, filename: str | os.PathLike) -> MetaTensor:
        """Load ``filename``; see the class docstring for the output."""
        arr, meta = self.reader.get_data(self.reader.read(filename))
        img = _to_metatensor(arr, meta, filename, self.dtype)
        file_affine = np.asarray(meta["original_affine"], dtype=float)
        img = self.orientation(img)
        if not isinstance(img, MetaTensor):  # meta tracking switched off
            return img
        a = img.affine.numpy()
        spacing = affine_to_spacing(a, r=2)
        standard = np.diag([*spacing, 1.0])
        if not np.allclose(a, standard, atol=1e-6 * max(spacing)):
            raise RuntimeError(f"orientation of {filename} gave affine {a.tolist()}, expected {standard.tolist()}")
        img.affine = torch.as_tensor(standard, dtype=torch.float64)
        img.meta["orientation_applied"] = describe_orientation(file_affine)
        return img


class LoadRadiographd(MapTransform):
    """Dictionary form of :class:`LoadRadiograph`: replaces the path under each key by the loaded image.

    Args:
        keys: keys of the paths to load.
        frame: one frame for all keys, or one per key, e.g. ``keys=("ap", "lateral"), frame=("coronal", "lateral")``.
        dtype: data type of the output images.
        allow_missing_keys: skip keys that are absent instead of raising ``KeyError``.
        frame_key: key of each item's own frame (``"coronal"`` or ``"lateral"``), for datalists that mix views, e.g.
            :func:`monai_spine.segmentation.load_radiograph_datalist`; when the item has it, it overrides ``frame``.
    """

    backend = LoadRadiograph.backend

    def __init__(
        self,
        keys: KeysCollection,
        frame: str | Sequence[str] = "coronal",
        dtype: DtypeLike = np.float32,
        allow_missing_keys: bool = False,
        frame_key: str | None = None,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.frame = ensure_tuple_rep(frame, len(self.keys))
        self.frame_key = frame_key
        self._loaders = {f: LoadRadiograph(frame=f, dtype=dtype) for f in FRAMES}
        for f in self.frame:
            self._check(f)

    def __call__(self, data: Mapping[Hashable, str | os.PathLike]) -> dict[Hashable, MetaTensor]:
        d = dict(data)
        for key, frame in self.key_iterator(d, self.frame):
            frame = self._check(d.get(self.frame_key, frame) if self.frame_key is not None else frame)
            d[key] = self._loaders[frame](d[key])
        return d

    @staticmethod
    def _check(frame: str) -> str:
        if frame not in FRAMES:
            raise ValueError(f"frame must be one of {FRAMES}, got {frame!r}.")
        return frame


class LoadVolume(Transform):
    """Load a 3D volume (NIfTI file, DICOM series folder or multi-frame DICOM file) in the patient volume frame.

    Reads with :func:`monai_spine.io.volume_reader_for` (MONAI ``NibabelReader`` with checks, or
    :class:`monai_spine.io.DicomVolumeReader`) and reorients with MONAI ``Orientation(axcodes="LAI")``: voxel
    axis 0 toward the patient's left, 1 toward anterior, 2 toward the feet.

    Returns:
        ``MetaTensor`` of shape ``(1, X, Y, Z)``, float32 by default; ``affine`` (4×4) MONAI's true voxel → RAS
        world mapping in mm, updated by the reorientation: the one source of the voxel spacing, read it with MONAI's
        ``affine_to_spacing(img.affine, r=3)``. ``meta``: ``frame`` (``"patient"``), ``warnings`` (list of str),
        ``file_format``; and MONAI's
        ``filename_or_obj``, ``original_affine`` (the file's own voxel → RAS), ``space`` (``"RAS"``),
        ``spatial_shape``, plus the reader's header fields.

    Args:
        dtype: data type of the output, float32 by default.
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(self, dtype: DtypeLike = np.float32) -> None:
        self.dtype = dtype
        self.orientation = Orientation(axcodes=PATIENT_AXCODES, labels=RAS_LABELS)

    def __call__(self, filename: str | os.PathLike) -> MetaTensor:
        """Load ``filename`` (a file or a series folder); see the class docstring for the output."""
        reader = volume_reader_for(filename, require_3d=True)
        arr, meta = reader.get_data(reader.read(filename))
        meta.setdefault("warnings", [])
        img = _to_metatensor(arr, meta, filename, self.dtype)
        img = self.orientation(img)
        if not isinstance(img, MetaTensor):
            return img
        img.meta["frame"] = "patient"
        return img


class LoadVolumed(MapTransform):
    """Dictionary form of :class:`LoadVolume`.

    Args:
        keys: keys of the paths (files or series folders) to load.
        dtype: data type of the output volumes.
        allow_missing_keys: skip keys that are absent instead of raising ``KeyError``.
    """

    backend = LoadVolume.backend

    def __init__(self, keys: KeysCollection, dtype: DtypeLike = np.float32, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadVolume(dtype=dtype)

    def __call__(self, data: Mapping[Hashable, str | os.PathLike]) -> dict[Hashable, MetaTensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key])
        return d


LoadRadiographD = LoadRadiographDict = LoadRadiographd
LoadVolumeD = LoadVolumeDict = LoadVolumed
