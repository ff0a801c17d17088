"""A scan whose analysis never ends is recorded as an error and the batch goes on.

``run_batch(item_timeout_s=…)`` (default 600 s, or ``CLOSOKIT_ITEM_TIMEOUT_S``): the
analysis is interrupted by SIGALRM in this process and in local workers; a worker stuck where
no signal gets in (compiled code that never returns, simulated by blocking SIGALRM) is killed
by the parent, and the items in flight are re-run one at a time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import _batch_helpers as h
import pytest

from xrdkit import batch
from xrdkit.batch import run_batch
from xrdkit.errors import InputError
from xrdkit.results import read_summary

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM and fork are POSIX")


def _rows(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in read_summary(out)}


@pytest.mark.parametrize("workers", [1, 2])
def test_an_item_that_never_ends_is_an_error_and_the_batch_goes_on(tmp_path: Path, workers: int) -> None:
    items = h.make_items(8)
    items[2] = h.Item("endless", 1.0, fail="hang")
    out = tmp_path / "r.h5"
    t0 = time.perf_counter()
    s = run_batch(items, h.square, out, workers=workers, chunk_size=4, progress=False, item_timeout_s=0.5)
    assert time.perf_counter() - t0 < h.HANG_S  # interrupted, not waited for
    assert (s.n_ok, s.n_error) == (7, 1)
    rows = _rows(out)
    assert rows["endless"]["status"] == "error"
    assert rows["endless"]["error"].startswith("ItemTimeout: analysis did not finish within 0.5 s")
    for it in items:
        if not it.fail:
            assert rows[it.id]["status"] == "ok" and rows[it.id]["square"] == it.value**2


def test_a_worker_stuck_where_no_signal_gets_in_is_killed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(batch, "ITEM_KILL_GRACE_S", 1.0)
    items = h.make_items(10)
    items[3] = h.Item("stuck", 1.0, fail="hang_blocked")
    out = tmp_path / "r.h5"
    t0 = time.perf_counter()
    s = run_batch(items, h.square, out, workers=2, chunk_size=2, progress=False, item_timeout_s=0.5)
    assert time.perf_counter() - t0 < 2 * h.HANG_S
    assert (s.n_ok, s.n_error) == (9, 1)
    assert s.n_worker_crashes >= 1
    rows = _rows(out)
    assert rows["stuck"]["status"] == "error"
    assert "did not finish within 0.5 s" in rows["stuck"]["error"]
    assert "worker process was killed" in rows["stuck"]["error"]
    for it in items:
        if not it.fail:
            assert rows[it.id]["square"] == it.value**2


def test_the_timeout_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    items = [h.Item("slow", 1.0, delay_s=2.0), h.Item("fast", 2.0)]
    monkeypatch.setenv(batch.ITEM_TIMEOUT_ENV, "0.3")
    s = run_batch(items, h.square, tmp_path / "r.h5", workers=1, progress=False)
    assert (s.n_ok, s.n_error) == (1, 1)
    assert "within 0.3 s" in _rows(tmp_path / "r.h5")["slow"]["error"]
    # without a limit (and under the default) the slow item is fine
    s = run_batch(items, h.square, tmp_path / "r2.h5", workers=1, progress=False, item_timeout_s=float("inf"))
    assert (s.n_ok, s.n_error) == (2, 0)
    monkeypatch.setenv(batch.ITEM_TIMEOUT_ENV, "soon")
    with pytest.raises(InputError, match="CLOSOKIT_ITEM_TIMEOUT_S"):
        run_batch(items, h.square, tmp_path / "r3.h5", workers=1, progress=False)


@pytest.mark.parametrize("bad", [0, -1.0, "10"])
def test_a_bad_timeout_is_refused(tmp_path: Path, bad) -> None:
    with pytest.raises(InputError, match="item_timeout_s"):
        run_batch(h.make_items(2), h.square, tmp_path / "r.h5", workers=1, progress=False, item_timeout_s=bad)


def test_the_timer_is_cleared_after_every_item(tmp_path: Path) -> None:
    import signal

    handler = signal.getsignal(signal.SIGALRM)
    run_batch(h.make_items(3), h.square, tmp_path / "r.h5", workers=1, progress=False, item_timeout_s=5.0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler


def _in_a_thread(fn) -> dict:
    """Run ``fn`` in a non-main thread (as a Dask worker runs tasks); what it raised or returned."""
    import threading

    out: dict = {}

    def body() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            out["raised"] = exc

    t = threading.Thread(target=body)
    t.start()
    t.join(timeout=2 * h.HANG_S)
    assert not t.is_alive()
    return out


def test_the_deadline_interrupts_a_thread_that_is_not_the_main_one() -> None:
    def endless() -> str:
        with batch._deadline(0.3):
            t_end = time.monotonic() + h.HANG_S
            while time.monotonic() < t_end:
                try:
                    time.sleep(0.05)
                except Exception:  # the analysis swallowing errors cannot swallow the timeout
                    pass
        return "ran to the end"

    t0 = time.perf_counter()
    out = _in_a_thread(endless)
    assert time.perf_counter() - t0 < 5.0
    assert isinstance(out.get("raised"), batch.ItemTimeout)
    assert str(out["raised"]).startswith("analysis did not finish within 0.3 s")


def test_a_deadline_that_was_met_never_fires_later() -> None:
    def quick_then_wait() -> str:
        with batch._deadline(0.2):
            pass
        time.sleep(0.6)  # well past the deadline: nothing may arrive now
        return "done"

    assert _in_a_thread(quick_then_wait) == {"value": "done"}


def test_an_item_that_never_ends_on_a_dask_cluster_is_an_error(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    items = h.make_items(8)
    items[5] = h.Item("endless", 1.0, fail="hang")
    out = tmp_path / "r.h5"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        t0 = time.perf_counter()
        s = run_batch(items, h.square, out, scheduler=client, chunk_size=4, progress=False,
                      item_timeout_s=1.0)
        assert time.perf_counter() - t0 < h.HANG_S  # interrupted, not waited for
    assert (s.backend, s.n_ok, s.n_error) == ("dask", 7, 1)
    rows = _rows(out)
    assert rows["endless"]["error"].startswith("ItemTimeout: analysis did not finish within 1 s")
    for it in items:
        if not it.fail:
            assert rows[it.id]["status"] == "ok" and rows[it.id]["square"] == it.value**2
