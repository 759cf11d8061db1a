"""``monai-spine demo --out DIR``: the main job on embedded data, with a report against the known truth.

Part 1 stand-in until the phantom renderer, bundles and regressor exist: a centre line with known clinical
angles becomes a 3D spine mask (NIfTI, patient volume frame) and a DXA-like coronal projection (DICOM); the
pipeline reads both back through the project's transforms, finds the curves and measures them.
"""

from __future__ import annotations

import argparse

import nibabel as nib
import numpy as np
from monai.transforms import Compose

from monai_spine import __version__
from monai_spine.cli.output import staged_output
from monai_spine.geometry import SpineCurves, curves_from_mask, curves_from_volume
from monai_spine.geometry.writers import write_curve3d_csv, write_curves_json
from monai_spine.measures import measure_spine
from monai_spine.phantom import CoronalCurve, SpineShape, centre_line
from monai_spine.phantom.dicom import write_radiograph
from monai_spine.report import save_overlay, save_report
from monai_spine.transforms import LoadRadiographd, LoadVolumed

__all__ = ["add_parser", "run"]

DEMO_SHAPE = SpineShape(
    length_mm=480.0, coronal=(CoronalCurve(28.0, (0.15, 0.6)),), kyphosis_deg=42.0, lordosis_deg=55.0
)
VOXEL_MM = 1.5
BODY_HALF_AXES_MM = (22.0, 17.0)  # vertebral column cross-section, x and y half-axes
MARGIN_MM = 60.0


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "demo",
        help="Run the main job on embedded data and report errors against its known truth.",
        description="Make a synthetic study with a known spine shape, run the pipeline on it, write the results "
        "(curves.json, curve3d.csv, overlay.png, report.png) and print measures and errors against the truth.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.set_defaults(run=run)
    return parser


def _spine_volume(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A binary elliptical tube around ``line`` (N, 3) on a grid in the patient volume frame, and its affine.

    The centre line is shifted so the grid origin is the first voxel; returns the mask ``(X, Y, Z)`` and the
    4×4 voxel → RAS affine of an ``LAI`` grid with ``VOXEL_MM`` spacing.
    """
    lo = line.min(axis=0) - [MARGIN_MM, MARGIN_MM, 10.0]
    hi = line.max(axis=0) + [MARGIN_MM, MARGIN_MM, 10.0]
    shape = np.ceil((hi - lo) / VOXEL_MM).astype(int) + 1
    x, y, z = (np.arange(n) * VOXEL_MM + o for n, o in zip(shape, lo))
    cx, cy = np.interp(z, line[:, 2], line[:, 0]), np.interp(z, line[:, 2], line[:, 1])
    inside_z = (z >= line[0, 2]) & (z <= line[-1, 2])
    ax, ay = BODY_HALF_AXES_MM
    mask = ((x[:, None, None] - cx) / ax) ** 2 + ((y[None, :, None] - cy) / ay) ** 2 <= 1.0
    mask &= inside_z
    affine = np.diag([-VOXEL_MM, VOXEL_MM, -VOXEL_MM, 1.0])  # i → left, j → anterior, k → feet, in RAS
    return mask.astype(np.uint8), affine


def _dxa_like(mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """A coronal projection ``(X, Z)`` of the spine mask over a soft-tissue background, with noise."""
    rng = np.random.default_rng(seed)
    bone_mm = mask.sum(axis=1) * VOXEL_MM
    soft = 200.0 + 40.0 * np.hanning(mask.shape[0])[:, None]
    return soft + 12.0 * bone_mm + rng.normal(0.0, 8.0, bone_mm.shape)


def _segment(image: np.ndarray) -> np.ndarray:
    """Spine mask of the DXA-like image: halfway between the background and the bone level (part 3 brings
    the segmentation bundle)."""
    background, bone = np.percentile(image, [50, 99.5])
    return image > 0.5 * (background + bone)


def _make_study(folder) -> dict:
    folder.mkdir(parents=True)
    mask, affine = _spine_volume(centre_line(DEMO_SHAPE))
    nib.save(nib.Nifti1Image(mask, affine), folder / "spine_mask.nii.gz")
    write_radiograph(folder / "dxa.dcm", _dxa_like(mask), (VOXEL_MM, VOXEL_MM), uid_seed="monai-spine-demo")
    return {"dxa": str(folder / "dxa.dcm"), "spine_mask": str(folder / "spine_mask.nii.gz")}


def _report_line(name: str, value: float, truth: float) -> str:
    return f"  {name:<22}{value:7.1f}°   truth {truth:5.1f}°   error {value - truth:+5.1f}°"


def run(args: argparse.Namespace) -> int:
    with staged_output(args.out) as stage:
        dxa_dir = stage / "dxa"
        study = _make_study(dxa_dir / "input")
        data = Compose([LoadRadiographd("dxa"), LoadVolumed("spine_mask")])(study)
        image, volume = data["dxa"], data["spine_mask"]
        coronal = curves_from_mask(_segment(image[0].numpy()), image.meta["spacing_mm"])
        truth = curves_from_volume(volume[0].numpy(), volume.meta["spacing_mm"])
        curves = SpineCurves(
            coronal.centre, coronal.low, coronal.high, *truth.curves.to_array()[3:]
        )
        measures = measure_spine(curves)
        write_curves_json(
            dxa_dir / "curves.json",
            curves,
            mode="dxa",
            inputs={"dxa": "input/dxa.dcm", "modality": "DX", "pixel_spacing_mm": list(image.meta["spacing_mm"])},
            measures=measures,
            qc={"warnings": ["part-1 demo: coronal curves from a threshold, sagittal from the known 3D mask"]},
            provenance={"monai_spine": __version__, "bundles": {}, "demo_shape": DEMO_SHAPE.to_dict()},
        )
        write_curve3d_csv(dxa_dir / "curve3d.csv", curves.curve3d())
        save_overlay(dxa_dir / "overlay.png", image[0].numpy(), image.meta["spacing_mm"], curves, "Demo DXA")
        save_report(dxa_dir / "report.png", curves, measures, "monai-spine demo (synthetic study)")
        coronal_error = np.abs(curves.coronal_centre[:, 0] - truth.curves.coronal_centre[:, 0])
    print(f"monai-spine demo: results in {args.out}/dxa")
    print(_report_line("coronal Cobb", measures["coronal_cobb_deg"], DEMO_SHAPE.cobb_deg))
    print(_report_line("thoracic kyphosis", measures["thoracic_kyphosis_deg"], DEMO_SHAPE.kyphosis_deg))
    print(_report_line("lumbar lordosis", measures["lumbar_lordosis_deg"], DEMO_SHAPE.lordosis_deg))
    print(f"  coronal centre line     mean error {coronal_error.mean():.2f} mm, max {coronal_error.max():.2f} mm")
    return 0
