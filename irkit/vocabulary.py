"""The vocabulary of irkit's outputs: the IR flags, and the columns of an IR results file.

Defined once here and used by the verdict's JSON (:meth:`irkit.assess.IRVerdict.to_dict`, the
``verdict`` of ``irkit fit --json``), the summary table ``irkit batch`` writes
(:func:`irkit.batch.analyse_ref`: HDF5 ``/summary/<column>`` with ``units`` and ``long_name``
attributes from :func:`annotate`, and the CSV of ``--table``), the console output of
``irkit fit`` and the report. A test checks that every key and column irkit writes is described
here. The string values are a contract: JSON keys and CSV columns keep these spellings.

Kept free of heavy imports (no numpy, no lmfit), so readers of results can use it without the
fitting code; it shares :class:`xrdkit.schema.Column` and the batch engine's columns with the XRD
schema. Units follow UDUNITS as NeXus expects: ``"1"`` is dimensionless (absorbance, ratios,
R²), ``"cm-1"`` a wavenumber (and a band area, absorbance × cm⁻¹); flags and text have none.

Examples
--------
>>> from irkit.vocabulary import IRFlag, describe, SPECIES_FLAGS
>>> IRFlag.BINDER == "binder", IRFlag("protonation").name
(True, 'PROTONATION')
>>> IRFlag.OXIDATION.meaning
'B–O bands of oxidised borate (judged only with a borate)'
>>> [str(flag) for flag in SPECIES_FLAGS]
['isopropanol', 'methanol', 'water', 'oxidation', 'binder', 'protonation']
>>> describe("water_detection_limit").unit, describe("B12H12_nu_BH_center_cm1").unit
('1', 'cm-1')
>>> describe("no_such_column") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from xrdkit.schema import ENGINE_COLUMNS, Column

__all__ = [
    "IRFlag",
    "SPECIES_FLAGS",
    "BORATE_FLAGS",
    "CONTAMINANT_FLAGS",
    "FLAG_SPECIES",
    "FLAG_COLUMNS",
    "CO2_TEST",
    "DETAILS_KEY",
    "VERDICT_COLUMNS",
    "VERDICT_KEYS",
    "ColumnFamily",
    "SPECIES_FAMILIES",
    "REGION_FAMILIES",
    "BAND_FAMILIES",
    "BAND_STEM_PATTERN",
    "ARRAY_FAMILIES",
    "REGION_NAMES",
    "BATCH_COLUMNS",
    "describe",
    "describe_array",
    "annotate",
]


class IRFlag(StrEnum):
    """A yes/no finding of the IR verdict: the one spelling every output uses.

    The value is the JSON key of :meth:`irkit.assess.IRVerdict.to_dict` and the column of the
    batch table (``IRFlag.BINDER == "binder"``); a flag is True, False, or None when it was not
    judged (see :attr:`meaning`). Members are in the order the JSON lists them.

    Examples
    --------
    >>> from irkit.vocabulary import IRFlag
    >>> IRFlag("water") is IRFlag.WATER, IRFlag.WATER.meaning
    (True, 'water seen (liquid/adsorbed or vapour)')
    >>> [flag.value for flag in IRFlag][:3]
    ['borate_present', 'anions_intact', 'isopropanol']
    """

    #: A closo-borate is in the spectrum (ν(B–H) and, when covered, bending evidence).
    BORATE_PRESENT = "borate_present"
    #: The borate is present and not protonated (None without a borate).
    ANIONS_INTACT = "anions_intact"
    #: Isopropanol residue (band-library template).
    ISOPROPANOL = "isopropanol"
    #: Methanol residue (template from a real reference spectrum).
    METHANOL = "methanol"
    #: Water, liquid/adsorbed or vapour.
    WATER = "water"
    #: C–H / C=O absorption no recognised component explains.
    OTHER_ORGANIC = "other_organic"
    #: B–O bands of oxidised borate (None without a borate).
    OXIDATION = "oxidation"
    #: PVDF binder bands (a binder, not an impurity).
    BINDER = "binder"
    #: Protonated anion, [BnHn+1]⁻: ν(B–H) shifted up by 70–100 cm⁻¹ (None without a borate).
    PROTONATION = "protonation"

    @property
    def meaning(self) -> str:
        """What the flag says, in a few words (the ``long_name`` of its batch column)."""
        return FLAG_COLUMNS[self].long_name


#: Flags decided by one component test (:class:`irkit.assess.SpeciesTest`, with a height and a
#: detection limit), in the order the batch writes them (``<flag>``, ``<flag>_height``,
#: ``<flag>_detection_limit``).
SPECIES_FLAGS: tuple[IRFlag, ...] = (IRFlag.ISOPROPANOL, IRFlag.METHANOL, IRFlag.WATER,
                                     IRFlag.OXIDATION, IRFlag.BINDER, IRFlag.PROTONATION)
#: Flags judged only when a borate is present: None otherwise, with a note saying why.
BORATE_FLAGS: tuple[IRFlag, ...] = (IRFlag.ANIONS_INTACT, IRFlag.OXIDATION, IRFlag.PROTONATION)
#: Component flags named in ``contaminants`` (with their form, e.g. ``"water (vapour)"``);
#: unexplained organic absorption (:attr:`IRFlag.OTHER_ORGANIC`) is named after them.
CONTAMINANT_FLAGS: tuple[IRFlag, ...] = (IRFlag.ISOPROPANOL, IRFlag.METHANOL, IRFlag.WATER)
#: What each component flag is tested with: the band-library species (:mod:`irkit.bands`) or
#: reference template (:mod:`irkit.templates`; water also by its ``water_vapour`` template).
FLAG_SPECIES: dict[IRFlag, str] = {
    IRFlag.ISOPROPANOL: "isopropanol",
    IRFlag.METHANOL: "methanol",
    IRFlag.WATER: "water",
    IRFlag.OXIDATION: "B-O",
    IRFlag.BINDER: "PVDF",
    IRFlag.PROTONATION: "protonated",
}
#: The atmospheric CO₂ test: in the JSON ``details`` beside the flags' tests, but background
#: (instrument compensation), not a sample property, so not a flag.
CO2_TEST = "co2"
#: JSON key of the verdict's details (evidence, each test in full, notes); not a batch column.
DETAILS_KEY = "details"

#: Each flag as a column (no unit: True, False, or empty when not judged).
FLAG_COLUMNS: dict[IRFlag, Column] = {
    IRFlag.BORATE_PRESENT: Column(IRFlag.BORATE_PRESENT.value, None,
                                  "a closo-borate is in the spectrum"),
    IRFlag.ANIONS_INTACT: Column(IRFlag.ANIONS_INTACT.value, None,
                                 "the borate is present and not protonated"),
    IRFlag.ISOPROPANOL: Column(IRFlag.ISOPROPANOL.value, None, "isopropanol residue seen"),
    IRFlag.METHANOL: Column(IRFlag.METHANOL.value, None, "methanol residue seen"),
    IRFlag.WATER: Column(IRFlag.WATER.value, None, "water seen (liquid/adsorbed or vapour)"),
    IRFlag.OTHER_ORGANIC: Column(IRFlag.OTHER_ORGANIC.value, None,
                                 "C–H / C=O absorption no recognised component explains"),
    IRFlag.OXIDATION: Column(IRFlag.OXIDATION.value, None,
                             "B–O bands of oxidised borate (judged only with a borate)"),
    IRFlag.BINDER: Column(IRFlag.BINDER.value, None, "PVDF binder bands seen"),
    IRFlag.PROTONATION: Column(IRFlag.PROTONATION.value, None,
                               "protonated anion: shifted ν(B–H) band (judged only with a borate)"),
}

ANION = Column("anion", None, "which closo-borate: B12H12, B10H10 or both (empty without one)")
RATIO = Column("b10_b12_ratio", "1",
               "molar ratio n(B10H10²⁻)/n(B12H12²⁻) (empty when not identified)")
RATIO_SIGMA = Column("b10_b12_ratio_sigma", "1", "σ of the B10:B12 molar ratio")
RATIO_REASON = Column("b10_b12_ratio_reason", None,
                      "why the B10:B12 ratio is not reported (or how it was judged)")
CONTAMINANTS = Column("contaminants", None, "what was seen besides the borate, '; '-separated")

#: Keys of the verdict's JSON (:meth:`irkit.assess.IRVerdict.to_dict`) other than ``details``,
#: in order; the batch writes the same columns.
VERDICT_COLUMNS: tuple[Column, ...] = (
    FLAG_COLUMNS[IRFlag.BORATE_PRESENT], ANION,
    *(FLAG_COLUMNS[f] for f in IRFlag if f is not IRFlag.BORATE_PRESENT),
    RATIO, RATIO_SIGMA, RATIO_REASON, CONTAMINANTS,
)
#: Every key of the verdict's JSON, in order.
VERDICT_KEYS: tuple[str, ...] = (*(c.name for c in VERDICT_COLUMNS), DETAILS_KEY)


@dataclass(frozen=True)
class ColumnFamily:
    """A family of columns ``<key><suffix>``: one per flag, fitted region or band.

    Attributes
    ----------
    suffix : str
        Name after the key (e.g. ``"_height"``).
    unit : str or None
        UDUNITS unit (``"1"``: dimensionless).
    long_name : str
        Meaning, with ``{key}`` where the key goes.
    keys : tuple of str or None
        The keys the family has (None: any key matching ``key_pattern``).
    key_pattern : str
        Regular expression a key must match in full when ``keys`` is None (band stems
        ``<species>_<mode>`` of the band library: :data:`BAND_STEM_PATTERN`).

    Examples
    --------
    >>> from irkit.vocabulary import ColumnFamily
    >>> height = ColumnFamily("_height", "1", "fitted peak absorbance of the {key} test",
    ...                       ("water", "isopropanol"))
    >>> height.column("water")
    Column(name='water_height', unit='1', long_name='fitted peak absorbance of the water test')
    >>> height.key_of("isopropanol_height"), height.key_of("co2_height")
    ('isopropanol', None)
    """

    suffix: str
    unit: str | None
    long_name: str
    keys: tuple[str, ...] | None = None
    key_pattern: str = r".+"

    def column(self, key: str) -> Column:
        """The column of ``key``."""
        return Column(f"{key}{self.suffix}", self.unit, self.long_name.format(key=key))

    def key_of(self, name: str) -> str | None:
        """The key of column ``name`` when it belongs to this family, else None."""
        if not name.endswith(self.suffix) or len(name) <= len(self.suffix):
            return None
        key = name[: -len(self.suffix)]
        if self.keys is not None:
            return key if key in self.keys else None
        return key if re.fullmatch(self.key_pattern, key) else None


#: Regions the batch stores fits of (:data:`irkit.fit.REGIONS`; :func:`irkit.assess.assess`
#: names its stretching fit ``"stretch"`` also when it starts above atmospheric CO₂).
REGION_NAMES: tuple[str, ...] = ("stretch", "bend")

_SPECIES_KEYS = tuple(f.value for f in SPECIES_FLAGS)
SPECIES_HEIGHT = ColumnFamily(
    "_height", "1", "fitted peak absorbance of the strongest marker band of the {key} test",
    _SPECIES_KEYS)
SPECIES_DETECTION_LIMIT = ColumnFamily(
    "_detection_limit", "1",
    "detection limit of the {key} test (peak absorbance of its strongest marker band at "
    "irkit.assess.DETECTION_Z σ)",
    _SPECIES_KEYS)
#: Per component flag (:data:`SPECIES_FLAGS`): the test's height and detection limit.
SPECIES_FAMILIES: tuple[ColumnFamily, ...] = (SPECIES_HEIGHT, SPECIES_DETECTION_LIMIT)

REGION_R_SQUARED = ColumnFamily("_r_squared", "1", "R² of the {key} region fit", REGION_NAMES)
REGION_RMS_RESIDUAL = ColumnFamily("_rms_residual", "1",
                                   "rms residual (absorbance) of the {key} region fit",
                                   REGION_NAMES)
#: Per fitted region: fit quality.
REGION_FAMILIES: tuple[ColumnFamily, ...] = (REGION_R_SQUARED, REGION_RMS_RESIDUAL)

#: A band's column stem: ``<species>_<mode>`` (``Band.prefix`` without its trailing ``_``,
#: e.g. ``B12H12_nu_BH``, ``B-O_nu_BO``).
BAND_STEM_PATTERN = r"[A-Za-z0-9-]+_\w+"
BAND_CENTER = ColumnFamily("_center_cm1", "cm-1", "fitted centre of band {key}", None,
                           BAND_STEM_PATTERN)
BAND_CENTER_SIGMA = ColumnFamily("_center_sigma_cm1", "cm-1", "σ of the centre of band {key}",
                                 None, BAND_STEM_PATTERN)
BAND_FWHM = ColumnFamily("_fwhm_cm1", "cm-1", "full width at half maximum of band {key}", None,
                         BAND_STEM_PATTERN)
BAND_AREA = ColumnFamily("_area", "cm-1", "integrated area of band {key} (absorbance × cm⁻¹)",
                         None, BAND_STEM_PATTERN)
BAND_AREA_SIGMA = ColumnFamily("_area_sigma", "cm-1", "σ of the area of band {key}", None,
                               BAND_STEM_PATTERN)
#: Per fitted band (key: the band's ``<species>_<mode>``, e.g. ``B12H12_nu_BH``).
BAND_FAMILIES: tuple[ColumnFamily, ...] = (BAND_CENTER, BAND_CENTER_SIGMA, BAND_FWHM, BAND_AREA,
                                           BAND_AREA_SIGMA)

REGION_WAVENUMBER = ColumnFamily("_wavenumber_cm1", "cm-1",
                                 "wavenumber axis of the {key} region fit", REGION_NAMES)
REGION_BEST_FIT = ColumnFamily("_best_fit", "1",
                               "fitted absorbance (bands + baseline) of the {key} region",
                               REGION_NAMES)
REGION_RESIDUAL = ColumnFamily("_residual", "1", "data − fit (absorbance) of the {key} region",
                               REGION_NAMES)
#: Arrays stored per spectrum and fitted region (``/arrays/<region><suffix>``).
ARRAY_FAMILIES: tuple[ColumnFamily, ...] = (REGION_WAVENUMBER, REGION_BEST_FIT, REGION_RESIDUAL)

#: Scalar columns of one spectrum the batch always writes, in order (then, per component flag,
#: its height and detection limit; per fitted region and band, the families above).
BATCH_COLUMNS: tuple[Column, ...] = (
    FLAG_COLUMNS[IRFlag.BORATE_PRESENT], ANION, FLAG_COLUMNS[IRFlag.ANIONS_INTACT],
    RATIO, RATIO_SIGMA, RATIO_REASON, FLAG_COLUMNS[IRFlag.OTHER_ORGANIC], CONTAMINANTS,
    *(FLAG_COLUMNS[f] for f in SPECIES_FLAGS),
)

_BY_NAME = {c.name: c for c in (*ENGINE_COLUMNS, *VERDICT_COLUMNS, *BATCH_COLUMNS)}
# longest suffix first: "_area_sigma" before "_area", "_rms_residual" before nothing shorter
_FAMILIES = sorted((*SPECIES_FAMILIES, *REGION_FAMILIES, *BAND_FAMILIES),
                   key=lambda fam: -len(fam.suffix))


def _match(name: str, families: tuple[ColumnFamily, ...] | list[ColumnFamily]) -> Column | None:
    for fam in families:
        key = fam.key_of(name)
        if key is not None:
            return fam.column(key)
    return None


def describe(name: str) -> Column | None:
    """The :class:`~xrdkit.schema.Column` of a summary column of an IR results file (or a key
    of the verdict's JSON), or None for a name this vocabulary does not know.

    Parameters
    ----------
    name : str
        A summary column name.

    Returns
    -------
    Column or None

    Examples
    --------
    >>> describe("b10_b12_ratio").long_name
    'molar ratio n(B10H10²⁻)/n(B12H12²⁻) (empty when not identified)'
    >>> describe("B10H10_cage_area_sigma").long_name
    'σ of the area of band B10H10_cage'
    >>> describe("co2_height") is None       # CO₂ is background, not a flag
    True
    """
    if name in _BY_NAME:
        return _BY_NAME[name]
    return _match(name, _FAMILIES)


def describe_array(name: str) -> Column | None:
    """The :class:`~xrdkit.schema.Column` of an array the IR batch stores per spectrum
    (``stretch_best_fit`` …), or None.

    Parameters
    ----------
    name : str
        An array name of an IR results file (``/arrays/<name>``).

    Returns
    -------
    Column or None
        Name, UDUNITS unit and meaning; None for a name this vocabulary does not know.

    Examples
    --------
    >>> describe_array("bend_wavenumber_cm1").unit
    'cm-1'
    >>> describe_array("stretch_residual").long_name
    'data − fit (absorbance) of the stretch region'
    >>> describe_array("water_height") is None          # a summary column, not an array
    True
    """
    return _match(name, ARRAY_FAMILIES)


def annotate(results_path: str, *, overwrite: bool = False) -> int:
    """Give every summary column and array of an IR results file its ``units`` and
    ``long_name`` attributes (NeXus viewers show them on axes and in tables).

    Parameters
    ----------
    results_path : str or path
        ``RESULTS.h5`` written by :func:`irkit.batch.run_ir_batch`.
    overwrite : bool
        Replace attributes already there.

    Returns
    -------
    int
        Datasets annotated.

    Examples
    --------
    A file with one known summary column, one unknown and one array (written by hand here;
    ``irkit batch`` writes real ones):

    >>> import pathlib, tempfile
    >>> import h5py
    >>> import numpy as np
    >>> from irkit.vocabulary import annotate
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("summary/water_height", data=[0.01, 0.0])
    ...     _ = f.create_dataset("summary/my_note", data=[1.0, 2.0])
    ...     _ = f.create_dataset("arrays/stretch_wavenumber_cm1", data=np.zeros((2, 301)))
    >>> annotate(path), annotate(path)            # the second call finds them annotated
    (2, 0)
    >>> with h5py.File(path) as f:
    ...     print(f["arrays/stretch_wavenumber_cm1"].attrs["units"],
    ...           "|", f["summary/water_height"].attrs["long_name"], "|", dict(f["summary/my_note"].attrs))
    cm-1 | fitted peak absorbance of the strongest marker band of the water test | {}
    """
    from xrdkit.results import ARRAYS_GROUP, SUMMARY_GROUP
    from xrdkit.schema import annotate_groups

    return annotate_groups(results_path, {SUMMARY_GROUP: describe, ARRAYS_GROUP: describe_array},
                           overwrite=overwrite)
