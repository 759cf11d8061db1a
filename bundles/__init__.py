"""The project's MONAI bundles, installed with the package as ``monai_spine.bundles``.

Each bundle is a folder of this package (``configs/``, ``models/model.pt``, ``docs/``), so a wheel or a
non-editable install carries them and ``python -m monai.bundle run --bundle_root $(python -c ...)`` works anywhere.
:func:`bundle_root` is the one lookup every part of the project uses; ``$MONAI_SPINE_BUNDLES``, when set, names
another folder holding bundles of the same names (e.g. fine-tuned copies). This module imports nothing from the
project: it is a resource package.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BUNDLE_NAMES", "CURVE_BUNDLE", "RADIOGRAPH_BUNDLE", "bundle_root", "bundles_dir"]

BUNDLE_NAMES = ("dxa_spine_segmentation", "mri_spine_segmentation")
"""The shipped segmentation bundles."""
CURVE_BUNDLE = "dxa_spine_curve_regression"
"""The DXA curve regressor bundle."""
RADIOGRAPH_BUNDLE = "radiograph_spine_segmentation"
"""The bi-planar radiograph (AP and lateral) segmentation bundle."""


def bundles_dir() -> Path:
    """The folder holding the bundles: ``$MONAI_SPINE_BUNDLES`` when set, else this installed package's folder."""
    return Path(os.environ.get("MONAI_SPINE_BUNDLES") or Path(__file__).resolve().parent)


def bundle_root(name: str) -> Path:
    """The root folder of bundle ``name`` (its ``configs/metadata.json`` exists), looked up in :func:`bundles_dir`.

    Raises:
        FileNotFoundError: no bundle of that name there; the message names the folder searched.
    """
    root = bundles_dir() / name
    if not (root / "configs" / "metadata.json").is_file():
        raise FileNotFoundError(f"{root}: no bundle {name!r} here (configs/metadata.json missing)")
    return root
