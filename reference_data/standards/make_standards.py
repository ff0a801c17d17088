"""Write the line-profile standard CIFs used by ``xrdkit instrument calibrate`` (run from the repository root).

    .venv/bin/python reference_data/standards/make_standards.py

Cells are the NIST certified values at 22.5 °C (see README.md for each source and which ones
could not be checked here); atom positions from the crystal-structure literature. The output
is deterministic.
"""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter

HERE = Path(__file__).resolve().parent

#: Certified lattice parameters (Å), NIST SRMs, 22.5 °C.
SI_640F_A = 5.431144  # SRM 640f [unverified here: taken from the task brief]
LAB6_660C_A = 4.156826  # SRM 660c certificate: 0.4156826 nm ± 0.000008 nm at 22.5 °C
AL2O3_676A_A, AL2O3_676A_C = 4.759365, 12.99257  # SRM 676a [unverified here: task brief]
#: B on 6f (x, ½, ½) in LaB6 [unverified: task brief; an SRM 660b CIF seen gives 0.1975].
LAB6_B_X = 0.1996
#: Corundum positions: Lutterotti & Scardi, J. Appl. Cryst. 23 (1990) 246,
#: doi:10.1107/S0021889890002382 (COD 1000032): Al 12c z = 0.35216(3), O 18e x = 0.30668(16).
AL_Z, O_X = 0.35216, 0.30668


def build_all() -> dict[str, Structure]:
    """Every standard as a pymatgen Structure, by the name ``--phase`` takes."""
    return {
        # diamond structure: Si on 8a, (0, 0, 0) in the origin choice 1 pymatgen's "Fd-3m" uses
        # ((1/8, 1/8, 1/8) there would be a 16-fold position)
        "si": Structure.from_spacegroup("Fd-3m", Lattice.cubic(SI_640F_A), ["Si"], [[0.0, 0.0, 0.0]]),
        "lab6": Structure.from_spacegroup("Pm-3m", Lattice.cubic(LAB6_660C_A), ["La", "B"],
                                          [[0, 0, 0], [LAB6_B_X, 0.5, 0.5]]),
        "al2o3": Structure.from_spacegroup("R-3c", Lattice.hexagonal(AL2O3_676A_A, AL2O3_676A_C), ["Al", "O"],
                                           [[0, 0, AL_Z], [O_X, 0, 0.25]]),
    }


def main() -> None:
    for name, structure in build_all().items():
        CifWriter(structure, symprec=0.01).write_file(HERE / f"{name}.cif")
        print(f"{name}: {structure.composition.reduced_formula}, {len(structure)} atoms/cell, "
              f"{structure.get_space_group_info()}")


if __name__ == "__main__":
    main()
