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

References
----------
.. [1] R. J. Hill, C. J. Howard, "Quantitative phase analysis from neutron powder diffraction data
   using the Rietveld method", J. Appl. Cryst. 20 (1987) 467-474, doi:10.1107/S0021889887086199.
.. [2] G. Caglioti, A. Paoletti, F. P. Ricci, Nucl. Instrum. 3 (1958) 223,
   doi:10.1016/0369-643X(58)90029-X.
.. [3] G. Hölzer et al., "Kα1,2 and Kβ1,3 x-ray emission lines of the 3d transition metals",
   Phys. Rev. A 56 (1997) 4554, doi:10.1103/PhysRevA.56.4554 (Cu Kα1 1.5405929 Å,
   Kα2 1.5444140 Å).
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
        ``scale · exp(-B/(2d²)) · I_pymatgen``.
    b_iso_angstrom2 : float
    profile : PeakProfile
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

    top = x[-1] + LINE_MARGIN_DEG + abs(zero_shift_deg)
    unit = np.zeros((n_ph, x.size))  # Bragg signal per phase for scale 1
    any_line_inside = False
    for i, structure in enumerate(structures):
        lines = line_list(structure, ka1_wl, top)
        intensity = lines.intensity * np.exp(-b_isos[i] / (2.0 * lines.d_angstrom**2))
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
        unit[i] = hill_howard_scale(w[i], structure) * _sum_lines(x, c, a, fwhm, profiles[i].eta)
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
    )
    return SyntheticPattern(x, counts, sigma, noiseless, per_phase, bkg, tuple(truths), settings)
