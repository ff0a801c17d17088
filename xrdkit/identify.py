"""Phase identification: is crystalline closo-borate there, and did it crystallise fcc or separately?

:func:`identify` answers **presence before purity** and returns a :class:`PhaseVerdict` whose
``verdict`` is a :class:`~xrdkit.vocabulary.Verdict`:

- ``no-borate`` — no crystalline closo-borate is significantly present: no purity (null);
- ``fcc`` — borate present, all of it the fcc NBH phase (no second borate phase found; the
  purity's σ is the detection limit of one / 3);
- ``separate`` — only separately crystallised Na2B12H12 / Na2B10H10;
- ``mixed`` — both, with the fcc share of the borates ± σ (null when the leftover salt is seen
  only by its literature line at d ≈ 5.85 Å, which has no structure model to weigh it);
- ``unexplained`` — borate present, plus significant crystalline intensity none of the models
  explains (its share of the diffracted intensity is estimated).

A borate phase is *present* when its scale is ≥ :data:`PRESENCE_SIGMA` σ (σ with the
Bérar–Lelann correction, which does not shrink with the counts) **and** its own strongest lines
are seen in the data at ≥ :data:`LINE_AMPLITUDE_MIN` of their fitted strength at ≥ 3σ; a
separate-borate model must show lines away from every other phase's reflections, also in what
the fcc model alone leaves. The competing (separate, mixed) models are fitted only when a score
test of their own lines, a residual peak away from the modelled reflections or a poor fit asks
for them. Every model carries a broad amorphous hump (:mod:`xrdkit.amorphous`);
``amorphous_intensity_share`` is always reported, an amorphous weight fraction with an internal
standard (``spike``).

``fcc_weight_fraction`` is always the **purity of the electrolyte**: the fcc NBH share
of the crystalline closo-borates, not its share of the whole sample (the sample weight
fractions of every phase are in ``phases``). The evidence — presence numbers, the models fitted
with their BIC, residual peaks (matched filter on the weighted difference curve, with 2θ, d and
significance), diagnostic lines, the hump — is in :meth:`PhaseVerdict.to_dict` and
:meth:`PhaseVerdict.summary`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from xrdkit._callable import make_callable
from xrdkit._summary import HtmlSummary
from xrdkit.amorphous import Hump, estimate_hump, refit_hump
from xrdkit.errors import InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.profiles import pseudo_voigt, tch_fwhm_eta
from xrdkit.refine import (
    MIN_FIT_POINTS,
    PhaseResult,
    RefinementResult,
    RefineOptions,
    WarmStart,
    merge_warm_starts,
    refine,
    screen_phases,
    serial_correlation,
)
from xrdkit.reflections import ReflectionList
from xrdkit.scans import Scan
from xrdkit.simulate import ParamKey, PatternModel, resolve_phases
from xrdkit.vocabulary import Verdict

__all__ = [
    "Verdict",
    "PhaseVerdict",
    "ResidualPeak",
    "ModelScore",
    "identify",
    "decide_verdict",
    "ModelEvidence",
    "ModelFit",
    "PresenceEvidence",
    "ResidualFinding",
    "HumpEvidence",
    "VerdictDecision",
    "FCC_PHASE",
    "SEPARATE_BORATE_PHASES",
    "ELECTRODE_PHASES",
    "find_residual_peaks",
    "borate_purity",
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
#: Matched-filter significance reported as a residual peak.
RESIDUAL_PEAK_SIGMA = 3.0
#: Significance above which a residual peak makes the verdict "unexplained".
UNEXPLAINED_PEAK_SIGMA = 6.0
#: …and the share of the diffracted (background-free) intensity it must carry.
UNEXPLAINED_SHARE_MIN = 0.005
#: Goodness of fit above which the base model does not describe the scan (competing models are then
#: fitted whatever the score test says, and the notes say so).
GOF_ADEQUATE = 2.5
#: A residual peak closer than this (in FWHM) to a modelled reflection counts as misfit.
MISFIT_RADIUS_FWHM = 1.5
#: Half-width (in FWHM) of the matched-filter kernel; its mean is removed over this span.
KERNEL_HALF_WIDTH_FWHM = 6.0
#: Evaluation cap per refinement stage of each candidate model.
MODEL_MAX_NFEV = 80
#: Half-width (FWHM) of the neighbourhood whose misfit a residual peak must stand out of.
LOCAL_WINDOW_FWHM = 15.0
#: Multiple of σ used for detection limits.
DETECTION_SIGMA = 3.0
#: A borate phase is present when its weight fraction and its own lines are at least this many σ (honest σ).
PRESENCE_SIGMA = 3.0
#: …and its strongest lines are seen at ≥ this fraction of the strength the fit gives them (0 = absent).
LINE_AMPLITUDE_MIN = 0.5
#: Line cores: points where a phase's fitted component exceeds this fraction of its maximum.
LINE_CORE_FRACTION = 0.05
#: A competing borate's "own" lines stay this many FWHM from every other phase's reflections.
OWN_LINE_RADIUS_FWHM = 2.0
#: Literature d-spacings (Å) of leftover room-temperature salts seen beside NBH (FACTS.md §1:
#: Duchêne et al., Chem. Mater. 31 (2019) 3449 — monoclinic Na2B10H10 at d ≈ 5.85 Å).
DIAGNOSTIC_LINES_ANGSTROM = {"na2b10h10-rt": (5.85,)}
#: Tolerance on a diagnostic line's d-spacing (Å; ≈ ±0.1° 2θ at 15° with Cu Kα).
DIAGNOSTIC_D_TOLERANCE_ANGSTROM = 0.04
#: Honest significance a residual peak needs to count as a diagnostic line.
DIAGNOSTIC_PEAK_SIGMA = 5.0
#: Score-test significance (honest σ) of a separate model's own lines, or of a residual peak, at
#: which the competing models are fitted (below it they could not pass the presence test).
SCORE_SIGMA = 2.0
#: Relative range and steps of the cubic cell search for a phase started at zero scale.
CELL_SEARCH_REL = 0.012
CELL_SEARCH_STEPS = 25
#: Default March–Dollase axes of electrode phases (NaCrO2 platelets lie flat: (00l)).
DEFAULT_PREFERRED_ORIENTATION = {"nacro2": (0, 0, 1)}
#: Name of the amorphous hump component (:mod:`xrdkit.amorphous`).
AMORPHOUS = "amorphous"
#: Key of the amorphous hump in :attr:`PhaseVerdict.warm_starts` (the next scan's search starts there).
HUMP_STATE_KEY = "amorphous_hump"
#: In a series the hump's shape is searched every this many scans (its area is refitted on every scan).
HUMP_REFRESH_SCANS = 8


@dataclass(frozen=True)
class ResidualPeak:
    """A peak in the difference curve the model does not explain.

    Attributes
    ----------
    two_theta_deg : float
        Position (deg 2θ).
    d_spacing_angstrom : float
        Its d-spacing by Bragg's law at the wavelength given to :func:`find_residual_peaks` (Å).
    significance_sigma : float
        Matched-filter significance, area / σ(area), with Poisson σ's.
    area_counts_deg : float
        Matched-filter estimate of its area (counts·deg).

    Examples
    --------
    :func:`find_residual_peaks` finds them; by hand, a line at 50° 2θ with Cu Kα1:

    >>> import numpy as np
    >>> peak = ResidualPeak(two_theta_deg=50.0, d_spacing_angstrom=1.8227, significance_sigma=18.5,
    ...                     area_counts_deg=13.4)
    >>> wavelength_angstrom = 1.540593
    >>> round(float(wavelength_angstrom / (2 * np.sin(np.radians(peak.two_theta_deg / 2)))), 4)  # Bragg, Å
    1.8227
    """

    two_theta_deg: float
    d_spacing_angstrom: float
    significance_sigma: float
    area_counts_deg: float


@dataclass(frozen=True)
class ModelScore:
    """One candidate phase set and how well it fits.

    Attributes
    ----------
    label : str
        ``"fcc"``, ``"separate"``, ``"mixed"`` or ``"none"``.
    phases : tuple of str
        Its phases (borates and electrode phases).
    bic : float
        Bayesian information criterion χ² + P ln N (lower is better; differences matter).
    rwp : float
        Weighted-profile R factor (a fraction, not %).
    gof : float
        Goodness of fit (≈ 1: the model explains the data to the noise).
    converged : bool
        Whether its refinement converged.

    Examples
    --------
    >>> fcc = ModelScore("fcc", ("nbh-fcc", "nacro2"), bic=2110.0, rwp=0.081, gof=1.05,
    ...                  converged=True)
    >>> mixed = ModelScore("mixed", ("nbh-fcc", "na2b12h12-ht", "nacro2"), bic=2125.0, rwp=0.080,
    ...                    gof=1.05, converged=True)
    >>> mixed.bic - fcc.bic   # the extra phase lowers Rwp a little but costs more than it gains
    15.0
    """

    label: str
    phases: tuple[str, ...]
    bic: float
    rwp: float
    gof: float
    converged: bool


@dataclass(frozen=True)
class PhaseVerdict(HtmlSummary):
    """The answer for one scan (see module docstring).

    Attributes
    ----------
    source : str
        The scan's source.
    verdict : Verdict
        ``no-borate``, ``fcc``, ``separate``, ``mixed`` or ``unexplained``.
    fcc_weight_fraction, fcc_weight_fraction_sigma : float or None
        Purity of the electrolyte (fcc NBH share of the crystalline closo-borates, 0–1) and its
        σ; None when there is no borate or the share cannot be quantified.
    detection_limit : float or None
        Smallest share of the borates a second (separately crystallised) borate would need to
        be seen at :data:`DETECTION_SIGMA` σ.
    detection_limit_basis : str
        ``"weight_fraction"`` or ``"intensity_share"`` (see :func:`decide_verdict`).
    models_missing : tuple of str
        Room-temperature borate models not among the candidates.
    models : tuple of ModelScore
        Every model fitted, the base model first.
    residual_peaks : tuple of ResidualPeak
        Residual peaks of the chosen model (Poisson significance ≥ :data:`RESIDUAL_PEAK_SIGMA`),
        strongest first.
    unexplained_intensity_share : float
        Share (0–1) of the diffracted intensity in residual peaks no model explains.
    best : RefinementResult
        The chosen model's refinement (its phases' sample weight fractions, the fitted pattern).
    notes : tuple of str
        What the verdict rests on and what limits it, in words.
    warm_starts : dict
        Warm starts by model label and the hump state (:data:`HUMP_STATE_KEY`) for the next
        scan of a series (``identify(..., start=verdict.warm_starts)``).
    amorphous_intensity_share : float
        Share (0–1) of the scattered intensity above the background in the amorphous hump.
    borate_present : bool
        Whether any crystalline closo-borate is significantly present.
    presence : dict of str to dict
        Per borate phase: the presence test's numbers (:meth:`PresenceEvidence.to_dict`).
    diagnostic_lines : dict of str to list of float
        Leftover-salt diagnostic lines seen: phase → 2θ (deg) of the residual peaks.
    amorphous_hump : dict or None
        Shape of the amorphous hump (centre, FWHM in deg 2θ); None without one.
    internal_standard : InternalStandardResult or None
        Absolute fractions and the amorphous weight fraction from an internal standard
        (``spike``; :func:`xrdkit.qpa.internal_standard`).

    Examples
    --------
    :func:`identify` makes it (its example runs one); by hand, an all-fcc verdict with two
    models compared (``best`` would be the chosen refinement; :meth:`summary` and
    :meth:`to_dict` read it, the headline does not):

    >>> from xrdkit.vocabulary import Verdict
    >>> models = (ModelScore("fcc", ("nbh-fcc",), 2110.0, 0.081, 1.05, True),
    ...           ModelScore("mixed", ("nbh-fcc", "na2b12h12-ht"), 2125.0, 0.080, 1.05, True))
    >>> v = PhaseVerdict("scan_01", Verdict.FCC, 1.0, 0.004, 0.012, "weight_fraction",
    ...                  ("na2b12h12-rt", "na2b10h10-rt"), models, (), 0.0, best=None,
    ...                  amorphous_intensity_share=0.18)
    >>> v
    <PhaseVerdict scan_01: fcc — fcc share of the borates 100.0 ± 0.4 %; amorphous 18 % of the intensity>
    >>> v.delta_bic, v.amorphous_weight_fraction   # no internal standard: no amorphous wt %
    ({'fcc': 0.0, 'mixed': 15.0}, None)
    """

    source: str
    verdict: Verdict
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
    warm_starts: dict[str, object] = field(default_factory=dict, repr=False)
    #: Share (0–1) of the scattered intensity above the background in the amorphous hump.
    amorphous_intensity_share: float = 0.0
    #: Whether any crystalline closo-borate is significantly present.
    borate_present: bool = True
    #: Per borate phase: the presence test's numbers (scale σ, line amplitude and σ, decision).
    presence: dict[str, dict] = field(default_factory=dict)
    #: Leftover-salt diagnostic lines seen: phase → 2θ (deg) of the residual peaks.
    diagnostic_lines: dict[str, list[float]] = field(default_factory=dict)
    #: Shape of the amorphous hump (centre, FWHM in deg 2θ), None without one.
    amorphous_hump: dict | None = None
    #: Absolute fractions and the amorphous weight fraction from an internal standard (``spike``).
    internal_standard: object | None = None

    @property
    def amorphous_weight_fraction(self) -> float | None:
        """Amorphous weight fraction of the original sample (needs an internal standard)."""
        return None if self.internal_standard is None else self.internal_standard.amorphous_weight_fraction

    def __repr__(self) -> str:
        return f"<PhaseVerdict {self.source}: {self.headline()}>"

    def headline(self) -> str:
        """The verdict in one line: what, purity ± σ when there is one, amorphous share."""
        if self.verdict == Verdict.NO_BORATE:
            what = "no crystalline closo-borate detected"
        elif self.fcc_weight_fraction is None:
            what = "fcc share of the borates not quantifiable"
        elif self.fcc_weight_fraction_sigma:
            what = (f"fcc share of the borates {100 * self.fcc_weight_fraction:.1f} ± "
                    f"{100 * self.fcc_weight_fraction_sigma:.1f} %")
        else:
            what = f"fcc share of the borates {100 * self.fcc_weight_fraction:.1f} % (σ n/a)"
        return f"{self.verdict} — {what}; amorphous {100 * self.amorphous_intensity_share:.0f} % of the intensity"

    def summary(self) -> str:
        """A one-screen text report: verdict, presence evidence, models, residual peaks, notes.

        Examples
        --------
        >>> print(identify(scan).summary())  # doctest: +SKIP
        """
        lines = [f"[[Verdict]] {self.source}", f"    {self.headline()}"]
        if self.detection_limit is not None:
            lines.append(f"    detection limit of a second borate: {100 * self.detection_limit:.1f} % "
                         f"({self.detection_limit_basis.replace('_', ' ')})")
        if self.internal_standard is not None:
            std = self.internal_standard
            lines.append(f"    amorphous {100 * std.amorphous_weight_fraction:.1f} ± "
                         f"{100 * std.amorphous_weight_fraction_sigma:.1f} wt % (internal standard {std.standard})")
        lines.append("[[Presence]]  scale/σ  lines at fitted strength (σ)  present")
        for name, ev in self.presence.items():
            sc, a, z = ev.get("scale_sigma"), ev.get("line_amplitude"), ev.get("line_sigma")
            detail = (f"{sc:7.1f}  {a:5.2f} ({z:.1f})" if sc is not None and a is not None and z is not None
                      else f"   — not fitted (score {ev.get('score_sigma', float('nan')):.1f}σ)")
            lines.append(f"    {name:16s} {detail:32s} {'yes' if ev.get('present') else 'no'}")
        for name, tts in self.diagnostic_lines.items():
            lines.append(f"    {name:16s} literature line seen at 2θ = " + ", ".join(f"{t:.2f}°" for t in tts))
        lines.append("[[Models]]  Rwp     GOF    ΔBIC")
        delta = self.delta_bic
        lines += [f"    {m.label:9s} {100 * m.rwp:5.2f} %  {m.gof:5.2f}  {delta[m.label]:8.1f}" for m in self.models]
        lines.append("[[Phases of the chosen model]] (sample weight fractions)")
        lines += [f"    {p.name:16s} {'—' if p.weight_fraction is None else f'{100 * p.weight_fraction:.2f}'}"
                  f" ± {'—' if p.weight_fraction_sigma is None else f'{100 * p.weight_fraction_sigma:.2f}'} wt %"
                  for p in self.best.phases]
        if self.residual_peaks:
            lines.append("[[Residual peaks]] 2θ (°), d (Å), Poisson significance")
            lines += [f"    {p.two_theta_deg:7.2f} {p.d_spacing_angstrom:7.3f} {p.significance_sigma:6.1f}"
                      for p in self.residual_peaks[:8]]
        if self.notes:
            lines.append("[[Notes]]")
            lines += [f"    {n}" for n in self.notes]
        return "\n".join(lines)

    @property
    def delta_bic(self) -> dict[str, float]:
        """BIC of every model minus the best one."""
        best = min(m.bic for m in self.models)
        return {m.label: m.bic - best for m in self.models}

    def to_dict(self) -> dict:
        """JSON-ready dictionary (the ``xrdkit identify --json`` contract)."""
        return {
            "source": self.source,
            "verdict": str(self.verdict),
            "borate_present": self.borate_present,
            "amorphous_intensity_share": self.amorphous_intensity_share,
            "amorphous_weight_fraction": self.amorphous_weight_fraction,
            "amorphous_weight_fraction_sigma": None if self.internal_standard is None
            else self.internal_standard.amorphous_weight_fraction_sigma,
            "internal_standard": None if self.internal_standard is None else self.internal_standard.to_dict(),
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
                "presence": self.presence,
                "diagnostic_lines": self.diagnostic_lines,
                "amorphous_hump": self.amorphous_hump,
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

    Parameters
    ----------
    result : RefinementResult
        The fit whose weighted difference curve is searched.
    wavelength_angstrom : float
        Wavelength (Å) for the peaks' d-spacings (Kα1 for a Kα doublet).
    fwhm_deg : float, optional
        FWHM (deg) of the trial line (default: the fitted profile's near the middle of the scan).
    threshold_sigma : float
        Smallest significance reported (Poisson σ).

    Returns
    -------
    peaks : list of ResidualPeak
        Local maxima of the significance above ``threshold_sigma``, strongest first.
    min_detectable_area : float
        ``DETECTION_SIGMA · σ(A)`` averaged over the scan (counts·deg).
    peak_area_total : float
        Diffracted (model minus background) area of the fit (counts·deg).

    Examples
    --------
    Al simulated with an extra line at 50° 2θ (FWHM 0.12°, 20 counts·deg) that the Al model
    cannot explain:

    >>> import numpy as np
    >>> from xrdkit.refine import refine
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import simulate
    >>> two_theta_deg = np.arange(35.0, 70.0, 0.02)
    >>> al = simulate(["al"], [1.0], two_theta_deg, peak_max=2000.0, background=[50.0]).intensity
    >>> sd_deg = 0.12 / np.sqrt(8 * np.log(2))
    >>> line = 20.0 * np.exp(-0.5 * ((two_theta_deg - 50.0) / sd_deg) ** 2) / (sd_deg * np.sqrt(2 * np.pi))
    >>> counts = np.random.default_rng(0).poisson(al + line)
    >>> result = refine(make_scan(two_theta_deg, counts), ["al"])
    >>> peaks, min_area, diffracted = find_residual_peaks(result, 1.540593)   # Cu Kα1, Å
    >>> top = peaks[0]
    >>> round(top.two_theta_deg, 2), round(top.d_spacing_angstrom, 4), top.significance_sigma > 10
    (50.0, 1.8227, True)
    >>> round(float(1.540593 / (2 * np.sin(np.radians(50.0 / 2)))), 4)        # Bragg's law, Å
    1.8227
    >>> all(p.significance_sigma < 6 for p in peaks[1:])                      # the rest: noise
    True
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
    """FWHM (deg) of the fitted profile near the middle of the scan (see :func:`_fwhm_at`)."""
    return _fwhm_at(result, float(np.median(result.two_theta_deg)))


def _fwhm_at(result: RefinementResult, two_theta_deg: float) -> float:
    """FWHM (deg) of the fitted profile at ``two_theta_deg``: the instrument's TCH widths plus the
    broadest phase's own strain (Gaussian, like U) and size (Lorentzian, like Y) widths."""
    v = result.value
    labels = set(result.theta_labels)
    strain = max((float(t) for lab, t in zip(result.theta_labels, result.theta, strict=True)
                  if lab.endswith("_strain_deg2")), default=0.0)
    size = max((float(t) for lab, t in zip(result.theta_labels, result.theta, strict=True)
                if lab.endswith("_size_deg")), default=0.0)
    t = np.tan(np.radians(two_theta_deg) / 2)
    hg = np.sqrt(max((v("u_deg2") + strain) * t * t + v("v_deg2") * t + v("w_deg2"), 1e-8))
    hl = max(v("x_deg") * t + (v("y_deg") + size) / np.cos(np.radians(two_theta_deg) / 2), 0.0) \
        if "x_deg" in labels else 0.0
    return float(max(tch_fwhm_eta(np.array([hg]), np.array([hl])).fwhm_deg[0], 0.01))


def borate_purity(result: RefinementResult, fcc: str, borates: Sequence[str]) -> tuple[float | None, float | None]:
    """fcc share of the closo-borates and its σ (from the weight-fraction σs).

    ``P = w_fcc / (w_fcc + Σ w_borate)``, σ by linear propagation of the weight fractions' σ's
    (their covariances neglected).

    Parameters
    ----------
    result : RefinementResult
        A fit with (some of) these phases.
    fcc : str
        Name of the fcc phase (:data:`FCC_PHASE`).
    borates : sequence of str
        The separately crystallised borates counted (absent ones are skipped).

    Returns
    -------
    purity : float or None
        fcc share of the borates (0–1); None when the fit has none of them or their weight
        fractions sum to zero.
    sigma : float or None
        Its σ.

    Examples
    --------
    60 wt % fcc NBH, 20 % Na2B12H12 (the cubic stand-in) and 20 % Al, simulated and refined: the
    purity is the fcc share of the borates, 0.6 / (0.6 + 0.2) = 0.75, not the NBH weight
    fraction:

    >>> import numpy as np
    >>> from xrdkit.refine import refine
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import simulate
    >>> two_theta_deg = np.arange(10.0, 46.0, 0.03)
    >>> names = ["nbh-fcc", "na2b12h12-ht", "al"]
    >>> pattern = simulate(names, [0.6, 0.2, 0.2], two_theta_deg, peak_max=3000.0, background=[100.0])
    >>> result = refine(make_scan(two_theta_deg, np.random.default_rng(0).poisson(pattern.intensity)), names)
    >>> purity, sigma = borate_purity(result, "nbh-fcc", ["na2b12h12-ht"])
    >>> w = {p.name: p.weight_fraction for p in result.phases}
    >>> bool(np.isclose(purity, w["nbh-fcc"] / (w["nbh-fcc"] + w["na2b12h12-ht"])))
    True
    >>> round(purity, 2), bool(abs(purity - 0.75) < 3 * sigma)
    (0.75, True)
    >>> borate_purity(result, "nbh-fcc", []), borate_purity(result, "no-such-phase", [])
    ((1.0, 0.0), (None, None))
    """
    return _borate_purity_of(result.phases, fcc, borates)


def _borate_purity_of(phases: Sequence[PhaseResult], fcc: str,
                      borates: Sequence[str]) -> tuple[float | None, float | None]:
    """:func:`borate_purity` from a model's phases."""
    names = {p.name: p for p in phases}
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


def _line_evidence(result: RefinementResult, name: str, *, exclude_two_theta_deg: np.ndarray | None = None,
                   fwhm_deg: float) -> tuple[float, float]:
    """How strongly the data show phase ``name``'s own strongest lines, at its fitted scale.

    Over the cores of the phase's lines (points where its fitted component exceeds
    :data:`LINE_CORE_FRACTION` of its maximum, optionally minus ±:data:`OWN_LINE_RADIUS_FWHM`
    FWHM around ``exclude_two_theta_deg``, the other phases' reflections), the data minus every
    other fitted contribution are projected on the phase's component: amplitude ``a`` (1 = the
    lines are there as fitted, 0 = not there) and its significance ``z = a/σ(a)``, σ scaled by
    the fit's reduced χ² and Bérar–Lelann factor (so misfit that grows with the counts does not
    grow ``z``).

    Returns
    -------
    (a, z) : (float, float)
        (0, 0) when the phase has no fitted intensity or no line core is left.
    """
    comp = result.components.get(name)
    if comp is None or not np.any(comp > 0):
        return 0.0, 0.0
    x = result.two_theta_deg
    mask = comp > LINE_CORE_FRACTION * comp.max()
    if exclude_two_theta_deg is not None and exclude_two_theta_deg.size:
        mask &= _distance_to_nearest(x, exclude_two_theta_deg) > OWN_LINE_RADIUS_FWHM * fwhm_deg
    if not mask.any():
        return 0.0, 0.0
    w = 1.0 / result.sigma[mask] ** 2
    c = comp[mask]
    r0 = result.observed[mask] - (result.calculated[mask] - c)
    den = float(np.sum(c * c * w))
    if den <= 0:
        return 0.0, 0.0
    a = float(np.sum(r0 * c * w) / den)
    sig_a = np.sqrt(max(result.redchi, 1.0) * result.serial_correlation_factor / den)
    return a, float(a / sig_a)


def _score_significance(result: RefinementResult, names: Sequence[str], refls: dict[str, ReflectionList],
                        inst: Instrument, fwhm_deg: float, factor: float, window_fwhm: float,
                        sigma_scale: dict[str, float] | None = None) -> dict[str, float]:
    """Score (Lagrange-multiplier) test of phases *not* in ``result``: would adding each help?

    Each phase's pattern at its library cell, with the fit's instrument parameters, is projected
    on the fit's residual over its own line cores (away from the fitted phases' reflections, as
    in :func:`_line_evidence`): the significance of a positive amplitude, with the honest σ
    (``factor``). One model evaluation per phase, no refinement. ``sigma_scale``, when given, is
    filled with the σ of each phase's scale from its own lines alone (for detection limits).
    """
    sigma_scale = {} if sigma_scale is None else sigma_scale
    if not names:
        return {}
    model = PatternModel([refls[n] for n in names], result.two_theta_deg, inst, background_terms=0,
                         window_fwhm=window_fwhm)
    theta = model.initial_vector(inst)
    index = {lab: j for j, lab in enumerate(model.labels())}
    for lab, val in zip(result.theta_labels, np.asarray(result.theta, dtype=float).tolist(), strict=True):
        j = index.get(lab)
        if j is not None and model.keys[j].phase is None:
            theta[j] = val
    cols = model.evaluate(theta).peak_columns
    others = _fitted_positions(result, refls, inst)
    x = result.two_theta_deg
    w = 1.0 / result.sigma**2
    r = result.observed - result.calculated
    out = {}
    for k, name in enumerate(names):
        c = cols[:, k]
        if not np.any(c > 0):
            out[name] = 0.0
            sigma_scale[name] = float("inf")
            continue
        mask = c > LINE_CORE_FRACTION * c.max()
        if others.size:
            mask &= _distance_to_nearest(x, others) > OWN_LINE_RADIUS_FWHM * fwhm_deg
        den = float(np.sum(c[mask] ** 2 * w[mask]))
        out[name] = float(np.sum(r[mask] * c[mask] * w[mask]) / np.sqrt(den) / factor) if den > 0 else 0.0
        # σ of the scale this phase would get from its own lines alone (honest σ)
        sigma_scale[name] = float(factor / np.sqrt(den)) if den > 0 else float("inf")
    return out


def _best_cubic_cell(result: RefinementResult, refl: ReflectionList, inst: Instrument, factor: float,
                     window_fwhm: float) -> float | None:
    """Cubic cell edge (Å) within ±:data:`CELL_SEARCH_REL` of ``refl``'s at which its pattern,
    with ``result``'s instrument parameters, projects most strongly on ``result``'s residual;
    None for a non-cubic phase or no positive projection."""
    if tuple(refl.lattice_parameter_names) != ("a",):
        return None
    model = PatternModel([refl], result.two_theta_deg, inst, background_terms=0, window_fwhm=window_fwhm)
    theta = model.initial_vector(inst)
    index = {lab: j for j, lab in enumerate(model.labels())}
    for lab, val in zip(result.theta_labels, np.asarray(result.theta, dtype=float).tolist(), strict=True):
        j = index.get(lab)
        if j is not None and model.keys[j].phase is None:
            theta[j] = val
    ja = model.index(ParamKey("a", 0))
    a0 = float(theta[ja])
    w = 1.0 / result.sigma**2
    r = result.observed - result.calculated
    best, best_z = None, 0.0
    for a in a0 * (1.0 + np.linspace(-CELL_SEARCH_REL, CELL_SEARCH_REL, CELL_SEARCH_STEPS)):
        theta[ja] = a
        c = model.evaluate(theta).peak_columns[:, 0]
        den = float(np.sum(c * c * w))
        if den <= 0:
            continue
        z = float(np.sum(r * c * w) / np.sqrt(den) / factor)
        if z > best_z:
            best, best_z = float(a), z
    return best


def _confirmation(base: RefinementResult, model: RefinementResult, name: str, fwhm_deg: float, factor: float,
                  exclude_two_theta_deg: np.ndarray) -> tuple[float, float]:
    """Phase ``name``'s fitted component in ``model``, projected on the residual of ``base`` (a
    model without it) over its own line cores: (amplitude, honest significance)."""
    comp = model.components.get(name)
    if comp is None or not np.any(comp > 0):
        return 0.0, 0.0
    x = base.two_theta_deg
    mask = comp > LINE_CORE_FRACTION * comp.max()
    if exclude_two_theta_deg.size:
        mask &= _distance_to_nearest(x, exclude_two_theta_deg) > OWN_LINE_RADIUS_FWHM * fwhm_deg
    w = 1.0 / base.sigma[mask] ** 2
    c = comp[mask]
    den = float(np.sum(c * c * w))
    if den <= 0:
        return 0.0, 0.0
    a = float(np.sum((base.observed[mask] - base.calculated[mask]) * c * w) / den)
    return a, float(a * np.sqrt(den) / factor)


def _local_misfit(result: RefinementResult, two_theta_deg: float, fwhm_deg: float) -> float:
    """RMS weighted residual around ``two_theta_deg`` (within ±:data:`LOCAL_WINDOW_FWHM` FWHM,
    the peak's own ±2 FWHM left out), times √γ: a residual peak must stand out of the misfit of
    its neighbourhood (dense, broad high-angle lines misfit more than the scan's average)."""
    x = result.two_theta_deg
    d = np.abs(x - two_theta_deg)
    near = (d <= LOCAL_WINDOW_FWHM * fwhm_deg) & (d > 2.0 * fwhm_deg)
    if near.sum() < 10:
        return 1.0
    r = (result.observed[near] - result.calculated[near]) / result.sigma[near]
    return float(np.sqrt(max(float(np.mean(r * r)), 1.0) * result.serial_correlation_factor))


def _scale_significance(result: RefinementResult, name: str) -> float:
    """Scale factor over its σ (0 when the phase is absent or clamped at zero; the weight
    fraction of a phase alone in the model is 1 ± 0 whatever the data, its scale is not)."""
    for p in result.phases:
        if p.name == name:
            if not p.scale or not p.scale_sigma or not np.isfinite(p.scale_sigma):
                return 0.0
            return float(p.scale / p.scale_sigma)
    return 0.0


def _significance_factor(result: RefinementResult, peaks: Sequence[ResidualPeak] = (),
                         fwhm_deg: float = 0.0) -> float:
    """√(max(1, χ²_ν)·γ): turns Poisson-only significances into honest ones (see refine).

    With ``peaks``, χ²_ν and the Bérar–Lelann γ come from the residuals outside
    ±:data:`KERNEL_HALF_WIDTH_FWHM` FWHM of those peaks, so an unmodelled line does not
    inflate the yardstick it is measured with.
    """
    r = (result.observed - result.calculated) / result.sigma
    keep = np.ones(r.size, dtype=bool)
    for p in peaks:
        keep &= np.abs(result.two_theta_deg - p.two_theta_deg) > KERNEL_HALF_WIDTH_FWHM * fwhm_deg
    if keep.sum() < max(MIN_FIT_POINTS, r.size // 4):
        keep[:] = True
    rk = r[keep]
    redchi = float(rk @ rk) / max(rk.size - result.n_params, 1)
    _, gamma = serial_correlation(rk)
    return float(np.sqrt(max(redchi, 1.0) * gamma))


# ------------------------------------------------------------------ the evidence record


@dataclass(frozen=True)
class PresenceEvidence:
    """The presence test of one borate phase, as judged in one fitted model.

    A fitted phase is *present* when its scale is ≥ :data:`PRESENCE_SIGMA` σ (honest σ) and its
    own lines are seen at ≥ :data:`LINE_AMPLITUDE_MIN` of their fitted strength at
    ≥ :data:`PRESENCE_SIGMA` σ; a separate borate judged in the mixed model must also show its
    lines in what the fcc model alone leaves (``fcc_residual_amplitude`` ≥
    :data:`LINE_AMPLITUDE_MIN`). A phase whose model was not fitted (only ``score_sigma`` known)
    is absent.

    Attributes
    ----------
    scale_sigma : float or None
        Scale over its honest σ (:func:`_scale_significance`); None: the phase was not fitted.
    line_amplitude, line_sigma : float or None
        Its own lines in the data at the fitted strength: amplitude (1 = as fitted, 0 = not
        there) and significance (:func:`_line_evidence`).
    own_lines_only : bool or None
        Whether only its lines away from every other phase's reflections counted.
    fcc_residual_amplitude, fcc_residual_sigma : float or None
        Its lines in the residual of the fcc model (:func:`_confirmation`; a separate borate
        judged in the mixed model), else None.
    model : str or None
        Label of the model it was judged in when not the usual one (``"mixed"``: NBH beside a
        present separate borate).
    score_sigma : float or None
        Score-test significance of its own lines in the base model's residual
        (:func:`_score_significance`; separate borates), else None.

    Examples
    --------
    A clear phase; a significant scale whose own lines are not in the data (it patches misfit
    of another phase); a phase whose model was not fitted (only its score test is known):

    >>> nbh = PresenceEvidence(scale_sigma=80.0, line_amplitude=1.0, line_sigma=60.0,
    ...                        own_lines_only=False)
    >>> nbh.present, nbh.to_dict()
    (True, {'present': True, 'scale_sigma': 80.0, 'line_amplitude': 1.0, 'line_sigma': 60.0, 'own_lines_only': False})
    >>> PresenceEvidence(5.0, 0.2, 1.5, True).present            # lines at 0.2 of their strength
    False
    >>> unfitted = PresenceEvidence(score_sigma=1.2)
    >>> unfitted.fitted, unfitted.present, unfitted.to_dict()
    (False, False, {'present': False, 'score_sigma': 1.2})

    A separate borate in the mixed model must also show its lines in what the fcc model leaves:

    >>> PresenceEvidence(20.0, 0.9, 15.0, True, fcc_residual_amplitude=0.3,
    ...                  fcc_residual_sigma=2.0, model="mixed").present
    False
    """

    scale_sigma: float | None = None
    line_amplitude: float | None = None
    line_sigma: float | None = None
    own_lines_only: bool | None = None
    fcc_residual_amplitude: float | None = None
    fcc_residual_sigma: float | None = None
    model: str | None = None
    score_sigma: float | None = None

    @property
    def fitted(self) -> bool:
        """Whether the phase was in a fitted model (its presence numbers exist)."""
        return self.scale_sigma is not None

    @property
    def present(self) -> bool:
        """The presence test (see the class docstring)."""
        if self.scale_sigma is None or self.line_amplitude is None or self.line_sigma is None:
            return False
        ok = (self.scale_sigma >= PRESENCE_SIGMA and self.line_amplitude >= LINE_AMPLITUDE_MIN
              and self.line_sigma >= PRESENCE_SIGMA)
        if self.fcc_residual_amplitude is not None:
            ok = ok and self.fcc_residual_amplitude >= LINE_AMPLITUDE_MIN
        return bool(ok)

    def to_dict(self) -> dict:
        """The numbers as in :attr:`PhaseVerdict.presence` (keys of what was measured only)."""
        out: dict = {"present": self.present}
        if self.fitted:
            out.update(scale_sigma=self.scale_sigma, line_amplitude=self.line_amplitude,
                       line_sigma=self.line_sigma, own_lines_only=self.own_lines_only)
        if self.fcc_residual_amplitude is not None:
            out.update(fcc_residual_amplitude=self.fcc_residual_amplitude,
                       fcc_residual_sigma=self.fcc_residual_sigma)
        if self.model is not None:
            out["model"] = self.model
        if self.score_sigma is not None:
            out["score_sigma"] = self.score_sigma
        return out


@dataclass(frozen=True)
class ResidualFinding:
    """A residual peak of one fitted model and what decides whether the model explains it.

    Attributes
    ----------
    peak : ResidualPeak
        As found by :func:`find_residual_peaks` (Poisson significance).
    honest_sigma : float
        Its significance over the larger of the fit's honest factor
        (:attr:`ModelFit.significance_factor`) and the misfit of its neighbourhood
        (:func:`_local_misfit`).
    distance_to_reflection_deg : float
        2θ distance (deg) to the nearest reflection of the model's phases (inf: none).
    fwhm_deg : float
        Fitted FWHM (deg) at the peak (:func:`_fwhm_at`).

    Examples
    --------
    One peak 0.1° and 5.3° from the nearest modelled reflection, with a fitted FWHM of 0.12°
    (the radius is :data:`MISFIT_RADIUS_FWHM` · FWHM = 0.18°):

    >>> peak = ResidualPeak(50.0, 1.8227, 18.5, 13.4)
    >>> on = ResidualFinding(peak, honest_sigma=12.0, distance_to_reflection_deg=0.1, fwhm_deg=0.12)
    >>> off = ResidualFinding(peak, honest_sigma=12.0, distance_to_reflection_deg=5.3, fwhm_deg=0.12)
    >>> on.off_reflections, off.off_reflections   # misfit of a reflection; a line of its own
    (False, True)
    """

    peak: ResidualPeak
    honest_sigma: float
    distance_to_reflection_deg: float
    fwhm_deg: float

    @property
    def off_reflections(self) -> bool:
        """Farther than :data:`MISFIT_RADIUS_FWHM` FWHM from every modelled reflection (a peak
        on a reflection is misfit of it: profile, B, texture)."""
        return bool(self.distance_to_reflection_deg > MISFIT_RADIUS_FWHM * self.fwhm_deg)


@dataclass(frozen=True)
class ModelFit:
    """One fitted candidate model and the numbers the verdict reads from it.

    Attributes
    ----------
    label : str
        ``"fcc"``, ``"separate"``, ``"mixed"`` or ``"none"``.
    phases : tuple of PhaseResult
        Its phases (weight fractions and σ's of the whole sample).
    gof : float
        Goodness of fit.
    residual_peaks : tuple of ResidualFinding
        Residual peaks ≥ :data:`RESIDUAL_PEAK_SIGMA` (Poisson), strongest first.
    min_detectable_area : float
        Minimum detectable line area, ``DETECTION_SIGMA · σ(A)`` (Poisson; counts·deg).
    diffracted_area : float
        Diffracted (model minus background) area of the fit (counts·deg).
    significance_factor : float
        √(max(1, χ²_ν)·γ) without the strong residual peaks: what turns Poisson significances
        of residual peaks into honest ones (:func:`_significance_factor`).
    detection_factor : float
        The same factor from every residual (the intensity-share detection limit).
    borate_area : float
        Diffracted area of its closo-borate phases (counts·deg).
    result : RefinementResult or None
        The fit itself (None in a record built by hand; :func:`decide_verdict` does not read it).

    Examples
    --------
    :func:`identify` builds them from its fits; by hand, an fcc model with 12 ± 0.4 wt % NBH
    beside Al (no residual peak):

    >>> from xrdkit.refine import PhaseResult
    >>> nbh = PhaseResult("nbh-fcc", "structure", 0.12, 0.004, 1.0, 0.01, {"a": 10.1}, {"a": 1e-4},
    ...                   1030.3, 2.0, 1.0)
    >>> al = PhaseResult("al", "structure", 0.88, 0.004, 5.0, 0.02, {"a": 4.05}, {"a": 1e-4},
    ...                  66.4, 0.8, 1.0)
    >>> fcc = ModelFit("fcc", (nbh, al), gof=1.1, min_detectable_area=5.0, diffracted_area=2000.0,
    ...                borate_area=500.0)
    >>> fcc.residual_peaks, fcc.significance_factor, fcc.result is None
    ((), 1.0, True)
    >>> fcc.min_detectable_area / fcc.borate_area   # the intensity-share detection limit
    0.01
    """

    label: str
    phases: tuple[PhaseResult, ...]
    gof: float
    residual_peaks: tuple[ResidualFinding, ...] = ()
    min_detectable_area: float = float("nan")
    diffracted_area: float = 0.0
    significance_factor: float = 1.0
    detection_factor: float = 1.0
    borate_area: float = 0.0
    result: RefinementResult | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class HumpEvidence:
    """The amorphous hump of the fits of one scan.

    Attributes
    ----------
    hump : Hump or None
        The shape in every model (None: no hump found).
    age : int
        Scans of a series since that shape was searched (0: searched on this scan).
    shape_reused : bool
        Whether the previous scan's shape was kept (only its area refitted).
    from_model : str or None
        Label of the model from whose Bragg intensity ``refined`` was found (None: none is).
    refined : Hump or None
        The hump found (or refitted) from that model's Bragg intensity.

    Examples
    --------
    In a series, the shape searched three scans ago, kept (only its area refitted; the shape
    is searched again every :data:`HUMP_REFRESH_SCANS` scans):

    >>> from xrdkit.amorphous import Hump
    >>> hump = Hump(centre_deg=25.0, fwhm_deg=8.0, area_counts_deg=2000.0, delta_chi2_rel=0.3)
    >>> ev = HumpEvidence(hump, age=3, shape_reused=True)
    >>> ev.hump.centre_deg, ev.age < HUMP_REFRESH_SCANS, ev.from_model, ev.refined
    (25.0, True, None, None)
    """

    hump: Hump | None
    age: int = 0
    shape_reused: bool = False
    from_model: str | None = None
    refined: Hump | None = None


def _frozen(mapping: Mapping | None) -> Mapping:
    """A read-only copy of ``mapping`` (insertion order kept)."""
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ModelEvidence:
    """Everything fitting and evidence gathering found in one scan: what :func:`decide_verdict` reads.

    Built by :func:`identify` (no decision in it beyond which models the evidence asked to fit);
    the mappings are read-only copies.

    Attributes
    ----------
    candidates : tuple of str
        Borate phases considered (``nbh-fcc`` and separate-borate models).
    models : mapping of str to ModelFit
        The fitted models by label, in the order they were fitted (the base model first).
    presence : mapping of str to PresenceEvidence
        The presence test of each borate phase (NBH first), in the model it was judged in.
    diagnostic_hits : mapping of str to tuple of ResidualPeak
        Leftover salts seen by their literature line(s) in the base model's residual
        (:data:`DIAGNOSTIC_LINES_ANGSTROM`, ≥ :data:`DIAGNOSTIC_PEAK_SIGMA` honest σ).
    fwhm_deg : float
        Typical fitted FWHM (deg) of the base model.
    score_sigma : mapping of str to float
        Score test of each separate model's own lines in the base model's residual.
    competing_fitted : bool
        Whether the separate and mixed models were fitted (the score test, a residual peak or a
        poor base fit asked for them).
    score_detection_limit : float or None
        From the score test: the smallest share of the borates a separate model would need to
        show its own lines at :data:`DETECTION_SIGMA` (the least detectable one), next to the fcc
        model's NBH; None without a score test.
    dropped_electrodes : tuple of str
        Electrode phases the screening fit did not detect.
    amorphous : HumpEvidence or None
        The hump (None: not modelled, ``identify(..., amorphous=False)``).

    Examples
    --------
    NBH and the cubic Na2B12H12 stand-in as candidates, only the fcc model fitted (the score
    test of Na2B12H12's own lines, 0.8σ, did not ask for the competing models):

    >>> fcc = ModelFit("fcc", (), gof=1.2)
    >>> ev = ModelEvidence(("nbh-fcc", "na2b12h12-ht"), {"fcc": fcc},
    ...                    score_sigma={"na2b12h12-ht": 0.8})
    >>> ev.has_fcc, ev.separate, ev.base_label, ev.competing_fitted
    (True, ('na2b12h12-ht',), 'fcc', False)
    >>> ev.models_missing       # the room-temperature models are not among the candidates
    ('na2b12h12-rt', 'na2b10h10-rt')
    >>> ev.score_sigma["na2b12h12-ht"] = 5.0     # the record is read-only
    Traceback (most recent call last):
    ...
    TypeError: 'mappingproxy' object does not support item assignment
    """

    candidates: tuple[str, ...]
    models: Mapping[str, ModelFit]
    presence: Mapping[str, PresenceEvidence] = field(default_factory=dict)
    diagnostic_hits: Mapping[str, tuple[ResidualPeak, ...]] = field(default_factory=dict)
    fwhm_deg: float = 0.0
    score_sigma: Mapping[str, float] = field(default_factory=dict)
    competing_fitted: bool = False
    score_detection_limit: float | None = None
    dropped_electrodes: tuple[str, ...] = ()
    amorphous: HumpEvidence | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        object.__setattr__(self, "dropped_electrodes", tuple(self.dropped_electrodes))
        for name in ("models", "presence", "score_sigma"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "diagnostic_hits",
                           _frozen({n: tuple(h) for n, h in self.diagnostic_hits.items()}))

    @property
    def has_fcc(self) -> bool:
        """Whether the fcc NBH phase is a candidate."""
        return FCC_PHASE in self.candidates

    @property
    def separate(self) -> tuple[str, ...]:
        """The separate-borate candidates."""
        return tuple(c for c in self.candidates if c != FCC_PHASE)

    @property
    def base_label(self) -> str:
        """Label of the base model: ``"fcc"`` with NBH among the candidates, else ``"separate"``."""
        return "fcc" if self.has_fcc else "separate"

    @property
    def models_missing(self) -> tuple[str, ...]:
        """Room-temperature borate models not among the candidates."""
        return tuple(p for p in ROOM_TEMPERATURE_BORATES if p not in self.candidates)


@dataclass(frozen=True)
class VerdictDecision:
    """What :func:`decide_verdict` concludes from a :class:`ModelEvidence`.

    Attributes
    ----------
    verdict : Verdict
        ``no-borate``, ``fcc``, ``separate``, ``mixed`` or ``unexplained``.
    model : str
        Label of the chosen model (its phases, σ's and residual peaks are reported).
    borate_present : bool
        Whether any crystalline closo-borate is significantly present.
    fcc_weight_fraction, fcc_weight_fraction_sigma : float or None
        Purity of the electrolyte (fcc share of the borates) and its σ; None when not quantifiable.
    detection_limit : float or None
        Of a second borate, as a share of the borates (:data:`DETECTION_SIGMA`).
    detection_limit_basis : str
        ``"weight_fraction"`` or ``"intensity_share"``.
    unexplained_intensity_share : float
        Share of the diffracted intensity in the unexplained residual peaks.
    unexplained_peaks : tuple of ResidualPeak
        Residual peaks of the chosen model that no model explains.
    notes : tuple of str
        What the decision rests on and what limits it, in words.

    Examples
    --------
    NBH and Na2B12H12 both present in the mixed model (60 and 20 wt % of the sample, each
    ± 1 wt %, beside 20 % Al): the purity is 0.6 / 0.8 and the detection limit
    3 · 0.01 / 0.8 of the borates:

    >>> from xrdkit.refine import PhaseResult
    >>> def phase(name, w):
    ...     return PhaseResult(name, "structure", w, 0.01, 1.0, 0.01, {"a": 10.0}, {"a": 1e-4},
    ...                        1000.0, 2.0, 1.0)
    >>> nbh, b12, al = phase("nbh-fcc", 0.6), phase("na2b12h12-ht", 0.2), phase("al", 0.2)
    >>> ev = ModelEvidence(
    ...     ("nbh-fcc", "na2b12h12-ht"),
    ...     {"fcc": ModelFit("fcc", (nbh, al), gof=1.4), "mixed": ModelFit("mixed", (nbh, b12, al), gof=1.05)},
    ...     presence={"nbh-fcc": PresenceEvidence(60.0, 1.0, 50.0, False),
    ...               "na2b12h12-ht": PresenceEvidence(20.0, 0.9, 15.0, True, 0.95, 12.0, "mixed")},
    ...     competing_fitted=True)
    >>> d = decide_verdict(ev)
    >>> str(d.verdict), d.model, d.borate_present
    ('mixed', 'mixed', True)
    >>> round(d.fcc_weight_fraction, 4), round(d.detection_limit, 4), d.detection_limit_basis
    (0.75, 0.0375, 'weight_fraction')
    >>> round(d.fcc_weight_fraction_sigma, 4), d.unexplained_peaks, len(d.notes)  # notes: missing RT models
    (0.0099, (), 1)
    """

    verdict: Verdict
    model: str
    borate_present: bool
    fcc_weight_fraction: float | None
    fcc_weight_fraction_sigma: float | None
    detection_limit: float | None
    detection_limit_basis: str
    unexplained_intensity_share: float
    unexplained_peaks: tuple[ResidualPeak, ...]
    notes: tuple[str, ...]


# ------------------------------------------------------------------ the decision


def _present_borates(candidates: Sequence[str], presence: Mapping[str, PresenceEvidence],
                     diagnostic_hits: Mapping[str, Sequence[ResidualPeak]]) -> tuple[bool, list[str], list[str]]:
    """(NBH present, separate borates present, leftover salts seen only by their literature line).

    A modelled separate phase that is present explains the leftover line itself.
    """
    fcc = presence.get(FCC_PHASE)
    fcc_present = FCC_PHASE in candidates and fcc is not None and fcc.present
    separate_present = [n for n in candidates if n != FCC_PHASE and n in presence and presence[n].present]
    line_salts = [] if separate_present else sorted(diagnostic_hits)
    return fcc_present, separate_present, line_salts


def _evidence_notes(evidence: ModelEvidence) -> list[str]:
    """Notes on what the evidence rests on: missing models, dropped electrode phases, competing
    models not fitted."""
    notes = []
    if evidence.models_missing:
        notes.append(
            "no structure model for the room-temperature monoclinic phase(s) "
            f"{', '.join(evidence.models_missing)}: separate crystallisation is judged with "
            + ("the high-temperature cubic stand-ins, " if evidence.separate else "")
            + "their literature diagnostic lines and the residual peaks"
        )
    if evidence.dropped_electrodes:
        notes.append(f"electrode phases not detected and dropped: {', '.join(evidence.dropped_electrodes)}")
    if evidence.has_fcc and evidence.separate and not evidence.competing_fitted:
        notes.append("separate-borate models not fitted: their own lines are not in the residual (score test "
                     + ", ".join(f"{n} {z:.1f}σ" for n, z in evidence.score_sigma.items())
                     + f" < {SCORE_SIGMA:g}σ)")
    return notes


def _mixed_detection_limit(mixed: ModelFit, evidence: ModelEvidence) -> float | None:
    """3σ of the least certain separate borate in the mixed model, as a share of its borates."""
    sig = [p.weight_fraction_sigma for p in mixed.phases if p.name in evidence.separate and p.weight_fraction_sigma]
    borate_total = sum(p.weight_fraction or 0 for p in mixed.phases if p.name in evidence.candidates)
    if sig and borate_total > 0:
        return float(DETECTION_SIGMA * max(sig) / borate_total)
    return None


def _unexplained_peaks(best: ModelFit, diagnostic_two_theta_deg: Sequence[float],
                       fwhm_deg: float) -> list[ResidualPeak]:
    """Residual peaks of ``best`` ≥ :data:`UNEXPLAINED_PEAK_SIGMA` honest σ, away from its
    reflections and from the diagnostic lines already accounted for."""
    return [
        f.peak for f in best.residual_peaks
        if f.honest_sigma >= UNEXPLAINED_PEAK_SIGMA
        and not any(abs(f.peak.two_theta_deg - t) <= MISFIT_RADIUS_FWHM * fwhm_deg for t in diagnostic_two_theta_deg)
        and f.off_reflections
    ]


def decide_verdict(evidence: ModelEvidence) -> VerdictDecision:
    """The verdict from the fitted models and the evidence: a pure function (no fitting, no I/O).

    Rules, in order:

    1. Presence (:class:`PresenceEvidence`): NBH, the separate borates, and leftover salts seen
       only by a literature line (:data:`DIAGNOSTIC_LINES_ANGSTROM`; ignored when a separate
       borate model is present). No borate present → ``no-borate`` (the electrode-only model
       ``"none"`` when fitted).
    2. NBH with a separate borate or a leftover line → ``mixed`` (the mixed model; the fcc model
       with the line only, and then no purity); NBH alone → ``fcc``; a separate borate
       alone → ``separate`` (purity 0).
    3. Purity: the fcc share of the present borates (:func:`borate_purity`).
    4. Detection limit of a second borate (share of the borates, :data:`DETECTION_SIGMA`): from
       the mixed model's σ's, else the score test (fcc model chosen), else a minimum detectable
       line against the borates' intensity (``intensity_share``). For ``fcc`` and ``separate``
       the purity's σ is at least the limit / :data:`DETECTION_SIGMA`.
    5. Residual peaks of the chosen model ≥ :data:`UNEXPLAINED_PEAK_SIGMA` honest σ, away from
       its reflections and the leftover lines, carrying ≥ :data:`UNEXPLAINED_SHARE_MIN` of the
       diffracted intensity → ``unexplained`` (when a borate is present; else a note).
    6. A chosen model with GOF above :data:`GOF_ADEQUATE` gets a note.

    Parameters
    ----------
    evidence : ModelEvidence
        What the fits found (:func:`identify` builds it; tests can build one by hand).

    Returns
    -------
    VerdictDecision

    Examples
    --------
    NBH present, nothing else (a hand-built record: one fcc model, no residual peak):

    >>> from xrdkit.refine import PhaseResult
    >>> nbh = PhaseResult("nbh-fcc", "structure", 1.0, 0.0, 1.0, 0.01, {"a": 10.1}, {"a": 0.0},
    ...                   1030.0, 2.0, 1.0)
    >>> fcc = ModelFit("fcc", (nbh,), gof=1.1, borate_area=500.0, min_detectable_area=5.0)
    >>> ev = ModelEvidence(("nbh-fcc",), {"fcc": fcc},
    ...                    presence={"nbh-fcc": PresenceEvidence(80.0, 1.0, 60.0, False)})
    >>> d = decide_verdict(ev)
    >>> d.verdict, d.fcc_weight_fraction, round(d.detection_limit, 3), d.detection_limit_basis
    (<Verdict.FCC: 'fcc'>, 1.0, 0.01, 'intensity_share')
    """
    ev = evidence
    notes = _evidence_notes(ev)
    fcc_present, separate_present, line_salts = _present_borates(ev.candidates, ev.presence,
                                                                  ev.diagnostic_hits)
    borate_present = fcc_present or bool(separate_present) or bool(line_salts)

    # ---- the verdict and the model it rests on
    if not borate_present:
        verdict = Verdict.NO_BORATE
        label = "none" if "none" in ev.models else ev.base_label
        nbh = ev.presence.get(FCC_PHASE)
        notes.append("no crystalline closo-borate is significantly present: no purity to report"
                     + (f" (nbh-fcc: {nbh.scale_sigma:.1f}σ, its lines at "
                        f"{nbh.line_amplitude:.2f} of the fitted strength)" if nbh is not None and nbh.fitted else ""))
    elif fcc_present and (separate_present or line_salts):
        verdict = Verdict.MIXED
        label = "mixed" if separate_present else "fcc"
    elif fcc_present:
        verdict = Verdict.FCC
        label = "fcc"
    else:
        verdict = Verdict.SEPARATE
        label = "separate" if separate_present else ev.base_label
    best = ev.models[label]

    # ---- purity: the fcc share of the borates that are present (a non-significant model's
    # fraction is misfit it patched; its size is what the detection limit states)
    purity: float | None = None
    purity_sigma: float | None = None
    if verdict in (Verdict.FCC, Verdict.SEPARATE) or (verdict == Verdict.MIXED and separate_present):
        purity, purity_sigma = _borate_purity_of(best.phases, FCC_PHASE, separate_present)
        if verdict == Verdict.SEPARATE:
            purity = 0.0
    if verdict == Verdict.MIXED and not separate_present:
        notes.append(
            "leftover separately crystallised salt seen only by its literature diagnostic line(s) ("
            + ", ".join(f"{n}: d ≈ {', '.join(f'{d:.2f}' for d in DIAGNOSTIC_LINES_ANGSTROM[n])} Å" for n in line_salts)
            + "): no structure model, so its amount — and the purity — cannot be quantified; add its CIF "
            "(xrdkit phases add) or calibrate it (PONKCS)"
        )

    # ---- detection limit of a second borate phase (share of the borates), DETECTION_SIGMA
    detection_limit: float | None = None
    basis = "weight_fraction"
    if "mixed" in ev.models and borate_present:
        detection_limit = _mixed_detection_limit(ev.models["mixed"], ev)
    if detection_limit is None and borate_present and label == "fcc":
        # competing models not fitted: the score test's limit
        detection_limit = ev.score_detection_limit
    if detection_limit is None and best.borate_area > 0:
        # a line of the minimum detectable area (honest σ) against the borates' diffracted intensity
        detection_limit = float(min(best.min_detectable_area * best.detection_factor / best.borate_area, 1.0))
        basis = "intensity_share"
    if purity is not None and purity_sigma is not None and verdict in (Verdict.FCC, Verdict.SEPARATE) \
            and detection_limit:
        # no second kind of borate found: the one-sided limit is the σ
        purity_sigma = max(purity_sigma, detection_limit / DETECTION_SIGMA)

    # ---- crystalline intensity the chosen model leaves (the leftover lines are accounted for)
    diag_2theta = [h.two_theta_deg for hits in ev.diagnostic_hits.values() for h in hits] if line_salts else []
    strong = _unexplained_peaks(best, diag_2theta, ev.fwhm_deg)
    diffracted = best.diffracted_area
    share = float(sum(max(p.area_counts_deg, 0) for p in strong) / diffracted) if diffracted > 0 else 0.0
    if borate_present and strong and share >= UNEXPLAINED_SHARE_MIN:
        verdict = Verdict.UNEXPLAINED
        notes.append(
            f"{len(strong)} residual peak(s) ≥ {UNEXPLAINED_PEAK_SIGMA:g}σ (honest σ) carry "
            f"≈ {100 * share:.1f} % of the diffracted intensity: crystalline content the models cannot explain"
        )
    elif strong and share >= UNEXPLAINED_SHARE_MIN:
        notes.append(
            f"crystalline intensity not explained by the given phases (≈ {100 * share:.1f} % of the diffracted "
            "intensity in residual peaks): phases other than the borates and the listed electrode phases are present"
        )
    if best.gof > GOF_ADEQUATE:
        notes.append(f"the model fits the scan loosely (GOF {best.gof:.2f}): σ's include that misfit "
                     "(Bérar–Lelann); check the phases and the instrument")
    return VerdictDecision(
        verdict=verdict, model=label, borate_present=bool(borate_present), fcc_weight_fraction=purity,
        fcc_weight_fraction_sigma=purity_sigma, detection_limit=detection_limit, detection_limit_basis=basis,
        unexplained_intensity_share=share, unexplained_peaks=tuple(strong), notes=tuple(notes),
    )


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
    start: dict[str, object] | None = None,
    amorphous: bool = True,
    spike: tuple[str, float] | None = None,
) -> PhaseVerdict:
    """Is there crystalline closo-borate in this scan, and did it crystallise fcc or separately?

    Presence before purity: a borate phase counts only when it is significant (weight
    fraction ≥ :data:`PRESENCE_SIGMA` σ with the honest σ of :func:`~xrdkit.refine.refine`) and
    its own strongest lines are seen in the data at the fitted strength (amplitude ≥
    :data:`LINE_AMPLITUDE_MIN` at ≥ :data:`PRESENCE_SIGMA` σ, see :func:`_line_evidence`;
    for a competing borate model only the lines away from every other phase's reflections
    count, so a model that merely patches NBH misfit is not "present"). Leftover
    room-temperature Na2B10H10 is also recognised by its literature line at d ≈ 5.85 Å
    (:data:`DIAGNOSTIC_LINES_ANGSTROM`) when no structure model of it is loaded.

    Three steps: the models are fitted and the evidence gathered into a :class:`ModelEvidence`
    (the base model, the competing ones when the evidence asks for them, the presence tests,
    residual peaks, diagnostic lines, score test, hump); :func:`decide_verdict`, a pure
    function of that record, makes the decision; the :class:`PhaseVerdict` is assembled from
    both (with the amorphous share and the internal standard of the chosen model).

    Parameters
    ----------
    scan : Scan
        Measured pattern.
    candidates : sequence of str, optional
        Borate phases to consider (default: ``nbh-fcc`` plus every separate-borate model
        the library has, see :data:`SEPARATE_BORATE_PHASES`).
    electrode_phases : sequence of str, optional
        Non-borate phases present in the sample (default: none). Phases the screening fit
        does not detect are dropped. NaCrO2 gets March–Dollase (00l) preferred orientation
        unless ``options`` says otherwise (its platelets lie flat in a cast electrode).
    instrument, options, library
        As in :func:`~xrdkit.refine.refine`.
    reflections : dict, optional
        Ready reflection lists by phase name (a batch computes them once).
    two_theta_range_deg : (float, float), optional
        Crop the scan first.
    start : dict, optional
        Warm starts by model label (``"fcc"``, ``"separate"``, ``"mixed"``, ``"none"``) and the
        amorphous hump (:data:`HUMP_STATE_KEY`) from the previous scan of a series
        (:attr:`PhaseVerdict.warm_starts`).
    amorphous : bool
        Model a broad amorphous hump (:mod:`xrdkit.amorphous`) in every model and report
        :attr:`PhaseVerdict.amorphous_intensity_share`.
    spike : (str, float), optional
        Internal standard: a crystalline phase weighed into the sample at this fraction of the
        spiked mixture (e.g. ``("al2o3", 0.2)``); it joins the electrode phases and gives the
        amorphous weight fraction of the original sample (:func:`xrdkit.qpa.internal_standard`).

    Returns
    -------
    PhaseVerdict

    Examples
    --------
    The first bundled electrode (constructed data: NaCrO2 and Al with an all-fcc electrolyte),
    judged against fcc NBH only:

    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scan
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01")
    >>> v = identify(scan, ["nbh-fcc"], electrode_phases=["nacro2", "al"])
    >>> print(v.verdict)
    fcc
    >>> round(v.fcc_weight_fraction, 3), v.borate_present
    (1.0, True)
    """
    inst = load_instrument(instrument)
    if two_theta_range_deg is not None:
        scan = scan.crop(*two_theta_range_deg)
    candidates, electrodes, refls = _resolve_phases(scan, inst, candidates, electrode_phases, spike, library,
                                                    reflections)
    opts = options or RefineOptions()
    # a candidate model that does not describe the scan can wander for hundreds of steps;
    # its verdict is decided long before that (non-convergence is recorded as a warning)
    opts = dataclasses.replace(opts, max_nfev=min(opts.max_nfev, MODEL_MAX_NFEV))
    po_default = {n: ax for n, ax in DEFAULT_PREFERRED_ORIENTATION.items()
                  if n in electrodes and n not in opts.preferred_orientation}
    fitter = _Fitter(scan, refls, inst, opts, po_default)
    previous = dict(start or {})
    state = previous.pop(HUMP_STATE_KEY, None)
    series_hump = state if isinstance(state, HumpState) else None

    evidence = _gather_evidence(fitter, candidates, electrodes, previous, series_hump, amorphous)
    decision = decide_verdict(evidence)
    return _assemble(fitter, evidence, decision, spike)


# ------------------------------------------------------------------ fitting and evidence gathering


def _resolve_phases(scan: Scan, inst: Instrument, candidates: Sequence[str] | None,
                    electrode_phases: Sequence[str] | None, spike: tuple[str, float] | None,
                    library: object | None, reflections: dict[str, ReflectionList] | None,
                    ) -> tuple[list[str], list[str], dict[str, ReflectionList]]:
    """The borate candidates, the electrode phases (with the spike) and a reflection list for each."""
    if library is None and (candidates is None or any(c not in (reflections or {}) for c in candidates)):
        from xrdkit.phases import PhaseLibrary

        library = PhaseLibrary()
    if candidates is None:
        available = set(library.names()) if library is not None else set(reflections or {})
        candidates = [FCC_PHASE] + [p for p in SEPARATE_BORATE_PHASES if p in available]
    candidates = list(dict.fromkeys(candidates))
    electrodes = list(dict.fromkeys(list(electrode_phases or []) + ([spike[0]] if spike else [])))
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
    return candidates, electrodes, refls


def _hump_background(hump: Hump | None, two_theta_deg: np.ndarray) -> dict[str, np.ndarray] | None:
    """The hump as a fixed-shape background component of :func:`~xrdkit.refine.refine`."""
    return {AMORPHOUS: hump.profile(two_theta_deg)} if hump is not None else None


def _lowest(results: Sequence[RefinementResult]) -> RefinementResult:
    """The fit with the lowest χ² (the first of equals)."""
    return min(results, key=lambda r: r.chi2)


@dataclass(frozen=True)
class _Fitter:
    """Refines candidate models of one scan with one set of options (models differ in their
    phases, starting points and hump)."""

    scan: Scan
    refls: dict[str, ReflectionList]
    inst: Instrument
    opts: RefineOptions
    #: Default preferred orientation of electrode phases the options do not set.
    po_default: dict

    def fit(self, label: str, names: Sequence[str], starts: Sequence[WarmStart | None],
            hump: Hump | None) -> list[RefinementResult]:
        """The model ``names`` refined from each start."""
        o = dataclasses.replace(self.opts, preferred_orientation={
            **{n: ax for n, ax in self.po_default.items() if n in names},
            **{n: ax for n, ax in self.opts.preferred_orientation.items() if n in names},
        })
        out = [refine(self.scan, [self.refls[n] for n in names], instrument=self.inst, options=o, start=st,
                      extra_background=_hump_background(hump, self.scan.two_theta_deg)) for st in starts]
        for res in out:
            log.debug("%s: model %s rwp=%.4f bic=%.1f", self.scan.source, label, res.rwp, res.bic)
        return out


def _starting_hump(scan: Scan, amorphous: bool, series_hump: HumpState | None) -> tuple[Hump | None, bool, int]:
    """(hump to start with, whether its shape is kept from the previous scan, its age).

    In a series the hump's shape is searched again every :data:`HUMP_REFRESH_SCANS` scans; in
    between the previous shape is kept and only its area refitted (a linear step).
    """
    reuse_shape = series_hump is not None and series_hump.age + 1 < HUMP_REFRESH_SCANS
    age = series_hump.age + 1 if reuse_shape else 0
    if not amorphous:
        hump = None
    elif series_hump is not None:
        hump = series_hump.hump
    else:
        hump = estimate_hump(scan.two_theta_deg, scan.counts)
    return hump, reuse_shape, age


def _screen_electrodes(fitter: _Fitter, candidates: Sequence[str], electrodes: Sequence[str],
                       hump: Hump | None) -> tuple[list[str], tuple[str, ...]]:
    """(electrode phases the scan shows, those dropped): a linear-only fit at the library cells
    (an undetected phase would only add undetermined parameters)."""
    opts = fitter.opts
    screen = screen_phases(
        fitter.scan, [fitter.refls[n] for n in list(candidates) + list(electrodes)], instrument=fitter.inst,
        background_terms=opts.background_terms, window_fwhm=opts.window_fwhm,
        extra_background=_hump_background(hump, fitter.scan.two_theta_deg),
    )
    seen = {name for name, (wf, sd) in screen.items() if wf > 0 and wf > DETECTION_SIGMA * sd}
    return [e for e in electrodes if e in seen], tuple(sorted(set(electrodes) - seen))


def _fit_base(fitter: _Fitter, label: str, names: Sequence[str], start: WarmStart | None, hump: Hump | None,
              amorphous: bool, reuse_shape: bool, previous_hump: Hump | None,
              ) -> tuple[RefinementResult, Hump | None, Hump | None, bool]:
    """The base model, and the hump again from the data minus its Bragg intensity.

    Returns
    -------
    (result, hump, refined, refined_is_of_result)
        The fit, the hump shape it was fitted with, the hump found from a fit's Bragg
        intensity and whether that fit is ``result`` (not so when the new hump changed enough to
        refit with it and the refit won).
    """
    scan = fitter.scan
    x = scan.two_theta_deg
    result = fitter.fit(label, names, [start], hump)[0]
    if not amorphous:
        return result, hump, None, False
    crystalline = result.calculated - result.background
    if reuse_shape:
        return result, hump, refit_hump(hump, x, scan.counts, crystalline) if hump is not None else None, True
    # (in a series the search starts from the previous scan's hump instead of a grid)
    hump2 = estimate_hump(x, scan.counts, crystalline=crystalline, start=previous_hump,
                          **_left_peaks(result, fitter.inst))
    if _hump_changed(hump, hump2):
        alt = fitter.fit(label, names, [result.warm_start()], hump2)[0]
        if alt.chi2 < result.chi2 or hump is None:
            return alt, hump2, hump2, False
    return result, hump, hump2, True


def _presence_evidence(fitter: _Fitter, result: RefinementResult, name: str, fwhm_deg: float, *,
                       own_only: bool) -> PresenceEvidence:
    """The presence numbers of phase ``name`` in ``result`` (with ``own_only`` only its lines away
    from every other phase's reflections count)."""
    others = _fitted_positions(result, fitter.refls, fitter.inst, exclude=name) if own_only else None
    a, z_line = _line_evidence(result, name, fwhm_deg=fwhm_deg, exclude_two_theta_deg=others)
    return PresenceEvidence(scale_sigma=_scale_significance(result, name), line_amplitude=a, line_sigma=z_line,
                            own_lines_only=own_only)


def _model_fit(fitter: _Fitter, label: str, result: RefinementResult, fwhm_deg: float,
               candidates: Sequence[str]) -> ModelFit:
    """The numbers the verdict reads from one fitted model: residual peaks (with their honest
    significance and distance to the model's reflections), detection-limit ingredients, borate area."""
    peaks, mda, diffracted = find_residual_peaks(result, fitter.inst.wavelength_angstrom, fwhm_deg=fwhm_deg)
    factor = _significance_factor(result, [p for p in peaks if p.significance_sigma >= UNEXPLAINED_PEAK_SIGMA],
                                  fwhm_deg)
    modelled = _fitted_positions(result, fitter.refls, fitter.inst)
    findings = []
    for p in peaks:
        fwhm_here = _fwhm_at(result, p.two_theta_deg)
        findings.append(ResidualFinding(
            peak=p,
            honest_sigma=p.significance_sigma / max(factor, _local_misfit(result, p.two_theta_deg, fwhm_here)),
            distance_to_reflection_deg=float(np.min(np.abs(modelled - p.two_theta_deg))) if modelled.size
            else float("inf"),
            fwhm_deg=fwhm_here,
        ))
    x = fitter.scan.two_theta_deg
    borate_area = sum(float(np.trapezoid(np.clip(c, 0, None), x)) for n, c in result.components.items()
                      if n in candidates)
    return ModelFit(label=label, phases=result.phases, gof=result.gof, residual_peaks=tuple(findings),
                    min_detectable_area=mda, diffracted_area=diffracted, significance_factor=factor,
                    detection_factor=_significance_factor(result), borate_area=borate_area, result=result)


def _score_detection_limit(fcc_result: RefinementResult, sigma_scale: dict[str, float],
                           refls: dict[str, ReflectionList]) -> float | None:
    """The smallest amount of each separate model its own lines would show at
    :data:`DETECTION_SIGMA` (honest σ, from the score test), as a share of the borates next to
    the fcc model's NBH (Hill–Howard: weight ∝ scale · Z·M·V); the least detectable one."""
    nbh = next((p for p in fcc_result.phases if p.name == FCC_PHASE), None)
    if nbh is None or not nbh.scale > 0:
        return None
    nbh_zmv = refls[FCC_PHASE].cell_mass_amu * nbh.volume_angstrom3
    limits = []
    for name, sig in sigma_scale.items():
        refl = refls[name]
        w_min = DETECTION_SIGMA * sig * refl.cell_mass_amu * refl.volume(refl.lattice_values())
        limits.append(w_min / (w_min + nbh.scale * nbh_zmv) if np.isfinite(w_min) else 1.0)
    return float(max(limits)) if limits else None


def _fit_competing(fitter: _Fitter, fcc: RefinementResult, separate: Sequence[str], electrodes: Sequence[str],
                   fcc_present: bool, previous: dict, hump: Hump | None, fwhm_deg: float, factor: float,
                   ) -> tuple[dict[str, RefinementResult], dict[str, PresenceEvidence]]:
    """The separate model and, with NBH present, the mixed one; the presence of each borate in them.

    Returns the new fits by label and the presence evidence that replaces the fcc model's.
    """
    results: dict[str, RefinementResult] = {}
    presence: dict[str, PresenceEvidence] = {}
    results["separate"] = _lowest(fitter.fit("separate", list(separate) + list(electrodes), [None] + (
        [previous["separate"]] if "separate" in previous else []), hump))
    for name in separate:
        presence[name] = _presence_evidence(fitter, results["separate"], name, fwhm_deg, own_only=True)
    if not fcc_present:
        return results, presence
    sep = results["separate"]
    mixed_starts = [merge_warm_starts(sep, fcc), merge_warm_starts(fcc, sep)]
    # …and NBH where its lines best match what the separate model leaves (a scale clamped
    # at zero gives its cell no gradient: the start must put the lines in the right place)
    a_best = _best_cubic_cell(sep, fitter.refls[FCC_PHASE], fitter.inst, factor, fitter.opts.window_fwhm)
    if a_best is not None:
        mixed_starts.append(merge_warm_starts(sep, WarmStart(
            np.array([a_best]), (ParamKey("a", 0).label([FCC_PHASE]),))))
    if "mixed" in previous:
        mixed_starts.append(previous["mixed"])
    mixed = _lowest(fitter.fit("mixed", [FCC_PHASE] + list(separate) + list(electrodes), mixed_starts, hump))
    results["mixed"] = mixed
    for name in separate:
        ev = _presence_evidence(fitter, mixed, name, fwhm_deg, own_only=True)
        # …and its own lines must be in what the fcc model leaves: a stand-in that only
        # trades intensity with the background, the hump or NBH in the mixed fit is not
        # (the amplitude decides: the fcc model's own misfit inflates the σ of z)
        a, z = _confirmation(fcc, mixed, name, fwhm_deg, factor,
                             _fitted_positions(mixed, fitter.refls, fitter.inst, exclude=name))
        presence[name] = dataclasses.replace(ev, fcc_residual_amplitude=a, fcc_residual_sigma=z)
    if any(presence[n].present for n in separate):
        # NBH beside a separate phase: judged in the mixed model (else in the fcc model,
        # where it is not degenerate with a stand-in that is not there)
        presence[FCC_PHASE] = dataclasses.replace(
            _presence_evidence(fitter, mixed, FCC_PHASE, fwhm_deg, own_only=False), model="mixed")
    return results, presence


def _gather_evidence(fitter: _Fitter, candidates: Sequence[str], electrodes: Sequence[str], previous: dict,
                     series_hump: HumpState | None, amorphous: bool) -> ModelEvidence:
    """Fit the models the evidence asks for and collect what :func:`decide_verdict` reads.

    The base model (fcc NBH, or the first separate model without NBH) with the electrode phases
    the screening keeps; its residual peaks, the leftover salts' literature lines and a score
    test of the separate models' own lines; the separate and mixed models only when the score
    test, a residual peak away from the base model's reflections or a poor base fit asks for
    them (decided on this scan alone, so a warm-started series and cold fits make the same
    decision); the electrode-only model when no borate is present.
    """
    inst, refls = fitter.inst, fitter.refls
    separate = [c for c in candidates if c != FCC_PHASE]
    has_fcc = FCC_PHASE in candidates
    hump, reuse_shape, hump_age = _starting_hump(fitter.scan, amorphous, series_hump)
    present, dropped = _screen_electrodes(fitter, candidates, electrodes, hump)

    # ---- the base model: fcc NBH with the electrode phases (or the first separate model)
    first = "fcc" if has_fcc else "separate"
    base = ([FCC_PHASE] if has_fcc else separate) + present
    results: dict[str, RefinementResult] = {}
    results[first], hump, refined_hump, refined_is_base = _fit_base(
        fitter, first, base, previous.get(first), hump, amorphous, reuse_shape,
        series_hump.hump if series_hump is not None else None)
    fwhm = _typical_fwhm(results[first])
    presence: dict[str, PresenceEvidence] = {}
    if has_fcc:
        presence[FCC_PHASE] = _presence_evidence(fitter, results["fcc"], FCC_PHASE, fwhm, own_only=False)
    fcc_present = has_fcc and presence[FCC_PHASE].present

    # ---- residual peaks of the base model; leftover salt by its literature line
    fits = {first: _model_fit(fitter, first, results[first], fwhm, candidates)}
    factor = fits[first].significance_factor
    diag_hits = _diagnostic_hits([f.peak for f in fits[first].residual_peaks], factor)

    # ---- competing models only when evidence asks for them: the score test of the separate
    # models' own lines on the base fit's residual, a significant residual peak away from the
    # base model's reflections, or a base fit that does not describe the scan (GOF above
    # GOF_ADEQUATE: its residuals are too large for any score test)
    score_sigma_scale: dict[str, float] = {}
    score = _score_significance(results[first], separate, refls, inst, fwhm, factor, fitter.opts.window_fwhm,
                                score_sigma_scale) if has_fcc else {}
    strong_base = [f for f in fits[first].residual_peaks
                   if f.peak.significance_sigma / factor >= DIAGNOSTIC_PEAK_SIGMA
                   and not any(f.peak is h for hits in diag_hits.values() for h in hits)
                   and f.off_reflections]
    want_competing = has_fcc and bool(separate) and (
        any(z >= SCORE_SIGMA for z in score.values()) or bool(strong_base) or results[first].gof > GOF_ADEQUATE)
    if want_competing:
        new, updates = _fit_competing(fitter, results["fcc"], separate, present, fcc_present, previous, hump, fwhm,
                                      factor)
        results.update(new)
        presence.update(updates)
    for name, z in score.items():
        presence[name] = dataclasses.replace(presence.get(name, PresenceEvidence()), score_sigma=z)

    nbh_present, separate_present, line_salts = _present_borates(candidates, presence, diag_hits)
    if not (nbh_present or separate_present or line_salts) and present and has_fcc:
        # no borate: the electrode phases alone, from the fcc model's solution (and the previous scan's)
        starts = [results["fcc"].warm_start()] + ([previous["none"]] if previous.get("none") is not None else [])
        results["none"] = _lowest(fitter.fit("none", present, starts, hump))

    for label, res in results.items():
        if label not in fits:
            fits[label] = _model_fit(fitter, label, res, fwhm, candidates)
    return ModelEvidence(
        candidates=tuple(candidates),
        models=fits,
        presence=presence,
        diagnostic_hits=diag_hits,
        fwhm_deg=fwhm,
        score_sigma=score,
        competing_fitted=want_competing,
        score_detection_limit=_score_detection_limit(results["fcc"], score_sigma_scale, refls)
        if has_fcc and score_sigma_scale else None,
        dropped_electrodes=dropped,
        amorphous=HumpEvidence(hump, hump_age, reuse_shape, first if refined_is_base else None,
                               refined_hump if refined_is_base else None) if amorphous else None,
    )


# ------------------------------------------------------------------ the answer


def _amorphous_share(fitter: _Fitter, hump: HumpEvidence | None, label: str, best: RefinementResult) -> float:
    """Share of the intensity above the low-order background in the hump, found from the chosen
    model's Bragg intensity taken out of the counts (the 10-term Chebyshev of the fit trades area
    with the hump; the low-order decomposition does not)."""
    if hump is None:
        return 0.0
    scan = fitter.scan
    crystalline = best.calculated - best.background
    if hump.from_model == label:
        final = hump.refined
    elif hump.shape_reused:
        final = refit_hump(hump.hump, scan.two_theta_deg, scan.counts, crystalline) if hump.hump is not None else None
    else:
        final = estimate_hump(scan.two_theta_deg, scan.counts, crystalline=crystalline,
                              **_left_peaks(best, fitter.inst))
    return final.intensity_share if final is not None else 0.0


def _assemble(fitter: _Fitter, evidence: ModelEvidence, decision: VerdictDecision,
              spike: tuple[str, float] | None) -> PhaseVerdict:
    """The :class:`PhaseVerdict` of the decision, with the chosen model's amorphous share and
    internal standard, every model's score and the warm starts of the next scan."""
    chosen = evidence.models[decision.model]
    best = chosen.result
    amorphous_share = _amorphous_share(fitter, evidence.amorphous, decision.model, best)
    standard = None
    if spike is not None:
        from xrdkit.qpa import internal_standard

        standard = internal_standard(best, spike[0], spike[1])
    fitted = {label: m.result for label, m in evidence.models.items()}
    hump = evidence.amorphous.hump if evidence.amorphous is not None else None
    return PhaseVerdict(
        source=fitter.scan.source,
        verdict=decision.verdict,
        fcc_weight_fraction=decision.fcc_weight_fraction,
        fcc_weight_fraction_sigma=decision.fcc_weight_fraction_sigma,
        detection_limit=decision.detection_limit,
        detection_limit_basis=decision.detection_limit_basis,
        models_missing=evidence.models_missing,
        models=tuple(ModelScore(label, tuple(p.name for p in r.phases), r.bic, r.rwp, r.gof, r.converged)
                     for label, r in fitted.items()),
        residual_peaks=tuple(f.peak for f in chosen.residual_peaks),
        unexplained_intensity_share=decision.unexplained_intensity_share,
        best=best,
        notes=decision.notes,
        warm_starts={label: r.warm_start() for label, r in fitted.items()} | (
            {HUMP_STATE_KEY: HumpState(hump, evidence.amorphous.age)} if evidence.amorphous is not None else {}),
        amorphous_intensity_share=float(amorphous_share),
        borate_present=decision.borate_present,
        presence={name: ev.to_dict() for name, ev in evidence.presence.items()},
        diagnostic_lines={n: [h.two_theta_deg for h in hits] for n, hits in evidence.diagnostic_hits.items()},
        amorphous_hump=None if hump is None else {"centre_deg": hump.centre_deg, "fwhm_deg": hump.fwhm_deg},
        internal_standard=standard,
    )


def _left_peaks(result: RefinementResult, inst: Instrument) -> dict:
    """Residual peaks a fit left (≥ :data:`UNEXPLAINED_PEAK_SIGMA` Poisson σ) and how wide to
    leave them out of the hump search (±3 FWHM): keywords of :func:`estimate_hump`."""
    fwhm = _typical_fwhm(result)
    peaks, _, _ = find_residual_peaks(result, inst.wavelength_angstrom, fwhm_deg=fwhm,
                                      threshold_sigma=UNEXPLAINED_PEAK_SIGMA)
    return {"exclude_two_theta_deg": np.array([p.two_theta_deg for p in peaks]),
            "exclude_half_width_deg": 3.0 * fwhm}


@dataclass(frozen=True)
class HumpState:
    """What a series carries from scan to scan about the amorphous hump: its shape (None: none
    was found) and how many scans ago that shape was searched."""

    hump: Hump | None
    age: int = 0


def _hump_changed(a: Hump | None, b: Hump | None) -> bool:
    """Whether a re-estimated hump differs enough from the first to refit with it."""
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a.centre_deg - b.centre_deg) > 0.5 or abs(a.fwhm_deg - b.fwhm_deg) > 0.1 * a.fwhm_deg


def _diagnostic_hits(peaks: Sequence[ResidualPeak], factor: float) -> dict[str, list[ResidualPeak]]:
    """Residual peaks at a leftover salt's literature line(s), significant with the honest σ."""
    hits: dict[str, list[ResidualPeak]] = {}
    for name, lines in DIAGNOSTIC_LINES_ANGSTROM.items():
        for d in lines:
            near = [p for p in peaks if abs(p.d_spacing_angstrom - d) <= DIAGNOSTIC_D_TOLERANCE_ANGSTROM
                    and p.significance_sigma / factor >= DIAGNOSTIC_PEAK_SIGMA]
            if near:
                hits.setdefault(name, []).append(max(near, key=lambda p: p.significance_sigma))
    return hits


def _reflection_positions_of(result: RefinementResult, name: str, refls: dict[str, ReflectionList],
                             inst: Instrument) -> np.ndarray:
    """2θ (deg) of phase ``name``'s reflections at its refined cell, all wavelengths."""
    for ph in result.phases:
        if ph.name == name and name in refls:
            d = refls[name].d_spacing_angstrom(ph.lattice)
            out = []
            for lam in inst.wavelengths_angstrom:
                s_ = lam / (2 * d)
                out.append(2 * np.degrees(np.arcsin(s_[s_ < 1])))
            return np.concatenate(out)
    return np.zeros(0)


def _fitted_positions(result: RefinementResult, refls: dict[str, ReflectionList], inst: Instrument,
                      exclude: str | None = None) -> np.ndarray:
    """Sorted 2θ (deg) of the reflections of every phase of ``result`` (but ``exclude``)."""
    pos = [_reflection_positions_of(result, p.name, refls, inst) for p in result.phases if p.name != exclude]
    return np.sort(np.concatenate(pos)) if pos else np.zeros(0)


def _distance_to_nearest(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Distance (deg) from every ``x`` to the nearest of ``positions`` (non-empty)."""
    srt = np.sort(positions)
    j = np.clip(np.searchsorted(srt, x), 1, max(srt.size - 1, 1))
    return np.minimum(np.abs(x - srt[np.minimum(j, srt.size - 1)]), np.abs(x - srt[j - 1]))


make_callable(__name__)  # xrdkit.identify(...) calls identify(...) (see xrdkit._callable)
