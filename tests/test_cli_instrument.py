"""``xrdkit instrument calibrate`` / ``convert`` through :func:`xrdkit.cli.main`, end to end.

The scan is a LaB6 pattern from the independent generator :mod:`xrdkit.synthetic` (pymatgen
line list, constant-η pseudo-Voigt with known Caglioti widths, zero shift 0.03°, seeded Poisson
noise) written as a two-column text file; the calibrated file must load with
``load_instrument`` and carry the truth's FWHM curve and zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xrdkit.calibrate import standard
from xrdkit.cli import main
from xrdkit.instrument import load_instrument
from xrdkit.profiles import tch_fwhm_eta
from xrdkit.synthetic import PeakProfile, synthetic_pattern

TRUTH = PeakProfile(0.005, -0.002, 0.003, 0.5)
ZERO_DEG = 0.03


@pytest.fixture(scope="module")
def lab6_scan(tmp_path_factory) -> Path:
    x = np.arange(18.0, 110.0, 0.01)
    pat = synthetic_pattern([standard("lab6").structure()], [1.0], x, names=["lab6"], profile=TRUTH,
                            b_iso_angstrom2=0.3, counts_on_strongest=3e4, zero_shift_deg=ZERO_DEG,
                            rng=np.random.default_rng(11))
    path = tmp_path_factory.mktemp("cal") / "lab6.xy"
    np.savetxt(path, np.column_stack([pat.two_theta_deg, pat.counts]), fmt="%.5f %.0f",
               header="2theta_deg counts (synthetic LaB6, xrdkit.synthetic)")
    return path


def test_calibrate_writes_a_file_load_instrument_reads(lab6_scan: Path, tmp_path: Path, capsys) -> None:
    out, fit = tmp_path / "inst.json", tmp_path / "fit.json"
    assert main(["instrument", "calibrate", str(lab6_scan), "--phase", "lab6", "--out", str(out),
                 "--json", str(fit), "--name", "lab-d8"]) == 0
    assert "wrote" in capsys.readouterr().out
    inst = load_instrument(out)
    assert inst.name == "lab-d8"
    assert "SRM 660c" in inst.provenance and str(lab6_scan) in inst.provenance and "Rwp" in inst.provenance
    tt = np.linspace(20.0, 105.0, 18)
    th = np.radians(tt) / 2
    hg = np.sqrt(inst.u_deg2 * np.tan(th) ** 2 + inst.v_deg2 * np.tan(th) + inst.w_deg2)
    fwhm = tch_fwhm_eta(hg, inst.x_deg * np.tan(th) + inst.y_deg / np.cos(th)).fwhm_deg
    np.testing.assert_allclose(fwhm, TRUTH.fwhm_deg(tt), rtol=0.03)
    assert inst.zero_shift_deg == pytest.approx(ZERO_DEG, abs=0.003)
    result = json.loads(fit.read_text())
    assert result["converged"] and result["gof"] < 1.2


def test_calibrate_from_a_gsas_ii_start(lab6_scan: Path, tmp_path: Path, realdata: Path) -> None:
    """Start from the real GSAS-II file: its wavelengths and polarisation (0.7) are kept."""
    out = tmp_path / "from_instprm.json"
    assert main(["instrument", "calibrate", str(lab6_scan), "--phase", "LaB6", "--out", str(out),
                 "--instrument", str(realdata / "cpd_qpa" / "cuka.instprm"), "--range", "20", "100"]) == 0
    inst = load_instrument(out)
    assert inst.wavelengths_angstrom == (1.54051, 1.54433) and inst.beam_polarisation == pytest.approx(0.7)
    assert "cuka.instprm" in inst.provenance


def test_convert_instprm_to_json(tmp_path: Path, realdata: Path) -> None:
    src = realdata / "cpd_qpa" / "cuka.instprm"
    out = tmp_path / "cuka.json"
    assert main(["instrument", "convert", str(src), "--out", str(out)]) == 0
    assert load_instrument(out) == load_instrument(src)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["instrument", "calibrate", "SCAN", "--phase", "quartz", "--out", "OUT"], "unknown standard"),
        (["instrument", "calibrate", "SCAN", "--phase", "si", "--out", "OUT", "--background-terms", "-1"],
         "--background-terms"),
        (["instrument", "convert", "NOPE.instprm", "--out", "OUT"], "NOPE.instprm"),
    ],
)
def test_cli_errors_are_one_line(argv: list[str], words: str, tmp_path: Path, lab6_scan: Path, capsys) -> None:
    argv = [str(lab6_scan) if a == "SCAN" else str(tmp_path / "o.json") if a == "OUT" else
            str(tmp_path / a) if a.startswith("NOPE") else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_instrument_without_action_prints_help(capsys) -> None:
    assert main(["instrument"]) == 1
    assert "calibrate" in capsys.readouterr().out
