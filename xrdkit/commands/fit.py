"""``xrdkit fit SCAN``: whole-pattern refinement and quantitative phase analysis of one scan.

    xrdkit fit scan.xy --phase nbh-fcc --phase nacro2 --phase al --json out.json --plot out.png
    xrdkit fit data.h5::/entry/data --cif my_phase.cif --range 10 60 --json out.json
    xrdkit fit cpd-2.prn --cif Al2O3.cif --cif ZnO.cif --phase brucite --po brucite:0,0,1 \
        --instrument cuka.instprm --json out.json

Weight-fraction σ's are the total a user should quote: covariance with the Bérar–Lelann
serial-correlation correction, combined with the spread over reasonable alternative models
(see xrdkit.qpa); --no-model-error keeps only the statistical part.
"""

from __future__ import annotations

import argparse

from xrdkit.commands._common import (
    add_phase_arguments,
    apply_recipe,
    b_iso_choice,
    instrument_from_args,
    library_with_cifs,
    options_from_args,
    write_json,
)
from xrdkit.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="refine phases against one scan", description=__doc__)
    p.add_argument("scan", help="scan file (.xy/.xye/.csv/.xrdml/…) or FILE.h5::/path")
    add_phase_arguments(p)
    p.add_argument("--json", required=True, metavar="OUT.json", help="write the result here")
    p.add_argument("--plot", metavar="OUT.png", help="Rietveld plot")
    p.add_argument("--no-model-error", dest="model_error", action="store_false",
                   help="σ's from the covariance only (faster: no alternative-model fits)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xrdkit.qpa import quantify
    from xrdkit.readers import read_scan
    from xrdkit.simulate import resolve_phases

    apply_recipe(args)
    lib, cif_names = library_with_cifs(args.cif)
    names = list(dict.fromkeys(args.phase + cif_names))
    if not names:
        raise InputError("give at least one --phase NAME or --cif FILE")
    inst = instrument_from_args(args)
    scan = read_scan(args.scan)
    if args.range:
        scan = scan.crop(*args.range)
    refls = resolve_phases(names, inst, float(scan.two_theta_deg[-1]), library=lib)
    result = quantify(scan, refls, instrument=inst, options=options_from_args(args),
                      refine_b_iso=b_iso_choice(args), model_error=bool(getattr(args, "model_error", True)))
    out = result.to_dict()
    out["verdict"] = _verdict_of(result)
    write_json(args.json, out)
    if args.plot:
        from xrdkit.plot import rietveld_figure

        rietveld_figure(result, reflections=refls, wavelengths_angstrom=inst.wavelengths_angstrom,
                        title=scan.source).savefig(args.plot, dpi=120)
    print(f"{scan.source}: Rwp {100 * result.rwp:.2f} %, GOF {result.gof:.2f}, "
          f"Durbin–Watson {result.durbin_watson:.2f} (σ × {result.serial_correlation_factor ** 0.5:.2f}), "
          f"{'converged' if result.converged else 'NOT converged'}")
    for ph in result.phases:
        wf = "—" if ph.weight_fraction is None else f"{100 * ph.weight_fraction:.2f} ± {100 * ph.weight_fraction_sigma:.2f} wt %"
        print(f"  {ph.name:16s} {wf}  " + ", ".join(f"{k} = {v:.5f}" for k, v in ph.lattice.items()))
    for w in result.warnings:
        print(f"  warning: {w}")
    return 0


def _verdict_of(result) -> str:
    """A plain verdict from the fitted phases alone (``xrdkit identify`` compares models)."""
    from xrdkit.identify import FCC_PHASE, SEPARATE_BORATE_PHASES

    wf = {p.name: (p.weight_fraction or 0.0) for p in result.phases}
    fcc = wf.get(FCC_PHASE, 0.0) > 0
    sep = any(wf.get(n, 0.0) > 0 for n in SEPARATE_BORATE_PHASES)
    if fcc and sep:
        return "mixed"
    if fcc:
        return "fcc"
    if sep:
        return "separate"
    return "unexplained"
