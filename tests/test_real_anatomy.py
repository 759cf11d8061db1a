"""The team's real-anatomy check: the real CT of ``../shared/real_anatomy/`` rendered through ``drr`` (five
acquisitions, DXA and MRI-like groups) and scored by ``evaluate`` with every bundle.

The figures are asserted computed and within their ranges; issue 10's targets are asserted where the shipped
weights meet them (every labelled centroid T12–S1 inside the DXA mask in every render, its centre line, the MRI
Dice in the fat-bright contrasts), and the rest are guarded at the shipped weights' level (MRI Dice in water and
T2-like; ``docs/real_anatomy.md`` gives the figures and the targets they miss). Everything is written under
pytest's temporary folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from monai_spine.drr import MRI_CONTRASTS_RENDERED, make_drr_cohort
from monai_spine.evaluation import evaluate_datalist

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_anatomy"
REAL_CT, REAL_LABELS = REAL / "lumbar_ct.nii.gz", REAL / "lumbar_ct_vertebrae.nii.gz"
N_ACQUISITIONS = 5
MRI_KEYS = {f"mri_{c}" if c != "in_phase" else "mri" for c in MRI_CONTRASTS_RENDERED}
"""The datalist keys of the MRI contrasts (the in-phase image is the phantom's ``mri``)."""


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    if not REAL_CT.exists():
        pytest.skip(f"the real-anatomy CT is not at {REAL} (../shared)")
    out = tmp_path_factory.mktemp("real_anatomy")
    make_drr_cohort(
        REAL_CT, REAL_LABELS, N_ACQUISITIONS, 11, out / "studies", progress=False, modalities=("dxa", "mri")
    )
    summary = evaluate_datalist(
        out / "studies" / "dataset.json", "all", out / "evaluation", device="cpu", progress=False
    )
    with open(out / "evaluation" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return summary, rows, out


def test_every_study_scored_by_every_bundle(evaluated):
    summary, rows, out = evaluated
    assert summary["n_studies"] == N_ACQUISITIONS and summary["n_failed_studies"] == 0, summary["failed"]
    scored = {(row["scorer"], row["item"]) for row in rows if row["status"] == "ok"}
    assert {scorer for scorer, _ in scored} == {"dxa_segmentation", "mri_segmentation", "alignment", "dxa_pipeline"}
    assert {item for scorer, item in scored if scorer == "mri_segmentation"} == MRI_KEYS
    # one row per scorer and item; the radiograph bundle's and the bi-planar route's are skipped (these renders
    # have no AP and lateral)
    assert len(rows) == N_ACQUISITIONS * (5 + len(MRI_KEYS))
    assert {row["status"] for row in rows
            if row["scorer"] in ("radiograph_segmentation", "biplanar_pipeline")} == {"skipped"}
    assert json.loads((out / "evaluation" / "summary.json").read_text()) == summary
    assert (out / "evaluation" / "evaluation.png").stat().st_size > 0


def test_dxa_figures_are_sane(evaluated):
    """Dice in [0, 1]; the labelled centroids counted (the CT holds T12–S1 whole, T11 is cut), inside ≤ total;
    line errors finite and non-negative."""
    summary, rows, _ = evaluated
    dxa = summary["segmentation"]["dxa"]
    assert dxa["ok"] == N_ACQUISITIONS
    assert 0.0 <= dxa["dice"]["worst"] <= dxa["dice"]["mean"] <= 1.0
    assert 0 <= dxa["centroids_inside"] <= dxa["centroids_total"]
    assert N_ACQUISITIONS * 3 <= dxa["centroids_total"] <= N_ACQUISITIONS * 7  # T12-S1, some cut by the field
    assert set(dxa["centroid_inside_share_by_level"]) <= {"T12", "L1", "L2", "L3", "L4", "L5", "S1"}
    for row in (r for r in rows if r["scorer"] == "dxa_segmentation"):
        assert 0.0 <= float(row["centre_mae_mm"]) < 100.0
        assert 0.0 <= float(row["height_coverage"]) <= 1.0 + 1e-6


def test_dxa_mask_holds_every_labelled_centroid_in_every_render(evaluated):
    """Issue 10's targets: the 0.4 and 0.5 weights put every labelled centroid T12–S1 inside the mask of all 5
    renders (0.3: 2 of 5); the centre line is within 1.5 mm of the label-derived one on average: 1.35 mm since the
    bundle's inference takes the union of the image's and its mirror's masks (0.5.2, ``mirror``; 1.61 without, 1.74
    before the truth's bodies reached back to the canal, 1.82 before ``drr`` stopped counting soft tissue as bone)."""
    dxa = evaluated[0]["segmentation"]["dxa"]
    assert dxa["studies_with_target_levels_inside"] == N_ACQUISITIONS
    assert dxa["centroids_inside"] == dxa["centroids_total"]
    assert dxa["centre_mae_mm"]["mean"] < 1.5


def test_mri_bundle_meets_the_target_in_fat_bright_volumes(evaluated):
    """MRI bundle 0.8.3 (its masks of the volume and its mirror united, gaps along the spine closed) reaches Dice
    0.861 (in-phase), 0.821 (water), 0.866 (fat) and 0.781 (T2-like) on the real CT's MRI-like volumes against the
    truth whose bodies reach back to the canal (0.8.1 without the gaps closed: 0.855, 0.802, 0.855, 0.766; 0.8 one
    pass: 0.841, 0.764, 0.837, 0.723; 0.3: 0.09 in-phase). The target, 0.85, is met in the fat-bright contrasts and
    asserted there; water and T2-like miss it and are guarded a little below today's figures so that a retrain
    cannot slip back unnoticed."""
    dice = {contrast: figures["dice"]["mean"] for contrast, figures in evaluated[0]["segmentation"]["mri"].items()}
    assert dice["mri"] >= 0.85 and dice["mri_fat"] >= 0.85
    assert dice["mri_water"] > 0.81 and dice["mri_t2"] > 0.77


def test_mri_and_alignment_figures_are_sane(evaluated):
    """Dice per contrast in [0, 1]; every pair is alignable (no posture change) and its errors are finite."""
    summary, rows, _ = evaluated
    mri = summary["segmentation"]["mri"]
    assert set(mri) == MRI_KEYS
    for contrast in mri.values():
        assert contrast["ok"] == N_ACQUISITIONS
        assert 0.0 <= contrast["dice"]["worst"] <= contrast["dice"]["mean"] <= 1.0
    alignment = summary["alignment"]
    assert alignment["ok"] == alignment["alignable"] == N_ACQUISITIONS
    for row in (r for r in rows if r["scorer"] == "alignment"):
        assert 0.0 <= float(row["iou"]) <= 1.0
        assert np.isfinite(float(row["rotation_error_deg"])) and np.isfinite(float(row["translation_error_mm"]))


def test_dxa_route_on_the_real_spine(evaluated):
    """Issue 11's real-anatomy figures for ``infer --dxa`` (segmentation, crop, curve regressor) against the
    label-derived curves, relative depth. Coronal from the DXA bundle's mask, smoothed: 1.26 mm (target ≤ 2, met;
    1.52 without the mirror union); sagittal from the 0.6 regressor, which learnt adults' lordosis (most of its turn
    in L4–S1): 4.55 mm and lordosis 22.2° off (targets 3 mm and 5°, missed; 0.5, trained on the phantom's symmetric
    lordosis: 5.50 mm and 29.1°; 0.4: 7.4 mm, 30°): guarded at that level, which 0.5 fails (docs/real_anatomy.md)."""
    route = evaluated[0]["pipelines"]["dxa"]
    assert route["n"] == N_ACQUISITIONS and route["failed"] == 0
    assert route["coronal_mae_mm"] < 2.0 and route["sagittal_mae_mm"] < 5.0
    assert route["lordosis_mae_deg"] < 26.0


def test_dxa_route_spine_ends_with_the_s1_body_not_the_masks_tail(evaluated):
    """The DXA bundle's mask runs past the real S1 body into the sacrum as a narrower tail; the DXA route's spine (the
    heights the regressor reads, the curves it writes) ends above it: within 11 mm of the label-derived column's
    lower end on every render (9.9, 2.1, 7.4, 10.6, −3.4 mm), where the whole mask runs on to 15 mm (11.4, 2.1, 15.0,
    14.5, 1.5 mm)."""
    from monai_spine.cohort import coronal_curves, truth_curves
    from monai_spine.evaluation.scorers import bundle_segmenter
    from monai_spine.evaluation.studies import read_studies
    from monai_spine.regression import curve_regressor
    from monai_spine.regression.runner import END_ROW_FRACTION

    segmenter = bundle_segmenter("dxa_spine_segmentation", "cpu")
    ends, whole = [], []
    for study in read_studies(evaluated[2] / "studies" / "dataset.json", "all"):
        mask = study.bundle_mask("dxa", segmenter)
        truth_end = truth_curves(study.files["truth"]).coronal_centre[-1, 1]
        ends.append(curve_regressor("cpu").crop(study.dxa, mask).coronal.centre[-1, 1] - truth_end)
        whole.append(coronal_curves(mask, min_width_fraction=END_ROW_FRACTION).centre[-1, 1] - truth_end)
    assert len(ends) == N_ACQUISITIONS
    assert np.abs(ends).max() < 11.0 < np.abs(whole).max(), (ends, whole)


def test_chest_radiograph_is_refused_by_the_dxa_route(tmp_path, capsys):
    """The real PA chest radiograph (pixel size 0 in its header) given to ``infer --dxa``: a clear error naming the
    wrong pixel size, exit 2, nothing written, never a silent wrong curve."""
    from pydicom.data import get_testdata_file

    from monai_spine.cli import main

    assert main(["infer", "--dxa", get_testdata_file("RG1_UNCI.dcm"), "--out", str(tmp_path / "out")]) == 2
    assert "wrong pixel size" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_chest_radiograph_without_pixel_size_is_flagged_not_silent():
    """``RG1_UNCI.dcm`` (pydicom-data, a real PA chest CR) has PixelSpacing 0: read at the assumed 1 mm per pixel it
    is 1841 × 1955 mm, and whatever the DXA bundle finds on it carries a QC warning saying the pixel size is wrong."""
    from pydicom.data import get_testdata_file

    from monai_spine.segmentation import segment_dxa
    from monai_spine.transforms import LoadRadiograph

    with pytest.warns(UserWarning, match="1.0 mm per pixel assumed"):
        image = LoadRadiograph()(get_testdata_file("RG1_UNCI.dcm"))
    with pytest.warns(UserWarning, match=r"RG1_UNCI.dcm: image 1841 × 1955 mm .*wrong pixel size"):
        mask = segment_dxa(image)
    assert any("wrong pixel size" in w for w in mask.meta["qc_warnings"])


CHEST_PIXEL_MM = 0.2
"""``RG1_UNCI.dcm``'s pixel size: its collimated field, about 368 × 392 mm (a 35 × 43 cm cassette's), spans
1841 × 1955 pixels; the file's PixelSpacing tag is 0."""


@pytest.fixture(scope="module")
def chest_radiograph(tmp_path_factory) -> Path:
    """The real PA chest CR with its pixel size written in (the pixels and every other tag unchanged)."""
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("RG1_UNCI.dcm"))
    ds.PixelSpacing = [CHEST_PIXEL_MM, CHEST_PIXEL_MM]
    path = tmp_path_factory.mktemp("chest") / "chest.dcm"
    ds.save_as(path)
    return path


def test_radiograph_bundle_finds_the_thoracic_spine_down_the_middle_of_the_real_chest(chest_radiograph):
    """Given alone to the radiograph bundle as an AP, the real chest radiograph's mask is one column down the middle
    of the image (its centre within the middle tenth of the width on every row), over most of its height (the
    thoracic spine from the top of the field to below the diaphragm), of a spine's width, with no QC warning."""
    from monai_spine.segmentation import segment_radiograph
    from monai_spine.transforms import LoadRadiograph

    mask = segment_radiograph(LoadRadiograph(frame="coronal")(chest_radiograph), "ap")
    assert not mask.meta.get("qc_warnings")
    pixels = mask[0].numpy().astype(bool)  # (columns, rows)
    rows = np.flatnonzero(pixels.any(axis=0))
    assert rows.size > 0.6 * pixels.shape[1]
    centres = np.array([np.flatnonzero(pixels[:, r]).mean() for r in rows]) / pixels.shape[0]
    assert np.all(np.abs(centres - 0.5) < 0.05), (centres.min(), centres.max())
    widths_mm = pixels[:, rows].sum(axis=0) * CHEST_PIXEL_MM
    assert 20.0 < np.median(widths_mm) < 60.0


def test_real_chest_as_the_ap_of_a_pair_with_a_lateral_from_elsewhere_is_refused(chest_radiograph, write_dicom,
                                                                                  tmp_path, capsys):
    """The real chest radiograph as the AP beside a lateral from elsewhere (an EOS-like lateral with its distances):
    the two files are of different patients, a one-line error and exit 2; with the lateral's patient and study tags
    made the chest's, the pair still cannot share one geometry (the chest has no source and detector distances, the
    lateral has): exit 2 again, nothing written."""
    import pydicom

    from monai_spine.cli import main

    chest = pydicom.dcmread(chest_radiograph, stop_before_pixels=True)
    lateral = {"ViewPosition": "LL", "PatientOrientation": ["A", "F"], "ImagerPixelSpacing": [1.5, 1.5],
               "DistanceSourceToDetector": 1300.0, "DistanceSourceToPatient": 1000.0}
    pixels = np.random.default_rng(0).integers(100, 4000, (600, 300), dtype=np.uint16)
    out = tmp_path / "out"
    for patient, study, problem in (("other", None, "not the same patient"),
                                    (chest.PatientID, chest.StudyInstanceUID, "cannot share one geometry")):
        path = write_dicom(tmp_path / f"lateral_{patient}.dcm", pixels, PatientID=patient, **lateral,
                           **({"StudyInstanceUID": study} if study else {}))
        assert main(["infer", "--ap", str(chest_radiograph), "--lateral", path, "--out", str(out)]) == 2
        message = capsys.readouterr().err.strip().splitlines()[-1]
        assert problem in message and ".dcm" in message
        assert not out.exists()


def test_true_masks_of_every_render_align_and_are_accepted(evaluated):
    """The same person's true masks (DXA truth mask, the MRI column mask's projection) are accepted in every render,
    within 1 mm at the MRI spine's centroid on average and 2 mm in each (0.49, 1.53, 0.37, 1.15, 0.93 mm; 0.1–1.2 with
    the fixed-share bodies before they reached back to the canal). Before the cut by the field of view was left out
    of the outline, 3 of 5 were rejected with the outlines 3.7 mm apart (RMS)."""
    from scipy import ndimage

    from monai_spine.evaluation.scores import alignment_errors
    from monai_spine.registration import align_pair
    from monai_spine.transforms import LoadRadiograph, LoadVolume

    studies = evaluated[2] / "studies"
    datalist = json.loads((studies / "dataset.json").read_text())
    entries = [e for split in ("training", "validation", "test") for e in datalist.get(split, [])]
    assert len(entries) == N_ACQUISITIONS
    errors = []
    for entry in entries:
        dxa_mask, mri_mask = LoadRadiograph()(studies / entry["dxa_spine"]), LoadVolume()(studies / entry["mri_spine"])
        alignment = align_pair(dxa_mask, mri_mask)
        truth = np.asarray(json.loads((studies / entry["truth"]).read_text())["matrix_mri_to_dxa"])
        spacing = np.abs(np.diag(np.asarray(mri_mask.affine))[[0, 2]])
        centroid = np.asarray(ndimage.center_of_mass(np.asarray(mri_mask[0]) > 0))[[0, 2]] * spacing
        assert alignment.accepted, (entry["id"], alignment.reason)
        errors.append(alignment_errors(alignment.matrix_mri_to_dxa, truth, centroid).translation_error_mm)
    assert np.mean(errors) < 1.0 and max(errors) < 2.0, errors


def test_discs_bring_the_bundle_masks_pose_back_along_the_spine_and_vouch_for_it(evaluated):
    """With the bundles' masks the pose slips along the spine (8.5, 15.6, 10.0, 2.9 and 8.0 mm at the MRI spine's
    centroid, mean 9.0 mm: the masks' lower ends disagree); the disc stage, which ``evaluate`` runs with the images,
    sees that the MRI shows its discs (its profile repeats every 36 mm), lines them up with the DXA's within half a
    level either way, and the outline is refitted across at that height: 1.86, 0.91, 0.63, 1.25 and 1.31 mm, mean
    1.19 mm (1.31 before the refit); along the spine at most 1.04 mm. Where the spine's lower end in both masks
    agrees at the discs' height (render 3, 0.3 mm), the masks' shapes' disagreement (their own) no longer rejects:
    1 of 5 accepted (0 before), 0.63 mm off; the other renders' agreeing end is the top, which the DXA's edge cuts."""
    rows = [row for row in evaluated[1] if row["scorer"] == "alignment" and row["status"] == "ok"]
    errors = [float(row["translation_error_mm"]) for row in rows]
    assert len(errors) == N_ACQUISITIONS
    assert np.mean(errors) < 1.5 and max(errors) < 2.5, errors
    assert max(float(row["along_spine_error_mm"]) for row in rows) < 1.5, rows
    accepted = [error for row, error in zip(rows, errors) if row["accepted"] == "1"]
    assert len(accepted) >= 1 and max(accepted) < 1.5, (errors, [row["reason"] for row in rows])


def test_dxa_mask_of_the_mirrored_image_is_the_mirrored_mask(evaluated):
    """The DXA bundle's inference takes the union of the masks of the image and of its mirror (``MirrorMaxInferer``),
    so mirroring a render mirrors its mask: Dice 0.96-0.99 between a render's mask and its mirror's mask mirrored
    back, 0.972 on average; without the mirror 0.91-0.97, 0.943. What is left is the bundle's resampling grid."""
    import torch

    from monai_spine.segmentation import segment_dxa
    from monai_spine.transforms import LoadRadiograph

    studies = evaluated[2] / "studies"
    datalist = json.loads((studies / "dataset.json").read_text())
    dice = []
    for entry in (e for split in ("training", "validation", "test") for e in datalist.get(split, [])):
        image = LoadRadiograph()(studies / entry["dxa"])
        mirror = image.clone()
        mirror[0] = torch.flip(image[0], [0])
        direct = np.asarray(segment_dxa(image, "cpu")[0]) > 0
        back = np.flip(np.asarray(segment_dxa(mirror, "cpu")[0]) > 0, 0)
        dice.append(2 * (direct & back).sum() / (direct.sum() + back.sum()))
    assert np.mean(dice) > 0.96 and min(dice) > 0.95, dice


def test_lateral_mask_on_the_abdomen_gives_way_to_the_column(tmp_path):
    """The real CT's upper 150 mm (T11 to part of L3), rendered bi-planar (seed 3, first study): the radiograph
    bundle's largest lateral mask lies on the abdomen, about 70 % of the way from the body's back to its front, and
    a smaller part of its mask on the column. The route takes that part, says so, and its 3D curve is within 15 mm of
    the truth (81 mm with the largest mask)."""
    import nibabel as nib

    from monai_spine.evaluation.scorers import BiplanarPipelineScorer
    from monai_spine.evaluation.studies import EvaluationStudy
    from monai_spine.pipelines.biplanar import LATERAL_DEPTH_RANGE, body_depth_share, reconstruct_biplanar
    from monai_spine.segmentation import segment_radiograph
    from monai_spine.transforms import LoadRadiograph

    if not REAL_CT.exists():
        pytest.skip(f"the real-anatomy CT is not at {REAL} (../shared)")
    upper = []
    for path in (REAL_CT, REAL_LABELS):
        upper.append(tmp_path / path.name)
        nib.save(nib.load(path).slicer[:, :, 62:112], upper[-1])
    make_drr_cohort(*upper, 1, 3, tmp_path / "studies", progress=False, modalities=("biplanar",))
    study = tmp_path / "studies" / "study_0000"
    lateral = LoadRadiograph("lateral")(study / "lateral.dcm")
    largest = np.asarray(segment_radiograph(lateral, "lateral", "cpu")[0]) > 0
    assert np.nanmedian(body_depth_share(lateral)[largest]) > LATERAL_DEPTH_RANGE[1]

    result = reconstruct_biplanar(study / "ap.dcm", study / "lateral.dcm")
    assert sum("was taken instead" in w for w in result.warnings) == 1
    assert LATERAL_DEPTH_RANGE[0] < result.qc["lateral_depth_share"] < LATERAL_DEPTH_RANGE[1]
    files = {key: study / f"{key}.dcm" for key in ("ap", "lateral")} | {"truth": study / "truth.json"}
    assert BiplanarPipelineScorer("cpu").score(EvaluationStudy("upper", files), "ap")["mean_3d_mm"] < 15.0


def test_the_radiograph_bundle_reaches_the_real_lumbosacral_junction(tmp_path):
    """The real CT's bi-planar render 6 of seed 12 ends about 50 mm below S1. The network stops the column about
    100 mm above an image's lower edge, so without context below its masks left L5 and S1 out (the lower half of
    the true column reached 0.44 in the lateral, 0.54 in the AP); the bundle's 100 mm of reflection below the image
    (``context_below_mm``, 0.4.5) lets them reach all of it."""
    from monai_spine.bundles import bundle_root
    from monai_spine.evaluation import mask_reach
    from monai_spine.segmentation import RADIOGRAPH_VIEWS
    from monai_spine.segmentation.runner import BundleSegmenter
    from monai_spine.transforms import LoadRadiograph

    if not REAL_CT.exists():
        pytest.skip(f"the real-anatomy CT is not at {REAL} (../shared)")
    make_drr_cohort(REAL_CT, REAL_LABELS, 7, 12, tmp_path, progress=False, modalities=("biplanar",))
    study = tmp_path / "study_0006"
    for view, frame in RADIOGRAPH_VIEWS.items():
        image = LoadRadiograph(frame)(study / f"{view}.dcm")
        truth = np.asarray(LoadRadiograph(frame)(study / f"{view}_spine.nii.gz")[0])
        reached = {}
        for context in (0.0, 100.0):
            segment = BundleSegmenter(bundle_root("radiograph_spine_segmentation"), "cpu",
                                      overrides={"frame": frame, "context_below_mm": context})
            reached[context] = mask_reach(np.asarray(segment(image)[0]), truth).lower_rows_reached
        assert reached[0.0] < 0.7 and reached[100.0] > 0.9, (view, reached)


def test_lateral_rows_in_the_abdomen_refuse_rather_than_mislead(tmp_path):
    """The real CT's bi-planar render 4 of seed 11: the radiograph bundle's lateral mask runs from the column into
    the abdomen over its top 78 mm, in front of 0.6 of the trunk's depth, in one component. Kept, those rows put the
    sagittal centre line 35 mm off the truth and nothing says so; the route leaves them out, and what stays of the
    lateral matches too little of the AP's height, so it refuses the pair with a one-line error that says why."""
    from monai_spine.errors import SpineInputError
    from monai_spine.evaluation.scorers import BiplanarPipelineScorer
    from monai_spine.evaluation.studies import EvaluationStudy
    from monai_spine.pipelines.biplanar import lateral_mask_in_body, reconstruct_biplanar
    from monai_spine.segmentation import segment_radiograph

    if not REAL_CT.exists():
        pytest.skip(f"the real-anatomy CT is not at {REAL} (../shared)")
    make_drr_cohort(REAL_CT, REAL_LABELS, 5, 11, tmp_path, progress=False, modalities=("biplanar",))
    study = tmp_path / "study_0004"

    def rows_kept(image, view):  # the route's segmenter before lateral_rows_in_body
        mask = segment_radiograph(image, view, "cpu")
        if view == "ap":
            return mask
        return lateral_mask_in_body(image, mask, lambda: segment_radiograph(image, view, "cpu", every_component=True))

    files = {key: study / f"{key}.dcm" for key in ("ap", "lateral")} | {"truth": study / "truth.json"}
    misled = BiplanarPipelineScorer("cpu", segmenter=rows_kept).score(EvaluationStudy("render 4", files), "ap")
    assert misled["sagittal_mae_mm"] > 30.0
    unwarned = reconstruct_biplanar(files["ap"], files["lateral"], rows_kept)
    assert not any("no spine lies" in w for w in unwarned.warnings)
    with pytest.raises(SpineInputError, match=r"lateral.dcm: its spine's heights do not overlap the AP's .*; 78 mm of "
                                              r"the lateral mask's rows lay where no spine lies in the body"):
        reconstruct_biplanar(files["ap"], files["lateral"])
