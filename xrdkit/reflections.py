"""Reflection lists: the part of a powder pattern that does not change during a fit.

A :class:`ReflectionList` holds, for one phase, the symmetry-unique reflections
(one representative *hkl* per family), their multiplicities and |F|² computed
once from the structure with complete X-ray scattering factors
``f = f0(sinθ/λ) + f′(λ) + i f″(λ)``: f0 from pymatgen's parametrisation (the one
``XRDCalculator`` uses), the anomalous-dispersion terms f′, f″ at the wavelength in use
from xrayutilities' database (Henke et al., *At. Data Nucl. Data Tables* 54 (1993) 181,
doi:10.1006/adnd.1993.1013).  Without f′/f″, ZnO with Cu Kα comes out ≈ 20 % too strong
against Al2O3 and CaF2.  Each site carries its own isotropic displacement factor
``exp(−B s²)`` from the CIF (site property ``b_iso_angstrom2``, set by
:func:`xrdkit.phases.read_cif`; unknown = 0) or, failing that, ``b_iso_by_element``.
For non-centrosymmetric structures |F(h)|² ≠ |F(−h)|² once f″ ≠ 0: the family average
(Friedel mates are family members) is what a powder measures.  When the lattice is
refined, :meth:`ReflectionList.inverse_d2` recomputes 1/d² from the reciprocal metric
tensor without touching |F|²; an overall isotropic B is applied later as
``exp(-B / (2 d²))`` on |F|².

Families are found from the Laue group of the structure (point-group rotations
from spglib via pymatgen, plus Friedel inversion), so reflections with equal d
but different families (cubic (333)/(511)) stay separate — which matters for
preferred orientation and for lattices refined away from an accidental
coincidence.  The members of each family are kept for March–Dollase sums.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit.errors import InputError, PhaseError
from xrdkit.phases import SITE_B_PROPERTY

__all__ = ["ReflectionList", "compute_reflections", "anomalous_scattering", "mass_attenuation", "SITE_B_PROPERTY", "crystal_system_parameters", "lattice_from_parameters"]

log = logging.getLogger(__name__)

#: Reflections weaker than this fraction of the strongest |F|²·m are dropped as absent.
ABSENT_F2_REL_TOL = 1e-8
#: Symmetry tolerance (Å) for spglib when finding the Laue group.
SYMPREC_ANGSTROM = 0.01
#: hkl enumerated down to d_min / D_MIN_MARGIN so a refined, slightly smaller cell stays covered.
D_MIN_MARGIN = 1.05
#: Rows of hkl per chunk when evaluating structure factors (bounds memory: chunk × sites complex).
HKL_CHUNK = 2048


def crystal_system_parameters(crystal_system: str) -> tuple[str, ...]:
    """Names of the free lattice parameters of a crystal system.

    Parameters
    ----------
    crystal_system : str
        One of pymatgen's crystal system names (``"cubic"``, ``"hexagonal"`` …).

    Returns
    -------
    tuple of str
        Subset of ``("a", "b", "c", "alpha", "beta", "gamma")``.
    """
    return tuple(dict.fromkeys(n for n in _cell_template(crystal_system) if isinstance(n, str)))


#: (a, b, c, α, β, γ) of each crystal system's standard setting: a free-parameter name or a
#: fixed value (trigonal in the hexagonal setting).
_CELL_TEMPLATES: dict[str, tuple[str | float, ...]] = {
    "cubic": ("a", "a", "a", 90.0, 90.0, 90.0),
    "tetragonal": ("a", "a", "c", 90.0, 90.0, 90.0),
    "hexagonal": ("a", "a", "c", 90.0, 90.0, 120.0),
    "trigonal": ("a", "a", "c", 90.0, 90.0, 120.0),
    "orthorhombic": ("a", "b", "c", 90.0, 90.0, 90.0),
    "monoclinic": ("a", "b", "c", 90.0, "beta", 90.0),
    "triclinic": ("a", "b", "c", "alpha", "beta", "gamma"),
}


def _cell_template(crystal_system: str) -> tuple[str | float, ...]:
    try:
        return _CELL_TEMPLATES[crystal_system]
    except KeyError:
        raise InputError(f"unknown crystal system {crystal_system!r}") from None


def lattice_from_parameters(crystal_system: str, values: dict[str, float]) -> Lattice:
    """Build a lattice from the free parameters of its crystal system (Å, degrees)."""
    return Lattice.from_parameters(*_full_parameters(crystal_system, values))


def _inverse_metric6(lattice: Lattice) -> np.ndarray:
    """The six independent components of the reciprocal metric tensor G* (Å⁻²)."""
    return _inverse_metric6_from_parameters(*lattice.parameters)


def _inverse_metric6_from_parameters(
    a: float, b: float, c: float, alpha: float, beta: float, gamma: float
) -> np.ndarray:
    """G* components (h², k², l², hk, hl, kl coefficients) from cell parameters (Å, degrees)."""
    return np.array(_inverse_metric6_floats(a, b, c, alpha, beta, gamma))


def _inverse_metric6_floats(
    a: float, b: float, c: float, alpha: float, beta: float, gamma: float
) -> list[float]:
    """:func:`_inverse_metric6_from_parameters` as plain floats (no array overhead)."""
    d2r = math.pi / 180.0
    ca, cb, cg = math.cos(alpha * d2r), math.cos(beta * d2r), math.cos(gamma * d2r)
    # direct metric G (symmetric) and its inverse by cofactors: plain floats, no array overhead
    g00, g11, g22 = a * a, b * b, c * c
    g01, g02, g12 = a * b * cg, a * c * cb, b * c * ca
    c00 = g11 * g22 - g12 * g12
    c11 = g00 * g22 - g02 * g02
    c22 = g00 * g11 - g01 * g01
    c01 = g02 * g12 - g01 * g22
    c02 = g01 * g12 - g02 * g11
    c12 = g01 * g02 - g00 * g12
    det = g00 * c00 + g01 * c01 + g02 * c02
    if not det > 0:
        raise InputError(f"lattice ({a}, {b}, {c}, {alpha}, {beta}, {gamma}) has no volume")
    inv = 1.0 / det
    return [c00 * inv, c11 * inv, c22 * inv, 2 * c01 * inv, 2 * c02 * inv, 2 * c12 * inv]


def _full_parameters(crystal_system: str, values: dict[str, float]) -> tuple[float, ...]:
    """(a, b, c, α, β, γ) of a crystal system's standard setting from its free parameters."""
    return tuple(float(values[t]) if isinstance(t, str) else t for t in _cell_template(crystal_system))


def _free_to_full_map(crystal_system: str) -> tuple[tuple[int, float], ...]:
    """(index into the free parameters or −1, fixed value) for each of a, b, c, α, β, γ."""
    names = crystal_system_parameters(crystal_system)
    return tuple((names.index(t), 0.0) if isinstance(t, str) else (-1, float(t))
                 for t in _cell_template(crystal_system))


def _monomials(hkl: np.ndarray) -> np.ndarray:
    """(n, 6) quadratic monomials h², k², l², hk, hl, kl so that 1/d² = monomials @ G*6."""
    h, k, l = hkl.T.astype(float)  # noqa: E741
    return np.column_stack([h * h, k * k, l * l, h * k, h * l, k * l])


@dataclass(frozen=True, eq=False)
class ReflectionList:
    """Symmetry-unique reflections of one phase with their fixed |F|².

    Attributes
    ----------
    name : str
        Phase name.
    hkl : ndarray of int, shape (n, 3)
        Representative Miller indices, sorted by decreasing d at the reference lattice.
    multiplicity : ndarray of int, shape (n,)
        Number of members of each family (Friedel pairs counted).
    f2 : ndarray, shape (n,)
        |F|² per cell (electrons²) of the representative, without the overall B.
    members_hkl : ndarray of int, shape (m, 3)
        All family members (for preferred-orientation sums).
    member_family : ndarray of int, shape (m,)
        Family index of each member.
    crystal_system : str
        Decides which lattice parameters are free.
    lattice : pymatgen Lattice
        Reference lattice the list was computed at.
    cell_mass_amu : float
        Mass of the cell contents (Z·M, amu), occupancies included.
    volume_angstrom3 : float
        Reference cell volume.
    """

    name: str
    hkl: np.ndarray
    multiplicity: np.ndarray
    f2: np.ndarray
    members_hkl: np.ndarray
    member_family: np.ndarray
    crystal_system: str
    lattice: Lattice
    cell_mass_amu: float
    volume_angstrom3: float
    #: Mass attenuation coefficient μ/ρ (cm² g⁻¹) at the list's wavelength, photoabsorption
    #: from f″ (NaN when unknown); used by Brindley's microabsorption correction.
    mass_attenuation_cm2_g: float = float("nan")

    @property
    def density_g_cm3(self) -> float:
        """Density of the reference cell (g cm⁻³)."""
        return self.cell_mass_amu * AMU_G / (self.volume_angstrom3 * 1e-24)

    @property
    def n(self) -> int:
        """Number of reflection families."""
        return int(self.hkl.shape[0])

    @property
    def lattice_parameter_names(self) -> tuple[str, ...]:
        """Free lattice parameters of this phase's crystal system."""
        return crystal_system_parameters(self.crystal_system)

    def lattice_values(self, lattice: Lattice | None = None) -> dict[str, float]:
        """Free lattice parameters of ``lattice`` (default: the reference lattice)."""
        lat = self.lattice if lattice is None else lattice
        full = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), lat.parameters, strict=True))
        return {k: float(full[k]) for k in self.lattice_parameter_names}

    def monomials(self) -> np.ndarray:
        """(n, 6) quadratic hkl monomials for 1/d² = monomials @ G*6 (cached)."""
        cached = self.__dict__.get("_monomials")
        if cached is None:
            cached = _monomials(self.hkl)
            object.__setattr__(self, "_monomials", cached)
        return cached

    def inverse_d2(self, lattice_values: dict[str, float]) -> np.ndarray:
        """1/d² (Å⁻²) of every family for the given free lattice parameters."""
        full = _full_parameters(self.crystal_system, lattice_values)
        return self.monomials() @ _inverse_metric6_from_parameters(*full)

    def inverse_d2_and_gradient(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """1/d² and ∂(1/d²)/∂p for the free lattice parameters ``values`` (in the order of
        :attr:`lattice_parameter_names`): shapes (n,) and (n, n_free).

        Central differences on the reciprocal metric, all cells in one vectorised call
        (the per-iteration path of the pattern model).
        """
        fmap = self.__dict__.get("_free_map")
        if fmap is None:
            fmap = _free_to_full_map(self.crystal_system)
            object.__setattr__(self, "_free_map", fmap)
        vals = [float(v) for v in values]

        def metric(vs: list[float]) -> list[float]:
            return _inverse_metric6_floats(*[vs[i] if i >= 0 else c for i, c in fmap])

        cols = [metric(vals)]
        for j, v in enumerate(vals):  # plain-float central differences (tiny arrays cost more)
            step = 1e-6 * max(abs(v), 1.0)
            up, dn = vals.copy(), vals.copy()
            up[j] += step
            dn[j] -= step
            cols.append([(u - d) / (2.0 * step) for u, d in zip(metric(up), metric(dn), strict=True)])
        qs = self.monomials() @ np.array(cols).T
        return qs[:, 0], qs[:, 1:]

    def inverse_d2_terms(self) -> np.ndarray | None:
        """``T`` (n, n_free) with ``1/d² = Σ_i T[:, i] / p_i²`` when the cell has that form, else None.

        Cubic, tetragonal, hexagonal/trigonal and orthorhombic cells (fixed angles): each
        reciprocal-metric component depends on one free parameter only, as ``1/p²``. The
        model then gets 1/d² and its gradient (``−2 T[:, i] / p_i³``) for all phases in a few
        array operations. Monoclinic and triclinic cells return None (see
        :meth:`inverse_d2_and_gradient`). Cached.
        """
        if "_d2_terms" in self.__dict__:
            return self.__dict__["_d2_terms"]
        names = self.lattice_parameter_names
        terms = None
        if all(n in ("a", "b", "c") for n in names):
            ones = {n: 1.0 for n in names}
            base = _inverse_metric6_from_parameters(*_full_parameters(self.crystal_system, ones))
            base[np.abs(base) < 1e-12 * np.abs(base).max()] = 0.0  # cos 90° rounding
            owner = np.full(6, -1)
            for i, n in enumerate(names):
                moved = _inverse_metric6_from_parameters(*_full_parameters(self.crystal_system, {**ones, n: 2.0}))
                changed = (base != 0) & ~np.isclose(moved, base, rtol=1e-12, atol=0.0)
                if np.any(changed & (owner >= 0)) or not np.allclose(moved[changed], base[changed] / 4.0, rtol=1e-12):
                    owner[:] = -2  # a component shared between parameters: not of this form
                    break
                owner[changed] = i
            if np.all(owner[base != 0] >= 0):
                mono = self.monomials()
                terms = np.stack([mono[:, owner == i] @ base[owner == i] for i in range(len(names))], axis=1)
        object.__setattr__(self, "_d2_terms", terms)
        return terms

    def d_spacing_angstrom(self, lattice_values: dict[str, float] | None = None) -> np.ndarray:
        """d-spacings (Å) at the reference or given lattice."""
        vals = self.lattice_values() if lattice_values is None else lattice_values
        return 1.0 / np.sqrt(self.inverse_d2(vals))

    def volume(self, lattice_values: dict[str, float]) -> float:
        """Cell volume (Å³) for the given free lattice parameters."""
        a, b, c, al, be, ga = _full_parameters(self.crystal_system, lattice_values)
        ca, cb, cg = (math.cos(math.radians(v)) for v in (al, be, ga))
        return float(a * b * c * math.sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg))

    def with_intensities(
        self, f2: np.ndarray, name: str | None = None, *, cell_mass_amu: float | None = None
    ) -> ReflectionList:
        """Return a copy with other |F|² (and optionally another cell mass): Pawley/PONKCS phases."""
        f2 = np.asarray(f2, dtype=float)
        if f2.shape != self.f2.shape:
            raise InputError(f"need {self.n} intensities, got {f2.shape}")
        return ReflectionList(
            name or self.name, self.hkl, self.multiplicity, f2, self.members_hkl,
            self.member_family, self.crystal_system, self.lattice,
            self.cell_mass_amu if cell_mass_amu is None else float(cell_mass_amu),
            self.volume_angstrom3, self.mass_attenuation_cm2_g,
        )


@functools.lru_cache(maxsize=1)
def _atomic_scattering_params() -> dict:
    """pymatgen's table of form-factor coefficients, read from its data file directly (importing
    ``pymatgen.analysis.diffraction.xrd`` for it would also import matplotlib: ≈ 0.6 s of start-up)."""
    import json

    import pymatgen.analysis.diffraction as pkg

    with open(Path(pkg.__file__).parent / "atomic_scattering_params.json", encoding="utf-8") as fh:
        return json.load(fh)


def _form_factor(symbol: str, s2: np.ndarray) -> np.ndarray:
    """pymatgen's atomic scattering factor f(s) = Z − 41.78214·s²·Σ aᵢ exp(−bᵢ s²)."""
    try:
        coeff = np.asarray(_atomic_scattering_params()[symbol])
    except KeyError:
        raise PhaseError(f"no X-ray scattering factors for element {symbol!r}") from None
    z = Element(symbol).Z
    return z - 41.78214 * s2 * np.sum(coeff[:, 0] * np.exp(-coeff[:, 1] * s2[:, None]), axis=1)


def anomalous_scattering(symbol: str, wavelength_angstrom: float) -> tuple[float, float]:
    """Anomalous-dispersion corrections (f′, f″) of an element at a wavelength, electrons.

    Taken from xrayutilities' element database (Henke et al. 1993 tables, interpolated in
    energy; Cu Kα: Zn −1.56/0.69, Ca 0.37/1.29, Pb −4.08/8.69, in line with International
    Tables Vol. C, Table 4.2.6.8).

    Parameters
    ----------
    symbol : str
        Element symbol (``"Zn"``; ions and isotopes as their element).
    wavelength_angstrom : float
        X-ray wavelength (Å).

    Returns
    -------
    (float, float)
        f′ and f″; (0, 0) with a warning for an element the database lacks.
    """
    return _anomalous_cached(symbol, round(float(wavelength_angstrom), 6))


@functools.lru_cache(maxsize=512)
def _anomalous_cached(symbol: str, wavelength_angstrom: float) -> tuple[float, float]:
    import xrayutilities as xu  # lazy: a heavy import, needed once per element and wavelength

    element = getattr(xu.materials.elements, symbol, None)
    if element is None:
        log.warning("no anomalous-dispersion data for %r; f′ = f″ = 0", symbol)
        return 0.0, 0.0
    energy_ev = xu.utilities.lam2en(wavelength_angstrom)
    return float(element.f1(energy_ev)), float(element.f2(energy_ev))


#: Atomic mass unit (g) and classical electron radius (cm), CODATA 2018.
AMU_G = 1.66053906660e-24
ELECTRON_RADIUS_CM = 2.8179403262e-13
AVOGADRO = 6.02214076e23


def mass_attenuation(structure: Structure, wavelength_angstrom: float) -> float:
    """Photoabsorption mass attenuation coefficient μ/ρ (cm² g⁻¹) of a structure's composition.

    Per element ``μ/ρ = (N_A / A) · 2 r_e λ f″`` (the optical theorem; Als-Nielsen &
    McMorrow, *Elements of Modern X-ray Physics*, 2nd ed. (2011), ch. 9), mass-weighted
    over the composition. Coherent and incoherent scattering (a few % at Cu Kα) are left out.
    ZnO at Cu Kα: 46.8 against 50.7 cm² g⁻¹ from the total μ/ρ of International Tables
    Vol. C Table 4.2.4.3 (Zn 60.3, O 11.5); only differences between phases matter for Brindley.
    """
    comp = structure.composition
    total = 0.0
    for el, amount in comp.get_el_amt_dict().items():
        mass = float(Element(el).atomic_mass)
        _, fpp = anomalous_scattering(el, wavelength_angstrom)
        mu_rho = AVOGADRO / mass * 2.0 * ELECTRON_RADIUS_CM * wavelength_angstrom * 1e-8 * fpp
        total += amount * mass * mu_rho
    return total / float(comp.weight)


def _structure_factor_sq(
    structure: Structure, hkl: np.ndarray, s2: np.ndarray, b_iso: dict[str, float],
    wavelength_angstrom: float | None = None,
) -> np.ndarray:
    """|F(hkl)|² for all rows of ``hkl`` (shape (n,)), element by element, chunked.

    ``F = Σ_j occ_j (f0_j(s) + f′_j + i f″_j) exp(−B_j s²) exp(2πi h·x_j)``; f′, f″ only when
    ``wavelength_angstrom`` is given.
    """
    site_b = structure.site_properties.get(SITE_B_PROPERTY) or [None] * len(structure)
    groups: dict[str, tuple[list[np.ndarray], list[float], list[float]]] = {}
    for site, b_cif in zip(structure, site_b, strict=True):
        for sp, occ in site.species.items():
            coords, occs, bs = groups.setdefault(sp.symbol, ([], [], []))
            coords.append(site.frac_coords)
            occs.append(occ)
            # the site's own (CIF) B where known, else its element's, else 0
            known = b_cif is not None and math.isfinite(b_cif)
            bs.append(float(b_cif) if known else float(b_iso.get(sp.symbol, 0.0)))
    f = np.zeros(len(hkl), dtype=complex)
    hkl_f = hkl.astype(float)
    for symbol, (coords, occs, bs) in groups.items():
        fs = _form_factor(symbol, s2).astype(complex)  # (n,)
        if wavelength_angstrom is not None:
            fp, fpp = anomalous_scattering(symbol, wavelength_angstrom)
            fs = fs + complex(fp, fpp)
        xyz = np.asarray(coords)  # (sites, 3)
        occ = np.asarray(occs)  # (sites,)
        b_site = np.asarray(bs)  # (sites,)
        for start in range(0, len(hkl), HKL_CHUNK):
            sl = slice(start, start + HKL_CHUNK)
            phase = np.exp(2j * np.pi * (hkl_f[sl] @ xyz.T))  # (chunk, sites)
            if np.any(b_site):
                phase = phase * np.exp(-np.outer(s2[sl], b_site))  # Debye–Waller per site
            f[sl] += fs[sl] * (phase @ occ)
    return f.real**2 + f.imag**2


def _laue_rotations(structure: Structure) -> np.ndarray:
    """Rotations (in reciprocal/Miller form) of the Laue group: shape (k, 3, 3) integer."""
    try:
        ops = SpacegroupAnalyzer(structure, symprec=SYMPREC_ANGSTROM).get_symmetry_operations(
            cartesian=False
        )
        rots = [np.round(op.rotation_matrix).astype(int) for op in ops]
    except Exception as exc:  # spglib failures on odd user cells: fall back to P-1
        log.warning("symmetry analysis failed (%s); using the triclinic Laue group", exc)
        rots = [np.eye(3, dtype=int)]
    rots += [-r for r in rots]
    uniq = np.unique(np.array(rots), axis=0)
    return uniq


def _checked_crystal_system(crystal_system: str, lattice: Lattice) -> str:
    """The crystal system if its standard setting reproduces ``lattice``'s metric, else triclinic.

    Non-standard settings (rhombohedral axes, monoclinic unique axis c …) keep all six
    parameters free so the metric, and so every d-spacing, is always right.
    """
    full = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), lattice.parameters, strict=True))
    try:
        trial = lattice_from_parameters(
            crystal_system, {k: full[k] for k in crystal_system_parameters(crystal_system)}
        )
    except InputError:
        return "triclinic"
    if np.allclose(_inverse_metric6(trial), _inverse_metric6(lattice), rtol=1e-6, atol=1e-9):
        return crystal_system
    return "triclinic"


def compute_reflections(
    structure: Structure,
    *,
    wavelength_angstrom: float,
    two_theta_max_deg: float,
    name: str = "phase",
    b_iso_by_element: dict[str, float] | None = None,
    crystal_system: str | None = None,
    anomalous: bool = True,
) -> ReflectionList:
    """Compute the reflection list of a structure once.

    Parameters
    ----------
    structure : pymatgen Structure
        The phase (disordered sites allowed: occupancies multiply the form factors).
    wavelength_angstrom : float
        Shortest wavelength the list must cover.
    two_theta_max_deg : float
        Highest angle the list must cover (a 5 % margin in d is added for lattice refinement).
    name : str
        Phase name stored in the list.
    b_iso_by_element : dict, optional
        Debye–Waller B (Å²) per element folded into |F|² for sites without their own
        ``b_iso_angstrom2`` (default: none; an overall B can be refined later without
        recomputing the list).
    crystal_system : str, optional
        Override the crystal system spglib finds (decides which lattice parameters refine).
    anomalous : bool
        Include f′ + i f″ at ``wavelength_angstrom`` (default).  Off only to compare with
        f0-only calculators such as pymatgen's ``XRDCalculator``.

    Returns
    -------
    ReflectionList

    Raises
    ------
    InputError
        For a non-positive wavelength or a 2θ limit outside (0, 180)°.
    PhaseError
        For elements without scattering factors.
    """
    if not (np.isfinite(wavelength_angstrom) and wavelength_angstrom > 0):
        raise InputError(f"wavelength_angstrom={wavelength_angstrom!r} must be > 0")
    if not 0 < two_theta_max_deg < 180:
        raise InputError(f"two_theta_max_deg={two_theta_max_deg!r} must lie in (0, 180)")
    b_iso = dict(b_iso_by_element or {})
    d_min = wavelength_angstrom / (2 * np.sin(np.radians(two_theta_max_deg) / 2)) / D_MIN_MARGIN
    recip = structure.lattice.reciprocal_lattice_crystallographic
    pts = recip.get_points_in_sphere([[0, 0, 0]], [0, 0, 0], 1.0 / d_min)
    hkl = np.round(np.array([p[0] for p in pts], dtype=float)).astype(int).reshape(-1, 3)
    hkl = hkl[np.any(hkl != 0, axis=1)]
    if hkl.size == 0:
        raise InputError(
            f"phase {name!r}: no reflection with d ≥ {d_min:.3f} Å (2θ ≤ {two_theta_max_deg}°)"
        )
    inv_d2 = _monomials(hkl) @ _inverse_metric6(structure.lattice)
    s2 = inv_d2 / 4.0  # (sinθ/λ)² = 1/(4d²)
    f2_all = _structure_factor_sq(structure, hkl, s2, b_iso,
                                  wavelength_angstrom if anomalous else None)

    # group into Laue families: canonical key = lexicographically largest member
    rots = _laue_rotations(structure)  # (k, 3, 3)
    orbit = np.einsum("nj,kji->nki", hkl, rots)  # h' = h·R, shape (n, k, 3)
    big = 4 * int(np.abs(orbit).max()) + 1
    codes = (orbit[..., 0] * big + orbit[..., 1]) * big + orbit[..., 2]  # (n, k)
    key = codes.max(axis=1)
    uniq_keys, family, counts = np.unique(key, return_inverse=True, return_counts=True)
    f2_fam = np.bincount(family, weights=f2_all) / counts
    # representative: the canonical member itself
    rep_idx = np.zeros(len(uniq_keys), dtype=int)
    rep_idx[family] = np.arange(len(hkl))  # any member …
    ident = int(np.nonzero((rots == np.eye(3, dtype=int)).all(axis=(1, 2)))[0][0])
    is_canon = key == codes[:, ident]
    rep_idx[family[is_canon]] = np.nonzero(is_canon)[0]  # … prefer the identity-canonical one
    keep = f2_fam * counts > ABSENT_F2_REL_TOL * np.max(f2_fam * counts)
    inv_d2_fam = inv_d2[rep_idx]
    order = np.argsort(inv_d2_fam[keep], kind="stable")
    fam_ids = np.nonzero(keep)[0][order]
    remap = -np.ones(len(uniq_keys), dtype=int)
    remap[fam_ids] = np.arange(len(fam_ids))
    member_mask = remap[family] >= 0
    cs = crystal_system or SpacegroupAnalyzer(structure, symprec=SYMPREC_ANGSTROM).get_crystal_system()
    cs = _checked_crystal_system(cs, structure.lattice)
    cell_mass = float(structure.composition.weight)
    log.debug("phase %s: %d families from %d hkl (Laue order %d)", name, len(fam_ids), len(hkl), len(rots))
    return ReflectionList(
        name=name,
        hkl=hkl[rep_idx[fam_ids]],
        multiplicity=counts[fam_ids].astype(int),
        f2=f2_fam[fam_ids],
        members_hkl=hkl[member_mask],
        member_family=remap[family[member_mask]],
        crystal_system=cs,
        lattice=structure.lattice,
        cell_mass_amu=cell_mass,
        volume_angstrom3=float(structure.lattice.volume),
        mass_attenuation_cm2_g=mass_attenuation(structure, wavelength_angstrom),
    )
