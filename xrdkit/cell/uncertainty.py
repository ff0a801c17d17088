"""Uncertainty of the cell prediction: calibration-conditioned Monte Carlo.

Method (Monte Carlo, not polynomial chaos: the model has a percolation threshold and a cut-off,
so its outputs are not smooth in the inputs, and the calibration rejects draws — both defeat a
low-order polynomial surrogate):

1. **Draw** every propagated parameter of ``reference_data/cell/materials.json`` (those with a
   ``distribution``: uniform or log-uniform over the documented range, triangular with the mode
   at the documented value) with a scrambled Sobol sequence (``samples`` points, seeded), plus
   standard-normal variates for the purity of the scan, the separator's purity and the
   measurement noise of the two calibration retentions (σ = ``retention_measurement_sigma``).
2. **Calibrate each draw** on the paper's rate data: the interface resistance r_int (and, when
   both of the paper's electrodes are used, the binder film thickness) are solved so that the
   draw reproduces the noisy 5C retentions — the closed-form uniform-reaction solution first,
   then fixed-point corrections with the slab model (:mod:`xrdkit.cell.porous`) until the slab
   model matches to 2e-3.  Draws that cannot match the data with r_int ≥ 0 and a positive film
   thickness (e.g. a NaCrO2 so slow that diffusion alone loses more than the measured 5C
   capacity) are **rejected**; the accepted share is reported.  The fitted parameters therefore
   carry the guessed ones' uncertainty instead of absorbing it silently.
3. **Predict** with every accepted draw (its own purity sample w + σ z clipped to [0, 1]) and
   report the central 95 % interval (2.5th and 97.5th percentiles) of each output.

What is *not* in the intervals: model-form error beyond the documented ranges (the constructed
OCV's shape, the binder-coverage mechanism itself), the full-cell/half-cell capacity ratio and
the fade law (both fitted to the paper without an error model), and anything about the Na–Sn
counter electrode beyond what r_int absorbs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from xrdkit.cell.conductivity import electrolyte_conductivity_batch
from xrdkit.cell.constants import (
    material,
    material_distribution,
    material_range,
    paper_calibration,
    propagated_materials,
)
from xrdkit.cell.electrode import Composition, Electrode, parse_composition
from xrdkit.cell.ocv import inverse_ocv_nacro2, mean_ocv_nacro2_closed_form, ocv_nacro2
from xrdkit.cell.porous import porous_discharge
from xrdkit.cell.rate import (
    REFERENCE_C_RATE,
    RateParameters,
    uniform_reaction_capacity,
)
from xrdkit.errors import FitError, InputError

__all__ = [
    "Prior",
    "priors",
    "Draws",
    "draw_parameters",
    "nominal_draws",
    "CalibratedEnsemble",
    "calibrate",
    "calibrated_ensemble",
    "CellArrays",
    "evaluate",
    "central_interval",
    "DEFAULT_SAMPLES",
    "INTERVAL_PROBABILITY",
]

#: Sobol points drawn for a prediction (a power of 2; before rejection).
DEFAULT_SAMPLES = 512
#: Seed of the default draw (fixed: the same inputs give the same intervals).
DEFAULT_SEED = 20200543
#: Probability content of the reported intervals.
INTERVAL_PROBABILITY = 0.95
#: C-rate of the calibration retentions (the paper's 5C).
CALIBRATION_C_RATE = 5.0
#: Slab-model retention must match the (noisy) target to this for a draw to be accepted.
_CALIBRATION_TOL = 2e-3
#: The corrections stop once every acceptable draw matches to this.
_CONVERGED_TOL = 1e-6
#: Fixed-point corrections of the closed-form calibration with the slab model, at most.
_CORRECTIONS = 10
#: Fixed-point iterations of the closed-form inversion (0.1C capacity depends weakly on R).
_INVERSION_ITERATIONS = 6
#: Normal variates carried with each draw (not materials): scan purity, separator purity and the
#: measurement noise of the two calibration retentions.
NORMAL_VARIATES = ("purity", "separator_purity", "retention_97:1:2", "retention_95:2:3")


@dataclass(frozen=True)
class Prior:
    """Distribution of one propagated material constant (from materials.json).

    Attributes
    ----------
    name : str
        Key of the constant in ``materials.json`` (units in the name).
    value : float
        Documented value; the mode of a triangular distribution.
    low, high : float
        Documented range (the support of the distribution).
    distribution : str
        ``"uniform"``, ``"loguniform"`` or ``"triangular"``.

    Examples
    --------
    :func:`priors` lists them; :meth:`ppf` maps uniform variates to values.  The median of a
    uniform prior is the middle of its range, of a log-uniform one the geometric mean, and a
    triangular one puts (mode − low)/(high − low) of its mass below the mode:

    >>> import math
    >>> from xrdkit.cell.uncertainty import priors
    >>> prior = {p.name: p for p in priors()}
    >>> prior["porosity_pressed"]
    Prior(name='porosity_pressed', value=0.34, low=0.3, high=0.38, distribution='uniform')
    >>> prior["porosity_pressed"].ppf([0.0, 0.5, 1.0])
    array([0.3 , 0.34, 0.38])
    >>> d = prior["diffusivity_nacro2_cm2_per_s"]                                     # cm²/s
    >>> f"{float(d.ppf(0.5)):.4e}", f"{math.sqrt(d.low * d.high):.4e}"
    ('3.1623e-11', '3.1623e-11')
    >>> phi_c = prior["percolation_threshold_volume_fraction"]
    >>> round(float(phi_c.ppf((phi_c.value - phi_c.low) / (phi_c.high - phi_c.low))), 12)
    0.16
    """

    name: str
    value: float
    low: float
    high: float
    distribution: str

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: map uniform variates u ∈ (0, 1) to parameter values."""
        u = np.asarray(u, dtype=float)
        lo, hi, mode = self.low, self.high, self.value
        if hi <= lo:
            return np.full_like(u, self.value)
        if self.distribution == "uniform":
            return lo + (hi - lo) * u
        if self.distribution == "loguniform":
            return np.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)
        # triangular (lo, mode, hi)
        c = (mode - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode))
        return np.where(u < c, left, right)


@lru_cache(maxsize=1)
def priors() -> tuple[Prior, ...]:
    """The propagated parameters, in materials.json order."""
    out = []
    for name in propagated_materials():
        lo, hi = material_range(name)
        dist = material_distribution(name)
        out.append(Prior(name, material(name), lo, hi, str(dist)))
    return tuple(out)


@dataclass(frozen=True)
class Draws:
    """Parameter draws: ``values[name]`` and ``normals[variate]`` are arrays of shape (n,).

    Attributes
    ----------
    values : mapping of str to ndarray
        One array per propagated material constant (:func:`priors`), units in the name.
    normals : mapping of str to ndarray
        Standard-normal variates of :data:`NORMAL_VARIATES` (the scan's purity, the separator's
        purity and the noise of the two calibration retentions).

    Examples
    --------
    >>> from xrdkit.cell.uncertainty import draw_parameters
    >>> draws = draw_parameters(8, seed=1)
    >>> draws.n, sorted(draws.normals)
    (8, ['purity', 'retention_95:2:3', 'retention_97:1:2', 'separator_purity'])
    >>> thin = draws.take(draws.values["porosity_pressed"] < 0.34)   # a subset of the draws
    >>> thin.n, bool((thin.values["porosity_pressed"] < 0.34).all())
    (4, True)
    >>> fixed = draws.with_fixed({"porosity_pressed": 0.30})           # a value the user knows
    >>> fixed.values["porosity_pressed"].tolist() == [0.30] * 8
    True
    """

    values: Mapping[str, np.ndarray]
    normals: Mapping[str, np.ndarray]

    @property
    def n(self) -> int:
        """Number of draws."""
        return len(next(iter(self.values.values())))

    def take(self, index: np.ndarray) -> Draws:
        """The subset ``index`` (boolean mask or integer indices)."""
        return Draws({k: v[index] for k, v in self.values.items()},
                     {k: v[index] for k, v in self.normals.items()})

    def with_fixed(self, fixed: Mapping[str, float]) -> Draws:
        """A copy with the named parameters held at the given values (user-supplied inputs)."""
        values = dict(self.values)
        for k, v in fixed.items():
            values[k] = np.full(self.n, float(v))
        return Draws(values, dict(self.normals))


def draw_parameters(samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> Draws:
    """Scrambled-Sobol draws of every prior and the normal variates (``samples`` a power of 2).

    Parameters
    ----------
    samples : int
        Number of draws, a power of 2 ≥ 2 (default 512).
    seed : int
        Seed of the scrambling (default fixed: the same draws every time).

    Returns
    -------
    Draws
        ``samples`` draws of every prior of :func:`priors` and of the normal variates.

    Raises
    ------
    InputError
        If ``samples`` is not a power of 2 ≥ 2.

    Examples
    --------
    The first 2^m points of a scrambled Sobol sequence put exactly one point in each of the
    2^m equal slices of every coordinate: 8 draws of the pressed porosity (uniform on
    0.30–0.38) fill the eight 0.01-wide bins once each, and likewise the normal variates'
    probabilities:

    >>> import numpy as np
    >>> from scipy.special import ndtr
    >>> from xrdkit.cell.uncertainty import draw_parameters
    >>> draws = draw_parameters(8, seed=1)
    >>> porosity = draws.values["porosity_pressed"]
    >>> np.sort(np.floor((porosity - 0.30) / 0.01)).astype(int).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> np.sort(np.floor(8 * ndtr(draws.normals["purity"]))).astype(int).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> draw_parameters(100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...samples must be a power of 2 ≥ 2, got 100
    """
    m = int(samples)
    if m < 2 or m & (m - 1):
        raise InputError(f"samples must be a power of 2 ≥ 2, got {samples!r}", source="samples")
    pri = priors()
    d = len(pri) + len(NORMAL_VARIATES)
    u = qmc.Sobol(d=d, scramble=True, seed=int(seed)).random_base2(int(math.log2(m)))
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    values = {p.name: p.ppf(u[:, i]) for i, p in enumerate(pri)}
    normals = {name: ndtri(u[:, len(pri) + i]) for i, name in enumerate(NORMAL_VARIATES)}
    return Draws(values, normals)


def nominal_draws() -> Draws:
    """One draw at every documented value, normal variates 0.

    Returns
    -------
    Draws
        A single draw (n = 1): the values of ``materials.json``, every normal variate 0.

    Examples
    --------
    >>> from xrdkit.cell.constants import material
    >>> from xrdkit.cell.uncertainty import nominal_draws
    >>> nominal = nominal_draws()
    >>> nominal.n, nominal.values["porosity_pressed"].tolist(), nominal.normals["purity"].tolist()
    (1, [0.34], [0.0])
    >>> all(v[0] == material(k) for k, v in nominal.values.items())
    True
    """
    return Draws({p.name: np.array([p.value]) for p in priors()},
                 {name: np.zeros(1) for name in NORMAL_VARIATES})


# --- model pieces on draws -------------------------------------------------------------------
@dataclass(frozen=True)
class ElectrodeArrays:
    """Geometry of one cathode specification for every draw (arrays of shape (n,))."""

    thickness_cm: np.ndarray
    electrolyte_volume_fraction: np.ndarray
    void_fraction: np.ndarray
    active_area_cm2_per_cm2: np.ndarray
    binder_volume_cm3_per_cm2: np.ndarray
    active_mass_mg_per_cm2: np.ndarray
    electrode_mass_mg_per_cm2: np.ndarray
    expected_electrolyte_weight_fraction: np.ndarray


def electrode_arrays(draws: Draws, composition: Composition | str, loading_mg_per_cm2: float,
                     loading_basis: str = "active",
                     pore_fill: float | None = None) -> ElectrodeArrays:
    """Build the :class:`~xrdkit.cell.electrode.Electrode` of every draw and collect its geometry."""
    comp = parse_composition(composition)
    v = draws.values
    rows = []
    for k in range(draws.n):
        e = Electrode(
            comp, loading_mg_per_cm2, loading_basis=loading_basis,  # type: ignore[arg-type]
            porosity=float(v["porosity_pressed"][k]), pore_fill=pore_fill,
            porosity_as_cast=float(v["porosity_as_cast"][k]),
            solution_in_pores=float(v["infiltration_solution_in_pores"][k]),
            density_electrolyte_g_per_cm3=float(v["density_nbh_g_per_cm3"][k]),
            density_active_g_per_cm3=float(v["density_nacro2_g_per_cm3"][k]),
            density_binder_g_per_cm3=float(v["density_pvdf_g_per_cm3"][k]),
            density_carbon_g_per_cm3=float(v["density_carbon_black_g_per_cm3"][k]),
            particle_radius_um=float(v["particle_radius_nacro2_um"][k]))
        rows.append((e.thickness_cm(), e.electrolyte_volume_fraction, e.void_fraction,
                     e.active_surface_area_cm2_per_cm2, e.solid_volumes_cm3_per_cm2[1],
                     e.active_mass_mg_per_cm2, e.electrode_mass_mg_per_cm2,
                     e.expected_electrolyte_weight_fraction))
    cols = np.array(rows, dtype=float).T
    return ElectrodeArrays(*cols)


def conductivity_arrays(draws: Draws, fcc_weight_fraction: np.ndarray | float,
                        temperature_C: float) -> np.ndarray:
    """Electrolyte conductivity (S cm⁻¹) of every draw at the given fcc weight fraction(s)."""
    v = draws.values
    return electrolyte_conductivity_batch(
        fcc_weight_fraction, temperature_C,
        sigma_fcc_25C_S_per_cm=v["sigma_fcc_25C_S_per_cm"],
        activation_energy_fcc_eV=v["activation_energy_fcc_eV"],
        sigma_monoclinic_25C_S_per_cm=v["sigma_monoclinic_25C_S_per_cm"],
        activation_energy_monoclinic_eV=v["activation_energy_monoclinic_eV"],
        density_fcc_g_per_cm3=v["density_nbh_g_per_cm3"],
        density_b12_g_per_cm3=v["density_na2b12h12_g_per_cm3"],
        density_b10_g_per_cm3=v["density_na2b10h10_g_per_cm3"],
        percolation_threshold=v["percolation_threshold_volume_fraction"],
        percolation_exponent=v["percolation_exponent"])


@dataclass(frozen=True)
class _Stack:
    """Everything the discharge needs for one cathode spec, per draw (shape (n,))."""

    one_c_mA_per_cm2: np.ndarray
    window_charge_C_per_cm2: np.ndarray
    r_sep: np.ndarray
    r_ion: np.ndarray
    a_active: np.ndarray
    b_ratio_um: np.ndarray  # V_binder/A_active in µm: binder coverage ratio = b/t_film
    radius_cm: np.ndarray
    x0: np.ndarray


#: Voltage window of the paper's half cell (cut-off, upper): RateParameters' defaults.
_RATE = RateParameters()


def _stack(draws: Draws, geo: ElectrodeArrays, sigma_el: np.ndarray,
           sigma_sep: np.ndarray) -> _Stack:
    v = draws.values
    q_win = v["capacity_practical_nacro2_mAh_per_g"]
    one_c = material("c_rate_basis_mAh_per_g")
    sigma_eff = sigma_el * geo.electrolyte_volume_fraction ** v["bruggeman_exponent"]
    with np.errstate(divide="ignore"):
        r_ion = np.where(sigma_eff > 0, geo.thickness_cm / sigma_eff, np.inf)
        r_sep = np.where(sigma_sep > 0, v["separator_thickness_um"] * 1e-4 / sigma_sep, np.inf)
    x0 = inverse_ocv_nacro2(_RATE.upper_voltage_V, v["ocv_mid_V"], v["ocv_slope_V"],
                            v["ocv_log_V"])
    return _Stack(one_c_mA_per_cm2=geo.active_mass_mg_per_cm2 * 1e-3 * one_c,
                  window_charge_C_per_cm2=geo.active_mass_mg_per_cm2 * 1e-3 * q_win * 3.6,
                  r_sep=r_sep, r_ion=r_ion, a_active=geo.active_area_cm2_per_cm2,
                  b_ratio_um=geo.binder_volume_cm3_per_cm2 / geo.active_area_cm2_per_cm2 * 1e4,
                  radius_cm=v["particle_radius_nacro2_um"] * 1e-4, x0=np.asarray(x0))


def _interface_geo(st: _Stack, r_int: np.ndarray, film_um: np.ndarray) -> np.ndarray:
    """Interface resistance per cm² of electrode: r_int exp(V_b/(t A)) / A."""
    return r_int * np.exp(np.minimum(st.b_ratio_um / film_um, 700.0)) / st.a_active


def _capacities(draws: Draws, st: _Stack, r_int_geo: np.ndarray,
                c_rates: Sequence[float] | np.ndarray) -> np.ndarray:
    """Slab-model capacity (mAh g⁻¹), shape (n, len(c_rates))."""
    v = draws.values
    n = np.asarray(c_rates, dtype=float)[None, :]
    col = (lambda a: np.asarray(a, dtype=float)[:, None])  # noqa: E731
    frac = porous_discharge(
        current_A_per_cm2=n * col(st.one_c_mA_per_cm2) * 1e-3,
        window_charge_C_per_cm2=col(st.window_charge_C_per_cm2),
        separator_resistance_ohm_cm2=col(st.r_sep), electrode_ionic_resistance_ohm_cm2=col(st.r_ion),
        interface_resistance_ohm_cm2=col(r_int_geo), particle_radius_cm=col(st.radius_cm),
        diffusivity_cm2_per_s=col(v["diffusivity_nacro2_cm2_per_s"]), x_start=col(st.x0),
        ocv_mid_V=col(v["ocv_mid_V"]), ocv_slope_V=col(v["ocv_slope_V"]),
        ocv_log_V=col(v["ocv_log_V"]), cutoff_voltage_V=_RATE.cutoff_voltage_V)
    return frac * col(v["capacity_practical_nacro2_mAh_per_g"])


def _required_interface(draws: Draws, st: _Stack, retention: np.ndarray) -> np.ndarray:
    """Closed-form (uniform-reaction) interface resistance per cm² giving a 5C retention.

    NaN where no R ≥ 0 reproduces it.
    """
    v = draws.values
    common = dict(capacity_window_mAh_per_g=v["capacity_practical_nacro2_mAh_per_g"],
                  one_c_mAh_per_g=material("c_rate_basis_mAh_per_g"),
                  cutoff_voltage_V=_RATE.cutoff_voltage_V, upper_voltage_V=_RATE.upper_voltage_V,
                  ocv_mid_V=v["ocv_mid_V"], ocv_slope_V=v["ocv_slope_V"], ocv_log_V=v["ocv_log_V"],
                  particle_radius_cm=st.radius_cm,
                  diffusivity_cm2_per_s=v["diffusivity_nacro2_cm2_per_s"],
                  one_c_current_mA_per_cm2=st.one_c_mA_per_cm2)
    q_win = v["capacity_practical_nacro2_mAh_per_g"]
    i5 = CALIBRATION_C_RATE * st.one_c_mA_per_cm2 * 1e-3
    dx5 = (st.radius_cm**2 * CALIBRATION_C_RATE * material("c_rate_basis_mAh_per_g")
           / (15.0 * v["diffusivity_nacro2_cm2_per_s"] * 3600.0 * q_win))
    r_other = st.r_sep + st.r_ion / 3.0
    r_tot = r_other.copy()
    for _ in range(_INVERSION_ITERATIONS):
        q01 = uniform_reaction_capacity(np.array(REFERENCE_C_RATE), total_resistance_ohm_cm2=r_tot,
                                        **common)
        x_end5 = st.x0 + retention * q01 / q_win
        x_surface5 = np.clip(x_end5 + dx5, 0.0, 1.0)
        r_tot = (ocv_nacro2(x_surface5, v["ocv_mid_V"], v["ocv_slope_V"], v["ocv_log_V"])
                 - _RATE.cutoff_voltage_V) / i5
    r_int = r_tot - r_other
    ok = np.isfinite(r_int) & (r_int >= 0) & (x_end5 + dx5 < 1.0)
    return np.where(ok, r_int, np.nan)


@dataclass(frozen=True)
class CalibratedEnsemble:
    """Accepted draws with their fitted interface parameters.

    Attributes
    ----------
    draws : Draws
        The accepted draws (the binder film thickness in ``values`` is the fitted one when
        ``fold == "both"``, the prior draw otherwise).
    interface_resistance_ohm_cm2 : ndarray
        r_int per cm² of uncovered NaCrO2 surface, fitted per draw.
    fold : str
        ``"both"`` (both paper electrodes fitted) or the label of the one electrode fitted.
    n_drawn, n_accepted : int
        Draws calibrated, and those that reproduce the data (kept in ``draws``).
    targets : dict
        The paper's retentions used (before noise).

    Examples
    --------
    What :func:`calibrate` returns; with the documented values and no noise it is the
    deterministic central model, whose fitted pair is the one
    :func:`~xrdkit.cell.calibration.fit_rate_parameters` finds with a least-squares solver:

    >>> from xrdkit.cell import RateParameters
    >>> from xrdkit.cell.uncertainty import calibrate, nominal_draws
    >>> ens = calibrate(nominal_draws(), noise=False)
    >>> ens.fold, ens.n_drawn, ens.n_accepted, ens.acceptance
    ('both', 1, 1, 1.0)
    >>> round(float(ens.interface_resistance_ohm_cm2[0]), 2), round(float(ens.binder_film_thickness_um[0]), 5)
    (2306.11, 0.18294)
    >>> p = RateParameters()
    >>> round(p.interface_resistance_ohm_cm2, 2), round(p.binder_film_thickness_um, 5)  # Ω cm², µm
    (2306.11, 0.18294)
    >>> ens.targets
    {'95:2:3': 0.575, '97:1:2': 0.674}
    """

    draws: Draws
    interface_resistance_ohm_cm2: np.ndarray
    fold: str
    n_drawn: int
    n_accepted: int
    targets: Mapping[str, float] = field(default_factory=dict)

    @property
    def acceptance(self) -> float:
        """Share of the draws that could reproduce the calibration data."""
        return self.n_accepted / self.n_drawn

    @property
    def binder_film_thickness_um(self) -> np.ndarray:
        """Binder film thickness per draw (fitted or prior, see ``fold``)."""
        return self.draws.values["binder_film_thickness_um"]


def paper_rate_cells() -> dict[str, tuple[Composition, float, float]]:
    """The paper's rate-test cathodes: label → (composition, loading mg cm⁻², 5C retention)."""
    cal = paper_calibration()["electrodes"]
    return {label: (parse_composition(label), float(rec["loading_mg_per_cm2"]),
                    float(rec["retention_5C_vs_0p1C"])) for label, rec in cal.items()}


def calibrate(draws: Draws, fold: str = "both", *, noise: bool = True,
              retentions: Mapping[str, float] | None = None) -> CalibratedEnsemble:
    """Fit the interface parameters of every draw to the paper's 5C retentions (module docstring).

    Parameters
    ----------
    draws : Draws
    fold : str
        ``"both"``: fit r_int and the binder film thickness to both electrodes (exactly
        determined per draw); an electrode label (``"97:1:2"`` or ``"95:2:3"``): fit r_int to that
        one alone, the film thickness staying at its prior draw (the hold-out calibration).
    noise : bool
        Add the retention measurement noise (σ from materials.json) to the targets.
    retentions : mapping, optional
        5C retentions to calibrate on instead of the paper's (label → value; the coverage
        study of ``benchmarks/bench_cell.py`` uses synthetic ones).

    Returns
    -------
    CalibratedEnsemble
        The accepted draws with their fitted r_int (and film thickness when ``fold="both"``).

    Raises
    ------
    InputError
        If ``fold`` is neither ``"both"`` nor a paper electrode.
    FitError
        If no draw can reproduce the data.

    Examples
    --------
    Eight draws (the default 512 take a few seconds): some are rejected because they cannot
    reproduce the two noisy 5C retentions:

    >>> from xrdkit.cell.uncertainty import calibrate, draw_parameters
    >>> ens = calibrate(draw_parameters(8))
    >>> ens.n_accepted, ens.n_drawn, ens.acceptance
    (5, 8, 0.625)
    >>> bool((ens.interface_resistance_ohm_cm2 >= 0).all())                    # Ω cm² of NaCrO2
    True

    Hold-out calibration on one electrode: the film thickness keeps its prior draw:

    >>> from xrdkit.cell.uncertainty import nominal_draws
    >>> one = calibrate(nominal_draws(), "97:1:2", noise=False)
    >>> one.fold, one.binder_film_thickness_um.tolist(), round(float(one.interface_resistance_ohm_cm2[0]), 1)
    ('97:1:2', [0.1], 2096.3)
    """
    cells = paper_rate_cells()
    if fold != "both" and fold not in cells:
        raise InputError(f"fold must be 'both' or one of {sorted(cells)}, got {fold!r}",
                         source="fold")
    t_c = float(paper_calibration()["temperature_C"])
    sigma_ret = material("retention_measurement_sigma") if noise else 0.0
    sig_pure = conductivity_arrays(draws, 1.0, t_c)
    fit_labels = list(cells) if fold == "both" else [fold]
    stacks, targets = {}, {}
    for label in fit_labels:
        comp, loading, ret = cells[label]
        if retentions is not None:
            ret = float(retentions[label])
        geo = electrode_arrays(draws, comp, loading)
        stacks[label] = _stack(draws, geo, sig_pure, sig_pure)
        targets[label] = ret + sigma_ret * draws.normals[f"retention_{label}"]
    film = draws.values["binder_film_thickness_um"].copy()
    aim = {k: t.copy() for k, t in targets.items()}
    r_int = np.full(draws.n, np.nan)
    ok = np.ones(draws.n, dtype=bool)
    for _ in range(_CORRECTIONS + 1):
        req = {k: _required_interface(draws, stacks[k], np.clip(aim[k], 1e-6, 1.0))
               for k in fit_labels}
        if fold == "both":
            (k1, k2) = fit_labels
            s1, s2 = stacks[k1], stacks[k2]
            with np.errstate(invalid="ignore", divide="ignore"):
                inv_t = ((np.log(req[k2] * s2.a_active) - np.log(req[k1] * s1.a_active))
                         / (s2.b_ratio_um - s1.b_ratio_um))
                film = np.where(inv_t > 0, 1.0 / inv_t, np.nan)
                r_int = req[k1] * s1.a_active * np.exp(-s1.b_ratio_um / film)
        else:
            st = stacks[fold]
            r_int = req[fold] * st.a_active * np.exp(-st.b_ratio_um / film)
        ok = np.isfinite(r_int) & np.isfinite(film) & (r_int >= 0)
        r_use = np.where(ok, r_int, 0.0)
        f_use = np.where(ok, film, 1.0)
        worst = np.zeros(draws.n)
        for k in fit_labels:
            st = stacks[k]
            cap = _capacities(draws, st, _interface_geo(st, r_use, f_use),
                              [REFERENCE_C_RATE, CALIBRATION_C_RATE])
            with np.errstate(invalid="ignore", divide="ignore"):
                got = np.where(cap[:, 0] > 0, cap[:, 1] / cap[:, 0], 0.0)
            miss = got - targets[k]
            worst = np.maximum(worst, np.abs(miss))
            aim[k] = aim[k] - miss
        if np.all(worst[ok & (worst < _CALIBRATION_TOL)] < _CONVERGED_TOL):
            break
    ok &= worst < _CALIBRATION_TOL
    if not np.any(ok):
        raise FitError(f"no draw reproduces the paper's 5C retentions (fold {fold!r})")
    accepted = draws.take(ok)
    values = dict(accepted.values)
    values["binder_film_thickness_um"] = film[ok]
    return CalibratedEnsemble(
        draws=Draws(values, dict(accepted.normals)), interface_resistance_ohm_cm2=r_int[ok],
        fold=fold, n_drawn=draws.n, n_accepted=int(ok.sum()),
        targets={k: (cells[k][2] if retentions is None else float(retentions[k]))
                 for k in fit_labels})


@lru_cache(maxsize=8)
def calibrated_ensemble(samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
                        fold: str = "both") -> CalibratedEnsemble:
    """:func:`calibrate` on :func:`draw_parameters` (cached per process)."""
    return calibrate(draw_parameters(samples, seed), fold)


@lru_cache(maxsize=1)
def nominal_ensemble() -> CalibratedEnsemble:
    """The documented values, calibrated without noise: the deterministic central prediction."""
    return calibrate(nominal_draws(), "both", noise=False)


# --- predictions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CellArrays:
    """Outputs of :func:`evaluate` for every draw (first axis: draws).

    Attributes
    ----------
    fcc_weight_fraction : ndarray, shape (n,)
        The purity each draw used.
    sigma_electrolyte_S_per_cm, sigma_separator_S_per_cm, sigma_effective_S_per_cm : ndarray, shape (n,)
        Conductivity of the cathode's electrolyte, of the separator pellet, and of the
        composite (σ ε_el^β), S cm⁻¹.
    capacity_mAh_per_g : ndarray, shape (n, n_rates)
        Including the 0.1C reference as column 0.
    electrolyte_volume_fraction, void_fraction, thickness_um : ndarray, shape (n,)
        Electrolyte-filled and empty shares of the pressed cathode, and its thickness (µm).
    areal_capacity_mAh_per_cm2, current_1c_mA_per_cm2 : ndarray, shape (n,)
        NaCrO2 loading × 120 mAh g⁻¹, and the current density of 1C.
    mean_voltage_V, energy_Wh_per_kg, energy_Wh_per_kg_electrodes, np_ratio : ndarray, shape (n,)
        Full cell (paper's anode per cathode loading and full/half capacity ratio).
    expected_electrolyte_weight_fraction : ndarray, shape (n,)
        Electrolyte weight fraction dried inside the pores (mass balance).
    interface_resistance_geometric_ohm_cm2 : ndarray, shape (n,)
        Interface resistance per cm² of electrode.

    Examples
    --------
    What :func:`evaluate` returns; for the central model (one draw) at fcc 0.87 the 5C
    capacity is ``docs/cell.md``'s 77.4 mAh g⁻¹, and the full cell follows its formulas:
    energy = 0.1C capacity × 110/118 × mean voltage, N/P = 634 mAh g⁻¹ × (1.2/5.6) / 0.1C
    capacity:

    >>> from xrdkit.cell.uncertainty import calibrate, evaluate, nominal_draws
    >>> arr = evaluate(calibrate(nominal_draws(), noise=False), fcc_weight_fraction=0.87,
    ...                fcc_weight_fraction_sigma=0.0, cathode="97:1:2", loading_mg_per_cm2=7.7,
    ...                c_rates=(0.1, 1.0, 5.0))
    >>> arr.capacity_mAh_per_g.round(1)                                              # mAh/g
    array([[118.2, 116.9,  77.4]])
    >>> q = float(arr.capacity_mAh_per_g[0, 0])
    >>> round(float(arr.energy_Wh_per_kg[0]), 1), round(q * 110 / 118 * float(arr.mean_voltage_V[0]), 1)
    (283.0, 283.0)
    >>> round(float(arr.np_ratio[0]), 4), round(634.0 * 1.2 / 5.6 / q, 4)
    (1.1499, 1.1499)
    >>> arr.thickness_um.round(1), arr.interface_resistance_geometric_ohm_cm2.round(1)  # µm, Ω cm²
    (array([28.7]), array([122.1]))
    """

    fcc_weight_fraction: np.ndarray
    sigma_electrolyte_S_per_cm: np.ndarray
    sigma_separator_S_per_cm: np.ndarray
    sigma_effective_S_per_cm: np.ndarray
    capacity_mAh_per_g: np.ndarray
    electrolyte_volume_fraction: np.ndarray
    void_fraction: np.ndarray
    thickness_um: np.ndarray
    areal_capacity_mAh_per_cm2: np.ndarray
    current_1c_mA_per_cm2: np.ndarray
    mean_voltage_V: np.ndarray
    energy_Wh_per_kg: np.ndarray
    energy_Wh_per_kg_electrodes: np.ndarray
    np_ratio: np.ndarray
    expected_electrolyte_weight_fraction: np.ndarray
    interface_resistance_geometric_ohm_cm2: np.ndarray


#: Full-cell / half-cell capacity ratio of the paper (110 / 118 mAh g⁻¹) — calibration number.
PAPER_FULL_TO_HALF_CELL_CAPACITY = 110.0 / 118.0
#: Paper's full cell: anode (Sn) loading per cathode (NaCrO2) loading, 1.2 / 5.6.
PAPER_ANODE_PER_CATHODE_LOADING = 1.2 / 5.6


def evaluate(ensemble: CalibratedEnsemble, *, fcc_weight_fraction: float,
             fcc_weight_fraction_sigma: float, cathode: Composition | str,
             loading_mg_per_cm2: float, loading_basis: str = "active",
             c_rates: Sequence[float] = (REFERENCE_C_RATE,), temperature_C: float = 30.0,
             separator_fcc_weight_fraction: float = 1.0,
             separator_fcc_weight_fraction_sigma: float = 0.0,
             separator_sigma_S_per_cm: float | None = None,
             anode_loading_mg_per_cm2: float | None = None,
             pore_fill: float | None = None,
             fixed: Mapping[str, float] | None = None) -> CellArrays:
    """Run every draw of ``ensemble`` for one cell specification.

    ``c_rates`` must start with the 0.1C reference.  Purities are sampled per draw as
    clip(w + σ z, 0, 1) with the draw's normal variates; ``fixed`` holds parameters the user gave
    (e.g. ``{"porosity_pressed": 0.3}``), which replace the draws.

    Parameters
    ----------
    ensemble : CalibratedEnsemble
        Calibrated draws (:func:`calibrate`).
    fcc_weight_fraction, fcc_weight_fraction_sigma : float
        Purity of the cathode's electrolyte and its 1σ.
    cathode : Composition or str
        ``"active:binder:carbon"`` in wt %.
    loading_mg_per_cm2 : float
        Cathode loading; ``loading_basis`` ``"active"`` (NaCrO2 mass) or ``"electrode"``.
    loading_basis : str
        What the loading counts (default ``"active"``).
    c_rates : sequence of float
        C-rates, the first being the 0.1C reference.
    temperature_C : float
        Cell temperature (°C).
    separator_fcc_weight_fraction, separator_fcc_weight_fraction_sigma : float
        Purity of the separator pellet's electrolyte and its 1σ.
    separator_sigma_S_per_cm : float, optional
        Measured pellet conductivity; replaces the purity model of the pellet.
    anode_loading_mg_per_cm2 : float, optional
        Sn loading (default: the paper's 1.2/5.6 of the cathode's NaCrO2 loading).
    pore_fill : float, optional
        Filled share of the pressed pores (default: the infiltration mass balance).
    fixed : mapping of str to float, optional
        Parameters held at given values in every draw.

    Returns
    -------
    CellArrays
        Every output per accepted draw.

    Examples
    --------
    Eight calibrated draws; the purity 0.87 ± 0.03 is sampled per draw from the draw's own
    normal variate, and fixing the porosity fixes it in every draw:

    >>> import numpy as np
    >>> from xrdkit.cell.uncertainty import calibrate, draw_parameters, evaluate
    >>> ens = calibrate(draw_parameters(8))
    >>> arr = evaluate(ens, fcc_weight_fraction=0.87, fcc_weight_fraction_sigma=0.03,
    ...                cathode="97:1:2", loading_mg_per_cm2=7.7, c_rates=(0.1, 5.0),
    ...                fixed={"porosity_pressed": 0.30})
    >>> arr.capacity_mAh_per_g.shape                                   # (accepted draws, rates)
    (5, 2)
    >>> w = np.clip(0.87 + 0.03 * ens.draws.normals["purity"], 0, 1)
    >>> bool(np.array_equal(arr.fcc_weight_fraction, w))
    True
    >>> bool(np.allclose(arr.electrolyte_volume_fraction + arr.void_fraction, 0.30))
    True
    """
    draws = ensemble.draws.with_fixed(fixed or {})
    z = draws.normals
    w = np.clip(fcc_weight_fraction + fcc_weight_fraction_sigma * z["purity"], 0.0, 1.0)
    geo = electrode_arrays(draws, cathode, loading_mg_per_cm2, loading_basis, pore_fill)
    sig_el = conductivity_arrays(draws, w, temperature_C)
    if separator_sigma_S_per_cm is not None:
        w_sep = np.full(draws.n, float(separator_fcc_weight_fraction))
        sig_sep = np.full(draws.n, float(separator_sigma_S_per_cm))
    else:
        w_sep = np.clip(separator_fcc_weight_fraction
                        + separator_fcc_weight_fraction_sigma * z["separator_purity"], 0.0, 1.0)
        sig_sep = conductivity_arrays(draws, w_sep, temperature_C)
    st = _stack(draws, geo, sig_el, sig_sep)
    film = draws.values["binder_film_thickness_um"]
    r_geo = _interface_geo(st, ensemble.interface_resistance_ohm_cm2, film)
    cap = _capacities(draws, st, r_geo, c_rates)
    v = draws.values
    # full cell: capacity at 0.1C × the paper's full/half ratio, mean OCV over that depth − anode
    q_ref = cap[:, 0]
    q_full = q_ref * PAPER_FULL_TO_HALF_CELL_CAPACITY
    depth = PAPER_FULL_TO_HALF_CELL_CAPACITY
    x_cut = inverse_ocv_nacro2(_RATE.cutoff_voltage_V, v["ocv_mid_V"], v["ocv_slope_V"],
                               v["ocv_log_V"])
    x1 = st.x0 + depth * (x_cut - st.x0)
    v_mean = mean_ocv_nacro2_closed_form(st.x0, x1, v["ocv_mid_V"], v["ocv_slope_V"],
                                         v["ocv_log_V"]) - v["anode_mean_desodiation_potential_V"]
    e_active = q_full * v_mean
    m_an = (PAPER_ANODE_PER_CATHODE_LOADING * geo.active_mass_mg_per_cm2
            if anode_loading_mg_per_cm2 is None else np.full(draws.n, anode_loading_mg_per_cm2))
    an_active_share = parse_composition("90:5:5").fractions[0]
    e_electrodes = e_active * geo.active_mass_mg_per_cm2 / (geo.electrode_mass_mg_per_cm2
                                                            + m_an / an_active_share)
    with np.errstate(divide="ignore", invalid="ignore"):
        np_ratio = np.where(q_ref > 0, m_an * material("capacity_practical_sn_mAh_per_g")
                            / (geo.active_mass_mg_per_cm2 * q_ref), np.nan)
    sigma_eff = sig_el * geo.electrolyte_volume_fraction ** v["bruggeman_exponent"]
    return CellArrays(
        fcc_weight_fraction=w, sigma_electrolyte_S_per_cm=sig_el,
        sigma_separator_S_per_cm=sig_sep, sigma_effective_S_per_cm=sigma_eff,
        capacity_mAh_per_g=cap, electrolyte_volume_fraction=geo.electrolyte_volume_fraction,
        void_fraction=geo.void_fraction, thickness_um=geo.thickness_cm * 1e4,
        areal_capacity_mAh_per_cm2=geo.active_mass_mg_per_cm2 * 1e-3 * material(
            "c_rate_basis_mAh_per_g"),
        current_1c_mA_per_cm2=st.one_c_mA_per_cm2, mean_voltage_V=v_mean,
        energy_Wh_per_kg=np.where(q_ref > 0, e_active, 0.0),
        energy_Wh_per_kg_electrodes=np.where(q_ref > 0, e_electrodes, 0.0), np_ratio=np_ratio,
        expected_electrolyte_weight_fraction=geo.expected_electrolyte_weight_fraction,
        interface_resistance_geometric_ohm_cm2=r_geo)


def central_interval(values: np.ndarray, probability: float = INTERVAL_PROBABILITY,
                     axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) percentiles enclosing the central ``probability`` of ``values`` (NaN ignored).

    Parameters
    ----------
    values : ndarray
        Samples (e.g. one output per draw); NaN entries are ignored.
    probability : float
        Probability content of the interval (default 0.95: the 2.5th and 97.5th percentiles).
    axis : int
        Axis along which the samples lie.

    Returns
    -------
    tuple of ndarray
        (low, high), each with ``axis`` removed.

    Examples
    --------
    Evenly spaced quantiles of the standard normal: the interval is ±1.96, the normal's own
    97.5th percentile:

    >>> import numpy as np
    >>> from scipy.special import ndtri
    >>> from xrdkit.cell.uncertainty import central_interval
    >>> z = ndtri((np.arange(100_000) + 0.5) / 100_000)
    >>> [round(float(v), 3) for v in central_interval(z)], round(float(ndtri(0.975)), 3)
    ([-1.96, 1.96], 1.96)

    Column-wise over draws, NaN ignored:

    >>> central_interval(np.array([[0.0, 10.0], [1.0, np.nan], [2.0, 30.0]]))
    (array([ 0.05, 10.5 ]), array([ 1.95, 29.5 ]))
    """
    tail = 50.0 * (1.0 - probability)
    lo, hi = np.nanpercentile(values, [tail, 100.0 - tail], axis=axis)
    return lo, hi
