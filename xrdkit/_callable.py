"""Modules named after their verb can be called as that verb.

``xrdkit.identify`` is both a module and the verb the package exports: Python binds the package
attribute to the submodule as soon as anything imports ``xrdkit.identify``, so the top-level verb
would change meaning with import order. Instead the module itself is callable and forwards to its
function of the same name: ``xrdkit.identify(scan)`` is ``xrdkit.identify.identify(scan)`` whatever
was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is its same-named function's call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Give ``sys.modules[module_name]`` the :class:`CallableModule` class."""
    sys.modules[module_name].__class__ = CallableModule
