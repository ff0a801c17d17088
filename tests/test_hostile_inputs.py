"""Hostile inputs to the readers (issue 19, items 5, 6, 8–10): wavelengths in other units,
the isolated HDF5 structure probe, resource limits checked before reading, one-line errors
and messages that say what is wrong. More rows live in ``tests/input_cases.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.errors import InputError, PhaseError
from xrdkit.hdf5 import HC_KEV_ANGSTROM, list_scans, read_hdf5_scan
from xrdkit.readers import read_scan

X_DEG = np.linspace(10.0, 60.0, 200)
CU_KA1 = 1.5406
MO_KA1 = 0.70932


def _nexus(path: Path, wavelength: float | None = None, units: str | None = None,
           attr: bool = False) -> Path:
    with h5py.File(path, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.attrs["default"] = "data"
        g = e.create_group("data")
        g.attrs.update({"NX_class": "NXdata", "signal": "I", "axes": "tth"})
        g.create_dataset("I", data=100.0 + X_DEG)
        g.create_dataset("tth", data=X_DEG).attrs["units"] = "deg"
        if wavelength is not None and attr:
            e.attrs["wavelength"] = wavelength
            if units:
                e.attrs["wavelength_units"] = units
        elif wavelength is not None:
            ds = e.create_dataset("instrument/monochromator/wavelength", data=wavelength)
            if units:
                ds.attrs["units"] = units
    return path


# ------------------------------------------------------------------------ 5. wavelength units


@pytest.mark.parametrize("value, units, expected", [
    (70.932, "pm", MO_KA1),
    (0.070932, "nm", MO_KA1),
    (MO_KA1, "Å", MO_KA1),
    (MO_KA1, "angstrom", MO_KA1),
    (MO_KA1, None, MO_KA1),
    (HC_KEV_ANGSTROM / MO_KA1, "keV", MO_KA1),
    (1000 * HC_KEV_ANGSTROM / CU_KA1, "eV", CU_KA1),
    (7.0932e-11, "m", MO_KA1),
])
def test_wavelength_is_converted_by_its_units(tmp_path: Path, value: float, units: str | None,
                                              expected: float) -> None:
    spec = _nexus(tmp_path / "w.h5", value, units)
    scan = read_scan(spec)
    assert scan.wavelength_angstrom == pytest.approx(expected, rel=1e-9)


def test_wavelength_attribute_with_units(tmp_path: Path) -> None:
    scan = read_scan(_nexus(tmp_path / "a.h5", 17.479, "keV", attr=True))
    assert scan.wavelength_angstrom == pytest.approx(HC_KEV_ANGSTROM / 17.479)
    with pytest.raises(InputError, match="outside 0.01"):
        read_scan(_nexus(tmp_path / "b.h5", 70.932, None, attr=True))  # pm without units


def test_mo_wavelength_in_pm_reaches_the_analysis(tmp_path: Path) -> None:
    """The batch uses the file's converted wavelength, not the instrument's Cu Kα."""
    from xrdkit.hdf5 import list_scans

    ref = list_scans(_nexus(tmp_path / "mo.h5", 70.932, "pm"))[0]
    assert ref.wavelength_angstrom == pytest.approx(MO_KA1)


# ------------------------------------------------------------------------ 6. isolated probe


def test_probe_never_imports_a_planted_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``h5py.py`` / ``numpy.py`` planted in the current directory, or in a folder named by
    PYTHONPATH, are never imported by the structure probe's child interpreter (this process
    imported the real ones long ago)."""
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "EXECUTED"
    for module in ("h5py", "numpy", "pickle"):
        (planted / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write({module!r})\n")
    _nexus(planted / "scan.h5")
    monkeypatch.chdir(planted)
    monkeypatch.setenv("PYTHONPATH", str(planted))
    monkeypatch.setenv("PYTHONSTARTUP", str(planted / "h5py.py"))
    refs = list_scans("scan.h5", timeout_s=60.0)
    assert len(refs) == 1 and refs[0].file == "scan.h5"
    assert not marker.exists(), f"the probe ran planted code: {marker.read_text()}"


def test_probe_reads_a_relative_path_from_any_directory(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _nexus(tmp_path / "scan.h5")
    monkeypatch.chdir(tmp_path)
    assert len(list_scans("scan.h5")) == 1
    assert read_hdf5_scan("scan.h5::/entry/data").n_points == X_DEG.size


# ------------------------------------------------------------------------ 8. limits


def test_limits_are_configurable(tmp_path: Path) -> None:
    """XRDKIT_MAX_SCAN_POINTS lowers the limit (read at import, so in a child process)."""
    _nexus(tmp_path / "s.h5")
    code = "from xrdkit.readers import read_scan; read_scan('s.h5')"
    env = dict(os.environ, XRDKIT_MAX_SCAN_POINTS="100")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "more than the limit of 100" in proc.stderr
    env["XRDKIT_MAX_SCAN_POINTS"] = "lots"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert "XRDKIT_MAX_SCAN_POINTS='lots' is not a number" in proc.stderr


def _cif(n_sites: int, a: float, ops: tuple[str, ...] = ("x,y,z",)) -> str:
    rng = np.random.default_rng(0)
    head = [f"_cell_length_{k} {a}" for k in "abc"] + [f"_cell_angle_{k} 90" for k in ("alpha", "beta", "gamma")]
    lines = ["data_x", *head, "_symmetry_space_group_name_H-M 'P 1'", "loop_", "_symmetry_equiv_pos_as_xyz",
             *(f"'{o}'" for o in ops), "loop_", "_atom_site_label", "_atom_site_type_symbol",
             "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z"]
    lines += [f"C{i} C {x:.5f} {y:.5f} {z:.5f}" for i, (x, y, z) in enumerate(rng.random((n_sites, 3)))]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, fragment", [
    (_cif(3000, 25.0), "3,000 atom sites"),
    (_cif(400, 40.0, tuple(f"x,y,z+{i}/48" for i in range(48))), "up to 19,200 atoms"),
    (_cif(10, 1000.0), "cell volume 1,000,000,000 Å³ exceeds"),
    ("data_x\n# padding\n" + "#" * 3_000_000 + "\n", "more than the limit"),
], ids=["many-sites", "sites-times-operations", "huge-cell", "huge-file"])
def test_phases_add_refuses_huge_cifs_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], text: str,
                                              fragment: str) -> None:
    monkeypatch.setenv("CLOSOKIT_USER_PHASES", str(tmp_path / "user"))
    cif = tmp_path / "big.cif"
    cif.write_text(text)
    t0 = time.perf_counter()
    assert main(["phases", "add", str(cif)]) == 2
    assert time.perf_counter() - t0 < 10.0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "user" / "big.cif").exists()


def test_a_normal_cif_is_still_accepted(tmp_path: Path) -> None:
    from xrdkit.phases import read_cif

    cif = tmp_path / "ok.cif"
    cif.write_text(_cif(20, 8.0))
    assert len(read_cif(cif)) == 20
    cif.write_text(_cif(2001, 20.0))
    with pytest.raises(PhaseError, match="2,001 atom sites"):
        read_cif(cif)


# ------------------------------------------------------------------------ 10. messages


def test_a_locked_file_is_not_called_damaged(tmp_path: Path) -> None:
    """An HDF5 file held open for writing by another process: 'locked', not 'damaged'."""
    path = _nexus(tmp_path / "busy.h5")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, h5py; f = h5py.File(sys.argv[1], 'a'); print('open', flush=True); "
         "time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, HDF5_USE_FILE_LOCKING="TRUE"))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        for timeout_s in (None, 30.0):
            with pytest.raises(InputError) as info:
                list_scans(path, timeout_s=timeout_s)
            message = str(info.value)
            assert "locked by another process" in message and "damaged" not in message
    finally:
        holder.kill()
        holder.wait()
