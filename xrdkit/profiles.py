"""Peak shapes in 2θ: pure functions, plus the windowed sparse assembly of many peaks.

Shapes (area-normalised, argument ``x_deg`` = 2θ − centre, FWHM ``fwhm_deg``):

- :func:`gaussian`, :func:`lorentzian`, :func:`pseudo_voigt` — with their partial
  derivatives in :func:`pseudo_voigt_derivatives` (used by the analytic Jacobian).
- :func:`tch_fwhm_eta` — Thompson, Cox & Hastings, *J. Appl. Cryst.* 20 (1987) 79,
  doi:10.1107/S0021889887087090: Gaussian FWHM from Caglioti U, V, W
  (H_G² = U tan²θ + V tanθ + W), Lorentzian FWHM H_L = X tanθ + Y / cosθ, combined
  into the pseudo-Voigt FWHM and mixing η by their fifth-order polynomial.

:func:`peak_matrices` evaluates every peak only inside ±``window_fwhm`` FWHM of its
centre and returns sparse (points × peaks) matrices, so a pattern is one sparse
matrix–vector product and a Jacobian one sparse matrix–matrix product.

Windowed profiles are made continuous: the profile's value at the window edge is
subtracted (:func:`window_terms`), so a grid point entering or leaving a window changes
nothing — without this χ² jumps by ~0.5 whenever a width changes, and convergence tests
become meaningless. The pedestal removed is 1/1601 of a Lorentzian's height at ±20 FWHM.
The profile is *not* renormalised to unit area inside the window: the fitted scale follows
the central shape, which must stay that of the true peak (renormalising raised the centre by
up to 5 % for Lorentzian-rich peaks and biased weight fractions between phases of different
η); the truncated tails (1.6 % of a Lorentzian at ±20 FWHM) and the pedestal (1.6 %) go to
the background, as in other Rietveld codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "gaussian",
    "lorentzian",
    "pseudo_voigt",
    "pseudo_voigt_derivatives",
    "tch_fwhm_eta",
    "PeakMatrices",
    "peak_matrices",
    "PROFILE_FUNCTIONS",
    "DEFAULT_WINDOW_FWHM",
    "window_terms",
]

LN2 = np.log(2.0)
#: Half-width of the evaluation window in FWHM. ±20 FWHM loses 1.6 % of a pure
#: Lorentzian's area (0 % of a Gaussian's); ±8 lost ~4 % and biased fits (DESIGN.md).
DEFAULT_WINDOW_FWHM = 20.0
#: Largest window half-width (deg 2θ) whatever the FWHM (only peaks broader than 0.2° hit it).
MAX_WINDOW_HALF_DEG = 4.0
#: Smallest FWHM (deg) allowed, guards divisions.
TINY_FWHM_DEG = 1e-6



def gaussian(x_deg: np.ndarray, fwhm_deg: np.ndarray | float) -> np.ndarray:
    """Area-normalised Gaussian of full width at half maximum ``fwhm_deg``."""
    h = np.maximum(fwhm_deg, TINY_FWHM_DEG)
    return (2.0 / h) * np.sqrt(LN2 / np.pi) * np.exp(-4.0 * LN2 * (x_deg / h) ** 2)


def lorentzian(x_deg: np.ndarray, fwhm_deg: np.ndarray | float) -> np.ndarray:
    """Area-normalised Lorentzian (Cauchy) of full width at half maximum ``fwhm_deg``."""
    h = np.maximum(fwhm_deg, TINY_FWHM_DEG)
    return (2.0 / (np.pi * h)) / (1.0 + 4.0 * (x_deg / h) ** 2)


def pseudo_voigt(x_deg: np.ndarray, fwhm_deg: np.ndarray | float, eta: np.ndarray | float) -> np.ndarray:
    """Area-normalised pseudo-Voigt ``η·L + (1 − η)·G`` with a common FWHM."""
    return eta * lorentzian(x_deg, fwhm_deg) + (1.0 - eta) * gaussian(x_deg, fwhm_deg)


#: Registry of the shapes (same call signature ``f(x_deg, fwhm_deg, …)``), for contract tests.
PROFILE_FUNCTIONS = (gaussian, lorentzian, pseudo_voigt)


def pseudo_voigt_derivatives(
    x_deg: np.ndarray, fwhm_deg: np.ndarray, eta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pseudo-Voigt value and its partial derivatives.

    Returns
    -------
    value, d_centre, d_fwhm, d_eta : ndarray
        ``pV``, ``∂pV/∂centre`` (= −∂pV/∂x), ``∂pV/∂FWHM`` and ``∂pV/∂η``, all with the
        shape of ``x_deg``.
    """
    h = np.maximum(fwhm_deg, TINY_FWHM_DEG)
    u = x_deg / h
    u2 = u * u
    lor_den = 1.0 + 4.0 * u2
    lor = (2.0 / (np.pi * h)) / lor_den
    gau = (2.0 / h) * np.sqrt(LN2 / np.pi) * np.exp(-4.0 * LN2 * u2)
    value = eta * lor + (1.0 - eta) * gau
    # ∂/∂x
    dlor_dx = lor * (-8.0 * u / h) / lor_den
    dgau_dx = gau * (-8.0 * LN2 * u / h)
    d_centre = -(eta * dlor_dx + (1.0 - eta) * dgau_dx)
    # ∂/∂H
    dlor_dh = lor * (-1.0 + 8.0 * u2 / lor_den) / h
    dgau_dh = gau * (-1.0 + 8.0 * LN2 * u2) / h
    d_fwhm = eta * dlor_dh + (1.0 - eta) * dgau_dh
    return value, d_centre, d_fwhm, lor - gau


@dataclass(frozen=True)
class TCHWidths:
    """TCH pseudo-Voigt width and mixing per peak, with the chain-rule factors.

    Attributes
    ----------
    fwhm_deg, eta : ndarray
        Combined FWHM and Lorentzian fraction.
    fwhm_gauss_deg, fwhm_lorentz_deg : ndarray
        Component FWHMs.
    dfwhm_dg, dfwhm_dl, deta_dg, deta_dl : ndarray
        ∂FWHM/∂H_G, ∂FWHM/∂H_L, ∂η/∂H_G, ∂η/∂H_L.
    """

    fwhm_deg: np.ndarray
    eta: np.ndarray
    fwhm_gauss_deg: np.ndarray
    fwhm_lorentz_deg: np.ndarray
    dfwhm_dg: np.ndarray
    dfwhm_dl: np.ndarray
    deta_dg: np.ndarray
    deta_dl: np.ndarray


def tch_fwhm_eta(fwhm_gauss_deg: np.ndarray, fwhm_lorentz_deg: np.ndarray) -> TCHWidths:
    """Combine Gaussian and Lorentzian FWHMs into the TCH pseudo-Voigt (with derivatives)."""
    g = np.maximum(np.asarray(fwhm_gauss_deg, dtype=float), TINY_FWHM_DEG)
    lo = np.maximum(np.asarray(fwhm_lorentz_deg, dtype=float), 0.0)
    return TCHWidths(*tch_core(g, lo))


def tch_core(g: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`tch_fwhm_eta` on float arrays (G ≥ tiny, L ≥ 0 already).

    Written with array expressions only, so :mod:`xrdkit._kernels` compiles the same
    function with numba. Returns the fields of :class:`TCHWidths` in order.
    """
    c0, c1, c2, c3, c4, c5 = 1.0, 2.69269, 2.42843, 4.47163, 0.07842, 1.0  # eq. 3
    e1, e2, e3 = 1.36603, -0.47719, 0.11116  # eq. 4
    g2 = g * g
    g3 = g2 * g
    g4 = g3 * g
    l2 = lo * lo
    l3 = l2 * lo
    l4 = l3 * lo
    s = c0 * g4 * g + c1 * g4 * lo + c2 * g3 * l2 + c3 * g2 * l3 + c4 * g * l4 + c5 * l4 * lo
    h = s**0.2
    ds_dg = 5 * c0 * g4 + 4 * c1 * g3 * lo + 3 * c2 * g2 * l2 + 2 * c3 * g * l3 + c4 * l4
    ds_dl = c1 * g4 + 2 * c2 * g3 * lo + 3 * c3 * g2 * l2 + 4 * c4 * g * l3 + 5 * c5 * l4
    dh_ds = 0.2 * h / s
    dh_dg = dh_ds * ds_dg
    dh_dl = dh_ds * ds_dl
    q = lo / h
    eta = np.minimum(np.maximum(e1 * q + e2 * q * q + e3 * q * q * q, 0.0), 1.0)
    deta_dq = e1 + 2 * e2 * q + 3 * e3 * q * q
    # q = L/H → ∂q/∂G = −L/H² ∂H/∂G ; ∂q/∂L = 1/H − L/H² ∂H/∂L
    deta_dg = deta_dq * (-lo / (h * h)) * dh_dg
    deta_dl = deta_dq * (1.0 / h - lo / (h * h) * dh_dl)
    return h, eta, g, lo, dh_dg, dh_dl, deta_dg, deta_dl


_GN = 2.0 * math.sqrt(math.log(2.0) / math.pi)
_SQRT_LN2 = math.sqrt(math.log(2.0))


def window_terms(half_deg: float, fwhm_deg: float, eta: float, capped: bool) -> tuple[float, float, float]:
    """Value of a pseudo-Voigt at its window edge ±``half_deg``, with derivatives.

    The windowed profile is ``pV(x) − E`` on |x| ≤ half: zero at the edge. With
    ``u = half/H``::

        E·H = η·(2/π)/(1 + 4u²) + (1 − η)·2√(ln2/π)·exp(−4 ln2 u²)

    ``u`` is fixed (half = window·H) unless the window is ``capped`` at a fixed width in degrees.
    Plain-float math so that numba can compile it for the kernels.

    Returns
    -------
    edge, dedge_dfwhm, dedge_deta : float
    """
    h = max(fwhm_deg, TINY_FWHM_DEG)
    u = half_deg / h
    u2 = u * u
    lor_t = (2.0 / math.pi) / (1.0 + 4.0 * u2)
    gau_t = _GN * math.exp(-4.0 * math.log(2.0) * u2)
    eh = eta * lor_t + (1.0 - eta) * gau_t
    deh_du = eta * lor_t * (-8.0 * u) / (1.0 + 4.0 * u2) + (1.0 - eta) * gau_t * (-8.0 * math.log(2.0) * u)
    du_dh = -u / h if capped else 0.0
    edge = eh / h
    return edge, deh_du * du_dh / h - eh / (h * h), (lor_t - gau_t) / h


def _window_arrays(half: np.ndarray, fwhm: np.ndarray, eta: np.ndarray, capped: np.ndarray) -> np.ndarray:
    """:func:`window_terms` for many peaks: shape (3, k)."""
    return np.array([window_terms(float(a), float(b), float(c), bool(d))
                     for a, b, c, d in zip(half, fwhm, eta, capped, strict=True)]).reshape(-1, 3).T


class PeakMatrices:
    """Profile values (and derivatives) of many peaks on a grid, in sparse column layout.

    Column k (peak k) holds its area-normalised profile at the grid points inside its
    window. The flat arrays share one structure (``rows``, ``indptr``); the properties
    ``value``, ``d_centre``, ``d_fwhm``, ``d_eta``, ``d_asymmetry`` give (points × peaks)
    CSC matrices, and :meth:`combine` forms Σ_m M_m @ W_m in one sparse product.
    """

    def __init__(self, shape: tuple[int, int], rows: np.ndarray, indptr: np.ndarray,
                 flat: dict[str, np.ndarray]) -> None:
        self.shape = shape
        self.rows = rows
        self.indptr = indptr
        self.flat = flat
        self.n_evaluated = int(rows.size)

    def _csc(self, name: str) -> sp.csc_matrix | None:
        data = self.flat.get(name)
        if data is None:
            return None
        return sp.csc_matrix((data, self.rows, self.indptr), shape=self.shape)

    @property
    def value(self) -> sp.csc_matrix:
        """Profile values."""
        return self._csc("value")

    @property
    def d_centre(self) -> sp.csc_matrix | None:
        """∂/∂centre."""
        return self._csc("d_centre")

    @property
    def d_fwhm(self) -> sp.csc_matrix | None:
        """∂/∂FWHM."""
        return self._csc("d_fwhm")

    @property
    def d_eta(self) -> sp.csc_matrix | None:
        """∂/∂η."""
        return self._csc("d_eta")

    @property
    def d_asymmetry(self) -> sp.csc_matrix | None:
        """∂/∂(P/tanθ)."""
        return self._csc("d_asymmetry")

    def combine(self, weights: dict[str, np.ndarray]) -> np.ndarray:
        """Σ_name M_name @ weights[name] for (peaks × p) dense weights, as one sparse product.

        The matrices are stacked side by side (points × (m·peaks)) and multiplied by the
        weights stacked on top of each other, so the C kernel runs once.
        """
        names = [n for n in weights if self.flat.get(n) is not None]
        k = self.shape[1]
        nnz = self.rows.size
        data = np.concatenate([self.flat[n] for n in names])
        rows = np.tile(self.rows, len(names))
        indptr = np.concatenate(
            [self.indptr[:-1] + j * nnz for j in range(len(names))] + [np.array([len(names) * nnz])]
        )
        big = sp.csc_matrix((data, rows, indptr), shape=(self.shape[0], len(names) * k))
        return np.asarray(big @ np.vstack([weights[n] for n in names]))


def peak_matrices(
    two_theta_deg: np.ndarray,
    centres_deg: np.ndarray,
    fwhm_deg: np.ndarray,
    eta: np.ndarray,
    *,
    asymmetry_over_tan: np.ndarray | None = None,
    window_fwhm: float = DEFAULT_WINDOW_FWHM,
    max_window_half_deg: float = MAX_WINDOW_HALF_DEG,
    derivatives: bool = False,
) -> PeakMatrices:
    """Evaluate many pseudo-Voigt peaks on a sorted grid, each only within its window.

    Parameters
    ----------
    two_theta_deg : ndarray, shape (n,)
        Strictly increasing grid.
    centres_deg, fwhm_deg, eta : ndarray, shape (k,)
        Peak centres, FWHMs and Lorentzian fractions.
    asymmetry_over_tan : ndarray, shape (k,), optional
        ``P / tanθ`` per peak for the first Bérar–Baldinozzi asymmetry term, which
        multiplies the profile by ``1 + (P / tanθ)·2z·exp(−z²)`` with ``z = (2θ − centre)/FWHM``
        (Bérar & Baldinozzi, *J. Appl. Cryst.* 26 (1993) 128, doi:10.1107/S0021889892008987);
        the term is odd in z, so the peak area is unchanged.
    window_fwhm : float
        Half-width of each peak's window in FWHM (the windowed profile is shifted to zero
        at the edge, see :func:`window_terms`).
    max_window_half_deg : float
        …but never wider than this (degrees): very broad peaks would otherwise cover the
        whole scan and dominate the cost; their far tails go to the background.
    derivatives : bool
        Also return ∂/∂centre, ∂/∂FWHM, ∂/∂η and ∂/∂(P) (the last per unit P, i.e.
        already divided by tanθ through ``asymmetry_over_tan``'s ratio).

    Returns
    -------
    PeakMatrices
    """
    n = two_theta_deg.size
    k = centres_deg.size
    capped = window_fwhm * fwhm_deg > max_window_half_deg
    half = np.minimum(window_fwhm * fwhm_deg, max_window_half_deg)
    edge, dedge_dh, dedge_de = _window_arrays(half, fwhm_deg, eta, capped)
    start = np.searchsorted(two_theta_deg, centres_deg - half, side="left")
    stop = np.searchsorted(two_theta_deg, centres_deg + half, side="right")
    counts = stop - start  # (k,)
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    total = int(indptr[-1])
    # flat (point, peak) index: rows = start[p] + 0..count[p]-1 for each peak p
    peak_of = np.repeat(np.arange(k), counts)  # (total,)
    rows = np.arange(total) - np.repeat(indptr[:-1] - start, counts)
    x = two_theta_deg[rows] - centres_deg[peak_of]
    h = fwhm_deg[peak_of]
    shape = (n, k)

    if not derivatives:
        val = pseudo_voigt(x, h, eta[peak_of]) - edge[peak_of]
        if asymmetry_over_tan is not None:
            z = x / np.maximum(h, TINY_FWHM_DEG)
            val = val * (1.0 + asymmetry_over_tan[peak_of] * 2.0 * z * np.exp(-z * z))
        return PeakMatrices(shape, rows, indptr, {"value": val})
    val, dc, dh, de = pseudo_voigt_derivatives(x, h, eta[peak_of])
    val = val - edge[peak_of]
    dh = dh - dedge_dh[peak_of]
    de = de - dedge_de[peak_of]
    flat = {}
    if asymmetry_over_tan is not None:
        hh = np.maximum(h, TINY_FWHM_DEG)
        z = x / hh
        ez = np.exp(-z * z)
        odd = 2.0 * z * ez  # (total,)
        a = asymmetry_over_tan[peak_of]
        factor = 1.0 + a * odd
        # d(odd)/dcentre = d(odd)/dz · dz/dcentre = 2(1 − 2z²)e^{−z²} · (−1/H)
        dodd_dc = -2.0 * (1.0 - 2.0 * z * z) * ez / hh
        dodd_dh = -2.0 * (1.0 - 2.0 * z * z) * ez * z / hh
        flat["d_asymmetry"] = val * odd  # per unit (P / tanθ)
        dc = dc * factor + val * a * dodd_dc
        dh = dh * factor + val * a * dodd_dh
        de = de * factor
        val = val * factor
    flat.update(value=val, d_centre=dc, d_fwhm=dh, d_eta=de)
    return PeakMatrices(shape, rows, indptr, flat)
