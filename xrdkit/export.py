"""Exports of a fit that other programs open: refined structures as CIF, fitted patterns as .xye / CSV.

- :func:`write_refined_cif` — a phase's structure with the refined cell (and refined free
  coordinates when :func:`xrdkit.qpa.quantify` moved them), written by pymatgen's
  :class:`~pymatgen.io.cif.CifWriter`, with the weight fraction, B and the fit's figures of merit
  as comments;
- :func:`write_fitted_pattern` — 2θ, observed, calculated, background, difference and one column
  per phase (and the amorphous hump when the fit had one) as CSV (``.csv``) or as the three-column
  ``.xye`` of most Rietveld programs (2θ, observed, σ) with the calculated curves in a sibling CSV.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from xrdkit.errors import InputError
from xrdkit.refine import RefinementResult

__all__ = ["write_refined_cif", "write_fitted_pattern", "refined_structure"]

log = logging.getLogger(__name__)


def refined_structure(result: RefinementResult, name: str, structure):
    """``structure`` with phase ``name``'s refined lattice from ``result`` (a new pymatgen Structure).

    Parameters
    ----------
    result : RefinementResult
    name : str
        Phase name in ``result``.
    structure : pymatgen.core.Structure
        The phase's structure (e.g. ``PhaseLibrary().get(name).structure``); fractional
        coordinates are kept.

    Returns
    -------
    pymatgen.core.Structure

    Raises
    ------
    InputError
        ``name`` is not a phase of the fit.
    """
    from pymatgen.core import Lattice, Structure

    phase = next((p for p in result.phases if p.name == name), None)
    if phase is None:
        raise InputError(f"phase {name!r} is not in the fit (phases: {[p.name for p in result.phases]})")
    lat0 = structure.lattice
    abc = dict(zip("abc", lat0.abc, strict=True))
    ang = dict(zip(("alpha", "beta", "gamma"), lat0.angles, strict=True))
    for key, value in phase.lattice.items():
        if key in abc:
            abc[key] = value
        elif key in ang:
            ang[key] = value
    # a cubic/tetragonal/hexagonal cell refines only its free edges: tie the others to them
    free = set(phase.lattice)
    if "b" not in free and np.isclose(lat0.b, lat0.a):
        abc["b"] = abc["a"]
    if "c" not in free and np.isclose(lat0.c, lat0.a):
        abc["c"] = abc["a"]
    lattice = Lattice.from_parameters(abc["a"], abc["b"], abc["c"], ang["alpha"], ang["beta"], ang["gamma"])
    return Structure(lattice, structure.species_and_occu, structure.frac_coords,
                     site_properties=structure.site_properties)


def write_refined_cif(result: RefinementResult, name: str, structure, path: str | Path) -> Path:
    """Write phase ``name`` of ``result`` as a CIF with the refined cell (pymatgen's CifWriter).

    Parameters
    ----------
    result : RefinementResult
    name : str
    structure : pymatgen.core.Structure
        The structure the fit used (coordinates as refined, if they were).
    path : str or Path

    Returns
    -------
    Path

    Examples
    --------
    >>> write_refined_cif(fit, "nbh-fcc", PhaseLibrary().get("nbh-fcc").structure, "nbh_refined.cif")  # doctest: +SKIP
    """
    from pymatgen.io.cif import CifWriter

    phase = next(p for p in result.phases if p.name == name) if any(p.name == name for p in result.phases) else None
    refined = refined_structure(result, name, structure)
    header = [f"# refined by closokit (xrdkit) from {result.source}",
              f"# phase {name}: lattice " + ", ".join(
                  f"{k} = {v:.6f}({1e6 * phase.lattice_sigma.get(k, 0.0):.0f}e-6)" for k, v in phase.lattice.items()),
              f"# weight fraction {phase.weight_fraction} ± {phase.weight_fraction_sigma}; overall B "
              f"{phase.b_iso_angstrom2:.4g} Å²; March–Dollase {phase.march_dollase:.4g}",
              f"# Rwp {100 * result.rwp:.3f} %, GOF {result.gof:.3f}"]
    out = Path(path)
    try:
        text = str(CifWriter(refined))
        out.write_text("\n".join(header) + "\n" + text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write CIF ({exc})", source=str(out)) from None
    return out


def write_fitted_pattern(result: RefinementResult, path: str | Path) -> Path:
    """Write the fitted pattern: ``.xye`` (2θ, observed, σ) plus a CSV of every curve, or a CSV alone.

    The CSV columns are ``two_theta_deg, observed, sigma, calculated, background, difference``
    then ``phase_<name>`` for every phase and ``<name>`` for each fixed component (the amorphous
    hump), all in counts.

    Parameters
    ----------
    result : RefinementResult
    path : str or Path
        ``*.xye`` writes the .xye file and ``*.csv`` next to it; any other suffix writes the CSV.

    Returns
    -------
    Path
        The CSV file written.

    Examples
    --------
    >>> write_fitted_pattern(fit, "fit.xye")  # doctest: +SKIP
    PosixPath('fit.csv')
    """
    out = Path(path)
    cols: dict[str, np.ndarray] = {
        "two_theta_deg": result.two_theta_deg, "observed": result.observed, "sigma": result.sigma,
        "calculated": result.calculated, "background": result.background,
        "difference": result.observed - result.calculated,
    }
    cols.update({f"phase_{name}": comp for name, comp in result.components.items()})
    extra: Mapping[str, np.ndarray] = getattr(result, "extra_components", {}) or {}
    cols.update({name: comp for name, comp in extra.items()})
    csv = out.with_suffix(".csv")
    try:
        if out.suffix.lower() == ".xye":
            np.savetxt(out, np.column_stack([result.two_theta_deg, result.observed, result.sigma]), fmt="%.6f %.6g %.6g",
                       header=f"2theta_deg observed sigma  ({result.source}; closokit fit, Rwp {100 * result.rwp:.3f} %)")
        np.savetxt(csv, np.column_stack(list(cols.values())), delimiter=",", fmt="%.8g",
                   header=",".join(cols), comments="")
    except OSError as exc:
        raise InputError(f"cannot write the fitted pattern ({exc})", source=str(out)) from None
    return csv
