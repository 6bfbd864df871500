"""notebooks/06-gradcam.py under papermill on a tiny trained run: scores, figures, the privacy rule."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest
from tiny_runs import train_tiny_run

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06-gradcam.py"


def execute(tmp_path: Path, name: str, parameters: dict) -> tuple[Path, str, int]:
    source = tmp_path / "06-gradcam.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), source)
    executed = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        str(source), str(executed), kernel_name="mlib", cwd=str(tmp_path), progress_bar=False, parameters=parameters
    )
    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/markdown", "") for o in outputs)
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    return executed, text, images


@pytest.mark.slow
def test_gradcam_notebook_on_synthetic_and_real_runs(tmp_path, mlib_kernel):
    inputs = train_tiny_run(tmp_path)
    run_dir = inputs["run"]

    out = tmp_path / "synth"
    quick = {"gradcam.clips": 1, "train.device": "cpu", "train.batch_size": 8}
    _, text, images = execute(
        tmp_path,
        "synthetic",
        {"run": str(run_dir), "out": str(out), "overrides": {"run.cache": str(inputs["caches"]["synth"]), **quick}},
    )
    assert "(configuration " in text and run_dir.name in text and "**Data: SYNTHETIC**" in text
    assert "the regions the generator moved" in text and "paper's statement" in text
    assert images == 4  # histogram, mean maps (with the mean face), one energy curve, one strip
    assert (out / "scores.csv").is_file() and list(out.glob("strip_*.png")) and list(out.glob("cam_*.gif"))

    out = tmp_path / "real"
    _, text, images = execute(tmp_path, "real", {"run": str(run_dir), "out": str(out), "overrides": quick})
    assert "**Data: REAL**" in text and "not shown here" in text and "the 10 % most moving pixels" in text
    assert images == 3  # no strip: a real subject's frames are not embedded
    assert not list(out.glob("strip_*")) and not list(out.glob("cam_*.gif"))
    private = tmp_path / "private" / "gradcam" / run_dir.name
    assert list(private.glob("strip_*.png")) and list(private.glob("cam_*.gif"))
