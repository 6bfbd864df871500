"""notebooks/02-train.py under papermill at a tiny size: one run, its figures, its provenance."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest
from tiny_caches import write_split, write_tiny_cache

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02-train.py"


@pytest.mark.slow
def test_train_notebook_runs_at_tiny_size(tmp_path, mlib_kernel):
    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=4)
    split = write_split(cache, n_train=2, n_val=1)
    source = tmp_path / "02-train.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), source)
    executed = tmp_path / "executed.ipynb"
    run_dir = tmp_path / "run"
    papermill.execute_notebook(
        str(source),
        str(executed),
        kernel_name="mlib",
        cwd=str(tmp_path),
        progress_bar=False,
        parameters={
            "overrides": {
                "run.cache": str(cache),
                "run.split": str(split),
                "run.name": "run",
                "run.out": str(tmp_path),
                "model.size": 32,
                "model.frames": 8,
                "train.epochs": 1,
                "train.batch_size": 6,
                "train.device": "cpu",
            }
        },
    )
    notebook = nbformat.read(executed, as_version=4)
    streams = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert not streams, f"log lines or warnings on the page: {streams}"
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "**Data: origin unknown**" in markdown  # the tiny cache names no database root
    assert "SlowFast R18, alpha 4, beta 1/8, 8 frames x 32 px" in markdown
    assert (
        f"`{run_dir.relative_to(tmp_path)}` (configuration " in markdown
        and "Source: [notebooks/02-train.py](" in markdown
    )
    assert markdown.count("Made by:") == 6  # the run, the table and each of the four figures
    assert str(tmp_path) not in markdown.split("Made by:", 1)[1]  # paths relative to the study folder
    assert "chance" in markdown and "checkpoint of epoch 1" in markdown
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["n_clips"] == 3
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 4  # learning curves, CMC, confusion matrix, per-subject accuracy
    assert executed.stat().st_size < 600_000  # the grid search may run it many times: keep it small
