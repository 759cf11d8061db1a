"""``monai-spine convert INPUT OUTPUT.nii.gz``: a DICOM file or series folder to NIfTI."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "convert",
        help="A DICOM file or series folder to NIfTI with the same pixels, spacing, origin and orientation.",
        description="Convert a DICOM file or a DICOM series folder to NIfTI. Pixels are the stored values after "
        "the rescale slope and intercept; spacing, origin and direction are kept (NIfTI stores them as RAS).",
    )
    parser.add_argument("input", help="DICOM file or folder holding one DICOM series")
    parser.add_argument("output", help="NIfTI file to write (.nii or .nii.gz); written only if conversion succeeds")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.io.convert import convert

    written = convert(args.input, args.output)
    print(f"wrote {written}")
    return 0
