"""Plots of the cell model; every function draws on a caller's matplotlib ``Axes``.

No pyplot state is touched here: the caller creates the figure (e.g. ``plt.subplots()`` or
``matplotlib.figure.Figure()``) and saves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xrdkit.cell.conductivity import electrolyte_conductivity
from xrdkit.cell.predict import CellPrediction, predict_cell

__all__ = ["plot_rate_vs_purity", "plot_conductivity_vs_purity", "plot_prediction"]

#: Purities drawn by default in the capacity-vs-C-rate plot.
DEFAULT_PURITIES = (1.0, 0.87, 0.6, 0.4, 0.3, 0.2)


def plot_rate_vs_purity(ax: Any, purities: Sequence[float] = DEFAULT_PURITIES,
                        c_rates: Sequence[float] | None = None, **predict_kwargs: Any) -> Any:
    """Capacity (mAh g⁻¹) vs C-rate for several fcc weight fractions; returns ``ax``.

    Curves that collapse to zero show where the electrolyte stops percolating.
    """
    rates = np.geomspace(0.1, 10.0, 25) if c_rates is None else np.asarray(c_rates, float)
    for w in purities:
        pred = predict_cell(w, 0.0, c_rates=rates, **predict_kwargs)
        cap = [row.capacity_mAh_per_g for row in pred.rate_table]
        ax.plot(rates, cap, marker="o", ms=3,
                label=f"fcc {100 * w:.0f} wt %  (σ = {pred.sigma_electrolyte_S_per_cm:.1e} S/cm)")
    ax.set_xscale("log")
    ax.set_xlabel("C-rate (1C = 120 mA g⁻¹ NaCrO2)")
    ax.set_ylabel("discharge capacity (mAh g⁻¹ NaCrO2)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    ax.set_title("rate capability vs electrolyte purity (analytic model)")
    return ax


def plot_conductivity_vs_purity(ax: Any, temperature_C: float = 30.0, **kwargs: Any) -> Any:
    """Electrolyte conductivity vs fcc weight fraction (log scale); returns ``ax``."""
    w = np.linspace(0.0, 1.0, 101)
    sig = [electrolyte_conductivity(x, temperature_C, **kwargs) for x in w]
    ax.semilogy(w, sig)
    ax.set_xlabel("fcc weight fraction")
    ax.set_ylabel(f"σ electrolyte at {temperature_C:g} °C (S cm⁻¹)")
    return ax


def plot_prediction(ax: Any, prediction: CellPrediction) -> Any:
    """One prediction's rate table with its ±σ band; returns ``ax``."""
    rates = np.array([r.c_rate for r in prediction.rate_table])
    mid = np.array([r.capacity_mAh_per_g for r in prediction.rate_table])
    lo = np.array([r.capacity_mAh_per_g_low for r in prediction.rate_table])
    hi = np.array([r.capacity_mAh_per_g_high for r in prediction.rate_table])
    ax.fill_between(rates, lo, hi, alpha=0.3)
    ax.plot(rates, mid, marker="o",
            label=f"fcc {prediction.fcc_weight_fraction:.2f} ± "
                  f"{prediction.fcc_weight_fraction_sigma:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("C-rate")
    ax.set_ylabel("capacity (mAh g⁻¹ NaCrO2)")
    ax.legend(fontsize="small")
    return ax
