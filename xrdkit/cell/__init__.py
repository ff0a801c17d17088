"""Cell performance model: from electrolyte phase purity to conductivity, rate capability,
full-cell energy and fade of NaCrO2 | Na4(B12H12)(B10H10) | Na–Sn cells.

The modules:

- ``conductivity`` — effective-medium conductivity of the electrolyte from its phase fractions;
- ``electrode`` — composite cathode: thickness, infiltration mass balance (electrolyte vs void);
- ``separator`` — the separator pellet, with its own electrolyte purity/conductivity/thickness;
- ``ocv`` — constructed NaCrO2 open-circuit voltage;
- ``porous`` — reduced porous-electrode discharge (slabs through the cathode, numba);
- ``rate`` — fast rate-capability model on top of it;
- ``pybamm_backend`` — optional PyBaMM half-cell DFN (``pip install closokit[cell]``);
- ``fullcell`` — N/P balance, specific energy, first-cycle loss;
- ``fade`` — empirical per-cycle fade vs stack pressure;
- ``uncertainty`` — calibration-conditioned Monte Carlo → central 95 % intervals;
- ``calibration`` — the parameters fitted to the paper; hold-out checks; interface vs literature;
- ``predict`` — :func:`predict_cell`, the one-call entry point;
- ``plot`` — matplotlib helpers taking an ``ax``.

What is fitted to the paper and what is independent is stated in each module's docstring.
"""

from xrdkit.cell.conductivity import ElectrolyteParameters, electrolyte_conductivity
from xrdkit.cell.electrode import Composition, Electrode, infiltration_loading, parse_composition
from xrdkit.cell.fade import FadeModel
from xrdkit.cell.fullcell import FullCellResult, full_cell, np_ratio
from xrdkit.cell.predict import CellPrediction, RateRow, predict_cell
from xrdkit.cell.rate import DEFAULT_C_RATES, RateCapability, RateParameters, rate_capability
from xrdkit.cell.separator import Separator

__all__ = [
    "CellPrediction",
    "Composition",
    "DEFAULT_C_RATES",
    "Electrode",
    "ElectrolyteParameters",
    "FadeModel",
    "FullCellResult",
    "RateCapability",
    "RateParameters",
    "RateRow",
    "Separator",
    "electrolyte_conductivity",
    "full_cell",
    "infiltration_loading",
    "np_ratio",
    "parse_composition",
    "predict_cell",
    "rate_capability",
]
