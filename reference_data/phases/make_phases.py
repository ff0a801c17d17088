"""Regenerate the bundled phase CIFs and ``phases.json`` (run from the repository root).

    .venv/bin/python reference_data/phases/make_phases.py

The closo-borate CIFs are written by the builders in :mod:`xrdkit.structures`
(constructed models); the electrode / holder phases are written from the cells and
coordinates recorded below with their sources.  The output is deterministic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit import structures as st

HERE = Path(__file__).resolve().parent
SYMPREC = 0.01

# Cr-O bond length used to place O in the NaCrO2 model: Shannon ionic radii, Cr3+ (VI)
# 0.615 Å + O2- (VI) 1.40 Å (R. D. Shannon, Acta Cryst. A32 (1976) 751,
# doi:10.1107/S0567739476001551).
CR_O_ANGSTROM = 0.615 + 1.40
NACRO2_A, NACRO2_C = 2.974, 15.947

# Brucite Mg(OH)2, P-3m1: the ambient-pressure (1e-4 GPa) powder-neutron refinement of
# Catti, Ferraris, Hull & Pavese, Phys. Chem. Miner. 22 (1995) 200, doi:10.1007/BF00202300,
# as AMCSD 0007912 (copied from the AMCSD CIF reproduced in the GitHub repository
# jappoker/mineral-lib-jekyll, _posts/0001-01-01-Brucite.md).  Numbers as printed there;
# the special positions 1/3, 2/3 (printed 0.33333, 0.66667) are written exactly.
BRUCITE_A, BRUCITE_C = 3.14979, 4.7702
#: label, element, fractional coordinates, ADP: ("Uiso", U) or ("Uani", U11, U22, U33,
#: U12, U13, U23), Å² (CIF convention).
BRUCITE_SITES = (
    ("Mg1", "Mg", (0.0, 0.0, 0.0), ("Uiso", 0.00545)),
    ("O1", "O", (1 / 3, 2 / 3, 0.22030), ("Uiso", 0.00532)),
    ("H1", "H", (1 / 3, 2 / 3, 0.41300), ("Uani", 0.04192, 0.04192, 0.01039, 0.02096, 0.0, 0.0)),
)


def _nacro2_oxygen_z(a: float, c: float, d_cr_o: float) -> float:
    """z of O (6c) so that the Cr(3a)-O distance is ``d_cr_o``: d² = a²/3 + (c(1/3 - z))²."""
    return 1.0 / 3.0 - math.sqrt(d_cr_o**2 - a**2 / 3.0) / c


def build_all() -> dict[str, Structure]:
    """Every bundled phase as a pymatgen Structure."""
    z_o = _nacro2_oxygen_z(NACRO2_A, NACRO2_C, CR_O_ANGSTROM)
    sn_a, sn_c = 5.8318, 3.1819
    return {
        "nbh-fcc": st.build_nbh_fcc(),
        "na2b10h10-ht": st.build_na2b10h10_ht(),
        "na2b12h12-ht": st.build_na2b12h12_ht(),
        "nacro2": Structure.from_spacegroup(
            "R-3m", Lattice.hexagonal(NACRO2_A, NACRO2_C), ["Na", "Cr", "O"],
            [[0, 0, 0.5], [0, 0, 0], [0, 0, z_o]],
        ),
        # β-Sn, I4_1/amd origin choice 1: Sn 4a (0,0,0), (0,½,¼) + I-centring
        "beta-sn": Structure(
            Lattice.tetragonal(sn_a, sn_c), ["Sn"] * 4,
            [[0, 0, 0], [0.5, 0.5, 0.5], [0, 0.5, 0.25], [0.5, 0, 0.75]],
        ),
        "al": Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.04958), ["Al"], [[0, 0, 0]]),
        "be": Structure.from_spacegroup(
            "P6_3/mmc", Lattice.hexagonal(2.2855, 3.5832), ["Be"], [[1 / 3, 2 / 3, 0.25]]
        ),
        "brucite": Structure.from_spacegroup(
            "P-3m1", Lattice.hexagonal(BRUCITE_A, BRUCITE_C),
            [el for _, el, _, _ in BRUCITE_SITES], [xyz for _, _, xyz, _ in BRUCITE_SITES],
            labels=[label for label, _, _, _ in BRUCITE_SITES],
        ),
    }


#: Displacement parameters written into a phase's CIF, by phase name and site label.
ADPS: dict[str, dict[str, tuple]] = {
    "brucite": {label: adp for label, _, _, adp in BRUCITE_SITES},
}


def _u_eq(u_aniso: tuple, lattice: Lattice) -> float:
    """U_eq = (1/3) sum_ij U^ij a*_i a*_j a_i.a_j (Fischer & Tillmanns, Acta Cryst. C44 (1988)
    775) of (U11, U22, U33, U12, U13, U23)."""
    u11, u22, u33, u12, u13, u23 = u_aniso
    u = [[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]]
    a_star = lattice.reciprocal_lattice_crystallographic.abc
    g = lattice.metric_tensor
    return sum(u[i][j] * a_star[i] * a_star[j] * g[i][j] for i in range(3) for j in range(3)) / 3


_BORATE_HOW = (
    "Built by xrdkit.structures.{fn} (reference_data/phases/make_phases.py): ideal "
    "B12H12 icosahedron (B-B 1.78, B-H 1.12 Å) and/or B10H10 bicapped square antiprism "
    "(apex-ring 1.70, in-ring 1.86, ring-ring 1.81 Å [unverified], B-H 1.12 Å), each "
    "averaged over the 48 operations of m-3m (B12H12: 2 orientations, B10H10: 6) with "
    "partial occupancies; {sites}"
)

METADATA: dict[str, dict] = {
    "nbh-fcc": {
        "formula": "Na4B22H22",
        "z": 2,
        "temperature_K": 298.0,
        "sigma_S_per_cm_25C": 1.0e-3,
        "sigma_source": "Duchêne et al., Energy Storage Mater. 26 (2020) 543, "
                        "doi:10.1016/j.ensm.2019.11.027 (≈1 mS/cm at 25 °C)",
        "density_literature_g_cm3": 1.17,
        "provenance": {
            "kind": "constructed",
            "citation": "Duchêne et al., Chem. Commun. 53 (2017) 4195 (fcc, a = 10.029 Å); "
                        "Udovic et al., Adv. Mater. 26 (2014) 7622 (Na sites of high-T "
                        "Na2B10H10)",
            "doi": "10.1039/C7CC00794A",
            "how": _BORATE_HOW.format(
                fn="build_nbh_fcc",
                sites="anions random 50:50 on 4a of Fm-3m, a = 10.029 Å; Na on 8c (0.58), "
                      "4b (0.28), 24d (0.09) = 7.92 Na per cell of 4 anions (ideal 8).",
            ),
        },
        "notes": "No full structure of NBH has been published; this is the Fm-3m model NBH "
                 "was refined with. Composition per cell Na7.92B44H44 (Na3.96B22H22 per two "
                 "anions) because the borrowed Na occupancies sum to 7.92.",
    },
    "na2b10h10-ht": {
        "formula": "Na2B10H10",
        "z": 4,
        "temperature_K": 410.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": "≈0.01 S/cm at 383 K in this phase (Udovic et al. 2014); the "
                        "room-temperature phase is monoclinic",
        "provenance": {
            "kind": "constructed",
            "citation": "Udovic et al., Adv. Mater. 26 (2014) 7622",
            "doi": "10.1002/adma.201403157",
            "how": _BORATE_HOW.format(
                fn="build_na2b10h10_ht",
                sites="B10H10 on 4a of Fm-3m, a = 9.8426 Å (410 K); Na on 8c (0.58), "
                      "4b (0.28), 24d (0.09) = 7.92 Na per cell (ideal 8).",
            ),
        },
        "notes": "Stable above ≈360-373 K. Ideal cage geometry, not the refined one.",
    },
    "na2b12h12-ht": {
        "formula": "Na2B12H12",
        "z": 2,
        "temperature_K": 553.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": "≈0.1 S/cm above 529 K (Udovic et al., Chem. Commun. 50 (2014) "
                        "3750); the room-temperature phase is monoclinic",
        "provenance": {
            "kind": "constructed",
            "citation": "Verdal et al., J. Solid State Chem. 212 (2014) 81",
            "doi": "10.1016/j.jssc.2014.01.006",
            "how": _BORATE_HOW.format(
                fn="build_na2b12h12_ht",
                sites="B12H12 on 2a of Im-3m, a = 8.1 Å (≈553 K, FACTS.md: 8.06-8.1 Å); "
                      "Na on 24g (0.33, 0, ½) with occupancy 1/6 (4 Na per cell). The cell "
                      "and Na coordinates were not checked against the primary text.",
            ),
        },
        "notes": "Stable above 529 K on heating (≈483 K on cooling).",
    },
    "nacro2": {
        "formula": "NaCrO2",
        "z": 3,
        "temperature_K": 298.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": None,
        "provenance": {
            "kind": "constructed",
            "citation": "O3 (alpha-NaFeO2-type) NaCrO2, R-3m, a = 2.974, c = 15.947 Å "
                        "(FACTS.md, [unverified]: no primary source for the cell or the O "
                        "coordinate was reachable with the search tools)",
            "doi": "",
            "how": f"Na 3b (0,0,½), Cr 3a (0,0,0), O 6c (0,0,z) with z = "
                   f"{_nacro2_oxygen_z(NACRO2_A, NACRO2_C, CR_O_ANGSTROM):.5f} chosen so that "
                   f"Cr-O = {CR_O_ANGSTROM:.3f} Å, the sum of Shannon radii Cr3+(VI) + O2-(VI) "
                   "(Shannon, Acta Cryst. A32 (1976) 751, doi:10.1107/S0567739476001551).",
        },
        "notes": "Cathode of the paper's cells. Refine the cell against data; replace with a "
                 "refined CIF (xrdkit phases add) when one is available.",
    },
    "beta-sn": {
        "formula": "Sn",
        "z": 4,
        "temperature_K": 298.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": None,
        "density_literature_g_cm3": 7.287,
        "provenance": {
            "kind": "literature",
            "citation": "beta-Sn (white tin), A5 type, I4_1/amd, a = 5.8318, c = 3.1819 Å "
                        "(FACTS.md [unverified]); consistent within 0.0006 Å with secondary "
                        "sources found: a = 5.8316, c = 3.1813 Å at 30 °C (textbook data, "
                        "density 7.365 g/cm3 quoted there), c = 3.1815 Å (ASM Handbook via "
                        "etomica BasisBetaSnA5 docs). Primary source (e.g. NBS Circular 539) "
                        "not reachable here.",
            "doi": "",
            "how": "Sn on 4a of I4_1/amd (origin choice 1): (0,0,0), (0,½,¼) + I-centring; "
                   "structure type from the AFLOW prototype A_tI4_141_a.",
        },
        "notes": "Anode active material (Sn, forms Na-Sn alloys on sodiation).",
    },
    "al": {
        "formula": "Al",
        "z": 4,
        "temperature_K": 298.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": None,
        "density_literature_g_cm3": 2.699,
        "provenance": {
            "kind": "literature",
            "citation": "R. W. G. Wyckoff, Crystal Structures 1 (1963) 7-83, as AMCSD 0011137; "
                        "the same a = 4.04958 Å is xrayutilities' predefined Al",
            "doi": "",
            "how": "Al on 4a of Fm-3m.",
        },
        "notes": "Current collector.",
    },
    "be": {
        "formula": "Be",
        "z": 2,
        "temperature_K": 293.0,
        "sigma_S_per_cm_25C": None,
        "sigma_source": None,
        "density_literature_g_cm3": 1.8477,
        "provenance": {
            "kind": "literature",
            "citation": "alpha-Be h.c.p., P6_3/mmc, a = 228.55 pm, c = 358.32 pm, density "
                        "1847.7 kg/m3 at 293 K (MaTecK element data sheet, "
                        "https://mateck.com/en/content/94-beryllium-4be9, WebElements data); "
                        "agrees with a = 0.2286, c = 0.3584 nm quoted in the ASM powder "
                        "metallurgy handbook",
            "doi": "",
            "how": "Be on 2c (1/3, 2/3, 1/4) of P6_3/mmc (A3, hcp).",
        },
        "notes": "Window of the air-tight sample holder: Be reflections can appear.",
    },
    "brucite": {
        "formula": "Mg(OH)2",
        "z": 1,
        "temperature_K": None,
        "sigma_S_per_cm_25C": None,
        "sigma_source": None,
        "density_literature_g_cm3": 2.39,
        "provenance": {
            "kind": "constructed",
            "citation": "Catti, Ferraris, Hull & Pavese, Phys. Chem. Miner. 22 (1995) 200 "
                        "(powder neutron TOF, Polaris/ISIS, synthetic Mg(OH)2, refinement at "
                        "1e-4 GPa), as AMCSD 0007912",
            "doi": "10.1007/BF00202300",
            "how": "P-3m1 with a = 3.14979, c = 4.7702 Å; Mg 1a (0,0,0), O 2d (1/3,2/3,0.22030), "
                   "H 2d (1/3,2/3,0.41300); Uiso(Mg) = 0.00545, Uiso(O) = 0.00532 Å², H "
                   "anisotropic U11 = U22 = 0.04192, U33 = 0.01039, U12 = 0.02096, "
                   "U13 = U23 = 0 Å² (Ueq 0.03141 Å²): the numbers of the AMCSD 0007912 CIF, "
                   "copied from its reproduction in the GitHub repository "
                   "jappoker/mineral-lib-jekyll (_posts/0001-01-01-Brucite.md), not from the "
                   "paper itself; 1/3 and 2/3 written exactly (0.33333/0.66667 there). CIF "
                   "written by reference_data/phases/make_phases.py with these ADPs "
                   "(_atom_site_U_iso_or_equiv, _atom_site_aniso_U_ij). Cross-check: a = "
                   "3.142(1), c = 4.766(2) Å (Handbook of Mineralogy, as quoted by "
                   "Wikipedia) and a = 3.149, c = 4.769 Å, z(O) = 0.2205 (MINCRYST, "
                   "Zhukhlistov et al. 1997).",
        },
        "cif_note": "CONSTRUCTED ENTRY: the numbers of a published refinement (AMCSD "
                    "0007912), re-written here; not the published CIF itself.",
        "notes": "Fourth phase of the IUCr CPD quantitative-phase-analysis round robin sample 2 "
                 "(36.26 wt %; Madsen et al., J. Appl. Cryst. 34 (2001) 409): its platelets "
                 "give strong (001) preferred orientation. Literature density 2.39 g/cm3 is "
                 "the measured value of the Handbook of Mineralogy (as quoted by Wikipedia/"
                 "mindat). Temperature not given in the AMCSD entry (ambient). The H "
                 "parameters come from neutron data and matter little for X-rays.",
    },
}

MISSING = [
    {
        "name": "na2b12h12-rt",
        "phase": "Na2B12H12, monoclinic P21/n (room temperature)",
        "reason": "Cell edges, beta and atomic coordinates (ICSD 164649; Her et al., J. Phys. "
                  "Chem. C 113 (2009) 11187) were not found in any source reachable here. No "
                  "CIF is shipped; add your own with `xrdkit phases add FILE.cif --name "
                  "na2b12h12-rt`.",
    },
    {
        "name": "na2b10h10-rt",
        "phase": "Na2B10H10, monoclinic P21/c (room temperature)",
        "reason": "Cell and coordinates (Hofmann & Albert, Z. Kristallogr. 220 (2005) 142; "
                  "Wu et al., CrystEngComm 17 (2015) 3533) not reachable here. No CIF is "
                  "shipped; add your own with `xrdkit phases add FILE.cif --name "
                  "na2b10h10-rt`.",
    },
]


def _cif_text(name: str, structure: Structure, meta: dict) -> str:
    prov = meta["provenance"]
    header = [
        f"# closokit reference phase '{name}' -- written by reference_data/phases/make_phases.py",
        f"# provenance: {prov['kind']}",
        f"# source: {prov['citation']}",
    ]
    if prov.get("doi"):
        header.append(f"# doi: {prov['doi']}")
    if prov["kind"] == "constructed":
        header.append("# " + meta.get("cif_note",
                                      "CONSTRUCTED MODEL, not a refined/measured structure."))
    writer = CifWriter(structure, symprec=SYMPREC, refine_struct=False)
    if name in ADPS:
        _add_adps(writer, ADPS[name], structure.lattice)
    body = str(writer)
    return _ascii("\n".join(header)) + "\n" + body


def _add_adps(writer: CifWriter, adps: dict[str, tuple], lattice: Lattice) -> None:
    """Add _atom_site_adp_type / _atom_site_U_iso_or_equiv (U_eq for anisotropic sites) to
    the atom-site loop and an _atom_site_aniso_ loop for the anisotropic sites."""
    (block,) = writer.cif_file.data.values()
    labels = block.data["_atom_site_label"]
    missing = set(labels) ^ set(adps)
    if missing:
        raise ValueError(f"site labels and ADP labels differ: {sorted(missing)}")
    fmt = "{:.5f}".format
    block.data["_atom_site_adp_type"] = [adps[lb][0] for lb in labels]
    block.data["_atom_site_U_iso_or_equiv"] = [
        fmt(adps[lb][1] if adps[lb][0] == "Uiso" else _u_eq(adps[lb][1:], lattice))
        for lb in labels
    ]
    site_loop = next(loop for loop in block.loops if "_atom_site_label" in loop)
    site_loop += ["_atom_site_adp_type", "_atom_site_U_iso_or_equiv"]
    aniso = [lb for lb in labels if adps[lb][0] == "Uani"]
    if aniso:
        tags = ["_atom_site_aniso_label"] + [f"_atom_site_aniso_U_{ij}"
                                              for ij in ("11", "22", "33", "12", "13", "23")]
        block.data[tags[0]] = aniso
        for k, tag in enumerate(tags[1:], start=1):
            block.data[tag] = [fmt(adps[lb][k]) for lb in aniso]
        block.loops.append(tags)


_ASCII = str.maketrans({"Å": "A", "½": "1/2", "¼": "1/4", "°": " deg", "≈": "~", "β": "beta",
                        "α": "alpha", "ê": "e", "–": "-", "—": "-", "²": "2", "³": "3",
                        "⁻": "-", "⁺": "+"})


def _ascii(text: str) -> str:
    """CIF 1.1 is ASCII: transliterate the few non-ASCII characters used in the comments."""
    out = text.translate(_ASCII)
    return out.encode("ascii", "replace").decode("ascii")


def main() -> None:
    phases = []
    for name, structure in build_all().items():
        meta = METADATA[name]
        sga = SpacegroupAnalyzer(structure, symprec=SYMPREC)
        cif = f"{name}.cif"
        (HERE / cif).write_text(_cif_text(name, structure, meta))
        entry = {
            "name": name,
            "cif": cif,
            "formula": meta["formula"],
            "z": meta["z"],
            "space_group": sga.get_space_group_symbol(),
            "space_group_number": sga.get_space_group_number(),
            "density_g_cm3": round(float(structure.density), 4),
            "density_literature_g_cm3": meta.get("density_literature_g_cm3"),
            "sigma_S_per_cm_25C": meta["sigma_S_per_cm_25C"],
            "sigma_source": meta["sigma_source"],
            "temperature_K": meta["temperature_K"],
            "provenance": meta["provenance"],
            "notes": meta["notes"],
        }
        phases.append(entry)
    doc = {"schema_version": 1, "phases": phases, "not_shipped": MISSING}
    (HERE / "phases.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
