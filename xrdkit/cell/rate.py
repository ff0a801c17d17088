"""Fast rate-capability model of a NaCrO2 | solid electrolyte | Na(Sn) half cell.

Discharge runs at constant current until the terminal voltage reaches the cut-off V_cut.

* **Transport (ohmic) limitation.**  The solid electrolyte is a single-ion conductor
  (transference number 1), so no salt concentration gradient forms and ionic transport only
  costs ohmic drops: R_sep = L_sep/σ_sep in the pellet (its own electrolyte,
  :class:`~xrdkit.cell.separator.Separator`) and R_i = L/σ_eff through the cathode
  (σ_eff = σ_el ε_el^β on the electrolyte-filled fraction, :class:`~xrdkit.cell.electrode.Electrode`).
* **Reaction distribution.**  The cathode is resolved into slabs and integrated in time
  (:mod:`xrdkit.cell.porous`): when R_i is small against the interface resistance the reaction
  is uniform and the drop is R_int + R_i/3; when it is not, a reaction front forms next to the
  separator and the deep part of the electrode is never used.  This replaces the former
  closed-form uniform-reaction formula (its limit, :func:`uniform_reaction_capacity`), which
  overestimated 1–2C capacities by up to 15–20 mAh g⁻¹ against PyBaMM's DFN at fcc purity
  0.25–0.45.
* **Interface.**  R_interface = r_int / (A_active (1 − θ)), with A_active = 3 V_active / r_p the
  NaCrO2 surface per cm² and θ = 1 − exp(−A_binder/A_active) the fraction of it covered by
  ion-blocking PVDF, A_binder = V_binder / t_binder (random, Poisson-distributed coverage by a film
  of thickness t_binder).  This is the one composition-dependent term that can make more binder
  worse at lower loading, i.e. carry the paper's 97:1:2 vs 95:2:3 gap.
* **Solid diffusion limitation.**  Quasi-steady parabolic profile in spherical particles
  (Subramanian et al., J. Electrochem. Soc. 152 (2005) A2002): x_surface − x_mean
  = r_p² / (15 D) · dx/dt; the OCV is taken at the surface.

The OCV U(x) is the constructed NaCrO2 curve of :mod:`xrdkit.cell.ocv`; x_0 is the rest state at
the upper cut-off, capacity = Q_window (x_mean,end − x_0).

Calibration (fitted to the paper, **not** independent): ``interface_resistance_ohm_cm2`` and
``binder_film_thickness_um`` are solved so that the model reproduces the two published 5C
retentions (67.4 % for 97:1:2 at 7.7 mg cm⁻², 57.5 % for 95:2:3 at 7.0 mg cm⁻²; phase-pure
electrolyte, 30 °C) — two numbers, two parameters, so matching them is a consistency check, not a
prediction (:func:`xrdkit.cell.calibration.fit_rate_parameters` re-derives them; the hold-out
checks in :mod:`xrdkit.cell.calibration` fit one electrode and predict the other).  All other
parameters come from materials.json (paper values, literature or documented assumptions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xrdkit.cell.constants import material
from xrdkit.cell.electrode import Electrode
from xrdkit.cell.ocv import OCV_LOG_V, OCV_MID_V, OCV_SLOPE_V, inverse_ocv_nacro2
from xrdkit.cell.porous import porous_discharge
from xrdkit.errors import InputError

__all__ = ["RateParameters", "RateCapability", "rate_capability", "uniform_reaction_capacity",
           "interface_terms", "binder_coverage_ratio", "DEFAULT_C_RATES"]

#: C-rates of the default rate table.
DEFAULT_C_RATES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
#: Reference rate for "retention" (the paper normalises to 0.1C).
REFERENCE_C_RATE = 0.1
#: Seconds per hour.
_S_PER_H = 3600.0

#: Calibrated on the paper's 5C retentions by ``fit_rate_parameters`` (see module docstring).
CALIBRATED_INTERFACE_RESISTANCE_OHM_CM2 = 2306.1123
#: Calibrated together with the interface resistance (µm).
CALIBRATED_BINDER_FILM_THICKNESS_UM = 0.18294478


@dataclass(frozen=True)
class RateParameters:
    """Parameters of the analytic rate model (units in names).

    Attributes
    ----------
    capacity_window_mAh_per_g : float
        Capacity of the OCV window x ∈ (0, 1) (practical NaCrO2 capacity, 120 mAh g⁻¹ [lit]).
    one_c_mAh_per_g : float
        Specific current defining 1C (120 mA g⁻¹ of NaCrO2).
    cutoff_voltage_V, upper_voltage_V : float
        Discharge cut-off and the charged rest voltage (paper: 2.10–3.35 V vs Na).
    diffusivity_cm2_per_s : float
        Na diffusivity in NaCrO2 (1e-10 [unverified], range 1e-12–1e-9).
    interface_resistance_ohm_cm2 : float
        r_int per cm² of *uncovered NaCrO2 surface* — **fitted to the paper**.
    binder_film_thickness_um : float
        Effective thickness of the PVDF film covering NaCrO2 — **fitted to the paper**.
    separator_thickness_um : float
        Electrolyte pellet thickness (paper < 500 µm; 400 assumed).
    bruggeman_exponent : float
        β in σ_eff = σ ε^β (1.5).
    counter_electrode_resistance_ohm_cm2 : float
        Na–Sn counter electrode ASR (0: lumped into r_int by the calibration).
    ocv_mid_V, ocv_slope_V, ocv_log_V : float
        Parameters of the constructed OCV (:mod:`xrdkit.cell.ocv`; ranges in materials.json).

    Examples
    --------
    The voltage window is the paper's half cell's; the two fitted parameters are the values
    :func:`~xrdkit.cell.calibration.fit_rate_parameters` solves for:

    >>> from dataclasses import replace
    >>> from xrdkit.cell import RateParameters
    >>> from xrdkit.cell.constants import paper_calibration
    >>> p = RateParameters()
    >>> [p.cutoff_voltage_V, p.upper_voltage_V] == paper_calibration()["voltage_window_half_cell_V"]
    True
    >>> p.interface_resistance_ohm_cm2, p.binder_film_thickness_um             # Ω cm², µm
    (2306.1123, 0.18294478)
    >>> replace(p, separator_thickness_um=200.0).separator_thickness_um            # µm
    200.0
    >>> RateParameters(cutoff_voltage_V=3.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...cutoff_voltage_V must be below upper_voltage_V
    """

    capacity_window_mAh_per_g: float = field(
        default_factory=lambda: material("capacity_practical_nacro2_mAh_per_g"))
    one_c_mAh_per_g: float = field(default_factory=lambda: material("c_rate_basis_mAh_per_g"))
    cutoff_voltage_V: float = 2.10
    upper_voltage_V: float = 3.35
    diffusivity_cm2_per_s: float = field(
        default_factory=lambda: material("diffusivity_nacro2_cm2_per_s"))
    interface_resistance_ohm_cm2: float = CALIBRATED_INTERFACE_RESISTANCE_OHM_CM2
    binder_film_thickness_um: float = CALIBRATED_BINDER_FILM_THICKNESS_UM
    separator_thickness_um: float = field(
        default_factory=lambda: material("separator_thickness_um"))
    bruggeman_exponent: float = field(default_factory=lambda: material("bruggeman_exponent"))
    counter_electrode_resistance_ohm_cm2: float = 0.0
    ocv_mid_V: float = OCV_MID_V
    ocv_slope_V: float = OCV_SLOPE_V
    ocv_log_V: float = OCV_LOG_V

    def __post_init__(self) -> None:
        for name in ("capacity_window_mAh_per_g", "one_c_mAh_per_g", "diffusivity_cm2_per_s",
                     "binder_film_thickness_um", "separator_thickness_um", "bruggeman_exponent",
                     "ocv_slope_V", "ocv_log_V"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or v <= 0:
                raise InputError(f"{name} must be > 0, got {v!r}", source=name)
        for name in ("interface_resistance_ohm_cm2", "counter_electrode_resistance_ohm_cm2"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or v < 0:
                raise InputError(f"{name} must be ≥ 0, got {v!r}", source=name)
        if not self.cutoff_voltage_V < self.upper_voltage_V:
            raise InputError("cutoff_voltage_V must be below upper_voltage_V",
                             source="cutoff_voltage_V")


@dataclass(frozen=True)
class RateCapability:
    """Result of :func:`rate_capability` — all arrays have shape (n_rates,).

    Attributes
    ----------
    c_rates : ndarray
    current_density_mA_per_cm2 : ndarray
    capacity_mAh_per_g : ndarray
        Discharge capacity per g of NaCrO2.
    ohmic_drop_V : ndarray
        i · R_total in the uniform-reaction limit (R_sep + R_int + R_i/3): a yardstick, the
        capacity itself comes from the slab model.
    diffusion_loss_fraction : ndarray
        Δx = r² n Q_1C/(15 D 3600 s Q_window), the depth of discharge lost to solid diffusion
        in the uniform limit.
    separator_resistance_ohm_cm2, interface_resistance_ohm_cm2 : float
        Series area-specific resistances (Ω cm² of electrode).
    electrode_ionic_resistance_ohm_cm2 : float
        R_i/3, the ionic path inside the cathode in the uniform-reaction limit.
    binder_coverage : float
        θ, the fraction of NaCrO2 surface covered by binder.
    sigma_electrolyte_S_per_cm, sigma_effective_S_per_cm : float
        Cathode electrolyte conductivity and its composite value σ ε_el^β.
    separator_sigma_S_per_cm : float
    electrode_layer_resistance_ohm_cm2 : float
        R_i = L/σ_eff, the ionic resistance of the whole electrode layer.

    Examples
    --------
    The paper's 97:1:2 cathode with phase-pure electrolyte at 30 °C; the 5C retention is the
    paper's 67.4 % (what the calibration fits), and the yardsticks follow their formulas:

    >>> from xrdkit.cell import Electrode, electrolyte_conductivity, rate_capability
    >>> rc = rate_capability(Electrode("97:1:2", 7.7), electrolyte_conductivity(1.0, 30.0),
    ...                      [0.1, 1.0, 5.0])
    >>> round(float(rc.capacity_mAh_per_g[2] / rc.capacity_mAh_per_g[0]), 3)
    0.674
    >>> round(rc.interface_resistance_ohm_cm2, 1), round(rc.total_resistance_ohm_cm2, 1)  # Ω cm²
    (122.1, 155.4)
    >>> round(rc.electrode_ionic_resistance_ohm_cm2 * 3, 6) == round(rc.electrode_layer_resistance_ohm_cm2, 6)
    True
    >>> round(float(rc.ohmic_drop_V[2]), 4), round(4.62e-3 * rc.total_resistance_ohm_cm2, 4)  # V
    (0.7178, 0.7178)

    Δx at 5C, r² n Q_1C/(15 D · 3600 s · Q_window) with r = 2.5 µm, D = 1e-10 cm² s⁻¹:

    >>> round(float(rc.diffusion_loss_fraction[2]), 5), round((2.5e-4) ** 2 * 5 / (15 * 1e-10 * 3600), 5)
    (0.05787, 0.05787)
    """

    c_rates: np.ndarray
    current_density_mA_per_cm2: np.ndarray
    capacity_mAh_per_g: np.ndarray
    ohmic_drop_V: np.ndarray
    diffusion_loss_fraction: np.ndarray
    separator_resistance_ohm_cm2: float
    electrode_ionic_resistance_ohm_cm2: float
    interface_resistance_ohm_cm2: float
    binder_coverage: float
    sigma_electrolyte_S_per_cm: float
    sigma_effective_S_per_cm: float
    separator_sigma_S_per_cm: float
    electrode_layer_resistance_ohm_cm2: float

    @property
    def total_resistance_ohm_cm2(self) -> float:
        """Sum of the series resistances in the uniform-reaction limit (Ω cm²)."""
        return (self.separator_resistance_ohm_cm2 + self.electrode_ionic_resistance_ohm_cm2
                + self.interface_resistance_ohm_cm2)


def _rates(c_rates: Sequence[float] | np.ndarray | float) -> np.ndarray:
    n = np.atleast_1d(np.asarray(c_rates, dtype=float))
    if n.ndim != 1 or n.size == 0:
        raise InputError("c_rates must be a non-empty 1-D sequence", source="c_rates")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise InputError(f"C-rates must be > 0, got {n.tolist()}", source="c_rates")
    return n


def binder_coverage_ratio(binder_volume_cm3_per_cm2: np.ndarray | float,
                          active_area_cm2_per_cm2: np.ndarray | float,
                          film_thickness_um: np.ndarray | float) -> np.ndarray:
    """A_binder / A_active = V_binder / (t_film A_active); coverage θ = 1 − exp(−ratio).

    Parameters
    ----------
    binder_volume_cm3_per_cm2 : float or ndarray
        PVDF volume per cm² of electrode (cm³ cm⁻²).
    active_area_cm2_per_cm2 : float or ndarray
        NaCrO2 surface per cm² of electrode.
    film_thickness_um : float or ndarray
        Effective binder film thickness t_film (µm).

    Returns
    -------
    ndarray
        The dimensionless ratio A_binder/A_active, in the broadcast shape.

    Examples
    --------
    The paper's 97:1:2 cathode with the fitted 0.183 µm film: 11 % of the NaCrO2 surface is
    covered:

    >>> import math
    >>> from xrdkit.cell import Electrode
    >>> from xrdkit.cell.rate import binder_coverage_ratio
    >>> e = Electrode("97:1:2", 7.7)
    >>> v_binder, area = e.solid_volumes_cm3_per_cm2[1], e.active_surface_area_cm2_per_cm2
    >>> round(area, 2), f"{v_binder:.4e}"                                 # cm²/cm², cm³/cm²
    (21.19, '4.4596e-05')
    >>> ratio = float(binder_coverage_ratio(v_binder, area, 0.18294478))
    >>> round(ratio, 4), round(v_binder / (0.18294478e-4 * area), 4), round(-math.expm1(-ratio), 4)
    (0.115, 0.115, 0.1087)
    """
    return np.asarray(binder_volume_cm3_per_cm2) / (np.asarray(film_thickness_um) * 1e-4
                                                     * np.asarray(active_area_cm2_per_cm2))


def interface_terms(electrode: Electrode, params: RateParameters) -> tuple[float, float]:
    """(binder coverage θ, interface resistance Ω cm² of electrode) of ``electrode``.

    R = r_int / (A_active (1 − θ)) = r_int exp(A_binder/A_active) / A_active.

    Parameters
    ----------
    electrode : Electrode
        The composite cathode (binder volume, NaCrO2 surface).
    params : RateParameters
        ``interface_resistance_ohm_cm2`` (r_int per cm² of NaCrO2) and
        ``binder_film_thickness_um``.

    Returns
    -------
    tuple of float
        (θ, the covered share of the NaCrO2 surface; R, Ω cm² of electrode).

    Examples
    --------
    At the calibrated values the paper's 97:1:2 cathode has 122 Ω cm² (``docs/cell.md``):

    >>> import math
    >>> from xrdkit.cell import Electrode, RateParameters
    >>> from xrdkit.cell.rate import interface_terms
    >>> e = Electrode("97:1:2", 7.7)
    >>> theta, r = interface_terms(e, RateParameters())
    >>> round(theta, 4), round(r, 1)                                           # –, Ω cm²
    (0.1087, 122.1)
    >>> round(2306.1123 / (e.active_surface_area_cm2_per_cm2 * (1 - theta)), 1)
    122.1
    """
    a_act = electrode.active_surface_area_cm2_per_cm2
    ratio = float(binder_coverage_ratio(electrode.solid_volumes_cm3_per_cm2[1], a_act,
                                        params.binder_film_thickness_um))
    theta = -math.expm1(-ratio)
    # r_int / (A (1 − θ)) = r_int · exp(ratio) / A
    r_int = params.interface_resistance_ohm_cm2 * math.exp(min(ratio, 700.0)) / a_act
    return theta, r_int


def uniform_reaction_capacity(c_rates: np.ndarray, *, one_c_current_mA_per_cm2: np.ndarray | float,
                              capacity_window_mAh_per_g: np.ndarray | float,
                              one_c_mAh_per_g: np.ndarray | float, cutoff_voltage_V: float,
                              upper_voltage_V: float, ocv_mid_V: np.ndarray | float,
                              ocv_slope_V: np.ndarray | float, ocv_log_V: np.ndarray | float,
                              total_resistance_ohm_cm2: np.ndarray | float,
                              particle_radius_cm: np.ndarray | float,
                              diffusivity_cm2_per_s: np.ndarray | float) -> np.ndarray:
    """Closed-form capacity in the uniform-reaction limit (R_i ≪ R_int), vectorised.

    U(x_mean,end + Δx) = V_cut + i R_total with R_total = R_sep + R_int + R_i/3 and the
    parabolic-profile offset Δx = r² n Q_1C/(15 D · 3600 s · Q_window).  The slab model agrees
    with it in that limit (tests); the calibration starts from it.

    Parameters
    ----------
    c_rates : ndarray
        C-rates n (> 0).
    one_c_current_mA_per_cm2 : float or ndarray
        Current density of 1C (mA cm⁻²).
    capacity_window_mAh_per_g, one_c_mAh_per_g : float or ndarray
        Q_window and the 1C basis Q_1C (mAh g⁻¹).
    cutoff_voltage_V, upper_voltage_V : float
        Discharge cut-off and charged rest voltage (V vs Na).
    ocv_mid_V, ocv_slope_V, ocv_log_V : float or ndarray
        The constructed OCV's parameters.
    total_resistance_ohm_cm2 : float or ndarray
        R_total = R_sep + R_int + R_i/3 (Ω cm² of electrode; ``inf``: nothing delivered).
    particle_radius_cm, diffusivity_cm2_per_s : float or ndarray
        NaCrO2 particle radius r and Na diffusivity D.

    Returns
    -------
    ndarray
        Capacity (mAh g⁻¹ of NaCrO2) in the broadcast shape of the inputs, ≥ 0.

    Examples
    --------
    Without resistance only the diffusion offset is lost: Q_window (x_cut − x₀ − Δx), with
    Δx = 0.0579 at 5C for r = 2.5 µm and D = 1e-10 cm² s⁻¹:

    >>> import numpy as np
    >>> from xrdkit.cell.ocv import inverse_ocv_nacro2
    >>> from xrdkit.cell.rate import uniform_reaction_capacity
    >>> kw = dict(one_c_current_mA_per_cm2=0.924, capacity_window_mAh_per_g=120.0,
    ...           one_c_mAh_per_g=120.0, cutoff_voltage_V=2.10, upper_voltage_V=3.35,
    ...           ocv_mid_V=2.95, ocv_slope_V=0.30, ocv_log_V=0.06, particle_radius_cm=2.5e-4,
    ...           diffusivity_cm2_per_s=1e-10)
    >>> q = uniform_reaction_capacity(np.array([0.1, 5.0]), total_resistance_ohm_cm2=0.0, **kw)
    >>> x0, x_cut = inverse_ocv_nacro2([3.35, 2.10])
    >>> q.round(2), round(float(120.0 * (x_cut - x0 - 0.05787037)), 2)                # mAh/g
    (array([118.15, 111.35]), 111.35)

    155 Ω cm² in series (the paper's cathode, pure electrolyte) costs 32 mAh g⁻¹ more at 5C:

    >>> uniform_reaction_capacity(np.array([0.1, 5.0]), total_resistance_ohm_cm2=155.4, **kw).round(1)
    array([118.2,  79.6])
    """
    n = np.asarray(c_rates, dtype=float)
    i_a = n * np.asarray(one_c_current_mA_per_cm2, dtype=float) * 1e-3
    x0 = inverse_ocv_nacro2(upper_voltage_V, ocv_mid_V, ocv_slope_V, ocv_log_V)
    with np.errstate(invalid="ignore", over="ignore"):
        drop_v = i_a * np.asarray(total_resistance_ohm_cm2, dtype=float)
    finite = np.isfinite(drop_v)
    x_surface = np.where(finite, inverse_ocv_nacro2(
        np.minimum(cutoff_voltage_V + np.where(finite, drop_v, 0.0), 1e3),
        ocv_mid_V, ocv_slope_V, ocv_log_V), 0.0)
    dx = (np.asarray(particle_radius_cm, dtype=float) ** 2 * n
          * np.asarray(one_c_mAh_per_g, dtype=float)
          / (15.0 * np.asarray(diffusivity_cm2_per_s, dtype=float) * _S_PER_H
             * np.asarray(capacity_window_mAh_per_g, dtype=float)))
    x_end = np.clip(x_surface - dx, x0, 1.0)
    return np.asarray(capacity_window_mAh_per_g, dtype=float) * (x_end - x0)


def rate_capability(electrode: Electrode, sigma_electrolyte_S_per_cm: float,
                    c_rates: Sequence[float] | np.ndarray | float = DEFAULT_C_RATES,
                    params: RateParameters | None = None, *,
                    separator_sigma_S_per_cm: float | None = None) -> RateCapability:
    """Discharge capacity at each C-rate from the analytic model (see module docstring).

    Parameters
    ----------
    electrode : Electrode
        The composite cathode.
    sigma_electrolyte_S_per_cm : float
        Conductivity of the electrolyte *inside the cathode* at the cell temperature, ≥ 0.
    c_rates : sequence of float
        C-rates (> 0); 1C = ``params.one_c_mAh_per_g``.
    params : RateParameters, optional
    separator_sigma_S_per_cm : float, optional
        Conductivity of the separator pellet at the cell temperature.  Default: the same as the
        cathode's electrolyte (a pellet pressed from the same powder); :func:`predict_cell`
        always passes the separator's own value.

    Returns
    -------
    RateCapability

    Raises
    ------
    InputError
        On C-rates ≤ 0 or a negative conductivity.

    Examples
    --------
    The paper's cathode at 30 °C, its electrolyte 87 % fcc, with a phase-pure separator pellet
    (what :func:`~xrdkit.cell.predict_cell` does; the 5C value is ``docs/cell.md``'s):

    >>> from xrdkit.cell import Electrode, electrolyte_conductivity, rate_capability
    >>> rate = rate_capability(Electrode("97:1:2", 7.7), electrolyte_conductivity(0.87, 30.0),
    ...                        [0.1, 1.0, 5.0],
    ...                        separator_sigma_S_per_cm=electrolyte_conductivity(1.0, 30.0))
    >>> [round(float(q), 1) for q in rate.capacity_mAh_per_g]                    # mAh/g
    [118.2, 116.9, 77.4]
    >>> [round(float(i), 2) for i in rate.current_density_mA_per_cm2]          # mA/cm²
    [0.09, 0.92, 4.62]
    """
    p = params or RateParameters()
    n = _rates(c_rates)
    sigma = float(sigma_electrolyte_S_per_cm)
    if not math.isfinite(sigma) or sigma < 0:
        raise InputError(f"sigma_electrolyte_S_per_cm must be ≥ 0, got {sigma!r}",
                         source="sigma_electrolyte_S_per_cm")
    sigma_sep = sigma if separator_sigma_S_per_cm is None else float(separator_sigma_S_per_cm)
    if not math.isfinite(sigma_sep) or sigma_sep < 0:
        raise InputError(f"separator_sigma_S_per_cm must be ≥ 0, got {sigma_sep!r}",
                         source="separator_sigma_S_per_cm")
    sigma_eff = electrode.effective_conductivity_S_per_cm(sigma, p.bruggeman_exponent)
    r_sep = p.separator_thickness_um * 1e-4 / sigma_sep if sigma_sep > 0 else math.inf
    r_ion = electrode.thickness_cm() / sigma_eff if sigma_eff > 0 else math.inf
    theta, r_int = interface_terms(electrode, p)
    i_1c = electrode.current_density_mA_per_cm2(1.0, p.one_c_mAh_per_g)
    i_mA = n * i_1c
    x0 = float(inverse_ocv_nacro2(p.upper_voltage_V, p.ocv_mid_V, p.ocv_slope_V, p.ocv_log_V))
    fraction = porous_discharge(
        current_A_per_cm2=i_mA * 1e-3,
        window_charge_C_per_cm2=electrode.areal_capacity_mAh_per_cm2(
            p.capacity_window_mAh_per_g) * 3.6,
        separator_resistance_ohm_cm2=r_sep + p.counter_electrode_resistance_ohm_cm2,
        electrode_ionic_resistance_ohm_cm2=r_ion, interface_resistance_ohm_cm2=r_int,
        particle_radius_cm=electrode.particle_radius_um * 1e-4,
        diffusivity_cm2_per_s=p.diffusivity_cm2_per_s, x_start=x0, ocv_mid_V=p.ocv_mid_V,
        ocv_slope_V=p.ocv_slope_V, ocv_log_V=p.ocv_log_V, cutoff_voltage_V=p.cutoff_voltage_V)
    r_uniform = r_sep + r_int + r_ion / 3.0 + p.counter_electrode_resistance_ohm_cm2
    with np.errstate(invalid="ignore", over="ignore"):
        drop_v = i_mA * 1e-3 * r_uniform
    r_cm = electrode.particle_radius_um * 1e-4
    dx = r_cm**2 * n * p.one_c_mAh_per_g / (15.0 * p.diffusivity_cm2_per_s * _S_PER_H
                                            * p.capacity_window_mAh_per_g)
    return RateCapability(
        c_rates=n,
        current_density_mA_per_cm2=i_mA,
        capacity_mAh_per_g=p.capacity_window_mAh_per_g * fraction,
        ohmic_drop_V=drop_v,
        diffusion_loss_fraction=dx,
        separator_resistance_ohm_cm2=float(r_sep),
        electrode_ionic_resistance_ohm_cm2=float(r_ion / 3.0),
        interface_resistance_ohm_cm2=float(r_int),
        binder_coverage=float(theta),
        sigma_electrolyte_S_per_cm=sigma,
        sigma_effective_S_per_cm=float(sigma_eff),
        separator_sigma_S_per_cm=float(sigma_sep),
        electrode_layer_resistance_ohm_cm2=float(r_ion),
    )
