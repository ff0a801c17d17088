"""Open-circuit voltage of the NaCrO2 working electrode (constructed, not measured).

``x`` is the depth of discharge as a fraction of the practical capacity window: x → 0 is the
charged state (≈ Na0.5CrO2), x → 1 the discharged NaCrO2.  The curve is

    U(x) = U_mid − s (x − ½) − g ln(x / (1 − x))        (volts vs Na⁺/Na)

with U_mid = 2.95 V, s = 0.30 V, g = 0.06 V.  It is **constructed**: a smooth, monotonic curve
with the qualitative shape of NaCrO2 discharge curves (a sloping plateau near 2.9–3.0 V vs Na that
falls off steeply at both ends; Komaba et al., Electrochem. Commun. 12 (2010) 355,
doi:10.1016/j.elecom.2009.12.033), not a fit to measured data.  Its mean over the window (2.95 V)
sets the full-cell voltage, and its slope sets how an ohmic drop converts into lost capacity —
both are assumptions of the rate model.  The same function is used by the analytic model and the
PyBaMM backend, so the two agree on thermodynamics by construction.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["OCV_MID_V", "OCV_SLOPE_V", "OCV_LOG_V", "ocv_nacro2", "inverse_ocv_nacro2",
           "mean_ocv_nacro2", "mean_ocv_nacro2_closed_form"]

#: Mid-window potential (V vs Na) — constructed.
OCV_MID_V = 2.95
#: Linear slope across the window (V) — constructed.
OCV_SLOPE_V = 0.30
#: Amplitude of the logarithmic end terms (V) — constructed.
OCV_LOG_V = 0.06
#: Bisection iterations of the inverse (2⁻⁶⁰ relative resolution in x).
_BISECTION_STEPS = 60
#: Newton iterations (converges in ~5) and step tolerance in the logit.
_NEWTON_STEPS = 50
_NEWTON_TOL = 1e-12
#: Smallest x used (avoid log(0)).
_X_EPS = 1e-12


Ocv = float | np.ndarray
"""An OCV parameter: a float or an array broadcastable against the voltages/depths."""


def ocv_nacro2(x: np.ndarray | float, mid_V: Ocv = OCV_MID_V, slope_V: Ocv = OCV_SLOPE_V,
               log_V: Ocv = OCV_LOG_V) -> np.ndarray:
    """Open-circuit voltage (V vs Na⁺/Na) at depth of discharge ``x`` in (0, 1); decreasing in x.

    ``mid_V``, ``slope_V`` and ``log_V`` (U_mid, s, g) default to the constructed curve; arrays
    broadcast against ``x`` (the Monte Carlo of :mod:`xrdkit.cell.uncertainty` varies them).

    Parameters
    ----------
    x : float or ndarray
        Depth of discharge, fraction of the practical window (clipped to [1e-12, 1 − 1e-12]).
    mid_V, slope_V, log_V : float or ndarray
        U_mid, s and g of the curve (V); default the constructed 2.95, 0.30 and 0.06 V.

    Returns
    -------
    ndarray
        U(x) in V vs Na⁺/Na, in the broadcast shape of the inputs.

    Examples
    --------
    U(½) = U_mid, and U(0.1) = U_mid + 0.4 s + g ln 9 by the formula:

    >>> import math
    >>> from xrdkit.cell.ocv import ocv_nacro2
    >>> [round(float(u), 4) for u in ocv_nacro2([0.1, 0.5, 0.9])]                    # V
    [3.2018, 2.95, 2.6982]
    >>> round(2.95 + 0.4 * 0.30 + 0.06 * math.log(9.0), 4)
    3.2018
    >>> ocv_nacro2(0.5, mid_V=[2.9, 3.0])          # parameters broadcast (Monte Carlo draws)
    array([2.9, 3. ])
    """
    xx = np.clip(np.asarray(x, dtype=float), _X_EPS, 1.0 - _X_EPS)
    return mid_V - slope_V * (xx - 0.5) - log_V * np.log(xx / (1.0 - xx))


def inverse_ocv_nacro2(voltage_V: np.ndarray | float, mid_V: Ocv = OCV_MID_V,
                       slope_V: Ocv = OCV_SLOPE_V, log_V: Ocv = OCV_LOG_V) -> np.ndarray:
    """Depth of discharge x at which U(x) = ``voltage_V`` (vectorised; clipped to [0, 1]).

    Newton's method in the logit y = ln(x/(1 − x)), where U is smooth and strictly decreasing
    with slope between −g − s/4 and −g; bisection in x is the fallback if Newton has not
    converged (it always has in the tests).  The curve parameters broadcast like
    :func:`ocv_nacro2`'s.

    Parameters
    ----------
    voltage_V : float or ndarray
        Open-circuit voltage (V vs Na⁺/Na).
    mid_V, slope_V, log_V : float or ndarray
        Curve parameters as in :func:`ocv_nacro2`.

    Returns
    -------
    ndarray
        Depth of discharge x in [0, 1], in the broadcast shape of the inputs.

    Examples
    --------
    The rest state at the paper's upper voltage (3.35 V) and the cut-off (2.10 V); the
    round trip returns the voltage:

    >>> from xrdkit.cell.ocv import inverse_ocv_nacro2, ocv_nacro2
    >>> x = inverse_ocv_nacro2([3.35, 2.95, 2.10])
    >>> [round(float(v), 5) for v in x]
    [0.01423, 0.5, 0.99999]
    >>> [round(float(u), 12) for u in ocv_nacro2(x)]                                  # V
    [3.35, 2.95, 2.1]
    """
    v = np.asarray(voltage_V, dtype=float)
    mid, slope, log = (np.asarray(a, dtype=float) for a in (mid_V, slope_V, log_V))
    y = (mid - v) / log  # root of the log term alone: a close start
    for _ in range(_NEWTON_STEPS):
        x = expit(y)
        f = mid - slope * (x - 0.5) - log * y - v
        step = f / (slope * x * (1.0 - x) + log)
        y = y + step
        if np.all(np.abs(step) < _NEWTON_TOL):
            return np.clip(expit(y), 0.0, 1.0)
    return _inverse_by_bisection(np.broadcast_to(v, y.shape), mid, slope, log)  # pragma: no cover


def _inverse_by_bisection(v: np.ndarray, mid: np.ndarray, slope: np.ndarray,
                          log: np.ndarray) -> np.ndarray:  # pragma: no cover - fallback
    lo = np.zeros_like(v)
    hi = np.ones_like(v)
    for _ in range(_BISECTION_STEPS):
        half = 0.5 * (lo + hi)
        above = ocv_nacro2(half, mid, slope, log) > v  # U decreasing: root right of half
        lo = np.where(above, half, lo)
        hi = np.where(above, hi, half)
    return 0.5 * (lo + hi)


def mean_ocv_nacro2(x_start: float, x_end: float, n: int = 2001, mid_V: float = OCV_MID_V,
                    slope_V: float = OCV_SLOPE_V, log_V: float = OCV_LOG_V) -> float:
    """Mean OCV (V) between depths of discharge ``x_start`` and ``x_end`` (trapezoidal rule).

    Parameters
    ----------
    x_start, x_end : float
        Depths of discharge (x_end ≠ x_start).
    n : int
        Points of the trapezoidal rule.
    mid_V, slope_V, log_V : float
        Curve parameters as in :func:`ocv_nacro2`.

    Returns
    -------
    float
        (1/(x_end − x_start)) ∫ U dx, V vs Na⁺/Na.

    Examples
    --------
    U − U_mid is odd about x = ½, so any window symmetric about ½ averages to U_mid; over the
    paper's window 3.35 → 2.10 V it agrees with the exact :func:`mean_ocv_nacro2_closed_form`
    to 1e-4 V:

    >>> from xrdkit.cell.ocv import inverse_ocv_nacro2, mean_ocv_nacro2, mean_ocv_nacro2_closed_form
    >>> round(mean_ocv_nacro2(0.2, 0.8), 10)                                           # V
    2.95
    >>> x0, x1 = (float(x) for x in inverse_ocv_nacro2([3.35, 2.10]))
    >>> round(mean_ocv_nacro2(x0, x1), 4), round(float(mean_ocv_nacro2_closed_form(x0, x1)), 4)
    (2.9433, 2.9433)
    """
    xs = np.linspace(x_start, x_end, n)
    return float(np.trapezoid(ocv_nacro2(xs, mid_V, slope_V, log_V), xs) / (x_end - x_start))


def mean_ocv_nacro2_closed_form(x_start: np.ndarray | float, x_end: np.ndarray | float,
                                mid_V: Ocv = OCV_MID_V, slope_V: Ocv = OCV_SLOPE_V,
                                log_V: Ocv = OCV_LOG_V) -> np.ndarray:
    """Mean OCV between two depths of discharge, exact and vectorised.

    ∫ ln(x/(1 − x)) dx = x ln x + (1 − x) ln(1 − x), so the mean of U over [x_a, x_b] is
    U_mid − s((x_a + x_b)/2 − ½) − g [F(x_b) − F(x_a)]/(x_b − x_a).  For x_b → x_a it is U(x_a).

    Parameters
    ----------
    x_start, x_end : float or ndarray
        Depths of discharge (clipped to [1e-12, 1 − 1e-12]).
    mid_V, slope_V, log_V : float or ndarray
        Curve parameters as in :func:`ocv_nacro2`.

    Returns
    -------
    ndarray
        Mean OCV (V vs Na⁺/Na), in the broadcast shape of the inputs.

    Examples
    --------
    A window symmetric about ½ averages to U_mid; a zero-width window gives U itself:

    >>> from xrdkit.cell.ocv import mean_ocv_nacro2_closed_form, ocv_nacro2
    >>> mean_ocv_nacro2_closed_form([0.2, 0.1], [0.8, 0.1]).round(4).tolist()          # V
    [2.95, 3.2018]
    >>> float(mean_ocv_nacro2_closed_form(0.1, 0.1)) == float(ocv_nacro2(0.1))
    True
    """
    xa = np.clip(np.asarray(x_start, dtype=float), _X_EPS, 1.0 - _X_EPS)
    xb = np.clip(np.asarray(x_end, dtype=float), _X_EPS, 1.0 - _X_EPS)

    def antiderivative(x: np.ndarray) -> np.ndarray:
        return x * np.log(x) + (1.0 - x) * np.log1p(-x)

    width = xb - xa
    safe = np.where(np.abs(width) > 1e-9, width, 1.0)
    log_mean = np.where(np.abs(width) > 1e-9,
                        (antiderivative(xb) - antiderivative(xa)) / safe,
                        np.log(xa / (1.0 - xa)))
    return mid_V - slope_V * (0.5 * (xa + xb) - 0.5) - log_V * log_mean
