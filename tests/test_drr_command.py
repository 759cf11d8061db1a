"""``monai-spine drr``: studies rendered from a labelled CT, checked on a real CT and against the phantom's truth."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch

from monai_spine.cli import main
from monai_spine.drr import (
    LABEL_SCHEMES,
    LEVEL_ORDER,
    Acquisition,
    LabelledCT,
    SpineColumn,
    dual_energy,
    iter_drr_studies,
    level_centroids,
    prepare_source,
    read_labelled_ct,
    render_study,
)
from monai_spine.evaluation.scores import dice
from monai_spine.geometry import Grid
from monai_spine.phantom.anatomy import SACRUM_BELOW_S1_ID, level_label
from monai_spine.projection import BONE_DENSITY_G_CM3, mu_bone, mu_water
from monai_spine.studies import FILES
from monai_spine.transforms import TissueLabel

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real_anatomy"
REAL_CT, REAL_LABELS = REAL / "lumbar_ct.nii.gz", REAL / "lumbar_ct_vertebrae.nii.gz"
needs_real = pytest.mark.skipif(not REAL_CT.exists(), reason=f"the real-anatomy CT is not at {REAL} (../shared)")

def _drr(tmp: Path, ct, labels, n=1, seed=0, *extra) -> int:
    return main(["drr", "--ct", str(ct), "--labels", str(labels), "--n", str(n), "--seed", str(seed),
                 "--out", str(tmp), *extra])


@pytest.fixture(scope="module")
def real_studies(tmp_path_factory):
    if not REAL_CT.exists():
        pytest.skip(f"the real-anatomy CT is not at {REAL} (../shared)")
    out = tmp_path_factory.mktemp("drr") / "real"
    assert _drr(out, REAL_CT, REAL_LABELS, 2, 7) == 0
    return out


@pytest.fixture(scope="module")
def phantom_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom") / "cohort"
    assert main(["phantom", "--n", "1", "--seed", "5", "--out", str(out), "--workers", "1",
                 "--modalities", "ct,dxa,biplanar"]) == 0
    return out / "study_0000"


def _pixel(geometry_dxa: dict, point_mm) -> np.ndarray:
    """Phantom/patient ``(x, y, z)`` mm → DXA pixel ``(column, row)``."""
    return (np.asarray(point_mm)[[0, 2]] - geometry_dxa["origin_mm"]) / geometry_dxa["pixel_mm"]


@needs_real
def test_real_ct_levels_named_and_inside_the_spine(real_studies):
    """Every labelled centroid T12–S1 in a study's field lies in its DXA spine mask and within 3 mm of the truth
    centre line; levels carry their TotalSegmentator ids."""
    datalist = json.loads((real_studies / "dataset.json").read_text())
    entries = [e for split in ("training", "validation", "test") for e in datalist[split]]
    assert len(entries) == 2
    for entry in entries:
        truth = json.loads((real_studies / entry["truth"]).read_text())
        mask = np.asarray(nib.load(real_studies / entry["dxa_spine"]).dataobj) > 0
        centre = np.asarray(truth["curves"]["dxa"]["coronal_centre"])
        dxa = truth["frames"]["dxa"]
        names = [v["name"] for v in truth["vertebrae"]]
        assert names and set(names) <= {"T12", "L1", "L2", "L3", "L4", "L5", "S1"}
        for vertebra in truth["vertebrae"]:
            assert LABEL_SCHEMES["totalseg"][vertebra["label"]] == vertebra["name"]
            column, row = np.round(_pixel(dxa, vertebra["centre_mm"])).astype(int)
            assert mask[column, row], vertebra["name"]
            x, z = (np.asarray(vertebra["centre_mm"])[[0, 2]] - dxa["origin_mm"])
            assert abs(np.interp(z, centre[:, 1], centre[:, 0]) - x) < 3.0, vertebra["name"]
        assert truth["source"]["ct"] == "lumbar_ct.nii.gz"


@needs_real
def test_real_ct_files_match_a_phantom_study(real_studies, phantom_study):
    """Same file names, datalist keys, truth keys (those that apply) and DICOM tags as the phantom's; the MRI's
    files as the phantom writes them, plus the T2-weighted contrast and the tissue label map."""
    phantom_truth = json.loads((phantom_study / "truth.json").read_text())  # a phantom study without MRI
    truth = json.loads((real_studies / "study_0000" / "truth.json").read_text())
    mri_relations = {"matrix_mri_to_dxa", "mri_posture_changed"}
    assert set(truth) - {"source", "acquisition"} - mri_relations <= set(phantom_truth)
    assert truth["schema"] == phantom_truth["schema"]
    assert set(truth["files"]) == set(phantom_truth["files"]) | set(FILES["mri"]) | {"mri_t2", "mri_tissues"}
    assert set(truth["frames"]) == set(phantom_truth["frames"]) | {"mri"}
    assert set(truth["curves"]) == set(phantom_truth["curves"]) | {"mri"}
    assert {p.name for p in (real_studies / "study_0000").iterdir()} == {Path(v).name for v in
                                                                        truth["files"].values()}
    for image in ("dxa", "ap", "lateral"):
        assert set(truth["curves"][image]) == set(phantom_truth["curves"][image])
        assert all(len(curve) == 209 for curve in truth["curves"][image].values())
    assert set(truth["frames"]["ap"]) == set(phantom_truth["frames"]["ap"])
    assert set(truth["measures"]) == set(phantom_truth["measures"])
    import pydicom

    for view, position in (("ap", "AP"), ("lateral", "LL")):
        ds = pydicom.dcmread(real_studies / "study_0000" / f"{view}.dcm")
        assert ds.ViewPosition == position
        assert float(ds.DistanceSourceToDetector) == pytest.approx(truth["frames"][view]["source_to_detector_mm"],
                                                                  abs=0.01)


@needs_real
def test_real_ct_deterministic_by_seed(real_studies, tmp_path):
    assert _drr(tmp_path / "again", REAL_CT, REAL_LABELS, 1, 7) == 0
    for name in ("dxa.dcm", "ap.dcm", "lateral_spine.nii.gz", "mri_t2.nii.gz", "ct_vertebrae.nii.gz", "truth.json"):
        assert (tmp_path / "again" / "study_0000" / name).read_bytes() == (real_studies / "study_0000" /
                                                                          name).read_bytes()


@needs_real
def test_real_ct_stored_in_another_orientation_gives_the_same_studies(real_studies, tmp_path):
    """The CT and its labels stored posterior-inferior-left (as a DICOM series' LPS is stored otherwise than this
    NIfTI's RAS): the same seed renders the same images, masks and truth."""
    from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

    stored = []
    for path in (REAL_CT, REAL_LABELS):
        image = nib.load(path)
        stored.append(tmp_path / path.name)
        nib.save(image.as_reoriented(ornt_transform(io_orientation(image.affine), axcodes2ornt("PIL"))), stored[-1])
    assert nib.aff2axcodes(nib.load(stored[0]).affine) == ("P", "I", "L")
    assert _drr(tmp_path / "pil", *stored, 1, 7) == 0
    ours, theirs = tmp_path / "pil" / "study_0000", real_studies / "study_0000"
    for name in ("dxa.dcm", "ap.dcm", "lateral.dcm"):
        np.testing.assert_allclose(pydicom.dcmread(ours / name).pixel_array, pydicom.dcmread(theirs / name).pixel_array,
                                   atol=1)
    for name in ("dxa_spine.nii.gz", "lateral_spine.nii.gz", "mri_spine.nii.gz", "mri_t2.nii.gz"):
        np.testing.assert_allclose(nib.load(ours / name).get_fdata(), nib.load(theirs / name).get_fdata(), atol=1e-4)
    truth, expected = (json.loads((study / "truth.json").read_text()) for study in (ours, theirs))
    np.testing.assert_allclose(truth["centre_line_mm"], expected["centre_line_mm"], atol=1e-3)
    assert [v["name"] for v in truth["vertebrae"]] == [v["name"] for v in expected["vertebrae"]]
    np.testing.assert_allclose([v["centre_mm"] for v in truth["vertebrae"]],
                               [v["centre_mm"] for v in expected["vertebrae"]], atol=1e-3)


@needs_real
def test_real_ct_workers_share_the_prepared_source(real_studies, tmp_path):
    """Two workers render from the source prepared at the call (the inputs are gone by the time they start, so a
    worker that read them again would fail, and a pool re-starts a worker whose set-up fails: hence the thread with
    a time limit) and write the same files as one process."""
    inputs = [shutil.copy(path, tmp_path) for path in (REAL_CT, REAL_LABELS)]
    studies = iter_drr_studies(*inputs, 2, 7, tmp_path / "workers", workers=2)
    for path in inputs:
        Path(path).unlink()
    entries = []
    rendering = threading.Thread(target=entries.extend, args=(studies,), daemon=True)
    rendering.start()
    rendering.join(timeout=240.0)
    assert len(entries) == 2
    for study in ("study_0000", "study_0001"):
        for name in ("dxa.dcm", "ap.dcm", "lateral.dcm", "mri_t2.nii.gz", "truth.json"):
            assert (tmp_path / "workers" / study / name).read_bytes() == (real_studies / study / name).read_bytes()


@needs_real
def test_real_ct_segmented_by_the_dxa_bundle(real_studies):
    """The DXA bundle runs on a written study unchanged and finds the spine there."""
    from monai_spine.segmentation import segment_dxa
    from monai_spine.transforms import LoadRadiograph

    image = LoadRadiograph()(str(real_studies / "study_0000" / "dxa.dcm"))
    predicted = np.asarray(segment_dxa(image)[0]) > 0
    truth = np.asarray(nib.load(real_studies / "study_0000" / "dxa_spine.nii.gz").dataobj) > 0
    assert predicted.shape == truth.shape
    assert 2 * (predicted & truth).sum() / (predicted.sum() + truth.sum()) > 0.6


def test_phantom_ct_gives_the_phantoms_centre_line(phantom_study):
    """A phantom CT through drr: the centre line, moved by the study's pose, is the phantom's own within 1.5 mm
    coronally (mean) and 3 mm sagittally (mean), over the heights both cover."""
    source = prepare_source(read_labelled_ct(phantom_study / "ct.nii.gz", phantom_study / "ct_vertebrae.nii.gz"))
    study = render_study(source, 3, ("dxa",))
    truth = json.loads((phantom_study / "truth.json").read_text())
    rotation, shift = Acquisition(**study.subject["acquisition"]).rigid()
    expected = np.asarray(truth["centre_line_in"]["ct"]) @ rotation.T + shift
    line = np.asarray(study.subject["centre_line_mm"])
    z = line[:, 2][(line[:, 2] >= expected[:, 2].min()) & (line[:, 2] <= expected[:, 2].max())]
    assert np.ptp(z) > 100.0
    for axis, tolerance in ((0, 1.5), (1, 3.0)):
        error = np.interp(z, line[:, 2], line[:, axis]) - np.interp(z, expected[:, 2], expected[:, axis])
        assert np.mean(np.abs(error)) < tolerance, (axis, np.mean(np.abs(error)))


def test_phantom_ct_column_from_its_labels_is_the_phantoms_own(phantom_study):
    """``SpineColumn`` of the phantom CT's vertebra labels against the phantom's exact column (``ct_spine``): Dice
    0.940 whole and 0.954 over C6–T2, whose bodies are 14–18 mm deep of 60 mm labels. The rule it replaced (the
    anterior 36 % of each label, as wide as the label) cut them 18–25 mm deep: 0.901 whole, 0.74–0.75 at C6–T2."""
    read = read_labelled_ct(phantom_study / "ct.nii.gz", phantom_study / "ct_vertebrae.nii.gz")
    levels = read.labels.numpy()
    column = SpineColumn(read.grid.spacing)(levels)
    exact = np.asarray(nib.load(phantom_study / "ct_spine.nii.gz").dataobj) > 0
    assert levels.shape == exact.shape == column.shape
    assert dice(column, exact) > 0.92
    z = np.flatnonzero(np.isin(levels, [LEVEL_ORDER.index(n) + 1 for n in ("C6", "C7", "T1", "T2")]).any(axis=(0, 1)))
    band = slice(z.min(), z.max() + 1)
    assert dice(column[..., band], exact[..., band]) > 0.88


@needs_real
def test_real_ct_bodies_reach_back_to_the_canal():
    """The real CT's lumbar bodies, cut from their labels in front of the vertebral canal, are 36–38 mm deep at their
    centroids (adult lumbar bodies 33–38 mm, Panjabi et al., Spine 1992; 3 mm voxels); the anterior 36 % of each
    label, the rule before, made them 26–29 mm."""
    read = read_labelled_ct(REAL_CT, REAL_LABELS)
    levels, spacing = read.labels.numpy(), np.asarray(read.grid.spacing)
    column = SpineColumn(spacing)(levels)
    centres = level_centroids(levels, spacing)
    for name in ("L1", "L2", "L3", "L4", "L5"):
        x, _, z = np.round(centres[name] / spacing).astype(int)
        y = np.flatnonzero(column[x, :, z])
        assert 33.0 <= (np.ptp(y) + 1) * spacing[1] <= 43.0, (name, (np.ptp(y) + 1) * spacing[1])


@pytest.mark.parametrize("whole_sacrum_as_s1", [False, True], ids=["s1_apart", "whole_sacrum_as_s1"])
def test_phantom_ct_column_ends_with_the_s1_body_not_the_sacral_tip(phantom_study, tmp_path, whole_sacrum_as_s1):
    """The phantom labels the sacrum below S1 apart (TotalSegmentator's 25) from S1 (26): drr's column, posed, ends
    where the phantom's own column (down to the S1 body) ends, within 8 mm. With the whole sacrum labelled S1 (as
    VerSe's 26 is) drr keeps its first segment only; taken whole, its anterior part ran the column 45 mm lower."""
    labels = phantom_study / "ct_vertebrae.nii.gz"
    if whole_sacrum_as_s1:
        image = nib.load(labels)
        merged = np.asarray(image.dataobj).copy()
        merged[merged == SACRUM_BELOW_S1_ID] = level_label("sacrum")
        labels = tmp_path / "whole_sacrum_as_s1.nii.gz"
        nib.save(nib.Nifti1Image(merged, image.affine), labels)
    source = prepare_source(read_labelled_ct(phantom_study / "ct.nii.gz", labels))
    study = render_study(source, 4, ("dxa",))  # a field of view that holds the sacrum
    curves = json.loads((phantom_study / "truth.json").read_text())["curves"]["ct"]
    end = np.array([curves["coronal_centre"][-1][0], curves["sagittal_centre"][-1][0], curves["coronal_centre"][-1][1]])
    rotation, shift = Acquisition(**study.subject["acquisition"]).rigid()
    assert abs(study.subject["centre_line_mm"][-1][2] - (rotation @ end + shift)[2]) < 8.0


def test_dxa_bone_image_is_zero_over_soft_tissue_and_the_vertebrae_s_bone_over_them():
    """A trunk of muscle (45 HU) and fat (−100 HU) with a disc (80 HU) between two labelled vertebral blocks (250 HU),
    rendered as ``drr`` renders a DXA (noise-free): over soft tissue the bone image is 0 g/cm², over a block it is
    the bone its CT numbers hold, ``250 / 1000 / (r − 1)`` of 1.92 g/cm³ bone over the block's depth (the classic
    bilinear break at 0 HU put 0.3 g/cm² of bone over the muscle, more than the blocks' own 0.9)."""
    spacing = 2.0
    hu = torch.full((40, 50, 60), 45.0)
    hu[:, :10] = -100.0  # a fat layer along the beam
    labels = torch.zeros(hu.shape, dtype=torch.int16)
    for level, rows in (("L3", slice(10, 25)), ("L4", slice(30, 45))):
        hu[15:25, 20:35, rows] = 250.0
        labels[15:25, 20:35, rows] = LEVEL_ORDER.index(level) + 1
    hu[15:25, 20:35, 25:30] = 80.0  # the disc, unlabelled
    ct = LabelledCT(hu, labels, Grid(hu.shape, (spacing,) * 3, (0.0, 0.0, 0.0)), {"L3": 29, "L4": 28}, "synthetic")
    source = prepare_source(ct)
    paths = source.basis.sum(dim=2) * spacing  # (water, bone) mm along y, on (x, z)
    bone, _ = dual_energy(paths, spacing, 1e12, torch.Generator().manual_seed(0))
    block_g_cm2 = 0.25 / (mu_bone(70.0) / mu_water(70.0) - 1.0) * 15 * spacing * BONE_DENSITY_G_CM3 / 10.0
    assert bone[15:25, 12:23].numpy() == pytest.approx(block_g_cm2, rel=1e-3)
    assert np.abs(bone[:12].numpy()).max() < 1e-4 and np.abs(bone[15:25, 26:29].numpy()).max() < 1e-4  # beside, disc
    classic = prepare_source(ct, soft_tissue_max_hu=0.0).basis
    classic_bone, _ = dual_energy(classic.sum(dim=2) * spacing, spacing, 1e12, torch.Generator().manual_seed(0))
    assert classic_bone[:12].mean().item() > 0.25


def test_mri_like_volume_is_generated_from_its_tissue_map(phantom_study):
    """The MRI part's tissue labels: inside the vertebra labels only marrow and cortical bone (a body's trabecular
    bone below the soft-tissue bound is marrow, not muscle), the discs are the column outside them; each contrast's
    tissues rank as its preset says (in-phase: fat above marrow above muscle; water: discs above marrow)."""
    source = prepare_source(read_labelled_ct(phantom_study / "ct.nii.gz", phantom_study / "ct_vertebrae.nii.gz"))
    mri = render_study(source, 4, ("mri",)).mri
    tissues, column = np.asarray(mri.tissues), np.asarray(mri.spine_mask)
    assert tissues.shape == tuple(mri.in_phase.shape) and tissues.dtype == np.uint8
    in_column = np.bincount(tissues[column], minlength=len(TissueLabel))
    assert in_column[[TissueLabel.DISC, TissueLabel.MARROW, TissueLabel.CORTICAL]].sum() == column.sum()
    assert in_column[TissueLabel.DISC] > 0.1 * column.sum() and in_column[TissueLabel.MARROW] > 0.3 * column.sum()

    def mean(image, tissue) -> float:
        return float(np.asarray(image)[tissues == tissue].mean())

    assert mean(mri.in_phase, TissueLabel.FAT) > mean(mri.in_phase, TissueLabel.MARROW) > mean(
        mri.in_phase, TissueLabel.SOFT_TISSUE)
    assert mean(mri.water, TissueLabel.DISC) > mean(mri.water, TissueLabel.MARROW)


def _bad_inputs(tmp: Path) -> dict:
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    ct = np.random.default_rng(0).normal(0, 300, (20, 20, 20)).astype(np.int16)
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[8:12, 8:12, 2:18] = 28
    paths = {}
    for name, array, aff in (
        ("ct", ct, affine),
        ("labels", labels, affine),
        ("no_vertebrae", (labels > 0).astype(np.uint8) * 3, affine),
        ("other_shape", labels[:, :, :18], affine),
        ("other_affine", labels, np.diag([2.0, 2.0, 2.5, 1.0])),
        ("flat", ct[:, :, :1], affine),
    ):
        paths[name] = tmp / f"{name}.nii.gz"
        nib.save(nib.Nifti1Image(np.ascontiguousarray(array).astype(array.dtype), aff), paths[name])
    paths["garbage"] = tmp / "garbage.nii.gz"
    paths["garbage"].write_bytes(b"not a nifti file")
    return paths


@pytest.mark.parametrize(
    "ct_key, labels_key, problem",
    [
        ("ct", "no_vertebrae", "no vertebra labels"),
        ("ct", "other_shape", "not on the CT's grid"),
        ("ct", "other_affine", "not on the CT's grid"),
        ("flat", "labels", "2D image"),
        ("garbage", "labels", "NIfTI"),
        ("ct", "missing", "no such file"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, ct_key, labels_key, problem):
    paths = _bad_inputs(tmp_path)
    bad = paths.get(ct_key, tmp_path / "missing.nii.gz"), paths.get(labels_key, tmp_path / "missing.nii.gz")
    out = tmp_path / "out"
    assert _drr(out, *bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err, err
    assert str(bad[0] if ct_key != "ct" else bad[1]) in err
    assert not out.exists()
