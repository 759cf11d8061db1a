"""``monai-spine convert INPUT OUTPUT.nii.gz``: a DICOM file or series folder to NIfTI."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "convert",
        help="A DICOM file or series folder to NIfTI with the same pixels, spacing, origin and orientation.",
        description="Convert a DICOM file or a DICOM series folder to NIfTI. Volumes (CT, MR series, multi-frame) "
        "keep their pixels after the rescale slope and intercept, spacing, origin and direction (NIfTI stores them as "
        "RAS), as SimpleITK reads them. Radiographs (DX, CR, DXA) are written as a (W, H, 1) image in standard "
        "display (docs/frames.md), MONOCHROME1 inverted, so that the NIfTI reloads as the same image.",
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
