"""``xrdkit fit`` and ``xrdkit identify`` through :func:`xrdkit.cli.main`: JSON contract, plots, errors.

Scans: a two-column text file written from an independent synthetic pattern
(:mod:`xrdkit.synthetic`, NBH + Al, 2,000 points 10–50° 2θ), and one HDF5 scan spec
``electrodes.h5::/electrode_01`` (made by ``reference_data/examples/make_examples.py`` with the same
independent generator; its truth is stored in the entry's attributes).
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from xrdkit._paths import reference_data_dir
from xrdkit.cli import main
from xrdkit.phases import PhaseLibrary
from xrdkit.synthetic import PeakProfile, synthetic_pattern

FIT_KEYS = {"rwp", "gof", "converged", "phases", "verdict"}
FIT_PHASE_KEYS = {"name", "weight_fraction", "weight_fraction_sigma", "lattice"}
IDENTIFY_KEYS = {"verdict", "fcc_weight_fraction", "fcc_weight_fraction_sigma", "detection_limit",
                 "evidence", "phases"}
TRUTH = {"nbh-fcc": 0.6, "al": 0.4}


@pytest.fixture(scope="module")
def scan_file(tmp_path_factory):
    """A two-column text scan (``#`` header, whitespace separated) of 60 wt % NBH + 40 wt % Al."""
    lib = PhaseLibrary()
    x = np.linspace(10.0, 50.0, 2000)
    pat = synthetic_pattern([lib.get(n).structure for n in TRUTH], list(TRUTH.values()), x,
                            names=list(TRUTH), profile=PeakProfile(0.010, -0.005, 0.006, 0.5),
                            rng=np.random.default_rng(31))
    path = tmp_path_factory.mktemp("cli") / "nbh_al.xy"
    np.savetxt(path, np.column_stack([pat.two_theta_deg, pat.counts]), fmt="%.5f %.0f",
               header="2theta_deg counts (synthetic NBH + Al, xrdkit.synthetic)")
    return path


def test_fit_text_file_json_and_plot(scan_file, tmp_path, capsys):
    out, png = tmp_path / "fit.json", tmp_path / "fit.png"
    rc = main(["fit", str(scan_file), "--phase", "nbh-fcc", "--phase", "al", "--json", str(out),
               "--plot", str(png)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert FIT_KEYS <= set(d)
    assert d["converged"] is True
    assert 0 < d["rwp"] < 0.2 and 0.5 < d["gof"] < 2.0
    assert d["verdict"] == "fcc"
    phases = {p["name"]: p for p in d["phases"]}
    assert set(phases) == set(TRUTH)
    for name, p in phases.items():
        assert FIT_PHASE_KEYS <= set(p)
        assert p["weight_fraction"] == pytest.approx(TRUTH[name], abs=0.02)
        assert 0 < p["weight_fraction_sigma"] < 0.02
    assert phases["nbh-fcc"]["lattice"]["a"] == pytest.approx(10.029, abs=0.002)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "Rwp" in capsys.readouterr().out


@pytest.mark.slow
def test_fit_hdf5_spec(tmp_path):
    h5 = reference_data_dir() / "examples" / "electrodes.h5"
    with h5py.File(h5, "r") as f:
        attrs = f["electrode_01"].attrs
        truth = dict(zip([str(n) for n in attrs["truth_phases"]], attrs["truth_weight_fractions"], strict=True))
    out = tmp_path / "h5.json"
    rc = main(["fit", f"{h5}::/electrode_01", "--phase", "nbh-fcc", "--phase", "nacro2", "--phase", "al",
               "--json", str(out)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert FIT_KEYS <= set(d)
    for p in d["phases"]:
        assert p["weight_fraction"] == pytest.approx(truth[p["name"]], abs=0.02), p["name"]


def test_identify_json_contract(scan_file, tmp_path):
    out = tmp_path / "id.json"
    rc = main(["identify", str(scan_file), "--phase", "al", "--borate", "nbh-fcc", "--json", str(out)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert IDENTIFY_KEYS <= set(d)
    assert d["verdict"] == "fcc"
    assert d["fcc_weight_fraction"] == pytest.approx(1.0)
    assert {"residual_peaks", "models_missing"} <= set(d["evidence"])
    for p in d["phases"]:
        assert FIT_PHASE_KEYS <= set(p)


@pytest.mark.parametrize("command", ["fit", "identify"])
def test_missing_file_exit_2_one_line(tmp_path, capsys, command):
    missing = tmp_path / "no_such_scan.xy"
    rc = main([command, str(missing), "--phase", "al", "--json", str(tmp_path / "o.json")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no_such_scan.xy" in err
    assert not (tmp_path / "o.json").exists()


def test_garbage_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "garbage.xy"
    bad.write_text("# not a scan\nhello world\n1.0 abc\n")
    rc = main(["fit", str(bad), "--phase", "al", "--json", str(tmp_path / "o.json")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "garbage.xy" in err


def test_negative_counts_exit_2(tmp_path, capsys):
    bad = tmp_path / "negative.xy"
    x = np.linspace(10, 50, 100)
    y = np.full(x.size, 10.0)
    y[5] = -3.0
    np.savetxt(bad, np.column_stack([x, y]))
    rc = main(["fit", str(bad), "--phase", "al", "--json", str(tmp_path / "o.json")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "negative.xy" in err


def test_unknown_phase_exit_2(scan_file, tmp_path, capsys):
    rc = main(["fit", str(scan_file), "--phase", "unobtainium", "--json", str(tmp_path / "o.json")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unobtainium" in err
