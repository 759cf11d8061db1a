"""The files every route writes into its output folder, and the measures they report."""

from __future__ import annotations

from pathlib import Path

from monai_spine.cohort.targets import measure_curves
from monai_spine.geometry import SpineCurves
from monai_spine.geometry.writers import write_curve3d_csv, write_curves_json
from monai_spine.report import save_overlay, save_report

__all__ = ["write_results"]


def write_results(folder: Path, curves: SpineCurves, mode: str, inputs: dict, image, spacing_mm, warnings,
                  provenance: dict, title: str) -> dict:
    """Write ``curves.json``, ``curve3d.csv``, ``overlay.png`` (the coronal curves on ``image``) and ``report.png``
    into ``folder`` (created if missing); return the measures (``cohort.targets.measure_curves``, as the
    regressor's targets are measured).

    Args:
        folder: the output folder (routes write into a staged folder: ``io.files.staged_output``).
        curves: the six curves, mm.
        mode: ``"dxa"`` or ``"biplanar"``.
        inputs: ``curves.json``'s ``inputs``.
        image: ``(W, H)`` coronal image drawn under the curves; ``spacing_mm`` its pixel size.
        warnings: QC warnings, in ``curves.json`` and on the report.
        provenance: versions of the bundles and anything else that made the result.
        title: the report's title.
    """
    folder.mkdir(parents=True, exist_ok=True)
    measures = measure_curves(curves)
    write_curves_json(folder / "curves.json", curves, mode=mode, inputs=inputs, measures=measures,
                      qc={"warnings": list(warnings)}, provenance=provenance)
    write_curve3d_csv(folder / "curve3d.csv", curves.curve3d())
    save_overlay(folder / "overlay.png", image, spacing_mm, curves, f"{mode}: spine curves")
    save_report(folder / "report.png", curves, measures, title, warnings)
    return measures
