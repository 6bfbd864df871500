"""One run's plan: its configuration resolved once, with every setting derived from it (issue 18).

A run's derived settings are computed here, once, and the plan travels whole:

1. ``inputs``: which window positions feed each pathway and the input control
   (:class:`mlib.inputs.InputPlan`, from ``data.sampling`` and ``data.input``);
2. ``effective``: the configuration training uses, the recipe applied
   (:func:`mlib.training.recipe.effective_config`: ``pyslowfast`` replaces some
   ``train`` settings with the original's);
3. ``working_size``: the side clips are resized to in memory, large enough that
   the smallest random crop (of the effective ``train.crop_scale``) still has
   ``model.size`` pixels; evaluation resizes to it too, so training and
   evaluation see the same pixels.

Training, prediction, Grad-CAM and the open-set embeddings take the plan and
never derive these again; ``config`` is the resolved configuration a run
folder's ``config.yaml`` records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from mlib.inputs import InputPlan
from mlib.training import recipe


def working_size(size: int, crop_scale: tuple[float, float] | list[float], augment: bool) -> int:
    """Side kept in memory: large enough that the smallest random crop still has ``size`` pixels (rule 3)."""
    if not augment:
        return size
    return int(math.ceil(size / math.sqrt(max(min(crop_scale), 1e-3))))


@dataclass(frozen=True)
class RunPlan:
    """A run's configuration and the settings derived from it (rules 1-3 of the module docstring)."""

    config: Mapping
    effective: Mapping
    inputs: InputPlan
    working_size: int

    @classmethod
    def of(cls, cfg: Mapping) -> RunPlan:
        effective = recipe.effective_config(cfg)
        train = effective["train"]
        side = working_size(cfg["model"]["size"], train["crop_scale"], bool(train["augment"]))
        return cls(cfg, effective, InputPlan.from_config(cfg), side)  # rules 1, 2, 3

    @property
    def model(self) -> Mapping:
        return self.config["model"]
