"""Studies with truth to evaluate: one split of a MONAI datalist (``dataset.json`` of ``phantom`` or ``drr``),
and each study's files, loaded once and shared by the scorers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from monai.data import MetaTensor

from monai_spine.errors import SpineInputError
from monai_spine.io import check_same_grid
from monai_spine.transforms import LoadRadiograph, LoadVolume

__all__ = ["SPLITS", "EvaluationStudy", "read_studies"]

SPLITS = ("training", "validation", "test")
"""The datalist's splits; ``"all"`` takes them in this order."""


def read_studies(datalist: str | os.PathLike, split: str) -> list[EvaluationStudy]:
    """The studies of one split (``"training"``, ``"validation"``, ``"test"`` or ``"all"``) of a datalist.

    Each entry needs an ``id`` (else the folder of its ``truth``) and its files by key (``dxa``, ``dxa_spine``,
    ``mri``, ``mri_water``, ..., ``truth``), relative to the datalist's folder or absolute. Files are not opened
    here: a broken study fails alone when it is scored.

    Raises:
        SpineInputError: the datalist is missing, not JSON, has no such split, or no study in it.
    """
    path = Path(datalist)
    if not path.is_file():
        raise SpineInputError(path, "no such datalist file")
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SpineInputError(path, f"not a JSON datalist ({err})") from None
    splits = SPLITS if split == "all" else (split,)
    if not isinstance(document, dict) or not all(isinstance(document.get(s, []), list) for s in splits):
        raise SpineInputError(path, "not a MONAI datalist (an object of lists of entries)")
    missing = [s for s in splits if s not in document]
    if split != "all" and missing:
        raise SpineInputError(path, f"the datalist has no {split!r} split")
    entries = [entry for s in splits for entry in document.get(s, [])]
    if not entries:
        raise SpineInputError(path, f"no study in the {split!r} split")
    if not all(isinstance(entry, dict) for entry in entries):
        raise SpineInputError(path, "a datalist entry is not an object of file names")
    return [EvaluationStudy.from_entry(entry, path.parent, i) for i, entry in enumerate(entries)]


@dataclass
class EvaluationStudy:
    """One study's files and, loaded on first use and then kept, its images, truth and bundle masks.

    Args:
        id: the study's name in ``metrics.csv``.
        files: ``{datalist key: absolute path}`` of the entry's string values.
    """

    id: str
    files: dict[str, Path]
    _masks: dict[str, MetaTensor] = field(default_factory=dict, repr=False)

    @classmethod
    def from_entry(cls, entry: dict, base: Path, index: int) -> EvaluationStudy:
        files = {key: base / value for key, value in entry.items() if isinstance(value, str) and key != "id"}
        default = files["truth"].parent.name if "truth" in files else f"entry_{index}"
        return cls(str(entry.get("id", default)), files)

    def has(self, *keys: str) -> bool:
        """Whether the entry names every one of ``keys`` (a study without them skips their scorer)."""
        return all(key in self.files for key in keys)

    @cached_property
    def truth(self) -> dict:
        """``truth.json`` (``docs/phantom.md``)."""
        path = self.files["truth"]
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise SpineInputError(path, f"not a readable truth.json ({err})") from None

    @cached_property
    def dxa(self) -> MetaTensor:
        """The DXA ``(1, W, H)`` as ``LoadRadiograph`` gives it."""
        return LoadRadiograph()(self.files["dxa"])

    def image(self, key: str) -> MetaTensor:
        """A 2D (``dxa*``) or 3D image of the entry, loaded on every call (the masks are what is kept)."""
        return self.dxa if key == "dxa" else LoadVolume()(self.files[key])

    def truth_mask(self, key: str, image: MetaTensor, frame: str = "coronal") -> MetaTensor:
        """The true mask under ``key`` (e.g. ``dxa_spine``), checked to lie on ``image``'s grid; a 2D one is loaded
        in ``frame`` (``"lateral"`` for a lateral radiograph's)."""
        path = self.files[key]
        mask = LoadRadiograph(frame)(path) if image.ndim == 3 else LoadVolume()(path)
        check_same_grid(mask, image, path)
        return mask

    def bundle_mask(self, key: str, segment, image: MetaTensor | None = None) -> MetaTensor:
        """The image under ``key`` segmented by ``segment`` (a ``BundleSegmenter``), once per study and key;
        ``image``: that image when the caller has loaded it already (not read again)."""
        if key not in self._masks:
            self._masks[key] = segment(self.image(key) if image is None else image)
        return self._masks[key]
