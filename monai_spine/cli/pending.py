"""Commands of the contract whose pipelines come in later parts: they parse their arguments and say so."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

__all__ = ["batch"]


def _not_available(part: str):
    def run(args: argparse.Namespace) -> int:
        from monai_spine.cli import UsageError

        raise UsageError(f"not available yet ({part}).")

    return run


def _command(name: str, help: str, part: str, arguments):
    def add_parser(sub):
        parser = sub.add_parser(name, help=help, description=f"{help} Not available yet: {part}.")
        for flags, kwargs in arguments:
            parser.add_argument(*flags, **kwargs)
        parser.set_defaults(run=_not_available(part))
        return parser

    return SimpleNamespace(add_parser=add_parser)


_OUT = (("--out",), {"required": True, "metavar": "DIR", "help": "output folder"})

batch = _command(
    "batch",
    "Every study under a folder, resumable; failures are listed in manifest.csv.",
    "batch processing comes with part 7",
    [(("--input",), {"required": True, "metavar": "DIR", "help": "folder of studies"}), _OUT],
)
