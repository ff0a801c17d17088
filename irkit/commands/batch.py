"""``irkit batch``: fit and judge every spectrum in HDF5 files into a results file.

    irkit batch FILE.h5 [FILE2.h5 ...] --out results.h5 [--workers N] [--scheduler ADDR]
        [--resume | --overwrite] [--table TABLE.csv]

Spectra are found by :mod:`xrdkit.hdf5` (NeXus NXdata, stacks of spectra, bare groups); the
per-spectrum verdict, every band and the fit quality go to the summary table of results.h5.
Spectrum ids use the canonical absolute path of their file: ``stack.h5``, ``./stack.h5`` and a
symlink name the same spectra (a file named twice is analysed once; a resume may use another
spelling). ``--out`` and ``--table`` may be neither an input nor each other.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``batch`` sub-command."""
    p = subparsers.add_parser("batch", help="fit and judge every spectrum of HDF5 files",
                              description=__doc__.splitlines()[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__)
    p.add_argument("files", type=Path, nargs="+", help="HDF5 files with spectra")
    p.add_argument("--out", type=Path, required=True, help="results file (results.h5)")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:port)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="skip spectra already done")
    mode.add_argument("--overwrite", action="store_true", help="discard existing results")
    p.add_argument("--table", "--csv", dest="table", type=Path, metavar="TABLE.csv",
                   help="also write the summary table as CSV (--csv: former name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``irkit batch``."""
    from irkit.batch import run_ir_batch
    from xrdkit.commands.batch import canonical_inputs
    from xrdkit.errors import InputError, check_output_paths

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be ≥ 1, got {args.workers}")
    check_output_paths({"--out": args.out, "--table": args.table},
                       {"input": [str(f) for f in args.files]})
    files = canonical_inputs([str(f) for f in args.files])
    summary = run_ir_batch(
        files, args.out, workers=args.workers,
        scheduler=args.scheduler, resume=args.resume, overwrite=args.overwrite,
        config={"command": "irkit batch", "files": files},
    )
    print(f"{summary.n_run} spectra analysed ({summary.n_ok} ok, {summary.n_error} errors, "
          f"{summary.n_skipped} skipped) in {summary.elapsed_s:.1f} s "
          f"[{summary.backend}, {summary.workers} workers] → {summary.out_path}")
    if args.table:
        from xrdkit.results import write_table_csv

        write_table_csv(summary.out_path, args.table)
    return 0 if summary.n_error == 0 else 1
