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
- :mod:`irkit.plot`, :mod:`irkit.batch`, :mod:`irkit.cli` (``irkit fit``, ``irkit batch``).
"""

from __future__ import annotations

__version__ = "0.1.0"
