"""Every performance figure of the project in one run, printed with the date and the machine (``docs/performance.md``).

Targets (issue 13): at most 1 s per DXA study and 2 s per bi-planar study on 2 CPU cores.

    python benchmarks/run_all.py --threads 2 --out results.json            # CPU
    python benchmarks/run_all.py --device cuda --workers 8 --writers 1,14 --studies 64 --out results.json  # GPU

Figures, on phantom studies rendered on the fly (seed 0; model loading and the first run, which makes the ONNX
Runtime cache, left out; medians of ``--repeats`` runs):

- **study latency**, CPU: ``infer_dxa`` and ``infer_biplanar`` from the files to the written results, the routes'
  default runtimes (ONNX Runtime for the bundles of ``segmentation.runner.ONNXRUNTIME_BUNDLES``);
- **network latency**, CPU: each bundle's network alone, PyTorch against ONNX Runtime, at the input the route gives
  it (the MRI bundle: a batch of 32 slices, its ``SliceInferer``'s);
- **network images/s**: the curve regressor at 224 × 224 (batch 256 and bf16 autocast on CUDA, 16 fp32 on CPU);
- **training images/s**: the curve regressor, AdamW and an L1 loss, batch 64 on CUDA, 8 on CPU;
- **batch studies/s**: ``monai-spine batch`` end to end on ``--studies`` studies, and its ratio to the network's
  images/s, once per ``--writers`` value (``1,8``: one writer thread, then eight writer processes); and its steady
  rate once the command's start is behind (the later half of the studies); ``--no-pictures`` passed on;
- **peak memory**: the process's RSS, and ``torch.cuda.max_memory_allocated`` on CUDA.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from segmentation_speed import median_seconds  # benchmarks/, the script's folder

from monai_spine.bundles import BUNDLE_NAMES, CURVE_BUNDLE, RADIOGRAPH_BUNDLE, bundle_root
from monai_spine.export import example_input
from monai_spine.networks.export import OnnxRuntimeNetwork, save_onnx
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.pipelines import infer_dxa
from monai_spine.pipelines.biplanar import infer_biplanar
from monai_spine.segmentation.runner import load_bundle
from monai_spine.workers import map_single_threaded

NETWORK_FILES = {  # bundle → the study file its input comes from
    BUNDLE_NAMES[0]: "dxa.dcm",
    RADIOGRAPH_BUNDLE: "ap.dcm",
    BUNDLE_NAMES[1]: "mri_in_phase.nii.gz",
    CURVE_BUNDLE: "dxa.dcm",
}
MODALITIES = ("dxa", "biplanar", "mri")
MRI_SLICE_BATCH = 32
"""The MRI bundle's ``SliceInferer`` ``sw_batch_size``."""


def machine(device: torch.device) -> dict:
    """Date, CPU model and cores, GPU, torch and ONNX Runtime versions."""
    cpu = platform.processor()
    if Path("/proc/cpuinfo").is_file():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    try:
        import onnxruntime
        ort = onnxruntime.__version__
    except ImportError:
        ort = None
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "cpu": cpu,
            "cores": os.cpu_count(), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "torch": torch.__version__, "onnxruntime": ort, "threads": torch.get_num_threads()}


def study_latencies(study: Path, repeats: int) -> dict:
    """Seconds per study of the DXA and bi-planar routes, file to written results, CPU."""
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "dxa_s": median_seconds(lambda: infer_dxa(study / "dxa.dcm", Path(tmp) / "dxa"), repeats),
            "biplanar_s": median_seconds(lambda: infer_biplanar(study / "ap.dcm", study / "lateral.dcm",
                                                                Path(tmp) / "biplanar"), repeats),
        }


def network_latencies(study: Path, repeats: int) -> dict:
    """Per bundle: seconds per network call with PyTorch and with ONNX Runtime on CPU, their ratio, the input."""
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in NETWORK_FILES.items():
            parser, _, network = load_bundle(bundle_root(name), "cpu")
            x = example_input(parser, study / file)
            dynamic_spatial = parser.get("loader") is not None
            ort = OnnxRuntimeNetwork(save_onnx(network, x, Path(tmp) / f"{name}.onnx", dynamic_spatial))
            x = x.repeat(MRI_SLICE_BATCH // 2, 1, 1, 1) if name == BUNDLE_NAMES[1] else x[:1]
            with torch.inference_mode():
                torch_s = median_seconds(lambda: network(x), repeats)
            ort_s = median_seconds(lambda: ort(x), repeats)
            rows[name] = {"input": list(x.shape), "torch_s": torch_s, "onnxruntime_s": ort_s,
                          "speed_up": torch_s / ort_s}
    return rows


def regressor_throughput(device: torch.device, iterations: int) -> dict:
    """The curve regressor's images/s: inference (bf16 autocast on CUDA) and training steps."""
    _, _, network = load_bundle(bundle_root(CURVE_BUNDLE), device)
    cuda = device.type == "cuda"
    batch = 256 if cuda else 16
    x = torch.rand(batch, 1, 224, 224, device=device)

    def infer():
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=cuda):
            network(x)
        if cuda:
            torch.cuda.synchronize()

    infer_s = median_seconds(infer, iterations)
    train_batch = 64 if cuda else 8
    xt, target = x[:train_batch], torch.rand(train_batch, 6, 209, device=device)
    optimiser = torch.optim.AdamW(network.train().parameters(), lr=1e-4)

    def step():
        optimiser.zero_grad()
        with torch.autocast(device.type, torch.bfloat16, enabled=cuda):
            loss = torch.nn.functional.l1_loss(network(xt).float(), target)
        loss.backward()
        optimiser.step()
        if cuda:
            torch.cuda.synchronize()

    train_s = median_seconds(step, iterations)
    return {"network_images_per_s": batch / infer_s, "network_batch": batch,
            "training_images_per_s": train_batch / train_s, "training_batch": train_batch}


def _write_phantom_study(root: Path, seed: int) -> None:
    """The phantom study of ``seed``, every modality, into ``root/study_<seed>``."""
    write_study(make_study(seed, modalities=MODALITIES), root / f"study_{seed:04d}", modalities=MODALITIES)


def batch_studies_per_s(studies: list[Path], network_images_per_s: float, device: torch.device, workers: int,
                        writers: int, pictures: bool = True) -> dict:
    """``monai-spine batch`` on a folder of ``studies`` (both routes each) on ``device`` with ``workers`` loading
    processes and ``writers`` writers (``--no-pictures`` unless ``pictures``): studies/s end to end, the command's
    start and the bundles' loading included, and the ratio to the network's images/s; and the steady rate once the
    start is behind: the later half of the studies over the time their results took to appear (from the middle
    study's ``curves.json`` to the last's, by the files' times)."""
    folder = studies[0].parent
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "monai_spine", "batch", "--input", str(folder), "--out", out,
                               "--device", device.type, "--workers", str(workers), "--writers", str(writers),
                               *(() if pictures else ("--no-pictures",))], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        finished = sorted(path.stat().st_mtime for path in Path(out).glob("*/dxa/curves.json"))
    if done.returncode != 0:
        return {"batch": f"failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"}
    rate = len(studies) / seconds
    figures = {"batch_studies_per_s": rate, "batch_over_network": rate / network_images_per_s}
    half = len(finished) // 2
    if half >= 2 and finished[-1] > finished[half - 1]:
        steady = (len(finished) - half) / (finished[-1] - finished[half - 1])
        figures |= {"steady_studies_per_s": steady, "steady_over_network": steady / network_images_per_s}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device for the throughput figures (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads, torch and ONNX Runtime (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--studies", type=int, default=2, help="phantom studies for the batch figure (default 2)")
    parser.add_argument("--workers", type=int, default=2,
                        help="batch's loading processes, and the processes rendering the studies (default 2)")
    parser.add_argument("--writers", default="1", metavar="N[,N...]",
                        help="batch's writers, one batch figure per value (default 1: one thread)")
    parser.add_argument("--no-pictures", action="store_true", help="batch without the pictures (cohort work)")
    parser.add_argument("--out", metavar="JSON", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = {"machine": machine(device)}
    print(json.dumps(results["machine"]))
    with tempfile.TemporaryDirectory() as tmp:
        list(map_single_threaded(partial(_write_phantom_study, Path(tmp)), range(args.studies), args.workers))
        studies = sorted(Path(tmp).glob("study_*"))
        if device.type == "cpu":  # the CPU figures; a --device cuda run gives the GPU ones
            results["study_latency_cpu"] = study_latencies(studies[0], args.repeats)
            print("study latency, CPU:", results["study_latency_cpu"])
            if importlib.util.find_spec("onnxruntime") is None:
                print("network latency, CPU: ONNX Runtime is not installed")
            else:
                results["network_latency_cpu"] = network_latencies(studies[0], args.repeats)
                for name, row in results["network_latency_cpu"].items():
                    print(f"{name} {row['input']}: PyTorch {row['torch_s']:.3f} s, ONNX Runtime "
                          f"{row['onnxruntime_s']:.3f} s, x{row['speed_up']:.2f}")
        results["regressor"] = regressor_throughput(device, args.repeats)
        print(f"regressor on {device}:", results["regressor"])
        results["batch"] = {f"writers_{n}": batch_studies_per_s(studies, results["regressor"]["network_images_per_s"],
                                                                device, args.workers, int(n), not args.no_pictures)
                            for n in args.writers.split(",")}
        print("batch:", results["batch"])
    results["peak_memory"] = {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        results["peak_memory"]["cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print("peak memory:", results["peak_memory"])
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
