"""The DXA curve regressor bundle (``dxa_spine_curve_regression``) in-process: a DXA and its spine mask → the six
spine curves in the DXA's millimetres (``docs/regression.md``)."""

from .runner import BundleCurveRegressor, SpineCrop, crop_curves, curve_regressor, regress_dxa_curves, spine_crop

__all__ = ["BundleCurveRegressor", "SpineCrop", "crop_curves", "curve_regressor", "regress_dxa_curves", "spine_crop"]
