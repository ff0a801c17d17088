"""``irkit fit``: fit the B–H regions of one spectrum and judge the electrolyte.

    irkit fit SPECTRUM [--json OUT.json] [--plot OUT.png] [--shape voigt] [--shared-width]
        [--baseline-degree 2] [--subtract arpls] [--atr 2.4,1.5,45] [--calibration K,SIGMA]
        [--bands BANDS.csv]

SPECTRUM: text (CSV/TSV/whitespace), JCAMP-DX (transmittance, absorbance, log(1/T), absorption
coefficients — converted values are named), Bruker OPUS or HDF5. The stretching region
(2350–2650 cm⁻¹) must be covered; the bending region (600–1200 cm⁻¹) is used when covered.

The verdict (JSON ``verdict``): ``borate_present`` and ``anion``; ``anions_intact``,
``oxidation``, ``protonation`` and ``b10_b12_ratio`` only when a borate is present (null
otherwise, with a note); ``isopropanol``, ``methanol``, ``water``, ``other_organic`` and
``contaminants`` naming what was seen; ``binder`` (PVDF pattern). ``b10_b12_ratio`` is null with
``b10_b12_ratio_reason`` when the B10/B12 stretching bands cannot be told apart within their
position priors (narrow them with ``--bands``, e.g. from spectra of the pure salts).
The flag names and JSON keys are those of ``irkit.vocabulary`` (``IRFlag``, ``VERDICT_KEYS``).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from xrdkit.errors import InputError


def add_parser(subparsers: Any) -> None:
    """Register the ``fit`` sub-command."""
    p = subparsers.add_parser("fit", help="fit B–H bands and judge one IR spectrum",
                              description=__doc__.splitlines()[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__)
    p.add_argument("spectrum", type=Path, help="spectrum file")
    p.add_argument("--json", type=Path, help="write bands and verdict as JSON")
    p.add_argument("--plot", type=Path, help="write a figure (PNG/PDF/SVG)")
    p.add_argument("--shape", choices=("pseudo_voigt", "voigt"), default="pseudo_voigt")
    p.add_argument("--shared-width", action="store_true", help="one width per region")
    p.add_argument("--baseline-degree", type=int, default=2,
                   help="degree of the baseline fitted jointly with the bands (2; -1: none)")
    p.add_argument("--subtract", metavar="METHOD",
                   help="subtract a pybaselines baseline first (e.g. arpls)")
    p.add_argument("--descending", action="store_true",
                   help="text file whose axis runs high → low wavenumber (reversed explicitly)")
    p.add_argument("--calibration", metavar="K[,SIGMA]",
                   help="B10:B12 area-per-mole calibration k (default: constructed 10/12)")
    p.add_argument("--atr", metavar="N_CRYSTAL,N_SAMPLE,ANGLE",
                   help="apply the ATR penetration-depth correction (e.g. 2.4,1.5,45)")
    p.add_argument("--bands", type=Path, metavar="BANDS.csv",
                   help="band library to use instead of the bundled one (same columns; e.g. "
                        "priors narrowed on spectra of the pure salts)")
    p.set_defaults(func=run)


def _atr(text: str) -> tuple[float, float, float]:
    try:
        n1, n2, angle = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"expected N_CRYSTAL,N_SAMPLE,ANGLE, got {text!r}",
                         source="--atr") from None
    return n1, n2, angle


def _calibration(text: str | None) -> Any:
    from irkit.assess import DEFAULT_RATIO_CALIBRATION, RatioCalibration

    if not text:
        return DEFAULT_RATIO_CALIBRATION
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"expected K or K,SIGMA, got {text!r}", source="--calibration") from None
    if len(parts) not in (1, 2) or not parts[0] > 0 or (len(parts) == 2 and parts[1] < 0):
        raise InputError(f"expected K > 0 and SIGMA >= 0, got {text!r}", source="--calibration")
    return RatioCalibration(parts[0], parts[1] if len(parts) == 2 else 0.0,
                            "given on the command line (--calibration)")


def _clean(value: Any) -> Any:
    """NaN/inf → None, tuples → lists, recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def analyse(path: Path, args: argparse.Namespace) -> tuple[Any, list[Any], Any]:
    """Read, correct, fit and assess one spectrum; returns (spectrum, fits, verdict)."""
    from irkit.assess import assess
    from irkit.bands import load_band_library
    from irkit.spectra import atr_correct, read_spectrum, read_text, to_absorbance

    raw = read_text(path, descending=True) if getattr(args, "descending", False) \
        else read_spectrum(path)
    spectrum = to_absorbance(raw)
    if getattr(args, "atr", None):
        n1, n2, angle = _atr(args.atr)
        spectrum = atr_correct(spectrum, n_crystal=n1, n_sample=n2, angle_deg=angle)
    options = dict(shape=args.shape, shared_width=args.shared_width,
                   baseline_degree=args.baseline_degree, subtract=args.subtract)
    library = load_band_library(args.bands) if getattr(args, "bands", None) else None
    verdict = assess(spectrum, library=library, fit_options=options,
                     calibration=_calibration(getattr(args, "calibration", None)))
    return spectrum, list(verdict.fits), verdict


def report(spectrum: Any, fits: list[Any], verdict: Any) -> dict[str, Any]:
    """The JSON document: what was read, bands, fit quality per region and the verdict."""
    bands = [{"region": f.region, **asdict(b)} for f in fits for b in f.bands]
    meta = spectrum.metadata
    return _clean({
        "source": str(spectrum.source),
        "spectrum": {"range_cm1": [float(spectrum.wavenumber_cm1[0]),
                                   float(spectrum.wavenumber_cm1[-1])],
                     "n_points": spectrum.n_points, "kind": spectrum.kind,
                     "y_units": meta.get("y_units"),
                     "converted_from": meta.get("converted_from")},
        "bands": bands,
        "fits": {f.region: {**asdict(f.quality), "shape": f.shape,
                            "shape_parameter": f.shape_parameter,
                            "warnings": list(f.warnings)} for f in fits},
        "verdict": verdict.to_dict(),
    })


def run(args: argparse.Namespace) -> int:
    """Run ``irkit fit``.

    ``--json`` and ``--plot`` are checked before any work: neither may be the spectrum, the
    ``--bands`` file or each other (same canonical path or inode; :func:`check_output_paths`).
    """
    from irkit.vocabulary import ANION, IRFlag
    from xrdkit.errors import check_output_paths

    check_output_paths({"--json": args.json, "--plot": args.plot},
                       {"spectrum": args.spectrum, "--bands": getattr(args, "bands", None)})
    spectrum, fits, verdict = analyse(args.spectrum, args)
    for f in fits:
        print(f"{f.region}: R² = {f.quality.r_squared:.5f}, rms residual "
              f"{f.quality.rms_residual:.2e}")
        for b in f.bands:
            print(f"  {b.label:22s} {b.center_cm1:8.1f} ± {b.center_sigma_cm1:.1f} cm⁻¹  "
                  f"FWHM {b.fwhm_cm1:5.1f}  area {b.area:.4g} ± {b.area_sigma:.2g}")
    d = verdict.to_dict()
    if spectrum.metadata.get("converted_from"):
        print(f"read as absorbance, converted from {spectrum.metadata['converted_from']}")
    if not fits:
        print("no ν(B–H) band: no band fits made")
    shown = (IRFlag.BORATE_PRESENT.value, ANION.name,
             *(f.value for f in IRFlag if f is not IRFlag.BORATE_PRESENT))
    print("verdict: " + ", ".join(f"{k}={d[k]}" for k in shown))
    if d["contaminants"]:
        print("seen: " + "; ".join(d["contaminants"]))
    if verdict.ratio is not None:
        lo, hi = verdict.ratio.interval_95
        print(f"B10:B12 = {verdict.ratio.value:.3f} ± {verdict.ratio.sigma:.3f} (95 % "
              f"{lo:.3f}–{hi:.3f}; calibration: {verdict.ratio.calibration.provenance})")
    elif verdict.borate_present:
        print(f"B10:B12: null — {verdict.ratio_reason}")
    for note in verdict.notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps(report(spectrum, fits, verdict), indent=2),
                             encoding="utf-8")
    if args.plot:
        from irkit.assess import LIBRARY_COMPONENTS
        from irkit.bands import load_band_library
        from irkit.plot import fit_figure

        lib = load_band_library()
        marked = [b for b in lib.select(LIBRARY_COMPONENTS, markers_only=True)]
        fit_figure(spectrum, fits, marked).savefig(args.plot, dpi=120)
    return 0
