"""Quantitative phase analysis of real lab data with a weighed answer: IUCr CPD round robin sample 2.

Data (``../shared/realdata/cpd_qpa``, see its README): Cu Kα Bragg–Brentano pattern 5–150° 2θ of
CPD sample 2, weighed corundum Al2O3 21.27, zincite ZnO 19.94, fluorite CaF2 22.53, brucite
Mg(OH)2 36.26 wt % (Madsen et al., J. Appl. Cryst. 34 (2001) 409, doi:10.1107/S0021889801007476).
The CIFs and GSAS-II ``cuka.instprm`` are the distributed ones, used as a user would; brucite is the
library's constructed phase (Catti et al. 1995 numbers) with March–Dollase along (001), the texture
this sample was chosen for.

Bounds and why:
- every phase within 2.0 wt % of the weighed value and within 3 of its own σ (issue 14).
- The shipped ZnO.cif (Wyckoff 1963) has O at z = 0.345 against the wurtzite u ≈ 0.382 of modern
  refinements (Kisi & Elcombe, Acta Cryst. C45 (1989) 1867). With the CIF's coordinates
  (``--fix-coordinates``) the fit gives Al2O3 +0.98, ZnO −1.18, CaF2 −0.67, brucite +0.87 wt % at
  1.5, 3.2, 1.5, 1.3 σ, Rwp 13.8 %. With the free coordinates refined (xrdkit.qpa.quantify's
  default when the phase library is passed, as ``xrdkit fit`` does once it hands quantify its
  library) ZnO's u comes back to 0.3814 ± 0.0030 and the errors are +0.62, −0.60, −0.78, +0.76 wt %
  at 1.3, 2.1, 2.3, 1.5 σ, Rwp 12.5 %: every phase inside 3σ; the bound for u is 3σ or 0.005.
  ``xrdkit fit`` passes its library, so the command line refines them too.
- without anomalous dispersion ZnO falls ≈ 2 wt % further (Zn f′ = −1.6 e at Cu Kα): checked so the
  test can fail when f′/f″ are lost.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from xrdkit.cli import main

WEIGHED_WT_PCT = {"al2o3": 21.27, "zno": 19.94, "caf2": 22.53, "brucite": 36.26}
MAX_ERROR_WT_PCT = 2.0
MAX_ERROR_SIGMA = 3.0
#: Wurtzite u of modern refinements (Kisi & Elcombe 1989) and how close the refined u must come.
ZNO_U = 0.382
ZNO_U_TOL = 0.005


def _fit(folder, tmp_path, *extra: str) -> dict:
    out = tmp_path / "cpd2.json"
    argv = ["fit", str(folder / "cpd-2.prn"), "--cif", str(folder / "Al2O3.cif"), "--cif", str(folder / "ZnO.cif"),
            "--cif", str(folder / "CaF2.cif"), "--phase", "brucite", "--po", "brucite:0,0,1",
            "--instrument", str(folder / "cuka.instprm"), "--json", str(out), *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
def test_cpd_sample2_weight_fractions_within_2_wt_pct_and_3_sigma(realdata, tmp_path, capsys) -> None:
    res = _fit(realdata / "cpd_qpa", tmp_path)
    print(capsys.readouterr().out)
    got = {p["name"]: p for p in res["phases"]}
    assert set(got) == set(WEIGHED_WT_PCT)
    assert res["durbin_watson"] < 2.0 and res["serial_correlation_factor"] >= 1.0
    for name, wt in WEIGHED_WT_PCT.items():
        p = got[name]
        err = 100 * p["weight_fraction"] - wt
        sigma = 100 * p["weight_fraction_sigma"]
        assert abs(err) <= MAX_ERROR_WT_PCT, (name, err)
        assert abs(err) <= MAX_ERROR_SIGMA * sigma, (name, err, sigma)
        # total σ ≥ statistical σ; both reported
        assert p["weight_fraction_sigma"] >= p["weight_fraction_sigma_statistical"] > 0
    assert res["rwp"] < 0.16
    assert sum(p["weight_fraction"] for p in got.values()) == pytest.approx(1.0)
    alts = res["model_error"]["alternatives"]
    assert len(alts) >= 5 and all(0 <= a["weight"] <= 1 for a in alts)


@pytest.mark.slow
def test_cpd_sample2_with_refined_coordinates_within_2_wt_pct_and_3_sigma(realdata) -> None:
    """What ``xrdkit fit`` computes, with the library (and so the CIF structures) passed to quantify."""
    from xrdkit.commands._common import library_with_cifs
    from xrdkit.instrument import load_instrument
    from xrdkit.qpa import quantify
    from xrdkit.readers import read_scan
    from xrdkit.refine import RefineOptions
    from xrdkit.simulate import resolve_phases

    folder = realdata / "cpd_qpa"
    lib, cif_names = library_with_cifs([str(folder / f"{n}.cif") for n in ("Al2O3", "ZnO", "CaF2")])
    inst = load_instrument(folder / "cuka.instprm")
    scan = read_scan(folder / "cpd-2.prn")
    refls = resolve_phases(["brucite", *cif_names], inst, float(scan.two_theta_deg[-1]), library=lib)
    res = quantify(scan, refls, instrument=inst, options=RefineOptions(preferred_orientation={"brucite": (0, 0, 1)}),
                   library=lib)
    zno_u = res.coordinates["zno"]
    assert zno_u.accepted and zno_u.names == ("O z",) and zno_u.reference[0] == pytest.approx(0.345)
    assert abs(zno_u.values[0] - ZNO_U) <= max(3 * zno_u.sigma[0], ZNO_U_TOL), (zno_u.values, zno_u.sigma)
    assert "caf2" not in res.coordinates  # fluorite has no free coordinate
    for name, wt in WEIGHED_WT_PCT.items():
        p = res.phase(name)
        err, sigma = 100 * p.weight_fraction - wt, 100 * p.weight_fraction_sigma
        assert abs(err) <= MAX_ERROR_WT_PCT, (name, err)
        assert abs(err) <= MAX_ERROR_SIGMA * sigma, (name, err, sigma)
    assert res.rwp < 0.13  # 13.8 % with the CIF's u
    rows = {p["name"]: p for p in res.to_dict()["phases"]}
    assert rows["zno"]["coordinates"]["refined"] and rows["zno"]["coordinates"]["sites"][0]["name"] == "O z"


@pytest.mark.slow
def test_cpd_sample2_needs_anomalous_dispersion(realdata, tmp_path, monkeypatch) -> None:
    """Without f′/f″ the same fit puts ZnO ≥ 1.5 wt % further from the weighed value."""
    import functools

    import xrdkit.reflections as refl_mod
    import xrdkit.simulate as sim_mod

    with_f = _fit(realdata / "cpd_qpa", tmp_path, "--no-model-error", "--fix-coordinates")
    f0_only = functools.partial(refl_mod.compute_reflections, anomalous=False)
    monkeypatch.setattr(sim_mod, "compute_reflections", f0_only)
    without = _fit(realdata / "cpd_qpa", tmp_path, "--no-model-error", "--fix-coordinates")

    def zno_error(res: dict) -> float:
        return next(100 * p["weight_fraction"] for p in res["phases"] if p["name"] == "zno") - WEIGHED_WT_PCT["zno"]

    assert abs(zno_error(without)) > abs(zno_error(with_f)) + 1.5
    assert np.isfinite(zno_error(with_f))
