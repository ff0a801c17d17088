"""``xrdkit identify SCAN``: fcc Na4(B12H12)(B10H10) or separately crystallised borates?

    xrdkit identify electrode.xy --phase nacro2 --phase al --json verdict.json

``--phase`` names the non-borate phases the sample contains (electrode, current
collector, window); the borate models compared are NBH fcc and every separate-borate
model the library has (``--borate NAME`` to choose them yourself).
"""

from __future__ import annotations

import argparse

from xrdkit.commands._common import (
    add_phase_arguments,
    instrument_from_args,
    library_with_cifs,
    options_from_args,
    write_json,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("identify", help="fcc vs separate borate phases for one scan", description=__doc__)
    p.add_argument("scan", help="scan file or FILE.h5::/path")
    add_phase_arguments(p)
    p.add_argument("--borate", action="append", default=None, metavar="NAME",
                   help="borate phase to compare (repeat; default: nbh-fcc + available separate models)")
    p.add_argument("--json", required=True, metavar="OUT.json")
    p.add_argument("--plot", metavar="OUT.png", help="Rietveld plot of the best model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xrdkit.identify import identify
    from xrdkit.readers import read_scan

    lib, cif_names = library_with_cifs(args.cif)
    inst = instrument_from_args(args)
    scan = read_scan(args.scan)
    if args.range:
        scan = scan.crop(*args.range)
    borates = args.borate
    if borates is not None:
        borates = list(dict.fromkeys(borates + cif_names))
    verdict = identify(scan, borates, electrode_phases=args.phase, instrument=inst,
                       options=options_from_args(args), library=lib)
    write_json(args.json, verdict.to_dict())
    if args.plot:
        from xrdkit.plot import rietveld_figure

        rietveld_figure(verdict.best, title=f"{scan.source}: {verdict.verdict}").savefig(args.plot, dpi=120)
    f = verdict.fcc_weight_fraction
    fs = verdict.fcc_weight_fraction_sigma
    purity = "n/a" if f is None else f"{100 * f:.1f} ± {100 * (fs or 0):.1f} %"
    print(f"{scan.source}: {verdict.verdict} (fcc share of the borates {purity}; "
          f"Rwp {100 * verdict.best.rwp:.2f} %)")
    for note in verdict.notes:
        print(f"  note: {note}")
    return 0
