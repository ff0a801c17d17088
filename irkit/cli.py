"""The ``irkit`` command line: IR spectra of closo-borate electrolytes.

Sub-commands live in :mod:`irkit.commands` (same conventions as :mod:`xrdkit.cli`): closokit
errors become one line on stderr and exit code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from xrdkit.cli import build_parser, run, run_console

#: Sub-command modules of ``irkit``, in help order.
COMMAND_MODULES = ("fit", "batch")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``irkit`` console script."""
    parser = build_parser(prog="irkit", package="irkit.commands", modules=COMMAND_MODULES)
    parser.description = __doc__.splitlines()[0]
    return run(argv, parser)


def console() -> NoReturn:
    """The ``irkit`` console script: :func:`main` through :func:`xrdkit.cli.run_console`."""
    run_console(main)


if __name__ == "__main__":  # pragma: no cover
    console()
