"""xrdkit — X-ray powder diffraction of sodium closo-borate solid electrolytes.

The verbs, importable from here (each is loaded on first use, so ``import xrdkit`` stays fast):

- :func:`read_scan` — read a scan (.xy/.csv/.xrdml/.rasx/.raw/HDF5 ``FILE.h5::/path``);
- :func:`simulate` — a powder pattern of phases at weight fractions;
- :func:`refine` — whole-pattern (Rietveld-style) refinement with quantitative phase analysis;
- :func:`quantify` — :func:`refine` plus B, coordinates, model selection and model-error σ's;
- :func:`identify` — is there crystalline closo-borate, fcc or separate? (:class:`Verdict`);
- :func:`analyse_files` — every scan of HDF5 files: verdicts, results file, CSV table (``xrdkit batch``);
- :func:`run_batch` — any per-item analysis over many items (local processes or a Dask cluster), kill-safe;
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

from xrdkit._callable import lazy_exports

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
    "analyse_files": "xrdkit.pipeline",
    "run_batch": "xrdkit.batch",
    "predict_cell": "xrdkit.cell",
    "PhaseLibrary": "xrdkit.phases",
    "load_instrument": "xrdkit.instrument",
    "example_file": "xrdkit.data",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
