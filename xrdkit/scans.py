"""The :class:`Scan` — one 1-D powder pattern with explicit units — and its validating gate.

Readers for the file formats live in :mod:`xrdkit.readers` (text, .xrdml, .rasx,
Bruker .raw) and :mod:`xrdkit.hdf5` (NeXus, stacks, pyFAI, bare groups); all of
them return :class:`Scan` objects built through :func:`make_scan`, so every
scan that reaches a model has passed the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xrdkit.errors import InputError, limit_from_env

__all__ = ["Scan", "make_scan", "as_1d_float", "check_finite", "check_n_points", "MAX_SCAN_POINTS",
           "MAX_INTENSITY"]

#: Two-theta values must lie strictly inside this open interval (degrees).
TWO_THETA_LIMITS_DEG = (0.0, 180.0)


#: Most points one scan may have (set ``XRDKIT_MAX_SCAN_POINTS`` to change it). A 0.001° step
#: over 5–155° is 150,000 points; readers refuse larger scans before reading their data, so a
#: file declaring millions of points cannot exhaust memory or keep a fit busy for hours.
MAX_SCAN_POINTS = int(limit_from_env("XRDKIT_MAX_SCAN_POINTS", 200_000))
#: Largest intensity accepted (counts or counts-like; ``XRDKIT_MAX_INTENSITY``). Detectors
#: count far below 1e15 per step; larger values (1e300 …) overflow the fit's sums of squares.
MAX_INTENSITY = limit_from_env("XRDKIT_MAX_INTENSITY", 1e15)
#: Smallest σ accepted: fit weights are 1/σ², which must stay finite.
MIN_SIGMA = 1e-30


def check_n_points(n_points: int, source: str, what: str = "scan") -> None:
    """InputError when a scan declares more than :data:`MAX_SCAN_POINTS` points (call it
    before reading the data).

    Parameters
    ----------
    n_points : int
        The number of points the file declares.
    source : str
        Named in the error (file, ``file::/path`` …).
    what : str
        What has the points (``"scan"``, ``"range at offset 61"`` …).

    Raises
    ------
    InputError
        ``n_points`` is above the limit (``XRDKIT_MAX_SCAN_POINTS``).

    Examples
    --------
    >>> from xrdkit.scans import MAX_SCAN_POINTS, check_n_points
    >>> check_n_points(4000, "scan.xy")                      # silent: within the limit
    >>> check_n_points(MAX_SCAN_POINTS + 1, "huge.xy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: huge.xy: scan has ... points, more than the limit of ...
    """
    if n_points > MAX_SCAN_POINTS:
        raise InputError(
            f"{what} has {n_points:,} points, more than the limit of {MAX_SCAN_POINTS:,} "
            "(XRDKIT_MAX_SCAN_POINTS); bin or crop it first",
            source=source,
        )


@dataclass(frozen=True)
class Scan:
    """One powder pattern on a 2θ axis.

    Attributes
    ----------
    two_theta_deg : ndarray, shape (n,)
        Strictly increasing scattering angles in degrees.
    counts : ndarray, shape (n,)
        Intensities (counts or counts-like), non-negative and finite.
    sigma : ndarray, shape (n,)
        1σ uncertainty of ``counts`` (Poisson ``sqrt(max(counts, 1))`` unless the file gave one).
    wavelength_angstrom : float or None
        Primary wavelength if the file stated one.
    source : str
        Where the scan came from (``file`` or ``file::/hdf5/path``).
    metadata : dict
        Anything else the reader found (temperature, time, instrument …).

    Examples
    --------
    Built by the readers and :func:`make_scan` (which checks the arrays):

    >>> from xrdkit.scans import make_scan
    >>> scan = make_scan([10.0, 10.02, 10.04, 10.06], [120, 131, 125, 118], wavelength_angstrom=1.5406)
    >>> scan.n_points, scan.crop(10.01, 10.05).two_theta_deg.tolist()        # –, degrees 2θ
    (4, [10.02, 10.04])
    """

    two_theta_deg: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray
    wavelength_angstrom: float | None = None
    source: str = "<array>"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.two_theta_deg.size)

    def crop(self, min_deg: float, max_deg: float) -> Scan:
        """Return a new scan restricted to ``min_deg <= 2θ <= max_deg``."""
        keep = (self.two_theta_deg >= min_deg) & (self.two_theta_deg <= max_deg)
        if keep.sum() < 2:
            raise InputError(
                f"range {min_deg}–{max_deg}° 2θ keeps {int(keep.sum())} points "
                f"(scan covers {self.two_theta_deg[0]:.3f}–{self.two_theta_deg[-1]:.3f}°)",
                source=self.source,
            )
        return Scan(
            self.two_theta_deg[keep],
            self.counts[keep],
            self.sigma[keep],
            self.wavelength_angstrom,
            self.source,
            dict(self.metadata),
        )


def as_1d_float(values: Any, what: str, source: str) -> np.ndarray:
    """A copied 1-D float array, or an InputError naming ``what`` and ``source``.

    Parameters
    ----------
    values : array_like
        The values (a list, a tuple, an array …).
    what : str
        What they are, for the error message (``"2θ axis"``).
    source : str
        Where they come from, for the error message.

    Returns
    -------
    ndarray, shape (n,)
        A new float64 array (never a view of ``values``).

    Raises
    ------
    InputError
        Not numeric, or not one-dimensional.

    Examples
    --------
    >>> from xrdkit.scans import as_1d_float
    >>> as_1d_float([10, "10.02"], "2θ axis", "scan.xy").tolist()
    [10.0, 10.02]
    >>> as_1d_float([[1, 2]], "2θ axis", "scan.xy")
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: scan.xy: 2θ axis must be 1-D, got shape (1, 2)
    """
    try:
        arr = np.array(values, dtype=float, copy=True)  # never alias the caller's data
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} is not numeric ({exc})", source=source) from None
    if arr.ndim != 1:
        raise InputError(f"{what} must be 1-D, got shape {arr.shape}", source=source)
    return arr


def check_finite(arr: np.ndarray, what: str, source: str) -> None:
    """InputError naming ``what``, ``source``, how many values are NaN/inf and where the first is.

    Parameters
    ----------
    arr : ndarray
        The values to check.
    what : str
        What they are, for the error message.
    source : str
        Where they come from, for the error message.

    Raises
    ------
    InputError
        Any value is NaN or ±inf.

    Examples
    --------
    >>> import numpy as np
    >>> from xrdkit.scans import check_finite
    >>> check_finite(np.array([120.0, 131.0]), "intensity", "scan.xy")       # silent
    >>> check_finite(np.array([120.0, np.nan, np.inf]), "intensity", "scan.xy")
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: scan.xy: intensity has 2 non-finite (NaN/inf) values (first at index 1: nan)
    """
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"{what} has {int(bad.sum())} non-finite (NaN/inf) values (first at index {i}: {arr[i]})",
            source=source,
        )


def make_scan(
    two_theta_deg: Any,
    counts: Any,
    sigma: Any | None = None,
    *,
    wavelength_angstrom: float | None = None,
    source: str = "<array>",
    metadata: dict[str, Any] | None = None,
    min_points: int = 2,
) -> Scan:
    """Validate arrays and return a read-only :class:`Scan`.

    Parameters
    ----------
    two_theta_deg, counts : array_like, shape (n,)
        Axis in degrees 2θ (strictly increasing) and intensities (finite, ≥ 0).
    sigma : array_like, shape (n,), optional
        1σ uncertainties (finite, > 0). Default: Poisson, ``sqrt(max(counts, 1))``.
    wavelength_angstrom : float, optional
        Primary wavelength, if known.
    source : str
        Name used in error messages (file, ``file::/path`` …).
    metadata : dict, optional
        Extra information, copied.
    min_points : int
        Minimum number of points.

    Returns
    -------
    Scan
        Read-only copies of the arrays, σ filled in when not given.

    Raises
    ------
    InputError
        Naming ``source`` and the first problem found: length mismatch, too few
        points, more than :data:`MAX_SCAN_POINTS` points, NaN/inf, intensities above
        :data:`MAX_INTENSITY`, negative counts, 2θ outside (0, 180)° (radians, q or d
        given where degrees were expected are caught by this check when they
        fall outside the range, or by the monotonicity check), non-increasing or
        duplicated 2θ, non-positive σ, an all-zero signal.

    Examples
    --------
    Without σ the Poisson one is used (√counts, at least 1):

    >>> from xrdkit.scans import make_scan
    >>> scan = make_scan([10.0, 10.02, 10.04], [100, 0, 25], source="my scan")
    >>> scan.sigma.tolist(), scan.counts.flags.writeable
    ([10.0, 1.0, 5.0], False)

    An axis in radians is caught (here by the monotonicity check) and named:

    >>> make_scan([0.30, 0.25, 0.20], [100, 90, 80], source="my scan")
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: my scan: 2θ axis must be strictly increasing; decreasing at index 1 (0.3 → 0.25°)
    >>> make_scan([10.0, 10.02, 10.04], [100, -5, 25], source="my scan")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: my scan: intensity has 1 negative values (first at index 1, 2θ=10.0200°: -5.0)...
    """
    x = as_1d_float(two_theta_deg, "2θ axis", source)
    y = as_1d_float(counts, "intensity", source)
    if x.size != y.size:
        raise InputError(
            f"2θ axis has {x.size} points but intensity has {y.size}", source=source
        )
    if x.size < min_points:
        raise InputError(f"scan has {x.size} points; at least {min_points} needed", source=source)
    check_n_points(x.size, source)
    for arr, what in ((x, "2θ axis"), (y, "intensity")):
        check_finite(arr, what, source)
    if y.size and float(np.max(y)) > MAX_INTENSITY:
        i = int(np.argmax(y))
        raise InputError(
            f"intensity {y[i]:.3g} at index {i} exceeds {MAX_INTENSITY:.0e} (XRDKIT_MAX_INTENSITY); "
            "not counts — wrong column or unit?",
            source=source,
        )
    if (y < 0).any():
        i = int(np.argmax(y < 0))
        raise InputError(
            f"intensity has {int((y < 0).sum())} negative values (first at index {i}, "
            f"2θ={x[i]:.4f}°: {y[i]}); background-subtracted data are not counts — pass sigma "
            "and add the background back",
            source=source,
        )
    lo, hi = TWO_THETA_LIMITS_DEG
    if x.min() <= lo or x.max() >= hi:
        raise InputError(
            f"2θ values must lie in ({lo}, {hi})° but span {x.min():.6g}–{x.max():.6g}; "
            "is the axis in radians, q or d?",
            source=source,
        )
    dx = np.diff(x)
    if (dx <= 0).any():
        i = int(np.argmax(dx <= 0))
        kind = "duplicated" if dx[i] == 0 else "decreasing"
        raise InputError(
            f"2θ axis must be strictly increasing; {kind} at index {i + 1} "
            f"({x[i]:.6g} → {x[i + 1]:.6g}°)",
            source=source,
        )
    if not (y > 0).any():
        raise InputError("intensity is zero everywhere", source=source)
    if sigma is None:
        s = np.sqrt(np.maximum(y, 1.0))
    else:
        s = as_1d_float(sigma, "sigma", source)
        if s.size != x.size:
            raise InputError(f"sigma has {s.size} points but 2θ has {x.size}", source=source)
        if not np.isfinite(s).all() or (s <= 0).any():
            raise InputError("sigma must be finite and > 0 everywhere", source=source)
        if s.min() < MIN_SIGMA or s.max() > MAX_INTENSITY:
            raise InputError(f"sigma must lie in [{MIN_SIGMA:.0e}, {MAX_INTENSITY:.0e}], got "
                             f"{s.min():.3g}–{s.max():.3g}", source=source)
    if wavelength_angstrom is not None:
        try:
            wl = float(wavelength_angstrom)
        except (TypeError, ValueError):
            raise InputError(f"wavelength {wavelength_angstrom!r} is not a number", source=source) from None
        if not np.isfinite(wl) or not 0.01 < wl < 10.0:
            raise InputError(
                f"wavelength {wavelength_angstrom!r} Å is outside 0.01–10 Å", source=source
            )
        wavelength_angstrom = wl
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError(f"metadata must be a dict, got {type(metadata).__name__}", source=source)
    for arr in (x, y, s):
        arr.setflags(write=False)
    return Scan(x, y, s, wavelength_angstrom, source, dict(metadata or {}))
