"""Verdicts on real measured spectra (../shared/realdata: none holds a closo-borate), and real
reference spectra mixed into synthetic borate spectra (the screen must name them and raise no
other flag)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from irkit.assess import assess
from irkit.spectra import Spectrum, make_spectrum, read_spectrum, to_absorbance
from irkit.synthetic import synthesize

#: Real measured data beside the repository (as in conftest.py), or where CLOSOKIT_SHARED points.
REALDATA = Path(os.environ.get("CLOSOKIT_SHARED",
                               Path(__file__).resolve().parents[3] / "shared")) / "realdata"
REAL_FILES = ("ir_formats/PE1800.DX", "ir_formats/file.0", "ir_solvents/acetone.jdx",
              "ir_solvents/ethanol.jdx", "ir_solvents/methanol.jdx", "ir_solvents/toluene.jdx",
              "ir_solvents/water.jdx")
#: What each real file is (from its header / the realdata README) and what must be named.
EXPECTED = {
    "PE1800.DX": {"other_organic": True},  # isobutyl acrylate: C–H and C=O
    "file.0": {"water": True},  # an atmosphere measurement: water vapour lines + CO2
    "acetone.jdx": {"other_organic": True},  # C=O 1740 cm⁻¹
    "ethanol.jdx": {"other_organic": True, "methanol": False},  # an alcohol, not methanol
    "methanol.jdx": {"methanol": True, "other_organic": False},
    "toluene.jdx": {"other_organic": True},  # aromatic C–H
    "water.jdx": {"water": True},
}


@pytest.fixture(scope="module")
def verdicts() -> dict:
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} not present")
    return {Path(f).name: assess(read_spectrum(REALDATA / f)) for f in REAL_FILES}


@pytest.mark.parametrize("name", [Path(f).name for f in REAL_FILES])
def test_real_spectrum_has_no_borate_and_no_false_flags(verdicts: dict, name: str) -> None:
    d = verdicts[name].to_dict()
    assert d["borate_present"] is False and d["anion"] is None
    for key in ("anions_intact", "oxidation", "protonation", "b10_b12_ratio"):
        assert d[key] is None, key
    assert d["binder"] is False  # PE1800 is an acrylate: not PVDF
    assert d["isopropanol"] is False
    for key, value in EXPECTED[name].items():
        assert d[key] is value, (key, d["contaminants"])
    if name not in ("methanol.jdx",):
        assert d["methanol"] is False
    if name not in ("water.jdx", "file.0"):
        assert d["water"] is False


def test_water_is_named_as_vapour_and_co2_as_atmosphere(verdicts: dict) -> None:
    for name in ("water.jdx", "file.0"):
        assert verdicts[name].water.form == "vapour"
        assert "water (vapour)" in verdicts[name].contaminants
    assert verdicts["file.0"].co2.detected
    assert any("CO₂" in n for n in verdicts["file.0"].notes)


def test_other_organic_names_what_it_saw(verdicts: dict) -> None:
    seen = "; ".join(verdicts["PE1800.DX"].other_organic.seen)
    assert "C=O stretch at 17" in seen and "C–H stretch at 29" in seen
    assert "C=O stretch at 17" in "; ".join(verdicts["acetone.jdx"].other_organic.seen)


def test_converted_units_are_said(verdicts: dict) -> None:
    assert any("decadic absorption coefficient" in n for n in verdicts["acetone.jdx"].notes)


# ------------------------------------------------------------ real references in a borate


def _mix(realdata: Path, name: str, fraction: float, *, seed: int = 3, shift_cm1: float = 0.0,
         broaden_fwhm_cm1: float = 0.0) -> Spectrum:
    """A synthetic 1:1 borate spectrum plus a real reference spectrum (baseline-free part
    scaled so that its strongest band is ``fraction`` of the B–H band), optionally shifted and
    broadened (a condensed residue is not a gas)."""
    from pybaselines import Baseline

    syn = synthesize(seed, baseline="sloping", noise_sd=0.002)
    x = syn.spectrum.wavenumber_cm1
    ref = to_absorbance(read_spectrum(realdata / "ir_solvents" / name))
    grid = np.arange(np.ceil(ref.wavenumber_cm1[0]), np.floor(ref.wavenumber_cm1[-1]))
    y = np.interp(grid, ref.wavenumber_cm1, ref.values)
    y = y - Baseline(grid).arpls(y, lam=200.0 ** 4)[0]
    if broaden_fwhm_cm1:
        y = gaussian_filter1d(y, broaden_fwhm_cm1 / 2.3548)
    y = y / y.max() * fraction * 0.5  # the B–H band is 0.5 absorbance high at 1:1
    add = np.interp(x, grid + shift_cm1, y, left=0.0, right=0.0)
    return make_spectrum(x, syn.spectrum.values + add, "absorbance", source=f"borate+{name}")


def test_condensed_like_methanol_in_a_borate_is_methanol_only(realdata: Path) -> None:
    # methanol's C–O (1033 cm⁻¹) sits in the B10H10 δ(B–H) window: it must be attributed to
    # methanol, not to B10H10, B–O or anything else
    v = assess(_mix(realdata, "methanol.jdx", 0.10, shift_cm1=-4.0, broaden_fwhm_cm1=12.0))
    d = v.to_dict()
    assert d["borate_present"] and d["anion"] == "both"
    assert d["methanol"] is True
    assert not any(d[k] for k in ("isopropanol", "water", "oxidation", "binder",
                                  "other_organic", "protonation"))


def test_ethanol_in_a_borate_is_other_organic_not_methanol(realdata: Path) -> None:
    v = assess(_mix(realdata, "ethanol.jdx", 0.10, broaden_fwhm_cm1=8.0))
    d = v.to_dict()
    assert d["borate_present"] is True
    assert d["methanol"] is False and d["isopropanol"] is False
    assert d["other_organic"] is True
    # ethanol's CH3/OH deformation bands fill the B–O window: oxidation cannot be judged
    assert d["oxidation"] in (False, None)


def test_water_vapour_lines_in_a_borate_are_water_not_oxidation(realdata: Path) -> None:
    v = assess(_mix(realdata, "water.jdx", 0.05))
    d = v.to_dict()
    assert d["borate_present"] is True and d["water"] is True
    assert v.water.form == "vapour"
    assert d["oxidation"] is False and d["other_organic"] is False


@pytest.mark.parametrize("name", REAL_FILES)
def test_cli_json_on_every_real_file(tmp_path: Path, name: str) -> None:
    """The way real spectra are judged from outside: ``irkit fit FILE --json OUT.json``,
    reading verdict.borate_present / isopropanol / oxidation."""
    import json

    from irkit.cli import main

    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} not present")
    out = tmp_path / "out.json"
    assert main(["fit", str(REALDATA / name), "--json", str(out)]) == 0
    v = json.loads(out.read_text())["verdict"]
    assert v["borate_present"] is False
    assert v["isopropanol"] is False
    assert v["oxidation"] is None
