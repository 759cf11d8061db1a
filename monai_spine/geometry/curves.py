"""The container for one spine's six curves and its 3D centre line."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.signal import savgol_filter

__all__ = ["N_POINTS", "CURVE_NAMES", "MASK_SMOOTHING_MM", "SpineCurves", "smooth_along_height"]

N_POINTS = 209
"""Points per curve, evenly spaced in height from the top to the bottom of the spine."""

CURVE_NAMES = (
    "coronal_centre",
    "coronal_right",
    "coronal_left",
    "sagittal_centre",
    "sagittal_posterior",
    "sagittal_anterior",
)
"""Order of the curves wherever they are stacked, e.g. the regressor's ``(6, 209)`` output."""

MASK_SMOOTHING_MM = 200.0
"""Window of the cubic Savitzky–Golay filter (:func:`smooth_along_height`) on curves read from spine masks, mm: the
DXA route's coronal curves and the bi-planar route's coronal curves (``pipelines.biplanar.smooth_coronal``).
Chosen on 20 phantom studies that neither train nor test anything (seed 6160): over 100, 150, 200, 250 and 300 mm,
200 gave the least coronal error (2.49 mm) with a Cobb error of 1.7° (3.7° at 100 mm, 1.5° at 300 mm). The
bi-planar route's 20 studies of that seed (2026-12-05): coronal Cobb error 6.5° unsmoothed, 3.7° at 150 mm, 3.0° at
200 mm, 2.8° at 300 mm (coronal centre line 1.81, 1.75, 1.73, 1.82 mm); a quintic filter did no better."""


@dataclass
class SpineCurves:
    """The six curves of one spine, each ``(N, 2)`` in millimetres (``docs/frames.md``).

    Coronal curves hold ``(x, z)`` pairs (x toward the patient's left, z toward the feet); sagittal curves
    hold ``(y, z)`` pairs (y toward anterior). Points run from the top of the spine to the bottom, evenly
    spaced in z. ``right`` is the boundary on the patient's right (smaller x), ``posterior`` the one with
    smaller y.
    """

    coronal_centre: np.ndarray
    coronal_right: np.ndarray
    coronal_left: np.ndarray
    sagittal_centre: np.ndarray
    sagittal_posterior: np.ndarray
    sagittal_anterior: np.ndarray

    def __post_init__(self):
        shape = None
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), dtype=np.float64)
            if value.ndim != 2 or value.shape[1] != 2:
                raise ValueError(f"{f.name} must have shape (N, 2), got {value.shape}.")
            if shape is not None and value.shape != shape:
                raise ValueError(f"{f.name} has shape {value.shape}, the other curves {shape}.")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{f.name} has non-finite values.")
            shape = value.shape
            setattr(self, f.name, value)

    @property
    def n_points(self) -> int:
        return self.coronal_centre.shape[0]

    def curve3d(self) -> np.ndarray:
        """The 3D centre line ``(N, 3)`` of ``(x, y, z)`` mm at the coronal centre line's heights.

        ``y`` is the sagittal centre line interpolated at those heights (held constant beyond its ends).
        """
        x, z = self.coronal_centre[:, 0], self.coronal_centre[:, 1]
        sz, sy = self.sagittal_centre[:, 1], self.sagittal_centre[:, 0]
        order = np.argsort(sz)
        y = np.interp(z, sz[order], sy[order])
        return np.stack([x, y, z], axis=1)

    def with_relative_depth(self) -> SpineCurves:
        """These curves with y shifted so that the sagittal centre line has mean 0: the depth a single coronal
        view reports (``docs/frames.md``)."""
        arrays = self.to_array()
        arrays[3:, :, 0] -= self.sagittal_centre[:, 0].mean()
        return SpineCurves.from_array(arrays)

    def to_array(self) -> np.ndarray:
        """Stack as ``(6, N, 2)`` in :data:`CURVE_NAMES` order."""
        return np.stack([getattr(self, name) for name in CURVE_NAMES])

    @classmethod
    def from_array(cls, array) -> SpineCurves:
        """Inverse of :meth:`to_array`."""
        array = np.asarray(array)
        if array.shape[0] != len(CURVE_NAMES):
            raise ValueError(f"expected {len(CURVE_NAMES)} curves, got array of shape {array.shape}.")
        return cls(*array)


def smooth_along_height(curve, window_mm: float) -> np.ndarray:
    """A curve's lateral values smoothed along its heights by a cubic Savitzky–Golay filter, window in mm.

    A spine mask's edge steps by whole pixels, and those steps become tangent angles that a Cobb angle reads as
    curvature; a cubic fit over a window as long as a curve of the spine keeps the curve's shape and drops the steps.

    Args:
        curve: ``(N, 2)`` ``(lateral, height)`` mm at evenly spaced heights.
        window_mm: the filter's window along the height, mm; shortened to the curve's length when longer.

    Returns:
        ``(N, 2)`` float64: the same heights, the smoothed lateral values.
    """
    curve = np.array(curve, dtype=np.float64)
    n = len(curve)
    step_mm = abs(curve[-1, 1] - curve[0, 1]) / max(n - 1, 1)
    window = min(int(round(window_mm / step_mm)) if step_mm > 0 else n, n)
    window -= 1 - window % 2  # odd
    if window > 3:
        curve[:, 0] = savgol_filter(curve[:, 0], window, 3, mode="interp")
    return curve
