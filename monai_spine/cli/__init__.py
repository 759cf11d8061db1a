"""The ``monai-spine`` command (``docs/commands/``): one sub-command per module in this package.

Bad input, whichever command meets it, is reported here, once: ``monai-spine <command>: error: <message>`` on
stderr and exit code 2. A command raises :class:`~monai_spine.errors.SpineInputError` for a bad file,
:class:`UsageError` for a bad option value or a command not available, or runs its settings under
:func:`option_values` so that the ``ValueError`` of a settings class becomes a :class:`UsageError`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator

from monai_spine import __version__
from monai_spine.errors import SpineInputError

from . import align, batch, cohort, convert, demo, drr, evaluate, export, infer, phantom

__all__ = ["main", "build_parser", "UsageError", "option_values"]

COMMANDS = (demo, infer, align, phantom, drr, cohort, batch, evaluate, convert, export)


class UsageError(Exception):
    """A command line that cannot run: a bad option value, a command not available; ``str(err)`` is one line."""


@contextlib.contextmanager
def option_values() -> Iterator[None]:
    """Turn a ``ValueError`` raised inside (settings built from the options) into a :class:`UsageError`."""
    try:
        yield
    except ValueError as err:
        raise UsageError(str(err)) from err


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
    """Run one sub-command; bad input prints ``monai-spine <command>: error: <message>`` on stderr and returns 2.

    Warnings about the inputs (e.g. a missing PatientOrientation) are printed as one line each.
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            return args.run(args) or 0
    except (SpineInputError, UsageError) as err:
        print(f"monai-spine {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
