"""decide_verdict: the verdict as a pure function of hand-built evidence (closokit issue 20 item 5).

Each test builds a :class:`~xrdkit.identify.ModelEvidence` by hand (no scan, no fit) for one
category — fcc, separate, mixed (leftover line only, and with a separate model), no-borate,
unexplained — and then flips one evidence field to show the rule that decides: the verdict
changes. Expected purities, σ's, detection limits and shares are worked out here from the
numbers put in (the formulas of the module docstring), not read back from the code.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from xrdkit.identify import (
    DETECTION_SIGMA,
    FCC_PHASE,
    GOF_ADEQUATE,
    LINE_AMPLITUDE_MIN,
    MISFIT_RADIUS_FWHM,
    PRESENCE_SIGMA,
    UNEXPLAINED_PEAK_SIGMA,
    UNEXPLAINED_SHARE_MIN,
    ModelEvidence,
    ModelFit,
    PresenceEvidence,
    ResidualFinding,
    ResidualPeak,
    Verdict,
    decide_verdict,
)
from xrdkit.refine import PhaseResult

SEP = "na2b12h12-ht"
SALT = "na2b10h10-rt"
#: Borate candidates of every record: NBH and one high-temperature stand-in.
CANDIDATES = (FCC_PHASE, SEP, "na2b10h10-ht")
#: Typical FWHM (deg) of the base model.
FWHM_DEG = 0.1

# presence numbers well inside and well outside the rule
PRESENT = PresenceEvidence(scale_sigma=40.0, line_amplitude=1.0, line_sigma=30.0, own_lines_only=False)
ABSENT = PresenceEvidence(scale_sigma=1.0, line_amplitude=0.1, line_sigma=0.5, own_lines_only=False)


def phase(name: str, wf: float, sd: float) -> PhaseResult:
    """A phase of a fitted model (only name and weight fraction ± σ matter to the decision)."""
    return PhaseResult(name, "structure", wf, sd, 1.0, 0.01, {"a": 10.0}, {"a": 0.0}, 1000.0, 2.0, 1.0)


def model(label: str, *phases: PhaseResult, gof: float = 1.2, peaks: tuple[ResidualFinding, ...] = (),
          borate_area: float = 1000.0, diffracted: float = 2000.0) -> ModelFit:
    return ModelFit(label, phases, gof=gof, residual_peaks=peaks, min_detectable_area=6.0,
                    diffracted_area=diffracted, significance_factor=1.5, detection_factor=1.5,
                    borate_area=borate_area)


def finding(two_theta_deg: float, honest_sigma: float, area: float, distance_deg: float = 1.0) -> ResidualFinding:
    """A residual peak ``distance_deg`` from the nearest modelled reflection."""
    d = 1.5406 / (2 * math.sin(math.radians(two_theta_deg) / 2))
    return ResidualFinding(ResidualPeak(two_theta_deg, d, 3.0 * honest_sigma, area), honest_sigma,
                           distance_deg, FWHM_DEG)


def evidence(**kw) -> ModelEvidence:
    """NBH alone, present, competing models not fitted (score test below 2σ)."""
    base = dict(candidates=CANDIDATES, models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0))},
                presence={FCC_PHASE: PRESENT}, fwhm_deg=FWHM_DEG,
                score_sigma={SEP: 0.4, "na2b10h10-ht": -0.2}, score_detection_limit=0.03)
    return ModelEvidence(**(base | kw))


def purity_sigma(w_f: float, s_f: float, w_s: float, s_s: float) -> float:
    """σ of w_f / (w_f + w_s) by first-order propagation (covariances neglected)."""
    tot = w_f + w_s
    return math.hypot(w_s / tot**2 * s_f, w_f / tot**2 * s_s)


# --------------------------------------------------------------------------- the presence rule


@pytest.mark.parametrize("field_, value", [("scale_sigma", PRESENCE_SIGMA - 0.01),
                                           ("line_amplitude", LINE_AMPLITUDE_MIN - 0.01),
                                           ("line_sigma", PRESENCE_SIGMA - 0.01),
                                           ("fcc_residual_amplitude", LINE_AMPLITUDE_MIN - 0.01)])
def test_presence_needs_every_number_at_its_threshold(field_, value):
    at = PresenceEvidence(PRESENCE_SIGMA, LINE_AMPLITUDE_MIN, PRESENCE_SIGMA, True,
                          fcc_residual_amplitude=LINE_AMPLITUDE_MIN)
    assert at.present
    assert not dataclasses.replace(at, **{field_: value}).present
    # a phase whose model was not fitted has only its score: absent, however large the score
    assert not PresenceEvidence(score_sigma=50.0).present


def test_presence_dict_keeps_the_published_keys():
    ev = dataclasses.replace(PRESENT, fcc_residual_amplitude=0.9, fcc_residual_sigma=4.0, score_sigma=2.5)
    assert list(ev.to_dict()) == ["present", "scale_sigma", "line_amplitude", "line_sigma", "own_lines_only",
                                  "fcc_residual_amplitude", "fcc_residual_sigma", "score_sigma"]
    assert PresenceEvidence(score_sigma=0.4).to_dict() == {"present": False, "score_sigma": 0.4}


# --------------------------------------------------------------------------- one test per category


def test_fcc_nbh_alone():
    d = decide_verdict(evidence())
    assert d.verdict == Verdict.FCC and d.model == "fcc" and d.borate_present
    assert d.fcc_weight_fraction == 1.0
    # competing models not fitted: the score test's limit, and the purity's σ is limit / 3
    assert (d.detection_limit, d.detection_limit_basis) == (0.03, "weight_fraction")
    assert d.fcc_weight_fraction_sigma == pytest.approx(0.03 / DETECTION_SIGMA)
    assert any("separate-borate models not fitted" in n and "0.4σ" in n for n in d.notes)
    assert d.unexplained_intensity_share == 0.0 and d.unexplained_peaks == ()


def test_fcc_without_score_limit_quotes_an_intensity_share():
    d = decide_verdict(evidence(score_detection_limit=None))
    # minimum detectable area 6 × honest factor 1.5 against 1000 counts·deg of borate
    assert d.detection_limit == pytest.approx(6.0 * 1.5 / 1000.0)
    assert d.detection_limit_basis == "intensity_share"


@pytest.mark.parametrize("flip", ["line_amplitude", "scale_sigma"])
def test_fcc_becomes_no_borate_when_nbh_fails_the_presence_test(flip):
    weak = dataclasses.replace(PRESENT, **{flip: 0.4 if flip == "line_amplitude" else 2.0})
    d = decide_verdict(evidence(presence={FCC_PHASE: weak}))
    assert d.verdict == Verdict.NO_BORATE and not d.borate_present
    assert d.fcc_weight_fraction is None and d.fcc_weight_fraction_sigma is None
    assert any(n.startswith("no crystalline closo-borate") for n in d.notes)


def test_separate_borate_alone():
    sep_model = model("separate", phase(SEP, 0.7, 0.02), phase("nacro2", 0.3, 0.02), borate_area=900.0)
    ev = evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0)), "separate": sep_model},
                  presence={FCC_PHASE: ABSENT, SEP: dataclasses.replace(PRESENT, own_lines_only=True)},
                  competing_fitted=True, score_sigma={SEP: 6.0, "na2b10h10-ht": 0.1})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.SEPARATE and d.model == "separate"
    assert d.fcc_weight_fraction == 0.0
    # not the fcc model: no score-test limit; a minimum detectable line against the borates
    assert d.detection_limit == pytest.approx(6.0 * 1.5 / 900.0)
    assert d.detection_limit_basis == "intensity_share"
    assert d.fcc_weight_fraction_sigma == pytest.approx(max(purity_sigma(0.0, 0.0, 0.7, 0.02),
                                                            d.detection_limit / DETECTION_SIGMA))
    assert not any("not fitted" in n for n in d.notes)
    # the separate model fails its presence test: nothing is there
    gone = dataclasses.replace(ev.presence[SEP], line_sigma=1.0)
    assert decide_verdict(dataclasses.replace(ev, presence={FCC_PHASE: ABSENT, SEP: gone})).verdict \
        == Verdict.NO_BORATE


def test_separate_by_the_leftover_line_only():
    # NBH fails its presence test; the leftover salt is seen by its literature line only
    ev = evidence(presence={FCC_PHASE: ABSENT}, diagnostic_hits={SALT: (ResidualPeak(15.14, 5.85, 40.0, 30.0),)})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.SEPARATE and d.model == "fcc" and d.borate_present
    # purity 0 by the rule, not the fcc model's NBH share (1.0)
    assert d.fcc_weight_fraction == 0.0
    assert decide_verdict(dataclasses.replace(ev, diagnostic_hits={})).verdict == Verdict.NO_BORATE


def test_mixed_by_the_leftover_line_only():
    line = ResidualPeak(15.14, 5.85, 40.0, 30.0)
    # the line is also a strong residual peak of the fcc model: accounted for, not unexplained
    fcc = model("fcc", phase(FCC_PHASE, 1.0, 0.0), peaks=(finding(15.14, 9.0, 30.0),))
    ev = evidence(models={"fcc": fcc}, diagnostic_hits={SALT: (line,)})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.MIXED and d.model == "fcc"
    assert d.fcc_weight_fraction is None and d.fcc_weight_fraction_sigma is None
    assert any("seen only by its literature diagnostic line" in n and "5.85" in n for n in d.notes)
    assert d.unexplained_peaks == () and d.unexplained_intensity_share == 0.0
    # without the diagnostic hit the same peak is crystalline intensity no model explains
    d2 = decide_verdict(dataclasses.replace(ev, diagnostic_hits={}))
    assert d2.verdict == Verdict.UNEXPLAINED
    assert d2.unexplained_intensity_share == pytest.approx(30.0 / 2000.0)


def test_mixed_with_a_separate_model_quantifies_the_purity():
    mixed = model("mixed", phase(FCC_PHASE, 0.6, 0.03), phase(SEP, 0.15, 0.02), phase("nacro2", 0.25, 0.02))
    sep_ev = dataclasses.replace(PRESENT, own_lines_only=True, fcc_residual_amplitude=0.9, fcc_residual_sigma=5.0)
    ev = evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0)),
                          "separate": model("separate", phase(SEP, 1.0, 0.0)), "mixed": mixed},
                  presence={FCC_PHASE: dataclasses.replace(PRESENT, model="mixed"), SEP: sep_ev},
                  competing_fitted=True, score_sigma={SEP: 7.0, "na2b10h10-ht": 0.0},
                  diagnostic_hits={SALT: (ResidualPeak(15.14, 5.85, 40.0, 30.0),)})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.MIXED and d.model == "mixed"
    assert d.fcc_weight_fraction == pytest.approx(0.6 / 0.75)
    assert d.fcc_weight_fraction_sigma == pytest.approx(purity_sigma(0.6, 0.03, 0.15, 0.02))
    # the mixed model's limit: 3σ of the separate phase against the borates (0.75)
    assert (d.detection_limit, d.detection_limit_basis) == (pytest.approx(3 * 0.02 / 0.75), "weight_fraction")
    # a present separate model explains the leftover line itself: no "only by its line" note,
    # and the line is not set aside: a strong residual peak there is left unexplained
    assert not any("seen only by its literature diagnostic line" in n for n in d.notes)
    at_line = dataclasses.replace(mixed, residual_peaks=(finding(15.14, 9.0, 30.0),))
    d_line = decide_verdict(dataclasses.replace(ev, models={**ev.models, "mixed": at_line}))
    assert d_line.verdict == Verdict.UNEXPLAINED
    # its lines are not in what the fcc model leaves: the stand-in only traded intensity, NBH alone
    ev2 = dataclasses.replace(ev, presence={FCC_PHASE: PRESENT,
                                            SEP: dataclasses.replace(sep_ev, fcc_residual_amplitude=0.3)},
                              diagnostic_hits={})
    d2 = decide_verdict(ev2)
    assert d2.verdict == Verdict.FCC and d2.model == "fcc" and d2.fcc_weight_fraction == 1.0


def test_no_borate_reports_the_electrode_only_model():
    none = model("none", phase("nacro2", 0.8, 0.02), phase("al", 0.2, 0.01), borate_area=0.0)
    ev = evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 0.01, 0.01), phase("nacro2", 0.99, 0.02)),
                          "none": none},
                  presence={FCC_PHASE: ABSENT})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.NO_BORATE and d.model == "none" and not d.borate_present
    assert d.fcc_weight_fraction is None and d.detection_limit is None
    assert any("nbh-fcc: 1.0σ" in n for n in d.notes)
    # strong unexplained intensity without a borate is a note, never a borate verdict
    busy = dataclasses.replace(none, residual_peaks=(finding(31.0, 12.0, 100.0),))
    d2 = decide_verdict(dataclasses.replace(ev, models={**ev.models, "none": busy}))
    assert d2.verdict == Verdict.NO_BORATE
    assert any("phases other than the borates" in n for n in d2.notes)
    # NBH passes its presence test: fcc, in the fcc model
    d3 = decide_verdict(dataclasses.replace(ev, presence={FCC_PHASE: PRESENT}))
    assert d3.verdict == Verdict.FCC and d3.model == "fcc"


def test_unexplained_needs_a_strong_peak_off_the_reflections_carrying_enough_intensity():
    area = 40.0  # of 2000 counts·deg diffracted: 2 % ≥ UNEXPLAINED_SHARE_MIN
    strong = finding(31.0, UNEXPLAINED_PEAK_SIGMA + 2.0, area)
    ev = evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0), peaks=(strong,))})
    d = decide_verdict(ev)
    assert d.verdict == Verdict.UNEXPLAINED and d.borate_present
    assert d.unexplained_peaks == (strong.peak,)
    assert d.unexplained_intensity_share == pytest.approx(area / 2000.0)
    assert d.fcc_weight_fraction == 1.0  # the borate's purity is still reported
    assert any("crystalline content the models cannot explain" in n for n in d.notes)

    def with_peak(p: ResidualFinding) -> Verdict:
        return decide_verdict(evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0), peaks=(p,))})).verdict

    # each condition alone turns it back into fcc
    assert with_peak(dataclasses.replace(strong, honest_sigma=UNEXPLAINED_PEAK_SIGMA - 0.1)) == Verdict.FCC
    on_reflection = MISFIT_RADIUS_FWHM * FWHM_DEG * 0.9
    assert with_peak(dataclasses.replace(strong, distance_to_reflection_deg=on_reflection)) == Verdict.FCC
    small = dataclasses.replace(strong, peak=dataclasses.replace(
        strong.peak, area_counts_deg=0.9 * UNEXPLAINED_SHARE_MIN * 2000.0))
    assert with_peak(small) == Verdict.FCC


def test_loose_fit_is_noted():
    ev = evidence(models={"fcc": model("fcc", phase(FCC_PHASE, 1.0, 0.0), gof=GOF_ADEQUATE + 0.5)})
    assert any("fits the scan loosely" in n for n in decide_verdict(ev).notes)
    assert not any("loosely" in n for n in decide_verdict(evidence()).notes)


def test_evidence_notes_come_first_in_order():
    ev = evidence(candidates=(FCC_PHASE, SEP), dropped_electrodes=("be",), score_sigma={SEP: 0.4})
    notes = decide_verdict(ev).notes
    assert notes[0].startswith("no structure model for the room-temperature monoclinic phase(s) "
                               "na2b12h12-rt, na2b10h10-rt")
    assert notes[1] == "electrode phases not detected and dropped: be"
    assert notes[2].startswith("separate-borate models not fitted")


# --------------------------------------------------------------------------- purity of the function


def test_decision_is_pure_and_the_record_read_only():
    ev = evidence(diagnostic_hits={SALT: [ResidualPeak(15.14, 5.85, 40.0, 30.0)]})
    assert decide_verdict(ev) == decide_verdict(ev)
    with pytest.raises(TypeError):
        ev.presence[FCC_PHASE] = ABSENT  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.fwhm_deg = 1.0  # type: ignore[misc]
    assert isinstance(ev.diagnostic_hits[SALT], tuple)
