"""MRI → DXA alignment (monai_spine.registration, `monai-spine align`) against the phantom's exact truth.

The phantom's ``matrix_mri_to_dxa`` maps the MRI coronal frame to the DXA frame. Errors are measured as the
rotation difference and the displacement difference at the centroid of the MRI's projected spine mask (the
translation error where the spine is; a rotation error adds to it away from the spine).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing

from monai_spine.cli import main
from monai_spine.errors import SpineInputError
from monai_spine.phantom.render.mri import MriPosture, render_mri
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import write_study
from monai_spine.registration import (
    AlignmentConfig,
    MaskBoundary,
    align_pair,
    apply_matrix,
    boundary_points,
    closest_point_fit,
    coronal_masks,
    coronal_projection,
    mask_iou,
    rigid_matrix,
    rotation_deg,
)
from monai_spine.registration.coronal import to_array, to_image
from monai_spine.registration.rigid import from_sitk, to_sitk

TRUNK = StudyConfig(dxa_whole_body=False)
RIGID_SEEDS = (0, 1, 2)
POSTURE_SEED = 37  # with TRUNK and posture=True: a bend of about 18 mm at the bottom of the spine
CONTRACT_KEYS = {"matrix_mri_to_dxa", "rotation_deg", "translation_mm", "iou", "accepted", "iou_threshold", "stages",
                 "reason", "warnings", "outline_rms_mm", "profile_residual_mm"}
# the contract's keys, the warnings and the final pose's shape checks (docs/commands/align.md)


def _masks(study, mri=None):
    """The study's DXA mask and MRI mask as the loaders give them: (1, W, H) and (1, X, Y, Z) MetaTensors."""
    mri = mri or study.mri.volumes
    dxa = MetaTensor(study.dxa.mask.to(torch.uint8)[None],
                     affine=torch.diag(torch.tensor([*study.dxa.image.pixel_mm, 1.0])))
    volume = MetaTensor(mri.spine_mask.to(torch.uint8)[None], affine=torch.as_tensor(mri.grid.affine_ras()))
    return dxa, volume


def _errors(matrix, truth, dxa_mask, mri_mask) -> tuple[float, float]:
    """(rotation error in degrees, displacement error in mm at the MRI spine's centroid)."""
    moving = to_array(coronal_masks(dxa_mask, mri_mask)[1])
    centre = (np.argwhere(moving > 0) * affine_to_spacing(dxa_mask.affine, r=2).numpy()).mean(axis=0, keepdims=True)
    shift = apply_matrix(matrix, centre) - apply_matrix(truth, centre)
    return abs(rotation_deg(matrix) - rotation_deg(truth)), float(np.linalg.norm(shift))


@pytest.fixture(scope="module")
def rigid():
    """Three rigid pairs (trunk DXA) and one with a whole-body DXA: (study, dxa_mask, mri_mask, truth)."""
    studies = [make_study(seed, TRUNK, posture=False) for seed in RIGID_SEEDS] + [make_study(3, posture=False)]
    return [(s, *_masks(s), s.mri.volumes.matrix_mri_to_dxa(s.dxa.image)) for s in studies]


@pytest.fixture(scope="module")
def rigid_alignments(rigid):
    return [align_pair(dxa_mask, mri_mask) for _, dxa_mask, mri_mask, _ in rigid]


@pytest.fixture(scope="module")
def posture(rigid):
    """Posture-changed pairs: a phantom study drawn with one, and a rigid study's MRI re-rendered with a 10 mm bend."""
    drawn = make_study(POSTURE_SEED, TRUNK, posture=True)
    assert abs(drawn.mri.volumes.posture.bend_mm) > 10.0, "the phantom's draws changed: pick a seed with a large bend"
    study = rigid[0][0]
    length = study.shape.length_mm
    bent = render_mri(study.raster.fractions, study.raster.spine_mask, study.grid, torch.Generator().manual_seed(0),
                      study.mri.volumes.pose, MriPosture(bend_mm=10.0, start_z_mm=0.6 * length, end_z_mm=length))
    return [(drawn, *_masks(drawn)), (study, *_masks(study, bent))]


@pytest.fixture(scope="module")
def files(tmp_path_factory, rigid, posture):
    """The whole-body rigid study and the drawn posture study on disk."""
    root = tmp_path_factory.mktemp("align")
    write_study(rigid[-1][0], root / "rigid")
    write_study(posture[0][0], root / "posture")
    return root


def test_rigid_helpers_match_the_phantom_and_simpleitk():
    from monai_spine.phantom.render.mri import MriPose

    pose = MriPose(1.3, (5.0, -7.0), (10.0, 250.0))
    np.testing.assert_allclose(rigid_matrix(1.3, (5.0, -7.0), (10.0, 250.0)), pose.matrix(), atol=1e-12)
    matrix = rigid_matrix(-1.7, (140.0, 200.0), (30.0, 40.0))
    assert rotation_deg(matrix) == pytest.approx(-1.7)
    for centre in ((0.0, 0.0), (150.0, 300.0)):
        transform = to_sitk(matrix, centre)
        np.testing.assert_allclose(from_sitk(transform), matrix, atol=1e-9)
        dxa_point = apply_matrix(matrix, [[12.0, 34.0]])[0]
        np.testing.assert_allclose(transform.TransformPoint(dxa_point.tolist()), (12.0, 34.0), atol=1e-9)


def test_coronal_projection_is_in_the_mri_coronal_frame():
    volume = np.zeros((20, 7, 30), np.float32)
    volume[4, 3, 11] = 7.0
    projection = coronal_projection(volume, (2.0, 1.5, 3.0), (1.0, 1.0), reduce="max")
    assert projection.GetSize() == (39, 88)  # 19 × 2 mm and 29 × 3 mm at 1 mm
    column, row = np.unravel_index(np.argmax(to_array(projection)), to_array(projection).shape)
    assert (column, row) == (8, 33)  # x = 4 × 2 mm, z = 11 × 3 mm
    assert to_array(coronal_projection(volume, (2.0, 1.5, 3.0), (2.0, 3.0)))[4, 11] == pytest.approx(1.0)  # mean


def test_truth_convention_superimposes_the_masks(rigid):
    """The phantom's matrix, read as MRI coronal frame → DXA frame, lays one mask on the other, better than
    the matrix moved by 3 mm across, 5 mm along the spine or turned by 1° about the spine's centre."""
    for _, dxa_mask, mri_mask, truth in rigid:
        fixed, moving = coronal_masks(dxa_mask, mri_mask)
        best = mask_iou(fixed, moving, truth)
        assert best > 0.93
        centre = (np.argwhere(to_array(fixed) > 0) * fixed.GetSpacing()).mean(axis=0)
        for move in (rigid_matrix(0.0, (3.0, 0.0)), rigid_matrix(0.0, (0.0, -5.0)), rigid_matrix(1.0, (0, 0), centre)):
            assert mask_iou(fixed, moving, move @ truth) < best - 0.01


def test_spine_stage_alone_recovers_a_known_transform():
    """A tapered column and its copy moved by 1.5° and (8, −5) mm: ICP from the identity finds the move."""
    truth = rigid_matrix(1.5, (8.0, -5.0), (100.0, 200.0))

    def column(matrix):  # 1 mm pixels whose centres, mapped by matrix, fall in the column
        c, r = np.meshgrid(np.arange(200.0), np.arange(400.0), indexing="ij")
        x, z = np.moveaxis(apply_matrix(matrix, np.stack([c.ravel(), r.ravel()], 1)).reshape(200, 400, 2), -1, 0)
        return (np.abs(x - 100.0) <= 12.0 + 0.04 * (z - 60.0)) & (z >= 60.0) & (z <= 340.0)

    fixed, moving = to_image(column(np.linalg.inv(truth)), (1.0, 1.0)), to_image(column(np.eye(3)), (1.0, 1.0))
    stage = closest_point_fit(MaskBoundary(fixed), boundary_points(moving), np.eye(3))
    assert stage.converged and stage.rms_mm < 0.6
    assert abs(rotation_deg(stage.matrix_mri_to_dxa) - 1.5) < 0.05
    centre = [[100.0, 200.0]]
    assert np.linalg.norm(apply_matrix(stage.matrix_mri_to_dxa, centre) - apply_matrix(truth, centre)) < 0.3


def test_spine_stage_with_the_height_held_fits_only_the_rotation_and_the_lateral_offset():
    """The tapered column of the test above, started 1° and 6 mm across off and 4 mm along: with ``along_spine=False``
    (the refit after stage 3) the rotation and the lateral offset are found and the 4 mm along the column are kept;
    free, the fit also finds the height (the column's ends)."""
    truth = rigid_matrix(1.5, (8.0, -5.0), (100.0, 200.0))

    def column(matrix):
        c, r = np.meshgrid(np.arange(200.0), np.arange(400.0), indexing="ij")
        x, z = np.moveaxis(apply_matrix(matrix, np.stack([c.ravel(), r.ravel()], 1)).reshape(200, 400, 2), -1, 0)
        return (np.abs(x - 100.0) <= 12.0 + 0.04 * (z - 60.0)) & (z >= 60.0) & (z <= 340.0)

    fixed, moving = to_image(column(np.linalg.inv(truth)), (1.0, 1.0)), to_image(column(np.eye(3)), (1.0, 1.0))
    centre = np.array([[100.0, 200.0]])
    start = rigid_matrix(-1.0, (-6.0, 4.0), apply_matrix(truth, centre)[0]) @ truth
    for along_spine, height_error in ((False, 4.0), (True, 0.0)):
        stage = closest_point_fit(MaskBoundary(fixed), boundary_points(moving), start, along_spine=along_spine)
        error = (apply_matrix(stage.matrix_mri_to_dxa, centre) - apply_matrix(truth, centre))[0]
        assert stage.converged and abs(rotation_deg(stage.matrix_mri_to_dxa) - 1.5) < 0.05, along_spine
        assert abs(error[0]) < 0.3 and error[1] == pytest.approx(height_error, abs=0.3), (along_spine, error)


def test_spine_stage_slides_along_a_straight_column_in_few_rounds():
    """A straight column (two parallel sides, flat ends) and its copy 6 mm lower: the sides say nothing about the
    height, only the ends do. Pairing each point with its tangent line (point-to-line) settles the slide within a
    few rounds; pairing it with one boundary point crept by a fraction of a millimetre a round on such columns."""
    truth = rigid_matrix(0.0, (0.0, 6.0), (100.0, 200.0))

    def column(matrix):
        c, r = np.meshgrid(np.arange(200.0), np.arange(400.0), indexing="ij")
        x, z = np.moveaxis(apply_matrix(matrix, np.stack([c.ravel(), r.ravel()], 1)).reshape(200, 400, 2), -1, 0)
        return (np.abs(x - 100.0) <= 20.0) & (z >= 60.0) & (z <= 340.0)

    fixed, moving = to_image(column(np.linalg.inv(truth)), (1.0, 1.0)), to_image(column(np.eye(3)), (1.0, 1.0))
    stage = closest_point_fit(MaskBoundary(fixed), boundary_points(moving), np.eye(3), iterations=200, trim_mm=8.0)
    assert stage.converged and stage.iterations <= 20, stage.iterations
    centre = [[100.0, 200.0]]
    assert np.linalg.norm(apply_matrix(stage.matrix_mri_to_dxa, centre) - apply_matrix(truth, centre)) < 0.3


def test_rigid_pairs_are_recovered_and_accepted(rigid, rigid_alignments):
    errors = np.array([_errors(a.matrix_mri_to_dxa, truth, d, m)
                       for (_, d, m, truth), a in zip(rigid, rigid_alignments)])
    # the height is fixed by the masks' ends, the MRI's quantised to its 3 mm slices (test_registration_imperfect_masks)
    assert np.median(errors[:, 0]) <= 0.2 and np.median(errors[:, 1]) <= 0.75, errors
    assert errors[:, 0].max() <= 0.3 and errors[:, 1].max() <= 1.5, errors
    for alignment in rigid_alignments:
        assert alignment.accepted, alignment.reason
        assert alignment.reason == "" and alignment.iou > 0.9
        assert abs(rotation_deg(alignment.image_stage.matrix_mri_to_dxa) - alignment.rotation_deg) < 0.5


def test_stage_one_alone_is_close(rigid, rigid_alignments):
    """Stage 1 alone lands within a few millimetres, from a search peak inside the searched range."""
    for (_, d, m, truth), alignment in zip(rigid, rigid_alignments):
        first = _errors(alignment.image_stage.matrix_mri_to_dxa, truth, d, m)
        assert first[0] <= 0.5 and first[1] <= 3.0, first
        assert abs(alignment.image_stage.search_angle_deg) <= 2.0 and alignment.image_stage.ncc_peak > 0.9


def test_posture_changed_pairs_are_rejected(posture):
    for _, dxa_mask, mri_mask in posture:
        alignment = align_pair(dxa_mask, mri_mask)
        assert not alignment.accepted
        assert "centre lines" in alignment.reason, alignment.reason


def test_unrelated_pair_is_rejected(rigid):
    (_, dxa_mask, _, _), (_, _, other_mri, _) = rigid[0], rigid[1]
    alignment = align_pair(dxa_mask, other_mri)
    assert not alignment.accepted and alignment.reason


def test_spine_cut_by_the_mri_field_of_view(rigid):
    """A cut spine aligns on the stretch both masks show (within 1.5 mm of the truth over the cut MRI mask) and
    says it is cut, in ``warnings``, without being rejected for it."""
    _, dxa_mask, mri_mask, truth = rigid[0]
    rows = np.flatnonzero(mri_mask[0].numpy().any(axis=(0, 1)))
    cut = mri_mask[..., : int(rows.mean())]  # the field of view ends halfway down the spine
    alignment = align_pair(dxa_mask, cut)
    assert alignment.accepted, alignment.reason
    assert len(alignment.warnings) == 1 and "MRI field of view (spine cut off)" in alignment.warnings[0]
    assert alignment.to_dict()["warnings"] == list(alignment.warnings)
    _, moving = coronal_masks(dxa_mask, cut)
    points = boundary_points(moving)
    error = np.linalg.norm(apply_matrix(alignment.matrix_mri_to_dxa, points) - apply_matrix(truth, points), axis=1)
    assert error.mean() < 1.5
    missed = mri_mask.clone()
    missed[:] = 0  # a field of view with no spine in it
    with pytest.raises(SpineInputError, match="empty"):
        align_pair(dxa_mask, missed)


def test_bad_masks_raise(rigid):
    _, dxa_mask, mri_mask, _ = rigid[0]
    with pytest.raises(SpineInputError, match="3D"):
        align_pair(dxa_mask, dxa_mask)
    with pytest.raises(SpineInputError, match="2D"):
        align_pair(mri_mask, mri_mask)
    with pytest.raises(ValueError):
        AlignmentConfig(n_angles=0)


def test_alignment_json_matches_the_contract(rigid_alignments):
    record = json.loads(json.dumps(rigid_alignments[0].to_dict()))
    assert set(record) == CONTRACT_KEYS
    assert np.asarray(record["matrix_mri_to_dxa"]).shape == (3, 3) and record["matrix_mri_to_dxa"][2] == [0, 0, 1]
    assert record["translation_mm"] == record["matrix_mri_to_dxa"][0][2:] + record["matrix_mri_to_dxa"][1][2:]
    assert record["iou_threshold"] == 0.7 and set(record["stages"]) == {"image", "spine"}


def _align(files, study, out, *extra):
    folder = files / study
    return main(["align", "--dxa", str(folder / "dxa.dcm"), "--mri", str(folder / "mri_in_phase.nii.gz"),
                 "--dxa-mask", str(folder / "dxa_spine.nii.gz"), "--mri-mask", str(folder / "mri_spine.nii.gz"),
                 "--out", str(out), *extra])


def test_cli_writes_an_accepted_alignment(files, tmp_path, capsys):
    assert _align(files, "rigid", tmp_path / "out") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["alignment.json", "alignment.png"]
    record = json.loads((tmp_path / "out" / "alignment.json").read_text())
    assert set(record) == CONTRACT_KEYS and record["accepted"] is True and record["reason"] == ""
    truth = np.asarray(json.loads((files / "rigid" / "truth.json").read_text())["matrix_mri_to_dxa"])
    matrix = np.asarray(record["matrix_mri_to_dxa"])
    assert abs(rotation_deg(matrix) - rotation_deg(truth)) < 0.3
    spine = np.asarray(json.loads((files / "rigid" / "truth.json").read_text())["centre_line_in"]["mri"])[:, [0, 2]]
    assert np.abs(apply_matrix(matrix, spine) - apply_matrix(truth, spine)).max() < 2.0
    assert "accepted" in capsys.readouterr().out


def test_cli_rejected_pair_is_a_result(files, tmp_path):
    assert _align(files, "posture", tmp_path / "out", "--iou-threshold", "0.8") == 0
    record = json.loads((tmp_path / "out" / "alignment.json").read_text())
    assert record["accepted"] is False and record["reason"] and record["iou_threshold"] == 0.8
    assert (tmp_path / "out" / "alignment.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "swap, problem",
    [
        ({"--mri": "dxa_spine.nii.gz"}, "3D volume is expected"),  # a 2D file as the MRI
        ({"--dxa": "mri_in_phase.nii.gz"}, "2D image is expected"),  # a 3D file as the DXA
        ({"--dxa-mask": "missing.nii.gz"}, "no such file"),
        ({"--dxa-mask": "ap_spine.nii.gz"}, "does not match"),  # another image's grid
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(files, tmp_path, capsys, swap, problem):
    folder = files / "rigid"
    args = {"--dxa": "dxa.dcm", "--mri": "mri_in_phase.nii.gz", "--dxa-mask": "dxa_spine.nii.gz",
            "--mri-mask": "mri_spine.nii.gz", **swap}
    argv = ["align", "--out", str(tmp_path / "out")] + [x for k, v in args.items() for x in (k, str(folder / v))]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and problem in err, err
    assert not (tmp_path / "out").exists()


def test_cli_empty_mask_exits_2(files, tmp_path, capsys, write_nifti):
    empty = write_nifti(tmp_path / "empty.nii.gz", np.zeros((600, 1950), np.uint8), np.diag([1.0, 1.0, 1.0, 1.0]))
    assert _align(files, "rigid", tmp_path / "out", "--dxa-mask", empty) == 2
    assert "empty" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_cli_rejects_bad_options(files, tmp_path, capsys):
    assert _align(files, "rigid", tmp_path / "out", "--angles", "0") == 2
    assert "n_angles" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_masks_sharing_no_height_give_a_finite_reason_and_plain_json(rigid):
    """An MRI mask of 30 mm (less than the centre lines' 40 mm window) cannot be compared: a readable reason, and
    ``null`` rather than ``inf``/``nan`` in alignment.json."""
    _, dxa_mask, mri_mask, _ = rigid[0]
    rows = np.flatnonzero(mri_mask[0].numpy().any(axis=(0, 1)))
    short = mri_mask.clone()
    middle = int(rows.mean())
    short[..., : middle - 5] = 0
    short[..., middle + 5 :] = 0
    alignment = align_pair(dxa_mask, short)
    assert not alignment.accepted and "share less than 40 mm of height" in alignment.reason, alignment.reason
    assert "inf" not in alignment.reason and "nan" not in alignment.reason
    record = json.loads(json.dumps(alignment.to_dict(), allow_nan=False))
    assert record["stages"]["spine"]["centre_deviation_mm"] is None


def test_iou_counts_the_common_height_only(rigid, rigid_alignments):
    """A DXA mask that stops 60 mm early scores the same IoU over the stretch both masks show; a 40 mm sideways
    move still scores low. (A move along the spine keeps a high IoU on the common rows: the outline and centre-line
    checks catch that.)"""
    _, dxa_mask, mri_mask, _ = rigid[0]
    fixed, moving = coronal_masks(dxa_mask, mri_mask)
    matrix = rigid_alignments[0].matrix_mri_to_dxa
    rows = np.flatnonzero(dxa_mask[0].numpy().any(axis=0))
    shortened = dxa_mask.clone()
    shortened[..., : rows[0] + round(60.0 / float(affine_to_spacing(dxa_mask.affine, r=2)[1]))] = 0
    short_fixed = coronal_masks(shortened, mri_mask)[0]
    assert mask_iou(short_fixed, moving, matrix) == pytest.approx(mask_iou(fixed, moving, matrix), abs=0.02)
    assert mask_iou(short_fixed, moving, rigid_matrix(0.0, (40.0, 0.0)) @ matrix) < 0.2


def test_boundary_points_leave_out_a_cut_by_the_image_edge():
    """A mask that runs into the image's top edge (a spine cut by the field of view) has no outline there: only
    its sides and bottom are boundary. With the cut counted, the real CT's true masks stayed 3.7 mm apart (RMS)."""
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:15, :20] = True  # columns 5–14, rows 0–19: cut at row 0
    points = boundary_points(to_image(mask, (1.0, 1.0)))
    assert points[:, 1].min() == 0.0  # the sides reach the edge
    top = points[points[:, 1] == 0.0]
    assert sorted(top[:, 0].tolist()) == [5.0, 14.0]  # only the two side pixels of the cut row
    assert np.count_nonzero(points[:, 1] == 19.0) == 10  # the real bottom end is all outline
