"""Synthetic powder patterns made independently of xrdkit's own simulator.

The fitting code (:mod:`xrdkit.reflections`, :mod:`xrdkit.profiles`, :mod:`xrdkit.instrument`,
:mod:`xrdkit.simulate`, :mod:`xrdkit.refine`) is validated against patterns made here. Nothing in
this module imports those modules. Line positions and intensities come from pymatgen's
:class:`~pymatgen.analysis.diffraction.xrd.XRDCalculator`. The broadening, the Kα2 doublet, the
phase weighting, the background and the noise are written out separately below.

What pymatgen's ``XRDCalculator.get_pattern(structure, scaled=False)`` returns (read from its
source in pymatgen 2026.10, ``pymatgen/analysis/diffraction/xrd.py``):

* one line per distinct 2θ. Reflections within ``TWO_THETA_TOL = 1e-5`` ° are summed, so
  accidental overlaps such as cubic (333)/(511) count as one line. Lines weaker than
  ``SCALED_INTENSITY_TOL = 1e-3`` % of the strongest are dropped, even with ``scaled=False``.
* intensity ``I = Σ_{g in family} |F(g)|² · LP(θ)``. The sum runs over every reciprocal-lattice
  point, so the **multiplicity is included**. ``F`` is the structure factor of the whole unit
  cell, with site occupancies. The atomic form factors are real and use pymatgen's own
  parametrisation (no anomalous dispersion).
* ``LP(θ) = (1 + cos² 2θ) / (sin² θ · cos θ)``: Lorentz factor for a powder times the
  polarisation of an unpolarised beam without a monochromator. The ½ of the polarisation factor
  is left out, which is a common constant.
* **no** Debye–Waller factor (unless ``debye_waller_factors`` or ``U*_cif`` site properties are
  given, which this module does not do), no absorption, no preferred orientation.

This module adds the following:

* an optional isotropic Debye–Waller factor per phase, ``exp(-2 B s²)`` with ``s = 1/(2d)``. This
  is the same as passing ``debye_waller_factors={el: B}`` for every element to pymatgen.
* **Kα2** as a second line set. Positions come from the d-spacings by Bragg's law. Intensities are
  ``ka2_ratio × I``, with LP re-evaluated at the Kα2 angle (``|F|²`` depends only on d, so it is
  unchanged).
* a pseudo-Voigt profile normalised to unit area in degrees 2θ. Its FWHM follows Caglioti,
  ``H² = U tan²θ + V tanθ + W``, and the mixing η is constant. It is evaluated over the whole scan
  with no window truncation.
* phase weighting by the Hill–Howard relation (see :func:`hill_howard_scale`).
* a curved background: a decaying exponential, a polynomial and optional broad Gaussian humps
  (an amorphous-looking contribution), all in counts.
* Poisson noise drawn from a caller-supplied :class:`numpy.random.Generator`.

What a real laboratory pattern has and a fitting model may miss (all optional; with none of them
requested, :func:`synthetic_pattern` gives exactly what it gave before):

* **anomalous dispersion** f′ + i f″ per element (Henke tables through ``periodictable`` [4]_,
  not xrayutilities), with **per-site Debye–Waller factors** B. Both need a structure factor
  per reciprocal-lattice point, which pymatgen does not expose, so |F|² is summed here over the
  same points pymatgen enumerates (:func:`reflection_members`). The line intensity is pymatgen's
  times ``Σ_g |F_true(g)|² P(g) / Σ_g |F_0(g)|²``, with ``F_0`` the plain f0 sum that reproduces
  pymatgen's own number (checked in the tests);
* **March–Dollase texture** ``P(α) = (r² cos²α + sin²α / r)^(-3/2)`` [5]_ summed over every member
  g of a line (:func:`march_dollase`);
* **Brindley microabsorption** [6]_ for spheres: τ_p = (1/V) ∫ exp(−(μ_p − μ̄) ℓ) dV with ℓ the
  in + out path at the reflection's Bragg angle, integrated numerically over the sphere
  (:func:`brindley_tau`); μ from the crystallographic density and Henke photo-absorption
  (:func:`mass_attenuation_cm2_g`);
* **model mismatch**: a monochromator polarisation factor [7]_, a split pseudo-Voigt with
  axial-divergence-like asymmetry ∝ cot 2θ, a per-phase Lorentzian crystallite-size width
  added to the instrument width (a pseudo-Voigt of the summed widths, not a TCH Voigt), a small
  set of unindexed impurity lines, and per-site B values (see :class:`PhaseEffects` and
  :class:`LabEffects`).

References
----------
.. [1] R. J. Hill, C. J. Howard, "Quantitative phase analysis from neutron powder diffraction data
   using the Rietveld method", J. Appl. Cryst. 20 (1987) 467-474, doi:10.1107/S0021889887086199.
.. [2] G. Caglioti, A. Paoletti, F. P. Ricci, Nucl. Instrum. 3 (1958) 223,
   doi:10.1016/0369-643X(58)90029-X.
.. [3] G. Hölzer et al., "Kα1,2 and Kβ1,3 x-ray emission lines of the 3d transition metals",
   Phys. Rev. A 56 (1997) 4554, doi:10.1103/PhysRevA.56.4554 (Cu Kα1 1.5405929 Å,
   Kα2 1.5444140 Å).
.. [4] B. L. Henke, E. M. Gullikson, J. C. Davis, "X-ray interactions: photoabsorption,
   scattering, transmission and reflection at E = 50-30000 eV, Z = 1-92", At. Data Nucl. Data
   Tables 54 (1993) 181-342, doi:10.1006/adnd.1993.1013 (as packaged by ``periodictable``).
.. [5] W. A. Dollase, "Correction of intensities for preferred orientation in powder
   diffractometry: application of the March model", J. Appl. Cryst. 19 (1986) 267-272,
   doi:10.1107/S0021889886089458.
.. [6] G. W. Brindley, "The effect of grain or particle size on X-ray reflections from mixed
   powders and alloys, considered in relation to the quantitative determination of crystalline
   substances by X-ray methods", Phil. Mag. 36 (1945) 347-369, doi:10.1080/14786444508520918.
.. [7] L. V. Azároff, "Polarization correction for crystal-monochromatized X-radiation",
   Acta Cryst. 8 (1955) 701-704, doi:10.1107/S0365110X55002168.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Structure

from xrdkit.errors import InputError
from xrdkit.scans import Scan, make_scan

__all__ = [
    "CU_KA1_ANGSTROM",
    "CU_KA2_ANGSTROM",
    "LineList",
    "PeakProfile",
    "Background",
    "PhaseTruth",
    "SyntheticSettings",
    "SyntheticPattern",
    "line_list",
    "lorentz_polarisation",
    "pseudo_voigt",
    "hill_howard_scale",
    "synthetic_pattern",
    "PhaseEffects",
    "LabEffects",
    "ReflectionMembers",
    "anomalous_scattering",
    "mass_attenuation_cm2_g",
    "linear_attenuation_cm",
    "march_dollase",
    "brindley_tau",
    "reflection_members",
    "structure_factors",
    "polarisation_ratio",
    "split_pseudo_voigt",
]

logger = logging.getLogger(__name__)

#: Cu Kα1 and Kα2 wavelengths (Å), Hölzer et al. 1997 [3].
CU_KA1_ANGSTROM = 1.5405929
CU_KA2_ANGSTROM = 1.5444140
#: Named radiations accepted as ``wavelength``: (Kα1, Kα2) in Å.
_RADIATIONS = {"CuKa": (CU_KA1_ANGSTROM, CU_KA2_ANGSTROM)}
#: Lines are computed this far (degrees 2θ) beyond the scan ends so that their tails are included.
LINE_MARGIN_DEG = 10.0
#: Upper bound of the (line, point) block evaluated at once when summing profiles.
_PROFILE_CHUNK_ENTRIES = 2_000_000
#: Most line lists kept in the private memo (each is a few kB).
_LINE_CACHE_SIZE = 128
#: Relative tolerance on Σ weight fractions = 1.
_WEIGHT_SUM_TOL = 1e-6
#: Avogadro constant (mol⁻¹), for densities.
_AVOGADRO = 6.02214076e23


# --------------------------------------------------------------------------------------------
# Line lists from pymatgen (cached)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineList:
    """Lines of one structure at the primary wavelength, as pymatgen computes them.

    Attributes
    ----------
    two_theta_deg : ndarray, shape (m,)
        Bragg angles 2θ for ``wavelength_angstrom`` (no zero shift).
    d_angstrom : ndarray, shape (m,)
        d-spacings.
    intensity : ndarray, shape (m,)
        ``Σ |F|² · LP`` per line (multiplicity included, unscaled, electrons² per cell).
    hkl : tuple of tuple of int
        One representative (h, k, l) per line (the first of pymatgen's families; for hexagonal
        cells pymatgen gives four indices).
    wavelength_angstrom : float
    """

    two_theta_deg: np.ndarray
    d_angstrom: np.ndarray
    intensity: np.ndarray
    hkl: tuple[tuple[int, ...], ...]
    wavelength_angstrom: float


_line_cache: OrderedDict[tuple[str, float, float], LineList] = OrderedDict()


def _structure_key(structure: Structure) -> str:
    blob = json.dumps(structure.as_dict(), sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()


def line_list(
    structure: Structure, wavelength_angstrom: float, max_two_theta_deg: float
) -> LineList:
    """Return pymatgen's line list for ``structure`` from 0 to ``max_two_theta_deg``.

    The result is memoised by the content of the structure, so an unchanged phase is computed only
    once. pymatgen is slow for large disordered cells.

    Parameters
    ----------
    structure : Structure
    wavelength_angstrom : float
    max_two_theta_deg : float
        Upper limit, capped at 179.9°.

    Returns
    -------
    LineList
        Read-only arrays.
    """
    top = float(min(max_two_theta_deg, 179.9))
    key = (_structure_key(structure), float(wavelength_angstrom), round(top, 6))
    cached = _line_cache.get(key)
    if cached is not None:
        _line_cache.move_to_end(key)
        return cached
    calc = XRDCalculator(wavelength=float(wavelength_angstrom))
    # pymatgen fails on an empty reciprocal sphere: its largest d-spacing is 1 / |shortest g|
    shortest_g = min(structure.lattice.reciprocal_lattice_crystallographic.abc)
    if 2.0 * math.sin(math.radians(top / 2.0)) / wavelength_angstrom < shortest_g:
        two_theta, d, intensity, hkl = np.empty(0), np.empty(0), np.empty(0), ()
    else:
        try:
            pattern = calc.get_pattern(structure, scaled=False, two_theta_range=(0.0, top))
        except ValueError as exc:  # e.g. an element without scattering coefficients
            raise InputError(
                f"pymatgen cannot compute lines: {exc}", source=structure.formula
            ) from None
        two_theta = np.asarray(pattern.x, dtype=float)
        d = np.asarray(pattern.d_hkls, dtype=float)
        intensity = np.asarray(pattern.y, dtype=float)
        hkl = tuple(tuple(int(v) for v in fam[0]["hkl"]) for fam in pattern.hkls)
    for arr in (two_theta, d, intensity):
        arr.setflags(write=False)
    lines = LineList(two_theta, d, intensity, hkl, float(wavelength_angstrom))
    _line_cache[key] = lines
    if len(_line_cache) > _LINE_CACHE_SIZE:
        _line_cache.popitem(last=False)
    logger.debug("computed %d lines for %s", two_theta.size, structure.composition.reduced_formula)
    return lines


def lorentz_polarisation(two_theta_deg: np.ndarray) -> np.ndarray:
    """pymatgen's Lorentz–polarisation factor ``(1 + cos² 2θ) / (sin² θ cos θ)``.

    Parameters
    ----------
    two_theta_deg : array_like
        Scattering angles in degrees.

    Returns
    -------
    ndarray
    """
    theta = np.radians(np.asarray(two_theta_deg, dtype=float)) / 2.0
    return (1.0 + np.cos(2.0 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))


# --------------------------------------------------------------------------------------------
# Profile and background
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeakProfile:
    """Caglioti widths and constant pseudo-Voigt mixing.

    Attributes
    ----------
    u_deg2, v_deg2, w_deg2 : float
        ``FWHM² = U tan²θ + V tanθ + W`` in deg² (FWHM in degrees 2θ).
    eta : float
        Lorentzian fraction, 0 (Gaussian) to 1 (Lorentzian).
    """

    u_deg2: float = 0.010
    v_deg2: float = -0.005
    w_deg2: float = 0.006
    eta: float = 0.5

    def fwhm_deg(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """FWHM (degrees 2θ) at the given angles."""
        t = np.tan(np.radians(np.asarray(two_theta_deg, dtype=float)) / 2.0)
        h2 = self.u_deg2 * t**2 + self.v_deg2 * t + self.w_deg2
        return np.sqrt(np.maximum(h2, 0.0))


def pseudo_voigt(x_deg: np.ndarray, fwhm_deg: float | np.ndarray, eta: float) -> np.ndarray:
    """Area-normalised pseudo-Voigt ``η L + (1-η) G`` with a common FWHM.

    Parameters
    ----------
    x_deg : ndarray
        Offset from the peak centre (degrees 2θ).
    fwhm_deg : float or ndarray (broadcast against ``x_deg``)
    eta : float
        Lorentzian fraction.

    Returns
    -------
    ndarray
        Profile value per degree; ``∫ dx = 1`` over the real line.
    """
    z = x_deg / fwhm_deg
    gauss = (2.0 / fwhm_deg) * math.sqrt(math.log(2.0) / math.pi) * np.exp(-4.0 * math.log(2.0) * z**2)
    lorentz = (2.0 / (math.pi * fwhm_deg)) / (1.0 + 4.0 * z**2)
    return eta * lorentz + (1.0 - eta) * gauss


@dataclass(frozen=True)
class Background:
    """Curved background in counts.

    ``b(2θ) = exp_amplitude · exp(-2θ / exp_decay_deg) + Σ_k poly[k] · x^k
    + Σ_h height_h · exp(-4 ln2 ((2θ - centre_h) / fwhm_h)²)``, where
    ``x = (2θ - 2θ_min) / (2θ_max - 2θ_min)`` runs from 0 to 1 over the scan.

    Attributes
    ----------
    exp_amplitude : float
        Counts extrapolated to 2θ = 0.
    exp_decay_deg : float
        Decay length in degrees 2θ.
    poly : tuple of float
        Power-series coefficients in counts.
    humps : tuple of (centre_deg, fwhm_deg, height_counts)
        Broad Gaussian humps, such as an amorphous or glass contribution.
    """

    exp_amplitude: float = 400.0
    exp_decay_deg: float = 8.0
    poly: tuple[float, ...] = (40.0, 20.0, -10.0)
    humps: tuple[tuple[float, float, float], ...] = ()

    def evaluate(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """Background counts on ``two_theta_deg``."""
        x2t = np.asarray(two_theta_deg, dtype=float)
        span = x2t[-1] - x2t[0]
        x = (x2t - x2t[0]) / span
        out = self.exp_amplitude * np.exp(-x2t / self.exp_decay_deg)
        if self.poly:
            out = out + np.polynomial.polynomial.polyval(x, np.asarray(self.poly, dtype=float))
        for centre, fwhm, height in self.humps:
            out = out + height * np.exp(-4.0 * math.log(2.0) * ((x2t - centre) / fwhm) ** 2)
        return out


# --------------------------------------------------------------------------------------------
# Hill–Howard weighting
# --------------------------------------------------------------------------------------------


def cell_mass_amu(structure: Structure) -> float:
    """Mass of the unit-cell contents (u), occupancies included: the ``Z·M`` of Hill–Howard."""
    return float(structure.composition.weight)


def hill_howard_scale(weight_fraction: float, structure: Structure) -> float:
    """Relative scale factor ``s = w / (Z·M·V)`` of a phase with weight fraction ``w``.

    Derivation, following Hill & Howard [1]_. In a flat, infinitely thick specimen of linear
    absorption ``μ*`` (the same for every phase when there is no microabsorption), the integrated
    intensity of reflection ``hkl`` of phase p is

        ``I_hkl,p = K / (2 μ*) · (v_p / V_p²) · m |F_hkl|² LP``,

    where ``v_p`` is the volume fraction of the phase and ``V_p`` its cell volume.
    ``1/V_p² = (cells per unit volume)/V_p``: the scattering power per cell is ∝ 1/V. pymatgen's
    unscaled intensity is the factor ``m |F|² LP`` for one cell. The volume fraction is
    ``v_p = w_p ρ_mix / ρ_p``, and the density is ``ρ_p = Z_p M_p / (N_A V_p)``. Hence

        ``I_hkl,p ∝ w_p / (ρ_p V_p²) · I_pymatgen ∝ w_p / (Z M V)_p · I_pymatgen``.

    ``K``, ``μ*``, ``ρ_mix`` and ``N_A`` are common to all phases, so they go into one global
    factor. Inverting the relation gives the familiar ``w_p = s_p (ZMV)_p / Σ_i s_i (ZMV)_i``.
    ``Z·M`` is the mass of the cell contents as the structure lists them (partial occupancies
    included). The fitter must use the same cell.

    Parameters
    ----------
    weight_fraction : float
    structure : Structure

    Returns
    -------
    float
        ``w / (Z·M [u] · V [Å³])``.
    """
    return float(weight_fraction) / (cell_mass_amu(structure) * float(structure.volume))


def density_g_cm3(structure: Structure) -> float:
    """Crystallographic density ``Z·M / (N_A V)`` in g cm⁻³."""
    return cell_mass_amu(structure) / (_AVOGADRO * structure.volume * 1e-24)


# --------------------------------------------------------------------------------------------
# What a real laboratory pattern has: anomalous dispersion, per-site B, texture,
# microabsorption, and the model mismatches
# --------------------------------------------------------------------------------------------

#: Classical electron radius (cm), CODATA 2018.
_ELECTRON_RADIUS_CM = 2.8179403262e-13
#: Lines of the own structure-factor sum are matched to pymatgen's lines within this (° 2θ).
_MEMBER_MATCH_DEG = 1e-4
#: Points of the Gauss–Legendre rule per dimension of the sphere integral of :func:`brindley_tau`.
_BRINDLEY_NODES = 24
#: Bragg angles (° 2θ) at which τ is evaluated per phase (linear interpolation in between).
_TAU_GRID_DEG = np.linspace(0.0, 180.0, 19)
#: |asymmetry| cap of the split pseudo-Voigt (left/right FWHM ratio at most 4).
_MAX_SPLIT = 0.6


def _periodictable():
    try:
        import periodictable
        import periodictable.xsf  # noqa: F401 (registers the .xray tables)
    except ImportError:  # pragma: no cover - the test extra installs it
        raise InputError(
            "anomalous dispersion and attenuation need the 'periodictable' package "
            "(pip install periodictable; it is in the 'test' extra)", source="periodictable"
        ) from None
    return periodictable


def anomalous_scattering(symbol: str, wavelength_angstrom: float) -> tuple[float, float]:
    """Anomalous scattering factors ``(f′, f″)`` (electrons) of an element, Henke tables [4]_.

    ``f′ = f1 − Z``, where ``f1`` is Henke's forward-scattering real part (it contains the
    relativistic correction) and ``f″ = f2``. For Zn at Cu Kα1 this gives (−1.56, 0.70); the
    International Tables (Vol. C, Table 4.2.6.8) list (−1.61, 0.68).

    Parameters
    ----------
    symbol : str
        Element symbol (oxidation states are ignored).
    wavelength_angstrom : float

    Returns
    -------
    (float, float)

    Raises
    ------
    InputError
        Unknown element or a wavelength outside the table (30 eV–30 keV).
    """
    pt = _periodictable()
    try:
        el = pt.elements.symbol(symbol)
    except ValueError:
        raise InputError(f"unknown element {symbol!r}", source="anomalous_scattering") from None
    f1, f2 = el.xray.scattering_factors(wavelength=float(wavelength_angstrom))
    if f1 is None or not (np.isfinite(f1) and np.isfinite(f2)):
        raise InputError(f"no Henke f1/f2 for {symbol} at {wavelength_angstrom} Å",
                         source="anomalous_scattering")
    return float(f1) - el.number, float(f2)


def mass_attenuation_cm2_g(structure: Structure, wavelength_angstrom: float) -> float:
    """Photo-absorption mass attenuation coefficient μ/ρ (cm² g⁻¹) of a structure's composition.

    Per atom, the photo-absorption cross-section is ``σ = 2 r_e λ f2`` (Henke et al. [4]_, eq. 5);
    ``μ/ρ = N_A Σ_i n_i σ_i / Σ_i n_i A_i``. Coherent and incoherent scattering are left out
    (3–7 % of the total at Cu Kα for the elements used here): Al at Cu Kα1 gives 46.8 cm²/g,
    where total-attenuation tables list ≈ 50 cm²/g. A fitter given these numbers gets the
    generator's μ; a fitter given total-attenuation tables sees a few % more contrast.

    Parameters
    ----------
    structure : Structure
    wavelength_angstrom : float

    Returns
    -------
    float
    """
    pt = _periodictable()
    lam_cm = float(wavelength_angstrom) * 1e-8
    sigma_sum = 0.0
    mass_sum = 0.0
    for el, amount in structure.composition.element_composition.items():
        _, f2 = anomalous_scattering(el.symbol, wavelength_angstrom)
        sigma_sum += amount * 2.0 * _ELECTRON_RADIUS_CM * lam_cm * f2
        mass_sum += amount * pt.elements.symbol(el.symbol).mass
    return _AVOGADRO * sigma_sum / mass_sum


def linear_attenuation_cm(structure: Structure, wavelength_angstrom: float) -> float:
    """Linear attenuation μ = ρ (μ/ρ) in cm⁻¹ of the fully dense crystal."""
    return density_g_cm3(structure) * mass_attenuation_cm2_g(structure, wavelength_angstrom)


def march_dollase(cos_alpha: np.ndarray, ratio: float) -> np.ndarray:
    """March–Dollase weight ``(r² cos²α + sin²α / r)^(-3/2)`` (Dollase 1986 [5]_).

    ``α`` is the angle between a scattering vector and the preferred-orientation axis; ``r = 1``
    is a random powder (weight 1), ``r < 1`` platelets lying flat with the axis along the
    specimen normal (reflections along the axis enhanced). The weight integrates to 1 over the
    sphere for every r.

    Parameters
    ----------
    cos_alpha : array_like
    ratio : float
        March ratio r > 0.

    Returns
    -------
    ndarray
    """
    if not ratio > 0:
        raise InputError(f"March–Dollase ratio {ratio} must be > 0", source="march_dollase")
    c2 = np.clip(np.asarray(cos_alpha, dtype=float) ** 2, 0.0, 1.0)
    return (ratio**2 * c2 + (1.0 - c2) / ratio) ** -1.5


def brindley_tau(
    delta_mu_radius: float | np.ndarray, two_theta_deg: float = 90.0, nodes: int = _BRINDLEY_NODES
) -> np.ndarray:
    """Brindley's particle absorption factor τ of a sphere (Brindley 1945 [6]_).

    ``τ = (1/V) ∫_V exp(−(μ_p − μ̄)(ℓ_in + ℓ_out)) dV``: every volume element of the sphere
    (radius R) is reached by the incident beam after ``ℓ_in`` inside the particle and the
    diffracted ray leaves after ``ℓ_out``; the two directions make the scattering angle 2θ.
    The surrounding powder (mean μ̄) is accounted for by the common specimen absorption, so
    only the contrast ``μ_p − μ̄`` enters. The integral is done with a Gauss–Legendre rule in
    ``r³``, ``cos ϑ`` and ``φ`` (``nodes`` each) over the sphere, with the exact distances to
    the surface. For ``(μ_p − μ̄)R → 0``, ``τ ≈ 1 − 1.5 (μ_p − μ̄) R`` at every angle (the mean
    distance from an interior point to the surface along a fixed direction is 3R/4).

    Parameters
    ----------
    delta_mu_radius : float or array
        ``(μ_p − μ̄) R`` (dimensionless; negative for a phase absorbing less than the mean).
    two_theta_deg : float
        Scattering angle.
    nodes : int

    Returns
    -------
    ndarray
        τ, same shape as ``delta_mu_radius`` (at least 1-D).
    """
    x = np.atleast_1d(np.asarray(delta_mu_radius, dtype=float))
    gl_t, gl_w = np.polynomial.legendre.leggauss(nodes)
    # radius from u = (r/R)³ ∈ [0, 1] (uniform in volume), cos ϑ ∈ [-1, 1], φ ∈ [0, 2π)
    u = 0.5 * (gl_t + 1.0)
    wu = 0.5 * gl_w
    r = np.cbrt(u)
    ct, wct = gl_t, gl_w
    phi = 2.0 * np.pi * (np.arange(2 * nodes) + 0.5) / (2 * nodes)
    wphi = np.full(phi.size, 1.0 / phi.size)
    rr, cc, pp = np.meshgrid(r, ct, phi, indexing="ij")
    ss = np.sqrt(1.0 - cc**2)
    pts = np.stack([rr * ss * np.cos(pp), rr * ss * np.sin(pp), rr * cc], axis=-1).reshape(-1, 3)
    weights = (wu[:, None, None] * (wct / 2.0)[None, :, None] * wphi[None, None, :]).ravel()
    half = math.radians(two_theta_deg) / 2.0
    # incident beam along k_in = (cos θ, 0, −sin θ), diffracted along k_out = (cos θ, 0, sin θ)
    # (2θ apart): ℓ_in runs from the element back along −k_in, ℓ_out forward along k_out
    back_in = np.array([-math.cos(half), 0.0, math.sin(half)])
    k_out = np.array([math.cos(half), 0.0, math.sin(half)])

    def to_surface(direction: np.ndarray) -> np.ndarray:
        b = pts @ direction
        c = (pts**2).sum(axis=1) - 1.0
        return -b + np.sqrt(np.maximum(b * b - c, 0.0))

    path = to_surface(back_in) + to_surface(k_out)  # in units of R
    return np.exp(-np.outer(x, path)) @ weights


@dataclass(frozen=True)
class PhaseEffects:
    """What one phase of a real specimen has beyond the plain generator (all optional).

    Attributes
    ----------
    b_site_angstrom2 : dict, optional
        Element symbol → Debye–Waller B (Å²) of every site of that element; elements not
        listed take the phase's ``b_iso_angstrom2``. Sets B per site, not per phase.
    march_dollase_axis : (h, k, l), optional
        Preferred-orientation axis (a reciprocal-lattice direction).
    march_dollase_ratio : float
        March ratio r (1 = random).
    particle_diameter_um : float, optional
        Sphere diameter for Brindley's microabsorption (all phases without one count as
        infinitely fine, τ = 1).
    crystallite_size_nm : float, optional
        Adds a Lorentzian width ``0.9 λ / (L cos θ)`` (Scherrer) to the instrument FWHM; the
        line is a pseudo-Voigt of the summed width with η the Lorentzian share of the width.
    """

    b_site_angstrom2: dict[str, float] | None = None
    march_dollase_axis: tuple[int, int, int] | None = None
    march_dollase_ratio: float = 1.0
    particle_diameter_um: float | None = None
    crystallite_size_nm: float | None = None


@dataclass(frozen=True)
class LabEffects:
    """Specimen- and instrument-wide effects of a laboratory pattern.

    Attributes
    ----------
    anomalous_dispersion : bool
        f′ + i f″ of every element (Henke [4]_) in the structure factors.
    monochromator_two_theta_deg : float
        Diffracted-beam monochromator angle 2θ_M: polarisation
        ``(1 + cos² 2θ_M cos² 2θ) / (1 + cos² 2θ_M)`` instead of ``(1 + cos² 2θ)/2`` [7]_
        (0 = no monochromator, the plain generator's factor). Graphite (002) at Cu Kα: 26.6°.
    axial_asymmetry : float
        Split pseudo-Voigt: FWHM_low = FWHM (1 + A), FWHM_high = FWHM (1 − A),
        ``A = axial_asymmetry · cot 2θ`` capped at ±0.6 (low-angle tail below 90°, as axial
        divergence gives). Area and peak position (the maximum) are kept.
    impurity_lines : tuple of (two_theta_deg, relative_area)
        Unindexed lines; the area is relative to the strongest Kα1 line area of the pattern.
        They carry no weight fraction (the truth is of the listed phases only).
    """

    anomalous_dispersion: bool = True
    monochromator_two_theta_deg: float = 0.0
    axial_asymmetry: float = 0.0
    impurity_lines: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class ReflectionMembers:
    """Every reciprocal-lattice point g (Friedel mates included) up to a 2θ limit.

    Attributes
    ----------
    hkl : ndarray (n, 3) of int
    d_angstrom : ndarray (n,)
    two_theta_deg : ndarray (n,)
    g_cart : ndarray (n, 3)
        Cartesian scattering vectors (Å⁻¹, crystallographic: |g| = 1/d).
    """

    hkl: np.ndarray
    d_angstrom: np.ndarray
    two_theta_deg: np.ndarray
    g_cart: np.ndarray


def reflection_members(
    structure: Structure, wavelength_angstrom: float, max_two_theta_deg: float
) -> ReflectionMembers:
    """All reciprocal-lattice points with 0 < 2θ ≤ ``max_two_theta_deg``, as pymatgen enumerates
    them (``get_points_in_sphere`` on the crystallographic reciprocal lattice), both Friedel
    mates kept.
    """
    top = float(min(max_two_theta_deg, 179.9))
    recip = structure.lattice.reciprocal_lattice_crystallographic
    max_r = 2.0 * math.sin(math.radians(top / 2.0)) / float(wavelength_angstrom)
    pts = recip.get_points_in_sphere([[0, 0, 0]], [0, 0, 0], max_r)
    hkl = np.round(np.array([p[0] for p in pts], dtype=float)).astype(int).reshape(-1, 3)
    g = np.array([p[1] for p in pts], dtype=float)
    keep = g > 1e-12
    hkl, g = hkl[keep], g[keep]
    d = 1.0 / g
    two_theta = np.degrees(2.0 * np.arcsin(np.clip(wavelength_angstrom * g / 2.0, 0.0, 1.0)))
    g_cart = hkl.astype(float) @ recip.matrix
    return ReflectionMembers(hkl, d, two_theta, g_cart)


def structure_factors(
    structure: Structure,
    hkl: np.ndarray,
    d_angstrom: np.ndarray,
    *,
    wavelength_angstrom: float | None = None,
    b_site_angstrom2: Sequence[float] | None = None,
) -> np.ndarray:
    """Complex structure factors ``F(g) = Σ_j o_j (f0_j(s) + f′_j + i f″_j) e^{−B_j s²} e^{2πi g·r_j}``.

    ``f0`` is pymatgen's parametrisation (``Z − 41.78214 s² Σ a_k e^{−b_k s²}``, ``s = 1/(2d)``),
    so with no ``wavelength_angstrom`` (no f′, f″) and no B the sum reproduces pymatgen's |F|².

    Parameters
    ----------
    structure : Structure
    hkl : ndarray (n, 3)
    d_angstrom : ndarray (n,)
    wavelength_angstrom : float, optional
        Adds Henke f′, f″ at this wavelength.
    b_site_angstrom2 : sequence of float, optional
        One B per site of ``structure``.

    Returns
    -------
    ndarray (n,) complex
    """
    from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS

    s2 = 1.0 / (4.0 * np.asarray(d_angstrom, dtype=float) ** 2)
    hkl_f = np.asarray(hkl, dtype=float)
    out = np.zeros(s2.size, dtype=complex)
    dispersion: dict[str, complex] = {}
    for j, site in enumerate(structure):
        phase = np.exp(2j * np.pi * (hkl_f @ site.frac_coords))
        dw = 1.0 if b_site_angstrom2 is None else np.exp(-float(b_site_angstrom2[j]) * s2)
        for sp, occ in site.species.items():
            try:
                coeff = np.asarray(ATOMIC_SCATTERING_PARAMS[sp.symbol])
            except KeyError:
                raise InputError(f"no scattering factors for {sp.symbol}",
                                 source=structure.composition.reduced_formula) from None
            f0 = sp.Z - 41.78214 * s2 * (coeff[:, 0] * np.exp(-np.outer(s2, coeff[:, 1]))).sum(axis=1)
            f = f0.astype(complex)
            if wavelength_angstrom is not None:
                if sp.symbol not in dispersion:
                    fp, fpp = anomalous_scattering(sp.symbol, wavelength_angstrom)
                    dispersion[sp.symbol] = complex(fp, fpp)
                f = f + dispersion[sp.symbol]
            out += occ * f * dw * phase
    return out


def _line_factors(
    structure: Structure,
    lines: LineList,
    top_deg: float,
    b_sites: Sequence[float],
    effects: PhaseEffects,
    lab: LabEffects,
) -> np.ndarray:
    """Per pymatgen line: Σ_g |F_true|² P_MD / Σ_g |F_0|² (1 where no member matched)."""
    mem = reflection_members(structure, lines.wavelength_angstrom, top_deg)
    factors = np.ones(lines.two_theta_deg.size)
    if mem.hkl.shape[0] == 0 or lines.two_theta_deg.size == 0:
        return factors
    f0 = structure_factors(structure, mem.hkl, mem.d_angstrom)
    ft = structure_factors(
        structure, mem.hkl, mem.d_angstrom,
        wavelength_angstrom=lines.wavelength_angstrom if lab.anomalous_dispersion else None,
        b_site_angstrom2=b_sites,
    )
    weight = np.ones(mem.hkl.shape[0])
    if effects.march_dollase_axis is not None and effects.march_dollase_ratio != 1.0:
        axis = np.asarray(effects.march_dollase_axis, dtype=float)
        if axis.shape != (3,) or not np.any(axis):
            raise InputError(f"March–Dollase axis {effects.march_dollase_axis} must be 3 integers, "
                             "not all zero", source=structure.composition.reduced_formula)
        axis_cart = axis @ structure.lattice.reciprocal_lattice_crystallographic.matrix
        cos_a = (mem.g_cart @ axis_cart) / (np.linalg.norm(mem.g_cart, axis=1) * np.linalg.norm(axis_cart))
        weight = march_dollase(cos_a, effects.march_dollase_ratio)
    order = np.argsort(lines.two_theta_deg)
    tt_sorted = lines.two_theta_deg[order]
    pos = np.clip(np.searchsorted(tt_sorted, mem.two_theta_deg), 1, max(tt_sorted.size - 1, 1))
    left = np.clip(pos - 1, 0, tt_sorted.size - 1)
    right = np.clip(pos, 0, tt_sorted.size - 1)
    pick = np.where(np.abs(tt_sorted[left] - mem.two_theta_deg) <= np.abs(tt_sorted[right] - mem.two_theta_deg),
                    left, right)
    ok = np.abs(tt_sorted[pick] - mem.two_theta_deg) < _MEMBER_MATCH_DEG
    idx = order[pick[ok]]
    num = np.bincount(idx, weights=(np.abs(ft[ok]) ** 2) * weight[ok], minlength=factors.size)
    den = np.bincount(idx, weights=np.abs(f0[ok]) ** 2, minlength=factors.size)
    good = den > 0
    factors[good] = num[good] / den[good]
    return factors


def polarisation_ratio(two_theta_deg: np.ndarray, monochromator_two_theta_deg: float) -> np.ndarray:
    """Monochromator polarisation over the unpolarised-tube factor, both normalised at 2θ = 0:
    ``[(1 + cos² 2θ_M cos² 2θ)/(1 + cos² 2θ_M)] / [(1 + cos² 2θ)/2]`` (Azároff 1955 [7]_)."""
    c2 = np.cos(np.radians(np.asarray(two_theta_deg, dtype=float))) ** 2
    cm2 = math.cos(math.radians(monochromator_two_theta_deg)) ** 2
    return ((1.0 + cm2 * c2) / (1.0 + cm2)) / ((1.0 + c2) / 2.0)


def split_pseudo_voigt(
    x_deg: np.ndarray, fwhm_low_deg: np.ndarray, fwhm_high_deg: np.ndarray, eta: np.ndarray | float
) -> np.ndarray:
    """Area-normalised split pseudo-Voigt: the low-angle half (x < 0) has FWHM ``fwhm_low``,
    the high-angle half ``fwhm_high``; continuous at the maximum (x = 0), ∫ dx = 1.

    Parameters
    ----------
    x_deg : ndarray
        Offset from the maximum.
    fwhm_low_deg, fwhm_high_deg : ndarray (broadcast against ``x_deg``)
    eta : float or ndarray (broadcast)

    Returns
    -------
    ndarray
    """
    total = fwhm_low_deg + fwhm_high_deg
    width = np.where(x_deg < 0, fwhm_low_deg, fwhm_high_deg)
    z = x_deg / width
    gauss = math.sqrt(math.log(2.0) / math.pi) * np.exp(-4.0 * math.log(2.0) * z**2)
    lorentz = (1.0 / math.pi) / (1.0 + 4.0 * z**2)
    # each half is that of a unit-area pV of its own width, rescaled by 2 w / (w_low + w_high)
    return (2.0 / total) * 2.0 * (eta * lorentz + (1.0 - eta) * gauss)


def _sum_lines_general(
    x: np.ndarray, centres: np.ndarray, areas: np.ndarray, fwhm_low: np.ndarray,
    fwhm_high: np.ndarray, eta: np.ndarray,
) -> np.ndarray:
    """Σ_j areas_j · splitpV(x − centres_j) over the grid, in bounded chunks."""
    out = np.zeros_like(x)
    step = max(1, _PROFILE_CHUNK_ENTRIES // x.size)
    for start in range(0, centres.size, step):
        sl = slice(start, start + step)
        dx = x[None, :] - centres[sl, None]
        out += areas[sl] @ split_pseudo_voigt(dx, fwhm_low[sl, None], fwhm_high[sl, None], eta[sl, None])
    return out


def _b_per_site(structure: Structure, b_iso: float, effects: PhaseEffects) -> list[float]:
    table = effects.b_site_angstrom2 or {}
    out = []
    for site in structure:
        syms = [sp.symbol for sp in site.species]
        out.append(float(next((table[s] for s in syms if s in table), b_iso)))
    return out


def _brindley_factors(
    structures: Sequence[Structure], w: np.ndarray, effects: Sequence[PhaseEffects], wavelength: float
) -> tuple[list[np.ndarray | None], np.ndarray, float]:
    """τ_p on ``_TAU_GRID_DEG`` (None for phases without a particle size), μ_p, μ̄ (cm⁻¹)."""
    mu = np.array([linear_attenuation_cm(s, wavelength) for s in structures])
    rho = np.array([density_g_cm3(s) for s in structures])
    v = w / rho
    v = v / v.sum()
    mu_mean = float(v @ mu)
    taus: list[np.ndarray | None] = []
    for p, eff in enumerate(effects):
        if eff.particle_diameter_um is None:
            taus.append(None)
            continue
        x = (mu[p] - mu_mean) * eff.particle_diameter_um * 1e-4 / 2.0
        taus.append(np.array([brindley_tau(x, tt)[0] for tt in _TAU_GRID_DEG]))
    return taus, mu, mu_mean


# --------------------------------------------------------------------------------------------
# Pattern
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseTruth:
    """The true parameters of one phase in a synthetic pattern.

    Attributes
    ----------
    name : str
    weight_fraction : float
        Share of the crystalline phases, by weight (the weights sum to 1).
    lattice_abc_angstrom : tuple of float
        a, b, c.
    lattice_angles_deg : tuple of float
        α, β, γ.
    volume_angstrom3 : float
    cell_mass_amu : float
        Z·M.
    density_g_cm3 : float
    scale : float
        Counts·degree per unit of pymatgen intensity: the integrated Kα1 area of a line is
        ``scale · exp(-B/(2d²)) · I_pymatgen`` (without effects; with them, ``I_pymatgen`` is
        multiplied by the |F|²/texture factor, the polarisation ratio and τ instead of the
        exp(-B/(2d²))).
    b_iso_angstrom2 : float
    profile : PeakProfile
    effects : PhaseEffects or None
        The phase's extra effects (None: plain generator).
    linear_attenuation_cm : float
        μ of the dense crystal (NaN unless microabsorption was simulated).
    brindley_tau : float
        τ at 2θ = 90° (1 without microabsorption); the lines use τ at their own angle.
    """

    name: str
    weight_fraction: float
    lattice_abc_angstrom: tuple[float, float, float]
    lattice_angles_deg: tuple[float, float, float]
    volume_angstrom3: float
    cell_mass_amu: float
    density_g_cm3: float
    scale: float
    b_iso_angstrom2: float
    profile: PeakProfile
    effects: PhaseEffects | None = None
    linear_attenuation_cm: float = float("nan")
    brindley_tau: float = 1.0


@dataclass(frozen=True)
class SyntheticSettings:
    """Everything else that produced a pattern (for the record)."""

    wavelength_angstrom: float
    ka2_wavelength_angstrom: float | None
    ka2_ratio: float
    zero_shift_deg: float
    counts_on_strongest: float
    background: Background
    noise: bool
    lab: LabEffects | None = None


@dataclass(frozen=True)
class SyntheticPattern:
    """A synthetic powder pattern and the truth behind it.

    Attributes
    ----------
    two_theta_deg : ndarray, shape (n,)
    counts : ndarray, shape (n,)
        Poisson draws of ``noiseless`` (or ``noiseless`` itself without an RNG).
    sigma : ndarray, shape (n,)
        ``sqrt(max(counts, 1))``.
    noiseless : ndarray, shape (n,)
        Expected counts: Bragg contribution of all phases + background.
    per_phase : ndarray, shape (n_phases, n)
        Expected Bragg counts of each phase (Kα1 + Kα2).
    background : ndarray, shape (n,)
    phases : tuple of PhaseTruth
    settings : SyntheticSettings
    """

    two_theta_deg: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray
    noiseless: np.ndarray
    per_phase: np.ndarray
    background: np.ndarray
    phases: tuple[PhaseTruth, ...]
    settings: SyntheticSettings

    @property
    def weight_fractions(self) -> dict[str, float]:
        """True weight fractions by phase name (a new dict)."""
        return {p.name: p.weight_fraction for p in self.phases}

    def to_scan(self, source: str = "<synthetic>") -> Scan:
        """The noisy counts as a validated :class:`~xrdkit.scans.Scan` (Poisson σ, Kα1 λ).

        The truth goes into ``metadata["truth_weight_fractions"]`` and
        ``metadata["truth_lattice_abc_angstrom"]`` (dicts by phase name).
        """
        meta = {
            "truth_weight_fractions": self.weight_fractions,
            "truth_lattice_abc_angstrom": {p.name: p.lattice_abc_angstrom for p in self.phases},
        }
        return make_scan(self.two_theta_deg, self.counts, self.sigma,
                         wavelength_angstrom=self.settings.wavelength_angstrom, source=source,
                         metadata=meta)


def _resolve_wavelength(
    wavelength: str | float, ka2: bool, ka2_wavelength_angstrom: float | None
) -> tuple[float, float | None]:
    if isinstance(wavelength, str):
        if wavelength not in _RADIATIONS:
            raise InputError(
                f"unknown radiation {wavelength!r}; use one of {sorted(_RADIATIONS)} or Å",
                source="wavelength",
            )
        ka1, ka2_default = _RADIATIONS[wavelength]
        if ka2_wavelength_angstrom is None:
            ka2_wavelength_angstrom = ka2_default
    else:
        ka1 = float(wavelength)
        if not (np.isfinite(ka1) and 0.01 < ka1 < 10.0):
            raise InputError(f"wavelength {wavelength!r} Å outside 0.01–10 Å", source="wavelength")
    if not ka2:
        return ka1, None
    if ka2_wavelength_angstrom is None:
        raise InputError(
            "ka2=True with a numeric wavelength needs ka2_wavelength_angstrom", source="wavelength"
        )
    return ka1, float(ka2_wavelength_angstrom)


def _validate_grid(two_theta_deg: Any) -> np.ndarray:
    x = np.array(two_theta_deg, dtype=float, copy=True)
    if x.ndim != 1 or x.size < 2:
        raise InputError(f"2θ grid must be 1-D with ≥ 2 points, got shape {x.shape}",
                         source="two_theta_deg")
    if not np.isfinite(x).all() or x[0] <= 0.0 or x[-1] >= 180.0:
        raise InputError("2θ grid must be finite and inside (0, 180)°", source="two_theta_deg")
    if (np.diff(x) <= 0).any():
        raise InputError("2θ grid must be strictly increasing", source="two_theta_deg")
    return x


def _per_phase_list(value: Any, n: int, what: str) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | PeakProfile):
        items = list(value)
        if len(items) != n:
            raise InputError(f"{what} has {len(items)} entries for {n} phases", source=what)
        return items
    return [value] * n


def _sum_lines(
    x: np.ndarray, centres: np.ndarray, areas: np.ndarray, fwhm: np.ndarray, eta: float
) -> np.ndarray:
    """Σ_j areas_j · pV(x - centres_j; fwhm_j, η) over the full grid, in bounded chunks."""
    out = np.zeros_like(x)
    step = max(1, _PROFILE_CHUNK_ENTRIES // x.size)
    for start in range(0, centres.size, step):
        sl = slice(start, start + step)
        dx = x[None, :] - centres[sl, None]  # (lines, points)
        out += areas[sl] @ pseudo_voigt(dx, fwhm[sl, None], eta)
    return out


def synthetic_pattern(
    structures: Sequence[Structure],
    weight_fractions: Sequence[float],
    two_theta_deg: Any,
    *,
    names: Sequence[str] | None = None,
    wavelength: str | float = "CuKa",
    ka2: bool = True,
    ka2_wavelength_angstrom: float | None = None,
    ka2_ratio: float = 0.5,
    profile: PeakProfile | Sequence[PeakProfile] = PeakProfile(),  # noqa: B008 (frozen)
    b_iso_angstrom2: float | Sequence[float] = 0.0,
    background: Background = Background(),  # noqa: B008 (frozen)
    counts_on_strongest: float = 1e4,
    rng: np.random.Generator | None = None,
    zero_shift_deg: float = 0.0,
    effects: Sequence[PhaseEffects | None] | None = None,
    lab: LabEffects | None = None,
) -> SyntheticPattern:
    """Make a multi-phase powder pattern with known truth.

    Parameters
    ----------
    structures : sequence of Structure
        One structure per phase.
    weight_fractions : sequence of float
        Crystalline weight fractions, ≥ 0, summing to 1.
    two_theta_deg : array_like, shape (n,)
        Strictly increasing grid (degrees).
    names : sequence of str, optional
        Phase names (default: reduced formulas).
    wavelength : "CuKa" or float
        ``"CuKa"`` means Kα1 = 1.5405929 Å (and Kα2 = 1.5444140 Å); a float is the primary
        wavelength in Å.
    ka2 : bool
        Add the Kα2 line set.
    ka2_wavelength_angstrom : float, optional
        Overrides the Kα2 wavelength (required with a numeric ``wavelength`` and ``ka2=True``).
    ka2_ratio : float
        I(Kα2)/I(Kα1), before the LP correction at the Kα2 angle.
    profile : PeakProfile or one per phase
    b_iso_angstrom2 : float or one per phase
        Isotropic Debye–Waller B (Å²), intensity × exp(-B / (2 d²)).
    background : Background
    counts_on_strongest : float
        Peak height (counts, background excluded) of the highest point of the Bragg signal.
    rng : numpy.random.Generator, optional
        Source of Poisson noise. Without one, ``counts`` equals ``noiseless``.
    zero_shift_deg : float
        Every line appears at ``2θ_Bragg + zero_shift_deg``.
    effects : sequence of PhaseEffects or None, optional
        One per phase: per-site B, texture, particle size (Brindley), crystallite size.
    lab : LabEffects, optional
        Anomalous dispersion, monochromator polarisation, asymmetry, impurity lines. Giving
        ``effects`` without ``lab`` means ``LabEffects()`` (anomalous dispersion on). With
        neither, the pattern is exactly the plain generator's.

    Returns
    -------
    SyntheticPattern

    Raises
    ------
    InputError
        Bad grid, mismatched lengths, negative or non-normalised weights, η outside [0, 1],
        a negative FWHM² on the grid, or no line inside the grid.
    """
    x = _validate_grid(two_theta_deg)
    structures = list(structures)
    n_ph = len(structures)
    if n_ph == 0:
        raise InputError("no structures given", source="structures")
    w = np.array(weight_fractions, dtype=float)
    if w.shape != (n_ph,):
        raise InputError(f"{w.size} weight fractions for {n_ph} structures", source="weight_fractions")
    if not np.isfinite(w).all() or (w < 0).any() or abs(w.sum() - 1.0) > _WEIGHT_SUM_TOL:
        raise InputError(
            f"weight fractions must be ≥ 0 and sum to 1, got {w.tolist()}", source="weight_fractions"
        )
    names = [s.composition.reduced_formula for s in structures] if names is None else list(names)
    if len(names) != n_ph:
        raise InputError(f"{len(names)} names for {n_ph} structures", source="names")
    profiles = _per_phase_list(profile, n_ph, "profile")
    b_isos = [float(b) for b in _per_phase_list(b_iso_angstrom2, n_ph, "b_iso_angstrom2")]
    for name, prof in zip(names, profiles, strict=True):
        if not 0.0 <= prof.eta <= 1.0:
            raise InputError(f"eta={prof.eta} outside [0, 1]", source=f"profile of {name}")
        t = np.tan(np.radians(x) / 2.0)
        if (prof.u_deg2 * t**2 + prof.v_deg2 * t + prof.w_deg2 <= 0).any():
            raise InputError(f"Caglioti FWHM² ≤ 0 on the grid ({prof})", source=f"profile of {name}")
    if not counts_on_strongest > 0:
        raise InputError(f"counts_on_strongest={counts_on_strongest} must be > 0",
                         source="counts_on_strongest")
    ka1_wl, ka2_wl = _resolve_wavelength(wavelength, ka2, ka2_wavelength_angstrom)
    plain = effects is None and lab is None
    if not plain:
        lab = lab if lab is not None else LabEffects()
        effs = [e if e is not None else PhaseEffects()
                for e in _per_phase_list(effects if effects is not None else None, n_ph, "effects")]
        taus, mus, _mu_mean = (_brindley_factors(structures, w, effs, ka1_wl)
                               if any(e.particle_diameter_um is not None for e in effs)
                               else ([None] * n_ph, np.full(n_ph, np.nan), float("nan")))
    else:
        effs, taus, mus = [None] * n_ph, [None] * n_ph, np.full(n_ph, np.nan)

    top = x[-1] + LINE_MARGIN_DEG + abs(zero_shift_deg)
    unit = np.zeros((n_ph, x.size))  # Bragg signal per phase for scale 1
    strongest_area = 0.0  # largest Kα1 line area (for impurity lines), scale 1
    any_line_inside = False
    for i, structure in enumerate(structures):
        lines = line_list(structure, ka1_wl, top)
        if plain:
            intensity = lines.intensity * np.exp(-b_isos[i] / (2.0 * lines.d_angstrom**2))
        else:
            b_sites = _b_per_site(structure, b_isos[i], effs[i])
            intensity = lines.intensity * _line_factors(structure, lines, top, b_sites, effs[i], lab)
        centres = [lines.two_theta_deg]
        areas = [intensity]
        if ka2_wl is not None:
            sin2 = ka2_wl / (2.0 * lines.d_angstrom)
            ok = sin2 < 1.0
            tt2 = np.degrees(2.0 * np.arcsin(sin2[ok]))
            lp_ratio = lorentz_polarisation(tt2) / lorentz_polarisation(lines.two_theta_deg[ok])
            centres.append(tt2)
            areas.append(ka2_ratio * intensity[ok] * lp_ratio)
        c = np.concatenate(centres) + zero_shift_deg
        a = np.concatenate(areas)
        keep = (c > x[0] - LINE_MARGIN_DEG) & (c < x[-1] + LINE_MARGIN_DEG)
        c, a = c[keep], a[keep]
        any_line_inside |= bool(((c >= x[0]) & (c <= x[-1])).any())
        fwhm = profiles[i].fwhm_deg(c - zero_shift_deg)
        if plain:
            unit[i] = hill_howard_scale(w[i], structure) * _sum_lines(x, c, a, fwhm, profiles[i].eta)
            continue
        tt = c - zero_shift_deg
        a = a * polarisation_ratio(tt, lab.monochromator_two_theta_deg)
        if taus[i] is not None:
            a = a * np.interp(tt, _TAU_GRID_DEG, taus[i])
        eta = np.full(c.size, profiles[i].eta)
        if effs[i].crystallite_size_nm:
            theta = np.radians(tt) / 2.0
            size_deg = np.degrees(0.9 * ka1_wl / (10.0 * effs[i].crystallite_size_nm * np.cos(theta)))
            eta = (profiles[i].eta * fwhm + size_deg) / (fwhm + size_deg)
            fwhm = fwhm + size_deg
        split = np.clip(lab.axial_asymmetry / np.tan(np.radians(tt)), -_MAX_SPLIT, _MAX_SPLIT)
        scale_i = hill_howard_scale(w[i], structure)
        unit[i] = scale_i * _sum_lines_general(x, c, a, fwhm * (1 + split), fwhm * (1 - split), eta)
        inside = (c >= x[0]) & (c <= x[-1])
        if inside.any():
            strongest_area = max(strongest_area, float(scale_i * a[inside].max()))
    if not any_line_inside:
        raise InputError(f"no reflection of any phase inside {x[0]:.3f}–{x[-1]:.3f}° 2θ",
                         source="two_theta_deg")
    peak = unit.sum(axis=0).max()
    k_global = counts_on_strongest / peak
    per_phase = unit * k_global
    bkg = background.evaluate(x)
    if (bkg < 0).any():
        raise InputError("background is negative somewhere on the grid", source="background")
    noiseless = per_phase.sum(axis=0) + bkg
    if not plain and lab.impurity_lines:
        imp_c = np.array([c_ for c_, _ in lab.impurity_lines], dtype=float) + zero_shift_deg
        imp_a = np.array([a_ for _, a_ in lab.impurity_lines], dtype=float) * strongest_area * k_global
        if (imp_a < 0).any():
            raise InputError("impurity line areas must be ≥ 0", source="lab.impurity_lines")
        imp_w = profiles[0].fwhm_deg(imp_c - zero_shift_deg)
        noiseless = noiseless + _sum_lines(x, imp_c, imp_a, imp_w, profiles[0].eta)
    counts = rng.poisson(noiseless).astype(float) if rng is not None else noiseless.copy()
    sigma = np.sqrt(np.maximum(counts, 1.0))

    truths = []
    for i, structure in enumerate(structures):
        lat = structure.lattice
        truths.append(
            PhaseTruth(
                name=names[i],
                weight_fraction=float(w[i]),
                lattice_abc_angstrom=tuple(float(v) for v in lat.abc),
                lattice_angles_deg=tuple(float(v) for v in lat.angles),
                volume_angstrom3=float(lat.volume),
                cell_mass_amu=cell_mass_amu(structure),
                density_g_cm3=density_g_cm3(structure),
                scale=float(k_global * hill_howard_scale(w[i], structure)),
                b_iso_angstrom2=b_isos[i],
                profile=profiles[i],
                effects=effs[i],
                linear_attenuation_cm=float(mus[i]),
                brindley_tau=float(np.interp(90.0, _TAU_GRID_DEG, taus[i])) if taus[i] is not None else 1.0,
            )
        )
    for arr in (x, counts, sigma, noiseless, per_phase, bkg):
        arr.setflags(write=False)
    settings = SyntheticSettings(
        wavelength_angstrom=ka1_wl,
        ka2_wavelength_angstrom=ka2_wl,
        ka2_ratio=float(ka2_ratio) if ka2_wl is not None else 0.0,
        zero_shift_deg=float(zero_shift_deg),
        counts_on_strongest=float(counts_on_strongest),
        background=background,
        noise=rng is not None,
        lab=lab,
    )
    return SyntheticPattern(x, counts, sigma, noiseless, per_phase, bkg, tuple(truths), settings)
