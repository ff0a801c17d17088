"""The instrument: wavelengths, Lorentz–polarisation, peak-position aberrations and widths.

An :class:`Instrument` is a frozen description; refinement changes copies of it
(:meth:`Instrument.replace`).  Named presets live in
``reference_data/instruments/*.json`` and load with :func:`load_instrument`.

Conventions (all angles in degrees 2θ unless stated):

- Lorentz–polarisation for a flat-plate Bragg–Brentano powder sample:
  ``LP = P(2θ) / (sin²θ cosθ)`` with, for a laboratory tube and a monochromator at
  2θ_m, ``P = (1 + cos²2θ_m cos²2θ) / (1 + cos²2θ_m)`` (2θ_m = 0: unpolarised beam,
  as pymatgen's ``XRDCalculator`` assumes), and for a polarised synchrotron beam
  ``P = p + (1 − p) cos²2θ`` with ``p`` the fraction polarised perpendicular to the
  scattering plane.
- Peak shift ``Δ2θ = zero + (−2 s cosθ / R) + (−sin2θ / (2 μ R))`` (radians inside the
  brackets): zero shift, sample displacement ``s`` (mm, positive = sample above the
  focusing circle) and specimen transparency with penetration depth ``1/μ`` (mm) on a
  goniometer of radius ``R`` (mm) — Klug & Alexander, *X-ray Diffraction Procedures*
  (1974), ch. 5.
- Widths: Caglioti U, V, W (deg²) for the Gaussian part and X, Y (deg) for the
  Lorentzian part (TCH pseudo-Voigt, see :mod:`xrdkit.profiles`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError

__all__ = ["Instrument", "load_instrument", "instrument_presets", "lorentz_polarisation_terms", "CU_KA1_ANGSTROM",
           "CU_KA2_ANGSTROM"]

#: Cu Kα1 / Kα2 wavelengths (Å): Hölzer et al., Phys. Rev. A 56 (1997) 4554, doi:10.1103/PhysRevA.56.4554.
CU_KA1_ANGSTROM = 1.540593
CU_KA2_ANGSTROM = 1.544414


@dataclass(frozen=True)
class Instrument:
    """A powder diffractometer.

    Attributes
    ----------
    name : str
        Preset name or ``"custom"``.
    wavelengths_angstrom : tuple of float
        Emission lines (first = primary).
    wavelength_weights : tuple of float
        Relative intensities (Kα2/Kα1 = 0.5 for Cu).
    monochromator_two_theta_deg : float
        Monochromator angle (0 = none).
    beam_polarisation : float or None
        Synchrotron: fraction of polarisation perpendicular to the scattering plane;
        ``None`` = laboratory tube formula.
    goniometer_radius_mm : float
        Goniometer radius R.
    zero_shift_deg, displacement_mm, penetration_depth_mm : float
        Peak-position aberrations (see module docstring).
    u_deg2, v_deg2, w_deg2, x_deg, y_deg : float
        TCH width parameters.
    asymmetry : float
        Axial-asymmetry parameter P of the first Bérar–Baldinozzi term (profile ×
        (1 + (P/tanθ)·2z·exp(−z²)), z = (2θ − centre)/FWHM; area-preserving).
    provenance : str
        Where the numbers come from.

    Examples
    --------
    The defaults are a generic laboratory Cu Kα tube without monochromator; every field is
    checked when the instrument is made or changed:

    >>> import numpy as np
    >>> from xrdkit.instrument import Instrument
    >>> lab = Instrument()
    >>> lab.wavelength_angstrom, lab.wavelength_weights, lab.without_ka2().wavelengths_angstrom  # Å
    (1.540593, (1.0, 0.5), (1.540593,))
    >>> lab.polarisation(np.array([90.0])).tolist()          # (1 + cos²2θ)/2 at 2θ = 90°
    [0.5]
    >>> lab.replace(goniometer_radius_mm=0.0)
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: instrument 'custom': goniometer_radius_mm must be > 0
    """

    name: str = "custom"
    wavelengths_angstrom: tuple[float, ...] = (CU_KA1_ANGSTROM, CU_KA2_ANGSTROM)
    wavelength_weights: tuple[float, ...] = (1.0, 0.5)
    monochromator_two_theta_deg: float = 0.0
    beam_polarisation: float | None = None
    goniometer_radius_mm: float = 150.0
    zero_shift_deg: float = 0.0
    displacement_mm: float = 0.0
    penetration_depth_mm: float = 0.0
    u_deg2: float = 0.004
    v_deg2: float = -0.002
    w_deg2: float = 0.004
    x_deg: float = 0.02
    y_deg: float = 0.02
    asymmetry: float = 0.0
    provenance: str = "constructed: generic laboratory Cu Kα defaults"

    def __post_init__(self) -> None:
        wl = np.asarray(self.wavelengths_angstrom, dtype=float)
        ww = np.asarray(self.wavelength_weights, dtype=float)
        if wl.size == 0 or wl.size != ww.size:
            raise InputError(
                f"instrument {self.name!r}: {wl.size} wavelengths but {ww.size} weights"
            )
        if not (np.all(np.isfinite(wl)) and np.all(wl > 0)):
            raise InputError(f"instrument {self.name!r}: wavelengths must be > 0 Å, got {wl.tolist()}")
        if not (np.all(np.isfinite(ww)) and np.all(ww >= 0) and ww[0] > 0):
            raise InputError(f"instrument {self.name!r}: wavelength weights must be ≥ 0, got {ww.tolist()}")
        if not self.goniometer_radius_mm > 0:
            raise InputError(f"instrument {self.name!r}: goniometer_radius_mm must be > 0")
        if self.penetration_depth_mm < 0:
            raise InputError(f"instrument {self.name!r}: penetration_depth_mm must be ≥ 0")
        if self.beam_polarisation is not None and not 0 <= self.beam_polarisation <= 1:
            raise InputError(f"instrument {self.name!r}: beam_polarisation must lie in [0, 1]")

    @property
    def wavelength_angstrom(self) -> float:
        """Primary wavelength (Å)."""
        return float(self.wavelengths_angstrom[0])

    def replace(self, **changes: float | str | tuple | None) -> Instrument:
        """Return a copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def without_ka2(self) -> Instrument:
        """Return a copy with only the primary wavelength."""
        return self.replace(
            wavelengths_angstrom=self.wavelengths_angstrom[:1], wavelength_weights=(1.0,)
        )

    def polarisation(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """Polarisation factor P(2θ) (see module docstring)."""
        c2 = np.cos(np.radians(two_theta_deg)) ** 2
        if self.beam_polarisation is not None:
            p = self.beam_polarisation
            return p + (1.0 - p) * c2
        cm2 = np.cos(np.radians(self.monochromator_two_theta_deg)) ** 2
        return (1.0 + cm2 * c2) / (1.0 + cm2)

    def lorentz_polarisation(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """Lorentz–polarisation factor for a Bragg–Brentano powder."""
        th = np.radians(two_theta_deg) / 2.0
        return self.polarisation(two_theta_deg) / (np.sin(th) ** 2 * np.cos(th))

    def polarisation_coefficients(self) -> tuple[float, float]:
        """(a, b) with P(2θ) = a + b·cos²2θ (the two cases of the module docstring)."""
        if self.beam_polarisation is not None:
            return float(self.beam_polarisation), 1.0 - float(self.beam_polarisation)
        cm2 = float(np.cos(np.radians(self.monochromator_two_theta_deg)) ** 2)
        return 1.0 / (1.0 + cm2), cm2 / (1.0 + cm2)

    def to_dict(self) -> dict:
        """JSON-ready dictionary of every field."""
        return dataclasses.asdict(self)


def lorentz_polarisation_terms(two_theta_deg: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """LP = P / (sin²θ cosθ) with P = a + b·cos²2θ, and ∂ln LP/∂2θ (per degree):
    ∂ln LP/∂θ = −2b·sin4θ / P − 2 cotθ + tanθ.

    Array expressions only, so :mod:`xrdkit._kernels` compiles the same function.

    Parameters
    ----------
    two_theta_deg : ndarray
        2θ, degrees.
    a, b : float
        Polarisation coefficients (:meth:`Instrument.polarisation_coefficients`).

    Returns
    -------
    lp : ndarray
        The Lorentz–polarisation factor at each 2θ.
    dlnlp_d2theta : ndarray
        ∂ln LP/∂2θ, per degree.

    Examples
    --------
    The same LP as :meth:`Instrument.lorentz_polarisation`, and a slope that matches a
    numerical derivative of ln LP:

    >>> import numpy as np
    >>> from xrdkit.instrument import Instrument, lorentz_polarisation_terms
    >>> lab = Instrument()
    >>> two_theta_deg = np.array([20.0, 60.0])
    >>> lp, slope = lorentz_polarisation_terms(two_theta_deg, *lab.polarisation_coefficients())
    >>> lp.round(4).tolist(), bool(np.allclose(lp, lab.lorentz_polarisation(two_theta_deg)))
    ([31.7054, 2.8868], True)
    >>> h = 1e-5                                                     # degrees
    >>> numeric = (np.log(lab.lorentz_polarisation(two_theta_deg + h))
    ...            - np.log(lab.lorentz_polarisation(two_theta_deg - h))) / (2 * h)
    >>> slope.round(5).tolist(), bool(np.allclose(slope, numeric, rtol=1e-6))   # per degree
    ([-0.1034, -0.03728], True)
    """
    th = two_theta_deg * (np.pi / 360.0)
    sin_t, cos_t, cos_2t = np.sin(th), np.cos(th), np.cos(2.0 * th)
    pol = a + b * cos_2t * cos_2t
    slope = -2.0 * b * np.sin(4.0 * th) / pol - 2.0 * cos_t / sin_t + sin_t / cos_t
    return pol / (sin_t * sin_t * cos_t), slope * (np.pi / 360.0)


def _instrument_dir() -> Path:
    return reference_data_dir() / "instruments"


def instrument_presets() -> list[str]:
    """Names of the bundled instrument presets (``reference_data/instruments/*.json``).

    Returns
    -------
    list of str
        Sorted names :func:`load_instrument` accepts.

    Examples
    --------
    >>> from xrdkit.instrument import instrument_presets
    >>> instrument_presets()
    ['miniflex600-cuka', 'synchrotron-0p8']
    """
    return sorted(p.stem for p in _instrument_dir().glob("*.json") if not p.name.endswith(".schema.json"))


def load_instrument(name_or_path: str | Path | Instrument) -> Instrument:
    """Load a preset by name, an instrument file, or pass an :class:`Instrument` through.

    The file format follows the suffix:

    - ``.json`` (or a preset name without suffix, or any other suffix): closokit's own
      format, one key per :class:`Instrument` field
      (``reference_data/instruments/instrument.schema.json``);
    - ``.instprm``: a GSAS-II instrument parameter file
      (:func:`xrdkit.instrument_files.read_instprm`);
    - ``.prm`` / ``.PRM`` / ``.iparm``: a GSAS (EXPGUI) instrument parameter file
      (:func:`xrdkit.instrument_files.read_gsas_prm`).

    Parameters
    ----------
    name_or_path : str, Path or Instrument
        A preset name (:func:`instrument_presets`), an instrument file, or an
        :class:`Instrument` (returned as it is).

    Returns
    -------
    Instrument
        Each file version is parsed once per process (cached on path, size and modification
        time).

    Raises
    ------
    InputError
        Unknown preset (the message lists the known ones), a FullProf ``.irf`` file (not
        read), or a bad file (the message names the file and the key).

    Examples
    --------
    The laboratory preset: Cu Kα1 + Kα2 (intensity ratio 0.5), no monochromator, R = 150 mm:

    >>> from xrdkit.instrument import load_instrument
    >>> lab = load_instrument("miniflex600-cuka")
    >>> lab.wavelengths_angstrom, lab.wavelength_weights                # Å, relative
    ((1.540593, 1.544414), (1.0, 0.5))
    >>> lab.goniometer_radius_mm, lab.monochromator_two_theta_deg, lab.beam_polarisation
    (150.0, 0.0, None)

    A closokit JSON file needs only the fields that differ from the defaults:

    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "my-diffractometer.json"
    >>> _ = path.write_text(json.dumps({"name": "my-diffractometer", "zero_shift_deg": -0.012,
    ...                                 "monochromator_two_theta_deg": 26.6}))
    >>> mine = load_instrument(path)
    >>> mine.name, mine.zero_shift_deg, mine.wavelength_angstrom    # deg 2θ, Å (Cu Kα1 default)
    ('my-diffractometer', -0.012, 1.540593)

    An unknown preset names the known ones:

    >>> load_instrument("miniflex")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: unknown instrument preset 'miniflex'; known: miniflex600-cuka, synchrotron-0p8
    """
    if isinstance(name_or_path, Instrument):
        return name_or_path
    path = Path(name_or_path)
    if not path.suffix:
        path = _instrument_dir() / f"{name_or_path}.json"
        if not path.exists():
            raise InputError(
                f"unknown instrument preset {str(name_or_path)!r}; known: {', '.join(instrument_presets())}"
            )
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read instrument file ({exc})", source=str(path)) from None
    # a batch asks for the same preset for every scan: parse each file version once
    return _load_instrument_file(str(path), st.st_mtime_ns, st.st_size)


#: File suffixes (lower case) load_instrument reads, besides ``.json``.
_GSAS_II_SUFFIXES = (".instprm",)
_GSAS_SUFFIXES = (".prm", ".iparm", ".iprm")


@functools.lru_cache(maxsize=32)
def _load_instrument_file(path_str: str, _mtime_ns: int, _size: int) -> Instrument:
    path = Path(path_str)
    suffix = path.suffix.lower()
    if suffix in _GSAS_II_SUFFIXES or suffix in _GSAS_SUFFIXES:
        from xrdkit import instrument_files

        reader = instrument_files.read_instprm if suffix in _GSAS_II_SUFFIXES else instrument_files.read_gsas_prm
        return reader(path)
    if suffix == ".irf":
        raise InputError("FullProf .irf instrument files are not read; write a closokit JSON file "
                         "(docs/instruments.md) or a GSAS-II .instprm", source=str(path))
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        hint = "" if suffix == ".json" else "; other suffixes than .instprm (GSAS-II) and .prm (GSAS) are read as JSON"
        raise InputError(f"cannot read instrument file ({exc}){hint}", source=str(path)) from None
    if not isinstance(data, dict):
        raise InputError(f"instrument file must hold a JSON object, got {type(data).__name__}", source=str(path))
    fields = {f.name for f in dataclasses.fields(Instrument)}
    data = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = set(data) - fields
    if unknown:
        raise InputError(f"unknown instrument fields {sorted(unknown)}", source=str(path))
    try:
        for key in ("wavelengths_angstrom", "wavelength_weights"):
            if key in data:
                if not isinstance(data[key], (list, tuple)):
                    raise InputError(f"{key} must be a list of numbers, got {data[key]!r}", source=str(path))
                data[key] = tuple(float(v) for v in data[key])
        for key, value in data.items():
            if key not in ("name", "provenance", "wavelengths_angstrom", "wavelength_weights", "beam_polarisation"):
                data[key] = float(value)
        return Instrument(**data)
    except InputError as exc:
        raise InputError(exc.problem, source=str(path)) from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad value in instrument file ({exc})", source=str(path)) from None
