"""Free atomic coordinates of a structure under its space group, and moving atoms along them.

A site on a special position can move only along the directions its site-symmetry group leaves
invariant: displacements ``d`` (fractional) with ``R d = d`` for the rotation part ``R`` of every
space-group operation that maps the site onto itself (``R x + t ≡ x`` mod 1). For each orbit of
symmetry-equivalent sites, :func:`free_coordinates` finds that subspace from the operations spglib
gives for the structure's own cell (through pymatgen's :class:`SpacegroupAnalyzer`) and writes it
in a basis where each parameter is one fractional coordinate of a representative site: wurtzite
ZnO (P6₃mc, 2b at (⅓, ⅔, z)) → ``O z``; corundum (R-3c) → ``Al z`` (12c) and ``O x`` (18e);
brucite (P-3m1, 2d) → ``O z``; fluorite (Fm-3m, 4a and 8c) → none.

The moved structure (:meth:`CoordinateSpace.structure_at`) regenerates every equivalent site
from the moved representative with the operation that produced it, so the space group is kept,
and keeps the site properties (the CIF's ``b_iso_angstrom2``) and labels.

Two kinds of direction are never free:

* **the polar origin**: in a polar space group (P6₃mc, P1, Cm …) a shift of every atom along a
  polar direction (one every rotation leaves fixed) changes no intensity; that coordinate of the
  heaviest atom is held (Zn z in ZnO), as in any Rietveld program;
* **hydrogen** (``XRAY_INVISIBLE``): one electron, spread by bonding, against 8–30 on the other
  atoms; X-ray powder data do not locate it, so its CIF position is kept.

:func:`reflections_at` recomputes a phase's |F|² for moved atoms with
:func:`xrdkit.reflections.compute_reflections` (f0 + f′ + i f″ at the same wavelength, per-site B
from the site properties) and puts the values on the original list's families, in its order, so a
refinement can be warm-started from a fit with the original list.

:func:`refine_coordinates` minimises a refinement's χ² over one phase's free coordinates as an
outer loop around :func:`xrdkit.refine.refine` (the inner fit is unchanged): at each centre a
finite-difference stencil (``±h`` along each coordinate, plus one point per pair) gives the
gradient and curvature of χ², a Newton step (at most ``MAX_STEP_ANGSTROM``, inside ±``BOUND_FRACTIONAL``
of the CIF's value) is taken when it lowers χ², and the loop stops when the step is shorter than
``CONVERGED_SIGMA`` σ. Each inner fit is warm-started from the centre's (≈ 15 ms on CPD sample 2).
The σ of the coordinates is ``√diag(2 H⁻¹ · χ²_ν γ)`` with H the χ² curvature at the minimum and
γ the Bérar–Lelann factor, the same scaling :func:`~xrdkit.refine.refine` gives its covariance;
the slopes of every weight fraction and lattice parameter along the coordinates come from the
same stencil, so their σ's can carry the coordinates' uncertainty
(``Var x = Var(x | coordinates) + sᵀ C s``, exact for a Gaussian χ²).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from pymatgen.core import Element, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit.errors import ClosokitError, InputError
from xrdkit.refine import RefinementResult, refine
from xrdkit.reflections import ReflectionList, compute_reflections
from xrdkit.session import FitSession, default_session

__all__ = ["CoordinateFit", "CoordinateSpace", "FreeCoordinate", "free_coordinates", "matches", "reflections_at",
           "refine_coordinates", "XRAY_INVISIBLE"]

log = logging.getLogger(__name__)

#: Symmetry tolerance (Å) for spglib and for deciding that an operation fixes a site (the value
#: xrdkit.reflections uses for the Laue group).
SYMPREC_ANGSTROM = 0.01
#: Elements whose coordinates X-ray powder data do not determine (kept at the CIF's values).
XRAY_INVISIBLE = frozenset({"H"})
#: Reflection lists whose |F|² agree to this relative tolerance were computed from the same
#: structure (the check that a list and the structure given for it belong together).
F2_MATCH_REL_TOL = 1e-6
#: Largest 2θ (deg) asked of compute_reflections when a list reaches d < λ/2 (its 5 % margin).
TWO_THETA_CAP_DEG = 179.9
_AXES = "xyz"
#: Largest denominator of a rational entry of a symmetry constraint (rotations are integer
#: matrices; polar directions have entries such as ½).
RATIONAL_MAX_DENOMINATOR = 48
#: Finite-difference step (Å) along each free coordinate: large enough that Δχ² stands well
#: above the inner fit's convergence noise (parameters within 0.1σ: χ² within ≈ 1), small enough
#: for χ² to stay quadratic (ZnO O z on CPD sample 2: Δχ² ≈ 60 at 0.03 Å, the minimum 0.2 Å away).
FD_STEP_ANGSTROM = 0.03
#: Longest Newton step (Å) per iteration (trust region).
MAX_STEP_ANGSTROM = 0.15
#: Coordinates stay within ± this (fractional) of the CIF's values.
BOUND_FRACTIONAL = 0.05
#: Newton iterations per phase.
MAX_NEWTON_STEPS = 6
#: Converged when every Newton step is shorter than this many σ of its coordinate.
CONVERGED_SIGMA = 0.1
#: Step halvings tried when a Newton step raises χ².
MAX_HALVINGS = 3


@dataclass(frozen=True)
class FreeCoordinate:
    """One symmetry-allowed coordinate of one orbit of equivalent sites.

    Attributes
    ----------
    site_label : str
        Label of the representative site (the CIF's ``_atom_site_label``).
    species : str
        Its species (``"O"``, ``"Zn"`` … or a disordered mixture).
    axis : str
        ``"x"``, ``"y"`` or ``"z"``: the representative's fractional coordinate that is the
        parameter (other coordinates may follow it, e.g. ``(x, 2x, z)``).
    direction : tuple of float
        Fractional displacement of the representative per unit change of the parameter (its
        ``axis`` component is 1).
    representative : int
        Index of the representative site in the structure.
    orbit : tuple of int
        Indices of all sites of the orbit.
    reference : float
        The parameter's value in the given structure (the CIF's).
    angstrom_per_unit : float
        Distance (Å) the representative moves per unit change of the parameter.

    Examples
    --------
    Brucite's one free coordinate: O on 2d (⅓, ⅔, z) moves along c (c = 4.77 Å):

    >>> from xrdkit.coordinates import free_coordinates
    >>> from xrdkit.phases import PhaseLibrary
    >>> brucite = PhaseLibrary().get("brucite").structure       # Mg(OH)2, P-3m1
    >>> o_z = free_coordinates(brucite).free[0]
    >>> o_z.name, o_z.direction, o_z.reference, o_z.angstrom_per_unit, len(o_z.orbit)
    ('O1 z', (0.0, 0.0, 1.0), 0.2203, 4.7702, 2)
    """

    site_label: str
    species: str
    axis: str
    direction: tuple[float, float, float]
    representative: int
    orbit: tuple[int, ...]
    reference: float
    angstrom_per_unit: float

    @property
    def name(self) -> str:
        """``"<label> <axis>"``, e.g. ``"O1 z"``."""
        return f"{self.site_label} {self.axis}"


@dataclass(frozen=True, eq=False)
class CoordinateSpace:
    """The free coordinates of a structure and how to move its atoms along them.

    Attributes
    ----------
    structure : Structure
        The reference structure (parameters all at their ``reference`` values).
    free : tuple of FreeCoordinate
        One per free coordinate (H excluded by default: X-rays do not locate it).
    space_group : str
        Hermann–Mauguin symbol spglib found.

    Examples
    --------
    Moving brucite's O by Δz = 0.01 moves both O of the orbit (z and −z) and keeps P-3m1:

    >>> from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
    >>> from xrdkit.coordinates import free_coordinates
    >>> from xrdkit.phases import PhaseLibrary
    >>> brucite = PhaseLibrary().get("brucite").structure       # Mg(OH)2, P-3m1
    >>> space = free_coordinates(brucite)
    >>> space.space_group, space.names, space.reference_values().tolist()
    ('P-3m1', ('O1 z',), [0.2203])
    >>> moved = space.structure_at([0.01])
    >>> sorted(round(float(site.frac_coords[2]), 4) for site in moved if site.specie.symbol == "O")
    [0.2303, 0.7697]
    >>> SpacegroupAnalyzer(moved, symprec=1e-3).get_space_group_symbol()
    'P-3m1'
    """

    structure: Structure
    free: tuple[FreeCoordinate, ...]
    space_group: str
    #: Per site: (representative index, R (3, 3), t (3)) with site = R · representative + t, for
    #: the sites of orbits that have a free coordinate; None for sites that never move.
    _images: tuple[tuple[int, np.ndarray, np.ndarray] | None, ...] = ()

    @property
    def n_free(self) -> int:
        """Number of free coordinates."""
        return len(self.free)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the free coordinates (``"O z"`` …)."""
        return tuple(c.name for c in self.free)

    def reference_values(self) -> np.ndarray:
        """The free coordinates' values in :attr:`structure`."""
        return np.array([c.reference for c in self.free], dtype=float)

    def structure_at(self, shifts: Sequence[float]) -> Structure:
        """The structure with every free coordinate moved by ``shifts`` (fractional, in the
        order of :attr:`free`), equivalent sites regenerated so the space group is kept.

        Raises
        ------
        InputError
            Wrong number of shifts or a non-finite shift.
        """
        d = np.asarray(shifts, dtype=float).reshape(-1)
        if d.shape != (self.n_free,) or not np.all(np.isfinite(d)):
            raise InputError(f"need {self.n_free} finite coordinate shifts, got {shifts!r}")
        moved_rep: dict[int, np.ndarray] = {}
        for c, s in zip(self.free, d, strict=True):
            base = moved_rep.get(c.representative, self.structure[c.representative].frac_coords.copy())
            moved_rep[c.representative] = base + s * np.asarray(c.direction)
        coords = []
        for i, site in enumerate(self.structure):
            img = self._images[i] if self._images else None
            if img is None or img[0] not in moved_rep:
                coords.append(site.frac_coords)
            else:
                rep, rot, trans = img
                coords.append(rot @ moved_rep[rep] + trans)
        return Structure(
            self.structure.lattice, [site.species for site in self.structure], coords,
            site_properties=self.structure.site_properties or None,
            labels=[site.label for site in self.structure],
        )


def _null_space(rows: list[np.ndarray]) -> list[np.ndarray]:
    """Exact basis of {d : rows · d = 0} (rational rows), each vector's parameter its earliest free axis.

    Reduced row echelon form in rational arithmetic over the columns in reverse order (z, y, x):
    the free variables are then the earliest axes, so (x, 2x, z) has parameters x and z. Each
    basis vector is 1 at its own free axis and 0 at the others.
    """
    if not rows:
        return [np.eye(3)[i] for i in range(3)]
    uniq = np.unique(np.round(np.vstack(rows), 9), axis=0)  # the same rows from many operations
    mat = [[Fraction(float(v)).limit_denominator(RATIONAL_MAX_DENOMINATOR) for v in row[::-1]] for row in uniq]
    pivots: list[int] = []
    r = 0
    for c in range(3):
        piv = next((i for i in range(r, len(mat)) if mat[i][c] != 0), None)
        if piv is None:
            continue
        mat[r], mat[piv] = mat[piv], mat[r]
        lead = mat[r][c]
        mat[r] = [v / lead for v in mat[r]]
        for i in range(len(mat)):
            if i != r and mat[i][c] != 0:
                f = mat[i][c]
                mat[i] = [a - f * b for a, b in zip(mat[i], mat[r], strict=True)]
        pivots.append(c)
        r += 1
    basis = []
    for free in (c for c in range(3) if c not in pivots):
        vec = [Fraction(0)] * 3
        vec[free] = Fraction(1)
        for row, c in enumerate(pivots):
            vec[c] = -mat[row][free]
        basis.append(np.array([float(v) for v in vec[::-1]]))
    return sorted(basis, key=lambda v: int(np.flatnonzero(np.abs(v) > 1e-9)[0]))


def _cartesian_norm(lattice, frac: np.ndarray) -> np.ndarray:
    """Length (Å) of fractional vectors (last axis)."""
    return np.linalg.norm(frac @ lattice.matrix, axis=-1)


def free_coordinates(
    structure: Structure, *, symprec: float = SYMPREC_ANGSTROM, exclude: frozenset[str] = XRAY_INVISIBLE,
    session: FitSession | None = None,
) -> CoordinateSpace:
    """The symmetry-allowed free coordinates of ``structure`` (see the module docstring).

    Kept in the session's ``spaces`` by the structure's contents (lattice, species, coordinates,
    site properties, labels): a series of fits with the same phases analyses each structure once.

    Parameters
    ----------
    structure : Structure
        Full cell (all equivalent sites), as :func:`xrdkit.phases.read_cif` gives.
    symprec : float
        spglib tolerance (Å).
    exclude : set of str
        Elements whose coordinates stay fixed (default: hydrogen).
    session : FitSession, optional
        Where the analysis is kept (default: the process's
        :func:`~xrdkit.session.default_session`).

    Returns
    -------
    CoordinateSpace
        No free coordinates when spglib fails (logged) or the structure has none.

    Examples
    --------
    Brucite (P-3m1): O z only (Mg sits on 1a; H is excluded); fcc Al: none:

    >>> from xrdkit.coordinates import free_coordinates
    >>> from xrdkit.phases import PhaseLibrary
    >>> brucite = PhaseLibrary().get("brucite").structure       # Mg(OH)2, P-3m1
    >>> free_coordinates(brucite).names
    ('O1 z',)
    >>> sorted(free_coordinates(brucite, exclude=frozenset()).names)    # H z too
    ['H1 z', 'O1 z']
    >>> free_coordinates(PhaseLibrary().get("al").structure).n_free
    0
    """
    key = (structure.lattice.matrix.tobytes(), tuple(site.species_string for site in structure),
           structure.frac_coords.tobytes(), repr(sorted(structure.site_properties.items())),
           tuple(site.label for site in structure), float(symprec), tuple(sorted(exclude)))
    spaces = (session if session is not None else default_session()).spaces
    space = spaces.get(key)
    if space is None:
        space = _free_coordinates(structure.copy(), symprec, exclude)  # a copy: the caller may edit theirs
        spaces.put(key, space)
    return space


def _free_coordinates(structure: Structure, symprec: float, exclude: frozenset[str]) -> CoordinateSpace:
    try:
        sga = SpacegroupAnalyzer(structure, symprec=symprec)
        ops = sga.get_symmetry_operations(cartesian=False)
        sym = sga.get_symmetrized_structure()
        symbol = sga.get_space_group_symbol()
    except Exception as exc:  # spglib on odd input: refine nothing rather than something wrong
        log.warning("symmetry analysis failed (%s); no coordinates will be refined", exc)
        return CoordinateSpace(structure, (), "?", ())
    rots = np.array([np.round(op.rotation_matrix) for op in ops])  # (k, 3, 3), integer-valued
    trans = np.array([op.translation_vector for op in ops], dtype=float)  # (k, 3)
    eye = np.eye(3)
    lattice = structure.lattice
    # polar directions: left fixed by every rotation; a shift of all atoms along them is free
    polar = _null_space(list(rots - eye))
    orbits = [tuple(int(i) for i in idx) for idx in sym.equivalent_indices]

    def weight(orbit: tuple[int, ...]) -> float:
        return max(Element(sp.symbol).Z for sp in structure[orbit[0]].species)

    origin_orbit = max(range(len(orbits)), key=lambda k: (weight(orbits[k]), -len(orbits[k]), -k)) if polar else -1
    free: list[FreeCoordinate] = []
    images: list[tuple[int, np.ndarray, np.ndarray] | None] = [None] * len(structure)
    used_names: set[str] = set()
    for k, orbit in enumerate(orbits):
        rep = orbit[0]
        site = structure[rep]
        if any(sp.symbol in exclude for sp in site.species):
            continue
        x = site.frac_coords
        made = np.einsum("kij,j->ki", rots, x) + trans  # every operation applied to the representative
        off = made - x
        fixes = _cartesian_norm(lattice, off - np.round(off)) < symprec  # the site-symmetry group
        constraints = list(rots[fixes] - eye)
        if k == origin_orbit:
            constraints += [v.reshape(1, 3) for v in polar]  # hold the polar origin on this orbit
        basis = _null_space(constraints)
        if not basis:
            continue
        # every site of the orbit: an operation (and lattice translation) that makes it from rep
        xs = structure.frac_coords[list(orbit)]  # (m, 3)
        diff = made[None, :, :] - xs[:, None, :]  # (m, k, 3)
        shift = -np.round(diff)
        hit = _cartesian_norm(lattice, diff + shift) < symprec  # (m, k)
        if not hit.any(axis=1).all():  # cannot happen for a symmetrised orbit: hold it rather than break symmetry
            log.warning("orbit of site %s not generated from its representative; held", site.label)
            continue
        first = hit.argmax(axis=1)
        for row, j in enumerate(orbit):
            op = int(first[row])
            images[j] = (rep, rots[op], trans[op] + shift[row, op])
        label = str(site.label) if site.label else site.species_string
        for vec in basis:
            axis_i = int(np.flatnonzero(np.abs(vec) > 1e-9)[0])  # the parameter: first free axis (= 1)
            if f"{label} {_AXES[axis_i]}" in used_names:  # unlabelled CIF: two orbits of one element
                label = f"{label}_{rep}"
            used_names.add(f"{label} {_AXES[axis_i]}")
            free.append(FreeCoordinate(
                site_label=label, species=site.species_string, axis=_AXES[axis_i],
                direction=tuple(float(v) for v in vec), representative=rep, orbit=orbit,
                reference=float(x[axis_i]),
                angstrom_per_unit=float(np.linalg.norm(lattice.get_cartesian_coords(vec))),
            ))
    log.debug("%s (%s): free coordinates %s", structure.composition.reduced_formula, symbol,
              [c.name for c in free])
    return CoordinateSpace(structure, tuple(free), symbol, tuple(images))


def reflections_at(refl: ReflectionList, structure: Structure, wavelength_angstrom: float) -> ReflectionList:
    """``refl`` with the |F|² of ``structure`` (same families, same order, same cell mass).

    The list is recomputed with :func:`~xrdkit.reflections.compute_reflections` at the same
    wavelength and crystal system, down to the smallest d of ``refl``; each of ``refl``'s
    families takes the new |F|² of the family its representative belongs to (0 if that family
    has become absent). Families that appear only in the new list are not added: the moves
    :func:`free_coordinates` allows keep the space group, so its absences.

    Parameters
    ----------
    refl : ReflectionList
        The list computed from the reference structure.
    structure : Structure
        The same phase with atoms moved (same lattice).
    wavelength_angstrom : float
        The wavelength ``refl`` was computed at (the instrument's shortest).

    Returns
    -------
    ReflectionList
        ``refl`` with the new |F|² (same hkl, multiplicities and order).

    Examples
    --------
    Moving brucite's O along c changes the (001) intensity but not (100): reflections with
    l = 0 do not see z:

    >>> from xrdkit.coordinates import reflections_at
    >>> from xrdkit.reflections import compute_reflections
    >>> from xrdkit.coordinates import free_coordinates
    >>> from xrdkit.phases import PhaseLibrary
    >>> brucite = PhaseLibrary().get("brucite").structure       # Mg(OH)2, P-3m1
    >>> refl = compute_reflections(brucite, wavelength_angstrom=1.5406, two_theta_max_deg=60.0,
    ...                            name="brucite")
    >>> moved = reflections_at(refl, free_coordinates(brucite).structure_at([0.01]), 1.5406)
    >>> refl.hkl[:2].tolist(), bool((moved.hkl == refl.hkl).all())
    ([[0, 0, 1], [1, 0, 0]], True)
    >>> (moved.f2[:2] / refl.f2[:2]).round(3).tolist()               # (001) weaker, (100) unchanged
    [0.855, 1.0]
    """
    d_min = float(np.min(refl.d_spacing_angstrom()))
    ratio = wavelength_angstrom / (2.0 * d_min)
    two_theta_max = TWO_THETA_CAP_DEG if ratio >= 1.0 else min(TWO_THETA_CAP_DEG, 2.0 * math.degrees(math.asin(ratio)))
    new = compute_reflections(structure, wavelength_angstrom=wavelength_angstrom, two_theta_max_deg=two_theta_max,
                              name=refl.name, crystal_system=refl.crystal_system)
    lookup = {tuple(int(v) for v in h): float(new.f2[f]) for h, f in zip(new.members_hkl, new.member_family, strict=True)}
    f2 = np.array([lookup.get(tuple(int(v) for v in h), 0.0) for h in refl.hkl])
    return refl.with_intensities(f2)


def matches(refl: ReflectionList, structure: Structure, wavelength_angstrom: float) -> bool:
    """Whether ``refl``'s |F|² are those of ``structure`` at ``wavelength_angstrom`` (the list
    was computed from this structure with the default options).

    Parameters
    ----------
    refl : ReflectionList
        A phase's reflection list.
    structure : Structure
        The structure it should have been computed from.
    wavelength_angstrom : float
        The wavelength it was computed at, Å.

    Returns
    -------
    bool
        True when recomputing the list from ``structure`` gives the same |F|² (relative
        tolerance :data:`F2_MATCH_REL_TOL`); False otherwise or when it cannot be recomputed.

    Examples
    --------
    >>> from xrdkit.coordinates import matches
    >>> from xrdkit.reflections import compute_reflections
    >>> from xrdkit.coordinates import free_coordinates
    >>> from xrdkit.phases import PhaseLibrary
    >>> brucite = PhaseLibrary().get("brucite").structure       # Mg(OH)2, P-3m1
    >>> refl = compute_reflections(brucite, wavelength_angstrom=1.5406, two_theta_max_deg=60.0,
    ...                            name="brucite")
    >>> matches(refl, brucite, 1.5406), matches(refl, free_coordinates(brucite).structure_at([0.01]), 1.5406)
    (True, False)
    """
    try:
        again = reflections_at(refl, structure, wavelength_angstrom)
    except Exception as exc:  # any failure means: not usable for coordinate refinement
        log.info("%s: cannot recompute the reflection list (%s)", refl.name, exc)
        return False
    scale = float(np.max(np.abs(refl.f2))) if refl.n else 1.0
    return bool(np.allclose(again.f2, refl.f2, rtol=F2_MATCH_REL_TOL, atol=F2_MATCH_REL_TOL * scale))


@dataclass(frozen=True)
class CoordinateFit:
    """The outcome of :func:`refine_coordinates` for one phase.

    Attributes
    ----------
    phase : str
        The phase's name.
    names : tuple of str
        Free coordinates (``"O z"`` …).
    reference : ndarray
        Their values in the CIF (fractional).
    values : ndarray
        Values at the χ² minimum found (fractional).
    covariance : ndarray (k, k)
        Covariance (fractional²) from the χ² curvature, scaled by χ²_ν γ; NaN if the curvature
        is not positive definite.
    chi2_reference, chi2 : float
        χ² with the CIF's coordinates and at ``values``.
    at_bound : bool
        A coordinate ended on its ±``BOUND_FRACTIONAL`` bound.
    n_evaluations : int
        Inner refinements run.
    weight_fraction_slope : dict
        Phase name → d(weight fraction)/d(coordinate) (per fractional unit), one per coordinate.
    lattice_slope : dict
        Phase name → {parameter: slopes per coordinate}.
    accepted : bool
        Set by the caller (:func:`xrdkit.qpa.quantify`): the refined values are used.
    reason : str
        Why they were (not) used.

    Examples
    --------
    Returned by :func:`refine_coordinates` (which shows a real one); by hand, one coordinate
    that lowered χ² by 160 with σ = 0.0005:

    >>> import numpy as np
    >>> from xrdkit.coordinates import CoordinateFit
    >>> fit = CoordinateFit("nacro2", ("O2 z",), np.array([0.2672]), np.array([0.2687]),
    ...                     np.array([[0.0005 ** 2]]), chi2_reference=5160.0, chi2=5000.0,
    ...                     at_bound=False, n_evaluations=5, weight_fraction_slope={},
    ...                     lattice_slope={})
    >>> fit.delta_chi2, fit.sigma.round(4).tolist()
    (160.0, [0.0005])
    >>> fit.to_dict()["sites"][0]["value"]           # not accepted: the fit used the CIF's value
    0.2672
    """

    phase: str
    names: tuple[str, ...]
    reference: np.ndarray
    values: np.ndarray
    covariance: np.ndarray
    chi2_reference: float
    chi2: float
    at_bound: bool
    n_evaluations: int
    weight_fraction_slope: dict[str, np.ndarray]
    lattice_slope: dict[str, dict[str, np.ndarray]]
    accepted: bool = False
    reason: str = ""

    @property
    def delta_chi2(self) -> float:
        """χ² with the CIF's coordinates minus χ² at the refined ones (> 0: refined fit better)."""
        return self.chi2_reference - self.chi2

    @property
    def sigma(self) -> np.ndarray:
        """σ of each coordinate (fractional; NaN where not determined)."""
        return np.sqrt(np.diag(self.covariance))

    def to_dict(self) -> dict:
        """JSON-ready record (the ``coordinates`` entry of a phase in ``xrdkit fit --json``).

        Per site: ``value`` / ``sigma`` are what the fit used (the CIF's value and None when the
        refined one was not kept), ``refined_value`` / ``refined_sigma`` the χ² minimum found.
        """
        return {
            "refined": self.accepted,
            "reason": self.reason,
            "delta_chi2": self.delta_chi2,
            "n_evaluations": self.n_evaluations,
            "sites": [
                {"name": n, "cif": float(r), "value": float(v if self.accepted else r),
                 "sigma": float(s) if self.accepted and math.isfinite(s) else None,
                 "refined_value": float(v), "refined_sigma": float(s) if math.isfinite(s) else None}
                for n, r, v, s in zip(self.names, self.reference, self.values, self.sigma, strict=True)
            ],
        }


def _wf(res: RefinementResult) -> dict[str, float]:
    return {p.name: float(p.weight_fraction) for p in res.phases if p.weight_fraction is not None}


def _lat(res: RefinementResult) -> dict[str, dict[str, float]]:
    return {p.name: dict(p.lattice) for p in res.phases}


def refine_coordinates(
    scan,
    refls: Sequence[ReflectionList],
    index: int,
    space: CoordinateSpace,
    base: RefinementResult,
    *,
    wavelength_angstrom: float,
    refine_kwargs: dict,
) -> tuple[CoordinateFit, RefinementResult, ReflectionList]:
    """Minimise χ² over the free coordinates of phase ``index`` (see the module docstring).

    Parameters
    ----------
    scan : Scan
        The pattern.
    refls : sequence of ReflectionList
        All phases; ``refls[index]`` was computed from ``space.structure``.
    index : int
        The phase whose coordinates move.
    space : CoordinateSpace
        Its free coordinates (at least one).
    base : RefinementResult
        The fit with the CIF's coordinates (the first warm start; its χ² is the reference).
    wavelength_angstrom : float
        The wavelength the lists were computed at.
    refine_kwargs : dict
        Keyword arguments of every inner :func:`~xrdkit.refine.refine` call (``instrument``,
        ``options``, ``session`` …; ``start`` is set here).

    Returns
    -------
    fit : CoordinateFit
        ``accepted`` False: the caller decides.
    result : RefinementResult
        The inner fit at ``fit.values`` (``base`` if nothing better was found).
    reflections : ReflectionList
        ``refls[index]`` with the |F|² at ``fit.values``.

    Examples
    --------
    The O z of NaCrO2 (R-3m, O on 6c) in a bundled electrode scan (constructed data); the
    caller (:func:`xrdkit.qpa.quantify`) decides whether to keep it:

    >>> from xrdkit.coordinates import free_coordinates, refine_coordinates
    >>> from xrdkit.data import example_file
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.phases import PhaseLibrary
    >>> from xrdkit.readers import read_scan
    >>> from xrdkit.refine import refine
    >>> from xrdkit.simulate import resolve_phases
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    >>> inst, library = load_instrument("miniflex600-cuka"), PhaseLibrary()
    >>> refls = resolve_phases(["nacro2", "al", "nbh-fcc"], inst, 60.0, library=library)
    >>> base = refine(scan, refls, instrument=inst)
    >>> space = free_coordinates(library.get("nacro2").structure)
    >>> fit, result, moved = refine_coordinates(scan, refls, 0, space, base, wavelength_angstrom=1.540593,
    ...                                         refine_kwargs={"instrument": inst})
    >>> fit.names, round(float(fit.reference[0]), 4), fit.at_bound, fit.accepted
    (('O2 z',), 0.2672, False, False)
    >>> bool(abs(fit.values[0] - fit.reference[0]) < 0.005), fit.delta_chi2 >= 0, result.chi2 <= base.chi2
    (True, True, True)
    """
    k = space.n_free
    apu = np.array([c.angstrom_per_unit for c in space.free])  # Å per fractional unit
    bound = BOUND_FRACTIONAL * apu  # in Å
    cache: dict[tuple[float, ...], tuple[RefinementResult | None, ReflectionList | None]] = {}
    zero = tuple([0.0] * k)
    cache[zero] = (base, refls[index])
    n_eval = 0

    def evaluate(p: np.ndarray, start: RefinementResult) -> tuple[RefinementResult | None, ReflectionList | None]:
        nonlocal n_eval
        key = tuple(np.round(p, 9).tolist())
        if key not in cache:
            n_eval += 1
            try:
                rl = reflections_at(refls[index], space.structure_at(p / apu), wavelength_angstrom)
                trial = list(refls)
                trial[index] = rl
                cache[key] = (refine(scan, trial, start=start.warm_start(), **refine_kwargs), rl)
            except ClosokitError as exc:
                log.info("%s: coordinates %s: inner fit failed (%s)", refls[index].name, p / apu, exc)
                cache[key] = (None, None)
        return cache[key]

    def chi2(res: RefinementResult | None) -> float:
        return math.inf if res is None else float(res.chi2)

    h = FD_STEP_ANGSTROM
    eye = np.eye(k)
    p = np.zeros(k)
    centre = base
    hess = np.full((k, k), np.nan)
    stencil: dict[str, list[RefinementResult | None]] = {}
    for iteration in range(MAX_NEWTON_STEPS + 1):
        f0 = chi2(centre)
        plus = [evaluate(p + h * eye[i], centre)[0] for i in range(k)]
        minus = [evaluate(p - h * eye[i], centre)[0] for i in range(k)]
        stencil = {"plus": plus, "minus": minus}
        fp = np.array([chi2(r) for r in plus])
        fm = np.array([chi2(r) for r in minus])
        if not (np.all(np.isfinite(fp)) and np.all(np.isfinite(fm))):
            hess[:] = np.nan
            break
        grad = (fp - fm) / (2 * h)
        hess = np.diag((fp - 2 * f0 + fm) / h**2)
        for i in range(k):
            for j in range(i + 1, k):
                fij = chi2(evaluate(p + h * (eye[i] + eye[j]), centre)[0])
                hess[i, j] = hess[j, i] = (fij - fp[i] - fp[j] + f0) / h**2
        if iteration == MAX_NEWTON_STEPS:
            break
        try:
            np.linalg.cholesky(hess)
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # not convex here: go to the best stencil point, if better
            cand = [(fp[i], h * eye[i]) for i in range(k)] + [(fm[i], -h * eye[i]) for i in range(k)]
            best_f, best_step = min(cand, key=lambda c: c[0])
            step = best_step if best_f < f0 else np.zeros(k)
        longest = float(np.max(np.abs(step))) if k else 0.0
        if longest > MAX_STEP_ANGSTROM:
            step *= MAX_STEP_ANGSTROM / longest
        step = np.clip(p + step, -bound, bound) - p
        sig = _sigma(hess, centre)
        if np.all(np.abs(step) <= CONVERGED_SIGMA * np.where(np.isfinite(sig), sig, 0.0)) or not np.any(step):
            break
        for _ in range(MAX_HALVINGS + 1):
            res, _rl = evaluate(p + step, centre)
            if chi2(res) < f0:
                p, centre = p + step, res
                break
            step = step / 2.0
        else:
            break  # no step lowers χ²: the centre is the minimum within the stencil's resolution
    cov = _covariance(hess, centre) / np.outer(apu, apu)
    wf_slope: dict[str, np.ndarray] = {}
    lat_slope: dict[str, dict[str, np.ndarray]] = {}
    plus, minus = stencil.get("plus", []), stencil.get("minus", [])
    if plus and all(r is not None for r in plus + minus):
        for name in _wf(centre):
            wf_slope[name] = np.array([(_wf(a)[name] - _wf(b)[name]) / (2 * h) for a, b in zip(plus, minus, strict=True)]) * apu
        for name, lat in _lat(centre).items():
            lat_slope[name] = {
                key: np.array([(_lat(a)[name][key] - _lat(b)[name][key]) / (2 * h) for a, b in zip(plus, minus, strict=True)]) * apu
                for key in lat
            }
    ref = space.reference_values()
    fit = CoordinateFit(
        phase=refls[index].name, names=space.names, reference=ref, values=ref + p / apu,
        covariance=cov, chi2_reference=float(base.chi2), chi2=float(centre.chi2),
        at_bound=bool(np.any(np.abs(p) >= bound * (1 - 1e-9))), n_evaluations=n_eval,
        weight_fraction_slope=wf_slope, lattice_slope=lat_slope,
    )
    key = tuple(np.round(p, 9).tolist())
    return fit, centre, cache[key][1] if key in cache else refls[index]


def _covariance(hess: np.ndarray, res: RefinementResult) -> np.ndarray:
    """``2 H⁻¹ χ²_ν γ`` (in the units of ``hess``); NaN where H is not positive definite."""
    if np.all(np.isfinite(hess)):
        try:
            np.linalg.cholesky(hess)
            return 2.0 * np.linalg.inv(hess) * float(res.redchi) * float(res.serial_correlation_factor)
        except np.linalg.LinAlgError:
            pass
    return np.full(hess.shape, np.nan)


def _sigma(hess: np.ndarray, res: RefinementResult) -> np.ndarray:
    """σ (in the units of ``hess``); NaN where H is not positive definite."""
    return np.sqrt(np.diag(_covariance(hess, res)))
