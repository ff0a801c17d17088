"""irkit — IR spectra of sodium closo-borate solid electrolytes.

Modules (import what you need; nothing is loaded at import time):

- :mod:`irkit.spectra` — :class:`~irkit.spectra.Spectrum`, its validating gate and readers
  (text, JCAMP-DX, Bruker OPUS, HDF5), transmittance → absorbance, ATR correction.
- :mod:`irkit.bands` — the band library (``reference_data/ir_bands``) with provenance.
- :mod:`irkit.baseline` — pybaselines under one call, robust defaults per region.
- :mod:`irkit.fit` — B–H stretching / bending fits with lmfit (pseudo-Voigt / Voigt bands,
  joint polynomial baseline, centres/FWHM/heights/areas ± σ).
- :mod:`irkit.assess` — the :class:`~irkit.assess.IRVerdict`: borate present (which anion),
  anions intact, protonation, oxidation, B10:B12 (only with a borate), isopropanol, methanol,
  water (liquid / vapour), other organic, PVDF binder.
- :mod:`irkit.ratio` — the B10:B12 ratio, reported only when identified (posterior over band
  positions within their priors).
- :mod:`irkit.templates` — templates from real reference spectra (methanol, water vapour).
- :mod:`irkit.synthetic` — seeded synthetic spectra with their truth (constructed, not measured).
- :mod:`irkit.vocabulary` — :class:`~irkit.vocabulary.IRFlag`, the verdict's flag names, and
  the columns (with units) of the JSON, HDF5 and CSV outputs.
- :mod:`irkit.plot`, :mod:`irkit.batch`, :mod:`irkit.cli` (``irkit fit``, ``irkit batch``).

The verbs, importable from here and loaded on first use: :func:`read_spectrum`,
:func:`to_absorbance`, :func:`fit_region`, :func:`assess`, :func:`run_ir_batch`, :func:`synthesize`,
and the flag names :class:`IRFlag`.
"""

from __future__ import annotations

from xrdkit._callable import lazy_exports

__version__ = "0.1.0"

#: Public name → module that defines it (imported on first access, PEP 562).
_EXPORTS = {
    "read_spectrum": "irkit.spectra",
    "to_absorbance": "irkit.spectra",
    "fit_region": "irkit.fit",
    "assess": "irkit.assess",
    "run_ir_batch": "irkit.batch",
    "synthesize": "irkit.synthetic",
    "IRFlag": "irkit.vocabulary",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
