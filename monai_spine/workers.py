"""Jobs in single-threaded worker processes: the one process pool of the project (phantom and paired cohorts), and
the Dask client of the commands that run on a cluster (``cohort``, ``batch``).

Every job runs with one thread for torch and SimpleITK, in a worker or in this process alike: workers do not
compete for cores, and numbers that depend on threads (SimpleITK sums in threads) do not depend on where a job ran.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from monai_spine.errors import SpineInputError

__all__ = ["single_thread", "single_threaded", "map_single_threaded", "dask_client"]


def _loaded_sitk():
    """SimpleITK if this process has imported it (a phantom-only worker never needs to), else None."""
    return sys.modules.get("SimpleITK")


def single_thread() -> None:
    """One thread for torch and ITK/SimpleITK in this process (the initializer of pool and Dask workers).

    ITK reads ``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS`` when SimpleITK is first imported, so a worker that never
    registers anything does not import SimpleITK at all.
    """
    import torch

    torch.set_num_threads(1)
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = "1"
    if (sitk := _loaded_sitk()) is not None:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """:func:`single_thread` in this process, the thread settings restored afterwards."""
    import torch

    torch_threads, itk_env = torch.get_num_threads(), os.environ.get("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")
    sitk = _loaded_sitk()
    sitk_threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() if sitk is not None else None
    single_thread()
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        if itk_env is None:
            os.environ.pop("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", None)
        else:
            os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = itk_env
        if sitk_threads is not None:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(sitk_threads)


def _start_worker(setup: Callable[..., None] | None, setup_args: tuple) -> None:
    single_thread()
    if setup is not None:
        setup(*setup_args)


def map_single_threaded(
    job: Callable[[Any], Any],
    items: Sequence,
    workers: int,
    ordered: bool = True,
    setup: Callable[..., None] | None = None,
    setup_args: tuple = (),
) -> Iterator:
    """``job(item)`` of every item, from a spawn pool of ``min(workers, len(items))`` single-threaded processes.

    With one worker (or one item) the jobs run here, single-threaded. ``job`` and ``setup`` must be picklable (a
    module-level function or a ``functools.partial`` of one).

    Args:
        job: the function run on each item.
        items: the items (a list, a ``range``).
        workers: the most processes to start.
        ordered: yield results in the items' order; else as they finish.
        setup: run once as ``setup(*setup_args)`` in each process that runs jobs (each worker, or this process),
            e.g. to load what every job of that process shares.
    """
    processes = min(workers, len(items))
    if processes <= 1:
        with single_threaded():
            _start_worker(setup, setup_args)
            yield from map(job, items)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_start_worker, initargs=(setup, setup_args)) as pool:
        yield from (pool.imap if ordered else pool.imap_unordered)(job, items)


@contextlib.contextmanager
def dask_client(address: str | None):
    """A ``dask.distributed.Client`` of the scheduler at ``address`` whose workers run :func:`single_thread`;
    ``None`` if no address is given.

    Raises:
        SpineInputError: ``dask.distributed`` is not installed, or the scheduler does not answer within 20 s.
    """
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise SpineInputError(address, f"a Dask scheduler needs dask.distributed ({err}); "
                                       "pip install 'monai-spine[dask]'") from None
    try:
        client = Client(address, timeout="20s")
    except OSError as err:
        raise SpineInputError(address, f"cannot reach the Dask scheduler ({err})") from None
    with client:
        client.run(single_thread)
        yield client
