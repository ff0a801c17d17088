"""Batch analysis of many IR spectra in HDF5 files with :func:`xrdkit.batch.run_batch`.

Items are picklable ``SeriesRef`` objects from :func:`irkit.spectra.list_hdf5_spectra` (a file
name and an HDF5 path, never an open handle); :func:`analyse_ref` reads one spectrum, fits both
regions and returns the verdict and every band as scalars of an
:class:`xrdkit.results.ItemResult`. Errors of one spectrum are recorded, never fatal.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from irkit import vocabulary as vocab
from irkit.assess import IRVerdict, assess
from irkit.spectra import list_hdf5_spectra, spectrum_from_ref, to_absorbance
from irkit.vocabulary import SPECIES_FLAGS, IRFlag
from xrdkit.batch import BatchSummary, run_batch
from xrdkit.results import ItemResult

__all__ = ["analyse_ref", "ref_id", "run_ir_batch", "verdict_item"]


def ref_id(ref: Any) -> str:
    """Unique id of a spectrum reference: ``file::/path[index]``.

    Parameters
    ----------
    ref : SeriesRef
        From :func:`irkit.spectra.list_hdf5_spectra`.

    Returns
    -------
    str
        The id under which :func:`run_ir_batch` stores the spectrum's result.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from irkit.batch import ref_id
    >>> from irkit.spectra import list_hdf5_spectra
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> h5 = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "spectra.h5",
    ...                       [synthesize(0), synthesize(1)])
    >>> [ref_id(ref).split("::")[1] for ref in list_hdf5_spectra(h5)]
    ['/entry/data[0]', '/entry/data[1]']
    """
    return str(ref.spec)


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def analyse_ref(ref: Any) -> ItemResult:
    """Read, fit and judge one spectrum (top-level, picklable: runs in batch workers).

    Scalars: the verdict flags (``borate_present``, ``anion``, ``anions_intact``, ``oxidation``,
    ``protonation`` — None without a borate — ``isopropanol``, ``methanol``, ``water``,
    ``other_organic``, ``binder``), ``b10_b12_ratio`` ± σ (None when not identified) with
    ``b10_b12_ratio_reason``, each admixture's height and detection limit, and every fitted
    band (no band columns when the spectrum has no ν(B–H) band and nothing was fitted).

    Parameters
    ----------
    ref : SeriesRef
        One spectrum of an HDF5 file (:func:`irkit.spectra.list_hdf5_spectra`).

    Returns
    -------
    ItemResult
        The scalars above (band columns ``<species>_<mode>_center_cm1``, ``…_fwhm_cm1``,
        ``…_area`` with their σ), per fitted region the arrays ``<region>_wavenumber_cm1``,
        ``<region>_best_fit`` and ``<region>_residual``, and the verdict's notes as warnings.

    Raises
    ------
    InputError
        The spectrum cannot be read or does not cover the stretching region (the batch engine
        records it as that item's error).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from irkit.batch import analyse_ref
    >>> from irkit.spectra import list_hdf5_spectra
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> h5 = write_hdf5_stack(pathlib.Path(tempfile.mkdtemp()) / "b12.h5",
    ...                       [synthesize(5, b10_b12_ratio=0.0)])
    >>> result = analyse_ref(list_hdf5_spectra(h5)[0])
    >>> result.scalars["anion"], round(result.scalars["B12H12_nu_BH_center_cm1"])   # cm⁻¹
    ('B12H12', 2480)
    >>> result.arrays["stretch_best_fit"].shape == result.arrays["stretch_wavenumber_cm1"].shape
    True
    """
    return verdict_item(assess(to_absorbance(spectrum_from_ref(ref))))


def verdict_item(verdict: IRVerdict) -> ItemResult:
    """The batch record of one verdict: the scalars and arrays :func:`analyse_ref` stores.

    Column names and units are those of :mod:`irkit.vocabulary` (:data:`~irkit.vocabulary.
    BATCH_COLUMNS`, then per component flag ``<flag>_height`` and ``<flag>_detection_limit``,
    per fitted region and band the column families there).

    Parameters
    ----------
    verdict : IRVerdict
        From :func:`irkit.assess.assess`.

    Returns
    -------
    ItemResult
        Scalars, arrays and the verdict's notes as warnings.

    Examples
    --------
    >>> from irkit.assess import assess
    >>> from irkit.batch import verdict_item
    >>> from irkit.synthetic import synthesize
    >>> item = verdict_item(assess(synthesize(4, borate=0.0, isopropanol=0.3).spectrum))
    >>> item.scalars["isopropanol"], item.scalars["oxidation"], item.arrays
    (True, None, {})
    """
    d = verdict.to_dict()
    scalars: dict[str, bool | float | str | None] = {
        IRFlag.BORATE_PRESENT.value: verdict.borate_present,
        vocab.ANION.name: verdict.anion,
        IRFlag.ANIONS_INTACT.value: verdict.anions_intact,
        vocab.RATIO.name: d[vocab.RATIO.name],
        vocab.RATIO_SIGMA.name: d[vocab.RATIO_SIGMA.name],
        vocab.RATIO_REASON.name: verdict.ratio_reason,
        IRFlag.OTHER_ORGANIC.value: verdict.other_organic.detected,
        vocab.CONTAMINANTS.name: "; ".join(verdict.contaminants),
    }
    for flag in SPECIES_FLAGS:
        test = getattr(verdict, flag.value)
        scalars[flag.value] = None if test is None else test.detected
        scalars[vocab.SPECIES_HEIGHT.column(flag).name] = None if test is None else _num(
            test.height)
        scalars[vocab.SPECIES_DETECTION_LIMIT.column(flag).name] = None if test is None else _num(
            test.detection_limit)
    arrays: dict[str, np.ndarray] = {}
    for fit in verdict.fits:
        scalars[vocab.REGION_R_SQUARED.column(fit.region).name] = fit.quality.r_squared
        scalars[vocab.REGION_RMS_RESIDUAL.column(fit.region).name] = fit.quality.rms_residual
        for band in fit.bands:
            stem = band.prefix.rstrip("_")
            scalars[vocab.BAND_CENTER.column(stem).name] = band.center_cm1
            scalars[vocab.BAND_CENTER_SIGMA.column(stem).name] = band.center_sigma_cm1
            scalars[vocab.BAND_FWHM.column(stem).name] = band.fwhm_cm1
            scalars[vocab.BAND_AREA.column(stem).name] = band.area
            scalars[vocab.BAND_AREA_SIGMA.column(stem).name] = band.area_sigma
        arrays[vocab.REGION_WAVENUMBER.column(fit.region).name] = fit.wavenumber_cm1
        arrays[vocab.REGION_BEST_FIT.column(fit.region).name] = fit.best_fit
        arrays[vocab.REGION_RESIDUAL.column(fit.region).name] = fit.residual
    return ItemResult(scalars=scalars, arrays=arrays, warnings=tuple(verdict.notes))


def run_ir_batch(files: Sequence[str | Path], out_path: str | Path, **kw: Any) -> BatchSummary:
    """Analyse every spectrum of the HDF5 ``files`` into ``out_path`` (``RESULTS.h5``).

    Keyword arguments go to :func:`xrdkit.batch.run_batch` (``workers``, ``scheduler``,
    ``resume``, ``overwrite``, ``chunk_size``, ``progress``, ``config``). Files are taken by
    canonical absolute path, each once, so spectrum ids do not depend on how a path is spelt.

    Parameters
    ----------
    files : sequence of str or Path
        HDF5 / NeXus files; every 1-D series in them is one spectrum
        (:func:`irkit.spectra.list_hdf5_spectra`).
    out_path : str or Path
        Results file (``RESULTS.h5``), read with :func:`xrdkit.results.read_summary` and
        :func:`xrdkit.results.read_item`; one row per spectrum with the scalars of
        :func:`analyse_ref`, id ``file::/path[index]`` (:func:`ref_id`). Every summary column
        and array gets its ``units`` and ``long_name`` (:func:`irkit.vocabulary.annotate`).
    **kw
        Passed to :func:`xrdkit.batch.run_batch`.

    Returns
    -------
    BatchSummary
        Counts of items run, skipped, ok and failed, and the timing.

    Raises
    ------
    InputError
        A file that is not HDF5 or holds no 1-D series.
    BatchError
        The results file exists (pass ``resume=True`` or ``overwrite=True``) or another process
        writes it.

    Examples
    --------
    Three constructed spectra in one file: both anions with an isopropanol residue, the
    residue alone (no borate), and pure B12H12²⁻:

    >>> import pathlib, tempfile
    >>> from irkit.batch import run_ir_batch
    >>> from irkit.synthetic import synthesize, write_hdf5_stack
    >>> from xrdkit.results import read_summary
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> h5 = write_hdf5_stack(folder / "spectra.h5", [
    ...     synthesize(3, isopropanol=0.15), synthesize(4, borate=0.0, isopropanol=0.3),
    ...     synthesize(5, b10_b12_ratio=0.0)])
    >>> run_ir_batch([h5], folder / "RESULTS.h5", workers=1).n_ok
    3
    >>> for row in read_summary(folder / "RESULTS.h5"):
    ...     print(row["id"].split("::")[1], row["borate_present"], row["anion"], row["contaminants"])
    /entry/data[0] True both isopropanol
    /entry/data[1] False None isopropanol
    /entry/data[2] True B12H12 None
    """
    canonical = list(dict.fromkeys(os.path.realpath(f) for f in files))
    refs = [ref for f in canonical for ref in list_hdf5_spectra(f)]
    summary = run_batch(refs, analyse_ref, out_path, item_id=ref_id, **kw)
    vocab.annotate(summary.out_path)  # units and meanings of the columns, for NeXus viewers
    return summary
