"""xrdkit.varpro against scipy on separable problems with known structure.

The reference is scipy.optimize.least_squares on the *full* problem (nonlinear and linear
parameters together, finite-difference Jacobian) — an independent solver on the same χ².
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares, lsq_linear

from xrdkit import _jit
from xrdkit.varpro import LinearProjection, row_products, solve_linear_nonneg, varpro_lm

T = np.linspace(0.0, 4.0, 400)
K_TRUE = np.array([0.7, 2.3])
C_TRUE = np.array([3.0, 5.0, 0.4])  # two decays, then a constant background (fixed column)


def _columns(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varying columns exp(−k_i t) (n × 2) and their derivatives (2 × 2 × n)."""
    e = np.exp(-np.outer(T, k))
    d = np.zeros((2, 2, T.size))
    d[0, 0] = -T * e[:, 0]
    d[1, 1] = -T * e[:, 1]
    return e, d


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    e, _ = _columns(K_TRUE)
    clean = e @ C_TRUE[:2] + C_TRUE[2]
    sigma = 0.02 + 0.01 * clean
    return clean + rng.normal(0.0, sigma), sigma


def _varpro(y, sigma, k0, *, with_dw=True, lower=(0.01, 0.01), upper=(10.0, 10.0), curvature=None,
            nonneg=(True, True, False)):
    w = 1.0 / sigma

    def evaluate(k):
        e, d = _columns(k)
        return e, (d if with_dw else None)

    def jacobian(k, coef):
        _, d = _columns(k)
        return (np.einsum("c,cpn->np", coef[:2], d)) * w[:, None]

    return varpro_lm(evaluate, jacobian, np.asarray(k0, float), np.asarray(lower, float),
                     np.asarray(upper, float), y * w, w, np.array(nonneg), fixed=np.ones((T.size, 1)),
                     converge_sigma=1e-3, ftol=1e-15, curvature=curvature)


def _scipy_full(y, sigma, k0, c0, bounds=(-np.inf, np.inf)):
    def resid(p):
        e, _ = _columns(p[:2])
        return (y - (e @ p[2:4] + p[4])) / sigma

    return least_squares(resid, np.concatenate([k0, c0]), bounds=bounds, xtol=1e-14, ftol=1e-14, gtol=1e-14)


@pytest.mark.parametrize("with_dw", [True, False])
def test_minimum_matches_scipy_on_the_full_problem(data, with_dw: bool) -> None:
    y, sigma = data
    res = _varpro(y, sigma, [0.4, 3.5], with_dw=with_dw)
    ref = _scipy_full(y, sigma, np.array([0.4, 3.5]), np.array([1.0, 1.0, 0.0]))
    assert res.converged, res.message
    np.testing.assert_allclose(res.point.theta, ref.x[:2], rtol=2e-5)
    np.testing.assert_allclose(res.point.coef, ref.x[2:], rtol=2e-4, atol=1e-6)
    assert res.point.chi2 == pytest.approx(2 * ref.cost, rel=1e-8)


def test_final_curvature_is_the_reduced_gauss_newton_matrix(data) -> None:
    """H at the solution = Schur complement of the full JᵀJ (the inverse covariance of k)."""
    y, sigma = data
    res = _varpro(y, sigma, [0.4, 3.5])
    ref = _scipy_full(y, sigma, res.point.theta, res.point.coef)
    jtj = ref.jac.T @ ref.jac
    schur = jtj[:2, :2] - jtj[:2, 2:] @ np.linalg.solve(jtj[2:, 2:], jtj[2:, :2])
    # the Golub–Pereyra term adds a residual-sized correction: agree to a few 1e-3
    np.testing.assert_allclose(res.curvature, schur, rtol=5e-3)


def test_a_previous_curvature_gives_the_same_minimum_with_fewer_jacobians(data) -> None:
    y, sigma = data
    first = _varpro(y, sigma, [0.4, 3.5])
    rng = np.random.default_rng(9)
    y2 = y + rng.normal(0.0, sigma)  # "the next scan of a series"
    cold = _varpro(y2, sigma, first.point.theta)
    warm = _varpro(y2, sigma, first.point.theta, curvature=first.curvature)
    np.testing.assert_allclose(warm.point.theta, cold.point.theta, rtol=1e-6)
    assert warm.njev <= cold.njev
    np.testing.assert_allclose(warm.curvature, cold.curvature, rtol=1e-3)


def test_bound_is_respected_and_matches_bounded_scipy(data) -> None:
    y, sigma = data
    res = _varpro(y, sigma, [0.4, 1.5], upper=(10.0, 2.0))
    ref = _scipy_full(y, sigma, np.array([0.4, 1.5]), np.array([1.0, 1.0, 0.0]),
                      bounds=([0.01, 0.01, -np.inf, -np.inf, -np.inf], [10.0, 2.0, np.inf, np.inf, np.inf]))
    assert res.point.theta[1] == pytest.approx(2.0)
    assert ref.x[1] == pytest.approx(2.0)
    # k1 (free) agrees to 1 % of its σ (both stop on their own tolerances)
    sigma_k1 = 1.0 / np.sqrt(res.curvature[0, 0])
    assert abs(res.point.theta[0] - ref.x[0]) < 0.01 * sigma_k1
    assert res.point.chi2 == pytest.approx(2 * ref.cost, rel=1e-7)


def test_nonnegative_linear_solution_matches_lsq_linear() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 6))
    b = a @ np.array([1.0, -2.0, 0.5, -0.3, 2.0, 1.0]) + rng.normal(0, 0.1, 200)
    nonneg = np.array([True, True, True, True, False, False])
    coef, active = solve_linear_nonneg(a.T @ a, a.T @ b, nonneg, np.ones(6, bool))
    ref = lsq_linear(a, b, bounds=(np.where(nonneg, 0.0, -np.inf), np.inf), tol=1e-14)
    np.testing.assert_allclose(coef, ref.x, atol=1e-9)
    assert not active[1] and not active[3]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(("r", "c"), [(1, 1), (3, 10), (5, 4), (13, 9), (7, 7)])
def test_row_products_match_matmul(monkeypatch, compiled, r, c):
    """The solver's Gram products equal ``a @ b.T`` (compiled loop with its 4-row blocks and
    remainders, the symmetric form, and the BLAS fallback), for strided inputs too."""
    if compiled and not _jit.HAVE_NUMBA:
        pytest.skip("numba not active")
    monkeypatch.setattr(_jit, "HAVE_NUMBA", compiled)
    rng = np.random.default_rng(r * 100 + c)
    a = rng.normal(size=(r, 4001))
    b = np.asfortranarray(rng.normal(size=(4001, c))).T  # rows of an F-order block, as the solver passes
    np.testing.assert_allclose(row_products(a, b), a @ b.T, rtol=1e-12, atol=1e-10)
    g = row_products(b)
    np.testing.assert_allclose(g, b @ b.T, rtol=1e-12, atol=1e-10)
    assert np.array_equal(g, g.T)
    np.testing.assert_allclose(row_products(a[:, ::2], b[:, ::2]), a[:, ::2] @ b[:, ::2].T, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("compiled", [True, False])
def test_linear_projection_matches_bounded_least_squares(monkeypatch, compiled):
    """The projection (compiled in one call, or numpy) equals scipy's bounded linear least
    squares on the weighted problem, with a non-negative column that the data push below 0."""
    if compiled and not _jit.HAVE_NUMBA:
        pytest.skip("numba not active")
    monkeypatch.setattr(_jit, "HAVE_NUMBA", compiled)
    rng = np.random.default_rng(17)
    n = 3001
    t = np.linspace(0.0, 1.0, n)
    v = np.column_stack([np.exp(-((t - 0.3) ** 2) / 0.01), np.exp(-((t - 0.7) ** 2) / 0.02),
                         np.exp(-((t - 0.5) ** 2) / 0.05)])
    fixed = np.column_stack([np.ones(n), t, t**2])
    y = v @ [50.0, 20.0, -3.0] + fixed @ [10.0, -4.0, 2.0] + rng.normal(0.0, 1.0, n)
    w = 1.0 / np.sqrt(np.abs(y) + 1.0)
    nonneg = np.array([True, True, True, False, False, False])
    proj = LinearProjection(fixed, w, y * w, nonneg, 3)
    gram, coef, active, resid, chi2 = proj.solve(v)
    a_w = np.column_stack([v, fixed]) * w[:, None]
    ref = lsq_linear(a_w, y * w, bounds=(np.where(nonneg, 0.0, -np.inf), np.inf), tol=1e-12, method="bvls")
    np.testing.assert_allclose(coef, ref.x, rtol=1e-7, atol=1e-7)
    assert coef[2] == 0.0 and not active[2] and active[:2].all()
    np.testing.assert_allclose(resid, y * w - a_w @ coef, rtol=1e-10, atol=1e-10)
    assert chi2 == pytest.approx(float(resid @ resid), rel=1e-12)
    np.testing.assert_allclose(gram, a_w.T @ a_w, rtol=1e-10)

