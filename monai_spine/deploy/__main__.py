"""``python -m monai_spine.deploy -i DICOM_DIR -o OUT [-m MODEL_DIR]`` (``docs/commands/deploy.md``)."""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monai_spine.deploy",
        description="MONAI Deploy application: DICOM in, spine curve out (curves.json, a DICOM result object, "
        "pictures). Not available yet: it comes with part 7.",
    )
    parser.add_argument("-i", "--input", required=True, metavar="DICOM_DIR", help="folder of DICOM files")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("-m", "--model", metavar="MODEL_DIR", help="folder of bundles (default: the shipped ones)")
    parser.parse_args(argv)
    print("python -m monai_spine.deploy: error: not available yet (the deploy application comes with part 7).",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
