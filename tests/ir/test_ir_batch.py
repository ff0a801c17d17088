"""`irkit batch`: a stack of synthetic spectra in HDF5 through xrdkit's batch engine."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from irkit.cli import main
from irkit.synthetic import synthesize, write_hdf5_stack
from xrdkit.results import read_item, read_summary


def _stack(path: Path, spectra: list) -> Path:
    with h5py.File(path, "w") as f:
        g = f.create_group("ir")
        ax = g.create_dataset("wavenumber", data=spectra[0].spectrum.wavenumber_cm1[::-1])
        ax.attrs["units"] = "cm-1"
        g.create_dataset("absorbance", data=np.array([s.spectrum.values[::-1] for s in spectra]))
    return path


def test_batch_stack_with_one_bad_spectrum(tmp_path: Path) -> None:
    syns = [synthesize(i, isopropanol=0.05 if i == 1 else 0.0, baseline="curved",
                       borate=0.0 if i == 3 else 1.0, water=0.2 if i == 3 else 0.0)
            for i in range(4)]
    nexus = write_hdf5_stack(tmp_path / "nexus.h5", syns[:2], seeds=[0, 1])
    bare = _stack(tmp_path / "stack.h5", syns[2:])  # descending axis, no NeXus attributes
    broken = tmp_path / "bad.h5"
    with h5py.File(broken, "w") as f:  # one spectrum with a NaN: recorded as an error
        g = f.create_group("ir")
        g.create_dataset("wavenumber", data=syns[0].spectrum.wavenumber_cm1).attrs["units"] = \
            "cm-1"
        values = syns[0].spectrum.values.copy()
        values[100] = np.nan
        g.create_dataset("absorbance", data=values)
    out = tmp_path / "results.h5"
    rc = main(["batch", str(nexus), str(bare), str(broken), "--out", str(out), "--workers", "1",
               "--csv", str(tmp_path / "t.csv")])
    assert rc == 1  # one error
    rows = read_summary(out)
    assert len(rows) == 5
    by_status = [r["status"] for r in rows]
    assert by_status.count("ok") == 4 and by_status.count("error") == 1
    err = next(r for r in rows if r["status"] == "error")
    assert "NaN" in err["error"] and "bad.h5" in err["source"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert [r["isopropanol"] for r in ok] == [False, True, False, False]
    assert [r["borate_present"] for r in ok] == [True, True, True, False]
    assert [r["anions_intact"] for r in ok] == [True, True, True, None]
    assert [r["water"] for r in ok] == [False, False, False, True]
    negative = ok[3]
    assert negative["oxidation"] is None and negative["b10_b12_ratio"] is None
    assert "not judged" in negative["b10_b12_ratio_reason"]
    for r in ok[:3]:
        assert abs(r["B12H12_nu_BH_center_cm1"] - 2480) < 2
        # bands at the library priors: the B10/B12 stretching bands can swap labels
        assert r["b10_b12_ratio"] is None and "exchange labels" in r["b10_b12_ratio_reason"]
    item = read_item(out, ok[0]["id"])
    assert "stretch_best_fit" not in read_item(out, negative["id"]).arrays  # nothing fitted
    assert item.arrays["stretch_residual"].shape == item.arrays["stretch_best_fit"].shape
    assert (tmp_path / "t.csv").read_text().startswith("id,status,error")
