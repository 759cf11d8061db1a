"""How the lumbar column reads across a lateral: the picture in ``docs/real_anatomy.md``. For each group of study
folders, the mean over its studies of the median profile across the true column (``lateral_spine.nii.gz``), row by
row over the lowest 150 mm of the column above its last 20 mm (the sacrum): 40 mm behind the column, the column in
20 bins from its posterior to its anterior edge, 30 mm in front of it. Values are shares of the image's 1–99 %
range, less the mean of the profile's first and last four samples (the tissue behind and in front). Images are on
the radiograph bundle's 2 mm grid (``make_bowel_gas_figure.load_view``); the lateral's first axis runs toward the
front. Give groups as ``TITLE=FOLDER,FOLDER,...``:

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 8 --seed 12 --modalities biplanar --out real/
    monai-spine phantom --n 10 --seed 2032 --modalities biplanar --soft-tissue --scoliosis-share 0.5 --out test/
    python docs/make_lateral_profile_figure.py docs/images/real_anatomy_lateral_profile.png \\
        "real CT=real/study_0000,...,real/study_0007" "phantom=test/study_0000,...,test/study_0009"
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from make_bowel_gas_figure import load_view

BEHIND_MM, IN_FRONT_MM = 40.0, 30.0
BEHIND_SAMPLES, COLUMN_BINS, IN_FRONT_SAMPLES = 16, 20, 12
SHOWN_MM, SACRUM_MM = 150.0, 20.0
END_SAMPLES = 4


def column_profile(folder: str) -> np.ndarray:
    """The median profile across the lumbar column of ``folder``'s lateral (see the module docstring)."""
    study = load_view(folder, "lateral")
    image = np.asarray(study["image"][0], dtype=np.float64)
    column = np.asarray(study["label"][0]) > 0
    spacing = float(abs(study["image"].affine[0, 0]))
    low, high = np.percentile(image, [1, 99])
    image = (image - low) / (high - low)
    rows = np.flatnonzero(column.any(0))
    bottom = rows[-1] - SACRUM_MM / spacing
    rows = rows[(rows > bottom - SHOWN_MM / spacing) & (rows < bottom)]
    profiles = []
    for row in rows:
        inside = np.flatnonzero(column[:, row])
        back, front = inside[0], inside[-1]
        x = np.concatenate([
            np.linspace(back - BEHIND_MM / spacing, back, BEHIND_SAMPLES, endpoint=False),
            np.linspace(back, front, COLUMN_BINS, endpoint=False),
            np.linspace(front, front + IN_FRONT_MM / spacing, IN_FRONT_SAMPLES),
        ])
        values = np.interp(x, np.arange(image.shape[0]), image[:, row])
        profiles.append(values - np.concatenate([values[:END_SAMPLES], values[-END_SAMPLES:]]).mean())
    return np.median(profiles, axis=0)


def main(out: str, *groups: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for group in groups:
        title, folders = group.split("=", 1)
        folders = folders.split(",")
        ax.plot(np.mean([column_profile(folder) for folder in folders], axis=0), label=f"{title} ({len(folders)})")
    front = BEHIND_SAMPLES + COLUMN_BINS
    for edge, name in ((BEHIND_SAMPLES, "posterior edge"), (front, "anterior edge")):
        ax.axvline(edge - 0.5, color="grey", lw=0.8, ls="--")
        ax.text(edge - 0.3, ax.get_ylim()[1], name, fontsize=8, va="top")
    ax.set_xticks([0, BEHIND_SAMPLES, front, front + IN_FRONT_SAMPLES - 1],
                  [f"{BEHIND_MM:g} mm behind", "column's back", "column's front", f"{IN_FRONT_MM:g} mm in front"])
    ax.set_ylabel("share of the image's 1–99 % range")
    ax.set_title("Lateral, across the lumbar column (median over rows, mean over studies)")
    ax.legend(fontsize=8)
    plt.tight_layout()
    plt.savefig(out, dpi=80)


if __name__ == "__main__":
    main(*sys.argv[1:])
