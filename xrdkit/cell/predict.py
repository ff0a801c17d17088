"""From phase purity to cell performance: :func:`predict_cell`.

Chain: fcc weight fraction → electrolyte conductivity (effective medium + Arrhenius) → composite
and pellet resistances → capacity at each C-rate (analytic model) → full-cell energy and fade.

Uncertainty.  Every output of the chain is monotonic (non-decreasing) in the fcc weight fraction
— the property tests check this — so the outputs at w − σ and w + σ (clipped to [0, 1]) are
exactly the 16th and 84th percentiles of the outputs for a normally distributed w.  The
prediction reports those as ``*_low``/``*_high``; no sampling is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from xrdkit.cell.conductivity import ElectrolyteParameters, electrolyte_conductivity
from xrdkit.cell.constants import paper_calibration
from xrdkit.cell.electrode import Composition, Electrode, infiltration_loading, parse_composition
from xrdkit.cell.fade import FadeModel
from xrdkit.cell.fullcell import full_cell
from xrdkit.cell.rate import (
    DEFAULT_C_RATES,
    REFERENCE_C_RATE,
    RateParameters,
    rate_capability,
)
from xrdkit.errors import InputError

__all__ = ["RateRow", "CellPrediction", "predict_cell"]

#: Full-cell / half-cell capacity ratio of the paper (110 / 118 mAh g⁻¹) — calibration number.
PAPER_FULL_TO_HALF_CELL_CAPACITY = 110.0 / 118.0
#: Paper's full cell: anode (Sn) loading per cathode (NaCrO2) loading, 1.2 / 5.6.
PAPER_ANODE_PER_CATHODE_LOADING = 1.2 / 5.6


@dataclass(frozen=True)
class RateRow:
    """One row of the rate table; ``*_low``/``*_high`` are the values at fcc fraction ∓ σ."""

    c_rate: float
    current_density_mA_per_cm2: float
    capacity_mAh_per_g: float
    capacity_mAh_per_g_low: float
    capacity_mAh_per_g_high: float
    retention_vs_0p1C: float
    retention_vs_0p1C_low: float
    retention_vs_0p1C_high: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict (``retention_vs_0.1C`` spelled as in the CLI output)."""
        d = asdict(self)
        for suffix in ("", "_low", "_high"):
            d[f"retention_vs_0.1C{suffix}"] = d.pop(f"retention_vs_0p1C{suffix}")
        return d


@dataclass(frozen=True)
class CellPrediction:
    """What a given electrolyte purity means for the cell (units in names).

    ``*_low``/``*_high`` are the model outputs at fcc fraction − σ / + σ (see module docstring).
    Energies: ``energy_Wh_per_kg`` is per kg of NaCrO2 (cathode active mass);
    ``energy_Wh_per_kg_electrodes`` per kg of both composite electrodes (binder and carbon
    included, electrolyte and current collectors excluded).
    """

    fcc_weight_fraction: float
    fcc_weight_fraction_sigma: float
    temperature_C: float
    cathode: str
    loading_mg_per_cm2: float
    loading_basis: str
    sigma_electrolyte_S_per_cm: float
    sigma_electrolyte_S_per_cm_low: float
    sigma_electrolyte_S_per_cm_high: float
    sigma_effective_S_per_cm: float
    thickness_um: float
    areal_capacity_mAh_per_cm2: float
    rate_table: tuple[RateRow, ...]
    energy_Wh_per_kg: float
    energy_Wh_per_kg_low: float
    energy_Wh_per_kg_high: float
    energy_Wh_per_kg_electrodes: float
    np_ratio: float
    mean_voltage_V: float
    stack_pressure_MPa: float
    cycles: int
    retention_after_cycles: float
    expected_electrolyte_weight_fraction: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the ``xrdkit cell --json`` format)."""
        d = asdict(self)
        d["rate_table"] = [row.to_dict() for row in self.rate_table]
        d["notes"] = list(self.notes)
        return d


def _check_inputs(w: float, s: float) -> tuple[float, float]:
    wf = float(w)
    if not math.isfinite(wf) or not 0.0 <= wf <= 1.0:
        raise InputError(f"fcc weight fraction must lie in [0, 1], got {w!r}",
                         source="fcc_weight_fraction")
    sf = float(s)
    if not math.isfinite(sf) or sf < 0.0 or sf > 1.0:
        raise InputError(f"fcc weight fraction sigma must lie in [0, 1], got {s!r}",
                         source="fcc_weight_fraction_sigma")
    return wf, sf


def predict_cell(fcc_weight_fraction: float, fcc_weight_fraction_sigma: float = 0.0, *,
                 cathode: str | Composition = "97:1:2", loading_mg_per_cm2: float = 7.7,
                 loading_basis: str = "active", porosity: float | None = None,
                 c_rates: Sequence[float] = DEFAULT_C_RATES, temperature_C: float | None = None,
                 stack_pressure_MPa: float = 70.0, cycles: int = 100,
                 anode_loading_mg_per_cm2: float | None = None,
                 electrolyte_params: ElectrolyteParameters | None = None,
                 rate_params: RateParameters | None = None,
                 fade: FadeModel | None = None) -> CellPrediction:
    """Predict conductivity, rate capability, energy and fade for an electrolyte of given purity.

    Parameters
    ----------
    fcc_weight_fraction : float
        Weight fraction of fcc NBH in the electrolyte (0–1), e.g. from the XRD fit.
    fcc_weight_fraction_sigma : float
        Its 1σ uncertainty (propagated as the outputs at w ∓ σ).
    cathode : str or Composition
        ``"active:binder:carbon"`` in wt %, summing to 100.
    loading_mg_per_cm2 : float
        Cathode loading (> 0), NaCrO2 mass by default (``loading_basis="active"``).
    porosity : float, optional
        Pressed electrode porosity (default 0.34).
    c_rates : sequence of float
        Rates of the table (> 0); 0.1C is always computed as the retention reference.
    temperature_C : float, optional
        Cell temperature (default 30 °C, the paper's).
    stack_pressure_MPa, cycles : float, int
        For the fade estimate (0.5C cycling in the paper).
    anode_loading_mg_per_cm2 : float, optional
        Sn loading of the full cell (default: the paper's ratio 1.2/5.6 to the cathode loading).
    electrolyte_params, rate_params, fade :
        Model parameters (defaults documented in their classes).

    Returns
    -------
    CellPrediction

    Raises
    ------
    InputError
        Fractions outside [0, 1], compositions not summing to 100, loadings ≤ 0, C-rates ≤ 0.
    """
    w, s = _check_inputs(fcc_weight_fraction, fcc_weight_fraction_sigma)
    comp = parse_composition(cathode)
    kwargs: dict[str, Any] = {} if porosity is None else {"porosity": porosity}
    electrode = Electrode(comp, loading_mg_per_cm2, loading_basis=loading_basis,  # type: ignore[arg-type]
                          **kwargs)
    t_c = paper_calibration()["temperature_C"] if temperature_C is None else float(temperature_C)
    rp = rate_params or RateParameters()
    fm = fade or FadeModel()
    rates = np.atleast_1d(np.asarray(c_rates, dtype=float))
    if rates.ndim != 1 or rates.size == 0 or np.any(~np.isfinite(rates)) or np.any(rates <= 0):
        raise InputError(f"C-rates must be > 0, got {list(np.atleast_1d(c_rates))}",
                         source="c_rates")
    if int(cycles) < 0:
        raise InputError(f"cycles must be ≥ 0, got {cycles!r}", source="cycles")
    all_rates = np.concatenate([[REFERENCE_C_RATE], rates])

    fractions = {"mid": w, "low": max(0.0, w - s), "high": min(1.0, w + s)}
    sigma: dict[str, float] = {}
    caps: dict[str, np.ndarray] = {}
    energy: dict[str, float] = {}
    results = {}
    an_loading = (PAPER_ANODE_PER_CATHODE_LOADING * electrode.active_mass_mg_per_cm2
                  if anode_loading_mg_per_cm2 is None else anode_loading_mg_per_cm2)
    for key, frac in fractions.items():
        sigma[key] = electrolyte_conductivity(frac, t_c, electrolyte_params)
        rc = rate_capability(electrode, sigma[key], all_rates, rp)
        caps[key] = rc.capacity_mAh_per_g
        results[key] = rc
        q_ref = float(rc.capacity_mAh_per_g[0])
        if q_ref > 0:
            fc = full_cell(electrode, an_loading, cathode_capacity_mAh_per_g=q_ref,
                           delivered_capacity_mAh_per_g=q_ref * PAPER_FULL_TO_HALF_CELL_CAPACITY)
            energy[key] = fc.energy_Wh_per_kg_cathode_active
            if key == "mid":
                full = fc
        else:
            energy[key] = 0.0
            if key == "mid":
                full = None

    def retention(c: np.ndarray) -> np.ndarray:
        return c[1:] / c[0] if c[0] > 0 else np.zeros(rates.size)

    ret = {k: retention(v) for k, v in caps.items()}
    rows = tuple(
        RateRow(c_rate=float(rates[i]),
                current_density_mA_per_cm2=float(results["mid"].current_density_mA_per_cm2[i + 1]),
                capacity_mAh_per_g=float(caps["mid"][i + 1]),
                capacity_mAh_per_g_low=float(caps["low"][i + 1]),
                capacity_mAh_per_g_high=float(caps["high"][i + 1]),
                retention_vs_0p1C=float(ret["mid"][i]),
                retention_vs_0p1C_low=float(min(ret["low"][i], ret["high"][i])),
                retention_vs_0p1C_high=float(max(ret["low"][i], ret["high"][i])))
        for i in range(rates.size))
    notes = []
    if caps["mid"][0] <= 0:
        notes.append("no capacity even at 0.1C: electrolyte does not percolate / too resistive")
    notes.append("loading basis: " + ("NaCrO2 (active) mass" if loading_basis == "active"
                                      else "dry composite mass"))
    notes.append("calibrated on the paper: interface resistance, binder film thickness (5C "
                 "retentions), fade law (100-cycle retentions), full/half-cell capacity ratio")
    return CellPrediction(
        fcc_weight_fraction=w,
        fcc_weight_fraction_sigma=s,
        temperature_C=t_c,
        cathode=comp.label(),
        loading_mg_per_cm2=float(loading_mg_per_cm2),
        loading_basis=loading_basis,
        sigma_electrolyte_S_per_cm=sigma["mid"],
        sigma_electrolyte_S_per_cm_low=sigma["low"],
        sigma_electrolyte_S_per_cm_high=sigma["high"],
        sigma_effective_S_per_cm=results["mid"].sigma_effective_S_per_cm,
        thickness_um=electrode.thickness_um,
        areal_capacity_mAh_per_cm2=electrode.areal_capacity_mAh_per_cm2(rp.one_c_mAh_per_g),
        rate_table=rows,
        energy_Wh_per_kg=energy["mid"],
        energy_Wh_per_kg_low=energy["low"],
        energy_Wh_per_kg_high=energy["high"],
        energy_Wh_per_kg_electrodes=full.energy_Wh_per_kg_electrodes if full else 0.0,
        np_ratio=full.np_ratio if full else float("nan"),
        mean_voltage_V=full.mean_voltage_V if full else float("nan"),
        stack_pressure_MPa=float(stack_pressure_MPa),
        cycles=int(cycles),
        retention_after_cycles=float(fm.retention(int(cycles), stack_pressure_MPa)),
        expected_electrolyte_weight_fraction=infiltration_loading(electrode)
        .electrolyte_weight_fraction,
        notes=tuple(notes),
    )
