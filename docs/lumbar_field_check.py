"""The DXA route on lumbar-only images: phantom studies cut to a lumbar field of view, beside the real CT's renders
(``docs/real_anatomy.md``, "The DXA route on lumbar-only fields").

Each phantom study's DXA keeps only the rows from ``--keep-mm`` (default 225 mm, the real CT's T11–S1 column) above
the bottom of its truth's spine, plus 10 mm; its truth is the six curves resampled over that stretch with their own
relative depth, as ``drr`` writes the truth of a CT that holds part of the spine. The route (DXA bundle mask, crop,
regressor, coronal curves from the mask) is scored on the whole image and on the cut one with
``evaluation.scorers.curve_errors``; the figure puts the regressor's crops of the real renders above those of the cut
phantom studies.

    python docs/lumbar_field_check.py --phantom PHANTOM/dataset.json --real REAL/dataset.json \\
        --out docs/images/regressor_crops_lumbar.png

It checks the installed bundles; ``MONAI_SPINE_BUNDLES=DIR`` points it at a copy of ``bundles/`` with other weights
or crop settings (a ``crop_spine_fill`` in the curve regressor's ``inference.json``).
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.data.utils import affine_to_spacing

from monai_spine.cohort import FieldOfView, cut_field_of_view, truth_curves
from monai_spine.evaluation.scorers import curve_errors
from monai_spine.evaluation.studies import read_studies
from monai_spine.geometry import SpineCurves
from monai_spine.pipelines.dxa import CORONAL_SOURCE
from monai_spine.regression import curve_regressor, regress_dxa_curves
from monai_spine.segmentation import segment_dxa

FIGURES = ("sagittal_mae_mm", "mean_3d_mm", "lumbar_lordosis_deg_error")


def lumbar_field(image, truth: SpineCurves, keep_mm: float):
    """The DXA ``(1, W, H)`` without its rows more than ``keep_mm`` + 10 mm above the spine's bottom, and the truth
    over the kept ``keep_mm`` (``cohort.cut_field_of_view``): ``(image, truth)`` in the cut image's frame."""
    height = float(truth.coronal_centre[-1, 1] - truth.coronal_centre[0, 1])
    below_mm = float(image.shape[2] * affine_to_spacing(image.affine, r=2)[1])  # every row below the spine
    return cut_field_of_view(image, truth, FieldOfView(max(0.0, 1.0 - keep_mm / height), 1.0, 10.0, below_mm))


def segmented(image):
    """``(image, its DXA bundle mask)``."""
    return image, segment_dxa(image)


def route_errors(image, mask, truth: SpineCurves) -> dict:
    """``curve_errors`` of the DXA route on ``image`` and its spine ``mask``."""
    pred, _ = regress_dxa_curves(image, mask, curve_regressor(None), CORONAL_SOURCE)
    return curve_errors(pred, truth)


def draw_crops(rows, out: str) -> None:
    """``rows``: ``[(label, [(title, image, mask), ...]), ...]`` → the regressor's crops, one row each, the spine's
    part."""
    regressor = curve_regressor(None)
    n = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(2.6 * n, 3.4 * len(rows)), squeeze=False)
    for axes_row, (label, images) in zip(axes, rows):
        for ax, (title, image, mask) in zip(axes_row, images):
            crop = regressor.crop(image, mask).crop
            ax.imshow(crop.T[40:184, 56:168], cmap="gray")
            ax.set_title(f"{label}\n{title}", fontsize=8)
        for ax in axes_row:
            ax.axis("off")
    pixels = f"{regressor.crop_pixel_mm} mm pixels" + (
        f" at most, the spine filling {regressor.crop_spine_fill:.0%} of the rows" if regressor.crop_spine_fill else "")
    fig.suptitle(f"What the regressor sees: its crop's middle part ({pixels})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phantom", required=True, help="phantom studies' dataset.json (DXA and truth)")
    parser.add_argument("--real", required=True, help="drr renders of the real CT, dataset.json")
    parser.add_argument("--out", required=True, help="the figure, PNG")
    parser.add_argument("--keep-mm", type=float, default=225.0, help="spine kept above its bottom, mm")
    parser.add_argument("--n-figure", type=int, default=4, help="studies per row of the figure")
    args = parser.parse_args()
    whole, lumbar, cut_images = [], [], []
    for study in read_studies(args.phantom, "all"):
        truth = truth_curves(study.files["truth"])
        whole.append(route_errors(*segmented(study.dxa), truth))
        cut, cut_truth = lumbar_field(study.dxa, truth, args.keep_mm)
        cut_image = segmented(cut)
        lumbar.append(route_errors(*cut_image, cut_truth))
        cut_images.append((study.id, *cut_image))
    for name, rows in (("whole image", whole), (f"lumbar field ({args.keep_mm:.0f} mm)", lumbar)):
        means = [np.mean([abs(row[key]) for row in rows]) for key in FIGURES]
        print(f"{name}, {len(rows)} studies: sagittal {means[0]:.2f} mm, mean 3D {means[1]:.2f} mm, "
              f"lordosis MAE {means[2]:.1f} deg")
    real = [(study.id, *segmented(study.dxa)) for study in read_studies(args.real, "all")[: args.n_figure]]
    draw_crops([("real CT render", real),
                ("phantom, lumbar field", cut_images[: args.n_figure])], args.out)


if __name__ == "__main__":
    main()
