"""Locations of the bundled reference data (resolved lazily, no import-time I/O)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from xrdkit.errors import InputError

#: Environment variable that points at a ``reference_data`` folder elsewhere.
REFERENCE_DATA_ENV = "CLOSOKIT_REFERENCE_DATA"


def reference_data_dir() -> Path:
    """Return the ``reference_data`` folder (env override, else the source tree).

    Raises
    ------
    InputError
        If no folder can be found.
    """
    env = os.environ.get(REFERENCE_DATA_ENV)
    path = Path(env) if env else _source_tree_reference_data()
    if not path.is_dir():
        raise InputError(
            f"reference data folder not found; set {REFERENCE_DATA_ENV} or install closokit "
            "in editable mode (pip install -e .)",
            source=str(path),
        )
    return path


@functools.cache
def _source_tree_reference_data() -> Path:
    """``reference_data`` beside the package (resolved once: a batch asks for it per scan)."""
    return Path(__file__).resolve().parent.parent / "reference_data"
