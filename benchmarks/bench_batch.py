"""Throughput of the real batch analysis (issue 5): 3-phase fits of 4,000-point scans.

Prints, in one run:

1. Scans per second of ``run_batch`` + ``analyse_scan`` (what ``xrdkit batch FILE
   --borate nbh-fcc --phase nacro2 --phase al`` runs) on a synthetic NaCrO2 + Al + NBH
   series of 4,000-point scans (5–60° 2θ, Cu Kα1+Kα2, made with :mod:`xrdkit.synthetic`):
   a warm-started series and independent cold fits, with 1 and 2 local workers and through a
   real Dask ``LocalCluster`` (2 worker processes), next to the issue's targets; the scaling
   1 → 2 workers.
2. Where the time goes: the share of worker time inside the refinement of the chosen model
   (the per-scan ``fit_time_s`` scalar), inside the per-scan analysis as a whole (the engine's
   per-item ``elapsed_s``: reading, identification of all candidate models, flattening) and
   the parent's writing time (``BatchSummary.store_s``).
3. Peak memory (ru_maxrss of the batch process and of its largest worker) for a 10,000-scan
   stack file (10,000 × 4,000 int32) against a 1,000-scan one, each in a fresh process. The
   real fit is far too slow for 10,000 scans here, so this run uses a *trivial* analysis that
   reads every scan through the real reader (``read_ref``) and returns arrays of the size a fit
   returns (observed, calculated, background, residual, 3 components): it measures the
   engine + reader + store, not the fit.

BLAS is pinned to one thread (``OPENBLAS_NUM_THREADS=1`` etc., inherited by the workers).
Reflection lists are built once per process before timing (as a long batch amortises them).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--series 16] [--cold 8] [--big 10000] [--no-dask]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported; inherited by every worker

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from xrdkit.analysis import AnalysisConfig, ScanTask, analyse_scan, make_tasks  # noqa: E402
from xrdkit.batch import BatchSummary, run_batch  # noqa: E402
from xrdkit.hdf5 import list_scans, read_ref  # noqa: E402
from xrdkit.results import ItemResult, read_summary  # noqa: E402

PHASES = ("nacro2", "al", "nbh-fcc")
GRID_DEG = 5.0 + 0.01375 * np.arange(4000)  # as the bundled examples
CONFIG = AnalysisConfig(candidates=("nbh-fcc",), electrode_phases=("nacro2", "al"))
#: Targets of issue 5 (2 workers).
TARGET_SERIES_PER_S = 100.0
TARGET_COLD_PER_S = 40.0
TARGET_SCALING = 1.7
TARGET_MEMORY_MB = 1024.0
SEED = 20261125


# ------------------------------------------------------------------------------ input files


def write_series(path: Path, n: int) -> Path:
    """A NeXus file of ``n`` NaCrO2 + Al + NBH scans whose composition drifts slowly."""
    from xrdkit.phases import PhaseLibrary
    from xrdkit.synthetic import CU_KA1_ANGSTROM, Background, PeakProfile, synthetic_pattern

    lib = PhaseLibrary()
    structures = [lib.get(p).structure for p in PHASES]
    rng = np.random.default_rng(SEED)
    with h5py.File(path, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["default"] = "scan_00001"
        for i in range(n):
            nbh = 0.10 + 0.04 * i / max(1, n - 1)
            p = synthetic_pattern(
                structures, (0.80 - nbh, 0.20, nbh), GRID_DEG, names=PHASES,
                profile=PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004, eta=0.5),
                background=Background(exp_amplitude=900.0, exp_decay_deg=6.0,
                                      poly=(60.0, 25.0, -15.0)),
                counts_on_strongest=1e4, rng=rng,
            )
            e = f.create_group(f"scan_{i + 1:05d}")
            e.attrs.update({"NX_class": "NXentry", "default": "data"})
            d = e.create_group("data")
            d.attrs.update({"NX_class": "NXdata", "signal": "counts", "axes": "two_theta"})
            d.create_dataset("counts", data=p.counts.astype(np.int32))
            d.create_dataset("two_theta", data=GRID_DEG).attrs["units"] = "deg"
            wl = e.create_group("instrument/beam").create_dataset("incident_wavelength",
                                                                    data=CU_KA1_ANGSTROM)
            wl.attrs["units"] = "angstrom"
    return path


def write_stack(path: Path, n: int, template: np.ndarray) -> Path:
    """``n`` Poisson draws of ``template`` as one n × 4000 int32 stack (written in blocks)."""
    rng = np.random.default_rng(SEED)
    with h5py.File(path, "w") as f:
        g = f.create_group("scans")
        ds = g.create_dataset("intensity", shape=(n, template.size), dtype=np.int32,
                              chunks=(1, template.size))
        for start in range(0, n, 1000):
            stop = min(n, start + 1000)
            ds[start:stop] = rng.poisson(template, size=(stop - start, template.size))
        g.create_dataset("two_theta", data=GRID_DEG).attrs["units"] = "deg"
        g.create_dataset("temperature", data=np.linspace(25.0, 200.0, n)).attrs["units"] = "degC"
        g.create_dataset("wavelength", data=1.5405929).attrs["units"] = "angstrom"
    return path


# ------------------------------------------------------------------------------ runs


def _warm_up(task: ScanTask) -> None:
    """Build this process's reflection lists (forked workers inherit them)."""
    analyse_scan(task)


def _shares(out: Path, s: BatchSummary) -> tuple[float, float, float]:
    """(fit share, analysis share) of worker time, and the parent's store share of wall time."""
    rows = read_summary(out)
    fit = sum(r["fit_time_s"] or 0.0 for r in rows if r["status"] == "ok")
    analysis = sum(r["elapsed_s"] or 0.0 for r in rows)
    capacity = s.workers * s.elapsed_s
    return fit / capacity, analysis / capacity, s.store_s / s.elapsed_s


def _row(label: str, s: BatchSummary, out: Path, target: float | None) -> dict:
    fit, analysis, store = _shares(out, s)
    assert s.n_ok == s.n_run, f"{label}: {s.n_error} scans failed"
    print(f"{label:34s} {s.n_run:5d} {s.chunk_size:6d} {s.elapsed_s:8.1f} {s.items_per_s:8.2f} "
          f"{'' if target is None else f'{target:.0f}':>7s} {100 * fit:6.0f}% {100 * analysis:6.0f}% "
          f"{100 * (1 - fit):7.0f}% {100 * store:6.1f}% {os.getloadavg()[0]:5.1f}")
    return {"label": label, "per_s": s.items_per_s}


def throughput(tmp: Path, n_series: int, n_cold: int, dask: bool) -> None:
    t0 = time.perf_counter()
    src = write_series(tmp / "series.h5", max(n_series, n_cold))
    refs = list_scans(src)
    print(f"series file: {len(refs)} scans × {GRID_DEG.size} points, phases {', '.join(PHASES)} "
          f"(written in {time.perf_counter() - t0:.1f} s)")
    series = make_tasks(refs[:n_series], CONFIG)
    cold = make_tasks(refs[:n_cold], CONFIG)
    t0 = time.perf_counter()
    _warm_up(series[0])
    one_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    analyse_scan(series[0])
    print(f"one cold analyse_scan in this process: {time.perf_counter() - t0:.2f} s "
          f"(first call incl. reflection lists: {one_cold:.2f} s)\n")
    print(f"{'run':34s} {'scans':>5s} {'chunk':>6s} {'wall s':>8s} {'scans/s':>8s} "
          f"{'target':>7s} {'fit':>7s} {'analys':>7s} {'outside':>8s} {'store':>7s} {'load':>5s}")
    print(f"{'':34s} {'':5s} {'':6s} {'':8s} {'':8s} {'':7s} {'(share of worker time)':>24s} "
          f"{'(wall)':>7s}")
    res: dict[tuple[str, str], float] = {}
    for kind, tasks, warm in (("series", series, True), ("cold", cold, False)):
        for workers in (1, 2):
            out = tmp / f"{kind}{workers}.h5"
            # Series: one contiguous sub-series per worker (as in long batches, where the
            # default 64-scan chunks make cold starts rare); cold: the default chunking.
            chunk = math.ceil(len(tasks) / workers) if warm else None
            s = run_batch(tasks, analyse_scan, out, workers=workers, warm_start=warm,
                          series_key=(lambda t: t.ref.file) if warm else None,
                          chunk_size=chunk if workers > 1 else None, progress=False)
            target = (TARGET_SERIES_PER_S if warm else TARGET_COLD_PER_S) if workers == 2 else None
            res[(kind, str(workers))] = _row(f"{kind}, {workers} local worker(s)", s, out,
                                             target)["per_s"]
        if warm:  # what `xrdkit batch` does with 2 workers: default chunks (more cold starts)
            out = tmp / "series2-default.h5"
            s = run_batch(tasks, analyse_scan, out, workers=2, warm_start=True,
                          series_key=lambda t: t.ref.file, progress=False)
            _row("series, 2 workers, default chunks", s, out, TARGET_SERIES_PER_S)
        if dask:
            res[(kind, "dask")] = _dask_row(kind, tasks, warm, tmp)
    print("\nscaling 1 → 2 local workers (target ≥ "
          f"{TARGET_SCALING}): series {res[('series', '2')] / res[('series', '1')]:.2f}×, "
          f"cold {res[('cold', '2')] / res[('cold', '1')]:.2f}×")
    print("fit = Σ fit_time_s (refinement of the chosen model) / (workers × wall); analys = Σ "
          "per-item elapsed_s (read + identify + flatten) / (workers × wall); outside = 1 − fit; "
          "store = parent's journal + HDF5 writes / wall; load = 1-min load average after the "
          "run (on a shared machine a load above the core count makes the scaling meaningless)")


def _dask_row(kind: str, tasks: list[ScanTask], warm: bool, tmp: Path) -> float:
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        client.run(_warm_up, tasks[0])  # reflection lists in each worker, outside the timing
        out = tmp / f"{kind}-dask.h5"
        chunk = math.ceil(len(tasks) / 2) if warm else None
        s = run_batch(tasks, analyse_scan, out, scheduler=client, warm_start=warm,
                      series_key=(lambda t: t.ref.file) if warm else None, chunk_size=chunk,
                      progress=False)
        return _row(f"{kind}, Dask LocalCluster (2)", s, out, None)["per_s"]


# ------------------------------------------------------------------------------ memory


def read_only_analysis(task: ScanTask) -> ItemResult:
    """Stand-in for the fit: read the scan for real, return fit-sized arrays and scalars."""
    scan = read_ref(task.ref)
    y = scan.counts
    zeros = np.zeros_like(y)
    arrays = {"two_theta_deg": scan.two_theta_deg, "observed": y, "calculated": y,
              "background": zeros, "residual": zeros}
    arrays.update({f"component_{p}": zeros for p in PHASES})
    scalars = {"verdict": "fcc", "fcc_weight_fraction": 1.0, "fcc_weight_fraction_sigma": 0.0,
               "rwp": 0.1, "gof": 1.0, "fit_time_s": 0.0}
    scalars.update({f"wt_{p}": 1 / 3 for p in PHASES})
    return ItemResult(scalars=scalars, arrays=arrays)


def _memory_child(src: str, out: str) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    refs = list_scans(src)
    list_s = time.perf_counter() - t0
    s = run_batch(make_tasks(refs, CONFIG), read_only_analysis, out, workers=2, progress=False)
    print(json.dumps({
        "rss_after_imports_mb": rss0 / 1024,
        "rss_parent_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "list_s": list_s, "elapsed_s": s.elapsed_s, "store_s": s.store_s,
        "per_s": s.items_per_s, "n_ok": s.n_ok,
    }))


def memory(tmp: Path, n_big: int) -> None:
    from xrdkit.phases import PhaseLibrary
    from xrdkit.synthetic import Background, PeakProfile, synthetic_pattern

    lib = PhaseLibrary()
    p = synthetic_pattern([lib.get(q).structure for q in PHASES], (0.68, 0.20, 0.12), GRID_DEG,
                          names=PHASES, profile=PeakProfile(), background=Background(),
                          counts_on_strongest=1e4)
    print(f"\npeak memory, trivial analysis (real reader + engine + store; NOT the fit), "
          f"2 workers; target: flat, < {TARGET_MEMORY_MB:.0f} MB")
    print(f"{'scans in the stack file':24s} {'file MB':>8s} {'parent MB':>10s} {'worker MB':>10s} "
          f"{'results MB':>11s} {'list s':>7s} {'scans/s':>8s} {'store':>7s}")
    for n in (max(1, n_big // 10), n_big):
        src = write_stack(tmp / f"stack{n}.h5", n, p.noiseless)
        out = tmp / f"mem{n}.h5"
        res = subprocess.run([sys.executable, __file__, "--memory-child", str(src), str(out)],
                             capture_output=True, text=True, check=True)
        d = json.loads(res.stdout.strip().splitlines()[-1])
        assert d["n_ok"] == n, d
        print(f"{n:<24d} {src.stat().st_size / 2**20:8.0f} {d['rss_parent_mb']:10.0f} "
              f"{d['rss_worker_mb']:10.0f} {out.stat().st_size / 2**20:11.0f} {d['list_s']:7.1f} "
              f"{d['per_s']:8.0f} {100 * d['store_s'] / d['elapsed_s']:6.1f}%")
        print(f"{'':24s} (parent after imports: {d['rss_after_imports_mb']:.0f} MB)")
        src.unlink()
        out.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=16, help="scans in the warm-started series")
    ap.add_argument("--cold", type=int, default=8, help="scans fitted cold")
    ap.add_argument("--big", type=int, default=10_000, help="scans in the memory run")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    ap.add_argument("--memory-child", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(*args.memory_child)
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as d:
        throughput(Path(d), args.series, args.cold, not args.no_dask)
        memory(Path(d), args.big)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
