"""`irkit fit` end to end, plots, and the synthetic generator's own truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irkit.cli import main
from irkit.fit import fit_region
from irkit.synthetic import pv_height_per_area, synthesize


def _csv(path: Path, x: np.ndarray, y: np.ndarray, header: str = "wavenumber,absorbance") -> Path:
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="")
    return path


def test_cli_fit_writes_json_and_plot(tmp_path: Path, artifacts: Path) -> None:
    syn = synthesize(21, isopropanol=0.05, pvdf=0.1, baseline="curved")
    spectrum = _csv(tmp_path / "s.csv", syn.spectrum.wavenumber_cm1, syn.spectrum.values)
    out, png = tmp_path / "out.json", artifacts / "ir_cli_fit.png"
    assert main(["fit", str(spectrum), "--json", str(out), "--plot", str(png)]) == 0
    doc = json.loads(out.read_text())
    assert {"borate_present", "anions_intact", "isopropanol", "water", "oxidation",
            "b10_b12_ratio"} <= set(doc["verdict"])
    assert doc["verdict"]["borate_present"] is True
    assert doc["verdict"]["isopropanol"] is True and doc["verdict"]["binder"] is True
    assert doc["verdict"]["oxidation"] is False
    labels = {b["label"] for b in doc["bands"]}
    assert {"B12H12:nu_BH", "B10H10:nu_BH_eq", "B12H12:delta_BH"} <= labels
    assert png.stat().st_size > 10_000


def test_cli_transmittance_descending_jcamp_real_file(realdata: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    # PE1800.DX is isobutyl acrylate (no closo-borate): the tool must run and say so, and the
    # acrylate's C–O–C / C=O bands must not pass for PVDF binder
    out = tmp_path / "pe.json"
    assert main(["fit", str(realdata / "ir_formats" / "PE1800.DX"), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    v = doc["verdict"]
    assert v["borate_present"] is False and v["anions_intact"] is None
    assert v["binder"] is False and v["oxidation"] is None
    assert v["other_organic"] is True
    assert doc["spectrum"]["converted_from"] == "transmittance"
    text = capsys.readouterr().out
    assert "not covered" in text and "no band fits made" in text


def _narrowed_bands(path: Path, bound_cm1: float = 5.0) -> Path:
    """The bundled band table with the ν(B–H) priors narrowed (as after fitting pure salts)."""
    import csv

    from xrdkit._paths import reference_data_dir

    rows = list(csv.DictReader((reference_data_dir() / "ir_bands" / "bands.csv").open()))
    for r in rows:
        if r["species"] in ("B12H12", "B10H10") and r["mode"].startswith("nu_BH"):
            r["bound_cm1"] = str(bound_cm1)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_cli_ratio_null_with_reason_at_wide_priors(tmp_path: Path) -> None:
    syn = synthesize(23)
    spectrum = _csv(tmp_path / "s.csv", syn.spectrum.wavenumber_cm1, syn.spectrum.values)
    out = tmp_path / "o.json"
    assert main(["fit", str(spectrum), "--json", str(out)]) == 0
    v = json.loads(out.read_text())["verdict"]
    assert v["b10_b12_ratio"] is None and "exchange labels" in v["b10_b12_ratio_reason"]


def test_cli_calibration_option_scales_ratio(tmp_path: Path) -> None:
    syn = synthesize(23)
    spectrum = _csv(tmp_path / "s.csv", syn.spectrum.wavenumber_cm1, syn.spectrum.values)
    bands = _narrowed_bands(tmp_path / "bands.csv")
    ratios = []
    for extra in ([], ["--calibration", str(2 * 10 / 12) + ",0.1"]):
        out = tmp_path / "o.json"
        assert main(["fit", str(spectrum), "--json", str(out), "--bands", str(bands),
                     *extra]) == 0
        v = json.loads(out.read_text())["verdict"]
        assert v["b10_b12_ratio_reason"] is None
        ratios.append((v["b10_b12_ratio"], v["b10_b12_ratio_sigma"]))
    assert abs(ratios[0][0] - 1.0) < 3 * ratios[0][1]  # narrowed priors: identified, near truth
    assert ratios[1][0] == pytest.approx(ratios[0][0] / 2, rel=1e-6)
    assert main(["fit", str(spectrum), "--calibration", "-1"]) == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [("", "no numeric data"), ("600\n601\n602\n603\n604\n605\n", "column"),
     ("x,%T\n" + "".join(f"{2300 + i},{100 + i}\n" for i in range(500)), "above 100 %")],
)
def test_cli_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                       content: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and problem in err
    with pytest.raises(Exception, match=problem):
        main(["--debug", "fit", str(path)])


def test_cli_descending_text_needs_the_flag(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    syn = synthesize(24)
    path = _csv(tmp_path / "desc.csv", syn.spectrum.wavenumber_cm1[::-1],
                syn.spectrum.values[::-1])
    assert main(["fit", str(path)]) == 2
    assert "descending" in capsys.readouterr().err
    assert main(["fit", str(path), "--descending"]) == 0


def test_cli_region_not_covered(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x = np.arange(600.0, 1300.0)
    path = _csv(tmp_path / "bend_only.csv", x, np.full(x.size, 0.1))
    assert main(["fit", str(path)]) == 2
    assert "does not cover the stretch region" in capsys.readouterr().err


def test_synthetic_is_seeded_and_its_truth_is_in_the_data() -> None:
    a, b = synthesize(5, isopropanol=0.02), synthesize(5, isopropanol=0.02)
    np.testing.assert_array_equal(a.spectrum.values, b.spectrum.values)
    assert not np.array_equal(a.spectrum.values, synthesize(6).spectrum.values)
    noiseless = synthesize(5, noise_sd=0.0, baseline="flat")
    x, y = noiseless.spectrum.wavenumber_cm1, noiseless.spectrum.values - noiseless.baseline
    band = noiseless.band("B12H12:cage")
    # an isolated band: data at its centre ≈ its height (+ small tails of the others)
    assert np.interp(band.center_cm1, x, y) == pytest.approx(band.height, rel=0.05)
    # area and height are tied by the pseudo-Voigt shape
    assert band.area * pv_height_per_area(band.fwhm_cm1, noiseless.fraction) == \
        pytest.approx(band.height)
    # equimolar: B10/B12 stretching areas per mole follow the stated constant (10/12)
    fit = fit_region(noiseless.spectrum, "stretch")
    a10, _ = fit.species_area("B10H10")
    a12, _ = fit.species_area("B12H12")
    assert a10 / a12 == pytest.approx(10 / 12, rel=0.01)
    assert "not measured" in noiseless.spectrum.metadata["constructed"]
