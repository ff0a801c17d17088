"""``xrdkit batch FILE.h5 …``: identify and refine every scan of HDF5 files.

    xrdkit batch series.h5 --phase al --phase be --out results.h5 --table results.csv
    xrdkit batch big.h5 --out results.h5 --scheduler tcp://10.0.0.5:8786
    xrdkit batch series.h5 --out results.h5 --resume      # after an interruption

Every scan gets a verdict (fcc / separate / mixed / no-borate / unexplained, see
``xrdkit.identify.Verdict``), the fcc share of the borates ± σ (empty for no-borate), the
amorphous share of the scattered intensity and the fitted pattern; one bad scan records its
error and the batch goes on. Scans of one file form a series and warm-start from the
previous scan.
"""

from __future__ import annotations

import argparse
import sys

from xrdkit.commands._common import add_phase_arguments
from xrdkit.errors import InputError

# the library's names, importable from here as before (irkit's batch uses canonical_inputs)
from xrdkit.pipeline import (  # noqa: F401
    DASK_SCHEMES,
    MAX_SERIES_CHUNK,
    TABLE_COLUMNS,
    canonical_inputs,
    check_scheduler_address,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="analyse every scan of HDF5 files", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE.h5")
    add_phase_arguments(p)
    p.add_argument("--borate", action="append", default=None, metavar="NAME", type=str.lower,
                   help="borate phase to compare (default: nbh-fcc + available separate models)")
    p.add_argument("--out", required=True, metavar="RESULTS.h5")
    p.add_argument("--table", metavar="RESULTS.csv", help="summary table as CSV")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="submit to a Dask distributed scheduler")
    p.add_argument("--resume", action="store_true", help="finish an interrupted batch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results file")
    p.add_argument("--no-warm-start", action="store_true", help="fit every scan from cold")
    p.add_argument("--progress", action="store_true", help="progress bar even when not on a terminal")
    p.add_argument("--scan-timeout", type=float, default=None, metavar="SECONDS",
                   help="record a scan whose analysis takes longer as an error and go on "
                        "(default 600, or CLOSOKIT_ITEM_TIMEOUT_S)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = run_files(args)
    print(f"{summary.n_run} scans analysed ({summary.n_ok} ok, {summary.n_error} errors, "
          f"{summary.n_skipped} already done) in {summary.elapsed_s:.1f} s "
          f"({summary.items_per_s:.2f} scans/s, {summary.backend}, {summary.workers} workers) → {summary.out_path}")
    return 0 if summary.n_error == 0 else 1


def analyse_files_kwargs(args: argparse.Namespace) -> dict:
    """The keywords of :func:`xrdkit.pipeline.analyse_files` for parsed ``xrdkit batch`` flags
    (``--recipe`` already applied); checks the flags first so that errors name them."""
    from pathlib import Path

    from xrdkit.commands._common import b_iso_choice, coordinates_choice, options_from_args
    from xrdkit.errors import check_output_paths

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be ≥ 1, got {args.workers}")
    timeout = getattr(args, "scan_timeout", None)
    if timeout is not None and not timeout > 0:
        raise InputError(f"--scan-timeout must be a positive number of seconds, got {timeout:g}")
    scheduler = check_scheduler_address(args.scheduler, source="--scheduler") if args.scheduler is not None else None
    instrument_file = args.instrument if Path(args.instrument).suffix else None
    check_output_paths(
        {"--out": args.out, "--table": args.table},
        {"input": list(args.files), "--cif": list(args.cif), "--instrument": instrument_file,
         "--recipe": getattr(args, "recipe", None)},
    )
    options = options_from_args(args)  # --background-terms, --po and --brindley, named as flags
    return {
        "files": list(args.files), "out": args.out, "electrode_phases": list(args.phase),
        "cifs": list(args.cif), "borates": args.borate, "instrument": args.instrument,
        "two_theta_range_deg": tuple(args.range) if args.range else None, "ka2": not args.no_ka2,
        "background_terms": options.background_terms, "refine_b_iso": b_iso_choice(args),
        "refine_coordinates": coordinates_choice(args),
        "preferred_orientation": options.preferred_orientation,
        "particle_size_um": options.particle_size_um,
        "refine_displacement": options.refine_displacement, "refine_asymmetry": options.refine_asymmetry,
        "table": args.table, "workers": args.workers, "scheduler": scheduler, "resume": args.resume,
        "overwrite": args.overwrite, "warm_start": not args.no_warm_start,
        "progress": True if args.progress else None, "command": " ".join(sys.argv),
        "item_timeout_s": timeout,
    }


def run_files(args: argparse.Namespace):
    """Apply ``--recipe``, run :func:`xrdkit.pipeline.analyse_files` with the flags; returns
    its BatchSummary."""
    from xrdkit.hdf5 import probe_in_background

    probe_in_background(args.files)  # read the files' structure while the fitting code loads
    from xrdkit.commands._common import apply_recipe
    from xrdkit.pipeline import analyse_files

    apply_recipe(args)
    return analyse_files(**analyse_files_kwargs(args))
