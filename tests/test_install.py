"""``monai-spine align`` from a non-editable install in a fresh venv: the bundles travel with the package.

The new venv sees this environment's third-party packages through a ``.pth`` line naming its site-packages (the
``.pth`` files there, among them the editable install's finder, are not processed), and gets monai-spine itself
from ``pip install --no-deps --no-build-isolation`` of a copy of the working tree, offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from monai_spine.phantom.study import StudyConfig, make_study
from monai_spine.phantom.write import write_study

ROOT = Path(__file__).resolve().parents[1]
SEED = 0  # a trunk study that the alignment accepts (tests/test_registration.py's rigid seeds)


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs)


def test_align_runs_from_a_non_editable_install(tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv).check_returncode()
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (site / "dev_environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                                 ".pytest_cache", "out", "demo_out", ".train"))
    env = {k: v for k, v in os.environ.items() if k not in ("MONAI_SPINE_BUNDLES", "PYTHONPATH")}
    env |= {"PIP_NO_INDEX": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", source, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    where = _run(python, "-c", "import monai_spine, monai_spine.bundles as b; print(monai_spine.__file__); "
                 "print(b.bundle_root('dxa_spine_segmentation'))", cwd=tmp_path, env=env)
    package, bundle = (Path(line) for line in where.stdout.split())
    assert package.is_relative_to(site) and bundle.is_relative_to(site), where.stdout + where.stderr
    assert (bundle / "models" / "model.pt").read_bytes() == (
        ROOT / "bundles/dxa_spine_segmentation/models/model.pt"
    ).read_bytes()

    write_study(
        make_study(SEED, StudyConfig(dxa_whole_body=False), posture=False), tmp_path / "pair", modalities=("dxa", "mri")
    )
    result = _run(
        venv / "bin" / "monai-spine",
        "align",
        "--dxa",
        tmp_path / "pair" / "dxa.dcm",
        "--mri",
        tmp_path / "pair" / "mri_in_phase.nii.gz",
        "--dxa-mask",  # the phantom's masks: the 0.4 bundles' masks of this study align 7 mm off and are rejected
        tmp_path / "pair" / "dxa_spine.nii.gz",
        "--mri-mask",
        tmp_path / "pair" / "mri_spine.nii.gz",
        "--out",
        tmp_path / "aligned",
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    alignment = json.loads((tmp_path / "aligned" / "alignment.json").read_text())
    assert alignment["accepted"], alignment["reason"]
