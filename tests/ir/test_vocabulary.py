"""One vocabulary for the IR outputs: every flag and column irkit writes is described in
:mod:`irkit.vocabulary` (checked on the real assess, the real batch and the real CLI, on
synthetic spectra with known admixtures and on real measured files)."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import irkit.vocabulary as vocab
from irkit.assess import IRVerdict, assess
from irkit.bands import load_band_library
from irkit.batch import verdict_item
from irkit.cli import main
from irkit.spectra import read_spectrum
from irkit.synthetic import ADMIXTURE_FLAGS, synthesize, write_hdf5_stack
from irkit.vocabulary import BORATE_FLAGS, SPECIES_FLAGS, VERDICT_KEYS, IRFlag

#: Admixture amounts each raise their flag alone on these seeds (as in test_ir_assess).
ADMIXTURE_AMOUNTS = {"isopropanol": 0.05, "water": 0.05, "oxidation": 0.05, "pvdf": 0.2,
                     "protonated": 0.1}
#: Real measured files (../shared/realdata) without a closo-borate: acrylate, atmosphere.
REAL_FILES = ("ir_formats/PE1800.DX", "ir_formats/file.0")
#: JSON ``details`` keys that are not component tests.
DETAIL_KEYS = {"evidence", "b12_present", "b10_present", "ratio", "ratio_posterior",
               "other_organic", "notes"}


@pytest.fixture(scope="module")
def synthetic_verdicts() -> dict[str, IRVerdict]:
    """One verdict per admixture of the generator (and a clean and a borate-free spectrum)."""
    out = {amount: assess(synthesize(40, **{amount: value}).spectrum)
           for amount, value in ADMIXTURE_AMOUNTS.items()}
    out["clean"] = assess(synthesize(3).spectrum)
    out["no borate"] = assess(synthesize(4, borate=0.0, isopropanol=0.3).spectrum)
    return out


@pytest.fixture()
def real_verdicts(realdata: Path) -> dict[str, IRVerdict]:
    return {Path(f).name: assess(read_spectrum(realdata / f)) for f in REAL_FILES}


def _check_verdict_json(verdict: IRVerdict) -> None:
    d = json.loads(json.dumps(verdict.to_dict()))  # as written by irkit fit --json
    assert tuple(d) == VERDICT_KEYS
    flags = {k for k, v in d.items() if isinstance(v, bool)}
    assert flags <= {f.value for f in IRFlag}, flags - {f.value for f in IRFlag}
    for flag in IRFlag:
        assert d[flag] == verdict.flag(flag), flag
    tests = set(d["details"]) - DETAIL_KEYS
    assert tests == {f.value for f in SPECIES_FLAGS} | {vocab.CO2_TEST}
    if not verdict.borate_present:
        assert all(d[f] is None for f in BORATE_FLAGS)


def _check_item(verdict: IRVerdict) -> None:
    item = verdict_item(verdict)
    unknown = [k for k in item.scalars if vocab.describe(k) is None]
    assert not unknown, unknown
    unknown = [k for k in item.arrays if vocab.describe_array(k) is None]
    assert not unknown, unknown
    flag_columns = {k for k, v in item.scalars.items() if isinstance(v, bool)}
    assert flag_columns <= {f.value for f in IRFlag}
    for column in vocab.BATCH_COLUMNS:
        assert column.name in item.scalars, column.name
    for flag in SPECIES_FLAGS:
        assert item.scalars[flag] == verdict.flag(flag)


def test_synthetic_flags_are_the_vocabulary(synthetic_verdicts: dict[str, IRVerdict]) -> None:
    for name, verdict in synthetic_verdicts.items():
        _check_verdict_json(verdict)
        _check_item(verdict)
        if name in ADMIXTURE_FLAGS:  # what was put in is raised under its vocabulary name
            raised = {k for k, v in verdict.to_dict().items() if v is True}
            assert ADMIXTURE_FLAGS[name] in raised, (name, raised)
            assert verdict.flagged() == (ADMIXTURE_FLAGS[name],), (name, verdict.flagged())


def test_real_files_flags_are_the_vocabulary(real_verdicts: dict[str, IRVerdict]) -> None:
    for verdict in real_verdicts.values():
        _check_verdict_json(verdict)
        _check_item(verdict)
    # what they are (realdata README): an acrylate, an atmosphere measurement
    assert real_verdicts["PE1800.DX"].flag(IRFlag.OTHER_ORGANIC) is True
    assert real_verdicts["file.0"].flag("water") is True


def test_batch_results_file_and_csv_columns_are_described(tmp_path: Path) -> None:
    h5 = write_hdf5_stack(tmp_path / "s.h5", [synthesize(3, isopropanol=0.15),
                                               synthesize(4, borate=0.0, isopropanol=0.3)])
    out = tmp_path / "RESULTS.h5"
    table = tmp_path / "t.csv"
    assert main(["batch", str(h5), "--out", str(out), "--workers", "1", "--table", str(table)]) == 0
    with h5py.File(out, "r") as f:
        summary, arrays = f["summary"], f["arrays"]
        assert set(arrays) and set(summary)
        for name, ds in [*summary.items(), *arrays.items()]:
            col = vocab.describe(name) if name in summary else vocab.describe_array(name)
            assert col is not None, name
            assert ds.attrs["long_name"] == col.long_name, name
            assert ds.attrs.get("units") == col.unit, name
        assert summary["B12H12_nu_BH_center_cm1"].attrs["units"] == "cm-1"
        assert summary["isopropanol_height"].attrs["units"] == "1"
        assert "units" not in summary["isopropanol"].attrs  # a flag has no unit
    with table.open(newline="") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if vocab.describe(c) is None] == []
    # the band columns are bands of the library (stems <species>_<mode>)
    stems = {b.prefix.rstrip("_") for b in load_band_library()}
    band_columns = [c for c in header if c.endswith(vocab.BAND_CENTER.suffix)]
    assert band_columns
    assert {vocab.BAND_CENTER.key_of(c) for c in band_columns} <= stems


def test_cli_fit_prints_the_vocabulary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    syn = synthesize(3, isopropanol=0.15)
    path = tmp_path / "s.csv"
    np.savetxt(path, np.column_stack([syn.spectrum.wavenumber_cm1, syn.spectrum.values]),
               delimiter=",", header="wavenumber,absorbance", comments="")
    assert main(["fit", str(path), "--json", str(tmp_path / "s.json")]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.startswith("verdict: "))
    keys = [kv.split("=")[0] for kv in line.removeprefix("verdict: ").split(", ")]
    assert keys == [IRFlag.BORATE_PRESENT, vocab.ANION.name,
                    *(f for f in IRFlag if f is not IRFlag.BORATE_PRESENT)]
    doc = json.loads((tmp_path / "s.json").read_text())
    assert tuple(doc["verdict"]) == VERDICT_KEYS


def test_describe_refuses_what_it_does_not_know() -> None:
    # the checks above can fail: a column outside the vocabulary is not described
    for name in ("co2_height", "co2", "isopropanol_area", "stretch_height", "_height",
                 "bend_fwhm", "contaminant", "ratio"):
        assert vocab.describe(name) is None, name
    assert vocab.describe_array("co2_best_fit") is None
    assert vocab.describe("B10H10_cage_area_sigma").long_name.startswith("σ of the area")
    assert vocab.describe("B10H10_cage_area").long_name.startswith("integrated area")
    assert vocab.describe("stretch_rms_residual").unit == "1"


def test_every_flag_and_column_is_documented() -> None:
    verdict_fields = {f.name for f in dataclasses.fields(IRVerdict)}
    assert {f.value for f in IRFlag} - {IRFlag.OTHER_ORGANIC.value} <= verdict_fields | {
        "borate_present", "anions_intact"}
    assert {f.value for f in SPECIES_FLAGS} <= verdict_fields  # each is a SpeciesTest field
    for flag in IRFlag:
        assert flag.meaning and vocab.FLAG_COLUMNS[flag].name == flag.value
    for col in (*vocab.VERDICT_COLUMNS, *vocab.BATCH_COLUMNS):
        assert col.long_name, col
    families = (*vocab.SPECIES_FAMILIES, *vocab.REGION_FAMILIES, *vocab.BAND_FAMILIES,
                *vocab.ARRAY_FAMILIES)
    for fam in families:
        col = fam.column(fam.keys[0] if fam.keys else "B12H12_nu_BH")
        assert col.long_name and "{" not in col.long_name
        assert col.unit in ("1", "cm-1")
    assert set(vocab.FLAG_SPECIES) == set(SPECIES_FLAGS)


def test_the_vocabulary_module_is_light() -> None:
    """(Its Examples run in tests/test_docs.py.)"""
    code = ("import sys, irkit.vocabulary; "
            "print(sorted(m for m in ('numpy', 'h5py', 'lmfit', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
