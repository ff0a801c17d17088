"""Plots of spectra and band fits; every function draws on a matplotlib ``ax`` it is given.

No global state is touched (no ``plt.*`` calls); :func:`fit_figure` builds a figure with the
object API for the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from irkit.bands import Band
from irkit.baseline import BaselineResult
from irkit.fit import RegionFit
from irkit.spectra import Spectrum

__all__ = ["plot_spectrum", "plot_baseline", "plot_fit", "plot_residual", "mark_bands",
           "fit_figure"]


def plot_spectrum(ax: Any, spectrum: Spectrum, *, reverse_axis: bool = True, **kw: Any) -> Any:
    """Draw a spectrum (IR convention: wavenumber decreasing to the right)."""
    kw.setdefault("lw", 0.8)
    kw.setdefault("color", "k")
    (line,) = ax.plot(spectrum.wavenumber_cm1, spectrum.values, **kw)
    ax.set_xlabel("wavenumber (cm$^{-1}$)")
    ax.set_ylabel({"transmittance": "transmittance", "atr_absorbance": "ATR absorbance"}
                  .get(spectrum.kind, "absorbance"))
    if reverse_axis and not ax.xaxis_inverted():
        ax.invert_xaxis()
    return line


def plot_baseline(ax: Any, baseline: BaselineResult, **kw: Any) -> Any:
    """Draw a baseline estimate."""
    kw.setdefault("color", "tab:orange")
    kw.setdefault("ls", "--")
    kw.setdefault("label", f"baseline ({baseline.method})")
    (line,) = ax.plot(baseline.wavenumber_cm1, baseline.baseline, **kw)
    return line


def plot_fit(ax: Any, fit: RegionFit, *, components: bool = True,
             reverse_axis: bool = True) -> None:
    """Draw data, model, baseline and (optionally) each band on top of the baseline."""
    x = fit.wavenumber_cm1
    ax.plot(x, fit.data, ".", ms=2, color="k", label="data")
    ax.plot(x, fit.best_fit, color="tab:red", lw=1.2, label="fit")
    ax.plot(x, fit.baseline, color="tab:orange", ls="--", lw=1, label="baseline")
    if components:
        for band, comp in zip(fit.bands, fit.components, strict=True):
            ax.fill_between(x, fit.baseline, fit.baseline + comp, alpha=0.25,
                            label=f"{band.label} {band.center_cm1:.1f}")
    ax.set_xlabel("wavenumber (cm$^{-1}$)")
    ax.set_ylabel("absorbance")
    ax.legend(fontsize="x-small", loc="best")
    if reverse_axis and not ax.xaxis_inverted():
        ax.invert_xaxis()


def plot_residual(ax: Any, fit: RegionFit, *, reverse_axis: bool = True) -> None:
    """Draw the residual ``data − fit`` with a ±1 rms band."""
    x = fit.wavenumber_cm1
    ax.plot(x, fit.residual, lw=0.7, color="k")
    rms = fit.quality.rms_residual
    ax.axhspan(-rms, rms, color="0.85", zorder=0)
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.set_ylabel("residual")
    ax.set_xlabel("wavenumber (cm$^{-1}$)")
    if reverse_axis and not ax.xaxis_inverted():
        ax.invert_xaxis()


def mark_bands(ax: Any, bands: Sequence[Band], *, color: str = "tab:blue",
               labels: bool = True) -> None:
    """Mark band priors with vertical lines (and their labels) inside the current x range."""
    lo, hi = sorted(ax.get_xlim())
    for b in bands:
        if lo <= b.position_cm1 <= hi:
            ax.axvline(b.position_cm1, color=color, lw=0.6, ls=":")
            if labels:
                ax.text(b.position_cm1, 0.98, f"{b.species} {b.position_cm1:g}",
                        rotation=90, va="top", ha="right", fontsize=6, color=color,
                        transform=ax.get_xaxis_transform())


def fit_figure(spectrum: Spectrum, fits: Sequence[RegionFit],
               marked: Sequence[Band] = ()) -> Any:
    """A figure: full spectrum with marked bands on top, then each fit with its residual."""
    from matplotlib.figure import Figure

    n = len(fits)
    fig = Figure(figsize=(4.5 * max(n, 1), 7.5), layout="constrained")
    grid = fig.add_gridspec(3, max(n, 1), height_ratios=(1.2, 1.5, 0.6))
    top = fig.add_subplot(grid[0, :])
    plot_spectrum(top, spectrum)
    mark_bands(top, marked)
    top.set_title(str(spectrum.source), fontsize="small")
    for i, fit in enumerate(fits):
        ax = fig.add_subplot(grid[1, i])
        plot_fit(ax, fit)
        ax.set_title(f"{fit.region}: R² = {fit.quality.r_squared:.4f}", fontsize="small")
        res = fig.add_subplot(grid[2, i], sharex=ax)
        plot_residual(res, fit, reverse_axis=False)
    return fig

