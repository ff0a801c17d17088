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

Exit: the console scripts (:func:`console`, :func:`irkit.cli.console`) end through
:func:`exit_now`, which runs the ``atexit`` handlers, flushes the standard streams and leaves
without the interpreter's teardown of every loaded module (≈ 0.3 s after a batch, measured).
:func:`main` itself only returns the exit code, so it can be called from Python.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

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


def _open_hdf5_files() -> int:
    """How many HDF5 files h5py has open in this process (0 if h5py was never imported).

    Only counted, never inspected one by one: asking a file left broken by a full disk for its
    access mode crashes the HDF5 library."""
    h5f = sys.modules.get("h5py.h5f")
    if h5f is None:
        return 0
    try:
        return int(h5f.get_obj_count(h5f.OBJ_ALL, h5f.OBJ_FILE))
    except Exception:  # an h5py without this call: count one, so the caller stays safe
        return 1


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` without tearing the interpreter down.

    Runs the ``atexit`` handlers (logging, multiprocessing and the libraries' own clean-up),
    flushes ``stdout`` and ``stderr``, then calls :func:`os._exit`, which skips freeing every
    module and object one by one: about 0.3 s after a batch has loaded scipy, numba and
    pymatgen. If h5py still has an HDF5 file open, the normal :func:`sys.exit` is used
    instead, so HDF5 flushes and closes it (a batch closes its input and output files before
    it returns, :func:`xrdkit.analysis.close_input_file`).

    Parameters
    ----------
    code : int
        The process exit code.

    Examples
    --------
    Only ever called last, as the console scripts do; here in a child interpreter whose
    ``atexit`` handler and buffered output must both survive the quick exit:

    >>> import subprocess, sys
    >>> child = ("import atexit, sys; from xrdkit.cli import exit_now; "
    ...          "atexit.register(lambda: print('handler ran')); "
    ...          "sys.stdout.write('buffered '); exit_now(3)")
    >>> done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    >>> done.returncode, done.stdout
    (3, 'buffered handler ran\\n')
    """
    atexit._run_exitfuncs()
    if _open_hdf5_files():
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written
            pass
    os._exit(code)


def run_console(main_function: Callable[[], int]) -> NoReturn:
    """Run a console script's ``main_function()`` and end the process with its exit code.

    A reader that closes the pipe early (``xrdkit phases | head -1``) ends the command with
    exit code 1 and no traceback, as the Python documentation recommends for ``SIGPIPE``.
    The end goes through :func:`exit_now`.

    Parameters
    ----------
    main_function : callable
        Parses ``sys.argv`` and runs the command; returns the exit code.
    """
    try:
        code = main_function()
    except BrokenPipeError:
        # nothing more can reach the reader: point stdout at /dev/null so the final flush
        # does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    exit_now(code)


def console() -> NoReturn:
    """The ``xrdkit`` console script: :func:`main` through :func:`run_console`."""
    run_console(main)


if __name__ == "__main__":  # pragma: no cover
    console()
