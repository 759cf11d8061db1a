"""Stage 1, image level: a rotation search with FFT cross-correlation, refined by Mattes mutual information.

Feature maps. The DXA is a bone image (soft tissue subtracted) and the MRI's coronal projection a soft-tissue
image: bones are dark or invisible in it, fat is bright, the body outline is sharp where the DXA has almost none,
and a whole-body DXA adds a head, arms and legs the MRI does not hold. Their intensities correlate poorly (on
the phantom, mutual information on the raw images drifts 5–10 mm from the truth). The one structure both show
with the same geometry is the spine, so the search and the refinement both work on the two **spine masks**, blurred into
smooth maps (a blurred mask correlates over a basin as wide as the blur instead of only where the masks
overlap exactly): the DXA mask and the coronal projection of the MRI's 3D mask (:func:`.coronal_mask_projection`).

All maps are SimpleITK images in their coronal frames (mm); matrices map the MRI coronal frame to the DXA frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import signal

from .coronal import to_array
from .profile import ProfileMatch
from .rigid import from_sitk, rigid_matrix, rotation_deg, to_sitk

__all__ = ["ImageStage", "blurred_map", "rotation_search", "refine_mutual_information"]


@dataclass(frozen=True)
class ImageStage:
    """The result of stage 1.

    Args:
        matrix_mri_to_dxa: 3×3, MRI coronal frame ``(x, z)`` mm → DXA frame mm, after the refinement and the
            shift along the spine.
        search_angle_deg: the sampled angle with the highest correlation peak, degrees.
        search_translation_mm: ``(tx, tz)`` of the search's matrix (at that angle and peak), mm.
        ncc_peak: the highest normalised cross-correlation of the blurred masks, 0–1.
        metric: the final Mattes mutual information of the refinement (negative; lower is better).
        iterations: optimiser iterations of the refinement's last level.
        along_spine: the shift along the spine that matched the masks' row profiles after the refinement
            (:func:`~.profile.match_profiles`).
    """

    matrix_mri_to_dxa: np.ndarray
    search_angle_deg: float
    search_translation_mm: tuple[float, float]
    ncc_peak: float
    metric: float
    iterations: int
    along_spine: ProfileMatch

    def to_dict(self) -> dict:
        """The ``stages.image`` entry of ``alignment.json``."""
        return {
            "rotation_deg": rotation_deg(self.matrix_mri_to_dxa),
            "translation_mm": self.matrix_mri_to_dxa[:2, 2].tolist(),
            "search_angle_deg": self.search_angle_deg,
            "search_translation_mm": list(self.search_translation_mm),
            "ncc_peak": self.ncc_peak,
            "mattes_mutual_information": self.metric,
            "iterations": self.iterations,
            "spine_shift_mm": list(self.along_spine.shift_mm),
            "profile_residual_mm": self.along_spine.residual_mm,
            "width_offset_mm": self.along_spine.width_offset_mm,
            "shared_height_mm": self.along_spine.shared_mm,
        }


def blurred_map(mask: sitk.Image, pixel_mm: float) -> sitk.Image:
    """A mask blurred (Gaussian, σ = ``pixel_mm``) and resampled on ``pixel_mm`` pixels over the same extent.

    Returns a float32 image (values 0–1) in the mask's frame.
    """
    blurred = sitk.SmoothingRecursiveGaussian(sitk.Cast(mask, sitk.sitkFloat32), pixel_mm)
    extent = (np.asarray(mask.GetSize()) - 1) * np.asarray(mask.GetSpacing())
    size = (np.floor(extent / pixel_mm + 1e-6) + 1).astype(int).tolist()
    return sitk.Resample(blurred, size, sitk.Transform(), sitk.sitkLinear, mask.GetOrigin(), (pixel_mm, pixel_mm),
                         mask.GetDirection(), 0.0, sitk.sitkFloat32)


def _correlation_peak(fixed: np.ndarray, moving: np.ndarray) -> tuple[float, np.ndarray]:
    """The highest normalised cross-correlation of two ``(W, H)`` maps over all shifts, and its shift (pixels).

    ``Σ f(i) m(i − k) / (‖m‖ ‖f‖_k)`` for every integer shift ``k``, where ``‖f‖_k`` is the norm of the fixed map
    under the moving map's box placed at ``k`` (template matching: the cosine of the angle between the moving map
    and the patch of the fixed one it covers, 1 where the patch is the moving map). The norm is the window's, not
    the whole fixed map's: with the whole map's, a shorter mask (an MRI field of view that holds half the spine)
    scores highest where the fixed mask is widest, the lumbar spine, wherever it belongs. The maps are zero
    outside the masks, so no mean is removed. Two FFT correlations; moving pixel ``i`` lies on fixed pixel
    ``i + k`` at the peak.
    """
    correlation = signal.correlate(fixed, moving, mode="full", method="fft")
    window_energy = signal.correlate(np.square(fixed), np.ones_like(moving), mode="full", method="fft")
    # FFT round-off leaves tiny values (and signs) where the window holds none of the fixed map
    floor = 1e-6 * float(np.square(fixed).sum())
    score = np.where(window_energy > floor, correlation / np.sqrt(np.maximum(window_energy, floor)), 0.0)
    score /= np.linalg.norm(moving)
    peak = np.unravel_index(np.argmax(score), score.shape)
    return float(score[peak]), np.asarray(peak) - (np.asarray(moving.shape) - 1)


def rotation_search(fixed: sitk.Image, moving: sitk.Image, angles_deg) -> tuple[np.ndarray, float, float]:
    """For each angle, the best shift by FFT cross-correlation; the angle and shift with the highest peak.

    Args:
        fixed: the DXA's blurred mask map (:func:`blurred_map`).
        moving: the MRI's blurred mask map, on the same pixel size.
        angles_deg: rotations of the MRI map to try (about its centre; +x toward +z), degrees.

    Returns:
        ``(matrix_mri_to_dxa, angle_deg, peak)``: the 3×3 map at the best angle and shift, that angle and the
        normalised correlation there.
    """
    pixel = np.asarray(moving.GetSpacing())
    centre = np.asarray(moving.TransformContinuousIndexToPhysicalPoint((np.asarray(moving.GetSize()) - 1) / 2.0))
    fixed_array = to_array(fixed)
    best = (-np.inf, 0.0, np.zeros(2))
    for angle in angles_deg:
        # the rotated map at p shows the MRI map at R⁻¹(p − c) + c: resampling's transform is that inverse
        rotated = sitk.Resample(moving, moving, sitk.Euler2DTransform(centre.tolist(), -np.deg2rad(angle)),
                                sitk.sitkLinear, 0.0)
        peak, shift = _correlation_peak(fixed_array, to_array(rotated))
        if peak > best[0]:
            best = (peak, float(angle), shift)
    peak, angle, shift = best
    translation = np.asarray(fixed.GetOrigin()) - np.asarray(moving.GetOrigin()) + shift * pixel
    return rigid_matrix(angle, translation, centre), angle, peak


def refine_mutual_information(
    fixed: sitk.Image,
    moving: sitk.Image,
    matrix_mri_to_dxa,
    bins: int = 32,
    shrink_factors=(4, 2, 1),
    smoothing_sigmas_mm=(2.0, 1.0, 0.0),
    iterations: int = 100,
    sampling: float = 0.2,
) -> tuple[np.ndarray, float, int]:
    """Refine a rigid map with SimpleITK ``ImageRegistrationMethod``: ``Euler2DTransform``, Mattes MI.

    Multi-resolution (``shrink_factors``, ``smoothing_sigmas_mm`` in mm), regular-step gradient descent with
    scales from physical shifts, a fixed random ``sampling`` share of the fixed image's pixels (seeded, so the result
    is reproducible).

    Args:
        fixed: the DXA's map (the metric's domain), float.
        moving: the MRI's map in the MRI coronal frame, float.
        matrix_mri_to_dxa: the starting 3×3 map.

    Returns:
        ``(matrix_mri_to_dxa, metric, iterations)``: the refined map, the final metric value and the last level's
        iteration count.
    """
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, 1)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0, minStep=0.01, numberOfIterations=iterations, relaxationFactor=0.5
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(shrink_factors))
    method.SetSmoothingSigmasPerLevel(list(smoothing_sigmas_mm))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    centre = fixed.TransformContinuousIndexToPhysicalPoint((np.asarray(fixed.GetSize()) - 1) / 2.0)
    transform = to_sitk(matrix_mri_to_dxa, centre)
    method.SetInitialTransform(transform, inPlace=True)
    method.Execute(sitk.Cast(fixed, sitk.sitkFloat32), sitk.Cast(moving, sitk.sitkFloat32))
    return from_sitk(transform), float(method.GetMetricValue()), int(method.GetOptimizerIteration())
