"""The lumbar spine of real and phantom laterals, close up: the picture in ``docs/real_anatomy.md``. Each panel is
the lower 220 mm of a lateral's spine on the radiograph bundle's 2 mm grid (its ``load_transforms``), less its
Gaussian blur of σ 8 mm; green: the true column (``lateral_spine.nii.gz``). Give study folders with titles:

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 8 --seed 12 --modalities biplanar --out real/
    monai-spine phantom --n 10 --seed 2032 --modalities biplanar --soft-tissue --scoliosis-share 0.5 --out test/
    python docs/make_lumbar_lateral_figure.py docs/images/real_anatomy_lumbar_laterals.png \\
        real/study_0003 "real CT, drr" test/study_0002 "phantom"
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.bundle import ConfigParser
from monai.transforms import Compose
from scipy.ndimage import gaussian_filter

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "radiograph_spine_segmentation"
DETAIL_SIGMA_MM = 8.0
SHOWN_MM = 220.0
"""Head–feet extent shown, from the lowest row of the true column up."""
MARGIN_MM = 80.0
"""Shown either side of the true column."""


def main(out: str, *folders_and_titles: str) -> None:
    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "train.json"))
    parser["bundle_root"] = str(BUNDLE)
    load = Compose(parser.get_parsed_content("load_transforms"))
    pairs = list(zip(folders_and_titles[::2], folders_and_titles[1::2]))
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.6), squeeze=False)
    for ax, (folder, title) in zip(axes[0], pairs):
        study = load({"image": str(Path(folder) / "lateral.dcm"), "label": str(Path(folder) / "lateral_spine.nii.gz"),
                      "frame": "lateral"})
        spacing = float(abs(study["image"].affine[0, 0]))
        pixels = np.asarray(study["image"][0], dtype=np.float64)
        column = np.asarray(study["label"][0]) > 0
        rows = np.flatnonzero(column.any(0))
        bottom = rows[-1] + 1
        top = max(rows[0], bottom - int(SHOWN_MM / spacing))
        across = np.flatnonzero(column[:, top:bottom].any(1))
        margin = int(MARGIN_MM / spacing)
        left, right = max(across[0] - margin, 0), across[-1] + margin
        crop = pixels[left:right, top:bottom]
        detail = crop - gaussian_filter(crop, DETAIL_SIGMA_MM / spacing)
        low, high = np.percentile(detail, [1, 99])
        ax.imshow(np.clip((detail - low) / (high - low), 0, 1).T, cmap="gray")
        ax.contour(column[left:right, top:bottom].T, [0.5], colors="lime", linewidths=0.8)
        ax.set_title(title)
        ax.set_axis_off()
    plt.tight_layout()
    plt.savefig(out, dpi=60)


if __name__ == "__main__":
    main(*sys.argv[1:])
