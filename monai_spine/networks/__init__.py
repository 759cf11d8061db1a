"""Networks and inferers of monai-spine that MONAI does not provide (`docs/regression.md`, `docs/segmentation.md`)."""

from .curve_regressor import ENCODERS, BottleneckAttention, SpineCurveRegressor
from .inferers import MirrorMaxInferer

__all__ = ["ENCODERS", "BottleneckAttention", "MirrorMaxInferer", "SpineCurveRegressor"]
