"""Exception and warning hierarchy shared by xrdkit and irkit.

Every error a user can provoke with bad input is an :class:`InputError` whose
message names the file, the dataset or column, and what is wrong.  Fits that
cannot be trusted raise :class:`FitError` (or, where the result is still
useful, carry a :class:`FitWarning` in their ``warnings``).  The command-line
tools turn a :class:`ClosokitError` into a one-line message and a non-zero exit
code; ``--debug`` shows the traceback.

Resource limits
---------------
Inputs larger than these are refused with an :class:`InputError` *before* their data are read
(each limit is a module constant set from an environment variable when the module is
imported):

=====================================  =====================  ===============================
limit                                  default                environment variable
=====================================  =====================  ===============================
points per scan (all readers)          200,000                ``XRDKIT_MAX_SCAN_POINTS``
intensity (counts)                     1e15                   ``XRDKIT_MAX_INTENSITY``
scans per HDF5 stack                   100,000                ``XRDKIT_MAX_SCANS_PER_FILE``
HDF5 chunk a read decompresses         256 MiB                ``XRDKIT_MAX_CHUNK_BYTES``
non-HDF5 scan file                     200 MB                 ``XRDKIT_MAX_INPUT_BYTES``
.rasx member (uncompressed)            64 MB                  ``XRDKIT_MAX_ARCHIVE_MEMBER_BYTES``
.rasx member expansion ratio           200                    ``XRDKIT_MAX_ARCHIVE_RATIO``
CIF file                               2 MB                   ``CLOSOKIT_MAX_CIF_BYTES``
atoms per conventional cell            2,000                  ``CLOSOKIT_MAX_CELL_ATOMS``
cell volume                            20,000 Å³              ``CLOSOKIT_MAX_CELL_VOLUME``
=====================================  =====================  ===============================

Outputs are checked against inputs and each other before any work
(:func:`check_output_paths`).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "ClosokitError",
    "InputError",
    "PhaseError",
    "FitError",
    "BatchError",
    "ClosokitWarning",
    "FitWarning",
    "ProvenanceWarning",
    "check_output_paths",
]


class ClosokitError(Exception):
    """Base class of every error raised on purpose by closokit.

    Examples
    --------
    One ``except`` catches bad input, failed fits and batch errors alike:

    >>> from xrdkit.errors import ClosokitError
    >>> from xrdkit.scans import make_scan
    >>> try:
    ...     make_scan([10.0, 10.02], [0, 0], source="blank.xy")
    ... except ClosokitError as exc:
    ...     print(type(exc).__name__, "-", exc)
    InputError - blank.xy: intensity is zero everywhere
    """


class InputError(ClosokitError, ValueError):
    """Bad input data or arguments: the message names the source and the problem.

    Parameters
    ----------
    message
        What is wrong, with the offending value.
    source
        File, ``FILE::/hdf5/path`` or argument name the problem was found in.

    Examples
    --------
    >>> from xrdkit.errors import InputError
    >>> exc = InputError("line 7: stray text 'oops'", source="scan.xy")
    >>> str(exc), exc.source, exc.problem
    ("scan.xy: line 7: stray text 'oops'", 'scan.xy', "line 7: stray text 'oops'")
    >>> isinstance(exc, ValueError)
    True
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        self.problem = message
        super().__init__(f"{source}: {message}" if source else message)


class PhaseError(InputError, KeyError):
    """Unknown phase name, unreadable CIF or inconsistent phase metadata.

    Examples
    --------
    An :class:`InputError` and a ``KeyError`` (a lookup by name failed), printed unquoted:

    >>> from xrdkit.errors import InputError, PhaseError
    >>> exc = PhaseError("unknown phase 'nbh_fcc2'", source="phases")
    >>> isinstance(exc, InputError), isinstance(exc, KeyError), str(exc)
    (True, True, "phases: unknown phase 'nbh_fcc2'")
    """

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class FitError(ClosokitError, RuntimeError):
    """A fit could not be set up or produced no usable result.

    Examples
    --------
    >>> from xrdkit.errors import ClosokitError, FitError
    >>> issubclass(FitError, ClosokitError), issubclass(FitError, RuntimeError)
    (True, True)
    """


class BatchError(ClosokitError, RuntimeError):
    """A batch run cannot start or continue (e.g. an unusable results file).

    Examples
    --------
    A second batch writing the same results file without ``resume`` or ``overwrite``:

    >>> import pathlib, tempfile
    >>> from xrdkit.errors import BatchError
    >>> from xrdkit.results import ItemRecord, ResultsStore
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "RESULTS.h5"
    >>> with ResultsStore(out) as store:
    ...     _ = store.append(ItemRecord("scan_a", 0, "a.xy", "ok"))
    ...     store.finalize()
    >>> try:
    ...     ResultsStore(out).open()
    ... except BatchError as exc:
    ...     print(str(exc).split(";")[1].strip())
    pass resume=True (--resume) to finish that batch or overwrite=True to start again
    """


class ClosokitWarning(UserWarning):
    """Base class of closokit warnings.

    Examples
    --------
    Silence every closokit warning in a block (they are still in results' ``warnings``):

    >>> import warnings
    >>> from xrdkit.errors import ClosokitWarning, FitWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ClosokitWarning)
    ...     warnings.warn("χ² doubled", FitWarning)                 # not shown
    """


class FitWarning(ClosokitWarning):
    """A fit finished but something about it deserves attention.

    Examples
    --------
    Turn fit warnings into errors while debugging:

    >>> import warnings
    >>> from xrdkit.errors import FitWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", FitWarning)
    ...     warnings.warn("parameter at its bound", FitWarning)
    Traceback (most recent call last):
    ...
    xrdkit.errors.FitWarning: parameter at its bound
    """


class ProvenanceWarning(ClosokitWarning):
    """Data used has constructed or unverified provenance.

    Examples
    --------
    >>> import warnings
    >>> from xrdkit.errors import ProvenanceWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("phase 'nbh_fcc' is constructed, not refined", ProvenanceWarning)
    >>> [w.category.__name__ for w in caught]
    ['ProvenanceWarning']
    """


def _identity(path: str) -> tuple[str, tuple[int, int] | None]:
    """Canonical absolute path and (device, inode) of an existing file (None if absent)."""
    canonical = os.path.realpath(path)
    try:
        st = os.stat(canonical)
    except OSError:
        return canonical, None
    return canonical, (st.st_dev, st.st_ino)


def check_output_paths(outputs: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output.

    Paths are compared by canonical absolute path (symlinks, ``./`` and ``..`` resolved) and,
    for existing files, by device and inode (hard links).

    Parameters
    ----------
    outputs : dict
        ``{"--out": path, "--table": path, …}``; None values are skipped.
    inputs : dict
        ``{"input": path or [paths], "--cif": [paths], …}``; None values are skipped.

    Raises
    ------
    InputError
        Naming both arguments and the path.

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> from xrdkit.errors import check_output_paths
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> scan = folder / "scan.xy"
    >>> _ = scan.write_text("10.00 120\\n")
    >>> check_output_paths({"--out": folder / "RESULTS.h5"}, {"input": [scan]})   # silent
    >>> os.link(scan, folder / "same.csv")                      # a hard link to the input
    >>> check_output_paths({"--table": folder / "same.csv"}, {"input": [scan]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: --table .../same.csv is the same file as input .../scan.xy; ...
    """
    def flat(mapping: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        for label, value in mapping.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            out.extend((label, str(v)) for v in values if v is not None and str(v) != "")
        return out

    seen_in = [(label, path, *_identity(path)) for label, path in flat(inputs)]
    seen_out: list[tuple[str, str, str, tuple[int, int] | None]] = []
    for label, path in flat(outputs):
        canonical, inode = _identity(path)
        for other_label, other, o_canonical, o_inode in seen_in + seen_out:
            if canonical == o_canonical or (inode is not None and inode == o_inode):
                raise InputError(
                    f"{label} {path} is the same file as {other_label} {other}; an output may "
                    "never overwrite an input or another output — choose another name"
                )
        if os.path.isdir(canonical):
            raise InputError(f"{label} {path} is a directory; give a file name")
        seen_out.append((label, path, canonical, inode))

def limit_from_env(name: str, default: float) -> float:
    """A resource limit: ``default`` unless the environment variable ``name`` sets another (> 0).

    Raises
    ------
    InputError
        The variable is set but not a positive number.
    """
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name}={text!r} is not a number", source="environment") from None
    if not value > 0:
        raise InputError(f"{name}={text!r} must be > 0", source="environment")
    return value
