"""One DXA ↔ MRI pair → the regressor's training files, written all at once (``docs/cohort.md``).

:func:`build_pair` loads the pair, gets its spine masks, aligns the MRI to the DXA and, when the alignment is
accepted, writes ``pairs/<id>/dxa_crop.nii.gz``, ``targets.json`` and ``alignment.json``; a rejected pair gets
``alignment.json`` and ``rejection.json``. Everything is written in a private folder renamed to ``pairs/<id>/``
at the end, so ``pairs/<id>/`` exists only complete. A pair that cannot be read fails: nothing is written and
the failure is returned (a later build tries it again).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from monai.data.utils import affine_to_spacing

from monai_spine.errors import SpineInputError, one_line
from monai_spine.geometry import CropFrame, check_spine_fill
from monai_spine.io.files import as_plain

from .crop import CROP_PIXEL_MM, crop_image, save_crop, spine_outside_crop
from .sources import PairSource
from .targets import curves_in_crop, pair_curves, targets_document

if TYPE_CHECKING:
    from monai_spine.registration import AlignmentConfig

__all__ = ["STATUSES", "PARTIAL_PREFIX", "PairSettings", "PairResult", "build_pair", "read_pair"]

STATUSES = ("accepted", "rejected", "failed")
"""``accepted``: training files written; ``rejected``: the pair cannot be trusted (alignment or crop check);
``failed``: the pair could not be read or processed."""

PARTIAL_PREFIX = ".partial-"
"""Prefix of the private folders a pair is written into before it is renamed."""


def _registration():
    """``monai_spine.registration`` (SimpleITK), imported when a pair is registered: the truth cohort
    (:mod:`.truth`), which registers nothing, then runs where SimpleITK is not installed (a GPU training machine)."""
    import monai_spine.registration

    return monai_spine.registration


@dataclass(frozen=True)
class PairSettings:
    """How every pair of a cohort is built.

    Args:
        alignment: settings of :func:`~monai_spine.registration.align_pair`.
        crop_pixel_mm: side of a crop pixel, mm (:data:`~monai_spine.cohort.crop.CROP_PIXEL_MM`); with
            ``crop_spine_fill`` its largest value.
        use_given_masks: use the pairs' own spine masks (phantoms, tests) instead of segmenting the images.
        crop_spine_fill: the share of the crop's rows the spine fills (the regressor bundle's
            ``crop_spine_fill``, :meth:`~monai_spine.geometry.CropFrame.around`); ``None``: a fixed pixel size.
    """

    alignment: AlignmentConfig = field(default_factory=lambda: _registration().AlignmentConfig())
    crop_pixel_mm: float = CROP_PIXEL_MM
    use_given_masks: bool = False
    crop_spine_fill: float | None = None

    def __post_init__(self):
        if not self.crop_pixel_mm > 0:
            raise ValueError(f"the crop pixel size must be positive, got {self.crop_pixel_mm} mm.")
        check_spine_fill(self.crop_spine_fill, "crop_spine_fill")

    def to_dict(self) -> dict:
        """JSON-ready settings (``cohort.json``)."""
        return as_plain(asdict(self))


@dataclass(frozen=True)
class PairResult:
    """What became of one pair.

    Args:
        id: the pair's id.
        status: one of :data:`STATUSES`.
        stage: where it stopped: ``load``, ``masks``, ``alignment``, ``targets`` or ``crop``; ``""`` if accepted.
        reason: one line; ``""`` if accepted.
        scoliotic: the accepted pair's ``scoliotic`` flag, else ``None``.
        seconds: time spent building it in this run (0 for a pair finished before).
    """

    id: str
    status: str
    stage: str = ""
    reason: str = ""
    scoliotic: bool | None = None
    seconds: float = 0.0


def error_line(err: Exception) -> str:
    """An exception as one line: ``SpineInputError`` as ``"<path>: <problem>"``, others prefixed by their type."""
    text = one_line(err, limit=1000)
    return text if isinstance(err, SpineInputError) else f"{type(err).__name__}: {text}"


def _masks(source: PairSource, dxa, mri, use_given: bool):
    """The DXA and MRI spine masks on the images' grids: the given files, or segmented with the bundles."""
    from monai_spine.io.checks import check_same_grid
    from monai_spine.transforms import LoadRadiograph, LoadVolume

    if use_given:
        for what, path in (("DXA", source.dxa_mask), ("MRI", source.mri_mask)):
            if path is None:
                raise SpineInputError(source.dxa if what == "DXA" else source.mri,
                                      f"no {what} spine mask given for this pair (use-given-masks)")
        masks = LoadRadiograph()(source.dxa_mask), LoadVolume()(source.mri_mask)
        paths = source.dxa_mask, source.mri_mask
    else:
        from monai_spine.segmentation import segment_dxa, segment_mri

        masks = segment_dxa(dxa), segment_mri(mri)
        paths = source.dxa, source.mri
    for mask, image, path in zip(masks, (dxa, mri), paths):
        check_same_grid(mask, image, path)
    return masks


def _write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _inputs(source: PairSource, dxa, mri, use_given: bool) -> dict:
    return {
        "dxa": source.dxa,
        "mri": source.mri,
        "masks": "given" if use_given else "segmented",
        "dxa_pixel_mm": affine_to_spacing(dxa.affine, r=2).tolist(),
        "mri_spacing_mm": affine_to_spacing(mri.affine, r=3).tolist(),
    }


def _write_pair(stage: Path, source: PairSource, dxa, mri, dxa_mask, mri_mask, alignment,
                settings: PairSettings) -> tuple[str, str, bool | None]:
    """Write the pair's files into ``stage``; return ``(stage name, reason, scoliotic)`` (reason ``""`` if accepted)."""
    _write_json(stage / "alignment.json", alignment.to_dict())
    if not alignment.accepted:
        return "alignment", alignment.reason, None
    if alignment.warnings:  # the targets would describe part of the spine as if it were all of it
        return "alignment", "; ".join(alignment.warnings), None
    curves = pair_curves(dxa_mask, mri_mask, alignment.matrix_mri_to_dxa)
    frame = CropFrame.around(curves.coronal_centre, settings.crop_pixel_mm, spine_fill=settings.crop_spine_fill)
    outside = spine_outside_crop(np.stack(list(curves_in_crop(curves, frame).values())[:3]), frame)
    if outside > 0:
        return "crop", (f"the spine reaches {outside * frame.pixel_mm:.0f} mm beyond the {frame.size} × "
                        f"{frame.pixel_mm:g} mm crop; use a larger crop pixel size"
                        + (" or a smaller crop fill" if settings.crop_spine_fill else "")), None
    document = targets_document(source.id, curves, frame, _inputs(source, dxa, mri, settings.use_given_masks))
    save_crop(stage / "dxa_crop.nii.gz", crop_image(dxa, frame), frame)
    _write_json(stage / "targets.json", document)
    return "", "", document["scoliotic"]


def build_pair(source: PairSource, pairs_dir: str | os.PathLike, settings: PairSettings | None = None) -> PairResult:
    """Build one pair into ``pairs_dir/<id>/``; never raises for a bad pair.

    Args:
        source: the pair's files.
        pairs_dir: the cohort's ``pairs/`` folder (exists).
        settings: masks, alignment and crop settings (default :class:`PairSettings()`).

    Returns:
        :class:`PairResult`: ``accepted`` (``dxa_crop.nii.gz``, ``targets.json``, ``alignment.json`` written),
        ``rejected`` by the alignment's checks or because the spine does not fit in the crop (``alignment.json``
        and ``rejection.json`` written), or ``failed`` with the stage and a one-line reason (nothing written).
    """
    from monai_spine.transforms import LoadRadiograph, LoadVolume

    settings = settings or PairSettings()
    start = time.perf_counter()
    pairs_dir = Path(pairs_dir)
    stage_name = "load"
    staging = pairs_dir / f"{PARTIAL_PREFIX}{source.id}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        dxa, mri = LoadRadiograph()(source.dxa), LoadVolume()(source.mri)
        stage_name = "masks"
        dxa_mask, mri_mask = _masks(source, dxa, mri, settings.use_given_masks)
        stage_name = "alignment"
        alignment = _registration().align_pair(dxa_mask, mri_mask, settings.alignment, dxa_image=dxa, mri_image=mri)
        stage_name = "targets"
        stage_name, reason, scoliotic = _write_pair(staging, source, dxa, mri, dxa_mask, mri_mask, alignment, settings)
        status = "rejected" if reason else "accepted"
        if reason:
            _write_json(staging / "rejection.json", {"id": source.id, "status": status, "stage": stage_name,
                                                     "reason": reason})
        os.rename(staging, pairs_dir / source.id)
    except Exception as err:
        shutil.rmtree(staging, ignore_errors=True)
        return PairResult(source.id, "failed", stage_name, error_line(err), None, time.perf_counter() - start)
    return PairResult(source.id, status, stage_name, reason, scoliotic, time.perf_counter() - start)


def read_pair(pairs_dir: str | os.PathLike, pair_id: str) -> PairResult | None:
    """The result of a pair finished by an earlier build (``pairs_dir/<id>/`` exists), else ``None``."""
    folder = Path(pairs_dir) / pair_id
    if (folder / "rejection.json").is_file():
        record = json.loads((folder / "rejection.json").read_text(encoding="utf-8"))
        return PairResult(pair_id, record["status"], record["stage"], record["reason"])
    if (folder / "targets.json").is_file():
        return PairResult(pair_id, "accepted", scoliotic=json.loads((folder / "targets.json").read_text())["scoliotic"])
    return None
