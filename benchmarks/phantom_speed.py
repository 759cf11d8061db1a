"""Phantom throughput: complete studies (CT + MRI + DXA + AP + lateral + truth) per minute.

Targets (issue 3): at least 20 studies per minute on 2 CPU cores at default resolution, at least 1,000 per
minute on one H100.

    python benchmarks/phantom_speed.py --device cpu --workers 2 --n 12
    python benchmarks/phantom_speed.py --device cuda --workers 16 --n 96

``iter_studies`` (the cohort renderer) with single-threaded worker processes (sharing the GPU on ``cuda``), files
written; the figure
counts from the first study finished, so process start-up is left out (it is printed too). On a GPU, studies
are also rendered one after another in this process, without files, to show one process's rate.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from monai_spine.phantom.cohort import iter_studies, study_seed
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study


def _one_process(n: int, device: str) -> None:
    make_study(study_seed(0, 0), device=device)  # warm-up: kernels, caches
    torch.cuda.synchronize()
    start = time.perf_counter()
    studies = [make_study(study_seed(0, i), device=device) for i in range(n)]
    torch.cuda.synchronize()
    render = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, study in enumerate(studies):
            write_study(study, Path(tmp) / f"study_{i:04d}")
        write = time.perf_counter() - start
    print(
        f"{torch.cuda.get_device_name()}: rendering {60 * n / render:.0f} studies/min ({render / n * 1000:.0f} ms each)"
    )
    print(f"  with files written (one process): {60 * n / (render + write):.0f} studies/min")


def _cohort(n: int, workers: int, device: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        times = [time.perf_counter() for _ in iter_studies(n, 0, tmp, workers=workers, device=device)]
    steady = (n - 1) / (times[-1] - times[0])
    print(
        f"{device}, {workers} worker processes: {60 * steady:.1f} studies/min after start-up "
        f"(first study after {times[0] - start:.1f} s; {60 * n / (times[-1] - start):.1f} studies/min overall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=2, help="CPU worker processes")
    parser.add_argument("--n", type=int, default=12, help="studies to render")
    args = parser.parse_args()
    if args.device != "cpu":
        _one_process(min(args.n, 10), args.device)
    _cohort(args.n, args.workers, args.device)


if __name__ == "__main__":
    main()
