"""``xrdkit cell``: what an electrolyte purity means for the cell.

    xrdkit cell --fcc-fraction 0.87 --fcc-fraction-sigma 0.03 --cathode 97:1:2 --loading 7.7 \\
        --json OUT.json --plot OUT.png
    xrdkit cell --results RESULTS.h5 --json OUT.json     # one prediction per batch item
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from xrdkit.cell.predict import CellPrediction, predict_cell
from xrdkit.cell.rate import DEFAULT_C_RATES
from xrdkit.errors import InputError


def add_parser(subparsers: Any) -> None:
    """Register the ``cell`` sub-command."""
    p = subparsers.add_parser("cell", help="cell performance from electrolyte purity",
                              description=__doc__.splitlines()[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fcc-fraction", type=float, help="fcc NBH weight fraction (0–1)")
    src.add_argument("--results", type=Path, help="batch results file (RESULTS.h5)")
    p.add_argument("--fcc-fraction-sigma", type=float, default=0.0, help="1σ of the fraction")
    p.add_argument("--cathode", default="97:1:2", help="active:binder:carbon wt %% (97:1:2)")
    p.add_argument("--loading", type=float, default=7.7, help="loading, mg/cm² (7.7)")
    p.add_argument("--loading-basis", choices=("active", "electrode"), default="active",
                   help="loading is NaCrO2 mass (default) or dry composite mass")
    p.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_C_RATES),
                   help="comma-separated C-rates")
    p.add_argument("--temperature", type=float, default=30.0, help="°C (30)")
    p.add_argument("--pressure", type=float, default=70.0, help="stack pressure, MPa (70)")
    p.add_argument("--json", type=Path, help="write the prediction(s) as JSON")
    p.add_argument("--plot", type=Path, help="write capacity vs C-rate for several purities")
    p.set_defaults(func=run)


def _rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"rates must be comma-separated numbers, got {text!r}",
                         source="--rates") from exc
    if not rates or any(not math.isfinite(r) or r <= 0 for r in rates):
        raise InputError(f"C-rates must be > 0, got {text!r}", source="--rates")
    return rates


def _print(pred: CellPrediction, label: str = "") -> None:
    head = f"{label}: " if label else ""
    print(f"{head}fcc {pred.fcc_weight_fraction:.3f} ± {pred.fcc_weight_fraction_sigma:.3f}  "
          f"σ = {pred.sigma_electrolyte_S_per_cm:.3e} S/cm "
          f"[{pred.sigma_electrolyte_S_per_cm_low:.2e}, {pred.sigma_electrolyte_S_per_cm_high:.2e}]"
          f"  cathode {pred.cathode} {pred.loading_mg_per_cm2:g} mg/cm² ({pred.loading_basis})")
    print(f"  {'C-rate':>6} {'mA/cm²':>8} {'mAh/g':>7} {'(−σ…+σ)':>15} {'vs 0.1C':>8}")
    for r in pred.rate_table:
        print(f"  {r.c_rate:6g} {r.current_density_mA_per_cm2:8.3f} {r.capacity_mAh_per_g:7.1f} "
              f"({r.capacity_mAh_per_g_low:6.1f}…{r.capacity_mAh_per_g_high:6.1f}) "
              f"{100 * r.retention_vs_0p1C:7.1f}%")
    print(f"  energy {pred.energy_Wh_per_kg:.0f} Wh/kg(NaCrO2), "
          f"{pred.energy_Wh_per_kg_electrodes:.0f} Wh/kg(electrodes); N/P {pred.np_ratio:.2f}; "
          f"{100 * pred.retention_after_cycles:.1f}% after {pred.cycles} cycles at "
          f"{pred.stack_pressure_MPa:g} MPa")


def _from_results(path: Path, kwargs: dict[str, Any]) -> list[tuple[str, CellPrediction]]:
    try:
        from xrdkit.results import read_summary
    except ImportError as exc:  # pragma: no cover - results module ships with closokit
        raise InputError("reading batch results needs xrdkit.results", source=str(path)) from exc
    rows = read_summary(path)
    out = []
    for row in rows:
        label = str(row.get("scan") or row.get("id") or row.get("source") or len(out))
        w = row.get("fcc_weight_fraction")
        if row.get("status", "ok") != "ok" or w is None:
            continue
        s = row.get("fcc_weight_fraction_sigma") or 0.0
        out.append((label, predict_cell(float(w), float(s), **kwargs)))
    if not out:
        raise InputError("no item with status 'ok' and an fcc_weight_fraction", source=str(path))
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``xrdkit cell``."""
    kwargs: dict[str, Any] = dict(cathode=args.cathode, loading_mg_per_cm2=args.loading,
                                  loading_basis=args.loading_basis, c_rates=_rates(args.rates),
                                  temperature_C=args.temperature,
                                  stack_pressure_MPa=args.pressure)
    if args.results is not None:
        preds = _from_results(args.results, kwargs)
    else:
        preds = [("", predict_cell(args.fcc_fraction, args.fcc_fraction_sigma, **kwargs))]
    for label, pred in preds:
        _print(pred, label)
    if args.json is not None:
        if args.results is None:
            payload: Any = preds[0][1].to_dict()
        else:
            payload = {"source": str(args.results),
                       "items": [{"item": label, **pred.to_dict()} for label, pred in preds]}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if args.plot is not None:
        from matplotlib.figure import Figure

        from xrdkit.cell.plot import DEFAULT_PURITIES, plot_prediction, plot_rate_vs_purity

        fig = Figure(figsize=(11, 4.5), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        purities = sorted({*DEFAULT_PURITIES, *(round(p.fcc_weight_fraction, 3)
                                                for _, p in preds[:3])}, reverse=True)
        plot_rate_vs_purity(ax1, purities, cathode=args.cathode,
                            loading_mg_per_cm2=args.loading, loading_basis=args.loading_basis,
                            temperature_C=args.temperature)
        for _, pred in preds[:8]:
            plot_prediction(ax2, pred)
        ax2.set_title("prediction ± purity uncertainty")
        fig.savefig(args.plot, dpi=120)
    return 0
