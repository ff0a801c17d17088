"""Phase identification: did the electrolyte crystallise as fcc Na4(B12H12)(B10H10) or separately?

:func:`identify` refines competing phase sets against one scan and returns a
:class:`PhaseVerdict`:

- ``fcc`` — the closo-borate is the fcc NBH phase (no second borate phase above the
  detection limit, no unexplained crystalline intensity);
- ``separate`` — the borates are separately crystallised Na2B12H12 / Na2B10H10;
- ``mixed`` — both, with the fcc share of the borates ± σ;
- ``unexplained`` — significant crystalline intensity none of the available models
  explains (e.g. the d ≈ 5.85 Å line of leftover monoclinic Na2B10H10 when no structure
  model of that phase is in the library); the share of diffracted intensity it carries
  is estimated, and the verdict lists the models that were missing.

``fcc_weight_fraction`` is always the **purity of the electrolyte**: the fcc NBH share
of all closo-borate phases, not its share of the whole sample (the sample weight
fractions of every phase are in ``phases``).

Evidence: BIC of every model tried (ΔBIC > 10 counts as very strong, Kass & Raftery,
*J. Am. Stat. Assoc.* 90 (1995) 773), and residual peaks found by a matched filter on
the weighted difference curve with their 2θ, d and significance.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from xrdkit.errors import InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.profiles import pseudo_voigt, tch_fwhm_eta
from xrdkit.refine import (
    RefinementResult,
    RefineOptions,
    WarmStart,
    merge_warm_starts,
    refine,
    screen_phases,
)
from xrdkit.reflections import ReflectionList
from xrdkit.scans import Scan
from xrdkit.simulate import resolve_phases

__all__ = [
    "Verdict",
    "PhaseVerdict",
    "ResidualPeak",
    "ModelScore",
    "identify",
    "FCC_PHASE",
    "SEPARATE_BORATE_PHASES",
    "ELECTRODE_PHASES",
    "find_residual_peaks",
]

log = logging.getLogger(__name__)

#: Library name of the conductive fcc phase.
FCC_PHASE = "nbh-fcc"
#: Separately crystallised borates, best models first (room-temperature monoclinic ones
#: exist only when a user adds their CIF; the high-T cubic ones are stand-ins).
SEPARATE_BORATE_PHASES = ("na2b12h12-rt", "na2b10h10-rt", "na2b12h12-ht", "na2b10h10-ht")
#: Monoclinic room-temperature models the library lacks unless a user adds them.
ROOM_TEMPERATURE_BORATES = ("na2b12h12-rt", "na2b10h10-rt")
#: Non-electrolyte phases an infiltrated-electrode scan may show.
ELECTRODE_PHASES = ("nacro2", "beta-sn", "al", "be")
#: ΔBIC above which one model is preferred over another ("very strong").
DELTA_BIC_DECISIVE = 10.0
#: Matched-filter significance reported as a residual peak.
RESIDUAL_PEAK_SIGMA = 3.0
#: Significance above which a residual peak makes the verdict "unexplained".
UNEXPLAINED_PEAK_SIGMA = 6.0
#: …and the share of the diffracted (background-free) intensity it must carry.
UNEXPLAINED_SHARE_MIN = 0.005
#: Goodness of fit above which no phase-set verdict is given (the models do not describe the scan).
GOF_ADEQUATE = 2.5
#: A residual peak closer than this (in FWHM) to a modelled reflection counts as misfit.
MISFIT_RADIUS_FWHM = 1.5
#: Half-width (in FWHM) of the matched-filter kernel; its mean is removed over this span.
KERNEL_HALF_WIDTH_FWHM = 6.0
#: Evaluation cap per refinement stage of each candidate model.
MODEL_MAX_NFEV = 80
#: Multiple of σ used for detection limits.
DETECTION_SIGMA = 3.0


class Verdict(StrEnum):
    """What the electrolyte in a scan is: the one vocabulary every output uses.

    The value is the string written to JSON, CSV, HDF5 and reports (``Verdict.FCC == "fcc"``).
    """

    #: The closo-borate crystallised as the conductive fcc NBH phase (no second borate phase found).
    FCC = "fcc"
    #: Only separately crystallised Na2B12H12 / Na2B10H10 (the methanol route).
    SEPARATE = "separate"
    #: Both fcc NBH and separately crystallised salt.
    MIXED = "mixed"
    #: No crystalline closo-borate is significantly present: there is no purity to report.
    NO_BORATE = "no-borate"
    #: Borate present, but significant crystalline intensity none of the models explains.
    UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class ResidualPeak:
    """A peak in the difference curve the model does not explain."""

    two_theta_deg: float
    d_spacing_angstrom: float
    significance_sigma: float
    area_counts_deg: float


@dataclass(frozen=True)
class ModelScore:
    """One candidate phase set and how well it fits."""

    label: str
    phases: tuple[str, ...]
    bic: float
    rwp: float
    gof: float
    converged: bool


@dataclass(frozen=True)
class PhaseVerdict:
    """The answer for one scan (see module docstring)."""

    source: str
    verdict: str
    fcc_weight_fraction: float | None
    fcc_weight_fraction_sigma: float | None
    detection_limit: float | None
    detection_limit_basis: str
    models_missing: tuple[str, ...]
    models: tuple[ModelScore, ...]
    residual_peaks: tuple[ResidualPeak, ...]
    unexplained_intensity_share: float
    best: RefinementResult = field(repr=False)
    notes: tuple[str, ...] = ()
    warm_starts: dict[str, WarmStart] = field(default_factory=dict, repr=False)

    @property
    def delta_bic(self) -> dict[str, float]:
        """BIC of every model minus the best one."""
        best = min(m.bic for m in self.models)
        return {m.label: m.bic - best for m in self.models}

    def to_dict(self) -> dict:
        """JSON-ready dictionary (the ``xrdkit identify --json`` contract)."""
        return {
            "source": self.source,
            "verdict": self.verdict,
            "fcc_weight_fraction": self.fcc_weight_fraction,
            "fcc_weight_fraction_sigma": self.fcc_weight_fraction_sigma,
            "detection_limit": self.detection_limit,
            "detection_limit_basis": self.detection_limit_basis,
            "evidence": {
                "models": [
                    {"label": m.label, "phases": list(m.phases), "bic": m.bic, "rwp": m.rwp,
                     "gof": m.gof, "converged": m.converged}
                    for m in self.models
                ],
                "delta_bic": self.delta_bic,
                "residual_peaks": [
                    {"two_theta_deg": p.two_theta_deg, "d_spacing_angstrom": p.d_spacing_angstrom,
                     "significance_sigma": p.significance_sigma, "area_counts_deg": p.area_counts_deg}
                    for p in self.residual_peaks
                ],
                "unexplained_intensity_share": self.unexplained_intensity_share,
                "models_missing": list(self.models_missing),
                "notes": list(self.notes),
            },
            "phases": [
                {"name": p.name, "weight_fraction": p.weight_fraction,
                 "weight_fraction_sigma": p.weight_fraction_sigma, "lattice": p.lattice}
                for p in self.best.phases
            ],
            "rwp": self.best.rwp,
            "gof": self.best.gof,
            "converged": self.best.converged,
            "warnings": list(self.best.warnings),
        }


def find_residual_peaks(
    result: RefinementResult,
    wavelength_angstrom: float,
    *,
    fwhm_deg: float | None = None,
    threshold_sigma: float = RESIDUAL_PEAK_SIGMA,
) -> tuple[list[ResidualPeak], float, float]:
    """Matched-filter search for positive peaks in the weighted difference curve.

    For a trial line of unit area and shape ``p`` centred at each point, the best area is
    ``A = Σ r p/σ² / Σ p²/σ²`` with σ(A) = ``1/√(Σ p²/σ²)``; a peak is a local maximum of
    ``A/σ(A)`` above ``threshold_sigma``.

    Returns
    -------
    peaks : list of ResidualPeak
    min_detectable_area : float
        ``DETECTION_SIGMA · σ(A)`` averaged over the scan (counts·deg).
    peak_area_total : float
        Diffracted (model minus background) area of the fit (counts·deg).
    """
    x = result.two_theta_deg
    r = result.observed - result.calculated
    w = 1.0 / result.sigma**2
    step = float(np.median(np.diff(x)))
    if fwhm_deg is None:
        fwhm_deg = _typical_fwhm(result)
    half = int(np.ceil(KERNEL_HALF_WIDTH_FWHM * fwhm_deg / step))
    kern_x = np.arange(-half, half + 1) * step
    # zero-mean kernel: a slowly varying background misfit does not look like a peak
    p = pseudo_voigt(kern_x, fwhm_deg, 0.5)
    p = p - p.mean()
    num = np.convolve(r * w, p[::-1], mode="same")
    den = np.convolve(w, (p * p)[::-1], mode="same")
    area = num / np.maximum(den, 1e-300)
    sig_area = 1.0 / np.sqrt(np.maximum(den, 1e-300))
    z = area / sig_area
    z[:half] = 0.0
    z[-half:] = 0.0
    peaks = []
    cand = np.nonzero((z[1:-1] > threshold_sigma) & (z[1:-1] >= z[:-2]) & (z[1:-1] > z[2:]))[0] + 1
    for i in cand:
        tt = float(x[i])
        d = wavelength_angstrom / (2 * np.sin(np.radians(tt) / 2))
        peaks.append(ResidualPeak(tt, float(d), float(z[i]), float(area[i])))
    peaks.sort(key=lambda pk: -pk.significance_sigma)
    diffracted = float(np.trapezoid(np.clip(result.calculated - result.background, 0, None), x))
    mda = float(DETECTION_SIGMA * np.median(sig_area[half:-half])) if x.size > 2 * half else float("nan")
    return peaks, mda, diffracted


def _typical_fwhm(result: RefinementResult) -> float:
    """FWHM (deg) of the fitted profile near the middle of the scan (TCH widths)."""
    v = result.value
    tt = float(np.median(result.two_theta_deg))
    t = np.tan(np.radians(tt) / 2)
    hg = np.sqrt(max(v("u_deg2") * t * t + v("v_deg2") * t + v("w_deg2"), 1e-8))
    hl = max(v("x_deg") * t + v("y_deg") / np.cos(np.radians(tt) / 2), 0.0)
    return float(max(tch_fwhm_eta(np.array([hg]), np.array([hl])).fwhm_deg[0], 0.01))


def _reflection_positions(result: RefinementResult, refls: dict[str, ReflectionList],
                          inst: Instrument) -> np.ndarray:
    """2θ (deg) of every reflection of the fitted phases at their refined cells, all wavelengths."""
    out = []
    for ph in result.phases:
        refl = refls.get(ph.name)
        if refl is None:
            continue
        d = refl.d_spacing_angstrom(ph.lattice)
        for lam in inst.wavelengths_angstrom:
            s = lam / (2 * d)
            out.append(2 * np.degrees(np.arcsin(s[s < 1])))
    return np.concatenate(out) if out else np.zeros(0)


def _purity(result: RefinementResult, fcc: str, borates: Sequence[str]) -> tuple[float | None, float | None]:
    """fcc share of the closo-borates and its σ (from the weight-fraction σs)."""
    names = {p.name: p for p in result.phases}
    if fcc not in names and not any(b in names for b in borates):
        return None, None
    w_f = names[fcc].weight_fraction if fcc in names else 0.0
    s_f = names[fcc].weight_fraction_sigma if fcc in names else 0.0
    w_s = sum(names[b].weight_fraction or 0.0 for b in borates if b in names)
    s_s2 = sum((names[b].weight_fraction_sigma or 0.0) ** 2 for b in borates if b in names)
    tot = (w_f or 0.0) + w_s
    if tot <= 0:
        return None, None
    purity = (w_f or 0.0) / tot
    # ∂P/∂w_f = w_s/tot², ∂P/∂w_s = −w_f/tot² (weight-fraction covariances neglected)
    sig = np.sqrt((w_s / tot**2) ** 2 * (s_f or 0.0) ** 2 + ((w_f or 0.0) / tot**2) ** 2 * s_s2)
    return float(purity), float(sig)


def identify(
    scan: Scan,
    candidates: Sequence[str] | None = None,
    *,
    electrode_phases: Sequence[str] | None = None,
    instrument: Instrument | str = "miniflex600-cuka",
    options: RefineOptions | None = None,
    library: object | None = None,
    reflections: dict[str, ReflectionList] | None = None,
    two_theta_range_deg: tuple[float, float] | None = None,
    start: dict[str, WarmStart] | None = None,
) -> PhaseVerdict:
    """Decide between fcc NBH and separately crystallised borates for one scan.

    Parameters
    ----------
    scan : Scan
        Measured pattern.
    candidates : sequence of str, optional
        Borate phases to consider (default: ``nbh-fcc`` plus every separate-borate model
        the library has, see :data:`SEPARATE_BORATE_PHASES`).
    electrode_phases : sequence of str, optional
        Non-borate phases present in the sample (default: none). Phases refined to zero
        scale are dropped before the model comparison.
    instrument, options, library
        As in :func:`~xrdkit.refine.refine`.
    reflections : dict, optional
        Ready reflection lists by phase name (a batch computes them once).
    two_theta_range_deg : (float, float), optional
        Crop the scan first.
    start : dict, optional
        Warm starts by model label (``"fcc"``, ``"separate"``, ``"mixed"``) from the previous
        scan of a series (:attr:`PhaseVerdict.warm_starts`).

    Returns
    -------
    PhaseVerdict
    """
    inst = load_instrument(instrument)
    if two_theta_range_deg is not None:
        scan = scan.crop(*two_theta_range_deg)
    if library is None and (candidates is None or any(c not in (reflections or {}) for c in candidates)):
        from xrdkit.phases import PhaseLibrary

        library = PhaseLibrary()
    if candidates is None:
        available = set(library.names()) if library is not None else set(reflections or {})
        candidates = [FCC_PHASE] + [p for p in SEPARATE_BORATE_PHASES if p in available]
    candidates = list(dict.fromkeys(candidates))
    electrodes = list(dict.fromkeys(electrode_phases or []))
    overlap = set(candidates) & set(electrodes)
    if overlap:
        raise InputError(f"phases listed both as borates and electrode phases: {sorted(overlap)}")
    refls = dict(reflections or {})
    missing_lists = [n for n in candidates + electrodes if n not in refls]
    if missing_lists:
        for n, rl in zip(
            missing_lists, resolve_phases(missing_lists, inst, float(scan.two_theta_deg[-1]), library=library),
            strict=True,
        ):
            refls[n] = rl
    for name, rl in refls.items():
        if rl.name != name:
            refls[name] = rl.with_intensities(rl.f2, name=name)
    separate = [c for c in candidates if c != FCC_PHASE]
    has_fcc = FCC_PHASE in candidates
    notes: list[str] = []
    missing_models = tuple(p for p in ROOM_TEMPERATURE_BORATES if p not in candidates)
    if missing_models:
        notes.append(
            "no structure model for the room-temperature monoclinic phase(s) "
            f"{', '.join(missing_models)}: separate crystallisation is judged with "
            + ("the high-temperature cubic stand-ins and " if separate else "")
            + "the residual peaks only"
        )
    opts = options or RefineOptions()
    # a candidate model that does not describe the scan can wander for hundreds of steps;
    # its BIC is decided long before that (non-convergence is recorded as a warning)
    opts = dataclasses.replace(opts, max_nfev=min(opts.max_nfev, MODEL_MAX_NFEV))

    previous = dict(start or {})

    def fits(label: str, names: Sequence[str], starts: Sequence[WarmStart | None]) -> list[RefinementResult]:
        """The model ``names`` refined from each start."""
        # refine ignores (and logs) a warm start made for another phase set
        out = [refine(scan, [refls[n] for n in names], instrument=inst, options=opts, start=st)
               for st in starts]
        for res in out:
            log.debug("%s: model %s rwp=%.4f bic=%.1f", scan.source, label, res.rwp, res.bic)
        return out

    def lowest(candidates: Sequence[RefinementResult]) -> RefinementResult:
        return min(candidates, key=lambda r: r.chi2)

    # screen every phase with a linear-only fit at the start values (one evaluation): a phase
    # with zero or insignificant scale would only add undetermined parameters, and a scan
    # without any crystalline borate does not need the competing borate models at all
    results: dict[str, RefinementResult] = {}
    base = [FCC_PHASE] if has_fcc else separate[:1]
    screen = screen_phases(
        scan, [refls[n] for n in base + electrodes + [s_ for s_ in separate if s_ not in base]],
        instrument=inst, background_terms=opts.background_terms, window_fwhm=opts.window_fwhm,
    )
    seen = {name for name, (wf, sd) in screen.items() if wf > 0 and wf > DETECTION_SIGMA * sd}
    present = [e for e in electrodes if e in seen]
    if len(present) != len(electrodes):
        notes.append(f"electrode phases not detected and dropped: {', '.join(sorted(set(electrodes) - seen))}")
    borate_seen = any(c in seen for c in candidates)
    if not borate_seen:
        notes.append("no crystalline closo-borate above 3σ in the screening fit: competing borate models skipped")
    first = "fcc" if has_fcc else "separate"
    results[first] = fits(first, base + present, [previous.get(first)])[0]
    if has_fcc and separate and borate_seen:
        # competing models are fitted from more than one start and the lowest χ² kept, so the
        # verdict does not hinge on one local minimum: the separate model from this scan's fcc
        # fit (borates at their library cells) and, in a series, from the previous scan's
        # separate model; the mixed model from each separate fit joined with the fcc fit, the
        # fcc model's shared parameters (instrument, electrode phases) winning, and from the
        # best separate fit with its own (a superset model must not end worse than its subsets;
        # cubic stand-ins can drift onto the NBH lines, so the library-cell start is always kept)
        # (an fcc fit that does not describe the scan, GOF > GOF_ADEQUATE, seeds nothing: its
        # instrument widths and NBH cell are whatever fitted the wrong model best; the separate
        # model then starts from the instrument preset and the library cells, the mixed model
        # from each separate fit with NBH at its library cell)
        fcc_seed = results["fcc"] if results["fcc"].gof <= GOF_ADEQUATE else None
        sep_fits = fits("separate", separate + present, [None if fcc_seed is None else fcc_seed.warm_start()] + (
            [previous["separate"]] if "separate" in previous else []))
        results["separate"] = lowest(sep_fits)
        mixed_starts = [merge_warm_starts(r, fcc_seed) for r in sep_fits]
        if fcc_seed is not None:
            mixed_starts.append(merge_warm_starts(fcc_seed, results["separate"]))
        results["mixed"] = lowest(fits("mixed", [FCC_PHASE] + separate + present, mixed_starts))
    scores = tuple(
        ModelScore(label, tuple(p.name for p in r.phases), r.bic, r.rwp, r.gof, r.converged)
        for label, r in results.items()
    )
    best_label = min(results, key=lambda k: results[k].bic)
    # prefer the simpler model unless the richer one is decisively better
    if best_label == "mixed" and results["mixed"].bic > min(
        results[k].bic for k in results if k != "mixed"
    ) - DELTA_BIC_DECISIVE:
        best_label = min((k for k in results if k != "mixed"), key=lambda k: results[k].bic)
    best = results[best_label]

    purity, purity_sigma = _purity(best, FCC_PHASE, separate)
    # detection limit of a second borate phase: 3σ of its weight fraction in the mixed model
    detection_limit: float | None = None
    basis = "weight_fraction"
    if "mixed" in results:
        mixed = results["mixed"]
        sig = [p.weight_fraction_sigma for p in mixed.phases if p.name in separate and p.weight_fraction_sigma]
        borate_total = sum(p.weight_fraction or 0 for p in mixed.phases if p.name in candidates)
        if sig and borate_total > 0:
            detection_limit = float(DETECTION_SIGMA * max(sig) / borate_total)
    fwhm = _typical_fwhm(best)
    peaks, mda, diffracted = find_residual_peaks(best, inst.wavelength_angstrom, fwhm_deg=fwhm)
    if detection_limit is None and diffracted > 0:
        detection_limit = float(mda / diffracted)
        basis = "intensity_share"
    # a residual peak on top of a modelled reflection is a misfit of that reflection (profile,
    # B, texture), not a phase the models lack: only the others count as unexplained
    modelled = _reflection_positions(best, refls, inst)
    strong = [
        p for p in peaks
        if p.significance_sigma >= UNEXPLAINED_PEAK_SIGMA
        and (modelled.size == 0 or np.min(np.abs(modelled - p.two_theta_deg)) > MISFIT_RADIUS_FWHM * fwhm)
    ]
    share = float(sum(max(p.area_counts_deg, 0) for p in strong) / diffracted) if diffracted > 0 else 0.0
    if purity is not None and purity_sigma is not None and purity == 1.0 and detection_limit:
        # a clamped-at-zero second phase: report the one-sided limit as σ
        purity_sigma = max(purity_sigma, detection_limit / DETECTION_SIGMA)

    if best.gof > GOF_ADEQUATE:
        verdict = "unexplained"
        notes.append(
            f"the best model fits poorly (GOF {best.gof:.2f} > {GOF_ADEQUATE:g}): no model describes this "
            "scan well enough for a verdict (amorphous content, a missing phase or a wrong instrument?)"
        )
    elif strong and share >= UNEXPLAINED_SHARE_MIN:
        verdict = "unexplained"
        notes.append(
            f"{len(strong)} residual peak(s) ≥ {UNEXPLAINED_PEAK_SIGMA:g}σ carry ≈ {100 * share:.1f} % of the "
            "diffracted intensity: non-fcc crystalline content the models cannot explain"
        )
    elif purity is None:
        verdict = "unexplained"
    elif best_label == "separate" or purity < (detection_limit or 0.0):
        verdict = "separate"
    elif best_label == "fcc" or (1.0 - purity) < (detection_limit or 0.0):
        verdict = "fcc"
    else:
        verdict = "mixed"
    return PhaseVerdict(
        source=scan.source,
        verdict=verdict,
        fcc_weight_fraction=purity,
        fcc_weight_fraction_sigma=purity_sigma,
        detection_limit=detection_limit,
        detection_limit_basis=basis,
        models_missing=missing_models,
        models=scores,
        residual_peaks=tuple(peaks),
        unexplained_intensity_share=share,
        best=best,
        notes=tuple(notes),
        warm_starts={label: r.warm_start() for label, r in results.items()},
    )
