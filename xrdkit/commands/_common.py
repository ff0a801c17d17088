"""Argument helpers shared by the fit, identify and batch sub-commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from xrdkit.errors import InputError


def add_phase_arguments(p: argparse.ArgumentParser) -> None:
    """``--phase NAME`` (repeatable), ``--cif FILE`` (repeatable), ``--instrument``, ``--range``."""
    p.add_argument("--phase", action="append", default=[], metavar="NAME",
                   help="library phase (repeat); see `xrdkit phases`")
    p.add_argument("--cif", action="append", default=[], metavar="FILE",
                   help="extra phase from a CIF file (name = file stem; repeat)")
    p.add_argument("--instrument", default="miniflex600-cuka", metavar="PRESET|FILE",
                   help="instrument preset or JSON file (default: miniflex600-cuka)")
    p.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"),
                   help="2θ range to fit, degrees")
    p.add_argument("--no-ka2", action="store_true", help="single wavelength (no Kα2)")
    p.add_argument("--background-terms", type=int, default=10, help="Chebyshev background terms (default 10)")
    p.add_argument("--refine-b-iso", action="store_true", help="refine an overall B per phase")


def library_with_cifs(cifs: list[str]):
    """The phase library plus the CIFs given on the command line (not persisted)."""
    from xrdkit.phases import PhaseLibrary

    lib = PhaseLibrary()
    names = []
    for path in cifs:
        phase = lib.add_cif(path, name=Path(path).stem.lower(), persist=False)
        names.append(phase.name)
    return lib, names


def instrument_from_args(args: argparse.Namespace):
    """The instrument named by ``--instrument`` (without Kα2 if ``--no-ka2``)."""
    from xrdkit.instrument import load_instrument

    inst = load_instrument(args.instrument)
    return inst.without_ka2() if args.no_ka2 else inst


def options_from_args(args: argparse.Namespace):
    """RefineOptions from the common flags."""
    from xrdkit.refine import RefineOptions

    if args.background_terms < 0:
        raise InputError(f"--background-terms must be ≥ 0, got {args.background_terms}")
    return RefineOptions(background_terms=args.background_terms, refine_b_iso=args.refine_b_iso)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str, data: dict) -> None:
    """Write ``data`` as JSON (NaN → null)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    Path(path).write_text(json.dumps(clean(data), indent=2, default=_json_default))
