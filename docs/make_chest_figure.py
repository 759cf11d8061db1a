"""The DXA segmentation bundle on a real chest radiograph (``RG1_UNCI.dcm`` of pydicom-data): the picture in
``docs/real_anatomy.md``. The file has no truth; the thoracic spine runs down the middle of the image.

    python docs/make_chest_figure.py docs/images/real_chest_radiograph.png
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.data.utils import affine_to_spacing
from pydicom.data import get_testdata_file

from monai_spine.segmentation import segment_dxa
from monai_spine.transforms import LoadRadiograph


def main(out: str) -> None:
    path = get_testdata_file("RG1_UNCI.dcm")
    image = LoadRadiograph()(path)
    mask = segment_dxa(image)
    spacing = affine_to_spacing(image.affine, r=2).tolist()
    width, height = image.shape[1] * spacing[0], image.shape[2] * spacing[1]
    fig, ax = plt.subplots(figsize=(6, 6.5))
    extent = (0, width, height, 0)
    ax.imshow(image[0].numpy().T, cmap="gray", extent=extent)
    ax.contour(np.linspace(0, width, image.shape[1]), np.linspace(0, height, image.shape[2]), mask[0].numpy().T,
               levels=[0.5], colors="c", linewidths=1.2)
    warnings = "; ".join(mask.meta.get("qc_warnings", [])) or "no QC warning"
    ax.set_title(f"RG1_UNCI.dcm (real PA chest CR): DXA bundle mask\n{warnings}", fontsize=8)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z (mm)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1])
