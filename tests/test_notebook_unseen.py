"""notebooks/09-unseen.py under papermill on a tiny synthetic corpus: unseen people drawn, the runs reused,
ROC/DET, the table of measures, the controls' EERs, the computed takeaways and the glued numbers."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import papermill
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "09-unseen.py"
OVERRIDES = {
    "synth": {
        "subjects": 3,
        "clips_per_subject": 4,
        "single_clip_subjects": 0,
        "frame_size": [96, 128],
        "short_clip_fraction": 0.0,
    },
    "prepare": {"window": 16, "face_size": 32, "workers": 1},
    "split": {"val_size": 0.25, "open_set": {"folds": 2}},
    "model": {"frames": 8, "size": 32, "width": 8},
    "train": {"epochs": 1, "batch_size": 6, "device": "cpu", "warmup_epochs": 0},
    "controls": {"variants": ["clip", "static-apex"]},
    "unseen": {"variants": ["clip", "static-apex"], "features": ["lbp-top"], "people": 3, "clips": 3, "bootstrap": 20},
}


@pytest.mark.slow
def test_unseen_notebook_runs_at_tiny_size(tmp_path, mlib_kernel):
    from mlib.core.config import resolve
    from mlib.datasets import load_dataset
    from mlib.experiments.controls import variant_config
    from mlib.preprocess import prepare_cache
    from mlib.preprocess.splits import write_splits
    from mlib.synth.layouts import write_configured_corpus
    from mlib.training.train import train

    cfg = resolve(None, OVERRIDES)
    root = tmp_path / "data" / "casme2"
    write_configured_corpus(root, "casme2", cfg["synth"], workers=1, progress=False)
    cache = prepare_cache(
        load_dataset("casme2", root).clips,
        tmp_path / "cache",
        dataset="casme2",
        root=root,
        window=16,
        face_size=32,
        workers=1,
        progress=False,
    )
    split = write_splits(cache, "half", test_size=0.5, val_size=0.25, seed=42)[0]
    runs = {
        v: train(variant_config(cfg, v, cache, split, tmp_path / "runs"), progress=False, log=False)
        for v in ("clip", "static-apex")
    }  # the controls page's runs, which the page must reuse
    stamps = {v: (run / "checkpoints" / "best.pt").stat().st_mtime for v, run in runs.items()}

    source = tmp_path / "09-unseen.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), source)
    executed = tmp_path / "executed.ipynb"
    corpora = {
        "casme2": {
            "cache": str(cache),
            "split": [str(split)],
            "runs_dir": str(tmp_path / "runs"),
            "overrides": {},
            "root": str(root),
            "mode": "identity",
        }
    }
    papermill.execute_notebook(
        str(source),
        str(executed),
        kernel_name="mlib",
        cwd=str(tmp_path),
        progress_bar=False,
        parameters={"overrides": OVERRIDES, "corpora": corpora, "out": str(tmp_path / "out")},
    )

    table = pd.read_csv(tmp_path / "out" / "unseen-measures.csv")
    assert list(table["method"]) == ["clip", "static-apex", "lbp-top"]
    assert list(table["kind"]) == ["slowfast", "slowfast", "baseline"] and (table["folds"] == 2).all()
    assert ((table["eer_low"] <= table["eer"]) | table["eer"].isna()).all() and table["eer"].between(0, 1).all()
    sizes = pd.read_csv(tmp_path / "out" / "unseen-corpora.csv")
    assert sizes.loc[0, "subjects"] == 3 and sizes.loc[0, "clips"] == 9 and sizes.loc[0, "first_subject"] == 5
    assert stamps == {v: (run / "checkpoints" / "best.pt").stat().st_mtime for v, run in runs.items()}  # reused

    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "stream"], "no log lines on the page"
    text = "\n".join(o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {}))
    assert "**The numbers on this page are synthetic**" in text
    assert "0 networks trained for this page" in text
    assert "On casme2's unseen people, SlowFast's embedding verifies with an EER of" in text
    assert "casme2: clip " in text and "static-apex" in text
    assert "Source: [notebooks/09-unseen.py](" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # ROC/DET and the controls' EERs
    glued = {o["metadata"]["scrapbook"]["name"] for o in outputs if "scrapbook" in o.get("metadata", {})}
    assert {"unseen-eer", "unseen-rank1", "unseen-corpus", "unseen-clip-vs-frame"} <= glued
