"""The structure probe (a child process that reads an HDF5 file's layout, so a damaged file
cannot hang us) runs once per file contents: reading scans of one file one by one does not
start one interpreter per scan, and a file rewritten in between is probed again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from xrdkit import hdf5
from xrdkit.data import example_file
from xrdkit.readers import read_scan


@pytest.fixture()
def probes(monkeypatch) -> list:
    """Every probe child started (the real one runs)."""
    calls: list = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(hdf5.subprocess, "run", counting)
    monkeypatch.setattr(hdf5, "_PROBED", type(hdf5._PROBED)())
    return calls


def test_scans_of_one_file_are_probed_once(tmp_path: Path, probes: list, monkeypatch) -> None:
    f = tmp_path / "electrodes.h5"
    shutil.copy(example_file("electrodes.h5"), f)
    a = read_scan(f"{f}::/electrode_01/data")
    b = read_scan(f"{f}::/electrode_02/data")
    assert len(probes) == 1
    assert a.source != b.source and len(a.two_theta_deg) > 100
    # another spelling of the same file: still no new probe, and the caller's spelling is kept
    monkeypatch.chdir(tmp_path)
    c = read_scan("./electrodes.h5::/electrode_03/data")
    assert len(probes) == 1
    assert c.source.startswith("./electrodes.h5")


def test_a_rewritten_file_is_probed_again(tmp_path: Path, probes: list) -> None:
    f = tmp_path / "s.h5"
    shutil.copy(example_file("electrodes.h5"), f)
    read_scan(f"{f}::/electrode_01/data")
    f.unlink()
    f.write_bytes(b"not an HDF5 file at all")
    with pytest.raises(Exception, match="s.h5"):
        read_scan(f"{f}::/electrode_01/data")
    assert len(probes) == 2


def test_the_memo_is_bounded(tmp_path: Path, probes: list, monkeypatch) -> None:
    monkeypatch.setattr(hdf5, "PROBE_MEMO_SIZE", 2)
    files = []
    for i in range(3):
        files.append(tmp_path / f"f{i}.h5")
        shutil.copy(example_file("electrodes.h5"), files[-1])
        read_scan(f"{files[-1]}::/electrode_01/data")
    assert len(hdf5._PROBED) == 2
    read_scan(f"{files[0]}::/electrode_01/data")  # forgotten: probed again
    assert len(probes) == 4
