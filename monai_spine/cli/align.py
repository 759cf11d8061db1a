"""``monai-spine align --dxa FILE --mri FILE --out DIR``: rigid MRI → DXA alignment with an IoU check."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "align",
        help="Two-stage rigid alignment of an MRI to a DXA, set along the spine by the discs, with an IoU check.",
        description="Align an MRI volume to a coronal DXA in 2D through their spine masks: stage 1 (image level) "
        "searches the rotation and translation by FFT cross-correlation and refines them with Mattes mutual "
        "information, stage 2 (spine level) refines them by ICP between the spine outlines, and where the masks' ends "
        "leave the height along the spine open and the MRI shows its discs, the discs of the two images are lined up. "
        "Writes alignment.json "
        "(the MRI coronal frame → DXA frame matrix, IoU, accepted, reason, per-stage details) and alignment.png. "
        "A rejected pair is a result (exit 0, \"accepted\": false). See docs/alignment.md.",
    )
    parser.add_argument("--dxa", required=True, metavar="FILE", help="coronal DXA (DICOM or 2D NIfTI)")
    parser.add_argument("--mri", required=True, metavar="FILE", help="MRI volume (NIfTI or DICOM series folder)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--dxa-mask", metavar="FILE",
                        help="DXA spine mask (2D NIfTI on the DXA's pixels); segmented automatically if omitted")
    parser.add_argument("--mri-mask", metavar="FILE",
                        help="MRI spine mask (NIfTI on the MRI's voxels); segmented automatically if omitted")
    parser.add_argument("--iou-threshold", type=float, default=0.7, help="least IoU of an accepted pair (default 0.7)")
    parser.add_argument("--angles", type=int, default=10, help="rotations sampled by the search (default 10)")
    parser.add_argument("--max-angle", type=float, default=2.0, metavar="DEG",
                        help="the search covers ±DEG degrees (default 2)")
    parser.set_defaults(run=run)
    return parser


def _segmented(kind: str, image, path: str):
    """The spine mask of ``image`` from ``monai_spine.segmentation`` (imported only when a mask is missing)."""
    from monai_spine.errors import SpineInputError

    try:
        from monai_spine import segmentation

        segment = getattr(segmentation, f"segment_{kind}")
    except (ImportError, AttributeError) as err:
        raise SpineInputError(path, f"no --{kind}-mask given and automatic spine segmentation is not available "
                                    f"({err}); pass --{kind}-mask") from err
    return segment(image)


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import option_values
    from monai_spine.errors import warn
    from monai_spine.io.checks import check_same_grid
    from monai_spine.io.files import staged_output
    from monai_spine.registration import AlignmentConfig, align_pair, save_alignment_figure
    from monai_spine.transforms import LoadRadiograph, LoadVolume

    with option_values():
        config = AlignmentConfig(max_angle_deg=args.max_angle, n_angles=args.angles, iou_threshold=args.iou_threshold)
    load_2d, load_3d = LoadRadiograph(), LoadVolume()
    dxa, mri = load_2d(args.dxa), load_3d(args.mri)
    masks = []
    for kind, image, path, given, load in (("dxa", dxa, args.dxa, args.dxa_mask, load_2d),
                                           ("mri", mri, args.mri, args.mri_mask, load_3d)):
        mask = load(given) if given else _segmented(kind, image, path)
        check_same_grid(mask, image, given or path)
        masks.append(mask)
    alignment = align_pair(*masks, config, dxa_image=dxa, mri_image=mri)
    with staged_output(args.out) as stage:
        with open(stage / "alignment.json", "w") as f:
            json.dump(alignment.to_dict(), f, indent=1)
        save_alignment_figure(stage / "alignment.png", dxa, *masks, alignment)
    verdict = "accepted" if alignment.accepted else f"rejected ({alignment.reason})"
    for warning in alignment.warnings:
        warn(args.mri if "MRI" in warning else args.dxa, warning)
    print(f"monai-spine align: {verdict}; IoU {alignment.iou:.3f}, rotation {alignment.rotation_deg:.2f}°, "
          f"translation ({alignment.translation_mm[0]:.1f}, {alignment.translation_mm[1]:.1f}) mm; "
          f"{args.out}/alignment.json")
    return 0
