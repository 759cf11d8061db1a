"""Writers for ``curves.json`` and ``curve3d.csv`` (``docs/formats.md``) and a reader.

Every writer is atomic: it writes a temporary file in the destination folder and renames it over the
destination, so a reader sees either the old file, the complete new one, or none; never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from monai_spine import __version__
from monai_spine.errors import SpineInputError
from monai_spine.io.files import DECIMALS, as_plain, atomic_write_text, json_text, rounded

from .curves import SpineCurves

__all__ = ["CURVES_SCHEMA", "MODES", "DECIMALS", "write_curves_json", "read_curves_json", "write_curve3d_csv"]

CURVES_SCHEMA = "monai-spine/curves/v1"
"""The ``schema`` value of the ``curves.json`` this module writes and reads."""

MODES = ("dxa", "biplanar")
"""Allowed ``mode`` values."""

_VIEWS = {
    "coronal": {"centre": "coronal_centre", "right": "coronal_right", "left": "coronal_left"},
    "sagittal": {"centre": "sagittal_centre", "posterior": "sagittal_posterior", "anterior": "sagittal_anterior"},
}
_LABELS = {"coronal": "[x, z]", "sagittal": "[y, z]"}
"""``curves.json`` view and curve names → :class:`SpineCurves` field names."""


def write_curves_json(
    path: str | os.PathLike,
    curves: SpineCurves,
    *,
    mode: str,
    inputs: dict,
    measures: dict,
    qc: dict,
    provenance: dict,
) -> None:
    """Write ``curves.json`` as the contract defines it (field by field in ``docs/formats.md``), atomically.

    Coordinates are rounded to 0.001 mm; ``curve3d_mm`` is ``curves.curve3d()``. Metadata values may be numpy
    scalars or arrays; non-finite floats are written as ``null``. ``qc`` gets ``"warnings": []`` and
    ``provenance`` gets ``"monai_spine"`` (this package's version) and ``"bundles": {}`` when missing.

    Args:
        path: destination file.
        curves: the six curves, mm.
        mode: ``"dxa"`` or ``"biplanar"``.
        inputs: input file names, modality, pixel spacing, ...
        measures: clinical measures, e.g. ``{"coronal_cobb_deg": 12.5}``.
        qc: quality-control results, with a ``"warnings"`` list.
        provenance: versions of the package and of the bundles used.

    Raises:
        ValueError: ``mode`` is not one of :data:`MODES`.
        TypeError: metadata that JSON cannot hold (nothing is written then).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    document = {
        "schema": CURVES_SCHEMA,
        "mode": mode,
        "inputs": as_plain(inputs),
        "n_points": curves.n_points,
        **{
            view: {name: rounded(getattr(curves, field)) for name, field in names.items()}
            for view, names in _VIEWS.items()
        },
        "curve3d_mm": rounded(curves.curve3d()),
        "measures": as_plain(measures),
        "qc": {"warnings": [], **as_plain(qc)},
        "provenance": {"monai_spine": __version__, "bundles": {}, **as_plain(provenance)},
    }
    atomic_write_text(path, json_text(document))


def _points(path, where: str, value, shape: tuple[int, int], label: str) -> np.ndarray:
    """One curve of a ``curves.json`` document as an array, checked to be ``shape`` finite numbers."""
    try:
        points = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        points = None
    if points is None or points.shape != shape or not np.all(np.isfinite(points)):
        raise SpineInputError(path, f"{where} must be a list of {shape[0]} finite {label} points.")
    return points


def read_curves_json(path: str | os.PathLike) -> tuple[SpineCurves, dict]:
    """Read and validate a ``curves.json``.

    Args:
        path: the file.

    Returns:
        ``(curves, document)``: the six curves (mm) and the whole parsed document (all fields as written).

    Raises:
        SpineInputError: the file is not JSON, its ``schema`` is not :data:`CURVES_SCHEMA`, or a required field
            is missing or malformed (the message names the field).
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpineInputError(path, f"cannot read curves.json: {err}") from None
    if not isinstance(document, dict):
        raise SpineInputError(path, "curves.json must hold a JSON object.")
    schema = document.get("schema")
    if schema != CURVES_SCHEMA:
        raise SpineInputError(path, f"unsupported curves.json schema {schema!r}, expected {CURVES_SCHEMA!r}.")
    for key in ("mode", "inputs", "n_points", "coronal", "sagittal", "curve3d_mm", "measures", "qc", "provenance"):
        if key not in document:
            raise SpineInputError(path, f"curves.json has no {key!r} field.")
    if document["mode"] not in MODES:
        raise SpineInputError(path, f"mode must be one of {MODES}, got {document['mode']!r}.")
    n_points = document["n_points"]
    if not isinstance(n_points, int) or isinstance(n_points, bool) or n_points < 2:
        raise SpineInputError(path, f"n_points must be an integer >= 2, got {n_points!r}.")
    fields = {}
    for view, names in _VIEWS.items():
        if not isinstance(document[view], dict):
            raise SpineInputError(path, f"{view} must be an object with {', '.join(names)}.")
        for name, field in names.items():
            if name not in document[view]:
                raise SpineInputError(path, f"{view} has no {name!r} curve.")
            fields[field] = _points(path, f"{view}.{name}", document[view][name], (n_points, 2), _LABELS[view])
    _points(path, "curve3d_mm", document["curve3d_mm"], (n_points, 3), "[x, y, z]")
    return SpineCurves(**fields), document


def write_curve3d_csv(path: str | os.PathLike, curve3d) -> None:
    """Write a 3D centre line as ``curve3d.csv`` (``docs/formats.md``), atomically.

    One header line ``index,x_mm,y_mm,z_mm``, then one line per point, top to bottom: ``index`` from 0, the
    coordinates in mm with 3 decimals.

    Args:
        path: destination file.
        curve3d: ``(N, 3)`` of ``(x, y, z)`` mm.
    """
    curve3d = np.asarray(curve3d, dtype=np.float64)
    if curve3d.ndim != 2 or curve3d.shape[1] != 3:
        raise ValueError(f"curve3d must have shape (N, 3), got {curve3d.shape}.")
    lines = ["index,x_mm,y_mm,z_mm"]
    lines += [f"{i},{x:.3f},{y:.3f},{z:.3f}" for i, (x, y, z) in enumerate(np.round(curve3d, DECIMALS) + 0.0)]
    atomic_write_text(path, "\n".join(lines) + "\n")
