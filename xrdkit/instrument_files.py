"""Instrument files the way laboratories have them: GSAS-II ``.instprm`` and GSAS ``.prm``.

Both readers return an :class:`~xrdkit.instrument.Instrument`; :func:`~xrdkit.instrument.load_instrument`
dispatches to them on the file suffix.  :func:`write_instrument_json` writes closokit's own JSON
format (documented in ``reference_data/instruments/instrument.schema.json``).

Conventions mapped (checked against GSAS-II's source, AdvancedPhotonSource/GSAS-II,
``GSASIIpwd.py`` — ``getFWHM``/``getgamFW``, ``Polarization`` — and ``GSASIIstrMath.py``
``GetReflPos``; and GSAS, Larson & Von Dreele, LAUR 86-748):

===============  =====================================  =========================================
GSAS-II key      GSAS-II meaning                        closokit field
===============  =====================================  =========================================
Lam1, Lam2       Kα1, Kα2 wavelengths (Å)               ``wavelengths_angstrom``
Lam              single wavelength (Å)                  ``wavelengths_angstrom`` (one line)
I(L2)/I(L1)      Kα2/Kα1 intensity ratio                ``wavelength_weights = (1, ratio)``
Zero             2θ_obs = 2θ_Bragg + Zero, **degrees**  ``zero_shift_deg`` (same sign, same unit)
Polariz., Azimuth  P = A + B·cos²2θ with                ``beam_polarisation = A``
                 A = Pola·cos²Az + (1−Pola)·sin²Az,
                 B = 1 − A (Pola = 0.5: unpolarised)
U, V, W          Gaussian **variance** σ² = U tan²θ +   ``u/v/w_deg2 = 8 ln2 · 1e-4 · U/V/W``
                 V tanθ + W, centideg²; FWHM_G =        (closokit's U, V, W give FWHM_G²)
                 √(8 ln2)·σ
X, Y             Lorentzian FWHM γ = X/cosθ + Y tanθ    ``y_deg = X/100`` (our 1/cosθ term),
                 (+ Z), centideg                        ``x_deg = Y/100`` (our tanθ term)
Z                constant Lorentzian FWHM (centideg)    not represented: warning if ≠ 0
SH/L             Finger–Cox–Jephcoat axial divergence   not used (logged, kept in provenance)
                 (S/L + H/L)
===============  =====================================  =========================================

closokit's Lorentzian FWHM is ``H_L = x_deg·tanθ + y_deg/cosθ`` (:mod:`xrdkit.profiles`, the
FullProf order), GSAS-II's is ``X/cosθ + Y·tanθ``: the two names are swapped, not the physics.

SH/L is not converted to closokit's ``asymmetry``: that is the first Bérar–Baldinozzi term
(an area-preserving odd correction ∝ 1/tanθ), while FCJ is a convolution with the axial
divergence aperture whose shape and angular dependence differ (strongest below 2θ ≈ 30°, sign
change at 90°).  No exact mapping exists; refine ``asymmetry`` on a standard instead
(``xrdkit instrument calibrate``).

The goniometer radius is not part of either file (GSAS-II keeps it with the sample
parameters): it is taken from the ``goniometer_radius_mm`` argument (default 150 mm) and
matters only when sample displacement or transparency are refined.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from xrdkit.errors import InputError
from xrdkit.instrument import Instrument

__all__ = [
    "read_instprm",
    "read_gsas_prm",
    "write_instrument_json",
    "write_instprm",
    "write_instrument",
    "gsas_widths_to_closokit",
    "GSAS_SIGMA2_TO_FWHM2_DEG2",
    "CENTIDEG_TO_DEG",
]

log = logging.getLogger(__name__)

#: GSAS(-II) Gaussian variance in centidegrees² → closokit FWHM² in deg²: FWHM = √(8 ln2)·σ and
#: 1 centidegree = 0.01°.  (GSAS-II ``getgamFW``: ``gamFW(2.35482*s, g)``.)
GSAS_SIGMA2_TO_FWHM2_DEG2 = 8.0 * math.log(2.0) * 1e-4
#: GSAS(-II) Lorentzian FWHM coefficients and GSAS ICONS ZERO are in centidegrees.
CENTIDEG_TO_DEG = 0.01
#: Default goniometer radius when a file does not state it (mm); the Instrument default.
DEFAULT_GONIOMETER_RADIUS_MM = 150.0
#: Keys an X-ray CW GSAS-II instprm file must hold (``Lam`` or ``Lam1``+``Lam2``+ratio besides).
_INSTPRM_REQUIRED = ("Type", "Zero", "Polariz.", "U", "V", "W", "X", "Y")
#: Keys whose values are text.
_INSTPRM_TEXT_KEYS = frozenset({"Type", "Source", "Bank"})


def gsas_widths_to_closokit(u: float, v: float, w: float, x: float, y: float) -> dict[str, float]:
    """Convert GSAS(-II) CW profile widths to closokit's TCH fields.

    Parameters
    ----------
    u, v, w : float
        GSAS Gaussian variance coefficients (centideg²): σ² = U tan²θ + V tanθ + W.
    x, y : float
        GSAS Lorentzian FWHM coefficients (centideg): γ = X/cosθ + Y tanθ.

    Returns
    -------
    dict
        ``u_deg2``, ``v_deg2``, ``w_deg2`` (FWHM_G² = U tan²θ + V tanθ + W, deg²) and
        ``x_deg`` (tanθ term), ``y_deg`` (1/cosθ term) of closokit's H_L = x tanθ + y / cosθ.

    Examples
    --------
    GSAS's W = 5 centideg² of Gaussian variance is FWHM² = 8 ln2 · 5 · 10⁻⁴ deg²; its X (the
    1/cosθ Lorentzian term, 3 centideg) becomes closokit's ``y_deg`` = 0.03°:

    >>> from xrdkit.instrument_files import gsas_widths_to_closokit
    >>> widths = gsas_widths_to_closokit(2.0, -2.0, 5.0, 3.0, 1.0)
    >>> {key: round(value, 6) for key, value in widths.items()}  # deg², deg
    {'u_deg2': 0.001109, 'v_deg2': -0.001109, 'w_deg2': 0.002773, 'x_deg': 0.01, 'y_deg': 0.03}
    """
    k = GSAS_SIGMA2_TO_FWHM2_DEG2
    return {
        "u_deg2": k * u,
        "v_deg2": k * v,
        "w_deg2": k * w,
        "x_deg": CENTIDEG_TO_DEG * y,
        "y_deg": CENTIDEG_TO_DEG * x,
    }


def _gsas_polarisation(pola: float, azimuth_deg: float) -> float:
    """closokit ``beam_polarisation`` p with P = p + (1 − p) cos²2θ equal to GSAS-II's
    ``Polarization(Pola, 2θ, Azm)`` = ((1−Pola)cos²Az + Pola sin²Az) cos²2θ + (1−Pola) sin²Az + Pola cos²Az
    (the two coefficients sum to one, so one number carries it exactly)."""
    c2 = math.cos(math.radians(azimuth_deg)) ** 2
    return pola * c2 + (1.0 - pola) * (1.0 - c2)


def _check_xray_cw(type_code: str, path: Path) -> None:
    """Accept GSAS(-II) X-ray constant-wavelength histogram types (PXC, and PXB with a warning)."""
    code = type_code.strip().upper()[:3]
    if code == "PXC":
        return
    if code == "PXB":
        log.warning("%s: Type PXB (pink beam): its back-to-back exponential terms are not modelled; "
                    "only the wavelength, zero, polarisation and TCH widths are used", path)
        return
    what = {"PNC": "neutron constant-wavelength", "PNT": "neutron time-of-flight",
            "PNB": "neutron pink-beam", "PXE": "X-ray energy-dispersive"}.get(code, "not an X-ray CW powder type")
    raise InputError(f"instrument Type {type_code.strip()!r} ({what}); closokit handles X-ray "
                     "constant-wavelength powder data (Type PXC) only", source=str(path))


def _number(raw: str, key: str, path: Path) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"key {key!r}: value {raw!r} is not a number", source=str(path)) from None
    if not math.isfinite(value):
        raise InputError(f"key {key!r}: value {raw!r} is not finite", source=str(path))
    return value


def _parse_instprm(text: str, path: Path, bank: int | None) -> dict[str, str]:
    """Key → raw value of one bank of a GSAS-II instprm text (GSAS-II ``ReadPowderInstprm`` rules:
    ``#`` comments, ``key:value`` pairs optionally ``;``-separated, spaces ignored, ``#Bank n``
    headers for multi-bank files, triple-quoted multi-line values)."""
    lines = [ln.rstrip("\r\n") for ln in text.splitlines()]
    if not any(ln.strip() for ln in lines):
        raise InputError("instrument file is empty", source=str(path))
    first = next(ln for ln in lines if ln.strip())
    if "GSAS-II" not in first:
        raise InputError("not a GSAS-II instrument parameter file (the first line must be the "
                         "'#GSAS-II instrument parameter file' comment)", source=str(path))
    banks = [int(ln.split(":")[0].split()[1]) for ln in lines
             if ln.startswith("#") and ln[1:].lstrip().lower().startswith("bank")
             and len(ln.split(":")[0].split()) > 1 and ln.split(":")[0].split()[1].isdigit()]
    if bank is not None and banks and bank not in banks:
        raise InputError(f"bank {bank} not in the file (banks: {banks})", source=str(path))
    want = bank if bank is not None else (min(banks) if banks else None)
    items: dict[str, str] = {}
    current: int | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.startswith("#"):
            head = raw[1:].lstrip()
            parts = head.split(":")[0].split()
            if head.lower().startswith("bank") and len(parts) > 1 and parts[1].isdigit():
                current = int(parts[1])
            continue
        if not raw.strip():
            continue
        if want is not None and current != want:
            continue
        for delim in ('"""', "'''"):
            if delim in raw:  # multi-line text value (e.g. a comment block): kept as text
                key, _, val = raw.partition(":")
                parts_ = [val.replace(delim, "")]
                closed = val.count(delim) >= 2
                while not closed and i < len(lines):
                    val = lines[i]
                    i += 1
                    parts_.append(val.replace(delim, ""))
                    closed = delim in val
                items[key.strip()] = "\n".join(parts_).strip()
                break
        else:
            for pair in raw.replace(" ", "").split(";"):
                if not pair:
                    continue
                key, sep, val = pair.partition(":")
                if not sep:
                    raise InputError(f"line {raw.strip()!r} is not 'key:value'", source=str(path))
                if key in items:
                    raise InputError(f"key {key!r} appears twice", source=str(path))
                items[key] = val
    if not items:
        raise InputError(f"no parameters found{'' if want is None else f' for bank {want}'}", source=str(path))
    return items


def read_instprm(path: str | Path, *, bank: int | None = None,
                 goniometer_radius_mm: float = DEFAULT_GONIOMETER_RADIUS_MM) -> Instrument:
    """Read a GSAS-II instrument parameter file (``.instprm``) of X-ray CW powder data.

    Parameters
    ----------
    path : str or Path
        The file.
    bank : int, optional
        Bank of a multi-bank file (``#Bank n`` headers); default: the lowest.
    goniometer_radius_mm : float
        Not in the file (see the module docstring).

    Returns
    -------
    Instrument
        Named after the file stem; ``provenance`` starts ``"GSAS-II instprm: <absolute path>"``
        and lists what was not used (SH/L, Z).

    Raises
    ------
    InputError
        Empty or unreadable file, not a GSAS-II instprm file, a missing key (``Lam``/``Lam1``,
        ``U`` …), a non-numeric value, a neutron / TOF / energy-dispersive ``Type``, or values
        closokit's :class:`Instrument` rejects — each message names the file and the key.

    Examples
    --------
    A laboratory Cu Kα file as GSAS-II writes it (U, V, W in centideg², X, Y in centideg):

    >>> import pathlib, tempfile
    >>> from xrdkit.instrument_files import read_instprm
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lab.instprm"
    >>> _ = path.write_text("\\n".join([
    ...     "#GSAS-II instrument parameter file; do not add/delete items!",
    ...     "Type:PXC", "Bank:1.0", "Lam1:1.540593", "Lam2:1.544414", "I(L2)/I(L1):0.5",
    ...     "Zero:-0.012", "Polariz.:0.7", "Azimuth:0.0", "U:2.0", "V:-2.0", "W:5.0",
    ...     "X:3.0", "Y:1.0", "Z:0.0", "SH/L:0.002"]) + "\\n")
    >>> inst = read_instprm(path)
    >>> inst.name, inst.wavelengths_angstrom, inst.wavelength_weights
    ('lab', (1.540593, 1.544414), (1.0, 0.5))
    >>> inst.zero_shift_deg, inst.beam_polarisation          # degrees 2θ, as GSAS-II
    (-0.012, 0.7)

    W = 5 centideg² of Gaussian variance is FWHM² = 8 ln2 · 5 · 10⁻⁴ deg²; GSAS-II's X (the
    1/cosθ Lorentzian term) is closokit's ``y_deg``, its Y is ``x_deg``:

    >>> round(inst.w_deg2, 6), inst.y_deg, inst.x_deg                   # deg², deg, deg
    (0.002773, 0.03, 0.01)
    >>> "not used: SH/L = 0.002" in inst.provenance
    True
    """
    p = Path(path).resolve()
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read instrument file ({exc})", source=str(p)) from None
    items = _parse_instprm(text, p, bank)
    for key in _INSTPRM_REQUIRED:
        if key not in items:
            raise InputError(f"missing key {key!r}", source=str(p))
    _check_xray_cw(items["Type"], p)
    num = {k: _number(v, k, p) for k, v in items.items()
           if k not in _INSTPRM_TEXT_KEYS and "\n" not in v and k in
           {"Lam", "Lam1", "Lam2", "I(L2)/I(L1)", "Zero", "Polariz.", "Azimuth", "U", "V", "W", "X", "Y", "Z",
            "SH/L"}}
    if "Lam1" in num:
        for key in ("Lam2", "I(L2)/I(L1)"):
            if key not in num:
                raise InputError(f"missing key {key!r} (the file gives Lam1)", source=str(p))
        wavelengths: tuple[float, ...] = (num["Lam1"], num["Lam2"])
        weights: tuple[float, ...] = (1.0, num["I(L2)/I(L1)"])
    elif "Lam" in num:
        wavelengths, weights = (num["Lam"],), (1.0,)
    else:
        raise InputError("missing key 'Lam' (or 'Lam1')", source=str(p))
    azimuth = num.get("Azimuth", 0.0)
    notes = _unused_notes(num.get("SH/L"), num.get("Z", 0.0), p)
    pol = _gsas_polarisation(num["Polariz."], azimuth)
    if not 0.0 <= pol <= 1.0:
        raise InputError(f"key 'Polariz.': {num['Polariz.']} (azimuth {azimuth}°) gives a polarisation "
                         f"fraction {pol:.4f} outside [0, 1]", source=str(p))
    widths = gsas_widths_to_closokit(num["U"], num["V"], num["W"], num["X"], num["Y"])
    _warn_negative_widths(widths, p)
    tags = [f"Type {items['Type'].strip()}"]
    if bank is not None or "Bank" in items:
        tags.insert(0, f"bank {bank if bank is not None else items['Bank'].removesuffix('.0')}")
    if items.get("Source"):
        tags.append(f"Source {items['Source'].strip()}")
    provenance = f"GSAS-II instprm: {p} ({', '.join(tags)})"
    if notes:
        provenance += "; not used: " + "; ".join(notes)
    return _build(p, provenance, name=p.stem, wavelengths_angstrom=wavelengths, wavelength_weights=weights,
                  beam_polarisation=pol, zero_shift_deg=num["Zero"], goniometer_radius_mm=goniometer_radius_mm,
                  **widths)


def _unused_notes(shl: float | None, z: float, path: Path) -> list[str]:
    notes = []
    if shl is not None:
        notes.append(f"SH/L = {shl:g} (Finger-Cox-Jephcoat axial divergence, S/L + H/L; closokit's "
                     "asymmetry is a different model: refine it on a standard)")
        log.info("%s: SH/L = %g (FCJ axial divergence) is not used; closokit's asymmetry "
                 "(Berar-Baldinozzi) starts at 0", path, shl)
    if z != 0.0:
        notes.append(f"Z = {z:g} centideg (constant Lorentzian width)")
        log.warning("%s: Z = %g centideg (constant Lorentzian FWHM) has no closokit counterpart "
                    "and is dropped; the Lorentzian width will be too small by %.4f deg",
                    path, z, z * CENTIDEG_TO_DEG)
    else:
        log.debug("%s: Z = 0 (constant Lorentzian term), nothing to drop", path)
    return notes


def _warn_negative_widths(widths: dict[str, float], path: Path) -> None:
    for key in ("u_deg2", "w_deg2", "x_deg", "y_deg"):
        if widths[key] < 0:
            log.warning("%s: %s = %g < 0 (closokit refines it within ≥ 0 bounds; the start is "
                        "clipped there)", path, key, widths[key])


def _build(path: Path, provenance: str, **fields: Any) -> Instrument:
    try:
        return Instrument(provenance=provenance, **fields)
    except InputError as exc:
        raise InputError(exc.problem, source=str(path)) from None


# ------------------------------------------------------------------------- GSAS (EXPGUI) .prm
def _prm_records(text: str) -> dict[str, str]:
    """12-character record key (trailing blanks stripped) → the rest of the line (GSAS fixed format)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if len(line) > 12 and line.startswith("INS"):
            out.setdefault(line[:12].rstrip(), line[12:].rstrip())
    return out


def _field(s: str, a: int, b: int, key: str, path: Path) -> float:
    raw = s[a:b].strip()
    return 0.0 if not raw else _number(raw, key, path)  # GSAS: a blank field reads as 0


def read_gsas_prm(path: str | Path, *, bank: int = 1,
                  goniometer_radius_mm: float = DEFAULT_GONIOMETER_RADIUS_MM) -> Instrument:
    """Read a GSAS (GSAS-I / EXPGUI) instrument parameter file such as ``INST_XRY.PRM``.

    Records used (bank ``n``; columns as GSAS-II's ``SetPowderInstParms`` reads them):

    - ``INS   HTYPE``: histogram type, must be ``PXC…`` (X-ray CW).
    - ``INS  n ICONS``: λ1 [0:10], λ2 [10:20] (0 = single line), ZERO [20:30] in **centidegrees**
      (GSAS-II divides by 100), POLA [40:50], IPOLA [50:55], Kα2/Kα1 ratio [55:65].
      IPOLA = 0: POLA is the polarised fraction (GSAS-II's ``Polariz.``); IPOLA = 1: the
      Azaroff monochromator form with POLA = cos²2θ_m (R. B. Von Dreele on the CCP14 pages,
      "Setting up POLA or IPOLA and POLA"), mapped to ``monochromator_two_theta_deg``.
    - ``INS  nPRCF1`` (or ``PRCF ``): profile type, number of terms, cut-off; only profile
      type 3 is read: ``PRCFn1`` = GU GV GW GP (σ², centideg²), ``PRCFn2`` = LX LY S/L H/L
      (γ = LX/cosθ + LY tanθ, centideg).  GP (a Gaussian P/cos²θ term) has no closokit
      counterpart (warning if ≠ 0); S/L + H/L (= GSAS-II SH/L) is not used.

    Parameters
    ----------
    path : str or Path
        The ``.prm`` / ``.ins`` file.
    bank : int
        Bank number of the ``INS  n`` records.
    goniometer_radius_mm : float
        Goniometer radius, mm; not in the file (see the module docstring).

    Returns
    -------
    Instrument
        Named after the file stem; ``provenance`` starts ``"GSAS PRM: <absolute path>"`` and
        lists what was not used (S/L + H/L, GP).

    Raises
    ------
    InputError
        Missing records, non-numeric fields, a non-X-ray-CW type or a profile type other than 3.

    Examples
    --------
    A minimal Cu Kα file in GSAS's fixed columns (12-character keys; ICONS fields of 10
    characters except IPOLA's 5; ZERO in centidegrees; profile type 3, GU GV GW GP in
    centideg², LX LY S/L H/L in centideg):

    >>> import pathlib, tempfile
    >>> from xrdkit.instrument_files import read_gsas_prm
    >>> icons = "".join(f"{v:>10}" for v in (1.5405, 1.5443, -1.5, 0, 0.7)) + f"{0:>5}{0.5:>10}"
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "INST_XRY.PRM"
    >>> _ = path.write_text("\\n".join([
    ...     "INS   HTYPE   PXCR",
    ...     "INS  1 ICONS" + icons,                   # λ1, λ2 (Å), ZERO, -, POLA, IPOLA, ratio
    ...     "INS  1PRCF1     3    8      0.01",        # profile type 3, 8 terms, cut-off
    ...     "INS  1PRCF11   2.0   -2.0   5.0   0.0",   # GU GV GW GP
    ...     "INS  1PRCF12   3.0    1.0   0.015 0.015"]) + "\\n")  # LX LY S/L H/L
    >>> inst = read_gsas_prm(path)
    >>> inst.wavelengths_angstrom, inst.wavelength_weights, inst.beam_polarisation
    ((1.5405, 1.5443), (1.0, 0.5), 0.7)
    >>> inst.zero_shift_deg                                        # −1.5 centidegrees, in degrees
    -0.015
    >>> round(inst.w_deg2, 6), inst.y_deg, inst.x_deg               # deg², deg, deg
    (0.002773, 0.03, 0.01)
    >>> "not used: SH/L = 0.03" in inst.provenance
    True
    """
    p = Path(path).resolve()
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read instrument file ({exc})", source=str(p)) from None
    rec = _prm_records(text)
    if not rec:
        raise InputError("no 'INS' records: not a GSAS instrument parameter file", source=str(p))
    htype = rec.get("INS   HTYPE")
    if htype is None:
        raise InputError("missing record 'INS   HTYPE'", source=str(p))
    _check_xray_cw(htype.strip(), p)
    tag = f"INS{bank:3d}"
    icons_key = f"{tag} ICONS"
    if icons_key not in rec:
        raise InputError(f"missing record {icons_key!r}", source=str(p))
    s = rec[icons_key]
    lam1 = _field(s, 0, 10, "ICONS lambda1", p)
    lam2 = _field(s, 10, 20, "ICONS lambda2", p)
    zero_deg = _field(s, 20, 30, "ICONS ZERO", p) * CENTIDEG_TO_DEG
    pola = _field(s, 40, 50, "ICONS POLA", p)
    ipola = int(_field(s, 50, 55, "ICONS IPOLA", p))
    ratio = _field(s, 55, 65, "ICONS KRATIO", p)
    if lam1 <= 0:
        raise InputError(f"record {icons_key!r}: lambda1 = {lam1} (columns 13-22) must be > 0", source=str(p))
    wavelengths: tuple[float, ...] = (lam1, lam2) if lam2 > 0 else (lam1,)
    weights: tuple[float, ...] = (1.0, ratio) if lam2 > 0 else (1.0,)
    pol_fields: dict[str, Any]
    if ipola == 0:
        pol_fields = {"beam_polarisation": pola}
    elif ipola == 1:
        if not 0.0 <= pola <= 1.0:
            raise InputError(f"record {icons_key!r}: IPOLA = 1 needs POLA = cos²2θm in [0, 1], got {pola}",
                             source=str(p))
        pol_fields = {"monochromator_two_theta_deg": math.degrees(math.acos(math.sqrt(pola)))}
        log.info("%s: IPOLA = 1, POLA = %g read as a monochromator at 2θm = %.3f° (GSAS-II itself "
                 "would take POLA as the polarised fraction)", p, pola, pol_fields["monochromator_two_theta_deg"])
    else:
        raise InputError(f"record {icons_key!r}: IPOLA = {ipola} (expected 0 or 1)", source=str(p))
    prcf_key = next((k for k in (f"{tag}PRCF1", f"{tag}PRCF") if k in rec), None)
    if prcf_key is None:
        raise InputError(f"missing profile record '{tag}PRCF1'", source=str(p))
    head = rec[prcf_key].split()
    try:
        ptype = int(head[0])
    except (IndexError, ValueError):
        raise InputError(f"record {prcf_key!r}: profile type {rec[prcf_key]!r} is not an integer",
                         source=str(p)) from None
    if ptype != 3:
        raise InputError(f"record {prcf_key!r}: profile type {ptype}; only GSAS CW profile type 3 "
                         "(TCH pseudo-Voigt) is read", source=str(p))
    stem = prcf_key if prcf_key.endswith("1") else f"{tag}PRCF "  # PRCF11 / PRCF 1 styles
    k1, k2 = f"{stem}1", f"{stem}2"
    values = []
    for key in (k1, k2):
        if key not in rec:
            raise InputError(f"missing profile record {key!r}", source=str(p))
        fields_ = rec[key].split()
        if len(fields_) < 4:
            raise InputError(f"record {key!r}: 4 numbers expected, got {rec[key].strip()!r}", source=str(p))
        values += [_number(v, f"{key}[{i}]", p) for i, v in enumerate(fields_[:4])]
    gu, gv, gw, gp, lx, ly, s_l, h_l = values
    if gp != 0.0:
        log.warning("%s: GP = %g centideg² (Gaussian P/cos²θ term) has no closokit counterpart and is "
                    "dropped", p, gp)
    widths = gsas_widths_to_closokit(gu, gv, gw, lx, ly)
    _warn_negative_widths(widths, p)
    notes = _unused_notes(s_l + h_l, 0.0, p)
    if gp != 0.0:
        notes.append(f"GP = {gp:g} centideg² (Gaussian P/cos²θ)")
    irad = {1: "CrKa", 2: "FeKa", 3: "CuKa", 4: "MoKa", 5: "AgKa", 6: "TiKa", 7: "CoKa"}  # GSAS-II's Irads
    raw_irad = rec.get(f"{tag} IRAD", "").strip()
    source = irad.get(int(raw_irad), f"IRAD {raw_irad}") if raw_irad.isdigit() else None
    provenance = f"GSAS PRM: {p} (bank {bank}, {htype.strip()}, profile type 3{', ' + source if source else ''})"
    if notes:
        provenance += "; not used: " + "; ".join(notes)
    return _build(p, provenance, name=p.stem, wavelengths_angstrom=wavelengths, wavelength_weights=weights,
                  zero_shift_deg=zero_deg, goniometer_radius_mm=goniometer_radius_mm, **pol_fields, **widths)


# ----------------------------------------------------------------------------- closokit JSON
def write_instrument_json(instrument: Instrument, path: str | Path, *, comment: str | None = None) -> Path:
    """Write ``instrument`` as a closokit instrument JSON file (readable by ``load_instrument``).

    Parameters
    ----------
    instrument : Instrument
    path : str or Path
    comment : str, optional
        Stored as ``_comment`` (keys starting with ``_`` are ignored on reading).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The file cannot be written.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.instrument_files import write_instrument_json
    >>> inst = load_instrument("miniflex600-cuka").replace(name="lab-a", zero_shift_deg=0.021)
    >>> path = write_instrument_json(inst, pathlib.Path(tempfile.mkdtemp()) / "lab-a.json",
    ...                              comment="zero from a Si scan of 2026-01-12")
    >>> json.loads(path.read_text())["_comment"]
    'zero from a Si scan of 2026-01-12'
    >>> load_instrument(path) == inst
    True
    """
    data: dict[str, Any] = {}
    if comment:
        data["_comment"] = comment
    d = instrument.to_dict()
    d["wavelengths_angstrom"] = list(d["wavelengths_angstrom"])
    d["wavelength_weights"] = list(d["wavelength_weights"])
    data.update(d)
    return _write_instrument_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _write_instrument_text(path: str | Path, text: str) -> Path:
    """Write an instrument file's text; an OS error becomes an InputError naming the file."""
    out = Path(path)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write instrument file ({exc})", source=str(out)) from None
    return out


def write_instprm(instrument: Instrument, path: str | Path) -> Path:
    """Write ``instrument`` as a GSAS-II ``.instprm`` file (X-ray CW), the inverse of :func:`read_instprm`.

    The mapping is the module's table read backwards: U, V, W = closokit's FWHM² terms /
    (8 ln2 · 1e-4); X = ``y_deg``/0.01 (the 1/cosθ Lorentzian term), Y = ``x_deg``/0.01; a
    monochromator at 2θm becomes ``Polariz.`` = 1/(1 + cos²2θm) at azimuth 0, a synchrotron
    polarisation is written as it is, no polarisation as 0.5. Not representable there: the
    goniometer radius, displacement, transparency and closokit's ``asymmetry`` (SH/L is written
    as 0; refine it in GSAS-II if needed) — they are listed in a comment line.

    Parameters
    ----------
    instrument : Instrument
    path : str or Path

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        More than two wavelengths, or the file cannot be written.

    Examples
    --------
    The lab preset to GSAS-II and back: the widths survive the unit conversions.

    >>> import tempfile, pathlib
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.instrument_files import read_instprm, write_instprm
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "lab.instprm"
    >>> inst = load_instrument("miniflex600-cuka")
    >>> back = read_instprm(write_instprm(inst, out))
    >>> round(back.w_deg2, 6) == round(inst.w_deg2, 6)
    True
    >>> [line for line in out.read_text().splitlines() if line.startswith(("Lam1", "Polariz"))]
    ['Lam1:1.540593', 'Polariz.:0.5']
    """
    lams = tuple(instrument.wavelengths_angstrom)
    if len(lams) > 2:
        raise InputError(f"{len(lams)} wavelengths: a GSAS-II instprm file holds one or a Kα1/Kα2 pair",
                         source=str(path))
    if instrument.beam_polarisation is not None:
        pola = float(instrument.beam_polarisation)
    elif instrument.monochromator_two_theta_deg:
        c2 = math.cos(math.radians(instrument.monochromator_two_theta_deg)) ** 2
        pola = 1.0 / (1.0 + c2)
    else:
        pola = 0.5
    k = GSAS_SIGMA2_TO_FWHM2_DEG2
    rows = ["#GSAS-II instrument parameter file; do not add/delete items!",
            f"#written by closokit from instrument '{instrument.name}'; not representable here: goniometer radius "
            f"{instrument.goniometer_radius_mm:g} mm, displacement {instrument.displacement_mm:g} mm, "
            f"transparency {instrument.penetration_depth_mm:g} mm, asymmetry {instrument.asymmetry:g}",
            "Type:PXC", "Bank:1.0"]
    if len(lams) == 2:
        ratio = instrument.wavelength_weights[1] / instrument.wavelength_weights[0]
        rows += [f"Lam1:{lams[0]!r}", f"Lam2:{lams[1]!r}", f"I(L2)/I(L1):{ratio!r}"]
    else:
        rows.append(f"Lam:{lams[0]!r}")
    rows += [f"Zero:{instrument.zero_shift_deg!r}", f"Polariz.:{pola!r}", "Azimuth:0.0",
             f"U:{instrument.u_deg2 / k!r}", f"V:{instrument.v_deg2 / k!r}", f"W:{instrument.w_deg2 / k!r}",
             f"X:{instrument.y_deg / CENTIDEG_TO_DEG!r}", f"Y:{instrument.x_deg / CENTIDEG_TO_DEG!r}",
             "Z:0.0", "SH/L:0.0"]
    return _write_instrument_text(path, "\n".join(rows) + "\n")


def write_instrument(instrument: Instrument, path: str | Path, *, comment: str | None = None) -> Path:
    """Write ``instrument`` in the format the suffix names: ``.instprm`` (GSAS-II) or JSON (closokit).

    Parameters
    ----------
    instrument : Instrument
    path : str or Path
    comment : str, optional
        Stored in the JSON file (``_comment``).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The file cannot be written; for ``.instprm``, more than two wavelengths.

    Examples
    --------
    The same instrument in both formats; each reads back with
    :func:`~xrdkit.instrument.load_instrument`:

    >>> import pathlib, tempfile
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.instrument_files import write_instrument
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> inst = load_instrument("synchrotron-0p8")
    >>> for name in ("beamline.json", "beamline.instprm"):
    ...     back = load_instrument(write_instrument(inst, folder / name))
    ...     print(name, back.wavelengths_angstrom, back.beam_polarisation, round(back.u_deg2, 6))
    beamline.json (0.8,) 0.95 0.0002
    beamline.instprm (0.8,) 0.95 0.0002
    """
    if Path(path).suffix.lower() == ".instprm":
        return write_instprm(instrument, path)
    return write_instrument_json(instrument, path, comment=comment)

