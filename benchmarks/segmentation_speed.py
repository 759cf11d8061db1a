"""CPU inference time of the DXA spine segmentation bundle, per image, on a fixed number of threads.

Target (issue 4): at most 0.3 s per DXA image on 2 CPU cores.

    python benchmarks/segmentation_speed.py --threads 2 --repeats 5

Phantom whole-body DXA images (600 × 1950 mm) at several pixel sizes are segmented with the shipped bundle through
:class:`monai_spine.segmentation.BundleSegmenter` (the bundle's preprocessing, network and postprocessing, as
``monai.bundle run`` applies them). Two figures per image: **segment**, from the loaded image to the mask on the
image's grid; **file to file**, reading the DICOM and writing the mask as NIfTI too. Model loading and process
start-up are left out (once per run, not per image). The MRI bundle is timed once for reference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from monai_spine.bundles import bundle_root
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import write_study
from monai_spine.segmentation import BundleSegmenter
from monai_spine.transforms import LoadRadiograph, LoadVolume


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per image (default 5)")
    parser.add_argument("--pixels", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.5], help="DXA pixel sizes, mm")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dxa_bundle = BundleSegmenter(bundle_root("dxa_spine_segmentation"), device="cpu")
    load = LoadRadiograph()
    with tempfile.TemporaryDirectory() as tmp:
        for i, pixel in enumerate(args.pixels):
            folder = Path(tmp) / f"s{i}"
            write_study(make_study(1000 + i, StudyConfig(dxa_pixel_mm=pixel), modalities=("dxa",)), folder)
            image = load(folder / "dxa.dcm")

            def file_to_file():
                mask = dxa_bundle(load(folder / "dxa.dcm"))
                nib.save(nib.Nifti1Image(mask[0].numpy(), np.diag([pixel, pixel, 1, 1])), folder / "seg.nii.gz")

            segment = median_seconds(lambda: dxa_bundle(image), args.repeats)
            whole = median_seconds(file_to_file, args.repeats)
            print(f"DXA {tuple(image.shape[1:])} px at {pixel} mm, {args.threads} threads: segment {segment:.3f} s, "
                  f"file to file {whole:.3f} s")
        folder = Path(tmp) / "mri"
        write_study(make_study(2000, modalities=("mri",)), folder)
        volume = LoadVolume()(folder / "mri_in_phase.nii.gz")
        mri_bundle = BundleSegmenter(bundle_root("mri_spine_segmentation"), device="cpu")
        print(f"MRI {tuple(volume.shape[1:])} voxels, {args.threads} threads: segment "
              f"{median_seconds(lambda: mri_bundle(volume), 1):.2f} s")


if __name__ == "__main__":
    main()
