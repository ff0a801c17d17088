"""Benchmark of irkit: speed, verdict flags on synthetic spectra, B10:B12 coverage, real spectra.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ir.py            # timing
    .venv/bin/python benchmarks/bench_ir.py --verdict [-n 40]   # flags over ≥ 200 spectra
    .venv/bin/python benchmarks/bench_ir.py --ratio [--ratio-n 400]  # B10:B12 coverage
    .venv/bin/python benchmarks/bench_ir.py --real               # every real spectrum's verdict
    .venv/bin/python benchmarks/bench_ir.py --all --json OUT.json

Timing: seeded synthetic spectra (550–4000 cm⁻¹ at 1 cm⁻¹, curved baseline, noise 0.002): the
region fits alone (arPLS + both regions, as before) and the full :func:`irkit.assess.assess`
(pre-checks, fits, screen, protonation, ratio posterior) — median wall time per spectrum
(target ≤ 50 ms), BLAS threads pinned to 1.

Verdict (issue 17): spectra from the independent generator :func:`irkit.synthetic.synthesize`
(the truth is its input; the band *shapes* are its own pseudo-Voigt sums, the screen's
templates are built separately) in families — intact mixtures, 2–20 % oxidised, 1–10 %
isopropanol, mixed B10/B12 ratios with ±15 cm⁻¹ prior errors, pure salts, and negative
controls without any borate — plus spectra exactly at the stated detection limits, and two
families from :func:`irkit.synthetic.synthesize_mismatched` whose bands do not follow the library
(Gaussian shapes, split ν(B–H), hydrates; liquid isopropanol with heights ×0.5–2). For every
flag: sensitivity on the spectra that contain the thing, false-positive rate on those that do
not; and whether the anion is named right.

Ratio: :func:`irkit.ratio.estimate_ratio` through ``assess`` on mixtures with B10:B12 drawn
log-uniformly in 0.25–4 and every anion band centre drawn uniformly within ±15 cm⁻¹ of its
library prior (``position_jitter_cm1=15``); coverage of ±1σ / ±2σ among the reported ratios,
and the share reported (the rest are None with a reason).

Real: every file of ``../shared/realdata/ir_formats`` and ``ir_solvents`` (none holds a
closo-borate) through ``assess``.

This script prints numbers; it asserts nothing and exits 0 unless it crashes.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from irkit.assess import assess  # noqa: E402
from irkit.bands import ANION_SPECIES, load_band_library  # noqa: E402
from irkit.fit import REGIONS, fit_region  # noqa: E402
from irkit.synthetic import synthesize, synthesize_mismatched  # noqa: E402

REALDATA = Path(os.environ.get("CLOSOKIT_SHARED",
                               Path(__file__).resolve().parent.parent.parent / "shared")
                ) / "realdata"
#: Stated detection limits (strongest-band height / strongest B–H band height at 1:1).
DETECTION_LIMITS = {"isopropanol": 0.01, "oxidation": 0.02}
FLAGS = ("borate_present", "isopropanol", "methanol", "water", "other_organic", "oxidation",
         "binder", "protonation")
BASELINES = ("flat", "sloping", "curved")


def _time(func, items) -> tuple[float, float]:
    wall, cpu = [], []
    for item in items:
        t0, c0 = time.perf_counter(), time.process_time()
        func(item)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def _reference_lmfit(spectrum) -> None:
    """Textbook lmfit: CompositeModel, finite differences, lmfit's own uncertainty machinery."""
    from lmfit.models import PolynomialModel, PseudoVoigtModel

    lib = load_band_library()
    for _name, (low, high) in REGIONS.items():
        part = spectrum.crop(low, high)
        bands = lib.select(ANION_SPECIES, low_cm1=low, high_cm1=high)
        model = PolynomialModel(degree=2, prefix="bl_")
        for b in bands:
            model = model + PseudoVoigtModel(prefix=b.prefix)
        params = model.make_params(bl_c0=float(part.values.min()), bl_c1=0.0, bl_c2=0.0)
        for b in bands:
            params[f"{b.prefix}center"].set(value=b.position_cm1, min=b.position_cm1 - b.bound_cm1,
                                            max=b.position_cm1 + b.bound_cm1)
            params[f"{b.prefix}sigma"].set(value=b.fwhm_cm1 / 2, min=b.fwhm_min_cm1 / 2,
                                           max=b.fwhm_max_cm1 / 2)
            params[f"{b.prefix}amplitude"].set(value=float(np.ptp(part.values)) * b.fwhm_cm1,
                                               min=0)
        model.fit(part.values, params, x=part.wavenumber_cm1)


def timing(n: int, n_reference: int) -> dict:
    spectra = [synthesize(seed, baseline="curved", noise_sd=0.002).spectrum for seed in range(n)]
    jittered = [synthesize(seed, baseline="curved", noise_sd=0.002, position_jitter_cm1=15,
                           b10_b12_ratio=2.0).spectrum for seed in range(n)]
    negatives = [synthesize(seed, borate=0.0, isopropanol=0.2, water=0.1).spectrum
                 for seed in range(n)]
    assess(spectra[0])  # warm imports / caches

    def pipeline(s):
        fit_region(s, "stretch", subtract="arpls")
        fit_region(s, "bend", subtract="arpls")

    rows = [
        ("arPLS baseline + both regions (lmfit engine)", pipeline, spectra),
        ("full assess(), 1:1 mixture at the priors", assess, spectra),
        ("full assess(), 2:1 mixture, ±15 cm⁻¹ off priors", assess, jittered),
        ("full assess(), no borate (IPA + water)", assess, negatives),
        ("reference: lmfit CompositeModel, finite diff.", _reference_lmfit,
         spectra[:n_reference]),
    ]
    print(f"{n} synthetic spectra per row, 3451 points each; BLAS threads = "
          f"{os.environ['OPENBLAS_NUM_THREADS']}")
    out = {}
    for label, func, items in rows:
        wall, cpu = _time(func, items)
        out[label] = {"median_wall_ms": wall, "median_cpu_ms": cpu, "n": len(items)}
        print(f"  {label:50s} median {wall:7.1f} ms wall, {cpu:7.1f} ms CPU  (n={len(items)})")
    worst = max(out[label]["median_wall_ms"] for label, *_ in rows[1:4])
    print(f"target: full assess ≤ 50 ms per spectrum → {'MET' if worst <= 50 else 'NOT MET'} "
          f"(slowest family median {worst:.1f} ms)")
    return out


# --------------------------------------------------------------------------- verdict


def _cases(n: int) -> list[dict]:
    """Seeded verdict cases: generator keywords and the truth of every flag."""
    rng = np.random.default_rng(17)
    cases = []

    def add(family: str, seed: int, **kw) -> None:
        borate = kw.get("borate", 1.0) > 0
        truth = {
            "borate_present": borate,
            "isopropanol": kw.get("isopropanol", 0.0) > 0,
            "methanol": False,
            "water": kw.get("water", 0.0) > 0,
            "other_organic": False,
            "oxidation": (kw.get("oxidation", 0.0) > 0) if borate else None,
            "binder": kw.get("pvdf", 0.0) > 0,
            "protonation": (kw.get("protonated", 0.0) > 0) if borate else None,
        }
        cases.append({"family": family, "seed": seed, "kw": kw, "truth": truth})

    def ratio() -> float:
        return float(np.exp(rng.uniform(math.log(0.25), math.log(4.0))))

    def baseline() -> str:
        return BASELINES[int(rng.integers(3))]

    for i in range(n):
        add("intact", 10_000 + i, b10_b12_ratio=ratio(), baseline=baseline())
        add("oxidised 2-20 %", 20_000 + i, b10_b12_ratio=ratio(), baseline=baseline(),
            oxidation=float(rng.uniform(0.02, 0.20)))
        add("isopropanol 1-10 %", 30_000 + i, b10_b12_ratio=ratio(), baseline=baseline(),
            isopropanol=float(rng.uniform(0.01, 0.10)))
        add("mixed ratios, ±15 cm⁻¹ priors", 40_000 + i, b10_b12_ratio=ratio(),
            baseline=baseline(), position_jitter_cm1=15.0)
        add("pure salts", 50_000 + i, b10_b12_ratio=(0.0 if i % 2 else math.inf),
            baseline=baseline())
        neg = {"borate": 0.0, "baseline": baseline()}
        pick = i % 4
        if pick in (0, 3):
            neg["isopropanol"] = float(rng.uniform(0.05, 0.5))
        if pick in (1, 3):
            neg["water"] = float(rng.uniform(0.05, 0.5))
        if pick == 2:
            neg["pvdf"] = float(rng.uniform(0.1, 0.5))
        add("no borate (negative controls)", 60_000 + i, **neg)
        add("at the limits: isopropanol 1 %", 70_000 + i, b10_b12_ratio=ratio(),
            baseline=baseline(), isopropanol=DETECTION_LIMITS["isopropanol"])
        add("at the limits: oxidation 2 %", 80_000 + i, b10_b12_ratio=ratio(),
            baseline=baseline(), oxidation=DETECTION_LIMITS["oxidation"])
        anion = ("B12H12", "B10H10", "both")[i % 3]
        mismatched = {"anion": anion, "hydrated": i % 2 == 0, "isopropanol": i % 4 == 1}
        cases.append({"family": "mismatched shapes: salts (Gaussian, split ν(B–H), hydrates)",
                      "seed": 90_000 + i, "mismatched": mismatched,
                      "truth": {"borate_present": True, "isopropanol": mismatched["isopropanol"],
                                "methanol": False, "water": mismatched["hydrated"],
                                "other_organic": False, "oxidation": False, "binder": False,
                                "protonation": False, "anion": anion}})
        cases.append({"family": "mismatched shapes: liquid isopropanol, no borate",
                      "seed": 95_000 + i,
                      "mismatched": {"anion": None, "hydrated": False, "isopropanol": True},
                      "truth": {"borate_present": False, "isopropanol": True, "methanol": False,
                                "water": False, "other_organic": False, "oxidation": None,
                                "binder": False, "protonation": None, "anion": None}})
    for case in cases:  # which anion, for the generator's own families
        kw = case.get("kw")
        if kw is not None:
            r = kw.get("b10_b12_ratio", 1.0)
            case["truth"]["anion"] = (None if kw.get("borate", 1.0) == 0 else "B12H12" if r == 0
                                      else "B10H10" if math.isinf(r) else "both")
    return cases


def verdict_study(n: int) -> dict:
    cases = _cases(n)
    results = []
    t0 = time.perf_counter()
    for case in cases:
        if "mismatched" in case:
            spectrum = synthesize_mismatched(case["seed"], **case["mismatched"]).spectrum
        else:
            spectrum = synthesize(case["seed"], noise_sd=0.002, **case["kw"]).spectrum
        v = assess(spectrum).to_dict()
        results.append({**case, "got": {f: v[f] for f in (*FLAGS, "anion")}})
    elapsed = time.perf_counter() - t0
    print(f"verdict study: {len(cases)} synthetic spectra ({elapsed:.0f} s); noise 0.002 on a 0.5 "
          "absorbance B–H band; stated limits: isopropanol 950 cm⁻¹ band ≥ 1 %, B–O 1426 cm⁻¹ "
          "band ≥ 2 % of the strongest B–H band")
    summary = {}
    header = f"  {'flag':15s} {'sensitivity':>18s} {'false positives':>18s}"
    print(header)
    for flag in FLAGS:
        pos = [r for r in results if r["truth"][flag] is True]
        neg = [r for r in results if r["truth"][flag] is False]
        tp = sum(r["got"][flag] is True for r in pos)
        fp = sum(r["got"][flag] is True for r in neg)
        summary[flag] = {"positives": len(pos), "detected": tp, "negatives": len(neg),
                         "false_positives": fp}
        sens = f"{tp}/{len(pos)} = {tp / len(pos):.1%}" if pos else "—"
        fpr = f"{fp}/{len(neg)} = {fp / len(neg):.1%}" if neg else "—"
        print(f"  {flag:15s} {sens:>18s} {fpr:>18s}")
    anion_right = sum(r["got"]["anion"] == r["truth"]["anion"] for r in results)
    print(f"  {'anion named':15s} {anion_right}/{len(results)} right (B12H12 / B10H10 / both / "
          "none)")
    summary["anion"] = {"right": anion_right, "n": len(results)}
    unjudged = sum(1 for r in results if not r["truth"]["borate_present"]
                   and (r["got"]["oxidation"] is not None or r["got"]["protonation"] is not None))
    print(f"  negative controls with oxidation/protonation judged (must be 0): {unjudged}")
    by_family = {}
    for fam in dict.fromkeys(r["family"] for r in results):
        rows = [r for r in results if r["family"] == fam]
        wrong = sum(any(r["got"][f] is not None and r["got"][f] != r["truth"][f]
                        for f in FLAGS if r["truth"][f] is not None)
                    or r["got"]["anion"] != r["truth"]["anion"] for r in rows)
        by_family[fam] = {"n": len(rows), "all_flags_right": len(rows) - wrong}
        print(f"  {fam:58s} all flags right in {len(rows) - wrong}/{len(rows)}")
    return {"n_spectra": len(cases), "flags": summary, "families": by_family,
            "unjudged_ok": unjudged == 0,
            "mistakes": [r for r in results
                         if any(r["got"][f] is not None and r["got"][f] != r["truth"][f]
                                for f in FLAGS if r["truth"][f] is not None)]}


# --------------------------------------------------------------------------- ratio


def ratio_study(n: int, jitter_cm1: float = 15.0, seed0: int = 1000) -> dict:
    rows = []
    t0 = time.perf_counter()
    for seed in range(seed0, seed0 + n):
        true = float(np.exp(np.random.default_rng(seed + 999).uniform(math.log(0.25),
                                                                        math.log(4.0))))
        syn = synthesize(seed, b10_b12_ratio=true, position_jitter_cm1=jitter_cm1,
                         baseline="curved", noise_sd=0.002)
        v = assess(syn.spectrum)
        post = v.ratio_posterior
        rows.append({"seed": seed, "true": true,
                     "value": None if v.ratio is None else v.ratio.value,
                     "sigma": None if v.ratio is None else v.ratio.sigma,
                     "posterior_value": None if post is None else post.value,
                     "posterior_sigma": None if post is None else post.sigma,
                     "reason": v.ratio_reason})
    elapsed = time.perf_counter() - t0
    rep = [r for r in rows if r["value"] is not None]
    pulls = np.array([abs(r["value"] - r["true"]) / r["sigma"] for r in rep])
    within1 = float(np.mean(pulls <= 1)) if rep else math.nan
    within2 = float(np.mean(pulls <= 2)) if rep else math.nan
    allp = [r for r in rows if r["posterior_value"] is not None]
    pulls_all = np.array([abs(r["posterior_value"] - r["true"]) / r["posterior_sigma"]
                          for r in allp])
    rel = np.array([r["sigma"] / r["value"] for r in rep])
    reasons: dict[str, int] = {}
    for r in rows:
        if r["value"] is None:
            key = r["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    print(f"B10:B12 coverage: {n} mixtures, ratio log-uniform 0.25–4, band centres ±{jitter_cm1:g} "
          f"cm⁻¹ off their priors (uniform), noise 0.002, curved baseline ({elapsed:.0f} s)")
    print(f"  reported: {len(rep)}/{n} = {len(rep) / n:.0%}; truth within ±1σ {within1:.1%} "
          f"(need ≥ 68 %), ±2σ {within2:.1%} (need ≥ 95 %); median σ/ratio "
          f"{np.median(rel) if rel.size else math.nan:.3f}")
    print(f"  posterior of every spectrum (reported or not): ±1σ "
          f"{np.mean(pulls_all <= 1):.1%}, ±2σ {np.mean(pulls_all <= 2):.1%}")
    print(f"  not reported, by reason: {reasons}")
    return {"n": n, "jitter_cm1": jitter_cm1, "reported": len(rep), "within_1sigma": within1,
            "within_2sigma": within2, "median_relative_sigma": float(np.median(rel))
            if rel.size else None, "posterior_within_1sigma": float(np.mean(pulls_all <= 1)),
            "posterior_within_2sigma": float(np.mean(pulls_all <= 2)), "not_reported": reasons,
            "rows": rows}


# --------------------------------------------------------------------------- real


def real_study() -> list[dict]:
    from irkit.spectra import read_spectrum

    files = sorted((REALDATA / "ir_formats").glob("*")) + sorted(
        (REALDATA / "ir_solvents").glob("*"))
    rows = []
    print(f"real spectra ({REALDATA}): none holds a closo-borate")
    print(f"  {'file':12s} {'borate':>6s} {'IPA':>5s} {'MeOH':>5s} {'water':>13s} "
          f"{'other organic':>40s} {'oxid.':>5s} {'PVDF':>5s}  ms")
    for path in files:
        spectrum = read_spectrum(path)
        t0 = time.perf_counter()
        v = assess(spectrum)
        ms = (time.perf_counter() - t0) * 1e3
        d = v.to_dict()
        water = "yes (" + v.water.form + ")" if d["water"] else "no"
        organic = "; ".join(v.other_organic.seen) if d["other_organic"] else "no"

        def yn(value):
            return "null" if value is None else "yes" if value else "no"

        print(f"  {path.name:12s} {yn(d['borate_present']):>6s} {yn(d['isopropanol']):>5s} "
              f"{yn(d['methanol']):>5s} {water:>13s} {organic[:40]:>40s} "
              f"{yn(d['oxidation']):>5s} {yn(d['binder']):>5s}  {ms:.0f}")
        rows.append({"file": path.name, "ms": ms,
                     "converted_from": spectrum.metadata.get("converted_from"),
                     **{k: d[k] for k in (*FLAGS, "anion", "contaminants")}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, help="spectra per family (verdict) / per row (timing)")
    parser.add_argument("--ratio-n", type=int, default=400, help="ratio study size (400)")
    parser.add_argument("--reference", type=int, default=3, help="spectra for the reference")
    parser.add_argument("--verdict", action="store_true")
    parser.add_argument("--ratio", action="store_true")
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    out: dict = {}
    if args.all or not (args.verdict or args.ratio or args.real):
        out["timing"] = timing(args.n or 30, args.reference)
    if args.all or args.real:
        out["real"] = real_study()
    if args.all or args.verdict:
        out["verdict"] = verdict_study(args.n or 30)
    if args.all or args.ratio:
        out["ratio"] = ratio_study(args.ratio_n)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
