"""The notebook view every result with a text report shares.

Results (:class:`~xrdkit.identify.PhaseVerdict`, :class:`~xrdkit.refine.RefinementResult`,
:class:`~xrdkit.batch.BatchSummary`, :class:`~xrdkit.cell.predict.CellPrediction`,
:class:`irkit.assess.IRVerdict`, :class:`irkit.fit.RegionFit`) write a one-screen ``summary()``;
a notebook shows that text, escaped, as preformatted HTML.
"""

from __future__ import annotations

import html

__all__ = ["HtmlSummary"]


class HtmlSummary:
    """Mixin: ``_repr_html_`` is the class's ``summary()`` as escaped ``<pre>`` text.

    Examples
    --------
    >>> class Note(HtmlSummary):
    ...     def summary(self) -> str:
    ...         return "a < b"
    >>> Note()._repr_html_()
    '<pre>a &lt; b</pre>'
    """

    __slots__ = ()

    def summary(self) -> str:  # pragma: no cover - every subclass writes its own
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"
