"""Analytic rate model: analytic limiting cases, percolation limit, predict_cell propagation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrdkit.cell import Electrode, electrolyte_conductivity, parse_composition, predict_cell
from xrdkit.cell.ocv import inverse_ocv_nacro2, ocv_nacro2
from xrdkit.cell.rate import RateParameters, rate_capability


def test_ocv_inverse_round_trip() -> None:
    x = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(inverse_ocv_nacro2(ocv_nacro2(x)), x, atol=1e-10)
    assert np.all(np.diff(ocv_nacro2(x)) < 0)


def test_ideal_cell_delivers_the_ocv_window() -> None:
    """No resistance, fast diffusion: capacity = Q · (x(V_cut) − x(V_upper)) at every rate."""
    e = Electrode(parse_composition("97:1:2"), 7.7)
    p = RateParameters(interface_resistance_ohm_cm2=0.0, diffusivity_cm2_per_s=1e3)
    rc = rate_capability(e, 1e6, [0.1, 1.0, 10.0], p)
    expect = 120.0 * (inverse_ocv_nacro2(2.10) - inverse_ocv_nacro2(3.35))
    np.testing.assert_allclose(rc.capacity_mAh_per_g, expect, rtol=1e-6)


def test_diffusion_only_matches_parabolic_profile_formula() -> None:
    """No resistance: lost depth of discharge = r² n / (15 D · 3600) (1C = Q window)."""
    e = Electrode(parse_composition("97:1:2"), 7.7, particle_radius_um=3.0)
    p = RateParameters(interface_resistance_ohm_cm2=0.0, diffusivity_cm2_per_s=2e-10)
    rc = rate_capability(e, 1e6, [0.5, 2.0], p)
    x_window = inverse_ocv_nacro2(2.10) - inverse_ocv_nacro2(3.35)
    dx = (3e-4) ** 2 * np.array([0.5, 2.0]) / (15 * 2e-10 * 3600)
    np.testing.assert_allclose(rc.capacity_mAh_per_g, 120.0 * (x_window - dx), rtol=1e-6)


def test_ohmic_only_matches_hand_resistance() -> None:
    """Fast diffusion, no interface: drop = i (L_sep/σ + L/(3σ ε^1.5))."""
    e = Electrode(parse_composition("97:1:2"), 7.7)
    p = RateParameters(interface_resistance_ohm_cm2=0.0, diffusivity_cm2_per_s=1e3)
    sigma = 2e-4
    rc = rate_capability(e, sigma, [3.0], p)
    r = 0.04 / sigma + e.thickness_cm() / (3 * sigma * 0.34**1.5)
    i = 3.0 * 7.7e-3 * 120.0 * 1e-3  # A/cm²
    x_end = inverse_ocv_nacro2(2.10 + i * r)
    assert rc.capacity_mAh_per_g[0] == pytest.approx(120 * (x_end - inverse_ocv_nacro2(3.35)),
                                                     rel=1e-9)


def test_capacity_vanishes_below_percolation_at_high_rate() -> None:
    e = Electrode(parse_composition("97:1:2"), 7.7)
    above = rate_capability(e, electrolyte_conductivity(0.9, 30.0), [5.0])
    below = rate_capability(e, electrolyte_conductivity(0.10, 30.0), [5.0])
    assert above.capacity_mAh_per_g[0] > 50.0
    assert below.capacity_mAh_per_g[0] == 0.0
    pred = predict_cell(0.10, 0.0)
    assert all(r.capacity_mAh_per_g == 0.0 for r in pred.rate_table if r.c_rate >= 1.0)


def test_predict_cell_uncertainty_brackets_and_defaults() -> None:
    pred = predict_cell(0.87, 0.03)
    assert [r.c_rate for r in pred.rate_table] == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    assert (pred.sigma_electrolyte_S_per_cm_low < pred.sigma_electrolyte_S_per_cm
            < pred.sigma_electrolyte_S_per_cm_high)
    # σ at the interval ends equals σ evaluated directly at w ∓ σ_w
    assert pred.sigma_electrolyte_S_per_cm_low == pytest.approx(
        electrolyte_conductivity(0.84, 30.0))
    for r in pred.rate_table:
        assert r.capacity_mAh_per_g_low <= r.capacity_mAh_per_g <= r.capacity_mAh_per_g_high
    r5 = pred.rate_table[-1]
    assert r5.capacity_mAh_per_g_high - r5.capacity_mAh_per_g_low > 1.0  # 5C is sensitive
    assert pred.rate_table[0].retention_vs_0p1C == pytest.approx(1.0)
    d = pred.to_dict()
    assert {"sigma_electrolyte_S_per_cm", "rate_table", "energy_Wh_per_kg"} <= set(d)
    assert {"c_rate", "current_density_mA_per_cm2", "capacity_mAh_per_g",
            "retention_vs_0.1C"} <= set(d["rate_table"][0])
    assert math.isfinite(d["energy_Wh_per_kg"])


def test_inputs_not_mutated() -> None:
    rates = np.array([0.1, 1.0, 5.0])
    rates.setflags(write=False)
    e = Electrode(parse_composition("97:1:2"), 7.7)
    rate_capability(e, 1e-3, rates)
    np.testing.assert_array_equal(rates, [0.1, 1.0, 5.0])
