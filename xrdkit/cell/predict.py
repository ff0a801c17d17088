"""From phase purity to cell performance: :func:`predict_cell`.

Chain: fcc weight fraction of the **cathode's** electrolyte (the scan's purity) → its
conductivity (effective medium + Arrhenius) → composite resistance on the electrolyte-filled
pore fraction (void stays void) → with the **separator pellet's own** electrolyte (default:
phase-pure NBH, 400 µm) → capacity at each C-rate (slab model) → full-cell energy, N/P, fade.

Uncertainty (``uncertainty=``):

``"parameters"`` (default)
    Calibration-conditioned Monte Carlo (:mod:`xrdkit.cell.uncertainty`): the purity σ and every
    documented parameter range, each draw refitted to the paper's 5C retentions.  The central
    value is the median, ``*_low``/``*_high`` the 2.5th/97.5th percentiles.
``"purity"``
    Only the purity σ, parameters at their documented values; every output is non-decreasing in
    the purity, so the outputs at w ∓ 1.96σ (clipped to [0, 1]) are exactly the 2.5th/97.5th
    percentiles.  The central value is the nominal model at w.
``"none"``
    The nominal model; ``*_low`` = ``*_high`` = central value.

Before issue 18, ``*_low``/``*_high`` were the outputs at w ∓ 1σ (a 68 % interval of the purity
alone) and the electrode's purity was also applied to the separator pellet.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from xrdkit._summary import HtmlSummary
from xrdkit.cell.conductivity import ElectrolyteParameters, electrolyte_conductivity
from xrdkit.cell.constants import material, paper_calibration
from xrdkit.cell.electrode import Composition, Electrode, parse_composition
from xrdkit.cell.fade import FadeModel
from xrdkit.cell.fullcell import full_cell
from xrdkit.cell.rate import (
    DEFAULT_C_RATES,
    REFERENCE_C_RATE,
    RateParameters,
    interface_terms,
    rate_capability,
)
from xrdkit.cell.separator import Separator
from xrdkit.cell.uncertainty import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    INTERVAL_PROBABILITY,
    PAPER_ANODE_PER_CATHODE_LOADING,
    PAPER_FULL_TO_HALF_CELL_CAPACITY,
    calibrated_ensemble,
    central_interval,
    evaluate,
)
from xrdkit.errors import InputError

__all__ = ["RateRow", "CellPrediction", "predict_cell", "UNCERTAINTY_MODES"]

#: What ``uncertainty=`` accepts (module docstring).
UNCERTAINTY_MODES = ("parameters", "purity", "none")
#: Standard-normal quantile of the central interval (97.5th percentile).
_Z_INTERVAL = 1.959963984540054


@dataclass(frozen=True)
class RateRow:
    """One row of the rate table; ``*_low``/``*_high`` bound the central 95 % interval.

    Attributes
    ----------
    c_rate : float
        C-rate (1C = 120 mA g⁻¹ of NaCrO2).
    current_density_mA_per_cm2 : float
        Current density of that rate, mA cm⁻².
    capacity_mAh_per_g, capacity_mAh_per_g_low, capacity_mAh_per_g_high : float
        Discharge capacity per g of NaCrO2 and its interval.
    retention_vs_0p1C, retention_vs_0p1C_low, retention_vs_0p1C_high : float
        Capacity relative to the 0.1C capacity, and its interval.

    Examples
    --------
    A row of :func:`predict_cell`'s ``rate_table``: the paper's cathode at 5C, its electrolyte
    87 ± 3 % fcc (purity σ alone); the current is 5 × 7.7 mg cm⁻² × 120 mA g⁻¹:

    >>> from xrdkit.cell import predict_cell
    >>> row = predict_cell(0.87, 0.03, c_rates=(5.0,), uncertainty="purity").rate_table[0]
    >>> row.c_rate, round(row.current_density_mA_per_cm2, 3), round(5 * 7.7e-3 * 120, 3)  # mA/cm²
    (5.0, 4.62, 4.62)
    >>> [round(q, 1) for q in (row.capacity_mAh_per_g_low, row.capacity_mAh_per_g, row.capacity_mAh_per_g_high)]
    [76.0, 77.4, 78.6]
    >>> round(row.retention_vs_0p1C, 3), sorted(row.to_dict())[-3:]
    (0.655, ['retention_vs_0.1C', 'retention_vs_0.1C_high', 'retention_vs_0.1C_low'])
    """

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
class CellPrediction(HtmlSummary):
    """What a given electrolyte purity means for the cell (units in names).

    ``*_low``/``*_high`` bound the central 95 % interval (``uncertainty`` says of what; see the
    module docstring).  ``fcc_weight_fraction`` is the purity of the cathode's electrolyte;
    the separator has its own (``separator_*``).  Energies: ``energy_Wh_per_kg`` is per kg of
    NaCrO2 (cathode active mass); ``energy_Wh_per_kg_electrodes`` per kg of both composite
    electrodes (binder and carbon included, electrolyte and current collectors excluded).
    ``electrolyte_volume_fraction`` is the electrolyte-filled share of the pressed cathode,
    ``void_fraction`` its empty pore share.

    :meth:`summary` is a one-screen report (:meth:`headline` its first line, also the
    ``repr``).

    Attributes
    ----------
    fcc_weight_fraction, fcc_weight_fraction_sigma : float
        Purity of the cathode's electrolyte (fcc NBH weight fraction) and its 1σ, as given.
    temperature_C : float
        Cell temperature, °C.
    cathode : str
        Composition label, ``"active:binder:carbon"`` in wt %.
    loading_mg_per_cm2 : float
        Cathode loading, mg cm⁻² (see ``loading_basis``).
    loading_basis : str
        ``"active"`` (NaCrO2 mass) or ``"electrode"`` (dry composite mass).
    sigma_electrolyte_S_per_cm, sigma_electrolyte_S_per_cm_low, sigma_electrolyte_S_per_cm_high : float
        Conductivity of the cathode's electrolyte, S cm⁻¹, and its interval.
    sigma_effective_S_per_cm : float
        Composite conductivity σ ε_el^β, S cm⁻¹.
    thickness_um : float
        Pressed cathode thickness, µm.
    areal_capacity_mAh_per_cm2 : float
        NaCrO2 loading × 120 mAh g⁻¹ (the 1C basis), mAh cm⁻².
    rate_table : tuple of RateRow
        One row per requested C-rate.
    energy_Wh_per_kg, energy_Wh_per_kg_low, energy_Wh_per_kg_high : float
        Full-cell specific energy per kg of NaCrO2, and its interval.
    energy_Wh_per_kg_electrodes, energy_Wh_per_kg_electrodes_low, energy_Wh_per_kg_electrodes_high : float
        The same per kg of both composite electrodes.
    np_ratio, np_ratio_low, np_ratio_high : float
        Anode/cathode areal capacity ratio, and its interval.
    mean_voltage_V : float
        Mean full-cell voltage, V.
    stack_pressure_MPa, cycles : float, int
        Conditions of the fade estimate.
    retention_after_cycles : float
        Share of the capacity left after ``cycles`` cycles (:class:`FadeModel`).
    expected_electrolyte_weight_fraction : float
        Electrolyte weight fraction dried inside the cathode's pores (mass balance).
    notes : tuple of str
        Loading basis, what the intervals are, what is calibrated, warnings.
    separator_fcc_weight_fraction, separator_fcc_weight_fraction_sigma : float
        Purity of the separator pellet's electrolyte and its 1σ.
    separator_thickness_um : float
        Pellet thickness, µm.
    separator_sigma_S_per_cm, separator_sigma_S_per_cm_low, separator_sigma_S_per_cm_high : float
        Pellet conductivity, S cm⁻¹, and its interval.
    electrolyte_volume_fraction, electrolyte_volume_fraction_low, electrolyte_volume_fraction_high : float
        Electrolyte-filled share of the pressed cathode, and its interval.
    void_fraction : float
        Empty pore share of the pressed cathode.
    interface_resistance_ohm_cm2, interface_resistance_ohm_cm2_low, interface_resistance_ohm_cm2_high : float
        Interface resistance per cm² of electrode, and its interval.
    uncertainty : str
        ``"parameters"``, ``"purity"`` or ``"none"`` (module docstring).
    interval_probability : float
        Probability content of the intervals (0.95).
    samples_drawn, samples_accepted : int
        Monte Carlo draws made and accepted by the calibration (0 without Monte Carlo).

    Examples
    --------
    With the purity σ alone the interval bounds are the model at w ∓ 1.96σ: the lower
    conductivity is that of 81.1 % fcc; the areal capacity is 7.7 mg cm⁻² × 120 mAh g⁻¹ and
    the fade the paper's 95.6 % after 100 cycles at 70 MPa:

    >>> from xrdkit.cell import electrolyte_conductivity, predict_cell
    >>> cell = predict_cell(0.87, 0.03, c_rates=(1.0, 5.0), uncertainty="purity")
    >>> low = electrolyte_conductivity(0.87 - 1.959963984540054 * 0.03, 30.0)
    >>> f"{cell.sigma_electrolyte_S_per_cm_low:.4e} {low:.4e} S/cm"
    '8.8848e-04 8.8848e-04 S/cm'
    >>> cell.areal_capacity_mAh_per_cm2, round(cell.retention_after_cycles, 3)        # mAh/cm², –
    (0.924, 0.956)
    >>> round(cell.thickness_um, 1), round(cell.electrolyte_volume_fraction, 3), cell.samples_drawn
    (28.7, 0.226, 0)
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
    energy_Wh_per_kg_electrodes_low: float = math.nan
    energy_Wh_per_kg_electrodes_high: float = math.nan
    np_ratio_low: float = math.nan
    np_ratio_high: float = math.nan
    separator_fcc_weight_fraction: float = 1.0
    separator_fcc_weight_fraction_sigma: float = 0.0
    separator_thickness_um: float = math.nan
    separator_sigma_S_per_cm: float = math.nan
    separator_sigma_S_per_cm_low: float = math.nan
    separator_sigma_S_per_cm_high: float = math.nan
    electrolyte_volume_fraction: float = math.nan
    electrolyte_volume_fraction_low: float = math.nan
    electrolyte_volume_fraction_high: float = math.nan
    void_fraction: float = math.nan
    interface_resistance_ohm_cm2: float = math.nan
    interface_resistance_ohm_cm2_low: float = math.nan
    interface_resistance_ohm_cm2_high: float = math.nan
    uncertainty: str = "parameters"
    interval_probability: float = INTERVAL_PROBABILITY
    samples_drawn: int = 0
    samples_accepted: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the ``xrdkit cell --json`` format)."""
        d = asdict(self)
        d["rate_table"] = [row.to_dict() for row in self.rate_table]
        d["notes"] = list(self.notes)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        return d

    # ------------------------------------------------------------------ reports

    def headline(self) -> str:
        """The prediction in one line: purity, capacity at the highest C-rate (interval, share
        of 0.1C) and the specific energy."""
        top = max(self.rate_table, key=lambda r: r.c_rate)
        return (f"fcc {self.fcc_weight_fraction:.3f} ± {self.fcc_weight_fraction_sigma:.3f} → "
                f"{top.c_rate:g}C: {self._interval(top.capacity_mAh_per_g, top.capacity_mAh_per_g_low, top.capacity_mAh_per_g_high, '.1f')} mAh/g "
                f"({_percent(top.retention_vs_0p1C)} of 0.1C); "
                f"{self._interval(self.energy_Wh_per_kg, self.energy_Wh_per_kg_low, self.energy_Wh_per_kg_high, '.0f')} "
                "Wh/kg NaCrO2")

    def __repr__(self) -> str:
        text = f"<CellPrediction {self.cathode} at {self.loading_mg_per_cm2:g} mg/cm²: {self.headline()}>"
        return text if len(text) <= _REPR_MAX_CHARS else text[: _REPR_MAX_CHARS - 2] + "…>"

    def _interval(self, mid: float, low: float, high: float, fmt: str) -> str:
        """``mid [low, high]``, or ``mid`` alone without intervals (``uncertainty="none"``)."""
        text = _num(mid, fmt)
        if self.uncertainty == "none":
            return text
        return f"{text} [{_num(low, fmt)}, {_num(high, fmt)}]"

    def summary(self) -> str:
        """A one-screen text report: the headline, what the intervals are, the electrolyte and
        electrode, the rate table, the full cell and fade, the notes.

        ``[low, high]`` is the central interval (:attr:`interval_probability`) of what
        :attr:`uncertainty` says; without intervals (``"none"``) only the value is shown.

        Returns
        -------
        str

        Examples
        --------
        The nominal model for the paper's 97:1:2 cathode, electrolyte 87 ± 3 % fcc, with the
        intervals of the purity σ alone (fast: no Monte Carlo):

        >>> from xrdkit.cell import predict_cell
        >>> cell = predict_cell(0.87, 0.03, c_rates=(0.1, 1.0, 5.0), uncertainty="purity")
        >>> cell
        <CellPrediction 97:1:2 at 7.7 mg/cm²: fcc 0.870 ± 0.030 → 5C: 77.4 [76.0, 78.6] mAh/g (65.5 % of 0.1C); 283 [283, 283] Wh/kg NaCrO2>
        >>> print(cell.summary())
        [[Cell prediction]] NaCrO2 cathode 97:1:2, 7.7 mg/cm² (active mass), 30 °C
            fcc 0.870 ± 0.030 → 5C: 77.4 [76.0, 78.6] mAh/g (65.5 % of 0.1C); 283 [283, 283] Wh/kg NaCrO2
            intervals: central 95 % of the purity σ alone (outputs at w ∓ 1.96σ)
        [[Electrolyte]]  fcc weight fraction, ionic conductivity
            cathode's    fcc 0.870 ± 0.030   σ 1.05e-03 [8.88e-04, 1.23e-03] S/cm
            separator    fcc 1.000 ± 0.000   σ 1.47e-03 [1.47e-03, 1.47e-03] S/cm (400 µm)
            composite    σ_eff 1.13e-04 S/cm; pores: electrolyte 0.226 [0.226, 0.226] of the volume, void 0.114
            interface    122 [122, 122] Ω cm²
        [[Rate capability]]  C-rate   mA/cm²   capacity (mAh/g)   share of 0.1C
            0.1       0.092   118.2 [118.2, 118.2]   100.0 % [100.0 %, 100.0 %]
            1         0.924   116.9 [116.9, 116.9]   98.9 % [98.9 %, 98.9 %]
            5         4.620   77.4 [76.0, 78.6]      65.5 % [64.3 %, 66.5 %]
        [[Full cell]]
            energy 283 [283, 283] Wh/kg NaCrO2; 223 [223, 223] Wh/kg electrodes
            N/P 1.15 [1.15, 1.15]; mean voltage 2.57 V
            cathode 28.7 µm, 0.924 mAh/cm²; electrolyte expected at 8.7 % of its mass
            fade: 95.6 % left after 100 cycles at 70 MPa
        [[Notes]]
            loading basis: NaCrO2 (active) mass
            the purity applies to the cathode's electrolyte; the separator pellet has its own (fcc 1)
            calibrated on the paper: interface resistance, binder film thickness (5C retentions), fade law
              (100-cycle retentions, purity-independent), full/half-cell capacity ratio

        Only the 5C capacity depends on the purity here: with the purity σ alone, the 0.1C
        capacity, and so the energy, has no spread (the default ``uncertainty="parameters"``
        adds every documented parameter range).
        """
        iv = self._interval
        pct = f"{100 * self.interval_probability:g} %"
        if self.uncertainty == "parameters":
            what = (f"intervals: central {pct} of a calibrated Monte Carlo ({self.samples_accepted} "
                    f"of {self.samples_drawn} draws accepted); central value = median")
        elif self.uncertainty == "purity":
            what = f"intervals: central {pct} of the purity σ alone (outputs at w ∓ 1.96σ)"
        else:
            what = "no intervals (nominal model)"
        basis = "active mass" if self.loading_basis == "active" else "dry composite mass"
        lines = [
            f"[[Cell prediction]] NaCrO2 cathode {self.cathode}, {self.loading_mg_per_cm2:g} mg/cm² "
            f"({basis}), {self.temperature_C:g} °C",
            f"    {self.headline()}",
            f"    {what}",
            "[[Electrolyte]]  fcc weight fraction, ionic conductivity",
            f"    cathode's    fcc {self.fcc_weight_fraction:.3f} ± {self.fcc_weight_fraction_sigma:.3f}   "
            f"σ {iv(self.sigma_electrolyte_S_per_cm, self.sigma_electrolyte_S_per_cm_low, self.sigma_electrolyte_S_per_cm_high, '.2e')} S/cm",
            f"    separator    fcc {self.separator_fcc_weight_fraction:.3f} ± "
            f"{self.separator_fcc_weight_fraction_sigma:.3f}   "
            f"σ {iv(self.separator_sigma_S_per_cm, self.separator_sigma_S_per_cm_low, self.separator_sigma_S_per_cm_high, '.2e')} S/cm "
            f"({_num(self.separator_thickness_um, '.0f')} µm)",
            f"    composite    σ_eff {_num(self.sigma_effective_S_per_cm, '.2e')} S/cm; pores: electrolyte "
            f"{iv(self.electrolyte_volume_fraction, self.electrolyte_volume_fraction_low, self.electrolyte_volume_fraction_high, '.3f')} "
            f"of the volume, void {_num(self.void_fraction, '.3f')}",
            f"    interface    {iv(self.interface_resistance_ohm_cm2, self.interface_resistance_ohm_cm2_low, self.interface_resistance_ohm_cm2_high, '.0f')} Ω cm²",
            "[[Rate capability]]  C-rate   mA/cm²   capacity (mAh/g)   share of 0.1C",
        ]
        for r in self.rate_table:
            share = (_percent(r.retention_vs_0p1C) if self.uncertainty == "none" else
                     f"{_percent(r.retention_vs_0p1C)} [{_percent(r.retention_vs_0p1C_low)}, "
                     f"{_percent(r.retention_vs_0p1C_high)}]")
            lines.append(f"    {r.c_rate:<6g} {r.current_density_mA_per_cm2:8.3f}   "
                         f"{iv(r.capacity_mAh_per_g, r.capacity_mAh_per_g_low, r.capacity_mAh_per_g_high, '.1f'):22s} "
                         f"{share}")
        lines += [
            "[[Full cell]]",
            f"    energy {iv(self.energy_Wh_per_kg, self.energy_Wh_per_kg_low, self.energy_Wh_per_kg_high, '.0f')} "
            f"Wh/kg NaCrO2; {iv(self.energy_Wh_per_kg_electrodes, self.energy_Wh_per_kg_electrodes_low, self.energy_Wh_per_kg_electrodes_high, '.0f')} "
            "Wh/kg electrodes",
            f"    N/P {iv(self.np_ratio, self.np_ratio_low, self.np_ratio_high, '.2f')}; mean voltage "
            f"{_num(self.mean_voltage_V, '.2f')} V",
            f"    cathode {_num(self.thickness_um, '.1f')} µm, {_num(self.areal_capacity_mAh_per_cm2, '.3f')} "
            f"mAh/cm²; electrolyte expected at {_percent(self.expected_electrolyte_weight_fraction)} "
            "of its mass",
            f"    fade: {_percent(self.retention_after_cycles)} left after {self.cycles} cycles at "
            f"{self.stack_pressure_MPa:g} MPa",
        ]
        # what the intervals are is said above
        notes = [n for n in self.notes if not n.startswith(("intervals:", "no intervals"))]
        if notes:
            lines.append("[[Notes]]")
            for n in notes:
                lines += textwrap.wrap(n, _REPORT_WIDTH, initial_indent="    ",
                                       subsequent_indent="      ", break_on_hyphens=False)
        return "\n".join(lines)


#: Longest ``repr`` of a prediction, and the width notes are wrapped to in a summary.
_REPR_MAX_CHARS = 199
_REPORT_WIDTH = 100


def _num(value: float, fmt: str) -> str:
    """``value`` formatted, or ``—`` when it is not a finite number."""
    return format(value, fmt) if math.isfinite(value) else "—"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f} %" if math.isfinite(fraction) else "— %"


def _check_inputs(w: float, s: float, what: str = "fcc weight fraction") -> tuple[float, float]:
    wf = float(w)
    if not math.isfinite(wf) or not 0.0 <= wf <= 1.0:
        raise InputError(f"{what} must lie in [0, 1], got {w!r}", source="fcc_weight_fraction")
    sf = float(s)
    if not math.isfinite(sf) or sf < 0.0 or sf > 1.0:
        raise InputError(f"{what} sigma must lie in [0, 1], got {s!r}",
                         source="fcc_weight_fraction_sigma")
    return wf, sf


@dataclass(frozen=True)
class _Outputs:
    """Central value and interval of each scalar output, and the capacity table."""

    scalars: dict[str, tuple[float, float, float]]
    capacity: np.ndarray  # (3, n_rates + 1): mid, low, high; column 0 = 0.1C
    retention: np.ndarray  # (3, n_rates)
    current_mA_per_cm2: np.ndarray  # (n_rates + 1,)
    drawn: int
    accepted: int


def _nominal(w: float, w_sep: float, *, electrode: Electrode, separator: Separator,
             t_c: float, rates: np.ndarray, ep: ElectrolyteParameters | None,
             rp: RateParameters, an_loading: float) -> dict[str, Any]:
    """The nominal model at purities (w, w_sep): scalar path, honouring custom parameters."""
    sig = electrolyte_conductivity(w, t_c, ep)
    sig_sep = separator.conductivity_S_per_cm(t_c, ep, w_sep)
    rc = rate_capability(electrode, sig, rates, rp, separator_sigma_S_per_cm=sig_sep)
    q_ref = float(rc.capacity_mAh_per_g[0])
    out: dict[str, Any] = {
        "sigma_electrolyte_S_per_cm": sig, "separator_sigma_S_per_cm": sig_sep,
        "sigma_effective_S_per_cm": rc.sigma_effective_S_per_cm,
        "capacity": rc.capacity_mAh_per_g, "current": rc.current_density_mA_per_cm2,
        "electrolyte_volume_fraction": electrode.electrolyte_volume_fraction,
        "void_fraction": electrode.void_fraction,
        "interface_resistance_ohm_cm2": interface_terms(electrode, rp)[1],
        "energy_Wh_per_kg": 0.0, "energy_Wh_per_kg_electrodes": 0.0, "np_ratio": math.nan,
        "mean_voltage_V": math.nan}
    if q_ref > 0:
        fc = full_cell(electrode, an_loading, cathode_capacity_mAh_per_g=q_ref,
                       delivered_capacity_mAh_per_g=q_ref * PAPER_FULL_TO_HALF_CELL_CAPACITY)
        out.update(energy_Wh_per_kg=fc.energy_Wh_per_kg_cathode_active,
                   energy_Wh_per_kg_electrodes=fc.energy_Wh_per_kg_electrodes,
                   np_ratio=fc.np_ratio, mean_voltage_V=fc.mean_voltage_V)
    return out


def _retention(cap: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cap[..., :1] > 0, cap[..., 1:] / cap[..., :1], 0.0)


_SCALARS = ("sigma_electrolyte_S_per_cm", "separator_sigma_S_per_cm", "sigma_effective_S_per_cm",
            "electrolyte_volume_fraction", "void_fraction", "interface_resistance_ohm_cm2",
            "energy_Wh_per_kg",
            "energy_Wh_per_kg_electrodes", "np_ratio", "mean_voltage_V")


def _outputs_nominal(mode: str, w: float, s: float, w_sep: float, s_sep: float,
                     **kw: Any) -> _Outputs:
    mid = _nominal(w, w_sep, **kw)
    if mode == "purity":
        lo = _nominal(max(0.0, w - _Z_INTERVAL * s), max(0.0, w_sep - _Z_INTERVAL * s_sep), **kw)
        hi = _nominal(min(1.0, w + _Z_INTERVAL * s), min(1.0, w_sep + _Z_INTERVAL * s_sep), **kw)
    else:
        lo = hi = mid
    scalars = {}
    for k in _SCALARS:
        a, b = lo[k], hi[k]
        scalars[k] = (mid[k], float(np.nanmin([a, b])) if np.isfinite([a, b]).any() else math.nan,
                      float(np.nanmax([a, b])) if np.isfinite([a, b]).any() else math.nan)
    caps = np.stack([mid["capacity"], lo["capacity"], hi["capacity"]])
    ret = _retention(caps)
    ret = np.stack([ret[0], ret[1:].min(axis=0), ret[1:].max(axis=0)])
    return _Outputs(scalars, caps, ret, mid["current"], 0, 0)


def _outputs_ensemble(samples: int, seed: int, **kw: Any) -> _Outputs:
    ens = calibrated_ensemble(samples, seed, "both")
    arr = evaluate(ens, **kw)
    ret_draws = _retention(arr.capacity_mAh_per_g)
    scalars = {}
    for k, values in (("sigma_electrolyte_S_per_cm", arr.sigma_electrolyte_S_per_cm),
                      ("separator_sigma_S_per_cm", arr.sigma_separator_S_per_cm),
                      ("sigma_effective_S_per_cm", arr.sigma_effective_S_per_cm),
                      ("electrolyte_volume_fraction", arr.electrolyte_volume_fraction),
                      ("void_fraction", arr.void_fraction),
                      ("interface_resistance_ohm_cm2", arr.interface_resistance_geometric_ohm_cm2),
                      ("energy_Wh_per_kg", arr.energy_Wh_per_kg),
                      ("energy_Wh_per_kg_electrodes", arr.energy_Wh_per_kg_electrodes),
                      ("np_ratio", arr.np_ratio), ("mean_voltage_V", arr.mean_voltage_V)):
        if np.all(np.isnan(values)):
            scalars[k] = (math.nan, math.nan, math.nan)
            continue
        lo, hi = central_interval(values)
        scalars[k] = (float(np.nanmedian(values)), float(lo), float(hi))
    lo, hi = central_interval(arr.capacity_mAh_per_g)
    caps = np.stack([np.median(arr.capacity_mAh_per_g, axis=0), lo, hi])
    rlo, rhi = central_interval(ret_draws)
    ret = np.stack([np.median(ret_draws, axis=0), rlo, rhi])
    current = np.median(arr.current_1c_mA_per_cm2) * np.asarray(kw["c_rates"], dtype=float)
    return _Outputs(scalars, caps, ret, current, ens.n_drawn, ens.n_accepted)


def predict_cell(fcc_weight_fraction: float, fcc_weight_fraction_sigma: float = 0.0, *,
                 cathode: str | Composition = "97:1:2", loading_mg_per_cm2: float = 7.7,
                 loading_basis: str = "active", porosity: float | None = None,
                 c_rates: Sequence[float] = DEFAULT_C_RATES, temperature_C: float | None = None,
                 stack_pressure_MPa: float = 70.0, cycles: int = 100,
                 anode_loading_mg_per_cm2: float | None = None,
                 electrolyte_params: ElectrolyteParameters | None = None,
                 rate_params: RateParameters | None = None,
                 fade: FadeModel | None = None,
                 separator: Separator | None = None,
                 uncertainty: str = "parameters",
                 samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> CellPrediction:
    """Predict conductivity, rate capability, energy and fade for an electrolyte of given purity.

    Parameters
    ----------
    fcc_weight_fraction : float
        Weight fraction of fcc NBH in the **cathode's** electrolyte (0–1), e.g. from the XRD fit
        of the infiltrated electrode.
    fcc_weight_fraction_sigma : float
        Its 1σ uncertainty.
    cathode : str or Composition
        ``"active:binder:carbon"`` in wt %, summing to 100.
    loading_mg_per_cm2 : float
        Cathode loading (> 0), NaCrO2 mass by default (``loading_basis="active"``).
    porosity : float, optional
        Pressed electrode porosity (default 0.34, range 0.30–0.38; a given value is held fixed).
    c_rates : sequence of float
        Rates of the table (> 0); 0.1C is always computed as the retention reference.
    temperature_C : float, optional
        Cell temperature (default 30 °C, the paper's).
    stack_pressure_MPa, cycles : float, int
        For the fade estimate (0.5C cycling in the paper; purity-independent, no data).
    anode_loading_mg_per_cm2 : float, optional
        Sn loading of the full cell (default: the paper's ratio 1.2/5.6 to the cathode loading).
    electrolyte_params, rate_params :
        Custom model parameters; they fix the parameters, so they need ``uncertainty`` "purity"
        or "none".
    fade : FadeModel, optional
    separator : Separator, optional
        The separator pellet (default: phase-pure NBH, 400 µm drawn from 200–500 µm; a given
        thickness is held fixed).
    uncertainty : {"parameters", "purity", "none"}
        What the ``*_low``/``*_high`` intervals carry (module docstring).
    samples, seed : int
        Monte Carlo draws (a power of 2, before rejection) and their seed.

    Returns
    -------
    CellPrediction

    Raises
    ------
    InputError
        Fractions outside [0, 1], compositions not summing to 100, loadings ≤ 0, C-rates ≤ 0,
        an unknown uncertainty mode, custom parameters with ``uncertainty="parameters"``.

    Examples
    --------
    The nominal model (no intervals) for the paper's 97:1:2 cathode at 7.7 mg cm⁻², its
    electrolyte 87 % fcc: the 5C capacity is that of ``docs/cell.md``'s table (77.4 mAh/g):

    >>> from xrdkit.cell import predict_cell
    >>> nominal = predict_cell(0.87, 0.03, cathode="97:1:2", uncertainty="none")
    >>> rates = {row["c_rate"]: row for row in nominal.to_dict()["rate_table"]}
    >>> round(rates[5.0]["capacity_mAh_per_g"], 1), round(rates[0.1]["capacity_mAh_per_g"], 1)
    (77.4, 118.2)

    The default propagates the purity σ and every documented parameter range (a calibrated
    Monte Carlo; here with few draws): the central value is the median, ``*_low``/``*_high``
    the central 95 % interval:

    >>> cell = predict_cell(0.87, 0.03, samples=64)
    >>> cell.sigma_electrolyte_S_per_cm_low <= cell.sigma_electrolyte_S_per_cm <= cell.sigma_electrolyte_S_per_cm_high
    True
    >>> cell.interval_probability
    0.95
    """
    w, s = _check_inputs(fcc_weight_fraction, fcc_weight_fraction_sigma)
    if uncertainty not in UNCERTAINTY_MODES:
        raise InputError(f"uncertainty must be one of {UNCERTAINTY_MODES}, got {uncertainty!r}",
                         source="uncertainty")
    if uncertainty == "parameters" and (electrolyte_params is not None or rate_params is not None):
        raise InputError("electrolyte_params/rate_params fix the model parameters: use "
                         "uncertainty='purity' or 'none' with them", source="uncertainty")
    comp = parse_composition(cathode)
    sep = separator or Separator()
    w_sep, s_sep = _check_inputs(sep.fcc_weight_fraction, sep.fcc_weight_fraction_sigma,
                                 "separator fcc weight fraction")
    kwargs: dict[str, Any] = {} if porosity is None else {"porosity": porosity}
    electrode = Electrode(comp, loading_mg_per_cm2, loading_basis=loading_basis,  # type: ignore[arg-type]
                          **kwargs)
    t_c = paper_calibration()["temperature_C"] if temperature_C is None else float(temperature_C)
    if not math.isfinite(t_c) or t_c <= -273.15:
        raise InputError(f"temperature_C must be above -273.15, got {temperature_C!r}",
                         source="temperature_C")
    rp = rate_params or RateParameters()
    if sep.thickness_um is not None:
        rp = replace(rp, separator_thickness_um=sep.thickness_value_um)
    fm = fade or FadeModel()
    rates = np.atleast_1d(np.asarray(c_rates, dtype=float))
    if rates.ndim != 1 or rates.size == 0 or np.any(~np.isfinite(rates)) or np.any(rates <= 0):
        raise InputError(f"C-rates must be > 0, got {list(np.atleast_1d(c_rates))}",
                         source="c_rates")
    if int(cycles) < 0:
        raise InputError(f"cycles must be ≥ 0, got {cycles!r}", source="cycles")
    all_rates = np.concatenate([[REFERENCE_C_RATE], rates])
    an_loading = (PAPER_ANODE_PER_CATHODE_LOADING * electrode.active_mass_mg_per_cm2
                  if anode_loading_mg_per_cm2 is None else float(anode_loading_mg_per_cm2))

    if uncertainty == "parameters":
        fixed: dict[str, float] = {}
        if porosity is not None:
            fixed["porosity_pressed"] = float(porosity)
        if sep.thickness_um is not None:
            fixed["separator_thickness_um"] = sep.thickness_value_um
        out = _outputs_ensemble(
            samples, seed, fcc_weight_fraction=w, fcc_weight_fraction_sigma=s, cathode=comp,
            loading_mg_per_cm2=float(loading_mg_per_cm2), loading_basis=loading_basis,
            c_rates=all_rates, temperature_C=t_c, separator_fcc_weight_fraction=w_sep,
            separator_fcc_weight_fraction_sigma=s_sep,
            separator_sigma_S_per_cm=sep.sigma_S_per_cm,
            anode_loading_mg_per_cm2=anode_loading_mg_per_cm2, fixed=fixed)
    else:
        out = _outputs_nominal(uncertainty, w, s, w_sep, s_sep, electrode=electrode,
                               separator=sep, t_c=t_c, rates=all_rates, ep=electrolyte_params,
                               rp=rp, an_loading=an_loading)
    caps, ret = out.capacity, out.retention
    rows = tuple(
        RateRow(c_rate=float(rates[i]),
                current_density_mA_per_cm2=float(out.current_mA_per_cm2[i + 1]),
                capacity_mAh_per_g=float(caps[0, i + 1]),
                capacity_mAh_per_g_low=float(caps[1, i + 1]),
                capacity_mAh_per_g_high=float(caps[2, i + 1]),
                retention_vs_0p1C=float(ret[0, i]),
                retention_vs_0p1C_low=float(ret[1, i]),
                retention_vs_0p1C_high=float(ret[2, i]))
        for i in range(rates.size))
    sc = out.scalars
    notes = []
    if caps[0, 0] <= 0:
        notes.append("no capacity even at 0.1C: the cathode's electrolyte does not percolate or "
                     "is too resistive")
    notes.append("loading basis: " + ("NaCrO2 (active) mass" if loading_basis == "active"
                                      else "dry composite mass"))
    notes.append({"parameters": f"intervals: central {100 * INTERVAL_PROBABILITY:g} % of a "
                                f"calibration-conditioned Monte Carlo ({out.accepted} of "
                                f"{out.drawn} draws reproduce the paper's 5C retentions): purity "
                                "σ and every documented parameter range; central value = median",
                  "purity": f"intervals: central {100 * INTERVAL_PROBABILITY:g} % of the purity "
                            "σ alone (outputs at w ∓ 1.96σ), parameters at documented values",
                  "none": "no intervals (nominal model)"}[uncertainty])
    notes.append("the purity applies to the cathode's electrolyte; the separator pellet has its "
                 f"own (fcc {w_sep:g}" + (f", σ {sep.sigma_S_per_cm:g} S/cm given"
                                          if sep.sigma_S_per_cm is not None else "") + ")")
    notes.append("calibrated on the paper: interface resistance, binder film thickness (5C "
                 "retentions), fade law (100-cycle retentions, purity-independent), full/half-cell "
                 "capacity ratio")
    energy, e_el, npr = (sc["energy_Wh_per_kg"], sc["energy_Wh_per_kg_electrodes"],
                         sc["np_ratio"])
    eps_el = sc["electrolyte_volume_fraction"]
    return CellPrediction(
        fcc_weight_fraction=w,
        fcc_weight_fraction_sigma=s,
        temperature_C=t_c,
        cathode=comp.label(),
        loading_mg_per_cm2=float(loading_mg_per_cm2),
        loading_basis=loading_basis,
        sigma_electrolyte_S_per_cm=sc["sigma_electrolyte_S_per_cm"][0],
        sigma_electrolyte_S_per_cm_low=sc["sigma_electrolyte_S_per_cm"][1],
        sigma_electrolyte_S_per_cm_high=sc["sigma_electrolyte_S_per_cm"][2],
        sigma_effective_S_per_cm=sc["sigma_effective_S_per_cm"][0],
        thickness_um=electrode.thickness_um,
        areal_capacity_mAh_per_cm2=electrode.areal_capacity_mAh_per_cm2(
            material("c_rate_basis_mAh_per_g")),
        rate_table=rows,
        energy_Wh_per_kg=energy[0],
        energy_Wh_per_kg_low=energy[1],
        energy_Wh_per_kg_high=energy[2],
        energy_Wh_per_kg_electrodes=e_el[0],
        energy_Wh_per_kg_electrodes_low=e_el[1],
        energy_Wh_per_kg_electrodes_high=e_el[2],
        np_ratio=npr[0],
        np_ratio_low=npr[1],
        np_ratio_high=npr[2],
        mean_voltage_V=sc["mean_voltage_V"][0],
        stack_pressure_MPa=float(stack_pressure_MPa),
        cycles=int(cycles),
        retention_after_cycles=float(fm.retention(int(cycles), stack_pressure_MPa)),
        expected_electrolyte_weight_fraction=electrode.expected_electrolyte_weight_fraction,
        notes=tuple(notes),
        separator_fcc_weight_fraction=w_sep,
        separator_fcc_weight_fraction_sigma=s_sep,
        separator_thickness_um=sep.thickness_value_um,
        separator_sigma_S_per_cm=sc["separator_sigma_S_per_cm"][0],
        separator_sigma_S_per_cm_low=sc["separator_sigma_S_per_cm"][1],
        separator_sigma_S_per_cm_high=sc["separator_sigma_S_per_cm"][2],
        electrolyte_volume_fraction=eps_el[0],
        electrolyte_volume_fraction_low=eps_el[1],
        electrolyte_volume_fraction_high=eps_el[2],
        void_fraction=sc["void_fraction"][0],
        interface_resistance_ohm_cm2=sc["interface_resistance_ohm_cm2"][0],
        interface_resistance_ohm_cm2_low=sc["interface_resistance_ohm_cm2"][1],
        interface_resistance_ohm_cm2_high=sc["interface_resistance_ohm_cm2"][2],
        uncertainty=uncertainty,
        interval_probability=INTERVAL_PROBABILITY,
        samples_drawn=out.drawn,
        samples_accepted=out.accepted,
    )
