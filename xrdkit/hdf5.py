"""Find and read 1-D scans in HDF5 / NeXus files, whatever layout wrote them.

Two layers:

* a data-agnostic one (also used by irkit for spectra): :func:`find_1d_series`
  lists every 1-D series in a file as picklable :class:`SeriesRef` objects and
  :func:`read_series` returns a :class:`Series` (axis + axis units + signal +
  optional errors + metadata) — no unit conversion;
* an XRD one: :func:`list_scans`, :func:`read_ref`, :func:`read_hdf5_scan` and
  :func:`iter_scans` turn series into :class:`xrdkit.scans.Scan` objects,
  converting q (Å⁻¹ or nm⁻¹), d (Å or nm) and radian axes to degrees 2θ with the
  file's wavelength (or the one given).

Layouts recognised (the name is reported in ``SeriesRef.layout``):

``nexus``
    ``NXentry`` → ``NXdata`` with ``@signal`` / ``@axes`` (``@default`` chains
    followed from the root and the entry; one series per entry; a 2-D signal
    N×M in an NXdata gives N series, like a stack).
``pyfai``
    pyFAI ``integrate1d`` NeXus output (``NXmonopd`` / ``NXcanSAS`` entries with a
    ``pyFAI`` ``NXprocess``); radial units such as ``2th_deg`` or ``q_nm^-1``
    are read from the axis ``@units``.
``stack``
    A 2-D numeric dataset N×M with a monotonic 1-D axis dataset of length M in
    the same group; 1-D numeric datasets of length N beside them (temperature,
    time …) become per-scan metadata.
``bare``
    A group holding a monotonic 1-D axis dataset and a numeric signal of the
    same length, without NeXus attributes.

Files are opened read-only and never modified. Every problem is an
:class:`~xrdkit.errors.InputError` naming ``file::/path`` and what is wrong.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xrdkit.errors import InputError, limit_from_env
from xrdkit.scans import MAX_SCAN_POINTS, Scan, check_n_points, make_scan

__all__ = [
    "SeriesRef",
    "ScanRef",
    "Series",
    "find_1d_series",
    "read_series",
    "list_scans",
    "read_ref",
    "read_hdf5_scan",
    "iter_scans",
    "split_spec",
    "select_ref",
    "PROBE_TIMEOUT_S",
    "axis_to_two_theta_deg",
    "canonical_unit",
    "check_wavelength_arg",
    "wavelength_to_angstrom",
    "HDF5_SUFFIXES",
    "probe_in_background",
    "join_background_probes",
]

logger = logging.getLogger(__name__)

#: File name endings treated as HDF5 without looking at the content.
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".nx", ".he5")

#: Separator between file name and in-file path in a scan spec.
SPEC_SEPARATOR = "::"

#: Names (lower case, without separators) of axis datasets, and the unit assumed
#: when such a dataset carries no ``@units``. ``None``: the name says what the
#: axis is, but its unit must be stated.
_AXIS_NAMES: dict[str, str | None] = {
    "twotheta": "deg",
    "2theta": "deg",
    "tth": "deg",
    "2th": "deg",
    "twothetadeg": "deg",
    "polarangle": None,
    "angle": None,
    "q": None,
    "d": None,
    "dspacing": None,
    "radial": None,
    "x": None,
    "wavenumber": None,
    "wavenumbers": None,
    "energy": None,
}
#: Names of signal datasets, in order of preference, for layouts without ``@signal``.
_SIGNAL_NAMES = ("intensity", "intensities", "counts", "signal", "data", "i", "y",
                 "absorbance", "transmittance", "spectrum", "spectra")
#: Names of error datasets beside a signal.
_ERROR_NAMES = ("errors", "sigma", "uncertainty", "intensity_errors", "idev")
#: Per-scan metadata looked up (case-insensitive) in stacks and entries.
_METADATA_NAMES = {
    "temperature": "temperature",
    "temperature_c": "temperature",
    "temperature_k": "temperature",
    "temp": "temperature",
    "time": "time",
    "time_s": "time",
    "elapsed_time": "time",
    "timestamp": "time",
    "epoch": "time",
}
#: Datasets that hold a wavelength (searched inside the entry / file).
_WAVELENGTH_NAMES = ("wavelength", "incident_wavelength", "k_alpha_one", "kalpha1",
                     "k_alpha1", "wavelength_angstrom", "lambda")
#: Seconds the structure probe of a file may take (in a child process) before the file is
#: declared damaged: a corrupt object header can make the HDF5 library loop or crash, which no
#: Python code can interrupt, so public XRD entry points read the structure in a subprocess.
PROBE_TIMEOUT_S = 60.0
#: Most scans (rows) one stack dataset may declare (``XRDKIT_MAX_SCANS_PER_FILE``); its
#: per-scan references and metadata are built in memory when the file is listed.
MAX_SCANS_PER_FILE = int(limit_from_env("XRDKIT_MAX_SCANS_PER_FILE", 100_000))
#: Largest HDF5 chunk a read may decompress (``XRDKIT_MAX_CHUNK_BYTES``): reading one row of a
#: stack decompresses every chunk it touches, so a small file with one huge chunk of zeros
#: would otherwise expand to gigabytes.
MAX_CHUNK_BYTES = int(limit_from_env("XRDKIT_MAX_CHUNK_BYTES", 256 * 2**20))
#: Listing of the file in an error message is cut after this many items.
_MAX_LISTED = 40


# --------------------------------------------------------------------------- units

_UNIT_ALIASES: dict[str, str] = {
    # angles
    "deg": "deg", "degree": "deg", "degrees": "deg", "°": "deg", "2th_deg": "deg",
    "deg2theta": "deg", "°2θ": "deg", "2theta_deg": "deg",
    "rad": "rad", "radian": "rad", "radians": "rad", "2th_rad": "rad",
    # reciprocal length (q)
    "1/angstrom": "1/angstrom", "angstrom^-1": "1/angstrom", "1/å": "1/angstrom",
    "å^-1": "1/angstrom", "å-1": "1/angstrom", "a^-1": "1/angstrom", "1/a": "1/angstrom",
    "q_a^-1": "1/angstrom", "angstrom-1": "1/angstrom", "1/ang": "1/angstrom",
    "ang^-1": "1/angstrom", "å⁻¹": "1/angstrom", "a-1": "1/angstrom",
    "1/nm": "1/nm", "nm^-1": "1/nm", "nm-1": "1/nm", "q_nm^-1": "1/nm", "nm⁻¹": "1/nm",
    # length (d)
    "angstrom": "angstrom", "å": "angstrom", "a": "angstrom", "ang": "angstrom",
    "d_a": "angstrom", "angstroms": "angstrom",
    "nm": "nm", "d_nm": "nm", "nanometer": "nm", "nanometre": "nm",
    "m": "m", "meter": "m", "metre": "m",
    # wavenumber (IR)
    "cm^-1": "1/cm", "1/cm": "1/cm", "cm-1": "1/cm", "cm⁻¹": "1/cm",
}


def canonical_unit(unit: str | bytes | None) -> str | None:
    """Return the canonical spelling of an axis unit (``deg``, ``rad``, ``1/angstrom`` …).

    Unknown units are returned stripped and lower-cased; ``None`` or an empty
    string gives ``None``.

    Parameters
    ----------
    unit : str, bytes or None
        A unit as files write it (``@units`` attribute, pyFAI radial unit, text header).

    Returns
    -------
    str or None
        ``deg``, ``rad``, ``1/angstrom``, ``1/nm``, ``angstrom``, ``nm``, ``m``, ``1/cm`` …,
        the cleaned text for an unknown unit, or None.

    Examples
    --------
    >>> from xrdkit.hdf5 import canonical_unit
    >>> [canonical_unit(u) for u in ("Å^-1", b"2th_deg", " Degrees ", "q_nm^-1", "cm-1", "")]
    ['1/angstrom', 'deg', 'deg', '1/nm', '1/cm', None]
    >>> canonical_unit("Furlongs")
    'furlongs'
    """
    if unit is None:
        return None
    if isinstance(unit, bytes):
        unit = unit.decode("utf-8", errors="replace")
    text = str(unit).strip()
    if not text:
        return None
    key = text.lower().replace(" ", "").replace("(", "").replace(")", "")
    key = key.replace("\u212b", "å")  # ANGSTROM SIGN → LATIN A WITH RING
    return _UNIT_ALIASES.get(key, key)


def axis_to_two_theta_deg(
    axis: np.ndarray, unit: str | None, wavelength_angstrom: float | None, *, source: str
) -> np.ndarray:
    """Convert an axis in ``unit`` to degrees 2θ (a new array).

    Parameters
    ----------
    axis : ndarray
        Axis values.
    unit : str or None
        Canonical unit (see :func:`canonical_unit`); ``None`` means degrees 2θ.
    wavelength_angstrom : float or None
        Needed for q and d axes.
    source : str
        Named in errors.

    Returns
    -------
    ndarray
        2θ in degrees, in the order of ``axis`` (a d axis comes out decreasing).

    Raises
    ------
    InputError
        Unknown unit, q/d axis without wavelength, values that have no 2θ
        (``qλ/4π > 1`` or ``λ/2d > 1``).

    Examples
    --------
    2θ = 2 arcsin(qλ/4π): q = 1 Å⁻¹ (= 10 nm⁻¹) at Cu Kα1 is 14.084°; d = λ/(2 sin θ):

    >>> import numpy as np
    >>> from xrdkit.hdf5 import axis_to_two_theta_deg
    >>> axis_to_two_theta_deg(np.array([1.0, 2.0]), "1/angstrom", 1.5406, source="q").round(3)
    array([14.084, 28.387])
    >>> axis_to_two_theta_deg(np.array([10.0]), "1/nm", 1.5406, source="q").round(3)
    array([14.084])
    >>> axis_to_two_theta_deg(np.array([3.1371]), "angstrom", 1.5406, source="d").round(2)
    array([28.43])
    >>> axis_to_two_theta_deg(np.array([1.0]), "1/angstrom", None, source="scan.h5::/q")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: scan.h5::/q: axis is q in 1/angstrom but no wavelength was found...
    """
    a = np.asarray(axis, dtype=float)
    if unit in (None, "deg"):
        return a.copy()
    if unit == "rad":
        return np.degrees(a)
    if unit in ("1/angstrom", "1/nm", "angstrom", "nm", "m"):
        kind = "q" if unit.startswith("1/") else "d"
        if wavelength_angstrom is None:
            raise InputError(
                f"axis is {kind} in {unit} but no wavelength was found in the file or given; "
                "pass wavelength_angstrom to convert it to 2θ",
                source=source,
            )
        lam = float(wavelength_angstrom)
        if kind == "q":
            q_per_angstrom = a / 10.0 if unit == "1/nm" else a
            s = q_per_angstrom * lam / (4.0 * np.pi)
        else:
            scale = {"angstrom": 1.0, "nm": 10.0, "m": 1e10}[unit]
            with np.errstate(divide="ignore", invalid="ignore"):
                s = lam / (2.0 * a * scale)
        finite = np.isfinite(s)
        if finite.all() and ((s <= 0) | (s >= 1)).any():
            i = int(np.argmax((s <= 0) | (s >= 1)))
            raise InputError(
                f"{kind} value {a[i]:.6g} {unit} (index {i}) has no 2θ at λ = {lam} Å "
                f"(sin θ = {s[i]:.4g}); wrong unit or wavelength?",
                source=source,
            )
        with np.errstate(invalid="ignore"):
            return np.degrees(2.0 * np.arcsin(s))
    raise InputError(
        f"axis unit {unit!r} cannot be converted to 2θ (known: deg, rad, 1/angstrom, 1/nm, "
        "angstrom, nm)",
        source=source,
    )


#: Layout of a ref standing for an entry that could not be parsed (reading it raises).
UNREADABLE_LAYOUT = "unreadable"


# --------------------------------------------------------------------------- refs


@dataclass(frozen=True)
class SeriesRef:
    """Where one 1-D series lives in an HDF5 file (picklable; holds no open handle).

    Attributes
    ----------
    file : str
        Path of the HDF5 file.
    path : str
        HDF5 path of the group the series belongs to (NXdata / stack / bare group).
    index : int or None
        Row of a 2-D (stack) signal, ``None`` for a 1-D signal.
    layout : str
        ``nexus``, ``pyfai``, ``stack`` or ``bare``.
    signal_path, axis_path : str
        HDF5 paths of the signal and axis datasets.
    errors_path : str or None
        HDF5 path of 1σ errors, if the file has them.
    axis_units : str or None
        Canonical axis unit (``deg``, ``1/angstrom`` …) or ``None`` if unstated.
    wavelength_angstrom : float or None
        Wavelength stated in the file.
    metadata : dict
        Per-scan metadata (temperature, time, sample name, entry …).

    Examples
    --------
    From :func:`find_1d_series` (or :func:`list_scans`):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import find_1d_series
    >>> ref = find_1d_series(example_file("heating_stack.h5"))[3]
    >>> ref.layout, ref.path, ref.index, ref.axis_units, ref.wavelength_angstrom     # Å
    ('stack', '/heating', 3, 'deg', 1.5405929)
    >>> ref.spec.endswith("heating_stack.h5::/heating[3]"), round(ref.metadata["temperature"], 1)
    (True, 45.2)
    """

    file: str
    path: str
    index: int | None
    layout: str
    signal_path: str
    axis_path: str
    errors_path: str | None = None
    axis_units: str | None = None
    wavelength_angstrom: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """``file::/path`` or ``file::/path[index]`` — accepted by :func:`read_hdf5_scan`."""
        suffix = f"[{self.index}]" if self.index is not None else ""
        return f"{self.file}{SPEC_SEPARATOR}{self.path}{suffix}"


#: The XRD name for a series reference (same object: batch workers receive these).
ScanRef = SeriesRef


@dataclass(frozen=True)
class Series:
    """One 1-D series read from HDF5, in the file's own units.

    Attributes
    ----------
    axis : ndarray, shape (n,)
        The axis as stored.
    axis_units : str or None
        Its canonical unit (None when the file does not say).
    signal : ndarray, shape (n,)
        The signal as stored.
    errors : ndarray or None, shape (n,)
        1σ errors when the file has them.
    metadata : dict
        Per-series metadata and the ``layout``.
    source : str
        ``file::/path[index]``.

    Examples
    --------
    Returned by :func:`read_series` (which shows more):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import find_1d_series, read_series
    >>> series = read_series(find_1d_series(example_file("electrodes.h5"))[0])
    >>> series.axis_units, series.errors, series.metadata["layout"]
    ('deg', None, 'nexus')
    """

    axis: np.ndarray
    axis_units: str | None
    signal: np.ndarray
    errors: np.ndarray | None
    metadata: dict[str, Any]
    source: str


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    """Decode an attribute / scalar dataset value to ``str``."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return _text(value.reshape(-1)[0])
        return " ".join(_text(v) for v in value.reshape(-1))
    return str(value)


def _attr(obj: h5py.HLObject, name: str) -> str | None:
    if name not in obj.attrs:
        return None
    try:
        return _text(obj.attrs[name])
    except (OSError, TypeError, ValueError):
        return None


def _nx_class(obj: h5py.HLObject) -> str | None:
    return _attr(obj, "NX_class")


def _norm_name(name: str) -> str:
    return re.sub(r"[\s_\-()]", "", name.lower())


def _is_numeric(ds: h5py.Dataset) -> bool:
    return ds.dtype.kind in "iuf"


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _open(file: str | Path) -> h5py.File:
    path = Path(file)
    if not path.is_file():
        raise InputError("file not found", source=str(file))
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        text = str(exc)
        if "unable to lock file" in text.lower():
            raise InputError(
                "cannot open: the file is locked by another process (an HDF5 writer still has it "
                "open?); wait for it to finish, or set HDF5_USE_FILE_LOCKING=FALSE if the file is "
                f"on a file system without locks ({text})",
                source=str(file),
            ) from None
        try:
            with open(path, "rb") as fh:
                head = fh.read(8)
        except OSError as exc2:
            raise InputError(f"cannot read the file ({exc2.strerror or exc2})", source=str(file)) from None
        why = (
            "is truncated or damaged" if head.startswith(b"\x89HDF") else "is not an HDF5 file"
        )
        raise InputError(f"cannot open as HDF5: the file {why} ({exc})", source=str(file)) from None


def _listing(h5: h5py.File) -> str:
    items: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if len(items) <= _MAX_LISTED:
            if isinstance(obj, h5py.Dataset):
                items.append(f"/{name} {obj.shape} {obj.dtype}")
            else:
                items.append(f"/{name}/")

    try:
        h5.visititems(visit)
    except (OSError, RuntimeError, KeyError):
        items.append("(rest unreadable)")
    if not items:
        return "the file is empty"
    more = " …" if len(items) > _MAX_LISTED else ""
    return "seen: " + ", ".join(items[:_MAX_LISTED]) + more


def _get(group: h5py.Group, name: str, *, source: str, what: str) -> Any:
    try:
        return group[name]
    except KeyError:
        raise InputError(
            f"{what} points at '{name}', which does not exist in {group.name}",
            source=source,
        ) from None
    except (OSError, RuntimeError) as exc:
        raise InputError(f"{what} '{name}' in {group.name} is unreadable ({exc})",
                         source=source) from None


def _units_of(ds: h5py.Dataset) -> str | None:
    return canonical_unit(_attr(ds, "units"))


def _scalar(ds: h5py.Dataset) -> Any:
    if ds.shape not in ((), (1,)):  # never read a large dataset to find it is not a scalar
        return None
    try:
        value = ds[()]
    except (OSError, TypeError, ValueError):
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_ | str):
        return _text(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value)
    return None


#: Length units a wavelength may be given in, and their size in Å.
_WAVELENGTH_LENGTH_UNITS = {"angstrom": 1.0, "nm": 10.0, "pm": 0.01, "m": 1e10, "um": 1e4,
                            "µm": 1e4, "micron": 1e4}
#: Photon energy units a wavelength dataset may be given in (X-rays), in keV.
_WAVELENGTH_ENERGY_UNITS = {"kev": 1.0, "ev": 1e-3}
#: h·c in keV·Å (CODATA 2018): λ / Å = HC_KEV_ANGSTROM / (E / keV).
HC_KEV_ANGSTROM = 12.398419843320026
#: Wavelengths accepted, Å (X-rays and neutrons used for powder diffraction).
WAVELENGTH_LIMITS_ANGSTROM = (0.01, 10.0)


def wavelength_to_angstrom(value: Any, unit: str | None, *, what: str, source: str) -> float:
    """A wavelength (or X-ray photon energy) in ``unit`` as Å, or an InputError.

    ``unit`` is a canonical unit (:func:`canonical_unit`): Å (the default when ``None``), nm,
    pm, m, µm, or an energy in keV / eV (λ = hc / E). The result must lie in
    :data:`WAVELENGTH_LIMITS_ANGSTROM`; a value outside is refused, never dropped (dropping
    it would silently fall back on the instrument's Cu Kα).

    Parameters
    ----------
    value : float or str
        The number as the file gives it.
    unit : str or None
        Its canonical unit (None: Å).
    what : str
        What it is, for the error message (``"wavelength"``, ``"incident energy"``).
    source : str
        Where it comes from, for the error message.

    Returns
    -------
    float
        The wavelength in Å.

    Raises
    ------
    InputError
        Not a positive number, an unknown unit, or outside the limits.

    Examples
    --------
    λ = hc/E with hc = 12.398 keV·Å:

    >>> from xrdkit.hdf5 import wavelength_to_angstrom
    >>> wavelength_to_angstrom(0.15406, "nm", what="wavelength", source="scan.h5")
    1.5406
    >>> round(wavelength_to_angstrom(8.04778, "kev", what="energy", source="scan.h5"), 4)
    1.5406
    >>> wavelength_to_angstrom(1.5406, "nm", what="wavelength", source="scan.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: scan.h5: wavelength 1.5406 nm is 15.406 Å, outside 0.01–10.0 Å; wrong unit?...
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} {value!r} is not a number", source=source) from None
    unit = unit or "angstrom"
    if not np.isfinite(x) or x <= 0:
        raise InputError(f"{what} is {x!r} {unit}; a wavelength must be a positive number",
                         source=source)
    if unit in _WAVELENGTH_LENGTH_UNITS:
        lam = x * _WAVELENGTH_LENGTH_UNITS[unit]
    elif unit in _WAVELENGTH_ENERGY_UNITS:
        lam = HC_KEV_ANGSTROM / (x * _WAVELENGTH_ENERGY_UNITS[unit])
    else:
        raise InputError(
            f"{what} has unit {unit!r}; known: Å, nm, pm, m (length) or keV, eV (X-ray energy)",
            source=source)
    lo, hi = WAVELENGTH_LIMITS_ANGSTROM
    if not lo < lam < hi:
        raise InputError(
            f"{what} {x:g} {unit} is {lam:.6g} Å, outside {lo}–{hi} Å; wrong unit? "
            "(give @units, e.g. 'angstrom', 'nm', 'pm' or 'keV')",
            source=source)
    return lam


def _source_of(obj: h5py.HLObject) -> str:
    try:
        return f"{obj.file.filename}{SPEC_SEPARATOR}{obj.name}"
    except (OSError, RuntimeError, ValueError):
        return "<hdf5>"


def _wavelength_from_ds(ds: h5py.Dataset) -> float | None:
    """The wavelength (Å) a scalar dataset holds, converted by its ``@units``; None for a
    dataset that is not a scalar. Raises InputError for an unusable value or unit."""
    if ds.shape not in ((), (1,)):
        return None
    value = _scalar(ds)
    return wavelength_to_angstrom(value, _units_of(ds), what=f"wavelength {ds.name}",
                                  source=_source_of(ds))


def _attrs_wavelength(group: h5py.Group) -> float | None:
    """A wavelength (Å) stored as an attribute of ``group`` (unit from an attribute
    ``<name>_units`` or ``units`` beside it, else Å). Raises InputError for an unusable one."""
    try:
        present = set(group.attrs.keys())
    except (OSError, RuntimeError):
        return None
    for name in _WAVELENGTH_NAMES:
        if name in present:
            try:
                raw = np.asarray(group.attrs[name]).reshape(-1)
            except (TypeError, ValueError, OSError):
                continue
            if raw.size != 1:
                continue
            unit = None
            for unit_name in (f"{name}_units", f"{name}_unit"):
                if unit_name in present:
                    unit = canonical_unit(_text(group.attrs[unit_name]))
            value = raw[0]
            if isinstance(value, bytes | np.bytes_ | str):
                value = _text(value)
            return wavelength_to_angstrom(value, unit, what=f"wavelength attribute {group.name}@{name}",
                                          source=_source_of(group).split(SPEC_SEPARATOR)[0])
    return None


#: Metadata key of a wavelength the file states but that cannot be used (bad unit or value):
#: reading such a scan as XRD fails with this message unless a wavelength is given; readers
#: that need no wavelength (IR) are not affected.
WAVELENGTH_PROBLEM_KEY = "wavelength_problem"


def _safe_wavelength(find: Any, *args: Any) -> float | str | None:
    """``find(*args)``, or the message of the InputError it raised (kept with the refs)."""
    try:
        return find(*args)
    except InputError as exc:
        return str(exc)


def _names(group: h5py.Group) -> list[str]:
    """Relative paths of everything below ``group`` (one HDF5 traversal, no objects opened)."""
    out: list[str] = []
    try:
        group.visit(out.append)
    except (OSError, RuntimeError, KeyError):
        pass
    return out


def _find_wavelength(group: h5py.Group, names: list[str] | None = None) -> float | None:
    """First wavelength attribute of ``group`` or dataset inside it (shallowest first)."""
    lam_attr = _attrs_wavelength(group)
    if lam_attr is not None:
        return lam_attr
    found: list[tuple[int, int, float]] = []
    problems: list[InputError] = []
    for name in names if names is not None else _names(group):
        base = name.rsplit("/", 1)[-1].lower()
        if base in _WAVELENGTH_NAMES:
            obj = group.get(name)
            if isinstance(obj, h5py.Dataset) and _is_numeric(obj):
                try:
                    lam = _wavelength_from_ds(obj)
                except InputError as exc:
                    problems.append(exc)
                    continue
                if lam is not None:
                    found.append((_WAVELENGTH_NAMES.index(base), name.count("/"), lam))
    if found:
        for exc in problems:
            logger.warning("%s (another wavelength in the file is used)", exc)
        return min(found)[2]
    if problems:  # a stated wavelength is never replaced silently by the instrument's
        raise problems[0]
    return None


def _entry_metadata(entry: h5py.Group, names: list[str]) -> dict[str, Any]:
    """Sample name, temperature, time and title from a NeXus entry (scalars only)."""
    meta: dict[str, Any] = {}
    present = set(names)
    samples = [n.rsplit("/", 1)[0] for n in names
               if n.count("/") == 1 and n.endswith("/name") and n.lower().startswith("sample")]
    candidates = {
        "sample_name": ("sample/name", "sample/sample_name", "sample_name",
                        *(f"{g}/name" for g in samples)),
        "temperature": ("sample/temperature", "temperature"),
        "time": ("time", "elapsed_time", "sample/time"),
        "start_time": ("start_time",),
        "title": ("title",),
    }
    for key, paths in candidates.items():
        for p in paths:
            if p not in present:
                continue
            obj = entry.get(p)
            if isinstance(obj, h5py.Dataset):
                value = _scalar(obj)
                if value is not None and value != "":
                    meta[key] = value
                    unit = _attr(obj, "units")
                    if unit and key in ("temperature", "time"):
                        meta[f"{key}_units"] = unit
                    break
    return meta


# --------------------------------------------------------------------------- NeXus


def _nxdata_axis_name(nxdata: h5py.Group, signal_name: str, source: str) -> str | None:
    axes = nxdata.attrs.get("axes")
    if axes is not None:
        if isinstance(axes, np.ndarray):
            names = [_text(a) for a in axes.reshape(-1)]
        else:
            names = re.split(r"[,:\s]+", _text(axes).strip())
        names = [n for n in names if n and n != "."]
        if names:
            return names[-1]  # the last axis runs along a 1-D row
    sig = nxdata.get(signal_name)
    if isinstance(sig, h5py.Dataset) and "axes" in sig.attrs:  # NeXus v2 style
        names = [n for n in re.split(r"[,:\s]+", _text(sig.attrs["axes"])) if n]
        if names:
            return names[-1]
    for name, obj in nxdata.items():  # NeXus v1 style: @axis=1 on the dataset
        if isinstance(obj, h5py.Dataset) and _attr(obj, "axis") == "1":
            return name
    return None


def _resolve_default(group: h5py.Group, source: str) -> h5py.Group | None:
    """Follow ``@default`` from ``group`` one step; ``None`` if it has none."""
    target = _attr(group, "default")
    if target is None:
        return None
    obj = _get(group, target, source=source, what=f"@default of {group.name}")
    if not isinstance(obj, h5py.Group):
        raise InputError(f"@default of {group.name} points at dataset '{target}', not a group",
                         source=source)
    return obj


def _nxdata_of_entry(entry: h5py.Group, source: str) -> list[h5py.Group]:
    target = _resolve_default(entry, source)
    if target is not None:
        while _nx_class(target) != "NXdata":  # a chain: entry → subentry → data
            nxt = _resolve_default(target, source)
            if nxt is None:
                raise InputError(
                    f"@default chain from {entry.name} ends at {target.name}, which is not NXdata",
                    source=source,
                )
            target = nxt
        return [target]
    found = [g for _, g in sorted(entry.items(), key=lambda kv: _natural_key(kv[0]))
             if isinstance(g, h5py.Group) and _nx_class(g) == "NXdata" and "signal" in g.attrs]
    return found[:1]


def _series_from_nxdata(
    file: str, nxdata: h5py.Group, entry: h5py.Group, layout: str, names: list[str]
) -> list[SeriesRef]:
    source = f"{file}{SPEC_SEPARATOR}{nxdata.name}"
    signal_name = _attr(nxdata, "signal")
    if signal_name is None:
        for name, obj in nxdata.items():  # NeXus v1: @signal=1 on the dataset
            if isinstance(obj, h5py.Dataset) and _attr(obj, "signal") == "1":
                signal_name = name
                break
    if signal_name is None:
        raise InputError(f"NXdata group {nxdata.name} has no @signal attribute", source=source)
    signal = _get(nxdata, signal_name, source=source, what="@signal")
    if not isinstance(signal, h5py.Dataset):
        raise InputError(f"@signal '{signal_name}' is a group, not a dataset", source=source)
    axis_name = _nxdata_axis_name(nxdata, signal_name, source)
    if axis_name is None:
        raise InputError(
            f"NXdata {nxdata.name} has no @axes attribute and no dataset with @axis=1; "
            "cannot tell which dataset is the axis",
            source=source,
        )
    axis = _get(nxdata, axis_name, source=source, what="@axes")
    if not isinstance(axis, h5py.Dataset):
        raise InputError(f"@axes '{axis_name}' is a group, not a dataset", source=source)
    errors_path = None
    for name in (f"{signal_name}_errors", "errors"):
        obj = nxdata.get(name)
        if isinstance(obj, h5py.Dataset) and obj.shape == signal.shape and _is_numeric(obj):
            errors_path = obj.name
            break
    meta = _entry_metadata(entry, names)
    meta["entry"] = entry.name
    lam = _safe_wavelength(_find_wavelength, entry, names) or _safe_wavelength(
        _attrs_wavelength, entry.file)
    return _make_refs(file, nxdata, signal, axis, errors_path, layout, lam, meta, entry)


def _check_chunks(ds: h5py.Dataset, source: str) -> None:
    """InputError when reading any part of ``ds`` would decompress more than
    :data:`MAX_CHUNK_BYTES` (HDF5 reads whole chunks)."""
    chunks = ds.chunks
    if chunks is None:
        return
    nbytes = int(np.prod(chunks, dtype=np.float64)) * ds.dtype.itemsize
    if nbytes > MAX_CHUNK_BYTES:
        raise InputError(
            f"dataset {ds.name} is stored in chunks of {nbytes / 2**20:,.0f} MiB (chunk shape "
            f"{chunks}); reading one scan would expand that much — limit {MAX_CHUNK_BYTES / 2**20:,.0f} "
            "MiB (XRDKIT_MAX_CHUNK_BYTES)",
            source=source,
        )


def _check_pair(signal: h5py.Dataset, axis: h5py.Dataset, source: str
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate dtypes and shapes; return (signal shape, axis shape)."""
    for ds, what in ((signal, "signal"), (axis, "axis")):
        if not _is_numeric(ds):
            raise InputError(
                f"{what} dataset {ds.name} has dtype {ds.dtype}, not numbers", source=source
            )
    s_shape, a_shape = signal.shape, axis.shape
    if len(a_shape) != 1:
        raise InputError(f"axis dataset {axis.name} has shape {a_shape}; 1-D expected",
                         source=source)
    if len(s_shape) not in (1, 2):
        raise InputError(f"signal dataset {signal.name} has shape {s_shape}; "
                         "1-D (one scan) or 2-D (a stack) expected", source=source)
    if s_shape[-1] != a_shape[0]:
        raise InputError(
            f"signal {signal.name} has {s_shape[-1]} points per scan but axis "
            f"{axis.name} has {a_shape[0]}",
            source=source,
        )
    check_n_points(a_shape[0], source, what=f"axis {axis.name}")
    for ds in (signal, axis):
        _check_chunks(ds, source)
    if len(s_shape) == 2 and s_shape[0] > MAX_SCANS_PER_FILE:
        raise InputError(
            f"signal {signal.name} declares {s_shape[0]:,} scans, more than the limit of "
            f"{MAX_SCANS_PER_FILE:,} per stack (XRDKIT_MAX_SCANS_PER_FILE)",
            source=source,
        )
    return s_shape, a_shape


def _row_metadata(group: h5py.Group, n_rows: int, exclude: set[str]) -> dict[str, np.ndarray]:
    """1-D numeric datasets of length ``n_rows`` in ``group``: per-row metadata."""
    out: dict[str, np.ndarray] = {}
    for name, obj in group.items():
        if (
            isinstance(obj, h5py.Dataset)
            and obj.name not in exclude
            and obj.ndim == 1
            and obj.shape[0] == n_rows
            and _is_numeric(obj)
        ):
            key = _METADATA_NAMES.get(name.lower(), name)
            out.setdefault(key, np.asarray(obj[()], dtype=float))
            unit = _attr(obj, "units")
            if unit:
                out.setdefault(f"{key}_units", unit)  # type: ignore[arg-type]
    return out


def _make_refs(
    file: str,
    group: h5py.Group,
    signal: h5py.Dataset,
    axis: h5py.Dataset,
    errors_path: str | None,
    layout: str,
    lam: float | str | None,
    meta: dict[str, Any],
    meta_group: h5py.Group | None = None,
) -> list[SeriesRef]:
    group_name, signal_name, axis_name = group.name, signal.name, axis.name
    source = f"{file}{SPEC_SEPARATOR}{group_name}"
    if isinstance(lam, str):  # a stated wavelength that cannot be used (see _safe_wavelength)
        meta = {**meta, WAVELENGTH_PROBLEM_KEY: lam}
        lam = None
    s_shape, _ = _check_pair(signal, axis, source)
    axis_units = _units_of(axis)
    if axis_units is None:
        axis_units = _AXIS_NAMES.get(_norm_name(axis_name.rsplit("/", 1)[-1]))
    common = dict(file=file, path=group_name, signal_path=signal_name, axis_path=axis_name,
                  errors_path=errors_path, axis_units=axis_units, wavelength_angstrom=lam)
    if len(s_shape) == 1:
        return [SeriesRef(index=None, layout=layout, metadata=dict(meta), **common)]
    n_rows = s_shape[0]
    rows = _row_metadata(group, n_rows, {signal_name, axis_name})
    if meta_group is not None and meta_group.name != group_name:
        for k, v in _row_metadata(meta_group, n_rows, {signal_name, axis_name}).items():
            rows.setdefault(k, v)
    refs = []
    for i in range(n_rows):
        m = dict(meta)
        for k, v in rows.items():
            m[k] = float(v[i]) if isinstance(v, np.ndarray) else v
        refs.append(SeriesRef(index=i, layout=layout if layout != "nexus" else "nexus-stack",
                              metadata=m, **common))
    return refs


def _is_pyfai(entry: h5py.Group, names: list[str]) -> bool:
    """pyFAI writes an NXprocess named ``pyFAI`` and ``program_name = pyFAI`` in its entries."""
    top = {n.lower(): n for n in names if "/" not in n}
    if "pyfai" in top:
        return True
    for key in ("program_name", "program"):
        if key in top:
            obj = entry.get(top[key])
            if isinstance(obj, h5py.Dataset) and str(_scalar(obj)).lower().startswith("pyfai"):
                return True
    return False


def _nexus_series(file: str, h5: h5py.File) -> list[SeriesRef]:
    entries = [g for _, g in sorted(h5.items(), key=lambda kv: _natural_key(kv[0]))
               if isinstance(g, h5py.Group) and _nx_class(g) == "NXentry"]
    if not entries:
        return []
    root_default = _resolve_default(h5, file)  # validates a dangling root @default
    if root_default is not None and root_default in entries:
        entries.remove(root_default)
        entries.insert(0, root_default)
    refs: list[SeriesRef] = []
    broken: list[tuple[str, InputError]] = []
    for entry in entries:
        try:
            names = _names(entry)
            layout = "pyfai" if _is_pyfai(entry, names) else "nexus"
            for nxdata in _nxdata_of_entry(entry, f"{file}{SPEC_SEPARATOR}{entry.name}"):
                refs.extend(_series_from_nxdata(file, nxdata, entry, layout, names))
        except InputError as exc:
            broken.append((entry.name, exc))
    if broken and not refs:
        raise broken[0][1]
    for name, exc in broken:
        # one bad entry must not hide the good ones: it becomes a ref whose read fails
        logger.warning("%s: entry %s is unreadable: %s", file, name, exc)
        refs.append(SeriesRef(file=file, path=name, index=None, layout=UNREADABLE_LAYOUT,
                              signal_path="", axis_path="", metadata={"error": str(exc)}))
    return refs


# --------------------------------------------------------------------------- heuristics


def _monotonic(ds: h5py.Dataset) -> bool:
    if ds.ndim != 1 or ds.shape[0] < 2 or not _is_numeric(ds) or ds.shape[0] > MAX_SCAN_POINTS:
        return False  # too long to be a scan's axis: never read
    try:
        a = np.asarray(ds[()], dtype=float)
    except (OSError, TypeError, ValueError):
        return False
    if not np.isfinite(a).all():
        return False
    d = np.diff(a)
    return bool((d > 0).all() or (d < 0).all())


def _heuristic_group(file: str, group: h5py.Group, lam: float | str | None) -> list[SeriesRef]:
    datasets = {n: d for n, d in group.items() if isinstance(d, h5py.Dataset)}
    # a dataset named like an axis is taken even when it is not monotonic, so that the gate
    # reports the precise defect (duplicated / decreasing values) instead of "no scan"
    axes = [d for n, d in datasets.items()
            if _norm_name(n) in _AXIS_NAMES and d.ndim == 1 and d.shape[0] >= 2 and _is_numeric(d)]
    if not axes:
        axes = [d for n, d in datasets.items() if d.ndim == 1 and _monotonic(d)
                and d.shape[0] >= 3]
    for axis in axes:
        m = axis.shape[0]
        candidates = [d for n, d in datasets.items()
                      if d.name != axis.name and d.ndim in (1, 2) and d.shape[-1] == m]
        if not candidates:
            continue

        def rank(d: h5py.Dataset) -> tuple[int, int]:
            base = d.name.rsplit("/", 1)[-1].lower()
            pref = _SIGNAL_NAMES.index(base) if base in _SIGNAL_NAMES else len(_SIGNAL_NAMES)
            return (pref, 0 if d.ndim == 2 else 1)

        named = [d for d in candidates
                 if d.name.rsplit("/", 1)[-1].lower() not in _ERROR_NAMES]
        if not named:
            continue
        signal = min(named, key=rank)
        errors_path = None
        for d in candidates:
            if d.name.rsplit("/", 1)[-1].lower() in _ERROR_NAMES and d.shape == signal.shape:
                errors_path = d.name
        layout = "stack" if signal.ndim == 2 else "bare"
        meta: dict[str, Any] = {}
        for key in ("sample_name", "sample"):
            if key in group.attrs:
                meta["sample_name"] = _text(group.attrs[key])
        return _make_refs(file, group, signal, axis, errors_path, layout,
                          _safe_wavelength(_find_wavelength, group) or lam, meta)
    return []


def _heuristic_series(file: str, h5: h5py.File) -> list[SeriesRef]:
    lam_root = _safe_wavelength(_find_wavelength, h5)
    groups: list[h5py.Group] = [h5]

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group):
            groups.append(obj)

    h5.visititems(visit)
    refs: list[SeriesRef] = []
    for g in sorted(groups, key=lambda g: _natural_key(g.name)):
        refs.extend(_heuristic_group(file, g, lam_root))
    return refs


def _order(refs: list[SeriesRef]) -> list[SeriesRef]:
    """Order a series by time, else by temperature, when every scan has that number."""
    for key in ("time", "temperature"):
        values = [r.metadata.get(key) for r in refs]
        if len(refs) > 1 and all(isinstance(v, int | float) and np.isfinite(v) for v in values):
            order = sorted(range(len(refs)), key=lambda i: (values[i], i))
            return [refs[i] for i in order]
    return refs


# --------------------------------------------------------------------------- public API


def find_1d_series(file: str | Path, *, timeout_s: float | None = None) -> list[SeriesRef]:
    """List every 1-D series in an HDF5 / NeXus file, auto-detecting its layout.

    Parameters
    ----------
    file : str or Path
        HDF5 file (opened read-only).
    timeout_s : float, optional
        If given, read the structure in a child Python process and give up after this
        many seconds (a damaged file can hang or crash the HDF5 library); costs one
        interpreter start (≈ 0.3 s). ``None``: read in this process.

    Returns
    -------
    list of SeriesRef
        In measurement order (by time, else temperature, when every series has
        that metadata; else in the file's natural order). ``ref.layout`` says
        which layout was found.

    Raises
    ------
    InputError
        Not HDF5 / truncated, dangling ``@default``, ``@signal`` / ``@axes``
        pointing nowhere, non-numeric datasets, mismatched lengths, or no
        recognisable series (the message lists what the file holds).

    Examples
    --------
    The bundled electrodes file holds five NeXus entries (constructed data):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import find_1d_series
    >>> refs = find_1d_series(example_file("electrodes.h5"))
    >>> len(refs), refs[0].layout, refs[0].signal_path, refs[0].axis_units
    (5, 'nexus', '/electrode_01/data/counts', 'deg')
    """
    if timeout_s is not None:
        return _probe_in_subprocess(str(file), timeout_s)
    name = str(file)
    with _open(file) as h5:
        try:
            refs = _nexus_series(name, h5)
            layout_seen = "NeXus" if refs else None
            if not refs:
                refs = _heuristic_series(name, h5)
        except InputError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise InputError(f"cannot read the HDF5 structure ({exc})", source=name) from None
        if not refs:
            raise InputError(
                "no 1-D scan found (no NXdata with @signal/@axes, no monotonic axis dataset "
                f"with a signal of the same length); {_listing(h5)}",
                source=name,
            )
    logger.debug("%s: %d series (%s, layout %s)", name, len(refs), layout_seen, refs[0].layout)
    return _order(refs)


def _probe_in_subprocess(file: str, timeout_s: float, *, background: bool = False) -> list[SeriesRef]:
    """Run :func:`find_1d_series` in a fresh interpreter; damaged files cannot hang us.

    The child runs isolated (``python -I``: neither the current directory nor ``PYTHON*``
    variables nor the user's site-packages are on its path, so a planted ``h5py.py`` is never
    imported) in the folder of this package, with this package's root first on its path.
    A call waits for a :func:`probe_in_background` of the same file and takes its answer;
    ``background=True`` marks that background probe itself.
    """
    absolute = os.path.abspath(file)  # the child is given this; callers see their spelling
    real = os.path.realpath(absolute)  # the memo's spelling: one entry for every spelling
    key = _probe_key(real)
    running = _IN_FLIGHT.get(key) if key is not None and not background else None
    if running is not None:  # a background probe of this file is under way: take its answer
        running.wait(timeout_s)
    with _PROBED_LOCK:
        cached = _PROBED.get(key) if key is not None else None
        if cached is not None:
            _PROBED.move_to_end(key)
    if cached is not None:
        return [dataclasses.replace(r, file=file if r.file == real else r.file, metadata=dict(r.metadata))
                for r in cached]
    package_root = str(Path(__file__).resolve().parent.parent)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from xrdkit.hdf5 import _probe_main; "
            "_probe_main(*sys.argv[2:])")
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", code, package_root,
                               os.path.abspath(file), str(timeout_s)],
                              capture_output=True, cwd=package_root, stdin=subprocess.DEVNULL,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"the HDF5 library did not finish reading the file structure within {timeout_s:g} s;"
            " the file is probably damaged",
            source=file,
        ) from None
    if proc.returncode != 0 or not proc.stdout:
        detail = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:]
        raise InputError(
            f"the HDF5 library failed reading the file structure (exit code {proc.returncode}"
            f"{'; ' + detail[0][:200] if detail else ''}); the file is probably damaged",
            source=file,
        )
    status, payload = pickle.loads(proc.stdout)  # our own child's output
    if status == "ok":
        if key is not None and _probe_key(real) == key:  # unchanged while it was probed
            with _PROBED_LOCK:
                _PROBED[key] = tuple(dataclasses.replace(r, file=real if r.file == absolute else r.file,
                                                         metadata=dict(r.metadata)) for r in payload)
                while len(_PROBED) > PROBE_MEMO_SIZE:
                    _PROBED.popitem(last=False)
        return [dataclasses.replace(r, file=file) if r.file == absolute else r for r in payload]
    problem, source = payload
    if isinstance(source, str) and source.startswith(absolute):
        source = file + source[len(absolute):]
    raise InputError(problem, source=source)


#: Files whose structure a probe child read, by identity (see :func:`_probe_key`): reading
#: scans of one file one by one (``read_scan("f.h5::/entry3")`` in a loop) probes it once.
_PROBED: OrderedDict[tuple[str, int, int, int, int], tuple[SeriesRef, ...]] = OrderedDict()
#: Most files remembered by the probe memo.
PROBE_MEMO_SIZE = 64
#: Guards :data:`_PROBED` (a background probe fills it from another thread).
_PROBED_LOCK = threading.Lock()
#: Files a :func:`probe_in_background` thread is reading, by identity: set when it is done.
_IN_FLIGHT: dict[tuple[str, int, int, int, int], threading.Event] = {}


def probe_in_background(files: Iterable[str | Path], *,
                        timeout_s: float = PROBE_TIMEOUT_S) -> threading.Thread:
    """Start reading the scan structure of ``files`` while the caller goes on.

    The structure probe (a child interpreter, ≈ 0.15 s per file) runs from a daemon thread,
    which mostly waits on the child, so the caller's own work (importing the fitting code, say)
    proceeds meanwhile on the other core. The answers fill the probe memo: a later
    :func:`list_scans` or :func:`~xrdkit.readers.read_scan` of an unchanged file returns them
    at once, and one made while the probe is still running waits for it instead of starting a
    second one. Errors are not raised here: the later call meets and reports them. Files that
    cannot be stat'ed, and non-HDF5 names, are skipped.

    Parameters
    ----------
    files : iterable of str or Path
        Files to probe, in order.
    timeout_s : float
        Seconds each probe may take (default :data:`PROBE_TIMEOUT_S`).

    Returns
    -------
    threading.Thread
        The started thread; ``join()`` it to wait for every probe.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans, probe_in_background
    >>> stack = example_file("heating_stack.h5")
    >>> probing = probe_in_background([stack])
    >>> len(list_scans(stack))   # waits for the background probe, does not start another
    24
    >>> probing.join()
    """
    todo: list[tuple[str, tuple[str, int, int, int, int], threading.Event]] = []
    for f in files:
        name = str(f).split("::", 1)[0]
        if Path(name).suffix.lower() not in HDF5_SUFFIXES:
            continue
        key = _probe_key(os.path.realpath(name))
        if key is None or key in _IN_FLIGHT:
            continue
        with _PROBED_LOCK:
            if key in _PROBED:
                continue
        done = threading.Event()
        _IN_FLIGHT[key] = done
        todo.append((name, key, done))

    def probe_all() -> None:
        for name, key, done in todo:
            try:
                _probe_in_subprocess(name, timeout_s, background=True)
            except Exception as exc:  # the caller's own read meets it again and reports it
                logger.debug("background probe of %s: %s", name, exc)
            finally:
                _IN_FLIGHT.pop(key, None)
                done.set()

    thread = threading.Thread(target=probe_all, name="closokit-hdf5-probe", daemon=True)
    thread.start()
    _BACKGROUND_PROBES[:] = [t for t in _BACKGROUND_PROBES if t.is_alive()] + [thread]
    return thread


def join_background_probes(timeout_s: float | None = None) -> None:
    """Wait for every :func:`probe_in_background` thread of this process to end.

    :func:`xrdkit.pipeline.analyse_files` calls it before local workers are forked, so no
    thread is left running in the process being forked.

    Parameters
    ----------
    timeout_s : float or None
        Longest wait for each thread (None: as long as it takes).

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import join_background_probes, probe_in_background
    >>> probing = probe_in_background([example_file("electrodes.h5")])
    >>> join_background_probes()
    >>> probing.is_alive()
    False
    """
    for thread in list(_BACKGROUND_PROBES):
        thread.join(timeout_s)
    _BACKGROUND_PROBES[:] = [t for t in _BACKGROUND_PROBES if t.is_alive()]


#: Threads started by :func:`probe_in_background` that may still run.
_BACKGROUND_PROBES: list[threading.Thread] = []


def _probe_key(absolute: str) -> tuple[str, int, int, int, int] | None:
    """Identity of a file's current contents: path (canonical, :func:`os.path.realpath`, when
    callers pass it so), device, inode, size and modification time (any rewrite changes one of
    them); None when it cannot be stat'ed."""
    try:
        st = os.stat(absolute)
    except OSError:
        return None
    return absolute, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _probe_main(file: str, timeout_s: str | None = None) -> None:
    """Child side of :func:`_probe_in_subprocess`: pickle the refs (or the error) to stdout.

    The child arms SIGALRM with its default action (terminate), which stops it even inside
    a looping C call and even if the parent was killed and cannot reap it.
    """
    if timeout_s is not None and hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(int(float(timeout_s)) + 2)
    try:
        result: tuple[str, Any] = ("ok", find_1d_series(file))
    except InputError as exc:
        result = ("error", (exc.problem, exc.source))
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.flush()


def read_series(ref: SeriesRef, *, h5: h5py.File | None = None) -> Series:
    """Read one series in the file's own units (no conversion).

    Parameters
    ----------
    ref : SeriesRef
        From :func:`find_1d_series`.
    h5 : h5py.File, optional
        An already open file (read-only) to avoid re-opening it for every series.

    Returns
    -------
    Series
        Axis, unit, signal, errors and metadata as stored.

    Raises
    ------
    InputError
        Unreadable data or changed file.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import find_1d_series, read_series
    >>> series = read_series(find_1d_series(example_file("electrodes.h5"))[0])
    >>> series.axis[:3].tolist(), series.axis_units, series.signal.shape            # degrees 2θ
    ([5.0, 5.01375, 5.0275], 'deg', (4000,))
    >>> series.source.endswith("electrodes.h5::/electrode_01/data")
    True
    """
    if ref.layout == UNREADABLE_LAYOUT:
        raise InputError(ref.metadata.get("error", "entry is unreadable"), source=ref.spec)
    if h5 is None:
        with _open(ref.file) as f:
            return read_series(ref, h5=f)
    source = ref.spec
    try:
        sig_ds, axis_ds = h5[ref.signal_path], h5[ref.axis_path]
        # the file may have changed since it was listed: shapes are checked before any read
        if axis_ds.ndim != 1 or sig_ds.ndim not in (1, 2) or sig_ds.shape[-1] != axis_ds.shape[0]:
            raise InputError(f"signal shape {sig_ds.shape} and axis shape {axis_ds.shape} do not "
                             "match (file changed since it was listed?)", source=source)
        check_n_points(axis_ds.shape[0], source)
        for ds in (sig_ds, axis_ds):
            _check_chunks(ds, source)
        if ref.errors_path and h5[ref.errors_path].shape != sig_ds.shape:
            raise InputError(f"errors {ref.errors_path} no longer have the signal's shape "
                             f"{sig_ds.shape}", source=source)
        axis = np.asarray(axis_ds[()], dtype=float)
        if ref.index is None:
            signal = np.asarray(sig_ds[()], dtype=float)
            errors = (np.asarray(h5[ref.errors_path][()], dtype=float)
                      if ref.errors_path else None)
        else:
            if not 0 <= ref.index < sig_ds.shape[0]:
                raise InputError(f"row {ref.index} outside 0–{sig_ds.shape[0] - 1}",
                                 source=source)
            signal = np.asarray(sig_ds[ref.index], dtype=float)
            errors = (np.asarray(h5[ref.errors_path][ref.index], dtype=float)
                      if ref.errors_path else None)
    except InputError:
        raise
    except (KeyError, OSError, RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"cannot read the series ({exc})", source=source) from None
    if signal.shape != axis.shape:
        raise InputError(f"signal has shape {signal.shape} but axis {axis.shape}", source=source)
    meta = dict(ref.metadata)
    meta["layout"] = ref.layout
    return Series(axis, ref.axis_units, signal, errors, meta, source)


def split_spec(spec: str | Path) -> tuple[str, str | None, int | None]:
    """Split ``FILE::/path[index]`` into (file, path or None, index or None).

    Parameters
    ----------
    spec : str or Path
        ``FILE``, ``FILE::/path`` or ``FILE::/path[index]``.

    Returns
    -------
    file : str
        The file name.
    path : str or None
        The in-file path, with a leading ``/`` and no trailing one (None without ``::``).
    index : int or None
        The row of a stack (None when not given).

    Examples
    --------
    >>> from xrdkit.hdf5 import split_spec
    >>> split_spec("data.h5::/entry/data[3]"), split_spec("data.h5::entry/"), split_spec("data.h5")
    (('data.h5', '/entry/data', 3), ('data.h5', '/entry', None), ('data.h5', None, None))
    """
    text = str(spec)
    if SPEC_SEPARATOR not in text:
        return text, None, None
    file, _, inner = text.partition(SPEC_SEPARATOR)
    m = re.fullmatch(r"(.*?)(?:\[(\d+)\])?", inner.strip())
    path = (m.group(1) if m else inner).strip() or "/"
    if not path.startswith("/"):
        path = "/" + path
    index = int(m.group(2)) if m and m.group(2) is not None else None
    return file, path.rstrip("/") or "/", index


def list_scans(file: str | Path, *, timeout_s: float | None = PROBE_TIMEOUT_S) -> list[ScanRef]:
    """All scans in an HDF5 file, in measurement order (see :func:`find_1d_series`).

    The structure is read in a child process limited to ``timeout_s`` seconds (``None``:
    in this process, faster but a damaged file may hang or crash it).

    Parameters
    ----------
    file : str or Path
        The HDF5 file.
    timeout_s : float or None
        Seconds the structure probe may take (default :data:`PROBE_TIMEOUT_S`).

    Returns
    -------
    list of ScanRef
        As :func:`find_1d_series`.

    Examples
    --------
    The bundled heating stack: 24 rows of one 2-D dataset, every 5 minutes (constructed data):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans
    >>> refs = list_scans(example_file("heating_stack.h5"))
    >>> len(refs), refs[-1].index, refs[-1].metadata["time"], refs[-1].metadata["time_units"]
    (24, 23, 6900.0, 's')
    """
    return find_1d_series(file, timeout_s=timeout_s)


def check_wavelength_arg(wavelength_angstrom: Any, source: str) -> float | None:
    """A caller's wavelength as float (Å), or ``InputError`` naming the argument.

    Parameters
    ----------
    wavelength_angstrom : float, str or None
        The argument as given.
    source : str
        Named in the error.

    Returns
    -------
    float or None
        The wavelength in Å (None when not given).

    Raises
    ------
    InputError
        Not a number, or outside 0.01–10 Å.

    Examples
    --------
    >>> from xrdkit.hdf5 import check_wavelength_arg
    >>> check_wavelength_arg("1.5406", "--wavelength"), check_wavelength_arg(None, "--wavelength")
    (1.5406, None)
    >>> check_wavelength_arg(154.06, "--wavelength")
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: --wavelength: wavelength_angstrom=154.06 is outside 0.01–10 Å
    """
    if wavelength_angstrom is None:
        return None
    try:
        lam = float(wavelength_angstrom)
    except (TypeError, ValueError):
        raise InputError(f"wavelength_angstrom={wavelength_angstrom!r} is not a number",
                         source=source) from None
    if not np.isfinite(lam) or not 0.01 < lam < 10.0:
        raise InputError(f"wavelength_angstrom={wavelength_angstrom!r} is outside 0.01–10 Å",
                         source=source)
    return lam


def _scan_from_series(series: Series, ref: SeriesRef,
                      wavelength_angstrom: float | None) -> Scan:
    wavelength_angstrom = check_wavelength_arg(wavelength_angstrom, ref.spec)
    problem = ref.metadata.get(WAVELENGTH_PROBLEM_KEY)
    if problem and wavelength_angstrom is None:  # never fall back on the instrument's Cu Kα
        raise InputError(f"{problem}; or pass the wavelength explicitly", source=None)
    lam = wavelength_angstrom if wavelength_angstrom is not None else ref.wavelength_angstrom
    if (wavelength_angstrom is not None and ref.wavelength_angstrom is not None
            and abs(wavelength_angstrom - ref.wavelength_angstrom) > 1e-4):
        logger.warning("%s: using the given wavelength %.5f Å instead of the file's %.5f Å",
                       ref.spec, wavelength_angstrom, ref.wavelength_angstrom)
    unit = series.axis_units
    if unit is None:
        raise InputError(
            f"axis {ref.axis_path} has no @units and its name does not say what it is; "
            "give it units 'deg', '1/angstrom', '1/nm', 'angstrom' …",
            source=ref.spec,
        )
    tth = axis_to_two_theta_deg(series.axis, unit, lam, source=ref.spec)
    y, s = series.signal, series.errors
    if unit not in ("deg", "rad") and tth.size > 1 and tth[-1] < tth[0]:  # d axis: reverse
        tth, y = tth[::-1], y[::-1]
        s = s[::-1] if s is not None else None
    meta = dict(series.metadata)
    if unit != "deg":
        meta["original_axis_units"] = unit
    return make_scan(tth, y, s, wavelength_angstrom=lam, source=ref.spec, metadata=meta)


def read_ref(ref: ScanRef, *, wavelength_angstrom: float | None = None,
             h5: h5py.File | None = None) -> Scan:
    """Read one scan as a validated :class:`Scan` on a 2θ axis.

    Parameters
    ----------
    ref : ScanRef
        From :func:`list_scans`.
    wavelength_angstrom : float, optional
        Overrides the file's wavelength (needed for q / d axes of files without one).
    h5 : h5py.File, optional
        Open handle to reuse (only within one process).

    Returns
    -------
    Scan
        On an increasing 2θ axis in degrees (q, d and radian axes converted;
        ``metadata["original_axis_units"]`` says from what), ``source`` = ``ref.spec``.

    Raises
    ------
    InputError
        An axis without units, a q/d axis without a wavelength, and every check of
        :func:`xrdkit.scans.make_scan`.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans, read_ref
    >>> scan = read_ref(list_scans(example_file("heating_stack.h5"))[0])
    >>> scan.n_points, scan.wavelength_angstrom, scan.metadata["temperature"]   # –, Å, °C
    (4000, 1.5405929, 25.0)
    """
    return _scan_from_series(read_series(ref, h5=h5), ref, wavelength_angstrom)


def iter_scans(refs: Iterable[ScanRef], *,
               wavelength_angstrom: float | None = None) -> Iterator[Scan]:
    """Read many scans, opening each file once per run of consecutive refs.

    Parameters
    ----------
    refs : iterable of ScanRef
        From :func:`list_scans` (of one or several files).
    wavelength_angstrom : float, optional
        Overrides every file's wavelength.

    Yields
    ------
    Scan
        One per ref, in order (as :func:`read_ref`).

    Examples
    --------
    The temperatures of the first three scans of the bundled heating stack (°C):

    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import iter_scans, list_scans
    >>> refs = list_scans(example_file("heating_stack.h5"))
    >>> [round(scan.metadata["temperature"], 1) for scan in iter_scans(refs[:3])]
    [25.0, 31.7, 38.5]
    """
    current: h5py.File | None = None
    current_name: str | None = None
    try:
        for ref in refs:
            if current is None or current_name != ref.file:
                if current is not None:
                    current.close()
                current, current_name = _open(ref.file), ref.file
            yield read_ref(ref, wavelength_angstrom=wavelength_angstrom, h5=current)
    finally:
        if current is not None:
            current.close()


def select_ref(spec: str | Path, *, timeout_s: float | None = PROBE_TIMEOUT_S) -> ScanRef:
    """The :class:`ScanRef` a ``FILE::/path[index]`` spec names.

    ``/path`` may be the entry, the NXdata / stack group, or the signal dataset.
    Without a path the file must hold exactly one scan. ``timeout_s`` as in :func:`list_scans`.

    Parameters
    ----------
    spec : str or Path
        ``FILE``, ``FILE::/path`` or ``FILE::/path[index]``.
    timeout_s : float or None
        Seconds the structure probe may take.

    Returns
    -------
    ScanRef
        The one scan the spec names.

    Raises
    ------
    InputError
        No scan or several scans match (the message lists what the file holds).

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import select_ref
    >>> select_ref(f"{example_file('electrodes.h5')}::/electrode_02").signal_path
    '/electrode_02/data/counts'
    >>> select_ref(example_file("electrodes.h5"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...5 scans match; name one of: /electrode_01/data, ...
    """
    file, path, index = split_spec(spec)
    refs = find_1d_series(file, timeout_s=timeout_s)
    if path is None or path == "/":
        chosen = refs
    else:
        chosen = [r for r in refs if path in (r.path, r.signal_path, r.metadata.get("entry"))
                  or r.path.startswith(path + "/")]
    if index is not None:
        chosen = [r for r in chosen if r.index == index]
    if len(chosen) == 1:
        return chosen[0]
    listed = ", ".join(r.spec.split(SPEC_SEPARATOR, 1)[1] for r in refs[:10])
    more = " …" if len(refs) > 10 else ""
    if not chosen:
        raise InputError(f"no scan at {path}{'' if index is None else f'[{index}]'}; "
                         f"the file holds {len(refs)}: {listed}{more}", source=str(spec))
    raise InputError(f"{len(chosen)} scans match; name one of: {listed}{more}", source=str(spec))


def read_hdf5_scan(spec: str | Path, *, wavelength_angstrom: float | None = None,
                   timeout_s: float | None = PROBE_TIMEOUT_S) -> Scan:
    """Read ``FILE.h5::/path[index]`` (or a one-scan ``FILE.h5``) as a :class:`Scan`.

    Parameters
    ----------
    spec : str or Path
        ``FILE.h5::/path[index]`` (see :func:`select_ref`).
    wavelength_angstrom : float, optional
        Overrides the file's wavelength.
    timeout_s : float or None
        Seconds the structure probe may take.

    Returns
    -------
    Scan
        As :func:`read_ref`.

    Raises
    ------
    InputError
        As :func:`select_ref` and :func:`read_ref`.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import read_hdf5_scan
    >>> scan = read_hdf5_scan(f"{example_file('heating_stack.h5')}::/heating[23]")
    >>> scan.metadata["temperature"], scan.metadata["temperature_units"]
    (180.0, 'degC')
    """
    return read_ref(select_ref(spec, timeout_s=timeout_s),
                    wavelength_angstrom=wavelength_angstrom)
