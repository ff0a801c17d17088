"""Band library (provenance, consistency with FACTS.md) and band shapes (against lmfit/scipy)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from lmfit.lineshapes import pvoigt as lmfit_pvoigt
from lmfit.lineshapes import voigt as lmfit_voigt
from scipy.integrate import quad
from scipy.optimize import brentq

from irkit.bands import ANION_SPECIES, load_band_library
from irkit.shapes import SHAPES, pseudo_voigt, pseudo_voigt_partials, voigt
from xrdkit.errors import InputError

#: Ranges from ../shared/reference/FACTS.md §2 (the priors must stay inside them).
FACTS_RANGES = {
    "B12H12:nu_BH": (2470, 2490),
    "B12H12:delta_BH": (1060, 1080),
    "B12H12:cage": (710, 730),
    "B10H10:nu_BH_eq": (2450, 2470),
    "B10H10:nu_BH_ap": (2500, 2530),
    "B10H10:delta_BH": (1000, 1080),
    "B10H10:cage": (650, 750),
    "isopropanol:nu_CC_skel": (950, 950),
    "isopropanol:nu_CC_b": (817, 817),
    "water:delta_HOH": (1600, 1650),
    "B-O:nu_BO_as": (1350, 1450),
    "PVDF:alpha_763": (763, 763),
}


def test_library_priors_match_facts_and_carry_provenance() -> None:
    lib = load_band_library()
    for label, (lo, hi) in FACTS_RANGES.items():
        assert lo <= lib.get(label).position_cm1 <= hi, label
    for band in lib:
        assert band.source and band.status in ("lit", "lit-approx", "unverified", "constructed")
        assert band.fwhm_min_cm1 <= band.fwhm_cm1 <= band.fwhm_max_cm1
    # the closo-borate priors other than the 2480 cm⁻¹ band are labelled unverified
    anion = [b for b in lib if b.species in ANION_SPECIES and b.label != "B12H12:nu_BH"]
    assert anion and all(b.status == "unverified" for b in anion)
    # every fitted region has both anions; overlap in the stretching region is real
    stretch = lib.select(ANION_SPECIES, low_cm1=2350, high_cm1=2650)
    assert {b.species for b in stretch} == set(ANION_SPECIES)
    assert len({b.prefix for b in lib}) == len(lib)


def _write_table(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    src = Path(load_band_library().source)
    with src.open(newline="", encoding="utf-8") as fh:
        fields = csv.DictReader(fh).fieldnames
    path = tmp_path / "bands.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"source": ""}, "provenance"), ({"fwhm_cm1": "500"}, "fwhm_min_cm1"),
     ({"marker": "maybe"}, "marker"), ({"position_cm1": "abc"}, "non-numeric"),
     ({"status": "guess"}, "status")],
)
def test_bad_band_table(tmp_path: Path, change: dict[str, str], problem: str) -> None:
    src = Path(load_band_library().source)
    with src.open(newline="", encoding="utf-8") as fh:
        row = next(iter(csv.DictReader(fh)))
    path = _write_table(tmp_path, [{**row, **change}])
    with pytest.raises(InputError, match=problem) as info:
        load_band_library(path)
    assert str(path) in str(info.value)
    dup = _write_table(tmp_path, [row, row])
    with pytest.raises(InputError, match="duplicated"):
        load_band_library(dup)


X = np.linspace(-200.0, 200.0, 4001)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_pseudo_voigt_equals_lmfit_and_is_area_normalised(fraction: float) -> None:
    np.testing.assert_allclose(pseudo_voigt(X, 2.5, 3.0, 7.0, fraction),
                               lmfit_pvoigt(X, 2.5, 3.0, 7.0, fraction), rtol=1e-12, atol=1e-15)
    area, _ = quad(lambda t: pseudo_voigt(t, 2.5, 3.0, 7.0, fraction), -np.inf, np.inf,
                   limit=200)
    assert area == pytest.approx(2.5, rel=1e-6)
    # FWHM = 2σ, found by root finding on the curve itself
    half = 0.5 * pseudo_voigt(3.0, 2.5, 3.0, 7.0, fraction)
    right = brentq(lambda t: pseudo_voigt(t, 2.5, 3.0, 7.0, fraction) - half, 3.0, 100.0)
    assert right - 3.0 == pytest.approx(7.0, rel=1e-9)


def test_voigt_equals_lmfit() -> None:
    for gamma in (0.5, 3.0, 10.0):
        np.testing.assert_allclose(voigt(X, 1.7, -4.0, 5.0, gamma),
                                   lmfit_voigt(X, 1.7, -4.0, 5.0, gamma), rtol=1e-12)


def test_partials_match_central_differences() -> None:
    p = np.array([2.0, 1.5, 6.0, 0.4])
    analytic = pseudo_voigt_partials(X, *p)
    for j in range(4):
        h = 1e-6 * max(abs(p[j]), 1.0)
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        numeric = (pseudo_voigt(X, *up) - pseudo_voigt(X, *dn)) / (2 * h)
        np.testing.assert_allclose(analytic[j], numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_broadcasts_and_stays_finite(name: str) -> None:
    func = SHAPES[name]
    amp = np.array([[1.0], [2.0]])
    out = func(X, amp, np.array([[0.0], [10.0]]), np.array([[1e-12], [50.0]]), 0.5)
    assert out.shape == (2, X.size)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[1], func(X, 2.0, 10.0, 50.0, 0.5))
