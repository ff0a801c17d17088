"""The phase library: bundled reference phases (CIF + metadata) and user-added CIFs.

Bundled phases live in ``reference_data/phases/`` (one CIF each plus ``phases.json``
with formula, Z, density, conductivity and provenance).  User CIFs added with
:meth:`PhaseLibrary.add_cif` are kept in a user folder (``CLOSOKIT_USER_PHASES`` or
``~/.local/share/closokit/phases``) as ``NAME.cif`` + ``NAME.json``.

Nothing is read at import; a :class:`PhaseLibrary` reads its metadata on first use
and parses each CIF once (cached per instance).

Examples
--------
>>> lib = PhaseLibrary()                      # doctest: +SKIP
>>> lib.names()                               # doctest: +SKIP
['al', 'be', 'beta-sn', 'na2b10h10-ht', 'na2b12h12-ht', 'nacro2', 'nbh-fcc']
>>> lib.get("nbh-fcc").structure.lattice.a    # doctest: +SKIP
10.029
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pymatgen.core import Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError, PhaseError

__all__ = [
    "Provenance",
    "PhaseInfo",
    "Phase",
    "PhaseLibrary",
    "USER_PHASES_ENV",
    "default_user_dir",
]

log = logging.getLogger(__name__)

#: Environment variable naming the folder for user-added CIFs.
USER_PHASES_ENV = "CLOSOKIT_USER_PHASES"
#: Symmetry tolerance (Å) used to name the space group of a user CIF.
SYMPREC = 0.01
#: Allowed provenance kinds.
PROVENANCE_KINDS = ("literature", "constructed", "user")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


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
    """A library phase: name, pymatgen structure and metadata."""

    name: str
    structure: Structure = field(repr=False, compare=False)
    info: PhaseInfo


def default_user_dir() -> Path:
    """Folder for user CIFs: ``$CLOSOKIT_USER_PHASES`` or ``~/.local/share/closokit/phases``."""
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


def read_cif(path: Path | str) -> Structure:
    """Parse a CIF into a conventional-cell Structure, or raise :class:`PhaseError`.

    Parameters
    ----------
    path
        CIF file.

    Raises
    ------
    PhaseError
        File missing, unreadable, not a CIF, or without a usable structure; the message
        names the file.
    """
    p = Path(path)
    if not p.is_file():
        raise PhaseError("CIF file not found", source=str(p))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parser = CifParser(p)
            structures = parser.parse_structures(primitive=False)
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
    return structure


class PhaseLibrary:
    """Reference phases plus user-added CIFs.

    Parameters
    ----------
    root
        Folder with the bundled ``phases.json`` and CIFs; default
        ``reference_data/phases``.
    user_dir
        Folder for user CIFs; default :func:`default_user_dir` (read when first needed).
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
        """Sorted names of all phases (bundled and user)."""
        return sorted(self._load())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._load()

    def info(self, name: str) -> PhaseInfo:
        """Metadata of ``name``.

        Raises
        ------
        PhaseError
            Unknown name (the message lists the known names).
        """
        infos = self._load()
        if name not in infos:
            raise PhaseError(f"unknown phase {name!r}; known phases: {', '.join(sorted(infos))}",
                             source="phase name")
        return infos[name]

    def table(self) -> list[PhaseInfo]:
        """Metadata of every phase, sorted by name."""
        infos = self._load()
        return [infos[n] for n in sorted(infos)]

    def get(self, name: str) -> Phase:
        """The phase ``name`` with its parsed structure (parsed once per library).

        Raises
        ------
        PhaseError
            Unknown name, or its CIF cannot be read.
        """
        info = self.info(name)
        if name not in self._structures:
            self._structures[name] = read_cif(info.cif_path)
        return Phase(name=name, structure=self._structures[name].copy(), info=info)

    # -- user phases -----------------------------------------------------------------
    def add_cif(self, path: Path | str, name: str | None = None, *,
                provenance: Provenance | None = None, persist: bool = True,
                temperature_K: float | None = None, notes: str = "") -> Phase:
        """Validate a CIF and add it to the library (and, by default, the user folder).

        Parameters
        ----------
        path
            CIF file.
        name
            Library name; default the file stem, lower-cased.  Letters, digits, ``.``,
            ``_`` and ``-``; must not clash with an existing phase.
        provenance
            Default ``Provenance("user", citation=<absolute file path>)``.
        persist
            Copy the CIF and write its metadata into :attr:`user_dir`; otherwise keep it
            in this library instance only.
        temperature_K, notes
            Optional metadata.

        Raises
        ------
        PhaseError
            Unreadable or invalid CIF (message names the file), bad or duplicate name.
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
