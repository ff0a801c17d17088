"""irkit — IR spectra of sodium closo-borate solid electrolytes."""

from __future__ import annotations

__version__ = "0.1.0"
