"""Plots of the cell model; every function draws on a caller's matplotlib ``Axes``.

No pyplot state is touched here: the caller creates the figure (e.g. ``plt.subplots()`` or
``matplotlib.figure.Figure()``) and saves it.  Bands are the central 95 % intervals of
:func:`~xrdkit.cell.predict.predict_cell` (``uncertainty=`` passes through).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xrdkit.cell.conductivity import electrolyte_conductivity
from xrdkit.cell.constants import material, material_range
from xrdkit.cell.predict import CellPrediction, predict_cell

__all__ = ["plot_rate_vs_purity", "plot_capacity_vs_purity", "plot_conductivity_vs_purity",
           "plot_prediction", "DEFAULT_PURITIES"]

#: Purities drawn by default in the capacity-vs-C-rate plot.
DEFAULT_PURITIES = (1.0, 0.87, 0.6, 0.4, 0.3, 0.2)
#: C-rates of the capacity-vs-purity plot.
PURITY_CURVE_RATES = (0.1, 1.0, 5.0)


def plot_rate_vs_purity(ax: Any, purities: Sequence[float] = DEFAULT_PURITIES,
                        c_rates: Sequence[float] | None = None, **predict_kwargs: Any) -> Any:
    """Capacity (mAh g⁻¹) vs C-rate for several fcc weight fractions, with bands; returns ``ax``."""
    rates = np.geomspace(0.1, 10.0, 13) if c_rates is None else np.asarray(c_rates, float)
    for w in purities:
        pred = predict_cell(w, 0.0, c_rates=rates, **predict_kwargs)
        mid = [row.capacity_mAh_per_g for row in pred.rate_table]
        lo = [row.capacity_mAh_per_g_low for row in pred.rate_table]
        hi = [row.capacity_mAh_per_g_high for row in pred.rate_table]
        (line,) = ax.plot(rates, mid, marker="o", ms=3,
                          label=f"fcc {100 * w:.0f} wt %  (σ = "
                                f"{pred.sigma_electrolyte_S_per_cm:.1e} S/cm)")
        ax.fill_between(rates, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("C-rate (1C = 120 mA g⁻¹ NaCrO2)")
    ax.set_ylabel("discharge capacity (mAh g⁻¹ NaCrO2)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="x-small")
    ax.set_title("rate capability vs the cathode electrolyte's purity")
    return ax


def plot_capacity_vs_purity(ax: Any, c_rates: Sequence[float] = PURITY_CURVE_RATES,
                            purities: Sequence[float] | None = None,
                            **predict_kwargs: Any) -> Any:
    """Capacity vs the cathode electrolyte's fcc fraction at a few C-rates, with bands.

    The grey span is the documented range of the percolation threshold φc of the fcc phase
    within the electrolyte (materials.json), the dashed line its nominal value: below it the
    conductive phase no longer forms a connected path — the physical cause of the fall.
    (φc is a volume fraction; fcc NBH and the precursors have nearly equal densities, so it
    reads directly as a weight fraction.)  Returns ``ax``.
    """
    ws = np.linspace(0.0, 1.0, 41) if purities is None else np.asarray(purities, float)
    rates = np.asarray(c_rates, float)
    mid = np.empty((ws.size, rates.size))
    lo, hi = np.empty_like(mid), np.empty_like(mid)
    for i, w in enumerate(ws):
        pred = predict_cell(float(w), 0.0, c_rates=rates, **predict_kwargs)
        for k, row in enumerate(pred.rate_table):
            mid[i, k], lo[i, k], hi[i, k] = (row.capacity_mAh_per_g, row.capacity_mAh_per_g_low,
                                             row.capacity_mAh_per_g_high)
    phi_lo, phi_hi = material_range("percolation_threshold_volume_fraction")
    ax.axvspan(phi_lo, phi_hi, color="0.85", zorder=0,
               label=f"φc range {phi_lo:g}–{phi_hi:g}")
    ax.axvline(material("percolation_threshold_volume_fraction"), color="0.4", ls="--", lw=1,
               label="φc nominal")
    for k, r in enumerate(rates):
        (line,) = ax.plot(ws, mid[:, k], label=f"{r:g}C")
        ax.fill_between(ws, lo[:, k], hi[:, k], color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("fcc weight fraction of the cathode's electrolyte")
    ax.set_ylabel("discharge capacity (mAh g⁻¹ NaCrO2)")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="x-small", loc="lower right")
    ax.set_title("capacity vs purity: falls where fcc stops percolating")
    return ax


def plot_conductivity_vs_purity(ax: Any, temperature_C: float = 30.0, **kwargs: Any) -> Any:
    """Electrolyte conductivity vs fcc weight fraction (log scale, nominal model); returns ``ax``."""
    w = np.linspace(0.0, 1.0, 101)
    sig = [electrolyte_conductivity(x, temperature_C, **kwargs) for x in w]
    ax.semilogy(w, sig)
    ax.set_xlabel("fcc weight fraction")
    ax.set_ylabel(f"σ electrolyte at {temperature_C:g} °C (S cm⁻¹)")
    return ax


def plot_prediction(ax: Any, prediction: CellPrediction) -> Any:
    """One prediction's rate table with its interval band; returns ``ax``."""
    rates = np.array([r.c_rate for r in prediction.rate_table])
    mid = np.array([r.capacity_mAh_per_g for r in prediction.rate_table])
    lo = np.array([r.capacity_mAh_per_g_low for r in prediction.rate_table])
    hi = np.array([r.capacity_mAh_per_g_high for r in prediction.rate_table])
    (line,) = ax.plot(rates, mid, marker="o",
                      label=f"fcc {prediction.fcc_weight_fraction:.2f} ± "
                            f"{prediction.fcc_weight_fraction_sigma:.2f}")
    ax.fill_between(rates, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("C-rate")
    ax.set_ylabel("capacity (mAh g⁻¹ NaCrO2)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return ax
