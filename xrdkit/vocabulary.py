"""The vocabulary every closokit output shares: verdict categories, and what a missing value is.

Kept in a module of its own, free of heavy imports, so the CLI, reports and readers of results
can use it without loading the fitting code.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

__all__ = ["Verdict", "finite_or_none"]


class Verdict(StrEnum):
    """What the electrolyte in a scan is: the one vocabulary every output uses.

    The value is the string written to JSON, CSV, HDF5 and reports (``Verdict.FCC == "fcc"``).

    Examples
    --------
    >>> from xrdkit.vocabulary import Verdict
    >>> Verdict("no-borate") is Verdict.NO_BORATE, Verdict.FCC == "fcc", str(Verdict.MIXED)
    (True, True, 'mixed')
    >>> [v.value for v in Verdict]
    ['fcc', 'separate', 'mixed', 'no-borate', 'unexplained']
    """

    #: The closo-borate crystallised as the conductive fcc NBH phase (no second borate phase found).
    FCC = "fcc"
    #: Only separately crystallised Na2B12H12 / Na2B10H10 (the methanol route).
    SEPARATE = "separate"
    #: Both fcc NBH and separately crystallised salt.
    MIXED = "mixed"
    #: No crystalline closo-borate is significantly present: there is no purity to report.
    NO_BORATE = "no-borate"
    #: Borate present, but significant crystalline intensity none of the models explains.
    UNEXPLAINED = "unexplained"


def finite_or_none(value: Any) -> float | None:
    """A finite float, or None for a missing value: None, JSON null, an empty CSV cell, NaN, a
    bool or anything that is not a number.

    Parameters
    ----------
    value : object
        A value read from JSON, CSV or HDF5 (number, numeric string, None, NaN …).

    Returns
    -------
    float or None
        ``float(value)`` when that is finite, else None.

    Examples
    --------
    >>> from xrdkit.vocabulary import finite_or_none
    >>> [finite_or_none(v) for v in (10.029, "0.93", "", None, float("nan"), "inf", True, "n/a")]
    [10.029, 0.93, None, None, None, None, None, None]
    """
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
