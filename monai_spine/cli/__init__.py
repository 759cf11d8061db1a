"""The ``monai-spine`` command (``shared/CONTRACT.md``): one sub-command per module in this package."""

from __future__ import annotations

import argparse
import sys
import warnings

from monai_spine import __version__
from monai_spine.errors import SpineInputError

from . import align, cohort, convert, demo, drr, evaluate, pending, phantom

__all__ = ["main", "build_parser"]

COMMANDS = (demo, pending.infer, align, phantom, drr, cohort, pending.batch, evaluate, convert)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monai-spine",
        description="3D spine shape from coronal DXA and bi-planar radiographs. Lengths in mm (docs/frames.md).",
    )
    parser.add_argument("--version", action="version", version=f"monai-spine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"monai-spine: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; bad input prints ``error: <file>: <problem>`` on stderr and returns 2.

    Warnings about the inputs (e.g. a missing PatientOrientation) are printed as one line each.
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            return args.run(args) or 0
    except SpineInputError as err:
        print(f"monai-spine {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
