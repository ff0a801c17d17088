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
import math
import os
import sys
from collections import Counter

from xrdkit.commands._common import add_phase_arguments, instrument_from_args, options_from_args
from xrdkit.errors import InputError

#: Largest chunk of a warm-started series sent to one worker (bounds what a kill loses).
MAX_SERIES_CHUNK = 64
#: Leading columns of the CSV table: the issue-5 contract (``id`` is written as ``scan``), then
#: the amorphous share of the intensity and the detection limit (issue 15). A missing value (the
#: purity of a no-borate scan, anything of an error row) is an empty cell.
TABLE_COLUMNS = (
    "id", "status", "verdict", "fcc_weight_fraction", "fcc_weight_fraction_sigma", "rwp", "gof", "error",
    "amorphous_intensity_share", "detection_limit",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="analyse every scan of HDF5 files", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE.h5")
    add_phase_arguments(p)
    p.add_argument("--borate", action="append", default=None, metavar="NAME",
                   help="borate phase to compare (default: nbh-fcc + available separate models)")
    p.add_argument("--out", required=True, metavar="RESULTS.h5")
    p.add_argument("--table", metavar="RESULTS.csv", help="summary table as CSV")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="submit to a Dask distributed scheduler")
    p.add_argument("--resume", action="store_true", help="finish an interrupted batch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results file")
    p.add_argument("--no-warm-start", action="store_true", help="fit every scan from cold")
    p.add_argument("--progress", action="store_true", help="progress bar even when not on a terminal")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = run_files(args)
    print(f"{summary.n_run} scans analysed ({summary.n_ok} ok, {summary.n_error} errors, "
          f"{summary.n_skipped} already done) in {summary.elapsed_s:.1f} s "
          f"({summary.items_per_s:.2f} scans/s, {summary.backend}, {summary.workers} workers) → {summary.out_path}")
    return 0 if summary.n_error == 0 else 1


def _series_of(task) -> str:
    """Scans of one file form one warm-started series."""
    return task.ref.file


def run_files(args: argparse.Namespace):
    """List scans, run the batch and write the table; returns the BatchSummary."""
    from xrdkit.analysis import AnalysisConfig, analyse_scan, make_tasks
    from xrdkit.batch import run_batch
    from xrdkit.hdf5 import list_scans
    from xrdkit.results import write_table_csv

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be ≥ 1, got {args.workers}")
    for cif in args.cif:
        from xrdkit.phases import read_cif

        read_cif(cif)  # fail early on a bad CIF
    borates = tuple(args.borate) if args.borate else None
    if borates is not None and args.cif:
        from pathlib import Path

        borates = tuple(dict.fromkeys(borates + tuple(Path(c).stem.lower() for c in args.cif)))
    inst = instrument_from_args(args)
    config = AnalysisConfig(
        candidates=borates,
        electrode_phases=tuple(args.phase),
        instrument=inst,
        options=options_from_args(args),
        two_theta_range_deg=tuple(args.range) if args.range else None,
        user_cifs=tuple(args.cif),
    )
    refs = []
    for f in args.files:
        refs.extend(list_scans(f))
    tasks = make_tasks(refs, config)
    chunk = None
    if not args.no_warm_start and not args.scheduler:
        # a warm-started series should be split into as few chunks as there are workers:
        # every chunk boundary is a cold start
        workers = args.workers or os.cpu_count() or 1
        longest = max(Counter(t.ref.file for t in tasks).values(), default=1)
        chunk = max(1, min(MAX_SERIES_CHUNK, math.ceil(longest / workers)))
    summary = run_batch(
        tasks, analyse_scan, args.out, workers=args.workers, scheduler=args.scheduler, chunk_size=chunk,
        resume=args.resume, overwrite=args.overwrite, warm_start=not args.no_warm_start,
        series_key=_series_of, progress=True if args.progress else None,
        config={"command": " ".join(sys.argv), "files": list(args.files), "phases": list(args.phase),
                "borates": list(borates or []), "instrument": inst.name},
    )
    if args.table:
        write_table_csv(args.out, args.table, TABLE_COLUMNS, rename={"id": "scan"})
    return summary
