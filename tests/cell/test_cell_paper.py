"""Model vs the paper (Duchêne et al., Energy Storage Mater. 26 (2020) 543), side by side.

The paper's numbers are read from ``reference_data/cell/paper_calibration.json`` (FACTS.md §4).
Which model parameters were *fitted* to these numbers is stated per test: the two 5C retentions
(interface resistance + binder film thickness) and the two fade points (fade law) are exactly
determined fits; everything else here is computed from the stated inputs and assumptions.
Run with ``-s`` to see the tables.
"""

from __future__ import annotations

import pytest

from xrdkit.cell import (
    Electrode,
    electrolyte_conductivity,
    full_cell,
    infiltration_loading,
    np_ratio,
    parse_composition,
    rate_capability,
)
from xrdkit.cell.calibration import fit_fade_model, fit_rate_parameters, paper_electrodes
from xrdkit.cell.constants import paper_calibration
from xrdkit.cell.fade import FadeModel
from xrdkit.cell.rate import RateParameters

PAPER = paper_calibration()
T_C = PAPER["temperature_C"]


def _row(name: str, model: float, paper: float | str, note: str = "") -> str:
    p = paper if isinstance(paper, str) else f"{paper:10.4g}"
    return f"  {name:<46} model {model:10.4g}   paper {p:>10}   {note}"


def test_current_densities_from_loading_and_capacity() -> None:
    """0.1C 0.084 and 5C 4.5 mA cm⁻² within 3 % (1C = 120 mA g⁻¹, loading = NaCrO2 mass).

    The paper's two numbers differ by a factor 53.6, not 50, so no single electrode gives both
    within 3 %: 0.084 is the 95:2:3 electrode (7.0 mg) and 4.5 the 97:1:2 (7.7 mg).
    """
    e95 = Electrode(parse_composition("95:2:3"), 7.0)
    e97 = Electrode(parse_composition("97:1:2"), 7.7)
    i01 = e95.current_density_mA_per_cm2(0.1)
    i5 = e97.current_density_mA_per_cm2(5.0)
    print("\ncurrent densities (1C = 120 mA/g NaCrO2, loading = NaCrO2 mass):")
    print(_row("0.1C, 95:2:3 @ 7.0 mg/cm² (mA/cm²)", i01, PAPER["current_density_0p1C_mA_per_cm2"]))
    print(_row("5C,   97:1:2 @ 7.7 mg/cm² (mA/cm²)", i5, PAPER["current_density_5C_mA_per_cm2"]))
    print(_row("0.1C, 97:1:2 @ 7.7 (for comparison)", e97.current_density_mA_per_cm2(0.1), "-"))
    ee = Electrode(parse_composition("97:1:2"), 7.7, loading_basis="electrode")
    print(_row("5C, 97:1:2 @ 7.7 if loading = composite", ee.current_density_mA_per_cm2(5.0), "-"))
    assert i01 == pytest.approx(PAPER["current_density_0p1C_mA_per_cm2"], rel=0.03)
    assert i5 == pytest.approx(PAPER["current_density_5C_mA_per_cm2"], rel=0.03)


def test_rate_capability_one_parameter_set_for_both_electrodes() -> None:
    """0.1C ≈ 118 mAh g⁻¹; 5C retention 67.4 % (97:1:2) and 57.5 % (95:2:3) within 5 points.

    One parameter set for both.  What carries the gap: the binder.  Loading goes the wrong way
    (95:2:3 is the *thinner* electrode, 27 vs 29 µm) and the carbon content does not enter the
    ionic path, so the only composition term is PVDF coverage of the NaCrO2 surface: 1 wt %
    covers θ ≈ 10 %, 2 wt % θ ≈ 20 % (film thickness 0.18 µm), raising the interface
    resistance by exp(A_binder/A_active).  The interface resistance and film thickness are
    FITTED to these two retentions (exactly determined), so matching them shows that the model
    can carry the gap with physically plausible numbers, not that it predicts it; the
    leave-one-electrode-out check is in test_cell_uncertainty.py.
    """
    sigma = electrolyte_conductivity(1.0, T_C)
    params = RateParameters()
    print(f"\nrate capability, phase-pure electrolyte σ({T_C:g} °C) = {sigma:.3e} S/cm")
    for label, (electrode, target) in paper_electrodes().items():
        rc = rate_capability(electrode, sigma, [0.1, 5.0], params)
        q01, q5 = rc.capacity_mAh_per_g
        print(_row(f"{label}: 0.1C capacity (mAh/g)", q01,
                   PAPER["capacity_0p1C_first_discharge_mAh_per_g"]))
        print(_row(f"{label}: 5C retention vs 0.1C", q5 / q01, target,
                   f"θ_binder {rc.binder_coverage:.3f}, R_int {rc.interface_resistance_ohm_cm2:.0f}"
                   f" Ω cm², R_sep {rc.separator_resistance_ohm_cm2:.0f}, "
                   f"R_el {rc.electrode_ionic_resistance_ohm_cm2:.1f}, L {electrode.thickness_um:.1f} µm"))
        assert q01 == pytest.approx(PAPER["capacity_0p1C_first_discharge_mAh_per_g"], rel=0.02)
        assert abs(q5 / q01 - target) < 0.05
    # the stored calibration is what the fit gives today
    refit = fit_rate_parameters()
    assert refit.interface_resistance_ohm_cm2 == pytest.approx(
        params.interface_resistance_ohm_cm2, rel=1e-3)
    assert refit.binder_film_thickness_um == pytest.approx(params.binder_film_thickness_um,
                                                           rel=1e-3)


def test_without_binder_term_the_gap_cannot_be_carried() -> None:
    """Control: with binder coverage switched off (huge film thickness) the model cannot reproduce
    the gap — the thinner 95:2:3 electrode would retain *more*, opposite to the paper."""
    sigma = electrolyte_conductivity(1.0, T_C)
    params = RateParameters(binder_film_thickness_um=1e6)
    ret = {}
    for label, (electrode, _) in paper_electrodes().items():
        cap = rate_capability(electrode, sigma, [0.1, 5.0], params).capacity_mAh_per_g
        ret[label] = cap[1] / cap[0]
    print(f"\nno binder coverage: 5C retention 97:1:2 {ret['97:1:2']:.3f}, 95:2:3 {ret['95:2:3']:.3f}")
    assert ret["95:2:3"] >= ret["97:1:2"]


def test_full_cell_energy_np_and_first_cycle() -> None:
    """282 Wh kg⁻¹(NaCrO2) and 222 Wh kg⁻¹(electrodes) within 3 %; N/P 1.20 within 5 %.

    Mass bases: 282 is per kg of NaCrO2; 222 per kg of cathode + anode composites including
    PVDF and carbon, excluding electrolyte and current collectors.  Inputs: the paper's full-cell
    capacity 110 mAh g⁻¹ (given, not predicted); mean voltage from the constructed NaCrO2 OCV
    minus 0.40 V for Na–Sn [unverified] (not fitted).  Reading the loadings 5.6 and 1.2 mg cm⁻²
    as active masses (NaCrO2, Sn) gives 222.7 (+0.3 %); as composite masses 225.7 (+1.7 %):
    the active-mass basis, used throughout, fits better but the energy alone cannot decide it.
    N/P uses the reversible half-cell capacities, 634 (Sn) and 118 (NaCrO2) mAh g⁻¹: 1.15; the
    paper's 1.20 is not reproduced more closely by any basis we tried (see the printout).
    """
    fc_rec = PAPER["full_cell"]
    cath = Electrode(parse_composition("97:1:2"), fc_rec["cathode_loading_mg_per_cm2"])
    fc = full_cell(cath, fc_rec["anode_loading_mg_per_cm2"],
                   cathode_capacity_mAh_per_g=PAPER["capacity_0p1C_first_discharge_mAh_per_g"],
                   delivered_capacity_mAh_per_g=fc_rec["capacity_mAh_per_g_nacro2"])
    est = full_cell(cath, fc_rec["anode_loading_mg_per_cm2"])
    print("\nfull cell NaCrO2 5.6 | Sn 1.2 mg/cm² (active masses):")
    print(_row("energy, Wh/kg NaCrO2", fc.energy_Wh_per_kg_cathode_active,
               fc_rec["energy_Wh_per_kg_nacro2"], f"mean voltage {fc.mean_voltage_V:.3f} V"))
    print(_row("energy, Wh/kg (cathode+anode composites)", fc.energy_Wh_per_kg_electrodes,
               fc_rec["energy_Wh_per_kg_electrodes"]))
    print(_row("N/P (634 Sn / 118 NaCrO2)", fc.np_ratio, fc_rec["np_ratio"]))
    alt = {
        "N/P, Sn 634 / NaCrO2 110 (full-cell)": np_ratio(1.2, 634, 5.6, 110),
        "N/P, Sn 847 theor. / NaCrO2 120": np_ratio(1.2, 847, 5.6, 120),
        "N/P, composite basis (1.08 / 5.43 mg)": np_ratio(1.08, 634, 5.432, 118),
    }
    for k, v in alt.items():
        print(_row(k, v, "-"))
    print(_row("ICE estimate CE_c·CE_a", est.initial_coulombic_efficiency,
               fc_rec["initial_coulombic_efficiency"], "not held: full-cell side reactions"))
    print(_row("first-discharge capacity estimate (mAh/g)", est.capacity_mAh_per_g_cathode,
               fc_rec["capacity_mAh_per_g_nacro2"], "not held"))
    assert fc.energy_Wh_per_kg_cathode_active == pytest.approx(
        fc_rec["energy_Wh_per_kg_nacro2"], rel=0.03)
    assert fc.energy_Wh_per_kg_electrodes == pytest.approx(
        fc_rec["energy_Wh_per_kg_electrodes"], rel=0.03)
    assert fc.np_ratio == pytest.approx(fc_rec["np_ratio"], rel=0.05)
    # the composite-mass reading of the loadings, for comparison
    fc_el = full_cell(Electrode(parse_composition("97:1:2"), 5.6, loading_basis="electrode"),
                      1.2, anode_loading_basis="electrode",
                      delivered_capacity_mAh_per_g=fc_rec["capacity_mAh_per_g_nacro2"])
    print(_row("energy if loadings were composite masses", fc_el.energy_Wh_per_kg_electrodes,
               fc_rec["energy_Wh_per_kg_electrodes"]))


def test_fade_after_100_cycles_at_70_and_3_MPa() -> None:
    """95.6 % (70 MPa) and 85.9 % (3 MPa) after 100 cycles — FITTED (two points, two parameters);
    the stored defaults must equal a fresh fit, and the law must interpolate monotonically."""
    fade = FadeModel()
    rec = PAPER["fade"]
    print("\nfade, 100 cycles at 0.5C:")
    for p_mpa, target in rec["retention"].items():
        r = fade.retention(rec["cycles"], float(p_mpa))
        print(_row(f"retention at {p_mpa} MPa", r, target,
                   f"loss/cycle {fade.loss_per_cycle(float(p_mpa)):.3e}"))
        assert r == pytest.approx(target, abs=0.002)
    refit = fit_fade_model()
    assert refit.loss_per_cycle_at_ref == pytest.approx(fade.loss_per_cycle_at_ref, rel=1e-3)
    assert refit.pressure_exponent == pytest.approx(fade.pressure_exponent, rel=1e-3)
    print(_row("retention at 20 MPa (interpolated)", fade.retention(100, 20.0), "-"))


def test_expected_vs_measured_electrolyte_loading() -> None:
    """≈ 8 wt % expected vs 15–17 wt % measured, with the assumptions that reproduce each.

    Expected: one infiltration of the as-cast electrode (80 % porous) with the 100 mg mL⁻¹
    solution just filling its pores → 8.9 wt % (95:2:3).  Measured 15–17 wt %: needs about
    twice the pore volume of solution (ratio 1.8–2.1); it also exceeds what the *pressed*
    electrode's pores can hold (12.9 wt % at 34 % porosity), so ≥ 2–4 wt % must sit on the
    surface — the paper's explanation.
    """
    e = Electrode(parse_composition("95:2:3"), 7.0)
    exp = infiltration_loading(e)
    lo, hi = PAPER["electrolyte_loading_measured_wt_fraction_range"]
    meas_lo = infiltration_loading(e, solution_to_pore_volume=1.8)
    meas_hi = infiltration_loading(e, solution_to_pore_volume=2.1)
    print("\nelectrolyte loading, 95:2:3 @ 7.0 mg/cm²:")
    print(_row("expected: solution fills as-cast pores (wt)", exp.electrolyte_weight_fraction,
               PAPER["electrolyte_loading_expected_wt_fraction"],
               f"pore volume {exp.pore_volume_as_cast_uL_per_cm2:.2f} µL/cm²"))
    print(_row("solution = 1.8 × pore volume (wt)", meas_lo.electrolyte_weight_fraction, lo))
    print(_row("solution = 2.1 × pore volume (wt)", meas_hi.electrolyte_weight_fraction, hi))
    print(_row("pressed pores (34 %) full of dense NBH (wt)",
               exp.pressed_pore_capacity_weight_fraction, "-"))
    assert exp.electrolyte_weight_fraction == pytest.approx(
        PAPER["electrolyte_loading_expected_wt_fraction"], abs=0.012)
    assert lo - 0.005 <= meas_lo.electrolyte_weight_fraction <= hi + 0.005
    assert lo - 0.005 <= meas_hi.electrolyte_weight_fraction <= hi + 0.005
    assert exp.pressed_pore_capacity_weight_fraction < lo
