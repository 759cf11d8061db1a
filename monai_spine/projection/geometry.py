"""Projection geometries of bi-planar radiographs: patient-frame points ↔ detector pixels, and their rays.

All lengths are mm in the **patient volume frame** of ``docs/frames.md`` (x toward the patient's left, y anterior,
z toward the feet). A geometry maps 3D points to continuous detector pixel coordinates ``(column, row)`` of the image
*in its standard display* (``docs/projection.md``):

- ``"ap"`` view: columns run toward the patient's left (+x), rows toward the feet (+z): the **coronal image frame**;
- ``"lateral"`` view: columns run anteriorly (+y), rows toward the feet (+z): the **lateral image frame**.

The in-plane detector axes are the patient axes themselves, so the image keeps the standard orientation whichever
side the source is on. Image-frame mm are ``pixel index × pixel spacing`` (:meth:`Projection.pixel_to_mm`).
Three geometries: :class:`ParallelProjection` (no magnification), :class:`ConeBeamProjection` (a point source) and
:class:`SlotScanProjection` (EOS-like: a horizontal fan per row, parallel vertically).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch

__all__ = [
    "VIEWS",
    "Projection",
    "ParallelProjection",
    "ConeBeamProjection",
    "SlotScanProjection",
    "triangulate",
]

VIEWS = ("ap", "lateral")

# per view: (patient axis along the image columns, patient axis along the beam); rows always run along z (axis 2).
_AXES = {"ap": (0, 1), "lateral": (1, 0)}
# per view: the source sides and the sign of the beam direction along the beam axis for each.
_SOURCE_SIDES = {"ap": {"anterior": -1.0, "posterior": 1.0}, "lateral": {"right": 1.0, "left": -1.0}}
_DEFAULT_SIDE = {"ap": "anterior", "lateral": "right"}


def _points(points, width: int) -> np.ndarray:
    """``points`` as a float64 array ``(N, width)``."""
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"expected points of shape (N, {width}), got {array.shape}")
    return array


@dataclass(frozen=True, kw_only=True)
class Projection:
    """Base of the projection geometries: the view and the detector's pixel grid.

    Args:
        view: ``"ap"`` (projects along y onto (x, z)) or ``"lateral"`` (projects along x onto (y, z)).
        pixel_mm: detector pixel spacing ``(column, row)``, mm.
        shape: detector size ``(W, H)``: columns, rows.
    """

    TYPE: ClassVar[str] = ""
    HALF_LINE: ClassVar[bool] = False
    """Whether rays start at their origin (a source) instead of being whole lines."""

    view: str
    pixel_mm: tuple[float, float]
    shape: tuple[int, int]

    def __post_init__(self):
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")
        object.__setattr__(self, "pixel_mm", tuple(float(v) for v in np.broadcast_to(self.pixel_mm, (2,))))
        object.__setattr__(self, "shape", tuple(int(v) for v in self.shape))
        if min(self.pixel_mm) <= 0 or len(self.shape) != 2 or min(self.shape) < 1:
            raise ValueError(f"bad detector: pixel_mm={self.pixel_mm}, shape={self.shape}")

    @property
    def column_axis(self) -> int:
        """Patient axis (0 x, 1 y) along the image columns."""
        return _AXES[self.view][0]

    @property
    def beam_axis(self) -> int:
        """Patient axis (0 x, 1 y) along which the view projects."""
        return _AXES[self.view][1]

    def project(self, points) -> np.ndarray:
        """Patient-frame points ``(N, 3)`` mm → continuous detector coordinates ``(N, 2)``: (column, row) pixels."""
        raise NotImplementedError

    def back_project(self, pixels) -> tuple[np.ndarray, np.ndarray]:
        """The rays of detector pixels ``(N, 2)`` (column, row): origins ``(N, 3)`` mm and unit directions ``(N, 3)``.

        A ray runs from its origin along its direction toward the detector; every point on it projects to the pixel.
        """
        raise NotImplementedError

    def magnification(self, points) -> np.ndarray:
        """Detector magnification ``(N, 2)`` (along columns, along rows) of patient-frame points ``(N, 3)`` mm."""
        raise NotImplementedError

    def pixel_to_mm(self, pixels) -> np.ndarray:
        """Detector pixels ``(N, 2)`` → image-frame mm ``(N, 2)`` (index × pixel spacing, as in ``curves.json``)."""
        return _points(pixels, 2) * self.pixel_mm

    def mm_to_pixel(self, image_mm) -> np.ndarray:
        """Image-frame mm ``(N, 2)`` → detector pixels ``(N, 2)``."""
        return _points(image_mm, 2) / self.pixel_mm

    def project_mm(self, points) -> np.ndarray:
        """Patient-frame points ``(N, 3)`` mm → image-frame mm ``(N, 2)``."""
        return self.pixel_to_mm(self.project(points))

    def pixel_centres(self) -> np.ndarray:
        """Every detector pixel ``(W * H, 2)`` (column, row), the column index varying slowest."""
        columns, rows = np.meshgrid(np.arange(self.shape[0]), np.arange(self.shape[1]), indexing="ij")
        return np.stack([columns.ravel(), rows.ravel()], axis=1).astype(np.float64)

    def rays(self, device=None, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """The ray of every pixel centre: origins ``(W, H, 3)`` mm and unit directions ``(W, H, 3)``."""
        origins, directions = self.back_project(self.pixel_centres())
        shaped = (v.reshape(*self.shape, 3) for v in (origins, directions))
        return tuple(torch.as_tensor(v, dtype=dtype, device=device) for v in shaped)

    def _beam(self, sign: float) -> np.ndarray:
        """Unit vector along the beam axis with ``sign``."""
        beam = np.zeros(3)
        beam[self.beam_axis] = sign
        return beam

    def _in_plane(self, u, z) -> np.ndarray:
        """Vectors ``(N, 3)`` with ``u`` along the column axis, ``z`` along z and 0 along the beam axis."""
        vectors = np.zeros((len(u), 3))
        vectors[:, self.column_axis] = u
        vectors[:, 2] = z
        return vectors

    def to_dict(self) -> dict:
        """A JSON-ready description, ``{"type": ..., fields...}``, read back by :meth:`from_dict`."""
        data = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
        return {"type": self.TYPE, **data}

    @classmethod
    def from_dict(cls, data: dict) -> Projection:
        """The geometry of :meth:`to_dict`'s output; ``Projection.from_dict`` picks the class from ``type``."""
        data = dict(data)
        kind = data.pop("type", cls.TYPE)
        target = _TYPES.get(kind)
        if target is None or not issubclass(target, cls):
            raise ValueError(f"not a {cls.__name__} description: type={kind!r}")
        return target(**data)


@dataclass(frozen=True, kw_only=True)
class ParallelProjection(Projection):
    """Parallel projection: AP along y onto (x, z), lateral along x onto (y, z); magnification 1.

    Args:
        origin: in-plane patient-frame position (mm) of the centre of pixel (0, 0): ``(x, z)`` for AP,
            ``(y, z)`` for lateral. With the default ``(0, 0)`` image-frame mm equal the patient frame's.

    Rays are whole lines (no source); their origins lie on the plane through 0 across the beam, their directions
    are those of the default source sides (AP anterior → posterior, lateral right → left).
    """

    TYPE: ClassVar[str] = "parallel"

    origin: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "origin", tuple(float(v) for v in self.origin))

    def project(self, points) -> np.ndarray:
        points = _points(points, 3)
        in_plane = points[:, [self.column_axis, 2]]
        return (in_plane - self.origin) / self.pixel_mm

    def back_project(self, pixels) -> tuple[np.ndarray, np.ndarray]:
        plane = np.asarray(self.origin) + _points(pixels, 2) * self.pixel_mm
        origins = self._in_plane(plane[:, 0], plane[:, 1])
        directions = np.broadcast_to(self._beam(_SOURCE_SIDES[self.view][_DEFAULT_SIDE[self.view]]), origins.shape)
        return origins, directions.copy()

    def magnification(self, points) -> np.ndarray:
        return np.ones((len(_points(points, 3)), 2))


@dataclass(frozen=True, kw_only=True)
class _SourceProjection(Projection):
    """A source at ``source_to_isocentre_mm`` from the isocentre, the detector plane across the beam axis at
    ``source_to_detector_mm`` from it; the central ray (source → isocentre) meets the detector's centre
    ``((W - 1) / 2, (H - 1) / 2)``.

    Args:
        source_to_detector_mm: SID, mm.
        source_to_isocentre_mm: SOD, mm (``0 < SOD < SID``).
        isocentre: patient-frame position ``(x, y, z)`` mm of the isocentre.
        source_side: ``"anterior"`` (AP projection, the default) or ``"posterior"`` (PA) for the AP view;
            ``"right"`` (the default, detector on the patient's left) or ``"left"`` for the lateral view.
    """

    HALF_LINE: ClassVar[bool] = True
    FAN_IN_Z: ClassVar[bool] = True
    """Whether rays also diverge vertically (a cone) or stay horizontal (a slot-scan fan)."""

    source_to_detector_mm: float
    source_to_isocentre_mm: float
    isocentre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    source_side: str | None = None

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "isocentre", tuple(float(v) for v in self.isocentre))
        object.__setattr__(self, "source_to_detector_mm", float(self.source_to_detector_mm))
        object.__setattr__(self, "source_to_isocentre_mm", float(self.source_to_isocentre_mm))
        if self.source_side is None:
            object.__setattr__(self, "source_side", _DEFAULT_SIDE[self.view])
        if self.source_side not in _SOURCE_SIDES[self.view]:
            raise ValueError(f"source_side for the {self.view} view must be one of {tuple(_SOURCE_SIDES[self.view])}")
        if not 0 < self.source_to_isocentre_mm < self.source_to_detector_mm:
            raise ValueError("need 0 < source_to_isocentre_mm < source_to_detector_mm")

    @property
    def beam(self) -> np.ndarray:
        """Unit vector ``(3,)`` of the central ray, from the source toward the detector."""
        return self._beam(_SOURCE_SIDES[self.view][self.source_side])

    @property
    def source(self) -> np.ndarray:
        """Patient-frame position ``(3,)`` mm of the source (for a slot scan: at the isocentre's height)."""
        return np.asarray(self.isocentre) - self.source_to_isocentre_mm * self.beam

    @property
    def centre_pixel(self) -> np.ndarray:
        """Detector coordinates ``(2,)`` of the central ray."""
        return (np.asarray(self.shape, dtype=np.float64) - 1.0) / 2.0

    def magnification(self, points) -> np.ndarray:
        """``SID / d`` along columns (and rows for a cone), ``d`` the point's distance from the source along the
        beam."""
        depth = (_points(points, 3) - self.source) @ self.beam
        horizontal = self.source_to_detector_mm / depth
        vertical = horizontal if self.FAN_IN_Z else np.ones_like(horizontal)
        return np.stack([horizontal, vertical], axis=1)

    def project(self, points) -> np.ndarray:
        points = _points(points, 3)
        offset = points[:, [self.column_axis, 2]] - np.asarray(self.isocentre)[[self.column_axis, 2]]
        return offset * self.magnification(points) / self.pixel_mm + self.centre_pixel

    def back_project(self, pixels) -> tuple[np.ndarray, np.ndarray]:
        offset = (_points(pixels, 2) - self.centre_pixel) * self.pixel_mm
        detector = self._in_plane(offset[:, 0], offset[:, 1]) + self.source + self.source_to_detector_mm * self.beam
        origins = np.broadcast_to(self.source, detector.shape).copy()
        if not self.FAN_IN_Z:
            origins[:, 2] = detector[:, 2]
        directions = detector - origins
        return origins, directions / np.linalg.norm(directions, axis=1, keepdims=True)


@dataclass(frozen=True, kw_only=True)
class ConeBeamProjection(_SourceProjection):
    """Cone-beam projection from a point source (a conventional radiograph): magnification ``SID / d`` in both
    detector directions, ``d`` the point's distance from the source along the central ray."""

    TYPE: ClassVar[str] = "cone"


@dataclass(frozen=True, kw_only=True)
class SlotScanProjection(_SourceProjection):
    """EOS-like slot scan: source and detector move together along z, so each row is a horizontal fan from a source
    at that row's height. Cone geometry (magnification ``SID / d``) along columns, parallel (magnification 1) along
    rows: row ``r`` images the patient plane ``z = isocentre_z + (r - (H - 1) / 2) · row spacing``."""

    TYPE: ClassVar[str] = "slot_scan"
    FAN_IN_Z: ClassVar[bool] = False


_TYPES = {cls.TYPE: cls for cls in (ParallelProjection, ConeBeamProjection, SlotScanProjection)}


def triangulate(ap_geometry: Projection, ap_points, lateral_geometry: Projection, lateral_points) -> np.ndarray:
    """3D points ``(N, 3)`` mm from matching detector points of two views, by least squares on their rays.

    Args:
        ap_geometry, lateral_geometry: the geometries of the two views (any two non-parallel views work).
        ap_points, lateral_points: the same N points as detector coordinates ``(N, 2)`` (column, row) pixels.

    Returns:
        the points closest to both rays (the midpoint of their common perpendicular); exact when the rays meet.
    """
    normal = np.zeros((len(_points(ap_points, 2)), 3, 3))
    rhs = np.zeros((len(normal), 3))
    for geometry, pixels in ((ap_geometry, ap_points), (lateral_geometry, lateral_points)):
        origins, directions = geometry.back_project(pixels)
        across = np.eye(3) - directions[:, :, None] * directions[:, None, :]  # projects across the ray
        normal += across
        rhs += np.einsum("nij,nj->ni", across, origins)
    return np.linalg.solve(normal, rhs[:, :, None])[:, :, 0]
