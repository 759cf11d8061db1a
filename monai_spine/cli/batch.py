"""``monai-spine batch --input DIR|CSV --out DIR``: every study, resumable, ``manifest.csv``
(``monai_spine.pipelines.batch``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "batch",
        help="Every study under a folder (or in a CSV list), resumable; failures are listed in manifest.csv.",
        description="Finds the studies under --input (a folder per study of DICOM images: DXA → the DXA route, AP + "
        "lateral → the bi-planar route, both when it has both; loose 2D NIfTI files: DXA; or a CSV list with columns "
        "id,dxa or id,ap,lateral) and runs each as `infer` does into DIR/<id>/dxa/ and DIR/<id>/biplanar/; "
        "DIR/manifest.csv has one row per study (id,status,error,outputs). Re-running skips the studies done; a "
        "failed study never stops the others. Exit 0 when all are ok, 1 when some failed, 2 for bad arguments. "
        "See docs/commands/batch.md.",
    )
    parser.add_argument("--input", required=True, metavar="DIR|CSV", help="folder of studies, or a CSV list")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="the networks' device (default: cuda when available)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="studies per network batch (default 8)")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="processes loading and pre-processing the images (default 2; 0: in this process)")
    parser.add_argument("--writers", type=int, default=1, metavar="N",
                        help="writing the results, pictures included, and running the bi-planar route: 1, a thread "
                        "(default); more, that many processes")
    parser.add_argument("--no-pictures", action="store_true",
                        help="write curves.json and curve3d.csv only, not overlay.png and report.png (cohort work)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the studies on a Dask cluster, e.g. tcp://host:8786 (needs monai-spine[dask])")
    parser.add_argument("--coronal-from", choices=("regressor", "mask"), default=None,
                        help="DXA: the coronal curves from the regressor or from the spine mask's edges (as infer)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from monai_spine.cli import option_values
    from monai_spine.pipelines.batch import BatchSettings, run_batch
    from monai_spine.pipelines.dxa import CORONAL_SOURCE

    with option_values():
        settings = BatchSettings(args.device, args.batch_size, args.workers, args.coronal_from or CORONAL_SOURCE,
                                 args.writers, pictures=not args.no_pictures)
    rows = run_batch(args.input, args.out, settings, args.scheduler)
    failed = [row.id for row in rows if row.status != "ok"]
    listed = f": {', '.join(failed[:5])}{' …' if len(failed) > 5 else ''}" if failed else ""
    print(f"monai-spine batch: {len(rows)} studies, {len(rows) - len(failed)} ok, {len(failed)} failed{listed}; "
          f"{args.out}/manifest.csv")
    return 1 if failed else 0
