"""PyBaMM backend: half-cell Doyle–Fuller–Newman model of NaCrO2 | solid electrolyte | Na metal.

Optional (``pip install "closokit[cell]"``, i.e. ``pybamm``); the analytic model in
:mod:`xrdkit.cell.rate` works without it.  PyBaMM's lithium-ion DFN with
``{"working electrode": "positive"}`` is used with sodium numbers — the equations do not care
about the ion's name:

* **Counter electrode**: metal (Na–Sn at ≈ 0.1 V vs Na is treated as a metal-like electrode; its
  exchange current is made large, so it costs no overpotential; the constant 0.1 V offset of
  Na–Sn is ignored, as in the analytic model, which works vs Na).
* **Solid electrolyte as a single-ion conductor**: cation transference number 1 (so no salt
  concentration gradient can form) and constant conductivities.  The separator is the dense
  pellet (porosity 1) with its own conductivity σ_sep; in the composite the electrolyte volume
  fraction is ε_el (filled pores only; the void carries nothing) and the effective conductivity
  σ_el ε_el^β.  PyBaMM has one electrolyte conductivity for both regions, so it is set to σ_sep
  and the cathode's Bruggeman coefficient to b = β + ln(σ_el/σ_sep)/ln ε_el, which gives
  σ_sep ε_el^b = σ_el ε_el^β exactly.
* **Working electrode**: NaCrO2 spheres of radius r_p and diffusivity D (full Fickian diffusion),
  the constructed OCV of :mod:`xrdkit.cell.ocv`, maximum concentration from the practical capacity
  and density, and **linear** interfacial kinetics with the same area-specific interface
  resistance (binder coverage included) as the analytic model — the interface is an ohmic film
  in both models.

Everything is given explicitly; no parameter set or data is downloaded.  PyBaMM's opt-in
telemetry is never triggered by this module (set ``PYBAMM_DISABLE_TELEMETRY=true`` to be sure).
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xrdkit.cell.constants import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K
from xrdkit.cell.electrode import Electrode
from xrdkit.cell.ocv import inverse_ocv_nacro2
from xrdkit.cell.rate import RateParameters, _rates, interface_terms
from xrdkit.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["PyBaMMDischarge", "pybamm_available", "pybamm_rate_capability", "build_parameters"]

#: Electrode area used in the simulation (m²); results are per cm².
_AREA_M2 = 1e-4
#: Exchange current of the metal counter electrode (A m⁻²): large = no overpotential.
_COUNTER_J0_A_PER_M2 = 1e4
#: Electronic conductivity of the composite (S m⁻¹): large = no electronic limitation.
_ELECTRONIC_S_PER_M = 1e3
#: Stoichiometry clip of the OCV inside PyBaMM (U(1 − 1e-9) ≈ 1.6 V, far below any cut-off).
_STO_CLIP = 1e-9
#: Radial mesh points in the particle (finite volumes) and through the electrodes.
_VAR_PTS = {"x_n": 10, "x_s": 10, "x_p": 20, "r_n": 10, "r_p": 30}


def pybamm_available() -> bool:
    """True if PyBaMM can be imported.

    Returns
    -------
    bool
        Whether ``import pybamm`` succeeds (the ``cell`` extra is installed).

    Examples
    --------
    >>> import importlib.util
    >>> from xrdkit.cell.pybamm_backend import pybamm_available
    >>> pybamm_available() == (importlib.util.find_spec("pybamm") is not None)
    True
    """
    try:
        importlib.import_module("pybamm")
    except ImportError:
        return False
    return True


def _pybamm() -> Any:
    try:
        return importlib.import_module("pybamm")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("the PyBaMM backend needs pybamm: pip install 'closokit[cell]'",
                         source="backend") from exc


@dataclass(frozen=True)
class PyBaMMDischarge:
    """Result of :func:`pybamm_rate_capability`; arrays have shape (n_rates,).

    Attributes
    ----------
    c_rates, current_density_mA_per_cm2, capacity_mAh_per_g : ndarray
    mean_voltage_V : ndarray
        Mean discharge voltage.
    solve_time_s : ndarray
        Wall time of each solve (build excluded).

    Examples
    --------
    The paper's cathode at 1C with phase-pure electrolyte (needs PyBaMM): the mean discharge
    voltage lies below the mean OCV of the window (2.943 V) by the polarisation:

    >>> from xrdkit.cell import Electrode, electrolyte_conductivity
    >>> from xrdkit.cell.pybamm_backend import pybamm_rate_capability
    >>> dfn = pybamm_rate_capability(Electrode("97:1:2", 7.7), electrolyte_conductivity(1.0, 30.0), [1.0])
    >>> dfn.c_rates, dfn.current_density_mA_per_cm2                                # –, mA/cm²
    (array([1.]), array([0.924]))
    >>> dfn.capacity_mAh_per_g.round(0), dfn.mean_voltage_V.round(2)                  # mAh/g, V
    (array([117.]), array([2.8]))
    >>> bool(dfn.solve_time_s[0] > 0)
    True
    """

    c_rates: np.ndarray
    current_density_mA_per_cm2: np.ndarray
    capacity_mAh_per_g: np.ndarray
    mean_voltage_V: np.ndarray
    solve_time_s: np.ndarray


def build_parameters(electrode: Electrode, sigma_electrolyte_S_per_cm: float,
                     params: RateParameters, temperature_C: float = 30.0,
                     separator_sigma_S_per_cm: float | None = None) -> dict[str, Any]:
    """PyBaMM parameter dictionary equivalent to the analytic model's inputs (SI units).

    Parameters
    ----------
    electrode : Electrode
        The composite cathode.
    sigma_electrolyte_S_per_cm : float
        Conductivity of the cathode's electrolyte (> 0).
    params : RateParameters
        The rate model's parameters (OCV, window, diffusivity, interface, separator).
    temperature_C : float
        Cell temperature (°C).
    separator_sigma_S_per_cm : float, optional
        Conductivity of the separator pellet (> 0; default: the cathode's).

    Returns
    -------
    dict
        PyBaMM parameter names → values (numbers in SI units, or functions of PyBaMM
        symbols for the OCP, exchange currents and electrolyte properties).

    Raises
    ------
    InputError
        If PyBaMM is not installed, a conductivity is ≤ 0 or ε_el is outside (0, 1).

    Examples
    --------
    The maximum NaCrO2 concentration is the capacity window over Faraday's constant,
    Q (120 mAh g⁻¹ = 432 000 C kg⁻¹) × ρ (4360 kg m⁻³) / F; the cathode's Bruggeman coefficient b makes σ_sep ε_el^b = σ_el ε_el^β
    with PyBaMM's single electrolyte conductivity (σ_sep):

    >>> from xrdkit.cell import Electrode, RateParameters, electrolyte_conductivity
    >>> from xrdkit.cell.constants import FARADAY_C_PER_MOL
    >>> from xrdkit.cell.pybamm_backend import build_parameters
    >>> e = Electrode("97:1:2", 7.7)
    >>> s_el, s_sep = electrolyte_conductivity(0.87, 30.0), electrolyte_conductivity(1.0, 30.0)
    >>> values = build_parameters(e, s_el, RateParameters(), separator_sigma_S_per_cm=s_sep)
    >>> round(values["Maximum concentration in positive electrode [mol.m-3]"])        # mol/m³
    19521
    >>> round(120.0 * 3.6e3 * 4360.0 / FARADAY_C_PER_MOL)
    19521
    >>> eps, b = values["Positive electrode porosity"], values["Positive electrode Bruggeman coefficient (electrolyte)"]
    >>> round(s_sep * eps ** b, 12) == round(s_el * eps ** 1.5, 12)
    True
    >>> round(values["Positive electrode thickness [m]"] * 1e6, 1)                        # µm
    28.7
    """
    pybamm = _pybamm()
    sigma_el = float(sigma_electrolyte_S_per_cm)
    sigma_sep = sigma_el if separator_sigma_S_per_cm is None else float(separator_sigma_S_per_cm)
    if not (sigma_el > 0 and sigma_sep > 0):
        raise InputError("the PyBaMM backend needs conductivities > 0",
                         source="sigma_electrolyte_S_per_cm")
    sigma_S_per_m = sigma_sep * 100.0
    eps_el = electrode.electrolyte_volume_fraction
    if not 0.0 < eps_el < 1.0:
        raise InputError(f"the PyBaMM backend needs 0 < ε_el < 1, got {eps_el!r}",
                         source="electrolyte_volume_fraction")
    bruggeman_cathode = params.bruggeman_exponent + math.log(sigma_el / sigma_sep) / math.log(
        eps_el)
    t_k = float(temperature_C) + 273.15
    rho_kg_per_m3 = electrode.density_active_g_per_cm3 * 1e3
    # c_max: capacity window Q (mAh/g) → C/kg → mol/m³
    c_max = params.capacity_window_mAh_per_g * 3.6 * 1e3 * rho_kg_per_m3 / FARADAY_C_PER_MOL
    x0 = float(inverse_ocv_nacro2(params.upper_voltage_V, params.ocv_mid_V, params.ocv_slope_V,
                                  params.ocv_log_V))
    _, r_int_geom = interface_terms(electrode, params)
    # per particle area: r_int_geom × A_active (Ω cm²) → Ω m²
    r_particle_ohm_m2 = r_int_geom * electrode.active_surface_area_cm2_per_cm2 * 1e-4
    # linear kinetics in PyBaMM: j = j0 · F η / (R T)  ⇒  j0 = R T / (F r)
    j0 = GAS_CONSTANT_J_PER_MOL_K * t_k / (FARADAY_C_PER_MOL * max(r_particle_ohm_m2, 1e-12))

    def ocp(sto: Any) -> Any:
        # clipped away from 0 and 1 so that a locally over-discharged particle (very
        # non-uniform reaction) does not hit the log singularity before the cut-off event
        x = pybamm.minimum(pybamm.maximum(sto, _STO_CLIP), 1 - _STO_CLIP)
        return (params.ocv_mid_V - params.ocv_slope_V * (x - 0.5)
                - params.ocv_log_V * pybamm.log(x / (1 - x)))

    def j0_positive(c_e: Any, c_s_surf: Any, c_s_max: Any, T: Any) -> Any:  # noqa: N803
        return pybamm.Scalar(j0)

    def j0_counter(c_e: Any, c_li: Any, T: Any) -> Any:  # noqa: N803
        return pybamm.Scalar(_COUNTER_J0_A_PER_M2)

    def kappa(c_e: Any, T: Any) -> Any:  # noqa: N803
        return pybamm.Scalar(sigma_S_per_m)

    def d_e(c_e: Any, T: Any) -> Any:  # noqa: N803
        return pybamm.Scalar(1e-9)  # irrelevant with t+ = 1 (no source term)

    area_side = math.sqrt(_AREA_M2)
    one_c_A = electrode.areal_capacity_mAh_per_cm2(params.one_c_mAh_per_g) * 1e-3
    return {
        "Negative electrode thickness [m]": 1e-4,
        "Separator thickness [m]": params.separator_thickness_um * 1e-6,
        "Positive electrode thickness [m]": electrode.thickness_cm() * 1e-2,
        "Electrode height [m]": area_side,
        "Electrode width [m]": area_side,
        "Nominal cell capacity [A.h]": one_c_A,
        "Current function [A]": one_c_A,
        "Contact resistance [Ohm]": 0.0,
        "Negative electrode OCP [V]": 0.0,
        "Negative electrode conductivity [S.m-1]": 1e7,
        "Negative electrode OCP entropic change [V.K-1]": 0.0,
        "Lithium metal partial molar volume [m3.mol-1]": 2.37e-5,  # Na: 23.7 cm³/mol
        "Exchange-current density for lithium metal electrode [A.m-2]": j0_counter,
        "Negative electrode charge transfer coefficient": 0.5,
        "Negative electrode double-layer capacity [F.m-2]": 0.2,
        "Positive electrode conductivity [S.m-1]": _ELECTRONIC_S_PER_M,
        "Maximum concentration in positive electrode [mol.m-3]": c_max,
        "Positive particle diffusivity [m2.s-1]": params.diffusivity_cm2_per_s * 1e-4,
        "Positive electrode OCP [V]": ocp,
        "Positive electrode porosity": eps_el,
        "Positive electrode active material volume fraction": electrode.active_volume_fraction,
        "Positive particle radius [m]": electrode.particle_radius_um * 1e-6,
        "Positive electrode Bruggeman coefficient (electrolyte)": bruggeman_cathode,
        "Positive electrode Bruggeman coefficient (electrode)": 0.0,
        "Positive electrode OCP entropic change [V.K-1]": 0.0,
        "Positive electrode charge transfer coefficient": 0.5,
        "Positive electrode exchange-current density [A.m-2]": j0_positive,
        "Positive electrode double-layer capacity [F.m-2]": 0.2,
        "Separator porosity": 1.0,
        "Separator Bruggeman coefficient (electrolyte)": 1.5,
        "Separator Bruggeman coefficient (electrode)": 1.5,
        "Initial concentration in electrolyte [mol.m-3]": 1000.0,
        "Cation transference number": 1.0,
        "Electrolyte diffusivity [m2.s-1]": d_e,
        "Electrolyte conductivity [S.m-1]": kappa,
        "Thermodynamic factor": 1.0,
        "Ambient temperature [K]": t_k,
        "Reference temperature [K]": t_k,
        "Initial temperature [K]": t_k,
        "Heat transfer coefficient [W.m-2.K-1]": 10.0,
        "Number of electrodes connected in parallel to make a cell": 1.0,
        "Number of cells connected in series to make a battery": 1.0,
        "Lower voltage cut-off [V]": params.cutoff_voltage_V,
        "Upper voltage cut-off [V]": 4.5,
        "Open-circuit voltage at 0% SOC [V]": params.cutoff_voltage_V,
        "Open-circuit voltage at 100% SOC [V]": params.upper_voltage_V,
        "Initial concentration in positive electrode [mol.m-3]": x0 * c_max,
    }


def pybamm_rate_capability(electrode: Electrode, sigma_electrolyte_S_per_cm: float,
                           c_rates: Sequence[float] | float = (0.1, 1.0, 5.0),
                           params: RateParameters | None = None,
                           temperature_C: float = 30.0, *,
                           separator_sigma_S_per_cm: float | None = None) -> PyBaMMDischarge:
    """Galvanostatic discharges of the half-cell DFN to the cut-off voltage, one per C-rate.

    Parameters and returns mirror :func:`xrdkit.cell.rate.rate_capability`.  A solve that fails
    is logged and gives NaN; a cell already below the cut-off at t = 0 delivers 0.

    Parameters
    ----------
    electrode : Electrode
        The composite cathode.
    sigma_electrolyte_S_per_cm : float
        Conductivity of the cathode's electrolyte at the cell temperature (> 0).
    c_rates : sequence of float
        C-rates (> 0); 1C = ``params.one_c_mAh_per_g``.
    params : RateParameters, optional
        Default: documented and calibrated values.
    temperature_C : float
        Cell temperature (°C).
    separator_sigma_S_per_cm : float, optional
        Conductivity of the separator pellet (default: the cathode's electrolyte's).

    Returns
    -------
    PyBaMMDischarge
        Capacity, mean voltage and solve time per C-rate.

    Raises
    ------
    InputError
        If PyBaMM is not installed, on C-rates ≤ 0 or conductivities ≤ 0.

    Examples
    --------
    The paper's cathode with phase-pure electrolyte (needs PyBaMM): the DFN, with full Fickian
    diffusion in the particles, agrees with the fast slab model to 0.05 mAh g⁻¹:

    >>> import numpy as np
    >>> from xrdkit.cell import Electrode, electrolyte_conductivity, rate_capability
    >>> from xrdkit.cell.pybamm_backend import pybamm_rate_capability
    >>> e, sigma = Electrode("97:1:2", 7.7), electrolyte_conductivity(1.0, 30.0)
    >>> dfn = pybamm_rate_capability(e, sigma, [0.1, 5.0]).capacity_mAh_per_g
    >>> fast = rate_capability(e, sigma, [0.1, 5.0]).capacity_mAh_per_g
    >>> dfn.round(1), bool(np.abs(dfn - fast).max() < 0.05)                           # mAh/g
    (array([118.1,  79.6]), True)
    """
    import time

    pybamm = _pybamm()
    p = params or RateParameters()
    n = _rates(c_rates)
    values = build_parameters(electrode, sigma_electrolyte_S_per_cm, p, temperature_C,
                              separator_sigma_S_per_cm)
    model = pybamm.lithium_ion.DFN(options={"working electrode": "positive",
                                            "intercalation kinetics": "linear"})
    one_c_A = values["Current function [A]"]
    m_active_g = electrode.active_mass_mg_per_cm2 * 1e-3 * _AREA_M2 * 1e4
    caps, volts, times = [], [], []
    for rate in n:
        pv = pybamm.ParameterValues(dict(values))
        current = float(rate) * one_c_A
        pv["Current function [A]"] = current
        sim = pybamm.Simulation(model, parameter_values=pv, var_pts=_VAR_PTS,
                                solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-6))
        t_end = 1.5 * 3600.0 / float(rate) * p.capacity_window_mAh_per_g / p.one_c_mAh_per_g
        t0 = time.perf_counter()
        try:
            sol = sim.solve([0.0, t_end])
        except pybamm.SolverError as exc:
            times.append(time.perf_counter() - t0)
            if "non-positive at initial conditions" in str(exc):
                # the cut-off is reached at t = 0: the cell delivers nothing at this rate
                caps.append(0.0)
            else:
                logger.warning("PyBaMM failed at %g C (%s); capacity set to NaN", rate, exc)
                caps.append(float("nan"))
            volts.append(float("nan"))
            continue
        times.append(time.perf_counter() - t0)
        t_s = sol["Time [s]"].entries
        v = sol["Voltage [V]"].entries
        caps.append(current * t_s[-1] / 3.6 / m_active_g)  # A·s → mAh per g: /3.6
        volts.append(float(np.trapezoid(v, t_s) / t_s[-1]) if t_s[-1] > 0 else float(v[0]))
    i_mA = n * one_c_A * 1e3 / (_AREA_M2 * 1e4)
    return PyBaMMDischarge(c_rates=n, current_density_mA_per_cm2=i_mA,
                           capacity_mAh_per_g=np.asarray(caps), mean_voltage_V=np.asarray(volts),
                           solve_time_s=np.asarray(times))
