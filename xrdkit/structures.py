"""Closo-borate anion geometries and constructed crystal-structure models.

The fcc Na4(B12H12)(B10H10) ("NBH") solid electrolyte has no published full
structure: its anion lattice is fcc (a = 10.029 Å) and it was refined with the
model of high-temperature Na2B10H10 (Fm-3m).  :func:`build_nbh_fcc` builds that
model explicitly so it can be simulated: both anions on the 4a sites (random,
``b12_fraction`` : 1 - ``b12_fraction``), each orientationally disordered by
averaging an ideal cage over the 48 operations of the cubic point group m-3m,
and Na distributed over the 8c / 4b / 24d sites with partial occupancies.  The
same machinery builds the high-temperature phases of Na2B10H10 (fcc) and
Na2B12H12 (bcc).

Every model here is **constructed** (ideal geometry + literature cell and site
occupancies), not a refined structure; the provenance strings say so.

References
----------
.. [1] R. Duchêne et al., Chem. Commun. 53 (2017) 4195, doi:10.1039/C7CC00794A
   (NBH, fcc, a = 10.029 Å).
.. [2] T. J. Udovic et al., Adv. Mater. 26 (2014) 7622, doi:10.1002/adma.201403157
   (Na2B10H10, Fm-3m, a = 9.8426 Å at 410 K; Na on 8c/4b/24d).
.. [3] N. Verdal et al., J. Solid State Chem. 212 (2014) 81,
   doi:10.1016/j.jssc.2014.01.006 (Na2B12H12, Im-3m above 529 K).
.. [4] I. Tiritiris, T. Schleid, Z. Anorg. Allg. Chem. 629 (2003) 1390,
   doi:10.1002/zaac.200300066 (Cs2B12H12: B-B ≈ 1.78 Å, B-H ≈ 1.12 Å).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Lattice, Structure

from xrdkit.errors import InputError

__all__ = [
    "AnionGeometry",
    "b12h12_icosahedron",
    "b10h10_bicapped_antiprism",
    "cubic_point_group_rotations",
    "orientation_average",
    "build_nbh_fcc",
    "build_na2b10h10_ht",
    "build_na2b12h12_ht",
    "NBH_A_ANGSTROM",
    "NA2B10H10_HT_A_ANGSTROM",
    "NA2B12H12_HT_A_ANGSTROM",
    "FCC_NA_OCCUPANCY",
]

#: Lattice constant of fcc NBH at room temperature (Duchêne et al. 2017).
NBH_A_ANGSTROM = 10.029
#: Na2B10H10 high-temperature fcc phase at 410 K (Udovic et al. 2014).
NA2B10H10_HT_A_ANGSTROM = 9.8426
#: Na2B12H12 high-temperature bcc phase near 553 K (Verdal et al. 2014; FACTS.md: 8.06-8.1 Å).
NA2B12H12_HT_A_ANGSTROM = 8.1
#: Na occupancies on 8c (¼,¼,¼), 4b (½,½,½) and 24d (0,¼,¼) of high-T Na2B10H10 (Udovic 2014).
FCC_NA_OCCUPANCY = (0.58, 0.28, 0.09)
#: Na on 24g (x, 0, ½) of bcc Na2B12H12 (Verdal 2014), x and occupancy.
BCC_NA_24G_X = 0.33
BCC_NA_24G_OCCUPANCY = 1.0 / 6.0

#: Positions closer than this (Å) are merged when a cage is symmetry-averaged.
MERGE_TOL_ANGSTROM = 1e-3

_B12_PROVENANCE = (
    "constructed: ideal icosahedron (Ih) with B-B = {bb:.3f} Å and radial B-H = {bh:.3f} Å; "
    "default distances from Cs2B12H12 (Tiritiris & Schleid, Z. Anorg. Allg. Chem. 629 (2003) "
    "1390, doi:10.1002/zaac.200300066)"
)
_B10_PROVENANCE = (
    "constructed: ideal bicapped square antiprism (D4d) with apex-ring = {ar:.3f} Å, in-ring = "
    "{ir:.3f} Å, ring-ring = {rr:.3f} Å and radial B-H = {bh:.3f} Å; the default B-B distances "
    "are [unverified] literature values (FACTS.md), not checked against a primary structure"
)


@dataclass(frozen=True)
class AnionGeometry:
    """Cartesian coordinates of one closo-borate anion centred at the origin.

    Attributes
    ----------
    name
        ``"B12H12"`` or ``"B10H10"``.
    boron_xyz_angstrom
        Boron positions, shape ``(n, 3)``, Å.
    hydrogen_xyz_angstrom
        Hydrogen positions, shape ``(n, 3)``, Å; ``hydrogen[i]`` is bonded to ``boron[i]``.
    provenance
        How the geometry was made and where its distances come from.

    Examples
    --------
    Built by :func:`b12h12_icosahedron` and :func:`b10h10_bicapped_antiprism`, or by hand:

    >>> from xrdkit.structures import AnionGeometry
    >>> bh = AnionGeometry("BH", [[1.0, 0.0, 0.0]], [[2.12, 0.0, 0.0]], "a single B-H, Å")
    >>> bh.n_boron, bh.boron_xyz_angstrom.flags.writeable
    (1, False)
    """

    name: str
    boron_xyz_angstrom: np.ndarray
    hydrogen_xyz_angstrom: np.ndarray
    provenance: str

    def __post_init__(self) -> None:
        for field in ("boron_xyz_angstrom", "hydrogen_xyz_angstrom"):
            arr = np.array(getattr(self, field), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)

    @property
    def n_boron(self) -> int:
        """Number of B (= number of H) atoms."""
        return int(self.boron_xyz_angstrom.shape[0])


def _check_length(value: float, name: str, *, upper: float = 10.0) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be a number, got {value!r}", source=name) from exc
    if not math.isfinite(x) or x <= 0 or x > upper:
        raise InputError(f"must be a finite length in (0, {upper}] Å, got {value!r}", source=name)
    return x


def _add_radial_hydrogens(boron: np.ndarray, b_h_angstrom: float) -> np.ndarray:
    norms = np.linalg.norm(boron, axis=1, keepdims=True)  # (n, 1)
    return boron + b_h_angstrom * boron / norms


def b12h12_icosahedron(b_b_angstrom: float = 1.78, b_h_angstrom: float = 1.12) -> AnionGeometry:
    """Ideal B12H12²⁻ icosahedron, oriented with its three 2-fold axes along x, y, z.

    The vertices are the cyclic permutations of (0, ±1, ±φ) scaled so that the edge
    (B-B) is ``b_b_angstrom``; this orientation keeps the point group m-3 (Th) of the
    cube, so averaging over m-3m gives exactly two orientations.  H sits radially
    outside each B at ``b_h_angstrom``.

    Parameters
    ----------
    b_b_angstrom
        B-B edge length, Å.
    b_h_angstrom
        B-H bond length, Å.

    Returns
    -------
    AnionGeometry
        12 B and 12 H centred at the origin, with a provenance string naming the distances.

    Raises
    ------
    InputError
        Lengths not finite or not in (0, 10] Å.

    Examples
    --------
    Every B has five B neighbours at the edge length and its H at the B-H length (Å):

    >>> import numpy as np
    >>> from xrdkit.structures import b12h12_icosahedron
    >>> cage = b12h12_icosahedron()
    >>> cage.name, cage.n_boron
    ('B12H12', 12)
    >>> b = cage.boron_xyz_angstrom
    >>> d = np.linalg.norm(b[:, None] - b[None], axis=-1)
    >>> round(float(d[d > 0].min()), 3), np.isclose(d, 1.78).sum(axis=1).tolist()
    (1.78, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    >>> np.linalg.norm(cage.hydrogen_xyz_angstrom - b, axis=1).round(3).tolist() == [1.12] * 12
    True
    """
    bb = _check_length(b_b_angstrom, "b_b_angstrom")
    bh = _check_length(b_h_angstrom, "b_h_angstrom")
    phi = (1.0 + math.sqrt(5.0)) / 2.0
    base = []
    for s1 in (1.0, -1.0):
        for s2 in (phi, -phi):
            base.append((0.0, s1, s2))
    vertices = []
    for shift in range(3):  # cyclic permutations (x,y,z) -> (y,z,x) -> (z,x,y)
        for v in base:
            vertices.append(tuple(np.roll(v, shift)))
    boron = np.array(vertices) * (bb / 2.0)  # unscaled edge length is 2
    hydrogen = _add_radial_hydrogens(boron, bh)
    return AnionGeometry("B12H12", boron, hydrogen, _B12_PROVENANCE.format(bb=bb, bh=bh))


def b10h10_bicapped_antiprism(
    apex_ring_angstrom: float = 1.70,
    in_ring_angstrom: float = 1.86,
    ring_ring_angstrom: float = 1.81,
    b_h_angstrom: float = 1.12,
) -> AnionGeometry:
    """Ideal B10H10²⁻ bicapped square antiprism (D4d), 4-fold axis along z.

    Two apical B on the z axis cap two staggered squares of B; the upper square has
    its vertices on the ±x and ±y axes, the lower one is turned by 45°.  This
    orientation is compatible with the cubic group: averaging over m-3m gives six
    orientations (3 axes × 2 square settings), the model of Udovic et al. (2014).

    Parameters
    ----------
    apex_ring_angstrom
        Apical B to ring B distance, Å.
    in_ring_angstrom
        Edge of each B4 square, Å.
    ring_ring_angstrom
        Shortest distance between B of the two squares, Å.
    b_h_angstrom
        B-H bond length (radial), Å.

    Returns
    -------
    AnionGeometry
        10 B (the two apices first, then the upper and the lower square) and their 10 H,
        centred at the origin, with a provenance string that flags the default distances.

    Raises
    ------
    InputError
        Lengths not positive/finite, or a combination that does not close the cage
        (ring-ring shorter than the square geometry allows, apex-ring shorter than the
        ring's circumradius).

    Notes
    -----
    The default B-B distances are marked [unverified] in FACTS.md (from memory of the
    literature, e.g. the B10H10²⁻ salts); treat them as starting values.

    Examples
    --------
    The three distances come back out of the coordinates (Å):

    >>> import numpy as np
    >>> from xrdkit.structures import b10h10_bicapped_antiprism
    >>> cage = b10h10_bicapped_antiprism()
    >>> b = cage.boron_xyz_angstrom
    >>> d = np.linalg.norm(b[:, None] - b[None], axis=-1)
    >>> d[0, 2:6].round(3).tolist()           # apex to the upper square
    [1.7, 1.7, 1.7, 1.7]
    >>> round(float(d[2, 3]), 3), round(float(d[2:6, 6:].min()), 3)   # in-ring, ring-ring
    (1.86, 1.81)
    >>> "[unverified]" in cage.provenance
    True

    A ring-ring distance the squares cannot reach is refused:

    >>> b10h10_bicapped_antiprism(ring_ring_angstrom=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...ring-ring distance 0.5 Å too short...
    """
    ar = _check_length(apex_ring_angstrom, "apex_ring_angstrom")
    ir = _check_length(in_ring_angstrom, "in_ring_angstrom")
    rr = _check_length(ring_ring_angstrom, "ring_ring_angstrom")
    bh = _check_length(b_h_angstrom, "b_h_angstrom")
    radius = ir / math.sqrt(2.0)  # circumradius of the square
    # in-plane part of the ring-ring distance between vertices 45° apart
    in_plane_sq = 2.0 * radius**2 * (1.0 - math.cos(math.pi / 4.0))
    if rr**2 <= in_plane_sq:
        raise InputError(
            f"ring-ring distance {rr} Å too short for in-ring {ir} Å "
            f"(must exceed {math.sqrt(in_plane_sq):.4f} Å)",
            source="ring_ring_angstrom",
        )
    if ar <= radius:
        raise InputError(
            f"apex-ring distance {ar} Å must exceed the ring circumradius {radius:.4f} Å",
            source="apex_ring_angstrom",
        )
    half_gap = 0.5 * math.sqrt(rr**2 - in_plane_sq)  # z of the upper ring
    z_apex = half_gap + math.sqrt(ar**2 - radius**2)
    boron = [(0.0, 0.0, z_apex), (0.0, 0.0, -z_apex)]
    for k in range(4):
        ang = k * math.pi / 2.0
        boron.append((radius * math.cos(ang), radius * math.sin(ang), half_gap))
    for k in range(4):
        ang = math.pi / 4.0 + k * math.pi / 2.0
        boron.append((radius * math.cos(ang), radius * math.sin(ang), -half_gap))
    boron_arr = np.array(boron)
    hydrogen = _add_radial_hydrogens(boron_arr, bh)
    prov = _B10_PROVENANCE.format(ar=ar, ir=ir, rr=rr, bh=bh)
    return AnionGeometry("B10H10", boron_arr, hydrogen, prov)


def cubic_point_group_rotations() -> np.ndarray:
    """The 48 operations of m-3m as integer matrices, shape ``(48, 3, 3)``.

    All signed permutation matrices: 6 permutations × 8 sign choices.

    Returns
    -------
    ndarray of int, shape (48, 3, 3)
        24 proper rotations (determinant +1) and 24 improper ones (−1).

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.structures import cubic_point_group_rotations
    >>> ops = cubic_point_group_rotations()
    >>> ops.shape, int((np.linalg.det(ops).round() == 1).sum())
    ((48, 3, 3), 24)
    """
    mats = []
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        for signs in np.ndindex(2, 2, 2):
            m = np.zeros((3, 3), dtype=int)
            for row, col in enumerate(perm):
                m[row, col] = -1 if signs[row] else 1
            mats.append(m)
    return np.array(mats)


def orientation_average(
    xyz_angstrom: np.ndarray, rotations: np.ndarray | None = None,
    tol_angstrom: float = MERGE_TOL_ANGSTROM,
) -> tuple[np.ndarray, np.ndarray]:
    """Average a set of positions over a point group: distinct images and their weights.

    Each of the ``n`` positions is mapped by every operation; coincident images are
    merged.  The weight of a distinct image is (number of coinciding images) / (number
    of operations), so the weights sum to ``n``: one atom's worth per input atom.

    Parameters
    ----------
    xyz_angstrom
        Positions, shape ``(n, 3)``, Å.
    rotations
        Operations, shape ``(g, 3, 3)``; default the 48 of m-3m.
    tol_angstrom
        Distance under which images are the same position.

    Returns
    -------
    positions : ndarray, shape (m, 3)
        The distinct images, Å.
    weights : ndarray, shape (m,)
        Fraction of an atom on each image; they sum to ``n``.

    Examples
    --------
    The icosahedron keeps 24 of the 48 operations: two orientations, half an atom on each of
    the 24 images. The antiprism gives six orientations: its 2 apices land on the 6 cube-axis
    positions (⅓ atom each), its 8 ring atoms on 48 positions (⅙ atom each):

    >>> from xrdkit.structures import (b10h10_bicapped_antiprism, b12h12_icosahedron,
    ...                                orientation_average)
    >>> positions, weights = orientation_average(b12h12_icosahedron().boron_xyz_angstrom)
    >>> positions.shape, sorted(set(weights.round(4).tolist())), round(float(weights.sum()), 6)
    ((24, 3), [0.5], 12.0)
    >>> positions, weights = orientation_average(b10h10_bicapped_antiprism().boron_xyz_angstrom)
    >>> positions.shape, sorted(set(weights.round(4).tolist())), round(float(weights.sum()), 6)
    ((54, 3), [0.1667, 0.3333], 10.0)
    """
    ops = cubic_point_group_rotations() if rotations is None else np.asarray(rotations)
    xyz = np.asarray(xyz_angstrom, dtype=float)
    images = np.einsum("gij,nj->gni", ops, xyz).reshape(-1, 3)  # (g*n, 3)
    keys = np.round(images / tol_angstrom).astype(np.int64)
    _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    # rounding can split a cluster that straddles a rounding boundary; merge neighbours
    positions = images[first]
    weights = counts.astype(float)
    merged_pos: list[np.ndarray] = []
    merged_w: list[float] = []
    for p, w in zip(positions, weights, strict=True):
        for i, q in enumerate(merged_pos):
            if np.linalg.norm(p - q) < tol_angstrom:
                merged_w[i] += w
                break
        else:
            merged_pos.append(p)
            merged_w.append(w)
    return np.array(merged_pos), np.array(merged_w) / len(ops)


def _check_fraction(value: float, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be a number in [0, 1], got {value!r}", source=name) from exc
    if not math.isfinite(x) or x < 0.0 or x > 1.0:
        raise InputError(f"must be in [0, 1], got {value!r}", source=name)
    return x


def _check_lattice_constant(a_angstrom: float, name: str = "a_angstrom") -> float:
    return _check_length(a_angstrom, name, upper=100.0)


def _anion_sites(
    geometries: Sequence[tuple[AnionGeometry, float]],
    centres_frac: np.ndarray,
    a_angstrom: float,
) -> tuple[list[dict[str, float]], list[np.ndarray]]:
    """Orientation-averaged anion atoms on every centre of a cubic cell.

    ``geometries`` pairs a cage with the fraction of centres it occupies.
    """
    species: list[dict[str, float]] = []
    coords: list[np.ndarray] = []
    for geom, fraction in geometries:
        if fraction == 0.0:
            continue
        for element, xyz in (("B", geom.boron_xyz_angstrom), ("H", geom.hydrogen_xyz_angstrom)):
            pos, weight = orientation_average(xyz)
            occ = fraction * weight  # (m,)
            frac = pos / a_angstrom  # (m, 3)
            for centre in centres_frac:
                for f, o in zip(frac, occ, strict=True):
                    species.append({element: float(o)})
                    coords.append(np.mod(centre + f, 1.0))
    return species, coords


def _merge_coincident(
    species: list[dict[str, float]], coords: list[np.ndarray], lattice: Lattice,
    tol_angstrom: float = MERGE_TOL_ANGSTROM,
) -> Structure:
    """Build a Structure, summing occupancies of same-position sites."""
    merged_sp: list[dict[str, float]] = []
    merged_xyz: list[np.ndarray] = []
    frac = np.array(coords)
    # bucket by rounded fractional coordinates: cheap exact-duplicate detection
    index: dict[tuple[int, int, int], int] = {}
    scale = lattice.abc[0] / tol_angstrom
    for sp, f in zip(species, frac, strict=True):
        key = tuple(int(v) for v in np.round(np.mod(f, 1.0) * scale) % round(scale))
        if key in index:
            target = merged_sp[index[key]]
            for el, occ in sp.items():
                target[el] = target.get(el, 0.0) + occ
        else:
            index[key] = len(merged_sp)
            merged_sp.append(dict(sp))
            merged_xyz.append(f)
    for sp in merged_sp:
        total = sum(sp.values())
        if total > 1.0 + 1e-9:
            raise InputError(
                f"site occupancy {total:.4f} > 1 after merging coincident atoms ({sp})",
                source="structure model",
            )
    return Structure(lattice, merged_sp, merged_xyz)


def _fcc_translations() -> np.ndarray:
    return np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def _orbit(points: Iterable[Sequence[float]], translations: np.ndarray) -> list[np.ndarray]:
    """All positions obtained from ``points`` by the m-3m operations and centring."""
    ops = cubic_point_group_rotations()
    out: list[np.ndarray] = []
    seen: set[tuple[int, int, int]] = set()
    for p in points:
        for op in ops:
            for t in translations:
                q = np.mod(op @ np.asarray(p, dtype=float) + t, 1.0)
                key = tuple(int(v) for v in np.round(q * 1e4) % 10000)
                if key not in seen:
                    seen.add(key)
                    out.append(q)
    return out


def _check_na_occupancy(na_occupancy: Sequence[float], n: int) -> tuple[float, ...]:
    try:
        occ = tuple(float(v) for v in na_occupancy)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be {n} numbers, got {na_occupancy!r}",
                         source="na_occupancy") from exc
    if len(occ) != n:
        raise InputError(f"must have {n} values, got {len(occ)}", source="na_occupancy")
    for v in occ:
        if not math.isfinite(v) or v < 0.0 or v > 1.0:
            raise InputError(f"occupancies must be in [0, 1], got {occ}", source="na_occupancy")
    return occ


def build_nbh_fcc(
    a_angstrom: float = NBH_A_ANGSTROM,
    *,
    b12_fraction: float = 0.5,
    na_occupancy: Sequence[float] = FCC_NA_OCCUPANCY,
    b12: AnionGeometry | None = None,
    b10: AnionGeometry | None = None,
) -> Structure:
    """Constructed Fm-3m model of fcc Na4(B12H12)(B10H10) (conventional cell, P1 sites).

    Parameters
    ----------
    a_angstrom : float
        Cubic lattice constant, Å (default 10.029 Å, Duchêne et al. 2017).
    b12_fraction : float
        Fraction of the 4a anion sites holding B12H12²⁻ (the rest B10H10²⁻); 0.5 for NBH.
    na_occupancy : sequence of float
        Na occupancies on 8c (¼,¼,¼), 4b (½,½,½ ≡ ½,0,0 by F-centring) and 24d (0,¼,¼);
        default (0.58, 0.28, 0.09) from the high-T Na2B10H10 model (Udovic et al. 2014).
        With the default, Na per cell = 8·0.58 + 4·0.28 + 24·0.09 = 7.92 (ideal 8).
    b12, b10 : AnionGeometry, optional
        Anion geometries; default :func:`b12h12_icosahedron` and
        :func:`b10h10_bicapped_antiprism` with their default distances.

    Returns
    -------
    pymatgen.core.Structure
        Conventional cubic cell with every site written out (disordered sites such as
        ``{"B": 0.25}``); space group Fm-3m.  Each cage is averaged over the 48
        operations of m-3m: B12H12 → 2 orientations, B10H10 → 6 orientations.

    Raises
    ------
    InputError
        Non-finite or non-positive lattice constant, fraction outside [0, 1],
        occupancies outside [0, 1].

    Examples
    --------
    The cell holds four anions (two B12H12²⁻, two B10H10²⁻: 44 B and 44 H) and 7.92 Na:

    >>> from xrdkit.structures import build_nbh_fcc
    >>> nbh = build_nbh_fcc()
    >>> nbh.lattice.a, nbh.lattice.alpha                  # Å, degrees
    (10.029, 90.0)
    >>> {el: round(n, 2) for el, n in sorted(nbh.composition.get_el_amt_dict().items())}
    {'B': 44.0, 'H': 44.0, 'Na': 7.92}
    >>> from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
    >>> SpacegroupAnalyzer(nbh, symprec=1e-3).get_space_group_symbol()
    'Fm-3m'

    A cell expanded to 10.07 Å (about 180 °C) and richer in B12H12²⁻:

    >>> hot = build_nbh_fcc(10.07, b12_fraction=0.75)
    >>> round(hot.lattice.volume), round(hot.composition["B"], 2)   # Å³, B per cell
    (1021, 46.0)
    """
    a = _check_lattice_constant(a_angstrom)
    f12 = _check_fraction(b12_fraction, "b12_fraction")
    occ8c, occ4b, occ24d = _check_na_occupancy(na_occupancy, 3)
    b12 = b12h12_icosahedron() if b12 is None else b12
    b10 = b10h10_bicapped_antiprism() if b10 is None else b10
    lattice = Lattice.cubic(a)
    translations = _fcc_translations()
    species, coords = _anion_sites([(b12, f12), (b10, 1.0 - f12)], translations, a)
    for point, occ in (((0.25, 0.25, 0.25), occ8c), ((0.5, 0.5, 0.5), occ4b),
                       ((0.0, 0.25, 0.25), occ24d)):
        if occ == 0.0:
            continue
        for q in _orbit([point], translations):
            species.append({"Na": occ})
            coords.append(q)
    return _merge_coincident(species, coords, lattice)


def build_na2b10h10_ht(
    a_angstrom: float = NA2B10H10_HT_A_ANGSTROM,
    *,
    na_occupancy: Sequence[float] = FCC_NA_OCCUPANCY,
    b10: AnionGeometry | None = None,
) -> Structure:
    """Constructed Fm-3m model of high-temperature Na2B10H10 (410 K, Udovic et al. 2014).

    The B10H10²⁻ anion sits on 4a in six orientations (m-3m average of a D4d cage with
    its 4-fold axis along a cube axis); Na on 8c/4b/24d as in :func:`build_nbh_fcc`.

    Parameters
    ----------
    a_angstrom : float
        Cubic lattice constant, Å (default 9.8426 Å at 410 K).
    na_occupancy : sequence of float
        Na occupancies on 8c, 4b and 24d (default 0.58, 0.28, 0.09).
    b10 : AnionGeometry, optional
        Anion geometry; default :func:`b10h10_bicapped_antiprism`.

    Returns
    -------
    pymatgen.core.Structure
        Conventional cubic cell, every site written out; space group Fm-3m.

    Raises
    ------
    InputError
        As :func:`build_nbh_fcc`.

    Examples
    --------
    Four anions (40 B, 40 H) and 7.92 Na per cell:

    >>> from xrdkit.structures import build_na2b10h10_ht
    >>> ht = build_na2b10h10_ht()
    >>> ht.lattice.a                                        # Å
    9.8426
    >>> {el: round(n, 2) for el, n in sorted(ht.composition.get_el_amt_dict().items())}
    {'B': 40.0, 'H': 40.0, 'Na': 7.92}
    """
    return build_nbh_fcc(a_angstrom, b12_fraction=0.0, na_occupancy=na_occupancy, b10=b10)


def build_na2b12h12_ht(
    a_angstrom: float = NA2B12H12_HT_A_ANGSTROM,
    *,
    na_24g_x: float = BCC_NA_24G_X,
    na_24g_occupancy: float = BCC_NA_24G_OCCUPANCY,
    b12: AnionGeometry | None = None,
) -> Structure:
    """Constructed Im-3m model of high-temperature Na2B12H12 (≈ 553 K, Verdal et al. 2014).

    B12H12²⁻ on 2a (0,0,0) and (½,½,½), averaged over m-3m (two orientations); Na on
    24g (x, 0, ½) with occupancy 1/6 (4 Na per cell of 2 anions).

    Parameters
    ----------
    a_angstrom : float
        Cubic lattice constant, Å (default 8.1 Å).
    na_24g_x : float
        The x of the Na 24g site (x, 0, ½), in (0, ½) (default 0.33).
    na_24g_occupancy : float
        Na occupancy of 24g, in [0, 1] (default 1/6).
    b12 : AnionGeometry, optional
        Anion geometry; default :func:`b12h12_icosahedron`.

    Returns
    -------
    pymatgen.core.Structure
        Conventional cubic cell, every site written out; space group Im-3m.

    Raises
    ------
    InputError
        Bad lattice constant, ``na_24g_x`` outside (0, ½), occupancy outside [0, 1].

    Examples
    --------
    Two anions (24 B, 24 H) and 4 Na per cell:

    >>> from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
    >>> from xrdkit.structures import build_na2b12h12_ht
    >>> bcc = build_na2b12h12_ht()
    >>> {el: round(n, 2) for el, n in sorted(bcc.composition.get_el_amt_dict().items())}
    {'B': 24.0, 'H': 24.0, 'Na': 4.0}
    >>> SpacegroupAnalyzer(bcc, symprec=1e-3).get_space_group_symbol()
    'Im-3m'
    """
    a = _check_lattice_constant(a_angstrom)
    x = _check_fraction(na_24g_x, "na_24g_x")
    if not 0.0 < x < 0.5:
        raise InputError(f"must be in (0, 0.5), got {na_24g_x!r}", source="na_24g_x")
    occ = _check_fraction(na_24g_occupancy, "na_24g_occupancy")
    b12 = b12h12_icosahedron() if b12 is None else b12
    lattice = Lattice.cubic(a)
    translations = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    species, coords = _anion_sites([(b12, 1.0)], translations, a)
    if occ > 0.0:
        for q in _orbit([(x, 0.0, 0.5)], translations):
            species.append({"Na": occ})
            coords.append(q)
    return _merge_coincident(species, coords, lattice)
