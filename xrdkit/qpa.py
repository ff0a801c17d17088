"""Quantitative phase analysis with uncertainties a user can quote.

:func:`quantify` runs :func:`xrdkit.refine.refine` and then a small set of reasonable
alternative refinements of the same scan: background order ± 4 terms, an overall B refined or
held, per-phase broadening on or off, peak asymmetry on or off, the polarisation of the beam
moved by ±0.1, and — where the user asked for them — preferred orientation off and the
particle sizes of Brindley's microabsorption correction × or ÷ 1.5. Where the user gave
preferred orientation, the March–Dollase ratios are also refined once from their reciprocals
(χ² has a second minimum near 1/r) and the lower χ² is kept. The chosen model's weight fractions and lattice parameters
are reported; their **model-error** σ is the quadrature sum of the alternatives' shifts, each
shift weighted by how well the data allow that alternative:

``σ_model² = Σ_i w_i (x_i − x_0)²``,  ``w_i = exp(−max(0, χ²_i − χ²_0) / (2 γ χ²_ν,0))``

with χ²_ν,0 the chosen model's reduced χ² and γ its Bérar–Lelann serial-correlation factor
(:func:`xrdkit.refine.serial_correlation`): a Δχ² is judged on the effective number of
independent points. An alternative the data cannot tell from the chosen model counts fully;
one the data reject (brucite without its March–Dollase correction in CPD sample 2,
Δχ² ≈ 10⁵) counts for nothing. Adding shifts in quadrature treats each modelling choice as an
independent systematic effect, the usual budget of systematic errors.

The total ``weight_fraction_sigma`` is ``√(σ_stat² + σ_model²)`` with σ_stat the covariance
σ after the Bérar–Lelann correction (``weight_fraction_sigma_statistical``). Lattice σ's the
same way.

Whether an overall B per phase is refined by default (``refine_b_iso="auto"``):
:func:`b_iso_supported` — only when the scan reaches sinθ/λ ≥ 0.35 Å⁻¹ (2θ ≥ 65° with Cu
Kα), where ``exp(−2B s²)`` separates from the scale (B = 1 Å² changes the intensity by 22 %
between the first line and s = 0.35); below that B and the scale are nearly collinear and B
stays at the CIF's values (or 0).

Whether a phase's free atomic coordinates are refined by default (``refine_coordinates="auto"``,
:func:`coordinates_supported`; the coordinates and the outer-loop minimiser are in
:mod:`xrdkit.coordinates`): only when

* the scan reaches sinθ/λ ≥ 0.45 Å⁻¹ (2θ ≥ 88° with Cu Kα): the coordinates are fitted on top of
  the scale and the overall B (refined from 0.35), so they need more of the pattern than B —
  about twice the reflections (their number grows as s³: (0.45/0.35)³ ≈ 2.1);
* the phase holds ≥ 10 wt % (a weaker phase's intensities are too few to move atoms with, and
  its coordinates would soak up misfit from the others);
* it has 1–3 free coordinates after symmetry (hydrogen and a polar origin held): ZnO O z,
  corundum Al z and O x, brucite O z qualify, a low-symmetry salt with dozens does not (a
  structure refinement, not QPA, and its cost grows as the square of their number);

and the refined coordinates are kept only when χ² falls decisively — by more than
SELECT_IMPROVEMENT × 2γχ²_ν, the rule of the forward model selection — with no coordinate on its
±0.05 bound. Phases are taken in order of decreasing weight fraction. On CPD sample 2 the shipped
ZnO.cif (Wyckoff 1963, O at z = 0.345) moves to the modern wurtzite u ≈ 0.382. Each coordinate's σ
comes from the χ² curvature; the weight fractions' and lattice parameters' statistical σ's carry
it through their slopes along the coordinates (``σ² += sᵀ C s``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xrdkit.coordinates import (
    BOUND_FRACTIONAL,
    CoordinateFit,
    free_coordinates,
    matches,
    refine_coordinates,
)
from xrdkit.errors import ClosokitError, InputError, PhaseError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.refine import RefinementResult, RefineOptions, WarmStart, refine
from xrdkit.reflections import ReflectionList
from xrdkit.scans import Scan
from xrdkit.simulate import resolve_phases

__all__ = ["Alternative", "InternalStandardResult", "QuantifyResult", "internal_standard", "alternative_models", "b_iso_supported", "coordinates_supported",
           "quantify", "B_ISO_MIN_SIN_THETA_OVER_LAMBDA", "COORDINATES_MIN_SIN_THETA_OVER_LAMBDA"]

log = logging.getLogger(__name__)

#: Highest sinθ/λ (Å⁻¹) a scan must reach for an overall B to be refined by default.
B_ISO_MIN_SIN_THETA_OVER_LAMBDA = 0.35
#: Highest sinθ/λ (Å⁻¹) a scan must reach for free atomic coordinates to be refined by default.
COORDINATES_MIN_SIN_THETA_OVER_LAMBDA = 0.45
#: Smallest weight fraction of a phase whose coordinates are refined by default.
COORDINATES_MIN_WEIGHT_FRACTION = 0.10
#: Most free coordinates a phase may have for them to be refined by default.
MAX_FREE_COORDINATES = 3
#: Background terms added / removed in the alternative models.
BACKGROUND_STEP = 4
#: Fewest background terms an alternative uses.
MIN_BACKGROUND_TERMS = 3
#: Factor by which a user's particle sizes are taken to be uncertain (Brindley alternatives).
PARTICLE_SIZE_FACTOR = 1.5
#: Rounds of forward model selection: an alternative whose χ² is lower than the chosen model's
#: by more than SELECT_IMPROVEMENT × 2γχ²_ν replaces it.
MAX_SELECTION_ROUNDS = 3
SELECT_IMPROVEMENT = 5.0
#: Shift of the beam polarisation in the alternatives (GSAS-II's default 0.7 against ≈ 0.56
#: for a graphite monochromator: the value in a lab's instrument file is often a default).
POLARISATION_STEP = 0.1


@dataclass(frozen=True)
class Alternative:
    """One alternative refinement: a label, its options and its instrument.

    Attributes
    ----------
    label : str
        What differs from the chosen model (``"background_terms=4"`` …).
    options : RefineOptions
        The alternative's refinement options.
    instrument : Instrument
        The alternative's instrument.

    Examples
    --------
    Made by :func:`alternative_models` (which lists them):

    >>> from xrdkit.instrument import Instrument
    >>> from xrdkit.qpa import alternative_models
    >>> from xrdkit.refine import RefineOptions
    >>> first = alternative_models(RefineOptions(), Instrument())[0]
    >>> first.label, first.options.background_terms       # the default is 10 terms
    ('background_terms=6', 6)
    """

    label: str
    options: RefineOptions
    instrument: Instrument


@dataclass(frozen=True, repr=False)
class QuantifyResult(RefinementResult):
    """:class:`~xrdkit.refine.RefinementResult` of :func:`quantify` plus what happened to the
    free atomic coordinates.

    Attributes
    ----------
    coordinates : dict
        Phase name → :class:`~xrdkit.coordinates.CoordinateFit` for every phase whose
        coordinates were refined (``accepted`` says whether the refined values are used).
    coordinate_notes : dict
        Phase name → why its coordinates were not refined. The data and the weight fraction are
        judged before the structure is looked at, so a phase left out for those reasons is
        listed even if it has no free coordinate; one that passed them and has none is not.

    Examples
    --------
    Returned by :func:`quantify`; a scan that ends at 60° is too short for coordinates:

    >>> from xrdkit.data import example_file
    >>> from xrdkit.qpa import quantify
    >>> from xrdkit.readers import read_scan
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    >>> res = quantify(scan, ["nacro2", "al", "nbh-fcc"], model_error=False)
    >>> res.coordinates, res.coordinate_notes["nacro2"]
    ({}, 'scan reaches sinθ/λ = 0.324 < 0.45 Å⁻¹')
    >>> res.to_dict()["phases"][0]["coordinates"]["refined"]
    False
    """

    coordinates: dict[str, CoordinateFit] = field(default_factory=dict, repr=False)
    coordinate_notes: dict[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """:meth:`RefinementResult.to_dict` plus, per phase with free coordinates, a
        ``coordinates`` entry (:meth:`CoordinateFit.to_dict`, or ``refined: false`` and the
        reason)."""
        out = super().to_dict()
        for row in out["phases"]:
            fit = self.coordinates.get(row["name"])
            if fit is not None:
                row["coordinates"] = fit.to_dict()
            elif row["name"] in self.coordinate_notes:
                row["coordinates"] = {"refined": False, "reason": self.coordinate_notes[row["name"]], "sites": []}
        return out


def _s_max(scan: Scan, instrument: Instrument) -> float:
    return math.sin(math.radians(float(scan.two_theta_deg[-1])) / 2.0) / instrument.wavelength_angstrom


def b_iso_supported(scan: Scan, instrument: Instrument) -> bool:
    """Whether the scan reaches far enough in sinθ/λ for an overall B per phase (see module).

    Parameters
    ----------
    scan : Scan
        The data (its last 2θ decides).
    instrument : Instrument
        Its primary wavelength sets sinθ/λ.

    Returns
    -------
    bool
        sinθ/λ at the end of the scan ≥ :data:`B_ISO_MIN_SIN_THETA_OVER_LAMBDA` (0.35 Å⁻¹).

    Examples
    --------
    With Cu Kα1 (1.5406 Å), a scan to 60° reaches sin 30°/λ = 0.32 Å⁻¹, one to 80° 0.42 Å⁻¹:

    >>> from xrdkit.instrument import Instrument
    >>> from xrdkit.qpa import b_iso_supported
    >>> from xrdkit.scans import make_scan
    >>> to_60, to_80 = (make_scan([10.0, end], [100.0, 100.0]) for end in (60.0, 80.0))
    >>> b_iso_supported(to_60, Instrument()), b_iso_supported(to_80, Instrument())
    (False, True)
    """
    return _s_max(scan, instrument) >= B_ISO_MIN_SIN_THETA_OVER_LAMBDA


def coordinates_supported(scan: Scan, instrument: Instrument, weight_fraction: float | None,
                          n_free: int | None = None) -> tuple[bool, str]:
    """Whether a phase's free coordinates are refined by default, and why (see the module).

    Parameters
    ----------
    scan, instrument
        The data (its highest sinθ/λ decides).
    weight_fraction : float or None
        The phase's refined weight fraction (None: no structure, e.g. Pawley).
    n_free : int, optional
        Its number of free coordinates (None: judge the data and the weight fraction only).

    Returns
    -------
    supported : bool
        The coordinates are refined by default.
    reason : str
        ``"supported"``, or why not (sinθ/λ, weight fraction, number of coordinates).

    Examples
    --------
    A scan to 100° with Cu Kα1 reaches sin 50°/λ = 0.50 Å⁻¹ (≥ 0.45); a minor phase is left
    alone:

    >>> from xrdkit.instrument import Instrument
    >>> from xrdkit.qpa import coordinates_supported
    >>> from xrdkit.scans import make_scan
    >>> scan = make_scan([10.0, 100.0], [100.0, 100.0])
    >>> coordinates_supported(scan, Instrument(), 0.3, n_free=1)
    (True, 'supported')
    >>> coordinates_supported(scan, Instrument(), 0.05)
    (False, 'weight fraction 0.05 < 0.1')
    >>> coordinates_supported(make_scan([10.0, 60.0], [100.0, 100.0]), Instrument(), 0.3)
    (False, 'scan reaches sinθ/λ = 0.325 < 0.45 Å⁻¹')
    """
    s_max = _s_max(scan, instrument)
    if s_max < COORDINATES_MIN_SIN_THETA_OVER_LAMBDA:
        return False, f"scan reaches sinθ/λ = {s_max:.3f} < {COORDINATES_MIN_SIN_THETA_OVER_LAMBDA} Å⁻¹"
    if weight_fraction is None or weight_fraction < COORDINATES_MIN_WEIGHT_FRACTION:
        return False, f"weight fraction {weight_fraction} < {COORDINATES_MIN_WEIGHT_FRACTION}"
    if n_free == 0:
        return False, "no free coordinates"
    if n_free is not None and n_free > MAX_FREE_COORDINATES:
        return False, f"{n_free} free coordinates (> {MAX_FREE_COORDINATES})"
    return True, "supported"


def alternative_models(options: RefineOptions, instrument: Instrument) -> list[Alternative]:
    """The reasonable alternatives to ``options`` / ``instrument`` (see the module docstring).

    Parameters
    ----------
    options : RefineOptions
        The chosen model's options.
    instrument : Instrument
        The chosen model's instrument.

    Returns
    -------
    list of Alternative
        Background terms ± 4, each refinement switch flipped (overall B, phase broadening,
        asymmetry), preferred orientation off, particle sizes ×/÷ 1.5, and the polarisation
        (± 0.1 for a synchrotron; with ↔ without a graphite monochromator for a tube).

    Examples
    --------
    >>> from xrdkit.instrument import Instrument
    >>> from xrdkit.qpa import alternative_models
    >>> from xrdkit.refine import RefineOptions
    >>> for alt in alternative_models(RefineOptions(), Instrument()):
    ...     print(alt.label)
    background_terms=6
    background_terms=14
    refine_b_iso=True
    refine_phase_broadening=False
    refine_asymmetry=True
    monochromator_two_theta_deg=26.6
    """
    alts: list[Alternative] = []
    rep = dataclasses.replace
    n_bg = options.background_terms
    for n in (n_bg - BACKGROUND_STEP, n_bg + BACKGROUND_STEP):
        if n >= MIN_BACKGROUND_TERMS and n != n_bg:
            alts.append(Alternative(f"background_terms={n}", rep(options, background_terms=n), instrument))
    alts.append(Alternative(f"refine_b_iso={not options.refine_b_iso}",
                            rep(options, refine_b_iso=not options.refine_b_iso), instrument))
    alts.append(Alternative(f"refine_phase_broadening={not options.refine_phase_broadening}",
                            rep(options, refine_phase_broadening=not options.refine_phase_broadening), instrument))
    alts.append(Alternative(f"refine_asymmetry={not options.refine_asymmetry}",
                            rep(options, refine_asymmetry=not options.refine_asymmetry), instrument))
    if options.preferred_orientation:
        alts.append(Alternative("no preferred orientation", rep(options, preferred_orientation={}), instrument))
    if options.particle_size_um:
        # Brindley's τ rescales the weight fractions after the fit: χ² cannot judge it, so the
        # alternatives are the particle sizes' own uncertainty (× or ÷ PARTICLE_SIZE_FACTOR),
        # not the correction switched off (that spread was ≈ 6× the true errors in bench_qpa)
        for f in (1.0 / PARTICLE_SIZE_FACTOR, PARTICLE_SIZE_FACTOR):
            sizes = {k: v * f for k, v in options.particle_size_um.items()}
            alts.append(Alternative(f"particle sizes x{f:.2f}", rep(options, particle_size_um=sizes), instrument))
    if instrument.beam_polarisation is not None:
        for dp in (-POLARISATION_STEP, POLARISATION_STEP):
            p = min(1.0, max(0.5, instrument.beam_polarisation + dp))  # ≥ 0.5: unpolarised tube
            if p != instrument.beam_polarisation:
                alts.append(Alternative(f"beam_polarisation={p:.2f}", options, instrument.replace(beam_polarisation=p)))
    else:
        mono = 0.0 if instrument.monochromator_two_theta_deg else 26.6  # none ↔ graphite (002), Cu Kα
        alts.append(Alternative(f"monochromator_two_theta_deg={mono:g}", options,
                                instrument.replace(monochromator_two_theta_deg=mono)))
    return alts


def quantify(
    scan: Scan,
    phases: Sequence[object],
    *,
    instrument: Instrument | str = "miniflex600-cuka",
    options: RefineOptions | None = None,
    refine_b_iso: bool | str = "auto",
    refine_coordinates: bool | str = "auto",
    model_error: bool = True,
    library: object | None = None,
    densities_g_cm3: dict[str, float] | None = None,
    mass_attenuation_cm2_g: dict[str, float] | None = None,
) -> QuantifyResult:
    """Refine a scan for quantitative phase analysis and attach honest uncertainties.

    Parameters
    ----------
    scan : Scan
        The measured pattern (already cropped to the range to fit).
    phases : sequence
        Phase names, Phase objects, Structures or ReflectionLists. The free coordinates of a
        ReflectionList can be refined only when its name is in ``library`` and that structure
        gives its |F|² (``xrdkit fit`` passes the library it added the CIFs to).
    instrument : Instrument or str
        Instrument, preset name or instrument file.
    options : RefineOptions, optional
        The chosen model; its ``refine_b_iso`` is replaced according to ``refine_b_iso``.
    refine_b_iso : bool or "auto"
        Refine an overall B per phase; ``"auto"``: :func:`b_iso_supported`.
    refine_coordinates : bool or "auto"
        Refine the free atomic coordinates; ``"auto"``: per phase by
        :func:`coordinates_supported`, kept when χ² falls decisively (see the module); True:
        every phase with 1–``MAX_FREE_COORDINATES`` free coordinates, kept whenever χ² falls
        and no coordinate is on its bound; False: the CIF's coordinates.
    model_error : bool
        Run the alternative models and add their spread to the σ's (several more fits,
        each warm-started from the chosen one).
    library : PhaseLibrary, optional
        Where phase names are looked up.
    densities_g_cm3, mass_attenuation_cm2_g : dict, optional
        Per phase, for Brindley's correction (default: from the structures).

    Returns
    -------
    QuantifyResult
        The chosen model's result; ``weight_fraction_sigma`` and ``lattice_sigma`` are the
        total σ's, ``weight_fraction_sigma_statistical`` / ``lattice_sigma_statistical`` the
        covariance part (with the refined coordinates' uncertainty), ``weight_fraction_sigma_model``
        the model part, ``model_error`` lists every alternative with its χ², weight and weight
        fractions, ``coordinates`` the refined coordinates.

    Raises
    ------
    InputError, FitError
        From the chosen model's refinement (an alternative that fails is logged and skipped).

    Examples
    --------
    A bundled infiltrated electrode (constructed data, see :mod:`xrdkit.data`): NaCrO2, the Al
    current collector and fcc NBH, made with weight fractions 0.68, 0.20 and 0.12:

    >>> from xrdkit.data import example_file
    >>> from xrdkit.qpa import quantify
    >>> from xrdkit.readers import read_scan
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    >>> res = quantify(scan, ["nacro2", "al", "nbh-fcc"], instrument="miniflex600-cuka")
    >>> for p in res.phases:
    ...     print(f"{p.name:8s} {p.weight_fraction:.2f} ± {p.weight_fraction_sigma:.2f}")
    nacro2   0.69 ± 0.01
    al       0.19 ± 0.01
    nbh-fcc  0.12 ± 0.00

    The σ's are total σ's: the statistical part and the spread of the alternative models
    (``res.model_error`` lists them), added in quadrature:

    >>> nbh = res.phase("nbh-fcc")
    >>> abs(nbh.weight_fraction - 0.12) < 3 * nbh.weight_fraction_sigma
    True
    >>> bool(nbh.weight_fraction_sigma >= nbh.weight_fraction_sigma_statistical)
    True

    The scan ends at 60° (sinθ/λ = 0.32 Å⁻¹), too short for an overall B or free coordinates
    (``"auto"``): both stay at the CIFs' values.
    """
    inst = load_instrument(instrument)
    opts = options or RefineOptions()
    if library is None and any(isinstance(p, str) for p in phases):
        from xrdkit.phases import PhaseLibrary

        library = PhaseLibrary()  # one library: each CIF parsed once for the lists and the coordinates
    refls = resolve_phases(phases, inst, float(scan.two_theta_deg[-1]), library=library)
    b_flag = b_iso_supported(scan, inst) if refine_b_iso == "auto" else bool(refine_b_iso)
    opts = dataclasses.replace(opts, refine_b_iso=b_flag)
    kw = dict(densities_g_cm3=densities_g_cm3, mass_attenuation_cm2_g=mass_attenuation_cm2_g)
    base = refine(scan, refls, instrument=inst, options=opts, **kw)
    if opts.preferred_orientation:
        base = _march_dollase_restart(scan, refls, base, inst, opts, kw)
    fits: dict[str, CoordinateFit] = {}
    notes: dict[str, str] = {}
    if refine_coordinates:
        refls, base, fits, notes = _refine_coordinates(scan, phases, refls, base, inst, opts, kw, library,
                                                       forced=refine_coordinates is True)
    if model_error:
        base = _with_model_error(scan, refls, base, opts, inst, kw)
    base = _with_coordinate_sigma(base, [f for f in fits.values() if f.accepted])
    return QuantifyResult(**{f.name: getattr(base, f.name) for f in dataclasses.fields(RefinementResult) if f.init},
                          coordinates=fits, coordinate_notes=notes)


def _with_model_error(scan: Scan, refls: list, base: RefinementResult, opts: RefineOptions,
                      inst: Instrument, kw: dict) -> RefinementResult:
    """Forward selection among the alternative models, then their χ²-weighted spread as the
    model-error σ (see the module docstring)."""
    for round_ in range(MAX_SELECTION_ROUNDS + 1):
        scale = 2.0 * base.redchi * base.serial_correlation_factor
        fits = _alternative_fits(scan, refls, base, opts, inst, kw)
        best = min(fits, key=lambda af: af[1].chi2, default=None)
        if (round_ == MAX_SELECTION_ROUNDS or best is None
                or (base.chi2 - best[1].chi2) / scale < SELECT_IMPROVEMENT):
            break
        # an alternative the data clearly prefer becomes the chosen model (forward selection)
        log.info("%s: %s lowers χ² by %.0f (%.1f × 2γχ²_ν): taken as the model", scan.source,
                 best[0].label, base.chi2 - best[1].chi2, (base.chi2 - best[1].chi2) / scale)
        opts, inst, base = best[0].options, best[0].instrument, best[1]
    rows = []
    structural = [p for p in base.phases if p.weight_fraction is not None]
    var_wf = {p.name: 0.0 for p in structural}
    var_lat = {p.name: {k: 0.0 for k in p.lattice} for p in base.phases}
    for alt, res in fits:
        d_chi2 = res.chi2 - base.chi2
        weight = math.exp(-max(0.0, d_chi2) / scale) if scale > 0 else 0.0
        wfs = {p.name: p.weight_fraction for p in res.phases if p.weight_fraction is not None}
        rows.append({"label": alt.label, "chi2": res.chi2, "delta_chi2": d_chi2, "weight": weight,
                     "weight_fractions": wfs, "converged": res.converged})
        for p in structural:
            if p.name in wfs:
                var_wf[p.name] += weight * (wfs[p.name] - p.weight_fraction) ** 2
        for p in base.phases:
            other = res.phase(p.name)
            for k, v in p.lattice.items():
                var_lat[p.name][k] += weight * (other.lattice[k] - v) ** 2
    new_phases = []
    for p in base.phases:
        lat_sig = {k: float(math.hypot(s, math.sqrt(var_lat[p.name][k]))) for k, s in p.lattice_sigma.items()}
        if p.weight_fraction is None:
            new_phases.append(dataclasses.replace(p, lattice_sigma=lat_sig))
            continue
        s_model = math.sqrt(var_wf[p.name])
        new_phases.append(dataclasses.replace(
            p, weight_fraction_sigma=float(math.hypot(p.weight_fraction_sigma, s_model)),
            weight_fraction_sigma_model=s_model, lattice_sigma=lat_sig))
    info = {
        "method": "quadrature sum of alternative models' shifts, weight exp(-max(0, Δχ²)/(2 γ χ²_ν))",
        "chosen": {"options": _describe(opts), "beam_polarisation": inst.beam_polarisation,
                   "monochromator_two_theta_deg": inst.monochromator_two_theta_deg},
        "reduced_chi2": base.redchi,
        "serial_correlation_factor": base.serial_correlation_factor,
        "alternatives": rows,
    }
    log.info("%s: model error from %d alternatives", scan.source, len(rows))
    return dataclasses.replace(base, phases=tuple(new_phases), model_error=info)


def _march_dollase_restart(scan: Scan, refls: list, base: RefinementResult, inst: Instrument,
                           opts: RefineOptions, kw: dict) -> RefinementResult:
    """Refit with every March–Dollase ratio started at its reciprocal; keep the lower χ².

    χ²(r) along the March–Dollase ratio has two minima near r and 1/r when the texture is
    moderate: a 70/30 Al (111)-textured mixture (r = 0.70) started at r = 1 ended at r = 1.39
    with a 4 wt % error, and at r = 0.72 / 1.1 wt % from the other side (bench_qpa case 37).
    """
    ws = base.warm_start()
    theta = ws.theta.copy()
    flipped = False
    for i, lab in enumerate(ws.theta_labels):
        if lab.endswith("_march_dollase") and abs(theta[i] - 1.0) > 1e-3:
            theta[i] = 1.0 / theta[i]
            flipped = True
        elif lab.endswith("_march_dollase"):
            theta[i] = 0.7  # started at, and stayed at, random: try platelets/needles from 0.7
            flipped = True
    if not flipped:
        return base
    try:
        other = refine(scan, refls, instrument=inst, options=opts,
                       start=WarmStart(theta, ws.theta_labels), **kw)
    except ClosokitError as exc:
        log.info("%s: March–Dollase restart failed (%s)", scan.source, exc)
        return base
    if other.chi2 < base.chi2:
        log.info("%s: March–Dollase restart lowered χ² %.1f → %.1f", scan.source, base.chi2, other.chi2)
        return other
    return base


def _alternative_fits(scan: Scan, refls: list, base: RefinementResult, opts: RefineOptions,
                      inst: Instrument, kw: dict) -> list[tuple[Alternative, RefinementResult]]:
    """Refine every alternative of (opts, inst), warm-started from ``base`` (parameters an
    alternative switches off are left out of the start, so they return to their reference)."""
    out = []
    for alt in alternative_models(opts, inst):
        start = _start_without(base, _switched_off(opts, alt.options))
        try:
            out.append((alt, refine(scan, refls, instrument=alt.instrument, options=alt.options,
                                    start=start, **kw)))
        except ClosokitError as exc:
            log.warning("%s: alternative model %s failed (%s); skipped", scan.source, alt.label, exc)
    return out


def _switched_off(a: RefineOptions, b: RefineOptions) -> tuple[str, ...]:
    """Parameter-label suffixes that ``b`` holds but ``a`` refines."""
    off: list[str] = []
    if a.refine_b_iso and not b.refine_b_iso:
        off.append("_b_iso")
    if a.refine_phase_broadening and not b.refine_phase_broadening:
        off += ["_strain_deg2", "_size_deg"]
    if a.refine_asymmetry and not b.refine_asymmetry:
        off.append("asymmetry")
    if a.preferred_orientation and not b.preferred_orientation:
        off.append("_march_dollase")
    return tuple(off)


def _start_without(base: RefinementResult, suffixes: tuple[str, ...]) -> WarmStart:
    ws = base.warm_start()
    if not suffixes:
        return ws
    keep = [i for i, lab in enumerate(ws.theta_labels) if not lab.endswith(suffixes)]
    return WarmStart(ws.theta[keep], tuple(ws.theta_labels[i] for i in keep))


def _describe(opts: RefineOptions) -> dict:
    return {"background_terms": opts.background_terms, "refine_b_iso": opts.refine_b_iso,
            "refine_phase_broadening": opts.refine_phase_broadening,
            "refine_asymmetry": opts.refine_asymmetry,
            "preferred_orientation": {k: list(v) for k, v in opts.preferred_orientation.items()},
            "particle_size_um": dict(opts.particle_size_um)}


def _structure_of(item: object, refl: ReflectionList, library: object | None):
    """The pymatgen Structure behind one entry of ``phases`` (None if there is none): a
    Structure, a Phase's, or a name's (or a ReflectionList's name's) in ``library``."""
    from pymatgen.core import Structure

    if isinstance(item, Structure):
        return item
    if not isinstance(item, ReflectionList | str):
        return getattr(item, "structure", None)
    name = item if isinstance(item, str) else refl.name
    if library is None or name not in library:
        return None
    try:
        return library.get(name).structure
    except PhaseError as exc:
        log.info("phase %s: structure not readable (%s)", name, exc)
        return None


def _refine_coordinates(scan: Scan, phases: Sequence[object], refls: list, base: RefinementResult,
                        inst: Instrument, opts: RefineOptions, kw: dict, library: object | None, *,
                        forced: bool) -> tuple[list, RefinementResult, dict[str, CoordinateFit], dict[str, str]]:
    """Refine the free coordinates of the phases that qualify, strongest first (see the module).

    Returns the reflection lists and the result with the kept coordinates, every phase's
    :class:`CoordinateFit` and the reasons for phases left alone.
    """
    lam = float(np.min(inst.wavelengths_angstrom))
    fits: dict[str, CoordinateFit] = {}
    notes: dict[str, str] = {}
    refls = list(refls)
    wf = {p.name: p.weight_fraction for p in base.phases}
    order = sorted(range(len(refls)), key=lambda i: -(wf.get(refls[i].name) or 0.0))
    for i in order:
        name = refls[i].name
        if name in opts.pawley:
            continue
        if not forced:  # the data and the weight fraction first: they need no structure
            ok, why = coordinates_supported(scan, inst, wf.get(name))
            if not ok:
                notes[name] = why
                continue
        structure = _structure_of(phases[i], refls[i], library)
        if structure is None:
            notes[name] = "no structure: a reflection list whose name is not in the library passed"
            continue
        space = free_coordinates(structure)
        if space.n_free == 0:
            continue
        if space.n_free > MAX_FREE_COORDINATES:
            notes[name] = f"{space.n_free} free coordinates (> {MAX_FREE_COORDINATES})"
            log.info("%s: coordinates of %s %s not refined: %s", scan.source, name, space.names, notes[name])
            continue
        if not matches(refls[i], structure, lam):
            notes[name] = "its reflection list was not computed from its structure"
            continue
        fit, res, rl = refine_coordinates(scan, refls, i, space, base, wavelength_angstrom=lam,
                                          refine_kwargs=dict(instrument=inst, options=opts, **kw))
        threshold = 0.0 if forced else SELECT_IMPROVEMENT * 2.0 * base.redchi * base.serial_correlation_factor
        if fit.at_bound:
            reason = f"a coordinate ran to its ±{BOUND_FRACTIONAL} bound"
        elif not np.all(np.isfinite(fit.sigma)):
            reason = "χ² has no minimum along the coordinates (curvature not positive)"
        elif fit.delta_chi2 <= threshold:
            reason = f"χ² fell by {fit.delta_chi2:.1f}, not more than {threshold:.1f}"
        else:
            reason = f"χ² fell by {fit.delta_chi2:.1f} > {threshold:.1f}"
            fit = dataclasses.replace(fit, accepted=True, reason=reason)
            refls[i], base = rl, res
        if not fit.accepted:
            fit = dataclasses.replace(fit, reason=reason)
        fits[name] = fit
        log.info("%s: coordinates of %s %s: %s (%s)", scan.source, name,
                 ", ".join(f"{n} {r:.4f} → {v:.4f}({s:.4f})" for n, r, v, s in
                           zip(fit.names, fit.reference, fit.values, fit.sigma, strict=True)),
                 "kept" if fit.accepted else "not kept", reason)
    return refls, base, fits, notes


def _with_coordinate_sigma(res: RefinementResult, fits: Sequence[CoordinateFit]) -> RefinementResult:
    """Add the refined coordinates' uncertainty to the weight fractions' and lattice σ's,
    statistical and total: ``σ² += sᵀ C s`` with s the slope along the coordinates and C their
    covariance (coordinates of different phases taken as independent)."""
    if not fits:
        return res
    phases = []
    for p in res.phases:
        var_wf = 0.0
        var_lat = {k: 0.0 for k in p.lattice}
        for f in fits:
            cov = np.nan_to_num(f.covariance)
            slope = f.weight_fraction_slope.get(p.name)
            if slope is not None:
                var_wf += float(slope @ cov @ slope)
            for k, sl in f.lattice_slope.get(p.name, {}).items():
                if k in var_lat:
                    var_lat[k] += float(sl @ cov @ sl)
        rep: dict = {
            "lattice_sigma": {k: math.sqrt(v**2 + var_lat.get(k, 0.0)) for k, v in p.lattice_sigma.items()},
            "lattice_sigma_statistical": {k: math.sqrt(v**2 + var_lat.get(k, 0.0))
                                          for k, v in p.lattice_sigma_statistical.items()},
        }
        if p.weight_fraction is not None:
            if p.weight_fraction_sigma is not None:
                rep["weight_fraction_sigma"] = math.sqrt(p.weight_fraction_sigma**2 + var_wf)
            if p.weight_fraction_sigma_statistical is not None:
                rep["weight_fraction_sigma_statistical"] = math.sqrt(p.weight_fraction_sigma_statistical**2 + var_wf)
        phases.append(dataclasses.replace(p, **rep))
    return dataclasses.replace(res, phases=tuple(phases))


@dataclass(frozen=True)
class InternalStandardResult:
    """Absolute weight fractions from an internal standard (spike) of known amount.

    Attributes
    ----------
    standard : str
        The spike phase.
    standard_weight_fraction : float
        Its weighed fraction of the spiked mixture.
    amorphous_weight_fraction, amorphous_weight_fraction_sigma : float
        Amorphous (and unmodelled) content of the original, unspiked sample, ± σ.
    weight_fractions, weight_fraction_sigmas : dict
        Absolute fractions of every other crystalline phase in the original sample, ± σ.

    Examples
    --------
    Returned by :func:`internal_standard` (which shows a fit); from fitted fractions alone:

    >>> from types import SimpleNamespace as NS
    >>> from xrdkit.qpa import internal_standard
    >>> fit = NS(phases=[NS(name="al2o3", weight_fraction=0.25, weight_fraction_sigma=0.01),
    ...                  NS(name="nbh-fcc", weight_fraction=0.75, weight_fraction_sigma=0.01)])
    >>> spike = internal_standard(fit, "al2o3", 0.20)
    >>> spike.to_dict()["weight_fractions"], round(spike.amorphous_weight_fraction_sigma, 3)
    ({'nbh-fcc': 0.75}, 0.04)
    """

    standard: str
    standard_weight_fraction: float
    amorphous_weight_fraction: float
    amorphous_weight_fraction_sigma: float
    weight_fractions: dict[str, float]
    weight_fraction_sigmas: dict[str, float]

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return dataclasses.asdict(self)


def internal_standard(result: RefinementResult, standard: str, standard_weight_fraction: float) -> InternalStandardResult:
    """Amorphous content from an internal standard: the spike method of Rietveld QPA.

    A crystalline standard weighed into the sample at fraction ``W_s`` of the spiked mixture
    comes out of the fit at the crystalline-normalised fraction ``w_s``; every phase's absolute
    fraction of the mixture is then ``W_p = w_p · W_s / w_s`` and what the crystalline phases do
    not account for, ``1 − Σ W_p``, is amorphous (or unmodelled). Both are reported for the
    original sample, i.e. divided by ``1 − W_s`` (Madsen, Scarlett & Kern, in *Modern Diffraction
    Methods*, Wiley 2012; Westphal et al., *Cem. Concr. Res.* 39 (2009) 1214). σ's propagate the
    weight-fraction σ's of the fit (covariances neglected).

    Parameters
    ----------
    result : RefinementResult
        A fit that includes the standard.
    standard : str
        Name of the standard phase in ``result``.
    standard_weight_fraction : float
        Weighed fraction (0–1) of the standard in the spiked mixture.

    Returns
    -------
    InternalStandardResult

    Raises
    ------
    InputError
        The standard is not in the fit, has no weight fraction, or ``W_s`` is not in (0, 1).

    Examples
    --------
    A 20 wt % corundum spike fitted at 25 % of the crystalline phases: a quarter of the
    original sample is amorphous.

    >>> from types import SimpleNamespace as NS
    >>> fit = NS(phases=[NS(name="al2o3", weight_fraction=0.25, weight_fraction_sigma=0.0),
    ...                  NS(name="nbh-fcc", weight_fraction=0.75, weight_fraction_sigma=0.0)])
    >>> r = internal_standard(fit, "al2o3", 0.20)
    >>> round(r.amorphous_weight_fraction, 3), round(r.weight_fractions["nbh-fcc"], 3)
    (0.25, 0.75)

    The same on a fit. A sample of 75 % crystalline NBH and 25 % amorphous solid, spiked with
    20 wt % corundum: the spiked mixture is 20 % corundum, 60 % NBH and 20 % amorphous (a broad
    hump under the lines), so the crystalline phases refine to 0.25 : 0.75 (simulated here,
    with Poisson noise):

    >>> import numpy as np
    >>> from xrdkit.calibrate import standard
    >>> from xrdkit.refine import refine
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import simulate
    >>> corundum = standard("al2o3").structure()
    >>> two_theta_deg = np.arange(10.0, 80.0, 0.02)
    >>> lines = simulate(["nbh-fcc", corundum], [0.75, 0.25], two_theta_deg, peak_max=10_000,
    ...                  background=[300.0])
    >>> hump = 400.0 * np.exp(-0.5 * ((two_theta_deg - 25.0) / 6.0) ** 2)
    >>> counts = np.random.default_rng(1).poisson(lines.intensity + hump).astype(float)
    >>> fit = refine(make_scan(two_theta_deg, counts, source="spiked.xy"), ["nbh-fcc", corundum])
    >>> spike = internal_standard(fit, "Al2O3", 0.20)
    >>> round(spike.amorphous_weight_fraction, 2)
    0.25
    >>> abs(spike.amorphous_weight_fraction - 0.25) < 2 * spike.amorphous_weight_fraction_sigma
    True
    """
    if not 0.0 < standard_weight_fraction < 1.0:
        raise InputError(f"internal standard fraction {standard_weight_fraction!r} must be between 0 and 1")
    phases = {p.name: p for p in result.phases}
    std = phases.get(standard)
    if std is None or not std.weight_fraction:
        raise InputError(f"internal standard {standard!r} is not in the fit (or refined to zero): "
                         f"phases {sorted(phases)}")
    ws, s_ws = float(std.weight_fraction), float(std.weight_fraction_sigma or 0.0)
    k = standard_weight_fraction / ws / (1.0 - standard_weight_fraction)
    fracs, sigs = {}, {}
    for name, p in phases.items():
        if name == standard or p.weight_fraction is None:
            continue
        w, sw = float(p.weight_fraction), float(p.weight_fraction_sigma or 0.0)
        fracs[name] = w * k
        sigs[name] = k * math.hypot(sw, w * s_ws / ws)
    # 1 − Σ W_p over the crystalline non-standard phases; Σ w_p = 1 − w_s, so
    # A = 1 − k (1 − w_s), with dA/dw_s = k / w_s (the other σ's enter through w_s's normalisation)
    amorphous = 1.0 - k * (1.0 - ws)
    sigma = k / ws * s_ws
    return InternalStandardResult(standard, standard_weight_fraction, float(amorphous), float(sigma), fracs, sigs)
