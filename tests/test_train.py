"""Training on a tiny cache in the real layout: it learns, resumes bit-identically, repeats, skips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_caches import write_split, write_tiny_cache

from mlib.core.config import resolve
from mlib.core.metrics import read_predictions
from mlib.training.clips import load_clip_table
from mlib.training.train import TrainingError, load_run, predict, run_folder, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


EPOCHS = 6


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    cache = write_tiny_cache(root, subjects=4, clips_per_subject=5)
    split = write_split(cache, n_train=2, n_val=1)
    return root, cache, split


def tiny_cfg(root, cache, split, **train_changes) -> dict:
    train_cfg = {
        "epochs": EPOCHS,
        "batch_size": 8,
        "lr": 0.003,
        "warmup_epochs": 1,
        "crop_scale": [0.85, 1.0],
        "color_jitter": 0.05,
        "device": "cpu",
        "seed": 3,
    }
    train_cfg.update(train_changes)
    return resolve(
        None,
        {
            "model": {"depth": 18, "frames": 8, "size": 32, "dropout": 0.0},
            "train": train_cfg,
            "run": {"cache": str(cache), "split": str(split), "out": str(root / "runs")},
        },
    )


@pytest.fixture(scope="module")
def finished_run(tiny):
    """Trained once per module on one thread; the thread count is restored for the tests that follow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(tiny_cfg(*tiny), progress=False)
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_run_folder_follows_the_contract_and_learns(finished_run, tiny):
    root, cache, split = tiny
    files = {p.relative_to(finished_run).as_posix() for p in finished_run.rglob("*") if p.is_file()}
    assert {
        "config.yaml",
        "history.csv",
        "metrics.json",
        "predictions.csv",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
    } <= files
    assert finished_run == run_folder(tiny_cfg(*tiny))

    history = pd.read_csv(finished_run / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert list(history["epoch"]) == list(range(1, EPOCHS + 1))

    metrics = json.loads((finished_run / "metrics.json").read_text())
    best_val = history["val_acc"].max()
    assert metrics["selection"].startswith("best validation")
    assert metrics["checkpoint_epoch"] == int(history.loc[history["val_acc"] == best_val, "epoch"].min())
    assert metrics["test"]["n_clips"] == 8 and metrics["test"]["n_subjects"] == 4
    assert metrics["test"]["rank1"] > 0.25 + 0.2  # chance is 1/4

    predictions = pd.read_csv(finished_run / "predictions.csv", dtype=str)
    assert list(predictions.columns[:4]) == ["clip_key", "subject", "part", "predicted"]
    assert list(predictions.columns[4:]) == ["p:01", "p:02", "p:03", "p:04"]
    assert sorted(set(predictions["part"])) == ["test", "val"]
    test_part = read_predictions(finished_run / "predictions.csv", "test")
    assert np.allclose(test_part.proba.sum(axis=1), 1.0)
    assert np.mean(np.array(test_part.y_pred) == np.array(test_part.y_true)) == pytest.approx(metrics["test"]["rank1"])

    # The tiny model fits its tiny training set: 100 % rank-1 on the train clips, evaluation preprocessing.
    model, plan, classes = load_run(finished_run, which="last")
    table = load_clip_table(cache, split)
    train_clips = table.part("train")
    arrays = np.stack([np.load(cache / f) for f in train_clips["cache_file"]])
    proba = predict(model, arrays, plan)
    assert [classes[i] for i in proba.argmax(1)] == list(train_clips["subject"])
    assert plan.model["frames"] == 8 and classes == ["01", "02", "03", "04"]

    # predict() with the run's plan reproduces predictions.csv from the selected checkpoint.
    best, plan, _ = load_run(finished_run)
    test_files = table.clips.set_index("clip_key").loc[test_part.clip_keys, "cache_file"]
    again = predict(best, np.stack([np.load(cache / f) for f in test_files]), plan)
    assert np.allclose(again, test_part.proba, atol=1e-5)


@pytest.mark.slow
def test_finished_run_is_skipped(finished_run, tiny, capsys):
    before = (finished_run / "metrics.json").stat().st_mtime_ns
    assert train(tiny_cfg(*tiny), progress=False) == finished_run
    assert "skipping" in capsys.readouterr().out
    assert (finished_run / "metrics.json").stat().st_mtime_ns == before
    # The same folder with other settings is refused, not silently reused.
    with pytest.raises(TrainingError, match="different 'train' configuration"):
        train(tiny_cfg(*tiny, lr=0.01), finished_run, progress=False)


@pytest.mark.slow
def test_killed_run_resumes_to_identical_results(finished_run, tiny):
    root, cache, split = tiny
    cfg = tiny_cfg(*tiny)
    run_dir = root / "runs" / "killed"

    class Killed(Exception):
        pass

    def kill_after_two(epoch, _row):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train(cfg, run_dir, progress=False, on_epoch_end=kill_after_two)
    assert not (run_dir / "metrics.json").exists()
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2

    train(cfg, run_dir, progress=False)
    # Identical to the uninterrupted run, history included.
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads((finished_run / "metrics.json").read_text())
    pd.testing.assert_frame_equal(
        pd.read_csv(run_dir / "predictions.csv"), pd.read_csv(finished_run / "predictions.csv")
    )
    resumed, full = pd.read_csv(run_dir / "history.csv"), pd.read_csv(finished_run / "history.csv")
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), full.drop(columns="seconds"))


@pytest.mark.slow
def test_no_validation_part_selects_last_epoch_and_one_seed_repeats(tiny):
    root, cache, _ = tiny
    split = write_split(cache, n_train=3, n_val=0, name="noval.csv")
    cfg = tiny_cfg(root, cache, split, epochs=1)
    runs = [train(cfg, root / "runs" / f"noval-{i}", progress=False) for i in range(2)]
    metrics = [json.loads((run / "metrics.json").read_text()) for run in runs]
    assert metrics[0]["selection"].startswith("last epoch") and metrics[0]["checkpoint_epoch"] == 1
    assert metrics[0]["val"]["n_clips"] == 0 and metrics[0]["test"]["n_clips"] == 8
    # Two runs with one seed give identical numbers on CPU.
    assert metrics[0] == metrics[1]
    pd.testing.assert_frame_equal(pd.read_csv(runs[0] / "predictions.csv"), pd.read_csv(runs[1] / "predictions.csv"))


@pytest.mark.slow
def test_command_line_sets_run_paths_and_skips_the_finished_run(finished_run, tiny, tmp_path, capsys):
    from mlib.commands import cli
    from mlib.core import io

    root, cache, split = tiny
    profile = tmp_path / "tiny.yaml"
    cfg = tiny_cfg(*tiny)
    io.write_yaml(profile, {"model": cfg["model"], "train": cfg["train"]})
    code = cli.main(
        [
            "train",
            "--profile",
            str(profile),
            "--cache",
            str(cache),
            "--split",
            str(split),
            "--out",
            str(root / "runs"),
            "--name",
            finished_run.name,
            "--no-progress",
        ]
    )
    assert code == 0
    assert "skipping" in capsys.readouterr().out


def test_per_gpu_batchnorm_chunks_change_training_but_not_its_contract(tiny):
    root, cache, split = tiny
    whole, chunked = (
        train(tiny_cfg(root, cache, split, epochs=1, bn_chunks=n), root / "runs" / f"bn{n}", progress=False)
        for n in (1, 4)
    )  # batch 8 on four "GPUs": BatchNorm over two clips at a time
    neutral = tiny_cfg(root, cache, split, epochs=1)
    before = {**neutral, "train": {k: v for k, v in neutral["train"].items() if k != "bn_chunks"}}
    assert run_folder(neutral) == run_folder(before) != run_folder(tiny_cfg(root, cache, split, epochs=1, bn_chunks=4))
    losses = [pd.read_csv(run / "history.csv")["train_loss"].iloc[0] for run in (whole, chunked)]
    assert losses[0] != losses[1]
    assert (
        read_predictions(chunked / "predictions.csv").clip_keys == read_predictions(whole / "predictions.csv").clip_keys
    )
