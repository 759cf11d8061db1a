"""Rasterise an :class:`~monai_spine.phantom.anatomy.Anatomy` into material volume fractions and label maps.

Every part is a signed-distance-like function (mm, negative inside) built from a few primitives (ellipses and
superellipses swept along an axis, ellipsoids, rods, elliptic arcs, plates), evaluated only inside the part's
bounding box (curved parts: in disjoint slabs hugging their skeleton). A voxel's occupancy of a part is the soft
step ``clamp(0.5 − sdf / h, 0, 1)`` with ``h`` the voxel size, a first-order partial-volume estimate; with
``supersample = k`` it is averaged over ``k³`` sub-voxel positions with ``h / k``. Parts are composited in painter's
order, each over what is below it: ``f ← f · (1 − occ) + Σ occ_m · onehot(m)``. Bones carry a cortical shell over a
cancellous interior, the torso a fat layer over lean tissue.

Painter's order: torso (fat over muscle) → abdominal organs, bowel and bowel gas, the fat between them and in the back
muscles, breasts (each replacing only the tissue it lies in: :meth:`_Canvas.replace`) → lungs → trachea → ribs, sternum
→ clavicles, scapulae, manubrium → mandible → hip bones, femurs → intervertebral discs → vertebrae and the sacrum
(spinal canal as muscle, cortical shell and bony endplates, cancellous interior). Then, with ``Anatomy.texture_seed``,
cancellous bone's density is made to vary in space (trabecular grain and marrow heterogeneity, seeded), and with
``Anatomy.organ_texture_seed`` the solid organs'; last the foreign objects (metal over everything). The labels and the
column mask are touched by none of these.

The **spine column** (``spine_mask``), the object of every curve truth (the DXA/MRI centre line and the
left/right and anterior/posterior boundaries), is the union of the vertebral **bodies** of C2…L5, the **S1 body**
(the sacrum's first fused body, not its alae) and the intervertebral **discs** C2/C3…L5/S1: no posterior elements,
nothing of the atlas (C1, no body). It runs from the top of C2's body (the dens is not column) down the cervical
path to the top of C7 (the centre line's first point), along the centre line to the top of S1 (its last) and on down
the sacral arc to the bottom of the S1 body; its axial cross-sections are centred on those lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from monai_spine.geometry.grid import Grid

from .anatomy import (
    BOWEL_WALL_MM,
    POSTERIOR_CORTICAL_MM,
    RENAL_FAT_MM,
    SACRUM_BELOW_S1_ID,
    Abdomen,
    Anatomy,
    ArcTube,
    Breast,
    Devices,
    Disc,
    Ellipsoid,
    IliacWing,
    Lung,
    Rod,
    Sacrum,
    ShoulderGirdle,
    Thorax,
    Torso,
    Vertebra,
    posterior_elements,
)
from .filters import gaussian_blur
from .materials import MATERIALS, Tissue

__all__ = ["Raster", "rasterise", "rasterise_column"]

AIR, LUNG, FAT, MUSCLE, DISC, CANCELLOUS, CORTICAL = (
    MATERIALS.index(m) for m in ("air", "lung", "fat", "muscle", "disc", "cancellous", "cortical")
)
LIVER, SPLEEN, KIDNEY, BLOOD, FLUID, GLAND, STEEL = (
    MATERIALS.index(m) for m in ("liver", "spleen", "kidney", "blood", "fluid", "gland", "steel")
)
BODY_WAIST = 0.08
"""Concavity of the vertebral body's side walls at mid-height (fraction of the endplate radius): the waist."""
ENDPLATE_MM = 1.0
"""Thickness of the bony endplates (cortical) capping a vertebral body above and below, mm."""
TRABECULAR_TEXTURE_SD = 0.3
"""Standard deviation of the local relative change of cancellous bone's bone volume fraction (BV/TV)."""
TRABECULAR_GRAIN_MM = (1.5, 8.0)
"""Correlation lengths (Gaussian SD, mm) of the fine trabecular grain and of the coarse marrow heterogeneity."""
_COARSE_STEP = 4
"""Subsampling of the coarse texture component's noise grid, voxels."""
DISC_BULGE = 0.02
"""Outward bulge of a disc at mid-height (fraction of its radius)."""
_FAR = 1.0e4
_EPS = 1.0e-6
_SLAB_VOXELS = 10
"""Thickness of the slabs curved parts are evaluated in, voxels."""
_WING_SAMPLE_MM = 4.0
"""Spacing of the iliac wing's mid-surface samples that its slabs are cut to, mm."""


@dataclass
class Raster:
    """A rasterised phantom on a :class:`~monai_spine.geometry.grid.Grid`.

    Args:
        fractions: float32 ``(len(MATERIALS), X, Y, Z)`` volume fractions, each voxel summing to 1.
        vertebra_labels: uint8 ``(X, Y, Z)``: each vertebra's label (``VERTEBRA_LABELS``) where its bone (body and
            processes) occupies at least half the voxel, else 0.
        spine_mask: bool ``(X, Y, Z)``: the spine column (bodies C2…L5 and S1, discs C2/C3…L5/S1) occupying at least
            half the voxel; see the module docstring.
    """

    fractions: torch.Tensor
    vertebra_labels: torch.Tensor
    spine_mask: torch.Tensor


# --------------------------------------------------------------------------------------------------------------
# Regions: sub-blocks of the grid with their voxel-centre coordinates.


@dataclass
class _Region:
    """A block of the grid: its index slices and coordinates (mm) ``x (n,1,1)``, ``y (1,m,1)``, ``z (1,1,l)``.

    ``first`` (3,) is the coordinate of the block's first voxel (with any sub-voxel offset), mm.
    """

    index: tuple[slice, slice, slice]
    x: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    first: np.ndarray
    spacing: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.x.shape[0], self.y.shape[1], self.z.shape[2])

    def z_mm(self) -> np.ndarray:
        """The block's z coordinates as a NumPy array ``(l,)``, mm."""
        return self.first[2] + np.arange(self.shape[2]) * self.spacing[2]

    def crop(self, low, high) -> tuple[tuple[slice, slice, slice], _Region] | None:
        """The part of this region inside the box ``[low, high]`` mm: (slices into this region, the sub-region)."""
        lo = np.maximum(np.ceil((np.asarray(low) - self.first) / self.spacing - 1e-6).astype(int), 0)
        hi = np.minimum(np.floor((np.asarray(high) - self.first) / self.spacing + 1e-6).astype(int) + 1, self.shape)
        if (hi <= lo).any():
            return None
        sx, sy, sz = slices = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        sub_index = tuple(slice(outer.start + s.start, outer.start + s.stop) for outer, s in zip(self.index, slices))
        first = self.first + lo * self.spacing
        return slices, _Region(sub_index, self.x[sx], self.y[:, sy], self.z[:, :, sz], first, self.spacing)

    def point(self, p) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Coordinates relative to ``p`` (3,) mm, each broadcastable to the region's shape."""
        return self.x - float(p[0]), self.y - float(p[1]), self.z - float(p[2])

    def local(self, origin, axes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Coordinates ``(3 × region shape)`` in the frame with ``origin`` and ``axes`` columns (mm)."""
        dx, dy, dz = self.point(origin)
        return tuple(dx * float(axes[0, k]) + dy * float(axes[1, k]) + dz * float(axes[2, k]) for k in range(3))


class _Canvas:
    """The volumes being painted, the grid's coordinates and the occupancy rule."""

    def __init__(self, grid: Grid, device, supersample: int, materials: bool = True):
        self.device = torch.device(device)
        self.spacing = np.asarray(grid.spacing, dtype=np.float64)
        self.origin = np.asarray(grid.origin, dtype=np.float64)
        self.shape = tuple(grid.shape)
        self.axes = [grid.axis(d, device=self.device) for d in range(3)]
        voxel = float(np.prod(self.spacing) ** (1.0 / 3.0))
        self.ramp = voxel / supersample
        self.margin = float(self.spacing.max())
        sub = (np.arange(supersample) + 0.5) / supersample - 0.5
        self.offsets = [np.array([i, j, k]) * self.spacing for i in sub for j in sub for k in sub]
        self.fractions = None  # a canvas for the column alone (``materials=False``) paints no materials
        if materials:
            self.fractions = torch.zeros((len(MATERIALS),) + self.shape, dtype=torch.float32, device=self.device)
            self.fractions[AIR] = 1.0
        self.painted = [AIR]
        """The materials painted so far; the others are zero everywhere, so :meth:`paint` leaves them alone."""
        self.labels = torch.zeros(self.shape, dtype=torch.uint8, device=self.device)
        self.column = torch.zeros(self.shape, dtype=torch.float32, device=self.device)

    def index(self, low, high) -> tuple[slice, slice, slice] | None:
        """Index slices of the voxels within ``margin`` of the box ``[low, high]`` mm, or None if outside."""
        lo = np.ceil((np.asarray(low) - self.margin - self.origin) / self.spacing).astype(int)
        hi = np.floor((np.asarray(high) + self.margin - self.origin) / self.spacing).astype(int) + 1
        lo, hi = np.maximum(lo, 0), np.minimum(hi, self.shape)
        if (hi <= lo).any():
            return None
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))

    def region(self, index: tuple[slice, slice, slice], offset) -> _Region:
        x, y, z = (self.axes[d][index[d]] + float(offset[d]) for d in range(3))
        first = self.origin + np.array([s.start for s in index]) * self.spacing + offset
        return _Region(index, x.view(-1, 1, 1), y.view(1, -1, 1), z.view(1, 1, -1), first, self.spacing)

    def occupancy(self, sdf: torch.Tensor) -> torch.Tensor:
        return (0.5 - sdf / self.ramp).clamp_(0.0, 1.0)

    def evaluate(self, index, fn: Callable[[_Region], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Occupancies of the named signed distances ``fn`` returns, averaged over the sub-voxel offsets."""
        total: dict[str, torch.Tensor] = {}
        for offset in self.offsets:
            for name, sdf in fn(self.region(index, offset)).items():
                occ = self.occupancy(sdf)
                total[name] = occ if name not in total else total[name] + occ
        n = len(self.offsets)
        return {name: occ / n for name, occ in total.items()} if n > 1 else total

    def paint(self, index, layers: list[tuple[int, torch.Tensor]]) -> None:
        """Composite disjoint material occupancies ``[(material, occ)]`` over the volume in ``index``."""
        if self.fractions is None:
            return
        total = layers[0][1] if len(layers) == 1 else sum(occ for _, occ in layers)
        view = self.fractions[(slice(None),) + tuple(index)]
        keep = 1.0 - total
        for material in self.painted:
            view[material].mul_(keep)
        for material, occ in layers:
            view[material].add_(occ)
            self._mark(material)

    def replace(self, index, occ: torch.Tensor, sources: tuple[int, ...], target: int) -> None:
        """Turn the share ``occ`` of the ``sources`` materials in ``index`` into ``target``; the rest stays."""
        view = self.fractions[(slice(None),) + tuple(index)]
        for source in sources:
            moved = view[source] * occ
            view[source].sub_(moved)
            view[target].add_(moved)
        self._mark(target)

    def _mark(self, material: int) -> None:
        if material not in self.painted:
            self.painted.append(material)


def _shell(outer: torch.Tensor, inner: torch.Tensor, outer_material: int, inner_material: int):
    """Layers of a part with an outer shell over an inner core: ``[(outer material, shell), (inner, core)]``."""
    inner = torch.minimum(inner, outer)
    return [(outer_material, outer - inner), (inner_material, inner)]


# --------------------------------------------------------------------------------------------------------------
# Signed-distance estimates (mm, negative inside). Shapes broadcast; parameters are floats or tensors.


def _ellipse(u, v, a, b):
    """Distance estimate to the ellipse ``(u/a)² + (v/b)² = 1`` (the level set divided by its gradient)."""
    ua, vb = u / a, v / b
    r = torch.sqrt(ua * ua + vb * vb)
    g = torch.sqrt((ua / a) ** 2 + (vb / b) ** 2)
    return (r - 1.0) * (r + _EPS) / (g + _EPS / (a + b))


def _superellipse(u, v, a, b, n: float):
    """Distance estimate to the superellipse ``|u/a|ⁿ + |v/b|ⁿ = 1``."""
    ua, vb = u.abs() / a + _EPS, v.abs() / b + _EPS
    pu, pv = ua**n, vb**n
    s = pu + pv
    r = s ** (1.0 / n)
    grad = torch.sqrt((pu / (ua * a)) ** 2 + (pv / (vb * b)) ** 2)
    return (r - 1.0) * s / (r * grad)


def _ellipsoid(px, py, pz, rx, ry, rz):
    """Distance estimate to the ellipsoid with semi-axes ``(rx, ry, rz)`` centred at the origin."""
    k0 = torch.sqrt((px / rx) ** 2 + (py / ry) ** 2 + (pz / rz) ** 2)
    k1 = torch.sqrt((px / rx**2) ** 2 + (py / ry**2) ** 2 + (pz / rz**2) ** 2)
    return (k0 - 1.0) * (k0 + _EPS) / (k1 + _EPS / (rx + ry + rz))


def _plane(region: _Region, point, normal):
    """Signed distance to the plane through ``point``: positive on the side ``normal`` points to."""
    dx, dy, dz = region.point(point)
    return dx * float(normal[0]) + dy * float(normal[1]) + dz * float(normal[2])


def _rod_sdf(rod: Rod, region: _Region):
    """Distance estimate to a :class:`Rod`: elliptic cross-section swept along the segment, ellipsoidal ends."""
    axis = rod.end - rod.start
    length = float(np.linalg.norm(axis))
    d = axis / max(length, _EPS)
    up = rod.up - (rod.up @ d) * d
    height = up / np.linalg.norm(up)
    thick = np.cross(d, height)
    frame = np.stack([thick, height, d], axis=1)
    ct, ch, along = region.local(rod.start, frame)
    beyond = along - along.clamp(0.0, length)
    r_end = min(rod.half_thickness, rod.half_height)
    return _ellipsoid(ct, ch, beyond, rod.half_thickness, rod.half_height, r_end)


def _rod_box(rod: Rod):
    r = max(rod.half_thickness, rod.half_height)
    return np.minimum(rod.start, rod.end) - r, np.maximum(rod.start, rod.end) + r


def _rod_points(rod: Rod, step: float = 2.0) -> np.ndarray:
    n = max(int(np.ceil(np.linalg.norm(rod.end - rod.start) / step)), 1) + 1
    return rod.start + np.linspace(0.0, 1.0, n)[:, None] * (rod.end - rod.start)


def _arc_sdf(arc: ArcTube, region: _Region):
    """Distance estimate to an :class:`ArcTube` (radial offset from the ellipse along the ray from its centre)."""
    a, b, n = region.local(arc.centre, arc.axes)
    a = a * arc.side
    big_a, big_b = arc.semi_axes
    rho = torch.sqrt((a / big_a) ** 2 + (b / big_b) ** 2) + _EPS
    r = torch.sqrt(a * a + b * b)
    radius = r / rho
    phi = torch.atan2(b / big_b, a / big_a)
    cap = torch.maximum(arc.angles[0] - phi, phi - arc.angles[1]) * radius
    return torch.maximum(_ellipse(r - radius, n, arc.half_thickness, arc.half_height), cap)


def _arc_points(arc: ArcTube, step: float = 2.0) -> np.ndarray:
    span = (arc.angles[1] - arc.angles[0]) * max(arc.semi_axes)
    phis = np.linspace(arc.angles[0], arc.angles[1], max(int(np.ceil(span / step)), 2))
    return np.array([arc.point(p) for p in phis])


def _wing_sdf(wing: IliacWing, region: _Region):
    """Distance estimate to an :class:`IliacWing` plate."""
    u, v, w = region.local(wing.centre, wing.axes)
    u = u * wing.side - wing.offset[0]
    v = v - wing.offset[1]
    t = ((w - wing.crest_w) / wing.depth).clamp(0.0, 1.0)
    a = wing.top_semi_axes[0] + t * (wing.bottom_semi_axes[0] - wing.top_semi_axes[0])
    b = wing.top_semi_axes[1] + t * (wing.bottom_semi_axes[1] - wing.top_semi_axes[1])
    plate = _ellipse(u, v, a, b).abs() - wing.half_thickness
    theta = torch.atan2(v / b, u / a)
    radius = torch.sqrt(u * u + v * v) / (torch.sqrt((u / a) ** 2 + (v / b) ** 2) + _EPS)
    start, end = wing.angles
    cap = torch.maximum(start - theta, theta - end) * radius
    middle, half = 0.5 * (start + end), 0.5 * (end - start)
    crest = wing.crest_w + wing.crest_drop * ((theta - middle) / half) ** 2
    return torch.maximum(torch.maximum(plate, cap), torch.maximum(crest - w, w - (wing.crest_w + wing.depth)))


def _wing_points(wing: IliacWing, step: float = _WING_SAMPLE_MM) -> np.ndarray:
    """Mid-surface samples of the plate (over-covering the crest)."""
    a_max = max(wing.top_semi_axes)
    thetas = np.linspace(*wing.angles, max(int((wing.angles[1] - wing.angles[0]) * a_max / step), 2))
    ws = np.linspace(0.0, 1.0, max(int(wing.depth / step), 2))
    points = []
    for t in ws:
        a = wing.top_semi_axes[0] + t * (wing.bottom_semi_axes[0] - wing.top_semi_axes[0])
        b = wing.top_semi_axes[1] + t * (wing.bottom_semi_axes[1] - wing.top_semi_axes[1])
        for theta in thetas:
            local = np.array([wing.side * (wing.offset[0] + a * np.cos(theta)), wing.offset[1] + b * np.sin(theta),
                              wing.crest_w + t * wing.depth])
            points.append(wing.centre + wing.axes @ local)
    return np.array(points)


# --------------------------------------------------------------------------------------------------------------
# Parts: a bone (or organ) as a union of components, each with a bounding box and a cortical thickness.


@dataclass
class _Component:
    """One primitive of a part: its sdf, bounding box (mm), cortical thickness and skeleton samples for slabs.

    ``core`` is the sdf of its cancellous core where the cortex is not one thickness (a vertebral body's endplates);
    by default the core is the part inset by ``cortical``.
    """

    sdf: Callable[[_Region], torch.Tensor]
    low: np.ndarray
    high: np.ndarray
    cortical: float = 0.0
    points: np.ndarray | None = None
    radius: float = 0.0
    core: Callable[[_Region], torch.Tensor] | None = None


def _rod(rod: Rod, cortical: float = POSTERIOR_CORTICAL_MM) -> _Component:
    low, high = _rod_box(rod)
    return _Component(lambda r: _rod_sdf(rod, r), low, high, cortical, _rod_points(rod),
                      max(rod.half_thickness, rod.half_height))


def _arc(arc: ArcTube) -> _Component:
    points = _arc_points(arc)
    radius = max(arc.half_thickness, arc.half_height)
    return _Component(lambda r: _arc_sdf(arc, r), points.min(0) - radius, points.max(0) + radius, arc.cortical,
                      points, radius)


def _wing(wing: IliacWing) -> _Component:
    points = _wing_points(wing)
    radius = wing.half_thickness + _WING_SAMPLE_MM
    return _Component(lambda r: _wing_sdf(wing, r), points.min(0) - radius, points.max(0) + radius, wing.cortical,
                      points, radius)


def _ball(ball: Ellipsoid, cortical: float) -> _Component:
    def sdf(r: _Region):
        return _ellipsoid(*r.point(ball.centre), *(float(s) for s in ball.semi_axes))

    return _Component(sdf, ball.centre - ball.semi_axes, ball.centre + ball.semi_axes, cortical)


def _union(region: _Region, components: list[_Component]) -> tuple[torch.Tensor, torch.Tensor]:
    """The union of the components (each evaluated in its own box) and of their cores (inset by their cortical):
    ``(min sdf, min (sdf + cortical))``."""
    outer = torch.full(region.shape, _FAR, dtype=torch.float32, device=region.x.device)
    inner = outer.clone()
    for c in components:
        crop = region.crop(c.low - 1.5 * region.spacing.max(), c.high + 1.5 * region.spacing.max())
        if crop is None:
            continue
        sl, sub = crop
        sdf = c.sdf(sub)
        outer[sl] = torch.minimum(outer[sl], sdf)
        if c.core is not None:
            inner[sl] = torch.minimum(inner[sl], c.core(sub))
        elif c.cortical:
            inner[sl] = torch.minimum(inner[sl], sdf + c.cortical)
    return outer, inner


def _bone(region: _Region, components: list[_Component]) -> dict[str, torch.Tensor]:
    outer, inner = _union(region, components)
    return {"outer": outer, "inner": inner}


def _slabs(canvas: _Canvas, components: list[_Component]) -> list[tuple[slice, slice, slice]]:
    """Disjoint index boxes covering the components: slabs along the longest axis, each cut to its content."""
    low = np.min([c.low for c in components], axis=0)
    high = np.max([c.high for c in components], axis=0)
    whole = canvas.index(low, high)
    if whole is None:
        return []
    axis = int(np.argmax([s.stop - s.start for s in whole]))
    boxes = []
    for start in range(whole[axis].start, whole[axis].stop, _SLAB_VOXELS):
        stop = min(start + _SLAB_VOXELS, whole[axis].stop)
        lo_mm = canvas.origin[axis] + (start - 0.5) * canvas.spacing[axis] - canvas.margin
        hi_mm = canvas.origin[axis] + (stop - 0.5) * canvas.spacing[axis] + canvas.margin
        lows, highs = [], []
        for c in components:
            if c.points is None:
                if c.high[axis] >= lo_mm and c.low[axis] <= hi_mm:
                    lows.append(c.low), highs.append(c.high)
                continue
            near = c.points[(c.points[:, axis] >= lo_mm - c.radius) & (c.points[:, axis] <= hi_mm + c.radius)]
            if len(near):
                lows.append(near.min(0) - c.radius), highs.append(near.max(0) + c.radius)
        if not lows:
            continue
        box = canvas.index(np.min(lows, axis=0), np.max(highs, axis=0))
        if box is None:
            continue
        box = list(box)
        box[axis] = slice(start, stop)
        boxes.append(tuple(box))
    return boxes


def _paint_bone(canvas: _Canvas, components: list[_Component], slabs: bool = True) -> None:
    """Paint a bone (union of components): cortical shell over cancellous interior."""
    if slabs:
        boxes = _slabs(canvas, components)
    else:
        box = canvas.index(np.min([c.low for c in components], 0), np.max([c.high for c in components], 0))
        boxes = [] if box is None else [box]
    for index in boxes:
        occ = canvas.evaluate(index, lambda r: _bone(r, components))
        canvas.paint(index, _shell(occ["outer"], occ["inner"], CORTICAL, CANCELLOUS))


# --------------------------------------------------------------------------------------------------------------
# Soft tissue.


def _profile(region: _Region, z_table: np.ndarray, values: np.ndarray) -> torch.Tensor:
    """A z-profile tabulated at ``z_table`` at the region's heights, ``(1, 1, l)`` (constant beyond the ends)."""
    sampled = np.interp(region.z_mm(), z_table, values)
    return torch.as_tensor(sampled, dtype=torch.float32, device=region.z.device).view(1, 1, -1)


def _torso_section(torso: Torso, r: _Region) -> tuple[torch.Tensor, torch.Tensor]:
    """The torso at the region's heights: the skin's signed distance-like function and the subcutaneous fat's
    thickness, mm (``skin + fat`` is the muscle's surface)."""
    cx, cy, hw, hd, fat = (
        _profile(r, torso.z, values)
        for values in (torso.centre_x, torso.centre_y, torso.half_width, torso.half_depth, torso.fat)
    )
    return _superellipse(r.x - cx, r.y - cy, hw, hd, torso.exponent), fat


def _paint_torso(canvas: _Canvas, torso: Torso) -> None:
    def fn(r: _Region):
        skin, fat = _torso_section(torso, r)
        return {"outer": skin, "inner": skin + fat}

    index = tuple(slice(0, n) for n in canvas.shape)
    occ = canvas.evaluate(index, fn)
    canvas.paint(index, _shell(occ["outer"], occ["inner"], FAT, MUSCLE))


def _lung_sdf(lung: Lung, thorax: Thorax, heart: Ellipsoid, r: _Region):
    cx, cy, hw, hd, spine_x = (
        _profile(r, thorax.z, values)
        for values in (thorax.centre_x, thorax.centre_y, thorax.half_width, thorax.half_depth, thorax.spine_x)
    )
    inside_cage = _ellipse(r.x - cx, r.y - cy, hw, hd)
    beside_spine = lung.side * (spine_x - r.x) + lung.medial_gap
    envelope = _ellipsoid(*r.point(lung.envelope.centre), *(float(s) for s in lung.envelope.semi_axes))
    off_heart = -_ellipsoid(*r.point(heart.centre), *(float(s) for s in heart.semi_axes))
    return torch.maximum(torch.maximum(inside_cage, beside_spine), torch.maximum(envelope, off_heart))


def _paint_lungs(canvas: _Canvas, anatomy: Anatomy) -> None:
    for lung in anatomy.lungs:
        env = lung.envelope
        index = canvas.index(env.centre - env.semi_axes, env.centre + env.semi_axes)
        if index is None:
            continue
        occ = canvas.evaluate(index, lambda r: {"lung": _lung_sdf(lung, anatomy.thorax, anatomy.heart, r)})
        canvas.paint(index, [(LUNG, occ["lung"])])


def _paint_trachea(canvas: _Canvas, trachea: Rod) -> None:
    component = _rod(trachea, 0.0)
    index = canvas.index(component.low, component.high)
    if index is not None:
        occ = canvas.evaluate(index, lambda r: {"air": _union(r, [component])[0]})
        canvas.paint(index, [(AIR, occ["air"])])


# --------------------------------------------------------------------------------------------------------------
# Spine.


def _body_walls(v: Vertebra, r: _Region) -> tuple[torch.Tensor, torch.Tensor]:
    """The vertebral body's side wall (a prism along the local inferior axis with a concave waist, elliptic in front
    and a superellipse of exponent ``posterior_exponent`` behind the centre) and its endplates (the two endplate
    planes, so that bodies wedge with the curve): ``(side sdf, endplates sdf)``."""
    u, a, w = r.local(v.centre, v.axes)
    d = v.dims
    t = (w / d.body_height + 0.5).clamp(0.0, 1.0)
    waist = 1.0 - BODY_WAIST * 4.0 * t * (1.0 - t)
    half_width, half_depth = 0.5 * d.endplate_width * waist, 0.5 * d.endplate_depth * waist
    side = _ellipse(u, a, half_width, half_depth)
    if d.posterior_exponent != 2.0:
        side = torch.where(a < 0, _superellipse(u, a, half_width, half_depth, d.posterior_exponent), side)
    above = -_plane(r, v.superior_endplate, v.superior_normal)
    below = _plane(r, v.inferior_endplate, v.inferior_normal)
    return side, torch.maximum(above, below)


def _body_sdf(v: Vertebra, r: _Region) -> torch.Tensor:
    """The vertebral body: side wall and endplates (:func:`_body_walls`)."""
    return torch.maximum(*_body_walls(v, r))


def _body_core(v: Vertebra, r: _Region) -> torch.Tensor:
    """The body's cancellous core: inside the side wall's cortex and the thicker bony endplates."""
    side, endplates = _body_walls(v, r)
    return torch.maximum(side + v.dims.cortical, endplates + ENDPLATE_MM)


def _body_box(v: Vertebra) -> tuple[np.ndarray, np.ndarray]:
    d = v.dims
    extent = np.array([d.endplate_width / 2, d.endplate_depth / 2, d.body_height / 2 + 0.15 * d.endplate_width])
    corners = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)]) * extent
    world = v.to_world(corners)
    return world.min(0), world.max(0)


def _local_box(v: Vertebra, low_local, high_local) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[x, y, z] for x in (low_local[0], high_local[0]) for y in (low_local[1], high_local[1])
                        for z in (low_local[2], high_local[2])])
    world = v.to_world(corners)
    return world.min(0), world.max(0)


def _vertebra_components(v: Vertebra) -> tuple[_Component, list[_Component], _Component]:
    """(body, the posterior elements' components, spinal canal) of a mobile vertebra."""
    elements = posterior_elements(v.dims)
    v_c, _ = elements.canal_centre
    cu, cv = elements.canal_semi_axes
    au, av = elements.arch_semi_axes
    top, bottom = elements.arch_w

    def arch(r: _Region):
        u, a, w = r.local(v.centre, v.axes)
        a = a - v_c
        ring = torch.maximum(_ellipse(u, a, au, av), -_ellipse(u, a, cu, cv))
        half = 0.5 * (bottom - top)
        return torch.maximum(torch.maximum(ring, a), (w - 0.5 * (top + bottom)).abs() - half)

    reach = 0.5 * (v.dims.body_height + v.dims.disc_height)  # to mid-disc below, and about as far above

    def canal(r: _Region):
        u, a, w = r.local(v.centre, v.axes)
        return torch.maximum(_ellipse(u, a - v_c, cu, cv), w.abs() - reach)

    body = _Component(lambda r: _body_sdf(v, r), *_body_box(v), v.dims.cortical, core=lambda r: _body_core(v, r))
    parts = [_Component(arch, *_local_box(v, (-au, v_c - av, top), (au, v_c, bottom)), POSTERIOR_CORTICAL_MM)]
    parts += [_rod(rod.transformed(v.centre, v.axes)) for rod in elements.rods + v.extra_rods]
    canal_part = _Component(canal, *_local_box(v, (-cu, v_c - cv, -reach), (cu, v_c + cv, reach)))
    return body, parts, canal_part


def _paint_vertebra(canvas: _Canvas, v: Vertebra) -> None:
    body, parts, canal = _vertebra_components(v)
    bodies = [body] if v.has_body else []  # the atlas has none
    index = canvas.index(np.min([c.low for c in parts + bodies], 0), np.max([c.high for c in parts + bodies], 0))
    if index is None:
        return

    def fn(r: _Region):
        body_outer, body_inner = _union(r, bodies)
        outer, inner = _union(r, parts)
        return {
            "outer": torch.minimum(outer, body_outer),
            "inner": torch.minimum(inner, body_inner),
            "body": body_outer,
            "canal": _union(r, [canal])[0],
        }

    occ = canvas.evaluate(index, fn)
    canvas.paint(index, [(MUSCLE, occ["canal"])])
    canvas.paint(index, _shell(occ["outer"], occ["inner"], CORTICAL, CANCELLOUS))
    canvas.labels[index][occ["outer"] >= 0.5] = v.label
    canvas.column[index] += occ["body"]


def _disc_sdf(disc: Disc, r: _Region, extension: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(sdf extended by ``extension`` mm into both neighbouring bodies, sdf between the endplate planes)."""
    u, a, w = r.local(disc.centre, disc.axes)
    top = float((disc.superior_point - disc.centre) @ disc.axes[:, 2])
    bottom = float((disc.inferior_point - disc.centre) @ disc.axes[:, 2])
    t = ((w - top) / (bottom - top)).clamp(0.0, 1.0)
    bulge = 1.0 + DISC_BULGE * 4.0 * t * (1.0 - t)
    width = 0.5 * (disc.width[0] + t * (disc.width[1] - disc.width[0])) * bulge
    depth = 0.5 * (disc.depth[0] + t * (disc.depth[1] - disc.depth[0])) * bulge
    side = _ellipse(u, a, width, depth)
    planes = torch.maximum(-_plane(r, disc.superior_point, disc.superior_normal),
                           _plane(r, disc.inferior_point, disc.inferior_normal))
    return torch.maximum(side, planes - extension), torch.maximum(side, planes)


def _paint_disc(canvas: _Canvas, disc: Disc) -> None:
    radius = 0.5 * max(disc.width + disc.depth) * (1.0 + DISC_BULGE) + canvas.margin
    ends = np.stack([disc.superior_point, disc.inferior_point])
    index = canvas.index(ends.min(0) - radius, ends.max(0) + radius)
    if index is None:
        return
    extension = canvas.margin  # painted one voxel into the bodies, which are painted over it

    def fn(r: _Region):
        painted, column = _disc_sdf(disc, r, extension)
        return {"painted": painted, "column": column}

    occ = canvas.evaluate(index, fn)
    canvas.paint(index, [(DISC, occ["painted"])])
    canvas.column[index] += occ["column"]


def _sacral_coordinates(sacrum: Sacrum, r: _Region) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(u, off, along)`` mm: left of the sacral arc, its offset toward anterior (the centre of curvature) and the
    arc length from the top of S1 of a point's foot on the arc."""
    u, a, w = r.local(sacrum.top, sacrum.axes)
    radius = sacrum.radius
    along = radius * torch.atan2(w, radius - a)
    off = radius - torch.sqrt((radius - a) ** 2 + w * w)
    return u, off, along


def _top_to_tip(pair: tuple[float, float], t: torch.Tensor) -> torch.Tensor:
    """A sacral size ``(top, tip)`` at the share ``t`` of the arc (linear)."""
    return pair[0] + t * (pair[1] - pair[0])


def _fused_body_sdf(sacrum: Sacrum, u: torch.Tensor, off: torch.Tensor, along: torch.Tensor) -> torch.Tensor:
    """The sacrum's fused-body ellipse along the whole arc (no ends), at :func:`_sacral_coordinates`."""
    t = (along / sacrum.length).clamp(0.0, 1.0)
    return _ellipse(u, off, 0.5 * _top_to_tip(sacrum.body_width, t), 0.5 * _top_to_tip(sacrum.body_depth, t))


def _sacrum_sdf(sacrum: Sacrum, r: _Region) -> torch.Tensor:
    """The sacrum: fused bodies and lateral masses swept along its arc, minus the sacral canal, cut at both ends."""
    u, off, along = _sacral_coordinates(sacrum, r)
    t = (along / sacrum.length).clamp(0.0, 1.0)
    t_ala = (along / (sacrum.ala_end * sacrum.length)).clamp(0.0, 1.0)
    body_depth = _top_to_tip(sacrum.body_depth, t)
    canal_depth = _top_to_tip(sacrum.canal_depth, t)
    body = _fused_body_sdf(sacrum, u, off, along)
    ala = _ellipse(u, off + sacrum.ala_shift * (1.0 - t), 0.5 * _top_to_tip(sacrum.ala_width, t_ala),
                   0.5 * _top_to_tip(sacrum.ala_depth, t))
    canal = _ellipse(u, off + 0.5 * (body_depth + canal_depth), 0.5 * _top_to_tip(sacrum.canal_width, t),
                     0.5 * canal_depth)
    ends = torch.maximum(-along, along - sacrum.length)
    return torch.maximum(torch.maximum(torch.minimum(body, ala), -canal), ends)


def _paint_sacrum(canvas: _Canvas, sacrum: Sacrum) -> None:
    s = np.linspace(0.0, sacrum.length, 12)
    points = np.array([sacrum.point(x) for x in s])
    half = 0.5 * max(sacrum.ala_width[0], sacrum.ala_depth[0] + 2 * sacrum.ala_shift, sacrum.body_width[0])
    component = _Component(lambda r: _sacrum_sdf(sacrum, r), points.min(0) - half, points.max(0) + half,
                           sacrum.cortical)
    index = canvas.index(component.low, component.high)
    if index is None:
        return
    occ = canvas.evaluate(index, lambda r: {**_bone(r, [component]), "s1": _s1_segment_sdf(sacrum, r)})
    canvas.paint(index, _shell(occ["outer"], occ["inner"], CORTICAL, CANCELLOUS))
    bone, s1 = occ["outer"] >= 0.5, occ["s1"] >= 0.5
    canvas.labels[index][bone & s1] = sacrum.vertebra.label
    canvas.labels[index][bone & ~s1] = SACRUM_BELOW_S1_ID


def _s1_floor(sacrum: Sacrum, r: _Region) -> torch.Tensor:
    """Height below the axial plane through the centre of the S1 body's inferior face, mm (> 0 below).

    The S1 body ends on this plane, as CT vertebra labels draw it (the real CT's S1 body ends in a flat axial
    bottom, ``docs/real_anatomy.md``), not on the face perpendicular to the sacral arc: that face's lowest axial
    slices hold only the body's anterior-inferior corner, which turned the truth's centre line forward at S1."""
    return r.point(sacrum.point(sacrum.vertebra.dims.body_height))[2]


def _s1_segment_sdf(sacrum: Sacrum, r: _Region) -> torch.Tensor:
    """S1's share of the sacrum (< 0 inside): the fused body above :func:`_s1_floor`, the rest (alae, the canal's
    walls) above the arc's normal plane at the S1 body height."""
    u, off, along = _sacral_coordinates(sacrum, r)
    body = _fused_body_sdf(sacrum, u, off, along)
    return torch.where(body < 0, _s1_floor(sacrum, r), along - sacrum.vertebra.dims.body_height)


def _s1_body_sdf(sacrum: Sacrum, r: _Region) -> torch.Tensor:
    """The S1 body: the sacrum's fused-body ellipse from the top of S1 down to :func:`_s1_floor`; no alae, no
    canal."""
    u, off, along = _sacral_coordinates(sacrum, r)
    return torch.maximum(_fused_body_sdf(sacrum, u, off, along), torch.maximum(-along, _s1_floor(sacrum, r)))


def _add_s1_body(canvas: _Canvas, sacrum: Sacrum) -> None:
    """Add the S1 body's occupancy to the spine column (its bone is painted with the sacrum)."""
    s1 = sacrum.vertebra
    d = s1.dims  # behind its centre the body reaches below the arc's normal plane, down to the axial floor
    half = np.array([d.endplate_width, d.endplate_depth, d.body_height]) / 2
    low, high = _local_box(s1, -half - (0.0, 0.0, 0.15 * d.endplate_width), half + (0.0, 0.0, d.endplate_depth))
    index = canvas.index(low, high)
    if index is not None:
        canvas.column[index] += canvas.evaluate(index, lambda r: {"s1": _s1_body_sdf(sacrum, r)})["s1"]


def _paint_shoulders(canvas: _Canvas, girdle: ShoulderGirdle) -> None:
    """Each clavicle (two rods), each scapula (a curved plate) and the manubrium, as bones."""
    for clavicle in girdle.clavicles:
        _paint_bone(canvas, [_rod(rod, girdle.cortical) for rod in clavicle])
    for scapula in girdle.scapulae:
        _paint_bone(canvas, [_arc(scapula)])
    _paint_bone(canvas, [_ball(girdle.manubrium, girdle.cortical)], slabs=False)


# --------------------------------------------------------------------------------------------------------------
# Trabecular texture.


def _smooth_noise(shape, sigma_voxels, generator: torch.Generator, step: int = 1) -> torch.Tensor:
    """Gaussian noise smoothed by ``sigma_voxels`` and scaled to unit SD, ``shape``; drawn on a grid ``step``
    times coarser and interpolated (trilinear) when ``step > 1``."""
    coarse = tuple(-(-n // step) + 1 for n in shape) if step > 1 else tuple(shape)
    noise = torch.randn(coarse, generator=generator, device=generator.device, dtype=torch.float32)
    noise = gaussian_blur(noise, [sg / step for sg in sigma_voxels])
    if step > 1:
        noise = torch.nn.functional.interpolate(noise[None, None], scale_factor=step, mode="trilinear",
                                                align_corners=True)[0, 0][tuple(slice(0, n) for n in shape)]
    return noise / noise.std().clamp_min(_EPS)


def _content_box(volume: torch.Tensor) -> tuple[slice, slice, slice] | None:
    """Index slices of the smallest box holding every non-zero voxel of ``volume (X, Y, Z)``; None if all zero."""
    inside = [torch.nonzero(volume.amax(dim=tuple(d for d in range(3) if d != axis)) > 0).flatten()
              for axis in range(3)]
    if any(len(i) == 0 for i in inside):
        return None
    return tuple(slice(int(i[0]), int(i[-1]) + 1) for i in inside)


def _texture_cancellous(canvas: _Canvas, seed: int) -> None:
    """Make cancellous bone's bone volume fraction vary in space: trabecular grain and marrow heterogeneity.

    A smoothed noise field ``t`` (SD :data:`TRABECULAR_TEXTURE_SD`, correlation lengths
    :data:`TRABECULAR_GRAIN_MM`) scales the local BV/TV ``β`` to ``β (1 + t)``: where ``t > 0`` a share
    ``β t / (1 − β)`` of the cancellous fraction becomes bone tissue (cortical), where ``t < 0`` a share ``−t``
    becomes marrow (fat and lean tissue in the marrow's proportions). Both change the density by
    ``β t (ρ_bone − ρ_marrow)``, so the mean density of the bone is kept. ``β`` and the marrow are those of the
    reference :class:`~monai_spine.phantom.materials.Tissue`.
    """
    textured = _texture_field(canvas, canvas.fractions[CANCELLOUS], seed, TRABECULAR_GRAIN_MM)
    if textured is None:
        return
    index, field = textured
    t = (TRABECULAR_TEXTURE_SD / np.sqrt(2.0)) * field
    tissue = Tissue()
    beta, fat_share = tissue.bone_volume_fraction, tissue.marrow_fat_fraction
    view = canvas.fractions[(slice(None),) + index]
    c = view[CANCELLOUS]
    to_bone = c * (beta / (1.0 - beta)) * t.clamp(0.0, 1.0)
    to_marrow = c * (-t).clamp(0.0, 0.9)
    view[CORTICAL].add_(to_bone)
    view[FAT].add_(fat_share * to_marrow)
    view[MUSCLE].add_((1.0 - fat_share) * to_marrow)
    c.sub_(to_bone + to_marrow)


# --------------------------------------------------------------------------------------------------------------


def _check(anatomy: Anatomy, grid: Grid, supersample: int) -> None:
    if not isinstance(anatomy, Anatomy):
        raise ValueError(f"anatomy must be an Anatomy (build_anatomy), got {type(anatomy).__name__}.")
    if not isinstance(supersample, (int, np.integer)) or not 1 <= supersample <= 4:
        raise ValueError(f"supersample must be an integer in [1, 4], got {supersample!r}.")
    if len(grid.shape) != 3 or min(grid.shape) < 1 or min(grid.spacing) <= 0:
        raise ValueError(f"grid must have 3 positive sizes and spacings, got {grid}.")


def rasterise(anatomy: Anatomy, grid: Grid, device="cpu", supersample: int = 1) -> Raster:
    """Material volume fractions, vertebra labels and the spine-column mask of ``anatomy`` on ``grid``.

    Args:
        anatomy: a placed phantom (:func:`~monai_spine.phantom.anatomy.build_anatomy`), phantom frame, mm.
        grid: the voxel grid (phantom frame).
        device: torch device for the volumes (``"cpu"``, ``"cuda"``).
        supersample: sub-voxel samples per axis for the partial-volume estimate (1: the soft-step estimate alone).

    Returns:
        :class:`Raster`: fractions ``(len(MATERIALS), X, Y, Z)`` float32 summing to 1 per voxel (air where nothing
        else is), ``vertebra_labels (X, Y, Z)`` uint8, ``spine_mask (X, Y, Z)`` bool.
    """
    _check(anatomy, grid, supersample)
    canvas = _Canvas(grid, device, int(supersample))
    _paint_torso(canvas, anatomy.torso)
    if anatomy.abdomen is not None:
        _paint_abdomen(canvas, anatomy.abdomen)
        _paint_trunk_fat(canvas, anatomy)
    _paint_breasts(canvas, anatomy.breasts)
    _paint_lungs(canvas, anatomy)
    _paint_trachea(canvas, anatomy.trachea)
    for rib in anatomy.ribs:
        _paint_bone(canvas, [_arc(rib), _rod(rib.neck, rib.cortical)])
    _paint_bone(canvas, [_rod(anatomy.sternum)], slabs=False)
    _paint_shoulders(canvas, anatomy.shoulders)
    _paint_mandible(canvas, anatomy)
    _paint_pelvis(canvas, anatomy)
    _paint_column(canvas, anatomy)
    _paint_sacrum(canvas, anatomy.sacrum)
    if anatomy.texture_seed is not None:
        _texture_cancellous(canvas, anatomy.texture_seed)
    if anatomy.organ_texture_seed is not None:
        _texture_organs(canvas, anatomy.organ_texture_seed)
    _paint_devices(canvas, anatomy.devices)
    return Raster(
        fractions=canvas.fractions,
        vertebra_labels=canvas.labels,
        spine_mask=canvas.column >= 0.5,
    )


def rasterise_column(anatomy: Anatomy, grid: Grid, device="cpu") -> torch.Tensor:
    """The spine-column mask alone (bodies C2–L5 and S1, and discs), bool ``(X, Y, Z)``, for fine truth grids.

    Paints only the discs and vertebrae, so a sub-millimetre grid around the spine stays cheap; on the same grid
    it equals :func:`rasterise`'s ``spine_mask``.
    """
    _check(anatomy, grid, 1)
    canvas = _Canvas(grid, device, 1, materials=False)
    _paint_column(canvas, anatomy)
    return canvas.column >= 0.5


def _paint_column(canvas: _Canvas, anatomy: Anatomy) -> None:
    """The discs, then the vertebrae C1–L5 over them (bodies, posterior elements; the atlas has no body), and the S1
    body's share of the column (its bone is painted with the sacrum)."""
    for disc in anatomy.discs:
        _paint_disc(canvas, disc)
    for vertebra in anatomy.vertebrae[:-1]:
        _paint_vertebra(canvas, vertebra)
    _add_s1_body(canvas, anatomy.sacrum)


def _paint_mandible(canvas: _Canvas, anatomy: Anatomy) -> None:
    """The mandible (its body and rami) as one bone, where the grid reaches it; C1–C6 are painted with the column."""
    if anatomy.neck is not None:
        body, *rami = anatomy.neck.mandible
        _paint_bone(canvas, [_arc(body)] + [_rod(ramus, body.cortical) for ramus in rami])


def _paint_pelvis(canvas: _Canvas, anatomy: Anatomy) -> None:
    """Each hip bone (iliac wing, brim, rami) and each upper femur (head, neck, shaft) as one bone."""
    for hip in anatomy.hips:
        _paint_bone(canvas, [_wing(hip.wing), _arc(hip.brim)] + [_rod(r, hip.wing.cortical) for r in hip.rami])
    for femur in anatomy.femurs:
        _paint_bone(canvas, [_ball(femur.head, femur.cortical)] + [_rod(r, femur.cortical) for r in femur.rods])


# --------------------------------------------------------------------------------------------------------------
# Abdominal organs, bowel and bowel gas (painted over the torso, under the lungs and the bones).

ORGAN_FAT_SHARE = 0.05
"""Mean share of an organ's volume that its texture turns into fat (interstitial fat, sinus fat, vessels' fat)."""
ORGAN_TEXTURE_SD = 0.8
"""Standard deviation of the local relative change of that share (clipped to [0, 2] × ``ORGAN_FAT_SHARE``)."""
ORGAN_GRAIN_MM = (3.0, 12.0)
"""Correlation lengths (Gaussian SD, mm) of the organs' fine and coarse texture."""
_TEXTURED_ORGANS = (LIVER, SPLEEN, KIDNEY)


def _paint_soft(canvas: _Canvas, components: list[_Component], sources: tuple[int, ...], target: int,
                slabs: bool = False) -> None:
    """Turn the ``sources`` materials inside the union of ``components`` into ``target`` (an organ replaces lean
    tissue, gas the bowel's fluid): what else is there (fat, bone, air) stays."""
    boxes = _slabs(canvas, components) if slabs else [canvas.index(np.min([c.low for c in components], 0),
                                                                   np.max([c.high for c in components], 0))]
    for index in (box for box in boxes if box is not None):
        occ = canvas.evaluate(index, lambda r: {"inside": _union(r, components)[0]})
        canvas.replace(index, occ["inside"], sources, target)


def _paint_abdomen(canvas: _Canvas, abdomen: Abdomen) -> None:
    """In the torso's lean tissue: perirenal fat and kidneys, liver, spleen, aorta and IVC, the stomach's and the
    bowel's content (fluid; their walls are the lean tissue around it), the gas cap of the stomach and the bowel
    gas (in the fluid), then the bladder."""
    lean = (MUSCLE,)
    for kidney in abdomen.kidneys:
        _paint_soft(canvas, [_ball(Ellipsoid(kidney.centre, kidney.semi_axes + RENAL_FAT_MM), 0.0)], lean, FAT)
    for organ, material in ((abdomen.liver, LIVER), (abdomen.spleen, SPLEEN)):
        _paint_soft(canvas, [_ball(organ, 0.0)], lean, material)
    for kidney in abdomen.kidneys:
        _paint_soft(canvas, [_ball(kidney, 0.0)], (MUSCLE, FAT), KIDNEY)
    _paint_soft(canvas, [_rod(vessel, 0.0) for vessel in abdomen.vessels], lean, BLOOD, slabs=True)
    stomach = abdomen.stomach
    _paint_soft(canvas, [_ball(Ellipsoid(stomach.centre, stomach.semi_axes - BOWEL_WALL_MM), 0.0)], lean, FLUID)
    lumen = [_rod(Rod.round(t.start, t.end, t.half_thickness - BOWEL_WALL_MM), 0.0)
             for t in abdomen.colon + abdomen.small_bowel]
    _paint_soft(canvas, lumen, lean, FLUID, slabs=True)
    if abdomen.stomach_gas_mm > 0:
        level = float(stomach.centre[2] - stomach.semi_axes[2]) + abdomen.stomach_gas_mm
        _paint_soft(canvas, [_Component(lambda r: r.z - level, stomach.centre - stomach.semi_axes,
                                        stomach.centre + stomach.semi_axes)], (FLUID,), AIR)
    for pocket in abdomen.gas:
        _paint_soft(canvas, [_ball(pocket, 0.0)], (FLUID,), AIR)
    _paint_soft(canvas, [_ball(abdomen.bladder, 0.0)], lean, FLUID)


VISCERAL_WALL_MM = 15.0
"""Thickness of the abdominal wall's muscle under the subcutaneous fat (reference adult, scaled), mm."""
VISCERAL_PSOAS_MM = 45.0
"""Half-width of the lean band in front of and beside the lumbar bodies (psoas, crura), reference adult, mm."""
VISCERAL_FLANK_DEPTH_MM = 45.0
"""How far behind the vertebral bodies' front the cavity reaches beside the psoas, reference adult, mm."""
VISCERAL_TOP_RAMP_MM = 60.0
"""Height over which the visceral fat fades in below the T11 body's centre, reference adult, mm."""
VISCERAL_FAT_SHARE = (0.2, 0.012, 0.7)
"""``(base, per mm of subcutaneous fat, maximum)``: the share of the abdominal cavity's free space that is fat
(mesentery, omentum, retroperitoneal fat), ``min(base + slope · Body.fat_mm, maximum)``: 0.25 for a lean adult
(4 mm), 0.34 for the reference (12 mm), 0.7 for an obese one: visceral fat grows with subcutaneous fat
(sources in docs/phantom_anatomy.md)."""
VISCERAL_GRAIN_MM = (4.0, 15.0)
"""Correlation lengths (Gaussian SD, mm) of the fine and coarse pattern of fat between the bowel loops."""
MUSCLE_FAT_SHARE = (0.12, 0.004, 0.3)
"""``(base, per mm of subcutaneous fat, maximum)``: the share of the back muscles' compartment that is fat (the
planes between erector spinae, multifidus and quadratus lumborum, and fat within them), 0.17 for the reference
adult, up to 0.3 (sources in docs/phantom_anatomy.md)."""
MUSCLE_GRAIN_MM = ((2.0, 2.0, 8.0), (6.0, 6.0, 25.0))
"""Correlation lengths (Gaussian SD, mm, x/y/z) of the fine and coarse fat streaks along the back muscles."""
FAT_EDGE = 0.3
"""Softness of a fat/lean pattern's edge, in SDs of its noise field."""


def _body_profile(anatomy: Anatomy, r: _Region, value: Callable[[Vertebra], float]) -> torch.Tensor:
    """``value`` of each vertebral body interpolated at the region's heights, ``(1, 1, l)`` (see :func:`_profile`)."""
    bodies = [v for v in anatomy.vertebrae if v.has_body]
    return _profile(r, np.array([v.centre[2] for v in bodies]), np.array([value(v) for v in bodies]))


def _cavity_sdf(anatomy: Anatomy, r: _Region, muscle: torch.Tensor) -> torch.Tensor:
    """Signed distance-like function (mm) of the abdominal cavity: inside the torso's muscle wall (``muscle``: the
    signed distance of the muscle's surface, :func:`_torso_section`), in front of the vertebral bodies within
    :data:`VISCERAL_PSOAS_MM` of the midline (the psoas) and back to :data:`VISCERAL_FLANK_DEPTH_MM` behind their
    front beyond it (the back muscles stay lean), down to 120 mm below the top of S1 (the pelvic floor); its top is
    :func:`_cavity_top_ramp`."""
    s = anatomy.body.scale
    spine_x = _body_profile(anatomy, r, lambda v: v.centre[0])
    y_front = _body_profile(anatomy, r, lambda v: v.centre[1] + 0.5 * v.dims.endplate_depth)
    # beside the psoas the cavity reaches back to the transverse processes (the flanks' fat and the colon)
    psoas, flank = VISCERAL_PSOAS_MM * s, VISCERAL_FLANK_DEPTH_MM * s
    y_back = y_front - flank * ((torch.abs(r.x - spine_x) - psoas) / (0.5 * psoas)).clamp(0.0, 1.0)
    z_bottom = float({v.name: v for v in anatomy.vertebrae}["sacrum"].superior_endplate[2]) + 120.0 * s
    return torch.maximum(torch.maximum(muscle + VISCERAL_WALL_MM * s, y_back - r.y), r.z - z_bottom)


def _cavity_top_ramp(canvas: _Canvas, anatomy: Anatomy) -> torch.Tensor:
    """``(1, 1, Z)`` weights of the visceral fat by height: 0 above the T11 body's centre (the diaphragm's dome),
    rising to 1 over :data:`VISCERAL_TOP_RAMP_MM` below it (the dome's slope: no flat edge across the trunk)."""
    levels = {v.name: v for v in anatomy.vertebrae}
    z_top = float(levels["T11"].centre[2]) if "T11" in levels else float(anatomy.vertebrae[0].centre[2])
    ramp = (canvas.axes[2] - z_top) / (VISCERAL_TOP_RAMP_MM * anatomy.body.scale)
    return ramp.clamp(0.0, 1.0).view(1, 1, -1).to(torch.float32)


def _back_sdf(anatomy: Anatomy, r: _Region, muscle: torch.Tensor) -> torch.Tensor:
    """Signed distance-like function (mm) of the back muscles: inside the muscle's surface (``muscle``, as for
    :func:`_cavity_sdf`) and behind the vertebral bodies' posterior walls (erector spinae, multifidus, quadratus
    lumborum; the psoas beside the bodies and the chest and abdominal walls in front are not in it)."""
    y_back = _body_profile(anatomy, r, lambda v: v.centre[1] - 0.5 * v.dims.endplate_depth)
    return torch.maximum(muscle, r.y - y_back)


def _paint_fat_pattern(canvas: _Canvas, region: torch.Tensor, share: float, seed: int | None, grain_mm) -> None:
    """Turn a ``share`` of the lean tissue in ``region`` (occupancy ``(X, Y, Z)``) into fat: in a pattern, a
    smoothed noise field (``grain_mm``, seeded) through a soft threshold at the share's quantile (:data:`FAT_EDGE`),
    so that fat and lean patches alternate; a uniform mixture when ``seed`` is ``None``."""
    index = tuple(slice(0, n) for n in canvas.shape)
    weight: torch.Tensor | float = share
    if seed is not None:
        textured = _texture_field(canvas, region, seed, grain_mm)
        if textured is None:
            return
        index, field = textured
        region = region[index]
        threshold = float(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(1.0 - share)))
        weight = torch.sigmoid((field / np.sqrt(2.0) - threshold) / FAT_EDGE)
    canvas.replace(index, region * weight, (MUSCLE,), FAT)


def _paint_trunk_fat(canvas: _Canvas, anatomy: Anatomy) -> None:
    """Fat between the bowel loops and the organs, and between the back muscles' fibres.

    In the abdominal cavity (:func:`_cavity_sdf`, :func:`_cavity_top_ramp`) a share (:data:`VISCERAL_FAT_SHARE`) of
    the lean tissue left after the organs and the bowel were painted becomes fat (:data:`VISCERAL_GRAIN_MM`); in the
    back muscles (:func:`_back_sdf`) a share :data:`MUSCLE_FAT_SHARE` in streaks along the fibres
    (:data:`MUSCLE_GRAIN_MM`). Patterns seeded by ``Anatomy.organ_texture_seed`` (+ 1, + 2); uniform mixtures
    without it. Without them the trunk was solid muscle around the spine, which no CT or MRI shows."""
    def regions(r: _Region) -> dict[str, torch.Tensor]:
        skin, fat = _torso_section(anatomy.torso, r)
        return {"cavity": _cavity_sdf(anatomy, r, skin + fat), "back": _back_sdf(anatomy, r, skin + fat)}

    occupancy = canvas.evaluate(tuple(slice(0, n) for n in canvas.shape), regions)
    seed = anatomy.organ_texture_seed
    for region, (base, slope, high), grain, offset in (
        (occupancy["cavity"] * _cavity_top_ramp(canvas, anatomy), VISCERAL_FAT_SHARE, VISCERAL_GRAIN_MM, 1),
        (occupancy["back"], MUSCLE_FAT_SHARE, MUSCLE_GRAIN_MM, 2),
    ):
        share = min(base + slope * anatomy.body.fat_mm, high)
        _paint_fat_pattern(canvas, region, share, None if seed is None else seed + offset, grain)


def _paint_breasts(canvas: _Canvas, breasts: tuple[Breast, ...]) -> None:
    """Each breast: its mound fills the air in front of the chest with fat, its glandular core replaces fat (of the
    mound and the subcutaneous layer, not the lean chest wall)."""
    for breast in breasts:
        _paint_soft(canvas, [_ball(breast.mound, 0.0)], (AIR,), FAT)
        _paint_soft(canvas, [_ball(breast.gland, 0.0)], (FAT,), GLAND)


def _texture_field(canvas: _Canvas, occupancy: torch.Tensor, seed: int, grain_mm) -> tuple[tuple, torch.Tensor] | None:
    """The box of ``occupancy``'s content and a seeded noise field on it: a fine plus a coarse Gaussian-smoothed
    noise (``grain_mm``: their two correlation lengths, mm), each of unit SD; ``None`` when nothing is occupied."""
    index = _content_box(occupancy)
    if index is None:
        return None
    shape = tuple(sl.stop - sl.start for sl in index)
    generator = torch.Generator(device=canvas.device).manual_seed(seed)
    fine, coarse = (np.asarray(grain_mm[k]) / canvas.spacing for k in range(2))
    return index, _smooth_noise(shape, fine, generator) + _smooth_noise(shape, coarse, generator, _COARSE_STEP)


def _texture_organs(canvas: _Canvas, seed: int) -> None:
    """Make the solid organs (liver, spleen, kidneys) vary in space: a share ``w`` of each organ's fraction becomes
    fat, ``w = ORGAN_FAT_SHARE · clamp(1 + t, 0, 2)`` with ``t`` a smoothed noise of SD :data:`ORGAN_TEXTURE_SD`
    (:data:`ORGAN_GRAIN_MM`), so an organ's mean CT number is ``HU − ORGAN_FAT_SHARE · (HU − HU_fat)`` and its
    texture's SD about ``ORGAN_TEXTURE_SD · ORGAN_FAT_SHARE · (HU − HU_fat)`` (≈ 5 HU for the liver)."""
    textured = _texture_field(canvas, sum(canvas.fractions[m] for m in _TEXTURED_ORGANS), seed, ORGAN_GRAIN_MM)
    if textured is None:
        return
    index, field = textured
    share = ORGAN_FAT_SHARE * (1.0 + (ORGAN_TEXTURE_SD / np.sqrt(2.0)) * field).clamp_(0.0, 2.0)
    view = canvas.fractions[(slice(None),) + index]
    for material in _TEXTURED_ORGANS:
        moved = view[material] * share
        view[material].sub_(moved)
        view[FAT].add_(moved)


# --------------------------------------------------------------------------------------------------------------
# Foreign objects (painted last, over everything: screws replace bone; the labels and the column are not touched).


def _paint_devices(canvas: _Canvas, devices: Devices) -> None:
    """The instrumentation's rods and screws in its metal; electrodes, lead wires and buttons in steel."""
    construct = devices.instrumentation
    parts = [] if construct is None else [([_rod(r, 0.0) for r in construct.rods + construct.screws],
                                           MATERIALS.index(construct.metal))]
    parts += [([_ball(e, 0.0) for e in devices.electrodes + devices.buttons], STEEL),
              ([_rod(wire, 0.0) for wire in devices.leads], STEEL)]
    for components, material in parts:
        for index in _slabs(canvas, components) if components else []:
            occ = canvas.evaluate(index, lambda r, c=components: {"metal": _union(r, c)[0]})
            canvas.paint(index, [(material, occ["metal"])])
