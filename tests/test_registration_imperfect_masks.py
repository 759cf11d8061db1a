"""Alignment with imperfect masks (issue 10): MRI masks cut short by one or two levels at either end, widened or
narrowed by a voxel (2.2 mm) a side, or with holes, against the phantom's exact truth; a 30 mm posture bend and
another person's MRI must still be rejected.

Before the shift along the spine was matched on the masks' row profiles, an MRI mask missing its lowest 70 mm was
aligned with its cut end on the DXA mask's end, 60–66 mm off and accepted; masks with holes were rejected.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from scipy import ndimage

from monai_spine.phantom.render.mri import MriPosture, render_mri
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.registration import (
    align_pair,
    apply_matrix,
    coronal_masks,
    mask_profile,
    match_profiles,
    rotation_deg,
    shared_stretch,
)
from monai_spine.registration.coronal import to_array, to_image

TRUNK = StudyConfig(dxa_whole_body=False)
SEEDS = (0, 2)
DEGRADATIONS = ("top 35", "top 70", "bottom 35", "bottom 70", "dilate", "erode", "holes")


def _masks(study, mri=None):
    """The study's DXA mask (1, W, H) and MRI mask (1, X, Y, Z) as the loaders give them."""
    mri = mri or study.mri.volumes
    dxa = MetaTensor(study.dxa.mask.to(torch.uint8)[None],
                     affine=torch.diag(torch.tensor([*study.dxa.image.pixel_mm, 1.0])))
    return dxa, MetaTensor(mri.spine_mask.to(torch.uint8)[None], affine=torch.as_tensor(mri.grid.affine_ras()))


def degrade(mri_mask, how: str):
    """The MRI mask made imperfect: ``"top 35"`` / ``"bottom 70"`` drop that many mm (one or two levels) at an end,
    ``"dilate"`` / ``"erode"`` grow or shrink it by one voxel (2.2 mm) across and in depth, ``"holes"`` punches
    twelve 11 × 9 mm holes through it, inside its outline, ``"ragged"`` grows or shrinks each slice across by a
    random 0–3 voxels."""
    mask = mri_mask[0].numpy() > 0
    spacing = np.linalg.norm(np.asarray(mri_mask.affine)[:3, :3], axis=0)
    rows = np.flatnonzero(mask.any(axis=(0, 1)))
    kind, _, length = how.partition(" ")
    if kind in ("top", "bottom"):
        cut = int(round(float(length) / spacing[2]))
        if kind == "top":
            mask[..., : rows[0] + cut] = False
        else:
            mask[..., rows[-1] - cut + 1 :] = False
    elif kind in ("dilate", "erode"):
        across = np.zeros((3, 3, 3), bool)
        across[:, 1, 1] = across[1, :, 1] = True
        mask = (ndimage.binary_dilation if kind == "dilate" else ndimage.binary_erosion)(mask, across)
    elif kind == "ragged":  # a segmentation that broke up: every slice's sides cut or grown by 0-3 voxels
        rng = np.random.default_rng(1)
        across = np.zeros((3, 3), bool)
        across[:, 1] = True
        for z in rows:
            grow = int(rng.integers(-3, 4))
            if grow:
                change = ndimage.binary_dilation if grow > 0 else ndimage.binary_erosion
                mask[..., z] = change(mask[..., z], across, iterations=abs(grow))
    else:
        inside = np.argwhere(ndimage.binary_erosion(mask.any(axis=1), iterations=4))
        for x, z in inside[np.random.default_rng(0).choice(len(inside), 12, replace=False)]:
            mask[x - 2 : x + 3, :, z - 1 : z + 2] = False
    return MetaTensor(torch.as_tensor(mask.astype(np.uint8))[None], affine=mri_mask.affine)


def _error_mm(matrix, truth, dxa_mask, mri_mask) -> float:
    """Displacement error at the centroid of the (whole) MRI spine mask's projection, mm."""
    moving = coronal_masks(dxa_mask, mri_mask)[1]
    centre = (np.argwhere(to_array(moving) > 0) * moving.GetSpacing()).mean(axis=0, keepdims=True)
    return float(np.linalg.norm(apply_matrix(matrix, centre) - apply_matrix(truth, centre)))


@pytest.fixture(scope="module")
def studies():
    return [make_study(seed, TRUNK, posture=False) for seed in SEEDS]


@pytest.mark.parametrize("how", DEGRADATIONS)
def test_imperfect_mri_masks_are_recovered_and_accepted(studies, how):
    for study in studies:
        dxa_mask, mri_mask = _masks(study)
        truth = study.mri.volumes.matrix_mri_to_dxa(study.dxa.image)
        alignment = align_pair(dxa_mask, degrade(mri_mask, how))
        assert alignment.accepted, (study.seed, alignment.reason)
        assert not any("ragged" in warning for warning in alignment.warnings), alignment.warnings
        # the masks' ends fix the height, and the MRI mask's lower end, the S1 body's flat axial bottom, is quantised
        # to the MRI's 3 mm slices: ±1.5 mm from the DXA mask's under the true matrix (-1.9 to 1.6 mm on seeds 0-3),
        # with 0.3-0.7 mm across (docs/alignment.md, Limits)
        assert _error_mm(alignment.matrix_mri_to_dxa, truth, dxa_mask, mri_mask) <= 2.0, study.seed
        assert abs(alignment.rotation_deg - rotation_deg(truth)) <= 0.2, study.seed


def test_degrading_changes_the_masks_as_stated(studies):
    """The degradations do what the tests say: 35 mm shorter, wider, narrower, same outline with holes."""
    _, mri_mask = _masks(studies[0])
    rows = lambda m: np.flatnonzero(m[0].numpy().any(axis=(0, 1)))  # noqa: E731
    assert len(rows(mri_mask)) - len(rows(degrade(mri_mask, "top 35"))) == round(35 / 3.0)
    assert rows(degrade(mri_mask, "bottom 70"))[-1] < rows(mri_mask)[-1] - 20
    count = [int(degrade(mri_mask, how)[0].sum()) for how in ("dilate", "erode", "holes")]
    assert count[0] > int(mri_mask[0].sum()) > count[2] > count[1]
    projection = mri_mask[0].numpy().any(axis=1)
    assert (degrade(mri_mask, "holes")[0].numpy().any(axis=1) != projection).sum() > 100


def test_a_spine_bent_by_30_mm_is_rejected_even_with_imperfect_masks(studies):
    study = studies[0]
    length = study.shape.length_mm
    bent = render_mri(study.raster.fractions, study.raster.spine_mask, study.grid, torch.Generator().manual_seed(0),
                      study.mri.volumes.pose, MriPosture(bend_mm=30.0, start_z_mm=0.6 * length, end_z_mm=length))
    dxa_mask, mri_mask = _masks(study, bent)
    for how in ("bottom 35", "dilate", "erode"):
        alignment = align_pair(dxa_mask, degrade(mri_mask, how))
        assert not alignment.accepted, how
        assert "along the spine" in alignment.reason or "centre lines" in alignment.reason, alignment.reason


def test_another_persons_mri_is_rejected_even_with_imperfect_masks(studies):
    dxa_mask, other = _masks(studies[0])[0], _masks(studies[1])[1]
    for how in ("top 35", "bottom 70", "dilate", "erode"):
        alignment = align_pair(dxa_mask, degrade(other, how))
        assert not alignment.accepted, how
        record = json.dumps(alignment.to_dict(), allow_nan=False)
        assert "inf" not in alignment.reason and "nan" not in alignment.reason and "Infinity" not in record


def test_a_ragged_mask_is_named_so_a_rejection_points_at_the_segmentation(studies):
    """QC tells an imperfect mask from another person: another person's exact MRI mask is rejected as a different
    spine; the same mask made ragged (as a segmentation that broke up) is rejected too, and the reason says that a
    segmentation failure is likelier; the right person's ragged mask gets the warning whatever the verdict."""
    dxa_mask, own = _masks(studies[0])
    other = _masks(studies[1])[1]
    plain = align_pair(dxa_mask, other)
    assert not plain.accepted and "segmentation failure" not in plain.reason and "another person" in plain.reason
    ragged = align_pair(dxa_mask, degrade(other, "ragged"))
    assert not ragged.accepted and ragged.reason.endswith(
        "the MRI spine mask is ragged: a segmentation failure is likelier than another person; check the masks")
    assert any(w.startswith("the MRI spine mask is ragged: its width jumps by more than 3 mm") for w in ragged.warnings)
    assert not any("DXA spine mask is ragged" in w for w in ragged.warnings)
    assert any("MRI spine mask is ragged" in w for w in align_pair(dxa_mask, degrade(own, "ragged")).warnings)


def test_alignment_json_reports_the_shift_along_the_spine(studies):
    dxa_mask, mri_mask = _masks(studies[0])
    record = json.loads(json.dumps(align_pair(dxa_mask, degrade(mri_mask, "bottom 70")).to_dict(), allow_nan=False))
    image = record["stages"]["image"]
    assert {"spine_shift_mm", "profile_residual_mm", "width_offset_mm", "shared_height_mm"} <= set(image)
    assert image["shared_height_mm"] > 200.0 and image["profile_residual_mm"] < 2.0
    assert "outline_offset_mm" in record["stages"]["spine"]


def test_profile_match_finds_a_known_shift_of_a_shorter_wider_mask():
    """A column whose width varies irregularly along z, and a copy 25 mm lower, 6 mm wider, 4 mm to the right and
    missing its top 60 mm: the profiles match at exactly that shift, with the width error as the offset."""
    rng = np.random.default_rng(1)
    half_width = 15.0 + np.repeat(rng.uniform(-3.0, 3.0, 40), 10)  # 1 mm rows, a new width every 10 mm

    def column(shift_z, shift_x, extra, start):
        mask = np.zeros((120, 500), bool)
        for row in range(start, 400):
            centre = 60 + shift_x + 0.03 * row
            mask[int(round(centre - half_width[row] - extra)) : int(round(centre + half_width[row] + extra)) + 1,
                 row + 50 + shift_z] = True
        return to_image(mask, (1.0, 1.0))

    match = match_profiles(mask_profile(column(0, 0, 0, 0)), mask_profile(column(25, 4, 3, 60)), 100.0)
    assert match.shift_mm[1] == pytest.approx(-25.0) and match.shift_mm[0] == pytest.approx(-4.0, abs=0.6)
    assert match.width_offset_mm == pytest.approx(-6.0, abs=0.1) and match.residual_mm < 0.6


def test_shared_stretch_keeps_matching_ends_and_drops_differing_ones():
    z = np.arange(0.0, 301.0)
    fixed = np.stack([np.zeros_like(z), z], axis=1)  # the DXA outline spans z 0–300 mm
    moving = np.stack([np.zeros(261), np.arange(2.0, 263.0)], axis=1)  # top within 5 mm, bottom 38 mm short
    kept = moving[shared_stretch(fixed, moving, end_mm=5.0), 1]
    assert kept.min() == 2.0 and kept.max() == 257.0
