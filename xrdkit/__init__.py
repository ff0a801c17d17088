"""xrdkit — X-ray powder diffraction of sodium closo-borate solid electrolytes.

The verbs, importable from here (each is loaded on first use, so ``import xrdkit`` stays fast):

- :func:`read_scan` — read a scan (.xy/.csv/.xrdml/.rasx/.raw/HDF5 ``FILE.h5::/path``);
- :func:`simulate` — a powder pattern of phases at weight fractions;
- :func:`refine` — whole-pattern (Rietveld-style) refinement with quantitative phase analysis;
- :func:`quantify` — :func:`refine` plus B, coordinates, model selection and model-error σ's;
- :func:`identify` — is there crystalline closo-borate, fcc or separate? (:class:`Verdict`);
- :func:`run_batch` — analyse many scans (local processes or a Dask cluster), kill-safe;
- :func:`predict_cell` — the cell model: conductivity → capacity vs C-rate, energy, N/P;
- :class:`PhaseLibrary`, :func:`load_instrument`, :func:`example_file` — phases, instruments, bundled data.

Examples
--------
>>> import xrdkit
>>> scan = xrdkit.read_scan(f"{xrdkit.example_file('electrodes.h5')}::/electrode_01/data")  # doctest: +SKIP
>>> xrdkit.identify(scan, electrode_phases=["nacro2", "al"]).verdict  # doctest: +SKIP
<Verdict.FCC: 'fcc'>
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name → module that defines it (imported on first access, PEP 562).
_EXPORTS = {
    "read_scan": "xrdkit.readers",
    "simulate": "xrdkit.simulate",
    "refine": "xrdkit.refine",
    "RefineOptions": "xrdkit.refine",
    "quantify": "xrdkit.qpa",
    "identify": "xrdkit.identify",
    "Verdict": "xrdkit.vocabulary",
    "run_batch": "xrdkit.batch",
    "predict_cell": "xrdkit.cell",
    "PhaseLibrary": "xrdkit.phases",
    "load_instrument": "xrdkit.instrument",
    "example_file": "xrdkit.data",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xrdkit' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # a verb named like its module (identify, refine, simulate) is that callable module: Python
    # binds the package attribute to the submodule anyway once anything imports it
    value = mod if module == f"xrdkit.{name}" else getattr(mod, name)
    globals()[name] = value  # next access skips this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
