"""``xrdkit cell``: JSON contents, plot file, batch results input (HDF5, CSV, JSON), refusal of
scans without a crystalline borate, bad input exit codes, the calibration report."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from xrdkit.cell import predict_cell
from xrdkit.cli import main
from xrdkit.identify import Verdict


def test_cli_json_intervals_and_separator(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    """The issue's command returns 95 % intervals that are not degenerate even at σ_w = 0."""
    out = tmp_path / "cell.json"
    assert main(["cell", "--fcc-fraction", "0.87", "--fcc-fraction-sigma", "0.03",
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [r["c_rate"] for r in d["rate_table"]] == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    ref = predict_cell(0.87, 0.03, cathode="97:1:2", loading_mg_per_cm2=7.7)
    assert d["sigma_electrolyte_S_per_cm"] == pytest.approx(ref.sigma_electrolyte_S_per_cm)
    assert d["energy_Wh_per_kg"] == pytest.approx(ref.energy_Wh_per_kg)
    assert d["uncertainty"] == "parameters" and d["interval_probability"] == 0.95
    for row in d["rate_table"]:
        assert {"c_rate", "current_density_mA_per_cm2", "capacity_mAh_per_g",
                "retention_vs_0.1C"} <= set(row)
        assert row["capacity_mAh_per_g_low"] <= row["capacity_mAh_per_g"] \
            <= row["capacity_mAh_per_g_high"]
    five = d["rate_table"][-1]
    assert five["capacity_mAh_per_g_high"] - five["capacity_mAh_per_g_low"] > 5.0
    for key in ("energy_Wh_per_kg", "np_ratio", "energy_Wh_per_kg_electrodes"):
        assert d[f"{key}_low"] < d[key] < d[f"{key}_high"]
    assert d["separator_fcc_weight_fraction"] == 1.0
    assert "mA/cm²" in capsys.readouterr().out
    # σ_w = 0: the documented parameter ranges alone still give a real interval (issue 18)
    assert main(["cell", "--fcc-fraction", "0.87", "--json", str(out)]) == 0
    five = json.loads(out.read_text())["rate_table"][-1]
    assert five["capacity_mAh_per_g_high"] - five["capacity_mAh_per_g_low"] > 5.0
    # a worse separator, given on the command line, lowers 5C; the cathode's σ is untouched
    assert main(["cell", "--fcc-fraction", "0.87", "--separator-fcc-fraction", "0.5",
                 "--uncertainty", "none", "--json", str(out)]) == 0
    bad_sep = json.loads(out.read_text())
    assert main(["cell", "--fcc-fraction", "0.87", "--uncertainty", "none",
                 "--json", str(out)]) == 0
    good_sep = json.loads(out.read_text())
    assert bad_sep["sigma_electrolyte_S_per_cm"] == good_sep["sigma_electrolyte_S_per_cm"]
    assert bad_sep["separator_sigma_S_per_cm"] < good_sep["separator_sigma_S_per_cm"]
    assert bad_sep["rate_table"][-1]["capacity_mAh_per_g"] < \
        good_sep["rate_table"][-1]["capacity_mAh_per_g"] - 10


def test_help_defaults_are_the_librarys() -> None:
    """The command keeps its --help defaults literal (no heavy import); they must agree."""
    from xrdkit.cell.predict import UNCERTAINTY_MODES
    from xrdkit.cell.rate import DEFAULT_C_RATES
    from xrdkit.cell.uncertainty import DEFAULT_SAMPLES, DEFAULT_SEED
    from xrdkit.commands import cell as cmd

    assert cmd.DEFAULT_C_RATES == DEFAULT_C_RATES
    assert cmd.UNCERTAINTY_MODES == UNCERTAINTY_MODES
    assert (cmd.DEFAULT_SAMPLES, cmd.DEFAULT_SEED) == (DEFAULT_SAMPLES, DEFAULT_SEED)


def test_cell_help_is_light() -> None:
    """`xrdkit cell --help` imports neither the cell model nor identify (scipy, numba, pymatgen)."""
    import subprocess
    import sys

    probe = ("import contextlib, io, sys\nfrom xrdkit.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try:\n        main(['cell', '--help'])\n    except SystemExit:\n        pass\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'numba', 'scipy', 'pymatgen', 'matplotlib', 'pybamm', 'h5py'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_cli_plot(tmp_path: Path, artifacts: Path) -> None:
    png = artifacts / "cell_rate_vs_purity.png"
    assert main(["cell", "--fcc-fraction", "0.87", "--fcc-fraction-sigma", "0.03",
                 "--json", str(tmp_path / "c.json"), "--plot", str(png)]) == 0
    assert png.stat().st_size > 30_000


@pytest.mark.parametrize("argv", [
    ["cell", "--fcc-fraction", "1.3"],
    ["cell", "--fcc-fraction", "0.9", "--cathode", "97:1:3"],
    ["cell", "--fcc-fraction", "0.9", "--loading", "-2"],
    ["cell", "--fcc-fraction", "0.9", "--rates", "0.1,0"],
    ["cell", "--fcc-fraction", "0.9", "--separator-fcc-fraction", "1.2"],
    ["cell", "--fcc-fraction", "0.9", "--separator-thickness", "0"],
    ["cell", "--fcc-fraction", "0.9", "--samples", "100"],
])
def test_cli_bad_input_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def _results_h5(path: Path, items: list[dict]) -> Path:
    results = pytest.importorskip("xrdkit.results")
    with results.ResultsStore(path) as store:
        for i, it in enumerate(items):
            status = it.pop("status", "ok")
            store.append(results.ItemRecord(
                item_id=it.pop("id"), index=i, source=f"f.h5::/{i}", status=status,
                error=it.pop("error", None), scalars=it))
        store.finalize()
    return path


def test_cli_from_batch_results(tmp_path: Path) -> None:
    path = _results_h5(tmp_path / "RESULTS.h5", [
        {"id": "scan0", "verdict": str(Verdict.FCC), "fcc_weight_fraction": 0.95,
         "fcc_weight_fraction_sigma": 0.01},
        {"id": "scan1", "verdict": str(Verdict.MIXED), "fcc_weight_fraction": 0.5,
         "fcc_weight_fraction_sigma": 0.05},
        {"id": "bad", "status": "error", "error": "fit failed"}])
    out = tmp_path / "cell.json"
    assert main(["cell", "--results", str(path), "--uncertainty", "none",
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [it["item"] for it in d["items"]] == ["scan0", "scan1"]
    assert d["items"][0]["fcc_weight_fraction"] == 0.95
    assert d["items"][0]["sigma_electrolyte_S_per_cm"] > d["items"][1]["sigma_electrolyte_S_per_cm"]
    # the scan's purity is the cathode's: the separator stays phase-pure
    assert d["items"][1]["separator_sigma_S_per_cm"] == d["items"][0]["separator_sigma_S_per_cm"]
    assert d["skipped"] == [{"item": "bad", "reason": "status 'error' (fit failed)"}]


def test_cli_refuses_no_borate_hdf5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """no-borate and NaN purities are refused by name, the good scans still modelled."""
    path = _results_h5(tmp_path / "RESULTS.h5", [
        {"id": "quartz", "verdict": str(Verdict.NO_BORATE), "fcc_weight_fraction": math.nan,
         "fcc_weight_fraction_sigma": math.nan},
        {"id": "nbh", "verdict": str(Verdict.FCC), "fcc_weight_fraction": 0.97,
         "fcc_weight_fraction_sigma": 0.01},
        {"id": "odd", "verdict": str(Verdict.UNEXPLAINED), "fcc_weight_fraction": None}])
    out = tmp_path / "cell.json"
    assert main(["cell", "--results", str(path), "--uncertainty", "none",
                 "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "skipped quartz: verdict no-borate: no crystalline closo-borate" in captured.err
    assert "skipped odd: fcc_weight_fraction is empty (verdict unexplained)" in captured.err
    assert "1 scan(s) modelled, 2 skipped" in captured.out
    d = json.loads(out.read_text())
    assert [it["item"] for it in d["items"]] == ["nbh"]
    assert [s["item"] for s in d["skipped"]] == ["quartz", "odd"]


def test_cli_refuses_only_no_borate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with nothing to model: exit 2, one line naming the scan and why."""
    path = _results_h5(tmp_path / "RESULTS.h5", [
        {"id": "cpd-2", "verdict": str(Verdict.NO_BORATE), "fcc_weight_fraction": None}])
    assert main(["cell", "--results", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cpd-2: verdict no-borate: no crystalline closo-borate, so no electrolyte purity" \
        in err[0]


def test_cli_refuses_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CSV tables (empty cell) and identify/batch JSON (null) are read and refused alike."""
    table = tmp_path / "results.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["scan", "status", "verdict", "fcc_weight_fraction",
                    "fcc_weight_fraction_sigma"])
        w.writerow(["quartz.xy", "ok", "no-borate", "", ""])
        w.writerow(["electrode-3", "ok", "fcc", "0.9", "0.02"])
    out = tmp_path / "cell.json"
    assert main(["cell", "--results", str(table), "--uncertainty", "none",
                 "--json", str(out)]) == 0
    assert "skipped quartz.xy: verdict no-borate" in capsys.readouterr().err
    assert [it["item"] for it in json.loads(out.read_text())["items"]] == ["electrode-3"]

    verdict = tmp_path / "verdict.json"  # xrdkit identify --json of a borate-free scan
    verdict.write_text(json.dumps({"source": "cpd-2.prn", "verdict": "no-borate",
                                   "fcc_weight_fraction": None,
                                   "fcc_weight_fraction_sigma": None}))
    assert main(["cell", "--results", str(verdict)]) == 2
    err = capsys.readouterr().err
    assert "cpd-2.prn: verdict no-borate" in err and len(err.strip().splitlines()) == 1

    nan_json = tmp_path / "nan.json"  # NaN written by a careless tool
    nan_json.write_text('[{"scan": "s1", "verdict": "mixed", "fcc_weight_fraction": NaN}]')
    assert main(["cell", "--results", str(nan_json)]) == 2
    assert "s1: fcc_weight_fraction is empty (verdict mixed)" in capsys.readouterr().err


def test_purity_can_describe_the_separator(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    assert main(["cell", "--fcc-fraction", "0.5", "--purity-applies-to", "separator",
                 "--uncertainty", "none", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["fcc_weight_fraction"] == 1.0 and d["separator_fcc_weight_fraction"] == 0.5


@pytest.mark.slow
def test_cli_calibration_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cal.json"
    assert main(["cell", "--calibration", "--samples", "256", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["holdout"][0]["quantity"].startswith("5C/0.1C retention")
    assert d["interface_resistance"]["literature"]
    assert "interface resistance per cm² of NaCrO2 surface" in capsys.readouterr().out
