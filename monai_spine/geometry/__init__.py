"""Spine-curve geometry: the curve container, curves from masks, frame mappings, voxel grids and writers."""

from .curves import CURVE_NAMES, MASK_SMOOTHING_MM, N_POINTS, SpineCurves, smooth_along_height
from .extract import (
    BoundaryCurves,
    VolumeCurves,
    curves_from_mask,
    curves_from_volume,
    mask_from_curves,
    row_extents,
    spine_component,
    spine_curves_from_views,
)
from .frames import CROP_SIZE, MAX_SPINE_FILL, CropFrame, HeightFrame, check_spine_fill, crop_centre
from .grid import Grid
from .writers import CURVES_SCHEMA, read_curves_json, write_curve3d_csv, write_curves_json
