"""The IR band library: priors for band positions, widths and heights, with provenance.

The table lives in ``reference_data/ir_bands/bands.csv`` (see the README there for the columns
and sources). Most closo-borate positions are *unverified priors*: :attr:`Band.status` says so and
the fits keep each centre within ``position_cm1 ± bound_cm1``.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError

__all__ = ["Band", "BandLibrary", "load_band_library", "ANION_SPECIES", "BAND_TABLE",
           "B10_B12_AREA_PER_MOLE"]

#: File name of the band table inside ``reference_data/ir_bands``.
BAND_TABLE = "bands.csv"
#: The two closo anions the electrolyte is made of.
ANION_SPECIES = ("B12H12", "B10H10")
_STATUS = ("lit", "lit-approx", "unverified", "constructed")
_COLUMNS = ("species", "role", "mode", "position_cm1", "bound_cm1", "symmetry", "fwhm_cm1",
            "fwhm_min_cm1", "fwhm_max_cm1", "relative_height", "marker", "status", "source")
#: Optional columns and their default.
_OPTIONAL = {"pattern": "no"}


@dataclass(frozen=True)
class Band:
    """One band prior.

    Attributes
    ----------
    species, role, mode : str
        E.g. ``"B12H12"``, ``"anion"``, ``"nu_BH"``.
    position_cm1, bound_cm1 : float
        Prior centre and the half-width of the interval the fitted centre must stay in.
    symmetry : str
        Irreducible representation (empty if not applicable).
    fwhm_cm1, fwhm_min_cm1, fwhm_max_cm1 : float
        Width prior and its bounds.
    relative_height : float
        Peak height relative to the strongest band of the species.
    marker : bool
        Used by species templates for detection (opens a window of the template test).
    status : str
        ``lit``, ``lit-approx``, ``unverified`` or ``constructed``.
    source : str
        Provenance.
    pattern : bool
        Part of the species' required pattern: a species is flagged only when each of its
        pattern bands that should be visible is seen at about the expected strength and place
        (optional column; default: no).

    Examples
    --------
    >>> from irkit.bands import load_band_library
    >>> band = load_band_library().get("B12H12:nu_BH")
    >>> band.label, band.prefix, band.position_cm1, band.bound_cm1, band.fwhm_cm1   # cm⁻¹
    ('B12H12:nu_BH', 'B12H12_nu_BH_', 2480.0, 25.0, 40.0)
    >>> band.symmetry, band.status
    ('F1u', 'lit-approx')
    """

    species: str
    role: str
    mode: str
    position_cm1: float
    bound_cm1: float
    symmetry: str
    fwhm_cm1: float
    fwhm_min_cm1: float
    fwhm_max_cm1: float
    relative_height: float
    marker: bool
    status: str
    source: str
    pattern: bool = False

    @property
    def label(self) -> str:
        """``species:mode``, unique in a library."""
        return f"{self.species}:{self.mode}"

    @property
    def prefix(self) -> str:
        """Parameter-name prefix used in fits (``B12H12_nu_BH_``)."""
        clean = "".join(c if c.isalnum() else "_" for c in self.species)
        return f"{clean}_{self.mode}_"


@dataclass(frozen=True)
class BandLibrary:
    """An immutable collection of :class:`Band` priors.

    Attributes
    ----------
    bands : tuple of Band
        In table order; iterate over the library to get them.
    source : str
        Where the table came from (a file, or a description).

    Examples
    --------
    >>> from irkit.bands import load_band_library
    >>> lib = load_band_library()
    >>> lib.species[:4]
    ('B12H12', 'B10H10', 'isopropanol', 'water')
    >>> [band.label for band in lib if band.species == "water"]
    ['water:nu_OH', 'water:delta_HOH']
    """

    bands: tuple[Band, ...]
    source: str = "<constructed>"

    def __iter__(self):
        return iter(self.bands)

    def __len__(self) -> int:
        return len(self.bands)

    @property
    def species(self) -> tuple[str, ...]:
        """Species in table order."""
        return tuple(dict.fromkeys(b.species for b in self.bands))

    def select(self, species: str | tuple[str, ...] | None = None, *,
               low_cm1: float = 0.0, high_cm1: float = float("inf"),
               markers_only: bool = False) -> tuple[Band, ...]:
        """Bands of the given species whose prior centre lies in ``[low_cm1, high_cm1]``.

        Parameters
        ----------
        species : str or tuple of str, optional
            One species or several (default: all).
        low_cm1, high_cm1 : float
            Interval of the prior centres, cm⁻¹.
        markers_only : bool
            Only the bands a species template uses for detection.

        Returns
        -------
        tuple of Band
            In table order.

        Raises
        ------
        InputError
            A species the library does not have (the message lists them).

        Examples
        --------
        The ν(B–H) bands of both anions, which :func:`irkit.fit.fit_region` fits in the
        stretching region:

        >>> from irkit.bands import load_band_library
        >>> lib = load_band_library()
        >>> [b.label for b in lib.select(("B12H12", "B10H10"), low_cm1=2350, high_cm1=2650)]
        ['B12H12:nu_BH', 'B10H10:nu_BH_eq', 'B10H10:nu_BH_ap']
        >>> [b.position_cm1 for b in lib.select("isopropanol", markers_only=True)][-2:]  # cm⁻¹
        [950.0, 817.0]
        """
        wanted = (species,) if isinstance(species, str) else species
        if wanted is not None:
            unknown = set(wanted) - set(self.species)
            if unknown:
                raise InputError(f"unknown species {sorted(unknown)}; library has "
                                 f"{list(self.species)}", source=self.source)
        return tuple(
            b for b in self.bands
            if (wanted is None or b.species in wanted)
            and low_cm1 <= b.position_cm1 <= high_cm1
            and (b.marker or not markers_only)
        )

    def get(self, label: str) -> Band:
        """The band ``species:mode``.

        Parameters
        ----------
        label : str
            E.g. ``"B12H12:nu_BH"`` (:attr:`Band.label`).

        Returns
        -------
        Band

        Raises
        ------
        InputError
            No band with that label.

        Examples
        --------
        >>> from irkit.bands import load_band_library
        >>> band = load_band_library().get("B12H12:nu_BH")
        >>> band.position_cm1, band.bound_cm1, band.fwhm_cm1, band.status      # cm⁻¹
        (2480.0, 25.0, 40.0, 'lit-approx')
        """
        for b in self.bands:
            if b.label == label:
                return b
        raise InputError(f"no band {label!r} in the library", source=self.source)


def _parse_row(row: dict[str, str], lineno: int, source: str) -> Band:
    where = f"{source}:{lineno}"
    missing = [c for c in _COLUMNS if c not in row or row[c] is None]
    if missing:
        raise InputError(f"missing column(s) {missing}", source=where)
    try:
        nums = {c: float(row[c]) for c in ("position_cm1", "bound_cm1", "fwhm_cm1",
                                           "fwhm_min_cm1", "fwhm_max_cm1", "relative_height")}
    except ValueError as exc:
        raise InputError(f"non-numeric value ({exc})", source=where) from None
    if not (nums["fwhm_min_cm1"] <= nums["fwhm_cm1"] <= nums["fwhm_max_cm1"]):
        raise InputError("need fwhm_min_cm1 <= fwhm_cm1 <= fwhm_max_cm1", source=where)
    if nums["bound_cm1"] <= 0 or nums["relative_height"] < 0 or nums["fwhm_min_cm1"] <= 0:
        raise InputError("bound_cm1 and fwhm_min_cm1 must be > 0, relative_height >= 0",
                         source=where)
    flags = {}
    for column in ("marker", "pattern"):
        value = (row.get(column) or _OPTIONAL.get(column, "")).strip().lower()
        if value not in ("yes", "no"):
            raise InputError(f"column {column} must be yes/no, got {row.get(column)!r}",
                             source=where)
        flags[column] = value == "yes"
    status = row["status"].strip()
    if status not in _STATUS:
        raise InputError(f"column status must be one of {_STATUS}, got {status!r}", source=where)
    if not row["source"].strip():
        raise InputError("empty source: every band needs its provenance", source=where)
    return Band(species=row["species"].strip(), role=row["role"].strip(),
                mode=row["mode"].strip(), symmetry=row["symmetry"].strip(), marker=flags["marker"],
                pattern=flags["pattern"], status=status, source=row["source"].strip(), **nums)


def load_band_library(path: str | Path | None = None) -> BandLibrary:
    """Load the band table (default: ``reference_data/ir_bands/bands.csv``).

    Parameters
    ----------
    path : str or Path, optional
        A band table with the columns of ``reference_data/ir_bands/README.md`` (e.g. a copy
        with priors measured on your instrument). The default table is read once per process.

    Returns
    -------
    BandLibrary

    Raises
    ------
    InputError
        Missing file or column, non-numeric values, inconsistent widths, duplicated band labels,
        missing provenance.

    Examples
    --------
    >>> from irkit.bands import load_band_library
    >>> lib = load_band_library()
    >>> "B12H12" in lib.species and "B10H10" in lib.species
    True
    >>> all(band.source for band in lib)                   # every prior has its provenance
    True

    A table of your own, e.g. the bundled one with the B12H12²⁻ ν(B–H) prior moved to where your
    instrument puts it:

    >>> import pathlib, tempfile
    >>> from xrdkit.data import reference_data_dir
    >>> text = (reference_data_dir() / "ir_bands" / "bands.csv").read_text(encoding="utf-8")
    >>> mine = pathlib.Path(tempfile.mkdtemp()) / "bands.csv"
    >>> _ = mine.write_text(text.replace("B12H12,anion,nu_BH,2480,25,", "B12H12,anion,nu_BH,2485,5,"),
    ...                     encoding="utf-8")
    >>> band = load_band_library(mine).get("B12H12:nu_BH")
    >>> band.position_cm1, band.bound_cm1                  # cm⁻¹
    (2485.0, 5.0)
    """
    if path is None:
        return _default_library()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _default_library() -> BandLibrary:
    return _load(reference_data_dir() / "ir_bands" / BAND_TABLE)


def _load(path: Path) -> BandLibrary:
    source = str(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read band table ({exc.strerror})", source=source) from None
    if not rows:
        raise InputError("band table is empty", source=source)
    bands = tuple(_parse_row(r, i + 2, source) for i, r in enumerate(rows))
    labels = [b.label for b in bands]
    dup = {lab for lab in labels if labels.count(lab) > 1}
    if dup:
        raise InputError(f"duplicated band label(s) {sorted(dup)}", source=source)
    return BandLibrary(bands, source)


#: Integrated ν(B–H) area of B10H10²⁻ per mole relative to B12H12²⁻: **constructed** — equal
#: absorptivity per B–H oscillator (10 vs 12 per anion), motivated by the near-identical B–H
#: stretching of all closo anions (J. Chem. Soc. Dalton Trans. 1989, 2253). Calibrate it.
B10_B12_AREA_PER_MOLE = 10.0 / 12.0
