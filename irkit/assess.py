"""The IR verdict: is a closo-borate there, which one, is it intact, what else is in the spectrum.

How each part is decided
------------------------
1. **Borate present?** (:class:`BorateEvidence`) — from the B–H stretching *and* bending evidence
   together:

   - *stretching*: the summed area of the anion ν(B–H) bands (2435–2545 cm⁻¹ priors) is
     significant (area / σ > :data:`DETECTION_Z`, σ inflated for serially correlated residuals,
     see :func:`serial_inflation`) **and** the envelope is a major band of the spectrum: its
     height is at least :data:`DOMINANCE_MIN` of the strongest absorption (baseline-corrected,
     smoothed, CO₂ region excluded). ν(B–H) is the strongest band of closo-borate salts; weak
     overtones or baseline wiggles of other substances in 2400–2600 cm⁻¹ are not;
   - *bending* (when 600–1200 cm⁻¹ is covered): the δ(B–H)/cage bands of at least one anion are
     significant with a height between :data:`BEND_TO_STRETCH` of the stretching envelope's
     (after removing recognised admixtures, e.g. PVDF 1076 cm⁻¹, methanol 1033 cm⁻¹).

   Which anion: B12H12²⁻ / B10H10²⁻ from their bending bands (resolved: 1070 vs 1015 cm⁻¹,
   720 vs 665 cm⁻¹), from the stretching bands only when the bending region is not covered.
   ``anions_intact``, ``oxidation``, ``protonation`` and ``b10_b12_ratio`` are judged only when a
   borate is present; otherwise they are None and a note says why.
2. **Protonation** ([BnHn+1]⁻, ν(B–H) shifted up by 70–100 cm⁻¹): the stretching region is
   refitted with one extra band (``protonated:nu_BH_shifted``); a significant area flags it.
3. **B10:B12** (:mod:`irkit.ratio`): reported only when identified, with a posterior σ over band
   positions within their priors; otherwise None with the reason.
4. **Admixtures** (:func:`screen`): one joint linear least-squares fit in windows around marker
   bands of every known component — the band-library species (isopropanol, liquid water, B–O,
   PVDF binder, atmospheric CO₂) and templates from real reference spectra (methanol, water
   vapour; :mod:`irkit.templates`) — with a local polynomial baseline per window, after removing
   the fitted anion bands when a borate is present. A component is flagged when its scale is
   significant (z > :data:`DETECTION_Z`) **and** its pattern holds: in every *required* window
   where the template predicts a visible band (≥ :data:`VISIBLE_SIGMA` σ), the data show it at
   ≥ :data:`PATTERN_MIN_FRACTION` of the predicted strength at a position within the window's
   shift tolerance, and broad marker bands (B–O, liquid water) are broad. Components that fail
   are dropped and the fit is repeated, so bands one template explains never raise another flag.
   PVDF's required pattern is its phase-independent bands (1398, 1185, 882 cm⁻¹): an acrylate or
   ether that absorbs near 1190 cm⁻¹ but not at 882 cm⁻¹ is not PVDF.
5. **Other organic**: C–H stretching (2840–3100 cm⁻¹) or C=O (1680–1790 cm⁻¹) absorption left in
   the residual after the recognised components — at least :data:`ORGANIC_MIN_RELATIVE` of the
   strongest band, significant, and not merely a misfit of a recognised template (at least
   :data:`ORGANIC_UNEXPLAINED_FRACTION` of what the templates explain there); the flag names the
   band positions.

All band positions, widths and relative heights of the library are priors (mostly unverified or
constructed; see ``reference_data/ir_bands/README.md``); flags near the detection limit on real
data need a look at the plot.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from irkit.bands import ANION_SPECIES, Band, BandLibrary, load_band_library
from irkit.fit import REGIONS, RegionFit, fit_region
from irkit.ratio import (
    DEFAULT_RATIO_CALIBRATION,
    RatioCalibration,
    RatioEstimate,
    b10_b12_ratio,
    calibrate_ratio,
    estimate_ratio,
)
from irkit.shapes import pseudo_voigt
from irkit.spectra import Spectrum, make_spectrum, to_absorbance
from irkit.templates import ReferenceTemplate, load_templates
from irkit.vocabulary import (
    CO2_TEST,
    CONTAMINANT_FLAGS,
    DETAILS_KEY,
    FLAG_SPECIES,
    SPECIES_FLAGS,
    VERDICT_COLUMNS,
    IRFlag,
)
from xrdkit._summary import HtmlSummary
from xrdkit.errors import InputError

__all__ = ["DETECTION_Z", "DEFAULT_RATIO_CALIBRATION", "SpeciesTest", "RatioEstimate",
           "RatioCalibration", "BorateEvidence", "OrganicTest", "IRVerdict", "template_test",
           "screen", "b10_b12_ratio", "calibrate_ratio", "assess", "admixture_model",
           "TESTED_SPECIES", "serial_inflation", "strongest_absorption"]

logger = logging.getLogger(__name__)

#: One-sided significance (in σ) above which a band / species counts as present. 5σ rather than
#: 3σ because the band priors are approximate: unmodelled structure should not raise flags.
DETECTION_Z = 5.0
#: The ν(B–H) envelope must be at least this fraction of the strongest absorption of the
#: spectrum (ν(B–H) is the strongest band of closo-borate salts; 5 % leaves room for electrodes
#: in which binder or solvent bands are up to 20× stronger).
DOMINANCE_MIN = 0.05
#: Allowed height ratio of the bending bands (strongest δ(B–H)/cage band) to the ν(B–H) envelope
#: (library priors 0.1–0.3; ATR enhances low wavenumbers ~2.5×; wide on purpose).
BEND_TO_STRETCH = (0.02, 5.0)
#: Marker windows extend this many FWHM either side of each marker band (minimum 30 cm⁻¹).
WINDOW_FWHM = 2.5
WINDOW_MIN_CM1 = 30.0
#: A merged window gets one more baseline polynomial degree per this width (cm⁻¹), up to
#: :data:`MAX_WINDOW_DEGREE`.
WIDE_WINDOW_CM1 = 250.0
MAX_WINDOW_DEGREE = 4
#: Lorentzian fraction of the library templates (the fits of the anions find η ≈ 0.5 on the
#: synthetic data; a constructed choice for the admixtures).
TEMPLATE_FRACTION = 0.5
#: Pattern check: a required window counts when the template predicts a band of at least this
#: many σ there; it must then show at least this fraction of the predicted strength (the relative
#: heights of the library templates are constructed and a condensed residue differs from a gas
#: reference: a real spectrum's bands may be 2-3× weaker or stronger relative to each other).
VISIBLE_SIGMA = 3.0
PATTERN_MIN_FRACTION = 0.25
#: A significant component is flagged only when its strongest marker band is at least this
#: fraction of the reference band (the ν(B–H) envelope, or the strongest band without a borate):
#: smaller "bands" are what template misfit leaves on realistic spectra (non-Voigt shapes,
#: mismatched widths: a hydrated salt's water bend left 0.6 % of the B–H height in the B–O
#: window). Below the stated detection limits (isopropanol 1 %, B–O 2 % of the B12H12 band at
#: 1:1; the envelope of a B12H12-rich salt is up to 1.6× higher).
MIN_RELATIVE_HEIGHT = {"default": 0.003, "B-O": 0.01}
#: A required window fails when significant structure the template does not explain is more
#: than (1 - this) of the window's structure (a residue of something else, or of the anion
#: bands' shape misfit, is not the species).
WINDOW_SHARE_MIN = 0.25
#: Minimum shift tolerance of library bands (cm⁻¹) and the range the best shift is searched in.
MIN_SHIFT_TOLERANCE_CM1 = 8.0
SHIFT_SEARCH_CM1 = 40.0
SHIFT_STEP_CM1 = 1.0
#: Library marker bands at least this wide (FWHM prior minimum, cm⁻¹) must be seen broad: the
#: best single band in their window may not be narrower than their prior minimum.
BROAD_BAND_MIN_CM1 = 25.0
#: A component whose white-noise z exceeds :data:`DETECTION_Z` also counts as significant when it
#: explains at least this share of the signal in its windows (strong bands that a template
#: describes only approximately: the misfit inflates σ, yet the band is plainly there).
EXPLAINED_MIN = 0.5
#: Rounds of drop-and-refit in the screen.
MAX_SCREEN_ROUNDS = 4
#: Other organic: windows, generic-band basis (FWHM, spacing), thresholds.
ORGANIC_WINDOWS = {"C–H stretch": (2840.0, 3100.0, 2700.0, 3200.0),
                   "C=O stretch": (1680.0, 1790.0, 1560.0, 1880.0)}
ORGANIC_BASIS_FWHM_CM1 = 20.0
ORGANIC_BASIS_STEP_CM1 = 10.0
ORGANIC_MIN_RELATIVE = 0.02
#: (residual C–H must be at least what the recognised templates explain there: their C–H
#: heights are constructed or gas-phase, so a smaller residual is template misfit)
ORGANIC_UNEXPLAINED_FRACTION = 1.0
#: Strongest absorption: smoothing FWHM (washes out vapour lines and noise) and excluded range
#: (atmospheric CO₂ ν3).
OVERVIEW_SMOOTH_CM1 = 8.0
#: SNIP half window of the overview baseline (cm⁻¹; wider than any band of interest).
OVERVIEW_BASELINE_HALF_WINDOW_CM1 = 150.0
CO2_RANGE_CM1 = (2280.0, 2400.0)
#: Stretching region when atmospheric CO₂ is found (starts above its R branch).
STRETCH_WITHOUT_CO2 = (2400.0, 2650.0)
#: Evaluation budget of the region fits made by :func:`assess` (a borate spectrum converges in
#: ~20-60; spectra without the bands would otherwise run to the fit's default 4000).
ASSESS_MAX_NFEV = 400
#: Grid points per band centre of the quick stretching pre-check.
PRECHECK_GRID = 5
#: The full fits are made only when the pre-check reaches this fraction of the thresholds.
PRECHECK_FRACTION = 0.5
#: The protonated band is refitted non-linearly only when its linear pre-test reaches this z.
PROTONATION_PRECHECK_Z = 3.0
#: Largest lag-1 residual autocorrelation used by :func:`serial_inflation`.
MAX_AUTOCORRELATION = 0.95
#: Ranges of the anion fits: pass A of the screen does not look there.
ANION_REGIONS_CM1 = ((600.0, 1200.0), (2350.0, 2650.0))
#: Band-library species tested by the screen, keyed by the flag each feeds
#: (``{"isopropanol": "isopropanol", "water": "water", "oxidation": "B-O", "binder": "PVDF"}``;
#: :data:`irkit.vocabulary.FLAG_SPECIES`).
TESTED_SPECIES = {flag.value: FLAG_SPECIES[flag]
                  for flag in (IRFlag.ISOPROPANOL, IRFlag.WATER, IRFlag.OXIDATION, IRFlag.BINDER)}
#: Band-library species of atmospheric CO₂ (background; the verdict's ``co2`` test).
CO2_SPECIES = "CO2"
#: Reference template of water vapour (feeds the ``water`` flag with the liquid-water species).
WATER_VAPOUR_TEMPLATE = "water_vapour"
#: Library species screened (in this order) and reference templates screened.
LIBRARY_COMPONENTS = (*TESTED_SPECIES.values(), CO2_SPECIES)
TEMPLATE_COMPONENTS = (FLAG_SPECIES[IRFlag.METHANOL], WATER_VAPOUR_TEMPLATE)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SpeciesTest:
    """Outcome of the screen for one component.

    Attributes
    ----------
    species : str
        The component (library species or reference template name).
    detected : bool or None
        None when no marker window of the component lies inside the spectrum.
    strongest_band_cm1 : float
        Position of the component's strongest marker band.
    height, height_sigma : float
        Fitted peak absorbance of that band (may be negative: noise) and its 1σ.
    z : float
        ``height / height_sigma``.
    detection_limit : float
        ``DETECTION_Z · height_sigma`` (peak absorbance of the strongest marker band).
    relative_height, relative_detection_limit : float
        The two above divided by the reference height (strongest anion band, or the strongest
        absorption when there is no borate; NaN if unknown).
    markers_cm1 : tuple of float
        Marker bands / window centres used.
    pattern_ok : bool or None
        Whether the required pattern held (None: not checked, the scale was not significant).
    pattern : str
        What the pattern check saw.
    form : str
        E.g. ``"liquid/adsorbed"``, ``"vapour"`` for water.
    provenance : str
        Where the template comes from.

    Examples
    --------
    One test of :func:`template_test` on a constructed isopropanol spectrum without water:

    >>> from irkit.assess import template_test
    >>> from irkit.synthetic import synthesize
    >>> solvent = synthesize(4, borate=0.0, isopropanol=0.3).spectrum
    >>> water = template_test(solvent, ("water",), reference_height=0.15)["water"]
    >>> water.detected, water.strongest_band_cm1, water.form, water.z < 5      # cm⁻¹
    (False, 1625.0, 'liquid/adsorbed', True)
    >>> round(water.relative_detection_limit, 2)   # smallest detectable, of the 0.15 reference
    0.15
    """

    species: str
    detected: bool | None
    strongest_band_cm1: float
    height: float
    height_sigma: float
    z: float
    detection_limit: float
    relative_height: float
    relative_detection_limit: float
    markers_cm1: tuple[float, ...]
    pattern_ok: bool | None = None
    pattern: str = ""
    form: str = ""
    provenance: str = ""


@dataclass(frozen=True)
class BorateEvidence:
    """The evidence behind ``borate_present``.

    Attributes
    ----------
    present : bool
        A closo-borate is in the spectrum.
    anion : str or None
        ``"B12H12"``, ``"B10H10"``, ``"both"`` or None.
    b12_present, b10_present : bool
        Each anion's bands are significant.
    stretch_z : float
        Significance of the summed ν(B–H) area (serial-correlation inflated).
    stretch_height : float
        Height of the fitted ν(B–H) envelope.
    stretch_centre_cm1 : float
        Area-weighted centre of the fitted anion stretching bands.
    dominance : float
        ``stretch_height`` / strongest absorption of the spectrum.
    bend_covered : bool
        The spectrum covers the bending region 600–1200 cm⁻¹.
    bend_z : dict
        Anion → significance of its bending/cage bands.
    bend_to_stretch : dict
        Anion → height of its strongest bending band / ``stretch_height``.
    reason : str
        One sentence: why present or not.

    Examples
    --------
    The evidence of an :class:`IRVerdict`; a constructed isopropanol spectrum has no ν(B–H)
    band, so no band fit is even made:

    >>> from irkit.assess import assess
    >>> from irkit.synthetic import synthesize
    >>> evidence = assess(synthesize(4, borate=0.0, isopropanol=0.3).spectrum).evidence
    >>> evidence.present, evidence.anion, evidence.stretch_z < 5, evidence.dominance < 0.05
    (False, None, True, True)
    >>> evidence.reason.split(":")[0], evidence.reason.endswith("no band fits made")
    ('no closo-borate', True)
    """

    present: bool
    anion: str | None
    b12_present: bool
    b10_present: bool
    stretch_z: float
    stretch_height: float
    stretch_centre_cm1: float
    dominance: float
    bend_covered: bool
    bend_z: Mapping[str, float]
    bend_to_stretch: Mapping[str, float]
    reason: str


@dataclass(frozen=True)
class OrganicTest:
    """Organic absorption left unexplained (C–H / C=O stretching).

    Attributes
    ----------
    detected : bool or None
        None when neither window is covered.
    seen : tuple of str
        What was seen, e.g. ``"C–H stretch at 2962 cm⁻¹ (12 % of the strongest band)"``.
    bands : dict
        Window → {"position_cm1", "height", "z", "relative", "explained"}.

    Examples
    --------
    Part of an :class:`IRVerdict` (``other_organic``); by hand:

    >>> from irkit.assess import OrganicTest
    >>> OrganicTest(False, (), {}).detected
    False
    """

    detected: bool | None
    seen: tuple[str, ...]
    bands: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class IRVerdict(HtmlSummary):
    """What the IR spectrum says.

    A one-screen report: :meth:`summary` (and :meth:`headline`, one line; notebooks show the
    summary, the ``repr`` is one short line).

    Attributes
    ----------
    borate_present : bool
        A closo-borate is in the spectrum (see ``evidence``).
    anion : str or None
        ``"B12H12"``, ``"B10H10"``, ``"both"`` or None.
    anions_intact : bool or None
        Borate present and not protonated (None without a borate). *Changed*: it no longer
        requires both anions; ``anion`` says which are there.
    b12_present, b10_present : bool
        Each anion's bands are significant.
    protonation : SpeciesTest or None
        Shifted ν(B–H) band test (None without a borate).
    ratio : RatioEstimate or None
        The reported B10:B12 ratio (None: not identified, see ``ratio_reason``).
    ratio_reason : str
        Why the ratio is not reported (or how it was judged).
    isopropanol, methanol, water, binder : SpeciesTest
        The admixture tests of the screen (water: liquid/adsorbed or vapour).
    oxidation : SpeciesTest or None
        B–O (None without a borate).
    other_organic : OrganicTest
        C–H / C=O absorption no recognised component explains.
    co2 : SpeciesTest
        Atmospheric CO₂ (background, not a sample property).
    evidence : BorateEvidence
        The evidence behind ``borate_present``.
    notes : tuple of str
        Everything the judgement did or doubted, in order.
    ratio_posterior : RatioEstimate or None
        The ratio posterior even when not reported.
    fits : tuple of RegionFit
        The region fits the verdict was judged on (empty when the pre-check found no ν(B–H)
        band); not part of :meth:`to_dict`.
    source : str
        Where the spectrum was read from (``Spectrum.source``); not part of :meth:`to_dict`.

    Examples
    --------
    Returned by :func:`assess` (which shows more); a constructed spectrum of both anions with
    isopropanol at 15 % of the B–H band:

    >>> from irkit.assess import assess
    >>> from irkit.synthetic import synthesize
    >>> verdict = assess(synthesize(3, isopropanol=0.15).spectrum)
    >>> verdict
    <IRVerdict synthetic: closo-borate present (B12H12²⁻ + B10H10²⁻), intact; flags: isopropanol>
    >>> verdict.flag("isopropanol"), verdict.flag("water"), verdict.isopropanol.strongest_band_cm1
    (True, False, 950.0)
    >>> verdict.evidence.anion, verdict.other_organic.detected, [fit.region for fit in verdict.fits]
    ('both', False, ['stretch', 'bend'])
    """

    borate_present: bool
    anion: str | None
    anions_intact: bool | None
    b12_present: bool
    b10_present: bool
    protonation: SpeciesTest | None
    ratio: RatioEstimate | None
    ratio_reason: str
    isopropanol: SpeciesTest
    methanol: SpeciesTest
    water: SpeciesTest
    oxidation: SpeciesTest | None
    binder: SpeciesTest
    other_organic: OrganicTest
    co2: SpeciesTest
    evidence: BorateEvidence
    notes: tuple[str, ...] = ()
    ratio_posterior: RatioEstimate | None = None
    fits: tuple[RegionFit, ...] = field(default=(), repr=False, compare=False)
    source: str = field(default="", compare=False)

    @property
    def b10_b12_ratio(self) -> float:
        """Molar ratio (NaN if not reported)."""
        return self.ratio.value if self.ratio else math.nan

    def flag(self, name: IRFlag | str) -> bool | None:
        """The value of one flag (:class:`irkit.vocabulary.IRFlag`): True, False, or None when
        it was not judged.

        Parameters
        ----------
        name : IRFlag or str
            E.g. ``IRFlag.WATER`` or ``"water"``.

        Returns
        -------
        bool or None
        """
        flag = IRFlag(name)
        if flag is IRFlag.BORATE_PRESENT:
            return self.borate_present
        if flag is IRFlag.ANIONS_INTACT:
            return self.anions_intact
        if flag is IRFlag.OTHER_ORGANIC:
            return self.other_organic.detected
        test = getattr(self, flag.value)
        return None if test is None else test.detected

    @property
    def contaminants(self) -> tuple[str, ...]:
        """What was seen besides the borate, named (e.g. ``"water (vapour)"``)."""
        seen = []
        for flag in CONTAMINANT_FLAGS:
            t = getattr(self, flag.value)
            if t.detected:
                seen.append(f"{flag} ({t.form})" if t.form else flag.value)
        if self.other_organic.detected:
            seen.append("other organic: " + "; ".join(self.other_organic.seen))
        return tuple(seen)

    def to_dict(self) -> dict:
        """JSON-ready summary (flags as booleans or None; details under ``"details"``).

        The keys are :data:`irkit.vocabulary.VERDICT_KEYS`, in that order.
        """
        ratio = self.ratio
        values = {
            "anion": self.anion,
            "b10_b12_ratio": None if ratio is None else ratio.value,
            "b10_b12_ratio_sigma": None if ratio is None else ratio.sigma,
            "b10_b12_ratio_reason": self.ratio_reason or None,
            "contaminants": list(self.contaminants),
        }
        out: dict = {col.name: values[col.name] if col.name in values else self.flag(col.name)
                     for col in VERDICT_COLUMNS}
        out[DETAILS_KEY] = {
            "evidence": asdict(self.evidence),
            "b12_present": self.b12_present,
            "b10_present": self.b10_present,
            "ratio": None if ratio is None else asdict(ratio),
            "ratio_posterior": (None if self.ratio_posterior is None
                                else asdict(self.ratio_posterior)),
            **{name: (None if getattr(self, name) is None else asdict(getattr(self, name)))
               for name in (IRFlag.PROTONATION.value,
                            *(f.value for f in SPECIES_FLAGS if f is not IRFlag.PROTONATION),
                            CO2_TEST)},
            "other_organic": asdict(self.other_organic),
            "notes": list(self.notes),
        }
        return out

    # ------------------------------------------------------------------ reports

    def flagged(self) -> tuple[IRFlag, ...]:
        """The admixture and anion flags that are True (not ``borate_present`` /
        ``anions_intact``), in :class:`~irkit.vocabulary.IRFlag` order."""
        return tuple(f for f in IRFlag
                     if f not in (IRFlag.BORATE_PRESENT, IRFlag.ANIONS_INTACT) and self.flag(f))

    def headline(self) -> str:
        """The verdict in one line: borate (which anion, intact), the flags raised, the ratio."""
        if self.borate_present:
            anion = _ANION_TEXT.get(self.anion or "", str(self.anion))
            state = "intact" if self.anions_intact else "NOT intact (protonated)"
            what = f"closo-borate present ({anion}), {state}"
        else:
            what = "no closo-borate"
        raised = self.flagged()
        flags = "flags: " + ", ".join(raised) if raised else "no flag raised"
        line = f"{what}; {flags}"
        if self.ratio is not None:
            line += f"; B10:B12 = {self.ratio.value:.3f} ± {self.ratio.sigma:.3f}"
        return line

    def __repr__(self) -> str:
        return _one_line(f"<IRVerdict {_short_source(self.source)}: {self.headline()}>")

    def summary(self) -> str:
        """A one-screen text report: the verdict first, then the borate evidence, every flag
        with its height ± σ and detection limit, the region fits and the notes.

        Heights are peak absorbances of the strongest marker band of each test; ``% ref`` is
        that height relative to the reference band (the ν(B–H) envelope, or the strongest band
        without a borate).

        Returns
        -------
        str

        Examples
        --------
        A constructed spectrum (``irkit.synthetic``) with both anions and isopropanol at 15 % of
        the B–H band:

        >>> from irkit.assess import assess
        >>> from irkit.synthetic import synthesize
        >>> verdict = assess(synthesize(3, isopropanol=0.15).spectrum)
        >>> verdict
        <IRVerdict synthetic: closo-borate present (B12H12²⁻ + B10H10²⁻), intact; flags: isopropanol>
        >>> print(verdict.summary())  # doctest: +ELLIPSIS
        [[IR verdict]] synthetic
            closo-borate present (B12H12²⁻ + B10H10²⁻), intact; flags: isopropanol
            B10:B12 not reported: not identified: the B12H12 and B10H10 ν(B–H) bands ...
        [[Borate evidence]]
            closo-borate: ν(B–H) z = 1471 (100% of the strongest band) and bending bands of ...
            ν(B–H) envelope 0.718 absorbance (100 % of the strongest band), z = 1471, centre 2474.6 cm⁻¹
            bending bands: B12H12 z = 225 (0.14 × ν(B–H)), B10H10 z = 235 (0.15 × ν(B–H))
        [[Flags]]  peak absorbance of each test's strongest marker band (% of the reference band)
                          found        height ± σ            detection limit
            isopropanol   yes     0.0753 ± 0.0005 ( 10.5 %)    0.0024 (  0.3 %)
            methanol      no     -0.0005 ± 0.0007 ( -0.1 %)    0.0037 (  0.5 %)
            ...
            protonation   no      0.0012 ± 0.0006 (  0.2 %)    0.0031 (  0.4 %)
            co2 (bg)      no      0.0015 ± 0.0064 (  0.2 %)    0.0318 (  4.4 %)
        [[Fits]]
            stretch 2350–2650 cm⁻¹, 3 bands, R² 0.99992, rms residual 0.00196
            bend    600–1200 cm⁻¹, 4 bands, R² 0.99433, rms residual 0.00192
        [[Notes]]
            bending region fitted without the isopropanol bands seen outside the anion regions
            bending region refitted without the isopropanol bands
        """
        lines = [f"[[IR verdict]] {self.source or '(no source)'}", f"    {self.headline()}"]
        shown = {self.evidence.reason}
        if self.ratio is not None:
            lo, hi = self.ratio.interval_95
            interval = (f" (95 % {lo:.3f}–{hi:.3f})" if math.isfinite(lo) and math.isfinite(hi)
                        else "")
            lines += _wrap(f"B10:B12 = {self.ratio.value:.3f} ± {self.ratio.sigma:.3f}{interval}; "
                           f"calibration: {self.ratio.calibration.provenance}")
        elif self.borate_present:
            lines += _wrap(f"B10:B12 not reported: {self.ratio_reason}")
            shown.add(f"B10:B12 ratio: {self.ratio_reason}")
        ev = self.evidence
        lines.append("[[Borate evidence]]")
        lines += _wrap(ev.reason)
        lines.append(f"    ν(B–H) envelope {ev.stretch_height:.3g} absorbance ({_pct(ev.dominance, 0)} "
                     f"of the strongest band), z = {ev.stretch_z:.0f}, centre "
                     f"{ev.stretch_centre_cm1:.1f} cm⁻¹")
        if ev.bend_z:
            lines.append("    bending bands: " + ", ".join(
                f"{a} z = {z:.0f} ({ev.bend_to_stretch.get(a, math.nan):.2f} × ν(B–H))"
                for a, z in ev.bend_z.items()))
        lines.append("[[Flags]]  peak absorbance of each test's strongest marker band "
                     "(% of the reference band)")
        lines.append(f"    {'':14s}{'found':7s}{'height ± σ':>16s}{'':10s}{'detection limit':>17s}")
        for flag in IRFlag:
            if flag not in (IRFlag.BORATE_PRESENT, IRFlag.ANIONS_INTACT):
                lines += _wrap(f"{flag.value:14s}" + self._flag_row(flag))
        lines.append(f"    {CO2_TEST + ' (bg)':14s}" + _test_row(self.co2))
        if self.fits:
            lines.append("[[Fits]]")
            lines += [f"    {f.region:8s}{f.low_cm1:g}–{f.high_cm1:g} cm⁻¹, {len(f.bands)} bands, "
                      f"R² {f.quality.r_squared:.5f}, rms residual {f.quality.rms_residual:.3g}"
                      + ("" if f.quality.success else ", NOT converged") for f in self.fits]
        notes = [n for n in self.notes if n not in shown]
        if notes:
            lines.append("[[Notes]]")
            for n in notes:
                lines += _wrap(n)
        return "\n".join(lines)

    def _flag_row(self, flag: IRFlag) -> str:
        if flag is IRFlag.OTHER_ORGANIC:
            found = _yes_no(self.other_organic.detected)
            return f"{found:7s}" + ("; ".join(self.other_organic.seen)
                            if self.other_organic.seen else "")
        test = getattr(self, flag.value)
        if test is None:
            return "not judged" + ("" if self.borate_present else " (no closo-borate)")
        return _test_row(test)


#: How the headline names the anions.
_ANION_TEXT = {"B12H12": "B12H12²⁻", "B10H10": "B10H10²⁻", "both": "B12H12²⁻ + B10H10²⁻"}
#: Longest source name a ``repr`` shows (the file name; longer ones are shortened).
_REPR_SOURCE_CHARS = 40
#: Longest ``repr``.
_REPR_MAX_CHARS = 199
#: Width of the wrapped lines of a summary.
_REPORT_WIDTH = 100


def _short_source(source: str) -> str:
    """The file name of ``source`` (``FILE::/path`` keeps its path), at most
    :data:`_REPR_SOURCE_CHARS` characters."""
    name = str(source or "")
    head, sep, inner = name.partition("::")
    name = head.replace("\\", "/").rsplit("/", 1)[-1] + sep + inner
    if len(name) > _REPR_SOURCE_CHARS:
        name = "…" + name[-(_REPR_SOURCE_CHARS - 1):]
    return name or "?"


def _one_line(text: str) -> str:
    """``text`` on one line, at most :data:`_REPR_MAX_CHARS` characters (ends with ``…>``)."""
    text = " ".join(text.split())
    if len(text) > _REPR_MAX_CHARS:
        text = text[: _REPR_MAX_CHARS - 2] + "…>"
    return text


def _yes_no(value: bool | None) -> str:
    return "not judged" if value is None else ("yes" if value else "no")


def _pct(fraction: float, digits: int = 1) -> str:
    return f"{100 * fraction:.{digits}f} %" if math.isfinite(fraction) else "— %"


def _number(value: float, digits: int = 4, width: int = 7) -> str:
    return f"{value:{width}.{digits}f}" if math.isfinite(value) else f"{'—':>{width}s}"


def _test_row(t: SpeciesTest) -> str:
    """``found  height ± σ (% ref)  detection limit (% ref)`` of one component test."""
    if t.detected is None:
        return f"not judged ({t.pattern or 'no marker window inside the spectrum'})"
    return (f"{_yes_no(t.detected):7s}{_number(t.height)} ± {_number(t.height_sigma, width=6)} "
            f"({_number(100 * t.relative_height, 1, 5)} %)"
            f"{_number(t.detection_limit, width=10)} ({_number(100 * t.relative_detection_limit, 1, 5)} %)")


def _wrap(text: str) -> list[str]:
    """``text`` as indented report lines of at most :data:`_REPORT_WIDTH` characters."""
    import textwrap

    return textwrap.wrap(text, _REPORT_WIDTH, initial_indent="    ", subsequent_indent="      ",
                         break_on_hyphens=False) or ["    "]


# --------------------------------------------------------------------------- helpers


def serial_inflation(residual: np.ndarray) -> float:
    """σ inflation for serially correlated residuals: ``sqrt((1+ρ)/(1-ρ))`` with ρ the lag-1
    autocorrelation (clipped to ``[0, MAX_AUTOCORRELATION]``; AR(1) variance of a mean).

    White noise gives ≈ 1; the smooth misfit of real spectra (band shapes no template has)
    gives up to ~6, so that structure is not mistaken for signal.

    Parameters
    ----------
    residual : ndarray, shape (n,)
        Fit residual (data − model), absorbance.

    Returns
    -------
    float
        The factor (≥ 1) by which to multiply white-noise standard errors; 1 for fewer than
        three points or a zero residual.

    Examples
    --------
    White noise, and a smooth misfit (ρ clipped at 0.95: √(1.95/0.05) ≈ 6.24):

    >>> import numpy as np
    >>> from irkit.assess import serial_inflation
    >>> round(serial_inflation(np.random.default_rng(0).normal(size=2000)), 2)
    1.0
    >>> round(serial_inflation(np.sin(np.linspace(0.0, 3.0, 500))), 2)
    6.24
    """
    r = np.asarray(residual, dtype=float)
    r = r - r.mean() if r.size else r
    den = float(r @ r)
    if r.size < 3 or den <= 0:
        return 1.0
    rho = float(r[1:] @ r[:-1]) / den
    rho = min(max(rho, 0.0), MAX_AUTOCORRELATION)
    return math.sqrt((1.0 + rho) / (1.0 - rho))


def strongest_absorption(spectrum: Spectrum) -> float:
    """Height of the strongest absorption band of a spectrum (absorbance).

    pybaselines SNIP baseline (half window :data:`OVERVIEW_BASELINE_HALF_WINDOW_CM1`; not
    iterative, so sharp vapour lines cannot stall it) removed, smoothed to
    :data:`OVERVIEW_SMOOTH_CM1` FWHM, maximum outside the atmospheric CO₂ range.

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance or transmittance (converted).

    Returns
    -------
    float
        Height above the baseline of the strongest band, absorbance (slightly below the true
        peak for bands narrower than a few times the smoothing width).

    Examples
    --------
    A constructed isopropanol spectrum whose strongest band (950 cm⁻¹) is 0.15 high:

    >>> from irkit.assess import strongest_absorption
    >>> from irkit.synthetic import synthesize
    >>> solvent = synthesize(4, borate=0.0, isopropanol=0.3)
    >>> round(max(band.height for band in solvent.bands), 3)
    0.15
    >>> 0.12 < strongest_absorption(solvent.spectrum) <= 0.15                 # absorbance
    True
    """
    from scipy.ndimage import gaussian_filter1d

    from irkit.baseline import estimate_baseline

    a = to_absorbance(spectrum)
    half = max(int(OVERVIEW_BASELINE_HALF_WINDOW_CM1 / max(a.step_cm1, 1e-9)), 3)
    base = estimate_baseline(a, "snip", max_half_window=half)
    x = base.wavenumber_cm1
    net = np.interp(x, a.wavenumber_cm1, a.values) - base.baseline
    step = float(np.median(np.diff(x)))
    net = gaussian_filter1d(net, OVERVIEW_SMOOTH_CM1 / 2.3548 / max(step, 1e-9))
    keep = ~((x >= CO2_RANGE_CM1[0]) & (x <= CO2_RANGE_CM1[1]))
    return float(np.max(net[keep])) if keep.any() else float(np.max(net))


def _unit_height_pv(x: np.ndarray, center: float, fwhm: float) -> np.ndarray:
    """Pseudo-Voigt of peak height 1 (η = TEMPLATE_FRACTION)."""
    s = 0.5 * fwhm
    peak = ((1 - TEMPLATE_FRACTION) / (s * math.sqrt(math.pi / math.log(2)))
            + TEMPLATE_FRACTION / (math.pi * s))
    return pseudo_voigt(x, 1.0 / peak, center, s, TEMPLATE_FRACTION)


def _merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _poly_columns(x: np.ndarray, lo: float, hi: float, degree: int) -> list[np.ndarray]:
    inside = (x >= lo) & (x <= hi)
    u = np.where(inside, (x - 0.5 * (lo + hi)) / max(0.5 * (hi - lo), 1e-9), 0.0)
    return [np.where(inside, u ** i, 0.0) for i in range(degree + 1)]


def _lstsq(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-scaled least squares: coefficients, covariance (s² from the residual), residual."""
    m, p = design.shape
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    scaled = design / norms
    normal_inv = np.linalg.pinv(scaled.T @ scaled)
    coef = (normal_inv @ (scaled.T @ target)) / norms
    resid = target - design @ coef
    s2 = float(resid @ resid) / max(m - p, 1)
    cov = normal_inv / np.outer(norms, norms) * s2
    return coef, cov, resid


# --------------------------------------------------------------------------- components


@dataclass(frozen=True)
class _Window:
    low_cm1: float
    high_cm1: float
    label: str
    required: bool
    shift_tolerance_cm1: float
    broad_min_fwhm_cm1: float = 0.0  # > 0: the band seen here must be at least this wide
    centre_cm1: float = math.nan


@dataclass(frozen=True)
class _Component:
    """One thing the screen looks for: a template function, windows, what it feeds."""

    name: str
    field: str
    form: str
    template: Callable[[np.ndarray, float], np.ndarray]  # (x, shift) → template (scale 1)
    windows: tuple[_Window, ...]
    height_factor: float  # scale × this = height of the strongest marker band
    strongest_cm1: float
    provenance: str
    extras: tuple[Band, ...] = field(default_factory=tuple)


def _library_component(species: str, lib: BandLibrary) -> _Component:
    bands = lib.select(species)
    markers = [b for b in bands if b.marker]
    windows = []
    for b in markers:
        half = max(WINDOW_FWHM * b.fwhm_cm1, WINDOW_MIN_CM1)
        windows.append(_Window(b.position_cm1 - half, b.position_cm1 + half,
                               f"{b.mode} {b.position_cm1:g} cm⁻¹", b.pattern,
                               max(b.bound_cm1, MIN_SHIFT_TOLERANCE_CM1),
                               b.fwhm_min_cm1 if b.fwhm_min_cm1 >= BROAD_BAND_MIN_CM1 else 0.0,
                               b.position_cm1))
    strongest = max(markers or bands, key=lambda b: b.relative_height)

    def template(x: np.ndarray, shift: float = 0.0) -> np.ndarray:
        return sum(b.relative_height * _unit_height_pv(x, b.position_cm1 + shift, b.fwhm_cm1)
                   for b in bands)

    form = {"water": "liquid/adsorbed", "CO2": "atmospheric"}.get(species, "")
    field_name = {v: k for k, v in TESTED_SPECIES.items()}.get(species, species)
    return _Component(species, field_name, form, template, tuple(windows),
                      strongest.relative_height, strongest.position_cm1,
                      f"band library {lib.source}: " + "; ".join(sorted({b.status for b in bands}))
                      + " positions")


def _template_component(t: ReferenceTemplate) -> _Component:
    windows = tuple(_Window(w.low_cm1, w.high_cm1, w.label, w.required, w.shift_tolerance_cm1)
                    for w in t.windows)
    strongest = float(t.wavenumber_cm1[int(np.argmax(t.absorbance))])
    return _Component(t.name, t.species, t.form, t.on, windows, 1.0, strongest, t.provenance)


def _components(species: Sequence[str], lib: BandLibrary,
                templates: Mapping[str, ReferenceTemplate]) -> list[_Component]:
    out = []
    for name in species:
        if name in templates:
            out.append(_template_component(templates[name]))
        else:
            out.append(_library_component(name, lib))
    return out


def _cached(comp: _Component, x: np.ndarray) -> _Component:
    """The component with its unshifted template on the full axis ``x`` computed once."""
    full = comp.template(x, 0.0)
    original = comp.template

    def template(xx: np.ndarray, shift: float = 0.0) -> np.ndarray:
        if shift == 0.0 and xx is x:
            return full
        return original(xx, shift)

    return replace(comp, template=template)


def _component_windows(comp: _Component, lo_x: float, hi_x: float) -> list[_Window]:
    return [w for w in comp.windows if w.high_cm1 > lo_x and w.low_cm1 < hi_x
            and min(w.high_cm1, hi_x) - max(w.low_cm1, lo_x) >= 0.5 * (w.high_cm1 - w.low_cm1)]


def _joint_design(x: np.ndarray, comps: Sequence[_Component], baseline_degree: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (component columns first, then local baselines) and the window mask."""
    lo_x, hi_x = x[0], x[-1]
    windows = []
    for c in comps:
        for w in _component_windows(c, lo_x, hi_x):
            windows.append((max(w.low_cm1, lo_x), min(w.high_cm1, hi_x)))
    mask = np.zeros(x.size, dtype=bool)
    columns = [c.template(x, 0.0) for c in comps]
    for lo, hi in _merge(windows):
        mask |= (x >= lo) & (x <= hi)
        degree = min(baseline_degree + int((hi - lo) // WIDE_WINDOW_CM1), MAX_WINDOW_DEGREE)
        columns.extend(_poly_columns(x, lo, hi, degree))
    return np.column_stack(columns), mask


def _serial_inflation_pieces(x: np.ndarray, resid: np.ndarray) -> float:
    """:func:`serial_inflation` over the contiguous pieces of a masked residual."""
    gaps = np.flatnonzero(np.diff(x) > 2.0 * float(np.median(np.diff(x))))
    pieces = np.split(resid - resid.mean(), gaps + 1)
    num = sum(float(p[1:] @ p[:-1]) for p in pieces if p.size > 2)
    den = sum(float(p @ p) for p in pieces)
    rho = min(max(num / den, 0.0), MAX_AUTOCORRELATION) if den > 0 else 0.0
    return math.sqrt((1.0 + rho) / (1.0 - rho))


@dataclass(frozen=True)
class _JointFit:
    scales: np.ndarray
    sigma_raw: np.ndarray  # from the residual, white-noise assumption
    inflation: float
    explained: np.ndarray  # per component: share of the window signal it explains
    residual: np.ndarray  # on the mask
    mask: np.ndarray


def _joint_fit(x: np.ndarray, y: np.ndarray, comps: Sequence[_Component],
               baseline_degree: int) -> _JointFit:
    """Joint linear fit of the component templates with local baselines."""
    design, mask = _joint_design(x, comps, baseline_degree)
    design, target = design[mask], y[mask]
    if design.shape[0] <= design.shape[1]:
        raise InputError(f"template screen has {design.shape[0]} points for "
                         f"{design.shape[1]} unknowns", source="screen")
    coef, cov, resid = _lstsq(design, target)
    k = len(comps)
    xm = x[mask]
    sig = np.sqrt(np.maximum(np.diag(cov)[:k], 0.0))
    explained = np.zeros(k)
    for j, c in enumerate(comps):
        if not coef[j] > DETECTION_Z * sig[j]:
            continue  # only needed for components significant before the serial inflation
        own = np.zeros(xm.size, dtype=bool)
        for w in _component_windows(c, x[0], x[-1]):
            own |= (xm >= w.low_cm1) & (xm <= w.high_cm1)
        keep = [i for i in range(design.shape[1]) if i != j]
        _, _, resid_wo = _lstsq(design[:, keep], target)
        rss_wo = float(resid_wo[own] @ resid_wo[own])
        explained[j] = 1.0 - float(resid[own] @ resid[own]) / rss_wo if rss_wo > 0 else 0.0
    return _JointFit(coef[:k], sig, _serial_inflation_pieces(xm, resid), explained, resid, mask)


def _batched_fit(columns: np.ndarray, base: np.ndarray, y: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``y ≈ a·column_s + base @ c`` for every candidate column ``s`` at once.

    Returns the scale ``a`` and the residual sum of squares per candidate (shape (S,)).
    """
    s_count = columns.shape[0]
    design = np.concatenate([columns[:, :, None],
                             np.broadcast_to(base[None], (s_count,) + base.shape)], axis=2)
    gram = np.einsum("snp,snq->spq", design, design)
    rhs = np.einsum("snp,n->sp", design, y)
    coef = np.linalg.solve(gram + 1e-12 * np.eye(gram.shape[1]) * gram.max(), rhs[..., None])
    coef = coef[..., 0]
    rss = float(y @ y) - np.einsum("sp,sp->s", coef, rhs)
    return coef[:, 0], rss


def _window_check(x: np.ndarray, y_w: np.ndarray, comp: _Component, w: _Window, scale: float
                  ) -> tuple[bool | None, str]:
    """Does window ``w`` show ``comp`` at the fitted scale? None: not visible enough to tell."""
    inside = (x >= w.low_cm1) & (x <= w.high_cm1)
    if inside.sum() < 8:
        return None, f"{w.label}: too few points"
    xw, yw = x[inside], y_w[inside]
    base = np.column_stack(_poly_columns(xw, xw[0], xw[-1], 2))
    t0 = comp.template(xw, 0.0)
    # could the window show the component at the jointly fitted scale? (local fit at shift 0,
    # σ from the local residual, inflated for serial correlation)
    _, cov0, resid0 = _lstsq(np.column_stack([t0, base]), yw)
    _, _, resid_base = _lstsq(base, yw)
    share = 1.0 - float(resid0 @ resid0) / max(float(resid_base @ resid_base), 1e-300)
    sigma_raw = math.sqrt(max(float(cov0[0, 0]), 0.0))
    sigma0 = sigma_raw * serial_inflation(resid0)
    visible = sigma_raw > 0 and (scale / sigma0 >= VISIBLE_SIGMA or (
        scale / sigma_raw >= VISIBLE_SIGMA and share >= EXPLAINED_MIN))
    if not visible:
        return None, f"{w.label}: too weak to check"
    shifts = np.arange(-SHIFT_SEARCH_CM1, SHIFT_SEARCH_CM1 + 0.5 * SHIFT_STEP_CM1, SHIFT_STEP_CM1)
    columns = comp.template(xw[None, :] - shifts[:, None], 0.0)
    a, rss = _batched_fit(np.broadcast_to(columns, (shifts.size, xw.size)), base, yw)
    rss = np.where(a > 0, rss, np.inf)
    if not np.isfinite(rss).any():
        return False, f"{w.label}: not seen (no positive band)"
    best = int(np.argmin(rss))
    shift, a_w = float(shifts[best]), float(a[best])
    # is the window dominated by structure the template does not explain? White noise is
    # estimated from point-to-point differences; the structure left after the template counts
    # only when it is significant (3σ of a χ² with n - p degrees of freedom)
    diffs = np.diff(yw)
    noise2 = (1.4826 * float(np.median(np.abs(diffs - np.median(diffs))))) ** 2 / 2.0
    dof = yw.size - base.shape[1] - 1
    left = float(rss[best]) - dof * noise2
    explained = float(resid_base @ resid_base) - float(rss[best])
    share_best = explained / (explained + left) if left > 0 else 1.0
    dominated = left > 3.0 * math.sqrt(2.0 * dof) * noise2 and share_best < WINDOW_SHARE_MIN
    if abs(shift) > w.shift_tolerance_cm1:
        return False, (f"{w.label}: best match shifted by {shift:+.0f} cm⁻¹ "
                       f"(tolerance ±{w.shift_tolerance_cm1:g})")
    if a_w < PATTERN_MIN_FRACTION * scale:
        return False, f"{w.label}: {a_w / scale:.0%} of the expected strength"
    if dominated:
        return False, (f"{w.label}: the template explains only {share_best:.0%} of the "
                       "structure there (other absorption dominates the window)")
    if w.broad_min_fwhm_cm1 > 0:
        fwhm = _best_single_width(xw, yw, w.centre_cm1 + shift, base)
        if fwhm < w.broad_min_fwhm_cm1:
            return False, (f"{w.label}: the band there is {fwhm:.0f} cm⁻¹ wide, narrower than "
                           f"the {w.broad_min_fwhm_cm1:g} cm⁻¹ minimum of this broad band")
    return True, f"{w.label}: seen ({a_w / scale:.0%} of expected, shift {shift:+.0f} cm⁻¹)"


def _best_single_width(x: np.ndarray, y: np.ndarray, centre: float, base: np.ndarray) -> float:
    """FWHM of the single pseudo-Voigt band (centre ±15 cm⁻¹) that best fits ``y`` over a
    quadratic baseline (grid search; variable projection)."""
    widths = np.geomspace(4.0, 300.0, 24)
    centres = np.linspace(centre - 15.0, centre + 15.0, 7)
    fw, cc = np.meshgrid(widths, centres, indexing="ij")
    columns = _unit_height_pv(x[None, :], cc.ravel()[:, None], fw.ravel()[:, None])
    a, rss = _batched_fit(columns, base, y)
    rss = np.where(a > 0, rss, np.inf)
    if not np.isfinite(rss).any():
        return math.nan
    return float(fw.ravel()[int(np.argmin(rss))])


def _test_of(comp: _Component, scale: float, sigma: float, detected: bool | None,
             reference_height: float, pattern_ok: bool | None, pattern: str,
             markers: tuple[float, ...]) -> SpeciesTest:
    height = scale * comp.height_factor
    hs = sigma * comp.height_factor
    z = height / hs if hs > 0 else math.nan
    lod = DETECTION_Z * hs
    ref = reference_height if reference_height > 0 else math.nan
    return SpeciesTest(species=comp.name, detected=detected,
                       strongest_band_cm1=comp.strongest_cm1, height=height, height_sigma=hs,
                       z=float(z), detection_limit=lod, relative_height=height / ref,
                       relative_detection_limit=lod / ref, markers_cm1=markers,
                       pattern_ok=pattern_ok, pattern=pattern, form=comp.form,
                       provenance=comp.provenance)


@dataclass(frozen=True)
class _Screen:
    tests: dict[str, SpeciesTest]
    model: np.ndarray  # fitted absorbance of the detected components (full axis)
    explained: dict[str, np.ndarray]  # per detected component, on the full axis


def screen(
    spectrum: Spectrum,
    components: Sequence[str] = LIBRARY_COMPONENTS + TEMPLATE_COMPONENTS,
    *,
    library: BandLibrary | None = None,
    templates: Mapping[str, ReferenceTemplate] | None = None,
    subtract: np.ndarray | None = None,
    reference_height: float = math.nan,
    baseline_degree: int = 2,
    exclude_cm1: Sequence[tuple[float, float]] = (),
) -> _Screen:
    """Joint template screen with pattern checks (see the module docstring).

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance (transmittance converted).
    components : sequence of str
        Library species and/or reference-template names.
    library : BandLibrary, optional
    templates : mapping, optional
        Reference templates (default: :func:`irkit.templates.load_templates`).
    subtract : ndarray, shape (n,), optional
        Known contribution to remove first (the fitted anion bands).
    reference_height : float
        Height the relative numbers refer to.
    baseline_degree : int
        Baseline polynomial degree per merged window (more for wide windows).
    exclude_cm1 : sequence of (float, float)
        Ranges whose marker windows are not used (e.g. the anion regions before the anion
        bands are known).

    Returns
    -------
    _Screen
        ``tests`` (component → :class:`SpeciesTest`), ``model`` (fitted absorbance of the
        detected components on the spectrum's axis) and ``explained`` (detected component →
        its fitted absorbance).

    Examples
    --------
    A constructed isopropanol spectrum without borate (strongest isopropanol band: 0.15 at
    950 cm⁻¹), screened for isopropanol and water:

    >>> from irkit.assess import screen
    >>> from irkit.synthetic import synthesize
    >>> solvent = synthesize(4, borate=0.0, isopropanol=0.3).spectrum
    >>> result = screen(solvent, ("isopropanol", "water"), reference_height=0.15)
    >>> ipa, water = result.tests["isopropanol"], result.tests["water"]
    >>> ipa.detected, ipa.strongest_band_cm1, round(ipa.height, 2), ipa.z > 100   # cm⁻¹, absorbance
    (True, 950.0, 0.15, True)
    >>> water.detected, water.z < 5
    (False, True)
    >>> list(result.explained), round(float(result.model.max()), 2)
    (['isopropanol'], 0.15)
    """
    lib = library or load_band_library()
    tmpl = load_templates() if templates is None else templates
    a = to_absorbance(spectrum)
    x = a.wavenumber_cm1
    y = a.values - (subtract if subtract is not None else 0.0)
    comps = [_cached(c, x) for c in _components(components, lib, tmpl)]
    if exclude_cm1:
        comps = [replace(c, windows=tuple(
            w for w in c.windows
            if not any(w.low_cm1 < hi and w.high_cm1 > lo for lo, hi in exclude_cm1)))
            for c in comps]
    lo_x, hi_x = x[0], x[-1]
    tests: dict[str, SpeciesTest] = {}
    active = []
    for c in comps:
        if _component_windows(c, lo_x, hi_x):
            active.append(c)
        else:
            tests[c.name] = _test_of(c, math.nan, math.nan, None, reference_height, None,
                                     "no marker window inside the spectrum", ())
    for _ in range(MAX_SCREEN_ROUNDS):
        if not active:
            break
        jf = _joint_fit(x, y, active, baseline_degree)
        fitted = {c.name: s * c.template(x, 0.0) for c, s in zip(active, jf.scales, strict=True)}
        newly = []
        results = {}
        for j, c in enumerate(active):
            s, sg_raw = float(jf.scales[j]), float(jf.sigma_raw[j])
            sg = sg_raw * jf.inflation
            markers = tuple(w.centre_cm1 if math.isfinite(w.centre_cm1)
                            else 0.5 * (w.low_cm1 + w.high_cm1)
                            for w in _component_windows(c, lo_x, hi_x))
            z, z_raw = (s / sg if sg > 0 else math.nan), (s / sg_raw if sg_raw > 0 else math.nan)
            significant = z > DETECTION_Z or (z_raw > DETECTION_Z
                                              and jf.explained[j] >= EXPLAINED_MIN)
            if not significant:
                results[c.name] = _test_of(c, s, sg, False, reference_height, None, "", markers)
                continue
            floor = MIN_RELATIVE_HEIGHT.get(c.name, MIN_RELATIVE_HEIGHT["default"])
            relative = s * c.height_factor / reference_height if reference_height > 0 else math.inf
            if relative < floor:
                results[c.name] = _test_of(
                    c, s, sg, False, reference_height, None,
                    f"significant but {relative:.2%} of the reference band (< {floor:.1%}: within "
                    "the template misfit of real spectra)", markers)
                continue
            others = sum((v for n, v in fitted.items() if n != c.name), np.zeros_like(x))
            y_w = y - others
            seen, failures = [], []
            checked = 0
            for w in _component_windows(c, lo_x, hi_x):
                ok, text = _window_check(x, y_w, c, w, s)
                if ok is False and w.required:
                    failures.append(text)
                elif ok is not None:
                    seen.append(text)
                    checked += int(ok and w.required)
            required = sum(1 for w in _component_windows(c, lo_x, hi_x) if w.required)
            if not failures and checked < min(required, 1):
                failures.append("none of its required marker windows strong enough to check")
            lead = (f"explains {jf.explained[j]:.0%} of its windows' signal; "
                    if not z > DETECTION_Z else "")
            if failures:
                newly.append(c.name)
                results[c.name] = _test_of(c, s, sg, False, reference_height, False,
                                           "pattern not matched: " + "; ".join(failures),
                                           markers)
            else:
                results[c.name] = _test_of(c, s, sg, True, reference_height, True,
                                           lead + ("; ".join(seen)
                                                   or "no window strong enough to check"),
                                           markers)
        tests.update(results)
        if not newly:
            break
        active = [c for c in active if c.name not in newly]
    detected = [c for c in comps if tests.get(c.name) and tests[c.name].detected]
    explained = {}
    total = np.zeros_like(x)
    for c in detected:
        t = tests[c.name]
        part = (t.height / c.height_factor) * c.template(x, 0.0)
        explained[c.name] = part
        total = total + part
    return _Screen(tests, total, explained)


def template_test(
    spectrum: Spectrum,
    species: Sequence[str] = tuple(TESTED_SPECIES.values()),
    *,
    library: BandLibrary | None = None,
    templates: Mapping[str, ReferenceTemplate] | None = None,
    subtract: np.ndarray | None = None,
    reference_height: float = math.nan,
    baseline_degree: int = 2,
) -> dict[str, SpeciesTest]:
    """Joint screen of several components; ``component → SpeciesTest`` (see :func:`screen`).

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance (transmittance converted).
    species : sequence of str
        Library species and/or reference-template names (default: the flagged admixtures,
        :data:`TESTED_SPECIES`).
    library : BandLibrary, optional
        Band priors (default: the bundled library).
    templates : mapping, optional
        Reference templates (default: :func:`irkit.templates.load_templates`).
    subtract : ndarray, shape (n,), optional
        Known contribution to remove first (the fitted anion bands).
    reference_height : float
        Height (absorbance) the relative numbers refer to.
    baseline_degree : int
        Baseline polynomial degree per merged window.

    Returns
    -------
    dict of str to SpeciesTest
        One test per component, in the order given.

    Examples
    --------
    >>> from irkit.assess import template_test
    >>> from irkit.synthetic import synthesize
    >>> solvent = synthesize(4, borate=0.0, isopropanol=0.3).spectrum
    >>> tests = template_test(solvent, reference_height=0.15)
    >>> {name: test.detected for name, test in tests.items()}
    {'isopropanol': True, 'water': False, 'B-O': False, 'PVDF': False}
    >>> round(tests["isopropanol"].relative_height, 1)       # of the 0.15 reference height
    1.0
    """
    return screen(spectrum, species, library=library, templates=templates, subtract=subtract,
                  reference_height=reference_height, baseline_degree=baseline_degree).tests


def admixture_model(wavenumber_cm1: np.ndarray, tests: Mapping[str, SpeciesTest],
                    library: BandLibrary | None = None,
                    templates: Mapping[str, ReferenceTemplate] | None = None) -> np.ndarray:
    """Absorbance of the tested components as fitted by the screen (sum over ``tests``).

    Parameters
    ----------
    wavenumber_cm1 : ndarray, shape (n,)
        Axis to evaluate on, cm⁻¹.
    tests : mapping of str to SpeciesTest
        Screen results (:func:`template_test`); components not judged (``detected`` None) or
        without a finite height are left out.
    library : BandLibrary, optional
        Band priors (default: the bundled library).
    templates : mapping, optional
        Reference templates (default: :func:`irkit.templates.load_templates`).

    Returns
    -------
    ndarray, shape (n,)
        Summed fitted absorbance of the components.

    Examples
    --------
    >>> from irkit.assess import admixture_model, template_test
    >>> from irkit.synthetic import synthesize
    >>> solvent = synthesize(4, borate=0.0, isopropanol=0.3).spectrum
    >>> tests = template_test(solvent, ("isopropanol",), reference_height=0.15)
    >>> model = admixture_model(solvent.wavenumber_cm1, tests)
    >>> float(solvent.wavenumber_cm1[model.argmax()]), round(float(model.max()), 2)   # cm⁻¹, absorbance
    (950.0, 0.15)
    """
    lib = library or load_band_library()
    tmpl = load_templates() if templates is None else templates
    x = np.asarray(wavenumber_cm1, dtype=float)
    total = np.zeros_like(x)
    for name, test in tests.items():
        if test.detected is None or not np.isfinite(test.height):
            continue
        comp = _components([name], lib, tmpl)[0]
        total += test.height / comp.height_factor * comp.template(x, 0.0)
    return total


# --------------------------------------------------------------------------- organic


def _organic(x: np.ndarray, resid_y: np.ndarray, explained: np.ndarray, strongest: float
             ) -> OrganicTest:
    """C–H / C=O absorption left in ``resid_y`` (see the module docstring)."""
    bands: dict[str, dict[str, float]] = {}
    seen = []
    covered = False
    for label, (lo, hi, flo, fhi) in ORGANIC_WINDOWS.items():
        inside = (x >= flo) & (x <= fhi)
        if not (x[0] <= lo and x[-1] >= hi) or inside.sum() < 20:
            continue
        covered = True
        xw, yw = x[inside], resid_y[inside]
        centres = np.arange(lo, hi + 1e-9, ORGANIC_BASIS_STEP_CM1)
        basis = np.column_stack([_unit_height_pv(xw, float(c), ORGANIC_BASIS_FWHM_CM1)
                                 for c in centres])
        base = np.column_stack(_poly_columns(xw, xw[0], xw[-1], 2))
        design = np.column_stack([basis, base])
        coef, cov, resid = _lstsq(design, yw)
        infl = serial_inflation(resid)
        _, _, resid_base = _lstsq(base, yw)
        share = 1.0 - float(resid @ resid) / max(float(resid_base @ resid_base), 1e-300)
        signal = basis @ coef[:centres.size]
        band = (xw >= lo) & (xw <= hi)
        j = int(np.argmax(np.where(band, signal, -np.inf)))
        g = basis[j]
        height = float(signal[j])
        sigma_raw = math.sqrt(max(float(g @ cov[:centres.size, :centres.size] @ g), 0.0))
        z_raw = height / sigma_raw if sigma_raw > 0 else math.nan
        z = z_raw / infl
        explained_h = float(np.max(explained[inside][band])) if explained.size else 0.0
        rel = height / strongest if strongest > 0 else math.nan
        bands[label] = {"position_cm1": float(xw[j]), "height": height, "z": float(z),
                        "relative": float(rel), "explained": explained_h,
                        "share": float(share)}
        significant = z > DETECTION_Z or (z_raw > DETECTION_Z and share >= EXPLAINED_MIN)
        if (significant and rel >= ORGANIC_MIN_RELATIVE
                and height >= ORGANIC_UNEXPLAINED_FRACTION * explained_h):
            seen.append(f"{label} at {xw[j]:.0f} cm⁻¹ ({rel:.0%} of the strongest band)")
    return OrganicTest(bool(seen) if covered else None, tuple(seen), bands)


# --------------------------------------------------------------------------- borate


def _group_significance(fit: RegionFit, group: Sequence[str]) -> tuple[float, float, float]:
    """Significance of a group of fitted bands as one shape: the data are refitted linearly
    with the group's fitted profile sum as one column, every other fitted band as its own
    column and the fit's baseline polynomial. Returns (z with serial inflation, white-noise z,
    share of the signal the group explains). Robust where the non-linear fit's covariance is
    degenerate (two bands on one spot) or a band went to zero."""
    x, y = fit.wavenumber_cm1, fit.data
    inside = [c for c, b in zip(fit.components, fit.bands, strict=True) if b.species in group]
    others = [c for c, b in zip(fit.components, fit.bands, strict=True)
              if b.species not in group and np.any(c)]
    if not inside:
        return math.nan, math.nan, 0.0
    column = sum(inside, np.zeros_like(x))
    if not np.any(column):
        return 0.0, 0.0, 0.0
    degree = max(sum(1 for p in fit.parameters if p.name.startswith("bl_c")) - 1, 0)
    base = _poly_columns(x, x[0], x[-1], degree)
    coef, cov, resid = _lstsq(np.column_stack([column, *others, *base]), y)
    _, _, resid_without = _lstsq(np.column_stack([*others, *base]), y)
    sigma_raw = math.sqrt(max(float(cov[0, 0]), 0.0))
    z_raw = float(coef[0]) / sigma_raw if sigma_raw > 0 else math.nan
    share = 1.0 - float(resid @ resid) / max(float(resid_without @ resid_without), 1e-300)
    return z_raw / serial_inflation(resid), z_raw, share


def _significant(z: float, z_raw: float, share: float) -> bool:
    """z above :data:`DETECTION_Z` after the serial inflation — or before it, when the band
    explains at least :data:`EXPLAINED_MIN` of the signal (strong band, approximate shape)."""
    return bool(z > DETECTION_Z or (z_raw > DETECTION_Z and share >= EXPLAINED_MIN))


def _stretch_evidence(fit: RegionFit) -> tuple[float, bool, float, float]:
    """(z, significant, envelope height, area-weighted centre) of the anion ν(B–H) bands."""
    idx = [i for i, b in enumerate(fit.bands) if b.species in ANION_SPECIES]
    z, z_raw, share = _group_significance(fit, ANION_SPECIES)
    area = float(sum(fit.bands[i].area for i in idx))
    envelope = sum((fit.components[i] for i in idx), np.zeros_like(fit.wavenumber_cm1))
    height = float(envelope.max()) if envelope.size else 0.0
    centre = (sum(fit.bands[i].area * fit.bands[i].center_cm1 for i in idx) / area
              if area > 0 else math.nan)
    return float(z), _significant(z, z_raw, share), height, float(centre)


def _bend_evidence(fit: RegionFit, species: str) -> tuple[float, bool, float]:
    """(z, significant, height of the strongest band) of a species' bending/cage bands."""
    idx = [i for i, b in enumerate(fit.bands) if b.species == species]
    if not idx:
        return math.nan, False, 0.0
    z, z_raw, share = _group_significance(fit, (species,))
    height = max(float(fit.components[i].max()) for i in idx)
    return float(z), _significant(z, z_raw, share), height


def _stretch_species_z(fit: RegionFit, species: str) -> bool:
    return _significant(*_group_significance(fit, (species,)))


def _borate(stretch: RegionFit, bend: RegionFit | None, strongest: float) -> BorateEvidence:
    z, z_ok, height, centre = _stretch_evidence(stretch)
    dominance = height / strongest if strongest > 0 else math.nan
    bend_z: dict[str, float] = {}
    ratio: dict[str, float] = {}
    present_bend = {}
    if bend is not None:
        for sp in ANION_SPECIES:
            bz, b_ok, bh = _bend_evidence(bend, sp)
            bend_z[sp] = bz
            ratio[sp] = bh / height if height > 0 else math.nan
            present_bend[sp] = bool(b_ok
                                    and BEND_TO_STRETCH[0] <= ratio[sp] <= BEND_TO_STRETCH[1])
    stretch_ok = bool(z_ok and dominance >= DOMINANCE_MIN)
    if not stretch_ok:
        why = (f"ν(B–H) area not significant (z = {z:.1f})" if not z_ok else
               f"ν(B–H) envelope is {dominance:.1%} of the strongest band (< "
               f"{DOMINANCE_MIN:.0%}): not a closo-borate spectrum")
        return BorateEvidence(False, None, False, False, z, height, centre, dominance,
                              bend is not None, bend_z, ratio, "no closo-borate: " + why)
    if bend is None:
        b12 = _stretch_species_z(stretch, "B12H12")
        b10 = _stretch_species_z(stretch, "B10H10")
        reason = ("closo-borate from ν(B–H) only (bending region not covered): "
                  f"z = {z:.0f}, {dominance:.0%} of the strongest band")
    else:
        b12, b10 = present_bend["B12H12"], present_bend["B10H10"]
        if not (b12 or b10):
            return BorateEvidence(
                False, None, False, False, z, height, centre, dominance, True, bend_z, ratio,
                "no closo-borate: a band at the ν(B–H) position but no δ(B–H)/cage bands "
                f"(z B12H12 {bend_z['B12H12']:.1f}, B10H10 {bend_z['B10H10']:.1f}; height "
                f"ratios {ratio['B12H12']:.2f}/{ratio['B10H10']:.2f} must lie in "
                f"{BEND_TO_STRETCH[0]}–{BEND_TO_STRETCH[1]})")
        reason = (f"closo-borate: ν(B–H) z = {z:.0f} ({dominance:.0%} of the strongest band) "
                  "and bending bands of " + " and ".join(
                      sp for sp in ANION_SPECIES if present_bend[sp]))
    if not (b12 or b10):  # stretch-only: envelope present but neither decomposition significant
        b12 = True if centre >= 2470 else b12
        b10 = not b12
    anion = "both" if b12 and b10 else "B12H12" if b12 else "B10H10"
    return BorateEvidence(True, anion, b12, b10, z, height, centre, dominance, bend is not None,
                          bend_z, ratio, reason)


# --------------------------------------------------------------------------- assess


def _precheck(a: Spectrum, low: float, high: float, lib: BandLibrary
              ) -> tuple[float, float, float]:
    """Quick stretching evidence without a non-linear fit: the anion bands at their prior widths
    with centres on a grid across their prior windows, amplitudes and a quadratic baseline
    solved linearly (variable projection); (z, envelope height, centre) of the best grid point.
    """
    import itertools

    part = a.crop(low, high)
    x, y = part.wavenumber_cm1, part.values
    bands = lib.select(ANION_SPECIES, low_cm1=low, high_cm1=high)
    base = np.array(_poly_columns(x, x[0], x[-1], 2))
    axes = [np.linspace(b.position_cm1 - b.bound_cm1, b.position_cm1 + b.bound_cm1,
                        PRECHECK_GRID) for b in bands]
    prof = [_unit_height_pv(x[None, :], ax[:, None], b.fwhm_cm1)
            for ax, b in zip(axes, bands, strict=True)]
    combos = np.array(list(itertools.product(range(PRECHECK_GRID), repeat=len(bands))))
    phi = np.stack([prof[j][combos[:, j]] for j in range(len(bands))], axis=1)
    phi = np.concatenate([phi, np.broadcast_to(base[None], (len(combos),) + base.shape)], axis=1)
    gram = phi @ np.transpose(phi, (0, 2, 1))
    rhs = phi @ y
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    chi2 = float(y @ y) - np.einsum("sp,sp->s", coef, rhs)
    chi2[(coef[:, :len(bands)] < 0).any(axis=1)] = np.inf
    if not np.isfinite(chi2).any():
        return 0.0, 0.0, math.nan
    best = int(np.argmin(chi2))
    k = len(bands)
    c, g = coef[best], gram[best]
    resid = y - c @ phi[best]
    s2 = float(resid @ resid) / max(x.size - g.shape[0], 1)
    cov = np.linalg.pinv(g) * s2
    # heights are the coefficients (unit-height profiles): z of the summed heights
    total = float(c[:k].sum())
    sigma = math.sqrt(max(float(cov[:k, :k].sum()), 0.0)) * serial_inflation(resid)
    envelope = c[:k] @ phi[best, :k]
    centres = np.array([axes[j][combos[best, j]] for j in range(k)])
    centre = float(np.sum(c[:k] * centres) / total) if total > 0 else math.nan
    return (total / sigma if sigma > 0 else math.nan), float(envelope.max()), centre


def _protonation(a: Spectrum, stretch: RegionFit, lib: BandLibrary, reference: float,
                 options: Mapping[str, object]) -> tuple[SpeciesTest, RegionFit | None]:
    """The shifted ν(B–H) band test: a linear pre-test on the stretching fit (fitted anion band
    profiles with free amplitudes, the protonated band at its prior width on a grid across its
    prior window, quadratic baseline); the full refit with the extra band only when the
    pre-test reaches :data:`PROTONATION_PRECHECK_Z`."""
    prot_band = lib.get("protonated:nu_BH_shifted")
    x, y = stretch.wavenumber_cm1, stretch.data
    anion = [c for c, b in zip(stretch.components, stretch.bands, strict=True)
             if b.species in ANION_SPECIES]
    base = _poly_columns(x, x[0], x[-1], 2)
    best_z, best = -math.inf, (math.nan, math.nan, prot_band.position_cm1)
    for centre in np.linspace(prot_band.position_cm1 - prot_band.bound_cm1,
                              prot_band.position_cm1 + prot_band.bound_cm1, 5):
        col = _unit_height_pv(x, float(centre), prot_band.fwhm_cm1)
        coef, cov, resid = _lstsq(np.column_stack([col, *anion, *base]), y)
        sigma = math.sqrt(max(float(cov[0, 0]), 0.0)) * serial_inflation(resid)
        z = coef[0] / sigma if sigma > 0 else -math.inf
        if z > best_z:
            best_z, best = z, (float(coef[0]), sigma, float(centre))
    if not best_z >= PROTONATION_PRECHECK_Z:
        height, sigma, centre = best
        return SpeciesTest(
            species="protonated", detected=False, strongest_band_cm1=centre, height=height,
            height_sigma=sigma, z=float(best_z), detection_limit=DETECTION_Z * sigma,
            relative_height=height / reference,
            relative_detection_limit=DETECTION_Z * sigma / reference,
            markers_cm1=(prot_band.position_cm1,), pattern="linear pre-test only"), None
    anion_stretch = lib.select(ANION_SPECIES, low_cm1=stretch.low_cm1, high_cm1=stretch.high_cm1)
    prot_fit = fit_region(a, (stretch.low_cm1, stretch.high_cm1),
                          bands=(*anion_stretch, prot_band),
                          **{k: v for k, v in options.items() if k != "library"})
    pb = prot_fit.band(prot_band.label)
    sigma_area = pb.area_sigma * serial_inflation(prot_fit.residual)
    z = pb.area / sigma_area if sigma_area > 0 else math.nan
    height_sigma = pb.height * sigma_area / pb.area if pb.area > 0 else math.nan
    test = SpeciesTest(
        species="protonated", detected=bool(z > DETECTION_Z) and not pb.at_bound,
        strongest_band_cm1=pb.center_cm1, height=pb.height, height_sigma=height_sigma,
        z=float(z), detection_limit=DETECTION_Z * height_sigma,
        relative_height=pb.height / reference,
        relative_detection_limit=DETECTION_Z * height_sigma / reference,
        markers_cm1=(prot_band.position_cm1,), pattern="refit with the shifted band")
    return test, prot_fit


def _refit_without(a: Spectrum, model: np.ndarray, lib: BandLibrary,
                   options: Mapping[str, object]) -> RegionFit:
    """The bending fit of ``a`` minus ``model`` (recognised admixtures)."""
    corrected = make_spectrum(a.wavenumber_cm1, a.values - model, "absorbance", source=a.source,
                              metadata=dict(a.metadata))
    return fit_region(corrected, "bend", library=lib, **options)


def assess(
    spectrum: Spectrum,
    *,
    stretch: RegionFit | None = None,
    bend: RegionFit | None = None,
    library: BandLibrary | None = None,
    calibration: RatioCalibration = DEFAULT_RATIO_CALIBRATION,
    templates: Mapping[str, ReferenceTemplate] | None = None,
    fit_options: Mapping[str, object] | None = None,
) -> IRVerdict:
    """Judge a spectrum (see the module docstring for the rules).

    Parameters
    ----------
    spectrum : Spectrum
        Absorbance / transmittance spectrum covering at least the stretching region.
    stretch, bend : RegionFit, optional
        Fits already made. By default they are made here — only when a quick linear pre-check of
        the stretching region finds a plausible ν(B–H) band (:func:`_precheck`); the bending fit
        only if the spectrum covers 600–1200 cm⁻¹; the stretching fit starts at 2400 cm⁻¹ when
        atmospheric CO₂ is found.
    library : BandLibrary, optional
    calibration : RatioCalibration
        Area-per-mole calibration of the B10:B12 ratio.
    templates : mapping, optional
        Reference templates (default: the bundled ones).
    fit_options : mapping, optional
        Passed to :func:`irkit.fit.fit_region` for the fits made here (``shape``,
        ``shared_width``, ``baseline_degree``, ``subtract`` …).

    Returns
    -------
    IRVerdict
        ``to_dict()`` is the JSON of ``irkit fit --json`` (key ``verdict``).

    Raises
    ------
    InputError
        The spectrum does not cover the stretching region.

    Examples
    --------
    A constructed spectrum (``irkit.synthetic``) with both anions and isopropanol at 15 % of
    the B–H band:

    >>> from irkit.assess import assess
    >>> from irkit.synthetic import synthesize
    >>> verdict = assess(synthesize(3, isopropanol=0.15).spectrum)
    >>> verdict.borate_present, verdict.anion, verdict.anions_intact, verdict.contaminants
    (True, 'both', True, ('isopropanol',))

    The two anions' ν(B–H) bands can exchange labels within their priors, so the B10:B12 ratio
    is not reported, and the verdict says why:

    >>> verdict.ratio is None, verdict.to_dict()["b10_b12_ratio_reason"].startswith("not identified")
    (True, True)

    Without a borate the anion-dependent flags are not judged (None):

    >>> blank = assess(synthesize(4, borate=0.0, isopropanol=0.3).spectrum)
    >>> blank.borate_present, blank.anions_intact, blank.oxidation, blank.contaminants
    (False, None, None, ('isopropanol',))
    """
    lib = library or load_band_library()
    tmpl = load_templates() if templates is None else templates
    options = {"max_nfev": ASSESS_MAX_NFEV, **dict(fit_options or {})}
    a = to_absorbance(spectrum)
    x = a.wavenumber_cm1
    notes: list[str] = []
    if a.metadata.get("converted_from"):
        notes.append(f"values converted: {a.metadata['converted_from']}")
    low, high = REGIONS["stretch"]
    if not a.covers(low, high):
        raise InputError(
            f"spectrum ({x[0]:.0f}–{x[-1]:.0f} cm⁻¹) does not cover the stretch region "
            f"{low:g}–{high:g} cm⁻¹", source=spectrum.source)
    strongest = strongest_absorption(a)
    # atmospheric CO2 first: its R branch reaches into the default stretching region
    co2 = template_test(a, (CO2_SPECIES,), library=lib, templates=tmpl,
                        reference_height=strongest)[CO2_SPECIES]
    region: str | tuple[float, float] = "stretch"
    if co2.detected:
        region = STRETCH_WITHOUT_CO2
        notes.append("atmospheric CO₂ at 2349 cm⁻¹: stretching region starts at "
                     f"{STRETCH_WITHOUT_CO2[0]:g} cm⁻¹")
    if stretch is None:
        lo_r, hi_r = (low, high) if region == "stretch" else region
        pre_z, pre_height, pre_centre = _precheck(a, lo_r, hi_r, lib)
        if (pre_z > PRECHECK_FRACTION * DETECTION_Z
                and pre_height >= PRECHECK_FRACTION * DOMINANCE_MIN * strongest):
            stretch = fit_region(a, region, library=lib, **options)
            if region != "stretch":  # keep the region's name (batch columns, plots)
                stretch = replace(stretch, region="stretch")
    if stretch is None:
        dominance = pre_height / strongest if strongest > 0 else math.nan
        evidence = BorateEvidence(
            False, None, False, False, pre_z, pre_height, pre_centre, dominance,
            a.covers(600.0, 1200.0), {}, {},
            f"no closo-borate: no ν(B–H) band (pre-check: z = {pre_z:.1f}, "
            f"{dominance:.1%} of the strongest band; thresholds {DETECTION_Z:g} and "
            f"{DOMINANCE_MIN:.0%}); no band fits made")
        first = evidence
    else:
        if bend is None and a.covers(600.0, 1200.0):
            bend = fit_region(a, "bend", library=lib, **options)
        first = _borate(stretch, None, strongest)  # stretching evidence alone
    if bend is None and not a.covers(600.0, 1200.0):
        notes.append("bending region 600–1200 cm⁻¹ not covered: borate evidence from ν(B–H) only")
    components = [c for c in LIBRARY_COMPONENTS if c != CO2_SPECIES] + list(TEMPLATE_COMPONENTS)
    if co2.detected:
        components.append(CO2_SPECIES)
    ref_height = first.stretch_height if first.present else strongest
    bend_plain = bend
    if first.present and bend is not None:
        # pass A: admixtures seen outside the anion regions (e.g. methanol by its C–H bands)
        # are removed before the bending bands are fitted, so that a band such as methanol's
        # C–O (1033 cm⁻¹, inside the B10H10 δ window) is not taken for an anion band
        pass_a = screen(a, components, library=lib, templates=tmpl,
                        reference_height=ref_height, exclude_cm1=ANION_REGIONS_CM1)
        if np.any(pass_a.model):
            bend = _refit_without(a, pass_a.model, lib, options)
            notes.append("bending region fitted without the "
                         f"{', '.join(pass_a.explained)} bands seen outside the anion regions")
    fits = [f for f in (stretch, bend) if f is not None]
    anion_model = (sum(f.evaluate_bands(x, ANION_SPECIES) for f in fits)
                   if first.present else None)
    scr = screen(a, components, library=lib, templates=tmpl, subtract=anion_model,
                 reference_height=ref_height)
    found = [n for n, t in scr.tests.items() if t.detected]
    if first.present and bend is not None:
        # the bending bands judged without what the full screen recognised (PVDF 1076 on
        # B12H12 δ 1070, methanol 1033 on B10H10 δ 1015, CO2 667 on the cage bands)
        bend = _refit_without(a, scr.model, lib, options) if found else bend_plain
        if found:
            notes.append(f"bending region refitted without the {', '.join(found)} bands")
        fits = [f for f in (stretch, bend) if f is not None]
    evidence = _borate(stretch, bend, strongest) if first.present else first
    notes.append(evidence.reason)
    protonation = oxidation = None
    ratio = posterior = None
    ratio_reason = ""
    if evidence.present:
        protonation, prot_fit = _protonation(a, stretch, lib, evidence.stretch_height, options)
        if protonation.detected and prot_fit is not None:
            notes.append("protonated ν(B–H) band found: ratio from the fit that includes it")
            stretch = prot_fit
        oxidation = scr.tests[FLAG_SPECIES[IRFlag.OXIDATION]]
        if evidence.b12_present and evidence.b10_present:
            outcome = estimate_ratio(a, stretch, calibration, library=lib)
            ratio, posterior, ratio_reason = outcome.estimate, outcome.posterior, outcome.reason
            notes.extend(outcome.notes)
        else:
            ratio_reason = f"only {evidence.anion} present: no B10:B12 ratio"
        if ratio is None:
            notes.append(f"B10:B12 ratio: {ratio_reason}")
    else:
        ratio_reason = "no closo-borate: not judged"
        notes.append("anions_intact, oxidation, protonation and b10_b12_ratio not judged: no "
                     "closo-borate in the spectrum")
    # what the recognised components and the borate leave: other organic matter
    resid_y = a.values - scr.model
    if evidence.present and anion_model is not None:
        resid_y = resid_y - anion_model
    organic = _organic(x, resid_y, scr.model,
                       evidence.stretch_height if evidence.present else strongest)
    if oxidation is not None and oxidation.detected and organic.detected:
        notes.append("oxidation not judged: the B–O window (1350–1450 cm⁻¹) holds absorption, "
                     "but the unexplained organic matter seen ("
                     + "; ".join(organic.seen) + ") has C–H deformation bands there")
        oxidation = None
    water = _water(scr.tests)
    if scr.tests[FLAG_SPECIES[IRFlag.BINDER]].detected:
        notes.append("PVDF binder bands recognised (binder, not an impurity)")
    if co2.detected:
        notes.append("atmospheric CO₂ bands (background compensation), not a sample property")
    for name, t in scr.tests.items():
        if t.pattern_ok is False:
            notes.append(f"{name}: significant absorption but {t.pattern}")
    for fit in fits:
        notes.extend(f"{fit.region} fit: {w}" for w in fit.warnings)
    return IRVerdict(
        borate_present=evidence.present, anion=evidence.anion,
        anions_intact=(None if not evidence.present
                       else bool(protonation is not None and not protonation.detected)),
        b12_present=evidence.b12_present, b10_present=evidence.b10_present,
        protonation=protonation, ratio=ratio, ratio_reason=ratio_reason,
        isopropanol=scr.tests[FLAG_SPECIES[IRFlag.ISOPROPANOL]],
        methanol=scr.tests[FLAG_SPECIES[IRFlag.METHANOL]], water=water,
        oxidation=oxidation, binder=scr.tests[FLAG_SPECIES[IRFlag.BINDER]],
        other_organic=organic, co2=co2, evidence=evidence, notes=tuple(notes),
        ratio_posterior=posterior, fits=tuple(fits), source=str(spectrum.source))


def _water(tests: Mapping[str, SpeciesTest]) -> SpeciesTest:
    """One water flag from the liquid (library) and vapour (real template) components."""
    liquid, vapour = tests[FLAG_SPECIES[IRFlag.WATER]], tests[WATER_VAPOUR_TEMPLATE]
    forms = [t.form for t in (liquid, vapour) if t.detected]
    main = liquid if liquid.detected or not vapour.detected else vapour
    detected = bool(liquid.detected or vapour.detected) if (
        liquid.detected is not None or vapour.detected is not None) else None
    pattern = "; ".join(f"{t.form}: {t.pattern}" for t in (liquid, vapour) if t.pattern)
    return SpeciesTest(
        species=FLAG_SPECIES[IRFlag.WATER], detected=detected,
        strongest_band_cm1=main.strongest_band_cm1,
        height=main.height, height_sigma=main.height_sigma, z=main.z,
        detection_limit=main.detection_limit, relative_height=main.relative_height,
        relative_detection_limit=main.relative_detection_limit, markers_cm1=main.markers_cm1,
        pattern_ok=main.pattern_ok, pattern=pattern, form=" + ".join(forms),
        provenance="; ".join(t.provenance for t in (liquid, vapour)))
