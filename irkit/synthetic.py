"""Seeded synthetic IR spectra built from the band library (constructed, never measured).

Used by tests, benchmarks and demo data: the truth (every band's centre, FWHM, height, area and the
baseline) is returned with the spectrum, so fits can be checked against it.

Amounts
-------
- ``b10_b12_ratio``: molar ratio n(B10H10²⁻)/n(B12H12²⁻). The B12H12²⁻ ν(B–H) band has height
  ``peak_absorbance`` at the equimolar ratio (it scales with the B12 mole fraction); B10H10²⁻ bands
  are scaled so that their summed stretching area per mole is
  :data:`irkit.bands.B10_B12_AREA_PER_MOLE` times that of B12H12²⁻.
- ``isopropanol``, ``water``, ``oxidation``, ``pvdf``, ``protonated``: peak height of the strongest band of that
  species as a fraction of ``peak_absorbance`` (the strongest electrolyte band at 1:1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from irkit.bands import B10_B12_AREA_PER_MOLE, BandLibrary, load_band_library
from irkit.shapes import pseudo_voigt
from irkit.spectra import Spectrum, make_spectrum
from irkit.vocabulary import FLAG_SPECIES, IRFlag
from xrdkit.errors import InputError

__all__ = ["TrueBand", "SyntheticSpectrum", "MismatchedSpectrum", "synthesize",
           "synthesize_mismatched", "pv_height_per_area", "write_hdf5_stack", "ADMIXTURE_FLAGS"]

BaselineKind = Literal["flat", "sloping", "curved"]
#: Admixture amounts of :func:`synthesize` (keyword → the verdict flag it should raise).
ADMIXTURE_FLAGS: dict[str, IRFlag] = {"isopropanol": IRFlag.ISOPROPANOL, "water": IRFlag.WATER,
                                      "oxidation": IRFlag.OXIDATION, "pvdf": IRFlag.BINDER,
                                      "protonated": IRFlag.PROTONATION}
#: Admixture keyword → band-library species whose bands it adds.
_ADMIXTURES = {amount: FLAG_SPECIES[flag] for amount, flag in ADMIXTURE_FLAGS.items()}


@dataclass(frozen=True)
class TrueBand:
    """One band as put into a synthetic spectrum (see :func:`synthesize`, which lists some).

    Attributes
    ----------
    label : str
        ``species:mode`` as in the band library (e.g. ``B12H12:nu_BH``).
    species : str
        The library species (``B12H12``, ``water`` …).
    center_cm1 : float
        True centre, cm⁻¹.
    fwhm_cm1 : float
        Full width at half maximum, cm⁻¹.
    height : float
        Peak height, absorbance.
    area : float
        Integrated area, absorbance · cm⁻¹.

    Examples
    --------
    >>> from irkit.synthetic import TrueBand, pv_height_per_area
    >>> band = TrueBand("B12H12:nu_BH", "B12H12", 2480.0, 40.0, 0.5, 0.5 / pv_height_per_area(40.0, 0.5))
    >>> round(float(band.area), 2)              # absorbance · cm⁻¹: 0.5 / 0.0197 cm
    25.38
    """

    label: str
    species: str
    center_cm1: float
    fwhm_cm1: float
    height: float
    area: float


@dataclass(frozen=True)
class SyntheticSpectrum:
    """A synthetic spectrum and the truth it was made from (returned by :func:`synthesize`,
    which shows one).

    Attributes
    ----------
    spectrum : Spectrum
        The absorbance spectrum (``source="synthetic"``).
    bands : tuple of TrueBand
        Every band put in, in the order added (B12H12²⁻, B10H10²⁻, then admixtures).
    baseline : ndarray, shape (n,)
        The baseline added (absorbance, read-only).
    noise_sd : float
        Standard deviation of the white noise added (absorbance).
    fraction : float
        Lorentzian fraction of every band.
    b10_b12_ratio : float
        Molar ratio n(B10H10²⁻)/n(B12H12²⁻) used.

    Examples
    --------
    >>> from irkit.synthetic import synthesize
    >>> syn = synthesize(0, low_cm1=2000.0, high_cm1=3000.0)
    >>> band = syn.band("B12H12:nu_BH")
    >>> band.center_cm1, band.fwhm_cm1, round(band.height, 2)        # cm⁻¹, cm⁻¹, absorbance
    (2480.0, 40.0, 0.5)
    >>> syn.baseline.shape == syn.spectrum.values.shape
    True
    """

    spectrum: Spectrum
    bands: tuple[TrueBand, ...]
    baseline: np.ndarray
    noise_sd: float
    fraction: float
    b10_b12_ratio: float

    def band(self, label: str) -> TrueBand:
        """The true band ``species:mode``."""
        for b in self.bands:
            if b.label == label:
                return b
        raise KeyError(label)


def pv_height_per_area(fwhm_cm1: float, fraction: float) -> float:
    """Peak height of an area-1 pseudo-Voigt of the given FWHM and Lorentzian fraction.

    Parameters
    ----------
    fwhm_cm1 : float
        Full width at half maximum, cm⁻¹.
    fraction : float
        Lorentzian fraction η (0: Gaussian, 1: Lorentzian).

    Returns
    -------
    float
        Height per unit area, 1/cm⁻¹: (1 − η) · 2√(ln2/π)/FWHM + η · 2/(π FWHM).

    Examples
    --------
    The Gaussian and Lorentzian limits (FWHM 40 cm⁻¹):

    >>> import math
    >>> from irkit.synthetic import pv_height_per_area
    >>> math.isclose(pv_height_per_area(40.0, 0.0), 2 * math.sqrt(math.log(2) / math.pi) / 40)
    True
    >>> math.isclose(pv_height_per_area(40.0, 1.0), 2 / (math.pi * 40))
    True
    """
    s = 0.5 * fwhm_cm1
    return (1 - fraction) / (s * np.sqrt(np.pi / np.log(2))) + fraction / (np.pi * s)


def _baseline(kind: BaselineKind, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind == "flat":
        return np.full_like(t, 0.02)
    if kind == "sloping":
        return 0.02 + rng.uniform(0.02, 0.08) * t
    if kind == "curved":
        return (0.02 + rng.uniform(0.02, 0.06) * t + rng.uniform(0.03, 0.08) * t ** 2
                + rng.uniform(0.01, 0.03) * np.sin(np.pi * t))
    raise InputError(f"unknown baseline kind {kind!r}; use flat, sloping or curved",
                     source="baseline")


def synthesize(
    seed: int | np.random.Generator = 0,
    *,
    b10_b12_ratio: float = 1.0,
    peak_absorbance: float = 0.5,
    borate: float = 1.0,
    isopropanol: float = 0.0,
    water: float = 0.0,
    oxidation: float = 0.0,
    pvdf: float = 0.0,
    protonated: float = 0.0,
    noise_sd: float = 0.002,
    baseline: BaselineKind = "sloping",
    low_cm1: float = 550.0,
    high_cm1: float = 4000.0,
    step_cm1: float = 1.0,
    fraction: float = 0.5,
    position_jitter_cm1: float = 0.0,
    library: BandLibrary | None = None,
) -> SyntheticSpectrum:
    """Make a seeded synthetic ATR-like absorbance spectrum.

    Parameters
    ----------
    seed : int or Generator
        Seed of ``numpy.random.default_rng`` (or a generator).
    b10_b12_ratio : float
        Molar ratio B10H10²⁻ : B12H12²⁻ (0 → pure B12H12²⁻ salt, ``inf`` → pure B10H10²⁻ salt).
    peak_absorbance : float
        Height of the B12H12²⁻ ν(B–H) band at the 1:1 ratio.
    borate : float
        Scale of all anion bands (1: as described; 0: no closo-borate at all — a negative
        control whose admixtures keep their heights relative to ``peak_absorbance``).
    isopropanol, water, oxidation, pvdf, protonated : float
        Strongest-band height of each admixture (protonated = the shifted ν(B–H) band) as a
        fraction of ``peak_absorbance``.
    noise_sd : float
        Standard deviation of the white Gaussian noise (absorbance).
    baseline : {"flat", "sloping", "curved"}
        Baseline kind; coefficients drawn from the generator.
    low_cm1, high_cm1, step_cm1 : float
        Axis.
    fraction : float
        Lorentzian fraction of every band (pseudo-Voigt).
    position_jitter_cm1 : float
        True centres are drawn uniformly within ± this of the library priors.
    library : BandLibrary, optional
        Band priors whose positions, widths and relative heights are used (default: the
        bundled library).

    Returns
    -------
    SyntheticSpectrum
        ``spectrum`` (absorbance, ``source="synthetic"``, ``metadata["constructed"]`` says so)
        and its truth: every band put in (centre, FWHM in cm⁻¹, height, area), the baseline and
        the noise level.

    Raises
    ------
    InputError
        A negative ratio, ``borate`` or admixture amount, or an unknown ``baseline`` kind.

    Examples
    --------
    Both anions 1:1 on a sloping baseline, 550–4000 cm⁻¹ in 1 cm⁻¹ steps:

    >>> from irkit.synthetic import synthesize
    >>> syn = synthesize(0)
    >>> syn.spectrum.kind, syn.spectrum.n_points, syn.spectrum.step_cm1
    ('absorbance', 3451, 1.0)
    >>> for band in syn.bands[:4]:
    ...     print(f"{band.label:16s} {band.center_cm1:6.0f} cm-1  FWHM {band.fwhm_cm1:3.0f}  height {band.height:.2f}")
    B12H12:nu_BH       2480 cm-1  FWHM  40  height 0.50
    B12H12:delta_BH    1070 cm-1  FWHM  25  height 0.10
    B12H12:cage         720 cm-1  FWHM  20  height 0.05
    B10H10:nu_BH_eq    2460 cm-1  FWHM  40  height 0.36

    The ν(B–H) area per mole of B10H10²⁻ is 10/12 of B12H12²⁻'s (equal absorptivity per
    B–H oscillator, :data:`irkit.bands.B10_B12_AREA_PER_MOLE`):

    >>> stretch = {b.label: b.area for b in syn.bands if 2350 <= b.center_cm1 <= 2650}
    >>> b10 = stretch["B10H10:nu_BH_eq"] + stretch["B10H10:nu_BH_ap"]
    >>> round(b10 / stretch["B12H12:nu_BH"], 4)
    0.8333

    A pure Na2B12H12 spectrum with water at 20 % of the B–H band:

    >>> wet = synthesize(1, b10_b12_ratio=0.0, water=0.2)
    >>> [b.label for b in wet.bands]
    ['B12H12:nu_BH', 'B12H12:delta_BH', 'B12H12:cage', 'water:nu_OH', 'water:delta_HOH']
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if not b10_b12_ratio >= 0:
        raise InputError(f"b10_b12_ratio must be >= 0 (inf: pure B10H10), got {b10_b12_ratio}",
                         source="b10_b12_ratio")
    if not borate >= 0:
        raise InputError(f"borate must be >= 0, got {borate}", source="borate")
    lib = library or load_band_library()
    x = np.arange(low_cm1, high_cm1 + 0.5 * step_cm1, step_cm1)
    x12 = 0.0 if math.isinf(b10_b12_ratio) else 1.0 / (1.0 + b10_b12_ratio)
    truth: list[TrueBand] = []

    def add(band, height: float) -> None:
        centre = band.position_cm1 + rng.uniform(-1, 1) * position_jitter_cm1
        area = height / pv_height_per_area(band.fwhm_cm1, fraction)
        truth.append(TrueBand(band.label, band.species, float(centre), band.fwhm_cm1,
                              float(height), float(area)))

    b12 = lib.select("B12H12")
    b10 = lib.select("B10H10")
    if x12 > 0 and borate > 0:
        for b in b12:
            add(b, borate * 2.0 * x12 * peak_absorbance * b.relative_height)
    # B10 heights: relative heights scaled so the stretching area per mole matches the constant
    stretch = (2350.0, 2650.0)

    def stretch_area(bands, scale):
        return sum(scale * b.relative_height / pv_height_per_area(b.fwhm_cm1, fraction)
                   for b in bands if stretch[0] <= b.position_cm1 <= stretch[1])

    a12_per_mole = stretch_area(b12, 2.0 * peak_absorbance)
    a10_unit = stretch_area(b10, 1.0)
    if b10_b12_ratio > 0 and borate > 0:
        scale10 = borate * B10_B12_AREA_PER_MOLE * a12_per_mole * (1.0 - x12) / a10_unit
        for b in b10:
            add(b, scale10 * b.relative_height)
    for amount_name, species in _ADMIXTURES.items():
        amount = {"isopropanol": isopropanol, "water": water, "oxidation": oxidation,
                  "pvdf": pvdf, "protonated": protonated}[amount_name]
        if amount < 0:
            raise InputError(f"{amount_name} must be >= 0, got {amount}", source=amount_name)
        if amount > 0:
            for b in lib.select(species):
                add(b, amount * peak_absorbance * b.relative_height)
    t = (x - x[0]) / (x[-1] - x[0])
    base = _baseline(baseline, t, rng)
    centres = np.array([b.center_cm1 for b in truth])[:, None]
    areas = np.array([b.area for b in truth])[:, None]
    sigmas = np.array([0.5 * b.fwhm_cm1 for b in truth])[:, None]
    signal = pseudo_voigt(x, areas, centres, sigmas, fraction).sum(axis=0)
    values = signal + base + rng.normal(0.0, noise_sd, x.size)
    spectrum = make_spectrum(
        x, values, "absorbance", source="synthetic",
        metadata={"constructed": "irkit.synthetic.synthesize (not measured)",
                  "b10_b12_ratio": b10_b12_ratio, "noise_sd": noise_sd, "baseline": baseline},
    )
    base.setflags(write=False)
    return SyntheticSpectrum(spectrum, tuple(truth), base, noise_sd, fraction, b10_b12_ratio)






@dataclass(frozen=True)
class MismatchedSpectrum:
    """A spectrum from :func:`synthesize_mismatched` and what it contains (the function shows
    one).

    Attributes
    ----------
    spectrum : Spectrum
        The absorbance spectrum (``source="synthetic-mismatched"``).
    anion : {"B12H12", "B10H10", "both", None}
        Which closo-borate anions it holds.
    hydrated : bool
        Whether a hydrate's O–H bands were added.
    isopropanol : bool
        Whether isopropanol bands were added.

    Examples
    --------
    The pure-solvent negative control:

    >>> from irkit.synthetic import synthesize_mismatched
    >>> control = synthesize_mismatched(1, anion=None, isopropanol=True)
    >>> control.anion, control.isopropanol, control.spectrum.source
    (None, True, 'synthetic-mismatched')
    """

    spectrum: Spectrum
    anion: str | None
    hydrated: bool
    isopropanol: bool


def _gauss(x: np.ndarray, centre: float, fwhm: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((x - centre) / (fwhm / 2.3548)) ** 2)


def synthesize_mismatched(
    seed: int | np.random.Generator = 0,
    *,
    anion: str | None = "both",
    hydrated: bool = False,
    isopropanol: bool = False,
    noise_sd: float = 0.002,
    low_cm1: float = 450.0,
    high_cm1: float = 4000.0,
) -> MismatchedSpectrum:
    """A spectrum whose bands do *not* follow the library's shapes (constructed, not measured).

    Gaussian bands (the fits use pseudo-Voigts), the B12H12²⁻ ν(B–H) split into two components
    (as in solids of lower site symmetry), centres up to ±15 cm⁻¹ and widths/heights drawn far
    from the priors; a hydrate adds a broad O–H stretch at 3550 cm⁻¹ and the H–O–H bend; the
    isopropanol option draws every library isopropanol band with its height ×0.5–2, width
    ×1–2 and centre ±3 cm⁻¹ (a real liquid need not match constructed heights). Used to test
    that the verdict survives template mismatch (``anion=None`` with ``isopropanol=True`` is a
    pure-solvent negative control for the borate).

    Parameters
    ----------
    seed : int or Generator
        Seed of ``numpy.random.default_rng`` (or a generator).
    anion : {"B12H12", "B10H10", "both", None}
        Which closo-borate anions to put in (None: none).
    hydrated, isopropanol : bool
        Add a hydrate's O–H bands / isopropanol bands.
    noise_sd : float
        Standard deviation of the white Gaussian noise (absorbance).
    low_cm1, high_cm1 : float
        Axis, cm⁻¹ (1 cm⁻¹ steps; ``high_cm1`` excluded).

    Returns
    -------
    MismatchedSpectrum
        The absorbance spectrum (``metadata["constructed"]`` says so) and what it holds.

    Raises
    ------
    InputError
        An unknown ``anion``.

    Examples
    --------
    A hydrated B12H12²⁻ salt on 450–3999 cm⁻¹:

    >>> from irkit.synthetic import synthesize_mismatched
    >>> mis = synthesize_mismatched(0, anion="B12H12", hydrated=True)
    >>> mis.anion, mis.hydrated, mis.isopropanol
    ('B12H12', True, False)
    >>> mis.spectrum.n_points, float(mis.spectrum.wavenumber_cm1[-1])     # points, cm⁻¹
    (3550, 3999.0)
    """
    if anion not in ("B12H12", "B10H10", "both", None):
        raise InputError(f"anion must be B12H12, B10H10, both or None, got {anion!r}",
                         source="anion")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = np.arange(low_cm1, high_cm1, 1.0)
    y = np.zeros_like(x)
    if anion in ("B12H12", "both"):
        c = 2480.0 + rng.uniform(-15, 15)
        y += _gauss(x, c - 15, rng.uniform(30, 50), 0.5) + _gauss(x, c + 18,
                                                                 rng.uniform(25, 45), 0.35)
        y += _gauss(x, 1070 + rng.uniform(-10, 10), rng.uniform(15, 30), rng.uniform(0.15, 0.4))
        y += _gauss(x, 718 + rng.uniform(-8, 8), rng.uniform(10, 25), rng.uniform(0.05, 0.2))
    if anion in ("B10H10", "both"):
        c = 2465.0 + rng.uniform(-15, 15)
        y += _gauss(x, c, rng.uniform(35, 60), 0.5)
        y += _gauss(x, 2525 + rng.uniform(-10, 10), rng.uniform(20, 30), 0.12)
        y += _gauss(x, 1015 + rng.uniform(-10, 10), rng.uniform(15, 30), rng.uniform(0.15, 0.4))
        y += _gauss(x, 665 + rng.uniform(-10, 10), rng.uniform(10, 25), rng.uniform(0.05, 0.2))
    if hydrated:
        y += _gauss(x, 3550, 200, 0.15) + _gauss(x, 1625, 60, 0.05)
    if isopropanol:
        lib = load_band_library()
        ipa = np.zeros_like(x)
        for b in lib.select(FLAG_SPECIES[IRFlag.ISOPROPANOL]):
            ipa += _gauss(x, b.position_cm1 + rng.uniform(-3, 3),
                          b.fwhm_cm1 * rng.uniform(1.0, 2.0),
                          b.relative_height * math.exp(rng.uniform(math.log(0.5), math.log(2))))
        # a residue of 5 % of the B–H band in a salt; the whole spectrum without one
        y += ipa / ipa.max() * (0.025 if anion else 0.6)
    y = y + 0.05 + 0.03 * ((x - x[0]) / (x[-1] - x[0])) ** 2 + rng.normal(0.0, noise_sd, x.size)
    spectrum = make_spectrum(x, y, "absorbance", source="synthetic-mismatched",
                             metadata={"constructed": "irkit.synthetic.synthesize_mismatched "
                                                      "(not measured)"})
    return MismatchedSpectrum(spectrum, anion, hydrated, isopropanol)


def write_hdf5_stack(path: str | Path, spectra: Sequence[SyntheticSpectrum], *,
                     seeds: Sequence[int] | None = None) -> Path:
    """Write synthetic spectra on a common axis as a NeXus stack (demo and test data).

    Layout: ``/entry`` (NXentry, ``@default = "data"``) → ``/entry/data`` (NXdata,
    ``@signal = "absorbance"``, ``@axes = [".", "wavenumber"]``) with ``absorbance`` (N × M) and
    ``wavenumber`` (M, ``@units = "cm-1"``); the truth of every spectrum (band centres, heights,
    areas, admixtures) is stored as JSON in ``/entry/data/absorbance@truth_json`` and the file
    carries ``@provenance`` saying it is constructed. :func:`irkit.spectra.list_hdf5_spectra`
    finds the N spectra.

    Parameters
    ----------
    path : str or Path
        The file to write (overwritten).
    spectra : sequence of SyntheticSpectrum
        The spectra, all on one wavenumber axis.
    seeds : sequence of int, optional
        Their seeds, stored with the truth.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        No spectra, or spectra on different axes.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> import h5py
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> stack = [synthesize(seed, low_cm1=2000.0, high_cm1=3000.0) for seed in (0, 1)]
    >>> path = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "stack.h5", stack, seeds=[0, 1])
    >>> with h5py.File(path) as f:
    ...     absorbance = f["entry/data/absorbance"]
    ...     truth = json.loads(absorbance.attrs["truth_json"])
    ...     print(absorbance.shape, f["entry/data/wavenumber"].attrs["units"], truth[1]["seed"])
    (2, 1001) cm-1 1

    Spectra on different axes are refused:

    >>> write_hdf5_stack(path, [stack[0], synthesize(2, low_cm1=2100.0, high_cm1=3000.0)])
    Traceback (most recent call last):
    ...
    xrdkit.errors.InputError: ...spectra must share one wavenumber axis
    """
    import json

    import h5py

    if not spectra:
        raise InputError("no spectra to write", source=str(path))
    axis = spectra[0].spectrum.wavenumber_cm1
    for s in spectra[1:]:
        if not np.array_equal(s.spectrum.wavenumber_cm1, axis):
            raise InputError("spectra must share one wavenumber axis", source=str(path))
    truth = [{"seed": None if seeds is None else int(seeds[i]),
              "b10_b12_ratio": s.b10_b12_ratio, "noise_sd": s.noise_sd,
              "bands": [asdict(b) for b in s.bands]} for i, s in enumerate(spectra)]
    out = Path(path)
    with h5py.File(out, "w") as f:
        f.attrs["provenance"] = ("constructed: irkit.synthetic.synthesize, band priors from "
                                 "reference_data/ir_bands (not measured)")
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update({"NX_class": "NXentry", "default": "data"})
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "absorbance",
                           "axes": [".", "wavenumber"]})
        data.create_dataset("wavenumber", data=axis).attrs["units"] = "cm-1"
        sig = data.create_dataset("absorbance",
                                  data=np.array([s.spectrum.values for s in spectra]))
        sig.attrs["truth_json"] = json.dumps(truth)
    return out
