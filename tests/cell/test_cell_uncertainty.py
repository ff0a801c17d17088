"""Uncertainty propagation: priors against scipy's distributions, the vectorised Monte Carlo path
against the scalar model, the calibration of each draw, intervals, and the paper numbers the
issue asks for (5C current density within 3 %, retention within 5 points at purity 1)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from xrdkit.cell import Electrode, electrolyte_conductivity, parse_composition, predict_cell
from xrdkit.cell.calibration import fit_rate_parameters, holdout_validation
from xrdkit.cell.conductivity import ElectrolyteParameters
from xrdkit.cell.constants import material, paper_calibration, propagated_materials
from xrdkit.cell.rate import RateParameters, rate_capability
from xrdkit.cell.uncertainty import (
    Prior,
    calibrate,
    calibrated_ensemble,
    draw_parameters,
    evaluate,
    nominal_draws,
    nominal_ensemble,
    priors,
)
from xrdkit.errors import InputError

SAMPLES = 256
PAPER = paper_calibration()


@pytest.mark.parametrize("dist,ref", [
    ("uniform", stats.uniform(loc=0.2, scale=0.6)),
    ("loguniform", stats.loguniform(0.2, 0.8)),
    ("triangular", stats.triang(c=(0.3 - 0.2) / 0.6, loc=0.2, scale=0.6)),
])
def test_prior_quantiles_match_scipy(dist: str, ref: stats.rv_continuous) -> None:
    p = Prior("x", 0.3, 0.2, 0.8, dist)
    u = np.linspace(0.001, 0.999, 50)
    np.testing.assert_allclose(p.ppf(u), ref.ppf(u), rtol=1e-12)


def test_every_propagated_parameter_has_a_prior_inside_its_range() -> None:
    names = {p.name for p in priors()}
    assert names == set(propagated_materials())
    for must in ("diffusivity_nacro2_cm2_per_s", "particle_radius_nacro2_um",
                 "separator_thickness_um", "sigma_monoclinic_25C_S_per_cm", "ocv_slope_V",
                 "percolation_threshold_volume_fraction", "binder_film_thickness_um",
                 "bruggeman_exponent", "infiltration_solution_in_pores"):
        assert must in names
    d = draw_parameters(SAMPLES, seed=1)
    assert d.n == SAMPLES
    for p in priors():
        assert np.all((d.values[p.name] >= p.low) & (d.values[p.name] <= p.high)), p.name
    again = draw_parameters(SAMPLES, seed=1)
    np.testing.assert_array_equal(d.values["ocv_slope_V"], again.values["ocv_slope_V"])
    with pytest.raises(InputError, match="power of 2"):
        draw_parameters(100)


def _rate_params_of(draws, k: int, r_int: float, film: float) -> RateParameters:
    v = {name: float(a[k]) for name, a in draws.values.items()}
    return RateParameters(capacity_window_mAh_per_g=v["capacity_practical_nacro2_mAh_per_g"],
                          diffusivity_cm2_per_s=v["diffusivity_nacro2_cm2_per_s"],
                          interface_resistance_ohm_cm2=r_int, binder_film_thickness_um=film,
                          separator_thickness_um=v["separator_thickness_um"],
                          bruggeman_exponent=v["bruggeman_exponent"], ocv_mid_V=v["ocv_mid_V"],
                          ocv_slope_V=v["ocv_slope_V"], ocv_log_V=v["ocv_log_V"])


def _electrode_of(draws, k: int, comp: str, loading: float) -> Electrode:
    v = {name: float(a[k]) for name, a in draws.values.items()}
    return Electrode(parse_composition(comp), loading, porosity=v["porosity_pressed"],
                     porosity_as_cast=v["porosity_as_cast"],
                     solution_in_pores=v["infiltration_solution_in_pores"],
                     density_electrolyte_g_per_cm3=v["density_nbh_g_per_cm3"],
                     density_active_g_per_cm3=v["density_nacro2_g_per_cm3"],
                     density_binder_g_per_cm3=v["density_pvdf_g_per_cm3"],
                     density_carbon_g_per_cm3=v["density_carbon_black_g_per_cm3"],
                     particle_radius_um=v["particle_radius_nacro2_um"])


def _sigma_of(draws, k: int, w: float, t_c: float) -> float:
    v = {name: float(a[k]) for name, a in draws.values.items()}
    ep = ElectrolyteParameters(
        sigma_fcc_25C_S_per_cm=v["sigma_fcc_25C_S_per_cm"],
        activation_energy_fcc_eV=v["activation_energy_fcc_eV"],
        sigma_monoclinic_25C_S_per_cm=v["sigma_monoclinic_25C_S_per_cm"],
        activation_energy_monoclinic_eV=v["activation_energy_monoclinic_eV"],
        density_fcc_g_per_cm3=v["density_nbh_g_per_cm3"],
        density_b12_g_per_cm3=v["density_na2b12h12_g_per_cm3"],
        density_b10_g_per_cm3=v["density_na2b10h10_g_per_cm3"],
        percolation_threshold=v["percolation_threshold_volume_fraction"],
        percolation_exponent=v["percolation_exponent"])
    return electrolyte_conductivity(w, t_c, ep)


def test_each_accepted_draw_reproduces_the_paper_through_the_scalar_model() -> None:
    """Independent path: rebuild five accepted draws as Electrode/RateParameters/σ and run
    rate_capability — each must give its (noisy) 5C retention target to 2e-3."""
    ens = calibrated_ensemble(SAMPLES)
    assert 0.3 < ens.acceptance < 0.9
    sigma_ret = material("retention_measurement_sigma")
    t_c = PAPER["temperature_C"]
    for k in range(0, ens.n_accepted, max(1, ens.n_accepted // 5)):
        p = _rate_params_of(ens.draws, k, float(ens.interface_resistance_ohm_cm2[k]),
                            float(ens.binder_film_thickness_um[k]))
        sigma = _sigma_of(ens.draws, k, 1.0, t_c)
        for label, rec in PAPER["electrodes"].items():
            e = _electrode_of(ens.draws, k, label, rec["loading_mg_per_cm2"])
            cap = rate_capability(e, sigma, [0.1, 5.0], p).capacity_mAh_per_g
            target = rec["retention_5C_vs_0p1C"] + sigma_ret * ens.draws.normals[
                f"retention_{label}"][k]
            assert cap[1] / cap[0] == pytest.approx(target, abs=2e-3)


def test_evaluate_matches_the_scalar_model_for_an_impure_cathode() -> None:
    """The vectorised evaluation (purity 0.6, a 3 % σ, 45 °C, a 250 µm pellet) equals the scalar
    model draw by draw."""
    ens = calibrated_ensemble(SAMPLES)
    arr = evaluate(ens, fcc_weight_fraction=0.6, fcc_weight_fraction_sigma=0.03,
                   cathode="95:2:3", loading_mg_per_cm2=9.0, c_rates=(0.1, 2.0),
                   temperature_C=45.0, fixed={"separator_thickness_um": 250.0})
    draws = ens.draws.with_fixed({"separator_thickness_um": 250.0})
    for k in (0, ens.n_accepted // 2, ens.n_accepted - 1):
        p = _rate_params_of(draws, k, float(ens.interface_resistance_ohm_cm2[k]),
                            float(ens.binder_film_thickness_um[k]))
        w = float(arr.fcc_weight_fraction[k])
        assert w == pytest.approx(np.clip(0.6 + 0.03 * ens.draws.normals["purity"][k], 0, 1))
        sigma = _sigma_of(draws, k, w, 45.0)
        sep = _sigma_of(draws, k, 1.0, 45.0)
        e = _electrode_of(draws, k, "95:2:3", 9.0)
        cap = rate_capability(e, sigma, [0.1, 2.0], p, separator_sigma_S_per_cm=sep)
        np.testing.assert_allclose(arr.capacity_mAh_per_g[k], cap.capacity_mAh_per_g, rtol=1e-9)
        assert arr.sigma_electrolyte_S_per_cm[k] == pytest.approx(sigma, rel=1e-9)


def test_nominal_calibration_is_the_stored_one_and_the_least_squares_fit() -> None:
    nom = nominal_ensemble()
    p = RateParameters()
    assert nom.interface_resistance_ohm_cm2[0] == pytest.approx(
        p.interface_resistance_ohm_cm2, rel=1e-4)
    assert nom.binder_film_thickness_um[0] == pytest.approx(p.binder_film_thickness_um, rel=1e-4)
    fit = fit_rate_parameters()
    assert fit.interface_resistance_ohm_cm2 == pytest.approx(p.interface_resistance_ohm_cm2,
                                                             rel=1e-3)
    assert fit.binder_film_thickness_um == pytest.approx(p.binder_film_thickness_um, rel=1e-3)


def test_vectorised_full_cell_equals_the_scalar_path() -> None:
    """evaluate() on the nominal ensemble (its own vectorised full-cell arithmetic) equals
    predict_cell(uncertainty="none") (Electrode, rate_capability, full_cell)."""
    rates = (0.1, 0.5, 2.0, 5.0)
    for w, comp, loading, t_c in ((0.87, "97:1:2", 7.7, 30.0), (0.5, "95:2:3", 9.0, 45.0)):
        arr = evaluate(nominal_ensemble(), fcc_weight_fraction=w, fcc_weight_fraction_sigma=0.0,
                       cathode=comp, loading_mg_per_cm2=loading, c_rates=(0.1, *rates),
                       temperature_C=t_c)
        ref = predict_cell(w, 0.0, cathode=comp, loading_mg_per_cm2=loading, c_rates=rates,
                           temperature_C=t_c, uncertainty="none")
        np.testing.assert_allclose(arr.capacity_mAh_per_g[0, 1:],
                                   [r.capacity_mAh_per_g for r in ref.rate_table], rtol=1e-6)
        assert arr.energy_Wh_per_kg[0] == pytest.approx(ref.energy_Wh_per_kg, rel=1e-6)
        assert arr.energy_Wh_per_kg_electrodes[0] == pytest.approx(
            ref.energy_Wh_per_kg_electrodes, rel=1e-6)
        assert arr.np_ratio[0] == pytest.approx(ref.np_ratio, rel=1e-6)
        assert arr.mean_voltage_V[0] == pytest.approx(ref.mean_voltage_V, rel=1e-5)
        assert arr.expected_electrolyte_weight_fraction[0] == pytest.approx(
            ref.expected_electrolyte_weight_fraction, rel=1e-12)


def test_purity_one_reproduces_the_paper() -> None:
    """Issue 18: purity 1.0 → 5C current density 4.5 mA/cm² within 3 %, retention within 5
    points (97:1:2 @ 7.7 mg/cm², the paper's cell) — the median and the nominal model."""
    for mode in ("parameters", "none"):
        pred = predict_cell(1.0, 0.0, c_rates=(5.0,), uncertainty=mode, samples=SAMPLES)
        row = pred.rate_table[0]
        print(f"\n{mode}: 5C {row.current_density_mA_per_cm2:.3f} mA/cm², retention "
              f"{row.retention_vs_0p1C:.3f} [{row.retention_vs_0p1C_low:.3f}, "
              f"{row.retention_vs_0p1C_high:.3f}]")
        assert row.current_density_mA_per_cm2 == pytest.approx(
            PAPER["current_density_5C_mA_per_cm2"], rel=0.03)
        target = PAPER["electrodes"]["97:1:2"]["retention_5C_vs_0p1C"]
        assert abs(row.retention_vs_0p1C - target) < 0.05
        if mode == "parameters":
            assert row.retention_vs_0p1C_low <= target <= row.retention_vs_0p1C_high


def test_intervals_grow_with_purity_sigma_and_contain_the_median() -> None:
    narrow = predict_cell(0.7, 0.0, samples=SAMPLES)
    wide = predict_cell(0.7, 0.1, samples=SAMPLES)
    for a, b in zip(narrow.rate_table, wide.rate_table, strict=True):
        assert a.capacity_mAh_per_g_low <= a.capacity_mAh_per_g <= a.capacity_mAh_per_g_high
        assert b.capacity_mAh_per_g_low <= a.capacity_mAh_per_g_low + 1e-9
    five_n, five_w = narrow.rate_table[-1], wide.rate_table[-1]
    assert (five_w.capacity_mAh_per_g_high - five_w.capacity_mAh_per_g_low
            > five_n.capacity_mAh_per_g_high - five_n.capacity_mAh_per_g_low)
    assert narrow.samples_accepted == calibrated_ensemble(SAMPLES).n_accepted
    assert narrow.np_ratio_low < narrow.np_ratio < narrow.np_ratio_high


def test_median_is_monotonic_in_purity() -> None:
    """Common random numbers: every draw is monotonic in w, so the median and both ends are."""
    preds = [predict_cell(w, 0.02, samples=SAMPLES) for w in (0.3, 0.5, 0.7, 0.9, 1.0)]
    for key in ("capacity_mAh_per_g", "capacity_mAh_per_g_low", "capacity_mAh_per_g_high"):
        for k in range(6):
            vals = [getattr(p.rate_table[k], key) for p in preds]
            assert np.all(np.diff(vals) >= -1e-9), (key, k, vals)


def test_custom_parameters_need_a_fixed_mode() -> None:
    with pytest.raises(InputError, match="uncertainty"):
        predict_cell(0.9, rate_params=RateParameters())
    pred = predict_cell(0.9, rate_params=replace(RateParameters(), separator_thickness_um=200.0),
                        uncertainty="none")
    assert pred.rate_table[-1].capacity_mAh_per_g > predict_cell(
        0.9, uncertainty="none").rate_table[-1].capacity_mAh_per_g


def test_hold_out_electrode() -> None:
    """Fit r_int on one cathode (film thickness from its prior), predict the other's 5C
    retention: the paper value lies inside the 95 % interval and the median is within 8 points
    (measured: −6.0 and +6.2 points with 512 draws)."""
    rows = holdout_validation(SAMPLES)
    for row in rows[:2]:
        print(f"\n{row.quantity}: paper {row.paper:.3f}, median {row.median:.3f} "
              f"[{row.low:.3f}, {row.high:.3f}], nominal {row.nominal:.3f}")
        assert row.inside
        assert abs(row.error) < 0.08
    by_name = {r.quantity: r for r in rows}
    energy = by_name["full-cell energy (Wh/kg NaCrO2)"]
    assert energy.inside and abs(energy.error) < 0.06 * energy.paper
    assert by_name["N/P"].inside
    # the one number outside the model is reported as such, not hidden
    assert not by_name["full cell, 1C capacity vs low rate"].inside


def test_rejected_draws_are_those_that_cannot_match() -> None:
    """A draw whose NaCrO2 is so slow that diffusion alone loses more than the measured 5C
    capacity cannot be calibrated and must be rejected."""
    d = nominal_draws()
    slow = d.with_fixed({"diffusivity_nacro2_cm2_per_s": 1e-12,
                         "particle_radius_nacro2_um": 5.0})
    with pytest.raises(Exception, match="no draw reproduces"):
        calibrate(slow, noise=False)
