"""The NeXus view of a results file (``/entry/fit``): what h5web and silx plot.

Checked two ways: with :mod:`nexusformat` (an independent NeXus reader: the plottable data it
finds from the root's ``default`` must be the observed stack with its 2θ axis) and with plain
h5py (links resolve to the ``/arrays`` stacks themselves, axes match the signal's shape, units
are set). The expected 2θ grids and counts come from the inputs, not from the results file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.results import ItemRecord, ResultsStore, read_item, read_summary

nxload = pytest.importorskip("nexusformat.nexus").nxload

AUXILIARY = ["calculated", "background", "residual"]
#: A 2θ grid of 200 points (deg) shared by the "same grid" scans.
GRID_DEG = 10.0 + 0.05 * np.arange(200)
#: float32 storage of the arrays: ~7 significant digits.
F32_RTOL = 1e-6


def _pattern(i: int, grid_deg: np.ndarray) -> dict[str, np.ndarray]:
    """One scan's arrays as the analysis returns them: a peak moving with ``i`` on a slope."""
    background = 100.0 + 2.0 * (grid_deg - grid_deg[0])
    calculated = background + 1000.0 * np.exp(-0.5 * ((grid_deg - 15.0 - 0.1 * i) / 0.2) ** 2)
    observed = calculated + np.random.default_rng(i).normal(0.0, 5.0, grid_deg.size)
    return {"two_theta_deg": grid_deg, "observed": observed, "calculated": calculated,
            "background": background, "residual": observed - calculated}


def _record(i: int, grid_deg: np.ndarray | None = GRID_DEG) -> ItemRecord:
    if grid_deg is None:
        return ItemRecord(item_id=f"scan_{i}", index=i, source="s", status="error",
                          error="fit failed")
    return ItemRecord(item_id=f"scan_{i}", index=i, source="s", status="ok",
                      scalars={"rwp": 0.1 * i}, arrays=_pattern(i, grid_deg))


def _check_h5(path: Path, n_rows: int, n_points: int) -> dict:
    """Plain-h5py checks of the view; returns the ``fit`` group's attributes."""
    with h5py.File(path, "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["default"] == "entry"
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["default"] == "fit"
        process = entry["process"]
        assert process.attrs["NX_class"] == "NXprocess"
        assert process["program"].asstr()[()] == "closokit"
        assert process["config/data"].asstr()[()] == f.attrs["config_json"]
        fit = entry["fit"]
        attrs = dict(fit.attrs)
        assert attrs["NX_class"] == "NXdata" and attrs["signal"] == "observed"
        assert list(attrs["auxiliary_signals"]) == AUXILIARY
        for name in ["observed", *AUXILIARY]:
            # the very dataset of /arrays (a hard link: no copy), with its units
            assert fit[name].id == f["arrays"][name].id
            assert fit[name].attrs["target"] == f"/arrays/{name}"
            assert fit[name].attrs["units"] == "counts"
            assert fit[name].shape == (n_rows, n_points)
        assert fit["observed"].attrs["interpretation"] == "spectrum"
        shared = fit["two_theta"].ndim == 1
        assert list(attrs["axes"]) == ["scan_index", "two_theta" if shared else "."]
        assert attrs["scan_index_indices"] == 0
        np.testing.assert_array_equal(fit["scan_index"][()], np.arange(n_rows))
        assert fit["two_theta"].attrs["units"] == "deg"
        attrs["two_theta"] = fit["two_theta"][()]
        attrs["two_theta_is_stack"] = fit["two_theta"].id == f["arrays/two_theta_deg"].id
        return attrs


def _nexus_check(path: Path) -> None:
    """Validate the file against the NeXus base classes with nexusformat's ``nxcheck``: no
    error, and warnings only about the closokit attributes of the root (``format`` …)."""
    nxcheck = Path(sys.executable).with_name("nxcheck")
    if not nxcheck.exists():
        pytest.skip("nexusformat's nxcheck is not installed")
    proc = subprocess.run([str(nxcheck), "-w", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert "Total number of errors: 0" in text, text
    lines = [ln.strip() for ln in text.splitlines() if ln.startswith("    ")]
    assert lines, text  # the root's own attributes are reported: the check did run
    assert all(ln.endswith("is not defined as an attribute in NXroot") for ln in lines), text


def test_shared_grid_gives_a_1d_two_theta_axis_and_nexusformat_plots_the_stack(
    tmp_path: Path,
) -> None:
    out = tmp_path / "R.h5"
    with ResultsStore(out, config={"command": "test"}) as store:
        for i in range(5):
            store.append(_record(i, None if i == 2 else GRID_DEG))  # scan 2 failed
        store.n_items_expected = 5
        store.finalize()
    attrs = _check_h5(out, 5, GRID_DEG.size)
    assert attrs["two_theta_indices"] == 1 and not attrs["two_theta_is_stack"]
    np.testing.assert_allclose(attrs["two_theta"], GRID_DEG, rtol=F32_RTOL)

    root = nxload(str(out))
    data = root.plottable_data  # follows /@default → entry/@default → fit
    assert data.nxpath == "/entry/fit"
    assert data.nxsignal.nxname == "observed"
    assert [a.nxname for a in data.nxaxes] == ["scan_index", "two_theta"]
    assert [s.nxname for s in data.nxauxiliary_signals] == AUXILIARY
    assert data.nxsignal.shape == (5, GRID_DEG.size)
    np.testing.assert_allclose(data.nxaxes[1].nxvalue, GRID_DEG, rtol=F32_RTOL)
    observed = data.nxsignal.nxvalue
    for i in (0, 1, 3, 4):
        np.testing.assert_allclose(observed[i], _pattern(i, GRID_DEG)["observed"], rtol=F32_RTOL)
    assert np.isnan(observed[2]).all(), "the failed scan's row must be empty (NaN)"
    # the results layout and its readers are untouched
    assert [r["id"] for r in read_summary(out)] == [f"scan_{i}" for i in range(5)]
    np.testing.assert_array_equal(read_item(out, "scan_3").arrays["observed"], observed[3])


def test_different_grids_link_the_2d_two_theta_stack(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    shifted = GRID_DEG + 0.01  # same length, another grid
    with ResultsStore(out) as store:
        store.append(_record(0))
        store.append(_record(1, shifted))
        store.n_items_expected = 2
        store.finalize()
    attrs = _check_h5(out, 2, GRID_DEG.size)
    assert attrs["two_theta_is_stack"]
    assert list(attrs["two_theta_indices"]) == [0, 1]
    _nexus_check(out)
    np.testing.assert_allclose(attrs["two_theta"], [GRID_DEG, shifted], rtol=F32_RTOL)
    data = nxload(str(out)).plottable_data
    assert data.nxsignal.nxname == "observed" and data.nxsignal.shape == (2, GRID_DEG.size)
    assert data.nxaxes[0].nxname == "scan_index"


def test_periodic_publication_and_resume_keep_the_view_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    store = ResultsStore(out, consolidate_every_s=1e9)
    store.open()
    for i in range(3):
        store.append(_record(i))
    store.consolidate()  # a periodic publication: the view is already there
    attrs = _check_h5(out, 3, GRID_DEG.size)
    assert attrs["two_theta_indices"] == 1
    store.close()  # "killed"
    # the resumed session checks the grids already in the file: a new grid → the 2-D stack
    longer = 10.0 + 0.05 * np.arange(GRID_DEG.size + 20)
    with ResultsStore(out, resume=True) as store:
        store.append(_record(3, longer))
        store.n_items_expected = 4
        store.finalize()
    attrs = _check_h5(out, 4, longer.size)
    assert attrs["two_theta_is_stack"] and list(attrs["two_theta_indices"]) == [0, 1]
    assert np.isnan(attrs["two_theta"][0, GRID_DEG.size:]).all()  # shorter scans: NaN padding
    # a resume that adds scans on the same grid keeps the 1-D axis
    out2 = tmp_path / "R2.h5"
    store = ResultsStore(out2, consolidate_every_s=1e9)
    store.open()
    store.append(_record(0))
    store.consolidate()
    store.close()
    with ResultsStore(out2, resume=True) as store:
        store.append(_record(1))
        store.n_items_expected = 2
        store.finalize()
    attrs = _check_h5(out2, 2, GRID_DEG.size)
    assert attrs["two_theta_indices"] == 1 and not attrs["two_theta_is_stack"]
    data = nxload(str(out2)).plottable_data
    np.testing.assert_allclose(data.nxsignal.nxvalue[1], _pattern(1, GRID_DEG)["observed"],
                               rtol=F32_RTOL)


def test_no_fitted_scan_gives_an_entry_without_a_plot(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    with ResultsStore(out) as store:
        store.append(_record(0, None))
        store.n_items_expected = 1
        store.finalize()
    with h5py.File(out, "r") as f:
        assert f["entry"].attrs["NX_class"] == "NXentry" and "fit" not in f["entry"]
        assert "default" not in f["entry"].attrs
    nxload(str(out))  # still a readable NeXus file


def test_xrdkit_batch_results_open_as_nexus_with_each_scan_fit(tmp_path: Path) -> None:
    """A results file of ``xrdkit batch`` (two synthetic NBH + Al scans): the default plot is
    every scan's observed counts on the 2θ grid of the input, with the fit alongside."""
    from xrdkit.cli import main
    from xrdkit.phases import PhaseLibrary
    from xrdkit.synthetic import Background, PeakProfile, synthetic_pattern

    grid_deg = 12.0 + 0.02 * np.arange(1500)
    lib = PhaseLibrary()
    structures = [lib.get(name).structure for name in ("nbh-fcc", "al")]
    rng = np.random.default_rng(20261125)
    src = tmp_path / "series.nxs.h5"
    counts = []
    with h5py.File(src, "w") as f:
        for i, w_al in enumerate((0.2, 0.4)):
            p = synthetic_pattern(
                structures, (1.0 - w_al, w_al), grid_deg, names=("nbh-fcc", "al"),
                profile=PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004, eta=0.5),
                background=Background(exp_amplitude=500.0, exp_decay_deg=8.0, poly=(50.0, 10.0)),
                counts_on_strongest=5000.0, rng=rng,
            )
            counts.append(p.counts.astype(np.int32))
            e = f.create_group(f"scan_{i + 1:02d}")
            e.attrs["NX_class"] = "NXentry"
            d = e.create_group("data")
            d.attrs.update({"NX_class": "NXdata", "signal": "counts", "axes": "two_theta"})
            d.create_dataset("counts", data=counts[-1])
            d.create_dataset("two_theta", data=grid_deg).attrs["units"] = "deg"
            beam = e.create_group("instrument").create_group("beam")
            beam.attrs["NX_class"] = "NXbeam"
            beam.create_dataset("incident_wavelength", data=1.5406).attrs["units"] = "angstrom"
    out = tmp_path / "results.h5"
    lo_deg, hi_deg = 14.0, 41.0
    rc = main(["batch", str(src), "--borate", "nbh-fcc", "--phase", "al", "--range",
               str(lo_deg), str(hi_deg), "--background-terms", "6", "--out", str(out),
               "--workers", "1"])
    assert rc == 0
    inside = (grid_deg >= lo_deg) & (grid_deg <= hi_deg)
    n_points = int(inside.sum())
    attrs = _check_h5(out, 2, n_points)
    assert attrs["two_theta_indices"] == 1
    _nexus_check(out)
    data = nxload(str(out)).plottable_data
    assert data.nxpath == "/entry/fit" and data.nxsignal.nxname == "observed"
    np.testing.assert_allclose(data.nxaxes[1].nxvalue, grid_deg[inside], rtol=F32_RTOL)
    observed = data.nxsignal.nxvalue
    rows = {r["id"]: r["row"] for r in read_summary(out)}
    assert len(rows) == 2
    for item_id, row in rows.items():
        i = int(re.search(r"scan_(\d+)", item_id).group(1)) - 1  # "…/scan_01/data" → input 0
        np.testing.assert_allclose(observed[row], counts[i][inside], rtol=F32_RTOL)
        fit = {s.nxname: s.nxvalue[row] for s in data.nxauxiliary_signals}
        np.testing.assert_allclose(fit["residual"], observed[row] - fit["calculated"],
                                   rtol=0, atol=1e-3 * np.abs(observed[row]).max())
        assert np.all(fit["background"] <= fit["calculated"] + 1e-3)
