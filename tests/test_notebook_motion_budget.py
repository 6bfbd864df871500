"""Notebook 09 (the motion-only learning budget) under papermill, reading a crafted published table."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_budget import _table
from test_notebook_original import _outputs

from mlib.experiments import budget
from mlib.study import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "10-motion-budget.py"


@pytest.mark.slow
def test_the_page_reads_the_published_sweep_and_names_the_gpu_command_when_none_learns(tmp_path):
    published = tmp_path / "budget.csv"
    _table(("clip, 12 epochs", 0.10, 0.02, 0.20, 2.0), ("difference, 48 epochs", 0.15, 0.05, 0.3, 12.0)).to_csv(
        published, index=False
    )
    executed = tmp_path / "executed" / "10-motion-budget.ipynb"
    notebooks.execute(
        NOTEBOOK, executed, {"overrides": {"budget.published": str(published)}, "out": str(tmp_path / "out")}, cwd=ROOT
    )
    notebooks.check_executed([executed])
    text, figures = _outputs(executed)
    assert budget.NOT_AT_CPU_SCALE in text and "difference, 48 epochs" in text and figures == 1
    assert budget.full_scale_command() in text and "make motion" in text
    assert not (tmp_path / "out").exists()  # reading the published table trains and writes nothing

    executed.unlink()
    notebooks.execute(NOTEBOOK, executed, {"overrides": {"budget.published": str(tmp_path / "none.csv")}}, cwd=ROOT)
    text, figures = _outputs(executed)
    assert "No sweep is published yet" in text and "no finished run" in text and figures == 0
