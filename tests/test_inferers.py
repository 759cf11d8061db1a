"""``MirrorMaxInferer``: the union of a network's output on an image and on its mirror, against known outputs."""

import pytest
import torch
from monai.inferers import SimpleInferer, SliceInferer

from monai_spine.networks import MirrorMaxInferer


def _shifted_right(x: torch.Tensor) -> torch.Tensor:
    """A 'network' with a left-right bias: it returns its input moved 2 pixels along the first spatial axis."""
    return torch.roll(x, shifts=2, dims=2)


def test_mirror_max_cancels_a_left_right_shift():
    """A bar at columns 10-14 of a 32-wide image: the biased network draws it at 12-16; the mirror's output, mirrored
    back, at 8-12; the union spans 8-16, whose centre is the bar's."""
    image = torch.zeros(1, 1, 32, 5)
    image[:, :, 10:15] = 1.0
    out = MirrorMaxInferer(SimpleInferer())(image, _shifted_right)
    columns = torch.nonzero(out[0, 0, :, 0]).flatten()
    assert columns.tolist() == list(range(8, 17))
    assert columns.float().mean() == pytest.approx(12.0)  # the bar's centre, where the plain network puts 14
    assert _shifted_right(image)[0, 0, :, 0].nonzero().float().mean() == pytest.approx(14.0)


def test_mirror_max_of_a_known_network_on_the_chosen_axis():
    """A network that weights its input by a ramp ``w`` along one axis (so it treats the two sides differently):
    the output is ``max(x·w, x·mirror(w))``, for either spatial axis of a 2D batch and for a slice-by-slice 3D
    inferer; a network that treats both sides alike (the identity) gives its own output."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 5, generator=generator)
    for axis, ramp in ((0, torch.linspace(-1.0, 2.0, 6)[:, None]), (1, torch.linspace(-1.0, 2.0, 5))):
        out = MirrorMaxInferer(SimpleInferer(), spatial_axis=axis)(x, lambda t, w=ramp: t * w)
        assert torch.allclose(out, torch.maximum(x * ramp, x * torch.flip(ramp, [0])))
    volume = torch.randn(2, 3, 6, 5, 4, generator=generator)
    ramp = torch.linspace(-1.0, 2.0, 6)[:, None]
    sliced = MirrorMaxInferer(SliceInferer(roi_size=(-1, -1), spatial_dim=2, progress=False))(
        volume, lambda t: t * ramp)
    expected = torch.maximum(volume * ramp[..., None], volume * torch.flip(ramp, [0])[..., None])
    assert torch.allclose(sliced, expected)
    assert torch.equal(MirrorMaxInferer(SimpleInferer())(x, lambda t: t), x)
