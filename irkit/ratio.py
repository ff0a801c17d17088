"""The molar B10:B12 ratio from the ν(B–H) stretching envelope, reported only when identified.

Why this is hard
----------------
The ν(B–H) bands of B12H12²⁻ (≈ 2480 cm⁻¹) and of B10H10²⁻ (equatorial ≈ 2460, apical ≈ 2520
cm⁻¹) overlap into one envelope, and their positions are known only as priors (± 25 cm⁻¹ in the
band library). A least-squares fit started from the priors finds *a* decomposition; others may fit
as well. Two kinds matter:

- **Label exchange.** Bands of equal shape are interchangeable: if the fitted B12H12²⁻ band lies
  inside the prior window of the B10H10²⁻ equatorial band and vice versa, swapping their labels
  gives exactly the same fit and a different ratio. The data cannot tell them apart.
- **Other local minima** of the non-linear fit (different widths / positions).

How the ratio is estimated (:func:`estimate_ratio`)
---------------------------------------------------
1. *Global search*: every anion band centre on a grid across its prior window (widths at the
   prior, η = 0.5, amplitudes and baseline solved linearly: variable projection); the region fit
   is repeated from the best grid point (unless it already lies in that grid cell) and the
   lower χ² kept.
2. *Posterior by importance sampling over the band positions within their priors*: band centres,
   widths and the shape parameter are drawn from a Student-t (ν = 5) around the best fit and
   around every label-exchanged copy of it (scaled Laplace covariance), kept only inside their
   prior bounds (uniform priors); amplitudes and baseline are integrated analytically (flat
   prior; weight ``exp(-χ²/2s²) · |ΦᵀΦ|^-1/2``) and drawn from their conditional Gaussian. The
   ratio of every draw gives the posterior; the reported value is its median.
3. *σ*: the symmetric half-width that contains both the central 68.3 % interval and half of the
   central 95.4 % one, ``σ = max(m − q16, q84 − m, (m − q2.3)/2, (q97.7 − m)/2)``, so ``±1σ`` and
   ``±2σ`` cover at least those intervals. The calibration's σ(k) is added in quadrature
   (relative).
4. *Reported only when identified*: effective sample size ≥ :data:`MIN_EFFECTIVE_SAMPLES`,
   posterior mass of label-exchanged decompositions ≤ :data:`MAX_EXCHANGE_PROBABILITY` and
   ``σ / ratio ≤`` :data:`MAX_RELATIVE_SIGMA`; otherwise the ratio is None and the reason says
   which test failed and what the competing values are. Tighter position priors (from spectra of
   the pure salts on your instrument, :func:`narrow_priors`) make the ratio identifiable.

Coverage on synthetic spectra with prior errors of ±15 cm⁻¹ is measured by
``benchmarks/bench_ir.py --ratio``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from irkit.bands import ANION_SPECIES, B10_B12_AREA_PER_MOLE, Band, BandLibrary, load_band_library
from irkit.fit import RegionFit, _RegionModel, fit_region
from irkit.shapes import pseudo_voigt, voigt
from irkit.spectra import Spectrum
from xrdkit.errors import InputError

__all__ = ["RatioCalibration", "RatioEstimate", "RatioOutcome", "DEFAULT_RATIO_CALIBRATION",
           "b10_b12_ratio", "calibrate_ratio", "estimate_ratio", "narrow_priors",
           "MIN_EFFECTIVE_SAMPLES", "MAX_EXCHANGE_PROBABILITY", "MAX_RELATIVE_SIGMA"]

logger = logging.getLogger(__name__)

#: Grid points per band centre in the global search (7: steps of 1/3 of the prior half-width);
#: the region fit is repeated from the best grid point (unless every fitted centre already lies
#: within half a grid step of it) and the better fit kept.
GRID_POINTS = 7
#: Importance samples (the posterior of one spectrum: ~5 ms).
N_SAMPLES = 384
#: Conditional amplitude draws per sample.
N_AMPLITUDE_DRAWS = 4
#: Proposal: Student-t degrees of freedom and scale of the Laplace covariance.
PROPOSAL_DOF = 5.0
PROPOSAL_SCALE = 1.5
#: A label-exchanged copy of the best fit is a proposal mode when no parameter lies more than
#: this many σ outside its prior bounds.
EXCHANGE_REACH_SIGMA = 4.0
#: Reporting rules (see the module docstring).
MIN_EFFECTIVE_SAMPLES = 30.0
MAX_EXCHANGE_PROBABILITY = 0.05
MAX_RELATIVE_SIGMA = 0.5
_LN2 = math.log(2.0)
#: Gaussian quantiles of ±1σ and ±2σ.
_Q1 = (0.158655, 0.841345)
_Q2 = (0.0227501, 0.9772499)


@dataclass(frozen=True)
class RatioCalibration:
    """Area-per-mole ratio k = (A10/n10)/(A12/n12) of the summed stretching-band areas.

    Attributes
    ----------
    k : float
        The ratio (dimensionless): the molar ratio is (A10/A12) / k.
    k_sigma : float
        Its 1σ (0 for the constructed default).
    provenance : str
        Where k comes from (constructed, or :func:`calibrate_ratio` on spectra of known
        composition).

    Examples
    --------
    The default assumes equal ν(B–H) absorptivity per B–H oscillator (10 vs 12 per anion):

    >>> from irkit.ratio import DEFAULT_RATIO_CALIBRATION
    >>> round(DEFAULT_RATIO_CALIBRATION.k, 4), DEFAULT_RATIO_CALIBRATION.k_sigma
    (0.8333, 0.0)
    >>> DEFAULT_RATIO_CALIBRATION.provenance.startswith("constructed")
    True
    """

    k: float
    k_sigma: float
    provenance: str


#: Constructed default: equal ν(B–H) absorptivity per B–H oscillator (10/12); see the README.
DEFAULT_RATIO_CALIBRATION = RatioCalibration(
    B10_B12_AREA_PER_MOLE, 0.0,
    "constructed: equal nu(B-H) absorptivity per B-H oscillator (10/12); not measured")


@dataclass(frozen=True)
class RatioEstimate:
    """Molar B10:B12 estimate.

    Attributes
    ----------
    value, sigma : float
        Molar ratio n(B10H10²⁻)/n(B12H12²⁻) and its symmetric 1σ.
    area_ratio, area_ratio_sigma : float
        Stretching-area ratio A10/A12 (before the calibration) and its σ.
    calibration : RatioCalibration
        The area-per-mole calibration used.
    method : str
        ``"wald"`` (area covariance of one fit) or ``"posterior"`` (:func:`estimate_ratio`).
    interval_68, interval_95 : tuple of float
        Central 68.3 % and 95.4 % posterior intervals of the molar ratio (NaN for ``"wald"``).
    effective_samples : float
        Importance-sampling effective sample size (NaN for ``"wald"``).
    exchange_probability : float
        Posterior mass of label-exchanged decompositions.
    alternatives : tuple of (float, float)
        Molar ratio (posterior median) and posterior mass of each decomposition (the best fit
        first, then its label exchanges), for the reason when the ratio is not identified.

    Examples
    --------
    The Wald estimate of one fit (:func:`b10_b12_ratio`; :func:`estimate_ratio` gives the
    posterior one):

    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import b10_b12_ratio
    >>> from irkit.synthetic import synthesize
    >>> est = b10_b12_ratio(fit_region(synthesize(3).spectrum, "stretch"))
    >>> est.method, est.effective_samples, est.calibration.provenance.startswith("constructed")
    ('wald', nan, True)
    """

    value: float
    sigma: float
    area_ratio: float
    area_ratio_sigma: float
    calibration: RatioCalibration
    method: str = "wald"
    interval_68: tuple[float, float] = (math.nan, math.nan)
    interval_95: tuple[float, float] = (math.nan, math.nan)
    effective_samples: float = math.nan
    exchange_probability: float = 0.0
    alternatives: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class RatioOutcome:
    """What :func:`estimate_ratio` decided.

    Attributes
    ----------
    estimate : RatioEstimate or None
        None when the ratio is not identified.
    reason : str
        Why it is None (empty when reported).
    posterior : RatioEstimate or None
        The posterior summary even when not reported (for inspection).
    stretch : RegionFit
        The stretching fit the posterior was built on (after the global search).
    notes : tuple of str
        What the search and the posterior did (priors narrowed, modes found …), for the
        verdict's notes.

    Examples
    --------
    Returned by :func:`estimate_ratio` (which shows a reported ratio too): on a constructed
    1:1 spectrum with the library's wide priors the anion bands can exchange labels, so no
    ratio is reported, and the posterior is kept for inspection:

    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import estimate_ratio
    >>> from irkit.synthetic import synthesize
    >>> mix = synthesize(3).spectrum
    >>> outcome = estimate_ratio(mix, fit_region(mix, "stretch"))
    >>> outcome.estimate is None, outcome.reason.startswith("not identified"), outcome.posterior.method
    (True, True, 'posterior')
    """

    estimate: RatioEstimate | None
    reason: str
    posterior: RatioEstimate | None
    stretch: RegionFit
    notes: tuple[str, ...] = field(default_factory=tuple)


def _indices(bands, species: str) -> list[int]:
    return [i for i, b in enumerate(bands) if b.species == species]


def b10_b12_ratio(stretch: RegionFit,
                  calibration: RatioCalibration = DEFAULT_RATIO_CALIBRATION) -> RatioEstimate:
    """Molar B10:B12 ratio of one fit from the summed stretching-band areas, with its Wald 1σ.

    ``r = (A10/A12) / k``; σ combines the area covariance of this fit (correlated) and σ(k).
    It ignores every other decomposition the data allow: use :func:`estimate_ratio` for the
    reported ratio.

    Parameters
    ----------
    stretch : RegionFit
        A stretching-region fit with bands of both anions.
    calibration : RatioCalibration
        Area-per-mole ratio k (default: the constructed 10/12).

    Returns
    -------
    RatioEstimate
        ``method="wald"``: value and σ of the molar ratio, the area ratio A10/A12 and its σ.

    Raises
    ------
    InputError
        The fit lacks the bands of one anion, or the B12H12²⁻ area is zero.

    Examples
    --------
    A constructed 1:1 spectrum: this one fit's ratio, with the σ of its own covariance only:

    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import b10_b12_ratio
    >>> from irkit.synthetic import synthesize
    >>> fit = fit_region(synthesize(3).spectrum, "stretch")
    >>> est = b10_b12_ratio(fit)
    >>> est.method, abs(est.value - 1.0) < 2 * est.sigma
    ('wald', True)
    >>> round(est.area_ratio / est.value, 4)                 # k = 10/12
    0.8333
    """
    idx10 = _indices(stretch.bands, "B10H10")
    idx12 = _indices(stretch.bands, "B12H12")
    if not idx10 or not idx12:
        raise InputError("the stretching fit needs bands of both anions for a ratio",
                         source=stretch.region)
    a10 = sum(stretch.bands[i].area for i in idx10)
    a12 = sum(stretch.bands[i].area for i in idx12)
    if a12 <= 0:
        raise InputError("B12H12 area is zero: no ratio", source=stretch.region)
    cov = stretch.area_covariance
    g = np.zeros(len(stretch.bands))  # gradient of A10/A12 over the band areas
    g[idx10] = 1.0 / a12
    g[idx12] = -a10 / a12 ** 2
    area_ratio = a10 / a12
    area_var = float(g @ cov @ g)
    area_sigma = math.sqrt(area_var) if area_var >= 0 else math.nan
    k, sk = calibration.k, calibration.k_sigma
    value = area_ratio / k
    sigma = value * math.sqrt((area_sigma / area_ratio) ** 2 + (sk / k) ** 2) \
        if area_ratio > 0 else area_sigma / k
    return RatioEstimate(value, sigma, area_ratio, area_sigma, calibration)


def calibrate_ratio(stretch_fits: Sequence[RegionFit], molar_ratios: Sequence[float],
                    provenance: str = "calibrated from spectra of known composition"
                    ) -> RatioCalibration:
    """Calibrate k = (A10/A12) / (n10/n12) from stretching fits of samples of known composition.

    Weigh mixtures of the two pure salts (e.g. the paper's equimolar 533.6 mg Na2B12H12 +
    466.4 mg Na2B10H10) and measure them; spectra of the pure salts alone fix band positions and
    widths for the library (:func:`narrow_priors`) but not k, because ATR contact differs between
    measurements. k is the inverse-variance weighted mean of the per-sample values; σ(k) is the
    larger of the propagated σ and the scatter (standard error) of the samples.

    Parameters
    ----------
    stretch_fits : sequence of RegionFit
        Stretching-region fits (bands of both anions) of the calibration samples.
    molar_ratios : sequence of float
        Their weighed molar ratios n(B10H10²⁻)/n(B12H12²⁻) (> 0), one per fit.
    provenance : str
        Stored with the calibration (say which samples and which instrument).

    Returns
    -------
    RatioCalibration
        ``k`` and ``k_sigma``, to pass as ``calibration`` to :func:`b10_b12_ratio`,
        :func:`estimate_ratio` or :func:`irkit.assess.assess`.

    Raises
    ------
    InputError
        No fits, a number of ratios different from the number of fits, or a ratio ≤ 0.

    Examples
    --------
    Three constructed mixtures of known composition (made with k = 10/12):

    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import calibrate_ratio
    >>> from irkit.synthetic import synthesize
    >>> ratios = [0.5, 1.0, 2.0]
    >>> fits = [fit_region(synthesize(80 + i, b10_b12_ratio=r, noise_sd=0.001).spectrum, "stretch")
    ...         for i, r in enumerate(ratios)]
    >>> cal = calibrate_ratio(fits, ratios, provenance="three weighed mixtures, ATR, 2026-01")
    >>> abs(cal.k - 10 / 12) < 2 * cal.k_sigma, cal.k_sigma < 0.05
    (True, True)
    """
    if len(stretch_fits) != len(molar_ratios) or not stretch_fits:
        raise InputError("need one known molar ratio per fit (and at least one fit)",
                         source="calibrate_ratio")
    ks, ws = [], []
    for fit, r in zip(stretch_fits, molar_ratios, strict=True):
        if not r > 0:
            raise InputError(f"molar ratios must be > 0, got {r}", source="calibrate_ratio")
        est = b10_b12_ratio(fit, RatioCalibration(1.0, 0.0, "unit"))
        ks.append(est.area_ratio / r)
        ws.append(1.0 / max((est.area_ratio_sigma / r) ** 2, 1e-300))
    k_arr, w_arr = np.array(ks), np.array(ws)
    k = float(np.sum(w_arr * k_arr) / np.sum(w_arr))
    sigma = math.sqrt(1.0 / float(np.sum(w_arr)))
    if k_arr.size > 1:
        sigma = max(sigma, float(np.std(k_arr, ddof=1) / math.sqrt(k_arr.size)))
    return RatioCalibration(k, sigma, provenance)


def narrow_priors(library: BandLibrary, fits: Sequence[RegionFit], *,
                  bound_cm1: float | None = None, n_sigma: float = 3.0,
                  min_bound_cm1: float = 3.0) -> BandLibrary:
    """A library whose band priors are centred on bands fitted in reference spectra.

    Fit the spectra of the pure salts (e.g. ``fit_region(pure_b12, "stretch", species=
    ("B12H12",))``) and pass the fits: each fitted band's prior moves to the fitted centre with
    bound ``bound_cm1`` (default ``max(n_sigma · σ_centre, min_bound_cm1)``). With priors that no
    longer overlap, the B10:B12 ratio becomes identifiable (see the module docstring).

    Parameters
    ----------
    library : BandLibrary
        The library to narrow (bands not fitted in ``fits`` are kept as they are).
    fits : sequence of RegionFit
        Fits of reference spectra (the pure salts on your instrument).
    bound_cm1 : float, optional
        Half-width of the new position priors, cm⁻¹ (default: from each centre's σ).
    n_sigma : float
        Multiple of the fitted centre's σ used as the bound.
    min_bound_cm1 : float
        Smallest bound, cm⁻¹.

    Returns
    -------
    BandLibrary
        A new library (``status="constructed"``, the source says it was narrowed).

    Examples
    --------
    >>> import math
    >>> from irkit.bands import load_band_library
    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import narrow_priors
    >>> from irkit.synthetic import synthesize
    >>> lib = load_band_library()
    >>> pure12 = fit_region(synthesize(1, b10_b12_ratio=0.0).spectrum, "stretch", species=("B12H12",))
    >>> pure10 = fit_region(synthesize(2, b10_b12_ratio=math.inf).spectrum, "stretch",
    ...                     species=("B10H10",))
    >>> narrow = narrow_priors(lib, [pure12, pure10])
    >>> for label in ("B12H12:nu_BH", "B10H10:nu_BH_eq"):
    ...     before, after = lib.get(label), narrow.get(label)
    ...     print(f"{label:16s} {before.position_cm1:.0f} ± {before.bound_cm1:.0f} -> "
    ...           f"{after.position_cm1:.0f} ± {after.bound_cm1:.0f} cm-1")
    B12H12:nu_BH     2480 ± 25 -> 2480 ± 3 cm-1
    B10H10:nu_BH_eq  2460 ± 25 -> 2460 ± 3 cm-1
    """
    fitted = {b.label: b for f in fits for b in f.bands}
    bands = []
    for band in library:
        fb = fitted.get(band.label)
        if fb is None or not np.isfinite(fb.center_cm1):
            bands.append(band)
            continue
        bound = bound_cm1 if bound_cm1 is not None else max(
            n_sigma * (fb.center_sigma_cm1 if np.isfinite(fb.center_sigma_cm1) else 0.0),
            min_bound_cm1)
        bands.append(replace(band, position_cm1=float(fb.center_cm1), bound_cm1=float(bound),
                             status="constructed",
                             source=f"narrowed from a fitted reference spectrum ({band.source})"))
    return BandLibrary(tuple(bands), f"{library.source} (priors narrowed)")


# --------------------------------------------------------------------------- internals


def _model_of(fit: RegionFit, library: BandLibrary) -> tuple[_RegionModel, np.ndarray,
                                                            np.ndarray, np.ndarray]:
    bands = [library.get(b.label) for b in fit.bands]
    degree = sum(1 for p in fit.parameters if p.name.startswith("bl_c")) - 1
    model = _RegionModel(fit.wavenumber_cm1, fit.data, bands, fit.shape, fit.shared_width,
                         degree)
    v = np.array([p.value for p in fit.parameters])
    lo = np.array([p.min for p in fit.parameters])
    hi = np.array([p.max for p in fit.parameters])
    return model, v, lo, hi


def _profiles(shape: str, x: np.ndarray, centres: np.ndarray, widths: np.ndarray,
              shape_value: np.ndarray) -> np.ndarray:
    """Unit-area profiles, shape (S, k, n) (pseudo-Voigt evaluated in place: this is the
    sampler's hot loop; same function as :func:`irkit.shapes.pseudo_voigt`)."""
    if shape != "pseudo_voigt":
        return voigt(x[None, None, :], 1.0, centres[:, :, None], widths[:, :, None],
                     shape_value[:, None, None])
    s = np.maximum(widths, 1e-15)[:, :, None]  # HWHM
    eta = shape_value[:, None, None]
    d2 = x[None, None, :] - centres[:, :, None]
    d2 *= d2
    s2 = s * s
    lor = s / (math.pi * (d2 + s2))
    gauss = np.exp(d2 * (-_LN2 / s2))
    gauss *= math.sqrt(_LN2 / math.pi) / s
    gauss *= 1.0 - eta
    lor *= eta
    gauss += lor
    return gauss


def _grid_start(fit: RegionFit, bands: Sequence[Band], anion: list[int]
                ) -> tuple[dict[str, float], float]:
    """Best anion-band centres on a grid over their prior windows (variable projection) and the
    χ² there (widths at the prior)."""
    x, y = fit.wavenumber_cm1, fit.data
    others = [i for i in range(len(fit.bands)) if i not in anion]
    if others:  # non-anion bands (e.g. a protonated band) kept as fitted
        y = y - sum(fit.components[i] for i in others)
    u = (x - 0.5 * (x[0] + x[-1])) / (0.5 * (x[-1] - x[0]))
    degree = sum(1 for p in fit.parameters if p.name.startswith("bl_c")) - 1
    base = np.array([u ** i for i in range(degree + 1)])
    axes = [np.linspace(bands[i].position_cm1 - bands[i].bound_cm1,
                        bands[i].position_cm1 + bands[i].bound_cm1, GRID_POINTS) for i in anion]
    # all candidate columns once; each combination's normal equations are sub-blocks of one
    # Gram matrix (variable projection without rebuilding the design per combination)
    columns = np.concatenate(
        [pseudo_voigt(x[None, :], 1.0, ax[:, None], 0.5 * bands[i].fwhm_cm1, 0.5)
         for ax, i in zip(axes, anion, strict=True)] + [base])
    gram_all = columns @ columns.T
    rhs_all = columns @ y
    combos = np.array(list(itertools.product(range(GRID_POINTS), repeat=len(anion))))
    n_band = len(anion) * GRID_POINTS
    index = np.concatenate([combos + GRID_POINTS * np.arange(len(anion))[None, :],
                            np.broadcast_to(n_band + np.arange(degree + 1),
                                            (len(combos), degree + 1))], axis=1)
    gram = gram_all[index[:, :, None], index[:, None, :]]
    rhs = rhs_all[index]
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    chi2 = float(y @ y) - np.einsum("sp,sp->s", coef, rhs)
    chi2[(coef[:, :len(anion)] < 0).any(axis=1)] = np.inf
    best = int(np.argmin(chi2))
    start = {bands[i].label: float(axes[j][combos[best, j]]) for j, i in enumerate(anion)}
    return start, float(chi2[best])


def _exchange_modes(model: _RegionModel, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    nl: np.ndarray, chol: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Proposal modes: the best fit and every label exchange of its anion bands that stays
    within reach of the prior bounds; ``(theta, cholesky, changes_ratio)`` each."""
    k = len(model.bands)
    shared = model.shared
    anion = [i for i, b in enumerate(model.bands) if b.species in ANION_SPECIES]
    theta0 = v[nl]
    sd = np.sqrt(np.sum(chol ** 2, axis=1))
    lo_n, hi_n = lo[nl], hi[nl]
    modes = []
    for perm in itertools.permutations(anion):
        order = np.arange(nl.size)
        mapping = dict(zip(anion, perm, strict=True))
        for slot, src in mapping.items():  # band `src`'s parameters go to slot `slot`
            order[slot] = src
            if not shared:
                order[k + slot] = k + src
        theta = theta0[order]
        outside = np.maximum(lo_n - theta, 0.0) + np.maximum(theta - hi_n, 0.0)
        if np.any(outside > EXCHANGE_REACH_SIGMA * sd[order]):
            continue
        changes = any(model.bands[slot].species != model.bands[src].species
                      for slot, src in mapping.items())
        modes.append((theta, chol[order], changes))
    return modes


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, probs: Sequence[float]
                        ) -> list[float]:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) - 0.5 * w
    cdf /= w.sum()
    return [float(np.interp(p, cdf, v)) for p in probs]


def _posterior(fit: RegionFit, library: BandLibrary, calibration: RatioCalibration,
               n_samples: int, seed: int) -> RatioEstimate | None:
    model, v, lo, hi = _model_of(fit, library)
    k = len(model.bands)
    widths = np.unique(model.i_wid)
    nl = np.concatenate([model.i_cen, widths, [model.i_shape]])
    cov = np.asarray(fit.covariance)[np.ix_(nl, nl)]
    if not np.all(np.isfinite(cov)):
        return None
    d = nl.size
    try:
        chol = np.linalg.cholesky(cov + np.eye(d) * 1e-12 * float(np.max(np.diag(cov))))
    except np.linalg.LinAlgError:
        return None
    modes = _exchange_modes(model, v, lo, hi, nl, chol)
    rng = np.random.default_rng(seed)
    per = max(n_samples // len(modes), 8)
    draws, membership = [], []
    for m, (theta, lm, _) in enumerate(modes):
        z = rng.standard_normal((per, d))
        g = rng.chisquare(PROPOSAL_DOF, per) / PROPOSAL_DOF
        t = theta + PROPOSAL_SCALE * (z @ lm.T) / np.sqrt(g)[:, None]
        t[0] = theta
        draws.append(t)
        membership.append(np.full(per, m))
    theta_s = np.concatenate(draws)
    inside = np.all((theta_s >= lo[nl]) & (theta_s <= hi[nl]), axis=1)
    theta_s = theta_s[inside]
    if theta_s.shape[0] < 2:
        return None
    log_q = []
    for theta, lm, _ in modes:  # mixture proposal density (equal weights, equal determinants)
        zz = np.linalg.solve(lm, (theta_s - theta).T).T / PROPOSAL_SCALE
        log_q.append(-0.5 * (PROPOSAL_DOF + d) * np.log1p(np.sum(zz ** 2, axis=1)
                                                          / PROPOSAL_DOF))
    log_q_arr = np.array(log_q)
    nearest = np.argmax(log_q_arr, axis=0)
    log_q_mix = np.logaddexp.reduce(log_q_arr, axis=0)
    centres = theta_s[:, :k]
    width_cols = theta_s[:, k:k + widths.size]
    band_widths = width_cols[:, np.searchsorted(widths, model.i_wid)]
    shape_value = theta_s[:, -1]
    phi_bands = _profiles(model.shape, model.x, centres, band_widths, shape_value)
    phi = np.concatenate([phi_bands, np.broadcast_to(model.powers[None],
                                                     (theta_s.shape[0],) + model.powers.shape)],
                         axis=1)
    gram = phi @ np.transpose(phi, (0, 2, 1))
    rhs = phi @ model.y
    try:
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        gram_inv = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        return None
    chi2 = float(model.y @ model.y) - np.einsum("sp,sp->s", coef, rhs)
    s2 = fit.quality.redchi
    _, logdet = np.linalg.slogdet(gram)
    log_w = -(chi2 - chi2.min()) / (2.0 * s2) - 0.5 * logdet - log_q_mix
    log_w -= log_w.max()
    w = np.exp(log_w)
    w /= w.sum()
    ess = float(1.0 / np.sum(w ** 2))
    amp_cov = gram_inv[:, :k, :k] * s2
    try:
        amp_chol = np.linalg.cholesky(amp_cov)
    except np.linalg.LinAlgError:
        return None
    z = rng.standard_normal((theta_s.shape[0], N_AMPLITUDE_DRAWS, k))
    amps = coef[:, None, :k] + np.einsum("sij,smj->smi", amp_chol, z)
    i10 = _indices(model.bands, "B10H10")
    i12 = _indices(model.bands, "B12H12")
    a10 = amps[..., i10].sum(axis=-1)
    a12 = amps[..., i12].sum(axis=-1)
    valid = (amps[..., [*i10, *i12]] >= 0).all(axis=-1) & (a12 > 0)
    weights = np.repeat(w[:, None], N_AMPLITUDE_DRAWS, axis=1)[valid]
    if weights.sum() <= 0:
        return None
    area = (a10 / np.where(a12 > 0, a12, 1.0))[valid]
    changes = np.array([m[2] for m in modes])
    mode_of = np.repeat(nearest[:, None], N_AMPLITUDE_DRAWS, axis=1)[valid]
    exchange = float(np.sum(weights * changes[mode_of]) / weights.sum())
    alternatives = []
    for m in range(len(modes)):
        sel = mode_of == m
        mass = float(weights[sel].sum() / weights.sum())
        if mass > 1e-3:
            alternatives.append((_weighted_quantiles(area[sel], weights[sel], (0.5,))[0]
                                 / calibration.k, mass))
    q = _weighted_quantiles(area, weights, (0.5, *_Q1, *_Q2))
    med, q16, q84, q02, q98 = q
    area_sigma = max(med - q16, q84 - med, 0.5 * (med - q02), 0.5 * (q98 - med))
    kk, sk = calibration.k, calibration.k_sigma
    value = med / kk
    rel_k = sk / kk
    sigma = value * math.hypot(area_sigma / med, rel_k) if med > 0 else area_sigma / kk

    def widen(lo_v: float, hi_v: float, n: float) -> tuple[float, float]:
        lo_m, hi_m = lo_v / kk, hi_v / kk
        return (value - math.hypot(value - lo_m, n * rel_k * value),
                value + math.hypot(hi_m - value, n * rel_k * value))

    return RatioEstimate(value=value, sigma=sigma, area_ratio=med, area_ratio_sigma=area_sigma,
                         calibration=calibration, method="posterior",
                         interval_68=widen(q16, q84, 1.0), interval_95=widen(q02, q98, 2.0),
                         effective_samples=ess, exchange_probability=exchange,
                         alternatives=tuple(alternatives))


def estimate_ratio(
    spectrum: Spectrum,
    stretch: RegionFit,
    calibration: RatioCalibration = DEFAULT_RATIO_CALIBRATION,
    *,
    library: BandLibrary | None = None,
    n_samples: int = N_SAMPLES,
    seed: int = 0,
) -> RatioOutcome:
    """The B10:B12 ratio with an honest σ, or None with the reason (see the module docstring).

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance spectrum the stretching fit was made on (refitted from the grid start).
    stretch : RegionFit
        Stretching-region fit with the bands of both anions (and optionally others, e.g. a
        protonated band, which stay nuisance bands).
    calibration : RatioCalibration
    library : BandLibrary, optional
        The library the fit was made with (its bounds are the priors).
    n_samples : int
        Importance samples.
    seed : int
        Seed of the sampler (fixed: the same spectrum gives the same answer).

    Returns
    -------
    RatioOutcome
        ``estimate`` (None when not identified) with ``reason``, the ``posterior`` summary in
        either case, and the stretching fit it was built on.

    Raises
    ------
    InputError
        The fit lacks the bands of one anion.

    Examples
    --------
    With the library's wide priors the B12H12²⁻ and B10H10²⁻ ν(B–H) bands can swap labels, so
    a constructed 1:1 spectrum gets no ratio, and the reason names the competing values:

    >>> import math
    >>> from irkit.bands import load_band_library
    >>> from irkit.fit import fit_region
    >>> from irkit.ratio import estimate_ratio, narrow_priors
    >>> from irkit.synthetic import synthesize
    >>> mix = synthesize(3).spectrum
    >>> out = estimate_ratio(mix, fit_region(mix, "stretch"))
    >>> out.estimate is None, out.reason.startswith("not identified"), "exchange labels" in out.reason
    (True, True, True)

    With priors narrowed on the pure salts (:func:`narrow_priors`) a 1:2 mixture is reported,
    and its σ covers the truth:

    >>> narrow = narrow_priors(load_band_library(), [
    ...     fit_region(synthesize(1, b10_b12_ratio=0.0).spectrum, "stretch", species=("B12H12",)),
    ...     fit_region(synthesize(2, b10_b12_ratio=math.inf).spectrum, "stretch",
    ...                species=("B10H10",))])
    >>> mix = synthesize(6, b10_b12_ratio=0.5).spectrum
    >>> out = estimate_ratio(mix, fit_region(mix, "stretch", library=narrow), library=narrow)
    >>> est = out.estimate
    >>> est.method, round(est.value, 1), abs(est.value - 0.5) < 2 * est.sigma
    ('posterior', 0.5, True)
    >>> est.interval_95[0] < 0.5 < est.interval_95[1]
    True
    """
    lib = library or load_band_library()
    notes: list[str] = []
    if not _indices(stretch.bands, "B10H10") or not _indices(stretch.bands, "B12H12"):
        raise InputError("the stretching fit needs bands of both anions for a ratio",
                         source=stretch.region)
    bands = [lib.get(b.label) for b in stretch.bands]
    anion = [i for i, b in enumerate(bands) if b.species in ANION_SPECIES]
    start, _ = _grid_start(stretch, bands, anion)
    degree = sum(1 for p in stretch.parameters if p.name.startswith("bl_c")) - 1

    def refit() -> RegionFit:
        return fit_region(spectrum, (stretch.low_cm1, stretch.high_cm1), bands=bands,
                          shape=stretch.shape, shared_width=stretch.shared_width,
                          baseline_degree=degree, start_cm1=start)

    # the grid's χ² is at the prior widths, so it cannot be compared with the fit's: refit from
    # the grid's best point (unless the fit already sits in that grid cell) and keep the better
    # of the two decompositions
    current = {b.label: b.center_cm1 for b in stretch.bands}
    same_cell = all(abs(start[lab] - current[lab])
                    <= lib.get(lab).bound_cm1 / (GRID_POINTS - 1) for lab in start)
    other = stretch if same_cell else replace(refit(), region=stretch.region)
    if other.quality.chisqr < stretch.quality.chisqr * (1.0 - 1e-9):
        notes.append(f"global search: a better decomposition than the one from the priors "
                     f"(χ² {stretch.quality.chisqr:.4g} → {other.quality.chisqr:.4g})")
        stretch = other
    posterior = _posterior(stretch, lib, calibration, n_samples, seed)
    if posterior is None and other is not stretch:
        # degenerate decomposition (e.g. two bands on one spot): try the other basin
        posterior = _posterior(other, lib, calibration, n_samples, seed)
        if posterior is not None:
            notes.append("degenerate decomposition: the global search's basin used")
            stretch = other
    if posterior is None:
        return RatioOutcome(None, "not identified: the stretching fit has no usable covariance "
                            "(a band absent or two bands on one spot)", None, stretch,
                            tuple(notes))
    reason = ""
    lo68, hi68 = posterior.interval_68
    if posterior.exchange_probability > MAX_EXCHANGE_PROBABILITY:
        fitted = {b.label: b.center_cm1 for b in stretch.bands}
        where = ", ".join(f"{lab.split(':')[0]} {pos:.0f}" for lab, pos in fitted.items()
                          if lab.split(":")[0] in ANION_SPECIES)
        values = ", ".join(f"{v:.2f} ({p:.0%})" for v, p in posterior.alternatives)
        reason = (f"not identified: the B12H12 and B10H10 ν(B–H) bands ({where} cm⁻¹) can "
                  f"exchange labels within their position priors; the data fit equally well "
                  f"with B10:B12 = {values}; narrow the priors with spectra of the pure salts")
    elif posterior.effective_samples < MIN_EFFECTIVE_SAMPLES:
        reason = (f"not identified: the posterior is not explored (effective sample size "
                  f"{posterior.effective_samples:.0f} < {MIN_EFFECTIVE_SAMPLES:.0f})")
    elif not (posterior.value > 0 and posterior.sigma / posterior.value <= MAX_RELATIVE_SIGMA):
        reason = (f"not resolved: σ/ratio = {posterior.sigma / max(posterior.value, 1e-300):.2f} "
                  f"> {MAX_RELATIVE_SIGMA} (68 % interval {lo68:.2f}–{hi68:.2f})")
    if reason:
        return RatioOutcome(None, reason, posterior, stretch, tuple(notes))
    return RatioOutcome(posterior, "", posterior, stretch, tuple(notes))
