"""Compiled inner loops of the pattern model (numba), with a plain-numpy fallback.

Two kernels accumulate many windowed TCH pseudo-Voigt peaks on a sorted 2θ grid in
one pass over the (peak, point) pairs:

- :func:`accumulate_columns` — Σ amplitude·profile into the linear columns of the model;
- :func:`accumulate_jacobian` — the same plus ∂/∂θ of Σ (coefficient·amplitude·profile)
  for the nonlinear parameters θ, from per-peak chain-rule factors.

numba is an optional accelerator (``pip install numba``; it is a dependency of
closokit, but the package stays correct without it): when it cannot be imported, or
``XRDKIT_NO_NUMBA=1`` is set, the same functions run on :func:`xrdkit.profiles.peak_matrices`
(sparse matrices, about 5–10× slower). :data:`xrdkit._jit.HAVE_NUMBA` tells which one is active.

The profile and its derivatives are those of :mod:`xrdkit.profiles` (pseudo-Voigt
with common FWHM, first Bérar–Baldinozzi asymmetry term); tests check the two paths
against each other.
"""

from __future__ import annotations

import math

import numpy as np

from xrdkit import _jit
from xrdkit._jit import numba
from xrdkit.instrument import lorentz_polarisation_terms
from xrdkit.profiles import TINY_FWHM_DEG, PeakMatrices, peak_matrices, tch_core, window_terms

__all__ = ["accumulate_columns", "accumulate_jacobian", "N_CHANNELS", "compute_peak_table", "peak_table"]

#: Per-peak derivative channels of the Jacobian kernel: ∂/∂centre, ∂/∂FWHM, ∂/∂η,
#: ∂ ln(amplitude) (multiplies the profile value) and ∂/∂(P/tanθ) (asymmetry) — the base
#: channels — and three derived ones, per-peak combinations of the base channels (``mix``):
#: ∂/∂(Bragg 2θ) (what a lattice parameter moves: centre, widths, η, LP, asymmetry),
#: ∂/∂H_G and ∂/∂H_L (the Gaussian and Lorentzian TCH widths, through FWHM and η). A
#: parameter acting through a derived channel needs one chain entry instead of two to five.
N_CHANNELS = 8
N_BASE_CHANNELS = 5

_LN2 = math.log(2.0)
_GAUSS_NORM = 2.0 * math.sqrt(_LN2 / math.pi)
_LOR_NORM = 2.0 / math.pi

def _windows(x: np.ndarray, centre: np.ndarray, fwhm: np.ndarray, window_fwhm: float,
             max_half_deg: float) -> tuple[np.ndarray, np.ndarray]:
    half = np.minimum(window_fwhm * fwhm, max_half_deg)
    return (np.searchsorted(x, centre - half, side="left"),
            np.searchsorted(x, centre + half, side="right"))


#: Most chain entries one peak can have (3 shifts + 2 × 6 lattice + 4 Gaussian + 3 Lorentzian
#: widths + B + March–Dollase + asymmetry).
_MAX_CHAIN_PER_PEAK = 32
_tch = tch_core  # replaced by their compiled versions below (peak_table resolves them at compile time)
_lp = lorentz_polarisation_terms
_win = _windows


def peak_table(q, dq, base, dln_md, pk_fam, pk_lam, pk_lam_w, pk_phase, pk_col, col_scale, x, margin, pol_a, pol_b,
               lat_par, theta, gi, st_idx, sz_idx, b_idx, md_idx, radius, min_hg, jpos, want_chain, window, max_half):
    """The peaks in range with their intensity, centre, TCH FWHM and η, asymmetry, profile window
    and (optionally) the sparse chain-rule list.

    Plain loops and array expressions only: compiled by numba when available, else run as
    Python (correct, slower). Per reflection family: ``q`` 1/d², ``dq`` (f, L) ∂(1/d²)/∂ of the
    phase's lattice parameters ``lat_par[phase]`` (key indices, −1 padded), ``base`` intensity
    before LP, ``dln_md`` ∂ln(March–Dollase)/∂ratio. Per peak (family × emission line):
    ``pk_fam``, ``pk_lam`` wavelength, ``pk_lam_w`` its weight, ``pk_phase``, ``pk_col`` linear
    column; ``col_scale`` per column (empty: 1) multiplies the chain entries (a combined
    Jacobian). A peak is in range when its Bragg 2θ lies within ``margin`` of the grid ``x``.
    LP is P/(sin²θ cosθ) with P = ``pol_a`` + ``pol_b``·cos²2θ. Then the full parameter vector
    ``theta`` with the key indices of the global fields ``gi`` and of the per-phase
    strain/size/B/March–Dollase, the goniometer radius, the Gaussian-FWHM floor, ``jpos`` (key
    index → Jacobian column or −1), and the profile window (``window`` FWHM, at most
    ``max_half`` degrees each side).

    A lattice parameter moves the Bragg angle, and with it the centre (through the
    displacement and transparency terms as well), both widths, η, the asymmetry term and the
    Lorentz–polarisation factor; and it changes the Debye–Waller factor through 1/d².

    Returns
    -------
    sel : ndarray of int (k,)
        The peaks in range (indices into the ``pk_*`` arrays).
    inten, centre, fwhm, eta, asym : ndarray (k,)
        Integrated intensity (with LP), profile centre, FWHM, η and P/tanθ.
    start, stop : ndarray of int (k,)
        Each peak's window on ``x``.
    mix : ndarray (k, 3, 5)
        Per peak, the derived channels 5–7 as combinations of the base channels 0–4.
    ptr, channel, column, value : ndarray
        Chain entries of peak i are ``ptr[i]:ptr[i+1]``: (channel, Jacobian column, value)
        (channels: see :data:`N_CHANNELS`).
    """
    rad2deg = 180.0 / np.pi
    # ---- peaks whose Bragg angle lies near the grid
    npk = pk_fam.size
    sel = np.empty(npk, dtype=np.int64)
    tt = np.empty(npk)
    k = 0
    lo, hi = x[0] - margin, x[-1] + margin
    for j in range(npk):
        s = pk_lam[j] * np.sqrt(q[pk_fam[j]]) / 2.0
        if s < 0.9999:
            t2 = 2.0 * rad2deg * np.arcsin(s)
            if lo < t2 < hi:
                sel[k] = j
                tt[k] = t2
                k += 1
    sel = sel[:k]
    tt = tt[:k]
    fam = pk_fam[sel]
    lam = pk_lam[sel]
    phase_of = pk_phase[sel]
    lp, dln_lp = _lp(tt, pol_a, pol_b)
    inten = pk_lam_w[sel] * base[fam] * lp
    height = inten * col_scale[pk_col[sel]] if col_scale.size else inten
    dth_dtt = np.pi / 360.0
    th = tt * dth_dtt
    cos_t = np.cos(th)
    tan_t = np.tan(th)
    sin_2t = np.sin(2.0 * th)
    zero, disp, pen = theta[gi[0]], theta[gi[1]], theta[gi[2]]
    u, v, w, xx, yy, asym_p = theta[gi[3]], theta[gi[4]], theta[gi[5]], theta[gi[6]], theta[gi[7]], theta[gi[8]]
    c_disp = -2.0 * rad2deg / radius
    c_pen = -rad2deg / (2.0 * radius)
    centre = tt + zero + c_disp * disp * cos_t + c_pen * pen * sin_2t
    strain = theta[st_idx][phase_of]
    size = theta[sz_idx][phase_of]
    tan2 = tan_t * tan_t
    hg2 = (u + strain) * tan2 + v * tan_t + w
    floor2 = min_hg * min_hg
    hg = np.sqrt(np.maximum(hg2, floor2))
    inv_cos = 1.0 / cos_t
    hl_raw = xx * tan_t + (yy + size) * inv_cos
    hl = np.maximum(hl_raw, 0.0)
    fwhm, eta, _g, _l, dh_dg, dh_dl, de_dg, de_dl = _tch(np.maximum(hg, TINY_FWHM_DEG), hl)
    asym = asym_p / tan_t
    start, stop = _win(x, centre, fwhm, window, max_half)
    ptr = np.zeros(k + 1, dtype=np.int64)
    cap = k * _MAX_CHAIN_PER_PEAK if want_chain else 0
    chs = np.empty(cap, dtype=np.int64)
    cols = np.empty(cap, dtype=np.int64)
    vals = np.empty(cap)
    mix = np.zeros((k if want_chain else 0, 3, 5))
    if not want_chain:
        return sel, inten, centre, fwhm, eta, asym, start, stop, mix, ptr, chs, cols, vals
    loc_ch = np.empty(_MAX_CHAIN_PER_PEAK, dtype=np.int64)
    loc_par = np.empty(_MAX_CHAIN_PER_PEAK, dtype=np.int64)
    loc_val = np.empty(_MAX_CHAIN_PER_PEAK)
    n = 0
    for i in range(k):
        p = phase_of[i]
        inv2hg = 0.0 if hg2[i] < floor2 else 0.5 / hg[i]  # no gradient through the floor
        live = 1.0 if hl_raw[i] > 0.0 else 0.0  # a negative Lorentzian width has none either
        d_u = tan2[i] * inv2hg
        d_y = inv_cos[i] * live
        m = 0
        # ∂centre: zero shift, displacement, transparency
        loc_ch[m], loc_par[m], loc_val[m] = 0, gi[0], 1.0
        m += 1
        loc_ch[m], loc_par[m], loc_val[m] = 0, gi[1], c_disp * cos_t[i]
        m += 1
        loc_ch[m], loc_par[m], loc_val[m] = 0, gi[2], c_pen * sin_2t[i]
        m += 1
        # lattice: through the Bragg angle (channel 5: per degree of 2θ it moves the centre, the
        # widths, η, LP and the asymmetry term) and through 1/d² in the Debye–Waller factor
        qi = q[fam[i]]
        dtt_dq = rad2deg * lam[i] / (2.0 * np.sqrt(qi) * cos_t[i])
        sec2 = inv_cos[i] * inv_cos[i]
        dhg = inv2hg * (2.0 * (u + strain[i]) * tan_t[i] + v) * sec2 * dth_dtt
        dhl = live * (xx * sec2 + (yy + size[i]) * tan_t[i] * inv_cos[i]) * dth_dtt
        mix[i, 0, 0] = 1.0 - (c_disp * disp * np.sin(th[i]) - 2.0 * c_pen * pen * np.cos(2.0 * th[i])) * dth_dtt
        mix[i, 0, 1] = dh_dg[i] * dhg + dh_dl[i] * dhl
        mix[i, 0, 2] = de_dg[i] * dhg + de_dl[i] * dhl
        mix[i, 0, 3] = dln_lp[i]
        mix[i, 0, 4] = -asym_p / (np.sin(th[i]) ** 2) * dth_dtt
        mix[i, 1, 1], mix[i, 1, 2] = dh_dg[i], de_dg[i]  # channel 6: ∂/∂H_G
        mix[i, 2, 1], mix[i, 2, 2] = dh_dl[i], de_dl[i]  # channel 7: ∂/∂H_L
        b_half = theta[b_idx[p]] / 2.0
        for ll in range(lat_par.shape[1]):
            par = lat_par[p, ll]
            if par >= 0:
                loc_ch[m], loc_par[m], loc_val[m] = 5, par, dtt_dq * dq[fam[i], ll]
                m += 1
                if b_half != 0.0:
                    loc_ch[m], loc_par[m], loc_val[m] = 3, par, -b_half * dq[fam[i], ll]
                    m += 1
        # the Gaussian (U, V, W, strain) and Lorentzian (X, Y, size) widths: channels 6 and 7
        for par, dg in ((gi[3], d_u), (gi[4], tan_t[i] * inv2hg), (gi[5], inv2hg), (st_idx[p], d_u)):
            loc_ch[m], loc_par[m], loc_val[m] = 6, par, dg
            m += 1
        for par, dl in ((gi[6], tan_t[i] * live), (gi[7], d_y), (sz_idx[p], d_y)):
            loc_ch[m], loc_par[m], loc_val[m] = 7, par, dl
            m += 1
        # ∂ln(height): B_iso and March–Dollase; asymmetry
        loc_ch[m], loc_par[m], loc_val[m] = 3, b_idx[p], -qi / 2.0
        m += 1
        loc_ch[m], loc_par[m], loc_val[m] = 3, md_idx[p], dln_md[fam[i]]
        m += 1
        loc_ch[m], loc_par[m], loc_val[m] = 4, gi[8], 1.0 / tan_t[i]
        m += 1
        for t in range(m):
            jp = jpos[loc_par[t]]
            if jp >= 0 and loc_val[t] != 0.0:
                chs[n] = loc_ch[t]
                cols[n] = jp
                vals[n] = loc_val[t] * height[i]
                n += 1
        ptr[i + 1] = n
    return sel, inten, centre, fwhm, eta, asym, start, stop, mix, ptr, chs[:n], cols[:n], vals[:n]


_peak_table = peak_table
#: LLVM may reassociate and contract (FMA) the kernels' sums and use approximate functions and
#: reciprocals — not assume finite values (a NaN must still reach χ²). Changes ≲ 1e-15 relative.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

if numba is not None:  # compiled versions (which path runs is decided per call: _jit.HAVE_NUMBA)
    _nb_window_terms = numba.njit(cache=True, nogil=True)(window_terms)
    _tch = numba.njit(cache=True, nogil=True)(tch_core)
    _lp = numba.njit(cache=True, nogil=True)(lorentz_polarisation_terms)
    _win = numba.njit(cache=True, nogil=True)(_windows)
    _peak_table = numba.njit(cache=True, nogil=True)(peak_table)

    @numba.njit(cache=True, fastmath=_FASTMATH, nogil=True)
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
            edge, _, _ = _nb_window_terms(min(window * h, max_half), h, e, capped)
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

    @numba.njit(cache=True, fastmath=_FASTMATH, nogil=True)
    def _nb_jacobian(x, centre, fwhm, eta, asym, amp, col, jcol, start, stop, window, max_half,
                     g_ptr, g_channel, g_param, g_value, mix, slot_of, out, jac):  # pragma: no cover
        # jac is (row, point), row = slot_of[jacobian column, parameter]: the innermost loops
        # run over contiguous points.
        # The chain factors come as a sparse list per peak: (channel, parameter, value); per
        # peak only the channels its entries use are stored.
        width = 0
        for k in range(centre.size):
            width = max(width, stop[k] - start[k])
        buf = np.empty((N_CHANNELS, max(width, 1)))
        b0, b1, b2, b3, b4, b5, b6, b7 = buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]
        used = np.zeros(N_CHANNELS, dtype=np.bool_)
        total = 0
        for k in range(centre.size):
            a = amp[k]
            h = max(fwhm[k], TINY_FWHM_DEG)
            inv_h = 1.0 / h
            e = eta[k]
            p = asym[k]
            capped = window * h > max_half
            edge, dedge_dh, dedge_de = _nb_window_terms(min(window * h, max_half), h, e, capped)
            c = col[k]
            jc = jcol[k]
            c0 = centre[k]
            i0 = start[k]
            m = stop[k] - i0
            used[:] = False
            for q in range(g_ptr[k], g_ptr[k + 1]):
                used[g_channel[q]] = True
            u_base = used[1] or used[2] or used[3] or used[4]
            u5, u6, u7 = used[5], used[6], used[7]
            m00, m01, m02, m03, m04 = mix[k, 0, 0], mix[k, 0, 1], mix[k, 0, 2], mix[k, 0, 3], mix[k, 0, 4]
            m10, m11, m12, m13, m14 = mix[k, 1, 0], mix[k, 1, 1], mix[k, 1, 2], mix[k, 1, 3], mix[k, 1, 4]
            m20, m21, m22, m23, m24 = mix[k, 2, 0], mix[k, 2, 1], mix[k, 2, 2], mix[k, 2, 3], mix[k, 2, 4]
            # exp(−u²) is needed for the asymmetry term and its channel only
            odd_needed = (p != 0.0 or used[4] or (u5 and m04 != 0.0) or (u6 and m14 != 0.0)
                          or (u7 and m24 != 0.0))
            lor_n = _LOR_NORM * inv_h
            gau_n = _GAUSS_NORM * inv_h
            for t in range(m):
                i = i0 + t
                u = (x[i] - c0) * inv_h
                u2 = u * u
                rden = 1.0 / (1.0 + 4.0 * u2)  # one division per point
                lor = lor_n * rden
                if u2 < 40.0:  # (and no exp of large negative arguments: glibc's slow path)
                    gau = gau_n * math.exp(-4.0 * _LN2 * u2)
                    ez = math.exp(-u2) if odd_needed else 0.0
                else:
                    gau = 0.0
                    ez = 0.0
                # windowed profile pV − edge and ∂/∂centre (= −∂/∂x), ∂/∂H, ∂/∂η
                val = e * lor + (1.0 - e) * gau - edge
                dc = (e * lor * 8.0 * rden + (1.0 - e) * gau * (8.0 * _LN2)) * u * inv_h
                dh = (e * lor * (-1.0 + 8.0 * u2 * rden) + (1.0 - e) * gau * (-1.0 + 8.0 * _LN2 * u2)) * inv_h
                dh = dh - dedge_dh
                de = lor - gau - dedge_de
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
                b0[t] = dc
                if u_base:
                    b1[t] = dh
                    b2[t] = de
                    b3[t] = val
                    b4[t] = da
                if u5:
                    b5[t] = m00 * dc + m01 * dh + m02 * de + m03 * val + m04 * da
                if u6:
                    b6[t] = m10 * dc + m11 * dh + m12 * de + m13 * val + m14 * da
                if u7:
                    b7[t] = m20 * dc + m21 * dh + m22 * de + m23 * val + m24 * da
            for q in range(g_ptr[k], g_ptr[k + 1]):
                bc = buf[g_channel[q]]
                gv = g_value[q]
                row = jac[slot_of[jc, g_param[q]]]
                for t in range(m):
                    row[i0 + t] += bc[t] * gv
            total += m
        return total


def compute_peak_table(*args):
    """:func:`peak_table`, compiled when numba is active (same arguments and results)."""
    return (_peak_table if _jit.HAVE_NUMBA else peak_table)(*args)


def _add_columns(pm: PeakMatrices, amplitude: np.ndarray, column: np.ndarray, out: np.ndarray) -> None:
    """numpy path: ``out[:, column[k]] += amplitude[k] · profile_k`` from sparse peak matrices."""
    cmat = np.zeros((amplitude.size, out.shape[1]))
    cmat[np.arange(amplitude.size), column] = amplitude
    out += pm.combine({"value": cmat})


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
    windows: tuple[np.ndarray, np.ndarray] | None = None,
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
    windows : (ndarray, ndarray), optional
        Those windows as index ranges ``start:stop`` on the grid, when already known
        (:func:`peak_table` returns them).

    Returns
    -------
    int
        Number of (peak, point) pairs evaluated.
    """
    start, stop = windows or _windows(two_theta_deg, centre_deg, fwhm_deg, window_fwhm, max_window_half_deg)
    if _jit.HAVE_NUMBA:
        return int(_nb_columns(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude,
                               column, start, stop, float(window_fwhm), float(max_window_half_deg), out))
    pm = peak_matrices(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan=asymmetry_over_tan,
                       window_fwhm=window_fwhm, max_window_half_deg=max_window_half_deg)
    _add_columns(pm, amplitude, column, out)
    return pm.n_evaluated


def accumulate_jacobian(
    two_theta_deg: np.ndarray,
    centre_deg: np.ndarray,
    fwhm_deg: np.ndarray,
    eta: np.ndarray,
    asymmetry_over_tan: np.ndarray,
    amplitude: np.ndarray,
    column: np.ndarray,
    chain: np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    out: np.ndarray,
    jacobian: np.ndarray,
    jacobian_column: np.ndarray | None = None,
    *,
    mix: np.ndarray | None = None,
    slot_of: np.ndarray | None = None,
    window_fwhm: float,
    max_window_half_deg: float,
    windows: tuple[np.ndarray, np.ndarray] | None = None,
) -> int:
    """Columns (as :func:`accumulate_columns`) and the Jacobian of the pattern.

    Parameters
    ----------
    chain : ndarray, shape (k, N_CHANNELS, p), or tuple
        Per peak, ∂(channel quantity)/∂θ_j times the peak's height (its amplitude, or
        amplitude × linear coefficient for a combined Jacobian), channels as in
        :data:`N_CHANNELS`. Either dense, or sparse as :func:`peak_table` returns it:
        ``(ptr, channel, column, value)``.
    jacobian : ndarray, shape (g, p, n) or (r, n)
        Accumulated in place (contiguous in points):
        ``jacobian[jacobian_column[k], j, i] += Σ_c ∂profile_k/∂channel_c (x_i) · chain[k, c, j]``;
        2-D with ``slot_of``: row ``slot_of[jacobian_column[k], j]`` instead (rows only for the
        pairs that can be nonzero).
    jacobian_column : ndarray of int, shape (k,), optional
        Slot of each peak in ``jacobian``'s first axis (default 0: one combined Jacobian;
        ``column`` gives the Jacobian of every linear column separately).
    mix : ndarray, shape (k, 3, 5), optional
        Per peak, the derived channels 5–7 as combinations of the base channels (as
        :func:`peak_table` returns them); default zero.
    slot_of : ndarray of int, shape (g, p), optional
        Row of ``jacobian`` (2-D) for each (slot, parameter) pair; required with a 2-D
        ``jacobian``, and every pair a chain entry reaches must have a row (≥ 0).

    Other parameters and the return value are those of :func:`accumulate_columns`.
    """
    start, stop = windows or _windows(two_theta_deg, centre_deg, fwhm_deg, window_fwhm, max_window_half_deg)
    jcol = np.zeros(centre_deg.size, dtype=np.intp) if jacobian_column is None else jacobian_column
    k = centre_deg.size
    if mix is None:
        mix = np.zeros((k, 3, N_BASE_CHANNELS))
    if jacobian.ndim == 3:
        g, p = jacobian.shape[:2]
        slot_of = np.arange(g * p, dtype=np.int64).reshape(g, p)
        jacobian = jacobian.reshape(g * p, -1)  # a view: filled in place
    elif slot_of is None:
        raise ValueError("a 2-D jacobian needs slot_of")
    slot_of = np.asarray(slot_of, dtype=np.int64)
    if _jit.HAVE_NUMBA:
        if isinstance(chain, tuple):
            ptr, ch, par, val = chain
        else:
            kk, ch, par = np.nonzero(chain)  # C order: sorted by peak
            ptr = np.searchsorted(kk, np.arange(k + 1))
            val = chain[kk, ch, par]
        return int(_nb_jacobian(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan, amplitude,
                                column, jcol, start, stop, float(window_fwhm), float(max_window_half_deg),
                                ptr, ch, par, val, mix, slot_of, out, jacobian))
    if isinstance(chain, tuple):
        ptr, ch, par, val = chain
        dense = np.zeros((k, N_CHANNELS, slot_of.shape[1]))
        np.add.at(dense, (np.repeat(np.arange(k), np.diff(ptr)), ch, par), val)
        chain = dense
    # fold the derived channels into the base ones: Σ_d chain[d] · mix[d] per peak
    chain = chain[:, :N_BASE_CHANNELS] + np.einsum("kdc,kdp->kcp", mix, chain[:, N_BASE_CHANNELS:])
    pm = peak_matrices(two_theta_deg, centre_deg, fwhm_deg, eta, asymmetry_over_tan=asymmetry_over_tan,
                       window_fwhm=window_fwhm, max_window_half_deg=max_window_half_deg, derivatives=True)
    _add_columns(pm, amplitude, column, out)
    for slot in np.unique(jcol):
        ch = np.where((jcol == slot)[:, None, None], chain, 0.0)
        contrib = pm.combine({"d_centre": ch[:, 0], "d_fwhm": ch[:, 1], "d_eta": ch[:, 2],
                              "value": ch[:, 3], "d_asymmetry": ch[:, 4]}).T
        rows = slot_of[slot]
        jacobian[rows[rows >= 0]] += contrib[rows >= 0]
    return pm.n_evaluated
