"""``xrdkit fit SCAN``: whole-pattern refinement and quantitative phase analysis of one scan.

    xrdkit fit scan.xy --phase nbh-fcc --phase nacro2 --phase al --json out.json --plot out.png
    xrdkit fit data.h5::/entry/data --cif my_phase.cif --range 10 60 --json out.json
    xrdkit fit cpd-2.prn --cif Al2O3.cif --cif ZnO.cif --phase brucite --po brucite:0,0,1 \
        --instrument cuka.instprm --json out.json

Weight-fraction σ's are the total a user should quote: covariance with the Bérar–Lelann
serial-correlation correction, combined with the spread over reasonable alternative models
(see xrdkit.qpa); --no-model-error keeps only the statistical part.

The JSON also holds a plain ``verdict`` from the fitted phases (the vocabulary of
``xrdkit identify``): a borate phase counts when its weight fraction and scale are ≥ 3σ;
none present → ``no-borate`` with ``fcc_weight_fraction`` null.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from xrdkit.commands._common import (
    add_phase_arguments,
    apply_recipe,
    b_iso_choice,
    coordinates_choice,
    instrument_from_args,
    library_with_cifs,
    options_from_args,
    write_json,
)
from xrdkit.commands.identify import verdict_line
from xrdkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - imported where used: the CLI starts fast
    from xrdkit.vocabulary import Verdict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="refine phases against one scan", description=__doc__)
    p.add_argument("scan", help="scan file (.xy/.xye/.csv/.xrdml/…) or FILE.h5::/path")
    add_phase_arguments(p)
    p.add_argument("--json", required=True, metavar="OUT.json", help="write the result here")
    p.add_argument("--plot", metavar="OUT.png", help="Rietveld plot")
    p.add_argument("--export", metavar="DIR",
                   help="also write the refined structures (PHASE_refined.cif) and the fitted pattern "
                        "(fit.xye and fit.csv: observed, calculated, background, difference, per phase) here")
    p.add_argument("--no-model-error", dest="model_error", action="store_false",
                   help="σ's from the covariance only (faster: no alternative-model fits)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xrdkit.hdf5 import probe_in_background

    probe_in_background([args.scan])  # an HDF5 file's structure is read while the fitting code loads
    from xrdkit.commands._common import check_command_outputs
    from xrdkit.qpa import quantify
    from xrdkit.readers import read_scan
    from xrdkit.simulate import resolve_phases

    apply_recipe(args)
    check_command_outputs(args)
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
                      refine_b_iso=b_iso_choice(args), refine_coordinates=coordinates_choice(args),
                      model_error=bool(getattr(args, "model_error", True)), library=lib)
    out = result.to_dict()
    verdict, purity, purity_sigma = _verdict_of(result)
    out.update(verdict=verdict.value, fcc_weight_fraction=purity, fcc_weight_fraction_sigma=purity_sigma)
    write_json(args.json, out)
    if args.export:
        _export(result, names, lib, args.export)
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
    row = {"verdict": verdict, "fcc_weight_fraction": purity, "fcc_weight_fraction_sigma": purity_sigma}
    print(f"  verdict: {verdict_line(row)}")
    for w in result.warnings:
        print(f"  warning: {w}")
    return 0


def _significant(value: float | None, sigma: float | None) -> bool:
    """``value ≥ PRESENCE_SIGMA · σ`` with both finite and the value > 0 (unknown σ: not shown)."""
    from xrdkit.identify import PRESENCE_SIGMA

    if value is None or sigma is None or not math.isfinite(value) or not math.isfinite(sigma):
        return False
    return value > 0 and value >= PRESENCE_SIGMA * sigma


def _borate_present(phase) -> bool:
    """A fitted borate counts only when its weight fraction AND its scale factor are ≥ 3σ.

    The scale test matters for a phase alone in the model, whose weight fraction is 1 ± 0
    whatever the data.
    """
    return _significant(phase.weight_fraction, phase.weight_fraction_sigma) and _significant(
        phase.scale, phase.scale_sigma)


def _verdict_of(result) -> tuple[Verdict, float | None, float | None]:
    """Verdict and purity (fcc share of the borates, σ) from the fitted phases alone.

    ``xrdkit identify`` compares models and looks at lines; this is the plain reading of one
    fit with the same vocabulary: a borate phase is present when its weight fraction and scale
    are ≥ :data:`xrdkit.identify.PRESENCE_SIGMA` σ; with none present the verdict is
    ``no-borate`` and the purity is None. The purity is the fcc share of the borates present
    (:func:`xrdkit.identify.borate_purity`); its σ is None when only one kind of borate is present
    (no detection limit here: ``xrdkit identify`` gives one).
    """
    from xrdkit.identify import FCC_PHASE, SEPARATE_BORATE_PHASES, borate_purity
    from xrdkit.vocabulary import Verdict

    borates = (FCC_PHASE, *SEPARATE_BORATE_PHASES)
    present = [p.name for p in result.phases if p.name in borates and _borate_present(p)]
    fcc = FCC_PHASE in present
    separate = [n for n in present if n != FCC_PHASE]
    if not present:
        return Verdict.NO_BORATE, None, None
    purity, sigma = borate_purity(result, FCC_PHASE, separate)
    if fcc and separate:
        return Verdict.MIXED, purity, sigma
    if fcc:
        return Verdict.FCC, 1.0, None
    return Verdict.SEPARATE, 0.0, None


def _export(result, names: list[str], library, folder: str) -> None:
    """Refined CIFs and the fitted pattern into ``folder`` (see :mod:`xrdkit.export`)."""
    from pathlib import Path

    from xrdkit.export import write_fitted_pattern, write_refined_cif

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_refined_cif(result, name, library.get(name).structure, out / f"{name}_refined.cif")
    csv = write_fitted_pattern(result, out / "fit.xye")
    print(f"exported {len(names)} refined CIF(s), {out / 'fit.xye'} and {csv}")

