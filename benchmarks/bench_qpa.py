"""Independent synthetic QPA benchmark: are the reported weight-fraction uncertainties honest?

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_qpa.py             # 60 mixtures
    .venv/bin/python benchmarks/bench_qpa.py --quick --json /tmp/qpa.json          # 12 mixtures

Acceptance (closokit issue 14): on independent synthetic mixtures (a generator that is NOT the
fitting model, with texture, microabsorption-size contrast and model mismatch) the truth lies
within ±2σ for ≥ 90 % of phases over ≥ 50 fits. This script prints the coverage; it asserts
nothing and exits 0 unless it crashes.

Patterns: :func:`xrdkit.synthetic.synthetic_pattern` (pymatgen line lists, own |F|² with Henke
f′/f″ and per-site B, own March–Dollase sums, own Brindley τ for spheres integrated at each
line's Bragg angle, own split pseudo-Voigt; nothing from xrdkit's fitting modules). Phases: the
CPD round-robin oxides ``/work/shared/realdata/cpd_qpa/{Al2O3,ZnO,CaF2}.cif`` when present
(else the bundled ``beta-sn`` and ``be``) plus the bundled ``nacro2``, ``al``, ``nbh-fcc``: linear
attenuation from ≈ 10 cm⁻¹ (NBH) to ≈ 560 cm⁻¹ (NaCrO2). 2–4 phases per mixture, 5–80 wt %
each, 10³–10⁵ counts on the strongest point, 10–100° 2θ in 0.02° steps, Cu Kα1+2.

Case families (round robin over the case index), anomalous dispersion always on (it is physics):

* ``plain``: one B per phase (0.3–1.0 Å²), Caglioti pseudo-Voigt, curved background;
* ``texture``: plus March–Dollase r = 0.6–1.0 on one phase along its platelet/needle axis;
* ``microabsorption``: plus particle diameters 2–20 µm on every phase (Brindley τ);
* ``mismatch``: per-element B (heavy atoms 0.2–0.6, light 0.8–1.6 Å²), a monochromator
  polarisation (2θ_M = 26.6°) the fitter does not assume, axial-divergence-like split
  pseudo-Voigt, a Lorentzian crystallite-size width on one phase, 2–3 unindexed impurity lines
  of 0.5–2 % of the strongest line, and a background with a stronger curvature and a hump.

Fit (what a careful user does): :func:`xrdkit.refine.refine` (or, with ``--fitter quantify``,
``xrdkit.qpa.quantify`` where it exists: σ with the spread of alternative models) with the ``miniflex600-cuka`` preset,
the phases from the library / the CIFs (``PhaseLibrary.add_cif`` as ``xrdkit fit --cif`` does),
``refine_b_iso=True``; March–Dollase on the textured phase's true axis; Brindley with the true
particle sizes, the phases' densities and mass attenuation coefficients (Henke, as the generator)
in the microabsorption cases.

Per phase it records the error, σ (``weight_fraction_sigma``, and
``weight_fraction_sigma_statistical`` when the fitter has it), |error|/σ; per family and overall
the fraction within 1σ, 2σ, 3σ, the largest |error| and the RMS error (wt %).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from xrdkit.instrument import load_instrument  # noqa: E402
from xrdkit.phases import PhaseLibrary  # noqa: E402
from xrdkit.refine import RefineOptions, refine  # noqa: E402
from xrdkit.simulate import resolve_phases  # noqa: E402
from xrdkit.synthetic import (  # noqa: E402
    Background,
    LabEffects,
    PeakProfile,
    PhaseEffects,
    density_g_cm3,
    mass_attenuation_cm2_g,
    synthetic_pattern,
)

CPD_DIR = Path("/work/shared/realdata/cpd_qpa")
CPD_CIFS = ("Al2O3", "ZnO", "CaF2")
FALLBACK = ("beta-sn", "be")
BUNDLED = ("nacro2", "al", "nbh-fcc")
#: Preferred-orientation axis per phase (platelet normal / needle axis); 3-index, the CIF's cell.
PO_AXIS = {"al2o3": (0, 0, 1), "zno": (0, 0, 1), "caf2": (1, 1, 1), "nacro2": (0, 0, 1),
           "al": (1, 1, 1), "nbh-fcc": (1, 1, 1), "beta-sn": (0, 0, 1), "be": (0, 0, 1)}
#: Elements counted as "heavy" for the mismatch B (Z > 10).
HEAVY_Z = 10
INSTRUMENT = "miniflex600-cuka"
GRID_DEG = np.arange(10.0, 100.0 + 1e-9, 0.02)
PROFILE = PeakProfile(u_deg2=0.010, v_deg2=-0.005, w_deg2=0.006, eta=0.5)
FAMILIES = ("plain", "texture", "microabsorption", "mismatch")
WT_MIN, WT_MAX = 0.05, 0.80
N_FULL, N_QUICK = 60, 12

log = logging.getLogger("bench_qpa")

# ------------------------------------------------------------------ phases (per process)
_STATE: dict = {}


def _library() -> tuple[PhaseLibrary, tuple[str, ...]]:
    """The phase library with the CPD CIFs added (per process)."""
    if "lib" not in _STATE:
        lib = PhaseLibrary()
        names = []
        if all((CPD_DIR / f"{n}.cif").is_file() for n in CPD_CIFS):
            for n in CPD_CIFS:
                names.append(lib.add_cif(str(CPD_DIR / f"{n}.cif"), name=n.lower(), persist=False).name)
        else:
            names += list(FALLBACK)
        _STATE["lib"] = lib
        _STATE["pool"] = tuple(names) + BUNDLED
    return _STATE["lib"], _STATE["pool"]


def _reflections(name: str):
    """The fitter's reflection list of a phase (computed once per process)."""
    cache = _STATE.setdefault("refl", {})
    if name not in cache:
        lib, _ = _library()
        inst = load_instrument(INSTRUMENT)
        cache[name] = resolve_phases([name], inst, float(GRID_DEG[-1]) + 1.0, library=lib)[0]
    return cache[name]


# ------------------------------------------------------------------ cases


def _weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """Weight fractions, each in [5, 80] wt %, summing to 1 (Dirichlet(1), rejection)."""
    while True:
        w = rng.dirichlet(np.ones(n))
        if w.min() >= WT_MIN and w.max() <= WT_MAX:
            return w


def make_case(index: int, seed: int) -> dict:
    """The recipe of one mixture (plain data, picklable, JSON-able)."""
    _, pool = _library()
    rng = np.random.default_rng([seed, index])
    family = FAMILIES[index % len(FAMILIES)]
    n = int(rng.integers(2, 5))
    names = [str(v) for v in rng.choice(pool, size=n, replace=False)]
    w = _weights(rng, n)
    case = {
        "index": index, "family": family, "seed": [seed, index], "phases": names,
        "weight_fractions": [float(v) for v in w],
        "counts_on_strongest": float(10 ** rng.uniform(3.0, 5.0)),
        "b_iso_angstrom2": [float(rng.uniform(0.3, 1.0)) for _ in names],
        "zero_shift_deg": float(rng.uniform(-0.03, 0.03)),
        "background": {"exp_amplitude": float(rng.uniform(100, 600)), "exp_decay_deg": 10.0,
                       "poly": [float(rng.uniform(20, 80)), float(rng.uniform(-20, 20)),
                                float(rng.uniform(-15, 15))], "humps": []},
        "texture": None, "particle_diameter_um": None, "mismatch": None,
    }
    if family == "texture":
        p = int(rng.integers(n))
        case["texture"] = {"phase": names[p], "axis": list(PO_AXIS[names[p]]),
                           "ratio": float(rng.uniform(0.6, 1.0))}
    elif family == "microabsorption":
        case["particle_diameter_um"] = [float(rng.uniform(2.0, 20.0)) for _ in names]
    elif family == "mismatch":
        case["mismatch"] = {
            "b_heavy": [float(rng.uniform(0.2, 0.6)) for _ in names],
            "b_light": [float(rng.uniform(0.8, 1.6)) for _ in names],
            "monochromator_two_theta_deg": 26.6,
            "axial_asymmetry": float(rng.uniform(0.02, 0.06)),
            "size_phase": names[int(rng.integers(n))],
            "crystallite_size_nm": float(rng.uniform(60.0, 200.0)),
            "impurity_lines": [[float(rng.uniform(15.0, 95.0)), float(rng.uniform(0.005, 0.02))]
                               for _ in range(int(rng.integers(2, 4)))],
        }
        case["background"]["poly"] += [float(rng.uniform(-40, 40))]
        case["background"]["poly"][0] += 60.0  # keeps the curvier background > 0 everywhere
        case["background"]["humps"] = [[float(rng.uniform(20, 35)), float(rng.uniform(6, 12)),
                                        float(rng.uniform(20, 80))]]
    return case


def build_pattern(case: dict, anomalous: bool = True):
    """The synthetic pattern of a case recipe."""
    lib, _ = _library()
    names = case["phases"]
    structures = [lib.get(n).structure for n in names]
    mm = case["mismatch"]
    effects = []
    for i, (name, s) in enumerate(zip(names, structures, strict=True)):
        kw: dict = {}
        tex = case["texture"]
        if tex and tex["phase"] == name:
            kw["march_dollase_axis"] = tuple(tex["axis"])
            kw["march_dollase_ratio"] = tex["ratio"]
        if case["particle_diameter_um"]:
            kw["particle_diameter_um"] = case["particle_diameter_um"][i]
        if mm:
            kw["b_site_angstrom2"] = {el.symbol: (mm["b_heavy"][i] if el.Z > HEAVY_Z else mm["b_light"][i])
                                      for el in s.composition.elements}
            if mm["size_phase"] == name:
                kw["crystallite_size_nm"] = mm["crystallite_size_nm"]
        effects.append(PhaseEffects(**kw))
    lab = LabEffects(anomalous_dispersion=anomalous)
    if mm:
        lab = LabEffects(anomalous_dispersion=anomalous,
                         monochromator_two_theta_deg=mm["monochromator_two_theta_deg"],
                         axial_asymmetry=mm["axial_asymmetry"],
                         impurity_lines=tuple(tuple(v) for v in mm["impurity_lines"]))
    bg = case["background"]
    background = Background(exp_amplitude=bg["exp_amplitude"], exp_decay_deg=bg["exp_decay_deg"],
                            poly=tuple(bg["poly"]), humps=tuple(tuple(h) for h in bg["humps"]))
    return synthetic_pattern(
        structures, case["weight_fractions"], GRID_DEG, names=names, profile=PROFILE,
        b_iso_angstrom2=case["b_iso_angstrom2"], background=background,
        counts_on_strongest=case["counts_on_strongest"], zero_shift_deg=case["zero_shift_deg"],
        rng=np.random.default_rng(case["seed"] + [1]), effects=effects, lab=lab,
    )


def _fitter(name: str):
    """``refine`` or, when the installed xrdkit has it, ``xrdkit.qpa.quantify`` (which adds the
    spread of alternative models to σ); None if asked for and missing."""
    if name == "refine":
        return refine
    try:
        import importlib

        return getattr(importlib.import_module("xrdkit.qpa"), "quantify", None)
    except ImportError:
        return None


def fit_case(case: dict, anomalous: bool = True, fitter: str = "refine") -> dict:
    """Generate and fit one case; the record (errors are caught and recorded)."""
    t0 = time.perf_counter()
    out = {"case": case}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pattern = build_pattern(case, anomalous)
            names = case["phases"]
            refls = [_reflections(n) for n in names]
            kw: dict = {}
            po = {}
            if case["texture"]:
                po = {case["texture"]["phase"]: tuple(case["texture"]["axis"])}
            sizes = {}
            if case["particle_diameter_um"]:
                lib, _ = _library()
                sizes = dict(zip(names, case["particle_diameter_um"], strict=True))
                wl = load_instrument(INSTRUMENT).wavelengths_angstrom[0]
                kw["densities_g_cm3"] = {n: density_g_cm3(lib.get(n).structure) for n in names}
                kw["mass_attenuation_cm2_g"] = {n: mass_attenuation_cm2_g(lib.get(n).structure, wl)
                                                for n in names}
            opts = RefineOptions(refine_b_iso=True, preferred_orientation=po, particle_size_um=sizes)
            fit = _fitter(fitter)
            if fit is None:
                raise RuntimeError(f"fitter {fitter!r} is not available in this xrdkit")
            if fitter == "quantify":
                kw["refine_b_iso"] = True
            res = fit(pattern.to_scan(f"qpa-{case['index']}"), refls, instrument=INSTRUMENT,
                      options=opts, **kw)
        truth = pattern.weight_fractions
        rows = []
        for ph in res.phases:
            sig = ph.weight_fraction_sigma
            sig_stat = getattr(ph, "weight_fraction_sigma_statistical", None)
            sig_model = getattr(ph, "weight_fraction_sigma_model", None)
            err = ph.weight_fraction - truth[ph.name]
            rows.append({
                "phase": ph.name, "truth": truth[ph.name], "fitted": ph.weight_fraction,
                "error": err, "sigma": sig, "sigma_statistical": sig_stat, "sigma_model": sig_model,
                "pull": err / sig if sig else math.inf,
                "pull_statistical": (err / sig_stat if sig_stat else None),
                "b_iso_angstrom2": ph.b_iso_angstrom2, "march_dollase": ph.march_dollase,
                "tau_true": next(t.brindley_tau for t in pattern.phases if t.name == ph.name),
            })
        out.update(ok=True, rows=rows, rwp=res.rwp, gof=res.gof, converged=res.converged,
                   nfev=res.nfev, warnings=list(res.warnings))
    except Exception as exc:  # noqa: BLE001 - recorded, the benchmark goes on
        out.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    out["elapsed_s"] = time.perf_counter() - t0
    return out


def _fit_star(args: tuple[dict, bool, str]) -> dict:
    return fit_case(*args)


# ------------------------------------------------------------------ summary


def summarise(records: list[dict]) -> dict:
    """Coverage and error statistics per family and overall."""
    out = {}
    for fam in (*FAMILIES, "all"):
        recs = [r for r in records if r.get("ok") and (fam == "all" or r["case"]["family"] == fam)]
        rows = [row for r in recs for row in r["rows"]]
        if not rows:
            out[fam] = {"fits": len(recs), "phases": 0}
            continue
        pull = np.abs(np.array([row["pull"] for row in rows], dtype=float))
        err = np.array([row["error"] for row in rows], dtype=float)
        stat = [row["pull_statistical"] for row in rows]
        entry = {
            "fits": len(recs), "phases": len(rows),
            "within_1sigma": float(np.mean(pull <= 1.0)), "within_2sigma": float(np.mean(pull <= 2.0)),
            "within_3sigma": float(np.mean(pull <= 3.0)),
            "max_abs_error_wt": float(100 * np.abs(err).max()),
            "rms_error_wt": float(100 * math.sqrt(np.mean(err**2))),
            "median_sigma_wt": float(100 * np.median([row["sigma"] or 0.0 for row in rows])),
            "median_abs_pull": float(np.median(pull)),
        }
        if all(s is not None for s in stat):
            ps = np.abs(np.array(stat, dtype=float))
            entry.update(stat_within_1sigma=float(np.mean(ps <= 1.0)),
                         stat_within_2sigma=float(np.mean(ps <= 2.0)),
                         stat_within_3sigma=float(np.mean(ps <= 3.0)))
        out[fam] = entry
    return out


def print_report(records: list[dict], summary: dict, verbose: bool) -> None:
    if verbose:
        print(f"{'case':>4s} {'family':15s} {'phase':8s} {'truth':>6s} {'fitted':>6s} {'σ':>5s} "
              f"{'σ_stat':>6s} {'err':>6s} {'err/σ':>6s}  Rwp   (wt %)")
        for r in records:
            c = r["case"]
            if not r.get("ok"):
                print(f"{c['index']:4d} {c['family']:15s} FAILED: {r['error']}")
                continue
            for row in r["rows"]:
                ss = row["sigma_statistical"]
                print(f"{c['index']:4d} {c['family']:15s} {row['phase']:8s} {100 * row['truth']:6.2f} "
                      f"{100 * row['fitted']:6.2f} {100 * (row['sigma'] or 0):5.2f} "
                      f"{'—' if ss is None else f'{100 * ss:.2f}':>6s} {100 * row['error']:+6.2f} "
                      f"{row['pull']:+6.2f}  {100 * r['rwp']:.2f}")
    print()
    has_stat = "stat_within_2sigma" in summary.get("all", {})
    head = (f"{'family':15s} {'fits':>4s} {'phases':>6s} {'≤1σ':>5s} {'≤2σ':>5s} {'≤3σ':>5s} "
            f"{'max|err|':>8s} {'RMS err':>7s} {'med σ':>6s} {'med|e/σ|':>8s}")
    if has_stat:
        head += f"  {'≤1σst':>5s} {'≤2σst':>5s} {'≤3σst':>5s}"
    print(head + "   (errors and σ in wt %)")
    for fam, s in summary.items():
        if not s.get("phases"):
            print(f"{fam:15s} {s['fits']:4d} {0:6d}")
            continue
        line = (f"{fam:15s} {s['fits']:4d} {s['phases']:6d} {s['within_1sigma']:5.2f} "
                f"{s['within_2sigma']:5.2f} {s['within_3sigma']:5.2f} {s['max_abs_error_wt']:8.2f} "
                f"{s['rms_error_wt']:7.2f} {s['median_sigma_wt']:6.2f} {s['median_abs_pull']:8.2f}")
        if has_stat:
            line += (f"  {s['stat_within_1sigma']:5.2f} {s['stat_within_2sigma']:5.2f} "
                     f"{s['stat_within_3sigma']:5.2f}")
        print(line)
    a = summary.get("all", {})
    failed = sum(1 for r in records if not r.get("ok"))
    if a.get("phases"):
        verdict = "met" if a["fits"] >= 50 and a["within_2sigma"] >= 0.90 else "NOT met"
        print(f"\nacceptance (truth within ±2σ for ≥ 90 % of phases over ≥ 50 fits): {verdict} "
              f"({100 * a['within_2sigma']:.1f} % of {a['phases']} phases, {a['fits']} fits, "
              f"{failed} failed)")


def _finite(v):
    """JSON-safe copy: NaN/inf → None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"{N_QUICK} cases instead of {N_FULL}")
    ap.add_argument("--cases", type=int, default=None, help="number of cases (overrides --quick)")
    ap.add_argument("--seed", type=int, default=14, help="base seed (default 14)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (1 or 2)")
    ap.add_argument("--json", metavar="OUT", help="write every case, row and summary here")
    ap.add_argument("--no-anomalous", action="store_true",
                    help="generate without f′/f″ (isolates that effect)")
    ap.add_argument("--quiet", action="store_true", help="summary table only")
    ap.add_argument("--fitter", choices=("refine", "quantify"), default="refine",
                    help="xrdkit.refine.refine (default) or xrdkit.qpa.quantify (model-error σ)")
    args = ap.parse_args(argv)
    n = args.cases if args.cases is not None else (N_QUICK if args.quick else N_FULL)
    workers = max(1, min(2, args.workers))
    logging.basicConfig(level=logging.WARNING)
    # "no atomic displacement parameters" per CIF and process: B is refined here anyway
    logging.getLogger("xrdkit.phases").setLevel(logging.ERROR)
    _, pool = _library()
    cases = [make_case(i, args.seed) for i in range(n)]
    print(f"bench_qpa: {n} mixtures of {', '.join(pool)}; {workers} worker(s); "
          f"anomalous dispersion {'off' if args.no_anomalous else 'on'}; fitter {args.fitter}", flush=True)
    t0 = time.perf_counter()
    jobs = [(c, not args.no_anomalous, args.fitter) for c in cases]
    if workers == 1:
        records = [fit_case(*j) for j in jobs]
    else:
        with mp.get_context("fork").Pool(workers) as p:
            records = list(p.imap(_fit_star, jobs, chunksize=1))
    summary = summarise(records)
    print_report(records, summary, verbose=not args.quiet)
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(_finite(
            {"settings": {"cases": n, "seed": args.seed, "instrument": INSTRUMENT,
                          "grid_deg": [float(GRID_DEG[0]), float(GRID_DEG[-1]), 0.02],
                          "anomalous_dispersion": not args.no_anomalous, "phases": list(pool),
                          "fitter": args.fitter},
             "summary": summary, "records": records}),
            indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
