"""Tiny prepared caches and split files in the contract's layout (book/formats.md sections 3-4).

Shared by the training, grid, baseline and notebook tests, which need caches
without running the synthetic corpus and face detection first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def write_cache(root: Path, clips: dict[str, list[np.ndarray]], *, database_root: Path | None = None) -> Path:
    """A cache from ``{subject: [uint8 (T, S, S, 3) clips]}``; ``database_root`` goes into settings.json."""
    cache = Path(root) / "cache" / "casme2-tiny"
    (cache / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for subject, arrays in clips.items():
        for c, clip in enumerate(arrays):
            key, length, side = f"casme2_{subject}_EP{c:02d}", len(clip), clip.shape[1]
            np.save(cache / "clips" / f"{key}.npy", clip)
            rows.append(
                dict(
                    clip_key=key,
                    dataset="casme2",
                    subject=subject,
                    clip=f"EP{c:02d}",
                    source_file="CASME2-coding-20140508.xlsx",
                    source_row=2 + len(rows),
                    onset=1,
                    apex=length // 2 + 1,
                    offset=length,
                    apex_source="annotated",
                    fps=200,
                    emotion="",
                    window_start=1,
                    window_end=length,
                    pad_before=0,
                    pad_after=0,
                    box_x=0,
                    box_y=0,
                    box_w=side,
                    box_h=side,
                    detector="cropped",
                    cache_file=f"clips/{key}.npy",
                )
            )
    first = next(iter(clips.values()))[0]
    settings = {"dataset": "casme2", "window": len(first), "face_size": first.shape[1]}
    if database_root is not None:
        settings["root"] = str(database_root)
    (cache / "settings.json").write_text(json.dumps(settings))
    pd.DataFrame(rows).to_csv(cache / "index.csv", index=False)
    return cache


def write_tiny_cache(
    root: Path, subjects: int = 4, clips_per_subject: int = 6, window: int = 16, side: int = 32, seed: int = 0
) -> Path:
    """Subjects differ by a learnable blocky face pattern, shifted per clip, drifting in time, plus noise."""
    rng = np.random.default_rng(seed)
    clips = {}
    for s in range(subjects):
        face = rng.integers(40, 216, size=(side // 4, side // 4, 3)).repeat(4, 0).repeat(4, 1)
        arrays = []
        for _ in range(clips_per_subject):
            dy, dx = rng.integers(-2, 3, size=2)
            frames = [
                np.roll(face, (int(dy), int(dx) + t // 8), axis=(0, 1)) + rng.normal(0, 12, face.shape)
                for t in range(window)
            ]
            arrays.append(np.clip(frames, 0, 255).astype(np.uint8))
        clips[f"{s + 1:02d}"] = arrays
    return write_cache(root, clips)


def write_split(cache: Path, n_train: int = 3, n_val: int = 1, name: str = "half-seed42.csv") -> Path:
    """Per subject: the first ``n_train`` clips train, the next ``n_val`` validate, the rest test."""
    index = pd.read_csv(Path(cache) / "index.csv", dtype={"subject": str})
    parts = []
    for _, group in index.groupby("subject", sort=True):
        labels = ["train"] * n_train + ["val"] * n_val
        parts += (labels + ["test"] * len(group))[: len(group)]
    path = Path(cache) / "splits" / name
    path.parent.mkdir(exist_ok=True)
    index[["clip_key", "subject"]].assign(part=parts).to_csv(path, index=False)
    return path


def write_layout_corpora(
    base: Path,
    *,
    subjects: int,
    clips_per_subject: int,
    frame_size: tuple[int, int],
    short_clip_fraction: float,
    seed: int,
) -> dict:
    """One small synthetic corpus per database layout under ``base``: layout -> root."""
    from mlib.synth import corpus_specs
    from mlib.synth.layouts import LAYOUTS, write_corpus

    roots = {}
    for layout in LAYOUTS:
        specs = corpus_specs(
            subjects=subjects,
            clips_per_subject=clips_per_subject,
            single_clip_subjects=0,
            short_clip_fraction=short_clip_fraction,
            frame_size=frame_size,
            fps=LAYOUTS[layout].fps,
            seed=seed,
        )
        roots[layout] = write_corpus(Path(base) / layout, layout, specs, workers=1, progress=False)
    return roots
