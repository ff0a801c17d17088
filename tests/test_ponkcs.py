"""PONKCS: quantify a phase known only by its cell, calibrated on a mixture with a standard.

The patterns come from the independent generator (pymatgen lines + its own profile), and
β-Sn plays the "unknown structure": the empirical phase sees only its space group and cell.
"""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit.errors import InputError
from xrdkit.instrument import load_instrument
from xrdkit.phases import PhaseLibrary
from xrdkit.ponkcs import calibrate_ponkcs, cell_phase
from xrdkit.refine import refine
from xrdkit.simulate import resolve_phases
from xrdkit.synthetic import synthetic_pattern

GRID = np.arange(20.0, 90.0, 0.02)


@pytest.fixture(scope="module")
def setup():
    lib = PhaseLibrary()
    inst = load_instrument("miniflex600-cuka")
    sn, al, nacro2 = (lib.get(n).structure for n in ("beta-sn", "al", "nacro2"))
    empirical = cell_phase("sn-empirical", "I4_1/amd", sn.lattice, wavelength_angstrom=1.5406,
                           two_theta_max_deg=float(GRID[-1]))
    al_refl, nacro2_refl = resolve_phases(["al", "nacro2"], inst, float(GRID[-1]), library=lib)
    return inst, sn, al, nacro2, empirical, al_refl, nacro2_refl


def _scan(structures, fractions, seed):
    pat = synthetic_pattern(structures, fractions, GRID, counts_on_strongest=2e4,
                            rng=np.random.default_rng(seed))
    return pat.to_scan()


def test_cell_phase_has_the_space_group_absences(setup) -> None:
    *_, empirical, _, _ = setup
    h, k, l = empirical.hkl.T  # noqa: E741
    # I-centring: h + k + l even for every allowed reflection
    assert np.all((h + k + l) % 2 == 0)
    assert empirical.n > 5


def test_ponkcs_quantifies_an_unknown_structure(setup) -> None:
    inst, sn, al, nacro2, empirical, al_refl, nacro2_refl = setup
    calib_scan = _scan([sn, al], [0.5, 0.5], seed=1)
    emp = calibrate_ponkcs(calib_scan, empirical, al_refl, empirical_weight_fraction=0.5,
                           standard_weight_fraction=0.5, instrument=inst)
    # the empirical Z·M is only defined together with the fitted intensity scale, but the
    # pair must reproduce the calibration mixture itself
    again = refine(calib_scan, [emp, al_refl], instrument=inst)
    assert again.phase("sn-empirical").weight_fraction == pytest.approx(0.5, abs=0.01)
    # quantify a different, three-phase mixture with the calibrated empirical phase
    truth = {"sn-empirical": 0.25, "nacro2": 0.55, "al": 0.20}
    scan = _scan([sn, nacro2, al], [0.25, 0.55, 0.20], seed=2)
    res = refine(scan, [emp, nacro2_refl, al_refl], instrument=inst)
    for ph in res.phases:
        assert ph.weight_fraction == pytest.approx(truth[ph.name], abs=0.02), ph


def test_calibration_needs_positive_weights(setup) -> None:
    inst, sn, al, _, empirical, al_refl, _ = setup
    scan = _scan([sn, al], [0.5, 0.5], seed=3)
    with pytest.raises(InputError, match="must be > 0"):
        calibrate_ponkcs(scan, empirical, al_refl, empirical_weight_fraction=0.0,
                         standard_weight_fraction=1.0, instrument=inst)


def test_bad_space_group_is_an_input_error(setup) -> None:
    _, sn, *_ = setup
    with pytest.raises(InputError, match="space group"):
        cell_phase("x", "Q99", sn.lattice, wavelength_angstrom=1.54, two_theta_max_deg=90)
