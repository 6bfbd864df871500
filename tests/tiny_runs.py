"""A tiny trained run for the Grad-CAM tests: a cache with planted movement, pointing at a real-layout
root and at a synthetic root with generator truth (shared by tests/test_gradcam.py and
tests/test_notebook_gradcam.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mlib.core.config import resolve

FRAME_SHAPE = (60, 80)  # original frames (height, width)
BOX = (10, 5, 48, 48)  # crop box (x, y, w, h) in original pixels; the cache holds 48 px faces
WINDOW = 16


def write_run_inputs(base: Path) -> dict:
    """A real-layout cache (index.csv, clips, settings.json) twice, once pointing at a database root
    without a synthetic manifest (real) and once at a synthetic root with generator truth."""
    rng = np.random.default_rng(0)
    roots = {"real": base / "real_root", "synth": base / "synth_root"}
    for root in roots.values():
        root.mkdir(parents=True)
    (roots["synth"] / "synth_manifest.json").write_text("{}")
    truth_dir = roots["synth"] / "synth_truth"
    truth_dir.mkdir()
    mask = np.zeros(FRAME_SHAPE, bool)
    mask[5:29, 10:34] = True  # the top-left quarter of the crop box
    rows, truth_rows, clips = [], [], {}
    for s in range(3):
        subject = f"{s + 1:02d}"
        face = rng.integers(30, 220, size=(12, 12, 3)).repeat(4, 0).repeat(4, 1)
        for c in range(4):
            key = f"casme2_{subject}_EP{c:02d}"
            frames = np.repeat(face[None], WINDOW, 0).astype(float) + rng.normal(0, 8, (WINDOW, 48, 48, 3))
            frames[6:10, :24, :24] += 60  # the movement, inside the true moving region
            clips[key] = np.clip(frames, 0, 255).astype(np.uint8)
            pad_before = 2 if (s, c) == (0, 3) else 0  # one test clip is padded
            start = 100
            rows.append(
                dict(
                    clip_key=key,
                    dataset="casme2",
                    subject=subject,
                    clip=f"EP{c:02d}",
                    source_file="CASME2-coding-20140508.xlsx",
                    source_row=2 + len(rows),
                    onset=102,
                    apex=108,
                    offset=112,
                    apex_source="annotated",
                    fps=200,
                    emotion="",
                    window_start=start,
                    window_end=start + WINDOW - 1 - pad_before,
                    pad_before=pad_before,
                    pad_after=0,
                    box_x=BOX[0],
                    box_y=BOX[1],
                    box_w=BOX[2],
                    box_h=BOX[3],
                    detector="haar",
                    cache_file=f"clips/{key}.npy",
                )
            )
            curve = np.zeros(40, np.float32)
            curve[10:16] = [0.2, 0.6, 1.0, 0.6, 0.2, 0.1]  # frames 105..110, peak at 107
            np.savez(truth_dir / f"{key}.npz", motion_mask=mask, motion_curve=curve)
            truth_rows.append(
                {
                    "clip_key": key,
                    "subject": subject,
                    "first_frame": 95,
                    "n_frames": 40,
                    "onset": 102,
                    "apex": 108,
                    "offset": 112,
                }
            )
    pd.DataFrame(truth_rows).to_csv(truth_dir / "truth.csv", index=False)
    caches = {}
    for kind, root in roots.items():
        cache = base / "cache" / f"casme2-{kind}"
        (cache / "clips").mkdir(parents=True)
        for key, clip in clips.items():
            np.save(cache / "clips" / f"{key}.npy", clip)
        (cache / "settings.json").write_text(json.dumps({"dataset": "casme2", "root": str(root), "window": WINDOW}))
        pd.DataFrame(rows).to_csv(cache / "index.csv", index=False)
        caches[kind] = cache
    split = pd.DataFrame(rows)[["clip_key", "subject"]].assign(part=["train", "train", "val", "test"] * 3)
    split_file = caches["real"] / "splits" / "half-seed42.csv"
    split_file.parent.mkdir()
    split.to_csv(split_file, index=False)
    return {"caches": caches, "split": split_file, "roots": roots}


def train_tiny_run(base: Path) -> dict:
    """Train the tiny SlowFast run on ``write_run_inputs(base)``'s real cache (1 epoch, CPU, 2 threads;
    the thread count is restored). Returns the inputs plus ``run`` (the run folder) and ``base``."""
    inputs = write_run_inputs(base)
    return {"run": _train_tiny(inputs["caches"]["real"], inputs["split"], base / "runs"), "base": base, **inputs}


def _train_tiny(cache: Path, split_file: Path, out: Path) -> Path:
    """One CPU epoch of a tiny SlowFast (2 threads, the thread count restored); the run folder."""
    from mlib.training.train import train

    cfg = resolve(
        None,
        {
            "model": {"depth": 18, "width": 16, "beta_inv": 4, "frames": 8, "size": 32, "dropout": 0.0},
            "train": {"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "device": "cpu", "augment": False},
            "run": {"cache": str(cache), "split": str(split_file), "out": str(out)},
        },
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        return train(cfg, progress=False)
    finally:
        torch.set_num_threads(threads)


def train_open_set_run(base: Path) -> dict:
    """A tiny run trained on fold 0 of an open-set split of a 9-subject tiny cache (1 CPU epoch, 2 threads):
    ``run``, ``cache``, ``split`` (its unseen subjects were never trained on)."""
    from tiny_caches import write_tiny_cache

    from mlib.preprocess.splits import write_splits

    cache = write_tiny_cache(base, subjects=9, clips_per_subject=5, window=16, side=32)
    split_file = write_splits(cache, "open-set", seed=1)[0]
    return {"run": _train_tiny(cache, split_file, base / "runs"), "cache": cache, "split": split_file}
