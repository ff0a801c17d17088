"""Benchmark of irkit: time per spectrum for baseline + both region fits, and detection limits.

    .venv/bin/python benchmarks/bench_ir.py                 # timing (target: median ≤ 50 ms)
    .venv/bin/python benchmarks/bench_ir.py --detection     # isopropanol detection-rate curve

Timing: seeded synthetic spectra (550–4000 cm⁻¹ at 1 cm⁻¹, curved baseline, noise 0.002) are
each processed by ``fit_region(.., "stretch", subtract="arpls")`` + ``fit_region(.., "bend",
subtract="arpls")`` (a pybaselines arPLS baseline per region, then the band fit with a joint
quadratic baseline). Reported: median wall and CPU time per spectrum, and the same for the
default pipeline without arPLS; the in-process reference is the textbook approach — an lmfit
``CompositeModel`` of ``PseudoVoigtModel`` components + ``PolynomialModel`` fitted with
finite-difference Jacobians — on the same spectra.
BLAS threads are pinned to 1 (the budget is per core).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from irkit.assess import assess  # noqa: E402
from irkit.bands import ANION_SPECIES, load_band_library  # noqa: E402
from irkit.fit import REGIONS, fit_region  # noqa: E402
from irkit.synthetic import synthesize  # noqa: E402


def _time(func, items) -> tuple[float, float]:
    wall, cpu = [], []
    for item in items:
        t0, c0 = time.perf_counter(), time.process_time()
        func(item)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def _reference_lmfit(spectrum) -> None:
    """Textbook lmfit: CompositeModel, finite differences, lmfit's own uncertainty machinery."""
    from lmfit.models import PolynomialModel, PseudoVoigtModel

    lib = load_band_library()
    for name, (low, high) in REGIONS.items():
        part = spectrum.crop(low, high)
        bands = lib.select(ANION_SPECIES, low_cm1=low, high_cm1=high)
        model = PolynomialModel(degree=2, prefix="bl_")
        for b in bands:
            model = model + PseudoVoigtModel(prefix=b.prefix)
        params = model.make_params(bl_c0=float(part.values.min()), bl_c1=0.0, bl_c2=0.0)
        for b in bands:
            params[f"{b.prefix}center"].set(value=b.position_cm1, min=b.position_cm1 - b.bound_cm1,
                                            max=b.position_cm1 + b.bound_cm1)
            params[f"{b.prefix}sigma"].set(value=b.fwhm_cm1 / 2, min=b.fwhm_min_cm1 / 2,
                                           max=b.fwhm_max_cm1 / 2)
            params[f"{b.prefix}amplitude"].set(value=float(np.ptp(part.values)) * b.fwhm_cm1,
                                               min=0)
        model.fit(part.values, params, x=part.wavenumber_cm1)
        del name


def timing(n: int, n_reference: int) -> None:
    spectra = [synthesize(seed, baseline="curved", noise_sd=0.002).spectrum for seed in range(n)]
    fit_region(spectra[0], "stretch")  # warm imports / caches

    def pipeline(s):
        fit_region(s, "stretch", subtract="arpls")
        fit_region(s, "bend", subtract="arpls")

    def joint_only(s):
        fit_region(s, "stretch")
        fit_region(s, "bend")

    def numpy_engine(s):
        fit_region(s, "stretch", subtract="arpls", engine="numpy")
        fit_region(s, "bend", subtract="arpls", engine="numpy")

    rows = [
        ("arPLS baseline + both regions (lmfit engine)", pipeline, spectra),
        ("joint baseline only, both regions", joint_only, spectra),
        ("arPLS + both regions, numpy engine", numpy_engine, spectra[: max(n // 2, 1)]),
        ("full assess() (fits + protonation + templates)", assess, spectra[: max(n // 2, 1)]),
        ("reference: lmfit CompositeModel, finite diff.", _reference_lmfit,
         spectra[:n_reference]),
    ]
    print(f"{n} synthetic spectra, 3451 points each; BLAS threads = "
          f"{os.environ['OPENBLAS_NUM_THREADS']}")
    results = {}
    for label, func, items in rows:
        wall, cpu = _time(func, items)
        results[label] = wall
        print(f"  {label:48s} median {wall:7.1f} ms wall, {cpu:7.1f} ms CPU  (n={len(items)})")
    ref = results[rows[-1][0]]
    main = results[rows[0][0]]
    print(f"target: median ≤ 50 ms per spectrum for baseline + both regions → "
          f"{'MET' if main <= 50 else 'NOT MET'} ({main:.1f} ms); "
          f"speed-up vs reference {ref / main:.1f}×")


def detection(n: int, fractions: list[float]) -> None:
    print(f"isopropanol detection over {n} trials per fraction (noise 0.002, curved baseline)")
    clean = [assess(synthesize(1000 + s, baseline="curved", noise_sd=0.002).spectrum)
             for s in range(n)]
    print(f"  clean: flagged {sum(bool(v.isopropanol.detected) for v in clean)}/{n}; median 5σ "
          f"limit {np.median([v.isopropanol.relative_detection_limit for v in clean]):.4f} of "
          "the strongest band")
    for f in fractions:
        hits = sum(bool(assess(synthesize(2000 + s, baseline="curved", noise_sd=0.002,
                                          isopropanol=f).spectrum).isopropanol.detected)
                   for s in range(n))
        print(f"  950 cm⁻¹ band at {f:.3f} of the strongest band: flagged {hits}/{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="spectra timed (40)")
    parser.add_argument("--reference", type=int, default=5, help="spectra for the reference (5)")
    parser.add_argument("--detection", action="store_true", help="isopropanol detection curve")
    parser.add_argument("--fractions", default="0.004,0.006,0.008,0.010")
    args = parser.parse_args()
    if args.detection:
        detection(100, [float(v) for v in args.fractions.split(",")])
    else:
        timing(args.n, args.reference)


if __name__ == "__main__":
    main()
