"""Real laterals with and without their large scale: the picture in ``docs/real_anatomy.md``. Top: each
``monai-spine drr`` lateral of the real CT as displayed; bottom: the same less its Gaussian blur of σ 20 mm
(``RandFlattenLowFrequency`` with its whole large scale removed), where the lumbar column shows as the texture of
its bodies and discs rather than as a brighter band. Green: the true column (``lateral_spine.nii.gz``); red: the
radiograph bundle's mask as the bi-planar route takes it.

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 4 --seed 11 --modalities biplanar --out real/
    python docs/make_lateral_texture_figure.py docs/images/real_anatomy_lateral_texture.png \\
        real/study_0000 real/study_0001 real/study_0002
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from monai_spine.pipelines.biplanar import radiograph_segmenter
from monai_spine.transforms import LoadRadiograph, RandFlattenLowFrequency

LARGE_SCALE_SIGMA_MM = 20.0
FLATTEN = RandFlattenLowFrequency(share_range=(1.0, 1.0), sigma_mm_range=(LARGE_SCALE_SIGMA_MM,) * 2, prob=1.0)


def main(out: str, *studies: str) -> None:
    fig, axes = plt.subplots(2, len(studies), figsize=(4.2 * len(studies), 6.4), squeeze=False)
    for column, study in enumerate(studies):
        folder = Path(study)
        image = LoadRadiograph("lateral")(folder / "lateral.dcm")
        truth = np.asarray(LoadRadiograph("lateral")(folder / "lateral_spine.nii.gz")[0]) > 0
        mask = np.asarray(radiograph_segmenter(image, "lateral")[0]) > 0
        spacing = float(abs(image.affine[0, 0]))
        pixels = np.asarray(image[0], dtype=np.float64)
        detail = np.asarray(FLATTEN(image.float())[0], dtype=np.float64)
        extent = [0, pixels.shape[0] * spacing, pixels.shape[1] * spacing, 0]
        for row, (shown, title) in enumerate(((pixels, "as displayed"),
                                               (detail, f"less its blur (σ {LARGE_SCALE_SIGMA_MM:g} mm)"))):
            low, high = np.percentile(shown[truth], [1, 99])
            margin = (0.8 if row == 0 else 0.3) * (high - low)
            ax = axes[row, column]
            ax.imshow(shown.T, cmap="gray", vmin=low - margin, vmax=high + margin, extent=extent)
            for outline, colour in ((truth, "lime"), (mask, "red")):
                ax.contour(outline.T, [0.5], colors=colour, linewidths=0.9, extent=extent, origin="upper")
            ax.set_title(f"{folder.name}, lateral {title}", fontsize=9)
            ax.set_xlabel("mm, toward the front", fontsize=8)
            ax.set_ylabel("mm, toward the feet", fontsize=8)
    fig.suptitle("Real CT renders: truth green, radiograph bundle's mask red", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main(*sys.argv[1:])
