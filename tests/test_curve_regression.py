"""The DXA curve regressor: its network, its bundle as users run it, and ``monai-spine infer --dxa`` on a phantom
study none of the training studies share a seed with, against the phantom's truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser

from monai_spine.bundles import CURVE_BUNDLE, bundle_root
from monai_spine.cli import main
from monai_spine.cohort import FieldOfView, build_truth_cohort, cut_field_of_view, truth_curves
from monai_spine.geometry import CURVE_NAMES
from monai_spine.geometry.writers import read_curves_json
from monai_spine.measures import curve_mae_mm
from monai_spine.networks import SpineCurveRegressor
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.regression import BundleCurveRegressor
from monai_spine.transforms import LoadRadiograph

ROOT = bundle_root(CURVE_BUNDLE)
WEIGHTS = ROOT / "models" / "model.pt"
SEED = 515151  # not a training seed


def _bundle(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-m", "monai.bundle", *args, "--bundle_root", str(ROOT), "--meta_file",
                           str(ROOT / "configs" / "metadata.json")], env=env, capture_output=True, text=True,
                          timeout=600)


def _configs(*names: str) -> str:
    return str([str(ROOT / "configs" / f"{name}.json") for name in names])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A scoliotic phantom study (DXA) in a datalist, and its regressor pairs from the truth, cropped as the shipped
    bundle crops (its ``crop_spine_fill``)."""
    root = tmp_path_factory.mktemp("curves")
    entry = write_study(make_study(SEED, scoliotic=True), root / "study_0000", modalities=("dxa",))
    (root / "dataset.json").write_text(json.dumps({"training": [entry], "validation": [entry], "test": [entry]}))
    fill = json.loads((ROOT / "configs" / "inference.json").read_text())["crop_spine_fill"]
    build_truth_cohort([root / "dataset.json"], root / "cohort", spine_fill=fill)
    return root


@pytest.mark.parametrize("encoder, attention", [("resnet18", True), ("resnet50", True), ("resnet50", False)])
def test_network_gives_six_curves_of_209_from_a_224_crop(encoder, attention):
    network = SpineCurveRegressor(encoder, attention).eval()
    with torch.no_grad():
        assert network(torch.rand(2, 1, 224, 224)).shape == (2, 6, 209)
    assert network.encoder[0].stride == (2, 2)  # the stride-2 stem
    with pytest.raises(ValueError, match="positions"):
        SpineCurveRegressor(encoder, True, crop_size=224)(torch.rand(1, 1, 160, 160))


def test_every_config_resolves_as_the_zoo_layers_them(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "0")
    layers = {
        ("inference",): ("network", "preprocessing", "postprocessing", "handlers"),
        ("train",): ("network", "loss", "optimizer", "lr_scheduler", "train#preprocessing", "validate#preprocessing"),
        ("train", "evaluate"): ("validate#preprocessing", "validate#handlers"),
        ("train", "multi_gpu_train"): ("device",),
        ("train", "evaluate", "multi_gpu_evaluate"): ("device",),
    }
    for configs, ids in layers.items():
        parser = ConfigParser()
        parser.read_meta(ROOT / "configs" / "metadata.json")
        parser.read_config(eval(_configs(*configs)))
        parser["bundle_root"] = str(ROOT)
        for i in ids:
            assert parser.get_parsed_content(i) is not None, (configs, i)
        assert parser.get_parsed_content("ckpt_path") == str(WEIGHTS)
    assert parser["_meta_#name"] and parser["_meta_#version"]
    train = ConfigParser(ConfigParser.load_config_files(eval(_configs("train"))))
    assert type(train.get_parsed_content("optimizer")).__name__ == "Adam"
    assert tuple(train.get_parsed_content("optimizer").defaults["betas"]) == (0.9, 0.999)
    assert type(train.get_parsed_content("lr_scheduler")).__name__ == "StepLR"
    for other in ("multi_gpu_train.json", "multi_gpu_evaluate.json", "logging.conf"):  # as the other bundles'
        assert (ROOT / "configs" / other).read_bytes() == (
            bundle_root("dxa_spine_segmentation") / "configs" / other).read_bytes()


def test_shipped_weights_fit_the_zoo_limit_and_load_on_cpu():
    assert WEIGHTS.stat().st_size <= 25_000_000
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
    assert {t.dtype for t in state.values() if t.is_floating_point()} == {torch.float16}
    SpineCurveRegressor("resnet18", True, dim=256).load_state_dict(state)


def test_fine_tuning_and_evaluation_run_on_cpu(study, tmp_path):
    result = _bundle("run", "--config_file", _configs("train"), "--dataset_dir", str(study / "cohort"),
                     "--ckpt_dir", str(tmp_path / "models"), "--epochs", "1", "--val_interval", "1", "--batch_size",
                     "1", "--num_workers", "0", "--load_pretrain", "True")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "models" / "model.pt").is_file()
    result = _bundle("run", "--config_file", _configs("train", "evaluate"), "--dataset_dir", str(study / "cohort"),
                     "--output_dir", str(tmp_path / "eval"), "--num_workers", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    mae = float((tmp_path / "eval" / "metrics.csv").read_text().split(",")[1])
    # the shipped 0.3 weights (docs/regression.md) on this unseen scoliotic study: 11.9 mm over the six curves (0.2:
    # 8.7 mm, 0.1, CPU-trained: 39.8 mm; on the 30-study phantom test set 0.3 and 0.2 are level); guarded at that
    # level (issue 11's targets are 1-2 mm)
    assert mae * 224 * 3.2 < 13.5


def test_bundle_inference_writes_the_curves_of_each_crop(study, tmp_path):
    crops = tmp_path / "crops"
    crops.mkdir()
    crop = nib.load(study / "cohort" / "pairs" / "study_0000" / "dxa_crop.nii.gz")
    nib.save(crop, crops / "a.nii.gz")
    result = _bundle("run", "--config_file", _configs("inference"), "--dataset_dir", str(crops), "--output_dir",
                     str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    values = np.asarray(json.loads((tmp_path / "out" / "a_curves.json").read_text())["values"])
    targets = json.loads((study / "cohort" / "pairs" / "study_0000" / "targets.json").read_text())
    truth = np.array([np.asarray(targets["curves_crop_px"][name])[:, 0] for name in CURVE_NAMES]) / 224
    side_mm = 224 * targets["crop_frame"]["pixel_mm"]
    # 0.5: coronal centre 9.5 mm and sagittal centre 11.8 mm off on this scoliotic study, its worst case (0.4: 4.3 and
    # 14.9 mm; 0.3: sagittal 17.5 mm; 0.2: coronal 5.8 mm, sagittal 10.8 mm; 0.1: 67 and 12 mm; the DXA route takes its
    # coronal curves from the mask, monai_spine.pipelines.dxa.CORONAL_SOURCE): guarded at that level
    assert np.abs(values[0] - truth[0]).mean() * side_mm < 10.5
    assert np.abs(values[3] - truth[3]).mean() * side_mm < 13.5


def test_infer_dxa_writes_the_contract_files_close_to_the_truth(study, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["infer", "--dxa", str(study / "study_0000" / "dxa.dcm"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["curve3d.csv", "curves.json", "overlay.png", "report.png"]
    curves, document = read_curves_json(out / "curves.json")
    assert document["mode"] == "dxa" and document["n_points"] == 209
    assert abs(curves.sagittal_centre[:, 0].mean()) < 1e-2  # relative depth
    assert CURVE_BUNDLE in document["provenance"]["bundles"]
    errors = curve_mae_mm(curves, truth_curves(study / "study_0000" / "truth.json"))
    # coronal from the mask, 2.4 mm on this scoliotic study (1.1 mm on the phantom test set), sagittal from the 0.3
    # regressor, 19.1 mm (4.1 mm on the test set; 0.2: 10.3 and 3.9 mm)
    assert errors[0] < 3.0 and errors[3] < 21.0, errors
    assert any("known_limitation" in w or "not reliable" in w for w in document["qc"]["warnings"])
    assert "coronal Cobb" in capsys.readouterr().out


def test_a_spine_cut_by_the_field_of_view_gives_its_part_with_a_warning(study, tmp_path):
    from monai_spine.transforms import LoadRadiograph

    dxa = LoadRadiograph()(study / "study_0000" / "dxa.dcm")
    truth = truth_curves(study / "study_0000" / "truth.json")
    spacing = float(dxa.affine[1, 1])
    cut = int(np.mean(truth.coronal_centre[[0, -1], 1]) / spacing)  # the spine's middle row
    pixels = dxa[0].numpy()[:, cut:]
    nib.save(nib.Nifti1Image(pixels.astype(np.float32), np.diag([float(dxa.affine[0, 0]), spacing, 1, 1])),
             tmp_path / "lower.nii.gz")
    assert main(["infer", "--dxa", str(tmp_path / "lower.nii.gz"), "--out", str(tmp_path / "out")]) == 0
    curves, document = read_curves_json(tmp_path / "out" / "curves.json")
    assert any("runs out of the image at the top" in w for w in document["qc"]["warnings"])
    assert any("may not be the thoracic and lumbar curves" in w for w in document["qc"]["warnings"])
    assert curves.coronal_centre[0, 1] < 20.0  # the curves start at the image's top, the part that is there


def test_a_ragged_dxa_mask_gives_the_result_with_a_warning(study, tmp_path, monkeypatch, make_ragged):
    """The study's true DXA mask, its left side (the patient's) cut back by 4 mm on every other band of 3 rows (a
    segmentation that broke up): the result is written and its QC says the mask is ragged; the true mask itself gets
    no such warning."""
    from monai_spine.pipelines import dxa

    def true_mask(image, device=None):
        return (LoadRadiograph()(study / "study_0000" / "dxa_spine.nii.gz") > 0).float()

    def ragged_mask(image, device=None):
        return make_ragged(true_mask(image), float(image.affine[0, 0]))

    for segmenter, ragged in ((true_mask, False), (ragged_mask, True)):
        monkeypatch.setattr(dxa, "segment_dxa", segmenter)
        out = tmp_path / segmenter.__name__
        assert main(["infer", "--dxa", str(study / "study_0000" / "dxa.dcm"), "--out", str(out)]) == 0
        warnings = read_curves_json(out / "curves.json")[1]["qc"]["warnings"]
        assert any(w.startswith("the DXA spine mask is ragged") for w in warnings) == ragged, warnings


@pytest.mark.parametrize("content, message", [("no spine", "no spine found"), ("text", "")])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, content, message):
    path = tmp_path / "in.nii.gz"
    if content == "no spine":  # flat noise: an exposure without a body
        pixels = np.random.default_rng(0).random((400, 900)).astype(np.float32) * 100 + 1000
        nib.save(nib.Nifti1Image(pixels, np.diag([1.0, 1.0, 1.0, 1.0])), path)
    else:
        path.write_text("not an image")
    out = tmp_path / "out"
    assert main(["infer", "--dxa", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(path) in error and message in error
    assert not out.exists()


@pytest.mark.parametrize("ablation, attention, millions", [("resnet50_bot", True, 28.4), ("resnet50", False, 26.1)])
def test_the_papers_configuration_and_its_ablation_are_config_files(ablation, attention, millions):
    """``configs/resnet50_bot.json`` (the published ResNet-50 + transformer) and ``configs/resnet50.json`` (no
    transformer) layered over ``train.json`` give those networks (docs/regression.md's table)."""
    parser = ConfigParser()
    parser.read_config(eval(_configs("train", ablation)))
    parser["bundle_root"] = str(ROOT)
    network = parser.get_parsed_content("network_def")
    assert (network.attention is not None) == attention
    assert round(sum(p.numel() for p in network.parameters()) / 1e6, 1) == millions


def test_crop_spine_fill_in_the_bundle_sets_the_pipelines_crop(study, tmp_path):
    """The shipped bundle (``crop_spine_fill`` 0.85) crops a DXA's spine cut to a lumbar field at ``h / (0.85 · 224)``
    mm, so that the kept spine fills 85 % of the rows; a copy whose ``inference.json`` has no ``crop_spine_fill``
    crops it at the fixed 3.2 mm."""
    dxa, truth = LoadRadiograph()(study / "study_0000" / "dxa.dcm"), truth_curves(study / "study_0000" / "truth.json")
    mask = LoadRadiograph()(study / "study_0000" / "dxa_spine.nii.gz")
    lumbar, _ = cut_field_of_view(dxa, truth, FieldOfView(0.6, 1.0, 30.0, 30.0))
    lumbar_mask, _ = cut_field_of_view(mask, truth, FieldOfView(0.6, 1.0, 30.0, 30.0))
    copy = tmp_path / "bundle"
    (copy / "configs").mkdir(parents=True)
    (copy / "configs" / "metadata.json").symlink_to(ROOT / "configs" / "metadata.json")
    inference = json.loads((ROOT / "configs" / "inference.json").read_text())
    (copy / "configs" / "inference.json").write_text(json.dumps({**inference, "crop_spine_fill": None}))
    (copy / "models").mkdir()
    (copy / "models" / "model.pt").symlink_to(WEIGHTS)
    fixed = BundleCurveRegressor(copy, "cpu", runtime="torch")
    assert fixed.crop_spine_fill is None and fixed.crop(lumbar, lumbar_mask).frame.pixel_mm == 3.2
    shipped = BundleCurveRegressor(ROOT, "cpu", runtime="torch")
    assert shipped.crop_spine_fill == 0.85
    crop = shipped.crop(lumbar, lumbar_mask)
    height = crop.heights.z_bottom - crop.heights.z_top
    assert 150.0 < height < 300.0  # the lumbar field's spine, from its mask
    assert crop.frame.pixel_mm == pytest.approx(height / (0.85 * 224))
    rows = crop.frame.to_px(np.array([[0.0, crop.heights.z_top], [0.0, crop.heights.z_bottom]]))[:, 1]
    assert rows[1] - rows[0] == pytest.approx(0.85 * 224)
