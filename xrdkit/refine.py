"""Whole-pattern (Rietveld-style) multi-phase refinement with quantitative phase analysis.

The fit is a separable nonlinear least-squares problem (variable projection,
Golub & Pereyra, *SIAM J. Numer. Anal.* 10 (1973) 413, doi:10.1137/0710036):

- **linear** coefficients — one scale per structural phase, one intensity per
  reflection family of a Pawley phase, the Chebyshev background — are solved at
  every step by weighted linear least squares (scales and Pawley intensities
  non-negative, by an active-set loop);
- **nonlinear** parameters — lattice (constrained by the crystal system), zero
  shift, sample displacement, specimen transparency, TCH widths, asymmetry, B_iso and
  March–Dollase per phase — go to :func:`scipy.optimize.least_squares` (trust-region
  reflective, bounds from the lmfit :class:`~lmfit.Parameters`) with the analytic
  Jacobian of :class:`~xrdkit.simulate.PatternModel`, projected onto the complement
  of the linear columns (Kaufman, *BIT* 15 (1975) 49, doi:10.1007/BF01932995).

Weights are 1/σ² (Poisson unless the scan carries σ).  Uncertainties come from the
full Jacobian (nonlinear and linear parameters) at the solution, scaled by the
reduced χ² as GSAS and lmfit do.  Weight fractions follow Hill & Howard (1987)
``w_p = s_p (ZMV)_p / Σ s_q (ZMV)_q``, optionally divided by Brindley's particle
absorption factor τ_p (Brindley, *Phil. Mag.* 36 (1945) 347) for microabsorption.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import lmfit
import numpy as np
from scipy.optimize import least_squares

from xrdkit.errors import FitError, InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.reflections import ReflectionList
from xrdkit.scans import Scan
from xrdkit.simulate import ParamKey, PatternModel, resolve_phases

__all__ = ["RefinementResult", "PhaseResult", "WarmStart", "merge_warm_starts", "refine", "RefineOptions", "fit_statistics"]

log = logging.getLogger(__name__)

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
#: Parameters whose natural value is their lower bound (no at-bound warning there).
_ZERO_NATURAL = frozenset({"strain_deg2", "size_deg", "penetration_depth_mm", "u_deg2", "x_deg", "y_deg"})
#: Upper bounds of the per-phase broadening: a crystalline phase, not an amorphous hump
#: (size 1° ≈ 8 nm Scherrer size at 15° 2θ, Cu Kα: nanocrystalline NBH early in an anneal).
MAX_STRAIN_DEG2 = 0.05
MAX_SIZE_DEG = 1.0
#: Relative lattice bounds around the start value (±1.5 %: NBH expands ≈ 0.5 % from 25 to 180 °C).
LATTICE_BOUND_REL = 0.015


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
        Maximum function evaluations of the optimiser (per stage).
    ftol, xtol : float
        Convergence tolerances of :func:`scipy.optimize.least_squares` (relative change of
        χ² and of the scaled parameters).
    joint_final : bool
        Finish with all parameters (nonlinear and linear) refined together with the
        exact Jacobian (robust); False keeps pure variable projection (fewer unknowns).
    particle_size_um : dict
        Phase name → particle diameter (µm) for Brindley's microabsorption correction.
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
    window_fwhm: float = 20.0
    max_nfev: int = 200
    joint_final: bool = True
    ftol: float = 1e-7
    xtol: float = 1e-7
    particle_size_um: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WarmStart:
    """The nonlinear parameters of a previous fit, small enough to send between processes."""

    theta: np.ndarray
    theta_labels: tuple[str, ...]


def merge_warm_starts(*starts: WarmStart | RefinementResult | None) -> WarmStart:
    """One warm start from several (later ones win for shared parameter names)."""
    merged: dict[str, float] = {}
    for st in starts:
        if st is not None:
            merged.update(zip(st.theta_labels, np.asarray(st.theta, dtype=float).tolist(), strict=True))
    return WarmStart(np.array(list(merged.values())), tuple(merged))


@dataclass(frozen=True)
class PhaseResult:
    """One phase of a refinement."""

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


@dataclass(frozen=True)
class RefinementResult:
    """Outcome of :func:`refine` (all arrays on the fitted 2θ grid).

    ``params`` is an :class:`lmfit.Parameters` holding every nonlinear and linear
    parameter with ``stderr`` and correlations.
    """

    source: str
    phases: tuple[PhaseResult, ...]
    params: lmfit.Parameters
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

    @property
    def residual(self) -> np.ndarray:
        """Observed − calculated."""
        return self.observed - self.calculated

    def warm_start(self) -> WarmStart:
        """Starting point for the next scan of a series."""
        return WarmStart(self.theta.copy(), tuple(self.theta_labels))

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
            "warnings": list(self.warnings),
            "phases": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "weight_fraction": p.weight_fraction,
                    "weight_fraction_sigma": p.weight_fraction_sigma,
                    "lattice": p.lattice,
                    "lattice_sigma": p.lattice_sigma,
                    "volume_angstrom3": p.volume_angstrom3,
                    "b_iso_angstrom2": p.b_iso_angstrom2,
                    "march_dollase": p.march_dollase,
                }
                for p in self.phases
            ],
            "parameters": {
                n: {"value": float(p.value), "stderr": None if p.stderr is None else float(p.stderr)}
                for n, p in self.params.items()
            },
            "elapsed_s": self.elapsed_s,
        }


def fit_statistics(observed: np.ndarray, calculated: np.ndarray, sigma: np.ndarray, n_params: int) -> dict[str, float]:
    """Rp, Rwp, Rexp, GOF, χ², reduced χ², AIC and BIC of a fit (pure function).

    With known σ, AIC = χ² + 2k and BIC = χ² + k ln N (up to a model-independent constant).
    """
    w = 1.0 / sigma**2
    diff = observed - calculated
    chi2 = float(np.sum(w * diff**2))
    n = observed.size
    dof = max(n - n_params, 1)
    sw = float(np.sum(w * observed**2))
    rwp = float(np.sqrt(chi2 / sw)) if sw > 0 else float("nan")
    rexp = float(np.sqrt(dof / sw)) if sw > 0 else float("nan")
    return {
        "rp": float(np.sum(np.abs(diff)) / max(np.sum(np.abs(observed)), 1e-300)),
        "rwp": rwp,
        "rexp": rexp,
        "gof": rwp / rexp if rexp > 0 else float("nan"),
        "chi2": chi2,
        "redchi": chi2 / dof,
        "aic": chi2 + 2.0 * n_params,
        "bic": chi2 + n_params * np.log(n),
    }


def _solve_linear(a_w: np.ndarray, y_w: np.ndarray, nonneg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted linear least squares with some coefficients ≥ 0 (active-set loop).

    Returns the coefficients (zero where clamped) and the mask of active columns.
    """
    active = np.any(a_w != 0, axis=0)
    coef = np.zeros(a_w.shape[1])
    for _ in range(a_w.shape[1] + 1):
        idx = np.nonzero(active)[0]
        sol, *_ = np.linalg.lstsq(a_w[:, idx], y_w, rcond=None)
        neg = nonneg[idx] & (sol < 0)
        if not neg.any():
            coef[:] = 0.0
            coef[idx] = sol
            return coef, active
        # drop the most negative (relative to its column norm) and repeat
        worst = idx[neg][np.argmin(sol[neg] * np.linalg.norm(a_w[:, idx[neg]], axis=0))]
        active[worst] = False
    coef[:] = 0.0
    return coef, active


def _build_parameters(model: PatternModel, theta0: np.ndarray, opts: RefineOptions) -> lmfit.Parameters:
    params = lmfit.Parameters()
    names = model.phase_names
    widths = set(opts.refine_widths)
    if opts.refine_phase_broadening:
        # per-phase strain (∝ tan²θ) and size (∝ 1/cosθ) would duplicate the instrument's U, X
        # and Y exactly: those stay at the instrument's values, V and W still refine
        widths -= {"u_deg2", "x_deg", "y_deg"}
    for j, key in enumerate(model.keys):
        label = key.label(names)
        val = float(theta0[j])
        vary = False
        lo, hi = -np.inf, np.inf
        f = key.field
        if key.phase is None:
            if f == "zero_shift_deg":
                vary, lo, hi = opts.refine_zero, val - 0.5, val + 0.5
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
            vary, lo, hi = opts.refine_lattice, val - 3.0, val + 3.0
        else:
            vary, lo, hi = opts.refine_lattice, val * (1 - LATTICE_BOUND_REL), val * (1 + LATTICE_BOUND_REL)
        val = min(max(val, lo), hi)
        params.add(label, value=val, vary=vary, min=lo, max=hi)
    return params


def _brindley_tau(mu_d: np.ndarray) -> np.ndarray:
    """Brindley particle absorption factor τ(μ_p − μ̄)·R for spheres, by numerical integration.

    τ = (1/V) ∫ exp(−(μ_p − μ̄) ℓ) dV over a sphere of radius R, with ℓ the mean path
    in the particle (Brindley 1945, as tabulated there); evaluated here as the
    volume average of exp(−Δμ·2R·u) with the chord-length distribution of a sphere,
    p(u) = 2u on u ∈ [0, 1] in units of the diameter.
    """
    u = np.linspace(0.0, 1.0, 401)
    pu = 2.0 * u
    out = []
    for x in np.atleast_1d(mu_d):
        out.append(np.trapezoid(pu * np.exp(-x * u), u))
    return np.asarray(out)


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
) -> RefinementResult:
    """Refine a multi-phase model against a scan.

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

    Returns
    -------
    RefinementResult

    Raises
    ------
    InputError
        Too few points for the parameters, no reflection in range, bad phases.
    FitError
        The optimiser failed outright.
    """
    t0 = time.perf_counter()
    opts = options or RefineOptions()
    inst = load_instrument(instrument)
    if scan.wavelength_angstrom and abs(scan.wavelength_angstrom - inst.wavelength_angstrom) > 1e-3:
        log.warning(
            "%s: scan wavelength %.5f Å differs from instrument %s (%.5f Å); using the instrument's",
            scan.source, scan.wavelength_angstrom, inst.name, inst.wavelength_angstrom,
        )
    if two_theta_range_deg is not None:
        scan = scan.crop(*two_theta_range_deg)
    x, y, sig = scan.two_theta_deg, scan.counts, scan.sigma
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
    po = {names.index(n): tuple(ax) for n, ax in opts.preferred_orientation.items()}
    model = PatternModel(
        refls, x, inst, pawley=[n in opts.pawley for n in names],
        background_terms=opts.background_terms, preferred_orientation=po, window_fwhm=opts.window_fwhm,
    )
    theta0 = model.initial_vector(inst)
    warm = False
    if start is not None:
        # take every parameter the start knows by name; warm (one stage) only if it knows all
        known = dict(zip(start.theta_labels, np.asarray(start.theta, dtype=float), strict=True))
        model_labels = model.labels()
        hits = [j for j, lab in enumerate(model_labels) if lab in known]
        for j in hits:
            theta0[j] = known[model_labels[j]]
        warm = len(hits) == len(model_labels)
        if not hits:
            log.info("%s: warm start shares no parameter with this model; cold start", scan.source)
    params = _build_parameters(model, theta0, opts)
    labels = model.labels()
    vary = np.array([params[n].vary for n in labels])
    vidx = np.nonzero(vary)[0]
    lo = np.array([params[labels[j]].min for j in vidx])
    hi = np.array([params[labels[j]].max for j in vidx])
    theta = np.array([params[n].value for n in labels])

    probe = model.evaluate(theta)
    if probe.n_peaks == 0:
        raise InputError(
            f"no reflection of {names} falls in {x[0]:.2f}–{x[-1]:.2f}° 2θ", source=scan.source
        )
    n_lin = int(np.count_nonzero(np.any(probe.columns != 0, axis=0)))
    if x.size <= vidx.size + n_lin:
        raise InputError(
            f"{x.size} points cannot determine {vidx.size + n_lin} parameters", source=scan.source
        )
    w = 1.0 / sig
    yw = y * w
    cache: dict[str, object] = {}

    def full(tv: np.ndarray) -> np.ndarray:
        t = theta.copy()
        t[vidx] = tv
        return t

    def solve(tv: np.ndarray):
        key = tv.tobytes()
        if cache.get("key") != key:
            t = full(tv)
            ev = model.evaluate(t)
            aw = ev.columns * w[:, None]
            coef, active = _solve_linear(aw, yw, model.nonnegative)
            cache.update(key=key, t=t, ev=ev, aw=aw, coef=coef, active=active)
        return cache

    def fun(tv: np.ndarray) -> np.ndarray:
        c = solve(tv)
        return yw - c["aw"] @ c["coef"]

    def jac(tv: np.ndarray) -> np.ndarray:
        c = solve(tv)
        ev = model.evaluate(c["t"], coefficients=c["coef"], jacobian_for=vidx)
        jw = -ev.jacobian * w[:, None]
        q, _ = np.linalg.qr(c["aw"][:, c["active"]])
        return jw - q @ (q.T @ jw)

    def run(tv0: np.ndarray, free: np.ndarray):
        """least_squares over the subset ``free`` (bool over vidx) of the varied parameters."""
        if not free.any():
            return tv0, True, "no nonlinear parameter varied", 0, 0
        fixed_part = tv0.copy()

        def f_sub(ts: np.ndarray) -> np.ndarray:
            t = fixed_part.copy()
            t[free] = ts
            return fun(t)

        def j_sub(ts: np.ndarray) -> np.ndarray:
            t = fixed_part.copy()
            t[free] = ts
            return jac(t)[:, free]

        try:
            res = least_squares(
                f_sub, tv0[free], jac=j_sub, bounds=(lo[free], hi[free]), method="trf",
                x_scale="jac", ftol=opts.ftol, xtol=opts.xtol, gtol=1e-10, max_nfev=opts.max_nfev,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise FitError(f"{scan.source}: optimiser failed: {exc}") from exc
        out = fixed_part.copy()
        out[free] = res.x
        return out, bool(res.status > 0), str(res.message), int(res.nfev), int(res.njev or 0)

    tv = theta[vidx]
    nfev = njev = 0
    if not warm and vidx.size:
        # cold start: positions first (lattice, zero, displacement) with widths held
        stage1 = np.array([model.keys[j].field not in _WIDTH_FIELDS for j in vidx])
        if stage1.any() and not stage1.all():
            tv, _, _, nf, nj = run(tv, stage1)
            nfev, njev = nfev + nf, njev + nj
    if opts.joint_final and vidx.size:
        tv, coef, active, converged, message, nf, nj = _joint_stage(
            model, tv, theta, vidx, lo, hi, solve, w, yw, opts, scan.source
        )
        t_final = theta.copy()
        t_final[vidx] = tv
        ev = model.evaluate(t_final)
    else:
        tv, converged, message, nf, nj = run(tv, np.ones(vidx.size, dtype=bool))
        c = solve(tv)
        t_final, coef, active, ev = c["t"], c["coef"], c["active"], c["ev"]
    nfev, njev = nfev + nf, njev + nj
    calc = ev.columns @ coef
    n_bg = model.background_basis.shape[1]
    n_par = int(vidx.size + active.sum())
    stats = fit_statistics(y, calc, sig, n_par)

    # ---- uncertainties from the full Jacobian (nonlinear + active linear columns)
    warnings: list[str] = []
    jn = model.evaluate(t_final, coefficients=coef, jacobian_for=vidx).jacobian * w[:, None] if vidx.size else np.zeros((x.size, 0))
    jl = (ev.columns * w[:, None])[:, active]
    jfull = np.hstack([jn, jl])
    lin_idx = np.nonzero(active)[0]
    try:
        # column scaling keeps the normal matrix well conditioned (parameters span 1e-4 … 1e5)
        norms = np.linalg.norm(jfull, axis=0)
        norms[norms == 0] = 1.0
        js = jfull / norms
        jtj = js.T @ js
        cov = np.linalg.pinv(jtj, rcond=1e-12, hermitian=True) / np.outer(norms, norms) * stats["redchi"]
        if np.linalg.matrix_rank(jtj, hermitian=True) < jtj.shape[0]:
            warnings.append("singular normal matrix: some parameters are not determined by the data")
    except np.linalg.LinAlgError:
        cov = np.full((jfull.shape[1],) * 2, np.nan)
        warnings.append("covariance could not be computed")
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    nn = vidx.size
    for j, lab in enumerate(labels):
        par = params[lab]
        par.value = float(t_final[j])
    for k, j in enumerate(vidx):
        params[labels[j]].stderr = float(sd[k])
    lin_labels = _linear_labels(model, names)
    for col, lab in enumerate(lin_labels):
        params.add(lab, value=float(coef[col]), vary=bool(active[col]), min=0 if model.nonnegative[col] else -np.inf)
    for k, col in enumerate(lin_idx):
        params[lin_labels[col]].stderr = float(sd[nn + k])
    # correlations
    all_labels = [labels[j] for j in vidx] + [lin_labels[c_] for c_ in lin_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    for a in range(len(all_labels)):
        params[all_labels[a]].correl = {
            all_labels[b]: float(corr[a, b]) for b in range(len(all_labels)) if b != a and np.isfinite(corr[a, b])
        }
    skip_bg = {lin_labels[j] for j in range(model.n_peak_columns, model.n_columns)}
    for a in range(len(all_labels)):
        for b in range(a + 1, len(all_labels)):
            if all_labels[a] in skip_bg and all_labels[b] in skip_bg:
                continue
            if np.isfinite(corr[a, b]) and abs(corr[a, b]) > CORRELATION_WARN:
                warnings.append(f"strong correlation {all_labels[a]} / {all_labels[b]}: {corr[a, b]:+.3f}")
    for j in vidx:
        par = params[labels[j]]
        span = par.max - par.min
        at_lo = par.value - par.min < AT_BOUND_REL * span and model.keys[j].field not in _ZERO_NATURAL
        if np.isfinite(span) and (at_lo or par.max - par.value < AT_BOUND_REL * span):
            warnings.append(f"parameter {labels[j]} at its bound ({par.value:.6g} in [{par.min:.6g}, {par.max:.6g}])")
    if not converged:
        warnings.append(f"refinement did not converge: {message}")

    # ---- phases: scales, weight fractions (Hill–Howard, optional Brindley)
    comps = {}
    phase_rows = []
    zmv = []
    scale = []
    scale_cov_idx = []
    for p, refl in enumerate(refls):
        off = model.column_offsets[p]
        ncol = refl.n if model.pawley[p] else 1
        cols = slice(off, off + ncol)
        comps[refl.name] = ev.columns[:, cols] @ coef[cols]
        lat = model.lattice_values(t_final, p)
        vol = refl.volume(lat)
        if not model.pawley[p]:
            zmv.append(refl.cell_mass_amu * vol)
            scale.append(coef[off])
            pos = np.nonzero(lin_idx == off)[0]
            scale_cov_idx.append(nn + int(pos[0]) if pos.size else None)
            if coef[off] == 0:
                warnings.append(f"phase {refl.name} has zero scale (not detected; clamped at 0)")
        phase_rows.append((refl, lat, vol))
    tau = np.ones(len(zmv))
    if opts.particle_size_um:
        tau = _microabsorption(names, model, opts, densities_g_cm3, mass_attenuation_cm2_g, coef, zmv)
    zmv_arr = np.asarray(zmv, dtype=float) / tau
    s_arr = np.asarray(scale, dtype=float)
    mass = s_arr * zmv_arr
    total = mass.sum()
    wf = mass / total if total > 0 else np.full(mass.size, np.nan)
    # σ(w) by linear propagation of the scale covariance
    wf_sig = np.full(mass.size, np.nan)
    ok_idx = [i for i, ci in enumerate(scale_cov_idx) if ci is not None]
    if total > 0 and ok_idx:
        cidx = [scale_cov_idx[i] for i in ok_idx]
        cs = cov[np.ix_(cidx, cidx)]
        ok = np.asarray(ok_idx)
        # ∂w_i/∂s_j = (δ_ij (ZMV)_j Σ − m_i (ZMV)_j) / Σ²  with m = s·ZMV, Σ = Σ m
        grad = (np.diag(zmv_arr[ok]) * total - np.outer(mass[ok], zmv_arr[ok])) / total**2
        wf_sig[ok] = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", grad, cs, grad), 0.0, None))
        for i, ci in enumerate(scale_cov_idx):
            if ci is None:
                wf_sig[i] = 0.0
    results = []
    k = 0
    for p, (refl, lat, vol) in enumerate(phase_rows):
        lat_sig = {}
        for n in refl.lattice_parameter_names:
            par = params[ParamKey(n, p).label(names)]
            lat_sig[n] = float(par.stderr) if par.stderr is not None else 0.0
        b_iso = float(t_final[model.index(ParamKey("b_iso", p))])
        md = float(t_final[model.index(ParamKey("march_dollase", p))])
        if model.pawley[p]:
            results.append(PhaseResult(refl.name, "pawley", None, None, float("nan"), float("nan"), lat, lat_sig, vol, b_iso, md))
            continue
        sc_idx = scale_cov_idx[k]
        results.append(
            PhaseResult(
                refl.name, "structure", float(wf[k]), float(wf_sig[k]), float(s_arr[k]),
                float(sd[sc_idx]) if sc_idx is not None else 0.0, lat, lat_sig, vol, b_iso, md,
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
    bg = model.background_basis @ coef[model.n_peak_columns:] if n_bg else np.zeros_like(x)
    return RefinementResult(
        source=scan.source,
        phases=tuple(results),
        params=params,
        n_points=int(x.size),
        n_params=n_par,
        converged=converged,
        message=str(message),
        nfev=nfev,
        njev=njev,
        warnings=tuple(warnings),
        two_theta_deg=x,
        observed=y,
        sigma=sig,
        calculated=calc,
        background=bg,
        components=comps,
        theta=t_final.copy(),
        theta_labels=tuple(labels),
        elapsed_s=time.perf_counter() - t0,
        **{k_: stats[k_] for k_ in ("rp", "rwp", "rexp", "gof", "chi2", "redchi", "aic", "bic")},
    )


def _joint_stage(model, tv0, theta, vidx, lo, hi, solve, w, yw, opts, source):
    """Final stage: nonlinear and (active) linear parameters refined together.

    Starts from the variable-projection solution at ``tv0``; the Jacobian is exact
    (no Kaufman approximation), which converges reliably from starts where the
    projected one stalls. Scales and Pawley intensities are bounded at 0.
    """
    c0 = solve(tv0)
    active = c0["active"].copy()
    lin = np.nonzero(active)[0]
    nl = tv0.size
    z0 = np.concatenate([tv0, c0["coef"][lin]])
    lin_lo = np.where(model.nonnegative[lin], 0.0, -np.inf)
    zlo = np.concatenate([lo, lin_lo])
    zhi = np.concatenate([hi, np.full(lin.size, np.inf)])
    z0 = np.clip(z0, zlo, zhi)
    cache: dict[str, object] = {}

    def columns(z: np.ndarray):
        key = z[:nl].tobytes()
        if cache.get("key") != key:
            t = theta.copy()
            t[vidx] = z[:nl]
            ev = model.evaluate(t)
            cache.update(key=key, t=t, aw=ev.columns * w[:, None])
        return cache

    def coef_of(z: np.ndarray) -> np.ndarray:
        coef = np.zeros(model.n_columns)
        coef[lin] = z[nl:]
        return coef

    def fun(z: np.ndarray) -> np.ndarray:
        c = columns(z)
        return yw - c["aw"][:, lin] @ z[nl:]

    def jac(z: np.ndarray) -> np.ndarray:
        c = columns(z)
        ev = model.evaluate(c["t"], coefficients=coef_of(z), jacobian_for=vidx)
        return np.hstack([-ev.jacobian * w[:, None], -c["aw"][:, lin]])

    try:
        res = least_squares(
            fun, z0, jac=jac, bounds=(zlo, zhi), method="trf", x_scale="jac",
            ftol=opts.ftol, xtol=opts.xtol, gtol=1e-10, max_nfev=opts.max_nfev,
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"{source}: optimiser failed: {exc}") from exc
    coef = coef_of(res.x)
    active = active.copy()
    active[lin[(res.x[nl:] <= 0) & model.nonnegative[lin]]] = False
    coef[~active] = 0.0
    return res.x[:nl], coef, active, bool(res.status > 0), str(res.message), int(res.nfev), int(res.njev or 0)


def _linear_labels(model: PatternModel, names: Sequence[str]) -> list[str]:
    labels = []
    for p, refl in enumerate(model.phases):
        safe = ParamKey("scale", p).label(names)
        if model.pawley[p]:
            labels += [f"{safe}_{'_'.join(str(v) for v in hkl)}".replace("-", "m") for hkl in refl.hkl]
        else:
            labels.append(safe)
    labels += [f"background_c{j}" for j in range(model.background_basis.shape[1])]
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
    """Brindley τ per structural phase from particle sizes, densities and mass attenuation."""
    if not densities or not mass_att:
        raise InputError("Brindley correction needs densities_g_cm3 and mass_attenuation_cm2_g per phase")
    struct = [n for p, n in enumerate(names) if not model.pawley[p]]
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
