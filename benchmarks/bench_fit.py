"""Benchmark of the whole-pattern fit: CPU time per 3-phase fit, cold and warm, vs a naive lmfit fit.

    .venv/bin/python benchmarks/bench_fit.py                  # full run (≈ 2–4 min, mostly naive)
    .venv/bin/python benchmarks/bench_fit.py --naive-runs 0   # xrdkit timings only

Scans: a drifting series of seeded synthetic scans from the independent generator
:mod:`xrdkit.synthetic` — NBH fcc 40 wt % + NaCrO2 45 wt % + Al 15 wt %, 4,000 points 5–65° 2θ,
Cu Kα1 + Kα2, 10⁴ counts on the strongest line, curved background, Poisson noise; from one scan to
the next the NBH cell grows by 0.0005 Å, Al by 0.0002 Å (heating) and the NBH share moves by
±0.5 wt %.

Timed (``time.process_time``, BLAS pinned to one thread; medians over the series):
- cold: :func:`xrdkit.refine.refine` from the library cells and the instrument preset;
- warm: the series again, each fit started from the previous scan's warm result
  (``start=previous``), as ``xrdkit batch`` runs a series (the model's memo of its last
  evaluations then holds the starting point);
  both with the default options and with per-phase broadening off (the synthetic profile is the
  same for every phase, so that model is sufficient here).
- naive: what one writes without xrdkit — an lmfit ``minimize`` (least_squares, finite
  differences) over lattice, zero, Caglioti U V W, η, three scales and a Chebyshev background,
  where every evaluation builds new pymatgen Structures from the lattice parameters, calls
  ``XRDCalculator.get_pattern`` for each phase and broadens the lines (Kα1 + Kα2 pseudo-Voigt).
  Its Rwp is printed beside xrdkit's: the ratio is meaningful only at similar Rwp.

Targets (issue 3): ≤ 25 ms cold, ≤ 5 ms warm.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import lmfit  # noqa: E402
import numpy as np  # noqa: E402
from pymatgen.analysis.diffraction.xrd import XRDCalculator  # noqa: E402
from pymatgen.core import Lattice, Structure  # noqa: E402

from xrdkit.instrument import load_instrument  # noqa: E402
from xrdkit.phases import PhaseLibrary  # noqa: E402
from xrdkit.refine import RefineOptions, fit_statistics, refine  # noqa: E402
from xrdkit.simulate import resolve_phases  # noqa: E402
from xrdkit.synthetic import Background, PeakProfile, synthetic_pattern  # noqa: E402

PHASES = ("nbh-fcc", "nacro2", "al")
GRID_DEG = np.linspace(5.0, 65.0, 4000)
PROFILE = PeakProfile(u_deg2=0.010, v_deg2=-0.005, w_deg2=0.006, eta=0.5)
BACKGROUND = Background(exp_amplitude=400.0, exp_decay_deg=8.0, poly=(40.0, 20.0, -10.0))
TARGET_COLD_MS, TARGET_WARM_MS = 25.0, 5.0
KA1, KA2, KA2_RATIO = 1.540593, 1.544414, 0.5


def drifting_series(n: int) -> list:
    lib = PhaseLibrary()
    base = {p: lib.get(p).structure for p in PHASES}
    scans = []
    for k in range(n):
        structs = []
        for p in PHASES:
            s = base[p].copy()
            grow = {"nbh-fcc": 0.0005, "al": 0.0002}.get(p, 0.0) * k
            if grow:
                s.scale_lattice(s.volume * ((s.lattice.a + grow) / s.lattice.a) ** 3)
            structs.append(s)
        w_nbh = 0.40 + 0.005 * (-1) ** k
        wf = [w_nbh, 0.45, 0.55 - w_nbh]
        pat = synthetic_pattern(structs, wf, GRID_DEG, names=list(PHASES), profile=PROFILE,
                                background=BACKGROUND, rng=np.random.default_rng(1000 + k))
        scans.append(pat.to_scan(f"series #{k}"))
    return scans


def time_xrdkit(scans, refls, inst, opts: RefineOptions) -> dict:
    """Cold fits of every scan, then the series again warm-started scan after scan (as a batch runs it)."""
    cold_ms, warm_ms, cold_rwp, warm_rwp, cold_nfev, warm_nfev = [], [], [], [], [], []
    colds = []
    for scan in scans:
        c0 = time.process_time()
        cold = refine(scan, refls, instrument=inst, options=opts)
        cold_ms.append((time.process_time() - c0) * 1e3)
        cold_rwp.append(cold.rwp)
        cold_nfev.append(cold.nfev)
        colds.append(cold)
    prev = colds[0]
    max_dev = 0.0
    for scan, cold in zip(scans[1:], colds[1:], strict=True):
        c0 = time.process_time()
        warm = refine(scan, refls, instrument=inst, options=opts, start=prev)
        warm_ms.append((time.process_time() - c0) * 1e3)
        warm_rwp.append(warm.rwp)
        warm_nfev.append(warm.nfev)
        max_dev = max(max_dev, max(abs(a.weight_fraction - b.weight_fraction)
                                   for a, b in zip(cold.phases, warm.phases, strict=True)))
        prev = warm
    return {
        "cold_ms": statistics.median(cold_ms), "warm_ms": statistics.median(warm_ms),
        "cold_rwp": statistics.median(cold_rwp), "warm_rwp": statistics.median(warm_rwp),
        "cold_nfev": statistics.median(cold_nfev), "warm_nfev": statistics.median(warm_nfev),
        "max_wf_dev": max_dev,
    }


# ---------------------------------------------------------------- naive reference
def _pv(dx: np.ndarray, fwhm: np.ndarray, eta: float) -> np.ndarray:
    g = (2.0 / fwhm) * np.sqrt(np.log(2) / np.pi) * np.exp(-4 * np.log(2) * (dx / fwhm) ** 2)
    lor = (2.0 / (np.pi * fwhm)) / (1.0 + 4 * (dx / fwhm) ** 2)
    return eta * lor + (1 - eta) * g


def naive_fit(scan, structures: dict[str, Structure], inst, n_bg: int = 6, max_nfev: int = 2000):
    """lmfit + pymatgen in the loop (no precomputed reflections, finite-difference Jacobian)."""
    x, y, sig = scan.two_theta_deg, scan.counts, scan.sigma
    calc = XRDCalculator(wavelength=KA1)
    t_cheb = 2 * (x - x[0]) / (x[-1] - x[0]) - 1
    bg_basis = np.polynomial.chebyshev.chebvander(t_cheb, n_bg - 1)
    p = lmfit.Parameters()
    p.add("nbh_a", structures["nbh-fcc"].lattice.a, min=9.8, max=10.3)
    p.add("nacro2_a", structures["nacro2"].lattice.a, min=2.9, max=3.05)
    p.add("nacro2_c", structures["nacro2"].lattice.c, min=15.6, max=16.3)
    p.add("al_a", structures["al"].lattice.a, min=3.95, max=4.15)
    p.add("zero", 0.0, min=-0.5, max=0.5)
    p.add("u", inst.u_deg2, min=0, max=0.1)
    p.add("v", inst.v_deg2, min=-0.1, max=0.1)
    p.add("w", inst.w_deg2, min=1e-5, max=0.1)
    p.add("eta", 0.5, min=0, max=1)
    for name in PHASES:
        p.add(f"s_{name.replace('-', '_')}", 1e-3, min=0)
    for j in range(n_bg):
        p.add(f"b{j}", float(np.median(y)) if j == 0 else 0.0)

    def model(pv) -> np.ndarray:
        lat = {
            "nbh-fcc": Lattice.cubic(pv["nbh_a"]),
            "nacro2": Lattice.hexagonal(pv["nacro2_a"], pv["nacro2_c"]),
            "al": Lattice.cubic(pv["al_a"]),
        }
        out = bg_basis @ np.array([pv[f"b{j}"] for j in range(n_bg)])
        for name in PHASES:
            st = structures[name]
            s = Structure(lat[name], st.species_and_occu, st.frac_coords)
            pat = calc.get_pattern(s, scaled=False, two_theta_range=(0, float(x[-1]) + 2))
            tt1 = np.asarray(pat.x)
            d = np.asarray(pat.d_hkls)
            inten = np.asarray(pat.y)
            tt2 = np.degrees(2 * np.arcsin(np.clip(KA2 / (2 * d), 0, 1)))
            lp = lambda t: (1 + np.cos(np.radians(t)) ** 2) / (np.sin(np.radians(t / 2)) ** 2 * np.cos(np.radians(t / 2)))  # noqa: E731
            centres = np.concatenate([tt1, tt2]) + pv["zero"]
            areas = np.concatenate([inten, KA2_RATIO * inten * lp(tt2) / lp(tt1)])
            tan = np.tan(np.radians(centres / 2))
            fwhm = np.sqrt(np.maximum(pv["u"] * tan**2 + pv["v"] * tan + pv["w"], 1e-6))
            prof = _pv(x[None, :] - centres[:, None], fwhm[:, None], pv["eta"])
            out = out + pv[f"s_{name.replace('-', '_')}"] * (areas @ prof)
        return out

    def residual(params) -> np.ndarray:
        return (y - model(params.valuesdict())) / sig

    c0 = time.process_time()
    # scales first (a cheap linear-ish start), then everything
    for name in p:
        p[name].vary = name.startswith("s_") or name.startswith("b")
    r1 = lmfit.minimize(residual, p, method="least_squares", max_nfev=max_nfev)
    for name in r1.params:
        r1.params[name].vary = True
    r2 = lmfit.minimize(residual, r1.params, method="least_squares", max_nfev=max_nfev)
    cpu = time.process_time() - c0
    stats = fit_statistics(y, model(r2.params.valuesdict()), sig, r2.nvarys)
    return cpu, stats["rwp"], r1.nfev + r2.nfev, r2.params["nbh_a"].value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=16, help="length of the drifting series")
    ap.add_argument("--naive-runs", type=int, default=2, help="naive pymatgen-in-the-loop fits")
    args = ap.parse_args()

    inst = load_instrument("miniflex600-cuka")
    scans = drifting_series(args.scans)
    lib = PhaseLibrary()
    c0 = time.process_time()
    refls = resolve_phases(list(PHASES), inst, float(GRID_DEG[-1]) + 1.0, library=lib)
    print(f"reflection lists (once per phase set): {1e3 * (time.process_time() - c0):.0f} ms CPU")
    refine(scans[0], refls, instrument=inst)  # warm-up (imports, caches)

    rows = []
    for label, opts in (("default options", RefineOptions()),
                        ("no per-phase broadening", RefineOptions(refine_phase_broadening=False))):
        r = time_xrdkit(scans, refls, inst, opts)
        rows.append((label, r))

    print(f"\n3-phase fit (nbh-fcc + nacro2 + al), {GRID_DEG.size} points, Kα1+Kα2, "
          f"{args.scans}-scan drifting series, median CPU per fit, one core")
    print(f"{'xrdkit model':26s} {'cold ms':>9s} {'target':>7s} {'warm ms':>9s} {'target':>7s} "
          f"{'nfev c/w':>9s} {'Rwp cold':>9s} {'Rwp warm':>9s} {'max |Δw| warm-cold':>19s}")
    for label, r in rows:
        print(f"{label:26s} {r['cold_ms']:9.1f} {TARGET_COLD_MS:7.0f} {r['warm_ms']:9.1f} "
              f"{TARGET_WARM_MS:7.0f} {r['cold_nfev']:4.0f}/{r['warm_nfev']:<4.0f} "
              f"{100 * r['cold_rwp']:8.3f}% {100 * r['warm_rwp']:8.3f}% {100 * r['max_wf_dev']:17.4f} wt%")

    if args.naive_runs > 0:
        structures = {p_: lib.get(p_).structure for p_ in PHASES}
        naive = [naive_fit(scans[k], structures, inst) for k in range(args.naive_runs)]
        med_cpu = statistics.median(n[0] for n in naive)
        print(f"\nnaive lmfit + pymatgen XRDCalculator in the loop ({args.naive_runs} runs):")
        for k, (cpu, rwp, nfev, a) in enumerate(naive):
            print(f"  scan {k}: {cpu:8.2f} s CPU, {nfev} evaluations, Rwp {100 * rwp:.3f} %, "
                  f"NBH a {a:.5f} Å")
        for label, r in rows:
            print(f"  ratio naive / xrdkit cold ({label}): {1e3 * med_cpu / r['cold_ms']:8.0f}×   "
                  f"naive / warm: {1e3 * med_cpu / r['warm_ms']:8.0f}×")


if __name__ == "__main__":
    main()
