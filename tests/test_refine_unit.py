"""Unit behaviour of :mod:`xrdkit.refine`: statistics, warm start, parameters, pathologies, bad input.

Synthetic scans come from the independent generator :mod:`xrdkit.synthetic` (small: 2,000 points
10–50° 2θ, two or three phases) so each fit takes well under a second of CPU.
"""

from __future__ import annotations

import math

import lmfit
import numpy as np
import pytest

from xrdkit.errors import InputError, PhaseError
from xrdkit.refine import (
    RefineOptions,
    WarmStart,
    _covariance,
    fit_statistics,
    refine,
    screen_phases,
)
from xrdkit.scans import make_scan
from xrdkit.simulate import resolve_phases
from xrdkit.synthetic import PeakProfile, synthetic_pattern

GRID_DEG = np.linspace(10.0, 50.0, 2000)
PROFILE = PeakProfile(u_deg2=0.010, v_deg2=-0.005, w_deg2=0.006, eta=0.5)
PHASES = ("nbh-fcc", "nacro2", "al")
#: The synthetic profile is the same for every phase: per-phase broadening is not needed here.
OPTS = RefineOptions(refine_phase_broadening=False)


@pytest.fixture(scope="module")
def refls(library, instrument):
    return dict(zip(PHASES, resolve_phases(list(PHASES), instrument, 51.0, library=library), strict=True))


@pytest.fixture(scope="module")
def structures(library):
    return {n: library.get(n).structure for n in PHASES}


def _nbh_al(structures, seed: int, a_nbh: float | None = None, zero_shift_deg: float = 0.0):
    nbh = structures["nbh-fcc"]
    if a_nbh is not None:
        nbh = nbh.copy()
        nbh.scale_lattice(nbh.volume * (a_nbh / nbh.lattice.a) ** 3)
    return synthetic_pattern([nbh, structures["al"]], [0.6, 0.4], GRID_DEG, names=["nbh-fcc", "al"],
                             profile=PROFILE, rng=np.random.default_rng(seed),
                             zero_shift_deg=zero_shift_deg)


@pytest.fixture(scope="module")
def base_fit(structures, refls, instrument):
    pat = _nbh_al(structures, seed=0)
    return pat, refine(pat.to_scan("base"), [refls["nbh-fcc"], refls["al"]], instrument=instrument,
                       options=OPTS)


# ------------------------------------------------------------------ fit_statistics
def test_fit_statistics_analytic():
    obs = np.array([10.0, 20.0, 30.0, 40.0])
    calc = np.array([11.0, 19.0, 30.0, 42.0])
    sig = np.array([1.0, 2.0, 3.0, 4.0])
    k = 2
    st = fit_statistics(obs, calc, sig, k)
    chi2 = 1.0 + 0.25 + 0.0 + 0.25  # Σ ((obs − calc)/σ)²
    sw = 4 * 100.0  # Σ (obs/σ)²
    assert st["chi2"] == pytest.approx(chi2)
    assert st["redchi"] == pytest.approx(chi2 / (4 - k))
    assert st["rwp"] == pytest.approx(math.sqrt(chi2 / sw))
    assert st["rexp"] == pytest.approx(math.sqrt((4 - k) / sw))
    assert st["gof"] == pytest.approx(math.sqrt(chi2 / (4 - k)))
    assert st["rp"] == pytest.approx(4.0 / 100.0)
    assert st["aic"] == pytest.approx(chi2 + 2 * k)
    assert st["bic"] == pytest.approx(chi2 + k * math.log(4))


def test_fit_statistics_agree_with_lmfit_chisqr():
    """χ² and reduced χ² equal lmfit's for the same weighted residual."""
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 50)
    y = 3.0 + 2.0 * x + rng.normal(0, 0.1, x.size)
    sig = np.full(x.size, 0.1)
    res = lmfit.models.LinearModel().fit(y, x=x, weights=1 / sig, slope=1, intercept=0)
    st = fit_statistics(y, res.best_fit, sig, 2)
    assert st["chi2"] == pytest.approx(res.chisqr, rel=1e-10)
    assert st["redchi"] == pytest.approx(res.redchi, rel=1e-10)


def test_perfect_fit_has_zero_rwp():
    y = np.array([5.0, 7.0, 9.0])
    st = fit_statistics(y, y.copy(), np.ones(3), 1)
    assert st["rwp"] == 0.0 and st["chi2"] == 0.0 and st["rp"] == 0.0


def test_covariance_of_a_rank_deficient_normal_matrix():
    """A column that is a combination of two others (parameters on scales 1e-3 … 1e3): flagged
    singular, and the result is a generalised inverse (C·N·C = C) times χ²/ν; a full-rank
    matrix gives the plain inverse."""
    rng = np.random.default_rng(4)
    j = rng.normal(size=(50, 4)) * [1e-3, 1.0, 1e3, 1.0]
    full = j.T @ j
    cov, singular = _covariance(full, 2.0)
    assert not singular
    np.testing.assert_allclose(cov, 2.0 * np.linalg.inv(full), rtol=1e-8)
    j5 = np.column_stack([j, j[:, 1] + 2.0 * j[:, 3]])
    normal = j5.T @ j5
    cov, singular = _covariance(normal, 1.0)
    assert singular and np.isfinite(cov).all()
    np.testing.assert_allclose(cov @ normal @ cov, cov, rtol=1e-6, atol=1e-9 * np.abs(cov).max())


# ------------------------------------------------------------------ warm start, parameters
def test_warm_start_same_answer_fewer_evaluations(structures, refls, instrument, base_fit):
    """Next scan of a drifting series (a + 0.002 Å): warm start from the previous result."""
    _pat0, prev = base_fit
    pat = _nbh_al(structures, seed=1, a_nbh=10.031)
    scan = pat.to_scan("drifted")
    phases = [refls["nbh-fcc"], refls["al"]]
    cold = refine(scan, phases, instrument=instrument, options=OPTS)
    warm = refine(scan, phases, instrument=instrument, options=OPTS, start=prev)
    warm2 = refine(scan, phases, instrument=instrument, options=OPTS, start=prev.warm_start())
    assert isinstance(prev.warm_start(), WarmStart)
    assert warm.nfev < cold.nfev
    for r in (warm, warm2):
        assert r.rwp == pytest.approx(cold.rwp, rel=1e-4)
        assert r.phase("nbh-fcc").lattice["a"] == pytest.approx(cold.phase("nbh-fcc").lattice["a"], abs=1e-4)
        assert r.phase("nbh-fcc").weight_fraction == pytest.approx(
            cold.phase("nbh-fcc").weight_fraction, abs=1e-3)
    assert abs(warm.phase("nbh-fcc").lattice["a"] - 10.031) < 0.002
    # the previous result is not changed by being used as a start
    assert prev.phase("nbh-fcc").lattice["a"] == pytest.approx(10.029, abs=0.002)


def test_warm_start_carries_the_curvature_and_bounds_stay_on_the_phase_cell(structures, refls, instrument,
                                                                             base_fit):
    """A series warm start passes H along (same minimum); lattice bounds are centred on the
    phase's own cell, so a start near the edge cannot push them further scan after scan."""
    _pat0, prev = base_fit
    assert prev.curvature is not None and len(prev.curvature_labels) == prev.curvature.shape[0]
    pat = _nbh_al(structures, seed=3, a_nbh=10.031)
    phases = [refls["nbh-fcc"], refls["al"]]
    with_h = refine(pat.to_scan(), phases, instrument=instrument, options=OPTS, start=prev)
    bare = WarmStart(prev.theta.copy(), prev.theta_labels)  # no curvature: H computed at the start
    without_h = refine(pat.to_scan(), phases, instrument=instrument, options=OPTS, start=bare)
    assert with_h.njev <= without_h.njev
    assert with_h.phase("nbh-fcc").lattice["a"] == pytest.approx(without_h.phase("nbh-fcc").lattice["a"],
                                                                 abs=0.05 * with_h.phase("nbh-fcc").lattice_sigma["a"])
    # a start 1.4 % above the library cell: the upper bound stays at library × 1.015
    theta = prev.theta.copy()
    j = prev.theta_labels.index("nbh_fcc_a")
    theta[j] = 10.029 * 1.014
    far = refine(pat.to_scan(), phases, instrument=instrument, options=OPTS,
                 start=WarmStart(theta, prev.theta_labels))
    k = far.parameters.index("nbh_fcc_a")
    assert far.parameters.upper[k] == pytest.approx(10.029 * 1.015)
    assert far.parameters.lower[k] == pytest.approx(10.029 * 0.985)


def test_a_floored_gaussian_width_is_left_again(structures, refls, instrument, base_fit):
    """Started with V < 0 and W = 0 (the Caglioti FWHM² negative everywhere, held at its floor,
    where U, V, W have no gradient), the fit restarts from the instrument widths and ends as a
    fit from the ordinary start does."""
    pat, normal = base_fit
    theta = normal.theta.copy()
    theta[normal.theta_labels.index("v_deg2")] = -0.05
    theta[normal.theta_labels.index("w_deg2")] = 0.0
    trapped = WarmStart(theta, normal.theta_labels)
    res = refine(pat.to_scan("base"), [refls["nbh-fcc"], refls["al"]], instrument=instrument, options=OPTS,
                 start=trapped)
    assert res.value("w_deg2") > 1e-4
    assert res.rwp == pytest.approx(normal.rwp, rel=1e-3)
    assert res.phase("nbh-fcc").weight_fraction == pytest.approx(normal.phase("nbh-fcc").weight_fraction, abs=1e-3)


def test_warm_start_from_other_model_is_ignored(structures, refls, instrument, base_fit):
    _pat, prev = base_fit
    pat = synthetic_pattern([structures["al"]], [1.0], GRID_DEG, names=["al"], profile=PROFILE,
                            rng=np.random.default_rng(2))
    res = refine(pat.to_scan(), [refls["al"]], instrument=instrument, options=OPTS, start=prev)
    assert res.converged
    assert res.phase("al").lattice["a"] == pytest.approx(4.04958, abs=0.002)


def test_parameters_are_lmfit_with_stderr(base_fit):
    pat, res = base_fit
    assert isinstance(res.params, lmfit.Parameters)
    varied = [p for p in res.params.values() if p.vary]
    assert varied
    for p in varied:
        assert p.stderr is not None and np.isfinite(p.stderr) and p.stderr > 0, p.name
    nbh = res.phase("nbh-fcc")
    lat_par = next(p for n, p in res.params.items() if n.endswith("_a") and "nbh" in n)
    assert lat_par.value == pytest.approx(nbh.lattice["a"])
    assert lat_par.stderr == pytest.approx(nbh.lattice_sigma["a"])
    # correlations are symmetric
    a, b = varied[0], varied[1]
    assert a.correl[b.name] == pytest.approx(b.correl[a.name])
    # σ(w) is finite and small at 10⁴ counts; weight fractions sum to 1
    assert sum(p.weight_fraction for p in res.phases) == pytest.approx(1.0)
    assert 0 < nbh.weight_fraction_sigma < 0.01
    assert abs(nbh.weight_fraction - 0.6) < 0.02


def test_result_arrays_consistent(base_fit):
    pat, res = base_fit
    assert res.calculated == pytest.approx(res.background + sum(res.components.values()), rel=1e-9)
    np.testing.assert_allclose(res.residual, res.observed - res.calculated)
    np.testing.assert_array_equal(res.observed, pat.counts)
    # the R factors from the optimiser's sums equal those of the stored arrays
    st = fit_statistics(res.observed, res.calculated, res.sigma, res.n_params)
    for key in ("rp", "rwp", "rexp", "gof", "chi2", "bic"):
        assert getattr(res, key) == pytest.approx(st[key], rel=1e-9), key


# ------------------------------------------------------------------ pathologies → warnings
@pytest.fixture(scope="module")
def absent_fit(structures, refls, instrument):
    """NaCrO2 in the model, not in the data."""
    pat = _nbh_al(structures, seed=1)
    return refine(pat.to_scan(), [refls[n] for n in PHASES], instrument=instrument, options=OPTS)


def test_absent_phase_gets_negligible_weight(absent_fit):
    """NaCrO2 in the model, not in the data: weight fraction consistent with 0 (< 3σ, < 0.5 wt %)."""
    res = absent_fit
    ph = res.phase("nacro2")
    assert ph.weight_fraction < 0.005
    assert ph.weight_fraction <= 3.0 * ph.weight_fraction_sigma or ph.scale == 0.0
    if ph.scale == 0.0:
        assert any("nacro2" in w and "zero scale" in w for w in res.warnings)


def test_absent_phase_is_warned_about(absent_fit):
    res = absent_fit
    assert any("nacro2" in w for w in res.warnings), res.warnings


def test_parameter_at_bound_and_correlation_warned(structures, refls, instrument):
    """Zero shift 0.7° beyond the ±0.5° bound; zero and displacement both refined (collinear)."""
    pat = _nbh_al(structures, seed=0, zero_shift_deg=0.7)
    res = refine(pat.to_scan(), [refls["nbh-fcc"], refls["al"]], instrument=instrument,
                 options=RefineOptions(refine_phase_broadening=False, refine_displacement=True))
    assert any("zero_shift_deg at its bound" in w for w in res.warnings), res.warnings
    assert any("strong correlation" in w and "zero_shift_deg" in w and "displacement_mm" in w
               for w in res.warnings), res.warnings


# ------------------------------------------------------------------ bad input
def test_range_without_reflections(refls, instrument):
    x = np.linspace(5.0, 8.0, 300)  # first Al line is (111) at 38.5° 2θ
    counts = np.random.default_rng(0).poisson(100.0, x.size).astype(float)
    scan = make_scan(x, counts, np.sqrt(counts), wavelength_angstrom=1.5405929, source="empty.xy")
    with pytest.raises(InputError, match="no reflection") as info:
        refine(scan, [refls["al"]], instrument=instrument)
    assert "empty.xy" in str(info.value)


def test_fewer_points_than_parameters(structures, refls, instrument):
    """25 points around Al (111) against 30 background terms + scale + lattice + zero + widths."""
    pat = synthetic_pattern([structures["al"]], [1.0], np.linspace(37.5, 39.5, 25), names=["al"],
                            profile=PROFILE, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="cannot determine") as info:
        refine(pat.to_scan("short.xy"), [refls["al"]], instrument=instrument,
               options=RefineOptions(background_terms=30))
    assert "short.xy" in str(info.value)


def test_unknown_phase_name(base_fit, instrument, library):
    pat, _ = base_fit
    with pytest.raises(PhaseError, match="no-such-phase"):
        refine(pat.to_scan(), ["no-such-phase"], instrument=instrument, library=library)


def test_duplicated_phase_names(base_fit, refls, instrument):
    pat, _ = base_fit
    with pytest.raises(InputError, match="unique"):
        refine(pat.to_scan(), [refls["al"], refls["al"]], instrument=instrument)


def test_no_phases(base_fit, instrument):
    pat, _ = base_fit
    with pytest.raises(InputError, match="no phases"):
        refine(pat.to_scan(), [], instrument=instrument)


def test_nan_counts_rejected_by_make_scan():
    with pytest.raises(InputError):
        make_scan(np.array([10.0, 10.1, 10.2]), np.array([1.0, np.nan, 3.0]), None,
                  wavelength_angstrom=1.54, source="nan.xy")


def test_screen_sees_present_phases_and_not_the_absent_one(structures, refls, instrument):
    """60/40 NBH + Al data, NaCrO2 also screened: the two present ones far above 3σ, NaCrO2 not;
    the numbers equal those of a refinement with nothing nonlinear varied (same linear problem)."""
    scan = _nbh_al(structures, seed=2).to_scan()
    phases = [refls[n] for n in PHASES]
    screen = screen_phases(scan, phases, instrument=instrument, background_terms=OPTS.background_terms)
    assert set(screen) == set(PHASES)
    for name in ("nbh-fcc", "al"):
        wf, sd = screen[name]
        assert wf > 10 * sd > 0
    wf, sd = screen["nacro2"]
    assert not wf > 3 * sd
    fixed = RefineOptions(refine_lattice=False, refine_zero=False, refine_widths=(),
                          refine_phase_broadening=False, background_terms=OPTS.background_terms)
    ref = refine(scan, phases, instrument=instrument, options=fixed)
    for ph in ref.phases:
        assert screen[ph.name][0] == pytest.approx(ph.weight_fraction, rel=1e-9, abs=1e-12)
        assert screen[ph.name][1] == pytest.approx(ph.weight_fraction_sigma, rel=1e-6, abs=1e-12)


def test_brindley_tau_matches_the_sphere_integral_of_the_independent_generator():
    """refine's τ (volume-weighted chord distribution 3u²) against xrdkit.synthetic's direct
    in + out path integral over the sphere (Gauss–Legendre), at a low Bragg angle where the two
    paths coincide, and Brindley's small-contrast limit τ ≈ 1 − 1.5 ΔμR."""
    from xrdkit.refine import _brindley_tau
    from xrdkit.synthetic import brindley_tau

    for mu_r in (-0.5, -0.2, 0.05, 0.2, 0.5):
        assert _brindley_tau(np.array([2 * mu_r]))[0] == pytest.approx(brindley_tau(mu_r, 10.0)[0], rel=0.01)
    assert _brindley_tau(np.array([2e-3]))[0] == pytest.approx(1 - 1.5e-3, abs=1e-5)
