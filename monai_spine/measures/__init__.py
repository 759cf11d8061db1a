"""Clinical measures of a spine curve (Cobb, kyphosis, lordosis, plane of maximum curvature) and metrics.

Definitions, sign conventions and validation: ``docs/measures.md``.
"""

from .angles import (
    CoronalCobb,
    CurveSegment,
    SagittalProfile,
    apex_index,
    coronal_cobb,
    measure_spine,
    sagittal_profile,
)
from .curvature import (
    PlaneOfMaxCurvature,
    largest_turn,
    plane_of_max_curvature,
    tangent_angles,
    turning_points,
)
from .metrics import CurveDistance, curve_distance, curve_mae_mm, lateral_mae, relative_error_percent, spine_errors
