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


def show_table(frame) -> None:
    """Display a DataFrame without pandas' row index (HTML for the book, plain text for terminals)."""
    from IPython.display import display

    display({"text/html": frame.to_html(index=False), "text/plain": frame.to_string(index=False)}, raw=True)
