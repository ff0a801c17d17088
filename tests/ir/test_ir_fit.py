"""Region fits on seeded synthetic spectra: accuracy, 1σ coverage, engines, lmfit equivalence."""

from __future__ import annotations

import numpy as np
import pytest

from irkit.baseline import estimate_baseline, subtract_baseline
from irkit.fit import fit_region
from irkit.spectra import make_spectrum
from irkit.synthetic import synthesize
from xrdkit.errors import InputError

#: Binomial 1σ of a coverage fraction p = 0.683 over n trials is sqrt(p(1-p)/n); the pooled
#: samples below (≥ 360 band centres) give ±0.025, so ±0.08 is > 3σ.
COVERAGE_TOLERANCE = 0.08
N_TRIALS = 120


def _coverage(region: str, low: float, high: float, jitter: float) -> tuple[float, float]:
    hits, worst = [], 0.0
    for seed in range(N_TRIALS):
        syn = synthesize(seed, low_cm1=low, high_cm1=high, baseline="curved", noise_sd=0.002,
                         position_jitter_cm1=jitter)
        fit = fit_region(syn.spectrum, region)
        for band in fit.bands:
            err = band.center_cm1 - syn.band(band.label).center_cm1
            hits.append(abs(err) <= band.center_sigma_cm1)
            worst = max(worst, abs(err))
    return float(np.mean(hits)), worst


def test_bending_bands_within_1cm1_and_68pct_coverage() -> None:
    """Isolated bands (bending region, curved baseline, true centres ±8 cm⁻¹ off the priors)."""
    coverage, worst = _coverage("bend", 560.0, 1240.0, jitter=8.0)
    print(f"bend: 1σ coverage {coverage:.3f} over {N_TRIALS} trials x 4 bands; "
          f"worst centre error {worst:.2f} cm⁻¹")
    assert worst < 1.0
    assert abs(coverage - 0.683) < COVERAGE_TOLERANCE


def test_overlapped_stretching_within_5cm1_and_coverage() -> None:
    """B12 ν(B–H) and B10 equatorial ν(B–H) overlap (FWHM 40, separation 12–28 cm⁻¹)."""
    coverage, worst = _coverage("stretch", 2300.0, 2700.0, jitter=4.0)
    print(f"stretch: 1σ coverage {coverage:.3f} over {N_TRIALS} trials x 3 bands; "
          f"worst centre error {worst:.2f} cm⁻¹")
    assert worst < 5.0
    assert abs(coverage - 0.683) < COVERAGE_TOLERANCE


def test_heights_widths_areas_recovered_with_honest_sigmas() -> None:
    syn = synthesize(7, baseline="sloping", noise_sd=0.001, position_jitter_cm1=5)
    fit = fit_region(syn.spectrum, "bend")
    for band in fit.bands:
        true = syn.band(band.label)
        assert abs(band.fwhm_cm1 - true.fwhm_cm1) < 4 * band.fwhm_sigma_cm1 + 0.05
        assert abs(band.height - true.height) < 4 * band.height_sigma + 1e-4
        assert abs(band.area - true.area) < 4 * band.area_sigma + 1e-3
    assert fit.quality.success and fit.quality.r_squared > 0.99
    assert fit.shape_parameter == pytest.approx(syn.fraction, abs=0.05)
    # the residual is noise: its rms matches the noise level put in
    assert fit.quality.rms_residual == pytest.approx(0.001, rel=0.15)


def test_engines_agree_and_lmfit_model_reproduces_the_fit() -> None:
    syn = synthesize(3, baseline="curved", position_jitter_cm1=5)
    a = fit_region(syn.spectrum, "bend", engine="lmfit")
    b = fit_region(syn.spectrum, "bend", engine="numpy")
    for ba, bb in zip(a.bands, b.bands, strict=True):
        assert ba.center_cm1 == pytest.approx(bb.center_cm1, abs=0.05 * ba.center_sigma_cm1)
        assert ba.area_sigma == pytest.approx(bb.area_sigma, rel=0.02)
    model, params = a.to_lmfit()
    # an lmfit CompositeModel of PseudoVoigtModels evaluates to our vectorised best fit …
    np.testing.assert_allclose(model.eval(params, x=a.wavenumber_cm1), a.best_fit,
                               rtol=1e-10, atol=1e-12)
    # … and lmfit's own uncertainty propagation to its constrained fwhm/height parameters
    # (numerical, via the `uncertainties` package) agrees with our analytic propagation
    for band in a.bands:
        assert params[f"{band.prefix}height"].value == pytest.approx(band.height, rel=1e-10)
        assert params[f"{band.prefix}height"].stderr == pytest.approx(band.height_sigma, rel=1e-4)
        assert params[f"{band.prefix}fwhm"].stderr == pytest.approx(band.fwhm_sigma_cm1, rel=1e-4)


def test_shared_width_and_voigt_options() -> None:
    syn = synthesize(5, baseline="sloping", noise_sd=0.001)
    shared = fit_region(syn.spectrum, "stretch", shared_width=True)
    widths = {round(b.fwhm_cm1, 9) for b in shared.bands}
    assert len(widths) == 1
    model, params = shared.to_lmfit()
    np.testing.assert_allclose(model.eval(params, x=shared.wavenumber_cm1), shared.best_fit,
                               rtol=1e-10, atol=1e-12)
    voigt = fit_region(syn.spectrum, "bend", shape="voigt")
    for band in voigt.bands:  # symmetric bands: a Voigt finds the same centres
        assert abs(band.center_cm1 - syn.band(band.label).center_cm1) < 1.0
    model, params = voigt.to_lmfit()
    np.testing.assert_allclose(model.eval(params, x=voigt.wavenumber_cm1), voigt.best_fit,
                               rtol=1e-8, atol=1e-10)
    for band in voigt.bands:
        assert params[f"{band.prefix}height"].stderr == pytest.approx(band.height_sigma, rel=1e-3)


def test_joint_baseline_widens_sigma_against_fixed_baseline() -> None:
    """Fitting the baseline jointly must not give smaller σ than pretending it is known."""
    syn = synthesize(11, baseline="flat", noise_sd=0.002)
    joint = fit_region(syn.spectrum, "bend", baseline_degree=2)
    flat_known = make_spectrum(syn.spectrum.wavenumber_cm1,
                               syn.spectrum.values - syn.baseline)
    fixed = fit_region(flat_known, "bend", baseline_degree=-1)
    for j, f in zip(joint.bands, fixed.bands, strict=True):
        assert j.area_sigma >= f.area_sigma


def test_pybaselines_subtraction_path() -> None:
    syn = synthesize(2, baseline="curved", noise_sd=0.001)
    base = estimate_baseline(syn.spectrum, region="bend")
    assert base.converged
    corrected = subtract_baseline(syn.spectrum, base)
    assert corrected.n_points == base.wavenumber_cm1.size
    fit = fit_region(syn.spectrum, "bend", subtract="arpls", baseline_degree=1)
    assert np.any(fit.pre_baseline != 0)
    for band in fit.bands:
        assert abs(band.center_cm1 - syn.band(band.label).center_cm1) < 1.0
    with pytest.raises(InputError, match="unknown pybaselines method"):
        estimate_baseline(syn.spectrum, "no_such_method")


def test_fit_bad_arguments() -> None:
    syn = synthesize(0, low_cm1=2000.0, high_cm1=3000.0)
    with pytest.raises(InputError, match="does not cover the bend region"):
        fit_region(syn.spectrum, "bend")
    with pytest.raises(InputError, match="unknown region"):
        fit_region(syn.spectrum, "nowhere")
    with pytest.raises(InputError, match="unknown shape"):
        fit_region(syn.spectrum, "stretch", shape="gauss")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown species"):
        fit_region(syn.spectrum, "stretch", species=("B6H6",))
    with pytest.raises(InputError, match="no bands"):
        fit_region(syn.spectrum, (2700.0, 2900.0))


def test_absent_band_is_reported_not_fatal() -> None:
    syn = synthesize(4, b10_b12_ratio=0.0, noise_sd=0.002)
    fit = fit_region(syn.spectrum, "bend")
    b10 = [b for b in fit.bands if b.species == "B10H10"]
    assert all(b.area < 5 * b.area_sigma or np.isnan(b.area_sigma) for b in b10)
    b12 = [b for b in fit.bands if b.species == "B12H12"]
    assert all(abs(b.center_cm1 - syn.band(b.label).center_cm1) < 1.0 for b in b12)
