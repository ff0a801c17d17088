"""The verdict vocabulary in the output layers (issue 15 / issue 20 item 3).

- a ``no-borate`` scan has no purity: JSON null, empty CSV cell, NaN in HDF5, ``None`` read back —
  checked on the real chain (a real refinement → ``PhaseVerdict`` → ``analysis.verdict_to_item``
  → batch store → CSV) with plain ``json``, ``csv`` and ``h5py``;
- the HTML report renders a table mixing fcc, no-borate, mixed-without-purity and unexplained
  rows (NaN purities, σ 0), with the amorphous share as a column and a figure panel;
- ``xrdkit identify`` prints "no crystalline closo-borate detected" for no-borate and never
  "± 0" (``identify`` is monkeypatched to return a prepared verdict: the printing is tested,
  not the fitting);
- ``xrdkit fit`` calls a borate-free fit ``no-borate`` with a null purity (a real fit of an
  independent synthetic NaCrO2 + Al pattern, :mod:`xrdkit.synthetic`), and its rule judges
  significance (3σ of the weight fraction and of the scale), not "weight fraction > 0".
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from xrdkit.batch import run_batch
from xrdkit.cli import main as xrdkit_main
from xrdkit.commands._common import write_json
from xrdkit.commands.batch import TABLE_COLUMNS
from xrdkit.identify import FCC_PHASE, ModelScore, PhaseVerdict, Verdict
from xrdkit.results import ItemResult, read_item, read_summary, write_table_csv

#: An electrode without electrolyte: the borate-free case of issue 15 (weights are crystalline wt).
BORATE_FREE = {"nacro2": 0.7, "al": 0.3}
#: Purity printed with a zero σ, in any spelling the CLI could produce.
PLUS_MINUS_ZERO = ("± 0.0", "±0.0", "± 0 ")


@pytest.fixture(scope="module")
def borate_free_scan(tmp_path_factory) -> Path:
    """A two-column text scan of NaCrO2 + Al (no borate), from the independent generator."""
    from xrdkit.phases import PhaseLibrary
    from xrdkit.synthetic import PeakProfile, synthetic_pattern

    lib = PhaseLibrary()
    x = np.linspace(10.0, 50.0, 2000)
    pat = synthetic_pattern([lib.get(n).structure for n in BORATE_FREE], list(BORATE_FREE.values()), x,
                            names=list(BORATE_FREE), profile=PeakProfile(0.010, -0.005, 0.006, 0.5),
                            rng=np.random.default_rng(5))
    path = tmp_path_factory.mktemp("verdict_out") / "nacro2_al.xy"
    np.savetxt(path, np.column_stack([pat.two_theta_deg, pat.counts]), fmt="%.5f %.0f",
               header="2theta_deg counts (synthetic NaCrO2 + Al, no borate; xrdkit.synthetic)")
    return path


@pytest.fixture(scope="module")
def borate_free_fit(borate_free_scan):
    """A real refinement (NBH allowed, NaCrO2, Al) of the borate-free scan, and the scan."""
    from xrdkit.instrument import load_instrument
    from xrdkit.qpa import quantify
    from xrdkit.readers import read_scan
    from xrdkit.simulate import resolve_phases

    inst = load_instrument("miniflex600-cuka")
    scan = read_scan(borate_free_scan)
    refls = resolve_phases([FCC_PHASE, *BORATE_FREE], inst, float(scan.two_theta_deg[-1]))
    return quantify(scan, refls, instrument=inst, model_error=False), scan


def _verdict(verdict: Verdict, purity: float | None, sigma: float | None, best, *,
             detection_limit: float | None = None, amorphous: float = 0.0) -> PhaseVerdict:
    """A prepared verdict (the fields the output layers read)."""
    return PhaseVerdict(
        source="prepared.xy", verdict=verdict, fcc_weight_fraction=purity, fcc_weight_fraction_sigma=sigma,
        detection_limit=detection_limit, detection_limit_basis="weight_fraction", models_missing=(),
        models=(ModelScore("none", tuple(p.name for p in best.phases), 0.0, best.rwp, best.gof, True),),
        residual_peaks=(), unexplained_intensity_share=0.0, best=best, notes=(),
        amorphous_intensity_share=amorphous,
    )


# ---------------------------------------------------------------------------------------------
# JSON / HDF5 / CSV round trip of a no-borate row
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A batch item whose analysis result is already known."""

    id: str
    result: ItemResult


def prepared_analysis(item: Prepared) -> ItemResult:
    return item.result


def test_no_borate_purity_is_null_in_json_empty_in_csv_nan_in_hdf5(borate_free_fit, tmp_path):
    from xrdkit.analysis import verdict_to_item

    best, scan = borate_free_fit
    no_borate = _verdict(Verdict.NO_BORATE, None, None, best, amorphous=0.125)
    fcc = _verdict(Verdict.FCC, 0.987, 0.004, best, amorphous=0.0)
    # JSON (the identify --json contract): null, read back as None
    out_json = tmp_path / "v.json"
    write_json(str(out_json), no_borate.to_dict())
    text = out_json.read_text()
    d = json.loads(text)
    assert d["verdict"] == "no-borate" == Verdict.NO_BORATE.value
    assert d["fcc_weight_fraction"] is None and d["fcc_weight_fraction_sigma"] is None
    assert '"fcc_weight_fraction": null' in text and "NaN" not in text
    # batch store: the real flattening into scalars, then HDF5 and CSV
    items = [Prepared("a_fcc", verdict_to_item(fcc, scan)), Prepared("b_none", verdict_to_item(no_borate, scan))]
    assert items[1].result.scalars["verdict"] == "no-borate" and type(items[1].result.scalars["verdict"]) is str
    out = tmp_path / "R.h5"
    run_batch(items, prepared_analysis, out, workers=1, progress=False)
    with h5py.File(out, "r") as f:
        ids = [v.decode() for v in f["summary/id"][:]]
        purity = dict(zip(ids, f["summary/fcc_weight_fraction"][:], strict=True))
        sigma = dict(zip(ids, f["summary/fcc_weight_fraction_sigma"][:], strict=True))
        verdicts = dict(zip(ids, (v.decode() for v in f["summary/verdict"][:]), strict=True))
        amorphous = dict(zip(ids, f["summary/amorphous_intensity_share"][:], strict=True))
        assert f["summary/fcc_weight_fraction"].dtype == np.float64
    assert math.isnan(purity["b_none"]) and math.isnan(sigma["b_none"])
    assert purity["a_fcc"] == 0.987 and sigma["a_fcc"] == 0.004
    assert verdicts == {"a_fcc": "fcc", "b_none": "no-borate"}
    assert amorphous == {"a_fcc": 0.0, "b_none": 0.125}
    rows = {r["id"]: r for r in read_summary(out)}
    assert rows["b_none"]["fcc_weight_fraction"] is None and rows["b_none"]["fcc_weight_fraction_sigma"] is None
    assert rows["a_fcc"]["fcc_weight_fraction"] == 0.987
    rec = read_item(out, "b_none")
    assert math.isnan(rec.scalars["fcc_weight_fraction"])  # the item's record keeps NaN (JSON NaN)
    table = tmp_path / "R.csv"
    header = write_table_csv(out, table, TABLE_COLUMNS, rename={"id": "scan"})
    with open(table, newline="") as fh:
        got = {r["scan"]: r for r in csv.DictReader(fh)}
    assert header[: len(TABLE_COLUMNS)] == ["scan", *TABLE_COLUMNS[1:]]
    assert got["b_none"]["verdict"] == "no-borate"
    assert got["b_none"]["fcc_weight_fraction"] == "" and got["b_none"]["fcc_weight_fraction_sigma"] == ""
    assert float(got["a_fcc"]["fcc_weight_fraction"]) == 0.987
    assert float(got["b_none"]["amorphous_intensity_share"]) == 0.125
    for r in got.values():
        assert "nan" not in {v.strip().lower() for v in r.values()}


def test_none_purity_from_a_library_user_is_stored_like_nan(tmp_path):
    """An analysis may return None instead of NaN: same table, same CSV."""
    items = [Prepared(f"s{i}", ItemResult(scalars={"verdict": v, "fcc_weight_fraction": p}))
             for i, (v, p) in enumerate([(Verdict.NO_BORATE, None), (Verdict.FCC, 0.99), (Verdict.NO_BORATE, None)])]
    out = tmp_path / "R.h5"
    run_batch(items, prepared_analysis, out, workers=1, progress=False)
    with h5py.File(out, "r") as f:
        p = f["summary/fcc_weight_fraction"][:]
        assert f["summary/fcc_weight_fraction"].attrs["kind"] == "float"
    assert math.isnan(p[0]) and p[1] == 0.99 and math.isnan(p[2])
    assert [r["fcc_weight_fraction"] for r in read_summary(out)] == [None, 0.99, None]


# ---------------------------------------------------------------------------------------------
# HTML report
# ---------------------------------------------------------------------------------------------

#: Rows of the mixed table: id → (verdict, purity, σ, detection limit, amorphous share, T °C).
REPORT_ROWS = {
    "s1": (Verdict.FCC, 0.982, 0.011, 0.02, 0.31, 25.0),
    "s2": (Verdict.NO_BORATE, math.nan, math.nan, math.nan, 0.55, 50.0),
    "s3": (Verdict.UNEXPLAINED, 0.90, 0.0, math.nan, 0.12, 75.0),
    "s4": (Verdict.MIXED, math.nan, math.nan, 0.03, 0.05, 100.0),
    "s5": (Verdict.NO_BORATE, None, None, None, 0.0, 125.0),
}


def _report_item(item_id: str) -> Prepared:
    v, p, s, dl, am, t = REPORT_ROWS[item_id]
    x = np.linspace(10, 50, 200)
    y = 100 + 50 * np.exp(-0.5 * ((x - 30) / 0.2) ** 2)
    return Prepared(item_id, ItemResult(
        scalars={"verdict": v, "fcc_weight_fraction": p, "fcc_weight_fraction_sigma": s, "detection_limit": dl,
                 "amorphous_intensity_share": am, "rwp": 0.08, "gof": 1.1, "phases": "nacro2,al",
                 "meta_temperature": t, "meta_temperature_units": "degC", "wt_nacro2": 0.7, "wt_sigma_nacro2": 0.0,
                 "wt_al": 0.3, "wt_sigma_al": 0.01},
        arrays={"two_theta_deg": x, "observed": y, "calculated": y, "background": np.full_like(x, 100.0)}))


class _Cells(HTMLParser):
    """Table rows (cell texts), the classes of <span>s per row, and the <style> text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.row_classes: list[list[str]] = []
        self.style = ""
        self._cell: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
            self.row_classes.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and self.row_classes and a.get("class"):
            self.row_classes[-1].append(a["class"])
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style += data


@pytest.fixture(scope="module")
def mixed_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mixed") / "mixed_results.h5"
    run_batch([_report_item(k) for k in REPORT_ROWS], prepared_analysis, out, workers=1, progress=False)
    return out


def test_report_renders_no_borate_unexplained_and_nan_purities(mixed_results, tmp_path):
    from xrdkit.report import build_report

    out = build_report(mixed_results, out_html=tmp_path / "r.html", title="mixed verdicts")
    text = out.read_text(encoding="utf-8")
    doc = _Cells()
    doc.feed(text)
    header = next(r for r in doc.rows if "verdict" in r and "scan" in r)
    col = {name: i for i, name in enumerate(header)}
    scan_rows = {r[col["scan"]]: (r, cls) for r, cls in zip(doc.rows, doc.row_classes, strict=True)
                 if len(r) == len(header) and r is not header}
    purity_col, am_col = col["fcc fraction ± σ (wt %)"], col["amorphous share (%)"]
    for item_id, (v, p, _s, _dl, am, _t) in REPORT_ROWS.items():
        cells, classes = scan_rows[item_id]
        assert cells[col["verdict"]] == v.value
        assert f"verdict-{v.value}" in classes  # every verdict, no-borate included, gets its class
        assert float(cells[am_col]) == pytest.approx(100 * am, abs=0.05)
        purity = cells[purity_col]
        assert not any(z in purity + " " for z in PLUS_MINUS_ZERO), purity
        if p is None or math.isnan(p):
            assert "nan" not in purity.lower() and not any(ch.isdigit() for ch in purity)
        else:
            assert float(purity.split("±")[0]) == pytest.approx(100 * p, abs=0.05)
    assert scan_rows["s2"][0][purity_col] == "— (no borate)" and scan_rows["s5"][0][purity_col] == "— (no borate)"
    assert scan_rows["s4"][0][purity_col] == "—"  # mixed without a purity: no number, no "no borate"
    assert scan_rows["s3"][0][purity_col] == "90.0"  # unexplained with σ 0: no "± 0.0"
    assert scan_rows["s1"][0][purity_col] == "98.2 ± 1.1"
    # a σ of 0 is not shown in the phase table either
    phase_header = next(r for r in doc.rows if "nacro2 (wt %)" in r)
    phase_rows = [r for r in doc.rows if len(r) == len(phase_header) and r is not phase_header and r[0] in REPORT_ROWS]
    assert {r[phase_header.index("nacro2 (wt %)")] for r in phase_rows} == {"70.0"}
    for v in Verdict:
        assert f".verdict-{v.value}{{" in doc.style
    assert "no-borate: 2" in text and "fcc: 1" in text and "unexplained: 1" in text and "mixed: 1" in text
    assert "nan" not in " ".join(" ".join(r) for r in doc.rows).lower()


def test_summary_figure_has_amorphous_panel_and_no_number_for_no_purity(mixed_results):
    from xrdkit.report import NO_PURITY_MARK_PCT, load_results, summary_figure

    fig = summary_figure(load_results(mixed_results))
    assert len(fig.axes) == 2
    top, bottom = fig.axes
    plotted = sorted(float(y) for c in top.containers for y in c.lines[0].get_ydata())
    assert plotted == pytest.approx([90.0, 98.2])  # only the rows with a purity
    labels = [ln.get_label() for ln in top.get_lines()]
    marks = [ln for ln in top.get_lines() if ln.get_label() == "no-borate (no purity)"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [50.0, 125.0], labels
    assert set(marks[0].get_ydata()) == {NO_PURITY_MARK_PCT}
    am = next(ln for ln in bottom.get_lines() if ln.get_label() == "amorphous share")
    assert list(am.get_xdata()) == [25.0, 50.0, 75.0, 100.0, 125.0]
    assert list(am.get_ydata()) == pytest.approx([31.0, 55.0, 12.0, 5.0, 0.0])
    assert bottom.get_xlabel() == "temperature (degC)"


# ---------------------------------------------------------------------------------------------
# xrdkit identify printing
# ---------------------------------------------------------------------------------------------


def _run_identify_cli(monkeypatch, tmp_path, prepared: PhaseVerdict, scan_path: Path) -> tuple[str, dict]:
    import xrdkit.identify

    monkeypatch.setattr(xrdkit.identify, "identify", lambda *a, **k: prepared)
    out = tmp_path / "id.json"
    assert xrdkit_main(["identify", str(scan_path), "--json", str(out)]) == 0
    return out, json.loads(out.read_text())


def test_identify_prints_no_borate_without_purity(monkeypatch, tmp_path, capsys, borate_free_fit,
                                                  borate_free_scan):
    best, _ = borate_free_fit
    prepared = _verdict(Verdict.NO_BORATE, None, None, best, detection_limit=0.004, amorphous=0.12)
    _, d = _run_identify_cli(monkeypatch, tmp_path, prepared, borate_free_scan)
    line = capsys.readouterr().out.splitlines()[0]
    assert "no crystalline closo-borate detected" in line
    assert "detection limit 0.4 %" in line and "amorphous 12.0 %" in line
    assert "±" not in line and "fcc share" not in line
    assert d["fcc_weight_fraction"] is None and d["verdict"] == "no-borate"
    assert d["amorphous_intensity_share"] == 0.12


@pytest.mark.parametrize("sigma", [0.0, None])
def test_identify_never_prints_plus_minus_zero(monkeypatch, tmp_path, capsys, borate_free_fit, borate_free_scan,
                                               sigma):
    best, _ = borate_free_fit
    prepared = _verdict(Verdict.UNEXPLAINED, 0.93, sigma, best)
    _run_identify_cli(monkeypatch, tmp_path, prepared, borate_free_scan)
    line = capsys.readouterr().out.splitlines()[0]
    assert line.split(": ", 1)[1].startswith("unexplained")
    assert "93.0 % (σ n/a)" in line and "±" not in line


def test_verdict_line_formats():
    from xrdkit.commands.identify import verdict_line

    assert verdict_line({"verdict": "fcc", "fcc_weight_fraction": 0.9731, "fcc_weight_fraction_sigma": 0.0123,
                         "amorphous_intensity_share": 0.2}) == \
        "fcc (fcc share of the borates 97.3 ± 1.2 %); amorphous 20.0 % of the intensity"
    assert verdict_line({"verdict": Verdict.MIXED, "fcc_weight_fraction": math.nan}) == "mixed (no purity)"
    assert verdict_line({"verdict": "no-borate", "fcc_weight_fraction": math.nan, "detection_limit": None}) == \
        "no-borate: no crystalline closo-borate detected"
    # a stored row with a purity for a no-borate verdict still prints no purity
    assert "%" not in verdict_line({"verdict": "no-borate", "fcc_weight_fraction": 0.5})


# ---------------------------------------------------------------------------------------------
# xrdkit fit
# ---------------------------------------------------------------------------------------------


def test_fit_calls_a_borate_free_fit_no_borate(borate_free_scan, tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert xrdkit_main(["fit", str(borate_free_scan), "--phase", "nbh-fcc", "--phase", "nacro2", "--phase", "al",
                        "--no-model-error", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["verdict"] == Verdict.NO_BORATE.value
    assert d["fcc_weight_fraction"] is None and d["fcc_weight_fraction_sigma"] is None
    wf = {p["name"]: p["weight_fraction"] for p in d["phases"]}
    assert wf["nacro2"] == pytest.approx(BORATE_FREE["nacro2"], abs=0.03)  # the fit itself is sane
    assert "no crystalline closo-borate detected" in capsys.readouterr().out


def _phase(name, wf, wf_sigma, scale=1.0, scale_sigma=0.01):
    return SimpleNamespace(name=name, weight_fraction=wf, weight_fraction_sigma=wf_sigma, scale=scale,
                           scale_sigma=scale_sigma)


@pytest.mark.parametrize(("phases", "verdict", "purity"), [
    # a trace of fitted NBH below 3σ: absent (a "> 0" rule would call this fcc)
    ([_phase("nbh-fcc", 0.003, 0.002), _phase("al", 0.997, 0.002)], Verdict.NO_BORATE, None),
    # no borate model at all
    ([_phase("al", 1.0, 0.0)], Verdict.NO_BORATE, None),
    # NBH alone in the model: wf 1 ± 0 whatever the data; its scale decides
    ([_phase("nbh-fcc", 1.0, 0.0, scale=0.02, scale_sigma=0.01)], Verdict.NO_BORATE, None),
    ([_phase("nbh-fcc", 1.0, 0.0, scale=2.0, scale_sigma=0.01)], Verdict.FCC, 1.0),
    # unknown σ: significance not shown
    ([_phase("nbh-fcc", 0.5, None), _phase("al", 0.5, None)], Verdict.NO_BORATE, None),
    ([_phase("nbh-fcc", 0.6, 0.01), _phase("na2b12h12-ht", 0.2, 0.01), _phase("al", 0.2, 0.01)],
     Verdict.MIXED, 0.75),
    ([_phase("nbh-fcc", 0.002, 0.01), _phase("na2b12h12-ht", 0.5, 0.01), _phase("al", 0.5, 0.01)],
     Verdict.SEPARATE, 0.0),
])
def test_fit_verdict_rule(phases, verdict, purity):
    from xrdkit.commands.fit import _verdict_of

    got, p, s = _verdict_of(SimpleNamespace(phases=phases))
    assert got is verdict
    if purity is None:
        assert p is None and s is None
    else:
        assert p == pytest.approx(purity)
        assert s is None or s > 0  # never a σ of 0
