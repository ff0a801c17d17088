"""The fit caches held by :class:`xrdkit.session.FitSession`: separate per session, emptied by
``clear()``, the process's default when none is given, bounded, and never changing a result.

Scans come from the independent generator :mod:`xrdkit.synthetic` (2,000 points 10–50° 2θ, two
phases: each fit well under a second).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle

import numpy as np
import pytest

from xrdkit.coordinates import free_coordinates
from xrdkit.refine import RefinementResult, RefineOptions, refine, screen_phases
from xrdkit.session import MODEL_CACHE_SIZE, SPACE_CACHE_SIZE, FitSession, LruCache, default_session
from xrdkit.simulate import resolve_phases
from xrdkit.synthetic import PeakProfile, synthetic_pattern

GRID_DEG = np.linspace(10.0, 50.0, 2000)
PROFILE = PeakProfile(u_deg2=0.010, v_deg2=-0.005, w_deg2=0.006, eta=0.5)
PHASES = ("nbh-fcc", "al")
#: The synthetic profile is the same for every phase: per-phase broadening is not needed here.
OPTS = RefineOptions(refine_phase_broadening=False)


@pytest.fixture(scope="module")
def refls(library, instrument):
    return resolve_phases(list(PHASES), instrument, 51.0, library=library)


@pytest.fixture(scope="module")
def scans(library):
    """Three scans of a series: the NBH cell grows by 0.002 Å per scan."""
    out = []
    for k in range(3):
        nbh = library.get("nbh-fcc").structure.copy()
        nbh.scale_lattice(nbh.volume * ((nbh.lattice.a + 0.002 * k) / nbh.lattice.a) ** 3)
        pat = synthetic_pattern([nbh, library.get("al").structure], [0.6, 0.4], GRID_DEG, names=list(PHASES),
                                profile=PROFILE, rng=np.random.default_rng(20 + k))
        out.append(pat.to_scan(f"scan {k}"))
    return out


def _numbers(res: RefinementResult) -> dict:
    """Every number of a result except the elapsed time."""
    return {f.name: getattr(res, f.name) for f in dataclasses.fields(res) if f.name != "elapsed_s"}


def _assert_identical(a: RefinementResult, b: RefinementResult) -> None:
    na, nb = _numbers(a), _numbers(b)
    assert na.keys() == nb.keys()
    for key in na:
        x, y = na[key], nb[key]
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=key)
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), key
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"{key}/{k}")
        elif key == "parameters":
            for f in dataclasses.fields(x):
                np.testing.assert_array_equal(getattr(x, f.name), getattr(y, f.name), err_msg=f"{key}.{f.name}")
        else:
            assert x == y or (x != x and y != y), key  # NaN equals NaN here


# ------------------------------------------------------------------ separation, clear, default


def test_two_sessions_do_not_share_entries(scans, refls, instrument):
    a, b = FitSession(), FitSession()
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=a)
    assert len(a.models) == 1 and len(b.models) == 0
    assert a.stats()["models"]["misses"] == 1
    refine(scans[1], refls, instrument=instrument, options=OPTS, session=a)
    assert a.stats()["models"]["hits"] == 1  # the same phases on the same grid: the same model
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=b)
    assert b.stats()["models"] == {"entries": 1, "hits": 0, "misses": 1, "max_entries": MODEL_CACHE_SIZE}
    (model_a, _), = a.models.values()
    (model_b, _), = b.models.values()
    assert model_a is not model_b
    assert list(a.plans) == [model_a] and list(b.plans) == [model_b]


def test_screen_and_refine_share_the_model_of_their_session(scans, refls, instrument):
    s = FitSession()
    screen_phases(scans[0], refls, instrument=instrument, session=s)
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=s)
    assert s.stats()["models"]["hits"] == 1 and len(s.models) == 1


def test_clear_empties_every_cache(scans, refls, instrument, library):
    s = FitSession()
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=s)
    free_coordinates(library.get("nacro2").structure, session=s)
    s.reflections.put(("config",), ({}, [], ()))
    assert len(s.models) == len(s.spaces) == len(s.reflections) == len(s.plans) == 1
    s.clear()
    assert len(s.models) == len(s.spaces) == len(s.reflections) == len(s.plans) == 0
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=s)
    assert s.stats()["models"]["misses"] == 2  # built again after clear()


def test_the_default_session_is_used_when_none_is_given(scans, refls, instrument, library):
    d = default_session()
    assert default_session() is d
    before = d.stats()["models"]
    res = refine(scans[0], refls, instrument=instrument, options=OPTS)
    after = d.stats()["models"]
    assert after["hits"] + after["misses"] == before["hits"] + before["misses"] + 1
    # the model it used is the default session's: a second fit finds it there
    refine(scans[1], refls, instrument=instrument, options=OPTS, start=res, session=d)
    assert d.stats()["models"]["hits"] == after["hits"] + 1
    structure = library.get("nacro2").structure
    assert free_coordinates(structure) is free_coordinates(structure, session=d)
    assert free_coordinates(structure, session=FitSession()) is not free_coordinates(structure)


# ------------------------------------------------------------------ results do not depend on it


def test_results_identical_with_a_fresh_and_a_warm_session(scans, refls, instrument):
    """A cache changes no number: a series fitted in one session (models and their memoised
    evaluations reused, cold and warm-started fits) equals every fit done in a new session."""
    warm_session = FitSession()
    refine(scans[2], refls, instrument=instrument, options=OPTS, session=warm_session)  # warm it up
    prev_w = prev_f = None
    for scan in scans:
        in_warm = refine(scan, refls, instrument=instrument, options=OPTS, start=prev_w, session=warm_session)
        in_fresh = refine(scan, refls, instrument=instrument, options=OPTS, start=prev_f, session=FitSession())
        _assert_identical(in_warm, in_fresh)
        prev_w, prev_f = in_warm, in_fresh
    assert warm_session.stats()["models"]["hits"] == len(scans)
    # the comparison can fail: another fit differs
    with pytest.raises(AssertionError):
        _assert_identical(in_warm, refine(scans[0], refls, instrument=instrument, options=OPTS))


# ------------------------------------------------------------------ bounds, pickling, fork


def test_lru_cache_keeps_the_most_recently_used():
    c: LruCache[int] = LruCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent: b goes first
    c.put("c", 3)
    assert "b" not in c and "a" in c and "c" in c and len(c) == 2
    assert c.get("a", accept=lambda v: v == 99) is None  # rejected: a miss, kept until replaced
    assert "a" in c
    assert c.stats() == {"entries": 2, "hits": 1, "misses": 1, "max_entries": 2}
    unbounded: LruCache[int] = LruCache(None)
    for k in range(100):
        unbounded.put(k, k)
    assert len(unbounded) == 100
    with pytest.raises(ValueError):
        LruCache(0)


def test_model_cache_is_bounded(scans, refls, instrument):
    s = FitSession(model_cache_size=2)
    for terms in (4, 5, 6):  # three background orders: three models
        refine(scans[0], refls, instrument=instrument, options=dataclasses.replace(OPTS, background_terms=terms),
               session=s)
    assert len(s.models) == 2
    assert FitSession().spaces.max_entries == SPACE_CACHE_SIZE


def test_a_pickled_session_arrives_empty_with_its_bounds(scans, refls, instrument):
    s = FitSession(model_cache_size=3, space_cache_size=5)
    refine(scans[0], refls, instrument=instrument, options=OPTS, session=s)
    copy = pickle.loads(pickle.dumps(s))
    assert isinstance(copy, FitSession) and len(copy.models) == 0 and len(copy.plans) == 0
    assert copy.models.max_entries == 3 and copy.spaces.max_entries == 5
    assert len(s.models) == 1  # the original keeps its entries


def _child_sees_models(queue) -> None:
    queue.put(len(default_session().models))


def test_a_forked_worker_inherits_the_default_session(scans, refls, instrument):
    """Batch workers are forked after the parent warmed its caches: they start with them."""
    refine(scans[0], refls, instrument=instrument, options=OPTS)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_sees_models, args=(queue,))
    proc.start()
    seen = queue.get(timeout=60)
    proc.join(timeout=60)
    assert seen == len(default_session().models) >= 1
