"""A real Dask cluster (issue 16, item 3): ``dask scheduler`` and ``dask worker`` started as
separate processes in another working directory, on 127.0.0.1, give the same table as the
local run — with the input named by a relative path, a phase from the user's own CIF and an
instrument file, none of which the workers can see from their directory. A ``--scheduler``
that cannot work fails within 10 s with one clear line.

Data: the bundled electrode series (5 NeXus entries: NaCrO2 + Al + NBH electrolyte; two
warm-start chains, 1–4 and 5). The cathode is given as the user's CIF ``cathode.cif`` (a copy
of the library's NaCrO2 model under a name the library does not know), the instrument as
``lab.json`` (a copy of the preset). Everything is run as a user would, through the
``xrdkit`` command line.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parent.parent
SERIES = REPO / "reference_data" / "examples" / "electrodes.h5"
CATHODE_CIF = REPO / "reference_data" / "phases" / "nacro2.cif"
PRESET = REPO / "reference_data" / "instruments" / "miniflex600-cuka.json"
#: Scans in the series.
N_SCANS = 5
#: Worker processes of the cluster (one thread each).
N_WORKERS = 2
#: Seconds allowed for the scheduler and workers to come up.
START_TIMEOUT_S = 90.0
#: The issue's bound on a failing ``--scheduler``.
FAIL_WITHIN_S = 10.0
#: Table columns that measure time, not the result.
TIMING_COLUMNS = frozenset({"fit_time_s", "elapsed_s"})
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def _dask_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("dask")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "dask", *args]


def _stop(proc: subprocess.Popen) -> None:
    """End a process this test started (and the processes it started: its own session)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of a scheduler with N_WORKERS single-thread workers, all started in a directory
    of their own (not the caller's)."""
    where = tmp_path_factory.mktemp("cluster_cwd")
    info = where / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        log = open(where / "scheduler.log", "w")  # noqa: SIM115 - closed below
        logs.append(log)
        procs.append(subprocess.Popen(
            _dask_command("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(info)),
            cwd=where, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not info.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (where / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        log = open(where / "worker.log", "w")  # noqa: SIM115 - closed below
        logs.append(log)
        procs.append(subprocess.Popen(
            _dask_command("worker", address, "--nworkers", str(N_WORKERS), "--nthreads", "1",
                          "--no-dashboard", "--memory-limit", "0"),
            cwd=where, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(N_WORKERS, timeout=START_TIMEOUT_S)
            cwds = set(client.run(os.getcwd).values())
        assert cwds == {str(where)}  # the workers really run elsewhere
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def caller(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's directory: the series, their CIF and their instrument file."""
    d = tmp_path_factory.mktemp("caller_cwd")
    shutil.copyfile(SERIES, d / "series.h5")
    shutil.copyfile(CATHODE_CIF, d / "cathode.cif")
    shutil.copyfile(PRESET, d / "lab.json")
    return d


def _xrdkit(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xrdkit.cli", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
                for row in csv.DictReader(fh)]


RUN_ARGS = ("series.h5", "--phase", "cathode", "--phase", "al", "--cif", "cathode.cif",
            "--instrument", "lab.json")


@pytest.mark.slow
def test_separate_process_cluster_gives_the_local_table(cluster: str, caller: Path) -> None:
    local = _xrdkit(caller, "batch", *RUN_ARGS, "--workers", "1", "--out", "local.h5",
                    "--table", "local.csv")
    assert local.returncode == 0, local.stderr
    remote = _xrdkit(caller, "batch", *RUN_ARGS, "--scheduler", cluster, "--out", "dask.h5",
                     "--table", "dask.csv")
    assert remote.returncode == 0, remote.stderr
    assert "dask" in remote.stdout and f"{N_WORKERS} workers" in remote.stdout, remote.stdout

    rows_local, rows_dask = _table(caller / "local.csv"), _table(caller / "dask.csv")
    assert len(rows_local) == N_SCANS
    # the scans are named by their canonical absolute path, read on the workers from there
    series = os.path.realpath(caller / "series.h5")
    assert [r["scan"].split("::")[0] for r in rows_dask] == [series] * N_SCANS
    assert all(r["status"] == "ok" for r in rows_dask), [r["error"] for r in rows_dask]
    # the user's phase was fitted on the workers (every electrode is mostly NaCrO2)
    assert all(math.isfinite(float(r["wt_cathode"])) and float(r["wt_cathode"]) > 0.3
               for r in rows_dask)
    # identical, column by column (text as written: every digit)
    assert rows_dask == rows_local


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _mute_listener() -> Iterator[int]:
    """A port where something accepts connections and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nothing listening", "no port", "no scheme", "mute server"])
def test_bad_scheduler_fails_fast_with_one_line(caller: Path, kind: str) -> None:
    with contextlib.ExitStack() as stack:
        address = {
            "nothing listening": lambda: f"tcp://127.0.0.1:{_free_port()}",
            "no port": lambda: "tcp://127.0.0.1",
            "no scheme": lambda: "127.0.0.1:8786",
            "mute server": lambda: f"tcp://127.0.0.1:{stack.enter_context(_mute_listener())}",
        }[kind]()
        t0 = time.monotonic()
        res = _xrdkit(caller, "batch", *RUN_ARGS, "--scheduler", address, "--out", f"bad-{kind}.h5",
                      timeout=60)
        elapsed = time.monotonic() - t0
    assert res.returncode == 2, (res.stdout, res.stderr)
    # one line says what is wrong (log lines about the inputs may come before it)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("xrdkit: error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    assert address in errors[0] and res.stderr.rstrip().endswith(errors[0])
    assert elapsed < FAIL_WITHIN_S, f"{kind}: {elapsed:.1f} s"
    assert not (caller / f"bad-{kind}.h5").exists()  # nothing written


def test_a_task_carries_everything_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pickled task still runs after the caller's CIF and instrument file are gone and from
    another directory: it names the scan by its canonical path and carries the contents."""
    import pickle

    from xrdkit.analysis import AnalysisConfig, UserCif, analyse_scan, make_tasks
    from xrdkit.hdf5 import list_scans
    from xrdkit.instrument import Instrument

    caller, elsewhere = tmp_path / "caller", tmp_path / "elsewhere"
    caller.mkdir()
    elsewhere.mkdir()
    shutil.copyfile(SERIES, caller / "series.h5")
    shutil.copyfile(CATHODE_CIF, caller / "cathode.cif")
    shutil.copyfile(PRESET, caller / "lab.json")
    (caller / "link.h5").symlink_to("series.h5")
    monkeypatch.chdir(caller)
    config = AnalysisConfig(electrode_phases=("cathode", "al"), instrument="lab.json",
                            user_cifs=("cathode.cif",))
    assert isinstance(config.instrument, Instrument)
    assert config.user_cifs == (UserCif("cathode", CATHODE_CIF.read_text(encoding="utf-8"),
                                        str(caller.resolve() / "cathode.cif")),)
    tasks = make_tasks(list_scans("link.h5")[:1], config)
    assert tasks[0].ref.file == str((caller / "series.h5").resolve())  # absolute, canonical
    blob = pickle.dumps(tasks[0])
    for name in ("cathode.cif", "lab.json", "link.h5"):
        (caller / name).unlink()
    monkeypatch.chdir(elsewhere)
    result = analyse_scan(pickle.loads(blob))
    assert result.scalars["wt_cathode"] > 0.3

    (caller / "series.h5").unlink()  # a worker that cannot see the file says where it looked
    with pytest.raises(Exception, match=r"not found on host .*shared file system"):
        analyse_scan(pickle.loads(blob))


def test_scheduler_addresses_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    from xrdkit.batch import run_batch
    from xrdkit.errors import BatchError, InputError

    out = tmp_path / "r.h5"
    for bad in ("tcp://127.0.0.1", "127.0.0.1:8786", "tcp://127.0.0.1:notaport"):
        with pytest.raises(InputError, match="scheduler"):
            run_batch(["a"], str, out, scheduler=bad)
    t0 = time.monotonic()
    with pytest.raises(BatchError, match="nothing is listening"):
        run_batch(["a"], str, out, scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert time.monotonic() - t0 < FAIL_WITHIN_S
    assert not out.exists()
