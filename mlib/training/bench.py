"""Throughput of SlowFast training and inference, the plain path against the fast path (``mlib bench``).

In one process and at one size (default: the ``full`` profile's SlowFast R50, 64
frames, 224 px, batch 16) it times, for each path:

- ``plain``: fp32, eager, contiguous tensors, uint8 clips copied from host memory per batch;
- ``fast``: bf16 autocast, channels_last_3d, ``torch.compile`` (inductor), the uint8 clips
  resident on the device: what ``train.bf16/channels_last/compile/data_on_device`` switch on
  (``mlib.training.train.FastPath``, the same code the training loop runs).

Training steps (augmented inputs by ``mlib.training.clips.make_inputs``, forward, backward, Adam)
and inference batches (no gradient, evaluation inputs) are timed after untimed warm-up
steps (which include compilation; their time is reported apart). It prints and writes
(``--out``, JSON) clips/s, peak memory, the model's FLOPs per clip and the achieved
TFLOP/s, and for each path:

- the input pipeline's share of a training step: the augmented inputs built alone
  (``make_inputs`` and the path's layout change, synchronised) over the same steps, divided
  by the whole steps' time;
- on CUDA, the GPU's busy fraction: the kernels' own time (``torch.profiler``) over the wall
  time of the same training steps, run once more under the profiler (None on the CPU);
- on a GPU of ``PEAK_TFLOPS``, the model FLOP/s utilisation (MFU): achieved over the card's
  dense peak at the path's arithmetic, TF32 for the plain path (cuDNN runs fp32
  convolutions on TF32 tensor cores by default, ``torch.backends.cudnn.allow_tf32``) and
  BF16 for the fast path.

FLOPs: fvcore's ``FlopCountAnalysis`` counts one multiply-add as one "flop"; we report
that count as MACs and use 2 FLOPs per MAC, the convention of hardware peak rates. A
training step is counted as 3x the forward FLOPs (forward, and a backward pass of about
twice the forward's work), the usual estimate, not a count of the backward kernels.
"""

from __future__ import annotations

import datetime
import platform
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mlib.core import io
from mlib.training.clips import make_inputs
from mlib.training.models import build_slowfast, count_parameters
from mlib.training.plan import working_size
from mlib.training.train import FastPath, backend_settings

DEFAULT_PROFILE = "configs/profiles/full.yaml"
MODES = {"plain": FastPath(), "fast": FastPath(bf16=True, channels_last=True, compile=True, data_on_device=True)}
TRAIN_FLOPS_PER_FORWARD = 3
FLOPS_PER_MAC = 2
CLASSES = 26  # CASME II's subject count: only the classifier's width depends on it
# Dense (no sparsity) tensor-core peaks in TFLOP/s, from NVIDIA's data sheets (H100/H200 SXM
# and A100 SXM): the denominator of MFU. Matched by a substring of torch's device name.
PEAK_TFLOPS = {
    "H200": {"tf32": 494.7, "bf16": 989.4},
    "H100 80GB HBM3": {"tf32": 494.7, "bf16": 989.4},
    "H100 PCIe": {"tf32": 378.0, "bf16": 756.0},
    "A100": {"tf32": 156.0, "bf16": 312.0},
}


@dataclass
class ModeResult:
    """The figures of one path."""

    mode: str
    train_clips_per_s: float
    infer_clips_per_s: float
    train_peak_memory_mb: float
    infer_peak_memory_mb: float
    warmup_seconds: float  # untimed first steps, compilation included
    train_tflops_per_s: float
    infer_tflops_per_s: float
    train_input_share: float  # building the inputs, over the whole training step
    gpu_busy_fraction: float | None  # CUDA kernels' time over wall time (training); None on the CPU
    train_mfu: float | None  # achieved over the card's dense peak; None where the peak is unknown
    infer_mfu: float | None


def peak_tflops(device_name: str, fast: FastPath) -> float | None:
    """The card's dense peak at the path's arithmetic (BF16 with autocast, else TF32), or None."""
    for model, peaks in PEAK_TFLOPS.items():
        if model in device_name:
            return peaks["bf16" if fast.bf16 else "tf32"]
    return None


def gpu_busy_fraction(step, n: int, device: torch.device) -> float | None:
    """The CUDA kernels' own time over the wall time of ``n`` calls of ``step`` (None off CUDA)."""
    if device.type != "cuda":
        return None
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        started = time.perf_counter()
        for i in range(n):
            step(i)
        _sync(device)
        wall_us = (time.perf_counter() - started) * 1e6
    busy_us = sum(event.self_device_time_total for event in prof.key_averages())
    return min(busy_us / wall_us, 1.0)


def forward_macs_per_clip(model: torch.nn.Module, example: torch.Tensor) -> float:
    """Multiply-adds of one forward pass per clip, counted by fvcore on ``example`` (B, 3, T, H, W)."""
    from fvcore.nn import FlopCountAnalysis

    was_training = model.training
    model.eval()
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, example)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = analysis.total()
    model.train(was_training)
    return float(total) / example.shape[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory_mb(device: torch.device) -> float:
    """CUDA: the allocator's peak since the last reset; CPU: the process's peak resident set (Linux KiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_mode(
    cfg: dict, mode: str, batch_size: int, steps: int, warmup: int, device: torch.device, macs_per_clip: float
) -> ModeResult:
    """Time ``steps`` training steps, then ``steps`` inference batches, after ``warmup`` of each."""
    fast = MODES[mode]
    mcfg, tcfg = cfg["model"], cfg["train"]
    torch.manual_seed(0)
    _reset_peak(device)
    side = working_size(mcfg["size"], tcfg["crop_scale"], True)
    clips = torch.randint(0, 256, (batch_size * 2, mcfg["frames"], side, side, 3), dtype=torch.uint8)
    if fast.data_on_device:
        clips = clips.to(device)
    elif device.type == "cuda":
        clips = clips.pin_memory()
    labels = torch.randint(0, CLASSES, (batch_size * 2,), device=device)
    model, step_model = fast.prepare_model(build_slowfast({**mcfg, "checkpoint": None}, CLASSES).to(device))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def inputs(i: int, augment: bool) -> tuple[torch.Tensor, torch.Tensor]:
        rows = slice((i % 2) * batch_size, (i % 2 + 1) * batch_size)
        x = make_inputs(
            clips[rows].to(device, non_blocking=True),
            mcfg["size"],
            augment=augment,
            generator=generator,
            crop_scale=tcfg["crop_scale"],
            color_jitter=float(tcfg["color_jitter"]),
        )
        return fast.prepare_inputs(x), labels[rows]

    def train_step(i: int) -> None:
        x, y = inputs(i, True)
        with fast.autocast(device):
            logits = step_model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)  # noqa: F821 (freed by `del optimizer` once training is timed)
        loss.backward()
        optimizer.step()  # noqa: F821

    @torch.no_grad()
    def infer_step(i: int) -> None:
        x, _ = inputs(i, False)
        with fast.autocast(device):
            step_model(x)

    def timed(step, n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            step(i)
        _sync(device)
        return time.perf_counter() - started

    model.train()
    warmup_seconds = timed(train_step, warmup)
    train_seconds = timed(train_step, steps)
    train_peak = _peak_memory_mb(device)
    input_seconds = timed(lambda i: inputs(i, True), steps)
    busy = gpu_busy_fraction(train_step, steps, device)
    del optimizer
    model.eval()
    _reset_peak(device)
    warmup_seconds += timed(infer_step, warmup)
    infer_seconds = timed(infer_step, steps)
    train_rate, infer_rate = batch_size * steps / train_seconds, batch_size * steps / infer_seconds
    flops = FLOPS_PER_MAC * macs_per_clip
    train_tflops, infer_tflops = train_rate * TRAIN_FLOPS_PER_FORWARD * flops / 1e12, infer_rate * flops / 1e12
    peak = peak_tflops(device_name(device), fast) if device.type == "cuda" else None
    return ModeResult(
        mode=mode,
        train_clips_per_s=train_rate,
        infer_clips_per_s=infer_rate,
        train_peak_memory_mb=train_peak,
        infer_peak_memory_mb=_peak_memory_mb(device),
        warmup_seconds=warmup_seconds,
        train_tflops_per_s=train_tflops,
        infer_tflops_per_s=infer_tflops,
        train_input_share=input_seconds / train_seconds,
        gpu_busy_fraction=busy,
        train_mfu=train_tflops / peak if peak else None,
        infer_mfu=infer_tflops / peak if peak else None,
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def run_bench(
    cfg: dict,
    *,
    device: torch.device,
    batch_size: int,
    steps: int,
    warmup: int,
    modes: list[str],
    profile: str | None = None,
    out: Path | None = None,
) -> dict:
    """Benchmark ``modes`` at the configuration's size; returns the JSON record, also written
    to ``out`` after each mode (a benchmark stopped during the fast path keeps the plain figures)."""
    mcfg = cfg["model"]
    probe = build_slowfast({**mcfg, "checkpoint": None}, CLASSES)
    example = make_inputs(
        torch.zeros(1, mcfg["frames"], mcfg["size"], mcfg["size"], 3, dtype=torch.uint8), mcfg["size"]
    )
    macs = forward_macs_per_clip(probe, example)
    results: dict = {}
    record = {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "profile": profile,
        "model": {k: mcfg[k] for k in ("depth", "alpha", "beta_inv", "width", "frames", "size")}
        | {"parameters": count_parameters(probe), "classes": CLASSES},
        "batch_size": batch_size,
        "steps": steps,
        "warmup": warmup,
        "forward_gmacs_per_clip": macs / 1e9,
        "forward_gflops_per_clip": FLOPS_PER_MAC * macs / 1e9,
        "flop_convention": (
            f"fvcore MACs x {FLOPS_PER_MAC}; a training step counts {TRAIN_FLOPS_PER_FORWARD}x the forward FLOPs"
        ),
        "modes": results,
    }
    with backend_settings(device):
        for mode in modes:
            results[mode] = asdict(bench_mode(cfg, mode, batch_size, steps, warmup, device, macs))
            if {"plain", "fast"} <= set(results):
                record["fast_over_plain"] = {
                    what: results["fast"][f"{what}_clips_per_s"] / results["plain"][f"{what}_clips_per_s"]
                    for what in ("train", "infer")
                }
            if out is not None:
                io.write_json(out, record)
    return record


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}"


def format_table(record: dict) -> str:
    m = record["model"]
    lines = [
        f"{record['device']}, torch {record['torch']}: SlowFast R{m['depth']} alpha {m['alpha']} "
        f"beta 1/{m['beta_inv']}, {m['frames']} frames x {m['size']} px, {m['parameters'] / 1e6:.1f} M parameters, "
        f"batch {record['batch_size']}, {record['steps']} timed steps",
        f"forward: {record['forward_gflops_per_clip']:.4g} GFLOP per clip ({record['flop_convention']})",
        f"{'mode':<6} {'train clips/s':>13} {'infer clips/s':>13} {'train MB':>9} {'infer MB':>9} "
        f"{'train TFLOP/s':>13} {'infer TFLOP/s':>13} {'warm-up s':>9} {'input %':>7} {'busy %':>6} {'MFU %':>5}",
    ]
    for mode, r in record["modes"].items():
        lines.append(
            f"{mode:<6} {r['train_clips_per_s']:>13.2f} {r['infer_clips_per_s']:>13.2f} "
            f"{r['train_peak_memory_mb']:>9.0f} {r['infer_peak_memory_mb']:>9.0f} "
            f"{r['train_tflops_per_s']:>13.3f} {r['infer_tflops_per_s']:>13.3f} {r['warmup_seconds']:>9.1f} "
            f"{_percent(r.get('train_input_share')):>7} {_percent(r.get('gpu_busy_fraction')):>6} "
            f"{_percent(r.get('train_mfu')):>5}"
        )
    if "fast_over_plain" in record:
        ratio = record["fast_over_plain"]
        lines.append(f"fast / plain: training {ratio['train']:.2f}x, inference {ratio['infer']:.2f}x")
    if record["device_type"] == "cpu":
        lines.append("peak MB on the CPU is the process's peak resident set size (all modes so far)")
    return "\n".join(lines)
