"""The materials a phantom is made of, in the order of the material axis of every fraction volume, and their
physical properties.

A rasterised phantom is a tensor ``(len(MATERIALS), X, Y, Z)`` of volume fractions (each voxel sums to 1);
renderers turn it into CT numbers, X-ray attenuation and MR signal with per-material properties.

Each material is a mixture (by volume) of **components**, tissues with uniform properties (``COMPONENTS``).
All materials are one component except ``cancellous``: trabecular bone tissue (the ``cortical_bone``
component) with the bone volume fraction BV/TV, and marrow in the pores, a mixture of fat cells
(``marrow_adipose``) and haematopoietic cells (``marrow_cells``) in the marrow fat fraction; both vary between
people (``Tissue``). Quantities that add up by volume (CT number, density, linear attenuation, proton density,
MR signal) mix exactly; ``docs/phantom_imaging.md`` gives the values' sources and the physics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "COMPONENTS",
    "SPREAD_DRAWS",
    "ENERGIES_KEV",
    "FAT_T1_MS",
    "LINEAR_PROPERTIES",
    "MATERIALS",
    "NIST_ENERGIES_KEV",
    "Component",
    "Tissue",
    "attenuation",
    "check_fractions",
    "component_values",
    "linear_attenuation",
    "mass_attenuation",
    "material_property",
    "material_values",
    "mix",
]

MATERIALS = ("air", "lung", "fat", "muscle", "disc", "cancellous", "cortical", "liver", "spleen", "kidney", "blood",
             "fluid", "gland", "titanium", "steel")
"""Material names. ``muscle`` stands for lean soft tissue without a material of its own (muscle, bowel wall, heart);
the abdominal organs, blood, body fluids (urine, bowel content) and breast gland have their own; ``titanium`` and
``steel`` are implants and foreign objects."""

NIST_ENERGIES_KEV = (30.0, 40.0, 50.0, 60.0, 80.0, 100.0)
"""Photon energies (keV) of the tabulated mass attenuation coefficients (NIST XCOM / Hubbell & Seltzer Table 4)."""

ENERGIES_KEV = {"dxa_low": 40.0, "dxa_high": 70.0, "radiograph": 60.0}
"""Named effective energies (keV): the two peaks of a K-edge-filtered DXA beam (GE Lunar: ~38 and ~70 keV) and the
effective energy of a ~80–90 kVp radiograph behind a patient."""

FAT_T1_MS = 343.0
"""T1 (ms) of fat protons at 1.5 T (subcutaneous fat, de Bazelaire et al., Radiology 2004)."""

LINEAR_PROPERTIES = ("hu", "density", "pd_water", "pd_fat")
"""Component properties that mix linearly by volume, so ``material_property`` can give their volumes."""


@dataclass(frozen=True)
class Component:
    """A tissue with uniform physical properties.

    Args:
        hu: CT number at 120 kVp, HU.
        hu_sd: spread of ``hu`` between people (one standard deviation), HU.
        density: mass density, g/cm³.
        mass_attenuation: mass attenuation coefficients μ/ρ (coherent scattering included), cm²/g, at
            ``NIST_ENERGIES_KEV``.
        pd_water: MR-visible water proton density, relative to pure water.
        pd_fat: MR-visible fat proton density, relative to pure water.
        t1_water_ms: T1 of the water protons at 1.5 T, ms (fat protons: ``FAT_T1_MS``).
        t2star_ms: T2* at 1.5 T, ms (water and fat).
        spread_with: the component whose per-person ``hu`` draw this one shares (``None``: a draw of its own); the
            organs follow lean tissue, so a study draws as many CT numbers as it did before they were added.
    """

    hu: float
    hu_sd: float
    density: float
    mass_attenuation: tuple[float, float, float, float, float, float]
    pd_water: float
    pd_fat: float
    t1_water_ms: float
    t2star_ms: float
    spread_with: str | None = None


# μ/ρ (cm²/g) at 30, 40, 50, 60, 80, 100 keV from NIST Table 4 (ICRU 44 compositions).
_MU_AIR = (0.3538, 0.2485, 0.2080, 0.1875, 0.1662, 0.1541)  # Air, Dry (near sea level)
_MU_LUNG = (0.3815, 0.2699, 0.2270, 0.2053, 0.1826, 0.1695)  # Lung Tissue (ICRU-44)
_MU_ADIPOSE = (0.3063, 0.2396, 0.2123, 0.1974, 0.1800, 0.1688)  # Adipose Tissue (ICRU-44)
_MU_MUSCLE = (0.3783, 0.2685, 0.2262, 0.2048, 0.1823, 0.1693)  # Muscle, Skeletal (ICRU-44)
_MU_SOFT = (0.3790, 0.2688, 0.2264, 0.2048, 0.1823, 0.1693)  # Tissue, Soft (ICRU-44)
_MU_CORTICAL = (1.331, 0.6655, 0.4242, 0.3148, 0.2229, 0.1855)  # Bone, Cortical (ICRU-44)
_MU_WATER = (0.3756, 0.2683, 0.2269, 0.2059, 0.1837, 0.1707)  # Water, Liquid
# μ/ρ (cm²/g) of the elements from NIST Table 3 (XCOM): titanium (Z = 22) and iron (Z = 26, for stainless steel).
_MU_TITANIUM = (4.972, 2.214, 1.213, 0.7661, 0.4052, 0.2721)
_MU_IRON = (8.176, 3.629, 1.958, 1.205, 0.5952, 0.3717)

_TRABECULAR_T2STAR_MS = 12.0
"""T2* of marrow between trabeculae at 1.5 T (susceptibility of the trabecular lattice; Wehrli et al. 1991)."""

_PORE_T2STAR_MS = 1.0
"""T2* of the water in cortical pores at 1.5 T: ~1 ms (ultrashort-TE studies, Du & Bydder), so a porous cortex stays
dark at the phantom's echo times as a compact one is."""

COMPONENTS: dict[str, Component] = {
    "air": Component(-1000.0, 0.0, 0.001205, _MU_AIR, 0.0, 0.0, 1000.0, 1.0),
    "lung": Component(-750.0, 60.0, 0.26, _MU_LUNG, 0.20, 0.0, 1200.0, 2.0),
    "adipose": Component(-100.0, 15.0, 0.95, _MU_ADIPOSE, 0.10, 0.90, 1000.0, 30.0),
    "muscle": Component(45.0, 10.0, 1.05, _MU_MUSCLE, 0.75, 0.03, 1008.0, 30.0),
    "disc": Component(80.0, 15.0, 1.08, _MU_SOFT, 0.80, 0.0, 1100.0, 40.0),
    "cortical_bone": Component(1700.0, 150.0, 1.92, _MU_CORTICAL, 0.20, 0.0, 250.0, 0.4),
    "marrow_adipose": Component(-100.0, 15.0, 0.95, _MU_ADIPOSE, 0.10, 0.90, 1000.0, _TRABECULAR_T2STAR_MS),
    "marrow_cells": Component(45.0, 10.0, 1.05, _MU_MUSCLE, 0.80, 0.0, 750.0, _TRABECULAR_T2STAR_MS),
    "cortical_pore": Component(0.0, 0.0, 1.0, _MU_WATER, 0.80, 0.0, 750.0, _PORE_T2STAR_MS, "muscle"),
    "liver": Component(60.0, 8.0, 1.06, _MU_SOFT, 0.71, 0.0, 586.0, 25.0, "muscle"),
    "spleen": Component(48.0, 6.0, 1.06, _MU_SOFT, 0.79, 0.0, 1057.0, 45.0, "muscle"),
    "kidney": Component(32.0, 6.0, 1.05, _MU_SOFT, 0.81, 0.0, 1190.0, 45.0, "muscle"),
    "blood": Component(42.0, 5.0, 1.06, _MU_SOFT, 0.82, 0.0, 1441.0, 60.0, "muscle"),
    "fluid": Component(8.0, 5.0, 1.01, _MU_WATER, 0.97, 0.0, 3000.0, 150.0, "muscle"),
    "gland": Component(38.0, 8.0, 1.04, _MU_SOFT, 0.74, 0.0, 1266.0, 35.0, "muscle"),
    "titanium": Component(11500.0, 0.0, 4.43, _MU_TITANIUM, 0.0, 0.0, 1000.0, 0.1, "muscle"),
    "steel": Component(32700.0, 0.0, 7.9, _MU_IRON, 0.0, 0.0, 1000.0, 0.1, "muscle"),
}
"""The components, keyed by name (the order of the component axis); values and sources: docs/phantom_imaging.md."""
SPREAD_DRAWS = tuple(name for name, c in COMPONENTS.items() if c.spread_with is None)
"""The components with a per-person CT-number draw of their own, in draw order (``render.ct.sample_hu``)."""

_PURE = dict(air="air", lung="lung", fat="adipose", muscle="muscle", disc="disc", cortical="cortical_bone",
             **{name: name for name in ("liver", "spleen", "kidney", "blood", "fluid", "gland", "titanium", "steel")})
"""The component of each one-component material."""


@dataclass(frozen=True)
class Tissue:
    """The per-person composition of bone: cancellous bone and the porosity of the cortex.

    Args:
        bone_volume_fraction: BV/TV, the volume fraction of bone tissue in vertebral cancellous bone
            (~0.15 young, ~0.07 osteoporotic).
        marrow_fat_fraction: volume fraction of fat cells in the marrow (~0.3 young, ~0.6 old; rises with age).
        cortical_porosity: volume fraction of the cortex that is pores (water-like, dark in MRI; ~0.05 young, up
            to ~0.5 old: intracortical remodelling trabecularises the cortex with age, Zebaze et al., Lancet 2010);
            it lowers the density of every cortex, the vertebral shells and endplates included.
    """

    bone_volume_fraction: float = 0.12
    marrow_fat_fraction: float = 0.45
    cortical_porosity: float = 0.0

    def __post_init__(self):
        for name in ("bone_volume_fraction", "marrow_fat_fraction", "cortical_porosity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}.")

    @classmethod
    def sample(cls, generator: torch.Generator) -> Tissue:
        """A random person: an age-like draw raises the marrow fat (0.30 → 0.60) and the cortical porosity
        (0.05 → 0.50) while BV/TV falls (0.16 → 0.06); the bone jitter moves BV/TV and porosity together."""
        age, fat_noise, bone_noise = torch.rand(3, generator=generator, device=generator.device, dtype=torch.float64)
        age, bone_jitter = float(age), float(bone_noise) - 0.5
        fat = 0.30 + 0.30 * age + 0.08 * (float(fat_noise) - 0.5)
        bone = 0.16 - 0.10 * age + 0.03 * bone_jitter
        porosity = 0.05 + 0.45 * age - 0.10 * bone_jitter
        return cls(float(np.clip(bone, 0.04, 0.20)), float(np.clip(fat, 0.2, 0.7)), float(np.clip(porosity, 0.0, 0.6)))

    def composition(self) -> np.ndarray:
        """Volume fractions of the components in each material, ``(len(MATERIALS), len(COMPONENTS))``."""
        names = list(COMPONENTS)
        table = np.zeros((len(MATERIALS), len(names)))
        for m, material in enumerate(MATERIALS):
            if material in _PURE:
                table[m, names.index(_PURE[material])] = 1.0
        bone, fat, porosity = self.bone_volume_fraction, self.marrow_fat_fraction, self.cortical_porosity
        row = MATERIALS.index("cancellous")
        table[row, names.index("cortical_bone")] = bone
        table[row, names.index("marrow_adipose")] = (1.0 - bone) * fat
        table[row, names.index("marrow_cells")] = (1.0 - bone) * (1.0 - fat)
        row = MATERIALS.index("cortical")
        table[row, names.index("cortical_bone")] = 1.0 - porosity
        table[row, names.index("cortical_pore")] = porosity
        return table


def _energy_kev(energy: float | str) -> float:
    """An energy in keV from a number or a key of ``ENERGIES_KEV``, checked against the tabulated range."""
    if isinstance(energy, str):
        if energy not in ENERGIES_KEV:
            raise ValueError(f"energy must be a number (keV) or one of {sorted(ENERGIES_KEV)}, got {energy!r}.")
        return ENERGIES_KEV[energy]
    low, high = NIST_ENERGIES_KEV[0], NIST_ENERGIES_KEV[-1]
    if not low <= float(energy) <= high:
        raise ValueError(f"energy must be in [{low}, {high}] keV, got {energy}.")
    return float(energy)


def mass_attenuation(component: str, energy: float | str) -> float:
    """μ/ρ (cm²/g) of a component at ``energy`` (keV or a key of ``ENERGIES_KEV``), log-log interpolated."""
    table = np.log(COMPONENTS[component].mass_attenuation)
    return float(np.exp(np.interp(np.log(_energy_kev(energy)), np.log(NIST_ENERGIES_KEV), table)))


def component_values(name: str) -> np.ndarray:
    """One property of every component, ``(len(COMPONENTS),)`` float64; ``name`` is a ``Component`` field."""
    return np.array([getattr(c, name) for c in COMPONENTS.values()], dtype=np.float64)


def linear_attenuation(energy: float | str) -> np.ndarray:
    """Linear attenuation coefficients μ (1/mm) of the components at ``energy``, ``(len(COMPONENTS),)``."""
    mass = np.array([mass_attenuation(name, energy) for name in COMPONENTS])
    return mass * component_values("density") / 10.0  # cm²/g × g/cm³ = 1/cm; /10 → 1/mm


def material_values(name: str, tissue: Tissue | None = None) -> np.ndarray:
    """A linearly mixing property (``LINEAR_PROPERTIES``) of every material, ``(len(MATERIALS),)`` float64."""
    if name not in LINEAR_PROPERTIES:
        raise ValueError(f"name must be one of {LINEAR_PROPERTIES} (properties that mix by volume), got {name!r}.")
    return (tissue or Tissue()).composition() @ component_values(name)


def check_fractions(fractions: torch.Tensor, shape: tuple[int, int, int] | None = None) -> None:
    """Raise ``ValueError`` unless ``fractions`` is a float ``(..., len(MATERIALS), X, Y, Z)`` tensor; with ``shape``
    (a grid's), unless it is one study ``(len(MATERIALS), *shape)``."""
    if not isinstance(fractions, torch.Tensor) or not fractions.is_floating_point() or fractions.ndim < 4:
        raise ValueError("fractions must be a float tensor (..., len(MATERIALS), X, Y, Z).")
    if fractions.shape[-4] != len(MATERIALS):
        raise ValueError(f"fractions must have {len(MATERIALS)} materials {MATERIALS}, got {fractions.shape[-4]}.")
    if shape is not None and fractions.ndim != 4:
        raise ValueError(f"fractions must be one study (len(MATERIALS), X, Y, Z), got shape {tuple(fractions.shape)}.")
    if shape is not None and tuple(fractions.shape[-3:]) != tuple(shape):
        spatial = tuple(fractions.shape[-3:])
        raise ValueError(f"fractions spatial shape {spatial} does not match the grid {tuple(shape)}.")


def mix(fractions: torch.Tensor, values) -> torch.Tensor:
    """``Σ_m f_m · v_m`` over the material axis.

    Args:
        fractions: ``(..., M, X, Y, Z)`` volume fractions (any device).
        values: ``(M,)`` per-material values, or ``(C, M)`` for ``C`` properties at once.

    Returns:
        ``(..., X, Y, Z)``, or ``(..., C, X, Y, Z)`` for 2D ``values``, in ``fractions``' dtype and device.
    """
    values = torch.as_tensor(values, dtype=fractions.dtype, device=fractions.device)
    if values.ndim == 1:
        return torch.einsum("...mxyz,m->...xyz", fractions, values)
    return torch.einsum("...mxyz,cm->...cxyz", fractions, values)


def material_property(fractions: torch.Tensor, name: str, tissue: Tissue | None = None) -> torch.Tensor:
    """The volume of a property that mixes by volume (``LINEAR_PROPERTIES``): ``Σ_m f_m · value_m``.

    Args:
        fractions: ``(..., len(MATERIALS), X, Y, Z)`` volume fractions.
        name: ``"hu"`` (HU), ``"density"`` (g/cm³), ``"pd_water"`` or ``"pd_fat"`` (relative to water).
        tissue: the cancellous bone composition; ``Tissue()`` when omitted.

    Returns:
        ``(..., X, Y, Z)`` on ``fractions``' device.
    """
    check_fractions(fractions)
    return mix(fractions, material_values(name, tissue))


def attenuation(fractions: torch.Tensor, energy: float | str, tissue: Tissue | None = None,
                bone_scale: float = 1.0) -> torch.Tensor:
    """Linear attenuation coefficient volume μ (1/mm) at ``energy`` (keV in [30, 100] or a key of ``ENERGIES_KEV``).

    Args:
        fractions: ``(..., len(MATERIALS), X, Y, Z)`` volume fractions.
        energy: photon energy.
        tissue: the cancellous bone composition; ``Tissue()`` when omitted.
        bone_scale: share of bone tissue's attenuation above lean soft tissue's that is kept (1: all, 0: bone
            attenuates as muscle): every bone's contrast at once, in cortex and cancellous bone alike.

    Returns:
        ``(..., X, Y, Z)`` on ``fractions``' device.
    """
    check_fractions(fractions)
    mu = linear_attenuation(energy)
    if bone_scale != 1.0:
        bone, soft = list(COMPONENTS).index("cortical_bone"), list(COMPONENTS).index("muscle")
        mu[bone] = mu[soft] + bone_scale * (mu[bone] - mu[soft])
    return mix(fractions, (tissue or Tissue()).composition() @ mu)
