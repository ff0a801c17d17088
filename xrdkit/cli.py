"""The ``xrdkit`` command line: a thin layer over the library.

Each sub-command lives in its own module under :mod:`xrdkit.commands` and exposes
``add_parser(subparsers)``, which registers the sub-command and sets
``func(args) -> int`` as its default.  Errors derived from
:class:`~xrdkit.errors.ClosokitError` become one line on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
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


def build_parser(prog: str = "xrdkit", package: str = "xrdkit.commands",
                 modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
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
    return run(argv, build_parser())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
