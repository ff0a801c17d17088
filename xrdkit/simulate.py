"""The pattern model: phases + instrument + background → intensity on a 2θ grid.

:class:`PatternModel` is the engine both :func:`simulate` and
:mod:`xrdkit.refine` use.  It splits the pattern into *linear* columns (one per
structural phase at unit scale, one per reflection family of a Pawley phase, and
Chebyshev background terms) and *nonlinear* parameters (lattice, zero shift,
sample displacement, transparency, TCH widths, asymmetry, B_iso, March–Dollase),
so a fit can solve the linear part directly and hand only the nonlinear part to
the optimiser.  Given the linear coefficients it also returns the analytic
Jacobian of the model with respect to any subset of nonlinear parameters.

Intensity of peak k (family r of phase p, emission line i)::

    I_k = w_i · m_r · |F_r|² · LP(2θ_k) · exp(−B_p / (2 d_r²)) · MD_r(ratio_p)

with ``MD`` the March–Dollase factor averaged over the family members
(Dollase, *J. Appl. Cryst.* 19 (1986) 267, doi:10.1107/S0021889886089458).

Weight fractions ↔ scale factors (Hill & Howard, *J. Appl. Cryst.* 20 (1987) 467,
doi:10.1107/S0021889887086199): with intensities per cell as above, the scale of
phase p is ``s_p ∝ w_p / (Z·M·V)_p``, where Z·M is the mass of the cell contents and
V the cell volume.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev

from xrdkit._callable import make_callable
from xrdkit._kernels import accumulate_columns, accumulate_jacobian, compute_peak_table
from xrdkit.errors import InputError
from xrdkit.instrument import Instrument, load_instrument
from xrdkit.profiles import DEFAULT_WINDOW_FWHM, MAX_WINDOW_HALF_DEG
from xrdkit.reflections import ReflectionList, compute_reflections

__all__ = [
    "ParamKey",
    "PatternModel",
    "ColumnJacobian",
    "Evaluation",
    "SimulatedPattern",
    "simulate",
    "resolve_phases",
    "GLOBAL_PARAMETERS",
    "PHASE_PARAMETERS",
]

log = logging.getLogger(__name__)

#: A peak enters the model when its Bragg 2θ lies within this margin of the scan's range
#: (its window, and its centre after the shifts, are then placed exactly).
PEAK_RANGE_MARGIN_DEG = 3.0
#: Instrument fields that are nonlinear parameters of every pattern model, in order.
GLOBAL_PARAMETERS = (
    "zero_shift_deg",
    "displacement_mm",
    "penetration_depth_mm",
    "u_deg2",
    "v_deg2",
    "w_deg2",
    "x_deg",
    "y_deg",
    "asymmetry",
)
#: Per-phase nonlinear parameters besides the lattice: overall B (Å²), March–Dollase
#: ratio, and sample broadening added to the instrument's TCH widths — microstrain
#: (Gaussian, H_G² += strain·tan²θ, deg²) and crystallite size (Lorentzian,
#: H_L += size/cosθ, deg; Scherrer size = K·λ/(size·π/180)).
PHASE_PARAMETERS = ("b_iso", "march_dollase", "strain_deg2", "size_deg")
#: Starting values of the per-phase parameters.
PHASE_DEFAULTS = {"b_iso": 0.0, "march_dollase": 1.0, "strain_deg2": 0.0, "size_deg": 0.0}
#: Floor of the Gaussian FWHM (deg): a Caglioti U tan²θ + V tanθ + W that dips below
#: it is held there (and its gradient is zero), so a negative V cannot produce zero widths.
MIN_GAUSS_FWHM_DEG = 1e-3
#: Evaluations a model remembers, with their Jacobians (the end point of the last fit and a trial
#: point after it; each holds peak columns × parameters × points, and holding more of these costs
#: fresh pages at every allocation) and without (e.g. a screening evaluation).
EVALUATION_MEMO_SIZE = 2
#: Tolerance on weight fractions summing to one.
FRACTION_SUM_TOL = 1e-6


@dataclass(frozen=True)
class ParamKey:
    """Structured name of one nonlinear parameter: a global instrument field or a phase field.

    Attributes
    ----------
    field : str
        An :class:`~xrdkit.instrument.Instrument` field (``zero_shift_deg``) or a phase field
        (``a``, ``b_iso``, ``strain_deg2`` …).
    phase : int or None
        Index of the phase, None for an instrument field.

    Examples
    --------
    >>> from xrdkit.simulate import ParamKey
    >>> ParamKey("a", 0).label(["nbh-fcc"]), ParamKey("zero_shift_deg").label(["nbh-fcc"])
    ('nbh_fcc_a', 'zero_shift_deg')
    """

    field: str
    phase: int | None = None

    def label(self, phase_names: Sequence[str]) -> str:
        """lmfit-compatible parameter name, e.g. ``nbh_fcc_a`` or ``zero_shift_deg``."""
        if self.phase is None:
            return self.field
        safe = "".join(ch if ch.isalnum() else "_" for ch in phase_names[self.phase])
        return f"{safe}_{self.field}"


@dataclass(frozen=True)
class ColumnJacobian:
    """∂column/∂θ of every peak column, stored only for the (column, parameter) pairs that can
    be nonzero (a phase's column does not depend on another phase's parameters).

    Attributes
    ----------
    values : ndarray, shape (r, n)
        Row s is ∂ column[s] / ∂ θ[parameter[s]] on the grid.
    column, parameter : ndarray of int, shape (r,)
        The pair of each row (parameter: position in the ``jacobian_for`` list).
    shape : (int, int, int)
        (peak columns, parameters, points) of the dense array.

    Examples
    --------
    One phase (fcc Al) and one parameter (its a): one stored row; the same derivative as the
    Jacobian of the column times a coefficient of 1:

    >>> import numpy as np
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.simulate import ParamKey, PatternModel, resolve_phases
    >>> inst = load_instrument("miniflex600-cuka")
    >>> model = PatternModel(resolve_phases(["al"], inst, 60.0), np.arange(30.0, 60.0, 0.01), inst,
    ...                      background_terms=3)
    >>> theta = model.initial_vector()
    >>> a = model.index(ParamKey("a", 0))
    >>> per_column = model.evaluate(theta, jacobian_for=[a]).column_jacobian
    >>> per_column.shape, per_column.values.shape
    ((1, 1, 3000), (1, 3000))
    >>> combined = model.evaluate(theta, coefficients=np.array([1.0]), jacobian_for=[a]).jacobian
    >>> bool(np.allclose(per_column.dense()[0, 0], combined[:, 0]))
    True
    """

    values: np.ndarray
    column: np.ndarray
    parameter: np.ndarray
    shape: tuple[int, int, int]

    def dense(self) -> np.ndarray:
        """The (peak columns, parameters, points) array, zeros where no row is stored."""
        out = np.zeros(self.shape)
        out[self.column, self.parameter] = self.values
        return out


@dataclass(frozen=True)
class Evaluation:
    """Linear columns of the model (and optionally the Jacobian of Σ c·column).

    Attributes
    ----------
    peak_columns : ndarray, shape (n, m_peaks)
        Phase / Pawley-family columns at unit coefficient (they vary with θ).
    background : ndarray, shape (n, m_b)
        The background basis (the same for every θ).
    jacobian : ndarray, shape (n, p) or None
        ∂(columns @ coefficients)/∂θ for the requested parameters (when coefficients were given).
    n_peaks, n_evaluated : int
        Peaks in range and profile points evaluated.
    column_jacobian : ColumnJacobian or None
        ∂column/∂θ of every peak column separately (when no coefficients were given), so
        that ∂(columns @ c)/∂θ = ``Σ_c c[c]·column_jacobian.dense()[c].T``.

    Examples
    --------
    fcc Al between 30 and 60° 2θ: (111) and (200), each Kα1 and Kα2, are 4 peaks; one phase
    column and 3 background terms:

    >>> import numpy as np
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.simulate import ParamKey, PatternModel, resolve_phases
    >>> inst = load_instrument("miniflex600-cuka")
    >>> model = PatternModel(resolve_phases(["al"], inst, 60.0), np.arange(30.0, 60.0, 0.01), inst,
    ...                      background_terms=3)
    >>> theta = model.initial_vector()
    >>> ev = model.evaluate(theta)
    >>> ev.peak_columns.shape, ev.background.shape, ev.columns.shape, ev.n_peaks, ev.jacobian
    ((3000, 1), (3000, 3), (3000, 4), 4, None)
    """

    peak_columns: np.ndarray
    background: np.ndarray
    jacobian: np.ndarray | None
    n_peaks: int
    n_evaluated: int
    column_jacobian: ColumnJacobian | None = None

    @functools.cached_property
    def columns(self) -> np.ndarray:
        """All linear columns, peaks then background (n, m), read-only."""
        out = np.hstack([self.peak_columns, self.background])
        out.flags.writeable = False
        return out


def _md_factor(cos2: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """March–Dollase P(α) and ∂P/∂r for members with cos²α; shapes of ``cos2``."""
    r = max(ratio, 1e-6)
    sin2 = 1.0 - cos2
    base = r * r * cos2 + sin2 / r
    val = base**-1.5
    dval = -1.5 * base**-2.5 * (2 * r * cos2 - sin2 / (r * r))
    return val, dval


class PatternModel:
    """Evaluate a multi-phase powder pattern and its Jacobian on a fixed 2θ grid.

    Parameters
    ----------
    phases : sequence of ReflectionList
        Reflection lists of the phases (computed once, e.g. by :func:`resolve_phases`).
    two_theta_deg : ndarray, shape (n,)
        Strictly increasing grid.
    instrument : Instrument
        Wavelengths, LP, goniometer radius (the width/shift fields are starting values).
    pawley : sequence of bool, optional
        Per phase: True → one free non-negative intensity per reflection family
        (Pawley), False → one scale factor with the structure's |F|².
    background_terms : int
        Number of Chebyshev terms (polynomial degree + 1) of the background.
    preferred_orientation : dict, optional
        Phase index → (h, k, l) axis of March–Dollase preferred orientation.
    window_fwhm : float
        Profile window half-width in FWHM.
    extra_background : dict of str → ndarray, optional
        Named fixed columns on the grid (e.g. an amorphous hump of fixed shape, see
        :mod:`xrdkit.amorphous`) appended to the background basis with non-negative
        coefficients.

    Examples
    --------
    The parameters of a one-phase model, and its analytic derivative along the lattice
    constant checked against a central difference:

    >>> import numpy as np
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.simulate import ParamKey, PatternModel, resolve_phases
    >>> inst = load_instrument("miniflex600-cuka")
    >>> model = PatternModel(resolve_phases(["al"], inst, 60.0), np.arange(30.0, 60.0, 0.01), inst,
    ...                      background_terms=3)
    >>> theta = model.initial_vector()
    >>> model.labels()[:3], model.labels()[-5:]
    (['zero_shift_deg', 'displacement_mm', 'penetration_depth_mm'], ['al_a', 'al_b_iso', 'al_march_dollase', 'al_strain_deg2', 'al_size_deg'])
    >>> a = model.index(ParamKey("a", 0))
    >>> float(theta[a])                                             # Å
    4.04958
    >>> analytic = model.evaluate(theta, coefficients=np.array([1.0]), jacobian_for=[a]).jacobian[:, 0]
    >>> step = np.zeros_like(theta)
    >>> step[a] = 1e-6                                              # Å
    >>> numeric = (model.evaluate(theta + step).peak_columns[:, 0]
    ...            - model.evaluate(theta - step).peak_columns[:, 0]) / 2e-6
    >>> bool(np.abs(analytic - numeric).max() < 1e-5 * np.abs(numeric).max())
    True
    """

    def __init__(
        self,
        phases: Sequence[ReflectionList],
        two_theta_deg: np.ndarray,
        instrument: Instrument,
        *,
        pawley: Sequence[bool] | None = None,
        background_terms: int = 6,
        preferred_orientation: dict[int, tuple[int, int, int]] | None = None,
        window_fwhm: float = DEFAULT_WINDOW_FWHM,
        extra_background: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.phases = tuple(phases)
        self.x = np.asarray(two_theta_deg, dtype=float)
        self.instrument = instrument
        self.pawley = tuple(bool(p) for p in (pawley or [False] * len(self.phases)))
        if len(self.pawley) != len(self.phases):
            raise InputError("pawley flags must match the number of phases")
        if background_terms < 0:
            raise InputError(f"background_terms={background_terms} must be ≥ 0")
        self.window_fwhm = float(window_fwhm)
        self.wavelengths = np.asarray(instrument.wavelengths_angstrom, dtype=float)
        self.wavelength_weights = np.asarray(instrument.wavelength_weights, dtype=float)
        self.phase_names = tuple(p.name for p in self.phases)

        # linear columns: phases (or Pawley families) first, then background
        self.column_offsets: list[int] = []
        col = 0
        for refl, paw in zip(self.phases, self.pawley, strict=True):
            self.column_offsets.append(col)
            col += refl.n if paw else 1
        self.n_peak_columns = col
        lo, hi = self.x[0], self.x[-1]
        xs = (2.0 * self.x - (lo + hi)) / max(hi - lo, 1e-12)
        self.background_basis = (
            chebyshev.chebvander(xs, background_terms - 1) if background_terms else np.zeros((self.x.size, 0))
        )
        # non-negative fixed components (an amorphous hump of fixed shape) follow the Chebyshev terms
        self.extra_names = tuple(extra_background or {})
        if self.extra_names:
            extra = np.column_stack([np.asarray(v, dtype=float) for v in extra_background.values()])
            if extra.shape[0] != self.x.size or not np.isfinite(extra).all():
                raise InputError("extra background columns must be finite and match the 2θ grid")
            self.background_basis = np.hstack([self.background_basis, extra])
        # column-major (each basis function contiguous: the solver weights and copies columns)
        self.background_basis = np.asfortranarray(self.background_basis)
        self.background_basis.flags.writeable = False  # shared by every evaluation
        self.n_columns = self.n_peak_columns + self.background_basis.shape[1]
        self.nonnegative = np.zeros(self.n_columns, dtype=bool)
        self.nonnegative[: self.n_peak_columns] = True
        if self.extra_names:
            self.nonnegative[-len(self.extra_names):] = True

        # March–Dollase: cos²α of every family member at the reference lattice (fixed)
        self._po: dict[int, np.ndarray] = {}
        for idx, axis in (preferred_orientation or {}).items():
            refl = self.phases[idx]
            gstar = refl.lattice.reciprocal_lattice_crystallographic.metric_tensor
            hv = refl.members_hkl.astype(float)
            ax = np.asarray(axis, dtype=float)
            num = hv @ gstar @ ax
            den = np.sqrt(np.einsum("ij,jk,ik->i", hv, gstar, hv) * (ax @ gstar @ ax))
            self._po[idx] = np.clip((num / den) ** 2, 0.0, 1.0)

        keys: list[ParamKey] = [ParamKey(f) for f in GLOBAL_PARAMETERS]
        for i, refl in enumerate(self.phases):
            keys += [ParamKey(name, i) for name in refl.lattice_parameter_names]
            keys += [ParamKey(f, i) for f in PHASE_PARAMETERS]
        self.keys: tuple[ParamKey, ...] = tuple(keys)
        self._key_index = {k: j for j, k in enumerate(self.keys)}
        self._labels: tuple[str, ...] | None = None
        self._memo: OrderedDict[tuple, Evaluation] = OrderedDict()  # with Jacobians
        self._memo_columns: OrderedDict[tuple, Evaluation] = OrderedDict()
        self._initial: dict[Instrument, np.ndarray] = {}
        self._prepare_flat()

    def _prepare_flat(self) -> None:
        """Fixed per-family arrays of all phases, concatenated (evaluated once per model)."""
        nph = len(self.phases)
        ki = self._key_index
        self._lat_idx = [np.array([ki[ParamKey(n, p)] for n in r.lattice_parameter_names], dtype=np.intp)
                         for p, r in enumerate(self.phases)]
        self._phase_idx = {
            f: np.array([ki[ParamKey(f, p)] for p in range(nph)], dtype=np.intp) for f in PHASE_PARAMETERS
        }
        sizes = [r.n for r in self.phases]
        self._fam_bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        self._fam_phase = np.repeat(np.arange(nph), sizes)
        self._fam_col = np.concatenate([
            off + np.arange(r.n) if paw else np.full(r.n, off)
            for r, paw, off in zip(self.phases, self.pawley, self.column_offsets, strict=True)
        ]).astype(np.intp) if nph else np.zeros(0, dtype=np.intp)
        self._col_phase = np.zeros(self.n_peak_columns, dtype=np.intp)  # phase of each peak column
        self._col_phase[self._fam_col] = self._fam_phase
        self._slots: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._fam_mf2 = np.concatenate([r.multiplicity * r.f2 for r in self.phases]) if nph else np.zeros(0)
        live = self.wavelength_weights != 0
        self._lam = self.wavelengths[live]
        self._lam_w = self.wavelength_weights[live]
        nl = self._lam.size
        self._pk_phase = np.tile(self._fam_phase, nl)
        self._pk_col = np.tile(self._fam_col, nl)
        self._pk_lam = np.repeat(self._lam, self._fam_phase.size)
        self._pk_fam = np.tile(np.arange(self._fam_phase.size), nl)
        self._pk_lam_w = np.repeat(self._lam_w, self._fam_phase.size)
        self._no_jpos = np.full(len(self.keys), -1, dtype=np.intp)
        self._no_scale = np.zeros(0)
        self._pol_ab = self.instrument.polarisation_coefficients()
        self._g = np.array([ki[ParamKey(f)] for f in GLOBAL_PARAMETERS], dtype=np.intp)
        n_lat = max((r.lattice_parameter_names.__len__() for r in self.phases), default=0)
        self._lat_par = np.full((nph, max(n_lat, 1)), -1, dtype=np.intp)
        for p, idx in enumerate(self._lat_idx):
            self._lat_par[p, : idx.size] = idx
        self._lat_pad = self._lat_par < 0
        self._lat_par_safe = np.where(self._lat_pad, 0, self._lat_par)
        # 1/d² terms of the cells with fixed angles (ReflectionList.inverse_d2_terms)
        self._q_terms = np.zeros((self._fam_phase.size, self._lat_par.shape[1]))
        self._q_general: list[int] = []
        for p, refl in enumerate(self.phases):
            terms = refl.inverse_d2_terms()
            if terms is None:
                self._q_general.append(p)
            else:
                self._q_terms[self._fam_bounds[p]:self._fam_bounds[p + 1], : terms.shape[1]] = terms

    # ------------------------------------------------------------------ parameters
    def index(self, key: ParamKey) -> int:
        """Position of ``key`` in the parameter vector."""
        return self._key_index[key]

    def labels(self) -> list[str]:
        """lmfit-style names of every nonlinear parameter."""
        if self._labels is None:
            self._labels = tuple(k.label(self.phase_names) for k in self.keys)
        return list(self._labels)

    def initial_vector(
        self,
        instrument: Instrument | None = None,
        lattices: Sequence[dict[str, float] | None] | None = None,
    ) -> np.ndarray:
        """Full parameter vector from an instrument and (optional) per-phase lattices."""
        inst = instrument or self.instrument
        memo_key = inst if lattices is None else None
        if memo_key is not None and memo_key in self._initial:
            return self._initial[memo_key].copy()
        refs = [r.lattice_values() for r in self.phases]
        theta = np.zeros(len(self.keys))
        for j, key in enumerate(self.keys):
            if key.phase is None:
                theta[j] = float(getattr(inst, key.field))
            elif key.field in PHASE_DEFAULTS:
                theta[j] = PHASE_DEFAULTS[key.field]
            else:
                lat = (lattices[key.phase] if lattices else None) or refs[key.phase]
                theta[j] = lat[key.field]
        if memo_key is not None:
            self._initial[memo_key] = theta.copy()
        return theta

    def lattice_values(self, theta: np.ndarray, phase: int) -> dict[str, float]:
        """Free lattice parameters of ``phase`` in ``theta``."""
        names = self.phases[phase].lattice_parameter_names
        return dict(zip(names, theta[self._lat_idx[phase]].tolist(), strict=True))

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        theta: np.ndarray,
        *,
        coefficients: np.ndarray | None = None,
        jacobian_for: Sequence[int] | None = None,
    ) -> Evaluation:
        """Columns of the model at ``theta`` and, for j in ``jacobian_for``, their derivatives.

        With ``coefficients`` the derivatives are those of ``columns @ coefficients``
        (:attr:`Evaluation.jacobian`); without, those of every peak column separately
        (:attr:`Evaluation.column_jacobian`; memory peak columns × len(jacobian_for) × n).

        Every peak (family × emission line) is handled in flat arrays; the windowed
        profiles are accumulated by :mod:`xrdkit._kernels` (numba when available).

        The last few evaluations without ``coefficients`` are memoised (a series fit starts
        where the previous scan's fit ended): their arrays are returned read-only.
        """
        theta = np.asarray(theta, dtype=float)
        if coefficients is not None:
            return self._evaluate(theta, coefficients, jacobian_for)
        jkey = None if jacobian_for is None else np.asarray(jacobian_for, dtype=np.intp).tobytes()
        key = (theta.tobytes(), jkey)
        memo = self._memo if jkey is not None else self._memo_columns
        hit = memo.get(key)
        if hit is not None:
            memo.move_to_end(key)
            return hit
        ev = self._evaluate(theta, None, jacobian_for)
        ev.peak_columns.flags.writeable = False
        if ev.column_jacobian is not None:
            ev.column_jacobian.values.flags.writeable = False
        memo[key] = ev
        while len(memo) > EVALUATION_MEMO_SIZE:
            memo.popitem(last=False)
        return ev

    def _evaluate(
        self, theta: np.ndarray, coefficients: np.ndarray | None, jacobian_for: Sequence[int] | None
    ) -> Evaluation:
        radius = self.instrument.goniometer_radius_mm
        want_jac = jacobian_for is not None
        combined = coefficients is not None
        jidx = np.asarray([] if jacobian_for is None else jacobian_for, dtype=np.intp)
        npar = jidx.size
        n = self.x.size
        columns = np.zeros((n, self.n_peak_columns))
        nfam = self._fam_phase.size
        if nfam == 0 or self._lam.size == 0:
            return self._empty(columns, want_jac, combined, npar)

        # ---- per family: 1/d², intensity factors (and ∂(1/d²)/∂lattice): 1/d² = Σ T_i / p_i²
        # for every cell with fixed angles (all phases at once), the general metric otherwise
        lat = np.where(self._lat_pad, 1.0, theta[self._lat_par_safe])[self._fam_phase]
        inv2 = 1.0 / (lat * lat)
        q = (self._q_terms * inv2).sum(axis=1)
        dq = (-2.0 * self._q_terms) * (inv2 / lat)
        for p in self._q_general:
            lo, hi = self._fam_bounds[p], self._fam_bounds[p + 1]
            lat_vals = theta[self._lat_idx[p]]
            q[lo:hi], dq[lo:hi, : lat_vals.size] = self.phases[p].inverse_d2_and_gradient(lat_vals)
        b_iso = theta[self._phase_idx["b_iso"]]
        base = self._fam_mf2 * np.exp(-b_iso[self._fam_phase] * q / 2.0)
        dln_md = np.zeros(nfam)
        for p, cos2 in self._po.items():
            refl = self.phases[p]
            lo = self._fam_bounds[p]
            mv, mdv = _md_factor(cos2, theta[self._phase_idx["march_dollase"][p]])
            cnt = np.bincount(refl.member_family, minlength=refl.n)
            md = np.bincount(refl.member_family, weights=mv, minlength=refl.n) / cnt
            dmd = np.bincount(refl.member_family, weights=mdv, minlength=refl.n) / cnt
            base[lo:lo + refl.n] *= md
            dln_md[lo:lo + refl.n] = dmd / np.where(md > 0, md, 1.0)

        # ---- per peak (family × emission line) in range: intensity, profile, window, chain rule
        if want_jac:
            jpos = np.full(len(self.keys), -1, dtype=np.intp)
            jpos[jidx] = np.arange(npar)
        else:
            jpos = self._no_jpos
        # with coefficients one Jacobian (chain entries × the column's coefficient), else one per column
        col_scale = np.asarray(coefficients, dtype=float)[: self.n_peak_columns] if combined else self._no_scale
        sel, inten, centre, fwhm, eta, asym, start, stop, mix, *chain = compute_peak_table(
            q, dq, base, dln_md, self._pk_fam, self._pk_lam, self._pk_lam_w, self._pk_phase, self._pk_col,
            col_scale, self.x, PEAK_RANGE_MARGIN_DEG, *self._pol_ab, self._lat_par, theta, self._g,
            self._phase_idx["strain_deg2"], self._phase_idx["size_deg"], self._phase_idx["b_iso"],
            self._phase_idx["march_dollase"], float(radius), MIN_GAUSS_FWHM_DEG, jpos, want_jac,
            self.window_fwhm, MAX_WINDOW_HALF_DEG,
        )
        k = sel.size
        if k == 0:
            return self._empty(columns, want_jac, combined, npar)
        col = self._pk_col[sel]
        if not want_jac:
            n_eval = accumulate_columns(
                self.x, centre, fwhm, eta, asym, inten, col, columns,
                window_fwhm=self.window_fwhm, max_window_half_deg=MAX_WINDOW_HALF_DEG, windows=(start, stop),
            )
            return Evaluation(columns, self.background_basis, None, k, n_eval)
        if combined:  # one slot: the (1, p, n) layout accumulate_jacobian maps itself
            slot_of, jac = None, np.zeros((1, npar, n))
        else:
            slot_of, pair_col, pair_par = self._jacobian_slots(jidx)
            jac = np.zeros((pair_col.size, n))
        n_eval = accumulate_jacobian(
            self.x, centre, fwhm, eta, asym, inten, col, tuple(chain), columns, jac,
            None if combined else col, mix=mix, slot_of=slot_of,
            window_fwhm=self.window_fwhm, max_window_half_deg=MAX_WINDOW_HALF_DEG, windows=(start, stop),
        )
        if combined:
            return Evaluation(columns, self.background_basis, jac[0].T, k, n_eval)
        cj = ColumnJacobian(jac, pair_col, pair_par, (self.n_peak_columns, npar, n))
        return Evaluation(columns, self.background_basis, None, k, n_eval, column_jacobian=cj)

    def _jacobian_slots(self, jidx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the per-column Jacobian for the parameters ``jidx``: (slot_of (m_peaks × p),
        column and parameter of each row), one row per pair that can be nonzero (cached)."""
        key = jidx.tobytes()
        hit = self._slots.get(key)
        if hit is None:
            phase = np.array([-1 if self.keys[j].phase is None else self.keys[j].phase for j in jidx])
            live = (phase[None, :] < 0) | (phase[None, :] == self._col_phase[:, None])
            slot_of = np.full(live.shape, -1, dtype=np.int64)
            pair_col, pair_par = np.nonzero(live)
            slot_of[pair_col, pair_par] = np.arange(pair_col.size)
            hit = (slot_of, pair_col, pair_par)
            self._slots[key] = hit
        return hit

    def _empty(self, columns: np.ndarray, want_jac: bool, combined: bool, npar: int) -> Evaluation:
        n, bg = self.x.size, self.background_basis
        if not want_jac:
            return Evaluation(columns, bg, None, 0, 0)
        if combined:
            return Evaluation(columns, bg, np.zeros((n, npar)), 0, 0)
        empty = np.zeros(0, dtype=np.intp)
        return Evaluation(columns, bg, None, 0, 0, column_jacobian=ColumnJacobian(
            np.zeros((0, n)), empty, empty, (self.n_peak_columns, npar, n)))


# ---------------------------------------------------------------------- phases

def resolve_phases(
    phases: Sequence[object],
    instrument: Instrument,
    two_theta_max_deg: float,
    *,
    library: object | None = None,
) -> list[ReflectionList]:
    """Turn phase names, :class:`~xrdkit.phases.Phase` objects, pymatgen Structures or
    ready :class:`ReflectionList` s into reflection lists covering ``two_theta_max_deg``.

    Parameters
    ----------
    phases : sequence
        Library names, :class:`~xrdkit.phases.Phase` objects, pymatgen ``Structure`` objects
        (named after their reduced formula) or ready reflection lists (passed through).
    instrument : Instrument
        Its shortest wavelength sets the lists' d range.
    two_theta_max_deg : float
        Highest 2θ (degrees) the lists must cover.
    library : PhaseLibrary, optional
        Where names are looked up (default: a fresh :class:`~xrdkit.phases.PhaseLibrary`).

    Returns
    -------
    list of ReflectionList
        One per phase, in order.

    Raises
    ------
    PhaseError
        Unknown phase name (the message lists the library's names).
    InputError
        Anything that is not a phase.

    Examples
    --------
    >>> from xrdkit.calibrate import standard
    >>> from xrdkit.instrument import load_instrument
    >>> from xrdkit.simulate import resolve_phases
    >>> inst = load_instrument("miniflex600-cuka")
    >>> al, corundum = resolve_phases(["al", standard("al2o3").structure()], inst, 60.0)
    >>> al.name, al.hkl.tolist(), corundum.name
    ('al', [[1, 1, 1], [2, 0, 0]], 'Al2O3')
    >>> resolve_phases(["no-such-phase"], inst, 60.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xrdkit.errors.PhaseError: ...
    """
    if all(isinstance(item, ReflectionList) for item in phases):
        return list(phases)  # ready lists (the per-scan path of a batch)
    from pymatgen.core import Structure

    out: list[ReflectionList] = []
    lam = float(np.min(instrument.wavelengths_angstrom))
    lib = library
    for item in phases:
        if isinstance(item, ReflectionList):
            out.append(item)
            continue
        if isinstance(item, str):
            if lib is None:
                from xrdkit.phases import PhaseLibrary

                lib = PhaseLibrary()
            item = lib.get(item)
        if isinstance(item, Structure):
            out.append(
                compute_reflections(item, wavelength_angstrom=lam, two_theta_max_deg=two_theta_max_deg,
                                    name=item.composition.reduced_formula)
            )
            continue
        structure = getattr(item, "structure", None)
        if structure is None:
            raise InputError(f"not a phase: {item!r}")
        out.append(
            compute_reflections(structure, wavelength_angstrom=lam, two_theta_max_deg=two_theta_max_deg,
                                name=item.name)
        )
    return out


# ---------------------------------------------------------------------- simulate
@dataclass(frozen=True)
class SimulatedPattern:
    """A simulated powder pattern.

    Attributes
    ----------
    two_theta_deg : ndarray, shape (n,)
        The grid, degrees.
    intensity : ndarray, shape (n,)
        Total intensity (background included), maximum of the peak part = ``peak_max``.
    components : dict of str → ndarray
        Per-phase contribution (without background).
    background : ndarray, shape (n,)
        The background.
    weight_fractions : dict of str → float
        The weight fractions simulated.
    scale_factors : dict of str → float
        Scale per phase (Hill–Howard ``s ∝ w / (Z·M·V)``), after normalisation.

    Examples
    --------
    Returned by :func:`simulate`; fcc Al's strongest line, (111), at its Bragg angle for Cu Kα1
    (2 arcsin(λ√3 / 2a) = 38.47°):

    >>> import numpy as np
    >>> from xrdkit.simulate import simulate
    >>> two_theta_deg = np.arange(30.0, 60.0, 0.01)
    >>> pattern = simulate(["al"], None, two_theta_deg, peak_max=100.0, background=[10.0])
    >>> pattern.weight_fractions, round(float(pattern.intensity.max()), 3), float(pattern.background[0])
    ({'al': 1.0}, 110.0, 10.0)
    >>> round(float(two_theta_deg[np.argmax(pattern.components["al"])]), 2)      # degrees 2θ
    38.47
    """

    two_theta_deg: np.ndarray
    intensity: np.ndarray
    components: dict[str, np.ndarray]
    background: np.ndarray
    weight_fractions: dict[str, float]
    scale_factors: dict[str, float] = field(default_factory=dict)


def _check_fractions(fractions: Sequence[float] | None, n: int) -> np.ndarray:
    if fractions is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(fractions, dtype=float)
    if w.shape != (n,):
        raise InputError(f"{n} phases but {w.size} weight fractions")
    if not np.all(np.isfinite(w)) or (w < 0).any() or (w > 1).any():
        raise InputError(f"weight fractions must lie in [0, 1], got {w.tolist()}")
    if abs(w.sum() - 1.0) > FRACTION_SUM_TOL:
        raise InputError(f"weight fractions must sum to 1, got {w.sum():.6g} ({w.tolist()})")
    return w


def check_two_theta_grid(two_theta_deg: object) -> np.ndarray:
    """Validate a 2θ grid: 1-D, finite, strictly increasing, inside (0, 180)°."""
    x = np.asarray(two_theta_deg, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise InputError(f"2θ grid must be 1-D with ≥ 2 points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("2θ grid has non-finite values")
    if x[0] <= 0 or x[-1] >= 180 or x.min() <= 0 or x.max() >= 180:
        raise InputError(f"2θ grid must lie inside (0, 180)°, spans {x.min():.6g}–{x.max():.6g}°")
    if (np.diff(x) <= 0).any():
        raise InputError("2θ grid must be strictly increasing")
    return x


def simulate(
    phases: Sequence[object],
    fractions: Sequence[float] | None,
    two_theta_deg: object,
    instrument: Instrument | str = "miniflex600-cuka",
    *,
    background: Sequence[float] | None = None,
    peak_max: float = 100.0,
    lattices: Sequence[dict[str, float] | None] | None = None,
    b_iso_angstrom2: Sequence[float] | None = None,
    library: object | None = None,
) -> SimulatedPattern:
    """Simulate a multi-phase powder pattern with weight fractions.

    Parameters
    ----------
    phases : sequence
        Library names (``"nbh-fcc"``), :class:`~xrdkit.phases.Phase`, pymatgen ``Structure`` or
        :class:`~xrdkit.reflections.ReflectionList` objects.
    fractions : sequence of float or None
        Weight fractions (sum 1); ``None`` = equal.
    two_theta_deg : array_like
        Strictly increasing grid inside (0, 180)°.
    instrument : Instrument or str
        An instrument or a preset name.
    background : sequence of float, optional
        Chebyshev coefficients of the background over the grid (same scale as ``peak_max``).
    peak_max : float
        The peak part is normalised to this maximum (0 keeps absolute units of
        electrons² per cell · LP · scale).
    lattices : sequence of dict, optional
        Per phase free lattice parameters replacing the reference ones (e.g. ``{"a": 10.05}``);
        |F|² is not recomputed.
    b_iso_angstrom2 : sequence of float, optional
        Overall Debye–Waller B per phase, Å².
    library : PhaseLibrary, optional
        Where phase names are looked up (default: a fresh :class:`~xrdkit.phases.PhaseLibrary`,
        bundled plus user phases).

    Returns
    -------
    SimulatedPattern
        On the given grid; ``components`` and ``weight_fractions`` keyed by phase name.

    Raises
    ------
    InputError
        Fractions that do not sum to 1 or lie outside [0, 1], a bad grid, unknown phases.

    Examples
    --------
    20 wt % fcc NBH in NaCrO2 on the lab instrument (Cu Kα1 + Kα2):

    >>> import numpy as np
    >>> from xrdkit.simulate import simulate
    >>> pattern = simulate(["nbh-fcc", "nacro2"], [0.2, 0.8], np.arange(5, 90, 0.01),
    ...                    "miniflex600-cuka")
    >>> pattern.weight_fractions
    {'nbh-fcc': 0.2, 'nacro2': 0.8}
    >>> round(float(pattern.intensity.max()), 6)       # the peak part is scaled to peak_max
    100.0

    NBH's strongest line is its (111) reflection, d = a/√3 (Bragg's law with Kα1 gives 15.29°):

    >>> nbh = pattern.components["nbh-fcc"]
    >>> round(float(pattern.two_theta_deg[np.argmax(nbh)]), 1)
    15.3

    A larger cell moves the lines to lower angles (|F|² kept):

    >>> wide = simulate(["nbh-fcc"], None, np.arange(10, 40, 0.01), lattices=[{"a": 10.10}])
    >>> round(float(wide.two_theta_deg[np.argmax(wide.intensity)]), 1)
    15.2
    """
    x = check_two_theta_grid(two_theta_deg)
    inst = load_instrument(instrument)
    w = _check_fractions(fractions, len(phases))
    if lattices is not None:
        for lat in lattices:
            for k, v in (lat or {}).items():
                if not (np.isfinite(v) and v > 0):
                    raise InputError(f"lattice parameter {k}={v!r} must be > 0")
    refls = resolve_phases(phases, inst, float(x[-1]), library=library)
    nb = len(background) if background is not None else 0
    model = PatternModel(refls, x, inst, background_terms=nb)
    theta = model.initial_vector(inst, lattices)
    for p, b in enumerate(b_iso_angstrom2 or []):
        theta[model.index(ParamKey("b_iso", p))] = b
    ev = model.evaluate(theta)
    scales = np.array([
        w[p] / (refl.cell_mass_amu * refl.volume(model.lattice_values(theta, p)))
        for p, refl in enumerate(refls)
    ])
    comps = ev.columns[:, : len(refls)] * scales
    peak = comps.sum(axis=1)
    norm = peak_max / peak.max() if peak_max and peak.max() > 0 else 1.0
    comps = comps * norm
    bg = ev.columns[:, len(refls):] @ np.asarray(background, dtype=float) if nb else np.zeros_like(x)
    names = [r.name for r in refls]
    return SimulatedPattern(
        two_theta_deg=x,
        intensity=comps.sum(axis=1) + bg,
        components={n: comps[:, i] for i, n in enumerate(names)},
        background=bg,
        weight_fractions=dict(zip(names, w.tolist(), strict=True)),
        scale_factors=dict(zip(names, (scales * norm).tolist(), strict=True)),
    )


make_callable(__name__)  # xrdkit.simulate(...) calls simulate(...) (see xrdkit._callable)
