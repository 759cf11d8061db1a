"""``drr`` throughput: complete studies (DXA bone and soft, AP, lateral, masks, truth, files; optionally the MRI-like
group and the CT) per minute from a 512 × 512 × 300 CT.

Target (issue 10): at least 20 studies per minute on 2 CPU cores.

    python benchmarks/drr_speed.py --threads 2 --n 6                      # CPU, then CUDA when there is one
    python benchmarks/drr_speed.py --modalities dxa,biplanar,mri --n 6

The CT is procedural (an elliptical trunk of soft tissue with 24 labelled vertebrae, body and posterior arch,
TotalSegmentator ids) at 0.8 × 0.8 × 1.5 mm. Reading the CT and preparing the source (column, water/bone
fractions on the working grid) happens once per command and is timed apart; the figure is the studies rendered
and written after it, one process with ``--threads`` torch threads. CPU seconds per study are printed too: on a
shared machine they tell what the cores would do unloaded. When CUDA is available the same studies are rendered
on the GPU too and its figure printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from monai_spine.drr import prepare_source, read_labelled_ct, render_study
from monai_spine.studies import write_study

SHAPE = (512, 512, 300)
SPACING_MM = (0.8, 0.8, 1.5)


def synthetic_ct(folder: Path) -> tuple[Path, Path]:
    """Write the procedural CT (HU, int16) and its vertebra labels (uint8) as RAS NIfTI files; return their paths."""
    x, y = (np.arange(n, dtype=np.float32)[:, None] * s - 0.5 * n * s for n, s in zip(SHAPE[:2], SPACING_MM))
    y = y.T
    trunk = (x / 170.0) ** 2 + (y / 120.0) ** 2 <= 1.0
    hu = np.where(trunk, 40.0, -1000.0).astype(np.float32)[..., None].repeat(SHAPE[2], axis=2)
    labels = np.zeros(SHAPE, dtype=np.uint8)
    level_mm = SHAPE[2] * SPACING_MM[2] / 24
    for k in range(24):  # C1 (50) at the top … L5 (27) at the bottom
        z = slice(int((k * level_mm + 3.0) / SPACING_MM[2]), int(((k + 1) * level_mm - 3.0) / SPACING_MM[2]))
        centre_y = 20.0 * np.sin(np.pi * k / 23)
        body = (x / 22.0) ** 2 + ((y - centre_y - 15.0) / 16.0) ** 2 <= 1.0
        arch = (np.abs(x) <= 8.0) & (y - centre_y <= -10.0) & (y - centre_y >= -45.0)
        bone = body | arch
        labels[..., z][bone] = 50 - k
        hu[..., z][bone] = np.where(body, 250.0, 600.0)[bone][:, None]
    affine = np.diag([-SPACING_MM[0], SPACING_MM[1], SPACING_MM[2], 1.0])  # voxel axes R→L, P→A, I→S
    paths = folder / "ct.nii.gz", folder / "labels.nii.gz"
    nib.save(nib.Nifti1Image(hu[:, :, ::-1].round().astype(np.int16), affine), paths[0])
    nib.save(nib.Nifti1Image(labels[:, :, ::-1], affine), paths[1])
    return paths


def _synchronise(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(ct: Path, labels: Path, out: Path, device: str, n: int, modalities: tuple[str, ...]) -> None:
    """Prepare the source on ``device``, render and write ``n`` studies after a warm-up, print the figures."""
    start = time.perf_counter()
    source = prepare_source(read_labelled_ct(ct, labels), device)
    _synchronise(device)
    print(
        f"{device}: prepare {time.perf_counter() - start:.1f} s, working grid {source.grid.shape} at "
        f"{source.grid.spacing[0]:.2f} mm, levels {len(source.centroids)}"
    )
    render_study(source, 0, modalities)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    for seed in range(1, n + 1):
        write_study(render_study(source, seed, modalities), out / f"{device}_{seed:04d}")
    _synchronise(device)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{device}: {n} studies ({','.join(modalities)}, {torch.get_num_threads()} threads): "
        f"{60.0 * n / wall:.1f} studies/min ({wall / n:.2f} s each; {cpu / n:.2f} CPU s each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--modalities", default="dxa,biplanar", help="groups rendered (default dxa,biplanar)")
    parser.add_argument("--no-cpu", action="store_true", help="only the GPU figure")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modalities = tuple(args.modalities.split(","))
    devices = ([] if args.no_cpu else ["cpu"]) + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        ct, labels = synthetic_ct(Path(tmp))
        for device in devices:
            measure(ct, labels, Path(tmp), device, args.n, modalities)


if __name__ == "__main__":
    main()
