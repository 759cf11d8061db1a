"""The spine column of a labelled CT: vertebral bodies cut from the vertebra labels, and the discs between them.

A vertebra label holds the body and the posterior elements, which ring the vertebral canal. Along the vertebra's
local AP axis (the patient's y made perpendicular to the local spine direction, from the neighbouring centroids),
the body is what lies in front of the canal: near the label's midline the label is empty across the canal (12–20 mm
deep; Panjabi et al., Spine 1991/1992), and the body's posterior wall is the front of that gap
(:func:`posterior_wall_depth`). A label with no such gap (an arch-less or cut label) falls back to the anterior
:data:`BODY_DEPTH_FRACTION` of its depth (anterior wall to the tip of the spinous process: about 35 of 100 mm in
the lumbar spine, 28 of 80 mm in the thoracic; White & Panjabi, *Clinical Biomechanics of the Spine*, 1990). A disc
is the convex hull of the facing end slabs of two adjacent bodies.

The column runs from C2 to S1, the definition the phantom shares (``docs/phantom_anatomy.md``): C1 (the atlas) has
no body and never enters it; of S1 only the body enters, the anterior part of its label kept within
:data:`S1_BODY_MARGIN_MM` of the level above's body half-width from the S1 label's midline, so that sacral alae
labelled S1 stay out.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from .labels import LEVEL_ORDER

__all__ = [
    "BODY_DEPTH_FRACTION", "CANAL_MIN_MM", "MIDLINE_HALF_WIDTH_MM", "END_SLAB_FRACTION", "S1_BODY_MARGIN_MM",
    "NO_BODY_LEVELS", "WHOLE_SACRUM_RATIO", "SpineColumn", "SpineColumnd", "SpineColumnD", "SpineColumnDict",
    "level_centroids", "first_sacral_segment", "posterior_wall_depth",
]

BODY_DEPTH_FRACTION = 0.36
"""Share of a vertebra's AP depth, from the front, that is its body when the label shows no canal."""

CANAL_MIN_MM = 6.0
"""The least empty depth, mm, across a label's midline that is taken for the vertebral canal (the canal is 12–20 mm
deep from C3 to L5; a voxel grid leaves gaps of at most a voxel's diagonal in a solid label, so the gap must also
exceed twice the largest voxel size)."""

MIDLINE_HALF_WIDTH_MM = 6.0
"""Half-width of the strip about a vertebra's centroid, across the spine, in which the canal is looked for: narrower
than the canal (20–25 mm wide in the lumbar spine), wide enough to hold voxels on a 3 mm grid."""

_WALL_RANGE = (0.2, 0.7)
"""Where a body's posterior wall may lie, as shares of the label's depth from the front: the body is 0.3–0.55 of it
(the phantom's lumbar bodies 0.38, the real-anatomy CT's 0.5), the canal lies behind it."""

END_SLAB_FRACTION = 0.2
"""Share of a body's height, at each end, that spans a disc with the next body."""

_DEPTH_QUANTILES = (0.01, 0.99)
"""Quantiles of a vertebra's depth taken as its posterior and anterior extremes (stray voxels aside)."""

MIN_VOLUME_FRACTION = 0.3
"""A level with fewer voxels than this share of the median level's is cut by the field of view (or a stray
label): it is left out of the column and of the truth."""

S1_BODY_MARGIN_MM = 5.0
"""How far the S1 body may reach beyond the half-width of the body above it (L5, or L6), mm: the S1 endplate is
about as wide as L5's (Zhou et al. 2000, Eur Spine J 9:242), the alae lie beyond."""

WHOLE_SACRUM_RATIO = 1.5
"""An S1 label taller than this many times the L5 label (both along the L4-to-L5 direction) is the whole sacrum, as
VerSe's 26 is (TotalSegmentator's S1, and the phantom's, are 1.0-1.1 times L5's height): only its first segment,
within L5's height of its top, is S1."""

NO_BODY_LEVELS = ("C1",)
"""Levels without a vertebral body (the atlas): never in the column."""

_OPTIONAL_LEVELS = ("T13", "L6")
"""Levels that most spines lack: their absence does not break adjacency."""


def level_centroids(levels: np.ndarray, spacing) -> dict[str, np.ndarray]:
    """Centroid ``(3,)`` mm (patient volume frame) of each whole level of a level-index volume ``(X, Y, Z)``
    (levels below :data:`MIN_VOLUME_FRACTION` of the median volume are left out)."""
    index, counts = np.unique(levels[levels > 0], return_counts=True)
    present = [int(i) for i, n in zip(index, counts) if n >= MIN_VOLUME_FRACTION * np.median(counts)]
    centres = ndimage.center_of_mass(np.ones(levels.shape, dtype=np.uint8), levels, present)
    return {LEVEL_ORDER[i - 1]: np.asarray(c) * spacing for i, c in zip(present, centres)}


def first_sacral_segment(levels: np.ndarray, spacing) -> np.ndarray:
    """``levels`` ``(X, Y, Z)`` with an S1 label that holds the whole sacrum (:data:`WHOLE_SACRUM_RATIO`) cut to its
    first segment (the rest set to 0); unchanged when S1 is its own segment or L4, L5 or S1 is missing."""
    spacing = np.asarray(spacing, dtype=np.float64)
    centres = level_centroids(levels, spacing)
    if not all(name in centres for name in ("L4", "L5", "S1")):
        return levels
    along = (centres["L5"] - centres["L4"]) / np.linalg.norm(centres["L5"] - centres["L4"])

    def voxels_and_heights(name: str) -> tuple[np.ndarray, np.ndarray]:
        index = np.argwhere(levels == LEVEL_ORDER.index(name) + 1)
        return index, (index * spacing - centres["L5"]) @ along

    l5_height = np.ptp(np.quantile(voxels_and_heights("L5")[1], _DEPTH_QUANTILES))
    index, height = voxels_and_heights("S1")
    top, bottom = np.quantile(height, _DEPTH_QUANTILES)
    if bottom - top <= WHOLE_SACRUM_RATIO * l5_height:
        return levels
    trimmed = levels.copy()
    trimmed[tuple(index[height > top + l5_height].T)] = 0
    return trimmed


def _adjacent(names: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs of present levels with only absent optional levels between them, head to feet."""
    order = [LEVEL_ORDER.index(n) for n in names]
    pairs = []
    for (i, a), (j, b) in zip(zip(order, names), zip(order[1:], names[1:])):
        if all(LEVEL_ORDER[k] in _OPTIONAL_LEVELS for k in range(i + 1, j)):
            pairs.append((a, b))
    return pairs


def _local_axes(names: Sequence[str], centres: Mapping[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit spine direction (toward the feet) and AP axis (anterior) at level ``name``."""
    k = names.index(name)
    above, below = centres[names[max(k - 1, 0)]], centres[names[min(k + 1, len(names) - 1)]]
    along = below - above if len(names) > 1 else np.array([0.0, 0.0, 1.0])
    along = along / np.linalg.norm(along)
    ap = np.array([0.0, 1.0, 0.0]) - along[1] * along
    return along, ap / np.linalg.norm(ap)


def posterior_wall_depth(depth: np.ndarray, lateral: np.ndarray, spacing) -> float | None:
    """The depth of a vertebra's posterior body wall, from its label's voxels, or ``None`` without a canal.

    Args:
        depth: ``(P,)`` each label voxel's depth along the vertebra's AP axis, mm (anterior positive).
        lateral: ``(P,)`` each voxel's distance from the centroid across the spine, mm.
        spacing: the voxel spacing ``(3,)``, mm.

    Returns:
        The front of the widest empty run of depths among the voxels within :data:`MIDLINE_HALF_WIDTH_MM` of the
        midline, mm, when that run exceeds :data:`CANAL_MIN_MM` (and twice the largest voxel size) and its front
        lies within ``_WALL_RANGE`` of the label's depth (1st to 99th percentile) from the front; else ``None``.
    """
    back, front = np.quantile(depth, _DEPTH_QUANTILES)
    midline = np.unique(depth[np.abs(lateral) <= MIDLINE_HALF_WIDTH_MM])
    midline = midline[(midline >= back) & (midline <= front)]
    if midline.size < 2:
        return None
    gaps = np.diff(midline)
    walls = midline[1:]
    share = (front - walls) / (front - back)
    gaps[(share < _WALL_RANGE[0]) | (share > _WALL_RANGE[1])] = 0.0
    k = int(np.argmax(gaps))
    if gaps[k] <= max(CANAL_MIN_MM, 2.0 * float(np.max(spacing))):
        return None
    return float(walls[k])


def _fill_hull(mask: np.ndarray, points: np.ndarray, spacing: np.ndarray) -> None:
    """Set the voxels of ``mask`` whose centres lie in the convex hull of ``points`` ``(P, 3)`` mm."""
    try:
        faces = ConvexHull(points).equations  # (F, 4): outward normal n and offset b, inside where n·p + b <= 0
    except QhullError:  # flat or too few points: no volume to fill
        return
    low = np.maximum(np.floor(points.min(0) / spacing).astype(int), 0)
    high = np.minimum(np.ceil(points.max(0) / spacing).astype(int) + 1, mask.shape)
    box = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(low, high)], indexing="ij"), axis=-1).reshape(-1, 3)
    inside = np.all(box * spacing @ faces[:, :3].T + faces[:, 3] <= 1e-6, axis=1)
    mask[tuple(box[inside].T)] = True


class SpineColumn(Transform):
    """The spine column (vertebral bodies and discs) of a level-index volume.

    Args:
        spacing: voxel spacing ``(3,)`` mm of the volumes this transform is called on.

    ``__call__(levels)``: ``(X, Y, Z)`` (or ``(1, X, Y, Z)``) level indices (:data:`~.labels.LEVEL_ORDER` plus
    one, 0 background) in the patient volume frame → bool column mask of the same shape (a torch tensor for a
    tensor input).
    """

    def __init__(self, spacing: Sequence[float]) -> None:
        self.spacing = np.asarray(spacing, dtype=np.float64)

    def _bodies(self, levels: np.ndarray, names, centres) -> dict[str, np.ndarray]:
        """Each level's body voxel centres ``(P, 3)`` mm (S1's narrowed by :meth:`_s1_body`)."""
        slices = ndimage.find_objects(levels)
        bodies = {}
        for name in names:
            box = slices[LEVEL_ORDER.index(name)]
            index = np.argwhere(levels[box] == LEVEL_ORDER.index(name) + 1) + [s.start for s in box]
            points = index * self.spacing
            along, ap = _local_axes(names, centres, name)
            depth, lateral = ((points - centres[name]) @ np.stack([ap, np.cross(ap, along)], axis=1)).T
            back, front = np.quantile(depth, _DEPTH_QUANTILES)
            wall = posterior_wall_depth(depth, lateral, self.spacing)
            if wall is None:
                wall = front - BODY_DEPTH_FRACTION * (front - back)
            # no wider than the body's front half: processes that leave the body's back (L5's transverse) stay out
            right, left = np.quantile(lateral[depth >= (wall + front) / 2], _DEPTH_QUANTILES)
            margin = float(np.max(self.spacing))
            bodies[name] = points[(depth >= wall) & (lateral >= right - margin) & (lateral <= left + margin)]
            if name == "S1" and len(names) > 1:
                bodies[name] = self._s1_body(bodies, names, centres)
        return bodies

    @staticmethod
    def _s1_body(bodies: Mapping[str, np.ndarray], names: Sequence[str], centres) -> np.ndarray:
        """S1's anterior voxels within the body above's half-width plus :data:`S1_BODY_MARGIN_MM` of the S1
        label's midline (its centroid), across the local left axis: the body, not the alae."""
        above = names[names.index("S1") - 1]
        along, ap = _local_axes(names, centres, "S1")
        left = np.cross(ap, along)
        low, high = np.quantile((bodies[above] - centres[above]) @ left, _DEPTH_QUANTILES)
        lateral = (bodies["S1"] - centres["S1"]) @ left
        return bodies["S1"][np.abs(lateral) <= 0.5 * (high - low) + S1_BODY_MARGIN_MM]

    def __call__(self, levels):
        array = np.asarray(levels.cpu() if isinstance(levels, torch.Tensor) else levels)
        squeeze = array.ndim == 4
        array = (array[0] if squeeze else array).astype(np.int32)
        centres = level_centroids(array, self.spacing)
        names = [n for n in LEVEL_ORDER if n in centres and n not in NO_BODY_LEVELS]
        bodies = self._bodies(array, names, centres)
        column = np.zeros(array.shape, dtype=bool)
        for points in bodies.values():
            column[tuple(np.round(points / self.spacing).astype(int).T)] = True
        for upper, lower in _adjacent(names):
            slabs = []
            for name, end in ((upper, 1.0 - END_SLAB_FRACTION), (lower, END_SLAB_FRACTION)):
                height = (bodies[name] - centres[name]) @ _local_axes(names, centres, name)[0]
                cut = np.quantile(height, end)
                slabs.append(bodies[name][height >= cut] if name == upper else bodies[name][height <= cut])
            _fill_hull(column, np.concatenate(slabs), self.spacing)
        column = column[None] if squeeze else column
        return torch.as_tensor(column) if isinstance(levels, torch.Tensor) else column


class SpineColumnd(MapTransform):
    """Dictionary form of :class:`SpineColumn`: ``d[column_key] = SpineColumn(spacing)(d[key])`` per key.

    Args:
        keys: keys of the level-index volumes.
        spacing: voxel spacing ``(3,)`` mm.
        column_keys: output keys, one per key (default ``"<key>_column"``).
        allow_missing_keys: skip absent keys instead of raising ``KeyError``.
    """

    def __init__(self, keys: KeysCollection, spacing: Sequence[float], column_keys: KeysCollection | None = None,
                 allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.column = SpineColumn(spacing)
        self.column_keys = list(column_keys) if column_keys is not None else [f"{k}_column" for k in self.keys]

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key, out in self.key_iterator(d, self.column_keys):
            d[out] = self.column(d[key])
        return d


SpineColumnD = SpineColumnDict = SpineColumnd
