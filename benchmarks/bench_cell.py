"""Benchmark of the cell model: speed, agreement with PyBaMM, hold-out errors, interval widths.

    .venv/bin/python benchmarks/bench_cell.py            # everything (≈ 30 s)
    .venv/bin/python benchmarks/bench_cell.py --quick    # speed only
    .venv/bin/python benchmarks/bench_cell.py --json OUT.json
    .venv/bin/python benchmarks/bench_cell.py --coverage 40   # + the coverage study (≈ 2 min)

Figures printed:

* slab model (:mod:`xrdkit.cell.porous`): one rate table (6 rates), discharges per second in a
  batch of 5000, and the closed-form uniform-reaction formula it replaced;
* the Monte Carlo: calibrating the default ensemble (512 draws), one ``predict_cell``;
* PyBaMM DFN vs slab model at the documented operating points (max |Δ| mAh/g) and time per
  discharge (if PyBaMM is installed);
* hold-out table (leave one electrode out + paper numbers no fit used), interface resistance;
* 95 % interval widths at 5C / 1C, energy and N/P for fcc 0.87 ± 0.03 and ± 0;
* ``--coverage N``: does the procedure's 95 % interval contain the truth 95 % of the time?
  N "true" cells are taken from an independent calibrated ensemble (so they are consistent
  with the paper), their 5C retentions observed with the assumed noise, a fresh ensemble
  calibrated on those observations, and the true values of several outputs checked against
  the intervals.  This tests the method under its own assumptions (model form right).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xrdkit.cell import (
    DEFAULT_C_RATES,
    Electrode,
    electrolyte_conductivity,
    parse_composition,
    predict_cell,
    rate_capability,
)
from xrdkit.cell.ocv import inverse_ocv_nacro2
from xrdkit.cell.porous import porous_discharge
from xrdkit.cell.rate import uniform_reaction_capacity

#: PyBaMM comparison: (cathode, loading, fcc of the cathode's electrolyte); pellet pure.
DFN_POINTS = [("97:1:2", 7.7, 1.0), ("95:2:3", 7.0, 1.0), ("97:1:2", 7.7, 0.87),
              ("97:1:2", 7.7, 0.6), ("97:1:2", 7.7, 0.45), ("97:1:2", 7.7, 0.3),
              ("97:1:2", 20.0, 1.0)]
DFN_RATES = (0.1, 1.0, 2.0, 5.0)


def per_call_s(fn: Callable[[], object], min_time_s: float = 1.0) -> float:
    """Mean wall time per call, repeating until ``min_time_s`` has passed."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time_s:
            return dt / n


def speed(out: dict[str, Any]) -> None:
    e = Electrode(parse_composition("97:1:2"), 7.7)
    sigma = electrolyte_conductivity(0.87, 30.0)
    rates = list(DEFAULT_C_RATES)
    t_table = per_call_s(lambda: rate_capability(e, sigma, rates))
    x0 = float(inverse_ocv_nacro2(3.35))
    n = 5000
    rng = np.random.default_rng(0)
    batch = dict(current_A_per_cm2=rng.uniform(1e-4, 5e-3, n), window_charge_C_per_cm2=3.3,
                 separator_resistance_ohm_cm2=27.0,
                 electrode_ionic_resistance_ohm_cm2=10 ** rng.uniform(1, 3, n),
                 interface_resistance_ohm_cm2=120.0, particle_radius_cm=2.5e-4,
                 diffusivity_cm2_per_s=1e-10, x_start=x0, ocv_mid_V=2.95, ocv_slope_V=0.30,
                 ocv_log_V=0.06, cutoff_voltage_V=2.10)
    t_batch = per_call_s(lambda: porous_discharge(**batch), 2.0)
    closed = dict(one_c_current_mA_per_cm2=0.924, capacity_window_mAh_per_g=120.0,
                  one_c_mAh_per_g=120.0, cutoff_voltage_V=2.10, upper_voltage_V=3.35,
                  ocv_mid_V=2.95, ocv_slope_V=0.30, ocv_log_V=0.06,
                  total_resistance_ohm_cm2=150.0 + 10 ** rng.uniform(1, 3, n) / 3,
                  particle_radius_cm=2.5e-4, diffusivity_cm2_per_s=1e-10)
    t_closed = per_call_s(lambda: uniform_reaction_capacity(rng.uniform(0.1, 5, n), **closed))
    print(f"slab model, one rate table (6 rates)        : {1e3 * t_table:8.2f} ms")
    print(f"slab model, batch of {n}                  : {t_batch:8.3f} s = "
          f"{n / t_batch:8.0f} discharges/s")
    print(f"closed-form uniform formula (replaced), {n}: {1e3 * t_closed:8.2f} ms "
          f"({t_batch / t_closed:.0f}× faster, up to 15–20 mAh/g off at fcc 0.25–0.45)")
    from xrdkit.cell import uncertainty as unc

    unc.calibrated_ensemble.cache_clear()
    t0 = time.perf_counter()
    ens = unc.calibrated_ensemble()
    t_cal = time.perf_counter() - t0
    t_pred = per_call_s(lambda: predict_cell(0.87, 0.03))
    t_nom = per_call_s(lambda: predict_cell(0.87, 0.03, uncertainty="none"))
    print(f"calibrating the ensemble ({ens.n_drawn} draws)       : {t_cal:8.2f} s "
          f"({ens.n_accepted} accepted, {100 * ens.acceptance:.0f} %)")
    print(f"predict_cell, Monte Carlo (cached ensemble) : {1e3 * t_pred:8.1f} ms")
    print(f"predict_cell, nominal only                  : {1e3 * t_nom:8.1f} ms")
    out["speed"] = {"rate_table_ms": 1e3 * t_table, "discharges_per_s": n / t_batch,
                    "calibration_s": t_cal, "predict_mc_ms": 1e3 * t_pred,
                    "predict_nominal_ms": 1e3 * t_nom, "accepted": ens.n_accepted,
                    "drawn": ens.n_drawn}


def dfn(out: dict[str, Any]) -> None:
    try:
        from xrdkit.cell.pybamm_backend import pybamm_available, pybamm_rate_capability
    except ImportError:  # pragma: no cover
        return
    if not pybamm_available():
        print("PyBaMM not installed: DFN comparison skipped")
        return
    sep = electrolyte_conductivity(1.0, 30.0)
    worst, t_solve, rows = 0.0, [], []
    for comp, loading, w in DFN_POINTS:
        e = Electrode(parse_composition(comp), loading)
        s = electrolyte_conductivity(w, 30.0)
        d = pybamm_rate_capability(e, s, DFN_RATES, separator_sigma_S_per_cm=sep)
        f = rate_capability(e, s, DFN_RATES, separator_sigma_S_per_cm=sep).capacity_mAh_per_g
        diff = float(np.max(np.abs(d.capacity_mAh_per_g - f)))
        worst = max(worst, diff)
        t_solve.extend(d.solve_time_s.tolist())
        rows.append({"cathode": comp, "loading": loading, "fcc": w,
                     "dfn": d.capacity_mAh_per_g.tolist(), "slab": f.tolist(), "max_diff": diff})
        print(f"  {comp} @ {loading:4.1f} mg/cm², fcc {w:4.2f}: DFN "
              f"{np.round(d.capacity_mAh_per_g, 1)} slab {np.round(f, 1)}  max |Δ| {diff:.2f}")
    print(f"PyBaMM DFN vs slab model, rates {DFN_RATES}: worst |Δ| {worst:.2f} mAh/g; "
          f"DFN solve {np.mean(t_solve):.2f} s per discharge")
    out["dfn"] = {"worst_mAh_per_g": worst, "rows": rows,
                  "dfn_solve_s_per_discharge": float(np.mean(t_solve))}


def holdout(out: dict[str, Any]) -> None:
    from xrdkit.cell.calibration import (
        format_holdout_table,
        holdout_validation,
        interface_resistance_summary,
    )

    rows = holdout_validation()
    print(format_holdout_table(rows))
    summary = interface_resistance_summary()
    for key in ("per_nacro2_area_ohm_cm2", "per_electrode_area_ohm_cm2"):
        st = summary[key]
        print(f"interface resistance {key}: nominal {st['nominal']:.0f}, median "
              f"{st['median']:.0f} [{st['low']:.0f}, {st['high']:.0f}]")
    summary.pop("literature")
    out["holdout"] = [r.to_dict() for r in rows]
    out["interface_resistance"] = summary


def widths(out: dict[str, Any]) -> None:
    res = {}
    for s in (0.03, 0.0):
        p = predict_cell(0.87, s)
        one, five = p.rate_table[3], p.rate_table[-1]
        res[str(s)] = {
            "5C": [five.capacity_mAh_per_g_low, five.capacity_mAh_per_g,
                   five.capacity_mAh_per_g_high],
            "1C": [one.capacity_mAh_per_g_low, one.capacity_mAh_per_g, one.capacity_mAh_per_g_high],
            "energy": [p.energy_Wh_per_kg_low, p.energy_Wh_per_kg, p.energy_Wh_per_kg_high],
            "np": [p.np_ratio_low, p.np_ratio, p.np_ratio_high]}
        print(f"fcc 0.87 ± {s}: 5C {five.capacity_mAh_per_g:.1f} "
              f"[{five.capacity_mAh_per_g_low:.1f}, {five.capacity_mAh_per_g_high:.1f}] mAh/g; "
              f"1C {one.capacity_mAh_per_g:.1f} [{one.capacity_mAh_per_g_low:.1f}, "
              f"{one.capacity_mAh_per_g_high:.1f}]; energy {p.energy_Wh_per_kg:.0f} "
              f"[{p.energy_Wh_per_kg_low:.0f}, {p.energy_Wh_per_kg_high:.0f}] Wh/kg; N/P "
              f"{p.np_ratio:.2f} [{p.np_ratio_low:.2f}, {p.np_ratio_high:.2f}]")
    out["intervals_fcc_0.87"] = res


def coverage(out: dict[str, Any], n_truths: int, samples: int = 256) -> None:
    from xrdkit.cell.constants import material
    from xrdkit.cell.uncertainty import (
        DEFAULT_SEED,
        CalibratedEnsemble,
        calibrate,
        calibrated_ensemble,
        central_interval,
        draw_parameters,
        evaluate,
        paper_rate_cells,
    )

    truths = calibrated_ensemble(512, DEFAULT_SEED + 1)
    rng = np.random.default_rng(1)
    pick = rng.choice(truths.n_accepted, size=min(n_truths, truths.n_accepted), replace=False)
    sigma_ret = material("retention_measurement_sigma")
    cells = paper_rate_cells()
    checks = {"5C @ fcc 1.0": (1.0, 5.0), "5C @ fcc 0.87": (0.87, 5.0),
              "5C @ fcc 0.6": (0.6, 5.0), "1C @ fcc 0.4": (0.4, 1.0),
              "0.1C @ fcc 1.0": (1.0, 0.1)}
    hits: dict[str, list[bool]] = {k: [] for k in (*checks, "energy", "hold-out 95:2:3")}

    def run(ens: CalibratedEnsemble, w: float, rate: float, comp: str = "97:1:2",
            loading: float = 7.7) -> Any:
        return evaluate(ens, fcc_weight_fraction=w, fcc_weight_fraction_sigma=0.0,
                        cathode=comp, loading_mg_per_cm2=loading, c_rates=(0.1, rate))

    def retention(ens: CalibratedEnsemble, label: str) -> np.ndarray:
        comp, loading, _ = cells[label]
        cap = run(ens, 1.0, 5.0, comp, loading).capacity_mAh_per_g
        return cap[:, 1] / cap[:, 0]

    t0 = time.perf_counter()
    for n, k in enumerate(pick):
        truth = CalibratedEnsemble(truths.draws.take(np.array([k])),
                                   truths.interface_resistance_ohm_cm2[[k]], "both", 1, 1)
        observed = {label: float(retention(truth, label)[0]) + sigma_ret * rng.normal()
                    for label in cells}
        ens = calibrate(draw_parameters(samples, 1000 + n), "both", retentions=observed)
        for name, (w, rate) in checks.items():
            true = run(truth, w, rate).capacity_mAh_per_g[0, 1]
            lo, hi = central_interval(run(ens, w, rate).capacity_mAh_per_g[:, 1])
            hits[name].append(bool(lo <= true <= hi))
        lo, hi = central_interval(run(ens, 1.0, 0.1).energy_Wh_per_kg)
        hits["energy"].append(bool(lo <= run(truth, 1.0, 0.1).energy_Wh_per_kg[0] <= hi))
        fold = calibrate(draw_parameters(samples, 2000 + n), "97:1:2", retentions=observed)
        lo, hi = central_interval(retention(fold, "95:2:3"))
        hits["hold-out 95:2:3"].append(bool(lo <= retention(truth, "95:2:3")[0] <= hi))
    dt = time.perf_counter() - t0
    res = {k: float(np.mean(v)) for k, v in hits.items()}
    print(f"coverage of the 95 % intervals over {len(pick)} synthetic truths "
          f"({samples} draws each, {dt:.0f} s):")
    for k, v in res.items():
        print(f"  {k:18s} {100 * v:5.1f} %")
    out["coverage"] = {"truths": len(pick), "samples": samples, "fraction_inside": res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="speed only")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--coverage", type=int, default=0, metavar="N",
                    help="also run the coverage study with N synthetic truths")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    speed(out)
    if not args.quick:
        dfn(out)
        holdout(out)
        widths(out)
    if args.coverage:
        coverage(out, args.coverage)
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
