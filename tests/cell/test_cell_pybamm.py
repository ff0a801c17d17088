"""The PyBaMM half-cell DFN and the analytic model agree where both apply.

Both share the inputs (OCV, interface resistance, conductivities, particle size and diffusivity);
they differ in how they solve: PyBaMM resolves the reaction distribution through the electrode and
full Fickian diffusion in the particles; the analytic model assumes a uniform reaction
(L/(3σ_eff)) and a quasi-steady parabolic particle profile.  The uniform-reaction assumption holds
for the paper's electrodes (penetration depth > thickness), so there we require agreement within
TOLERANCE_MAH_PER_G; for a 20 mg cm⁻² electrode the difference grows (measured ≈ 1.8 mAh g⁻¹).
"""

from __future__ import annotations

import numpy as np
import pytest

from xrdkit.cell import Electrode, electrolyte_conductivity, parse_composition, rate_capability

pytest.importorskip("pybamm")

from xrdkit.cell.pybamm_backend import pybamm_rate_capability  # noqa: E402

#: Agreement required between the two backends, mAh per g NaCrO2 (≈ 1.3 % of 118).
TOLERANCE_MAH_PER_G = 1.5
RATES = (0.1, 1.0, 2.0, 5.0)


@pytest.mark.slow
@pytest.mark.parametrize("comp,loading,fcc", [("97:1:2", 7.7, 1.0), ("95:2:3", 7.0, 1.0),
                                              ("97:1:2", 7.7, 0.6)])
def test_backends_agree(comp: str, loading: float, fcc: float) -> None:
    e = Electrode(parse_composition(comp), loading)
    sigma = electrolyte_conductivity(fcc, 30.0)
    dfn = pybamm_rate_capability(e, sigma, RATES)
    ana = rate_capability(e, sigma, RATES)
    print(f"\n{comp} @ {loading} mg/cm², fcc {fcc}: DFN {np.round(dfn.capacity_mAh_per_g, 2)} "
          f"analytic {np.round(ana.capacity_mAh_per_g, 2)}")
    assert np.all(np.isfinite(dfn.capacity_mAh_per_g))
    np.testing.assert_allclose(dfn.capacity_mAh_per_g, ana.capacity_mAh_per_g,
                               atol=TOLERANCE_MAH_PER_G)
    np.testing.assert_allclose(dfn.current_density_mA_per_cm2, ana.current_density_mA_per_cm2,
                               rtol=1e-12)
    # the DFN's mean voltage falls with rate (ohmic + interface polarisation)
    assert np.all(np.diff(dfn.mean_voltage_V) < 0)
