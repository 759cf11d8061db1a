"""Spine segmentation with the project's MONAI bundles (``dxa_spine_segmentation``, ``mri_spine_segmentation``,
``radiograph_spine_segmentation``, found with :func:`monai_spine.bundles.bundle_root`): input discovery and
datalists, the centre-line metric, in-process use."""

from .inputs import RADIOGRAPH_VIEWS, find_images, load_datalist, load_radiograph_datalist
from .metrics import CentreLineErrorMetric, centre_line_error_mm, mask_centre_line
from .runner import BundleSegmenter, bundle_limitation, bundle_versions, segment_dxa, segment_mri, segment_radiograph

__all__ = [
    "RADIOGRAPH_VIEWS",
    "BundleSegmenter",
    "bundle_limitation",
    "CentreLineErrorMetric",
    "bundle_versions",
    "centre_line_error_mm",
    "find_images",
    "load_datalist",
    "load_radiograph_datalist",
    "mask_centre_line",
    "segment_dxa",
    "segment_mri",
    "segment_radiograph",
]
