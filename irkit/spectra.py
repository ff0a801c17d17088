"""The :class:`Spectrum` — one IR spectrum on an ascending wavenumber axis — its gate and readers.

Every reader returns a :class:`Spectrum` built through :func:`make_spectrum`, so every spectrum
that reaches a baseline or a fit has passed the same checks (finite values, strictly ascending
axis without duplicates, transmittance not above 100 %).

Readers
-------
- :func:`read_text` — two (or more) columns, comma / semicolon / tab / whitespace separated, with
  header lines detected and used as unit hints (``%T``, ``transmittance``, ``absorbance``).
- :func:`read_jcamp` — JCAMP-DX through the `jcamp` package (AFFN and the compressed ASDF forms
  SQZ/DIF/DUP of ``XYDATA=(X++(Y..Y))``, and ``XYPOINTS=(XY..XY)``).
- :func:`read_opus` — Bruker OPUS binary files through `brukeropus`.
- :func:`read_hdf5` — 1-D series in HDF5 / NeXus files, found by :mod:`xrdkit.hdf5` (NXdata,
  stacks, bare axis + signal groups).
- :func:`read_spectrum` — picks one of the above from the file extension / content.

Resource limits
---------------
Hostile or broken files are refused with a one-line :class:`~xrdkit.errors.InputError` naming the
file *before* anything large is allocated (a 6 kB JCAMP-DX file declaring a billion points, or
DUP-compressed runs of millions of repeats, must not take gigabytes). Each limit is a module
constant set from an environment variable when the module is imported:

=======================================  ===========  =================================
limit                                    default      environment variable
=======================================  ===========  =================================
file size (text, JCAMP-DX, OPUS)         20 MB        ``IRKIT_MAX_INPUT_BYTES``
points per spectrum (all readers; also   200,000      ``IRKIT_MAX_SPECTRUM_POINTS``
``##NPOINTS``, ``(LASTX−FIRSTX)/DELTAX``
and the running total of values
decoded from DIF/DUP-compressed data)
characters per JCAMP-DX data line        1,000        (constant :data:`MAX_JCAMP_LINE_CHARS`)
=======================================  ===========  =================================

Text files are also refused when they have more lines than points allowed plus
:data:`MAX_HEADER_LINES` (counted before parsing). HDF5 files are bounded by the limits of
:mod:`xrdkit.hdf5` (see :mod:`xrdkit.errors`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from xrdkit.errors import InputError, limit_from_env
from xrdkit.scans import as_1d_float, check_finite

__all__ = [
    "Spectrum",
    "SpectrumKind",
    "make_spectrum",
    "to_absorbance",
    "atr_penetration_depth_um",
    "atr_correct",
    "read_text",
    "read_jcamp",
    "jcamp_y_units",
    "YUnits",
    "read_opus",
    "read_hdf5",
    "list_hdf5_spectra",
    "spectrum_from_ref",
    "read_spectrum",
]

logger = logging.getLogger(__name__)

SpectrumKind = Literal["absorbance", "transmittance", "atr_absorbance"]
_KINDS = ("absorbance", "transmittance", "atr_absorbance")

#: Wavenumbers must lie in this open interval (cm⁻¹): beyond it the axis is not mid/near IR in cm⁻¹
#: (µm or nm axes and q values fall outside).
WAVENUMBER_LIMITS_CM1 = (10.0, 50_000.0)
#: Transmittance (fraction) allowed above 1 for instrument noise / reference drift: real spectra
#: overshoot by a few per mille to ~2 % (PE1800.DX reaches 1.0189). Anything higher is refused.
TRANSMITTANCE_MAX = 1.05
#: Transmittance that saturated points (T ≤ 0) of real files are raised to (absorbance 4:
#: beyond what any spectrometer measures).
SATURATED_TRANSMITTANCE = 1.0e-4
#: A transmittance array whose maximum exceeds this is taken to be in percent.
PERCENT_DETECTION_THRESHOLD = 1.5

#: Largest spectrum file read (bytes, ``IRKIT_MAX_INPUT_BYTES``): a 200,000-point text spectrum
#: is ~6 MB and real JCAMP-DX IR files are well below 1 MB; larger files are refused before reading.
MAX_INPUT_BYTES = int(limit_from_env("IRKIT_MAX_INPUT_BYTES", 20_000_000))
#: Most points one spectrum may have (``IRKIT_MAX_SPECTRUM_POINTS``): a 0.02 cm⁻¹ grid over
#: 4000 cm⁻¹ is 200,000 points, finer than any FTIR of electrolytes. Also bounds ``##NPOINTS``,
#: ``(LASTX − FIRSTX)/DELTAX`` and the values a JCAMP-DX data table decodes to (DUP runs).
MAX_SPECTRUM_POINTS = int(limit_from_env("IRKIT_MAX_SPECTRUM_POINTS", 200_000))
#: Header / comment lines a text file may have beyond one line per point.
MAX_HEADER_LINES = 10_000
#: Longest JCAMP-DX data line accepted (the standard allows 80 characters); bounds the work the
#: `jcamp` package does per line (its DUP expansion copies up to a line per repeat).
MAX_JCAMP_LINE_CHARS = 1_000
#: Characters the `jcamp` package may generate while expanding DUP repeats, in total per file
#: (its expansion copies the text since the last DIF character once per repeat; honest files
#: expand by a few characters per repeated value).
MAX_JCAMP_EXPANDED_CHARS = 16 * MAX_SPECTRUM_POINTS


def check_file_size(path: str | Path) -> int:
    """Size of ``path`` in bytes; InputError when missing, a folder, empty-named or larger than
    :data:`MAX_INPUT_BYTES` (checked before reading anything)."""
    source = str(path)
    try:
        st = Path(path).stat()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=source) from None
    if Path(path).is_dir():
        raise InputError("is a folder, not a file", source=source)
    if st.st_size > MAX_INPUT_BYTES:
        raise InputError(f"file is {st.st_size / 1e6:,.1f} MB, more than the limit of "
                         f"{MAX_INPUT_BYTES / 1e6:,.1f} MB for a spectrum (IRKIT_MAX_INPUT_BYTES)",
                         source=source)
    return int(st.st_size)


def check_n_points(n_points: float, source: str, what: str = "spectrum") -> None:
    """InputError when ``n_points`` exceeds :data:`MAX_SPECTRUM_POINTS` (call before allocating)."""
    if n_points > MAX_SPECTRUM_POINTS:
        shown = f"{n_points:,.0f}" if math.isfinite(n_points) else str(n_points)
        raise InputError(f"{what} has {shown} points, more than the limit of "
                         f"{MAX_SPECTRUM_POINTS:,} (IRKIT_MAX_SPECTRUM_POINTS)", source=source)


@dataclass(frozen=True)
class Spectrum:
    """One IR spectrum.

    Attributes
    ----------
    wavenumber_cm1 : ndarray, shape (n,)
        Strictly ascending wavenumbers in cm⁻¹ (read-only).
    values : ndarray, shape (n,)
        Absorbance (``-log10 T``), transmittance as a fraction (0–1), or ATR absorbance,
        according to ``kind`` (read-only).
    kind : {"absorbance", "transmittance", "atr_absorbance"}
        What ``values`` are.
    source : str
        Where the spectrum came from (file or ``file::/hdf5/path``).
    metadata : dict
        Anything else the reader found (title, instrument, resolution …).

    Examples
    --------
    Built by the readers and :func:`make_spectrum` (which checks the arrays), never directly:

    >>> from irkit.spectra import make_spectrum
    >>> spectrum = make_spectrum([2400, 2440, 2480, 2520, 2560], [0.02, 0.22, 0.5, 0.22, 0.02])
    >>> spectrum.n_points, spectrum.step_cm1, spectrum.covers(2450.0, 2500.0)   # –, cm⁻¹, –
    (5, 40.0, True)
    >>> spectrum.crop(2440.0, 2520.0, min_points=3).wavenumber_cm1.tolist()
    [2440.0, 2480.0, 2520.0]
    """

    wavenumber_cm1: np.ndarray
    values: np.ndarray
    kind: SpectrumKind = "absorbance"
    source: str = "<array>"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.wavenumber_cm1.size)

    @property
    def step_cm1(self) -> float:
        """Median point spacing in cm⁻¹."""
        return float(np.median(np.diff(self.wavenumber_cm1)))

    def covers(self, low_cm1: float, high_cm1: float) -> bool:
        """Whether the axis spans the whole interval ``[low_cm1, high_cm1]``."""
        return bool(self.wavenumber_cm1[0] <= low_cm1 and self.wavenumber_cm1[-1] >= high_cm1)

    def crop(self, low_cm1: float, high_cm1: float, *, min_points: int = 5) -> Spectrum:
        """Return a new spectrum restricted to ``low_cm1 <= ν <= high_cm1``.

        Raises
        ------
        InputError
            If fewer than ``min_points`` points remain.
        """
        keep = (self.wavenumber_cm1 >= low_cm1) & (self.wavenumber_cm1 <= high_cm1)
        n_keep = int(keep.sum())
        if n_keep < min_points:
            raise InputError(
                f"range {low_cm1:g}–{high_cm1:g} cm⁻¹ keeps {n_keep} points (spectrum covers "
                f"{self.wavenumber_cm1[0]:.1f}–{self.wavenumber_cm1[-1]:.1f} cm⁻¹)",
                source=self.source,
            )
        return _frozen(self.wavenumber_cm1[keep], self.values[keep], self.kind, self.source,
                       dict(self.metadata))


def _frozen(x: np.ndarray, y: np.ndarray, kind: SpectrumKind, source: str,
            metadata: dict[str, Any]) -> Spectrum:
    x = np.array(x, dtype=float, copy=True)
    y = np.array(y, dtype=float, copy=True)
    x.setflags(write=False)
    y.setflags(write=False)
    return Spectrum(x, y, kind, source, metadata)


def make_spectrum(
    wavenumber_cm1: Any,
    values: Any,
    kind: SpectrumKind = "absorbance",
    *,
    source: str = "<array>",
    metadata: Mapping[str, Any] | None = None,
    percent: bool | None = None,
    min_points: int = 5,
    clip_saturated: bool = False,
) -> Spectrum:
    """Validate arrays and return a read-only :class:`Spectrum`.

    Parameters
    ----------
    wavenumber_cm1, values : array_like, shape (n,)
        Axis in cm⁻¹ (strictly ascending, no duplicates) and ordinate values (finite).
    kind : {"absorbance", "transmittance", "atr_absorbance"}
        What ``values`` are.
    source : str
        Name used in error messages.
    metadata : mapping, optional
        Extra information (copied).
    percent : bool, optional
        For ``kind="transmittance"``: whether values are in percent. ``None`` decides from the
        data (maximum above :data:`PERCENT_DETECTION_THRESHOLD` → percent). Stored as a fraction.
    min_points : int
        Minimum number of points.
    clip_saturated : bool
        For transmittance: raise values ≤ 0 (saturated bands of real transmission spectra,
        digitising noise) to :data:`SATURATED_TRANSMITTANCE` instead of refusing them; the
        number clipped goes to ``metadata["saturated_points"]``.

    Returns
    -------
    Spectrum
        Read-only copies of the arrays; transmittance as a fraction, with
        ``metadata["transmittance_was_percent"]`` (and ``saturated_points`` when clipped).

    Raises
    ------
    InputError
        Naming ``source`` and the first problem found: unknown kind, length mismatch, too few
        points, NaN/inf, axis not strictly ascending (descending or duplicated values),
        wavenumbers outside :data:`WAVENUMBER_LIMITS_CM1`, transmittance ≤ 0 or above 100 %.

    Examples
    --------
    A B–H stretching band in absorbance on a 40 cm⁻¹ grid:

    >>> from irkit.spectra import make_spectrum
    >>> wavenumber_cm1 = [2400.0, 2440.0, 2480.0, 2520.0, 2560.0]
    >>> a = make_spectrum(wavenumber_cm1, [0.02, 0.22, 0.5, 0.22, 0.02], source="band")
    >>> a.kind, a.values.flags.writeable
    ('absorbance', False)

    Transmittance in percent is detected and stored as a fraction; a saturated point
    (T = 0) is refused unless ``clip_saturated`` raises it to T = 10⁻⁴ (absorbance 4):

    >>> t = make_spectrum(wavenumber_cm1, [95.5, 60.2, 0.0, 60.2, 95.5], "transmittance",
    ...                   clip_saturated=True)
    >>> t.values.tolist(), t.metadata["saturated_points"], t.metadata["transmittance_was_percent"]
    ([0.955, 0.602, 0.0001, 0.602, 0.955], 1, True)

    Every problem names the source and the point:

    >>> make_spectrum([2400, 2440, 2440, 2520, 2560], [0.1] * 5, source="band")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: band: duplicated wavenumber 2440 cm⁻¹ at index 2
    """
    if kind not in _KINDS:
        raise InputError(f"unknown spectrum kind {kind!r}; expected one of {_KINDS}", source=source)
    x = as_1d_float(wavenumber_cm1, "wavenumber axis", source)
    y = as_1d_float(values, f"{kind} values", source)
    if x.size != y.size:
        raise InputError(
            f"wavenumber axis has {x.size} points but {kind} values have {y.size}", source=source
        )
    if x.size < min_points:
        raise InputError(f"{x.size} data points; at least {min_points} needed", source=source)
    for what, arr in (("wavenumber axis", x), (f"{kind} values", y)):
        check_finite(arr, what, source)
    step = np.diff(x)
    if np.any(step == 0):
        i = int(np.argmax(step == 0))
        raise InputError(f"duplicated wavenumber {x[i]:g} cm⁻¹ at index {i + 1}", source=source)
    if np.all(step < 0):
        raise InputError(
            f"wavenumber axis is descending ({x[0]:g} → {x[-1]:g} cm⁻¹); give it ascending "
            "(readers of text files accept descending=True to reverse it explicitly)",
            source=source,
        )
    if np.any(step < 0):
        i = int(np.argmax(step < 0))
        raise InputError(
            f"wavenumber axis is not monotonic: {x[i]:g} followed by {x[i + 1]:g} cm⁻¹ at index "
            f"{i + 1}",
            source=source,
        )
    lo, hi = WAVENUMBER_LIMITS_CM1
    if x[0] <= lo or x[-1] >= hi:
        raise InputError(
            f"wavenumbers {x[0]:g}–{x[-1]:g} lie outside ({lo:g}, {hi:g}) cm⁻¹: is the axis in "
            "cm⁻¹?",
            source=source,
        )
    meta = dict(metadata or {})
    if kind == "transmittance":
        ymax = float(y.max())
        is_percent = ymax > PERCENT_DETECTION_THRESHOLD if percent is None else bool(percent)
        if is_percent:
            y = y / 100.0
        if y.max() > TRANSMITTANCE_MAX:
            shown = f"{100 * y.max():.4g} %"
            raise InputError(
                f"transmittance above 100 % (maximum {shown}, tolerance "
                f"{100 * TRANSMITTANCE_MAX:.0f} %); values in percent or not transmittance?",
                source=source,
            )
        if clip_saturated and y.min() <= 0:
            n_clipped = int(np.sum(y < SATURATED_TRANSMITTANCE))
            y = np.maximum(y, SATURATED_TRANSMITTANCE)
            meta["saturated_points"] = n_clipped
            logger.info("%s: %d saturated points (T ≤ 0) set to T = %g", source, n_clipped,
                        SATURATED_TRANSMITTANCE)
        if y.min() <= 0:
            raise InputError(
                f"transmittance must be > 0 to convert to absorbance (minimum {y.min():.4g} "
                f"at {x[int(np.argmin(y))]:g} cm⁻¹)",
                source=source,
            )
        meta["transmittance_was_percent"] = bool(is_percent)
    return _frozen(x, y, kind, source, meta)


def to_absorbance(spectrum: Spectrum) -> Spectrum:
    """Return the spectrum as absorbance, ``A = -log10(T)``; absorbance passes through unchanged.

    Parameters
    ----------
    spectrum : Spectrum
        Transmittance (a fraction: readers and :func:`make_spectrum` have already divided
        percent values by 100), absorbance or ATR absorbance.

    Returns
    -------
    Spectrum
        Absorbance on the same axis; a converted spectrum has
        ``metadata["converted_from"] = "transmittance"``. ATR absorbance is returned as it is
        (see :func:`atr_correct`).

    Examples
    --------
    31.6 %T is an absorbance of 0.5:

    >>> import numpy as np
    >>> from irkit.spectra import make_spectrum, to_absorbance
    >>> wavenumber_cm1 = np.array([2400.0, 2440.0, 2480.0, 2520.0, 2560.0])
    >>> t = make_spectrum(wavenumber_cm1, [95.5, 60.2, 31.6, 60.2, 95.5], "transmittance")
    >>> t.values.tolist()                       # percent detected, stored as a fraction
    [0.955, 0.602, 0.316, 0.602, 0.955]
    >>> a = to_absorbance(t)
    >>> a.kind, np.round(a.values, 2).tolist(), a.metadata["converted_from"]
    ('absorbance', [0.02, 0.22, 0.5, 0.22, 0.02], 'transmittance')
    >>> to_absorbance(a) is a
    True
    """
    if spectrum.kind != "transmittance":
        return spectrum
    absorbance = -np.log10(spectrum.values)
    meta = dict(spectrum.metadata)
    meta["converted_from"] = "transmittance"
    return _frozen(spectrum.wavenumber_cm1, absorbance, "absorbance", spectrum.source, meta)


def atr_penetration_depth_um(
    wavenumber_cm1: Any,
    *,
    n_crystal: float = 2.4,
    n_sample: float = 1.5,
    angle_deg: float = 45.0,
) -> np.ndarray:
    """Penetration depth of the evanescent wave in ATR, in µm.

    ``d_p = λ / (2π n1 sqrt(sin²θ − (n2/n1)²))`` with λ = 1/ν (Harrick, *Internal Reflection
    Spectroscopy*, Wiley 1967; e.g. diamond n1 = 2.4, sample n2 = 1.5, θ = 45°: d_p ≈ 2.0 µm at
    1000 cm⁻¹).

    Parameters
    ----------
    wavenumber_cm1 : float or array_like
        Wavenumbers, cm⁻¹.
    n_crystal, n_sample : float
        Refractive indices of the ATR crystal (diamond 2.4, Ge 4.0, ZnSe 2.4) and the sample.
    angle_deg : float
        Angle of incidence, degrees.

    Returns
    -------
    ndarray
        Penetration depth d_p in µm, the shape of ``wavenumber_cm1``.

    Raises
    ------
    InputError
        If no total internal reflection occurs (sin θ ≤ n2/n1) or an index is not positive.

    Examples
    --------
    Diamond on a sample of index 1.5 at 45°: about 2.0 µm at 1000 cm⁻¹ (λ = 10 µm), and
    inversely proportional to the wavenumber:

    >>> from irkit.spectra import atr_penetration_depth_um
    >>> atr_penetration_depth_um([1000.0, 2500.0]).round(3).tolist()     # µm
    [2.005, 0.802]
    >>> atr_penetration_depth_um(1000.0, n_crystal=1.4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: atr_correct: no total internal reflection...
    """
    if n_crystal <= 0 or n_sample <= 0:
        raise InputError(f"refractive indices must be > 0 (n_crystal={n_crystal}, "
                         f"n_sample={n_sample})", source="atr_correct")
    s2 = math.sin(math.radians(angle_deg)) ** 2 - (n_sample / n_crystal) ** 2
    if s2 <= 0:
        raise InputError(
            f"no total internal reflection: sin({angle_deg}°) ≤ n_sample/n_crystal = "
            f"{n_sample}/{n_crystal}",
            source="atr_correct",
        )
    wavelength_um = 1e4 / np.asarray(wavenumber_cm1, dtype=float)
    return wavelength_um / (2 * math.pi * n_crystal * math.sqrt(s2))


def atr_correct(
    spectrum: Spectrum,
    *,
    n_crystal: float = 2.4,
    n_sample: float = 1.5,
    angle_deg: float = 45.0,
    reference_cm1: float = 1000.0,
) -> Spectrum:
    """Correct ATR absorbance for the wavelength dependence of the penetration depth.

    Values are scaled by ``d_p(reference_cm1) / d_p(ν)`` so that they correspond to a constant
    sampling depth (the one at ``reference_cm1``); band areas at high wavenumber (B–H stretch)
    grow relative to low-wavenumber bands. Transmittance is converted to absorbance first.

    Parameters
    ----------
    n_crystal, n_sample : float
        Refractive indices of the ATR crystal (diamond 2.4, Ge 4.0, ZnSe 2.4) and the sample.
    angle_deg : float
        Angle of incidence, degrees.
    reference_cm1 : float
        Wavenumber (cm⁻¹) whose penetration depth the corrected spectrum refers to.

    Returns
    -------
    Spectrum
        Kind ``"atr_absorbance"`` on the same axis; ``metadata["atr_correction"]`` records the
        indices, the angle, the reference wavenumber and its penetration depth (µm).

    Examples
    --------
    d_p ∝ 1/ν, so a flat ATR absorbance of 0.1 becomes 0.1 · ν / 1000 cm⁻¹:

    >>> from irkit.spectra import atr_correct, make_spectrum
    >>> atr = make_spectrum([1000.0, 1500.0, 2000.0, 2500.0, 3000.0], [0.1] * 5, "atr_absorbance")
    >>> corrected = atr_correct(atr)
    >>> corrected.kind, corrected.values.round(3).tolist()
    ('atr_absorbance', [0.1, 0.15, 0.2, 0.25, 0.3])
    >>> round(corrected.metadata["atr_correction"]["penetration_depth_ref_um"], 3)   # µm
    2.005
    """
    absorbance = to_absorbance(spectrum)
    depth = atr_penetration_depth_um(absorbance.wavenumber_cm1, n_crystal=n_crystal,
                                     n_sample=n_sample, angle_deg=angle_deg)
    depth_ref = float(atr_penetration_depth_um(reference_cm1, n_crystal=n_crystal,
                                               n_sample=n_sample, angle_deg=angle_deg))
    meta = dict(absorbance.metadata)
    meta["atr_correction"] = {"n_crystal": n_crystal, "n_sample": n_sample,
                              "angle_deg": angle_deg, "reference_cm1": reference_cm1,
                              "penetration_depth_ref_um": depth_ref}
    return _frozen(absorbance.wavenumber_cm1, absorbance.values * depth_ref / depth,
                   "atr_absorbance", absorbance.source, meta)


# --------------------------------------------------------------------------- text

_SPLIT = re.compile(r"[,;\t ]+")
_UNIT_HINTS: tuple[tuple[str, SpectrumKind, bool | None], ...] = (
    ("%t", "transmittance", True),
    ("percent", "transmittance", True),
    ("transmit", "transmittance", None),
    ("absorb", "absorbance", None),
)


def _kind_from_hint(text: str) -> tuple[SpectrumKind | None, bool | None]:
    low = text.lower()
    for key, kind, percent in _UNIT_HINTS:
        if key in low:
            return kind, percent
    return None, None


def _oriented(x: np.ndarray, y: np.ndarray, descending: bool, source: str
              ) -> tuple[np.ndarray, np.ndarray]:
    if descending:
        if x.size >= 2 and not np.all(np.diff(x) < 0):
            raise InputError("descending=True but the wavenumber axis is not strictly descending",
                             source=source)
        return x[::-1], y[::-1]
    return x, y


def read_text(
    path: str | Path,
    *,
    kind: SpectrumKind | None = None,
    percent: bool | None = None,
    descending: bool = False,
    column: int = 1,
) -> Spectrum:
    """Read a column text file (CSV, TSV, semicolon or whitespace separated).

    Lines that do not parse as numbers before the first data row are header lines; they are
    kept in ``metadata["header"]`` and used as a unit hint (``%T``, ``transmittance``,
    ``absorbance``) when ``kind`` is not given. Lines starting with ``#`` are comments.

    Parameters
    ----------
    path : str or Path
        The file.
    kind : str, optional
        Override what the values are (default: from the header, else absorbance).
    percent : bool, optional
        For transmittance: values in percent (default: decided from the data).
    descending : bool
        The file's axis runs from high to low wavenumber (common for IR exports): reverse it.
        Without it a descending axis is refused, so that a wrong column order is not silent.
    column : int
        Index of the value column (the axis is column 0).

    Returns
    -------
    Spectrum
        On an ascending wavenumber axis in cm⁻¹; ``metadata`` holds ``format="text"`` and the
        header lines.

    Raises
    ------
    InputError
        Unreadable or empty file, file larger than :data:`MAX_INPUT_BYTES` or with more lines
        than :data:`MAX_SPECTRUM_POINTS` + :data:`MAX_HEADER_LINES` (both checked before
        parsing), fewer than two columns, non-numeric row inside the data, and every check of
        :func:`make_spectrum`.

    Examples
    --------
    A tab-separated file with two value columns; the header's ``absorbance`` sets the kind:

    >>> import pathlib, tempfile
    >>> from irkit.spectra import read_text
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sample.txt"
    >>> _ = path.write_text("# sample NBH-1\\nwavenumber\\tabsorbance\\tsmoothed\\n"
    ...                     "2400\\t0.02\\t0.03\\n2440\\t0.22\\t0.21\\n2480\\t0.50\\t0.48\\n"
    ...                     "2520\\t0.22\\t0.21\\n2560\\t0.02\\t0.03\\n")
    >>> spectrum = read_text(path)
    >>> spectrum.kind, spectrum.wavenumber_cm1.tolist(), spectrum.values.tolist()
    ('absorbance', [2400.0, 2440.0, 2480.0, 2520.0, 2560.0], [0.02, 0.22, 0.5, 0.22, 0.02])
    >>> spectrum.metadata["header"]
    ('sample NBH-1', 'wavenumber\\tabsorbance\\tsmoothed')
    >>> read_text(path, column=2).values.tolist()
    [0.03, 0.21, 0.48, 0.21, 0.03]
    """
    source = str(path)
    check_file_size(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=source) from None
    n_lines = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    if n_lines > MAX_SPECTRUM_POINTS + MAX_HEADER_LINES:
        raise InputError(f"{n_lines:,} lines: more points than the limit of "
                         f"{MAX_SPECTRUM_POINTS:,} (IRKIT_MAX_SPECTRUM_POINTS); bin or crop the "
                         "spectrum first", source=source)
    text = raw.decode("utf-8", errors="replace")
    del raw
    header: list[str] = []
    rows: list[list[float]] = []
    # split on the line ends counted above only (str.splitlines also splits on form feeds …)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if line and not rows:
                header.append(line.lstrip("# "))
            continue
        # only the columns used are split off and converted: a megabyte-long line costs no
        # more than a short one
        fields = [f for f in _SPLIT.split(line, maxsplit=column + 1) if f][: column + 1]
        try:
            numbers = [float(f) for f in fields]
        except ValueError:
            if rows:
                raise InputError(f"line {lineno} is not numeric: {line[:60]!r}",
                                 source=source) from None
            header.append(line)
            continue
        if len(numbers) <= column:
            raise InputError(
                f"line {lineno} has {len(numbers)} column(s); need an axis column and value "
                f"column {column}",
                source=source,
            )
        rows.append(numbers[: column + 1])
        if len(rows) > MAX_SPECTRUM_POINTS:
            check_n_points(len(rows), source, f"file (line {lineno})")
    if not rows:
        raise InputError("file holds no numeric data rows (empty file?)", source=source)
    data = np.asarray(rows, dtype=float)
    x, y = _oriented(data[:, 0], data[:, column], descending, source)
    hint_kind, hint_percent = _kind_from_hint(" ".join(header))
    final_kind = kind or hint_kind or "absorbance"
    final_percent = percent if percent is not None else hint_percent
    return make_spectrum(x, y, final_kind, source=source, percent=final_percent,
                         metadata={"format": "text", "header": tuple(header)})


# --------------------------------------------------------------------------- JCAMP-DX

#: Data-table forms :func:`read_jcamp` accepts (spaces removed, upper case).
JCAMP_SUPPORTED_TABLES = ("(X++(Y..Y))", "(XY..XY)")
#: JCAMP ##XUNITS read as wavenumbers, and wavelength units with their factor to cm⁻¹
#: (ν = factor / λ).
JCAMP_WAVENUMBER_UNITS = ("1/CM", "CM-1", "CM^-1", "WAVENUMBERS", "WAVENUMBER", "1/CENTIMETERS")
JCAMP_WAVELENGTH_UNITS = {"MICROMETERS": 1.0e4, "MICRONS": 1.0e4, "UM": 1.0e4, "µM": 1.0e4,
                          "NANOMETERS": 1.0e7, "NM": 1.0e7}
#: A wavelength axis is resampled onto a uniform wavenumber grid with the median spacing of the
#: converted points, kept within these bounds (cm⁻¹).
RESAMPLE_STEP_BOUNDS_CM1 = (0.5, 4.0)
#: Natural-log absorption coefficients are divided by this to give decadic ones.
LN10 = math.log(10.0)


@dataclass(frozen=True)
class YUnits:
    """What a file's ordinate unit means for irkit.

    Attributes
    ----------
    kind : {"absorbance", "transmittance"}
        How the values are stored in the :class:`Spectrum`.
    percent : bool or None
        Transmittance in percent (None: decide from the data).
    factor : float
        Values are multiplied by this on reading (ln → log10 for natural-log coefficients).
    converted_from : str
        Empty when the values are used as they are; otherwise what they were (reported to the
        user: absorbance-like units are *proportional* to absorbance, not equal to it).

    Examples
    --------
    Returned by :func:`jcamp_y_units` (which shows more):

    >>> from irkit.spectra import YUnits
    >>> YUnits("transmittance", True, 1.0, "")
    YUnits(kind='transmittance', percent=True, factor=1.0, converted_from='')
    """

    kind: SpectrumKind
    percent: bool | None
    factor: float
    converted_from: str


def jcamp_y_units(yunits: str) -> YUnits | None:
    """Classify a JCAMP ``##YUNITS`` value (None when it is not understood).

    Accepted: transmittance (fraction or %T), absorbance (``ABSORBANCE``, ``A``), log(1/T)
    (= absorbance), log(1/R) (pseudo-absorbance of reflectance spectra), and decadic or natural
    absorption coefficients / absorptivities such as NIST's quantitative
    ``(micromol/mol)-1m-1 (base 10)`` (absorbance per unit amount fraction and path length:
    proportional to absorbance, band shapes and ratios unchanged).

    Parameters
    ----------
    yunits : str
        The value of the file's ``##YUNITS`` label (case and spaces do not matter).

    Returns
    -------
    YUnits or None
        How to store the values (kind, percent, factor) and what they were converted from;
        None for a unit irkit does not read (counts, reflectance in %, …).

    Examples
    --------
    >>> from irkit.spectra import jcamp_y_units
    >>> jcamp_y_units("%T")
    YUnits(kind='transmittance', percent=True, factor=1.0, converted_from='')
    >>> coefficient = jcamp_y_units("(micromol/mol)-1m-1 (base 10)")
    >>> coefficient.kind, coefficient.factor, coefficient.converted_from.split(":")[0]
    ('absorbance', 1.0, 'decadic absorption coefficient ((micromol/mol)-1m-1 (base 10))')
    >>> round(jcamp_y_units("absorption coefficient (base e)").factor, 4)   # 1 / ln 10
    0.4343
    >>> jcamp_y_units("counts") is None
    True
    """
    raw = " ".join(str(yunits).split())
    key = raw.replace(" ", "").upper()
    if not key:
        return None
    if "TRANSMITTANCE" in key or key in ("%T", "T") or key.startswith("%T"):
        # "%" or PERCENT says percent; plain TRANSMITTANCE is decided from the data (files
        # labelled TRANSMITTANCE hold 0–100 as often as 0–1)
        percent = True if ("%" in key or "PERCENT" in key) else None
        return YUnits("transmittance", percent, 1.0, "")
    if key in ("ABSORBANCE", "A", "ABS", "ABSORBANCEUNITS", "AU") or key.startswith("ABSORBANCE"):
        return YUnits("absorbance", None, 1.0, "")
    if key in ("LOG(1/T)", "LOG10(1/T)", "-LOG(T)", "-LOG10(T)"):
        return YUnits("absorbance", None, 1.0, f"log(1/T) ({raw}): equal to absorbance")
    if key in ("LOG(1/R)", "LOG10(1/R)", "-LOG(R)"):
        return YUnits("absorbance", None, 1.0,
                      f"log(1/R) ({raw}): pseudo-absorbance of a reflectance spectrum")
    coefficient_words = ("ABSORPTIONCOEFFICIENT", "ABSORPTIVITY", "EXTINCTION", "MOL-1",
                         "/MOL", "MOL)-1", "M-1", "CM-1", "(BASE10)", "(BASEE)")
    if any(w in key for w in coefficient_words):
        if "(BASEE)" in key or "NATURAL" in key:
            return YUnits("absorbance", None, 1.0 / LN10,
                          f"natural absorption coefficient ({raw}), divided by ln 10: "
                          "proportional to absorbance")
        return YUnits("absorbance", None, 1.0,
                      f"decadic absorption coefficient ({raw}): absorbance per unit amount and "
                      "path, proportional to absorbance")
    return None


def _wavelength_to_wavenumber(x: np.ndarray, y: np.ndarray, factor: float, source: str
                              ) -> tuple[np.ndarray, np.ndarray, str]:
    """A wavelength axis as wavenumbers, linearly resampled onto a uniform grid (a uniform
    wavelength step is a very non-uniform wavenumber step: ×100 between 2.5 and 25 µm)."""
    if np.any(x <= 0):
        raise InputError("wavelength axis has values ≤ 0", source=source)
    nu = factor / x
    order = np.argsort(nu)
    nu, y = nu[order], y[order]
    step = float(np.clip(np.median(np.diff(nu)), *RESAMPLE_STEP_BOUNDS_CM1))
    grid = np.arange(np.ceil(nu[0] / step) * step, nu[-1] + 1e-9, step)
    return grid, np.interp(grid, nu, y), (
        f"wavelength axis converted (ν = {factor:g}/λ) and resampled linearly to {step:g} cm⁻¹")


#: ASDF characters (JCAMP-DX 4.24 §5): SQZ and DIF start a value, DUP repeats the previous one.
_JCAMP_DUP = {"S": 1, "T": 2, "U": 3, "V": 4, "W": 5, "X": 6, "Y": 7, "Z": 8, "s": 9}
#: One token of a data line: an AFFN/PAC number (with exponent), a SQZ or DIF character with its
#: digits, or a DUP character with its digits (the repeat count).
_JCAMP_TOKEN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?"
                          r"|[@A-Ia-i%J-Rj-r][\d.]*|(?P<dup>[S-Zs])(?P<count>\d*)")
_JCAMP_DIF_OR_DUP = re.compile(r"[%J-Rj-rS-Zs]")
#: JCAMP-DX labels whose value is a point count or the x spacing, bounded before decoding.
_JCAMP_LABEL = re.compile(r"^\s*##\s*([^=]*?)\s*=(.*)$")


def _jcamp_number(value: str, label: str, source: str) -> float:
    try:
        number = float(value.strip().replace(",", ".", 1))
    except ValueError:
        raise InputError(f"##{label}={value.strip()[:40]!r} is not a number",
                         source=source) from None
    if not math.isfinite(number):
        raise InputError(f"##{label}={value.strip()[:40]} is not finite", source=source)
    return number


def _check_jcamp_bounds(text: str, source: str) -> None:
    """Refuse, before the `jcamp` package decodes anything, a JCAMP-DX text that would expand
    beyond :data:`MAX_SPECTRUM_POINTS` values.

    Checks every block's ``##NPOINTS`` and ``(LASTX − FIRSTX)/DELTAX + 1``, each data line's
    length, and the running total of values the data tables decode to (AFFN/SQZ/DIF values plus
    DUP repeat counts, counted as the standard defines them) — stopping at the first line that
    crosses the limit. Also bounds the characters `jcamp` itself generates expanding DUP
    repeats (it copies the text since the last DIF character once per repeat).
    """
    header: dict[str, str] = {}
    in_table: str | None = None
    n_values = 0  # running total over all data tables of the file
    n_data_lines = 0
    expanded_chars = 0

    def check_block() -> None:
        npoints = header.get("NPOINTS")
        if npoints is not None:
            n = _jcamp_number(npoints, "NPOINTS", source)
            if n < 1 or n != int(n):
                raise InputError(f"##NPOINTS={npoints.strip()[:40]} is not a positive integer",
                                 source=source)
            check_n_points(n, source, f"##NPOINTS={n:,.0f}: the spectrum")
        if "DELTAX" in header and "FIRSTX" in header and "LASTX" in header:
            delta = _jcamp_number(header["DELTAX"], "DELTAX", source)
            span = abs(_jcamp_number(header["LASTX"], "LASTX", source)
                       - _jcamp_number(header["FIRSTX"], "FIRSTX", source))
            if delta == 0:
                raise InputError("##DELTAX=0: the x spacing must not be zero", source=source)
            check_n_points(span / abs(delta) + 1, source,
                           f"(LASTX − FIRSTX)/DELTAX = {span:g}/{abs(delta):g}: the spectrum")

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        match = _JCAMP_LABEL.match(line)
        if match:
            label = re.sub(r"[\s_/-]", "", match.group(1)).upper()
            value = match.group(2)
            if label in ("XYDATA", "XYPOINTS", "PEAKTABLE"):
                check_block()
                in_table = "".join(value.split()).upper()
            elif label in ("END", "TITLE"):
                in_table = None
                if label == "TITLE":
                    header = {}
            else:
                in_table = None if label else in_table
                if label in ("NPOINTS", "FIRSTX", "LASTX", "DELTAX"):
                    header[label] = value
            continue
        if in_table is None or not line.strip() or line.startswith("$$"):
            continue
        if len(line) > MAX_JCAMP_LINE_CHARS:
            raise InputError(f"JCAMP-DX data line of {len(line):,} characters (limit "
                             f"{MAX_JCAMP_LINE_CHARS:,}; the standard allows 80)", source=source)
        n_data_lines += 1
        in_line = 0
        for token in _JCAMP_TOKEN.finditer(line):
            if token.group("dup"):
                digits = str(_JCAMP_DUP[token.group("dup")]) + token.group("count")
                # a DUP token of n repeats the previous value n − 1 more times
                in_line += int(digits[:12]) - 1
            else:
                in_line += 1
            # (X++(Y..Y)) lines add an X value and (DIF) a Y-check; (XY..XY) tables hold pairs
            paired = in_table.startswith("(XY")
            allowed = 2 * MAX_SPECTRUM_POINTS if paired else MAX_SPECTRUM_POINTS + 2 * n_data_lines
            if n_values + in_line > allowed:
                raise InputError(
                    f"JCAMP-DX data decode to more than {MAX_SPECTRUM_POINTS:,} values (limit "
                    "IRKIT_MAX_SPECTRUM_POINTS; DUP repeat counts included)", source=source)
        n_values += in_line
        if any(c in _JCAMP_DUP for c in line):
            last_dif = None
            for char in _JCAMP_DIF_OR_DUP.finditer(line):
                if char.group() in _JCAMP_DUP:
                    if last_dif is not None:
                        expanded_chars += (char.start() - last_dif) * (_JCAMP_DUP[char.group()] - 1)
                else:
                    last_dif = char.start()
            if expanded_chars > MAX_JCAMP_EXPANDED_CHARS:
                raise InputError("JCAMP-DX DUP compression expands beyond "
                                 f"{MAX_JCAMP_EXPANDED_CHARS:,} characters (malformed DUP runs)",
                                 source=source)
    check_block()


def read_jcamp(path: str | Path) -> Spectrum:
    """Read a JCAMP-DX infrared spectrum with the `jcamp` package.

    Accepts ``##XYDATA=(X++(Y..Y))`` in AFFN or the compressed ASDF forms (SQZ, DIF, DUP) and
    ``##XYPOINTS=(XY..XY)``; ``##XUNITS`` 1/CM, or MICROMETERS / NANOMETERS (converted to
    wavenumbers and resampled onto a uniform grid, ``metadata["resampled"]``); ``##YUNITS`` transmittance,
    absorbance or an absorbance-like unit (log(1/T), log(1/R), decadic or natural absorption
    coefficient; see :func:`jcamp_y_units`). Absorbance-like values are read as absorbance and
    ``metadata["converted_from"]`` says what they were. The axis is reversed to ascending when
    the file runs 4000 → 400 cm⁻¹.
    Failed X/Y checksum lines reported by `jcamp` are turned into an error.

    Before decoding, the file size (:data:`MAX_INPUT_BYTES`), ``##NPOINTS``,
    ``(LASTX − FIRSTX)/DELTAX`` and the running total of values the data table expands to
    (DUP repeats included) are bounded by :data:`MAX_SPECTRUM_POINTS`, so a small hostile file
    cannot allocate gigabytes.

    Parameters
    ----------
    path : str or Path
        The JCAMP-DX file (``.dx``, ``.jdx`` …).

    Returns
    -------
    Spectrum
        On an ascending wavenumber axis in cm⁻¹ (transmittance as a fraction, saturated
        points clipped, see :func:`make_spectrum`); ``metadata`` holds ``format="jcamp-dx"``,
        the title, data type, origin, date, resolution and the ``##YUNITS`` as found.

    Raises
    ------
    InputError
        Unreadable file, file or declared/decoded point count above the limits, no data table,
        an unsupported variant (NTUPLES, (R..R), (XYW..XYW), link blocks …), units other than
        1/CM, checksum failures, or any gate failure.

    Examples
    --------
    A minimal file in %T (YFACTOR 0.1), running 2560 → 2400 cm⁻¹:

    >>> import pathlib, tempfile
    >>> from irkit.spectra import read_jcamp
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sample.dx"
    >>> _ = path.write_text("\\n".join([
    ...     "##TITLE=B-H stretch", "##JCAMP-DX=4.24", "##DATA TYPE=INFRARED SPECTRUM",
    ...     "##XUNITS=1/CM", "##YUNITS=TRANSMITTANCE", "##XFACTOR=1.0", "##YFACTOR=0.1",
    ...     "##FIRSTX=2560", "##LASTX=2400", "##DELTAX=-40", "##NPOINTS=5",
    ...     "##XYDATA=(X++(Y..Y))", "2560 955 602 316 602 955", "##END="]) + "\\n")
    >>> spectrum = read_jcamp(path)
    >>> spectrum.kind, spectrum.wavenumber_cm1.tolist(), spectrum.values.tolist()
    ('transmittance', [2400.0, 2440.0, 2480.0, 2520.0, 2560.0], [0.955, 0.602, 0.316, 0.602, 0.955])
    >>> spectrum.metadata["title"], spectrum.metadata["transmittance_was_percent"]
    ('B-H stretch', True)
    """
    import jcamp

    source = str(path)
    check_file_size(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=source) from None
    if not raw.strip():
        raise InputError("file is empty", source=source)
    if not raw.lstrip().startswith(b"##"):
        raise InputError("not a JCAMP-DX file (does not start with a ##LABEL= line)",
                         source=source)
    _check_jcamp_bounds(raw.decode("utf-8", "ignore"), source)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):  # jcamp prints its checksum failures
            d = jcamp.read(io.BytesIO(raw))
    except Exception as exc:  # jcamp raises bare Exception / ValueError on bad data
        raise InputError(f"JCAMP-DX data could not be parsed ({exc})", source=source) from None
    complaints = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
    table_key = "xydata" if "xydata" in d else "xypoints" if "xypoints" in d else None
    if "children" in d or table_key is None:
        found = d.get("data type", "?")
        variant = "NTUPLES" if any(k.startswith("ntuples") for k in d) else f"data type {found!r}"
        raise InputError(
            f"unsupported JCAMP-DX variant ({variant}): need ##XYDATA=(X++(Y..Y)) or "
            "##XYPOINTS=(XY..XY)",
            source=source,
        )
    table = str(d[table_key]).replace(" ", "").upper()
    if table not in JCAMP_SUPPORTED_TABLES:
        raise InputError(
            f"unsupported JCAMP-DX data table ##{table_key.upper()}={d[table_key]}; "
            f"supported: {', '.join(JCAMP_SUPPORTED_TABLES)}",
            source=source,
        )
    if complaints:
        raise InputError(f"JCAMP-DX checksum failure: {complaints[0]}", source=source)
    xunits = str(d.get("xunits", "1/CM")).replace(" ", "").upper()
    wavelength_factor = JCAMP_WAVELENGTH_UNITS.get(xunits)
    if xunits not in JCAMP_WAVENUMBER_UNITS and wavelength_factor is None:
        raise InputError(f"##XUNITS={d.get('xunits')} not supported; need 1/CM, MICROMETERS "
                         "or NANOMETERS", source=source)
    units = jcamp_y_units(str(d.get("yunits", "")))
    if units is None:
        raise InputError(f"##YUNITS={d.get('yunits')!r} not supported; need TRANSMITTANCE, "
                         "ABSORBANCE, log(1/T) or an absorption coefficient", source=source)
    x = np.asarray(d["x"], dtype=float)
    y = np.asarray(d["y"], dtype=float) * units.factor
    npoints = d.get("npoints")
    if isinstance(npoints, int | float) and y.size != int(npoints):
        raise InputError(f"##NPOINTS={int(npoints)} but {y.size} values were decoded",
                         source=source)
    resampled = None
    if wavelength_factor is not None:
        x, y, resampled = _wavelength_to_wavenumber(x, y, wavelength_factor, source)
    if x.size >= 2 and x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    meta = {k: d[k] for k in ("title", "data type", "origin", "date", "resolution",
                              "spectrometer/data system", "jcamp-dx") if k in d}
    meta["format"] = "jcamp-dx"
    if resampled:
        meta["x_units"] = str(d.get("xunits"))
        meta["resampled"] = resampled
    meta["y_units"] = str(d.get("yunits", ""))
    if units.converted_from:
        meta["converted_from"] = units.converted_from
        logger.info("%s: %s read as absorbance", source, units.converted_from)
    return make_spectrum(x, y, units.kind, source=source, percent=units.percent, metadata=meta,
                         clip_saturated=True)


# --------------------------------------------------------------------------- OPUS

#: OPUS data blocks tried in order, with what they hold.
OPUS_BLOCKS: tuple[tuple[str, SpectrumKind], ...] = (("a", "absorbance"), ("t", "transmittance"))


def read_opus(path: str | Path) -> Spectrum:
    """Read a Bruker OPUS file with `brukeropus` (absorbance block ``a``, else transmittance ``t``).

    Parameters
    ----------
    path : str or Path
        The OPUS file (numeric extensions such as ``.0``).

    Returns
    -------
    Spectrum
        On an ascending wavenumber axis in cm⁻¹; ``metadata`` holds ``format="opus"``, the
        block read (``a`` or ``t``) and its label.

    Raises
    ------
    InputError
        Not an OPUS file, no absorbance/transmittance block in it, or `brukeropus` not
        installed (``pip install closokit[opus]``).

    Examples
    --------
    OPUS files are binary instrument files; the repository holds none, so this line does not
    run (``sample.0`` stands for your file):

    >>> from irkit.spectra import read_opus
    >>> read_opus("sample.0").metadata["block"]  # doctest: +SKIP
    'a'

    Anything else is refused:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sample.0"
    >>> _ = path.write_text("2400,0.02\\n2440,0.22\\n")
    >>> read_opus(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...not a Bruker OPUS file (no valid OPUS header)
    """
    try:
        from brukeropus import read_opus as _read_opus
    except ImportError:  # pragma: no cover - optional dependency
        raise InputError("reading OPUS files needs the optional package brukeropus "
                         "(pip install closokit[opus])", source=str(path)) from None
    source = str(path)
    if not Path(path).is_file():
        raise InputError("file not found", source=source)
    check_file_size(path)
    opus = _read_opus(str(path))
    if not opus:
        raise InputError("not a Bruker OPUS file (no valid OPUS header)", source=source)
    for key, kind in OPUS_BLOCKS:
        if key in opus.data_keys:
            block = getattr(opus, key)
            x = np.asarray(block.x, dtype=float)
            y = np.asarray(block.y, dtype=float)
            if x.size >= 2 and x[0] > x[-1]:
                x, y = x[::-1], y[::-1]
            meta = {"format": "opus", "block": key, "label": str(getattr(block, "label", ""))}
            return make_spectrum(x, y, kind, source=source, metadata=meta)
    raise InputError(
        f"OPUS file has no absorbance or transmittance block (blocks: {list(opus.data_keys)})",
        source=source,
    )


# --------------------------------------------------------------------------- HDF5

_HDF5_KINDS: tuple[tuple[str, SpectrumKind], ...] = (
    ("atr", "atr_absorbance"), ("transmittance", "transmittance"), ("absorbance", "absorbance"))


def list_hdf5_spectra(path: str | Path) -> list[Any]:
    """Every 1-D series in an HDF5 / NeXus file (:func:`xrdkit.hdf5.find_1d_series`).

    Parameters
    ----------
    path : str or Path
        The HDF5 / NeXus file.

    Returns
    -------
    list of SeriesRef
        Picklable references (file, path, index in a stack, layout, axis units …; batch
        workers receive these, never open handles), in file order.

    Raises
    ------
    InputError
        Not an HDF5 file, or no 1-D series in it.

    Examples
    --------
    A NeXus stack of two constructed spectra (2000–3000 cm⁻¹):

    >>> import pathlib, tempfile
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> stack = [synthesize(seed, b10_b12_ratio=ratio, low_cm1=2000.0, high_cm1=3000.0)
    ...          for seed, ratio in ((0, 0.5), (1, 2.0))]
    >>> path = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "stack.h5", stack)
    >>> from irkit.spectra import list_hdf5_spectra
    >>> refs = list_hdf5_spectra(path)
    >>> [(ref.path, ref.index, ref.layout, ref.axis_units) for ref in refs]
    [('/entry/data', 0, 'nexus-stack', '1/cm'), ('/entry/data', 1, 'nexus-stack', '1/cm')]
    """
    from xrdkit.hdf5 import find_1d_series

    return find_1d_series(path)


def spectrum_from_ref(ref: Any, *, kind: SpectrumKind | None = None) -> Spectrum:
    """Read the spectrum a ``SeriesRef`` points at (axis must be in cm⁻¹ or unit-less).

    The kind comes from ``kind``, else the signal dataset's name (``absorbance``,
    ``transmittance``, ``atr…``), else absorbance. A descending axis is reversed (the file
    states it explicitly as an axis dataset).

    Parameters
    ----------
    ref : SeriesRef
        One entry of :func:`list_hdf5_spectra`.
    kind : str, optional
        Override what the values are.

    Returns
    -------
    Spectrum
        On an ascending wavenumber axis in cm⁻¹, ``source`` = ``FILE::/path[index]``;
        ``metadata`` holds ``format="hdf5"``, the layout and the series' metadata.

    Raises
    ------
    InputError
        An axis unit other than cm⁻¹ (an XRD scan in degrees …), and every check of
        :func:`make_spectrum`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> stack = [synthesize(seed, b10_b12_ratio=ratio, low_cm1=2000.0, high_cm1=3000.0)
    ...          for seed, ratio in ((0, 0.5), (1, 2.0))]
    >>> path = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "stack.h5", stack)
    >>> from irkit.spectra import list_hdf5_spectra, spectrum_from_ref
    >>> second = spectrum_from_ref(list_hdf5_spectra(path)[1])
    >>> second.kind, second.n_points, second.source.endswith("stack.h5::/entry/data[1]")
    ('absorbance', 1001, True)
    >>> bool((second.values == stack[1].spectrum.values).all())
    True

    A 2θ scan is not a spectrum:

    >>> from xrdkit.data import example_file
    >>> spectrum_from_ref(list_hdf5_spectra(example_file("electrodes.h5"))[0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...axis unit 'deg' is not a wavenumber (need cm⁻¹)
    """
    from xrdkit.hdf5 import read_series

    series = read_series(ref)
    if series.axis_units not in (None, "1/cm"):
        raise InputError(f"axis unit {series.axis_units!r} is not a wavenumber (need cm⁻¹)",
                         source=series.source)
    name = ref.signal_path.rsplit("/", 1)[-1].lower()
    hint = next((k for key, k in _HDF5_KINDS if key in name), None)
    x, y = series.axis, series.signal
    if x.size >= 2 and x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    meta = {"format": "hdf5", "layout": ref.layout, **dict(ref.metadata)}
    return make_spectrum(x, y, kind or hint or "absorbance", source=series.source, metadata=meta)


def read_hdf5(path: str | Path, index: int = 0, *, kind: SpectrumKind | None = None) -> Spectrum:
    """Read one spectrum from an HDF5 / NeXus file (any layout :mod:`xrdkit.hdf5` recognises:
    NeXus NXdata, stacks of spectra, bare axis + signal groups).

    Parameters
    ----------
    path : str or Path
        The HDF5 / NeXus file.
    index : int
        Which series (in :func:`list_hdf5_spectra` order; negative counts from the end).
    kind : str, optional
        Override what the values are.

    Returns
    -------
    Spectrum
        As :func:`spectrum_from_ref`.

    Raises
    ------
    InputError
        Not HDF5, no 1-D series, index out of range, axis not in cm⁻¹, any gate failure.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> stack = [synthesize(seed, b10_b12_ratio=ratio, low_cm1=2000.0, high_cm1=3000.0)
    ...          for seed, ratio in ((0, 0.5), (1, 2.0))]
    >>> path = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "stack.h5", stack)
    >>> from irkit.spectra import read_hdf5
    >>> last = read_hdf5(path, -1)
    >>> last.kind, float(last.wavenumber_cm1[0]), float(last.wavenumber_cm1[-1])   # cm⁻¹
    ('absorbance', 2000.0, 3000.0)
    >>> read_hdf5(path, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...series index 2 out of range (file has 2)
    """
    refs = list_hdf5_spectra(path)
    if not -len(refs) <= index < len(refs):
        raise InputError(f"series index {index} out of range (file has {len(refs)})",
                         source=str(path))
    return spectrum_from_ref(refs[index], kind=kind)


# --------------------------------------------------------------------------- dispatch

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_JCAMP_SUFFIXES = (".dx", ".jdx", ".jcm", ".jcamp")
_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")


def read_spectrum(path: str | Path, **kw: Any) -> Spectrum:
    """Read a spectrum, choosing the reader from the extension and the first bytes.

    Keyword arguments go to the chosen reader. OPUS files (numeric extensions such as
    ``.0``) are recognised by `brukeropus`.

    Parameters
    ----------
    path : str or Path
        HDF5 / NeXus (magic bytes or ``.h5``, ``.hdf5``, ``.hdf``, ``.nxs``: :func:`read_hdf5`),
        JCAMP-DX (``.dx``, ``.jdx``, ``.jcm``, ``.jcamp`` or a first line starting ``##``:
        :func:`read_jcamp`), Bruker OPUS (numeric suffix: :func:`read_opus`) or column text
        (``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.xy``, ``.prn`` or none: :func:`read_text`).
    **kw
        For text: ``kind``, ``percent``, ``descending``, ``column`` (:func:`read_text`); for
        HDF5: ``index``, ``kind`` (:func:`read_hdf5`).

    Returns
    -------
    Spectrum
        On a strictly ascending wavenumber axis in cm⁻¹; transmittance as a fraction.

    Raises
    ------
    InputError
        Missing file, a folder, an unknown file type, and every error of the chosen reader
        (naming the file).

    Examples
    --------
    The bundled methanol template (a real gas-phase reference, baseline removed and normalised,
    see ``reference_data/ir_templates/README.md``) is a CSV with an absorbance header:

    >>> from xrdkit.data import reference_data_dir
    >>> from irkit.spectra import read_spectrum
    >>> methanol = read_spectrum(reference_data_dir() / "ir_templates" / "methanol.csv")
    >>> methanol.kind, methanol.n_points, methanol.step_cm1
    ('absorbance', 3343, 1.0)
    >>> float(methanol.wavenumber_cm1[0]), float(methanol.wavenumber_cm1[-1])      # cm⁻¹
    (464.0, 3806.0)

    A spectrometer's %T export, high wavenumbers first (``descending=True`` says so; without it
    the reversed axis is refused):

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sample.csv"
    >>> _ = path.write_text("wavenumber (cm-1),%T\\n2560,95.5\\n2520,60.2\\n2480,31.6\\n"
    ...                     "2440,60.2\\n2400,95.5\\n")
    >>> sample = read_spectrum(path, descending=True)
    >>> sample.kind, sample.wavenumber_cm1.tolist(), float(sample.values[2])
    ('transmittance', [2400.0, 2440.0, 2480.0, 2520.0, 2560.0], 0.316)
    >>> read_spectrum(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...wavenumber axis is descending (2560 → 2400 cm⁻¹)...
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=str(path))
    if not p.is_file():
        raise InputError("not a regular file", source=str(path))
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=str(path)) \
            from None
    suffix = p.suffix.lower()
    if head.startswith(_HDF5_MAGIC) or suffix in _HDF5_SUFFIXES:
        return read_hdf5(p, **kw)
    if suffix in _JCAMP_SUFFIXES or head.lstrip().startswith(b"##"):
        return read_jcamp(p)
    if suffix[1:].isdigit():
        return read_opus(p)
    if suffix in (".csv", ".tsv", ".txt", ".dat", ".xy", ".prn", ""):
        return read_text(p, **kw)
    raise InputError(f"unknown spectrum file type {suffix!r} (expected text, JCAMP-DX, OPUS, "
                     "HDF5)", source=str(path))
