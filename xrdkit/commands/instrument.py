"""``xrdkit instrument``: calibrate an instrument on a standard, or convert an instrument file.

    xrdkit instrument calibrate si_scan.xy --phase si --out my_diffractometer.json
    xrdkit instrument calibrate lab6.xrdml --phase lab6 --out inst.json --instrument cuka.instprm --range 20 130
    xrdkit instrument convert cuka.instprm --out cuka.json
"""

from __future__ import annotations

import argparse

from xrdkit.commands._common import write_json
from xrdkit.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("instrument", help="calibrate or convert instrument files", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=_no_action(p))

    c = actions.add_parser("calibrate", help="refine the instrument profile on a standard's scan",
                           description="Refine zero shift, U, V, W, X, Y and asymmetry on a scan of a "
                                       "line-profile standard (lattice fixed at the certified value) and "
                                       "write a closokit instrument JSON file.")
    c.add_argument("scan", help="scan of the standard (.xy/.xye/.csv/.xrdml/… or FILE.h5::/path)")
    c.add_argument("--phase", required=True, metavar="STANDARD",
                   help="the standard: si (SRM 640f), lab6 (SRM 660c) or al2o3 (SRM 676a)")
    c.add_argument("--out", required=True, metavar="INST.json",
                   help="write the calibrated instrument here (.json: closokit; .instprm: GSAS-II)")
    c.add_argument("--instrument", default="miniflex600-cuka", metavar="PRESET|FILE",
                   help="starting instrument: preset, .json, .instprm or .prm (default: miniflex600-cuka)")
    c.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"), help="2θ range to fit, degrees")
    c.add_argument("--no-ka2", action="store_true", help="single wavelength (no Kα2)")
    c.add_argument("--background-terms", type=int, default=10, help="Chebyshev background terms (default 10)")
    c.add_argument("--name", help="name of the calibrated instrument")
    c.add_argument("--json", metavar="FIT.json", help="also write the refinement result here")
    c.add_argument("--plot", metavar="OUT.png", help="Rietveld plot of the calibration fit")
    c.set_defaults(func=run_calibrate)

    v = actions.add_parser("convert", help="read any instrument file and write closokit JSON",
                           description="Read a preset, .json, GSAS-II .instprm or GSAS .prm file and write "
                                       "it as closokit instrument JSON (units converted, see docs/instruments.md).")
    v.add_argument("source", metavar="PRESET|FILE")
    v.add_argument("--out", required=True, metavar="INST.json", help=".json (closokit) or .instprm (GSAS-II)")
    v.set_defaults(func=run_convert)


def _no_action(parser: argparse.ArgumentParser):
    def run(args: argparse.Namespace) -> int:
        parser.print_help()
        return 1

    return run


def run_calibrate(args: argparse.Namespace) -> int:
    from xrdkit.calibrate import CALIBRATED_FIELDS, calibrate_instrument, standard
    from xrdkit.commands._common import check_command_outputs
    from xrdkit.instrument import load_instrument
    from xrdkit.instrument_files import write_instrument
    from xrdkit.readers import read_scan

    check_command_outputs(args, outputs=("out", "json", "plot"))
    if args.background_terms < 0:
        raise InputError(f"--background-terms must be ≥ 0, got {args.background_terms}")
    std = standard(args.phase)
    start = load_instrument(args.instrument)
    if args.no_ka2:
        start = start.without_ka2()
    scan = read_scan(args.scan)
    inst, result = calibrate_instrument(scan, std, instrument=start, background_terms=args.background_terms,
                                        two_theta_range_deg=tuple(args.range) if args.range else None,
                                        name=args.name)
    write_instrument(inst, args.out, comment=f"written by `xrdkit instrument calibrate` on {std.description}")
    if args.json:
        write_json(args.json, result.to_dict())
    if args.plot:
        from xrdkit.plot import rietveld_figure
        from xrdkit.simulate import resolve_phases

        refls = resolve_phases([std.structure()], start, float(result.two_theta_deg[-1]))
        rietveld_figure(result, reflections=refls, wavelengths_angstrom=start.wavelengths_angstrom,
                        title=f"{scan.source} ({std.name})").savefig(args.plot, dpi=120)
    print(f"{scan.source}: {std.description}: Rwp {100 * result.rwp:.2f} %, GOF {result.gof:.2f}, "
          f"{'converged' if result.converged else 'NOT converged'}")
    for f in CALIBRATED_FIELDS:
        print(f"  {f:16s} {getattr(start, f):+.6f} -> {getattr(inst, f):+.6f}")
    for w in result.warnings:
        print(f"  warning: {w}")
    print(f"wrote {args.out}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xrdkit.errors import check_output_paths
    from xrdkit.instrument import load_instrument
    from xrdkit.instrument_files import write_instrument

    if Path(args.source).suffix:
        check_output_paths({"--out": args.out}, {"source": args.source})
    inst = load_instrument(args.source)
    write_instrument(inst, args.out, comment=f"converted by `xrdkit instrument convert` from {args.source}")
    print(f"{args.source} -> {args.out}: {inst.name}, λ = {', '.join(f'{w:.6f}' for w in inst.wavelengths_angstrom)} Å")
    return 0
