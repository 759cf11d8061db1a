"""Draw ``docs/images/phantom_study.png``: one phantom study's CT slices, MRI, DXA, AP and lateral, with the
truth curves on the projections. Run from the repository root: ``python docs/make_phantom_figure.py``."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from monai_spine.demo import DEMO_SEED
from monai_spine.phantom.study import make_study

OUT = Path(__file__).parent / "images" / "phantom_study.png"


def _panel(ax, image, spacing, title, window=None, curves=()):
    image = np.asarray(image, dtype=np.float32)
    lo, hi = window or np.percentile(image, [1, 99.5])
    w, h = image.shape
    ax.imshow(image.T, cmap="gray", vmin=lo, vmax=hi, extent=(0, w * spacing[0], h * spacing[1], 0))
    for curve in curves:
        ax.plot(curve[:, 0], curve[:, 1], lw=0.8, color="#ffd400")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def main():
    study = make_study(DEMO_SEED, scoliotic=True)
    ct, mri, grid = study.ct.hu.numpy(), study.mri.volumes, study.grid
    ix = int(np.argmin(np.abs(grid.to_mm(np.c_[np.arange(grid.shape[0]), np.zeros((grid.shape[0], 2))])[:, 0])))
    spine_y = int(round(grid.to_index(study.centre_line[len(study.centre_line) // 2])[1]))
    fig, axes = plt.subplots(1, 6, figsize=(16, 6.5))
    _panel(axes[0], ct[:, spine_y, :], (grid.spacing[0], grid.spacing[2]), "CT, coronal slice (HU)", (-300, 900))
    _panel(axes[1], ct[ix, :, :], (grid.spacing[1], grid.spacing[2]), "CT, mid-sagittal slice", (-300, 900))
    water = mri.water.numpy()
    my = int(round(mri.grid.to_index(mri.phantom_to_mri(study.centre_line[104:105]))[0, 1]))
    _panel(axes[2], water[:, my, :], (mri.grid.spacing[0], mri.grid.spacing[2]), "MRI Dixon water, coronal (posed)")
    dxa, truth = study.dxa.image, study.dxa.truth
    _panel(axes[3], dxa.bone.numpy(), dxa.pixel_mm, "DXA bone image + truth curves",
           curves=(truth.coronal_centre, truth.coronal_right, truth.coronal_left))
    _panel(axes[4], study.ap.image.numpy(), study.ap.geometry.pixel_mm, "AP radiograph (slot scan) + truth",
           curves=tuple(study.ap.truth))
    _panel(axes[5], study.lateral.image.numpy(), study.lateral.geometry.pixel_mm, "Lateral radiograph + truth",
           curves=tuple(study.lateral.truth))
    shape = study.shape
    fig.suptitle(f"Phantom study {DEMO_SEED}: {shape.pattern} scoliosis, Cobb {shape.cobb_deg:.0f}°, kyphosis "
                 f"{shape.kyphosis_deg:.0f}°, lordosis {shape.lordosis_deg:.0f}°", fontsize=11)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
