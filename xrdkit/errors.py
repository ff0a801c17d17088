"""Exception and warning hierarchy shared by xrdkit and irkit.

Every error a user can provoke with bad input is an :class:`InputError` whose
message names the file, the dataset or column, and what is wrong.  Fits that
cannot be trusted raise :class:`FitError` (or, where the result is still
useful, carry a :class:`FitWarning` in their ``warnings``).  The command-line
tools turn a :class:`ClosokitError` into a one-line message and a non-zero exit
code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

__all__ = [
    "ClosokitError",
    "InputError",
    "PhaseError",
    "FitError",
    "BatchError",
    "ClosokitWarning",
    "FitWarning",
    "ProvenanceWarning",
]


class ClosokitError(Exception):
    """Base class of every error raised on purpose by closokit."""


class InputError(ClosokitError, ValueError):
    """Bad input data or arguments: the message names the source and the problem.

    Parameters
    ----------
    message
        What is wrong, with the offending value.
    source
        File, ``FILE::/hdf5/path`` or argument name the problem was found in.
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        self.problem = message
        super().__init__(f"{source}: {message}" if source else message)


class PhaseError(InputError, KeyError):
    """Unknown phase name, unreadable CIF or inconsistent phase metadata."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class FitError(ClosokitError, RuntimeError):
    """A fit could not be set up or produced no usable result."""


class BatchError(ClosokitError, RuntimeError):
    """A batch run cannot start or continue (e.g. an unusable results file)."""


class ClosokitWarning(UserWarning):
    """Base class of closokit warnings."""


class FitWarning(ClosokitWarning):
    """A fit finished but something about it deserves attention."""


class ProvenanceWarning(ClosokitWarning):
    """Data used has constructed or unverified provenance."""
