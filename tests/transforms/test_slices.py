"""AdjacentSlices / AdjacentSlicesd: each slice with its neighbours as channels, on volumes whose slices are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.transforms import AdjacentSlices, AdjacentSlicesD, AdjacentSlicesd, AdjacentSlicesDict


def numbered(n: int, axis: int, shape=(2, 3, 4)) -> np.ndarray:
    """A one-channel volume ``(1, *shape)`` with ``n`` slices along spatial ``axis``, slice ``k`` holding ``k``."""
    shape = list(shape)
    shape[axis] = n
    view = [1, 1, 1]
    view[axis] = n
    return np.broadcast_to(np.arange(n, dtype=np.float32).reshape(view), shape)[None].copy()


INPUTS = {
    "numpy": lambda a: a,
    "torch": torch.as_tensor,
    "MetaTensor": lambda a: MetaTensor(torch.as_tensor(a), affine=torch.diag(torch.tensor([2.0, 2.0, 3.0, 1.0]))),
}

# offsets, axis, slices n, the slice each output channel holds at slices 0..n-1 (edges repeated)
CASES = [
    ((-1, 0, 1), -1, 5, [[0, 0, 1, 2, 3], [0, 1, 2, 3, 4], [1, 2, 3, 4, 4]]),
    ((-2, 0, 2), 0, 4, [[0, 0, 0, 1], [0, 1, 2, 3], [2, 3, 3, 3]]),
    ((0,), 1, 3, [[0, 1, 2]]),
    ((1, -1), 2, 3, [[1, 2, 2], [0, 0, 1]]),
]


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("offsets, axis, n, expected", CASES)
def test_known_slices(kind, offsets, axis, n, expected):
    volume = numbered(n, axis % 3)
    out = AdjacentSlices(offsets, axis)(INPUTS[kind](volume))
    assert isinstance(out, torch.Tensor) and out.shape == (len(offsets), *volume.shape[1:])
    channels = torch.movedim(out, axis % 3 + 1, 1).reshape(len(offsets), n, -1)
    # every voxel of a slice holds the slice number, so each channel's slices are its source slices
    np.testing.assert_array_equal(channels.numpy(), np.broadcast_to(np.asarray(expected, np.float32)[..., None],
                                                                    channels.shape))


def test_meta_and_affine_kept():
    image = INPUTS["MetaTensor"](numbered(5, 2))
    out = AdjacentSlices()(image)
    assert isinstance(out, MetaTensor) and torch.equal(out.affine, image.affine)


@pytest.mark.parametrize("offsets, image", [((), torch.zeros(1, 3, 3, 3)), ((0,), torch.zeros(2, 3, 3, 3))])
def test_bad_arguments(offsets, image):
    with pytest.raises(ValueError, match="offsets must not be empty|one-channel"):
        AdjacentSlices(offsets)(image)


def test_dictionary_form():
    image = INPUTS["MetaTensor"](numbered(5, 2))
    out = AdjacentSlicesd(keys=["image", "absent"], offsets=(-1, 0, 1), allow_missing_keys=True)(
        {"image": image, "other": 1}
    )
    assert set(out) == {"image", "other"}
    torch.testing.assert_close(out["image"], AdjacentSlices()(image))
    assert isinstance(out["image"], MetaTensor) and torch.equal(out["image"].affine, image.affine)
    with pytest.raises(KeyError):
        AdjacentSlicesd(keys="absent")({"image": image})


def test_aliases():
    assert AdjacentSlicesD is AdjacentSlicesDict is AdjacentSlicesd
