"""Fast analytic rate-capability model of a NaCrO2 | solid electrolyte | Na(Sn) half cell.

Discharge ends when the terminal voltage reaches the cut-off V_cut:

    U(x_surface) − i · R_total = V_cut

* **Transport (ohmic) limitation.**  The solid electrolyte is a single-ion conductor
  (transference number 1), so no salt concentration gradient forms and ionic transport only
  costs an ohmic drop.  R_total = L_sep/σ (pellet) + L/(3 σ_eff) (composite, uniform reaction
  limit; σ_eff = σ ε_el^β) + R_interface + R_counter.
* **Interface.**  R_interface = r_int / (A_active (1 − θ)), with A_active = 3 V_active / r_p the
  NaCrO2 surface per cm² and θ = 1 − exp(−A_binder/A_active) the fraction of it covered by
  ion-blocking PVDF, A_binder = V_binder / t_binder (random, Poisson-distributed coverage by a film
  of thickness t_binder).  This is the one composition-dependent term that can make more binder
  worse at lower loading, i.e. carry the paper's 97:1:2 vs 95:2:3 gap.
* **Solid diffusion limitation.**  Quasi-steady parabolic profile in spherical particles
  (Subramanian et al., J. Electrochem. Soc. 152 (2005) A2002): x_surface − x_mean
  = r_p² / (15 D) · dx/dt, so the usable depth of discharge shrinks by
  Δx = r_p² · n · Q_1C / (15 D · 3600 s · Q_window) at C-rate n.

Capacity = Q_window · (x_surface,end − Δx − x_0), clipped at 0, with x_0 the rest state at the
upper cut-off.  The OCV U(x) is the constructed NaCrO2 curve of :mod:`xrdkit.cell.ocv`.

Calibration (fitted to the paper, **not** independent): ``interface_resistance_ohm_cm2`` and
``binder_film_thickness_um`` are solved so that the model reproduces the two published 5C
retentions (67.4 % for 97:1:2 at 7.7 mg cm⁻², 57.5 % for 95:2:3 at 7.0 mg cm⁻²; phase-pure
electrolyte, 30 °C) — two numbers, two parameters, so matching them is a consistency check, not a
prediction (:func:`xrdkit.cell.calibration.fit_rate_parameters` re-derives them).  All other
parameters come from materials.json (paper values, literature or documented assumptions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xrdkit.cell.constants import material
from xrdkit.cell.electrode import Electrode
from xrdkit.cell.ocv import inverse_ocv_nacro2
from xrdkit.errors import InputError

__all__ = ["RateParameters", "RateCapability", "rate_capability", "DEFAULT_C_RATES"]

#: C-rates of the default rate table.
DEFAULT_C_RATES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
#: Reference rate for "retention" (the paper normalises to 0.1C).
REFERENCE_C_RATE = 0.1
#: Seconds per hour.
_S_PER_H = 3600.0

#: Calibrated on the paper's 5C retentions by ``fit_rate_parameters`` (see module docstring).
CALIBRATED_INTERFACE_RESISTANCE_OHM_CM2 = 2370.9
#: Calibrated together with the interface resistance (µm).
CALIBRATED_BINDER_FILM_THICKNESS_UM = 0.19133


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
    """

    capacity_window_mAh_per_g: float = field(
        default_factory=lambda: material("capacity_practical_nacro2_mAh_per_g"))
    one_c_mAh_per_g: float = field(
        default_factory=lambda: material("capacity_practical_nacro2_mAh_per_g"))
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

    def __post_init__(self) -> None:
        for name in ("capacity_window_mAh_per_g", "one_c_mAh_per_g", "diffusivity_cm2_per_s",
                     "binder_film_thickness_um", "separator_thickness_um", "bruggeman_exponent"):
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
        i · R_total.
    diffusion_loss_fraction : ndarray
        Δx, the depth of discharge lost to solid diffusion.
    separator_resistance_ohm_cm2, electrode_ionic_resistance_ohm_cm2,
    interface_resistance_ohm_cm2 : float
        Series area-specific resistances (Ω cm² of electrode).
    binder_coverage : float
        θ, the fraction of NaCrO2 surface covered by binder.
    sigma_electrolyte_S_per_cm, sigma_effective_S_per_cm : float
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

    @property
    def total_resistance_ohm_cm2(self) -> float:
        """Sum of the series resistances (Ω cm²)."""
        return (self.separator_resistance_ohm_cm2 + self.electrode_ionic_resistance_ohm_cm2
                + self.interface_resistance_ohm_cm2)


def _rates(c_rates: Sequence[float] | np.ndarray | float) -> np.ndarray:
    n = np.atleast_1d(np.asarray(c_rates, dtype=float))
    if n.ndim != 1 or n.size == 0:
        raise InputError("c_rates must be a non-empty 1-D sequence", source="c_rates")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise InputError(f"C-rates must be > 0, got {n.tolist()}", source="c_rates")
    return n


def interface_terms(electrode: Electrode, params: RateParameters) -> tuple[float, float]:
    """(binder coverage θ, interface resistance Ω cm² of electrode) of ``electrode``."""
    a_act = electrode.active_surface_area_cm2_per_cm2
    a_binder = electrode.solid_volumes_cm3_per_cm2[1] / (params.binder_film_thickness_um * 1e-4)
    ratio = a_binder / a_act
    theta = -math.expm1(-ratio)
    # r_int / (A (1 − θ)) = r_int · exp(ratio) / A
    r_int = params.interface_resistance_ohm_cm2 * math.exp(min(ratio, 700.0)) / a_act
    return theta, r_int


def rate_capability(electrode: Electrode, sigma_electrolyte_S_per_cm: float,
                    c_rates: Sequence[float] | np.ndarray | float = DEFAULT_C_RATES,
                    params: RateParameters | None = None) -> RateCapability:
    """Discharge capacity at each C-rate from the analytic model (see module docstring).

    Parameters
    ----------
    electrode : Electrode
        The composite cathode.
    sigma_electrolyte_S_per_cm : float
        Conductivity of the electrolyte (pellet and infiltrated) at the cell temperature, ≥ 0.
    c_rates : sequence of float
        C-rates (> 0); 1C = ``params.one_c_mAh_per_g``.
    params : RateParameters, optional

    Returns
    -------
    RateCapability

    Raises
    ------
    InputError
        On C-rates ≤ 0 or a negative conductivity.
    """
    p = params or RateParameters()
    n = _rates(c_rates)
    sigma = float(sigma_electrolyte_S_per_cm)
    if not math.isfinite(sigma) or sigma < 0:
        raise InputError(f"sigma_electrolyte_S_per_cm must be ≥ 0, got {sigma!r}",
                         source="sigma_electrolyte_S_per_cm")
    i_mA = n * electrode.current_density_mA_per_cm2(1.0, p.one_c_mAh_per_g)
    sigma_eff = electrode.effective_conductivity_S_per_cm(sigma, p.bruggeman_exponent)
    with np.errstate(divide="ignore"):
        r_sep = p.separator_thickness_um * 1e-4 / sigma if sigma > 0 else math.inf
        r_el = electrode.thickness_cm() / (3.0 * sigma_eff) if sigma_eff > 0 else math.inf
    theta, r_int = interface_terms(electrode, p)
    r_tot = r_sep + r_el + r_int + p.counter_electrode_resistance_ohm_cm2
    drop_V = i_mA * 1e-3 * r_tot
    x0 = float(inverse_ocv_nacro2(p.upper_voltage_V))
    x_surface_end = np.where(np.isfinite(drop_V),
                             inverse_ocv_nacro2(np.minimum(p.cutoff_voltage_V + drop_V, 1e3)),
                             0.0)
    r_cm = electrode.particle_radius_um * 1e-4
    dx = (r_cm**2 * n * p.one_c_mAh_per_g
          / (15.0 * p.diffusivity_cm2_per_s * _S_PER_H * p.capacity_window_mAh_per_g))
    x_end = np.clip(x_surface_end - dx, x0, 1.0)
    capacity = p.capacity_window_mAh_per_g * (x_end - x0)
    return RateCapability(
        c_rates=n,
        current_density_mA_per_cm2=i_mA,
        capacity_mAh_per_g=capacity,
        ohmic_drop_V=drop_V,
        diffusion_loss_fraction=dx,
        separator_resistance_ohm_cm2=float(r_sep),
        electrode_ionic_resistance_ohm_cm2=float(r_el),
        interface_resistance_ohm_cm2=float(r_int),
        binder_coverage=float(theta),
        sigma_electrolyte_S_per_cm=sigma,
        sigma_effective_S_per_cm=float(sigma_eff),
    )
