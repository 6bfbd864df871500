"""Notebook 03 (the hand-crafted baseline) under papermill on a tiny synthetic cache."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from test_baseline import _moving_clip, _texture
from tiny_caches import write_cache, write_split

from mlib.study import notebooks

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03-baseline.py"


@pytest.mark.slow
def test_baseline_notebook_runs_and_states_the_data_is_synthetic(tmp_path):
    rng = np.random.default_rng(0)
    faces = {"01": _texture(96, seed=1), "02": _texture(96, seed=2, blur=2.5), "03": _texture(96, seed=3, blur=1.0)}
    clips = {s: [_moving_clip(face, 32, 10, (1, 0), tuple(rng.integers(-3, 4, 2)), noise=3.0, rng=rng) for _ in range(4)]
             for s, face in faces.items()}  # fmt: skip
    cache = write_cache(tmp_path, clips, database_root=tmp_path / "db")
    root = tmp_path / "db"
    root.mkdir()
    (root / "synth_manifest.json").write_text("{}")  # what a root written by mlib synth holds
    split = write_split(cache, n_train=2, n_val=1)

    executed = tmp_path / "executed" / "03-baseline.ipynb"
    notebooks.execute(NOTEBOOK, executed, {
        "overrides": {"run.cache": str(cache), "run.split": str(split), "prepare.workers": 1,
                      "baseline.features": ["lgbp", "fhofo", "all"]},
        "out": str(tmp_path / "runs"),
    }, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    notebooks.check_executed([executed])

    text = "".join(
        out.get("text", "") + json.dumps(out.get("data", {}))
        for cell in nbformat.read(executed, as_version=4).cells
        for out in cell.get("outputs", [])
    )
    assert "**Data: SYNTHETIC**" in text
    assert "paper (Kay et al. 2023, Table 4" in text and "0.7148" in text  # CASME II, from mlib.paper
    assert "image/png" in text
    runs = sorted(p.name.split("-")[1] for p in (tmp_path / "runs").iterdir())
    assert runs == ["all", "fhofo", "lgbp"]
