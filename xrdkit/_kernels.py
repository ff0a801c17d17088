"""Compiled inner loops of the pattern model (numba), with a plain-numpy fallback.

Two kernels accumulate many windowed TCH pseudo-Voigt peaks on a sorted 2θ grid in
one pass over the (peak, point) pairs:

- :func:`accumulate_columns` — Σ amplitude·profile into the linear columns of the model;
- :func:`accumulate_jacobian` — the same plus ∂/∂θ of Σ (coefficient·amplitude·profile)
  for the nonlinear parameters θ, from per-peak chain-rule factors.

numba is an optional accelerator (``pip install numba``; it is a dependency of
closokit, but the package stays correct without it): when it cannot be imported, or
``XRDKIT_NO_NUMBA=1`` is set, the same functions run on :func:`xrdkit.profiles.peak_matrices`
(sparse matrices, about 5–10× slower). :data:`HAVE_NUMBA` tells which one is active.

The profile and its derivatives are those of :mod:`xrdkit.profiles` (pseudo-Voigt
with common FWHM, first Bérar–Baldinozzi asymmetry term); tests check the two paths
against each other.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np

from xrdkit.profiles import TINY_FWHM_DEG, peak_matrices

__all__ = ["HAVE_NUMBA", "accumulate_columns", "accumulate_jacobian", "N_CHANNELS"]

log = logging.getLogger(__name__)

#: Per-peak derivative channels of the Jacobian kernel: ∂/∂centre, ∂/∂FWHM, ∂/∂η,
#: ∂ ln(amplitude) (multiplies the profile value) and ∂/∂(P/tanθ) (asymmetry).
N_CHANNELS = 5

_LN2 = math.log(2.0)
_GAUSS_NORM = 2.0 * math.sqrt(_LN2 / math.pi)
_LOR_NORM = 2.0 / math.pi

try:  # pragma: no cover - exercised by whichever environment runs the tests
    if os.environ.get("XRDKIT_NO_NUMBA", "").strip() not in ("", "0"):
        raise ImportError("disabled by XRDKIT_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError as _exc:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False
    log.info("numba not available (%s): pattern model runs on numpy (slower)", _exc)


def _windows(x: np.ndarray, centre: np.ndarray, fwhm: np.ndarray, window_fwhm: float,
             max_half_deg: float) -> tuple[np.ndarray, np.ndarray]:
    half = np.minimum(window_fwhm * fwhm, max_half_deg)
    return (np.searchsorted(x, centre - half, side="left"),
            np.searchsorted(x, centre + half, side="right"))


if HAVE_NUMBA:

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _nb_columns(x, centre, fwhm, eta, asym, amp, col, start, stop, out):  # pragma: no cover
        total = 0
        for k in range(centre.size):
            a = amp[k]
            if a == 0.0:
                continue
            h = max(fwhm[k], TINY_FWHM_DEG)
            inv_h = 1.0 / h
            e = eta[k]
            p = asym[k]
            lor0 = _LOR_NORM * inv_h * e
            gau0 = _GAUSS_NORM * inv_h * (1.0 - e)
            c = col[k]
            c0 = centre[k]
            for i in range(start[k], stop[k]):
                u = (x[i] - c0) * inv_h
                u2 = u * u
                v = lor0 / (1.0 + 4.0 * u2)
                if u2 < 40.0:  # exp(−4 ln2 · 40) ≈ 1e−48: below double precision of the sum
                    v += gau0 * math.exp(-4.0 * _LN2 * u2)
                    if p != 0.0:
                        v *= 1.0 + p * 2.0 * u * math.exp(-u2)
                out[i, c] += a * v
            total += stop[k] - start[k]
        return total

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _nb_jacobian(x, centre, fwhm, eta, asym, amp, col, jcol, start, stop, g, out, jac):  # pragma: no cover
        npar = jac.shape[2]
        total = 0
        for k in range(centre.size):
            a = amp[k]
            h = max(fwhm[k], TINY_FWHM_DEG)
            inv_h = 1.0 / h
            e = eta[k]
            p = asym[k]
            c = col[k]
            jc = jcol[k]
            c0 = centre[k]
            for i in range(start[k], stop[k]):
                u = (x[i] - c0) * inv_h
                u2 = u * u
                den = 1.0 + 4.0 * u2
                lor = _LOR_NORM * inv_h / den
                if u2 < 40.0:
                    gau = _GAUSS_NORM * inv_h * math.exp(-4.0 * _LN2 * u2)
                else:
                    gau = 0.0
                val = e * lor + (1.0 - e) * gau
                # ∂/∂centre = −∂/∂x ; ∂/∂H ; ∂/∂η
                dlor_dx = lor * (-8.0 * u * inv_h) / den
                dgau_dx = gau * (-8.0 * _LN2 * u * inv_h)
                dc = -(e * dlor_dx + (1.0 - e) * dgau_dx)
                dh = (e * lor * (-1.0 + 8.0 * u2 / den) + (1.0 - e) * gau * (-1.0 + 8.0 * _LN2 * u2)) * inv_h
                de = lor - gau
                da = 0.0
                ez = math.exp(-u2) if u2 < 40.0 else 0.0
                odd = 2.0 * u * ez
                da = val * odd
                if p != 0.0:
                    factor = 1.0 + p * odd
                    dodd_dc = -2.0 * (1.0 - 2.0 * u2) * ez * inv_h
                    dodd_dh = dodd_dc * u
                    dc = dc * factor + val * p * dodd_dc
                    dh = dh * factor + val * p * dodd_dh
                    de = de * factor
                    val = val * factor
                out[i, c] += a * val
                for j in range(npar):
                    jac[i, jc, j] += (dc * g[k, 0, j] + dh * g[k, 1, j] + de * g[k, 2, j]
                                  + val * g[k, 3, j] + da * g[k, 4, j])
            total += stop[k] - start[k]
        return total


def accumulate_columns(
    two_theta_deg: np.ndarray,
    centre_deg: np.ndarray,
    fwhm_deg: np.ndarray,
    eta: np.ndarray,
    asymmetry_over_tan: np.ndarray,
    amplitude: np.ndarray,
    column: np.ndarray,
    out: np.ndarray,
    *,
    window_fwhm: float,
    max_window_half_deg: float,
) -> int:
    """Add ``amplitude[k] · profile_k`` to ``out[:, column[k]]`` for every peak k.

    Parameters
    ----------
    two_theta_deg : ndarray, shape (n,)
        Sorted grid.
    centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude : ndarray, shape (k,)
        Peak centres, TCH FWHMs, Lorentzian fractions, ``P/tanθ`` and integrated intensities.
    column : ndarray of int, shape (k,)
        Column of ``out`` each peak belongs to.
    out : ndarray, shape (n, m)
        Accumulated in place (C order).
    window_fwhm, max_window_half_deg : float
        Each peak is evaluated on ±min(window_fwhm·FWHM, max_window_half_deg).

    Returns
    -------
    int
        Number of (peak, point) pairs evaluated.
    """
    start, stop = _windows(two_theta_deg, centre_deg, fwhm_deg, window_fwhm, max_window_half_deg)
    if HAVE_NUMBA:
        return int(_nb_columns(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude,
                               column, start, stop, out))
    pm = peak_matrices(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan=asymmetry_over_tan,
                       window_fwhm=window_fwhm, max_window_half_deg=max_window_half_deg)
    cmat = np.zeros((centre_deg.size, out.shape[1]))
    cmat[np.arange(centre_deg.size), column] = amplitude
    out += pm.combine({"value": cmat})
    return pm.n_evaluated


def accumulate_jacobian(
    two_theta_deg: np.ndarray,
    centre_deg: np.ndarray,
    fwhm_deg: np.ndarray,
    eta: np.ndarray,
    asymmetry_over_tan: np.ndarray,
    amplitude: np.ndarray,
    column: np.ndarray,
    chain: np.ndarray,
    out: np.ndarray,
    jacobian: np.ndarray,
    jacobian_column: np.ndarray | None = None,
    *,
    window_fwhm: float,
    max_window_half_deg: float,
) -> int:
    """Columns (as :func:`accumulate_columns`) and the Jacobian of the pattern.

    Parameters
    ----------
    chain : ndarray, shape (k, N_CHANNELS, p)
        Per peak, ∂(channel quantity)/∂θ_j times the peak's height (its amplitude, or
        amplitude × linear coefficient for a combined Jacobian): channels ∂centre, ∂FWHM,
        ∂η, ∂ln(height) and ∂(P/tanθ).
    jacobian : ndarray, shape (n, g, p)
        Accumulated in place:
        ``jacobian[i, jacobian_column[k], j] += Σ_c ∂profile_k/∂channel_c (x_i) · chain[k, c, j]``.
    jacobian_column : ndarray of int, shape (k,), optional
        Slot of each peak in ``jacobian``'s second axis (default 0: one combined Jacobian;
        ``column`` gives the Jacobian of every linear column separately).

    Other parameters and the return value are those of :func:`accumulate_columns`.
    """
    start, stop = _windows(two_theta_deg, centre_deg, fwhm_deg, window_fwhm, max_window_half_deg)
    jcol = np.zeros(centre_deg.size, dtype=np.intp) if jacobian_column is None else jacobian_column
    if HAVE_NUMBA:
        return int(_nb_jacobian(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude,
                                column, jcol, start, stop, chain, out, jacobian))
    pm = peak_matrices(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan=asymmetry_over_tan,
                       window_fwhm=window_fwhm, max_window_half_deg=max_window_half_deg, derivatives=True)
    k = centre_deg.size
    cmat = np.zeros((k, out.shape[1]))
    cmat[np.arange(k), column] = amplitude
    out += pm.combine({"value": cmat})
    for slot in np.unique(jcol):
        ch = np.where((jcol == slot)[:, None, None], chain, 0.0)
        jacobian[:, slot, :] += pm.combine({"d_centre": ch[:, 0], "d_fwhm": ch[:, 1], "d_eta": ch[:, 2],
                                            "value": ch[:, 3], "d_asymmetry": ch[:, 4]})
    return pm.n_evaluated
