"""The digital spine phantom: shapes, anatomy and renderers with exact truth."""

from .shape import (
    PATTERNS,
    CoronalCurve,
    PopulationModel,
    SpineShape,
    axial_rotation_deg,
    sample_shape,
    shape_centre_line,
)
