"""The caches a sequence of fits shares, held by one explicit object.

A series of scans is fitted with the same phases on the same grid, scan after scan; what does not
change from one scan to the next is built once and kept in a :class:`FitSession`:

- ``models``: :class:`~xrdkit.simulate.PatternModel` objects by reflection lists, grid and
  settings (:func:`xrdkit.refine.refine`, :func:`xrdkit.refine.screen_phases`), least recently
  used dropped beyond :data:`MODEL_CACHE_SIZE`; a model also memoises its last evaluations, so a
  warm-started fit begins where the previous one ended;
- ``plans``: per model, the fit plans (parameter bounds, varied set, labels) by instrument and
  options, dropped with their model;
- ``spaces``: the symmetry-allowed free coordinates of structures
  (:func:`xrdkit.coordinates.free_coordinates`), beyond :data:`SPACE_CACHE_SIZE` the least
  recently used dropped;
- ``reflections``: the batch analysis's reflection lists per configuration, wavelength and 2θ
  range (:mod:`xrdkit.analysis`; a handful per run, not bounded).

Every function that uses a cache takes ``session=None``, meaning the process's
:func:`default_session`. A cache never changes a result: a fit with a fresh session gives the
numbers a fit with a warm one gives.

Processes: a forked batch worker inherits a copy of the parent's default session (the parent
warms it before forking); a session is never part of a task. Pickled, a session arrives empty
(same bounds), so a task that carried one by mistake would be slower, not wrong. A session is
not locked: share one between threads only if they do not fit at the same time (as the default
session is, today, by the batch).

Examples
--------
>>> from xrdkit.session import FitSession, default_session
>>> session = FitSession()
>>> session.stats()["models"]
{'entries': 0, 'hits': 0, 'misses': 0, 'max_entries': 8}
>>> default_session() is default_session()
True
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["FitSession", "LruCache", "default_session", "MODEL_CACHE_SIZE", "SPACE_CACHE_SIZE"]

#: Pattern models kept per session: a series fits the same phases on the same grid scan after
#: scan; a few more cover the alternative models :func:`xrdkit.identify.identify` compares.
MODEL_CACHE_SIZE = 8
#: Structures whose free coordinates are kept per session.
SPACE_CACHE_SIZE = 32

V = TypeVar("V")


class LruCache(Generic[V]):
    """A mapping that keeps at most ``max_entries`` values, dropping the least recently used.

    Parameters
    ----------
    max_entries : int or None
        Bound on the number of entries (None: unbounded).

    Examples
    --------
    Two entries at most: reading ``"a"`` makes it the most recently used, so ``"b"`` goes
    when ``"c"`` comes.

    >>> cache = LruCache(2)
    >>> cache.put("a", 1)
    >>> cache.put("b", 2)
    >>> cache.get("a")
    1
    >>> cache.put("c", 3)
    >>> "b" in cache, cache.values()
    (False, [1, 3])
    >>> cache.get("b") is None, cache.get("a", accept=lambda v: v > 5) is None  # two misses
    (True, True)
    >>> cache.stats()
    {'entries': 2, 'hits': 1, 'misses': 2, 'max_entries': 2}
    """

    def __init__(self, max_entries: int | None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be ≥ 1 or None, got {max_entries}")
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, accept: Callable[[V], bool] | None = None) -> V | None:
        """The value under ``key`` (now the most recently used), or None.

        ``accept``: a check of a found value (for keys that identify a value only probably, such
        as object ids); a value it rejects counts as a miss and stays until replaced.
        """
        value = self._data.get(key)
        if value is None or (accept is not None and not accept(value)):
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` under ``key``, dropping the least recently used beyond the bound."""
        self._data[key] = value
        self._data.move_to_end(key)
        if self.max_entries is not None:
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry (the hit and miss counts stay)."""
        self._data.clear()

    def values(self) -> list[V]:
        """The stored values, least recently used first (the order is not changed)."""
        return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def stats(self) -> dict[str, int | None]:
        """Entries, hits, misses and the bound."""
        return {"entries": len(self._data), "hits": self.hits, "misses": self.misses,
                "max_entries": self.max_entries}


class FitSession:
    """The caches of a sequence of fits (see the module docstring).

    Parameters
    ----------
    model_cache_size : int
        Pattern models kept.
    space_cache_size : int
        Structures whose free coordinates are kept.

    Attributes
    ----------
    models : LruCache
        Key (reflection-list ids, grid, instrument, settings) → (PatternModel, grid copy).
    plans : weakref.WeakKeyDictionary
        PatternModel → {plan key: fit plan}; an entry goes with its model.
    spaces : LruCache
        Structure key → CoordinateSpace.
    reflections : LruCache
        (configuration key, shortest wavelength, 2θ max) → (lists by name, candidates, warnings).

    Examples
    --------
    A session of its own (``refine(scan, phases, session=session)`` keeps its pattern model
    there, not in the process's :func:`default_session`); pickled, a session travels empty,
    with its bounds:

    >>> import pickle
    >>> session = FitSession(model_cache_size=2)
    >>> session
    <FitSession: 0 models, 0 coordinate spaces, 0 reflection sets>
    >>> session.models.put("key", "model")
    >>> len(pickle.loads(pickle.dumps(session)).models), len(session.models)
    (0, 1)
    >>> pickle.loads(pickle.dumps(session)).models.max_entries
    2
    >>> session.clear()
    >>> session.stats()["models"]["entries"]
    0
    """

    def __init__(self, *, model_cache_size: int = MODEL_CACHE_SIZE,
                 space_cache_size: int = SPACE_CACHE_SIZE) -> None:
        self.models: LruCache[tuple[Any, Any]] = LruCache(model_cache_size)
        self.plans: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()
        self.spaces: LruCache[Any] = LruCache(space_cache_size)
        self.reflections: LruCache[tuple] = LruCache(None)

    def clear(self) -> None:
        """Empty every cache (the next fit builds its model again)."""
        self.models.clear()
        self.plans.clear()
        self.spaces.clear()
        self.reflections.clear()

    def stats(self) -> dict[str, dict[str, int | None]]:
        """Entries, hits, misses and bound of each bounded cache, by name."""
        return {"models": self.models.stats(), "spaces": self.spaces.stats(),
                "reflections": self.reflections.stats()}

    def __reduce__(self) -> tuple:
        # a session travels empty: its models are large and tied to this process's objects
        return (_empty_session, (self.models.max_entries, self.spaces.max_entries))

    def __repr__(self) -> str:
        return (f"<FitSession: {len(self.models)} models, {len(self.spaces)} coordinate spaces, "
                f"{len(self.reflections)} reflection sets>")


def _empty_session(model_cache_size: int, space_cache_size: int) -> FitSession:
    """An empty session with these bounds (what a pickled session becomes)."""
    return FitSession(model_cache_size=model_cache_size, space_cache_size=space_cache_size)


_DEFAULT = FitSession()


def default_session() -> FitSession:
    """The process's session: used by every fit that is given none.

    Returns
    -------
    FitSession
        The same object on every call in this process (a forked worker has a copy).

    Examples
    --------
    >>> default_session() is default_session()
    True
    >>> default_session().models.max_entries == MODEL_CACHE_SIZE
    True
    """
    return _DEFAULT
