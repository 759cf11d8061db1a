"""``monai-spine export --bundle NAME --out DIR [--format pt2 onnx] [--image FILE]``: a bundle's network as
``model.pt2`` and ``model.onnx``, each checked against PyTorch (``monai_spine.export``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    from monai_spine.export.bundle import EXPORT_BUNDLES, FORMATS

    parser = sub.add_parser(
        "export",
        help="A bundle's network as a torch.export program (model.pt2) and an ONNX model (model.onnx).",
        description="Export the network of a shipped bundle with its weights: model.pt2 (torch.export; load with "
        "torch.export.load(path).module()) and model.onnx (opset 18, input 'image', output 'pred'); batch and, for "
        "the segmentation networks, image sides dynamic. Each file is run on a real input (--image, else a phantom "
        "study) and must agree with PyTorch within 1e-4; export.json records the differences. See "
        "docs/commands/export.md.",
    )
    parser.add_argument("--bundle", required=True, metavar="NAME", help=f"one of {', '.join(EXPORT_BUNDLES)}")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--format", nargs="+", choices=FORMATS, default=list(FORMATS), help="files to write "
                        "(default both)")
    parser.add_argument("--image", metavar="FILE", help="the check's input: an image the bundle reads (a DXA for "
                        "the curve regressor); default a phantom study rendered on the fly")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import UsageError
    from monai_spine.export import EXPORT_BUNDLES, export_bundle

    if args.bundle not in EXPORT_BUNDLES:
        raise UsageError(f"unknown bundle {args.bundle!r}; one of {', '.join(EXPORT_BUNDLES)}.")
    report = export_bundle(args.bundle, args.out, tuple(dict.fromkeys(args.format)), args.image)
    for file, check in report["files"].items():
        print(f"monai-spine export: {args.out}/{file}; largest difference from PyTorch "
              f"{check['max_abs_difference']:.2g}")
    return 0
