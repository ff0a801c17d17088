"""Hostile and faulty IR inputs (issue 19): bounded time and memory, one-line errors, outputs
that never overwrite inputs, batch ids from canonical paths.

Each hostile file is a few kilobytes that, decoded naively, would allocate gigabytes (the
`jcamp` package builds ``linspace(FIRSTX, LASTX, NPOINTS)`` and expands DUP repeats in
Python lists). Every case must fail within a second with an :class:`InputError` naming the
file and the problem, with a tracemalloc peak below 50 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from irkit import spectra
from irkit.cli import main
from irkit.spectra import read_jcamp, read_spectrum, read_text
from xrdkit.errors import InputError

#: Bounds every hostile case must meet (issue 19 brief: < 1 s, < 50 MB traced peak).
MAX_SECONDS = 1.0
MAX_PEAK_BYTES = 50_000_000

HEADER = """##TITLE= hostile
##JCAMP-DX= 4.24
##DATA TYPE= INFRARED SPECTRUM
##XUNITS= 1/CM
##YUNITS= ABSORBANCE
##XFACTOR= 1.0
##YFACTOR= 0.001
"""


def _pad(text: str, size: int = 6_000) -> str:
    """Pad a JCAMP file with $$ comment lines to about ``size`` bytes (the 6 kB of the report)."""
    filler = "$$ " + "x" * 70 + "\n"
    return text + filler * max(0, (size - len(text)) // len(filler))


def _dup_line(n_repeats_digits: int) -> str:
    # one value then a DUP token repeating it 9…9 (n digits) times
    return "4000A00s" + "9" * n_repeats_digits + "\n"


#: name → (JCAMP-DX text, fragment the one-line error must contain)
HOSTILE_JCAMP: dict[str, tuple[str, str]] = {
    "huge-npoints": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 1000000000\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3\n##END=\n", "##NPOINTS=1,000,000,000"),
    "npoints-float-1e12": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 1e12\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3\n##END=\n", "IRKIT_MAX_SPECTRUM_POINTS"),
    "npoints-negative": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= -5\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3\n##END=\n", "not a positive integer"),
    "npoints-nan": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= nan\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3\n##END=\n", "not finite"),
    "tiny-deltax": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##DELTAX= 1e-9\n##NPOINTS= 4\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3 4\n##END=\n", "DELTAX"),
    "zero-deltax": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##DELTAX= 0\n##NPOINTS= 4\n"
        "##XYDATA= (X++(Y..Y))\n4000 1 2 3 4\n##END=\n", "DELTAX=0"),
    "huge-dup-count": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 10\n"
        "##XYDATA= (X++(Y..Y))\n" + _dup_line(12) + "##END=\n", "DUP repeat counts"),
    "many-dup-lines": (
        # each line is legal on its own (999 repeats); together they pass any per-line check
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 10\n"
        "##XYDATA= (X++(Y..Y))\n" + "".join(_dup_line(3) for _ in range(600)) + "##END=\n",
        "DUP repeat counts"),
    "quadratic-dup-chain": (
        # jcamp copies the text since the last DIF character once per DUP: a chain of SQZ+DUP
        # after one DIF expands quadratically in the line length
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 10\n"
        "##XYDATA= (X++(Y..Y))\n" + ("4000J" + "AZ" * 450 + "\n") * 40 + "##END=\n",
        "DUP compression expands"),
    "dup-run-after-dif": (
        # a run of DUP characters after one DIF value: jcamp re-copies the growing run per DUP
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 10\n"
        "##XYDATA= (X++(Y..Y))\n" + ("4000A00J" + "s" * 900 + "\n") * 6 + "##END=\n",
        "DUP compression expands"),
    "long-data-line": (
        HEADER + "##FIRSTX= 400\n##LASTX= 4000\n##NPOINTS= 10\n"
        "##XYDATA= (X++(Y..Y))\n4000" + " 1" * 3000 + "\n##END=\n", "data line of"),
    "xypoints-too-many": (
        # (limit lowered to 20 points by the test) 30 pairs
        HEADER + "##XYPOINTS= (XY..XY)\n" + "".join(f"{1000 + i}, {i}\n" for i in range(30))
        + "##END=\n", "IRKIT_MAX_SPECTRUM_POINTS"),
}


def _run_bounded(func, *args):
    """Call ``func(*args)``; return (exception, seconds, tracemalloc peak bytes)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        func(*args)
    except Exception as exc:  # noqa: BLE001 - the test inspects what was raised
        error = exc
    else:
        error = None
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, seconds, peak


@pytest.mark.parametrize("name", list(HOSTILE_JCAMP))
def test_hostile_jcamp_fails_fast_small_and_in_one_line(tmp_path: Path, name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    text, fragment = HOSTILE_JCAMP[name]
    if name == "xypoints-too-many":
        monkeypatch.setattr(spectra, "MAX_SPECTRUM_POINTS", 20)
    path = tmp_path / f"{name}.jdx"
    path.write_text(_pad(text), encoding="utf-8")
    assert path.stat().st_size < 40_000
    error, seconds, peak = _run_bounded(read_jcamp, path)
    assert isinstance(error, InputError), f"{name}: {error!r}"
    message = str(error)
    assert "\n" not in message
    assert str(path) in message and fragment in message, message
    assert seconds < MAX_SECONDS, f"{name}: {seconds:.2f} s"
    assert peak < MAX_PEAK_BYTES, f"{name}: peak {peak / 1e6:.0f} MB"


def test_the_bounds_do_not_refuse_honest_files(tmp_path: Path) -> None:
    """The same layouts within the limits are read (the checks are not blanket refusals)."""
    # 10 values: 100 (SQZ A00), the difference +1 (DIF J) three times (DUP U), then +1 (J)
    # six times (DUP X): a DUP after a DIF repeats the difference (JCAMP-DX 4.24 §5.9)
    text = (HEADER + "##FIRSTX= 1000\n##LASTX= 1009\n##DELTAX= 1\n##NPOINTS= 10\n"
            "##XYDATA= (X++(Y..Y))\n1000A00JUJX\n##END=\n")
    s = read_jcamp(_write(tmp_path / "ok.jdx", _pad(text)))
    np.testing.assert_allclose(s.values, np.arange(100, 110) * 0.001)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_real_jcamp_files_pass_the_bounds(realdata: Path) -> None:
    for name in ("ir_formats/PE1800.DX", "ir_solvents/acetone.jdx"):
        path = realdata / name
        text = path.read_bytes().decode("utf-8", "ignore")
        spectra._check_jcamp_bounds(text, str(path))  # no error
        assert read_jcamp(path).n_points > 3000


def test_jcamp_limit_is_configurable_from_the_environment(realdata: Path) -> None:
    """IRKIT_MAX_SPECTRUM_POINTS=1000 refuses the 3,301-point PE1800.DX (exit code 2, one line)."""
    path = realdata / "ir_formats" / "PE1800.DX"
    env = {**os.environ, "IRKIT_MAX_SPECTRUM_POINTS": "1000", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "irkit.cli", "fit", str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "##NPOINTS=3,301" in lines[0] and "1,000" in lines[0], proc.stderr


def test_file_size_is_checked_before_reading(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spectra, "MAX_INPUT_BYTES", 1_000)
    for name in ("big.jdx", "big.csv"):
        path = tmp_path / name
        path.write_text("##TITLE= x\n" if name.endswith("jdx") else "1 2\n" * 600)
        if name.endswith("jdx"):
            path.write_text(_pad(path.read_text(), 2_000))
        with pytest.raises(InputError, match="IRKIT_MAX_INPUT_BYTES") as info:
            read_spectrum(path)
        assert str(path) in str(info.value)


def test_text_line_count_is_checked_before_parsing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spectra, "MAX_SPECTRUM_POINTS", 100)
    monkeypatch.setattr(spectra, "MAX_HEADER_LINES", 10)
    path = tmp_path / "long.csv"
    path.write_text("".join(f"{1000 + i},0.1\n" for i in range(111)))
    with pytest.raises(InputError, match=r"111 lines.*IRKIT_MAX_SPECTRUM_POINTS"):
        read_text(path)
    path.write_text("# header\n" * 10 + "".join(f"{1000 + i},0.1\n" for i in range(100)))
    assert read_text(path).n_points == 100  # at the limits: read
    path.write_text("".join(f"{1000 + i},0.1\n" for i in range(101)))
    with pytest.raises(InputError, match=r"101 points.*IRKIT_MAX_SPECTRUM_POINTS"):
        read_text(path)  # within the line count, beyond the point count
    # form feeds / vertical tabs are not line ends for the count nor for the parser
    path.write_text("1000,0.1\x0c" * 200 + "\n")
    with pytest.raises(InputError, match="not numeric|no numeric data"):
        read_text(path)


def test_text_megabyte_line_is_cheap(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("".join(f"{1000 + i} 0.1" + " 7" * 200_000 + "\n" for i in range(6)))
    error, seconds, peak = _run_bounded(read_text, path)
    assert error is None or isinstance(error, InputError)
    assert seconds < MAX_SECONDS and peak < MAX_PEAK_BYTES, (seconds, peak)


def test_cli_fit_hostile_jcamp_exit_code_2_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text, _ = HOSTILE_JCAMP["huge-npoints"]
    path = tmp_path / "h.jdx"
    path.write_text(_pad(text))
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "h.jdx" in err[0] and "NPOINTS" in err[0]


def test_read_spectrum_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_spectrum(fifo)


# ---------------------------------------------------------------- outputs never overwrite inputs


def _spectrum_csv(path: Path) -> Path:
    from irkit.synthetic import synthesize

    syn = synthesize(0)
    np.savetxt(path, np.column_stack([syn.spectrum.wavenumber_cm1, syn.spectrum.values]),
               delimiter=",", header="wavenumber,absorbance", comments="")
    return path


@pytest.mark.parametrize("outputs", [("--json", "SPECTRUM"), ("--plot", "SPECTRUM"),
                                     ("--json", "./SPECTRUM"), ("--json", "LINK"),
                                     ("--json", "BANDS"), ("--json", "SAME", "--plot", "SAME")])
def test_fit_outputs_never_overwrite_inputs(tmp_path: Path, outputs: tuple[str, ...],
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spectrum = _spectrum_csv(tmp_path / "s.csv")
    before = spectrum.read_bytes()
    (tmp_path / "link.csv").symlink_to(spectrum)
    bands = tmp_path / "bands.csv"
    bands.write_text("placeholder")
    monkeypatch.chdir(tmp_path)
    names = {"SPECTRUM": str(spectrum), "./SPECTRUM": "./s.csv", "LINK": "link.csv",
             "BANDS": str(bands), "SAME": "out.json"}
    argv = ["fit", "s.csv", "--bands", str(bands)]
    for i in range(0, len(outputs), 2):
        argv += [outputs[i], names[outputs[i + 1]]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "same file" in err and len(err.strip().splitlines()) == 1
    assert spectrum.read_bytes() == before and bands.read_text() == "placeholder"


# ---------------------------------------------------------------- batch


def _stack(path: Path, n: int = 2) -> Path:
    from irkit.synthetic import synthesize, write_hdf5_stack

    return write_hdf5_stack(path, [synthesize(i) for i in range(n)], seeds=list(range(n)))


@pytest.mark.parametrize("case", ["out=input", "table=input", "table=out", "out=./input"])
def test_batch_outputs_never_overwrite_inputs(tmp_path: Path, case: str,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stack = _stack(tmp_path / "stack.h5")
    before = stack.read_bytes()
    monkeypatch.chdir(tmp_path)
    out, table = {"out=input": ("stack.h5", None), "table=input": ("r.h5", "stack.h5"),
                  "table=out": ("r.h5", "r.h5"), "out=./input": ("./stack.h5", None)}[case]
    argv = ["batch", "stack.h5", "--out", out, "--workers", "1", "--overwrite"]
    if table:
        argv += ["--table", table]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "same file" in err and len(err.strip().splitlines()) == 1
    assert stack.read_bytes() == before


def test_batch_file_named_twice_is_analysed_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    stack = _stack(tmp_path / "stack.h5")
    (tmp_path / "alias.h5").symlink_to(stack)
    monkeypatch.chdir(tmp_path)
    rc = main(["batch", "stack.h5", "./stack.h5", "alias.h5", str(stack), "--out", "r.h5",
               "--workers", "1", "--table", "t.csv"])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 2
    ids = {r["id"] for r in rows}
    assert all(i.startswith(str(stack.resolve())) for i in ids), ids
    # a resume with another spelling continues the same batch: nothing re-run, nothing added
    rc = main(["batch", "alias.h5", "--out", "r.h5", "--workers", "1", "--resume",
               "--table", "t2.csv"])
    assert rc == 0
    assert len(list(csv.DictReader(open(tmp_path / "t2.csv")))) == 2
