"""Refinement of a real measured pattern: the CPD round-robin PbSO4 laboratory X-ray data.

Data (``/work/shared/realdata/pbso4_lab_xray``, see its README): GSAS-II test inputs, CPD
Rietveld round robin PbSO4 Cu Kα pattern 10–160° 2θ in 0.025° steps; structure
``PbSO4-Wyckoff.cif`` (Pnma, a = 8.48, b = 5.398, c = 6.958 Å). Instrument from ``INST_XRY.PRM``
(``ICONS 1.540500 1.544300 … 0.7 … 0.5``): Cu Kα1 1.5405 Å, Kα2 1.5443 Å, Kα2/Kα1 = 0.5,
polarisation 0.7; starting widths ``PRCF11`` U, V, W = 2, −2, 5 centidegrees².

Bounds and why:
- Rwp < 12 % and GOF < 2.5: the counting statistics of this pattern give Rexp ≈ 5 %; a model
  with the right structure but a simple profile (no anisotropic broadening, one B per phase)
  reaches Rwp ≈ 9.4 %, GOF ≈ 1.9 here. A wrong cell, lost Kα2 or broken intensities gives Rwp
  well above 20 %. The round-robin analysis is R. J. Hill, J. Appl. Cryst. 25 (1992) 589,
  doi:10.1107/S0021889892003649.
- lattice within 0.3 % of the CIF: the CIF cell (Wyckoff) is a room-temperature literature cell;
  the round-robin pattern's cell differs from it by ~0.1 % (zero/displacement correlate with it).
- a flat difference curve: fewer than 5 % of the points with |obs − calc| > 5σ (2.2 % observed;
  a pure-noise residual would have ~0, a wrong cell tens of %).
"""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit.instrument import Instrument
from xrdkit.phases import read_cif
from xrdkit.readers import read_scan
from xrdkit.refine import RefineOptions, refine
from xrdkit.simulate import resolve_phases

#: INST_XRY.PRM: ICONS line (λ1, λ2, …, polarisation 0.7, …, Kα2/Kα1 0.5) and PRCF11 (U, V, W
#: in centidegrees² → deg² ×1e-4).
PBSO4_INSTRUMENT = Instrument(
    name="cpd-rr-pbso4",
    wavelengths_angstrom=(1.5405, 1.5443),
    wavelength_weights=(1.0, 0.5),
    beam_polarisation=0.7,
    u_deg2=2.0e-4,
    v_deg2=-2.0e-4,
    w_deg2=5.0e-4,
    provenance="GSAS-II tests/testinp/INST_XRY.PRM (CPD round robin PbSO4, Cu Ka)",
)
RWP_MAX = 0.12
GOF_MAX = 2.5
CELL_REL_TOL = 0.003


@pytest.mark.slow
def test_pbso4_round_robin_refinement(realdata, artifacts):
    folder = realdata / "pbso4_lab_xray"
    scan = read_scan(folder / "PBSO4.XRA")
    structure = read_cif(folder / "PbSO4-Wyckoff.cif")
    cif_abc = structure.lattice.abc
    refls = resolve_phases([structure], PBSO4_INSTRUMENT, float(scan.two_theta_deg[-1]))
    res = refine(
        scan, refls, instrument=PBSO4_INSTRUMENT,
        options=RefineOptions(refine_b_iso=True, background_terms=12, refine_displacement=True,
                              refine_asymmetry=True),
    )
    ph = res.phases[0]
    print(f"\nPbSO4: Rwp {100 * res.rwp:.2f} %, Rexp {100 * res.rexp:.2f} %, GOF {res.gof:.2f}, "
          f"nfev {res.nfev}; a, b, c = "
          + ", ".join(f"{ph.lattice[k]:.5f}({1e5 * ph.lattice_sigma[k]:.0f})" for k in "abc")
          + f" Å; B_iso {ph.b_iso_angstrom2:.3f} Å²")
    assert res.converged, res.message
    assert res.rwp < RWP_MAX
    assert res.gof < GOF_MAX
    assert ph.weight_fraction == pytest.approx(1.0)
    for k, ref in zip("abc", cif_abc, strict=True):
        assert abs(ph.lattice[k] / ref - 1.0) < CELL_REL_TOL, (k, ph.lattice[k], ref)
        assert 0 < ph.lattice_sigma[k] < 0.01
    # the fit statistics are consistent with the arrays
    wr = res.residual / res.sigma
    assert res.rwp == pytest.approx(np.sqrt(np.sum(wr**2) / np.sum((res.observed / res.sigma) ** 2)))
    assert np.mean(np.abs(wr) > 5.0) < 0.05

    from xrdkit.plot import rietveld_figure

    fig = rietveld_figure(res, reflections=refls,
                          wavelengths_angstrom=PBSO4_INSTRUMENT.wavelengths_angstrom,
                          title=f"PbSO4 CPD round robin: Rwp {100 * res.rwp:.2f} %")
    out = artifacts / "pbso4_rietveld.png"
    fig.savefig(out, dpi=110)
    assert out.stat().st_size > 10_000
