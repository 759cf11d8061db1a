"""2.5D input: each slice of a volume with its neighbours as channels (the MRI spine segmentation's input)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import TransformBackends, convert_to_tensor

__all__ = ["AdjacentSlices", "AdjacentSlicesd", "AdjacentSlicesD", "AdjacentSlicesDict"]


class AdjacentSlices(Transform):
    """Stack shifted copies of a one-channel volume as channels: channel ``k`` at slice ``n`` holds slice
    ``n + offsets[k]`` (clamped at the volume's ends, i.e. the edge slice repeated).

    With the default ``offsets=(-1, 0, 1)`` along the last axis, a 2D network applied slice by slice (MONAI
    ``SliceInferer``, or a training crop of depth 1) sees slices ``n − 1, n, n + 1`` of the acquisition.
    The spatial grid and affine are unchanged, so the output is in the input's frame.

    Args:
        offsets: slice offsets, one output channel each.
        axis: the spatial axis slices are taken along (0-based, not counting the channel); default the last,
            the feet-ward axis of a volume in the patient frame (axial slices).

    Input ``(1, X, Y, Z)``; output ``(len(offsets), X, Y, Z)``, same type and meta.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, offsets: Sequence[int] = (-1, 0, 1), axis: int = -1) -> None:
        if not offsets:
            raise ValueError("offsets must not be empty.")
        self.offsets = tuple(int(o) for o in offsets)
        self.axis = axis

    def __call__(self, img: NdarrayOrTensor) -> torch.Tensor:
        img = convert_to_tensor(img, track_meta=True)
        if img.shape[0] != 1:
            raise ValueError(f"expected a one-channel volume, got shape {tuple(img.shape)}.")
        dim = self.axis % (img.ndim - 1) + 1
        n = img.shape[dim]
        index = torch.arange(n, device=img.device)
        slices = [img.index_select(dim, (index + o).clamp(0, n - 1)) for o in self.offsets]
        return torch.cat(slices, dim=0)


class AdjacentSlicesd(MapTransform):
    """Dictionary form of :class:`AdjacentSlices`.

    Args:
        keys: keys of the volumes.
        offsets, axis: see :class:`AdjacentSlices`.
        allow_missing_keys: skip absent keys instead of raising ``KeyError``.
    """

    backend = AdjacentSlices.backend

    def __init__(
        self,
        keys: KeysCollection,
        offsets: Sequence[int] = (-1, 0, 1),
        axis: int = -1,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.slicer = AdjacentSlices(offsets, axis)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.slicer(d[key])
        return d


AdjacentSlicesD = AdjacentSlicesDict = AdjacentSlicesd
