"""Seeded verdict cases for ``benchmarks/bench_verdicts.py`` (closokit issue 15).

Every case is a laboratory-like Cu Kα (Kα1 + Kα2) powder scan with a known answer to the
question :func:`xrdkit.identify.identify` answers: is there crystalline closo-borate, and did it
crystallise as the fcc Na4(B12H12)(B10H10) ("NBH") phase?

    from _verdict_cases import recipes, build_case
    cases = [build_case(r) for r in recipes(seed=15)]          # 74 cases
    cases = [build_case(r) for r in recipes(seed=15, quick=True)]  # every third case per family

Independence from the fitting model
-----------------------------------
The Bragg signal comes from :func:`xrdkit.synthetic.synthetic_pattern`: pymatgen line lists,
its own |F|² with Henke f′/f″ (anomalous dispersion always on), its own pseudo-Voigt, Kα2,
March–Dollase sums and Debye–Waller factor. It imports nothing of xrdkit's fitting modules
(reflections, profiles, instrument, simulate, refine, identify). This module adds, written out
here: the amorphous hump (a Gaussian in 2θ), the leftover-salt diagnostic line (a pseudo-Voigt
doublet from :func:`xrdkit.synthetic.pseudo_voigt`) and the Poisson noise. The pattern is made
noiseless first, the hump and the line are added to the expected counts, then one Poisson draw
is taken from the case's own generator.

Families (``FAMILIES``; the expected verdict in brackets)
---------------------------------------------------------
``pure-nbh`` [fcc]
    NBH alone; counts on the strongest point 2e3–2e5 (log-stratified), B 1–5 Å², size/strain
    broadening ×1–4 of the instrument FWHM (Caglioti U, V, W × k²).
``nbh-amorphous`` [fcc]
    NBH plus a Gaussian amorphous hump (FWHM 5–12°, centre 17–30°) carrying 0–40 % of the
    (hump + crystalline) intensity over the scan.
``electrode-nbh`` [fcc]
    NBH 5–20 wt % in NaCrO2 + Al, NaCrO2 (00l) March–Dollase r 0.6–1.0, every second one with
    a hump (0–30 %). identify is told ``nacro2``, ``al``.
``electrode-no-borate`` [no-borate]
    NaCrO2 + Al without electrolyte, with or without texture and hump; identify is told
    ``nacro2``, ``al`` (three cases in four) or nothing.
``anode-no-borate`` [no-borate]
    β-Sn + Al or β-Sn alone; identify is told the phases present or nothing.
``oxides-no-borate`` [no-borate]
    2–4 of the CPD round-robin oxides Al2O3, ZnO, CaF2 (``/work/shared/realdata/cpd_qpa``) and
    the library's brucite (texture on (001)), graphite monochromator polarisation; nothing passed.
``leftover-salt`` [mixed]
    NBH plus the literature diagnostic line of leftover room-temperature monoclinic Na2B10H10,
    d = 5.85 Å (FACTS.md §1: ≈ 15.1° Cu Kα, just below the NBH (111)), Kα1 + Kα2, carrying
    2–10 % of the NBH integrated intensity. One line only: no second line of that phase is known.
    Purity is not scored.
``separate`` [separate]
    The methanol route: the library's cubic stand-ins ``na2b12h12-ht`` + ``na2b10h10-ht``
    without NBH. These are HIGH-TEMPERATURE models (Im-3m at ≈ 553 K, Fm-3m at 410 K), not the
    monoclinic room-temperature salts a real methanol-route sample holds; they are the only
    separate-borate structures the library has. A few cases only.

``amorphous_intensity_share`` (truth) is ``hump area / (hump area + crystalline area)``, both
integrated over the scan grid (trapezoid), the smooth background excluded; the crystalline area
is the Bragg signal of every phase plus the diagnostic line.

Scans: 10–70° 2θ, one case in four 5–90°; step 0.02–0.03°; Caglioti U 0.004–0.012,
V −0.004 to −0.001, W 0.003–0.008 deg², η 0.3–0.7 (MiniFlex600-like, not a calibration);
zero shift ±0.02°; a background of an exponential plus a quadratic scaled to the counts.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xrdkit.scans import Scan, make_scan
from xrdkit.synthetic import (
    CU_KA1_ANGSTROM,
    CU_KA2_ANGSTROM,
    Background,
    LabEffects,
    PeakProfile,
    PhaseEffects,
    line_list,
    lorentz_polarisation,
    pseudo_voigt,
    synthetic_pattern,
)

__all__ = [
    "FAMILIES",
    "EXPECTED_VERDICT",
    "CaseRecipe",
    "VerdictCase",
    "recipes",
    "build_case",
    "verdict_cases",
    "amorphous_share",
    "two_theta_of_d",
    "DIAGNOSTIC_D_ANGSTROM",
    "NBH_111_TWO_THETA_DEG",
]

log = logging.getLogger(__name__)

#: Default master seed (the issue number).
DEFAULT_SEED = 15
#: Family → number of cases (≥ 6 each; 74 in all).
FAMILY_SIZES = {
    "pure-nbh": 12,
    "nbh-amorphous": 12,
    "electrode-nbh": 12,
    "electrode-no-borate": 8,
    "anode-no-borate": 6,
    "oxides-no-borate": 6,
    "leftover-salt": 12,
    "separate": 6,
}
FAMILIES = tuple(FAMILY_SIZES)
#: What identify should answer per family.
EXPECTED_VERDICT = {
    "pure-nbh": "fcc", "nbh-amorphous": "fcc", "electrode-nbh": "fcc",
    "electrode-no-borate": "no-borate", "anode-no-borate": "no-borate",
    "oxides-no-borate": "no-borate", "leftover-salt": "mixed", "separate": "separate",
}
#: ``--quick`` keeps case i of each family when i % QUICK_STRIDE == 0 (about a third).
QUICK_STRIDE = 3

#: d-spacing of the leftover monoclinic Na2B10H10 line beside NBH (FACTS.md §1, Duchêne 2019).
DIAGNOSTIC_D_ANGSTROM = 5.85
#: NBH (111): d = a/√3 with a = 10.029 Å (FACTS.md §1) at Cu Kα1.
NBH_A_ANGSTROM = 10.029
#: Kα2/Kα1 intensity ratio (before the LP ratio), as the generator's default.
KA2_RATIO = 0.5

#: CPD round-robin CIFs (real data folder, read-only) and the library's brucite.
CPD_DIR = Path("/work/shared/realdata/cpd_qpa")
CPD_OXIDES = ("Al2O3", "ZnO", "CaF2")
#: Graphite (002) diffracted-beam monochromator at Cu Kα (the CPD data were taken with one).
GRAPHITE_MONO_TWO_THETA_DEG = 26.6
#: Preferred-orientation axes (platelet normals, 3-index in the CIF cell).
NACRO2_PO_AXIS = (0, 0, 1)
BRUCITE_PO_AXIS = (0, 0, 1)
#: Mass ratio Na2B12H12 : Na2B10H10 of the equimolar solution (FACTS.md §4: 533.6 : 466.4 mg).
W_B12_EQUIMOLAR = 0.5336

# ranges (units in the names)
COUNTS_RANGE = (2e3, 2e5)
B_NBH_RANGE_ANGSTROM2 = (1.0, 5.0)
BROADENING_RANGE = (1.0, 4.0)
HUMP_SHARE_RANGE = (0.0, 0.40)
HUMP_FWHM_RANGE_DEG = (5.0, 12.0)
HUMP_CENTRE_RANGE_DEG = (17.0, 30.0)
NBH_ELECTRODE_WT_RANGE = (0.05, 0.20)
MARCH_RATIO_RANGE = (0.6, 1.0)
SALT_SHARE_RANGE = (0.02, 0.10)
#: Electrode/oxide phases: B (Å²) of well-ordered inorganic solids.
B_INORGANIC_RANGE_ANGSTROM2 = (0.3, 1.0)
#: Caglioti parameters (deg²) and η of a MiniFlex600-like instrument (constructed).
U_RANGE, V_RANGE, W_RANGE, ETA_RANGE = (0.004, 0.012), (-0.004, -0.001), (0.003, 0.008), (0.3, 0.7)
STEP_RANGE_DEG = (0.02, 0.03)
ZERO_SHIFT_RANGE_DEG = (-0.02, 0.02)
#: Background level as a fraction of the counts on the strongest point.
BACKGROUND_LEVEL_RANGE = (0.01, 0.04)
#: One case in WIDE_EVERY uses the wide 5–90° scan, the others 10–70°.
WIDE_EVERY = 4
NARROW_SCAN_DEG, WIDE_SCAN_DEG = (10.0, 70.0), (5.0, 90.0)


def two_theta_of_d(d_angstrom: float, wavelength_angstrom: float = CU_KA1_ANGSTROM) -> float:
    """Bragg angle 2θ (degrees) of a d-spacing."""
    return float(np.degrees(2.0 * np.arcsin(wavelength_angstrom / (2.0 * d_angstrom))))


#: NBH (111) at Cu Kα1 (≈ 15.29°).
NBH_111_TWO_THETA_DEG = two_theta_of_d(NBH_A_ANGSTROM / math.sqrt(3.0))


@dataclass(frozen=True)
class CaseRecipe:
    """Every number that defines one case (plain data: picklable, JSON-able)."""

    name: str
    family: str
    index: int
    seed: tuple[int, ...]
    phases: tuple[str, ...]
    weight_fractions: tuple[float, ...]
    electrode_phases: tuple[str, ...]
    expected_verdict: str
    scan_deg: tuple[float, float]
    step_deg: float
    counts_on_strongest: float
    b_iso_angstrom2: tuple[float, ...]
    broadening: tuple[float, ...]
    caglioti_uvw_deg2: tuple[float, float, float]
    eta: float
    zero_shift_deg: float
    background_level: float
    background_exp_ratio: float
    background_exp_decay_deg: float
    background_curvature: tuple[float, float]
    texture: tuple[tuple[str, tuple[int, int, int], float], ...] = ()
    hump: tuple[float, float, float] | None = None  # (centre °, FWHM °, share)
    salt_share: float | None = None
    salt_broadening: float = 1.0
    monochromator_two_theta_deg: float = 0.0


@dataclass(frozen=True)
class VerdictCase:
    """One scan with the answer identify should give.

    Attributes
    ----------
    name, family : str
    two_theta_deg, counts : ndarray
        The noisy scan (Poisson counts).
    electrode_phases : tuple of str
        What to pass as ``identify(..., electrode_phases=...)``.
    expected_verdict : str
    expected_purity : float or None
        1.0 for an fcc truth, None otherwise (not scored).
    amorphous_intensity_share : float
        True hump share of (hump + crystalline) intensity over the scan.
    diagnostic_line_share : float
        Area of the d = 5.85 Å doublet / NBH integrated intensity (0 without one).
    nbh_111_snr : float
        Expected NBH (111) peak height over the Poisson σ there (0 without NBH).
    crystalline_counts, hump_counts, background_counts : ndarray
        Noiseless parts of the expected counts (the diagnostic line is in the crystalline part).
    recipe : CaseRecipe
    """

    name: str
    family: str
    two_theta_deg: np.ndarray
    counts: np.ndarray
    electrode_phases: tuple[str, ...]
    expected_verdict: str
    expected_purity: float | None
    amorphous_intensity_share: float
    diagnostic_line_share: float
    nbh_111_snr: float
    crystalline_counts: np.ndarray = field(repr=False)
    hump_counts: np.ndarray = field(repr=False)
    background_counts: np.ndarray = field(repr=False)
    recipe: CaseRecipe = field(repr=False)

    @property
    def wavelength_angstrom(self) -> float:
        """Primary wavelength (Cu Kα1)."""
        return CU_KA1_ANGSTROM

    def to_scan(self) -> Scan:
        """The noisy scan as a validated :class:`~xrdkit.scans.Scan` (Poisson σ)."""
        return make_scan(self.two_theta_deg, self.counts, wavelength_angstrom=CU_KA1_ANGSTROM,
                         source=self.name, metadata={"family": self.family})


# ------------------------------------------------------------------ recipes


def _strata(rng: np.random.Generator, i: int, n: int, lo: float, hi: float, log: bool = False) -> float:
    """A draw from stratum ``i`` of ``n`` equal parts of [lo, hi] (so the range is covered)."""
    u = (i + rng.uniform()) / n
    if log:
        return float(10 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo))))
    return float(lo + u * (hi - lo))


def _weights(rng: np.random.Generator, n: int, low: float) -> tuple[float, ...]:
    """Dirichlet(1) weight fractions with every one ≥ ``low``."""
    while True:
        w = rng.dirichlet(np.ones(n))
        if w.min() >= low:
            return tuple(float(v) for v in w)


def _common(rng: np.random.Generator, i: int) -> dict:
    """Instrument, scan and background draws shared by every family."""
    wide = i % WIDE_EVERY == WIDE_EVERY - 1
    return {
        "scan_deg": WIDE_SCAN_DEG if wide else NARROW_SCAN_DEG,
        "step_deg": round(float(rng.uniform(*STEP_RANGE_DEG)), 3),
        "caglioti_uvw_deg2": (float(rng.uniform(*U_RANGE)), float(rng.uniform(*V_RANGE)),
                              float(rng.uniform(*W_RANGE))),
        "eta": float(rng.uniform(*ETA_RANGE)),
        "zero_shift_deg": float(rng.uniform(*ZERO_SHIFT_RANGE_DEG)),
        "background_level": float(rng.uniform(*BACKGROUND_LEVEL_RANGE)),
        "background_exp_ratio": float(rng.uniform(2.0, 8.0)),
        "background_exp_decay_deg": float(rng.uniform(6.0, 10.0)),
        "background_curvature": (float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.3, 0.3))),
    }


def _hump(rng: np.random.Generator, share: float) -> tuple[float, float, float]:
    return (float(rng.uniform(*HUMP_CENTRE_RANGE_DEG)), float(rng.uniform(*HUMP_FWHM_RANGE_DEG)),
            float(share))


def _recipe(family: str, i: int, n: int, seed: int) -> CaseRecipe:
    fam_id = FAMILIES.index(family)
    case_seed = (seed, fam_id, i)
    rng = np.random.default_rng(list(case_seed))
    common = _common(rng, i)
    electrodes: tuple[str, ...] = ()
    texture: tuple = ()
    hump = None
    salt_share = None
    salt_broadening = 1.0
    mono = 0.0
    if family == "pure-nbh":
        phases, w = ("nbh-fcc",), (1.0,)
        counts = _strata(rng, i, n, *COUNTS_RANGE, log=True)
        # B and broadening stratified on a shuffled order so they are not tied to the counts
        j = (i * 5) % n
        k = (i * 7 + 3) % n
        b = (_strata(rng, j, n, *B_NBH_RANGE_ANGSTROM2),)
        broad = (_strata(rng, k, n, *BROADENING_RANGE),)
    elif family == "nbh-amorphous":
        phases, w = ("nbh-fcc",), (1.0,)
        counts = float(10 ** rng.uniform(math.log10(5e3), math.log10(1e5)))
        b = (float(rng.uniform(1.0, 4.0)),)
        broad = (float(rng.uniform(1.0, 2.5)),)
        hump = _hump(rng, _strata(rng, i, n, *HUMP_SHARE_RANGE))
    elif family == "electrode-nbh":
        w_nbh = _strata(rng, i, n, *NBH_ELECTRODE_WT_RANGE)
        w_al = float(rng.uniform(0.1, 0.4)) * (1.0 - w_nbh)
        phases, w = ("nbh-fcc", "nacro2", "al"), (w_nbh, 1.0 - w_nbh - w_al, w_al)
        electrodes = ("nacro2", "al")
        counts = float(10 ** rng.uniform(4.0, math.log10(2e5)))
        b = (float(rng.uniform(1.0, 4.0)), *(float(rng.uniform(*B_INORGANIC_RANGE_ANGSTROM2))
                                             for _ in range(2)))
        broad = (float(rng.uniform(1.0, 2.5)), float(rng.uniform(1.0, 1.5)), 1.0)
        texture = (("nacro2", NACRO2_PO_AXIS, _strata(rng, (i * 5) % n, n, *MARCH_RATIO_RANGE)),)
        if i % 2 == 1:
            hump = _hump(rng, float(rng.uniform(0.0, 0.30)))
    elif family == "electrode-no-borate":
        w_al = float(rng.uniform(0.1, 0.4))
        phases, w = ("nacro2", "al"), (1.0 - w_al, w_al)
        electrodes = ("nacro2", "al") if i % 4 != 3 else ()
        counts = float(10 ** rng.uniform(math.log10(3e3), math.log10(2e5)))
        b = tuple(float(rng.uniform(*B_INORGANIC_RANGE_ANGSTROM2)) for _ in range(2))
        broad = (float(rng.uniform(1.0, 1.5)), 1.0)
        if i % 2 == 0:
            texture = (("nacro2", NACRO2_PO_AXIS, float(rng.uniform(*MARCH_RATIO_RANGE))),)
        if i % 4 in (1, 2):
            hump = _hump(rng, float(rng.uniform(0.05, 0.30)))
    elif family == "anode-no-borate":
        if i % 2 == 0:
            w_al = float(rng.uniform(0.1, 0.5))
            phases, w = ("beta-sn", "al"), (1.0 - w_al, w_al)
        else:
            phases, w = ("beta-sn",), (1.0,)
        electrodes = phases if i % 4 != 3 else ()
        counts = float(10 ** rng.uniform(math.log10(3e3), math.log10(2e5)))
        b = tuple(float(rng.uniform(*B_INORGANIC_RANGE_ANGSTROM2)) for _ in phases)
        broad = tuple(float(rng.uniform(1.0, 1.5)) for _ in phases)
        if i % 3 == 0:
            hump = _hump(rng, float(rng.uniform(0.05, 0.25)))
    elif family == "oxides-no-borate":
        pool = ("al2o3", "zno", "caf2", "brucite")
        n_ph = 2 + i % 3
        phases = tuple(str(p) for p in rng.choice(pool, size=n_ph, replace=False))
        w = _weights(rng, n_ph, 0.10)
        counts = float(10 ** rng.uniform(math.log10(3e3), math.log10(1e5)))
        b = tuple(float(rng.uniform(*B_INORGANIC_RANGE_ANGSTROM2)) for _ in phases)
        broad = tuple(float(rng.uniform(1.0, 1.5)) for _ in phases)
        if "brucite" in phases:
            texture = (("brucite", BRUCITE_PO_AXIS, float(rng.uniform(*MARCH_RATIO_RANGE))),)
        mono = GRAPHITE_MONO_TWO_THETA_DEG
    elif family == "leftover-salt":
        phases, w = ("nbh-fcc",), (1.0,)
        counts = float(10 ** rng.uniform(math.log10(5e3), math.log10(2e5)))
        b = (float(rng.uniform(1.0, 4.0)),)
        broad = (float(rng.uniform(1.0, 1.5)),)
        salt_share = _strata(rng, i, n, *SALT_SHARE_RANGE)
        salt_broadening = float(rng.uniform(1.0, 1.5))
    elif family == "separate":
        w12 = float(np.clip(W_B12_EQUIMOLAR + rng.uniform(-0.2, 0.2), 0.3, 0.7))
        phases, w = ("na2b12h12-ht", "na2b10h10-ht"), (w12, 1.0 - w12)
        counts = float(10 ** rng.uniform(math.log10(5e3), math.log10(1e5)))
        b = tuple(float(rng.uniform(1.0, 4.0)) for _ in phases)
        broad = tuple(float(rng.uniform(1.0, 2.0)) for _ in phases)
        if i % 2 == 1:
            hump = _hump(rng, float(rng.uniform(0.05, 0.20)))
    else:  # pragma: no cover - FAMILIES is closed
        raise ValueError(family)
    return CaseRecipe(
        name=f"{family}-{i:02d}", family=family, index=i, seed=case_seed, phases=phases,
        weight_fractions=tuple(float(v) for v in w), electrode_phases=tuple(electrodes),
        expected_verdict=EXPECTED_VERDICT[family], counts_on_strongest=float(counts),
        b_iso_angstrom2=tuple(float(v) for v in b), broadening=tuple(float(v) for v in broad),
        texture=texture, hump=hump, salt_share=salt_share, salt_broadening=salt_broadening,
        monochromator_two_theta_deg=mono, **common,
    )


def recipes(seed: int = DEFAULT_SEED, quick: bool = False) -> list[CaseRecipe]:
    """Every case recipe (families in ``FAMILIES`` order); ``quick`` keeps about a third."""
    out = []
    for family, n in FAMILY_SIZES.items():
        for i in range(n):
            if quick and i % QUICK_STRIDE:
                continue
            out.append(_recipe(family, i, n, seed))
    return out


# ------------------------------------------------------------------ patterns

_STRUCTURES: dict = {}


def _structure(name: str):
    """Library structure by name; the CPD oxides from their CIFs (cached per process)."""
    if name not in _STRUCTURES:
        from xrdkit.phases import PhaseLibrary, read_cif

        cpd = {n.lower(): n for n in CPD_OXIDES}
        if name in cpd:
            path = CPD_DIR / f"{cpd[name]}.cif"
            if not path.is_file():
                raise FileNotFoundError(f"{path} (CPD round-robin CIF) is missing")
            _STRUCTURES[name] = read_cif(path)
        else:
            if "_lib" not in _STRUCTURES:
                _STRUCTURES["_lib"] = PhaseLibrary()
            _STRUCTURES[name] = _STRUCTURES["_lib"].get(name).structure
    return _STRUCTURES[name]


def amorphous_share(two_theta_deg: np.ndarray, crystalline_counts: np.ndarray,
                    hump_counts: np.ndarray) -> float:
    """``∫hump / (∫hump + ∫crystalline)`` over the grid (trapezoid); 0 when both are 0."""
    a_h = float(np.trapezoid(hump_counts, two_theta_deg))
    a_c = float(np.trapezoid(crystalline_counts, two_theta_deg))
    return a_h / (a_h + a_c) if a_h + a_c > 0 else 0.0


def _gaussian(x: np.ndarray, centre_deg: float, fwhm_deg: float) -> np.ndarray:
    """Unit-height Gaussian."""
    return np.exp(-4.0 * math.log(2.0) * ((x - centre_deg) / fwhm_deg) ** 2)


def _diagnostic_doublet(x: np.ndarray, profile: PeakProfile, zero_shift_deg: float,
                        broadening: float) -> np.ndarray:
    """Kα1 + Kα2 pseudo-Voigt pair of the d = 5.85 Å line, unnormalised (area ≈ 1 + Kα2)."""
    tt1 = two_theta_of_d(DIAGNOSTIC_D_ANGSTROM, CU_KA1_ANGSTROM)
    tt2 = two_theta_of_d(DIAGNOSTIC_D_ANGSTROM, CU_KA2_ANGSTROM)
    ka2_area = KA2_RATIO * float(lorentz_polarisation(np.array([tt2]))[0]
                                 / lorentz_polarisation(np.array([tt1]))[0])
    out = np.zeros_like(x)
    for tt, area in ((tt1, 1.0), (tt2, ka2_area)):
        fwhm = float(profile.fwhm_deg(np.array([tt]))[0]) * broadening
        out += area * pseudo_voigt(x - (tt + zero_shift_deg), fwhm, profile.eta)
    return out


def build_case(recipe: CaseRecipe) -> VerdictCase:
    """Make the scan of one recipe (deterministic: the recipe's seed drives the noise)."""
    r = recipe
    lo, hi = r.scan_deg
    x = lo + r.step_deg * np.arange(int(math.floor((hi - lo) / r.step_deg + 1e-9)) + 1)
    u, v, w_ = r.caglioti_uvw_deg2
    instrument = PeakProfile(u_deg2=u, v_deg2=v, w_deg2=w_, eta=r.eta)
    profiles = [PeakProfile(u_deg2=u * k**2, v_deg2=v * k**2, w_deg2=w_ * k**2, eta=r.eta)
                for k in r.broadening]
    tex = {name: (axis, ratio) for name, axis, ratio in r.texture}
    effects = [PhaseEffects(march_dollase_axis=tex[p][0], march_dollase_ratio=tex[p][1])
               if p in tex else PhaseEffects() for p in r.phases]
    level = r.background_level * r.counts_on_strongest
    c1, c2 = r.background_curvature
    background = Background(exp_amplitude=level * r.background_exp_ratio * math.exp(lo / r.background_exp_decay_deg),
                            exp_decay_deg=r.background_exp_decay_deg,
                            poly=(level, level * c1, level * c2))
    pattern = synthetic_pattern(
        [_structure(p) for p in r.phases], r.weight_fractions, x, names=list(r.phases),
        profile=profiles, b_iso_angstrom2=list(r.b_iso_angstrom2), background=background,
        counts_on_strongest=r.counts_on_strongest, zero_shift_deg=r.zero_shift_deg, rng=None,
        effects=effects, lab=LabEffects(monochromator_two_theta_deg=r.monochromator_two_theta_deg),
    )
    crystalline = pattern.per_phase.sum(axis=0)
    salt_share = 0.0
    if r.salt_share:
        nbh = pattern.per_phase[r.phases.index("nbh-fcc")]
        doublet = _diagnostic_doublet(x, instrument, r.zero_shift_deg, r.salt_broadening)
        scale = r.salt_share * np.trapezoid(nbh, x) / np.trapezoid(doublet, x)
        crystalline = crystalline + scale * doublet
        salt_share = float(r.salt_share)
    hump = np.zeros_like(x)
    if r.hump is not None:
        centre, fwhm, share = r.hump
        unit = _gaussian(x, centre, fwhm)
        # share = H·∫unit / (H·∫unit + ∫crystalline)  ⇒  H = share/(1 − share) · ∫crystalline / ∫unit
        height = share / (1.0 - share) * np.trapezoid(crystalline, x) / np.trapezoid(unit, x)
        hump = height * unit
    expected = crystalline + hump + pattern.background
    counts = np.random.default_rng([*r.seed, 1]).poisson(expected).astype(float)
    snr = 0.0
    if "nbh-fcc" in r.phases:
        nbh = pattern.per_phase[r.phases.index("nbh-fcc")]
        near = np.abs(x - NBH_111_TWO_THETA_DEG - r.zero_shift_deg) < 0.1
        i_max = np.flatnonzero(near)[np.argmax(nbh[near])]
        snr = float(nbh[i_max] / math.sqrt(expected[i_max]))
    for arr in (x, counts, crystalline, hump):
        arr.setflags(write=False)
    return VerdictCase(
        name=r.name, family=r.family, two_theta_deg=x, counts=counts,
        electrode_phases=r.electrode_phases, expected_verdict=r.expected_verdict,
        expected_purity=1.0 if r.expected_verdict == "fcc" else None,
        amorphous_intensity_share=amorphous_share(x, crystalline, hump),
        diagnostic_line_share=salt_share, nbh_111_snr=snr, crystalline_counts=crystalline,
        hump_counts=hump, background_counts=np.asarray(pattern.background), recipe=r,
    )


def verdict_cases(seed: int = DEFAULT_SEED, quick: bool = False) -> list[VerdictCase]:
    """Every case built (about 0.3 s each)."""
    return [build_case(r) for r in recipes(seed, quick)]


def nearest_line_deg(phase: str, two_theta_deg: float, max_two_theta_deg: float = 90.0) -> float:
    """Distance (° 2θ, Kα1) from ``two_theta_deg`` to the nearest pymatgen line of ``phase``."""
    lines = line_list(_structure(phase), CU_KA1_ANGSTROM, max_two_theta_deg)
    return float(np.min(np.abs(lines.two_theta_deg - two_theta_deg))) if lines.two_theta_deg.size else math.inf
