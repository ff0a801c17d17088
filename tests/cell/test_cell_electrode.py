"""Electrode geometry, infiltration mass balance and bad input."""

from __future__ import annotations

import pytest

from xrdkit.cell import (
    Electrode,
    infiltration_loading,
    parse_composition,
    predict_cell,
    rate_capability,
)
from xrdkit.cell.separator import Separator
from xrdkit.errors import InputError


def test_thickness_by_hand() -> None:
    """97:1:2, 7.7 mg NaCrO2 / cm², densities 4.36 / 1.78 / 1.9, porosity 0.34 — hand arithmetic."""
    e = Electrode(parse_composition("97:1:2"), 7.7, density_active_g_per_cm3=4.36,
                  density_binder_g_per_cm3=1.78, density_carbon_g_per_cm3=1.9, porosity=0.34)
    total_mg = 7.7 / 0.97
    v = (7.7 / 4.36 + total_mg * 0.01 / 1.78 + total_mg * 0.02 / 1.9) * 1e-3  # cm³/cm²
    assert e.thickness_cm() == pytest.approx(v / 0.66, rel=1e-12)
    assert e.electrode_mass_mg_per_cm2 == pytest.approx(total_mg)
    # composite basis: the same number is the total mass
    ee = Electrode(parse_composition("97:1:2"), 7.7, loading_basis="electrode")
    assert ee.active_mass_mg_per_cm2 == pytest.approx(7.7 * 0.97)


def test_effective_conductivity_is_bruggeman() -> None:
    e = Electrode(parse_composition("95:2:3"), 7.0, porosity=0.36, pore_fill=0.5)
    assert e.effective_conductivity_S_per_cm(1e-3) == pytest.approx(1e-3 * 0.18**1.5)
    assert e.effective_conductivity_S_per_cm(1e-3, 2.0) == pytest.approx(1e-3 * 0.18**2)


def test_porosity_accounting_by_hand() -> None:
    """Electrolyte volume from the infiltration, the rest of the pores void.

    Solute in the pores = c f V_pores,0 = c f V_s ε0/(1 − ε0); its volume over L = V_s/(1 − ε)
    gives ε_el = (c f/ρ) ε0/(1 − ε0) (1 − ε): 0.1 g/mL / 1.17 g/cm³ × 4 × 0.66 = 0.2256 for the
    paper's numbers — independent of composition and loading; void = 0.34 − 0.2256.
    """
    for comp, loading in (("97:1:2", 7.7), ("95:2:3", 7.0)):
        e = Electrode(parse_composition(comp), loading)
        assert e.electrolyte_volume_fraction == pytest.approx(0.1 / 1.17 * 4.0 * 0.66, rel=1e-12)
        assert e.void_fraction == pytest.approx(0.34 - 0.1 / 1.17 * 4.0 * 0.66, rel=1e-12)
        assert e.filled_pore_fraction == pytest.approx(e.electrolyte_volume_fraction / 0.34)
    half = Electrode(parse_composition("97:1:2"), 7.7, solution_in_pores=0.5)
    assert half.electrolyte_volume_fraction == pytest.approx(0.5 * 0.1 / 1.17 * 4.0 * 0.66)
    # more solute than the pressed pores can hold: the pores are full, no void
    rich = Electrode(parse_composition("97:1:2"), 7.7, infiltration_concentration_mg_per_mL=300.0)
    assert rich.electrolyte_volume_fraction == pytest.approx(0.34)
    assert rich.void_fraction == pytest.approx(0.0)
    # an explicit fill overrides the mass balance (the former "pores full" model)
    full = Electrode(parse_composition("97:1:2"), 7.7, pore_fill=1.0)
    assert full.electrolyte_volume_fraction == pytest.approx(0.34)
    # no electrolyte in the pores: no ionic path, nothing delivered
    dry = Electrode(parse_composition("97:1:2"), 7.7, solution_in_pores=0.0)
    assert dry.effective_conductivity_S_per_cm(1e-3) == 0.0
    assert rate_capability(dry, 1e-3, [0.1]).capacity_mAh_per_g[0] == 0.0


def test_separator_inputs() -> None:
    sep = Separator()
    assert sep.thickness_um is None and sep.thickness_value_um == 400.0
    assert sep.fcc_weight_fraction == 1.0
    assert sep.resistance_ohm_cm2(25.0) == pytest.approx(0.04 / 1e-3)
    given = Separator(thickness_um=250.0, sigma_S_per_cm=2e-3)
    assert given.resistance_ohm_cm2(30.0) == pytest.approx(0.025 / 2e-3)
    for bad in (dict(thickness_um=-1.0), dict(fcc_weight_fraction=1.5),
                dict(sigma_S_per_cm=0.0)):
        with pytest.raises(InputError, match="separator"):
            Separator(**bad)


def test_current_density_scales_with_rate_and_loading() -> None:
    e = Electrode(parse_composition("95:2:3"), 7.0)
    assert e.current_density_mA_per_cm2(1.0, 120.0) == pytest.approx(7.0 * 0.120)
    assert e.current_density_mA_per_cm2(5.0, 120.0) == pytest.approx(5 * 7.0 * 0.120)


def test_infiltration_mass_balance_by_hand() -> None:
    e = Electrode(parse_composition("95:2:3"), 7.0)
    res = infiltration_loading(e, concentration_mg_per_mL=50.0, porosity_at_infiltration=0.5,
                               solution_to_pore_volume=1.0)
    v_solid = sum(e.solid_volumes_cm3_per_cm2)
    m = 50.0 * v_solid  # pore volume = solid volume at 50 % porosity, mL → mg at 50 mg/mL
    assert res.electrolyte_mass_mg_per_cm2 == pytest.approx(m)
    assert res.electrolyte_weight_fraction == pytest.approx(m / (m + 7.0 / 0.95))


@pytest.mark.parametrize("text", ["97:1:3", "90:5:4", "100:1:0", "a:b:c", "97:3", "-1:50:51"])
def test_bad_compositions(text: str) -> None:
    with pytest.raises(InputError, match="composition"):
        parse_composition(text)


@pytest.mark.parametrize("loading", [0.0, -7.7, float("nan")])
def test_bad_loading(loading: float) -> None:
    with pytest.raises(InputError, match="loading"):
        Electrode(parse_composition("97:1:2"), loading)


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_bad_c_rate(rate: float) -> None:
    with pytest.raises(InputError, match="C-rate"):
        Electrode(parse_composition("97:1:2"), 7.7).current_density_mA_per_cm2(rate)
    with pytest.raises(InputError, match="C-rate"):
        predict_cell(0.9, 0.01, c_rates=[0.1, rate])


@pytest.mark.parametrize("w,s", [(1.2, 0.0), (-0.1, 0.0), (0.9, -0.01), (0.9, 2.0)])
def test_predict_cell_bad_fractions(w: float, s: float) -> None:
    with pytest.raises(InputError, match="fcc weight fraction"):
        predict_cell(w, s)


def test_bad_porosity() -> None:
    with pytest.raises(InputError, match="porosity"):
        Electrode(parse_composition("97:1:2"), 7.7, porosity=1.0)
