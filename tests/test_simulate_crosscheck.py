"""Cross-validation of the reflection lists and of ``simulate`` against independent codes and physics.

External truth used here:

- pymatgen ``XRDCalculator`` (same wavelength, no Debye–Waller): positions and m·|F|²·LP of
  every library phase.  Both use pymatgen's atomic scattering factors, so agreement must be
  tight (the task's bounds: 0.01° and 2 % of the strongest line).
- xrayutilities ``PowderDiffraction`` (its own hkl enumeration, structure-factor sum, line
  merging and Lorentz–polarisation; Waasmaier–Kirfel form factors).  Its anomalous dispersion
  (f′, f″) is switched off per instance so that only the form-factor parametrisations differ.
- Bragg's law, the Cu Kα1/Kα2 wavelengths and the Hill & Howard (1987) scale relation
  (doi:10.1107/S0021889887086199) for ``simulate``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from scipy.optimize import curve_fit

from xrdkit.errors import InputError, PhaseError
from xrdkit.instrument import CU_KA1_ANGSTROM, CU_KA2_ANGSTROM, Instrument
from xrdkit.phases import PhaseLibrary
from xrdkit.reflections import SITE_B_PROPERTY, _form_factor, compute_reflections
from xrdkit.simulate import simulate

#: 2θ range (deg) of the line comparisons (the task's range).
RANGE_DEG = (5.0, 90.0)
#: Lines closer than this (deg) are one line: pymatgen's ``TWO_THETA_TOL`` (1e-5°).
MERGE_TOL_DEG = 1e-5
#: Number of strongest lines compared.
N_LINES = 10
#: Position tolerance (deg) and intensity tolerance (% of the strongest line) from issue 2.
POSITION_TOL_DEG = 0.01
INTENSITY_TOL_PCT = 2.0

LIB = PhaseLibrary()
ALL_PHASES = LIB.names()


def _our_lines(structure, wavelength: float = CU_KA1_ANGSTROM) -> tuple[np.ndarray, np.ndarray]:
    """Merged (2θ, m·|F|²·LP) of our reflection list, unpolarised LP as pymatgen uses
    (f0 only, as pymatgen: anomalous dispersion off)."""
    structure = structure.copy()
    if SITE_B_PROPERTY in structure.site_properties:  # pymatgen applies no B unless told
        structure.remove_site_property(SITE_B_PROPERTY)
    refl = compute_reflections(structure, wavelength_angstrom=wavelength, two_theta_max_deg=RANGE_DEG[1],
                               anomalous=False)
    s = wavelength / (2.0 * refl.d_spacing_angstrom())
    ok = s < 1.0
    tt = 2.0 * np.degrees(np.arcsin(s[ok]))
    th = np.radians(tt) / 2.0
    inten = (refl.multiplicity * refl.f2)[ok] * (1 + np.cos(2 * th) ** 2) / (np.sin(th) ** 2 * np.cos(th))
    sel = (tt >= RANGE_DEG[0]) & (tt <= RANGE_DEG[1])
    return _merge(tt[sel], inten[sel])


def _merge(tt: np.ndarray, inten: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum lines with equal 2θ (within MERGE_TOL_DEG), as pymatgen and xrayutilities do."""
    order = np.argsort(tt)
    tt, inten = tt[order], inten[order]
    group = np.concatenate([[0], np.cumsum(np.diff(tt) > MERGE_TOL_DEG)])
    return np.bincount(group, tt) / np.bincount(group), np.bincount(group, inten)


def _compare_strongest(
    ref_tt: np.ndarray, ref_i: np.ndarray, our_tt: np.ndarray, our_i: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the N strongest reference lines: |Δ2θ|, Δ(relative intensity) in %, relative intensity."""
    top = np.argsort(ref_i)[::-1][:N_LINES]
    j = np.abs(our_tt[None, :] - ref_tt[top, None]).argmin(axis=1)
    d_pos = np.abs(our_tt[j] - ref_tt[top])
    rel_ref = 100.0 * ref_i[top] / ref_i.max()
    d_int = 100.0 * our_i[j] / our_i.max() - rel_ref
    return d_pos, d_int, rel_ref


@pytest.mark.parametrize("name", ALL_PHASES)
def test_reflections_match_pymatgen_xrdcalculator(name: str) -> None:
    structure = LIB.get(name).structure
    pattern = XRDCalculator(wavelength=CU_KA1_ANGSTROM).get_pattern(
        structure, scaled=False, two_theta_range=RANGE_DEG
    )
    ref_tt, ref_i = np.asarray(pattern.x), np.asarray(pattern.y)
    our_tt, our_i = _our_lines(structure)
    d_pos, d_int, _ = _compare_strongest(ref_tt, ref_i, our_tt, our_i)
    assert d_pos.max() < POSITION_TOL_DEG, f"{name}: position errors {d_pos}"
    assert np.abs(d_int).max() < INTENSITY_TOL_PCT, f"{name}: intensity errors (% of max) {d_int}"
    # and no strong line of ours is missing from pymatgen's list
    strong = our_i > 0.01 * our_i.max()
    gap = np.abs(our_tt[strong][:, None] - ref_tt[None, :]).min(axis=1)
    assert gap.max() < POSITION_TOL_DEG


@pytest.mark.parametrize("name", ["nacro2", "beta-sn", "na2b12h12-ht"])
def test_reflections_match_pymatgen_at_a_synchrotron_wavelength(name: str) -> None:
    """λ = 0.8 Å reaches ~3.5× more reciprocal-lattice volume in 5–90°: checks the hkl sphere."""
    lam = 0.8
    structure = LIB.get(name).structure
    pattern = XRDCalculator(wavelength=lam).get_pattern(structure, scaled=False, two_theta_range=RANGE_DEG)
    our_tt, our_i = _our_lines(structure, wavelength=lam)
    d_pos, d_int, _ = _compare_strongest(np.asarray(pattern.x), np.asarray(pattern.y), our_tt, our_i)
    assert d_pos.max() < POSITION_TOL_DEG
    assert np.abs(d_int).max() < INTENSITY_TOL_PCT


@pytest.mark.parametrize("name", ALL_PHASES)
def test_d_spacings_follow_the_changed_lattice(name: str, rng) -> None:
    """After a lattice change the list's d-spacings are pymatgen ``Lattice.d_hkl`` of the new cell."""
    from pymatgen.core import Lattice

    from xrdkit.reflections import lattice_from_parameters

    refl = compute_reflections(LIB.get(name).structure, wavelength_angstrom=CU_KA1_ANGSTROM,
                               two_theta_max_deg=60.0)
    values = refl.lattice_values()
    new = {k: v * (1 + rng.uniform(-0.02, 0.02)) for k, v in values.items()}
    full = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), refl.lattice.parameters, strict=True))
    full.update(new)
    if refl.crystal_system == "triclinic":
        lattice = Lattice.from_parameters(*(full[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")))
    else:
        lattice = lattice_from_parameters(refl.crystal_system, new)
        # the standard setting must reproduce the library cell at the reference values
        ref = lattice_from_parameters(refl.crystal_system, values)
        np.testing.assert_allclose(ref.parameters, refl.lattice.parameters, rtol=1e-9)
    expected = np.array([lattice.d_hkl(h) for h in refl.hkl])
    np.testing.assert_allclose(refl.d_spacing_angstrom(new), expected, rtol=1e-10)
    # and the analytic lattice gradient of 1/d² against central differences
    q, grad = refl.inverse_d2_and_gradient(np.array([new[k] for k in refl.lattice_parameter_names]))
    np.testing.assert_allclose(q, refl.inverse_d2(new), rtol=1e-12)
    for j, key in enumerate(refl.lattice_parameter_names):
        step = 1e-5 * new[key]
        up, dn = dict(new, **{key: new[key] + step}), dict(new, **{key: new[key] - step})
        fd = (refl.inverse_d2(up) - refl.inverse_d2(dn)) / (2 * step)
        np.testing.assert_allclose(grad[:, j], fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


# ---------------------------------------------------------------------- xrayutilities

def _xu_lines(name: str) -> tuple[np.ndarray, np.ndarray, object]:
    """xrayutilities line positions and strengths (f0 only, B = 0) for a library CIF."""
    xu = pytest.importorskip("xrayutilities")
    mat = xu.materials.Crystal.fromCIF(str(LIB.info(name).cif_path))
    base = list(mat.lattice.base())
    assert all(b == 0 for *_, b in base), "CIF carries displacement parameters; the comparison assumes B = 0"

    # Switch off anomalous dispersion on this instance only (xrayutilities adds f′ + i f″ of
    # its database at the beam energy; our |F|², like pymatgen's, is f0 only).
    def f0_only(q, en, _base=base):
        return [atom.f0(q) for atom, *_ in _base]

    mat._get_f = f0_only
    pd = xu.simpack.PowderDiffraction(mat, wl=CU_KA1_ANGSTROM, tt_cutoff=RANGE_DEG[1])
    tt = np.array([2.0 * v["ang"] for v in pd.data.values()])
    r = np.array([v["r"] for v in pd.data.values()])
    sel = (tt >= RANGE_DEG[0]) & (tt <= RANGE_DEG[1])
    return tt[sel], r[sel], base


def _form_factor_disagreement(base, s_max: float) -> float:
    """Largest relative difference of f0 (xrayutilities WK vs pymatgen) over 0 ≤ sinθ/λ ≤ s_max."""
    s = np.linspace(0.0, s_max, 200)
    worst = 0.0
    for atom in {a.basename: a for a, *_ in base}.values():
        f_xu = atom.f0(4.0 * np.pi * s)
        f_pm = _form_factor(atom.basename, s**2)
        worst = max(worst, float(np.max(np.abs(f_pm - f_xu) / f_xu)))
    return worst


#: Intensity tolerance vs xrayutilities (% of the strongest line).  Justification: with
#: anomalous dispersion off and B = 0, only the form-factor fits differ.  For the elements of
#: these phases pymatgen's f0 and Waasmaier–Kirfel's agree within 1.4 % up to sinθ/λ = 0.46
#: (Be 1.4, Al 1.0, Na 1.0, Cr 0.8, O 0.2 %; asserted < 2 % below), i.e. |F|² within ≈ 3 %,
#: and the ratio f_pymatgen/f_WK varies slowly with sinθ/λ, so most of it cancels when lines
#: are scaled to the strongest one.  Measured worst case 0.82 % (Be (102)); a wrong
#: multiplicity, LP or merge shows up as tens of %.
XU_INTENSITY_TOL_PCT = 1.0
XU_PHASES = ("al", "be", "nacro2")


@pytest.mark.parametrize("name", XU_PHASES)
def test_reflections_match_xrayutilities(name: str) -> None:
    ref_tt, ref_i, base = _xu_lines(name)
    s_max = np.sin(np.radians(RANGE_DEG[1] / 2)) / CU_KA1_ANGSTROM
    assert _form_factor_disagreement(base, s_max) < 0.02
    our_tt, our_i = _our_lines(LIB.get(name).structure)
    assert our_tt.size == ref_tt.size, f"{name}: {our_tt.size} lines vs xrayutilities {ref_tt.size}"
    d_pos, d_int, _ = _compare_strongest(ref_tt, ref_i, our_tt, our_i)
    assert d_pos.max() < POSITION_TOL_DEG, f"{name}: position errors {d_pos}"
    assert np.abs(d_int).max() < XU_INTENSITY_TOL_PCT, f"{name}: intensity errors (% of max) {d_int}"


@pytest.mark.xfail(
    strict=True,
    reason=(
        "pymatgen's Sn scattering factor (Mott–Bethe conversion of electron factors) exceeds the "
        "Waasmaier–Kirfel / Cromer–Mann X-ray f0 by up to 12 % at sinθ/λ = 0.46, so β-Sn "
        "high-angle lines are up to 4.3 % (of the strongest) too strong; xfail flips when "
        "reflections.py moves to WK/ITC form factors"
    ),
)
def test_beta_sn_matches_xrayutilities() -> None:
    ref_tt, ref_i, _ = _xu_lines("beta-sn")
    our_tt, our_i = _our_lines(LIB.get("beta-sn").structure)
    d_pos, d_int, _ = _compare_strongest(ref_tt, ref_i, our_tt, our_i)
    assert d_pos.max() < POSITION_TOL_DEG
    assert np.abs(d_int).max() < INTENSITY_TOL_PCT


# ---------------------------------------------------------------------- simulate()

def _narrow_instrument(*, ka2: bool = False, fwhm_deg: float = 0.05) -> Instrument:
    """Pure-Gaussian (X = Y = 0 → TCH η = 0), constant FWHM, unpolarised lab beam."""
    wl = (CU_KA1_ANGSTROM, CU_KA2_ANGSTROM) if ka2 else (CU_KA1_ANGSTROM,)
    ww = (1.0, 0.5) if ka2 else (1.0,)
    return Instrument(
        name="test-narrow", wavelengths_angstrom=wl, wavelength_weights=ww,
        u_deg2=0.0, v_deg2=0.0, w_deg2=fwhm_deg**2, x_deg=0.0, y_deg=0.0,
    )


def test_weight_fractions_follow_hill_howard() -> None:
    """Integrated component areas of a 30/70 wt % mixture vs w/(Z·M·V)·Σ m|F|²LP (pymatgen;
    f0 only, so our lists are built without f′/f″ here)."""
    names, w = ("al", "nacro2"), (0.3, 0.7)
    x = np.arange(10.0, 120.0, 0.005)
    f0_only = [compute_reflections(LIB.get(n).structure, wavelength_angstrom=CU_KA1_ANGSTROM,
                                   two_theta_max_deg=120.0, name=n, anomalous=False) for n in names]
    pat = simulate(f0_only, w, x, _narrow_instrument(), peak_max=0.0)
    predicted = []
    for name, wp in zip(names, w, strict=True):
        st = LIB.get(name).structure
        lines = XRDCalculator(wavelength=CU_KA1_ANGSTROM).get_pattern(st, scaled=False, two_theta_range=(10, 120))
        tt = np.asarray(lines.x)
        assert np.all((tt > 10.5) & (tt < 119.5)), "a line sits on the grid edge; pick another range"
        predicted.append(wp / (st.composition.weight * st.volume) * np.sum(lines.y))
    areas = [np.trapezoid(pat.components[n], x) for n in names]
    assert areas[0] / areas[1] == pytest.approx(predicted[0] / predicted[1], rel=5e-3)
    assert pat.weight_fractions == pytest.approx(dict(zip(names, w, strict=True)))


def _gauss(x, a, c, s):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2)


def _fit_centre(x: np.ndarray, y: np.ndarray, guess: float) -> tuple[float, float]:
    """Centre and area of the single Gaussian peak near ``guess``."""
    m = np.abs(x - guess) < 0.2
    p, _ = curve_fit(_gauss, x[m], y[m], p0=(y[m].max(), x[m][np.argmax(y[m])], 0.02))
    return float(p[1]), float(p[0] * abs(p[2]) * np.sqrt(2 * np.pi))


def test_lattice_change_moves_peaks_to_bragg_positions(monkeypatch) -> None:
    refl = compute_reflections(LIB.get("al").structure, wavelength_angstrom=CU_KA1_ANGSTROM,
                               two_theta_max_deg=120.0, name="al")
    a_new = 4.10
    # |F|² must not be recomputed: any structure-factor call now fails the test
    import xrdkit.reflections as reflections

    def forbidden(*args, **kwargs):
        raise AssertionError("structure factors recomputed")

    monkeypatch.setattr(reflections, "_structure_factor_sq", forbidden)
    x = np.arange(30.0, 120.0, 0.002)
    inst = _narrow_instrument()
    pat = simulate([refl], [1.0], x, inst, lattices=[{"a": a_new}], peak_max=0.0)
    pat0 = simulate([refl], [1.0], x, inst, peak_max=0.0)
    lp = inst.lorentz_polarisation
    for hkl in ((1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (4, 0, 0)):
        tt_new = 2 * np.degrees(np.arcsin(CU_KA1_ANGSTROM * np.linalg.norm(hkl) / (2 * a_new)))
        tt_old = 2 * np.degrees(np.arcsin(CU_KA1_ANGSTROM * np.linalg.norm(hkl) / (2 * 4.04958)))
        c_new, area_new = _fit_centre(x, pat.intensity, tt_new)
        c_old, area_old = _fit_centre(x, pat0.intensity, tt_old)
        assert c_new == pytest.approx(tt_new, abs=1e-3), hkl
        assert c_old == pytest.approx(tt_old, abs=1e-3), hkl
        # same |F|²·m, only LP (and the Hill–Howard volume in the scale) changes
        expected = lp(np.array([tt_new]))[0] / lp(np.array([tt_old]))[0] * (4.04958 / a_new) ** 3
        assert area_new / area_old == pytest.approx(expected, rel=2e-3), hkl


def test_ka2_lines_sit_at_ka2_bragg_positions() -> None:
    x = np.arange(60.0, 120.0, 0.002)
    inst = _narrow_instrument(ka2=True, fwhm_deg=0.04)
    pat = simulate(["al"], [1.0], x, inst, peak_max=0.0)
    a = 4.04958  # the library CIF's lattice constant
    for hkl in ((3, 1, 1), (4, 0, 0), (3, 3, 1)):
        tt1, tt2 = (2 * np.degrees(np.arcsin(lam * np.linalg.norm(hkl) / (2 * a)))
                    for lam in (CU_KA1_ANGSTROM, CU_KA2_ANGSTROM))
        assert tt2 - tt1 > 0.2  # resolved at FWHM 0.04°
        c1, area1 = _fit_centre(x, pat.intensity, tt1)
        c2, area2 = _fit_centre(x, pat.intensity, tt2)
        assert c1 == pytest.approx(tt1, abs=2e-3), hkl
        assert c2 == pytest.approx(tt2, abs=2e-3), hkl
        lp = inst.lorentz_polarisation(np.array([tt1, tt2]))
        assert area2 / area1 == pytest.approx(0.5 * lp[1] / lp[0], rel=1e-2), hkl


def test_simulate_does_not_mutate_its_inputs() -> None:
    x = np.arange(10.0, 60.0, 0.02)
    x.setflags(write=False)
    fractions = np.array([0.4, 0.6])
    fractions.setflags(write=False)
    pat = simulate(["al", "be"], fractions, x, _narrow_instrument())
    assert np.array_equal(pat.two_theta_deg, x) and np.all(np.isfinite(pat.intensity))


# ---------------------------------------------------------------------- bad input

GRID = np.arange(10.0, 40.0, 0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"fractions": [0.3, 0.6]}, InputError, "sum to 1"),
        ({"fractions": [1.2, -0.2]}, InputError, "[0, 1]"),
        ({"fractions": [1.0]}, InputError, "2 phases but 1"),
        ({"lattices": [{"a": -4.05}, None]}, InputError, "a=-4.05"),
        ({"lattices": [{"a": 0.0}, None]}, InputError, "must be > 0"),
        ({"two_theta_deg": np.linspace(0.0, 40.0, 50)}, InputError, "(0, 180)"),
        ({"two_theta_deg": np.linspace(-5.0, 40.0, 50)}, InputError, "(0, 180)"),
        ({"two_theta_deg": np.linspace(100.0, 185.0, 50)}, InputError, "(0, 180)"),
        ({"two_theta_deg": np.array([30.0, 20.0, 40.0])}, InputError, "increasing"),
        ({"two_theta_deg": np.array([10.0, np.nan, 40.0])}, InputError, "non-finite"),
        ({"phases": ["al", "nbh-fcx"]}, PhaseError, "nbh-fcx"),
        ({"instrument": "no-such-diffractometer"}, InputError, "miniflex600-cuka"),
    ],
)
def test_simulate_rejects_bad_input(kwargs: dict, error: type, words: str) -> None:
    args = {"phases": ["al", "be"], "fractions": [0.5, 0.5], "two_theta_deg": GRID,
            "instrument": "miniflex600-cuka"}
    args.update(kwargs)
    with pytest.raises(error) as info:
        simulate(args.pop("phases"), args.pop("fractions"), args.pop("two_theta_deg"), **args)
    assert words in str(info.value)


def test_unknown_phase_error_lists_the_library() -> None:
    with pytest.raises(PhaseError) as info:
        simulate(["beta-sm"], None, GRID)
    assert "beta-sn" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"wavelength_angstrom": -1.54, "two_theta_max_deg": 90.0}, "wavelength_angstrom"),
        ({"wavelength_angstrom": 1.54, "two_theta_max_deg": 180.0}, "(0, 180)"),
        ({"wavelength_angstrom": 1.54, "two_theta_max_deg": 0.0}, "(0, 180)"),
    ],
)
def test_compute_reflections_rejects_bad_input(kwargs: dict, words: str) -> None:
    with pytest.raises(InputError) as info:
        compute_reflections(LIB.get("al").structure, **kwargs)
    assert words in str(info.value)
