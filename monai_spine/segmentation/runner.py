"""A segmentation bundle's network run in-process on images already loaded: the pipeline's use of the bundles.

``python -m monai.bundle run`` reads files from ``dataset_dir`` and writes masks; the DXA → 3D pipeline and the
alignment need masks of images they have loaded, in the frames of ``docs/frames.md``. :class:`BundleSegmenter`
parses the same ``inference.json`` and runs its ``image_transforms``, ``inferer`` and ``mask_transforms``: the
bundle's preprocessing without the ``loader`` and its postprocessing without the ``save_transforms`` (which put
a volume back on its file's grid and write it), so both uses share one definition. Bundles are found with
:func:`monai_spine.bundles.bundle_root` (installed with the package, or ``$MONAI_SPINE_BUNDLES``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor
from monai.transforms import Compose
from monai.utils import convert_to_tensor

from monai_spine.bundles import BUNDLE_NAMES, CURVE_BUNDLE, RADIOGRAPH_BUNDLE, bundle_root
from monai_spine.networks.export import ONNX_OPSET, CachedOnnxNetwork

from .inputs import RADIOGRAPH_VIEWS

__all__ = [
    "ONNXRUNTIME_BUNDLES",
    "RUNTIMES",
    "BundleSegmenter",
    "KEEP_EVERY_COMPONENT",
    "onnx_cache_dir",
    "runtime_network",
    "bundle_limitation",
    "bundle_segmenter",
    "bundle_versions",
    "load_bundle",
    "segment_dxa",
    "segment_mri",
    "segment_radiograph",
]


def load_bundle(bundle_root: str | os.PathLike, device: str | torch.device | None = None,
                overrides: Mapping[str, Any] | None = None):
    """A bundle's ``inference.json`` parsed (with its ``metadata.json``) and its network on ``device`` with the
    weights at ``ckpt_path`` loaded (``weights_only``; fp16 weights are copied into the network's fp32 parameters),
    in eval mode. ``overrides``: entries of ``inference.json`` set before anything is parsed.

    Returns:
        ``(parser, device, network)``: the ``ConfigParser`` for the bundle's other definitions.
    """
    root = Path(bundle_root)
    parser = ConfigParser()
    parser.read_meta(root / "configs" / "metadata.json")
    parser.read_config(root / "configs" / "inference.json")
    parser["bundle_root"] = os.fspath(root)
    parser.update(dict(overrides or {}))
    if device is not None:
        parser["device"] = f"$torch.device({str(device)!r})"
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network")
    state = torch.load(parser.get_parsed_content("ckpt_path"), map_location=device, weights_only=True)
    network.load_state_dict(state)
    return parser, device, network.eval()


RUNTIMES = ("auto", "torch", "onnxruntime")
"""What runs a bundle's network: PyTorch, ONNX Runtime (CPU), or ``auto``: ONNX Runtime for the bundles of
:data:`ONNXRUNTIME_BUNDLES` on CPU when ``onnxruntime`` is installed, PyTorch otherwise."""
ONNXRUNTIME_BUNDLES = (*BUNDLE_NAMES, RADIOGRAPH_BUNDLE, CURVE_BUNDLE)
"""Bundles whose network ONNX Runtime runs faster than PyTorch on 2 CPU threads at the pipelines' input sizes
(``docs/performance.md``)."""


def onnx_cache_dir() -> Path:
    """Where the ONNX models made from the bundles' weights are kept: ``$MONAI_SPINE_CACHE/onnx`` when set, else
    ``$XDG_CACHE_HOME/monai-spine/onnx`` (default ``~/.cache/monai-spine/onnx``)."""
    if os.environ.get("MONAI_SPINE_CACHE"):
        return Path(os.environ["MONAI_SPINE_CACHE"]) / "onnx"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "monai-spine" / "onnx"


def runtime_network(parser: ConfigParser, device: torch.device, network, dynamic_spatial: bool, runtime: str = "auto"):
    """The callable that runs ``network`` (:func:`load_bundle`'s) for one of :data:`RUNTIMES`.

    ONNX Runtime runs a :class:`~monai_spine.networks.export.CachedOnnxNetwork`: the ONNX model of these weights
    (named by the bundle, the weights' SHA-256 and the opset, in :func:`onnx_cache_dir`), made and checked against
    PyTorch on the first input, then reused.

    Raises:
        ValueError: ``runtime`` is not one of :data:`RUNTIMES`, or is ``onnxruntime`` on a device other than the
            CPU or without ``onnxruntime`` installed.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}.")
    root = Path(parser["bundle_root"])
    available = device.type == "cpu" and importlib.util.find_spec("onnxruntime") is not None
    if runtime == "onnxruntime" and not available:
        raise ValueError(f"runtime 'onnxruntime' needs the CPU and the onnxruntime package (device {device}).")
    if runtime == "torch" or (runtime == "auto" and not (available and root.name in ONNXRUNTIME_BUNDLES)):
        return network
    digest = hashlib.sha256(Path(parser.get_parsed_content("ckpt_path")).read_bytes()).hexdigest()[:16]
    path = onnx_cache_dir() / f"{root.name}-{digest}-opset{ONNX_OPSET}.onnx"
    return CachedOnnxNetwork(network, path, dynamic_spatial)


class BundleSegmenter:
    """Spine masks from one segmentation bundle for images loaded with ``monai_spine.transforms``.

    Args:
        bundle_root: the bundle folder (``configs/inference.json``; the weights at its ``ckpt_path``,
            ``models/model.pt``), e.g. ``monai_spine.bundles.bundle_root("dxa_spine_segmentation")``.
        device: torch device; default CUDA when available.
        runtime: what runs the network (:data:`RUNTIMES`).
        overrides: ``inference.json`` entries set before it is parsed, e.g. ``{"frame": "lateral"}``.
    """

    def __init__(self, bundle_root: str | os.PathLike, device: str | torch.device | None = None,
                 runtime: str = "auto", overrides: Mapping[str, Any] | None = None) -> None:
        parser, self.device, network = load_bundle(bundle_root, device, overrides)
        self.network = runtime_network(parser, self.device, network, dynamic_spatial=True, runtime=runtime)
        self.preprocessing = Compose(parser.get_parsed_content("image_transforms"))
        self.inferer = parser.get_parsed_content("inferer")
        self.postprocessing = Compose(parser.get_parsed_content("mask_transforms"))
        self.version = parser["_meta_#version"]

    def preprocess(self, image: MetaTensor) -> dict:
        """The bundle's ``image_transforms`` of ``image``: ``{"image": (1, W', H'[, D'])}`` on the network's grid,
        its transforms recorded for :meth:`postprocess`."""
        return self.preprocessing({"image": image})

    def predict(self, images) -> list[torch.Tensor]:
        """The network's outputs (logits) of preprocessed images of one shape, run as one batch on the device.

        Args:
            images: ``(1, W', H'[, D'])`` tensors (:meth:`preprocess`'s ``"image"``), all of one shape.

        Returns:
            one ``(1, W', H'[, D'])`` output per image, on the CPU.
        """
        batch = torch.stack([convert_to_tensor(image, track_meta=False) for image in images]).to(self.device)
        with torch.inference_mode():
            return list(self.inferer(batch, self.network).cpu())

    def postprocess(self, data: dict, pred: torch.Tensor) -> MetaTensor:
        """The mask of :meth:`preprocess`'s ``data`` from its network output ``pred``: the bundle's
        ``mask_transforms`` (back on the image's grid, thresholded, QC), ``uint8`` on the CPU."""
        data = self.postprocessing({**data, "pred": MetaTensor(pred)})
        return data["pred"].to(torch.uint8).cpu()

    def __call__(self, image: MetaTensor) -> MetaTensor:
        """Segment ``image``: a DXA ``(1, W, H)`` or MRI ``(1, X, Y, Z)`` as its loader gives it.

        Returns:
            the spine mask, ``uint8`` ``MetaTensor`` on the image's grid (shape and affine), with
            ``meta["qc_warnings"]`` when it is empty or implausibly short.
        """
        data = self.preprocess(image)
        return self.postprocess(data, self.predict([data["image"]])[0])


def bundle_versions(names=BUNDLE_NAMES) -> dict[str, str]:
    """``{bundle name: version}`` of shipped bundles (default the DXA and MRI segmentation ones), for
    ``curves.json``'s provenance."""
    return {name: _metadata(name)["version"] for name in names}


def bundle_limitation(name: str) -> str:
    """A shipped bundle's ``known_limitation`` (``metadata.json``): a QC warning on every result its weights make
    while they miss their accuracy targets; empty when there is none."""
    return _metadata(name).get("known_limitation", "")


def _metadata(name: str) -> dict:
    return json.loads((bundle_root(name) / "configs" / "metadata.json").read_text())


KEEP_EVERY_COMPONENT = {"keep_largest_component": {"_target_": "Identityd", "keys": "pred"}}
"""``inference.json`` override of a segmentation bundle (its named ``keep_largest_component`` step): every connected
component of the thresholded mask is kept, not only the largest."""


@cache
def bundle_segmenter(name: str, device: str | None = None, frame: str | None = None,
                     every_component: bool = False) -> BundleSegmenter:
    """The shipped bundle ``name`` on ``device`` (``None``: CUDA when available), built once per process; ``frame``
    sets the radiograph bundle's view frame (``"coronal"`` or ``"lateral"``), which picks its inferer;
    ``every_component`` keeps all its mask's connected components (:data:`KEEP_EVERY_COMPONENT`)."""
    overrides = {**({"frame": frame} if frame else {}), **(KEEP_EVERY_COMPONENT if every_component else {})}
    return BundleSegmenter(bundle_root(name), device, overrides=overrides or None)


def segment_dxa(image: MetaTensor, device: str | None = None) -> MetaTensor:
    """Spine mask of a coronal DXA loaded with ``LoadRadiograph`` (bundle ``dxa_spine_segmentation`` on ``device``,
    ``None``: CUDA when available)."""
    return bundle_segmenter("dxa_spine_segmentation", device)(image)


def segment_mri(volume: MetaTensor) -> MetaTensor:
    """Spine mask of an MRI volume loaded with ``LoadVolume`` (bundle ``mri_spine_segmentation``)."""
    return bundle_segmenter("mri_spine_segmentation", None)(volume)


def segment_radiograph(image: MetaTensor, view: str, device: str | None = None,
                       every_component: bool = False) -> MetaTensor:
    """Spine mask of an AP or lateral radiograph loaded with ``LoadRadiograph`` (bundle
    ``radiograph_spine_segmentation``, one network for both views).

    Args:
        image: ``(1, W, H)`` in the standard display of the view's frame: ``LoadRadiograph(frame="coronal")`` for
            ``"ap"``, ``LoadRadiograph(frame="lateral")`` for ``"lateral"``.
        view: ``"ap"`` (mask of the vertebral column) or ``"lateral"`` (the vertebral bodies, anterior to
            posterior wall).
        device: the network's device (``None``: CUDA when available).
        every_component: keep every connected component of the mask, not only the largest.

    Returns:
        ``(1, W, H)`` uint8 {0, 1} mask on the image's grid, with ``meta["qc_warnings"]`` when it is empty or
        implausibly short.

    Raises:
        ValueError: ``view`` is not ``"ap"`` or ``"lateral"``, or the image was loaded in the other view's frame
            (``meta["frame"]``).
    """
    if view not in RADIOGRAPH_VIEWS:
        raise ValueError(f"view must be one of {tuple(RADIOGRAPH_VIEWS)}, got {view!r}.")
    frame = getattr(image, "meta", {}).get("frame", RADIOGRAPH_VIEWS[view])
    if frame != RADIOGRAPH_VIEWS[view]:
        raise ValueError(f"view {view!r} is read in the {RADIOGRAPH_VIEWS[view]} frame; this image was loaded in "
                         f"the {frame} frame.")
    return bundle_segmenter(RADIOGRAPH_BUNDLE, device, RADIOGRAPH_VIEWS[view], every_component)(image)
