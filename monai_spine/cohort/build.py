"""A whole paired cohort: every pair built in parallel and resumably, then the regressor's MONAI datalist.

Layout of ``out`` (``docs/cohort.md``): ``pairs/<id>/`` per finished pair (:mod:`.pair`), ``dataset.json``,
``rejections.csv`` and ``cohort.json`` (the settings, so that a re-run cannot mix two kinds of targets).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tqdm import tqdm

from monai_spine.errors import SpineInputError
from monai_spine.io.datalist import split_balanced, write_datalist
from monai_spine.io.files import atomic_write_text
from monai_spine.workers import dask_client, map_single_threaded

from .pair import PARTIAL_PREFIX, PairResult, PairSettings, build_pair, error_line, read_pair
from .sources import PairSource, check_pairs

__all__ = ["CohortSummary", "build_cohort"]


@dataclass
class CohortSummary:
    """The outcome of :func:`build_cohort`: one :class:`~.pair.PairResult` per pair, in the input order.

    Args:
        results: every pair's result.
        skipped: how many were finished by an earlier build (and not rebuilt).
        datalist: the splits written to ``dataset.json``.
    """

    results: list[PairResult]
    skipped: int = 0
    datalist: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    def line(self) -> str:
        """One line: the counts, and the mean build time of the pairs built in this run."""
        built = [result.seconds for result in self.results if result.seconds > 0]
        timing = f"; {sum(built) / len(built):.1f} s per pair built" if built else ""
        return (f"{len(self.results)} pairs: {self.count('accepted')} accepted, {self.count('rejected')} rejected, "
                f"{self.count('failed')} failed ({self.skipped} finished earlier){timing}")


def _failed_worker(pair: PairSource, err: Exception) -> PairResult:
    """A pair whose worker itself failed (e.g. a Dask worker lost)."""
    return PairResult(pair.id, "failed", "worker", error_line(err))


def _on_dask(job, todo: Sequence[PairSource], client) -> Iterator[PairResult]:
    """Results as they finish, from the workers of a Dask client."""
    from dask.distributed import as_completed

    futures = client.map(job, todo, pure=False)
    pairs = dict(zip(futures, todo))
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as err:
            yield _failed_worker(pairs[future], err)


_LATER_SETTINGS = {"crop_spine_fill": None}
"""Settings added after cohorts were built, with the value their absence from a ``cohort.json`` means."""


def _check_settings(out: Path, settings: PairSettings) -> None:
    """Record the settings in ``out/cohort.json``, or refuse a re-run with other settings (a setting the recorded
    file predates counts as its :data:`_LATER_SETTINGS` value)."""
    path = out / "cohort.json"
    wanted = {"settings": settings.to_dict()}
    if path.is_file():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if {"settings": {**_LATER_SETTINGS, **recorded.get("settings", {})}} != wanted:
            raise SpineInputError(out, "was built with other settings (see its cohort.json); use another --out")
        return
    atomic_write_text(path, json.dumps(wanted, indent=1) + "\n")


def _remove_partials(pairs_dir: Path) -> None:
    """Delete the private folders of pairs an interrupted build left unfinished."""
    for partial_dir in pairs_dir.glob(f"{PARTIAL_PREFIX}*"):
        shutil.rmtree(partial_dir, ignore_errors=True)


def _write_rejections(path: Path, results: Sequence[PairResult]) -> None:
    """``rejections.csv``: ``id,status,stage,reason`` for every rejected or failed pair, atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["id", "status", "stage", "reason"])
    writer.writerows([r.id, r.status, r.stage, r.reason] for r in results if r.status != "accepted")
    atomic_write_text(path, text.getvalue())


def _entry(result: PairResult) -> dict:
    return {"id": result.id, "image": f"pairs/{result.id}/dxa_crop.nii.gz",
            "targets": f"pairs/{result.id}/targets.json", "scoliotic": result.scoliotic}


def build_cohort(
    pairs: Sequence[PairSource],
    out: str | os.PathLike,
    settings: PairSettings | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> CohortSummary:
    """Build every pair (:func:`~.pair.build_pair`) into ``out/pairs/`` and write the regressor's datalist.

    Resumable: a pair whose ``pairs/<id>/`` exists (accepted or rejected by an earlier build) is not rebuilt;
    failed pairs are tried again; private folders left by an interrupted build are removed first. One build at a
    time per ``out``.

    Args:
        pairs: the pairs (:mod:`.sources`).
        out: output folder (created).
        settings: how each pair is built (default :class:`PairSettings()`); a re-run must use the same
            (``out/cohort.json``).
        workers: worker processes (spawned, single-threaded) when no ``scheduler`` is given; default one per
            CPU core; 1 builds in this process.
        scheduler: address of a Dask scheduler (e.g. ``tcp://host:8786``): the pairs run on its workers instead,
            which must import ``monai_spine`` and see the input files and ``out`` at the same paths.
        seed: seed of the datalist's split.
        progress: show a progress bar.

    Returns:
        :class:`CohortSummary`. Writes ``out/dataset.json`` (``training`` / ``validation`` / ``test``, 80/10/10,
        balanced for scoliosis, of the accepted pairs: ``{"id", "image", "targets", "scoliotic"}``, paths relative
        to ``out``) and ``out/rejections.csv``.

    Raises:
        SpineInputError: an unusable pair list, ``out`` built with other settings, or an unreachable scheduler.
    """
    check_pairs(pairs, "the pair list")
    settings = settings or PairSettings()
    out = Path(out)
    with dask_client(scheduler) as client:
        pairs_dir = out / "pairs"
        pairs_dir.mkdir(parents=True, exist_ok=True)
        _check_settings(out, settings)
        _remove_partials(pairs_dir)
        results = {pair.id: read_pair(pairs_dir, pair.id) for pair in pairs}
        todo = [pair for pair in pairs if results[pair.id] is None]
        job = partial(build_pair, pairs_dir=pairs_dir, settings=settings)
        running = (_on_dask(job, todo, client) if client else
                   map_single_threaded(job, todo, (os.cpu_count() or 1) if workers is None else workers, ordered=False))
        for result in tqdm(running, total=len(todo), desc="cohort pairs", unit="pair", disable=not (progress and todo)):
            results[result.id] = result
    ordered = [results[pair.id] for pair in pairs]
    accepted = [_entry(result) for result in ordered if result.status == "accepted"]
    datalist = split_balanced(accepted, seed=seed)
    write_datalist(out / "dataset.json", datalist, f"monai-spine paired cohort: {len(accepted)} accepted pairs, "
                                                   f"seed={seed}")
    _write_rejections(out / "rejections.csv", ordered)
    return CohortSummary(ordered, len(pairs) - len(todo), datalist)
