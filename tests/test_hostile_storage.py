"""Faulty storage and damaged batch files (issue 19, items 7, 9, 10): a full disk, journal
records with a valid CRC but bad content, damaged results files, malformed Dask addresses and
planted symlinks under temporary-file names. Each must end in a one-line error (exit code 2)
or the right outcome, never a traceback, a hang, a crash or lost items.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.results import ResultsStore, read_summary

N_SCANS = 12
N_POINTS = 1500
XRDKIT = [sys.executable, "-m", "xrdkit.cli"]
#: Seconds a failing batch may take before it counts as a hang.
HANG_LIMIT_S = 240


def _stack(path: Path, n: int = N_SCANS) -> Path:
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        g = f.create_group("stack")
        g.create_dataset("two_theta", data=15.0 + 0.02 * np.arange(N_POINTS)).attrs["units"] = "deg"
        g.create_dataset("counts", data=rng.poisson(300, size=(n, N_POINTS)).astype(float))
    return path


def _batch(*args: str) -> list[str]:
    return ["batch", *args, "--background-terms", "4"]


def _one_line_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if not ln.startswith("WARNING")]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("xrdkit: error:"), stderr[-3000:]
    return lines[0]


# ------------------------------------------------------------------------ 7. full disk


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1.5 MB tmpfs (root only; skipped where mounting is not allowed)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_fails_cleanly_and_resumes(small_disk: Path, tmp_path: Path, workers: str) -> None:
    stack = _stack(tmp_path / "stack.h5", n=40)
    out = small_disk / "R.h5"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    cmd = [*XRDKIT, *_batch(str(stack), "--out", str(out), "--workers", workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_LIMIT_S, env=env)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # not a crash (-11)
    line = _one_line_error(proc.stderr)
    assert "no space left on the device" in line and "--resume" in line
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    proc = subprocess.run([*cmd, "--resume"], capture_output=True, text=True,
                          timeout=HANG_LIMIT_S, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ids = [r["id"] for r in read_summary(out)]
    assert len(ids) == 40 == len(set(ids))  # nothing lost, nothing twice


# ------------------------------------------------------------------------ 9. journal and results


_FRAME = struct.Struct("<4sIQI")


def _frame(header: object, payload: bytes = b"") -> bytes:
    """A journal record with a correct CRC around any header."""
    hb = json.dumps(header).encode()
    return _FRAME.pack(b"CKJ1", len(hb), len(payload), zlib.crc32(payload, zlib.crc32(hb))) + hb + payload


_GOOD = {"id": "x", "index": 0, "source": "", "status": "ok", "error": "", "elapsed_s": 0.0,
         "scalars": {}, "warnings": [], "traceback": "", "arrays": []}


@pytest.mark.parametrize("header, payload", [
    ({**_GOOD, "id": 5}, b""),
    ({**_GOOD, "scalars": [1, 2]}, b""),
    ({**_GOOD, "scalars": {"x": {"nested": 1}}}, b""),
    ({**_GOOD, "arrays": [["a", "<f4", [10], 0, 40]]}, b""),
    ({**_GOOD, "arrays": [["a", "<f4", [3], 0, 12]]}, b"\x00" * 8),
    ({**_GOOD, "arrays": [["a", "|O", [1], 0, 8]]}, b"\x00" * 8),
    ({**_GOOD, "arrays": [["a", "not-a-dtype", [1], 0, 8]]}, b"\x00" * 8),
    ({**_GOOD, "status": "maybe"}, b""),
    ({**_GOOD, "index": 10**15}, b""),
    ({**_GOOD, "warnings": "not a list"}, b""),
    ([1, 2, 3], b""),
], ids=["id-int", "scalars-list", "scalar-dict", "arrays-past-payload", "arrays-short",
        "object-dtype", "bad-dtype", "status", "index-huge", "warnings-str", "not-an-object"])
def test_journal_record_with_valid_crc_but_bad_content_is_skipped(tmp_path: Path, header: object,
                                                                    payload: bytes) -> None:
    out = tmp_path / "R.h5"
    (tmp_path / "R.h5.parts").mkdir()
    good = dict(_GOOD, id="kept", index=1)
    (tmp_path / "R.h5.parts" / "journal-00000.log").write_bytes(_frame(header, payload) + _frame(good))
    with ResultsStore(out, resume=True) as store:
        assert store.done_ids == {"kept"}  # the bad record is skipped, the next one kept
        store.n_items_expected = 1
        store.finalize()
    assert [r["id"] for r in read_summary(out)] == ["kept"]


def _damage(path: Path, kind: str) -> None:
    with h5py.File(path, "r+") as f:
        if kind == "summary-id-ints":
            del f["summary/id"]
            f["summary/id"] = np.arange(N_SCANS)
        elif kind == "column-missing":
            del f["summary/rwp"]
        elif kind == "kind-unknown":
            f["summary/rwp"].attrs["kind"] = "complex"
        elif kind == "record-not-json":
            next(iter(f["scans"].values())).attrs["record"] = "{not json"
        elif kind == "format-foreign":
            f.attrs["format"] = "something-else"


@pytest.fixture(scope="module")
def good_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("good")
    stack = _stack(d / "stack.h5")
    out = d / "R.h5"
    assert main(_batch(str(stack), "--out", str(out), "--workers", "1")) == 0
    return stack, out


@pytest.mark.parametrize("kind, command", [
    ("summary-id-ints", "resume"), ("summary-id-ints", "report"),
    ("column-missing", "resume"), ("column-missing", "report"),
    ("kind-unknown", "report"), ("record-not-json", "report"),
    ("format-foreign", "resume"), ("format-foreign", "report"), ("truncated", "resume"),
    ("truncated", "report"),
])
def test_damaged_results_file_gives_one_line(tmp_path: Path, good_results: tuple[Path, Path],
                                             capsys: pytest.CaptureFixture[str], kind: str,
                                             command: str) -> None:
    stack, good = good_results
    bad = tmp_path / "R.h5"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[:5000])
    else:
        shutil.copyfile(good, bad)
        _damage(bad, kind)
    before = bad.read_bytes()
    capsys.readouterr()
    argv = (_batch(str(stack), "--out", str(bad), "--workers", "1", "--resume") if command == "resume"
            else ["report", str(bad), "--out", str(tmp_path / "r.html")])
    assert main(argv) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert str(bad) in line
    assert bad.read_bytes() == before  # a refused resume leaves the file as it was


@pytest.mark.parametrize("address", [
    "tcp://host:notaport", "tcp://:8786", "tcp://host", "tcp://host:99999", "host:8786",
    "http://host:8786", "tcp://host:8786/extra", "tcp://[::1", "",
])
def test_malformed_dask_address_gives_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               address: str) -> None:
    stack = _stack(tmp_path / "s.h5", n=1)
    assert main(_batch(str(stack), "--out", str(tmp_path / "R.h5"), "--scheduler", address)) in (2,)
    line = _one_line_error(capsys.readouterr().err)
    assert "--scheduler" in line or "address" in line
    assert not (tmp_path / "R.h5").exists() and not (tmp_path / "R.h5.parts").exists()


def test_extreme_counts_are_an_error_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "extreme.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("stack")
        g.create_dataset("two_theta", data=15.0 + 0.02 * np.arange(N_POINTS)).attrs["units"] = "deg"
        counts = np.full((2, N_POINTS), 300.0)
        counts[0, 100] = 1e300
        g.create_dataset("counts", data=counts)
    out = tmp_path / "R.h5"
    assert main(_batch(str(path), "--out", str(out), "--workers", "1")) == 1  # one scan failed
    rows = {r["id"].rsplit("[", 1)[1]: r for r in read_summary(out)}
    assert rows["0]"]["status"] == "error" and "exceeds" in rows["0]"]["error"]
    assert rows["1]"]["status"] == "ok"


# ------------------------------------------------------------------------ 10. temporary files


def test_temporary_files_never_follow_planted_symlinks(tmp_path: Path) -> None:
    """Symlinks planted under the old predictable temporary names (``NAME.tmp-<pid>``) point
    at a victim file: neither the results file, the CSV table nor the report writes through
    them."""
    stack = _stack(tmp_path / "stack.h5", n=2)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    pid = os.getpid()
    for name in ("R.h5", "t.csv", "r.html"):
        (tmp_path / f"{name}.tmp-{pid}").symlink_to(victim)
    out = tmp_path / "R.h5"
    assert main(_batch(str(stack), "--out", str(out), "--table", str(tmp_path / "t.csv"),
                       "--workers", "1")) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    assert victim.read_text() == "precious"
    assert len(read_summary(out)) == 2
    assert (tmp_path / "t.csv").read_text().startswith("scan,")
