"""``xrdkit cell``: JSON contents, plot file, batch results input, bad input exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xrdkit.cell import predict_cell
from xrdkit.cli import main


def test_cli_json_and_plot(tmp_path: Path, artifacts: Path, capsys: pytest.CaptureFixture[str]
                           ) -> None:
    out, png = tmp_path / "out.json", artifacts / "cell_rate_vs_purity.png"
    rc = main(["cell", "--fcc-fraction", "0.87", "--fcc-fraction-sigma", "0.03", "--cathode",
               "97:1:2", "--loading", "7.7", "--json", str(out), "--plot", str(png)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert [r["c_rate"] for r in d["rate_table"]] == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    ref = predict_cell(0.87, 0.03, cathode="97:1:2", loading_mg_per_cm2=7.7)
    assert d["sigma_electrolyte_S_per_cm"] == pytest.approx(ref.sigma_electrolyte_S_per_cm)
    assert d["energy_Wh_per_kg"] == pytest.approx(ref.energy_Wh_per_kg)
    for row in d["rate_table"]:
        assert {"c_rate", "current_density_mA_per_cm2", "capacity_mAh_per_g",
                "retention_vs_0.1C"} <= set(row)
    assert png.stat().st_size > 10_000
    assert "mA/cm²" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["cell", "--fcc-fraction", "1.3"],
    ["cell", "--fcc-fraction", "0.9", "--cathode", "97:1:3"],
    ["cell", "--fcc-fraction", "0.9", "--loading", "-2"],
    ["cell", "--fcc-fraction", "0.9", "--rates", "0.1,0"],
])
def test_cli_bad_input_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_cli_from_batch_results(tmp_path: Path) -> None:
    results = pytest.importorskip("xrdkit.results")
    path = tmp_path / "RESULTS.h5"
    with results.ResultsStore(path) as store:
        for i, (w, s) in enumerate([(0.95, 0.01), (0.5, 0.05)]):
            store.append(results.ItemRecord(
                item_id=f"scan{i}", index=i, source=f"f.h5::/scan{i}", status="ok",
                scalars={"fcc_weight_fraction": w, "fcc_weight_fraction_sigma": s}))
        store.append(results.ItemRecord(item_id="bad", index=2, source="f.h5::/bad",
                                        status="error", error="fit failed"))
        store.finalize()
    out = tmp_path / "cell.json"
    assert main(["cell", "--results", str(path), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [it["item"] for it in d["items"]] == ["scan0", "scan1"]
    assert d["items"][0]["fcc_weight_fraction"] == 0.95
    assert d["items"][0]["sigma_electrolyte_S_per_cm"] > d["items"][1]["sigma_electrolyte_S_per_cm"]
