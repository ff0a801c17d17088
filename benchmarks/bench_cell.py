"""Benchmark of the cell model: analytic evaluations per second and PyBaMM time per discharge.

    .venv/bin/python benchmarks/bench_cell.py

Figures printed:
* analytic rate model, one call for the 6 default C-rates (vectorised) vs the baseline of one
  call per C-rate (same process), and the full ``predict_cell`` (3 purities × 7 rates + energy);
* electrolyte conductivity (GEM root) per call;
* PyBaMM half-cell DFN (if installed): model build + 4 discharges, time per discharge, and the
  ratio to one analytic discharge.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from xrdkit.cell import (
    DEFAULT_C_RATES,
    Electrode,
    electrolyte_conductivity,
    parse_composition,
    predict_cell,
    rate_capability,
)


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


def main() -> None:
    e = Electrode(parse_composition("97:1:2"), 7.7)
    sigma = electrolyte_conductivity(0.87, 30.0)
    rates = list(DEFAULT_C_RATES)

    t_vec = per_call_s(lambda: rate_capability(e, sigma, rates))
    t_loop = per_call_s(lambda: [rate_capability(e, sigma, [r]) for r in rates])
    t_sig = per_call_s(lambda: electrolyte_conductivity(0.87, 30.0))
    t_pred = per_call_s(lambda: predict_cell(0.87, 0.03))
    print(f"analytic rate table (6 rates, vectorised): {1e3 * t_vec:8.3f} ms "
          f"= {1 / t_vec:8.0f} tables/s = {len(rates) / t_vec:8.0f} discharges/s")
    print(f"baseline, one call per rate              : {1e3 * t_loop:8.3f} ms "
          f"(vectorised is {t_loop / t_vec:.1f}x faster)")
    print(f"electrolyte conductivity (GEM root)      : {1e6 * t_sig:8.1f} µs")
    print(f"predict_cell (3 purities, 7 rates, energy): {1e3 * t_pred:8.3f} ms "
          f"= {1 / t_pred:6.0f} predictions/s")

    try:
        from xrdkit.cell.pybamm_backend import pybamm_available, pybamm_rate_capability
    except ImportError:  # pragma: no cover
        return
    if not pybamm_available():
        print("PyBaMM not installed: skipped")
        return
    t0 = time.perf_counter()
    import pybamm  # noqa: F401

    t_import = time.perf_counter() - t0
    pb_rates = [0.1, 1.0, 2.0, 5.0]
    t0 = time.perf_counter()
    res = pybamm_rate_capability(e, sigma, pb_rates)
    t_total = time.perf_counter() - t0
    per_solve = float(res.solve_time_s.mean())
    per_discharge = t_total / len(pb_rates)
    print(f"PyBaMM import                            : {t_import:8.2f} s")
    print(f"PyBaMM DFN, {len(pb_rates)} discharges (build + solve)  : {t_total:8.2f} s "
          f"= {per_discharge:.3f} s per discharge (solve only {per_solve:.3f} s)")
    print(f"PyBaMM / analytic time per discharge     : "
          f"{per_discharge / (t_vec / len(rates)):8.0f}x")


if __name__ == "__main__":
    main()
