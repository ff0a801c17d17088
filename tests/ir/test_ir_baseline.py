"""pybaselines wrapper: recovers a known baseline under the bands; lam scales with the step."""

from __future__ import annotations

import numpy as np
import pytest

from irkit.baseline import REGION_DEFAULTS, estimate_baseline
from irkit.spectra import make_spectrum
from irkit.synthetic import synthesize
from xrdkit.errors import InputError


@pytest.mark.parametrize("region", ["stretch", "bend"])
def test_arpls_default_recovers_the_true_baseline(region: str) -> None:
    syn = synthesize(4, baseline="curved", noise_sd=0.001)
    est = estimate_baseline(syn.spectrum, region=region)
    d = REGION_DEFAULTS[region]
    assert est.wavenumber_cm1[0] == pytest.approx(d.low_cm1 - d.margin_cm1, abs=1.0)
    true = np.interp(est.wavenumber_cm1, syn.spectrum.wavenumber_cm1, syn.baseline)
    # the strongest band in these regions is 0.5 (stretch) / 0.1 (bend) absorbance high
    tolerance = {"stretch": 0.02, "bend": 0.006}[region]
    assert np.max(np.abs(est.baseline - true)) < tolerance
    assert est.converged and est.method == "arpls"
    assert dict(est.settings)["lam"] > 0


def test_stiffness_length_makes_lam_independent_of_point_spacing() -> None:
    fine = synthesize(9, baseline="curved", noise_sd=0.0, step_cm1=1.0)
    coarse = synthesize(9, baseline="curved", noise_sd=0.0, step_cm1=2.0)
    a = estimate_baseline(fine.spectrum, region="bend")
    b = estimate_baseline(coarse.spectrum, region="bend")
    assert dict(a.settings)["lam"] == pytest.approx(16 * dict(b.settings)["lam"])
    np.testing.assert_allclose(np.interp(b.wavenumber_cm1, a.wavenumber_cm1, a.baseline),
                               b.baseline, atol=2e-3)


def test_other_methods_and_explicit_settings() -> None:
    syn = synthesize(2, baseline="sloping", noise_sd=0.001)
    for method, kw in (("modpoly", {"poly_order": 2}), ("asls", {"lam": 1e7, "p": 0.01}),
                       ("snip", {"max_half_window": 60})):
        est = estimate_baseline(syn.spectrum, method, region=(600.0, 1300.0), **kw)
        assert est.method == method and est.baseline.shape == est.wavenumber_cm1.shape
        assert np.all(np.isfinite(est.baseline))
    with pytest.raises(InputError, match="unknown region"):
        estimate_baseline(syn.spectrum, region="middle")
    with pytest.raises(InputError, match="bad settings"):
        estimate_baseline(syn.spectrum, "arpls", no_such_option=1)
    with pytest.raises(InputError, match="low < high"):
        estimate_baseline(syn.spectrum, region=(900.0, 800.0))


def test_input_is_not_modified(rng: np.random.Generator) -> None:
    x = np.arange(600.0, 1300.0)
    y = 0.1 + 1e-4 * (x - 600) + rng.normal(0.0, 1e-4, x.size)
    spectrum = make_spectrum(x, y)
    before = spectrum.values.copy()
    est = estimate_baseline(spectrum, region="bend")
    np.testing.assert_array_equal(spectrum.values, before)
    np.testing.assert_allclose(est.baseline, np.interp(est.wavenumber_cm1, x, 0.1 + 1e-4 * (x - 600)),
                               atol=5e-4)
