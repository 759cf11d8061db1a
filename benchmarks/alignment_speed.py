"""MRI → DXA alignment: seconds per pair on one CPU core, and errors against the phantom's truth.

Targets (issue 5): at most 1 s per pair on one core, median rotation error at most 0.2°, median translation
error at most 0.5 mm.

    python benchmarks/alignment_speed.py --n 10 --posture 4 --cut-mm 70

Phantom studies (default ``StudyConfig``: whole-body DXA at 1 mm, UK Biobank-like MRI) are rendered first; the
timing covers ``align_pair`` on the spine masks already in memory (no segmentation, no file loading), with torch
and SimpleITK on one thread. Errors: the rotation difference, and the displacement difference at the centroid of
the MRI's projected spine mask (a rotation error adds to it away from the spine; the difference of the matrices'
translation columns, which sit at the MRI frame's origin, is printed too). Posture-changed pairs (``posture=True``)
and unrelated pairs (the DXA of one study, the MRI of the next) should all be rejected; the posture bends are
printed, as bends of a few millimetres are within what a rigid map leaves on the phantom's masks. With ``--cut-mm``,
every rigid pair is aligned a second time with the MRI mask's lowest ``cut-mm`` mm dropped (a segmentation that
misses the last level or two) and scored against the same truth.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import SimpleITK as sitk
import torch
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing

from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.registration import align_pair, apply_matrix, coronal_masks, rotation_deg
from monai_spine.registration.coronal import to_array


def _masks(study):
    """The DXA mask ``(1, W, H)`` and the MRI mask ``(1, X, Y, Z)`` as the loaders give them."""
    volumes = study.mri.volumes
    dxa = MetaTensor(study.dxa.mask.to(torch.uint8)[None],
                     affine=torch.diag(torch.tensor([*study.dxa.image.pixel_mm, 1.0])))
    mri = MetaTensor(volumes.spine_mask.to(torch.uint8)[None], affine=torch.as_tensor(volumes.grid.affine_ras()))
    return dxa, mri


def _cut_bottom(mri_mask, length_mm: float):
    """The MRI mask without its lowest ``length_mm`` (rows toward the feet)."""
    mask = mri_mask.clone()
    rows = np.flatnonzero(mask[0].numpy().any(axis=(0, 1)))
    step = float(affine_to_spacing(mri_mask.affine, r=3)[2])
    mask[..., rows[-1] - int(round(length_mm / step)) + 1 :] = 0
    return mask


def _timed(dxa_mask, mri_mask):
    start = time.perf_counter()
    alignment = align_pair(dxa_mask, mri_mask)
    return alignment, time.perf_counter() - start


def _errors(alignment, truth, dxa_mask, mri_mask) -> tuple[float, float, float]:
    """Rotation error (deg), displacement error at the MRI spine's centroid (mm), translation-column error (mm)."""
    matrix = alignment.matrix_mri_to_dxa
    moving = to_array(coronal_masks(dxa_mask, mri_mask)[1])
    centre = (np.argwhere(moving > 0) * affine_to_spacing(dxa_mask.affine, r=2).numpy()).mean(axis=0, keepdims=True)
    at_spine = np.linalg.norm(apply_matrix(matrix, centre) - apply_matrix(truth, centre))
    column = np.linalg.norm(matrix[:2, 2] - truth[:2, 2])
    return abs(rotation_deg(matrix) - rotation_deg(truth)), float(at_spine), float(column)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="rigid pairs")
    parser.add_argument("--posture", type=int, default=4, help="posture-changed pairs")
    parser.add_argument("--seed", type=int, default=1000, help="first study seed")
    parser.add_argument("--trunk", action="store_true", help="trunk-only DXA instead of whole-body")
    parser.add_argument("--cut-mm", type=float, default=0.0, help="also align each rigid pair with this much of the "
                        "MRI mask's lower end dropped (0: not)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    config = StudyConfig(dxa_whole_body=not args.trunk)

    print(f"rendering {args.n} rigid and {args.posture} posture-changed studies ...", flush=True)
    rigid = [make_study(args.seed + i, config, posture=False) for i in range(args.n)]
    bent = [make_study(args.seed + args.n + i, config, posture=True) for i in range(args.posture)]
    align_pair(*_masks(rigid[0]))  # warm-up: imports, caches

    seconds, errors, accepted, cut = [], [], [], []
    print("rigid pairs: seconds, rotation error (deg), translation error at the spine / of the column (mm), IoU,\n"
          "             outline RMS (mm), centre-line deviation (mm), accepted")
    for study in rigid:
        masks = _masks(study)
        alignment, elapsed = _timed(*masks)
        seconds.append(elapsed)
        errors.append(_errors(alignment, study.mri.volumes.matrix_mri_to_dxa(study.dxa.image), *masks))
        accepted.append(alignment.accepted)
        print(f"  seed {study.seed}: {elapsed:5.2f}  {errors[-1][0]:6.3f}  {errors[-1][1]:5.2f} / {errors[-1][2]:5.2f}"
              f"  {alignment.iou:.3f}  {alignment.spine_stage.rms_mm:.2f}  {alignment.centre_deviation_mm:.2f}"
              f"  {alignment.accepted} {alignment.reason}")
        if args.cut_mm > 0:
            alignment, elapsed = _timed(masks[0], _cut_bottom(masks[1], args.cut_mm))
            seconds.append(elapsed)
            cut.append((*_errors(alignment, study.mri.volumes.matrix_mri_to_dxa(study.dxa.image), *masks),
                        alignment.accepted))
            print(f"    MRI mask {args.cut_mm:g} mm shorter at the bottom: {cut[-1][0]:6.3f}  {cut[-1][1]:5.2f}  "
                  f"{alignment.accepted} {alignment.reason}")
    print("posture-changed pairs:  bend at the lowest vertebra (mm), accepted, reason")
    for study in bent:
        alignment, elapsed = _timed(*_masks(study))
        seconds.append(elapsed)
        bend = study.mri.volumes.posture.bend_mm
        print(f"  seed {study.seed}: bend {bend:6.1f}  {alignment.accepted}  {alignment.reason}")
    print("unrelated pairs (DXA of one study, MRI of the next): IoU, outline RMS, centre-line deviation, accepted")
    unrelated = []
    for first, second in itertools.pairwise(rigid):
        alignment, elapsed = _timed(_masks(first)[0], _masks(second)[1])
        seconds.append(elapsed)
        unrelated.append(alignment.accepted)
        print(f"  seeds {first.seed}/{second.seed} (spines {first.shape.length_mm:.0f} / "
              f"{second.shape.length_mm:.0f} mm, Cobb {first.shape.cobb_deg:.0f}° / {second.shape.cobb_deg:.0f}°): "
              f"{alignment.iou:.3f}  {alignment.spine_stage.rms_mm:.1f}  {alignment.centre_deviation_mm:.1f}  "
              f"{alignment.accepted}")
    print(f"  {sum(unrelated)} of {len(unrelated)} accepted")

    errors = np.asarray(errors)
    print(f"\nseconds per pair (one core, masks given): median {np.median(seconds):.2f}, max {np.max(seconds):.2f}")
    print(f"rotation error: median {np.median(errors[:, 0]):.3f}°, max {errors[:, 0].max():.3f}°")
    print(f"translation error at the spine: median {np.median(errors[:, 1]):.2f} mm, max {errors[:, 1].max():.2f} mm "
          f"(translation column: median {np.median(errors[:, 2]):.2f} mm)")
    print(f"rigid pairs accepted: {sum(accepted)} of {len(rigid)}")
    if cut:
        cut = np.asarray(cut, dtype=float)
        print(f"MRI mask {args.cut_mm:g} mm shorter: rotation error median {np.median(cut[:, 0]):.3f}°, translation "
              f"error at the spine median {np.median(cut[:, 1]):.2f} mm, max {cut[:, 1].max():.2f} mm, accepted "
              f"{int(cut[:, 3].sum())} of {len(cut)}")


if __name__ == "__main__":
    main()
