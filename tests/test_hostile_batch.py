"""Hostile and faulty batch use (issue 19, items 1–3): ``--resume`` continues only the batch
that was interrupted, a scan's identity does not depend on how its file is spelled, and no
output ever overwrites an input or another output.

The scans are Poisson noise on a flat level (no diffraction signal: fast to fit); what is
checked here is bookkeeping, not the verdicts (see ``tests/test_hostile_signal.py``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.errors import BatchError, InputError, check_output_paths
from xrdkit.results import (
    ItemRecord,
    ResultsStore,
    file_fingerprint,
    fingerprint_differences,
    read_summary,
)

N_SCANS = 3
N_POINTS = 600
SEED = 19


def _write_stack(path: Path, n_scans: int = N_SCANS, level: float = 400.0, seed: int = SEED) -> Path:
    two_theta = 15.0 + 0.04 * np.arange(N_POINTS)
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        g = f.create_group("stack")
        ax = g.create_dataset("two_theta", data=two_theta)
        ax.attrs["units"] = "deg"
        g.create_dataset("counts", data=rng.poisson(level, size=(n_scans, N_POINTS)).astype(float))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _batch(*args: str) -> list[str]:
    return ["batch", *args, "--workers", "1", "--background-terms", "4"]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return _write_stack(tmp_path / "stack.h5")


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error message"
    line = err[-1]
    assert line.startswith("xrdkit: error:"), err
    assert "Traceback" not in "\n".join(err)
    return line


# ------------------------------------------------------------------------ 1. batch fingerprint


def test_fingerprint_differences_name_what_changed() -> None:
    old = {"options": {"phase": []}, "phases": {"nbh-fcc": "a"},
           "inputs": [{"path": "/d/a.h5", "size": 1, "mtime_ns": 1, "sha256": "x"},
                      {"path": "/d/b.h5", "size": 1, "mtime_ns": 1, "sha256": "y"}]}
    assert fingerprint_differences(old, old) == []
    new = {"options": {"phase": ["al"]}, "phases": {"nbh-fcc": "a"},
           "inputs": [{"path": "/d/a.h5", "size": 2, "mtime_ns": 5, "sha256": "z"},
                      {"path": "/d/c.h5", "size": 1, "mtime_ns": 1, "sha256": "y"}]}
    diffs = fingerprint_differences(old, new)
    text = "; ".join(diffs)
    assert "input /d/c.h5 was not in the interrupted batch" in text
    assert "input /d/b.h5 of the interrupted batch is not given now" in text
    assert "input /d/a.h5 was modified (content differs, size 1 → 2 bytes)" in text
    assert 'options.phase: [] before, ["al"] now' in text
    assert len(diffs) == 4
    nan = {"x": float("nan")}
    assert fingerprint_differences(nan, dict(nan)) == []


def test_file_fingerprint_is_canonical_and_hashes_content(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"abc")
    link = tmp_path / "link.bin"
    link.symlink_to(f)
    fp = file_fingerprint(str(tmp_path / "." / "a.bin"))
    assert fp == file_fingerprint(link)
    assert fp["path"] == str(f.resolve()) and fp["size"] == 3
    assert fp["sha256"] == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(InputError, match="file not found"):
        file_fingerprint(tmp_path / "missing.h5")


def _record(i: int) -> ItemRecord:
    return ItemRecord(f"item{i}", i, "src", "ok", "", 0.0, {"x": float(i)})


@pytest.mark.parametrize("published", [False, True], ids=["journal-only", "published"])
def test_store_resume_checks_the_fingerprint(tmp_path: Path, published: bool) -> None:
    """Killed before RESULTS.h5 was first published (the journal alone holds the items) or
    after: a resume with another fingerprint is refused, nothing is lost, the same resumes."""
    out = tmp_path / "R.h5"
    config_a = {"fingerprint": {"options": {"phase": ["al"]}, "inputs": []}}
    config_b = {"fingerprint": {"options": {"phase": ["be"]}, "inputs": []}}
    store = ResultsStore(out, config=config_a)
    store.open()
    store.append(_record(0))
    store.append(_record(1))
    if published:
        store.consolidate()
    store.close()  # as after a kill: no final consolidation, the journal stays
    assert out.exists() == published
    with pytest.raises(BatchError, match=r"--resume refused.*options\.phase"):
        ResultsStore(out, resume=True, config=config_b).open()
    with ResultsStore(out, resume=True, config=config_a) as again:
        assert again.done_ids == {"item0", "item1"}
        again.n_items_expected = 2
        again.finalize()
    assert [r["id"] for r in read_summary(out)] == ["item0", "item1"]
    assert not (tmp_path / "R.h5.parts").exists()


def test_resume_with_other_options_is_refused(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_batch("stack.h5", "--out", "R.h5")) == 0
    before = _sha(stack.parent / "R.h5")
    assert main(_batch("stack.h5", "--out", "R.h5", "--resume", "--phase", "al")) == 2
    line = _error_line(capsys)
    assert "--resume refused" in line and "options.phase" in line
    assert main(_batch("stack.h5", "--out", "R.h5", "--resume", "--range", "16", "30")) == 2
    assert "options.range" in _error_line(capsys)
    assert _sha(stack.parent / "R.h5") == before  # nothing mixed in
    assert main(_batch("stack.h5", "--out", "R.h5", "--resume")) == 0  # the same batch resumes


def test_resume_after_input_edited_in_place_is_refused(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_batch("stack.h5", "--out", "R.h5")) == 0
    with h5py.File(stack, "r") as f:
        first = f["stack/counts"][0, :10]
    raw = stack.read_bytes()
    at = raw.index(first.tobytes())
    with open(stack, "r+b") as fh:  # in place (same inode, same size, same scan ids)
        fh.seek(at)
        fh.write((first + 1.0).tobytes())
    assert main(_batch("stack.h5", "--out", "R.h5", "--resume")) == 2
    line = _error_line(capsys)
    assert f"input {stack.resolve()} was modified" in line


def test_resume_with_another_input_is_refused(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = _write_stack(stack.parent / "other.h5", seed=SEED + 1)
    assert main(_batch("stack.h5", "--out", "R.h5")) == 0
    assert main(_batch("stack.h5", "other.h5", "--out", "R.h5", "--resume")) == 2
    assert f"input {other.resolve()} was not in the interrupted batch" in _error_line(capsys)
    assert main(_batch("other.h5", "--out", "R.h5", "--resume")) == 2
    assert len(read_summary(stack.parent / "R.h5")) == N_SCANS


def test_resume_with_other_cif_contents_is_refused(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xrdkit.phases import PhaseLibrary

    cif = stack.parent / "mine.cif"
    cif.write_bytes(PhaseLibrary().info("al").cif_path.read_bytes())
    args = ("stack.h5", "--out", "R.h5", "--cif", "mine.cif", "--borate", "nbh-fcc")
    assert main(_batch(*args)) == 0
    cif.write_text(cif.read_text().replace("_cell_length_a", "_cell_length_a 4.1\n#", 1))
    assert main(_batch(*args, "--resume")) == 2
    assert "phases.cif:mine" in _error_line(capsys)


# ------------------------------------------------------------------------ 2. scan identity


def test_same_file_spelled_differently_is_one_set_of_scans(stack: Path) -> None:
    (stack.parent / "sub").mkdir()
    (stack.parent / "alias.h5").symlink_to(stack)
    assert main(_batch("stack.h5", "./stack.h5", "sub/../stack.h5", "alias.h5", str(stack),
                       "--out", "R.h5")) == 0
    rows = read_summary(stack.parent / "R.h5")
    ids = [r["id"] for r in rows]
    assert len(ids) == N_SCANS == len(set(ids))
    assert all(i.startswith(f"{stack.resolve()}::/stack[") for i in ids)


def test_resume_with_the_other_spelling_runs_nothing_again(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_batch("stack.h5", "--out", "R.h5")) == 0
    capsys.readouterr()
    other_spelling = f"../{stack.parent.name}/./stack.h5"
    assert main(_batch(other_spelling, "--out", "R.h5", "--resume")) == 0
    assert f"0 ok, 0 errors, {N_SCANS} already done" in capsys.readouterr().out
    assert len(read_summary(stack.parent / "R.h5")) == N_SCANS


# ------------------------------------------------------------------------ 3. outputs vs inputs


def _fit_args(*extra: str) -> list[str]:
    return ["--phase", "al", "--background-terms", "2", *extra]


@pytest.mark.parametrize("argv, fragment", [
    (_batch("stack.h5", "--out", "stack.h5"), "--out stack.h5 is the same file as input stack.h5"),
    (_batch("stack.h5", "--out", "./stack.h5", "--overwrite"), "is the same file as input stack.h5"),
    (_batch("stack.h5", "--out", "hard.h5"), "--out hard.h5 is the same file as input stack.h5"),
    (_batch("stack.h5", "--out", "R.h5", "--table", "stack.h5"), "--table stack.h5 is the same file as input"),
    (_batch("stack.h5", "--out", "R.h5", "--table", "R.h5"), "--table R.h5 is the same file as --out R.h5"),
    (_batch("stack.h5", "--out", "R.h5", "--table", "link.csv"), "--table link.csv is the same file as input"),
    (["report", "old.h5", "--out", "old.h5"], "--out old.h5 is the same file as results old.h5"),
    (["identify", "stack.h5::/stack[0]", "--json", "stack.h5"], "--json stack.h5 is the same file as scan"),
    (["fit", "scan.xy", "--json", "scan.xy", *_fit_args()], "--json scan.xy is the same file as scan scan.xy"),
    (["fit", "scan.xy", "--json", "o.json", "--plot", "o.json", *_fit_args()], "--plot o.json is the same file as --json"),
    (["fit", "scan.xy", "--json", "al.cif", "--cif", "al.cif"], "--json al.cif is the same file as --cif al.cif"),
], ids=["batch-out-input", "batch-out-overwrite", "batch-out-hardlink", "batch-table-input",
        "batch-table-out", "batch-table-symlink", "report-out-results", "identify-json-scan",
        "fit-json-scan", "fit-plot-json", "fit-json-cif"])
def test_an_output_never_overwrites_an_input(stack: Path, capsys: pytest.CaptureFixture[str],
                                             argv: list[str], fragment: str) -> None:
    d = stack.parent
    os.link(stack, d / "hard.h5")
    (d / "link.csv").symlink_to(stack)
    (d / "scan.xy").write_text("".join(f"{20 + 0.05 * i:.2f} {100 + i % 7}\n" for i in range(200)))
    (d / "al.cif").write_text("data_x\n")
    (d / "o.json").write_text("{}")
    old = d / "old.h5"
    assert main(_batch("stack.h5", "--out", "old.h5")) == 0
    capsys.readouterr()
    before = {p.name: _sha(p) for p in d.iterdir() if p.is_file()}
    assert main(argv) == 2
    line = _error_line(capsys)
    assert fragment in line, line
    after = {p.name: _sha(p) for p in d.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing destroyed
    assert old.exists()


def test_check_output_paths_accepts_distinct_files(tmp_path: Path) -> None:
    (tmp_path / "in.h5").write_bytes(b"x")
    check_output_paths({"--out": tmp_path / "out.h5", "--table": tmp_path / "t.csv", "--plot": None},
                       {"input": [tmp_path / "in.h5"], "--cif": []})
    with pytest.raises(InputError, match="is a directory"):
        check_output_paths({"--out": tmp_path}, {})
