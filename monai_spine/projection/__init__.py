"""Radiograph projection: bi-planar geometries (parallel, cone-beam, slot-scan) and DRR rendering."""

from .drr import DEFAULT_STEP_VOXELS, ct_to_mu, mu_water, radiograph_mask, radiograph, render_drr
from .geometry import VIEWS, ConeBeamProjection, ParallelProjection, Projection, SlotScanProjection, triangulate
