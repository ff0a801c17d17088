"""``xrdkit batch`` end to end: NeXus and stack files, a real Dask LocalCluster, corrupt scans,
SIGKILL + ``--resume`` of the command, inputs never modified.

The scans are made here with :mod:`xrdkit.synthetic` (pymatgen line lists with its own
broadening, independent of xrdkit's simulator), so the fitted weight fractions are checked
against the weights the patterns were made with. Results files are read with plain h5py and
the csv module as well as with :mod:`xrdkit.results`. Scans are short (1,500 points, two
phases) to keep the module within its time budget.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.hdf5 import list_scans
from xrdkit.phases import PhaseLibrary
from xrdkit.results import completed_ids, read_summary
from xrdkit.synthetic import CU_KA1_ANGSTROM, Background, PeakProfile, synthetic_pattern

XRDKIT = Path(sys.executable).with_name("xrdkit")
PHASES = ("nbh-fcc", "al")
GRID_DEG = 12.0 + 0.02 * np.arange(1500)  # 12 – 41.98°: NBH lines and Al (111) at 38.5°
#: Common command-line options: NBH as the only borate, Al as the other phase.
FIT_ARGS = ["--borate", "nbh-fcc", "--phase", "al", "--range", "14", "41",
            "--background-terms", "6"]
#: Al share of the crystalline weight of each synthetic scan (NBH is the rest).
AL_WEIGHTS = (0.10, 0.20, 0.30, 0.40, 0.15, 0.25, 0.35, 0.45)
TEMPERATURES_C = (25.0, 50.0, 75.0, 100.0, 125.0, 150.0, 175.0, 200.0)
TABLE_LEAD = ["scan", "status", "verdict", "fcc_weight_fraction", "fcc_weight_fraction_sigma",
              "rwp", "gof", "error"]
#: Tolerance on fitted weight fractions vs the synthetic truth.
WT_TOL = 0.02
SEED = 20261125


# ------------------------------------------------------------------------------ test files


@pytest.fixture(scope="module")
def counts() -> list[np.ndarray]:
    """Poisson counts of NBH + Al mixtures (seeded), one per entry of AL_WEIGHTS."""
    lib = PhaseLibrary()
    structures = [lib.get(name).structure for name in PHASES]
    rng = np.random.default_rng(SEED)
    out = []
    for w_al in AL_WEIGHTS:
        p = synthetic_pattern(
            structures, (1.0 - w_al, w_al), GRID_DEG, names=PHASES,
            profile=PeakProfile(u_deg2=0.004, v_deg2=-0.002, w_deg2=0.004, eta=0.5),
            background=Background(exp_amplitude=500.0, exp_decay_deg=8.0, poly=(50.0, 10.0)),
            counts_on_strongest=5000.0, rng=rng,
        )
        out.append(p.counts.astype(np.int32))
    return out


def _nexus_entry(f: h5py.File, name: str, y: np.ndarray, x: np.ndarray = GRID_DEG, *,
                 temperature_c: float | None = None, default: str = "data") -> None:
    """One NXentry laid out as in reference_data/examples/README.md."""
    e = f.create_group(name)
    e.attrs["NX_class"] = "NXentry"
    e.attrs["default"] = default
    d = e.create_group("data")
    d.attrs.update({"NX_class": "NXdata", "signal": "counts", "axes": "two_theta"})
    d.create_dataset("counts", data=y)
    d.create_dataset("two_theta", data=x).attrs["units"] = "deg"
    beam = e.create_group("instrument").create_group("beam")
    beam.attrs["NX_class"] = "NXbeam"
    beam.create_dataset("incident_wavelength", data=CU_KA1_ANGSTROM).attrs["units"] = "angstrom"
    if temperature_c is not None:
        s = e.create_group("sample")
        s.attrs["NX_class"] = "NXsample"
        s.create_dataset("temperature", data=temperature_c).attrs["units"] = "degC"


def write_nexus(path: Path, counts: list[np.ndarray]) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["default"] = "scan_01"
        for i, y in enumerate(counts):
            _nexus_entry(f, f"scan_{i + 1:02d}", y, temperature_c=TEMPERATURES_C[i])
    return path


def write_stack(path: Path, counts: list[np.ndarray]) -> Path:
    with h5py.File(path, "w") as f:
        g = f.create_group("heating")
        g.create_dataset("intensity", data=np.stack(counts))
        g.create_dataset("two_theta", data=GRID_DEG).attrs["units"] = "deg"
        g.create_dataset("temperature", data=np.array(TEMPERATURES_C[: len(counts)]))
        g["temperature"].attrs["units"] = "degC"
        g.create_dataset("wavelength", data=CU_KA1_ANGSTROM).attrs["units"] = "angstrom"
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def check_results_file(out: Path) -> list[str]:
    """Open the results file with plain h5py: summary and groups agree; return the ids."""
    with h5py.File(out, "r") as f:
        assert f.attrs["format"] == "closokit-results"
        ids = [s.decode() for s in f["summary/id"][:]] if "summary" in f else []
        assert len(ids) == len(set(ids)), "a scan appears twice in the summary"
        assert len(f["scans"]) == len(ids) if "scans" in f else not ids
        for name in f["scans"] if "scans" in f else ():
            assert json.loads(f["scans"][name].attrs["record"])["id"] in ids
    return ids


def stored_array(f: h5py.File, group: h5py.Group, name: str) -> np.ndarray:
    """A scan's array read with plain h5py: the record of its group gives its row in the
    ``/arrays`` stacks and its length."""
    rec = json.loads(group.attrs["record"])
    spec = rec["arrays"][name]
    return f["arrays"][spec["dataset"]][rec["row"], : math.prod(spec["shape"])]


# ------------------------------------------------------------------------------ NeXus batch


@pytest.fixture(scope="module")
def nexus_run(tmp_path_factory: pytest.TempPathFactory, counts: list[np.ndarray]) -> dict:
    """A 4-scan NeXus file analysed with 2 local worker processes."""
    d = tmp_path_factory.mktemp("nexus")
    src = write_nexus(d / "series.nxs.h5", counts[:4])
    before = sha256(src)
    out, table = d / "results.h5", d / "results.csv"
    rc = main(["batch", str(src), *FIT_ARGS, "--out", str(out), "--table", str(table),
               "--workers", "2"])
    return {"src": src, "sha_before": before, "out": out, "table": table, "rc": rc}


def test_nexus_batch_table(nexus_run: dict) -> None:
    assert nexus_run["rc"] == 0
    header, rows = read_csv(nexus_run["table"])
    assert header[: len(TABLE_LEAD)] == TABLE_LEAD
    src = nexus_run["src"]
    assert [r["scan"] for r in rows] == [f"{src}::/scan_{i:02d}/data" for i in range(1, 5)]
    for r, w_al in zip(rows, AL_WEIGHTS, strict=False):
        assert r["status"] == "ok" and r["error"] == "", r
        assert r["verdict"] == "fcc"
        assert float(r["fcc_weight_fraction"]) == pytest.approx(1.0, abs=1e-6)
        assert 0 <= float(r["fcc_weight_fraction_sigma"]) < 0.05
        assert float(r["wt_al"]) == pytest.approx(w_al, abs=WT_TOL)
        assert float(r["wt_nbh-fcc"]) == pytest.approx(1 - w_al, abs=WT_TOL)
        assert 0 < float(r["rwp"]) < 0.3 and 0.7 < float(r["gof"]) < 1.5
    temps = [float(r["meta_temperature"]) for r in rows]
    assert temps == list(TEMPERATURES_C[:4])


def test_nexus_results_file_has_a_group_per_scan(nexus_run: dict) -> None:
    out, src = nexus_run["out"], nexus_run["src"]
    ids = check_results_file(out)
    assert len(ids) == 4
    with h5py.File(out, "r") as f, h5py.File(src, "r") as s:
        assert bool(f.attrs["complete"])
        for i, group in enumerate(sorted(f["scans"])):
            g = f["scans"][group]
            rec = json.loads(g.attrs["record"])
            assert rec["status"] == "ok" and rec["scalars"]["verdict"] == "fcc"
            x = s[f"scan_{i + 1:02d}/data/two_theta"][:]
            y = s[f"scan_{i + 1:02d}/data/counts"][:]
            keep = (x >= 14.0) & (x <= 41.0)
            np.testing.assert_array_equal(stored_array(f, g, "observed"), y[keep])
            np.testing.assert_allclose(stored_array(f, g, "two_theta_deg"), x[keep])  # float32
            calc = stored_array(f, g, "calculated").astype(float)
            assert calc.shape == (keep.sum(),)
            # The calculated pattern explains the counts: Rwp recomputed here (the pattern is
            # stored as float32, so agreement to 1e-5 rather than to rounding).
            obs = y[keep].astype(float)
            w = 1.0 / np.maximum(obs, 1.0)
            rwp = np.sqrt(np.sum(w * (obs - calc) ** 2) / np.sum(w * obs**2))
            assert rwp == pytest.approx(rec["scalars"]["rwp"], rel=1e-5)


def test_batch_leaves_the_source_file_unchanged(nexus_run: dict) -> None:
    assert sha256(nexus_run["src"]) == nexus_run["sha_before"]


def test_results_record_the_source_file_and_path(nexus_run: dict) -> None:
    rows = read_summary(nexus_run["out"])
    src = nexus_run["src"]
    assert [r["source"] for r in rows] == [f"{src}::/scan_{i:02d}/data" for i in range(1, 5)]


# ------------------------------------------------------------------------------ stack batch


def test_stack_batch(tmp_path: Path, counts: list[np.ndarray],
                     capsys: pytest.CaptureFixture[str]) -> None:
    src = write_stack(tmp_path / "stack.h5", counts[4:7])
    before = sha256(src)
    refs = list_scans(src)
    assert [r.layout for r in refs] == ["stack"] * 3
    out, table = tmp_path / "r.h5", tmp_path / "r.csv"
    rc, stdout, _ = run_cli(["batch", str(src), *FIT_ARGS, "--out", str(out), "--table",
                             str(table), "--workers", "1"], capsys)
    assert rc == 0 and "3 scans analysed (3 ok, 0 errors" in stdout
    header, rows = read_csv(table)
    assert header[: len(TABLE_LEAD)] == TABLE_LEAD
    assert [r["scan"] for r in rows] == [r.spec for r in refs]
    for r, w_al, t in zip(rows, AL_WEIGHTS[4:7], TEMPERATURES_C[:3], strict=True):
        assert r["status"] == "ok" and r["verdict"] == "fcc", r
        assert float(r["wt_al"]) == pytest.approx(w_al, abs=WT_TOL)
        assert float(r["meta_temperature"]) == t
    assert len(check_results_file(out)) == 3
    assert sha256(src) == before


# ------------------------------------------------------------------------------ Dask


def test_dask_local_cluster_gives_the_same_verdicts(
    nexus_run: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.h5"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rc, stdout, _ = run_cli(["batch", str(nexus_run["src"]), *FIT_ARGS, "--out", str(out),
                                 "--scheduler", cluster.scheduler_address], capsys)
    assert rc == 0 and "dask, 2 workers" in stdout
    local = {r["id"]: r for r in read_summary(nexus_run["out"])}
    dask = {r["id"]: r for r in read_summary(out)}
    assert sorted(dask) == sorted(local)
    for scan_id, r in dask.items():
        assert r["status"] == "ok" and r["verdict"] == local[scan_id]["verdict"]
        assert r["wt_al"] == pytest.approx(local[scan_id]["wt_al"], abs=1e-4)
        assert r["rwp"] == pytest.approx(local[scan_id]["rwp"], rel=1e-4)


# ------------------------------------------------------------------------------ corrupt scans


def test_corrupt_scans_are_recorded_and_the_batch_goes_on(
    tmp_path: Path, counts: list[np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "corrupt.h5"
    with h5py.File(src, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        _nexus_entry(f, "a_good", counts[0])
        y = counts[1].astype(float)
        y[100:110] = np.nan
        _nexus_entry(f, "b_nan", y)
        y = counts[1].astype(float)
        y[200] = -50.0
        _nexus_entry(f, "c_negative", y)
        _nexus_entry(f, "d_two_points", counts[1][300:302], GRID_DEG[300:302])
        _nexus_entry(f, "e_dangling_default", counts[1], default="no_such_group")
        _nexus_entry(f, "f_good", counts[2])
    out, table = tmp_path / "r.h5", tmp_path / "r.csv"
    rc, stdout, _ = run_cli(["batch", str(src), *FIT_ARGS, "--out", str(out), "--table",
                             str(table), "--workers", "2"], capsys)
    assert rc != 0, "a batch with failed scans must exit non-zero"
    assert "6 scans analysed (2 ok, 4 errors" in stdout
    _, rows = read_csv(table)
    by_entry = {r["scan"].split("::")[1].split("/")[1]: r for r in rows}
    assert sorted(by_entry) == ["a_good", "b_nan", "c_negative", "d_two_points",
                                "e_dangling_default", "f_good"]
    for good, w_al in (("a_good", AL_WEIGHTS[0]), ("f_good", AL_WEIGHTS[2])):
        assert by_entry[good]["status"] == "ok" and by_entry[good]["verdict"] == "fcc"
        assert float(by_entry[good]["wt_al"]) == pytest.approx(w_al, abs=WT_TOL)
    expected = {"b_nan": r"10 non-finite", "c_negative": r"1 negative",
                "d_two_points": r"\b2 points", "e_dangling_default": r"@default.*no_such_group"}
    for name, pattern in expected.items():
        r = by_entry[name]
        assert r["status"] == "error" and r["verdict"] == "", r
        assert r["error"].startswith("InputError: ") and f"/{name}" in r["error"], r["error"]
        assert re.search(pattern, r["error"]), r["error"]
    assert sorted(check_results_file(out)) == sorted(r["scan"] for r in rows)
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["complete"])


# ------------------------------------------------------------------------------ kill + resume


def _start(src: Path, out: Path, log: Path, workers: int, resume: bool) -> subprocess.Popen:
    cmd = [str(XRDKIT), "batch", str(src), *FIT_ARGS, "--out", str(out), "--workers",
           str(workers)] + (["--resume"] if resume else [])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


def _kill_after(proc: subprocess.Popen, out: Path, n_done: int, timeout_s: float = 300.0) -> bool:
    """SIGKILL ``proc`` once ``n_done`` scans are stored; False if it finished first."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None:
        if len(completed_ids(out)) >= n_done:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return True
        assert time.monotonic() < deadline, "batch made no progress"
        time.sleep(0.05)
    return False


def test_kill9_then_resume_every_scan_exactly_once(tmp_path: Path, counts: list[np.ndarray]) -> None:
    """SIGKILL ``xrdkit batch`` at three seeded points (1 and 2 workers), resume each time."""
    src = write_nexus(tmp_path / "series.h5", counts)
    before = sha256(src)
    expected = {r.spec for r in list_scans(src)}
    assert len(expected) == 8
    out = tmp_path / "r.h5"
    rng = np.random.default_rng(SEED)
    steps = np.cumsum(rng.integers(1, 3, size=3))  # kill after 1–2, then 1–2 more each time
    kills = 0
    for round_, (n_done, workers) in enumerate(zip(steps, (2, 1, 2), strict=True)):
        log = tmp_path / f"run{round_}.log"
        proc = _start(src, out, log, workers, resume=round_ > 0)
        killed = _kill_after(proc, out, int(n_done))
        kills += killed
        if not killed:
            assert proc.returncode == 0, log.read_text()
        if out.exists():  # whatever was consolidated opens cleanly, nothing twice
            assert set(check_results_file(out)) <= expected
        assert completed_ids(out) <= expected
    assert kills >= 2, "the batch finished before it could be killed"
    done_before = completed_ids(out)
    log = tmp_path / "final.log"
    proc = _start(src, out, log, 2, resume=True)
    assert proc.wait(timeout=600) == 0, log.read_text()
    text = log.read_text()
    m = re.search(r"(\d+) scans analysed \((\d+) ok, (\d+) errors, (\d+) already done\)", text)
    assert m, text
    n_run, n_ok, n_err, n_skipped = map(int, m.groups())
    assert n_skipped == len(done_before) and n_run == 8 - len(done_before) == n_ok and n_err == 0
    ids = check_results_file(out)
    assert sorted(ids) == sorted(expected)
    rows = read_summary(out)
    assert all(r["status"] == "ok" and r["verdict"] == "fcc" for r in rows)
    for r in rows:
        i = int(r["id"].split("::/scan_")[1][:2]) - 1
        assert r["wt_al"] == pytest.approx(AL_WEIGHTS[i], abs=WT_TOL), r["id"]
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["complete"]) and int(f.attrs["n_items"]) == 8
    assert not out.with_name(out.name + ".parts").exists()
    assert sha256(src) == before
