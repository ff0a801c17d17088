"""Ionic conductivity of the electrolyte from its phase composition.

The electrolyte powder is a mixture of the conductive fcc Na4(B12H12)(B10H10) ("NBH") and the
poorly conducting monoclinic precursors Na2B12H12 and Na2B10H10 that crystallise separately.  Its
conductivity follows from

1. weight → volume fractions through the phase densities (:func:`weight_to_volume_fractions`);
2. an effective-medium mixing rule: the symmetric Bruggeman equation (percolation threshold 1/3,
   :func:`bruggeman_conductivity`) or McLachlan's general effective-medium (GEM) equation with the
   percolation threshold φc and exponent t as parameters (:func:`gem_conductivity`);
3. Arrhenius temperature dependence of each phase (:func:`arrhenius`).

Which numbers are measured and which are guesses is recorded in ``reference_data/cell/materials.json``:
the fcc conductivity (1 mS cm⁻¹ at 25 °C) and its activation energy (0.60 eV) are from the paper;
the monoclinic conductivity (1e-7 S cm⁻¹, range 1e-9–1e-5) and its activation energy are not
measured values.  Because the fcc phase dominates the conductivity whenever it percolates, these
guesses only matter near and below the percolation threshold.

References
----------
D. A. G. Bruggeman, Ann. Phys. 416 (1935) 636, doi:10.1002/andp.19354160705.
D. S. McLachlan, M. Blaszkiewicz, R. E. Newnham, J. Am. Ceram. Soc. 73 (1990) 2187,
doi:10.1111/j.1151-2916.1990.tb07576.x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import brentq

from xrdkit.cell.constants import BOLTZMANN_EV_PER_K, material
from xrdkit.errors import InputError

__all__ = [
    "ElectrolyteParameters",
    "weight_to_volume_fractions",
    "arrhenius",
    "gem_conductivity",
    "bruggeman_conductivity",
    "electrolyte_conductivity",
    "phase_volume_fractions",
    "gem_conductivity_batch",
    "electrolyte_conductivity_batch",
]

#: Reference temperature of the tabulated conductivities (K).
T_REF_K = 298.15
#: Weight share of Na2B12H12 in the equimolar precursor mix (533.6 mg of 1 g batch, paper).
B12_WEIGHT_SHARE_EQUIMOLAR = 0.5336
#: Relative tolerance of the effective-medium root (in log σ).
_ROOT_RTOL = 1e-12
#: Bisection steps of the vectorised GEM root: the bracket (≤ ~40 in ln σ / t) shrinks by 2⁻⁶⁴.
_BATCH_BISECTION_STEPS = 64


def _check_fraction(value: float, name: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or v > 1.0:
        raise InputError(f"{name} must lie in [0, 1], got {value!r}", source=name)
    return v


def _check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or (v == 0.0 and not allow_zero):
        raise InputError(f"{name} must be {'≥' if allow_zero else '>'} 0, got {value!r}",
                         source=name)
    return v


@dataclass(frozen=True)
class ElectrolyteParameters:
    """Parameters of the electrolyte conductivity model (units in the names).

    Defaults come from ``reference_data/cell/materials.json`` (see there for sources and ranges).

    Attributes
    ----------
    sigma_fcc_25C_S_per_cm, activation_energy_fcc_eV
        Conductive fcc NBH phase [paper]: 1 mS cm⁻¹ at 25 °C, 0.60 eV from −50 to 70 °C.
    activation_energy_fcc_high_T_eV, fcc_arrhenius_crossover_C
        Above the crossover (70 °C) the fcc phase follows 0.34 eV [paper], continuously joined.
    sigma_monoclinic_25C_S_per_cm, activation_energy_monoclinic_eV
        Both monoclinic precursors (no measured value; default 1e-7 S cm⁻¹, range 1e-9–1e-5).
    density_fcc_g_per_cm3, density_b12_g_per_cm3, density_b10_g_per_cm3
        Phase densities for the weight → volume conversion.
    b12_weight_share
        Weight share of Na2B12H12 in the non-fcc remainder (default: equimolar precursor mix).
    mixing
        ``"gem"`` (McLachlan, default) or ``"bruggeman"`` (symmetric, φc = 1/3, t = 1).
    percolation_threshold
        Critical volume fraction φc of the fcc phase in the GEM equation (default 0.16).
    percolation_exponent
        Exponent t of the GEM equation (default 2.0).

    Examples
    --------
    The defaults are the documented values; a parameter set is validated when made:

    >>> from xrdkit.cell.conductivity import ElectrolyteParameters, electrolyte_conductivity
    >>> p = ElectrolyteParameters()
    >>> p.sigma_fcc_25C_S_per_cm, p.activation_energy_fcc_eV, p.percolation_threshold  # S/cm, eV, –
    (0.001, 0.6, 0.16)

    Symmetric Bruggeman mixing (φc = 1/3) instead of GEM (φc = 0.16) makes the same 30 % fcc
    electrolyte about 35 times less conductive: 30 vol % lies below Bruggeman's threshold and
    well above GEM's:

    >>> w = 0.3                                                  # fcc weight fraction
    >>> gem = electrolyte_conductivity(w)
    >>> brug = electrolyte_conductivity(w, params=ElectrolyteParameters(mixing="bruggeman"))
    >>> f"{gem:.2e} {brug:.2e} S/cm"
    '3.33e-05 9.58e-07 S/cm'
    >>> ElectrolyteParameters(percolation_threshold=1.2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...percolation_threshold must lie in (0, 1), got 1.2
    """

    sigma_fcc_25C_S_per_cm: float = field(
        default_factory=lambda: material("sigma_fcc_25C_S_per_cm"))
    activation_energy_fcc_eV: float = field(
        default_factory=lambda: material("activation_energy_fcc_eV"))
    activation_energy_fcc_high_T_eV: float = 0.34
    fcc_arrhenius_crossover_C: float = 70.0
    sigma_monoclinic_25C_S_per_cm: float = field(
        default_factory=lambda: material("sigma_monoclinic_25C_S_per_cm"))
    activation_energy_monoclinic_eV: float = field(
        default_factory=lambda: material("activation_energy_monoclinic_eV"))
    density_fcc_g_per_cm3: float = field(
        default_factory=lambda: material("density_nbh_g_per_cm3"))
    density_b12_g_per_cm3: float = field(
        default_factory=lambda: material("density_na2b12h12_g_per_cm3"))
    density_b10_g_per_cm3: float = field(
        default_factory=lambda: material("density_na2b10h10_g_per_cm3"))
    b12_weight_share: float = B12_WEIGHT_SHARE_EQUIMOLAR
    mixing: Literal["gem", "bruggeman"] = "gem"
    percolation_threshold: float = field(
        default_factory=lambda: material("percolation_threshold_volume_fraction"))
    percolation_exponent: float = field(default_factory=lambda: material("percolation_exponent"))

    def __post_init__(self) -> None:
        for name in ("sigma_fcc_25C_S_per_cm", "sigma_monoclinic_25C_S_per_cm",
                     "density_fcc_g_per_cm3", "density_b12_g_per_cm3", "density_b10_g_per_cm3",
                     "percolation_exponent"):
            _check_positive(getattr(self, name), name)
        for name in ("activation_energy_fcc_eV", "activation_energy_monoclinic_eV",
                     "activation_energy_fcc_high_T_eV"):
            _check_positive(getattr(self, name), name, allow_zero=True)
        _check_fraction(self.b12_weight_share, "b12_weight_share")
        phi_c = float(self.percolation_threshold)
        if not 0.0 < phi_c < 1.0:
            raise InputError(f"percolation_threshold must lie in (0, 1), got {phi_c!r}",
                             source="percolation_threshold")
        if self.mixing not in ("gem", "bruggeman"):
            raise InputError(f"mixing must be 'gem' or 'bruggeman', got {self.mixing!r}",
                             source="mixing")
        if self.sigma_monoclinic_25C_S_per_cm > self.sigma_fcc_25C_S_per_cm:
            raise InputError("sigma_monoclinic_25C_S_per_cm exceeds sigma_fcc_25C_S_per_cm",
                             source="sigma_monoclinic_25C_S_per_cm")


def weight_to_volume_fractions(weight_fractions: np.ndarray | list[float],
                               densities_g_per_cm3: np.ndarray | list[float]) -> np.ndarray:
    """Convert weight fractions to volume fractions: φ_i = (w_i/ρ_i) / Σ_j (w_j/ρ_j).

    Parameters
    ----------
    weight_fractions : array, shape (n,)
        Non-negative, summing to 1 (within 1e-6).
    densities_g_per_cm3 : array, shape (n,)
        Positive densities.

    Returns
    -------
    ndarray, shape (n,)
        Volume fractions, summing to 1.

    Raises
    ------
    InputError
        Unequal or non-1-D shapes, negative fractions or a sum other than 1, densities ≤ 0.

    Examples
    --------
    Equal masses of a 1 and a 3 g cm⁻³ phase: the light one takes three quarters of the volume:

    >>> from xrdkit.cell.conductivity import weight_to_volume_fractions
    >>> weight_to_volume_fractions([0.5, 0.5], [1.0, 3.0])
    array([0.75, 0.25])
    """
    w = np.asarray(weight_fractions, dtype=float)
    rho = np.asarray(densities_g_per_cm3, dtype=float)
    if w.shape != rho.shape or w.ndim != 1:
        raise InputError(f"weight fractions {w.shape} and densities {rho.shape} must be 1-D "
                         "arrays of equal length", source="weight_fractions")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-6:
        raise InputError(f"weight fractions must be ≥ 0 and sum to 1, got {w.tolist()}",
                         source="weight_fractions")
    if not np.all(np.isfinite(rho)) or np.any(rho <= 0):
        raise InputError(f"densities must be > 0, got {rho.tolist()}", source="densities")
    v = w / rho
    return v / v.sum()


def arrhenius(sigma_ref_S_per_cm: float, activation_energy_eV: float, temperature_K: float,
              reference_temperature_K: float = T_REF_K) -> float:
    """σ(T) = σ_ref · exp[−Ea/k_B · (1/T − 1/T_ref)].

    This is the plain Arrhenius form (no 1/T prefactor), as the paper's activation energy was
    read from a log σ vs 1/T plot.

    Parameters
    ----------
    sigma_ref_S_per_cm : float
        σ_ref, conductivity at ``reference_temperature_K`` (S cm⁻¹).
    activation_energy_eV : float
        Ea (eV).
    temperature_K : float
        T (K, > 0).
    reference_temperature_K : float
        T_ref (K); default 298.15 K (25 °C).

    Returns
    -------
    float
        σ(T) in S cm⁻¹.

    Raises
    ------
    InputError
        If ``temperature_K`` is not > 0.

    Examples
    --------
    fcc NBH (1 mS cm⁻¹ at 25 °C, 0.60 eV) at 60 °C, against the formula written out:

    >>> import math
    >>> from xrdkit.cell.conductivity import arrhenius
    >>> from xrdkit.cell.constants import BOLTZMANN_EV_PER_K
    >>> sigma = arrhenius(1e-3, 0.60, 333.15)                                      # S/cm
    >>> round(sigma, 6), round(1e-3 * math.exp(0.60 / BOLTZMANN_EV_PER_K * (1 / 298.15 - 1 / 333.15)), 6)
    (0.011628, 0.011628)
    >>> arrhenius(1e-3, 0.60, 298.15)                    # at the reference temperature: σ_ref
    0.001
    """
    t = _check_positive(temperature_K, "temperature_K")
    return float(sigma_ref_S_per_cm * math.exp(
        -activation_energy_eV / BOLTZMANN_EV_PER_K * (1.0 / t - 1.0 / reference_temperature_K)))


def gem_conductivity(volume_fractions: np.ndarray | list[float],
                     conductivities_S_per_cm: np.ndarray | list[float],
                     percolation_threshold: float, exponent: float) -> float:
    """Solve McLachlan's general effective-medium (GEM) equation for the mixture conductivity σ.

    Σ_i φ_i (σ_i^{1/t} − σ^{1/t}) / (σ_i^{1/t} + A σ^{1/t}) = 0,  A = (1 − φc)/φc.

    For two phases this is McLachlan's GEM equation; with t = 1 and φc = 1/3 (A = 2) it is the
    symmetric Bruggeman equation.  With an insulating minority (σ_low → 0) it reduces to
    σ = σ_high ((φ − φc)/(1 − φc))^t above φc, the percolation power law.

    Parameters
    ----------
    volume_fractions : array, shape (n,)
        Volume fractions summing to 1.
    conductivities_S_per_cm : array, shape (n,)
        Phase conductivities, all > 0.
    percolation_threshold : float
        φc in (0, 1).
    exponent : float
        t > 0.

    Returns
    -------
    float
        Effective conductivity (S cm⁻¹), between min(σ_i) and max(σ_i).

    Raises
    ------
    InputError
        Unequal or empty arrays, fractions not summing to 1, conductivities ≤ 0, φc outside
        (0, 1), t ≤ 0.

    Examples
    --------
    60 vol % of a 1 mS cm⁻¹ phase in a (nearly) insulating matrix, φc = 0.16, t = 2: the
    percolation law σ_high ((φ − φc)/(1 − φc))^t gives the same; below φc almost nothing is left:

    >>> from xrdkit.cell.conductivity import gem_conductivity
    >>> sigma = gem_conductivity([0.6, 0.4], [1e-3, 1e-12], 0.16, 2.0)               # S/cm
    >>> f"{sigma:.4e} {1e-3 * ((0.6 - 0.16) / (1 - 0.16)) ** 2:.4e}"
    '2.7440e-04 2.7438e-04'
    >>> gem_conductivity([0.1, 0.9], [1e-3, 1e-12], 0.16, 2.0) < 1e-10
    True
    """
    phi = np.asarray(volume_fractions, dtype=float)
    sig = np.asarray(conductivities_S_per_cm, dtype=float)
    if phi.shape != sig.shape or phi.ndim != 1 or phi.size == 0:
        raise InputError("volume fractions and conductivities must be equal-length 1-D arrays",
                         source="volume_fractions")
    if np.any(phi < 0) or abs(phi.sum() - 1.0) > 1e-6:
        raise InputError(f"volume fractions must be ≥ 0 and sum to 1, got {phi.tolist()}",
                         source="volume_fractions")
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError(f"conductivities must be > 0, got {sig.tolist()}",
                         source="conductivities_S_per_cm")
    if not 0.0 < percolation_threshold < 1.0:
        raise InputError(f"percolation_threshold must lie in (0, 1), got {percolation_threshold}",
                         source="percolation_threshold")
    _check_positive(exponent, "exponent")
    keep = phi > 0
    phi, sig = phi[keep], sig[keep]
    if sig.min() == sig.max():
        return float(sig[0])
    a = (1.0 - percolation_threshold) / percolation_threshold
    # work in s = ln σ / t so that σ^{1/t} = exp(s): no overflow for any t
    s_i = [math.log(x) / exponent for x in sig.tolist()]
    phis = phi.tolist()

    def residual(s: float) -> float:
        total = 0.0
        for p_i, si in zip(phis, s_i, strict=True):
            x = math.exp(si - s)  # σ_i^{1/t} / σ^{1/t}
            total += p_i * (x - 1.0) / (x + a)
        return total

    lo, hi = min(s_i), max(s_i)
    # residual is decreasing in s, ≥ 0 at the lowest and ≤ 0 at the highest phase conductivity
    s = brentq(residual, lo, hi, xtol=1e-14, rtol=_ROOT_RTOL)
    return float(math.exp(s * exponent))


def bruggeman_conductivity(volume_fractions: np.ndarray | list[float],
                           conductivities_S_per_cm: np.ndarray | list[float]) -> float:
    """Symmetric Bruggeman effective-medium conductivity (3-D spheres; φc = 1/3).

    Σ_i φ_i (σ_i − σ)/(σ_i + 2σ) = 0, solved as the GEM equation with t = 1, φc = 1/3.

    Parameters
    ----------
    volume_fractions : array, shape (n,)
        Volume fractions summing to 1.
    conductivities_S_per_cm : array, shape (n,)
        Phase conductivities, all > 0.

    Returns
    -------
    float
        Effective conductivity (S cm⁻¹).

    Raises
    ------
    InputError
        As :func:`gem_conductivity`.

    Examples
    --------
    For two phases the equation is a quadratic in σ, with the root
    σ = [b + √(b² + 8 σ₁σ₂)]/4, b = (3φ₁ − 1)σ₁ + (3φ₂ − 1)σ₂:

    >>> import math
    >>> from xrdkit.cell.conductivity import bruggeman_conductivity
    >>> (p1, p2), (s1, s2) = (0.6, 0.4), (1e-3, 1e-7)
    >>> b = (3 * p1 - 1) * s1 + (3 * p2 - 1) * s2
    >>> f"{bruggeman_conductivity([p1, p2], [s1, s2]):.6e} {(b + math.sqrt(b * b + 8 * s1 * s2)) / 4:.6e}"
    '4.001350e-04 4.001350e-04'
    """
    return gem_conductivity(volume_fractions, conductivities_S_per_cm, 1.0 / 3.0, 1.0)


def phase_volume_fractions(fcc_weight_fraction: float,
                           params: ElectrolyteParameters | None = None) -> np.ndarray:
    """Volume fractions (fcc, Na2B12H12, Na2B10H10) of an electrolyte with the given fcc wt fraction.

    The non-fcc remainder is split ``params.b12_weight_share`` : (1 − share) between the two
    precursors, then converted with :func:`weight_to_volume_fractions`.

    Parameters
    ----------
    fcc_weight_fraction : float
        fcc NBH weight fraction, in [0, 1].
    params : ElectrolyteParameters, optional
        Densities and the precursor split (default: documented values).

    Returns
    -------
    ndarray, shape (3,)
        Volume fractions (fcc, Na2B12H12, Na2B10H10), summing to 1.

    Raises
    ------
    InputError
        If the fraction is outside [0, 1].

    Examples
    --------
    The three densities are within 1 % of each other (1.17, 1.161, 1.17 g cm⁻³), so volume
    fractions are close to weight fractions:

    >>> from xrdkit.cell.conductivity import phase_volume_fractions
    >>> phase_volume_fractions(1.0)
    array([1., 0., 0.])
    >>> [round(float(v), 4) for v in phase_volume_fractions(0.87)]
    [0.8695, 0.0699, 0.0606]
    >>> round(0.13 * 0.5336, 4), round(0.13 * (1 - 0.5336), 4)    # the remainder by weight
    (0.0694, 0.0606)
    """
    p = params or ElectrolyteParameters()
    w = _check_fraction(fcc_weight_fraction, "fcc_weight_fraction")
    rest = 1.0 - w
    weights = [w, rest * p.b12_weight_share, rest * (1.0 - p.b12_weight_share)]
    dens = [p.density_fcc_g_per_cm3, p.density_b12_g_per_cm3, p.density_b10_g_per_cm3]
    return weight_to_volume_fractions(weights, dens)


def electrolyte_conductivity(fcc_weight_fraction: float, temperature_C: float = 25.0,
                             params: ElectrolyteParameters | None = None) -> float:
    """Ionic conductivity (S cm⁻¹) of an electrolyte powder compact with the given fcc weight fraction.

    Parameters
    ----------
    fcc_weight_fraction : float
        Weight fraction of the fcc NBH phase among the crystalline phases, in [0, 1].
    temperature_C : float
        Temperature (°C); each phase follows its own Arrhenius law.
    params : ElectrolyteParameters, optional
        Model parameters; defaults documented in :class:`ElectrolyteParameters`.

    Returns
    -------
    float
        σ in S cm⁻¹; equals the fcc value at fcc_weight_fraction = 1.

    Raises
    ------
    InputError
        If the fraction is outside [0, 1] or the temperature is below 0 K.

    Examples
    --------
    Phase-pure fcc NBH is 1 mS cm⁻¹ at 25 °C; 13 wt % of monoclinic precursors cost about a
    quarter of it, and half of the fcc phase gone costs most of it:

    >>> from xrdkit.cell import electrolyte_conductivity
    >>> for purity in (1.0, 0.87, 0.5):
    ...     print(f"{purity:.2f}  {1e3 * electrolyte_conductivity(purity):.2f} mS/cm")
    1.00  1.00 mS/cm
    0.87  0.72 mS/cm
    0.50  0.17 mS/cm

    At 60 °C (0.60 eV below the 70 °C crossover) the pure phase conducts about 12 times better:

    >>> round(electrolyte_conductivity(1.0, temperature_C=60.0) / electrolyte_conductivity(1.0))
    12
    """
    p = params or ElectrolyteParameters()
    t_k = float(temperature_C) + 273.15
    if not math.isfinite(t_k) or t_k <= 0:
        raise InputError(f"temperature_C must be above -273.15, got {temperature_C!r}",
                         source="temperature_C")
    phi = phase_volume_fractions(fcc_weight_fraction, p)
    t_cross_k = p.fcc_arrhenius_crossover_C + 273.15
    if t_k <= t_cross_k:
        s_fcc = arrhenius(p.sigma_fcc_25C_S_per_cm, p.activation_energy_fcc_eV, t_k)
    else:  # second regime, continuous at the crossover
        s_cross = arrhenius(p.sigma_fcc_25C_S_per_cm, p.activation_energy_fcc_eV, t_cross_k)
        s_fcc = arrhenius(s_cross, p.activation_energy_fcc_high_T_eV, t_k, t_cross_k)
    s_mono = arrhenius(p.sigma_monoclinic_25C_S_per_cm, p.activation_energy_monoclinic_eV, t_k)
    sig = np.array([s_fcc, s_mono, s_mono])
    if p.mixing == "bruggeman":
        return bruggeman_conductivity(phi, sig)
    return gem_conductivity(phi, sig, p.percolation_threshold, p.percolation_exponent)


def gem_conductivity_batch(volume_fractions: np.ndarray, conductivities_S_per_cm: np.ndarray,
                           percolation_threshold: np.ndarray | float,
                           exponent: np.ndarray | float) -> np.ndarray:
    """Vectorised :func:`gem_conductivity`: one GEM root per row.

    Parameters
    ----------
    volume_fractions, conductivities_S_per_cm : ndarray, shape (n, k)
        Each row a mixture (fractions summing to 1, conductivities > 0).
    percolation_threshold, exponent : float or ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
        Solved by bisection in s = ln σ / t inside [min s_i, max s_i] (the residual is
        decreasing in s); agrees with the scalar solver to ~1e-12 relative.

    Raises
    ------
    InputError
        Shapes that differ, fractions not summing to 1 in a row, conductivities ≤ 0, φc outside
        (0, 1), t ≤ 0.

    Examples
    --------
    Two mixtures at once, against the scalar solver:

    >>> import numpy as np
    >>> from xrdkit.cell.conductivity import gem_conductivity, gem_conductivity_batch
    >>> phi = np.array([[0.6, 0.4], [0.3, 0.7]])
    >>> sig = np.array([[1e-3, 1e-7], [1e-3, 1e-7]])                                   # S/cm
    >>> batch = gem_conductivity_batch(phi, sig, 0.16, 2.0)
    >>> scalar = [gem_conductivity(row, s, 0.16, 2.0) for row, s in zip(phi, sig)]
    >>> [f"{x:.4e}" for x in batch], bool(np.allclose(batch, scalar, rtol=1e-10))
    (['2.8117e-04', '3.3664e-05'], True)
    """
    phi = np.atleast_2d(np.asarray(volume_fractions, dtype=float))
    sig = np.atleast_2d(np.asarray(conductivities_S_per_cm, dtype=float))
    if phi.shape != sig.shape:
        raise InputError(f"volume fractions {phi.shape} and conductivities {sig.shape} differ",
                         source="volume_fractions")
    if np.any(phi < 0) or np.any(np.abs(phi.sum(axis=1) - 1.0) > 1e-6):
        raise InputError("volume fractions must be ≥ 0 and sum to 1 in every row",
                         source="volume_fractions")
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError("conductivities must be > 0", source="conductivities_S_per_cm")
    n = phi.shape[0]
    phi_c = np.broadcast_to(np.asarray(percolation_threshold, dtype=float), (n,))
    t = np.broadcast_to(np.asarray(exponent, dtype=float), (n,))
    if np.any(~((phi_c > 0) & (phi_c < 1))) or np.any(~(t > 0)):
        raise InputError("percolation thresholds must lie in (0, 1) and exponents be > 0",
                         source="percolation_threshold")
    a = ((1.0 - phi_c) / phi_c)[:, None]
    s_i = np.log(sig) / t[:, None]
    present = phi > 0
    lo = np.where(present, s_i, np.inf).min(axis=1)
    hi = np.where(present, s_i, -np.inf).max(axis=1)
    for _ in range(_BATCH_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        x = np.exp(np.clip(s_i - mid[:, None], -700.0, 700.0))
        res = np.sum(phi * (x - 1.0) / (x + a), axis=1)
        lo = np.where(res > 0, mid, lo)
        hi = np.where(res > 0, hi, mid)
    return np.exp(0.5 * (lo + hi) * t)


def electrolyte_conductivity_batch(fcc_weight_fraction: np.ndarray | float,
                                   temperature_C: float, *,
                                   sigma_fcc_25C_S_per_cm: np.ndarray | float,
                                   activation_energy_fcc_eV: np.ndarray | float,
                                   sigma_monoclinic_25C_S_per_cm: np.ndarray | float,
                                   activation_energy_monoclinic_eV: np.ndarray | float,
                                   density_fcc_g_per_cm3: np.ndarray | float,
                                   density_b12_g_per_cm3: np.ndarray | float,
                                   density_b10_g_per_cm3: np.ndarray | float,
                                   percolation_threshold: np.ndarray | float,
                                   percolation_exponent: np.ndarray | float,
                                   b12_weight_share: float = B12_WEIGHT_SHARE_EQUIMOLAR,
                                   activation_energy_fcc_high_T_eV: float = 0.34,
                                   fcc_arrhenius_crossover_C: float = 70.0) -> np.ndarray:
    """Vectorised :func:`electrolyte_conductivity` (GEM mixing) over parameter draws.

    Every argument broadcasts to one shape (n,); the physics is that of
    :func:`electrolyte_conductivity` with ``mixing="gem"``.

    Parameters
    ----------
    fcc_weight_fraction : float or ndarray
        fcc NBH weight fraction(s), in [0, 1].
    temperature_C : float
        Cell temperature (°C), one for all draws.
    sigma_fcc_25C_S_per_cm, activation_energy_fcc_eV : float or ndarray
        fcc phase: σ at 25 °C (S cm⁻¹) and Ea (eV) below the crossover.
    sigma_monoclinic_25C_S_per_cm, activation_energy_monoclinic_eV : float or ndarray
        Both monoclinic precursors: σ at 25 °C (S cm⁻¹) and Ea (eV).
    density_fcc_g_per_cm3, density_b12_g_per_cm3, density_b10_g_per_cm3 : float or ndarray
        Phase densities (g cm⁻³).
    percolation_threshold, percolation_exponent : float or ndarray
        φc and t of the GEM equation.
    b12_weight_share : float
        Na2B12H12 share of the non-fcc remainder by weight (default: equimolar mix).
    activation_energy_fcc_high_T_eV, fcc_arrhenius_crossover_C : float
        fcc Ea above the crossover temperature, and that temperature (°C).

    Returns
    -------
    ndarray, shape (n,)
        Conductivity (S cm⁻¹) of each draw.

    Raises
    ------
    InputError
        Fractions outside [0, 1], a temperature below 0 K, or invalid GEM parameters.

    Examples
    --------
    At the documented parameter values it is :func:`electrolyte_conductivity`, three purities
    at once:

    >>> import numpy as np
    >>> from xrdkit.cell.conductivity import (ElectrolyteParameters, electrolyte_conductivity,
    ...                                       electrolyte_conductivity_batch)
    >>> p = ElectrolyteParameters()
    >>> sigma = electrolyte_conductivity_batch(
    ...     [1.0, 0.87, 0.5], 30.0, sigma_fcc_25C_S_per_cm=p.sigma_fcc_25C_S_per_cm,
    ...     activation_energy_fcc_eV=p.activation_energy_fcc_eV,
    ...     sigma_monoclinic_25C_S_per_cm=p.sigma_monoclinic_25C_S_per_cm,
    ...     activation_energy_monoclinic_eV=p.activation_energy_monoclinic_eV,
    ...     density_fcc_g_per_cm3=p.density_fcc_g_per_cm3, density_b12_g_per_cm3=p.density_b12_g_per_cm3,
    ...     density_b10_g_per_cm3=p.density_b10_g_per_cm3, percolation_threshold=p.percolation_threshold,
    ...     percolation_exponent=p.percolation_exponent)
    >>> [f"{x:.3e}" for x in sigma]                                                   # S/cm
    ['1.470e-03', '1.054e-03', '2.505e-04']
    >>> bool(np.allclose(sigma, [electrolyte_conductivity(w, 30.0) for w in (1.0, 0.87, 0.5)],
    ...                  rtol=1e-10))
    True
    """
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (
        fcc_weight_fraction, sigma_fcc_25C_S_per_cm, activation_energy_fcc_eV,
        sigma_monoclinic_25C_S_per_cm, activation_energy_monoclinic_eV, density_fcc_g_per_cm3,
        density_b12_g_per_cm3, density_b10_g_per_cm3, percolation_threshold,
        percolation_exponent)))
    w, s_fcc25, ea_fcc, s_mono25, ea_mono, r_fcc, r_b12, r_b10, phi_c, t = arrays
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
        raise InputError("fcc weight fractions must lie in [0, 1]", source="fcc_weight_fraction")
    t_k = float(temperature_C) + 273.15
    if not math.isfinite(t_k) or t_k <= 0:
        raise InputError(f"temperature_C must be above -273.15, got {temperature_C!r}",
                         source="temperature_C")
    rest = 1.0 - w
    v = np.stack([w / r_fcc, rest * b12_weight_share / r_b12,
                  rest * (1.0 - b12_weight_share) / r_b10], axis=1)
    phi = v / v.sum(axis=1, keepdims=True)

    def arr(sigma_ref: np.ndarray, ea: np.ndarray, t_kelvin: float, t_ref: float) -> np.ndarray:
        return sigma_ref * np.exp(-ea / BOLTZMANN_EV_PER_K * (1.0 / t_kelvin - 1.0 / t_ref))

    t_cross = fcc_arrhenius_crossover_C + 273.15
    if t_k <= t_cross:
        s_fcc = arr(s_fcc25, ea_fcc, t_k, T_REF_K)
    else:
        s_fcc = arr(arr(s_fcc25, ea_fcc, t_cross, T_REF_K), np.full_like(ea_fcc,
                    activation_energy_fcc_high_T_eV), t_k, t_cross)
    s_mono = arr(s_mono25, ea_mono, t_k, T_REF_K)
    sig = np.stack([s_fcc, s_mono, s_mono], axis=1)
    return gem_conductivity_batch(phi, sig, phi_c, t)
