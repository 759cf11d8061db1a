"""Adult spine and torso anatomy of the digital phantom, by body part: geometry only (numpy), no rendering.

Modules: :mod:`.spine` (level table, vertebrae, posterior elements, discs, sacrum), :mod:`.head_neck` (C1–C6 on a
cervical lordosis above C7, the skull base, the mandible), :mod:`.thorax` (ribs, lungs,
heart, trachea, sternum), :mod:`.pelvis_limbs` (hip bones, femurs), :mod:`.body` (build, torso, fat layer) and
:mod:`.primitives` (rods, ellipsoids, arcs they are made of). Here they are assembled into an :class:`Anatomy`.
A new body part is a module of its own and one field of :class:`Anatomy`, set in :func:`build_anatomy`.

Everything is in the **phantom frame** (``grid.py``: x toward the patient's left, y anterior, z toward the feet), mm.
:mod:`monai_spine.phantom.raster` turns an :class:`Anatomy` into material volume fractions. The values and their
literature sources are listed in ``docs/phantom_anatomy.md``; the vertebra frame is described in :mod:`.spine`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .abdomen import BOWEL_WALL_MM, RENAL_FAT_MM, Abdomen, place_abdomen
from .body import Body, Torso, place_torso, sample_body
from .breasts import Breast, place_breasts
from .devices import Devices, Instrumentation, place_devices
from .head_neck import Neck, place_cervical, sample_cervical_lordosis
from .pelvis_limbs import Femur, HipBone, IliacWing, place_pelvis
from .primitives import ArcTube, Ellipsoid, Rod
from .shoulder import ShoulderGirdle, place_shoulder_girdle
from .spine import (
    CERVICAL_LEVELS,
    LEVEL_DIMS,
    LEVELS,
    POSTERIOR_CORTICAL_MM,
    SACRUM_BELOW_S1_ID,
    SPINE_LEVELS,
    TOTALSEGMENTATOR_IDS,
    VERTEBRA_LABELS,
    Disc,
    LevelDims,
    PosteriorElements,
    RotationSpec,
    Sacrum,
    Vertebra,
    _by_name,
    _CentrePath,
    _Line,
    level_label,
    level_spans,
    mobile_levels,
    place_discs,
    place_sacrum,
    place_vertebrae,
    posterior_elements,
    spine_length_mm,
    vertebra_axes,
)
from .thorax import Lung, Thorax, place_lungs_and_heart, place_ribs, place_sternum, place_thorax, place_trachea
from .variants import Variants, apply_rib_pairs, apply_transitional_l5, sample_variants

__all__ = [
    "LEVELS",
    "CERVICAL_LEVELS",
    "SPINE_LEVELS",
    "mobile_levels",
    "TOTALSEGMENTATOR_IDS",
    "SACRUM_BELOW_S1_ID",
    "VERTEBRA_LABELS",
    "LevelDims",
    "LEVEL_DIMS",
    "level_label",
    "spine_length_mm",
    "level_spans",
    "vertebra_axes",
    "Vertebra",
    "Disc",
    "Rod",
    "PosteriorElements",
    "posterior_elements",
    "place_vertebrae",
    "place_discs",
    "Sacrum",
    "place_sacrum",
    "Body",
    "sample_body",
    "Torso",
    "Thorax",
    "Lung",
    "Ellipsoid",
    "ArcTube",
    "IliacWing",
    "HipBone",
    "Femur",
    "ShoulderGirdle",
    "Variants",
    "sample_variants",
    "Neck",
    "Abdomen",
    "Breast",
    "Devices",
    "Instrumentation",
    "BOWEL_WALL_MM",
    "RENAL_FAT_MM",
    "Anatomy",
    "build_anatomy",
]


@dataclass(frozen=True, eq=False)
class Anatomy:
    """A placed phantom: spine and body parts in the phantom frame, mm.

    Args:
        vertebrae: C1…C6 (:func:`~.head_neck.place_cervical`), C7…L5 (…L4 or …L6 with ``variants.lumbar_count``)
            and the sacrum (:func:`place_vertebrae`).
        discs: C2/C3 … L5/S1 (none below the atlas).
        sacrum: the sacrum's shape (its :class:`Vertebra` record is ``vertebrae[-1]``).
        torso: the skin envelope and fat layer.
        thorax: the rib cage's inner surface.
        lungs: left and right lung.
        heart: the heart (lean tissue, cut out of the left lung).
        trachea: the air column from the neck to the carina, as a :class:`Rod` (air).
        ribs: left and right ribs: T1…T12, less T12 or plus C7 with ``variants.rib_pairs`` 11 or 13.
        sternum: the sternum, as a :class:`Rod`.
        hips: left and right hip bones.
        femurs: left and right upper femurs.
        shoulders: clavicles, scapulae and manubrium (:mod:`.shoulder`).
        body: the build it was made with.
        variants: the anatomical variants it has (rib pairs, transitional L5; :mod:`.variants`).
        texture_seed: seed of the trabecular texture of cancellous bone (``rasterise``); ``None`` for uniform bone.
        neck: the cervical spine's lordosis, the skull base (basion) and the mandible (:mod:`.head_neck`).
        abdomen: the abdominal organs, bowel and bowel gas (:mod:`.abdomen`); ``None`` for none.
        breasts: a female build's breasts (:mod:`.breasts`), empty for a male build.
        devices: the foreign objects (instrumentation, ECG electrodes and leads, buttons; :mod:`.devices`).
        organ_texture_seed: seed of the organs' texture (``rasterise``); ``None`` for uniform organs.
    """

    vertebrae: list[Vertebra]
    discs: list[Disc]
    sacrum: Sacrum
    torso: Torso
    thorax: Thorax
    lungs: tuple[Lung, Lung]
    heart: Ellipsoid
    trachea: Rod
    ribs: list[ArcTube]
    sternum: Rod
    hips: list[HipBone]
    femurs: list[Femur]
    shoulders: ShoulderGirdle
    body: Body
    variants: Variants = Variants()
    texture_seed: int | None = None
    neck: Neck | None = None
    abdomen: Abdomen | None = None
    breasts: tuple[Breast, ...] = ()
    devices: Devices = Devices()
    organ_texture_seed: int | None = None


def build_anatomy(
    centre_line_fine,
    body: Body = Body(),
    axial_rotation_deg: RotationSpec = None,
    rng: np.random.Generator | None = None,
    variants: Variants | None = None,
    soft_tissue: bool = True,
) -> Anatomy:
    """Place the whole phantom on a centre line.

    Args:
        centre_line_fine: ``(M, 3)`` centre line, mm, top of C7 to top of S1 (z increasing); its arc length should be
            about :func:`spine_length_mm` ``(body.scale)``.
        body: the build (torso, fat, skeletal scale).
        axial_rotation_deg: vertebral axial rotation, see :func:`place_vertebrae`.
        rng: the anatomical variants (:func:`sample_variants`), then the per-level skeletal variation (see
            :func:`place_vertebrae`), the cervical lordosis and the cervical levels' variation, and the seed of the
            trabecular texture; ``None`` for the reference dimensions, no variants, the middle cervical lordosis and
            uniform cancellous bone. The soft tissue (organs, gas) is drawn from a stream of its own seeded by the
            texture seed (a fixed one without ``rng``, and no foreign objects), so the skeleton and every draw after
            :func:`build_anatomy` are those of a phantom without it.
        variants: the anatomical variants to build (rib pairs, lumbar count, transitional processes); drawn from
            ``rng`` when omitted (none without ``rng``). Given, they are not drawn.
        soft_tissue: place the abdominal organs and bowel gas, breasts and foreign objects (else none of them).

    Returns:
        :class:`Anatomy` in the phantom frame.
    """
    if variants is None:
        variants = Variants() if rng is None else sample_variants(rng)
    vertebrae = place_vertebrae(centre_line_fine, body.scale, axial_rotation_deg, rng, variants.lumbar_count,
                                 (body.vertebral_body_width, body.vertebral_body_depth),
                                 body.vertebral_body_posterior_exponent)
    vertebrae = apply_transitional_l5(vertebrae, variants.transitional_l5)
    line = _Line(np.asarray(centre_line_fine, dtype=np.float64))
    path = _CentrePath(centre_line_fine)
    neck = place_cervical(path.points[0], path.tangent(0.0), body.scale, sample_cervical_lordosis(rng), rng)
    vertebrae = neck.vertebrae + vertebrae
    sacrum = place_sacrum(path.points[-1], path.tangent(path.length), vertebrae[-1].dims, body.scale)
    torso = place_torso(vertebrae, line, body)
    ribs = place_ribs(vertebrae, line, body)
    thorax = place_thorax(ribs, line, body.scale)
    lungs, heart = place_lungs_and_heart(vertebrae, thorax, body.scale)
    hips, femurs = place_pelvis(sacrum, body.scale)
    sternum = place_sternum(ribs, body.scale)
    shoulders = place_shoulder_girdle(vertebrae, ribs, sternum, body)
    named = _by_name(vertebrae)
    ribs = apply_rib_pairs(ribs, named["C7"], named["T1"], variants.rib_pairs)
    texture_seed = None if rng is None else int(rng.integers(2**31))
    soft = np.random.default_rng(0 if texture_seed is None else [texture_seed, 1])
    abdomen = place_abdomen(vertebrae, torso, body.scale, soft) if soft_tissue else None
    breasts = place_breasts(vertebrae, torso, body.scale, soft) if soft_tissue else ()
    devices = place_devices(vertebrae, torso, bool(breasts), soft) if soft_tissue and rng is not None else Devices()
    organ_texture_seed = None if rng is None or not soft_tissue else int(soft.integers(2**31))
    return Anatomy(
        vertebrae=vertebrae,
        discs=place_discs(vertebrae),
        sacrum=sacrum,
        torso=torso,
        thorax=thorax,
        lungs=lungs,
        heart=heart,
        trachea=place_trachea(vertebrae, body.scale),
        ribs=ribs,
        sternum=sternum,
        hips=hips,
        femurs=femurs,
        shoulders=shoulders,
        body=body,
        variants=variants,
        texture_seed=texture_seed,
        neck=neck,
        abdomen=abdomen,
        breasts=breasts,
        devices=devices,
        organ_texture_seed=organ_texture_seed,
    )
