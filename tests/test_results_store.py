"""The durable results store: kill -9 / resume, reading while writing, torn journals, CSV, layout.

Independent checks: the files are opened with plain h5py and the csv module, values are
compared with what the test computes itself (value² of seeded numbers), and completeness is
judged from a log the analysis writes as it starts each item (not from the store).
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import _batch_helpers as h
import h5py
import numpy as np
import pytest

from xrdkit.batch import run_batch
from xrdkit.errors import BatchError, InputError
from xrdkit.results import (
    ItemRecord,
    ItemResult,
    ResultsStore,
    completed_ids,
    read_item,
    read_summary,
    write_table_csv,
)

HELPER = Path(__file__).with_name("_batch_helpers.py")


def _stored_array(f: h5py.File, name: str, array: str) -> np.ndarray:
    """An item's array read with plain h5py: the group's record gives the row and the shape."""
    rec = json.loads(f["scans"][name].attrs["record"])
    spec = rec["arrays"][array]
    flat = f["arrays"][spec["dataset"]][rec["row"], : math.prod(spec["shape"])]
    return flat.reshape(spec["shape"])


def _check_clean(out: Path, n_items: int) -> set[str]:
    """Open the consolidated file with plain h5py; groups and summary must agree."""
    if not out.exists():
        return set()
    with h5py.File(out, "r") as f:
        assert f.attrs["format"] == "closokit-results"
        ids = [s.decode() for s in f["summary/id"][:]] if "summary" in f else []
        assert len(ids) == len(set(ids)), "an item appears twice in the summary"
        assert len(ids) == len(f["scans"]) if "scans" in f else not ids
        for col in f["summary"].attrs.get("columns", []):
            assert f["summary"][col].shape == (len(ids),)
        rows = f["summary/row"][:] if ids else []
        assert len(set(rows)) == len(ids), "two items share a row of /arrays"
        for name in f["scans"]:
            rec = json.loads(f["scans"][name].attrs["record"])
            if rec["status"] == "ok":
                x = _stored_array(f, name, "x")
                assert x.shape == (5,) and np.isfinite(x).all()
    assert len(ids) <= n_items
    return set(ids)


def _parse_runlog(path: Path) -> dict[int, list[str]]:
    starts: dict[int, list[str]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            pid, item_id = line.split(" ", 1)
            starts.setdefault(int(pid), []).append(item_id)
    return starts


def _start(out: Path, n_items: int, extra: list[str], env: dict[str, str], errlog: Path
           ) -> subprocess.Popen[bytes]:
    """Start the batch script; return once it has opened its results store (imports done)."""
    parts = out.with_name(out.name + ".parts")
    before = len(list(parts.glob("journal-*.log"))) if parts.exists() else 0
    cmd = [sys.executable, str(HELPER), str(out), str(n_items), *extra, *KILL_CMD]
    with open(errlog, "wb") as err_fh:  # a file, not a pipe: never blocks on orphans
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err_fh)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.exists() and len(list(parts.glob("journal-*.log"))) > before:
            break
        time.sleep(0.005)
    return proc


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (Linux /proc; empty elsewhere)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


KILL_CMD = ["--workers", "2", "--delay", "0.02", "--consolidate", "0.05"]
#: Kills per episode before the batch is allowed to finish (so a slow machine still ends).
KILLS_PER_EPISODE = 6


def test_kill9_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    """SIGKILL the batch at seeded random moments, ≥ 10 times, resuming each time."""
    rng = np.random.default_rng(20261125)
    n_items = 120
    expected = {it.id: it.value**2 for it in h.make_items(n_items)}
    # Time the working part of an uninterrupted run (after start-up) to place the kills.
    timing = tmp_path / "timing.h5"
    proc = _start(timing, n_items, [], dict(os.environ), tmp_path / "timing.err")
    t0 = time.perf_counter()
    assert proc.wait(timeout=120) == 0
    t_work = time.perf_counter() - t0
    kills = progressed = mid_consolidation = 0
    episode = 0
    while kills < 10:
        episode += 1
        out = tmp_path / f"ep{episode}" / "RESULTS.h5"
        out.parent.mkdir()
        runlog = out.parent / "runlog.txt"
        env = dict(os.environ, **{h.RUNLOG_ENV: str(runlog)})
        done_before: set[str] = set()
        for attempt in range(KILLS_PER_EPISODE + 1):
            errlog = out.parent / "stderr.txt"
            proc = _start(out, n_items, ["--resume"], env, errlog)
            if attempt < KILLS_PER_EPISODE:
                time.sleep(rng.uniform(0.02, 0.35) * t_work)
            killed = proc.poll() is None and attempt < KILLS_PER_EPISODE
            if killed:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(timeout=120)
            mid_consolidation += bool(list(out.parent.glob("*.tmp-*")))  # killed while writing it
            if not killed:
                assert proc.returncode == 0, errlog.read_text()[-2000:]
            in_file = _check_clean(out, n_items)  # never corrupt, whatever the kill point
            done_now = set(completed_ids(out))
            assert in_file <= done_now
            assert done_before <= done_now, "a completed item was lost"
            # Items completed before this run were never started again by it.
            starts = _parse_runlog(runlog).get(proc.pid, [])
            assert not (set(starts) & done_before), "a completed item was repeated"
            progressed += killed and len(done_now) > len(done_before)
            done_before = done_now
            if not killed:
                break
        rows = read_summary(out)
        assert sorted(r["id"] for r in rows) == sorted(expected)  # each exactly once
        assert [r["index"] for r in rows] == list(range(n_items))  # item order at the end
        for r in rows:
            assert r["status"] == "ok"
            assert r["square"] == pytest.approx(expected[r["id"]], rel=1e-15)
        with h5py.File(out, "r") as f:
            assert bool(f.attrs["complete"])
        assert not out.with_name(out.name + ".parts").exists(), "journal left after completion"
        assert not list(out.parent.glob("*.tmp-*"))
    # Pool workers of killed batches exit by themselves (no orphans left running).
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(str(tmp_path)), "orphaned worker processes remain"
    print(f"{kills} kills in {episode} episodes; {progressed} after progress, "
          f"{mid_consolidation} during a consolidation")
    assert kills >= 10
    assert progressed >= 5, f"only {progressed} of {kills} kills landed after some progress"


def test_reading_while_a_batch_writes(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.h5"
    cmd = [sys.executable, str(HELPER), str(out), "60", "--workers", "2", "--delay", "0.03",
           "--consolidate", "0.05"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[int] = []
    try:
        while proc.poll() is None:
            if out.exists():
                rows = read_summary(out)  # must never fail mid-batch
                seen.append(len(rows))
                with h5py.File(out, "r") as f:  # a reader holding the file open keeps its snapshot
                    n = len(f["scans"])
                    time.sleep(0.02)
                    assert len(f["scans"]) == n
            time.sleep(0.01)
    finally:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert seen == sorted(seen), "the table shrank while being written"
    assert len(set(seen)) >= 2, f"never saw intermediate states: {seen}"
    assert len(read_summary(out)) == 60


def _record(i: int, **kw: object) -> ItemRecord:
    base = dict(item_id=f"it{i}", index=i, source="s", status="ok", scalars={"v": float(i)},
                arrays={"a": np.arange(i + 1, dtype=float)})
    base.update(kw)
    return ItemRecord(**base)  # type: ignore[arg-type]


def test_torn_journal_record_is_ignored_and_item_rerun(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    store = ResultsStore(out, consolidate_every_s=1e9)
    store.open()
    for i in range(3):
        store.append(_record(i))
    store.close()  # "killed": no consolidation; the journal holds 3 records
    seg = sorted(out.with_name("R.h5.parts").glob("journal-*.log"))[0]
    data = seg.read_bytes()
    seg.write_bytes(data[:-7])  # tear the last record, as a kill inside write() would
    assert completed_ids(out) == {"it0", "it1"}
    store = ResultsStore(out, resume=True)
    with store:
        assert store.done_ids == {"it0", "it1"}
        store.append(_record(2))
        store.n_items_expected = 3
        store.finalize()
    rows = read_summary(out)
    assert [r["id"] for r in rows] == ["it0", "it1", "it2"]
    np.testing.assert_array_equal(read_item(out, "it2").arrays["a"], [0.0, 1.0, 2.0])


def test_consolidation_drops_the_journal_segments_it_covers(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    parts = out.with_name("R.h5.parts")
    store = ResultsStore(out, consolidate_every_s=1e9)
    store.open()
    for i in range(3):
        store.append(_record(i))
    before = set(parts.glob("journal-*.log"))
    store.consolidate()  # it0–it2 now in the fsynced RESULTS.h5: their segment goes
    store.append(_record(3))
    segments = set(parts.glob("journal-*.log"))
    assert len(segments) == 1 and not segments & before  # a new segment, holding it3 only
    store.close()  # "killed": no final consolidation
    assert [r["id"] for r in read_summary(out)] == ["it0", "it1", "it2"]
    assert completed_ids(out) == {"it0", "it1", "it2", "it3"}
    with ResultsStore(out, resume=True) as store:
        assert store.done_ids == {"it0", "it1", "it2", "it3"}
        store.n_items_expected = 4
        store.finalize()
    assert [r["id"] for r in read_summary(out)] == ["it0", "it1", "it2", "it3"]
    for i in range(4):
        np.testing.assert_array_equal(read_item(out, f"it{i}").arrays["a"], np.arange(i + 1.0))
    assert not parts.exists()


def _sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "closokit-results-sync"]


def test_no_background_thread_outlives_the_store(tmp_path: Path) -> None:
    before = _sync_threads()
    run_batch(h.make_items(5), h.square, tmp_path / "a.h5", workers=1, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_batch(h.make_items(8), h.interrupt_at_five, tmp_path / "b.h5", workers=1,
                  progress=False)
    store = ResultsStore(tmp_path / "c.h5")
    store.open()
    assert len(_sync_threads()) == len(before) + 1
    store.append(_record(0))
    store.close()  # no final consolidation
    assert _sync_threads() == before


def test_flipped_byte_fails_the_checksum(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    store = ResultsStore(out)
    store.open()
    store.append(_record(0))
    store.append(_record(1))
    store.close()
    seg = sorted(out.with_name("R.h5.parts").glob("journal-*.log"))[0]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF  # inside the last record's array bytes
    seg.write_bytes(bytes(data))
    assert completed_ids(out) == {"it0"}


def test_existing_results_need_resume_or_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    items = h.make_items(4)
    run_batch(items, h.square, out, workers=1, progress=False)
    with pytest.raises(BatchError, match="resume"):
        run_batch(items, h.square, out, workers=1, progress=False)
    again = run_batch(items, h.square, out, workers=1, progress=False, resume=True)
    assert (again.n_run, again.n_skipped) == (0, 4)
    fresh = run_batch(items[:2], h.square, out, workers=1, progress=False, overwrite=True)
    assert fresh.n_run == 2 and len(read_summary(out)) == 2


def test_second_writer_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    with ResultsStore(out):
        with pytest.raises(BatchError, match="another batch"):
            ResultsStore(out, resume=True).open()


def test_layout_kinds_and_item_order(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    with ResultsStore(out, config={"cmd": "xrdkit batch", "phases": ["NBH"]}) as store:
        store.n_items_expected = 4
        # completion order 3, 1, 0, 2; mixed kinds; a str/number clash in column "mixed"
        store.append(_record(3, scalars={"n": 3, "flag": True, "mixed": 1.5}))
        store.append(_record(1, scalars={"n": 1, "flag": False, "mixed": "text"},
                             warnings=("w1", "w2")))
        store.consolidate()
        store.append(_record(0, status="error", error="ValueError: bad", scalars={}, arrays={}))
        store.append(_record(2, scalars={"n": 2.5, "extra": "late column"}))
        store.finalize()
    rows = read_summary(out)
    assert [r["id"] for r in rows] == ["it0", "it1", "it2", "it3"]
    by = {r["id"]: r for r in rows}
    assert by["it3"]["flag"] is True and by["it1"]["flag"] is False and by["it0"]["flag"] is None
    assert by["it3"]["n"] == 3.0 and by["it2"]["n"] == 2.5  # int column widened to float
    assert by["it1"]["mixed"] is None  # clash left blank in the table …
    assert read_item(out, "it1").scalars["mixed"] == "text"  # … but kept in the item
    assert by["it0"]["status"] == "error" and by["it0"]["error"] == "ValueError: bad"
    assert by["it1"]["warnings"] == "w1 | w2" and by["it1"]["n_warnings"] == 2
    assert by["it3"]["extra"] is None and by["it2"]["extra"] == "late column"
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["config_json"]) == {"cmd": "xrdkit batch", "phases": ["NBH"]}
        assert f.attrs["closokit_version"] and f.attrs["created"]
        assert bool(f.attrs["complete"]) and f.attrs["n_items"] == 4
        assert set(f["scans"]) == {"it0", "it1", "it2", "it3"}
        assert json.loads(f["scans/it3"].attrs["record"])["status"] == "ok"
        np.testing.assert_array_equal(_stored_array(f, "it3", "a"), np.arange(4.0))
        assert f["summary/n"].attrs["kind"] == "float"
        # One stacked dataset per array name; row i is item i, padded with NaN; the error
        # item (it0) has no arrays, so its row stays NaN.
        stack = f["arrays/a"][:]
        assert stack.shape == (4, 4) and stack.dtype == np.float32
        np.testing.assert_array_equal(stack[1:], [[0, 1, np.nan, np.nan], [0, 1, 2, np.nan],
                                                  [0, 1, 2, 3]])
        assert np.isnan(stack[0]).all()
        assert list(f["summary/row"][:]) == [0, 1, 2, 3]


def test_csv_table_columns(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    items = h.make_items(6)
    items[2] = h.Item("broken", 0.0, fail="raise")
    run_batch(items, h.square, out, workers=1, progress=False)
    table = tmp_path / "R.csv"
    header = write_table_csv(out, table, ["scan", "status", "square", "verdict", "error"],
                             rename={"id": "scan"})
    with open(table, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == header
    assert header[:5] == ["scan", "status", "square", "verdict", "error"]
    assert {"value", "label", "elapsed_s", "source"} <= set(header)
    assert len(rows) == 7
    for item, row in zip(items, rows[1:], strict=True):
        rec = dict(zip(header, row, strict=True))
        assert rec["scan"] == item.id and rec["verdict"] == ""  # unknown column: blank
        if item.id == "broken":
            assert rec["status"] == "error" and rec["square"] == ""
            assert rec["error"].startswith("ValueError: corrupt item broken")
        else:
            assert rec["status"] == "ok" and rec["error"] == ""
            assert math.isclose(float(rec["square"]), item.value**2, rel_tol=1e-15)


def test_readers_reject_bad_files(tmp_path: Path) -> None:
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("hello")
    with pytest.raises(InputError, match="x.h5"):
        read_summary(not_h5)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(InputError, match="not a closokit results file"):
        read_summary(foreign)
    with pytest.raises(InputError, match="does not exist"):
        read_item(tmp_path / "missing.h5", "a")
    out = tmp_path / "R.h5"
    run_batch(h.make_items(2), h.square, out, workers=1, progress=False)
    with pytest.raises(InputError, match="no item 'nope'"):
        read_item(out, "nope")


def test_item_result_validates_and_copies() -> None:
    arr = np.arange(3.0)
    res = ItemResult(scalars={"a": np.float64(1.5), "k": np.int64(2)}, arrays={"y": arr})
    arr[0] = 99.0
    assert res.arrays["y"][0] == 0.0  # the caller's array is not aliased
    assert type(res.scalars["a"]) is float and type(res.scalars["k"]) is int
    with pytest.raises(ValueError):
        res.arrays["y"][0] = 1.0  # read-only
    with pytest.raises(InputError, match="reserved"):
        ItemResult(scalars={"status": "x"})
    with pytest.raises(InputError, match="'/'"):
        ItemResult(arrays={"a/b": np.zeros(2)})
    with pytest.raises(InputError, match="numeric"):
        ItemResult(arrays={"s": np.array(["a", "b"])})
    with pytest.raises(InputError, match="bool, int, float, str or None"):
        ItemResult(scalars={"l": [1, 2]})


@pytest.mark.parametrize("float32", [True, False])
def test_arrays_round_trip_dtype_and_shape(tmp_path: Path, float32: bool) -> None:
    arrays = {
        "bool": np.array([True, False]),
        "int32": np.arange(3, dtype=np.int32),
        "scalar": np.array(2.5),
        "empty": np.zeros(0),
        "strided": np.arange(6.0).reshape(2, 3)[:, ::2],  # not C-contiguous
        "uint8": np.arange(4, dtype=np.uint8),
        "nan": np.array([np.nan, np.inf, -1.0]),
    }
    out = tmp_path / "R.h5"
    item_id = "scan_é/1 %2F"  # non-ASCII, a slash and a literal escape sequence
    with ResultsStore(out, float32_arrays=float32) as store:
        store.n_items_expected = 2
        store.append(ItemRecord(item_id, 0, "src", "ok", arrays=ItemResult(arrays=arrays).arrays))
        store.append(ItemRecord("scan_é%2F1 %2F", 1, "src", "ok"))  # must not collide
        store.finalize()
    got = read_item(out, item_id)
    assert got.item_id == item_id
    for name, arr in arrays.items():
        # float64 is stored as float32 unless asked otherwise; other dtypes are kept
        want = arr.astype(np.float32) if float32 and arr.dtype == np.float64 else arr
        assert got.arrays[name].dtype == want.dtype and got.arrays[name].shape == arr.shape, name
        np.testing.assert_array_equal(got.arrays[name], want)
    with h5py.File(out, "r") as f:  # plain h5py reaches the same values from the item's group
        assert len(f["scans"]) == 2
        np.testing.assert_array_equal(_stored_array(f, "scan_é%2F1 %252F", "strided"),
                                      [[0.0, 2.0], [3.0, 5.0]])
        assert f["arrays/strided"].dtype == (np.float32 if float32 else np.float64)


def test_mixed_dtypes_lengths_and_a_changed_item_list(tmp_path: Path) -> None:
    """Arrays of one name with other dtypes/lengths, and a resume whose item list moved an
    index onto a row that is taken: every item reads back exactly."""
    out = tmp_path / "R.h5"
    c_int32 = np.array([1, -2, 3], dtype=np.int32)
    c_int16 = np.array([7, 8, 9, 10, 11, 12], dtype=np.int16)  # longer; fits int32 safely
    c_float = np.array([0.5, 1.5], dtype=np.float32)  # does not fit int32: its own stack
    c_wide = np.arange(40, dtype=np.int32)  # > 4× the stack's chunk width: its own stack
    with ResultsStore(out) as store:
        store.n_items_expected = 3
        store.append(ItemRecord("a", 0, "s", "ok", arrays={"c": c_int32}))
        store.append(ItemRecord("b", 1, "s", "ok", arrays={"c": c_int16}))
        store.append(ItemRecord("c", 2, "s", "ok", arrays={"c": c_float}))
        store.consolidate()  # the stack "c" exists (chunks 6 wide) before "e" arrives
        store.append(ItemRecord("e", 3, "s", "ok", arrays={"c": c_wide}))
        store.finalize()
    with ResultsStore(out, resume=True) as store:  # another list: "d" is now item 0
        store.n_items_expected = 1
        store.append(ItemRecord("d", 0, "s", "ok", arrays={"c": np.array([4, 5], np.int32)}))
        store.finalize()
    expected = {"a": c_int32, "b": c_int16, "c": c_float, "d": np.array([4, 5], np.int32),
                "e": c_wide}
    for item_id, want in expected.items():
        got = read_item(out, item_id).arrays["c"]
        assert got.dtype == want.dtype, item_id
        np.testing.assert_array_equal(got, want)
    with h5py.File(out, "r") as f:
        assert sorted(f["arrays"]) == ["c", "c@2", "c@3"]
        assert f["arrays/c"].dtype == np.int32 and f["arrays/c"].shape == (5, 6)
        np.testing.assert_array_equal(f["arrays/c"][0], [1, -2, 3, 0, 0, 0])  # 0-padded
        assert f["arrays/c@2"].dtype == np.float32 and f["arrays/c@3"].shape == (4, 40)
        rows = dict(zip([s.decode() for s in f["summary/id"][:]], f["summary/row"][:],
                        strict=True))
        assert rows == {"a": 0, "b": 1, "c": 2, "e": 3, "d": 4}  # row 0 was taken by "a"


def test_stack_rows_exact_whatever_the_completion_order(tmp_path: Path) -> None:
    """Items arrive as from two workers plus a gap, in blocks that end mid-chunk: chunks a
    block covers entirely are written directly, the others merged; every row is exact."""
    rng = np.random.default_rng(7)
    n, width = 45, 4096
    data = rng.normal(size=(n, width)).astype(np.float32)
    order = [*range(0, 21), *range(30, 45), *range(21, 30)]
    out = tmp_path / "R.h5"
    with ResultsStore(out) as store:
        store.n_items_expected = n
        for k, i in enumerate(order):
            store.append(ItemRecord(f"i{i}", i, "s", "ok", arrays={"y": data[i]}))
            if k in (24, 36):
                store.consolidate()  # writes the buffered items: a block boundary
        store.finalize()
    with h5py.File(out, "r") as f:
        chunk_rows = f["arrays/y"].chunks[0]
        assert 1 < chunk_rows <= 10  # so the first block holds two whole chunks
        np.testing.assert_array_equal(f["arrays/y"][:], data)


def test_format_1_files_are_still_read(tmp_path: Path) -> None:
    """A file written by the previous layout (one dataset per array in the item's group)."""
    out = tmp_path / "old.h5"
    record = {"id": "s1", "index": 0, "source": "f.h5::/s1", "status": "ok", "error": "",
              "elapsed_s": 0.5, "warnings": ["w"], "scalars": {"rwp": 0.1}, "traceback": ""}
    with h5py.File(out, "w") as f:
        f.attrs.update({"format": "closokit-results", "format_version": 1})
        g = f.create_group("scans/s1")
        g.attrs["record"] = json.dumps(record)
        g["calculated"] = np.arange(4.0)
        summary = f.create_group("summary")  # resizable columns, as format 1 wrote them
        for name, kind, value in (("id", "str", "s1"), ("index", "int", 0.0),
                                  ("status", "str", "ok"), ("rwp", "float", 0.1)):
            dtype = h5py.string_dtype() if kind == "str" else "f8"
            ds = summary.create_dataset(name, data=np.array([value], dtype=dtype),
                                        maxshape=(None,), chunks=(1024,))
            ds.attrs["kind"] = kind
        summary.attrs["columns"] = ["id", "index", "status", "rwp"]
    got = read_item(out, "s1")
    assert got.scalars == {"rwp": 0.1} and got.warnings == ("w",)
    np.testing.assert_array_equal(got.arrays["calculated"], np.arange(4.0))
    assert got.arrays["calculated"].dtype == np.float64
    with ResultsStore(out, resume=True) as store:  # resuming onto it adds format-2 items
        assert store.done_ids == {"s1"}
        store.n_items_expected = 2
        store.append(ItemRecord("s2", 1, "f.h5::/s2", "ok", arrays={"calculated": np.ones(3)}))
        store.finalize()
    assert sorted(r["id"] for r in read_summary(out)) == ["s1", "s2"]
    np.testing.assert_array_equal(read_item(out, "s1").arrays["calculated"], np.arange(4.0))
    np.testing.assert_array_equal(read_item(out, "s2").arrays["calculated"], np.ones(3))


def test_leftover_from_a_killed_consolidation_is_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    with ResultsStore(out) as store:
        store.append(_record(0))
        store.consolidate()
        store.append(_record(1))
    before = out.read_bytes()
    (tmp_path / "R.h5.tmp-99999").write_bytes(before[: len(before) // 2])  # half-written copy
    assert [r["id"] for r in read_summary(out)] == ["it0"]  # the real file is untouched
    assert completed_ids(out) == {"it0", "it1"}  # it1 is in the journal only
    with ResultsStore(out, resume=True) as store:
        assert not (tmp_path / "R.h5.tmp-99999").exists()
        store.n_items_expected = 2
        store.finalize()
    assert [r["id"] for r in read_summary(out)] == ["it0", "it1"]


def test_resume_onto_a_foreign_file_is_refused_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "data.h5"
    with h5py.File(out, "w") as f:
        f["counts"] = np.arange(3)
    before = out.read_bytes()
    for _ in range(2):  # the second attempt proves the writer lock was released
        with pytest.raises(InputError, match="not a closokit results file"):
            run_batch(h.make_items(2), h.square, out, workers=1, resume=True)
    assert out.read_bytes() == before  # the user's file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["data.h5"]


def test_none_scalars_are_missing_values_and_enums_their_value(tmp_path: Path) -> None:
    """None → NaN (numeric) / "" (str) / empty CSV cell; an all-None column takes the kind of
    its first real value, also across a resume; an Enum scalar is stored as its value."""
    import enum

    class Colour(enum.StrEnum):
        RED = "red-ish"

    res = ItemResult(scalars={"c": Colour.RED, "p": None})
    assert type(res.scalars["c"]) is str and res.scalars["c"] == "red-ish" and res.scalars["p"] is None
    out = tmp_path / "R.h5"
    with ResultsStore(out) as store:
        store.append(_record(0, scalars={"p": None, "label": None, "later_int": None}))
        store.append(_record(1, scalars={"p": 0.25, "label": None, "later_int": None}))
        store.consolidate()
    with h5py.File(out, "r") as f:
        assert f["summary/label"].attrs["kind"] == "float" and bool(f["summary/label"].attrs["untyped"])
        assert np.isnan(f["summary/label"][:]).all()
    with ResultsStore(out, resume=True) as store:  # a later session types the untyped columns
        store.append(_record(2, scalars={"p": None, "label": "late text", "later_int": 7}))
        store.finalize()
    with h5py.File(out, "r") as f:
        p = f["summary/p"][:]
        assert f["summary/p"].attrs["kind"] == "float" and np.isnan(p[0]) and p[1] == 0.25 and np.isnan(p[2])
        assert f["summary/label"].attrs["kind"] == "str" and "untyped" not in f["summary/label"].attrs
        assert [v.decode() for v in f["summary/label"][:]] == ["", "", "late text"]
        assert f["summary/later_int"].attrs["kind"] == "int"
    rows = read_summary(out)
    assert [r["p"] for r in rows] == [None, 0.25, None]
    assert [r["label"] for r in rows] == [None, None, "late text"]
    assert [r["later_int"] for r in rows] == [None, None, 7] and type(rows[2]["later_int"]) is int
    assert read_item(out, "it0").scalars["p"] is None
    table = tmp_path / "R.csv"
    header = write_table_csv(out, table, ["id", "p", "label"])
    with open(table, newline="") as fh:
        body = list(csv.reader(fh))[1:]
    assert header[:3] == ["id", "p", "label"]
    assert [r[1:3] for r in body] == [["", ""], ["0.25", ""], ["", "late text"]]
