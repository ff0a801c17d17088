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

from xrdkit.profiles import TINY_FWHM_DEG, peak_matrices, tch_core, window_terms

__all__ = ["HAVE_NUMBA", "accumulate_columns", "accumulate_jacobian", "N_CHANNELS", "tch_widths"]

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
    _nb_window_terms = numba.njit(cache=True, nogil=True)(window_terms)
    _nb_tch_core = numba.njit(cache=True, nogil=True)(tch_core)

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _nb_columns(x, centre, fwhm, eta, asym, amp, col, start, stop, window, max_half, out):  # pragma: no cover
        total = 0
        for k in range(centre.size):
            a = amp[k]
            if a == 0.0:
                continue
            h = max(fwhm[k], TINY_FWHM_DEG)
            inv_h = 1.0 / h
            e = eta[k]
            p = asym[k]
            capped = window * h > max_half
            edge, _, _, area, _, _ = _nb_window_terms(min(window * h, max_half), h, e, capped)
            a = a / area
            lor0 = _LOR_NORM * inv_h * e
            gau0 = _GAUSS_NORM * inv_h * (1.0 - e)
            c = col[k]
            c0 = centre[k]
            for i in range(start[k], stop[k]):
                u = (x[i] - c0) * inv_h
                u2 = u * u
                v = lor0 / (1.0 + 4.0 * u2) - edge
                if u2 < 40.0:  # exp(−4 ln2 · 40) ≈ 1e−48: below double precision of the sum
                    v += gau0 * math.exp(-4.0 * _LN2 * u2)
                    if p != 0.0:
                        v *= 1.0 + p * 2.0 * u * math.exp(-u2)
                out[i, c] += a * v
            total += stop[k] - start[k]
        return total

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _nb_jacobian(x, centre, fwhm, eta, asym, amp, col, jcol, start, stop, window, max_half,
                     g_ptr, g_channel, g_param, g_value, out, jac):  # pragma: no cover
        # jac is (slot, parameter, point): the innermost loops run over contiguous points.
        # The chain factors come as a sparse list per peak: (channel, parameter, value).
        width = 0
        for k in range(centre.size):
            width = max(width, stop[k] - start[k])
        buf = np.empty((5, max(width, 1)))
        total = 0
        for k in range(centre.size):
            a = amp[k]
            h = max(fwhm[k], TINY_FWHM_DEG)
            inv_h = 1.0 / h
            e = eta[k]
            p = asym[k]
            capped = window * h > max_half
            edge, dedge_dh, dedge_de, area, darea_dh, darea_de = _nb_window_terms(
                min(window * h, max_half), h, e, capped)
            inv_area = 1.0 / area
            c = col[k]
            jc = jcol[k]
            c0 = centre[k]
            i0 = start[k]
            m = stop[k] - i0
            for t in range(m):
                i = i0 + t
                u = (x[i] - c0) * inv_h
                u2 = u * u
                den = 1.0 + 4.0 * u2
                lor = _LOR_NORM * inv_h / den
                if u2 < 40.0:
                    gau = _GAUSS_NORM * inv_h * math.exp(-4.0 * _LN2 * u2)
                    ez = math.exp(-u2)
                else:
                    gau = 0.0
                    ez = 0.0
                # windowed profile (pV − edge)/area and ∂/∂centre (= −∂/∂x), ∂/∂H, ∂/∂η
                val = (e * lor + (1.0 - e) * gau - edge) * inv_area
                dlor_dx = lor * (-8.0 * u * inv_h) / den
                dgau_dx = gau * (-8.0 * _LN2 * u * inv_h)
                dc = -(e * dlor_dx + (1.0 - e) * dgau_dx) * inv_area
                dh = (e * lor * (-1.0 + 8.0 * u2 / den) + (1.0 - e) * gau * (-1.0 + 8.0 * _LN2 * u2)) * inv_h
                dh = (dh - dedge_dh - val * darea_dh) * inv_area
                de = (lor - gau - dedge_de - val * darea_de) * inv_area
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
                buf[0, t] = dc
                buf[1, t] = dh
                buf[2, t] = de
                buf[3, t] = val
                buf[4, t] = da
            for q in range(g_ptr[k], g_ptr[k + 1]):
                ch = g_channel[q]
                gv = g_value[q]
                row = jac[jc, g_param[q]]
                for t in range(m):
                    row[i0 + t] += buf[ch, t] * gv
            total += m
        return total


def tch_widths(fwhm_gauss_deg: np.ndarray, fwhm_lorentz_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`xrdkit.profiles.tch_fwhm_eta` (the fields of ``TCHWidths`` as a tuple), compiled."""
    g = np.maximum(fwhm_gauss_deg, TINY_FWHM_DEG)
    lo = np.maximum(fwhm_lorentz_deg, 0.0)
    return _nb_tch_core(g, lo) if HAVE_NUMBA else tch_core(g, lo)


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
                               column, start, stop, float(window_fwhm), float(max_window_half_deg), out))
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
    jacobian : ndarray, shape (g, p, n)
        Accumulated in place (slot, parameter, point — contiguous in points):
        ``jacobian[jacobian_column[k], j, i] += Σ_c ∂profile_k/∂channel_c (x_i) · chain[k, c, j]``.
    jacobian_column : ndarray of int, shape (k,), optional
        Slot of each peak in ``jacobian``'s first axis (default 0: one combined Jacobian;
        ``column`` gives the Jacobian of every linear column separately).

    Other parameters and the return value are those of :func:`accumulate_columns`.
    """
    start, stop = _windows(two_theta_deg, centre_deg, fwhm_deg, window_fwhm, max_window_half_deg)
    jcol = np.zeros(centre_deg.size, dtype=np.intp) if jacobian_column is None else jacobian_column
    if HAVE_NUMBA:
        kk, ch, par = np.nonzero(chain)  # C order: sorted by peak
        ptr = np.searchsorted(kk, np.arange(centre_deg.size + 1))
        return int(_nb_jacobian(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude,
                                column, jcol, start, stop, float(window_fwhm), float(max_window_half_deg),
                                ptr, ch, par, chain[kk, ch, par], out, jacobian))
    pm = peak_matrices(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan=asymmetry_over_tan,
                       window_fwhm=window_fwhm, max_window_half_deg=max_window_half_deg, derivatives=True)
    k = centre_deg.size
    cmat = np.zeros((k, out.shape[1]))
    cmat[np.arange(k), column] = amplitude
    out += pm.combine({"value": cmat})
    for slot in np.unique(jcol):
        ch = np.where((jcol == slot)[:, None, None], chain, 0.0)
        jacobian[slot] += pm.combine({"d_centre": ch[:, 0], "d_fwhm": ch[:, 1], "d_eta": ch[:, 2],
                                            "value": ch[:, 3], "d_asymmetry": ch[:, 4]}).T
    return pm.n_evaluated
