"""Optional numba compilation for xrdkit's inner loops.

numba is a dependency of closokit, but every compiled function is also plain Python/numpy
that runs as it is when numba cannot be imported or ``XRDKIT_NO_NUMBA=1`` is set.

Compiled code is cached on disk (``cache=True`` on every compiled function here, in
:mod:`xrdkit._kernels`, :mod:`xrdkit.refine` and :mod:`xrdkit.varpro`), so it survives between
runs and is shared by worker processes. Numba picks the folder: ``NUMBA_CACHE_DIR`` when set,
else the package's ``__pycache__`` when writable, else the user's cache folder
(``~/.cache/numba``; ``numba.core.caching`` tries them in that order). The first run after
installing or after editing a compiled function compiles what a scan uses (about 40 s on the
2-core CI machine, mostly the variable-projection solver); later runs load it (about 0.4 s per
process). Ahead-of-time compilation (``numba.pycc``) is deprecated and would tie wheels to one
CPU; the disk cache does the same job after the first run.

So that the first run's wait is not a silent one, the first compilation of a closokit
function in a process (a disk-cache miss: numba's ``"numba:compile"`` event, which loading
from the cache does not send) logs one WARNING saying what is happening and that it happens
once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

__all__ = ["COMPILING_MESSAGE", "HAVE_NUMBA", "jit", "numba"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)

try:  # pragma: no cover - exercised by whichever environment runs the tests
    if os.environ.get("XRDKIT_NO_NUMBA", "").strip() not in ("", "0"):
        raise ImportError("disabled by XRDKIT_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError as _exc:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False
    log.info("numba not available (%s): xrdkit runs its loops in numpy (slower)", _exc)


#: The WARNING logged when numba first compiles a closokit function in a process.
COMPILING_MESSAGE = (
    "compiling closokit's numerical code (%s first): the first run after installing or upgrading "
    "takes about 40 s longer on 2 cores; later runs load the compiled code from numba's disk cache"
)


def _compiled_by_us(dispatcher: object) -> str | None:
    """``module.function`` of a numba dispatcher's Python function when it is closokit's."""
    func = getattr(dispatcher, "py_func", None)
    module = getattr(func, "__module__", "") or ""
    if module.split(".", 1)[0] in ("xrdkit", "irkit"):
        return f"{module}.{getattr(func, '__name__', '?')}"
    return None


if numba is not None:
    from numba.core import event as _event

    class _FirstCompileNotice(_event.Listener):
        """Logs :data:`COMPILING_MESSAGE` once per process, at the first compilation (not
        cache load) of a closokit function."""

        def __init__(self) -> None:
            self.told = False

        def on_start(self, event: _event.Event) -> None:
            if self.told:
                return
            name = _compiled_by_us((event.data or {}).get("dispatcher"))
            if name is not None:
                self.told = True
                log.warning(COMPILING_MESSAGE, name)

        def on_end(self, event: _event.Event) -> None:
            pass

    _event.register("numba:compile", _FirstCompileNotice())


def jit(func: F) -> F:
    """``func`` compiled by numba (``nopython``, cached on disk), or ``func`` itself when
    numba is not active at import. Compiled functions call each other compiled; the plain
    function stays available as ``.py_func``.

    Unlike the pattern kernels (:mod:`xrdkit._kernels`), which also look at
    :data:`HAVE_NUMBA` when called, these are fixed at import: run a process with
    ``XRDKIT_NO_NUMBA=1`` to get the plain path everywhere.
    """
    if numba is None:
        func.py_func = func  # type: ignore[attr-defined]
        return func
    return numba.njit(cache=True, nogil=True)(func)
