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


#: Schemes of Dask scheduler addresses (``distributed.comm``).
DASK_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address ``SCHEME://HOST:PORT``, checked before connecting.

    Raises
    ------
    InputError
        Another scheme, no host, or a port that is not an integer in 1–65535.
    """
    from urllib.parse import urlsplit

    text = address.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed address {address!r} ({exc}); expected tcp://HOST:PORT",
                         source="--scheduler") from None
    if parts.scheme not in DASK_SCHEMES or "://" not in text:
        raise InputError(f"malformed address {address!r}: expected SCHEME://HOST:PORT with SCHEME "
                         f"one of {', '.join(DASK_SCHEMES)}", source="--scheduler")
    if parts.scheme != "inproc" and (not parts.hostname or port is None or not 0 < port < 65536
                                     or parts.path not in ("", "/") or parts.query):
        raise InputError(f"malformed address {address!r}: expected {parts.scheme}://HOST:PORT with "
                         "a port in 1–65535", source="--scheduler")
    return text


def canonical_inputs(files: list[str]) -> list[str]:
    """Canonical absolute paths of the input files, each once, in the order first given.

    A scan's id is ``CANONICAL_PATH::/hdf5/path[index]``: ``stack.h5``, ``./stack.h5`` and a
    symlink to it name the same scans, so a resume with another spelling continues the same
    batch and a file named twice is analysed once.
    """
    import logging
    import os

    out: dict[str, str] = {}
    for f in files:
        canonical = os.path.realpath(f)
        if canonical in out:
            logging.getLogger(__name__).warning("%s names the same file as %s; analysed once", f,
                                                out[canonical])
            continue
        out[canonical] = f
    return list(out)


def batch_fingerprint(args: argparse.Namespace, inst, borates, files: list[str]) -> dict:
    """What makes two runs the same batch: the options, the phase set (with the SHA-256 of
    every CIF used), the instrument and every input (canonical path, size, mtime, SHA-256).

    ``--resume`` refuses to continue a batch whose stored fingerprint differs
    (:func:`xrdkit.results.fingerprint_differences` says what).
    """
    import dataclasses
    import hashlib
    import json
    from pathlib import Path

    from xrdkit.identify import FCC_PHASE, SEPARATE_BORATE_PHASES
    from xrdkit.phases import PhaseLibrary
    from xrdkit.results import file_fingerprint

    lib = PhaseLibrary()
    names = list(borates) if borates else [FCC_PHASE, *(p for p in SEPARATE_BORATE_PHASES if p in lib)]
    phases: dict[str, str] = {}
    for name in dict.fromkeys([*names, *args.phase]):
        if name in lib:
            phases[name] = hashlib.sha256(lib.info(name).cif_path.read_bytes()).hexdigest()
    for cif in args.cif:
        phases[f"cif:{Path(cif).stem.lower()}"] = file_fingerprint(cif)["sha256"]
    options = {k: getattr(args, k, None) for k in (
        "phase", "borate", "range", "no_ka2", "background_terms", "b_iso", "coordinates", "po",
        "brindley", "displacement", "asymmetry", "no_warm_start")}
    fingerprint = {
        "options": options,
        "phases": phases,
        "instrument": dataclasses.asdict(inst) if dataclasses.is_dataclass(inst) else repr(inst),
        "inputs": [file_fingerprint(f) for f in files],
    }
    return json.loads(json.dumps(fingerprint, default=str))  # as it will be stored


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def run_files(args: argparse.Namespace):
    """List scans, run the batch and write the table; returns the BatchSummary."""
    from pathlib import Path

    from xrdkit.analysis import AnalysisConfig, analyse_scan, make_tasks
    from xrdkit.batch import run_batch
    from xrdkit.commands._common import apply_recipe
    from xrdkit.errors import BatchError, check_output_paths
    from xrdkit.hdf5 import list_scans
    from xrdkit.results import write_table_csv

    apply_recipe(args)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be ≥ 1, got {args.workers}")
    if args.scheduler:
        args.scheduler = check_scheduler_address(args.scheduler)
    instrument_file = args.instrument if Path(args.instrument).suffix else None
    check_output_paths(
        {"--out": args.out, "--table": args.table},
        {"input": list(args.files), "--cif": list(args.cif), "--instrument": instrument_file,
         "--recipe": getattr(args, "recipe", None)},
    )
    files = canonical_inputs(list(args.files))
    for cif in args.cif:
        from xrdkit.phases import read_cif

        read_cif(cif)  # fail early on a bad CIF
    borates = tuple(args.borate) if args.borate else None
    if borates is not None and args.cif:
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
    fingerprint = batch_fingerprint(args, inst, borates, files)
    refs = []
    for f in files:
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
        config={"command": " ".join(sys.argv), "files": files, "phases": list(args.phase),
                "borates": list(borates or []), "instrument": inst.name,
                "fingerprint": fingerprint},
    )
    changed = [f["path"] for f in fingerprint["inputs"] if _stat_key(f["path"]) != (f["size"], f["mtime_ns"])]
    if changed:
        raise BatchError(
            f"input {changed[0]} changed while the batch ran; its results may mix two versions of "
            f"the file — rerun with --overwrite ({args.out} kept)"
        )
    if args.table:
        write_table_csv(args.out, args.table, TABLE_COLUMNS, rename={"id": "scan"})
    return summary
