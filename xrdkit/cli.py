"""The ``xrdkit`` command line: a thin layer over the library.

Each sub-command lives in its own module under :mod:`xrdkit.commands` and exposes
``add_parser(subparsers)``, which registers the sub-command and sets
``func(args) -> int`` as its default.  Errors derived from
:class:`~xrdkit.errors.ClosokitError` become one line on stderr and exit code 2;
``--debug`` shows the traceback instead.

Start-up: only the sub-command being run is imported. ``xrdkit --help`` imports none; it
reads each sub-command's one-line help from its module's source (the literal ``help=``
of its ``add_parser`` call), so listing the commands costs milliseconds, not the seconds
pymatgen, scipy and numba take to import.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from xrdkit.errors import ClosokitError

#: Sub-command modules, in the order ``xrdkit --help`` lists them.
COMMAND_MODULES = (
    "phases",
    "simulate",
    "fit",
    "identify",
    "batch",
    "cell",
    "instrument",
    "report",
    "demo",
)


def _module_missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True when ``exc`` says ``module`` itself (not something it imports) is missing."""
    return exc.name == module


def _static_help(module: str, command: str) -> str | None:
    """The literal ``help=`` of ``add_parser(command, …)`` in ``module``'s source, read without
    importing it; None when the source is not at hand or the help is not a string literal.

    Raises
    ------
    ModuleNotFoundError
        ``module`` does not exist (its parent package does).
    """
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    if not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=spec.origin)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_parser" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == command):
            for kw in node.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant) \
                        and isinstance(kw.value.value, str):
                    return kw.value.value
    return None


def command_in(argv: Sequence[str], modules: Sequence[str] = COMMAND_MODULES) -> str | None:
    """The sub-command ``argv`` names: its first word not starting with ``-`` (the top-level
    options take no value), if that is one of ``modules``; else None."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in modules else None
    return None


def build_parser(prog: str = "xrdkit", package: str = "xrdkit.commands",
                 modules: Sequence[str] = COMMAND_MODULES,
                 argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command registered.

    Parameters
    ----------
    prog, package, modules
        Program name, package of the sub-command modules and their names (help order).
    argv : sequence of str, optional
        The arguments the parser is built for. Given, only the sub-command they name is
        imported and registered in full; the others are listed by name and one-line help
        only (read from their source: see the module docstring). None: every sub-command
        is imported and registered in full.
    """
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = command_in(argv, modules) if argv is not None else None
    for name in modules:
        module_name = f"{package}.{name}"
        try:
            if argv is not None and name != wanted:
                text = _static_help(module_name, name)
                if text is not None:
                    sub.add_parser(name, help=text)  # listed only: never selected in this run
                    continue
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not _module_missing(exc, module_name):
                raise
            continue  # sub-command not shipped in this build
        module.add_parser(sub)
    return parser


def run(argv: Sequence[str] | None, parser: argparse.ArgumentParser) -> int:
    """Parse ``argv``, run the sub-command and map closokit errors to exit code 2."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except ClosokitError as exc:
        if args.debug:
            raise
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xrdkit`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(argv, build_parser(argv=argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
