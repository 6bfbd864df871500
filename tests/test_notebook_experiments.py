"""The grid-search and ensemble notebooks under papermill, at the ci grid's size."""

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from test_grid import QUICK
from tiny_caches import write_split, write_tiny_cache

from mlib.core import config
from mlib.study import notebooks

ROOT = Path(__file__).resolve().parents[1]


def _text(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


def _images(path: Path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_grid_and_ensemble_notebooks(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "synth_manifest.json").write_text("{}")
    cache = write_tiny_cache(tmp_path, clips_per_subject=5)
    settings = json.loads((cache / "settings.json").read_text())
    (cache / "settings.json").write_text(json.dumps({**settings, "root": str(corpus)}))
    split = write_split(cache)
    grid_dir, ens_dir = tmp_path / "grid", tmp_path / "ensembles"

    executed = tmp_path / "executed"
    notebooks.execute(
        ROOT / "notebooks" / "04-grid-search.py",
        executed / "04-grid-search.ipynb",
        {
            "overrides": {
                "run.cache": str(cache),
                "run.split": str(split),
                "grid.file": str(ROOT / "configs" / "grids" / "ci.yaml"),
                **config.dotted_overrides(QUICK),
            },
            "out": str(grid_dir),
        },
        cwd=ROOT,
    )
    text = _text(executed / "04-grid-search.ipynb")
    assert "**Data: SYNTHETIC**" in text
    assert "chosen on validation (ours)" in text and "what the original code reported" in text
    assert "paper, Tables 1-2 (CASME II, real data)" in text
    assert "epoch 1/" not in text and "Source: [notebooks/04-grid-search.py](" in text  # no training log; provenance
    assert _images(executed / "04-grid-search.ipynb") >= 2
    table = pd.read_csv(grid_dir / "grid.csv")
    assert table["status"].tolist() == ["done"] * 3

    notebooks.execute(
        ROOT / "notebooks" / "05-ensemble.py",
        executed / "05-ensemble.ipynb",
        {
            "overrides": {
                "ensemble.max_size": 3,
                "ensemble.bootstrap": 200,
                **config.dotted_overrides(QUICK),
                "train.weight_decay": 0.01,
            },  # the grid's settings, so Table 3 over splits reuses its pair
            "grid_dir": str(grid_dir),
            "out": str(ens_dir),
        },
        cwd=ROOT,
    )
    text = _text(executed / "05-ensemble.ipynb")
    assert "hard vote of the two" in text  # the ci grid's alpha-4 Adam/AdamW pair
    assert "the single run chosen on validation" in text or "cannot be told apart" in text
    assert "95 % interval" in text
    assert _images(executed / "05-ensemble.ipynb") >= 2
    ensembles = pd.read_csv(ens_dir / "ensembles.csv")
    assert len(ensembles) == 3 + 3 * (3 + 1)
    assert len(pd.read_csv(ens_dir / "table3.csv")) == 4
    over_seeds = pd.read_csv(ens_dir / "table3-splits.csv")  # the grid's one split: its alpha-4 pair, reused
    assert over_seeds["statistic"].tolist() == ["per split", "mean"]
    assert "one split (the grid's; no spread over splits): 2 runs, 2 of them the grid's own runs" in text
