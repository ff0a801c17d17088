"""Electrolyte conductivity: effective-medium solvers against closed forms and limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrdkit.cell.conductivity import (
    ElectrolyteParameters,
    arrhenius,
    bruggeman_conductivity,
    electrolyte_conductivity,
    gem_conductivity,
    phase_volume_fractions,
    weight_to_volume_fractions,
)
from xrdkit.cell.constants import BOLTZMANN_EV_PER_K, paper_calibration, provenance
from xrdkit.errors import InputError


def bruggeman_closed_form(phi1: float, s1: float, s2: float) -> float:
    """Two-phase symmetric Bruggeman: positive root of 2σ² − bσ − σ1σ2 = 0,
    b = (3φ1 − 1)σ1 + (3φ2 − 1)σ2 (Landauer, J. Appl. Phys. 23 (1952) 779)."""
    phi2 = 1.0 - phi1
    b = (3 * phi1 - 1) * s1 + (3 * phi2 - 1) * s2
    return (b + math.sqrt(b * b + 8 * s1 * s2)) / 4.0


@pytest.mark.parametrize("phi1", [0.0, 0.05, 0.2, 1 / 3, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("ratio", [1e-4, 1e-2, 0.5])
def test_bruggeman_matches_closed_form(phi1: float, ratio: float) -> None:
    s1, s2 = 1e-3, 1e-3 * ratio
    got = bruggeman_conductivity([phi1, 1 - phi1], [s1, s2])
    assert got == pytest.approx(bruggeman_closed_form(phi1, s1, s2), rel=1e-9)


def test_gem_with_t1_and_third_threshold_is_bruggeman(rng: np.random.Generator) -> None:
    for _ in range(20):
        phi = rng.dirichlet([1, 1, 1])
        sig = 10 ** rng.uniform(-8, -2, 3)
        assert gem_conductivity(phi, sig, 1 / 3, 1.0) == pytest.approx(
            bruggeman_conductivity(phi, sig), rel=1e-9)


@pytest.mark.parametrize("phi", [0.3, 0.5, 0.7, 0.95])
@pytest.mark.parametrize("phi_c,t", [(0.16, 2.0), (0.25, 1.7)])
def test_gem_percolation_power_law_with_insulator(phi: float, phi_c: float, t: float) -> None:
    """σ_low → 0: GEM reduces to σ_h ((φ − φc)/(1 − φc))^t above φc (McLachlan 1990)."""
    got = gem_conductivity([phi, 1 - phi], [1e-3, 1e-3 * 1e-13], phi_c, t)
    expect = 1e-3 * ((phi - phi_c) / (1 - phi_c)) ** t
    assert got == pytest.approx(expect, rel=1e-3)


def test_gem_below_threshold_is_insulating_like() -> None:
    """Below φc with an insulating minority the mixture stays orders below the conductor."""
    got = gem_conductivity([0.1, 0.9], [1e-3, 1e-10], 0.16, 2.0)
    assert got < 1e-8


def test_weight_to_volume_fractions_hand_case() -> None:
    # 50/50 by weight, densities 1 and 3 → volumes 0.5 and 1/6 → 0.75 and 0.25
    np.testing.assert_allclose(weight_to_volume_fractions([0.5, 0.5], [1.0, 3.0]), [0.75, 0.25])


def test_limit_pure_fcc_equals_fcc_value_at_any_temperature() -> None:
    for t_c in (-20.0, 25.0, 30.0, 60.0):  # the 0.60 eV regime
        p = ElectrolyteParameters()
        expect = arrhenius(p.sigma_fcc_25C_S_per_cm, p.activation_energy_fcc_eV, t_c + 273.15)
        for mixing in ("gem", "bruggeman"):
            got = electrolyte_conductivity(1.0, t_c, ElectrolyteParameters(mixing=mixing))
            assert got == pytest.approx(expect, rel=1e-9)
    # and continuously approaches it
    s1 = electrolyte_conductivity(1.0)
    assert electrolyte_conductivity(0.999) == pytest.approx(s1, rel=5e-3)


def test_pure_fcc_at_25C_is_paper_value() -> None:
    assert electrolyte_conductivity(1.0, 25.0) == pytest.approx(
        paper_calibration()["sigma_fcc_25C_S_per_cm"], rel=1e-12)


def test_arrhenius_slope_recovers_activation_energy() -> None:
    ea = paper_calibration()["activation_energy_fcc_eV"]
    t = np.array([280.0, 300.0, 320.0])
    s = np.array([electrolyte_conductivity(1.0, x - 273.15) for x in t])
    slope = np.polyfit(1.0 / t, np.log(s), 1)[0]
    assert -slope * BOLTZMANN_EV_PER_K == pytest.approx(ea, rel=1e-9)


def test_high_temperature_regime_slope_and_continuity() -> None:
    """Above 70 °C the fcc phase follows 0.34 eV (paper), joined continuously at 70 °C."""
    t = np.array([360.0, 380.0, 400.0])
    s = np.array([electrolyte_conductivity(1.0, x - 273.15) for x in t])
    slope = np.polyfit(1.0 / t, np.log(s), 1)[0]
    assert -slope * BOLTZMANN_EV_PER_K == pytest.approx(0.34, rel=1e-9)
    assert electrolyte_conductivity(1.0, 70.0 + 1e-9) == pytest.approx(
        electrolyte_conductivity(1.0, 70.0), rel=1e-9)


def test_phase_volume_fractions_sum_and_order() -> None:
    phi = phase_volume_fractions(0.87)
    assert phi.sum() == pytest.approx(1.0)
    assert phi[0] == pytest.approx(0.87, abs=0.01)  # densities are all ≈ 1.17


def test_every_constant_has_provenance() -> None:
    for name in ("sigma_fcc_25C_S_per_cm", "sigma_monoclinic_25C_S_per_cm",
                 "density_nacro2_g_per_cm3", "percolation_threshold_volume_fraction"):
        rec = provenance(name)
        assert rec["status"] in {"paper", "lit", "derived", "unverified", "assumed"}
        assert rec["source"]


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_bad_fraction_raises(bad: float) -> None:
    with pytest.raises(InputError, match="fcc_weight_fraction"):
        electrolyte_conductivity(bad)


def test_bad_parameters_raise() -> None:
    with pytest.raises(InputError, match="percolation_threshold"):
        ElectrolyteParameters(percolation_threshold=1.2)
    with pytest.raises(InputError, match="mixing"):
        ElectrolyteParameters(mixing="maxwell")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="weight fractions"):
        weight_to_volume_fractions([0.5, 0.6], [1.0, 1.0])


def test_batch_conductivity_matches_scalar(rng: np.random.Generator) -> None:
    """Vectorised GEM (bisection) against the scalar brentq solver, random parameters."""
    from xrdkit.cell.conductivity import electrolyte_conductivity_batch

    n = 40
    w = rng.uniform(0, 1, n)
    kw = dict(sigma_fcc_25C_S_per_cm=rng.uniform(7e-4, 1.3e-3, n),
              activation_energy_fcc_eV=rng.uniform(0.5, 0.7, n),
              sigma_monoclinic_25C_S_per_cm=10 ** rng.uniform(-9, -5, n),
              activation_energy_monoclinic_eV=rng.uniform(0.5, 1.2, n),
              density_fcc_g_per_cm3=rng.uniform(1.12, 1.22, n),
              density_b12_g_per_cm3=rng.uniform(1.1, 1.22, n),
              density_b10_g_per_cm3=rng.uniform(1.05, 1.25, n),
              percolation_threshold=rng.uniform(0.1, 0.5, n),
              percolation_exponent=rng.uniform(1.6, 2.2, n))
    for t_c in (-20.0, 30.0, 90.0):
        got = electrolyte_conductivity_batch(w, t_c, **kw)
        for k in range(n):
            p = ElectrolyteParameters(
                sigma_fcc_25C_S_per_cm=kw["sigma_fcc_25C_S_per_cm"][k],
                activation_energy_fcc_eV=kw["activation_energy_fcc_eV"][k],
                sigma_monoclinic_25C_S_per_cm=kw["sigma_monoclinic_25C_S_per_cm"][k],
                activation_energy_monoclinic_eV=kw["activation_energy_monoclinic_eV"][k],
                density_fcc_g_per_cm3=kw["density_fcc_g_per_cm3"][k],
                density_b12_g_per_cm3=kw["density_b12_g_per_cm3"][k],
                density_b10_g_per_cm3=kw["density_b10_g_per_cm3"][k],
                percolation_threshold=kw["percolation_threshold"][k],
                percolation_exponent=kw["percolation_exponent"][k])
            assert got[k] == pytest.approx(electrolyte_conductivity(w[k], t_c, p), rel=1e-9)
