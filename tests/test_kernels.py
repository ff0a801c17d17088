"""The compiled profile kernels agree with the numpy reference path (xrdkit.profiles.peak_matrices)."""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit import _jit, _kernels
from xrdkit.profiles import DEFAULT_WINDOW_FWHM, MAX_WINDOW_HALF_DEG

pytestmark = pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba not installed: only the numpy path runs")


def _peaks(rng: np.random.Generator, k: int = 25):
    centre = np.sort(rng.uniform(6.0, 64.0, k))
    fwhm = rng.uniform(0.04, 0.3, k)  # some windows capped at 4°
    eta = rng.uniform(0.0, 1.0, k)
    asym = np.where(rng.random(k) < 0.5, rng.uniform(-0.3, 0.3, k), 0.0)
    amp = rng.uniform(0.0, 100.0, k)
    col = rng.integers(0, 3, k)
    return centre, fwhm, eta, asym, amp, col


def _both(monkeypatch, fn):
    out_nb = fn()
    monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    out_np = fn()
    monkeypatch.setattr(_jit, "HAVE_NUMBA", True)
    return out_nb, out_np


def test_columns_numba_equals_numpy(monkeypatch) -> None:
    x = np.linspace(5.0, 65.0, 4000)
    centre, fwhm, eta, asym, amp, col = _peaks(np.random.default_rng(3))

    def run():
        out = np.zeros((x.size, 3))
        n = _kernels.accumulate_columns(x, centre, fwhm, eta, asym, amp, col, out,
                                        window_fwhm=DEFAULT_WINDOW_FWHM, max_window_half_deg=MAX_WINDOW_HALF_DEG)
        return out, n

    (a, na), (b, nb) = _both(monkeypatch, run)
    assert na == nb > 0
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max())


@pytest.mark.parametrize("per_column", [False, True])
def test_jacobian_numba_equals_numpy(monkeypatch, per_column: bool) -> None:
    rng = np.random.default_rng(7)
    x = np.linspace(5.0, 65.0, 3000)
    centre, fwhm, eta, asym, amp, col = _peaks(rng)
    chain = rng.normal(size=(centre.size, _kernels.N_CHANNELS, 4))  # base and derived channels
    mix = rng.normal(size=(centre.size, 3, _kernels.N_BASE_CHANNELS))

    def run():
        out = np.zeros((x.size, 3))
        jac = np.zeros((3 if per_column else 1, 4, x.size))
        _kernels.accumulate_jacobian(x, centre, fwhm, eta, asym, amp, col, chain, out, jac,
                                     col if per_column else None, mix=mix,
                                     window_fwhm=DEFAULT_WINDOW_FWHM, max_window_half_deg=MAX_WINDOW_HALF_DEG)
        return out, jac

    (a, ja), (b, jb) = _both(monkeypatch, run)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max())
    np.testing.assert_allclose(ja, jb, rtol=1e-9, atol=1e-11 * np.abs(jb).max())
    if per_column:  # the per-column Jacobians sum to the combined one
        comb = np.zeros((1, 4, x.size))
        _kernels.accumulate_jacobian(x, centre, fwhm, eta, asym, amp, col, chain, np.zeros((x.size, 3)), comb,
                                     mix=mix, window_fwhm=DEFAULT_WINDOW_FWHM,
                                     max_window_half_deg=MAX_WINDOW_HALF_DEG)
        np.testing.assert_allclose(ja.sum(axis=0), comb[0], rtol=1e-10, atol=1e-12 * np.abs(comb).max())


def test_refinement_identical_without_numba(monkeypatch) -> None:
    """The whole fit on the numpy/Python path (what runs without numba) gives the numba result."""
    from xrdkit.instrument import load_instrument
    from xrdkit.phases import PhaseLibrary
    from xrdkit.refine import RefineOptions, refine
    from xrdkit.session import FitSession
    from xrdkit.simulate import resolve_phases
    from xrdkit.synthetic import PeakProfile, synthetic_pattern

    lib = PhaseLibrary()
    inst = load_instrument("miniflex600-cuka")
    x = np.linspace(10.0, 60.0, 1500)
    pat = synthetic_pattern([lib.get("nbh-fcc").structure, lib.get("al").structure], [0.6, 0.4], x,
                            names=["nbh-fcc", "al"], profile=PeakProfile(0.004, -0.002, 0.004, 0.5),
                            rng=np.random.default_rng(11))
    refls = resolve_phases(["nbh-fcc", "al"], inst, 61.0, library=lib)
    opts = RefineOptions(refine_asymmetry=True)
    fast = refine(pat.to_scan(), refls, instrument=inst, options=opts)
    monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    # a fresh session: no memoised evaluation of the fast run may be reused
    slow = refine(pat.to_scan(), refls, instrument=inst, options=opts, session=FitSession())
    assert slow.nfev == fast.nfev
    np.testing.assert_allclose(slow.theta, fast.theta, rtol=1e-7, atol=1e-10)
    assert slow.rwp == pytest.approx(fast.rwp, rel=1e-9)
    for a, b in zip(slow.phases, fast.phases, strict=True):
        assert a.weight_fraction == pytest.approx(b.weight_fraction, abs=1e-9)
