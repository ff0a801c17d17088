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
    """Mean OCV (V) between depths of discharge ``x_start`` and ``x_end`` (trapezoidal rule)."""
    xs = np.linspace(x_start, x_end, n)
    return float(np.trapezoid(ocv_nacro2(xs, mid_V, slope_V, log_V), xs) / (x_end - x_start))


def mean_ocv_nacro2_closed_form(x_start: np.ndarray | float, x_end: np.ndarray | float,
                                mid_V: Ocv = OCV_MID_V, slope_V: Ocv = OCV_SLOPE_V,
                                log_V: Ocv = OCV_LOG_V) -> np.ndarray:
    """Mean OCV between two depths of discharge, exact and vectorised.

    ∫ ln(x/(1 − x)) dx = x ln x + (1 − x) ln(1 − x), so the mean of U over [x_a, x_b] is
    U_mid − s((x_a + x_b)/2 − ½) − g [F(x_b) − F(x_a)]/(x_b − x_a).
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
