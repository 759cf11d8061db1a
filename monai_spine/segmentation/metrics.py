"""Segmentation quality beyond overlap: how far the centre line of a predicted spine mask is from the truth's."""

from __future__ import annotations

import numpy as np
import torch
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.metrics import CumulativeIterationMetric
from monai.metrics.utils import do_metric_reduction
from monai.utils import MetricReduction, convert_to_numpy

from monai_spine.geometry.extract import curves_from_mask, curves_from_volume

__all__ = ["mask_centre_line", "centre_line_error_mm", "CentreLineErrorMetric"]


def mask_centre_line(mask: np.ndarray, spacing) -> np.ndarray:
    """The spine's centre line of a 2D mask ``(W, H)`` → ``(209, 2)`` ``(x, z)`` mm, or of a 3D mask
    ``(X, Y, Z)`` in the patient frame → ``(209, 3)`` ``(x, y, z)`` mm (``monai_spine.geometry.extract``)."""
    if mask.ndim == 2:
        return curves_from_mask(mask, spacing).centre
    return curves_from_volume(mask, spacing).centre_line


def centre_line_error_mm(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance across the body between two centre lines at the truth's heights, mm.

    At each height ``z`` of ``truth`` (``(N, 2)`` ``(x, z)`` or ``(N, 3)`` ``(x, y, z)``), ``pred`` is
    interpolated (held constant beyond its ends) and the distance of the other coordinates is taken: ``|Δx|``
    in 2D, ``√(Δx² + Δy²)`` in 3D. Errors in the spine's extent show as the ends' held values.
    """
    order = np.argsort(pred[:, -1])
    across = [np.interp(truth[:, -1], pred[order, -1], pred[order, i]) - truth[:, i] for i in range(truth.shape[1] - 1)]
    return float(np.mean(np.linalg.norm(np.stack(across), axis=0)))


class CentreLineErrorMetric(CumulativeIterationMetric):
    """:func:`centre_line_error_mm` between predicted and true spine masks, one value per image, mm.

    Inputs ``y_pred`` and ``y``: binary masks ``(B, 1, W, H)`` or ``(B, 1, X, Y, Z)`` (patient frame) on one grid,
    as ``MetaTensor`` whose affine gives the spacing. An image whose prediction or truth is empty gives NaN,
    which MONAI's reductions leave out.

    Args:
        reduction: MONAI reduction of the buffered values, default the mean.
        get_not_nans: also return the number of values reduced.
    """

    def __init__(self, reduction: MetricReduction | str = MetricReduction.MEAN, get_not_nans: bool = False) -> None:
        super().__init__()
        self.reduction = reduction
        self.get_not_nans = get_not_nans

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not isinstance(y, MetaTensor):
            raise ValueError("CentreLineErrorMetric needs MetaTensor masks (their affine gives the spacing).")
        ndim = y.ndim - 2
        spacing = convert_to_numpy(affine_to_spacing(y.affine if y.affine.ndim == 2 else y.affine[0], r=ndim))
        out = []
        for p, t in zip(convert_to_numpy(y_pred), convert_to_numpy(y)):
            p, t = p[0] > 0.5, t[0] > 0.5
            out.append(
                centre_line_error_mm(mask_centre_line(p, spacing), mask_centre_line(t, spacing))
                if p.any() and t.any()
                else float("nan")
            )
        return torch.tensor(out, dtype=torch.float32)[:, None]

    def aggregate(self, reduction: MetricReduction | str | None = None):
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor):
            raise ValueError("the data to aggregate must be a PyTorch Tensor.")
        f, not_nans = do_metric_reduction(data, reduction or self.reduction)
        return (f, not_nans) if self.get_not_nans else f
