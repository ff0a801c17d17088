"""Full cell NaCrO2 | NBH | Sn: N/P balance, specific energy and first-cycle loss.

Mass bases (stated in every result):

* per **cathode active mass** — Wh per kg of NaCrO2;
* per **electrode mass** — Wh per kg of (cathode + anode) composites including binder and carbon,
  *without* electrolyte and current collectors (the paper's 222 Wh kg⁻¹ basis).

Mean voltage = mean NaCrO2 OCV over the delivered depth of discharge (constructed OCV,
:mod:`xrdkit.cell.ocv`) − the mean desodiation potential of Na–Sn (0.40 V vs Na, [unverified]).
Rate-dependent overpotentials are not included (the paper's full-cell energy is at low rate).

First cycle.  Na lost in the first cycle is the sum of the losses of both electrodes:
ICE ≈ CE_cathode · CE_anode when the cathode supplies all Na (the anode's first-cycle loss consumes
Na delivered by the cathode).  This is an estimate; side reactions specific to the full cell are
not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xrdkit.cell.constants import material
from xrdkit.cell.electrode import Composition, Electrode, parse_composition
from xrdkit.cell.ocv import inverse_ocv_nacro2, mean_ocv_nacro2
from xrdkit.errors import InputError

__all__ = ["FullCellResult", "np_ratio", "mean_cell_voltage", "full_cell"]


def _pos(v: float, name: str) -> float:
    x = float(v)
    if not math.isfinite(x) or x <= 0:
        raise InputError(f"{name} must be > 0, got {v!r}", source=name)
    return x


def _frac(v: float, name: str) -> float:
    x = float(v)
    if not math.isfinite(x) or not 0.0 < x <= 1.0:
        raise InputError(f"{name} must lie in (0, 1], got {v!r}", source=name)
    return x


def np_ratio(anode_active_mg_per_cm2: float, anode_capacity_mAh_per_g: float,
             cathode_active_mg_per_cm2: float, cathode_capacity_mAh_per_g: float) -> float:
    """N/P = (anode areal capacity)/(cathode areal capacity), from active masses and capacities.

    Parameters
    ----------
    anode_active_mg_per_cm2, anode_capacity_mAh_per_g : float
        Anode active mass per cm² and its reversible capacity (> 0).
    cathode_active_mg_per_cm2, cathode_capacity_mAh_per_g : float
        The same for the cathode (> 0).

    Returns
    -------
    float

    Raises
    ------
    InputError
        A value ≤ 0 or not finite.

    Examples
    --------
    The paper's ratio of loadings (1.2 mg Sn per 5.6 mg NaCrO2) with 634 and 118 mAh/g:

    >>> from xrdkit.cell import np_ratio
    >>> round(np_ratio(1.2 / 5.6 * 7.7, 634.0, 7.7, 118.0), 2)
    1.15
    """
    return (_pos(anode_active_mg_per_cm2, "anode_active_mg_per_cm2")
            * _pos(anode_capacity_mAh_per_g, "anode_capacity_mAh_per_g")) / (
        _pos(cathode_active_mg_per_cm2, "cathode_active_mg_per_cm2")
        * _pos(cathode_capacity_mAh_per_g, "cathode_capacity_mAh_per_g"))


def mean_cell_voltage(depth_of_discharge: float = 1.0,
                      anode_potential_V: float | None = None,
                      upper_voltage_V: float = 3.35) -> float:
    """Mean full-cell discharge voltage (V) over the first ``depth_of_discharge`` of the window.

    The mean NaCrO2 OCV from ``upper_voltage_V`` over that share of the window down to 2.10 V,
    minus the anode's mean desodiation potential.

    Parameters
    ----------
    depth_of_discharge : float
        Share of the OCV window delivered, in (0, 1].
    anode_potential_V : float, optional
        Mean Na–Sn desodiation potential (default 0.40 V vs Na [unverified]).
    upper_voltage_V : float
        Charged rest voltage of the cathode (V vs Na; the paper's 3.35).

    Returns
    -------
    float
        Mean cell voltage, V.

    Raises
    ------
    InputError
        If ``depth_of_discharge`` is outside (0, 1].

    Examples
    --------
    Over the whole window it is the exact mean OCV (3.35 → 2.10 V) less 0.40 V; a shallower
    discharge stays on the higher part of the curve:

    >>> from xrdkit.cell.fullcell import mean_cell_voltage
    >>> from xrdkit.cell.ocv import inverse_ocv_nacro2, mean_ocv_nacro2_closed_form
    >>> x0, x1 = inverse_ocv_nacro2([3.35, 2.10])
    >>> round(mean_cell_voltage(), 4), round(float(mean_ocv_nacro2_closed_form(x0, x1)) - 0.40, 4)
    (2.5433, 2.5433)
    >>> round(mean_cell_voltage(0.5), 3)                                                # V
    2.697
    """
    u_an = material("anode_mean_desodiation_potential_V") if anode_potential_V is None \
        else float(anode_potential_V)
    x0 = float(inverse_ocv_nacro2(upper_voltage_V))
    d = _frac(depth_of_discharge, "depth_of_discharge")
    x1 = x0 + d * (float(inverse_ocv_nacro2(2.10)) - x0)
    return mean_ocv_nacro2(x0, x1) - u_an


@dataclass(frozen=True)
class FullCellResult:
    """Full-cell balance and energy.

    Attributes
    ----------
    np_ratio : float
        Anode/cathode areal capacity ratio.
    capacity_mAh_per_g_cathode : float
        Delivered capacity per g of NaCrO2 (input or first-cycle estimate).
    mean_voltage_V : float
    energy_Wh_per_kg_cathode_active : float
        Basis: NaCrO2 mass only.
    energy_Wh_per_kg_electrodes : float
        Basis: cathode + anode composites incl. binder and carbon; no electrolyte, no collectors.
    initial_coulombic_efficiency : float
        CE_cathode · CE_anode (estimate).
    first_cycle_loss_fraction : float
        1 − initial_coulombic_efficiency.
    cathode_electrode_mg_per_cm2, anode_electrode_mg_per_cm2 : float
        Dry composite masses (active + binder + carbon) of the two electrodes, mg cm⁻².

    Examples
    --------
    The paper's full cell (5.6 mg cm⁻² NaCrO2 in 97:1:2, 1.2 mg cm⁻² Sn in 90:5:5) delivering
    its measured 110 mAh g⁻¹: the energies are within 1 Wh kg⁻¹ of the paper's 282 (per kg
    NaCrO2) and 222 (per kg of electrodes), and energy = capacity × mean voltage
    (mAh g⁻¹ × V = Wh kg⁻¹):

    >>> from xrdkit.cell import Electrode, full_cell
    >>> cell = full_cell(Electrode("97:1:2", 5.6), 1.2, delivered_capacity_mAh_per_g=110.0)
    >>> round(cell.energy_Wh_per_kg_cathode_active, 1), round(cell.energy_Wh_per_kg_electrodes, 1)
    (282.6, 222.7)
    >>> round(cell.energy_Wh_per_kg_cathode_active, 6) == round(110.0 * cell.mean_voltage_V, 6)
    True
    >>> round(cell.cathode_electrode_mg_per_cm2, 3), round(cell.anode_electrode_mg_per_cm2, 3)
    (5.773, 1.333)

    The initial coulombic efficiency is the product of the electrodes' (0.952 × 0.843):

    >>> round(cell.initial_coulombic_efficiency, 4), round(cell.first_cycle_loss_fraction, 4)
    (0.8025, 0.1975)
    """

    np_ratio: float
    capacity_mAh_per_g_cathode: float
    mean_voltage_V: float
    energy_Wh_per_kg_cathode_active: float
    energy_Wh_per_kg_electrodes: float
    initial_coulombic_efficiency: float
    first_cycle_loss_fraction: float
    cathode_electrode_mg_per_cm2: float
    anode_electrode_mg_per_cm2: float


def full_cell(cathode: Electrode, anode_loading_mg_per_cm2: float, *,
              anode_composition: Composition | str = "90:5:5",
              anode_loading_basis: str = "active",
              cathode_capacity_mAh_per_g: float = 118.0,
              anode_capacity_mAh_per_g: float | None = None,
              delivered_capacity_mAh_per_g: float | None = None,
              cathode_first_ce: float = 0.952, anode_first_ce: float = 0.843,
              anode_potential_V: float | None = None) -> FullCellResult:
    """Balance and energy of a NaCrO2 | NBH | Sn full cell.

    Parameters
    ----------
    cathode : Electrode
        NaCrO2 composite (its ``loading_basis`` applies).
    anode_loading_mg_per_cm2 : float
        Sn loading; ``anode_loading_basis`` "active" (Sn mass, default) or "electrode".
    anode_composition : str or Composition
        Sn : binder : carbon (paper 90:5:5).
    cathode_capacity_mAh_per_g, anode_capacity_mAh_per_g : float
        Reversible capacities used for N/P (defaults: 118 from the half cell at 0.1C; 634 Sn [paper]).
    delivered_capacity_mAh_per_g : float, optional
        Full-cell capacity per g NaCrO2 for the energy.  Default: the first-cycle estimate
        cathode_capacity/CE_cathode × ICE (charge capacity times the initial CE).
    cathode_first_ce, anode_first_ce : float
        First-cycle coulombic efficiencies (paper: 0.952 and 0.843).
    anode_potential_V : float, optional
        Mean Na–Sn desodiation potential (default 0.40 V [unverified]).

    Returns
    -------
    FullCellResult
        N/P, delivered capacity, mean voltage, specific energies (per kg NaCrO2 and per kg of
        both composites) and first-cycle efficiency.

    Raises
    ------
    InputError
        Unknown loading basis, loadings or capacities ≤ 0, efficiencies outside (0, 1].

    Examples
    --------
    The paper's cathode (97:1:2, 7.7 mg cm⁻² NaCrO2) against Sn at its loading ratio:

    >>> from xrdkit.cell import Electrode, full_cell
    >>> cell = full_cell(Electrode("97:1:2", 7.7), 1.2 / 5.6 * 7.7)
    >>> round(cell.np_ratio, 2), round(cell.initial_coulombic_efficiency, 3)
    (1.15, 0.803)
    >>> round(cell.capacity_mAh_per_g_cathode, 1), round(cell.mean_voltage_V, 2)   # mAh/g, V
    (99.5, 2.6)
    >>> round(cell.energy_Wh_per_kg_cathode_active), round(cell.energy_Wh_per_kg_electrodes)
    (258, 204)
    """
    comp_an = parse_composition(anode_composition)
    if anode_loading_basis not in ("active", "electrode"):
        raise InputError(f"anode_loading_basis must be 'active' or 'electrode', got "
                         f"{anode_loading_basis!r}", source="anode_loading_basis")
    m_an = _pos(anode_loading_mg_per_cm2, "anode_loading_mg_per_cm2")
    f_an = comp_an.fractions[0]
    m_an_active = m_an if anode_loading_basis == "active" else m_an * f_an
    m_an_electrode = m_an_active / f_an
    q_an = material("capacity_practical_sn_mAh_per_g") if anode_capacity_mAh_per_g is None \
        else anode_capacity_mAh_per_g
    q_cat = _pos(cathode_capacity_mAh_per_g, "cathode_capacity_mAh_per_g")
    ice = _frac(cathode_first_ce, "cathode_first_ce") * _frac(anode_first_ce, "anode_first_ce")
    if delivered_capacity_mAh_per_g is None:
        q_full = q_cat / cathode_first_ce * ice
    else:
        q_full = _pos(delivered_capacity_mAh_per_g, "delivered_capacity_mAh_per_g")
    v_mean = mean_cell_voltage(min(1.0, q_full / q_cat), anode_potential_V)
    e_active = q_full * v_mean  # mAh/g × V = Wh/kg
    m_cat_active = cathode.active_mass_mg_per_cm2
    m_cat_el = cathode.electrode_mass_mg_per_cm2
    e_electrodes = e_active * m_cat_active / (m_cat_el + m_an_electrode)
    return FullCellResult(
        np_ratio=np_ratio(m_an_active, q_an, m_cat_active, q_cat),
        capacity_mAh_per_g_cathode=q_full,
        mean_voltage_V=v_mean,
        energy_Wh_per_kg_cathode_active=e_active,
        energy_Wh_per_kg_electrodes=e_electrodes,
        initial_coulombic_efficiency=ice,
        first_cycle_loss_fraction=1.0 - ice,
        cathode_electrode_mg_per_cm2=m_cat_el,
        anode_electrode_mg_per_cm2=m_an_electrode,
    )
