"""A single self-contained HTML report of a batch results file (and optionally IR results).

:func:`build_report` reads a ``RESULTS.h5`` written by :func:`xrdkit.batch.run_batch` (layout in
:mod:`xrdkit.results`) and writes ONE HTML file that opens in any browser with no network:

- every figure is a PNG embedded as a ``data:`` URI (no SVG, whose namespace is a URL);
- the only styling is an inline ``<style>`` block; there is no ``<script>`` and no link to any
  external resource; ``http://``/``https://`` in provenance texts are shown without the scheme
  (``doi.org/…``), so the file holds no clickable external reference at all;
- it lists every scan with its verdict (:class:`xrdkit.vocabulary.Verdict`), fcc fraction ± σ
  (none for ``no-borate``; a σ of 0 is not shown) and amorphous share of the intensity, a
  summary figure (fcc fraction and amorphous share vs temperature or scan), the lattice
  parameter where stored, Rietveld plots of the first, last and
  worst (highest Rwp) scans, the IR verdicts when given, the software versions, the phase models'
  provenance and the inputs' provenance (results-file attributes, source files with their
  ``provenance``/``illustrative`` attributes). Inputs flagged illustrative or constructed get a
  banner at the top: a constructed example is never presented as a measurement.

The figure builders (:func:`summary_figure`, :func:`lattice_figure`, :func:`stored_fit_figure`,
:func:`series_map_figure`, :func:`ir_fit_figure`) are public so notebooks draw the same figures.
They return matplotlib :class:`~matplotlib.figure.Figure` objects made with
:func:`xrdkit.plot.new_figure` (Agg, never pyplot).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import logging
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import h5py
import numpy as np

from xrdkit import schema
from xrdkit.errors import InputError
from xrdkit.hdf5 import split_spec
from xrdkit.plot import PHASE_COLOURS, new_figure
from xrdkit.results import ItemRecord, Scalar, read_item, read_summary

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from xrdkit.vocabulary import Verdict

__all__ = [
    "SOFTWARE",
    "ResultsTable",
    "SourceProvenance",
    "load_results",
    "software_versions",
    "source_provenance",
    "phase_markers_deg",
    "short_id",
    "VerdictStyle",
    "verdict_styles",
    "summary_figure",
    "lattice_figure",
    "stored_fit_figure",
    "series_map_figure",
    "ir_fit_figure",
    "figure_to_data_uri",
    "build_report",
]

logger = logging.getLogger(__name__)

#: Distributions whose versions the report lists (closokit first).
SOFTWARE = ("closokit", "numpy", "scipy", "pymatgen", "lmfit", "h5py", "matplotlib", "xrayutilities",
            "pybaselines")
#: Resolution of the embedded PNGs (dots per inch; figures are 8–9 in wide → ≈ 900 px).
FIGURE_DPI = 100
#: Most Rietveld plots embedded (first, last, worst Rwp — fewer when they coincide).
MAX_RIETVELD_PLOTS = 3
#: Most phases in the lattice-parameter figure.
MAX_LATTICE_PANELS = 3
#: Arrays an item must hold for a Rietveld plot.
FIT_ARRAYS = ("two_theta_deg", "observed", "calculated")
#: Temperature columns, first found wins (``xrdkit.analysis`` stores scan metadata as ``meta_*``).
_TEMPERATURE_COLUMNS = (("temperature", "temperature_units"),
                        ("meta_temperature", "meta_temperature_units"))
_SCHEME = re.compile(r"https?://", re.IGNORECASE)


class VerdictStyle(NamedTuple):
    """How a verdict is drawn: matplotlib colour and marker, HTML text colour.

    Attributes
    ----------
    colour : str
        matplotlib colour of the verdict's points.
    marker : str
        matplotlib marker.
    css_colour : str
        Text colour of the verdict in the HTML scan table.

    Examples
    --------
    >>> from xrdkit.report import VerdictStyle
    >>> VerdictStyle("tab:green", "o", "#1a7f37").marker
    'o'
    """

    colour: str
    marker: str
    css_colour: str


def verdict_styles() -> dict[Verdict, VerdictStyle]:
    """Verdict → style in the summary figure and the scan table (every verdict has one).

    Returns
    -------
    dict of Verdict to VerdictStyle
        One entry per :class:`~xrdkit.vocabulary.Verdict`.

    Examples
    --------
    >>> from xrdkit.report import verdict_styles
    >>> from xrdkit.vocabulary import Verdict
    >>> styles = verdict_styles()
    >>> set(styles) == set(Verdict), styles[Verdict.FCC], styles["no-borate"].marker
    (True, VerdictStyle(colour='tab:green', marker='o', css_colour='#1a7f37'), 'x')
    """
    from xrdkit.vocabulary import Verdict

    return {
        Verdict.FCC: VerdictStyle("tab:green", "o", "#1a7f37"),
        Verdict.MIXED: VerdictStyle("tab:orange", "o", "#b35900"),
        Verdict.SEPARATE: VerdictStyle("tab:red", "o", "#c62828"),
        Verdict.NO_BORATE: VerdictStyle("0.45", "x", "#555555"),
        Verdict.UNEXPLAINED: VerdictStyle("tab:purple", "o", "#6a1b9a"),
    }


#: Style of a verdict string the vocabulary does not know (an older or foreign results file).
_OTHER_STYLE = VerdictStyle("0.4", "o", "#222222")


def _verdict_of(value: Any) -> Verdict | None:
    """The stored verdict as a :class:`~xrdkit.identify.Verdict` (None: missing or unknown)."""
    from xrdkit.vocabulary import Verdict

    try:
        return Verdict(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsTable:
    """A results file's summary rows and root attributes.

    Attributes
    ----------
    path : Path
        The results file.
    rows : tuple of dict
        One dict per item (``read_summary`` order: item order once the batch is complete).
    attrs : dict
        Root attributes (``format``, ``closokit_version``, ``created``, ``updated``,
        ``config_json``, ``complete``, ``n_items`` …) as plain Python values.

    Examples
    --------
    Read from a file by :func:`load_results`; made in memory here (three scans of a heating
    run, the last without crystalline borate):

    >>> from pathlib import Path
    >>> from xrdkit.report import ResultsTable
    >>> rows = tuple({"id": f"scan_{i}", "status": "ok", "verdict": verdict, "fcc_weight_fraction": w,
    ...               "fcc_weight_fraction_sigma": 0.02, "meta_temperature": t_c,
    ...               "meta_temperature_units": "degC", "phases": "nbh-fcc",
    ...               "lattice_a_nbh-fcc": a, "lattice_a_sigma_nbh-fcc": 0.001}
    ...              for i, (verdict, w, t_c, a) in enumerate([("fcc", 1.0, 25.0, 10.029),
    ...                                                        ("mixed", 0.9, 100.0, 10.046),
    ...                                                        ("no-borate", None, 180.0, None)]))
    >>> table = ResultsTable(Path("RESULTS.h5"), rows, {})
    >>> table.ids, table.column("fcc_weight_fraction").tolist()
    (['scan_0', 'scan_1', 'scan_2'], [1.0, 0.9, nan])
    >>> table.temperature()[1], table.phase_names(), table.has("lattice_a_nbh-fcc")
    ('degC', ['nbh-fcc'], True)
    """

    path: Path
    rows: tuple[Mapping[str, Scalar | None], ...]
    attrs: Mapping[str, Any]

    def column(self, name: str) -> np.ndarray:
        """A numeric column as float array (NaN where missing or not numeric)."""
        out = np.full(len(self.rows), np.nan)
        for i, row in enumerate(self.rows):
            v = row.get(name)
            if isinstance(v, bool | int | float):
                out[i] = float(v)
        return out

    def has(self, name: str) -> bool:
        """True when any row has a value in column ``name``."""
        return any(row.get(name) is not None for row in self.rows)

    def temperature(self) -> tuple[np.ndarray, str]:
        """Temperature per row (NaN if unknown) and its unit (``""`` if not stored)."""
        for col, unit_col in _TEMPERATURE_COLUMNS:
            if self.has(col):
                unit = next((str(r[unit_col]) for r in self.rows if r.get(unit_col)), "")
                return self.column(col), unit
        return np.full(len(self.rows), np.nan), ""

    @property
    def ids(self) -> list[str]:
        """Item ids in row order."""
        return [str(r["id"]) for r in self.rows]

    def phase_names(self) -> list[str]:
        """Phases named by the ``phases`` column (comma-separated) or by ``wt_<phase>`` columns."""
        names: list[str] = []
        for row in self.rows:
            for col, v in row.items():
                phase = schema.phase_of(schema.WEIGHT_FRACTION, col)
                if v is not None and phase is not None:
                    names.append(phase)
            listed = row.get(schema.PHASES.name)
            if isinstance(listed, str):
                names.extend(n for n in (p.strip() for p in listed.split(",")) if n)
        return list(dict.fromkeys(names))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "OSU" else value.tolist()
    return value


def load_results(path: str | os.PathLike[str]) -> ResultsTable:
    """Read the summary and root attributes of a results file.

    Parameters
    ----------
    path : path
        A results file (``RESULTS.h5``).

    Returns
    -------
    ResultsTable
        Its summary rows (:func:`xrdkit.results.read_summary`) and root attributes.

    Raises
    ------
    InputError
        The file is missing, not HDF5 or not a closokit results file.

    Examples
    --------
    A three-scan results file written by hand (``xrdkit batch`` writes real ones):

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from xrdkit.results import ItemRecord, ResultsStore
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> x = np.linspace(14.0, 16.0, 201)                              # degrees 2θ
    >>> peak = 1000.0 * np.exp(-0.5 * ((x - 15.3) / 0.05) ** 2)
    >>> with ResultsStore(out) as store:
    ...     for i, (t_c, w) in enumerate([(25.0, 1.0), (100.0, 0.9), (180.0, 0.8)]):
    ...         _ = store.append(ItemRecord(
    ...             f"scan_{i}", i, "", "ok",
    ...             scalars={"verdict": "fcc" if w == 1.0 else "mixed", "fcc_weight_fraction": w,
    ...                      "meta_temperature": t_c},
    ...             arrays={"two_theta_deg": x, "observed": (1 + i) * peak + 50.0,
    ...                     "calculated": (1 + i) * peak + 50.0}))
    ...     store.finalize()
    >>> from xrdkit.report import load_results
    >>> table = load_results(out)
    >>> len(table.rows), table.attrs["format"], table.column("meta_temperature").tolist()    # °C
    (3, 'closokit-results', [25.0, 100.0, 180.0])
    """
    path = Path(path)
    rows = read_summary(path)  # validates the format (InputError)
    with h5py.File(path, "r") as f:
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
    return ResultsTable(path=path, rows=tuple(rows), attrs=attrs)


def software_versions(names: Sequence[str] = SOFTWARE) -> dict[str, str]:
    """Installed version of each distribution (``"not installed"`` if absent) and Python.

    Parameters
    ----------
    names : sequence of str
        Distribution names (default: :data:`SOFTWARE`).

    Returns
    -------
    dict of str to str
        ``python`` first, then each name → its version.

    Examples
    --------
    >>> import numpy
    >>> from xrdkit.report import software_versions
    >>> versions = software_versions(("numpy", "no-such-distribution"))
    >>> list(versions), versions["numpy"] == numpy.__version__, versions["no-such-distribution"]
    (['python', 'numpy', 'no-such-distribution'], True, 'not installed')
    """
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class SourceProvenance:
    """What a source data file says about itself.

    Attributes
    ----------
    file : str
        The file as named in the results (``source`` column, before ``::``).
    resolved : str
        Where it was found at report time (``""`` if not found).
    n_items : int
        Items of the results that came from it.
    provenance : str
        Root ``provenance`` attribute (``""`` if none).
    illustrative : bool or None
        Root ``illustrative`` attribute (None if absent).

    Examples
    --------
    Made by :func:`source_provenance` (which shows more):

    >>> from xrdkit.report import SourceProvenance
    >>> SourceProvenance("scan.xy", "", 1, "measured 2026-01-12, MiniFlex 600", None).constructed
    False
    >>> SourceProvenance("demo.h5", "", 4, "CONSTRUCTED synthetic data", None).constructed
    True
    """

    file: str
    resolved: str
    n_items: int
    provenance: str
    illustrative: bool | None

    @property
    def constructed(self) -> bool:
        """True when the file is flagged illustrative or its provenance says constructed."""
        return bool(self.illustrative) or bool(
            re.search(r"\b(constructed|synthetic|illustrative)\b", self.provenance, re.IGNORECASE)
        )


def _source_of(row: Mapping[str, Scalar | None]) -> str:
    """The row's ``source``; else its id when that is a ``file::/path`` spec (batch ids are)."""
    src = row.get("source")
    if src:
        return str(src)
    item_id = str(row.get("id") or "")
    return item_id if "::" in item_id else ""


def short_id(item_id: str) -> str:
    """``file.h5::/entry/data`` → ``file.h5::/entry/data`` without the file's folder.

    Parameters
    ----------
    item_id : str
        An item id (``FILE::/path[index]`` for batch items, anything otherwise).

    Returns
    -------
    str
        The id with the file's folder dropped (other ids unchanged).

    Examples
    --------
    >>> from xrdkit.report import short_id
    >>> short_id("/data/run 3/electrodes.h5::/electrode_01/data"), short_id("scan_0")
    ('electrodes.h5::/electrode_01/data', 'scan_0')
    """
    file, sep, rest = str(item_id).partition("::")
    return f"{Path(file).name}{sep}{rest}" if sep else str(item_id)


def _resolve(file: str, base: Path) -> Path | None:
    for cand in (Path(file), base / file):
        if cand.is_file():
            return cand
    return None


def source_provenance(table: ResultsTable) -> list[SourceProvenance]:
    """Provenance of every source file named in the results' ``source`` column.

    Files are looked up as named (relative to the working directory) and relative to the
    results file's folder; a file that cannot be found or opened is listed with empty fields.

    Parameters
    ----------
    table : ResultsTable
        The results (its ``source`` column, else ``FILE::/path`` ids).

    Returns
    -------
    list of SourceProvenance
        One per source file, in first-seen order.

    Examples
    --------
    Two items from the bundled electrodes file, which says it is constructed:

    >>> from pathlib import Path
    >>> from xrdkit.data import example_file
    >>> from xrdkit.report import ResultsTable, source_provenance
    >>> electrodes = str(example_file("electrodes.h5"))
    >>> table = ResultsTable(Path("RESULTS.h5"), tuple(
    ...     {"id": f"{electrodes}::/electrode_0{i}/data", "source": f"{electrodes}::/electrode_0{i}/data"}
    ...     for i in (1, 2)), {})
    >>> [src] = source_provenance(table)
    >>> src.n_items, src.constructed, src.provenance.split(":")[0]
    (2, True, 'CONSTRUCTED synthetic data, not measured')
    """
    counts: dict[str, int] = {}
    for row in table.rows:
        src = _source_of(row)
        if not src:
            continue
        file = split_spec(str(src))[0]
        counts[file] = counts.get(file, 0) + 1
    out = []
    for file, n in counts.items():
        found = _resolve(file, table.path.parent)
        prov, illus = "", None
        if found is not None:
            try:
                with h5py.File(found, "r") as f:
                    prov = str(_plain(f.attrs.get("provenance", "")))
                    raw = f.attrs.get("illustrative")
                    illus = None if raw is None else bool(_plain(raw))
            except OSError as exc:  # not HDF5 (a text scan) or unreadable: list it anyway
                logger.info("%s: no HDF5 provenance attributes (%s)", found, exc)
        out.append(SourceProvenance(file, "" if found is None else str(found), n, prov, illus))
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def figure_to_data_uri(fig: Figure, *, dpi: int = FIGURE_DPI) -> str:
    """The figure as a ``data:image/png;base64,…`` URI.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int
        Resolution of the PNG (dots per inch).

    Returns
    -------
    str
        The URI, for an ``<img src=…>`` that needs no file and no network.

    Examples
    --------
    >>> import base64
    >>> from xrdkit.plot import new_figure
    >>> from xrdkit.report import figure_to_data_uri
    >>> fig = new_figure(figsize=(2, 1))
    >>> uri = figure_to_data_uri(fig, dpi=50)
    >>> uri.startswith("data:image/png;base64,"), base64.b64decode(uri.split(",")[1])[:4]
    (True, b'\\x89PNG')
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _x_axis(table: ResultsTable) -> tuple[np.ndarray, str]:
    """Temperature when it varies across the items, else the item index."""
    temp, units = table.temperature()
    if np.isfinite(temp).sum() >= 2 and np.nanmax(temp) > np.nanmin(temp):
        return temp, f"temperature ({units})" if units else "temperature"
    return np.arange(1, len(table.rows) + 1, dtype=float), "scan # (as in the table)"


def _integer_ticks(ax: Any, xlabel: str) -> None:
    """Whole-number x ticks when the x axis is the scan number."""
    if xlabel.startswith("scan"):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


#: Height (wt %) at which scans without a purity (``no-borate``, …) are marked in the summary figure.
NO_PURITY_MARK_PCT = -2.0


def summary_figure(table: ResultsTable) -> Figure:
    """fcc weight fraction of the closo-borates ± σ vs temperature (or scan), coloured by verdict.

    Scans without a purity (``no-borate``; NaN in the table) are marked at the bottom of the
    axis, not drawn as a number. When the table has the ``amorphous_intensity_share`` column (:data:`xrdkit.schema.AMORPHOUS_SHARE`), a second panel
    below shows the amorphous share of the scattered intensity on the same x axis.

    Parameters
    ----------
    table : ResultsTable
        The results (:func:`load_results`).

    Returns
    -------
    matplotlib.figure.Figure
        One panel (two with an amorphous column); x: temperature when it varies, else the
        scan number.

    Examples
    --------
    >>> from pathlib import Path
    >>> from xrdkit.report import ResultsTable
    >>> rows = tuple({"id": f"scan_{i}", "status": "ok", "verdict": verdict, "fcc_weight_fraction": w,
    ...               "fcc_weight_fraction_sigma": 0.02, "meta_temperature": t_c,
    ...               "meta_temperature_units": "degC", "phases": "nbh-fcc",
    ...               "lattice_a_nbh-fcc": a, "lattice_a_sigma_nbh-fcc": 0.001}
    ...              for i, (verdict, w, t_c, a) in enumerate([("fcc", 1.0, 25.0, 10.029),
    ...                                                        ("mixed", 0.9, 100.0, 10.046),
    ...                                                        ("no-borate", None, 180.0, None)]))
    >>> table = ResultsTable(Path("RESULTS.h5"), rows, {})
    >>> from xrdkit.report import summary_figure
    >>> fig = summary_figure(table)
    >>> len(fig.axes), fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    (1, 'temperature (degC)', 'fcc share of closo-borates (wt %)')
    >>> sorted(fig.axes[0].get_legend_handles_labels()[1])   # the no-borate scan: marked, no number
    ['fcc', 'mixed', 'no-borate (no purity)']
    """
    has_amorphous = table.has(schema.AMORPHOUS_SHARE.name)
    fig = new_figure(figsize=(8, 5.4 if has_amorphous else 3.8))
    if has_amorphous:
        ax, axa = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (2, 1)})
    else:
        ax, axa = fig.add_subplot(), None
    x, xlabel = _x_axis(table)
    y = 100 * table.column(schema.PURITY.name)
    s = 100 * table.column(schema.PURITY_SIGMA.name)
    styles = verdict_styles()
    verdicts = [r.get(schema.VERDICT.name) for r in table.rows]
    for v in dict.fromkeys(verdicts):
        if v is None:
            continue
        style = styles.get(_verdict_of(v), _OTHER_STYLE)
        is_v = np.array([vv == v for vv in verdicts])
        m = is_v & np.isfinite(y)
        if m.any():
            ax.errorbar(x[m], y[m], yerr=np.where(np.isfinite(s[m]) & (s[m] > 0), s[m], 0.0), fmt=style.marker,
                        ms=5, capsize=3, color=style.colour, label=str(v))
        blank = is_v & ~np.isfinite(y) & np.isfinite(x)
        if blank.any():  # a verdict without a purity: marked, never plotted as a number
            ax.plot(x[blank], np.full(int(blank.sum()), NO_PURITY_MARK_PCT), style.marker if style.marker != "o"
                    else "v", ms=6, color=style.colour, ls="none", label=f"{v} (no purity)")
    dl = 100 * table.column(schema.DETECTION_LIMIT.name)
    fin = np.isfinite(dl) & np.isfinite(y)
    if fin.any():
        ax.plot(x[fin], 100 - dl[fin], ":", color="0.5", lw=0.8, label="100 % − detection limit")
    ax.set_ylabel("fcc share of closo-borates (wt %)")
    ax.set_ylim(-5, 105)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    ax.set_title("fcc Na4(B12H12)(B10H10) fraction ± 1σ" + (" and amorphous share" if has_amorphous else ""),
                 fontsize=10)
    bottom = ax
    if axa is not None:
        am = 100 * table.column(schema.AMORPHOUS_SHARE.name)
        ok = np.isfinite(am)
        axa.plot(x[ok], am[ok], "s-", ms=4, lw=0.8, color="tab:brown", label="amorphous share")
        axa.set_ylabel("amorphous (% of\nscattered intensity)", fontsize=8)
        top = float(np.nanmax(am)) if ok.any() else 0.0
        axa.set_ylim(0, max(10.0, 1.1 * top))
        ax.tick_params(labelbottom=False)
        bottom = axa
    _integer_ticks(bottom, xlabel)
    bottom.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def lattice_figure(table: ResultsTable, phases: Sequence[str] | None = None) -> Figure | None:
    """Refined lattice parameter a ± σ vs temperature (or scan), one panel per phase.

    Returns None when no phase has a stored ``lattice_a_<phase>`` column. At most
    :data:`MAX_LATTICE_PANELS` phases are drawn (the fcc phase first).

    Parameters
    ----------
    table : ResultsTable
        The results (:func:`load_results`).
    phases : sequence of str, optional
        Phases to draw (default: :meth:`ResultsTable.phase_names`).

    Returns
    -------
    matplotlib.figure.Figure or None
        One panel per phase, a in Å.

    Examples
    --------
    >>> from pathlib import Path
    >>> from xrdkit.report import ResultsTable
    >>> rows = tuple({"id": f"scan_{i}", "status": "ok", "verdict": verdict, "fcc_weight_fraction": w,
    ...               "fcc_weight_fraction_sigma": 0.02, "meta_temperature": t_c,
    ...               "meta_temperature_units": "degC", "phases": "nbh-fcc",
    ...               "lattice_a_nbh-fcc": a, "lattice_a_sigma_nbh-fcc": 0.001}
    ...              for i, (verdict, w, t_c, a) in enumerate([("fcc", 1.0, 25.0, 10.029),
    ...                                                        ("mixed", 0.9, 100.0, 10.046),
    ...                                                        ("no-borate", None, 180.0, None)]))
    >>> table = ResultsTable(Path("RESULTS.h5"), rows, {})
    >>> from xrdkit.report import lattice_figure
    >>> fig = lattice_figure(table)
    >>> [ax.get_title() for ax in fig.axes], fig.axes[0].get_ylabel()
    (['nbh-fcc'], 'a (Å)')
    >>> lattice_figure(table, phases=["nacro2"]) is None        # no lattice_a_nacro2 column
    True
    """
    names = [p for p in (phases or table.phase_names()) if table.has(schema.phase_column(schema.LATTICE_A, p))]
    names.sort(key=lambda p: p != "nbh-fcc")
    names = names[:MAX_LATTICE_PANELS]
    if not names:
        return None
    fig = new_figure(figsize=(8, 3.2))
    x, xlabel = _x_axis(table)
    for i, p in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        a = table.column(schema.phase_column(schema.LATTICE_A, p))
        s = table.column(schema.phase_column(schema.LATTICE_A_SIGMA, p))
        m = np.isfinite(a)
        ax.errorbar(x[m], a[m], yerr=np.where(np.isfinite(s[m]), s[m], 0.0), fmt="s-", ms=4,
                    capsize=3, lw=0.8, color=PHASE_COLOURS[i % len(PHASE_COLOURS)])
        _integer_ticks(ax, xlabel)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_title(p, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="y", useOffset=False)
        if i == 0:
            ax.set_ylabel("a (Å)")
    fig.suptitle("refined lattice parameter a ± 1σ", fontsize=10)
    fig.tight_layout()
    return fig


def stored_fit_figure(record: ItemRecord, *, title: str | None = None) -> Figure:
    """Rietveld plot (observed, calculated, background, components, difference) of a stored item.

    Uses the item's arrays ``two_theta_deg``, ``observed``, ``calculated`` and, when present,
    ``background``, ``residual`` and ``component_<phase>``.

    Parameters
    ----------
    record : ItemRecord
        A stored item (:func:`xrdkit.results.read_item`).
    title : str, optional
        Title (default: the item id), followed by Rwp, GOF and the verdict when stored.

    Returns
    -------
    matplotlib.figure.Figure
        The fit panel and the difference panel.

    Raises
    ------
    InputError
        The item lacks one of :data:`FIT_ARRAYS`.

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.report import stored_fit_figure
    >>> from xrdkit.results import ItemRecord
    >>> x = np.linspace(14.0, 16.0, 201)                              # degrees 2θ
    >>> peak = 1000.0 * np.exp(-0.5 * ((x - 15.3) / 0.05) ** 2)
    >>> record = ItemRecord("scan_0", 0, "", "ok", scalars={"rwp": 0.08, "gof": 1.2, "verdict": "fcc"},
    ...                     arrays={"two_theta_deg": x, "observed": peak + 50.0,
    ...                             "calculated": peak + 48.0, "component_nbh-fcc": peak})
    >>> fig = stored_fit_figure(record)
    >>> fig.axes[0].get_title(), fig.axes[1].get_ylabel()
    ('scan_0 — Rwp = 8.00 %, GOF = 1.20, verdict: fcc', 'obs − calc')
    """
    arr = record.arrays
    missing = [k for k in FIT_ARRAYS if k not in arr]
    if missing:
        raise InputError(f"item has no fit arrays {missing} (has {sorted(arr)})", source=record.item_id)
    x, obs, calc = (np.asarray(arr[k], dtype=float) for k in FIT_ARRAYS)
    bkg = np.asarray(arr["background"], dtype=float) if "background" in arr else None
    res = np.asarray(arr["residual"], dtype=float) if "residual" in arr else obs - calc
    fig = new_figure(figsize=(9, 4.8))
    gs = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
    ax = fig.add_subplot(gs[0])
    axd = fig.add_subplot(gs[1], sharex=ax)
    ax.plot(x, obs, ".", ms=1.5, color="0.3", label="observed")
    ax.plot(x, calc, "-", lw=0.8, color="k", label="calculated")
    if bkg is not None:
        ax.plot(x, bkg, "--", lw=0.6, color="0.5", label="background")
    comps = [k for k in arr if k.startswith("component_")]
    for i, k in enumerate(comps):
        base = bkg if bkg is not None else 0.0
        ax.plot(x, np.asarray(arr[k], dtype=float) + base, lw=0.6,
                color=PHASE_COLOURS[i % len(PHASE_COLOURS)], label=k.removeprefix("component_"))
    ax.set_ylabel("intensity (counts)")
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(labelbottom=False)
    sc = record.scalars
    stats = []
    if isinstance(sc.get("rwp"), int | float):
        stats.append(f"Rwp = {100 * float(sc['rwp']):.2f} %")
    if isinstance(sc.get("gof"), int | float):
        stats.append(f"GOF = {float(sc['gof']):.2f}")
    if sc.get(schema.VERDICT.name):
        stats.append(f"verdict: {sc[schema.VERDICT.name]}")
    head = title or record.item_id
    ax.set_title(f"{head} — {', '.join(stats)}" if stats else head, fontsize=9)
    axd.plot(x, res, lw=0.6, color="tab:blue")
    axd.axhline(0, color="0.5", lw=0.5)
    axd.set_ylabel("obs − calc")
    axd.set_xlabel("2θ (°)")
    fig.subplots_adjust(left=0.09, right=0.98, top=0.93, bottom=0.11)
    return fig


def phase_markers_deg(
    phases: Sequence[str],
    wavelength_angstrom: float,
    two_theta_range_deg: tuple[float, float],
    *,
    library: Any = None,
    min_relative_intensity: float = 0.02,
) -> dict[str, np.ndarray]:
    """2θ (°) of each library phase's reflections (those above ``min_relative_intensity``).

    Positions come from the phase's reflection list at its library lattice; Kα1 only.

    Parameters
    ----------
    phases : sequence of str
        Library phase names.
    wavelength_angstrom : float
        Wavelength, Å.
    two_theta_range_deg : (float, float)
        The 2θ range (degrees) to list.
    library : PhaseLibrary, optional
        Where the names are looked up (default: a fresh one).
    min_relative_intensity : float
        Smallest multiplicity × |F|² kept, relative to the phase's strongest.

    Returns
    -------
    dict of str to ndarray
        Phase → sorted 2θ positions, degrees.

    Examples
    --------
    fcc Al (a = 4.04958 Å) with Cu Kα1: 2θ = 2 arcsin(λ √(h² + k² + l²) / 2a):

    >>> import math
    >>> from xrdkit.report import phase_markers_deg
    >>> markers = phase_markers_deg(["al"], 1.540593, (30.0, 80.0))
    >>> markers["al"].round(2).tolist()                         # (111), (200), (220), (311)
    [38.47, 44.72, 65.1, 78.23]
    >>> round(2 * math.degrees(math.asin(1.540593 * math.sqrt(4) / (2 * 4.04958))), 2)
    44.72
    """
    from xrdkit.phases import PhaseLibrary
    from xrdkit.reflections import compute_reflections

    lib = library if library is not None else PhaseLibrary()
    lo, hi = two_theta_range_deg
    out: dict[str, np.ndarray] = {}
    for name in phases:
        rl = compute_reflections(lib.get(name).structure, wavelength_angstrom=float(wavelength_angstrom),
                                 two_theta_max_deg=float(hi), name=name)
        d = rl.d_spacing_angstrom()
        s = wavelength_angstrom / (2 * d)
        ok = s < 1
        tt = 2 * np.degrees(np.arcsin(s[ok]))
        f2 = np.asarray(rl.f2, dtype=float)[ok] * np.asarray(rl.multiplicity, dtype=float)[ok]
        keep = (tt >= lo) & (tt <= hi) & (f2 >= min_relative_intensity * f2.max() if f2.size else False)
        out[name] = np.sort(tt[keep])
    return out


def series_map_figure(
    results_h5: str | os.PathLike[str],
    *,
    markers_deg: Mapping[str, Sequence[float]] | None = None,
    log_scale: bool = True,
) -> Figure:
    """Heat map of the observed patterns of a series (rows = items) with phase marker lines.

    Parameters
    ----------
    results_h5 : path
        Results file whose items store ``two_theta_deg`` and ``observed``.
    markers_deg : mapping, optional
        Phase name → 2θ positions (°) drawn as ticks above the map (see
        :func:`phase_markers_deg`).
    log_scale : bool
        Colour by log10(counts) (weak phases stay visible).

    Returns
    -------
    matplotlib.figure.Figure
        The marker strip above the map (rows labelled by temperature when it varies).

    Raises
    ------
    InputError
        No item stores ``two_theta_deg`` and ``observed``.

    Examples
    --------
    A three-scan results file written by hand:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from xrdkit.results import ItemRecord, ResultsStore
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> x = np.linspace(14.0, 16.0, 201)                              # degrees 2θ
    >>> peak = 1000.0 * np.exp(-0.5 * ((x - 15.3) / 0.05) ** 2)
    >>> with ResultsStore(out) as store:
    ...     for i, (t_c, w) in enumerate([(25.0, 1.0), (100.0, 0.9), (180.0, 0.8)]):
    ...         _ = store.append(ItemRecord(
    ...             f"scan_{i}", i, "", "ok",
    ...             scalars={"verdict": "fcc" if w == 1.0 else "mixed", "fcc_weight_fraction": w,
    ...                      "meta_temperature": t_c},
    ...             arrays={"two_theta_deg": x, "observed": (1 + i) * peak + 50.0,
    ...                     "calculated": (1 + i) * peak + 50.0}))
    ...     store.finalize()
    >>> from xrdkit.report import series_map_figure
    >>> fig = series_map_figure(out, markers_deg={"nbh-fcc": [15.3]})
    >>> fig.axes[1].get_xlabel(), fig.axes[1].get_ylabel(), fig.axes[2].get_ylabel()
    ('2θ (°)', 'temperature', 'log10 counts')
    """
    table = load_results(results_h5)
    patterns, labels, x_ref = [], [], None
    x_axis, xlabel = _x_axis(table)
    ys = []
    for row, yv in zip(table.rows, x_axis, strict=True):
        if row.get("status") != "ok":
            continue
        rec = read_item(table.path, str(row["id"]))
        if "two_theta_deg" not in rec.arrays or "observed" not in rec.arrays:
            continue
        x = np.asarray(rec.arrays["two_theta_deg"], dtype=float)
        if x_ref is None:
            x_ref = x
        patterns.append(np.interp(x_ref, x, np.asarray(rec.arrays["observed"], dtype=float)))
        labels.append(str(row["id"]))
        ys.append(yv)
    if x_ref is None:
        raise InputError("no item stores two_theta_deg and observed arrays", source=str(table.path))
    img = np.array(patterns)
    if log_scale:
        img = np.log10(np.clip(img, 1.0, None))
    fig = new_figure(figsize=(9, 5))
    gs = fig.add_gridspec(2, 1, height_ratios=(1, 6), hspace=0.04)
    axm = fig.add_subplot(gs[0])
    ax = fig.add_subplot(gs[1], sharex=axm)
    edges_x = np.concatenate([[x_ref[0]], 0.5 * (x_ref[1:] + x_ref[:-1]), [x_ref[-1]]])
    edges_y = np.arange(len(patterns) + 1) - 0.5
    mesh = ax.pcolormesh(edges_x, edges_y, img, shading="flat", cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=[axm, ax], label="log10 counts" if log_scale else "counts", pad=0.01)
    step = max(1, len(labels) // 12)
    ax.set_yticks(np.arange(len(labels))[::step])
    ax.set_yticklabels([f"{v:g}" if xlabel.startswith("temp") else lab
                        for v, lab in zip(ys, labels, strict=True)][::step], fontsize=7)
    ax.set_ylabel(xlabel if xlabel.startswith("temp") else "scan")
    ax.set_xlabel("2θ (°)")
    axm.set_yticks([])
    axm.tick_params(labelbottom=False)
    for i, (name, pos) in enumerate((markers_deg or {}).items()):
        axm.vlines(np.asarray(pos, dtype=float), i, i + 0.8, color=PHASE_COLOURS[i % len(PHASE_COLOURS)],
                   lw=1.0, label=name)
    if markers_deg:
        axm.set_ylim(0, len(markers_deg))
        axm.legend(fontsize=7, loc="upper right", ncols=len(markers_deg))
    return fig


def ir_fit_figure(record: ItemRecord, *, title: str | None = None) -> Figure:
    """IR band fits of a stored item (``<region>_wavenumber_cm1``, ``_best_fit``, ``_residual``).

    Parameters
    ----------
    record : ItemRecord
        A stored IR item (:func:`xrdkit.results.read_item` on ``irkit batch`` results).
    title : str, optional
        Title (default: the item id).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per fitted region, wavenumber decreasing to the right.

    Raises
    ------
    InputError
        The item stores no region fit.

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.report import ir_fit_figure
    >>> from xrdkit.results import ItemRecord
    >>> wavenumber_cm1 = np.linspace(2350.0, 2650.0, 301)
    >>> band = 0.5 * np.exp(-0.5 * ((wavenumber_cm1 - 2480.0) / 17.0) ** 2)   # absorbance
    >>> record = ItemRecord("spectrum_0", 0, "", "ok", arrays={
    ...     "stretch_wavenumber_cm1": wavenumber_cm1, "stretch_best_fit": band,
    ...     "stretch_residual": np.zeros_like(band)})
    >>> fig = ir_fit_figure(record)
    >>> [ax.get_title() for ax in fig.axes], bool(fig.axes[0].xaxis_inverted())
    (['stretch region'], True)
    """
    regions = [k.removesuffix("_wavenumber_cm1") for k in record.arrays if k.endswith("_wavenumber_cm1")]
    regions = [r for r in regions if f"{r}_best_fit" in record.arrays]
    if not regions:
        raise InputError("item stores no IR region fit", source=record.item_id)
    fig = new_figure(figsize=(9, 3.6))
    for j, r in enumerate(regions):
        ax = fig.add_subplot(1, len(regions), j + 1)
        x = np.asarray(record.arrays[f"{r}_wavenumber_cm1"], dtype=float)
        fit = np.asarray(record.arrays[f"{r}_best_fit"], dtype=float)
        res = np.asarray(record.arrays.get(f"{r}_residual", np.zeros_like(fit)), dtype=float)
        ax.plot(x, fit + res, ".", ms=1.5, color="0.3", label="observed")
        ax.plot(x, fit, "-", lw=0.9, color="tab:red", label="fit")
        ax.plot(x, res - 0.1 * np.ptp(fit), lw=0.6, color="tab:blue", label="residual (offset)")
        ax.invert_xaxis()
        ax.set_xlabel("wavenumber (cm⁻¹)")
        ax.set_title(f"{r} region", fontsize=9)
        if j == 0:
            ax.set_ylabel("absorbance")
            ax.legend(fontsize=7)
    fig.suptitle(title or record.item_id, fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td{background:#fde8e8}.banner{background:#fff3cd;border:1px solid #e0c36a;padding:.6em 1em;
margin:1em 0}
img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1em 0}
figcaption{font-size:.85em;color:#555}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.9em;overflow-wrap:anywhere}details{margin:.4em 0}.meta{color:#555;font-size:.9em}
"""


def _css() -> str:
    """The style sheet, with one ``.verdict-<value>`` rule per verdict."""
    rules = "".join(f".verdict-{v.value}{{color:{st.css_colour};font-weight:600}}"
                    for v, st in verdict_styles().items())
    return _CSS + rules + "\n"


def _text(value: Any) -> str:
    """Escaped text; URL schemes dropped so the report holds no external reference."""
    return html.escape(_SCHEME.sub("", str(value)))


def _fmt(value: Any, fmt: str = "{:.4g}") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return "—" if isinstance(value, float) and not math.isfinite(value) else fmt.format(value)
    return _text(value)


def _pct_pm(value: Any, sigma: Any) -> str:
    """``value ± σ`` in %; "—" without a value; the σ left out when missing or 0 (never "± 0.0")."""
    if not isinstance(value, int | float) or not math.isfinite(float(value)):
        return "—"
    out = f"{100 * float(value):.1f}"
    if isinstance(sigma, int | float) and math.isfinite(float(sigma)) and float(sigma) > 0:
        out += f" ± {100 * float(sigma):.1f}"
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, classes: Sequence[str] = (),
           numeric: Sequence[bool] = ()) -> str:
    """HTML table; cells are already-escaped HTML fragments."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if j < len(numeric) and numeric[j] else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(fig: Figure, caption: str, alt: str) -> str:
    uri = figure_to_data_uri(fig)
    return (f'<figure><img src="{uri}" alt="{_text(alt)}">'
            f"<figcaption>{_text(caption)}</figcaption></figure>")


def _verdict_cell(v: Any) -> str:
    if not v:
        return "—"
    known = _verdict_of(v)
    if known is None:  # not in the vocabulary (older or foreign file): plain text
        return _text(v)
    return f'<span class="verdict-{known.value}">{known.value}</span>'


def _purity_cell(row: Mapping[str, Scalar | None]) -> str:
    """fcc fraction ± σ; a no-borate scan says so instead of a number."""
    from xrdkit.vocabulary import Verdict

    text = _pct_pm(row.get(schema.PURITY.name), row.get(schema.PURITY_SIGMA.name))
    if text == "—" and _verdict_of(row.get(schema.VERDICT.name)) is Verdict.NO_BORATE:
        return "— (no borate)"
    return text


def _scan_table(table: ResultsTable) -> str:
    temps, temp_units = table.temperature()
    header = ["#", "scan", f"T ({_text(temp_units)})" if temp_units else "T", "verdict",
              "fcc fraction ± σ (wt %)", "detection limit (%)", "amorphous share (%)", "Rwp (%)", "GOF",
              "status / warnings"]
    rows, classes = [], []
    for i, r in enumerate(table.rows):
        status = r.get("status") or ""
        note = _text(r.get("error") or "") if status == "error" else (
            f"{int(r.get('n_warnings') or 0)} warning(s)" if r.get("n_warnings") else "ok")
        if status == "ok" and r.get("warnings"):
            note = f'<details><summary>{note}</summary>{_text(r["warnings"])}</details>'
        dl = r.get(schema.DETECTION_LIMIT.name)
        am = r.get(schema.AMORPHOUS_SHARE.name)
        rows.append([
            str(i + 1), f'<span class="mono" title="{_text(_source_of(r))}">{_text(short_id(str(r.get("id"))))}</span>',
            _fmt(float(temps[i]), "{:g}"), _verdict_cell(r.get(schema.VERDICT.name)), _purity_cell(r),
            _fmt(100 * dl if isinstance(dl, int | float) else None, "{:.1f}"),
            _fmt(100 * am if isinstance(am, int | float) else None, "{:.1f}"),
            _fmt(100 * r["rwp"] if isinstance(r.get("rwp"), int | float) else None, "{:.2f}"),
            _fmt(r.get("gof"), "{:.2f}"), note,
        ])
        classes.append("error" if status == "error" else "")
    return _table(header, rows, classes=classes, numeric=[True, False, True, False, True, True, True, True,
                                                          True, False])


def _phase_table(table: ResultsTable) -> str:
    names = table.phase_names()
    wt_cols = [p for p in names if table.has(schema.phase_column(schema.WEIGHT_FRACTION, p))]
    if not wt_cols:
        return ""
    header = ["scan"] + [f"{_text(p)} (wt %)" for p in wt_cols]
    rows = []
    for r in table.rows:
        rows.append([f'<span class="mono">{_text(short_id(str(r.get("id"))))}</span>']
                    + [_pct_pm(r.get(schema.phase_column(schema.WEIGHT_FRACTION, p)), r.get(schema.phase_column(schema.WEIGHT_FRACTION_SIGMA, p))) for p in wt_cols])
    return ("<h3>Weight fractions of all refined phases (± 1σ)</h3>"
            + _table(header, rows, numeric=[False] + [True] * len(wt_cols)))


def _pick_fits(table: ResultsTable) -> list[tuple[str, str]]:
    """(id, why) of the first, last and worst-Rwp ok items that store fit arrays."""
    ok = [r for r in table.rows if r.get("status") == "ok"]
    if not ok:
        return []
    picks: dict[str, list[str]] = {}
    picks.setdefault(str(ok[0]["id"]), []).append("first")
    picks.setdefault(str(ok[-1]["id"]), []).append("last")
    rwp = [(float(r["rwp"]), str(r["id"])) for r in ok if isinstance(r.get("rwp"), int | float)
           and math.isfinite(float(r["rwp"]))]
    if rwp:
        picks.setdefault(max(rwp)[1], []).append("worst Rwp")
    return [(k, ", ".join(v)) for k, v in list(picks.items())[:MAX_RIETVELD_PLOTS]]


def _rietveld_section(table: ResultsTable) -> str:
    parts = []
    for item_id, why in _pick_fits(table):
        rec = read_item(table.path, item_id)
        if not all(k in rec.arrays for k in FIT_ARRAYS):
            parts.append(f"<p>{_text(item_id)} ({why}): no fit arrays stored.</p>")
            continue
        fig = stored_fit_figure(rec, title=short_id(item_id))
        parts.append(_figure(fig, f"{short_id(item_id)} ({why}): observed, calculated, background and "
                                  "difference curve as stored in the results file.",
                             f"Rietveld plot of {short_id(item_id)}"))
    return "".join(parts) or "<p>No scan stored fit arrays.</p>"


def _ir_section(ir_path: Path) -> str:
    from irkit.vocabulary import SPECIES_FLAGS

    table = load_results(ir_path)
    flags = [str(f) for f in SPECIES_FLAGS]  # the IR flags, as irkit's batch writes them
    header = ["#", "spectrum", "anions intact", "B10:B12 ± σ"] + list(flags) + ["stretch R²", "status"]
    rows, classes = [], []
    for i, r in enumerate(table.rows):
        ratio = r.get("b10_b12_ratio")
        rs = r.get("b10_b12_ratio_sigma")
        ratio_txt = "—" if not isinstance(ratio, int | float) or not math.isfinite(float(ratio)) else (
            f"{float(ratio):.3f}" + (f" ± {float(rs):.3f}" if isinstance(rs, int | float)
                                     and math.isfinite(float(rs)) else ""))
        rows.append([str(i + 1), f'<span class="mono">{_text(short_id(str(r.get("id"))))}</span>',
                     _fmt(r.get("anions_intact")), ratio_txt]
                    + [_fmt(r.get(f)) for f in flags]
                    + [_fmt(r.get("stretch_r_squared"), "{:.4f}"),
                       _text(r.get("error") or r.get("status") or "")])
        classes.append("error" if r.get("status") == "error" else "")
    parts = [f'<p class="meta">IR results: <span class="mono">{_text(ir_path)}</span> '
             f"({len(table.rows)} spectra)</p>",
             _table(header, rows, classes=classes)]
    first_ok = next((r for r in table.rows if r.get("status") == "ok"), None)
    if first_ok is not None:
        rec = read_item(ir_path, str(first_ok["id"]))
        try:
            parts.append(_figure(ir_fit_figure(rec, title=short_id(rec.item_id)),
                                 f"Band fit of {short_id(rec.item_id)} (first spectrum).",
                                 f"IR fit of {short_id(rec.item_id)}"))
        except InputError as exc:
            parts.append(f"<p>{_text(exc)}</p>")
    parts.append(_sources_section(table, "IR inputs"))
    return "".join(parts)


def _phase_provenance(names: Sequence[str]) -> str:
    if not names:
        return "<p>No phase names stored in the results.</p>"
    from xrdkit.phases import PhaseLibrary

    lib = PhaseLibrary()
    rows = []
    for name in names:
        if name not in lib:
            rows.append([f'<span class="mono">{_text(name)}</span>', "—", "—",
                         "not in the bundled library (a user phase?)", "", ""])
            continue
        info = lib.info(name)
        prov = info.provenance
        how = f"<details><summary>how</summary>{_text(prov.how)}</details>" if prov.how else ""
        rows.append([f'<span class="mono">{_text(name)}</span>', _text(info.formula),
                     _text(info.space_group), f"<b>{_text(prov.kind)}</b>",
                     _text(prov.citation) + (f" doi:{_text(prov.doi)}" if prov.doi else "") + how,
                     _text(info.notes)])
    return _table(["phase", "formula", "space group", "kind", "source", "notes"], rows)


def _sources_section(table: ResultsTable, heading: str) -> str:
    srcs = source_provenance(table)
    if not srcs:
        return ""
    rows = [[f'<span class="mono">{_text(s.file)}</span>', str(s.n_items),
             "—" if s.illustrative is None else ("<b>yes</b>" if s.illustrative else "no"),
             _text(s.provenance) or ("(file not found at report time)" if not s.resolved else "—")]
            for s in srcs]
    return f"<h3>{_text(heading)}</h3>" + _table(["file", "items", "illustrative", "provenance"], rows)


def _attrs_table(table: ResultsTable) -> str:
    keys = ("format", "format_version", "closokit_version", "created", "updated", "complete",
            "n_items", "n_items_expected")
    rows = [[_text(k), _text(table.attrs[k])] for k in keys if k in table.attrs]
    cfg = table.attrs.get("config_json")
    if cfg:
        try:
            cfg = json.dumps(json.loads(cfg), indent=1, sort_keys=True)
        except ValueError:
            pass
        rows.append(["config", f'<pre class="mono">{_text(cfg)}</pre>'])
    return _table(["attribute", "value"], rows)


def _banner(srcs: Sequence[SourceProvenance]) -> str:
    flagged = [s for s in srcs if s.constructed]
    if not flagged:
        return ""
    files = ", ".join(s.file for s in flagged)
    return (f'<div class="banner"><b>Constructed input data.</b> {_text(files)} '
            "{verb} flagged as constructed or illustrative (synthetic patterns, not measurements). "
            "The numbers below show what the analysis recovers from such data; they are no evidence "
            "about real samples.</div>").replace("{verb}", "is" if len(flagged) == 1 else "are")


def _verdict_counts(table: ResultsTable) -> str:
    """"fcc: 3, no-borate: 1, …": vocabulary order first, then any unknown strings."""
    stored = [str(r.get(schema.VERDICT.name)) for r in table.rows if r.get(schema.VERDICT.name)]
    order = [v.value for v in verdict_styles()] + list(dict.fromkeys(stored))
    return ", ".join(f"{v}: {stored.count(v)}" for v in dict.fromkeys(order) if v in stored) or "none"


def build_report(
    results_h5: str | os.PathLike[str],
    *,
    ir_results: str | os.PathLike[str] | None = None,
    out_html: str | os.PathLike[str],
    title: str | None = None,
) -> Path:
    """Write a single self-contained HTML report of a batch results file.

    Parameters
    ----------
    results_h5 : path
        XRD batch results (``xrdkit batch``; layout in :mod:`xrdkit.results`). Per-item scalars
        used when present (the names :func:`xrdkit.analysis.verdict_to_item` writes): ``verdict``,
        ``fcc_weight_fraction``, ``fcc_weight_fraction_sigma`` (NaN/missing for ``no-borate``),
        ``detection_limit``, ``amorphous_intensity_share``, ``rwp``,
        ``gof``, ``meta_temperature`` (or ``temperature``) with its ``…_units``, ``wt_<phase>``,
        ``wt_sigma_<phase>``, ``lattice_a_<phase>``, ``lattice_a_sigma_<phase>``, ``phases``; arrays ``two_theta_deg``, ``observed``, ``calculated``, ``background``,
        ``residual``, ``component_<phase>``.
    ir_results : path, optional
        IR batch results (``irkit batch``) shown in their own section.
    out_html : path
        The HTML file to write (its folder must exist; written atomically).
    title : str, optional
        Page title (default: "closokit report — <results file name>").

    Returns
    -------
    Path
        ``out_html``.

    Raises
    ------
    InputError
        A results file is missing or not a closokit results file; the output folder does not
        exist; ``out_html`` is one of the results files.

    Examples
    --------
    A three-scan results file written by hand, reported in one HTML file with no script and
    no external reference:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from xrdkit.results import ItemRecord, ResultsStore
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> x = np.linspace(14.0, 16.0, 201)                              # degrees 2θ
    >>> peak = 1000.0 * np.exp(-0.5 * ((x - 15.3) / 0.05) ** 2)
    >>> with ResultsStore(out) as store:
    ...     for i, (t_c, w) in enumerate([(25.0, 1.0), (100.0, 0.9), (180.0, 0.8)]):
    ...         _ = store.append(ItemRecord(
    ...             f"scan_{i}", i, "", "ok",
    ...             scalars={"verdict": "fcc" if w == 1.0 else "mixed", "fcc_weight_fraction": w,
    ...                      "meta_temperature": t_c},
    ...             arrays={"two_theta_deg": x, "observed": (1 + i) * peak + 50.0,
    ...                     "calculated": (1 + i) * peak + 50.0}))
    ...     store.finalize()
    >>> from xrdkit.report import build_report
    >>> html = build_report(out, out_html=out.with_suffix(".html")).read_text(encoding="utf-8")
    >>> "<script" in html, "http" in html, html.count("data:image/png"), "3 scans" in html
    (False, False, 3, True)
    >>> build_report(out, out_html=out)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: --out ...RESULTS.h5 is the same file as results ...
    """
    from xrdkit.errors import check_output_paths

    check_output_paths({"--out": out_html}, {"results": results_h5, "--ir": ir_results})
    table = load_results(results_h5)
    ir_path = None if ir_results is None else Path(ir_results)
    if ir_path is not None:
        load_results(ir_path)  # fail before any work if it is not a results file
    out = Path(out_html)
    if not out.parent.is_dir():
        raise InputError("output folder does not exist", source=str(out.parent))
    title = title or f"closokit report — {table.path.name}"
    srcs = source_provenance(table)
    counts = _verdict_counts(table)
    n_err = sum(1 for r in table.rows if r.get("status") == "error")
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    body = [
        f"<h1>{_text(title)}</h1>",
        f'<p class="meta">Generated {now} by closokit {_text(software_versions(("closokit",))["closokit"])}'
        f' from <span class="mono">{_text(table.path)}</span>'
        + (f' and <span class="mono">{_text(ir_path)}</span>' if ir_path else "") + ".</p>",
        _banner(srcs),
        "<h2>Summary</h2>",
        f"<p>{len(table.rows)} scans; verdicts — {_text(counts)}; {n_err} failed.</p>",
    ]
    if table.has(schema.PURITY.name) or table.has(schema.AMORPHOUS_SHARE.name) or table.has(schema.VERDICT.name):
        body.append(_figure(summary_figure(table),
                            "fcc share of the closo-borate phases (purity) ± 1σ per scan, coloured by "
                            "verdict (scans without crystalline closo-borate have no purity and are marked "
                            "at the bottom); dotted: 100 % minus the detection limit of a second borate "
                            "phase" + ("; lower panel: amorphous share of the scattered intensity."
                                       if table.has(schema.AMORPHOUS_SHARE.name) else "."),
                            "fcc fraction per scan"))
    lat = lattice_figure(table)
    if lat is not None:
        body.append(_figure(lat, "Refined lattice parameter ± 1σ.", "lattice parameter per scan"))
    body += ["<h2>Scans</h2>", _scan_table(table), _phase_table(table),
             "<h2>Rietveld plots (first, last, worst Rwp)</h2>", _rietveld_section(table)]
    if ir_path is not None:
        body += ["<h2>IR spectra</h2>", _ir_section(ir_path)]
    versions = software_versions()
    body += [
        "<h2>Provenance</h2>",
        "<h3>Phase models</h3>", _phase_provenance(table.phase_names()),
        _sources_section(table, "Input files"),
        "<h3>Results file</h3>", _attrs_table(table),
        "<h3>Software</h3>",
        _table(["package", "version"], [[_text(k), _text(v)] for k, v in versions.items()]),
    ]
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>{_text(title)}</title><style>{_css()}</style></head><body>\n"
           + "\n".join(b for b in body if b) + "\n</body></html>\n")
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=out.name + ".tmp-", dir=out.parent)  # O_EXCL: no symlink followed
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(doc)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("wrote %s (%d bytes, %d scans)", out, len(doc), len(table.rows))
    return out
