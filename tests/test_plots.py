"""Tables on the book's pages: no pandas index, empty cells shown and explained rather than NaN."""

import numpy as np
import pandas as pd

from mlib.plots import EMPTY_CELL, show_table, table_html


def test_table_html_has_no_index_and_shows_empty_cells():
    html = table_html(pd.DataFrame({"model": ["a", "b"], "rank-1": [0.5, np.nan]}, index=[7, 8]))
    assert "NaN" not in html and f"<td>{EMPTY_CELL}</td>" in html and "<th>7</th>" not in html


def test_show_table_explains_empty_cells_only_when_there_are_some(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects, **options: shown.extend(objects))
    show_table(pd.DataFrame({"x": [1.0, np.nan]}), empty_note="why empty")
    assert shown[0]["text/html"] == table_html(pd.DataFrame({"x": [1.0, np.nan]})) and "why empty" == shown[1].data
    shown.clear()
    show_table(pd.DataFrame({"x": [1.0, 2.0]}), empty_note="why empty")
    assert len(shown) == 1 and EMPTY_CELL not in shown[0]["text/plain"]
