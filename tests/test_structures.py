"""Tests of xrdkit.structures against analytic geometry, FACTS.md numbers and pymatgen."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from xrdkit.errors import InputError
from xrdkit.structures import (
    b10h10_bicapped_antiprism,
    b12h12_icosahedron,
    build_na2b10h10_ht,
    build_na2b12h12_ht,
    build_nbh_fcc,
    cubic_point_group_rotations,
    orientation_average,
)

CU_KA1 = 1.540593  # Å, FACTS.md / brief
TOL = 1e-9


def _pair_distances(xyz: np.ndarray) -> np.ndarray:
    diff = xyz[:, None, :] - xyz[None, :, :]
    return np.linalg.norm(diff, axis=-1)


def _bragg_two_theta(d: float, wavelength: float = CU_KA1) -> float:
    return math.degrees(2 * math.asin(wavelength / (2 * d)))


# --------------------------------------------------------------------------- geometry
@settings(max_examples=25, deadline=None)
@given(bb=st.floats(1.5, 2.0), bh=st.floats(0.9, 1.3))
def test_icosahedron_edges_and_radial_hydrogens(bb: float, bh: float) -> None:
    g = b12h12_icosahedron(b_b_angstrom=bb, b_h_angstrom=bh)
    b, h = g.boron_xyz_angstrom, g.hydrogen_xyz_angstrom
    assert b.shape == (12, 3) and h.shape == (12, 3)
    np.testing.assert_allclose(b.mean(axis=0), 0.0, atol=TOL)
    d = _pair_distances(b)
    # every vertex has exactly 5 neighbours at the edge length; an icosahedron has 30 edges
    edges = np.isclose(d, bb, rtol=0, atol=1e-9)
    assert (edges.sum(axis=1) == 5).all()
    assert edges.sum() // 2 == 30
    # circumradius of a regular icosahedron: R = edge * sin(2π/5)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), bb * math.sin(2 * math.pi / 5),
                               rtol=1e-12)
    # B-H bonds: length bh and radial (parallel to the centre-B vector)
    bond = h - b
    np.testing.assert_allclose(np.linalg.norm(bond, axis=1), bh, rtol=1e-12)
    cos = np.einsum("ij,ij->i", bond, b) / (np.linalg.norm(bond, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(ar=st.floats(1.6, 1.8), ir=st.floats(1.75, 1.95), rr=st.floats(1.7, 1.9),
       bh=st.floats(0.9, 1.3))
def test_bicapped_antiprism_distances(ar: float, ir: float, rr: float, bh: float) -> None:
    g = b10h10_bicapped_antiprism(apex_ring_angstrom=ar, in_ring_angstrom=ir,
                                  ring_ring_angstrom=rr, b_h_angstrom=bh)
    b = g.boron_xyz_angstrom
    assert b.shape == (10, 3)
    np.testing.assert_allclose(b.mean(axis=0), 0.0, atol=TOL)
    d = _pair_distances(b)
    ring = list(range(2, 10))
    np.testing.assert_allclose(b[:2, :2], 0.0, atol=TOL)  # apices on the 4-fold axis
    upper = [i for i in ring if b[i, 2] > 0]
    lower = [i for i in ring if b[i, 2] < 0]
    assert len(upper) == len(lower) == 4
    for a_idx, ring_idx in ((0, upper), (1, lower)):
        np.testing.assert_allclose(d[a_idx, ring_idx], ar, rtol=1e-12)
    for square in (upper, lower):
        sub = d[np.ix_(square, square)]
        # in a square each vertex has 2 neighbours at the edge, 1 at edge·√2
        assert (np.isclose(sub, ir, atol=1e-9).sum(axis=1) == 2).all()
        assert (np.isclose(sub, ir * math.sqrt(2), atol=1e-9).sum(axis=1) == 1).all()
    # antiprism: each upper-ring B has exactly two lower-ring B at the ring-ring distance
    cross = d[np.ix_(upper, lower)]
    assert (np.isclose(cross, rr, atol=1e-9).sum(axis=1) == 2).all()
    assert (cross >= rr - 1e-9).all()
    # S8 (rotate 45° about z, then mirror z) maps the cage onto itself: D4d symmetry
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    s8 = np.array([[c, -s, 0], [s, c, 0], [0, 0, -1]])
    moved = b @ s8.T
    assert np.min(_pair_distances(np.vstack([moved, b]))[:10, 10:], axis=1).max() < 1e-9
    bond = g.hydrogen_xyz_angstrom - b
    np.testing.assert_allclose(np.linalg.norm(bond, axis=1), bh, rtol=1e-12)
    np.testing.assert_allclose(np.cross(bond, b), 0.0, atol=1e-12)
    assert "[unverified]" in g.provenance


@pytest.mark.parametrize("kwargs", [
    {"b_b_angstrom": -1.0}, {"b_b_angstrom": 0.0}, {"b_b_angstrom": float("nan")},
    {"b_h_angstrom": float("inf")}, {"b_b_angstrom": "x"},
])
def test_icosahedron_rejects_bad_lengths(kwargs: dict) -> None:
    with pytest.raises(InputError):
        b12h12_icosahedron(**kwargs)


@pytest.mark.parametrize("kwargs", [
    {"ring_ring_angstrom": 0.5},   # shorter than the in-plane offset of the staggered squares
    {"apex_ring_angstrom": 1.0},   # shorter than the square's circumradius
    {"in_ring_angstrom": -1.86},
])
def test_antiprism_rejects_impossible_geometry(kwargs: dict) -> None:
    with pytest.raises(InputError):
        b10h10_bicapped_antiprism(**kwargs)


def test_cubic_point_group_is_a_group_of_48_orthogonal_matrices() -> None:
    ops = cubic_point_group_rotations()
    assert ops.shape == (48, 3, 3)
    keys = {m.tobytes() for m in ops}
    assert len(keys) == 48
    for m in ops:
        np.testing.assert_array_equal(m @ m.T, np.eye(3, dtype=int))
    for m1, m2 in itertools.product(ops[::7], ops):
        assert (m1 @ m2).tobytes() in keys


def test_orientation_average_counts_orientations() -> None:
    # icosahedron with 2-fold axes on x,y,z: m-3m gives 2 orientations → 24 half-occupied sites
    pos, w = orientation_average(b12h12_icosahedron().boron_xyz_angstrom)
    assert pos.shape == (24, 3)
    np.testing.assert_allclose(w, 0.5)
    # antiprism with 4-fold along z: 6 orientations; apices on ±x,±y,±z (6 sites, 1/3 each),
    # ring B on two 24-site orbits with 1/6 each
    pos, w = orientation_average(b10h10_bicapped_antiprism().boron_xyz_angstrom)
    assert pos.shape == (54, 3)
    assert sorted(np.round(w, 12).tolist()).count(round(1 / 3, 12)) == 6
    assert sorted(np.round(w, 12).tolist()).count(round(1 / 6, 12)) == 48
    np.testing.assert_allclose(w.sum(), 10.0)


# --------------------------------------------------------------------------- NBH fcc
@pytest.fixture(scope="module")
def nbh():
    return build_nbh_fcc()


def test_nbh_composition(nbh) -> None:
    amounts = nbh.composition.get_el_amt_dict()
    # 4 anions per fcc cell, half B12H12, half B10H10: 2·12 + 2·10 = 44 B and 44 H
    assert amounts["B"] == pytest.approx(44.0, abs=1e-9)
    assert amounts["H"] == pytest.approx(44.0, abs=1e-9)
    # Na from the FACTS.md occupancies: 8·0.58 + 4·0.28 + 24·0.09 = 7.92 (ideal Na4B22H22 ×2 = 8)
    assert amounts["Na"] == pytest.approx(8 * 0.58 + 4 * 0.28 + 24 * 0.09, abs=1e-9)
    assert amounts["Na"] == pytest.approx(8.0, abs=0.1)
    for site in nbh:
        assert site.species.num_atoms <= 1.0 + 1e-9


def test_nbh_density_matches_paper(nbh) -> None:
    assert nbh.density == pytest.approx(1.17, abs=0.02)  # [paper] 1.17 g/cm³


def test_nbh_is_fm3m_with_the_given_cell(nbh) -> None:
    assert nbh.lattice.abc == pytest.approx((10.029,) * 3)
    assert SpacegroupAnalyzer(nbh, symprec=0.01).get_space_group_symbol() == "Fm-3m"


def test_nbh_111_position_and_strongest_line(nbh) -> None:
    pattern = XRDCalculator(wavelength="CuKa1").get_pattern(nbh, two_theta_range=(10, 40))
    strongest = int(np.argmax(pattern.y))
    assert pattern.hkls[strongest][0]["hkl"] == (1, 1, 1)
    assert pattern.x[strongest] == pytest.approx(15.29, abs=0.02)  # FACTS.md
    # and Bragg's law with d = a/√3 (independent of pymatgen)
    assert pattern.x[strongest] == pytest.approx(_bragg_two_theta(10.029 / math.sqrt(3)),
                                                 abs=1e-3)
    # (200) and (220) positions from FACTS.md
    by_hkl = {h[0]["hkl"]: x for x, h in zip(pattern.x, pattern.hkls, strict=True)}
    assert by_hkl[(2, 0, 0)] == pytest.approx(17.69, abs=0.02)
    assert by_hkl[(2, 2, 0)] == pytest.approx(25.1, abs=0.02)


@pytest.mark.parametrize("fraction,boron", [(1.0, 48.0), (0.0, 40.0), (0.25, 42.0)])
def test_nbh_b12_fraction_sets_the_anion_mix(fraction: float, boron: float) -> None:
    s = build_nbh_fcc(b12_fraction=fraction)
    assert s.composition["B"] == pytest.approx(boron)


@pytest.mark.parametrize("kwargs", [
    {"a_angstrom": -10.0}, {"a_angstrom": 0.0}, {"a_angstrom": float("nan")},
    {"a_angstrom": float("inf")}, {"b12_fraction": -0.1}, {"b12_fraction": 1.5},
    {"b12_fraction": float("nan")}, {"na_occupancy": (1.2, 0.28, 0.09)},
    {"na_occupancy": (0.58, -0.1, 0.09)}, {"na_occupancy": (0.58, 0.28)},
])
def test_nbh_rejects_bad_input(kwargs: dict) -> None:
    with pytest.raises(InputError):
        build_nbh_fcc(**kwargs)


def test_builder_does_not_mutate_given_geometry() -> None:
    g = b12h12_icosahedron()
    before = g.boron_xyz_angstrom.copy()
    build_nbh_fcc(b12=g)
    np.testing.assert_array_equal(g.boron_xyz_angstrom, before)
    assert not g.boron_xyz_angstrom.flags.writeable


# --------------------------------------------------------------------------- high-T phases
def test_na2b10h10_ht() -> None:
    s = build_na2b10h10_ht()
    assert SpacegroupAnalyzer(s, symprec=0.01).get_space_group_symbol() == "Fm-3m"
    amounts = s.composition.get_el_amt_dict()
    assert amounts["B"] == pytest.approx(40.0) and amounts["H"] == pytest.approx(40.0)
    assert amounts["Na"] == pytest.approx(7.92)
    pattern = XRDCalculator(wavelength="CuKa1").get_pattern(s, two_theta_range=(10, 20))
    assert pattern.x[0] == pytest.approx(_bragg_two_theta(9.8426 / math.sqrt(3)), abs=1e-3)


def test_na2b12h12_ht() -> None:
    s = build_na2b12h12_ht()
    assert SpacegroupAnalyzer(s, symprec=0.01).get_space_group_symbol() == "Im-3m"
    amounts = s.composition.get_el_amt_dict()
    # 2 anions per bcc cell, Na on 24g with occupancy 1/6 → Na4B24H24 = 2 Na2B12H12
    assert amounts == pytest.approx({"Na": 4.0, "B": 24.0, "H": 24.0})
    pattern = XRDCalculator(wavelength="CuKa1").get_pattern(s, two_theta_range=(10, 20))
    assert pattern.hkls[0][0]["hkl"] == (1, 1, 0)
    assert pattern.x[0] == pytest.approx(_bragg_two_theta(8.1 / math.sqrt(2)), abs=1e-3)


@pytest.mark.parametrize("kwargs", [{"a_angstrom": -8.1}, {"na_24g_x": 0.6},
                                    {"na_24g_occupancy": 2.0}])
def test_na2b12h12_ht_rejects_bad_input(kwargs: dict) -> None:
    with pytest.raises(InputError):
        build_na2b12h12_ht(**kwargs)
