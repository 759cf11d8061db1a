"""``monai-spine evaluate`` and ``monai_spine.evaluation`` against the phantom's known truth: the scorers on true
and deliberately wrong masks and matrices, the shipped bundles on unseen phantom studies, a broken study among
good ones, bad datalists, and the contract's ``summary.json``."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from monai_spine.cli import main
from monai_spine.evaluation import (
    SCHEMA,
    EvaluationStudy,
    Scorer,
    alignment_errors,
    centroid_containment,
    dice,
    evaluate_datalist,
    mask_reach,
    score_dxa_mask,
)
from monai_spine.evaluation.figures import CurvePanel
from monai_spine.geometry import SpineCurves
from monai_spine.io.datalist import write_datalist
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.registration import rigid_matrix
from monai_spine.transforms import LoadRadiograph, LoadVolume

SEEDS = (515151, 525252)  # not training seeds of the bundles (those come from `study_seed(2027, i)`)
CONTRACT_KEYS = {"schema", "split", "n_studies", "pipelines"}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Two phantom studies in the test split (the first with its three MRI contrasts, the second with the in-phase
    MRI only, to keep the run short) and a third whose DXA file is cut in half (a broken study, no MRI)."""
    root = tmp_path_factory.mktemp("evaluate")
    entries = [write_study(make_study(seed, scoliotic=i == 0, posture=False), root / f"study_{i}",
                           modalities=("dxa", "mri")) for i, seed in enumerate(SEEDS)]
    for key in ("mri_water", "mri_fat"):
        entries[1].pop(key)
    shutil.copytree(root / "study_1", root / "broken", ignore=shutil.ignore_patterns("mri*"))
    data = (root / "broken" / "dxa.dcm").read_bytes()
    (root / "broken" / "dxa.dcm").write_bytes(data[: len(data) // 2])
    broken = {"id": "broken", **{key: f"broken/{Path(entries[1][key]).name}" for key in ("dxa", "dxa_spine", "truth")}}
    write_datalist(root / "dataset.json", {"training": [], "validation": [], "test": [*entries, broken]}, "test")
    return root


@pytest.fixture(scope="module")
def evaluated(cohort) -> Path:
    out = cohort / "out"
    assert main(["evaluate", "--datalist", str(cohort / "dataset.json"), "--out", str(out), "--device", "cpu"]) == 0
    return out


def _rows(out: Path) -> dict[tuple[str, str, str], dict]:
    with open(out / "metrics.csv") as f:
        return {(row["id"], row["scorer"], row["item"]): row for row in csv.DictReader(f)}


def test_truth_masks_score_perfectly(cohort):
    study = EvaluationStudy.from_entry(json.loads((cohort / "dataset.json").read_text())["test"][0], cohort, 0)
    truth_mask = LoadRadiograph()(study.files["dxa_spine"])
    figures = score_dxa_mask(truth_mask, truth_mask, study.truth)
    assert figures["dice"] == 1.0
    assert figures["centroids_inside"] == figures["centroids_total"] >= 17 and figures["missed_levels"] == ""
    assert figures["target_levels_inside"] == 1
    assert figures["centre_mae_mm"] < 0.5 and abs(figures["width_error_mm"]) < 0.5  # the truth's own sampling
    assert figures["height_coverage"] > 0.99
    mri_mask = LoadVolume()(study.files["mri_spine"])
    assert dice(mri_mask[0], mri_mask[0]) == 1.0


def test_shifted_mask_loses_centroids_and_shows_the_shift(cohort):
    study = EvaluationStudy.from_entry(json.loads((cohort / "dataset.json").read_text())["test"][0], cohort, 0)
    truth_mask = LoadRadiograph()(study.files["dxa_spine"])
    shift_px = int(round(40.0 / float(truth_mask.affine[0, 0])))  # 40 mm to the patient's left: off the column
    shifted = torch.roll(truth_mask, shift_px, dims=1)
    figures = score_dxa_mask(shifted, truth_mask, study.truth)
    assert figures["centroids_inside"] < figures["centroids_total"] // 2
    assert figures["dice"] < 0.5
    assert figures["centre_mae_mm"] == pytest.approx(shift_px * float(truth_mask.affine[0, 0]), abs=0.5)


def test_centroids_outside_the_image_count_as_outside():
    mask = np.zeros((10, 20), dtype=np.uint8)
    mask[3:6, :] = 1
    found = centroid_containment(mask, ["L1", "L2", "L3", "L4"], [[4, 5], [8, 5], [4, 25], [-1, 5]])
    assert found.inside == {"L1": True, "L2": False, "L3": False, "L4": False}
    assert found.n_inside == 1 and found.missed == ["L2", "L3", "L4"]


def test_mask_reach_of_known_masks():
    """A true column 10 pixels wide over rows 4–23: a mask half as wide on its upper 10 rows reaches half its rows,
    none of its lower half, at width ratio 0.5; the truth itself reaches all at 1."""
    truth = np.zeros((30, 40), dtype=np.uint8)
    truth[10:20, 4:24] = 1
    short = np.zeros_like(truth)
    short[12:17, 4:14] = 1
    assert tuple(mask_reach(short, truth)) == (0.5, 0.0, 0.5)
    assert tuple(mask_reach(truth, truth)) == (1.0, 1.0, 1.0)
    missing = mask_reach(np.zeros_like(truth), truth)
    assert missing.rows_reached == 0.0 and np.isnan(missing.width_ratio)
    with pytest.raises(ValueError, match="empty"):
        mask_reach(truth, np.zeros_like(truth))


def test_alignment_errors_against_known_matrices():
    truth = rigid_matrix(1.0, (12.0, -7.0), centre_mm=(100.0, 300.0))
    centre = (150.0, 250.0)
    turned = rigid_matrix(0.5, centre_mm=truth[:2, :2] @ centre + truth[:2, 2]) @ truth  # 0.5° about the centroid
    assert alignment_errors(turned, truth, centre) == pytest.approx((0.5, 0.0, 0.0, 0.0), abs=1e-9)
    moved = rigid_matrix(0.0, (3.0, -4.0)) @ truth  # 3 mm across the spine (x), 4 mm along it (the DXA's rows)
    errors = alignment_errors(moved, truth, centre)
    assert errors == pytest.approx((0.0, 5.0, 4.0, 3.0), abs=1e-9)
    assert (errors.along_spine_error_mm, errors.across_spine_error_mm) == pytest.approx((4.0, 3.0), abs=1e-9)


def test_bundles_and_alignment_on_phantom_studies(evaluated):
    rows = _rows(evaluated)
    for i in range(len(SEEDS)):
        dxa = rows[(f"study_{i}", "dxa_segmentation", "dxa")]
        assert dxa["status"] == "ok" and float(dxa["dice"]) > 0.88  # 0.8985 at worst with the 0.4 weights
        # 3.03 mm on the scoliotic study with the 0.3 weights on the textured phantom (1.90 mm with 0.2)
        assert dxa["target_levels_inside"] == "1" and float(dxa["centre_mae_mm"]) < 3.5
        mri = rows[(f"study_{i}", "mri_segmentation", "mri")]
        # 0.68 at worst with the 0.4 weights, 0.53 with 0.6, 0.42 with 0.7 (better on real anatomy, weaker on these
        # default phantoms without soft tissue)
        assert mri["status"] == "ok" and float(mri["dice"]) > 0.35
        alignment = rows[(f"study_{i}", "alignment", "mri")]
        assert alignment["status"] == "ok" and alignment["alignable"] == "1"
        # the 0.4 masks (cervical spine too wide, MRI mask into the sacrum) move the pose along the spine: 8.9 and
        # 12.1 mm off at the centroid, 0.79° and 0.14°, and both pairs rejected (docs/alignment.md); with the 0.3
        # masks 0.57°, within 3 mm. An accepted pair must be right.
        assert float(alignment["translation_error_mm"]) < 15.0 and float(alignment["rotation_error_deg"]) < 1.0
        assert alignment["accepted"] == "0" or float(alignment["translation_error_mm"]) < 3.0
        parts = float(alignment["along_spine_error_mm"]), float(alignment["across_spine_error_mm"])
        assert np.hypot(*parts) == pytest.approx(float(alignment["translation_error_mm"]), abs=1e-3)
        # the verdict is reported as found: today's QC rejects some rigid pairs on bundle masks (issue 10, item 6)
        assert (alignment["reason"] == "") == (alignment["accepted"] == "1") == (alignment["verdict_correct"] == "1")
    assert {key[2] for key in rows if key[0] == "study_0" and key[1] == "mri_segmentation"} == {
        "mri", "mri_water", "mri_fat"}


def test_a_broken_study_is_listed_and_the_others_finish(evaluated):
    rows = _rows(evaluated)
    assert rows[("broken", "dxa_segmentation", "dxa")]["status"] == "failed"
    assert "dxa.dcm" in rows[("broken", "dxa_segmentation", "dxa")]["error"]
    assert rows[("broken", "mri_segmentation", "")]["status"] == "skipped"
    summary = json.loads((evaluated / "summary.json").read_text())
    assert summary["n_studies"] == 3 and summary["n_failed_studies"] == 1
    assert {row["id"] for row in summary["failed"]} == {"broken"}
    assert summary["segmentation"]["dxa"]["ok"] == 2 and summary["segmentation"]["dxa"]["failed"] == 1


def test_summary_has_the_contract_keys(evaluated):
    summary = json.loads((evaluated / "summary.json").read_text())
    assert CONTRACT_KEYS <= summary.keys()
    assert summary["schema"] == SCHEMA == "monai-spine/evaluation/v1" and summary["split"] == "test"
    route = summary["pipelines"]["dxa"]  # the DXA route of infer --dxa on the two readable studies
    assert route["n"] == 2 and route["failed"] == 1 and route["coronal_mae_mm"] < 2.5  # 1.55 mm with the 0.5 mask
    assert summary["segmentation"]["dxa"]["dice"]["worst"] > 0.88
    assert summary["segmentation"]["mri"]["mri"]["dice"]["mean"] > 0.58  # 0.79 with 0.4, 0.71 with 0.6, 0.65 with 0.7
    alignment = summary["alignment"]
    assert alignment["ok"] == alignment["alignable"] == 2 and alignment["verdict_correct"] == alignment["accepted"]
    assert alignment["translation_error_mm"]["worst"] < 15.0  # 12.1 mm with the 0.4 masks, rejected (see above)
    assert alignment["along_spine_error_mm"]["worst"] <= alignment["translation_error_mm"]["worst"]
    assert (evaluated / "evaluation.png").stat().st_size > 10_000
    assert sorted(p.name for p in evaluated.iterdir()) == ["evaluation.png", "metrics.csv", "summary.json"]


def test_evaluation_figure_has_a_row_per_scorer_that_draws(evaluated):
    """The two readable studies drawn twice: their DXA masks (dxa_segmentation) and the DXA route's curves against
    the truth (dxa_pipeline); 6 inches of 100 dpi per row, 3 per panel."""
    assert plt.imread(evaluated / "evaluation.png").shape[:2] == (2 * 600, 2 * 300)


def test_curve_panel_draws_the_prediction_beside_the_truth():
    """A prediction 10 mm to the patient's left of a straight truth: drawn 10 mm right of the truth's coronal centre
    line, which sits at -OFFSET_MM; the sagittal centre lines coincide at +OFFSET_MM; z runs downward."""
    z = np.linspace(0.0, 400.0, 209)
    line = lambda lateral: np.stack([np.full_like(z, lateral), z], axis=1)  # noqa: E731
    truth = SpineCurves(line(100.0), line(85.0), line(115.0), line(0.0), line(-15.0), line(15.0))
    pred = SpineCurves(*[c + [10.0, 0.0] if k < 3 else c for k, c in enumerate(truth.to_array())])
    fig, ax = plt.subplots()
    CurvePanel(pred, truth, "shifted").draw(ax)
    centres = [drawn.get_xdata() for drawn in ax.get_lines() if drawn.get_linewidth() > 1.0]  # truth, pred per view
    plt.close(fig)
    offset = CurvePanel.OFFSET_MM
    assert np.allclose([np.median(x) for x in centres], [-offset, 10.0 - offset, offset, offset])
    assert ax.yaxis_inverted()


class _CountingPipeline(Scorer):
    """A stand-in pipeline scorer: the contract's ``pipelines.dxa`` keys from the number of vertebrae."""

    name, section, requires, figures = "dxa_pipeline", ("pipelines", "dxa"), ("truth",), ("n_vertebrae",)

    def score(self, study, item):
        return {"n_vertebrae": len(study.truth["vertebrae"])}

    def summarise(self, rows):
        return {"n": len(rows), "failed": 0, "mean_3d_mm": float(np.mean([r["n_vertebrae"] for r in rows]))}


def test_a_pipeline_scorer_plugs_in(cohort, tmp_path):
    summary = evaluate_datalist(cohort / "dataset.json", "test", tmp_path / "out", scorers=[_CountingPipeline()],
                                progress=False)
    assert summary["pipelines"]["dxa"]["n"] == 3 and summary["pipelines"]["dxa"]["mean_3d_mm"] > 10
    assert list(_rows(tmp_path / "out"))[0] == ("study_0", "dxa_pipeline", "truth")


@pytest.mark.parametrize("case", ["missing", "not_json", "no_split", "empty_split"])
def test_bad_datalist_exits_2_and_writes_nothing(case, tmp_path, capsys):
    datalist = tmp_path / "dataset.json"
    if case == "not_json":
        datalist.write_text("{not json")
    elif case == "no_split":
        datalist.write_text(json.dumps({"training": [{"id": "a", "dxa": "a/dxa.dcm"}]}))
    elif case == "empty_split":
        datalist.write_text(json.dumps({"training": [], "validation": [], "test": []}))
    out = tmp_path / "out"
    assert main(["evaluate", "--datalist", str(datalist), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(datalist) in err
    assert not out.exists()
