"""The radiograph bundle finds the lumbar column by its brightness: the picture in ``docs/real_anatomy.md``. For each
real lateral given, left: the lateral as rendered, with the true column (green, ``lateral_spine.nii.gz``) and the
bundle's mask (red); right: the same lateral with the true column, blurred by σ 2 mm, lifted by 2 % of the image's
1–99 % range (about the phantom's column contrast), and the bundle's mask on that. Each panel is the lowest 260 mm
of the column ± 90 mm across, on the bundle's 2 mm grid (``make_bowel_gas_figure.load_view``).

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 8 --seed 12 --modalities biplanar --out real/
    python docs/make_column_brightness_figure.py docs/images/real_anatomy_column_brightness.png \\
        real/study_0002 real/study_0003
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from make_bowel_gas_figure import load_view
from make_lumbar_lateral_figure import lumbar_window
from scipy.ndimage import gaussian_filter

from monai_spine.segmentation import segment_radiograph

LIFT_SHARE = 0.02
"""The lift over the true column, as a share of the image's 1st–99th percentile range."""
LIFT_SIGMA_MM = 2.0
SHOWN_MM, MARGIN_MM = 260.0, 90.0


def lifted(image: torch.Tensor, column: np.ndarray, spacing_mm: float) -> torch.Tensor:
    """``image`` ``(1, W, H)`` plus :data:`LIFT_SHARE` of its 1–99 % range over ``column`` ``(W, H)`` blurred by
    :data:`LIFT_SIGMA_MM`."""
    values = np.asarray(image[0], dtype=np.float64)
    low, high = np.percentile(values, [1, 99])
    lift = LIFT_SHARE * (high - low) * gaussian_filter(column.astype(np.float64), LIFT_SIGMA_MM / spacing_mm)
    out = image.clone()
    out[0] = torch.as_tensor(values + lift, dtype=out.dtype)
    return out


def main(out: str, *folders: str) -> None:
    fig, axes = plt.subplots(1, 2 * len(folders), figsize=(4.2 * 2 * len(folders), 5.2), squeeze=False)
    for k, folder in enumerate(folders):
        study = load_view(folder, "lateral")
        image, column = study["image"], np.asarray(study["label"][0]) > 0
        spacing = float(abs(image.affine[0, 0]))
        window = lumbar_window(column, spacing, SHOWN_MM, MARGIN_MM)
        for ax, (shown, title) in zip(axes[0, 2 * k : 2 * k + 2], ((image, "as rendered"),
                                                                   (lifted(image, column, spacing), "column +2 %"))):
            mask = np.asarray(segment_radiograph(shown, "lateral", "cpu")[0]) > 0.5
            dice = 2 * (mask & column).sum() / (mask.sum() + column.sum())
            values = np.asarray(shown[0], dtype=np.float64)[window]
            low, high = np.percentile(values, [1, 99])
            ax.imshow(np.clip((values.T - low) / (high - low), 0, 1), cmap="gray")
            ax.contour(column[window].T, [0.5], colors="lime", linewidths=0.8)
            ax.contour(mask[window].T, [0.5], colors="red", linewidths=0.8)
            ax.set_title(f"{Path(folder).name}, {title}: Dice {dice:.2f}")
            ax.set_axis_off()
    plt.tight_layout()
    plt.savefig(out, dpi=60)


if __name__ == "__main__":
    main(*sys.argv[1:])
