"""Rigid 2D alignment of an MRI to a coronal DXA, with quality control (``docs/alignment.md``).

``align_pair(dxa_mask, mri_mask, config, dxa_image, mri_image) -> Alignment``: stage 1 (image level) searches the
rotation and the translation by FFT cross-correlation, refines them with Mattes mutual information and sets the
height along the spine from the masks' row profiles (:mod:`.profile`); stage 2 (spine level) refines them by ICP
between the spine outlines on the stretch both masks show; stage 3, given the images, lines up the discs both show
along the spine (:mod:`.discs`); the IoU, the outlines' and profiles' residuals and the centre lines decide
acceptance. ``Alignment.to_dict()`` is ``alignment.json``; ``save_alignment_figure`` writes ``alignment.png``.
"""

from .alignment import Alignment, AlignmentConfig, align_pair, coronal_masks
from .coronal import coronal_mask_projection, coronal_projection
from .discs import DiscStage, disc_stage
from .figure import save_alignment_figure
from .image_stage import ImageStage
from .profile import ProfileMatch, mask_profile, match_profiles
from .qc import mask_iou
from .rigid import apply_matrix, rigid_matrix, rotation_deg
from .spine_stage import MaskBoundary, SpineStage, boundary_points, closest_point_fit, shared_stretch

__all__ = [
    "Alignment",
    "DiscStage",
    "disc_stage",
    "AlignmentConfig",
    "ImageStage",
    "MaskBoundary",
    "ProfileMatch",
    "SpineStage",
    "align_pair",
    "apply_matrix",
    "boundary_points",
    "closest_point_fit",
    "coronal_masks",
    "coronal_projection",
    "mask_iou",
    "mask_profile",
    "match_profiles",
    "shared_stretch",
    "coronal_mask_projection",
    "rigid_matrix",
    "rotation_deg",
    "save_alignment_figure",
]
