"""The MRI segmentation bundle on the four MRI-like contrasts of one ``monai-spine drr`` study: the picture in
``docs/real_anatomy.md``. Top row: the sagittal slice through the true column's middle; bottom row: an axial slice
at its mid-height. Green: the true column (``mri_spine.nii.gz``); red: the bundle's mask; the title gives the Dice.

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 5 --seed 11 --modalities dxa,mri --out real/
    python docs/make_mri_figure.py real/study_0003 docs/images/real_anatomy_mri_0_6.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from monai_spine.segmentation import segment_mri
from monai_spine.transforms import LoadVolume

CONTRASTS = {"mri_in_phase": "in-phase", "mri_water": "water", "mri_fat": "fat", "mri_t2": "T2-like"}


def main(study: str, out: str) -> None:
    folder = Path(study)
    loader = LoadVolume()
    truth = np.asarray(loader(folder / "mri_spine.nii.gz"))[0] > 0  # (X, Y, Z), LAI: left, anterior, inferior
    x_mid = int(np.round(np.nonzero(truth.any((1, 2)))[0].mean()))
    z_mid = int(np.round(np.nonzero(truth.any((0, 1)))[0].mean()))
    fig, axes = plt.subplots(2, len(CONTRASTS), figsize=(3.2 * len(CONTRASTS), 7.5))
    for column, (name, title) in enumerate(CONTRASTS.items()):
        volume = loader(folder / f"{name}.nii.gz")
        image = np.asarray(volume)[0]
        mask = np.asarray(segment_mri(volume))[0] > 0
        dice = 2 * float((mask & truth).sum()) / float(mask.sum() + truth.sum())
        top, bottom = axes[0, column], axes[1, column]
        for ax, cut in ((top, (x_mid, slice(None), slice(None))), (bottom, (slice(None), slice(None), z_mid))):
            ax.imshow(image[cut].T, cmap="gray", vmin=0, vmax=np.percentile(image, 99.5))
            ax.contour(truth[cut].T.astype(float), [0.5], colors="lime", linewidths=0.8)
            if mask[cut].any():
                ax.contour(mask[cut].T.astype(float), [0.5], colors="red", linewidths=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
        top.set_title(f"{title}: Dice {dice:.2f}")
    axes[0, 0].set_ylabel("sagittal (anterior right, feet down)")
    axes[1, 0].set_ylabel("axial (patient's left right, anterior down)")
    fig.tight_layout()
    fig.savefig(out, dpi=70)


if __name__ == "__main__":
    main(*sys.argv[1:3])
