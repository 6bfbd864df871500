"""Notebook 08 (what the original grid produced) under papermill, from the shipped data alone."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from mlib import paper
from mlib.study import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08-original-grid.py"


def _outputs(path: Path) -> tuple[str, int]:
    """All text and HTML the executed notebook shows, and how many figures."""
    outputs = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])]
    text = "".join(
        o.get("text", "")
        + o.get("data", {}).get("text/html", "")
        + o.get("data", {}).get("text/plain", "")
        + o.get("data", {}).get("text/markdown", "")
        for o in outputs
    )
    return text, sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.slow
def test_original_grid_notebook_runs_at_its_defaults_and_with_our_grids(tmp_path):
    executed = tmp_path / "executed" / "08-original-grid.ipynb"
    notebooks.execute(NOTEBOOK, executed, {"out": str(tmp_path / "out")}, cwd=ROOT)
    notebooks.check_executed([executed])
    text, figures = _outputs(executed)
    assert "7b05a76" in text and "Output/Fusion/2022-08-23_1000_SMIC/accuracy_scores.csv" in text
    assert "Pairs whose scores disagree with pusion's code: 0 of" in text
    assert "1 of 47" in text and f"{paper.TABLE3_RANK1['ensemble']:.3f}" in text
    assert "No grid folders given" in text and figures == 3
    assert '<th class="blank level0"' not in text  # tables without the index column
    assert len(pd.read_csv(tmp_path / "out" / "grid-summary.csv")) == 3

    grid = tmp_path / "grid-seed42"
    grid.mkdir()
    pd.DataFrame(
        {
            "config_id": [0, 1],
            "run_dir": ["a", "b"],
            "status": ["done", "done"],
            "val_rank1": [0.5, 0.6],
            "test_rank1": [0.7, 0.4],
        }
    ).to_csv(grid / "grid.csv", index=False)
    notebooks.execute(NOTEBOOK, executed, {"out": str(tmp_path / "out"), "grid_dirs": [str(grid)]}, cwd=ROOT)
    picks = pd.read_csv(tmp_path / "out" / "our-grid-picks.csv")
    assert np.allclose(picks[["best test pick", "validation pick (test)", "median run"]].to_numpy(), [[0.7, 0.4, 0.55]])
    assert _outputs(executed)[1] == 4
