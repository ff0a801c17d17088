"""Free atomic coordinates (xrdkit.coordinates) and their refinement in xrdkit.qpa.quantify.

Independent truth:
- the free coordinates of wurtzite, corundum, fluorite and brucite are those of their Wyckoff
  positions in International Tables Vol. A (P6₃mc 2b (⅓, ⅔, z); R-3c 12c (0, 0, z) and 18e
  (x, 0, ¼); Fm-3m 4a, 8c fixed; P-3m1 1a fixed, 2d (⅓, ⅔, z)), with the polar origin of P6₃mc
  held on Zn and hydrogen held;
- |F|² of moved atoms against :func:`xrdkit.synthetic.structure_factors` (an own sum, Henke f′/f″
  through periodictable) for the structure built with the moved coordinate;
- a ZnO/CaF2 mixture made by :mod:`xrdkit.synthetic` (the independent generator) with the modern
  wurtzite u = 0.382 (Kisi & Elcombe, Acta Cryst. C45 (1989) 1867) and fitted with u = 0.345
  (the Wyckoff 1963 value of the CPD round robin's ZnO.cif): the refined u must come back to 0.382.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit.commands._common import add_phase_arguments, apply_recipe, coordinates_choice
from xrdkit.coordinates import _null_space, free_coordinates, reflections_at
from xrdkit.instrument import load_instrument
from xrdkit.phases import SITE_B_PROPERTY
from xrdkit.qpa import (
    COORDINATES_MIN_WEIGHT_FRACTION,
    MAX_FREE_COORDINATES,
    coordinates_supported,
    quantify,
)
from xrdkit.reflections import compute_reflections
from xrdkit.synthetic import LabEffects, PeakProfile, structure_factors, synthetic_pattern

U_WYCKOFF_1963 = 0.345  # the O z of the CPD round robin's ZnO.cif
U_TRUE = 0.382  # wurtzite u of modern refinements
CU_KA1_ANGSTROM = 1.5405929
GRID_DEG = np.arange(10.0, 120.0 + 1e-9, 0.02)  # reaches sinθ/λ = 0.53 Å⁻¹


def _zno(u: float) -> Structure:
    return Structure.from_spacegroup("P6_3mc", Lattice.hexagonal(3.2495, 5.2069), ["Zn", "O"],
                                     [[1 / 3, 2 / 3, 0.0], [1 / 3, 2 / 3, u]])


def _caf2() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.4625), ["Ca", "F"], [[0, 0, 0], [0.25, 0.25, 0.25]])


def _corundum() -> Structure:
    return Structure.from_spacegroup("R-3c", Lattice.hexagonal(4.7602, 12.9933), ["Al", "O"],
                                     [[0, 0, 0.35216], [0.30624, 0, 0.25]])


def _brucite() -> Structure:
    return Structure.from_spacegroup("P-3m1", Lattice.hexagonal(3.1442, 4.7702), ["Mg", "O", "H"],
                                     [[0, 0, 0], [1 / 3, 2 / 3, 0.2203], [1 / 3, 2 / 3, 0.4130]])


def _axes(structure: Structure, **kw) -> list[tuple[str, str]]:
    return sorted((c.species, c.axis) for c in free_coordinates(structure, **kw).free)


def test_free_coordinates_are_those_of_the_wyckoff_positions() -> None:
    assert _axes(_zno(U_WYCKOFF_1963)) == [("O", "z")]  # Zn z fixes the polar origin
    assert _axes(_corundum()) == [("Al", "z"), ("O", "x")]
    assert _axes(_caf2()) == []
    assert _axes(_brucite()) == [("O", "z")]  # hydrogen held
    assert _axes(_brucite(), exclude=frozenset()) == [("H", "z"), ("O", "z")]
    # P1: every direction is polar; the heavier atom is held entirely, the other moves freely
    p1 = Structure(Lattice.from_parameters(5.1, 6.2, 7.3, 81, 95, 103), ["Si", "O"],
                   [[0.1, 0.2, 0.3], [0.35, 0.15, 0.6]])
    assert _axes(p1) == [("O", "x"), ("O", "y"), ("O", "z")]


def test_null_space_basis_takes_the_earliest_axis_as_parameter() -> None:
    basis = _null_space([np.array([[2, -1, 0]])])  # y = 2x: (x, 2x, z)
    assert [list(v) for v in basis] == [[1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]
    assert _null_space([np.eye(3, dtype=int)]) == []


def test_moving_a_coordinate_keeps_the_space_group_and_moves_every_equivalent_site() -> None:
    zno = _zno(U_WYCKOFF_1963)
    zno.add_site_property(SITE_B_PROPERTY, [0.3] * len(zno))
    space = free_coordinates(zno)
    moved = space.structure_at([U_TRUE - U_WYCKOFF_1963])
    assert SpacegroupAnalyzer(moved, symprec=1e-3).get_space_group_symbol() == "P6_3mc"
    dz = np.array([(b.frac_coords - a.frac_coords)[2] for a, b in zip(zno, moved, strict=True)])
    is_o = np.array([s.specie.symbol == "O" for s in zno])
    assert np.allclose(dz[is_o], U_TRUE - U_WYCKOFF_1963) and np.allclose(dz[~is_o], 0.0)
    assert moved.site_properties[SITE_B_PROPERTY] == [0.3] * len(zno)

    cor = _corundum()
    space = free_coordinates(cor)
    moved = space.structure_at([0.01, -0.02])
    assert SpacegroupAnalyzer(moved, symprec=1e-3).get_space_group_symbol() == "R-3c"
    al_z, o_x = space.free
    assert moved[al_z.representative].frac_coords[2] == pytest.approx(al_z.reference + 0.01)
    assert moved[o_x.representative].frac_coords[0] == pytest.approx(o_x.reference - 0.02)
    assert np.allclose(space.structure_at([0.0, 0.0]).frac_coords, cor.frac_coords)


def test_moved_intensities_agree_with_an_independent_structure_factor_sum() -> None:
    ref = compute_reflections(_zno(U_WYCKOFF_1963), wavelength_angstrom=CU_KA1_ANGSTROM, two_theta_max_deg=120.0,
                              name="zno")
    moved = reflections_at(ref, free_coordinates(_zno(U_WYCKOFF_1963)).structure_at([U_TRUE - U_WYCKOFF_1963]),
                           CU_KA1_ANGSTROM)
    assert np.array_equal(moved.hkl, ref.hkl)

    def family_f2(u: float) -> np.ndarray:  # family mean of |F|² over every member, Friedel mates too
        members = ref.members_hkl
        g = members @ ref.lattice.reciprocal_lattice_crystallographic.matrix
        f = structure_factors(_zno(u), members, 1.0 / np.linalg.norm(g, axis=1), wavelength_angstrom=CU_KA1_ANGSTROM)
        return np.bincount(ref.member_family, weights=np.abs(f) ** 2) / np.bincount(ref.member_family)

    ratio_truth = family_f2(U_TRUE) / family_f2(U_WYCKOFF_1963)
    ratio = moved.f2 / ref.f2
    strong = ref.f2 > 1e-3 * ref.f2.max()
    assert np.max(np.abs(ratio_truth[strong] - 1)) > 0.3  # the move matters …
    assert ratio[strong] == pytest.approx(ratio_truth[strong], rel=0.01)  # … and is computed right


def _mixture(u: float, seed: int):
    rng = np.random.default_rng(seed)
    return synthetic_pattern([_zno(u), _caf2()], [0.55, 0.45], GRID_DEG, names=["ZnO", "CaF2"],
                             profile=PeakProfile(), b_iso_angstrom2=[0.5, 0.7], counts_on_strongest=2e4,
                             rng=rng, lab=LabEffects())


def test_wrong_cif_coordinate_is_refined_to_the_truth_of_an_independent_mixture() -> None:
    pattern = _mixture(U_TRUE, seed=0)
    scan = pattern.to_scan("zno-caf2")
    truth = pattern.weight_fractions
    res = quantify(scan, [_zno(U_WYCKOFF_1963), _caf2()], instrument="miniflex600-cuka")
    fit = res.coordinates["ZnO"]
    assert fit.accepted and fit.names == ("O z",)
    shift, sigma = float(fit.values[0] - fit.reference[0]), float(fit.sigma[0])
    assert 0 < sigma < 0.005
    assert abs(shift - (U_TRUE - U_WYCKOFF_1963)) <= max(3 * sigma, 0.005)
    zno = res.phase("ZnO")
    assert abs(zno.weight_fraction - truth["ZnO"]) <= 2 * zno.weight_fraction_sigma
    assert "CaF2" not in res.coordinates and "CaF2" not in res.coordinate_notes  # nothing free
    out = res.to_dict()
    rows = {p["name"]: p for p in out["phases"]}
    assert rows["ZnO"]["coordinates"]["refined"] and rows["ZnO"]["coordinates"]["sites"][0]["sigma"] > 0
    assert "coordinates" not in rows["CaF2"]
    assert {"name", "weight_fraction", "weight_fraction_sigma", "lattice"} <= set(rows["ZnO"])
    # the CIF's u left as it is: a worse fit and a larger error
    fixed = quantify(scan, [_zno(U_WYCKOFF_1963), _caf2()], instrument="miniflex600-cuka", refine_coordinates=False)
    assert fixed.coordinates == {} and fixed.rwp > res.rwp + 0.01
    assert abs(fixed.phase("ZnO").weight_fraction - truth["ZnO"]) > abs(zno.weight_fraction - truth["ZnO"])


def test_right_cif_coordinates_are_kept(caplog) -> None:
    scan = _mixture(U_WYCKOFF_1963, seed=1).to_scan("zno-caf2 right u")
    with caplog.at_level(logging.INFO, logger="xrdkit.qpa"):
        res = quantify(scan, [_zno(U_WYCKOFF_1963), _caf2()], instrument="miniflex600-cuka", model_error=False)
    fit = res.coordinates["ZnO"]
    assert not fit.accepted and "not more than" in fit.reason
    assert abs(fit.values[0] - fit.reference[0]) < 3 * fit.sigma[0]
    assert res.to_dict()["phases"][0]["coordinates"]["sites"][0]["value"] == pytest.approx(fit.reference[0])
    assert "not kept" in caplog.text


def test_short_scans_and_minor_phases_keep_the_cif_coordinates() -> None:
    scan = _mixture(U_TRUE, seed=2).to_scan("short").crop(10.0, 80.0)  # sinθ/λ = 0.42 Å⁻¹
    res = quantify(scan, [_zno(U_WYCKOFF_1963), _caf2()], instrument="miniflex600-cuka", model_error=False)
    assert res.coordinates == {} and "sinθ/λ" in res.coordinate_notes["ZnO"]
    inst = load_instrument("miniflex600-cuka")
    full = _mixture(U_TRUE, seed=2).to_scan("full")
    assert coordinates_supported(full, inst, 0.3, 1)[0]
    assert not coordinates_supported(full, inst, COORDINATES_MIN_WEIGHT_FRACTION / 2, 1)[0]
    assert not coordinates_supported(full, inst, 0.3, MAX_FREE_COORDINATES + 1)[0]
    assert not coordinates_supported(full, inst, 0.3, 0)[0]


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_phase_arguments(p)
    return p.parse_args(list(argv))


def test_fix_coordinates_flag_and_recipe_key(tmp_path) -> None:
    assert coordinates_choice(_parse()) == "auto"
    assert coordinates_choice(_parse("--fix-coordinates")) is False
    recipe = tmp_path / "lab.toml"
    recipe.write_text("coordinates = false\n")
    args = _parse("--recipe", str(recipe))
    apply_recipe(args)
    assert coordinates_choice(args) is False
