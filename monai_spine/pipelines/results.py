"""The files every route writes into its output folder, and the measures they report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from monai_spine.cohort.targets import measure_curves
from monai_spine.geometry import SpineCurves
from monai_spine.geometry.profile import ragged_mask_warning
from monai_spine.geometry.writers import write_curve3d_csv, write_curves_json
from monai_spine.report import save_report

__all__ = ["EDGE_MARGIN_MM", "field_of_view_warnings", "ragged_mask_warnings", "write_results"]


EDGE_MARGIN_MM = 5.0
"""A spine mask this close to its image's top or bottom edge is taken as cut by the field of view."""


def field_of_view_warnings(views: Mapping[str, tuple]) -> list[str]:
    """A warning for each image edge (top, bottom) that a view's spine mask reaches (within :data:`EDGE_MARGIN_MM`),
    and then one that the angles are measured on the part in the image: their end points are the turning points
    inside it, not known vertebrae (a lumbar field's "thoracic kyphosis" is not T4-T12's).

    Args:
        views: ``{name: (mask, spacing)}``: the name the warning gives the image (``"image"`` for the DXA, ``"AP"``
            and ``"lateral"``), its ``(1, W, H)`` spine mask and pixel spacing ``(column, row)``, mm.
    """
    cut = []
    for name, (mask, spacing) in views.items():
        rows = np.flatnonzero(np.asarray(mask[0]).any(axis=0))
        margin = EDGE_MARGIN_MM / spacing[1]
        edges = [edge for edge, reached in (("top", rows[0] < margin), ("bottom", rows[-1] >= mask.shape[-1] - margin))
                 if reached]
        cut += [f"the spine runs out of the {name} at the {edge}: the curves cover the part in the image only"
                for edge in edges]
    if cut:
        cut.append("with the spine cut, the Cobb, kyphosis and lordosis angles are measured on the part in the image "
                   "and may not be the thoracic and lumbar curves")
    return cut


def ragged_mask_warnings(view: str, mask, spacing) -> list[str]:
    """The QC warning of a view's ``(1, W, H)`` spine mask (pixel ``spacing`` (column, row), mm) when its sides are
    ragged (:func:`monai_spine.geometry.profile.ragged_mask_warning`), with what that means for the result; ``[]``
    otherwise. On the real CT's renders the radiograph bundle's lateral masks jump 5-12 times per 100 mm, the
    phantom's at most 0.6 (``docs/commands/infer.md``)."""
    warning = ragged_mask_warning(view, np.asarray(mask[0]), spacing)
    if warning is None:
        return []
    return [f"{warning}: the segmentation has likely failed on this image, so the curves and angles from it are not "
            "reliable"]


def write_results(folder: Path, curves: SpineCurves, mode: str, inputs: dict, overlay: Callable[[Path], None],
                  warnings, provenance: dict, title: str, qc: dict | None = None, pictures: bool = True) -> dict:
    """Write ``curves.json``, ``curve3d.csv``, ``overlay.png`` (by ``overlay``) and ``report.png`` into ``folder``
    (created if missing; the two pictures only when ``pictures``); return the measures
    (``cohort.targets.measure_curves``, as the regressor's targets are measured).

    Args:
        folder: the output folder (routes write into a staged folder: ``io.files.staged_output``).
        curves: the six curves, mm.
        mode: ``"dxa"`` or ``"biplanar"``.
        inputs: ``curves.json``'s ``inputs``.
        overlay: draws the route's curves over its input image(s) into the path it is given
            (``report.save_overlay``, ``report.save_biplanar_overlay``).
        warnings: QC warnings, in ``curves.json`` and on the report.
        provenance: versions of the bundles and anything else that made the result.
        title: the report's title.
        qc: other QC figures for ``curves.json``'s ``qc`` (beside ``warnings``).
        pictures: write ``overlay.png`` and ``report.png`` (``batch --no-pictures``: not).
    """
    folder.mkdir(parents=True, exist_ok=True)
    measures = measure_curves(curves)
    write_curves_json(folder / "curves.json", curves, mode=mode, inputs=inputs, measures=measures,
                      qc={"warnings": list(warnings), **(qc or {})}, provenance=provenance)
    write_curve3d_csv(folder / "curve3d.csv", curves.curve3d())
    if pictures:
        overlay(folder / "overlay.png")
        save_report(folder / "report.png", curves, measures, title, warnings)
    return measures
