"""Clips for training and evaluation (mlib.training.clips): the cache and split join, model inputs, the evaluation
path, and where a cache's data came from."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from tiny_caches import write_split, write_tiny_cache

from mlib.core.config import resolve
from mlib.preprocess.cache_settings import cache_is_synthetic, root_is_synthetic
from mlib.training.clips import DataError, evaluation_inputs, load_clip_arrays, load_clip_table, make_inputs
from mlib.training.plan import RunPlan


def test_make_inputs_shapes_and_normalisation():
    clips = torch.full((2, 4, 40, 40, 3), 255, dtype=torch.uint8)
    plain = make_inputs(clips, 32)
    assert plain.shape == (2, 3, 4, 32, 32)
    assert torch.allclose(plain, torch.full_like(plain, (1 - 0.45) / 0.225))
    generator = torch.Generator().manual_seed(0)
    ramp = torch.arange(40, dtype=torch.uint8).view(1, 1, 1, 40, 1).expand(2, 4, 40, 40, 3).contiguous() * 6
    augmented = make_inputs(ramp, 32, augment=True, generator=generator, crop_scale=(0.5, 0.6), hflip=True)
    # One box per clip: every frame of a clip is cropped identically.
    assert torch.equal(augmented[:, :, 0], augmented[:, :, 3])
    assert not torch.equal(augmented, make_inputs(ramp, 32))


def test_bad_split_is_refused_with_the_file_named(tmp_path):
    cache = write_tiny_cache(tmp_path, subjects=2, clips_per_subject=3, window=4, side=8)
    split = write_split(cache, n_train=2, n_val=0)
    frame = pd.read_csv(split, dtype=str)
    frame.loc[0, "clip_key"] = "casme2_99_missing"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(DataError, match="bad.csv.*not in"):
        load_clip_table(cache, bad)
    frame = pd.read_csv(split, dtype=str).drop(columns="part")
    frame.to_csv(bad, index=False)
    with pytest.raises(DataError, match="bad.csv.*part"):
        load_clip_table(cache, bad)


def test_cache_origin_is_read_from_its_settings(tmp_path):
    root = tmp_path / "corpus"
    (root / "synth_truth").mkdir(parents=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "settings.json").write_text(json.dumps({"root": str(root)}))
    assert cache_is_synthetic(cache) is True
    (root / "synth_truth").rmdir()
    assert cache_is_synthetic(cache) is False
    (cache / "settings.json").write_text(json.dumps({"root": str(tmp_path / "gone")}))
    assert cache_is_synthetic(cache) is None


def test_a_missing_or_incomplete_index_is_refused_with_the_file_named(tmp_path):
    cache = write_tiny_cache(tmp_path, subjects=2, clips_per_subject=3, window=4, side=8)
    split = write_split(cache, n_train=2, n_val=0)
    index = pd.read_csv(cache / "index.csv", dtype=str)
    index.drop(columns="window_start").to_csv(cache / "index.csv", index=False)
    with pytest.raises(DataError, match=r"index.csv: lacks columns \['window_start'\]"):
        load_clip_table(cache, split)
    (cache / "index.csv").unlink()
    with pytest.raises(DataError, match="index.csv: missing"):
        load_clip_table(cache, split)


def test_evaluation_inputs_take_the_runs_working_side_then_the_model_size(tmp_path):
    cache = write_tiny_cache(tmp_path, subjects=2, clips_per_subject=1, window=6, side=40)
    cfg = resolve(None, {"model": {"frames": 4, "size": 16}, "train": {"crop_scale": [0.25, 1.0], "augment": True}})
    assert RunPlan.of(cfg).working_size == 32  # the smallest crop (a quarter of the area) still has 16 px
    assert RunPlan.of({**cfg, "train": {**cfg["train"], "augment": False}}).working_size == 16
    files = ["clips/casme2_01_EP00.npy", "clips/casme2_02_EP00.npy"]
    inputs = evaluation_inputs(RunPlan.of(cfg), cache, files)
    assert inputs.shape == (2, 3, 4, 16, 16)
    # the same path as training's arrays: resized once to 32 px, then to 16 px (not straight from 40 px)
    assert torch.equal(inputs, make_inputs(load_clip_arrays(cache, files, 4, 32), 16))
    assert not torch.allclose(inputs, make_inputs(load_clip_arrays(cache, files, 4, 40), 16))


def test_a_root_is_synthetic_when_mlib_synth_wrote_it(tmp_path):
    assert not root_is_synthetic(tmp_path)
    (tmp_path / "synth_manifest.json").write_text("{}")
    assert root_is_synthetic(tmp_path)
