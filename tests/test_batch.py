"""``monai-spine batch``: discovery of the three input kinds, a bad study among good ones, resume, two patients in
one folder, the Dask run, writer processes and mask processes equal to the local one, the batched DXA result equal to
``infer``'s, bad ``--input``."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
import pytest
import torch

from monai_spine.cli import main
from monai_spine.io.convert import convert
from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import write_study
from monai_spine.pipelines import infer_dxa
from monai_spine.pipelines.batch import BatchSettings, read_manifest, run_batch
from monai_spine.pipelines.discover import StudyInput, find_studies

TINY = StudyConfig(ct_spacing_mm=5.0, column_spacing_mm=2.0, dxa_pixel_mm=2.0, dxa_whole_body=False,
                   radiograph_pixel_mm=3.0)
"""A small phantom study (DXA 157 × 367 pixels of 2 mm): about 3 s per route on one CPU core."""
CPU = BatchSettings("cpu", batch_size=4, workers=1)


def _with_patient(src: Path, dst: Path, patient: str) -> None:
    ds = pydicom.dcmread(src)
    ds.PatientID = patient
    ds.save_as(dst)


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> Path:
    """``in/``: ``s1`` a phantom study (DXA, AP, lateral), ``loose/scan.nii.gz`` its DXA as NIfTI (the same shape:
    one batch of the segmentation network), ``broken/dxa.dcm`` cut short, ``two/`` a DXA and an AP + lateral of
    two patients."""
    root = tmp_path_factory.mktemp("batch") / "in"
    write_study(make_study(3, TINY, modalities=("dxa", "biplanar")), root / "s1", modalities=("dxa", "biplanar"))
    (root / "loose").mkdir()
    convert(root / "s1" / "dxa.dcm", root / "loose" / "scan.nii.gz")
    (root / "broken").mkdir()
    (root / "broken" / "dxa.dcm").write_bytes((root / "s1" / "dxa.dcm").read_bytes()[:60000])
    (root / "two").mkdir()
    for name, patient in (("dxa.dcm", "A"), ("ap.dcm", "B"), ("lateral.dcm", "B")):
        _with_patient(root / "s1" / name, root / "two" / name, patient)
    return root


@pytest.fixture(scope="module")
def local(studies) -> tuple[Path, list]:
    """The batch run into ``in/out`` (inside the input: not found as a study), one loader worker."""
    out = studies / "out"
    return out, run_batch(studies, out, CPU, progress=False)


def _manifest(out: Path) -> list[dict]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_discovers_folders_nifti_and_csv(tmp_path, write_dicom, write_nifti):
    """DICOM study folders by ViewPosition (or file name), the DXA named dxa.dcm beside another coronal image, 2D
    NIfTI files (a 3D one is no study), a CSV list with paths relative to it; the ids safe and stable."""
    pixels = np.zeros((8, 6), np.uint16)
    (tmp_path / "a b" / "visit").mkdir(parents=True)
    write_dicom(tmp_path / "a b" / "visit" / "1.dcm", pixels, ViewPosition="PA", PatientID="p")
    write_dicom(tmp_path / "a b" / "visit" / "2.dcm", pixels, ViewPosition="LL", PatientID="p")
    write_dicom(tmp_path / "a b" / "visit" / "dxa.dcm", pixels, PatientID="p")
    write_dicom(tmp_path / "a b" / "visit" / "dxa_soft.dcm", pixels, PatientID="p-soft")  # left out
    (tmp_path / "lone").mkdir()
    write_dicom(tmp_path / "lone" / "x.dcm", pixels, ViewPosition="AP")  # a lone AP: the coronal image
    (tmp_path / "ct").mkdir()
    write_dicom(tmp_path / "ct" / "slice.dcm", pixels, Modality="CT")  # no study image
    write_nifti(tmp_path / "scan.nii.gz", np.zeros((6, 8), np.float32))
    write_nifti(tmp_path / "volume.nii.gz", np.zeros((6, 8, 4), np.float32))
    visit = tmp_path / "a b" / "visit"
    assert find_studies(tmp_path) == [
        StudyInput("a_b__visit-" + hashlib.sha1(b"a b/visit").hexdigest()[:8], os.fspath(visit / "dxa.dcm"),
                   os.fspath(visit / "1.dcm"), os.fspath(visit / "2.dcm")),
        StudyInput("lone", os.fspath(tmp_path / "lone" / "x.dcm")),
        StudyInput("scan", os.fspath(tmp_path / "scan.nii.gz")),
    ]
    (tmp_path / "list.csv").write_text("id,dxa,ap,lateral\nx,scan.nii.gz,,\ny,,lone/x.dcm,\n")
    listed = find_studies(tmp_path / "list.csv")
    assert listed[0] == StudyInput("x", os.fspath(tmp_path / "scan.nii.gz"))
    assert listed[1].id == "y" and "line 3: needs a dxa, or both ap and lateral" in listed[1].problem


def test_one_failure_never_stops_the_others(local, studies):
    """The broken file and the two-patient folder fail with one line each; the others are written, both routes of
    the study that has both, and the output folder inside the input is not taken as a study."""
    out, rows = local
    assert [(r["id"], r["status"], r["outputs"]) for r in _manifest(out)] == [
        ("broken", "failed", ""), ("loose__scan", "ok", "loose__scan/dxa"), ("s1", "ok", "s1/dxa;s1/biplanar"),
        ("two", "failed", "")]
    errors = {r["id"]: r["error"] for r in _manifest(out)}
    assert errors["broken"].startswith(f"dxa: {studies / 'broken' / 'dxa.dcm'}: truncated or damaged DICOM")
    assert errors["two"] == f"{studies / 'two'}: images of 2 patients ('A' in dxa.dcm, 'B' in lateral.dcm): one " \
                            "patient per study folder"
    for folder in ("s1/dxa", "s1/biplanar", "loose__scan/dxa"):
        assert sorted(p.name for p in (out / folder).iterdir()) == ["curve3d.csv", "curves.json", "overlay.png",
                                                                   "report.png"]
    assert not (out / "broken").exists() and not (out / "two").exists()
    assert main(["batch", "--input", str(studies), "--out", str(out), "--device", "cpu", "--workers", "0"]) == 1


def test_batched_dxa_equals_infer(local, studies, tmp_path):
    """Two DXA of one shape in one batch of each network: the same curves.json as ``infer --dxa`` (coordinates to
    the written µm, measures to 1e-5)."""
    out, _ = local
    infer_dxa(studies / "s1" / "dxa.dcm", tmp_path / "infer")
    ours, theirs = (json.loads((folder / "curves.json").read_text()) for folder in (out / "s1" / "dxa",
                                                                                    tmp_path / "infer"))
    for key in ("coronal", "sagittal", "curve3d_mm"):
        assert np.allclose(np.array(ours[key] if key == "curve3d_mm" else list(ours[key].values())),
                           np.array(theirs[key] if key == "curve3d_mm" else list(theirs[key].values())), atol=2e-3)
    for name, value in theirs["measures"].items():
        if isinstance(value, float):
            assert ours["measures"][name] == pytest.approx(value, rel=1e-5, abs=1e-5), name
    assert ours["qc"] == theirs["qc"] and ours["provenance"] == theirs["provenance"]
    assert {k: v for k, v in ours["inputs"].items() if k != "dxa"} == \
           {k: v for k, v in theirs["inputs"].items() if k != "dxa"}


def test_resume_does_no_work(local, studies):
    """A second run leaves the finished studies' files untouched and tries the failed ones again."""
    out, rows = local
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "manifest.csv"}
    again = run_batch(studies, out, CPU, progress=False)
    assert again == rows
    assert times == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "manifest.csv"}


def test_dask_equals_local(local, studies, tmp_path):
    """On an in-process Dask cluster: the same manifest and the same curves.json."""
    distributed = pytest.importorskip("dask.distributed")
    out, _ = local
    dask_out = tmp_path / "dask"
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster:
        run_batch(studies, dask_out, CPU, scheduler=cluster.scheduler_address, progress=False)
    assert (dask_out / "manifest.csv").read_text() == (out / "manifest.csv").read_text()
    for folder in ("s1/dxa", "s1/biplanar", "loose__scan/dxa"):
        ours, theirs = (json.loads((o / folder / "curves.json").read_text()) for o in (dask_out, out))
        assert np.allclose(ours["curve3d_mm"], theirs["curve3d_mm"], atol=2e-3) and ours["qc"] == theirs["qc"]


def test_writer_processes_equal_the_thread(local, studies, tmp_path):
    """Two writer processes (spawned, single-threaded): the same manifest and the same curves.json as the one
    writer thread, every route's pictures written."""
    out, _ = local
    procs = tmp_path / "procs"
    run_batch(studies, procs, replace(CPU, writers=2), progress=False)
    assert (procs / "manifest.csv").read_text() == (out / "manifest.csv").read_text()
    for folder in ("s1/dxa", "s1/biplanar", "loose__scan/dxa"):
        ours, theirs = (json.loads((o / folder / "curves.json").read_text()) for o in (procs, out))
        assert np.allclose(ours["curve3d_mm"], theirs["curve3d_mm"], atol=2e-3) and ours["qc"] == theirs["qc"]
        assert (procs / folder / "overlay.png").stat().st_size > 0 and (procs / folder / "report.png").is_file()


def test_a_writer_process_that_dies_fails_its_study_only(local, studies, tmp_path, monkeypatch):
    """A writer process killed while it writes one study: that study fails with a ``writer:`` line and leaves no
    half-written folder; the studies that shared the pool are run again on a new one and written."""
    import crashing_writer  # tests/: the spawned writers import it too

    from monai_spine.pipelines import batch

    out, _ = local
    monkeypatch.setattr(batch, "_finish_study", crashing_writer.finish_or_die)
    monkeypatch.setenv("MONAI_SPINE_TEST_WRITER_DIES_ON", "loose__scan")
    crashed = tmp_path / "crashed"
    rows = {row.id: row for row in run_batch(studies, crashed, replace(CPU, writers=2), progress=False)}
    assert rows["loose__scan"].status == "failed" and rows["loose__scan"].error.startswith("writer: ")
    assert rows["s1"] == read_manifest(out)["s1"] and rows["s1"].status == "ok"
    assert {r.id: r.status for r in rows.values()} == {"broken": "failed", "loose__scan": "failed", "s1": "ok",
                                                        "two": "failed"}
    assert not (crashed / "loose__scan").exists() and not list(crashed.rglob(".partial-*"))
    for folder in ("s1/dxa", "s1/biplanar"):
        assert (crashed / folder / "report.png").is_file()


@pytest.fixture(scope="module")
def dxa_studies(studies) -> Path:
    """``dxa/``: ``s1``'s DXA alone, ``loose/scan.nii.gz``, the broken file, and ``noise/dxa.dcm`` (``s1``'s DXA with
    noise for pixels: it loads, and its mask finds no spine)."""
    root = studies.parent / "dxa"
    for name in ("s1/dxa.dcm", "loose/scan.nii.gz", "broken/dxa.dcm"):
        (root / name).parent.mkdir(parents=True)
        shutil.copy(studies / name, root / name)
    ds = pydicom.dcmread(studies / "s1" / "dxa.dcm")
    noise = np.random.default_rng(0).integers(0, ds.pixel_array.max(), ds.pixel_array.shape)
    ds.PixelData = noise.astype(ds.pixel_array.dtype).tobytes()
    (root / "noise").mkdir()
    ds.save_as(root / "noise" / "dxa.dcm")
    return root


@pytest.fixture
def mask_processes_on_cpu(monkeypatch):
    """The mask processes that batch starts on CUDA only (``_mask_processes``), started on the CPU too."""
    from monai_spine.pipelines import batch

    monkeypatch.setattr(batch, "_mask_processes", lambda settings, device: settings.workers)


def test_mask_processes_only_with_the_networks_on_cuda():
    from monai_spine.pipelines.batch import _mask_processes

    assert _mask_processes(replace(CPU, workers=8), torch.device("cuda:0")) == 8
    assert _mask_processes(replace(CPU, workers=8), torch.device("cpu")) == 0
    assert _mask_processes(replace(CPU, workers=1), torch.device("cuda")) == 0


def test_mask_processes_equal_this_process(dxa_studies, tmp_path, mask_processes_on_cpu):
    """The masks post-processed and checked and the crops cut in two worker processes: the same manifest, and the
    same curves.json and curve3d.csv to the byte, as in this process; the study whose mask finds no spine fails with
    its own line there too."""
    here, there = tmp_path / "here", tmp_path / "there"
    run_batch(dxa_studies, here, replace(CPU, workers=0, pictures=False), progress=False)
    run_batch(dxa_studies, there, replace(CPU, workers=2, pictures=False), progress=False)
    assert (there / "manifest.csv").read_text() == (here / "manifest.csv").read_text()
    rows = read_manifest(there)
    assert {row.id: row.status for row in rows.values()} == {"broken": "failed", "loose__scan": "ok",
                                                             "noise": "failed", "s1": "ok"}
    assert rows["noise"].error.startswith(f"dxa: {dxa_studies / 'noise' / 'dxa.dcm'}: no spine found in the image")
    for folder in ("s1/dxa", "loose__scan/dxa"):
        for name in ("curves.json", "curve3d.csv"):
            assert (there / folder / name).read_bytes() == (here / folder / name).read_bytes(), (folder, name)


def test_a_mask_process_that_dies_fails_its_study_only(dxa_studies, tmp_path, monkeypatch, mask_processes_on_cpu):
    """A mask worker killed while it works on one study (batches of one): that study fails with a
    ``BrokenProcessPool`` line; a new pool takes the next studies, which fail or are written as without the kill."""
    import crashing_masker  # tests/: the spawned mask workers import it too

    from monai_spine.pipelines import batch

    monkeypatch.setattr(batch, "_mask_and_crop", crashing_masker.mask_or_die)
    monkeypatch.setenv("MONAI_SPINE_TEST_MASK_DIES_ON", "loose")
    out = tmp_path / "out"
    rows = {row.id: row for row in run_batch(dxa_studies, out, replace(CPU, batch_size=1, workers=2, pictures=False),
                                             progress=False)}
    assert rows["loose__scan"].status == "failed" and rows["loose__scan"].error.startswith("dxa: BrokenProcessPool: ")
    assert rows["noise"].error.startswith(f"dxa: {dxa_studies / 'noise' / 'dxa.dcm'}: no spine found in the image")
    assert rows["s1"].status == "ok" and (out / "s1" / "dxa" / "curves.json").is_file()
    assert not (out / "loose__scan").exists()


def test_manifest_rewritten_at_most_once_a_second_and_when_interrupted(tmp_path, monkeypatch):
    """1,000 studies finishing at once: the manifest is written a few times, not 1,000; a run interrupted after 600
    of them (Ctrl-C) leaves a manifest of those 600."""
    from monai_spine.pipelines import batch

    studies = [StudyInput(f"s{i:04d}", f"/cohort/s{i:04d}.nii.gz") for i in range(1000)]
    writes = []
    monkeypatch.setattr(batch, "find_studies", lambda source, exclude: studies)
    monkeypatch.setattr(batch, "_write_manifest", lambda out, s, rows: writes.append(dict(rows)))

    def finished(todo, out, settings, stop=None):
        for i, study in enumerate(todo):
            if i == stop:
                raise KeyboardInterrupt
            yield batch.StudyRow(study.id, "ok", "", (f"{study.id}/dxa",))

    monkeypatch.setattr(batch, "run_studies", finished)
    rows = run_batch(tmp_path / "in", tmp_path / "out", CPU, progress=False)
    assert len(rows) == 1000 and 1 <= len(writes) <= 3 and len(writes[-1]) == 1000
    writes.clear()
    monkeypatch.setattr(batch, "run_studies", partial(finished, stop=600))
    with pytest.raises(KeyboardInterrupt):
        run_batch(tmp_path / "in", tmp_path / "again", CPU, progress=False)
    assert len(writes[-1]) == 600


def test_no_pictures_writes_the_same_results(local, studies, tmp_path):
    """``--no-pictures``: every route's curves.json and curve3d.csv as with pictures, and no PNG."""
    out, _ = local
    bare = tmp_path / "bare"
    assert main(["batch", "--input", str(studies), "--out", str(bare), "--device", "cpu", "--workers", "0",
                 "--no-pictures"]) == 1  # the broken and two-patient studies fail as before
    assert (bare / "manifest.csv").read_text() == (out / "manifest.csv").read_text()
    for folder in ("s1/dxa", "s1/biplanar", "loose__scan/dxa"):
        assert sorted(p.name for p in (bare / folder).iterdir()) == ["curve3d.csv", "curves.json"]
        ours, theirs = (json.loads((o / folder / "curves.json").read_text()) for o in (bare, out))
        assert np.allclose(ours["curve3d_mm"], theirs["curve3d_mm"], atol=2e-3) and ours["qc"] == theirs["qc"]


def test_runs_without_simpleitk(studies, tmp_path):
    """The routes and the batch command import and run without SimpleITK, which the GPU machines of the benchmarks
    and of training lack (registration and cohort building need it; inference does not)."""
    script = f"""
import sys
class NoSimpleITK:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "SimpleITK":
            raise ImportError("no SimpleITK here")
sys.meta_path.insert(0, NoSimpleITK())
from monai_spine.cli import main
sys.exit(main(["batch", "--input", {str(studies / "s1")!r}, "--out", {str(tmp_path / "out")!r}, "--device", "cpu",
               "--workers", "0"]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "s1" / "biplanar" / "curves.json").is_file()


@pytest.mark.parametrize("make, problem", [
    (lambda root: root / "missing", "not a folder of studies or a CSV list"),
    (lambda root: root, "no studies found"),
    (lambda root: (root / "list.csv").write_text("id,mri\nx,y\n") and root / "list.csv", "needs the columns"),
])
def test_bad_input_exits_2_writing_nothing(tmp_path, capsys, make, problem):
    source = make(tmp_path)
    assert main(["batch", "--input", str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"monai-spine batch: error: {source}: ") and problem in err
    assert not (tmp_path / "out").exists()


def test_bad_options_exit_2(tmp_path, capsys):
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    assert main(["batch", "--input", str(tmp_path), "--out", str(tmp_path / "out"), "--batch-size", "0"]) == 2
    assert capsys.readouterr().err == "monai-spine batch: error: --batch-size must be at least 1, got 0.\n"
    assert main(["batch", "--input", str(tmp_path), "--out", str(tmp_path / "out"), "--writers", "0"]) == 2
    assert capsys.readouterr().err == "monai-spine batch: error: --writers must be at least 1, got 0.\n"
    assert main(["batch", "--input", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "is the input folder" in capsys.readouterr().err
