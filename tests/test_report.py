"""The self-contained HTML report: content, embedding, no external references, CLI.

The results files are made with the real batch engine (:func:`xrdkit.batch.run_batch`) over the
bundled example scans, with a fast stand-in analysis that stores the same scalar and array names
as :func:`xrdkit.analysis.verdict_to_item`. Its verdict and fcc fraction come from the examples'
``truth_*`` attributes (independent of any fit), so the report can be checked against numbers
the report code did not compute.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.batch import run_batch
from xrdkit.cli import main as xrdkit_main
from xrdkit.errors import InputError
from xrdkit.hdf5 import ScanRef, list_scans, read_ref
from xrdkit.identify import Verdict
from xrdkit.phases import PhaseLibrary
from xrdkit.report import build_report, phase_markers_deg, short_id, software_versions
from xrdkit.results import ItemResult, read_summary

EXAMPLES = Path(__file__).resolve().parent.parent / "reference_data" / "examples"
#: HTML elements without an end tag (HTML Living Standard, "void elements").
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass(frozen=True)
class StandInTask:
    """A scan reference; ``fail`` makes the stand-in analysis raise (an error row)."""

    ref: ScanRef
    fail: bool = False

    @property
    def id(self) -> str:
        return self.ref.spec


def _truth_verdict(fcc_share: float) -> Verdict:
    """The verdict the examples' truth implies (all of them contain borate)."""
    return Verdict.FCC if fcc_share >= 0.97 else Verdict.SEPARATE if fcc_share <= 0.03 else Verdict.MIXED


def standin_analysis(task: StandInTask) -> ItemResult:
    """Truth-based verdict + a smoothed 'calculated' curve, named like analysis.verdict_to_item."""
    if task.fail:
        raise ValueError("detector file truncated (stand-in failure)")
    scan = read_ref(task.ref)
    with h5py.File(task.ref.file, "r") as f:
        entry = f[task.ref.metadata["entry"]]
        truth = float(entry.attrs["truth_fcc_weight_fraction"])
        phases = [p.decode() if isinstance(p, bytes) else str(p) for p in entry.attrs["truth_phases"]]
        wts = np.asarray(entry.attrs["truth_weight_fractions"], dtype=float)
        abc = np.asarray(entry.attrs["truth_lattice_abc_angstrom"], dtype=float)
    verdict = _truth_verdict(truth)
    y = scan.counts
    calc = np.convolve(y, np.ones(5) / 5, mode="same")
    bkg = np.full_like(y, np.percentile(y, 10))
    scalars: dict[str, object] = {
        "verdict": verdict,
        "fcc_weight_fraction": truth,
        "fcc_weight_fraction_sigma": 0.01 + 0.02 * (1 - truth),
        "detection_limit": 0.03,
        "rwp": float(np.sqrt(np.sum((y - calc) ** 2 / np.maximum(y, 1)) / np.sum(y**2 / np.maximum(y, 1)))),
        "gof": 1.0 + (1 - truth),
        "phases": ",".join(phases),
        "meta_temperature": float(scan.metadata["temperature"]),
        "meta_temperature_units": str(scan.metadata["temperature_units"]),
    }
    for p, w, a in zip(phases, wts, abc[:, 0], strict=True):
        scalars[f"wt_{p}"] = float(w)
        scalars[f"wt_sigma_{p}"] = 0.005
        scalars[f"lattice_a_{p}"] = float(a)
        scalars[f"lattice_a_sigma_{p}"] = 1e-4
    arrays = {"two_theta_deg": scan.two_theta_deg, "observed": y, "calculated": calc,
              "background": bkg, "residual": y - calc,
              f"component_{phases[0]}": np.clip(calc - bkg, 0, None)}
    return ItemResult(scalars=scalars, arrays=arrays, warnings=("stand-in analysis",))


def _make_results(tmp: Path, file: str, *, fail_index: int | None = None) -> Path:
    refs = list_scans(EXAMPLES / file)
    tasks = [StandInTask(r, fail=(i == fail_index)) for i, r in enumerate(refs)]
    out = tmp / f"{Path(file).stem}_results.h5"
    run_batch(tasks, standin_analysis, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def electrode_results(tmp_path_factory) -> Path:
    return _make_results(tmp_path_factory.mktemp("rep"), "electrodes.h5", fail_index=3)


@pytest.fixture(scope="module")
def electrode_report(electrode_results, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("html") / "report.html"
    build_report(electrode_results, out_html=out, title="Electrodes <test>")
    return out, out.read_text(encoding="utf-8")


class _Doc(HTMLParser):
    """Collects table rows, images, links and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.rows: list[list[str]] = []
        self.imgs: list[dict[str, str]] = []
        self.attr_urls: list[str] = []
        self.tags: set[str] = set()
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k in ("src", "href", "action", "data", "poster"):
            if k in a:
                self.attr_urls.append(a[k] or "")
        if tag == "img":
            self.imgs.append(a)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


def _parse(text: str) -> _Doc:
    doc = _Doc()
    doc.feed(text)
    doc.close()
    return doc


def test_report_is_valid_html_with_title(electrode_report):
    _, text = electrode_report
    assert text.startswith("<!DOCTYPE html>")
    doc = _parse(text)
    assert doc.errors == []
    assert doc.stack == []  # every element closed
    assert {"html", "head", "body", "table", "img", "style"} <= doc.tags
    assert doc.title == "Electrodes <test>"  # escaped in the source, intact when parsed
    assert "Electrodes &lt;test&gt;" in text


def test_every_scan_listed_with_its_verdict_and_fraction(electrode_report, electrode_results):
    _, text = electrode_report
    doc = _parse(text)
    summary = read_summary(electrode_results)
    assert len(summary) == 5
    header = next(r for r in doc.rows if "verdict" in r and "scan" in r)
    col = {name: i for i, name in enumerate(header)}
    scan_rows = {r[col["scan"]]: r for r in doc.rows if len(r) == len(header) and r is not header}
    with h5py.File(EXAMPLES / "electrodes.h5", "r") as f:
        truth = {e: float(f[e].attrs["truth_fcc_weight_fraction"]) for e in f if e.startswith("electrode")}
    for row in summary:
        assert short_id(row["id"]) == "electrodes.h5::" + row["id"].split("::")[1]
        cells = scan_rows[short_id(row["id"])]
        entry = row["id"].split("::/")[1].split("/")[0]
        if row["status"] == "error":
            assert "stand-in failure" in cells[col["status / warnings"]]
            assert cells[col["verdict"]] == "—"
            continue
        # verdict and purity as the examples' truth says (independent of the report code)
        t = truth[entry]
        assert cells[col["verdict"]] == _truth_verdict(t).value
        value, sigma = (float(v) for v in cells[col["fcc fraction ± σ (wt %)"]].split("±"))
        assert value == pytest.approx(100 * t, abs=0.05)
        assert sigma == pytest.approx(100 * (0.01 + 0.02 * (1 - t)), abs=0.05)
        assert cells[col["T (degC)"]] == "25"
    assert sum(1 for r in summary if r["status"] == "error") == 1
    assert 'class="error"' in text


def test_figures_are_embedded_pngs(electrode_report):
    import matplotlib.image as mpimg

    _, text = electrode_report
    doc = _parse(text)
    # summary + lattice + first/last/worst Rietveld plots
    assert len(doc.imgs) >= 4
    for img in doc.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(raw), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 500
        assert np.ptp(pixels[..., :3]) > 0.5  # not a blank image
        assert img.get("alt")
    alts = " ".join(i["alt"] for i in doc.imgs)
    # first and last scans get a Rietveld plot (electrode_04 failed, so "last ok" is electrode_05)
    assert "electrode_01" in alts and "electrode_05" in alts


def test_no_scripts_or_external_references(electrode_report):
    _, text = electrode_report
    doc = _parse(text)
    assert "<script" not in text.lower()
    assert not re.search(r"https?://", text, re.IGNORECASE)
    assert not re.search(r"\bon[a-z]+\s*=", text.lower())  # no inline event handlers
    assert "link" not in doc.tags and "iframe" not in doc.tags
    assert all(u.startswith("data:") for u in doc.attr_urls)
    assert "@import" not in text and "url(" not in text


def test_provenance_versions_and_constructed_banner(electrode_report, electrode_results):
    _, text = electrode_report
    doc = _parse(text)
    # the example file says it is constructed: the banner must say so
    assert "Constructed input data" in text
    src_rows = [r for r in doc.rows if r and r[0].endswith("electrodes.h5")]
    assert src_rows and "constructed" in src_rows[0][3].lower()
    # every refined phase is listed with the library's provenance kind
    lib = PhaseLibrary()
    phase_rows = {r[0]: r for r in doc.rows if len(r) == 6}
    for name in ("nbh-fcc", "nacro2", "al"):
        assert phase_rows[name][3] == lib.info(name).provenance.kind
    versions = {r[0]: r[1] for r in doc.rows if len(r) == 2}
    import lmfit
    import numpy
    import scipy

    assert versions["numpy"] == numpy.__version__
    assert versions["scipy"] == scipy.__version__
    assert versions["lmfit"] == lmfit.__version__
    assert versions["h5py"] == h5py.__version__
    for name in ("closokit", "pymatgen"):
        assert versions[name] == software_versions((name,))[name] != "not installed"
    assert versions["format"] == "closokit-results"


def test_report_does_not_touch_its_input(electrode_results, tmp_path):
    before = hashlib.sha256(electrode_results.read_bytes()).hexdigest()
    build_report(electrode_results, out_html=tmp_path / "r.html")
    assert hashlib.sha256(electrode_results.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_ir_section(electrode_results, tmp_path):
    from irkit.batch import run_ir_batch
    from irkit.synthetic import synthesize, write_hdf5_stack

    spectra = [synthesize(1, isopropanol=0.3, low_cm1=2200, high_cm1=2700),
               synthesize(2, low_cm1=2200, high_cm1=2700)]
    stack = write_hdf5_stack(tmp_path / "ir.h5", spectra, seeds=[1, 2])
    ir_out = tmp_path / "ir_results.h5"
    run_ir_batch([stack], ir_out, workers=1, progress=False)
    out = build_report(electrode_results, ir_results=ir_out, out_html=tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    doc = _parse(text)
    assert doc.errors == []
    from irkit.vocabulary import SPECIES_FLAGS

    n_columns = 4 + len(SPECIES_FLAGS) + 2  # #, spectrum, anions intact, ratio, flags, R², status
    ir_rows = [r for r in doc.rows if len(r) == n_columns and r[0].isdigit()]
    ir_summary = read_summary(ir_out)
    assert len(ir_rows) == len(ir_summary) == 2
    for cells, row in zip(ir_rows, ir_summary, strict=True):
        assert cells[1] == short_id(row["id"])
        assert cells[2] == ("yes" if row["anions_intact"] else "no")
        assert cells[4:4 + len(SPECIES_FLAGS)] == [
            "—" if row[str(f)] is None else ("yes" if row[str(f)] else "no") for f in SPECIES_FLAGS]
    assert any(i["alt"].startswith("IR fit") for i in doc.imgs)
    assert not re.search(r"https?://", text)


def test_phase_markers_match_bragg_law():
    # fcc NBH, a = 10.029 Å (library): (111) at 2θ = 2 asin(λ √3 / 2a) ≈ 15.3° for Cu Kα1
    lam = 1.5405929
    marks = phase_markers_deg(["nbh-fcc"], lam, (10.0, 20.0))["nbh-fcc"]
    a = PhaseLibrary().get("nbh-fcc").structure.lattice.a
    expected = 2 * math.degrees(math.asin(lam * math.sqrt(3) / (2 * a)))
    assert expected == pytest.approx(15.3, abs=0.05)
    assert np.min(np.abs(marks - expected)) < 1e-6


def test_cli_writes_report_and_rejects_bad_input(electrode_results, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert xrdkit_main(["report", str(electrode_results), "--out", str(out)]) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().out
    bogus = tmp_path / "not_results.h5"
    bogus.write_bytes(b"not hdf5")
    assert xrdkit_main(["report", str(bogus), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert "not_results.h5" in err
    with pytest.raises(InputError, match="output folder"):
        build_report(electrode_results, out_html=tmp_path / "missing" / "r.html")
    with pytest.raises(InputError):
        build_report(electrode_results, ir_results=bogus, out_html=tmp_path / "y.html")


def test_summary_and_map_figures_show_the_stored_numbers(electrode_results):
    from matplotlib.collections import QuadMesh

    from xrdkit.report import load_results, series_map_figure, summary_figure

    table = load_results(electrode_results)
    with h5py.File(EXAMPLES / "electrodes.h5", "r") as f:
        truth = sorted(100 * float(f[e].attrs["truth_fcc_weight_fraction"]) for e in f
                       if e.startswith("electrode") and e != "electrode_04")  # 04 is the failed item
    fig = summary_figure(table)
    ax = fig.axes[0]
    plotted = sorted(float(y) for c in ax.containers for y in c.lines[0].get_ydata())
    assert plotted == pytest.approx(truth, abs=1e-9)
    ok = [r for r in table.rows if r["status"] == "ok"]
    fig = series_map_figure(electrode_results, markers_deg={"nbh-fcc": [15.29]}, log_scale=False)
    mesh = next(c for a in fig.axes for c in a.collections if isinstance(c, QuadMesh))
    img = np.asarray(mesh.get_array()).reshape(len(ok), -1)
    first = read_ref(list_scans(EXAMPLES / "electrodes.h5")[0])
    np.testing.assert_allclose(img[0], first.counts)  # row 0 = the first scan's counts, unchanged
