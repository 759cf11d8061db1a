"""Draw the real CT's DXA render with the classic CT conversion and with ``drr``'s, beside a phantom DXA:
``docs/images/real_anatomy_dxa_soft_tissue.png`` (or ``--out``).

Left: study 0 of ``monai-spine drr --seed 11`` of the real CT of ``../shared/real_anatomy/`` (TotalSegmentator's
example CT and its vertebra labels; Wasserthal et al., Radiology: Artificial Intelligence 2023) with bone counted
from 0 HU everywhere, the classic bilinear conversion, which turns muscle and organs into part bone. Middle: the same
acquisition as ``drr`` renders it (bone from 0 HU inside the vertebra labels, from ``SOFT_TISSUE_MAX_HU`` elsewhere;
``docs/drr.md``). Right: a phantom study's own DXA (``monai-spine phantom --soft-tissue``), whose materials carry their
own attenuation. All three share one grey scale in g/cm², and each title gives the median bone image over the body's
soft tissue (the pixels whose ray crosses no bone) and over the spine column.

Run from the repository root: ``python docs/make_soft_tissue_figure.py [--out PATH]``.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.data.utils import affine_to_spacing

from monai_spine.cli import main as monai_spine
from monai_spine.drr import SOFT_TISSUE_MAX_HU, prepare_source, read_labelled_ct, render_study, study_seed
from monai_spine.transforms import LoadRadiograph

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real_anatomy"
OUT = Path(__file__).parent / "images" / "real_anatomy_dxa_soft_tissue.png"
SEED = 11
VMAX_G_CM2 = 2.0
"""Top of the shared grey scale, g/cm²."""


def _panel(ax, bone: np.ndarray, soft: np.ndarray, mask: np.ndarray, pixel_mm, title: str) -> None:
    """``bone``, ``soft``, ``mask``: ``(W, H)``; soft tissue: the body (soft image above 1 g/cm²) outside the spine
    column and below half the spine's median bone (the pelvis and ribs left out)."""
    mask = mask > 0
    spine = float(np.median(bone[mask]))
    tissue = float(np.median(bone[(soft > 1.0) & ~mask & (bone < 0.5 * spine)]))
    w, h = bone.shape
    ax.imshow(bone.T, cmap="gray", vmin=0.0, vmax=VMAX_G_CM2, extent=(0, w * pixel_mm[0], h * pixel_mm[1], 0))
    ax.set_title(f"{title}\nsoft tissue {tissue:.2f}, spine {spine:.2f} g/cm²", fontsize=9)
    ax.set_xlabel("mm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    ct = read_labelled_ct(REAL / "lumbar_ct.nii.gz", REAL / "lumbar_ct_vertebrae.nii.gz")
    fig, axes = plt.subplots(1, 3, figsize=(13, 6))
    for ax, break_hu, title in ((axes[0], 0.0, "real CT, bone from 0 HU everywhere (before)"),
                                (axes[1], SOFT_TISSUE_MAX_HU, "real CT as drr renders it now")):
        source = prepare_source(ct, soft_tissue_max_hu=break_hu)
        dxa = render_study(source, study_seed(SEED, 0), ("dxa",)).dxa
        _panel(ax, *(np.asarray(a, dtype=np.float32) for a in (dxa.bone, dxa.soft, dxa.mask)), dxa.pixel_mm, title)
    with tempfile.TemporaryDirectory() as tmp:
        assert monai_spine(["phantom", "--n", "1", "--seed", "3", "--workers", "1", "--modalities", "dxa",
                            "--soft-tissue", "--out", tmp]) == 0
        study = Path(tmp) / "study_0000"
        images = [LoadRadiograph()(str(study / name)) for name in ("dxa.dcm", "dxa_soft.dcm", "dxa_spine.nii.gz")]
        pixel_mm = affine_to_spacing(images[0].affine, r=2).tolist()
        bone, soft, mask = (np.asarray(image[0], dtype=np.float32) for image in images)
        _panel(axes[2], bone, soft, mask, pixel_mm, "phantom DXA (its own materials)")
    fig.suptitle("DXA bone images on one grey scale, 0–2 g/cm². Real CT: TotalSegmentator example CT "
                 "(Wasserthal et al., Radiology: AI 2023, Apache-2.0)", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
