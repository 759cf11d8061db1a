"""Draw a phantom study beside real anatomy: ``docs/images/phantom_vs_real_after.png`` (or ``--out``).

Top row: a phantom study's DXA bone image, AP and lateral radiographs (``monai-spine phantom``) and the real chest
radiograph ``RG1_UNCI.dcm`` of the ``pydicom-data`` package. Bottom row: the same three images rendered by
``monai-spine drr`` from the real abdominal CT of ``../shared/real_anatomy/`` (TotalSegmentator's example CT and its
vertebra labels; Wasserthal et al., Radiology: Artificial Intelligence 2023), and the phantom's AP cut to the chest
radiograph's field. Every image is read back from the written files, as a user would.

Run from the repository root: ``python docs/make_anatomy_figure.py [--out PATH] [--seed S]``; the ``before`` figure
was drawn by the same script from the code before issue 10's anatomy (``--out
docs/images/phantom_vs_real_before.png``).
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from pydicom.data import get_testdata_file

from monai_spine.cli import main as monai_spine
from monai_spine.transforms import LoadRadiograph

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real_anatomy"
OUT = Path(__file__).parent / "images" / "phantom_vs_real_after.png"
CHEST_FIELD_MM = 380.0
"""Height of the phantom AP crop matching the chest radiograph's field (from above the shoulders), mm."""


def _read(path: Path, frame: str = "coronal") -> tuple[np.ndarray, np.ndarray]:
    """A radiograph as ``(W, H)`` pixels in standard display and its ``(column, row)`` spacing, mm."""
    image = LoadRadiograph(frame)(str(path))
    spacing = np.abs(np.diag(np.asarray(image.affine))[:2])
    return np.asarray(image[0], dtype=np.float32), np.where(spacing > 0, spacing, 1.0)


def _panel(ax, image: np.ndarray, spacing, title: str) -> None:
    lo, hi = np.percentile(image, [1.0, 99.5])
    w, h = image.shape
    ax.imshow(image.T, cmap="gray", vmin=lo, vmax=hi, extent=(0, w * spacing[0], h * spacing[1], 0))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--soft-tissue", action="store_true", help="phantom with organs, gas, breasts, metal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        phantom, real = Path(tmp) / "phantom", Path(tmp) / "real"
        common = ["--n", "1", "--seed", str(args.seed), "--workers", "1"]
        soft = ["--soft-tissue"] if args.soft_tissue else []
        assert monai_spine(["phantom", *common, *soft, "--out", str(phantom), "--modalities", "dxa,biplanar"]) == 0
        assert (
            monai_spine(
                [
                    "drr",
                    "--ct",
                    str(REAL / "lumbar_ct.nii.gz"),
                    "--labels",
                    str(REAL / "lumbar_ct_vertebrae.nii.gz"),
                    *common,
                    "--out",
                    str(real),
                ]
            )
            == 0
        )
        images = {
            (source, view): _read(folder / "study_0000" / f"{view}.dcm", "lateral" if view == "lateral" else "coronal")
            for source, folder in (("phantom", phantom), ("real", real))
            for view in ("dxa", "ap", "lateral")
        }
    chest = _read(Path(get_testdata_file("RG1_UNCI.dcm")))
    fig, axes = plt.subplots(2, 4, figsize=(15, 10))
    names = {"dxa": "DXA bone image", "ap": "AP radiograph", "lateral": "lateral radiograph"}
    for column, view in enumerate(names):
        _panel(axes[0, column], *images[("phantom", view)], f"phantom {names[view]} (seed {args.seed})")
        _panel(axes[1, column], *images[("real", view)], f"real CT (TotalSegmentator) through drr: {names[view]}")
    _panel(axes[0, 3], *chest, "real chest radiograph RG1_UNCI (pydicom-data)")
    ap, spacing = images[("phantom", "ap")]
    rows = int(CHEST_FIELD_MM / spacing[1])
    _panel(axes[1, 3], ap[:, :rows], spacing, "phantom AP, cut to a chest field")
    fig.suptitle(
        "Phantom vs real anatomy. Real CT: TotalSegmentator example CT (Wasserthal et al., Radiology: AI "
        "2023, Apache-2.0)",
        fontsize=11,
    )
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
