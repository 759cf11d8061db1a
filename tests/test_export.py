"""``monai-spine export`` and the ONNX Runtime runners: each bundle's ``model.pt2`` and ``model.onnx``, loaded back on
their own, agree with the PyTorch network on a phantom study's image, at the export's size and at another; bad
input exits 2 with one line and writes nothing; the runners give PyTorch's results through ONNX Runtime."""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnxruntime
import pytest
import torch

from monai_spine.bundles import BUNDLE_NAMES, CURVE_BUNDLE, RADIOGRAPH_BUNDLE, bundle_root
from monai_spine.cli import main
from monai_spine.export import example_input, export_bundle
from monai_spine.networks.export import TOLERANCE, OnnxRuntimeNetwork, save_onnx
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.regression import BundleCurveRegressor
from monai_spine.segmentation import BundleSegmenter
from monai_spine.segmentation.runner import load_bundle
from monai_spine.transforms import LoadRadiograph

IMAGES = {BUNDLE_NAMES[0]: "dxa.dcm", BUNDLE_NAMES[1]: "mri_in_phase.nii.gz", RADIOGRAPH_BUNDLE: "ap.dcm",
          CURVE_BUNDLE: "dxa.dcm"}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "study"
    modalities = ("dxa", "biplanar", "mri")
    write_study(make_study(3, modalities=modalities), folder, modalities=modalities)
    return folder


def _other_size(x: torch.Tensor, dynamic_spatial: bool) -> torch.Tensor:
    """One image of ``x`` ``(2, C, W, H)``; for a network whose sides vary, its centre at most 160 pixels a side and
    16 (one UNet stride) less than the export's."""
    if not dynamic_spatial:
        return x[:1]
    (w, h), (cw, ch) = x.shape[2:], (min(n - 16, 160) for n in x.shape[2:])
    return x[:1, :, (w - cw) // 2 : (w + cw) // 2, (h - ch) // 2 : (h + ch) // 2].contiguous()


@pytest.mark.parametrize("name", IMAGES)
def test_exported_files_agree_with_pytorch(name, study, tmp_path):
    report = export_bundle(name, tmp_path / "out", image=study / IMAGES[name])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["export.json", "model.onnx", "model.pt2"]
    assert json.loads((tmp_path / "out" / "export.json").read_text()) == report
    parser, _, network = load_bundle(bundle_root(name), "cpu")
    x = _other_size(example_input(parser, study / IMAGES[name]), dynamic_spatial=name != CURVE_BUNDLE)
    assert x.std() > 0.05  # a real image, not a blank
    program = torch.export.load(tmp_path / "out" / "model.pt2").module()
    session = onnxruntime.InferenceSession(str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = network(x).numpy()
        from_pt2 = program(x).numpy()
    from_onnx = session.run(["pred"], {"image": x.numpy()})[0]
    assert from_pt2.shape == from_onnx.shape == expected.shape
    assert np.abs(from_pt2 - expected).max() <= TOLERANCE
    assert np.abs(from_onnx - expected).max() <= TOLERANCE
    assert all(check["max_abs_difference"] <= TOLERANCE for check in report["files"].values())


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("monai-spine export: error:")
    return err


def test_unknown_bundle_exits_2_and_writes_nothing(tmp_path, capsys):
    assert main(["export", "--bundle", "no_such_bundle", "--out", str(tmp_path / "out")]) == 2
    assert "unknown bundle 'no_such_bundle'" in _one_line_error(capsys)
    assert not any(tmp_path.iterdir())


def test_out_that_cannot_be_made_exits_2_and_writes_nothing(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    assert main(["export", "--bundle", CURVE_BUNDLE, "--out", str(blocker / "out")]) == 2
    assert f"{blocker} is not a folder" in _one_line_error(capsys)
    assert sorted(tmp_path.iterdir()) == [blocker]


def test_onnxruntime_runners_agree_with_pytorch(study, tmp_path, monkeypatch):
    """The curve regressor and the radiograph segmenter on CPU (ONNX Runtime by default): the ONNX model made on the
    first call is cached under ``$MONAI_SPINE_CACHE`` and gives PyTorch's results."""
    monkeypatch.setenv("MONAI_SPINE_CACHE", str(tmp_path))
    dxa = LoadRadiograph()(study / "dxa.dcm")
    regressor = BundleCurveRegressor(bundle_root(CURVE_BUNDLE), "cpu")
    reference = BundleCurveRegressor(bundle_root(CURVE_BUNDLE), "cpu", runtime="torch")
    crop = regressor.crop(dxa, LoadRadiograph()(study / "dxa_spine.nii.gz")).crop
    assert np.abs(regressor(crop) - reference(crop)).max() <= TOLERANCE
    ap = LoadRadiograph()(study / "ap.dcm")
    mask = BundleSegmenter(bundle_root(RADIOGRAPH_BUNDLE), "cpu")(ap)
    assert torch.equal(mask, BundleSegmenter(bundle_root(RADIOGRAPH_BUNDLE), "cpu", runtime="torch")(ap))
    assert mask.sum() > 1000
    cached = sorted(p.name.split("-")[0] for p in (tmp_path / "onnx").glob("*.onnx"))
    assert cached == [CURVE_BUNDLE, RADIOGRAPH_BUNDLE]
    again = BundleCurveRegressor(bundle_root(CURVE_BUNDLE), "cpu")  # from the cache: no export on its first call
    assert again.network.runtime is not None
    assert np.abs(again(crop) - reference(crop)).max() <= TOLERANCE


class _Gated(torch.nn.Module):
    """A network with a Python condition on a tensor, which the ONNX tracer warns about."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y if bool(y.abs().sum() > 0) else x


def test_onnx_export_tells_the_user_nothing_of_the_tracer(tmp_path):
    """Exporting (as the first inference does, into the ONNX cache) raises no warning that would reach a user:
    the dynamic axes are named and the tracer's warnings are the export's own business (its output is checked);
    the model still runs, batch and spatial sizes dynamic."""
    network = _Gated().eval()
    with pytest.warns(torch.jit.TracerWarning):  # the network does warn when traced outside save_onnx
        torch.jit.trace(network, torch.ones(2, 1, 8, 8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = save_onnx(network, torch.ones(2, 1, 8, 8), tmp_path / "gated.onnx", dynamic_spatial=True)
    # deprecations (the legacy exporter's notice) are hidden by Python's default filters outside __main__
    assert [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)] == []
    x = torch.randn(3, 1, 12, 10)
    assert torch.allclose(OnnxRuntimeNetwork(path)(x), network(x), atol=1e-5)
