"""The command-line surface of docs/contract.md: every command, --help, exit codes, nothing half-written."""

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from monai_spine.cli import main
from monai_spine.io.files import staged_output

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("demo", "infer", "align", "phantom", "batch", "evaluate", "convert")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert command in capsys.readouterr().out


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "monai-spine"  # installed beside the interpreter, in its bin folder
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(command in result.stdout for command in COMMANDS)


@pytest.mark.parametrize(
    "argv, line",
    [
        (["align", "--dxa", "d.dcm", "--mri", "m.nii.gz", "--out", "OUT", "--angles", "0"],
         "monai-spine align: error: need max_angle_deg >= 0 and n_angles >= 1, got 2.0, 0."),
        (["cohort", "--input", "in", "--out", "OUT", "--workers", "0"],
         "monai-spine cohort: error: --workers must be at least 1, got 0."),
        (["phantom", "--n", "0", "--seed", "0", "--out", "OUT"],
         "monai-spine phantom: error: --n must be at least 1, got 0."),
        (["infer", "--dxa", "x.dcm", "--out", "OUT"], "monai-spine infer: error: x.dcm: no such file or folder"),
        (["infer", "--ap", "a.dcm", "--lateral", "l.dcm", "--out", "OUT"],
         "monai-spine infer: error: a.dcm: no such file or folder"),
        (["infer", "--ap", "a.dcm", "--out", "OUT"],
         "monai-spine infer: error: the bi-planar route needs both views: --lateral FILE is missing."),
        (["convert", "missing.dcm", "out.nii.gz"], "monai-spine convert: error: missing.dcm: no such file or folder"),
    ],
)
def test_bad_option_values_exit_2_with_one_line(argv, line, tmp_path, monkeypatch, capsys):
    """Every command's bad input goes through main's one error exit: the same line format and code 2."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_deploy_module_help(tmp_path):
    """``python -m monai_spine.deploy --help`` answers before importing the SDK; runs: ``tests/test_deploy.py``."""
    help_run = subprocess.run([sys.executable, "-m", "monai_spine.deploy", "--help"], capture_output=True, text=True)
    assert help_run.returncode == 0 and "DICOM_DIR" in help_run.stdout and "--pacs" in help_run.stdout


def test_staged_output_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with staged_output(out) as stage:
            (stage / "curves.json").write_text("{")
            raise RuntimeError("boom")
    assert not out.exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("kept")
    with pytest.raises(RuntimeError):
        with staged_output(existing) as stage:
            (stage / "keep.txt").write_text("half")
            raise RuntimeError("boom")
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert (existing / "keep.txt").read_text() == "kept"


def test_staged_output_moves_everything_on_success(tmp_path):
    out = tmp_path / "out"
    with staged_output(out) as stage:
        (stage / "dxa").mkdir()
        (stage / "dxa" / "curves.json").write_text("{}")
        (stage / "manifest.csv").write_text("id")
    assert sorted(p.name for p in out.iterdir()) == ["dxa", "manifest.csv"]
    assert (out / "dxa" / "curves.json").read_text() == "{}"


def test_setup_cfg_lists_every_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "monai_spine").rglob("__init__.py")}
    found |= {"monai_spine.transforms", "monai_spine.bundles"}  # mapped from the top-level transforms/, bundles/
    assert listed == found


def test_input_warnings_are_one_line(tmp_path, capsys):
    import numpy as np
    import pydicom

    from monai_spine.studies.dicom import write_radiograph

    source = tmp_path / "no_orientation.dcm"
    write_radiograph(source, np.arange(12.0).reshape(3, 4), (1.0, 1.0), uid_seed="warn")
    ds = pydicom.dcmread(source)
    del ds.PatientOrientation
    ds.save_as(source)
    assert main(["convert", str(source), str(tmp_path / "out.nii.gz")]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monai-spine: warning: ") and "PatientOrientation" in lines[0]
