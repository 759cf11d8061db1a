"""A network as files that run without its Python class: ``torch.export`` programs (``.pt2``) and ONNX models, each
checked against the PyTorch network, and the ONNX model run with ONNX Runtime on CPU (``docs/commands/export.md``).

TorchScript is deprecated from PyTorch 2.9 (MONAI issue 8632): :func:`export_program` captures the network with
``torch.export.export`` and ``torch.export.save`` writes it; the ONNX model is written by MONAI's
:func:`~monai.networks.utils.convert_to_onnx` (the tracing exporter, ``dynamo=False``: 2 s a network here against
9–15 s for the dynamo exporter, which decomposes the whole graph again under symbolic shapes; both give the same
outputs within :data:`TOLERANCE`). Batch and, for fully convolutional networks, the image sides are dynamic.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from monai.networks.utils import convert_to_onnx
from torch import nn

from monai_spine.io.files import atomic_path

__all__ = [
    "ONNX_OPSET",
    "TOLERANCE",
    "CachedOnnxNetwork",
    "OnnxRuntimeNetwork",
    "export_program",
    "max_abs_difference",
    "save_onnx",
    "save_program",
]

ONNX_OPSET = 18
"""The ai.onnx opset of the ONNX models (ONNX Runtime 1.32 runs 7–23)."""
TOLERANCE = 5e-4
"""Largest absolute difference allowed between an exported network's fp32 outputs (logits, normalised curve values)
and the PyTorch network's on the same input. ONNX Runtime's and PyTorch's fp32 sums differ by up to 1.3e-4 on the
radiograph network's logits (|logit| up to 20, about 6e-6 of it) over whole radiographs of 112 × 224 to 528 × 480
pixels (2026-12-05, with 0.4.5's padding below; 1e-4 until then): a mask's pixel flips only where its logit lies
that close to 0."""


def _dynamic_dims(example: torch.Tensor, spatial: bool) -> list[int]:
    """Dimensions of ``example`` ``(B, C, *spatial)`` that vary: the batch, and the spatial ones when ``spatial``."""
    return [0, *range(2, example.ndim)] if spatial else [0]


def export_program(network: nn.Module, example: torch.Tensor, dynamic_spatial: bool) -> torch.export.ExportedProgram:
    """``network`` (eval mode) captured by ``torch.export.export`` on ``example``.

    Args:
        network: the PyTorch network.
        example: an input ``(B, C, *spatial)`` with ``B >= 2`` (``torch.export`` fixes a dimension of size 1).
        dynamic_spatial: let the spatial sizes vary too (fully convolutional networks); else only the batch does.
    """
    dims = _dynamic_dims(example, dynamic_spatial)
    shape = [torch.export.Dim.DYNAMIC if d in dims else torch.export.Dim.STATIC for d in range(example.ndim)]
    with torch.no_grad():
        return torch.export.export(network.eval(), (example,), dynamic_shapes=(shape,))


def save_program(program: torch.export.ExportedProgram, path: str | os.PathLike) -> Path:
    """Write ``program`` to ``path`` (``.pt2``, whole or not at all); ``torch.export.load(path).module()`` runs it."""
    with atomic_path(path) as tmp:
        torch.export.save(program, tmp)
    return Path(path)


@contextlib.contextmanager
def _without_fused_attention() -> Iterator[None]:
    """PyTorch's fused transformer layer (its eval fast path) off: it has no ONNX form; the unfused ops give the same
    outputs."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def save_onnx(network: nn.Module, example: torch.Tensor, path: str | os.PathLike, dynamic_spatial: bool) -> Path:
    """Write ``network`` as an ONNX model (opset :data:`ONNX_OPSET`, input ``image``, output ``pred``, weights inside
    the file) to ``path``, whole or not at all; dynamic dimensions as :func:`export_program`'s."""
    dims = {d: "batch" if d == 0 else f"spatial_{d - 1}" for d in _dynamic_dims(example, dynamic_spatial)}
    # the tracer warns of every Python condition on a tensor; the exported model is checked against the network
    # wherever it is used (CachedOnnxNetwork, `monai-spine export`), so its warnings would only reach a user as noise
    with _without_fused_attention(), atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        convert_to_onnx(network.eval(), [example], input_names=["image"], output_names=["pred"],
                        opset_version=ONNX_OPSET, dynamic_axes={"image": dims, "pred": dims}, filename=os.fspath(tmp),
                        dynamo=False)
    return Path(path)


def max_abs_difference(reference: nn.Module, other, example: torch.Tensor) -> float:
    """Largest absolute difference between ``reference(example)`` and ``other(example)`` (any callable on tensors)."""
    with torch.inference_mode():
        return float((reference(example).float() - torch.as_tensor(other(example)).float()).abs().max())


class OnnxRuntimeNetwork:
    """An ONNX model run by ONNX Runtime on CPU, called as the network it came from: tensor in, tensor out.

    Args:
        path: the ``.onnx`` file (:func:`save_onnx`).
        threads: intra-op threads; default ``torch.get_num_threads()``, so both runtimes use the same cores.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """``image`` ``(B, C, *spatial)`` float32 on CPU → the network's output, float32 tensor on CPU."""
        array = np.ascontiguousarray(torch.as_tensor(image).detach().cpu().float().numpy())
        return torch.from_numpy(self.session.run(None, {self.input_name: array})[0])


class CachedOnnxNetwork:
    """A PyTorch network run through ONNX Runtime from a cached ONNX file, which the first call writes.

    The first call's input is the example: the network is exported on it (:func:`save_onnx`), and the ONNX model's
    output is compared with the network's; within :data:`TOLERANCE`, the file is kept at ``path`` and used from then
    on (by later processes too). Outside it, a warning says so, no file is kept and the PyTorch network runs.

    Args:
        network: the PyTorch network (eval mode, CPU).
        path: the cache file, e.g. named by the weights' hash so that other weights get their own.
        dynamic_spatial: as in :func:`export_program`.
    """

    def __init__(self, network: nn.Module, path: str | os.PathLike, dynamic_spatial: bool) -> None:
        self.network, self.path, self.dynamic_spatial = network, Path(path), dynamic_spatial
        self.runtime = OnnxRuntimeNetwork(self.path) if self.path.is_file() else None

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.runtime is None:
            self.runtime = self._export_and_check(image)
        return self.runtime(image)

    def _export_and_check(self, example: torch.Tensor):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        candidate = self.path.with_name(f"check-{os.getpid()}-{self.path.name}")
        try:
            runtime = OnnxRuntimeNetwork(save_onnx(self.network, example, candidate, self.dynamic_spatial))
            difference = max_abs_difference(self.network, runtime, example)
            if difference <= TOLERANCE:
                os.replace(candidate, self.path)
                return runtime
        finally:
            candidate.unlink(missing_ok=True)
        warnings.warn(f"{self.path.name}: ONNX Runtime differs from PyTorch by {difference:.2g} (> {TOLERANCE}); "
                      "running PyTorch.", stacklevel=2)
        return self.network
