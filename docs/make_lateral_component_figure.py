"""The bi-planar route's choice of a lateral mask on one ``monai-spine drr`` study: the picture in
``docs/real_anatomy.md``. Left: the radiograph bundle's mask (its largest connected component); right: the mask the
route uses (``lateral_mask_in_body``: another part of the network's mask when the largest lies where no spine lies;
``lateral_rows_in_body``: without its rows that lie where no spine lies). Green: the true column
(``lateral_spine.nii.gz``); red: the mask.

    python -c "import nibabel as nib; [nib.save(nib.load(f'../shared/real_anatomy/{n}.nii.gz').slicer[:, :, 62:112],
        f'upper_{n}.nii.gz') for n in ('lumbar_ct', 'lumbar_ct_vertebrae')]"
    monai-spine drr --ct upper_lumbar_ct.nii.gz --labels upper_lumbar_ct_vertebrae.nii.gz --n 2 --seed 3 \\
        --modalities biplanar --out upper/
    python docs/make_lateral_component_figure.py upper/study_0000 docs/images/real_anatomy_lateral_component.png
    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 5 --seed 11 --modalities biplanar --out real11/
    python docs/make_lateral_component_figure.py real11/study_0004 docs/images/real_anatomy_lateral_rows.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from monai_spine.pipelines.biplanar import radiograph_segmenter
from monai_spine.segmentation import segment_radiograph
from monai_spine.transforms import LoadRadiograph


def main(study: str, out: str) -> None:
    folder = Path(study)
    image = LoadRadiograph("lateral")(folder / "lateral.dcm")
    truth = np.asarray(LoadRadiograph("lateral")(folder / "lateral_spine.nii.gz")[0]) > 0
    masks = {"radiograph bundle: its largest mask": np.asarray(segment_radiograph(image, "lateral")[0]) > 0,
             "bi-planar route: the mask where a spine lies": np.asarray(radiograph_segmenter(image, "lateral")[0]) > 0}
    pixels = np.asarray(image[0]).T  # rows head to feet, columns back to front
    spacing = float(abs(image.affine[0, 0]))
    low, high = np.percentile(pixels[truth.T], [0.5, 99.5])
    extent = [0, pixels.shape[1] * spacing, pixels.shape[0] * spacing, 0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.1))
    for ax, (title, mask) in zip(axes, masks.items()):
        ax.imshow(pixels, cmap="gray", vmin=low - 0.5 * (high - low), vmax=high + 0.5 * (high - low), extent=extent)
        for outline, colour in ((truth, "lime"), (mask, "red")):
            ax.contour(outline.T, [0.5], colors=colour, linewidths=1.0, extent=extent, origin="upper")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("mm, toward the front")
        ax.set_ylabel("mm, toward the feet")
    fig.suptitle(f"{folder.name}, lateral: truth green, mask red", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    main(*sys.argv[1:3])
