"""The DXA spine-curve regressor: a ResNet encoder, a bottleneck-transformer block over its last feature map, and a
linear head that gives six curves of 209 values (``docs/regression.md``).

As in the published method (Bottleneck Transformers: Srinivas et al., CVPR 2021; ResNet-50 + multi-head self
attention over the last feature map), the encoder is MONAI's :class:`~monai.networks.nets.ResNet` with the stride-2
stem (``conv1_t_stride=2``: a 224 × 224 crop gives a 7 × 7 map), its pooling and fully connected layer unused.
"""

from __future__ import annotations

import torch
from monai.networks.nets import ResNet
from monai.networks.nets.resnet import ResNetBlock, ResNetBottleneck
from torch import nn

__all__ = ["ENCODERS", "BottleneckAttention", "SpineCurveRegressor"]

ENCODERS = {
    "resnet18": (ResNetBlock, (2, 2, 2, 2)),
    "resnet34": (ResNetBlock, (3, 4, 6, 3)),
    "resnet50": (ResNetBottleneck, (3, 4, 6, 3)),
}
"""Encoder name → MONAI ResNet block and layers."""


class BottleneckAttention(nn.Module):
    """Multi-head self-attention over the positions of a feature map, with a learned position encoding.

    ``(B, C, H, W)`` → 1 × 1 projection to ``dim`` channels → ``H·W`` tokens plus a learned ``(H·W, dim)``
    position embedding → one pre-norm transformer encoder layer (attention and a ``4·dim`` MLP, both residual) →
    ``(B, H·W, dim)``.

    Args:
        in_channels: ``C``, channels of the encoder's last feature map.
        dim: token width.
        heads: attention heads (``dim`` divisible by it).
        positions: ``H·W``, the number of positions (49 for a 224 × 224 crop).
        dropout: dropout inside the transformer layer.
    """

    def __init__(self, in_channels: int, dim: int, heads: int, positions: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, dim, kernel_size=1)
        self.position = nn.Parameter(torch.zeros(1, positions, dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.encoder = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=4 * dim, dropout=dropout, batch_first=True, norm_first=True
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = self.project(features).flatten(2).transpose(1, 2)
        if tokens.shape[1] != self.position.shape[1]:
            raise ValueError(
                f"the feature map has {tokens.shape[1]} positions, the position encoding {self.position.shape[1]}: "
                "the input must be the crop size the network was built for."
            )
        return self.encoder(tokens + self.position)


class SpineCurveRegressor(nn.Module):
    """Image ``(B, 1, S, S)`` → six curves ``(B, 6, n_points)``, normalised to the crop (``docs/regression.md``).

    Args:
        encoder: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"`` (:data:`ENCODERS`).
        attention: add the :class:`BottleneckAttention` block (the published method); ``False`` pools the encoder's
            map directly (the ablation without transformer).
        n_curves: curves out (6: coronal centre, right, left; sagittal centre, posterior, anterior).
        n_points: values per curve (209).
        crop_size: ``S``, the input side in pixels (224); fixes the number of attention positions.
        dim: the attention block's token width.
        heads: attention heads.
        dropout: dropout before the linear head (0.3).
    """

    def __init__(
        self,
        encoder: str = "resnet50",
        attention: bool = True,
        n_curves: int = 6,
        n_points: int = 209,
        crop_size: int = 224,
        dim: int = 512,
        heads: int = 8,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {sorted(ENCODERS)}, got {encoder!r}.")
        block, layers = ENCODERS[encoder]
        resnet = ResNet(block, list(layers), [64, 128, 256, 512], spatial_dims=2, n_input_channels=1,
                        conv1_t_size=7, conv1_t_stride=2, feed_forward=False)
        self.encoder = nn.Sequential(resnet.conv1, resnet.bn1, resnet.act, resnet.maxpool,
                                     resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)
        channels = 512 * block.expansion
        side = -(-crop_size // 32)  # stem stride 2, max pool 2, three stride-2 stages
        self.attention = BottleneckAttention(channels, dim, heads, side * side) if attention else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim if attention else channels, n_curves * n_points)
        self.n_curves, self.n_points = n_curves, n_points

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.encoder(image)
        pooled = self.attention(features).mean(dim=1) if self.attention is not None else features.mean(dim=(2, 3))
        return self.head(self.dropout(pooled)).view(-1, self.n_curves, self.n_points)
