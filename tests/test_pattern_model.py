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
    # rows only for the pairs that can be nonzero: global parameters and the column's own phase
    # (the other pairs are checked to be zero below, against finite differences)
    assert ev.column_jacobian.values.shape[0] < model.n_peak_columns * idx.size
    for j in idx:
        fd = _fd_columns(model, theta, j)  # (n, m_peaks)
        an = ev.column_jacobian.dense()[:, j, :].T
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
    per = model.evaluate(theta, jacobian_for=idx).column_jacobian.dense()
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


def test_fixed_angle_cells_use_the_power_law_form_and_agree_with_the_general_metric(library, instrument) -> None:
    """1/d² = Σ T_i/p_i² (cubic … orthorhombic) equals the general reciprocal metric, value and
    gradient; a monoclinic cell has no such form and the model still gets it right."""
    from pymatgen.core import Lattice, Structure

    from xrdkit.reflections import compute_reflections

    refls = resolve_phases(library.names(), instrument, 90.0, library=library)
    mono = compute_reflections(
        Structure(Lattice.monoclinic(5.1, 6.2, 7.3, 104.0), ["Na", "Cl"], [[0.1, 0.2, 0.3], [0.6, 0.7, 0.8]]),
        wavelength_angstrom=instrument.wavelength_angstrom, two_theta_max_deg=60.0, name="mono")
    assert mono.crystal_system == "monoclinic" and mono.inverse_d2_terms() is None
    for r in refls:
        terms = r.inverse_d2_terms()
        assert terms is not None, r.name
        v = np.array([r.lattice_values()[n] for n in r.lattice_parameter_names]) * 1.003
        q, dq = r.inverse_d2_and_gradient(v)
        np.testing.assert_allclose((terms / v**2).sum(axis=1), q, rtol=1e-12)
        np.testing.assert_allclose(-2.0 * terms / v**3, dq, rtol=1e-7, atol=1e-9 * np.abs(dq).max())
    # a model mixing both kinds: every derivative still matches finite differences
    x = np.linspace(10.0, 60.0, 1500)
    model = PatternModel([refls[0], mono], x, instrument, background_terms=0)
    theta = model.initial_vector(instrument)
    ev = model.evaluate(theta, jacobian_for=np.arange(len(model.keys)))
    for j, key in enumerate(model.keys):
        if key.phase == 1 and key.field in mono.lattice_parameter_names:
            fd = _fd_columns(model, theta, j)
            an = ev.column_jacobian.dense()[:, j, :].T
            assert np.quantile(np.abs(an - fd), 0.999) < 1e-6 * np.abs(fd).max(), key
