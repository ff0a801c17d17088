"""Material constants and the paper's calibration table, read lazily from ``reference_data/cell``.

Every number carries its provenance in the JSON files (``status`` is one of ``paper``, ``lit``,
``derived``, ``unverified`` or ``assumed``); :func:`material` hands out the value, :func:`provenance`
the record.  Nothing is read at import time.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError

__all__ = ["material", "material_range", "material_distribution", "propagated_materials",
           "provenance", "paper_calibration", "reference_json"]

#: Distributions a material record may declare (see materials.json ``_about``).
DISTRIBUTIONS = ("uniform", "loguniform", "triangular")

#: Faraday constant (C mol⁻¹), CODATA 2018 exact.
FARADAY_C_PER_MOL = 96485.33212
#: Boltzmann constant (eV K⁻¹), CODATA 2018 exact.
BOLTZMANN_EV_PER_K = 8.617333262e-5
#: Molar gas constant (J mol⁻¹ K⁻¹), CODATA 2018 exact.
GAS_CONSTANT_J_PER_MOL_K = 8.314462618


def _cell_dir() -> Path:
    return reference_data_dir() / "cell"


@cache
def _load(name: str) -> dict[str, Any]:
    path = _cell_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("cell reference data file missing", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc}", source=str(path)) from exc


def provenance(name: str) -> dict[str, Any]:
    """Return the full record (value, range, status, source) of material constant ``name``.

    Parameters
    ----------
    name : str
        Key of ``reference_data/cell/materials.json`` (``constants``), units in the name.

    Returns
    -------
    dict
        A copy of the record: ``value``, and where given ``range``, ``status`` (``paper``,
        ``lit``, ``derived``, ``unverified`` or ``assumed``), ``source``, ``how`` and
        ``distribution``.

    Raises
    ------
    InputError
        If ``name`` is not a known constant.

    Examples
    --------
    The fcc NBH conductivity is the paper's 1 mS cm⁻¹ at 25 °C, propagated over ± 30 %:

    >>> from xrdkit.cell.constants import provenance
    >>> rec = provenance("sigma_fcc_25C_S_per_cm")
    >>> rec["value"], rec["range"], rec["status"], rec["distribution"]   # S/cm
    (0.001, [0.0007, 0.0013], 'paper', 'uniform')
    """
    constants = _load("materials.json")["constants"]
    if name not in constants:
        raise InputError(f"unknown material constant {name!r}; known: {sorted(constants)}",
                         source="reference_data/cell/materials.json")
    return dict(constants[name])


def material(name: str) -> float:
    """Return the value of material constant ``name`` (units in the name).

    Parameters
    ----------
    name : str
        Key of ``reference_data/cell/materials.json`` (see :func:`provenance`).

    Returns
    -------
    float
        The documented value, in the unit its name states.

    Raises
    ------
    InputError
        If ``name`` is not a known constant.

    Examples
    --------
    The theoretical capacity of NaCrO2 (1 Na per formula unit) is F / (3.6 M):

    >>> from xrdkit.cell.constants import FARADAY_C_PER_MOL, material
    >>> q = material("capacity_theoretical_nacro2_mAh_per_g")                       # mAh/g
    >>> q, round(FARADAY_C_PER_MOL / (3.6 * material("molar_mass_nacro2_g_per_mol")), 1)
    (250.5, 250.5)
    """
    return float(provenance(name)["value"])


def material_range(name: str) -> tuple[float, float]:
    """Return the documented plausible range of ``name`` (the value itself if none is given).

    Parameters
    ----------
    name : str
        Key of ``reference_data/cell/materials.json`` (see :func:`provenance`).

    Returns
    -------
    tuple of float
        ``(low, high)`` in the unit of the name; ``(value, value)`` for a constant without a
        range.

    Raises
    ------
    InputError
        If ``name`` is not a known constant.

    Examples
    --------
    The pressed porosity's range is the paper's 30–38 % (``paper_calibration.json``); the Sn
    capacity has none:

    >>> from xrdkit.cell.constants import material_range, paper_calibration
    >>> material_range("porosity_pressed")
    (0.3, 0.38)
    >>> list(material_range("porosity_pressed")) == paper_calibration()["porosity_pressed_range"]
    True
    >>> material_range("capacity_practical_sn_mAh_per_g")                          # mAh/g
    (634.0, 634.0)
    """
    rec = provenance(name)
    lo, hi = rec.get("range", (rec["value"], rec["value"]))
    return float(lo), float(hi)


def material_distribution(name: str) -> str | None:
    """The Monte Carlo distribution of ``name`` (uniform, loguniform, triangular) or None if fixed.

    Parameters
    ----------
    name : str
        Key of ``reference_data/cell/materials.json`` (see :func:`provenance`).

    Returns
    -------
    str or None
        One of :data:`DISTRIBUTIONS`, or ``None`` when the constant is held fixed.

    Raises
    ------
    InputError
        If ``name`` is unknown or declares a distribution not in :data:`DISTRIBUTIONS`.

    Examples
    --------
    >>> from xrdkit.cell.constants import material_distribution
    >>> material_distribution("percolation_threshold_volume_fraction")
    'triangular'
    >>> material_distribution("diffusivity_nacro2_cm2_per_s")    # spans three decades
    'loguniform'
    >>> material_distribution("c_rate_basis_mAh_per_g") is None     # fixed: 1C = 120 mA/g
    True
    """
    dist = provenance(name).get("distribution")
    if dist is not None and dist not in DISTRIBUTIONS:
        raise InputError(f"{name}: unknown distribution {dist!r}; known: {DISTRIBUTIONS}",
                         source="reference_data/cell/materials.json")
    return dist


def propagated_materials() -> tuple[str, ...]:
    """Names of the material constants that declare a distribution (the propagated ones).

    Returns
    -------
    tuple of str
        In ``materials.json`` order; the parameters the Monte Carlo of
        :mod:`xrdkit.cell.uncertainty` draws.

    Examples
    --------
    >>> from xrdkit.cell.constants import material_distribution, propagated_materials
    >>> names = propagated_materials()
    >>> len(names), names[0]
    (25, 'density_nbh_g_per_cm3')
    >>> all(material_distribution(n) is not None for n in names)
    True
    >>> "binder_film_thickness_um" in names, "c_rate_basis_mAh_per_g" in names
    (True, False)
    """
    return tuple(k for k, v in _load("materials.json")["constants"].items()
                 if v.get("distribution") is not None)


def reference_json(name: str) -> dict[str, Any]:
    """A copy of ``reference_data/cell/NAME`` (JSON).

    Parameters
    ----------
    name : str
        File name inside ``reference_data/cell``, e.g. ``"interface_resistance.json"``.

    Returns
    -------
    dict
        A deep copy: changing it does not change what later calls return.

    Raises
    ------
    InputError
        If the file is missing or not valid JSON.

    Examples
    --------
    The first literature interface resistance, Li3PO4 | LiCoO2 (Haruta et al. 2015):

    >>> from xrdkit.cell.constants import reference_json
    >>> lit = reference_json("interface_resistance.json")
    >>> lit["entries"][0]["ohm_cm2"]                                                 # Ω cm²
    8.6
    >>> lit["entries"].clear()
    >>> len(reference_json("interface_resistance.json")["entries"])
    6
    """
    return json.loads(json.dumps(_load(name)))


def paper_calibration() -> dict[str, Any]:
    """Return a copy of the paper's cell numbers (FACTS.md §3–§4) as stored in JSON.

    Returns
    -------
    dict
        ``reference_data/cell/paper_calibration.json`` (Duchêne et al., Energy Storage Mater.
        26 (2020) 543): the two rate-test electrodes, currents, fade, anode and full cell; a
        deep copy.

    Examples
    --------
    The paper's 0.1C current of the 95:2:3 cathode is its loading × 120 mA/g × 0.1:

    >>> from xrdkit.cell.constants import material, paper_calibration
    >>> cal = paper_calibration()
    >>> cal["electrodes"]["97:1:2"]["retention_5C_vs_0p1C"], cal["temperature_C"]   # –, °C
    (0.674, 30.0)
    >>> loading = cal["electrodes"]["95:2:3"]["loading_mg_per_cm2"]                  # mg/cm²
    >>> cal["current_density_0p1C_mA_per_cm2"], round(loading * 1e-3 * material("c_rate_basis_mAh_per_g") * 0.1, 3)
    (0.084, 0.084)
    """
    return json.loads(json.dumps(_load("paper_calibration.json")))
