"""``monai-spine infer --dxa FILE --out DIR`` (one coronal DXA) or ``--ap FILE --lateral FILE`` (bi-planar
radiographs) → the 3D spine curve (``monai_spine.pipelines``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "infer",
        help="One coronal DXA, or AP + lateral radiographs, to a 3D spine curve.",
        description="DXA: the spine mask (dxa_spine_segmentation), a 224 x 224 crop around it and the six curves "
        "of the curve regressor (dxa_spine_curve_regression) in the image's millimetres, depth relative; writes "
        "curves.json, curve3d.csv, overlay.png and report.png. A spine partly outside the image gives the part in "
        "it, with a warning; no spine found is an error (exit 2, nothing written). See docs/regression.md. "
        "Bi-planar (--ap, --lateral): the projection geometry from --geometry, <image>.json sidecars or the DICOM "
        "tags (parallel, with a warning, when none), a spine mask per view (radiograph_spine_segmentation), the "
        "centre lines matched by height along the epipolar geometry and triangulated; the same four files, "
        "overlay.png showing both views. See docs/commands/infer.md.",
    )
    parser.add_argument("--dxa", metavar="FILE", help="coronal DXA (DICOM or 2D NIfTI)")
    parser.add_argument("--ap", metavar="FILE", help="AP (or PA) radiograph (DICOM or 2D NIfTI)")
    parser.add_argument("--lateral", metavar="FILE", help="lateral radiograph of the same study")
    parser.add_argument("--geometry", metavar="FILE", help="bi-planar: JSON geometry of both views "
                        "({\"ap\": {...}, \"lateral\": {...}}, docs/commands/infer.md); default: <image>.json "
                        "beside each image, else the DICOM tags")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--coronal-from", choices=("regressor", "mask"), default=None,
                        help="DXA: the coronal curves from the regressor or from the spine mask's edges (default: "
                        "the better measured, docs/regression.md)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import UsageError

    if args.dxa and (args.ap or args.lateral):
        raise UsageError("give either --dxa FILE or --ap FILE --lateral FILE, not both.")
    if bool(args.ap) != bool(args.lateral):
        raise UsageError(f"the bi-planar route needs both views: --{'lateral' if args.ap else 'ap'} FILE is missing.")
    if not (args.dxa or args.ap):
        raise UsageError("give --dxa FILE, or --ap FILE --lateral FILE.")
    if args.ap:
        from monai_spine.pipelines.biplanar import infer_biplanar

        measures = infer_biplanar(args.ap, args.lateral, args.out, geometry_file=args.geometry)
    else:
        from monai_spine.pipelines import infer_dxa
        from monai_spine.pipelines.dxa import CORONAL_SOURCE

        measures = infer_dxa(args.dxa, args.out, args.coronal_from or CORONAL_SOURCE)
    print(f"monai-spine infer: {args.out}/curves.json; coronal Cobb {measures['coronal_cobb_deg']:.1f}°, "
          f"thoracic kyphosis {measures['thoracic_kyphosis_deg']:.1f}°, "
          f"lumbar lordosis {measures['lumbar_lordosis_deg']:.1f}°")
    return 0
