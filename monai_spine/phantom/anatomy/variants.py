"""Anatomical variants drawn per study: the number of rib pairs, of lumbar vertebrae and a transitional L5.

Prevalences (adult populations, approximate; sources in ``docs/phantom_anatomy.md``): 11 rib pairs (no 12th rib)
about 5 %, 13 (a cervical rib on C7) about 1 %; a lumbosacral transitional vertebra about 15 % (reported 4–35 %),
half of them an enlarged L5 transverse process (Castellvi type I, at least 19 mm high) and half a process reaching
down to the sacral ala (types II–III, a pseudo-joint or fusion); 4 or 6 lumbar vertebrae about 5 % each. The
rib pairs and the transitional processes change neither the labels nor the spine column; the lumbar count changes
which levels there are (:func:`~.spine.place_vertebrae`): with 4 there is no L5 (L4 sits on the sacrum), with 6 an
L6 (a lumbarised S1) sits between L5 and the sacrum, in the spine column and the truth's ``vertebrae`` as ``"L6"``
with label 0, as TotalSegmentator has no L6. The transitional processes belong to the lowest lumbar vertebra.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .primitives import ArcTube
from .spine import Vertebra, posterior_elements

__all__ = ["RIB_PAIRS", "LUMBAR_COUNT", "TRANSITIONAL_L5", "Variants", "apply_rib_pairs", "apply_transitional_l5",
           "sample_variants"]

RIB_PAIRS = {11: 0.05, 12: 0.94, 13: 0.01}
"""Number of rib pairs → share of people."""
LUMBAR_COUNT = {4: 0.05, 5: 0.90, 6: 0.05}
"""Number of lumbar vertebrae → share of people (numerical variants about 5–10 % of spines, both ways: Tins BJ,
Balain B, *Incidence of numerical variants and transitional lumbosacral vertebrae on whole-spine MRI*, Insights
Imaging 2016;7(2):199–203; 5 % each is our round assumption)."""
TRANSITIONAL_L5 = {"none": 0.85, "enlarged": 0.075, "articulating": 0.075}
"""L5 transverse processes: normal, enlarged (Castellvi I) or reaching the sacral ala (Castellvi II–III) → share."""
ENLARGED_PROCESS_HALF_HEIGHT_MM = 10.0
"""Half the cranio-caudal height of an enlarged L5 transverse process, mm (Castellvi I: at least 19 mm)."""
CERVICAL_RIB_END_DEG = 0.0
"""Elliptic angle where a cervical rib ends (0 = its lateral point; most are incomplete)."""


@dataclass(frozen=True)
class Variants:
    """One person's anatomical variants.

    Args:
        rib_pairs: 11 (no 12th rib), 12, or 13 (a cervical rib on each side of C7).
        transitional_l5: ``"none"``, ``"enlarged"`` (Castellvi I) or ``"articulating"`` (Castellvi II–III), of the
            lowest lumbar vertebra.
        lumbar_count: 4, 5 or 6 lumbar vertebrae.
    """

    rib_pairs: int = 12
    transitional_l5: str = "none"
    lumbar_count: int = 5

    def __post_init__(self):
        if self.rib_pairs not in RIB_PAIRS:
            raise ValueError(f"rib_pairs must be one of {sorted(RIB_PAIRS)}, got {self.rib_pairs}.")
        if self.transitional_l5 not in TRANSITIONAL_L5:
            raise ValueError(f"transitional_l5 must be one of {list(TRANSITIONAL_L5)}, got {self.transitional_l5!r}.")
        if self.lumbar_count not in LUMBAR_COUNT:
            raise ValueError(f"lumbar_count must be one of {sorted(LUMBAR_COUNT)}, got {self.lumbar_count}.")


def sample_variants(rng: np.random.Generator) -> Variants:
    """Variants drawn with the population shares of :data:`RIB_PAIRS`, :data:`TRANSITIONAL_L5` and
    :data:`LUMBAR_COUNT`."""
    pairs = int(rng.choice(list(RIB_PAIRS), p=list(RIB_PAIRS.values())))
    l5 = str(rng.choice(list(TRANSITIONAL_L5), p=list(TRANSITIONAL_L5.values())))
    lumbar = int(rng.choice(list(LUMBAR_COUNT), p=list(LUMBAR_COUNT.values())))
    return Variants(rib_pairs=pairs, transitional_l5=l5, lumbar_count=lumbar)


def apply_rib_pairs(ribs: list[ArcTube], c7: Vertebra, t1: Vertebra, rib_pairs: int) -> list[ArcTube]:
    """The 12 rib pairs of :func:`~.thorax.place_ribs` less the 12th pair (11) or plus a cervical rib pair on C7
    (13): the first rib moved up from T1 to C7, ending at :data:`CERVICAL_RIB_END_DEG`."""
    if rib_pairs == 11:
        return [rib for rib in ribs if not rib.name.endswith("_12")]
    if rib_pairs == 12:
        return list(ribs)
    lift = c7.centre - t1.centre
    end = float(np.deg2rad(CERVICAL_RIB_END_DEG))
    cervical = [
        replace(
            rib,
            name=rib.name[:-1] + "0",
            centre=rib.centre + lift,
            angles=(rib.angles[0], end),
            neck=replace(rib.neck, start=rib.neck.start + lift, end=rib.neck.end + lift),
        )
        for rib in ribs
        if rib.name.endswith("_1")
    ]
    return cervical + list(ribs)


def apply_transitional_l5(vertebrae: list[Vertebra], kind: str) -> list[Vertebra]:
    """The lowest lumbar vertebra (L5, or L4 or L6) with enlarged transverse processes (``"enlarged"``), or enlarged
    and reaching down to the top of the sacral alae (``"articulating"``); the vertebrae unchanged for ``"none"``."""
    if kind == "none":
        return list(vertebrae)
    l5, sacrum = vertebrae[-2], vertebrae[-1]
    dims = replace(l5.dims, process_radius=max(l5.dims.process_radius, ENLARGED_PROCESS_HALF_HEIGHT_MM))
    if kind == "articulating":
        tip = l5.to_world(posterior_elements(dims).transverse[0].end)
        ala_top = (sacrum.superior_endplate - tip) @ sacrum.superior_normal  # along the sacrum's inferior axis
        dims = replace(dims, transverse_drop=float(max(ala_top - 0.5 * dims.process_radius, 0.0)))
    return list(vertebrae[:-2]) + [replace(l5, dims=dims), sacrum]
