"""``xrdkit cell``: what an electrolyte purity means for the cell.

    xrdkit cell --fcc-fraction 0.87 --fcc-fraction-sigma 0.03 --cathode 97:1:2 --loading 7.7 \\
        --json OUT.json --plot OUT.png
    xrdkit cell --results RESULTS.h5 --json OUT.json     # one prediction per scan (.h5/.csv/.json)
    xrdkit cell --calibration --json CAL.json            # hold-out checks against the paper

The purity is that of the **cathode's** electrolyte (the scan of an infiltrated electrode); the
separator pellet has its own (--separator-fcc-fraction, default 1: the paper's NBH powder).
Intervals (*_low/*_high) are central 95 % intervals; by default of a calibration-conditioned
Monte Carlo over the purity σ and every documented parameter range (--uncertainty).
Scans whose verdict is no-borate, or that have no fcc_weight_fraction, are refused.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrdkit.errors import InputError
from xrdkit.vocabulary import finite_or_none

if TYPE_CHECKING:  # the cell model (scipy, numba) is imported when the command runs
    from xrdkit.cell.predict import CellPrediction
    from xrdkit.cell.separator import Separator

#: Where a scan's purity applies.
PURITY_TARGETS = ("cathode", "separator", "both")
#: Monte Carlo draws used for the purity curves of --plot (fewer than a prediction: 9 curves).
PLOT_SAMPLES = 256
#: Defaults shown by --help, kept literal so that --help imports nothing heavy;
#: tests/cell/test_cell_cli.py checks them against the library's.
DEFAULT_C_RATES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
UNCERTAINTY_MODES = ("parameters", "purity", "none")
DEFAULT_SAMPLES = 512
DEFAULT_SEED = 20200543


def add_parser(subparsers: Any) -> None:
    """Register the ``cell`` sub-command."""
    p = subparsers.add_parser("cell", help="cell performance from electrolyte purity",
                              description=__doc__.splitlines()[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fcc-fraction", type=float, help="fcc NBH weight fraction (0–1)")
    src.add_argument("--results", type=Path,
                     help="batch results (RESULTS.h5, its --table CSV, or identify/batch JSON)")
    src.add_argument("--calibration", action="store_true",
                     help="hold-out checks against the paper and the interface resistance "
                          "against the literature")
    p.add_argument("--fcc-fraction-sigma", type=float, default=0.0, help="1σ of the fraction")
    p.add_argument("--purity-applies-to", choices=PURITY_TARGETS, default="cathode",
                   help="electrolyte the scan's purity describes (cathode: the infiltrated "
                        "electrode, default)")
    p.add_argument("--cathode", default="97:1:2", help="active:binder:carbon wt %% (97:1:2)")
    p.add_argument("--loading", type=float, default=7.7, help="loading, mg/cm² (7.7)")
    p.add_argument("--loading-basis", choices=("active", "electrode"), default="active",
                   help="loading is NaCrO2 mass (default) or dry composite mass")
    p.add_argument("--porosity", type=float, help="pressed cathode porosity (default 0.34, "
                                                  "drawn from 0.30–0.38)")
    p.add_argument("--separator-fcc-fraction", type=float, default=None,
                   help="fcc weight fraction of the separator pellet (default 1, the paper's "
                        "NBH powder)")
    p.add_argument("--separator-fcc-fraction-sigma", type=float, default=None,
                   help="its 1σ (default 0)")
    p.add_argument("--separator-thickness", type=float, default=None,
                   help="pellet thickness, µm (default 400, drawn from 200–500)")
    p.add_argument("--separator-conductivity", type=float, default=None,
                   help="measured pellet conductivity at the cell temperature, S/cm")
    p.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_C_RATES),
                   help="comma-separated C-rates")
    p.add_argument("--temperature", type=float, default=30.0, help="°C (30)")
    p.add_argument("--pressure", type=float, default=70.0, help="stack pressure, MPa (70)")
    p.add_argument("--uncertainty", choices=UNCERTAINTY_MODES, default="parameters",
                   help="what the intervals carry: parameters (purity σ + every documented "
                        "parameter range, Monte Carlo; default), purity (σ only), none")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"Monte Carlo draws, a power of 2 ({DEFAULT_SAMPLES})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Monte Carlo seed")
    p.add_argument("--json", type=Path, help="write the prediction(s) as JSON")
    p.add_argument("--plot", type=Path, help="write capacity vs C-rate and vs purity (bands)")
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
    pct = f"{100 * pred.interval_probability:g} %"
    print(f"{head}cathode electrolyte fcc {pred.fcc_weight_fraction:.3f} ± "
          f"{pred.fcc_weight_fraction_sigma:.3f}  σ = {pred.sigma_electrolyte_S_per_cm:.3e} S/cm "
          f"[{pred.sigma_electrolyte_S_per_cm_low:.2e}, {pred.sigma_electrolyte_S_per_cm_high:.2e}]"
          f"  cathode {pred.cathode} {pred.loading_mg_per_cm2:g} mg/cm² ({pred.loading_basis})")
    print(f"  separator fcc {pred.separator_fcc_weight_fraction:g}, "
          f"σ = {pred.separator_sigma_S_per_cm:.3e} S/cm; cathode pores: electrolyte "
          f"{pred.electrolyte_volume_fraction:.3f}, void {pred.void_fraction:.3f} of the volume")
    print(f"  {'C-rate':>6} {'mA/cm²':>8} {'mAh/g':>7} {pct + ' interval':>17} {'vs 0.1C':>8}")
    for r in pred.rate_table:
        print(f"  {r.c_rate:6g} {r.current_density_mA_per_cm2:8.3f} {r.capacity_mAh_per_g:7.1f} "
              f"  ({r.capacity_mAh_per_g_low:6.1f} … {r.capacity_mAh_per_g_high:6.1f}) "
              f"{100 * r.retention_vs_0p1C:7.1f}%")
    print(f"  energy {pred.energy_Wh_per_kg:.0f} [{pred.energy_Wh_per_kg_low:.0f}, "
          f"{pred.energy_Wh_per_kg_high:.0f}] Wh/kg(NaCrO2), "
          f"{pred.energy_Wh_per_kg_electrodes:.0f} Wh/kg(electrodes); N/P {pred.np_ratio:.2f} "
          f"[{pred.np_ratio_low:.2f}, {pred.np_ratio_high:.2f}]; "
          f"{100 * pred.retention_after_cycles:.1f}% after {pred.cycles} cycles at "
          f"{pred.stack_pressure_MPa:g} MPa")
    if pred.uncertainty == "parameters":
        print(f"  intervals: Monte Carlo, {pred.samples_accepted} of {pred.samples_drawn} draws "
              "calibrated on the paper; central value = median")


# --- results files ---------------------------------------------------------------------------
def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a results file: HDF5 (closokit results), CSV (its table) or JSON."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError("results file not found", source=str(path))
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc}", source=str(path)) from exc
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            data = data["items"]
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError("JSON results must be an object, a list of objects or "
                             "{'items': [...]}", source=str(path))
        return data
    from xrdkit.results import read_summary

    return read_summary(path)


def _label(row: dict[str, Any], index: int) -> str:
    for key in ("scan", "item", "id", "source"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return f"item {index}"


def _refusal(row: dict[str, Any]) -> str | None:
    """Why a results row has no electrolyte purity to model (None if it has one)."""
    from xrdkit.identify import Verdict

    status = row.get("status") or "ok"
    if status != "ok":
        err = row.get("error")
        return f"status {status!r}" + (f" ({err})" if err else "")
    verdict = row.get("verdict")
    if verdict is not None and str(verdict) == Verdict.NO_BORATE:
        return (f"verdict {Verdict.NO_BORATE}: no crystalline closo-borate, so no electrolyte "
                "purity to model")
    if finite_or_none(row.get("fcc_weight_fraction")) is None:
        v = f" (verdict {verdict})" if verdict not in (None, "") else ""
        return f"fcc_weight_fraction is empty{v}: no electrolyte purity to model"
    return None


def _from_results(path: Path, kwargs: dict[str, Any],
                  applies_to: str) -> tuple[list[tuple[str, CellPrediction]], list[dict[str, str]]]:
    rows = _read_rows(path)
    out, skipped = [], []
    for index, row in enumerate(rows):
        label = _label(row, index)
        why = _refusal(row)
        if why is not None:
            skipped.append({"item": label, "reason": why})
            continue
        w = float(finite_or_none(row.get("fcc_weight_fraction")))  # type: ignore[arg-type]
        s = finite_or_none(row.get("fcc_weight_fraction_sigma")) or 0.0
        out.append((label, _predict(w, s, applies_to, kwargs)))
    if not out:
        if len(skipped) == 1:
            raise InputError(f"{skipped[0]['item']}: {skipped[0]['reason']}", source=str(path))
        if not skipped:
            raise InputError("no scans in the results file", source=str(path))
        reasons = "; ".join(f"{s['item']}: {s['reason']}" for s in skipped)
        raise InputError(f"none of the {len(skipped)} scans can be modelled — {reasons}",
                         source=str(path))
    return out, skipped


def _predict(w: float, s: float, applies_to: str, kwargs: dict[str, Any]) -> CellPrediction:
    """predict_cell with the scan's purity on the cathode, the separator or both.

    A purity applied to the separator alone leaves the cathode's electrolyte phase-pure.
    """
    from xrdkit.cell.predict import predict_cell
    from xrdkit.cell.separator import Separator

    kw = dict(kwargs)
    sep: Separator = kw["separator"]
    if applies_to in ("separator", "both"):
        kw["separator"] = Separator(thickness_um=sep.thickness_um, fcc_weight_fraction=w,
                                    fcc_weight_fraction_sigma=s,
                                    sigma_S_per_cm=sep.sigma_S_per_cm)
    if applies_to == "separator":
        return predict_cell(1.0, 0.0, **kw)
    return predict_cell(w, s, **kw)


def _separator(args: argparse.Namespace) -> Separator:
    from xrdkit.cell.separator import Separator

    return Separator(
        thickness_um=args.separator_thickness,
        fcc_weight_fraction=1.0 if args.separator_fcc_fraction is None
        else args.separator_fcc_fraction,
        fcc_weight_fraction_sigma=0.0 if args.separator_fcc_fraction_sigma is None
        else args.separator_fcc_fraction_sigma,
        sigma_S_per_cm=args.separator_conductivity)


def _calibration(args: argparse.Namespace) -> int:
    from xrdkit.cell.calibration import (
        format_holdout_table,
        holdout_validation,
        interface_resistance_summary,
    )

    rows = holdout_validation(args.samples, args.seed)
    summary = interface_resistance_summary(args.samples, args.seed)
    print("model vs the paper (Duchêne et al. 2020); median and central 95 % interval of the "
          "calibration-conditioned Monte Carlo")
    print(format_holdout_table(rows))
    for key, title in (("per_nacro2_area_ohm_cm2", "per cm² of NaCrO2 surface"),
                       ("per_electrode_area_ohm_cm2", "per cm² of electrode (97:1:2, 7.7 mg)")):
        st = summary[key]
        print(f"interface resistance {title}: nominal {st['nominal']:.0f}, median "
              f"{st['median']:.0f} [{st['low']:.0f}, {st['high']:.0f}] Ω cm²")
    print("literature (per interface area, reference_data/cell/interface_resistance.json):")
    for e in summary["literature"]:
        val = (f"{e['ohm_cm2']:g} Ω cm²" if e.get("ohm_cm2") is not None
               else f"×{e['ratio_to_buffered']:g} its buffered value"
               if e.get("ratio_to_buffered") else "no number")
        print(f"  {e['interface']}: {val} ({e['kind']})")
    if args.json is not None:
        payload = {"holdout": [r.to_dict() for r in rows], "interface_resistance": summary}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``xrdkit cell``."""
    if args.calibration:
        return _calibration(args)
    kwargs: dict[str, Any] = dict(cathode=args.cathode, loading_mg_per_cm2=args.loading,
                                  loading_basis=args.loading_basis, c_rates=_rates(args.rates),
                                  temperature_C=args.temperature,
                                  stack_pressure_MPa=args.pressure, porosity=args.porosity,
                                  uncertainty=args.uncertainty, samples=args.samples,
                                  seed=args.seed, separator=_separator(args))
    skipped: list[dict[str, str]] = []
    if args.results is not None:
        preds, skipped = _from_results(args.results, kwargs, args.purity_applies_to)
    else:
        preds = [("", _predict(args.fcc_fraction, args.fcc_fraction_sigma,
                               args.purity_applies_to, kwargs))]
    for s in skipped:
        print(f"skipped {s['item']}: {s['reason']}", file=sys.stderr)
    for label, pred in preds:
        _print(pred, label)
    if skipped:
        print(f"{len(preds)} scan(s) modelled, {len(skipped)} skipped (see above)")
    if args.json is not None:
        if args.results is None:
            payload: Any = preds[0][1].to_dict()
        else:
            payload = {"source": str(args.results),
                       "items": [{"item": label, **pred.to_dict()} for label, pred in preds],
                       "skipped": skipped}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if args.plot is not None:
        _plot(args, [p for _, p in preds])
    return 0


def _plot(args: argparse.Namespace, preds: list[CellPrediction]) -> None:
    from matplotlib.figure import Figure

    from xrdkit.cell.plot import (
        DEFAULT_PURITIES,
        plot_capacity_vs_purity,
        plot_prediction,
        plot_rate_vs_purity,
    )

    common = dict(cathode=args.cathode, loading_mg_per_cm2=args.loading,
                  loading_basis=args.loading_basis, temperature_C=args.temperature,
                  uncertainty=args.uncertainty, samples=min(args.samples, PLOT_SAMPLES),
                  seed=args.seed)
    fig = Figure(figsize=(16, 4.8), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    purities = sorted({*DEFAULT_PURITIES, *(round(p.fcc_weight_fraction, 3) for p in preds[:3])},
                      reverse=True)
    plot_rate_vs_purity(ax1, purities, **common)
    plot_capacity_vs_purity(ax2, **common)
    for pred in preds[:8]:
        plot_prediction(ax3, pred)
    ax3.set_title(f"prediction, central {100 * preds[0].interval_probability:g} % interval")
    fig.savefig(args.plot, dpi=110)
