"""Phases known only by their cell: Pawley reflection lists and PONKCS calibration.

Some phases that matter here have no published structure reachable to us (the
room-temperature monoclinic Na2B12H12 and Na2B10H10). A laboratory can still
quantify them with PONKCS — "Partial Or No Known Crystal Structure" (Scarlett & Madsen,
*Powder Diffr.* 21 (2006) 278, doi:10.1154/1.2362855):

1. :func:`cell_phase` builds the reflection list of a space group + cell (systematic
   absences from a dummy atom on a general position);
2. :func:`calibrate_ponkcs` fits a measured pattern of the pure phase mixed with a
   known mass of a standard (e.g. Al, Si, corundum) — Pawley intensities for the
   unknown phase, a structural model for the standard — and turns the intensities
   and the known weight ratio into an *empirical* phase: fixed relative intensities
   and a calibrated cell mass Z·M, so that Hill–Howard weight fractions work for it
   like for any structure;
3. the calibrated phase is used in :func:`xrdkit.refine.refine` like a CIF phase.

The calibrated Z·M follows from the standard: with scale s, volume V and known
weights w, ``(ZM)_emp = (w_emp / w_std) · s_std (ZMV)_std / (s_emp V_emp)``; the
Pawley intensities are folded into |F|² so that ``s_emp = 1``.
"""

from __future__ import annotations

import logging

import numpy as np
from pymatgen.core import Lattice, Structure

from xrdkit.errors import InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.refine import RefineOptions, refine
from xrdkit.reflections import ReflectionList, compute_reflections
from xrdkit.scans import Scan

__all__ = ["cell_phase", "calibrate_ponkcs"]

log = logging.getLogger(__name__)

#: General position of the dummy atom used to find systematic absences.
_GENERAL_POSITION = (0.1234, 0.2345, 0.3456)


def cell_phase(
    name: str,
    space_group: str | int,
    lattice: Lattice,
    *,
    wavelength_angstrom: float,
    two_theta_max_deg: float,
) -> ReflectionList:
    """Reflection list of a cell and space group without atomic positions.

    The |F|² are those of one dummy carbon atom on a general position — all allowed
    reflections non-zero, systematic absences zero — and are meant to be replaced by
    fitted (Pawley) or calibrated (PONKCS) intensities.
    """
    try:
        st = Structure.from_spacegroup(space_group, lattice, ["C"], [list(_GENERAL_POSITION)])
    except Exception as exc:  # pymatgen raises ValueError/KeyError for bad symbols
        raise InputError(f"cannot build space group {space_group!r} with this cell: {exc}") from None
    return compute_reflections(st, wavelength_angstrom=wavelength_angstrom,
                               two_theta_max_deg=two_theta_max_deg, name=name)


def calibrate_ponkcs(
    scan: Scan,
    empirical: ReflectionList,
    standard: ReflectionList,
    *,
    empirical_weight_fraction: float,
    standard_weight_fraction: float,
    instrument: Instrument | str = "miniflex600-cuka",
    options: RefineOptions | None = None,
) -> ReflectionList:
    """Calibrate an empirical (PONKCS) phase from a mixture of known composition.

    Parameters
    ----------
    scan : Scan
        Pattern of the empirical phase mixed with the standard (and nothing else).
    empirical : ReflectionList
        The cell-only phase (:func:`cell_phase`, or a CIF phase whose intensities are untrusted).
    standard : ReflectionList
        Structural model of the standard.
    empirical_weight_fraction, standard_weight_fraction : float
        Weighed-in fractions of the two (> 0).
    instrument, options
        As for :func:`~xrdkit.refine.refine` (``options.pawley`` is set for you).

    Returns
    -------
    ReflectionList
        The empirical phase with fitted relative intensities and calibrated Z·M.

    Raises
    ------
    InputError
        Non-positive weights, or a fit in which the empirical phase got no intensity.
    """
    if not (empirical_weight_fraction > 0 and standard_weight_fraction > 0):
        raise InputError("both weight fractions of the calibration mixture must be > 0")
    inst = load_instrument(instrument)
    opts = options or RefineOptions()
    from dataclasses import replace

    opts = replace(opts, pawley=(empirical.name,))
    res = refine(scan, [empirical, standard], instrument=inst, options=opts)
    coef = np.array([
        res.params[lab].value for lab in res.params if lab.startswith(_safe(empirical.name) + "_scale_")
    ])
    if coef.size != empirical.n or not np.any(coef > 0):
        raise InputError(f"calibration fit gave no intensity to {empirical.name!r}", source=scan.source)
    std = res.phase(standard.name)
    lat_emp = res.phase(empirical.name).lattice
    v_emp = empirical.volume(lat_emp)
    zmv_std = standard.cell_mass_amu * standard.volume(std.lattice)
    zm_emp = (empirical_weight_fraction / standard_weight_fraction) * std.scale * zmv_std / v_emp
    log.info("%s: PONKCS Z·M = %.1f amu from %s (Rwp %.3f)", empirical.name, zm_emp, scan.source, res.rwp)
    calibrated = empirical.with_intensities(empirical.f2 * coef, cell_mass_amu=zm_emp)
    # keep the refined cell as the reference lattice of the empirical phase
    return ReflectionList(
        calibrated.name, calibrated.hkl, calibrated.multiplicity, calibrated.f2,
        calibrated.members_hkl, calibrated.member_family, calibrated.crystal_system,
        _lattice_of(calibrated, lat_emp), calibrated.cell_mass_amu, v_emp,
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _lattice_of(refl: ReflectionList, values: dict[str, float]) -> Lattice:
    from xrdkit.reflections import lattice_from_parameters

    return lattice_from_parameters(refl.crystal_system, values)
