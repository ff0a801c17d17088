"""Material constants and the paper's calibration table, read lazily from ``reference_data/cell``.

Every number carries its provenance in the JSON files (``status`` is one of ``paper``, ``lit``,
``derived``, ``unverified`` or ``assumed``); :func:`material` hands out the value, :func:`provenance`
the record.  Nothing is read at import time.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError

__all__ = ["material", "material_range", "material_distribution", "propagated_materials",
           "provenance", "paper_calibration", "reference_json"]

#: Distributions a material record may declare (see materials.json ``_about``).
DISTRIBUTIONS = ("uniform", "loguniform", "triangular")

#: Faraday constant (C mol⁻¹), CODATA 2018 exact.
FARADAY_C_PER_MOL = 96485.33212
#: Boltzmann constant (eV K⁻¹), CODATA 2018 exact.
BOLTZMANN_EV_PER_K = 8.617333262e-5
#: Molar gas constant (J mol⁻¹ K⁻¹), CODATA 2018 exact.
GAS_CONSTANT_J_PER_MOL_K = 8.314462618


def _cell_dir() -> Path:
    return reference_data_dir() / "cell"


@cache
def _load(name: str) -> dict[str, Any]:
    path = _cell_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("cell reference data file missing", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc}", source=str(path)) from exc


def provenance(name: str) -> dict[str, Any]:
    """Return the full record (value, range, status, source) of material constant ``name``."""
    constants = _load("materials.json")["constants"]
    if name not in constants:
        raise InputError(f"unknown material constant {name!r}; known: {sorted(constants)}",
                         source="reference_data/cell/materials.json")
    return dict(constants[name])


def material(name: str) -> float:
    """Return the value of material constant ``name`` (units in the name)."""
    return float(provenance(name)["value"])


def material_range(name: str) -> tuple[float, float]:
    """Return the documented plausible range of ``name`` (the value itself if none is given)."""
    rec = provenance(name)
    lo, hi = rec.get("range", (rec["value"], rec["value"]))
    return float(lo), float(hi)


def material_distribution(name: str) -> str | None:
    """The Monte Carlo distribution of ``name`` (uniform, loguniform, triangular) or None if fixed."""
    dist = provenance(name).get("distribution")
    if dist is not None and dist not in DISTRIBUTIONS:
        raise InputError(f"{name}: unknown distribution {dist!r}; known: {DISTRIBUTIONS}",
                         source="reference_data/cell/materials.json")
    return dist


def propagated_materials() -> tuple[str, ...]:
    """Names of the material constants that declare a distribution (the propagated ones)."""
    return tuple(k for k, v in _load("materials.json")["constants"].items()
                 if v.get("distribution") is not None)


def reference_json(name: str) -> dict[str, Any]:
    """A copy of ``reference_data/cell/NAME`` (JSON)."""
    return json.loads(json.dumps(_load(name)))


def paper_calibration() -> dict[str, Any]:
    """Return a copy of the paper's cell numbers (FACTS.md §3–§4) as stored in JSON."""
    return json.loads(json.dumps(_load("paper_calibration.json")))
