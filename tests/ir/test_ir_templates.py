"""Reference templates from real spectra: provenance, reproducible build, use on other axes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irkit.templates import TEMPLATE_RECIPES, build_templates, load_templates
from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError


def test_bundled_templates_have_provenance_and_windows() -> None:
    templates = load_templates()
    assert set(templates) == {"methanol", "water_vapour"}
    for t in templates.values():
        assert "realdata/ir_solvents" in t.provenance and "processing" in t.provenance
        assert t.absorbance.max() == pytest.approx(1.0)
        assert any(w.required for w in t.windows)
        assert np.all(np.diff(t.wavenumber_cm1) > 0)
    methanol = templates["methanol"]
    # the strongest methanol band is the C–O stretch near 1033 cm⁻¹ (gas: P/Q/R contour)
    assert 1000 < methanol.wavenumber_cm1[np.argmax(methanol.absorbance)] < 1070
    # the free O–H stretch of the gas is not used
    assert np.all(methanol.on(np.arange(3200.0, 3800.0)) == 0.0)
    assert templates["water_vapour"].species == "water"


def test_templates_rebuild_from_the_real_sources(realdata: Path, tmp_path: Path) -> None:
    written = build_templates(realdata / "ir_solvents", tmp_path)
    assert {p.name for p in written} == {"methanol.csv", "water_vapour.csv", "templates.json"}
    bundled = reference_data_dir() / "ir_templates"
    for name in TEMPLATE_RECIPES:
        new = np.loadtxt(tmp_path / f"{name}.csv", delimiter=",", skiprows=1)
        old = np.loadtxt(bundled / f"{name}.csv", delimiter=",", skiprows=1)
        np.testing.assert_allclose(new, old, rtol=0, atol=2e-6)
    meta = json.loads((tmp_path / "templates.json").read_text())
    assert "COBLENTZ" in meta["methanol"]["source"].upper()
    assert "Sadtler" in meta["water_vapour"]["source"]


def test_template_on_another_axis_and_shifted() -> None:
    t = load_templates()["methanol"]
    x = np.arange(900.0, 1200.0, 0.5)
    peak = x[np.argmax(t.on(x))]
    assert x[np.argmax(t.on(x, shift_cm1=10.0))] == pytest.approx(peak + 10.0, abs=0.5)
    assert t.on(np.array([100.0, 9000.0])).tolist() == [0.0, 0.0]


def test_missing_provenance_is_refused(tmp_path: Path) -> None:
    bundled = reference_data_dir() / "ir_templates"
    meta = json.loads((bundled / "templates.json").read_text())
    meta["methanol"]["source"] = ""
    (tmp_path / "templates.json").write_text(json.dumps(meta))
    for name in ("methanol.csv", "water_vapour.csv"):
        (tmp_path / name).write_bytes((bundled / name).read_bytes())
    with pytest.raises(InputError, match="provenance"):
        load_templates(tmp_path)
