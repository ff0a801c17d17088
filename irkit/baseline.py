"""Baselines of IR spectra: pybaselines under one call, with robust defaults per region.

:func:`estimate_baseline` wraps any :class:`pybaselines.Baseline` method. For the Whittaker
family (``arpls``, ``asls``, ``airpls``, ``iarpls``, ``drpls`` …) the smoothness ``lam`` is set
from a *stiffness length* in cm⁻¹ rather than a bare number, so that the same setting means the
same thing at 0.5 and at 4 cm⁻¹ point spacing: ``lam = (stiffness_cm1 / step_cm1) ** 4``
(the second-difference penalty makes ``lam`` scale with the fourth power of the length over
which the baseline may bend).

The alternative that keeps the uncertainties honest — a low-order polynomial fitted *jointly*
with the bands — lives in :mod:`irkit.fit` (``baseline_degree``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from irkit.spectra import Spectrum, make_spectrum, to_absorbance
from xrdkit.errors import InputError

__all__ = ["BaselineResult", "RegionDefaults", "REGION_DEFAULTS", "estimate_baseline",
           "subtract_baseline"]

logger = logging.getLogger(__name__)

#: pybaselines methods whose smoothness is the Whittaker ``lam``.
WHITTAKER_METHODS = ("arpls", "asls", "airpls", "iarpls", "drpls", "iasls", "aspls", "psalsa",
                     "derpsalsa", "brpls", "lsrpls")


@dataclass(frozen=True)
class RegionDefaults:
    """Default baseline settings of a spectral region (:data:`REGION_DEFAULTS`).

    Attributes
    ----------
    low_cm1, high_cm1 : float
        The region, cm⁻¹.
    method : str
        pybaselines method (``arpls``).
    stiffness_cm1 : float
        Length over which the baseline may bend, cm⁻¹ (~3× the widest band FWHM of the region,
        so bands are not eaten); sets the Whittaker ``lam``.
    margin_cm1 : float
        How far the baseline window extends beyond the region on each side, cm⁻¹ (anchors it
        on band-free points).

    Examples
    --------
    >>> from irkit.baseline import REGION_DEFAULTS
    >>> REGION_DEFAULTS["stretch"]
    RegionDefaults(low_cm1=2350.0, high_cm1=2650.0, method='arpls', stiffness_cm1=150.0, margin_cm1=100.0)
    """

    low_cm1: float
    high_cm1: float
    method: str
    stiffness_cm1: float
    margin_cm1: float


#: Robust defaults per named region. The stiffness is ~3× the widest expected band FWHM of the
#: region (ν(B–H) envelope ~100 cm⁻¹ wide; bending bands ≤ 40 cm⁻¹) so bands are not eaten;
#: the margin extends the window so the baseline is anchored on band-free points at both ends.
REGION_DEFAULTS: dict[str, RegionDefaults] = {
    "stretch": RegionDefaults(2350.0, 2650.0, "arpls", 150.0, 100.0),
    "bend": RegionDefaults(600.0, 1200.0, "arpls", 80.0, 50.0),
    "full": RegionDefaults(0.0, float("inf"), "arpls", 150.0, 0.0),
}


@dataclass(frozen=True)
class BaselineResult:
    """A baseline on (part of) a spectrum.

    Attributes
    ----------
    wavenumber_cm1, baseline : ndarray, shape (n,)
        Axis and baseline values (same units as the absorbance).
    method : str
        pybaselines method name.
    settings : tuple of (str, object)
        Keyword arguments the method was called with.
    converged : bool or None
        Whether the iterative method met its tolerance (None if it reports nothing).
    iterations : int or None
        Iterations used (from pybaselines' ``tol_history``).

    Examples
    --------
    Returned by :func:`estimate_baseline`; the bending region 600–1200 cm⁻¹ with its 50 cm⁻¹
    margins:

    >>> from irkit.baseline import estimate_baseline
    >>> from irkit.synthetic import synthesize
    >>> est = estimate_baseline(synthesize(0).spectrum, region="bend")
    >>> est.method, float(est.wavenumber_cm1[0]), float(est.wavenumber_cm1[-1]), est.baseline.shape
    ('arpls', 550.0, 1250.0, (701,))
    >>> est.converged, dict(est.settings)           # lam = (80 cm⁻¹ / 1 cm⁻¹) ** 4
    (True, {'lam': 40960000.0})
    """

    wavenumber_cm1: np.ndarray
    baseline: np.ndarray
    method: str
    settings: tuple[tuple[str, Any], ...]
    converged: bool | None
    iterations: int | None


def _region(region: str | tuple[float, float] | None) -> tuple[float, float, RegionDefaults]:
    if region is None:
        d = REGION_DEFAULTS["full"]
        return d.low_cm1, d.high_cm1, d
    if isinstance(region, str):
        if region not in REGION_DEFAULTS:
            raise InputError(f"unknown region {region!r}; known: {sorted(REGION_DEFAULTS)}",
                             source="region")
        d = REGION_DEFAULTS[region]
        return d.low_cm1 - d.margin_cm1, d.high_cm1 + d.margin_cm1, d
    low, high = (float(v) for v in region)
    if not low < high:
        raise InputError(f"region must be (low, high) with low < high, got {region}",
                         source="region")
    return low, high, REGION_DEFAULTS["full"]


def estimate_baseline(
    spectrum: Spectrum,
    method: str | None = None,
    *,
    region: str | tuple[float, float] | None = None,
    stiffness_cm1: float | None = None,
    **kw: Any,
) -> BaselineResult:
    """Estimate the baseline of an absorbance spectrum with a pybaselines method.

    Parameters
    ----------
    spectrum : Spectrum
        Transmittance is converted to absorbance first.
    method : str, optional
        Any :class:`pybaselines.Baseline` method (default: the region's, ``arpls``).
    region : str or (float, float), optional
        ``"stretch"`` (2350–2650 cm⁻¹), ``"bend"`` (600–1200 cm⁻¹) — each widened by its margin
        — a ``(low, high)`` interval in cm⁻¹, or None for the whole spectrum.
    stiffness_cm1 : float, optional
        For Whittaker methods: the length over which the baseline may bend (sets ``lam``).
        Ignored if ``lam`` is given explicitly.
    **kw
        Passed to the pybaselines method (e.g. ``lam``, ``poly_order``, ``max_half_window``).

    Returns
    -------
    BaselineResult

    Raises
    ------
    InputError
        Unknown method or region, or a region with too few points.

    Examples
    --------
    The stretching region of a constructed spectrum on a curved baseline (the truth is known):

    >>> import numpy as np
    >>> from irkit.baseline import estimate_baseline
    >>> from irkit.synthetic import synthesize
    >>> syn = synthesize(0, baseline="curved")
    >>> est = estimate_baseline(syn.spectrum, region="stretch")
    >>> est.method, float(est.wavenumber_cm1[0]), float(est.wavenumber_cm1[-1])  # ± 100 cm⁻¹ margin
    ('arpls', 2250.0, 2750.0)
    >>> dict(est.settings)          # lam = (150 cm⁻¹ stiffness / 1 cm⁻¹ step) ** 4
    {'lam': 506250000.0}
    >>> true = np.interp(est.wavenumber_cm1, syn.spectrum.wavenumber_cm1, syn.baseline)
    >>> bool(np.max(np.abs(est.baseline - true)) < 0.01)  # absorbance, under bands 0.5 high
    True

    Any other pybaselines method, with its own settings, over the whole spectrum:

    >>> poly = estimate_baseline(syn.spectrum, "modpoly", poly_order=3)
    >>> poly.method, dict(poly.settings), poly.baseline.shape == syn.spectrum.values.shape
    ('modpoly', {'poly_order': 3}, True)
    """
    from pybaselines import Baseline

    low, high, defaults = _region(region)
    absorbance = to_absorbance(spectrum)
    part = absorbance.crop(max(low, absorbance.wavenumber_cm1[0]),
                           min(high, absorbance.wavenumber_cm1[-1]))
    method = method or defaults.method
    fitter = Baseline(x_data=part.wavenumber_cm1)
    func = getattr(fitter, method, None)
    if method.startswith("_") or not callable(func):
        raise InputError(f"unknown pybaselines method {method!r}", source="method")
    settings = dict(kw)
    if method in WHITTAKER_METHODS and "lam" not in settings:
        stiff = defaults.stiffness_cm1 if stiffness_cm1 is None else float(stiffness_cm1)
        settings["lam"] = float((stiff / part.step_cm1) ** 4)
    try:
        baseline, params = func(part.values, **settings)
    except TypeError as exc:
        raise InputError(f"bad settings for {method}: {exc}", source="method") from None
    history = params.get("tol_history") if isinstance(params, dict) else None
    converged = iterations = None
    if history is not None and len(history):
        iterations = int(len(history))
        tol = settings.get("tol", 1e-3)
        converged = bool(history[-1] < tol)
        if not converged:
            logger.warning("%s baseline did not converge (%d iterations, last change %.3g)",
                           method, iterations, history[-1])
    base = np.array(baseline, dtype=float)
    base.setflags(write=False)
    return BaselineResult(part.wavenumber_cm1, base, method, tuple(sorted(settings.items())),
                          converged, iterations)


def subtract_baseline(spectrum: Spectrum, baseline: BaselineResult) -> Spectrum:
    """Return ``spectrum - baseline`` on the baseline's axis (absorbance).

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum the baseline was estimated on (transmittance is converted first).
    baseline : BaselineResult
        From :func:`estimate_baseline`.

    Returns
    -------
    Spectrum
        Absorbance minus baseline, cropped to the baseline's range; ``metadata["baseline"]``
        records the method and its settings.

    Raises
    ------
    InputError
        The baseline's axis is not that of the spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> from irkit.baseline import estimate_baseline, subtract_baseline
    >>> from irkit.synthetic import synthesize
    >>> syn = synthesize(0, baseline="curved")
    >>> net = subtract_baseline(syn.spectrum, estimate_baseline(syn.spectrum, region="stretch"))
    >>> net.n_points, net.metadata["baseline"]["method"]
    (501, 'arpls')
    >>> peak_cm1 = float(net.wavenumber_cm1[np.argmax(net.values)])
    >>> 2460 < peak_cm1 < 2480       # the B12H12/B10H10 ν(B–H) envelope, cm⁻¹
    True
    """
    absorbance = to_absorbance(spectrum)
    part = absorbance.crop(baseline.wavenumber_cm1[0], baseline.wavenumber_cm1[-1])
    if part.n_points != baseline.wavenumber_cm1.size:
        raise InputError("baseline axis does not match the spectrum", source=spectrum.source)
    meta = dict(part.metadata)
    meta["baseline"] = {"method": baseline.method, "settings": dict(baseline.settings)}
    return make_spectrum(part.wavenumber_cm1, part.values - baseline.baseline, part.kind,
                         source=part.source, metadata=meta)
