"""Amorphous content: one broad hump, separated from a low-order background.

Infiltrated electrolyte that has not (yet) crystallised, carbon black, binder and glass scatter
into broad humps (FWHM of several degrees 2θ) that a flexible Chebyshev background would
otherwise absorb without a word. This module finds such a hump so that the whole-pattern fit
can carry it as its own non-negative component (:func:`xrdkit.refine.refine`'s
``extra_background``) and report the share of the scattered intensity it holds.

How the hump is found (:func:`estimate_hump`):

1. the Bragg peaks are found with SNIP (Ryan et al., *Nucl. Instrum. Methods B* 34 (1988) 396;
   through :mod:`pybaselines`) with a clipping window of :data:`SNIP_HALF_WINDOW_DEG` — wider
   than any crystalline peak the fit accepts, narrower than a hump (FWHM ≥ 3°): points well
   above the envelope, and their tails, are left out;
2. the counts between the peaks (or, after a first whole-pattern fit, the observed counts minus
   the fitted Bragg intensity) are fitted with a low-order background — Chebyshev of degree
   :data:`ENVELOPE_BACKGROUND_DEGREE` and an exponential decaying from the low-angle end with a
   fitted length, free sign — plus one Gaussian hump of non-negative
   area whose FWHM is bounded to :data:`HUMP_FWHM_BOUNDS_DEG` and whose centre stays
   :data:`HUMP_EDGE_MARGIN_DEG` inside the scan (a hump at an edge is indistinguishable from
   a background slope); starts on a grid of centres and widths, the best polished by bounded
   least squares;
3. the hump is kept when its area is significant and it lowers χ² decisively
   (:data:`HUMP_MIN_SIGNIFICANCE`, :data:`HUMP_MIN_DELTA_CHI2_REL`) — otherwise there is no hump
   and the share is 0.

The whole-pattern fit then refits the hump's area together with the phases and the
background; its shape (centre, FWHM) stays as found here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev
from scipy.optimize import least_squares, minimize_scalar

__all__ = ["Hump", "estimate_hump", "refit_hump", "hump_profile"]

log = logging.getLogger(__name__)

#: SNIP clipping half-window (deg 2θ): removes crystalline peaks (≤ ~1° wide at the base), keeps humps.
SNIP_HALF_WINDOW_DEG = 0.6
#: Bounds of the hump's FWHM (deg 2θ): broader than any crystalline peak, narrower than a background trend.
HUMP_FWHM_BOUNDS_DEG = (3.0, 15.0)
#: The hump's centre stays this far inside the scan (deg 2θ).
HUMP_EDGE_MARGIN_DEG = 3.0
#: Degree of the Chebyshev background under the hump in the envelope fit.
ENVELOPE_BACKGROUND_DEGREE = 3
#: A hump is kept when it lowers the envelope χ² by more than this fraction of the no-hump χ²…
HUMP_MIN_DELTA_CHI2_REL = 0.002
#: …and its area is at least this many σ (covariance scaled by χ²_ν and the Bérar–Lelann factor).
HUMP_MIN_SIGNIFICANCE = 5.0
#: Bounds of the decay length (deg 2θ) of the exponential from the low-angle end (fitted).
DECAY_BOUNDS_DEG = (1.0, 40.0)
#: Starting grid of the hump search.
_START_FWHM_DEG = (4.0, 7.0, 11.0)
_START_STEP_DEG = 2.0
#: Most points the background and hump are fitted on (decimated evenly; keeps the search cheap).
_ENVELOPE_POINTS = 1000
#: Points this many Poisson σ above the SNIP envelope are Bragg peaks (left out of the hump fit)…
PEAK_MASK_SIGMA = 3.0
#: With a fit given, points where its Bragg intensity exceeds this many σ are left out as well.
FITTED_PEAK_MASK_SIGMA = 1.0
#: …together with this margin on each side (deg 2θ): the peak tails.
PEAK_MASK_GROW_DEG = 0.3


@dataclass(frozen=True)
class Hump:
    """A broad Gaussian hump found in a scan's background envelope.

    Attributes
    ----------
    centre_deg, fwhm_deg : float
        Position and FWHM (deg 2θ).
    area_counts_deg : float
        Area in the envelope fit (counts·deg); the whole-pattern fit refits it.
    delta_chi2_rel : float
        Fractional drop of the envelope χ² the hump brings.
    scattered_area_counts_deg : float
        Area of the counts above the low-order background under the hump (hump + Bragg
        peaks), counts·deg; NaN when unknown.
    decay_deg : float
        Decay length (deg 2θ) of the low-angle exponential of the background under the hump;
        NaN when unknown.

    Examples
    --------
    Found by :func:`estimate_hump`; by hand, a hump holding 2000 of 5000 counts·deg above the
    background:

    >>> import numpy as np
    >>> from xrdkit.amorphous import Hump
    >>> hump = Hump(centre_deg=25.0, fwhm_deg=8.0, area_counts_deg=2000.0, delta_chi2_rel=0.3,
    ...             scattered_area_counts_deg=5000.0)
    >>> hump.intensity_share
    0.4
    >>> x = np.linspace(10.0, 40.0, 3001)
    >>> round(float(np.trapezoid(hump.profile(x), x)), 4)     # unit area, 1/deg × deg
    1.0
    """

    centre_deg: float
    fwhm_deg: float
    area_counts_deg: float
    delta_chi2_rel: float
    #: Area of the counts above the low-order background under the hump (hump + Bragg peaks).
    scattered_area_counts_deg: float = float("nan")
    #: Decay length (deg 2θ) of the low-angle exponential of the background under the hump.
    decay_deg: float = float("nan")

    @property
    def intensity_share(self) -> float:
        """The hump's share (0–1) of the intensity above the background."""
        if not self.scattered_area_counts_deg > 0:
            return 0.0
        return float(min(max(self.area_counts_deg / self.scattered_area_counts_deg, 0.0), 1.0))

    def profile(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """Unit-area profile of this hump on ``two_theta_deg`` (1/deg)."""
        return hump_profile(two_theta_deg, self.centre_deg, self.fwhm_deg)


def hump_profile(two_theta_deg: np.ndarray, centre_deg: float, fwhm_deg: float) -> np.ndarray:
    """Unit-area Gaussian of FWHM ``fwhm_deg`` at ``centre_deg`` (1/deg).

    Parameters
    ----------
    two_theta_deg : array_like
        2θ, degrees.
    centre_deg, fwhm_deg : float
        Centre and full width at half maximum, degrees 2θ.

    Returns
    -------
    ndarray
        The profile, 1/deg.

    Examples
    --------
    The peak height of a unit-area Gaussian is 2√(ln2/π)/FWHM:

    >>> import math
    >>> import numpy as np
    >>> from xrdkit.amorphous import hump_profile
    >>> peak = float(hump_profile(np.array([25.0]), 25.0, 8.0)[0])
    >>> math.isclose(peak, 2 * math.sqrt(math.log(2) / math.pi) / 8.0)
    True
    >>> round(float(hump_profile(np.array([29.0]), 25.0, 8.0)[0]) / peak, 6)  # half maximum at ±FWHM/2
    0.5
    """
    x = np.asarray(two_theta_deg, dtype=float)
    s = fwhm_deg / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return np.exp(-0.5 * ((x - centre_deg) / s) ** 2) / (s * math.sqrt(2.0 * math.pi))


def _envelope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SNIP background envelope of ``y`` (Bragg peaks clipped away)."""
    from pybaselines import Baseline

    step = float(np.median(np.diff(x)))
    half = max(int(round(SNIP_HALF_WINDOW_DEG / step)), 2)
    half = min(half, max((x.size - 1) // 2, 2))
    env, _ = Baseline(x_data=x).snip(y, max_half_window=half, decreasing=True, smooth_half_window=max(half // 4, 1))
    return np.minimum(env, y.max())


def _between_peaks(x: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Indices of the points outside ``peak`` widened by :data:`PEAK_MASK_GROW_DEG` on each side."""
    grow = max(int(round(PEAK_MASK_GROW_DEG / float(np.median(np.diff(x))))), 1)
    widened = np.convolve(peak.astype(float), np.ones(2 * grow + 1), mode="same") > 0
    return np.nonzero(~widened)[0]


def _lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares for a few well-scaled columns by the normal equations (lstsq on failure)."""
    try:
        return np.linalg.solve(a.T @ a, a.T @ b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, b, rcond=None)[0]


def _fit_envelope(basis: np.ndarray, env: np.ndarray, w: np.ndarray, x: np.ndarray,
                  centre: float, fwhm: float) -> tuple[float, np.ndarray, float, np.ndarray]:
    """Weighted fit env ≈ basis·c + A·G(centre, fwhm) with A ≥ 0 (c free): (χ², c, A, weighted residual)."""
    g = hump_profile(x, centre, fwhm)
    a = np.column_stack([basis, g]) * w[:, None]
    b = env * w
    coef = _lstsq(a, b)
    if coef[-1] < 0:  # the hump must add intensity: refit without it
        coef = np.append(_lstsq(a[:, :-1], b), 0.0)
    r = a @ coef - b
    return float(r @ r), coef[:-1], float(coef[-1]), r


class _Background:
    """Low-order background under a hump on fixed points ``x`` of a scan spanning [lo, hi]:
    Chebyshev to :data:`ENVELOPE_BACKGROUND_DEGREE` plus an exponential decaying from the low-angle
    end (air scatter, the beam spill a lab scan starts with); the Chebyshev part is built once."""

    def __init__(self, x: np.ndarray, lo: float, hi: float) -> None:
        self.x, self.lo = x, lo
        self.cheb = chebyshev.chebvander((2.0 * x - (lo + hi)) / (hi - lo), ENVELOPE_BACKGROUND_DEGREE)

    def basis(self, decay_deg: float) -> np.ndarray:
        return np.hstack([self.cheb, np.exp(-(self.x - self.lo) / decay_deg)[:, None]])


def estimate_hump(two_theta_deg: np.ndarray, counts: np.ndarray, *,
                  crystalline: np.ndarray | None = None, start: Hump | None = None,
                  exclude_two_theta_deg: np.ndarray | None = None, exclude_half_width_deg: float = 0.5) -> Hump | None:
    """Find the broad amorphous hump of a scan, if there is one.

    Parameters
    ----------
    two_theta_deg : ndarray, shape (n,)
        Increasing 2θ grid (deg).
    counts : ndarray, shape (n,)
        Observed counts.
    crystalline : ndarray, shape (n,), optional
        Fitted Bragg intensity of a whole-pattern fit: when given, the hump is sought in
        ``counts − crystalline`` (peaks no phase of the fit explains are still left out).
    start : Hump, optional
        Start of the search (e.g. the previous scan's hump in a series): the grid of starts
        is skipped.
    exclude_two_theta_deg : ndarray, optional
        With ``crystalline``: positions of peaks the fit left (residual peaks), left out
        ±``exclude_half_width_deg``. With a fit given, no SNIP envelope is used (it clips the
        top of a large hump); without one, SNIP marks the peaks.

    Returns
    -------
    Hump or None
        None when the scan is too short for a hump between its margins, or no hump is
        significant: its area must exceed :data:`HUMP_MIN_SIGNIFICANCE` σ (σ from the fit's
        covariance, scaled by the reduced χ² and the residuals' serial correlation) and lower
        χ² by :data:`HUMP_MIN_DELTA_CHI2_REL` of the hump-free fit.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(10, 70, 3001)
    >>> y = 100 + 2000 * hump_profile(x, 25.0, 8.0)
    >>> h = estimate_hump(x, y)
    >>> round(h.centre_deg), round(h.fwhm_deg)
    (25, 8)
    """
    from xrdkit.refine import serial_correlation

    x = np.asarray(two_theta_deg, dtype=float)
    y = np.asarray(counts, dtype=float)
    lo_c, hi_c = x[0] + HUMP_EDGE_MARGIN_DEG, x[-1] - HUMP_EDGE_MARGIN_DEG
    if hi_c <= lo_c or x.size < 50:
        return None
    # the SNIP envelope only marks the Bragg peaks (those a fit left, too: phases nobody named):
    # the hump is fitted to the counts between them, with their Poisson noise (the envelope
    # itself is smooth, so χ² on it means nothing)
    data = y if crystalline is None else y - np.asarray(crystalline, dtype=float)
    if crystalline is None:
        env_full = _envelope(x, data)
        peak = (data - env_full) > PEAK_MASK_SIGMA * np.sqrt(np.maximum(y, 1.0))
    else:
        # where the fitted Bragg intensity is more than the noise, its misfit (either sign) is too;
        # peaks the fit left are named by the caller
        peak = np.asarray(crystalline, dtype=float) > FITTED_PEAK_MASK_SIGMA * np.sqrt(np.maximum(y, 1.0))
        for t in np.atleast_1d(exclude_two_theta_deg) if exclude_two_theta_deg is not None else ():
            peak |= np.abs(x - t) <= exclude_half_width_deg
    free = _between_peaks(x, peak)
    if free.size < 50:
        return None
    take = free[np.unique(np.linspace(0, free.size - 1, min(_ENVELOPE_POINTS, free.size)).round().astype(int))]
    xe, env = x[take], data[take]
    w = 1.0 / np.sqrt(np.maximum(y[take], 1.0))  # Poisson σ of the counts
    lo, hi = float(x[0]), float(x[-1])
    bgx = _Background(xe, lo, hi)

    def chi2_none_at(decay: float) -> float:
        basis = bgx.basis(decay)
        c_bg = _lstsq(basis * w[:, None], env * w)
        r0 = (basis @ c_bg - env) * w
        return float(r0 @ r0)

    # the hump-free background first, its decay length fitted (bounded scalar search; a start
    # from the previous scan of a series brings its decay length)
    if start is not None and np.isfinite(start.decay_deg):
        decay0 = float(np.clip(start.decay_deg, *DECAY_BOUNDS_DEG))
        chi2_none = chi2_none_at(decay0)
    else:
        fit0 = minimize_scalar(chi2_none_at, bounds=DECAY_BOUNDS_DEG, method="bounded", options={"xatol": 0.05})
        decay0 = float(fit0.x)
        chi2_none = float(fit0.fun)
    if chi2_none <= 0:
        return None
    basis0 = bgx.basis(decay0)
    if start is not None:
        best = (chi2_none, float(np.clip(start.centre_deg, lo_c, hi_c)),
                float(np.clip(start.fwhm_deg, *HUMP_FWHM_BOUNDS_DEG)))
    else:
        best = (chi2_none, None, None)
        for fwhm in _START_FWHM_DEG:
            for centre in np.arange(lo_c, hi_c + 1e-9, _START_STEP_DEG):
                chi2, _, area, _ = _fit_envelope(basis0, env, w, xe, float(centre), fwhm)
                if area > 0 and chi2 < best[0]:
                    best = (chi2, float(centre), fwhm)
        if best[1] is None:
            return None

    def resid(p: np.ndarray) -> np.ndarray:
        return _fit_envelope(bgx.basis(float(p[2])), env, w, xe, float(p[0]), float(p[1]))[3]

    fit = least_squares(resid, [best[1], best[2], decay0],
                        bounds=([lo_c, HUMP_FWHM_BOUNDS_DEG[0], DECAY_BOUNDS_DEG[0]],
                                [hi_c, HUMP_FWHM_BOUNDS_DEG[1], DECAY_BOUNDS_DEG[1]]))
    centre, fwhm, decay = (float(v) for v in fit.x)
    # the test uses every point between the peaks (the search only an even subset)
    xe, env = x[free], data[free]
    w = 1.0 / np.sqrt(np.maximum(y[free], 1.0))
    bgx = _Background(xe, lo, hi)
    chi2_none = chi2_none_at(decay)
    basis = bgx.basis(decay)
    chi2, _, area, r = _fit_envelope(basis, env, w, xe, centre, fwhm)
    drop = (chi2_none - chi2) / chi2_none
    if area <= 0:
        return None
    # σ of the area at fixed shape: linear least squares with the residuals' own scale
    a = np.column_stack([basis, hump_profile(xe, centre, fwhm)]) * w[:, None]
    _, gamma = serial_correlation(r)
    redchi = chi2 / max(xe.size - a.shape[1] - 2, 1)
    try:
        cov = np.linalg.inv(a.T @ a) * redchi * gamma
        sig_area = float(np.sqrt(max(cov[-1, -1], 0.0)))
    except np.linalg.LinAlgError:
        return None
    z = area / sig_area if sig_area > 0 else np.inf
    log.debug("hump search: centre %.2f°, FWHM %.2f°, area %.4g (%.1fσ), χ² drop %.3f", centre, fwhm, area, z, drop)
    if z < HUMP_MIN_SIGNIFICANCE or drop < HUMP_MIN_DELTA_CHI2_REL:
        return None
    coef = _lstsq(a, env * w)
    low_order = _Background(x, lo, hi).basis(decay) @ coef[:-1]
    scattered = float(np.trapezoid(y - low_order, x))
    return Hump(centre, fwhm, area, drop, scattered, decay)


def refit_hump(hump: Hump, two_theta_deg: np.ndarray, counts: np.ndarray, crystalline: np.ndarray) -> Hump | None:
    """The same hump shape (centre, FWHM, background decay length) with its area and the low-order
    background refitted linearly to ``counts − crystalline`` between the fitted peaks.

    The cheap step of a series: the shape changes slowly from scan to scan and is searched
    again only every few scans (:func:`estimate_hump`).

    Parameters
    ----------
    hump : Hump
        Shape to keep (from a previous scan).
    two_theta_deg, counts, crystalline : ndarray, shape (n,)
        As in :func:`estimate_hump`.

    Returns
    -------
    Hump or None
        None when the refitted area is not positive.

    Examples
    --------
    The next scan of a series: the hump lost a quarter of its area (2000 → 1500 counts·deg)
    next to a fitted Bragg peak at 40°:

    >>> import numpy as np
    >>> from xrdkit.amorphous import Hump, hump_profile, refit_hump
    >>> x = np.linspace(10.0, 70.0, 3001)
    >>> bragg = 3000.0 * hump_profile(x, 40.0, 0.15)        # the whole-pattern fit's peaks
    >>> counts = 100.0 + 1500.0 * hump_profile(x, 25.0, 8.0) + bragg
    >>> previous = Hump(25.0, 8.0, 2000.0, 0.3, 5000.0, 40.0)
    >>> now = refit_hump(previous, x, counts, bragg)
    >>> round(now.area_counts_deg), round(now.scattered_area_counts_deg), round(now.intensity_share, 3)
    (1500, 4500, 0.333)
    """
    x = np.asarray(two_theta_deg, dtype=float)
    y = np.asarray(counts, dtype=float)
    cryst = np.asarray(crystalline, dtype=float)
    decay = hump.decay_deg if np.isfinite(hump.decay_deg) else float(np.mean(DECAY_BOUNDS_DEG))
    sig = np.sqrt(np.maximum(y, 1.0))
    free = _between_peaks(x, cryst > FITTED_PEAK_MASK_SIGMA * sig)
    if free.size < 50:
        return None
    lo, hi = float(x[0]), float(x[-1])
    basis = _Background(x[free], lo, hi).basis(decay)
    w = 1.0 / sig[free]
    chi2, coef, area, _ = _fit_envelope(basis, (y - cryst)[free], w, x[free], hump.centre_deg, hump.fwhm_deg)
    if area <= 0:
        return None
    low_order = _Background(x, lo, hi).basis(decay) @ coef
    scattered = float(np.trapezoid(y - low_order, x))
    return Hump(hump.centre_deg, hump.fwhm_deg, area, hump.delta_chi2_rel, scattered, decay)

