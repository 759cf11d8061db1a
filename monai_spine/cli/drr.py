"""``monai-spine drr --ct CT --labels LABELS --n N --seed S --out DIR``: studies rendered from a labelled CT."""

from __future__ import annotations

import argparse

from .phantom import modality_groups

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "drr",
        help="Studies (DXA-like, AP and lateral, MRI-like and CT images with truth) rendered from a CT and its "
        "vertebra labels.",
        description="Render N studies of a CT (NIfTI or DICOM series folder, HU) and its vertebra label volume (on "
        "the CT's grid) into DIR/study_NNNN/ with a MONAI datalist DIR/dataset.json, each with its own sampled "
        "pose, field of view, geometry and exposure; files and truth.json as `monai-spine phantom` writes them. "
        "The same seed gives the same files. See docs/drr.md.",
    )
    parser.add_argument("--ct", required=True, metavar="CT", help="CT: NIfTI file or DICOM series folder (HU)")
    parser.add_argument("--labels", required=True, metavar="LABELS", help="vertebra label volume on the CT's grid")
    parser.add_argument("--n", type=int, default=1, help="number of studies (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="cohort seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--label-scheme", choices=("totalseg", "verse"), default="totalseg",
                        help="label ids: TotalSegmentator v2 (default) or VerSe")
    parser.add_argument("--device", default="cpu", help="torch device to render on, e.g. cuda (default cpu)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--modalities", type=modality_groups, default=None, metavar="LIST",
                        help="comma-separated groups to render and write, from ct, mri, dxa, biplanar (default all); "
                        "e.g. dxa,mri for the segmentation bundles' training data")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import UsageError
    from monai_spine.drr import make_drr_cohort
    from monai_spine.io.files import staged_output
    from monai_spine.studies import MODALITIES

    if args.n < 1 or args.workers < 1:
        raise UsageError(f"--n and --workers must be at least 1, got {args.n} and {args.workers}.")
    with staged_output(args.out) as stage:
        datalist = make_drr_cohort(args.ct, args.labels, args.n, args.seed, stage, args.label_scheme, args.device,
                                   args.workers, modalities=args.modalities or MODALITIES)
    counts = ", ".join(f"{split} {len(entries)}" for split, entries in datalist.items())
    print(f"monai-spine drr: {args.n} studies in {args.out} ({counts}); datalist {args.out}/dataset.json")
    return 0
