"""Regenerate the bundled example HDF5 files (run from the repository root).

    .venv/bin/python reference_data/examples/make_examples.py [OUT_DIR]

Every pattern is made by :func:`xrdkit.synthetic.synthetic_pattern`, which uses pymatgen line
lists with its own broadening. It does not use xrdkit's simulator. The phases come from
:class:`xrdkit.phases.PhaseLibrary`. The output is seeded, so the arrays are the same on every
run. Every number that went into a scan is stored as a ``truth_*`` attribute of its entry, so tests
can compare fits with the truth. See ``README.md`` beside this script for what each file holds and
how far it can be trusted: everything here is CONSTRUCTED, not measured.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from pymatgen.core import Structure

from xrdkit.phases import PhaseLibrary
from xrdkit.synthetic import (
    CU_KA1_ANGSTROM,
    CU_KA2_ANGSTROM,
    Background,
    PeakProfile,
    SyntheticPattern,
    synthetic_pattern,
)

HERE = Path(__file__).resolve().parent
#: Master seed; each file draws from its own child of this seed sequence.
SEED = 20261125
#: Common 2θ grid: 4,000 points from 5° at 0.01375° (to 59.986°).
TWO_THETA_DEG = 5.0 + 0.01375 * np.arange(4000)
#: Linear thermal expansion used for the borate models (K⁻¹). Derived from FACTS.md: high-T
#: Na2B10H10 has a = 9.8426 Å at 410 K and 9.854 Å at 453 K, giving 2.69e-5 K⁻¹. It is applied
#: to all three borate models: constructed, not measured for NBH.
ALPHA_BORATE_PER_K = 2.69e-5
#: Instrument profile (Rigaku MiniFlex600-like, constructed): Caglioti U, V, W (deg²), η.
INSTRUMENT = PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004, eta=0.5)
#: Mass ratio of the equimolar infiltration solution (FACTS.md §4: 533.6 mg Na2B12H12 +
#: 466.4 mg Na2B10H10 per gram).
W_B12_OF_SEPARATE = 0.5336
BORATES = ("nbh-fcc", "na2b10h10-ht", "na2b12h12-ht")
COMPRESSION = dict(compression="gzip", compression_opts=6, shuffle=True)


@dataclass(frozen=True)
class ScanSpec:
    """Everything that defines one synthetic scan."""

    label: str
    phases: tuple[str, ...]
    weight_fractions: tuple[float, ...]
    temperature_c: float
    time_s: float
    profiles: tuple[PeakProfile, ...]
    b_iso_angstrom2: tuple[float, ...]
    background: Background
    counts_on_strongest: float
    zero_shift_deg: float
    sample_name: str


def _structure_at(lib: PhaseLibrary, name: str, temperature_c: float) -> Structure:
    """Library structure, with borate cells expanded isotropically to ``temperature_c``."""
    phase = lib.get(name)
    s = phase.structure.copy()
    if name in BORATES:
        t_ref_k = 298.0 if phase.info.temperature_K is None else float(phase.info.temperature_K)
        factor = 1.0 + ALPHA_BORATE_PER_K * (temperature_c + 273.15 - t_ref_k)
        s.scale_lattice(s.volume * factor**3)
    return s


def _purity(spec: ScanSpec) -> float:
    """fcc NBH share of all closo-borate phases (NaN if there is no borate)."""
    w = dict(zip(spec.phases, spec.weight_fractions, strict=True))
    total = sum(w.get(b, 0.0) for b in BORATES)
    return w.get("nbh-fcc", 0.0) / total if total > 0 else math.nan


def make_pattern(lib: PhaseLibrary, spec: ScanSpec, rng: np.random.Generator
                 ) -> tuple[SyntheticPattern, list[Structure]]:
    structures = [_structure_at(lib, n, spec.temperature_c) for n in spec.phases]
    pattern = synthetic_pattern(
        structures, spec.weight_fractions, TWO_THETA_DEG, names=spec.phases,
        wavelength="CuKa", ka2=True, ka2_ratio=0.5, profile=spec.profiles,
        b_iso_angstrom2=spec.b_iso_angstrom2, background=spec.background,
        counts_on_strongest=spec.counts_on_strongest, rng=rng,
        zero_shift_deg=spec.zero_shift_deg,
    )
    return pattern, structures


def _truth_attrs(spec: ScanSpec, p: SyntheticPattern) -> dict[str, object]:
    ph = p.phases
    bkg = spec.background
    humps = np.array(bkg.humps, dtype=float).reshape(-1, 3)
    return {
        "truth_phases": np.array([t.name for t in ph], dtype=h5py.string_dtype()),
        "truth_weight_fractions": np.array([t.weight_fraction for t in ph]),
        "truth_fcc_weight_fraction": _purity(spec),
        "truth_lattice_abc_angstrom": np.array([t.lattice_abc_angstrom for t in ph]),
        "truth_lattice_angles_deg": np.array([t.lattice_angles_deg for t in ph]),
        "truth_cell_mass_amu": np.array([t.cell_mass_amu for t in ph]),
        "truth_volume_angstrom3": np.array([t.volume_angstrom3 for t in ph]),
        "truth_scale": np.array([t.scale for t in ph]),
        "truth_b_iso_angstrom2": np.array([t.b_iso_angstrom2 for t in ph]),
        "truth_caglioti_uvw_deg2": np.array(
            [(t.profile.u_deg2, t.profile.v_deg2, t.profile.w_deg2) for t in ph]),
        "truth_eta": np.array([t.profile.eta for t in ph]),
        "truth_zero_shift_deg": p.settings.zero_shift_deg,
        "truth_wavelength_ka1_angstrom": p.settings.wavelength_angstrom,
        "truth_wavelength_ka2_angstrom": p.settings.ka2_wavelength_angstrom,
        "truth_ka2_ratio": p.settings.ka2_ratio,
        "truth_counts_on_strongest": p.settings.counts_on_strongest,
        "truth_background_exp_amplitude": bkg.exp_amplitude,
        "truth_background_exp_decay_deg": bkg.exp_decay_deg,
        "truth_background_poly": np.array(bkg.poly, dtype=float),
        "truth_background_humps_center_fwhm_height": humps,
        "truth_microabsorption": "none (Brindley factor 1 for every phase)",
    }


def _write_entry(f: h5py.File, name: str, spec: ScanSpec, p: SyntheticPattern, *,
                 temperature_unit: str, wavelength_place: str, illustrative: bool) -> None:
    e = f.create_group(name)
    e.attrs["NX_class"] = "NXentry"
    e.attrs["default"] = "data"
    e.create_dataset("title", data=spec.label)
    e.create_dataset("definition", data="NXmonopd")
    t = e.create_dataset("time", data=float(spec.time_s))
    t.attrs["units"] = "s"
    d = e.create_group("data")
    d.attrs["NX_class"] = "NXdata"
    d.attrs["signal"] = "counts"
    d.attrs["axes"] = "two_theta"
    c = d.create_dataset("counts", data=p.counts.astype(np.int32), **COMPRESSION)
    c.attrs["units"] = "counts"
    c.attrs["long_name"] = "intensity (counts per step)"
    x = d.create_dataset("two_theta", data=p.two_theta_deg, **COMPRESSION)
    x.attrs["units"] = "deg"
    x.attrs["long_name"] = "2θ"
    inst = e.create_group("instrument")
    inst.attrs["NX_class"] = "NXinstrument"
    inst.create_dataset("name", data="synthetic Cu Kα Bragg–Brentano (MiniFlex600-like)")
    if wavelength_place == "source":
        src = inst.create_group("source")
        src.attrs["NX_class"] = "NXsource"
        src.create_dataset("type", data="Fixed Tube X-ray")
        src.create_dataset("target_material", data="Cu")
        wl = src.create_dataset("wavelength", data=CU_KA1_ANGSTROM)
    else:
        beam = inst.create_group("beam")
        beam.attrs["NX_class"] = "NXbeam"
        wl = beam.create_dataset("incident_wavelength", data=CU_KA1_ANGSTROM)
    wl.attrs["units"] = "angstrom"
    wl.attrs["ka2_wavelength_angstrom"] = CU_KA2_ANGSTROM
    wl.attrs["ka2_ratio"] = 0.5
    s = e.create_group("sample")
    s.attrs["NX_class"] = "NXsample"
    s.create_dataset("name", data=spec.sample_name)
    temp = spec.temperature_c + 273.15 if temperature_unit == "K" else spec.temperature_c
    tt = s.create_dataset("temperature", data=float(temp))
    tt.attrs["units"] = temperature_unit
    e.attrs["illustrative"] = illustrative
    for k, v in _truth_attrs(spec, p).items():
        e.attrs[k] = v


def _root(f: h5py.File, first_entry: str, description: str, illustrative: bool) -> None:
    f.attrs["NX_class"] = "NXroot"
    f.attrs["default"] = first_entry
    f.attrs["creator"] = "reference_data/examples/make_examples.py (closokit)"
    f.attrs["provenance"] = (
        "CONSTRUCTED synthetic data, not measured: xrdkit.synthetic (pymatgen XRDCalculator "
        "line lists, own pseudo-Voigt/Caglioti broadening, Cu Kα1+Kα2, Hill–Howard weighting, "
        "Poisson noise) from the constructed phase models of reference_data/phases; see "
        "reference_data/examples/README.md"
    )
    f.attrs["description"] = description
    f.attrs["illustrative"] = illustrative
    f.attrs["seed"] = SEED


# ------------------------------------------------------------------------------ the series


def _logistic(t_c: float, mid_c: float = 110.0, width_c: float = 15.0) -> float:
    return 1.0 / (1.0 + math.exp(-(t_c - mid_c) / width_c))


def _crystallising(c: float) -> tuple[PeakProfile, Background]:
    """NBH profile and background at crystallised share ``c``: broad, Lorentzian-rich lines over
    amorphous humps that sharpen and fade as the fcc phase crystallises (constructed)."""
    nbh = PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004 + 0.25 * (1 - c) ** 2,
                      eta=0.4 + 0.3 * (1 - c))
    bkg = Background(exp_amplitude=900.0, exp_decay_deg=6.0, poly=(60.0, 25.0, -15.0),
                     humps=((17.0, 8.0, 1800.0 * (1 - c) + 60.0),
                            (40.0, 14.0, 400.0 * (1 - c) + 20.0)))
    return nbh, bkg


def isopropanol_specs() -> list[ScanSpec]:
    """In-situ heating of an isopropanol-route precursor: fcc NBH crystallises out of an
    amorphous-looking solid as the temperature rises to 180 °C (Be window lines present)."""
    temps = (25, 40, 55, 70, 85, 100, 115, 130, 145, 160, 170, 180)
    specs = []
    for i, t in enumerate(temps):
        c = _logistic(t)  # crystallised share (constructed)
        nbh, bkg = _crystallising(c)
        specs.append(ScanSpec(
            label=f"isopropanol route, in-situ heating, {t} °C", phases=("nbh-fcc", "be"),
            weight_fractions=(0.97, 0.03), temperature_c=float(t), time_s=900.0 * i,
            profiles=(nbh, INSTRUMENT), b_iso_angstrom2=(3.0, 0.5), background=bkg,
            counts_on_strongest=800.0 + 9200.0 * c, zero_shift_deg=0.015,
            sample_name="NBH precursor from isopropanol (constructed)"))
    return specs


def methanol_specs() -> list[ScanSpec]:
    """Methanol route (ILLUSTRATIVE): Na2B12H12 and Na2B10H10 crystallise separately. The
    monoclinic room-temperature structures are not available, so the library's high-T models
    stand in for them at every temperature; a little fcc NBH appears in the later scans."""
    temps = (25, 50, 75, 100, 125, 150, 165, 180)
    purity = (0.0, 0.0, 0.0, 0.02, 0.03, 0.05, 0.05, 0.08)
    w_be = 0.03
    specs = []
    for i, (t, f) in enumerate(zip(temps, purity, strict=True)):
        borate = 1.0 - w_be
        w12 = borate * (1 - f) * W_B12_OF_SEPARATE
        w10 = borate * (1 - f) * (1 - W_B12_OF_SEPARATE)
        wf = borate * f
        borate_prof = PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.012, eta=0.5)
        bkg = Background(exp_amplitude=900.0, exp_decay_deg=6.0, poly=(60.0, 25.0, -15.0),
                         humps=((17.0, 8.0, 150.0),))
        specs.append(ScanSpec(
            label=f"methanol route (ILLUSTRATIVE high-T models), {t} °C",
            phases=("na2b12h12-ht", "na2b10h10-ht", "nbh-fcc", "be"),
            weight_fractions=(w12, w10, wf, w_be), temperature_c=float(t), time_s=900.0 * i,
            profiles=(borate_prof, borate_prof, borate_prof, INSTRUMENT),
            b_iso_angstrom2=(3.0, 3.0, 3.0, 0.5), background=bkg, counts_on_strongest=1e4,
            zero_shift_deg=-0.01,
            sample_name="Na2B12H12 + Na2B10H10 from methanol (ILLUSTRATIVE, constructed)"))
    return specs


def electrode_specs() -> list[ScanSpec]:
    """Infiltrated NaCrO2 electrodes on Al: NaCrO2 + Al + electrolyte (15-17 wt % of
    NaCrO2 + electrolyte) whose fcc purity varies; the non-fcc part is modelled by the high-T
    Na2B12H12/Na2B10H10 models (ILLUSTRATIVE)."""
    cases = ((0.15, 1.00), (0.16, 0.95), (0.15, 0.85), (0.17, 0.70), (0.15, 0.50))
    w_al = 0.20
    specs = []
    for i, (e, f) in enumerate(cases):
        composite = 1.0 - w_al
        w_nco = composite * (1 - e)
        w_nbh = composite * e * f
        w12 = composite * e * (1 - f) * W_B12_OF_SEPARATE
        w10 = composite * e * (1 - f) * (1 - W_B12_OF_SEPARATE)
        borate_prof = PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.010, eta=0.5)
        bkg = Background(exp_amplitude=700.0, exp_decay_deg=7.0, poly=(50.0, 20.0, -10.0),
                         humps=((22.0, 12.0, 120.0),))  # carbon black + PVDF (constructed)
        specs.append(ScanSpec(
            label=f"infiltrated NaCrO2 electrode #{i + 1}: electrolyte {e:.0%} of composite, "
                  f"fcc purity {f:.0%}",
            phases=("nacro2", "al", "nbh-fcc", "na2b12h12-ht", "na2b10h10-ht"),
            weight_fractions=(w_nco, w_al, w_nbh, w12, w10), temperature_c=25.0,
            time_s=1800.0 * i,
            profiles=(INSTRUMENT, INSTRUMENT, borate_prof, borate_prof, borate_prof),
            b_iso_angstrom2=(0.6, 0.8, 3.0, 3.0, 3.0), background=bkg, counts_on_strongest=1e4,
            zero_shift_deg=0.02,
            sample_name=f"NaCrO2 electrode infiltrated with NBH, #{i + 1} (constructed)"))
    return specs


def stack_specs() -> list[ScanSpec]:
    """A finer in-situ heating ramp (24 scans, 25 → 180 °C) for the stack layout."""
    temps = np.linspace(25.0, 180.0, 24)
    base = isopropanol_specs()[0]
    specs = []
    for i, t in enumerate(temps):
        c = _logistic(float(t))
        nbh, bkg = _crystallising(c)
        specs.append(ScanSpec(
            label=f"in-situ heating ramp, {t:.1f} °C", phases=base.phases,
            weight_fractions=base.weight_fractions, temperature_c=float(t), time_s=300.0 * i,
            profiles=(nbh, INSTRUMENT), b_iso_angstrom2=base.b_iso_angstrom2, background=bkg,
            counts_on_strongest=800.0 + 9200.0 * c, zero_shift_deg=0.015,
            sample_name=base.sample_name))
    return specs


# ------------------------------------------------------------------------------ writers


def write_nexus_series(path: Path, specs: Sequence[ScanSpec], seed_index: int, *,
                       prefix: str, temperature_unit: str, wavelength_place: str,
                       illustrative: bool, description: str,
                       lib: PhaseLibrary | None = None) -> Path:
    """One NXentry per scan; the root ``@default`` is the first entry."""
    lib = lib or PhaseLibrary()
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(seed_index + 1)[seed_index])
    names = [f"{prefix}_{i + 1:02d}" for i in range(len(specs))]
    with h5py.File(path, "w") as f:
        _root(f, names[0], description, illustrative)
        for name, spec in zip(names, specs, strict=True):
            p, _ = make_pattern(lib, spec, rng)
            _write_entry(f, name, spec, p, temperature_unit=temperature_unit,
                         wavelength_place=wavelength_place, illustrative=illustrative)
    return path


def write_stack(path: Path, specs: Sequence[ScanSpec], seed_index: int,
                lib: PhaseLibrary | None = None) -> Path:
    """A plain (non-NeXus) stack: /heating/intensity N×M, shared /heating/two_theta,
    /heating/temperature and /heating/time of length N; truth as (N, …) attributes."""
    lib = lib or PhaseLibrary()
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(seed_index + 1)[seed_index])
    patterns = [make_pattern(lib, s, rng)[0] for s in specs]
    with h5py.File(path, "w") as f:
        f.attrs["creator"] = "reference_data/examples/make_examples.py (closokit)"
        f.attrs["provenance"] = (
            "CONSTRUCTED synthetic data, not measured (see reference_data/examples/README.md)")
        f.attrs["seed"] = SEED
        g = f.create_group("heating")
        g.attrs["description"] = ("in-situ heating ramp of an isopropanol-route precursor, "
                                  "stack layout (rows = scans)")
        ds = g.create_dataset("intensity", data=np.stack([p.counts for p in patterns]).astype(
            np.int32), chunks=(1, TWO_THETA_DEG.size), **COMPRESSION)
        ds.attrs["units"] = "counts"
        x = g.create_dataset("two_theta", data=TWO_THETA_DEG, **COMPRESSION)
        x.attrs["units"] = "deg"
        t = g.create_dataset("temperature", data=np.array([s.temperature_c for s in specs]))
        t.attrs["units"] = "degC"
        tm = g.create_dataset("time", data=np.array([s.time_s for s in specs]))
        tm.attrs["units"] = "s"
        wl = g.create_dataset("wavelength", data=CU_KA1_ANGSTROM)
        wl.attrs["units"] = "angstrom"
        rows = [_truth_attrs(s, p) for s, p in zip(specs, patterns, strict=True)]
        for key in rows[0]:
            values = [r[key] for r in rows]
            if isinstance(values[0], str):
                g.attrs[key] = values[0]
            elif key == "truth_phases":
                g.attrs[key] = values[0]  # the same phases in every row
            else:
                g.attrs[key] = np.stack([np.asarray(v, dtype=float) for v in values])
    return path


#: file name → function(out_dir, lib) writing it.
FILES: dict[str, Callable[[Path, PhaseLibrary], Path]] = {
    "isopropanol_series.h5": lambda out, lib: write_nexus_series(
        out / "isopropanol_series.h5", isopropanol_specs(), 0, prefix="scan",
        temperature_unit="degC", wavelength_place="beam", illustrative=False, lib=lib,
        description="isopropanol route: fcc NBH crystallising during in-situ heating to 180 °C "
                    "(constructed; fcc model is the library's constructed Fm-3m NBH)"),
    "methanol_series.h5": lambda out, lib: write_nexus_series(
        out / "methanol_series.h5", methanol_specs(), 1, prefix="scan",
        temperature_unit="K", wavelength_place="source", illustrative=True, lib=lib,
        description="ILLUSTRATIVE methanol route: separate Na2B12H12 + Na2B10H10, modelled with "
                    "the high-T cubic models because the monoclinic room-temperature structures "
                    "are not available; NOT what a methanol sample really shows"),
    "electrodes.h5": lambda out, lib: write_nexus_series(
        out / "electrodes.h5", electrode_specs(), 2, prefix="electrode",
        temperature_unit="degC", wavelength_place="source", illustrative=True, lib=lib,
        description="infiltrated NaCrO2 electrodes on Al (NaCrO2 + Al + 15-17 wt % electrolyte); "
                    "non-fcc borate share ILLUSTRATIVE (high-T cubic models)"),
    "heating_stack.h5": lambda out, lib: write_stack(
        out / "heating_stack.h5", stack_specs(), 3, lib=lib),
}


def write_file(name: str, out_dir: Path | str, lib: PhaseLibrary | None = None) -> Path:
    """Write one of :data:`FILES` into ``out_dir`` and return its path."""
    return FILES[name](Path(out_dir), lib or PhaseLibrary())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else HERE
    out.mkdir(parents=True, exist_ok=True)
    lib = PhaseLibrary()
    for name in FILES:
        path = write_file(name, out, lib)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
