"""Figures of the study: each function returns a matplotlib Figure; ``show`` displays one in a notebook."""

from __future__ import annotations

import io


def show(fig, dpi: int = 90) -> None:
    """Display ``fig`` inline as a compact PNG and close it (keeps executed notebooks small)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    display(Image(buffer.getvalue()))


def say(text: str) -> None:
    """Display ``text`` as Markdown: a page's computed sentences (takeaways, provenance notes) read as prose."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def rule_prose(function) -> str:
    """A rule's docstring as Markdown prose for a page: reST roles (:func:`name`) and double backticks become
    code spans, a numeric constant of the rule's module named in one shows its value, and the sentence on
    what the function returns (its interface, not the rule) is left out."""
    import inspect
    import re

    module = inspect.getmodule(function)
    text = inspect.cleandoc(function.__doc__ or "")
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")

    def value(match):
        found = getattr(module, match.group(1), None)
        return f"{found:g}" if isinstance(found, (int, float)) and not isinstance(found, bool) else match.group(0)

    text = re.sub(r"`([A-Z][A-Z0-9_]+)`", value, text)
    return re.sub(r"\s*Returns [^.]*\.", "", text).strip()


EMPTY_CELL = "–"  # what an empty (NaN) cell shows; the table's note says why cells are empty


def _filled(frame):
    """``frame`` with empty cells (NaN, None) shown as ``EMPTY_CELL``."""
    return frame.astype(object).where(frame.notna(), EMPTY_CELL)


def table_html(frame) -> str:
    """A DataFrame as HTML without pandas' row index, empty cells shown as ``EMPTY_CELL``
    (for ``show_table`` and for tables glued into the book's prose pages)."""
    return _filled(frame).to_html(index=False)


def show_table(frame, empty_note: str = "– : not measured or not applicable to this row.") -> None:
    """Display a DataFrame without pandas' row index (HTML for the book, plain text for terminals).

    Empty cells (NaN, None) show ``EMPTY_CELL`` and the table is followed by
    ``empty_note``, so a reader sees why a cell is empty rather than ``NaN``.
    """
    from IPython.display import Markdown, display

    shown = _filled(frame)
    display({"text/html": shown.to_html(index=False), "text/plain": shown.to_string(index=False)}, raw=True)
    if frame.isna().to_numpy().any():
        display(Markdown(empty_note))
