"""The separator: a dense pellet pressed from its own electrolyte powder.

In the paper the ≈ 400 µm (< 500 µm) separator is pressed from the conductive NBH powder, not
from the infiltration solution that fills the cathode, so its purity, conductivity and thickness
are inputs of their own.  A scan of an *electrode* says nothing about the pellet: by default the
pellet is phase-pure fcc NBH (``materials.json``: ``separator_fcc_weight_fraction`` = 1), its
conductivity follows the same effective-medium + Arrhenius model as the electrode's electrolyte
(:func:`xrdkit.cell.conductivity.electrolyte_conductivity`), and a measured conductivity can
replace the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xrdkit.cell.conductivity import ElectrolyteParameters, electrolyte_conductivity
from xrdkit.cell.constants import material
from xrdkit.errors import InputError

__all__ = ["Separator"]


@dataclass(frozen=True)
class Separator:
    """Electrolyte pellet between cathode and anode.

    Attributes
    ----------
    thickness_um : float, optional
        Pellet thickness.  ``None`` (default): the documented 400 µm (paper: < 500 µm), whose
        range 200–500 µm the Monte Carlo propagates; a number is taken as known.
    fcc_weight_fraction : float
        fcc NBH weight fraction of the pellet's electrolyte (default 1, the paper's NBH powder).
    fcc_weight_fraction_sigma : float
        Its 1σ (default 0).
    sigma_S_per_cm : float, optional
        Measured pellet conductivity at the cell temperature; replaces the purity model.

    Examples
    --------
    The default pellet: 400 µm of phase-pure NBH; at 30 °C its resistance is L/σ:

    >>> from xrdkit.cell import Separator
    >>> pellet = Separator()
    >>> sigma = pellet.conductivity_S_per_cm(30.0)                                     # S/cm
    >>> pellet.thickness_value_um, f"{sigma:.3e}"
    (400.0, '1.470e-03')
    >>> round(pellet.resistance_ohm_cm2(30.0), 2), round(400e-4 / sigma, 2)            # Ω cm²
    (27.21, 27.21)

    A measured conductivity replaces the model: 200 µm at 0.5 mS cm⁻¹ is 40 Ω cm²:

    >>> round(Separator(thickness_um=200.0, sigma_S_per_cm=5e-4).resistance_ohm_cm2(30.0), 6)
    40.0
    """

    thickness_um: float | None = None
    fcc_weight_fraction: float = field(
        default_factory=lambda: material("separator_fcc_weight_fraction"))
    fcc_weight_fraction_sigma: float = 0.0
    sigma_S_per_cm: float | None = None

    def __post_init__(self) -> None:
        t = self.thickness_value_um
        if not math.isfinite(t) or t <= 0:
            raise InputError(f"separator thickness must be > 0 µm, got {self.thickness_um!r}",
                             source="separator_thickness_um")
        for name in ("fcc_weight_fraction", "fcc_weight_fraction_sigma"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or not 0.0 <= v <= 1.0:
                raise InputError(f"separator {name.replace('_', ' ')} must lie in [0, 1], "
                                 f"got {v!r}", source=f"separator_{name}")
        if self.sigma_S_per_cm is not None:
            s = float(self.sigma_S_per_cm)
            if not math.isfinite(s) or s <= 0:
                raise InputError(f"separator conductivity must be > 0 S/cm, got {s!r}",
                                 source="separator_sigma_S_per_cm")

    @property
    def thickness_value_um(self) -> float:
        """The thickness in use (the documented default when none was given), µm."""
        if self.thickness_um is None:
            return material("separator_thickness_um")
        return float(self.thickness_um)

    def conductivity_S_per_cm(self, temperature_C: float,
                              params: ElectrolyteParameters | None = None,
                              fcc_weight_fraction: float | None = None) -> float:
        """Pellet conductivity at ``temperature_C`` (measured value if given, else the model)."""
        if self.sigma_S_per_cm is not None:
            return float(self.sigma_S_per_cm)
        w = self.fcc_weight_fraction if fcc_weight_fraction is None else fcc_weight_fraction
        return electrolyte_conductivity(w, temperature_C, params)

    def resistance_ohm_cm2(self, temperature_C: float,
                           params: ElectrolyteParameters | None = None) -> float:
        """Area-specific resistance L/σ of the pellet (Ω cm²)."""
        return self.thickness_value_um * 1e-4 / self.conductivity_S_per_cm(temperature_C, params)
