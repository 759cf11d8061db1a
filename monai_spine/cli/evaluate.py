"""``monai-spine evaluate --datalist DATASET.json --out DIR``: bundles and pipelines scored on studies with truth."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]

SPLIT_CHOICES = ("test", "validation", "training", "all")


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "evaluate",
        help="Score the segmentation bundles, the DXA-MRI alignment (and the pipelines) on studies with truth.",
        description="For every study of a split of a phantom or drr datalist: the DXA bundle's Dice, vertebral "
        "centroids inside its mask, centre-line and width errors; the MRI bundle's Dice per contrast; the "
        "alignment's verdict and its rotation and translation errors against the truth. One failed study never "
        "stops the others. Writes metrics.csv (one row per study and scorer), summary.json and evaluation.png. "
        "See docs/commands/evaluate.md.",
    )
    parser.add_argument("--datalist", required=True, metavar="DATASET.json", help="MONAI datalist with truth.json")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="split to score (default test)")
    parser.add_argument(
        "--device", default=None, help="torch device of the bundles, e.g. cpu or cuda (default: cuda when available)"
    )
    parser.set_defaults(run=run)
    return parser


def _mean(section: dict | None, name: str) -> str:
    figure = (section or {}).get(name)
    return "n/a" if figure is None else f"{figure['mean']:.3f}"


def run(args: argparse.Namespace) -> int:
    from monai_spine.evaluation import evaluate_datalist  # torch, MONAI and the bundles: only when it runs

    summary = evaluate_datalist(args.datalist, args.split, args.out, args.device)
    dxa, mri = summary["segmentation"]["dxa"], summary["segmentation"]["mri"]
    mri_dice = ", ".join(f"{name} {_mean(figures, 'dice')}" for name, figures in mri.items()) or "n/a"
    alignment = summary["alignment"]
    print(
        f"monai-spine evaluate: {summary['n_studies']} studies ({summary['n_failed_studies']} failed); DXA Dice "
        f"{_mean(dxa, 'dice')}, centroids inside {dxa['centroids_inside']}/{dxa['centroids_total']}; MRI Dice "
        f"{mri_dice}; alignment accepted {alignment['accepted']}/{alignment['ok']}, translation error "
        f"{_mean(alignment, 'translation_error_mm')} mm; {args.out}/summary.json"
    )
    return 0
