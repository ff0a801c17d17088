"""Overhead of the batch engine itself, and memory/store cost of a 10,000-item batch.

Prints, in one run:

1. Engine overhead per item with a no-op analysis: in-process, 1 and 2 local worker
   processes, and a real Dask ``LocalCluster`` (2 worker processes) — against a plain Python
   loop calling the same function in this process (the baseline).
2. A 10,000-item batch whose items each return two 4,000-point float64 arrays (like a fit's
   calculated pattern and residual), run in a fresh process: peak RSS of the parent (and of
   the largest worker) compared with a 1,000-item run (flat memory means the two agree), the
   file size, and the share of wall time the parent spent writing results.

Usage::

    .venv/bin/python benchmarks/bench_batch_engine.py [--items 2000] [--big 10000]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import _batch_helpers as h  # noqa: E402

from xrdkit.batch import _make_tasks, _Runner, run_batch  # noqa: E402


def _overhead(n_items: int, tmp: Path) -> None:
    items = [f"i{i}" for i in range(n_items)]
    t0 = time.perf_counter()
    for it in items:
        h.noop(it)
    base_us = (time.perf_counter() - t0) / n_items * 1e6
    print(f"baseline: plain loop calling the no-op analysis: {base_us:8.2f} µs/item")
    rows = []
    for label, kw in (("in-process (workers=1)", {"workers": 1}),
                      ("2 local processes", {"workers": 2})):
        out = tmp / f"w{kw['workers']}.h5"
        s = run_batch(items, h.noop, out, item_id=str, progress=False, **kw)
        rows.append((label, s.elapsed_s, s.n_run, s.chunk_size, s.store_s))
    for n_proc in (1, 2):  # the pool path alone (no results store), 1 and 2 processes
        chunk = min(64, max(1, math.ceil(n_items / (4 * n_proc))))
        tasks = _make_tasks([(i, it, it, "") for i, it in enumerate(items)], chunk, False, None)
        got: list[object] = []
        t0 = time.perf_counter()
        _Runner(h.noop, False, got.append).run_pool(tasks, n_proc, None)
        dt = time.perf_counter() - t0
        assert len(got) == n_items
        rows.append((f"{n_proc} local process(es), no store", dt, n_items, chunk, 0.0))
    try:
        import distributed
    except ImportError:
        print("dask.distributed not installed: Dask row skipped")
    else:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client:
                out = tmp / "dask.h5"
                s = run_batch(items, h.noop, out, scheduler=client, item_id=str, progress=False)
                rows.append(("Dask LocalCluster, 2 workers", s.elapsed_s, s.n_run, s.chunk_size,
                             s.store_s))
    print(f"{'engine':32s} {'µs/item':>9s} {'× baseline':>11s} {'items/s':>9s} "
          f"{'chunk':>6s} {'store %':>8s}")
    for label, elapsed, n, chunk, store_s in rows:
        us = elapsed / n * 1e6
        print(f"{label:32s} {us:9.1f} {us / base_us:11.0f} {n / elapsed:9.0f} "
              f"{chunk:6d} {100 * store_s / elapsed:7.1f}%")
    print("(includes pool/cluster start-up, journal writes and the final HDF5 consolidation)")


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {tests!r})
import _batch_helpers as h
from xrdkit.batch import run_batch
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = run_batch([f"s{{i}}" for i in range({n})], h.small_arrays, {out!r}, workers=2,
              item_id=str, progress=False)
print(json.dumps(dict(
    rss_after_imports_mb=rss0 / 1024,
    rss_parent_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    rss_worker_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    elapsed_s=s.elapsed_s, store_s=s.store_s, items_per_s=s.items_per_s, n_ok=s.n_ok)))
"""


def _memory(n_big: int, tmp: Path) -> None:
    print(f"\n{'items (2 × 4000 f8 arrays each)':32s} {'parent MB':>10s} {'worker MB':>10s} "
          f"{'file MB':>8s} {'items/s':>8s} {'store %':>8s}")
    for n in (n_big // 10, n_big):
        out = tmp / f"mem{n}.h5"
        code = CHILD.format(tests=str(REPO / "tests"), n=n, out=str(out))
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        d = json.loads(res.stdout.strip().splitlines()[-1])
        assert d["n_ok"] == n
        print(f"{n:<32d} {d['rss_parent_mb']:10.0f} {d['rss_worker_mb']:10.0f} "
              f"{out.stat().st_size / 2**20:8.0f} {d['items_per_s']:8.0f} "
              f"{100 * d['store_s'] / d['elapsed_s']:7.1f}%")
        print(f"{'':32s} (parent after imports: {d['rss_after_imports_mb']:.0f} MB)")


def _realistic(n_items: int, tmp: Path) -> None:
    """A stand-in fit of 10 ms CPU returning two 4,000-point arrays: engine + store cost."""
    items = [f"s{i}" for i in range(n_items)]
    print(f"\n10 ms-CPU analysis with two 4000-point arrays, {n_items} items "
          "(ideal = workers / 10 ms):")
    print(f"{'engine':32s} {'items/s':>9s} {'ideal':>7s} {'efficiency':>11s} {'store %':>8s}")
    for workers in (1, 2):
        s = run_batch(items, h.busy_fit, tmp / f"busy{workers}.h5", workers=workers,
                      item_id=str, progress=False)
        ideal = workers / 0.010
        print(f"{s.backend + f' ({workers})':32s} {s.items_per_s:9.0f} {ideal:7.0f} "
              f"{s.items_per_s / ideal:10.0%} {100 * s.store_s / s.elapsed_s:7.1f}%")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2000, help="items for the overhead runs")
    ap.add_argument("--big", type=int, default=10_000, help="items for the memory run")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, peak RSS so far "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    with tempfile.TemporaryDirectory() as d:
        _overhead(args.items, Path(d))
        _realistic(args.items, Path(d))
        _memory(args.big, Path(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
