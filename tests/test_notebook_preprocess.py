"""The preprocessing notebook end to end under papermill, on a small synthetic CASME II corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01-preprocess.py"


@pytest.mark.slow
def test_preprocess_notebook_runs_with_injected_parameters(tmp_path, mlib_kernel):
    import jupytext
    import nbformat
    import papermill

    source = tmp_path / "01-preprocess.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), source)
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(source), str(executed), kernel_name="mlib", cwd=str(tmp_path), progress_bar=False,
        parameters={
            "overrides": {"data.root": str(tmp_path / "corpus"), "prepare.cache_dir": str(tmp_path / "cache"),
                          "prepare.face_size": 48, "prepare.window": 16, "split.protocol": "kay2023",
                          "split.seed": 3, "synth.subjects": 3, "synth.clips_per_subject": 3,
                          "synth.frame_size": [120, 160]},
            "out_dir": str(tmp_path / "figures"),
        },
    )  # fmt: skip

    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert any("**Data: SYNTHETIC**" in text for text in markdown)
    assert any("Excluded: 04." in t for t in markdown)  # the corpus's single-clip subject
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    for name in ("crop-montage.png", "window-timeline.png", "split-parts.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 5000
    caches = list((tmp_path / "cache").glob("casme2-*"))
    assert len(caches) == 1 and (caches[0] / "index.csv").is_file()
    assert (caches[0] / "splits" / "kay2023-seed3.csv").is_file()
