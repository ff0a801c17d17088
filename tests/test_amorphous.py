"""Amorphous hump: found where there is one, not invented where there is none, and carried by the fit.

Patterns come from the independent generator :mod:`xrdkit.synthetic` (pymatgen line lists, its own
profiles, a background of a decaying exponential + polynomial + Gaussian humps, Poisson noise);
nothing here is made by the fitting model. The true amorphous share is the hump's area over the
hump's plus the Bragg lines' area over the scan (background excluded).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrdkit.amorphous import HUMP_FWHM_BOUNDS_DEG, estimate_hump, hump_profile
from xrdkit.identify import Verdict, identify
from xrdkit.refine import RefineOptions, refine
from xrdkit.synthetic import Background, synthetic_pattern

GRID_DEG = np.arange(10.0, 70.0, 0.02)
#: FWHM (deg) of the generated humps: an amorphous borate / glass contribution.
HUMP_FWHM_DEG = 8.0
HUMP_CENTRE_DEG = 22.0


def _nbh_with_hump(library, share: float, counts: float, seed: int):
    """NBH whose hump carries ``share`` of (hump + Bragg) intensity: (scan, true share)."""
    nbh = library.get("nbh-fcc").structure
    dry = synthetic_pattern([nbh], [1.0], GRID_DEG, names=["nbh-fcc"], counts_on_strongest=counts)
    bragg = float(np.trapezoid(dry.per_phase.sum(axis=0), GRID_DEG))
    area = share / (1.0 - share) * bragg
    height = area / (HUMP_FWHM_DEG * math.sqrt(math.pi / (4 * math.log(2))))
    bg = Background(humps=((HUMP_CENTRE_DEG, HUMP_FWHM_DEG, height),)) if share > 0 else Background()
    pat = synthetic_pattern([nbh], [1.0], GRID_DEG, names=["nbh-fcc"], counts_on_strongest=counts, background=bg,
                            rng=np.random.default_rng(seed))
    return pat.to_scan(source=f"nbh-hump-{share}"), share


def test_hump_profile_has_unit_area_and_fwhm():
    x = np.linspace(0, 100, 200001)
    g = hump_profile(x, 50.0, 8.0)
    assert np.trapezoid(g, x) == pytest.approx(1.0, rel=1e-6)
    above = x[g >= g.max() / 2]
    assert above[-1] - above[0] == pytest.approx(8.0, abs=1e-3)


def test_hump_on_smooth_background_is_found():
    """A Gaussian hump on the generator's exp + polynomial background, no peaks."""
    bg = Background(humps=((25.0, 9.0, 300.0),))
    rng = np.random.default_rng(3)
    y = rng.poisson(bg.evaluate(GRID_DEG)).astype(float)
    h = estimate_hump(GRID_DEG, y)
    assert h is not None
    assert h.centre_deg == pytest.approx(25.0, abs=1.0)
    assert h.fwhm_deg == pytest.approx(9.0, rel=0.2)
    assert HUMP_FWHM_BOUNDS_DEG[0] <= h.fwhm_deg <= HUMP_FWHM_BOUNDS_DEG[1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_hump_is_invented_on_a_smooth_background(seed):
    """Negative control: the generator's exp + polynomial background alone → no hump."""
    y = np.random.default_rng(seed).poisson(Background().evaluate(GRID_DEG)).astype(float)
    assert estimate_hump(GRID_DEG, y) is None


@pytest.mark.parametrize("share", [0.0, 0.15, 0.3])
def test_refine_carries_the_hump_and_identify_reports_its_share(library, share):
    scan, truth = _nbh_with_hump(library, share, counts=2e4, seed=11)
    v = identify(scan, ["nbh-fcc"])
    assert v.verdict == Verdict.FCC
    assert v.fcc_weight_fraction == pytest.approx(1.0, abs=1e-9)
    assert v.amorphous_intensity_share == pytest.approx(truth, abs=0.05)
    if share > 0:
        comp = v.best.extra_components["amorphous"]
        assert (comp >= 0).all() and comp.max() > 0
        # part of the background the fit reports
        assert (v.best.background - comp).min() > -1e-6 * v.best.background.max()
    d = v.to_dict()
    assert 0.0 <= d["amorphous_intensity_share"] <= 1.0


def test_extra_background_column_is_non_negative(library):
    """A hump column offered to a scan without a hump is clamped at zero, not made negative."""
    scan, _ = _nbh_with_hump(library, 0.0, counts=2e4, seed=5)
    col = hump_profile(GRID_DEG, 40.0, 10.0)
    r = refine(scan, ["nbh-fcc"], options=RefineOptions(background_terms=4), extra_background={"amorphous": col})
    area = float(np.trapezoid(r.extra_components["amorphous"], GRID_DEG))
    assert area >= 0.0
    assert "amorphous_area" in r.parameters.names


@pytest.mark.slow
def test_internal_standard_gives_the_amorphous_weight_fraction(library):
    """Spike method: 20 wt % corundum in a mixture of 48 wt % NBH and 32 wt % amorphous material
    (the original sample: 60 % NBH, 40 % amorphous). The generator weights the crystalline phases
    by Hill–Howard (corundum 0.20/0.68, NBH 0.48/0.68) and adds the amorphous hump as counts."""
    from xrdkit._paths import reference_data_dir
    from xrdkit.phases import PhaseLibrary

    lib = PhaseLibrary()
    lib.add_cif(reference_data_dir() / "standards" / "al2o3.cif", name="al2o3", persist=False)
    structs = [lib.get("al2o3").structure, lib.get("nbh-fcc").structure]
    bg = Background(humps=((HUMP_CENTRE_DEG, HUMP_FWHM_DEG, 400.0),))
    pat = synthetic_pattern(structs, [0.20 / 0.68, 0.48 / 0.68], GRID_DEG, names=["al2o3", "nbh-fcc"],
                            counts_on_strongest=2e4, background=bg, rng=np.random.default_rng(8))
    v = identify(pat.to_scan(source="spiked"), ["nbh-fcc"], library=lib, spike=("al2o3", 0.20))
    assert v.verdict == Verdict.FCC
    std = v.internal_standard
    assert std.amorphous_weight_fraction == pytest.approx(0.40, abs=max(0.05, 3 * std.amorphous_weight_fraction_sigma))
    assert std.weight_fractions["nbh-fcc"] == pytest.approx(0.60, abs=0.05)
    assert v.to_dict()["amorphous_weight_fraction"] == pytest.approx(std.amorphous_weight_fraction)
    assert v.amorphous_intensity_share > 0.05
    # without a spike there is no amorphous weight fraction, only the intensity share
    assert identify(pat.to_scan(), ["nbh-fcc"], library=lib).to_dict()["amorphous_weight_fraction"] is None


@pytest.mark.parametrize(("text", "expected"), [("al2o3:0.2", ("al2o3", 0.2)), ("Al2O3:20", ("al2o3", 0.2)),
                                                ("si:5", ("si", 0.05))])
def test_spike_option_parsing(text, expected):
    import argparse

    from xrdkit.commands._common import spike_from_args

    name, wt = spike_from_args(argparse.Namespace(spike=text))
    assert name == expected[0] and wt == pytest.approx(expected[1])


@pytest.mark.parametrize("text", ["al2o3", "al2o3:x", "al2o3:0", "al2o3:100"])
def test_spike_option_rejects_bad_values(text):
    import argparse

    from xrdkit.commands._common import spike_from_args
    from xrdkit.errors import InputError

    with pytest.raises(InputError, match="--spike"):
        spike_from_args(argparse.Namespace(spike=text))
