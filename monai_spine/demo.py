"""The main job on the embedded default data (a phantom study), with a report against its known truth.

DXA: the route of ``infer --dxa`` (``pipelines.dxa``: the DXA segmentation bundle, the spine crop and the curve
regressor bundle), so the sagittal curves come from the DXA alone. Bi-planar: the route of ``infer --ap --lateral``
(``pipelines.biplanar``: the radiograph segmentation bundle, geometry from the DICOM tags, triangulation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from monai_spine.evaluation.scores import biplanar_truth_curves
from monai_spine.io.files import staged_output
from monai_spine.measures import curve_distance, curve_mae_mm
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.pipelines import run_dxa
from monai_spine.pipelines.biplanar import BiplanarResult, run_biplanar

__all__ = ["DEMO_SEED", "run_demo"]

DEMO_SEED = 2026
"""The demo's phantom study: a scoliotic spine."""


def _biplanar(study_dir: Path, out: Path) -> tuple[BiplanarResult, dict]:
    """The bi-planar route (``infer --ap --lateral``) on the study's radiographs."""
    return run_biplanar(study_dir / "ap.dcm", study_dir / "lateral.dcm", out,
                        "monai-spine demo (biplanar, phantom study)",
                        inputs={"ap": "input/ap.dcm", "lateral": "input/lateral.dcm"},
                        provenance={"phantom_seed": DEMO_SEED})


def _angle_line(name: str, value: float, truth: float) -> str:
    return f"    {name:<20}{value:7.1f}°   truth {truth:5.1f}°   error {value - truth:+5.1f}°"


def run_demo(out: str) -> int:
    """Render the demo study, run both pipelines into ``out`` and print the report; returns the exit code."""
    torch.set_num_threads(min(4, torch.get_num_threads()))
    with staged_output(out) as stage:
        study = make_study(DEMO_SEED, scoliotic=True)
        study_dir = stage / "input"
        write_study(study, study_dir)
        dxa_curves, dxa_measures, _ = run_dxa(study_dir / "dxa.dcm", stage / "dxa",
                                              "monai-spine demo (dxa, phantom study)", inputs={"dxa": "input/dxa.dcm"})
        bi_result, bi_measures = _biplanar(study_dir, stage / "biplanar")
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
    truth = biplanar_truth_curves(json.loads((Path(out) / "input" / "truth.json").read_text(encoding="utf-8")),
                                  bi_result.geometries).curve3d()  # the spine column's, in the route's frame
    line = bi_result.curves.curve3d()
    distance = curve_distance(line, _truth_at(truth, line[:, 2]))
    print(f"  bi-planar 3D centre line: mean distance {distance.mean_mm:.2f} mm, max {distance.max_mm:.2f} mm")
    return 0


def _truth_at(line: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The truth centre line ``(N, 3)`` at heights ``z``."""
    return np.stack([np.interp(z, line[:, 2], line[:, i]) for i in range(3)], axis=1)
