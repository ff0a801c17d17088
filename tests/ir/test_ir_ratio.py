"""B10:B12: reported only when identified, with a σ that covers the truth (independent
generator, band centres off their priors)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from irkit.assess import assess
from irkit.bands import BandLibrary, load_band_library
from irkit.fit import fit_region
from irkit.ratio import estimate_ratio, narrow_priors
from irkit.synthetic import synthesize


def _true_library(seed: int, jitter_cm1: float = 15.0) -> BandLibrary:
    """The library with every anion band moved by up to ±jitter (the 'real' positions)."""
    rng = np.random.default_rng(seed)
    lib = load_band_library()
    return BandLibrary(tuple(
        replace(b, position_cm1=b.position_cm1 + rng.uniform(-jitter_cm1, jitter_cm1))
        if b.species in ("B12H12", "B10H10") else b for b in lib))


def test_exchange_of_labels_is_seen_and_reported() -> None:
    syn = synthesize(5, b10_b12_ratio=1.0)
    fit = fit_region(syn.spectrum, "stretch")
    out = estimate_ratio(syn.spectrum, fit)
    assert out.estimate is None and "exchange labels" in out.reason
    post = out.posterior
    assert 0.3 < post.exchange_probability < 0.7  # the swap fits exactly as well
    values = sorted(v for v, _ in post.alternatives)
    assert values[0] == pytest.approx(1.0, abs=0.15)  # one decomposition is the truth
    assert values[-1] > 1.4  # the exchanged one is not


def test_narrowed_priors_from_pure_salts_make_the_ratio_identifiable() -> None:
    lib = load_band_library()
    reported, pulls = 0, []
    for seed in range(12):
        true_lib = _true_library(100 + seed)
        pure12 = synthesize(seed, b10_b12_ratio=0.0, library=true_lib).spectrum
        pure10 = synthesize(seed + 1, b10_b12_ratio=math.inf, library=true_lib).spectrum
        narrowed = narrow_priors(lib, [fit_region(pure12, "stretch", species=("B12H12",)),
                                       fit_region(pure10, "stretch", species=("B10H10",))])
        truth = float(np.exp(np.random.default_rng(seed).uniform(math.log(0.25), math.log(4))))
        mix = synthesize(seed + 2, b10_b12_ratio=truth, library=true_lib, baseline="curved")
        verdict = assess(mix.spectrum, library=narrowed)
        if verdict.ratio is not None:
            reported += 1
            pulls.append(abs(verdict.ratio.value - truth) / verdict.ratio.sigma)
    assert reported >= 7
    assert np.mean(np.array(pulls) <= 2) >= 0.85


@pytest.mark.slow
def test_ratio_coverage_with_priors_off_by_15_cm1() -> None:
    """Issue 17: with band positions ±15 cm⁻¹ off their priors the truth lies within ±1σ in
    ≥ 68 % and within ±2σ in ≥ 95 % of the reported ratios (measured: 400 mixtures in
    benchmarks/bench_ir.py --ratio: 52 % reported, 77.6 % / 97.1 %; this set:
    114/250 reported, 71.9 % / 95.6 %)."""
    pulls, n = [], 250
    for seed in range(5000, 5000 + n):
        truth = float(np.exp(np.random.default_rng(seed).uniform(math.log(0.25), math.log(4))))
        syn = synthesize(seed, b10_b12_ratio=truth, position_jitter_cm1=15.0,
                         baseline="sloping", noise_sd=0.002)
        verdict = assess(syn.spectrum)
        if verdict.ratio is not None:
            pulls.append(abs(verdict.ratio.value - truth) / verdict.ratio.sigma)
        else:
            assert verdict.ratio_reason
    pulls = np.array(pulls)
    print(f"reported {pulls.size}/{n}; within 1σ {np.mean(pulls <= 1):.3f}, "
          f"2σ {np.mean(pulls <= 2):.3f}")
    assert pulls.size >= 0.25 * n
    assert np.mean(pulls <= 1) >= 0.68
    assert np.mean(pulls <= 2) >= 0.95
