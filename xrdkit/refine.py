"""Whole-pattern (Rietveld-style) multi-phase refinement with quantitative phase analysis.

The fit is a separable nonlinear least-squares problem (variable projection,
Golub & Pereyra, *SIAM J. Numer. Anal.* 10 (1973) 413, doi:10.1137/0710036):

- **linear** coefficients — one scale per structural phase, one intensity per
  reflection family of a Pawley phase, the Chebyshev background — are solved at
  every step by weighted linear least squares (scales and Pawley intensities
  non-negative, by an active-set loop);
- **nonlinear** parameters — lattice (constrained by the crystal system), zero
  shift, sample displacement, specimen transparency, TCH widths, asymmetry, B_iso and
  March–Dollase per phase — go to a bounded Levenberg–Marquardt on the projected problem
  (:mod:`xrdkit.varpro`) with the analytic Jacobian of :class:`~xrdkit.simulate.PatternModel`
  (every column's derivatives from one evaluation, so the Golub–Pereyra term is exact),
  stopping when the Gauss–Newton step is below ``converge_sigma`` standard deviations.

Weights are 1/σ² (Poisson unless the scan carries σ).  Uncertainties come from the
full Jacobian (nonlinear and linear parameters) at the solution, scaled by the
reduced χ² as GSAS and lmfit do.  Weight fractions follow Hill & Howard (1987)
``w_p = s_p (ZMV)_p / Σ s_q (ZMV)_q``, optionally divided by Brindley's particle
absorption factor τ_p (Brindley, *Phil. Mag.* 36 (1945) 347) for microabsorption.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from xrdkit._callable import make_callable
from xrdkit._jit import jit
from xrdkit._summary import HtmlSummary
from xrdkit.errors import FitError, InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.profiles import DEFAULT_WINDOW_FWHM
from xrdkit.reflections import ReflectionList
from xrdkit.scans import Scan
from xrdkit.session import FitSession, default_session
from xrdkit.simulate import MIN_GAUSS_FWHM_DEG, ParamKey, PatternModel, resolve_phases
from xrdkit.varpro import LinearProjection, VPPoint, VPResult, varpro_lm

if TYPE_CHECKING:
    import lmfit

__all__ = ["RefinementResult", "ParameterTable", "PhaseResult", "screen_phases", "WarmStart", "merge_warm_starts", "refine", "RefineOptions", "fit_statistics",
           "serial_correlation"]

log = logging.getLogger(__name__)

#: Most peak columns for which the pattern model returns every column's Jacobian (one
#: evaluation per step, exact variable-projection Jacobian); Pawley phases with more
#: families use a second evaluation per step for ∂(A c)/∂θ instead.
PER_COLUMN_JACOBIAN_MAX = 16
#: Fewest points a whole-pattern fit accepts (several per peak, more than the parameters).
MIN_FIT_POINTS = 20
#: A phase whose weight fraction is below this many σ is reported as not detected.
DETECTED_SIGMA = 3.0
#: |correlation| above which a pair of parameters is reported.
CORRELATION_WARN = 0.95
#: A parameter within this fraction of its bound range from a bound is "at the bound".
AT_BOUND_REL = 1e-3
#: Profile-width parameters, held fixed in the first stage of a cold start.
_WIDTH_FIELDS = frozenset(
    {"u_deg2", "v_deg2", "w_deg2", "x_deg", "y_deg", "asymmetry", "b_iso", "march_dollase", "strain_deg2", "size_deg"}
)
#: Lorentzian widths: started just above their 0 bound in a cold fit (see LORENTZ_START_DEG).
_LORENTZ_FIELDS = frozenset({"x_deg", "y_deg", "size_deg"})
#: Parameters whose natural value is their lower bound (no at-bound warning there).
_ZERO_NATURAL = frozenset({"strain_deg2", "size_deg", "penetration_depth_mm", "u_deg2", "x_deg", "y_deg"})
#: Upper bounds of the per-phase broadening: a crystalline phase, not an amorphous hump
#: (size 1° ≈ 8 nm Scherrer size at 15° 2θ, Cu Kα: nanocrystalline NBH early in an anneal).
MAX_STRAIN_DEG2 = 0.05
MAX_SIZE_DEG = 1.0
#: Relative lattice bounds around the phase's own cell (±1.5 %: NBH expands ≈ 0.5 % from 25 to 180 °C).
LATTICE_BOUND_REL = 0.015
#: Convergence of the position-only first stage of a cold start (σ; the second stage refines on).
POSITION_STAGE_SIGMA = 1.0
#: Longest residual lag (points) summed in the Bérar–Lelann factor (several peak widths).
SERIAL_MAX_LAG = 400
#: Start of a varied Lorentzian width (X, Y, per-phase size) that would start at its 0 bound (deg).
LORENTZ_START_DEG = 0.005


@dataclass(frozen=True)
class RefineOptions:
    """What to refine and how.

    Attributes
    ----------
    refine_lattice, refine_zero, refine_displacement, refine_transparency : bool
        Zero shift and sample displacement are nearly collinear over a short 2θ range:
        displacement is off by default.
    refine_widths : tuple of str
        Subset of ``("u_deg2", "v_deg2", "w_deg2", "x_deg", "y_deg")``.
    refine_asymmetry, refine_b_iso : bool
    refine_phase_broadening : bool
        Per-phase microstrain and crystallite-size broadening on top of the instrument
        widths (needed when phases differ in crystallinity, as infiltrated NBH does), ≥ 0.
        They have the angular forms of the instrument's U (strain), and X/Y (size), so with
        them on, U, X and Y stay at the instrument's values (calibrate them on a standard)
        and only V and W of the instrument refine.
    preferred_orientation : dict
        Phase name → (h, k, l) March–Dollase axis (the ratio is then refined).
    pawley : tuple of str
        Phases fitted with free intensities per reflection family (cell only).
    background_terms : int
        Chebyshev terms.
    window_fwhm : float
        Profile window (± FWHM).
    max_nfev : int
        Maximum model evaluations of the optimiser (per stage).
    converge_sigma : float
        Convergence: stop when the Gauss–Newton step is shorter than this many standard
        deviations of the parameters (see :mod:`xrdkit.varpro`).
    ftol : float
        …or when an accepted step lowers χ² by less than ``ftol · χ²``.
    particle_size_um : dict
        Phase name → particle diameter (µm) for Brindley's microabsorption correction.

    Examples
    --------
    The defaults, and options for a cast electrode (NaCrO2 platelets lying flat: March–Dollase
    along (00l); sample displacement refined with the zero shift; 6 background terms):

    >>> import dataclasses
    >>> opts = RefineOptions()
    >>> opts.refine_lattice, opts.refine_displacement, opts.background_terms, opts.max_nfev
    (True, False, 10, 200)
    >>> electrode = dataclasses.replace(opts, preferred_orientation={"nacro2": (0, 0, 1)},
    ...                                 refine_displacement=True, background_terms=6)
    >>> electrode.preferred_orientation, electrode.refine_zero, electrode.converge_sigma
    ({'nacro2': (0, 0, 1)}, True, 0.1)

    Pass it as ``refine(scan, phases, options=electrode)``.
    """

    refine_lattice: bool = True
    refine_zero: bool = True
    refine_displacement: bool = False
    refine_transparency: bool = False
    refine_widths: tuple[str, ...] = ("u_deg2", "v_deg2", "w_deg2", "x_deg", "y_deg")
    refine_asymmetry: bool = False
    refine_b_iso: bool = False
    refine_phase_broadening: bool = True
    preferred_orientation: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    pawley: tuple[str, ...] = ()
    background_terms: int = 10
    window_fwhm: float = DEFAULT_WINDOW_FWHM
    max_nfev: int = 200
    converge_sigma: float = 0.1
    ftol: float = 1e-9
    particle_size_um: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WarmStart:
    """The nonlinear parameters of a previous fit, small enough to send between processes.

    ``curvature`` is the Gauss–Newton matrix of the varied parameters (named by
    ``curvature_labels``) at the previous solution: a fit that varies the same parameters
    takes its first step with it instead of computing it.

    Attributes
    ----------
    theta : ndarray, shape (k,)
        Values of the nonlinear parameters (units in their names: ``zero_shift_deg`` in deg,
        ``nbh_fcc_a`` in Å, ``u_deg2`` in deg² …).
    theta_labels : tuple of str
        Their names, in the order of ``theta`` (:attr:`RefinementResult.theta_labels`).
    curvature : ndarray, shape (v, v), or None
        Gauss–Newton matrix JᵀWJ of the varied parameters at the previous solution (None:
        not known; the fit computes it).
    curvature_labels : tuple of str
        Names of the rows and columns of ``curvature``.

    Examples
    --------
    :meth:`RefinementResult.warm_start` makes one; by hand, a start that only sets the zero
    shift (deg) and the Al cell (Å) — a partial start supplies starting values only:

    >>> import numpy as np
    >>> start = WarmStart(np.array([0.012, 4.0496]), ("zero_shift_deg", "al_a"))
    >>> dict(zip(start.theta_labels, start.theta.tolist())), start.curvature is None
    ({'zero_shift_deg': 0.012, 'al_a': 4.0496}, True)
    """

    theta: np.ndarray
    theta_labels: tuple[str, ...]
    curvature: np.ndarray | None = None
    curvature_labels: tuple[str, ...] = ()


def merge_warm_starts(*starts: WarmStart | RefinementResult | None) -> WarmStart:
    """One warm start from several (later ones win for shared parameter names).

    Parameters
    ----------
    *starts : WarmStart, RefinementResult or None
        Starts to merge, in order of precedence (lowest first); None entries are skipped.

    Returns
    -------
    WarmStart
        Every parameter named in any start, in the order first named, with the value of the
        last start naming it; no curvature (the merged set was not fitted together).

    Examples
    --------
    The electrode model's start and the NBH cell of another fit (``nbh_fcc_a`` in Å, the zero
    shift in deg): the later start wins the shared zero shift.

    >>> import numpy as np
    >>> electrode = WarmStart(np.array([0.010, 2.974]), ("zero_shift_deg", "nacro2_a"))
    >>> nbh = WarmStart(np.array([0.015, 10.12]), ("zero_shift_deg", "nbh_fcc_a"))
    >>> merged = merge_warm_starts(electrode, None, nbh)
    >>> dict(zip(merged.theta_labels, merged.theta.tolist())), merged.curvature
    ({'zero_shift_deg': 0.015, 'nacro2_a': 2.974, 'nbh_fcc_a': 10.12}, None)
    """
    merged: dict[str, float] = {}
    for st in starts:
        if st is not None:
            merged.update(zip(st.theta_labels, np.asarray(st.theta, dtype=float).tolist(), strict=True))
    return WarmStart(np.array(list(merged.values())), tuple(merged))


@dataclass(frozen=True)
class PhaseResult:
    """One phase of a refinement.

    Attributes
    ----------
    name : str
        Phase name (as in the phase library, or the reflection list's name).
    kind : str
        ``"structure"`` (intensities from the structure) or ``"pawley"`` (free intensities).
    weight_fraction, weight_fraction_sigma : float or None
        Weight fraction (0–1) of the crystalline sample (Hill–Howard) and its σ (with the
        Bérar–Lelann factor, plus the model-error part when estimated); None for a Pawley
        phase.
    scale, scale_sigma : float
        Refined scale factor and its σ (NaN for a Pawley phase).
    lattice, lattice_sigma : dict of str to float
        Lattice parameters (``a``, ``b``, ``c`` in Å; ``alpha``, ``beta``, ``gamma`` in deg;
        only the free ones of the crystal system) and their σ's.
    volume_angstrom3 : float
        Cell volume (Å³).
    b_iso_angstrom2 : float
        Overall isotropic displacement parameter B (Å²).
    march_dollase : float
        March–Dollase ratio (1: no preferred orientation).
    weight_fraction_sigma_statistical : float or None
        σ of the weight fraction from the covariance with the Bérar–Lelann correction alone.
    weight_fraction_sigma_model : float or None
        Model-error part of the weight-fraction σ (None: not estimated).
    lattice_sigma_statistical : dict of str to float
        Lattice σ's of the covariance alone.

    Examples
    --------
    :func:`refine` makes them (``result.phases``); by hand, 25 ± 1 wt % Al with its cubic cell:

    >>> al = PhaseResult("al", "structure", 0.25, 0.01, 2.4e-3, 2e-5, {"a": 4.0496}, {"a": 1e-4},
    ...                  4.0496**3, 0.8, 1.0)
    >>> round(al.volume_angstrom3, 2), al.lattice["a"]    # Å³ = a³ for a cubic cell; Å
    (66.41, 4.0496)
    >>> al.weight_fraction_sigma_model is None              # no model-error estimate here
    True
    """

    name: str
    kind: str  # "structure" or "pawley"
    weight_fraction: float | None
    weight_fraction_sigma: float | None
    scale: float
    scale_sigma: float
    lattice: dict[str, float]
    lattice_sigma: dict[str, float]
    volume_angstrom3: float
    b_iso_angstrom2: float
    march_dollase: float
    #: σ of the weight fraction from the least-squares covariance with the Bérar–Lelann
    #: serial-correlation correction (``weight_fraction_sigma`` adds the model-error part
    #: when :func:`xrdkit.qpa.quantify` estimated one; otherwise the two are equal).
    weight_fraction_sigma_statistical: float | None = None
    #: Model-error part of the weight-fraction σ (None: not estimated).
    weight_fraction_sigma_model: float | None = None
    #: Lattice σ's of the covariance alone (``lattice_sigma`` may include the model part).
    lattice_sigma_statistical: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ParameterTable:
    """Every parameter of a refinement (nonlinear and linear) as arrays.

    Cheap to build, pickle and store; :meth:`to_lmfit` gives the same as an
    :class:`lmfit.Parameters` (values, bounds, ``vary``, ``stderr``, ``correl``).

    Attributes
    ----------
    names : tuple of str
    value, stderr, lower, upper : ndarray
        ``stderr`` is NaN for parameters that were not varied.
    vary : ndarray of bool
    covariance : ndarray (v, v)
        Covariance of the varied parameters, in the order of ``names[vary]``.

    Examples
    --------
    :func:`refine` makes it (``result.parameters``); by hand, a zero shift (deg) and a cell
    edge (Å) varied, B (Å²) held fixed:

    >>> import numpy as np
    >>> table = ParameterTable(
    ...     names=("zero_shift_deg", "al_a", "al_b_iso"), value=np.array([0.01, 4.0496, 0.8]),
    ...     stderr=np.array([2e-3, 1e-4, np.nan]), vary=np.array([True, True, False]),
    ...     lower=np.array([-0.5, 3.99, -1.0]), upper=np.array([0.5, 4.11, 15.0]),
    ...     covariance=np.array([[4e-6, 1.6e-7], [1.6e-7, 1e-8]]))
    >>> table.value[table.index("al_a")]
    np.float64(4.0496)
    >>> corr = table.correlation()          # 1.6e-7 / (2e-3 · 1e-4) = 0.8
    >>> np.round(corr, 3).tolist()
    [[1.0, 0.8], [0.8, 1.0]]
    """

    names: tuple[str, ...]
    value: np.ndarray
    stderr: np.ndarray
    vary: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    covariance: np.ndarray

    def index(self, name: str) -> int:
        """Position of a parameter by name."""
        return self.names.index(name)

    def correlation(self) -> np.ndarray:
        """Correlation matrix of the varied parameters (NaN where σ = 0)."""
        sd = np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.covariance / np.outer(sd, sd)

    def to_lmfit(self) -> lmfit.Parameters:
        """The table as :class:`lmfit.Parameters` (with ``stderr`` and ``correl``)."""
        import lmfit  # only here: importing it costs ≈ 0.5 s of every batch start-up

        params = lmfit.Parameters()
        for j, name in enumerate(self.names):
            params.add(name, value=float(self.value[j]), vary=bool(self.vary[j]),
                       min=float(self.lower[j]), max=float(self.upper[j]))
            if self.vary[j]:
                params[name].stderr = float(self.stderr[j])
        varied = [n for n, v in zip(self.names, self.vary, strict=True) if v]
        corr = self.correlation()
        for a, name in enumerate(varied):
            params[name].correl = {
                varied[b]: float(corr[a, b]) for b in range(len(varied)) if b != a and np.isfinite(corr[a, b])
            }
        return params


@dataclass(frozen=True)
class RefinementResult(HtmlSummary):
    """Outcome of :func:`refine` (all arrays on the fitted 2θ grid).

    ``parameters`` holds every nonlinear and linear parameter with σ and the covariance;
    ``params`` gives the same as an :class:`lmfit.Parameters` (built on first access).

    Attributes
    ----------
    source : str
        Where the scan came from (:attr:`xrdkit.scans.Scan.source`).
    phases : tuple of PhaseResult
        The phases, in the order given.
    parameters : ParameterTable
        Every parameter (nonlinear and linear) with σ, bounds and the covariance.
    rp, rwp, rexp : float
        Profile, weighted-profile and expected R factors (fractions, not %;
        :func:`fit_statistics`).
    gof : float
        Goodness of fit Rwp / Rexp (≈ 1 for a model that explains the data to the noise).
    chi2, redchi : float
        χ² = Σ (y − calc)²/σ² and χ² / (N − P).
    aic, bic : float
        χ² + 2P and χ² + P ln N (compare models of one scan).
    n_points, n_params : int
        Points fitted (N) and parameters varied (P, the active linear ones included).
    converged : bool
        Whether the optimiser met its convergence test (see ``message``).
    message : str
        The optimiser's stopping reason.
    nfev, njev : int
        Model evaluations and Jacobian evaluations of the optimiser.
    warnings : tuple of str
        Strong correlations, parameters at a bound, phases not significantly detected,
        non-convergence.
    two_theta_deg, observed, sigma : ndarray
        The fitted grid (deg), the counts and their σ (counts).
    calculated, background : ndarray
        Fitted pattern and its background (counts; ``extra_components`` included).
    components : dict of str to ndarray
        Each phase's fitted pattern (counts) by name.
    theta : ndarray
        Nonlinear parameter values at the solution.
    theta_labels : tuple of str
        Their names (``zero_shift_deg``, ``u_deg2``, ``<phase>_a`` …).
    elapsed_s : float
        Wall time of the fit (s).
    curvature : ndarray or None
        Gauss–Newton matrix of the varied nonlinear parameters at the solution (warm starts).
    curvature_labels : tuple of str
        Names of its rows and columns.
    durbin_watson : float
        Durbin–Watson statistic of the weighted residuals (2 = uncorrelated; < 2: neighbouring
        residuals share a sign, the usual Rietveld case of profile misfit).
    serial_correlation_factor : float
        Bérar–Lelann variance factor applied to the covariance (≥ 1; 1 for white residuals;
        :func:`serial_correlation`).
    model_error : dict
        What the model-error part of the σ's was estimated from (:func:`xrdkit.qpa.quantify`;
        empty: not estimated).
    extra_components : dict of str to ndarray
        Fixed-shape non-negative components fitted with the background (``extra_background``),
        by name, in counts on the grid; they are included in ``background``.

    Examples
    --------
    Al simulated on the lab instrument with Poisson noise, refined back:

    >>> import numpy as np
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import simulate
    >>> two_theta_deg = np.arange(35.0, 70.0, 0.02)
    >>> pattern = simulate(["al"], [1.0], two_theta_deg, peak_max=2000.0, background=[50.0])
    >>> counts = np.random.default_rng(0).poisson(pattern.intensity)
    >>> result = refine(make_scan(two_theta_deg, counts, source="al"), ["al"])
    >>> result.converged, result.n_points, round(result.gof, 1)
    (True, 1750, 1.0)

    Rwp from the stored arrays, and the cell against the CIF's a = 4.04958 Å:

    >>> w = 1 / result.sigma**2
    >>> rwp = np.sqrt(np.sum(w * result.residual**2) / np.sum(w * result.observed**2))
    >>> bool(np.isclose(rwp, result.rwp))
    True
    >>> al = result.phase("al")
    >>> al.lattice["a"] == result.value("al_a"), bool(abs(al.lattice["a"] - 4.04958) < 3 * al.lattice_sigma["a"])
    (True, True)
    """

    source: str
    phases: tuple[PhaseResult, ...]
    parameters: ParameterTable
    rp: float
    rwp: float
    rexp: float
    gof: float
    chi2: float
    redchi: float
    aic: float
    bic: float
    n_points: int
    n_params: int
    converged: bool
    message: str
    nfev: int
    njev: int
    warnings: tuple[str, ...]
    two_theta_deg: np.ndarray
    observed: np.ndarray
    sigma: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    components: dict[str, np.ndarray]
    theta: np.ndarray
    theta_labels: tuple[str, ...]
    elapsed_s: float
    curvature: np.ndarray | None = field(default=None, repr=False)
    curvature_labels: tuple[str, ...] = field(default=(), repr=False)
    #: Durbin–Watson statistic of the weighted residuals (2 = uncorrelated; < 2: neighbouring
    #: residuals share a sign, the usual Rietveld case of profile misfit).
    durbin_watson: float = float("nan")
    #: Bérar–Lelann variance factor applied to the covariance (≥ 1; 1 for white residuals).
    serial_correlation_factor: float = 1.0
    #: What the model-error part of the σ's was estimated from (empty: not estimated).
    model_error: dict = field(default_factory=dict, repr=False)
    #: Fixed-shape non-negative components fitted with the background (``extra_background``),
    #: by name, in counts on the grid; they are included in :attr:`background`.
    extra_components: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def residual(self) -> np.ndarray:
        """Observed − calculated."""
        return self.observed - self.calculated

    def __repr__(self) -> str:
        phases = ", ".join(f"{p.name} {_pct(p.weight_fraction, p.weight_fraction_sigma)}" for p in self.phases)
        return (f"<RefinementResult {self.source}: {phases}; Rwp {100 * self.rwp:.2f} %, GOF {self.gof:.2f}, "
                f"{'converged' if self.converged else 'NOT converged'}>")

    def summary(self) -> str:
        """A one-screen text report of the fit (like lmfit's ``fit_report``).

        Examples
        --------
        >>> print(result.summary())  # doctest: +SKIP
        """
        lines = [
            f"[[Refinement]] {self.source}",
            f"    points {self.n_points}, parameters {self.n_params}, evaluations {self.nfev}, "
            f"{'converged' if self.converged else 'NOT converged: ' + self.message}",
            f"    Rwp {100 * self.rwp:.2f} %  Rp {100 * self.rp:.2f} %  Rexp {100 * self.rexp:.2f} %  "
            f"GOF {self.gof:.3f}  χ²_ν {self.redchi:.3f}",
            f"    Durbin–Watson {self.durbin_watson:.2f} (σ's × {math.sqrt(self.serial_correlation_factor):.2f} "
            "for serially correlated residuals)",
            "[[Phases]]  weight fraction ± σ        lattice (Å, °)                    B (Å²)  March–Dollase",
        ]
        for p in self.phases:
            lat = ", ".join(f"{k} = {v:.5f}({_sig_digits(p.lattice_sigma.get(k, 0.0))})" for k, v in p.lattice.items())
            lines.append(f"    {p.name:16s} {_pct(p.weight_fraction, p.weight_fraction_sigma):18s} {lat:34s} "
                         f"{p.b_iso_angstrom2:6.2f}  {p.march_dollase:.3f}")
        varied = [(n, v, e) for n, v, e, var in zip(self.parameters.names, self.parameters.value,
                                                    self.parameters.stderr, self.parameters.vary, strict=True)
                  if var and not n.startswith("background_c")]
        lines.append(f"[[Varied parameters]] ({len(varied)}, background terms not listed)")
        lines += [f"    {n:28s} {v: .6g} ± {e:.2g}" for n, v, e in varied]
        if self.warnings:
            lines.append("[[Warnings]]")
            lines += [f"    {w}" for w in self.warnings]
        return "\n".join(lines)

    @functools.cached_property
    def params(self) -> lmfit.Parameters:
        """Every parameter as :class:`lmfit.Parameters` (values, bounds, stderr, correl)."""
        return self.parameters.to_lmfit()

    def value(self, name: str) -> float:
        """Refined value of one parameter by name (e.g. ``"w_deg2"``, ``"nbh_fcc_a"``)."""
        return float(self.parameters.value[self.parameters.index(name)])

    def warm_start(self) -> WarmStart:
        """Starting point for the next scan of a series."""
        return WarmStart(self.theta.copy(), tuple(self.theta_labels), self.curvature, self.curvature_labels)

    def phase(self, name: str) -> PhaseResult:
        """The result of one phase by name."""
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_dict(self) -> dict:
        """JSON-ready summary (the ``xrdkit fit --json`` contract)."""
        return {
            "source": self.source,
            "rp": self.rp,
            "rwp": self.rwp,
            "rexp": self.rexp,
            "gof": self.gof,
            "chi2": self.chi2,
            "aic": self.aic,
            "bic": self.bic,
            "n_points": self.n_points,
            "n_params": self.n_params,
            "converged": self.converged,
            "message": self.message,
            "nfev": self.nfev,
            "durbin_watson": self.durbin_watson,
            "serial_correlation_factor": self.serial_correlation_factor,
            "model_error": self.model_error,
            "warnings": list(self.warnings),
            "phases": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "weight_fraction": p.weight_fraction,
                    "weight_fraction_sigma": p.weight_fraction_sigma,
                    "weight_fraction_sigma_statistical": p.weight_fraction_sigma_statistical,
                    "weight_fraction_sigma_model": p.weight_fraction_sigma_model,
                    "lattice": p.lattice,
                    "lattice_sigma": p.lattice_sigma,
                    "lattice_sigma_statistical": p.lattice_sigma_statistical,
                    "volume_angstrom3": p.volume_angstrom3,
                    "b_iso_angstrom2": p.b_iso_angstrom2,
                    "march_dollase": p.march_dollase,
                }
                for p in self.phases
            ],
            "parameters": {
                n: {"value": float(v), "stderr": float(e) if vy else None}
                for n, v, e, vy in zip(self.parameters.names, self.parameters.value, self.parameters.stderr,
                                       self.parameters.vary, strict=True)
            },
            "elapsed_s": self.elapsed_s,
        }


def _pct(value: float | None, sigma: float | None) -> str:
    """``12.34 ± 0.56 %`` for a fraction and its σ (σ left out when unknown)."""
    if value is None or not math.isfinite(value):
        return "—"
    if sigma is None or not math.isfinite(sigma) or sigma <= 0:
        return f"{100 * value:.2f} %"
    return f"{100 * value:.2f} ± {100 * sigma:.2f} %"


def _sig_digits(sigma: float) -> str:
    """σ in the last digits of a value printed with 5 decimals (``134`` for 0.00134)."""
    return str(int(round(sigma * 1e5))) if math.isfinite(sigma) else "?"


def fit_statistics(observed: np.ndarray, calculated: np.ndarray, sigma: np.ndarray, n_params: int) -> dict[str, float]:
    """Rp, Rwp, Rexp, GOF, χ², reduced χ², AIC and BIC of a fit (pure function).

    With known σ, AIC = χ² + 2k and BIC = χ² + k ln N (up to a model-independent constant).

    Parameters
    ----------
    observed, calculated : ndarray, shape (n,)
        Measured and model counts.
    sigma : ndarray, shape (n,)
        σ of ``observed`` (counts); the weights are 1/σ².
    n_params : int
        Parameters varied (k); the degrees of freedom are ``n − k`` (at least 1).

    Returns
    -------
    dict of str to float
        ``rp`` = Σ|y − calc| / Σ|y|, ``rwp`` = √(χ² / Σ w y²), ``rexp`` = √((n − k) / Σ w y²),
        ``gof`` = Rwp / Rexp, ``chi2``, ``redchi`` = χ² / (n − k), ``aic``, ``bic`` (R's as
        fractions).

    Examples
    --------
    Five points with Poisson σ, checked against the formulas by hand:

    >>> import numpy as np
    >>> obs = np.array([100.0, 400.0, 900.0, 400.0, 100.0])
    >>> calc = np.array([110.0, 390.0, 880.0, 410.0, 100.0])
    >>> sigma = np.sqrt(obs)
    >>> s = fit_statistics(obs, calc, sigma, n_params=2)
    >>> w = 1 / sigma**2
    >>> bool(np.isclose(s["rwp"], np.sqrt(np.sum(w * (obs - calc) ** 2) / np.sum(w * obs**2))))
    True
    >>> round(s["rp"], 4), round(s["chi2"], 4), round(s["redchi"], 4)   # 50/1900; 1 + 1/4 + 4/9 + 1/4; /(5 − 2)
    (0.0263, 1.9444, 0.6481)
    >>> bool(np.isclose(s["gof"] ** 2, s["redchi"])), bool(np.isclose(s["bic"], s["chi2"] + 2 * np.log(5)))
    (True, True)
    """
    w = 1.0 / sigma**2
    diff = observed - calculated
    return _statistics(float(np.sum(w * diff**2)), float(np.sum(w * observed**2)), float(np.sum(np.abs(diff))),
                       float(np.sum(np.abs(observed))), observed.size, n_params)


def _statistics(chi2: float, sw: float, sum_abs_diff: float, sum_abs_obs: float, n: int,
                n_params: int) -> dict[str, float]:
    """:func:`fit_statistics` from its sums: χ², Σ w·y², Σ|y − calc| and Σ|y|."""
    dof = max(n - n_params, 1)
    rwp = float(np.sqrt(chi2 / sw)) if sw > 0 else float("nan")
    rexp = float(np.sqrt(dof / sw)) if sw > 0 else float("nan")
    return {
        "rp": sum_abs_diff / max(sum_abs_obs, 1e-300),
        "rwp": rwp,
        "rexp": rexp,
        "gof": rwp / rexp if rexp > 0 else float("nan"),
        "chi2": chi2,
        "redchi": chi2 / dof,
        "aic": chi2 + 2.0 * n_params,
        "bic": chi2 + n_params * float(np.log(n)),
    }


def serial_correlation(weighted_residual: np.ndarray) -> tuple[float, float]:
    """Durbin–Watson d and the Bérar–Lelann variance factor of a fit's weighted residuals.

    Least-squares σ's assume independent residuals. In a Rietveld fit, misfit of peak shapes
    and intensities makes neighbouring residuals share their sign over a peak width, and the
    covariance then understates every σ (Bérar & Lelann, *J. Appl. Cryst.* 24 (1991) 1,
    doi:10.1107/S0021889890008391). The factor is the variance inflation of a mean of
    correlated values, ``γ = 1 + 2 Σ_k ρ_k``, with ρ_k the residuals' autocorrelation at lag k,
    summed over Geyer's initial positive sequence (pairs ρ_{2m−1} + ρ_{2m} while positive;
    Geyer, *Stat. Sci.* 7 (1992) 473); for an AR(1) residual it is (1 + ρ)/(1 − ρ).

    Parameters
    ----------
    weighted_residual : ndarray, shape (n,)
        ``(observed − calculated) / σ`` in 2θ order.

    Returns
    -------
    durbin_watson : float
        ``Σ (r_i − r_{i−1})² / Σ r_i²`` (≈ 2(1 − ρ₁); 2 for white residuals).
    factor : float
        γ ≥ 1, multiplying the covariance (σ's by √γ).

    Examples
    --------
    White noise, and an AR(1) series ``r_i = ρ r_{i−1} + e_i`` made from it (ρ = 0.5: in
    theory DW ≈ 2(1 − ρ) = 1 and γ = (1 + ρ)/(1 − ρ) = 3; the estimate of γ scatters by
    ≈ 0.15 at 20,000 points):

    >>> import numpy as np
    >>> from scipy.signal import lfilter
    >>> white = np.random.default_rng(0).standard_normal(20_000)
    >>> dw, factor = serial_correlation(white)
    >>> round(dw, 2), round(factor, 1)
    (2.0, 1.0)
    >>> rho = 0.5
    >>> dw, factor = serial_correlation(lfilter([1.0], [1.0, -rho], white))
    >>> round(dw, 2), round(factor, 1), bool(abs(factor - (1 + rho) / (1 - rho)) < 0.5)
    (0.99, 3.3, True)
    """
    r = np.asarray(weighted_residual, dtype=float)
    n = r.size
    ss = float(r @ r)
    if n < 8 or not ss > 0:
        return float("nan"), 1.0
    dw = float(np.sum(np.diff(r) ** 2) / ss)
    rc = r - r.mean()
    max_lag = max(2, min(n // 4, SERIAL_MAX_LAG))
    spec = np.fft.rfft(rc, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[: max_lag + 1]
    if not acf[0] > 0:
        return dw, 1.0
    rho = acf / acf[0]
    total = 0.0
    for m in range(1, max_lag // 2 + 1):
        pair = rho[2 * m - 1] + rho[2 * m]
        if pair <= 0:
            break
        total += pair
    return dw, float(max(1.0, 1.0 + 2.0 * total))


def _parameter_bounds(
    model: PatternModel, opts: RefineOptions, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which nonlinear parameters vary, and their bounds.

    Lattice and zero-shift bounds are centred on ``reference`` (the phases' own cells and the
    instrument's zero), not on the start: a series of warm starts cannot walk a phase's cell
    out of its range scan by scan (a cubic stand-in drifting onto the NBH lines, say).

    Returns
    -------
    vary : ndarray of bool
    lower, upper : ndarray
    """
    n = len(model.keys)
    vary_a = np.zeros(n, dtype=bool)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    names = model.phase_names
    widths = set(opts.refine_widths)
    if opts.refine_phase_broadening:
        # per-phase strain (∝ tan²θ) and size (∝ 1/cosθ) would duplicate the instrument's U, X
        # and Y exactly: those stay at the instrument's values, V and W still refine
        widths -= {"u_deg2", "x_deg", "y_deg"}
    for j, key in enumerate(model.keys):
        ref = float(reference[j])
        vary = False
        lo, hi = -np.inf, np.inf
        f = key.field
        if key.phase is None:
            if f == "zero_shift_deg":
                vary, lo, hi = opts.refine_zero, ref - 0.5, ref + 0.5
            elif f == "displacement_mm":
                vary, lo, hi = opts.refine_displacement, -1.5, 1.5
            elif f == "penetration_depth_mm":
                vary, lo, hi = opts.refine_transparency, 0.0, 10.0
            elif f in ("u_deg2", "w_deg2"):
                vary, lo, hi = f in widths, 0.0, 1.0
            elif f == "v_deg2":
                vary, lo, hi = f in widths, -1.0, 1.0
            elif f in ("x_deg", "y_deg"):
                vary, lo, hi = f in widths, 0.0, 2.0
            elif f == "asymmetry":
                vary, lo, hi = opts.refine_asymmetry, -0.5, 0.5
        elif f == "b_iso":
            vary, lo, hi = opts.refine_b_iso, -1.0, 15.0
        elif f == "march_dollase":
            vary, lo, hi = names[key.phase] in opts.preferred_orientation, 0.3, 3.0
        elif f == "strain_deg2":
            # the first phase is described by the instrument widths alone (its own broadening
            # would duplicate U/V/W and X/Y exactly); the others broaden relative to it
            vary, lo, hi = opts.refine_phase_broadening, 0.0, MAX_STRAIN_DEG2
        elif f == "size_deg":
            vary, lo, hi = opts.refine_phase_broadening, 0.0, MAX_SIZE_DEG
        elif f in ("alpha", "beta", "gamma"):
            vary, lo, hi = opts.refine_lattice, ref - 3.0, ref + 3.0
        else:
            vary, lo, hi = opts.refine_lattice, ref * (1 - LATTICE_BOUND_REL), ref * (1 + LATTICE_BOUND_REL)
        vary_a[j], lower[j], upper[j] = vary, lo, hi
    return vary_a, lower, upper


def _hill_howard(zmv: np.ndarray, scale: np.ndarray, cov: np.ndarray,
                 scale_cov_idx: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Weight fractions ``w_p = s_p (ZMV)_p / Σ s_q (ZMV)_q`` and their σ.

    σ by linear propagation of the scales' covariance (rows ``scale_cov_idx`` of ``cov``;
    None for a scale that was clamped at 0, whose σ is then 0).
    """
    idx = np.array([-1 if ci is None else ci for ci in scale_cov_idx], dtype=np.int64)
    return _hill_howard_core(np.asarray(zmv, dtype=float), np.asarray(scale, dtype=float),
                             np.ascontiguousarray(cov, dtype=float), idx)


@jit
def _hill_howard_core(zmv: np.ndarray, scale: np.ndarray, cov: np.ndarray,
                      idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = zmv.size
    mass = scale * zmv
    total = mass.sum()
    wf = np.full(k, np.nan)
    wf_sig = np.full(k, np.nan)
    if not total > 0:
        return wf, wf_sig
    wf[:] = mass / total
    # ∂w_i/∂s_j = (δ_ij (ZMV)_j Σ − m_i (ZMV)_j) / Σ²  with m = s·ZMV, Σ = Σ m; clamped scales
    # (idx −1) have no covariance row and σ 0
    for i in range(k):
        if idx[i] < 0:
            wf_sig[i] = 0.0
            continue
        var = 0.0
        for j in range(k):
            if idx[j] < 0:
                continue
            gj = ((total if i == j else 0.0) - mass[i]) * zmv[j] / total**2
            for m in range(k):
                if idx[m] < 0:
                    continue
                gm = ((total if i == m else 0.0) - mass[i]) * zmv[m] / total**2
                var += gj * cov[idx[j], idx[m]] * gm
        wf_sig[i] = np.sqrt(max(var, 0.0))
    return wf, wf_sig


def screen_phases(
    scan: Scan,
    phases: Sequence[ReflectionList],
    *,
    instrument: Instrument | str = "miniflex600-cuka",
    background_terms: int = 10,
    window_fwhm: float = DEFAULT_WINDOW_FWHM,
    extra_background: dict[str, np.ndarray] | None = None,
    session: FitSession | None = None,
) -> dict[str, tuple[float, float]]:
    """Weight fraction ± σ of every phase from a linear-only fit at the phases' own cells.

    One model evaluation (scales and background by non-negative least squares, nothing
    nonlinear refined): the cheap first look :func:`xrdkit.identify.identify` takes before
    its refinements, to drop phases the scan does not show.

    The pattern model is kept in ``session`` (default: the process's
    :func:`~xrdkit.session.default_session`), where the :func:`refine` that follows finds it.

    Parameters
    ----------
    scan : Scan
        The measured pattern (σ used for weights).
    phases : sequence of ReflectionList
        Ready reflection lists covering the scan (:func:`~xrdkit.simulate.resolve_phases`).
    instrument : Instrument or str
        Instrument or preset; its widths and shifts are used as they are.
    background_terms : int
        Chebyshev background terms.
    window_fwhm : float
        Profile window (± FWHM).
    extra_background : dict of str → ndarray, optional
        Fixed-shape components fitted with the background (as in :func:`refine`).
    session : FitSession, optional
        Where the pattern model is kept (default: :func:`~xrdkit.session.default_session`).

    Returns
    -------
    dict
        Phase name → (weight fraction, σ); σ is 0 for a phase clamped at zero scale. σ
        includes the Bérar–Lelann factor of the residuals (see :func:`serial_correlation`).

    Examples
    --------
    30 wt % fcc NBH in NaCrO2 (simulated at the phases' own cells, Poisson noise), screened
    with Al as a third candidate, which the scan does not show:

    >>> import numpy as np
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import resolve_phases, simulate
    >>> two_theta_deg = np.arange(10.0, 60.0, 0.02)
    >>> pattern = simulate(["nbh-fcc", "nacro2"], [0.3, 0.7], two_theta_deg, peak_max=5000.0,
    ...                    background=[100.0])
    >>> scan = make_scan(two_theta_deg, np.random.default_rng(0).poisson(pattern.intensity))
    >>> refls = resolve_phases(["nbh-fcc", "nacro2", "al"], load_instrument("miniflex600-cuka"), 60.0)
    >>> screen = screen_phases(scan, refls)
    >>> {name: round(w, 2) for name, (w, sigma) in screen.items()}
    {'nbh-fcc': 0.3, 'nacro2': 0.7, 'al': 0.0}
    >>> w, sigma = screen["nbh-fcc"]
    >>> bool(abs(w - 0.3) < 3 * sigma), screen["al"]          # Al clamped at zero scale: σ 0
    (True, (0.0, 0.0))
    """
    inst = load_instrument(instrument)
    x, y, sig = scan.two_theta_deg, scan.counts, scan.sigma
    model = _pattern_model(list(phases), x, inst, (False,) * len(phases), background_terms, (), window_fwhm,
                           extra_background, session=session)
    ev = model.evaluate(model.initial_vector(inst))
    w = 1.0 / sig
    proj = LinearProjection(model.background_basis, w, y * w, model.nonnegative, model.n_peak_columns)
    gram, coef, active, resid, _ = proj.solve(ev.peak_columns)
    act = np.nonzero(active)[0]
    redchi = float(resid @ resid) / max(x.size - act.size, 1)
    _, gamma = serial_correlation(resid)  # the same Bérar–Lelann correction as refine's
    cov_act, _ = _covariance(gram[np.ix_(act, act)], redchi * gamma)
    offsets = model.column_offsets
    zmv = np.array([r.cell_mass_amu * r.volume(r.lattice_values()) for r in phases])
    pos = {int(c): i for i, c in enumerate(act)}
    wf, wf_sig = _hill_howard(zmv, coef[offsets], cov_act, [pos.get(o) for o in offsets])
    return {r.name: (float(a), float(b)) for r, a, b in zip(phases, wf, wf_sig, strict=True)}


def _pattern_model(refls: Sequence[ReflectionList], x: np.ndarray, inst: Instrument, pawley: tuple[bool, ...],
                   background_terms: int, po: tuple, window_fwhm: float,
                   extra_background: dict[str, np.ndarray] | None = None, *,
                   session: FitSession | None = None) -> PatternModel:
    """A :class:`PatternModel`, reused from the session's models when the same reflection lists,
    grid and settings come again (a series fits the same phases on the same grid scan after scan)."""
    models = (session if session is not None else default_session()).models
    extra_key = tuple((k, hash(np.asarray(v, dtype=float).tobytes())) for k, v in (extra_background or {}).items())
    key = (tuple(id(r) for r in refls), x.size, float(x[0]), float(x[-1]), inst, pawley, background_terms, po,
           window_fwhm, extra_key)
    # ids are unique only while their objects live: the stored model holds its lists, and the
    # check below rejects a key whose ids now name other lists (or whose grid differs inside)
    hit = models.get(key, accept=lambda h: h[0].phases == tuple(refls) and np.array_equal(h[1], x))
    if hit is not None:
        return hit[0]
    model = PatternModel(refls, x, inst, pawley=list(pawley), background_terms=background_terms,
                         preferred_orientation=dict(po), window_fwhm=window_fwhm, extra_background=extra_background)
    models.put(key, (model, x.copy()))
    return model


@jit
def _spd_inverse(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``normal⁻¹`` by Cholesky after scaling to unit diagonal.

    Returns (inverse, norms, True), or (the scaled matrix, norms, False) when it is not
    comfortably positive definite (smallest pivot² ≤ n·1e3·ε); ``norms`` are the scale factors
    (√diagonal, 1 where it is 0).
    """
    n = normal.shape[0]
    norms = np.sqrt(np.maximum(np.diag(normal), 0.0))
    for i in range(n):
        if norms[i] == 0.0:
            norms[i] = 1.0
    jtj = normal / np.outer(norms, norms)
    ok = True
    try:
        chol = np.linalg.cholesky(jtj)
    except Exception:  # noqa: BLE001 - numba raises a plain exception class
        ok = False
        chol = jtj
    if ok and n and np.min(np.diag(chol)) ** 2 <= n * 1e3 * 2.220446049250313e-16:
        ok = False
    if not ok:
        return jtj, norms, False
    try:
        inv = np.linalg.inv(jtj)
    except Exception:  # noqa: BLE001 - numba raises a plain exception class
        return jtj, norms, False
    inv = 0.5 * (inv + inv.T)
    return inv / np.outer(norms, norms), norms, True


@jit
def _strong_correlations(cov: np.ndarray, sd: np.ndarray, is_bg: np.ndarray,
                         limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a < b) with |correlation| > ``limit``, except background–background pairs."""
    n = sd.size
    a_out, b_out, r_out = [], [], []
    for a in range(n):
        for b in range(a + 1, n):
            if is_bg[a] and is_bg[b]:
                continue
            den = sd[a] * sd[b]
            if den > 0.0 and abs(cov[a, b]) > limit * den:
                a_out.append(a)
                b_out.append(b)
                r_out.append(cov[a, b] / den)
    return (np.array(a_out, dtype=np.int64), np.array(b_out, dtype=np.int64),
            np.array(r_out, dtype=np.float64))


def _covariance(normal: np.ndarray, redchi: float) -> tuple[np.ndarray, bool]:
    """Covariance ``(JᵀJ)⁻¹ · χ²/ν`` from ``normal`` = JᵀJ, scaled to unit diagonal first
    (parameters span 1e-4 … 1e5).

    Returns the covariance (pseudo-inverse where singular) and whether JᵀJ is singular.
    """
    if normal.size == 0:
        return np.zeros((0, 0)), False
    out, norms, ok = _spd_inverse(np.ascontiguousarray(normal))
    if ok:
        return out * redchi, False
    # ill-conditioned: pseudo-inverse from the eigen-decomposition of the scaled matrix (``out``)
    try:
        evals, evecs = np.linalg.eigh(out)
    except np.linalg.LinAlgError:
        return np.full(out.shape, np.nan), False
    keep = evals > evals[-1] * 1e-12
    inv = (evecs[:, keep] / evals[keep]) @ evecs[:, keep].T
    singular = bool(evals[0] <= evals[-1] * out.shape[0] * np.finfo(float).eps)
    return inv / np.outer(norms, norms) * redchi, singular


def _brindley_tau(mu_d: np.ndarray) -> np.ndarray:
    """Brindley particle absorption factor τ((μ_p − μ̄)·D) for spheres of diameter D.

    τ = (1/V) ∫ exp(−(μ_p − μ̄) ℓ) dV over the sphere, ℓ the chord along the beam through
    each volume element (Brindley, *Phil. Mag.* 36 (1945) 347). A chord at impact parameter b
    has length ℓ = D √(1 − (2b/D)²) and carries the volume ℓ · 2πb db, so in units of the
    diameter, u = ℓ/D, the volume-weighted chord distribution is p(u) = 3u² on [0, 1]; small
    contrast gives τ ≈ 1 − ¾ (μ_p − μ̄) D = 1 − 1.5 (μ_p − μ̄) R. (The in + out path at a
    Bragg angle 2θ differs from the chord by a few % up to |μ_p − μ̄| R ≈ 0.5 at 2θ ≤ 60°;
    the correction is angle-independent, as Brindley's.)
    """
    u = np.linspace(0.0, 1.0, 801)
    pu = 3.0 * u * u
    return np.array([np.trapezoid(pu * np.exp(-x * u), u) for x in np.atleast_1d(mu_d)])


@dataclass(frozen=True)
class _FitPlan:
    """What does not change from one scan to the next for a model, instrument and options:
    parameter bounds, the varied set, names and per-phase indices (built once, cached per model)."""

    reference: np.ndarray
    vary: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    vidx: np.ndarray
    labels: tuple[str, ...]
    label_index: dict[str, int]
    varied_labels: tuple[str, ...]
    stage1: np.ndarray
    lin_labels: tuple[str, ...]
    lin_lower: np.ndarray
    lin_upper: np.ndarray
    warn_low: np.ndarray
    uvw_idx: np.ndarray
    floor_tan: np.ndarray
    nudge_idx: np.ndarray


def _fit_plan(model: PatternModel, inst: Instrument, opts: RefineOptions, names: Sequence[str],
              session: FitSession) -> _FitPlan:
    """The fit plan of ``model`` for this instrument and these options (built once per session
    and model; dropped with the model)."""
    key = (inst, opts.refine_lattice, opts.refine_zero, opts.refine_displacement, opts.refine_transparency,
           tuple(opts.refine_widths), opts.refine_asymmetry, opts.refine_b_iso, opts.refine_phase_broadening,
           tuple(sorted(opts.preferred_orientation)))
    plans = session.plans.setdefault(model, {})
    plan = plans.get(key)
    if plan is not None:
        return plan
    reference = model.initial_vector(inst)
    vary, lower, upper = _parameter_bounds(model, opts, reference)
    labels = tuple(model.labels())
    vidx = np.nonzero(vary)[0]
    plan = _FitPlan(
        reference=reference,
        vary=vary,
        lower=lower,
        upper=upper,
        vidx=vidx,
        labels=labels,
        label_index={lab: j for j, lab in enumerate(labels)},
        varied_labels=tuple(labels[j] for j in vidx),
        stage1=np.array([model.keys[j].field not in _WIDTH_FIELDS for j in vidx], dtype=bool),
        lin_labels=tuple(_linear_labels(model, names)),
        lin_lower=np.where(model.nonnegative, 0.0, -np.inf),
        lin_upper=np.full(model.n_columns, np.inf),
        warn_low=np.array([model.keys[j].field not in _ZERO_NATURAL for j in vidx], dtype=bool),
        uvw_idx=np.array([model.index(ParamKey(f)) for f in ("u_deg2", "v_deg2", "w_deg2")], dtype=np.intp),
        floor_tan=np.tan(np.radians(np.linspace(model.x[0], model.x[-1], 64)) / 2.0),
        # only a profile with no Lorentzian part at all (instrument X = Y = 0) is in the trap
        nudge_idx=np.array([j for j in vidx if model.keys[j].field in _LORENTZ_FIELDS
                            and inst.x_deg == 0.0 and inst.y_deg == 0.0], dtype=np.intp),
    )
    plans[key] = plan
    return plan


# ----------------------------------------------------------------------------- refine's stages
# refine() runs these in order; each takes what the previous ones produced (frozen records below).


@dataclass(frozen=True)
class _Problem:
    """A prepared fit: the (cropped) scan, its phases, the pattern model and its fit plan."""

    scan: Scan
    refls: list[ReflectionList]
    names: list[str]
    opts: RefineOptions
    model: PatternModel
    plan: _FitPlan
    #: 1/σ and the weighted observations y/σ.
    w: np.ndarray
    yw: np.ndarray
    #: Whether the model returns every peak column's Jacobian (one evaluation per step).
    per_column: bool


@dataclass(frozen=True)
class _Start:
    """Where the optimiser starts: the full parameter vector, in one stage or two, and with
    which Gauss–Newton matrix (a warm start's, when it varied the same parameters)."""

    theta: np.ndarray
    one_stage: bool
    curvature: np.ndarray | None


@dataclass(frozen=True)
class _Solution:
    """The optimiser's outcome: its final point (linear coefficients, weighted residual,
    Gram blocks), the full nonlinear vector there and the evaluation counts."""

    point: VPPoint
    theta: np.ndarray
    converged: bool
    message: str
    nfev: int
    njev: int
    curvature: np.ndarray | None


@dataclass(frozen=True)
class _Fitted:
    """The fitted pattern's arrays and statistics."""

    calculated: np.ndarray
    background: np.ndarray
    #: One row per peak column: ``coefficient · column``.
    parts: np.ndarray
    extra_components: dict[str, np.ndarray]
    n_params: int
    stats: dict[str, float]


@dataclass(frozen=True)
class _Uncertainty:
    """Covariance of the varied parameters (Bérar–Lelann corrected), the parameter table and the
    warnings about the fit (singular, correlated, at a bound, not converged)."""

    covariance: np.ndarray
    #: σ of the varied parameters, in covariance order (nonlinear, then active linear).
    sd: np.ndarray
    #: σ of every parameter (nonlinear, then linear; NaN where not varied).
    stderr: np.ndarray
    table: ParameterTable
    #: Positions of the active linear columns.
    lin_idx: np.ndarray
    durbin_watson: float
    serial_correlation_factor: float
    warnings: list[str]


def _prepare_scan(scan: Scan, phases: Sequence[object], inst: Instrument, opts: RefineOptions,
                  two_theta_range_deg: tuple[float, float] | None,
                  library: object | None) -> tuple[Scan, list[ReflectionList], list[str]]:
    """Stage 1, the input: crop the scan, check it has enough points, resolve the phases to
    reflection lists and check the options name only phases of the model.

    Returns the (cropped) scan, the reflection lists and the phase names.
    """
    if scan.wavelength_angstrom and abs(scan.wavelength_angstrom - inst.wavelength_angstrom) > 1e-3:
        log.warning(
            "%s: scan wavelength %.5f Å differs from instrument %s (%.5f Å); using the instrument's",
            scan.source, scan.wavelength_angstrom, inst.name, inst.wavelength_angstrom,
        )
    if two_theta_range_deg is not None:
        scan = scan.crop(*two_theta_range_deg)
    x = scan.two_theta_deg
    if x.size < MIN_FIT_POINTS:
        raise InputError(
            f"scan has {x.size} points; a whole-pattern fit needs at least {MIN_FIT_POINTS}",
            source=scan.source,
        )
    if not phases:
        raise InputError("no phases given", source=scan.source)
    refls: list[ReflectionList] = resolve_phases(phases, inst, float(x[-1]), library=library)
    names = [r.name for r in refls]
    if len(set(names)) != len(names):
        raise InputError(f"phase names must be unique, got {names}", source=scan.source)
    unknown_po = set(opts.preferred_orientation) - set(names)
    unknown_paw = set(opts.pawley) - set(names)
    if unknown_po or unknown_paw:
        raise InputError(f"options name phases not in the model: {sorted(unknown_po | unknown_paw)}")
    return scan, refls, names


def _build_problem(scan: Scan, refls: list[ReflectionList], names: list[str], inst: Instrument,
                   opts: RefineOptions, extra_background: dict[str, np.ndarray] | None,
                   session: FitSession) -> _Problem:
    """Stage 2, the model: the pattern model (from the session when the same phases, grid and
    settings come again) and its fit plan (bounds, varied set, labels), with the weights."""
    po = {names.index(n): tuple(ax) for n, ax in opts.preferred_orientation.items()}
    model = _pattern_model(refls, scan.two_theta_deg, inst, tuple(n in opts.pawley for n in names),
                           opts.background_terms, tuple(sorted(po.items())), opts.window_fwhm, extra_background,
                           session=session)
    plan = _fit_plan(model, inst, opts, names, session)
    w = 1.0 / scan.sigma
    return _Problem(scan=scan, refls=refls, names=names, opts=opts, model=model, plan=plan, w=w,
                    yw=scan.counts * w, per_column=model.n_peak_columns <= PER_COLUMN_JACOBIAN_MAX)


def _starting_point(prob: _Problem, start: RefinementResult | WarmStart | None) -> _Start:
    """Stage 3, the start: the instrument's and the phases' own values, overwritten by name
    from a warm start, clamped into the bounds.

    A start that covers every parameter is *warm*: one stage, with its Gauss–Newton matrix when
    it varied the same parameters. A cold start runs two stages (positions, then everything)
    unless every varied parameter is of one kind.
    """
    plan = prob.plan
    labels, lower, upper = plan.labels, plan.lower, plan.upper
    theta0 = plan.reference.copy()
    warm = False
    if start is not None:
        # take every parameter the start knows by name; warm (one stage) only if it knows all
        if tuple(start.theta_labels) == labels:
            theta0[:] = start.theta
            warm = True
        else:
            hits = [(plan.label_index[lab], v) for lab, v in zip(start.theta_labels, np.asarray(start.theta, dtype=float).tolist(), strict=True)
                    if lab in plan.label_index]
            for j, v in hits:
                theta0[j] = v
            warm = len(hits) == len(labels)
            if not hits:
                log.info("%s: warm start shares no parameter with this model; cold start", prob.scan.source)
    theta = np.minimum(np.maximum(theta0, lower), upper)
    if not warm and plan.nudge_idx.size:
        # with no Lorentzian anywhere (instrument X = Y = 0, GSAS-II's default instprm) the
        # Lorentzian widths start on their 0 bound, where the projected step pins them: the
        # CPD sample-2 fit stayed all-Gaussian (Rwp 20.5 % against 14.4 % started from
        # 0.005°). Start them just inside.
        at_floor = plan.nudge_idx[theta[plan.nudge_idx] <= lower[plan.nudge_idx]]
        theta[at_floor] = lower[at_floor] + LORENTZ_START_DEG
    stage1 = plan.stage1
    h0 = None
    if warm and getattr(start, "curvature", None) is not None and tuple(start.curvature_labels) == plan.varied_labels:
        h0 = start.curvature  # the same parameters varied: start with the previous fit's H
    return _Start(theta=theta, one_stage=warm or stage1.all() or not stage1.any(), curvature=h0)


def _check_determined(prob: _Problem, st: _Start) -> None:
    """Stage 4, the first evaluation: some reflection falls in the range, and there are more
    points than parameters.

    For a one-stage fit this evaluation (with the Jacobian) is also the optimiser's start: the
    model memoises it.
    """
    model, vidx, x = prob.model, prob.plan.vidx, prob.scan.two_theta_deg
    probe = model.evaluate(st.theta, jacobian_for=vidx if (prob.per_column and st.one_stage and vidx.size) else None)
    if probe.n_peaks == 0:
        raise InputError(
            f"no reflection of {prob.names} falls in {x[0]:.2f}–{x[-1]:.2f}° 2θ", source=prob.scan.source
        )
    n_lin = model.n_columns  # an upper bound: count the columns the peaks reach only if it matters
    if x.size <= vidx.size + n_lin:
        n_lin = int(np.count_nonzero(probe.peak_columns.any(axis=0))) + model.background_basis.shape[1]
    if x.size <= vidx.size + n_lin:
        raise InputError(
            f"{x.size} points cannot determine {vidx.size + n_lin} parameters", source=prob.scan.source
        )


def _varpro(prob: _Problem, idx: np.ndarray, t_start: np.ndarray, converge_sigma: float,
            curvature: np.ndarray | None = None) -> VPResult:
    """One :func:`~xrdkit.varpro.varpro_lm` run over the parameters ``idx`` (positions in the
    full vector) from ``t_start``, the others held."""
    model, w, opts, plan, per_column = prob.model, prob.w, prob.opts, prob.plan, prob.per_column

    def evaluate(tv: np.ndarray):
        t = t_start.copy()
        t[idx] = tv
        ev = model.evaluate(t, jacobian_for=idx if per_column else None)
        return ev.peak_columns, ev.column_jacobian

    def jacobian(tv: np.ndarray, coef: np.ndarray) -> np.ndarray:
        t = t_start.copy()
        t[idx] = tv
        return model.evaluate(t, coefficients=coef, jacobian_for=idx).jacobian * w[:, None]

    lo, hi = plan.lower[idx], plan.upper[idx]
    return varpro_lm(
        evaluate, jacobian, t_start[idx], lo, hi, prob.yw, w, model.nonnegative, fixed=model.background_basis,
        max_nfev=opts.max_nfev, ftol=opts.ftol, converge_sigma=converge_sigma, curvature=curvature,
    )


def _least_squares(prob: _Problem, st: _Start) -> _Solution:
    """Stage 5, the nonlinear least squares by variable projection.

    A cold start first refines the positions only (lattice, zero, displacement; widths held) to
    :data:`POSITION_STAGE_SIGMA`, then everything. A fit that ends with the instrument's
    Gaussian width at its floor (no gradient in U, V, W there: a trap) is run again from the
    instrument's widths and the better of the two kept; the evaluations of both count.
    """
    plan, opts, source = prob.plan, prob.opts, prob.scan.source
    vidx, stage1 = plan.vidx, plan.stage1
    nfev = njev = 0
    t_cur = st.theta.copy()
    if not st.one_stage:
        # the first stage only has to bring the peaks under the pattern: the second converges
        r1 = _varpro(prob, vidx[stage1], t_cur, max(opts.converge_sigma, POSITION_STAGE_SIGMA))
        t_cur[vidx[stage1]] = r1.point.theta
        nfev, njev = nfev + r1.nfev, njev + r1.njev
    try:
        res = _varpro(prob, vidx, t_cur, opts.converge_sigma, curvature=st.curvature)
        t_end = t_cur.copy()
        t_end[vidx] = res.point.theta
        if _gaussian_width_floored(t_end[plan.uvw_idx], plan.floor_tan):
            # the instrument's Gaussian width went negative somewhere in the range and is held
            # at its floor, where U, V, W have no gradient: a trap, not a minimum. Start again
            # from the instrument's widths (everything else as found) and keep the better fit.
            t_retry = t_end.copy()
            t_retry[plan.uvw_idx] = plan.reference[plan.uvw_idx]
            retry = _varpro(prob, vidx, t_retry, opts.converge_sigma)
            log.info("%s: Gaussian width at its floor (χ² %.1f); restarted from the instrument widths "
                     "(χ² %.1f)", source, res.point.chi2, retry.point.chi2)
            dropped = res if retry.point.chi2 < res.point.chi2 else retry
            nfev, njev = nfev + dropped.nfev, njev + dropped.njev  # both runs count
            if dropped is res:
                res, t_cur = retry, t_retry
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"{source}: optimiser failed: {exc}") from exc
    t_final = t_cur.copy()
    t_final[vidx] = res.point.theta
    return _Solution(point=res.point, theta=t_final, converged=res.converged, message=str(res.message),
                     nfev=nfev + res.nfev, njev=njev + res.njev, curvature=res.curvature)


def _fitted_pattern(prob: _Problem, sol: _Solution) -> _Fitted:
    """Stage 6, the fitted pattern and its statistics (Rp, Rwp, Rexp, GOF, χ², AIC, BIC) from
    the optimiser's weighted residual (the same as :func:`fit_statistics`)."""
    model, pt, scan = prob.model, sol.point, prob.scan
    coef = pt.coef
    calc, bg, parts, sum_abs_diff, sum_abs_obs = _fit_arrays(scan.counts, prob.w, pt.resid, pt.v, coef,
                                                             model.background_basis)
    n_extra = len(model.extra_names)
    extra_components = {
        name: coef[coef.size - n_extra + j] * model.background_basis[:, -n_extra + j]
        for j, name in enumerate(model.extra_names)
    }
    n_par = int(prob.plan.vidx.size + pt.active.sum())
    stats = _statistics(pt.chi2, float(prob.yw @ prob.yw), sum_abs_diff, sum_abs_obs, scan.two_theta_deg.size,
                        n_par)
    return _Fitted(calculated=calc, background=bg, parts=parts, extra_components=extra_components,
                   n_params=n_par, stats=stats)


def _uncertainties(prob: _Problem, sol: _Solution, fitted: _Fitted) -> _Uncertainty:
    """Stage 7, the σ's: covariance from the full Jacobian (nonlinear and active linear
    columns), scaled by the reduced χ² and the Bérar–Lelann factor of the residuals'
    serial correlation (:func:`serial_correlation`); the parameter table; warnings about
    singular or strongly correlated parameters, parameters at a bound and non-convergence."""
    model, plan, pt = prob.model, prob.plan, sol.point
    coef, active, vidx = pt.coef, pt.active, plan.vidx
    warnings: list[str] = []
    lin_idx = np.nonzero(active)[0]
    if pt.gram_mm is None:  # nothing nonlinear varied
        pt.gram_am, pt.gram_mm = np.zeros((coef.size, 0)), np.zeros((0, 0))
    dw, gamma = serial_correlation(pt.resid)
    cov, singular = _covariance(pt.normal_matrix(), fitted.stats["redchi"] * gamma)
    if singular:
        warnings.append("singular normal matrix: some parameters are not determined by the data")
    if not np.isfinite(cov).all():
        warnings.append("covariance could not be computed")
    sd = np.sqrt(np.maximum(cov.diagonal(), 0.0))
    nn = vidx.size
    lin_labels = plan.lin_labels
    n_nl = len(plan.labels)
    stderr = np.full(n_nl + coef.size, np.nan)
    stderr[vidx] = sd[:nn]
    stderr[n_nl + lin_idx] = sd[nn:]
    table = ParameterTable(
        names=plan.labels + lin_labels,
        value=np.concatenate([sol.theta, coef]),
        stderr=stderr,
        vary=np.concatenate([plan.vary, active]),
        lower=np.concatenate([plan.lower, plan.lin_lower]),
        upper=np.concatenate([plan.upper, plan.lin_upper]),
        covariance=cov,
    )
    # strong correlations (background-background pairs are expected and skipped)
    is_bg = np.concatenate([np.zeros(nn, dtype=bool), lin_idx >= model.n_peak_columns])
    pairs_a, pairs_b, pairs_r = _strong_correlations(cov, sd, is_bg, CORRELATION_WARN)
    if pairs_a.size:
        varied_names = list(plan.varied_labels) + [lin_labels[c_] for c_ in lin_idx]
        for a, b, r in zip(pairs_a.tolist(), pairs_b.tolist(), pairs_r.tolist(), strict=True):
            warnings.append(f"strong correlation {varied_names[a]} / {varied_names[b]}: {r:+.3f}")
    tv, lv, uv = sol.theta[vidx], plan.lower[vidx], plan.upper[vidx]
    span = uv - lv
    near = np.isfinite(span) & (((tv - lv < AT_BOUND_REL * span) & plan.warn_low) | (uv - tv < AT_BOUND_REL * span))
    for k_ in np.nonzero(near)[0]:
        warnings.append(f"parameter {plan.varied_labels[k_]} at its bound ({tv[k_]:.6g} in [{lv[k_]:.6g}, {uv[k_]:.6g}])")
    if not sol.converged:
        warnings.append(f"refinement did not converge: {sol.message}")
    return _Uncertainty(covariance=cov, sd=sd, stderr=stderr, table=table, lin_idx=lin_idx, durbin_watson=dw,
                        serial_correlation_factor=gamma, warnings=warnings)


def _phase_results(prob: _Problem, sol: _Solution, fitted: _Fitted, unc: _Uncertainty,
                   densities_g_cm3: dict[str, float] | None, mass_attenuation_cm2_g: dict[str, float] | None,
                   ) -> tuple[list[PhaseResult], dict[str, np.ndarray], list[str]]:
    """Stage 8, quantitative phase analysis: per phase its pattern, cell and weight fraction
    (Hill–Howard, optionally divided by Brindley's τ) with σ from the covariance.

    Returns the phase results, the per-phase patterns and the warnings about phases (zero
    scale, not significantly detected, σ over 50 wt %).
    """
    model, refls, opts, t_final = prob.model, prob.refls, prob.opts, sol.theta
    coef, cov, sd, stderr = sol.point.coef, unc.covariance, unc.sd, unc.stderr
    nn = prob.plan.vidx.size
    warnings: list[str] = []
    comps = {}
    phase_rows = []
    zmv = []
    scale = []
    scale_cov_idx = []
    lin_pos = {int(c_): nn + i for i, c_ in enumerate(unc.lin_idx)}
    for p, refl in enumerate(refls):
        off = model.column_offsets[p]
        lat = model.lattice_values(t_final, p)
        vol = refl.volume(lat)
        if model.pawley[p]:
            comps[refl.name] = fitted.parts[off:off + refl.n].sum(axis=0)
        else:
            comps[refl.name] = fitted.parts[off]
            zmv.append(refl.cell_mass_amu * vol)
            scale.append(coef[off])
            scale_cov_idx.append(lin_pos.get(off))
            if coef[off] == 0:
                warnings.append(f"phase {refl.name} has zero scale (not detected; clamped at 0)")
        phase_rows.append((refl, lat, vol))
    tau = np.ones(len(zmv))
    if opts.particle_size_um:
        tau = _microabsorption(prob.names, model, opts, densities_g_cm3, mass_attenuation_cm2_g, coef, zmv)
    s_arr = np.asarray(scale, dtype=float)
    wf, wf_sig = _hill_howard(np.asarray(zmv, dtype=float) / tau, s_arr, cov, scale_cov_idx)
    results = []
    k = 0
    for p, (refl, lat, vol) in enumerate(phase_rows):
        lat_sig = {n: (e if math.isfinite(e) else 0.0) for n, e in model.lattice_values(stderr, p).items()}
        b_iso = float(t_final[model.index(ParamKey("b_iso", p))])
        md = float(t_final[model.index(ParamKey("march_dollase", p))])
        if model.pawley[p]:
            results.append(PhaseResult(refl.name, "pawley", None, None, float("nan"), float("nan"), lat, lat_sig, vol,
                                       b_iso, md, lattice_sigma_statistical=dict(lat_sig)))
            continue
        sc_idx = scale_cov_idx[k]
        results.append(
            PhaseResult(
                refl.name, "structure", float(wf[k]), float(wf_sig[k]), float(s_arr[k]),
                float(sd[sc_idx]) if sc_idx is not None else 0.0, lat, lat_sig, vol, b_iso, md,
                weight_fraction_sigma_statistical=float(wf_sig[k]), lattice_sigma_statistical=dict(lat_sig),
            )
        )
        k += 1
    for r in results:
        if r.weight_fraction and r.weight_fraction_sigma and r.weight_fraction < DETECTED_SIGMA * r.weight_fraction_sigma:
            warnings.append(
                f"phase {r.name} is not significantly detected: {100 * r.weight_fraction:.2f} ± "
                f"{100 * r.weight_fraction_sigma:.2f} wt % (< {DETECTED_SIGMA:g}σ)"
            )
    if any(r.weight_fraction is not None and r.weight_fraction_sigma and r.weight_fraction_sigma > 0.5 for r in results):
        warnings.append("weight fraction uncertainties exceed 50 wt %: the phase model may be wrong")
    return results, comps, warnings


def _assemble(prob: _Problem, sol: _Solution, fitted: _Fitted, unc: _Uncertainty, phases: list[PhaseResult],
              components: dict[str, np.ndarray], phase_warnings: list[str], t0: float) -> RefinementResult:
    """Stage 9, the result: everything above in one :class:`RefinementResult` (``t0``: the
    :func:`time.perf_counter` at the start, for ``elapsed_s``)."""
    scan, stats = prob.scan, fitted.stats
    return RefinementResult(
        source=scan.source,
        phases=tuple(phases),
        parameters=unc.table,
        n_points=int(scan.two_theta_deg.size),
        n_params=fitted.n_params,
        converged=sol.converged,
        message=sol.message,
        nfev=sol.nfev,
        njev=sol.njev,
        warnings=tuple(unc.warnings + phase_warnings),
        two_theta_deg=scan.two_theta_deg,
        observed=scan.counts,
        sigma=scan.sigma,
        calculated=fitted.calculated,
        background=fitted.background,
        components=components,
        extra_components=fitted.extra_components,
        theta=sol.theta.copy(),
        theta_labels=prob.plan.labels,
        elapsed_s=time.perf_counter() - t0,
        curvature=sol.curvature,
        curvature_labels=prob.plan.varied_labels,
        durbin_watson=unc.durbin_watson,
        serial_correlation_factor=unc.serial_correlation_factor,
        **{k_: stats[k_] for k_ in ("rp", "rwp", "rexp", "gof", "chi2", "redchi", "aic", "bic")},
    )


def refine(
    scan: Scan,
    phases: Sequence[object],
    *,
    instrument: Instrument | str = "miniflex600-cuka",
    options: RefineOptions | None = None,
    two_theta_range_deg: tuple[float, float] | None = None,
    start: RefinementResult | WarmStart | None = None,
    library: object | None = None,
    densities_g_cm3: dict[str, float] | None = None,
    mass_attenuation_cm2_g: dict[str, float] | None = None,
    extra_background: dict[str, np.ndarray] | None = None,
    session: FitSession | None = None,
) -> RefinementResult:
    """Refine a multi-phase model against a scan.

    The fit runs in stages: check the input and resolve the phases; build (or reuse) the
    pattern model and its fit plan; set the starting values (warm start); check the first
    evaluation; run the variable-projection least squares; compute the fitted pattern and its
    statistics; the covariance with the Bérar–Lelann correction; the weight fractions
    (Hill–Howard, Brindley); assemble the result.

    Parameters
    ----------
    scan : Scan
        The measured pattern (σ used for weights).
    phases : sequence
        Phase names, Phase objects, Structures or ReflectionLists (see
        :func:`~xrdkit.simulate.resolve_phases`); pass ready ReflectionLists in loops.
    instrument : Instrument or str
        Instrument or preset; its widths/shifts are the starting values.
    options : RefineOptions, optional
        What to refine.
    two_theta_range_deg : (float, float), optional
        Crop the scan first.
    start : RefinementResult or WarmStart, optional
        Warm start: nonlinear parameters taken by name from a previous result. When it
        covers every parameter of this model the fit runs as one stage (no position-only
        pre-stage); a partial start only supplies starting values.
    library : PhaseLibrary, optional
        Library to resolve names in.
    densities_g_cm3, mass_attenuation_cm2_g : dict, optional
        Per phase, needed only for the Brindley microabsorption correction (``options.particle_size_um``).
    extra_background : dict of str → ndarray, optional
        Named non-negative components of fixed shape on the scan's grid (after cropping), fitted
        with the background — e.g. ``{"amorphous": hump}`` from :mod:`xrdkit.amorphous`. They are
        part of :attr:`RefinementResult.background` and reported one by one in
        :attr:`RefinementResult.extra_components`.
    session : FitSession, optional
        Where pattern models and fit plans are kept between fits (see :mod:`xrdkit.session`);
        default: the process's :func:`~xrdkit.session.default_session`. The result does not
        depend on it.

    Returns
    -------
    RefinementResult

    Raises
    ------
    InputError
        Too few points for the parameters, no reflection in range, bad phases.
    FitError
        The optimiser failed outright.

    Examples
    --------
    A two-phase pattern simulated from the bundled phases (30 wt % fcc NBH in NaCrO2 on the lab
    instrument, Cu Kα1 + Kα2) with Poisson noise, refined back:

    >>> import numpy as np
    >>> from xrdkit.refine import refine
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import simulate
    >>> two_theta_deg = np.arange(10.0, 70.0, 0.02)
    >>> pattern = simulate(["nbh-fcc", "nacro2"], [0.3, 0.7], two_theta_deg, peak_max=5000.0,
    ...                    background=[100.0])
    >>> counts = np.random.default_rng(0).poisson(pattern.intensity)
    >>> scan = make_scan(two_theta_deg, counts, source="simulated")   # σ: Poisson
    >>> result = refine(scan, ["nbh-fcc", "nacro2"], instrument="miniflex600-cuka")
    >>> {p.name: round(p.weight_fraction, 2) for p in result.phases}
    {'nbh-fcc': 0.3, 'nacro2': 0.7}
    >>> nbh = result.phase("nbh-fcc")
    >>> bool(abs(nbh.weight_fraction - 0.3) < 2 * nbh.weight_fraction_sigma)  # truth within 2σ
    True
    >>> round(result.gof, 1)  # noise only, no model error: goodness of fit ≈ 1
    1.0

    A series: the next scan starts from this fit (``start=result``).
    """
    t0 = time.perf_counter()
    opts = options or RefineOptions()
    inst = load_instrument(instrument)
    scan, refls, names = _prepare_scan(scan, phases, inst, opts, two_theta_range_deg, library)
    prob = _build_problem(scan, refls, names, inst, opts, extra_background,
                          session if session is not None else default_session())
    st = _starting_point(prob, start)
    _check_determined(prob, st)
    sol = _least_squares(prob, st)
    fitted = _fitted_pattern(prob, sol)
    unc = _uncertainties(prob, sol, fitted)
    phase_results, components, phase_warnings = _phase_results(prob, sol, fitted, unc, densities_g_cm3,
                                                               mass_attenuation_cm2_g)
    return _assemble(prob, sol, fitted, unc, phase_results, components, phase_warnings, t0)


@jit
def _fit_arrays(y: np.ndarray, w: np.ndarray, resid_w: np.ndarray, v: np.ndarray, coef: np.ndarray,
                basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The fitted pattern's arrays and the sums behind Rp, from the optimiser's weighted
    residual: (calculated, background, per peak column ``coef · column`` as rows, Σ|y − calc|,
    Σ|y|)."""
    diff = resid_w / w
    m_v = v.shape[1]
    bg = np.zeros(y.size)
    for j in range(basis.shape[1]):
        bg += coef[m_v + j] * basis[:, j]
    parts = np.ascontiguousarray((v * coef[:m_v]).T)
    return y - diff, bg, parts, float(np.abs(diff).sum()), float(np.abs(y).sum())


def _gaussian_width_floored(uvw: np.ndarray, tan_theta: np.ndarray) -> bool:
    """Whether the instrument's Caglioti Gaussian FWHM² (U tan²θ + V tanθ + W) falls below the
    model's floor at any of the angles (tanθ given: 64 over the scan's range)."""
    u, v, w = uvw.tolist()
    return bool(((u * tan_theta + v) * tan_theta + w).min() < MIN_GAUSS_FWHM_DEG**2)


def _linear_labels(model: PatternModel, names: Sequence[str]) -> list[str]:
    labels = []
    for p, refl in enumerate(model.phases):
        safe = ParamKey("scale", p).label(names)
        if model.pawley[p]:
            labels += [f"{safe}_{'_'.join(str(v) for v in hkl)}".replace("-", "m") for hkl in refl.hkl]
        else:
            labels.append(safe)
    n_extra = len(model.extra_names)
    labels += [f"background_c{j}" for j in range(model.background_basis.shape[1] - n_extra)]
    labels += [f"{name}_area" for name in model.extra_names]
    return labels


def _microabsorption(
    names: Sequence[str],
    model: PatternModel,
    opts: RefineOptions,
    densities: dict[str, float] | None,
    mass_att: dict[str, float] | None,
    coef: np.ndarray,
    zmv: list[float],
) -> np.ndarray:
    """Brindley τ per structural phase from particle sizes, densities and mass attenuation
    (given per phase, else the reflection lists' own: cell density and μ/ρ from f″)."""
    struct = [n for p, n in enumerate(names) if not model.pawley[p]]
    own = {n: model.phases[names.index(n)] for n in struct}
    densities = {**{n: r.density_g_cm3 for n, r in own.items()}, **(densities or {})}
    mass_att = {**{n: r.mass_attenuation_cm2_g for n, r in own.items()
                   if math.isfinite(r.mass_attenuation_cm2_g)}, **(mass_att or {})}
    missing = [n for n in struct if n not in densities or n not in mass_att or n not in opts.particle_size_um]
    if missing:
        raise InputError(f"Brindley correction: no density/attenuation/particle size for {missing}")
    mu = np.array([densities[n] * mass_att[n] for n in struct])  # 1/cm
    # uncorrected weight fractions → volume fractions → mean μ of the solid
    s = np.array([coef[model.column_offsets[names.index(n)]] for n in struct])
    w0 = s * np.asarray(zmv)
    w0 = w0 / w0.sum() if w0.sum() > 0 else np.full(len(struct), 1.0 / len(struct))
    v = w0 / np.array([densities[n] for n in struct])
    v = v / v.sum()
    mu_mean = float(v @ mu)
    d_cm = np.array([opts.particle_size_um[n] * 1e-4 for n in struct])
    return _brindley_tau((mu - mu_mean) * d_cm)


make_callable(__name__)  # xrdkit.refine(...) calls refine(...) (see xrdkit._callable)
