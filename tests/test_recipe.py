"""The original's training recipe (mlib.training.recipe) against PySlowFast's lr_policy arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mlib.core.config import resolve
from mlib.training import recipe
from mlib.training.train import make_optimizer, make_scheduler

# -- transcription of facebookresearch/SlowFast 0f5d5323 (2021-08-24), slowfast/utils/lr_policy.py,
#    with the original's SOLVER section (KayTuval/... 7b05a76, SLOWFAST_8x8_R50_stepwise_multigrid_SMIC.yaml)


class _Solver:
    LR_POLICY = "steps_with_relative_lrs"
    LRS = [1, 0.1, 0.01, 0.001, 0.0001, 0.00001]
    STEPS = [0, 94, 154, 196]
    MAX_EPOCH = 239
    WARMUP_EPOCHS = 34.0
    WARMUP_START_LR = 0.01

    def __init__(self, base_lr):
        self.BASE_LR = base_lr


class _Cfg:
    def __init__(self, base_lr):
        self.SOLVER = _Solver(base_lr)


def _get_lr_at_epoch(cfg, cur_epoch):
    lr = _lr_func_steps_with_relative_lrs(cfg, cur_epoch)
    if cur_epoch < cfg.SOLVER.WARMUP_EPOCHS:
        lr_start = cfg.SOLVER.WARMUP_START_LR
        lr_end = _lr_func_steps_with_relative_lrs(cfg, cfg.SOLVER.WARMUP_EPOCHS)
        alpha = (lr_end - lr_start) / cfg.SOLVER.WARMUP_EPOCHS
        lr = cur_epoch * alpha + lr_start
    return lr


def _lr_func_steps_with_relative_lrs(cfg, cur_epoch):
    ind = _get_step_index(cfg, cur_epoch)
    return cfg.SOLVER.LRS[ind] * cfg.SOLVER.BASE_LR


def _get_step_index(cfg, cur_epoch):
    steps = cfg.SOLVER.STEPS + [cfg.SOLVER.MAX_EPOCH]
    for ind, step in enumerate(steps):  # NoQA
        if cur_epoch < step:
            break
    return ind - 1


@pytest.mark.parametrize("base_lr", [0.1, 0.001])
def test_lr_curve_is_pyslowfasts_at_239_epochs(base_lr):
    cfg = _Cfg(base_lr)
    for epoch in [0, 0.5, 1, 10, 33, 33.9, 34, 50, 93, 93.99, 94, 120, 153, 154, 195, 196, 238, 238.9]:
        assert recipe.lr_at_epoch(epoch, base_lr) == pytest.approx(_get_lr_at_epoch(cfg, epoch), rel=1e-12)
    assert recipe.lr_at_epoch(0, base_lr) == 0.01  # the warm-up starts at an absolute 0.01, also above 0.001


def test_scheduler_steps_per_epoch_through_the_original_curve():
    cfg = resolve(None, {"train": {"recipe": "pyslowfast", "optimizer": "sgd", "lr": 0.1, "epochs": 239}})
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4))
    optimizer = make_optimizer(model, cfg["train"])
    scheduler = make_scheduler(optimizer, cfg["train"])
    seen = []
    for _ in range(239):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [_get_lr_at_epoch(_Cfg(0.1), e) for e in range(239)]
    assert seen == pytest.approx(expected, rel=1e-9)


def test_milestones_scale_with_a_shorter_run():
    marks = recipe.milestones(24)
    assert marks["warmup_epochs"] == pytest.approx(34 * 24 / 239)
    assert marks["steps"] == pytest.approx([0, 94 * 24 / 239, 154 * 24 / 239, 196 * 24 / 239])
    assert recipe.lr_at_epoch(10, 0.1, epochs=24) == pytest.approx(0.01)  # 10 >= 94 * 24 / 239 = 9.44
    assert recipe.milestones(239) == {"max_epoch": 239.0, "steps": [0, 94, 154, 196], "warmup_epochs": 34.0}


def test_optimizer_exempts_batchnorm_and_uses_nesterov():
    cfg = resolve(None, {"train": {"recipe": "pyslowfast", "optimizer": "sgd", "lr": 0.1}})
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4), nn.Linear(4, 2))
    optimizer = make_optimizer(model, cfg["train"])
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["nesterov"] and optimizer.defaults["momentum"] == 0.9
    bn_group, rest = optimizer.param_groups
    assert {id(p) for p in bn_group["params"]} == {id(p) for p in model[1].parameters()}
    assert bn_group["weight_decay"] == 0.0 and rest["weight_decay"] == 1e-4
    adam = make_optimizer(model, {**cfg["train"], "optimizer": "adam"})
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[1]["weight_decay"] == 1e-4


def test_effective_config_takes_the_recipes_values_and_leaves_ours_alone():
    ours = resolve(None, {})
    assert recipe.effective_config(ours) == ours
    cfg = recipe.effective_config(
        resolve(None, {"train": {"recipe": "pyslowfast", "hflip": False, "color_jitter": 0.3}})
    )
    assert cfg["model"]["dropout"] == 0.5 and cfg["train"]["hflip"] and cfg["train"]["color_jitter"] == 0
    assert not cfg["train"]["precise_bn"] and cfg["train"]["weight_decay"] == 1e-4
    assert cfg["train"]["crop_scale"] == pytest.approx([(224 / 320) ** 2, (224 / 256) ** 2])
    with pytest.raises(ValueError, match="train.recipe='caffe'"):
        recipe.uses_recipe({"recipe": "caffe"})


def test_short_side_jitter_crops_square_faces_at_pyslowfasts_scales():
    from mlib.training.clips import _random_boxes

    boxes = _random_boxes(2000, (0.7, 1.0), torch.Generator().manual_seed(0), (256, 320, 224))
    assert torch.equal(boxes[:, 0], boxes[:, 1])  # square
    assert boxes[:, 0].min() >= 224 / 320 - 1e-6 and boxes[:, 0].max() <= 224 / 256 + 1e-6
    assert (boxes[:, 2].abs() <= 1 - boxes[:, 0] + 1e-6).all()  # inside the face


@pytest.mark.usefixtures("one_torch_thread")
def test_a_run_trains_with_the_recipe_and_the_original_sampling(tmp_path):
    import numpy as np
    import pandas as pd
    from tiny_caches import write_split, write_tiny_cache

    from mlib.core.metrics import PROBA_PREFIX
    from mlib.training.clips import load_clip_table
    from mlib.training.train import load_run, predict, train

    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=4, window=16)
    split = write_split(cache, n_train=2, n_val=1)
    cfg = resolve(
        None,
        {
            "data": {"sampling": "pyslowfast", "input": "shuffled"},
            "model": {"frames": 8, "size": 32, "width": 8},
            "train": {
                "recipe": "pyslowfast",
                "optimizer": "sgd",
                "lr": 0.1,
                "epochs": 3,
                "batch_size": 6,
                "device": "cpu",
            },
            "run": {"cache": str(cache), "split": str(split), "out": str(tmp_path / "runs")},
        },
    )
    run = train(cfg, progress=False)
    lrs = pd.read_csv(run / "history.csv")["lr"].tolist()
    assert lrs == pytest.approx([recipe.lr_at_epoch(e, 0.1, 3) for e in range(3)]) and lrs[0] == 0.01
    model, run_plan, classes = load_run(run)
    assert model.slow_positions.tolist() == [0, 7]  # PySlowFast's linspace(0, 7, 2), not every 4th frame
    test = load_clip_table(cache, split).part("test")
    arrays = np.stack([np.load(cache / name) for name in test["cache_file"]])
    predictions = pd.read_csv(run / "predictions.csv").query("part == 'test'")
    proba = predict(model, arrays, run_plan, index_rows=test)
    assert np.allclose(proba, predictions[[PROBA_PREFIX + c for c in classes]].to_numpy())
    with pytest.raises(ValueError, match="index rows are needed"):
        predict(model, arrays, run_plan)
