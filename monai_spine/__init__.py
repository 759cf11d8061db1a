"""monai-spine: the 3D shape of the spine from coronal DXA and bi-planar radiographs.

Coordinate frames and units are defined once, in ``docs/frames.md``; every length is in millimetres.
"""

__version__ = "0.1.0"
