"""``monai-spine infer --dxa FILE --out DIR``: one coronal DXA → the 3D spine curve (``monai_spine.pipelines``)."""

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
        "Bi-planar (--ap, --lateral): not available yet.",
    )
    parser.add_argument("--dxa", metavar="FILE", help="coronal DXA (DICOM or 2D NIfTI)")
    parser.add_argument("--ap", metavar="FILE", help="AP radiograph (bi-planar route: not available yet)")
    parser.add_argument("--lateral", metavar="FILE", help="lateral radiograph (bi-planar route: not available yet)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--coronal-from", choices=("regressor", "mask"), default=None,
                        help="DXA: the coronal curves from the regressor or from the spine mask's edges (default: "
                        "the better measured, docs/regression.md)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import UsageError

    if args.ap or args.lateral:
        raise UsageError("the bi-planar route (--ap, --lateral) is not available yet.")
    if not args.dxa:
        raise UsageError("give --dxa FILE.")
    from monai_spine.pipelines import infer_dxa
    from monai_spine.pipelines.dxa import CORONAL_SOURCE

    measures = infer_dxa(args.dxa, args.out, args.coronal_from or CORONAL_SOURCE)
    print(f"monai-spine infer: {args.out}/curves.json; coronal Cobb {measures['coronal_cobb_deg']:.1f}°, "
          f"thoracic kyphosis {measures['thoracic_kyphosis_deg']:.1f}°, "
          f"lumbar lordosis {measures['lumbar_lordosis_deg']:.1f}°")
    return 0
