"""Tests of :mod:`xrdkit.instrument`: presets, Lorentz–polarisation, validation.

External truth: the textbook polarisation factors (unpolarised beam (1 + cos²2θ)/2; a fully
polarised synchrotron beam with vertical scattering plane, P = 1), pymatgen's
``XRDCalculator`` Lorentz–polarisation factor (1 + cos²2θ)/(sin²θ cosθ), and the Cu Kα1/Kα2
wavelengths of Hölzer et al., Phys. Rev. A 56 (1997) 4554 (1.540593 / 1.544414 Å).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xrdkit.errors import InputError
from xrdkit.instrument import (
    Instrument,
    instrument_presets,
    load_instrument,
    lorentz_polarisation_terms,
)

TT = np.linspace(5.0, 170.0, 34)


def test_presets_are_listed_and_load() -> None:
    names = instrument_presets()
    assert {"miniflex600-cuka", "synchrotron-0p8"} <= set(names)
    for name in names:
        inst = load_instrument(name)
        assert inst.name == name
        assert inst.provenance and inst.provenance != Instrument().provenance, name
        assert len(inst.wavelengths_angstrom) == len(inst.wavelength_weights)
        lp = inst.lorentz_polarisation(TT)
        assert np.all(np.isfinite(lp)) and np.all(lp > 0)


def test_miniflex_preset_is_cu_kalpha() -> None:
    inst = load_instrument("miniflex600-cuka")
    assert inst.wavelengths_angstrom == pytest.approx((1.540593, 1.544414), abs=1e-6)
    assert inst.wavelength_weights[1] / inst.wavelength_weights[0] == pytest.approx(0.5)
    assert inst.monochromator_two_theta_deg == 0.0 and inst.beam_polarisation is None
    assert inst.goniometer_radius_mm == 150.0
    single = inst.without_ka2()
    assert single.wavelengths_angstrom == inst.wavelengths_angstrom[:1]
    assert inst.wavelengths_angstrom[1] == pytest.approx(1.544414)  # original untouched


def test_load_passes_instruments_through_and_reads_files(tmp_path: Path) -> None:
    inst = Instrument(name="mine", w_deg2=0.01)
    assert load_instrument(inst) is inst
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "wavelengths_angstrom": [0.7093], "wavelength_weights": [1],
                                "_comment": "ignored"}))
    loaded = load_instrument(path)
    assert loaded.wavelengths_angstrom == (0.7093,) and loaded.name == "mine"


def test_unpolarised_lab_beam() -> None:
    inst = Instrument(monochromator_two_theta_deg=0.0)
    c2 = np.cos(np.radians(TT)) ** 2
    np.testing.assert_allclose(inst.polarisation(TT), (1 + c2) / 2, rtol=1e-14)


def test_lorentz_polarisation_is_pymatgens_up_to_a_constant() -> None:
    inst = Instrument(monochromator_two_theta_deg=0.0)
    th = np.radians(TT) / 2
    pymatgen_lp = (1 + np.cos(2 * th) ** 2) / (np.sin(th) ** 2 * np.cos(th))  # xrd.py, get_pattern
    np.testing.assert_allclose(inst.lorentz_polarisation(TT), pymatgen_lp / 2, rtol=1e-13)


def test_monochromator_polarisation() -> None:
    """Graphite (002) for Cu Kα, 2θ_m = 26.6°: P(90°) = 1/(1 + cos²2θ_m); P(0) = P(180°) = 1."""
    inst = Instrument(monochromator_two_theta_deg=26.6)
    cm2 = np.cos(np.radians(26.6)) ** 2
    p = inst.polarisation(np.array([1e-9, 90.0, 180.0 - 1e-9]))
    np.testing.assert_allclose(p, [1.0, 1 / (1 + cm2), 1.0], rtol=1e-12)
    # a monochromator polarises the beam: the 90° dip is shallower than without one
    assert p[1] > Instrument().polarisation(np.array([90.0]))[0]


def test_synchrotron_polarisation() -> None:
    full = Instrument(wavelengths_angstrom=(0.8,), wavelength_weights=(1.0,), beam_polarisation=1.0)
    np.testing.assert_allclose(full.polarisation(TT), 1.0)
    none = full.replace(beam_polarisation=0.0)  # polarised in the scattering plane: cos²2θ
    np.testing.assert_allclose(none.polarisation(TT), np.cos(np.radians(TT)) ** 2, atol=1e-15)
    half = full.replace(beam_polarisation=0.5)  # = unpolarised
    np.testing.assert_allclose(half.polarisation(TT), Instrument().polarisation(TT), rtol=1e-14)


@pytest.mark.parametrize("inst", [Instrument(), Instrument(monochromator_two_theta_deg=26.6),
                                  Instrument(wavelengths_angstrom=(0.8,), wavelength_weights=(1.0,),
                                             beam_polarisation=0.9)])
def test_lp_slope_is_the_derivative_of_ln_lp(inst: Instrument) -> None:
    lp, slope = lorentz_polarisation_terms(TT, *inst.polarisation_coefficients())
    np.testing.assert_allclose(lp, inst.lorentz_polarisation(TT), rtol=1e-13)
    h = 1e-5
    fd = (np.log(inst.lorentz_polarisation(TT + h)) - np.log(inst.lorentz_polarisation(TT - h))) / (2 * h)
    np.testing.assert_allclose(slope, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"wavelengths_angstrom": (-1.54,), "wavelength_weights": (1.0,)}, "wavelengths must be > 0"),
        ({"wavelengths_angstrom": (float("nan"),), "wavelength_weights": (1.0,)}, "wavelengths must be > 0"),
        ({"wavelengths_angstrom": (1.54, 1.55), "wavelength_weights": (1.0,)}, "2 wavelengths but 1 weights"),
        ({"wavelengths_angstrom": (), "wavelength_weights": ()}, "0 wavelengths"),
        ({"wavelength_weights": (0.0, 0.5)}, "weights"),
        ({"wavelength_weights": (1.0, -0.5)}, "weights"),
        ({"goniometer_radius_mm": 0.0}, "goniometer_radius_mm"),
        ({"penetration_depth_mm": -0.1}, "penetration_depth_mm"),
        ({"beam_polarisation": 1.5}, "beam_polarisation"),
    ],
)
def test_bad_fields_raise_input_error(fields: dict, words: str) -> None:
    with pytest.raises(InputError) as info:
        Instrument(name="bad", **fields)
    assert words in str(info.value) and "'bad'" in str(info.value)
    with pytest.raises(InputError):
        Instrument(name="bad").replace(**fields)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as info:
        load_instrument("miniflex-600")
    msg = str(info.value)
    assert "miniflex-600" in msg
    for name in instrument_presets():
        assert name in msg


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "cannot read"),
        (json.dumps({"name": "x", "wavelenght_angstrom": [1.54]}), "wavelenght_angstrom"),
        (json.dumps({"name": "x", "goniometer_radius_mm": -5}), "goniometer_radius_mm"),
    ],
)
def test_bad_instrument_files(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "inst.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_instrument(path)
    assert words in str(info.value)


def test_missing_instrument_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(InputError) as info:
        load_instrument(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    ['{"wavelengths_angstrom": "abc"}', "[1, 2]", '{"goniometer_radius_mm": "big"}'],
)
def test_wrongly_typed_instrument_files_raise_input_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "inst.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_instrument(path)
    assert str(path) in str(info.value)
