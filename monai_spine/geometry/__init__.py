"""Spine-curve geometry: the curve container, curves from masks, frame mappings and writers."""

from .curves import CURVE_NAMES, N_POINTS, SpineCurves
