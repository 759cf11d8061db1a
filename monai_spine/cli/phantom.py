"""``monai-spine phantom --n N --seed S --out DIR``: synthetic paired studies with exact truth."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "modality_groups", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "phantom",
        help="Synthetic paired studies (CT, MRI, DXA, AP and lateral radiographs) with exact truth.",
        description="Render N synthetic studies from seed S into DIR/study_NNNN/ with a MONAI datalist "
        "DIR/dataset.json (training / validation / test, balanced for scoliosis). The same seed gives "
        "byte-identical files. See docs/phantom.md.",
    )
    parser.add_argument("--n", type=int, default=1, help="number of studies (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="cohort seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core)")
    parser.add_argument("--device", default="cpu", help="torch device to render on, e.g. cuda (default cpu)")
    parser.add_argument("--ct-dicom", action="store_true", help="also write each CT as an axial DICOM series")
    parser.add_argument("--soft-tissue", action="store_true",
                        help="add abdominal organs, bowel gas, breasts and foreign objects (metal) to the phantom")
    parser.add_argument("--scoliosis-share", type=float, default=0.35, help="share of scoliotic spines (0-1)")
    parser.add_argument("--posture-share", type=float, default=0.0,
                        help="share of studies whose MRI has a non-rigid posture change (0-1)")
    parser.add_argument("--pattern", choices=("none", "thoracic", "thoracolumbar", "lumbar", "double_major"),
                        help="fix the scoliosis pattern instead of drawing it")
    parser.add_argument("--cobb", type=float, metavar="DEG", help="fix the main Cobb angle (> 0: convex right)")
    parser.add_argument("--kyphosis", type=float, metavar="DEG", help="fix the thoracic kyphosis (10-70)")
    parser.add_argument("--lordosis", type=float, metavar="DEG", help="fix the lumbar lordosis (20-80)")
    parser.add_argument("--ct-spacing", type=float, default=2.5, metavar="MM", help="phantom/CT voxel size, mm")
    parser.add_argument("--dxa-pixel", type=_value_range, default=(1.0, 1.0), metavar="MM[:MM]",
                        help="DXA pixel size, 0.5-2.5 mm; LOW:HIGH draws each study's from that range (default 1)")
    for part in ("width", "depth"):
        parser.add_argument(f"--vertebral-body-{part}", type=_value_range, default=(1.0, 1.0), metavar="F[:F]",
                            help=f"factor on every vertebral body's endplate {part} beyond the skeletal scale, "
                            "0.7-1.5; LOW:HIGH draws each study's from that range (default 1)")
    parser.add_argument("--vertebral-body-posterior-exponent", type=_value_range, default=(2.0, 2.0),
                        metavar="F[:F]", help="superellipse exponent of every vertebral body's axial section behind "
                        "its centre, 2-6: 2 elliptic, 4 a flat posterior wall with full corners; LOW:HIGH draws each "
                        "study's from that range (default 2)")
    parser.add_argument("--radiograph-bone-scale", type=_value_range, default=(1.0, 1.0), metavar="F[:F]",
                        help="share of bone's attenuation above soft tissue's kept in the AP and lateral, 0.1-1.5; "
                        "LOW:HIGH draws each study's from that range (default 1)")
    parser.add_argument("--lordosis-skew", type=_value_range, default=(1.0, 1.0), metavar="F[:F]",
                        help="how far the lumbar lordosis's turn lies toward S1, 1-3: 1 symmetric (35%% of it in "
                        "L4-S1), 2 72%% (adults: about two thirds); LOW:HIGH draws each study's from that range "
                        "(default 1)")
    parser.add_argument("--modalities", type=modality_groups, default=None, metavar="LIST",
                        help="comma-separated groups to render and write, from ct, mri, dxa, biplanar (default all); "
                        "e.g. dxa,mri for the segmentation bundles' training data")
    parser.set_defaults(run=run)
    return parser


def _value_range(text: str) -> tuple[float, float]:
    """``"1.0"`` or ``"0.5:2.5"`` → (low, high)."""
    parts = text.split(":")
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH, got {text!r}")
    try:
        low, high = float(parts[0]), float(parts[-1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH, got {text!r}") from None
    return low, high


def _range_option(flag: str, value: tuple[float, float], low: float, high: float) -> float | tuple[float, float]:
    """A checked ``LOW:HIGH`` option: one value where LOW == HIGH, else the range."""
    for v in value:
        _check_range(flag, v, low, high)
    if value[0] > value[1]:
        raise ValueError(f"{flag} LOW:HIGH needs LOW <= HIGH, got {value}.")
    return value[0] if value[0] == value[1] else value


def modality_groups(text: str) -> tuple[str, ...]:
    """``--modalities``: ``"dxa,mri"`` → ``("dxa", "mri")``, groups of :data:`monai_spine.studies.MODALITIES`."""
    from monai_spine.studies import MODALITIES

    groups = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in groups if g not in MODALITIES]
    if unknown or not groups:
        raise argparse.ArgumentTypeError(f"groups must come from {', '.join(MODALITIES)}, got {text!r}")
    return groups


def _check_range(flag: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{flag} must be in [{low:g}, {high:g}], got {value:g}.")


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import option_values
    from monai_spine.io.files import staged_output
    from monai_spine.phantom.anatomy.body import VERTEBRAL_BODY_RANGES
    from monai_spine.phantom.cohort import make_cohort
    from monai_spine.phantom.render.dxa import PIXEL_MM_RANGE
    from monai_spine.phantom.shape import LORDOSIS_SKEW_RANGE, PopulationModel
    from monai_spine.phantom.study import RADIOGRAPH_BONE_SCALE_RANGE, StudyConfig

    with option_values():
        _check_range("--scoliosis-share", args.scoliosis_share, 0.0, 1.0)
        _check_range("--cobb", args.cobb, -80.0, 80.0)
        _check_range("--kyphosis", args.kyphosis, 10.0, 70.0)
        _check_range("--lordosis", args.lordosis, 20.0, 80.0)
        dxa_pixel = _range_option("--dxa-pixel", args.dxa_pixel, *PIXEL_MM_RANGE)
        bodies = {name: _range_option(f"--{name.replace('_', '-')}", getattr(args, name), *limits)
                  for name, limits in VERTEBRAL_BODY_RANGES.items()}  # each Body field's flag is its name
        bone_scale = _range_option("--radiograph-bone-scale", args.radiograph_bone_scale, *RADIOGRAPH_BONE_SCALE_RANGE)
        lordosis_skew = _range_option("--lordosis-skew", args.lordosis_skew, *LORDOSIS_SKEW_RANGE)
        if args.n < 1:
            raise ValueError(f"--n must be at least 1, got {args.n}.")
        config = StudyConfig(
            ct_spacing_mm=args.ct_spacing,
            dxa_pixel_mm=dxa_pixel,
            **bodies,
            radiograph_bone_scale=bone_scale,
            lordosis_skew=lordosis_skew,
            posture_share=args.posture_share,
            soft_tissue=args.soft_tissue,
            population=PopulationModel(
                scoliosis_share=args.scoliosis_share,
                fixed_pattern=args.pattern,
                fixed_cobb_deg=args.cobb,
                fixed_kyphosis_deg=args.kyphosis,
                fixed_lordosis_deg=args.lordosis,
            ),
        )
    with staged_output(args.out) as stage:
        datalist = make_cohort(args.n, args.seed, stage, config, args.workers, args.ct_dicom, args.device,
                               modalities=args.modalities)
    counts = ", ".join(f"{split} {len(entries)}" for split, entries in datalist.items())
    print(f"monai-spine phantom: {args.n} studies in {args.out} ({counts}); datalist {args.out}/dataset.json")
    return 0
