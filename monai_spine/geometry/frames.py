"""Mappings between the curve frames of ``docs/frames.md``: image mm, the crop frame and the normalised height frame.

Points are arrays whose last axis holds ``(lateral, z)`` (``(x, z)`` in a coronal image, ``(y, z)`` in a
lateral one); every mapping is vectorised over the leading axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .curves import N_POINTS

__all__ = ["CROP_SIZE", "MAX_SPINE_FILL", "check_spine_fill", "crop_centre", "CropFrame", "HeightFrame"]

CROP_SIZE = 224
"""Side of the square crop the DXA regressor sees, in crop pixels."""

MAX_SPINE_FILL = 0.95
"""The largest share of the crop's rows a spine may fill (:meth:`CropFrame.around`): its ends keep 5 crop pixels
of a 224 crop's rows beyond them."""


def check_spine_fill(spine_fill: float | None, name: str = "spine_fill") -> None:
    """Raise ``ValueError`` (naming the setting ``name``) unless ``spine_fill`` is ``None`` or in
    ``(0, MAX_SPINE_FILL]``."""
    if spine_fill is not None and not 0.0 < spine_fill <= MAX_SPINE_FILL:
        raise ValueError(f"{name} must be in (0, {MAX_SPINE_FILL}], got {spine_fill}.")


def crop_centre(centre_line) -> np.ndarray:
    """The crop centre rule: the midpoint of the segment joining the spine's two end points.

    Args:
        centre_line: ``(N, D)`` points, top to bottom (e.g. a coronal centre curve of ``(x, z)`` mm).

    Returns:
        ``(D,)``: the mean of the first and last points.
    """
    centre_line = np.asarray(centre_line, dtype=np.float64)
    return (centre_line[0] + centre_line[-1]) / 2


@dataclass(frozen=True)
class CropFrame:
    """The square crop frame ``(u, v)`` in crop pixels: ``x = cx + (u − c) s``, ``z = cz + (v − c) s``.

    ``c = (size − 1) / 2`` is the crop's central pixel coordinate (111.5 for 224), so the crop centre sits
    between its four middle pixels; ``u`` runs along columns, ``v`` along rows.

    Args:
        centre_mm: ``(cx, cz)`` mm, the crop centre in image mm (``(cy, cz)`` for a lateral image).
        pixel_mm: ``s``, the side of one crop pixel in mm.
        size: crop side in pixels.
    """

    centre_mm: tuple[float, float]
    pixel_mm: float
    size: int = CROP_SIZE

    def __post_init__(self):
        if not self.pixel_mm > 0:
            raise ValueError(f"pixel_mm must be positive, got {self.pixel_mm}.")
        object.__setattr__(self, "centre_mm", tuple(float(c) for c in self.centre_mm))

    @classmethod
    def around(cls, centre_line, pixel_mm: float, size: int = CROP_SIZE, spine_fill: float | None = None) -> CropFrame:
        """The crop centred by :func:`crop_centre` on a centre line ``(N, 2)`` of ``(lateral, z)`` mm.

        Args:
            centre_line: ``(N, 2)`` of ``(lateral, z)`` mm, top to bottom.
            pixel_mm: the crop pixel size, mm; with ``spine_fill`` its largest value.
            size: crop side in pixels.
            spine_fill: ``None``: the pixel size is ``pixel_mm`` whatever the spine's length. A share ``f`` of the
                crop side (at most :data:`MAX_SPINE_FILL`): the pixel size follows the spine's height ``h`` (its end
                points' z distance), ``min(pixel_mm, h / (f · size))``, so that a spine shorter than
                ``f · size · pixel_mm`` (a lumbar or a chest field) fills ``f`` of the crop's rows as a whole spine
                does.
        """
        check_spine_fill(spine_fill)
        if spine_fill is not None:
            line = np.asarray(centre_line, dtype=np.float64)
            height = abs(float(line[-1, 1] - line[0, 1]))
            if height > 0.0:
                pixel_mm = min(pixel_mm, height / (spine_fill * size))
        return cls(tuple(crop_centre(centre_line)), pixel_mm, size)

    @property
    def centre_px(self) -> float:
        """``c``: the crop pixel coordinate of the crop centre, on both axes."""
        return (self.size - 1) / 2

    def to_px(self, points_mm) -> np.ndarray:
        """Image mm ``(..., 2)`` → crop pixels ``(..., 2)`` of ``(u, v)``."""
        return (np.asarray(points_mm, dtype=np.float64) - self.centre_mm) / self.pixel_mm + self.centre_px

    def to_mm(self, points_px) -> np.ndarray:
        """Crop pixels ``(..., 2)`` of ``(u, v)`` → image mm ``(..., 2)``."""
        return (np.asarray(points_px, dtype=np.float64) - self.centre_px) * self.pixel_mm + self.centre_mm

    def lateral_to_px(self, values_mm) -> np.ndarray:
        """Lateral values (x, or y for a lateral image) in mm, any shape → ``u`` in crop pixels."""
        return (np.asarray(values_mm, dtype=np.float64) - self.centre_mm[0]) / self.pixel_mm + self.centre_px

    def lateral_to_mm(self, values_px) -> np.ndarray:
        """``u`` in crop pixels, any shape → lateral values in mm."""
        return (np.asarray(values_px, dtype=np.float64) - self.centre_px) * self.pixel_mm + self.centre_mm[0]


@dataclass(frozen=True)
class HeightFrame:
    """The normalised height frame: ``n_points`` heights ``z_k`` evenly spaced from ``z_top`` to ``z_bottom`` mm.

    A curve in this frame is ``n_points`` lateral values, value ``k`` at height ``z_k``; with
    :class:`CropFrame` the values convert between mm and crop pixels.
    """

    z_top: float
    z_bottom: float
    n_points: int = N_POINTS

    @classmethod
    def of_curve(cls, curve, n_points: int = N_POINTS) -> HeightFrame:
        """The frame spanning a curve ``(N, 2)`` of ``(lateral, z)`` mm: from its first point's z to its last's."""
        curve = np.asarray(curve, dtype=np.float64)
        return cls(float(curve[0, 1]), float(curve[-1, 1]), n_points)

    @property
    def heights(self) -> np.ndarray:
        """``(n_points,)`` z mm, top to bottom."""
        return np.linspace(self.z_top, self.z_bottom, self.n_points)

    def values(self, curve) -> np.ndarray:
        """A curve ``(M, 2)`` of ``(lateral, z)`` mm → ``(n_points,)`` lateral values at :attr:`heights`.

        The curve is interpolated linearly in z and held constant beyond its ends; its z need not match the
        heights nor be increasing.
        """
        curve = np.asarray(curve, dtype=np.float64)
        order = np.argsort(curve[:, 1], kind="stable")
        return np.interp(self.heights, curve[order, 1], curve[order, 0])

    def curve(self, values) -> np.ndarray:
        """``(n_points,)`` lateral values → the curve ``(n_points, 2)`` of ``(lateral, z)`` at :attr:`heights`."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (self.n_points,):
            raise ValueError(f"expected {self.n_points} values, got shape {values.shape}.")
        return np.stack([values, self.heights], axis=1)
