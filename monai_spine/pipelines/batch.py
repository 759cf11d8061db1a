"""``monai-spine batch``: every study under a folder (``pipelines.discover``), resumable, one failure never stopping
the others; one folder per study and ``manifest.csv`` (``docs/commands/batch.md``).

The DXA route runs on batches of studies: its DXA files are loaded and pre-processed for the segmentation network
in ``DataLoader`` worker processes (:class:`DxaInputs`), the segmentation network runs on the images of one shape
together (one image alone when no other shares its shape), the masks are post-processed and checked and the crops
cut (with the networks on CUDA in as many worker processes, the studies of a batch side by side: :class:`_Masking`),
the curve regressor runs on all crops of the batch at once (they share the bundle's crop size), and the files are
written, and the bi-planar route run, by writers while the next batch is on the device: one thread, or ``writers``
single-threaded processes, which draw the pictures (most of a study's time) side by side. Every step is the one of
``infer`` (``pipelines.dxa``, ``pipelines.biplanar``), so a study gives the same ``curves.json``.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import logging
import multiprocessing
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm import tqdm

from monai_spine.errors import SpineInputError, one_line
from monai_spine.io.files import atomic_write_text, staged_output
from monai_spine.regression import SpineCrop, crop_curves, curve_regressor
from monai_spine.segmentation.runner import bundle_segmenter
from monai_spine.transforms import LoadRadiograph
from monai_spine.workers import dask_client, single_thread

from .biplanar import RadiographSegmenter, run_biplanar
from .discover import StudyInput, find_studies
from .dxa import CORONAL_SOURCE, check_dxa_mask, write_dxa

__all__ = ["BatchSettings", "StudyRow", "DxaInputs", "MANIFEST", "MANIFEST_COLUMNS", "read_manifest", "run_batch"]

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("id", "status", "error", "outputs")
"""``manifest.csv``'s header: one row per study; ``outputs`` the study's result folders relative to ``--out``,
separated by ``;``."""
MANIFEST_INTERVAL_S = 1.0
"""``manifest.csv`` is rewritten at most this often while studies finish (s), and once more at the end: rewriting a
50,000-row manifest takes about 60 ms, which after every study would cost a cohort that size about 25 minutes."""

DXA_SEGMENTATION = "dxa_spine_segmentation"
"""The DXA route's segmentation bundle (``segmentation.segment_dxa``'s)."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchSettings:
    """How :func:`run_batch` runs the studies.

    Args:
        device: the networks' device, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; ``None``: CUDA when available.
        batch_size: studies per batch of the networks (at least 1).
        workers: ``DataLoader`` worker processes that load and pre-process the DXA files (0: in this process); with
            the networks on CUDA, as many single-threaded processes post-process the masks and cut the crops.
        coronal_source: the DXA route's coronal curves (``infer --coronal-from``).
        writers: what writes the results and runs the bi-planar route: 1, a thread of this process; more, that
            many single-threaded worker processes (started with ``spawn``, each loading the bi-planar bundle once).
        pictures: write every route's ``overlay.png`` and ``report.png`` (``--no-pictures``: ``curves.json`` and
            ``curve3d.csv`` only).
    """

    device: str | None = None
    batch_size: int = 8
    workers: int = 2
    coronal_source: str = CORONAL_SOURCE
    writers: int = 1
    pictures: bool = True

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}.")
        if self.workers < 0:
            raise ValueError(f"--workers must be at least 0, got {self.workers}.")
        if self.writers < 1:
            raise ValueError(f"--writers must be at least 1, got {self.writers}.")
        if self.device is not None and self.device.split(":")[0] not in ("cpu", "cuda"):
            raise ValueError(f"--device must be cpu or cuda, got {self.device!r}.")


class StudyRow(NamedTuple):
    """A study's row of ``manifest.csv``: ``status`` ``"ok"`` or ``"failed"``, ``error`` one line per failed
    route (``"dxa: FILE: PROBLEM"``), ``outputs`` its result folders relative to ``--out``."""

    id: str
    status: str
    error: str
    outputs: tuple[str, ...]


def _error_line(err: Exception) -> str:
    """An exception as the manifest's one line: a ``SpineInputError``'s own message, else its type and message
    (logged with its traceback)."""
    if isinstance(err, SpineInputError):
        return one_line(err, 300)
    logger.error("batch: unexpected error", exc_info=err)
    return one_line(f"{type(err).__name__}: {err}", 300)


def read_manifest(out: Path) -> dict[str, StudyRow]:
    """The rows of ``out/manifest.csv`` by study id (none when there is no manifest)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["id"]: StudyRow(row["id"], row["status"], row["error"], tuple(filter(None, row["outputs"].split(
            ";")))) for row in csv.DictReader(f)}


def _write_manifest(out: Path, studies: Sequence[StudyInput], rows: dict[str, StudyRow]) -> None:
    """``out/manifest.csv`` (atomically): the rows of ``studies`` that have run, in the studies' order."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows((r.id, r.status, r.error, ";".join(r.outputs)) for s in studies if (r := rows.get(s.id)))
    atomic_write_text(out / MANIFEST, text.getvalue())


def _finished(row: StudyRow | None, out: Path) -> bool:
    return row is not None and row.status == "ok" and all((out / o / "curves.json").is_file() for o in row.outputs)


class LoadedDxa(NamedTuple):
    """:class:`DxaInputs`' item: the study's index, its DXA ``(1, W, H)`` as ``LoadRadiograph`` gives it, the
    segmentation bundle's pre-processing of it (``BundleSegmenter.preprocess``), or the error that stopped it."""

    index: int
    image: torch.Tensor | None
    data: dict | None
    error: str = ""


class DxaInputs(torch.utils.data.Dataset):
    """The studies' DXA files loaded and pre-processed for the segmentation network (run in ``DataLoader``
    workers); a file that fails gives its error instead.

    Args:
        paths: the DXA files.
        preprocess: ``image (1, W, H) -> {"image": network input}`` (``BundleSegmenter.preprocess``).
    """

    def __init__(self, paths: Sequence[str], preprocess: Callable[[torch.Tensor], dict]) -> None:
        self.paths = list(paths)
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> LoadedDxa:
        try:
            image = LoadRadiograph()(self.paths[index])
            return LoadedDxa(index, image, self.preprocess(image))
        except Exception as err:
            return LoadedDxa(index, None, None, _error_line(err))


class DxaOutcome(NamedTuple):
    """The DXA route's computed result of one study (before writing), or its error."""

    image: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    curves: object = None
    frame: object = None
    error: str = ""


def _guarded(items: Sequence, outcomes: dict, step: Callable[[Sequence], list]) -> list:
    """``step(items)`` (a network on a batch; none for no items); when it raises, every item's study fails with the
    error."""
    if not items:
        return []
    try:
        return step(items)
    except Exception as err:
        error = _error_line(err)
        outcomes.update({item[0]: DxaOutcome(error=error) for item in items})
        return []


class MaskedDxa(NamedTuple):
    """:func:`_mask_and_crop`'s result of one study: its spine mask ``(1, W, H)`` (``uint8``, the DXA's grid) and the
    regressor's crop around it (``regression.SpineCrop``), or the error that stopped it."""

    mask: torch.Tensor | None
    crop: SpineCrop | None
    error: str = ""


def _mask_and_crop(item: LoadedDxa, pred: torch.Tensor, path: str, device: str | None) -> MaskedDxa:
    """One study's CPU work between the two networks: the spine mask from the segmentation network's output ``pred``
    ``(1, W', H')`` (``BundleSegmenter.postprocess``; its QC warnings silenced, they become ``check_dxa_mask``'s
    error), checked, and the regressor's crop of ``item.image`` around it. The bundles are those on ``device``,
    built once per process."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mask = bundle_segmenter(DXA_SEGMENTATION, device).postprocess(item.data, pred)
        check_dxa_mask(path, item.image, mask)
        return MaskedDxa(mask, curve_regressor(device).crop(item.image, mask))
    except Exception as err:
        return MaskedDxa(None, None, _error_line(err))


def _spawn_pool(processes: int) -> ProcessPoolExecutor:
    """``processes`` single-threaded worker processes, started with ``spawn``: this process may hold CUDA, which a
    forked child cannot use."""
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=single_thread)


def _mask_processes(settings: BatchSettings, device: torch.device) -> int:
    """How many processes post-process the masks and cut the crops (0: this process): ``settings.workers`` when the
    networks run on CUDA, where this process had been the limit (one H200, 16 cores, ``--workers 8 --writers 14
    --no-pictures``, 96 studies: 8.8 → 22 studies/s once started); none on the CPU, where the networks take the
    cores and the processes' start (about 6 s) costs more than they save (2 cores, 32 studies: 1.4 → 1.0 studies/s
    end to end)."""
    return settings.workers if device.type == "cuda" and settings.workers > 1 else 0


class _Masking:
    """:func:`_mask_and_crop` of a batch's studies: side by side in ``processes`` single-threaded processes
    (:func:`_spawn_pool`; each builds the two bundles once, on the CPU), or, with none, in this process with the
    bundles on ``device``. A pool whose process dies (killed for memory, say) fails the studies it held with a
    ``BrokenProcessPool`` line and is replaced for the next ones."""

    def __init__(self, processes: int, device: str | None) -> None:
        self.processes, self.device = processes, device
        self.executor = _spawn_pool(processes) if processes else None

    def _submit(self, job: tuple) -> Future:
        """``job`` on the pool, a new one in place of a pool whose process has died."""
        try:
            return self.executor.submit(_mask_and_crop, *job, "cpu")
        except BrokenProcessPool:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = _spawn_pool(self.processes)
            return self.executor.submit(_mask_and_crop, *job, "cpu")

    def __call__(self, jobs: Sequence[tuple[LoadedDxa, torch.Tensor, str]]) -> list[MaskedDxa]:
        """:func:`_mask_and_crop` of every ``(item, pred, path)``, in their order."""
        if self.executor is None:
            return [_mask_and_crop(*job, self.device) for job in jobs]
        futures = [self._submit(job) for job in jobs]
        return [_masked(future) for future in futures]

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()


def _masked(future: Future) -> MaskedDxa:
    """A pool's :func:`_mask_and_crop`, or its process's death as the study's error."""
    try:
        return future.result()
    except BrokenProcessPool as err:
        return MaskedDxa(None, None, _error_line(err))


def _dxa_masks(items: Sequence[LoadedDxa], paths: Sequence[str], segmenter, masking: _Masking,
               outcomes: dict) -> list[tuple]:
    """``(index, image, mask, crop)`` of every loaded item whose mask passes ``check_dxa_mask``: the segmentation
    network on the images of one shape at a time, then every study's mask and crop (:func:`_mask_and_crop`) by
    ``masking``; failures go to ``outcomes``."""
    predicted = []
    shape = lambda item: tuple(item.data["image"].shape)  # noqa: E731
    for _, group in groupby(sorted(items, key=shape), key=shape):
        group = list(group)
        preds = _guarded(group, outcomes, lambda g: segmenter.predict([item.data["image"] for item in g]))
        predicted += zip(group, preds)
    cropped = []
    for (item, _), masked in zip(predicted, masking([(item, pred, paths[item.index]) for item, pred in predicted])):
        if masked.error:
            outcomes[item.index] = DxaOutcome(error=masked.error)
        else:
            cropped.append((item.index, item.image, masked.mask, masked.crop))
    return cropped


def _dxa_batch(items: Sequence[LoadedDxa], paths: Sequence[str], settings: BatchSettings,
               masking: _Masking) -> dict[int, DxaOutcome]:
    """The DXA route's results (:class:`DxaOutcome`) of a batch of loaded studies, by index: ``run_dxa``'s steps,
    the two networks on batches, the masks and crops by ``masking``."""
    segmenter = bundle_segmenter(DXA_SEGMENTATION, settings.device)
    regressor = curve_regressor(settings.device)
    outcomes = {item.index: DxaOutcome(error=item.error) for item in items if item.error}
    crops = _dxa_masks([item for item in items if not item.error], paths, segmenter, masking, outcomes)
    values = _guarded(crops, outcomes, lambda c: regressor.predict([regressor.preprocess(x[3].crop) for x in c]))
    for (index, image, mask, crop), value in zip(crops, values):
        try:
            outcomes[index] = DxaOutcome(image, mask, crop_curves(value, crop, settings.coronal_source), crop.frame)
        except Exception as err:
            outcomes[index] = DxaOutcome(error=_error_line(err))
    return outcomes


def _finish_study(study: StudyInput, out: Path, dxa: DxaOutcome | None, settings: BatchSettings) -> StudyRow:
    """Write the study's DXA result and run its bi-planar route, each into ``out/<id>/<route>/`` (staged: a failed
    route leaves nothing); its manifest row."""
    outputs, errors = [], [study.problem] if study.problem else []
    for route in study.routes:
        folder = f"{study.id}/{route}"
        if route == "dxa" and dxa.error:
            errors.append(f"dxa: {dxa.error}")
            continue
        try:
            with staged_output(out / folder) as stage:
                if route == "dxa":
                    write_dxa(study.dxa, stage, f"monai-spine: {study.id} (DXA)", dxa.image, dxa.mask, dxa.curves,
                              dxa.frame, coronal_source=settings.coronal_source, pictures=settings.pictures)
                else:
                    run_biplanar(study.ap, study.lateral, stage, f"monai-spine: {study.id} (bi-planar)",
                                 RadiographSegmenter(settings.device), pictures=settings.pictures)
            outputs.append(folder)
        except Exception as err:
            errors.append(f"{route}: {_error_line(err)}")
    with contextlib.suppress(OSError):  # no route written: no empty study folder
        (out / study.id).rmdir()
    return StudyRow(study.id, "failed" if errors else "ok", "; ".join(errors), tuple(outputs))


def _dxa_outcomes(studies: Sequence[StudyInput], settings: BatchSettings) -> Iterator[dict[int, DxaOutcome]]:
    """The DXA route's outcomes of ``studies`` (indices into it), one batch at a time."""
    segmenter = bundle_segmenter(DXA_SEGMENTATION, settings.device)
    paths = [study.dxa for study in studies]
    loader = torch.utils.data.DataLoader(DxaInputs(paths, segmenter.preprocess), batch_size=settings.batch_size,
                                         num_workers=settings.workers, collate_fn=list)
    masking = _Masking(_mask_processes(settings, segmenter.device), settings.device)
    try:
        for items in loader:
            yield _dxa_batch(items, paths, settings, masking)
    finally:
        masking.close()


class _Writing(NamedTuple):
    """A study handed to :class:`_Writers`: what it was given, the pool it went to and its future row."""

    study: StudyInput
    dxa: DxaOutcome | None
    executor: Executor
    future: Future


class _Writers:
    """:func:`_finish_study` on one thread, or on ``settings.writers`` single-threaded processes (:func:`_spawn_pool`).
    A pool whose process dies (killed for memory, say) is started again, and every study it held runs once more on
    the new one; a study whose writer dies twice fails with a ``writer:`` line, its half-written route folders
    removed, and the others go on."""

    def __init__(self, out: Path, settings: BatchSettings) -> None:
        self.out, self.settings = out, settings
        self.executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.settings.writers == 1:
            return ThreadPoolExecutor(1, thread_name_prefix="batch-writer")
        return _spawn_pool(self.settings.writers)

    def _restart(self, broken: Executor) -> None:
        """A new pool in place of ``broken``, unless that was done already."""
        if self.executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new_executor()

    def submit(self, study: StudyInput, dxa: DxaOutcome | None) -> _Writing:
        """The study's writing, submitted to the pool as it is now."""
        try:
            future = self.executor.submit(_finish_study, study, self.out, dxa, self.settings)
        except BrokenProcessPool:
            self._restart(self.executor)
            future = self.executor.submit(_finish_study, study, self.out, dxa, self.settings)
        return _Writing(study, dxa, self.executor, future)

    def row(self, writing: _Writing) -> StudyRow:
        """The study's row, run once more on a new pool if its writer died."""
        try:
            return writing.future.result()
        except BrokenProcessPool:
            self._lost(writing)
        retry = self.submit(writing.study, writing.dxa)
        try:
            return retry.future.result()
        except BrokenProcessPool as err:
            self._lost(retry)
            return StudyRow(writing.study.id, "failed", f"writer: {_error_line(err)}", ())

    def _lost(self, writing: _Writing) -> None:
        """The pool died while it held ``writing``: a new pool, and the private folders the dead writer left in the
        study's route folders removed, with the folders left empty."""
        self._restart(writing.executor)
        study_folder = self.out / writing.study.id
        for stage in study_folder.glob("*/.partial-*"):
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                stage.parent.rmdir()
        with contextlib.suppress(OSError):
            study_folder.rmdir()

    def close(self) -> None:
        self.executor.shutdown()


def run_studies(studies: Sequence[StudyInput], out: Path, settings: BatchSettings) -> Iterator[StudyRow]:
    """Run ``studies`` into ``out`` (this process, its loader workers and its writers); their rows as they
    finish, in the studies' order."""
    with_dxa = [study for study in studies if study.dxa and not study.problem]
    others = [study for study in studies if not (study.dxa and not study.problem)]
    pending: collections.deque[_Writing] = collections.deque()
    queued = 2 * max(settings.batch_size, settings.writers)
    writers = _Writers(out, settings)
    try:
        for outcomes in _dxa_outcomes(with_dxa, settings):
            pending.extend(writers.submit(with_dxa[i], o) for i, o in outcomes.items())
            while pending and (pending[0].future.done() or len(pending) > queued):
                yield writers.row(pending.popleft())
        pending.extend(writers.submit(study, None) for study in others)
        while pending:
            yield writers.row(pending.popleft())
    finally:
        writers.close()


def _run_chunk(studies: Sequence[StudyInput], out: Path, settings: BatchSettings) -> list[StudyRow]:
    """A Dask task: :func:`run_studies` on a chunk of studies, loading and writing in the worker's own process."""
    return list(run_studies(studies, out, replace(settings, workers=0, writers=1)))


def _on_dask(client, studies: Sequence[StudyInput], out: Path, settings: BatchSettings) -> Iterator[StudyRow]:
    """Rows as they finish, from chunks of ``batch_size`` studies run on the Dask client's workers."""
    from dask.distributed import as_completed

    chunks = [studies[i:i + settings.batch_size] for i in range(0, len(studies), settings.batch_size)]
    futures = client.map(partial(_run_chunk, out=out, settings=settings), chunks, pure=False)
    chunk_of = dict(zip(futures, chunks))
    for future in as_completed(futures):
        try:
            yield from future.result()
        except Exception as err:  # the worker itself failed (e.g. lost)
            yield from (StudyRow(s.id, "failed", f"worker: {_error_line(err)}", ()) for s in chunk_of[future])


def run_batch(source: str | os.PathLike, out: str | os.PathLike, settings: BatchSettings | None = None,
              scheduler: str | None = None, progress: bool = True) -> list[StudyRow]:
    """``monai-spine batch``: every study of ``source`` into ``out/<id>/dxa/`` and ``out/<id>/biplanar/``, and
    ``out/manifest.csv``, rewritten as studies finish (at most once a second) and at the end.

    Resumable: a study whose manifest row is ``ok`` and whose ``curves.json`` files exist is not run again;
    failed ones are. A failed study never stops the others.

    Args:
        source: a folder of studies or a CSV list (``pipelines.discover.find_studies``); ``out`` inside it is not
            searched.
        out: the output folder (created).
        settings: :class:`BatchSettings` (default ``BatchSettings()``).
        scheduler: a Dask scheduler's address: the studies run on its workers, in chunks of ``batch_size``;
            they must see ``source`` and ``out`` at the same paths.
        progress: a progress bar on stderr.

    Returns:
        every study's row, in the studies' order.

    Raises:
        SpineInputError: ``source`` is missing, holds no study or is ``out``; the scheduler cannot be reached.
            Nothing is written then.
    """
    settings = settings or BatchSettings()
    out = Path(out)
    if out.resolve() == Path(source).resolve():
        raise SpineInputError(out, "is the input folder: give another --out")
    studies = find_studies(source, exclude=out)
    with dask_client(scheduler) as client:
        out.mkdir(parents=True, exist_ok=True)
        rows = read_manifest(out)
        todo = [study for study in studies if not _finished(rows.get(study.id), out)]
        running = _on_dask(client, todo, out, settings) if client else run_studies(todo, out, settings)
        written = time.monotonic()
        try:
            for row in tqdm(running, total=len(todo), desc="batch studies", unit="study",
                            disable=not (progress and todo)):
                rows[row.id] = row
                if time.monotonic() - written >= MANIFEST_INTERVAL_S:
                    _write_manifest(out, studies, rows)
                    written = time.monotonic()
        finally:
            _write_manifest(out, studies, rows)
    return [rows[study.id] for study in studies]

