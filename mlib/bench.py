"""Throughput of SlowFast training and inference (``mlib bench train``).

Times training steps (forward, backward, Adam step) and inference batches on
random uint8 clips prepared by the same code as ``mlib train`` (``mlib.data.make_inputs``),
and prints clips/s, peak memory and, from ``torch.utils.flop_counter.FlopCounterMode``
on one step, the achieved TFLOP/s. On CUDA it compares, in the same process, the
plain path (fp32, eager, contiguous tensors, clips copied from host memory per
batch) with the fast path (bf16 autocast, channels_last_3d, torch.compile, clips
resident on the GPU), i.e. what ``train.bf16/channels_last/compile/data_on_device``
switch on.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from mlib.config import resolve
from mlib.data import make_inputs, working_size
from mlib.models import build_slowfast, count_parameters
from mlib.train import resolve_device

MODES = {
    "plain": {"bf16": False, "channels_last": False, "compile": False, "data_on_device": False},
    "fast": {"bf16": True, "channels_last": True, "compile": True, "data_on_device": True},
}


@dataclass
class BenchResult:
    mode: str
    device: str
    batch_size: int
    train_clips_per_s: float
    infer_clips_per_s: float
    peak_memory_mb: float
    step_tflop: float
    train_tflops_per_s: float


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes; whole process


def bench_mode(cfg: dict, mode: str, batch_size: int, steps: int, device: torch.device, classes: int = 16,
               warmup: int = 2) -> BenchResult:
    """Time ``steps`` training steps and ``steps`` inference batches in one mode (after ``warmup`` each)."""
    settings = MODES[mode]
    mcfg, tcfg = cfg["model"], cfg["train"]
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    side = working_size(mcfg["size"], tcfg["crop_scale"], True)
    clips = torch.randint(0, 256, (batch_size * 2, mcfg["frames"], side, side, 3), dtype=torch.uint8)
    clips = clips.to(device) if settings["data_on_device"] else (clips.pin_memory() if device.type == "cuda" else clips)
    labels = torch.randint(0, classes, (batch_size * 2,), device=device)
    model = build_slowfast({**mcfg, "checkpoint": None}, classes).to(device)
    if settings["channels_last"]:
        model = model.to(memory_format=torch.channels_last_3d)
    run_model = torch.compile(model) if settings["compile"] else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def inputs(i: int, augment: bool) -> tuple[torch.Tensor, torch.Tensor]:
        rows = slice((i % 2) * batch_size, (i % 2 + 1) * batch_size)
        x = make_inputs(clips[rows].to(device, non_blocking=True), mcfg["size"], augment=augment, generator=generator,
                        crop_scale=tcfg["crop_scale"], color_jitter=float(tcfg["color_jitter"]))
        if settings["channels_last"]:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x, labels[rows]

    def train_step(i: int) -> None:
        x, y = inputs(i, True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings["bf16"]):
            logits = run_model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def infer_step(i: int) -> None:
        x, _ = inputs(i, False)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings["bf16"]):
            run_model(x)

    def timed(step, n: int) -> float:
        for i in range(warmup):
            step(i)
        _sync(device)
        started = time.perf_counter()
        for i in range(n):
            step(i)
        _sync(device)
        return time.perf_counter() - started

    model.train()
    train_seconds = timed(train_step, steps)
    model.eval()
    infer_seconds = timed(infer_step, steps)
    model.train()
    with FlopCounterMode(display=False) as counter:
        x, y = inputs(0, True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings["bf16"]):
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward()
    step_flop = counter.get_total_flops()
    return BenchResult(
        mode=mode,
        device=str(device),
        batch_size=batch_size,
        train_clips_per_s=batch_size * steps / train_seconds,
        infer_clips_per_s=batch_size * steps / infer_seconds,
        peak_memory_mb=_peak_memory_mb(device),
        step_tflop=step_flop / 1e12,
        train_tflops_per_s=step_flop * steps / train_seconds / 1e12,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=["train"], help="what to benchmark (a SlowFast training/inference step)")
    parser.add_argument("--config", help="a profile YAML merged over mlib/defaults.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set model.depth=18 (repeatable)")
    parser.add_argument("--batch-size", type=int, help="clips per step (default train.batch_size)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement (after warm-up)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 1 on CPU, 3 on CUDA)")
    parser.add_argument("--device", default=None, help="cpu | cuda (default train.device)")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=None,
                        help="paths to compare (default: plain and fast on CUDA, plain on CPU)")


def main(args: argparse.Namespace) -> int:
    cfg = resolve(args.config, args.overrides)
    device = resolve_device(args.device or cfg["train"]["device"])
    batch_size = args.batch_size or cfg["train"]["batch_size"]
    modes = args.modes or (["plain", "fast"] if device.type == "cuda" else ["plain"])
    warmup = args.warmup if args.warmup is not None else (3 if device.type == "cuda" else 1)
    m = cfg["model"]
    probe = build_slowfast({**m, "checkpoint": None}, 16)
    print(f"SlowFast R{m['depth']} alpha {m['alpha']} beta 1/{m['beta_inv']}, {m['frames']} frames x {m['size']} px, "
          f"{count_parameters(probe) / 1e6:.1f} M parameters, batch {batch_size}, {args.steps} steps, {device}, "
          f"{torch.get_num_threads()} CPU threads")
    header = f"{'mode':<6} {'train clips/s':>13} {'infer clips/s':>13} {'peak MB':>9} {'TFLOP/step':>10} {'TFLOP/s':>8}"
    print(header)
    for mode in modes:
        result = bench_mode(cfg, mode, batch_size, args.steps, device, warmup=warmup)
        r = asdict(result)
        print(f"{mode:<6} {r['train_clips_per_s']:>13.2f} {r['infer_clips_per_s']:>13.2f} {r['peak_memory_mb']:>9.0f} "
              f"{r['step_tflop']:>10.3f} {r['train_tflops_per_s']:>8.3f}")
    if device.type == "cpu":
        print("peak MB on CPU is the process's peak resident set size (all modes so far)")
    return 0
