"""The digital spine phantom: shapes, anatomy and renderers with exact truth."""

from .shape import SpineShape, centre_line
