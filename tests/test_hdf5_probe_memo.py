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


def test_a_background_probe_is_taken_not_repeated(tmp_path: Path, probes: list) -> None:
    """list_scans called while probe_in_background is still reading the file waits for that
    probe and returns the same scans as a probe of its own; one child in all."""
    f = tmp_path / "stack.h5"
    shutil.copy(example_file("heating_stack.h5"), f)
    thread = hdf5.probe_in_background([f, tmp_path / "missing.h5", tmp_path / "scan.xy"])
    refs = hdf5.list_scans(f)  # most likely while the child still runs
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(probes) == 1  # missing and non-HDF5 files are skipped, the stack probed once
    assert not hdf5._IN_FLIGHT
    hdf5._PROBED.clear()
    assert hdf5.list_scans(f) == refs  # a probe of its own gives the same answer
    assert len(probes) == 2


def test_a_background_probe_leaves_errors_to_the_caller(tmp_path: Path, probes: list) -> None:
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an HDF5 file at all")
    hdf5.probe_in_background([bad]).join(timeout=120)  # raises nothing
    with pytest.raises(Exception, match="broken.h5"):
        hdf5.list_scans(bad)
    assert len(probes) == 2  # the failure was not remembered: the caller's read probed again


def test_every_spelling_of_a_file_shares_one_probe(tmp_path: Path, probes: list) -> None:
    """``xrdkit batch link.h5`` probes the name given, the batch then lists the canonical path:
    one probe serves both, and each caller sees its own spelling in the refs."""
    f = tmp_path / "stack.h5"
    shutil.copy(example_file("heating_stack.h5"), f)
    link = tmp_path / "link.h5"
    link.symlink_to(f)
    via_link = hdf5.list_scans(link)
    direct = hdf5.list_scans(f)
    assert len(probes) == 1
    assert {r.file for r in via_link} == {str(link)} and {r.file for r in direct} == {str(f)}
    assert [r.path for r in via_link] == [r.path for r in direct]
