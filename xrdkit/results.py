"""Durable, kill-safe results store for batch analyses (``RESULTS.h5`` + a journal).

Design
------
Only the parent (batch) process writes. Every finished item goes through three stages:

1. **Journal** — ``RESULTS.h5.parts/journal-NNNNN.log``. The item is appended as one framed
   record (magic, header length, payload length, CRC-32, a JSON header, raw array bytes) with
   a single ``write`` to a file opened ``O_APPEND``, before anything else happens to it. Once
   ``write`` returns the record is in the kernel's page cache, so a ``kill -9`` of the writer
   cannot lose it; a record torn by a kill in the middle of ``write`` fails its length/CRC
   check and is ignored (it was in flight). Each writing session (and each periodic
   consolidation) starts a new segment, so an old torn tail is never appended to. Float
   arrays are journaled as they will be stored (float32). With local worker processes or
   Dask the record is built (arrays converted, bytes and CRC computed) in the worker, see
   :func:`pack_record`; the parent only writes the bytes.
2. **Working file** — ``RESULTS.h5.parts/work.h5``, an HDF5 file this session keeps open.
   Journaled items are buffered and written into it in blocks (:data:`BLOCK_ITEMS` items or
   :data:`BLOCK_BYTES` bytes of records, whichever comes first): one write per array name per
   run of consecutive rows, instead of a dataset per array per item. The working file is
   never read by anyone else; a kill may leave it inconsistent and the next session
   discards it.
3. **Published file** — ``RESULTS.h5``. Periodically (:meth:`ResultsStore.maybe_consolidate`)
   the working file is flushed, copied to ``RESULTS.h5.tmp-<random>`` (created exclusively:
   a planted symlink is never followed), fsynced and atomically
   ``os.replace``-d over ``RESULTS.h5``. The final consolidation closes and fsyncs the working
   file and renames it over ``RESULTS.h5`` (no copy). The name ``RESULTS.h5`` therefore always
   points at a complete, closed HDF5 file: a kill at any moment leaves either the old or the
   new version, never a half-written one.

The journal keeps every item that the current ``RESULTS.h5`` lacks: segments are deleted
only after a consolidation has put their items into ``RESULTS.h5`` (fsynced), and all of it
after the final one. A session that starts after a kill (``resume``) copies ``RESULTS.h5``
into a fresh working file and streams into it the journal records that ``RESULTS.h5`` does
not have yet, so an item whose record survived is never run again.

**What a kill loses:** ``kill -9`` (or the OOM killer, a worker crash) at any moment loses
only the items in flight — being analysed, or finished by a worker but not yet received and
journaled by the parent. Items buffered for the working file are already in the journal.
**Power loss:** everything up to the last consolidation is on disk (it fsyncs the published
file and its directory); later items were in the page cache only. The journal itself is not
fsynced: after a consolidation everything it holds is also in the fsynced ``RESULTS.h5``.
(A background thread fsyncs the working file after each block, so that its data is on its
way to the disk while the batch computes and the final fsync has little left to wait for;
this adds no guarantee, as the working file is discarded after a crash.)

**Reading while a batch writes** simply works: open ``RESULTS.h5`` read-only as usual; you
see the state of the last consolidation (at most ``consolidate_every_s`` old, stretched to
:data:`PUBLISH_BUDGET_FACTOR` times the duration of a copy for large files). A reader that
keeps the file open keeps
seeing its (complete) snapshot; ``os.replace`` never changes an open file.
:func:`completed_ids` also reads the journal and so sees every finished item.

File layout (``format = "closokit-results"``, ``format_version = 2``)
----------------------------------------------------------------------
``/`` attrs
    ``format``, ``format_version``, ``closokit_version``, ``created`` and ``updated`` (ISO
    8601 UTC), ``config_json`` (the command/config as JSON), ``complete`` (bool: set by the
    final consolidation when no item is left), ``n_items`` (items in the file),
    ``n_items_expected`` (size of the last batch's item list).
``/arrays/<name>`` one 2-D dataset ``(rows, width)`` per array name, chunked and resizable:
    row ``r`` holds the array of the item whose ``row`` is ``r``, flattened in C order into
    its first ``size`` entries (the rest, and rows of items without this array, errors or
    items not yet done, hold the fill value: NaN for floats, 0/False otherwise). An item's
    row is its ``index`` in the batch's item list (so ``/arrays/<name>[i]`` is item ``i``),
    unless that row is taken by another item (a resume with a different item list); then it
    is the next row after all others. **Floating-point arrays are stored as float32** (about
    7 significant digits; ``float32_arrays=False`` keeps float64); integer and bool arrays
    keep their type. An array that cannot be cast safely to the stack's type, or is more than
    :data:`MAX_WIDTH_GROWTH` times wider than the stack's chunks, goes to another stack
    ``/arrays/<name>@2`` (``@3`` …). Scalars are not affected: they keep full precision in
    ``/summary`` and in the record.
``/scans/<name>`` one group per item (``<name>`` is the item id with ``%`` and ``/``
    percent-encoded), with one attribute ``record`` (JSON: ``id, index, source, status``
    (``"ok"``/``"error"``), ``error, elapsed_s, warnings, scalars, traceback``, ``row`` and
    ``arrays``: for each array name ``{"dataset": ..., "shape": [...], "dtype": ...}``, i.e.
    where in ``/arrays`` the item's array is, its shape and its dtype as stored (the stack may
    hold a type it casts to safely; :func:`read_item` casts back)).
    With plain h5py: ``rec = json.loads(g.attrs["record"]); spec = rec["arrays"]["calculated"];
    f["arrays"][spec["dataset"]][rec["row"], :prod(spec["shape"])]``; :func:`read_item` does
    this. (Per-item fields live in one JSON attribute because each HDF5 attribute costs about
    0.1 ms to create; the same values, typed, are in ``/summary``.)
``/summary`` one 1-D dataset per column, all of equal length, one row per item; attribute
    ``columns`` gives the column order and each dataset's attribute ``kind`` (``str``,
    ``float``, ``int``, ``bool``) its logical type. Fixed columns: ``id``, ``index``,
    ``status``, ``error``, ``elapsed_s``, ``source``, ``n_warnings``, ``warnings`` (joined by
    ``" | "``), ``row`` (the item's row in ``/arrays``), then every scalar any item returned,
    in first-seen order. Numeric columns are stored as float64 with NaN for "missing" (ints
    beyond 2**53 lose precision); string columns with ``""`` for missing. A scalar ``None``
    (e.g. the purity of a ``no-borate`` verdict) is a missing value: NaN in a numeric column,
    ``""`` in a string one; a column that has held only ``None`` so far is a float column
    (attribute ``untyped``) that takes the kind of its first real value. :func:`read_summary`
    returns every missing value as ``None`` and :func:`write_table_csv` writes it as an empty
    cell. Enum scalars (:class:`xrdkit.identify.Verdict`) are stored as their value
    (``"no-borate"``). Rows are in
    completion order while the batch runs and in item order (``index``) once it is complete.
``/entry`` a NeXus view of the same data, so NeXus viewers (h5web, silx, nexusformat) open the
    file on a plot of every scan's fit (see :class:`_NexusView`): the root has
    ``NX_class = NXroot``, ``default = entry``; ``/entry`` (NXentry, ``default = fit``) holds
    the NXprocess ``process`` (``program``, ``version``, the configuration as the NXnote
    ``process/config``) and the NXdata ``fit``, whose signal ``observed`` and auxiliary
    signals ``calculated``, ``background``, ``residual`` are hard links to the ``/arrays``
    stacks (nothing is copied; the stacks get ``units``/``target`` attributes), with axes
    ``scan_index`` (the row) and ``two_theta`` (deg) when every scan has the same 2θ grid
    (else ``two_theta`` links the 2-D ``/arrays/two_theta_deg`` as a per-point coordinate and
    the second axis is the point index). Written at every publication.

Resuming the same batch only
----------------------------
A configuration may hold a ``fingerprint`` (``xrdkit batch`` stores its options, the phase set
with the SHA-256 of every CIF, the instrument and, per input, the canonical path, size, mtime
and SHA-256). It is stored in ``config_json`` and, from the start of a session, in
``RESULTS.h5.parts/config.json``; a resume whose fingerprint differs is refused with a
:class:`~xrdkit.errors.BatchError` that lists what differs (:func:`fingerprint_differences`).

Write errors
------------
A full disk (or any journal write error) raises one :class:`~xrdkit.errors.BatchError` naming
the journal to resume from; the store then drops later appends and skips consolidations
(``ResultsStore.failed``) so the batch can stop its workers, and the journal stays resumable.
Journal records whose frame and CRC are intact but whose header is malformed are skipped
(their items run again).

Format 1 files (one dataset per array inside each item's group) are still read by
:func:`read_item`, and a batch can be resumed onto one.
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
from enum import Enum
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
    "PackedRecord",
    "ResultsStore",
    "RESERVED_COLUMNS",
    "completed_ids",
    "file_fingerprint",
    "fingerprint_differences",
    "pack_record",
    "read_summary",
    "read_item",
    "stored_config",
    "write_table_csv",
]

logger = logging.getLogger(__name__)

Scalar = bool | int | float | str

#: Group holding one sub-group per item.
ITEMS_GROUP = "scans"
#: Group holding the summary table columns.
SUMMARY_GROUP = "summary"
#: Group holding one stacked (rows × width) dataset per array name.
ARRAYS_GROUP = "arrays"
FORMAT_NAME = "closokit-results"
FORMAT_VERSION = 2
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
    "row",
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
#: Journaled items buffered before they are written into the working HDF5 file: per block,
#: one write per array name per run of consecutive rows (a 4,000-point float32 row costs
#: ~16 µs inside a block vs ~170 µs as a dataset of its own).
BLOCK_ITEMS = 128
#: … or fewer, when their journal records reach this many bytes (bounds the parent's memory).
BLOCK_BYTES = 32 * 2**20
#: Target size of one chunk of an ``/arrays`` stack (rows per chunk = this / row bytes);
#: reading one item reads one chunk per array.
CHUNK_BYTES = 128 * 2**10
#: Most rows per chunk (for tiny arrays).
MAX_CHUNK_ROWS = 1024
#: A stack's chunks are as wide as its first arrays; an array more than this many times wider
#: goes to a stack of its own (``name@2`` …) rather than spanning many chunks per row.
MAX_WIDTH_GROWTH = 4
#: A periodic consolidation copies the whole working file, so the next one waits at least
#: this many times as long as it took (≤ ~5 % of the run; it also bounds the disk traffic).
PUBLISH_BUDGET_FACTOR = 20.0
#: Name of the working HDF5 file inside ``RESULTS.h5.parts/``.
_WORK_NAME = "work.h5"
#: Copy of the batch's configuration inside ``RESULTS.h5.parts/`` (a resume before the first
#: publication of ``RESULTS.h5`` checks its fingerprint against this one).
_CONFIG_NAME = "config.json"
#: Key of the batch fingerprint in the configuration (see :func:`fingerprint_differences`).
FINGERPRINT_KEY = "fingerprint"
#: Bytes per call when copying the working file to its published name.
COPY_BLOCK_BYTES = 4 << 20
#: Bytes read per call while hashing an input file.
HASH_BLOCK_BYTES = 1 << 20
#: Differences listed by name in a refused resume (the rest are counted).
MAX_DIFFERENCES_SHOWN = 6
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


def _clean_scalar(name: str, value: Any) -> Scalar | None:
    """The scalar as a plain Python value; ``None`` (missing) is kept, an Enum becomes its value."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)  # a str subclass is stored as the plain string
    raise InputError(
        f"scalar {name!r} must be bool, int, float, str or None, got {type(value).__name__}",
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
    scalars : dict[str, bool | int | float | str | None]
        Numbers and labels that go into the summary table (e.g. ``rwp``, ``verdict``). Names
        in :data:`RESERVED_COLUMNS` are not allowed. ``None`` is a missing value (NaN / ``""``
        in the table, an empty CSV cell); an Enum is stored as its value.
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

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.results import ItemResult
    >>> res = ItemResult(scalars={"a_angstrom": 10.029, "purity": None},
    ...                  arrays={"counts": np.array([120.0, 131.0, 125.0])})
    >>> res.scalars, res.arrays["counts"].flags.writeable
    ({'a_angstrom': 10.029, 'purity': None}, False)
    >>> ItemResult(scalars={"status": "fine"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...scalar name 'status' is reserved for the batch engine...
    """

    scalars: Mapping[str, Scalar | None] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    state: Any = None

    def __post_init__(self) -> None:
        scalars: dict[str, Scalar | None] = {}
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

    Examples
    --------
    What :func:`read_item` returns; built by hand to feed a :class:`ResultsStore`:

    >>> from xrdkit.results import ItemRecord
    >>> rec = ItemRecord("scan_a", 0, "a.xy", "ok", elapsed_s=0.5, scalars={"a_angstrom": 10.029})
    >>> rec.status, rec.error, rec.scalars["a_angstrom"]
    ('ok', '', 10.029)
    """

    item_id: str
    index: int
    source: str
    status: str
    error: str = ""
    elapsed_s: float = 0.0
    scalars: Mapping[str, Scalar | None] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    traceback: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "error"):
            raise InputError(f"status must be 'ok' or 'error', got {self.status!r}", source=self.item_id)
        if not isinstance(self.item_id, str) or not self.item_id:
            raise InputError(f"item id must be a non-empty string, got {self.item_id!r}")


# --------------------------------------------------------------------------------------------
# Packed records and the journal
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackedRecord:
    """One :class:`ItemRecord` as its journal record (what workers send to the parent).

    Attributes
    ----------
    item_id : str
        The item's id.
    index : int
        Position of the item in the batch's item list.
    status : str
        ``"ok"`` or ``"error"``.
    blob : bytes
        The framed journal record (see the module docstring), CRC included; written to the
        journal as is.

    Examples
    --------
    Built by :func:`pack_record`:

    >>> from xrdkit.results import ItemRecord, pack_record
    >>> packed = pack_record(ItemRecord("scan_b", 1, "b.xy", "error", error="InputError: bad file"))
    >>> packed.item_id, packed.index, packed.status
    ('scan_b', 1, 'error')
    """

    item_id: str
    index: int
    status: str
    blob: bytes


def _stored_array(arr: np.ndarray, float32: bool) -> np.ndarray:
    """The array as it is stored: C order; wider floats as float32 when ``float32``."""
    if float32 and arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        return arr.astype(np.float32, order="C")
    return np.require(arr, requirements="C")


def pack_record(rec: ItemRecord, *, float32_arrays: bool = True) -> PackedRecord:
    """Build the journal record of ``rec`` (arrays converted as they will be stored).

    Parameters
    ----------
    rec : ItemRecord
        The finished item.
    float32_arrays : bool
        Store floating-point arrays as float32 (see the module docstring).

    Returns
    -------
    PackedRecord
        The item's id, index and status with the framed record (magic ``CKJ1``, header and
        payload lengths, CRC-32, JSON header, raw array bytes) that :meth:`ResultsStore.append`
        writes to the journal as is.

    Examples
    --------
    Three float64 counts are journaled as float32 (12 bytes of payload):

    >>> import numpy as np
    >>> from xrdkit.results import ItemRecord, pack_record
    >>> rec = ItemRecord("scan_a", 0, "a.xy", "ok", arrays={"counts": np.array([1.0, 2.0, 3.0])})
    >>> packed = pack_record(rec)
    >>> packed.item_id, packed.status, packed.blob[:4]
    ('scan_a', 'ok', b'CKJ1')
    >>> len(packed.blob) - len(pack_record(rec, float32_arrays=False).blob)   # bytes saved
    -12
    """
    arrays_spec = []
    chunks: list[bytes] = []
    offset = 0
    for name, arr in rec.arrays.items():
        raw = _stored_array(arr, float32_arrays)
        nbytes = raw.nbytes
        arrays_spec.append([name, raw.dtype.str, list(raw.shape), offset, nbytes])
        chunks.append(raw.tobytes())
        offset += nbytes
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
    blob = _FRAME.pack(_MAGIC, len(header), len(payload), crc) + header + payload
    return PackedRecord(rec.item_id, rec.index, rec.status, blob)


def _decode_header(header: bytes) -> dict[str, Any]:
    return json.loads(header.decode())


#: Largest item index a journal record may carry (an item's row in ``/arrays``).
MAX_ITEMS = 100_000_000
#: Fields of a journal header and their types (validated before a record is used).
_HEADER_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "index": int, "source": str, "status": str, "error": str,
    "elapsed_s": (int, float), "scalars": dict, "warnings": list, "arrays": list,
}
_SCALAR_TYPES = (bool, int, float, str, type(None))


def _check_header(h: Any, payload_bytes: int) -> None:
    """ValueError unless ``h`` is a well-formed journal header for a payload of
    ``payload_bytes``: a record whose CRC is right but whose content is not (a foreign or
    hand-edited journal) is skipped instead of breaking every later resume."""
    if not isinstance(h, dict):
        raise ValueError("header is not an object")
    for key, kind in _HEADER_TYPES.items():
        value = h.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"header field {key!r} is {value!r:.60}")
    if not h["id"] or not 0 <= h["index"] < MAX_ITEMS or h["status"] not in ("ok", "error"):
        raise ValueError(f"header id/index/status {h['id']!r:.60}/{h['index']}/{h['status']!r:.20}")
    if not isinstance(h.get("traceback", ""), str):
        raise ValueError("header field 'traceback' is not a string")
    if not all(isinstance(w, str) for w in h["warnings"]):
        raise ValueError("header warnings are not strings")
    for name, value in h["scalars"].items():
        if not isinstance(value, _SCALAR_TYPES) or name in RESERVED_COLUMNS:
            raise ValueError(f"scalar {name!r:.60} is {value!r:.60}")
    end = 0
    for spec in h["arrays"]:
        if not (isinstance(spec, list) and len(spec) == 5):
            raise ValueError(f"array spec {spec!r:.60}")
        name, dtype, shape, offset, nbytes = spec
        dt = np.dtype(dtype)  # TypeError for a bad dtype string
        if (not isinstance(name, str) or not name or dt.hasobject
                or not isinstance(shape, list)
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
                or not isinstance(offset, int) or not isinstance(nbytes, int) or offset != end
                or nbytes != math.prod(shape) * dt.itemsize):
            raise ValueError(f"array spec {spec!r:.80} does not match its bytes")
        end = offset + nbytes
    if end != payload_bytes:
        raise ValueError(f"arrays take {end} bytes, the payload has {payload_bytes}")


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


#: How the last key of a journal header (:func:`pack_record` writes ``arrays`` last) starts.
_ARRAYS_KEY = ', "arrays": '


def _unpack_blob(blob: bytes) -> tuple[ItemRecord, str]:
    """Decode a framed record; the arrays are read-only views of ``blob`` (no copy).

    Also returns the header's JSON text up to its ``arrays`` key (the item's ``record``
    attribute starts with it: no second encoding of the same fields)."""
    _, hlen, plen, _ = _FRAME.unpack_from(blob)
    start = _FRAME.size
    text = blob[start : start + hlen].decode()
    h = json.loads(text)
    payload = np.frombuffer(blob, dtype=np.uint8, offset=start + hlen)  # one buffer export
    arrays = {
        name: payload[offset : offset + nbytes].view(dtype).reshape(shape)
        for name, dtype, shape, offset, nbytes in h["arrays"]
    }
    return _record_from_header(h, arrays), text[: text.rfind(_ARRAYS_KEY)]


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
                _check_header(h, plen)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                # the frame is intact (length and CRC): skip only this record; its item is
                # simply analysed again
                logger.warning("%s: skipping a malformed record at offset %d (%s); its item "
                               "will be analysed again", path, offset, exc)
                offset = end
                continue
            yield _JournalEntry(path, offset, end - offset, h["id"], h["index"])
            offset = end
        if offset != size:
            logger.warning(
                "%s: ignoring %d bytes of an incomplete record at offset %d "
                "(written when the batch was killed)",
                path,
                size - offset,
                offset,
            )


def _read_blob(entry: _JournalEntry, handles: dict[Path, Any]) -> bytes:
    fh = handles.get(entry.segment)
    if fh is None:
        fh = handles[entry.segment] = open(entry.segment, "rb")  # closed by the caller
    fh.seek(entry.offset)
    return fh.read(entry.length)


def _parts_dir(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".parts")


def _segment_number(path: Path) -> int:
    """``journal-00012.log`` → 12 (-1 for a name that does not parse)."""
    digits = path.stem.removeprefix("journal-")
    return int(digits) if digits.isdigit() else -1


def _segments(parts: Path) -> list[Path]:
    """Journal segments in writing order."""
    if not parts.is_dir():
        return []
    return sorted(parts.glob("journal-*.log"), key=_segment_number)


def _journal_entries(parts: Path) -> list[_JournalEntry]:
    """Valid journal records, first occurrence of each id only. A segment deleted meanwhile
    (the writer drops segments once ``RESULTS.h5`` holds their items) is skipped."""
    seen: set[str] = set()
    out = []
    for seg in _segments(parts):
        try:
            entries = list(_scan_segment(seg))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.item_id not in seen:
                seen.add(entry.item_id)
                out.append(entry)
    return out

# --------------------------------------------------------------------------------------------
# HDF5 layout
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
        if "unable to lock file" in str(exc).lower():
            raise InputError(f"the file is locked by another process (a batch still writing it?) "
                             f"({exc})", source=str(path)) from None
        raise InputError(f"not a readable HDF5 results file ({exc})", source=str(path)) from None


#: Errors h5py, json and numpy raise on a results file whose content is not what this module
#: wrote (edited, damaged or from elsewhere).
_DAMAGE_ERRORS = (KeyError, ValueError, TypeError, IndexError, RuntimeError, OSError, AttributeError)


@contextlib.contextmanager
def _damage_is_input_error(path: Path, doing: str) -> Iterator[None]:
    """Turn an unexpected error while ``doing`` something with the results file ``path`` into
    a one-line :class:`InputError` (a full disk stays a :class:`BatchError`)."""
    try:
        yield
    except (InputError, BatchError):
        raise
    except _DAMAGE_ERRORS as exc:
        if _is_disk_full(exc):
            raise BatchError(_disk_full_message(path, doing)) from None
        text = " ".join(str(exc).split())[:200]
        raise InputError(
            f"results file is damaged or not written by this version: {doing} failed "
            f"({type(exc).__name__}: {text}); move it away or start again with --overwrite",
            source=str(path),
        ) from None


#: errno values of a full disk or an exhausted quota.
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    text = str(exc)  # HDF5 reports the errno inside its message only
    return any(f"errno = {n}," in text for n in _DISK_FULL_ERRNOS) or "No space left" in text


def _disk_full_message(path: Path, doing: str) -> str:
    return (f"{path}: no space left on the device while {doing}; every item finished so far is "
            f"kept in the journal {path.name}.parts/ — free some space and run the same command "
            "with --resume")


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


def _row_of(rec: ItemRecord, row: int) -> dict[str, Scalar | None]:
    out: dict[str, Scalar | None] = {
        "id": rec.item_id,
        "index": rec.index,
        "status": rec.status,
        "error": rec.error,
        "elapsed_s": float(rec.elapsed_s),
        "source": rec.source,
        "n_warnings": len(rec.warnings),
        "warnings": _WARNING_JOIN.join(rec.warnings),
        "row": row,
    }
    out.update(rec.scalars)
    return out


class _SummaryWriter:
    """Appends rows to the column datasets of ``/summary`` (resizable, chunked)."""

    def __init__(self, f: h5py.File) -> None:
        self.group = f.require_group(SUMMARY_GROUP)
        cols = self.group.attrs.get("columns")
        self.columns: list[str] = [str(c) for c in cols] if cols is not None else []
        self.datasets: dict[str, h5py.Dataset] = {c: self.group[c] for c in self.columns}
        self.n_rows = self.datasets[self.columns[0]].shape[0] if self.columns else 0
        self.kinds = {c: str(ds.attrs["kind"]) for c, ds in self.datasets.items()}
        #: Columns that have held only ``None`` so far (stored as all-NaN float columns).
        self.untyped = {c for c, ds in self.datasets.items() if bool(ds.attrs.get("untyped", False))}
        self._seen_types: dict[str, type] = {}  # per column, the last value type checked
        self._warned: set[str] = set()

    def _create(self, name: str, kind: str, *, untyped: bool = False) -> None:
        if kind == "str":
            ds = self.group.create_dataset(
                name, shape=(self.n_rows,), maxshape=(None,), chunks=(1024,),
                dtype=h5py.string_dtype(), fillvalue="", track_times=False,
            )
        else:
            ds = self.group.create_dataset(
                name, shape=(self.n_rows,), maxshape=(None,), chunks=(1024,),
                dtype="f8", fillvalue=np.nan, track_times=False,
            )
        if self.n_rows:
            ds[:] = "" if kind == "str" else np.nan
        ds.attrs["kind"] = kind
        if untyped:
            ds.attrs["untyped"] = True
            self.untyped.add(name)
        if name not in self.datasets:
            self.columns.append(name)
        self.datasets[name] = ds
        self.kinds[name] = kind

    def _type_column(self, name: str, kind: str) -> None:
        """Give a column that held only ``None`` (all missing) the kind of its first value."""
        self.untyped.discard(name)
        ds = self.datasets[name]
        if kind == "str":  # nothing to keep: recreate as a string column, blank so far
            del self.group[name]
            self._create(name, kind)
            return
        ds.attrs["kind"] = kind
        del ds.attrs["untyped"]
        self.kinds[name] = kind

    def _update_kinds(self, rows: Sequence[Mapping[str, Scalar | None]]) -> bool:
        """Create new columns and widen numeric kinds; True if a column was added."""
        added = False
        seen = self._seen_types
        for row in rows:
            for name, value in row.items():
                if seen.get(name) is type(value):  # this column has had this type: no change
                    continue
                if value is None:  # missing: creates the column, tells nothing of its kind
                    if name not in self.kinds:
                        self._create(name, "float", untyped=True)
                        added = True
                    continue
                seen[name] = type(value)
                kind = _scalar_kind(value)
                old = self.kinds.get(name)
                if name in self.untyped:
                    self._type_column(name, kind)
                    continue
                if old is None:
                    self._create(name, kind)
                    added = True
                elif old != kind and old != "str" and kind != "str":
                    if _NUMERIC_RANK[kind] > _NUMERIC_RANK[old]:
                        self.kinds[name] = kind
                        self.datasets[name].attrs["kind"] = kind
        return added

    def _values(self, name: str, rows: Sequence[Mapping[str, Scalar | None]]) -> np.ndarray:
        kind = self.kinds[name]
        is_str = kind == "str"
        values: np.ndarray
        if is_str:
            values = np.empty(len(rows), dtype=object)
            values[:] = ""
        else:
            values = np.full(len(rows), np.nan)
        for i, row in enumerate(rows):
            v = row.get(name)
            if v is None:
                continue
            if is_str != isinstance(v, str):
                if name not in self._warned:
                    logger.warning(
                        "summary column %r holds %s values; a %s value (item %r) is left "
                        "blank in the table (it is kept in the item's group)",
                        name, kind, type(v).__name__, row.get("id"),
                    )
                    self._warned.add(name)
                continue
            values[i] = v
        return values

    def append(self, rows: Sequence[Mapping[str, Scalar | None]]) -> None:
        if not rows:
            return
        added = self._update_kinds(rows)
        start, n_new = self.n_rows, len(rows)
        mspace = h5py.h5s.create_simple((n_new,))
        for name in self.columns:
            values = self._values(name, rows)
            dsid = self.datasets[name].id
            dsid.set_extent((start + n_new,))
            fspace = dsid.get_space()
            fspace.select_hyperslab((start,), (n_new,))
            dsid.write(mspace, fspace, values)
        self.n_rows = start + n_new
        if added:
            self.group.attrs["columns"] = self.columns

    def reorder_by_index(self) -> None:
        if not self.n_rows:
            return
        order = np.argsort(self.datasets["index"][:], kind="stable")
        if np.array_equal(order, np.arange(order.size)):
            return
        for ds in self.datasets.values():  # same length, rewritten in place: no dead space
            ds[:] = ds[:][order]


def _fill_value(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    return 0


@dataclass
class _StackRows:
    """The rows of one ``/arrays`` stack written by one block: (row, flat array) pairs."""

    dtype: np.dtype
    rows: list[tuple[int, np.ndarray]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# NeXus view
# --------------------------------------------------------------------------------------------

#: NeXus entry holding the view of the results (the root's ``default``).
NEXUS_ENTRY = "entry"
#: NXdata group of the entry (the entry's ``default``) plotting every scan's fit.
NEXUS_FIT = "fit"
#: ``/arrays`` stack plotted as the signal (a 2-D scan × point stack).
NEXUS_SIGNAL = "observed"
#: ``/arrays`` stacks plotted with it (same shape), in this order.
NEXUS_AUXILIARY = ("calculated", "background", "residual")
#: Units of the signal and of the auxiliary signals (the analysis fits raw detector counts).
NEXUS_SIGNAL_UNITS = "counts"
#: ``/arrays`` stack of each scan's 2θ grid (degrees).
NEXUS_TWO_THETA_ARRAY = "two_theta_deg"
#: Two scans share one 2θ grid when they have the same number of points and no point differs
#: by more than this (degrees): a tenth of a millidegree, a few float32 steps at 150° and far
#: below the step of any powder scan (≥ 0.001°).
GRID_MATCH_ATOL_DEG = 1e-4
#: Rows read at a time while checking the 2θ grids of a file a session resumes onto.
_GRID_SCAN_ROWS = 1024


def _trim_padding(row: np.ndarray) -> np.ndarray:
    """A stack row without the NaN fill after its last finite value (shorter arrays)."""
    finite = np.flatnonzero(np.isfinite(row))
    return row[: finite[-1] + 1] if finite.size else row[:0]


class _NexusView:
    """A NeXus view of a results file that copies none of the big arrays.

    ``/`` gets ``NX_class = NXroot`` and ``default = entry``; ``/entry`` (NXentry,
    ``default = fit``) holds an NXprocess ``process`` (``program`` = closokit, ``version``,
    and the batch configuration as the NXnote ``process/config``) and the NXdata ``fit``:

    - ``observed`` (the signal), ``calculated``, ``background`` and ``residual``
      (``auxiliary_signals``) are hard links to the ``/arrays`` stacks of those names (their
      ``target`` attribute names the stack), each ``(rows, points)`` with
      ``units = "counts"``; the signal has ``interpretation = "spectrum"``, so viewers plot
      one scan (row) at a time as a curve, with a slider over ``scan_index``;
    - ``scan_index`` holds the row numbers ``0 … rows-1`` (a row is the item's ``index`` in
      the batch, see ``/arrays``); ``two_theta`` (``units = "deg"``) is a 1-D dataset when
      every scan has the same 2θ grid (within :data:`GRID_MATCH_ATOL_DEG`), and then
      ``axes = ["scan_index", "two_theta"]``. When the grids differ, ``two_theta`` is a hard
      link to the 2-D ``/arrays/two_theta_deg`` stack with ``two_theta_indices = [0, 1]`` (a
      coordinate of every point, as NeXus allows) and ``axes = ["scan_index", "."]``: h5web,
      silx and NeXus validators take only 1-D axes, so the plot is then against the point
      index (a 2-D entry in ``axes`` fails nexusformat's check and may break viewers).

    Rows of failed or not yet finished scans hold NaN. Stacks that overflowed to
    ``name@2`` … (an item whose array did not fit the first stack) are not part of the view.
    The view is updated at every publication of the file (links and attributes only; the 1-D
    2θ grid and ``scan_index`` are rewritten when they change).
    """

    def __init__(self, f: h5py.File) -> None:
        self.f = f
        self.grid: np.ndarray | None = None  # the 2θ grid all scans seen so far share
        self.grid_shared = True
        # a file resumed onto already has grids: check them once, at the first update
        self.grid_checked = NEXUS_TWO_THETA_ARRAY not in f.get(ARRAYS_GROUP, {})

    def note_grid(self, two_theta_deg: np.ndarray) -> None:
        """Record one scan's 2θ grid (as stored)."""
        if not self.grid_shared:
            return
        row = np.asarray(two_theta_deg, dtype=np.float64).reshape(-1)
        if self.grid is None:
            self.grid = row.copy()
        elif row.shape != self.grid.shape or not np.allclose(
            row, self.grid, rtol=0.0, atol=GRID_MATCH_ATOL_DEG
        ):
            self.grid_shared = False

    def _check_file_grids(self, ds: h5py.Dataset) -> None:
        for start in range(0, ds.shape[0], _GRID_SCAN_ROWS):
            for row in ds[start : start + _GRID_SCAN_ROWS]:
                row = _trim_padding(row)
                if row.size:
                    self.note_grid(row)
        self.grid_checked = True

    @staticmethod
    def _link(group: h5py.Group, name: str, target: h5py.Dataset) -> None:
        """Hard link ``group/name`` → ``target`` (NeXus link: ``target`` attribute)."""
        have = group.get(name)
        if have is not None and have.id == target.id:
            return
        if have is not None:
            del group[name]
        group[name] = target
        if target.attrs.get("target") != target.name:
            target.attrs["target"] = target.name

    @staticmethod
    def _set_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
        for key, value in attrs.items():
            have = obj.attrs.get(key)
            if have is None or not np.array_equal(np.asarray(have), np.asarray(value)):
                obj.attrs[key] = value

    @staticmethod
    def _put(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
        """Dataset ``group/name`` = ``data``, rewritten only when it changed."""
        have = group.get(name)
        if isinstance(have, h5py.Dataset) and have.shape == data.shape and have.dtype == data.dtype:
            if not np.array_equal(have[()], data):
                have[...] = data
            return have
        if have is not None:
            del group[name]
        return group.create_dataset(name, data=data, track_times=False)

    @staticmethod
    def _put_text(group: h5py.Group, name: str, text: str) -> None:
        have = group.get(name)
        if isinstance(have, h5py.Dataset) and have.asstr()[()] == text:
            return
        if have is not None:
            del group[name]
        group.create_dataset(name, data=text, dtype=h5py.string_dtype(), track_times=False)

    def update(self, config_json: str) -> None:
        """Write or refresh the view (see the class docstring)."""
        f = self.f
        self._set_attrs(f, {"NX_class": "NXroot", "default": NEXUS_ENTRY, "creator": "closokit"})
        entry = f.require_group(NEXUS_ENTRY)
        self._set_attrs(entry, {"NX_class": "NXentry"})
        process = entry.require_group("process")
        self._set_attrs(process, {"NX_class": "NXprocess"})
        self._put_text(process, "program", "closokit")
        self._put_text(process, "version", __version__)
        note = process.require_group("config")
        self._set_attrs(note, {"NX_class": "NXnote"})
        self._put_text(note, "type", "application/json")
        self._put_text(note, "data", config_json)

        arrays = f.get(ARRAYS_GROUP)
        signal = arrays.get(NEXUS_SIGNAL) if arrays is not None else None
        if not isinstance(signal, h5py.Dataset) or signal.ndim != 2:
            return  # no scan has been fitted yet: no plot to offer
        fit = entry.require_group(NEXUS_FIT)
        n_rows, n_points = signal.shape
        self._link(fit, NEXUS_SIGNAL, signal)
        self._set_attrs(signal, {"units": NEXUS_SIGNAL_UNITS, "interpretation": "spectrum",
                                 "long_name": "observed (counts)"})
        auxiliary = []
        for name in NEXUS_AUXILIARY:
            ds = arrays.get(name)
            if isinstance(ds, h5py.Dataset) and ds.shape == signal.shape:
                self._link(fit, name, ds)
                self._set_attrs(ds, {"units": NEXUS_SIGNAL_UNITS})
                auxiliary.append(name)
            elif name in fit:
                del fit[name]
        scan_index = self._put(fit, "scan_index", np.arange(n_rows, dtype=np.int64))
        self._set_attrs(scan_index, {"long_name": "scan index (row in /arrays)"})

        two_theta = arrays.get(NEXUS_TWO_THETA_ARRAY)
        if isinstance(two_theta, h5py.Dataset) and not self.grid_checked:
            self._check_file_grids(two_theta)
        axes = ["scan_index", "two_theta"]
        attrs: dict[str, Any] = {"NX_class": "NXdata", "signal": NEXUS_SIGNAL,
                                 "scan_index_indices": 0}
        grid = self.grid
        if self.grid_shared and grid is not None and grid.size == n_points:
            ds = self._put(fit, "two_theta", grid)
            self._set_attrs(ds, {"units": "deg", "long_name": "2θ (deg)"})
            attrs["two_theta_indices"] = 1
        elif isinstance(two_theta, h5py.Dataset) and two_theta.shape == signal.shape:
            self._link(fit, "two_theta", two_theta)
            self._set_attrs(two_theta, {"units": "deg", "long_name": "2θ (deg)"})
            attrs["two_theta_indices"] = np.array([0, 1], dtype=np.int64)
            axes[1] = "."  # a coordinate of each point, not a 1-D axis viewers can take
        else:  # no usable 2θ: plot against the point index
            if "two_theta" in fit:
                del fit["two_theta"]
            axes[1] = "."
            if "two_theta_indices" in fit.attrs:
                del fit.attrs["two_theta_indices"]
        attrs["axes"] = axes
        if auxiliary:
            attrs["auxiliary_signals"] = auxiliary
        elif "auxiliary_signals" in fit.attrs:
            del fit.attrs["auxiliary_signals"]
        self._set_attrs(fit, attrs)
        self._set_attrs(entry, {"default": NEXUS_FIT})


class _H5Writer:
    """Writes items into an open results file: item groups, ``/arrays`` stacks, ``/summary``.

    Creation properties: UTF-8 link names and no object timestamps (faster, and the same
    results give byte-identical objects). An item's group is written by setting the
    ``record`` attribute of a template group in an in-memory file and copying that group
    (one ``H5Ocopy``: ~30 % cheaper than creating a group and an attribute through h5py).
    """

    def __init__(self, f: h5py.File, *, new: bool, config_json: str) -> None:
        self.f = f
        if new:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["created"] = _now()
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["closokit_version"] = __version__
        f.attrs["config_json"] = config_json
        self.config_json = config_json
        self.nexus = _NexusView(f)
        self.items = f.require_group(ITEMS_GROUP)
        self.arrays = f.require_group(ARRAYS_GROUP)
        self.summary = _SummaryWriter(f)
        self.stacks: dict[str, h5py.Dataset] = {
            k: v for k, v in self.arrays.items() if isinstance(v, h5py.Dataset)
        }
        self.stack_dtypes: dict[str, np.dtype] = {k: v.dtype for k, v in self.stacks.items()}
        self.stack_widths: dict[str, int] = {k: v.chunks[1] for k, v in self.stacks.items()}
        self.rows_used: set[int] = set()
        if "row" in self.summary.columns:
            rows = self.summary.group["row"][:]
            self.rows_used = {int(r) for r in rows[np.isfinite(rows)]}
        self.max_row = max(self.rows_used, default=-1)
        self._lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
        self._lcpl.set_char_encoding(h5py.h5t.CSET_UTF8)
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        self._template = h5py.File(f"closokit-template-{id(self)}", "w", driver="core",
                                   backing_store=False)
        template = h5py.h5g.create(self._template.id, b"item", gcpl=gcpl)
        self._specs_cache: dict[tuple[Any, ...], str] = {}
        self._object_type = h5py.h5t.py_create(np.dtype(object))  # h5py's Python-str memory type
        self._record_attr = h5py.h5a.create(
            template, b"record", h5py.h5t.py_create(h5py.string_dtype(), logical=True),
            h5py.h5s.create(h5py.h5s.SCALAR),
        )

    # -- rows and stacks -------------------------------------------------------------------
    def _assign_row(self, index: int, n_rows_hint: int) -> int:
        row = index
        if row in self.rows_used:  # taken by another item (an item list that changed)
            row = max(self.max_row + 1, n_rows_hint)
        self.rows_used.add(row)
        self.max_row = max(self.max_row, row)
        return row

    def _stack_key(self, name: str, arr: np.ndarray, taken: Mapping[str, Any]) -> str:
        """The ``/arrays`` dataset for this array: ``name``, or ``name@2``, ``name@3`` … when
        the array's dtype cannot be cast safely to that stack's, or it is more than
        :data:`MAX_WIDTH_GROWTH` times wider than the stack's chunks."""
        key, n = name, 1
        while True:
            have = self.stack_dtypes.get(key)
            if have is None:
                self.stack_dtypes[key] = arr.dtype
                self.stack_widths[key] = arr.size
                return key
            if (
                key not in taken
                and (have == arr.dtype or np.can_cast(arr.dtype, have, "safe"))
                and arr.size <= MAX_WIDTH_GROWTH * self.stack_widths[key]
            ):
                return key
            n += 1
            key = f"{name}@{n}"

    def _stack(self, key: str, n_rows: int, width: int) -> h5py.Dataset:
        ds = self.stacks.get(key)
        if ds is None:
            dtype = self.stack_dtypes[key]
            width = max(1, width)
            rows_per_chunk = max(1, min(MAX_CHUNK_ROWS, CHUNK_BYTES // (width * dtype.itemsize)))
            ds = self.arrays.create_dataset(
                key, shape=(n_rows, width), maxshape=(None, None), dtype=dtype,
                chunks=(rows_per_chunk, width), fillvalue=_fill_value(dtype), track_times=False,
            )
            self.stacks[key] = ds
            self.stack_widths[key] = width
        elif ds.shape[0] < n_rows or ds.shape[1] < width:
            ds.resize((max(ds.shape[0], n_rows), max(ds.shape[1], width)))
        return ds

    def _write_stack(self, key: str, stack: _StackRows, n_rows_hint: int) -> None:
        rows = sorted(stack.rows, key=lambda r: r[0])
        n_rows = max(rows[-1][0] + 1, n_rows_hint)
        ds = self._stack(key, n_rows, max(a.size for _, a in rows))
        start = 0
        while start < len(rows):  # one write per run of consecutive rows
            stop = start + 1
            while stop < len(rows) and rows[stop][0] == rows[stop - 1][0] + 1:
                stop += 1
            run = [a for _, a in rows[start:stop]]
            width = max(a.size for a in run)
            if all(a.size == width for a in run):
                block = np.stack(run).astype(stack.dtype, copy=False)
            else:
                block = np.full((len(run), width), _fill_value(stack.dtype), dtype=stack.dtype)
                for i, a in enumerate(run):
                    block[i, : a.size] = a
            self._write_rows(ds, rows[start][0], block)
            start = stop

    @staticmethod
    def _write_rows(ds: h5py.Dataset, first: int, block: np.ndarray) -> None:
        """Write ``block`` at rows ``first …``. Chunks the block covers entirely go straight
        to the file (``H5Dwrite_chunk``: no selection or conversion, ~2× faster); partial
        chunks at the ends go through ``H5Dwrite`` (which merges them with their other rows)."""
        dsid = ds.id
        n = block.shape[0]
        chunk_rows, chunk_width = ds.chunks
        lo = -(-first // chunk_rows) * chunk_rows  # first chunk boundary at or after `first`
        hi = (first + n) // chunk_rows * chunk_rows
        direct = (
            hi > lo and block.dtype == ds.dtype and block.shape[1] == chunk_width == ds.shape[1]
        )
        parts = [(first, lo), (hi, first + n)] if direct else [(first, first + n)]
        for a, b in parts:
            if b > a:
                part = block[a - first : b - first]
                fspace = dsid.get_space()
                fspace.select_hyperslab((a, 0), part.shape)
                dsid.write(h5py.h5s.create_simple(part.shape), fspace, part)
        if direct:
            for c in range(lo, hi, chunk_rows):
                dsid.write_direct_chunk((c, 0), block[c - first : c - first + chunk_rows])

    # -- items -----------------------------------------------------------------------------
    def _specs_json(self, layout: tuple[tuple[str, str | None, tuple[int, ...], str], ...]) -> str:
        """JSON of an item's ``arrays`` specs; cached, as most items share one layout."""
        text = self._specs_cache.get(layout)
        if text is None:
            if len(self._specs_cache) > 1024:
                self._specs_cache.clear()
            text = self._specs_cache[layout] = json.dumps(
                {name: {"dataset": key, "shape": list(shape), "dtype": dtype}
                 for name, key, shape, dtype in layout}
            )
        return text

    def _write_group(self, rec: ItemRecord, head: str, row: int, specs_json: str) -> None:
        """The item's group; ``head`` is its journal header's JSON up to ``arrays``."""
        record = f'{head}, "row": {row}{_ARRAYS_KEY}{specs_json}}}'
        self._record_attr.write(np.array(record, dtype=object), mtype=self._object_type)
        name = encode_group_name(rec.item_id).encode()
        h5py.h5o.copy(self._template.id, b"item", self.items.id, name, lcpl=self._lcpl)

    def add(self, records: Sequence[tuple[ItemRecord, str]], n_rows_hint: int) -> None:
        """Write one block of items (ids not yet in the file), as :func:`_unpack_blob`
        returns them."""
        stacks: dict[str, _StackRows] = {}
        rows = []
        for rec, head in records:
            row = self._assign_row(rec.index, n_rows_hint)
            layout = []
            taken: dict[str, None] = {}  # stacks this item already uses
            for name, arr in rec.arrays.items():
                key = None
                if arr.size:
                    key = self._stack_key(name, arr, taken)
                    taken[key] = None
                    stack = stacks.get(key)
                    if stack is None:
                        stack = stacks[key] = _StackRows(self.stack_dtypes[key])
                    stack.rows.append((row, arr.reshape(-1)))
                    if key == NEXUS_TWO_THETA_ARRAY:
                        self.nexus.note_grid(arr)
                layout.append((name, key, arr.shape, arr.dtype.str))
            self._write_group(rec, head, row, self._specs_json(tuple(layout)))
            rows.append(_row_of(rec, row))
        for key, stack in stacks.items():
            self._write_stack(key, stack, n_rows_hint)
        self.summary.append(rows)

    # -- file state ------------------------------------------------------------------------
    def set_state(self, n_items_expected: int | None, *, final: bool) -> None:
        """Root attributes and the NeXus view; with ``final`` the summary goes into item
        order."""
        if final:
            self.summary.reorder_by_index()
        self.nexus.update(self.config_json)
        n_items = self.summary.n_rows
        self.f.attrs["n_items"] = n_items
        if n_items_expected is not None:
            self.f.attrs["n_items_expected"] = n_items_expected
        self.f.attrs["complete"] = bool(
            final and n_items_expected is not None and n_items >= n_items_expected
        )
        self.f.attrs["updated"] = _now()

    def close(self) -> None:
        """Close the template and the file; every step runs even if an earlier one fails (a
        full disk makes HDF5's final flush fail), the first error is raised after."""
        # drop every wrapper of an object in the file while the file is still open: after a
        # failed close (full disk) HDF5 invalidates their ids, and freeing them later crashes
        self.stacks.clear()
        self.summary.datasets.clear()
        self.summary.group = self.items = self.arrays = None  # type: ignore[assignment]
        import gc

        gc.collect()
        first: BaseException | None = None
        for step in (self._record_attr.close, self._template.close, self.f.close):
            try:
                step()
            except Exception as exc:  # noqa: PERF203 - each step must run
                first = first or exc
        if first is not None:
            raise first


class _BackgroundSync:
    """Sends the working file's data towards the disk while the batch computes: a daemon
    thread fsyncs it whenever asked (``os.fsync`` releases the GIL), so the final fsync has
    little left to write. Errors are only logged here; the final fsync reports them."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="closokit-results-sync",
                                        daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                os.fsync(self._fd)
            except OSError as exc:
                logger.debug("background fsync failed (%s)", exc)

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join()
        os.close(self._fd)


def _mkstemp_beside(target: Path) -> tuple[int, str]:
    """A new temporary file next to ``target``: a random name created with ``O_EXCL`` (a
    symlink planted under a predictable name is never followed), mode 0644."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=target.name + ".tmp-", dir=target.parent)
    os.fchmod(fd, 0o644)
    return fd, tmp


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
    with _open_h5(path) as f, _damage_is_input_error(path, "reading the ids done"):
        _check_format(f, path)
        g = f.get(SUMMARY_GROUP)
        if g is None or "id" not in g:
            return []
        ids = g["id"][:]
        if ids.dtype.kind not in "SOU":
            raise TypeError(f"/summary/id holds {ids.dtype}, not strings")
        return [s.decode() if isinstance(s, bytes) else str(s) for s in ids]


# --------------------------------------------------------------------------------------------
# Batch fingerprint (what a resume must continue)
# --------------------------------------------------------------------------------------------


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Identity of an input file: canonical absolute path, size, mtime and SHA-256 of its bytes.

    Parameters
    ----------
    path : path
        The input file (symbolic links are resolved).

    Returns
    -------
    dict
        ``path`` (canonical, absolute), ``size`` (bytes), ``mtime_ns`` (modification time,
        ns since the epoch) and ``sha256`` (hex digest of the content).

    Raises
    ------
    InputError
        The file cannot be read (the message says why: missing, a directory, permission).

    Examples
    --------
    >>> import hashlib, pathlib, tempfile
    >>> from xrdkit.results import file_fingerprint
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.xy"
    >>> _ = path.write_bytes(b"10.00 120\\n")
    >>> fp = file_fingerprint(path)
    >>> sorted(fp), fp["size"], fp["sha256"] == hashlib.sha256(b"10.00 120\\n").hexdigest()
    (['mtime_ns', 'path', 'sha256', 'size'], 10, True)
    """
    canonical = os.path.realpath(path)
    try:
        st = os.stat(canonical)
        import hashlib

        digest = hashlib.sha256()
        with open(canonical, "rb") as fh:
            for block in iter(lambda: fh.read(HASH_BLOCK_BYTES), b""):
                digest.update(block)
    except FileNotFoundError:
        raise InputError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=str(path)) from None
    return {"path": canonical, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": digest.hexdigest()}


def _describe(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def fingerprint_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """What differs between two batch fingerprints, in words (empty when they are equal).

    Inputs (``inputs``: a list of :func:`file_fingerprint` dicts) are matched by canonical
    path, so the message says which file was added, removed or changed (and how); other keys
    are compared recursively and named by their dotted path.

    Parameters
    ----------
    old, new : object
        The interrupted batch's fingerprint and this one's (usually dicts of options,
        phases, instrument and ``inputs``).
    prefix : str
        Dotted path of ``old``/``new`` inside the whole fingerprint (used by the recursion;
        leave it empty).

    Returns
    -------
    list of str
        One sentence per difference: inputs added, removed or modified first, then every
        other key whose value differs, was added or was removed.

    Examples
    --------
    >>> from xrdkit.results import fingerprint_differences
    >>> a = {"options": {"bins": 2, "phases": ["nbh"]},
    ...      "inputs": [{"path": "/data/a.xy", "size": 10, "mtime_ns": 1, "sha256": "x"}]}
    >>> b = {"options": {"bins": 3, "phases": ["nbh"]},
    ...      "inputs": [{"path": "/data/a.xy", "size": 12, "mtime_ns": 2, "sha256": "y"}]}
    >>> for line in fingerprint_differences(a, b):
    ...     print(line)
    input /data/a.xy was modified (content differs, size 10 → 12 bytes)
    options.bins: 2 before, 3 now
    >>> fingerprint_differences(a, a)
    []
    """
    if prefix == "" and isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        old_inputs, new_inputs = old.get("inputs"), new.get("inputs")
        if isinstance(old_inputs, list) and isinstance(new_inputs, list):
            before = {d.get("path"): d for d in old_inputs if isinstance(d, dict)}
            after = {d.get("path"): d for d in new_inputs if isinstance(d, dict)}
            for path in after.keys() - before.keys():
                out.append(f"input {path} was not in the interrupted batch")
            for path in before.keys() - after.keys():
                out.append(f"input {path} of the interrupted batch is not given now")
            for path in sorted(before.keys() & after.keys(), key=str):
                a, b = before[path], after[path]
                changed = [k for k in ("size", "mtime_ns", "sha256") if a.get(k) != b.get(k)]
                if changed:
                    what = "content" if "sha256" in changed else "modification time"
                    sizes = (f", size {a.get('size')} → {b.get('size')} bytes"
                             if "size" in changed else "")
                    out.append(f"input {path} was modified ({what} differs{sizes})")
            if not out and [d.get("path") for d in old_inputs] != [d.get("path") for d in new_inputs]:
                out.append("the inputs are given in another order")
        rest_old = {k: v for k, v in old.items() if k != "inputs"}
        rest_new = {k: v for k, v in new.items() if k != "inputs"}
        return out + fingerprint_differences(rest_old, rest_new, prefix=".")
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(old.keys() | new.keys(), key=str):
            name = f"{prefix.lstrip('.')}.{key}" if prefix.strip(".") else str(key)
            if key not in new:
                out.append(f"{name} was {_describe(old[key])}, now unset")
            elif key not in old:
                out.append(f"{name} is now {_describe(new[key])} (unset before)")
            else:
                out.extend(fingerprint_differences(old[key], new[key], prefix=name))
        return out
    both_nan = (isinstance(old, float) and isinstance(new, float)
                and math.isnan(old) and math.isnan(new))
    if old != new and not both_nan:
        return [f"{prefix.lstrip('.')}: {_describe(old)} before, {_describe(new)} now"]
    return []


def _stored_config(out_path: Path, parts: Path) -> dict[str, Any] | None:
    """The configuration of the batch whose results/journal are at ``out_path`` (None if
    neither the file nor the journal says).

    Raises
    ------
    InputError
        ``RESULTS.h5`` exists but is damaged or not a results file.
    """
    text = None
    if out_path.exists():
        try:
            with _open_h5(out_path) as f:
                _check_format(f, out_path)
                text = f.attrs.get("config_json")
        except (OSError, RuntimeError, KeyError) as exc:
            raise InputError(f"results file is damaged ({exc})", source=str(out_path)) from None
    if text is None and (parts / _CONFIG_NAME).is_file():
        try:
            text = (parts / _CONFIG_NAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    if text is None:
        return None
    try:
        config = json.loads(_decode_str(text))
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def stored_config(out_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The configuration a batch stored with its results (``config=`` of
    :func:`xrdkit.batch.run_batch`: the command, inputs and fingerprint), read from
    ``RESULTS.h5``, else from its journal (an interrupted batch); None when neither has one.

    Parameters
    ----------
    out_path : str or path
        The results file (``RESULTS.h5``; its journal is ``RESULTS.h5.parts/``).

    Returns
    -------
    dict or None

    Raises
    ------
    InputError
        ``RESULTS.h5`` exists but is damaged or not a closokit results file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from xrdkit.batch import ItemResult, run_batch
    >>> out = Path(tempfile.mkdtemp()) / "r.h5"
    >>> _ = run_batch([1.0], lambda x: ItemResult(scalars={"x": x}), out, workers=1, item_id=str,
    ...               item_source=str, progress=False, config={"command": "demo", "files": []})
    >>> stored_config(out)["command"]
    'demo'
    >>> stored_config(out.with_name("none.h5")) is None
    True
    """
    path = Path(out_path)
    return _stored_config(path, _parts_dir(path))


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class ResultsStore:
    """Single-writer results store: journal appends, block writes into a working HDF5 file,
    atomic publication as ``RESULTS.h5`` (see the module docstring).

    Use as a context manager; the batch engine does this for you.

    Parameters
    ----------
    out_path : path
        The consolidated results file (``RESULTS.h5``). The journal and the working file live
        in ``RESULTS.h5.parts/`` beside it.
    resume : bool
        Continue an interrupted or earlier batch: keep what is in the file and the journal.
    overwrite : bool
        Delete an existing results file and journal first. Without ``resume`` or
        ``overwrite`` an existing file or journal is an error.
    config : mapping, optional
        JSON-serialisable description of the command and its settings, stored as the root
        attribute ``config_json``.
    consolidate_every_s : float
        Minimum time between periodic consolidations (copies of the working file published as
        ``RESULTS.h5``). The interval also stretches to :data:`PUBLISH_BUDGET_FACTOR` times the
        duration of the last consolidation, so consolidation stays under ~5 % of the run.
    float32_arrays : bool
        Store floating-point arrays of :class:`ItemRecord` objects given to :meth:`append` as
        float32 (a :class:`PackedRecord` is stored as it was packed).

    Raises
    ------
    BatchError
        Another process is writing the same results file; the file exists and neither
        ``resume`` nor ``overwrite`` was given.
    InputError
        The existing file is not a results file.

    Examples
    --------
    Two items stored by hand (:func:`xrdkit.batch.run_batch` does this for a batch); a
    repeated id is not stored again, and the items are in the journal before the final
    consolidation publishes ``RESULTS.h5``:

    >>> import pathlib, tempfile
    >>> from xrdkit.results import ItemRecord, ResultsStore, completed_ids, read_summary
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> with ResultsStore(out, config={"analysis": "demo"}) as store:
    ...     store.append(ItemRecord("scan_a", 0, "a.xy", "ok", scalars={"a_angstrom": 10.029}))
    ...     store.append(ItemRecord("scan_b", 1, "b.xy", "error", error="InputError: bad file"))
    ...     store.append(ItemRecord("scan_a", 0, "a.xy", "ok"))
    ...     journaled, published = sorted(completed_ids(out)), out.exists()
    ...     store.finalize()
    True
    True
    False
    >>> journaled, published, out.exists()
    (['scan_a', 'scan_b'], False, True)
    >>> [(row["id"], row["status"], row["a_angstrom"]) for row in read_summary(out)]
    [('scan_a', 'ok', 10.029), ('scan_b', 'error', None)]
    """

    def __init__(
        self,
        out_path: str | os.PathLike[str],
        *,
        resume: bool = False,
        overwrite: bool = False,
        config: Mapping[str, Any] | None = None,
        consolidate_every_s: float = 10.0,
        float32_arrays: bool = True,
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
        self.float32_arrays = bool(float32_arrays)
        self._lock_fd: int | None = None
        self._lock_key = ""
        self._seg_fd: int | None = None
        self._segment: Path | None = None
        self._work_path = self.parts / _WORK_NAME
        self._writer: _H5Writer | None = None
        self._sync: _BackgroundSync | None = None
        self._done: set[str] = set()  # ids in the file or the journal
        self._buffer: list[bytes] = []  # journaled, not yet in the working file
        self._buffer_bytes = 0
        self._unpublished = False  # the working file has items RESULTS.h5 has not
        self._last_consolidation = 0.0
        self._min_interval_s = self.consolidate_every_s
        self.n_items_expected: int | None = None
        #: Set when a write failed for lack of space: later appends are dropped (their items
        #: are not journaled, so a resume runs them) and consolidations skipped, so that the
        #: batch can shut its workers down and report the error once.
        self.failed: BatchError | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ResultsStore:
        if self._lock_fd is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Take the writer lock, load done ids, open the working file and a new segment."""
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
            self._work_path.unlink(missing_ok=True)  # a killed session's: maybe inconsistent
            if self.overwrite and not self.resume:
                self.out_path.unlink(missing_ok=True)
                for seg in _segments(self.parts):
                    seg.unlink()
                (self.parts / _CONFIG_NAME).unlink(missing_ok=True)
            if exists and self.resume:
                self._check_same_batch()
            in_file = _consolidated_ids(self.out_path) if self.out_path.exists() else []
            self._done = set(in_file)
            pending: list[_JournalEntry] = []
            for entry in _journal_entries(self.parts):
                if entry.item_id not in self._done:
                    self._done.add(entry.item_id)
                    pending.append(entry)
            self._write_config()
            self._new_segment()
            self._open_work(pending)
            self._last_consolidation = _monotonic()
            logger.info(
                "%s: %d items already done (%d in the journal only)",
                self.out_path, len(self._done), len(pending),
            )
        except BaseException as exc:
            if isinstance(exc, (OSError, RuntimeError)) and _is_disk_full(exc):
                self.failed = BatchError(_disk_full_message(self.out_path, "opening the results"))
            elif isinstance(exc, BatchError) and "no space left" in str(exc):
                self.failed = exc
            self.close()
            if not _segments(self.parts):  # leave nothing behind that we created
                (self.parts / _CONFIG_NAME).unlink(missing_ok=True)
                (self.parts / "lock").unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.parts.rmdir()
            if self.failed is not None and not isinstance(exc, BatchError):
                raise self.failed from None
            raise

    def _check_same_batch(self) -> None:
        """Refuse to resume another batch: the stored fingerprint (options, phases, instrument,
        inputs) must equal this one. Results without a fingerprint (older versions, or a batch
        run without one) are resumed as before."""
        mine = json.loads(self.config_json).get(FINGERPRINT_KEY)
        if mine is None:
            return
        stored = _stored_config(self.out_path, self.parts)
        theirs = None if stored is None else stored.get(FINGERPRINT_KEY)
        if theirs is None:
            logger.warning("%s: the stored results have no batch fingerprint; resuming without "
                           "checking that the inputs and options are the same", self.out_path)
            return
        diffs = fingerprint_differences(theirs, mine)
        if diffs:
            shown = "; ".join(diffs[:MAX_DIFFERENCES_SHOWN])
            more = f" (and {len(diffs) - MAX_DIFFERENCES_SHOWN} more)" if len(diffs) > MAX_DIFFERENCES_SHOWN else ""
            raise BatchError(
                f"{self.out_path}: --resume refused, this is not the batch that was interrupted: "
                f"{shown}{more}; rerun with the same inputs and options, or use --overwrite or "
                "another --out"
            )

    def _write_config(self) -> None:
        """Keep this batch's configuration in the journal folder (atomically), so that a resume
        before the first publication of ``RESULTS.h5`` can check its fingerprint."""
        target = self.parts / _CONFIG_NAME
        fd, tmp = _mkstemp_beside(target)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.config_json)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _new_segment(self) -> None:
        """Append from now on to a new journal segment (a torn tail stays at the end of its
        segment: it is never appended to)."""
        if self._seg_fd is not None:
            os.close(self._seg_fd)
            self._seg_fd = None
        number = max((_segment_number(p) for p in _segments(self.parts)), default=-1) + 1
        self._segment = self.parts / f"journal-{number:05d}.log"
        self._seg_fd = os.open(
            self._segment, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644
        )

    def _open_work(self, pending: Sequence[_JournalEntry]) -> None:
        """Working file = a copy of ``RESULTS.h5`` plus the journal records it lacks."""
        new = not self.out_path.exists()
        if not new:
            shutil.copyfile(self.out_path, self._work_path)
        f = h5py.File(self._work_path, "w" if new else "r+")
        try:
            with _damage_is_input_error(self.out_path, "resuming onto it"):
                self._writer = _H5Writer(f, new=new, config_json=self.config_json)
        except BaseException:
            f.close()
            raise
        self._sync = _BackgroundSync(self._work_path)
        handles: dict[Path, Any] = {}
        try:
            for start in range(0, len(pending), BLOCK_ITEMS):
                blobs = [_read_blob(e, handles) for e in pending[start : start + BLOCK_ITEMS]]
                with _damage_is_input_error(self.out_path, "adding the journal's items to it"):
                    self._writer.add([_unpack_blob(b) for b in blobs], 0)
        finally:
            for fh in handles.values():
                fh.close()
        self._unpublished = bool(pending) or new

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


    def _detach_work_file(self) -> None:
        """After a write error (full disk) point the working file's descriptor at /dev/null.

        The working file is discarded anyway, but HDF5 flushes its caches when it closes it,
        those writes fail again on a full disk, and a failed close leaves object ids whose
        later release crashes the process. Writes to /dev/null succeed (reads see zeros), the
        real file's space is freed, and the close completes.
        """
        assert self._writer is not None
        try:
            fd = self._writer.f.id.get_vfd_handle()
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, int(fd))
            finally:
                os.close(null)
        except Exception as exc:  # another driver: fall back on emptying the file
            logger.debug("cannot detach the working file (%s); truncating it", exc)
            with contextlib.suppress(OSError):
                os.truncate(self._work_path, 0)

    def close(self) -> None:
        """Release the working file, the segment and the lock (no consolidation: call
        :meth:`finalize`). The working file is deleted; the journal keeps every item."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        if self._writer is not None:
            if self.failed is not None:
                self._detach_work_file()
            try:
                self._writer.close()
            except Exception as exc:  # discarded anyway; the journal keeps every item
                logger.debug("closing the working file failed (%s)", exc)
            finally:
                self._writer = None
                self._work_path.unlink(missing_ok=True)
        self._buffer, self._buffer_bytes = [], 0
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
    def append(self, rec: ItemRecord | PackedRecord) -> bool:
        """Journal one finished item (one ``write``) and buffer it for the working file.

        Returns False (and stores nothing) for a repeated id.
        """
        if self.failed is not None:
            logger.debug("%s: not stored after an earlier write error: %s", self.out_path, rec.item_id)
            return False
        if self._seg_fd is None or self._writer is None:
            raise BatchError(f"{self.out_path}: results store is not open")
        if rec.item_id in self._done:
            logger.warning("item %r already has a result; the repeat is not stored", rec.item_id)
            return False
        packed = (
            rec if isinstance(rec, PackedRecord)
            else pack_record(rec, float32_arrays=self.float32_arrays)
        )
        view = memoryview(packed.blob)
        try:
            while view:  # a regular-file write is complete unless the disk is full
                n = os.write(self._seg_fd, view)
                if n == 0:
                    raise OSError(errno.ENOSPC, "no progress writing the journal")
                view = view[n:]
        except OSError as exc:  # a torn record is ignored by the next session
            if _is_disk_full(exc):
                self.failed = BatchError(_disk_full_message(self.out_path, "journaling an item"))
            else:
                self.failed = BatchError(f"{self.out_path}: cannot write the journal ({exc}); every "
                                         "item journaled before is kept — run again with --resume")
            raise self.failed from None
        self._done.add(rec.item_id)
        self._buffer.append(packed.blob)
        self._buffer_bytes += len(packed.blob)
        if len(self._buffer) >= BLOCK_ITEMS or self._buffer_bytes >= BLOCK_BYTES:
            self._flush_buffer()
        return True

    def _flush_buffer(self) -> None:
        """Write the buffered (already journaled) items into the working file."""
        if not self._buffer:
            return
        assert self._writer is not None
        try:
            with _damage_is_input_error(self.out_path, "writing items into it"):
                self._writer.add([_unpack_blob(b) for b in self._buffer], self.n_items_expected or 0)
        except (BatchError, InputError) as exc:
            self.failed = exc if isinstance(exc, BatchError) else BatchError(str(exc))
            raise
        self._buffer, self._buffer_bytes = [], 0
        self._unpublished = True
        if self._sync is not None:
            self._sync.request()

    def maybe_consolidate(self) -> bool:
        """Consolidate if the interval has passed and there is something new."""
        if self.failed is None and (self._buffer or self._unpublished) and (
            _monotonic() - self._last_consolidation >= self._min_interval_s
        ):
            self.consolidate()
            return True
        return False

    def consolidate(self, *, final: bool = False) -> None:
        """Publish the working file (with everything journaled) as ``RESULTS.h5``, atomically.

        Periodic: the working file is flushed, copied, fsynced and the copy replaces
        ``RESULTS.h5``. With ``final=True`` the summary is put in item order, ``complete`` is
        set when ``n_items_expected`` items are present, the working file itself is closed,
        fsynced and renamed to ``RESULTS.h5``, and the journal is removed.
        """
        if self.failed is not None:
            if final:
                raise self.failed
            logger.info("%s: not consolidated after an earlier write error", self.out_path)
            return
        if self._writer is None:
            raise BatchError(f"{self.out_path}: results store is not open")
        try:
            self._consolidate(final=final)
        except BatchError as exc:
            self.failed = exc
            raise
        except (OSError, RuntimeError) as exc:
            if _is_disk_full(exc):
                self.failed = BatchError(_disk_full_message(self.out_path, "publishing the results"))
                raise self.failed from None
            raise

    def _consolidate(self, *, final: bool) -> None:
        assert self._writer is not None
        t0 = _monotonic()
        self._flush_buffer()
        if final:
            self._writer.set_state(self.n_items_expected, final=True)
            writer, self._writer = self._writer, None
            writer.close()
            if self._sync is not None:
                self._sync.close()
                self._sync = None
            _fsync_path(self._work_path)
            os.replace(self._work_path, self.out_path)
            _fsync_path(self.out_path.parent, directory=True)
            self._remove_journal()
        else:
            if not self._unpublished and self.out_path.exists():
                return
            self._writer.set_state(self.n_items_expected, final=False)
            self._writer.f.flush()
            fd, tmp_name = _mkstemp_beside(self.out_path)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as dst, open(self._work_path, "rb") as src:
                    shutil.copyfileobj(src, dst, COPY_BLOCK_BYTES)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(tmp, self.out_path)
                _fsync_path(self.out_path.parent, directory=True)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            # Every journaled item is now in the fsynced RESULTS.h5: start a new segment and
            # drop the old ones (keeps the journal, and the page cache it dirties, small).
            self._new_segment()
            for seg in _segments(self.parts):
                if seg != self._segment:
                    seg.unlink(missing_ok=True)
        self._unpublished = False
        elapsed = _monotonic() - t0
        self._last_consolidation = _monotonic()
        self._min_interval_s = max(self.consolidate_every_s, PUBLISH_BUDGET_FACTOR * elapsed)
        logger.debug("consolidated %s in %.3f s", self.out_path, elapsed)

    def _remove_journal(self) -> None:
        if self._seg_fd is not None:
            os.close(self._seg_fd)
            self._seg_fd = None
        for seg in _segments(self.parts):
            seg.unlink()
        (self.parts / _CONFIG_NAME).unlink(missing_ok=True)
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

    Safe to call while a batch writes: the journal is read first, and a segment is deleted
    only after the ``RESULTS.h5`` holding its items has replaced the old one, so an item
    missed in the journal is found in the file.

    Parameters
    ----------
    out_path : path
        The results file (``RESULTS.h5``); its ``RESULTS.h5.parts/`` journal is read too.
        Neither needs to exist yet.

    Returns
    -------
    frozenset of str
        The ids of every item with a stored result (ok or error); empty when nothing is
        stored.

    Examples
    --------
    Nothing is stored before a batch starts (see :class:`ResultsStore` for a store being
    written):

    >>> import pathlib, tempfile
    >>> from xrdkit.results import completed_ids
    >>> completed_ids(pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5")
    frozenset()
    """
    path = Path(out_path)
    ids = {e.item_id for e in _journal_entries(_parts_dir(path))}
    ids.update(_consolidated_ids(path))
    return frozenset(ids)


def _decode_str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def read_summary(path: str | os.PathLike[str]) -> list[dict[str, Scalar | None]]:
    """The summary table of a results file, one dict per item (columns in file order).

    Missing values (NaN, empty strings) are ``None``; ``int``/``bool`` columns are converted
    back from their float64 storage.

    Parameters
    ----------
    path : path
        A results file (``RESULTS.h5``) written by :func:`xrdkit.batch.run_batch`,
        ``xrdkit batch`` or ``irkit batch``; it may be read while the batch still writes it.

    Returns
    -------
    list of dict
        One row per stored item, in item order after the final consolidation: the engine's
        columns (``id``, ``index``, ``status``, ``error``, ``elapsed_s``, ``source``,
        ``n_warnings``, ``warnings``, ``row``) then the analysis's scalars. Empty when no item
        is stored yet.

    Raises
    ------
    InputError
        The file is missing, not HDF5 or not a closokit results file.

    Examples
    --------
    A small batch over the bundled isopropanol heating series (constructed data): per scan,
    the 2θ of the strongest point and the temperature:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from xrdkit.batch import run_batch
    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scans
    >>> from xrdkit.results import ItemResult, read_summary
    >>> scans = {scan.source: scan for scan in read_scans(example_file("isopropanol_series.h5"))}
    >>> def strongest_point(source):
    ...     scan = scans[source]
    ...     k = int(np.argmax(scan.counts))
    ...     return ItemResult(scalars={"two_theta_max_deg": float(scan.two_theta_deg[k]),
    ...                                "temperature_C": scan.metadata["temperature"]},
    ...                       arrays={"counts": scan.counts})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> run_batch(list(scans), strongest_point, out, workers=1).n_ok
    12
    >>> rows = read_summary(out)
    >>> len(rows), rows[0]["status"], rows[0]["id"].endswith("::/scan_01/data")
    (12, 'ok', True)
    >>> last = rows[-1]
    >>> last["temperature_C"], 15.1 < last["two_theta_max_deg"] < 15.4
    (180.0, True)

    The strongest line at 180 °C is NBH's (111) near 15.2° (a ≈ 10.07 Å).
    """
    path = Path(path)
    with _open_h5(path) as f, _damage_is_input_error(path, "reading the summary table"):
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
        if any(len(v) != n for v in data.values()):
            raise ValueError("summary columns of different lengths")
    return [{c: data[c][i] for c in columns} for i in range(n)]


def read_item(path: str | os.PathLike[str], item_id: str) -> ItemRecord:
    """One item's stored record, arrays included.

    Floating-point arrays come back as stored (float32 unless the batch kept float64); other
    arrays with their original dtype and shape.

    Parameters
    ----------
    path : path
        A results file (``RESULTS.h5``).
    item_id : str
        The item's id (the ``id`` column of :func:`read_summary`).

    Returns
    -------
    ItemRecord
        Status, error, timing, scalars, arrays and warnings of the item.

    Raises
    ------
    InputError
        The file is not a results file, or holds no item ``item_id``.

    Examples
    --------
    Every scan of the bundled electrodes file with its counts as an array (the analysis
    function is yours; here it only keeps the counts and their maximum):

    >>> import pathlib, tempfile
    >>> from xrdkit.batch import run_batch
    >>> from xrdkit.data import example_file
    >>> from xrdkit.readers import read_scans
    >>> from xrdkit.results import ItemResult, read_item
    >>> scans = {scan.source: scan for scan in read_scans(example_file("electrodes.h5"))}
    >>> def keep_counts(source):
    ...     counts = scans[source].counts
    ...     return ItemResult(scalars={"max_counts": float(counts.max())}, arrays={"counts": counts})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> _ = run_batch(list(scans), keep_counts, out, workers=1)
    >>> first = next(iter(scans))
    >>> rec = read_item(out, first)
    >>> rec.status, rec.index, rec.arrays["counts"].shape, rec.arrays["counts"].dtype
    ('ok', 0, (4000,), dtype('float32'))
    >>> bool(rec.arrays["counts"].max() == rec.scalars["max_counts"])
    True
    >>> read_item(out, "electrode_99")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...no item 'electrode_99' among the 5 items in the file
    """
    path = Path(path)
    with _open_h5(path) as f, _damage_is_input_error(path, f"reading item {item_id!r}"):
        _check_format(f, path)
        name = encode_group_name(item_id)
        items = f.get(ITEMS_GROUP)
        if items is None or name not in items:
            n = 0 if items is None else len(items)
            raise InputError(f"no item {item_id!r} among the {n} items in the file", source=str(path))
        g = items[name]
        rec = json.loads(_decode_str(g.attrs["record"]))
        if "row" not in rec:  # format 1: one dataset per array in the item's group
            arrays = {k: np.asarray(g[k][()]) for k in g}
        else:
            arrays = {}
            for key, spec in rec["arrays"].items():
                dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
                size = math.prod(shape)
                if size == 0:
                    arrays[key] = np.empty(shape, dtype=dtype)
                    continue
                ds = f[ARRAYS_GROUP][spec["dataset"]]
                arrays[key] = ds[rec["row"], :size].astype(dtype, copy=False).reshape(shape)
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

    Examples
    --------
    Missing values (the error item's lattice constant) are empty cells:

    >>> import pathlib, tempfile
    >>> from xrdkit.results import ItemRecord, ResultsStore, write_table_csv
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> with ResultsStore(out) as store:
    ...     _ = store.append(ItemRecord("scan_a", 0, "a.xy", "ok", scalars={"a_angstrom": 10.029}))
    ...     _ = store.append(ItemRecord("scan_b", 1, "b.xy", "error", error="InputError: bad file"))
    ...     store.finalize()
    >>> header = write_table_csv(out, out.with_suffix(".csv"), ["id", "a_angstrom", "error"],
    ...                          rename={"id": "scan"})
    >>> header[:4]
    ['scan', 'a_angstrom', 'error', 'index']
    >>> for line in out.with_suffix(".csv").read_text().splitlines():
    ...     print(",".join(line.split(",")[:5]))          # the first five columns
    scan,a_angstrom,error,index,status
    scan_a,10.029,,0,ok
    scan_b,,InputError: bad file,1,error
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
    fd, tmp = _mkstemp_beside(csv_path)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for row in rows:
                w.writerow(["" if row.get(c) is None else _csv_value(row[c]) for c in order])
        os.replace(tmp, csv_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return header


def _csv_value(v: Scalar) -> str | int | float:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return v
