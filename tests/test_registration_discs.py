"""Stage 3 of the alignment (``monai_spine.registration.discs``): a synthetic DXA and MRI of one column whose discs
lie at known heights, the MRI placed 9 mm off along the spine; the stage must find the shift whatever the MRI's disc
contrast, and leave a pose alone when the images show no discs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.registration import align_pair, disc_stage
from monai_spine.registration.discs import dxa_disc_profile

DISC_PERIOD_MM, DISC_MM = 35.0, 10.0
TOP_MM, BOTTOM_MM = 20.0, 250.0


def _is_disc(height_mm: np.ndarray) -> np.ndarray:
    return np.mod(height_mm - TOP_MM, DISC_PERIOD_MM) >= DISC_PERIOD_MM - DISC_MM


def _dxa(discs: bool = True, seed: int = 0, top_mm: float = TOP_MM, noise: float = 0.1, arches: bool = False
         ) -> tuple[MetaTensor, MetaTensor]:
    """A 1 mm DXA ``(1, 120, 280)``: a column 40 mm wide over rows ``top_mm``–250 mm, bodies 1.0 and discs 0.3 on
    0.1, with Gaussian noise of SD ``noise``; ``arches``: the middle 16 mm of the column is bone at every row, as
    the spinous processes and laminae lie over the disc spaces in an AP projection."""
    rows = np.arange(280, dtype=np.float64)
    mask = np.zeros((120, 280), dtype=np.uint8)
    mask[40:80, int(top_mm) : int(BOTTOM_MM)] = 1
    bone = np.where(_is_disc(rows) & discs, 0.3, 1.0)[None, :] * mask + 0.1
    if arches:
        bone[52:68] = np.where(mask[52:68] > 0, 1.1, bone[52:68])
    bone = bone + np.random.default_rng(seed).normal(0, noise, bone.shape)
    affine = torch.diag(torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64))
    return (MetaTensor(torch.as_tensor(bone[None], dtype=torch.float32), affine=affine),
            MetaTensor(torch.as_tensor(mask[None]), affine=affine))


def _mri(marrow: float, disc: float, top_mm: float = TOP_MM, bottom_mm: float = BOTTOM_MM, texture: float = 0.0
         ) -> tuple[MetaTensor, MetaTensor]:
    """A ``(1, 120, 100, 94)`` MRI of 1 × 1 × 3 mm voxels: the same column (x 40–80 mm, y 30–70 mm), its mask over
    ``top_mm``–``bottom_mm``, with its discs at the DXA's heights when the matrix is the identity; ``texture``: the
    SD of a random value per slice added inside the column (marrow that varies along the spine)."""
    heights = np.arange(94) * 3.0
    mask = np.zeros((120, 100, 94), dtype=np.uint8)
    mask[40:80, 30:70, (heights >= top_mm) & (heights < bottom_mm)] = 1
    slices = np.where(_is_disc(heights), disc, marrow) + np.random.default_rng(1).normal(0, texture, heights.shape)
    values = slices[None, None, :] * mask + 0.05
    affine = torch.diag(torch.tensor([1.0, 1.0, 3.0, 1.0], dtype=torch.float64))
    return (MetaTensor(torch.as_tensor(values[None], dtype=torch.float32), affine=affine),
            MetaTensor(torch.as_tensor(mask[None]), affine=affine))


def _moved(tz_mm: float) -> np.ndarray:
    matrix = np.eye(3)
    matrix[1, 2] = tz_mm
    return matrix


@pytest.mark.parametrize(("marrow", "disc", "sign"), [(0.6, 0.2, 1.0), (0.4, 0.9, -1.0)])
def test_disc_stage_finds_the_shift_along_the_spine_for_dark_and_bright_discs(marrow, disc, sign):
    """In-phase-like (dark discs) and water-like (bright discs) MRIs placed 9 mm too low come back within a grid
    step, the sign read from the match with the DXA's gaps."""
    dxa, dxa_mask = _dxa()
    mri, mri_mask = _mri(marrow, disc)
    stage = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(9.0))
    assert stage.applied and stage.disc_sign == sign
    assert stage.shift_mm == pytest.approx(-9.0, abs=1.0)
    assert stage.matrix_mri_to_dxa[1, 2] == pytest.approx(0.0, abs=1.0)
    assert stage.ncc > 0.6 and stage.swing > 1.0
    assert stage.periodicity > 0.8 and stage.period_mm == pytest.approx(DISC_PERIOD_MM, abs=1.0)


def test_dxa_profile_sees_the_discs_beside_the_arches():
    """In an AP projection the posterior arches lie over the middle of each disc space; the DXA profile averages 90 %
    of the mask's width, so the discs' dip keeps over half its depth (0.39 of 0.7: the column's sides); over the
    middle half alone it would keep a fifth."""
    dxa, dxa_mask = _dxa(noise=0.0, arches=True)
    heights, values = dxa_disc_profile(dxa, dxa_mask)
    disc, body = _is_disc(heights), ~_is_disc(heights)
    assert values[body].mean() - values[disc].mean() > 0.35


def test_disc_stage_leaves_the_pose_without_discs_in_the_dxa():
    """A DXA whose column is uniform bone, with no disc spaces, gives no pattern to match: nothing moves. (A noisy
    DXA without discs is not always caught: 4 of 30 noise draws of this column pass the correlation's gates;
    ``docs/alignment.md``.)"""
    dxa, dxa_mask = _dxa(discs=False, noise=0.0)
    mri, mri_mask = _mri(0.6, 0.2)
    stage = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(9.0))
    assert not stage.applied
    assert np.array_equal(stage.matrix_mri_to_dxa, _moved(9.0))


def test_disc_stage_leaves_the_pose_where_the_mri_shows_no_discs():
    """The phantom's case: an MRI whose discs are as bright as its marrow, the marrow varying from slice to slice.
    The DXA's discs still correlate with some stretch of that texture, but the MRI's profile does not repeat with a
    level's period, so nothing moves."""
    dxa, dxa_mask = _dxa()
    mri, mri_mask = _mri(0.6, 0.6, texture=0.05)
    stage = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(9.0))
    assert stage.periodicity < 0.65 and np.isfinite(stage.ncc)
    assert not stage.applied
    assert np.array_equal(stage.matrix_mri_to_dxa, _moved(9.0))


def test_disc_stage_searches_half_a_level_either_way():
    """The search reaches half the MRI's level (its profile's 35 mm period): 16 mm off comes back within a grid step;
    25 mm off, more than half a level, lines the discs up with the neighbouring level's, one level (35 mm) off.
    Only the ends of the masks could tell the two apart (``docs/alignment.md``, the stage's known limit)."""
    dxa, dxa_mask = _dxa()
    mri, mri_mask = _mri(0.6, 0.2)
    near = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(16.0))
    assert near.applied and near.matrix_mri_to_dxa[1, 2] == pytest.approx(0.0, abs=1.0)
    far = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(25.0))
    assert abs(far.shift_mm) <= DISC_PERIOD_MM / 2
    assert far.applied and far.matrix_mri_to_dxa[1, 2] == pytest.approx(DISC_PERIOD_MM, abs=1.0)


def test_align_pair_runs_stage_three_only_with_both_images():
    """Without the images the result has no disc stage and ``alignment.json`` no ``stages.discs``; with them it has
    both, and, the stage having applied, the outline refit at its height (``stages.refit``), whose matrix is the
    result's and keeps the stage's height; the pose is within 1.5 mm of the truth (the identity) along the spine:
    this featureless column's outline lets stage 2 slide along it, its ends then apart."""
    dxa, dxa_mask = _dxa()
    mri, mri_mask = _mri(0.6, 0.2)
    masks_only = align_pair(dxa_mask, mri_mask)
    assert masks_only.disc_stage is None and masks_only.refit_stage is None
    assert not {"discs", "refit"} & set(masks_only.to_dict()["stages"])
    with_images = align_pair(dxa_mask, mri_mask, dxa_image=dxa, mri_image=mri)
    stages = with_images.to_dict()["stages"]
    assert set(stages["discs"]) == {"shift_mm", "ncc", "swing", "disc_sign", "periodicity", "period_mm",
                                    "height_open", "applied"}
    assert with_images.disc_stage.applied and stages["refit"]["converged"]
    assert np.array_equal(with_images.matrix_mri_to_dxa, with_images.refit_stage.matrix_mri_to_dxa)
    assert with_images.matrix_mri_to_dxa[1, 2] == pytest.approx(with_images.disc_stage.matrix_mri_to_dxa[1, 2],
                                                                abs=0.05)
    assert abs(with_images.matrix_mri_to_dxa[1, 2]) < 1.5, with_images.disc_stage


def test_disc_stage_scores_but_does_not_apply_where_the_masks_fix_the_height():
    dxa, dxa_mask = _dxa()
    mri, mri_mask = _mri(0.6, 0.2)
    stage = disc_stage(dxa, dxa_mask, mri, mri_mask, _moved(9.0), height_open=False)
    assert stage.shift_mm == pytest.approx(-9.0, abs=1.0) and not stage.applied
    assert np.array_equal(stage.matrix_mri_to_dxa, _moved(9.0))


def test_align_pair_with_the_height_left_open_ends_at_the_true_height():
    """Both masks cut by their images' top edge and the MRI's ending 40 mm short at the bottom (a segmentation that
    stops a level early): no end fixes the height, the stage runs, and the pose ends within 1.5 mm of the truth (the
    identity) along the spine."""
    dxa, dxa_mask = _dxa(top_mm=0.0)
    mri, mri_mask = _mri(0.6, 0.2, top_mm=0.0, bottom_mm=BOTTOM_MM - 40.0)
    alignment = align_pair(dxa_mask, mri_mask, dxa_image=dxa, mri_image=mri)
    assert alignment.disc_stage.height_open
    assert abs(alignment.matrix_mri_to_dxa[1, 2]) < 1.5, alignment.disc_stage
    dxa, dxa_mask = _dxa(top_mm=0.0)
    mri, mri_mask = _mri(0.6, 0.2, top_mm=0.0, bottom_mm=BOTTOM_MM - 40.0)
    blob = mri_mask.clone()
    blob[0, 32:88, 30:70, 40:50] = 1
    cut = align_pair(dxa_mask, blob, dxa_image=dxa, mri_image=mri)
    assert cut.disc_stage.applied and not cut.accepted and "differ in shape" in cut.reason, cut.reason
    assert any("a level off" in warning for warning in cut.warnings), cut.warnings


def test_discs_matched_with_no_end_agreeing_leave_the_shape_checks_in_force():
    """A level is 35 mm: ends 30 mm apart at the discs' height, or agreeing only where an image's edge cuts the
    spine (``inf``), may be a level off, so the masks' shape findings still reject; 5 mm apart, an end confirms the
    height and they become warnings."""
    from monai_spine.registration.alignment import _discs_vouch
    from monai_spine.registration.discs import DiscStage

    stage = DiscStage(np.eye(3), 10.0, 0.6, 1.0, 1.0, 0.8, DISC_PERIOD_MM, True, True)
    finding = [("the masks' centre and width along the spine differ by 5.00 mm (RMS)", "another person?")]
    for gaps in ([30.0, 40.0], [float("inf"), 30.0]):
        shape, warnings = _discs_vouch(stage, gaps, finding)
        assert shape == finding and "a level off" in warnings[0] and "8.8 mm" in warnings[0], warnings
    shape, warnings = _discs_vouch(stage, [float("inf"), 5.0], finding)
    assert shape == [] and warnings[0].startswith(finding[0][0]) and "another person?" not in warnings[0]


def test_disc_sign_follows_the_match_with_the_dxa_not_the_profile_skewness():
    """Dark discs (narrow dips) whose profile two bright slices skew positive, as fat in a body did on a real
    render: the skewness would call them bright; matching the DXA's gaps calls them dark. Bright discs: −1."""
    from scipy import stats

    from monai_spine.registration.discs import PROFILE_STEP_MM, detrended_profile, disc_sign, shift_correlations

    grid = np.arange(0.0, 250.0, PROFILE_STEP_MM)
    dips = np.where(_is_disc(grid), -1.0, 0.0)
    dxa = detrended_profile(grid, dips + np.random.default_rng(0).normal(0, 0.2, grid.size), grid)
    spiked = dips.copy()
    spiked[(grid > 60) & (grid < 63)] = spiked[(grid > 130) & (grid < 133)] = 6.0
    mri = detrended_profile(grid, spiked, grid)
    assert stats.skew(mri) > 0
    assert disc_sign(shift_correlations(dxa, mri, DISC_PERIOD_MM)) == 1.0
    bright = detrended_profile(grid, -dips, grid)
    assert disc_sign(shift_correlations(dxa, bright, DISC_PERIOD_MM)) == -1.0
