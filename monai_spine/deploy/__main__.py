"""``python -m monai_spine.deploy -i DICOM_DIR -o OUT [-m MODEL_DIR] [--pacs HOST:PORT:AET --study UID]``
(``docs/commands/deploy.md``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from monai_spine.errors import SpineInputError, one_line

PROG = "python -m monai_spine.deploy"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="MONAI Deploy application: DICOM in (a DXA, or an AP and a lateral radiograph of one "
        "study), spine curve out: curves.json, curve3d.csv, overlay.png, report.png, a DICOM Comprehensive 3D SR "
        "(spine_sr.dcm) and a secondary capture of the report (report_sc.dcm).")
    parser.add_argument("-i", "--input", metavar="DICOM_DIR", help="folder of DICOM files (default: the MAP's "
                        "input, $HOLOSCAN_INPUT_PATH); not with --pacs")
    parser.add_argument("-o", "--output", metavar="OUT", help="output folder (default: $HOLOSCAN_OUTPUT_PATH)")
    parser.add_argument("-m", "--model", metavar="MODEL_DIR", help="folder of bundles (default: the shipped ones)")
    parser.add_argument("--pacs", metavar="HOST:PORT:AET", help="fetch the study from this DICOM node (C-GET) and "
                        "store the SR and the secondary capture back (C-STORE)")
    parser.add_argument("--study", metavar="UID", help="StudyInstanceUID to fetch with --pacs")
    parser.add_argument("-l", "--log-level", default="OFF", help="Holoscan log level (default OFF)")
    return parser


def _options(argv) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)  # before the imports: --help and usage errors stay fast

    from monai.deploy.core import RuntimeEnv

    from monai_spine.deploy.pacs import DicomNode

    env = RuntimeEnv()
    if args.pacs:
        if args.input or not args.study:
            parser.error("--pacs needs --study and no --input")
        try:
            args.pacs = DicomNode.parse(args.pacs)
        except ValueError as e:
            parser.error(f"--pacs: {e}")
    elif args.study:
        parser.error("--study needs --pacs")
    args.input = Path(args.input or env.input)
    args.output = Path(args.output or env.output)
    if args.model:
        os.environ["MONAI_SPINE_BUNDLES"] = str(Path(args.model).resolve())
    return args


def run(args: argparse.Namespace) -> None:
    """Fetch (``--pacs``), run :class:`~monai_spine.deploy.app.SpineApp` into a staged ``args.output``, store back."""
    from holoscan.logger import LogLevel, set_log_level

    from monai_spine.deploy.app import SpineApp
    from monai_spine.deploy.pacs import fetch_study, store_files
    from monai_spine.io.files import staged_output
    from monai_spine.pipelines.dicom_results import SC_FILE, SR_FILE

    set_log_level(getattr(LogLevel, args.log_level.upper()))
    with tempfile.TemporaryDirectory(prefix="monai-spine-pacs-") as fetched:
        if args.pacs:
            fetch_study(args.pacs, args.study, fetched)
            args.input = Path(fetched)
        elif not args.input.is_dir():
            raise SpineInputError(args.input, "no such folder")
        with staged_output(args.output) as stage:
            SpineApp(args.input, stage).run()
    if args.pacs:
        store_files(args.pacs, [args.output / SR_FILE, args.output / SC_FILE])


def main(argv=None) -> int:
    started = time.perf_counter()
    args = _options(argv)
    try:
        run(args)
    except SpineInputError as e:
        print(f"{PROG}: error: {one_line(e, 300)}", file=sys.stderr)
        return 2
    print(f"{PROG}: {args.output} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
