"""The DXA route's sagittal centre line on renders of the real CT: the truth, the shipped curve regressor and
another bundles folder's (e.g. the previous version's), the picture in ``docs/real_anatomy.md``.

    monai-spine drr --ct ../shared/real_anatomy/lumbar_ct.nii.gz \\
        --labels ../shared/real_anatomy/lumbar_ct_vertebrae.nii.gz --n 5 --seed 11 --modalities dxa --out real/
    B=$(python -c 'import monai_spine.bundles as b; print(b.__path__[0])')
    mkdir old && cp -r "$B"/. old/
    git show 1ffc951~1:bundles/dxa_spine_curve_regression/models/model.pt \\
        > old/dxa_spine_curve_regression/models/model.pt
    python docs/make_regressor_lordosis_figure.py real/dataset.json old 0.5 0.6 \\
        docs/images/real_anatomy_regressor_0_6.png
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROUTE = """
import json, sys
from monai_spine.evaluation.studies import read_studies
from monai_spine.evaluation.scorers import DxaPipelineScorer
scorer, out = DxaPipelineScorer("cpu"), {}
for study in read_studies(sys.argv[1], "all"):
    row = scorer.score(study, "dxa")
    _, pred, truth = scorer.scored
    out[study.id] = {"pred": pred.sagittal_centre.tolist(), "truth": truth.sagittal_centre.tolist(),
                     "sagittal_mm": row["sagittal_mae_mm"]}
json.dump(out, open(sys.argv[2], "w"))
"""


def route_curves(datalist: str, bundles: str | None) -> dict:
    """The route's sagittal centre lines with the bundles in ``bundles`` (``None``: the installed ones), in a process
    of its own: a process builds each bundle once, from the folder ``MONAI_SPINE_BUNDLES`` names when it first asks."""
    env = {**os.environ, **({"MONAI_SPINE_BUNDLES": bundles} if bundles else {})}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "curves.json"
        subprocess.run([sys.executable, "-c", ROUTE, datalist, str(out)], env=env, check=True)
        return json.loads(out.read_text())


def main(datalist: str, other_bundles: str, other_name: str, shipped_name: str, figure: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    other, shipped = route_curves(datalist, other_bundles), route_curves(datalist, None)
    ids = sorted(shipped)
    fig, axes = plt.subplots(1, len(ids), figsize=(2.6 * len(ids), 5.2), sharey=True)
    for ax, study in zip(np.atleast_1d(axes), ids):
        truth = np.array(shipped[study]["truth"])
        ax.plot(truth[:, 0], truth[:, 1], "g-", lw=2.5, label="truth (labels)")
        for curves, name, style in ((other, other_name, "r--"), (shipped, shipped_name, "b-")):
            line = np.array(curves[study]["pred"])
            ax.plot(line[:, 0], line[:, 1], style, lw=1.4, label=f"{name}: {curves[study]['sagittal_mm']:.1f} mm")
        ax.set_title(study, fontsize=9)
        ax.set_xlabel("y, relative (mm, anterior →)")
        ax.legend(fontsize=7, loc="lower left")
    np.atleast_1d(axes)[0].set_ylabel("z (mm, feet ↓)")
    np.atleast_1d(axes)[0].invert_yaxis()
    fig.suptitle("DXA route on renders of the real CT: sagittal centre line (relative depth)", fontsize=10)
    fig.tight_layout()
    fig.savefig(figure, dpi=90)


if __name__ == "__main__":
    main(*sys.argv[1:6])
