"""Separable nonlinear least squares: variable projection with a Levenberg–Marquardt outer loop.

Minimises ``χ²(θ) = min_c ‖y_w − A_w(θ) c‖²`` over bounded nonlinear parameters θ,
where the linear coefficients c (some constrained ≥ 0) are solved exactly at every θ
(Golub & Pereyra, *SIAM J. Numer. Anal.* 10 (1973) 413, doi:10.1137/0710036).

Everything after the model evaluation works on small Gram matrices: with
``M = ∂(A_w c)/∂θ`` (n × p) and the active columns ``A`` (n × m),

- Gauss–Newton matrix of the reduced problem (Kaufman, *BIT* 15 (1975) 49,
  doi:10.1007/BF01932995): ``H = MᵀM − MᵀA (AᵀA)⁻¹ AᵀM``, plus, when the columns'
  own derivatives ``∂A/∂θ`` are known, Golub–Pereyra's second term ``Eᵀ(AᵀA)⁻¹E`` with
  ``E_j = (∂A/∂θ_j)ᵀ r`` — the exact Jacobian of the projected residual;
- gradient ``g = Mᵀ r`` (the residual is orthogonal to the active columns);
- the full covariance of (θ, c) from ``[M A]ᵀ[M A]``.

So one step costs one model evaluation (columns and their derivatives together) plus
O(n·(m+p)²) for the Gram matrix: no SVD or QR of the tall n-row matrices.

Steps are Levenberg–Marquardt with Marquardt's diagonal scaling and Nielsen's damping
update (Nielsen, IMM-REP-1999-05); bounds by freezing parameters the step would push
through an active bound and clipping the rest. Convergence is statistical: stop when
the Gauss–Newton step is shorter than ``converge_sigma`` standard deviations
(``δᵀHδ < converge_sigma²``, σ from the weights — not inflated by χ²/ν, so a poor
model does not stop early), or χ² stops decreasing (relative ``ftol``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dposv

__all__ = ["VPPoint", "VPResult", "solve_linear_nonneg", "varpro_lm"]

log = logging.getLogger(__name__)

#: Initial Marquardt damping (relative to the diagonal of H).
LAMBDA0 = 1e-3
#: Rejected trial steps in a row after which the fit gives up.
MAX_REJECTED = 12


@dataclass
class VPPoint:
    """The model at one θ with its linear solution.

    Attributes
    ----------
    theta : ndarray (p,)
        Nonlinear parameters (the free ones).
    aw : ndarray (n, m)
        Weighted linear columns.
    coef : ndarray (m,)
        Linear coefficients (0 where clamped or inactive).
    active : ndarray of bool (m,)
        Columns in the linear solution.
    resid : ndarray (n,)
        Weighted residual y_w − A_w c.
    chi2 : float
    dw : ndarray (m_peaks, p, n) or None
        Unweighted derivatives of the first m_peaks columns (None: not available).
    mw : ndarray (n, p) or None
        Weighted ∂(A_w c)/∂θ (filled lazily).
    gram_aa, gram_am, gram_mm : ndarray
        ``A_wᵀA_w`` (m × m, all columns), ``A_wᵀM`` (m × p) and ``MᵀM`` (p × p).
    """

    theta: np.ndarray
    aw: np.ndarray
    coef: np.ndarray
    active: np.ndarray
    resid: np.ndarray
    chi2: float
    gram_aa: np.ndarray
    dw: np.ndarray | None = None
    mw: np.ndarray | None = None
    gram_am: np.ndarray | None = None
    gram_mm: np.ndarray | None = None

    def normal_matrix(self) -> np.ndarray:
        """``JᵀJ`` of the full Jacobian J = [M, active columns of A_w] (for the covariance)."""
        act = np.nonzero(self.active)[0]
        am = self.gram_am[act]
        return np.block([[self.gram_mm, am.T], [am, self.gram_aa[np.ix_(act, act)]]])


@dataclass
class VPResult:
    """Outcome of :func:`varpro_lm`."""

    point: VPPoint
    converged: bool
    message: str
    nfev: int
    njev: int


def _sym_solve(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the symmetric system g x = b scaled to unit diagonal (Cholesky, LAPACK ``posv``
    called directly: these systems are tiny and numpy's wrappers would dominate); least
    squares if g is not positive definite."""
    d = np.sqrt(np.maximum(g.diagonal(), 1e-300))
    gs = g / d / d[:, None]
    bs = b / d if b.ndim == 1 else b / d[:, None]
    _, xs, info = dposv(gs, bs)
    if info != 0 or not np.all(np.isfinite(xs)):
        xs = np.linalg.lstsq(gs, bs, rcond=1e-12)[0]
    return xs / d if b.ndim == 1 else xs / d[:, None]


def solve_linear_nonneg(
    gram: np.ndarray, rhs: np.ndarray, nonneg: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Normal-equation least squares ``gram · c = rhs`` with some coefficients ≥ 0.

    Active-set loop: solve on the active columns, drop the most negative constrained one
    (relative to its column norm) and repeat. Returns the coefficients (0 where dropped)
    and the active mask.
    """
    active = usable.copy()
    coef = np.zeros(rhs.size)
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    for _ in range(rhs.size + 1):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        sol = _sym_solve(gram.take(idx, 0).take(idx, 1), rhs[idx])
        neg = nonneg[idx] & (sol < 0)
        if not neg.any():
            coef[:] = 0.0
            coef[idx] = sol
            return coef, active
        worst = idx[neg][np.argmin(sol[neg] * norms[idx[neg]])]
        active[worst] = False
    coef[:] = 0.0
    return coef, active


def varpro_lm(
    evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]],
    jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    yw: np.ndarray,
    row_weights: np.ndarray,
    nonneg: np.ndarray,
    *,
    max_nfev: int = 200,
    ftol: float = 1e-8,
    converge_sigma: float = 0.1,
) -> VPResult:
    """Levenberg–Marquardt on the variable-projection functional.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(theta) -> (aw, dw)``: weighted columns (n × m) and, optionally, the
        *unweighted* derivatives of the first ``dw.shape[0]`` columns (m_peaks × p × n)
        (weighted here by ``row_weights``), else None.
    jacobian : callable
        ``jacobian(theta, coef) -> mw``: weighted ∂(A_w c)/∂θ (n × p); only called when
        ``evaluate`` returned no ``dw``.
    theta0, lower, upper : ndarray (p,)
        Start and bounds of the free nonlinear parameters.
    yw : ndarray (n,)
        Weighted observations.
    row_weights : ndarray (n,)
        The weights (1/σ) that ``aw`` and ``yw`` carry, applied to ``dw``.
    nonneg : ndarray of bool (m,)
        Linear coefficients constrained ≥ 0.
    max_nfev : int
        Model evaluations allowed (the starting one included).
    ftol : float
        Stop when an accepted step lowers χ² by less than ``ftol · χ²``.
    converge_sigma : float
        Stop when the Gauss–Newton step is shorter than this many standard deviations.

    Returns
    -------
    VPResult
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    n = yw.size
    nfev = 0
    njev = 0

    def point(theta: np.ndarray) -> VPPoint:
        nonlocal nfev
        nfev += 1
        aw, dw = evaluate(theta)
        gram = aw.T @ aw
        rhs = aw.T @ yw
        usable = np.diag(gram) > 0
        coef, active = solve_linear_nonneg(gram, rhs, nonneg, usable)
        resid = yw - aw @ coef
        return VPPoint(theta.copy(), aw, coef, active, resid, float(resid @ resid), gram, dw)

    def reduced(pt: VPPoint) -> tuple[np.ndarray, np.ndarray]:
        """H and g of the reduced problem at ``pt``."""
        nonlocal njev
        if pt.mw is None:
            njev += 1
            if pt.dw is not None:
                mp, p_, _ = pt.dw.shape
                pt.mw = ((pt.coef[:mp] @ pt.dw.reshape(mp, -1)).reshape(p_, n) * row_weights).T
            else:
                pt.mw = jacobian(pt.theta, pt.coef)
            pt.gram_am = pt.aw.T @ pt.mw
            pt.gram_mm = pt.mw.T @ pt.mw
        act = np.nonzero(pt.active)[0]
        h = pt.gram_mm
        if act.size:
            ata = pt.gram_aa.take(act, 0).take(act, 1)
            atm = pt.gram_am[act]
            h = h - atm.T @ _sym_solve(ata, atm)
            if pt.dw is not None:
                # Golub–Pereyra term: E_j = (∂A/∂θ_j)ᵀ r over the active columns
                mp = pt.dw.shape[0]
                e = np.zeros((pt.aw.shape[1], pt.theta.size))
                e[:mp] = pt.dw @ (pt.resid * row_weights)
                e_act = e[act]
                h = h + e_act.T @ _sym_solve(ata, e_act)
        return 0.5 * (h + h.T), pt.mw.T @ pt.resid

    pt = point(np.clip(np.asarray(theta0, dtype=float), lower, upper))
    p = pt.theta.size
    if p == 0:
        return VPResult(pt, True, "no nonlinear parameter varied", nfev, njev)
    lam = LAMBDA0
    nu = 2.0
    converged = False
    message = "maximum number of evaluations reached"
    h, g = reduced(pt)
    while nfev < max_nfev:
        diag = np.clip(np.diag(h), 1e-12 * max(np.max(np.diag(h)), 1e-300), None)
        # statistical convergence: the full Gauss–Newton step is a small fraction of σ (σ from
        # the weights alone: a poor model, χ²/ν ≫ 1, must not loosen the test)
        gn = _bounded_step(h, g, 0.0, diag, pt.theta, lower, upper)
        if float(gn @ h @ gn) < converge_sigma**2:
            converged, message = True, f"Gauss–Newton step below {converge_sigma:g} σ"
            break
        rejected = 0
        accepted = False
        while nfev < max_nfev and rejected < MAX_REJECTED:
            step = _bounded_step(h, g, lam, diag, pt.theta, lower, upper)
            trial_theta = np.clip(pt.theta + step, lower, upper)
            step = trial_theta - pt.theta
            if not np.any(step):
                break
            pred = float(2.0 * step @ g - step @ h @ step)
            trial = point(trial_theta)
            if trial.chi2 < pt.chi2 and np.isfinite(trial.chi2):
                rho = (pt.chi2 - trial.chi2) / pred if pred > 0 else 0.0
                lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                gain = pt.chi2 - trial.chi2
                pt = trial
                accepted = True
                break
            lam = max(lam, 1e-6) * nu
            nu *= 2.0
            rejected += 1
        if not accepted:
            converged = nfev < max_nfev
            message = "no further decrease of χ² (at a bound or at the minimum)" if converged else message
            break
        h, g = reduced(pt)
        if gain < ftol * pt.chi2:
            converged, message = True, f"relative decrease of χ² below ftol={ftol:g}"
            break
    return VPResult(pt, converged, message, nfev, njev)


def _bounded_step(h: np.ndarray, g: np.ndarray, lam: float, diag: np.ndarray,
                  theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Damped step (H + λ·diag) δ = g with parameters at a bound frozen when δ pushes outward."""
    p = g.size
    span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    at_lo = theta <= lower + 1e-12 * span
    at_hi = theta >= upper - 1e-12 * span
    # first guess of the frozen set: at a bound with the gradient pointing outward
    free = ~((at_lo & (g < 0)) | (at_hi & (g > 0)))
    step = np.zeros(p)
    for _ in range(p + 1):
        idx = np.nonzero(free)[0]
        step[:] = 0.0
        if idx.size == 0:
            return step
        hh = h.take(idx, 0).take(idx, 1)
        hh[np.diag_indices(idx.size)] += lam * diag[idx]
        step[idx] = _sym_solve(hh, g[idx])
        out = free & ((at_lo & (step < 0)) | (at_hi & (step > 0)))
        if not out.any():
            return step
        free &= ~out
    return step
