"""Property tests: the model is monotonic in every input where the physics says it must be."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from xrdkit.cell import (
    Electrode,
    ElectrolyteParameters,
    FadeModel,
    electrolyte_conductivity,
    infiltration_loading,
    parse_composition,
    predict_cell,
    rate_capability,
)
from xrdkit.cell.rate import RateParameters

#: Slack for floating-point noise (root finding to 1e-12, bisection to 2⁻⁶⁰).
EPS = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

fraction = st.floats(0.0, 1.0)
temperature = st.floats(-30.0, 80.0)
rate = st.floats(0.05, 20.0)
loading = st.floats(1.0, 30.0)
mixing = st.sampled_from(["gem", "bruggeman"])


def _le(a: float, b: float) -> bool:
    return a <= b + EPS * max(1.0, abs(b))


@SETTINGS
@given(w1=fraction, w2=fraction, t=temperature, mix=mixing)
def test_sigma_increases_with_purity(w1: float, w2: float, t: float, mix: str) -> None:
    lo, hi = sorted((w1, w2))
    p = ElectrolyteParameters(mixing=mix)
    assert _le(electrolyte_conductivity(lo, t, p), electrolyte_conductivity(hi, t, p))


@SETTINGS
@given(w=fraction, t1=temperature, t2=temperature)
def test_sigma_increases_with_temperature(w: float, t1: float, t2: float) -> None:
    lo, hi = sorted((t1, t2))
    assert _le(electrolyte_conductivity(w, lo), electrolyte_conductivity(w, hi))


@SETTINGS
@given(w=st.floats(0.2, 0.9), s1=st.floats(-9, -5), s2=st.floats(-9, -5))
def test_sigma_increases_with_monoclinic_conductivity(w: float, s1: float, s2: float) -> None:
    lo, hi = sorted((10**s1, 10**s2))
    a = electrolyte_conductivity(w, 25.0, ElectrolyteParameters(sigma_monoclinic_25C_S_per_cm=lo))
    b = electrolyte_conductivity(w, 25.0, ElectrolyteParameters(sigma_monoclinic_25C_S_per_cm=hi))
    assert _le(a, b)


@SETTINGS
@given(r1=rate, r2=rate, w=st.floats(0.1, 1.0), m=loading)
def test_capacity_decreases_with_rate(r1: float, r2: float, w: float, m: float) -> None:
    lo, hi = sorted((r1, r2))
    e = Electrode(parse_composition("97:1:2"), m)
    cap = rate_capability(e, electrolyte_conductivity(w, 30.0), [lo, hi]).capacity_mAh_per_g
    assert _le(cap[1], cap[0])


@SETTINGS
@given(w1=fraction, w2=fraction, r=rate)
def test_capacity_increases_with_purity(w1: float, w2: float, r: float) -> None:
    lo, hi = sorted((w1, w2))
    e = Electrode(parse_composition("95:2:3"), 7.0)
    a = rate_capability(e, electrolyte_conductivity(lo, 30.0), [r]).capacity_mAh_per_g[0]
    b = rate_capability(e, electrolyte_conductivity(hi, 30.0), [r]).capacity_mAh_per_g[0]
    assert _le(a, b)


@SETTINGS
@given(m1=loading, m2=loading, r=rate, w=st.floats(0.2, 1.0))
def test_capacity_decreases_with_loading(m1: float, m2: float, r: float, w: float) -> None:
    lo, hi = sorted((m1, m2))
    s = electrolyte_conductivity(w, 30.0)
    a = rate_capability(Electrode(parse_composition("97:1:2"), lo), s, [r]).capacity_mAh_per_g[0]
    b = rate_capability(Electrode(parse_composition("97:1:2"), hi), s, [r]).capacity_mAh_per_g[0]
    assert _le(b, a)


@SETTINGS
@given(b1=st.floats(0.0, 5.0), b2=st.floats(0.0, 5.0), r=rate)
def test_capacity_decreases_with_binder(b1: float, b2: float, r: float) -> None:
    """More PVDF at the expense of carbon, same NaCrO2 loading."""
    lo, hi = sorted((b1, b2))
    s = electrolyte_conductivity(1.0, 30.0)
    ea = Electrode(parse_composition((94.0, lo, 6.0 - lo)), 7.0)
    eb = Electrode(parse_composition((94.0, hi, 6.0 - hi)), 7.0)
    assert _le(rate_capability(eb, s, [r]).capacity_mAh_per_g[0],
               rate_capability(ea, s, [r]).capacity_mAh_per_g[0])


@SETTINGS
@given(d1=st.floats(-12, -8), d2=st.floats(-12, -8), r=rate,
       sep1=st.floats(100, 800), sep2=st.floats(100, 800))
def test_capacity_vs_diffusivity_and_separator(d1: float, d2: float, r: float, sep1: float,
                                               sep2: float) -> None:
    e = Electrode(parse_composition("97:1:2"), 7.7)
    s = electrolyte_conductivity(1.0, 30.0)
    base = RateParameters()
    dlo, dhi = sorted((10**d1, 10**d2))
    a = rate_capability(e, s, [r], replace(base, diffusivity_cm2_per_s=dlo)).capacity_mAh_per_g[0]
    b = rate_capability(e, s, [r], replace(base, diffusivity_cm2_per_s=dhi)).capacity_mAh_per_g[0]
    assert _le(a, b)
    thin, thick = sorted((sep1, sep2))
    a = rate_capability(e, s, [r], replace(base, separator_thickness_um=thick))
    b = rate_capability(e, s, [r], replace(base, separator_thickness_um=thin))
    assert _le(a.capacity_mAh_per_g[0], b.capacity_mAh_per_g[0])


@SETTINGS
@given(t1=temperature, t2=temperature, r=rate)
def test_capacity_increases_with_temperature(t1: float, t2: float, r: float) -> None:
    lo, hi = sorted((t1, t2))
    e = Electrode(parse_composition("97:1:2"), 7.7)
    a = rate_capability(e, electrolyte_conductivity(0.9, lo), [r]).capacity_mAh_per_g[0]
    b = rate_capability(e, electrolyte_conductivity(0.9, hi), [r]).capacity_mAh_per_g[0]
    assert _le(a, b)


@SETTINGS
@given(n1=st.integers(0, 2000), n2=st.integers(0, 2000), p1=st.floats(0.5, 200),
       p2=st.floats(0.5, 200))
def test_fade_monotonic(n1: int, n2: int, p1: float, p2: float) -> None:
    f = FadeModel()
    nlo, nhi = sorted((n1, n2))
    plo, phi = sorted((p1, p2))
    assert _le(f.retention(nhi, plo), f.retention(nlo, plo))
    assert _le(f.retention(nhi, plo), f.retention(nhi, phi))


@SETTINGS
@given(c1=st.floats(1, 300), c2=st.floats(1, 300), v1=st.floats(0, 4), v2=st.floats(0, 4))
def test_infiltration_monotonic(c1: float, c2: float, v1: float, v2: float) -> None:
    e = Electrode(parse_composition("95:2:3"), 7.0)
    clo, chi = sorted((c1, c2))
    vlo, vhi = sorted((v1, v2))
    a = infiltration_loading(e, concentration_mg_per_mL=clo, solution_to_pore_volume=vlo)
    b = infiltration_loading(e, concentration_mg_per_mL=chi, solution_to_pore_volume=vhi)
    assert _le(a.electrolyte_weight_fraction, b.electrolyte_weight_fraction)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(w1=fraction, w2=fraction)
def test_predict_cell_energy_and_rate_table_monotonic_in_purity(w1: float, w2: float) -> None:
    """Nominal model (the Monte Carlo median is checked in test_cell_uncertainty)."""
    lo, hi = sorted((w1, w2))
    a, b = predict_cell(lo, uncertainty="none"), predict_cell(hi, uncertainty="none")
    assert _le(a.energy_Wh_per_kg, b.energy_Wh_per_kg)
    for ra, rb in zip(a.rate_table, b.rate_table, strict=True):
        assert _le(ra.capacity_mAh_per_g, rb.capacity_mAh_per_g)


@SETTINGS
@given(t1=st.floats(100, 800), t2=st.floats(100, 800), w1=fraction, w2=fraction, r=rate)
def test_capacity_vs_the_separator(t1: float, t2: float, w1: float, w2: float, r: float) -> None:
    """A thicker or less pure pellet never helps; the cathode's electrolyte is held fixed."""
    e = Electrode(parse_composition("97:1:2"), 7.7)
    s = electrolyte_conductivity(0.9, 30.0)
    thin, thick = sorted((t1, t2))
    wlo, whi = sorted((w1, w2))
    base = RateParameters()

    def cap(t: float, w: float) -> float:
        return rate_capability(e, s, [r], replace(base, separator_thickness_um=t),
                               separator_sigma_S_per_cm=electrolyte_conductivity(w, 30.0)
                               ).capacity_mAh_per_g[0]

    assert _le(cap(thick, whi), cap(thin, whi))
    assert _le(cap(thin, wlo), cap(thin, whi))


@SETTINGS
@given(f1=st.floats(0.05, 1.0), f2=st.floats(0.05, 1.0), r=rate, w=st.floats(0.2, 1.0))
def test_more_electrolyte_in_the_pores_never_hurts(f1: float, f2: float, r: float,
                                                   w: float) -> None:
    """More solution drying inside the pores → larger filled fraction → capacity not lower."""
    lo, hi = sorted((f1, f2))
    s = electrolyte_conductivity(w, 30.0)
    sep = electrolyte_conductivity(1.0, 30.0)
    a = Electrode(parse_composition("95:2:3"), 7.0, solution_in_pores=lo)
    b = Electrode(parse_composition("95:2:3"), 7.0, solution_in_pores=hi)
    assert a.electrolyte_volume_fraction <= b.electrolyte_volume_fraction
    assert _le(rate_capability(a, s, [r], separator_sigma_S_per_cm=sep).capacity_mAh_per_g[0],
               rate_capability(b, s, [r], separator_sigma_S_per_cm=sep).capacity_mAh_per_g[0])
