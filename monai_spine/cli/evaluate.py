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
    parser.add_argument("--scorers", metavar="LIST", default=None,
                        help="comma-separated scorers to run, from dxa_segmentation, mri_segmentation, "
                        "radiograph_segmentation, alignment, dxa_pipeline, biplanar_pipeline (default all)")
    parser.set_defaults(run=run)
    return parser


def _mean(section: dict | None, name: str) -> str:
    figure = (section or {}).get(name)
    return "n/a" if figure is None else f"{figure['mean']:.3f}"


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import UsageError
    from monai_spine.evaluation import SCORERS, evaluate_datalist  # torch, MONAI, bundles: only when it runs

    names = list(SCORERS) if args.scorers is None else [n.strip() for n in args.scorers.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SCORERS))
    if unknown or not names:
        raise UsageError(f"--scorers: unknown or none {unknown}; choose from {', '.join(SCORERS)}.")
    summary = evaluate_datalist(args.datalist, args.split, args.out, args.device,
                                scorers=[SCORERS[name](args.device) for name in names])
    parts = []
    dxa = summary.get("segmentation", {}).get("dxa")
    if dxa:
        parts.append(f"DXA Dice {_mean(dxa, 'dice')}, centroids inside {dxa['centroids_inside']}/"
                     f"{dxa['centroids_total']}")
    mri = summary.get("segmentation", {}).get("mri")
    if mri is not None:
        parts.append("MRI Dice " + (", ".join(f"{n} {_mean(f, 'dice')}" for n, f in mri.items()) or "n/a"))
    radiograph = summary.get("segmentation", {}).get("radiograph")
    if radiograph:
        parts.append("radiograph Dice " + ", ".join(
            f"{view} {_mean(f, 'dice')} (rows reached {_mean(f, 'rows_reached')})" for view, f in radiograph.items()))
    alignment = summary.get("alignment")
    if alignment:
        parts.append(f"alignment accepted {alignment['accepted']}/{alignment['ok']}, translation error "
                     f"{_mean(alignment, 'translation_error_mm')} mm")
    for key, name in (("dxa", "DXA route"), ("biplanar", "bi-planar route")):
        route = summary["pipelines"].get(key)
        if route and route["n"]:
            parts.append(f"{name}: 3D {route['mean_3d_mm']:.2f} mm, coronal {route['coronal_mae_mm']:.2f} mm, "
                         f"sagittal {route['sagittal_mae_mm']:.2f} mm, Cobb MAE {route['cobb_mae_deg']:.1f}°")
    counts = f"{summary['n_studies']} studies ({summary['n_failed_studies']} failed)"
    print(f"monai-spine evaluate: {'; '.join([counts, *parts, f'{args.out}/summary.json'])}")
    return 0
