"""Short reports of the IR results: ``summary()`` (one screen, the verdict first, the numbers of
the object), a one-line ``repr`` and ``_repr_html_`` (escaped) for the IR verdict and the
region fit. The numbers are parsed back from the text and compared with the attributes."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from irkit.assess import IRVerdict, assess
from irkit.fit import RegionFit, fit_region
from irkit.ratio import DEFAULT_RATIO_CALIBRATION, RatioEstimate
from irkit.synthetic import synthesize
from irkit.vocabulary import SPECIES_FLAGS, IRFlag

#: A repr is one line shorter than this.
REPR_LIMIT = 200
#: One screen: at most this many lines (a terminal of 50 lines).
SCREEN_LINES = 50
#: A source name with markup and a long path: must be escaped in HTML and shortened in a repr.
HOSTILE_SOURCE = "/data/" + "very-long-folder-name/" * 12 + "<script>alert(1)</script>.jdx"

FLAG_ROW = re.compile(
    r"^ {4}(?P<name>\w+)\s+(?P<found>yes|no)\s+(?P<h>-?\d+\.\d+) ± (?P<s>\d+\.\d+) "
    r"\(\s*(?P<rel>-?[\d.]+) %\)\s+(?P<lod>\d+\.\d+) \(\s*(?P<rel_lod>[\d.]+) %\)$")
BAND_ROW = re.compile(
    r"^ {4}(?P<label>\S+)\s+(?P<c>[\d.]+) ± (?P<cs>[\d.—]+)\s+(?P<w>[\d.]+) ± (?P<ws>[\d.—]+)\s+"
    r"(?P<h>-?[\d.]+) ± (?P<hs>[\d.—]+)\s+(?P<a>-?[\d.]+) ± (?P<as_>[\d.—]+)\s+(?P<prior>[\d.]+)"
    r"(?P<bound>  AT BOUND)?$")


@pytest.fixture(scope="module")
def verdicts() -> dict[str, IRVerdict]:
    return {
        "isopropanol": assess(synthesize(3, isopropanol=0.15).spectrum),
        "protonated": assess(synthesize(9, protonated=0.1).spectrum),
        "no borate": assess(synthesize(4, borate=0.0, isopropanol=0.3).spectrum),
    }


def _close(text: str, value: float, decimals: int) -> bool:
    """``text`` is ``value`` printed with ``decimals`` decimals (or — for a missing value)."""
    if text == "—":
        return not math.isfinite(value)
    return abs(float(text) - value) <= 0.5 * 10.0 ** -decimals + 1e-12


def _check_repr_and_html(obj: object, summary: str) -> None:
    text = repr(obj)
    assert "\n" not in text and len(text) < REPR_LIMIT, text
    html = obj._repr_html_()
    assert html.startswith("<pre>") and html.endswith("</pre>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<") == 2  # only <pre> and </pre>: every < of the summary escaped
    assert len(summary.splitlines()) <= SCREEN_LINES


# ------------------------------------------------------------------------------ IR verdict


def test_verdict_summary_leads_with_the_verdict_and_shows_every_flag(verdicts) -> None:
    for name, verdict in verdicts.items():
        lines = verdict.summary().splitlines()
        assert lines[0] == "[[IR verdict]] synthetic"
        assert lines[1].strip() == verdict.headline(), name
        assert ("closo-borate present" in lines[1]) is verdict.borate_present
        assert ("no closo-borate" in lines[1]) is (not verdict.borate_present)
        for flag in verdict.flagged():
            assert flag in lines[1]
        rows = {m["name"]: m for m in map(FLAG_ROW.match, lines) if m}
        for flag in SPECIES_FLAGS:
            test = getattr(verdict, flag.value)
            if test is None:  # judged only with a borate
                assert not verdict.borate_present and flag.value not in rows
                assert any(li.split()[:3] == [flag.value, "not", "judged"] for li in lines)
                continue
            row = rows[flag.value]
            assert (row["found"] == "yes") is bool(test.detected), (name, flag)
            assert _close(row["h"], test.height, 4) and _close(row["s"], test.height_sigma, 4)
            assert _close(row["lod"], test.detection_limit, 4)
            assert _close(row["rel"], 100 * test.relative_height, 1)
            assert _close(row["rel_lod"], 100 * test.relative_detection_limit, 1)
        organic = next(li for li in lines if li.split()[:1] == [IRFlag.OTHER_ORGANIC.value])
        assert organic.split()[1] == ("yes" if verdict.other_organic.detected else "no")
        for fit in verdict.fits:
            line = next(li for li in lines if li.split()[:1] == [fit.region])
            r2 = float(re.search(r"R² (\d\.\d+)", line).group(1))
            assert _close(str(r2), fit.quality.r_squared, 5)
        flat = " ".join(verdict.summary().split())
        for note in verdict.notes:  # every note is there (wrapped; the ratio's in its line)
            words = note.removeprefix("B10:B12 ratio: ").split()
            assert " ".join(words) in flat, note


def test_verdict_headline_names_protonation_and_the_flags(verdicts) -> None:
    v = verdicts["protonated"]
    assert v.anions_intact is False and v.flagged() == (IRFlag.PROTONATION,)
    assert "NOT intact (protonated)" in v.headline() and "flags: protonation" in v.headline()
    assert verdicts["isopropanol"].headline().endswith("intact; flags: isopropanol")
    assert verdicts["no borate"].headline() == "no closo-borate; flags: isopropanol"


def test_verdict_summary_shows_a_reported_ratio_with_sigma_and_interval(verdicts) -> None:
    ratio = RatioEstimate(0.987, 0.05, 0.82, 0.04, DEFAULT_RATIO_CALIBRATION, "posterior",
                          interval_68=(0.94, 1.04), interval_95=(0.89, 1.09))
    v = replace(verdicts["isopropanol"], ratio=ratio, ratio_reason="")
    assert v.headline().endswith("; B10:B12 = 0.987 ± 0.050")
    line = next(li for li in v.summary().splitlines() if li.startswith("    B10:B12 ="))
    assert "B10:B12 = 0.987 ± 0.050 (95 % 0.890–1.090)" in line
    assert "not reported" not in v.summary()
    assert "B10:B12 not reported: not identified" in verdicts["isopropanol"].summary()


def test_verdict_repr_and_html(verdicts) -> None:
    v = verdicts["isopropanol"]
    assert repr(v) == f"<IRVerdict synthetic: {v.headline()}>"
    hostile = replace(v, source=HOSTILE_SOURCE, notes=v.notes + ("<b>bold</b> " * 40,))
    _check_repr_and_html(hostile, hostile.summary())
    assert "very-long-folder-name/<script>" not in repr(hostile)  # shortened to the file name
    assert "&lt;b&gt;bold&lt;/b&gt;" in hostile._repr_html_()
    # all flags raised at once and a long source: still one short line
    many = replace(hostile, other_organic=replace(v.other_organic, detected=True),
                   water=replace(v.water, detected=True), binder=replace(v.binder, detected=True),
                   methanol=replace(v.methanol, detected=True))
    assert len(repr(many)) < REPR_LIMIT and "\n" not in repr(many)


# ------------------------------------------------------------------------------ region fit


@pytest.fixture(scope="module")
def fits() -> dict[str, RegionFit]:
    return {"both": fit_region(synthesize(0).spectrum, "stretch"),
            "b12 only": fit_region(synthesize(5, b10_b12_ratio=0.0).spectrum, "stretch"),
            "voigt bend": fit_region(synthesize(0).spectrum, "bend", shape="voigt",
                                     shared_width=True, subtract="arpls")}


def test_fit_summary_has_every_band_with_its_numbers(fits) -> None:
    for name, fit in fits.items():
        text = fit.summary()
        lines = text.splitlines()
        assert lines[0] == "[[Region fit]] synthetic" and lines[1].strip() == fit.headline()
        assert f"R² {fit.quality.r_squared:.5f}" in lines[1]
        assert ("NOT converged" in lines[1]) is (not fit.quality.success)
        assert f"{fit.quality.n_points} points, {fit.quality.n_varys} varied parameters" in text
        rows = {m["label"]: m for m in map(BAND_ROW.match, lines) if m}
        assert list(rows) == [b.label for b in fit.bands], name
        for b in fit.bands:
            row = rows[b.label]
            for key, value, decimals in (("c", b.center_cm1, 1), ("cs", b.center_sigma_cm1, 1),
                                         ("w", b.fwhm_cm1, 1), ("ws", b.fwhm_sigma_cm1, 1),
                                         ("h", b.height, 4), ("hs", b.height_sigma, 4),
                                         ("a", b.area, 3), ("as_", b.area_sigma, 3)):
                assert _close(row[key], value, decimals), (name, b.label, key, row[key], value)
            assert float(row["prior"]) == b.prior_cm1
            assert bool(row["bound"]) is b.at_bound
        for w in fit.warnings:
            assert f"    {w}" in lines
        shape = "Voigt bands" if fit.shape == "voigt" else "pseudo-Voigt bands"
        assert shape in text and ("one shared width" in text) is fit.shared_width
        assert ("pybaselines baseline subtracted" in text) is bool(fit.pre_baseline.any())


def test_fit_summary_says_when_bands_end_at_a_bound(fits) -> None:
    fit = fits["b12 only"]  # no B10H10: its bands collapse onto their bounds
    assert sum(b.at_bound for b in fit.bands) == 2
    assert fit.headline().endswith(", 2 at a bound")
    assert "[[Warnings]]" in fit.summary()


def test_fit_repr_and_html(fits) -> None:
    fit = fits["both"]
    assert repr(fit) == f"<RegionFit synthetic: {fit.headline()}>"
    hostile = replace(fit, source=HOSTILE_SOURCE)
    _check_repr_and_html(hostile, hostile.summary())
