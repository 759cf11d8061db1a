"""Draw ``docs/images/randomisation.png``: a phantom study's DXA, AP radiograph and an MRI-like coronal slice made from
its CT's tissue labels, each as written and in five random draws of its randomisation (spine mask outlined).

Make the study first, then run from the repository root::

    monai-spine phantom --n 1 --seed 0 --out /tmp/p
    python docs/make_randomisation_figure.py /tmp/p/study_0000
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from monai_spine.transforms import (
    LoadRadiograph,
    LoadVolume,
    TissueLabel,
    ct_to_tissue_labels,
    dxa_randomisation,
    mri_randomisation,
    radiograph_randomisation,
)

OUT = Path(__file__).parent / "images" / "randomisation.png"
DRAWS = 5


def _panel(ax, image, mask, spacing, title):
    """One image ``(W, H)`` in the coronal display (rows down), its mask ``(W, H)`` outlined."""
    image, mask = np.asarray(image, dtype=np.float32), np.asarray(mask, dtype=np.float32)
    lo, hi = np.percentile(image, [0.5, 99.5])
    ax.imshow(image.T, cmap="gray", vmin=lo, vmax=hi, aspect=spacing[1] / spacing[0])  # pixel coordinates
    if mask.any():
        ax.contour(mask.T, levels=[0.5], colors="#ffd400", linewidths=0.6)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def _mri_inputs(study: Path) -> dict:
    """Tissue labels of the study's CT (discs painted from the spine mask minus the vertebrae) and its spine mask."""
    load = LoadVolume()
    ct, vertebrae, spine = (load(study / f"{name}.nii.gz") for name in ("ct", "ct_vertebrae", "ct_spine"))
    tissues = ct_to_tissue_labels(ct)
    tissues[(spine > 0) & (vertebrae == 0)] = TissueLabel.DISC
    return {"tissues": tissues, "label": (spine > 0).to(torch.uint8)}


def _coronal(volume: torch.Tensor, spine: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The coronal slice ``(X, Z)`` through the spine's middle depth, and the mask's."""
    depth = int(torch.nonzero(spine[0].any(0).any(1)).float().mean())  # voxel axis 1 runs anterior
    return volume[0, :, depth, :].numpy(), spine[0, :, depth, :].numpy()


def main(study: Path) -> None:
    rows = [
        ("DXA bone image", dxa_randomisation(), {"image": LoadRadiograph()(study / "dxa.dcm"),
                                                "label": LoadRadiograph()(study / "dxa_spine.nii.gz")}),
        ("AP radiograph", radiograph_randomisation(), {"image": LoadRadiograph()(study / "ap.dcm"),
                                                       "label": LoadRadiograph()(study / "ap_spine.nii.gz")}),
        ("MRI from CT tissue labels", mri_randomisation(), _mri_inputs(study)),
    ]
    fig, axes = plt.subplots(len(rows), DRAWS + 1, figsize=(2.3 * (DRAWS + 1), 3.6 * len(rows)))
    for row, (name, transform, data) in zip(axes, rows):
        for column, ax in enumerate(row):
            if column == 0 and "image" not in data:
                image, mask = _coronal(data["tissues"], data["label"])
                title = f"{name}: tissue labels"
            else:
                out = data if column == 0 else transform.set_random_state(column)(dict(data))
                image, mask = (_coronal(out["image"], out["label"]) if out["image"].ndim == 4
                               else (out["image"][0].numpy(), out["label"][0].numpy()))
                title = f"{name}: as written" if column == 0 else f"draw {column}"
            spacing = data["label"].pixdim.numpy()[[0, -1]]
            _panel(ax, image, mask, spacing, title)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/p/study_0000"))
