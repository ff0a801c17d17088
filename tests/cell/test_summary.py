"""The cell prediction's short reports: ``summary()`` (one screen, the headline first, the numbers
of the prediction with units and intervals), a one-line ``repr`` and an escaped ``_repr_html_``.
The numbers are parsed back from the text and compared with the attributes."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from xrdkit.cell import CellPrediction, predict_cell

#: A repr is one line shorter than this; a summary fits a 50-line terminal.
REPR_LIMIT = 200
SCREEN_LINES = 50
#: Monte Carlo draws for the interval case (few: fast; the intervals only need to exist).
SAMPLES = 64

NUMBER = r"(-?[\d.]+(?:e[-+]\d+)?|—)"
RATE_ROW = re.compile(
    rf"^ {{4}}(?P<c>[\d.]+)\s+(?P<i>[\d.]+)\s+(?P<q>{NUMBER})(?: \[(?P<lo>{NUMBER}), "
    rf"(?P<hi>{NUMBER})\])?\s+(?P<r>{NUMBER}) %(?: \[(?P<rlo>{NUMBER}) %, (?P<rhi>{NUMBER}) %\])?$")


def _close(text: str, value: float) -> bool:
    """``text`` is ``value`` rounded to the digits printed (``—`` for a missing value)."""
    if text == "—":
        return not math.isfinite(value)
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    tol = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return abs(float(text) - value) <= tol * (1 + 1e-9)


def _interval(text: str, label: str) -> tuple[str, ...]:
    """``value [low, high]`` after ``label`` in ``text`` (low/high None without an interval)."""
    m = re.search(re.escape(label) + rf"\s+{NUMBER}(?: \[{NUMBER}, {NUMBER}\])?", text)
    assert m, (label, text)
    return m.groups()


@pytest.fixture(scope="module")
def predictions() -> dict[str, CellPrediction]:
    return {
        "parameters": predict_cell(0.87, 0.03, samples=SAMPLES),
        "purity": predict_cell(0.6, 0.1, c_rates=(0.1, 1.0, 5.0), uncertainty="purity"),
        "none": predict_cell(0.95, 0.0, cathode="90:4:6", loading_mg_per_cm2=12.0,
                             uncertainty="none"),
        "no capacity": predict_cell(0.0, 0.0, uncertainty="none"),
    }


def test_summary_leads_with_the_headline_and_has_the_numbers(predictions) -> None:
    for name, p in predictions.items():
        text = p.summary()
        lines = text.splitlines()
        assert len(lines) <= SCREEN_LINES
        assert lines[0].startswith(f"[[Cell prediction]] NaCrO2 cathode {p.cathode}, "
                                   f"{p.loading_mg_per_cm2:g} mg/cm²")
        assert lines[1].strip() == p.headline()
        assert p.headline().startswith(
            f"fcc {p.fcc_weight_fraction:.3f} ± {p.fcc_weight_fraction_sigma:.3f} → ")
        top = max(p.rate_table, key=lambda r: r.c_rate)
        assert f"{top.c_rate:g}C: " in p.headline()
        # the rate table, row by row
        rows = [m for m in map(RATE_ROW.match, lines) if m]
        assert len(rows) == len(p.rate_table), (name, text)
        for m, r in zip(rows, p.rate_table, strict=True):
            assert float(m["c"]) == r.c_rate
            assert _close(m["i"], r.current_density_mA_per_cm2)
            assert _close(m["q"], r.capacity_mAh_per_g)
            assert _close(m["r"], 100 * r.retention_vs_0p1C)
            if p.uncertainty == "none":
                assert m["lo"] is None and m["rlo"] is None
            else:
                assert _close(m["lo"], r.capacity_mAh_per_g_low)
                assert _close(m["hi"], r.capacity_mAh_per_g_high)
                assert _close(m["rlo"], 100 * r.retention_vs_0p1C_low)
                assert _close(m["rhi"], 100 * r.retention_vs_0p1C_high)
        # scalars with their units and intervals
        for label, unit, attr in (("energy", "Wh/kg NaCrO2", "energy_Wh_per_kg"),
                                  ("N/P", None, "np_ratio"),
                                  ("interface", "Ω cm²", "interface_resistance_ohm_cm2")):
            mid, lo, hi = _interval(text, label)
            assert _close(mid, getattr(p, attr)), (name, attr)
            if p.uncertainty == "none":
                assert lo is None
            else:
                assert _close(lo, getattr(p, f"{attr}_low"))
                assert _close(hi, getattr(p, f"{attr}_high"))
            if unit:
                assert unit in text
        sigma, lo, hi = _interval(text, f"fcc {p.fcc_weight_fraction:.3f} ± "
                                        f"{p.fcc_weight_fraction_sigma:.3f}   σ")
        assert _close(sigma, p.sigma_electrolyte_S_per_cm) and "e-" in sigma
        if p.uncertainty != "none":
            assert _close(lo, p.sigma_electrolyte_S_per_cm_low)
            assert _close(hi, p.sigma_electrolyte_S_per_cm_high)
        assert " S/cm" in text
        assert f"{100 * p.retention_after_cycles:.1f} % left after {p.cycles} cycles" in text
        assert "nan" not in text.lower()


def test_summary_says_what_the_intervals_are(predictions) -> None:
    p = predictions["parameters"]
    assert (f"central 95 % of a calibrated Monte Carlo ({p.samples_accepted} of "
            f"{p.samples_drawn} draws accepted)") in p.summary()
    assert "purity σ alone" in predictions["purity"].summary()
    assert "no intervals (nominal model)" in predictions["none"].summary()
    for pred in predictions.values():  # said once, not again in the notes
        assert pred.summary().count("intervals") == 1


def test_summary_shows_missing_numbers_as_a_dash(predictions) -> None:
    p = replace(predictions["none"], np_ratio=math.nan, mean_voltage_V=math.nan)
    assert "N/P —; mean voltage — V" in p.summary()


def test_repr_is_one_short_line_and_html_is_escaped(predictions) -> None:
    for p in predictions.values():
        text = repr(p)
        assert "\n" not in text and len(text) < REPR_LIMIT
        assert text == f"<CellPrediction {p.cathode} at {p.loading_mg_per_cm2:g} mg/cm²: " \
                       f"{p.headline()}>"
        html = p._repr_html_()
        assert html.startswith("<pre>") and html.count("<") == 2
    hostile = replace(predictions["none"], notes=("<b>not bold</b>",), cathode="<i>97:1:2</i>")
    html = hostile._repr_html_()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>" not in html and "<i>" not in html
    assert len(repr(replace(hostile, cathode="9" * 300))) < REPR_LIMIT
