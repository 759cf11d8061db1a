"""The projection geometry of a bi-planar pair, from the files: DICOM tags, a JSON sidecar, or nothing.

Sources, first found (``docs/projection.md``, "Geometry from the files"):

1. a JSON sidecar: ``--geometry FILE`` (``{"ap": {...}, "lateral": {...}}``; a phantom's ``truth.json`` is one, its
   ``frames`` holding the two views) or ``<image>.json`` beside the image (one view's ``{...}``); each view a
   :meth:`Projection.to_dict <monai_spine.projection.Projection.to_dict>` description, ``shape`` and ``pixel_mm``
   optional (from the image);
2. DICOM tags: ``DistanceSourceToDetector`` (SID), ``DistanceSourceToPatient`` (SOD), ``ImagerPixelSpacing`` (or
   ``PixelSpacing`` × ``EstimatedRadiographicMagnificationFactor``, or ``PixelSpacing`` alone with a warning),
   ``ViewPosition`` (AP, PA, LL, RL, LATERAL) for the source side; a slot scan (EOS) when ``ScanOptions`` holds
   ``SLOT`` or the ``Manufacturer`` / ``ManufacturerModelName`` names EOS, a cone beam otherwise;
3. nothing: :class:`~monai_spine.projection.ParallelProjection` with a QC warning that the depth scale is nominal.

With tags the isocentre (where the two central rays meet, at the detectors' centres) is not in the files: it is
placed where pixel ``(0, 0)`` demagnified to the isocentre's depth is the patient frame's origin, so a point at the
isocentre's depth has ``x = column × spacing / magnification`` (AP) and ``y`` likewise (lateral); when the other view
comes from a JSON with an isocentre, that one is shared.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from monai_spine.errors import SpineInputError
from monai_spine.io.dicom import read_dicom

from .geometry import ConeBeamProjection, ParallelProjection, Projection, SlotScanProjection

__all__ = ["VIEW_POSITIONS", "ViewTags", "read_view_tags", "check_pair", "pair_geometry", "NOMINAL_DEPTH_WARNING"]

VIEW_POSITIONS = {"AP": ("ap", "anterior"), "PA": ("ap", "posterior"), "LL": ("lateral", "right"),
                  "RL": ("lateral", "left"), "LAT": ("lateral", "right"), "LATERAL": ("lateral", "right")}
"""DICOM ``ViewPosition`` → (view, source side): LL (left side against the detector) has the source on the right."""

NOMINAL_DEPTH_WARNING = ("no source/detector distances (DICOM tags or JSON geometry): the views are taken as parallel "
                         "projections, so the depth scale is nominal (lengths include the X-ray magnification)")


class ViewTags(NamedTuple):
    """What a radiograph's header says about its acquisition (``None``: not said).

    ``pixel_mm``: detector spacing ``(column, row)``; ``study``: ``(PatientID, StudyInstanceUID)``.
    """

    view: str | None
    source_side: str | None
    source_to_detector_mm: float | None
    source_to_patient_mm: float | None
    pixel_mm: tuple[float, float] | None
    slot_scan: bool
    study: tuple[str, str] | None
    warnings: tuple[str, ...]


def _is_dicom(path) -> bool:
    return not os.fspath(path).lower().endswith((".nii", ".nii.gz"))


def _detector_spacing(ds) -> tuple[tuple[float, float] | None, list[str]]:
    """Detector spacing ``(column, row)`` mm: ``ImagerPixelSpacing``, else ``PixelSpacing`` × magnification."""
    if "ImagerPixelSpacing" in ds:
        row, column = (float(v) for v in ds.ImagerPixelSpacing)
        return (column, row), []
    if "PixelSpacing" not in ds:
        return None, []
    row, column = (float(v) for v in ds.PixelSpacing)
    factor = float(ds.get("EstimatedRadiographicMagnificationFactor", 0) or 0)
    if factor > 0:
        return (column * factor, row * factor), []
    return (column, row), ["PixelSpacing without ImagerPixelSpacing or EstimatedRadiographicMagnificationFactor: "
                           "taken as the detector's spacing"]


def read_view_tags(path: str | os.PathLike) -> ViewTags:
    """The acquisition tags of a DX/CR DICOM file (all ``None`` for a NIfTI image)."""
    if not _is_dicom(path):
        return ViewTags(None, None, None, None, None, False, None, ())
    ds = read_dicom(path, stop_before_pixels=True)
    position = str(ds.get("ViewPosition", "") or "").strip().upper()
    view, side = VIEW_POSITIONS.get(position, (None, None))
    pixel_mm, warnings = _detector_spacing(ds)
    maker = " ".join(str(ds.get(k, "") or "") for k in ("Manufacturer", "ManufacturerModelName")).upper()
    options = " ".join(str(v) for v in np.atleast_1d(ds.get("ScanOptions", "") or "")).upper()
    distances = [float(ds[k].value) if ds.get(k) not in (None, "") else None
                 for k in ("DistanceSourceToDetector", "DistanceSourceToPatient")]
    study = (str(ds.get("PatientID", "")), str(ds.get("StudyInstanceUID", "")))
    return ViewTags(view, side, *distances, pixel_mm, "SLOT" in options or "EOS" in maker, study, tuple(warnings))


def check_pair(ap_path, lateral_path) -> tuple[ViewTags, ViewTags]:
    """The tags of both files, checked to be one AP and one lateral view of the same patient and study.

    Raises:
        SpineInputError: a file's ``ViewPosition`` is the other view's, or the two differ in ``PatientID`` or
            ``StudyInstanceUID``.
    """
    tags = read_view_tags(ap_path), read_view_tags(lateral_path)
    for path, view, found in zip((ap_path, lateral_path), ("ap", "lateral"), tags):
        if found.view not in (None, view):
            raise SpineInputError(path, f"given as the {view} view but its ViewPosition says {found.view} "
                                        f"(two views of the same kind are not a bi-planar pair)")
    if None not in (tags[0].study, tags[1].study):
        for index, name in enumerate(("PatientID", "StudyInstanceUID")):
            if tags[0].study[index] != tags[1].study[index]:
                raise SpineInputError(lateral_path, f"{name} {tags[1].study[index]!r} differs from the AP's "
                                                    f"{tags[0].study[index]!r}: not the same patient and study")
    return tags


def _sidecar(path, geometry_file, view: str) -> tuple[dict | None, str | None]:
    """The JSON description of ``view``: from ``geometry_file`` (``{"ap", "lateral"}`` or ``{"frames": ...}``)
    or from ``<image>.json``; and the file it came from."""
    if geometry_file is not None:
        source = Path(geometry_file)
    else:
        source = Path(os.fspath(path).removesuffix(".gz").rsplit(".", 1)[0] + ".json")
        if not source.is_file():
            return None, None
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        document = document.get("frames", document) if geometry_file is not None else {view: document}
        return dict(document[view]), os.fspath(source)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SpineInputError(source, f"no {view} geometry in it ({type(err).__name__}: {err})") from None


def _centred_isocentre(ap: Projection, lateral: Projection) -> tuple[float, float, float]:
    """The module docstring's isocentre: pixel (0, 0) demagnified to the isocentre's depth at the origin."""

    def half(geometry, axis):
        scale = geometry.source_to_detector_mm / geometry.source_to_isocentre_mm
        vertical = isinstance(geometry, ConeBeamProjection)
        return (geometry.shape[axis] - 1) / 2 * geometry.pixel_mm[axis] / (scale if axis == 0 or vertical else 1.0)

    return half(ap, 0), half(lateral, 0), half(ap, 1)


def _from_tags(view: str, tags: ViewTags, shape, pixel_mm) -> Projection | None:
    if None in (tags.source_to_detector_mm, tags.source_to_patient_mm):
        return None
    kind = SlotScanProjection if tags.slot_scan else ConeBeamProjection
    return kind(view=view, pixel_mm=tags.pixel_mm or pixel_mm, shape=shape, source_side=tags.source_side,
                source_to_detector_mm=tags.source_to_detector_mm, source_to_isocentre_mm=tags.source_to_patient_mm)


def pair_geometry(paths, tags, shapes, pixel_mm, geometry_file=None) -> tuple[tuple[Projection, Projection], dict]:
    """The AP and lateral geometries of a pair, and where they came from.

    Args:
        paths: the AP and lateral files; ``tags``: their :func:`check_pair` tags.
        shapes: the loaded images' ``(W, H)``; ``pixel_mm``: their spacing ``(column, row)`` (used when neither
            the JSON nor the tags give the detector's).
        geometry_file: ``--geometry FILE``, or ``None`` for ``<image>.json`` sidecars and the tags.

    Returns:
        ``((ap, lateral), info)``; ``info``: ``{"source": "json" | "dicom" | "none", "files": [...],
        "warnings": [...]}``.

    Raises:
        SpineInputError: a JSON description that does not fit its image or does not describe a geometry, or one
            view calibrated and the other not.
    """
    views, sources, files, warnings = [], [], [], []
    for path, view, found, shape, spacing in zip(paths, ("ap", "lateral"), tags, shapes, pixel_mm):
        described, source = _sidecar(path, geometry_file, view)
        if described is not None:
            described.setdefault("pixel_mm", list(spacing))
            if list(described.setdefault("shape", list(shape))) != list(shape):
                raise SpineInputError(source, f"the {view} geometry's shape {described['shape']} is not the "
                                              f"image's {list(shape)}")
            try:
                views.append(Projection.from_dict({**described, "view": view}))
            except (TypeError, ValueError) as err:
                raise SpineInputError(source, f"not a {view} geometry ({err})") from None
            sources.append("json")
            files.append(source)
            continue
        views.append(_from_tags(view, found, shape, spacing))
        sources.append("dicom" if views[-1] is not None else "none")
        warnings.extend(found.warnings if views[-1] is not None else ())
    if len(set(sources)) > 1 and "none" in sources:
        raise SpineInputError(paths[sources.index("none")], "no source/detector distances while the other view has "
                                                           "them: the pair cannot share one geometry")
    if sources[0] == "none":
        views = [ParallelProjection(view=v, pixel_mm=p, shape=s) for v, p, s in zip(("ap", "lateral"), pixel_mm,
                                                                                    shapes)]
        warnings.append(NOMINAL_DEPTH_WARNING)
    elif "dicom" in sources:  # a JSON view's isocentre is shared; else the module docstring's
        isocentre = next((v.isocentre for v, s in zip(views, sources) if s == "json" and hasattr(v, "isocentre")),
                         None) or _centred_isocentre(*views)
        views = [Projection.from_dict({**v.to_dict(), "isocentre": isocentre}) if s == "dicom" else v
                 for v, s in zip(views, sources)]
    return tuple(views), {"source": "+".join(dict.fromkeys(sources)), "files": files, "warnings": warnings}
