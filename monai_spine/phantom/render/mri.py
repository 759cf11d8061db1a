"""UK-Biobank-like two-point Dixon body MRI of a phantom, with the patient posed differently than for the DXA.

Signal model: a 3D spoiled gradient echo at 1.5 T (UK Biobank neck-to-knee protocol: TR 6.69 ms, TE 2.39 ms
opposed-phase and 4.77 ms in-phase, flip angle 10°). Each component's water and fat protons give
``PD · sin α (1 − E1) / (1 − cos α E1) · exp(−TE / T2*)`` with ``E1 = exp(−TR / T1)`` at the in-phase echo
(the T2* decay between the echoes is neglected, as the two-point reconstruction assumes); materials mix these
by volume. The echoes are ``S_ip = W + F`` and ``S_op = W − F``; the coil's sensitivity (a smooth random bias
field) and a per-study scale multiply them, complex Gaussian noise is added, and the two-point Dixon
reconstruction gives ``in_phase = |S_ip|``, ``water = |S_ip + S_op| / 2``, ``fat = |S_ip − S_op| / 2``: Rician
magnitudes with the noise correlations of real Dixon images.

Frames (all mm):

- the **phantom frame** of ``grid.py``, where the DXA was taken (the DXA image frame is this frame's ``(x, z)``
  shifted by ``DxaImage.origin_mm``);
- the **MRI patient frame**, where the patient lies in the MRI scanner: a phantom point ``p`` is first moved by the
  non-rigid ``MriPosture`` (``p' = p + u(p_z)``), then by the rigid in-plane ``MriPose`` (``q = R(p' − c) + c + t``,
  rotating ``(x, z)`` about ``y``). The MRI volume's ``Grid`` lies in this frame;
- the **MRI coronal frame** of ``docs/frames.md``: ``(x, z)`` of the MRI patient frame minus the MRI grid's
  origin (voxel index × spacing). ``MriVolumes.matrix_mri_to_dxa`` maps it to the DXA image frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from monai_spine.geometry.grid import Grid
from monai_spine.geometry.pose import UKB_SPACING_MM, MriPose, matrix_mri_to_dxa, posed_grid

from ..materials import FAT_T1_MS, MATERIALS, Tissue, check_fractions, component_values, mix
from .dxa import DxaImage

__all__ = [
    "DIXON_FLIP_DEG",
    "DIXON_TE_MS",
    "DIXON_TR_MS",
    "SNR_RANGE",
    "UKB_MATRIX",
    "UKB_SPACING_MM",
    "MriPose",
    "MriPosture",
    "MriVolumes",
    "mri_grid",
    "render_mri",
    "skip_mri_draws",
]

UKB_MATRIX = (224, 174, 370)
"""UK Biobank stitched neck-to-knee matrix (x, y, z): a 500 × 388 × 1110 mm field of view (for reference)."""

DIXON_TR_MS = 6.69
DIXON_TE_MS = {"opposed": 2.39, "in_phase": 4.77}
DIXON_FLIP_DEG = 10.0
"""UK Biobank Dixon sequence at 1.5 T (Siemens Aera): TR, the two echo times (fat and water opposed / in phase
at 1.5 T) and the flip angle."""

SNR_RANGE = (15.0, 40.0)
"""Per-study signal-to-noise ratio of lean tissue in the in-phase image, drawn uniformly when not given."""

_SIGNAL_SCALE = 1000.0
"""Adipose tissue's in-phase value at unit scale; a study's scale is this × exp(U(−0.4, 0.4))."""


@dataclass(frozen=True)
class MriPosture:
    """A non-rigid posture change of the lower spine between the DXA and the MRI, which no rigid map undoes.

    Points move in x (a coronal bend) and y (a change of lordosis) by ``u(z) = (bend_mm, lordosis_mm) · s(z)``,
    a function of height only: ``s = 0`` above ``start_z_mm``, ``((z − start) / (end − start))²`` down to
    ``end_z_mm`` (an arc of constant curvature; ``s = 1`` there) and its tangent line below, ``2t − 1``. Heights do
    not change, so the map is exactly invertible. Cross-sections shear rather than tilt (a tilt of
    ``atan(2 bend / (end − start))`` at most).

    Args:
        bend_mm: x displacement at ``end_z_mm`` (positive: toward the patient's left), mm.
        lordosis_mm: y displacement at ``end_z_mm`` (positive: anterior), mm.
        start_z_mm: phantom-frame height where the bend starts, mm.
        end_z_mm: phantom-frame height where the displacement reaches ``bend_mm`` / ``lordosis_mm``, mm.
    """

    bend_mm: float = 0.0
    lordosis_mm: float = 0.0
    start_z_mm: float = 300.0
    end_z_mm: float = 500.0

    def __post_init__(self):
        if not np.all(np.isfinite([self.bend_mm, self.lordosis_mm, self.start_z_mm, self.end_z_mm])):
            raise ValueError(f"MriPosture values must be finite, got {self}.")
        if not self.end_z_mm > self.start_z_mm:
            raise ValueError(f"end_z_mm must be greater than start_z_mm, got {self.start_z_mm}, {self.end_z_mm}.")

    @classmethod
    def sample(
        cls,
        generator: torch.Generator,
        max_bend_mm: float = 20.0,
        max_lordosis_mm: float = 10.0,
        start_z_mm: float = 300.0,
        end_z_mm: float = 500.0,
    ) -> MriPosture:
        """A uniform random posture within ``±max_bend_mm`` and ``±max_lordosis_mm``."""
        u = torch.rand(2, generator=generator, device=generator.device, dtype=torch.float64).tolist()
        bend, lordosis = max_bend_mm * (2.0 * u[0] - 1.0), max_lordosis_mm * (2.0 * u[1] - 1.0)
        return cls(bend, lordosis, float(start_z_mm), float(end_z_mm))

    def profile(self, z):
        """``s(z)`` (works on numpy arrays and torch tensors)."""
        t = (z - self.start_z_mm) / (self.end_z_mm - self.start_z_mm)
        if isinstance(t, torch.Tensor):
            t = t.clamp_min(0.0)
            return torch.where(t < 1.0, t * t, 2.0 * t - 1.0)
        t = np.maximum(t, 0.0)
        return np.where(t < 1.0, t * t, 2.0 * t - 1.0)

    def apply(self, points) -> np.ndarray:
        """``(..., 3)`` phantom-frame points → after the posture change, mm."""
        out = np.array(points, dtype=np.float64)
        s = self.profile(out[..., 2])
        out[..., 0] += self.bend_mm * s
        out[..., 1] += self.lordosis_mm * s
        return out

    def invert(self, points) -> np.ndarray:
        """Inverse of ``apply`` (exact: ``u`` depends on z only and z does not move)."""
        out = np.array(points, dtype=np.float64)
        s = self.profile(out[..., 2])
        out[..., 0] -= self.bend_mm * s
        out[..., 1] -= self.lordosis_mm * s
        return out


@dataclass(frozen=True)
class MriVolumes:
    """A rendered Dixon MRI study.

    Args:
        in_phase: ``(X', Y', Z')`` float32 in-phase magnitude image on ``grid``.
        water: ``(X', Y', Z')`` float32 Dixon water image.
        fat: ``(X', Y', Z')`` float32 Dixon fat image.
        spine_mask: ``(X', Y', Z')`` bool, the phantom's spine mask moved like the images.
        grid: the MRI voxel grid in the MRI patient frame (``LAI``; ``grid.affine_ras()`` for NIfTI).
        pose: the rigid move of the patient from the DXA (phantom frame) to the MRI.
        posture: the non-rigid posture change applied before ``pose``.
    """

    in_phase: torch.Tensor
    water: torch.Tensor
    fat: torch.Tensor
    spine_mask: torch.Tensor
    grid: Grid
    pose: MriPose
    posture: MriPosture

    def phantom_to_mri(self, points) -> np.ndarray:
        """``(..., 3)`` phantom-frame points → MRI patient frame (``grid``'s frame), mm: posture, then pose."""
        return self.pose.apply(self.posture.apply(points))

    def mri_to_phantom(self, points) -> np.ndarray:
        """``(..., 3)`` MRI patient-frame points → phantom frame, mm (exact inverse of ``phantom_to_mri``)."""
        return self.posture.invert(self.pose.invert(points))

    def matrix_mri_to_dxa(self, dxa: DxaImage) -> np.ndarray:
        """3×3 homogeneous map: MRI coronal frame ``(x, z)`` mm → ``dxa``'s image frame ``(x, z)`` mm.

        This is ``alignment.json``'s matrix: ``[[Rᵀ, Rᵀ(o_mri − c − t) + c − o_dxa], [0, 0, 1]]``
        with ``R, c, t`` of ``pose``, ``o_mri`` the MRI grid's ``(x, z)`` origin and ``o_dxa = dxa.origin_mm``; its
        rotation is ``−pose.rotation_deg``. The rigid part only: exact where the posture change is zero (above
        ``posture.start_z_mm``).
        """
        return matrix_mri_to_dxa(self.pose, (self.grid.origin[0], self.grid.origin[2]), dxa.origin_mm)


def mri_grid(grid: Grid, pose: MriPose = MriPose(), posture: MriPosture = MriPosture(), spacing=UKB_SPACING_MM) -> Grid:
    """The default MRI grid: ``spacing`` voxels covering the phantom grid's box once posed (MRI patient frame).

    UK Biobank's in-plane field of view (500 × 388 mm) holds a trunk; the phantom's box is the useful part of it.
    The box grows by the largest posture displacement on every side.
    """
    shift = max(abs(posture.bend_mm), abs(posture.lordosis_mm)) * max(1.0, float(posture.profile(grid.to_mm(
        np.asarray(grid.shape) - 1)[2])))
    return posed_grid(grid, pose, spacing, shift)


def _signal_matrix(tissue: Tissue) -> np.ndarray:
    """``(2, len(MATERIALS))``: water and fat signal per unit volume at the in-phase echo."""
    alpha = np.deg2rad(DIXON_FLIP_DEG)

    def spgr(t1_ms):
        e1 = np.exp(-DIXON_TR_MS / np.asarray(t1_ms))
        return np.sin(alpha) * (1.0 - e1) / (1.0 - np.cos(alpha) * e1)

    decay = np.exp(-DIXON_TE_MS["in_phase"] / component_values("t2star_ms"))
    water = component_values("pd_water") * spgr(component_values("t1_water_ms")) * decay
    fat = component_values("pd_fat") * spgr(FAT_T1_MS) * decay
    return np.stack([water, fat]) @ tissue.composition().T


def _warp_to_mri(volumes: torch.Tensor, grid: Grid, target: Grid, pose: MriPose, posture: MriPosture) -> torch.Tensor:
    """Values of ``(C, X, Y, Z)`` volumes on ``grid`` at the voxel centres of ``target`` → ``(C, Y', X', Z')``.

    Each target point ``q`` samples the phantom at ``p = posture.invert(pose.invert(q))``; zero outside ``grid``.
    The pose turns (x, z) and the posture depends on z only, so the sampling is separable: first along y in
    every phantom (y, z) plane (``p_y = q_y − u_y(z)`` at the phantom's z samples), then bilinear in (x, z), shared
    by every y. Trilinear interpolation, except that the lordosis shift ``u_y`` is taken at the two neighbouring
    z samples instead of between them (a difference below ``|u_y'| × dz / 2``).
    """
    c, (nx, ny, nz) = volumes.shape[0], grid.shape
    device, dtype = volumes.device, torch.float64

    def normalised(coords: torch.Tensor, dim: int) -> torch.Tensor:
        return 2.0 * (coords - grid.origin[dim]) / max((grid.shape[dim] - 1) * grid.spacing[dim], 1e-12) - 1.0

    pz_axis = grid.axis(2, device=device, dtype=dtype)
    py = target.axis(1, device=device, dtype=dtype)[:, None] - posture.lordosis_mm * posture.profile(pz_axis)[None]
    plane_grid = torch.stack([normalised(pz_axis, 2).expand_as(py), normalised(py, 1)], dim=-1)[None]
    planes = F.grid_sample(
        volumes.reshape(1, c * nx, ny, nz), plane_grid.to(volumes.dtype), padding_mode="zeros", align_corners=True
    )  # (1, C·X, Y', Z)
    planes = planes.reshape(c, nx, -1, nz).permute(0, 2, 1, 3).reshape(1, -1, nx, nz)  # (1, C·Y', X, Z)

    qx, qz = (target.axis(d, device=device, dtype=dtype) for d in (0, 2))
    qx, qz = torch.meshgrid(qx, qz, indexing="ij")
    inverse = torch.as_tensor(np.linalg.inv(pose.matrix()), dtype=dtype, device=device)
    px = inverse[0, 0] * qx + inverse[0, 1] * qz + inverse[0, 2]
    pz = inverse[1, 0] * qx + inverse[1, 1] * qz + inverse[1, 2]
    px = px - posture.bend_mm * posture.profile(pz)
    xz_grid = torch.stack([normalised(pz, 2), normalised(px, 0)], dim=-1)[None].to(volumes.dtype)
    out = F.grid_sample(planes, xz_grid, padding_mode="zeros", align_corners=True)  # (1, C·Y', X', Z')
    return out.reshape(c, target.shape[1], target.shape[0], target.shape[2])


def _bias_field(target: Grid, generator: torch.Generator, strength: float, device) -> torch.Tensor:
    """A smooth multiplicative coil-sensitivity field ``exp(quadratic polynomial)`` on ``target``, ``(Y', X', Z')``.

    Coordinates are scaled to [−1, 1] over the grid; the 9 coefficients are ``N(0, strength²)``.
    """
    a = (strength * torch.randn(9, generator=generator, device=generator.device, dtype=torch.float64)).tolist()
    x, y, z = (torch.linspace(-1.0, 1.0, n, device=device, dtype=torch.float32) for n in target.shape)
    xy = (a[0] * x + a[3] * x * x)[:, None] + (a[1] * y + a[4] * y * y)[None, :] + a[6] * x[:, None] * y[None, :]
    xz = (a[2] * z + a[5] * z * z)[None, :] + a[7] * x[:, None] * z[None, :]
    yz = a[8] * y[:, None] * z[None, :]
    return (xy.T[:, :, None] + xz[None, :, :] + yz[:, None, :]).exp_()


def render_mri(
    fractions: torch.Tensor,
    spine_mask: torch.Tensor,
    grid: Grid,
    generator: torch.Generator,
    pose: MriPose = MriPose(),
    posture: MriPosture = MriPosture(),
    target: Grid | None = None,
    snr: float | None = None,
    bias_strength: float = 0.15,
    tissue: Tissue | None = None,
) -> MriVolumes:
    """A two-point Dixon MRI (in-phase, water, fat) of the phantom, posed by ``posture`` then ``pose``.

    Args:
        fractions: ``(len(MATERIALS), X, Y, Z)`` volume fractions on ``grid`` (CPU or CUDA).
        spine_mask: ``(X, Y, Z)`` bool spine mask on ``grid``; resampled like the images (linear, ≥ 0.5).
        grid: the phantom's grid.
        generator: the source of every random draw (tissue when not given, SNR, scale, bias field, noise).
        pose: the rigid move of the patient from the DXA to the MRI.
        posture: the non-rigid posture change, applied before ``pose``.
        target: the MRI grid in the MRI patient frame; ``mri_grid(grid, pose, posture)`` when omitted.
        snr: in-phase signal-to-noise ratio of lean tissue (> 0); drawn uniformly in ``SNR_RANGE`` when omitted.
        bias_strength: standard deviation of the bias field's log-polynomial coefficients (≥ 0; 0 for none).
        tissue: the person's cancellous bone composition (marrow fat); ``Tissue.sample(generator)`` when omitted.

    Returns:
        ``MriVolumes`` on ``fractions``' device.
    """
    check_fractions(fractions, grid.shape)
    if tuple(spine_mask.shape) != tuple(grid.shape):
        raise ValueError(f"spine_mask shape {tuple(spine_mask.shape)} does not match the grid {tuple(grid.shape)}.")
    if snr is not None and not snr > 0.0:
        raise ValueError(f"snr must be > 0, got {snr}.")
    if not bias_strength >= 0.0:
        raise ValueError(f"bias_strength must be >= 0, got {bias_strength}.")
    target = target or mri_grid(grid, pose, posture)
    tissue = tissue or Tissue.sample(generator)
    u = torch.rand(2, generator=generator, device=generator.device, dtype=torch.float64).tolist()
    snr = snr if snr is not None else SNR_RANGE[0] + u[0] * (SNR_RANGE[1] - SNR_RANGE[0])

    signals = _signal_matrix(tissue)
    adipose, lean = MATERIALS.index("fat"), MATERIALS.index("muscle")
    scale = _SIGNAL_SCALE * np.exp(0.8 * u[1] - 0.4) / signals[:, adipose].sum()
    sigma = float(scale * signals[:, lean].sum() / snr)

    volumes = torch.cat([mix(fractions.float(), signals * scale), spine_mask.to(fractions.device, torch.float32)[None]])
    water, fat, mask = _warp_to_mri(volumes, grid, target, pose, posture)  # (Y', X', Z') each
    coil = _bias_field(target, generator, bias_strength, water.device)
    in_phase, opposed = (water + fat).mul_(coil), (water - fat).mul_(coil)  # fat at +1 / −1 relative to water
    shape = (4, target.shape[1], target.shape[0], target.shape[2])
    noise = torch.randn(shape, generator=generator, device=generator.device, dtype=torch.float32)
    noise = noise.to(in_phase.device).mul_(sigma)
    in_phase, opposed = in_phase.add_(noise[0]), opposed.add_(noise[2])  # real parts; imaginary: noise[1], noise[3]

    def to_xyz(volume: torch.Tensor) -> torch.Tensor:
        return volume.permute(1, 0, 2).contiguous()

    return MriVolumes(
        in_phase=to_xyz(torch.hypot(in_phase, noise[1])),
        water=to_xyz(torch.hypot(in_phase + opposed, noise[1] + noise[3]).mul_(0.5)),
        fat=to_xyz(torch.hypot(in_phase - opposed, noise[1] - noise[3]).mul_(0.5)),
        spine_mask=to_xyz(mask >= 0.5),
        grid=target,
        pose=pose,
        posture=posture,
    )


def skip_mri_draws(generator: torch.Generator, grid: Grid, pose: MriPose = MriPose(),
                   posture: MriPosture = MriPosture()) -> None:
    """Advance ``generator`` past the draws of ``render_mri(fractions, spine_mask, grid, generator, pose, posture,
    tissue=tissue)`` (SNR drawn) without rendering, so that what a study renders next is unchanged."""
    target = mri_grid(grid, pose, posture)
    torch.rand(2, generator=generator, device=generator.device, dtype=torch.float64)
    torch.randn(9, generator=generator, device=generator.device, dtype=torch.float64)
    torch.randn((4, target.shape[1], target.shape[0], target.shape[2]), generator=generator, device=generator.device,
                dtype=torch.float32)
