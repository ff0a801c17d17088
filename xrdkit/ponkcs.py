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

    Parameters
    ----------
    name : str
        Name of the phase in the list (and in fit results).
    space_group : str or int
        Hermann–Mauguin symbol or International Tables number.
    lattice : pymatgen.core.Lattice
        The cell (Å, degrees).
    wavelength_angstrom : float
        Shortest wavelength the list must cover, Å.
    two_theta_max_deg : float
        Highest 2θ the list must cover, degrees.

    Returns
    -------
    ReflectionList
        Every allowed reflection family of the space group, sorted by decreasing d.

    Examples
    --------
    An F-centred cubic cell (fcc NBH's, a = 10.029 Å): the first lines are (111) and (200);
    (100) and (110) are absent:

    >>> from pymatgen.core import Lattice
    >>> from xrdkit.ponkcs import cell_phase
    >>> cell = cell_phase("nbh-cell", "Fm-3m", Lattice.cubic(10.029), wavelength_angstrom=1.5406,
    ...                   two_theta_max_deg=60.0)
    >>> cell.crystal_system, cell.hkl[:4].tolist()
    ('cubic', [[1, 1, 1], [2, 0, 0], [2, 2, 0], [3, 1, 1]])
    >>> cell.d_spacing_angstrom()[:2].round(4).tolist()      # a/√3, a/2 in Å
    [5.7902, 5.0145]
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

    Examples
    --------
    Calibrate fcc NBH known by its cell only on a 50:50 mixture with corundum, then quantify
    another mixture (30:70) with it. The patterns are simulated from the full structures (with
    Poisson noise), which the calibration never sees:

    >>> import numpy as np
    >>> from pymatgen.core import Lattice
    >>> from xrdkit.calibrate import standard
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.ponkcs import calibrate_ponkcs, cell_phase
    >>> from xrdkit.refine import refine
    >>> from xrdkit.scans import make_scan
    >>> from xrdkit.simulate import resolve_phases, simulate
    >>> inst = load_instrument("miniflex600-cuka")
    >>> nbh_structure, corundum = resolve_phases(["nbh-fcc", standard("al2o3").structure()], inst, 60.0)
    >>> two_theta_deg, rng = np.arange(10.0, 60.0, 0.02), np.random.default_rng(0)
    >>> def mixture(w_nbh):
    ...     lines = simulate([nbh_structure, corundum], [w_nbh, 1 - w_nbh], two_theta_deg,
    ...                      peak_max=20_000, background=[200.0])
    ...     return make_scan(two_theta_deg, rng.poisson(lines.intensity).astype(float))
    >>> calibration_scan, unknown = mixture(0.5), mixture(0.3)
    >>> cell = cell_phase("nbh-cell", "Fm-3m", Lattice.cubic(10.029), wavelength_angstrom=1.5406,
    ...                   two_theta_max_deg=60.0)
    >>> nbh = calibrate_ponkcs(calibration_scan, cell, corundum, empirical_weight_fraction=0.5,
    ...                        standard_weight_fraction=0.5)
    >>> fit = refine(unknown, [nbh, corundum], instrument=inst)
    >>> [(p.name, round(p.weight_fraction, 2)) for p in fit.phases]
    [('nbh-cell', 0.3), ('Al2O3', 0.7)]
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
