"""The original's training recipe (``train.recipe: pyslowfast``), as opposed to ours (``ours``).

The authors trained with PySlowFast (facebookresearch/SlowFast, read at commit
0f5d5323ae6cd750d4f890150fce37e8ac2aa887 of 2021-08-24, which their copy matches)
and the configs of KayTuval/PersonRecognition_using_Facial_MicroExpressions at
commit 7b05a76f967174ab89765d3463ff915a349b5cac,
``SlowFastCode/configs/SLOWFAST_8x8_R50_stepwise_multigrid_{SMIC,CASME2,SAMM}.yaml``
(identical in these keys). Each value of :data:`RECIPE` names its key; "config"
is the original's YAML, "default" PySlowFast's ``slowfast/config/defaults.py``.

The grid varied BASE_LR, OPTIMIZING_METHOD and BATCH_SIZE per run, so those come
from ``train.lr``, ``train.optimizer`` and ``train.batch_size`` (the config file
itself says 0.1, sgd and 8: set them to emulate it). Everything else is fixed here.

- Learning rate (``slowfast/utils/lr_policy.py``, ``get_lr_at_epoch`` and
  ``lr_func_steps_with_relative_lrs``): ``LRS[i] * BASE_LR`` in the i-th interval
  of STEPS + [MAX_EPOCH]; during the first WARMUP_EPOCHS, linear from
  WARMUP_START_LR (an absolute 0.01, so a run with BASE_LR 0.001 warms DOWN to its
  base rate) to the policy's value at WARMUP_EPOCHS.
  PySlowFast sets it every iteration at the fractional epoch
  (``tools/train_net.py``: ``cur_epoch + cur_iter / data_size``); we set it once per
  epoch, at the epoch's start.
- Epochs: the milestones (STEPS, WARMUP_EPOCHS) scale by ``train.epochs / 239``,
  so a CPU profile's short run keeps the schedule's shape; with ``train.epochs``
  = 239 they are the original's.
- Optimiser (``slowfast/models/optimizer.py``, ``construct_optimizer``):
  BatchNorm parameters in their own group with BN.WEIGHT_DECAY (0: exempt), the
  rest with SOLVER.WEIGHT_DECAY; SGD with momentum, dampening 0 and nesterov;
  Adam betas (0.9, 0.999); AdamW eps 1e-8.
- Augmentation (``slowfast/datasets/utils.py``, ``spatial_sampling``, and
  ``transform.py``): short side scaled to ``round(uniform(256, 320))``, a random
  224 crop, a horizontal flip with probability 0.5, no colour jitter; evaluation
  scales the short side to the crop size (square faces: the whole face). In our
  pipeline the crop is the same fraction of the face (224/320 to 224/256 of the
  side), then resized to ``model.size``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

RECIPES = ("ours", "pyslowfast")
ORIGINAL_EPOCHS = 239

RECIPE = {
    "max_epoch": 239,  # SOLVER.MAX_EPOCH (config)
    "lr_policy": "steps_with_relative_lrs",  # SOLVER.LR_POLICY (config)
    "lrs": [1, 0.1, 0.01, 0.001, 0.0001, 0.00001],  # SOLVER.LRS (config)
    "steps": [0, 94, 154, 196],  # SOLVER.STEPS (config)
    "warmup_epochs": 34.0,  # SOLVER.WARMUP_EPOCHS (config)
    "warmup_start_lr": 0.01,  # SOLVER.WARMUP_START_LR (config; also the default)
    "momentum": 0.9,  # SOLVER.MOMENTUM (config)
    "nesterov": True,  # SOLVER.NESTEROV (default)
    "dampening": 0.0,  # SOLVER.DAMPENING (default)
    "weight_decay": 1e-4,  # SOLVER.WEIGHT_DECAY (config)
    "bn_weight_decay": 0.0,  # BN.WEIGHT_DECAY (default): BatchNorm parameters exempt
    "dropout": 0.5,  # MODEL.DROPOUT_RATE (config)
    "jitter_scales": (256, 320),  # DATA.TRAIN_JITTER_SCALES (config)
    "crop_size": 224,  # DATA.TRAIN_CROP_SIZE (config)
    "random_flip": True,  # DATA.RANDOM_FLIP (default)
    "precise_bn": False,  # BN.USE_PRECISE_STATS (config)
    "label_smoothing": 0.0,  # MODEL.LOSS_FUNC cross_entropy (config)
}


def uses_recipe(train_cfg: Mapping) -> bool:
    recipe = train_cfg.get("recipe", "ours")
    if recipe not in RECIPES:
        raise ValueError(f"train.recipe={recipe!r}: expected one of {', '.join(RECIPES)}")
    return recipe == "pyslowfast"


def effective_config(cfg: Mapping) -> dict:
    """The config a run trains with: unchanged for ``ours``; for ``pyslowfast`` the recipe's dropout,
    weight decay, momentum, flips, no colour jitter, no precise BN, and the crop range of its scale jitter."""
    if not uses_recipe(cfg["train"]):
        return dict(cfg)
    low, high = RECIPE["jitter_scales"]
    side = RECIPE["crop_size"]
    train = {
        **cfg["train"],
        "weight_decay": RECIPE["weight_decay"],
        "momentum": RECIPE["momentum"],
        "hflip": RECIPE["random_flip"],
        "color_jitter": 0.0,
        "precise_bn": RECIPE["precise_bn"],
        "label_smoothing": RECIPE["label_smoothing"],
        "augment": True,
        "crop_scale": [(side / high) ** 2, (side / low) ** 2],
    }
    return {**cfg, "train": train, "model": {**cfg["model"], "dropout": RECIPE["dropout"]}}


def short_side_jitter(train_cfg: Mapping) -> tuple[int, int, int] | None:
    """(min scale, max scale, crop) for :func:`mlib.training.clips.make_inputs`, or None for ours."""
    if not uses_recipe(train_cfg):
        return None
    return (*RECIPE["jitter_scales"], RECIPE["crop_size"])


def milestones(epochs: int) -> dict:
    """The schedule's epochs scaled to a run of ``epochs`` (the original's at 239)."""
    scale = epochs / ORIGINAL_EPOCHS
    return {
        "max_epoch": float(epochs),
        "steps": [s * scale for s in RECIPE["steps"]],
        "warmup_epochs": RECIPE["warmup_epochs"] * scale,
    }


def lr_at_epoch(epoch: float, base_lr: float, epochs: int = ORIGINAL_EPOCHS) -> float:
    """The learning rate at (fractional, 0-based) ``epoch``: relative steps after a linear warm-up."""
    marks = milestones(epochs)

    def policy(at: float) -> float:
        bounds = marks["steps"] + [marks["max_epoch"]]
        index = next((i for i, bound in enumerate(bounds) if at < bound), len(bounds)) - 1
        return RECIPE["lrs"][index] * base_lr

    warmup = marks["warmup_epochs"]
    if epoch < warmup:
        start = RECIPE["warmup_start_lr"]
        return start + epoch * (policy(warmup) - start) / warmup
    return policy(epoch)


def make_optimizer(model: nn.Module, train_cfg: Mapping) -> torch.optim.Optimizer:
    """PySlowFast's ``construct_optimizer``: BatchNorm parameters without weight decay."""
    bn, rest = [], []
    for module in model.modules():
        group = bn if isinstance(module, nn.modules.batchnorm._NormBase) else rest
        group.extend(p for p in module.parameters(recurse=False) if p.requires_grad)
    groups = [
        {"params": bn, "weight_decay": RECIPE["bn_weight_decay"]},
        {"params": rest, "weight_decay": RECIPE["weight_decay"]},
    ]
    groups = [g for g in groups if g["params"]]
    name, lr = train_cfg["optimizer"], float(train_cfg["lr"])
    if name == "sgd":
        return torch.optim.SGD(
            groups,
            lr=lr,
            momentum=RECIPE["momentum"],
            dampening=RECIPE["dampening"],
            nesterov=RECIPE["nesterov"],
            weight_decay=RECIPE["weight_decay"],
        )
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), weight_decay=RECIPE["weight_decay"])
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, eps=1e-8, weight_decay=RECIPE["weight_decay"])
    raise ValueError(f"train.optimizer={name!r}: expected sgd, adam or adamw")


def make_scheduler(optimizer: torch.optim.Optimizer, train_cfg: Mapping) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch factor ``lr_at_epoch(epoch) / base`` (stepped once per epoch, as our loop does)."""
    base, epochs = float(train_cfg["lr"]), int(train_cfg["epochs"])
    if not base > 0 or not math.isfinite(base):
        raise ValueError(f"train.lr={base!r}: the pyslowfast recipe needs a positive base rate")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: lr_at_epoch(epoch, base, epochs) / base)
