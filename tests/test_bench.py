"""mlib bench on the CPU at a tiny size, the study's GPU-hour estimate and the performance page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlib.commands import cli
from mlib.core.config import resolve
from mlib.report import cost as study_cost

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "model.depth=18", "--set", "model.width=8", "--set", "model.frames=8", "--set", "model.size=32"]


@pytest.mark.slow
def test_bench_compares_plain_and_fast_on_cpu_and_writes_json(tmp_path, capsys, one_torch_thread, monkeypatch):
    """The fast mode without compilation: inductor compiling SlowFast's training and inference graphs
    costs minutes of CPU; tests/test_fast_path.py runs the compiled branch."""
    from mlib.training import bench
    from mlib.training.train import FastPath

    monkeypatch.setitem(bench.MODES, "fast", FastPath(bf16=True, channels_last=True, data_on_device=True))
    out = tmp_path / "bench.json"
    assert (
        cli.main(
            ["bench", *TINY, "--batch-size", "2", "--steps", "1", "--warmup", "1", "--device", "cpu", "--out", str(out)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert set(record["modes"]) == {"plain", "fast"} and record["device_type"] == "cpu"
    for mode, r in record["modes"].items():
        assert r["train_clips_per_s"] > 0 and r["infer_clips_per_s"] > 0 and r["train_peak_memory_mb"] > 100
        assert r["train_tflops_per_s"] == pytest.approx(
            r["train_clips_per_s"] * 3 * record["forward_gflops_per_clip"] / 1e3
        )
        assert any(line.startswith(mode) for line in printed.splitlines())
    assert record["forward_gflops_per_clip"] > 0
    assert record["fast_over_plain"]["train"] == pytest.approx(
        record["modes"]["fast"]["train_clips_per_s"] / record["modes"]["plain"]["train_clips_per_s"]
    )
    assert "fast / plain: training" in printed


def test_fvcore_counts_the_forward_macs_of_a_convolution():
    import torch

    from mlib.training.bench import forward_macs_per_clip

    conv = torch.nn.Conv3d(3, 4, kernel_size=3, padding=1, bias=False)
    x = torch.zeros(2, 3, 4, 5, 5)
    assert forward_macs_per_clip(conv, x) == 4 * 5 * 5 * 4 * 3 * 27  # outputs x (in channels x kernel)


def fake_bench(train_rate: float, infer_rate: float, warmup: float = 0.0) -> dict:
    return {
        "modes": {"fast": {"train_clips_per_s": train_rate, "infer_clips_per_s": infer_rate, "warmup_seconds": warmup}}
    }


def test_study_runs_are_counted_from_the_profile_and_the_grids():
    runs = study_cost.count_runs(resolve(ROOT / "configs/profiles/full.yaml"))
    by = runs.set_index(["part", "dataset"])["runs"]
    assert by["grid", "casme2"] == 162 and by["grid", "smic"] == 162
    assert by["table1", "casme2"] == 3 and by["table1", "smic"] == 6  # Table 1 (+ Table 3's AdamW on SMIC) x 3 seeds
    assert (
        by["controls", "samm"] == 7 * 3 - 1
    )  # every variant (face-masked included) on 3 split seeds; clip's first is Table 1's run
    casme2 = runs[runs["dataset"] == "casme2"].iloc[0]
    assert (casme2["train_clips"], casme2["val_clips"], casme2["test_clips"]) == (101, 26, 127)
    assert set(runs["epochs"]) == {120}


def test_gpu_hours_follow_the_clip_counts_and_rates():
    import pandas as pd

    runs = pd.DataFrame(
        [
            {
                "part": "grid",
                "dataset": "x",
                "runs": 10,
                "epochs": 2,
                "train_clips": 100,
                "val_clips": 20,
                "test_clips": 50,
            }
        ]
    )
    cost = study_cost.gpu_hours(runs, fake_bench(train_rate=50.0, infer_rate=120.0, warmup=30.0), "fast")
    per_run = 2 * (100 / 50 + 120 / 120) + 50 / 120 + 30
    assert cost["seconds_per_run"].iloc[0] == pytest.approx(per_run)
    assert cost["gpu_hours"].iloc[0] == pytest.approx(10 * per_run / 3600)


def test_performance_page_is_generated_from_the_committed_bench_files():
    files = sorted((ROOT / "book" / "bench").glob("*.json"))
    assert files, "book/bench/ holds no benchmark"
    page = study_cost.performance_page(files, ROOT / "configs/profiles/full.yaml")
    assert (ROOT / "book" / "performance.md").read_text() == page + "\n", (
        "book/performance.md is stale: mlib cost book/bench/*.json > book/performance.md"
    )
    for path in files:
        bench = json.loads(path.read_text())
        assert bench["device"] in page
        for r in bench["modes"].values():
            assert f"| {r['train_clips_per_s']:.1f} |" in page


@pytest.mark.slow
def test_the_gpu_check_script_runs_its_quick_mode_and_writes_the_bench_json(tmp_path):
    """The script a GPU lease runs (book/bench/gpu-check.sh), in its CPU `quick` mode: it must work
    before a lease spends device time on it, and its JSON must carry every measure the page shows."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OUT": str(tmp_path), "PY": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        ["bash", "book/bench/gpu-check.sh", "quick"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = json.loads((tmp_path / "bench.json").read_text())
    plain = record["modes"]["plain"]
    assert 0 < plain["train_input_share"] < 1  # the inputs are part of the step, not all of it
    assert plain["gpu_busy_fraction"] is None and plain["train_mfu"] is None  # no GPU, no peak
    assert "bench ended with status 0" in done.stdout
    page = study_cost.performance_page([tmp_path / "bench.json"], ROOT / "configs/profiles/full.yaml")
    assert "Not measured in this file: the GPU's busy fraction, the model FLOP/s utilisation" in page


def test_mfu_uses_the_peak_of_the_paths_arithmetic():
    from mlib.training import bench

    assert bench.peak_tflops("NVIDIA H200", bench.MODES["fast"]) == 989.4
    assert bench.peak_tflops("NVIDIA H100 80GB HBM3", bench.MODES["plain"]) == 494.7
    assert bench.peak_tflops("CPU (x86_64, 2 threads)", bench.MODES["plain"]) is None
