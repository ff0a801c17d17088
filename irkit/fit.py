"""Multi-band fits of the B–H stretching and bending regions (lmfit models, fast solver).

A region model is ``Σ_k band_k(ν) + polynomial baseline(ν)``: pseudo-Voigt (default) or Voigt
bands seeded from the band library, each centre bounded to its prior ``position ± bound``, widths
bounded by the prior's ``fwhm_min/max`` (optionally one width shared by all bands of the region,
which stabilises the overlapping B12/B10 stretching envelope), and one Lorentzian fraction (or
Voigt γ) per region. The baseline polynomial (degree ``baseline_degree``, default 2, in the
scaled variable ``u ∈ [-1, 1]``) is fitted *jointly* with the bands, so the band uncertainties
include the baseline's; a pybaselines baseline can be subtracted first instead or in addition.

Solvers (``engine``): the default ``"lmfit"`` runs the vectorised model through
:class:`lmfit.Minimizer` (MINPACK Levenberg–Marquardt with lmfit's bound transform) with the
analytic Jacobian for pseudo-Voigt bands; ``"numpy"`` runs the same model through SciPy's bounded
trust-region ``least_squares`` (slower here: ~2-3× the time; kept as a cross-check). Uncertainties
come from the covariance ``(JᵀJ)⁻¹`` at the solution scaled by the reduced χ² (lmfit's
``scale_covar``). Derived quantities — FWHM and height — are propagated analytically (fast) and
are also available as lmfit *constrained parameters* with lmfit-propagated uncertainties from
:meth:`RegionFit.to_lmfit`, which returns the equivalent lmfit ``CompositeModel``
(``PseudoVoigtModel``/``VoigtModel`` per band + baseline polynomial); the two propagations agree
(tested).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from lmfit import Minimizer, Model, Parameters
from lmfit.models import PseudoVoigtModel, VoigtModel
from scipy.optimize import least_squares

from irkit.bands import ANION_SPECIES, Band, BandLibrary, load_band_library
from irkit.baseline import estimate_baseline
from irkit.shapes import TINY, pseudo_voigt, pseudo_voigt_partials, voigt
from irkit.spectra import Spectrum, to_absorbance
from xrdkit._summary import HtmlSummary
from xrdkit.errors import FitError, InputError

__all__ = ["REGIONS", "BandFit", "FitQuality", "RegionFit", "fit_region", "fit_stretching",
           "fit_bending", "Shape"]

logger = logging.getLogger(__name__)

Shape = Literal["pseudo_voigt", "voigt"]

#: Named fit regions (cm⁻¹): B–H stretching and B–H bending / cage modes.
REGIONS: dict[str, tuple[float, float]] = {"stretch": (2350.0, 2650.0), "bend": (600.0, 1200.0)}
#: A centre or width closer than this fraction of its allowed interval to a bound is "at bound".
AT_BOUND_FRACTION = 1e-3
#: A Jacobian column smaller than this fraction of the largest marks a parameter without influence.
NO_INFLUENCE = 1e-10
#: Default evaluation budget of the minimiser.
MAX_NFEV = 4000
#: Start centres given through ``start_cm1`` are kept this fraction of the bound inside it.
START_MARGIN_FRACTION = 0.02


@dataclass(frozen=True)
class BandFit:
    """Fitted band with 1σ uncertainties (NaN when the covariance is not available).

    Attributes
    ----------
    label, species, mode : str
        Band identity (``species:mode``).
    prefix : str
        Parameter-name prefix (lmfit convention, e.g. ``B12H12_nu_BH_``).
    prior_cm1 : float
        Prior centre from the library.
    center_cm1, fwhm_cm1 : float
        Centre and full width at half maximum (cm⁻¹).
    height, area : float
        Peak height (absorbance) and integrated area (absorbance · cm⁻¹).
    center_sigma_cm1, fwhm_sigma_cm1, height_sigma, area_sigma : float
        1σ of each quantity (covariance scaled by the reduced χ²).
    at_bound : bool
        Centre or width ended at a bound: the prior may be wrong or the band absent.

    Examples
    --------
    One band of a stretching fit of a constructed spectrum (true centre 2480 cm⁻¹, FWHM
    40 cm⁻¹, height 0.5):

    >>> from irkit.fit import fit_region
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_region(synthesize(0).spectrum, "stretch")
    >>> band = fit.band("B12H12:nu_BH")
    >>> band.prefix, round(band.center_cm1), round(band.fwhm_cm1, -1), round(band.height, 1)  # cm⁻¹, cm⁻¹, abs.
    ('B12H12_nu_BH_', 2480, 40.0, 0.5)
    >>> band.center_sigma_cm1 < 1.0, band.at_bound
    (True, False)
    """

    label: str
    species: str
    mode: str
    prefix: str
    prior_cm1: float
    center_cm1: float
    center_sigma_cm1: float
    fwhm_cm1: float
    fwhm_sigma_cm1: float
    height: float
    height_sigma: float
    area: float
    area_sigma: float
    at_bound: bool


@dataclass(frozen=True)
class FitQuality:
    """Fit statistics and lmfit diagnostics.

    Attributes
    ----------
    success : bool
        The solver reports convergence.
    message : str
        The solver's message.
    nfev : int
        Model evaluations used.
    n_points, n_varys : int
        Data points fitted and parameters varied.
    chisqr, redchi : float
        Sum of squared residuals (absorbance², unweighted) and that over
        ``n_points − n_varys``.
    aic, bic : float
        Akaike and Bayesian information criteria (lmfit's definitions).
    r_squared : float
        Coefficient of determination of the fitted data.
    rms_residual : float
        Root-mean-square residual, absorbance.
    errorbars : bool
        Whether a covariance (and so every σ) could be computed.

    Examples
    --------
    >>> from irkit.fit import fit_region
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_region(synthesize(0).spectrum, "stretch")
    >>> q = fit.quality
    >>> q.success, q.n_points, q.n_varys, q.errorbars        # 2350–2650 cm⁻¹ in 1 cm⁻¹ steps
    (True, 301, 13, True)
    >>> q.r_squared > 0.999, round(q.rms_residual, 3)       # noise σ 0.002 absorbance
    (True, 0.002)
    """

    success: bool
    message: str
    nfev: int
    n_points: int
    n_varys: int
    chisqr: float
    redchi: float
    aic: float
    bic: float
    r_squared: float
    rms_residual: float
    errorbars: bool


@dataclass(frozen=True)
class ParameterRecord:
    """One varied parameter after the fit."""

    name: str
    value: float
    stderr: float
    min: float
    max: float


@dataclass(frozen=True)
class RegionFit(HtmlSummary):
    """Result of a region fit.

    :meth:`summary` is a one-screen report (like lmfit's ``fit_report``); the ``repr`` is one
    line (:meth:`headline`).

    Attributes
    ----------
    region : str
        Region name or ``"low-high"``.
    low_cm1, high_cm1 : float
        Fitted interval.
    shape : str
        ``"pseudo_voigt"`` or ``"voigt"``.
    shared_width : bool
        Whether one width was shared by all bands.
    bands : tuple of BandFit
    shape_parameter, shape_parameter_sigma : float
        Lorentzian fraction η (pseudo-Voigt) or γ in cm⁻¹ (Voigt).
    wavenumber_cm1, data, best_fit, baseline : ndarray, shape (n,)
        Axis, fitted data (after any pre-subtracted baseline), model, joint baseline polynomial.
    pre_baseline : ndarray, shape (n,)
        Baseline subtracted before fitting (zeros if none).
    components : tuple of ndarray, shape (n,)
        Band profiles in the order of ``bands``.
    area_covariance : ndarray, shape (k, k)
        Covariance of the band areas (NaN if not available).
    quality : FitQuality
    parameters : tuple of ParameterRecord
        The varied parameters (names as in :meth:`to_lmfit`) with bounds and 1σ.
    covariance : ndarray, shape (p, p)
        Covariance of the varied parameters (order of ``parameters``; NaN if unavailable).
    warnings : tuple of str
        What went wrong or looks doubtful in the fit (bounds hit, no covariance, …).
    source : str
        Where the spectrum came from (``Spectrum.source``).

    Examples
    --------
    Returned by :func:`fit_region` (which shows the bands):

    >>> from irkit.fit import fit_region
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_region(synthesize(0).spectrum, "stretch")
    >>> fit
    <RegionFit synthetic: stretch 2350–2650 cm⁻¹: 3 bands, R² 0.999..., rms residual 0.00..., converged>
    >>> fit.residual.shape, fit.area_covariance.shape, fit.warnings
    ((301,), (3, 3), ())
    """

    region: str
    low_cm1: float
    high_cm1: float
    shape: str
    shared_width: bool
    bands: tuple[BandFit, ...]
    shape_parameter: float
    shape_parameter_sigma: float
    wavenumber_cm1: np.ndarray
    data: np.ndarray
    best_fit: np.ndarray
    baseline: np.ndarray
    pre_baseline: np.ndarray
    components: tuple[np.ndarray, ...]
    area_covariance: np.ndarray
    quality: FitQuality
    parameters: tuple[ParameterRecord, ...]
    covariance: np.ndarray
    warnings: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    @property
    def residual(self) -> np.ndarray:
        """``data - best_fit``."""
        return self.data - self.best_fit

    def band(self, label: str) -> BandFit:
        """The fitted band ``species:mode``."""
        for b in self.bands:
            if b.label == label:
                return b
        raise KeyError(f"{label!r} not in this fit ({[b.label for b in self.bands]})")

    def species_area(self, species: str) -> tuple[float, float]:
        """Summed area of a species' bands and its 1σ (correlations included)."""
        idx = [i for i, b in enumerate(self.bands) if b.species == species]
        if not idx:
            return 0.0, math.nan
        total = float(sum(self.bands[i].area for i in idx))
        var = float(self.area_covariance[np.ix_(idx, idx)].sum())
        return total, math.sqrt(var) if var >= 0 else math.nan

    def evaluate_bands(self, wavenumber_cm1: np.ndarray, species: Sequence[str] | None = None
                       ) -> np.ndarray:
        """Sum of the fitted band profiles (no baseline) on any axis, optionally some species."""
        x = np.asarray(wavenumber_cm1, dtype=float)
        rec = {r.name: r.value for r in self.parameters}
        out = np.zeros_like(x)
        shape_value = rec[_SHAPE_PARAM[self.shape]]
        for b in self.bands:
            if species is not None and b.species not in species:
                continue
            width = rec["sigma"] if self.shared_width else rec[f"{b.prefix}sigma"]
            func = pseudo_voigt if self.shape == "pseudo_voigt" else voigt
            out += func(x, rec[f"{b.prefix}amplitude"], rec[f"{b.prefix}center"], width,
                        shape_value)
        return out

    def to_lmfit(self):
        """The equivalent lmfit ``CompositeModel`` and ``Parameters`` (see :func:`to_lmfit`)."""
        return to_lmfit(self)

    # ------------------------------------------------------------------ reports

    @property
    def baseline_degree(self) -> int:
        """Degree of the jointly fitted baseline polynomial (-1: none)."""
        return sum(1 for r in self.parameters if r.name.startswith("bl_c")) - 1

    def headline(self) -> str:
        """The fit in one line: region, bands, R², rms residual, converged or not."""
        q = self.quality
        at_bound = sum(b.at_bound for b in self.bands)
        return (f"{self.region} {self.low_cm1:g}–{self.high_cm1:g} cm⁻¹: {len(self.bands)} bands, "
                f"R² {q.r_squared:.5f}, rms residual {q.rms_residual:.3g}, "
                f"{'converged' if q.success else 'NOT converged'}"
                + (f", {at_bound} at a bound" if at_bound else ""))

    def __repr__(self) -> str:
        text = " ".join(f"<RegionFit {_short(self.source)}: {self.headline()}>".split())
        return text if len(text) <= _REPR_MAX_CHARS else text[: _REPR_MAX_CHARS - 2] + "…>"

    def summary(self) -> str:
        """A one-screen text report of the fit (like lmfit's ``fit_report``): the headline,
        the fit statistics, every band's centre, FWHM, height and area ± 1σ, the warnings.

        Returns
        -------
        str

        Examples
        --------
        The stretching region of a constructed spectrum (``irkit.synthetic``; true centres
        2480, 2460 and 2520 cm⁻¹):

        >>> from irkit.fit import fit_region
        >>> from irkit.synthetic import synthesize
        >>> fit = fit_region(synthesize(0).spectrum, "stretch")
        >>> fit
        <RegionFit synthetic: stretch 2350–2650 cm⁻¹: 3 bands, R² 0.99992, rms residual 0.00197, converged>
        >>> print(fit.summary())  # doctest: +ELLIPSIS
        [[Region fit]] synthetic
            stretch 2350–2650 cm⁻¹: 3 bands, R² 0.99992, rms residual 0.00197, converged
            301 points, 13 varied parameters, ... evaluations; χ²_ν 4.0e-06, AIC -3725.8, BIC -3677.6
            pseudo-Voigt bands, Lorentzian fraction η = 0.468 ± 0.015
            baseline polynomial of degree 2 fitted jointly
        [[Bands]]              centre ± σ (cm⁻¹)   FWHM ± σ (cm⁻¹)   height ± σ         area ± σ (cm⁻¹)   prior (cm⁻¹)
            B12H12:nu_BH       2479.5 ± 0.3        40.8 ± 0.4        0.5120 ± 0.0138    26.186 ± 1.018    2480
            B10H10:nu_BH_eq    2459.7 ± 0.4        40.1 ± 0.4        0.3379 ± 0.0150    17.003 ± 0.843    2460
            B10H10:nu_BH_ap    2520.3 ± 0.2        24.7 ± 0.4        0.0899 ± 0.0014    2.779 ± 0.073     2520
            (height: peak absorbance; area: absorbance × cm⁻¹)

        The true centres lie within the printed 3σ (2480 − 2479.5 = 0.5 < 3 × 0.3).
        """
        q = self.quality
        lines = [f"[[Region fit]] {self.source or '(no source)'}", f"    {self.headline()}",
                 f"    {q.n_points} points, {q.n_varys} varied parameters, {q.nfev} evaluations; "
                 f"χ²_ν {q.redchi:.1e}, AIC {q.aic:.1f}, BIC {q.bic:.1f}"
                 + ("" if q.errorbars else "; no uncertainties (covariance not available)")]
        if self.shape == "pseudo_voigt":
            shape = (f"pseudo-Voigt bands, Lorentzian fraction η = {self.shape_parameter:.3f} ± "
                     f"{self.shape_parameter_sigma:.3f}")
        else:
            shape = (f"Voigt bands, Lorentzian γ = {self.shape_parameter:.2f} ± "
                     f"{self.shape_parameter_sigma:.2f} cm⁻¹")
        degree = self.baseline_degree
        baseline = (f"baseline polynomial of degree {degree} fitted jointly" if degree >= 0
                    else "no baseline fitted")
        if np.any(self.pre_baseline):
            baseline += "; a pybaselines baseline subtracted first"
        lines.append(f"    {shape}{', one shared width' if self.shared_width else ''}")
        lines.append(f"    {baseline}")
        lines.append(f"[[Bands]]{'':14s}{'centre ± σ (cm⁻¹)':20s}{'FWHM ± σ (cm⁻¹)':18s}"
                     f"{'height ± σ':19s}{'area ± σ (cm⁻¹)':18s}prior (cm⁻¹)")
        for b in self.bands:
            lines.append(
                f"    {b.label:18s} {_pm(b.center_cm1, b.center_sigma_cm1, 1):20s}"
                f"{_pm(b.fwhm_cm1, b.fwhm_sigma_cm1, 1):18s}{_pm(b.height, b.height_sigma, 4):19s}"
                f"{_pm(b.area, b.area_sigma, 3):18s}{b.prior_cm1:g}"
                + ("  AT BOUND" if b.at_bound else ""))
        lines.append("    (height: peak absorbance; area: absorbance × cm⁻¹)")
        if self.warnings:
            lines.append("[[Warnings]]")
            lines += [f"    {w}" for w in self.warnings]
        return "\n".join(lines)


#: Longest source name a ``repr`` shows, and the longest ``repr``.
_REPR_SOURCE_CHARS = 40
_REPR_MAX_CHARS = 199


def _short(source: str) -> str:
    """The file name of ``source`` (``FILE::/path`` keeps its path), shortened for a repr."""
    head, sep, inner = str(source or "").partition("::")
    name = head.replace("\\", "/").rsplit("/", 1)[-1] + sep + inner
    if len(name) > _REPR_SOURCE_CHARS:
        name = "…" + name[-(_REPR_SOURCE_CHARS - 1):]
    return name or "?"


def _pm(value: float, sigma: float, digits: int) -> str:
    """``value ± sigma`` with ``digits`` decimals (``± —`` when σ is not available)."""
    err = f"{sigma:.{digits}f}" if math.isfinite(sigma) else "—"
    return f"{value:.{digits}f} ± {err}"


_SHAPE_PARAM = {"pseudo_voigt": "fraction", "voigt": "gamma"}
#: Width parameter per FWHM: pseudo-Voigt σ = FWHM/2; Voigt Gaussian σ ≈ FWHM/3.6 (γ ≈ σ).
_WIDTH_PER_FWHM = {"pseudo_voigt": 0.5, "voigt": 1.0 / 3.6}


def scaled_polynomial(x, c0=0.0, c1=0.0, c2=0.0, c3=0.0, x_mid=0.0, x_half=1.0):
    """Baseline polynomial ``Σ c_i u^i`` in ``u = (x - x_mid) / x_half`` (u ∈ [-1, 1] on a region)."""
    u = (x - x_mid) / x_half
    return c0 + u * (c1 + u * (c2 + u * c3))


class _RegionModel:
    """Vectorised region model over k bands on a flat parameter vector.

    Layout of the vector: amplitudes (k), centres (k), widths (k, or 1 if shared), the shape
    parameter (η or γ), baseline coefficients (degree + 1). ``names`` follow lmfit's prefixes.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, bands: Sequence[Band], shape: Shape,
                 shared_width: bool, degree: int) -> None:
        self.x, self.y = x, y
        self.bands = tuple(bands)
        self.shape = shape
        self.shared = shared_width
        self.x_mid, self.x_half = 0.5 * (x[0] + x[-1]), 0.5 * (x[-1] - x[0])
        u = (x - self.x_mid) / self.x_half
        self.powers = np.array([u ** i for i in range(degree + 1)]).reshape(degree + 1, x.size)
        # (degree+1, n); (0, n) without a baseline
        k = len(self.bands)
        self.pre = [b.prefix for b in self.bands]
        self.i_amp = np.arange(k)
        self.i_cen = k + np.arange(k)
        n_w = 1 if shared_width else k
        self.i_wid = 2 * k + (np.zeros(k, dtype=int) if shared_width else np.arange(k))
        self.i_shape = 2 * k + n_w
        self.i_coef = self.i_shape + 1 + np.arange(degree + 1)
        self.shape_name = _SHAPE_PARAM[shape]
        width_names = ["sigma"] if shared_width else [f"{q}sigma" for q in self.pre]
        self.names = ([f"{q}amplitude" for q in self.pre] + [f"{q}center" for q in self.pre]
                      + width_names + [self.shape_name]
                      + [f"bl_c{i}" for i in range(degree + 1)])

    def width_name(self, k: int) -> str:
        return self.names[self.i_wid[k]]

    def components(self, v: np.ndarray) -> np.ndarray:
        amp, cen, wid = v[self.i_amp, None], v[self.i_cen, None], v[self.i_wid, None]
        if self.shape == "pseudo_voigt":
            return pseudo_voigt(self.x, amp, cen, wid, v[self.i_shape])  # (k, n)
        return voigt(self.x, amp, cen, wid, v[self.i_shape])

    def baseline(self, v: np.ndarray) -> np.ndarray:
        return v[self.i_coef] @ self.powers

    def residual(self, v: np.ndarray) -> np.ndarray:
        return self.components(v).sum(axis=0) + self.baseline(v) - self.y

    def jacobian(self, v: np.ndarray) -> np.ndarray:
        """d(residual)/dv, shape (n, p) (pseudo-Voigt only)."""
        amp, cen, wid = v[self.i_amp, None], v[self.i_cen, None], v[self.i_wid, None]
        d_amp, d_cen, d_wid, d_frac = pseudo_voigt_partials(self.x, amp, cen, wid,
                                                            v[self.i_shape])
        jac = np.empty((self.x.size, len(self.names)))
        jac[:, self.i_amp] = d_amp.T
        jac[:, self.i_cen] = d_cen.T
        if self.shared:
            jac[:, self.i_wid[0]] = d_wid.sum(axis=0)
        else:
            jac[:, self.i_wid] = d_wid.T
        jac[:, self.i_shape] = d_frac.sum(axis=0)
        jac[:, self.i_coef] = self.powers.T
        return jac

    # lmfit adapters ---------------------------------------------------------
    def vector(self, params: Parameters) -> np.ndarray:
        return np.array([params[n].value for n in self.names])

    def residual_params(self, params: Parameters) -> np.ndarray:
        return self.residual(self.vector(params))

    def jacobian_params(self, params: Parameters) -> np.ndarray:
        return self.jacobian(self.vector(params))


def _start(model: _RegionModel, start_cm1: Mapping[str, float] | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start vector and bounds from the band priors and a straight line through the ends.

    ``start_cm1`` (band label → centre) moves start centres away from the priors; the bounds stay
    ``position ± bound`` (a start outside them is clipped to them).
    """
    start_cm1 = start_cm1 or {}
    x, y = model.x, model.y
    n_edge = max(3, x.size // 40)
    y0, y1 = float(np.median(y[:n_edge])), float(np.median(y[-n_edge:]))
    net = y - (y0 + (y1 - y0) * (x - x[0]) / (x[-1] - x[0]))
    scale = max(float(np.max(np.abs(net))), TINY)
    wf = _WIDTH_PER_FWHM[model.shape]
    p = len(model.names)
    v0, lo, hi = np.zeros(p), np.full(p, -np.inf), np.full(p, np.inf)
    for k, b in enumerate(model.bands):
        neighbours = [o for o in model.bands if abs(o.position_cm1 - b.position_cm1) < b.fwhm_cm1]
        share = b.relative_height / max(sum(o.relative_height for o in neighbours), TINY)
        height = max(float(np.interp(b.position_cm1, x, net)) * share, 1e-3 * scale)
        v0[model.i_amp[k]], lo[model.i_amp[k]] = 1.27 * height * b.fwhm_cm1, 0.0
        ic = model.i_cen[k]
        lo[ic], hi[ic] = b.position_cm1 - b.bound_cm1, b.position_cm1 + b.bound_cm1
        margin = START_MARGIN_FRACTION * b.bound_cm1
        v0[ic] = float(np.clip(start_cm1.get(b.label, b.position_cm1), lo[ic] + margin,
                               hi[ic] - margin))
    bands = model.bands
    if model.shared:
        iw = model.i_wid[0]
        v0[iw] = wf * float(np.mean([b.fwhm_cm1 for b in bands]))
        lo[iw] = wf * min(b.fwhm_min_cm1 for b in bands)
        hi[iw] = wf * max(b.fwhm_max_cm1 for b in bands)
    else:
        for k, b in enumerate(bands):
            iw = model.i_wid[k]
            v0[iw], lo[iw], hi[iw] = wf * b.fwhm_cm1, wf * b.fwhm_min_cm1, wf * b.fwhm_max_cm1
    if model.shape == "pseudo_voigt":
        v0[model.i_shape], lo[model.i_shape], hi[model.i_shape] = 0.5, 0.0, 1.0
    else:
        mean_fwhm = float(np.mean([b.fwhm_cm1 for b in bands]))
        v0[model.i_shape], lo[model.i_shape], hi[model.i_shape] = mean_fwhm / 3.6, 0.0, mean_fwhm
    coef = [0.5 * (y0 + y1), 0.5 * (y1 - y0)]
    for i, ic in enumerate(model.i_coef):
        v0[ic] = coef[i] if i < 2 else 0.0
    return v0, lo, hi


def _voigt_start_from_pseudo_voigt(model: _RegionModel, pv: _RegionModel, pv_v: np.ndarray,
                                   v0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Voigt start vector from a pseudo-Voigt solution: same areas, centres and baseline;
    γ = η·HWHM (Lorentzian share) and the Gaussian σ from the FWHM (Olivero & Longbothum,
    JQSRT 17 (1977) 233: f_V ≈ 0.5346 f_L + sqrt(0.2166 f_L² + f_G²))."""
    v = v0.copy()
    v[model.i_amp] = pv_v[pv.i_amp]
    v[model.i_cen] = pv_v[pv.i_cen]
    v[model.i_coef] = pv_v[pv.i_coef]
    eta = float(pv_v[pv.i_shape])
    fwhm = 2.0 * pv_v[pv.i_wid]  # per band (shared: all equal)
    gamma = eta * 0.5 * float(np.mean(fwhm))
    f_l = 2.0 * gamma
    f_g = np.sqrt(np.maximum((fwhm - 0.5346 * f_l) ** 2 - 0.2166 * f_l ** 2, (0.3 * fwhm) ** 2))
    v[model.i_shape] = gamma
    v[model.i_wid] = f_g / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    eps = 1e-9 * (np.abs(v) + 1.0)
    return np.clip(v, lo + eps, hi - eps)


def _solve_numpy(model: _RegionModel, v0, lo, hi, max_nfev: int):
    jac = model.jacobian if model.shape == "pseudo_voigt" else "2-point"
    res = least_squares(model.residual, v0, jac=jac, bounds=(lo, hi), method="trf",
                        x_scale="jac", max_nfev=max_nfev)
    return res.x, res.jac, bool(res.success), str(res.message), int(res.nfev)


def _solve_lmfit(model: _RegionModel, v0, lo, hi, max_nfev: int):
    params = Parameters()
    for name, v, a, b in zip(model.names, v0, lo, hi, strict=True):
        params.add(name, value=float(v), min=float(a), max=float(b))
    jac = model.jacobian_params if model.shape == "pseudo_voigt" else None
    # calc_covar=False: the covariance is computed once from the analytic Jacobian below
    out = Minimizer(model.residual_params, params, calc_covar=False).leastsq(
        Dfun=jac, max_nfev=max_nfev)
    v = model.vector(out.params)
    jac_final = model.jacobian(v) if model.shape == "pseudo_voigt" else None
    if jac_final is None:
        jac_final = _numeric_jacobian(model, v)
    return v, jac_final, bool(out.success), str(out.message), int(out.nfev)


def _numeric_jacobian(model: _RegionModel, v: np.ndarray) -> np.ndarray:
    jac = np.empty((model.x.size, v.size))
    for j in range(v.size):
        h = 1e-6 * max(abs(v[j]), 1e-3)
        vp, vm = v.copy(), v.copy()
        vp[j] += h
        vm[j] -= h
        jac[:, j] = (model.residual(vp) - model.residual(vm)) / (2 * h)
    return jac


def _covariance(jac: np.ndarray, redchi: float) -> np.ndarray | None:
    """``(JᵀJ)⁻¹ · χ²_red``; parameters without influence (zero Jacobian column, e.g. the centre
    of a band whose area went to 0) get NaN rows/columns instead of spoiling the others."""
    norms = np.linalg.norm(jac, axis=0)
    live = norms > NO_INFLUENCE * max(float(norms.max()), TINY)
    p = jac.shape[1]
    cov = np.full((p, p), math.nan)
    try:
        sub = np.linalg.inv(jac[:, live].T @ jac[:, live]) * redchi
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(sub)) or np.any(np.diag(sub) < 0):
        return None
    cov[np.ix_(live, live)] = sub
    return cov


def _derived(model: _RegionModel, v: np.ndarray, cov: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FWHM and height of every band with σ by analytic linear propagation ``gᵀCg``."""
    k = len(model.bands)
    amp, wid, shp = v[model.i_amp], v[model.i_wid], v[model.i_shape]
    g_f = np.zeros((k, v.size))
    g_h = np.zeros((k, v.size))
    if model.shape == "pseudo_voigt":
        c_g = 1.0 / math.sqrt(math.pi / math.log(2.0))
        s = np.maximum(wid, TINY)
        h_unit = (1 - shp) * c_g / s + shp / (math.pi * s)
        fwhm, height = 2.0 * wid, amp * h_unit
        for i in range(k):
            g_f[i, model.i_wid[i]] += 2.0
            g_h[i, model.i_amp[i]] = h_unit[i]
            g_h[i, model.i_wid[i]] += -amp[i] * h_unit[i] / s[i]
            g_h[i, model.i_shape] = amp[i] * (1.0 / (math.pi * s[i]) - c_g / s[i])
    else:
        from scipy.special import wofz

        def fw(sig, gam):
            return 1.0692 * gam + np.sqrt(0.8664 * gam ** 2 + 5.545083 * sig ** 2)

        def ht(a, sig, gam):
            s = np.maximum(sig, TINY)
            return a * wofz(1j * gam / (s * math.sqrt(2))).real / (s * math.sqrt(2 * math.pi))

        fwhm, height = fw(wid, shp), ht(amp, wid, shp)
        for i in range(k):
            for j in (model.i_wid[i], model.i_shape, model.i_amp[i]):
                h = 1e-6 * max(abs(v[j]), 1e-3)
                vp, vm = v.copy(), v.copy()
                vp[j] += h
                vm[j] -= h
                g_f[i, j] = (fw(vp[model.i_wid[i]], vp[model.i_shape])
                             - fw(vm[model.i_wid[i]], vm[model.i_shape])) / (2 * h)
                g_h[i, j] = (ht(vp[model.i_amp[i]], vp[model.i_wid[i]], vp[model.i_shape])
                             - ht(vm[model.i_amp[i]], vm[model.i_wid[i]], vm[model.i_shape])
                             ) / (2 * h)
    if cov is None:
        nan = np.full(k, math.nan)
        return fwhm, nan, height, nan.copy()
    sd_f = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", g_f, cov, g_f), 0.0))
    sd_h = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", g_h, cov, g_h), 0.0))
    return fwhm, sd_f, height, sd_h


def _region_bounds(region: str | tuple[float, float]) -> tuple[str, float, float]:
    if isinstance(region, str):
        if region not in REGIONS:
            raise InputError(f"unknown region {region!r}; known: {sorted(REGIONS)}",
                             source="region")
        return (region, *REGIONS[region])
    low, high = (float(v) for v in region)
    if not low < high:
        raise InputError(f"region must be (low, high) with low < high, got {region}",
                         source="region")
    return f"{low:g}-{high:g}", low, high


def _at_bound(value: float, lo: float, hi: float) -> bool:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    tol = AT_BOUND_FRACTION * (hi - lo)
    return bool(value - lo < tol or hi - value < tol)


def fit_region(
    spectrum: Spectrum,
    region: str | tuple[float, float] = "stretch",
    *,
    library: BandLibrary | None = None,
    species: Sequence[str] = ANION_SPECIES,
    bands: Sequence[Band] | None = None,
    shape: Shape = "pseudo_voigt",
    shared_width: bool = False,
    baseline_degree: int = 2,
    subtract: str | None = None,
    baseline_kw: dict | None = None,
    engine: Literal["lmfit", "numpy"] = "lmfit",
    max_nfev: int = MAX_NFEV,
    start_cm1: Mapping[str, float] | None = None,
) -> RegionFit:
    """Fit the bands of one region.

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance or transmittance (converted); must cover the region.
    region : str or (float, float)
        ``"stretch"`` (2350–2650 cm⁻¹), ``"bend"`` (600–1200 cm⁻¹) or an interval.
    library : BandLibrary, optional
        Band priors (default: the bundled library).
    species : sequence of str
        Species whose library bands inside the region are fitted (default: both closo anions).
    bands : sequence of Band, optional
        Explicit band list (overrides ``library``/``species``).
    shape : {"pseudo_voigt", "voigt"}
        Band shape.
    shared_width : bool
        One width for all bands of the region.
    baseline_degree : int
        Degree (0–3) of the polynomial baseline fitted jointly with the bands; -1: none.
    subtract : str, optional
        pybaselines method whose baseline (region defaults of
        :func:`irkit.baseline.estimate_baseline`) is subtracted before the fit.
    baseline_kw : dict, optional
        Extra settings for ``subtract``.
    engine : {"lmfit", "numpy"}
        Solver (see the module docstring); same model, same results.
    max_nfev : int
        Evaluation budget.
    start_cm1 : mapping of str to float, optional
        Start centres (band label → cm⁻¹) instead of the prior positions (multi-start fits);
        the bounds stay the priors'.

    Returns
    -------
    RegionFit

    Raises
    ------
    InputError
        Unknown region, shape or engine, spectrum not covering the region, no bands in it.
    FitError
        The solver produced non-finite values.

    Examples
    --------
    The ν(B–H) stretching region of a constructed spectrum (``irkit.synthetic``: both anions
    1:1, B12H12²⁻ band at 2480 cm⁻¹, B10H10²⁻ at 2460 and 2520 cm⁻¹):

    >>> from irkit.fit import fit_region
    >>> from irkit.synthetic import synthesize
    >>> truth = synthesize(0)
    >>> fit = fit_region(truth.spectrum, "stretch")
    >>> fit.region, fit.quality.r_squared > 0.999
    ('stretch', True)
    >>> for band in fit.bands:          # centres to the nearest 10 cm⁻¹
    ...     print(f"{band.label:18s} {round(band.center_cm1, -1):6.0f} cm-1")
    B12H12:nu_BH         2480 cm-1
    B10H10:nu_BH_eq      2460 cm-1
    B10H10:nu_BH_ap      2520 cm-1
    >>> b12 = fit.band("B12H12:nu_BH")
    >>> abs(b12.center_cm1 - 2480.0) < 3 * b12.center_sigma_cm1
    True
    """
    name, low, high = _region_bounds(region)
    if shape not in _SHAPE_PARAM:
        raise InputError(f"unknown shape {shape!r}; use 'pseudo_voigt' or 'voigt'", source="shape")
    if engine not in ("numpy", "lmfit"):
        raise InputError(f"unknown engine {engine!r}; use 'numpy' or 'lmfit'", source="engine")
    if not -1 <= baseline_degree <= 3:
        raise InputError(f"baseline_degree must be in -1..3, got {baseline_degree}",
                         source="baseline_degree")
    absorbance = to_absorbance(spectrum)
    if not absorbance.covers(low, high):
        raise InputError(
            f"spectrum ({absorbance.wavenumber_cm1[0]:.0f}–{absorbance.wavenumber_cm1[-1]:.0f} "
            f"cm⁻¹) does not cover the {name} region {low:g}–{high:g} cm⁻¹",
            source=spectrum.source,
        )
    if bands is None:
        lib = library or load_band_library()
        bands = lib.select(tuple(species), low_cm1=low, high_cm1=high)
    bands = tuple(bands)
    if not bands:
        raise InputError(f"no bands of {list(species)} in {low:g}–{high:g} cm⁻¹",
                         source="species")
    part = absorbance.crop(low, high, min_points=3 * len(bands) + baseline_degree + 4)
    x, y = part.wavenumber_cm1, part.values
    pre = np.zeros_like(y)
    if subtract:
        est = estimate_baseline(absorbance, subtract,
                                region=name if name in REGIONS else (low, high),
                                **(baseline_kw or {}))
        pre = np.interp(x, est.wavenumber_cm1, est.baseline)
        y = y - pre
    model = _RegionModel(x, y, bands, shape, shared_width, baseline_degree)
    v0, lo, hi = _start(model, start_cm1)
    solve = _solve_numpy if engine == "numpy" else _solve_lmfit
    if shape == "voigt":
        # Voigt fits of overlapped bands started from the priors can slide into another
        # decomposition; start them from the (analytic-Jacobian) pseudo-Voigt solution instead
        pv = _RegionModel(x, y, bands, "pseudo_voigt", shared_width, baseline_degree)
        pv0, pv_lo, pv_hi = _start(pv, start_cm1)
        pv_v = solve(pv, pv0, pv_lo, pv_hi, max_nfev)[0]
        v0 = _voigt_start_from_pseudo_voigt(model, pv, pv_v, v0, lo, hi)
    v, jac, success, message, nfev = solve(model, v0, lo, hi, max_nfev)
    resid = model.residual(v)
    if not (np.all(np.isfinite(resid)) and np.all(np.isfinite(v))):
        raise FitError(f"{spectrum.source}: {name} fit produced non-finite values")
    notes: list[str] = []
    if not success:
        notes.append(f"solver did not converge: {message}")
    n, p = x.size, v.size
    chisqr = float(resid @ resid)
    redchi = chisqr / max(n - p, 1)
    cov = _covariance(jac, redchi)
    if cov is None:
        notes.append("covariance not available (degenerate model); uncertainties are NaN")
    elif np.isnan(np.diag(cov)).any():
        dead = [model.names[i] for i in np.flatnonzero(np.isnan(np.diag(cov)))]
        notes.append(f"parameters without influence on the model (band absent?): {dead}")
    sd = np.sqrt(np.diag(cov)) if cov is not None else np.full(p, math.nan)
    fwhm, sd_fwhm, height, sd_height = _derived(model, v, cov)
    comps = model.components(v)
    base = model.baseline(v)
    best = comps.sum(axis=0) + base
    band_fits = []
    for k, b in enumerate(bands):
        ic, iw = model.i_cen[k], model.i_wid[k]
        at_bound = _at_bound(v[ic], lo[ic], hi[ic]) or _at_bound(v[iw], lo[iw], hi[iw])
        if at_bound:
            notes.append(f"{b.label}: centre or width at its bound")
        ia = model.i_amp[k]
        band_fits.append(BandFit(
            label=b.label, species=b.species, mode=b.mode, prefix=b.prefix,
            prior_cm1=b.position_cm1,
            center_cm1=float(v[ic]), center_sigma_cm1=float(sd[ic]),
            fwhm_cm1=float(fwhm[k]), fwhm_sigma_cm1=float(sd_fwhm[k]),
            height=float(height[k]), height_sigma=float(sd_height[k]),
            area=float(v[ia]), area_sigma=float(sd[ia]), at_bound=at_bound,
        ))
    full_cov = cov if cov is not None else np.full((p, p), math.nan)
    area_cov = np.array(full_cov[np.ix_(model.i_amp, model.i_amp)])
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    aic = n * math.log(max(chisqr, TINY) / n) + 2 * p
    quality = FitQuality(
        success=success, message=message, nfev=nfev, n_points=n, n_varys=p, chisqr=chisqr,
        redchi=redchi, aic=aic, bic=aic - 2 * p + math.log(n) * p,
        r_squared=1.0 - chisqr / ss_tot if ss_tot > 0 else math.nan,
        rms_residual=math.sqrt(chisqr / n), errorbars=cov is not None,
    )
    for note in notes:
        logger.info("%s (%s): %s", spectrum.source, name, note)
    arrays = [x.copy(), y.copy(), best, base, pre, area_cov, full_cov, *comps]
    for arr in arrays:
        arr.setflags(write=False)
    return RegionFit(
        region=name, low_cm1=low, high_cm1=high, shape=shape, shared_width=shared_width,
        bands=tuple(band_fits), shape_parameter=float(v[model.i_shape]),
        shape_parameter_sigma=float(sd[model.i_shape]),
        wavenumber_cm1=arrays[0], data=arrays[1], best_fit=best, baseline=base, pre_baseline=pre,
        components=tuple(arrays[7:]), area_covariance=area_cov, quality=quality,
        parameters=tuple(ParameterRecord(nm, float(v[i]), float(sd[i]), float(lo[i]),
                                         float(hi[i])) for i, nm in enumerate(model.names)),
        covariance=arrays[6], warnings=tuple(notes), source=str(spectrum.source),
    )


def fit_stretching(spectrum: Spectrum, **kw) -> RegionFit:
    """Fit the B–H stretching region (2350–2650 cm⁻¹); see :func:`fit_region`.

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance or transmittance (converted) covering 2350–2650 cm⁻¹.
    **kw
        Every keyword of :func:`fit_region` (``library``, ``shape``, ``shared_width`` …).

    Returns
    -------
    RegionFit
        ``fit_region(spectrum, "stretch", **kw)``.

    Examples
    --------
    >>> from irkit.fit import fit_stretching
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_stretching(synthesize(0).spectrum)
    >>> fit.region, fit.low_cm1, fit.high_cm1, [band.label for band in fit.bands]
    ('stretch', 2350.0, 2650.0, ['B12H12:nu_BH', 'B10H10:nu_BH_eq', 'B10H10:nu_BH_ap'])
    """
    return fit_region(spectrum, "stretch", **kw)


def fit_bending(spectrum: Spectrum, **kw) -> RegionFit:
    """Fit the B–H bending / cage region (600–1200 cm⁻¹); see :func:`fit_region`.

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance or transmittance (converted) covering 600–1200 cm⁻¹.
    **kw
        Every keyword of :func:`fit_region` (``library``, ``shape``, ``shared_width`` …).

    Returns
    -------
    RegionFit
        ``fit_region(spectrum, "bend", **kw)``.

    Examples
    --------
    Both anions' δ(B–H) and cage bands of a constructed 1:1 spectrum (true centres 1070,
    720, 1015 and 665 cm⁻¹):

    >>> from irkit.fit import fit_bending
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_bending(synthesize(0).spectrum)
    >>> [(band.label, round(band.center_cm1)) for band in fit.bands]               # cm⁻¹
    [('B12H12:delta_BH', 1070), ('B12H12:cage', 720), ('B10H10:delta_BH', 1015), ('B10H10:cage', 665)]
    """
    return fit_region(spectrum, "bend", **kw)


def to_lmfit(fit: RegionFit) -> tuple[Model, Parameters]:
    """Rebuild a fit as an lmfit ``CompositeModel`` with its ``Parameters``.

    One ``PseudoVoigtModel``/``VoigtModel`` per band (prefix = band prefix; a shared width or
    the region's η/γ become constrained parameters) plus a ``bl_`` baseline
    (:func:`scaled_polynomial`). Parameter values are the fitted ones, and the stderr of every
    parameter — including lmfit's constrained ``fwhm``/``height`` — is propagated by lmfit
    (``Parameters.create_uvars``) from the fit covariance.
    """
    x = fit.wavenumber_cm1
    shape_cls = PseudoVoigtModel if fit.shape == "pseudo_voigt" else VoigtModel
    shape_name = _SHAPE_PARAM[fit.shape]
    composite: Model = Model(scaled_polynomial, prefix="bl_")
    for b in fit.bands:
        composite = composite + shape_cls(prefix=b.prefix)
    params = composite.make_params()
    records = {r.name: r for r in fit.parameters}
    for name, rec in records.items():
        if name in ("sigma", shape_name):
            params.add(name, value=rec.value, min=rec.min, max=rec.max)
    for name, rec in records.items():
        if name not in ("sigma", shape_name):
            params[name].set(value=rec.value, min=rec.min, max=rec.max, vary=True, expr=None)
    degree = sum(1 for n in records if n.startswith("bl_c")) - 1
    for i in range(4):
        if i > degree:
            params[f"bl_c{i}"].set(value=0.0, vary=False)
    params["bl_x_mid"].set(value=0.5 * (x[0] + x[-1]), vary=False)
    params["bl_x_half"].set(value=0.5 * (x[-1] - x[0]), vary=False)
    for b in fit.bands:
        if fit.shared_width:
            params[f"{b.prefix}sigma"].set(expr="sigma")
        if fit.shape == "pseudo_voigt":
            params[f"{b.prefix}fraction"].set(expr=shape_name)
        else:
            params[f"{b.prefix}gamma"].set(expr=shape_name)
    order = [r.name for r in fit.parameters]
    varied = [n for n, par in params.items() if par.vary]
    perm = [order.index(n) for n in varied]
    cov = np.asarray(fit.covariance)[np.ix_(perm, perm)]
    for i, nm in enumerate(varied):
        params[nm].stderr = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) else None
    if np.all(np.isfinite(cov)):
        params.create_uvars(covar=cov)
    return composite, params
