"""Regressor training pairs from rendered studies' truth: the DXA crop and ``targets.json`` of the cohort builder,
with the six curves taken from ``truth.json`` instead of an aligned DXA ↔ MRI pair (``docs/cohort.md``).

``phantom`` and ``drr`` studies know their curves exactly; ``tests/test_cohort_truth.py`` checks that these targets
agree with the ones the cohort builder makes from the same study's DXA and MRI masks, so the regressor can learn
from any number of rendered studies without an alignment each.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from functools import partial
from pathlib import Path

import numpy as np

from monai_spine.errors import SpineInputError
from monai_spine.geometry import CURVE_NAMES, CropFrame, SpineCurves
from monai_spine.io.files import atomic_write_text, json_text
from monai_spine.workers import map_single_threaded

from .crop import CROP_PIXEL_MM, crop_image, save_crop, spine_outside_crop
from .pair import PARTIAL_PREFIX
from .targets import curves_in_crop, targets_document

__all__ = ["truth_curves", "build_truth_pair", "build_truth_cohort"]

_SPLITS = ("training", "validation", "test")


def truth_curves(truth_path: str | os.PathLike) -> SpineCurves:
    """The six DXA curves of a rendered study's ``truth.json`` (``curves.dxa``), DXA frame mm, relative depth.

    Raises:
        SpineInputError: no such file, not JSON, or no DXA curves in it.
    """
    path = Path(truth_path)
    try:
        curves = json.loads(path.read_text(encoding="utf-8"))["curves"]["dxa"]
        array = np.array([curves[name] for name in CURVE_NAMES], dtype=np.float64)
        return SpineCurves.from_array(array).with_relative_depth()
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SpineInputError(path, f"no DXA truth curves ({type(err).__name__}: {err})") from None


def build_truth_pair(entry: dict, pairs_dir: str | os.PathLike, crop_pixel_mm: float = CROP_PIXEL_MM) -> dict:
    """One study's ``pairs_dir/<id>/dxa_crop.nii.gz`` and ``targets.json`` from its DXA and truth.

    Args:
        entry: ``{"id", "dxa", "truth"}``, absolute paths (a ``phantom`` / ``drr`` datalist entry).
        pairs_dir: the cohort's ``pairs/`` folder (exists).
        crop_pixel_mm: crop pixel size (:data:`~monai_spine.cohort.crop.CROP_PIXEL_MM`).

    Returns:
        the datalist entry ``{"id", "image", "targets", "scoliotic"}`` (paths relative to the cohort folder).

    Raises:
        SpineInputError: unreadable input, or the spine does not fit in the crop.
    """
    from monai_spine.transforms import LoadRadiograph

    curves = truth_curves(entry["truth"])
    frame = CropFrame.around(curves.coronal_centre, crop_pixel_mm)
    outside = spine_outside_crop(np.stack(list(curves_in_crop(curves, frame).values())[:3]), frame)
    if outside > 0:
        raise SpineInputError(entry["truth"], f"the spine reaches {outside * crop_pixel_mm:.0f} mm beyond the crop")
    dxa = LoadRadiograph()(entry["dxa"])
    document = targets_document(entry["id"], curves, frame, {"dxa": entry["dxa"], "truth": entry["truth"],
                                                            "masks": "truth"})
    folder = Path(pairs_dir) / entry["id"]
    staging = folder.with_name(f"{PARTIAL_PREFIX}{entry['id']}-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        save_crop(staging / "dxa_crop.nii.gz", crop_image(dxa, frame), frame)
        (staging / "targets.json").write_text(json_text(document), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"id": entry["id"], "image": f"pairs/{entry['id']}/dxa_crop.nii.gz",
            "targets": f"pairs/{entry['id']}/targets.json", "scoliotic": document["scoliotic"]}


def _entries(datalist: Path, prefix: str) -> dict[str, list[dict]]:
    """``{split: [{"id", "dxa", "truth"}]}`` of a ``phantom`` / ``drr`` datalist, absolute paths, ids prefixed."""
    try:
        document = json.loads(datalist.read_text(encoding="utf-8"))
        return {split: [{"id": prefix + e["id"], "dxa": os.fspath(datalist.parent / e["dxa"]),
                         "truth": os.fspath(datalist.parent / e["truth"])} for e in document.get(split, [])]
                for split in _SPLITS}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SpineInputError(datalist, f"not a datalist of studies with dxa and truth ({err})") from None


def build_truth_cohort(datalists, out: str | os.PathLike, crop_pixel_mm: float = CROP_PIXEL_MM,
                       workers: int = 1) -> dict:
    """Regressor pairs of every study of ``phantom`` / ``drr`` datalists, each study keeping its split.

    Args:
        datalists: ``dataset.json`` files whose entries have ``id``, ``dxa`` and ``truth``. With more than one,
            each id is prefixed with its datalist's folder name (``drr`` writes ``study_0000`` in every folder).
        out: the cohort folder: ``pairs/<id>/`` and ``dataset.json`` (``{"id", "image", "targets", "scoliotic"}``
            per entry, as :func:`~monai_spine.cohort.build_cohort` writes it).
        crop_pixel_mm: crop pixel size.
        workers: processes.

    Returns:
        the datalist written; studies whose spine does not fit are left out and listed under ``"rejected"``.
    """
    out = Path(out)
    (out / "pairs").mkdir(parents=True, exist_ok=True)
    by_split = {split: [] for split in _SPLITS}
    datalists = [Path(d) for d in datalists]
    for datalist in datalists:
        prefix = f"{datalist.parent.name}_" if len(datalists) > 1 else ""
        for split, entries in _entries(datalist, prefix).items():
            by_split[split] += entries
    todo = [(split, entry) for split, entries in by_split.items() for entry in entries]
    results = map_single_threaded(partial(_pair_or_error, pairs_dir=out / "pairs", crop_pixel_mm=crop_pixel_mm),
                                  [entry for _, entry in todo], workers)
    document = {"description": "regressor pairs with targets from the studies' truth", **{s: [] for s in _SPLITS},
                "rejected": []}
    for (split, _), result in zip(todo, results):
        document["rejected" if "reason" in result else split].append(result)
    atomic_write_text(out / "dataset.json", json_text(document))
    return document


def _pair_or_error(entry: dict, pairs_dir: Path, crop_pixel_mm: float) -> dict:
    try:
        return build_truth_pair(entry, pairs_dir, crop_pixel_mm)
    except SpineInputError as err:
        return {"id": entry["id"], "reason": str(err)}
