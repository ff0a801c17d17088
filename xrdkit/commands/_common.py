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
    p.add_argument("--phase", action="append", default=[], metavar="NAME", type=str.lower,
                   help="library phase (repeat; case-insensitive); see `xrdkit phases`")
    p.add_argument("--cif", action="append", default=[], metavar="FILE",
                   help="extra phase from a CIF file (name = file stem; repeat)")
    p.add_argument("--instrument", default="miniflex600-cuka", metavar="PRESET|FILE",
                   help="instrument preset or JSON file (default: miniflex600-cuka)")
    p.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"),
                   help="2θ range to fit, degrees")
    p.add_argument("--no-ka2", action="store_true", help="single wavelength (no Kα2)")
    p.add_argument("--background-terms", type=int, default=10, help="Chebyshev background terms (default 10)")
    b = p.add_mutually_exclusive_group()
    b.add_argument("--refine-b-iso", dest="b_iso", action="store_const", const="yes", default="auto",
                   help="refine an overall B per phase (default for `xrdkit fit`: when the scan reaches "
                        "sinθ/λ ≥ 0.35 Å⁻¹; identify and batch hold B unless this flag is given)")
    b.add_argument("--fix-b-iso", dest="b_iso", action="store_const", const="no",
                   help="hold B at the CIF's values (0 where the CIF has none)")
    p.add_argument("--fix-coordinates", dest="coordinates", action="store_const", const="no", default="auto",
                   help="hold atomic coordinates at the CIF's values (default for `xrdkit fit`: refine a "
                        "phase's free coordinates when the scan reaches sinθ/λ ≥ 0.45 Å⁻¹, it holds ≥ 10 wt %% "
                        "and has ≤ 3 of them, and χ² falls decisively; identify and batch always hold them)")
    p.add_argument("--po", action="append", default=[], metavar="PHASE:H,K,L",
                   help="March–Dollase preferred orientation of PHASE along (HKL) (repeat)")
    p.add_argument("--brindley", action="append", default=[], metavar="PHASE:SIZE_UM",
                   help="Brindley microabsorption: particle diameter of PHASE in µm (repeat; give every phase)")
    p.add_argument("--displacement", action="store_true", help="refine the sample displacement")
    p.add_argument("--asymmetry", action="store_true", help="refine the peak asymmetry")
    p.add_argument("--recipe", metavar="FILE.toml|FILE.json",
                   help="refinement recipe: the options above as keys (see docs/recipes.md); flags win")


#: Defaults of the options a recipe may set (a recipe fills only what is still at its default).
RECIPE_DEFAULTS: dict[str, Any] = {
    "instrument": "miniflex600-cuka", "range": None, "no_ka2": False, "background_terms": 10,
    "b_iso": "auto", "coordinates": "auto", "displacement": False, "asymmetry": False, "model_error": True,
}
#: Recipe keys: each the name of the command-line argument it sets. Flags given on the command
#: line win.
RECIPE_KEYS = frozenset({"phase", "cif", "po", "brindley", *RECIPE_DEFAULTS})


def apply_recipe(args: argparse.Namespace, parser_defaults: dict[str, Any] | None = None) -> None:
    """Fill ``args`` from ``--recipe`` (TOML or JSON) where the command line left the default.

    List options (``phase``, ``cif``, ``po``, ``brindley``) are joined; ``po`` and ``brindley``
    may be tables (``po = {brucite = [0, 0, 1]}``, ``brindley = {zno = 1.0}``); ``b_iso`` is
    ``"auto"``, ``true`` or ``false``; ``coordinates`` is ``"auto"`` or ``false``.

    Raises
    ------
    InputError
        Unreadable recipe or an unknown key (named with the file).
    """
    path = getattr(args, "recipe", None)
    if not path:
        return
    parser_defaults = RECIPE_DEFAULTS if parser_defaults is None else parser_defaults
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read recipe ({exc})", source=str(p)) from None
    if not isinstance(data, dict):
        raise InputError("a recipe holds a table/object of options", source=str(p))
    unknown = sorted(set(data) - set(RECIPE_KEYS))
    if unknown:
        raise InputError(f"unknown recipe keys {unknown}; known: {sorted(RECIPE_KEYS)}", source=str(p))
    for key, value in data.items():
        if key == "po" and isinstance(value, dict):
            value = [f"{k}:{','.join(str(int(v)) for v in hkl)}" for k, hkl in value.items()]
        elif key == "brindley" and isinstance(value, dict):
            value = [f"{k}:{v}" for k, v in value.items()]
        elif key == "b_iso" and isinstance(value, bool):
            value = "yes" if value else "no"
        elif key == "coordinates" and isinstance(value, bool):
            value = "auto" if value else "no"
        elif key == "cif" and isinstance(value, list):
            value = [str((p.parent / v) if not Path(v).is_absolute() else v) for v in value]
        elif key == "instrument" and isinstance(value, str) and Path(value).suffix:
            value = str(p.parent / value) if not Path(value).is_absolute() else value
        current = getattr(args, key, None)
        if isinstance(current, list):
            setattr(args, key, list(value) + current)
        elif current == parser_defaults.get(key):
            setattr(args, key, value)


def _phase_option(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name or not value:
        raise InputError(f"{flag} expects PHASE:VALUE, got {text!r}")
    return name.strip().lower(), value.strip()


def preferred_orientation_from_args(args: argparse.Namespace) -> dict[str, tuple[int, int, int]]:
    """``--po PHASE:H,K,L`` → {phase: (h, k, l)}."""
    out = {}
    for text in getattr(args, "po", []) or []:
        name, value = _phase_option(text, "--po")
        try:
            hkl = tuple(int(v) for v in value.replace(" ", "").split(","))
        except ValueError:
            raise InputError(f"--po {text!r}: H,K,L must be three integers") from None
        if len(hkl) != 3 or hkl == (0, 0, 0):
            raise InputError(f"--po {text!r}: H,K,L must be three integers, not all 0")
        out[name] = hkl
    return out


def spike_from_args(args: argparse.Namespace) -> tuple[str, float] | None:
    """``--spike PHASE:WT`` → (phase, weight fraction of the spiked mixture); WT > 1 is per cent."""
    text = getattr(args, "spike", None)
    if not text:
        return None
    name, value = _phase_option(text, "--spike")
    try:
        wt = float(value)
    except ValueError:
        raise InputError(f"--spike {text!r}: WT must be a number (weight fraction or per cent)") from None
    wt = wt / 100.0 if wt > 1.0 else wt
    if not 0.0 < wt < 1.0:
        raise InputError(f"--spike {text!r}: the standard's weight fraction must be between 0 and 1 (or 0–100 %)")
    return name, wt


def particle_sizes_from_args(args: argparse.Namespace) -> dict[str, float]:
    """``--brindley PHASE:SIZE_UM`` → {phase: diameter in µm}."""
    out = {}
    for text in getattr(args, "brindley", []) or []:
        name, value = _phase_option(text, "--brindley")
        try:
            size = float(value)
        except ValueError:
            raise InputError(f"--brindley {text!r}: SIZE_UM must be a number (µm)") from None
        if not 0 < size < 1000:
            raise InputError(f"--brindley {text!r}: particle size must lie in (0, 1000) µm")
        out[name] = size
    return out


def b_iso_choice(args: argparse.Namespace) -> bool | str:
    """``"auto"``, True or False from ``--refine-b-iso`` / ``--fix-b-iso`` (or an old
    ``refine_b_iso`` attribute)."""
    choice = getattr(args, "b_iso", None)
    if choice is None:
        return bool(getattr(args, "refine_b_iso", False))
    return {"yes": True, "no": False}.get(choice, "auto")


def coordinates_choice(args: argparse.Namespace) -> bool | str:
    """``"auto"`` or False (``--fix-coordinates``): the ``refine_coordinates`` of
    :func:`xrdkit.qpa.quantify`."""
    return False if getattr(args, "coordinates", "auto") == "no" else "auto"


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
    b_iso = b_iso_choice(args)
    sizes = particle_sizes_from_args(args)
    return RefineOptions(
        background_terms=args.background_terms,
        refine_b_iso=b_iso is True,  # "auto" is decided per scan by xrdkit.qpa.quantify (fit)
        preferred_orientation=preferred_orientation_from_args(args),
        particle_size_um=sizes,
        refine_displacement=bool(getattr(args, "displacement", False)),
        refine_asymmetry=bool(getattr(args, "asymmetry", False)),
    )


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


def check_command_outputs(args: argparse.Namespace, outputs: tuple[str, ...] = ("json", "plot"),
                          inputs: tuple[str, ...] = ("scan",)) -> None:
    """:func:`check_output_paths` for a command's ``--json``/``--plot``/… against its inputs
    (positional ``scan``, the file part of ``FILE.h5::/path``), ``--cif``, an instrument
    file and ``--recipe``."""
    given_inputs: dict[str, Any] = {}
    for name in inputs:
        value = getattr(args, name, None)
        if value is not None:
            given_inputs[name] = str(value).split("::", 1)[0]
    given_inputs["--cif"] = list(getattr(args, "cif", []) or [])
    instrument = getattr(args, "instrument", None)
    if instrument is not None and Path(str(instrument)).suffix:
        given_inputs["--instrument"] = str(instrument)
    given_inputs["--recipe"] = getattr(args, "recipe", None)
    from xrdkit.errors import check_output_paths

    check_output_paths({f"--{name}": getattr(args, name, None) for name in outputs}, given_inputs)

