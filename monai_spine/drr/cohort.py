"""Many ``drr`` studies of one labelled CT, in worker processes, written by :mod:`monai_spine.studies`, and their
MONAI datalist."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from monai_spine.io.datalist import split_balanced, write_datalist
from monai_spine.studies import MODALITIES, write_study
from monai_spine.workers import map_single_threaded

from .labels import read_labelled_ct
from .render import DrrSource, prepare_source, render_study

__all__ = ["study_seed", "iter_drr_studies", "make_drr_cohort", "write_drr_datalist"]

_WORKER: dict = {}
"""The source of each worker process, prepared once in the parent (its initializer fills it)."""


def study_seed(seed: int, index: int) -> int:
    """The seed of study ``index`` of cohort ``seed``: independent streams, whatever the number of workers."""
    return int(np.random.SeedSequence([seed, index, 0xD22]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _one(index: int, seed: int, out: Path, modalities: tuple[str, ...], source: DrrSource) -> dict:
    return write_study(render_study(source, study_seed(seed, index), modalities), out / f"study_{index:04d}")


def _init_worker(source: DrrSource) -> None:
    """Keep the source prepared in the parent: its tensors arrive in shared memory (``torch.multiprocessing``)."""
    _WORKER["source"] = source


def _worker_one(index: int, seed: int, out: Path, modalities: tuple[str, ...]) -> dict:
    return _one(index, seed, out, modalities, _WORKER["source"])


def iter_drr_studies(ct_path, labels_path, n: int, seed: int, out: str | os.PathLike, scheme: str = "totalseg",
                     device: str = "cpu", workers: int = 1, modalities: Sequence[str] = MODALITIES) -> Iterator[dict]:
    """Render ``n`` studies of the labelled CT into ``out/study_NNNN/``; an iterator of their datalist entries.

    ``modalities`` are the groups rendered and written (:data:`~monai_spine.studies.MODALITIES`). The inputs are
    read, checked and prepared once, at the call (a :class:`~monai_spine.errors.SpineInputError` before anything is
    written); with ``workers > 1`` the single-threaded worker processes share that source, which reaches them in
    shared memory, so none reads the CT or prepares it again. Files depend only on the inputs, ``seed`` and the
    device, not on ``workers``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    source = prepare_source(read_labelled_ct(ct_path, labels_path, scheme), device)
    modalities = tuple(modalities)
    if workers <= 1 or n == 1:
        return (_one(i, seed, Path(out), modalities, source) for i in range(n))
    return _in_workers(source, n, seed, Path(out), workers, modalities)


def _in_workers(source: DrrSource, n: int, seed: int, out: Path, workers: int, modalities: tuple[str, ...]):
    job = partial(_worker_one, seed=seed, out=out, modalities=modalities)
    yield from map_single_threaded(job, range(n), workers, setup=_init_worker, setup_args=(source,))


def write_drr_datalist(out: str | os.PathLike, entries: list[dict], seed: int, source: str) -> dict:
    """Split ``entries`` 80/10/10 (scoliosis-balanced, as the phantom's) and write ``out/dataset.json``."""
    datalist = split_balanced(entries, seed=seed)
    write_datalist(Path(out) / "dataset.json", datalist, f"monai-spine drr of {source}: n={len(entries)}, seed={seed}")
    return datalist


def make_drr_cohort(ct_path, labels_path, n: int, seed: int, out: str | os.PathLike, scheme: str = "totalseg",
                    device: str = "cpu", workers: int = 1, progress: bool = True,
                    modalities: Sequence[str] = MODALITIES) -> dict:
    """Render ``n`` studies (:func:`iter_drr_studies`) and write ``out/dataset.json``; return the datalist."""
    studies = iter_drr_studies(ct_path, labels_path, n, seed, out, scheme, device, workers, modalities)
    entries = list(tqdm(studies, total=n, desc="drr studies", unit="study", disable=not progress))
    return write_drr_datalist(out, entries, seed, os.path.basename(os.path.normpath(ct_path)))
