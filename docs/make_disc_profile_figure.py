"""The discs in a real CT's DXA and in the phantom's, and what ``align``'s stage 3 compares: the picture in
``docs/alignment.md``. Top: the lowest 230 mm of each study's DXA around its spine; bottom: the DXA's and the
in-phase MRI's disc profiles (``registration.discs``: per row the bone image over the middle 90 % of the true spine
mask, per slice the MRI inside its true mask, each less its 10 mm trend), the MRI laid on the DXA's heights by the
true matrix; the MRI profile's periodicity (``disc_periodicity``) in the legend: stage 3 applies from 0.65.

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 5 --seed 11 --modalities dxa,mri --out real/
    monai-spine phantom --n 10 --seed 5150 --modalities dxa,mri --dxa-pixel 0.5:2.5 --scoliosis-share 0.5 \\
        --out phantom/
    python docs/make_disc_profile_figure.py docs/images/disc_profiles.png real/study_0000 phantom/study_0001 \\
        phantom/study_0006
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from monai.data.utils import affine_to_spacing

from monai_spine.registration import apply_matrix
from monai_spine.registration.discs import (
    PROFILE_STEP_MM,
    detrended_profile,
    disc_periodicity,
    dxa_disc_profile,
    mri_disc_profile,
)
from monai_spine.transforms import LoadRadiograph, LoadVolume

SHOWN_MM = 230.0


def _band(heights: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A profile as stage 3 compares it (:func:`detrended_profile`), scaled to unit standard deviation."""
    grid = np.arange(heights.min(), heights.max(), PROFILE_STEP_MM)
    band = detrended_profile(heights, values, grid)
    return grid, band / np.nanstd(band)


def main(out: str, *studies: str) -> None:
    fig, axes = plt.subplots(2, len(studies), figsize=(4.2 * len(studies), 7.5), squeeze=False,
                             gridspec_kw={"height_ratios": [2.2, 1]})
    for column, study in enumerate(studies):
        folder = Path(study)
        dxa, dxa_mask = (LoadRadiograph()(folder / name) for name in ("dxa.dcm", "dxa_spine.nii.gz"))
        mri, mri_mask = (LoadVolume()(folder / name) for name in ("mri_in_phase.nii.gz", "mri_spine.nii.gz"))
        truth = np.asarray(json.loads((folder / "truth.json").read_text())["matrix_mri_to_dxa"])
        spacing = affine_to_spacing(dxa.affine, r=2).numpy()
        inside = np.asarray(dxa_mask[0]) > 0
        rows, columns = np.flatnonzero(inside.any(0)), np.flatnonzero(inside.any(1))
        bottom = rows.max() * spacing[1]
        crop = np.asarray(dxa[0], dtype=np.float64)[
            max(columns.min() - int(40 / spacing[0]), 0): columns.max() + int(40 / spacing[0]),
            max(rows.min(), rows.max() - int(SHOWN_MM / spacing[1])): rows.max() + 1]
        low, high = np.percentile(crop, [5, 99.5])
        top = bottom - crop.shape[1] * spacing[1]
        ax = axes[0, column]
        ax.imshow(crop.T, cmap="gray", vmin=low, vmax=high, extent=[0, crop.shape[0] * spacing[0], bottom, top])
        ax.set_title(f"{folder.parent.name}/{folder.name}: DXA, {spacing[1]:.2f} mm pixels", fontsize=9)
        ax.set_ylabel("mm, toward the feet", fontsize=8)
        heights, values = dxa_disc_profile(dxa, dxa_mask)
        centres, mri_values = mri_disc_profile(mri, mri_mask)
        ax = axes[1, column]
        ax.plot(*_band(heights, values), lw=1.0, label="DXA: bone over the mask's middle 90 %")
        mri_heights, mri_band = _band(apply_matrix(truth, centres)[:, 1], mri_values)
        periodicity, period = disc_periodicity(mri_band)
        ax.plot(mri_heights, mri_band, lw=1.0,
                label=f"MRI in-phase: inside the mask (periodicity {periodicity:.2f} at {period:.0f} mm)")
        ax.set_xlim(top, bottom)
        ax.set_xlabel("height in the DXA, mm (true pose)", fontsize=8)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Discs: the real CT's in-phase MRI repeats every level and dips with its DXA (stage 3 applies); the "
                 "phantom's MRI discs are not darker than its marrow (it does not)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main(*sys.argv[1:])
