"""notebooks/07-controls.py under papermill on a tiny cache: runs, table, figure and verdict."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import papermill
import pytest
from tiny_caches import write_split, write_tiny_cache

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07-controls.py"


@pytest.mark.slow
def test_controls_notebook_runs_at_tiny_size(tmp_path, mlib_kernel):
    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=4, window=16)
    split = write_split(cache, n_train=2, n_val=0)
    source = tmp_path / "07-controls.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), source)
    executed = tmp_path / "executed.ipynb"
    variants = ["clip", "static-apex", "difference", "pyslowfast"]
    papermill.execute_notebook(
        str(source),
        str(executed),
        kernel_name="mlib",
        cwd=str(tmp_path),
        progress_bar=False,
        parameters={
            "overrides": {
                "model": {"frames": 8, "size": 32, "width": 8},
                "train": {"epochs": 1, "batch_size": 6, "device": "cpu", "warmup_epochs": 0},
                # the knob table's motion-only corpora, small
                "synth": {
                    "subjects": 3,
                    "clips_per_subject": 4,
                    "single_clip_subjects": 0,
                    "frame_size": [64, 80],
                    "short_clip_fraction": 1.0,
                },
                "prepare": {"face_size": 32, "window": 16},
                "split": {"val_size": 0.0},
            },
            "motion_features_dir": str(tmp_path / "positive-controls"),
            "corpora": {
                "tiny": {
                    "cache": str(cache),
                    "split": str(split),
                    "runs_dir": str(tmp_path / "runs"),
                    "positive_control": None,
                }
            },
            "variants": variants,
            "out": str(tmp_path / "out"),
        },
    )
    table = pd.read_csv(tmp_path / "out" / "controls.csv")
    assert list(table["variant"]) == variants and table["run_dir"].nunique() == len(variants)
    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "stream"], "no training log lines on the page"
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    text = "\n".join(markdown)
    verdicts = {line for line in markdown if line.startswith("tiny: ")}  # under the figure and under the table
    assert len(verdicts) == 1 and verdicts.pop().removeprefix("tiny: ").rstrip(".") in {
        "appearance suffices",
        "motion identifies",
        "identifies, source unclear",
        "at chance, no positive control",
    }
    assert "Positive control on tiny: none (no generator truth" in text
    assert "Variants trained: clip, static-apex, difference, pyslowfast." in text
    assert "`synth.motion_identity` = 1.0" in text  # the knob table of a synthetic study
    assert "motion-only fhofo" in str(outputs) and (tmp_path / "positive-controls" / "motion-only-0.5").is_dir()
    assert "No twins corpus: no identity within a face group to report." in text
    assert "Source: [notebooks/07-controls.py](" in text
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1
