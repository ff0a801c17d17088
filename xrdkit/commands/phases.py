"""``xrdkit phases``: list the phase library, show one phase, add a user CIF.

    xrdkit phases                       # table: name, formula, space group, cell, density, provenance
    xrdkit phases show nbh-fcc          # cell, Z, density, provenance, 10 strongest Cu Kα1 lines
    xrdkit phases add my.cif --name na2b12h12-rt
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pymatgen takes a second to import: only when the command runs
    from pymatgen.core import Structure

    from xrdkit.phases import Phase, PhaseLibrary

#: Cu Kα1 wavelength, Å (the value pymatgen's XRDCalculator uses for "CuKa1").
CU_KA1_ANGSTROM = 1.54059290
#: 2θ range searched for the strongest lines, degrees.
SHOW_TWO_THETA_MAX_DEG = 90.0
#: Number of lines printed by ``phases show``.
N_STRONGEST = 10


@dataclass(frozen=True)
class Line:
    """One powder line for display."""

    hkl: tuple[int, ...]
    multiplicity: int
    d_angstrom: float
    two_theta_deg: float
    intensity_rel: float


def strongest_lines(structure: Structure, n: int = N_STRONGEST,
                    wavelength_angstrom: float = CU_KA1_ANGSTROM,
                    two_theta_max_deg: float = SHOW_TWO_THETA_MAX_DEG) -> list[Line]:
    """The ``n`` strongest lines (m·|F|²·LP, unpolarised LP, no Debye-Waller), strongest first.

    Uses :func:`xrdkit.reflections.compute_reflections` when available, else pymatgen's
    ``XRDCalculator``.
    """
    try:
        from xrdkit.reflections import compute_reflections
    except ImportError:
        compute_reflections = None
    lines: list[Line] = []
    if compute_reflections is not None:
        refl = compute_reflections(structure, wavelength_angstrom=wavelength_angstrom,
                                   two_theta_max_deg=two_theta_max_deg)
        d = np.asarray(refl.d_spacing_angstrom())
        ok = wavelength_angstrom / (2 * d) <= 1.0
        theta = np.arcsin(np.clip(wavelength_angstrom / (2 * d), 0, 1))
        lp = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
        inten = np.where(ok, refl.multiplicity * refl.f2 * lp, 0.0)
        keep = ok & (np.degrees(2 * theta) <= two_theta_max_deg)
        if np.any(keep):
            scale = 100.0 / inten[keep].max()
            for i in np.flatnonzero(keep):
                lines.append(Line(tuple(int(v) for v in refl.hkl[i]), int(refl.multiplicity[i]),
                                  float(d[i]), float(np.degrees(2 * theta[i])),
                                  float(inten[i] * scale)))
    else:  # pragma: no cover - only without xrdkit.reflections
        from pymatgen.analysis.diffraction.xrd import XRDCalculator

        pattern = XRDCalculator(wavelength=wavelength_angstrom).get_pattern(
            structure, two_theta_range=(0, two_theta_max_deg))
        for x, y, hkls, d in zip(pattern.x, pattern.y, pattern.hkls, pattern.d_hkls,
                                 strict=True):
            first = hkls[0]
            lines.append(Line(tuple(first["hkl"]), int(first["multiplicity"]), float(d),
                              float(x), float(y)))
    lines.sort(key=lambda ln: -ln.intensity_rel)
    return lines[:n]


def _cell(structure: Structure) -> str:
    a, b, c = structure.lattice.abc
    al, be, ga = structure.lattice.angles
    return f"a={a:.4f} b={b:.4f} c={c:.4f} Å  α={al:.2f} β={be:.2f} γ={ga:.2f}°"


def _library(args: argparse.Namespace) -> PhaseLibrary:
    from xrdkit.phases import PhaseLibrary

    return PhaseLibrary(user_dir=Path(args.user_dir) if args.user_dir else None)


def _list(args: argparse.Namespace) -> int:
    lib = _library(args)
    header = (f"{'name':<14} {'formula':<11} {'space group':<11} {'a':>8} {'b':>8} {'c':>8} "
              f"{'ρ g/cm³':>8}  provenance")
    print(header)
    print("-" * len(header))
    for info in lib.table():
        s = lib.get(info.name).structure
        a, b, c = s.lattice.abc
        print(f"{info.name:<14} {info.formula:<11} {info.space_group:<11} {a:8.4f} {b:8.4f} "
              f"{c:8.4f} {info.density_g_cm3:8.4f}  {info.provenance.short()}")
    return 0


def _print_phase(phase: Phase) -> None:
    info, s = phase.info, phase.structure
    prov = info.provenance
    print(f"{info.name}: {info.formula}, Z = {info.z:g}")
    print(f"  space group   {info.space_group} (No. {info.space_group_number})")
    print(f"  cell          {_cell(s)}  V = {s.volume:.3f} Å³")
    dens = f"{info.density_g_cm3:.4f} g/cm³"
    if info.density_literature_g_cm3 is not None:
        dens += f" (literature {info.density_literature_g_cm3:g})"
    print(f"  density       {dens}")
    if info.temperature_K is not None:
        print(f"  temperature   {info.temperature_K:g} K")
    if info.sigma_S_per_cm_25C is not None:
        print(f"  σ(25 °C)      {info.sigma_S_per_cm_25C:g} S/cm ({info.sigma_source})")
    print(f"  provenance    {prov.kind}")
    print(f"  source        {prov.citation}")
    if prov.doi:
        print(f"  doi           {prov.doi}")
    if prov.how:
        print(f"  how           {prov.how}")
    if info.notes:
        print(f"  notes         {info.notes}")
    print(f"  file          {info.cif_path}")
    print(f"\n  {N_STRONGEST} strongest lines, Cu Kα1 {CU_KA1_ANGSTROM} Å (no Debye-Waller):")
    print(f"  {'hkl':<12} {'m':>3} {'d Å':>8} {'2θ °':>8} {'I rel':>7}")
    for ln in strongest_lines(s):
        hkl = " ".join(str(v) for v in ln.hkl)
        print(f"  {hkl:<12} {ln.multiplicity:>3} {ln.d_angstrom:8.4f} {ln.two_theta_deg:8.3f} "
              f"{ln.intensity_rel:7.1f}")


def _show(args: argparse.Namespace) -> int:
    _print_phase(_library(args).get(args.name))
    return 0


def _add(args: argparse.Namespace) -> int:
    lib = _library(args)
    phase = lib.add_cif(args.file, name=args.name)
    print(f"added {phase.name!r} to {lib.user_dir}")
    _print_phase(phase)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``xrdkit phases`` and its actions ``show`` and ``add``."""
    p = subparsers.add_parser("phases", help="list, show and add reference phases",
                              description=__doc__.splitlines()[0])
    p.add_argument("--user-dir", default=None,
                   help="folder of user-added phases (default $CLOSOKIT_USER_PHASES or "
                        "~/.local/share/closokit/phases)")
    p.set_defaults(func=_list)
    actions = p.add_subparsers(dest="phases_action", metavar="ACTION")
    show = actions.add_parser("show", help="cell, density, provenance and strongest lines")
    show.add_argument("name", help="library name, e.g. nbh-fcc")
    show.set_defaults(func=_show)
    add = actions.add_parser("add", help="validate a CIF and add it to the user phases")
    add.add_argument("file", help="CIF file")
    add.add_argument("--name", default=None, help="library name (default: file stem)")
    add.set_defaults(func=_add)
