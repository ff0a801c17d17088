"""Table of bad inputs (issue 8): how each is made, which entry point gets it, and the
fragment its :class:`~xrdkit.errors.InputError` message must contain.

Every case must raise ``InputError`` (never another exception type, never hang) whose message
contains ``fragment`` (case-insensitive) and the name of the file (or, for arrays, the
``source`` given to :func:`xrdkit.scans.make_scan`). ``tests/test_input_cases.py`` runs the table.

Decided policy, documented here:

* a **constant** non-zero signal is *valid* (a flat pattern is data; the fit judges it) and is
  therefore not in this table — ``tests/test_readers.py::test_constant_signal_is_accepted``;
* an **all-zero** signal is an error (nothing was measured);
* a text axis lying entirely below π is taken for **radians** and refused unless the header
  says ``rad`` (then it is converted); q / d columns need a header naming them and a unit;
* **descending** 2θ is refused, not silently reversed (a reversed file is usually a column or
  export mistake); d axes in HDF5 are converted and re-ordered because d falls as 2θ rises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xrdkit import hdf5
from xrdkit.readers import read_scan, read_scans
from xrdkit.scans import make_scan

#: Entry points the table calls; each takes what the case's ``make`` returned.
ENTRY_POINTS: dict[str, Callable[[Any], Any]] = {
    "make_scan": lambda kw: make_scan(**kw),
    "read_scan": read_scan,
    "read_scans": read_scans,
    # in-process structure reading (the bounded child-process probe, the default of the other
    # HDF5 entry points, is exercised by every "read_scan" HDF5 case and the corruption sweep)
    "list_scans": lambda f: hdf5.list_scans(f, timeout_s=None),
    "read_hdf5_scan": hdf5.read_hdf5_scan,
    "read_scan_lam": lambda args: read_scan(args[0], wavelength_angstrom=args[1]),
}


@dataclass(frozen=True)
class BadInput:
    """One row of the table.

    Attributes
    ----------
    case_id : str
        Unique id (also the file name stem).
    entry : str
        Key of :data:`ENTRY_POINTS`.
    make : callable
        ``make(tmp_path, case_id)`` → the argument for the entry point (a path / spec, or
        the keyword arguments of ``make_scan``).
    fragment : str
        Must occur in the error message (case-insensitive).
    what : str
        The bad input in words.
    """

    case_id: str
    entry: str
    make: Callable[[Path, str], Any]
    fragment: str
    what: str

    def name_in_message(self, made: Any) -> str:
        """The file name (or array source) the message must name."""
        if isinstance(made, dict):
            return str(made["source"])
        if isinstance(made, tuple):
            made = made[0]
        return Path(str(made).split("::")[0]).name


# --------------------------------------------------------------------------- makers

_X = np.linspace(10.0, 60.0, 40)
_Y = 100.0 + 50.0 * np.sin(_X)


def arrays(x: Any = None, y: Any = None, **kw: Any) -> Callable[[Path, str], dict[str, Any]]:
    """Keyword arguments for make_scan with ``source='<case_id>.arrays'``."""

    def make(tmp: Path, cid: str) -> dict[str, Any]:
        return dict(two_theta_deg=_X if x is None else x, counts=_Y if y is None else y,
                    source=f"{cid}.arrays", **kw)

    return make


def text(body: str, suffix: str = ".xy") -> Callable[[Path, str], Path]:
    def make(tmp: Path, cid: str) -> Path:
        p = tmp / f"{cid}{suffix}"
        p.write_text(body, encoding="utf-8")
        return p

    return make


def raw_bytes(data: bytes, suffix: str) -> Callable[[Path, str], Path]:
    def make(tmp: Path, cid: str) -> Path:
        p = tmp / f"{cid}{suffix}"
        p.write_bytes(data)
        return p

    return make


def columns(x: np.ndarray, y: np.ndarray, sep: str = " ") -> str:
    return "".join(f"{a}{sep}{b}\n" for a, b in zip(x, y, strict=True))


def xrdml(data_points: str, *, root: str = "xrdMeasurements", truncate: int | None = None
          ) -> Callable[[Path, str], Path]:
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="http://www.xrdml.com/XRDMeasurement/1.5">\n'
        '<xrdMeasurement measurementType="Scan">\n'
        '<usedWavelength intended="K-Alpha 1"><kAlpha1 unit="Angstrom">1.5406</kAlpha1>'
        "</usedWavelength>\n"
        f"{data_points}"
        "</xrdMeasurement>\n"
        f"</{root}>\n"
    )
    if truncate is not None:
        doc = doc[:truncate]
    return text(doc, ".xrdml")


def scan_xml(positions: str, counts: str = "1 2 3 4") -> str:
    return (f'<scan scanAxis="Gonio"><dataPoints>{positions}'
            f'<counts unit="counts">{counts}</counts></dataPoints></scan>\n')


POS_OK = ('<positions axis="2Theta" unit="deg"><startPosition>10</startPosition>'
          "<endPosition>11</endPosition></positions>")


def rasx(files: dict[str, str]) -> Callable[[Path, str], Path]:
    def make(tmp: Path, cid: str) -> Path:
        import zipfile

        p = tmp / f"{cid}.rasx"
        with zipfile.ZipFile(p, "w") as zf:
            for name, body in files.items():
                zf.writestr(name, body)
        return p

    return make


def h5(build: Callable[[h5py.File], None], spec_suffix: str = "",
       suffix: str = ".h5") -> Callable[[Path, str], str]:
    def make(tmp: Path, cid: str) -> str:
        p = tmp / f"{cid}{suffix}"
        with h5py.File(p, "w") as f:
            build(f)
        return f"{p}{spec_suffix}"

    return make


def nxdata(f: h5py.File, *, signal: Any = "I", axes: Any = "tth", data: dict | None = None,
           default: str | None = "data", root_default: str | None = None) -> h5py.Group:
    if root_default is not None:
        f.attrs["default"] = root_default
    e = f.create_group("entry")
    e.attrs["NX_class"] = "NXentry"
    if default is not None:
        e.attrs["default"] = default
    g = e.create_group("data")
    g.attrs["NX_class"] = "NXdata"
    if signal is not None:
        g.attrs["signal"] = signal
    if axes is not None:
        g.attrs["axes"] = axes
    for name, (values, units) in (data if data is not None else {
        "I": (_Y, None), "tth": (_X, "deg")
    }).items():
        ds = g.create_dataset(name, data=values)
        if units:
            ds.attrs["units"] = units
    return g


def truncated_hdf5(tmp: Path, cid: str) -> str:
    full = tmp / f"{cid}_full.h5"
    with h5py.File(full, "w") as f:
        nxdata(f)
        f.create_dataset("pad", data=np.arange(20000.0))
    p = tmp / f"{cid}.h5"
    p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return str(p)


def write_raw4(path: Path, ranges: list[tuple[float, float, np.ndarray, int]]) -> None:
    """A minimal RAW 4.00 file: preamble, one key/value segment, ranges (start, step, y, rec)."""
    out = bytearray(b"RAW4.00\x00" + b"\x01\x00\x00\x00" + b"01/01/2026\x00\x00" + b"12:00:00")
    out += b"\x00" * (61 - len(out))
    kv = bytearray(struct.pack("<II", 10, 60)) + b"\x00" * 4 + b"SAMPLEID".ljust(24, b"\x00")
    kv += b"NBH-test".ljust(60 - len(kv), b"\x00")
    out += kv
    for start, step, y, rec in ranges:
        hdr = bytearray(struct.pack("<I", 160)) + b"\x00" * 28 + b"Locked Coupled".ljust(24, b"\0")
        hdr += b"\x00" * 16
        drive = bytearray(struct.pack("<III", 50, 64, 2)) + b"2Theta".ljust(24, b"\x00")
        drive += b"\x00" * 20 + struct.pack("<d", start)
        body = struct.pack("<ddIf", start, step, y.size, 1000.0) + b"\x00" * 4
        body += struct.pack("<ff", 40.0, 40.0) + b"\x00" * 4 + struct.pack("<d", 1.5406)
        body += b"\x00" * (64 - len(body)) + struct.pack("<II", rec, len(drive))
        body += b"\x00" * (88 - len(body))
        records = np.zeros((y.size, rec // 4), "<f4")
        records[:, 0] = y
        if rec > 4:
            records[:, 1:] = 7.0
        out += hdr + body + drive + records.tobytes()
    path.write_bytes(bytes(out))


def raw4_truncated(tmp: Path, cid: str) -> Path:
    p = tmp / f"{cid}.raw"
    write_raw4(p, [(10.0, 0.02, np.arange(1.0, 41.0), 8)])
    p.write_bytes(p.read_bytes()[:-100])
    return p


_LAM = 1.5406
_Q = 4 * np.pi * np.sin(np.radians(_X / 2)) / _LAM

# --------------------------------------------------------------------------- the table

# ---- issue 19: hostile inputs (sizes declared before any data is read, wavelength units)


def _huge_axis(f: h5py.File) -> None:
    """A few kB on disk, declaring 400 million points (chunked, compressed fill value)."""
    g = f.create_group("stack")
    ax = g.create_dataset("two_theta", shape=(400_000_000,), dtype="f8", chunks=(1 << 20,),
                          compression="gzip", fillvalue=0.0)
    ax.attrs["units"] = "deg"
    g.create_dataset("counts", shape=(400_000_000,), dtype="f8", chunks=(1 << 20,),
                     compression="gzip", fillvalue=1.0)


def _many_rows(f: h5py.File) -> None:
    g = f.create_group("stack")
    g.create_dataset("two_theta", data=_X).attrs["units"] = "deg"
    g.create_dataset("counts", shape=(50_000_000, _X.size), dtype="f4", chunks=(1024, _X.size),
                     compression="gzip", fillvalue=1.0)


def _huge_chunk(f: h5py.File) -> None:
    """One row of this stack lies in a 1.5 GB chunk of zeros."""
    x = np.linspace(10.0, 80.0, 100_000)
    g = f.create_group("stack")
    g.create_dataset("two_theta", data=x).attrs["units"] = "deg"
    g.create_dataset("counts", shape=(2_000, x.size), dtype="f8", chunks=(2_000, 100_000),
                     compression="gzip", fillvalue=1.0)


def _wavelength(value: float, units: str | None) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        nxdata(f)
        ds = f["entry"].create_dataset("wavelength", data=value)
        if units is not None:
            ds.attrs["units"] = units

    return build


def rasx_bomb(tmp: Path, cid: str) -> Path:
    """A .rasx whose profile declares 300 MB of text (a 0.6 MB deflated stream)."""
    import zipfile

    p = tmp / f"{cid}.rasx"
    line = b"10.0 1 1\n" * 100_000
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("Data0/Profile0.txt", "w", force_zip64=True) as fh:
            for _ in range(int(3e8) // len(line)):
                fh.write(line)
    return p


def long_text_scan(tmp: Path, cid: str) -> Path:
    """A text scan with more lines than MAX_SCAN_POINTS (refused before parsing)."""
    from xrdkit.scans import MAX_SCAN_POINTS

    n = MAX_SCAN_POINTS + 20_000
    x = 10.0 + np.arange(n) * (150.0 / n)
    p = tmp / f"{cid}.xy"
    p.write_bytes(b"".join(f"{v:.6f} 5\n".encode() for v in x))
    return p



CASES: list[BadInput] = [
    # ---- make_scan: arrays
    BadInput("ms_nan", "make_scan", arrays(y=np.r_[_Y[:5], np.nan, _Y[6:]]), "non-finite",
             "NaN in counts"),
    BadInput("ms_inf_axis", "make_scan", arrays(x=np.r_[_X[:-1], np.inf]), "non-finite",
             "inf in 2θ"),
    BadInput("ms_huge", "make_scan", arrays(y=np.r_[_Y[:-1], float("1e400")]), "non-finite",
             "overflowing huge value"),
    BadInput("ms_negative", "make_scan", arrays(y=_Y - 200), "negative values",
             "background-subtracted counts"),
    BadInput("ms_all_zero", "make_scan", arrays(y=np.zeros(40)), "zero everywhere",
             "all-zero signal"),
    BadInput("ms_descending", "make_scan", arrays(x=_X[::-1]), "decreasing", "descending 2θ"),
    BadInput("ms_duplicated", "make_scan", arrays(x=np.r_[_X[:10], _X[9], _X[11:]]),
             "duplicated", "repeated 2θ value"),
    BadInput("ms_nonmonotonic", "make_scan",
             arrays(x=np.r_[_X[:20], _X[25:30], _X[20:25], _X[30:]]), "strictly increasing",
             "shuffled 2θ"),
    BadInput("ms_d_axis", "make_scan",
             arrays(x=_LAM / (2 * np.sin(np.radians(_X / 2)))), "strictly increasing",
             "d-spacings given as 2θ"),
    BadInput("ms_over_180", "make_scan", arrays(x=np.linspace(10, 200, 40)), "radians, q or d",
             "2θ beyond 180°"),
    BadInput("ms_negative_axis", "make_scan", arrays(x=np.linspace(-5, 60, 40)), "must lie in",
             "negative 2θ"),
    BadInput("ms_single_point", "make_scan", arrays(x=[20.0], y=[5.0]), "at least 2",
             "one point"),
    BadInput("ms_empty", "make_scan", arrays(x=[], y=[]), "0 points", "no points"),
    BadInput("ms_length_mismatch", "make_scan", arrays(y=_Y[:-3]), "but intensity has",
             "axis and counts of different lengths"),
    BadInput("ms_strings", "make_scan", arrays(y=["a"] * 40), "not numeric", "text counts"),
    BadInput("ms_2d", "make_scan", arrays(y=np.ones((40, 2))), "must be 1-d", "2-D counts"),
    BadInput("ms_sigma_zero", "make_scan", arrays(sigma=np.zeros(40)), "sigma must be",
             "zero uncertainties"),
    BadInput("ms_sigma_length", "make_scan", arrays(sigma=np.ones(5)), "sigma has",
             "σ of wrong length"),
    BadInput("ms_wavelength", "make_scan", arrays(wavelength_angstrom=154.06),
             "outside 0.01–10", "wavelength in pm"),
    # ---- text files
    BadInput("txt_empty", "read_scan", text(""), "empty", "empty file"),
    BadInput("txt_blank", "read_scan", text("\n  \n\t\n"), "empty", "whitespace only"),
    BadInput("txt_comments_only", "read_scan", text("# a\n! b\n; c\n"), "no numeric data",
             "comments only"),
    BadInput("txt_header_only", "read_scan", text("2theta intensity\n"), "no numeric data",
             "header without data"),
    BadInput("txt_one_column", "read_scan", text("".join(f"{v}\n" for v in _X)), "1 column",
             "one column"),
    BadInput("txt_four_columns", "read_scan", text("10 1 2 3\n11 1 2 3\n"), "4 columns",
             "four columns"),
    BadInput("txt_ragged", "read_scan", text(columns(_X[:5], _Y[:5]) + "15 3 4\n"),
             "3 columns, but", "a row with an extra column"),
    BadInput("txt_mixed_delims", "read_scan",
             text(columns(_X[:5], _Y[:5], ",") + columns(_X[5:], _Y[5:], " "), ".csv"),
             "mixed delimiters", "comma then whitespace"),
    BadInput("txt_stray_text", "read_scan",
             text(columns(_X[:3], _Y[:3]) + "end of scan\n" + columns(_X[3:], _Y[3:])),
             "line 4: stray text", "text inside the data"),
    BadInput("txt_bad_number", "read_scan", text(columns(_X[:3], _Y[:3]) + "12.3.4 5\n"),
             "stray text", "malformed number"),
    BadInput("txt_nan", "read_scan", text(columns(_X, np.r_[_Y[:-1], np.nan])), "non-finite",
             "nan in a file"),
    BadInput("txt_huge", "read_scan", text("10 5\n11 1e999\n12 4\n"),
             "non-finite", "1e999 overflows"),
    BadInput("txt_negative", "read_scan", text(columns(_X, _Y - 500)), "negative values",
             "negative counts"),
    BadInput("txt_all_zero", "read_scan", text(columns(_X, np.zeros(40))), "zero everywhere",
             "all-zero counts"),
    BadInput("txt_descending", "read_scan", text(columns(_X[::-1], _Y)), "decreasing",
             "descending 2θ"),
    BadInput("txt_duplicated", "read_scan", text(columns(np.r_[_X[:3], _X[2:]], np.r_[_Y, 1])),
             "duplicated", "a repeated row"),
    BadInput("txt_radians", "read_scan", text(columns(np.radians(_X), _Y)), "radians",
             "2θ in radians without a header"),
    BadInput("txt_q_no_unit", "read_scan", text("q I\n" + columns(_Q, _Y)), "names a q axis",
             "q column without a unit"),
    BadInput("txt_q_no_wavelength", "read_scan", text("q (1/A) I\n" + columns(_Q, _Y)),
             "no wavelength", "q in Å⁻¹ and no wavelength"),
    BadInput("txt_d_header", "read_scan", text("d I\n" + columns(_X, _Y)), "names a d axis",
             "d-spacing column"),
    BadInput("txt_single_point", "read_scan", text("20 5\n"), "at least 2", "one row"),
    BadInput("txt_binary", "read_scan", raw_bytes(b"\x00\x01\x02garbage\x00" * 20, ".xy"),
             "binary content", "binary garbage in a .xy"),
    BadInput("txt_missing", "read_scan", lambda tmp, cid: tmp / f"{cid}.xy", "not found",
             "file does not exist"),
    BadInput("txt_folder", "read_scan",
             lambda tmp, cid: (tmp / f"{cid}.xy").mkdir() or tmp / f"{cid}.xy", "folder",
             "a directory"),
    BadInput("txt_wavelength_text", "read_scan_lam",
             lambda tmp, cid: (text(columns(_X, _Y))(tmp, cid), "1.54 Å"), "not a number",
             "wavelength given as text"),
    BadInput("txt_wavelength_pm", "read_scan_lam",
             lambda tmp, cid: (text(columns(_X, _Y))(tmp, cid), 154.06), "outside 0.01–10",
             "wavelength in pm"),
    # ---- .xrdml
    BadInput("xrdml_truncated", "read_scan", xrdml(scan_xml(POS_OK), truncate=300),
             "not well-formed", "file cut mid-way"),
    BadInput("xrdml_wrong_root", "read_scan", xrdml(scan_xml(POS_OK), root="other"),
             "not <xrdmeasurements>", "another XML document"),
    BadInput("xrdml_no_scan", "read_scan", xrdml(""), "no <xrdmeasurement>/<scan>",
             "measurement without scans"),
    BadInput("xrdml_no_counts", "read_scan",
             xrdml(f"<scan><dataPoints>{POS_OK}</dataPoints></scan>"), "neither <counts>",
             "no intensities"),
    BadInput("xrdml_list_mismatch", "read_scan",
             xrdml(scan_xml('<positions axis="2Theta" unit="deg"><listPositions>1 2 3'
                            "</listPositions></positions>")), "listpositions",
             "3 positions for 4 counts"),
    BadInput("xrdml_no_2theta", "read_scan",
             xrdml(scan_xml('<positions axis="Omega" unit="deg"><startPosition>1'
                            "</startPosition><endPosition>2</endPosition></positions>")),
             "no <positions axis", "only an Omega axis"),
    BadInput("xrdml_rocking", "read_scan",
             xrdml(scan_xml('<positions axis="2Theta" unit="deg"><commonPosition>30'
                            "</commonPosition></positions>")), "not a 2θ scan",
             "rocking curve (fixed 2θ)"),
    BadInput("xrdml_bad_counts", "read_scan", xrdml(scan_xml(POS_OK, "1 2 x 4")),
             "non-number", "text among the counts"),
    # ---- .rasx
    BadInput("rasx_not_zip", "read_scan", text("hello", ".rasx"), "not a readable .rasx",
             "a text file named .rasx"),
    BadInput("rasx_no_profile", "read_scan", rasx({"root.xml": "<Root/>"}), "no profile",
             "archive without a profile"),
    BadInput("rasx_bad_rows", "read_scan", rasx({"Data0/Profile0.txt": "10\t5\t1\nabc\n"}),
             "not numbers", "garbage rows"),
    # ---- Rigaku .ras
    BadInput("ras_unterminated", "read_scan",
             text("*RAS_DATA_START\n*RAS_INT_START\n10 5 1\n11 6 1\n", ".ras"),
             "not closed", "block cut before *RAS_INT_END"),
    BadInput("ras_no_block", "read_scan", text("*RAS_DATA_START\n*FILE_SAMPLE \"x\"\n", ".ras"),
             "no *ras_int_start", "header without data"),
    BadInput("ras_omega_axis", "read_scan",
             text("*RAS_DATA_START\n*MEAS_SCAN_AXIS_X \"Omega\"\n*RAS_INT_START\n10 5\n"
                  "11 6\n*RAS_INT_END\n", ".ras"), "not 2θ", "an ω scan"),
    BadInput("ras_stray_text", "read_scan",
             text("*RAS_DATA_START\n*RAS_INT_START\n10 5\noops\n*RAS_INT_END\n", ".ras"),
             "stray text", "text inside the data"),
    # ---- GSAS
    BadInput("gsas_short_bank", "read_scan",
             text("title\nBANK 1 50 5 CONST 1000 2.5 0 0 STD\n" + "     100" * 10 + "\n",
                  ".gsa"), "declares 50 points", "bank with fewer points than declared"),
    BadInput("gsas_tof", "read_scan",
             text("title\nBANK 1 10 1 TIME_MAP 1 0 0 0 STD\n" + "     100" * 10 + "\n",
                  ".gsa"), "not supported", "time-of-flight bank"),
    BadInput("gsas_bad_field", "read_scan",
             text("title\nBANK 1 10 1 CONST 1000 2.5 0 0 STD\n" + "   abcde" * 10 + "\n",
                  ".gsa"), "malformed data field", "letters in a data field"),
    # ---- Bruker .raw
    BadInput("raw_v3", "read_scan", raw_bytes(b"RAW1.01" + b"\x00" * 800, ".raw"),
             "not supported", "an older RAW version"),
    BadInput("raw_header_only", "read_scan", raw_bytes(b"RAW4.00" + b"\x00" * 54, ".raw"),
             "no measurement range", "RAW4 preamble only"),
    BadInput("raw_truncated", "read_scan", raw4_truncated, "truncated", "data cut short"),
    # ---- HDF5
    BadInput("h5_not_hdf5", "list_scans", text("just text", ".h5"), "not an hdf5 file",
             "text named .h5"),
    BadInput("h5_truncated", "list_scans", truncated_hdf5, "truncated or damaged",
             "half an HDF5 file"),
    BadInput("h5_empty_file", "read_scan", text("", ".h5"), "empty", "zero-byte .h5"),
    BadInput("h5_no_scan", "list_scans", h5(lambda f: f.create_dataset("m", data=np.eye(3))),
             "no 1-d scan found", "nothing scan-like"),
    BadInput("h5_dangling_root_default", "list_scans",
             h5(lambda f: nxdata(f, root_default="missing")), "does not exist",
             "root @default names a missing entry"),
    BadInput("h5_dangling_entry_default", "list_scans", h5(lambda f: nxdata(f, default="nope")),
             "@default of /entry", "entry @default names a missing group"),
    BadInput("h5_no_signal_attr", "list_scans", h5(lambda f: nxdata(f, signal=None)),
             "no @signal", "NXdata without @signal"),
    BadInput("h5_signal_missing", "list_scans", h5(lambda f: nxdata(f, signal="counts")),
             "@signal points at 'counts'", "@signal names a missing dataset"),
    BadInput("h5_axes_missing", "list_scans", h5(lambda f: nxdata(f, axes=None)), "no @axes",
             "NXdata without @axes"),
    BadInput("h5_axes_target_missing", "list_scans", h5(lambda f: nxdata(f, axes="q")),
             "@axes points at 'q'", "@axes names a missing dataset"),
    BadInput("h5_mismatched", "list_scans",
             h5(lambda f: nxdata(f, data={"I": (_Y[:30], None), "tth": (_X, "deg")})),
             "points per scan but axis", "signal shorter than axis"),
    BadInput("h5_string_dtype", "list_scans",
             h5(lambda f: nxdata(f, data={"I": (np.array(["a"] * 40, dtype="S1"), None),
                                          "tth": (_X, "deg")})), "not numbers",
             "string signal"),
    BadInput("h5_bad_index", "read_hdf5_scan", h5(lambda f: nxdata(f), "::/entry[7]"),
             "no scan at", "stack row that does not exist"),
    BadInput("h5_bad_path", "read_hdf5_scan", h5(lambda f: nxdata(f), "::/elsewhere"),
             "no scan at", "path not in the file"),
    BadInput("h5_q_no_wavelength", "read_scan",
             h5(lambda f: nxdata(f, data={"I": (_Y, None), "tth": (_Q, "1/angstrom")})),
             "no wavelength", "q axis, no wavelength anywhere"),
    BadInput("h5_q_in_wrong_unit", "read_scan",
             h5(lambda f: (nxdata(f, data={"I": (_Y, None), "tth": (_Q * 10, "1/angstrom")}),
                           f.attrs.create("wavelength", _LAM))), "has no 2θ",
             "q in nm⁻¹ labelled Å⁻¹"),
    BadInput("h5_axis_no_units", "read_scan",
             h5(lambda f: nxdata(f, axes="x", data={"I": (_Y, None), "x": (_X, None)})),
             "has no @units", "unnamed axis without units"),
    BadInput("h5_unknown_units", "read_scan",
             h5(lambda f: nxdata(f, data={"I": (_Y, None), "tth": (_X, "furlongs")})),
             "cannot be converted to 2θ", "unknown axis unit"),
    BadInput("h5_nan", "read_scan",
             h5(lambda f: nxdata(f, data={"I": (np.r_[np.nan, _Y[1:]], None),
                                          "tth": (_X, "deg")})), "non-finite", "NaN signal"),
    BadInput("h5_negative", "read_scan",
             h5(lambda f: nxdata(f, data={"I": (_Y - 1000, None), "tth": (_X, "deg")})),
             "negative values", "negative signal"),
    BadInput("h5_descending", "read_scan",
             h5(lambda f: nxdata(f, data={"I": (_Y, None), "tth": (_X[::-1], "deg")})),
             "decreasing", "descending 2θ in NeXus"),
    BadInput("h5_bare_duplicated_axis", "read_scan",
             h5(lambda f: (f.create_dataset("scan/two_theta", data=np.r_[_X[:5], _X[4:]]),
                           f.create_dataset("scan/intensity", data=np.r_[_Y, 1.0]))),
             "duplicated", "bare group with a repeated 2θ"),
    BadInput("h5_bare_mismatch", "list_scans",
             h5(lambda f: (f.create_dataset("scan/two_theta", data=_X),
                           f.create_dataset("scan/intensity", data=_Y[:-1]))),
             "no 1-d scan found", "bare axis and signal of different lengths"),
    BadInput("h5_signal_is_group", "list_scans",
             h5(lambda f: nxdata(f, data={"tth": (_X, "deg")}).create_group("I")),
             "is a group", "@signal names a group"),
    # ---- issue 19: hostile inputs
    BadInput("h5_huge_declared_axis", "list_scans", h5(_huge_axis), "more than the limit",
             "kB file declaring a 400-million-point scan"),
    BadInput("h5_huge_declared_axis_probe", "read_scan", h5(_huge_axis), "more than the limit",
             "the same through the child-process probe"),
    BadInput("h5_many_rows", "list_scans", h5(_many_rows), "50,000,000 scans",
             "a stack declaring 50 million scans"),
    BadInput("h5_huge_chunk", "list_scans", h5(_huge_chunk), "chunks of",
             "one row inside a 1.5 GB compressed chunk"),
    BadInput("h5_wavelength_pm_without_units", "read_scan", h5(_wavelength(154.06, None)),
             "outside 0.01", "154.06 (pm) given without units: never replaced by Cu Kα"),
    BadInput("h5_wavelength_unknown_unit", "read_scan", h5(_wavelength(1.5, "furlong")),
             "has unit 'furlong'", "wavelength in an unknown unit"),
    BadInput("h5_wavelength_zero", "read_scan", h5(_wavelength(0.0, "angstrom")),
             "must be a positive number", "wavelength 0"),
    BadInput("h5_wavelength_absurd_kev", "read_scan", h5(_wavelength(1e6, "keV")),
             "outside 0.01", "1 GeV photons"),
    BadInput("rasx_bomb", "read_scan", rasx_bomb, "expands from", "zip bomb .rasx (300 MB profile)"),
    BadInput("text_too_many_points", "read_scan", long_text_scan, "more points than the limit",
             "a text scan longer than MAX_SCAN_POINTS"),
    BadInput("counts_1e300", "make_scan", arrays(y=np.full(_X.size, 1e300)), "exceeds",
             "counts of 1e300"),
    BadInput("sigma_tiny", "make_scan", arrays(sigma=np.full(_X.size, 1e-200)), "sigma must lie",
             "σ of 1e-200 (weights overflow)"),
    BadInput("text_counts_1e300", "read_scan", text(columns(_X, np.full(_X.size, 1e300))),
             "exceeds", "a text scan with counts of 1e300"),
]
