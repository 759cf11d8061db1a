"""Where the DXA route's spine ends: renders of the real CT with the DXA bundle's mask, the label-derived column's
lower end, and the route's coronal centre line from the whole mask and from the mask above its tail into the
sacrum (``regression.runner.TAIL_WIDTH_FRACTION``); the picture in ``docs/regression.md``.

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 6 --seed 13 --modalities dxa,mri --out real13/
    python docs/make_dxa_tail_figure.py real13/dataset.json study_0002,study_0003 docs/images/dxa_route_mask_tail.png
"""

import sys

import numpy as np

from monai_spine.cohort import coronal_curves, truth_curves
from monai_spine.evaluation.scorers import bundle_segmenter
from monai_spine.evaluation.studies import read_studies
from monai_spine.regression import curve_regressor
from monai_spine.regression.runner import END_ROW_FRACTION


def main(datalist: str, ids: str, figure: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wanted = ids.split(",")
    studies = [study for study in read_studies(datalist, "all") if study.id in wanted]
    segmenter = bundle_segmenter("dxa_spine_segmentation", "cpu")
    fig, axes = plt.subplots(1, len(studies), figsize=(4.2 * len(studies), 6.4))
    for ax, study in zip(np.atleast_1d(axes), studies):
        image, mask = study.dxa, study.bundle_mask("dxa", segmenter)
        col_mm, row_mm = float(image.affine[0, 0]), float(image.affine[1, 1])
        extent = (-0.5 * col_mm, (image.shape[1] - 0.5) * col_mm, (image.shape[2] - 0.5) * row_mm, -0.5 * row_mm)
        ax.imshow(np.asarray(image[0]).T, cmap="gray", extent=extent)
        ax.contour(np.asarray(mask[0]).T > 0, [0.5], colors="red", linewidths=1, extent=extent, origin="upper")
        truth_end = truth_curves(study.files["truth"]).coronal_centre[-1, 1]
        ax.axhline(truth_end, color="lime", lw=1.5, ls=":", label=f"column's end (labels), {truth_end:.0f} mm")
        whole = coronal_curves(mask, min_width_fraction=END_ROW_FRACTION).centre
        route = curve_regressor("cpu").crop(image, mask).coronal.centre
        ax.plot(*whole.T, "c--", lw=1.5, label=f"whole mask: ends {whole[-1, 1] - truth_end:+.0f} mm")
        ax.plot(*route.T, "y-", lw=2, label=f"above its tail: ends {route[-1, 1] - truth_end:+.0f} mm")
        ax.set_title(study.id, fontsize=9)
        ax.set_xlabel("x (mm)")
        ax.legend(loc="lower right", fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("z (mm, toward the feet)")
    fig.suptitle("DXA route: the spine's end, from the bundle's mask (red) on renders of the real CT", fontsize=10)
    fig.tight_layout()
    fig.savefig(figure, dpi=90)


if __name__ == "__main__":
    main(*sys.argv[1:])
