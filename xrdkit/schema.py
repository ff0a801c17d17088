"""The columns of an XRD results file — names, units and meanings — defined once.

Every output of a batch uses these names: the HDF5 summary (``/summary/<column>``, which also
carries each column's ``units`` and ``long_name`` attributes, see :func:`annotate`), the CSV
table (:data:`TABLE_COLUMNS`), the JSON of ``xrdkit identify``, the report and the notebooks.
:func:`xrdkit.analysis.verdict_to_item` writes them, :mod:`xrdkit.report` reads them; a test
checks that every column written is described here.

Units follow UDUNITS spelling as NeXus expects (``"1"`` is a dimensionless fraction between 0
and 1, ``"angstrom"``, ``"s"``, ``"deg"``); text and flag columns have no unit.

Examples
--------
>>> from xrdkit import schema
>>> schema.PURITY.name, schema.PURITY.unit
('fcc_weight_fraction', '1')
>>> schema.describe("wt_sigma_nacro2").long_name
'σ of the weight fraction of nacro2 in the crystalline sample'
>>> schema.phase_column(schema.LATTICE_A, "nbh-fcc")
'lattice_a_nbh-fcc'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Column",
    "PhaseColumn",
    "ENGINE_COLUMNS",
    "SUMMARY_COLUMNS",
    "PHASE_COLUMNS",
    "LATTICE_COLUMNS",
    "TABLE_COLUMNS",
    "describe",
    "phase_column",
    "phase_of",
    "annotate",
    "annotate_groups",
]


@dataclass(frozen=True)
class Column:
    """One summary column.

    Attributes
    ----------
    name : str
        Column name in HDF5, CSV and JSON.
    unit : str or None
        UDUNITS unit (``"1"``: a fraction 0–1); None for text and flags.
    long_name : str
        What it means, in a few words (the HDF5 ``long_name`` attribute, plot labels).

    Examples
    --------
    >>> RWP
    Column(name='rwp', unit='1', long_name='weighted-profile R factor of the chosen model')
    >>> ELAPSED.unit, STATUS.unit is None   # seconds; a text column has no unit
    ('s', True)
    """

    name: str
    unit: str | None
    long_name: str


@dataclass(frozen=True)
class PhaseColumn:
    """A family of per-phase columns, ``<prefix><phase>``.

    Attributes
    ----------
    prefix : str
        Name before the phase name (e.g. ``"wt_"``).
    unit : str or None
        As :attr:`Column.unit`.
    long_name : str
        Meaning, with ``{phase}`` where the phase name goes.

    Examples
    --------
    >>> LATTICE_A.column("nbh-fcc")
    Column(name='lattice_a_nbh-fcc', unit='angstrom', long_name='lattice parameter a of nbh-fcc')
    >>> WEIGHT_FRACTION.column("al").name
    'wt_al'
    """

    prefix: str
    unit: str | None
    long_name: str

    def column(self, phase: str) -> Column:
        """The column of ``phase``."""
        return Column(f"{self.prefix}{phase}", self.unit, self.long_name.format(phase=phase))


# ---- written by the engine (xrdkit.results.RESERVED_COLUMNS) -------------------------------
ID = Column("id", None, "scan id: CANONICAL_FILE::/hdf5/path[index]")
STATUS = Column("status", None, "ok, or error (the analysis failed; see error)")
ERROR = Column("error", None, "one-line error message of a failed analysis")
INDEX = Column("index", None, "position of the scan in the batch's input order")
SOURCE = Column("source", None, "where the scan was read from")
ELAPSED = Column("elapsed_s", "s", "time the analysis of this scan took")
N_WARNINGS = Column("n_warnings", None, "warnings raised while analysing this scan")
WARNINGS = Column("warnings", None, "those warnings, one per line")
ROW = Column("row", None, "row of this scan's arrays in /arrays")
#: Columns the batch engine writes for every item (ok or not).
ENGINE_COLUMNS: tuple[Column, ...] = (ID, INDEX, STATUS, ERROR, ELAPSED, SOURCE, N_WARNINGS, WARNINGS, ROW)
# ---- the verdict ----------------------------------------------------------------------------
VERDICT = Column("verdict", None, "fcc, separate, mixed, no-borate or unexplained (xrdkit.Verdict)")
PURITY = Column("fcc_weight_fraction", "1",
                "fcc NBH share of the crystalline closo-borate (empty when it cannot be given)")
PURITY_SIGMA = Column("fcc_weight_fraction_sigma", "1", "σ of the fcc share of the borates")
DETECTION_LIMIT = Column("detection_limit", "1",
                         "smallest separately crystallised borate share this scan would have shown")
DETECTION_LIMIT_BASIS = Column("detection_limit_basis", None,
                               "how the detection limit was found (competing_fit or score_test)")
UNEXPLAINED_SHARE = Column("unexplained_intensity_share", "1",
                           "share of the crystalline intensity no model explains")
AMORPHOUS_SHARE = Column("amorphous_intensity_share", "1",
                         "share of the scattered intensity in the amorphous hump")
# ---- the chosen model's fit -----------------------------------------------------------------
RWP = Column("rwp", "1", "weighted-profile R factor of the chosen model")
GOF = Column("gof", "1", "goodness of fit (reduced χ², square root) of the chosen model")
CONVERGED = Column("converged", None, "the least-squares fit converged")
N_RESIDUAL_PEAKS = Column("n_residual_peaks", "1", "significant peaks no model explains")
PHASES = Column("phases", None, "phases of the chosen model, comma-separated")
MODELS_MISSING = Column("models_missing", None,
                        "room-temperature borates without a structure model, comma-separated")
FIT_TIME = Column("fit_time_s", "s", "time of the chosen model's refinement")

#: Scalar columns of one analysed scan, in the order they are written.
SUMMARY_COLUMNS: tuple[Column, ...] = (
    VERDICT, PURITY, PURITY_SIGMA, DETECTION_LIMIT, DETECTION_LIMIT_BASIS, UNEXPLAINED_SHARE,
    AMORPHOUS_SHARE, RWP, GOF, CONVERGED, N_RESIDUAL_PEAKS, PHASES, MODELS_MISSING, FIT_TIME,
)

WEIGHT_FRACTION = PhaseColumn("wt_", "1", "weight fraction of {phase} in the crystalline sample")
WEIGHT_FRACTION_SIGMA = PhaseColumn("wt_sigma_", "1",
                                    "σ of the weight fraction of {phase} in the crystalline sample")
LATTICE_A = PhaseColumn("lattice_a_", "angstrom", "lattice parameter a of {phase}")
LATTICE_A_SIGMA = PhaseColumn("lattice_a_sigma_", "angstrom", "σ of the lattice parameter a of {phase}")
LATTICE_B = PhaseColumn("lattice_b_", "angstrom", "lattice parameter b of {phase}")
LATTICE_B_SIGMA = PhaseColumn("lattice_b_sigma_", "angstrom", "σ of the lattice parameter b of {phase}")
LATTICE_C = PhaseColumn("lattice_c_", "angstrom", "lattice parameter c of {phase}")
LATTICE_C_SIGMA = PhaseColumn("lattice_c_sigma_", "angstrom", "σ of the lattice parameter c of {phase}")
LATTICE_ALPHA = PhaseColumn("lattice_alpha_", "deg", "lattice angle α of {phase}")
LATTICE_ALPHA_SIGMA = PhaseColumn("lattice_alpha_sigma_", "deg", "σ of the lattice angle α of {phase}")
LATTICE_BETA = PhaseColumn("lattice_beta_", "deg", "lattice angle β of {phase}")
LATTICE_BETA_SIGMA = PhaseColumn("lattice_beta_sigma_", "deg", "σ of the lattice angle β of {phase}")
LATTICE_GAMMA = PhaseColumn("lattice_gamma_", "deg", "lattice angle γ of {phase}")
LATTICE_GAMMA_SIGMA = PhaseColumn("lattice_gamma_sigma_", "deg", "σ of the lattice angle γ of {phase}")
#: Scan metadata copied from the input (``meta_<key>``; units as the input gave them).
METADATA = PhaseColumn("meta_", None, "scan metadata {phase} from the input file")

#: The value and σ column families of each lattice parameter (keys as
#: :attr:`xrdkit.refine.PhaseResult.lattice` names them).
LATTICE_COLUMNS: dict[str, tuple[PhaseColumn, PhaseColumn]] = {
    "a": (LATTICE_A, LATTICE_A_SIGMA), "b": (LATTICE_B, LATTICE_B_SIGMA), "c": (LATTICE_C, LATTICE_C_SIGMA),
    "alpha": (LATTICE_ALPHA, LATTICE_ALPHA_SIGMA), "beta": (LATTICE_BETA, LATTICE_BETA_SIGMA),
    "gamma": (LATTICE_GAMMA, LATTICE_GAMMA_SIGMA),
}

#: Per-phase column families (the longest prefix that matches wins in :func:`describe`).
PHASE_COLUMNS: tuple[PhaseColumn, ...] = (
    WEIGHT_FRACTION, WEIGHT_FRACTION_SIGMA, *(family for pair in LATTICE_COLUMNS.values() for family in pair),
)

#: Leading columns of the CSV table of ``xrdkit batch --table`` (``id`` is written as ``scan``):
#: the issue-5 contract, then the amorphous share and the detection limit (issue 15). A missing
#: value (the purity of a no-borate scan, anything of an error row) is an empty cell.
TABLE_COLUMNS: tuple[str, ...] = (
    ID.name, STATUS.name, VERDICT.name, PURITY.name, PURITY_SIGMA.name, RWP.name, GOF.name, ERROR.name,
    AMORPHOUS_SHARE.name, DETECTION_LIMIT.name,
)

_BY_NAME = {c.name: c for c in (*ENGINE_COLUMNS, *SUMMARY_COLUMNS)}


def phase_column(family: PhaseColumn, phase: str) -> str:
    """Name of ``phase``'s column of ``family`` (e.g. ``wt_nacro2``).

    Parameters
    ----------
    family : PhaseColumn
        E.g. :data:`WEIGHT_FRACTION`.
    phase : str
        Phase name as in the phase library.

    Returns
    -------
    str
        ``<prefix><phase>``; :func:`phase_of` reads the phase back.

    Examples
    --------
    >>> phase_column(WEIGHT_FRACTION_SIGMA, "nacro2")
    'wt_sigma_nacro2'
    >>> phase_of(WEIGHT_FRACTION_SIGMA, phase_column(WEIGHT_FRACTION_SIGMA, "nacro2"))
    'nacro2'
    """
    return f"{family.prefix}{phase}"


def phase_of(family: PhaseColumn, name: str) -> str | None:
    """The phase a column of ``family`` belongs to, or None when ``name`` is not one of its
    columns (``wt_sigma_al`` is not a ``wt_`` column: longer prefixes are tried first).

    Parameters
    ----------
    family : PhaseColumn
        E.g. :data:`WEIGHT_FRACTION`.
    name : str
        A summary column name.

    Returns
    -------
    str or None
        The phase name (the part after the prefix); None when ``name`` belongs to another
        family or to none.

    Examples
    --------
    >>> phase_of(WEIGHT_FRACTION, "wt_al"), phase_of(WEIGHT_FRACTION, "wt_sigma_al")
    ('al', None)
    """
    match = _family_of(name)
    if match is not family:
        return None
    return name[len(family.prefix):]


def _family_of(name: str) -> PhaseColumn | None:
    best = None
    for fam in (*PHASE_COLUMNS, METADATA):
        if name.startswith(fam.prefix) and len(name) > len(fam.prefix) \
                and (best is None or len(fam.prefix) > len(best.prefix)):
            best = fam
    return best


def describe(name: str) -> Column | None:
    """The :class:`Column` named ``name`` (per-phase and metadata columns included), or None
    for a column this schema does not know.

    Parameters
    ----------
    name : str
        A summary column name.

    Returns
    -------
    Column or None

    Examples
    --------
    >>> describe("amorphous_intensity_share").unit
    '1'
    >>> describe("lattice_a_nbh-fcc").unit
    'angstrom'
    >>> describe("no_such_column") is None
    True
    """
    if name in _BY_NAME:
        return _BY_NAME[name]
    fam = _family_of(name)
    return fam.column(name[len(fam.prefix):]) if fam is not None else None


def annotate(results_path: str, *, overwrite: bool = False) -> int:
    """Give every summary column of a results file its ``units`` and ``long_name`` attributes
    (NeXus viewers show them on axes and in tables).

    Parameters
    ----------
    results_path : str or path
        ``RESULTS.h5`` written by :func:`xrdkit.batch.run_batch` (consolidated).
    overwrite : bool
        Replace attributes already there.

    Returns
    -------
    int
        Columns annotated (0 for a file without a summary group).

    Examples
    --------
    A hand-made results file with two summary columns, one of them per phase:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import h5py
    >>> path = Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("summary/rwp", data=[0.051, 0.062])
    ...     _ = f.create_dataset("summary/lattice_a_nbh-fcc", data=[10.12, 10.13])
    >>> annotate(path)
    2
    >>> with h5py.File(path) as f:
    ...     attrs = f["summary/lattice_a_nbh-fcc"].attrs
    ...     print(attrs["units"], "|", attrs["long_name"])
    angstrom | lattice parameter a of nbh-fcc
    >>> annotate(path)   # already annotated: nothing to do without overwrite
    0
    """
    from xrdkit.results import SUMMARY_GROUP

    return annotate_groups(results_path, {SUMMARY_GROUP: describe}, overwrite=overwrite)


def annotate_groups(results_path: str | os.PathLike[str],
                    lookups: Mapping[str, Callable[[str], Column | None]], *, overwrite: bool = False) -> int:
    """Give the datasets of groups of an HDF5 file the ``units`` and ``long_name`` of their
    :class:`Column` (what :func:`annotate` and :func:`irkit.vocabulary.annotate` do).

    Parameters
    ----------
    results_path : str or path
        HDF5 file, opened for writing.
    lookups : mapping of str to callable
        Group name → ``describe(dataset name) -> Column or None``; datasets it does not know,
        sub-groups and missing groups are left alone.
    overwrite : bool
        Replace attributes already there.

    Returns
    -------
    int
        Datasets annotated.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import h5py
    >>> path = Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("table/rwp", data=[0.05])
    >>> annotate_groups(path, {"table": describe, "absent": describe})
    1
    """
    import h5py

    n = 0
    with h5py.File(results_path, "r+") as f:
        for group_name, lookup in lookups.items():
            group = f.get(group_name)
            if group is None:
                continue
            for name, ds in group.items():
                col = lookup(name)
                if col is None or not isinstance(ds, h5py.Dataset) or (
                        not overwrite and "long_name" in ds.attrs):
                    continue
                ds.attrs["long_name"] = col.long_name
                if col.unit is not None:
                    ds.attrs["units"] = col.unit
                n += 1
    return n
