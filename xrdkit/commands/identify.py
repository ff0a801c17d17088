"""``xrdkit identify SCAN``: fcc Na4(B12H12)(B10H10) or separately crystallised borates?

    xrdkit identify electrode.xy --phase nacro2 --phase al --json verdict.json

``--phase`` names the non-borate phases the sample contains (electrode, current
collector, window); the borate models compared are NBH fcc and every separate-borate
model the library has (``--borate NAME`` to choose them yourself).

The printed line gives the verdict (``fcc``, ``separate``, ``mixed``, ``no-borate``,
``unexplained``), the fcc share of the borates ± σ when there is one (``no-borate`` has none:
"no crystalline closo-borate detected") and the amorphous share of the scattered intensity.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from xrdkit.commands._common import (
    add_phase_arguments,
    instrument_from_args,
    library_with_cifs,
    options_from_args,
    spike_from_args,
    write_json,
)
from xrdkit.vocabulary import finite_or_none


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("identify", help="fcc vs separate borate phases for one scan", description=__doc__)
    p.add_argument("scan", help="scan file or FILE.h5::/path")
    add_phase_arguments(p)
    p.add_argument("--borate", action="append", default=None, metavar="NAME", type=str.lower,
                   help="borate phase to compare (repeat; default: nbh-fcc + available separate models)")
    p.add_argument("--spike", metavar="PHASE:WT",
                   help="internal standard weighed into the sample: phase and its weight fraction of the spiked "
                        "mixture (0–1, or per cent when > 1), e.g. al2o3:0.2; gives the amorphous weight fraction")
    p.add_argument("--json", required=True, metavar="OUT.json")
    p.add_argument("--plot", metavar="OUT.png", help="Rietveld plot of the best model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xrdkit.hdf5 import probe_in_background

    probe_in_background([args.scan])  # an HDF5 file's structure is read while the fitting code loads
    from xrdkit.commands._common import check_command_outputs
    from xrdkit.identify import identify
    from xrdkit.readers import read_scan

    check_command_outputs(args)
    lib, cif_names = library_with_cifs(args.cif)
    inst = instrument_from_args(args)
    scan = read_scan(args.scan)
    if args.range:
        scan = scan.crop(*args.range)
    borates = args.borate
    if borates is not None:
        borates = list(dict.fromkeys(borates + cif_names))
    verdict = identify(scan, borates, electrode_phases=args.phase, instrument=inst,
                       options=options_from_args(args), library=lib, spike=spike_from_args(args))
    write_json(args.json, verdict.to_dict())
    if args.plot:
        from xrdkit.plot import rietveld_figure

        rietveld_figure(verdict.best, title=f"{scan.source}: {verdict.verdict}").savefig(args.plot, dpi=120)
    print(f"{scan.source}: {verdict_line(verdict)}; Rwp {100 * verdict.best.rwp:.2f} %")
    if verdict.internal_standard is not None:
        std = verdict.internal_standard
        print(f"  amorphous {100 * std.amorphous_weight_fraction:.1f} ± {100 * std.amorphous_weight_fraction_sigma:.1f} "
              f"wt % of the sample (internal standard {std.standard} at {100 * std.standard_weight_fraction:g} wt %)")
    for note in verdict.notes:
        print(f"  note: {note}")
    return 0


def purity_text(fraction: Any, sigma: Any) -> str | None:
    """``"97.3 ± 1.2 %"``; ``"97.3 % (σ n/a)"`` when σ is missing or 0; None without a purity.

    A σ of exactly 0 is never printed: no fit knows a purity that well (it means the σ was not
    computed, e.g. a one-phase fit whose weight fraction is 1 by construction).
    """
    f = finite_or_none(fraction)
    if f is None:
        return None
    s = finite_or_none(sigma)
    return f"{100 * f:.1f} % (σ n/a)" if s is None or s <= 0 else f"{100 * f:.1f} ± {100 * s:.1f} %"


def verdict_line(verdict: Any) -> str:
    """One line for a verdict (``xrdkit identify`` and ``xrdkit demo`` print it).

    Parameters
    ----------
    verdict : PhaseVerdict or mapping
        A :class:`~xrdkit.identify.PhaseVerdict`, or a summary row with the same names
        (``verdict``, ``fcc_weight_fraction``, ``fcc_weight_fraction_sigma``,
        ``detection_limit``, ``detection_limit_basis``, ``amorphous_intensity_share``).

    Returns
    -------
    str
        ``no-borate`` → "no crystalline closo-borate detected" with the detection limit when
        known; otherwise the verdict and the fcc share of the borates when there is one
        (never "± 0"), then the amorphous share of the intensity when known.
    """
    from xrdkit.identify import Verdict

    get = verdict.get if isinstance(verdict, Mapping) else lambda k, d=None: getattr(verdict, k, d)
    raw = get("verdict")
    try:
        v = Verdict(raw)
    except ValueError:
        v = None
    parts = []
    if v is Verdict.NO_BORATE:
        text = "no-borate: no crystalline closo-borate detected"
        dl = finite_or_none(get("detection_limit"))
        if dl is not None and dl < 1.0:  # a limit of 100 % says nothing
            basis = str(get("detection_limit_basis") or "").replace("_", " ")
            text += f" (detection limit {100 * dl:.2g} %{f' as {basis}' if basis else ''})"
        parts.append(text)
    else:
        text = str(raw) if raw is not None else "no verdict"
        purity = purity_text(get("fcc_weight_fraction"), get("fcc_weight_fraction_sigma"))
        text += f" (fcc share of the borates {purity})" if purity else " (no purity)"
        parts.append(text)
    amorphous = finite_or_none(get("amorphous_intensity_share"))
    if amorphous is not None:
        parts.append(f"amorphous {100 * amorphous:.1f} % of the intensity")
    return "; ".join(parts)
