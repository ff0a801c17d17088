"""Analyse every scan of HDF5 files: the library function behind ``xrdkit batch``.

:func:`analyse_files` lists the scans of the files, gives every scan a verdict (fcc / separate /
mixed / no-borate / unexplained, see :class:`xrdkit.vocabulary.Verdict`), the fcc share of the
borates ± σ, the amorphous share of the scattered intensity and the fitted pattern, stores them
durably in a results file (:mod:`xrdkit.results`) and, if asked, writes a CSV table. The work
runs in this process, in local worker processes or on a Dask cluster
(:func:`xrdkit.batch.run_batch`); scans of one file form a series and warm-start from the
previous scan. ``xrdkit batch`` and ``xrdkit demo`` are thin layers over it.

A results file remembers what made it (the batch *fingerprint*: options, phase set with the
SHA-256 of every CIF, instrument, inputs); ``resume=True`` continues an interrupted batch only
when the fingerprint is the same (:func:`batch_fingerprint`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import numbers
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrdkit import schema
from xrdkit.errors import InputError

if TYPE_CHECKING:
    from xrdkit.batch import BatchSummary
    from xrdkit.instrument import Instrument

__all__ = [
    "analyse_files",
    "batch_fingerprint",
    "canonical_inputs",
    "check_scheduler_address",
    "TABLE_COLUMNS",
    "MAX_SERIES_CHUNK",
]

logger = logging.getLogger(__name__)

#: Largest chunk of a warm-started series sent to one worker (bounds what a kill loses).
MAX_SERIES_CHUNK = 64
#: Leading columns of the CSV table (:data:`xrdkit.schema.TABLE_COLUMNS`).
TABLE_COLUMNS = schema.TABLE_COLUMNS
#: Schemes of Dask scheduler addresses (``distributed.comm``).
DASK_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
#: Largest particle diameter (µm) Brindley's correction is given for (as ``--brindley``).
MAX_PARTICLE_SIZE_UM = 1000.0
#: How the fingerprint records ``refine_b_iso`` and ``refine_coordinates`` (the values of the
#: ``--refine-b-iso`` / ``--fix-b-iso`` / ``--fix-coordinates`` flags, as stored since the
#: fingerprint exists).
B_ISO_SPELLING = {"auto": "auto", True: "yes", False: "no"}
COORDINATES_SPELLING = {"auto": "auto", False: "no"}


def check_scheduler_address(address: str, source: str = "scheduler") -> str:
    """A Dask scheduler address ``SCHEME://HOST:PORT``, checked before connecting.

    Parameters
    ----------
    address : str
        E.g. ``"tcp://10.0.0.5:8786"``; surrounding blanks are dropped.
    source : str
        Name of the argument, used in the error message (``"--scheduler"`` for the CLI).

    Returns
    -------
    str
        The address without surrounding blanks.

    Raises
    ------
    InputError
        Another scheme, no host, or a port that is not an integer in 1–65535.

    Examples
    --------
    >>> check_scheduler_address(" tcp://10.0.0.5:8786 ")
    'tcp://10.0.0.5:8786'
    >>> check_scheduler_address("10.0.0.5:8786")
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: scheduler: malformed address '10.0.0.5:8786': expected SCHEME://HOST:PORT ...
    """
    from urllib.parse import urlsplit

    text = address.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed address {address!r} ({exc}); expected tcp://HOST:PORT",
                         source=source) from None
    if parts.scheme not in DASK_SCHEMES or "://" not in text:
        raise InputError(f"malformed address {address!r}: expected SCHEME://HOST:PORT with SCHEME "
                         f"one of {', '.join(DASK_SCHEMES)}", source=source)
    if parts.scheme != "inproc" and (not parts.hostname or port is None or not 0 < port < 65536
                                     or parts.path not in ("", "/") or parts.query):
        raise InputError(f"malformed address {address!r}: expected {parts.scheme}://HOST:PORT with "
                         "a port in 1–65535", source=source)
    return text


def canonical_inputs(files: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Canonical absolute paths of the input files, each once, in the order first given.

    A scan's id is ``CANONICAL_PATH::/hdf5/path[index]``: ``stack.h5``, ``./stack.h5`` and a
    symlink to it name the same scans, so a resume with another spelling continues the same
    batch and a file named twice is analysed once (with a logged warning).

    Parameters
    ----------
    files : sequence of str or path
        Input files as given (relative, absolute, through symbolic links); they need not exist.

    Returns
    -------
    list of str
        Canonical absolute paths (:func:`os.path.realpath`), each once, in the order first given.

    Examples
    --------
    One file named three ways (with ``./`` in the path, plainly, through a symbolic link) and a
    second file:

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp()).resolve()
    >>> (folder / "stack.h5").touch()
    >>> (folder / "link.h5").symlink_to(folder / "stack.h5")
    >>> paths = canonical_inputs([f"{folder}/./stack.h5", folder / "stack.h5", folder / "link.h5",
    ...                           folder / "other.h5"])
    >>> [Path(p).relative_to(folder).as_posix() for p in paths], all(map(os.path.isabs, paths))
    (['stack.h5', 'other.h5'], True)
    """
    out: dict[str, str] = {}
    for f in files:
        canonical = os.path.realpath(f)
        if canonical in out:
            logger.warning("%s names the same file as %s; analysed once", f, out[canonical])
            continue
        out[canonical] = os.fspath(f)
    return list(out)


def _number_text(value: float) -> str:
    """Shortest text of a float that reads back the same, without a trailing ``.0`` (1.0 → "1")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def batch_fingerprint(
    files: Sequence[str],
    instrument: Instrument,
    *,
    electrode_phases: Sequence[str] = (),
    borates: Sequence[str] | None = None,
    cifs: Sequence[str | os.PathLike[str]] = (),
    two_theta_range_deg: tuple[float, float] | None = None,
    ka2: bool = True,
    background_terms: int = 10,
    refine_b_iso: bool | str = "auto",
    refine_coordinates: bool | str = "auto",
    preferred_orientation: Mapping[str, tuple[int, int, int]] | None = None,
    particle_size_um: Mapping[str, float] | None = None,
    refine_displacement: bool = False,
    refine_asymmetry: bool = False,
    warm_start: bool = True,
) -> dict[str, Any]:
    """What makes two runs the same batch, as it is stored in the results file.

    The options (keys and value forms of the ``xrdkit batch`` flags: ``phase``, ``borate``,
    ``range``, ``no_ka2``, ``background_terms``, ``b_iso``, ``coordinates``, ``po``,
    ``brindley``, ``displacement``, ``asymmetry``, ``no_warm_start``), the phase set (with the
    SHA-256 of every CIF used), the instrument and every input (canonical path, size, mtime,
    SHA-256). A resume refuses to continue a batch whose stored fingerprint differs
    (:func:`xrdkit.results.fingerprint_differences` says what).

    Parameters
    ----------
    files : sequence of str
        Canonical input paths (:func:`canonical_inputs`).
    instrument : Instrument
        The instrument used (without Kα2 when ``ka2`` is False).
    electrode_phases, borates, cifs, two_theta_range_deg, ka2, background_terms, refine_b_iso, refine_coordinates, preferred_orientation, particle_size_um, refine_displacement, refine_asymmetry, warm_start
        As in :func:`analyse_files`; ``borates`` as given (before the stems of ``cifs`` are
        added to it).

    Returns
    -------
    dict
        JSON types only (as read back from the results file).

    Raises
    ------
    InputError
        An input or CIF that cannot be read.

    Examples
    --------
    A one-file batch judging fcc NBH beside NaCrO2 and Al; the input's identity is the SHA-256
    of its bytes, and changing an option changes the fingerprint:

    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> from xrdkit.instrument import load_instrument
    >>> scan_file = Path(tempfile.mkdtemp()) / "stack.h5"
    >>> _ = scan_file.write_bytes(b"stand-in bytes")
    >>> files = canonical_inputs([scan_file])
    >>> inst = load_instrument("miniflex600-cuka")
    >>> fp = batch_fingerprint(files, inst, electrode_phases=["nacro2", "al"], borates=["nbh-fcc"])
    >>> sorted(fp), sorted(fp["phases"])
    (['inputs', 'instrument', 'options', 'phases'], ['al', 'nacro2', 'nbh-fcc'])
    >>> fp["inputs"][0]["sha256"] == hashlib.sha256(b"stand-in bytes").hexdigest()
    True
    >>> fp["options"]["phase"], fp["options"]["range"], fp["options"]["no_ka2"]
    (['nacro2', 'al'], None, False)
    >>> fp == batch_fingerprint(files, inst, electrode_phases=["nacro2", "al"], borates=["nbh-fcc"],
    ...                         two_theta_range_deg=(10.0, 60.0))
    False
    """
    from xrdkit.identify import FCC_PHASE, SEPARATE_BORATE_PHASES
    from xrdkit.phases import PhaseLibrary
    from xrdkit.results import file_fingerprint

    cif_names = [Path(c).stem.lower() for c in cifs]
    used_borates = _borates_with_cifs(borates, cif_names)
    lib = PhaseLibrary()
    names = list(used_borates) if used_borates else [FCC_PHASE, *(p for p in SEPARATE_BORATE_PHASES if p in lib)]
    phases: dict[str, str] = {}
    for name in dict.fromkeys([*names, *electrode_phases]):
        if name in lib:
            phases[name] = hashlib.sha256(lib.info(name).cif_path.read_bytes()).hexdigest()
    for cif, name in zip(cifs, cif_names, strict=True):
        phases[f"cif:{name}"] = file_fingerprint(cif)["sha256"]
    options = {
        "phase": list(electrode_phases),
        "borate": None if borates is None else list(borates),
        "range": None if two_theta_range_deg is None else [float(v) for v in two_theta_range_deg],
        "no_ka2": not ka2,
        "background_terms": int(background_terms),
        "b_iso": B_ISO_SPELLING[refine_b_iso],
        "coordinates": COORDINATES_SPELLING[refine_coordinates],
        "po": [f"{name}:{','.join(str(int(v)) for v in hkl)}" for name, hkl in (preferred_orientation or {}).items()],
        "brindley": [f"{name}:{_number_text(size)}" for name, size in (particle_size_um or {}).items()],
        "displacement": bool(refine_displacement),
        "asymmetry": bool(refine_asymmetry),
        "no_warm_start": not warm_start,
    }
    fingerprint = {
        "options": options,
        "phases": phases,
        "instrument": dataclasses.asdict(instrument) if dataclasses.is_dataclass(instrument) else repr(instrument),
        "inputs": [file_fingerprint(f) for f in files],
    }
    return json.loads(json.dumps(fingerprint, default=str))  # as it will be stored


def _borates_with_cifs(borates: Sequence[str] | None, cif_names: Sequence[str]) -> tuple[str, ...] | None:
    """The borate models compared: those given plus every user CIF (named by its stem); None
    (the default set, to which identify adds the user CIFs itself) when none are given."""
    if borates is None:
        return None
    return tuple(dict.fromkeys([*borates, *cif_names])) if cif_names else tuple(borates)


def _same_meaning(key: str, stored: Any, mine: Any) -> bool:
    """Whether a stored ``po`` / ``brindley`` option (the command-line spellings, e.g.
    ``"NaCrO2: 0,0,1"`` or ``"al:1.0"``) means what this batch's canonical spelling means."""
    from types import SimpleNamespace

    from xrdkit.commands._common import particle_sizes_from_args, preferred_orientation_from_args

    parse = preferred_orientation_from_args if key == "po" else particle_sizes_from_args
    if not (isinstance(stored, list) and all(isinstance(s, str) for s in stored)):
        return False
    try:
        return parse(SimpleNamespace(**{key: stored})) == parse(SimpleNamespace(**{key: mine}))
    except InputError:
        return False


def _keep_stored_spellings(fingerprint: dict[str, Any], out: Path) -> dict[str, Any]:
    """``fingerprint`` with the stored spelling of ``po`` / ``brindley`` where the results file
    being resumed spells the same option another way.

    ``xrdkit batch`` stored these options as typed (``--brindley al:1.0``); this module stores
    a canonical spelling (``al:1``). A results file written either way is resumed when the
    options mean the same.
    """
    # the store's own reader of the stored configuration (results file, else its journal)
    from xrdkit.results import FINGERPRINT_KEY, stored_config

    stored = None
    with contextlib.suppress(InputError):  # a damaged file: the results store says so
        stored = stored_config(out)
    theirs = (stored or {}).get(FINGERPRINT_KEY)
    if not isinstance(theirs, dict) or not isinstance(theirs.get("options"), dict):
        return fingerprint
    options = dict(fingerprint["options"])
    for key in ("po", "brindley"):
        old = theirs["options"].get(key)
        if old != options[key] and _same_meaning(key, old, options[key]):
            options[key] = old
    return {**fingerprint, "options": options}


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _series_of(task: Any) -> str:
    """Scans of one file form one warm-started series."""
    return task.ref.file


def _as_paths(value: Any, what: str) -> list[str]:
    """One path or an iterable of paths → list of str."""
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    try:
        return [os.fspath(v) for v in value]
    except TypeError:
        raise InputError(f"expected a path or a list of paths, got {value!r}", source=what) from None


def _one_of(value: Any, allowed: Mapping[Any, str]) -> bool:
    """``value`` is a bool or str key of ``allowed`` (1 is not True here)."""
    return isinstance(value, (bool, str)) and value in allowed


def _check_options(
    two_theta_range_deg: Any, background_terms: Any, refine_b_iso: Any, refine_coordinates: Any,
    preferred_orientation: Mapping[str, Any], particle_size_um: Mapping[str, Any],
) -> tuple[tuple[float, float] | None, dict[str, tuple[int, int, int]], dict[str, float]]:
    """Validate the fit options; the 2θ range, orientation axes and particle sizes as used."""
    rng = None
    if two_theta_range_deg is not None:
        try:
            lo, hi = (float(v) for v in two_theta_range_deg)
        except (TypeError, ValueError):
            raise InputError(f"expected (min, max) in degrees, got {two_theta_range_deg!r}",
                             source="two_theta_range_deg") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError(f"expected finite min < max in degrees, got {two_theta_range_deg!r}",
                             source="two_theta_range_deg")
        rng = (lo, hi)
    if isinstance(background_terms, bool) or not isinstance(background_terms, int) or background_terms < 0:
        raise InputError(f"must be an integer ≥ 0, got {background_terms!r}", source="background_terms")
    if not _one_of(refine_b_iso, B_ISO_SPELLING):
        raise InputError(f"must be 'auto', True or False, got {refine_b_iso!r}", source="refine_b_iso")
    if not _one_of(refine_coordinates, COORDINATES_SPELLING):
        raise InputError(f"must be 'auto' or False, got {refine_coordinates!r}", source="refine_coordinates")
    po: dict[str, tuple[int, int, int]] = {}
    for name, hkl in preferred_orientation.items():
        try:
            axis = tuple(int(v) for v in hkl)
            integral = all(int(v) == v for v in hkl)
        except (TypeError, ValueError):
            axis, integral = (), False
        if len(axis) != 3 or not integral or axis == (0, 0, 0):
            raise InputError(f"{name}: (h, k, l) must be three integers, not all 0, got {hkl!r}",
                             source="preferred_orientation")
        po[str(name).strip().lower()] = axis  # type: ignore[assignment]  # phase names as --po gives them
    sizes: dict[str, float] = {}
    for name, size in particle_size_um.items():
        try:
            value = float(size)
        except (TypeError, ValueError):
            value = math.nan
        if not 0.0 < value < MAX_PARTICLE_SIZE_UM:
            raise InputError(f"{name}: particle size must lie in (0, {MAX_PARTICLE_SIZE_UM:g}) µm, got {size!r}",
                             source="particle_size_um")
        sizes[str(name).strip().lower()] = value
    return rng, po, sizes


def analyse_files(
    files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    electrode_phases: Sequence[str] = (),
    cifs: Sequence[str | os.PathLike[str]] = (),
    borates: Sequence[str] | None = None,
    instrument: str | os.PathLike[str] | Instrument = "miniflex600-cuka",
    two_theta_range_deg: tuple[float, float] | None = None,
    ka2: bool = True,
    background_terms: int = 10,
    refine_b_iso: bool | str = "auto",
    refine_coordinates: bool | str = "auto",
    preferred_orientation: Mapping[str, tuple[int, int, int]] | None = None,
    particle_size_um: Mapping[str, float] | None = None,
    refine_displacement: bool = False,
    refine_asymmetry: bool = False,
    table: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    warm_start: bool = True,
    progress: bool | None = None,
    command: str | None = None,
    item_timeout_s: float | None = None,
) -> BatchSummary:
    """Identify and refine every scan of HDF5 files; store the results (and a CSV table).

    What ``xrdkit batch`` does (each keyword is one of its flags). Every scan gets a verdict,
    the fcc share of the borates ± σ (empty for no-borate), the amorphous share of the
    intensity, per-phase weight fractions and cells, and the fitted pattern; one bad scan
    records its error and the batch goes on. Scans of one file form a series and warm-start
    from the previous scan.

    Parameters
    ----------
    files : path or iterable of paths
        HDF5 files (NeXus entries or stacks, see :func:`xrdkit.hdf5.list_scans`). A file named
        twice (another spelling, a symlink) is analysed once.
    out : path
        Results file (``RESULTS.h5``; its journal is ``RESULTS.h5.parts/``).
    electrode_phases : sequence of str
        Library phases that may be present besides the borates (``--phase``; names are
        case-insensitive). An unknown name is refused before any scan is read.
    cifs : sequence of paths
        Extra phases from CIF files, named by the lower-cased file stem (``--cif``). They join
        the borate models compared.
    borates : sequence of str, optional
        Borate models to compare (``--borate``; default: ``nbh-fcc`` plus the separate-borate
        models in the library).
    instrument : str, path or Instrument
        Preset name, instrument file or instrument (``--instrument``).
    two_theta_range_deg : (float, float), optional
        2θ range to fit, degrees (``--range``; default: the whole scan).
    ka2 : bool
        Fit the Kα2 line too (False: ``--no-ka2``, a single wavelength).
    background_terms : int
        Chebyshev background terms (``--background-terms``).
    refine_b_iso : bool or "auto"
        True refines an overall B per phase (``--refine-b-iso``). ``"auto"`` and False
        (``--fix-b-iso``) hold B at the CIF's values: a batch does not make the per-scan
        choice of :func:`xrdkit.qpa.quantify`.
    refine_coordinates : "auto" or False
        Recorded in the batch fingerprint (``--fix-coordinates`` is False); the batch's fits
        (:func:`xrdkit.identify.identify`) hold the atomic coordinates at the CIF's values
        either way.
    preferred_orientation : dict, optional
        Phase name → (h, k, l) March–Dollase axis (``--po PHASE:H,K,L``); names are
        lower-cased, as the flag does.
    particle_size_um : dict, optional
        Phase name → particle diameter in µm for Brindley's microabsorption correction
        (``--brindley PHASE:SIZE_UM``; give every phase); names are lower-cased.
    refine_displacement, refine_asymmetry : bool
        Refine the sample displacement / the peak asymmetry (``--displacement``,
        ``--asymmetry``).
    table : path, optional
        Also write the summary table as CSV: the columns :data:`TABLE_COLUMNS` first (``id``
        written as ``scan``), then every other stored column.
    workers : int, optional
        Local worker processes (default: the number of cores); 1 runs in this process.
    scheduler : str or distributed.Client, optional
        Dask scheduler address (``"tcp://HOST:PORT"``) or a connected client: the scans are
        analysed on that cluster.
    resume : bool
        Finish an interrupted batch: scans with a stored result are skipped. Refused when the
        inputs or options differ from those of the interrupted batch.
    overwrite : bool
        Replace an existing results file.
    warm_start : bool
        Start each scan's fit from the previous scan of its series (False: every scan cold).
    progress : bool, optional
        Show a progress bar on stderr (default: only when stderr is a terminal).
    command : str, optional
        What to record as the command that made the results (default
        ``"xrdkit.analyse_files"``).
    item_timeout_s : float, optional
        Longest analysis of one scan in seconds; a scan that takes longer is recorded as an
        error and the batch goes on (default 600 s or ``CLOSOKIT_ITEM_TIMEOUT_S``; see
        :func:`xrdkit.batch.run_batch`).

    Returns
    -------
    BatchSummary
        Counts (``n_ok``, ``n_error``, ``n_skipped``, …), timing and the results path
        (:class:`xrdkit.batch.BatchSummary`). Read the results with
        :func:`xrdkit.results.read_summary` / :func:`xrdkit.results.read_item`.

    Raises
    ------
    InputError
        Before any work: no or a missing input file, an output that is an input (or ``out`` and
        ``table`` the same file), ``workers`` < 1, a malformed scheduler address, an unreadable
        CIF or instrument, an unknown phase, an invalid fit option.
    BatchError
        Results exist and neither ``resume`` nor ``overwrite`` was given; ``resume`` of another
        batch; an input changed while the batch ran.

    Examples
    --------
    The bundled electrodes, in this process:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import xrdkit
    >>> from xrdkit.results import read_summary
    >>> out = Path(tempfile.mkdtemp()) / "electrodes.h5"
    >>> summary = xrdkit.analyse_files(xrdkit.example_file("electrodes.h5"), out,
    ...                                electrode_phases=["nacro2", "al"], workers=1)
    >>> summary.n_ok, summary.n_error
    (5, 0)
    >>> [row["verdict"] for row in read_summary(out)]
    ['fcc', 'fcc', 'mixed', 'mixed', 'mixed']
    """
    from xrdkit.hdf5 import join_background_probes, list_scans, probe_in_background

    given = _as_paths(files, "files")
    if not given:
        raise InputError("no input files given", source="files")
    probe_in_background(given)  # the files' structure is read while the fitting code loads

    from xrdkit.analysis import AnalysisConfig, analyse_scan, close_input_file, make_tasks
    from xrdkit.batch import run_batch
    from xrdkit.errors import BatchError, check_output_paths
    from xrdkit.instrument import load_instrument
    from xrdkit.phases import read_cif
    from xrdkit.refine import RefineOptions
    from xrdkit.results import write_table_csv

    cif_paths = _as_paths(cifs, "cifs")
    # phase names are lower case (as the library and --cif name them): "NaCrO2" is nacro2
    electrode_phases = tuple(str(n).lower() for n in electrode_phases)
    borates = None if borates is None else tuple(str(n).lower() for n in borates)
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
            raise InputError(f"must be an integer ≥ 1, got {workers!r}", source="workers")
        workers = int(workers)
    if isinstance(scheduler, str):
        scheduler = check_scheduler_address(scheduler)
    instrument_file = (os.fspath(instrument) if isinstance(instrument, (str, os.PathLike))
                       and Path(instrument).suffix else None)
    check_output_paths({"out": out, "table": table},
                       {"files": given, "cifs": cif_paths, "instrument": instrument_file})
    rng, po, sizes = _check_options(two_theta_range_deg, background_terms, refine_b_iso, refine_coordinates,
                                    preferred_orientation or {}, particle_size_um or {})
    for f in given:
        if not Path(f).exists():
            raise InputError("file not found", source=f)
    input_paths = canonical_inputs(given)
    for cif in cif_paths:
        read_cif(cif)  # fail early on a bad CIF
    _check_phase_names([*electrode_phases, *(borates or ())], [Path(c).stem.lower() for c in cif_paths])
    inst = load_instrument(instrument)
    inst = inst if ka2 else inst.without_ka2()
    used_borates = _borates_with_cifs(borates, [Path(c).stem.lower() for c in cif_paths])
    config = AnalysisConfig(
        candidates=used_borates,
        electrode_phases=electrode_phases,
        instrument=inst,
        options=RefineOptions(
            background_terms=background_terms,
            refine_b_iso=refine_b_iso is True,  # "auto" is decided per scan only by quantify (xrdkit fit)
            preferred_orientation=po,
            particle_size_um=sizes,
            refine_displacement=bool(refine_displacement),
            refine_asymmetry=bool(refine_asymmetry),
        ),
        two_theta_range_deg=rng,
        user_cifs=tuple(cif_paths),
    )
    fingerprint = batch_fingerprint(
        input_paths, inst, electrode_phases=electrode_phases, borates=borates, cifs=cif_paths,
        two_theta_range_deg=rng, ka2=ka2, background_terms=background_terms, refine_b_iso=refine_b_iso,
        refine_coordinates=refine_coordinates, preferred_orientation=po, particle_size_um=sizes,
        refine_displacement=refine_displacement, refine_asymmetry=refine_asymmetry, warm_start=warm_start,
    )
    if resume:
        fingerprint = _keep_stored_spellings(fingerprint, Path(out))
    refs = []
    for f in input_paths:
        refs.extend(list_scans(f))
    join_background_probes()  # done by now (list_scans waited for them): no thread left when workers fork
    tasks = make_tasks(refs, config)
    chunk = None
    if warm_start and scheduler is None:
        # a warm-started series should be split into as few chunks as there are workers:
        # every chunk boundary is a cold start
        n_workers = workers or os.cpu_count() or 1
        longest = max(Counter(t.ref.file for t in tasks).values(), default=1)
        chunk = max(1, min(MAX_SERIES_CHUNK, math.ceil(longest / n_workers)))
    try:
        summary = run_batch(
            tasks, analyse_scan, out, workers=workers, scheduler=scheduler, chunk_size=chunk,
            resume=resume, overwrite=overwrite, warm_start=warm_start, series_key=_series_of,
            progress=progress, item_timeout_s=item_timeout_s,
            config={"command": command or "xrdkit.analyse_files", "files": input_paths,
                    "phases": list(electrode_phases), "borates": list(used_borates or []),
                    "instrument": inst.name, "fingerprint": fingerprint},
        )
    finally:
        close_input_file()  # the in-process analysis's read handle: no input file stays open
    changed = [f["path"] for f in fingerprint["inputs"] if _stat_key(f["path"]) != (f["size"], f["mtime_ns"])]
    if changed:
        raise BatchError(
            f"input {changed[0]} changed while the batch ran; its results may mix two versions of "
            f"the file — rerun with --overwrite / overwrite=True ({out} kept)"
        )
    schema.annotate(out)  # units and meanings of the summary columns, for NeXus viewers
    if table is not None:
        write_table_csv(out, table, TABLE_COLUMNS, rename={"id": "scan"})
    return summary


def _check_phase_names(names: Sequence[str], cif_names: Sequence[str]) -> None:
    """Refuse, before any scan is read, a phase the library does not have and no CIF gives
    (otherwise every scan of the batch would record the same error)."""
    from xrdkit.phases import PhaseLibrary

    lib = PhaseLibrary()
    unknown = [n for n in dict.fromkeys(names) if n not in lib and n not in cif_names]
    if unknown:
        raise InputError(
            f"unknown phase{'s' if len(unknown) > 1 else ''} {', '.join(repr(n) for n in unknown)}; "
            f"library phases: {', '.join(lib.names())} (add others with cifs= / --cif FILE, or "
            "`xrdkit phases add`)", source="phases")
