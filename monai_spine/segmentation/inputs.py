"""The images a segmentation bundle reads: every valid file in a folder, and MONAI datalists for training."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from monai_spine.errors import SpineInputError
from monai_spine.io import RadiographReader
from monai_spine.io.nifti import is_nifti_path
from monai_spine.io.volume import volume_reader_for

__all__ = ["RADIOGRAPH_VIEWS", "find_images", "load_datalist", "load_radiograph_datalist"]

RADIOGRAPH_VIEWS = {"ap": "coronal", "lateral": "lateral"}
"""The radiograph views of a bi-planar study and the frame each is loaded in (``docs/frames.md``)."""

_SKIPPED_NAMES = ("DICOMDIR",)


def _candidates(folder: Path, ndim: int) -> list[Path]:
    """Files (2D) or files and DICOM series folders (3D) directly in ``folder``, hidden ones left out."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in _SKIPPED_NAMES:
            continue
        if path.is_file() or (ndim == 3 and path.is_dir() and not is_nifti_path(path)):
            out.append(path)
    return out


def _check(path: Path, ndim: int) -> None:
    """Raise :class:`SpineInputError` unless ``path`` reads as a ``ndim``-D image (headers and pixels for 2D)."""
    if ndim == 2:
        reader = RadiographReader()
        reader.get_data(reader.read(path))
    else:
        volume_reader_for(path, require_3d=True).read(path)


def find_images(dataset_dir: str | os.PathLike, ndim: int, key: str = "image") -> list[dict[str, str]]:
    """The inference datalist of a segmentation bundle: ``[{key: path}, ...]`` for every readable image.

    2D (DXA): each DICOM or 2D NIfTI file in ``dataset_dir``. 3D (MRI): each NIfTI volume, multi-frame DICOM file
    or DICOM series folder in ``dataset_dir``. A file that is not such an image is skipped with a one-line
    warning naming it and the problem, so one bad file never stops a batch.

    Raises:
        SpineInputError: ``dataset_dir`` does not exist or holds no usable image.
    """
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim}.")
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise SpineInputError(folder, "no such folder")
    found, skipped = [], []
    for path in _candidates(folder, ndim):
        try:
            _check(path, ndim)
        except SpineInputError as err:
            skipped.append(str(err))
            warnings.warn(f"skipped {err}", stacklevel=2)
            continue
        found.append({key: os.fspath(path)})
    if not found:
        detail = f" ({len(skipped)} skipped: {skipped[0]}{' ...' if len(skipped) > 1 else ''})" if skipped else ""
        raise SpineInputError(folder, f"no {'2D image' if ndim == 2 else '3D volume'} to segment{detail}")
    return found


def load_datalist(
    datalist: str | os.PathLike,
    split: str,
    keys: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike | None = None,
    optional_keys: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """One split of a MONAI datalist as ``[{key: absolute path, ...}, ...]``, the entries' keys renamed by ``keys``.

    Works with the phantom's ``dataset.json`` (``keys={"image": "dxa", "label": "dxa_spine"}`` or ``"mri"`` /
    ``"mri_spine"``) and with any MONAI (Decathlon-style) datalist whose entries name their files under other
    keys; relative paths are taken from ``base_dir`` (default: the datalist's folder).

    Args:
        datalist: path of the JSON file.
        split: ``"training"``, ``"validation"`` or ``"test"``.
        keys: ``{key the bundle's transforms use: key of the entries}``; default ``{"image": "image", "label":
            "label"}``. Every entry must have every key named here.
        base_dir: folder of relative paths.
        optional_keys: like ``keys``, for files that only some entries have (e.g. a ``drr`` study's tissue label
            map, ``mri_tissues``): taken where an entry has them.
    """
    keys = {"image": "image", "label": "label"} if keys is None else keys
    path = Path(datalist)
    try:
        with open(path) as f:
            entries = json.load(f)[split]
    except (OSError, ValueError) as err:
        raise SpineInputError(path, f"not a readable datalist ({err})") from None
    except KeyError:
        raise SpineInputError(path, f"datalist has no {split!r} split") from None
    base = Path(base_dir) if base_dir is not None else path.parent
    out = []
    for i, entry in enumerate(entries):
        missing = [k for k in keys.values() if k not in entry]
        if missing:
            raise SpineInputError(path, f"{split} entry {i} has no {', '.join(missing)}")
        named = {**keys, **{name: k for name, k in (optional_keys or {}).items() if k in entry}}
        out.append({name: os.fspath(base / entry[k]) for name, k in named.items()})
    return out


def load_radiograph_datalist(
    datalist: str | os.PathLike,
    split: str,
    views: Sequence[str] = tuple(RADIOGRAPH_VIEWS),
    base_dir: str | os.PathLike | None = None,
) -> list[dict[str, str]]:
    """One split of a bi-planar datalist as image/label pairs of every view: ``[{"image", "label", "frame",
    "view"}, ...]``, the radiograph bundle's training data.

    Each study entry (``monai-spine phantom --modalities biplanar`` or ``monai-spine drr``) names a radiograph and
    its spine mask per view (``"ap"``/``"ap_spine"``, ``"lateral"``/``"lateral_spine"``); it gives one pair per
    view in ``views`` (:func:`load_datalist` with those keys), with the view's frame (:data:`RADIOGRAPH_VIEWS`) for
    ``LoadRadiographd(frame_key="frame")``. AP pairs come first, then lateral ones.
    """
    unknown = [v for v in views if v not in RADIOGRAPH_VIEWS]
    if unknown:
        raise ValueError(f"views must be in {tuple(RADIOGRAPH_VIEWS)}, got {unknown}.")
    return [
        dict(pair, frame=RADIOGRAPH_VIEWS[view], view=view)
        for view in views
        for pair in load_datalist(datalist, split, {"image": view, "label": f"{view}_spine"}, base_dir)
    ]
