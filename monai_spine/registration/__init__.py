"""Two-stage rigid 2D alignment of an MRI to a coronal DXA, with IoU quality control (``docs/alignment.md``).

``align_pair(dxa_mask, mri_mask, config) -> Alignment``: stage 1 (image level) searches the rotation and the
translation by FFT cross-correlation and refines them with Mattes mutual information; stage 2 (spine level)
refines them by ICP between the spine outlines; the IoU of the masks and the outlines' residual decide
acceptance. ``Alignment.to_dict()`` is ``alignment.json``; ``save_alignment_figure`` writes ``alignment.png``.
"""

from .alignment import Alignment, AlignmentConfig, align_pair, coronal_masks
from .coronal import coronal_mask_projection, coronal_projection
from .figure import save_alignment_figure
from .image_stage import ImageStage
from .qc import mask_iou
from .rigid import apply_matrix, rigid_matrix, rotation_deg
from .spine_stage import MaskBoundary, SpineStage, boundary_points, closest_point_fit

__all__ = [
    "Alignment",
    "AlignmentConfig",
    "ImageStage",
    "MaskBoundary",
    "SpineStage",
    "align_pair",
    "apply_matrix",
    "boundary_points",
    "closest_point_fit",
    "coronal_masks",
    "coronal_projection",
    "mask_iou",
    "coronal_mask_projection",
    "rigid_matrix",
    "rotation_deg",
    "save_alignment_figure",
]
