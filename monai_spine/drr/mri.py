"""An MRI-like volume of a labelled CT's patient, moved in the coronal plane between the DXA and the MRI.

The CT becomes a tissue label map (:func:`~monai_spine.transforms.ct_to_tissue_labels`; the discs, soft tissue to
a CT, are the spine column's voxels outside the vertebra labels), and each contrast an image generated from the
label map with a random mean, spread and texture per tissue in that contrast's ranges (no texture field)
(:class:`~monai_spine.transforms.RandLabelToIntensity`, SynthSeg's generator; presets
:data:`~monai_spine.transforms.MRI_CONTRASTS`): in-phase (fat bright, T1-like), Dixon water (fluid and discs
bright), Dixon fat and T2-weighted. One coil sensitivity (a smooth bias field) multiplies every contrast, and each
gets Rician noise, as magnitude images have.

Frames (mm): the **DXA patient frame** is the CT's patient volume frame with the patient moved by the study's
acquisition pose; the **MRI patient frame** is that frame moved by an in-plane
:class:`~monai_spine.geometry.pose.MriPose` (the phantom's: rotation about y up to :data:`MRI_MAX_ROTATION_DEG`,
shift up to :data:`MRI_MAX_TRANSLATION_MM` in x and z), sampled on a UK-Biobank-like grid
(:data:`~monai_spine.geometry.pose.UKB_SPACING_MM`) covering the CT.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from monai.transforms import RandBiasField, RandRicianNoise

from monai_spine.geometry import Grid, curves_from_volume
from monai_spine.geometry.pose import UKB_SPACING_MM, MriPose, posed_grid, resample_rigid
from monai_spine.studies import MriPart
from monai_spine.transforms import RandLabelToIntensity, TissueLabel, ct_to_tissue_labels

__all__ = ["MRI_CONTRASTS_RENDERED", "MRI_MAX_ROTATION_DEG", "MRI_MAX_TRANSLATION_MM", "MRI_SNR", "render_mri"]

MRI_MAX_ROTATION_DEG, MRI_MAX_TRANSLATION_MM = 2.0, 20.0
"""Range of the in-plane rigid move between the DXA and the MRI (the phantom's defaults)."""

MRI_CONTRASTS_RENDERED = ("in_phase", "water", "fat", "t2")
"""The contrasts of a study, in their order of draws: the Dixon in-phase, water and fat images and a T2-weighted
image (written as ``mri_in_phase``, ``mri_water``, ``mri_fat`` and ``mri_t2``)."""

MRI_SNR = (15.0, 40.0)
"""Signal-to-noise ratio of the brightest tissue's mean (the 0–1 image scale's 1), drawn uniformly per study."""

MRI_BIAS_COEFFICIENTS = (0.0, 0.3)
"""Range of the bias field's Legendre coefficients (MONAI ``RandBiasField``, degree 3)."""

AIR_HU = -1000.0
"""CT number of air: what the MRI sees outside the CT's field."""

MRI_SPREAD = (0.0, 0.05)
"""Range of each tissue's standard deviation about its mean, on the 0–1 image scale. No smoothed texture field is
added (a full-volume field per tissue and contrast costs about 4 CPU s a study): the bundles' training transforms
add texture (:func:`~monai_spine.transforms.mri_randomisation`)."""


def _tissues(hu: torch.Tensor, column: torch.Tensor, vertebrae: torch.Tensor) -> torch.Tensor:
    """``(1, X, Y, Z)`` tissue labels: thresholds of the CT numbers, the discs from the column, and every voxel of a
    vertebra label that is not cortical bone (or metal) marrow: a lumbar body's trabecular bone lies at 100–250 HU,
    a quarter of it below the soft-tissue bound, and an MRI shows it as marrow, not as speckles of muscle."""
    tissues = ct_to_tissue_labels(hu)
    tissues[vertebrae & (tissues < int(TissueLabel.MARROW))] = int(TissueLabel.MARROW)
    tissues[column & ~vertebrae] = int(TissueLabel.DISC)
    return tissues[None]


def render_mri(
    hu: torch.Tensor,
    column: torch.Tensor,
    vertebrae: torch.Tensor,
    grid: Grid,
    rotation: np.ndarray,
    shift: np.ndarray,
    centre_xz,
    generator: torch.Generator,
) -> tuple[MriPart, MriPose]:
    """The MRI of the patient moved by the acquisition pose ``p ↦ R p + t`` then by a sampled :class:`MriPose`.

    Args:
        hu: ``(X, Y, Z)`` CT numbers, HU, on ``grid`` (the CT's patient volume frame).
        column, vertebrae: ``(X, Y, Z)`` bool spine column and vertebra labels on ``grid``.
        rotation, shift: the acquisition pose, ``(3, 3)`` and ``(3,)`` mm (CT frame → DXA patient frame).
        centre_xz: the DXA patient-frame ``(x, z)`` the MRI pose turns about, mm.
        generator: the source of every draw (pose, contrasts, bias field, noise).

    Returns:
        the MRI part (contrasts and the tissue label map they were generated from on the MRI grid, ``LAI``; its
        column mask, truth curves and centre line in the MRI volume frame; ``frame``: the pose) and the pose.
    """
    pose = MriPose.sample(generator, MRI_MAX_ROTATION_DEG, MRI_MAX_TRANSLATION_MM, centre_xz)
    draws = dict(generator=generator, device=generator.device)
    seed, snr = int(torch.randint(2**31, (1,), **draws)), torch.rand(1, **draws).item()
    target = posed_grid(grid, pose, UKB_SPACING_MM)
    mri_rotation, mri_shift = pose.rigid()
    volume = torch.stack([hu.float() - AIR_HU, column.float(), vertebrae.float()])  # outside the CT: air
    moved = resample_rigid(volume, grid, target, mri_rotation @ rotation, mri_rotation @ shift + mri_shift)
    column_mri = moved[1] >= 0.5
    tissues = _tissues(moved[0] + AIR_HU, column_mri, moved[2] >= 0.5)
    images = {}
    bias = RandBiasField(coeff_range=MRI_BIAS_COEFFICIENTS, prob=1.0).set_random_state(seed)
    bias.randomize(tissues.shape[1:])
    sigma = 1.0 / (MRI_SNR[0] + snr * (MRI_SNR[1] - MRI_SNR[0]))
    for k, contrast in enumerate(MRI_CONTRASTS_RENDERED):
        generate = RandLabelToIntensity((contrast,), std_range=MRI_SPREAD, texture_range=(0.0, 0.0))
        generate.set_random_state(seed + k)
        noise = RandRicianNoise(prob=1.0, std=sigma, sample_std=False).set_random_state(seed + k)
        images[contrast] = noise(bias(generate(tissues), randomize=False).clamp_min(0.0))[0]
    found = curves_from_volume(column_mri.cpu().numpy(), target.spacing)
    part = MriPart(
        images["in_phase"],
        images["water"],
        images["fat"],
        column_mri,
        target.affine_ras(),
        found.curves,
        found.centre_line,
        {"pose": asdict(pose)},
        {"t2": images["t2"]},
        tissues[0],
    )
    return part, pose
