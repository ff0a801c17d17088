"""The phase library: bundled reference phases (CIF + metadata) and user-added CIFs.

Bundled phases live in ``reference_data/phases/`` (one CIF each plus ``phases.json``
with formula, Z, density, conductivity and provenance).  User CIFs added with
:meth:`PhaseLibrary.add_cif` are kept in a user folder (``CLOSOKIT_USER_PHASES`` or
``~/.local/share/closokit/phases``) as ``NAME.cif`` + ``NAME.json``.

Nothing is read at import; a :class:`PhaseLibrary` reads its metadata on first use
and parses each CIF once (cached per instance).

Examples
--------
>>> from xrdkit.phases import PhaseLibrary
>>> lib = PhaseLibrary()
>>> "nbh-fcc" in lib.names()
True
>>> lib.get("nbh-fcc").structure.lattice.a    # Å
10.029
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError, PhaseError, limit_from_env

__all__ = [
    "Provenance",
    "PhaseInfo",
    "Phase",
    "PhaseLibrary",
    "USER_PHASES_ENV",
    "default_user_dir",
    "read_cif",
    "SITE_B_PROPERTY",
    "adp_b_iso_from_cif_block",
    "adp_b_by_label",
    "u_equivalent_angstrom2",
]

log = logging.getLogger(__name__)

#: Environment variable naming the folder for user-added CIFs.
USER_PHASES_ENV = "CLOSOKIT_USER_PHASES"
#: Symmetry tolerance (Å) used to name the space group of a user CIF.
SYMPREC = 0.01
#: Allowed provenance kinds.
PROVENANCE_KINDS = ("literature", "constructed", "user")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
#: Site property set by :func:`read_cif`: isotropic displacement parameter B (Å²) per
#: site, NaN where the CIF gives none.
SITE_B_PROPERTY = "b_iso_angstrom2"


#: Largest CIF read (``CLOSOKIT_MAX_CIF_BYTES``); an inorganic structure's CIF is kilobytes.
MAX_CIF_BYTES = int(limit_from_env("CLOSOKIT_MAX_CIF_BYTES", 2_000_000))
#: Most atoms in the conventional cell (``CLOSOKIT_MAX_CELL_ATOMS``), estimated before the
#: symmetry expansion as sites × symmetry operations: structure factors cost atoms ×
#: reflections, and large frameworks (zeolites, MOFs) stay below ~1,500.
MAX_CELL_ATOMS = int(limit_from_env("CLOSOKIT_MAX_CELL_ATOMS", 2_000))
#: Largest cell volume, Å³ (``CLOSOKIT_MAX_CELL_VOLUME``): the number of reflections up to a
#: given 2θ grows with the volume (≈ 4π/3 (2 sinθ/λ)³ V); 20,000 Å³ at Cu Kα is ~10⁵ lines.
MAX_CELL_VOLUME_A3 = limit_from_env("CLOSOKIT_MAX_CELL_VOLUME", 20_000.0)
#: Before the expansion a CIF is refused only when sites × operations exceeds this many times
#: MAX_CELL_ATOMS (sites on special positions have fewer copies than operations).
SPECIAL_POSITION_ALLOWANCE = 8
#: The most symmetry operations a space group has (a longer list repeats operations).
MAX_SYMMETRY_OPERATIONS = 192
#: Tags that list symmetry operations in a CIF (new and old dictionary).
_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz",
               "_space_group_symop.operation_xyz")
#: B = 8π² U.
_EIGHT_PI2 = 8.0 * math.pi**2


@dataclass(frozen=True)
class Provenance:
    """Where a phase's structure comes from.

    Attributes
    ----------
    kind
        ``"literature"``, ``"constructed"`` (a model built here) or ``"user"`` (a CIF
        a user added).
    citation
        Reference(s) or, for user CIFs, the original file path.
    doi
        DOI of the main reference, ``""`` if none.
    how
        For constructed models: what was built and from which sources.

    Examples
    --------
    >>> from xrdkit.phases import Provenance
    >>> source = Provenance("literature", "R. Duchêne et al., Chem. Commun. 53 (2017) 4195",
    ...                     "10.1039/C7CC00794A")
    >>> source.short()
    'literature: doi:10.1039/C7CC00794A'
    """

    kind: str
    citation: str
    doi: str = ""
    how: str = ""

    def short(self) -> str:
        """One-line summary (kind + DOI or start of the citation)."""
        ref = f"doi:{self.doi}" if self.doi else self.citation
        if len(ref) > 60:
            ref = ref[:57] + "..."
        return f"{self.kind}: {ref}"


@dataclass(frozen=True)
class PhaseInfo:
    """Metadata of one library phase (everything but the structure).

    Attributes
    ----------
    name
        Library name, e.g. ``"nbh-fcc"``.
    formula
        Formula unit, e.g. ``"Na4B22H22"``.
    z
        Formula units per conventional cell.
    space_group
        Hermann-Mauguin symbol as found by spglib (symprec 0.01 Å).
    space_group_number
        International Tables number.
    density_g_cm3
        Density of the stored structure, g cm⁻³.
    provenance
        :class:`Provenance`.
    cif_path
        The CIF file.
    temperature_K
        Temperature the structure describes, K (``None`` if unknown).
    sigma_S_per_cm_25C
        Ionic conductivity at 25 °C, S cm⁻¹, where known.
    sigma_source
        Source of (or remark on) the conductivity.
    density_literature_g_cm3
        Published density, where known.
    notes
        Free text.

    Examples
    --------
    :meth:`PhaseLibrary.info` returns it without parsing the CIF:

    >>> from xrdkit.phases import PhaseLibrary
    >>> info = PhaseLibrary().info("nbh-fcc")
    >>> info.formula, info.z, info.space_group, info.space_group_number
    ('Na4B22H22', 2.0, 'Fm-3m', 225)
    >>> round(info.density_g_cm3, 3), info.temperature_K, info.provenance.kind     # g cm⁻³, K
    (1.156, 298.0, 'constructed')
    """

    name: str
    formula: str
    z: float
    space_group: str
    space_group_number: int
    density_g_cm3: float
    provenance: Provenance
    cif_path: Path
    temperature_K: float | None = None
    sigma_S_per_cm_25C: float | None = None
    sigma_source: str | None = None
    density_literature_g_cm3: float | None = None
    notes: str = ""


@dataclass(frozen=True)
class Phase:
    """A library phase: name, pymatgen structure and metadata.

    Attributes
    ----------
    name : str
        Library name, e.g. ``"al"``.
    structure : pymatgen.core.Structure
        The structure parsed from the CIF (isotropic B per site in the ``b_iso`` site property
        where the CIF gives ADPs).
    info : PhaseInfo
        Its metadata.

    Examples
    --------
    >>> from xrdkit.phases import PhaseLibrary
    >>> al = PhaseLibrary().get("al")
    >>> al.name, al.structure.composition.formula, round(al.structure.lattice.a, 5)   # Å
    ('al', 'Al4', 4.04958)
    >>> al.info.provenance.kind
    'literature'
    """

    name: str
    structure: Structure = field(repr=False, compare=False)
    info: PhaseInfo


def default_user_dir() -> Path:
    """Folder for user CIFs: ``$CLOSOKIT_USER_PHASES`` or ``~/.local/share/closokit/phases``.

    Returns
    -------
    Path
        The folder (it need not exist yet).

    Examples
    --------
    >>> import os
    >>> from xrdkit.phases import default_user_dir
    >>> saved = os.environ.pop("CLOSOKIT_USER_PHASES", None)
    >>> default_user_dir().parts[-3:]
    ('share', 'closokit', 'phases')
    >>> os.environ["CLOSOKIT_USER_PHASES"] = os.path.join("lab", "cifs")
    >>> default_user_dir().parts
    ('lab', 'cifs')
    >>> _ = os.environ.pop("CLOSOKIT_USER_PHASES")
    >>> if saved is not None:
    ...     os.environ["CLOSOKIT_USER_PHASES"] = saved
    """
    env = os.environ.get(USER_PHASES_ENV)
    return Path(env) if env else Path.home() / ".local" / "share" / "closokit" / "phases"


def _info_from_dict(d: dict[str, Any], cif_path: Path, source: str) -> PhaseInfo:
    try:
        prov = d["provenance"]
        kind = prov["kind"]
        if kind not in PROVENANCE_KINDS:
            raise PhaseError(f"provenance kind {kind!r} not in {PROVENANCE_KINDS}", source=source)
        return PhaseInfo(
            name=str(d["name"]),
            formula=str(d["formula"]),
            z=float(d["z"]),
            space_group=str(d["space_group"]),
            space_group_number=int(d["space_group_number"]),
            density_g_cm3=float(d["density_g_cm3"]),
            provenance=Provenance(kind=kind, citation=str(prov.get("citation", "")),
                                  doi=str(prov.get("doi", "") or ""),
                                  how=str(prov.get("how", "") or "")),
            cif_path=cif_path,
            temperature_K=None if d.get("temperature_K") is None else float(d["temperature_K"]),
            sigma_S_per_cm_25C=(None if d.get("sigma_S_per_cm_25C") is None
                                else float(d["sigma_S_per_cm_25C"])),
            sigma_source=d.get("sigma_source"),
            density_literature_g_cm3=(None if d.get("density_literature_g_cm3") is None
                                      else float(d["density_literature_g_cm3"])),
            notes=str(d.get("notes", "") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PhaseError(f"incomplete or malformed phase metadata ({exc!r})",
                         source=source) from exc


def _info_to_dict(info: PhaseInfo) -> dict[str, Any]:
    d = asdict(info)
    d["cif"] = info.cif_path.name
    del d["cif_path"]
    return d


# -- atomic displacement parameters ---------------------------------------------------
_ESD_RE = re.compile(r"\(\d*\)?$")
_IJ = ("11", "22", "33", "12", "13", "23")
_IJ_INDEX = {"11": (0, 0), "22": (1, 1), "33": (2, 2), "12": (0, 1), "13": (0, 2), "23": (1, 2)}
#: ``_atom_site_adp_type`` values for which the isotropic value is the one to use.
_ISO_ADP_TYPES = ("uiso", "biso", "uovl", "bovl")


def _cif_number(text: Any) -> float:
    """A CIF numeric value as float: esd ``0.0123(4)`` dropped; ``?``, ``.``, junk → NaN."""
    if text is None:
        return math.nan
    t = str(text).strip()
    if t in ("", "?", "."):
        return math.nan
    t = _ESD_RE.sub("", t)
    try:
        return float(t)
    except ValueError:
        return math.nan


def _lower_keys(block: Mapping[str, Any]) -> dict[str, Any]:
    """CIF tags are case-insensitive: one lower-case key per tag."""
    return {str(k).lower(): v for k, v in block.items()}


def _column(block: Mapping[str, Any], tag: str, n: int | None = None) -> list[str] | None:
    """A loop column as a list of strings (a single value → list of one), or ``None``.

    With ``n`` given, a column of another length (a different loop, or a file pymatgen
    rewrote) gives ``None``.
    """
    v = block.get(tag)
    if v is None:
        return None
    col = [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
    if n is not None and len(col) != n:
        log.debug("CIF column %s has %d values, expected %d; ignored", tag, len(col), n)
        return None
    return col


def u_equivalent_angstrom2(u_cif_angstrom2: np.ndarray, lattice: Lattice) -> float:
    """Isotropic equivalent U_eq of an anisotropic U given in the CIF convention.

    ``U_eq = (1/3) Σ_ij U^ij a*_i a*_j (a_i · a_j)`` (Fischer & Tillmanns, Acta Cryst. C44
    (1988) 775, doi:10.1107/S0108270187012745), with U^ij the CIF ``_atom_site_aniso_U_ij``
    (dimensionless reciprocal-axis normalisation, T = exp(-2π² Σ U^ij h_i h_j a*_i a*_j)).

    Parameters
    ----------
    u_cif_angstrom2
        Symmetric 3×3 matrix U^ij, Å².
    lattice
        The cell the U^ij refer to.

    Returns
    -------
    float
        U_eq, Å².

    Examples
    --------
    For orthogonal axes U_eq is the mean of the diagonal:

    >>> import numpy as np
    >>> from pymatgen.core import Lattice
    >>> from xrdkit.phases import u_equivalent_angstrom2
    >>> round(u_equivalent_angstrom2(np.diag([0.01, 0.02, 0.03]), Lattice.orthorhombic(4, 5, 6)), 6)
    0.02
    """
    u = np.asarray(u_cif_angstrom2, dtype=float)
    a_star = np.asarray(lattice.reciprocal_lattice_crystallographic.abc, dtype=float)
    metric = np.asarray(lattice.metric_tensor, dtype=float)
    return float(np.sum(u * np.outer(a_star, a_star) * metric) / 3.0)


def _aniso_u_by_label(block: dict[str, Any], lattice: Lattice) -> dict[str, float]:
    """U_eq (Å²) per ``_atom_site_aniso_label`` from U_ij, B_ij or beta_ij columns."""
    labels = _column(block, "_atom_site_aniso_label")
    if labels is None:
        # some writers put the U_ij columns into the _atom_site_ loop itself
        labels = _column(block, "_atom_site_label")
    if labels is None:
        return {}
    n = len(labels)
    a_star = np.asarray(lattice.reciprocal_lattice_crystallographic.abc, dtype=float)
    out: dict[str, float] = {}
    for kind, to_u in (
        ("u", lambda v, i, j: v),
        ("b", lambda v, i, j: v / _EIGHT_PI2),
        # beta_ij = 2π² a*_i a*_j U^ij
        ("beta", lambda v, i, j: v / (2.0 * math.pi**2 * a_star[i] * a_star[j])),
    ):
        cols = {ij: _column(block, f"_atom_site_aniso_{kind}_{ij}", n) for ij in _IJ}
        if all(c is None for c in cols.values()):
            continue
        for row, label in enumerate(labels):
            if label in out:
                continue
            u = np.zeros((3, 3))
            complete = True
            for ij, col in cols.items():
                v = math.nan if col is None else _cif_number(col[row])
                if not math.isfinite(v):
                    complete = False
                    break
                i, j = _IJ_INDEX[ij]
                u[i, j] = u[j, i] = to_u(v, i, j)
            if complete:
                out[label] = u_equivalent_angstrom2(u, lattice)
    return out


def adp_b_by_label(block: Mapping[str, Any], lattice: Lattice) -> dict[str, float]:
    """Isotropic B (Å²) per ``_atom_site_label`` from one CIF data block.

    Sources, per label: ``_atom_site_B_iso_or_equiv`` (B), ``_atom_site_U_iso_or_equiv``
    (× 8π²) and the ``_atom_site_aniso_`` loop (U_ij, B_ij or beta_ij → U_eq × 8π², see
    :func:`u_equivalent_angstrom2`).  Where both are given, ``_atom_site_adp_type`` decides:
    Uiso/Biso/Uovl/Bovl take the isotropic value, anything else (Uani, Bani, none) the
    anisotropic one; the other is the fallback.  Values with esds (``0.0123(4)``) are read
    without them; ``?`` and ``.`` count as missing.  Labels without a number are absent.

    Parameters
    ----------
    block
        Tag → value (a string, or a list of strings for a loop column), e.g. one block of
        ``CifParser(...).as_dict()``.  Tags are matched case-insensitively.
    lattice
        The cell, for the anisotropic → isotropic conversion.

    Returns
    -------
    dict
        Label → B, Å².

    Examples
    --------
    B = 8π² U; the esd is dropped and ``?`` is missing:

    >>> from pymatgen.core import Lattice
    >>> from xrdkit.phases import adp_b_by_label
    >>> block = {"_atom_site_label": ["Na1", "B1", "H1"],
    ...          "_atom_site_U_iso_or_equiv": ["0.0253(8)", "0.012", "?"]}
    >>> {label: round(b, 3) for label, b in adp_b_by_label(block, Lattice.cubic(10.029)).items()}
    {'Na1': 1.998, 'B1': 0.947}
    """
    blk = _lower_keys(block)
    aniso_b = {k: _EIGHT_PI2 * u for k, u in _aniso_u_by_label(blk, lattice).items()}
    labels = _column(blk, "_atom_site_label")
    iso_b: dict[str, float] = {}
    adp_type: dict[str, str] = {}
    if labels is not None:
        n = len(labels)
        u_col = _column(blk, "_atom_site_u_iso_or_equiv", n)
        b_col = _column(blk, "_atom_site_b_iso_or_equiv", n)
        t_col = _column(blk, "_atom_site_adp_type", n)
        for row, label in enumerate(labels):
            b = _cif_number(b_col[row]) if b_col is not None else math.nan
            if not math.isfinite(b) and u_col is not None:
                b = _EIGHT_PI2 * _cif_number(u_col[row])
            if math.isfinite(b):
                iso_b[label] = b
            if t_col is not None:
                adp_type[label] = t_col[row].strip().lower()
    out: dict[str, float] = {}
    for label in dict.fromkeys([*(labels or []), *aniso_b]):
        prefer_iso = adp_type.get(label, "") in _ISO_ADP_TYPES
        first, second = (iso_b, aniso_b) if prefer_iso else (aniso_b, iso_b)
        if label in first:
            out[label] = first[label]
        elif label in second:
            out[label] = second[label]
    return out


def _colocated_mean_b(blk: dict[str, Any], b_by_label: dict[str, float]) -> dict[str, float]:
    """For rows sharing one position (mixed sites), the occupancy-weighted mean B.

    pymatgen merges ``_atom_site_`` rows at the same position into one disordered site
    that carries the label of the *last* such row; that label gets the mean of the rows'
    B values (those that have one).  Positions are compared as written (mod 1, 1e-4),
    not through the symmetry operations.
    """
    labels = _column(blk, "_atom_site_label")
    if labels is None:
        return b_by_label
    n = len(labels)
    xyz_cols = [_column(blk, f"_atom_site_fract_{c}", n) for c in "xyz"]
    if any(c is None for c in xyz_cols):
        return b_by_label
    occ_col = _column(blk, "_atom_site_occupancy", n)
    xyz = np.array([[_cif_number(c[r]) for c in xyz_cols] for r in range(n)])  # type: ignore[index]
    occ = np.array([_cif_number(occ_col[r]) if occ_col else 1.0 for r in range(n)])
    occ = np.where(np.isfinite(occ), occ, 1.0)
    out = dict(b_by_label)
    used = np.zeros(n, dtype=bool)
    for r in range(n):
        if used[r] or not np.all(np.isfinite(xyz[r])):
            continue
        diff = xyz - xyz[r]
        diff -= np.round(diff)
        group = np.flatnonzero(np.all(np.abs(diff) < 1e-4, axis=1) & ~used)
        used[group] = True
        if len(group) < 2:
            continue
        pairs = [(occ[g], b_by_label[labels[g]]) for g in group if labels[g] in b_by_label]
        if pairs:
            w = np.array([p[0] for p in pairs])
            b = np.array([p[1] for p in pairs])
            out[labels[group[-1]]] = float(np.sum(w * b) / np.sum(w)) if np.sum(w) > 0 \
                else float(np.mean(b))
    return out


def adp_b_iso_from_cif_block(block: Mapping[str, Any], structure: Structure) -> np.ndarray:
    """Isotropic B (Å²) for every site of ``structure`` from the CIF block it was parsed from.

    Sites are matched through ``site.label`` (pymatgen keeps ``_atom_site_label`` on every
    symmetry-expanded site); see :func:`adp_b_by_label` for what is read.  Sites whose
    label has no ADP get NaN.

    Parameters
    ----------
    block
        Tag → value mapping of the CIF data block (e.g. one value of
        ``CifParser(...).as_dict()``).
    structure
        The structure parsed from that block.

    Returns
    -------
    numpy.ndarray
        One B per site, Å² (NaN = unknown).

    Examples
    --------
    >>> from pymatgen.io.cif import CifParser
    >>> from xrdkit.phases import adp_b_iso_from_cif_block
    >>> cif = "\\n".join([
    ...     "data_nacl", "_cell_length_a 5.64", "_cell_length_b 5.64", "_cell_length_c 5.64",
    ...     "_cell_angle_alpha 90", "_cell_angle_beta 90", "_cell_angle_gamma 90",
    ...     "loop_", "_symmetry_equiv_pos_as_xyz", "x,y,z",
    ...     "loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x",
    ...     "_atom_site_fract_y", "_atom_site_fract_z", "_atom_site_B_iso_or_equiv",
    ...     "Na1 Na 0 0 0 1.5", "Cl1 Cl 0.5 0.5 0.5 1.2"])
    >>> parser = CifParser.from_str(cif)
    >>> structure = parser.parse_structures(primitive=False)[0]
    >>> adp_b_iso_from_cif_block(parser.as_dict()["nacl"], structure).tolist()       # Å²
    [1.5, 1.2]
    """
    blk = _lower_keys(block)
    b_by_label = _colocated_mean_b(blk, adp_b_by_label(blk, structure.lattice))
    return np.array([b_by_label.get(str(site.label), math.nan) for site in structure],
                    dtype=float)


def _block_for(blocks: Mapping[str, Mapping[str, Any]], structure: Structure) -> dict[str, Any]:
    """The data block that holds ``structure``'s atoms (first one whose labels cover it)."""
    wanted = {str(s.label) for s in structure}
    candidates = [_lower_keys(b) for b in blocks.values()]
    candidates = [b for b in candidates if "_atom_site_label" in b or "_atom_site_fract_x" in b]
    for b in candidates:
        if wanted <= set(_column(b, "_atom_site_label") or []):
            return b
    return candidates[0] if candidates else {}


def _check_cif_size(parser: CifParser, path: Path) -> None:
    """Refuse, before pymatgen expands the symmetry, a CIF whose first structure would have
    more than :data:`MAX_CELL_ATOMS` atoms (sites × symmetry operations) or a cell larger than
    :data:`MAX_CELL_VOLUME_A3`."""
    for block in parser.as_dict().values():
        blk = _lower_keys(block)
        labels = blk.get("_atom_site_label") or blk.get("_atom_site_fract_x")
        if not labels:
            continue
        n_sites = len(labels) if isinstance(labels, list) else 1
        ops = next((blk[t] for t in _SYMOP_TAGS if t in blk), None)
        n_ops = (len(ops) if isinstance(ops, list) else 1) if ops is not None else 1
        # sites × operations is an upper bound (atoms on special positions coincide): refuse
        # here only what cannot fit; the exact count is checked after the expansion
        bound = n_sites * min(n_ops, MAX_SYMMETRY_OPERATIONS)
        if n_sites > MAX_CELL_ATOMS or bound > SPECIAL_POSITION_ALLOWANCE * MAX_CELL_ATOMS:
            raise PhaseError(
                f"{n_sites:,} atom sites × {n_ops} symmetry operations: up to {bound:,} atoms per "
                f"cell, far more than the limit of {MAX_CELL_ATOMS:,} "
                "(CLOSOKIT_MAX_CELL_ATOMS)", source=str(path))
        try:
            a, b, c = (_cif_number(blk[f"_cell_length_{k}"]) for k in "abc")
            al, be, ga = (math.radians(_cif_number(blk[f"_cell_angle_{k}"])) for k in ("alpha", "beta", "gamma"))
        except (KeyError, ValueError, TypeError):
            return  # pymatgen reports a missing or bad cell
        cos = (math.cos(al), math.cos(be), math.cos(ga))
        volume = a * b * c * math.sqrt(max(0.0, 1 - sum(x * x for x in cos) + 2 * cos[0] * cos[1] * cos[2]))
        if volume > MAX_CELL_VOLUME_A3:
            raise PhaseError(f"cell volume {volume:,.0f} Å³ exceeds the limit of {MAX_CELL_VOLUME_A3:,.0f} Å³ "
                             "(CLOSOKIT_MAX_CELL_VOLUME)", source=str(path))
        return


def read_cif(path: Path | str, *, warn_missing_adp: bool = True) -> Structure:
    """Parse a CIF into a conventional-cell Structure, or raise :class:`PhaseError`.

    The returned structure carries the site property ``b_iso_angstrom2``
    (:data:`SITE_B_PROPERTY`): the isotropic displacement parameter B of each site, Å²,
    read from ``_atom_site_B_iso_or_equiv``, ``_atom_site_U_iso_or_equiv`` (× 8π²) or the
    ``_atom_site_aniso_`` loop (U_eq × 8π²); NaN where the CIF gives none (see
    :func:`adp_b_iso_from_cif_block`).  A CIF without any displacement parameter is logged
    as a WARNING.

    Parameters
    ----------
    path : str or Path
        CIF file.
    warn_missing_adp : bool
        Log a CIF without displacement parameters as a WARNING (INFO otherwise: the bundled
        library's constructed models state it in their provenance).

    Returns
    -------
    Structure
        First structure of the file, conventional cell, with ``b_iso_angstrom2``.

    Raises
    ------
    PhaseError
        File missing, unreadable, not a CIF, or without a usable structure; the message
        names the file.

    Examples
    --------
    The bundled brucite phase: B from ``U_iso`` (Mg, O) and from the anisotropic U of H
    (U_eq), each × 8π²:

    >>> from xrdkit.data import reference_data_dir
    >>> from xrdkit.phases import read_cif
    >>> brucite = read_cif(reference_data_dir() / "phases" / "brucite.cif")
    >>> brucite.composition.reduced_formula, brucite.lattice.abc      # Å
    ('Mg(HO)2', (3.14979, 3.14979, 4.7702))
    >>> b_iso = brucite.site_properties["b_iso_angstrom2"]             # Å²
    >>> [(site.specie.symbol, round(b, 2)) for site, b in zip(brucite, b_iso)]
    [('Mg', 0.43), ('H', 2.48), ('H', 2.48), ('O', 0.42), ('O', 0.42)]

    A CIF without displacement parameters (the Si standard) gives NaN, and a WARNING is logged:

    >>> import math
    >>> si = read_cif(reference_data_dir() / "standards" / "si.cif")
    >>> len(si), all(math.isnan(b) for b in si.site_properties["b_iso_angstrom2"])
    (8, True)

    Anything that is not a CIF is a :class:`~xrdkit.errors.PhaseError` naming the file:

    >>> read_cif(reference_data_dir() / "phases" / "phases.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.PhaseError: ...
    """
    p = Path(path)
    if not p.is_file():
        raise PhaseError("CIF file not found", source=str(p))
    size = p.stat().st_size
    if size > MAX_CIF_BYTES:
        raise PhaseError(f"CIF is {size:,} bytes, more than the limit of {MAX_CIF_BYTES:,} "
                         "(CLOSOKIT_MAX_CIF_BYTES)", source=str(p))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parser = CifParser(p)
            _check_cif_size(parser, p)
            structures = parser.parse_structures(primitive=False)
    except PhaseError:
        raise
    except Exception as exc:  # pymatgen raises ValueError, KeyError, IndexError, ...
        raise PhaseError(f"not a readable CIF ({type(exc).__name__}: {exc})",
                         source=str(p)) from exc
    for w in caught:
        log.info("%s: pymatgen: %s", p, w.message)
    if not structures:
        raise PhaseError("no crystal structure found in the CIF", source=str(p))
    if len(structures) > 1:
        log.warning("%s holds %d structures; using the first", p, len(structures))
    structure = structures[0]
    if len(structure) == 0 or not structure.lattice.volume > 0:
        raise PhaseError("CIF gives an empty structure or a degenerate cell", source=str(p))
    if len(structure) > MAX_CELL_ATOMS or structure.lattice.volume > MAX_CELL_VOLUME_A3:
        raise PhaseError(f"cell of {len(structure)} atoms and {structure.lattice.volume:,.0f} Å³ exceeds "
                         f"the limits ({MAX_CELL_ATOMS:,} atoms, {MAX_CELL_VOLUME_A3:,.0f} Å³)", source=str(p))
    _attach_b_iso(structure, parser, p, warn_missing_adp)
    return structure


def _attach_b_iso(structure: Structure, parser: CifParser, path: Path, warn_missing_adp: bool = True) -> None:
    """Set :data:`SITE_B_PROPERTY` on ``structure`` from the CIF and log what is missing."""
    try:
        b = adp_b_iso_from_cif_block(_block_for(parser.as_dict(), structure), structure)
    except Exception as exc:  # a malformed ADP loop must not make a usable CIF unreadable
        log.warning("%s: displacement parameters not read (%s: %s)", path,
                    type(exc).__name__, exc)
        b = np.full(len(structure), math.nan)
    structure.add_site_property(SITE_B_PROPERTY, [float(x) for x in b])
    missing = ~np.isfinite(b)
    if missing.all():
        log.log(logging.WARNING if warn_missing_adp else logging.INFO,
                "%s: no atomic displacement parameters; an overall B will be refined / assumed 0", path)
    elif missing.any():
        labels = sorted({str(s.label) for s, m in zip(structure, missing, strict=True) if m})
        log.info("%s: no displacement parameter for site(s) %s (B = NaN)", path,
                 ", ".join(labels))
    negative = np.isfinite(b) & (b < 0)
    if negative.any():
        log.warning("%s: negative B for site(s) %s", path, ", ".join(
            sorted({str(s.label) for s, m in zip(structure, negative, strict=True) if m})))


class PhaseLibrary:
    """Reference phases plus user-added CIFs.

    Parameters
    ----------
    root : Path, optional
        Folder with the bundled ``phases.json`` and CIFs; default
        ``reference_data/phases``.
    user_dir : Path, optional
        Folder for user CIFs; default :func:`default_user_dir` (read when first needed).

    Examples
    --------
    The bundled phases (a user folder that is still empty adds none):

    >>> import pathlib, tempfile
    >>> from xrdkit.phases import PhaseLibrary
    >>> lib = PhaseLibrary(user_dir=pathlib.Path(tempfile.mkdtemp()))
    >>> lib.names()
    ['al', 'be', 'beta-sn', 'brucite', 'na2b10h10-ht', 'na2b12h12-ht', 'nacro2', 'nbh-fcc']
    >>> info = lib.info("nbh-fcc")
    >>> info.formula, info.space_group, info.density_g_cm3, info.provenance.kind   # g cm⁻³
    ('Na4B22H22', 'Fm-3m', 1.1558, 'constructed')
    >>> lib.get("nacro2").structure.lattice.abc                                   # Å
    (2.974, 2.974, 15.947)
    """

    def __init__(self, root: Path | None = None, user_dir: Path | None = None) -> None:
        self._root = None if root is None else Path(root)
        self._user_dir = None if user_dir is None else Path(user_dir)
        self._infos: dict[str, PhaseInfo] | None = None
        self._structures: dict[str, Structure] = {}

    # -- locations -------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """Folder of the bundled phases."""
        return self._root if self._root is not None else reference_data_dir() / "phases"

    @property
    def user_dir(self) -> Path:
        """Folder of the user-added phases."""
        return self._user_dir if self._user_dir is not None else default_user_dir()

    # -- metadata --------------------------------------------------------------------
    def _load(self) -> dict[str, PhaseInfo]:
        if self._infos is not None:
            return self._infos
        infos: dict[str, PhaseInfo] = {}
        meta_path = self.root / "phases.json"
        try:
            doc = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise PhaseError("phase metadata file not found", source=str(meta_path)) from exc
        except json.JSONDecodeError as exc:
            raise PhaseError(f"invalid JSON ({exc})", source=str(meta_path)) from exc
        for entry in doc.get("phases", []):
            info = _info_from_dict(entry, self.root / str(entry.get("cif", "")),
                                   f"{meta_path}::{entry.get('name', '?')}")
            infos[info.name] = info
        if self.user_dir.is_dir():
            for meta in sorted(self.user_dir.glob("*.json")):
                try:
                    entry = json.loads(meta.read_text(encoding="utf-8"))
                    info = _info_from_dict(entry, meta.with_suffix(".cif"), str(meta))
                except (json.JSONDecodeError, PhaseError) as exc:
                    log.warning("skipping user phase %s: %s", meta, exc)
                    continue
                if info.name in infos:
                    log.warning("user phase %s has the name of a bundled phase (%r); skipped",
                                meta, info.name)
                    continue
                infos[info.name] = info
        self._infos = infos
        return infos

    def names(self) -> list[str]:
        """Sorted names of all phases (bundled and user).

        Returns
        -------
        list of str
            The names :meth:`get` and :func:`xrdkit.simulate.simulate` accept.

        Examples
        --------
        >>> from xrdkit.phases import PhaseLibrary
        >>> {"nbh-fcc", "na2b10h10-ht", "na2b12h12-ht"} <= set(PhaseLibrary().names())
        True
        """
        return sorted(self._load())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._load()

    def info(self, name: str) -> PhaseInfo:
        """Metadata of ``name`` (no CIF is parsed).

        Parameters
        ----------
        name : str
            Library name.

        Returns
        -------
        PhaseInfo

        Raises
        ------
        PhaseError
            Unknown name (the message lists the known names).

        Examples
        --------
        >>> from xrdkit.phases import PhaseLibrary
        >>> info = PhaseLibrary().info("nbh-fcc")
        >>> info.temperature_K, info.sigma_S_per_cm_25C        # K, S cm⁻¹
        (298.0, 0.001)
        >>> PhaseLibrary().info("nbh")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xrdkit.errors.PhaseError: ...unknown phase 'nbh'; known phases: ...
        """
        infos = self._load()
        if name not in infos:
            raise PhaseError(f"unknown phase {name!r}; known phases: {', '.join(sorted(infos))}",
                             source="phase name")
        return infos[name]

    def table(self) -> list[PhaseInfo]:
        """Metadata of every phase, sorted by name.

        Returns
        -------
        list of PhaseInfo

        Examples
        --------
        >>> from xrdkit.phases import PhaseLibrary
        >>> rows = {i.name: i for i in PhaseLibrary().table()}
        >>> rows["al"].space_group, rows["al"].provenance.kind
        ('Fm-3m', 'literature')
        """
        infos = self._load()
        return [infos[n] for n in sorted(infos)]

    def get(self, name: str) -> Phase:
        """The phase ``name`` with its parsed structure (parsed once per library).

        Parameters
        ----------
        name : str
            Library name.

        Returns
        -------
        Phase
            ``structure`` is a copy: changing it does not change the library's.

        Raises
        ------
        PhaseError
            Unknown name, or its CIF cannot be read.

        Examples
        --------
        >>> from xrdkit.phases import PhaseLibrary
        >>> al = PhaseLibrary().get("al")
        >>> al.name, al.structure.composition.reduced_formula, al.structure.lattice.a   # Å
        ('al', 'Al', 4.04958)
        """
        info = self.info(name)
        if name not in self._structures:
            self._structures[name] = read_cif(info.cif_path, warn_missing_adp=info.provenance.kind == "user")
        return Phase(name=name, structure=self._structures[name].copy(), info=info)

    # -- user phases -----------------------------------------------------------------
    def add_cif(self, path: Path | str, name: str | None = None, *,
                provenance: Provenance | None = None, persist: bool = True,
                temperature_K: float | None = None, notes: str = "") -> Phase:
        """Validate a CIF and add it to the library (and, by default, the user folder).

        Parameters
        ----------
        path : str or Path
            CIF file.
        name : str, optional
            Library name; default the file stem, lower-cased.  Letters, digits, ``.``,
            ``_`` and ``-``; must not clash with an existing phase.
        provenance : Provenance, optional
            Default ``Provenance("user", citation=<absolute file path>)``.
        persist : bool
            Copy the CIF and write its metadata into :attr:`user_dir`; otherwise keep it
            in this library instance only.
        temperature_K : float, optional
            Temperature the structure describes, K.
        notes : str
            Free text.

        Returns
        -------
        Phase
            The added phase; its formula, Z, space group and density are taken from the CIF.

        Raises
        ------
        PhaseError
            Unreadable or invalid CIF (message names the file), bad or duplicate name.

        Examples
        --------
        Add a CIF (here the bundled Si standard) to a user folder; a new library finds it there:

        >>> import pathlib, tempfile
        >>> from xrdkit.data import reference_data_dir
        >>> from xrdkit.phases import PhaseLibrary
        >>> user_dir = pathlib.Path(tempfile.mkdtemp())
        >>> lib = PhaseLibrary(user_dir=user_dir)
        >>> si = lib.add_cif(reference_data_dir() / "standards" / "si.cif", "si-640f",
        ...                  temperature_K=295.15)
        >>> si.info.formula, si.info.z, si.info.space_group, si.info.density_g_cm3
        ('Si', 8.0, 'Fd-3m', 2.3289)
        >>> sorted(p.name for p in user_dir.iterdir())
        ['si-640f.cif', 'si-640f.json']
        >>> "si-640f" in PhaseLibrary(user_dir=user_dir).names()
        True
        """
        src = Path(path)
        structure = read_cif(src)
        phase_name = (name if name is not None else src.stem).strip().lower()
        if not _NAME_RE.match(phase_name):
            raise PhaseError(
                f"invalid phase name {phase_name!r}: use letters, digits, '.', '_', '-'",
                source="name")
        infos = self._load()
        if phase_name in infos:
            raise PhaseError(f"a phase named {phase_name!r} already exists; pick another name",
                             source=str(src))
        prov = provenance or Provenance(kind="user", citation=str(src.resolve()))
        if prov.kind not in PROVENANCE_KINDS:
            raise InputError(f"provenance kind {prov.kind!r} not in {PROVENANCE_KINDS}",
                             source="provenance")
        comp = structure.composition
        _, factor = comp.get_reduced_composition_and_factor()
        try:
            sga = SpacegroupAnalyzer(structure, symprec=SYMPREC)
            sg_symbol, sg_number = sga.get_space_group_symbol(), sga.get_space_group_number()
        except Exception as exc:  # spglib failure on odd input: keep the phase, say so
            log.warning("%s: space group not determined (%s)", src, exc)
            sg_symbol, sg_number = "P1", 1
        cif_path = src.resolve()
        if persist:
            self.user_dir.mkdir(parents=True, exist_ok=True)
            cif_path = self.user_dir / f"{phase_name}.cif"
            shutil.copyfile(src, cif_path)
        info = PhaseInfo(
            name=phase_name,
            formula=comp.reduced_formula,
            z=float(factor),
            space_group=sg_symbol,
            space_group_number=int(sg_number),
            density_g_cm3=round(float(structure.density), 4),
            provenance=prov,
            cif_path=cif_path,
            temperature_K=temperature_K,
            notes=notes,
        )
        if persist:
            meta = self.user_dir / f"{phase_name}.json"
            meta.write_text(json.dumps(_info_to_dict(info), indent=2, default=str) + "\n",
                            encoding="utf-8")
            log.info("added phase %r to %s", phase_name, self.user_dir)
        infos[phase_name] = info
        self._structures[phase_name] = structure
        return Phase(name=phase_name, structure=structure.copy(), info=info)
