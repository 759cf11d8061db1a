"""``monai-spine cohort (--datalist FILE | --input DIR | --pairs CSV) --out DIR``: the DXA regressor's paired cohort."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "cohort",
        help="Paired DXA ↔ MRI cohort → aligned target curves, DXA crops and a MONAI datalist for the regressor.",
        description="For every DXA ↔ MRI pair: spine masks, rigid alignment with quality control, the six target "
        "curves in the DXA frame (coronal from the DXA, sagittal from the MRI) and the 224 × 224 DXA crop, written "
        "to DIR/pairs/<id>/; then DIR/dataset.json (training / validation / test 80/10/10, balanced for scoliosis) "
        "and DIR/rejections.csv. Resumable: finished pairs are skipped. Rejected and failed pairs do not stop the "
        "build (exit 0). See docs/cohort.md.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--datalist", metavar="FILE", action="append",
                        help="a MONAI datalist with id, dxa, mri per entry (e.g. a phantom cohort's dataset.json)")
    source.add_argument("--input", metavar="DIR", help="participant folders DIR/<id>/ with dxa.dcm and mri.nii.gz "
                        "(or mri.nii, or a DICOM series folder mri/)")
    source.add_argument("--pairs", metavar="CSV", help="a CSV list with columns id,dxa,mri (paths relative to it)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: one per CPU core; 1: in this process)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the pairs on a Dask cluster, e.g. tcp://host:8786 (needs monai-spine[dask])")
    parser.add_argument("--use-given-masks", action="store_true",
                        help="use the pairs' own spine masks (dxa_spine, mri_spine) instead of segmenting: for "
                        "phantoms and tests")
    parser.add_argument("--targets-from-truth", action="store_true",
                        help="rendered studies (phantom, drr): crops and targets from each study's truth.json, no MRI "
                        "or alignment; --datalist may be given several times and each study keeps its split")
    parser.add_argument("--iou-threshold", type=float, default=0.7, help="least IoU of an accepted pair (default 0.7)")
    parser.add_argument("--crop-pixel", type=float, default=None, metavar="MM",
                        help="crop pixel size in mm (default 3.2: 224 pixels hold a 690 mm spine)")
    parser.add_argument("--crop-fill", type=float, default=None, metavar="SHARE",
                        help="the crop's pixel size follows the spine's height so that the spine fills this share of "
                        "its rows (at most 0.95), --crop-pixel at most: the crop_spine_fill of the regressor bundle "
                        "to be trained, if it sets one (default: a fixed pixel size)")
    parser.add_argument("--cut-fields", type=int, default=0, metavar="K",
                        help="with --targets-from-truth: K more pairs per training and validation study, each cut to a "
                        "random lumbar, chest or thoraco-lumbar field of view (default 0)")
    parser.add_argument("--soft-residual", type=float, default=0.0, metavar="A",
                        help="with --targets-from-truth: each training and validation DXA gets its soft-tissue image "
                        "times a share drawn from [0, A] added, the residual of an imperfect dual-energy "
                        "decomposition (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the datalist's split (default 0)")
    parser.set_defaults(run=run)
    return parser


def _pairs(args: argparse.Namespace):
    from monai_spine.cli import UsageError
    from monai_spine.cohort import pairs_from_csv, pairs_from_datalist, pairs_from_folder

    if args.datalist:
        if len(args.datalist) > 1:
            raise UsageError("--datalist more than once needs --targets-from-truth.")
        return pairs_from_datalist(args.datalist[0])
    if args.input:
        return pairs_from_folder(args.input)
    return pairs_from_csv(args.pairs)


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import option_values
    from monai_spine.cohort import CROP_PIXEL_MM
    from monai_spine.geometry import check_spine_fill

    crop_pixel_mm = CROP_PIXEL_MM if args.crop_pixel is None else args.crop_pixel
    with option_values():
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}.")
        if not crop_pixel_mm > 0:
            raise ValueError(f"the crop pixel size must be positive, got {crop_pixel_mm} mm.")
        check_spine_fill(args.crop_fill, "--crop-fill")
        if args.cut_fields < 0 or (args.cut_fields and not args.targets_from_truth):
            raise ValueError(f"--cut-fields needs --targets-from-truth and K >= 0, got {args.cut_fields}.")
        if args.soft_residual < 0 or (args.soft_residual and not args.targets_from_truth):
            raise ValueError(f"--soft-residual needs --targets-from-truth and A >= 0, got {args.soft_residual}.")
    if args.targets_from_truth:  # registers nothing: runs without SimpleITK (a GPU training machine)
        return _from_truth(args, crop_pixel_mm)
    return _from_pairs(args, crop_pixel_mm)


def _from_pairs(args: argparse.Namespace, crop_pixel_mm: float) -> int:
    from monai_spine.cli import option_values
    from monai_spine.cohort import PairSettings, build_cohort
    from monai_spine.registration import AlignmentConfig

    with option_values():
        settings = PairSettings(AlignmentConfig(iou_threshold=args.iou_threshold), crop_pixel_mm,
                                args.use_given_masks, args.crop_fill)
    summary = build_cohort(_pairs(args), args.out, settings, args.workers, args.scheduler, args.seed)
    print(f"monai-spine cohort: {summary.line()}; datalist {args.out}/dataset.json, "
          f"rejections {args.out}/rejections.csv")
    return 0


def _from_truth(args: argparse.Namespace, crop_pixel_mm: float) -> int:
    import os

    from monai_spine.cli import UsageError
    from monai_spine.cohort import build_truth_cohort

    if not args.datalist:
        raise UsageError("--targets-from-truth needs --datalist (rendered studies with truth.json).")
    document = build_truth_cohort(args.datalist, args.out, crop_pixel_mm, args.workers or os.cpu_count() or 1,
                                  args.crop_fill, args.cut_fields, args.soft_residual)
    counts = ", ".join(f"{split} {len(document[split])}" for split in ("training", "validation", "test"))
    print(f"monai-spine cohort: targets from truth: {counts}; left out {len(document['rejected'])} (spine beyond "
          f"the crop); datalist {args.out}/dataset.json")
    return 0
