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
        The fit (:func:`xrdkit.refine.refine` or :func:`xrdkit.qpa.quantify`).
    name : str
        Phase name in ``result``.
    structure : pymatgen.core.Structure
        The phase's structure (e.g. ``PhaseLibrary().get(name).structure``); fractional
        coordinates are kept.

    Returns
    -------
    pymatgen.core.Structure
        Same sites and site properties, refined cell (edges in Å, angles in degrees); edges a
        cubic, tetragonal or hexagonal fit does not refine follow the refined ones.

    Raises
    ------
    InputError
        ``name`` is not a phase of the fit.

    Examples
    --------
    The bundled isopropanol series at 180 °C (constructed data): the fcc NBH cell has expanded
    from the library's 10.029 Å (25 °C):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scan
    >>> from xrdkit.refine import refine
    >>> scan = read_scan(f"{example_file('isopropanol_series.h5')}::/scan_12/data")  # 180 °C
    >>> fit = refine(scan, ["nbh-fcc", "be"])
    >>> from xrdkit.export import refined_structure
    >>> from xrdkit.phases import PhaseLibrary
    >>> nbh = PhaseLibrary().get("nbh-fcc").structure
    >>> hot = refined_structure(fit, "nbh-fcc", nbh)
    >>> round(nbh.lattice.a, 3), round(hot.lattice.a, 2), round(hot.lattice.c, 2)    # Å
    (10.029, 10.07, 10.07)
    >>> len(hot) == len(nbh)
    True
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
        The fit (:func:`xrdkit.refine.refine` or :func:`xrdkit.qpa.quantify`).
    name : str
        Phase name in ``result``.
    structure : pymatgen.core.Structure
        The structure the fit used (coordinates as refined, if they were).
    path : str or Path
        The CIF to write.

    Returns
    -------
    Path
        The file written: comment lines with the source, the refined lattice ± σ, the weight
        fraction, B, March–Dollase ratio and Rwp/GOF, then pymatgen's CIF.

    Raises
    ------
    InputError
        ``name`` is not a phase of the fit, or the file cannot be written.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scan
    >>> from xrdkit.refine import refine
    >>> scan = read_scan(f"{example_file('isopropanol_series.h5')}::/scan_12/data")  # 180 °C
    >>> fit = refine(scan, ["nbh-fcc", "be"])
    >>> import pathlib, tempfile
    >>> from xrdkit.export import write_refined_cif
    >>> from xrdkit.phases import PhaseLibrary, read_cif
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "nbh_180C.cif"
    >>> path = write_refined_cif(fit, "nbh-fcc", PhaseLibrary().get("nbh-fcc").structure, out)
    >>> path.read_text().splitlines()[1]  # doctest: +ELLIPSIS
    '# phase nbh-fcc: lattice a = 10.07...'
    >>> round(read_cif(path).lattice.a, 2)                                            # Å
    10.07
    """
    from pymatgen.io.cif import CifWriter

    phase = next((p for p in result.phases if p.name == name), None)
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
        The fit (:func:`xrdkit.refine.refine` or :func:`xrdkit.qpa.quantify`).
    path : str or Path
        ``*.xye`` writes the .xye file and ``*.csv`` next to it; any other suffix writes the CSV.

    Returns
    -------
    Path
        The CSV file written.

    Raises
    ------
    InputError
        A file cannot be written.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scan
    >>> from xrdkit.refine import refine
    >>> scan = read_scan(f"{example_file('isopropanol_series.h5')}::/scan_12/data")  # 180 °C
    >>> fit = refine(scan, ["nbh-fcc", "be"])
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from xrdkit.export import write_fitted_pattern
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> csv = write_fitted_pattern(fit, folder / "scan_12.xye")
    >>> sorted(p.name for p in folder.iterdir())
    ['scan_12.csv', 'scan_12.xye']
    >>> csv.read_text().splitlines()[0]
    'two_theta_deg,observed,sigma,calculated,background,difference,phase_nbh-fcc,phase_be'
    >>> xye = np.loadtxt(folder / "scan_12.xye")     # 2θ (deg), observed, σ (counts)
    >>> xye.shape, float(xye[0, 0]), round(float(xye[-1, 0]), 2)
    ((4000, 3), 5.0, 59.99)
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
