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
import zlib
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
from monai.data.utils import affine_to_spacing
from monai.transforms import SpatialCrop

from monai_spine.errors import SpineInputError
from monai_spine.geometry import CURVE_NAMES, CropFrame, HeightFrame, SpineCurves
from monai_spine.io.files import atomic_write_text, json_text
from monai_spine.workers import map_single_threaded

from .crop import CROP_PIXEL_MM, crop_image, save_crop, spine_outside_crop
from .pair import PARTIAL_PREFIX
from .targets import curves_in_crop, targets_document

__all__ = ["FieldOfView", "truth_curves", "cut_field_of_view", "random_field_of_view", "build_truth_pair",
           "build_truth_cohort"]

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


@dataclass(frozen=True)
class FieldOfView:
    """A clinical image's field of view over a whole-spine study: the spine kept from share ``top`` to share
    ``bottom`` of its length (from its top), the image rows ``margin_above_mm`` and ``margin_below_mm`` beyond, and,
    with ``width_mm``, only the columns of a band that wide centred on the kept spine (a lumbar DXA's narrow scan).
    """

    top: float
    bottom: float
    margin_above_mm: float = 10.0
    margin_below_mm: float = 10.0
    width_mm: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready (``targets.json``'s ``inputs``)."""
        return asdict(self)


def cut_field_of_view(image, curves: SpineCurves, field: FieldOfView):
    """A whole-spine DXA and its truth as an image with a smaller ``field`` of view would show them.

    Args:
        image: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it.
        curves: its six curves, DXA frame mm (relative depth).
        field: what is kept.

    Returns:
        ``(image, curves)``: the image's kept rows (and columns), and the curves resampled at the heights of the
        kept spine with their own relative depth, in the cut image's frame (its first kept pixel at 0 mm), as
        ``drr`` writes the truth of a CT that holds part of the spine.
    """
    if not 0.0 <= field.top < field.bottom <= 1.0:
        raise ValueError(f"need 0 <= top < bottom <= 1, got {field.top}, {field.bottom}.")
    spacing = affine_to_spacing(image.affine, r=2).numpy()
    z_top, z_bottom = float(curves.coronal_centre[0, 1]), float(curves.coronal_centre[-1, 1])
    kept = HeightFrame(z_top + field.top * (z_bottom - z_top), z_top + field.bottom * (z_bottom - z_top))
    first = [0, max(0, int((kept.z_top - field.margin_above_mm) // spacing[1]))]
    last = [image.shape[1], min(image.shape[2], int(np.ceil((kept.z_bottom + field.margin_below_mm) / spacing[1])))]
    if field.width_mm is not None:
        centre = float(np.mean(kept.values(curves.coronal_centre)))
        first[0] = max(0, int((centre - field.width_mm / 2) // spacing[0]))
        last[0] = min(image.shape[1], int(np.ceil((centre + field.width_mm / 2) / spacing[0])))
    cut = SpatialCrop(roi_start=first, roi_end=last)(image)
    shifted = curves.to_array() - np.asarray(first) * spacing
    heights = HeightFrame(kept.z_top - first[1] * spacing[1], kept.z_bottom - first[1] * spacing[1])
    resampled = np.stack([heights.curve(heights.values(curve)) for curve in shifted])
    return cut, SpineCurves.from_array(resampled).with_relative_depth()


def random_field_of_view(rng: np.random.Generator) -> FieldOfView:
    """A field of view as clinical images cut the spine: lumbar (the spine's lower end kept; half the draws),
    cervico-thoracic (its upper end) or thoraco-lumbar (a middle stretch), 30–70 % of the spine kept, margins
    5–60 mm, and in half the draws a band 150–400 mm wide."""
    share = rng.uniform(0.3, 0.7)
    kind = rng.choice(["lumbar", "chest", "middle"], p=[0.5, 0.25, 0.25])
    top = {"lumbar": 1.0 - share, "chest": 0.0, "middle": rng.uniform(0.0, 1.0 - share)}[kind]
    width = float(rng.uniform(150.0, 400.0)) if rng.random() < 0.5 else None
    return FieldOfView(float(top), float(top + share), float(rng.uniform(5.0, 60.0)), float(rng.uniform(5.0, 60.0)),
                       width)


def build_truth_pair(entry: dict, pairs_dir: str | os.PathLike, crop_pixel_mm: float = CROP_PIXEL_MM,
                     spine_fill: float | None = None, field: FieldOfView | None = None,
                     soft_residual: float = 0.0) -> dict:
    """One study's ``pairs_dir/<id>/dxa_crop.nii.gz`` and ``targets.json`` from its DXA and truth.

    Args:
        entry: ``{"id", "dxa", "truth"}``, absolute paths (a ``phantom`` / ``drr`` datalist entry).
        pairs_dir: the cohort's ``pairs/`` folder (exists).
        crop_pixel_mm: crop pixel size (:data:`~monai_spine.cohort.crop.CROP_PIXEL_MM`); with ``spine_fill`` its
            largest value (:meth:`~monai_spine.geometry.CropFrame.around`).
        spine_fill: the share of the crop's rows the spine fills, or ``None`` for a fixed pixel size.
        field: a smaller field of view to cut the study to first (:func:`cut_field_of_view`), or ``None``.
        soft_residual: ``a``: the DXA becomes ``bone + a · soft`` (``entry["dxa_soft"]``, the study's soft-tissue
            image, g/cm²), the soft-tissue residual of a dual-energy decomposition whose soft-tissue baseline does
            not fit the tissue beside the spine (``docs/cohort.md``).

    Returns:
        the datalist entry ``{"id", "image", "targets", "scoliotic"}`` (paths relative to the cohort folder).

    Raises:
        SpineInputError: unreadable input, or the spine does not fit in the crop.
    """
    from monai_spine.transforms import LoadRadiograph

    curves = truth_curves(entry["truth"])
    dxa = LoadRadiograph()(entry["dxa"])
    if soft_residual:
        dxa = dxa + soft_residual * LoadRadiograph()(entry["dxa_soft"])
    if field is not None:
        dxa, curves = cut_field_of_view(dxa, curves, field)
    frame = CropFrame.around(curves.coronal_centre, crop_pixel_mm, spine_fill=spine_fill)
    outside = spine_outside_crop(np.stack(list(curves_in_crop(curves, frame).values())[:3]), frame)
    if outside > 0:
        raise SpineInputError(entry["truth"], f"the spine reaches {outside * frame.pixel_mm:.0f} mm beyond the crop")
    inputs = {"dxa": entry["dxa"], "truth": entry["truth"], "masks": "truth"}
    if field is not None:
        inputs["field_of_view"] = field.to_dict()
    if soft_residual:
        inputs.update(dxa_soft=entry["dxa_soft"], soft_residual=soft_residual)
    document = targets_document(entry["id"], curves, frame, inputs)
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
    """``{split: [{"id", "dxa", "truth"(, "dxa_soft")}]}`` of a ``phantom`` / ``drr`` datalist, absolute paths, ids
    prefixed."""
    try:
        document = json.loads(datalist.read_text(encoding="utf-8"))
        return {split: [{"id": prefix + e["id"], **{key: os.fspath(datalist.parent / e[key])
                                                    for key in ("dxa", "truth", "dxa_soft") if key in e}}
                        for e in document.get(split, [])] for split in _SPLITS}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SpineInputError(datalist, f"not a datalist of studies with dxa and truth ({err})") from None


def build_truth_cohort(datalists, out: str | os.PathLike, crop_pixel_mm: float = CROP_PIXEL_MM,
                       workers: int = 1, spine_fill: float | None = None, cut_fields: int = 0,
                       soft_residual: float = 0.0) -> dict:
    """Regressor pairs of every study of ``phantom`` / ``drr`` datalists, each study keeping its split.

    Args:
        datalists: ``dataset.json`` files whose entries have ``id``, ``dxa`` and ``truth``. With more than one,
            each id is prefixed with its datalist's folder name (``drr`` writes ``study_0000`` in every folder).
        out: the cohort folder: ``pairs/<id>/`` and ``dataset.json`` (``{"id", "image", "targets", "scoliotic"}``
            per entry, as :func:`~monai_spine.cohort.build_cohort` writes it).
        crop_pixel_mm: crop pixel size; with ``spine_fill`` its largest value.
        workers: processes.
        spine_fill: the share of the crop's rows the spine fills (:meth:`~monai_spine.geometry.CropFrame.around`),
            or ``None`` for a fixed pixel size.
        cut_fields: pairs ``<id>_field<k>`` added per training and validation study, each the study cut to a
            :func:`random_field_of_view` (drawn from the id, so a rebuild gives the same); the test split keeps
            whole studies.
        soft_residual: each training and validation pair's DXA gets a soft-tissue residual ``a`` drawn uniformly
            from ``[0, soft_residual]`` (from the pair id; :func:`build_truth_pair`); studies without a soft-tissue
            image keep none. 0: none.

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
    todo = []  # (split, entry, field, soft share)
    for split, entries in by_split.items():
        trains = split != "test"
        for entry in entries:
            rng = np.random.default_rng(zlib.crc32(entry["id"].encode()))
            pairs = [(entry, None)] + [({**entry, "id": f"{entry['id']}_field{k}"}, random_field_of_view(rng))
                                       for k in range(cut_fields if trains else 0)]
            todo += [(split, pair, field, _soft_share(pair, soft_residual) if trains else 0.0) for pair, field in pairs]
    build = partial(_pair_or_error, pairs_dir=out / "pairs", crop_pixel_mm=crop_pixel_mm, spine_fill=spine_fill)
    results = map_single_threaded(build, [item[1:] for item in todo], workers)
    document = {"description": "regressor pairs with targets from the studies' truth", **{s: [] for s in _SPLITS},
                "rejected": []}
    for (split, *_), result in zip(todo, results):
        document["rejected" if "reason" in result else split].append(result)
    atomic_write_text(out / "dataset.json", json_text(document))
    return document


def _soft_share(entry: dict, largest: float) -> float:
    """A pair's soft-tissue residual, uniform in ``[0, largest]`` from its id; 0 without a soft-tissue image."""
    if not largest or "dxa_soft" not in entry:
        return 0.0
    return float(np.random.default_rng(zlib.crc32(f"{entry['id']}/soft".encode())).uniform(0.0, largest))


def _pair_or_error(item: tuple[dict, FieldOfView | None, float], pairs_dir: Path, crop_pixel_mm: float,
                   spine_fill: float | None) -> dict:
    entry, field, soft_residual = item
    try:
        return build_truth_pair(entry, pairs_dir, crop_pixel_mm, spine_fill, field, soft_residual)
    except SpineInputError as err:
        return {"id": entry["id"], "reason": str(err)}
