"""``monai-spine demo --out DIR``: the main job on embedded data (``monai_spine.demo``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "demo",
        help="Run the main job on embedded data (a phantom study) and report errors against its known truth.",
        description="Render a phantom study, run the DXA and the bi-planar pipelines on its files, write their "
        "results (curves.json, curve3d.csv, overlay.png, report.png in dxa/ and biplanar/) and print measures and "
        "errors against the truth. The input study is kept in input/.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.demo import run_demo  # torch, MONAI and the phantom: only when the demo runs

    return run_demo(args.out)
