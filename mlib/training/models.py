"""The SlowFast identifier: pytorchvideo's SlowFast behind a single-input module.

Meaning of the two SlowFast hyper-parameters in this code (Feichtenhofer et al. 2019):

- ``alpha`` is the FRAME-RATE ratio: the Slow pathway sees every alpha-th frame of
  the Fast pathway's ``frames`` frames. The paper's "alpha determines the number
  of input frames for the slow pathway" is this: Slow gets ``frames / alpha``.
- ``beta_inv`` is 1/beta, the CHANNEL ratio: the Fast pathway has beta times the
  Slow pathway's channels (Fast stem width ``width / beta_inv``). The paper's
  "beta: the ratio of input frames between the fast and slow pathways" is loose
  wording; beta is never a frame ratio in SlowFast or here.

pytorchvideo 0.1.5 has no ``alpha`` argument, so alpha is expressed by (a) the
Slow input = the Fast input subsampled by alpha (done inside
:class:`SlowFastIdentifier`), (b) the Fast->Slow lateral fusion convs' temporal
stride = alpha, (c) adaptive average pooling in the head, which pools the
``frames / alpha`` Slow and ``frames`` Fast time steps whatever their number.

``width`` is the Slow stem's channel count (SlowFast's 64); every stage's width
follows from it in ``create_slowfast``, so a smaller width narrows the whole
network (CPU profiles use it; the paper's settings keep 64).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

DEPTHS = (18, 50, 101)
SPATIAL_STRIDE = 32  # stem conv 2 x stem pool 2 x stages 1, 2, 2, 2


class SlowFastIdentifier(nn.Module):
    """SlowFast taking ONE tensor, the Fast pathway input (B, 3, T, H, W) float.

    The Slow input is built inside as every ``alpha``-th frame (frames 0, alpha,
    2 alpha, ...), or at the given ``slow_positions`` (PySlowFast's selection, see
    :mod:`mlib.inputs.sampling`), so Grad-CAM and every other caller sees a
    single-input model.
    The pytorchvideo network is ``self.net``; ``pathway_layers()`` names the two
    pathways' last residual stages (the Grad-CAM target layers).
    """

    def __init__(self, net: nn.Module, alpha: int, frames: int, size: int, num_classes: int, slow_positions=None):
        super().__init__()
        self.net = net
        self.alpha = int(alpha)
        self.frames = int(frames)
        self.size = int(size)
        self.num_classes = int(num_classes)
        if slow_positions is not None:
            slow_positions = torch.as_tensor(slow_positions, dtype=torch.long)
            if slow_positions.numel() != frames // alpha or int(slow_positions.max()) >= frames:
                raise ValueError(f"slow_positions must be {frames // alpha} positions below {frames}")
        self.register_buffer("slow_positions", slow_positions, persistent=False)

    def forward(self, fast: torch.Tensor) -> torch.Tensor:
        if fast.dim() != 5 or fast.shape[1] != 3:
            raise ValueError(f"expected a Fast input of shape (B, 3, T, H, W), got {tuple(fast.shape)}")
        if fast.shape[2] % self.alpha:
            raise ValueError(f"input has {fast.shape[2]} frames, not divisible by alpha={self.alpha}")
        if self.slow_positions is None:
            slow = fast[:, :, :: self.alpha]
        else:
            slow = fast.index_select(2, self.slow_positions)
        return self.net([slow, fast])

    def pathway_layers(self) -> dict[str, nn.Module]:
        """The last residual stage of each pathway (``net.blocks[4]``: res5)."""
        last_stage = self.net.blocks[4]
        return {"slow": last_stage.multipathway_blocks[0], "fast": last_stage.multipathway_blocks[1]}

    def classifier(self) -> nn.Linear:
        """The head's projection to identities (replaced when loading a Kinetics checkpoint)."""
        return self.net.blocks[-1].proj


def validate_model_cfg(model_cfg: Mapping, num_classes: int) -> None:
    """Refuse invalid SlowFast settings with a clear ``ValueError`` before any compute."""
    depth, alpha, beta_inv = model_cfg["depth"], model_cfg["alpha"], model_cfg["beta_inv"]
    width = model_cfg["width"]
    frames, size, kernel = model_cfg["frames"], model_cfg["size"], model_cfg["fusion_kernel"]
    problems = []
    if depth not in DEPTHS:
        problems.append(f"model.depth={depth!r} is not one of {DEPTHS}")
    if not isinstance(alpha, int) or alpha < 1:
        problems.append(f"model.alpha={alpha!r} must be an integer >= 1")
    elif not isinstance(frames, int) or frames < 1 or frames % alpha:
        problems.append(f"model.frames={frames!r} must be a positive multiple of model.alpha={alpha}")
    if not isinstance(width, int) or width < 1:
        problems.append(f"model.width={width!r} must be a positive integer")
    elif not isinstance(beta_inv, int) or beta_inv < 1 or width % beta_inv:
        problems.append(f"model.beta_inv={beta_inv!r} must divide model.width={width} (the Slow stem width)")
    if not isinstance(size, int) or size < SPATIAL_STRIDE:
        problems.append(f"model.size={size!r} is smaller than the network's total spatial stride {SPATIAL_STRIDE}")
    if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
        problems.append(
            f"model.fusion_kernel={kernel!r} must be an odd positive integer (else Fast/Slow lengths differ)"
        )
    if not 0.0 <= float(model_cfg["dropout"]) < 1.0:
        problems.append(f"model.dropout={model_cfg['dropout']!r} must be in [0, 1)")
    if not isinstance(num_classes, int) or num_classes < 2:
        problems.append(f"num_classes={num_classes!r} must be an integer >= 2")
    if problems:
        raise ValueError("invalid SlowFast configuration: " + "; ".join(problems))


def build_slowfast(model_cfg: Mapping, num_classes: int, slow_positions=None) -> SlowFastIdentifier:
    """Build the identifier from the config's ``model`` section (see the module docstring).

    ``alpha``: Slow sees every alpha-th frame; fusion conv temporal stride alpha.
    ``beta_inv``: Fast channels = Slow channels / beta_inv (``slowfast_channel_reduction_ratio``).
    ``checkpoint``: optional local Kinetics state dict (never downloaded).
    ``slow_positions``: the Slow pathway's frames as positions in the Fast input (None: every alpha-th).
    """
    validate_model_cfg(model_cfg, num_classes)
    with warnings.catch_warnings():
        # Harmless: pytorchvideo.models imports fvcore.nn, whose focal_loss module (fvcore 0.1.5, the
        # last release) scripts a loss we never use with torch.jit.script, deprecated since torch 2.5.
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
        from pytorchvideo.models.slowfast import create_slowfast

    alpha, beta_inv = model_cfg["alpha"], model_cfg["beta_inv"]
    net = create_slowfast(
        slowfast_channel_reduction_ratio=(beta_inv,),
        slowfast_fusion_conv_kernel_size=(model_cfg["fusion_kernel"], 1, 1),
        slowfast_fusion_conv_stride=(alpha, 1, 1),
        stem_dim_outs=(model_cfg["width"], model_cfg["width"] // beta_inv),
        model_depth=model_cfg["depth"],
        model_num_class=num_classes,
        dropout_rate=float(model_cfg["dropout"]),
        head_pool=nn.AdaptiveAvgPool3d,
        head_output_size=(1, 1, 1),
    )
    _python_int_strides(net)
    model = SlowFastIdentifier(net, alpha, model_cfg["frames"], model_cfg["size"], num_classes, slow_positions)
    if model_cfg.get("checkpoint"):
        model.init_report = load_kinetics_checkpoint(model, model_cfg["checkpoint"])
    return model


def _python_int_strides(net: nn.Module) -> None:
    """Make every convolution's stride a tuple of Python ints.

    pytorchvideo's ``create_slowfast`` passes some strides as numpy integers. ``torch.compile``
    treats a numpy scalar as a tensor, so each such convolution needs ``.item()``, which
    inductor cannot compile: the graph breaks there and most of the model runs eagerly
    (seen on an H100 with torch 2.11). Eager results are the same either way.
    """
    for module in net.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            module.stride = tuple(int(s) for s in module.stride)


def load_kinetics_checkpoint(model: SlowFastIdentifier, path: str | Path) -> dict:
    """Initialise ``model.net`` from a local pytorchvideo SlowFast checkpoint.

    The state dict sits under ``"model_state"`` (pytorchvideo's SLOWFAST_8x8_R50
    format) or is the file itself. The classifier (head projection) is always kept
    freshly initialised for the identities; tensors whose shapes differ are skipped
    and reported. Returns ``{"loaded": [...], "skipped_shape": [...], "missing": [...],
    "unexpected": [...]}`` and logs a one-line summary.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file (model.checkpoint); nothing is downloaded")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a loadable torch checkpoint: {exc}") from exc
    state = blob.get("model_state", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict of tensors (under 'model_state' or at the top level)")
    state = {k.removeprefix("module.").removeprefix("net."): v for k, v in state.items()}

    own = model.net.state_dict()
    head_prefix = f"blocks.{len(model.net.blocks) - 1}.proj."
    report = {"loaded": [], "skipped_shape": [], "skipped_head": [], "missing": [], "unexpected": []}
    accepted = {}
    for key, value in state.items():
        if key not in own:
            report["unexpected"].append(key)
        elif key.startswith(head_prefix):
            report["skipped_head"].append(key)
        elif tuple(value.shape) != tuple(own[key].shape):
            report["skipped_shape"].append(f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(own[key].shape)}")
        else:
            accepted[key] = value
            report["loaded"].append(key)
    report["missing"] = [k for k in own if k not in accepted and not k.startswith(head_prefix)]
    model.net.load_state_dict(accepted, strict=False)
    log.info(
        "%s: loaded %d tensors, kept the head new, skipped %d of other shape, %d missing, %d unexpected",
        path,
        len(report["loaded"]),
        len(report["skipped_shape"]),
        len(report["missing"]),
        len(report["unexpected"]),
    )
    for line in report["skipped_shape"]:
        log.warning("%s: shape mismatch, not loaded: %s", path, line)
    return report


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
