"""Reference templates built from real measured spectra (methanol, water vapour), with provenance.

The band library (:mod:`irkit.bands`) describes species by a few band priors; where a real
reference spectrum exists, a *template* made from it describes a species better (every band,
its shape and its relative strength as measured). Templates live in
``reference_data/ir_templates/``: one CSV (wavenumber, absorbance normalised to a maximum of 1)
per template and ``templates.json`` with the provenance, the processing and the *marker windows*
(wavenumber ranges the impurity screen looks at; each window can be required for a positive
flag). :func:`build_templates` rebuilds them from the source files (``../shared/realdata/
ir_solvents``), so the processing is reproducible::

    python -m irkit.templates SOURCE_DIR OUT_DIR

Processing (:func:`make_template`): JCAMP → absorbance (transmittance converted) → resampled on
a 1 cm⁻¹ grid → pybaselines arPLS baseline removed (stiffness 200 cm⁻¹) → optional Gaussian
smoothing (the gas-phase rotational structure of methanol is smoothed to 8 cm⁻¹ FWHM, closer to a
condensed residue) → ranges that change between gas and condensed phase set to zero (methanol's
free O–H stretch at 3681 cm⁻¹, which moves to ~3340 cm⁻¹ and broadens in the liquid) →
normalised to a maximum of 1.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from irkit.spectra import Spectrum, read_spectrum, to_absorbance
from xrdkit._paths import reference_data_dir
from xrdkit.errors import InputError

__all__ = ["TemplateWindow", "ReferenceTemplate", "load_templates", "make_template",
           "build_templates", "TEMPLATE_RECIPES", "TEMPLATE_DIR"]

logger = logging.getLogger(__name__)

#: Folder of the templates inside ``reference_data``.
TEMPLATE_DIR = "ir_templates"
#: Grid step of the stored templates (cm⁻¹).
TEMPLATE_STEP_CM1 = 1.0
#: arPLS stiffness for the template baseline (cm⁻¹; ~3× the widest gas band envelope).
TEMPLATE_BASELINE_STIFFNESS_CM1 = 200.0
#: Gaussian FWHM / σ.
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class TemplateWindow:
    """A marker window of a template.

    Attributes
    ----------
    low_cm1, high_cm1 : float
        Range (cm⁻¹).
    label : str
        What absorbs there.
    required : bool
        A positive flag needs this window to show the template (at about the expected strength
        and position) whenever the template predicts it to be visible.
    shift_tolerance_cm1 : float
        How far the best-matching shift of the template may be from zero in this window.

    Examples
    --------
    >>> from irkit.templates import load_templates
    >>> load_templates()["methanol"].windows[0]
    TemplateWindow(low_cm1=985.0, high_cm1=1085.0, label='C-O stretch (strongest band)', required=True, shift_tolerance_cm1=12.0)
    """

    low_cm1: float
    high_cm1: float
    label: str
    required: bool
    shift_tolerance_cm1: float


@dataclass(frozen=True)
class ReferenceTemplate:
    """A species template from a real reference spectrum.

    Attributes
    ----------
    name : str
        Template name (``methanol``, ``water_vapour``).
    species : str
        Verdict field it feeds (``methanol``, ``water``).
    form : str
        E.g. ``"vapour"``; reported with the flag.
    wavenumber_cm1, absorbance : ndarray
        Template on its own grid (cm⁻¹; absorbance normalised to a maximum of 1).
    windows : tuple of TemplateWindow
        Its marker windows (the screen's pattern check).
    provenance : str
        Source file, origin, licence and processing.

    Examples
    --------
    The bundled methanol template (a real gas-phase reference):

    >>> from irkit.templates import load_templates
    >>> methanol = load_templates()["methanol"]
    >>> methanol.species, methanol.form, float(methanol.absorbance.max())
    ('methanol', 'gas-phase reference', 1.0)
    >>> [window.label for window in methanol.windows]
    ['C-O stretch (strongest band)', 'C-H stretch']
    """

    name: str
    species: str
    form: str
    wavenumber_cm1: np.ndarray
    absorbance: np.ndarray
    windows: tuple[TemplateWindow, ...]
    provenance: str

    def on(self, wavenumber_cm1: np.ndarray, shift_cm1: float = 0.0) -> np.ndarray:
        """The template on another axis (zero outside its range), optionally shifted up by
        ``shift_cm1``.

        Parameters
        ----------
        wavenumber_cm1 : array_like
            Axis in cm⁻¹.
        shift_cm1 : float
            Shift of the template towards higher wavenumbers, cm⁻¹.

        Returns
        -------
        ndarray
            Normalised absorbance (linear interpolation), 0 outside the template's range.

        Examples
        --------
        >>> from irkit.templates import load_templates
        >>> methanol = load_templates()["methanol"]
        >>> methanol.on([1057.0, 5000.0]).tolist()           # its maximum; outside the range
        [1.0, 0.0]
        >>> float(methanol.on([1067.0], shift_cm1=10.0)[0])  # the same point, shifted by 10 cm⁻¹
        1.0
        """
        x = np.asarray(wavenumber_cm1, dtype=float) - shift_cm1
        return np.interp(x, self.wavenumber_cm1, self.absorbance, left=0.0, right=0.0)


#: How each template is made from its source file: smoothing FWHM (0: none), ranges set to zero,
#: marker windows ``(low, high, label, required, shift tolerance)``, verdict species and form.
TEMPLATE_RECIPES: dict[str, dict] = {
    "methanol": {
        "source": "methanol.jdx", "species": "methanol", "form": "gas-phase reference",
        "smooth_fwhm_cm1": 8.0,
        "zero_ranges_cm1": [[3200.0, 4000.0]],
        "zero_reason": "free O-H stretch of the gas (3681 cm-1) moves to ~3340 cm-1 and "
                       "broadens in condensed methanol: not used",
        "windows": [[985.0, 1085.0, "C-O stretch (strongest band)", True, 12.0],
                    [2790.0, 3060.0, "C-H stretch", True, 25.0]],
    },
    "water_vapour": {
        "source": "water.jdx", "species": "water", "form": "vapour",
        "smooth_fwhm_cm1": 0.0,
        "zero_ranges_cm1": [],
        "zero_reason": "",
        "windows": [[1380.0, 1580.0, "H-O-H bend, P branch (rotational lines)", True, 4.0],
                    [1640.0, 1860.0, "H-O-H bend, R branch (rotational lines)", True, 4.0],
                    [3560.0, 3700.0, "O-H stretch, lower branch", False, 4.0],
                    [3740.0, 3900.0, "O-H stretch, upper branch", False, 4.0]],
    },
}


def make_template(spectrum: Spectrum, *, smooth_fwhm_cm1: float = 0.0,
                  zero_ranges_cm1: Sequence[Sequence[float]] = (),
                  step_cm1: float = TEMPLATE_STEP_CM1) -> tuple[np.ndarray, np.ndarray]:
    """Turn a reference spectrum into a template (see the module docstring).

    Parameters
    ----------
    spectrum : Spectrum
        The reference spectrum (transmittance is converted to absorbance).
    smooth_fwhm_cm1 : float
        FWHM of the Gaussian smoothing, cm⁻¹ (0: none).
    zero_ranges_cm1 : sequence of (float, float)
        Ranges (cm⁻¹) set to zero after the baseline is removed.
    step_cm1 : float
        Grid step, cm⁻¹.

    Returns
    -------
    wavenumber_cm1, absorbance : ndarray
        Template on a ``step_cm1`` grid, maximum 1.

    Raises
    ------
    InputError
        Nothing positive is left after the baseline and the zeroed ranges.

    Examples
    --------
    A template from a (here constructed) spectrum of an isopropanol residue, its O–H stretch
    left out:

    >>> from irkit.synthetic import synthesize
    >>> from irkit.templates import make_template
    >>> residue = synthesize(4, borate=0.0, isopropanol=0.3, baseline="curved").spectrum
    >>> x, y = make_template(residue, smooth_fwhm_cm1=8.0, zero_ranges_cm1=[(3200.0, 4000.0)])
    >>> float(x[0]), float(x[1] - x[0]), float(y.max())     # cm⁻¹, cm⁻¹, normalised
    (550.0, 1.0, 1.0)
    >>> float(x[y.argmax()]), float(y[x > 3200].max())      # strongest band: ν(C–C–O) 950 cm⁻¹
    (950.0, 0.0)
    """
    from pybaselines import Baseline
    from scipy.ndimage import gaussian_filter1d

    a = to_absorbance(spectrum)
    x = np.arange(np.ceil(a.wavenumber_cm1[0]), np.floor(a.wavenumber_cm1[-1]) + step_cm1 / 2,
                  step_cm1)
    y = np.interp(x, a.wavenumber_cm1, a.values)
    baseline, _ = Baseline(x_data=x).arpls(
        y, lam=float((TEMPLATE_BASELINE_STIFFNESS_CM1 / step_cm1) ** 4))
    net = y - baseline
    if smooth_fwhm_cm1 > 0:
        net = gaussian_filter1d(net, smooth_fwhm_cm1 / _FWHM_PER_SIGMA / step_cm1)
    for low, high in zero_ranges_cm1:
        net[(x >= low) & (x <= high)] = 0.0
    peak = float(net.max())
    if not peak > 0:
        raise InputError("template has no positive absorption", source=spectrum.source)
    return x, net / peak


def build_templates(source_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Rebuild every template of :data:`TEMPLATE_RECIPES` from the real source files.

    Writes ``NAME.csv`` per template and ``templates.json`` (provenance, processing, windows)
    into ``out_dir``; returns the written paths.

    Parameters
    ----------
    source_dir : str or Path
        Folder with the JCAMP-DX source files each recipe names (``methanol.jdx``,
        ``water.jdx``).
    out_dir : str or Path
        Folder to write the templates into (created if missing).

    Returns
    -------
    list of Path
        One CSV per template, then ``templates.json``.

    Raises
    ------
    InputError
        A source file is missing or unreadable, or gives no positive absorption.

    Examples
    --------
    The source spectra are the NIST JCAMP-DX files in ``../shared/realdata/ir_solvents``
    beside the repository; they are not part of it, so this example does not run here:

    >>> from irkit.templates import build_templates, load_templates
    >>> written = build_templates("../shared/realdata/ir_solvents", "new_templates")  # doctest: +SKIP
    >>> [p.name for p in written]                                                     # doctest: +SKIP
    ['methanol.csv', 'water_vapour.csv', 'templates.json']
    >>> sorted(load_templates("new_templates"))                                       # doctest: +SKIP
    ['methanol', 'water_vapour']
    """
    src, out = Path(source_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, dict] = {}
    written = []
    for name, recipe in TEMPLATE_RECIPES.items():
        path = src / recipe["source"]
        spectrum = read_spectrum(path)
        header = {k: spectrum.metadata.get(k) for k in ("title", "origin", "date")
                  if spectrum.metadata.get(k)}
        owner = next((ln.split("=", 1)[1].strip() for ln in
                      path.read_text(encoding="utf-8", errors="replace").splitlines()
                      if ln.upper().startswith("##OWNER=")), "")
        state = next((ln.split("=", 1)[1].strip() for ln in
                      path.read_text(encoding="utf-8", errors="replace").splitlines()
                      if ln.upper().startswith("##STATE=")), "")
        x, y = make_template(spectrum, smooth_fwhm_cm1=recipe["smooth_fwhm_cm1"],
                             zero_ranges_cm1=recipe["zero_ranges_cm1"])
        csv_path = out / f"{name}.csv"
        np.savetxt(csv_path, np.column_stack([x, y]), delimiter=",", fmt=["%.1f", "%.6g"],
                   header="wavenumber_cm1,absorbance_normalised", comments="")
        written.append(csv_path)
        processing = (f"JCAMP read by irkit ({spectrum.kind}"
                      + (", converted to absorbance" if spectrum.kind == "transmittance" else "")
                      + f"); resampled to {TEMPLATE_STEP_CM1:g} cm-1; pybaselines arPLS baseline "
                      f"(stiffness {TEMPLATE_BASELINE_STIFFNESS_CM1:g} cm-1) removed"
                      + (f"; Gaussian smoothing to {recipe['smooth_fwhm_cm1']:g} cm-1 FWHM"
                         if recipe["smooth_fwhm_cm1"] else "")
                      + (f"; set to zero in {recipe['zero_ranges_cm1']} cm-1 "
                         f"({recipe['zero_reason']})" if recipe["zero_ranges_cm1"] else "")
                      + "; normalised to a maximum of 1")
        meta[name] = {
            "file": csv_path.name, "species": recipe["species"], "form": recipe["form"],
            "source_file": f"../shared/realdata/ir_solvents/{recipe['source']}",
            "source": ("NIST Chemistry WebBook JCAMP-DX file as kept in nzhagen/jcamp "
                       "(GitHub, MIT), data/infrared_spectra/; header: "
                       + "; ".join(f"{k}={v}" for k, v in header.items())
                       + (f"; owner: {owner}" if owner else "") + (f"; state: {state}"
                                                                   if state else "")),
            "processing": processing,
            "windows": [{"low_cm1": w[0], "high_cm1": w[1], "label": w[2], "required": w[3],
                         "shift_tolerance_cm1": w[4]} for w in recipe["windows"]],
        }
    meta_path = out / "templates.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    written.append(meta_path)
    return written


def load_templates(folder: str | Path | None = None) -> dict[str, ReferenceTemplate]:
    """The reference templates (default: ``reference_data/ir_templates``), by name.

    Parameters
    ----------
    folder : str or Path, optional
        A folder written by :func:`build_templates` (``templates.json`` + one CSV per
        template). The default folder is read once per process.

    Returns
    -------
    dict of str to ReferenceTemplate

    Raises
    ------
    InputError
        Missing or unreadable files, a template without provenance.

    Examples
    --------
    >>> from irkit.templates import load_templates
    >>> templates = load_templates()
    >>> sorted(templates)
    ['methanol', 'water_vapour']
    >>> methanol = templates["methanol"]
    >>> methanol.species, float(methanol.wavenumber_cm1[0]), float(methanol.wavenumber_cm1[-1])
    ('methanol', 464.0, 3806.0)
    >>> [(w.low_cm1, w.high_cm1, w.label) for w in methanol.windows]          # cm⁻¹
    [(985.0, 1085.0, 'C-O stretch (strongest band)'), (2790.0, 3060.0, 'C-H stretch')]
    >>> templates["water_vapour"].species, templates["water_vapour"].form
    ('water', 'vapour')
    """
    if folder is None:
        return _default_templates()
    return _load(Path(folder))


@functools.lru_cache(maxsize=1)
def _default_templates() -> dict[str, ReferenceTemplate]:
    return _load(reference_data_dir() / TEMPLATE_DIR)


def _load(folder: Path) -> dict[str, ReferenceTemplate]:
    meta_path = folder / "templates.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read template index ({exc})", source=str(meta_path)) from None
    templates = {}
    for name, m in meta.items():
        path = folder / m["file"]
        if not m.get("source") or not m.get("processing"):
            raise InputError(f"template {name!r} has no provenance", source=str(meta_path))
        try:
            data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read template ({exc})", source=str(path)) from None
        x, y = data[:, 0].copy(), data[:, 1].copy()
        x.setflags(write=False)
        y.setflags(write=False)
        windows = tuple(TemplateWindow(float(w["low_cm1"]), float(w["high_cm1"]), w["label"],
                                       bool(w["required"]), float(w["shift_tolerance_cm1"]))
                        for w in m["windows"])
        templates[name] = ReferenceTemplate(
            name=name, species=m["species"], form=m["form"], wavenumber_cm1=x, absorbance=y,
            windows=windows,
            provenance=f"{m['source_file']}: {m['source']}; processing: {m['processing']}")
    return templates


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - maintenance tool
    """``python -m irkit.templates SOURCE_DIR OUT_DIR``: rebuild the templates."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m irkit.templates SOURCE_DIR OUT_DIR\n")
        return 2
    for path in build_templates(args[0], args[1]):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
