"""Bowel gas on the real CT's renders and on the phantom: the picture in ``docs/real_anatomy.md``. Each image is
shown less its Gaussian blur of σ 8 mm, where gas loops and vertebral bodies show as texture. Per view, left to
right: a phantom study with ``RandBowelGasd`` (seed 7 for the AP, 8 for the lateral), the same study as rendered,
and a ``monai-spine drr`` render of the real CT; every image on the radiograph bundle's 2 mm grid (its
``load_transforms``).

    monai-spine phantom --n 10 --seed 2032 --modalities biplanar --soft-tissue --scoliosis-share 0.5 --out test/
    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 4 --seed 11 --modalities biplanar --out real/
    python docs/make_bowel_gas_figure.py docs/images/real_anatomy_bowel_gas.png test/study_0001 real/study_0002
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.bundle import ConfigParser
from monai.transforms import Compose

from monai_spine.segmentation.inputs import RADIOGRAPH_VIEWS
from monai_spine.transforms import RandBowelGasd, RandFlattenLowFrequency

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "radiograph_spine_segmentation"
DETAIL_SIGMA_MM = 8.0
FLATTEN = RandFlattenLowFrequency(share_range=(1.0, 1.0), sigma_mm_range=(DETAIL_SIGMA_MM,) * 2, prob=1.0)
GAS_SEEDS = {"ap": 7, "lateral": 8}


@cache
def bundle_grid_loader() -> Compose:
    """The radiograph bundle's ``load_transforms`` (``configs/train.json``): load, 2 mm grid, tensor."""
    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "train.json"))
    parser["bundle_root"] = str(BUNDLE)
    return Compose(parser.get_parsed_content("load_transforms"))


def load_view(folder: str, view: str) -> dict:
    """A study's ``view`` (``"ap"`` or ``"lateral"``) and its true spine mask on the radiograph bundle's 2 mm grid
    (:func:`bundle_grid_loader`): ``{"image", "label"}`` ``(1, W, H)``."""
    files = {"image": Path(folder) / f"{view}.dcm", "label": Path(folder) / f"{view}_spine.nii.gz"}
    return bundle_grid_loader()({**{key: str(path) for key, path in files.items()}, "frame": RADIOGRAPH_VIEWS[view]})


def detail(image) -> np.ndarray:
    """``image`` ``(1, W, H)`` less its Gaussian blur of :data:`DETAIL_SIGMA_MM` (``RandFlattenLowFrequency`` with
    its whole large scale removed), 1st–99th percentile to 0–1, ``(W, H)``."""
    high = np.asarray(FLATTEN(image.float())[0], dtype=np.float64)
    low, top = np.percentile(high, [1, 99])
    return np.clip((high - low) / (top - low), 0, 1)


def main(out: str, phantom: str, real: str) -> None:
    fig, axes = plt.subplots(1, 6, figsize=(30, 8))
    for k, view in enumerate(("ap", "lateral")):
        rendered = load_view(phantom, view)
        gas = RandBowelGasd("image", "label", prob=1.0).set_random_state(GAS_SEEDS[view])(dict(rendered))
        panels = ((gas["image"], f"phantom {view} + RandBowelGas"), (rendered["image"], "phantom"),
                  (load_view(real, view)["image"], "real CT, drr"))
        for ax, (image, title) in zip(axes[3 * k : 3 * k + 3], panels):
            ax.imshow(detail(image).T, cmap="gray")
            ax.set_title(title, fontsize=20)
    plt.tight_layout()
    plt.savefig(out, dpi=40)


if __name__ == "__main__":
    main(*sys.argv[1:])
