"""The batch engine: in-process vs local processes vs a real Dask LocalCluster, warm start,
per-item errors, worker crashes, warnings, progress, argument checks.

Reference values are computed here from the seeded inputs (value², running sums), not taken
from an earlier run of the engine.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import _batch_helpers as h
import numpy as np
import pytest

from xrdkit.batch import (
    ItemResult,
    default_chain_length,
    default_item_source,
    run_batch,
    warm_start_chains,
)
from xrdkit.errors import BatchError, InputError
from xrdkit.results import read_item, read_summary


def _comparable(out: Path) -> list[dict]:
    rows = read_summary(out)
    for r in rows:
        r.pop("elapsed_s")
    return rows


def _assert_squares(out: Path, items: list[h.Item]) -> None:
    rows = read_summary(out)
    assert [r["id"] for r in rows] == [it.id for it in items]
    for it, r in zip(items, rows, strict=True):
        assert r["status"] == "ok", r["error"]
        assert r["square"] == it.value**2 and r["positive"] is (it.value > 0)
        assert r["source"] == f"{it.file}::{it.path}"
        x = read_item(out, it.id).arrays["x"]  # float arrays are stored as float32
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, (np.arange(5.0) * it.value).astype(np.float32))


def test_one_and_two_local_workers_agree(tmp_path: Path) -> None:
    items = h.make_items(23)
    s1 = run_batch(items, h.square, tmp_path / "w1.h5", workers=1, progress=False)
    s2 = run_batch(items, h.square, tmp_path / "w2.h5", workers=2, progress=False)
    assert (s1.backend, s2.backend) == ("in-process", "processes")
    assert s1.n_ok == s2.n_ok == 23 and s1.n_error == s2.n_error == 0
    _assert_squares(tmp_path / "w2.h5", items)
    assert _comparable(tmp_path / "w1.h5") == _comparable(tmp_path / "w2.h5")
    for it in items[:5]:
        a, b = read_item(tmp_path / "w1.h5", it.id), read_item(tmp_path / "w2.h5", it.id)
        for name in a.arrays:
            np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
            assert a.arrays[name].dtype == b.arrays[name].dtype


def _check_chain(out: Path, items: list[h.Item], starts: set[int], skip: frozenset[int] = frozenset()) -> None:
    """``prev`` is the preceding item (skipping the failed ones in ``skip``) except at chain
    starts; ``total`` is the running sum of the chain."""
    rows = read_summary(out)
    total, prev = 0.0, None
    for i, (it, r) in enumerate(zip(items, rows, strict=True)):
        if i in starts:
            total, prev = 0.0, None
        if i in skip:
            assert r["status"] == "error", (i, r)
            continue
        assert r["status"] == "ok", (i, r)
        assert r["prev"] == (None if prev is None else items[prev].id), (i, r)
        total += it.value
        assert r["total"] == pytest.approx(total, rel=1e-12)
        prev = i


@pytest.mark.parametrize(("workers", "chunk"), [(1, None), (1, 4), (2, None), (2, 1), (2, 6), (2, 64)])
def test_warm_start_chains_do_not_depend_on_workers_or_chunks(
    tmp_path: Path, workers: int, chunk: int | None
) -> None:
    items = h.make_items(20)
    out = tmp_path / "chain.h5"
    s = run_batch(items, h.chain, out, workers=workers, chunk_size=chunk, warm_start=True,
                  chain_length=6, progress=False)
    assert (s.n_chains, s.n_replayed) == (4, 0)
    _check_chain(out, items, starts={0, 6, 12, 18})
    # the default chain length depends on the series length only: 20 items → 4 per chain
    s = run_batch(items, h.chain, tmp_path / "default.h5", workers=workers, chunk_size=chunk,
                  warm_start=True, progress=False)
    _check_chain(tmp_path / "default.h5", items, starts={0, 4, 8, 12, 16})
    # a series key starts new series (every 5 items), chains counted from each series start
    run_batch(items, h.chain, tmp_path / "series.h5", workers=workers, chunk_size=chunk,
              warm_start=True, chain_length=3, series_key=lambda it: int(it.path[6:]) // 5,
              progress=False)
    _check_chain(tmp_path / "series.h5", items, starts={0, 3, 5, 8, 10, 13, 15, 18})


def test_default_chain_length_and_chains() -> None:
    assert [default_chain_length(n) for n in (1, 12, 64, 65, 400, 1024, 1025, 10_000)] == \
        [4, 4, 4, 5, 25, 64, 64, 64]
    assert warm_start_chains(10, chain_length=4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert warm_start_chains(7, series=["a", "a", "b", "b", "b", "a", "a"], chain_length=2) == [
        range(0, 2), range(2, 4), range(4, 5), range(5, 7)]


def test_resume_replays_the_chain_so_warm_starts_are_unchanged(tmp_path: Path) -> None:
    items = h.make_items(20)
    items[3] = h.Item("corrupt", 1.0, fail="raise", path="/entry3")
    out = tmp_path / "r.h5"
    ref = tmp_path / "ref.h5"
    run_batch(items, h.chain, ref, workers=1, warm_start=True, chain_length=6, progress=False)
    _check_chain(ref, items, starts={0, 6, 12, 18}, skip=frozenset({3}))
    # the first run stops inside chains: items 0–7 done; the resume replays 6, 7 (not 0–5) …
    run_batch(items[:8], h.chain, out, workers=1, warm_start=True, chain_length=6, progress=False)
    s = run_batch(items, h.chain, out, workers=2, warm_start=True, chain_length=6, resume=True,
                  progress=False)
    assert (s.n_skipped, s.n_run, s.n_replayed) == (8, 12, 2)
    assert _comparable(out) == _comparable(ref)
    # … and a gap in the middle of a chain: 0–4 done, the error (3) is not replayed
    gap = tmp_path / "gap.h5"
    run_batch(items[:5], h.chain, gap, workers=1, warm_start=True, chain_length=6, progress=False)
    s = run_batch(items, h.chain, gap, workers=2, warm_start=True, chain_length=6, resume=True,
                  progress=False)
    assert (s.n_skipped, s.n_replayed) == (5, 4)
    assert _comparable(gap) == _comparable(ref)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_crash_recovery_keeps_the_warm_start_chain(tmp_path: Path, start_method: str) -> None:
    items = h.make_items(20)
    items[9] = h.Item("killer", 1.0, fail="exit", path="/entry9")  # os._exit in the worker
    out = tmp_path / "r.h5"
    s = run_batch(items, h.chain, out, workers=2, warm_start=True, chain_length=6, chunk_size=6,
                  progress=False, mp_context=multiprocessing.get_context(start_method))
    assert s.n_worker_crashes >= 1 and (s.n_ok, s.n_error) == (19, 1)
    _check_chain(out, items, starts={0, 6, 12, 18}, skip=frozenset({9}))
    assert "worker process died" in read_summary(out)[9]["error"]


def test_bad_items_are_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    items = h.make_items(12)
    items[3] = h.Item("corrupt_a", 1.0, fail="raise")
    items[8] = h.Item("corrupt_b", 1.0, fail="raise")
    items[5] = h.Item("warns", 2.0, fail="warn")
    out = tmp_path / "r.h5"
    s = run_batch(items, h.square, out, workers=2, chunk_size=4, progress=False)
    assert (s.n_ok, s.n_error, s.n_worker_crashes) == (10, 2, 0)
    rows = {r["id"]: r for r in read_summary(out)}
    for bad in ("corrupt_a", "corrupt_b"):
        assert rows[bad]["status"] == "error"
        assert rows[bad]["error"] == f"ValueError: corrupt item {bad} second line"  # one line
        assert rows[bad]["square"] is None
        assert "Traceback" in read_item(out, bad).traceback
    assert rows["warns"]["status"] == "ok" and rows["warns"]["square"] == 4.0
    assert rows["warns"]["warnings"] == "FitWarning: fit did not converge"
    good = [it for it in items if not it.fail]
    for it in good:
        assert rows[it.id]["square"] == it.value**2


def test_warnings_about_code_are_not_stored_with_items(tmp_path: Path) -> None:
    """A deprecation comes once per process, so which item would carry it depends on the
    backend: only warnings about the item are stored."""
    items = h.make_items(3)
    run_batch(items, h.deprecated_once, tmp_path / "r.h5", workers=1, progress=False)
    rows = read_summary(tmp_path / "r.h5")
    assert [r["warnings"] for r in rows] == [f"UserWarning: odd item {it.id}" for it in items]


def test_wrong_return_type_is_an_item_error(tmp_path: Path) -> None:
    s = run_batch(["a", "b"], len, tmp_path / "r.h5", workers=1, progress=False)
    assert s.n_error == 2
    assert read_summary(tmp_path / "r.h5")[0]["error"].startswith(
        "TypeError: analysis returned int, expected")


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_worker_crash_keeps_completed_results(tmp_path: Path, start_method: str) -> None:
    items = h.make_items(16, delay_s=0.01)
    items[9] = h.Item("killer", 1.0, fail="exit")  # os._exit in the worker
    out = tmp_path / "r.h5"
    s = run_batch(items, h.square, out, workers=2, chunk_size=3, progress=False,
                  mp_context=multiprocessing.get_context(start_method))
    assert s.n_worker_crashes >= 1
    assert (s.n_ok, s.n_error) == (15, 1)
    rows = {r["id"]: r for r in read_summary(out)}
    assert rows["killer"]["status"] == "error"
    assert "worker process died" in rows["killer"]["error"]
    for it in items:
        if it.id != "killer":
            assert rows[it.id]["status"] == "ok" and rows[it.id]["square"] == it.value**2


def test_dask_local_cluster_matches_local_processes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    items = h.make_items(40)
    items[7] = h.Item("corrupt", 1.0, fail="raise")
    ref = tmp_path / "local.h5"
    run_batch(items, h.square, ref, workers=2, progress=False)
    chain_ref = tmp_path / "chain_local.h5"
    run_batch(items, h.chain, chain_ref, workers=1, warm_start=True, chunk_size=8, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            out = tmp_path / "dask.h5"
            s = run_batch(items, h.square, out, scheduler=client, chunk_size=8, progress=False)
            assert (s.backend, s.workers, s.n_ok, s.n_error) == ("dask", 2, 39, 1)
            assert _comparable(out) == _comparable(ref)
            # by address, with warm start
            chain = tmp_path / "chain_dask.h5"
            run_batch(items, h.chain, chain, scheduler=cluster.scheduler_address,
                      warm_start=True, chunk_size=8, progress=False)
            assert _comparable(chain) == _comparable(chain_ref)


def test_dask_worker_death_keeps_the_warm_start_chain(tmp_path: Path) -> None:
    """A task whose item kills the Dask worker is re-run item by item, each warm-started from
    the one before: the same chain as everywhere else, the killer recorded as an error."""
    distributed = pytest.importorskip("distributed")
    import dask

    items = h.make_items(14)
    items[8] = h.Item("killer", 1.0, fail="exit", path="/entry8")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        out = tmp_path / "dask.h5"
        s = run_batch(items, h.chain, out, scheduler=client, warm_start=True, chain_length=6,
                      chunk_size=6, progress=False)
    assert s.n_worker_crashes >= 1 and (s.n_ok, s.n_error) == (13, 1)
    _check_chain(out, items, starts={0, 6, 12}, skip=frozenset({8}))
    assert "Dask" in read_summary(out)[8]["error"]


def test_progress_bar_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = h.make_items(5)
    run_batch(items, h.square, tmp_path / "a.h5", workers=1, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "item/s" in err
    run_batch(items, h.square, tmp_path / "b.h5", workers=1)  # stderr is not a TTY here
    assert capsys.readouterr().err == ""


def test_arguments_are_checked(tmp_path: Path) -> None:
    items = h.make_items(3)
    dup = [items[0], items[1], items[0]]
    with pytest.raises(InputError, match="unique.*scan_0000"):
        run_batch(dup, h.square, tmp_path / "r.h5", workers=1)
    with pytest.raises(InputError, match="no 'id' or 'spec' attribute"):
        run_batch([1.0, 2.0], h.noop, tmp_path / "r.h5", workers=1)
    with pytest.raises(InputError, match="workers"):
        run_batch(items, h.square, tmp_path / "r.h5", workers=0)
    with pytest.raises(InputError, match="chunk_size"):
        run_batch(items, h.square, tmp_path / "r.h5", workers=2, chunk_size=0)
    with pytest.raises(InputError, match="scheduler"):
        run_batch(items, h.square, tmp_path / "r.h5", scheduler="localhost")
    with pytest.raises(InputError, match="does not exist"):
        run_batch(items, h.square, tmp_path / "nodir" / "r.h5", workers=1)
    with pytest.raises(InputError, match="cannot be sent to worker processes"):
        run_batch(items, lambda it: h.square(it), tmp_path / "r.h5", workers=2)
    assert not list(tmp_path.iterdir()), "a refused batch left files behind"
    ok = run_batch([1.0, 2.0], h.noop, tmp_path / "r.h5", workers=1, item_id=lambda x: f"v{x}",
                   progress=False)
    assert ok.n_ok == 2
    with pytest.raises(BatchError):
        run_batch([1.0], h.noop, tmp_path / "r.h5", workers=1, item_id=str)


def test_resume_runs_only_the_missing_items(tmp_path: Path) -> None:
    items = h.make_items(10)
    out = tmp_path / "r.h5"
    run_batch(items[:4], h.square, out, workers=1, progress=False)
    s = run_batch(items, h.square, out, workers=2, resume=True, progress=False)
    assert (s.n_skipped, s.n_run) == (4, 6)
    _assert_squares(out, items)


def test_scanrefs_from_the_hdf5_reader_work_as_items(tmp_path: Path) -> None:
    """The engine's defaults fit xrdkit.hdf5.ScanRef (picklable, id/source from ``spec``)."""
    hdf5 = pytest.importorskip("xrdkit.hdf5")
    refs = [hdf5.ScanRef(file=f"f{i % 2}.h5", path="/stack/data", index=i, layout="stack",
                         signal_path="/stack/data", axis_path="/stack/tth") for i in range(6)]
    out = tmp_path / "r.h5"
    s = run_batch(refs, h.noop, out, workers=2, progress=False)
    assert s.n_ok == 6
    rows = read_summary(out)
    assert [r["id"] for r in rows] == [f"f{i % 2}.h5::/stack/data[{i}]" for i in range(6)]
    assert [r["source"] for r in rows] == [r["id"] for r in rows]


def test_default_item_source() -> None:
    assert default_item_source(h.Item("a", 1.0)) == "synthetic.h5::/entry"
    assert default_item_source("x") == ""

    class Ref:
        file, path, index = "f.h5", "/stack/data", 7

    assert default_item_source(Ref()) == "f.h5::/stack/data[7]"
    assert isinstance(h.noop(None), ItemResult)


def test_interrupted_batch_keeps_results_and_resumes(tmp_path: Path) -> None:
    items = h.make_items(8)
    out = tmp_path / "r.h5"
    with pytest.raises(KeyboardInterrupt):
        run_batch(items, h.interrupt_at_five, out, workers=1, progress=False)
    assert [r["id"] for r in read_summary(out)] == [it.id for it in items[:5]]  # consolidated
    assert out.with_name("r.h5.parts").exists()  # journal kept for the resume
    s = run_batch(items, h.square, out, workers=2, resume=True, progress=False)
    assert (s.n_skipped, s.n_run) == (5, 3)
    rows = read_summary(out)
    assert [r["id"] for r in rows] == [it.id for it in items]
    assert [r["square"] for r in rows[5:]] == [it.value**2 for it in items[5:]]


#: pids of the processes where _warm ran (this module's state, inherited by forked workers).
_WARMED_IN: list[int] = []


def _warm(item: str) -> None:
    if item == "fail":
        raise RuntimeError("warm-up failed")
    _WARMED_IN.append(os.getpid())


def _who_warmed(item: str) -> ItemResult:
    return ItemResult(scalars={"warmed_in": float(_WARMED_IN[-1]) if _WARMED_IN else -1.0,
                               "worker": float(os.getpid())})


_who_warmed.warm_up = _warm  # type: ignore[attr-defined]


def test_warm_up_runs_once_in_the_parent_before_forking(tmp_path: Path) -> None:
    _WARMED_IN.clear()
    items = [f"i{k}" for k in range(6)]
    s = run_batch(items, _who_warmed, tmp_path / "fork.h5", workers=2, item_id=str,
                  mp_context="fork", progress=False)
    assert s.n_ok == 6 and _WARMED_IN == [os.getpid()]  # once, here
    rows = read_summary(tmp_path / "fork.h5")
    assert {r["warmed_in"] for r in rows} == {float(os.getpid())}  # inherited by the workers
    assert all(r["worker"] != float(os.getpid()) for r in rows)

    _WARMED_IN.clear()  # in-process: nothing to inherit, no warm-up
    run_batch(items, _who_warmed, tmp_path / "inline.h5", workers=1, item_id=str, progress=False)
    assert _WARMED_IN == []

    # a failing warm-up is not the batch's failure
    s = run_batch(["fail", "x"], _who_warmed, tmp_path / "fail.h5", workers=2, item_id=str,
                  mp_context="fork", progress=False)
    assert s.n_ok == 2
