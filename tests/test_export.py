"""Exports other programs open: refined CIF (read back with pymatgen), fitted pattern (.xye + CSV)."""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit.export import write_fitted_pattern, write_refined_cif
from xrdkit.refine import RefineOptions, refine
from xrdkit.synthetic import synthetic_pattern

GRID_DEG = np.arange(10.0, 70.0, 0.02)


@pytest.fixture(scope="module")
def fit(library):
    structs = [library.get(n).structure for n in ("nbh-fcc", "nacro2")]
    pat = synthetic_pattern(structs, [0.3, 0.7], GRID_DEG, names=["nbh-fcc", "nacro2"],
                            rng=np.random.default_rng(4))
    from xrdkit.amorphous import hump_profile

    return refine(pat.to_scan(source="export"), ["nbh-fcc", "nacro2"], options=RefineOptions(background_terms=6),
                  extra_background={"amorphous": hump_profile(GRID_DEG, 25.0, 8.0)})


def test_refined_cif_reads_back_with_the_refined_cell(fit, library, tmp_path):
    from pymatgen.core import Structure

    for name in ("nbh-fcc", "nacro2"):
        path = write_refined_cif(fit, name, library.get(name).structure, tmp_path / f"{name}.cif")
        back = Structure.from_file(path)
        ph = fit.phase(name)
        conv = back.lattice.abc
        assert max(conv) == pytest.approx(max(ph.lattice.values()), rel=1e-5)
        assert min(conv) == pytest.approx(min(ph.lattice.values()), rel=1e-5)
        assert back.composition.reduced_formula == library.get(name).structure.composition.reduced_formula
        assert "refined by closokit" in path.read_text()


@pytest.mark.parametrize("suffix", [".xye", ".csv"])
def test_fitted_pattern_columns_add_up(fit, tmp_path, suffix):
    csv = write_fitted_pattern(fit, tmp_path / f"fit{suffix}")
    header = csv.read_text().splitlines()[0].split(",")
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    col = {h: data[:, i] for i, h in enumerate(header)}
    assert {"two_theta_deg", "observed", "calculated", "background", "difference", "phase_nbh-fcc",
            "phase_nacro2", "amorphous"} <= set(col)
    # calculated = background (hump included) + phases; difference = observed − calculated
    np.testing.assert_allclose(col["calculated"], col["background"] + col["phase_nbh-fcc"] + col["phase_nacro2"],
                               rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(col["difference"], col["observed"] - col["calculated"], atol=1e-3)
    if suffix == ".xye":
        xye = np.loadtxt(tmp_path / "fit.xye")
        assert xye.shape == (GRID_DEG.size, 3)
        np.testing.assert_allclose(xye[:, 0], GRID_DEG, atol=1e-6)


def test_cli_fit_export_and_instrument_convert_to_instprm(library, tmp_path):
    from pymatgen.core import Structure

    from xrdkit.cli import main
    from xrdkit.instrument_files import read_instprm

    pat = synthetic_pattern([library.get("nacro2").structure], [1.0], GRID_DEG, names=["nacro2"],
                            rng=np.random.default_rng(5))
    scan = tmp_path / "scan.xy"
    np.savetxt(scan, np.column_stack([GRID_DEG, pat.counts]))
    assert main(["fit", str(scan), "--phase", "nacro2", "--json", str(tmp_path / "fit.json"),
                 "--no-model-error", "--export", str(tmp_path / "out")]) == 0
    assert Structure.from_file(tmp_path / "out" / "nacro2_refined.cif").composition.reduced_formula == "NaCrO2"
    assert np.loadtxt(tmp_path / "out" / "fit.xye").shape == (GRID_DEG.size, 3)
    assert main(["instrument", "convert", "miniflex600-cuka", "--out", str(tmp_path / "lab.instprm")]) == 0
    assert read_instprm(tmp_path / "lab.instprm").wavelengths_angstrom[0] == pytest.approx(1.5405929, abs=1e-6)
