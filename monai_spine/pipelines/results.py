"""The files every route writes into its output folder, and the measures they report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from monai_spine.cohort.targets import measure_curves
from monai_spine.geometry import SpineCurves
from monai_spine.geometry.profile import ragged_mask_warning
from monai_spine.geometry.writers import write_curve3d_csv, write_curves_json
from monai_spine.report import save_report

__all__ = ["ragged_mask_warnings", "write_results"]


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
