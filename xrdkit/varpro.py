"""Separable nonlinear least squares: variable projection with a Levenberg–Marquardt outer loop.

Minimises ``χ²(θ) = min_c ‖y_w − A_w(θ) c‖²`` over bounded nonlinear parameters θ,
where the linear coefficients c (some constrained ≥ 0) are solved exactly at every θ
(Golub & Pereyra, *SIAM J. Numer. Anal.* 10 (1973) 413, doi:10.1137/0710036).
The columns are ``A_w = [V_w(θ) F_w]``: columns that vary with θ (peaks) and a
fixed block (a background basis) whose Gram matrix is formed once per fit.

Everything after the model evaluation works on small Gram matrices: with
``M = ∂(A_w c)/∂θ`` (n × p) and the active columns ``A`` (n × m),

- Gauss–Newton matrix of the reduced problem (Kaufman, *BIT* 15 (1975) 49,
  doi:10.1007/BF01932995): ``H = MᵀM − MᵀA (AᵀA)⁻¹ AᵀM``, plus, when the columns'
  own derivatives ``∂A/∂θ`` are known, Golub–Pereyra's second term ``Eᵀ(AᵀA)⁻¹E`` with
  ``E_j = (∂A/∂θ_j)ᵀ r`` — the exact Jacobian of the projected residual;
- gradient ``g = Mᵀ r = Σ_k c_k E_k`` (the residual is orthogonal to the active columns);
- the full covariance of (θ, c) from ``[M A]ᵀ[M A]``.

So one step costs one model evaluation (columns and their derivatives together) plus
O(n·(m+p)²) for the Gram matrices: no SVD or QR of the tall n-row matrices.

Steps are Levenberg–Marquardt with Marquardt's diagonal scaling and Nielsen's damping
update (Nielsen, IMM-REP-1999-05); bounds by freezing parameters the step would push
through an active bound and clipping the rest. After a step that the quadratic model
predicted well (gain ratio ρ > ``RHO_KEEP_CURVATURE``), the next step keeps H and
only updates the gradient (a chord step: ``g`` costs O(n·m_peaks·p), H costs
O(n·(m+p)·p)); a rejected step or a poorly predicted one recomputes H, and convergence
is always confirmed with H computed at the final point (which also gives the covariance).

Convergence is statistical: stop when the Gauss–Newton step is shorter than
``converge_sigma`` standard deviations (``δᵀHδ < converge_sigma²``, σ from the weights —
not inflated by χ²/ν, so a poor model does not stop early), or χ² stops decreasing
(relative ``ftol``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xrdkit import _jit
from xrdkit._jit import jit, numba

__all__ = ["LinearProjection", "VPPoint", "VPResult", "row_products", "solve_linear_nonneg", "varpro_lm"]

log = logging.getLogger(__name__)

#: Initial Marquardt damping (relative to the diagonal of H).
LAMBDA0 = 1e-3
#: Rejected trial steps in a row after which the fit gives up.
MAX_REJECTED = 12
#: Keep H for the next step when the accepted step's gain ratio exceeds this …
RHO_KEEP_CURVATURE = 0.75
#: … for at most this many steps in a row.
MAX_CURVATURE_REUSE = 3
_NO_ROWS = np.zeros((0, 0))


@dataclass(frozen=True)
class _JacobianRows:
    """Derivatives of the varying columns as rows: ``values[s]`` is ∂ column[s] / ∂ θ[parameter[s]];
    ``shape`` is (columns, parameters, points) of the dense array."""

    values: np.ndarray
    column: np.ndarray
    parameter: np.ndarray
    shape: tuple[int, int, int]

    @classmethod
    def of(cls, dw: object) -> _JacobianRows:
        """From a dense (m_peaks, p, n) array, or anything with ``values``, ``column``,
        ``parameter`` and ``shape`` (:class:`xrdkit.simulate.ColumnJacobian`)."""
        if isinstance(dw, np.ndarray):
            mp, p, n = dw.shape
            return cls(dw.reshape(mp * p, n), np.repeat(np.arange(mp), p), np.tile(np.arange(p), mp), dw.shape)
        return cls(dw.values, dw.column, dw.parameter, tuple(dw.shape))


@dataclass
class VPPoint:
    """The model at one θ with its linear solution.

    Attributes
    ----------
    theta : ndarray (p,)
        Nonlinear parameters (the free ones).
    v : ndarray (n, m_v)
        Columns that vary with θ, unweighted (the fixed block is held by the solver).
    coef : ndarray (m,)
        Linear coefficients, varying columns first, then the fixed block (0 where clamped).
    active : ndarray of bool (m,)
        Columns in the linear solution.
    resid : ndarray (n,)
        Weighted residual y_w − A_w c.
    chi2 : float
    gram_aa : ndarray (m, m)
        ``A_wᵀA_w`` over all columns.
    dw : _JacobianRows or None
        Unweighted derivatives of the first m_peaks columns as rows (None: not available).
    e : ndarray (m_peaks, p) or None
        ``E = (∂A/∂θ)ᵀ r_w`` of those columns (filled lazily).
    grad : ndarray (p,) or None
        ``g = Mᵀr_w`` = ½∇χ² with M = ∂(A_w c)/∂θ (filled lazily).
    gram_am, gram_mm : ndarray or None
        ``A_wᵀM`` (m × p) and ``MᵀM`` (p × p) (filled with H).
    """

    theta: np.ndarray
    v: np.ndarray
    coef: np.ndarray
    active: np.ndarray
    resid: np.ndarray
    chi2: float
    gram_aa: np.ndarray
    dw: _JacobianRows | None = None
    e: np.ndarray | None = None
    grad: np.ndarray | None = None
    gram_am: np.ndarray | None = None
    gram_mm: np.ndarray | None = None

    def normal_matrix(self) -> np.ndarray:
        """``JᵀJ`` of the full Jacobian J = [M, active columns of A_w] (for the covariance)."""
        act = np.nonzero(self.active)[0]
        p = self.gram_mm.shape[0]
        out = np.empty((p + act.size, p + act.size))
        out[:p, :p] = self.gram_mm
        out[p:, :p] = self.gram_am[act]
        out[:p, p:] = out[p:, :p].T
        out[p:, p:] = self.gram_aa[act][:, act]
        return out


@dataclass
class VPResult:
    """Outcome of :func:`varpro_lm`."""

    point: VPPoint
    converged: bool
    message: str
    nfev: int
    njev: int
    curvature: np.ndarray


def _row_products_loops(a: np.ndarray, b: np.ndarray, symmetric: bool) -> np.ndarray:
    """``a @ b.T`` for row-major a (r × n) and b (c × n), four rows of b per pass over a row of a;
    ``symmetric`` (b is a): only j ≥ i computed, mirrored."""
    r, n = a.shape
    c = b.shape[0]
    out = np.empty((r, c))
    for i in range(r):
        ai = a[i]
        j = i if symmetric else 0
        while j + 4 <= c:
            b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
            s0 = s1 = s2 = s3 = 0.0
            for k in range(n):
                v = ai[k]
                s0 += v * b0[k]
                s1 += v * b1[k]
                s2 += v * b2[k]
                s3 += v * b3[k]
            out[i, j], out[i, j + 1], out[i, j + 2], out[i, j + 3] = s0, s1, s2, s3
            j += 4
        while j < c:
            bj = b[j]
            s = 0.0
            for k in range(n):
                s += ai[k] * bj[k]
            out[i, j] = s
            j += 1
    if symmetric:
        for i in range(r):
            for j in range(i):
                out[i, j] = out[j, i]
    return out


# reassociation lets LLVM vectorise the sums (summation order differs from BLAS by rounding only)
_nb_row_products = (None if numba is None else
                    numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(_row_products_loops))


def row_products(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``a @ b.T`` (``a @ a.T`` when b is None) for the short, wide matrices of the solver.

    For a few rows of a few thousand points, single-threaded BLAS spends most of its time
    packing; the compiled loop (numba) is 2–4× faster there. Without numba, BLAS.
    """
    a = np.ascontiguousarray(a)
    if not _jit.HAVE_NUMBA:
        return a @ (a if b is None else b).T
    if b is None:
        return _nb_row_products(a, a, True)
    return _nb_row_products(a, np.ascontiguousarray(b), False)


@jit
def _spd_solve(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the symmetric system g x = b (b 2-D) scaled to unit diagonal; when g is not
    positive definite (Cholesky fails), the least-squares solution (rcond 1e-12)."""
    d = np.sqrt(np.maximum(np.diag(g), 1e-300))
    gs = g / np.outer(d, d)
    bs = b / d.reshape(-1, 1)
    ok = True
    xs = bs
    try:
        np.linalg.cholesky(gs)
        xs = np.linalg.solve(gs, bs)
    except Exception:  # noqa: BLE001 - numba raises a plain exception class
        ok = False
    if not ok or not np.isfinite(xs).all():
        xs = np.linalg.lstsq(gs, bs, 1e-12)[0]
    return xs / d.reshape(-1, 1)


@jit
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
    for _ in range(rhs.size + 1):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        sol = _spd_solve(gram[idx][:, idx], rhs[idx].reshape(-1, 1))[:, 0]
        worst, worst_val = -1, 0.0
        for k in range(idx.size):
            j = idx[k]
            if nonneg[j] and sol[k] < 0:
                val = sol[k] * np.sqrt(max(gram[j, j], 0.0))
                if worst < 0 or val < worst_val:
                    worst, worst_val = j, val
        if worst < 0:
            coef[idx] = sol
            return coef, active
        active[worst] = False
    return coef, active


@jit
def _combine_rows(values: np.ndarray, column: np.ndarray, parameter: np.ndarray, coef: np.ndarray,
                  weights: np.ndarray, p: int) -> np.ndarray:
    """``out[parameter[s]] += coef[column[s]] · weights · values[s]`` over the rows s (p × n)."""
    n = values.shape[1]
    out = np.zeros((p, n))
    for s in range(values.shape[0]):
        c = coef[column[s]]
        if c == 0.0:
            continue
        row = out[parameter[s]]
        v = values[s]
        for i in range(n):
            row[i] += c * v[i]
    for j in range(p):
        row = out[j]
        for i in range(n):
            row[i] *= weights[i]
    return out


@jit
def _reduced_hessian(gram_mm: np.ndarray, gram_aa: np.ndarray, gram_am: np.ndarray, e: np.ndarray,
                     active: np.ndarray) -> np.ndarray:
    """``H = MᵀM − MᵀA (AᵀA)⁻¹ AᵀM + Eᵀ(AᵀA)⁻¹E`` over the active columns (E may have
    fewer rows than there are columns: the rest are zero; no rows → no Golub–Pereyra term)."""
    act = np.nonzero(active)[0]
    h = gram_mm.copy()
    if act.size:
        ata = gram_aa[act][:, act]
        atm = gram_am[act]
        h -= atm.T @ _spd_solve(ata, atm)
        if e.shape[0]:
            e_act = np.zeros((act.size, e.shape[1]))
            for k in range(act.size):
                if act[k] < e.shape[0]:
                    e_act[k] = e[act[k]]
            h += e_act.T @ _spd_solve(ata, e_act)
    return 0.5 * (h + h.T)


@jit
def _solve_blocks(cross: np.ndarray, g_ff: np.ndarray, rhs_f: np.ndarray,
                  nonneg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gram matrix of ``[V F]`` from ``cross`` = Vᵀ[V F y] and the fixed block's FᵀF, Fᵀy; its
    non-negative solution: (gram, coef, active)."""
    m_v = cross.shape[0]
    m = cross.shape[1] - 1
    gram = np.empty((m, m))
    gram[:m_v] = cross[:, :m]
    gram[m_v:, :m_v] = cross[:, m_v:m].T
    gram[m_v:, m_v:] = g_ff
    rhs = np.empty(m)
    rhs[:m_v] = cross[:, m]
    rhs[m_v:] = rhs_f
    coef, active = solve_linear_nonneg(gram, rhs, nonneg, np.diag(gram) > 0)
    return gram, coef, active


def _project_loops(v, w, buf, g_ff, rhs_f, nonneg):  # pragma: no cover - compiled
    """:meth:`LinearProjection.solve` in one compiled pass (numba)."""
    n = buf.shape[0]
    m_v = v.shape[1]
    for a in range(m_v):
        col = buf[:, a]
        for i in range(n):
            col[i] = v[i, a] * w[i]
    rows = buf.T
    gram, coef, active = _solve_blocks(_nb_row_products(rows[:m_v], rows, False), g_ff, rhs_f, nonneg)
    resid = buf[:, buf.shape[1] - 1].copy()
    for j in range(coef.size):
        c = coef[j]
        if c != 0.0:
            col = buf[:, j]
            for i in range(n):
                resid[i] -= c * col[i]
    chi2 = 0.0
    for i in range(n):
        chi2 += resid[i] * resid[i]
    return gram, coef, active, resid, chi2


_nb_project = (None if numba is None else
               numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(_project_loops))


class LinearProjection:
    """The linear part at given columns: Gram blocks, the non-negative solution, the residual.

    ``fixed`` (n × m_f) are columns that do not depend on θ; ``nonneg`` covers the ``m_v``
    varying columns, then the fixed ones. Columns are passed unweighted and weighted here by
    ``row_weights`` (the weights ``yw`` carries).

    One buffer holds ``[V_w | F_w | y_w]``: the fixed block's ``F_wᵀF_w`` and ``F_wᵀy_w`` are
    formed once, and at each point ``V_wᵀ[V_w F_w y_w]`` is one product and the residual one
    matrix-vector product (with numba, weighting, products, solution and residual are one
    compiled call).
    """

    def __init__(self, fixed: np.ndarray, row_weights: np.ndarray, yw: np.ndarray, nonneg: np.ndarray,
                 m_v: int) -> None:
        self.yw = yw
        self.w = row_weights
        self.nonneg = nonneg
        self.m_v = m_v
        self.m_f = m_f = fixed.shape[1]
        self.buf = np.empty((yw.size, m_v + m_f + 1), order="F")  # columns contiguous
        np.multiply(fixed, row_weights[:, None], out=self.buf[:, m_v:m_v + m_f])
        self.buf[:, m_v + m_f] = yw
        gy = row_products(self.buf[:, m_v:].T)  # FᵀF and Fᵀy in one product
        self.g_ff = gy[:m_f, :m_f].copy()
        self.rhs_f = gy[:m_f, m_f].copy()

    def load(self, v: np.ndarray) -> np.ndarray:
        """Put the weighted varying columns ``v`` into the buffer; returns ``[V_w F_w]``."""
        np.multiply(v, self.w[:, None], out=self.buf[:, : self.m_v])
        return self.buf[:, : self.m_v + self.m_f]

    def solve(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """(gram, coef, active, resid, χ²) for the varying columns ``v`` (unweighted, n × m_v)."""
        if _jit.HAVE_NUMBA:
            gram, coef, active, resid, chi2 = _nb_project(v, self.w, self.buf, self.g_ff, self.rhs_f, self.nonneg)
            return gram, coef, active, resid, float(chi2)
        a = self.load(v)
        rows = self.buf.T  # C order: one contiguous row per column
        gram, coef, active = _solve_blocks(row_products(rows[: self.m_v], rows), self.g_ff, self.rhs_f, self.nonneg)
        resid = self.yw - a @ coef
        return gram, coef, active, resid, float(resid @ resid)


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
    fixed: np.ndarray | None = None,
    max_nfev: int = 200,
    ftol: float = 1e-8,
    converge_sigma: float = 0.1,
    curvature: np.ndarray | None = None,
) -> VPResult:
    """Levenberg–Marquardt on the variable-projection functional.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(theta) -> (v, dw)``: the columns that vary with θ (n × m_v) and, optionally,
        the derivatives of the first ``dw.shape[0]`` of them, both *unweighted* (weighted
        here by ``row_weights``): ``dw`` an array (m_peaks × p × n), or an object with
        ``values`` (r × n), ``column``, ``parameter`` (r,) and ``shape`` (m_peaks, p, n)
        holding only the nonzero (column, parameter) rows
        (:class:`xrdkit.simulate.ColumnJacobian`); else None.
    jacobian : callable
        ``jacobian(theta, coef) -> mw``: weighted ∂(A_w c)/∂θ (n × p); only called when
        ``evaluate`` returned no ``dw``.
    theta0, lower, upper : ndarray (p,)
        Start and bounds of the free nonlinear parameters.
    yw : ndarray (n,)
        Weighted observations.
    row_weights : ndarray (n,)
        The weights (1/σ) that the columns and ``yw`` carry, applied to ``dw``.
    nonneg : ndarray of bool (m_v + m_f,)
        Linear coefficients constrained ≥ 0 (varying columns first).
    fixed : ndarray (n, m_f), optional
        Columns that do not depend on θ, *unweighted* (weighted here by ``row_weights``; their
        coefficients follow the varying ones).
    max_nfev : int
        Model evaluations allowed (the starting one included).
    ftol : float
        Stop when an accepted step lowers χ² by less than ``ftol · χ²``.
    converge_sigma : float
        Stop when the Gauss–Newton step is shorter than this many standard deviations.
    curvature : ndarray (p, p), optional
        H near ``theta0`` (e.g. :attr:`VPResult.curvature` of the previous fit of a series):
        the first step uses it instead of computing H at ``theta0`` (used only when
        ``evaluate`` returns ``dw``; convergence is still confirmed with H at the final point).

    Returns
    -------
    VPResult
        Its point carries the Gram matrices of the final point (for the covariance), its
        ``curvature`` is H there.
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    n = yw.size
    nonneg = np.asarray(nonneg, dtype=bool)
    fixed = np.zeros((n, 0)) if fixed is None else fixed
    proj = LinearProjection(fixed, row_weights, yw, nonneg, nonneg.size - fixed.shape[1])
    nfev = 0
    njev = 0

    def point(theta: np.ndarray) -> VPPoint:
        nonlocal nfev
        nfev += 1
        v, dw = evaluate(theta)
        gram, coef, active, resid, chi2 = proj.solve(v)
        rows = None if dw is None else _JacobianRows.of(dw)
        return VPPoint(theta.copy(), v, coef, active, resid, chi2, gram, rows)

    def column_residual_products(pt: VPPoint) -> np.ndarray:
        if pt.e is None:
            rw = pt.resid * row_weights
            pt.e = np.zeros(pt.dw.shape[:2])
            pt.e[pt.dw.column, pt.dw.parameter] = pt.dw.values @ rw
        return pt.e

    def gradient(pt: VPPoint) -> np.ndarray:
        """g = Mᵀr; with per-column rows without M: Σ_k c_k (∂A_k/∂θ)ᵀ r_w."""
        if pt.grad is None:
            e = column_residual_products(pt)
            pt.grad = pt.coef[: e.shape[0]] @ e
        return pt.grad

    def hessian(pt: VPPoint) -> tuple[np.ndarray, np.ndarray]:
        """H and g of the reduced problem at ``pt`` (and the Gram matrices of M)."""
        nonlocal njev
        if pt.gram_mm is None:
            njev += 1
            a = proj.load(pt.v)  # [V F] of this point: one product for AᵀM
            d = pt.dw
            if d is not None:  # M = Σ over the (column, parameter) rows of coef[column] · row
                mwt = _combine_rows(d.values, d.column, d.parameter, pt.coef, row_weights, d.shape[1])
            else:
                mwt = np.ascontiguousarray(jacobian(pt.theta, pt.coef).T)
                pt.grad = mwt @ pt.resid
            pt.gram_am = row_products(a.T, mwt)
            pt.gram_mm = row_products(mwt)
        e = _NO_ROWS if pt.dw is None else column_residual_products(pt)  # none: no Golub–Pereyra term
        return _reduced_hessian(pt.gram_mm, pt.gram_aa, pt.gram_am, e, pt.active), gradient(pt)

    pt = point(np.clip(np.asarray(theta0, dtype=float), lower, upper))
    p = pt.theta.size
    if p == 0:
        return VPResult(pt, True, "no nonlinear parameter varied", nfev, njev, np.zeros((0, 0)))
    lam = LAMBDA0
    nu = 2.0
    converged = False
    message = "maximum number of evaluations reached"
    if curvature is not None and pt.dw is not None and np.shape(curvature) == (p, p):
        h, g = np.asarray(curvature, dtype=float), gradient(pt)
        exact = False
    else:
        h, g = hessian(pt)
        exact = True  # h was computed at pt (not carried over from an earlier point)
    reused = 0
    while nfev < max_nfev:
        hd = h.diagonal()
        diag = np.maximum(hd, 1e-12 * max(float(hd.max()), 1e-300))
        # statistical convergence: the full Gauss–Newton step is a small fraction of σ (σ from
        # the weights alone: a poor model, χ²/ν ≫ 1, must not loosen the test)
        gn = _bounded_step(h, g, 0.0, diag, pt.theta, lower, upper)
        if float(gn @ h @ gn) < converge_sigma**2:
            if exact:
                converged, message = True, f"Gauss–Newton step below {converge_sigma:g} σ"
                break
            h, g = hessian(pt)  # confirm with the curvature at this point
            exact, reused = True, 0
            continue
        rejected = 0
        accepted = False
        while nfev < max_nfev and rejected < MAX_REJECTED:
            step = _bounded_step(h, g, lam, diag, pt.theta, lower, upper)
            trial_theta = np.clip(pt.theta + step, lower, upper)
            step = trial_theta - pt.theta
            if not step.any():
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
            if not exact:
                break  # retry from here with the curvature of this point
            lam = max(lam, 1e-6) * nu
            nu *= 2.0
            rejected += 1
        if not accepted:
            if not exact:
                h, g = hessian(pt)
                exact, reused = True, 0
                continue
            converged = nfev < max_nfev
            message = "no further decrease of χ² (at a bound or at the minimum)" if converged else message
            break
        if pt.dw is not None and rho > RHO_KEEP_CURVATURE and reused < MAX_CURVATURE_REUSE:
            g_new = gradient(pt)  # keep H with a secant (BFGS) correction along the step
            h = _secant_update(h, step, g - g_new)
            g = g_new
            exact, reused = False, reused + 1
        else:
            h, g = hessian(pt)
            exact, reused = True, 0
        if gain < ftol * pt.chi2:
            converged, message = True, f"relative decrease of χ² below ftol={ftol:g}"
            break
    if not exact:
        h, g = hessian(pt)  # H and the Gram matrices of the final point, for the covariance
    return VPResult(pt, converged, message, nfev, njev, h)


@jit
def _secant_update(h: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BFGS update of H so that H s = y (y: the change of ½∇χ² along the step s); H unchanged
    when the curvature along s is not positive."""
    hs = h @ s
    shs = hs @ s
    ys = y @ s
    if shs <= 0.0 or ys <= 1e-12 * shs:
        return h
    return h - np.outer(hs, hs) / shs + np.outer(y, y) / ys


@jit
def _bounded_step(h: np.ndarray, g: np.ndarray, lam: float, diag: np.ndarray,
                  theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Damped step (H + λ·diag) δ = g within the bounds (a projected Newton step).

    A parameter the step would carry through a bound is pinned there (δ_j = bound − θ_j;
    0 for one already at the bound and pushed outward) and the others are solved again
    with that move taken into account, so correlated parameters are not left moving as if
    the pinned one had moved the whole way.
    """
    p = g.size
    span = upper - lower
    span = np.where(np.isfinite(span), span, 1.0)
    tol = 1e-12 * span
    hh = h.copy()
    for i in range(p):
        hh[i, i] += lam * diag[i]
    step = np.zeros(p)
    pinned = np.zeros(p, dtype=np.bool_)
    # at a bound with the gradient pointing outward: pinned from the start
    for i in range(p):
        if (theta[i] <= lower[i] + tol[i] and g[i] < 0) or (theta[i] >= upper[i] - tol[i] and g[i] > 0):
            pinned[i] = True
    for _ in range(p + 1):
        idx = np.nonzero(~pinned)[0]
        if idx.size == 0:
            return step
        rhs = g[idx] - hh[idx] @ step  # the pinned parameters' moves (free entries of step are 0 here)
        sol = _spd_solve(hh[idx][:, idx], rhs.reshape(-1, 1))
        crossed = False
        for k in range(idx.size):
            i = idx[k]
            new = theta[i] + sol[k, 0]
            if new < lower[i] - tol[i] or (theta[i] <= lower[i] + tol[i] and sol[k, 0] < 0):
                pinned[i], step[i], crossed = True, lower[i] - theta[i], True
            elif new > upper[i] + tol[i] or (theta[i] >= upper[i] - tol[i] and sol[k, 0] > 0):
                pinned[i], step[i], crossed = True, upper[i] - theta[i], True
        if not crossed:
            for k in range(idx.size):
                step[idx[k]] = sol[k, 0]
            return step
    return step
