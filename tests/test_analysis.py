"""The batch's per-scan analysis (``xrdkit.analysis``) on a bundled example file.

Independent references: the truth stored with each example scan (``truth_*`` attributes written
by ``reference_data/examples/make_examples.py`` from ``xrdkit.synthetic``, which does not use
xrdkit's simulator), the counts read back here with plain h5py, and Rwp recomputed here from
the stored arrays.
"""

from __future__ import annotations

import math
import pickle

import h5py
import numpy as np
import pytest

from xrdkit._paths import reference_data_dir
from xrdkit.analysis import AnalysisConfig, ScanTask, analyse_scan, make_tasks
from xrdkit.hdf5 import list_scans
from xrdkit.refine import RefineOptions
from xrdkit.results import ItemResult

ELECTRODES = reference_data_dir() / "examples" / "electrodes.h5"
#: Fit window (deg 2θ): (003) of NaCrO2 at 16.7°, Al (111)/(200), the NBH lines below 45°.
RANGE_DEG = (12.0, 45.0)
CONFIG = AnalysisConfig(
    candidates=("nbh-fcc",),
    electrode_phases=("nacro2", "al"),
    options=RefineOptions(),
    two_theta_range_deg=RANGE_DEG,
)


def _truth(entry: str) -> dict[str, float]:
    with h5py.File(ELECTRODES, "r") as f:
        a = f[entry].attrs
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in a["truth_phases"]]
        return dict(zip(names, (float(w) for w in a["truth_weight_fractions"]), strict=True))


def _counts_in_range(entry: str) -> np.ndarray:
    with h5py.File(ELECTRODES, "r") as f:
        x = f[f"{entry}/data/two_theta"][:]
        y = f[f"{entry}/data/counts"][:]
    keep = (x >= RANGE_DEG[0]) & (x <= RANGE_DEG[1])
    return y[keep].astype(float)


@pytest.fixture(scope="module")
def tasks() -> list[ScanTask]:
    refs = list_scans(ELECTRODES)
    assert [r.path for r in refs[:2]] == ["/electrode_01/data", "/electrode_02/data"]
    return make_tasks(refs[:2], CONFIG)


@pytest.fixture(scope="module")
def cold(tasks: list[ScanTask]) -> list[ItemResult]:
    """Cold fits of the first two electrodes; the first through a pickled round trip."""
    first = pickle.loads(pickle.dumps(tasks[0]))
    return [analyse_scan(first), analyse_scan(tasks[1])]


def test_scan_task_pickles(tasks: list[ScanTask]) -> None:
    for task in tasks:
        back = pickle.loads(pickle.dumps(task))
        assert back == task and hash(back.config.key()) == hash(task.config.key())
        assert back.id == task.id == f"{task.ref.file}::{task.ref.path}"
    assert tasks[0].id != tasks[1].id


def test_scalars_match_the_truth(cold: list[ItemResult]) -> None:
    r = cold[0]  # electrode_01: fcc purity 100 %, NaCrO2 0.68 / Al 0.20 / NBH 0.12
    truth = _truth("electrode_01")
    s = r.scalars
    assert s["verdict"] == "fcc"
    assert s["fcc_weight_fraction"] == pytest.approx(1.0, abs=1e-6)
    assert 0 < s["fcc_weight_fraction_sigma"] < 0.05
    for phase in ("nacro2", "al", "nbh-fcc"):
        assert s[f"wt_{phase}"] == pytest.approx(truth[phase], abs=0.02), phase
        assert 0 < s[f"wt_sigma_{phase}"] < 0.02
    # The constructed NBH model's a = 10.029 Å at 298 K (README of the examples); Al 4.04958 Å.
    assert s["lattice_a_nbh-fcc"] == pytest.approx(10.029, abs=0.01)
    assert s["lattice_a_al"] == pytest.approx(4.04958, abs=0.005)
    assert 0.5 < s["gof"] < 2.0 and s["converged"] in (True, False)
    assert s["meta_temperature"] == pytest.approx(25.0)
    assert math.isfinite(s["fit_time_s"]) and s["fit_time_s"] > 0
    for name in ("verdict", "phases", "models_missing", "detection_limit_basis"):
        assert isinstance(s[name], str)


def test_arrays_are_the_scan_and_its_fit(cold: list[ItemResult]) -> None:
    a = cold[0].arrays
    observed = _counts_in_range("electrode_01")
    np.testing.assert_array_equal(a["observed"], observed)
    n = observed.size
    for name in ("two_theta_deg", "calculated", "background", "residual"):
        assert a[name].shape == (n,), name
    assert a["two_theta_deg"][0] >= RANGE_DEG[0] and a["two_theta_deg"][-1] <= RANGE_DEG[1]
    np.testing.assert_allclose(a["residual"], a["observed"] - a["calculated"], atol=1e-9)
    comps = [k for k in a if k.startswith("component_")]
    assert sorted(comps) == ["component_al", "component_nacro2", "component_nbh-fcc"]
    np.testing.assert_allclose(sum(a[k] for k in comps) + a["background"], a["calculated"],
                               rtol=1e-9, atol=1e-6)
    # Rwp recomputed here with Poisson weights agrees with the reported scalar.
    w = 1.0 / np.maximum(observed, 1.0)
    rwp = math.sqrt(np.sum(w * (observed - a["calculated"]) ** 2) / np.sum(w * observed**2))
    assert cold[0].scalars["rwp"] == pytest.approx(rwp, rel=1e-6)


def test_warm_start_gives_the_same_answer(tasks: list[ScanTask], cold: list[ItemResult]) -> None:
    state = cold[0].state
    assert isinstance(state, dict) and state, "the first fit left no warm starts"
    # The engine hands `previous` across processes: use a pickled copy, as a worker would see it.
    previous = ItemResult(scalars=cold[0].scalars, state=pickle.loads(pickle.dumps(state)))
    warm = analyse_scan(tasks[1], previous=previous)
    c, w = cold[1].scalars, warm.scalars
    assert w["verdict"] == c["verdict"] == "fcc"
    truth = _truth("electrode_02")
    for phase in ("nacro2", "al", "nbh-fcc"):
        assert w[f"wt_{phase}"] == pytest.approx(c[f"wt_{phase}"], abs=max(1e-3, c[f"wt_sigma_{phase}"]))
        assert w[f"wt_{phase}"] == pytest.approx(truth[phase], abs=0.02)
    assert w["rwp"] == pytest.approx(c["rwp"], rel=1e-3)
    np.testing.assert_array_equal(warm.arrays["observed"], cold[1].arrays["observed"])

