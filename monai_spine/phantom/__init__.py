"""The digital spine phantom: shapes, anatomy and renderers with exact truth."""

from .shape import (
    PATTERNS,
    CoronalCurve,
    PopulationModel,
    SpineShape,
    axial_rotation_deg,
    centre_line,
    sample_shape,
)
