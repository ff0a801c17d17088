"""Throughput of ``xrdkit batch`` on series that look like the work (issue 16, item 4).

Prints, in one run:

1. Two series, each analysed as ``xrdkit batch FILE --phase …`` analyses it:

   - **electrode heating series** (the issue's case): an in-situ heating series of an
     infiltrated NaCrO2 electrode in one NeXus stack — NBH + NaCrO2, 4,000 points per scan
     (5–60° 2θ, Cu Kα1+Kα2, Poisson counts, made with :mod:`xrdkit.synthetic`), 25 → 200 °C
     with the NBH lattice expanding along the series (α = 2.69e-5 K⁻¹, as the bundled
     examples), ``--phase nacro2``;
   - **the demo's heating series**: the bundled ``reference_data/examples/heating_stack.h5``
     (24 scans, NBH crystallising out of an amorphous precursor, Be window lines),
     ``--phase be``.

   For each: the **baseline** — every scan fitted cold by a plain loop over ``analyse_scan`` in
   this process (no engine; reflection lists and compiled code loaded before timing) — then
   ``run_batch`` cold and warm-started, in-process, with 2 local workers and through a Dask
   ``LocalCluster`` (2 worker processes), each with its ratio to the baseline; the scaling
   1 → 2 workers; whether warm and cold runs give the same verdicts. Then the **whole
   command** (``xrdkit batch … --workers N --out R.h5 --table R.csv`` in a fresh process,
   start-up included) with 1 and 2 workers, and an 8-scan batch (start-up dominated).
   Before it, a machine check: two independent processes fitting at once against one alone
   (what two workers can reach on this machine at this moment).
2. Peak memory (ru_maxrss of the batch process and of its largest worker) for a 10,000-scan
   stack file (10,000 × 4,000 int32) against a 1,000-scan one, each in a fresh process. The
   real fit is too slow for that here, so this part uses a *trivial* analysis that reads every
   scan through the real reader (``read_ref``) and returns arrays of the size a fit returns: it
   measures the engine + reader + store, not the fit.

The machine is shared: the load average is printed with every row, and the CPU time of the
workers (``RUSAGE_CHILDREN``) gives a contention-free figure, "scans/s per busy core". BLAS is
pinned to one thread (``OPENBLAS_NUM_THREADS=1`` etc., inherited by the workers). Numba's disk
cache is assumed warm (a first run after installing or editing the compiled code spends
~40 s compiling; run the benchmark twice).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--scans 400] [--quick] [--no-dask] [--big 10000]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported; inherited by every worker

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from xrdkit.analysis import AnalysisConfig, ScanTask, analyse_scan, make_tasks  # noqa: E402
from xrdkit.batch import BatchSummary, run_batch  # noqa: E402
from xrdkit.hdf5 import list_scans, read_ref  # noqa: E402
from xrdkit.results import ItemResult, read_summary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO_HEATING = REPO / "reference_data" / "examples" / "heating_stack.h5"
#: Phases of the electrode heating series, in the generator's order.
PHASES = ("nbh-fcc", "nacro2")
#: Weight fractions of PHASES (an infiltrated electrode: 20 wt % electrolyte).
WEIGHT_FRACTIONS = (0.20, 0.80)
#: Debye–Waller B of PHASES, Å² (the borate's light, mobile anions; the oxide).
B_ISO_ANGSTROM2 = (3.0, 0.5)
GRID_DEG = 5.0 + 0.01375 * np.arange(4000)  # as the bundled examples
#: Heating ramp of the electrode series, °C.
T_START_C, T_END_C = 25.0, 200.0
#: Linear thermal expansion of the NBH model, K⁻¹ (reference_data/examples/make_examples.py).
ALPHA_NBH_PER_K = 2.69e-5
#: Counts on the strongest line of every scan.
COUNTS_ON_STRONGEST = 1e4
SEED = 20261205
#: Issue 16 targets: whole command, 400-scan series, 2 local workers; scaling 1 → 2 workers;
#: 8-scan batch on a warm cache; memory over 10,000 scans.
TARGET_COMMAND_PER_S = 60.0
TARGET_SCALING = 1.7
TARGET_EIGHT_SCANS_S = 3.0
TARGET_MEMORY_MB = 1024.0
#: Scans the plain-loop baseline fits (all of them when the series is shorter).
BASELINE_MAX_SCANS = 100
#: The memory part's trivial analysis configuration.
CONFIG = AnalysisConfig(electrode_phases=("nacro2",))
#: Scans in the start-up-dominated batch.
SMALL_BATCH = 8
#: Scans each process fits in the machine check (two independent processes at once).
MACHINE_CHECK_SCANS = 60


@dataclass(frozen=True)
class Series:
    """A series file and how ``xrdkit batch`` is told about it."""

    label: str
    path: Path
    phase_args: tuple[str, ...]

    @property
    def config(self) -> AnalysisConfig:
        phases = tuple(self.phase_args[1::2])
        return AnalysisConfig(electrode_phases=phases)


# ------------------------------------------------------------------------------ input files


def write_electrode_heating(path: Path, n: int) -> Path:
    """A NeXus file with one n × 4000 NXdata stack: NBH + NaCrO2 heated from T_START_C to
    T_END_C, the NBH cell expanding isotropically (NaCrO2 held)."""
    from xrdkit.phases import PhaseLibrary
    from xrdkit.synthetic import CU_KA1_ANGSTROM, Background, PeakProfile, synthetic_pattern

    lib = PhaseLibrary()
    nbh, oxide = (lib.get(p).structure for p in PHASES)
    rng = np.random.default_rng(SEED)
    temps_c = np.linspace(T_START_C, T_END_C, n)
    counts = np.empty((n, GRID_DEG.size), dtype=np.int32)
    for i, t in enumerate(temps_c):
        hot = nbh.copy()
        hot.scale_lattice(hot.volume * (1.0 + ALPHA_NBH_PER_K * (t - T_START_C)) ** 3)
        p = synthetic_pattern(
            [hot, oxide], WEIGHT_FRACTIONS, GRID_DEG, names=PHASES,
            profile=PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004, eta=0.5),
            b_iso_angstrom2=B_ISO_ANGSTROM2,
            background=Background(exp_amplitude=900.0, exp_decay_deg=6.0, poly=(60.0, 25.0, -15.0)),
            counts_on_strongest=COUNTS_ON_STRONGEST, rng=rng,
        )
        counts[i] = p.counts
    with h5py.File(path, "w") as f:
        f.attrs.update({"NX_class": "NXroot", "default": "entry"})
        e = f.create_group("entry")
        e.attrs.update({"NX_class": "NXentry", "default": "data"})
        d = e.create_group("data")
        d.attrs.update({"NX_class": "NXdata", "signal": "counts", "axes": [".", "two_theta"]})
        d.create_dataset("counts", data=counts, chunks=(1, GRID_DEG.size), compression="gzip")
        d.create_dataset("two_theta", data=GRID_DEG).attrs["units"] = "deg"
        temp = e.create_group("sample").create_dataset("temperature", data=temps_c)
        temp.attrs["units"] = "degC"
        wl = e.create_group("instrument/beam").create_dataset("incident_wavelength",
                                                                data=CU_KA1_ANGSTROM)
        wl.attrs["units"] = "angstrom"
    return path


def write_first_scans(src: Path, dst: Path, n: int) -> Path:
    """The first ``n`` scans of a NeXus stack written by :func:`write_electrode_heating`."""
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for name in ("entry",):
            fin.copy(name, fout)
        for k, v in fin.attrs.items():
            fout.attrs[k] = v
        del fout["entry/data/counts"], fout["entry/sample/temperature"]
        fout["entry/data"].create_dataset("counts", data=fin["entry/data/counts"][:n])
        fout["entry/sample"].create_dataset("temperature", data=fin["entry/sample/temperature"][:n])
        fout["entry/sample/temperature"].attrs["units"] = "degC"
    return dst


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


def _series_key(task: ScanTask) -> str:
    return task.ref.file


def _cpu_children_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu_self_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _verdicts(out: Path) -> list[str]:
    return [r.get("verdict") or r["status"] for r in read_summary(out)]


class Table:
    """Rows of scans/s with their ratio to the baseline."""

    HEAD = (f"{'run':52s} {'scans':>5s} {'wall s':>7s} {'scans/s':>8s} {'× base':>7s} "
            f"{'/core':>7s} {'load':>5s}")

    def __init__(self) -> None:
        self.base_per_s = float("nan")
        self.per_s: dict[str, float] = {}
        print(self.HEAD)

    def row(self, key: str, label: str, n: int, wall_s: float, cpu_s: float | None,
            workers: int, note: str = "") -> float:
        per_s = n / wall_s
        self.per_s[key] = per_s
        # scans per second per busy core: what each worker does when it has a core of its own
        per_core = f"{n / cpu_s:7.1f}" if cpu_s else f"{'':7s}"
        print(f"{label:52s} {n:5d} {wall_s:7.2f} {per_s:8.1f} {per_s / self.base_per_s:6.2f}× "
              f"{per_core} {os.getloadavg()[0]:5.1f} {note}")
        return per_s


def _run(table: Table, key: str, label: str, tasks: list[ScanTask], out: Path, *,
         workers: int = 1, warm: bool, scheduler: object = None) -> list[str]:
    cpu0, cpu_self0 = _cpu_children_s(), _cpu_self_s()
    s: BatchSummary = run_batch(tasks, analyse_scan, out, workers=workers, scheduler=scheduler,
                                warm_start=warm, series_key=_series_key if warm else None,
                                progress=False, overwrite=True)
    assert s.n_ok == s.n_run == len(tasks), f"{label}: {s.n_error} scans failed"
    cpu = None
    if scheduler is None:  # workers' CPU (reaped pool processes) or this process's
        cpu = (_cpu_children_s() - cpu0) / workers if workers > 1 else _cpu_self_s() - cpu_self0
    table.row(key, label, s.n_run, s.elapsed_s, cpu, s.workers)
    return _verdicts(out)


def _xrdkit_command() -> list[str]:
    script = Path(sys.executable).with_name("xrdkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "xrdkit.cli"]


def _whole_command(table: Table, key: str, label: str, series: Series, src: Path, n: int,
                   workers: int, tmp: Path) -> float:
    out, csv_out = tmp / f"cmd-{key}.h5", tmp / f"cmd-{key}.csv"
    cmd = [*_xrdkit_command(), "batch", src.name, *series.phase_args, "--workers", str(workers),
           "--out", str(out), "--table", str(csv_out), "--overwrite"]
    cpu0 = _cpu_children_s()
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=src.parent, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr[-2000:]
    with open(csv_out, newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == n
    table.row(key, label, n, wall, (_cpu_children_s() - cpu0) / workers, workers)
    return wall


def start_up_bound(fixed_s: float, work_s: float, machine: float) -> float:
    """The most a whole command can gain from 1 to 2 workers (Amdahl's law).

    ``fixed_s`` is paid once whatever the number of workers (interpreter, imports, compiled
    code, the first scan's loading, the store, the exit); ``work_s`` is the rest of the
    1-worker command, which at best runs ``machine`` times faster on two cores.

    >>> round(start_up_bound(0.0, 6.0, 2.0), 2)
    2.0
    >>> round(start_up_bound(1.5, 5.0, 1.9), 2)   # 6.5 s ÷ (1.5 + 2.63 s)
    1.57
    """
    return (fixed_s + work_s) / (fixed_s + work_s / machine)


def measure_series(series: Series, tmp: Path, dask: bool, small: Path | None,
                   machine: float | None = None) -> None:
    refs = list_scans(series.path)
    tasks = make_tasks(refs, series.config)
    n = len(tasks)
    print(f"\n== {series.label}: {n} scans × {GRID_DEG.size} points, "
          f"`xrdkit batch {series.path.name} {' '.join(series.phase_args)}`")
    t0 = time.perf_counter()
    analyse_scan(tasks[0])  # reflection lists, compiled code, lazy imports: outside the timing
    print(f"first scan in this process (reflection lists, compiled code from the disk cache): "
          f"{time.perf_counter() - t0:.2f} s")
    table = Table()
    k = min(n, BASELINE_MAX_SCANS)
    cpu0 = _cpu_self_s()
    t0 = time.perf_counter()
    base_verdicts = [analyse_scan(t).scalars["verdict"] for t in tasks[:k]]
    wall = time.perf_counter() - t0
    table.base_per_s = k / wall
    table.row("base", "baseline: plain loop, every scan cold", k, wall, _cpu_self_s() - cpu0, 1)
    runs: dict[str, list[str]] = {}
    for warm in (False, True):
        kind = "warm" if warm else "cold"
        for workers in (1, 2):
            label = f"run_batch {kind}, " + ("in-process" if workers == 1 else "2 local workers")
            runs[f"{kind}{workers}"] = _run(table, f"{kind}{workers}", label, tasks,
                                            tmp / f"{kind}{workers}.h5", workers=workers, warm=warm)
        if dask:
            import distributed

            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=":0") as cluster, \
                    distributed.Client(cluster) as client:
                client.run(analyse_scan, tasks[0])  # worker start-up outside the timing
                runs[f"{kind}dask"] = _run(table, f"{kind}dask", f"run_batch {kind}, Dask LocalCluster (2)",
                                           tasks, tmp / f"{kind}-dask.h5", warm=warm, scheduler=client)
    src = tmp / series.path.name
    if not src.exists():
        src.symlink_to(series.path)
    command_s = {workers: _whole_command(table, f"cmd{workers}",
                                         f"whole `xrdkit batch`, {workers} worker(s), start-up incl.",
                                         series, src, n, workers, tmp)
                 for workers in (1, 2)}
    small_s: dict[int, float] = {}
    if small is not None:
        for workers in (1, 2):
            small_s[workers] = _whole_command(table, f"small{workers}",
                                              f"whole `xrdkit batch`, {SMALL_BATCH} scans, {workers} worker(s)",
                                              series, small, SMALL_BATCH, workers, tmp)
            print(f"{'':52s} {SMALL_BATCH}-scan batch: {small_s[workers]:.2f} s wall "
                  f"(target ≤ {TARGET_EIGHT_SCANS_S:g} s)")
    p = table.per_s
    if small_s and machine:
        # fixed cost of a command: the small 1-worker command less its scans' work at the
        # in-process warm rate; the rest of the 1-worker command is the work two cores share
        fixed_s = small_s[1] - SMALL_BATCH / p["warm1"]
        work_s = command_s[1] - fixed_s
        print(f"start-up bound: a command pays ≈ {fixed_s:.2f} s once ({SMALL_BATCH}-scan command "
              f"less its scans' work), the {n}-scan command {work_s:.2f} s of work on top; with "
              f"two processes scaling {machine:.2f}× here, 1 → 2 workers can reach at most "
              f"{start_up_bound(fixed_s, work_s, machine):.2f}× for the whole command")
    print(f"scaling 1 → 2 local workers (target ≥ {TARGET_SCALING}): warm "
          f"{p['warm2'] / p['warm1']:.2f}×, cold {p['cold2'] / p['cold1']:.2f}×, whole command "
          f"{p['cmd2'] / p['cmd1']:.2f}×")
    if n >= 400:
        print(f"whole command, 2 workers: {p['cmd2']:.1f} scans/s (target ≥ {TARGET_COMMAND_PER_S:g})")
    same = sum(a == b for a, b in zip(runs["warm1"], runs["cold1"], strict=True))
    backends = all(v == runs["warm1"] for k_, v in runs.items() if k_.startswith("warm"))
    base_same = sum(a == b for a, b in zip(base_verdicts, runs["cold1"][:k], strict=True))
    print(f"verdicts: warm = cold on {same}/{n} scans; every warm backend = in-process: {backends}; "
          f"baseline loop = run_batch cold on {base_same}/{k}; "
          f"counts (warm): {dict(sorted(_count(runs['warm1']).items()))}")


def _count(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _loop_child(src: str, n: int) -> None:
    """In a fresh process: fit the first ``n`` scans of ``src`` cold in a plain loop (after one
    untimed scan) and print the seconds it took."""
    tasks = make_tasks(list_scans(src)[:n + 1], CONFIG)
    analyse_scan(tasks[0])
    t0 = time.perf_counter()
    for t in tasks[1:]:
        analyse_scan(t)
    print(json.dumps({"loop_s": time.perf_counter() - t0}))


def machine_scaling(src: Path, n: int) -> float:
    """What this machine gives two processes: the plain loop alone, then two copies at once;
    returns (2 loops' rate) / (1 loop's rate). Bounds what 2 workers can reach right now."""
    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, __file__, "--loop-child", str(src), str(n)],
                                stdout=subprocess.PIPE, text=True)

    def seconds(proc: subprocess.Popen) -> float:
        out, _ = proc.communicate()
        assert proc.returncode == 0
        return json.loads(out.strip().splitlines()[-1])["loop_s"]

    alone = seconds(start())
    pair = [start(), start()]
    both = max(seconds(q) for q in pair)
    ratio = 2 * alone / both
    print(f"machine check: {n} cold fits in a plain loop, one process {alone:.2f} s, two at once "
          f"{both:.2f} s → two processes scale {ratio:.2f}× here and now (load "
          f"{os.getloadavg()[0]:.1f})")
    return ratio


def throughput(tmp: Path, n_scans: int, dask: bool) -> None:
    t0 = time.perf_counter()
    src = write_electrode_heating(tmp / "electrode_heating.nxs", n_scans)
    small = write_first_scans(src, tmp / "electrode_heating_8.nxs", SMALL_BATCH)
    print(f"electrode heating series written in {time.perf_counter() - t0:.1f} s")
    machine = machine_scaling(src, min(n_scans - 1, MACHINE_CHECK_SCANS))
    measure_series(Series("electrode heating series (NBH + NaCrO2, NBH expanding)", src,
                          ("--phase", "nacro2")), tmp, dask, small, machine)
    demo = tmp / "demo"
    demo.mkdir()
    measure_series(Series("the demo's heating series (bundled heating_stack.h5)", DEMO_HEATING,
                          ("--phase", "be")), demo, dask, None)
    print("\n× base = scans/s ÷ the baseline's; /core = scans per CPU-second of one worker (the "
          "rate each worker reaches with a core of its own; whole command: workers' and parent's "
          "CPU ÷ workers); load = 1-min load average after the row (on this 2-core shared "
          "machine a load above 2 slows the 2-worker rows)")


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
    scalars.update({f"wt_{p}": 1 / len(PHASES) for p in PHASES})
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
    p = synthetic_pattern([lib.get(q).structure for q in PHASES], WEIGHT_FRACTIONS, GRID_DEG,
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
    ap.add_argument("--scans", type=int, default=400, help="scans in the electrode heating series")
    ap.add_argument("--quick", action="store_true", help="120 scans, no Dask, no memory part")
    ap.add_argument("--big", type=int, default=10_000, help="scans in the memory run (0: skip)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    ap.add_argument("--memory-child", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--loop-child", nargs=2, metavar=("SRC", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(*args.memory_child)
        return 0
    if args.loop_child:
        _loop_child(args.loop_child[0], int(args.loop_child[1]))
        return 0
    if args.quick:
        args.scans, args.no_dask, args.big = min(args.scans, 120), True, 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    dask = not args.no_dask
    if dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("dask.distributed not installed: Dask rows skipped")
            dask = False
    with tempfile.TemporaryDirectory() as d:
        throughput(Path(d), args.scans, dask)
        if args.big:
            memory(Path(d), args.big)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
