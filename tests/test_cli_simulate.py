"""``xrdkit simulate`` end to end through :func:`xrdkit.cli.main` in a temporary folder.

Independent checks: Bragg's law for peak positions (Cu Kα1/Kα2 of Hölzer et al. 1997, Mo Kα1
0.709319 Å from the same source), FACTS.md's NBH (111) at 15.29 ± 0.02° for Cu Kα1, and the
library call :func:`xrdkit.simulate.simulate` for the CLI plumbing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.instrument import CU_KA1_ANGSTROM, CU_KA2_ANGSTROM
from xrdkit.phases import PhaseLibrary
from xrdkit.simulate import simulate

AL_A_ANGSTROM = 4.04958  # lattice constant in the library's al.cif


def _bragg(lam: float, hkl: tuple[int, int, int], a: float = AL_A_ANGSTROM) -> float:
    return float(2 * np.degrees(np.arcsin(lam * np.linalg.norm(hkl) / (2 * a))))


def _read(path: Path) -> tuple[list[str], np.ndarray]:
    header = path.read_text().splitlines()[0].split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1)


def _peak_near(x: np.ndarray, y: np.ndarray, centre: float, half: float = 0.15) -> float:
    m = np.abs(x - centre) < half
    return float(x[m][np.argmax(y[m])])


def test_documented_command_writes_csv_and_plot(tmp_path: Path, capsys) -> None:
    out, png = tmp_path / "pattern.csv", tmp_path / "pattern.png"
    rc = main(["simulate", "--phase", "nbh-fcc", "--phase", "nacro2", "--wt", "0.2", "--wt", "0.8",
               "--out", str(out), "--plot", str(png)])
    assert rc == 0
    header, data = _read(out)
    assert header == ["two_theta_deg", "intensity", "nbh-fcc", "nacro2"]
    x = data[:, 0]
    assert x[0] == pytest.approx(5.0) and x[-1] == pytest.approx(90.0) and x.size == 8501
    np.testing.assert_allclose(np.diff(x), 0.01, atol=2e-6)
    np.testing.assert_allclose(data[:, 1], data[:, 2] + data[:, 3], rtol=1e-6, atol=1e-6)
    assert data[:, 1].max() == pytest.approx(100.0, rel=1e-6)
    # NBH (111) for Cu Kα1 at 15.29 ± 0.02° (FACTS.md), from the nbh-fcc column
    assert _peak_near(x, data[:, 2], 15.29, 0.3) == pytest.approx(15.29, abs=0.02)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "20.00 wt %" in printed and "80.00 wt %" in printed and str(out) in printed


def test_csv_equals_the_library_call(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    assert main(["simulate", "--phase", "al", "--phase", "be", "--wt", "0.3", "--wt", "0.7",
                 "--range", "20", "80", "--step", "0.02", "--out", str(out)]) == 0
    _, data = _read(out)
    ref = simulate(["al", "be"], [0.3, 0.7], np.arange(20.0, 80.0 + 1e-9, 0.02), "miniflex600-cuka")
    np.testing.assert_allclose(data[:, 0], ref.two_theta_deg, atol=1e-6)
    np.testing.assert_allclose(data[:, 1], ref.intensity, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data[:, 2], ref.components["al"], rtol=1e-6, atol=1e-6)


def test_equal_fractions_by_default_and_ka2_switch(tmp_path: Path) -> None:
    with_ka2, without = tmp_path / "a.csv", tmp_path / "b.csv"
    common = ["simulate", "--phase", "al", "--range", "75", "82", "--step", "0.005"]
    assert main([*common, "--out", str(with_ka2)]) == 0
    assert main([*common, "--no-ka2", "--out", str(without)]) == 0
    _, a = _read(with_ka2)
    _, b = _read(without)
    x = a[:, 0]
    t1, t2 = _bragg(CU_KA1_ANGSTROM, (3, 1, 1)), _bragg(CU_KA2_ANGSTROM, (3, 1, 1))
    assert _peak_near(x, a[:, 1], t1, 0.08) == pytest.approx(t1, abs=0.01)
    assert _peak_near(x, a[:, 1], t2, 0.08) == pytest.approx(t2, abs=0.01)
    i2 = np.argmin(np.abs(x - t2))
    assert a[i2, 1] > 30 and b[i2, 1] < 0.3 * a[i2, 1]  # the Kα2 line is gone without Kα2


def test_instrument_file_and_cif_phase(tmp_path: Path) -> None:
    inst = tmp_path / "mo.json"
    inst.write_text(json.dumps({"name": "mo-lab", "wavelengths_angstrom": [0.709319],
                                "wavelength_weights": [1.0], "provenance": "test: Mo Kα1 only"}))
    cif = tmp_path / "my_al.cif"
    shutil.copy(PhaseLibrary().info("al").cif_path, cif)
    out = tmp_path / "mo.csv"
    assert main(["simulate", "--phase", str(cif), "--phase", "al", "--instrument", str(inst),
                 "--range", "10", "40", "--out", str(out)]) == 0
    header, data = _read(out)
    assert header == ["two_theta_deg", "intensity", "my_al", "al"]
    np.testing.assert_allclose(data[:, 2], data[:, 3], rtol=1e-9, atol=1e-9)  # same structure
    for hkl in ((1, 1, 1), (2, 0, 0), (2, 2, 0)):
        t = _bragg(0.709319, hkl)
        assert _peak_near(data[:, 0], data[:, 1], t) == pytest.approx(t, abs=0.01), hkl


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--phase", "nbh-fcx"], "nbh-fcx"),
        (["--phase", "al", "--phase", "be", "--wt", "0.5"], "--wt"),
        (["--phase", "al", "--phase", "be", "--wt", "0.5", "--wt", "0.6"], "sum to 1"),
        (["--phase", "al", "--range", "0", "90"], "(0, 180)"),
        (["--phase", "al", "--range", "100", "180"], "(0, 180)"),
        (["--phase", "al", "--range", "50", "40"], "--range"),
        (["--phase", "al", "--step", "-0.01"], "--step"),
        (["--phase", "al", "--step", "1e-7"], "--step"),
        (["--phase", "al", "--instrument", "nosuch"], "miniflex600-cuka"),
        (["--phase", "missing.cif"], "missing.cif"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, capsys, extra: list[str], words: str) -> None:
    out = tmp_path / "x.csv"
    assert main(["simulate", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xrdkit: error:") and words in err
    assert not out.exists()


def test_unwritable_output_is_an_input_error(tmp_path: Path, capsys) -> None:
    out = tmp_path / "no_such_dir" / "x.csv"
    assert main(["simulate", "--phase", "al", "--range", "30", "50", "--out", str(out)]) == 2
    assert str(out) in capsys.readouterr().err
