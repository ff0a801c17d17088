"""Tests of the independent synthetic-pattern generator :mod:`xrdkit.synthetic`.

External truths used: Bragg's law with Al a = 4.04958 Å (AMCSD 0011137), Cu Kα1/Kα2 wavelengths of
Hölzer et al. 1997, analytic fcc structure factors with xrayutilities' f0(q) tables, scipy
quadrature/root finding for the profile, atomic masses (IUPAC) for Z·M, and the Poisson
distribution.
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Lattice, Structure
from scipy import integrate, optimize

from xrdkit.errors import InputError
from xrdkit.synthetic import (
    CU_KA1_ANGSTROM,
    CU_KA2_ANGSTROM,
    Background,
    PeakProfile,
    lorentz_polarisation,
    pseudo_voigt,
    synthetic_pattern,
)

A_AL = 4.04958  # Å, AMCSD 0011137
A_NACL = 5.6402  # Å, NaCl (Walker et al. 2004)
M_AL = 26.9815385  # u, IUPAC
M_NA, M_CL = 22.98976928, 35.453
NO_BKG = Background(exp_amplitude=0.0, poly=())
GAUSS = PeakProfile(u_deg2=0.0, v_deg2=0.0, w_deg2=0.01, eta=0.0)  # FWHM 0.1° everywhere


@pytest.fixture(scope="module")
def al() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(A_AL), ["Al"], [[0, 0, 0]])


@pytest.fixture(scope="module")
def nacl() -> Structure:
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(A_NACL), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )


def bragg_two_theta(d: float, wavelength: float) -> float:
    return math.degrees(2.0 * math.asin(wavelength / (2.0 * d)))


def local_max(x: np.ndarray, y: np.ndarray, near: float, half_width: float = 0.15) -> float:
    """Position of the maximum of y near ``near`` (parabola through the top three points)."""
    idx = np.flatnonzero(np.abs(x - near) < half_width)
    i = idx[np.argmax(y[idx])]
    y0, y1, y2 = y[i - 1 : i + 2]
    return float(x[i] + 0.5 * (x[1] - x[0]) * (y0 - y2) / (y0 - 2 * y1 + y2))


def area(x: np.ndarray, y: np.ndarray, centre: float, half_width: float) -> float:
    sel = np.abs(x - centre) < half_width
    return float(integrate.trapezoid(y[sel], x[sel]))


# ---------------------------------------------------------------- profile


@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("fwhm", [0.02, 0.3])
def test_pseudo_voigt_unit_area_and_fwhm(eta: float, fwhm: float) -> None:
    def f(t: float) -> float:
        return float(pseudo_voigt(np.array(t), fwhm, eta))

    total, _ = integrate.quad(f, -np.inf, np.inf, points=None, limit=500)
    assert total == pytest.approx(1.0, abs=1e-6)
    half = optimize.brentq(lambda t: f(t) - f(0.0) / 2.0, 0.0, 10 * fwhm)
    assert 2 * half == pytest.approx(fwhm, rel=1e-9)


def test_caglioti_fwhm_measured_on_pattern(al: Structure) -> None:
    prof = PeakProfile(u_deg2=0.02, v_deg2=-0.01, w_deg2=0.008, eta=0.4)
    x = np.arange(30.0, 90.0, 0.001)
    p = synthetic_pattern([al], [1.0], x, ka2=False, profile=prof, background=NO_BKG)
    y = p.per_phase[0]
    for hkl_d in (A_AL / math.sqrt(3), A_AL / math.sqrt(11)):
        c = bragg_two_theta(hkl_d, CU_KA1_ANGSTROM)
        i0 = int(np.argmin(np.abs(x - c)))
        top = y[i0]
        above = np.flatnonzero((y > top / 2) & (np.abs(x - c) < 1.0))
        # linear interpolation of the half-maximum crossings on both sides
        lo, hi = above[0], above[-1]
        x_lo = np.interp(top / 2, [y[lo - 1], y[lo]], [x[lo - 1], x[lo]])
        x_hi = np.interp(top / 2, [y[hi + 1], y[hi]], [x[hi + 1], x[hi]])
        t = math.tan(math.radians(c / 2))
        expected = math.sqrt(0.02 * t * t - 0.01 * t + 0.008)
        assert x_hi - x_lo == pytest.approx(expected, rel=2e-3)


# ---------------------------------------------------------------- positions


@pytest.mark.parametrize("zero_shift_deg", [0.0, 0.037])
def test_al_peaks_at_bragg_positions(al: Structure, zero_shift_deg: float) -> None:
    x = np.arange(30.0, 90.0, 0.01)
    p = synthetic_pattern(
        [al], [1.0], x, ka2=False, background=NO_BKG, zero_shift_deg=zero_shift_deg
    )
    for h, k, ell in [(1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (2, 2, 2)]:
        d = A_AL / math.sqrt(h * h + k * k + ell * ell)
        expected = bragg_two_theta(d, CU_KA1_ANGSTROM) + zero_shift_deg
        assert local_max(x, p.per_phase[0], expected) == pytest.approx(expected, abs=2e-3)


def test_ka2_lines_where_bragg_puts_them(al: Structure) -> None:
    x = np.arange(30.0, 90.0, 0.002)
    both = synthetic_pattern([al], [1.0], x, ka2=True, profile=GAUSS, background=NO_BKG)
    one = synthetic_pattern([al], [1.0], x, ka2=False, profile=GAUSS, background=NO_BKG)
    ka2_only = both.per_phase[0] / both.phases[0].scale - one.per_phase[0] / one.phases[0].scale
    for h, k, ell in [(1, 1, 1), (3, 1, 1), (2, 2, 2)]:
        d = A_AL / math.sqrt(h * h + k * k + ell * ell)
        c1 = bragg_two_theta(d, CU_KA1_ANGSTROM)
        c2 = bragg_two_theta(d, 1.544414)  # brief's value; Hölzer 1997: 1.5444140
        assert local_max(x, ka2_only, c2) == pytest.approx(c2, abs=1e-3)
        # area ratio Kα2/Kα1 = 0.5 × LP(2θ2)/LP(2θ1)
        ratio = area(x, ka2_only, c2, 0.5) / area(x, one.per_phase[0] / one.phases[0].scale, c1, 0.5)
        t1, t2 = math.radians(c1 / 2), math.radians(c2 / 2)
        lp1 = (1 + math.cos(2 * t1) ** 2) / (math.sin(t1) ** 2 * math.cos(t1))
        lp2 = (1 + math.cos(2 * t2) ** 2) / (math.sin(t2) ** 2 * math.cos(t2))
        assert ratio == pytest.approx(0.5 * lp2 / lp1, rel=1e-4)


# ---------------------------------------------------------------- intensities


def test_pymatgen_intensities_match_analytic_fcc_al(al: Structure) -> None:
    """|F|²·m·LP for fcc Al (F = 4 f0) with xrayutilities' form factors: checks what we
    document pymatgen computes (multiplicity included, LP = (1+cos²2θ)/(sin²θ cosθ))."""
    xu = pytest.importorskip("xrayutilities")
    pat = XRDCalculator(CU_KA1_ANGSTROM).get_pattern(al, scaled=False, two_theta_range=(0, 90))
    for tt, inten, fam in zip(pat.x, pat.y, pat.hkls, strict=True):
        m = fam[0]["multiplicity"]
        q = 4 * math.pi * math.sin(math.radians(tt / 2)) / CU_KA1_ANGSTROM
        f0 = float(xu.materials.elements.Al.f0(q))
        expected = m * 16 * f0**2 * float(lorentz_polarisation(np.array(tt)))
        assert inten == pytest.approx(expected, rel=0.025)


def test_integrated_areas_equal_pymatgen_intensity_times_scale(al: Structure) -> None:
    x = np.arange(30.0, 90.0, 0.005)
    p = synthetic_pattern([al], [1.0], x, ka2=False, profile=GAUSS, background=NO_BKG)
    pat = XRDCalculator(CU_KA1_ANGSTROM).get_pattern(al, scaled=False, two_theta_range=(0, 90))
    for tt, inten in zip(pat.x, pat.y, strict=True):
        assert area(x, p.per_phase[0], tt, 0.5) == pytest.approx(p.phases[0].scale * inten, rel=1e-6)


def test_debye_waller_equals_pymatgen_dw(al: Structure) -> None:
    b = 1.3
    x = np.arange(30.0, 90.0, 0.005)
    p = synthetic_pattern(
        [al], [1.0], x, ka2=False, profile=GAUSS, background=NO_BKG, b_iso_angstrom2=b
    )
    pat = XRDCalculator(CU_KA1_ANGSTROM, debye_waller_factors={"Al": b}).get_pattern(
        al, scaled=False, two_theta_range=(0, 90)
    )
    for tt, inten in zip(pat.x, pat.y, strict=True):
        assert area(x, p.per_phase[0], tt, 0.5) == pytest.approx(p.phases[0].scale * inten, rel=1e-6)


def test_hill_howard_ratio_for_50_50_mixture(al: Structure, nacl: Structure) -> None:
    x = np.arange(20.0, 90.0, 0.005)
    p = synthetic_pattern(
        [al, nacl], [0.5, 0.5], x, ka2=False, profile=GAUSS, background=NO_BKG
    )
    calc = XRDCalculator(CU_KA1_ANGSTROM)
    i_al = calc.get_pattern(al, scaled=False, two_theta_range=(0, 90))
    i_nacl = calc.get_pattern(nacl, scaled=False, two_theta_range=(0, 90))
    # ZMV from atomic masses and a³ (independent of pymatgen's Composition)
    zmv_al = 4 * M_AL * A_AL**3
    zmv_nacl = 4 * (M_NA + M_CL) * A_NACL**3
    total = p.noiseless
    tt_al, in_al = i_al.x[0], i_al.y[0]  # Al (111) 38.47°, isolated from NaCl lines
    tt_nacl, in_nacl = i_nacl.x[1], i_nacl.y[1]  # NaCl (200) 31.7°
    assert abs(tt_al - tt_nacl) > 3
    measured = area(x, total, tt_al, 0.5) / area(x, total, tt_nacl, 0.5)
    predicted = (in_al / zmv_al) / (in_nacl / zmv_nacl)
    assert measured == pytest.approx(predicted, rel=1e-3)
    # and the inverse: weight fractions recovered from the areas of these two lines
    s_al = area(x, total, tt_al, 0.5) / in_al
    s_nacl = area(x, total, tt_nacl, 0.5) / in_nacl
    w_al = s_al * zmv_al / (s_al * zmv_al + s_nacl * zmv_nacl)
    assert w_al == pytest.approx(0.5, abs=1e-3)
    assert p.phases[0].density_g_cm3 == pytest.approx(2.699, abs=0.002)  # handbook value
    assert p.phases[1].density_g_cm3 == pytest.approx(2.165, abs=0.003)


# ---------------------------------------------------------------- counts and noise


def test_counts_on_strongest_and_background(al: Structure) -> None:
    x = np.arange(30.0, 60.0, 0.01)
    bkg = Background(exp_amplitude=500.0, exp_decay_deg=10.0, poly=(30.0, 5.0),
                     humps=((40.0, 8.0, 100.0),))
    p = synthetic_pattern([al], [1.0], x, background=bkg, counts_on_strongest=2e4)
    assert p.per_phase.sum(axis=0).max() == pytest.approx(2e4, rel=1e-12)
    u = (x - x[0]) / (x[-1] - x[0])
    expected = (500 * np.exp(-x / 10) + 30 + 5 * u
                + 100 * np.exp(-4 * math.log(2) * ((x - 40) / 8) ** 2))
    np.testing.assert_allclose(p.background, expected, rtol=1e-12)
    np.testing.assert_allclose(p.noiseless, p.per_phase.sum(axis=0) + expected, rtol=1e-12)
    np.testing.assert_array_equal(p.counts, p.noiseless)  # no rng: no noise


def test_poisson_noise_seeded(al: Structure, nacl: Structure) -> None:
    x = np.arange(20.0, 70.0, 0.0125)
    kw = dict(counts_on_strongest=1e4)
    a = synthetic_pattern([al, nacl], [0.3, 0.7], x, rng=np.random.default_rng(7), **kw)
    b = synthetic_pattern([al, nacl], [0.3, 0.7], x, rng=np.random.default_rng(7), **kw)
    c = synthetic_pattern([al, nacl], [0.3, 0.7], x, rng=np.random.default_rng(8), **kw)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    assert np.array_equal(a.counts, np.round(a.counts)) and (a.counts >= 0).all()
    z = (a.counts - a.noiseless) / np.sqrt(a.noiseless)
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert z.var() == pytest.approx(1.0, abs=4 * math.sqrt(2 / n))
    np.testing.assert_array_equal(a.sigma, np.sqrt(np.maximum(a.counts, 1)))


def test_inputs_not_mutated_and_outputs_read_only(al: Structure) -> None:
    x = np.arange(30.0, 60.0, 0.02)
    x.setflags(write=False)
    w = np.array([1.0])
    before = al.as_dict()
    p = synthetic_pattern([al], w, x, rng=np.random.default_rng(0))
    assert al.as_dict() == before and w[0] == 1.0
    for arr in (p.two_theta_deg, p.counts, p.sigma, p.noiseless, p.per_phase, p.background):
        assert not arr.flags.writeable
    assert p.weight_fractions == {"Al": 1.0}
    scan = p.to_scan()
    np.testing.assert_array_equal(scan.counts, p.counts)
    assert scan.wavelength_angstrom == CU_KA1_ANGSTROM
    assert scan.metadata["truth_weight_fractions"] == {"Al": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(weight_fractions=[0.6, 0.6]), "sum to 1"),
        (dict(weight_fractions=[1.2, -0.2]), "sum to 1"),
        (dict(weight_fractions=[1.0]), "weight fractions for 2"),
        (dict(two_theta_deg=np.array([30.0, 29.0, 40.0])), "increasing"),
        (dict(two_theta_deg=np.arange(5.0, 10.0, 0.01)), "no reflection"),
        (dict(profile=PeakProfile(eta=1.5)), "eta"),
        (dict(profile=PeakProfile(u_deg2=0, v_deg2=0, w_deg2=-1e-3)), "FWHM"),
        (dict(wavelength="MoKb"), "unknown radiation"),
        (dict(wavelength=1.2, ka2=True), "ka2_wavelength"),
        (dict(names=["a"]), "names"),
    ],
)
def test_bad_input(al: Structure, nacl: Structure, kwargs: dict, fragment: str) -> None:
    args = dict(structures=[al, nacl], weight_fractions=[0.5, 0.5],
                two_theta_deg=np.arange(20.0, 60.0, 0.02))
    args.update(kwargs)
    with pytest.raises(InputError, match=fragment):
        synthetic_pattern(**args)


def test_numeric_wavelength_and_default_ka2_constant(al: Structure) -> None:
    x = np.arange(30.0, 50.0, 0.01)
    p = synthetic_pattern([al], [1.0], x, wavelength=CU_KA1_ANGSTROM,
                          ka2_wavelength_angstrom=CU_KA2_ANGSTROM)
    q = synthetic_pattern([al], [1.0], x)
    np.testing.assert_allclose(p.noiseless, q.noiseless, rtol=1e-12)
    assert q.settings.ka2_wavelength_angstrom == pytest.approx(1.544414, abs=1e-6)


# ---------------------------------------------------------------- independence


FORBIDDEN = {"xrdkit.reflections", "xrdkit.profiles", "xrdkit.instrument", "xrdkit.simulate",
             "xrdkit.refine"}


def test_does_not_import_xrdkit_simulator() -> None:
    import xrdkit.synthetic as mod

    tree = ast.parse(Path(mod.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not imported & FORBIDDEN
    code = ("import sys, xrdkit.synthetic; "
            f"bad = {sorted(FORBIDDEN)!r}; "
            "print([m for m in bad if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- bundled example files

EXAMPLES = Path(__file__).resolve().parent.parent / "reference_data" / "examples"
NEXUS_FILES = {"isopropanol_series.h5": 12, "methanol_series.h5": 8, "electrodes.h5": 5}
ALL_FILES = {**NEXUS_FILES, "heating_stack.h5": 24}


def _load_make_examples():
    import importlib.util

    name = "_closokit_make_examples"
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[name]
    return mod


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@pytest.mark.parametrize("name", sorted(NEXUS_FILES))
def test_example_nexus_structure_and_truth(name: str) -> None:
    h5py = pytest.importorskip("h5py")
    path = EXAMPLES / name
    assert path.stat().st_size < 2_000_000
    with h5py.File(path, "r") as f:
        assert _text(f.attrs["NX_class"]) == "NXroot"
        assert "CONSTRUCTED" in _text(f.attrs["provenance"])
        assert _text(f.attrs["default"]) in f
        entries = [k for k in f if _text(f[k].attrs.get("NX_class", "")) == "NXentry"]
        assert len(entries) == NEXUS_FILES[name]
        for k in entries:
            e = f[k]
            data = e[_text(e.attrs["default"])]
            assert _text(data.attrs["NX_class"]) == "NXdata"
            y = data[_text(data.attrs["signal"])]
            x = data[_text(data.attrs["axes"])]
            assert _text(x.attrs["units"]) == "deg"
            assert y.shape == x.shape and x.shape[0] <= 4000
            assert (np.diff(x[()]) > 0).all() and (y[()] >= 0).all()
            wl = [d for p in ("instrument/source/wavelength", "instrument/beam/incident_wavelength")
                  if (d := e.get(p)) is not None]
            assert len(wl) == 1 and _text(wl[0].attrs["units"]) == "angstrom"
            assert wl[0][()] == pytest.approx(CU_KA1_ANGSTROM)
            assert _text(e["sample/temperature"].attrs["units"]) in ("degC", "K")
            assert _text(e["time"].attrs["units"]) == "s"
            phases = [_text(p) for p in e.attrs["truth_phases"]]
            w = np.asarray(e.attrs["truth_weight_fractions"])
            assert len(phases) == w.size and w.sum() == pytest.approx(1.0, abs=1e-9)
            borate = {p: wi for p, wi in zip(phases, w, strict=True) if "b1" in p or "nbh" in p}
            assert e.attrs["truth_fcc_weight_fraction"] == pytest.approx(
                borate.get("nbh-fcc", 0.0) / sum(borate.values()))
            assert np.asarray(e.attrs["truth_lattice_abc_angstrom"]).shape == (len(phases), 3)
        assert bool(f.attrs["illustrative"]) == (name != "isopropanol_series.h5")


def test_examples_read_by_xrdkit_hdf5() -> None:
    hdf5 = pytest.importorskip("xrdkit.hdf5")
    for name, n in ALL_FILES.items():
        refs = hdf5.list_scans(EXAMPLES / name)
        assert len(refs) == n, name
        scans = [hdf5.read_ref(r) for r in (refs[0], refs[-1])]
        for s in scans:
            assert s.n_points == 4000 and s.wavelength_angstrom == pytest.approx(CU_KA1_ANGSTROM)
            assert "temperature" in s.metadata and "temperature_units" in s.metadata
        assert scans[0].metadata["time"] < scans[1].metadata["time"]


def _truth_noiseless(entry_attrs, structures_by_name) -> np.ndarray:
    """Rebuild the expected counts from the stored truth alone."""
    phases = [_text(p) for p in entry_attrs["truth_phases"]]
    structs = []
    for p, abc, ang in zip(phases, entry_attrs["truth_lattice_abc_angstrom"],
                           entry_attrs["truth_lattice_angles_deg"], strict=True):
        s = structures_by_name[p].copy()
        s.lattice = Lattice.from_parameters(*abc, *ang)
        structs.append(s)
    uvw = entry_attrs["truth_caglioti_uvw_deg2"]
    profiles = [PeakProfile(*map(float, u), eta=float(e))
                for u, e in zip(uvw, entry_attrs["truth_eta"], strict=True)]
    humps = tuple(tuple(map(float, h)) for h in entry_attrs["truth_background_humps_center_fwhm_height"])
    bkg = Background(float(entry_attrs["truth_background_exp_amplitude"]),
                     float(entry_attrs["truth_background_exp_decay_deg"]),
                     tuple(map(float, entry_attrs["truth_background_poly"])), humps)
    return synthetic_pattern(
        structs, entry_attrs["truth_weight_fractions"], 5.0 + 0.01375 * np.arange(4000),
        names=phases, ka2_wavelength_angstrom=float(entry_attrs["truth_wavelength_ka2_angstrom"]),
        ka2_ratio=float(entry_attrs["truth_ka2_ratio"]), profile=profiles,
        b_iso_angstrom2=[float(b) for b in entry_attrs["truth_b_iso_angstrom2"]], background=bkg,
        counts_on_strongest=float(entry_attrs["truth_counts_on_strongest"]),
        zero_shift_deg=float(entry_attrs["truth_zero_shift_deg"]),
    ).noiseless


@pytest.mark.parametrize(("name", "entry"), [("isopropanol_series.h5", "scan_06"),
                                             ("electrodes.h5", "electrode_03")])
def test_example_counts_are_poisson_around_stored_truth(name: str, entry: str) -> None:
    """The truth attributes fully describe the data: χ²/N ≈ 1 against the rebuilt mean."""
    h5py = pytest.importorskip("h5py")
    from xrdkit.phases import PhaseLibrary

    lib = PhaseLibrary()
    with h5py.File(EXAMPLES / name, "r") as f:
        attrs = dict(f[entry].attrs)
        counts = f[entry]["data/counts"][()].astype(float)
    mean = _truth_noiseless(attrs, {p: lib.get(_text(p)).structure for p in attrs["truth_phases"]})
    chi2 = ((counts - mean) ** 2 / mean).mean()
    assert chi2 == pytest.approx(1.0, abs=4 * math.sqrt(2 / counts.size))


def test_examples_regenerate_identically(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    mod = _load_make_examples()
    out = mod.write_file("electrodes.h5", tmp_path)
    with h5py.File(out, "r") as new, h5py.File(EXAMPLES / "electrodes.h5", "r") as old:
        assert sorted(new) == sorted(old)
        for k in old:
            np.testing.assert_array_equal(new[k]["data/counts"][()], old[k]["data/counts"][()])
            np.testing.assert_allclose(new[k].attrs["truth_weight_fractions"],
                                       old[k].attrs["truth_weight_fractions"], rtol=0, atol=0)
