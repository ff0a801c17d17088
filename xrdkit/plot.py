"""Plots for people: Rietveld plots, simulated patterns, series.

Every function draws into an ``ax`` (or a figure) the caller owns; nothing here
touches global pyplot state, and matplotlib is imported only when a plot is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from xrdkit.refine import RefinementResult
    from xrdkit.simulate import SimulatedPattern

__all__ = ["rietveld_figure", "plot_rietveld", "plot_simulated", "new_figure"]

#: Colours per phase, cycled.
PHASE_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink")


def new_figure(**kw: object) -> Figure:
    """A matplotlib Figure not registered with pyplot (safe in threads and batch jobs)."""
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_rietveld(
    result: RefinementResult,
    ax_main: Axes,
    ax_diff: Axes | None = None,
    *,
    wavelengths_angstrom: Sequence[float] | None = None,
    reflections: Sequence[object] | None = None,
    title: str | None = None,
) -> None:
    """Observed (points), calculated (line), per-phase components, difference and tick marks.

    Parameters
    ----------
    result : RefinementResult
    ax_main, ax_diff : matplotlib Axes
        Pattern and difference panels (``ax_diff`` optional).
    wavelengths_angstrom : sequence of float, optional
        For tick marks: primary wavelength used to place reflections.
    reflections : sequence of ReflectionList, optional
        Reflection lists of the refined phases (same order) for tick marks.
    title : str, optional
    """
    x = result.two_theta_deg
    ax_main.plot(x, result.observed, ".", ms=2, color="0.3", label="observed")
    ax_main.plot(x, result.calculated, "-", lw=0.8, color="k", label="calculated")
    ax_main.plot(x, result.background, "--", lw=0.6, color="0.5", label="background")
    for i, (name, comp) in enumerate(result.components.items()):
        ax_main.plot(x, comp + result.background, lw=0.6, color=PHASE_COLOURS[i % len(PHASE_COLOURS)], label=name)
    ymax = float(np.max(result.observed))
    if reflections is not None and wavelengths_angstrom:
        lam = float(wavelengths_angstrom[0])
        for i, (refl, ph) in enumerate(zip(reflections, result.phases, strict=False)):
            d = refl.d_spacing_angstrom(ph.lattice)
            s = lam / (2 * d)
            tt = 2 * np.degrees(np.arcsin(s[s < 1]))
            tt = tt[(tt >= x[0]) & (tt <= x[-1])]
            y0 = -0.04 * ymax * (i + 1)
            ax_main.plot(tt, np.full(tt.size, y0), "|", ms=6, color=PHASE_COLOURS[i % len(PHASE_COLOURS)])
    ax_main.set_ylabel("intensity (counts)")
    ax_main.legend(fontsize=7, loc="upper right")
    label = f"Rwp = {100 * result.rwp:.2f} %, GOF = {result.gof:.2f}"
    ax_main.set_title(f"{title} — {label}" if title else label, fontsize=9)
    if ax_diff is not None:
        ax_diff.plot(x, result.residual, lw=0.6, color="tab:blue")
        ax_diff.axhline(0, color="0.5", lw=0.5)
        ax_diff.set_ylabel("obs − calc")
        ax_diff.set_xlabel("2θ (°)")
    else:
        ax_main.set_xlabel("2θ (°)")


def rietveld_figure(
    result: RefinementResult,
    *,
    reflections: Sequence[object] | None = None,
    wavelengths_angstrom: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """A two-panel Rietveld figure (pattern with ticks, difference)."""
    fig = new_figure(figsize=(9, 5.5))
    gs = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
    ax = fig.add_subplot(gs[0])
    axd = fig.add_subplot(gs[1], sharex=ax)
    plot_rietveld(result, ax, axd, reflections=reflections, wavelengths_angstrom=wavelengths_angstrom, title=title)
    ax.tick_params(labelbottom=False)
    fig.tight_layout()
    return fig


def plot_simulated(pattern: SimulatedPattern, ax: Axes, *, offset: float = 0.0, show_components: bool = True) -> None:
    """Total simulated intensity and (optionally) each phase's contribution."""
    x = pattern.two_theta_deg
    ax.plot(x, pattern.intensity + offset, color="k", lw=0.8, label="total")
    if show_components and len(pattern.components) > 1:
        for i, (name, comp) in enumerate(pattern.components.items()):
            w = pattern.weight_fractions.get(name, float("nan"))
            ax.plot(x, comp + offset, lw=0.6, color=PHASE_COLOURS[i % len(PHASE_COLOURS)],
                    label=f"{name} ({100 * w:.0f} wt %)")
    ax.set_xlabel("2θ (°)")
    ax.set_ylabel("intensity (a.u.)")
    ax.legend(fontsize=7)


def plot_purity_series(rows: Sequence[dict], ax: Axes, *, label: str | None = None,
                       x_key: str | None = None, show_amorphous: bool = True) -> None:
    """fcc share of the borates (± 1σ) per scan of a batch summary (:func:`xrdkit.results.read_summary`),
    and the amorphous share of the scattered intensity.

    ``x_key`` picks the abscissa (e.g. ``"meta_temperature"``); by default the temperature
    when every scan has one and it varies, else the scan index. Failed scans are skipped; scans
    without a purity (no borate) show only their amorphous share.
    """
    done = [r for r in rows if r.get("status") == "ok"]
    if x_key is None:
        temps = [r.get("meta_temperature") for r in done]
        varies = all(t is not None for t in temps) and len(set(temps)) > 1
        x_key = "meta_temperature" if varies else "index"

    def col(key: str, rs: Sequence[dict]) -> np.ndarray:
        return np.array([float(r[key]) if r.get(key) is not None else np.nan for r in rs])

    ok = [r for r in done if r.get("fcc_weight_fraction") is not None]
    x, y, e = col(x_key, ok), col("fcc_weight_fraction", ok), np.nan_to_num(col("fcc_weight_fraction_sigma", ok))
    good = np.isfinite(y)
    ax.errorbar(x[good], 100 * y[good], yerr=100 * e[good], fmt="o-", ms=4, capsize=3,
                label=label or "fcc share of the borates (wt %)")
    if show_amorphous and any(r.get("amorphous_intensity_share") is not None for r in done):
        xa, ya = col(x_key, done), col("amorphous_intensity_share", done)
        fin = np.isfinite(ya)
        ax.plot(xa[fin], 100 * ya[fin], "s--", ms=3, color="0.45", lw=0.9, label="amorphous share of the intensity (%)")
        ax.legend(fontsize=7, loc="best")
    unit = done[0].get("meta_temperature_units") if done and x_key == "meta_temperature" else None
    ax.set_xlabel(f"temperature ({unit})" if unit else ("scan" if x_key == "index" else x_key))
    ax.set_ylabel("share (%)" if show_amorphous else "fcc NBH share of the borates (wt %)")
    ax.set_ylim(-5, 105)
