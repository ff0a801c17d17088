"""The per-scan analysis the batch runs: read a scan, identify its phases, return an ItemResult.

This module glues :mod:`xrdkit.hdf5` (reading), :mod:`xrdkit.identify` (fit + verdict)
and :mod:`xrdkit.results` (what is stored) for :func:`xrdkit.batch.run_batch`.
Work items are :class:`ScanTask` objects — a picklable scan reference plus the
analysis configuration — so workers never receive open file handles.

A task is complete in itself, for workers that run elsewhere (a Dask cluster started from
another directory or on another machine):

- the scan is named by the **canonical absolute path** of its file (:func:`make_tasks`);
  scans travel as that reference, never as data, so every worker must see the file at that
  path (a shared file system); a worker that does not says so, naming its host;
- the user's CIF phases travel as their **contents** (:class:`UserCif`), never as a path;
- an instrument given as a file travels as the loaded :class:`~xrdkit.instrument.Instrument`
  (its contents); presets travel by name (they ship with the package).

Reflection lists are computed once per worker process and configuration (kept in the process's
:func:`~xrdkit.session.default_session`, keyed by the configuration; the phases themselves never
change), and kept on disk between runs (:func:`reflection_cache_dir`; about 0.7 s of every
process's first scan otherwise: CIF parsing and |F|²). The disk key covers everything the lists
depend on — the configuration, the wavelength and 2θ range, the phases' CIF contents and
metadata, the source of xrdkit's modules and the numpy/pymatgen/spglib/xrayutilities versions —
so any change computes them afresh. What that computation warns about is remembered (on disk
too) and warned again for every scan, so that every scan's stored warnings are the same
whichever process (and backend) analysed it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import socket
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xrdkit import schema
from xrdkit.batch import CODE_WARNINGS
from xrdkit.errors import InputError
from xrdkit.hdf5 import ScanRef, read_ref
from xrdkit.identify import FCC_PHASE, PhaseVerdict, identify
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.refine import MIN_FIT_POINTS, RefineOptions
from xrdkit.reflections import ReflectionList
from xrdkit.results import ItemResult
from xrdkit.scans import Scan
from xrdkit.session import FitSession, default_session

__all__ = [
    "AnalysisConfig", "ScanTask", "UserCif", "analyse_scan", "verdict_to_item", "make_tasks",
    "reflection_cache_dir",
    "close_input_file",
]

log = logging.getLogger(__name__)

#: Per-process read handle: ((pid, file, mtime_ns, size), h5py.File) or None.
_OPEN_FILE: list[tuple[tuple, h5py.File] | None] = [None]
#: 2θ maxima are rounded up to this step (deg) so scans of one file share reflection lists.
TWO_THETA_MAX_STEP_DEG = 10.0
#: Hex digits of a CIF's SHA-256 naming the folder its contents are written to on a worker.
CIF_DIGEST_CHARS = 16
#: Version of the on-disk reflection-list cache format (bump to orphan old files).
REFLECTION_CACHE_FORMAT = 1
#: Files kept in the reflection-list cache (the oldest are removed beyond this).
REFLECTION_CACHE_MAX_FILES = 64
#: Per-process fingerprint of xrdkit's source (computed once).
_CODE_FINGERPRINT: list[str] = []


@dataclass(frozen=True)
class UserCif:
    """A user's CIF phase as it travels with the tasks: its contents, not a path.

    Attributes
    ----------
    name : str
        Library name (the file stem, lower-cased, as ``--cif`` names it).
    text : str
        The CIF file's contents.
    origin : str
        Canonical absolute path it was read from (provenance only; never opened again).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from xrdkit.analysis import UserCif
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "My_Phase.cif"
    >>> _ = path.write_text("data_my_phase\\n_cell_length_a 10.0\\n")
    >>> cif = UserCif.read(path)
    >>> cif.name, cif.text.splitlines()[0], len(cif.digest)          # name: the stem, lower-cased
    ('my_phase', 'data_my_phase', 64)
    >>> cif.materialise().read_text() == cif.text                     # written where workers read it
    True
    """

    name: str
    text: str
    origin: str = ""

    @classmethod
    def read(cls, path: str | os.PathLike[str], name: str | None = None) -> UserCif:
        """Read a CIF file (name: its stem, lower-cased).

        Raises
        ------
        InputError
            The file cannot be read.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"cannot read CIF ({exc.strerror or exc})", source=str(p)) from None
        return cls(name=(name or p.stem).strip().lower(), text=text, origin=os.path.realpath(p))

    @property
    def digest(self) -> str:
        """SHA-256 of the contents (hex)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def materialise(self) -> Path:
        """Write the contents to ``<tmp>/xrdkit-cifs-<uid>/<digest>/<name>.cif`` (once per
        contents; atomic) and return that path. The path depends on the contents only, so
        whatever a CIF parser says about the file reads the same in every process."""
        folder = Path(tempfile.gettempdir()) / f"xrdkit-cifs-{_uid()}" / self.digest[:CIF_DIGEST_CHARS]
        path = folder / f"{self.name}.cif"
        if not (path.is_file() and path.read_text(encoding="utf-8") == self.text):
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f".{self.name}.{os.getpid()}.part"
            part.write_text(self.text, encoding="utf-8")
            os.replace(part, path)
        return path


def _uid() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else "user"


def _as_user_cif(cif: str | os.PathLike[str] | UserCif) -> UserCif:
    return cif if isinstance(cif, UserCif) else UserCif.read(cif)


@dataclass(frozen=True)
class AnalysisConfig:
    """What to fit on every scan.

    Attributes
    ----------
    candidates : tuple of str or None
        Borate phases (default: NBH + the separate-borate models in the library).
    electrode_phases : tuple of str
        Non-borate phases that may be present (zero-scale ones are dropped per scan).
    instrument : str or Instrument
        Preset name, instrument file or instrument. A file (a name with a suffix) is loaded
        when the configuration is made, so its contents travel with the tasks.
    options : RefineOptions
        Refinement options of every fit.
    two_theta_range_deg : (float, float) or None
        Crop every scan to this 2θ range (degrees) before fitting; None: the whole scan.
    user_cifs : tuple of UserCif
        Phases added to the library. Paths given are read when the configuration is made
        (name = file stem, lower-cased) and stored as :class:`UserCif` contents.

    Examples
    --------
    >>> from xrdkit.analysis import AnalysisConfig
    >>> config = AnalysisConfig(electrode_phases=("nacro2", "al"), two_theta_range_deg=(10.0, 60.0))
    >>> config.instrument, config.options.background_terms, config.user_cifs
    ('miniflex600-cuka', 10, ())
    >>> config.key() == AnalysisConfig(electrode_phases=("nacro2", "al")).key()   # same phase set
    True
    """

    candidates: tuple[str, ...] | None = None
    electrode_phases: tuple[str, ...] = ()
    instrument: str | Instrument = "miniflex600-cuka"
    options: RefineOptions = field(default_factory=RefineOptions)
    two_theta_range_deg: tuple[float, float] | None = None
    user_cifs: tuple[UserCif, ...] = ()

    def __post_init__(self) -> None:
        # frozen: normalise through object.__setattr__ (the dataclass is still being made)
        object.__setattr__(self, "user_cifs", tuple(_as_user_cif(c) for c in self.user_cifs))
        inst = self.instrument
        if isinstance(inst, os.PathLike) or (isinstance(inst, str) and Path(inst).suffix):
            object.__setattr__(self, "instrument", load_instrument(os.fspath(inst)))

    def key(self) -> tuple:
        """Hashable identity of the phase set and instrument (for the memo)."""
        inst = self.instrument if isinstance(self.instrument, str) else repr(self.instrument)
        cifs = tuple((c.name, c.digest) for c in self.user_cifs)
        return (self.candidates, self.electrode_phases, inst, cifs)


@dataclass(frozen=True)
class ScanTask:
    """One scan to analyse: where it is and how.

    Attributes
    ----------
    ref : ScanRef
        The scan (file with its canonical absolute path, in-file path, row).
    config : AnalysisConfig
        What to fit.

    Examples
    --------
    Made by :func:`make_tasks` (which shows more):

    >>> from xrdkit.analysis import AnalysisConfig, make_tasks
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans
    >>> task = make_tasks(list_scans(example_file("electrodes.h5"))[:1], AnalysisConfig())[0]
    >>> task.id == task.source == task.ref.spec, task.id.endswith("electrodes.h5::/electrode_01/data")
    (True, True)
    """

    ref: ScanRef
    config: AnalysisConfig

    @property
    def id(self) -> str:
        """Unique id: ``file::/path[index]``."""
        return self.ref.spec

    @property
    def source(self) -> str:
        """Where the scan is (``file::/path[index]``), stored with its result."""
        return self.ref.spec


def make_tasks(refs: list[ScanRef], config: AnalysisConfig) -> list[ScanTask]:
    """Wrap scan references into tasks sharing one configuration.

    Each reference's file is made canonical and absolute (``os.path.realpath`` in this
    process's working directory), so a worker started anywhere reads the same file; a task's
    id is then ``/canonical/path::/hdf5/path[index]``.

    Parameters
    ----------
    refs : list of ScanRef
        The scans (:func:`xrdkit.hdf5.list_scans`).
    config : AnalysisConfig
        The configuration every task shares.

    Returns
    -------
    list of ScanTask
        One per reference, in order.

    Examples
    --------
    A relative path becomes absolute:

    >>> import os, pathlib, shutil, tempfile
    >>> from xrdkit.analysis import AnalysisConfig, make_tasks
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = shutil.copy(example_file("heating_stack.h5"), folder / "stack.h5")
    >>> here = os.getcwd()
    >>> os.chdir(folder)
    >>> tasks = make_tasks(list_scans("stack.h5"), AnalysisConfig())
    >>> os.chdir(here)
    >>> len(tasks), os.path.isabs(tasks[0].ref.file), tasks[-1].id.endswith("stack.h5::/heating[23]")
    (24, True, True)
    """
    return [ScanTask(_canonical(ref), config) for ref in refs]


def _canonical(ref: ScanRef) -> ScanRef:
    file = os.path.realpath(ref.file)
    return ref if file == ref.file else replace(ref, file=file)


def _library(config: AnalysisConfig):
    from xrdkit.phases import PhaseLibrary, Provenance

    lib = PhaseLibrary()
    for cif in config.user_cifs:
        lib.add_cif(cif.materialise(), name=cif.name, persist=False,
                    provenance=Provenance(kind="user", citation=cif.origin or cif.name))
    return lib


def _reflections(
    config: AnalysisConfig, inst: Instrument, tt_max: float
) -> tuple[dict[str, ReflectionList], list[str]]:
    """Reflection lists and borate candidates (memoised per process); warns what their
    computation warned, on every call."""
    refls, cands, warned = _reflections_memo(config, inst, tt_max)
    for category, message in warned:
        warnings.warn(message, category, stacklevel=3)
    return refls, cands


def reflection_cache_dir() -> Path | None:
    """Folder of the on-disk reflection-list cache: ``$XRDKIT_CACHE_DIR/reflections``, else
    ``$XDG_CACHE_HOME/closokit/reflections``, else ``~/.cache/closokit/reflections``; None
    when ``XRDKIT_NO_DISK_CACHE=1``. Deleting it is always safe.

    Returns
    -------
    Path or None
        The folder (it need not exist yet), or None when the disk cache is off.

    Examples
    --------
    >>> import os
    >>> from xrdkit.analysis import reflection_cache_dir
    >>> saved = {k: os.environ.pop(k, None) for k in ("XRDKIT_CACHE_DIR", "XRDKIT_NO_DISK_CACHE")}
    >>> os.environ["XRDKIT_CACHE_DIR"] = os.path.join("scratch", "cache")
    >>> reflection_cache_dir().parts
    ('scratch', 'cache', 'reflections')
    >>> os.environ["XRDKIT_NO_DISK_CACHE"] = "1"
    >>> reflection_cache_dir() is None
    True
    >>> for key, value in saved.items():
    ...     _ = os.environ.pop(key, None)
    ...     if value is not None:
    ...         os.environ[key] = value
    """
    if os.environ.get("XRDKIT_NO_DISK_CACHE", "").strip() not in ("", "0"):
        return None
    root = os.environ.get("XRDKIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "closokit")
    return Path(root) / "reflections"


def _code_fingerprint() -> str:
    """SHA-256 of the source of xrdkit's top-level modules and of the library versions the
    reflection lists depend on (once per process)."""
    if not _CODE_FINGERPRINT:
        from importlib.metadata import PackageNotFoundError, version

        h = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
        for dist in ("numpy", "pymatgen", "spglib", "xrayutilities"):
            try:
                h.update(f"{dist}={version(dist)}".encode())
            except PackageNotFoundError:
                h.update(f"{dist}=?".encode())
        _CODE_FINGERPRINT.append(h.hexdigest())
    return _CODE_FINGERPRINT[0]


def _disk_cache_file(config: AnalysisConfig, wavelength_angstrom: float, top_deg: float) -> Path | None:
    """Where the reflection lists of this configuration are kept on disk, or None (cache
    off, or a phase the library does not know: the computation then says what is wrong)."""
    folder = reflection_cache_dir()
    if folder is None:
        return None
    try:
        from xrdkit.identify import SEPARATE_BORATE_PHASES
        from xrdkit.phases import PhaseLibrary

        lib = PhaseLibrary()
        user = {c.name for c in config.user_cifs}
        cands = list(config.candidates) if config.candidates else [FCC_PHASE] + [
            p for p in SEPARATE_BORATE_PHASES if p in lib or p in user
        ]
        names = list(dict.fromkeys(cands + list(config.electrode_phases)))
        h = hashlib.sha256(repr((REFLECTION_CACHE_FORMAT, _code_fingerprint(), config.key(),
                                 float(wavelength_angstrom), float(top_deg), cands, names)).encode())
        for name in names:
            if name in user:  # its contents are in config.key()
                continue
            info = lib.info(name)
            h.update(repr(info).encode())
            h.update(Path(info.cif_path).read_bytes())
    except Exception:  # noqa: BLE001 - an unknown phase, an unreadable CIF …: no cache
        log.debug("no reflection-list cache for this configuration", exc_info=True)
        return None
    return folder / f"{h.hexdigest()[:32]}.pkl"


def _load_cached(path: Path | None) -> tuple | None:
    if path is None or not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            value = pickle.load(fh)
        refls, cands, warned = value
        if isinstance(refls, dict) and all(isinstance(r, ReflectionList) for r in refls.values()):
            return refls, list(cands), tuple(warned)
    except Exception:  # noqa: BLE001 - a damaged or foreign file is recomputed
        log.debug("ignoring reflection-list cache file %s", path, exc_info=True)
    return None


def _store_cached(path: Path | None, value: tuple) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        with open(part, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(part, path)
        files = sorted(path.parent.glob("*.pkl"), key=lambda f: f.stat().st_mtime)
        for old in files[:-REFLECTION_CACHE_MAX_FILES]:
            old.unlink(missing_ok=True)
    except OSError:  # read-only or full: the cache is an optimisation only
        log.debug("could not write the reflection-list cache %s", path, exc_info=True)


def _reflections_memo(
    config: AnalysisConfig, inst: Instrument, tt_max: float, session: FitSession | None = None
) -> tuple[dict[str, ReflectionList], list[str], tuple[tuple[type[Warning], str], ...]]:
    """The reflection lists of a configuration: from the session's ``reflections`` (one entry
    per configuration key, shortest wavelength and 2θ max rounded up), else from the disk cache,
    else computed (and stored in both).

    Returns (lists by name, borate candidates, (category, message) of the warnings raised while
    computing them).
    """
    from xrdkit.identify import SEPARATE_BORATE_PHASES
    from xrdkit.simulate import resolve_phases

    memo = (session if session is not None else default_session()).reflections
    top = min(TWO_THETA_MAX_STEP_DEG * math.ceil(tt_max / TWO_THETA_MAX_STEP_DEG), 179.0)
    # the instrument may carry the file's wavelength: the lists depend on the shortest one
    key = (config.key(), min(inst.wavelengths_angstrom), top)
    value = memo.get(key)
    if value is not None:
        return value
    disk = _disk_cache_file(config, key[1], top)
    value = _load_cached(disk)
    if value is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib = _library(config)
            cands = list(config.candidates) if config.candidates else [FCC_PHASE] + [
                p for p in SEPARATE_BORATE_PHASES if p in lib
            ]
            names = list(dict.fromkeys(cands + list(config.electrode_phases)))
            refls = dict(zip(names, resolve_phases(names, inst, top, library=lib), strict=True))
        warned = tuple(dict.fromkeys(
            (w.category, str(w.message)) for w in caught if not issubclass(w.category, CODE_WARNINGS)
        ))
        value = (refls, cands, warned)
        _store_cached(disk, value)
    memo.put(key, value)
    return value


def analyse_scan(task: ScanTask, previous: ItemResult | None = None) -> ItemResult:
    """Read and identify one scan (the batch's analysis function).

    Parameters
    ----------
    task : ScanTask
        The scan and the configuration.
    previous : ItemResult, optional
        Previous scan of a warm-started series; its ``state`` holds the warm starts.

    Returns
    -------
    ItemResult
        Scalars: verdict, fcc_weight_fraction(_sigma), detection_limit,
        unexplained_intensity_share, amorphous_intensity_share (0–1), rwp, gof, converged,
        per-phase ``wt_<phase>``, ``wt_sigma_<phase>``, ``lattice_a_<phase>``, metadata such as
        temperature; arrays: the pattern, calculated, background, residual and per-phase components.

    Raises
    ------
    InputError
        The scan file is not on this host, or the scan is too short to fit.

    Examples
    --------
    The first bundled electrode (constructed data: NaCrO2 0.68, Al 0.20, fcc NBH 0.12 by
    weight), as one batch item:

    >>> from xrdkit.analysis import AnalysisConfig, analyse_scan, make_tasks
    >>> from xrdkit.data import example_file
    >>> from xrdkit.hdf5 import list_scans
    >>> config = AnalysisConfig(electrode_phases=("nacro2", "al"))
    >>> first = make_tasks(list_scans(example_file("electrodes.h5")), config)[0]
    >>> item = analyse_scan(first)
    >>> item.scalars["verdict"], item.scalars["phases"], round(item.scalars["wt_nbh-fcc"], 2)
    ('fcc', 'nbh-fcc,nacro2,al', 0.13)
    >>> sorted(item.arrays)[:4], item.arrays["calculated"].shape
    (['background', 'calculated', 'component_al', 'component_nacro2'], (4000,))
    """
    cfg = task.config
    if not os.path.exists(task.ref.file):
        raise InputError(
            f"scan file not found on host {socket.gethostname()} (workers read a scan at the "
            "path the batch was given: on a cluster every worker needs that path, e.g. a shared "
            "file system)",
            source=task.ref.file,
        )
    scan = read_ref(task.ref, h5=_open_for_reading(task.ref.file))
    inst = load_instrument(cfg.instrument)
    if scan.wavelength_angstrom and abs(scan.wavelength_angstrom - inst.wavelength_angstrom) > 2e-3:
        inst = _instrument_for_wavelength(inst, scan.wavelength_angstrom)
    if cfg.two_theta_range_deg:
        scan = scan.crop(*cfg.two_theta_range_deg)
    if scan.n_points < MIN_FIT_POINTS:
        raise InputError(
            f"scan has {scan.n_points} points; a whole-pattern fit needs at least {MIN_FIT_POINTS}",
            source=scan.source,
        )
    refls, cands = _reflections(cfg, inst, float(scan.two_theta_deg[-1]))
    start = previous.state if previous is not None and isinstance(previous.state, dict) else None
    verdict = identify(
        scan, cands, electrode_phases=cfg.electrode_phases, instrument=inst, options=cfg.options,
        reflections=refls, start=start,
    )
    return verdict_to_item(verdict, scan)


def _warm_up(task: ScanTask) -> None:
    """Load what every scan of ``task``'s configuration needs — compiled code, modules imported
    on first use, the reflection lists — by analysing it once and dropping the result.
    :func:`xrdkit.batch.run_batch` calls it (as ``analyse_scan.warm_up``) in the batch process
    before forking local workers, so that they inherit all this instead of each loading it."""
    analyse_scan(task)


analyse_scan.warm_up = _warm_up  # type: ignore[attr-defined]


def close_input_file() -> None:
    """Close this process's cached read handle on an input file (see ``_open_for_reading``).

    :func:`xrdkit.pipeline.analyse_files` calls it when a batch ends, so no HDF5 file of the
    batch stays open after it. A handle inherited through fork belongs to the parent and is
    only forgotten, not closed.

    Examples
    --------
    >>> from xrdkit.analysis import _open_for_reading, close_input_file
    >>> from xrdkit.data import example_file
    >>> handle = _open_for_reading(example_file("heating_stack.h5"))
    >>> bool(handle)
    True
    >>> close_input_file()
    >>> bool(handle)      # an h5py File is falsy once closed
    False
    """
    held = _OPEN_FILE[0]
    _OPEN_FILE[0] = None
    if held is not None and held[0][0] == os.getpid():
        held[1].close()


def _open_for_reading(file: str) -> h5py.File | None:
    """This process's read-only handle on ``file``, reused while the file is unchanged.

    Workers are sent (file, path) pairs; a series of scans from one file then costs one
    open instead of one per scan. A changed file (size or mtime) is reopened, and so is one
    opened by another process (a forked worker never uses its parent's handle). None when the
    file cannot be opened here (``read_ref`` then reports why).
    """
    try:
        st = Path(file).stat()
    except OSError:
        return None
    key = (os.getpid(), file, st.st_mtime_ns, st.st_size)
    if _OPEN_FILE[0] is not None and _OPEN_FILE[0][0] == key:
        return _OPEN_FILE[0][1]
    if _OPEN_FILE[0] is not None:
        if _OPEN_FILE[0][0][0] == key[0]:  # a handle inherited through fork is left alone
            _OPEN_FILE[0][1].close()
        _OPEN_FILE[0] = None
    try:
        h5 = h5py.File(file, "r")
    except OSError:
        return None
    _OPEN_FILE[0] = (key, h5)
    return h5


def _instrument_for_wavelength(inst: Instrument, wavelength_angstrom: float) -> Instrument:
    """Use the file's wavelength: keep Kα2 at the same ratio for Cu-like pairs, else a single line."""
    log.info("using the file's wavelength %.5f Å instead of %.5f Å", wavelength_angstrom, inst.wavelength_angstrom)
    if len(inst.wavelengths_angstrom) > 1:
        ratio = inst.wavelengths_angstrom[1] / inst.wavelengths_angstrom[0]
        return inst.replace(wavelengths_angstrom=(wavelength_angstrom, wavelength_angstrom * ratio))
    return inst.replace(wavelengths_angstrom=(wavelength_angstrom,))


def _scalar_metadata(scan: Scan) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for k, v in scan.metadata.items():
        if isinstance(v, (bool, np.bool_)):
            continue
        if isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v):
            out[f"meta_{k}"] = float(v)
        elif isinstance(v, str) and len(v) < 200:
            out[f"meta_{k}"] = v
    return out


def _float_or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def verdict_to_item(verdict: PhaseVerdict, scan: Scan) -> ItemResult:
    """Flatten a verdict into the batch's :class:`~xrdkit.results.ItemResult`.

    Parameters
    ----------
    verdict : PhaseVerdict
        The verdict of :func:`xrdkit.identify.identify` on ``scan``.
    scan : Scan
        The scan (its scalar metadata, e.g. temperature, become columns).

    Returns
    -------
    ItemResult
        The summary-table scalars (column names of :mod:`xrdkit.schema`), the arrays of the
        best fit, its warnings and the verdict's notes, and the warm starts as ``state``; the
        scan's numeric and short text metadata as ``meta_<key>`` scalars.

    Examples
    --------
    >>> from xrdkit.analysis import verdict_to_item
    >>> from xrdkit.data import example_file
    >>> from xrdkit.identify import identify
    >>> from xrdkit.readers import read_scan
    >>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    >>> item = verdict_to_item(identify(scan, electrode_phases=["nacro2", "al"]), scan)
    >>> item.scalars["verdict"], item.scalars["meta_temperature"], "wt_sigma_nbh-fcc" in item.scalars
    ('fcc', 25.0, True)
    """
    best = verdict.best
    nan = float("nan")
    scalars: dict[str, Any] = {
        schema.VERDICT.name: str(verdict.verdict),  # the Verdict StrEnum's value ("fcc", "no-borate", …)
        schema.PURITY.name: nan if verdict.fcc_weight_fraction is None else verdict.fcc_weight_fraction,
        schema.PURITY_SIGMA.name: (nan if verdict.fcc_weight_fraction_sigma is None
                                   else verdict.fcc_weight_fraction_sigma),
        schema.DETECTION_LIMIT.name: nan if verdict.detection_limit is None else verdict.detection_limit,
        schema.DETECTION_LIMIT_BASIS.name: verdict.detection_limit_basis,
        schema.UNEXPLAINED_SHARE.name: verdict.unexplained_intensity_share,
        schema.AMORPHOUS_SHARE.name: _float_or_nan(getattr(verdict, "amorphous_intensity_share", None)),
        schema.RWP.name: best.rwp,
        schema.GOF.name: best.gof,
        schema.CONVERGED.name: best.converged,
        schema.N_RESIDUAL_PEAKS.name: len(verdict.residual_peaks),
        schema.PHASES.name: ",".join(p.name for p in best.phases),
        schema.MODELS_MISSING.name: ",".join(verdict.models_missing),
        schema.FIT_TIME.name: best.elapsed_s,
    }
    for p in best.phases:
        scalars[schema.phase_column(schema.WEIGHT_FRACTION, p.name)] = (
            nan if p.weight_fraction is None else p.weight_fraction)
        scalars[schema.phase_column(schema.WEIGHT_FRACTION_SIGMA, p.name)] = (
            nan if p.weight_fraction_sigma is None else p.weight_fraction_sigma)
        for lk, lv in p.lattice.items():
            value_col, sigma_col = schema.LATTICE_COLUMNS[lk]  # a KeyError here: a column the schema lacks
            scalars[schema.phase_column(value_col, p.name)] = lv
            scalars[schema.phase_column(sigma_col, p.name)] = p.lattice_sigma.get(lk, nan)
    scalars.update(_scalar_metadata(scan))
    arrays = {
        "two_theta_deg": best.two_theta_deg,
        "observed": best.observed,
        "calculated": best.calculated,
        "background": best.background,
        "residual": best.residual,
    }
    for name, comp in best.components.items():
        arrays[f"component_{name}"] = comp
    warnings = tuple(best.warnings) + tuple(verdict.notes)
    return ItemResult(scalars=scalars, arrays=arrays, warnings=warnings, state=dict(verdict.warm_starts))
