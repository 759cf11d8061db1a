"""monai-spine: the 3D shape of the spine from coronal DXA and bi-planar radiographs.

Coordinate frames and units are defined once, in ``docs/frames.md``; every length is in millimetres.
"""

__version__ = "0.1.0"

import warnings as _warnings

# With the [deploy] extra installed, `import monai` loads monai.deploy (MONAI imports its namespace's submodules) and so
# holoscan, which warns on every import that the stack limit is below 32 MB: it concerns holoscan's own threads, not
# monai-spine's commands, which would all print it.
_warnings.filterwarnings("ignore", message="Current stack size", category=RuntimeWarning)
