"""Domain randomisation that aims at transfer from synthetic training data to real images.

Two ideas, both as MONAI transforms (array form and dictionary form, suffix ``d``/``D``/``Dict``):

- **images generated from label maps** (SynthSeg; Billot et al., Medical Image Analysis 86:102789, 2023): a tissue
  label map becomes an image with a random mean, spread and texture per tissue, so that a network cannot rely on
  one contrast (:class:`RandLabelToIntensity`, with presets for the MRI contrasts the MRI bundle must read), and
  its counterpart for acquired Dixon images, a random contrast made from the water and fat images
  (:class:`RandDixonContrast`);
- **strong randomisation of realistic X-ray images** (SyntheX; Gao et al., Nature Machine Intelligence 5:294,
  2023): scatter, quantum noise, MONOCHROME1/2 inversion, anti-scatter grid lines, collimation, burnt-in markers,
  ECG wires and buttons (:class:`RandScatter` … :class:`RandWiresAndButtons`), the arms over the spine of a
  standing lateral radiograph (:class:`RandArmsOverlay`), and fields of view from a chest image to a lumbar image
  to the whole body (:class:`RandSpineFieldOfView`).

MONAI's own randomisers (noise, blur, bias field, gamma, low resolution) are composed with these, not rewritten:
:func:`dxa_randomisation`, :func:`radiograph_randomisation` and :func:`mri_randomisation` return the
``Compose`` that the bundle trainers use. Defaults and sources: ``docs/randomisation.md``.

Images are channel-first, ``(C, W, H)`` for a 2D image (column, row; rows run toward the feet) and
``(C, X, Y, Z)`` for a volume in the patient frame (``docs/frames.md``); numpy arrays, tensors and MetaTensors are
accepted and returned as they came. Intensity transforms act on image keys only; label and mask keys are left
untouched except by :class:`RandSpineFieldOfViewd`, which changes the geometry of all its keys alike.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.networks.layers import gaussian_1d, separable_filtering
from monai.transforms import (
    Compose,
    MapTransform,
    RandAdjustContrastd,
    RandBiasFieldd,
    RandGaussianNoised,
    RandGaussianSmoothd,
    RandomizableTransform,
    RandScaleIntensityd,
    RandSimulateLowResolutiond,
    SpatialCrop,
)
from monai.utils import TransformBackends, convert_to_dst_type, convert_to_tensor, ensure_tuple
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

__all__ = [
    "DIXON_CONTRASTS",
    "FOV_PRESETS",
    "HU_THRESHOLDS",
    "MRI_CONTRASTS",
    "DixonContrast",
    "FieldOfView",
    "RandArmsOverlay",
    "RandArmsOverlayD",
    "RandArmsOverlayDict",
    "RandArmsOverlayd",
    "RandBowelGas",
    "RandBowelGasD",
    "RandBowelGasDict",
    "RandBowelGasd",
    "RandCollimation",
    "RandCollimationD",
    "RandCollimationDict",
    "RandCollimationd",
    "RandDixonContrast",
    "RandDixonContrastD",
    "RandDixonContrastDict",
    "RandDixonContrastd",
    "RandGridLines",
    "RandGridLinesD",
    "RandGridLinesDict",
    "RandGridLinesd",
    "RandIntensityLookup",
    "RandIntensityLookupD",
    "RandIntensityLookupDict",
    "RandIntensityLookupd",
    "RandInvert",
    "RandInvertD",
    "RandInvertDict",
    "RandInvertd",
    "RandLabelToIntensity",
    "RandLabelToIntensityD",
    "RandLabelToIntensityDict",
    "RandLabelToIntensityd",
    "RandMarkers",
    "RandMarkersD",
    "RandMarkersDict",
    "RandMarkersd",
    "RandQuantumNoise",
    "RandQuantumNoiseD",
    "RandQuantumNoiseDict",
    "RandQuantumNoised",
    "RandFlattenLowFrequency",
    "RandFlattenLowFrequencyD",
    "RandFlattenLowFrequencyDict",
    "RandFlattenLowFrequencyd",
    "RandScatter",
    "RandScatterD",
    "RandScatterDict",
    "RandScatterd",
    "RandSpineFieldOfView",
    "RandSpineFieldOfViewD",
    "RandSpineFieldOfViewDict",
    "RandSpineFieldOfViewd",
    "RandWiresAndButtons",
    "RandWiresAndButtonsD",
    "RandWiresAndButtonsDict",
    "RandWiresAndButtonsd",
    "TissueLabel",
    "ct_to_tissue_labels",
    "dxa_randomisation",
    "mri_randomisation",
    "radiograph_randomisation",
]


class TissueLabel(IntEnum):
    """Tissue classes of a label map from which images are generated (the convention of this project).

    ``ORGAN`` (parenchymal organs) and ``DISC`` (intervertebral discs) have CT numbers inside the soft-tissue range,
    so :func:`ct_to_tissue_labels` never gives them: they are painted from a segmentation when one exists (a phantom's
    materials, TotalSegmentator organs, the spine mask minus the vertebra labels for discs).
    """

    BACKGROUND = 0  #: air outside the body and gas inside it
    LUNG = 1  #: aerated lung parenchyma
    FAT = 2  #: subcutaneous and visceral adipose tissue
    SOFT_TISSUE = 3  #: muscle and other lean soft tissue
    ORGAN = 4  #: parenchymal organs (liver, spleen, kidneys)
    FLUID = 5  #: water-like fluid: CSF, urine, bile, bowel content
    DISC = 6  #: intervertebral discs
    MARROW = 7  #: trabecular bone with its marrow
    CORTICAL = 8  #: cortical bone
    METAL = 9  #: implants, rods and screws


HU_THRESHOLDS: tuple[tuple[float, TissueLabel], ...] = (
    (-900.0, TissueLabel.BACKGROUND),
    (-200.0, TissueLabel.LUNG),
    (-30.0, TissueLabel.FAT),
    (20.0, TissueLabel.FLUID),
    (120.0, TissueLabel.SOFT_TISSUE),
    (400.0, TissueLabel.MARROW),
    (2500.0, TissueLabel.CORTICAL),
    (float("inf"), TissueLabel.METAL),
)
"""``(upper bound HU, tissue)`` in increasing order: a voxel takes the first tissue whose bound exceeds its CT number.

Air is −1000 HU and aerated lung −900 to −500 (partial volume up to −200); adipose tissue −190 to −30 (the usual
fat window); water-like fluid −30 to 20 (CSF, urine ~0–15); lean soft tissue 20 to 120 (muscle ~40–60, liver ~60,
disc ~80–100); trabecular bone with marrow 120 to 400 (~150–300 healthy; osteoporotic bone below 120 is read as
soft tissue); cortical bone 400 to 2500 (~1000–1900 unblurred); metal above 2500 (titanium ≳ 3000, often clipped at
3071). Partial volume at the skin and around the lungs gives thin rings of the tissue in between."""


def ct_to_tissue_labels(
    hu: NdarrayOrTensor, thresholds: Sequence[tuple[float, int]] = HU_THRESHOLDS
) -> NdarrayOrTensor:
    """Tissue labels (:class:`TissueLabel`) from CT numbers by thresholds, so that a CT can become an MRI-like volume.

    Args:
        hu: CT numbers, HU, any shape (e.g. ``(1, X, Y, Z)``), numpy or torch.
        thresholds: ``(upper bound HU, label)`` in increasing order of bounds, the last bound ``inf``;
            default :data:`HU_THRESHOLDS`.

    Returns:
        labels of ``hu``'s shape and array type, ``uint8`` (numpy) or ``torch.uint8``; meta kept for a MetaTensor.
    """
    bounds = np.array([bound for bound, _ in thresholds], dtype=np.float64)
    if np.any(np.diff(bounds) <= 0) or bounds[-1] != np.inf:
        raise ValueError("thresholds must have increasing upper bounds ending with inf.")
    values = np.array([int(label) for _, label in thresholds], dtype=np.uint8)
    hu_np = np.asarray(convert_to_tensor(hu, track_meta=False).cpu().numpy(), dtype=np.float64)
    labels = values[np.searchsorted(bounds, hu_np, side="right")]
    return convert_to_dst_type(labels, hu, dtype=torch.uint8 if isinstance(hu, torch.Tensor) else np.uint8)[0]


_MRI_TISSUES = (
    TissueLabel.BACKGROUND,
    TissueLabel.LUNG,
    TissueLabel.FAT,
    TissueLabel.SOFT_TISSUE,
    TissueLabel.ORGAN,
    TissueLabel.FLUID,
    TissueLabel.DISC,
    TissueLabel.MARROW,
    TissueLabel.CORTICAL,
    TissueLabel.METAL,
)


def _contrast(*ranges: tuple[float, float]) -> dict[TissueLabel, tuple[float, float]]:
    """A contrast preset from one ``(low, high)`` mean range per tissue, in the order of ``_MRI_TISSUES``."""
    return dict(zip(_MRI_TISSUES, ranges, strict=True))


MRI_CONTRASTS: dict[str, dict[TissueLabel, tuple[float, float]]] = {
    # background, lung, fat, soft tissue, organ, fluid, disc, marrow, cortical, metal
    "in_phase": _contrast(
        (0, 0.03),
        (0, 0.08),
        (0.75, 1),
        (0.25, 0.4),
        (0.35, 0.5),
        (0.1, 0.22),
        (0.25, 0.4),
        (0.5, 0.75),
        (0, 0.08),
        (0, 0.03),
    ),
    "opposed_phase": _contrast(
        (0, 0.03),
        (0, 0.08),
        (0.6, 0.9),
        (0.2, 0.35),
        (0.3, 0.45),
        (0.1, 0.22),
        (0.25, 0.4),
        (0.05, 0.2),
        (0, 0.08),
        (0, 0.03),
    ),
    "water": _contrast(
        (0, 0.03),
        (0, 0.08),
        (0.02, 0.12),
        (0.3, 0.45),
        (0.45, 0.6),
        (0.75, 1),
        (0.6, 0.85),
        (0.15, 0.3),
        (0, 0.08),
        (0, 0.03),
    ),
    "fat": _contrast(
        (0, 0.03),
        (0, 0.03),
        (0.8, 1),
        (0.02, 0.1),
        (0.02, 0.12),
        (0, 0.04),
        (0, 0.05),
        (0.4, 0.7),
        (0, 0.05),
        (0, 0.03),
    ),
    "t1": _contrast(
        (0, 0.03),
        (0, 0.08),
        (0.8, 1),
        (0.3, 0.4),
        (0.4, 0.55),
        (0.05, 0.18),
        (0.3, 0.45),
        (0.6, 0.8),
        (0, 0.08),
        (0, 0.03),
    ),
    "t2": _contrast(
        (0, 0.03),
        (0, 0.08),
        (0.6, 0.8),
        (0.12, 0.25),
        (0.3, 0.45),
        (0.85, 1),
        (0.5, 0.8),
        (0.35, 0.55),
        (0, 0.06),
        (0, 0.03),
    ),
}
"""Mean-intensity ranges per tissue (image scale 0–1) of the MRI contrasts: in-phase and opposed-phase gradient echo
(fat bright; opposed phase darkens voxels that mix fat and water, marrow most), the water and fat Dixon images
(fluid, discs and organs bright in water; fat and fatty marrow bright in fat), T1-weighted spin echo (fat and
marrow bright, CSF dark) and T2-weighted fast spin echo (CSF and healthy discs brightest, fat bright, muscle dark).
Cortical bone, air and metal give no signal in all. The ranges of fat and fluid do not overlap in any preset,
so fat is always brighter than fluid where the table says so (``docs/randomisation.md``)."""


def _spacing(img: NdarrayOrTensor, default: float | Sequence[float]) -> np.ndarray:
    """Voxel spacing ``(n_spatial,)`` mm: from a MetaTensor's affine, else ``default``."""
    n_spatial = img.ndim - 1
    if isinstance(img, MetaTensor):
        return np.asarray(affine_to_spacing(img.affine, r=n_spatial), dtype=np.float64)
    return np.broadcast_to(np.asarray(default, dtype=np.float64), (n_spatial,)).copy()


def _value_range(img: torch.Tensor) -> tuple[float, float]:
    """The image's minimum and maximum (all channels)."""
    return float(img.min()), float(img.max())


def _blur(img: torch.Tensor, sigma_px: Sequence[float]) -> torch.Tensor:
    """Gaussian blur of ``img`` ``(C, *spatial)``, one sigma (pixels) per spatial axis, edges replicated (the mean is
    kept, unlike zero padding)."""
    kernels = [gaussian_1d(torch.tensor(float(s)), truncated=4.0, normalize=True).to(img) for s in sigma_px]
    return separable_filtering(img[None], kernels, mode="replicate")[0]


def _check_2d(img: NdarrayOrTensor, name: str) -> None:
    if img.ndim != 3:
        raise ValueError(f"{name} takes a 2D image (C, W, H), got shape {tuple(img.shape)}.")


def _mask_like(mask: np.ndarray, img: torch.Tensor) -> torch.Tensor:
    """A 2D numpy mask ``(W, H)`` as a bool tensor ``(1, W, H)`` on ``img``'s device."""
    return torch.as_tensor(mask, device=img.device)[None]


class _RandImaged(RandomizableTransform, MapTransform):
    """Dictionary form of an image-level random transform: one draw per call, applied alike to every key.

    Subclasses set ``array_class``; the keyword arguments besides ``keys``, ``prob`` and ``allow_missing_keys`` are
    those of the array transform. Keys not listed (masks, labels) are left untouched.
    """

    array_class: type[RandomizableTransform]

    def __init__(self, keys: KeysCollection, prob: float = 0.1, allow_missing_keys: bool = False, **kwargs) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.transform = self.array_class(**kwargs)
        self.transform.prob = 1.0
        self.output_keys = self.keys  # where each key's result goes
        self.backend = self.transform.backend

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.transform.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        self.randomize(None)
        if not self._do_transform:
            return d
        first = self.first_key(d)
        if first == ():
            return d
        self._draw(d, first)
        for key, output in self.key_iterator(d, self.output_keys):
            d[output] = self.transform(d[key], randomize=False)
        return d

    def _draw(self, d: Mapping[Hashable, NdarrayOrTensor], first: Hashable) -> None:
        """Draw this call's parameters of the array transform, from the first present key's image."""
        self.transform.randomize(d[first])


class _RandImage(RandomizableTransform):
    """Base of the image-level array transforms: ``randomize(img)`` draws, ``__call__`` applies ``_apply``."""

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def randomize(self, img: NdarrayOrTensor) -> None:
        super().randomize(None)
        if self._do_transform:
            self._draw(img)

    def _draw(self, img: NdarrayOrTensor) -> None:
        raise NotImplementedError

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, img: NdarrayOrTensor, randomize: bool = True) -> NdarrayOrTensor:
        """Apply to ``img`` ``(C, *spatial)``; ``randomize=False`` reuses the last draw (same image size)."""
        if randomize:
            self.randomize(img)
        if not self._do_transform:
            return img
        tensor = convert_to_tensor(img, track_meta=False, dtype=torch.float32)
        out = self._apply(tensor)
        return convert_to_dst_type(out, img, dtype=out.dtype)[0]


class RandLabelToIntensity(_RandImage):
    """A tissue label map → an image with a random mean, spread and texture per label (SynthSeg's generator).

    Each label value ``l`` present gets a mean ``m_l`` (from the chosen contrast's range for that tissue, or
    uniform in ``mean_range``), a standard deviation ``s_l`` uniform in ``std_range`` and a texture amplitude ``t_l``
    uniform in ``texture_range``; voxel ``v`` of label ``l`` becomes ``m_l + s_l · n(v) + t_l · f(v)``, with ``n``
    white Gaussian noise and ``f`` Gaussian-smoothed noise of unit standard deviation (correlation length
    ``texture_sigma_voxels``), one field for every label: the labels cover disjoint voxels, so each still gets its own
    texture, and one blur instead of one per label makes a draw about six times cheaper (a 320 × 224 × 3 crop of ten
    tissues: 0.67 → 0.11 CPU s on one thread). So with ``std_range = texture_range = (0, 0)`` every label is one
    constant.
    Blur, bias field, noise and gamma follow as MONAI's ``RandGaussianSmooth``, ``RandBiasField``,
    ``RandGaussianNoise`` and ``RandAdjustContrast`` (:func:`mri_randomisation`).

    Args:
        contrasts: names in :data:`MRI_CONTRASTS`, one chosen uniformly per draw; ``None`` draws every mean uniformly
            in ``mean_range`` (SynthSeg's fully random contrast). Labels absent from a preset take ``mean_range``.
        mean_range: range of the means of labels without a preset (image scale, 0–1 by default).
        std_range: range of the per-label standard deviations (same scale).
        texture_range: range of the per-label texture amplitudes (same scale).
        texture_sigma_voxels: range of the texture's Gaussian smoothing sigma, voxels.

    Input: labels ``(1, *spatial)`` (integer values); output: float32 image of the same shape and type (a
    MetaTensor keeps the labels' meta and affine).
    """

    def __init__(
        self,
        contrasts: Sequence[str] | None = tuple(MRI_CONTRASTS),
        mean_range: tuple[float, float] = (0.0, 1.0),
        std_range: tuple[float, float] = (0.0, 0.05),
        texture_range: tuple[float, float] = (0.0, 0.08),
        texture_sigma_voxels: tuple[float, float] = (0.5, 2.0),
    ) -> None:
        super().__init__(prob=1.0)
        unknown = set(contrasts or ()) - set(MRI_CONTRASTS)
        if unknown or (contrasts is not None and not contrasts):
            raise ValueError(
                f"contrasts must be a non-empty subset of {sorted(MRI_CONTRASTS)} or None, got {contrasts}."
            )
        self.contrasts = None if contrasts is None else tuple(contrasts)
        self.mean_range, self.std_range, self.texture_range = mean_range, std_range, texture_range
        self.texture_sigma_voxels = texture_sigma_voxels
        self.contrast: str | None = None
        self.parameters: dict[int, tuple[float, float, float]] = {}

    def _draw(self, labels: NdarrayOrTensor) -> None:
        values = torch.unique(convert_to_tensor(labels, track_meta=False)).tolist()
        self.contrast = None if self.contrasts is None else self.contrasts[self.R.randint(len(self.contrasts))]
        preset = MRI_CONTRASTS.get(self.contrast, {})
        self.parameters = {
            int(v): (
                self.R.uniform(*preset.get(int(v), self.mean_range)),
                self.R.uniform(*self.std_range),
                self.R.uniform(*self.texture_range),
            )
            for v in values
        }
        self.sigma = self.R.uniform(*self.texture_sigma_voxels)
        self.seed = self.R.randint(2**31)

    def _apply(self, labels: torch.Tensor) -> torch.Tensor:
        if labels.shape[0] != 1:
            raise ValueError(f"RandLabelToIntensity takes a one-channel label map, got shape {tuple(labels.shape)}.")
        rng = np.random.default_rng(self.seed)
        image = torch.zeros_like(labels, dtype=torch.float32)
        field = None
        for value, (mean, std, texture) in self.parameters.items():
            inside = labels == value
            if not inside.any():
                continue
            voxels = mean + std * torch.as_tensor(rng.standard_normal(int(inside.sum())), dtype=torch.float32)
            if texture > 0:
                field = self._texture_field(rng, labels.shape) if field is None else field
                voxels = voxels + texture * field[inside.cpu()]
            image[inside] = voxels.to(image.device)
        return image

    def _texture_field(self, rng: np.random.Generator, shape) -> torch.Tensor:
        """White noise of ``shape`` ``(1, *spatial)`` smoothed by the drawn sigma, scaled to unit standard deviation."""
        field = _blur(torch.as_tensor(rng.standard_normal(shape), dtype=torch.float32), [self.sigma] * (len(shape) - 1))
        return field / field.std().clamp(min=1e-6)


@dataclass(frozen=True)
class DixonContrast:
    """A contrast made from two-point Dixon water ``W`` and fat ``F`` images (same scanner scale):
    ``|water_weight · W · (W / W₉₉.₅)^(water_power − 1) + fat_weight · F|``, ``W₉₉.₅`` the water image's 99.5th
    percentile. Magnitude images, hence the absolute value.

    Args:
        water_weight: weight of the water term (signed).
        fat_weight: weight of the fat term (signed).
        water_power: power of the normalised water signal; above 1 it darkens intermediate water signal (muscle)
            relative to the brightest (fluid, discs), as T2 weighting does.
    """

    water_weight: float
    fat_weight: float
    water_power: float = 1.0


DIXON_CONTRASTS: dict[str, DixonContrast] = {
    "in_phase": DixonContrast(1.0, 1.0),
    "opposed_phase": DixonContrast(1.0, -1.0),
    "water": DixonContrast(1.0, 0.0),
    "fat": DixonContrast(0.0, 1.0),
    "t2_like": DixonContrast(1.0, 0.6, 2.0),
}
"""Contrasts synthesised from the Dixon water and fat images: in-phase ``W + F``, opposed-phase ``|W − F|`` (voxels
mixing fat and water, fatty marrow most, go dark), water only, fat only, and a T2-like one (fluid and discs
brightest, fat bright, muscle dark). :class:`RandDixonContrast` jitters the weights, and MONAI's
``RandHistogramShift`` after it remaps intensities non-linearly (``docs/randomisation.md``)."""


class RandDixonContrast(RandomizableTransform):
    """A random MRI contrast synthesised from the Dixon water and fat images of one acquisition.

    Per draw a contrast is chosen uniformly from ``contrasts`` (:data:`DIXON_CONTRASTS`) and each of its two weights
    is multiplied by a factor uniform in ``1 ± weight_jitter`` (signs kept); the image is
    ``|a · W · (W / W₉₉.₅)^(p − 1) + b · F|`` (:class:`DixonContrast`). So one network sees in-phase,
    opposed-phase, water, fat and T2-like images of every training volume, while the phantom writes only the
    three Dixon images. ``W`` and ``F`` must share the scanner's scale (the phantom's do: ``in_phase = W + F``).

    Args:
        contrasts: names in :data:`DIXON_CONTRASTS` to draw from.
        weight_jitter: relative jitter of the weights, in [0, 1).

    Call ``t(water, fat)`` with two images ``(1, *spatial)`` of one shape; the result is float32 of that shape and
    of ``water``'s array type (a MetaTensor keeps ``water``'s meta and affine).
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(self, contrasts: Sequence[str] = tuple(DIXON_CONTRASTS), weight_jitter: float = 0.2) -> None:
        super().__init__(prob=1.0)
        if not contrasts or set(contrasts) - set(DIXON_CONTRASTS):
            raise ValueError(f"contrasts must be a non-empty subset of {sorted(DIXON_CONTRASTS)}, got {contrasts}.")
        if not 0.0 <= weight_jitter < 1.0:
            raise ValueError(f"weight_jitter must be in [0, 1), got {weight_jitter}.")
        self.contrasts, self.weight_jitter = tuple(contrasts), weight_jitter
        self.contrast = self.contrasts[0]
        self.weights = (1.0, 1.0)

    def randomize(self, data=None) -> None:
        super().randomize(None)
        self.contrast = self.contrasts[self.R.randint(len(self.contrasts))]
        preset = DIXON_CONTRASTS[self.contrast]
        jitter = self.R.uniform(1.0 - self.weight_jitter, 1.0 + self.weight_jitter, size=2)
        self.weights = (preset.water_weight * jitter[0], preset.fat_weight * jitter[1])

    def __call__(self, water: NdarrayOrTensor, fat: NdarrayOrTensor, randomize: bool = True) -> NdarrayOrTensor:
        """The synthesised image; ``randomize=False`` reuses the last draw."""
        if water.shape != fat.shape:
            raise ValueError(f"water {tuple(water.shape)} and fat {tuple(fat.shape)} images differ in shape.")
        if randomize:
            self.randomize()
        w, f = (convert_to_tensor(x, track_meta=False, dtype=torch.float32) for x in (water, fat))
        power = DIXON_CONTRASTS[self.contrast].water_power
        if power != 1.0:
            flat = w.flatten()
            reference = flat.kthvalue(max(1, int(round(0.995 * flat.numel())))).values.clamp(min=1e-6)
            w = w * (w / reference).clamp(min=0.0) ** (power - 1.0)
        out = (self.weights[0] * w + self.weights[1] * f).abs()
        dtype = torch.float32 if isinstance(water, torch.Tensor) else np.float32
        return convert_to_dst_type(out, water, dtype=dtype)[0]


class RandIntensityLookup(_RandImage):
    """A random, non-monotonic intensity look-up table: tissues swap brightness as they do between MRI contrasts.

    The image's value range is split into ``n - 1`` equal steps by ``n`` knots (``n`` uniform in ``knots_range``);
    each knot takes a value uniform in [0, 1], and every voxel is mapped by linear interpolation between its two
    knots. Voxels of one tissue keep sharing a value (up to their spread), while the order of tissues is random: the
    acquired-image counterpart of SynthSeg's random mean per label (:class:`RandLabelToIntensity`), for images with
    no label map. MONAI's ``RandHistogramShift`` keeps the order of intensities; this one does not.

    Args:
        knots_range: smallest and largest number of knots (at least 2).
        prob: probability of applying.

    Input: ``(C, *spatial)``; output: float32 in [0, 1], same shape and array type.
    """

    def __init__(self, knots_range: tuple[int, int] = (3, 8), prob: float = 0.1) -> None:
        super().__init__(prob)
        if not 2 <= knots_range[0] <= knots_range[1]:
            raise ValueError(f"knots_range must be (low, high) with 2 <= low <= high, got {knots_range}.")
        self.knots_range = knots_range
        self.knots = np.array([0.0, 1.0])

    def _draw(self, img: NdarrayOrTensor) -> None:
        self.knots = self.R.uniform(0.0, 1.0, size=self.R.randint(self.knots_range[0], self.knots_range[1] + 1))

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        position = ((img - low) / max(high - low, 1e-12)).clamp(0.0, 1.0) * (len(self.knots) - 1)
        below = position.floor().clamp(max=len(self.knots) - 2)
        knots = torch.as_tensor(self.knots, dtype=torch.float32, device=img.device)
        index = below.long()
        start, end = knots[index], knots[index + 1]
        return start + (position - below) * (end - start)


class RandScatter(_RandImage):
    """Scatter-like veil: a fraction of the signal replaced by its low-frequency version.

    ``out = (1 − f) · img + f · G_σ(img)``, ``G_σ`` a Gaussian blur of standard deviation ``σ`` mm and ``f`` the
    scatter fraction of the detected signal, so the mean is kept and the contrast of small structures drops as it does
    behind a patient without (or with a poor) anti-scatter grid (scatter-to-primary ratios 0.3–5 in a trunk).

    Args:
        fraction_range: range of ``f``.
        sigma_mm_range: range of ``σ``, mm (scatter kernels are wide: tens of mm at the detector).
        pixel_mm: pixel spacing for non-MetaTensor inputs, mm (a MetaTensor's affine is used otherwise).
        prob: probability of applying.
    """

    def __init__(self, fraction_range=(0.1, 0.5), sigma_mm_range=(20.0, 60.0), pixel_mm: float = 1.0, prob=0.1) -> None:
        super().__init__(prob)
        self.fraction_range, self.sigma_mm_range, self.pixel_mm = fraction_range, sigma_mm_range, pixel_mm

    def _draw(self, img: NdarrayOrTensor) -> None:
        self.fraction = self.R.uniform(*self.fraction_range)
        self.sigma_px = self.R.uniform(*self.sigma_mm_range) / _spacing(img, self.pixel_mm)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        return (1.0 - self.fraction) * img + self.fraction * _blur(img, self.sigma_px)


class RandFlattenLowFrequency(_RandImage):
    """A share of the image's large-scale variation removed, so that small structures carry the contrast.

    ``out = img − b · (G_σ(img) − mean(G_σ(img)))``, ``G_σ`` a Gaussian blur of standard deviation ``σ`` mm and
    ``b`` the share removed: the mean and the detail's amplitude are kept while the body's thickness, the organs and
    a column that is brighter than its surroundings as a whole lose up to ``b`` of their contrast. In a render of a
    real abdominal CT the lumbar column is no brighter over 20–40 mm than the tissue beside it and shows as its
    vertebral bodies' and discs' texture only; a network trained on phantom views that finds their column from its
    large-scale brightness loses it there (``docs/randomisation.md``).

    Args:
        share_range: range of ``b``, 0 (no change) to 1 (the large scale removed).
        sigma_mm_range: range of ``σ``, mm.
        pixel_mm: pixel spacing for non-MetaTensor inputs, mm (a MetaTensor's affine is used otherwise).
        prob: probability of applying.
    """

    def __init__(self, share_range=(0.3, 0.9), sigma_mm_range=(15.0, 50.0), pixel_mm: float = 1.0,
                 prob: float = 0.1) -> None:
        super().__init__(prob)
        self.share_range, self.sigma_mm_range, self.pixel_mm = share_range, sigma_mm_range, pixel_mm

    def _draw(self, img: NdarrayOrTensor) -> None:
        self.share = self.R.uniform(*self.share_range)
        self.sigma_px = self.R.uniform(*self.sigma_mm_range) / _spacing(img, self.pixel_mm)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low = _blur(img, self.sigma_px)
        return img - self.share * (low - low.mean())


class RandQuantumNoise(_RandImage):
    """Quantum (Poisson) noise whose variance grows with the signal.

    The intensity, normalised to ``x = (img − min) / (max − min)`` in [0, 1], is taken as ``N₀ · x`` counts drawn
    from a Poisson law: ``out = min + (max − min) · Poisson(N₀ x) / N₀``. The relative noise at the brightest pixel
    is ``1/√N₀`` (about 14 % at ``N₀ = 50``, 2 % at 2500); its variance is proportional to the intensity.

    Args:
        photons_range: range of ``N₀``, counts per unit of normalised intensity, drawn log-uniformly.
        prob: probability of applying.
    """

    def __init__(self, photons_range=(50.0, 2500.0), prob: float = 0.1) -> None:
        super().__init__(prob)
        self.photons_range = photons_range

    def _draw(self, img: NdarrayOrTensor) -> None:
        self.photons = float(np.exp(self.R.uniform(*np.log(self.photons_range))))
        self.seed = self.R.randint(2**31)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        if high <= low:
            return img
        expected = ((img - low) / (high - low) * self.photons).cpu().numpy()
        counts = np.random.default_rng(self.seed).poisson(expected).astype(np.float32)
        return low + (high - low) * torch.as_tensor(counts, device=img.device) / self.photons


class RandInvert(_RandImage):
    """MONOCHROME1 ↔ MONOCHROME2: ``out = max + min − img``, so the range is kept and two inversions are identity.

    Args:
        prob: probability of inverting.
    """

    def _draw(self, img: NdarrayOrTensor) -> None:
        pass

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        return (high + low) - img


class RandGridLines(_RandImage):
    """Anti-scatter grid lines: fine periodic stripes added to a 2D image.

    ``out = img + a · (max − min) · cos(2π (u cos θ + v sin θ) / T + φ)`` with ``u, v`` the column and row indices.
    A grid of 4–8 lines/mm is finer than most detectors, so what is seen is its alias, a few pixels per period;
    ``T`` is therefore in pixels. ``θ = 0`` gives stripes that vary along columns (vertical lines).

    Args:
        period_px_range: range of the period ``T``, pixels (≥ 2).
        angles_deg: orientations ``θ`` to choose from, degrees (grid lines run along or across the table).
        angle_jitter_deg: uniform jitter added to the chosen orientation, degrees.
        amplitude_range: range of ``a``, a fraction of the image's range.
        prob: probability of applying.
    """

    def __init__(
        self,
        period_px_range=(2.5, 8.0),
        angles_deg=(0.0, 90.0),
        angle_jitter_deg: float = 2.0,
        amplitude_range=(0.01, 0.05),
        prob: float = 0.1,
    ) -> None:
        super().__init__(prob)
        if min(period_px_range) < 2.0:
            raise ValueError(f"grid periods must be at least 2 pixels (Nyquist), got {period_px_range}.")
        self.period_px_range, self.angles_deg, self.angle_jitter_deg = period_px_range, angles_deg, angle_jitter_deg
        self.amplitude_range = amplitude_range

    def _draw(self, img: NdarrayOrTensor) -> None:
        _check_2d(img, "RandGridLines")
        self.period = self.R.uniform(*self.period_px_range)
        angle = self.angles_deg[self.R.randint(len(self.angles_deg))] + self.R.uniform(-1, 1) * self.angle_jitter_deg
        self.angle = np.deg2rad(angle)
        self.amplitude = self.R.uniform(*self.amplitude_range)
        self.phase = self.R.uniform(0.0, 2 * np.pi)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        u, v = (torch.arange(n, dtype=torch.float64, device=img.device) for n in img.shape[1:])
        position = u[:, None] * np.cos(self.angle) + v[None, :] * np.sin(self.angle)
        stripes = torch.cos(2 * np.pi * position / self.period + self.phase).to(img.dtype)
        low, high = _value_range(img)
        return img + self.amplitude * (high - low) * stripes[None]


class RandCollimation(_RandImage):
    """Collimator shutters: straight, possibly rotated edges beyond which the image is one constant.

    Each side (first and last column, first and last row) is shuttered with probability ``side_prob``, to a depth
    uniform in ``depth_range`` (a fraction of the image's size across that side) and tilted by an angle uniform in
    ``±max_angle_deg``. The shuttered pixels take the image's minimum or maximum (chosen per draw): unexposed film is
    bright in a log (attenuation) image and dark after inversion.

    Args:
        side_prob: probability of each side being shuttered (at least one side is, when the transform applies).
        depth_range: range of the shutter depth, fraction of the image size.
        max_angle_deg: largest tilt of a shutter edge, degrees.
        prob: probability of applying.
    """

    def __init__(
        self, side_prob: float = 0.5, depth_range=(0.02, 0.2), max_angle_deg: float = 5.0, prob: float = 0.1
    ) -> None:
        super().__init__(prob)
        self.side_prob, self.depth_range, self.max_angle_deg = side_prob, depth_range, max_angle_deg

    def _draw(self, img: NdarrayOrTensor) -> None:
        _check_2d(img, "RandCollimation")
        width, height = img.shape[1:]
        u, v = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
        sides = self.R.uniform(size=4) < self.side_prob
        sides[self.R.randint(4)] = True
        self.shutter = np.zeros((width, height), dtype=bool)
        # (inward normal, edge point at depth 0) of the sides: first column, last column, first row, last row
        edges = (
            ((1, 0), (0, 0), width),
            ((-1, 0), (width - 1, 0), width),
            ((0, 1), (0, 0), height),
            ((0, -1), (0, height - 1), height),
        )
        for shuttered, (normal, corner, size) in zip(sides, edges):
            depth, tilt = (
                self.R.uniform(*self.depth_range) * size,
                np.deg2rad(self.R.uniform(-1, 1) * self.max_angle_deg),
            )
            if not shuttered:
                continue
            n = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]]) @ np.asarray(normal, float)
            centre = np.array([width / 2, height / 2]) * (1 - np.abs(normal)) + np.asarray(corner) * np.abs(normal)
            point = centre + depth * np.asarray(normal, float)
            self.shutter |= (u - point[0]) * n[0] + (v - point[1]) * n[1] < 0
        self.bright = bool(self.R.uniform() < 0.5)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        return torch.where(_mask_like(self.shutter, img), high if self.bright else low, img)


class RandMarkers(_RandImage):
    """Burnt-in markers: small bright filled rectangles (lead markers) and text blocks (side letters, labels).

    Each marker replaces its pixels by ``min + b · (max − min)``, ``b`` uniform in ``brightness_range``. Text is drawn
    with Pillow's default bitmap font, scaled to a height uniform in ``size_px_range``.

    Args:
        count_range: inclusive range of the number of markers.
        size_px_range: range of a marker's height (and of a rectangle's width), pixels.
        texts: strings a text marker is drawn from.
        text_prob: probability of a marker being text rather than a rectangle.
        brightness_range: range of ``b``.
        prob: probability of applying.
    """

    def __init__(
        self,
        count_range=(1, 3),
        size_px_range=(8, 30),
        texts=("L", "R", "AP", "PA", "ERECT", "SUPINE"),
        text_prob: float = 0.6,
        brightness_range=(0.85, 1.0),
        prob: float = 0.1,
    ) -> None:
        super().__init__(prob)
        self.count_range, self.size_px_range, self.texts = count_range, size_px_range, texts
        self.text_prob, self.brightness_range = text_prob, brightness_range

    def _glyph(self, text: str, height: int) -> np.ndarray:
        """``text`` rendered as a bool mask ``(w, height)`` (column, row)."""
        font = ImageFont.load_default(size=max(height, 6))
        left, top, right, bottom = font.getbbox(text)
        canvas = Image.new("1", (max(right - left, 1), max(bottom - top, 1)))
        ImageDraw.Draw(canvas).text((-left, -top), text, fill=1, font=font)
        return np.asarray(canvas, dtype=bool).T

    def _draw(self, img: NdarrayOrTensor) -> None:
        _check_2d(img, "RandMarkers")
        width, height = img.shape[1:]
        self.marks = np.zeros((width, height), dtype=bool)
        for _ in range(self.R.randint(self.count_range[0], self.count_range[1] + 1)):
            size = int(self.R.uniform(*self.size_px_range))
            if self.R.uniform() < self.text_prob:
                mark = self._glyph(self.texts[self.R.randint(len(self.texts))], size)
            else:
                mark = np.ones((int(self.R.uniform(*self.size_px_range)), size), dtype=bool)
            mark = mark[:width, :height]
            u, v = self.R.randint(width - mark.shape[0] + 1), self.R.randint(height - mark.shape[1] + 1)
            self.marks[u : u + mark.shape[0], v : v + mark.shape[1]] |= mark
        self.brightness = self.R.uniform(*self.brightness_range)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        return torch.where(_mask_like(self.marks, img), low + self.brightness * (high - low), img)


class RandWiresAndButtons(_RandImage):
    """ECG leads and buttons: thin bright curved wires and small bright discs added to a 2D image.

    Each button is a disc of radius uniform in ``radius_px_range``; each wire a quadratic Bézier curve from a random
    point (a button's centre when there is one) to a random point on the image border, ``width_px`` wide. Both add
    ``a · (max − min)``, ``a`` uniform in ``amplitude_range``, as radio-opaque objects add attenuation.

    Args:
        wires_range: inclusive range of the number of wires.
        buttons_range: inclusive range of the number of buttons.
        radius_px_range: range of a button's radius, pixels.
        width_px_range: inclusive range of a wire's width, pixels.
        amplitude_range: range of ``a``.
        prob: probability of applying.
    """

    def __init__(
        self,
        wires_range=(1, 4),
        buttons_range=(1, 5),
        radius_px_range=(3.0, 10.0),
        width_px_range=(1, 3),
        amplitude_range=(0.2, 0.6),
        prob: float = 0.1,
    ) -> None:
        super().__init__(prob)
        self.wires_range, self.buttons_range, self.radius_px_range = wires_range, buttons_range, radius_px_range
        self.width_px_range, self.amplitude_range = width_px_range, amplitude_range

    def _wire(self, start: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A bool mask ``shape`` of a one-pixel Bézier curve from ``start`` to a random border point."""
        size = np.asarray(shape, float) - 1
        end = self.R.uniform(size=2) * size
        axis = self.R.randint(2)
        end[axis] = size[axis] * self.R.randint(2)
        control = self.R.uniform(size=2) * size
        t = np.linspace(0.0, 1.0, int(4 * (np.abs(end - start).sum() + np.abs(control - start).sum())) + 2)[:, None]
        points = (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end
        line = np.zeros(shape, dtype=bool)
        line[tuple(np.clip(np.round(points).astype(int), 0, size.astype(int)).T)] = True
        return line

    def _draw(self, img: NdarrayOrTensor) -> None:
        _check_2d(img, "RandWiresAndButtons")
        shape = tuple(img.shape[1:])
        u, v = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
        centres = [
            self.R.uniform(size=2) * (np.asarray(shape) - 1)
            for _ in range(self.R.randint(self.buttons_range[0], self.buttons_range[1] + 1))
        ]
        self.objects = np.zeros(shape, dtype=bool)
        for centre in centres:
            self.objects |= (u - centre[0]) ** 2 + (v - centre[1]) ** 2 <= self.R.uniform(*self.radius_px_range) ** 2
        for k in range(self.R.randint(self.wires_range[0], self.wires_range[1] + 1)):
            start = centres[k] if k < len(centres) else self.R.uniform(size=2) * (np.asarray(shape) - 1)
            wire = self._wire(start, shape)
            width = self.R.randint(self.width_px_range[0], self.width_px_range[1] + 1)
            self.objects |= ndimage.binary_dilation(wire, iterations=width // 2) if width > 1 else wire
        self.amplitude = self.R.uniform(*self.amplitude_range)

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        return img + _mask_like(self.objects, img).to(img.dtype) * self.amplitude * (high - low)


@dataclass(frozen=True)
class _Arm:
    """One arm of :class:`RandArmsOverlay`, in the image frame's mm (``x = column × spacing``, toward anterior in a
    lateral image; ``z = row × spacing``, toward the feet)."""

    shoulder: tuple[float, float]  #: the humerus' proximal end (the humeral head), ``(x, z)`` mm
    elbow: tuple[float, float]  #: the humerus' distal end, ``(x, z)`` mm
    hand: tuple[float, float]  #: the forearm's distal end, ``(x, z)`` mm
    angle_deg: float  #: the humerus' angle below the horizontal toward anterior, degrees (negative: rising)
    radius: float  #: upper arm's soft-tissue radius, mm
    forearm_radius: float  #: forearm's soft-tissue radius, mm
    humerus_radius: float  #: humerus' outer radius, mm
    cortex: float  #: humerus' cortical thickness, mm


def _segment_distance(x: torch.Tensor, z: torch.Tensor, start, end) -> torch.Tensor:
    """Distance, mm, of the points ``(x, z)`` from the segment ``start``–``end`` (a capsule's axis)."""
    (x0, z0), (x1, z1) = start, end
    dx, dz = x1 - x0, z1 - z0
    t = (((x - x0) * dx + (z - z0) * dz) / max(dx * dx + dz * dz, 1e-12)).clamp(0.0, 1.0)
    return torch.hypot(x - x0 - t * dx, z - z0 - t * dz)


def _chord(radius: float, distance: torch.Tensor) -> torch.Tensor:
    """Path, mm, of a ray through a cylinder (or sphere) of ``radius`` mm at ``distance`` mm from its axis:
    ``2 sqrt(r² − d²)``, 0 outside."""
    return 2.0 * torch.sqrt((radius * radius - distance * distance).clamp(min=0.0))


def _rotate(vector: np.ndarray, angle: float) -> np.ndarray:
    """``vector`` ``(x, z)`` turned by ``angle`` radians (from +x toward +z)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


def _on_spine(shape: tuple[int, int], spine: NdarrayOrTensor | None, height: float) -> tuple[float, float]:
    """The point ``(column, row)``, pixels, a fraction ``height`` of the way down the spine mask's head–feet extent
    (the image's rows when ``spine`` is ``None`` or empty) and in the mask's middle column at that row (the image's
    middle column without a mask). ``shape`` is the image's ``(W, H)``; ``spine`` is ``(1, W, H)``."""
    width, rows = shape
    occupied = None
    if spine is not None:
        occupied = convert_to_tensor(spine, track_meta=False).ne(0).any(0).cpu().numpy()
        occupied = occupied if occupied.any() else None
    extent = np.flatnonzero(occupied.any(0)) if occupied is not None else np.array([0, rows - 1])
    row = extent[0] + height * (extent[-1] - extent[0])
    column = (width - 1) / 2
    if occupied is not None:
        near = occupied[:, max(0, int(round(row)) - 2) : int(round(row)) + 3]
        column = float(np.flatnonzero(near.any(1) if near.any() else occupied.any(1)).mean())
    return column, row


class _RandOnSpine(_RandImage):
    """Base of the image-level array transforms drawn on the spine mask: ``randomize(img, spine)`` draws on the mask
    ``spine`` ``(1, W, H)`` when given (the image otherwise) where :meth:`_applies` to ``img``; ``__call__(img,
    spine)`` applies the draw."""

    def _applies(self, img: NdarrayOrTensor) -> bool:
        """Whether ``img`` is drawn on at all (every image by default)."""
        return True

    def randomize(self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None) -> None:
        """Draw for ``img`` ``(C, W, H)``, on the spine mask ``spine`` ``(1, W, H)`` when given."""
        RandomizableTransform.randomize(self, None)
        self._do_transform = self._do_transform and self._applies(img)
        if self._do_transform:
            self._draw(img, spine)

    def __call__(
        self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None, randomize: bool = True
    ) -> NdarrayOrTensor:
        """Apply to ``img`` ``(C, W, H)``, drawn on ``spine`` ``(1, W, H)`` when given; ``randomize=False`` reuses
        the last draw."""
        if randomize:
            self.randomize(img, spine)
        return super().__call__(img, randomize=False)


class RandArmsOverlay(_RandOnSpine):
    """Arms over the spine in a lateral radiograph: the projected shadows of one or two arms added to a 2D image.

    Standing lateral spine radiographs (EOS and conventional) are taken with the arms out of the trunk's outline but
    not out of the image: forward flexed (about 45°, Faro et al. 2004), fists on clavicles, or raised onto a support.
    The humeri then cross the upper thoracic spine and the forearms the anterior chest. Each arm is modelled as
    capsules (cylinders with hemispherical ends) lying in one sagittal plane parallel to the detector:

    - the **upper arm**, soft tissue of radius ``R`` around the humerus' axis from the shoulder (the humeral head) to
      the elbow, length ``ℓ_h``; the **humerus** inside, a cortical tube of outer radius ``r_o`` and cortex ``t``
      (inner radius ``r_i = r_o − t``; its closed ends stand for the epiphyses) with marrow counted as soft tissue;
    - the **forearm**, soft tissue of radius ``0.8 R`` (``forearm_ratio``) from the elbow over ``ℓ_f``, in line with
      the humerus up to ``±bend_deg`` or, with probability ``fold_prob``, folded back toward the head by
      ``fold_deg_range`` (fists on clavicles, hands on the head). Its bones are not drawn.

    A ray at in-plane distance ``d`` from a capsule's axis crosses it over the analytic chord ``L(r, d) = 2 sqrt(r² −
    d²)`` mm (0 beyond ``r``); the two capsules of an arm share a mid-plane, so the arm's soft-tissue path is the larger
    of their chords. Each arm adds the soft-tissue equivalent path

        ``P = max(L(R, d_upper), L(0.8 R, d_forearm)) + (k − 1) · (L(r_o, d_upper) − L(r_i, d_upper))``  mm,

    ``k`` the attenuation of cortical bone relative to soft tissue (about 2–3 at 50–100 keV: NIST/ICRU-44 cortical
    bone over muscle), so a projected humerus is brightest at ``d = r_i``, where the ray is tangent to its cavity,
    and darker in its middle, as a tube is. The image gets ``out = img + s · (max − min) · Σ_arms P``: ``s``, the
    brightness of 1 mm of soft tissue as a fraction of the image's range, plays the role of ``μ_soft`` (about 0.02/mm)
    over the image's largest line integral (on the phantom's lateral radiographs scaled to 0–1, 1 mm of abdomen is
    about 0.002). Millimetres become pixels by the image's spacing (a MetaTensor's affine, else ``pixel_mm``); the
    profile is sampled at pixel centres.

    Placement: the shoulder lies at a fraction ``height_range`` of the spine's head–feet extent (from its top; of the
    image's rows when no spine mask is given), ``offset_mm_range`` anterior of the spine's middle column at that
    row (of the image's middle column without a mask). The humerus runs anterior (toward increasing columns, the
    lateral frame of ``docs/frames.md``) at ``angle_deg_range`` from the horizontal, descending with probability
    ``descend_prob`` (arms forward flexed below shoulder height, fists on clavicles), rising otherwise (arms raised
    above it). A second arm lies within ``±pair_shift_mm`` (each axis) and ``±pair_angle_deg`` of the first, as the
    two arms of one pose do; its sizes are drawn on their own.

    Only images whose MetaTensor ``meta["frame"]`` is in ``frames`` are drawn on (the arms lie beside the trunk in an
    AP image); images without a frame (numpy arrays, tensors) always are.

    Args:
        arms_range: inclusive range of the number of arms.
        radius_mm_range: range of the upper arm's soft-tissue radius ``R``, mm.
        humerus_radius_mm_range: range of the humerus' outer radius ``r_o``, mm.
        cortex_mm_range: range of its cortical thickness ``t``, mm (at most ``r_o``).
        humerus_length_mm_range: range of ``ℓ_h``, shoulder to elbow, mm.
        forearm_length_mm_range: range of ``ℓ_f``, elbow to fist, mm.
        forearm_ratio: forearm radius over ``R``.
        angle_deg_range: range of the humerus' angle from the horizontal, degrees.
        descend_prob: probability that the humerus descends toward anterior (else it rises).
        bend_deg: largest bend of an unfolded elbow, degrees (either way).
        fold_prob: probability that the forearm is folded back toward the head.
        fold_deg_range: range of a folded forearm's turn from the humerus' direction, degrees.
        height_range: range of the shoulder's height, fraction of the spine's (else the image's) head–feet extent.
        offset_mm_range: range of the shoulder's offset anterior of the spine's middle column, mm.
        pair_shift_mm: largest shift of the second arm's shoulder from the first's, per axis, mm.
        pair_angle_deg: largest difference of the second arm's angle from the first's, degrees.
        strength_range: range of ``s``, fraction of the image's range per mm of soft tissue.
        bone_ratio_range: range of ``k``.
        frames: image frames drawn on (``meta["frame"]``); ``None`` for every image.
        pixel_mm: pixel spacing for non-MetaTensor inputs, mm (a MetaTensor's affine is used otherwise).
        prob: probability of applying.

    Input: ``(C, W, H)`` (column, row); output: float32, same shape and array type. Call ``arms(img, spine)`` to
    place the arms on the spine mask ``spine`` ``(1, W, H)`` (optional); the last draw is in ``arms.arms``
    (shoulder, elbow and hand points in mm, radii), ``arms.strength`` and ``arms.bone_ratio``.
    """

    def __init__(
        self,
        arms_range=(1, 2),
        radius_mm_range=(35.0, 50.0),
        humerus_radius_mm_range=(10.0, 13.0),
        cortex_mm_range=(3.0, 5.0),
        humerus_length_mm_range=(270.0, 340.0),
        forearm_length_mm_range=(220.0, 280.0),
        forearm_ratio: float = 0.8,
        angle_deg_range=(20.0, 70.0),
        descend_prob: float = 0.8,
        bend_deg: float = 20.0,
        fold_prob: float = 0.3,
        fold_deg_range=(120.0, 160.0),
        height_range=(0.1, 0.5),
        offset_mm_range=(-30.0, 30.0),
        pair_shift_mm: float = 30.0,
        pair_angle_deg: float = 10.0,
        strength_range=(0.001, 0.0035),
        bone_ratio_range=(2.0, 3.0),
        frames: Sequence[str] | None = ("lateral",),
        pixel_mm: float = 1.0,
        prob: float = 0.1,
    ) -> None:
        super().__init__(prob)
        if not 1 <= arms_range[0] <= arms_range[1]:
            raise ValueError(f"arms_range must be (low, high) with 1 <= low <= high, got {arms_range}.")
        if cortex_mm_range[1] > humerus_radius_mm_range[0]:
            raise ValueError(f"cortex_mm_range {cortex_mm_range} must not exceed the humerus' radius.")
        self.arms_range, self.radius_mm_range = arms_range, radius_mm_range
        self.humerus_radius_mm_range, self.cortex_mm_range = humerus_radius_mm_range, cortex_mm_range
        self.humerus_length_mm_range, self.forearm_length_mm_range = humerus_length_mm_range, forearm_length_mm_range
        self.forearm_ratio, self.angle_deg_range, self.descend_prob = forearm_ratio, angle_deg_range, descend_prob
        self.bend_deg, self.fold_prob, self.fold_deg_range = bend_deg, fold_prob, fold_deg_range
        self.height_range, self.offset_mm_range = height_range, offset_mm_range
        self.pair_shift_mm, self.pair_angle_deg = pair_shift_mm, pair_angle_deg
        self.strength_range, self.bone_ratio_range = strength_range, bone_ratio_range
        self.frames = None if frames is None else tuple(frames)
        self.pixel_mm = pixel_mm
        self.arms: list[_Arm] = []
        self.spacing = np.ones(2)
        self.strength, self.bone_ratio = 0.0, 1.0

    def _applies(self, img: NdarrayOrTensor) -> bool:
        frame = img.meta.get("frame") if isinstance(img, MetaTensor) else None
        return self.frames is None or frame is None or frame in self.frames

    def _shoulder(self, shape: tuple[int, int], spine: NdarrayOrTensor | None) -> np.ndarray:
        """The first arm's shoulder ``(x, z)``, mm, on the spine mask (or the image) of ``shape`` pixels."""
        column, row = _on_spine(shape, spine, self.R.uniform(*self.height_range))
        return np.array([column * self.spacing[0] + self.R.uniform(*self.offset_mm_range), row * self.spacing[1]])

    def _draw(self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None) -> None:
        _check_2d(img, "RandArmsOverlay")
        self.spacing = _spacing(img, self.pixel_mm)
        self.strength = self.R.uniform(*self.strength_range)
        self.bone_ratio = self.R.uniform(*self.bone_ratio_range)
        descends = self.R.uniform() < self.descend_prob
        first_shoulder = self._shoulder(tuple(img.shape[1:]), spine)
        first_angle = self.R.uniform(*self.angle_deg_range)
        self.arms = []
        for k in range(self.R.randint(self.arms_range[0], self.arms_range[1] + 1)):
            shoulder, angle = first_shoulder, first_angle
            if k:
                shoulder = first_shoulder + self.R.uniform(-1, 1, size=2) * self.pair_shift_mm
                angle = first_angle + self.R.uniform(-1, 1) * self.pair_angle_deg
            angle = angle if descends else -angle
            direction = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
            elbow = shoulder + self.R.uniform(*self.humerus_length_mm_range) * direction
            if self.R.uniform() < self.fold_prob:
                turn = np.deg2rad(self.R.uniform(*self.fold_deg_range))
                turns = [_rotate(direction, turn), _rotate(direction, -turn)]
                forearm = min(turns, key=lambda v: v[1])  # folded toward the head (smaller z)
            else:
                forearm = _rotate(direction, np.deg2rad(self.R.uniform(-1, 1) * self.bend_deg))
            hand = elbow + self.R.uniform(*self.forearm_length_mm_range) * forearm
            radius = self.R.uniform(*self.radius_mm_range)
            self.arms.append(
                _Arm(
                    shoulder=tuple(map(float, shoulder)),
                    elbow=tuple(map(float, elbow)),
                    hand=tuple(map(float, hand)),
                    angle_deg=float(angle),
                    radius=radius,
                    forearm_radius=self.forearm_ratio * radius,
                    humerus_radius=self.R.uniform(*self.humerus_radius_mm_range),
                    cortex=self.R.uniform(*self.cortex_mm_range),
                )
            )

    def path_mm(self, shape: Sequence[int], device: torch.device | str | None = None) -> torch.Tensor:
        """The drawn arms' soft-tissue-equivalent path ``Σ_arms P`` (float64, ``(W, H)``, mm) on an image of spatial
        ``shape`` ``(W, H)`` and the drawn spacing."""
        x, z = (torch.arange(n, dtype=torch.float64, device=device) * float(s) for n, s in zip(shape, self.spacing))
        x, z = x[:, None].expand(*shape), z[None, :].expand(*shape)
        path = torch.zeros(tuple(shape), dtype=torch.float64, device=device)
        for arm in self.arms:
            upper = _segment_distance(x, z, arm.shoulder, arm.elbow)
            forearm = _segment_distance(x, z, arm.elbow, arm.hand)
            soft = torch.maximum(_chord(arm.radius, upper), _chord(arm.forearm_radius, forearm))
            cortex = _chord(arm.humerus_radius, upper) - _chord(arm.humerus_radius - arm.cortex, upper)
            path += soft + (self.bone_ratio - 1.0) * cortex
        return path

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        path = self.path_mm(tuple(img.shape[1:]), img.device)
        return img + (self.strength * (high - low) * path).to(img.dtype)[None]


@dataclass(frozen=True)
class _GasLoop:
    """One gas-filled bowel loop of :class:`RandBowelGas`: a chain of spheres in the image frame's mm (``x = column ×
    spacing``, ``z = row × spacing``)."""

    centres: tuple[tuple[float, float], ...]  #: the beads' centres ``(x, z)``, mm
    radii: tuple[float, ...]  #: the beads' radii, mm


class RandBowelGas(_RandOnSpine):
    """Gas in the bowel over the abdomen of an AP or lateral radiograph: the projected paths of gas-filled loops
    taken away from a 2D image.

    The abdomen of a real radiograph is crossed by gas in the colon and the small bowel: dark loops 1–5 cm across
    that overlie the lumbar spine in both views and are as contrasted as its vertebral bodies (on ``drr`` renders of
    the real CT, ``docs/real_anatomy.md``). The phantom's soft tissue has a few small gas pockets only, so a network
    trained on it meets the loops first on real anatomy. Each loop is a chain of ``beads_range`` spheres of radius
    ``r`` drawn from ``radius_mm_range``, each bead ``step`` times the larger of its and the last bead's radii from the
    last, in a heading that turns by up to ``±turn_deg`` a bead. A ray at in-plane distance ``d`` from a bead's
    centre crosses it over the chord ``L(r, d) = 2 sqrt(r² − d²)`` mm; the beads of one loop overlap into one tube,
    so a loop's gas path is the largest of its beads' chords, and loops add. Gas replaces soft tissue, so the image
    gets ``out = max(img − s · (max − min) · Σ_loops P, min)``: ``s`` is the brightness of 1 mm of soft tissue as a
    fraction of the image's range, as in :class:`RandArmsOverlay`, and no ray loses more than the image's darkest
    value. Millimetres become pixels by the image's spacing (a MetaTensor's affine, else ``pixel_mm``).

    Placement: each loop starts a fraction ``height_range`` of the way down the spine mask's head–feet extent (the
    image's rows without a mask), ``offset_mm_range`` from the spine's middle column at that row; in a lateral image
    (MetaTensor ``meta["frame"] == "lateral"``) ``lateral_offset_mm_range`` instead, toward anterior (increasing
    columns, ``docs/frames.md``), where the bowel lies in front of the spine.

    Args:
        loops_range: inclusive range of the number of loops.
        beads_range: inclusive range of the number of spheres in a loop.
        radius_mm_range: range of a sphere's radius, mm.
        step: distance of a bead from the last, as a share of the larger of their radii.
        turn_deg: largest turn of a loop's heading from one bead to the next, degrees (either way).
        height_range: range of a loop's start, fraction of the spine's (else the image's) head–feet extent.
        offset_mm_range: range of a loop's start from the spine's middle column, mm (AP and frameless images).
        lateral_offset_mm_range: the same in a lateral image, mm toward anterior.
        strength_range: range of ``s``, fraction of the image's range per mm of soft tissue.
        pixel_mm: pixel spacing for non-MetaTensor inputs, mm (a MetaTensor's affine is used otherwise).
        prob: probability of applying.

    Input: ``(C, W, H)`` (column, row); output: float32, same shape and array type. Call ``gas(img, spine)`` to place
    the loops on the spine mask ``spine`` ``(1, W, H)`` (optional); the last draw is in ``gas.loops`` and
    ``gas.strength``.
    """

    def __init__(
        self,
        loops_range=(6, 24),
        beads_range=(3, 10),
        radius_mm_range=(5.0, 18.0),
        step: float = 0.8,
        turn_deg: float = 60.0,
        height_range=(0.45, 1.05),
        offset_mm_range=(-140.0, 140.0),
        lateral_offset_mm_range=(-10.0, 160.0),
        strength_range=(0.001, 0.0035),
        pixel_mm: float = 1.0,
        prob: float = 0.1,
    ) -> None:
        super().__init__(prob)
        for name, (low, high) in (("loops_range", loops_range), ("beads_range", beads_range)):
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 1 <= low <= high, got {(low, high)}.")
        if not 0 < radius_mm_range[0] <= radius_mm_range[1]:
            raise ValueError(f"radius_mm_range must be (low, high) with 0 < low <= high, got {radius_mm_range}.")
        self.loops_range, self.beads_range, self.radius_mm_range = loops_range, beads_range, radius_mm_range
        self.step, self.turn_deg, self.height_range = step, turn_deg, height_range
        self.offset_mm_range, self.lateral_offset_mm_range = offset_mm_range, lateral_offset_mm_range
        self.strength_range, self.pixel_mm = strength_range, pixel_mm
        self.loops: list[_GasLoop] = []
        self.spacing = np.ones(2)
        self.strength = 0.0

    def _draw(self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None) -> None:
        _check_2d(img, "RandBowelGas")
        self.spacing = _spacing(img, self.pixel_mm)
        self.strength = self.R.uniform(*self.strength_range)
        lateral = isinstance(img, MetaTensor) and img.meta.get("frame") == "lateral"
        offsets = self.lateral_offset_mm_range if lateral else self.offset_mm_range
        self.loops = []
        for _ in range(self.R.randint(self.loops_range[0], self.loops_range[1] + 1)):
            column, row = _on_spine(tuple(img.shape[1:]), spine, self.R.uniform(*self.height_range))
            centre = np.array([column * self.spacing[0] + self.R.uniform(*offsets), row * self.spacing[1]])
            heading = self.R.uniform(0.0, 2 * np.pi)
            radius = self.R.uniform(*self.radius_mm_range)
            centres, radii = [tuple(map(float, centre))], [radius]
            for _ in range(self.R.randint(self.beads_range[0], self.beads_range[1] + 1) - 1):
                heading += np.deg2rad(self.R.uniform(-1, 1) * self.turn_deg)
                next_radius = self.R.uniform(*self.radius_mm_range)
                centre = centre + self.step * max(radius, next_radius) * np.array([np.cos(heading), np.sin(heading)])
                radius = next_radius
                centres.append(tuple(map(float, centre)))
                radii.append(radius)
            self.loops.append(_GasLoop(tuple(centres), tuple(radii)))

    def path_mm(self, shape: Sequence[int], device: torch.device | str | None = None) -> torch.Tensor:
        """The drawn loops' gas path ``Σ_loops P`` (float64, ``(W, H)``, mm) on an image of spatial ``shape``
        ``(W, H)`` and the drawn spacing."""
        x, z = (torch.arange(n, dtype=torch.float64, device=device) * float(s) for n, s in zip(shape, self.spacing))
        path = torch.zeros(tuple(shape), dtype=torch.float64, device=device)
        for loop in self.loops:
            gas = torch.zeros_like(path)
            for (cx, cz), radius in zip(loop.centres, loop.radii):
                gas = torch.maximum(gas, _chord(radius, torch.hypot(x[:, None] - cx, z[None, :] - cz)))
            path += gas
        return path

    def _apply(self, img: torch.Tensor) -> torch.Tensor:
        low, high = _value_range(img)
        path = self.path_mm(tuple(img.shape[1:]), img.device)
        return (img - (self.strength * (high - low) * path).to(img.dtype)[None]).clamp(min=low)


@dataclass(frozen=True)
class FieldOfView:
    """A kind of field of view along the head–feet axis (the last spatial axis: rows of a coronal image, slices of a
    volume in the patient frame).

    Args:
        length_mm: range of the window's length, mm; ``None`` keeps the whole head–feet extent.
        centre: range of the window centre's position as a fraction of the spine mask's head–feet extent (0 its top,
            1 its bottom), or of the image's when no mask is given.
    """

    length_mm: tuple[float, float] | None
    centre: tuple[float, float] = (0.5, 0.5)


FOV_PRESETS: dict[str, FieldOfView] = {
    "whole_body": FieldOfView(None),
    "chest": FieldOfView((250.0, 400.0), (0.2, 0.4)),
    "thoracolumbar": FieldOfView((350.0, 550.0), (0.45, 0.65)),
    "lumbar": FieldOfView((150.0, 260.0), (0.75, 0.9)),
}
"""Fields of view, from a cervico-thoracic chest image (a 35 × 43 cm detector centred high on a C1–S1 spine) to a
lumbar-only image to the whole body; the centres are fractions of the visible spine's extent, so for a C1–S1 mask
``chest`` is centred on the upper thoracic spine and ``lumbar`` on L3–L4."""


class RandSpineFieldOfView(RandomizableTransform):
    """Crop an image (and its spine mask, alike) to a random field of view along the head–feet axis, and optionally
    across left–right (the first spatial axis).

    A preset from ``presets`` is drawn per call; its window length and centre are drawn within the preset's ranges
    (:data:`FOV_PRESETS`). With a spine mask the window is then moved, as little as needed, so that at least
    ``min_spine_mm`` of the spine's head–feet extent stays visible (all of it when the spine or the window is
    shorter), and a left–right window is placed so that the whole spine's width stays inside when it fits.

    ``mode="crop"`` returns the window (MONAI ``SpatialCrop``: a MetaTensor's affine and ``applied_operations`` are
    updated); ``mode="fill"`` keeps the shape and sets everything outside the window to ``fill_value`` (default: the
    input's minimum, so 0 for a mask), as a smaller detector or a shorter scan would show it on a fixed canvas.

    Args:
        presets: names in :data:`FOV_PRESETS` to draw from.
        min_spine_mm: least head–feet length of spine that stays visible, mm.
        width_mm: range of the left–right window width, mm; ``None`` keeps the full width.
        mode: ``"crop"`` or ``"fill"``.
        fill_value: value outside the window in ``"fill"`` mode; ``None`` for the input's minimum.
        spacing_mm: voxel spacing for non-MetaTensor inputs, mm (a MetaTensor's affine is used otherwise).
        prob: probability of applying.

    Call ``fov(img, spine)`` to draw a window from ``spine`` ``(1, *spatial)`` (optional) and crop ``img``
    ``(C, *spatial)``; then ``fov(mask, randomize=False)`` crops the mask with the same window.
    """

    backend = SpatialCrop.backend

    def __init__(
        self,
        presets: Sequence[str] = tuple(FOV_PRESETS),
        min_spine_mm: float = 100.0,
        width_mm: tuple[float, float] | None = None,
        mode: str = "crop",
        fill_value: float | None = None,
        spacing_mm: float | Sequence[float] = 1.0,
        prob: float = 1.0,
    ) -> None:
        super().__init__(prob)
        if not presets or set(presets) - set(FOV_PRESETS):
            raise ValueError(f"presets must be a non-empty subset of {sorted(FOV_PRESETS)}, got {presets}.")
        if mode not in ("crop", "fill"):
            raise ValueError(f"mode must be 'crop' or 'fill', got {mode!r}.")
        self.presets, self.min_spine_mm, self.width_mm = tuple(presets), min_spine_mm, width_mm
        self.mode, self.fill_value, self.spacing_mm = mode, fill_value, spacing_mm
        self.window: tuple[slice, ...] = ()

    def _head_feet(self, n: int, spacing: float, preset: FieldOfView, extent: tuple[int, int] | None) -> slice:
        """Window along the head–feet axis of ``n`` pixels of ``spacing`` mm; ``extent``: the spine's first and last."""
        if preset.length_mm is None:
            return slice(0, n)
        length = int(min(n, max(1, round(self.R.uniform(*preset.length_mm) / spacing))))
        top, bottom = extent if extent is not None else (0, n - 1)
        start = round(top + self.R.uniform(*preset.centre) * (bottom - top) - length / 2)
        low, high = 0, n - length
        if extent is not None:
            need = min(int(np.ceil(self.min_spine_mm / spacing)), bottom - top + 1, length)
            low, high = max(low, top + need - length), min(high, bottom + 1 - need)
        start = int(np.clip(start, low, high))
        return slice(start, start + length)

    def _left_right(self, n: int, spacing: float, extent: tuple[int, int] | None) -> slice:
        """Window across the first spatial axis, around the spine's ``extent`` when given."""
        if self.width_mm is None:
            return slice(0, n)
        width = int(min(n, max(1, round(self.R.uniform(*self.width_mm) / spacing))))
        if extent is None:
            centre = self.R.uniform(width / 2, n - width / 2)
        else:
            slack = max(0.0, (width - (extent[1] - extent[0] + 1)) / 2)
            centre = (extent[0] + extent[1] + 1) / 2 + self.R.uniform(-slack, slack)
        start = int(np.clip(round(centre - width / 2), 0, n - width))
        return slice(start, start + width)

    def randomize(self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None) -> None:
        """Draw the window for ``img`` ``(C, *spatial)`` from the spine mask ``spine`` ``(1, *spatial)`` (optional)."""
        super().randomize(None)
        shape = tuple(img.shape[1:])
        self.window = tuple(slice(0, n) for n in shape)
        if not self._do_transform:
            return
        spacing = _spacing(spine if isinstance(spine, MetaTensor) else img, self.spacing_mm)
        preset = FOV_PRESETS[self.presets[self.R.randint(len(self.presets))]]
        extents = [None] * len(shape)
        if spine is not None:
            occupied = convert_to_tensor(spine, track_meta=False).ne(0).any(0)
            for axis in (0, len(shape) - 1):
                index = torch.nonzero(occupied.any(dim=tuple(a for a in range(len(shape)) if a != axis))).flatten()
                extents[axis] = (int(index[0]), int(index[-1])) if len(index) else None
        window = list(self.window)
        window[-1] = self._head_feet(shape[-1], float(spacing[-1]), preset, extents[-1])
        window[0] = self._left_right(shape[0], float(spacing[0]), extents[0])
        self.window = tuple(window)

    def __call__(
        self, img: NdarrayOrTensor, spine: NdarrayOrTensor | None = None, randomize: bool = True
    ) -> NdarrayOrTensor:
        """``img`` ``(C, *spatial)`` in the window; ``randomize=False`` reuses the last window (same spatial shape)."""
        if randomize:
            self.randomize(img, spine)
        if len(self.window) != img.ndim - 1 or any(s.stop > n for s, n in zip(self.window, img.shape[1:])):
            raise ValueError(f"window of {len(self.window)} axes does not fit an image of shape {tuple(img.shape)}.")
        if self.mode == "crop":
            out = SpatialCrop(roi_slices=self.window)(img)
            return out if isinstance(img, torch.Tensor) else out.cpu().numpy()
        tensor = convert_to_tensor(img, track_meta=False)
        inside = torch.zeros_like(tensor, dtype=torch.bool)
        inside[(slice(None), *self.window)] = True
        fill = float(tensor.min()) if self.fill_value is None else self.fill_value
        return convert_to_dst_type(torch.where(inside, tensor, torch.as_tensor(fill, dtype=tensor.dtype)), img)[0]


class RandSpineFieldOfViewd(RandomizableTransform, MapTransform):
    """Dictionary form of :class:`RandSpineFieldOfView`: one window, drawn from ``mask_key``, for every key.

    Args:
        keys: keys of the images and masks to crop alike (include the mask key to crop the mask).
        mask_key: key of the spine mask the window is drawn from; ``None`` for no spine guarantee.
        presets, min_spine_mm, width_mm, mode, fill_value, spacing_mm, prob: see :class:`RandSpineFieldOfView`.
        allow_missing_keys: skip absent keys instead of raising ``KeyError``.
    """

    backend = RandSpineFieldOfView.backend

    def __init__(
        self,
        keys: KeysCollection,
        mask_key: str | None = None,
        presets: Sequence[str] = tuple(FOV_PRESETS),
        min_spine_mm: float = 100.0,
        width_mm: tuple[float, float] | None = None,
        mode: str = "crop",
        fill_value: float | None = None,
        spacing_mm: float | Sequence[float] = 1.0,
        prob: float = 1.0,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.mask_key = mask_key
        self.fov = RandSpineFieldOfView(presets, min_spine_mm, width_mm, mode, fill_value, spacing_mm, prob=1.0)

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.fov.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        self.randomize(None)
        first = self.first_key(d)
        if not self._do_transform or first == ():
            return d
        self.fov.randomize(d[first], d.get(self.mask_key) if self.mask_key is not None else None)
        for key in self.key_iterator(d):
            d[key] = self.fov(d[key], randomize=False)
        return d


class RandLabelToIntensityd(_RandImaged):
    """Dictionary form of :class:`RandLabelToIntensity`: the label map under each key gives an image under the
    matching ``output_keys`` (the label map itself is kept, as the training target).

    Args:
        keys: keys of the label maps.
        output_keys: keys of the generated images, one per key; ``None`` replaces the label maps.
        prob: probability of generating; when it does not, ``output_keys`` keep what they hold (e.g. an acquired
            image of the same grid, which a generated contrast then replaces that often).
        allow_missing_keys: skip absent keys instead of raising ``KeyError`` (entries without a label map keep
            their image).
        kwargs: the arguments of :class:`RandLabelToIntensity`.
    """

    array_class = RandLabelToIntensity

    def __init__(
        self,
        keys: KeysCollection,
        output_keys: KeysCollection | None = None,
        prob: float = 1.0,
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, prob, allow_missing_keys, **kwargs)
        self.output_keys = self.keys if output_keys is None else ensure_tuple(output_keys)
        if len(self.output_keys) != len(self.keys):
            raise ValueError(f"output_keys {self.output_keys} must match keys {self.keys} one to one.")


class RandDixonContrastd(RandomizableTransform, MapTransform):
    """Dictionary form of :class:`RandDixonContrast`: the water and fat images under ``keys`` give an image under
    ``output_key`` (the Dixon images are kept; drop them with MONAI's ``DeleteItemsd`` once used).

    Args:
        keys: the keys of the water image and of the fat image, in that order.
        output_key: key of the synthesised image. With ``prob < 1`` it must already hold an image (e.g. the
            acquired in-phase), which is kept when the transform does not apply.
        contrasts, weight_jitter: see :class:`RandDixonContrast`.
        prob: probability of synthesising.
        allow_missing_keys: do nothing when a Dixon image is absent instead of raising ``KeyError``.
    """

    backend = RandDixonContrast.backend

    def __init__(
        self,
        keys: KeysCollection,
        output_key: str = "image",
        contrasts: Sequence[str] = tuple(DIXON_CONTRASTS),
        weight_jitter: float = 0.2,
        prob: float = 1.0,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        if len(self.keys) != 2:
            raise ValueError(f"keys must name the water and the fat image, got {self.keys}.")
        self.output_key = output_key
        self.dixon = RandDixonContrast(contrasts, weight_jitter)

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.dixon.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        self.randomize(None)
        images = list(self.key_iterator(d))
        if not self._do_transform or len(images) < 2:
            return d
        d[self.output_key] = self.dixon(d[images[0]], d[images[1]])
        return d


class RandScatterd(_RandImaged):
    """Dictionary form of :class:`RandScatter` (``keys``, ``prob``, ``allow_missing_keys``, then its arguments)."""

    array_class = RandScatter


class RandFlattenLowFrequencyd(_RandImaged):
    """Dictionary form of :class:`RandFlattenLowFrequency` (``keys``, ``prob``, ``allow_missing_keys``, then its
    arguments)."""

    array_class = RandFlattenLowFrequency


class RandQuantumNoised(_RandImaged):
    """Dictionary form of :class:`RandQuantumNoise` (``keys``, ``prob``, ``allow_missing_keys``, then its arguments)."""

    array_class = RandQuantumNoise


class RandIntensityLookupd(_RandImaged):
    """Dictionary form of :class:`RandIntensityLookup` (``keys``, ``prob``, ``allow_missing_keys``, then its
    arguments); one table for all keys."""

    array_class = RandIntensityLookup


class RandInvertd(_RandImaged):
    """Dictionary form of :class:`RandInvert` (``keys``, ``prob``, ``allow_missing_keys``)."""

    array_class = RandInvert


class RandGridLinesd(_RandImaged):
    """Dictionary form of :class:`RandGridLines` (``keys``, ``prob``, ``allow_missing_keys``, then its arguments)."""

    array_class = RandGridLines


class RandCollimationd(_RandImaged):
    """Dictionary form of :class:`RandCollimation` (``keys``, ``prob``, ``allow_missing_keys``, then its arguments)."""

    array_class = RandCollimation


class RandMarkersd(_RandImaged):
    """Dictionary form of :class:`RandMarkers` (``keys``, ``prob``, ``allow_missing_keys``, then its arguments)."""

    array_class = RandMarkers


class RandWiresAndButtonsd(_RandImaged):
    """Dictionary form of :class:`RandWiresAndButtons` (``keys``, ``prob``, ``allow_missing_keys``, then its
    arguments)."""

    array_class = RandWiresAndButtons


class _RandOnSpined(_RandImaged):
    """Dictionary form of an image-level random transform placed on the spine mask under ``mask_key`` when given (the
    mask is read, never changed): one draw, applied to every key.

    Args:
        keys: keys of the images (not the mask).
        mask_key: key of the spine mask the draw is placed on; ``None`` (or absent) places it on the image.
        prob: probability of applying.
        allow_missing_keys: skip absent keys instead of raising ``KeyError``.
        kwargs: the arguments of the array transform.
    """

    def __init__(
        self,
        keys: KeysCollection,
        mask_key: str | None = None,
        prob: float = 0.1,
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, prob, allow_missing_keys, **kwargs)
        if mask_key is not None and mask_key in self.keys:
            raise ValueError(f"mask_key {mask_key!r} must not be one of the keys {self.keys}: it is drawn on images "
                             "only.")
        self.mask_key = mask_key

    def _draw(self, d: Mapping[Hashable, NdarrayOrTensor], first: Hashable) -> None:
        self.transform.randomize(d[first], d.get(self.mask_key) if self.mask_key is not None else None)


class RandArmsOverlayd(_RandOnSpined):
    """Dictionary form of :class:`RandArmsOverlay`: one draw, the shoulder placed on the spine mask under
    ``mask_key`` when given, added to every key (arguments: :class:`_RandOnSpined`'s, then
    :class:`RandArmsOverlay`'s)."""

    array_class = RandArmsOverlay


class RandBowelGasd(_RandOnSpined):
    """Dictionary form of :class:`RandBowelGas`: one draw, the loops placed on the spine mask under ``mask_key``
    when given, taken from every key (arguments: :class:`_RandOnSpined`'s, then :class:`RandBowelGas`'s)."""

    array_class = RandBowelGas


RandLabelToIntensityD = RandLabelToIntensityDict = RandLabelToIntensityd
RandDixonContrastD = RandDixonContrastDict = RandDixonContrastd
RandScatterD = RandScatterDict = RandScatterd
RandFlattenLowFrequencyD = RandFlattenLowFrequencyDict = RandFlattenLowFrequencyd
RandQuantumNoiseD = RandQuantumNoiseDict = RandQuantumNoised
RandIntensityLookupD = RandIntensityLookupDict = RandIntensityLookupd
RandInvertD = RandInvertDict = RandInvertd
RandGridLinesD = RandGridLinesDict = RandGridLinesd
RandCollimationD = RandCollimationDict = RandCollimationd
RandMarkersD = RandMarkersDict = RandMarkersd
RandWiresAndButtonsD = RandWiresAndButtonsDict = RandWiresAndButtonsd
RandArmsOverlayD = RandArmsOverlayDict = RandArmsOverlayd
RandBowelGasD = RandBowelGasDict = RandBowelGasd
RandSpineFieldOfViewD = RandSpineFieldOfViewDict = RandSpineFieldOfViewd


def _field_of_view(
    image_key: str,
    mask_key: str | None,
    extra_keys: Sequence[str],
    fov_presets: Sequence[str],
    min_spine_mm: float,
    prob: float,
) -> RandSpineFieldOfViewd:
    """The field-of-view step of the compositions: one window for the image, the mask and ``extra_keys``."""
    keys = [image_key, *extra_keys, *([mask_key] if mask_key is not None else [])]
    return RandSpineFieldOfViewd(keys, mask_key, fov_presets, min_spine_mm, prob=prob, allow_missing_keys=True)


def dxa_randomisation(
    image_key: str = "image",
    mask_key: str | None = "label",
    fov_presets: Sequence[str] = tuple(FOV_PRESETS),
    min_spine_mm: float = 100.0,
) -> Compose:
    """Randomisation of a DXA bone image ``(1, W, H)`` and its spine mask, for training the DXA bundle.

    In order (probability; range): field of view (0.5; :data:`FOV_PRESETS`, cropped); exposure, intensity × U(0.7,
    1.3) (0.5); gamma U(0.6, 1.6) (0.5); scatter, fraction 0.05–0.3 over 20–60 mm (0.3: DXA's fan beam scatters less
    than a radiograph); resolution down to 0.4× (0.3); blur σ 0.3–1.5 pixels (0.3); quantum noise, N₀ 100–5000
    (0.5); scan-field edges (0.1); markers (0.2); ECG wires and buttons (0.1); MONOCHROME inversion (0.2). Only the
    field of view changes the mask. Call ``set_random_state(seed)`` on the result for reproducible draws.
    """
    key = image_key
    return Compose(
        [
            _field_of_view(image_key, mask_key, (), fov_presets, min_spine_mm, prob=0.5),
            RandScaleIntensityd(key, factors=0.3, prob=0.5),
            RandAdjustContrastd(key, gamma=(0.6, 1.6), prob=0.5),
            RandScatterd(key, prob=0.3, fraction_range=(0.05, 0.3)),
            RandSimulateLowResolutiond(key, zoom_range=(0.4, 1.0), upsample_mode="bilinear", prob=0.3),
            RandGaussianSmoothd(key, sigma_x=(0.3, 1.5), sigma_y=(0.3, 1.5), prob=0.3),
            RandQuantumNoised(key, prob=0.5, photons_range=(100.0, 5000.0)),
            RandCollimationd(key, prob=0.1, depth_range=(0.01, 0.1), max_angle_deg=0.0),
            RandMarkersd(key, prob=0.2),
            RandWiresAndButtonsd(key, prob=0.1),
            RandInvertd(key, prob=0.2),
        ]
    )


def radiograph_randomisation(
    image_key: str = "image",
    mask_key: str | None = "label",
    fov_presets: Sequence[str] = tuple(FOV_PRESETS),
    min_spine_mm: float = 100.0,
) -> Compose:
    """Randomisation of an AP or lateral radiograph ``(1, W, H)`` and its spine mask (SyntheX-style, strong).

    In order (probability; range): field of view (0.5; :data:`FOV_PRESETS`, cropped); arms over the spine, lateral
    images only (0.3; one or two arms, soft tissue radius 35–50 mm around a humerus 10–13 mm with a 3–5 mm cortex,
    20–70° from the horizontal, shoulder over the upper half of the visible spine: :class:`RandArmsOverlay`; drawn
    before exposure, blur and noise so that they act on the arms as on the body); exposure, intensity × U(0.7,
    1.3) (0.5); gamma U(0.5, 2.0) (0.5); scatter, fraction 0.1–0.5 over 20–60 mm (0.5); resolution down to 0.3×
    (0.3); blur σ 0.3–2 pixels (0.3); quantum noise, N₀ 50–2500 (0.5); grid lines, period 2.5–8 pixels, 1–5 % of
    the range (0.3); collimation, 2–20 % deep, tilted up to 5° (0.4); markers (0.5); ECG wires and buttons (0.3);
    MONOCHROME inversion (0.3). Only the field of view changes the mask. ``set_random_state(seed)`` for
    reproducible draws.
    """
    key = image_key
    return Compose(
        [
            _field_of_view(image_key, mask_key, (), fov_presets, min_spine_mm, prob=0.5),
            RandArmsOverlayd(key, mask_key, prob=0.3),
            RandScaleIntensityd(key, factors=0.3, prob=0.5),
            RandAdjustContrastd(key, gamma=(0.5, 2.0), prob=0.5),
            RandScatterd(key, prob=0.5),
            RandSimulateLowResolutiond(key, zoom_range=(0.3, 1.0), upsample_mode="bilinear", prob=0.3),
            RandGaussianSmoothd(key, sigma_x=(0.3, 2.0), sigma_y=(0.3, 2.0), prob=0.3),
            RandQuantumNoised(key, prob=0.5),
            RandGridLinesd(key, prob=0.3),
            RandCollimationd(key, prob=0.4),
            RandMarkersd(key, prob=0.5),
            RandWiresAndButtonsd(key, prob=0.3),
            RandInvertd(key, prob=0.3),
        ]
    )


def mri_randomisation(
    label_key: str = "tissues",
    image_key: str = "image",
    mask_key: str | None = "label",
    contrasts: Sequence[str] | None = tuple(MRI_CONTRASTS),
    fov_presets: Sequence[str] = tuple(FOV_PRESETS),
    min_spine_mm: float = 100.0,
) -> Compose:
    """SynthSeg-style MRI volumes ``(1, X, Y, Z)`` generated from a tissue label map, for training the MRI bundle.

    In order (probability; range): field of view of the labels and the mask (0.5; :data:`FOV_PRESETS`, cropped);
    image from the labels (always; one of ``contrasts`` per draw, per-label spread 0–0.05 and texture 0–0.08 of the
    0–1 scale); blur σ 0.3–1.2 voxels (0.5); bias field, degree 3, coefficients 0–0.3 (0.5); Gaussian noise σ ≤ 0.03
    (0.5); gamma U(0.7, 1.5) (0.5); resolution down to 0.5× (0.3, the thick slices of fast protocols).
    ``contrasts=None`` draws every tissue's mean uniformly in 0–1 (SynthSeg's fully random contrast).
    ``set_random_state(seed)`` for reproducible draws.
    """
    key = image_key
    return Compose(
        [
            _field_of_view(label_key, mask_key, (), fov_presets, min_spine_mm, prob=0.5),
            RandLabelToIntensityd(label_key, output_keys=image_key, contrasts=contrasts),
            RandGaussianSmoothd(key, sigma_x=(0.3, 1.2), sigma_y=(0.3, 1.2), sigma_z=(0.3, 1.2), prob=0.5),
            RandBiasFieldd(key, coeff_range=(0.0, 0.3), prob=0.5),
            RandGaussianNoised(key, std=0.03, prob=0.5),
            RandAdjustContrastd(key, gamma=(0.7, 1.5), prob=0.5),
            RandSimulateLowResolutiond(key, zoom_range=(0.5, 1.0), prob=0.3),
        ]
    )
