"""Re-derive the parameters the cell model takes from the paper (its calibration table).

Only these are fitted to the paper; everything else comes from ``materials.json``:

* :func:`fit_rate_parameters` — interface resistance and binder film thickness of the analytic
  rate model from the two 5C retentions (67.4 % for 97:1:2, 57.5 % for 95:2:3);
* :func:`fit_fade_model` — the two fade parameters from the retention after 100 cycles at 70 and
  3 MPa.

Both are exactly determined (two numbers, two parameters); their agreement with the paper is
therefore by construction, which the tests and the report say.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.optimize import least_squares

from xrdkit.cell.conductivity import electrolyte_conductivity
from xrdkit.cell.constants import paper_calibration
from xrdkit.cell.electrode import Electrode, parse_composition
from xrdkit.cell.fade import FadeModel
from xrdkit.cell.rate import RateParameters, rate_capability
from xrdkit.errors import FitError

__all__ = ["paper_electrodes", "fit_rate_parameters", "fit_fade_model", "retention_5c"]


def paper_electrodes() -> dict[str, tuple[Electrode, float]]:
    """The paper's two rate-test cathodes → (Electrode, published 5C retention vs 0.1C)."""
    cal = paper_calibration()["electrodes"]
    return {label: (Electrode(parse_composition(label), rec["loading_mg_per_cm2"]),
                    float(rec["retention_5C_vs_0p1C"])) for label, rec in cal.items()}


def retention_5c(electrode: Electrode, sigma_S_per_cm: float, params: RateParameters) -> float:
    """Capacity at 5C divided by capacity at 0.1C (0 if nothing is delivered at 0.1C)."""
    cap = rate_capability(electrode, sigma_S_per_cm, [0.1, 5.0], params).capacity_mAh_per_g
    return float(cap[1] / cap[0]) if cap[0] > 0 else 0.0


def fit_rate_parameters(base: RateParameters | None = None,
                        fcc_weight_fraction: float = 1.0) -> RateParameters:
    """Solve interface resistance and binder film thickness from the two published 5C retentions.

    The paper's electrolyte is taken as phase-pure fcc NBH at its cell temperature (30 °C).

    Raises
    ------
    FitError
        If the two retentions cannot be matched (residual > 1e-6).
    """
    p0 = base or RateParameters()
    cal = paper_calibration()
    sigma = electrolyte_conductivity(fcc_weight_fraction, cal["temperature_C"])
    cells = list(paper_electrodes().values())

    def params_of(z: np.ndarray) -> RateParameters:
        return replace(p0, interface_resistance_ohm_cm2=math.exp(z[0]),
                       binder_film_thickness_um=math.exp(z[1]))

    def residual(z: np.ndarray) -> list[float]:
        p = params_of(z)
        return [retention_5c(e, sigma, p) - target for e, target in cells]

    sol = least_squares(residual, [math.log(1000.0), math.log(0.2)])
    if not sol.success or np.max(np.abs(sol.fun)) > 1e-6:
        raise FitError(f"rate calibration failed: residuals {sol.fun.tolist()}")
    return params_of(sol.x)


def fit_fade_model(reference_pressure_MPa: float = 70.0) -> FadeModel:
    """Closed-form fit of :class:`FadeModel` to the paper's two 100-cycle retentions."""
    fade = paper_calibration()["fade"]
    n = float(fade["cycles"])
    pts = {float(p): float(r) for p, r in fade["retention"].items()}
    (p1, r1), (p2, r2) = sorted(pts.items())
    k1 = -math.expm1(math.log(r1) / n)
    k2 = -math.expm1(math.log(r2) / n)
    m = math.log(k1 / k2) / math.log(p2 / p1)
    k_ref = k2 * (reference_pressure_MPa / p2) ** (-m)
    return FadeModel(loss_per_cycle_at_ref=k_ref, reference_pressure_MPa=reference_pressure_MPa,
                     pressure_exponent=m)
