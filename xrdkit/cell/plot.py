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
    """Capacity (mAh g⁻¹) vs C-rate for several fcc weight fractions, with bands; returns ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    purities : sequence of float
        fcc weight fractions of the cathode's electrolyte, one curve each (σ = 0).
    c_rates : sequence of float, optional
        C-rates (default 13 from 0.1 to 10C, log-spaced).
    **predict_kwargs
        Passed to :func:`~xrdkit.cell.predict.predict_cell` (e.g. ``cathode``,
        ``uncertainty``; the default Monte Carlo takes a few seconds per curve).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with one line and band per purity (log C-rate axis).

    Examples
    --------
    Two purities, nominal model (no bands); the phase-pure curve is
    :func:`~xrdkit.cell.rate.rate_capability` with pure electrolyte at 30 °C:

    >>> from matplotlib.figure import Figure
    >>> from xrdkit.cell import Electrode, electrolyte_conductivity, rate_capability
    >>> from xrdkit.cell.plot import plot_rate_vs_purity
    >>> ax = plot_rate_vs_purity(Figure().add_subplot(), purities=(1.0, 0.5),
    ...                          c_rates=(0.1, 1.0, 5.0), uncertainty="none")
    >>> [line.get_label() for line in ax.lines]
    ['fcc 100 wt %  (σ = 1.5e-03 S/cm)', 'fcc 50 wt %  (σ = 2.5e-04 S/cm)']
    >>> ax.lines[0].get_ydata().round(1)                                              # mAh/g
    array([118.2, 116.9,  79.6])
    >>> rate_capability(Electrode("97:1:2", 7.7), electrolyte_conductivity(1.0, 30.0),
    ...                 (0.1, 1.0, 5.0)).capacity_mAh_per_g.round(1)
    array([118.2, 116.9,  79.6])
    """
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

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    c_rates : sequence of float
        One curve per C-rate (default 0.1, 1 and 5C).
    purities : sequence of float, optional
        fcc weight fractions on the x axis (default 41 from 0 to 1).
    **predict_kwargs
        Passed to :func:`~xrdkit.cell.predict.predict_cell`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with the φc span and line and one curve with band per C-rate.

    Examples
    --------
    Three purities, nominal model; the dashed line sits at the documented φc = 0.16:

    >>> from matplotlib.figure import Figure
    >>> from xrdkit.cell.plot import plot_capacity_vs_purity
    >>> ax = plot_capacity_vs_purity(Figure().add_subplot(), purities=[0.2, 0.5, 1.0],
    ...                              uncertainty="none")
    >>> [line.get_label() for line in ax.lines]
    ['φc nominal', '0.1C', '1C', '5C']
    >>> ax.lines[0].get_xdata()[0], ax.lines[3].get_ydata().round(1)     # φc; 5C in mAh/g
    (0.16, array([ 0. , 51.5, 79.6]))
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
    """Electrolyte conductivity vs fcc weight fraction (log scale, nominal model); returns ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    temperature_C : float
        Temperature of the conductivities (°C).
    **kwargs
        Passed to :func:`~xrdkit.cell.conductivity.electrolyte_conductivity` (``params``).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with one curve over 101 purities from 0 to 1.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from xrdkit.cell import electrolyte_conductivity
    >>> from xrdkit.cell.plot import plot_conductivity_vs_purity
    >>> ax = plot_conductivity_vs_purity(Figure().add_subplot(), temperature_C=30.0)
    >>> ax.get_yscale(), ax.get_ylabel()
    ('log', 'σ electrolyte at 30 °C (S cm⁻¹)')
    >>> float(ax.lines[0].get_ydata()[-1]) == electrolyte_conductivity(1.0, 30.0)    # S/cm
    True
    """
    w = np.linspace(0.0, 1.0, 101)
    sig = [electrolyte_conductivity(x, temperature_C, **kwargs) for x in w]
    ax.semilogy(w, sig)
    ax.set_xlabel("fcc weight fraction")
    ax.set_ylabel(f"σ electrolyte at {temperature_C:g} °C (S cm⁻¹)")
    return ax


def plot_prediction(ax: Any, prediction: CellPrediction) -> Any:
    """One prediction's rate table with its interval band; returns ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    prediction : CellPrediction
        From :func:`~xrdkit.cell.predict.predict_cell`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with the capacities vs C-rate (log axis) and their interval as a band.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from xrdkit.cell import predict_cell
    >>> from xrdkit.cell.plot import plot_prediction
    >>> cell = predict_cell(0.87, 0.03, c_rates=(0.1, 1.0, 5.0), uncertainty="purity")
    >>> ax = plot_prediction(Figure().add_subplot(), cell)
    >>> ax.lines[0].get_label(), ax.lines[0].get_ydata().round(1)                    # mAh/g
    ('fcc 0.87 ± 0.03', array([118.2, 116.9,  77.4]))
    >>> len(ax.collections)                                                   # the band
    1
    """
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
