"""Picklable analysis functions and a kill-test driver for the batch-engine tests.

Run as a script, it is the batch process the kill/resume test SIGKILLs::

    python tests/_batch_helpers.py OUT.h5 N_ITEMS [--resume] [--workers W] [--runlog FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # script use without install

from xrdkit.batch import ItemResult, run_batch  # noqa: E402
from xrdkit.errors import FitWarning  # noqa: E402

#: How long a "hanging" item runs (bounded, so that a broken timeout fails its test instead
#: of hanging the suite).
HANG_S = 20.0

#: Environment variable naming a file each analysis start is appended to (kill test).
RUNLOG_ENV = "CLOSOKIT_TEST_RUNLOG"


@dataclass(frozen=True)
class Item:
    """A tiny work item: an id, a value and how long its analysis should take."""

    id: str
    value: float
    delay_s: float = 0.0
    fail: str = ""  # "raise", "exit" (kill the worker), "warn", "hang", "hang_blocked" or ""
    file: str = "synthetic.h5"
    path: str = "/entry"


def make_items(n: int, *, delay_s: float = 0.0, seed: int = 0) -> list[Item]:
    """``n`` items with seeded values; ids are deliberately awkward HDF5 names."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    return [
        Item(id=f"scan/{i:04d}%" if i % 7 == 3 else f"scan_{i:04d}", value=float(v), delay_s=delay_s,
             path=f"/entry{i}")
        for i, v in enumerate(values)
    ]


def _log_start(item: Item) -> None:
    log = os.environ.get(RUNLOG_ENV)
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{os.getppid()} {item.id}\n".encode())
        finally:
            os.close(fd)


def square(item: Item) -> ItemResult:
    """value², a small array, and the failure modes the tests ask for."""
    _log_start(item)
    if item.delay_s:
        time.sleep(item.delay_s)
    if item.fail == "raise":
        raise ValueError(f"corrupt item {item.id}\nsecond line")
    if item.fail == "exit":
        os._exit(3)
    if item.fail == "hang":  # "never" returns, and swallows every Exception on the way
        t_end = time.monotonic() + HANG_S
        while time.monotonic() < t_end:
            try:
                time.sleep(0.05)
            except Exception:
                pass
    if item.fail == "hang_blocked":  # like compiled code that does not return: no signal gets in
        import signal

        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(HANG_S)
    if item.fail == "warn":
        import warnings

        warnings.warn("fit did not converge", FitWarning, stacklevel=2)
    x = np.arange(5, dtype=float) * item.value
    return ItemResult(
        scalars={"value": item.value, "square": item.value**2, "n": 5, "positive": item.value > 0,
                 "label": "pos" if item.value > 0 else "neg"},
        arrays={"x": x, "counts": np.arange(3, dtype=np.int32)},
    )


def chain(item: Item, previous: ItemResult | None) -> ItemResult:
    """Warm-start probe: records which item came before it and a running sum (``fail`` as in
    :func:`square`: "raise" is an item error, "exit" kills the worker)."""
    _log_start(item)
    if item.fail == "raise":
        raise ValueError(f"corrupt item {item.id}")
    if item.fail == "exit":
        os._exit(3)
    prev_id = "" if previous is None else previous.state["id"]
    total = item.value + (0.0 if previous is None else previous.state["total"])
    return ItemResult(
        scalars={"prev": prev_id, "total": total},
        state={"id": item.id, "total": total},
    )


def deprecated_once(item: Item) -> ItemResult:
    """Warns about the item (UserWarning) and, like a library on its first call in a process,
    a DeprecationWarning."""
    import warnings

    warnings.warn(f"odd item {item.id}", UserWarning, stacklevel=2)
    warnings.warn("old API", DeprecationWarning, stacklevel=2)
    return ItemResult(scalars={"value": item.value})


def interrupt_at_five(item: Item) -> ItemResult:
    """Like :func:`square` but raises KeyboardInterrupt (a Ctrl-C) at the item with path /entry5."""
    if item.path == "/entry5":
        raise KeyboardInterrupt
    return square(item)


def noop(item: object) -> ItemResult:
    """Does nothing: measures the engine's own overhead."""
    return ItemResult()


def small_arrays(item: object) -> ItemResult:
    """Two 4,000-point arrays (a calculated pattern and a residual), as a fit would store."""
    return ItemResult(scalars={"rwp": 0.1}, arrays={"calc": np.zeros(4000), "resid": np.zeros(4000)})


def busy_fit(item: object) -> ItemResult:
    """Stands in for a fit: ~10 ms of CPU, then a 4,000-point pattern and residual."""
    t_end = time.perf_counter() + 0.010
    while time.perf_counter() < t_end:
        pass
    return ItemResult(scalars={"rwp": 0.1, "gof": 1.2, "verdict": "fcc"},
                      arrays={"calc": np.zeros(4000), "resid": np.zeros(4000)})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--delay", type=float, default=0.02)
    ap.add_argument("--consolidate", type=float, default=0.1)
    args = ap.parse_args(argv)
    summary = run_batch(
        make_items(args.n, delay_s=args.delay), square, args.out, workers=args.workers,
        resume=args.resume, chunk_size=2, progress=False, consolidate_every_s=args.consolidate,
        config={"test": "kill-resume"},
    )
    print(summary.n_run, summary.n_skipped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
