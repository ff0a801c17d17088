"""Empirical capacity fade per cycle with stack pressure as input.

    retention(N, P) = (1 − k(P))^N,    k(P) = k_ref · (P / P_ref)^(−m)

A power law in stack pressure (contact loss falls as pressure rises).  It is **fitted to the
paper**: with the two published points (95.6 % at 70 MPa and 85.9 % at 3 MPa after 100 cycles at
0.5C) the two parameters are determined exactly (k_ref = 4.50e-4 per cycle at 70 MPa,
m = 0.38625), so it interpolates between 3 and 70 MPa and extrapolates only with caution.  No
mechanism is implied.  :func:`xrdkit.cell.calibration.fit_fade_model` re-derives the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xrdkit.errors import InputError

__all__ = ["FadeModel"]

#: Fitted to the paper (see module docstring): per-cycle loss at the reference pressure.
CALIBRATED_LOSS_PER_CYCLE_70MPA = 4.4989e-4
#: Fitted to the paper: pressure exponent.
CALIBRATED_PRESSURE_EXPONENT = 0.38625


@dataclass(frozen=True)
class FadeModel:
    """Per-cycle capacity loss as a power law of stack pressure.

    Attributes
    ----------
    loss_per_cycle_at_ref : float
        k_ref, fractional capacity loss per cycle at ``reference_pressure_MPa``.
    reference_pressure_MPa : float
        P_ref (70 MPa, the paper's standard).
    pressure_exponent : float
        m ≥ 0; larger m means stronger benefit of pressure.

    Examples
    --------
    The default (fitted) model returns the paper's two 100-cycle retentions, 95.6 % at 70 MPa
    and 85.9 % at 3 MPa (``paper_calibration.json``):

    >>> from xrdkit.cell import FadeModel
    >>> from xrdkit.cell.constants import paper_calibration
    >>> fade = FadeModel()
    >>> round(fade.retention(100, 70.0), 3), round(fade.retention(100, 3.0), 3)
    (0.956, 0.859)
    >>> paper_calibration()["fade"]["retention"]
    {'70': 0.956, '3': 0.859}

    Per-cycle loss k(P) = k_ref (P/P_ref)^(−m), and retention (1 − k)^N over an array of cycles:

    >>> round(fade.loss_per_cycle(3.0), 6), round(4.4989e-4 * (3.0 / 70.0) ** -0.38625, 6)
    (0.001519, 0.001519)
    >>> fade.retention([0, 100, 500], 70.0).round(3)                 # fraction of initial
    array([1.   , 0.956, 0.799])
    """

    loss_per_cycle_at_ref: float = CALIBRATED_LOSS_PER_CYCLE_70MPA
    reference_pressure_MPa: float = 70.0
    pressure_exponent: float = CALIBRATED_PRESSURE_EXPONENT

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_per_cycle_at_ref < 1.0:
            raise InputError(f"loss_per_cycle_at_ref must lie in [0, 1), got "
                             f"{self.loss_per_cycle_at_ref!r}", source="loss_per_cycle_at_ref")
        if not self.reference_pressure_MPa > 0:
            raise InputError("reference_pressure_MPa must be > 0", source="reference_pressure_MPa")
        if not self.pressure_exponent >= 0:
            raise InputError("pressure_exponent must be ≥ 0", source="pressure_exponent")

    def loss_per_cycle(self, pressure_MPa: float) -> float:
        """k(P), fractional loss per cycle (capped below 1)."""
        p = float(pressure_MPa)
        if not math.isfinite(p) or p <= 0:
            raise InputError(f"stack pressure must be > 0 MPa, got {pressure_MPa!r}",
                             source="pressure_MPa")
        k = self.loss_per_cycle_at_ref * (p / self.reference_pressure_MPa) ** (
            -self.pressure_exponent)
        return min(k, 1.0 - 1e-12)

    def retention(self, cycles: float | np.ndarray, pressure_MPa: float) -> np.ndarray | float:
        """Fraction of the initial capacity left after ``cycles`` cycles at ``pressure_MPa``."""
        n = np.asarray(cycles, dtype=float)
        if np.any(~np.isfinite(n)) or np.any(n < 0):
            raise InputError(f"cycles must be ≥ 0, got {cycles!r}", source="cycles")
        out = np.exp(n * math.log1p(-self.loss_per_cycle(pressure_MPa)))
        return float(out) if out.ndim == 0 else out
