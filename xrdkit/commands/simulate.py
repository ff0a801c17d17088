"""``xrdkit simulate``: a multi-phase powder pattern with weight fractions, as CSV (and a plot).

    xrdkit simulate --phase nbh-fcc --phase nacro2 --wt 0.2 --wt 0.8 --out pattern.csv
    xrdkit simulate --phase al --instrument synchrotron-0p8 --range 5 60 --step 0.005 \\
        --out al.csv --plot al.png
    xrdkit simulate --phase my_phase.cif --no-ka2 --out mine.csv

The CSV has a header row ``two_theta_deg,intensity,<phase 1>,<phase 2>,…``: the total
(peak maximum scaled to 100) and each phase's contribution.  Weight fractions become
scale factors through Hill & Howard's Z·M·V (see :func:`xrdkit.simulate.simulate`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from xrdkit.errors import InputError

log = logging.getLogger(__name__)

#: Default 2θ range (deg) and step (deg).
DEFAULT_RANGE_DEG = (5.0, 90.0)
DEFAULT_STEP_DEG = 0.01
#: Largest grid the command builds (points); a typo in --step should not exhaust memory.
MAX_POINTS = 2_000_000
#: Relative slack when deciding whether the upper limit is a grid point.
GRID_SLACK = 1e-9


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``xrdkit simulate``."""
    p = subparsers.add_parser(
        "simulate", help="simulate a multi-phase powder pattern",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--phase", action="append", required=True, metavar="NAME|FILE.cif",
                   help="library phase name (see `xrdkit phases`) or a CIF file; repeat per phase")
    p.add_argument("--wt", action="append", type=float, default=None, metavar="W",
                   help="weight fraction of each --phase, in the same order (sum 1; default: equal)")
    p.add_argument("--instrument", default="miniflex600-cuka", metavar="PRESET|FILE",
                   help="instrument preset name or JSON file (default: miniflex600-cuka)")
    p.add_argument("--range", nargs=2, type=float, default=DEFAULT_RANGE_DEG, metavar=("LO", "HI"),
                   help="2θ range in degrees (default: 5 90)")
    p.add_argument("--step", type=float, default=DEFAULT_STEP_DEG, help="2θ step in degrees (default: 0.01)")
    p.add_argument("--no-ka2", action="store_true", help="primary wavelength only (drop Kα2)")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="also save a plot")
    p.add_argument("--user-dir", default=None,
                   help="folder of user-added phases (as for `xrdkit phases`)")
    p.set_defaults(func=run)


def two_theta_grid(lo_deg: float, hi_deg: float, step_deg: float) -> np.ndarray:
    """Evenly spaced 2θ grid from ``lo_deg`` to ``hi_deg`` (included when on the grid).

    Raises
    ------
    InputError
        Non-finite or non-positive step, empty range, or more than :data:`MAX_POINTS` points.
        The 2θ limits themselves are checked by :func:`xrdkit.simulate.simulate`.
    """
    if not (np.isfinite(step_deg) and step_deg > 0):
        raise InputError(f"must be a positive number of degrees, got {step_deg!r}", source="--step")
    if not (np.isfinite(lo_deg) and np.isfinite(hi_deg) and hi_deg > lo_deg):
        raise InputError(f"needs LO < HI, got {lo_deg!r} {hi_deg!r}", source="--range")
    n = int(np.floor((hi_deg - lo_deg) / step_deg * (1 + GRID_SLACK))) + 1
    if n > MAX_POINTS:
        raise InputError(f"{n} points exceed the limit of {MAX_POINTS}; use a larger --step",
                         source="--step")
    if n < 2:
        raise InputError(f"step {step_deg}° leaves fewer than 2 points in {lo_deg}–{hi_deg}°",
                         source="--step")
    return lo_deg + step_deg * np.arange(n)


def _phases(args: argparse.Namespace, instrument, hi_deg: float) -> list:
    """Library names pass through; CIF files become reflection lists named after the file."""
    from xrdkit.phases import read_cif
    from xrdkit.reflections import compute_reflections

    out: list = []
    for item in args.phase:
        path = Path(item)
        if path.suffix.lower() == ".cif":
            out.append(compute_reflections(
                read_cif(path), wavelength_angstrom=float(min(instrument.wavelengths_angstrom)),
                two_theta_max_deg=hi_deg, name=path.stem,
            ))
        else:
            out.append(item)
    return out


def write_csv(path: Path, pattern) -> None:
    """Write ``two_theta_deg,intensity,<phase…>`` with a header row."""
    names = list(pattern.components)
    for name in names:
        if "," in name or '"' in name:
            raise InputError(f"phase name {name!r} cannot be a CSV column name", source="--phase")
    table = np.column_stack([pattern.two_theta_deg, pattern.intensity]
                            + [pattern.components[n] for n in names])
    header = ",".join(["two_theta_deg", "intensity", *names])
    fmt = ["%.6f"] + ["%.8g"] * (table.shape[1] - 1)
    try:
        np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=fmt)
    except OSError as exc:
        raise InputError(f"cannot write the CSV ({exc.strerror or exc})", source=str(path)) from None


def run(args: argparse.Namespace) -> int:
    """Simulate, write the CSV (and plot), print a short summary."""
    from xrdkit.errors import check_output_paths
    from xrdkit.instrument import load_instrument
    from xrdkit.phases import PhaseLibrary
    from xrdkit.simulate import simulate

    check_output_paths(
        {"--out": args.out, "--plot": args.plot},
        {"--phase": [p for p in args.phase if p.lower().endswith(".cif")],
         "--instrument": args.instrument if Path(args.instrument).suffix else None},
    )
    lo, hi = (float(v) for v in args.range)
    x = two_theta_grid(lo, hi, float(args.step))
    if args.wt is not None and len(args.wt) != len(args.phase):
        raise InputError(f"{len(args.phase)} --phase but {len(args.wt)} --wt values; give one "
                         "weight fraction per phase (or none for equal fractions)", source="--wt")
    instrument = load_instrument(args.instrument)
    if args.no_ka2:
        instrument = instrument.without_ka2()
    library = PhaseLibrary(user_dir=Path(args.user_dir) if args.user_dir else None)
    phases = _phases(args, instrument, float(x[-1]))
    pattern = simulate(phases, args.wt, x, instrument, library=library)

    out = Path(args.out)
    write_csv(out, pattern)
    print(f"simulated {x.size} points, 2θ {x[0]:g}–{x[-1]:g}° step {args.step:g}°, instrument "
          f"{instrument.name} (λ = {', '.join(f'{w:g}' for w in instrument.wavelengths_angstrom)} Å)")
    for name, w in pattern.weight_fractions.items():
        print(f"  {name:<16} {100 * w:6.2f} wt %   scale {pattern.scale_factors[name]:.6g}")
    print(f"wrote {out}")
    if args.plot:
        from xrdkit.plot import new_figure, plot_simulated

        fig = new_figure(figsize=(8, 4))
        ax = fig.add_subplot()
        plot_simulated(pattern, ax)
        ax.set_title(" + ".join(f"{n} {100 * w:.0f} %" for n, w in pattern.weight_fractions.items()),
                     fontsize=9)
        fig.tight_layout()
        try:
            fig.savefig(args.plot, dpi=120)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot save the plot ({exc})", source=str(args.plot)) from None
        print(f"wrote {args.plot}")
    return 0
