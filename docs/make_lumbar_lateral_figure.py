"""The lumbar spine of real and phantom laterals, close up: the picture in ``docs/real_anatomy.md``. Each panel is
the lower 220 mm of a lateral's spine on the radiograph bundle's 2 mm grid, less its Gaussian blur of σ 8 mm (both
as ``make_bowel_gas_figure.py`` loads and shows them); green: the true column (``lateral_spine.nii.gz``). Give
study folders with titles:

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 8 --seed 12 --modalities biplanar --out real/
    monai-spine phantom --n 10 --seed 2032 --modalities biplanar --soft-tissue --scoliosis-share 0.5 --out test/
    python docs/make_lumbar_lateral_figure.py docs/images/real_anatomy_lumbar_laterals.png \\
        real/study_0003 "real CT, drr" test/study_0002 "phantom"
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from make_bowel_gas_figure import detail, load_view

SHOWN_MM = 220.0
"""Head–feet extent shown, from the lowest row of the true column up."""
MARGIN_MM = 80.0
"""Shown either side of the true column."""


def lumbar_window(column: np.ndarray, spacing_mm: float, shown_mm: float = SHOWN_MM,
                  margin_mm: float = MARGIN_MM) -> tuple[slice, slice]:
    """``(across, head–feet)`` slices of a view ``(W, H)`` around the lowest ``shown_mm`` of its true ``column``,
    ``margin_mm`` either side of it."""
    rows = np.flatnonzero(column.any(0))
    bottom = rows[-1] + 1
    top = max(rows[0], bottom - int(shown_mm / spacing_mm))
    across = np.flatnonzero(column[:, top:bottom].any(1))
    margin = int(margin_mm / spacing_mm)
    return slice(max(across[0] - margin, 0), across[-1] + margin), slice(top, bottom)


def main(out: str, *folders_and_titles: str) -> None:
    pairs = list(zip(folders_and_titles[::2], folders_and_titles[1::2]))
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.6), squeeze=False)
    for ax, (folder, title) in zip(axes[0], pairs):
        study = load_view(folder, "lateral")
        column = np.asarray(study["label"][0]) > 0
        window = lumbar_window(column, float(abs(study["image"].affine[0, 0])))
        ax.imshow(detail(study["image"])[window].T, cmap="gray")
        ax.contour(column[window].T, [0.5], colors="lime", linewidths=0.8)
        ax.set_title(title)
        ax.set_axis_off()
    plt.tight_layout()
    plt.savefig(out, dpi=60)


if __name__ == "__main__":
    main(*sys.argv[1:])
