"""Contract tests for the peak shapes in :mod:`xrdkit.profiles`.

External truth: numerical quadrature (areas), root finding (FWHM), finite differences
(derivatives), the exact Voigt profile (``scipy.special.voigt_profile``) for the TCH width, the
limits stated by Thompson, Cox & Hastings, J. Appl. Cryst. 20 (1987) 79
(doi:10.1107/S0021889887087090), and the closed-form Lorentzian area inside a finite window.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import voigt_profile

from xrdkit import profiles
from xrdkit.profiles import PROFILE_FUNCTIONS, peak_matrices, pseudo_voigt_derivatives, tch_fwhm_eta

#: Extra shape arguments (beyond x and FWHM) for registry members that need them.
EXTRA_ARGS = {"pseudo_voigt": (0.37,)}
WIDTHS_DEG = (0.01, 0.1, 1.0, 3.0)
LN2 = np.log(2.0)


def _call(func, x, fwhm):
    return func(x, fwhm, *EXTRA_ARGS.get(func.__name__, ()))


def test_registry_signatures_are_uniform() -> None:
    for func in PROFILE_FUNCTIONS:
        params = list(inspect.signature(func).parameters)
        assert params[:2] == ["x_deg", "fwhm_deg"], func.__name__
        assert len(params) == 2 + len(EXTRA_ARGS.get(func.__name__, ())), func.__name__


@pytest.mark.parametrize("func", PROFILE_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("fwhm", WIDTHS_DEG)
def test_area_is_one(func, fwhm: float) -> None:
    f = lambda x: float(_call(func, np.array(x), fwhm))  # noqa: E731
    core = quad(f, -50 * fwhm, 50 * fwhm, points=[0.0], limit=200)[0]
    tails = quad(f, -np.inf, -50 * fwhm)[0] + quad(f, 50 * fwhm, np.inf)[0]
    assert core + tails == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("func", PROFILE_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("fwhm", WIDTHS_DEG)
def test_fwhm_equals_parameter(func, fwhm: float) -> None:
    peak = _call(func, np.array(0.0), fwhm)
    half = brentq(lambda x: _call(func, np.array(x), fwhm) - peak / 2, 0.0, 5 * fwhm, xtol=1e-14)
    assert 2 * half == pytest.approx(fwhm, rel=1e-9)
    # symmetric and maximal at zero
    x = np.linspace(-3 * fwhm, 3 * fwhm, 601)
    y = _call(func, x, fwhm)
    np.testing.assert_allclose(y, y[::-1], rtol=1e-12)
    assert np.argmax(y) == 300


@pytest.mark.parametrize("func", PROFILE_FUNCTIONS, ids=lambda f: f.__name__)
def test_inputs_not_mutated_and_list_input(func) -> None:
    x = np.linspace(-1.0, 1.0, 41)
    x.setflags(write=False)
    before = x.copy()
    fwhm = np.full(41, 0.3)
    fwhm.setflags(write=False)
    y = _call(func, x, fwhm)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(_call(func, x.tolist(), 0.3), y, rtol=1e-15)
    assert y.shape == x.shape


@pytest.mark.parametrize("func", PROFILE_FUNCTIONS, ids=lambda f: f.__name__)
def test_finite_for_a_sweep_of_widths(func) -> None:
    x = np.concatenate([-np.logspace(-8, 3, 60)[::-1], [0.0], np.logspace(-8, 3, 60)])
    for fwhm in (0.0, 1e-9, 1e-6, 1e-3, 0.05, 1.0, 20.0, 1e3):
        y = _call(func, x, fwhm)
        assert np.all(np.isfinite(y)) and np.all(y >= 0), (func.__name__, fwhm)


def test_pseudo_voigt_is_the_mixture() -> None:
    x = np.linspace(-2, 2, 101)
    for eta in (0.0, 0.25, 1.0):
        np.testing.assert_allclose(
            profiles.pseudo_voigt(x, 0.4, eta),
            eta * profiles.lorentzian(x, 0.4) + (1 - eta) * profiles.gaussian(x, 0.4),
        )


def test_pseudo_voigt_derivatives_match_finite_differences(rng) -> None:
    x = rng.uniform(-1.5, 1.5, 200)
    h = rng.uniform(0.05, 0.8, 200)
    eta = rng.uniform(0.0, 1.0, 200)
    val, d_c, d_h, d_e = pseudo_voigt_derivatives(x, h, eta)
    np.testing.assert_allclose(val, profiles.pseudo_voigt(x, h, eta), rtol=1e-13)
    eps = 1e-6
    fd_c = -(profiles.pseudo_voigt(x + eps, h, eta) - profiles.pseudo_voigt(x - eps, h, eta)) / (2 * eps)
    fd_h = (profiles.pseudo_voigt(x, h + eps, eta) - profiles.pseudo_voigt(x, h - eps, eta)) / (2 * eps)
    fd_e = (profiles.pseudo_voigt(x, h, eta + eps) - profiles.pseudo_voigt(x, h, eta - eps)) / (2 * eps)
    scale = np.abs(val).max()
    for analytic, fd in ((d_c, fd_c), (d_h, fd_h), (d_e, fd_e)):
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-7 * scale / 0.05)


# ---------------------------------------------------------------------- TCH

def test_tch_pure_gaussian_limit() -> None:
    g = np.array([0.01, 0.1, 0.5])
    w = tch_fwhm_eta(g, np.zeros(3))
    np.testing.assert_allclose(w.fwhm_deg, g, rtol=1e-12)
    np.testing.assert_allclose(w.eta, 0.0, atol=1e-12)


def test_tch_pure_lorentzian_limit() -> None:
    lo = np.array([0.01, 0.1, 0.5])
    w = tch_fwhm_eta(np.zeros(3), lo)
    # H_G is floored at TINY_FWHM_DEG (1e-6°): its c4·H_G·H_L⁴ term adds ≈ 0.0157·H_G/H_L
    np.testing.assert_allclose(w.fwhm_deg, lo, rtol=1e-5)
    # TCH's η polynomial at L/H = 1: 1.36603 − 0.47719 + 0.11116 = 1.00000
    np.testing.assert_allclose(w.eta, 1.0, atol=1e-4)


def _voigt_fwhm(fwhm_g: float, fwhm_l: float) -> float:
    sigma = fwhm_g / (2 * np.sqrt(2 * LN2))
    gamma = fwhm_l / 2
    peak = voigt_profile(0.0, sigma, gamma)
    return 2 * brentq(lambda x: voigt_profile(x, sigma, gamma) - peak / 2, 0.0, 5 * (fwhm_g + fwhm_l), xtol=1e-14)


@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0, 2.0, 10.0])
def test_tch_fwhm_approximates_the_exact_voigt(ratio: float) -> None:
    """TCH's H is a polynomial fit to the Voigt FWHM, not exact: measured deviation from the
    exact Voigt FWHM (scipy) is −0.08, −0.42, −0.18, −0.14, +0.01 % at H_L/H_G = 0.1, 0.5, 1,
    2, 10 (the same as the published formula evaluated by hand, e.g. 1.28828 vs 1.29402 at
    H_L/H_G = 0.5).  A wrong coefficient or exponent shows up as ≥ 1 %."""
    g, lo = 0.1, 0.1 * ratio
    w = tch_fwhm_eta(np.array([g]), np.array([lo]))
    assert w.fwhm_deg[0] == pytest.approx(_voigt_fwhm(g, lo), rel=6e-3)


def test_tch_matches_the_published_polynomials_at_equal_widths() -> None:
    """TCH (1987) eqs. 3–4 at H_G = H_L = 1, transcribed from the paper independently."""
    h = (1 + 2.69269 + 2.42843 + 4.47163 + 0.07842 + 1) ** 0.2
    q = 1 / h
    eta = 1.36603 * q - 0.47719 * q**2 + 0.11116 * q**3
    w = tch_fwhm_eta(np.array([1.0]), np.array([1.0]))
    assert w.fwhm_deg[0] == pytest.approx(h, rel=1e-12)
    assert w.eta[0] == pytest.approx(eta, rel=1e-12)


def test_tch_derivatives_match_finite_differences(rng) -> None:
    g = rng.uniform(0.02, 0.5, 50)
    lo = rng.uniform(0.01, 0.5, 50)
    w = tch_fwhm_eta(g, lo)
    eps = 1e-7
    gp, gm = tch_fwhm_eta(g + eps, lo), tch_fwhm_eta(g - eps, lo)
    lp, lm = tch_fwhm_eta(g, lo + eps), tch_fwhm_eta(g, lo - eps)
    np.testing.assert_allclose(w.dfwhm_dg, (gp.fwhm_deg - gm.fwhm_deg) / (2 * eps), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w.dfwhm_dl, (lp.fwhm_deg - lm.fwhm_deg) / (2 * eps), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w.deta_dg, (gp.eta - gm.eta) / (2 * eps), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.deta_dl, (lp.eta - lm.eta) / (2 * eps), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- peak_matrices

def _lost_fraction(eta: np.ndarray, window_fwhm: float) -> np.ndarray:
    """Area outside ±W·H: Lorentzian 1 − (2/π)·atan(2W); Gaussian erfc(2√ln2·W) (≈ 0 here)."""
    from scipy.special import erfc

    return eta * (1 - 2 / np.pi * np.arctan(2 * window_fwhm)) + (1 - eta) * erfc(2 * np.sqrt(LN2) * window_fwhm)


@pytest.mark.parametrize("window", [5.0, profiles.DEFAULT_WINDOW_FWHM])
def test_peak_matrix_columns_integrate_to_one_minus_tails_and_pedestal(window: float) -> None:
    """Area of a windowed column = 1 − the tails outside the window − the edge pedestal (2·half·pV(half))."""
    step = 0.001
    x = np.arange(0.0, 60.0, step)
    centres = np.array([20.0013, 30.5, 40.2577])
    fwhm = np.array([0.05, 0.1, 0.19])
    eta = np.array([0.0, 0.5, 1.0])
    pm = peak_matrices(x, centres, fwhm, eta, window_fwhm=window)
    areas = np.array([np.trapezoid(pm.value[:, k].toarray().ravel(), x) for k in range(3)])
    half = window * fwhm
    expected = 1 - _lost_fraction(eta, window) - 2 * half * profiles.pseudo_voigt(half, fwhm, eta)
    np.testing.assert_allclose(areas, expected, atol=1e-5)
    # ±20 FWHM: the Lorentzian loses 1.6 % in its tails and 1.6 % under the pedestal, the Gaussian nothing
    if window == profiles.DEFAULT_WINDOW_FWHM:
        assert 1 - areas[2] == pytest.approx(0.0159 + 0.0159, abs=1e-3)
        assert areas[0] == pytest.approx(1.0, abs=1e-6)


def test_windowed_centre_is_the_true_profile() -> None:
    """Inside ±5 FWHM the windowed profile differs from the full pseudo-Voigt by < 0.1 % of its height."""
    x = np.arange(15.0, 25.0, 0.001)
    c, h, e = np.array([20.0]), np.array([0.1]), np.array([1.0])
    v = peak_matrices(x, c, h, e).value.toarray().ravel()
    full = profiles.pseudo_voigt(x - 20.0, 0.1, 1.0)
    core = np.abs(x - 20.0) < 0.5
    assert np.max(np.abs(v[core] - full[core])) < 1e-3 * full.max()


def test_windowed_profile_is_continuous_at_the_window_edge() -> None:
    """The value at ±half is zero, so points entering or leaving a window do not make χ² jump."""
    x = np.arange(10.0, 30.0, 0.0005)
    for h, cap in ((0.1, 4.0), (0.1, 0.8)):
        pm = peak_matrices(x, np.array([20.0]), np.array([h]), np.array([0.9]), max_window_half_deg=cap)
        v = pm.value.toarray().ravel()
        inside = np.nonzero(v)[0]
        peak = v.max()
        assert v[inside[0]] < 1e-3 * peak and v[inside[-1]] < 1e-3 * peak
        assert np.all(v >= 0)


def test_asymmetry_keeps_the_area_and_moves_the_first_moment() -> None:
    x = np.arange(10.0, 50.0, 0.002)
    centres = np.array([20.0, 35.0])
    fwhm = np.array([0.1, 0.15])
    eta = np.array([0.3, 0.6])
    sym = peak_matrices(x, centres, fwhm, eta)
    asym = peak_matrices(x, centres, fwhm, eta, asymmetry_over_tan=np.array([0.4, -0.4]))
    for k in range(2):
        y0, y1 = (m.value[:, k].toarray().ravel() for m in (sym, asym))
        assert np.trapezoid(y1, x) == pytest.approx(np.trapezoid(y0, x), rel=1e-9)
        shift = np.trapezoid((x - centres[k]) * y1, x) / np.trapezoid(y1, x)
        assert np.sign(shift) == (1 if k == 0 else -1) and abs(shift) > 1e-3


def test_peak_matrix_derivatives_match_finite_differences() -> None:
    x = np.arange(15.0, 25.0, 0.005)
    c = np.array([18.0, 21.3])
    h = np.array([0.12, 0.25])  # the second window is capped at 4° (a different branch of window_terms)
    e = np.array([0.2, 0.7])
    a = np.array([0.3, 0.1])
    pm = peak_matrices(x, c, h, e, asymmetry_over_tan=a, derivatives=True)
    eps = 1e-6

    def value(cc=c, hh=h, ee=e, aa=a):
        return peak_matrices(x, cc, hh, ee, asymmetry_over_tan=aa).value.toarray()

    fd = {
        "d_centre": (value(cc=c + eps) - value(cc=c - eps)) / (2 * eps),
        "d_fwhm": (value(hh=h + eps) - value(hh=h - eps)) / (2 * eps),
        "d_eta": (value(ee=e + eps) - value(ee=e - eps)) / (2 * eps),
        "d_asymmetry": (value(aa=a + eps) - value(aa=a - eps)) / (2 * eps),
    }
    # points entering or leaving a window have one-sided derivatives: compare inside only
    half = np.minimum(profiles.DEFAULT_WINDOW_FWHM * h, profiles.MAX_WINDOW_HALF_DEG)
    inside = np.abs(x[:, None] - c[None, :]) < half[None, :] - 0.01
    for name, num in fd.items():
        ana = getattr(pm, name).toarray()
        np.testing.assert_allclose(ana[inside], num[inside], rtol=1e-5, atol=1e-6 * np.abs(num).max(),
                                   err_msg=name)
