"""The main job on the embedded default data (a phantom study), with a report against its known truth.

DXA: the route of ``infer --dxa`` (``pipelines.dxa``: the DXA segmentation bundle, the spine crop and the curve
regressor bundle), so the sagittal curves come from the DXA alone. Bi-planar: until the radiograph segmentation
(part 6) exists, the phantom's own masks stand in, named in ``curves.json``'s QC warnings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from monai.data.utils import affine_to_spacing

from monai_spine.geometry import SpineCurves, curves_from_mask
from monai_spine.io.files import staged_output
from monai_spine.measures import curve_distance, curve_mae_mm
from monai_spine.phantom.study import Study, make_study
from monai_spine.phantom.write import write_study
from monai_spine.pipelines import run_dxa, write_results
from monai_spine.projection import triangulate
from monai_spine.transforms import LoadRadiographd

__all__ = ["DEMO_SEED", "run_demo"]

DEMO_SEED = 2026
"""The demo's phantom study: a scoliotic spine."""
END_ROW_FRACTION = 0.7
"""Curves start and end at the first and last rows this wide (fraction of the median): no partial end plates."""


def _biplanar(study_dir: Path, study: Study, out: Path) -> tuple[SpineCurves, dict]:
    """Centre lines of the AP and lateral masks, matched row by row and triangulated with the calibrated views."""
    data = LoadRadiographd(["ap", "ap_spine", "lateral_spine"], frame=("coronal", "coronal", "lateral"))(
        {key: str(study_dir / name) for key, name in
         (("ap", "ap.dcm"), ("ap_spine", "ap_spine.nii.gz"), ("lateral_spine", "lateral_spine.nii.gz"))}
    )
    ap_geometry, lateral_geometry = study.ap.geometry, study.lateral.geometry
    views = [
        curves_from_mask(data[key][0].numpy() > 0, affine_to_spacing(data[key].affine, r=2).tolist(),
                         min_width_fraction=END_ROW_FRACTION)
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
    spacing = affine_to_spacing(ap_image.affine, r=2).tolist()
    return curves, write_results(out, curves, "biplanar", inputs, ap_image[0].numpy(), spacing, warnings,
                                 {"bundles": {}, "phantom_seed": DEMO_SEED},
                                 "monai-spine demo (biplanar, phantom study)")


def _angle_line(name: str, value: float, truth: float) -> str:
    return f"    {name:<20}{value:7.1f}°   truth {truth:5.1f}°   error {value - truth:+5.1f}°"


def run_demo(out: str) -> int:
    """Render the demo study, run both pipelines into ``out`` and print the report; returns the exit code."""
    torch.set_num_threads(min(4, torch.get_num_threads()))
    with staged_output(out) as stage:
        study = make_study(DEMO_SEED, scoliotic=True)
        study_dir = stage / "input"
        write_study(study, study_dir)
        dxa_curves, dxa_measures = run_dxa(study_dir / "dxa.dcm", stage / "dxa",
                                           "monai-spine demo (dxa, phantom study)", inputs={"dxa": "input/dxa.dcm"})
        bi_curves, bi_measures = _biplanar(study_dir, study, stage / "biplanar")
    shape = study.shape
    print(f"monai-spine demo: phantom study {DEMO_SEED} ({shape.pattern} scoliosis), results in {out}/")
    for name, measures in (("DXA", dxa_measures), ("bi-planar", bi_measures)):
        print(f"  {name}:")
        print(_angle_line("coronal Cobb", measures["coronal_cobb_deg"], study.measures["coronal_cobb_deg"]))
        kyphosis = "thoracic_kyphosis_deg"
        print(_angle_line("thoracic kyphosis", measures[kyphosis], study.measures[kyphosis]))
        print(_angle_line("lumbar lordosis", measures["lumbar_lordosis_deg"], study.measures["lumbar_lordosis_deg"]))
    dxa_errors = curve_mae_mm(dxa_curves, study.dxa.truth.with_relative_depth())
    print(f"  DXA centre lines: coronal mean error {dxa_errors[0]:.2f} mm, sagittal (relative depth) "
          f"{dxa_errors[3]:.2f} mm")
    distance = curve_distance(bi_curves.curve3d(), _truth_at(study.centre_line, bi_curves.curve3d()[:, 2]))
    print(f"  bi-planar 3D centre line: mean distance {distance.mean_mm:.2f} mm, max {distance.max_mm:.2f} mm")
    return 0


def _truth_at(line: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The truth centre line ``(N, 3)`` at heights ``z``."""
    return np.stack([np.interp(z, line[:, 2], line[:, i]) for i in range(3)], axis=1)
