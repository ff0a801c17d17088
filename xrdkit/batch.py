"""Run any per-item analysis over many items: local processes or a Dask cluster, kill-safe.

The engine knows nothing about diffraction: an *item* is any picklable object (a
``ScanRef`` of :mod:`xrdkit.hdf5`, an IR spectrum reference, a small array …) and the
*analysis* is any picklable top-level function ``analyse(item) -> ItemResult`` (or
``analyse(item, previous) -> ItemResult`` for warm-started series). Results go to a
:class:`xrdkit.results.ResultsStore` (see that module for the durability design and the
``RESULTS.h5`` layout); only this (parent) process writes them.

Execution
---------
``workers=1`` (and no scheduler)
    In this process, item by item; every finished item is journaled at once.
``workers=N`` (default ``os.cpu_count()``)
    A :class:`concurrent.futures.ProcessPoolExecutor` with N processes. Items are sent in
    chunks (tasks) of ``chunk_size`` items; at most ``2 N`` tasks are in flight. Each
    finished item comes back at once through a queue (the parent stores while the workers
    go on), so a kill loses at most the items being analysed and those queued behind them
    in their tasks; no new task is sent while more than ``STREAM_BACKLOG_PER_WORKER × N``
    streamed records wait to be stored (flat worker memory). The processes start once per
    batch (again only after a crash). With the ``fork`` start method an analysis's
    ``warm_up(item)`` attribute runs in the parent first, and the workers inherit what it
    loaded (:func:`_warm_up_before_fork`).
``scheduler="tcp://host:port"`` or a :class:`distributed.Client`
    Tasks are submitted to that Dask distributed cluster (``2 × worker processes + 2`` in
    flight; a worker process runs one task at a time whatever its ``--nthreads``, see
    :func:`_run_task_dask`).
    Per-future overhead on Dask is milliseconds, so chunks default to up to 64 items.

Errors
------
An exception raised by ``analyse`` is recorded for that item (status ``"error"``, a
one-line ``error`` message and the full traceback) and the batch goes on. A crash that
kills a worker process (``os._exit``, segfault, OOM kill) breaks the process pool: the
results already received are kept, the pool is replaced, and the items in flight that had
not come back are re-run one at a time in a fresh single-process pool (with warm start each
gets the warm start the one before it returned; see below); the item whose analysis kills
that process again is recorded as an error (``"worker process died …"``). On Dask a failed
multi-item task is re-run item by item in the same way; a single-item task that fails (e.g.
``KilledWorker``) is recorded as an error.

Warm start: one answer whatever runs it
---------------------------------------
With ``warm_start=True`` items form series (consecutive items with equal ``series_key``;
the whole list when ``series_key`` is None) and every series is cut into *chains*: runs of
``chain_length`` consecutive items counted from the start of the series (default
:func:`default_chain_length`, which depends on the series length only). The first item of a
chain is analysed cold (``previous=None``); every other item gets ``analyse(item, previous)``
with ``previous`` the last successful :class:`ItemResult` before it *in its chain*. The
chains — and so every item's warm start — are a function of the item list and
``chain_length`` alone: the same for in-process runs, any number of local workers, a Dask
cluster, any ``chunk_size``, a resumed batch and items re-run after a worker crash. With a
deterministic ``analyse`` all backends therefore store identical results.

A task holds one or more whole chains (``chunk_size`` only groups chains; a chain is never
split between workers). Where the warm start of an item to run comes from items already
done — a resumed batch, items re-run after a crash — those items are analysed again in the
worker (*replayed*: their results are not stored again) so that it gets the same
``previous`` as in an uninterrupted run. An item that failed (an error, or its analysis
killed the worker) leaves ``previous`` unchanged, as it does in an uninterrupted run.

Warnings raised with :func:`warnings.warn` inside ``analyse`` are captured and stored
with the item, except those about code rather than the item (:data:`CODE_WARNINGS`:
deprecations and the like, which a library raises once per process, so that which item
would carry them depends on the backend); those are logged at DEBUG level.

Results
-------
Worker processes (local: streamed through a queue item by item; Dask: per task) return
each finished item already packed as its journal record (:func:`xrdkit.results.pack_record`: arrays converted to their stored type, bytes and
CRC computed), so the parent only writes bytes to the journal and, in blocks, to the working
HDF5 file (see :mod:`xrdkit.results`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xrdkit._summary import HtmlSummary
from xrdkit.errors import BatchError, InputError, limit_from_env
from xrdkit.results import (
    MAX_ERROR_CHARS,
    MAX_TRACEBACK_CHARS,
    ItemRecord,
    ItemResult,
    PackedRecord,
    ResultsStore,
    pack_record,
)

__all__ = [
    "ItemResult",
    "ItemRecord",
    "BatchSummary",
    "run_batch",
    "default_chain_length",
    "warm_start_chains",
    "default_item_id",
    "default_item_source",
]

logger = logging.getLogger(__name__)

#: Largest default chunk (items per task); DESIGN.md: 16–64 items per Dask future.
MAX_DEFAULT_CHUNK = 64
#: Tasks per worker the default chunk size aims at (load balance vs per-task overhead).
TASKS_PER_WORKER = 4
#: Tasks in flight per worker (bounds memory and what a kill loses).
IN_FLIGHT_PER_WORKER = 2
#: How long the parent waits for a streamed record before it looks at the tasks again (s).
STREAM_POLL_S = 0.05
#: Longest wait, once the pool has shut down, for records a finished task streamed (s);
#: missing ones are re-run (with a broken pool, at once: its killed workers send nothing more).
STREAM_LAG_MAX_S = 60.0
#: Records finished tasks may have streamed that the parent has not stored yet, per worker,
#: before it submits more tasks. Undrained records wait in the workers' queue buffers (about
#: 0.1 MB each for a 4,000-point fit): without this bound a worker faster than the parent's
#: storing would grow its memory with the batch.
STREAM_BACKLOG_PER_WORKER = 64
#: How often a local worker checks that the batch process is still alive (seconds).
ORPHAN_CHECK_S = 0.2
#: Seconds to wait for a Dask scheduler given by address, once something listens there (the
#: Dask handshake). With the probe below and the import of distributed, a bad ``--scheduler``
#: fails within 10 s.
DASK_CONNECT_TIMEOUT_S = 4.0
#: Seconds a plain TCP connection to the scheduler's host and port may take before the Dask
#: client is made ("nothing listening" fails at once; an unreachable host after this).
SCHEDULER_PROBE_TIMEOUT_S = 3.0
#: Address schemes the probe understands (host:port over TCP).
TCP_SCHEMES = ("tcp", "tls", "ws", "wss")
#: Warning categories about code, not about an item: not stored with items (see above).
CODE_WARNINGS: tuple[type[Warning], ...] = (
    DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning,
)

#: Default longest analysis of one item (s): a 4,000-point scan takes 0.01–2 s, the largest
#: scan the readers accept (200,000 points) about 20 s.
DEFAULT_ITEM_TIMEOUT_S = 600.0
#: Environment variable that sets another default for ``item_timeout_s``.
ITEM_TIMEOUT_ENV = "CLOSOKIT_ITEM_TIMEOUT_S"
#: A local worker that sends nothing for ``item_timeout_s`` (per item it still has to replay,
#: plus one) and this many seconds more is stuck in compiled code the timeout cannot
#: interrupt: the parent kills the pool's workers, and the items in flight are re-run one at
#: a time, each killed after ``item_timeout_s`` plus this grace.
ITEM_KILL_GRACE_S = 30.0

#: Warm-start chains a series is cut into by default (more chains: more parallelism and more
#: cold starts); the chain length is clipped to [MIN_CHAIN_LENGTH, MAX_CHAIN_LENGTH].
CHAINS_PER_SERIES = 16
#: Shortest default chain: a chain of 1–3 items gains little from warm starts.
MIN_CHAIN_LENGTH = 4
#: Longest default chain (bounds what a resume replays and the work in one task).
MAX_CHAIN_LENGTH = 64

#: One item to analyse: (index in the item list, item id, item, source).
Entry = tuple[int, str, Any, str]


@dataclass(frozen=True)
class Task:
    """One unit of work sent to a worker: entries analysed in order, in one process.

    Attributes
    ----------
    entries : tuple of Entry
        The items, in item-list order.
    replay : frozenset of int
        Item indices analysed only to warm-start the entries after them (their results are
        already stored); their records are not sent back.
    cold : frozenset of int
        Item indices that start a warm-start chain (``previous`` is reset to None first).
    previous : ItemResult or None
        Warm start of the first entry (when it does not start a chain).
    timeout_s : float or None
        Longest analysis of one entry (see :func:`run_batch`'s ``item_timeout_s``).
    """

    entries: tuple[Entry, ...]
    replay: frozenset[int] = frozenset()
    cold: frozenset[int] = frozenset()
    previous: ItemResult | None = None
    timeout_s: float | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def emitted(self) -> tuple[Entry, ...]:
        """The entries whose records are sent back (all but the replayed ones)."""
        return tuple(e for e in self.entries if e[0] not in self.replay)


@dataclass(frozen=True)
class BatchSummary(HtmlSummary):
    """What a :func:`run_batch` call did.

    Attributes
    ----------
    out_path : Path
        The consolidated results file.
    n_items : int
        Items in the batch.
    n_skipped : int
        Items already done before this call (``resume``), not run again.
    n_run, n_ok, n_error : int
        Items analysed in this call, of which ok / recorded as errors.
    n_worker_crashes : int
        Times a worker process died (pool replaced) or a Dask task failed.
    elapsed_s : float
        Wall time of the call.
    store_s : float
        Part of ``elapsed_s`` the parent spent storing results (journal appends, block writes
        into the working HDF5 file, consolidations); workers keep computing meanwhile, except
        during the final consolidation.
    items_per_s : float
        ``n_run / elapsed_s``.
    backend : str
        ``"in-process"``, ``"processes"`` or ``"dask"``.
    workers : int
        Worker processes (Dask: worker processes connected at the start).
    chunk_size : int
        Items per task actually used (with warm start: at most this many, in whole chains).
    n_chains : int
        Warm-start chains (cold starts) the batch's series were cut into; 0 without warm
        start.
    n_replayed : int
        Items already done that were analysed again to warm-start the items after them
        (resume, crash recovery; their results were not stored again).

    Examples
    --------
    :func:`run_batch` returns one; here one is built by hand (7 of 8 items ok in 2 s):

    >>> s = BatchSummary(Path("RESULTS.h5"), n_items=10, n_skipped=2, n_run=8, n_ok=7,
    ...                  n_error=1, n_worker_crashes=0, elapsed_s=2.0, store_s=0.1,
    ...                  items_per_s=8 / 2.0, backend="processes", workers=2, chunk_size=4)
    >>> s
    <BatchSummary RESULTS.h5: 7 ok, 1 errors, 2 already done; 4.0 items/s>
    >>> s.n_ok + s.n_error == s.n_run, s.n_run + s.n_skipped == s.n_items
    (True, True)
    """

    out_path: Path
    n_items: int
    n_skipped: int
    n_run: int
    n_ok: int
    n_error: int
    n_worker_crashes: int
    elapsed_s: float
    store_s: float
    items_per_s: float
    backend: str
    workers: int
    chunk_size: int
    n_chains: int = 0
    n_replayed: int = 0

    def __repr__(self) -> str:
        return (f"<BatchSummary {self.out_path.name}: {self.n_ok} ok, {self.n_error} errors, "
                f"{self.n_skipped} already done; {self.items_per_s:.1f} items/s>")

    def summary(self) -> str:
        """A short text report of the run (like lmfit's ``fit_report``).

        Examples
        --------
        >>> s = BatchSummary(Path("r.h5"), n_items=10, n_skipped=2, n_run=8, n_ok=7, n_error=1,
        ...                  n_worker_crashes=0, elapsed_s=2.0, store_s=0.1, items_per_s=4.0,
        ...                  backend="processes", workers=2, chunk_size=4, n_chains=2)
        >>> print(s.summary())
        [[Batch]] r.h5
            items        10 (8 run: 7 ok, 1 errors; 2 already done)
            time         2.0 s (4.00 items/s; storing 0.1 s)
            backend      processes, 2 workers, tasks of ≤ 4 items
            warm start   2 chains, 0 items replayed
            crashes      0 worker processes died
        """
        lines = [
            f"[[Batch]] {self.out_path}",
            f"    items        {self.n_items} ({self.n_run} run: {self.n_ok} ok, {self.n_error} errors; "
            f"{self.n_skipped} already done)",
            f"    time         {self.elapsed_s:.1f} s ({self.items_per_s:.2f} items/s; storing {self.store_s:.1f} s)",
            f"    backend      {self.backend}, {self.workers} workers, tasks of ≤ {self.chunk_size} items",
        ]
        if self.n_chains:
            lines.append(f"    warm start   {self.n_chains} chains, {self.n_replayed} items replayed")
        lines.append(f"    crashes      {self.n_worker_crashes} worker processes died")
        return "\n".join(lines)


def default_chain_length(n_series_items: int) -> int:
    """Warm-start chain length for a series of ``n_series_items`` items.

    ``ceil(n / CHAINS_PER_SERIES)`` clipped to [:data:`MIN_CHAIN_LENGTH`,
    :data:`MAX_CHAIN_LENGTH`]: it depends on the series alone, never on the backend or the
    number of workers, so every backend warm-starts every item from the same predecessor.

    Parameters
    ----------
    n_series_items : int
        Items in the series.

    Returns
    -------
    int
        Items per chain (the series' last chain may be shorter).

    Examples
    --------
    A short series gets the shortest chains, 200 items ``ceil(200 / 16) = 13``, a very long
    series the longest:

    >>> default_chain_length(10), default_chain_length(200), default_chain_length(100_000)
    (4, 13, 64)
    >>> (MIN_CHAIN_LENGTH, CHAINS_PER_SERIES, MAX_CHAIN_LENGTH)
    (4, 16, 64)
    """
    return min(MAX_CHAIN_LENGTH, max(MIN_CHAIN_LENGTH, math.ceil(n_series_items / CHAINS_PER_SERIES)))


def warm_start_chains(
    n_items: int, series: Sequence[Hashable] | None = None, chain_length: int | None = None
) -> list[range]:
    """The warm-start chains of a batch: ranges of item indices, in order.

    Parameters
    ----------
    n_items : int
        Items in the batch.
    series : sequence, optional
        Series key per item; consecutive items with equal keys form a series (default: one
        series).
    chain_length : int, optional
        Items per chain, counted from the start of each series (the last chain of a series
        may be shorter); default :func:`default_chain_length` of the series length.

    Returns
    -------
    list of range
        Item indices of each chain; together they cover ``range(n_items)`` once, in order.

    Examples
    --------
    Two series (6 and 4 items) in chains of 4; a chain never spans two series:

    >>> warm_start_chains(10, series=["a"] * 6 + ["b"] * 4, chain_length=4)
    [range(0, 4), range(4, 6), range(6, 10)]

    One series of 10 items, the default chain length (:func:`default_chain_length` gives 4):

    >>> warm_start_chains(10)
    [range(0, 4), range(4, 8), range(8, 10)]
    """
    chains: list[range] = []
    start = 0
    while start < n_items:
        end = start + 1
        while end < n_items and (series is None or series[end] == series[start]):
            end += 1
        length = chain_length or default_chain_length(end - start)
        chains.extend(range(s, min(s + length, end)) for s in range(start, end, length))
        start = end
    return chains


def default_item_id(item: Any) -> str:
    """The id of an item: ``item.id``, the item itself if it is a string, else ``item.spec``
    (the ``file::/path[index]`` of an :class:`xrdkit.hdf5.ScanRef`).

    Parameters
    ----------
    item : object
        One item of a batch.

    Returns
    -------
    str

    Raises
    ------
    InputError
        The item has none of these (pass ``item_id=`` to :func:`run_batch`).

    Examples
    --------
    >>> from xrdkit.hdf5 import ScanRef
    >>> ref = ScanRef("stack.h5", "/heating", 3, "stack", "/heating/data", "/heating/two_theta")
    >>> default_item_id(ref), default_item_id("scan-007")
    ('stack.h5::/heating[3]', 'scan-007')
    >>> default_item_id(3.5)
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: items: item 3.5 has no 'id' or 'spec' attribute; pass item_id=...
    """
    for value in (getattr(item, "id", None), item if isinstance(item, str) else None,
                  getattr(item, "spec", None)):
        if value is not None:
            return str(value)
    raise InputError(
        f"item {item!r:.80} has no 'id' or 'spec' attribute; pass item_id=<callable returning a "
        "unique string>",
        source="items",
    )


def default_item_source(item: Any) -> str:
    """Where an item came from: ``item.source``, ``item.spec``, or ``file::path[index]`` built
    from ``file``/``path``/``index`` attributes; ``""`` if none of these exist.

    Parameters
    ----------
    item : object
        One item of a batch.

    Returns
    -------
    str

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> default_item_source(SimpleNamespace(file="run.h5", path="/entry/data", index=2))
    'run.h5::/entry/data[2]'
    >>> default_item_source(SimpleNamespace(source="beamtime 12, scan 7", spec="x.h5::/s"))
    'beamtime 12, scan 7'
    >>> default_item_source(42)
    ''
    """
    for name in ("source", "spec"):
        value = getattr(item, name, None)
        if value is not None:
            return str(value)
    file, path = getattr(item, "file", None), getattr(item, "path", None)
    if file is not None and path is not None:
        index = getattr(item, "index", None)
        return f"{file}::{path}" + (f"[{index}]" if index is not None else "")
    return ""


# --------------------------------------------------------------------------------------------
# Worker side (top-level, picklable)
# --------------------------------------------------------------------------------------------


class ItemTimeout(BaseException):
    """An item's analysis ran longer than the batch's ``item_timeout_s``.

    A :class:`BaseException` (like :class:`KeyboardInterrupt`), so that an ``except
    Exception`` inside the analysis cannot swallow it; :func:`_analyse_one` records it as the
    item's error and the batch goes on.
    """


@contextlib.contextmanager
def _deadline(timeout_s: float | None) -> Iterator[None]:
    """Raise :class:`ItemTimeout` in this thread when the block runs longer than ``timeout_s``.

    In the main thread of a process (the in-process batch, local pool workers) on POSIX it
    uses ``SIGALRM`` (``signal.setitimer``). In any other thread (Dask worker threads), and in
    a main thread whose interval timer is already in use (e.g. by a test harness), a watchdog
    timer schedules the exception in this thread instead (:func:`_raise_in_thread`, CPython).
    Either way Python code is interrupted at once and a call into compiled code when it
    returns — a local worker stuck inside one is killed by the parent instead (see
    :func:`run_batch`). Elsewhere (Windows main thread on another Python) nothing is done.
    """
    import signal

    if timeout_s is None or not math.isfinite(timeout_s) or not timeout_s > 0:
        yield
        return
    message = (f"analysis did not finish within {timeout_s:g} s (the batch's item_timeout_s, "
               f"environment {ITEM_TIMEOUT_ENV})")
    alarm = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
             and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))
    if alarm:
        def expired(signum: int, frame: Any) -> None:
            raise ItemTimeout(message)

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
            signal.signal(signal.SIGALRM, previous)
        return
    if sys.implementation.name != "cpython":
        yield
        return
    # the exception is raised by class (CPython instantiates it without arguments): a subclass
    # that carries this deadline's message
    expired_type = type("ItemTimeout", (ItemTimeout,),
                        {"__init__": lambda self, *args: ItemTimeout.__init__(self, *(args or (message,))),
                         "__module__": __name__})
    target = threading.get_ident()
    guard = threading.Lock()
    state = {"active": True, "fired": False}

    def fire() -> None:
        with guard:
            if state["active"]:
                state["fired"] = True
                _raise_in_thread(target, expired_type)

    watchdog = threading.Timer(timeout_s, fire)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        with guard:
            state["active"] = False
            if state["fired"]:  # fired as the block ended: drop it if it has not been raised yet
                _raise_in_thread(target, None)


def _raise_in_thread(ident: int, exc_type: type[BaseException] | None) -> None:
    """Have thread ``ident`` raise ``exc_type`` at its next Python instruction; None cancels
    one not yet raised (CPython's ``PyThreadState_SetAsyncExc``)."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc_type) if exc_type is not None else None)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    msg = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return msg if len(msg) <= MAX_ERROR_CHARS else msg[: MAX_ERROR_CHARS - 1] + "…"


def _analyse_one(
    analyse: Callable[..., ItemResult],
    entry: Entry,
    previous: ItemResult | None,
    warm_start: bool,
    timeout_s: float | None = None,
) -> tuple[ItemRecord, ItemResult | None]:
    index, item_id, item, source = entry
    t0 = time.perf_counter()
    result: ItemResult | None = None
    error: BaseException | None = None
    tb = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _deadline(timeout_s):
                out = analyse(item, previous) if warm_start else analyse(item)
            if not isinstance(out, ItemResult):
                raise TypeError(
                    f"analysis returned {type(out).__name__}, expected xrdkit.batch.ItemResult"
                )
            result = out
        except (Exception, SystemExit, ItemTimeout) as exc:  # one bad item never stops the batch
            error = exc
            tb = traceback.format_exc()[-MAX_TRACEBACK_CHARS:]
    elapsed = time.perf_counter() - t0
    caught_msgs = tuple(f"{w.category.__name__}: {w.message}" for w in caught
                        if not issubclass(w.category, CODE_WARNINGS))
    for w in caught:
        if issubclass(w.category, CODE_WARNINGS):
            logger.debug("%s: %s: %s (%s:%s)", item_id, w.category.__name__, w.message,
                         w.filename, w.lineno)
    if result is None:
        assert error is not None
        rec = ItemRecord(
            item_id, index, source, "error", _one_line(error), elapsed, warnings=caught_msgs,
            traceback=tb,
        )
        return rec, None
    rec = ItemRecord(
        item_id, index, source, "ok", "", elapsed, result.scalars, result.arrays,
        result.warnings + caught_msgs,
    )
    return rec, result


def _walk_task(
    analyse: Callable[..., ItemResult], task: Task, warm_start: bool
) -> Iterator[tuple[ItemRecord | None, ItemResult | None]]:
    """Analyse the entries of ``task`` in order; yield (record or None for a replayed entry,
    the warm start after it: the last successful result of its chain)."""
    previous = task.previous if warm_start else None
    for entry in task.entries:
        if entry[0] in task.cold:
            previous = None
        rec, result = _analyse_one(analyse, entry, previous, warm_start, task.timeout_s)
        if warm_start and result is not None:
            previous = result
        yield (None if entry[0] in task.replay else rec), previous


def _iter_task(
    analyse: Callable[..., ItemResult], task: Task, warm_start: bool
) -> Iterator[ItemRecord]:
    for rec, _ in _walk_task(analyse, task, warm_start):
        if rec is not None:
            yield rec


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (pid reused)
        return True
    return True


def _exit_when_orphaned(batch_pid: int, interval_s: float) -> None:
    parent = os.getppid()  # the batch process, or a fork server that dies with it
    while True:
        if os.getppid() != parent or not _alive(batch_pid):
            os._exit(70)  # the batch process is gone (e.g. kill -9): do not linger
        time.sleep(interval_s)


#: In a pool worker: the queue finished records are streamed through (None elsewhere).
_RESULT_QUEUE: Any = None


def _worker_init(batch_pid: int, result_queue: Any = None) -> None:
    """Pool-worker initializer: exit when the batch process dies, so a SIGKILLed batch leaves
    no orphans (also when it died before this worker got this far); keep the queue that
    streams finished records to the parent."""
    global _RESULT_QUEUE
    _RESULT_QUEUE = result_queue
    threading.Thread(
        target=_exit_when_orphaned, args=(batch_pid, ORPHAN_CHECK_S), daemon=True,
        name="closokit-orphan-watchdog",
    ).start()


def _run_task(
    analyse: Callable[..., ItemResult], task: Task, warm_start: bool, float32_arrays: bool = True,
    return_previous: bool = False,
) -> list[PackedRecord] | tuple[list[PackedRecord], ItemResult | None]:
    """Worker entry point: analyse the items of one task in order; return them packed as
    journal records (the parent then only writes bytes). With ``return_previous`` also the
    warm start after the last entry (so the parent can chain single-item tasks)."""
    records: list[PackedRecord] = []
    previous = task.previous if warm_start else None
    for rec, after in _walk_task(analyse, task, warm_start):
        previous = after
        if rec is not None:
            records.append(pack_record(rec, float32_arrays=float32_arrays))
    return (records, previous) if return_previous else records


#: One task at a time per Dask worker process (see :func:`_run_task_dask`).
_DASK_TASK_LOCK = threading.Lock()


def _run_task_dask(
    analyse: Callable[..., ItemResult], task: Task, warm_start: bool, float32_arrays: bool = True,
    return_previous: bool = False,
) -> list[PackedRecord] | tuple[list[PackedRecord], ItemResult | None]:
    """Dask entry point: :func:`_run_task`, one task at a time in a worker process.

    A Dask worker runs tasks in threads (``--nthreads``). The warnings an item raises are
    recorded with ``warnings.catch_warnings``, which is process-wide state: two items analysed
    at once in one process would mix their warnings. So threads of one worker take turns;
    parallelism on a cluster comes from worker processes (``dask worker ADDR --nworkers N
    --nthreads 1``), as with local workers.
    """
    with _DASK_TASK_LOCK:
        return _run_task(analyse, task, warm_start, float32_arrays, return_previous)


def _run_task_streaming(
    analyse: Callable[..., ItemResult], task: Task, warm_start: bool, float32_arrays: bool = True
) -> list[str]:
    """Pool-worker entry point: like :func:`_run_task`, but each record goes to the parent
    through the worker's result queue as soon as it is done (the parent stores while the
    task runs, and a crash loses only the item being analysed). Returns the ids sent."""
    sent = []
    for rec in _iter_task(analyse, task, warm_start):
        packed = pack_record(rec, float32_arrays=float32_arrays)
        _RESULT_QUEUE.put(packed)
        sent.append(packed.item_id)
    return sent


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------


def _make_tasks(
    todo: Sequence[Entry],
    chunk_size: int,
    warm_start: bool,
    series: Sequence[Hashable] | None,
    *,
    entries: Sequence[Entry] | None = None,
    chain_length: int | None = None,
    failed: frozenset[int] = frozenset(),
) -> list[Task]:
    """Group the entries to run into tasks of up to ``chunk_size`` items.

    Without warm start: consecutive chunks of ``todo``. With warm start: whole chains of
    :func:`warm_start_chains` over ``entries`` (every item of the batch, ``entries[i][0] == i``;
    default ``todo``), several chains per task up to ``chunk_size`` items. A chain's items
    already done (not in ``todo``) that come before one to run are replayed, except those in
    ``failed`` (stored errors: they leave the warm start unchanged).
    """
    tasks: list[Task] = []
    if not warm_start:
        for k in range(0, len(todo), chunk_size):
            tasks.append(Task(tuple(todo[k:k + chunk_size])))
        return tasks
    everything = list(todo if entries is None else entries)
    if any(e[0] != i for i, e in enumerate(everything)):
        raise ValueError("entries must be every item of the batch, in index order")
    to_run = {e[0] for e in todo}
    group: list[Entry] = []
    replay: set[int] = set()
    cold: set[int] = set()
    for chain in warm_start_chains(len(everything), series, chain_length):
        run = [i for i in chain if i in to_run]
        if not run:
            continue
        members = [i for i in chain if i <= run[-1] and (i in to_run or i not in failed)]
        if group and len(group) + len(members) > chunk_size:
            tasks.append(Task(tuple(group), frozenset(replay), frozenset(cold)))
            group, replay, cold = [], set(), set()
        group.extend(everything[i] for i in members)
        replay.update(i for i in members if i not in to_run)
        cold.add(members[0])
    if group:
        tasks.append(Task(tuple(group), frozenset(replay), frozenset(cold)))
    return tasks


def _remainder(task: Task, received: dict[str, str], warm_start: bool) -> Task | None:
    """What of ``task`` is left to run after a crash: its entries whose records did not come
    back; with warm start also those that came back ok and precede one of them (replayed).
    Entries that came back as errors are dropped (they leave the warm start unchanged; a
    chain start they held moves to the next entry). None when nothing is left."""
    if all(e[1] in received for e in task.emitted):
        return None
    if not warm_start:
        return Task(tuple(e for e in task.entries if e[1] not in received), timeout_s=task.timeout_s)
    keep: list[Entry] = []
    replay, cold = set(task.replay), set()
    move_cold = False
    for e in task.entries:
        idx = e[0]
        starts = idx in task.cold or move_cold
        if idx not in task.replay and e[1] in received and received[e[1]] != "ok":
            move_cold = starts
            continue
        move_cold = False
        if idx not in task.replay and e[1] in received:
            replay.add(idx)
        if starts:
            cold.add(idx)
        keep.append(e)
    while keep and keep[-1][0] in replay:  # replays after the last item to run are useless
        keep.pop()
    indices = {e[0] for e in keep}
    return Task(tuple(keep), frozenset(replay & indices), frozenset(cold & indices), task.previous,
                task.timeout_s)


def _backlog(lagging: list[tuple[Task, frozenset[str]]], received: dict[str, str]) -> int:
    """Records that finished tasks streamed and the parent has not received yet; drops the
    fully received tasks from ``lagging``."""
    lagging[:] = [(t, ids) for t, ids in lagging if not received.keys() >= ids]
    return sum(1 for _, ids in lagging for i in ids if i not in received)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL the worker processes of ``pool`` (the pool then breaks, and its futures raise
    :class:`BrokenProcessPool`)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()


def _failure_record(entry: Entry, message: str) -> ItemRecord:
    index, item_id, _, source = entry
    msg = message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"
    return ItemRecord(item_id, index, source, "error", msg, 0.0)


def _crash_record(entry: Entry, exc: BaseException) -> ItemRecord:
    return _failure_record(
        entry, f"worker process died while analysing this item ({_one_line(exc)})"
    )


class _Runner:
    """Parent-side loop: submits tasks, hands finished records to ``emit`` (in-process:
    :class:`ItemRecord` objects; from workers: :class:`PackedRecord` objects)."""

    def __init__(
        self,
        analyse: Callable[..., ItemResult],
        warm_start: bool,
        emit: Callable[[ItemRecord | PackedRecord], None],
        *,
        float32_arrays: bool = True,
    ) -> None:
        self.analyse = analyse
        self.warm_start = warm_start
        self.emit = emit
        self.float32_arrays = float32_arrays
        self.crashes = 0

    def _stall_limit_s(self, tasks: Any) -> float:
        """How long the pool may send nothing before a worker counts as stuck: the item
        timeout for every item a task in flight may still replay, plus one, plus the grace."""
        timeouts = [(t.timeout_s, len(t.replay)) for t in tasks if t.timeout_s is not None]
        if not timeouts:
            return math.inf
        return max(timeout * (n_replay + 1) for timeout, n_replay in timeouts) + ITEM_KILL_GRACE_S

    def _piece(self, entry: Entry, task: Task, previous: ItemResult | None) -> Task:
        """``entry`` of ``task`` as a single-entry task warm-started from ``previous``."""
        idx = entry[0]
        return Task((entry,), task.replay & {idx}, task.cold & {idx},
                    previous if self.warm_start else None, task.timeout_s)

    # -- in-process --------------------------------------------------------------------------
    def run_inline(self, tasks: Sequence[Task]) -> None:
        for task in tasks:
            for rec in _iter_task(self.analyse, task, self.warm_start):
                self.emit(rec)

    # -- local process pool ------------------------------------------------------------------
    def run_pool(self, tasks: Sequence[Task], workers: int, ctx: Any) -> None:
        pending: deque[Task] = deque(tasks)
        limit = IN_FLIGHT_PER_WORKER * workers
        results = (ctx if ctx is not None else multiprocessing.get_context()).Queue()
        received: dict[str, str] = {}  # id → status of the records that came through the queue

        last_record = time.monotonic()  # when a worker last sent something

        def drain(block_s: float) -> None:
            """Emit what the workers streamed; wait up to ``block_s`` for the first record."""
            nonlocal last_record
            try:
                packed = results.get(timeout=block_s) if block_s > 0 else results.get_nowait()
                last_record = time.monotonic()
                while True:
                    received[packed.item_id] = packed.status
                    self.emit(packed)
                    packed = results.get_nowait()
            except queue.Empty:
                pass

        try:
            while pending:
                suspects: list[Task] = []
                pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                           initargs=(os.getpid(), results))
                lagging: list[tuple[Task, frozenset[str]]] = []  # finished, records not all here yet

                try:
                    in_flight: dict[Any, Task] = {}
                    broken = False
                    blocked_since: float | None = None
                    while pending or in_flight:
                        while pending and len(in_flight) < limit and not broken \
                                and _backlog(lagging, received) <= STREAM_BACKLOG_PER_WORKER * workers:
                            task = pending.popleft()
                            try:
                                in_flight[pool.submit(_run_task_streaming, self.analyse, task,
                                                      self.warm_start, self.float32_arrays)] = task
                            except BrokenProcessPool:
                                pending.appendleft(task)
                                broken = True
                        if not in_flight:
                            if not pending or broken:
                                break
                            # waiting for the parent to store what finished tasks streamed; a
                            # worker killed after its task returned never sends the rest
                            blocked_since = blocked_since or time.monotonic()
                            if time.monotonic() - blocked_since > STREAM_LAG_MAX_S:
                                break
                            drain(STREAM_POLL_S)
                            continue
                        blocked_since = None
                        drain(STREAM_POLL_S)
                        stall_s = self._stall_limit_s(in_flight.values())
                        if time.monotonic() - last_record > stall_s and not all(f.done() for f in in_flight):
                            logger.warning(
                                "no local worker has finished an item for %.0f s: one is stuck where "
                                "the item timeout cannot interrupt it; killing the workers and "
                                "re-running the items in flight one at a time", stall_s)
                            _kill_workers(pool)
                            last_record = time.monotonic()
                        for fut in [f for f in in_flight if f.done()]:
                            task = in_flight.pop(fut)
                            try:
                                sent = fut.result()
                            except BrokenProcessPool:
                                broken = True
                                suspects.append(task)
                                continue
                            except Exception as exc:  # e.g. a result that cannot be pickled
                                logger.warning("task of %d items failed (%s); re-running them one "
                                               "by one", len(task), _one_line(exc))
                                suspects.append(task)
                                continue
                            if not received.keys() >= set(sent):  # the queue may lag the future
                                lagging.append((task, frozenset(sent)))
                        if broken:
                            suspects.extend(in_flight.values())
                            in_flight.clear()
                            break
                finally:  # on Ctrl-C too: drop queued tasks, let running ones end
                    # keep draining while the pool shuts down: an exiting worker flushes its
                    # records into the queue first and would block on a full pipe otherwise
                    closer = threading.Thread(target=pool.shutdown, kwargs={"wait": True, "cancel_futures": True},
                                              name="closokit-pool-shutdown", daemon=True)
                    closer.start()
                    while closer.is_alive():
                        drain(STREAM_POLL_S)
                    closer.join()
                    drain(0)
                    # every worker has exited, so whatever it streamed has arrived; records of a
                    # worker killed with a broken pool never will: run those items again
                    deadline = time.monotonic() + STREAM_LAG_MAX_S
                    while any(not received.keys() >= ids for _, ids in lagging) \
                            and time.monotonic() < deadline and not broken:
                        drain(STREAM_POLL_S)
                    suspects.extend(t for t, ids in lagging if not received.keys() >= ids)
                if suspects:
                    self.crashes += 1
                    rest = [r for r in (_remainder(t, received, self.warm_start) for t in suspects)
                            if r is not None]
                    logger.warning(
                        "a worker process died; re-running the %d items in flight one at a time",
                        sum(len(t.emitted) for t in rest),
                    )
                    self._isolate(rest, ctx)
        finally:
            results.close()
            results.join_thread()

    def _isolate(self, suspects: Sequence[Task], ctx: Any) -> None:
        """Run the entries of ``suspects`` one at a time in a fresh single-process pool; the
        warm start of each comes back with the one before it (an entry whose analysis kills
        the process is recorded as an error and leaves the warm start unchanged)."""
        pool: ProcessPoolExecutor | None = None
        try:
            for task in suspects:
                previous = task.previous
                for entry in task.entries:
                    if pool is None:
                        pool = ProcessPoolExecutor(
                            1, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
                        )
                    piece = self._piece(entry, task, previous)
                    replayed = entry[0] in task.replay
                    if entry[0] in piece.cold:
                        previous = None
                    fut = pool.submit(_run_task, self.analyse, piece, self.warm_start,
                                      self.float32_arrays, True)
                    limit_s = self._stall_limit_s([piece])
                    try:
                        records, previous = fut.result(timeout=None if math.isinf(limit_s) else limit_s)
                    except FutureTimeout:  # stuck where the item timeout cannot interrupt it
                        _kill_workers(pool)
                        pool.shutdown(wait=True)
                        pool = None
                        if not replayed:
                            self.emit(_failure_record(
                                entry, f"analysis did not finish within {piece.timeout_s:g} s "
                                       f"(+{ITEM_KILL_GRACE_S:g} s grace); its worker process was killed"))
                        continue
                    except BrokenProcessPool as exc:
                        pool.shutdown(wait=True)
                        pool = None
                        if not replayed:
                            self.emit(_crash_record(entry, exc))
                        continue
                    except Exception as exc:  # e.g. the item or its result cannot be pickled
                        if not replayed:
                            self.emit(_failure_record(
                                entry, f"could not run in a worker process ({_one_line(exc)})"))
                        continue
                    for rec in records:
                        self.emit(rec)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    # -- Dask --------------------------------------------------------------------------------
    def run_dask(self, tasks: Sequence[Task], client: Any) -> None:
        from distributed import as_completed

        n_processes = max(1, len(client.nthreads()))  # each runs one task at a time
        limit = IN_FLIGHT_PER_WORKER * n_processes + 2
        pending: deque[Task] = deque(tasks)
        # key → (future, task, (failed task being re-run entry by entry, position) or None)
        in_flight: dict[str, tuple[Any, Task, tuple[Task, int] | None]] = {}
        ac = as_completed()

        def submit(task: Task, serial: tuple[Task, int] | None = None) -> None:
            fut = client.submit(_run_task_dask, self.analyse, task, self.warm_start,
                                self.float32_arrays, serial is not None, pure=False)
            in_flight[fut.key] = (fut, task, serial)
            ac.add(fut)

        def submit_piece(failed: Task, pos: int, previous: ItemResult | None) -> None:
            if pos < len(failed.entries):
                submit(self._piece(failed.entries[pos], failed, previous), (failed, pos))

        try:
            while pending and len(in_flight) < limit:
                submit(pending.popleft())
            for fut in ac:
                _, task, serial = in_flight.pop(fut.key)
                try:
                    out = fut.result()
                except Exception as exc:
                    self.crashes += 1
                    if serial is None and len(task) > 1:
                        logger.warning("Dask task of %d items failed (%s); re-running them one by one",
                                       len(task), _one_line(exc))
                        submit_piece(task, 0, task.previous)
                    else:
                        entry = task.entries[0]
                        if entry[0] not in task.replay:
                            self.emit(_failure_record(
                                entry, f"task failed on the Dask cluster ({_one_line(exc)})"))
                        if serial is not None:  # the warm start is unchanged by a failed item
                            previous = None if entry[0] in task.cold else task.previous
                            submit_piece(serial[0], serial[1] + 1, previous)
                else:
                    records, previous = out if serial is not None else (out, None)
                    for rec in records:
                        self.emit(rec)
                    if serial is not None:
                        submit_piece(serial[0], serial[1] + 1, previous)
                fut.release()
                while pending and len(in_flight) < limit:
                    submit(pending.popleft())
        finally:  # interrupted: do not leave work running on a cluster the user keeps
            if in_flight:
                client.cancel([f for f, _, _ in in_flight.values()])


def _scheduler_host_port(address: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a ``SCHEME://HOST:PORT`` address with a TCP-based scheme; None
    for other schemes (``inproc://``, ``ucx://`` …, left to Dask).

    Raises
    ------
    InputError
        Not ``SCHEME://…``, or a TCP-based address without host or port.
    """
    from urllib.parse import urlsplit

    scheme, sep, _ = address.partition("://")
    if not sep or not scheme:
        raise InputError(
            f"scheduler must be an address like 'tcp://host:8786' or a distributed.Client, "
            f"got {address!r}",
            source="scheduler",
        )
    if scheme not in TCP_SCHEMES:
        return None
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed scheduler address {address!r} ({exc})", source="scheduler") from None
    if not parts.hostname or port is None:
        raise InputError(f"malformed scheduler address {address!r}: expected {scheme}://HOST:PORT",
                         source="scheduler")
    return scheme, parts.hostname, port


def _probe_scheduler(address: str) -> None:
    """Fail fast, with a clear message, when nothing can be reached at ``address``.

    Raises
    ------
    BatchError
        The host cannot be resolved, refuses the connection (nothing listening) or does not
        answer within :data:`SCHEDULER_PROBE_TIMEOUT_S`.
    """
    import socket

    parsed = _scheduler_host_port(address)
    if parsed is None:
        return
    _, host, port = parsed
    try:
        with socket.create_connection((host, port), timeout=SCHEDULER_PROBE_TIMEOUT_S):
            pass
    except socket.gaierror as exc:
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: unknown host "
                         f"{host!r} ({exc.strerror or exc})") from None
    except ConnectionRefusedError:
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: nothing is listening "
                         f"on {host} port {port} (is `dask scheduler` running?)") from None
    except (TimeoutError, OSError) as exc:
        reason = (f"no answer within {SCHEDULER_PROBE_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError)
                  else exc.strerror or str(exc))
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: {reason}") from None


def _connect(scheduler: Any) -> tuple[Any, bool]:
    if isinstance(scheduler, str):
        scheduler = scheduler.strip()
        _probe_scheduler(scheduler)  # before importing distributed (a second or two)
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a declared extra
        raise BatchError(
            "a Dask scheduler was given but dask.distributed is not installed "
            "(pip install 'closokit[dask]')"
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise InputError(
            f"scheduler must be an address like 'tcp://host:8786' or a distributed.Client, "
            f"got {scheduler!r}",
            source="scheduler",
        )
    _handshake(scheduler)
    try:
        return Client(scheduler, timeout=DASK_CONNECT_TIMEOUT_S), True
    except Exception as exc:  # OSError, TimeoutError, ValueError of an address Dask rejects …
        raise BatchError(f"cannot connect to the Dask scheduler at {scheduler} ({_one_line(exc)})") from None


def _handshake(address: str) -> None:
    """Ask ``address`` who it is (Dask's ``identity`` call), within
    :data:`DASK_CONNECT_TIMEOUT_S` whatever answers — ``distributed.Client`` may wait far
    longer on a server that accepts connections and never replies.

    Raises
    ------
    BatchError
        No Dask answer in time, a garbled one, or a Dask process that is not a scheduler.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.core import rpc

    async def identity() -> Any:
        remote = rpc(address)
        try:
            return await remote.identity()
        finally:
            await remote.close_rpc()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), DASK_CONNECT_TIMEOUT_S)

    try:  # in a thread of its own: the caller may be inside an event loop (Jupyter)
        with ThreadPoolExecutor(1, thread_name_prefix="closokit-dask-handshake") as ex:
            info = ex.submit(asyncio.run, bounded()).result()
    except TimeoutError:
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: something listens there "
                         f"but no Dask scheduler answered within {DASK_CONNECT_TIMEOUT_S:g} s") from None
    except Exception as exc:  # garbage on the wire shows up as anything
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: no Dask scheduler "
                         f"answered there ({_one_line(exc)})") from None
    kind = info.get("type") if isinstance(info, dict) else None
    if kind != "Scheduler":
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: a Dask "
                         f"{kind or 'process'} answers there, not the scheduler")


def run_batch(
    items: Sequence[Any],
    analyse: Callable[..., ItemResult],
    out_path: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    chunk_size: int | None = None,
    progress: bool | None = None,
    warm_start: bool = False,
    series_key: Callable[[Any], Hashable] | None = None,
    chain_length: int | None = None,
    item_id: Callable[[Any], str] = default_item_id,
    item_source: Callable[[Any], str] = default_item_source,
    config: dict[str, Any] | None = None,
    consolidate_every_s: float = 10.0,
    float32_arrays: bool = True,
    mp_context: Any = None,
    item_timeout_s: float | None = None,
) -> BatchSummary:
    """Analyse every item and store the results durably in ``out_path``.

    Parameters
    ----------
    items : sequence
        Picklable work items (e.g. ``ScanRef``s: a file name and an HDF5 path, never an open
        handle), in series order.
    analyse : callable
        Picklable top-level function ``analyse(item) -> ItemResult``; with ``warm_start``
        ``analyse(item, previous) -> ItemResult`` (see the module docstring).
    out_path : path
        Results file (``RESULTS.h5``); its journal is ``RESULTS.h5.parts/``.
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``); 1 runs in this process.
        Ignored when ``scheduler`` is given.
    scheduler : str or distributed.Client, optional
        Dask scheduler address (``"tcp://host:port"``) or a connected client.
    resume : bool
        Finish an interrupted batch: items with a stored result (ok or error) are skipped.
    overwrite : bool
        Discard an existing results file and journal.
    chunk_size : int, optional
        Items per task. Default ``ceil(n / (4 × workers))`` clipped to 1–64 (in-process: one
        task with warm start). With warm start tasks hold whole chains (a task may exceed
        ``chunk_size`` by one chain). It never changes the results.
    progress : bool, optional
        Show a tqdm bar (rate, ETA) on stderr; default: only when stderr is a terminal.
    warm_start : bool
        Pass the previous result of a series to ``analyse``.
    series_key : callable, optional
        ``series_key(item)``; with warm start a change of key starts a new series.
    chain_length : int, optional
        With warm start: items per warm-start chain, counted from the start of each series
        (default :func:`default_chain_length`; see the module docstring).
    item_id : callable
        Unique string id per item; default :func:`default_item_id` (``item.id``).
    item_source : callable
        Source description per item; default :func:`default_item_source`.
    config : dict, optional
        JSON-serialisable command/configuration, stored in the file.
    consolidate_every_s : float
        Minimum seconds between publications of ``RESULTS.h5`` while the batch runs (the
        journal holds every finished item meanwhile).
    float32_arrays : bool
        Store floating-point arrays as float32 (default; about 7 significant digits, half
        the file size). Scalars always keep full precision.
    mp_context : multiprocessing context, optional
        Start method for local workers (default: the platform default).
    item_timeout_s : float, optional
        Longest analysis of one item, in seconds (default :data:`DEFAULT_ITEM_TIMEOUT_S`, or
        the environment variable ``CLOSOKIT_ITEM_TIMEOUT_S``; ``math.inf`` switches it off).
        An item that runs longer is recorded as an error (``"analysis did not finish within
        … s"``) and the batch goes on. In this process and in local workers the analysis is
        interrupted by ``SIGALRM`` (POSIX); a local worker stuck in compiled code that does
        not return is killed after ``item_timeout_s`` + :data:`ITEM_KILL_GRACE_S` without any
        item finishing, and the items in flight are re-run one at a time. On a Dask cluster
        tasks run in worker threads: a watchdog timer raises the timeout in that thread
        (CPython), which interrupts Python code; a Dask task stuck in compiled code that never
        returns is not interrupted (its worker stays busy).

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        Duplicate or empty item ids, bad ``workers``/``chunk_size``/``scheduler``.
    BatchError
        Results exist and neither ``resume`` nor ``overwrite`` was given; another batch holds
        the results file; the Dask scheduler cannot be reached.

    Examples
    --------
    Any picklable items and a top-level analysis function (here in this process, so a
    function defined interactively will do); diffraction scans go through
    :func:`xrdkit.analyse_files`, which calls this.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from xrdkit.results import read_summary
    >>> def square(x):
    ...     return ItemResult(scalars={"square": x * x})
    >>> out = Path(tempfile.mkdtemp()) / "squares.h5"
    >>> s = run_batch([1.0, 2.0, 3.0], square, out, workers=1, item_id=str, item_source=str,
    ...               progress=False)
    >>> s
    <BatchSummary squares.h5: 3 ok, 0 errors, 0 already done; ... items/s>
    >>> [row["square"] for row in read_summary(out)]
    [1.0, 4.0, 9.0]
    """
    t0 = time.perf_counter()
    items = list(items)
    out = Path(out_path)
    ids = [item_id(it) for it in items]
    _check_ids(ids)
    sources = [item_source(it) for it in items]
    series = [series_key(it) for it in items] if (warm_start and series_key is not None) else None
    if workers is None:
        workers = os.cpu_count() or 1
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}", source="workers")
    for name, value in (("chunk_size", chunk_size), ("chain_length", chain_length)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InputError(f"{name} must be a positive integer, got {value!r}", source=name)
    if item_timeout_s is None:
        item_timeout_s = limit_from_env(ITEM_TIMEOUT_ENV, DEFAULT_ITEM_TIMEOUT_S)
    if not isinstance(item_timeout_s, (int, float)) or not item_timeout_s > 0:
        raise InputError(f"item_timeout_s must be a positive number of seconds, got {item_timeout_s!r}",
                         source="item_timeout_s")
    if isinstance(mp_context, str):
        mp_context = multiprocessing.get_context(mp_context)
    show = sys.stderr.isatty() if progress is None else bool(progress)

    client, own_client = (None, False)
    if scheduler is None and workers > 1:
        _check_picklable(analyse)
    if scheduler is not None:  # connect first: a bad address must not leave a journal behind
        client, own_client = _connect(scheduler)
    counts = {"ok": 0, "error": 0}
    store_s = 0.0
    try:
        store = ResultsStore(
            out, resume=resume, overwrite=overwrite, config=config,
            consolidate_every_s=consolidate_every_s, float32_arrays=float32_arrays,
        )
        store.open()
    except BaseException:
        if own_client:
            client.close()
        raise
    with store:
        store.n_items_expected = len(items)
        done = store.done_ids
        todo: list[Entry] = [
            (i, ids[i], items[i], sources[i]) for i in range(len(items)) if ids[i] not in done
        ]
        n_skipped = len(items) - len(todo)
        if client is not None:
            backend = "dask"
            threads = client.nthreads()
            n_workers = max(1, len(threads))  # processes: each runs one task at a time
            if not threads:
                logger.warning("the Dask scheduler has no workers yet: the batch waits for some")
            elif max(threads.values()) > 1:
                logger.warning(
                    "Dask workers with several threads run one task at a time each (an item's "
                    "warnings are recorded per process); start them as `dask worker ADDRESS "
                    "--nworkers N --nthreads 1` to use N cores")
        else:
            backend = "in-process" if workers == 1 else "processes"
            n_workers = workers
        if chunk_size is None:
            if backend == "in-process":
                size = max(1, len(todo)) if warm_start else 1
            else:
                size = min(
                    MAX_DEFAULT_CHUNK,
                    max(1, math.ceil(len(todo) / (TASKS_PER_WORKER * n_workers))),
                )
        else:
            size = chunk_size
        entries: list[Entry] = [(i, ids[i], items[i], sources[i]) for i in range(len(items))]
        failed = _stored_errors(out, ids) if (warm_start and n_skipped) else frozenset()
        tasks = _make_tasks(todo, size, warm_start, series, entries=entries,
                            chain_length=chain_length, failed=failed)
        timeout = None if math.isinf(item_timeout_s) else float(item_timeout_s)
        tasks = [dataclasses.replace(t, timeout_s=timeout) for t in tasks]
        n_chains = len(warm_start_chains(len(items), series, chain_length)) if warm_start else 0
        n_replayed = sum(len(t.replay) for t in tasks)
        if n_replayed:
            logger.info("replaying %d items already done to warm-start the items after them",
                        n_replayed)
        logger.info(
            "batch of %d items (%d already done) → %s: %s, %d workers, %d tasks of ≤ %d items",
            len(items), n_skipped, out, backend, n_workers, len(tasks), size,
        )
        bar = tqdm(total=len(todo), disable=not show, unit="item", desc=out.name, file=sys.stderr)

        def emit(rec: ItemRecord | PackedRecord) -> None:
            nonlocal store_s
            t_store = time.perf_counter()
            if store.append(rec):
                counts[rec.status] += 1
            store.maybe_consolidate()
            store_s += time.perf_counter() - t_store
            bar.update(1)

        runner = _Runner(analyse, warm_start, emit, float32_arrays=float32_arrays)
        finished = False
        try:
            if backend == "in-process":
                runner.run_inline(tasks)
            elif backend == "processes":
                _warm_up_before_fork(analyse, todo, mp_context)
                runner.run_pool(tasks, workers, mp_context)
            else:
                runner.run_dask(tasks, client)
            finished = True
        finally:
            bar.close()
            if own_client:
                client.close()
            if finished:
                t_store = time.perf_counter()
                store.finalize()
                store_s += time.perf_counter() - t_store
            else:  # interrupted: make the file reflect progress, keep the journal for resume
                try:
                    store.consolidate()
                except Exception:  # never mask the original error
                    logger.exception("could not consolidate %s after an interruption", out)
    elapsed = time.perf_counter() - t0
    n_run = counts["ok"] + counts["error"]
    return BatchSummary(
        out_path=out,
        n_items=len(items),
        n_skipped=n_skipped,
        n_run=n_run,
        n_ok=counts["ok"],
        n_error=counts["error"],
        n_worker_crashes=runner.crashes,
        elapsed_s=elapsed,
        store_s=store_s,
        items_per_s=n_run / elapsed if elapsed > 0 else float("inf"),
        backend=backend,
        workers=n_workers,
        chunk_size=size,
        n_chains=n_chains,
        n_replayed=n_replayed,
    )


def _warm_up_before_fork(analyse: Callable[..., Any], todo: Sequence[Entry], ctx: Any) -> None:
    """Call ``analyse.warm_up(first item)`` here when local workers will be forked.

    An analysis function may carry a ``warm_up(item)`` attribute that loads what every item
    needs (compiled code, lazily imported modules, per-process memos) without storing
    anything. Forked workers inherit what it loaded instead of each loading it again at the
    same time (on the 2-core CI machine about 0.5 s of CPU per worker). Skipped for other
    start methods (spawn, forkserver), where nothing is inherited; a failing warm-up is only
    logged (the item then fails, or not, in its worker).
    """
    warm_up = getattr(analyse, "warm_up", None)
    method = (ctx if ctx is not None else multiprocessing.get_context()).get_start_method()
    if warm_up is None or not todo or method != "fork":
        return
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the item's own run records its warnings
        try:
            warm_up(todo[0][2])
        except Exception as exc:
            logger.debug("warm-up before forking the workers failed (%s)", _one_line(exc))
    logger.debug("warm-up before forking the workers: %.2f s", time.perf_counter() - t0)


def _stored_errors(out: Path, ids: Sequence[str]) -> frozenset[int]:
    """Indices of the items the published results file holds as errors (a resume does not
    replay them: a failed item leaves the warm start unchanged, and its analysis may kill the
    worker). Items only in the journal are not looked at (replaying one is merely slower)."""
    if not out.exists():
        return frozenset()
    from xrdkit.results import read_summary

    try:
        rows = read_summary(out)
    except Exception:  # an unreadable file is the store's business; replaying is safe
        logger.debug("could not read the statuses of %s", out, exc_info=True)
        return frozenset()
    position = {item_id: i for i, item_id in enumerate(ids)}
    return frozenset(position[r["id"]] for r in rows
                     if r.get("status") == "error" and r.get("id") in position)


def _check_picklable(analyse: Callable[..., Any]) -> None:
    try:
        pickle.dumps(analyse)
    except Exception as exc:
        raise InputError(
            f"the analysis function {getattr(analyse, '__qualname__', analyse)!r} cannot be sent "
            f"to worker processes ({_one_line(exc)}); use a top-level function of an importable "
            "module (not a lambda or a local function), or workers=1",
            source="analyse",
        ) from None


def _check_ids(ids: Sequence[str]) -> None:
    seen: set[str] = set()
    dups: list[str] = []
    for i, s in enumerate(ids):
        if not isinstance(s, str) or not s:
            raise InputError(f"item {i} has an empty or non-string id {s!r}", source="items")
        if s in seen:
            dups.append(s)
        seen.add(s)
    if dups:
        shown = ", ".join(repr(d) for d in dups[:5])
        raise InputError(
            f"item ids must be unique; {len(dups)} repeated (e.g. {shown})", source="items"
        )
