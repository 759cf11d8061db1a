"""Synthetic cohorts: many studies in worker processes, and their MONAI datalist."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from monai_spine.io.datalist import split_balanced, write_datalist
from monai_spine.workers import map_single_threaded

from .study import StudyConfig, make_study
from .write import MODALITIES, write_study

__all__ = ["study_seed", "iter_studies", "make_cohort"]


def study_seed(seed: int, index: int) -> int:
    """The seed of study ``index`` of cohort ``seed``: independent streams, whatever the number of workers."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _one(index: int, seed: int, out: Path, config: StudyConfig, ct_dicom: bool, device: str, modalities) -> dict:
    study = make_study(study_seed(seed, index), config, device, modalities=modalities)
    return write_study(study, out / f"study_{index:04d}", ct_dicom)


def iter_studies(
    n: int,
    seed: int,
    out: str | os.PathLike,
    config: StudyConfig = StudyConfig(),
    workers: int | None = None,
    ct_dicom: bool = False,
    device: str = "cpu",
    modalities: Sequence[str] | None = None,
) -> Iterator[dict]:
    """Render ``n`` studies into ``out/study_NNNN/``, yielding each one's datalist entry, in order, once written.

    Studies are rendered by up to ``workers`` single-threaded processes (default: one per CPU core; with one, in
    this process), on CPU or all sharing a GPU ``device``. Files depend only on ``seed``, ``config`` and the
    device, not on ``workers``.
    ``modalities`` picks the groups rendered and written (:data:`~monai_spine.studies.MODALITIES`, all if None).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    job = partial(_one, seed=seed, out=Path(out), config=config, ct_dicom=ct_dicom, device=device,
                  modalities=MODALITIES if modalities is None else tuple(modalities))
    yield from map_single_threaded(job, range(n), (os.cpu_count() or 1) if workers is None else workers)


def make_cohort(
    n: int,
    seed: int,
    out: str | os.PathLike,
    config: StudyConfig = StudyConfig(),
    workers: int | None = None,
    ct_dicom: bool = False,
    device: str = "cpu",
    progress: bool = True,
    modalities: Sequence[str] | None = None,
) -> dict:
    """Render ``n`` studies (:func:`iter_studies`) and write ``out/dataset.json``; return the datalist.

    The splits (80/10/10 training/validation/test) keep the scoliotic share equal in each.
    """
    studies = iter_studies(n, seed, out, config, workers, ct_dicom, device, modalities)
    entries = list(tqdm(studies, total=n, desc="phantom studies", unit="study", disable=not progress))
    datalist = split_balanced(entries, seed=seed)
    write_datalist(Path(out) / "dataset.json", datalist, f"monai-spine phantom cohort: n={n}, seed={seed}")
    return datalist
