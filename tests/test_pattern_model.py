"""PatternModel's analytic Jacobians against central finite differences of its own columns."""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit.simulate import ParamKey, PatternModel, resolve_phases


@pytest.fixture(scope="module")
def model_theta(library, instrument):
    x = np.linspace(10.0, 60.0, 2500)
    refls = resolve_phases(["nbh-fcc", "nacro2", "al"], instrument, 61.0, library=library)
    model = PatternModel(refls, x, instrument, background_terms=4, preferred_orientation={1: (0, 0, 3)})
    theta = model.initial_vector(instrument)
    # every parameter away from zero/limits so each derivative channel is exercised
    for key, val in {ParamKey("zero_shift_deg"): 0.03, ParamKey("displacement_mm"): 0.05,
                     ParamKey("penetration_depth_mm"): 0.2, ParamKey("asymmetry"): 0.05,
                     ParamKey("x_deg"): 0.02, ParamKey("y_deg"): 0.03, ParamKey("u_deg2"): 0.01,
                     ParamKey("strain_deg2", 1): 0.004, ParamKey("size_deg", 2): 0.05,
                     ParamKey("b_iso", 0): 3.0, ParamKey("march_dollase", 1): 1.2}.items():
        theta[model.index(key)] = val
    return model, theta


def _fd_columns(model: PatternModel, theta: np.ndarray, j: int) -> np.ndarray:
    step = 1e-6 * max(abs(theta[j]), 1.0)
    up, dn = theta.copy(), theta.copy()
    up[j] += step
    dn[j] -= step
    return (model.evaluate(up).peak_columns - model.evaluate(dn).peak_columns) / (2 * step)


def test_column_jacobian_matches_finite_differences(model_theta) -> None:
    model, theta = model_theta
    idx = np.arange(len(model.keys))
    ev = model.evaluate(theta, jacobian_for=idx)
    assert ev.column_jacobian.shape == (model.n_peak_columns, idx.size, model.x.size)
    for j in idx:
        fd = _fd_columns(model, theta, j)  # (n, m_peaks)
        an = ev.column_jacobian[:, j, :].T
        scale = max(np.abs(fd).max(), 1e-12 * np.abs(ev.peak_columns).max())
        err = np.abs(an - fd) / scale
        # 99.9 % of the points agree to 1e-6 of the largest derivative; a point that a window
        # edge crosses within the difference step may differ by up to ~1e-4 (the windowed
        # profile is continuous, its derivative is not)
        assert np.quantile(err, 0.999) < 1e-6, (model.labels()[j], np.quantile(err, 0.999))
        assert err.max() < 1e-4, (model.labels()[j], err.max())


def test_combined_jacobian_is_the_coefficient_sum(model_theta) -> None:
    model, theta = model_theta
    idx = np.arange(len(model.keys))
    coef = np.concatenate([[2.0, 0.5, 1.5], np.ones(model.background_basis.shape[1])])
    per = model.evaluate(theta, jacobian_for=idx).column_jacobian
    comb = model.evaluate(theta, coefficients=coef, jacobian_for=idx).jacobian
    np.testing.assert_allclose(comb, np.einsum("c,cpn->np", coef[:3], per), rtol=1e-10,
                               atol=1e-12 * np.abs(comb).max())


def test_columns_are_peaks_then_background_and_read_only(model_theta) -> None:
    model, theta = model_theta
    ev = model.evaluate(theta)
    np.testing.assert_array_equal(ev.columns[:, : model.n_peak_columns], ev.peak_columns)
    np.testing.assert_array_equal(ev.columns[:, model.n_peak_columns:], model.background_basis)
    with pytest.raises(ValueError):
        ev.columns[0, 0] = 1.0
    with pytest.raises(ValueError):
        ev.peak_columns[0, 0] = 1.0  # memoised: shared with later calls
