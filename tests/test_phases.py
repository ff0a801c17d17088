"""Tests of the phase library (xrdkit.phases) and the ``xrdkit phases`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit.cli import main
from xrdkit.errors import PhaseError
from xrdkit.phases import USER_PHASES_ENV, PhaseLibrary, Provenance, default_user_dir, read_cif
from xrdkit.structures import build_nbh_fcc

REQUIRED = ("nbh-fcc", "na2b10h10-ht", "na2b12h12-ht", "nacro2", "beta-sn", "al", "be")
CU_KA1 = 1.540593


@pytest.fixture(scope="module")
def lib_module(tmp_path_factory) -> PhaseLibrary:
    """One library for the read-only tests (structures parsed once)."""
    return PhaseLibrary(user_dir=tmp_path_factory.mktemp("user_phases"))


@pytest.fixture()
def user_dir(tmp_path: Path) -> Path:
    return tmp_path / "user_phases"


@pytest.fixture()
def nacl_cif(tmp_path: Path) -> Path:
    fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    s = Structure(Lattice.cubic(5.64), ["Na"] * 4 + ["Cl"] * 4,
                  fcc + [[(x + 0.5) % 1, y, z] for x, y, z in fcc])  # rock salt
    path = tmp_path / "NaCl.cif"
    CifWriter(s).write_file(path)
    return path


# ------------------------------------------------------------------ bundled library
def test_required_phases_present(lib_module: PhaseLibrary) -> None:
    names = lib_module.names()
    for name in REQUIRED:
        assert name in names
        assert name in lib_module
    assert "no-such-phase" not in lib_module


@pytest.mark.parametrize("name", REQUIRED)
def test_every_phase_loads_with_consistent_metadata(lib_module: PhaseLibrary, name: str) -> None:
    phase = lib_module.get(name)
    s, info = phase.structure, phase.info
    assert phase.name == info.name == name
    assert len(s) > 0
    sga = SpacegroupAnalyzer(s, symprec=0.01)
    assert sga.get_space_group_symbol() == info.space_group
    assert sga.get_space_group_number() == info.space_group_number
    assert s.density == pytest.approx(info.density_g_cm3, rel=1e-3)
    if info.density_literature_g_cm3 is not None:
        # 2 % covers NBH (model 1.156 vs paper 1.17); metals agree to < 0.1 %
        assert s.density == pytest.approx(info.density_literature_g_cm3, rel=0.02)
    # Z formula units of the recorded formula fill the cell (NBH: 7.92 of 8 Na)
    from pymatgen.core import Composition

    expected = Composition(info.formula) * info.z
    for el, amount in expected.get_el_amt_dict().items():
        assert s.composition[el] == pytest.approx(amount, rel=0.011)
    prov = info.provenance
    assert prov.kind in ("literature", "constructed")
    assert prov.citation
    if prov.kind == "constructed":
        assert prov.how


@pytest.mark.parametrize("name,sg,cell", [
    ("nbh-fcc", "Fm-3m", (10.029, 10.029, 10.029)),
    ("na2b10h10-ht", "Fm-3m", (9.8426,) * 3),
    ("al", "Fm-3m", (4.04958,) * 3),
    ("nacro2", "R-3m", (2.974, 2.974, 15.947)),
    ("beta-sn", "I4_1/amd", (5.8318, 5.8318, 3.1819)),
    ("be", "P6_3/mmc", (2.2855, 2.2855, 3.5832)),
])
def test_cells_and_space_groups_as_recorded_in_facts(lib_module, name, sg, cell) -> None:
    phase = lib_module.get(name)
    assert phase.info.space_group == sg
    assert phase.structure.lattice.abc == pytest.approx(cell, abs=1e-6)


def test_al_111_by_bragg(lib_module: PhaseLibrary) -> None:
    p = XRDCalculator("CuKa1").get_pattern(lib_module.get("al").structure,
                                           two_theta_range=(30, 50))
    d111 = 4.04958 / math.sqrt(3)
    assert p.x[0] == pytest.approx(math.degrees(2 * math.asin(CU_KA1 / (2 * d111))), abs=1e-3)


def test_nacro2_oxygen_gives_shannon_cr_o_distance(lib_module: PhaseLibrary) -> None:
    s = lib_module.get("nacro2").structure
    cr = next(i for i, site in enumerate(s) if site.specie.symbol == "Cr")
    d = min(s.get_distance(cr, j) for j, site in enumerate(s) if site.specie.symbol == "O")
    assert d == pytest.approx(0.615 + 1.40, abs=1e-4)  # Shannon (1976) radii sum


def test_monoclinic_phases_not_invented(lib_module: PhaseLibrary) -> None:
    assert "na2b12h12-rt" not in lib_module and "na2b10h10-rt" not in lib_module
    doc = json.loads((lib_module.root / "phases.json").read_text(encoding="utf-8"))
    missing = {m["name"] for m in doc["not_shipped"]}
    assert missing == {"na2b12h12-rt", "na2b10h10-rt"}


def test_unknown_name_lists_known(lib_module: PhaseLibrary) -> None:
    with pytest.raises(PhaseError) as err:
        lib_module.get("nbh")
    for name in REQUIRED:
        assert name in str(err.value)


def test_get_returns_independent_copies(lib_module: PhaseLibrary) -> None:
    first = lib_module.get("al").structure
    first.scale_lattice(100.0)
    assert lib_module.get("al").structure.lattice.a == pytest.approx(4.04958)


def test_table_matches_names(lib_module: PhaseLibrary) -> None:
    assert [i.name for i in lib_module.table()] == lib_module.names()


def test_bundled_cif_equals_builder_output(lib_module: PhaseLibrary) -> None:
    """The committed NBH CIF is what the builder makes now (regenerate with make_phases.py)."""
    built, stored = build_nbh_fcc(), lib_module.get("nbh-fcc").structure
    assert len(built) == len(stored)
    assert built.composition.almost_equals(stored.composition, rtol=1e-6)
    assert stored.density == pytest.approx(built.density, rel=1e-6)


# ------------------------------------------------------------------ CIF round trip / user CIFs
def test_cif_round_trip_of_disordered_structure(tmp_path: Path) -> None:
    s = build_nbh_fcc()
    path = tmp_path / "nbh.cif"
    CifWriter(s, symprec=0.01).write_file(path)
    back = read_cif(path)
    assert len(back) == len(s)
    assert back.lattice.abc == pytest.approx(s.lattice.abc)
    assert back.composition.almost_equals(s.composition, rtol=1e-6)
    assert back.density == pytest.approx(s.density, rel=1e-6)


def test_add_cif_persists_with_user_provenance(user_dir: Path, nacl_cif: Path) -> None:
    lib = PhaseLibrary(user_dir=user_dir)
    phase = lib.add_cif(nacl_cif, name="halite")
    assert phase.info.provenance.kind == "user"
    assert phase.info.provenance.citation == str(nacl_cif.resolve())
    assert phase.info.formula == "NaCl" and phase.info.z == 4
    assert phase.info.space_group == "Fm-3m"
    assert phase.info.density_g_cm3 == pytest.approx(2.1635, abs=2e-3)  # 4·58.44/(N_A·5.64³)
    assert (user_dir / "halite.cif").is_file() and (user_dir / "halite.json").is_file()
    fresh = PhaseLibrary(user_dir=user_dir)  # a new instance reads it back from disk
    assert "halite" in fresh
    assert fresh.get("halite").structure.composition.reduced_formula == "NaCl"
    assert fresh.info("halite").provenance.kind == "user"


def test_add_cif_without_persist_writes_nothing(user_dir: Path, nacl_cif: Path) -> None:
    lib = PhaseLibrary(user_dir=user_dir)
    lib.add_cif(nacl_cif, persist=False)
    assert "nacl" in lib
    assert not user_dir.exists()
    assert "nacl" not in PhaseLibrary(user_dir=user_dir)


def test_add_real_cif(user_dir: Path, realdata: Path) -> None:
    phase = PhaseLibrary(user_dir=user_dir).add_cif(
        realdata / "pbso4_lab_xray" / "PbSO4-Wyckoff.cif", name="pbso4",
        provenance=Provenance("literature", "CIF from GSAS-II tests/testinp"))
    assert phase.info.space_group == "Pnma"
    assert phase.structure.lattice.abc == pytest.approx((8.48, 5.398, 6.958), abs=1e-3)
    assert phase.info.provenance.kind == "literature"


@pytest.mark.parametrize("content", ["this is not a CIF\n", "data_x\n_cell_length_a 3\n", ""])
def test_add_corrupt_cif_names_the_file(user_dir: Path, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "broken.cif"
    bad.write_text(content)
    with pytest.raises(PhaseError) as err:
        PhaseLibrary(user_dir=user_dir).add_cif(bad)
    assert str(bad) in str(err.value)
    assert not user_dir.exists()


def test_add_cif_missing_file(user_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PhaseError, match="not found"):
        PhaseLibrary(user_dir=user_dir).add_cif(tmp_path / "nope.cif")


def test_add_cif_rejects_duplicate_and_bad_names(user_dir: Path, nacl_cif: Path) -> None:
    lib = PhaseLibrary(user_dir=user_dir)
    with pytest.raises(PhaseError, match="already exists"):
        lib.add_cif(nacl_cif, name="al")
    with pytest.raises(PhaseError, match="invalid phase name"):
        lib.add_cif(nacl_cif, name="../evil")


def test_default_user_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(USER_PHASES_ENV, str(tmp_path / "x"))
    assert default_user_dir() == tmp_path / "x"
    assert PhaseLibrary().user_dir == tmp_path / "x"


def test_broken_metadata_is_a_phase_error(tmp_path: Path) -> None:
    (tmp_path / "phases.json").write_text("{not json")
    with pytest.raises(PhaseError, match="phases.json"):
        PhaseLibrary(root=tmp_path, user_dir=tmp_path / "u").names()


# ------------------------------------------------------------------ CLI
def test_cli_lists_library(capsys, user_dir: Path) -> None:
    assert main(["phases", "--user-dir", str(user_dir)]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED:
        assert name in out
    assert "constructed" in out and "literature" in out


def test_cli_show_prints_cell_and_strongest_lines(capsys, user_dir: Path) -> None:
    assert main(["phases", "--user-dir", str(user_dir), "show", "nbh-fcc"]) == 0
    out = capsys.readouterr().out
    assert "Fm-3m" in out and "10.0290" in out and "1.1558" in out
    lines = out.split("strongest lines")[1].splitlines()[2:]
    assert len(lines) == 10
    first = lines[0].split()
    assert first[:3] == ["1", "1", "1"]
    assert float(first[5]) == pytest.approx(15.29, abs=0.02)
    assert float(first[6]) == pytest.approx(100.0)


def test_cli_show_matches_pymatgen_intensities(capsys, user_dir: Path) -> None:
    """The lines printed agree with pymatgen's XRDCalculator (independent implementation)."""
    assert main(["phases", "--user-dir", str(user_dir), "show", "beta-sn"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.split("strongest lines")[1].splitlines()[2:]]
    pattern = XRDCalculator("CuKa1").get_pattern(PhaseLibrary().get("beta-sn").structure,
                                                 two_theta_range=(0, 90))
    for row in rows:
        two_theta, inten = float(row[5]), float(row[6])
        i = min(range(len(pattern.x)), key=lambda k: abs(pattern.x[k] - two_theta))
        assert pattern.x[i] == pytest.approx(two_theta, abs=0.01)
        assert pattern.y[i] == pytest.approx(inten, abs=0.5)


def test_cli_add_then_list(capsys, user_dir: Path, nacl_cif: Path) -> None:
    assert main(["phases", "--user-dir", str(user_dir), "add", str(nacl_cif),
                 "--name", "halite"]) == 0
    assert main(["phases", "--user-dir", str(user_dir)]) == 0
    assert "halite" in capsys.readouterr().out


def test_cli_errors_exit_2(capsys, user_dir: Path, tmp_path: Path) -> None:
    assert main(["phases", "--user-dir", str(user_dir), "show", "nope"]) == 2
    assert "known phases" in capsys.readouterr().err
    bad = tmp_path / "bad.cif"
    bad.write_text("garbage")
    assert main(["phases", "--user-dir", str(user_dir), "add", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
