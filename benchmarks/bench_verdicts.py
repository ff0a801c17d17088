"""Verdict confusion-matrix benchmark (closokit issue 15): is the borate there, and is it fcc?

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_verdicts.py            # 74 cases
    .venv/bin/python benchmarks/bench_verdicts.py --quick --json /tmp/verdicts.json  # 25 cases
    .venv/bin/python benchmarks/bench_verdicts.py --quick --cli 6                    # + 6 via the CLI

Cases: ``benchmarks/_verdict_cases.py`` (seeded; its docstring lists the families, ranges and
what the truth is). They come from :mod:`xrdkit.synthetic` (pymatgen line lists, own profiles,
Henke f′/f″, March–Dollase, Debye–Waller B) plus an amorphous Gaussian hump, the d = 5.85 Å
leftover-salt doublet and Poisson noise written in that module: no part of the fitting model.

Each case runs :func:`xrdkit.identify.identify` on its :class:`~xrdkit.scans.Scan` with the
``miniflex600-cuka`` preset and the electrode phases the case names (sometimes none for a
borate-free scan), exactly as a user would (no truth passed in). ``--cli N`` also writes N cases
(spread over the families) as NeXus HDF5 files (``/entry`` NXentry → ``data`` NXdata with
``counts`` and ``two_theta`` in deg, Kα1 in ``instrument/source/wavelength``) and runs the
public contract ``xrdkit identify FILE.h5::/entry [--phase nacro2 --phase al] --json OUT.json``,
reading ``verdict``, ``fcc_weight_fraction`` and ``amorphous_intensity_share`` (``dict.get``:
the last key may not exist yet), and checks the CLI gives the library's verdict.

Printed: the confusion matrix (rows truth, columns verdict), % right overall and per family,
the borate-free cases called fcc/mixed/separate (must be zero), for an fcc truth the purity
errors (max |err|, share within 3 wt % and within 2σ of ``fcc_weight_fraction_sigma``), the
amorphous-share error (max, RMS; when the verdict has ``amorphous_intensity_share``), and the
time per case. Acceptance of issue 15: ≥ 97 % right, zero borate-free false positives, purity
within 3 wt % and 2σ wherever the truth is fcc. Benchmarks do not assert: the exit code is 0
unless the script itself crashes.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _verdict_cases import (  # noqa: E402
    DEFAULT_SEED,
    FAMILIES,
    CaseRecipe,
    VerdictCase,
    build_case,
    recipes,
)

from xrdkit.vocabulary import finite_or_none  # noqa: E402

INSTRUMENT = "miniflex600-cuka"
#: Verdict columns, in this order (anything else a verdict returns is appended).
VERDICTS = ("fcc", "mixed", "separate", "no-borate", "unexplained")
#: Truths that are borate-free, and the verdicts that would claim a borate for them.
BORATE_CLAIMS = ("fcc", "mixed", "separate")
#: Purity tolerance of the acceptance (absolute, fraction).
PURITY_TOL = 0.03
#: Share of right verdicts the acceptance asks for.
RIGHT_MIN = 0.97
#: Seconds a single CLI run may take before it is recorded as timed out.
CLI_TIMEOUT_S = 1200.0

log = logging.getLogger("bench_verdicts")


# ------------------------------------------------------------------ one case, library path


def _verdict_text(value) -> str:
    """The verdict string whether identify returns a str or a StrEnum."""
    return str(getattr(value, "value", value))


def run_case(recipe: CaseRecipe) -> dict:
    """Build one case and run identify on it; the record (exceptions are recorded, not raised)."""
    from xrdkit.identify import identify

    out: dict = {"name": recipe.name, "family": recipe.family, "expected": recipe.expected_verdict,
                 "electrode_phases": list(recipe.electrode_phases)}
    t0 = time.perf_counter()
    try:
        case = build_case(recipe)
        out.update(expected_purity=case.expected_purity,
                   amorphous_truth=case.amorphous_intensity_share,
                   diagnostic_line_share=case.diagnostic_line_share,
                   nbh_111_snr=case.nbh_111_snr, n_points=int(case.counts.size))
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = identify(case.to_scan(), electrode_phases=list(case.electrode_phases),
                         instrument=INSTRUMENT)
        out["identify_s"] = time.perf_counter() - t1
        best = getattr(v, "best", None)
        out.update(
            ok=True,
            verdict=_verdict_text(v.verdict),
            purity=finite_or_none(v.fcc_weight_fraction),
            purity_sigma=finite_or_none(v.fcc_weight_fraction_sigma),
            amorphous=finite_or_none(getattr(v, "amorphous_intensity_share", None)),
            unexplained_share=finite_or_none(getattr(v, "unexplained_intensity_share", None)),
            rwp=finite_or_none(getattr(best, "rwp", None)),
            gof=finite_or_none(getattr(best, "gof", None)),
            phases=[p.name for p in getattr(best, "phases", ())],
            notes=[str(n) for n in getattr(v, "notes", ())],
        )
    except Exception as exc:  # noqa: BLE001 - recorded, the benchmark goes on
        out.update(ok=False, verdict="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc())
    out["elapsed_s"] = time.perf_counter() - t0
    return out


def _quiet_worker() -> None:
    logging.basicConfig(level=logging.WARNING)
    # "no atomic displacement parameters" per CIF and process, non-convergence of losing models
    for name in ("xrdkit.phases", "xrdkit.refine", "xrdkit.identify", "xrdkit.synthetic"):
        logging.getLogger(name).setLevel(logging.ERROR)


# ------------------------------------------------------------------ CLI path


def write_nexus(case: VerdictCase, path: Path) -> str:
    """Write one case as a NeXus NXentry ``/entry`` (the layout ``xrdkit.hdf5`` reads);
    the spec ``FILE.h5::/entry``."""
    import h5py

    from xrdkit.synthetic import CU_KA1_ANGSTROM, CU_KA2_ANGSTROM

    with h5py.File(path, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["default"] = "entry"
        f.attrs["creator"] = "benchmarks/bench_verdicts.py (closokit)"
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.attrs["default"] = "data"
        e.create_dataset("title", data=case.name)
        e.create_dataset("definition", data="NXmonopd")
        d = e.create_group("data")
        d.attrs["NX_class"] = "NXdata"
        d.attrs["signal"] = "counts"
        d.attrs["axes"] = "two_theta"
        c = d.create_dataset("counts", data=case.counts.astype(np.int32))
        c.attrs["units"] = "counts"
        x = d.create_dataset("two_theta", data=case.two_theta_deg)
        x.attrs["units"] = "deg"
        inst = e.create_group("instrument")
        inst.attrs["NX_class"] = "NXinstrument"
        src = inst.create_group("source")
        src.attrs["NX_class"] = "NXsource"
        src.create_dataset("type", data="Fixed Tube X-ray")
        src.create_dataset("target_material", data="Cu")
        wl = src.create_dataset("wavelength", data=CU_KA1_ANGSTROM)
        wl.attrs["units"] = "angstrom"
        wl.attrs["ka2_wavelength_angstrom"] = CU_KA2_ANGSTROM
        wl.attrs["ka2_ratio"] = 0.5
        s = e.create_group("sample")
        s.attrs["NX_class"] = "NXsample"
        s.create_dataset("name", data=case.name)
        e.attrs["truth_expected_verdict"] = case.expected_verdict
        e.attrs["truth_amorphous_intensity_share"] = case.amorphous_intensity_share
        e.attrs["truth_family"] = case.family
    return f"{path}::/entry"


def _xrdkit_executable() -> list[str]:
    exe = Path(sys.executable).parent / "xrdkit"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("xrdkit")
    return [found] if found else [sys.executable, "-m", "xrdkit.cli"]


def run_cli_case(recipe: CaseRecipe, workdir: Path) -> dict:
    """Write the case as HDF5 and run ``xrdkit identify FILE.h5::/entry ... --json OUT``."""
    out: dict = {"name": recipe.name, "family": recipe.family, "expected": recipe.expected_verdict}
    t0 = time.perf_counter()
    try:
        case = build_case(recipe)
        spec = write_nexus(case, workdir / f"{recipe.name}.h5")
        json_out = workdir / f"{recipe.name}.json"
        cmd = [*_xrdkit_executable(), "identify", spec]
        for ph in recipe.electrode_phases:
            cmd += ["--phase", ph]
        cmd += ["--json", str(json_out)]
        out["command"] = " ".join(cmd)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
        out["returncode"] = proc.returncode
        if proc.returncode != 0 or not json_out.is_file():
            out.update(ok=False, verdict="error", error=(proc.stderr or proc.stdout)[-2000:])
        else:
            d = json.loads(json_out.read_text())
            out.update(ok=True, verdict=_verdict_text(d.get("verdict")),
                       purity=finite_or_none(d.get("fcc_weight_fraction")),
                       purity_sigma=finite_or_none(d.get("fcc_weight_fraction_sigma")),
                       amorphous=finite_or_none(d.get("amorphous_intensity_share")),
                       has_amorphous_key="amorphous_intensity_share" in d)
    except subprocess.TimeoutExpired:
        out.update(ok=False, verdict="error", error=f"timed out after {CLI_TIMEOUT_S:g} s")
    except Exception as exc:  # noqa: BLE001
        out.update(ok=False, verdict="error", error=f"{type(exc).__name__}: {exc}")
    out["elapsed_s"] = time.perf_counter() - t0
    return out


def spread_over_families(recs: list[CaseRecipe], n: int) -> list[CaseRecipe]:
    """``n`` recipes taken round-robin over the families (in ``FAMILIES`` order)."""
    by_family = {f: [r for r in recs if r.family == f] for f in FAMILIES}
    picked: list[CaseRecipe] = []
    depth = 0
    while len(picked) < min(n, len(recs)):
        for f in FAMILIES:
            if depth < len(by_family[f]) and len(picked) < n:
                picked.append(by_family[f][depth])
        depth += 1
    return picked


# ------------------------------------------------------------------ summary


def confusion(records: list[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    truths = [t for t in VERDICTS if any(r["expected"] == t for r in records)]
    seen = [r["verdict"] for r in records]
    cols = list(VERDICTS) + sorted({v for v in seen if v not in VERDICTS})
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        key = (r["expected"], r["verdict"])
        counts[key] = counts.get(key, 0) + 1
    return truths, cols, counts


def summarise(records: list[dict]) -> dict:
    """Every number the report prints (JSON-able)."""
    n = len(records)
    right = sum(r["verdict"] == r["expected"] for r in records)
    per_family = {}
    for f in FAMILIES:
        rs = [r for r in records if r["family"] == f]
        if rs:
            per_family[f] = {"cases": len(rs), "right": sum(r["verdict"] == r["expected"] for r in rs),
                             "verdicts": {v: sum(r["verdict"] == v for r in rs)
                                          for v in sorted({r["verdict"] for r in rs})}}
    free = [r for r in records if r["expected"] == "no-borate"]
    false_claims = {v: sum(r["verdict"] == v for r in free) for v in BORATE_CLAIMS}
    fcc = [r for r in records if r["expected"] == "fcc"]
    with_purity = [r for r in fcc if r.get("purity") is not None]
    purity: dict = {"cases": len(fcc), "with_purity": len(with_purity)}
    if with_purity:
        err = np.array([r["purity"] - 1.0 for r in with_purity])
        sig = np.array([r.get("purity_sigma") or 0.0 for r in with_purity])
        purity.update(
            max_abs_error_wt=float(100 * np.abs(err).max()),
            rms_error_wt=float(100 * math.sqrt(np.mean(err**2))),
            within_3wt=int(np.sum(np.abs(err) <= PURITY_TOL + 1e-12)),
            within_2sigma=int(np.sum(np.abs(err) <= 2.0 * sig + 1e-12)),
            sigma_zero=int(np.sum(sig == 0.0)),
            median_sigma_wt=float(100 * np.median(sig)),
        )
    amorph = [r for r in records if r.get("amorphous") is not None and r.get("amorphous_truth") is not None]
    amorphous: dict = {"cases": len(amorph)}
    if amorph:
        err = np.array([r["amorphous"] - r["amorphous_truth"] for r in amorph])
        amorphous.update(max_abs_error=float(np.abs(err).max()),
                         rms_error=float(math.sqrt(np.mean(err**2))),
                         mean_error=float(err.mean()))
    times = np.array([r["identify_s"] for r in records if "identify_s" in r])
    timing = ({"mean_s": float(times.mean()), "median_s": float(np.median(times)),
               "max_s": float(times.max())} if times.size else {})
    return {"cases": n, "right": right, "right_share": right / n if n else float("nan"),
            "errors": sum(not r.get("ok") for r in records), "per_family": per_family,
            "borate_free_cases": len(free), "borate_free_claimed": false_claims,
            "purity_fcc_truth": purity, "amorphous_share": amorphous, "identify_time": timing}


def _fmt(v, spec: str, missing: str = "—") -> str:
    return missing if v is None else format(v, spec)


def print_cases(records: list[dict]) -> None:
    print(f"{'case':24s} {'truth':9s} {'verdict':12s} {'purity ± σ (%)':>16s} "
          f"{'amorph true/got':>15s} {'SNR111':>6s} {'Rwp %':>6s} {'t s':>5s}")
    for r in records:
        mark = " " if r["verdict"] == r["expected"] else "✗"
        pur = ("—" if r.get("purity") is None else
               f"{100 * r['purity']:.1f} ± {_fmt(None if r.get('purity_sigma') is None else 100 * r['purity_sigma'], '.1f')}")
        am = f"{_fmt(r.get('amorphous_truth'), '.3f')}/{_fmt(r.get('amorphous'), '.3f')}"
        rwp = None if r.get("rwp") is None else 100 * r["rwp"]
        print(f"{r['name']:24s} {r['expected']:9s} {r['verdict']:12s}{mark}{pur:>16s} {am:>15s} "
              f"{_fmt(r.get('nbh_111_snr'), '6.0f'):>6s} {_fmt(rwp, '6.2f'):>6s} "
              f"{_fmt(r.get('identify_s'), '5.1f'):>5s}")
        if not r.get("ok"):
            print(f"{'':24s} ERROR {r.get('error')}")


def print_report(records: list[dict], summary: dict) -> None:
    truths, cols, counts = confusion(records)
    width = max(11, *(len(c) + 2 for c in cols))
    print("\nconfusion matrix (rows: truth, columns: verdict)")
    corner = "truth \\ verdict"
    print(f"{corner:16s}" + "".join(f"{c:>{width}s}" for c in cols) + f"{'right':>{width}s}")
    for t in truths:
        row = [counts.get((t, c), 0) for c in cols]
        n_t = sum(row)
        print(f"{t:16s}" + "".join(f"{v:>{width}d}" for v in row)
              + f"{f'{counts.get((t, t), 0)}/{n_t}':>{width}s}")
    s = summary
    print(f"\nright verdicts: {s['right']}/{s['cases']} = {100 * s['right_share']:.1f} % "
          f"({s['errors']} case(s) raised)")
    print("per family: " + "; ".join(
        f"{f} {v['right']}/{v['cases']} ({', '.join(f'{k} {n}' for k, n in v['verdicts'].items())})"
        for f, v in s["per_family"].items()))
    fc = s["borate_free_claimed"]
    print(f"borate-free cases ({s['borate_free_cases']}) called fcc / mixed / separate: "
          f"{fc['fcc']} / {fc['mixed']} / {fc['separate']}  (must be 0)")
    p = s["purity_fcc_truth"]
    if p.get("with_purity"):
        print(f"purity, fcc truth ({p['cases']} cases, {p['with_purity']} with a purity): "
              f"max |err| {p['max_abs_error_wt']:.2f} wt %, RMS {p['rms_error_wt']:.2f} wt %, "
              f"within 3 wt % {p['within_3wt']}/{p['with_purity']}, within 2σ "
              f"{p['within_2sigma']}/{p['with_purity']} (median σ {p['median_sigma_wt']:.2f} wt %, "
              f"σ = 0 in {p['sigma_zero']})")
    else:
        print(f"purity, fcc truth: no purity reported in {p['cases']} cases")
    a = s["amorphous_share"]
    if a["cases"]:
        print(f"amorphous_intensity_share ({a['cases']} cases): max |err| {a['max_abs_error']:.3f}, "
              f"RMS {a['rms_error']:.3f}, mean {a['mean_error']:+.3f}")
    else:
        print("amorphous_intensity_share: not reported by this identify (attribute missing or None)")
    t = s["identify_time"]
    if t:
        print(f"identify time per case: mean {t['mean_s']:.1f} s, median {t['median_s']:.1f} s, "
              f"max {t['max_s']:.1f} s (the first case of each worker pays the one-off JIT and "
              "reflection-list cost)")
    ok = (s["right_share"] >= RIGHT_MIN and not any(fc.values()) and p.get("with_purity") == p["cases"]
          and p.get("within_3wt") == p["cases"] and p.get("within_2sigma") == p["cases"])
    print(f"acceptance (≥ {100 * RIGHT_MIN:.0f} % right, 0 borate-free claimed, purity within "
          f"{100 * PURITY_TOL:.0f} wt % and 2σ for every fcc truth): {'met' if ok else 'NOT met'}")


def print_cli(cli: list[dict], records: list[dict]) -> dict:
    lib = {r["name"]: r for r in records}
    print(f"\nCLI contract (xrdkit identify FILE.h5::/entry [--phase …] --json OUT), {len(cli)} case(s):")
    agree = 0
    for c in cli:
        ref = lib.get(c["name"], {})
        same = c["verdict"] == ref.get("verdict")
        agree += same
        dp = (None if c.get("purity") is None or ref.get("purity") is None
              else abs(c["purity"] - ref["purity"]))
        print(f"  {c['name']:24s} truth {c['expected']:9s} cli {c['verdict']:11s} library "
              f"{ref.get('verdict', '?'):11s} {'same' if same else 'DIFFERENT'}  "
              f"|Δpurity| {_fmt(dp, '.2e')}  amorphous {_fmt(c.get('amorphous'), '.3f')}"
              f"{'' if c.get('has_amorphous_key') else ' (key missing)'}  {c['elapsed_s']:.0f} s")
        if not c.get("ok"):
            print(f"    ERROR {c.get('error', '')[-500:]}")
    print(f"CLI verdict = library verdict: {agree}/{len(cli)}; CLI right: "
          f"{sum(c['verdict'] == c['expected'] for c in cli)}/{len(cli)}")
    return {"cases": len(cli), "same_as_library": agree}


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="about a third of the cases (every family)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"master seed (default {DEFAULT_SEED})")
    ap.add_argument("--family", action="append", choices=FAMILIES, help="only these families (repeat)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (1 or 2)")
    ap.add_argument("--json", metavar="OUT", help="write every case record and the summary here")
    ap.add_argument("--cli", type=int, default=0, metavar="N",
                    help="also run N cases through `xrdkit identify FILE.h5::/entry --json`")
    ap.add_argument("--cli-dir", metavar="DIR", help="keep the CLI's HDF5/JSON files here")
    ap.add_argument("--quiet", action="store_true", help="no per-case table")
    args = ap.parse_args(argv)
    workers = max(1, min(2, args.workers))
    _quiet_worker()
    recs = recipes(args.seed, quick=args.quick)
    if args.family:
        recs = [r for r in recs if r.family in args.family]
    print(f"bench_verdicts: {len(recs)} cases (seed {args.seed}{', quick' if args.quick else ''}), "
          f"{workers} worker(s), instrument {INSTRUMENT}", flush=True)
    t0 = time.perf_counter()
    if workers == 1:
        records = [run_case(r) for r in recs]
    else:
        with mp.get_context("fork").Pool(workers, initializer=_quiet_worker) as pool:
            records = list(pool.imap(run_case, recs, chunksize=1))
    wall = time.perf_counter() - t0
    summary = summarise(records)
    if not args.quiet:
        print_cases(records)
    print_report(records, summary)
    print(f"wall time {wall:.0f} s for {len(records)} cases ({wall / max(len(records), 1):.1f} s per case "
          f"with {workers} worker(s))")
    cli_records: list[dict] = []
    cli_summary = None
    if args.cli > 0:
        picked = spread_over_families(recs, args.cli)
        tmp = None
        if args.cli_dir:
            workdir = Path(args.cli_dir)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="bench_verdicts_")
            workdir = Path(tmp.name)
        t1 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as ex:
            cli_records = list(ex.map(lambda r: run_cli_case(r, workdir), picked))
        cli_summary = print_cli(cli_records, records)
        print(f"CLI wall time {time.perf_counter() - t1:.0f} s")
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(_jsonable({
            "settings": {"seed": args.seed, "quick": args.quick, "instrument": INSTRUMENT,
                         "families": args.family or list(FAMILIES), "workers": workers},
            "summary": summary,
            "recipes": [dataclasses.asdict(r) for r in recs],
            "records": records,
            "cli": {"summary": cli_summary, "records": cli_records},
        }), indent=1))
        print(f"per-case results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
