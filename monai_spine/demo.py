"""The main job on the embedded default data (a phantom study), with a report against its known truth.

Until the segmentation bundles (part 3), the alignment (part 4), the DXA regressor (part 5) and the radiograph
segmentation (part 6) exist, the demo stands in for them with the phantom's own spine masks and its recorded
MRI → DXA transform; every stand-in is named in ``curves.json``'s QC warnings. The steps that exist are real:
DICOM and NIfTI loading, mask → curves, triangulation of the two calibrated views, measures, the output files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from monai.transforms import Compose

from monai_spine import __version__
from monai_spine.cli.output import staged_output
from monai_spine.geometry import SpineCurves, curves_from_mask, curves_from_volume
from monai_spine.geometry.writers import write_curve3d_csv, write_curves_json
from monai_spine.measures import curve_distance, curve_mae_mm, measure_spine
from monai_spine.phantom.study import Study, make_study
from monai_spine.phantom.write import write_study
from monai_spine.projection import triangulate
from monai_spine.report import save_overlay, save_report
from monai_spine.transforms import LoadRadiographd, LoadVolumed

__all__ = ["DEMO_SEED", "run_demo"]

DEMO_SEED = 2026
"""The demo's phantom study: a scoliotic spine."""
END_ROW_FRACTION = 0.7
"""Curves start and end at the first and last rows this wide (fraction of the median): no partial end plates."""
TANGENT_WINDOW_MM = 90.0
"""Tangent fits for curves from pixel masks: long enough to average the ±0.5 pixel edge quantisation."""


def _write_outputs(folder: Path, curves: SpineCurves, mode: str, inputs: dict, image, spacing, warnings) -> dict:
    folder.mkdir()
    measures = measure_spine(curves, window_mm=TANGENT_WINDOW_MM)
    qc = {"warnings": list(warnings)}
    provenance = {"monai_spine": __version__, "bundles": {}, "phantom_seed": DEMO_SEED}
    write_curves_json(folder / "curves.json", curves, mode=mode, inputs=inputs, measures=measures, qc=qc,
                      provenance=provenance)
    write_curve3d_csv(folder / "curve3d.csv", curves.curve3d())
    save_overlay(folder / "overlay.png", image, spacing, curves, f"{mode}: spine curves")
    save_report(folder / "report.png", curves, measures, f"monai-spine demo ({mode}, phantom study)", warnings)
    return measures


def _dxa(study_dir: Path, study: Study, out: Path) -> tuple[SpineCurves, dict]:
    """Coronal curves from the DXA's spine mask, sagittal ones from the MRI's, moved into the DXA frame."""
    data = Compose([LoadRadiographd(["dxa", "dxa_spine"]), LoadVolumed("mri_spine")])(
        {key: str(study_dir / f"{key}.{ext}") for key, ext in
         (("dxa", "dcm"), ("dxa_spine", "nii.gz"), ("mri_spine", "nii.gz"))}
    )
    mask = data["dxa_spine"]
    coronal = curves_from_mask(mask[0].numpy() > 0, mask.meta["spacing_mm"], min_width_fraction=END_ROW_FRACTION)
    mri = curves_from_volume(data["mri_spine"][0].numpy() > 0, data["mri_spine"].meta["spacing_mm"],
                             min_width_fraction=END_ROW_FRACTION)
    to_dxa = study.mri.matrix_mri_to_dxa(study.dxa)  # stand-in for the alignment of part 4
    centre = mri.centre_line
    z_dxa = (to_dxa @ np.c_[centre[:, [0, 2]], np.ones(len(centre))].T)[1]
    sagittal = [np.c_[c[:, 0], z_dxa] for c in mri.curves.to_array()[3:]]
    curves = SpineCurves(coronal.centre, coronal.low, coronal.high, *sagittal).with_relative_depth()
    warnings = [
        "demo stand-in: spine masks are the phantom's own (segmentation bundles come with part 3)",
        "demo stand-in: sagittal curves from the MRI placed with the phantom's recorded MRI→DXA transform "
        "(alignment: part 4; DXA regressor: part 5)",
    ]
    inputs = {"dxa": "input/dxa.dcm", "modality": "OT", "pixel_spacing_mm": list(mask.meta["spacing_mm"])}
    return curves, _write_outputs(out, curves, "dxa", inputs, data["dxa"][0].numpy(), mask.meta["spacing_mm"],
                                  warnings)


def _biplanar(study_dir: Path, study: Study, out: Path) -> tuple[SpineCurves, dict]:
    """Centre lines of the AP and lateral masks, matched row by row and triangulated with the calibrated views."""
    data = LoadRadiographd(["ap", "ap_spine", "lateral_spine"], frame=("coronal", "coronal", "lateral"))(
        {key: str(study_dir / name) for key, name in
         (("ap", "ap.dcm"), ("ap_spine", "ap_spine.nii.gz"), ("lateral_spine", "lateral_spine.nii.gz"))}
    )
    ap_geometry, lateral_geometry = study.ap_geometry, study.lateral_geometry
    views = [
        curves_from_mask(data[key][0].numpy() > 0, data[key].meta["spacing_mm"], min_width_fraction=END_ROW_FRACTION)
        for key in ("ap_spine", "lateral_spine")
    ]
    top = max(v.centre[0, 1] for v in views)
    bottom = min(v.centre[-1, 1] for v in views)
    heights = np.linspace(top, bottom, len(views[0].centre))
    ap_px, lateral_px = (
        np.c_[np.interp(heights, v.centre[:, 1], v.centre[:, 0]), heights] / g.pixel_mm
        for v, g in zip(views, (ap_geometry, lateral_geometry))
    )
    line = triangulate(ap_geometry, ap_px, lateral_geometry, lateral_px)
    boundaries = []
    for view, geometry, pixels, axis in zip(views, (ap_geometry, lateral_geometry), (ap_px, lateral_px), (0, 1)):
        scale = geometry.pixel_mm[0] / geometry.magnification(line)[:, 0]  # detector mm → patient mm at the line
        for edge in (view.low, view.high):
            offset = (np.interp(heights, edge[:, 1], edge[:, 0]) / geometry.pixel_mm[0] - pixels[:, 0]) * scale
            boundaries.append(np.c_[line[:, axis] + offset, line[:, 2]])
    curves = SpineCurves(line[:, [0, 2]], boundaries[0], boundaries[1], line[:, [1, 2]], boundaries[2], boundaries[3])
    warnings = ["demo stand-in: spine masks are the phantom's own (radiograph segmentation comes with part 6)"]
    inputs = {
        "ap": "input/ap.dcm",
        "lateral": "input/lateral.dcm",
        "frame": "patient frame of the calibrated bi-planar geometry (x left, y anterior, z feet, mm)",
        "geometry": {"ap": ap_geometry.to_dict(), "lateral": lateral_geometry.to_dict()},
    }
    ap_image = data["ap"]
    return curves, _write_outputs(out, curves, "biplanar", inputs, ap_image[0].numpy(), ap_image.meta["spacing_mm"],
                                  warnings)


def _angle_line(name: str, value: float, truth: float) -> str:
    return f"    {name:<20}{value:7.1f}°   truth {truth:5.1f}°   error {value - truth:+5.1f}°"


def run_demo(out: str) -> int:
    """Render the demo study, run both pipelines into ``out`` and print the report; returns the exit code."""
    torch.set_num_threads(min(4, torch.get_num_threads()))
    with staged_output(out) as stage:
        study = make_study(DEMO_SEED, scoliotic=True)
        study_dir = stage / "input"
        write_study(study, study_dir)
        dxa_curves, dxa_measures = _dxa(study_dir, study, stage / "dxa")
        bi_curves, bi_measures = _biplanar(study_dir, study, stage / "biplanar")
    truth, shape = study.truth_curves["dxa"], study.shape
    print(f"monai-spine demo: phantom study {DEMO_SEED} ({shape.pattern} scoliosis), results in {out}/")
    for name, measures in (("DXA", dxa_measures), ("bi-planar", bi_measures)):
        print(f"  {name}:")
        print(_angle_line("coronal Cobb", measures["coronal_cobb_deg"], study.measures["coronal_cobb_deg"]))
        print(_angle_line("thoracic kyphosis", measures["thoracic_kyphosis_deg"], study.measures["thoracic_kyphosis_deg"]))
        print(_angle_line("lumbar lordosis", measures["lumbar_lordosis_deg"], study.measures["lumbar_lordosis_deg"]))
    coronal_mae = float(curve_mae_mm(dxa_curves.coronal_centre, truth.coronal_centre))
    print(f"  DXA coronal centre line: mean error {coronal_mae:.2f} mm")
    distance = curve_distance(bi_curves.curve3d(), _truth_at(study.centre_line, bi_curves.curve3d()[:, 2]))
    print(f"  bi-planar 3D centre line: mean distance {distance.mean_mm:.2f} mm, max {distance.max_mm:.2f} mm")
    return 0


def _truth_at(line: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The truth centre line ``(N, 3)`` at heights ``z``."""
    return np.stack([np.interp(z, line[:, 2], line[:, i]) for i in range(3)], axis=1)
