"""Durable, kill-safe results store for batch analyses (``RESULTS.h5`` + a journal).

Design
------
A batch writes its results in two layers, both written only by the parent process:

1. **Journal** — ``RESULTS.h5.parts/journal-NNNNN.log``. Every finished item is appended as one
   framed record (magic, header length, payload length, CRC-32, a JSON header, raw array
   bytes) with a single ``write`` to a file opened ``O_APPEND``. Once ``write`` returns the
   record is in the kernel's page cache, so a ``kill -9`` of the writer cannot lose it; a
   record torn by a kill in the middle of ``write`` fails its length/CRC check and is
   ignored (it was in flight). Each writing session starts a new segment, so an old torn
   tail is never appended to. Journals are fsynced at every consolidation.
2. **Consolidated file** — ``RESULTS.h5``. Periodically and at the end, the previous
   consolidated file is copied to ``RESULTS.h5.tmp-<pid>``, the journal records not yet in it
   are streamed into the copy (one record in memory at a time), the copy is fsynced and then
   atomically ``os.replace``-d over ``RESULTS.h5``. The name ``RESULTS.h5`` therefore always
   points at a complete, closed HDF5 file: a kill at any moment leaves either the old or the
   new version, never a half-written one.

**Reading while a batch writes** simply works: open ``RESULTS.h5`` read-only as usual; you
see the state of the last consolidation (at most ``consolidate_every_s`` old). A reader that
keeps the file open keeps seeing its (complete) snapshot; ``os.replace`` never changes an
open file. :func:`completed_ids` also reads the journal and so sees every finished item.

After the final consolidation the journal is deleted. ``resume`` reads the consolidated file
and the journal, so an item whose record survived is never run again.

Durability: against process kills (``SIGKILL``, OOM killer, worker crashes) every finished
item is kept. Against power loss, everything up to the last consolidation is on disk
(consolidation fsyncs journal, file and directory).

File layout (``format = "closokit-results"``, ``format_version = 1``)
----------------------------------------------------------------------
``/`` attrs
    ``format``, ``format_version``, ``closokit_version``, ``created`` and ``updated`` (ISO
    8601 UTC), ``config_json`` (the command/config as JSON), ``complete`` (bool: set by the
    final consolidation when no item is left), ``n_items`` (items in the file),
    ``n_items_expected`` (size of the last batch's item list).
``/scans/<name>`` one group per item (``<name>`` is the item id with ``%`` and ``/``
    percent-encoded)
    attribute ``record`` (JSON: ``id, index, source, status`` (``"ok"``/``"error"``),
    ``error, elapsed_s, warnings, scalars, traceback``) and one dataset per array of the
    item's result. (Per-item fields live in one JSON attribute because every HDF5 attribute
    costs ~0.15 ms to create; the same values, typed, are in ``/summary``.)
``/summary`` one 1-D dataset per column, all of equal length, one row per item; attribute
    ``columns`` gives the column order and each dataset's attribute ``kind`` (``str``,
    ``float``, ``int``, ``bool``) its logical type. Fixed columns: ``id``, ``index``,
    ``status``, ``error``, ``elapsed_s``, ``source``, ``n_warnings``, ``warnings`` (joined by
    ``" | "``), then every scalar any item returned, in first-seen order. Numeric columns are
    stored as float64 with NaN for "missing" (ints beyond 2**53 lose precision); string
    columns with ``""`` for missing. Rows are in completion order while the batch runs and in
    item order (``index``) once it is complete.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import errno
import fcntl
import json
import logging
import math
import os
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xrdkit import __version__
from xrdkit.errors import BatchError, InputError

__all__ = [
    "Scalar",
    "ItemResult",
    "ItemRecord",
    "ResultsStore",
    "RESERVED_COLUMNS",
    "completed_ids",
    "read_summary",
    "read_item",
    "write_table_csv",
]

logger = logging.getLogger(__name__)

Scalar = bool | int | float | str

#: Group holding one sub-group per item.
ITEMS_GROUP = "scans"
#: Group holding the summary table columns.
SUMMARY_GROUP = "summary"
FORMAT_NAME = "closokit-results"
FORMAT_VERSION = 1
#: Summary columns the engine fills; analyses may not use these names for their scalars.
RESERVED_COLUMNS = (
    "id",
    "index",
    "status",
    "error",
    "elapsed_s",
    "source",
    "n_warnings",
    "warnings",
)
#: Journal record frame: magic, header length (u32), payload length (u64), CRC-32 (u32).
_MAGIC = b"CKJ1"
_FRAME = struct.Struct("<4sIQI")
#: Headers larger than this are treated as corruption (a torn or foreign file).
_MAX_HEADER_BYTES = 64 * 1024 * 1024
#: Longest error message kept in the summary table (the traceback is kept in full).
MAX_ERROR_CHARS = 500
#: Longest traceback kept per item.
MAX_TRACEBACK_CHARS = 20_000
_WARNING_JOIN = " | "
#: Results files whose writer lock this process holds (POSIX locks do not exclude the
#: process that holds them, so a second store in the same process is refused through this).
_LOCKED_IN_PROCESS: set[str] = set()
_LOCKED_GUARD = threading.Lock()


# --------------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------------


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} name must be a non-empty string, got {name!r}", source="ItemResult")
    if "/" in name or name in (".", ".."):
        raise InputError(f"{what} name {name!r} may not contain '/' or be '.'/'..'", source="ItemResult")
    return name


def _clean_scalar(name: str, value: Any) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | float | str):
        return value
    raise InputError(
        f"scalar {name!r} must be bool, int, float or str, got {type(value).__name__}",
        source="ItemResult",
    )


def _clean_array(name: str, value: Any) -> np.ndarray:
    arr = np.array(value, copy=True)  # never alias the caller's data
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"array {name!r} must be numeric or bool, got dtype {arr.dtype}", source="ItemResult"
        )
    arr = np.require(arr, requirements="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class ItemResult:
    """What an analysis function returns for one item.

    Attributes
    ----------
    scalars : dict[str, bool | int | float | str]
        Numbers and labels that go into the summary table (e.g. ``rwp``, ``verdict``). Names
        in :data:`RESERVED_COLUMNS` are not allowed.
    arrays : dict[str, ndarray]
        Numeric arrays stored in the item's group (e.g. calculated pattern, residual). Copied
        and made read-only.
    warnings : tuple[str, ...]
        Messages about this item. Warnings raised with :func:`warnings.warn` inside the
        analysis are appended to these by the batch engine.
    state : object, optional
        Opaque, picklable warm-start state handed to the next item of a series as
        ``previous.state``; never written to the results file.

    Raises
    ------
    InputError
        A name is empty, contains ``/`` or is reserved; a scalar is not bool/int/float/str;
        an array is not numeric.
    """

    scalars: Mapping[str, Scalar] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    state: Any = None

    def __post_init__(self) -> None:
        scalars: dict[str, Scalar] = {}
        for name, value in dict(self.scalars).items():
            _check_name(name, "scalar")
            if name in RESERVED_COLUMNS:
                raise InputError(
                    f"scalar name {name!r} is reserved for the batch engine "
                    f"(reserved: {', '.join(RESERVED_COLUMNS)})",
                    source="ItemResult",
                )
            scalars[name] = _clean_scalar(name, value)
        arrays = {_check_name(k, "array"): _clean_array(k, v) for k, v in dict(self.arrays).items()}
        object.__setattr__(self, "scalars", scalars)
        object.__setattr__(self, "arrays", arrays)
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))


@dataclass(frozen=True)
class ItemRecord:
    """One item as stored: the analysis result plus what the engine adds.

    Attributes
    ----------
    item_id : str
        Unique id of the item in the batch.
    index : int
        Position of the item in the batch's item list.
    source : str
        Where the item came from (e.g. ``file.h5::/entry1``), ``""`` if unknown.
    status : str
        ``"ok"`` or ``"error"``.
    error : str
        One-line error message (``""`` when ok).
    elapsed_s : float
        Wall time of the analysis of this item in its worker.
    scalars, arrays, warnings
        As in :class:`ItemResult` (empty for most errors).
    traceback : str
        Full traceback of the error (``""`` when ok).
    """

    item_id: str
    index: int
    source: str
    status: str
    error: str = ""
    elapsed_s: float = 0.0
    scalars: Mapping[str, Scalar] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    traceback: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "error"):
            raise InputError(f"status must be 'ok' or 'error', got {self.status!r}", source=self.item_id)
        if not isinstance(self.item_id, str) or not self.item_id:
            raise InputError(f"item id must be a non-empty string, got {self.item_id!r}")


# --------------------------------------------------------------------------------------------
# Journal
# --------------------------------------------------------------------------------------------


def _encode_record(rec: ItemRecord) -> bytes:
    arrays_spec = []
    chunks: list[bytes] = []
    offset = 0
    for name, arr in rec.arrays.items():
        raw = np.require(arr, requirements="C").tobytes()
        arrays_spec.append([name, arr.dtype.str, list(arr.shape), offset, len(raw)])
        chunks.append(raw)
        offset += len(raw)
    header = json.dumps(
        {
            "id": rec.item_id,
            "index": rec.index,
            "source": rec.source,
            "status": rec.status,
            "error": rec.error,
            "elapsed_s": rec.elapsed_s,
            "scalars": dict(rec.scalars),
            "warnings": list(rec.warnings),
            "traceback": rec.traceback,
            "arrays": arrays_spec,
        },
        allow_nan=True,
    ).encode()
    payload = b"".join(chunks)
    crc = zlib.crc32(payload, zlib.crc32(header))
    return _FRAME.pack(_MAGIC, len(header), len(payload), crc) + header + payload


def _decode_header(header: bytes) -> dict[str, Any]:
    return json.loads(header.decode())


def _record_from_header(h: dict[str, Any], arrays: dict[str, np.ndarray]) -> ItemRecord:
    """An :class:`ItemRecord` from its JSON header (journal frame or stored ``record`` attribute)."""
    return ItemRecord(
        item_id=h["id"],
        index=int(h["index"]),
        source=h["source"],
        status=h["status"],
        error=h["error"],
        elapsed_s=float(h["elapsed_s"]),
        scalars=h["scalars"],
        arrays=arrays,
        warnings=tuple(h["warnings"]),
        traceback=h.get("traceback", ""),
    )


def _decode_record(header: bytes, payload: bytes) -> ItemRecord:
    h = _decode_header(header)
    arrays = {}
    for name, dtype, shape, offset, nbytes in h["arrays"]:
        arr = np.frombuffer(payload[offset : offset + nbytes], dtype=np.dtype(dtype)).reshape(shape)
        arrays[name] = arr
    return _record_from_header(h, arrays)


@dataclass(frozen=True)
class _JournalEntry:
    """Where a valid record sits in the journal (records are read back one at a time)."""

    segment: Path
    offset: int
    length: int
    item_id: str
    index: int


def _scan_segment(path: Path) -> Iterator[_JournalEntry]:
    """Yield the valid records of one journal segment; stop at the first torn/corrupt one."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset + _FRAME.size <= size:
            fh.seek(offset)
            frame = fh.read(_FRAME.size)
            magic, hlen, plen, crc = _FRAME.unpack(frame)
            end = offset + _FRAME.size + hlen + plen
            if magic != _MAGIC or hlen > _MAX_HEADER_BYTES or end > size:
                break
            header = fh.read(hlen)
            payload = fh.read(plen)
            if zlib.crc32(payload, zlib.crc32(header)) != crc:
                break
            try:
                h = _decode_header(header)
                entry = _JournalEntry(path, offset, end - offset, str(h["id"]), int(h["index"]))
            except (ValueError, KeyError, TypeError):
                break
            yield entry
            offset = end
        if offset != size:
            logger.warning(
                "%s: ignoring %d bytes of an incomplete record at offset %d "
                "(written when the batch was killed)",
                path,
                size - offset,
                offset,
            )


def _read_entry(entry: _JournalEntry, handles: dict[Path, Any] | None = None) -> ItemRecord:
    if handles is None:
        with open(entry.segment, "rb") as fh:
            fh.seek(entry.offset)
            blob = fh.read(entry.length)
    else:
        fh = handles.get(entry.segment)
        if fh is None:
            fh = handles[entry.segment] = open(entry.segment, "rb")
        fh.seek(entry.offset)
        blob = fh.read(entry.length)
    _, hlen, plen, _ = _FRAME.unpack_from(blob)
    start = _FRAME.size
    return _decode_record(blob[start : start + hlen], blob[start + hlen : start + hlen + plen])


def _parts_dir(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".parts")


def _segments(parts: Path) -> list[Path]:
    return sorted(parts.glob("journal-*.log")) if parts.is_dir() else []


def _journal_entries(parts: Path) -> list[_JournalEntry]:
    """Valid journal records, first occurrence of each id only."""
    seen: set[str] = set()
    out = []
    for seg in _segments(parts):
        for entry in _scan_segment(seg):
            if entry.item_id not in seen:
                seen.add(entry.item_id)
                out.append(entry)
    return out


# --------------------------------------------------------------------------------------------
# Consolidated HDF5 file
# --------------------------------------------------------------------------------------------


def encode_group_name(item_id: str) -> str:
    """HDF5 group name for an item id: ``%`` and ``/`` percent-encoded, ``.``/``..`` escaped."""
    name = item_id.replace("%", "%25").replace("/", "%2F")
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    return name


def _open_h5(path: Path, mode: str = "r") -> h5py.File:
    try:
        return h5py.File(path, mode)
    except FileNotFoundError:
        raise InputError("results file does not exist", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"not a readable HDF5 results file ({exc})", source=str(path)) from None


def _check_format(f: h5py.File, path: Path) -> None:
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT_NAME:
        raise InputError(
            f"not a closokit results file (root attribute 'format' is {fmt!r}, "
            f"expected {FORMAT_NAME!r})",
            source=str(path),
        )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _scalar_kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


_NUMERIC_RANK = {"bool": 0, "int": 1, "float": 2}


def _row_of(rec: ItemRecord) -> dict[str, Scalar]:
    row: dict[str, Scalar] = {
        "id": rec.item_id,
        "index": rec.index,
        "status": rec.status,
        "error": rec.error,
        "elapsed_s": float(rec.elapsed_s),
        "source": rec.source,
        "n_warnings": len(rec.warnings),
        "warnings": _WARNING_JOIN.join(rec.warnings),
    }
    row.update(rec.scalars)
    return row


class _SummaryWriter:
    """Appends rows to the column datasets of ``/summary`` (resizable, chunked)."""

    def __init__(self, f: h5py.File) -> None:
        self.group = f.require_group(SUMMARY_GROUP)
        cols = self.group.attrs.get("columns")
        self.columns: list[str] = [str(c) for c in cols] if cols is not None else []
        self.n_rows = self.group[self.columns[0]].shape[0] if self.columns else 0
        self.kinds = {c: str(self.group[c].attrs["kind"]) for c in self.columns}
        self._warned: set[str] = set()

    def _create(self, name: str, kind: str) -> None:
        if kind == "str":
            ds = self.group.create_dataset(
                name, shape=(self.n_rows,), maxshape=(None,), chunks=(1024,),
                dtype=h5py.string_dtype(), fillvalue="",
            )
        else:
            ds = self.group.create_dataset(
                name, shape=(self.n_rows,), maxshape=(None,), chunks=(1024,),
                dtype="f8", fillvalue=np.nan,
            )
        if self.n_rows:
            ds[:] = "" if kind == "str" else np.nan
        ds.attrs["kind"] = kind
        self.columns.append(name)
        self.kinds[name] = kind

    def append(self, rows: Sequence[Mapping[str, Scalar]]) -> None:
        if not rows:
            return
        for row in rows:
            for name, value in row.items():
                kind = _scalar_kind(value)
                if name not in self.kinds:
                    self._create(name, kind)
                    continue
                old = self.kinds[name]
                if old != kind and old != "str" and kind != "str":
                    if _NUMERIC_RANK[kind] > _NUMERIC_RANK[old]:
                        self.kinds[name] = kind
                        self.group[name].attrs["kind"] = kind
        start, n_new = self.n_rows, len(rows)
        for name in self.columns:
            kind = self.kinds[name]
            if kind == "str":
                values: np.ndarray = np.empty(n_new, dtype=object)
                values[:] = ""
            else:
                values = np.full(n_new, np.nan)
            for i, row in enumerate(rows):
                if name not in row:
                    continue
                v = row[name]
                if (kind == "str") != isinstance(v, str):
                    if name not in self._warned:
                        logger.warning(
                            "summary column %r holds %s values; a %s value (item %r) is left "
                            "blank in the table (it is kept in the item's group)",
                            name, kind, type(v).__name__, row.get("id"),
                        )
                        self._warned.add(name)
                    continue
                values[i] = v if kind == "str" else float(v)
            ds = self.group[name]
            ds.resize((start + n_new,))
            ds[start:] = values
        self.n_rows = start + n_new
        self.group.attrs["columns"] = self.columns

    def reorder_by_index(self) -> None:
        if not self.n_rows:
            return
        order = np.argsort(self.group["index"][:], kind="stable")
        if np.array_equal(order, np.arange(order.size)):
            return
        for name in self.columns:  # same length, rewritten in place: no dead space
            ds = self.group[name]
            ds[:] = ds[:][order]


@dataclass(frozen=True)
class _H5Props:
    """Low-level creation properties: UTF-8 link names; no object timestamps (faster, and
    the same results give byte-identical objects)."""

    lcpl: Any
    gcpl: Any
    dcpl: Any

    @classmethod
    def make(cls) -> _H5Props:
        lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
        lcpl.set_char_encoding(h5py.h5t.CSET_UTF8)
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_obj_track_times(False)
        return cls(lcpl, gcpl, dcpl)


def _write_item_group(items: h5py.Group, rec: ItemRecord, props: _H5Props) -> None:
    # Per-item cost dominates consolidation, so: one JSON attribute per item (each HDF5
    # attribute costs ~0.15 ms to create with HDF5 2.0; the typed values are in /summary), and
    # the low-level API for the group and datasets (~40 % faster than h5py's high level).
    gid = h5py.h5g.create(items.id, encode_group_name(rec.item_id).encode(), lcpl=props.lcpl,
                          gcpl=props.gcpl)
    h5py.Group(gid).attrs["record"] = json.dumps(
        {
            "id": rec.item_id,
            "index": rec.index,
            "source": rec.source,
            "status": rec.status,
            "error": rec.error,
            "elapsed_s": rec.elapsed_s,
            "warnings": list(rec.warnings),
            "scalars": dict(rec.scalars),
            "traceback": rec.traceback,
        },
        allow_nan=True,
    )
    for name, arr in rec.arrays.items():
        data = np.require(arr, requirements="C")
        space = (
            h5py.h5s.create_simple(data.shape) if data.ndim else h5py.h5s.create(h5py.h5s.SCALAR)
        )
        dset = h5py.h5d.create(gid, name.encode(), h5py.h5t.py_create(data.dtype), space,
                               lcpl=props.lcpl, dcpl=props.dcpl)
        if data.size:
            dset.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _consolidated_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    with _open_h5(path) as f:
        _check_format(f, path)
        g = f.get(SUMMARY_GROUP)
        if g is None or "id" not in g:
            return []
        return [s.decode() if isinstance(s, bytes) else str(s) for s in g["id"][:]]


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class ResultsStore:
    """Single-writer results store: journal appends plus atomic consolidation into HDF5.

    Use as a context manager; the batch engine does this for you.

    Parameters
    ----------
    out_path : path
        The consolidated results file (``RESULTS.h5``). The journal lives in
        ``RESULTS.h5.parts/`` beside it.
    resume : bool
        Continue an interrupted or earlier batch: keep what is in the file and the journal.
    overwrite : bool
        Delete an existing results file and journal first. Without ``resume`` or
        ``overwrite`` an existing file or journal is an error.
    config : mapping, optional
        JSON-serialisable description of the command and its settings, stored as the root
        attribute ``config_json``.
    consolidate_every_s : float
        Minimum time between periodic consolidations. The interval also stretches to ten times
        the duration of the last consolidation, so consolidation stays under ~10 % of the run.

    Raises
    ------
    BatchError
        Another process is writing the same results file; the file exists and neither
        ``resume`` nor ``overwrite`` was given; the existing file is not a results file.
    """

    def __init__(
        self,
        out_path: str | os.PathLike[str],
        *,
        resume: bool = False,
        overwrite: bool = False,
        config: Mapping[str, Any] | None = None,
        consolidate_every_s: float = 10.0,
    ) -> None:
        self.out_path = Path(out_path)
        self.parts = _parts_dir(self.out_path)
        self.resume = resume
        self.overwrite = overwrite
        try:
            self.config_json = json.dumps(dict(config or {}), sort_keys=True, default=str)
        except (TypeError, ValueError) as exc:
            raise InputError(f"config is not JSON-serialisable ({exc})", source="config") from None
        self.consolidate_every_s = float(consolidate_every_s)
        self._lock_fd: int | None = None
        self._lock_key = ""
        self._seg_fd: int | None = None
        self._segment: Path | None = None
        self._seg_offset = 0
        self._done: set[str] = set()  # ids in the file or the journal
        self._pending: list[_JournalEntry] = []  # in the journal, not yet in the file
        self._last_consolidation = 0.0
        self._min_interval_s = self.consolidate_every_s
        self.n_items_expected: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ResultsStore:
        if self._lock_fd is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Take the writer lock, check the existing state, load done ids, open a new segment."""
        if not self.out_path.parent.is_dir():
            raise InputError("output directory does not exist", source=str(self.out_path.parent))
        exists = self.out_path.exists() or any(
            seg.stat().st_size > 0 for seg in _segments(self.parts)
        )
        if exists and not (self.resume or self.overwrite):
            raise BatchError(
                f"{self.out_path}: results (or an interrupted batch's journal "
                f"{self.parts.name}/) already exist; pass resume=True (--resume) to finish "
                "that batch or overwrite=True to start again"
            )
        self.parts.mkdir(exist_ok=True)
        self._take_lock()
        try:
            for stale in self.out_path.parent.glob(self.out_path.name + ".tmp-*"):
                logger.info("removing %s left by a killed consolidation", stale)
                stale.unlink(missing_ok=True)
            if self.overwrite and not self.resume:
                self.out_path.unlink(missing_ok=True)
                for seg in _segments(self.parts):
                    seg.unlink()
            in_file = _consolidated_ids(self.out_path) if self.out_path.exists() else []
            self._done = set(in_file)
            for entry in _journal_entries(self.parts):
                if entry.item_id not in self._done:
                    self._done.add(entry.item_id)
                    self._pending.append(entry)
            n_seg = len(_segments(self.parts))
            self._segment = self.parts / f"journal-{n_seg:05d}.log"
            while self._segment.exists():
                n_seg += 1
                self._segment = self.parts / f"journal-{n_seg:05d}.log"
            self._seg_fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._seg_offset = 0
            self._last_consolidation = _monotonic()
            logger.info(
                "%s: %d items already done (%d in the journal only)",
                self.out_path, len(self._done), len(self._pending),
            )
        except BaseException:
            self.close()
            if not _segments(self.parts):  # leave nothing behind that we created
                (self.parts / "lock").unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.parts.rmdir()
            raise

    def _take_lock(self) -> None:
        lock_path = self.parts / "lock"
        key = os.path.realpath(lock_path)
        busy = BatchError(
            f"{self.out_path}: another batch is writing these results (lock held on {lock_path})"
        )
        with _LOCKED_GUARD:
            if key in _LOCKED_IN_PROCESS:  # lockf does not exclude the same process
                raise busy
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                # POSIX record lock (lockf), not flock: it belongs to this process only, so
                # forked pool workers outliving a killed batch for a moment do not hold it.
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise busy from None
                raise
            _LOCKED_IN_PROCESS.add(key)
        self._lock_fd, self._lock_key = fd, key

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with _LOCKED_GUARD:
                os.close(self._lock_fd)
                _LOCKED_IN_PROCESS.discard(self._lock_key)
            self._lock_fd = None

    def close(self) -> None:
        """Release the segment and the lock (no consolidation: call :meth:`finalize`)."""
        if self._seg_fd is not None:
            os.close(self._seg_fd)
            self._seg_fd = None
        self._release_lock()

    # -- state -------------------------------------------------------------------------------
    @property
    def done_ids(self) -> frozenset[str]:
        """Ids of every item with a stored result (file or journal)."""
        return frozenset(self._done)

    # -- writing -----------------------------------------------------------------------------
    def append(self, rec: ItemRecord) -> bool:
        """Journal one finished item. Returns False (and stores nothing) for a repeated id."""
        if self._seg_fd is None or self._segment is None:
            raise BatchError(f"{self.out_path}: results store is not open")
        if rec.item_id in self._done:
            logger.warning("item %r already has a result; the repeat is not stored", rec.item_id)
            return False
        blob = _encode_record(rec)
        view = memoryview(blob)
        while view:  # a regular-file write is complete unless the disk is full
            n = os.write(self._seg_fd, view)
            view = view[n:]
        self._pending.append(
            _JournalEntry(self._segment, self._seg_offset, len(blob), rec.item_id, rec.index)
        )
        self._seg_offset += len(blob)
        self._done.add(rec.item_id)
        return True

    def maybe_consolidate(self) -> bool:
        """Consolidate if the interval has passed and there is something new."""
        if self._pending and _monotonic() - self._last_consolidation >= self._min_interval_s:
            self.consolidate()
            return True
        return False

    def consolidate(self, *, final: bool = False) -> None:
        """Stream pending journal records into a copy of the file and atomically replace it.

        With ``final=True`` the summary is put in item order, ``complete`` is set when
        ``n_items_expected`` items are present, and the journal is removed.
        """
        t0 = _monotonic()
        if self._seg_fd is not None:
            os.fsync(self._seg_fd)
        if not self._pending and not final and self.out_path.exists():
            return
        tmp = self.out_path.with_name(f"{self.out_path.name}.tmp-{os.getpid()}")
        if self.out_path.exists():
            shutil.copyfile(self.out_path, tmp)
            mode = "r+"
        else:
            mode = "w"
        try:
            with h5py.File(tmp, mode) as f:
                if mode == "w":
                    f.attrs["format"] = FORMAT_NAME
                    f.attrs["format_version"] = FORMAT_VERSION
                    f.attrs["created"] = _now()
                f.attrs["closokit_version"] = __version__
                f.attrs["config_json"] = self.config_json
                items = f.require_group(ITEMS_GROUP)
                summary = _SummaryWriter(f)
                rows: list[dict[str, Scalar]] = []
                handles: dict[Path, Any] = {}
                props = _H5Props.make()
                try:
                    # _pending never holds an id already in the file (filtered at open,
                    # deduplicated at append), so no existence check is needed here.
                    for entry in self._pending:
                        rec = _read_entry(entry, handles)
                        _write_item_group(items, rec, props)
                        rows.append(_row_of(rec))
                        if len(rows) >= 4096:
                            summary.append(rows)
                            rows = []
                finally:
                    for fh in handles.values():
                        fh.close()
                summary.append(rows)
                n_items = summary.n_rows
                complete = False
                if final:
                    summary.reorder_by_index()
                    complete = self.n_items_expected is not None and n_items >= self.n_items_expected
                f.attrs["n_items"] = n_items
                if self.n_items_expected is not None:
                    f.attrs["n_items_expected"] = self.n_items_expected
                f.attrs["complete"] = complete
                f.attrs["updated"] = _now()
            _fsync_path(tmp)
            os.replace(tmp, self.out_path)
            _fsync_path(self.out_path.parent, directory=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._pending = []
        elapsed = _monotonic() - t0
        self._last_consolidation = _monotonic()
        self._min_interval_s = max(self.consolidate_every_s, 10.0 * elapsed)
        logger.debug("consolidated %s in %.3f s", self.out_path, elapsed)
        if final:
            self._remove_journal()

    def _remove_journal(self) -> None:
        if self._seg_fd is not None:
            os.close(self._seg_fd)
            self._seg_fd = None
        for seg in _segments(self.parts):
            seg.unlink()
        (self.parts / "lock").unlink(missing_ok=True)
        self._release_lock()
        with contextlib.suppress(OSError):
            self.parts.rmdir()

    def finalize(self) -> None:
        """Final consolidation: everything into ``RESULTS.h5``, in item order; journal removed."""
        self.consolidate(final=True)


def _monotonic() -> float:
    return time.monotonic()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def completed_ids(out_path: str | os.PathLike[str]) -> frozenset[str]:
    """Ids with a stored result, from the consolidated file and the journal (read-only).

    Safe to call while a batch writes.
    """
    path = Path(out_path)
    ids = set(_consolidated_ids(path))
    ids.update(e.item_id for e in _journal_entries(_parts_dir(path)))
    return frozenset(ids)


def _decode_str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def read_summary(path: str | os.PathLike[str]) -> list[dict[str, Scalar | None]]:
    """The summary table of a results file, one dict per item (columns in file order).

    Missing values (NaN, empty strings) are ``None``; ``int``/``bool`` columns are converted
    back from their float64 storage.

    Raises
    ------
    InputError
        The file is missing, not HDF5 or not a closokit results file.
    """
    path = Path(path)
    with _open_h5(path) as f:
        _check_format(f, path)
        g = f.get(SUMMARY_GROUP)
        if g is None or "columns" not in g.attrs:
            return []
        columns = [_decode_str(c) for c in g.attrs["columns"]]
        data: dict[str, list[Scalar | None]] = {}
        for name in columns:
            ds = g[name]
            kind = _decode_str(ds.attrs["kind"])
            if kind == "str":
                vals = [_decode_str(v) for v in ds[:]]
                data[name] = [v if v != "" else None for v in vals]
            else:
                conv = {"int": int, "bool": bool, "float": float}[kind]
                data[name] = [None if math.isnan(v) else conv(v) for v in ds[:].tolist()]
    n = len(data[columns[0]]) if columns else 0
    return [{c: data[c][i] for c in columns} for i in range(n)]


def read_item(path: str | os.PathLike[str], item_id: str) -> ItemRecord:
    """One item's stored record, arrays included.

    Raises
    ------
    InputError
        The file is not a results file, or holds no item ``item_id``.
    """
    path = Path(path)
    with _open_h5(path) as f:
        _check_format(f, path)
        name = encode_group_name(item_id)
        items = f.get(ITEMS_GROUP)
        if items is None or name not in items:
            n = 0 if items is None else len(items)
            raise InputError(f"no item {item_id!r} among the {n} items in the file", source=str(path))
        g = items[name]
        rec = json.loads(_decode_str(g.attrs["record"]))
        arrays = {k: np.asarray(g[k][()]) for k in g}
    return _record_from_header(rec, arrays)


def write_table_csv(
    path: str | os.PathLike[str],
    csv_path: str | os.PathLike[str],
    columns: Iterable[str] = ("id", "status", "error"),
    *,
    rename: Mapping[str, str] | None = None,
) -> list[str]:
    """Write the summary table as CSV: the requested columns first, then all others.

    Parameters
    ----------
    path : path
        Results file.
    csv_path : path
        CSV to write (written to a temporary name, then atomically replaced).
    columns : iterable of str
        Leading columns, in this order (stored or renamed names); a column no item has is
        written blank.
    rename : mapping, optional
        Header names to use instead of stored names (e.g. ``{"id": "scan"}``).

    Returns
    -------
    list of str
        The header written.
    """
    rows = read_summary(path)
    rename = dict(rename or {})
    stored_name = {new: old for old, new in rename.items()}
    lead = list(dict.fromkeys(stored_name.get(c, c) for c in columns))
    stored: list[str] = list(rows[0].keys()) if rows else []
    if not rows:
        with _open_h5(Path(path)) as f:
            g = f.get(SUMMARY_GROUP)
            if g is not None and "columns" in g.attrs:
                stored = [_decode_str(c) for c in g.attrs["columns"]]
    order = lead + [c for c in stored if c not in lead]
    header = [rename.get(c, c) for c in order]
    csv_path = Path(csv_path)
    tmp = csv_path.with_name(csv_path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if row.get(c) is None else _csv_value(row[c]) for c in order])
    os.replace(tmp, csv_path)
    return header


def _csv_value(v: Scalar) -> str | int | float:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return v
