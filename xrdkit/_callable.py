"""Lazy top-level verbs for a package; modules named after their verb can be called as that verb.

``xrdkit.identify`` is both a module and the verb the package exports: Python binds the package
attribute to the submodule as soon as anything imports ``xrdkit.identify``, so the top-level verb
would change meaning with import order. Instead the module itself is callable and forwards to its
function of the same name: ``xrdkit.identify(scan)`` is ``xrdkit.identify.identify(scan)`` whatever
was imported first.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is its same-named function's call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Give ``sys.modules[module_name]`` the :class:`CallableModule` class."""
    sys.modules[module_name].__class__ = CallableModule


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``name → defining module`` lazily (PEP 562).

    The first access imports the module and caches the value in the package; a verb whose module
    is a :class:`CallableModule` (``xrdkit.identify``) is that module, since Python binds the
    package attribute to the submodule anyway once anything imports it.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod = importlib.import_module(module)
        value = mod if isinstance(mod, CallableModule) else getattr(mod, name)
        namespace[name] = value  # next access skips this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__

