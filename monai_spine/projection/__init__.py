"""Radiograph projection: bi-planar geometries (parallel, cone-beam, slot-scan) and DRR rendering."""

from .drr import (
    AEC_QUANTA_PER_MM2,
    BONE_DENSITY_G_CM3,
    DEFAULT_STEP_VOXELS,
    aec_photons,
    ct_to_mu,
    hu_to_basis,
    mu_bone,
    mu_water,
    radiograph,
    radiograph_mask,
    render_drr,
)
from .geometry import VIEWS, ConeBeamProjection, ParallelProjection, Projection, SlotScanProjection, triangulate
