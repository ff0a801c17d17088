"""Read powder patterns: text columns, PANalytical .xrdml, Rigaku .rasx / .ras, GSAS, Bruker .raw
(version 4) and HDF5 (``FILE.h5::/path``, via :mod:`xrdkit.hdf5`).

Every reader returns :class:`xrdkit.scans.Scan` objects built by
:func:`xrdkit.scans.make_scan`, with ``source`` naming the file, so every
problem surfaces as an :class:`~xrdkit.errors.InputError` naming the file and
what is wrong (and, for text, the line).

Why own parsers: ``xylib-py`` (and ``xylib-py-wheels``) ship only C++ source
distributions that need Boost to build; FAIRmat's ``fairmat-readers-xrd`` installs but
pulls in pint and xmltodict and reads Bruker RAW4 at absolute offsets taken from one file
with a fixed 8-byte record stride (wrong for files with other record sizes). The
parsers here are small and explicit, and tested against the real files and independent
parses of them:

* ``.xrdml`` — PANalytical XML (schemas 1.x), stdlib :mod:`xml.etree`; the 2θ
  axis from ``startPosition``/``endPosition`` (evenly spaced, as the schema
  defines) or ``listPositions``; ``counts`` (raw, multiplied by
  ``beamAttenuationFactors`` when present) or ``intensities``; the Kα1
  wavelength from ``usedWavelength``.
* ``.rasx`` — a zip holding ``Data*/Profile*.txt`` (columns 2θ, intensity,
  attenuator coefficient; intensity × coefficient is the corrected value) and
  ``Data*/MesurementConditions*.xml`` (wavelength, target, axis, units).
* ``.raw`` — Bruker RAW 4.00, read as a walk over its segment chain (61-byte
  preamble, then ``(uint32 kind, uint32 length)`` segments; kinds 0 and 160
  start a range whose header gives start, step, point count, the record size
  and the size of the nested drive records; each data record's first float32 is
  the intensity). Layout from the public descriptions of the format (xylib,
  GSAS-II ``G2pwd_BrukerRAW``), checked on the real file in
  ``shared/realdata/xrd_formats``. Older RAW versions are refused.
* ``.ras`` — Rigaku text: ``*KEY "value"`` headers, rows between ``*RAS_INT_START``
  and ``*RAS_INT_END`` (2θ, intensity, attenuator coefficient).
* GSAS powder data (``.gsa``/``.xra``/``.fxye`` …) — ``BANK`` records in STD, ESD or
  FXYE form (constant-wavelength only), e.g. the PbSO4 round-robin ``PBSO4.XRA``.
* text — two or three columns (2θ, intensity, σ), see :func:`read_text_scan`.

Dispatch is by content first (HDF5 / zip / RAW magic bytes, XML root, ``*RAS`` and
``BANK`` lines), then by extension, so misnamed files are still read correctly.
"""

from __future__ import annotations

import logging
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xrdkit import hdf5
from xrdkit.errors import InputError, limit_from_env
from xrdkit.scans import MAX_SCAN_POINTS, Scan, check_n_points, make_scan

__all__ = [
    "read_scan",
    "read_scans",
    "read_text_scan",
    "read_xrdml",
    "read_rasx",
    "read_ras",
    "read_gsas",
    "read_bruker_raw",
    "read_bruker_raw_ranges",
    "BrukerRange",
    "detect_format",
    "TEXT_SUFFIXES",
]

logger = logging.getLogger(__name__)

#: Extensions read as delimited text columns.
TEXT_SUFFIXES = (".xy", ".xye", ".csv", ".prn", ".dat", ".txt", ".asc", ".tsv")
#: Extensions of GSAS powder data files (STD / ESD / FXYE banks).
GSAS_SUFFIXES = (".gsa", ".gss", ".gsas", ".gda", ".xra", ".fxye")
#: Characters that start a comment line in text files.
COMMENT_CHARS = ("#", "!", ";", "%", "//")
#: A text scan whose whole 2θ axis lies below this is taken to be in radians (π rad = 180°):
#: the closo-borate reflections of interest start near 15° 2θ for Cu Kα.
RADIAN_SUSPECT_MAX = float(np.pi)
#: Files larger than this are refused by every non-HDF5 reader before they are read
#: (``XRDKIT_MAX_INPUT_BYTES``; a 1-D scan of :data:`~xrdkit.scans.MAX_SCAN_POINTS` points is a
#: few MB of text).
MAX_INPUT_BYTES = int(limit_from_env("XRDKIT_MAX_INPUT_BYTES", 200_000_000))
#: Former name of :data:`MAX_INPUT_BYTES`.
MAX_TEXT_BYTES = MAX_INPUT_BYTES
#: Largest uncompressed member of a .rasx (zip) archive read (``XRDKIT_MAX_ARCHIVE_MEMBER_BYTES``),
#: checked on the archive's declared sizes before anything is decompressed.
MAX_ARCHIVE_MEMBER_BYTES = int(limit_from_env("XRDKIT_MAX_ARCHIVE_MEMBER_BYTES", 64_000_000))
#: Largest expansion ratio (uncompressed / compressed) of a .rasx member: scan text compresses
#: about 3–10×; a zip bomb compresses by 1000× and more.
MAX_ARCHIVE_RATIO = limit_from_env("XRDKIT_MAX_ARCHIVE_RATIO", 200.0)
#: Header/comment lines a text scan may have beyond its data lines (line-count check before
#: parsing: more than MAX_SCAN_POINTS + this many lines is refused).
MAX_HEADER_LINES = 10_000


def check_input_size(path: Path) -> None:
    """InputError when ``path`` is larger than :data:`MAX_INPUT_BYTES` (before reading it)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=str(path)) from None
    if size > MAX_INPUT_BYTES:
        raise InputError(f"file is {size / 1e6:,.0f} MB, more than the limit of "
                         f"{MAX_INPUT_BYTES / 1e6:,.0f} MB for a scan file (XRDKIT_MAX_INPUT_BYTES)",
                         source=str(path))


def _check_line_count(data: bytes | str, src: str) -> None:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    n_lines = data.count(newline)  # type: ignore[arg-type]
    if n_lines > MAX_SCAN_POINTS + MAX_HEADER_LINES:
        raise InputError(f"{n_lines:,} lines: more points than the limit of {MAX_SCAN_POINTS:,} "
                         "(XRDKIT_MAX_SCAN_POINTS); bin or crop the scan first", source=src)


# --------------------------------------------------------------------------- dispatch


def detect_format(path: Path) -> str:
    """Return ``hdf5``, ``xrdml``, ``rasx``, ``ras``, ``gsas``, ``raw`` or ``text`` from the content (then the name).

    Parameters
    ----------
    path : Path
        The scan file. Its first 512 bytes are read (magic bytes, XML root, ``*RAS`` and
        ``BANK`` lines); the suffix decides only when the content does not.

    Returns
    -------
    str
        The reader :func:`read_scans` will use.

    Raises
    ------
    InputError
        Missing, unreadable or empty file.

    Examples
    --------
    The content wins over the name: an HDF5 file is HDF5 whatever it is called.

    >>> import pathlib, shutil, tempfile
    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import detect_format
    >>> detect_format(example_file("electrodes.h5"))
    'hdf5'
    >>> renamed = pathlib.Path(tempfile.mkdtemp()) / "electrodes.xy"
    >>> detect_format(shutil.copyfile(example_file("electrodes.h5"), renamed))
    'hdf5'
    >>> _ = renamed.write_text("10.00 120\\n10.02 131\\n")
    >>> detect_format(renamed)
    'text'
    """
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_dir():
        raise InputError("is a folder, not a file", source=str(path))
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc})", source=str(path)) from None
    if not head:
        raise InputError("the file is empty", source=str(path))
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"PK\x03\x04"):
        return "rasx"
    if head.startswith((b"RAW4.00", b"RAW1.01", b"RAW2", b"RAW ")):
        return "raw"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"*RAS_DATA_START"):
        return "ras"
    if any(line.startswith(b"BANK") for line in head.splitlines()[:4]):
        return "gsas"
    if stripped.startswith(b"<") and (b"xrdMeasurement" in head or path.suffix.lower() == ".xrdml"):
        return "xrdml"
    suffix = path.suffix.lower()
    if suffix in hdf5.HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".xrdml":
        return "xrdml"
    if suffix == ".rasx":
        return "rasx"
    if suffix == ".raw":
        return "raw"
    if suffix == ".ras":
        return "ras"
    if suffix in GSAS_SUFFIXES:
        return "gsas"
    return "text"


def read_scans(spec: str | Path, *, wavelength_angstrom: float | None = None) -> list[Scan]:
    """Read every scan a file holds (HDF5 series, several .xrdml scans or .raw ranges …).

    Parameters
    ----------
    spec : str or Path
        A file, or ``FILE.h5::/path[index]`` for one HDF5 scan.
    wavelength_angstrom : float, optional
        Wavelength to use when the file states none (needed for q/d axes);
        overrides the file's value.

    Returns
    -------
    list of Scan
        In file order (HDF5: the order of :func:`xrdkit.hdf5.list_scans`), each on a strictly
        increasing 2θ axis in degrees with its ``source`` (``FILE.h5::/path[index]`` for HDF5)
        and metadata; a single-scan file gives a list of one.

    Raises
    ------
    InputError
        Naming the file and the problem.

    Examples
    --------
    The bundled heating stack (constructed data, see :mod:`xrdkit.data`) holds 24 scans of a
    ramp from 25 to 180 °C, each over 5–60° 2θ:

    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scans
    >>> scans = read_scans(example_file("heating_stack.h5"))
    >>> len(scans)
    24
    >>> first, last = scans[0], scans[-1]
    >>> float(first.two_theta_deg[0]), round(float(first.two_theta_deg[-1]), 2)
    (5.0, 59.99)
    >>> first.metadata["temperature"], last.metadata["temperature"], last.metadata["temperature_units"]
    (25.0, 180.0, 'degC')
    >>> last.source.endswith("heating_stack.h5::/heating[23]")
    True

    A text file holds one scan; without a wavelength in the file, give one for q or d axes:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.xy"
    >>> _ = path.write_text("10.00 120\\n10.02 131\\n10.04 125\\n")
    >>> [s.wavelength_angstrom for s in read_scans(path, wavelength_angstrom=1.5406)]
    [1.5406]
    """
    text = str(spec)
    wavelength_angstrom = hdf5.check_wavelength_arg(wavelength_angstrom, text)
    if hdf5.SPEC_SEPARATOR in text:
        return [hdf5.read_hdf5_scan(text, wavelength_angstrom=wavelength_angstrom)]
    path = Path(text)
    kind = detect_format(path)
    if kind != "hdf5":
        check_input_size(path)
    if kind == "hdf5":
        return list(hdf5.iter_scans(hdf5.list_scans(path),
                                    wavelength_angstrom=wavelength_angstrom))
    if kind == "xrdml":
        scans = read_xrdml(path)
    elif kind == "rasx":
        scans = read_rasx(path)
    elif kind == "raw":
        scans = read_bruker_raw(path)
    elif kind == "ras":
        scans = read_ras(path)
    elif kind == "gsas":
        scans = read_gsas(path)
    else:
        return [read_text_scan(path, wavelength_angstrom=wavelength_angstrom)]
    if wavelength_angstrom is not None:
        scans = [_with_wavelength(s, wavelength_angstrom) for s in scans]
    return scans


def read_scan(spec: str | Path, *, wavelength_angstrom: float | None = None) -> Scan:
    """Read one scan from a file or ``FILE.h5::/path[index]``.

    The format is recognised by content first (HDF5, zip, Bruker RAW magic bytes, XML root,
    Rigaku ``*RAS`` and GSAS ``BANK`` lines), then by extension (see the module docstring). A file
    holding several scans is an error that lists them (use :func:`read_scans`, or name one with
    ``::``).

    Parameters
    ----------
    spec : str or Path
        A scan file — text columns (2θ, intensity[, σ]; ``.xy``, ``.xye``, ``.csv`` …),
        PANalytical ``.xrdml``, Rigaku ``.rasx`` / ``.ras``, Bruker ``.raw`` (v4), GSAS powder
        data — or one scan of an HDF5/NeXus file as ``FILE.h5::/path/to/data`` (a stack of scans:
        ``FILE.h5::/path[index]``; see :mod:`xrdkit.hdf5`). An HDF5 file without ``::`` must hold
        exactly one scan.
    wavelength_angstrom : float, optional
        Wavelength to use when the file states none (needed for q or d axes); overrides the
        file's value, which is then kept as ``metadata["file_wavelength_angstrom"]``.

    Returns
    -------
    Scan
        The pattern on a strictly increasing 2θ axis in degrees, with ``counts``, ``sigma``
        (the file's, else Poisson ``sqrt(max(counts, 1))``), ``wavelength_angstrom`` (or None),
        ``source`` naming the file (and HDF5 path) and the reader's ``metadata`` (temperature,
        time, sample name … where the file has them).

    Raises
    ------
    InputError
        Naming the file and the problem (missing, unreadable, unknown format, several scans,
        bad values with their line for text).

    Examples
    --------
    One scan of a bundled example file (constructed data, see :mod:`xrdkit.data`):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scan
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    >>> scan.n_points, round(float(scan.two_theta_deg[0]), 3), scan.wavelength_angstrom
    (4000, 5.0, 1.5405929)
    >>> scan.metadata["temperature"], scan.metadata["temperature_units"]
    (25.0, 'degC')

    A two-column text file:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.xy"
    >>> _ = path.write_text("# 2theta counts\\n10.00 120\\n10.02 131\\n10.04 125\\n")
    >>> s = read_scan(path)
    >>> s.two_theta_deg.tolist(), s.counts.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0])

    A file with several scans names them:

    >>> read_scan(example_file("electrodes.h5"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...
    """
    text = str(spec)
    wavelength_angstrom = hdf5.check_wavelength_arg(wavelength_angstrom, text)
    if hdf5.SPEC_SEPARATOR in text:
        return hdf5.read_hdf5_scan(text, wavelength_angstrom=wavelength_angstrom)
    path = Path(text)
    if detect_format(path) == "hdf5":
        return hdf5.read_hdf5_scan(text, wavelength_angstrom=wavelength_angstrom)
    scans = read_scans(path, wavelength_angstrom=wavelength_angstrom)
    if len(scans) != 1:
        raise InputError(f"file holds {len(scans)} scans; use read_scans()", source=text)
    return scans[0]


def _with_wavelength(scan: Scan, wavelength_angstrom: float) -> Scan:
    meta = dict(scan.metadata)
    if scan.wavelength_angstrom is not None:
        meta["file_wavelength_angstrom"] = scan.wavelength_angstrom
    return make_scan(scan.two_theta_deg, scan.counts, scan.sigma,
                     wavelength_angstrom=wavelength_angstrom, source=scan.source, metadata=meta)


# --------------------------------------------------------------------------- text


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                     re.IGNORECASE)
#: Characters that cannot occur in a row of numbers (letters other than e/E/d/D, quotes …).
_STRAY = re.compile(r"[^0-9\s.,;+\-eEdD]")
_NONFINITE = re.compile(r"(?i)\b(nan|inf(inity)?)\b")
_DELIM_NAMES = {";": "semicolon", ",": "comma", None: "whitespace", "\t": "tab"}
#: Header words that say the first column is not 2θ in degrees.
_AXIS_HEADER_UNITS = (
    (re.compile(r"\b(q|q_?\w*)\s*[\[(]?\s*(1/nm|nm\^?-1|nm-1)", re.I), "1/nm"),
    (re.compile(r"\b(q|q_?\w*)\s*[\[(]?\s*(1/a|1/å|a\^?-1|å\^?-1|angstrom\^?-1|a-1|å-1)", re.I),
     "1/angstrom"),
    (re.compile(r"^\s*q\b", re.I), "q"),
    (re.compile(r"^\s*d(_?spacing)?\b", re.I), "d"),
    (re.compile(r"\brad(ian)?s?\b", re.I), "rad"),
)


def _is_comment(line: str) -> bool:
    return line.startswith(COMMENT_CHARS)


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [f.strip() for f in line.split(delim)]


def _detect_delimiter(line: str) -> str | None:
    if ";" in line:
        return ";"
    if "," in line:
        # "10,5 123,4" (decimal commas, whitespace separated) is not comma-delimited
        if len(line.split()) >= 2 and all(re.fullmatch(r"[+-]?\d+,\d+", t) for t in line.split()):
            return None
        return ","
    if "\t" in line:
        return "\t"
    return None


def _parse_number(token: str, decimal_comma: bool) -> float:
    t = token.strip()
    if decimal_comma:
        t = t.replace(",", ".")
    if not _NUMBER.match(t):
        raise ValueError(token)
    return float(t.replace("d", "e").replace("D", "e"))


def _header_axis_unit(header: str | None) -> str | None:
    if not header:
        return None
    first = re.split(r"[,;\t]|\s{2,}", header.strip())[0]
    for pattern, unit in _AXIS_HEADER_UNITS:
        if pattern.search(first):
            return unit
    return None


def read_text_scan(path: str | Path, *, wavelength_angstrom: float | None = None) -> Scan:
    """Read a two- or three-column text scan (2θ in degrees, intensity, optional σ).

    Columns may be separated by whitespace, tabs, commas or semicolons (one
    separator per file; decimal commas are accepted with semicolons or
    whitespace). Lines starting with ``#``, ``!``, ``;``, ``%`` or ``//`` are
    comments; text lines before the first number row are a header (a header
    naming a q / d / radian axis is honoured: q and d are converted with the
    wavelength, which must be given). Stray text after the data starts, a
    changed separator or column count, or a non-numeric field is an error that
    names the line.

    Parameters
    ----------
    path : str or Path
        The text file (``.xy``, ``.xye``, ``.csv``, ``.dat`` … ; the extension is not checked).
    wavelength_angstrom : float, optional
        Wavelength in Å, stored on the scan; required when the header names a q axis
        (``q (1/A)``, ``q (1/nm)``), which is converted to 2θ with it.

    Returns
    -------
    Scan
        On a strictly increasing 2θ axis in degrees, with the file's σ column (else Poisson
        ``sqrt(max(counts, 1))``), ``source`` = the path and ``metadata`` holding
        ``format="text"``, the header (when there is one) and ``original_axis_units`` for a
        converted axis.

    Raises
    ------
    InputError
        Naming the file, the line and the problem.

    Examples
    --------
    A semicolon-separated export with decimal commas, a header and a σ column:

    >>> import pathlib, tempfile
    >>> from xrdkit.readers import read_text_scan
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.csv"
    >>> _ = path.write_text("2theta (deg);counts;sigma\\n10,00;120;11\\n10,02;131;11,5\\n10,04;125;11,2\\n")
    >>> scan = read_text_scan(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist(), scan.sigma.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0], [11.0, 11.5, 11.2])
    >>> scan.metadata["header"]
    '2theta (deg);counts;sigma'

    A q axis (Å⁻¹) is converted to 2θ (degrees) with the wavelength (Cu Kα1, Å):

    >>> _ = path.write_text("q (1/A) counts\\n1.0 50\\n2.0 60\\n")
    >>> q_scan = read_text_scan(path, wavelength_angstrom=1.5406)
    >>> q_scan.two_theta_deg.round(3).tolist(), q_scan.metadata["original_axis_units"]
    ([14.084, 28.387], '1/angstrom')

    A stray word inside the data names its line:

    >>> _ = path.write_text("10.00 120\\n10.02 oops\\n")
    >>> read_text_scan(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...line 2: stray text 'oops'...
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("file not found", source=src)
    check_input_size(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("the file is empty", source=src)
    _check_line_count(raw, src)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Windows exports)
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputError("starts with a UTF-16 mark but does not decode as UTF-16",
                             source=src) from None
    if b"\x00" in raw[:4096]:
        raise InputError("binary content (NUL bytes); not a text scan", source=src)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")

    rows: list[list[float]] = []
    header: str | None = None
    delim: str | None = "unset"  # type: ignore[assignment]
    decimal_comma = False
    n_cols = 0
    first_data_line = 0
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or _is_comment(line):
            continue
        if "#" in line:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
        if delim == "unset":
            d = _detect_delimiter(line)
            fields = _split(line, d)
            dc = d in (";", None) and any(re.fullmatch(r"[+-]?\d+,\d+([eE][+-]?\d+)?", f)
                                          for f in fields)
            try:
                [_parse_number(f, dc) for f in fields]
            except ValueError:
                header = line if header is None else header + " | " + line
                if lineno > 200:
                    raise InputError("no numeric data in the first 200 lines", source=src) from None
                continue
            delim, decimal_comma, first_data_line = d, dc, lineno
            n_cols = len(fields)
            if n_cols == 1:
                raise InputError(
                    f"line {lineno}: 1 column ({_DELIM_NAMES.get(d, repr(d))}-separated); "
                    "expected 2 (2θ, intensity) or 3 (2θ, intensity, σ)",
                    source=src,
                )
            if n_cols > 3:
                raise InputError(
                    f"line {lineno}: {n_cols} columns ({_DELIM_NAMES.get(d, repr(d))}-separated); "
                    "expected 2 (2θ, intensity) or 3 (2θ, intensity, σ)",
                    source=src,
                )
        else:
            if _STRAY.search(_NONFINITE.sub("", line)):
                bad = next((f for f in _split(line, None) if not _NUMBER.match(f.strip(",;"))),
                           line)
                raise InputError(
                    f"line {lineno}: stray text {bad[:40]!r} where a number was expected "
                    f"(data started at line {first_data_line})",
                    source=src,
                )
            other = _detect_delimiter(line)
            if other != delim and not (decimal_comma and other in (",", None)) and not (
                delim in (None, "\t") and other in (None, "\t")
            ):
                raise InputError(
                    f"line {lineno}: mixed delimiters — this line is "
                    f"{_DELIM_NAMES.get(other, repr(other))}-separated but line {first_data_line} "
                    f"is {_DELIM_NAMES.get(delim, repr(delim))}-separated",
                    source=src,
                )
            fields = _split(line, delim if delim != "\t" else None)
        if len(fields) != n_cols:
            raise InputError(
                f"line {lineno}: {len(fields)} columns, but the data started with {n_cols} "
                f"at line {first_data_line}",
                source=src,
            )
        try:
            rows.append([_parse_number(f, decimal_comma) for f in fields])
        except ValueError as exc:
            raise InputError(
                f"line {lineno}: stray text {str(exc)!r} where a number was expected",
                source=src,
            ) from None
    if not rows:
        raise InputError("no numeric data rows (only comments or header text)", source=src)
    data = np.array(rows, dtype=float)
    x, y = data[:, 0], data[:, 1]
    sigma = data[:, 2] if n_cols == 3 else None
    meta: dict[str, Any] = {"format": "text"}
    if header:
        meta["header"] = header[:500]
    unit = _header_axis_unit(header)
    if unit in ("q", "d"):
        raise InputError(
            f"the header names a {unit} axis ({header[:60]!r}) without a unit this reader "
            "knows; convert it to 2θ or label it e.g. 'q (1/A)'",
            source=src,
        )
    if unit in ("rad", "1/nm", "1/angstrom"):
        x = hdf5.axis_to_two_theta_deg(x, unit, wavelength_angstrom, source=src)
        meta["original_axis_units"] = unit
    elif np.isfinite(x).all() and x.size > 1 and 0 < np.nanmax(x) <= RADIAN_SUSPECT_MAX:
        raise InputError(
            f"2θ axis spans only {np.nanmin(x):.4g}–{np.nanmax(x):.4g}°; is it in radians "
            "(or q)? Give degrees 2θ, or a header such as '2theta (rad)' / 'q (1/A)'",
            source=src,
        )
    return make_scan(x, y, sigma, wavelength_angstrom=wavelength_angstrom, source=src,
                     metadata=meta)


# --------------------------------------------------------------------------- xrdml


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _find_path(elem: ET.Element, *names: str) -> ET.Element | None:
    cur: ET.Element | None = elem
    for n in names:
        if cur is None:
            return None
        cur = _child(cur, n)
    return cur


def _floats(elem: ET.Element | None, what: str, src: str) -> np.ndarray:
    if elem is None or elem.text is None or not elem.text.strip():
        raise InputError(f"<{what}> is missing or empty", source=src)
    try:
        return np.array(elem.text.split(), dtype=float)
    except ValueError as exc:
        raise InputError(f"<{what}> holds a non-number ({exc})", source=src) from None


def _float_text(elem: ET.Element | None) -> float | None:
    if elem is None or elem.text is None:
        return None
    try:
        return float(elem.text)
    except ValueError:
        return None


def read_xrdml(path: str | Path) -> list[Scan]:
    """Read every 2θ scan of a PANalytical ``.xrdml`` file.

    Parameters
    ----------
    path : str or Path
        The ``.xrdml`` file (schemas 1.x, any namespace version).

    Returns
    -------
    list of Scan
        One per ``<xrdMeasurement>/<scan>``, in file order, on a 2θ axis in degrees
        (``startPosition``…``endPosition`` evenly spaced, or ``listPositions``), with the Kα1
        wavelength in Å from ``usedWavelength``; ``metadata`` holds ``format="xrdml"``, the
        scan axis and mode, the intensity unit, ``counting_time_s``, the anode, Kα2/Kβ
        wavelengths and the sample id/name when the file has them. ``source`` is the path
        (``PATH#scanM.S`` when the file holds several scans).

    Raises
    ------
    InputError
        Malformed XML, no ``<scan>``, no 2θ positions, or counts that do not
        match the positions.

    Examples
    --------
    A minimal file: three counts from 10.00 to 10.04° 2θ, Cu Kα1 (Å), 1 s per step:

    >>> import pathlib, tempfile
    >>> from xrdkit.readers import read_xrdml
    >>> xml = (
    ...     '<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5">'
    ...     '<sample><name>NBH-1</name></sample><xrdMeasurement>'
    ...     '<usedWavelength><kAlpha1 unit="Angstrom">1.5405980</kAlpha1></usedWavelength>'
    ...     '<scan scanAxis="Gonio" mode="Continuous"><dataPoints>'
    ...     '<positions axis="2Theta" unit="deg">'
    ...     '<startPosition>10.00</startPosition><endPosition>10.04</endPosition></positions>'
    ...     '<commonCountingTime unit="seconds">1.0</commonCountingTime>'
    ...     '<counts unit="counts">120 131 125</counts>'
    ...     '</dataPoints></scan></xrdMeasurement></xrdMeasurements>')
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.xrdml"
    >>> _ = path.write_text(xml)
    >>> [scan] = read_xrdml(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist(), scan.wavelength_angstrom
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0], 1.540598)
    >>> scan.metadata["sample_name"], scan.metadata["scan_axis"], scan.metadata["counting_time_s"]
    ('NBH-1', 'Gonio', 1.0)
    """
    path = Path(path)
    src = str(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"not well-formed XML ({exc}); truncated file?", source=src) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc})", source=src) from None
    if _local(root.tag) != "xrdMeasurements":
        raise InputError(f"root element is <{_local(root.tag)}>, not <xrdMeasurements>",
                         source=src)
    sample = _child(root, "sample")
    base_meta: dict[str, Any] = {"format": "xrdml"}
    if sample is not None:
        for key, tag in (("sample_id", "id"), ("sample_name", "name")):
            e = _child(sample, tag)
            if e is not None and e.text and e.text.strip():
                base_meta[key] = e.text.strip()
    scans: list[Scan] = []
    measurements = _children(root, "xrdMeasurement")
    for m_i, meas in enumerate(measurements):
        wl = _find_path(meas, "usedWavelength")
        lam = _float_text(_child(wl, "kAlpha1")) if wl is not None else None
        meta = dict(base_meta)
        if wl is not None:
            for key, tag in (("kalpha2_angstrom", "kAlpha2"), ("kbeta_angstrom", "kBeta"),
                             ("kalpha2_kalpha1_ratio", "ratioKAlpha2KAlpha1")):
                v = _float_text(_child(wl, tag))
                if v is not None:
                    meta[key] = v
        anode = _find_path(meas, "incidentBeamPath", "xRayTube", "anodeMaterial")
        if anode is not None and anode.text:
            meta["anode"] = anode.text.strip()
        for s_i, scan in enumerate(_children(meas, "scan")):
            ssrc = src if len(measurements) == 1 and s_i == 0 else f"{src}#scan{m_i}.{s_i}"
            scans.append(_xrdml_scan(scan, lam, dict(meta), ssrc))
    if not scans:
        raise InputError("no <xrdMeasurement>/<scan> element", source=src)
    return scans


def _xrdml_scan(scan: ET.Element, lam: float | None, meta: dict[str, Any], src: str) -> Scan:
    points = _child(scan, "dataPoints")
    if points is None:
        raise InputError("<scan> has no <dataPoints>", source=src)
    meta["scan_axis"] = scan.get("scanAxis")
    meta["scan_mode"] = scan.get("mode")
    counts_el = _child(points, "counts")
    inten_el = _child(points, "intensities")
    if counts_el is not None:
        y = _floats(counts_el, "counts", src)
        meta["intensity_unit"] = counts_el.get("unit", "counts")
    elif inten_el is not None:
        y = _floats(inten_el, "intensities", src)
        meta["intensity_unit"] = inten_el.get("unit", "counts")
    else:
        raise InputError("<dataPoints> has neither <counts> nor <intensities>", source=src)
    n = y.size
    pos = next((p for p in _children(points, "positions") if p.get("axis") == "2Theta"), None)
    if pos is None:
        axes = [p.get("axis") for p in _children(points, "positions")]
        raise InputError(f"no <positions axis=\"2Theta\"> (axes present: {axes})", source=src)
    if pos.get("unit", "deg") != "deg":
        raise InputError(f"2Theta positions in unit {pos.get('unit')!r}; deg expected", source=src)
    listed = _child(pos, "listPositions")
    if listed is not None:
        x = _floats(listed, "listPositions", src)
        if x.size != n:
            raise InputError(f"{x.size} listPositions for 2Theta but {n} intensities", source=src)
    else:
        start = _float_text(_child(pos, "startPosition"))
        end = _float_text(_child(pos, "endPosition"))
        common = _float_text(_child(pos, "commonPosition"))
        if start is None or end is None:
            if common is not None:
                raise InputError(
                    f"2Theta is fixed at {common}° (scan axis {scan.get('scanAxis')!r}); "
                    "not a 2θ scan",
                    source=src,
                )
            raise InputError("2Theta positions lack startPosition/endPosition", source=src)
        if start == end:
            raise InputError(f"2Theta start = end = {start}° (scan axis "
                             f"{scan.get('scanAxis')!r}); not a 2θ scan", source=src)
        x = np.linspace(start, end, n)
    sigma = None
    att_el = _child(points, "beamAttenuationFactors")
    if att_el is not None and counts_el is not None:
        att = _floats(att_el, "beamAttenuationFactors", src)
        if att.size != n:
            raise InputError(f"{att.size} beamAttenuationFactors but {n} counts", source=src)
        if not np.allclose(att, 1.0):
            sigma = np.sqrt(np.maximum(y, 1.0)) * att
            y = y * att
            meta["attenuation_corrected"] = True
    t = _float_text(_child(points, "commonCountingTime"))
    if t is not None:
        meta["counting_time_s"] = t
    unit = str(meta["intensity_unit"]).lower()
    if sigma is None and t is not None and t > 0 and ("per second" in unit or unit == "cps"):
        # rates: Poisson on the counts actually registered, σ = √(max(r·t, 1)) / t
        sigma = np.sqrt(np.maximum(y * t, 1.0)) / t
    return make_scan(x, y, sigma, wavelength_angstrom=lam, source=src, metadata=meta)


# --------------------------------------------------------------------------- rasx


def read_rasx(path: str | Path) -> list[Scan]:
    """Read the profile(s) of a Rigaku ``.rasx`` file (a zip archive).

    Parameters
    ----------
    path : str or Path
        The ``.rasx`` archive: ``Data*/Profile*.txt`` (columns 2θ in degrees, intensity and
        optionally the attenuator coefficient) with ``Data*/MesurementConditions*.xml``
        (wavelength, target, axis, units) beside each profile.

    Returns
    -------
    list of Scan
        One per profile, on a 2θ axis in degrees, intensity × attenuator coefficient as the
        counts, the Kα1 wavelength (Å) of the conditions file; ``metadata`` holds
        ``format="rasx"``, the anode, scan axis and mode, intensity unit and sample name when
        present. ``source`` is the path (``PATH::MEMBER`` when it holds several profiles).

    Raises
    ------
    InputError
        Not a zip, no ``Profile*.txt``, malformed columns.

    Examples
    --------
    A minimal archive written on the spot (the attenuator coefficient 10 on the last row
    scales its intensity):

    >>> import pathlib, tempfile, zipfile
    >>> from xrdkit.readers import read_rasx
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.rasx"
    >>> with zipfile.ZipFile(path, "w") as zf:
    ...     zf.writestr("Data0/Profile0.txt", "10.00 120 1\\n10.02 131 1\\n10.04 12.5 10\\n")
    ...     zf.writestr("Data0/MesurementConditions0.xml",
    ...                 "<Root><WavelengthKalpha1>1.540593</WavelengthKalpha1>"
    ...                 "<TargetName>Cu</TargetName><AxisName>TwoThetaTheta</AxisName></Root>")
    >>> [scan] = read_rasx(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0])
    >>> scan.wavelength_angstrom, scan.metadata["anode"]
    (1.540593, 'Cu')
    """
    path = Path(path)
    src = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable .rasx (zip) archive ({exc})", source=src) from None
    scans: list[Scan] = []
    with zf:
        names = zf.namelist()
        profiles = sorted(n for n in names if re.search(r"(^|/)Profile\d*\.txt$", n))
        if not profiles:
            raise InputError(f"no Profile*.txt in the archive (holds {names[:10]})", source=src)
        for prof in profiles:
            psrc = src if len(profiles) == 1 else f"{src}::{prof}"
            folder = prof.rsplit("/", 1)[0] if "/" in prof else ""
            idx = re.search(r"Profile(\d*)\.txt$", prof).group(1)  # type: ignore[union-attr]
            cond_name = f"{folder}/MesurementConditions{idx}.xml".lstrip("/")
            meta: dict[str, Any] = {"format": "rasx"}
            lam = None
            for member in (cond_name, prof):
                if member in names:
                    _check_archive_member(zf.getinfo(member), src)
            if cond_name in names:
                lam, cond_meta = _rasx_conditions(zf.read(cond_name), psrc)
                meta.update(cond_meta)
            try:
                body = zf.read(prof).decode("utf-8-sig", errors="replace")
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise InputError(f"cannot extract {prof} ({exc})", source=src) from None
            _check_line_count(body, psrc)
            rows = []
            for lineno, line in enumerate(body.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    rows.append([float(v) for v in line.split()])
                except ValueError:
                    raise InputError(f"{prof} line {lineno}: not numbers: {line[:40]!r}",
                                     source=psrc) from None
                if len(rows[-1]) not in (2, 3) or len(rows[-1]) != len(rows[0]):
                    raise InputError(f"{prof} line {lineno}: {len(rows[-1])} columns",
                                     source=psrc)
            if not rows:
                raise InputError(f"{prof} is empty", source=psrc)
            data = np.array(rows)
            y = data[:, 1] * (data[:, 2] if data.shape[1] == 3 else 1.0)
            scans.append(make_scan(data[:, 0], y, wavelength_angstrom=lam, source=psrc,
                                   metadata=meta))
    return scans


def _check_archive_member(info: zipfile.ZipInfo, src: str) -> None:
    """Refuse a zip member that would expand beyond :data:`MAX_ARCHIVE_MEMBER_BYTES` or by more
    than :data:`MAX_ARCHIVE_RATIO` (declared sizes; zipfile never inflates past the declared
    size)."""
    size, packed = info.file_size, max(info.compress_size, 1)
    if size > MAX_ARCHIVE_MEMBER_BYTES or (size > 1_000_000 and size / packed > MAX_ARCHIVE_RATIO):
        raise InputError(
            f"archive member {info.filename} expands from {packed:,} to {size:,} bytes (limits "
            f"{MAX_ARCHIVE_MEMBER_BYTES:,} bytes, ratio {MAX_ARCHIVE_RATIO:g}: "
            "XRDKIT_MAX_ARCHIVE_MEMBER_BYTES, XRDKIT_MAX_ARCHIVE_RATIO); not a scan",
            source=src,
        )


def _rasx_conditions(xml_bytes: bytes, src: str) -> tuple[float | None, dict[str, Any]]:
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        raise InputError(f"MesurementConditions XML is malformed ({exc})", source=src) from None
    found: dict[str, str] = {}
    for e in root.iter():
        tag = _local(e.tag)
        if tag in ("WavelengthKalpha1", "WavelengthKalpha2", "TargetName", "AxisName",
                   "IntensityUnit", "PositionUnit", "SampleName", "Mode") and tag not in found:
            if e.text and e.text.strip():
                found[tag] = e.text.strip()
    meta: dict[str, Any] = {}
    for key, tag in (("anode", "TargetName"), ("scan_axis", "AxisName"),
                     ("intensity_unit", "IntensityUnit"), ("sample_name", "SampleName"),
                     ("scan_mode", "Mode")):
        if tag in found:
            meta[key] = found[tag]
    if found.get("PositionUnit", "deg").lower() not in ("deg", "degree"):
        raise InputError(f"position unit {found['PositionUnit']!r}; deg expected", source=src)
    if "AxisName" in found and found["AxisName"].lower() not in ("twotheta", "2theta",
                                                                 "twothetatheta"):
        raise InputError(f"scan axis is {found['AxisName']!r}, not 2θ", source=src)
    lam = None
    try:
        lam = float(found["WavelengthKalpha1"]) if "WavelengthKalpha1" in found else None
        if "WavelengthKalpha2" in found:
            meta["kalpha2_angstrom"] = float(found["WavelengthKalpha2"])
    except ValueError:
        lam = None
    return lam, meta


# --------------------------------------------------------------------------- Rigaku .ras


def read_ras(path: str | Path) -> list[Scan]:
    """Read every block of a Rigaku ``.ras`` text file.

    Each ``*RAS_DATA_START`` … ``*RAS_DATA_END`` block is one scan: ``*KEY "value"`` header
    lines (``*HW_XG_WAVE_LENGTH_ALPHA1``, ``*MEAS_SCAN_AXIS_X``, ``*MEAS_SCAN_UNIT_X``,
    ``*FILE_SAMPLE`` …), then rows between ``*RAS_INT_START`` and ``*RAS_INT_END``:
    2θ, intensity and optionally the attenuator coefficient (intensity × coefficient is
    the corrected value).

    Parameters
    ----------
    path : str or Path
        The ``.ras`` file.

    Returns
    -------
    list of Scan
        One per block, in file order, on a 2θ axis in degrees with the Kα1 wavelength (Å)
        of ``*HW_XG_WAVE_LENGTH_ALPHA1`` (or None); ``metadata`` holds ``format="ras"``, the
        scan axis, sample name, anode and intensity unit when present. ``source`` is the path
        (``PATH#blockN`` when the file holds several blocks).

    Raises
    ------
    InputError
        No data block, unterminated block, non-numeric rows, a non-2θ axis.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from xrdkit.readers import read_ras
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.ras"
    >>> _ = path.write_text(
    ...     '*RAS_DATA_START\\n*FILE_SAMPLE "NBH-1"\\n*HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"\\n'
    ...     '*MEAS_SCAN_AXIS_X "TwoThetaTheta"\\n*MEAS_SCAN_UNIT_X "deg"\\n'
    ...     '*RAS_INT_START\\n10.00 120 1\\n10.02 131 1\\n10.04 12.5 10\\n*RAS_INT_END\\n*RAS_DATA_END\\n')
    >>> [scan] = read_ras(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0])
    >>> scan.wavelength_angstrom, scan.metadata["sample_name"]
    (1.540593, 'NBH-1')
    """
    path = Path(path)
    src = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("the file is empty", source=src)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # Rigaku writes Shift-JIS / cp1252 comments
    blocks: list[tuple[dict[str, str], list[list[float]], int]] = []
    header: dict[str, str] = {}
    rows: list[list[float]] | None = None
    start_line = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("*RAS_DATA_START"):
            header, rows, start_line = {}, None, lineno
        elif line.startswith("*RAS_INT_START"):
            rows = []
        elif line.startswith("*RAS_INT_END"):
            if rows is None:
                raise InputError(f"line {lineno}: *RAS_INT_END without *RAS_INT_START",
                                 source=src)
            blocks.append((header, rows, start_line))
            rows = None
        elif line.startswith("*"):
            key, _, value = line[1:].partition(" ")
            header[key] = value.strip().strip('"')
        elif rows is not None:
            try:
                values = [float(v) for v in line.split()]
            except ValueError:
                raise InputError(f"line {lineno}: stray text {line[:40]!r} in the data",
                                 source=src) from None
            if len(values) not in (2, 3) or (rows and len(values) != len(rows[0])):
                raise InputError(f"line {lineno}: {len(values)} columns", source=src)
            rows.append(values)
    if rows is not None:
        raise InputError("data block not closed by *RAS_INT_END; truncated file?", source=src)
    if not blocks:
        raise InputError("no *RAS_INT_START … *RAS_INT_END data block", source=src)
    scans = []
    for i, (hdr, block_rows, line0) in enumerate(blocks):
        bsrc = src if len(blocks) == 1 else f"{src}#block{i}"
        if not block_rows:
            raise InputError(f"data block starting at line {line0} is empty", source=bsrc)
        axis = hdr.get("MEAS_SCAN_AXIS_X", "TwoThetaTheta")
        if "twotheta" not in axis.lower().replace("-", "").replace("/", ""):
            raise InputError(f"scan axis is {axis!r}, not 2θ", source=bsrc)
        if hdr.get("MEAS_SCAN_UNIT_X", "deg").lower() not in ("deg", "degree"):
            raise InputError(f"axis unit {hdr['MEAS_SCAN_UNIT_X']!r}; deg expected", source=bsrc)
        data = np.array(block_rows)
        y = data[:, 1] * (data[:, 2] if data.shape[1] == 3 else 1.0)
        try:
            lam = float(hdr["HW_XG_WAVE_LENGTH_ALPHA1"])
        except (KeyError, ValueError):
            lam = None
        meta: dict[str, Any] = {"format": "ras", "scan_axis": axis}
        for key, tag in (("sample_name", "FILE_SAMPLE"), ("anode", "HW_XG_TARGET_NAME"),
                         ("intensity_unit", "MEAS_SCAN_UNIT_Y")):
            if hdr.get(tag):
                meta[key] = hdr[tag]
        scans.append(make_scan(data[:, 0], y, wavelength_angstrom=lam, source=bsrc,
                               metadata=meta))
    return scans


# --------------------------------------------------------------------------- GSAS


def read_gsas(path: str | Path) -> list[Scan]:
    """Read the constant-wavelength banks of a GSAS powder data file.

    Format (GSAS manual, "powder data file"; as read by GSAS-II ``G2pwd_fxye``): a title
    line, then per bank a ``BANK nbank nchan nrec CONST bcoef1 bcoef2 0 0 type`` line with
    start ``bcoef1`` and step ``bcoef2`` in centidegrees, then ``nrec`` data records:

    * ``STD`` — ten 8-character fields: a 2-character counter number NCTR (blank = 1)
      and the 6-character intensity, the mean of NCTR counts, so σ² = I / NCTR;
    * ``ESD`` — five (intensity, σ) pairs of 8-character fields;
    * ``FXYE`` — free-format lines ``2θ(centidegrees) intensity σ``.

    Only ``nchan`` values are used (the last record is padded). The wavelength lives in
    the instrument (.prm) file, not here: pass it to the caller that needs it.

    Parameters
    ----------
    path : str or Path
        The GSAS powder data file (``.gsa``, ``.gss``, ``.xra``, ``.fxye`` …).

    Returns
    -------
    list of Scan
        One per bank, on a 2θ axis in degrees (the file's centidegrees / 100), with the
        file's σ (STD: √(I / NCTR); ESD, FXYE: the stated values) and no wavelength;
        ``metadata`` holds ``format="gsas"``, the title line and the bank number. ``source`` is
        the path (``PATH#bankN`` when the file holds several banks).

    Raises
    ------
    InputError
        No BANK line, unsupported binning (TOF / RALF / LOG6), malformed fields,
        fewer values than ``nchan``.

    Examples
    --------
    An STD bank of 3 points from 10.00° in 0.02° steps (1000 and 2 centidegrees), one
    80-character record of ten 8-character fields (the unused ones padding):

    >>> import pathlib, tempfile
    >>> from xrdkit.readers import read_gsas
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.gsa"
    >>> record = "     120     131 2   250" + "       0" * 7
    >>> _ = path.write_text("NBH-1 test pattern\\nBANK 1 3 1 CONST 1000 2 0 0 STD\\n" + record + "\\n")
    >>> [scan] = read_gsas(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 250.0])

    The third field is the mean of NCTR = 2 counts, so its σ is √(250 / 2):

    >>> scan.sigma.round(2).tolist(), scan.metadata["title"], scan.wavelength_angstrom
    ([10.95, 11.45, 11.18], 'NBH-1 test pattern', None)
    """
    path = Path(path)
    src = str(path)
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc})", source=src) from None
    bank_lines = [i for i, line in enumerate(lines) if line.startswith("BANK")]
    if not bank_lines:
        raise InputError("no BANK line; not a GSAS powder data file", source=src)
    title = lines[0].strip() if bank_lines[0] > 0 else ""
    scans = []
    for b, i in enumerate(bank_lines):
        bsrc = src if len(bank_lines) == 1 else f"{src}#bank{b + 1}"
        end = bank_lines[b + 1] if b + 1 < len(bank_lines) else len(lines)
        x, y, sigma = _gsas_bank(lines[i], lines[i + 1:end], i + 1, bsrc)
        meta = {"format": "gsas", "title": title, "bank": lines[i].split()[1]}
        scans.append(make_scan(x, y, sigma, source=bsrc, metadata=meta))
    return scans


def _gsas_bank(head: str, body: list[str], lineno: int, src: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    words = head.split()
    try:
        nchan = int(words[2])
        binning = words[4].upper()
        fmt = words[-1].upper() if len(words) > 9 else "STD"
        start, step = float(words[5]) / 100.0, float(words[6]) / 100.0
    except (IndexError, ValueError):
        raise InputError(f"line {lineno}: BANK line {head.strip()[:60]!r} is malformed",
                         source=src) from None
    if binning != "CONST" and fmt != "FXYE":
        raise InputError(f"line {lineno}: binning {binning!r} is not supported "
                         "(constant-wavelength CONST only)", source=src)
    body = [line for line in body if line.strip() and not line.startswith("#")]
    try:
        if fmt == "FXYE":
            data = np.array([[float(v) for v in line.split()[:3]] for line in body])
            if data.ndim != 2 or data.shape[1] != 3:
                raise ValueError("FXYE rows need 3 numbers")
            x, y, sigma = data[:, 0] / 100.0, data[:, 1], data[:, 2]
        elif fmt == "ESD":
            pairs = [(line.ljust(80)[k:k + 8], line.ljust(80)[k + 8:k + 16])
                     for line in body for k in range(0, 80, 16)]
            y = np.array([float(a) if a.strip() else 0.0 for a, _ in pairs])
            sigma = np.array([float(e) if e.strip() else 0.0 for _, e in pairs])
            x = start + step * np.arange(y.size)
        elif fmt == "STD":
            fields = [line.ljust(80)[k:k + 8] for line in body for k in range(0, 80, 8)]
            nctr = np.array([int(f[:2]) if f[:2].strip() else 1 for f in fields], dtype=float)
            y = np.array([float(f[2:]) if f[2:].strip() else 0.0 for f in fields])
            sigma = np.sqrt(np.maximum(y, 1.0) / np.maximum(nctr, 1.0))
            x = start + step * np.arange(y.size)
        else:
            raise InputError(f"line {lineno}: data type {fmt!r} is not supported "
                             "(STD, ESD, FXYE)", source=src)
    except ValueError as exc:
        raise InputError(f"bank at line {lineno}: malformed data field ({exc})",
                         source=src) from None
    if y.size < nchan:
        raise InputError(f"bank at line {lineno} declares {nchan} points but holds {y.size}; "
                         "truncated?", source=src)
    return x[:nchan], y[:nchan], sigma[:nchan]


# --------------------------------------------------------------------------- Bruker RAW4

#: Where the RAW4 segment chain starts (after magic, date and time strings).
_RAW4_SEGMENTS_AT = 61
#: Segment kinds that start a measurement range instead of a (kind, length) segment.
_RAW4_RANGE_KINDS = (0, 160)
#: Segment kinds: key/value text, tube and wavelengths, a drive (goniometer axis).
_RAW4_KEYVALUE, _RAW4_SOURCE, _RAW4_DRIVE = 10, 30, 50


@dataclass(frozen=True)
class BrukerRange:
    """One range (scan) of a Bruker RAW4 file, as stored (see :func:`read_bruker_raw_ranges`,
    which builds them and shows one).

    Attributes
    ----------
    scan_type : str
        E.g. ``Locked Coupled``.
    start_deg, step_deg : float
        First 2θ and step, degrees.
    n_points : int
        Number of data records.
    step_time_s : float or None
        Counting time per step, seconds (None when the file's value is implausible).
    wavelength_angstrom : float or None
        The range's wavelength, Å (None when absent or implausible).
    record_bytes : int
        Bytes per data record (first float32 = intensity).
    drives : tuple of (name, flag, position)
        The goniometer drives of the range header: name, scanned flag, start position
        (degrees).
    intensity : ndarray, shape (n_points,)
        The first float32 of every record, counts.

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.readers import BrukerRange
    >>> rng = BrukerRange("Locked Coupled", 10.0, 0.02, 3, 0.5, 1.5406, 4,
    ...                   (("2Theta", 1, 10.0),), np.array([120.0, 131.0, 125.0]))
    >>> rng.two_theta_deg.tolist()
    [10.0, 10.02, 10.04]
    """

    scan_type: str
    start_deg: float
    step_deg: float
    n_points: int
    step_time_s: float | None
    wavelength_angstrom: float | None
    record_bytes: int
    drives: tuple[tuple[str, int, float], ...]
    intensity: np.ndarray = field(repr=False)

    @property
    def two_theta_deg(self) -> np.ndarray:
        """Evenly stepped axis, degrees."""
        return self.start_deg + self.step_deg * np.arange(self.n_points, dtype=float)


def _unpack(fmt: str, buf: bytes, at: int, src: str, what: str) -> tuple[Any, ...]:
    try:
        return struct.unpack_from(fmt, buf, at)
    except struct.error:
        raise InputError(
            f"file ends inside {what} (needs {struct.calcsize(fmt)} bytes at offset {at}, "
            f"file has {len(buf)}); truncated?",
            source=src,
        ) from None


def _ctext(buf: bytes, at: int, n: int) -> str:
    return buf[at:at + n].split(b"\0")[0].decode("latin-1").strip()


def read_bruker_raw_ranges(path: str | Path) -> tuple[dict[str, Any], list[BrukerRange]]:
    """Walk a Bruker RAW 4.00 file: (file metadata, ranges as stored).

    Parameters
    ----------
    path : str or Path
        The ``.raw`` file (version 4.00; other versions are refused).

    Returns
    -------
    meta : dict
        ``format="bruker-raw4"``, the ``date`` and ``time`` strings, the key/value segments
        (``sample_id`` …) and, when the file has a tube segment, ``kalpha1_angstrom``,
        ``kalpha2_angstrom``, ``kbeta_angstrom`` and ``anode``.
    ranges : list of BrukerRange
        Every measurement range in file order, as stored (intensity of each record, drives).

    Raises
    ------
    InputError
        Other RAW versions, truncated file, inconsistent segment lengths.

    Examples
    --------
    A minimal RAW 4.00 file written on the spot: the 61-byte preamble, then one range whose
    160-byte header gives the start and step (degrees), the point count, the step time (ms),
    the wavelength (Å) and the record size (4 bytes: one float32 intensity), then the data:

    >>> import pathlib, struct, tempfile
    >>> import numpy as np
    >>> head = bytearray(160)
    >>> struct.pack_into("<I", head, 0, 160)                       # a range starts
    >>> head[32:46] = b"Locked Coupled"                            # scan type
    >>> struct.pack_into("<ddIf", head, 72, 10.0, 0.02, 3, 500.0)  # start °, step °, points, ms
    >>> struct.pack_into("<d", head, 112, 1.5406)                  # wavelength, Å
    >>> struct.pack_into("<II", head, 136, 4, 0)                   # record bytes, drive bytes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.raw"
    >>> _ = path.write_bytes(b"RAW4.00".ljust(61, b"\\0") + bytes(head)
    ...                      + np.array([120, 131, 125], "<f4").tobytes())
    >>> from xrdkit.readers import read_bruker_raw_ranges
    >>> meta, [rng] = read_bruker_raw_ranges(path)
    >>> meta["format"], rng.scan_type, rng.n_points, rng.step_time_s, rng.wavelength_angstrom
    ('bruker-raw4', 'Locked Coupled', 3, 0.5, 1.5406)
    >>> rng.two_theta_deg.tolist(), rng.intensity.tolist()
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0])
    """
    path = Path(path)
    src = str(path)
    buf = path.read_bytes()
    if not buf.startswith(b"RAW4.00"):
        version = buf[:7].decode("latin-1", errors="replace")
        raise InputError(f"Bruker RAW version {version!r} is not supported (only RAW4.00); "
                         "export it as RAW4 or .xy", source=src)
    meta: dict[str, Any] = {"format": "bruker-raw4",
                            "date": _ctext(buf, 12, 12), "time": _ctext(buf, 24, 12)}
    ranges: list[BrukerRange] = []
    at = _RAW4_SEGMENTS_AT
    while at + 4 <= len(buf):
        (kind,) = _unpack("<I", buf, at, src, "a segment kind")
        if kind in _RAW4_RANGE_KINDS:
            rng, at = _raw4_range(buf, at, src)
            ranges.append(rng)
            continue
        kind, length = _unpack("<II", buf, at, src, "a segment header")
        if length < 8 or at + length > len(buf):
            raise InputError(f"segment of kind {kind} at offset {at} declares {length} bytes "
                             f"({len(buf) - at} remain); truncated or not RAW4", source=src)
        if kind == _RAW4_KEYVALUE and length >= 36:
            key = _ctext(buf, at + 12, 24).lower()
            meta[{"sampleid": "sample_id"}.get(key, key)] = _ctext(buf, at + 36, length - 36)
        elif kind == _RAW4_SOURCE and length >= 120:
            waves = _unpack("<5d", buf, at + 72, src, "the tube wavelengths")
            for key, value in (("kalpha1_angstrom", waves[1]), ("kalpha2_angstrom", waves[2]),
                               ("kbeta_angstrom", waves[3])):
                if 0.01 < value < 10:
                    meta[key] = float(value)
            meta["anode"] = _ctext(buf, at + 116, 4)
        at += length
    if not ranges:
        raise InputError("RAW4 header read but the file holds no measurement range; truncated?",
                         source=src)
    return meta, ranges


def _raw4_range(buf: bytes, at: int, src: str) -> tuple[BrukerRange, int]:
    scan_type = _ctext(buf, at + 32, 24)
    p = at + 72
    start, step = _unpack("<dd", buf, p, src, "a range's start and step")
    (n,) = _unpack("<I", buf, p + 16, src, "a range's point count")
    (t_ms,) = _unpack("<f", buf, p + 20, src, "a range's step time")
    (lam,) = _unpack("<d", buf, p + 40, src, "a range's wavelength")
    rec, hdr = _unpack("<II", buf, p + 64, src, "a range's record and header sizes")
    if n < 1 or rec < 4 or rec % 4 or not (np.isfinite(start) and np.isfinite(step)) or step == 0:
        raise InputError(f"range at offset {at}: implausible header (points {n}, record {rec} "
                         f"bytes, start {start}, step {step})", source=src)
    check_n_points(int(n), src, what=f"range at offset {at}")
    drives: list[tuple[str, int, float]] = []
    d, end = p + 88, p + 88 + hdr
    if end > len(buf):
        raise InputError(f"range at offset {at}: header runs past the end of the file; "
                         "truncated", source=src)
    while d < end:
        kind, length = _unpack("<II", buf, d, src, "a drive record")
        if kind == _RAW4_DRIVE:
            (flag,) = _unpack("<I", buf, d + 8, src, "a drive flag")
            (pos,) = _unpack("<d", buf, d + 56, src, "a drive position")
            drives.append((_ctext(buf, d + 12, 24), int(flag), float(pos)))
        d += max(length, 8)
    if d != end:
        raise InputError(f"range at offset {at}: drive records overrun the declared header "
                         f"({d - end} bytes); not a RAW4 layout this reader knows", source=src)
    data_end = end + rec * n
    if data_end > len(buf):
        raise InputError(f"range at offset {at}: {n} records of {rec} bytes need {data_end} "
                         f"bytes, the file has {len(buf)}; truncated", source=src)
    records = np.frombuffer(buf, dtype="<f4", count=n * rec // 4, offset=end)
    intensity = records.reshape(n, rec // 4)[:, 0].astype(float)
    return (
        BrukerRange(
            scan_type=scan_type, start_deg=float(start), step_deg=float(step), n_points=int(n),
            step_time_s=float(t_ms) / 1000.0 if 0 < t_ms < 1e9 else None,
            wavelength_angstrom=float(lam) if 0.01 < lam < 10 else None,
            record_bytes=int(rec), drives=tuple(drives), intensity=intensity,
        ),
        data_end,
    )


def read_bruker_raw(path: str | Path) -> list[Scan]:
    """Read every 2θ range of a Bruker RAW 4.00 file as a :class:`Scan`.

    Parameters
    ----------
    path : str or Path
        The ``.raw`` file (version 4.00).

    Returns
    -------
    list of Scan
        One per range, on an evenly stepped 2θ axis in degrees, with the range's wavelength
        in Å (else the tube's Kα1, else None); ``metadata`` holds the file metadata of
        :func:`read_bruker_raw_ranges`, ``scan_type``, ``range_index`` and ``step_time_s``.
        ``source`` is the path (``PATH#rangeN`` when the file holds several ranges).

    Raises
    ------
    InputError
        See :func:`read_bruker_raw_ranges`; a range whose scanned drive is not
        2θ; intensities the gate rejects (e.g. negative).

    Examples
    --------
    A minimal RAW 4.00 file written on the spot: the 61-byte preamble, then one range whose
    160-byte header gives the start and step (degrees), the point count, the step time (ms),
    the wavelength (Å) and the record size (4 bytes: one float32 intensity), then the data:

    >>> import pathlib, struct, tempfile
    >>> import numpy as np
    >>> head = bytearray(160)
    >>> struct.pack_into("<I", head, 0, 160)                       # a range starts
    >>> head[32:46] = b"Locked Coupled"                            # scan type
    >>> struct.pack_into("<ddIf", head, 72, 10.0, 0.02, 3, 500.0)  # start °, step °, points, ms
    >>> struct.pack_into("<d", head, 112, 1.5406)                  # wavelength, Å
    >>> struct.pack_into("<II", head, 136, 4, 0)                   # record bytes, drive bytes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.raw"
    >>> _ = path.write_bytes(b"RAW4.00".ljust(61, b"\\0") + bytes(head)
    ...                      + np.array([120, 131, 125], "<f4").tobytes())
    >>> from xrdkit.readers import read_bruker_raw
    >>> [scan] = read_bruker_raw(path)
    >>> scan.two_theta_deg.tolist(), scan.counts.tolist(), scan.wavelength_angstrom
    ([10.0, 10.02, 10.04], [120.0, 131.0, 125.0], 1.5406)
    >>> scan.metadata["scan_type"], scan.metadata["step_time_s"]
    ('Locked Coupled', 0.5)

    An older RAW version is refused with what to do:

    >>> _ = path.write_bytes(b"RAW1.01" + bytes(100))
    >>> read_bruker_raw(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...'RAW1.01' is not supported (only RAW4.00)...
    """
    meta, ranges = read_bruker_raw_ranges(path)
    scans = []
    for i, rng in enumerate(ranges):
        src = str(path) if len(ranges) == 1 else f"{path}#range{i}"
        scanned = [name for name, flag, pos in rng.drives
                   if flag and np.isclose(pos, rng.start_deg)]
        if scanned and not any(re.sub(r"\W", "", s.lower()) in ("2theta", "twotheta")
                               for s in scanned):
            raise InputError(f"range {i} scans {scanned[0]!r}, not 2θ ({rng.scan_type})",
                             source=src)
        m = dict(meta, scan_type=rng.scan_type, range_index=i)
        if rng.step_time_s is not None:
            m["step_time_s"] = rng.step_time_s
        lam = rng.wavelength_angstrom or meta.get("kalpha1_angstrom")
        scans.append(make_scan(rng.two_theta_deg, rng.intensity, wavelength_angstrom=lam,
                               source=src, metadata=m))
    return scans
