"""Networks of monai-spine that MONAI does not provide (``docs/regression.md``)."""

from .curve_regressor import ENCODERS, BottleneckAttention, SpineCurveRegressor

__all__ = ["ENCODERS", "BottleneckAttention", "SpineCurveRegressor"]
