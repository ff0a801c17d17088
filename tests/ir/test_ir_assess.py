"""IRVerdict on seeded synthetic spectra: borate presence and which anion, flags only judged with
a borate, false-flag rate, detection at the stated limits, binder specificity, protonation,
B10:B12 reporting rules and calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irkit.assess import (
    DEFAULT_RATIO_CALIBRATION,
    admixture_model,
    assess,
    b10_b12_ratio,
    calibrate_ratio,
    serial_inflation,
    template_test,
)
from irkit.bands import B10_B12_AREA_PER_MOLE
from irkit.fit import fit_region
from irkit.shapes import pseudo_voigt
from irkit.synthetic import synthesize

N_TRIALS = 40
#: Stated detection limits (strongest-band height of the admixture / strongest B–H band at 1:1,
#: noise 0.002 on a 0.5 absorbance band). Measured (benchmarks/bench_ir.py --verdict, 30 per
#: family): 30/30 flagged exactly at each limit, 0 false flags over 240 spectra.
IPA_STATED_FRACTION = 0.010
OXIDATION_STATED_FRACTION = 0.020
FLAGS = ("isopropanol", "methanol", "water", "oxidation", "binder", "protonation")


def _truth_model(syn, species: tuple[str, ...]) -> np.ndarray:
    x = syn.spectrum.wavenumber_cm1
    return sum(pseudo_voigt(x, b.area, b.center_cm1, 0.5 * b.fwhm_cm1, syn.fraction)
               for b in syn.bands if b.species in species)


def _flags(verdict) -> dict[str, bool | None]:
    d = verdict.to_dict()
    return {k: d[k] for k in (*FLAGS, "other_organic")}


def test_clean_spectra_borate_present_and_no_flags() -> None:
    counts = dict.fromkeys((*FLAGS, "other_organic"), 0)
    for seed in range(N_TRIALS):
        verdict = assess(synthesize(1000 + seed, baseline="curved", noise_sd=0.002).spectrum)
        assert verdict.borate_present and verdict.anion == "both"
        assert verdict.anions_intact is True
        for key, value in _flags(verdict).items():
            counts[key] += bool(value)
    assert counts == dict.fromkeys(counts, 0), counts


@pytest.mark.parametrize(("kw", "flag"), [({"isopropanol": IPA_STATED_FRACTION}, "isopropanol"),
                                          ({"oxidation": OXIDATION_STATED_FRACTION},
                                           "oxidation")])
def test_flagged_at_the_stated_limit(kw: dict[str, float], flag: str) -> None:
    flagged = 0
    for seed in range(N_TRIALS):
        verdict = assess(synthesize(2000 + seed, baseline="curved", noise_sd=0.002,
                                    **kw).spectrum)
        flagged += bool(getattr(verdict, flag).detected)
        others = {k: v for k, v in _flags(verdict).items() if k != flag}
        assert not any(others.values()), others
    assert flagged >= 0.95 * N_TRIALS


def test_template_heights_are_unbiased_with_true_anions_removed() -> None:
    """With the true anion bands removed, the isopropanol height estimate is unbiased and its
    σ is honest (pull distribution mean ≈ 0, sd ≈ 1), independently of the band fits."""
    pulls = []
    for seed in range(60):
        syn = synthesize(3000 + seed, baseline="curved", noise_sd=0.002, isopropanol=0.02)
        res = template_test(syn.spectrum, subtract=_truth_model(syn, ("B12H12", "B10H10")))
        true_height = 0.02 * 0.5  # isopropanol × peak_absorbance
        t = res["isopropanol"]
        pulls.append((t.height - true_height) / t.height_sigma)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.5
    assert 0.7 < pulls.std() < 1.4


@pytest.mark.parametrize(
    ("kw", "flag"),
    [({"water": 0.05}, "water"), ({"oxidation": 0.05}, "oxidation"),
     ({"pvdf": 0.2}, "binder"), ({"isopropanol": 0.05}, "isopropanol")],
)
def test_each_admixture_is_flagged_alone(kw: dict[str, float], flag: str) -> None:
    for seed in range(3):
        verdict = assess(synthesize(40 + seed, baseline="curved", **kw).spectrum)
        flags = {k: bool(v) for k, v in _flags(verdict).items()}
        assert flags == {k: k == flag for k in flags}, flags
        assert verdict.anions_intact and verdict.anion == "both"


def test_isopropanol_bands_never_raise_oxidation() -> None:
    # isopropanol 1408/1341/1307 cm⁻¹ (measured on a real liquid, issue 17) sit in the B–O window
    for seed in range(5):
        verdict = assess(synthesize(50 + seed, isopropanol=0.3, baseline="curved").spectrum)
        assert verdict.isopropanol.detected and verdict.oxidation.detected is False


def test_pvdf_is_binder_not_oxidation_even_with_solvent() -> None:
    verdict = assess(synthesize(8, pvdf=0.3, isopropanol=0.03).spectrum)
    assert verdict.binder.detected and verdict.isopropanol.detected
    assert not verdict.oxidation.detected
    assert any("binder" in n for n in verdict.notes)


def test_admixture_model_reproduces_the_true_binder_bands() -> None:
    syn = synthesize(8, pvdf=0.3, noise_sd=0.002)
    x = syn.spectrum.wavenumber_cm1
    tests = template_test(syn.spectrum, subtract=_truth_model(syn, ("B12H12", "B10H10")))
    model = admixture_model(x, {"PVDF": tests["PVDF"]})
    true = _truth_model(syn, ("PVDF",))
    assert np.max(np.abs(model - true)) < 0.03 * true.max()
    verdict = assess(syn.spectrum)
    assert any("refitted without the PVDF" in n for n in verdict.notes)


def test_binder_needs_the_phase_independent_pvdf_pattern() -> None:
    """A band at PVDF's 1185 cm⁻¹ alone (as an acrylate or ether C–O–C stretch gives) is not
    PVDF: the required 882 and 1398 cm⁻¹ bands are missing."""
    syn = synthesize(9, noise_sd=0.002)
    x = syn.spectrum.wavenumber_cm1
    ester = 0.1 * np.exp(-0.5 * ((x - 1188.0) / 12.0) ** 2)  # strong C–O–C-like band
    spectrum = type(syn.spectrum)(x, syn.spectrum.values + ester, "absorbance", "ester")
    verdict = assess(spectrum)
    assert verdict.binder.detected is False
    assert verdict.binder.pattern_ok in (False, None)


def test_protonation_breaks_anions_intact() -> None:
    verdict = assess(synthesize(9, protonated=0.1).spectrum)
    assert verdict.protonation.detected and not verdict.anions_intact
    assert verdict.protonation.strongest_band_cm1 == pytest.approx(2565, abs=20)


@pytest.mark.parametrize(("ratio", "anion"), [(0.0, "B12H12"), (math.inf, "B10H10")])
def test_pure_salts_name_their_anion_and_give_no_ratio(ratio: float, anion: str) -> None:
    for seed in range(3):
        verdict = assess(synthesize(12 + seed, b10_b12_ratio=ratio).spectrum)
        assert verdict.borate_present and verdict.anion == anion
        assert verdict.anions_intact is True
        assert verdict.ratio is None and math.isnan(verdict.b10_b12_ratio)
        assert verdict.ratio_reason.startswith(f"only {anion}")


@pytest.mark.parametrize("kw", [{"isopropanol": 0.3}, {"water": 0.3}, {"pvdf": 0.3},
                                {"isopropanol": 0.2, "water": 0.2}])
def test_negative_controls_have_no_borate_and_unjudged_borate_fields(kw) -> None:
    for seed in range(3):
        verdict = assess(synthesize(70 + seed, borate=0.0, baseline="curved", **kw).spectrum)
        d = verdict.to_dict()
        assert d["borate_present"] is False and d["anion"] is None
        for key in ("anions_intact", "oxidation", "protonation", "b10_b12_ratio"):
            assert d[key] is None, key
        assert "not judged" in d["b10_b12_ratio_reason"]
        assert any("not judged" in n for n in d["details"]["notes"])
        for name in ("isopropanol", "water", "binder"):  # still named when there
            expected = {"isopropanol": "isopropanol", "water": "water", "binder": "pvdf"}[name]
            assert d[name] is (expected in kw), (name, kw)


def test_stretching_only_spectrum_judged_from_nu_bh_with_a_note() -> None:
    verdict = assess(synthesize(3, low_cm1=2200, high_cm1=2700).spectrum)
    assert verdict.borate_present and verdict.anions_intact
    assert any("from ν(B–H) only" in n for n in verdict.notes)


def test_weak_band_at_the_bh_position_is_not_a_borate() -> None:
    """A band at 2480 cm⁻¹ that is 2 % of the strongest band (an overtone of something else)
    does not make a closo-borate."""
    syn = synthesize(5, borate=0.0, isopropanol=1.0, noise_sd=0.0005)
    x = syn.spectrum.wavenumber_cm1
    bump = 0.01 * np.exp(-0.5 * ((x - 2480.0) / 20.0) ** 2)
    spectrum = type(syn.spectrum)(x, syn.spectrum.values + bump, "absorbance", "bump")
    verdict = assess(spectrum)
    assert verdict.borate_present is False
    assert verdict.evidence.dominance < 0.05


def test_ratio_not_reported_when_the_bands_can_exchange_labels() -> None:
    """At the library priors (B12H12 2480 ± 25, B10H10 2460 ± 25 cm⁻¹) the two stretching bands
    can swap labels: the data allow both ratios, so none is reported, with the reason."""
    for seed in range(3):
        verdict = assess(synthesize(60 + seed, b10_b12_ratio=1.0).spectrum)
        assert verdict.ratio is None
        assert "exchange labels" in verdict.ratio_reason
        assert verdict.ratio_posterior is not None
        assert verdict.ratio_posterior.exchange_probability > 0.05


def test_ratio_calibration_from_known_mixtures() -> None:
    ratios = [0.5, 1.0, 2.0]
    fits = [fit_region(synthesize(80 + i, b10_b12_ratio=r, noise_sd=0.001).spectrum, "stretch")
            for i, r in enumerate(ratios)]
    cal = calibrate_ratio(fits, ratios)
    # the synthetic spectra were built with B10_B12_AREA_PER_MOLE; calibration must find it
    assert abs(cal.k - B10_B12_AREA_PER_MOLE) < 3 * cal.k_sigma + 0.02
    # a calibration twice as large halves the molar ratio
    doubled = type(cal)(2 * DEFAULT_RATIO_CALIBRATION.k, 0.0, "test")
    assert b10_b12_ratio(fits[1], doubled).value == pytest.approx(
        0.5 * b10_b12_ratio(fits[1]).value)


def test_serial_inflation_white_and_smooth() -> None:
    rng = np.random.default_rng(0)
    assert serial_inflation(rng.normal(size=4000)) == pytest.approx(1.0, abs=0.05)
    smooth = np.sin(np.linspace(0, 6, 400))
    assert serial_inflation(smooth) > 5.0


def test_verdict_json_shape() -> None:
    d = assess(synthesize(1).spectrum).to_dict()
    assert {"borate_present", "anion", "anions_intact", "isopropanol", "methanol", "water",
            "other_organic", "oxidation", "binder", "protonation", "b10_b12_ratio",
            "b10_b12_ratio_sigma", "b10_b12_ratio_reason", "contaminants"} <= set(d)
    assert isinstance(d["anions_intact"], bool) and d["borate_present"] is True
    assert d["details"]["evidence"]["present"] is True


@pytest.mark.parametrize("anion", ["B12H12", "B10H10", "both"])
def test_verdict_survives_band_shapes_the_library_does_not_have(anion: str) -> None:
    """Gaussian bands, a split B12H12 ν(B–H), widths and heights far from the priors, hydrates
    (independent generator): the borate and its anion are still named, no false flags."""
    from irkit.synthetic import synthesize_mismatched

    for seed in range(6):
        hydrated = seed % 2 == 0
        verdict = assess(synthesize_mismatched(300 + seed, anion=anion,
                                               hydrated=hydrated).spectrum)
        d = verdict.to_dict()
        assert d["borate_present"] and d["anion"] == anion, d["details"]["notes"]
        assert d["water"] is hydrated
        assert not any(d[k] for k in ("isopropanol", "methanol", "oxidation", "binder",
                                      "other_organic", "protonation")), d["contaminants"]


def test_liquid_isopropanol_with_other_band_heights_is_isopropanol_only() -> None:
    """A pure solvent whose band heights differ ×0.5–2 and widths ×1–2 from the template (the
    real liquid need not match constructed heights): isopropanol, no borate, nothing judged
    that needs a borate, no other flag."""
    from irkit.synthetic import synthesize_mismatched

    for seed in range(8):
        d = assess(synthesize_mismatched(400 + seed, anion=None,
                                         isopropanol=True).spectrum).to_dict()
        assert d["borate_present"] is False and d["isopropanol"] is True
        assert d["oxidation"] is None and d["anions_intact"] is None
        assert not any(d[k] for k in ("methanol", "water", "binder", "other_organic"))
