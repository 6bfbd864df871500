"""The clip cache: one uint8 ``(W, S, S, 3)`` face window per clip (``book/formats.md`` section 3).

``prepare_cache`` turns a clip table into ``<cache_dir>/<dataset>-<key>/``
where ``key`` hashes the settings that shape the arrays. Each clip is written
atomically as it finishes, then its source fingerprint
(``clips/<clip_key>.sources.json``: name, size and modification time of every
frame the clip was made from), ``index.csv`` last. A rerun stats the frames
(no decoding) and keeps a clip only when its ``.npy`` and an equal fingerprint
exist: a complete cache whose frames are unchanged returns at once; a frame
replaced or repaired since makes only the clips that used it be recomputed
(``index.csv`` is removed first, so the folder is incomplete meanwhile); a
killed run resumes (an atomic write never leaves a truncated ``.npy``, and one
written without its fingerprint is recomputed). A kept clip's index row is
made again (window placed, face detected on one frame): both are
deterministic, so the row matches the array.

Frames are decoded by ``mlib.datasets.frames.read_frame``, which refuses an
empty, truncated or undecodable file with its path, so no grey-tailed frame is
ever cached.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from mlib.core.config import check_value, config_hash
from mlib.core.io import write_csv, write_json, write_npy
from mlib.datasets.frames import read_rgb
from mlib.datasets.window import PAD_RULES, Window, pad_rule, place_window
from mlib.preprocess.faces import Box, centre_square, crop_resize, detect_face, expand_box

# Bump when a change to the code alters the cached arrays, so old caches are not reused.
PREPROCESS_VERSION = 1

# The paper's face sizes (frames resized to match its reference [6]).
FACE_SIZES = {"casme2": 300, "samm": 400, "smic": 150, "smic-hs": 150}

INDEX_COLUMNS = [
    "clip_key", "dataset", "subject", "clip", "source_file", "source_row",
    "onset", "apex", "offset", "apex_source", "fps", "emotion",
    "window_start", "window_end", "pad_before", "pad_after",
    "box_x", "box_y", "box_w", "box_h", "detector", "cache_file",
]  # fmt: skip

CLIP_COLUMNS = [
    "clip_key", "dataset", "subject", "clip", "frames", "frame_numbers", "onset", "apex", "offset",
    "apex_source", "fps", "emotion", "source_file", "source_row",
]  # fmt: skip


class PrepareError(RuntimeError):
    """Some clips could not be cached (unreadable frames); the message names them."""


@dataclass
class PrepareResult:
    """What one ``run_prepare`` call did."""

    path: Path
    clips: int = 0
    reused: int = 0
    frames: int = 0
    seconds: float = 0.0
    fallbacks: list[str] = field(default_factory=list)
    was_complete: bool = False
    recomputed: list[str] = field(default_factory=list)  # cached clips whose source frames had changed

    @property
    def frames_per_second(self) -> float:
        """Frames decoded and cropped per second of wall time (0 when nothing was done)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def resolve_face_size(dataset: str, face_size: int | None) -> int:
    """``face_size`` or, when None, the paper's size for the database."""
    if face_size is not None:
        if int(face_size) < 1:
            raise ValueError(f"face_size must be positive, got {face_size}")
        return int(face_size)
    if dataset not in FACE_SIZES:
        raise ValueError(f"no default face size for dataset {dataset!r}; pass face_size (known: {sorted(FACE_SIZES)})")
    return FACE_SIZES[dataset]


def annotation_digest(clips: pd.DataFrame) -> str:
    """Hash of what places the windows (keys, frame lists, onset/apex/offset): a fixed erratum makes a new cache."""
    rows = [
        [row.clip_key, list(map(int, row.frame_numbers)), int(row.onset), int(row.apex), int(row.offset)]
        for row in clips.itertuples()
    ]
    return config_hash(rows)


def cache_settings(
    clips: pd.DataFrame, *, dataset: str, root: str | Path, apex_rule: str, cropped: bool,
    window: int, face_size: int | None, margin: float, pad: str = "symmetric",
) -> dict:  # fmt: skip
    """The settings a cache key is made from (written to ``settings.json``); out-of-range values are refused.
    ``pad`` is the padding rule (``mlib.datasets.window.PAD_RULES``; resolve ``protocol`` with ``pad_rule``):
    ``symmetric``, the only rule before the setting existed, stays out of the key, so older caches stay valid."""
    check_value("prepare.window", window)
    if pad not in PAD_RULES:
        raise ValueError(f"prepare.pad {pad!r}: a cache needs a padding rule, one of {', '.join(PAD_RULES)}")
    check_value("prepare.face_size", face_size)
    check_value("prepare.margin", float(margin))
    settings = {
        "dataset": dataset,
        "root": str(Path(root).resolve()),
        "apex_rule": apex_rule,
        "cropped": bool(cropped),
        "window": int(window),
        "face_size": resolve_face_size(dataset, face_size),
        "margin": float(margin),
        "version": PREPROCESS_VERSION,
        "annotations": annotation_digest(clips),
    }
    return settings if pad == "symmetric" else {**settings, "pad": pad}


def cache_path_for(cache_dir: str | Path, settings: Mapping) -> Path:
    """``<cache_dir>/<dataset>-<key>``."""
    return Path(cache_dir) / f"{settings['dataset']}-{config_hash(settings)}"


def _check_clip_table(clips: pd.DataFrame) -> None:
    missing = [name for name in CLIP_COLUMNS if name not in clips.columns]
    if missing:
        raise ValueError(f"clip table lacks columns {missing} (book/formats.md section 2)")
    if clips.empty:
        raise ValueError("clip table has no clips: nothing to prepare")
    duplicated = clips["clip_key"][clips["clip_key"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"clip table repeats clip keys {duplicated[:5]}")
    empty = clips["clip_key"][clips["frames"].map(len) == 0].tolist()
    if empty:
        raise ValueError(f"clips without frames: {empty[:5]}")


def source_positions(win: Window) -> list[int]:
    """The frame-list positions a clip's array is made from: the window's real frames and the apex
    (whose frame may place the face box)."""
    return sorted(set(range(win.start, win.end + 1)) | {win.apex_pos})


def source_fingerprint(frames: list[str], win: Window) -> list[list]:
    """``[name, size, mtime_ns]`` of each source frame: what a changed or repaired frame changes."""
    found = []
    for pos in source_positions(win):
        stat = Path(frames[pos]).stat()
        found.append([Path(frames[pos]).name, stat.st_size, stat.st_mtime_ns])
    return found


def sources_file(out_file: Path) -> Path:
    """``clips/<clip_key>.sources.json`` beside ``clips/<clip_key>.npy``."""
    return out_file.with_name(out_file.stem + ".sources.json")


def _cached_sources(out_file: Path) -> list | None:
    """The fingerprint saved with a cached clip, or None (none saved, or unreadable)."""
    try:
        return json.loads(sources_file(out_file).read_text())["frames"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clip_face_box(first: np.ndarray, apex_path: str, margin: float) -> tuple[Box, str, str]:
    """The clip's crop box: ``(box, detector, note)``.

    Haar on the window's first frame; if no face there, Haar on the apex frame;
    if none there either, the centred square of the frame's shorter side. Both
    fallbacks report ``detector = "fallback"`` and say which rule in ``note``.
    """
    found = detect_face(first)
    if found is not None:
        return expand_box(found, margin, first.shape), "haar", ""
    apex = read_rgb(apex_path)
    found = detect_face(apex) if apex.shape == first.shape else None
    if found is not None:
        return expand_box(found, margin, first.shape), "fallback", "no face on the first frame; box from the apex frame"
    return centre_square(first.shape), "fallback", "no face on the first or apex frame; centred square of the frame"


def crop_window(frames: list[str], win: Window, first: np.ndarray, box: Box | None, size: int) -> np.ndarray:
    """Decode the window's real frames, crop each with ``box`` (None: whole frame), pad: uint8 ``(W, S, S, 3)``.

    ``first`` is the already decoded frame at ``win.start``. Padding repeats
    the first/last real face, as ``win.positions`` says.
    """
    faces = np.empty((win.length, size, size, 3), np.uint8)
    for slot, pos in enumerate(range(win.start, win.end + 1), start=win.pad_before):
        image = first if pos == win.start else read_rgb(frames[pos])
        if box is None:  # an already-cropped release: the whole frame is the face
            faces[slot] = crop_resize(image, (0, 0, image.shape[1], image.shape[0]), size)
            continue
        if image.shape != first.shape:
            raise ValueError(
                f"{frames[pos]}: frame size {image.shape[:2]} differs from the clip's first frame {first.shape[:2]}"
            )
        faces[slot] = crop_resize(image, box, size)
    last = win.length - win.pad_after
    faces[: win.pad_before] = faces[win.pad_before]
    faces[last:] = faces[last - 1]
    return faces


def _prepare_clip(task: dict) -> dict:
    """Worker: place the window, find the box, crop and write one clip (or only describe it if cached)."""
    clip, settings, out_file = task["clip"], task["settings"], Path(task["out_file"])
    try:
        frames, numbers = clip["frames"], clip["frame_numbers"]
        win = place_window(
            numbers, clip["onset"], clip["apex"], clip["offset"], settings["window"], settings.get("pad", "symmetric")
        )
        first = read_rgb(frames[win.start])
        if settings["cropped"]:
            box, detector, note = (0, 0, first.shape[1], first.shape[0]), "cropped", ""
        else:
            box, detector, note = clip_face_box(first, frames[win.apex_pos], settings["margin"])
        decoded = 0
        if not out_file.exists():
            faces = crop_window(frames, win, first, None if settings["cropped"] else box, settings["face_size"])
            write_npy(out_file, faces)
            write_json(sources_file(out_file), {"frames": task["sources"]})
            decoded = win.end - win.start + 1
        row = {
            **{name: clip[name] for name in INDEX_COLUMNS[:12]},
            "window_start": int(numbers[win.start]),
            "window_end": int(numbers[win.end]),
            "pad_before": win.pad_before,
            "pad_after": win.pad_after,
            "box_x": box[0], "box_y": box[1], "box_w": box[2], "box_h": box[3],
            "detector": detector,
            "cache_file": f"clips/{out_file.name}",
        }  # fmt: skip
        return {"row": row, "decoded": decoded, "note": note, "error": ""}
    except Exception as exc:  # reported per clip by the caller, which then refuses to finish the cache
        return {"row": None, "decoded": 0, "note": "", "error": f"{clip['clip_key']}: {exc}"}


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (one line, no worker tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _task_sources(clip: dict, window: int, pad: str) -> list | None:
    """The clip's source fingerprint, or None when its window cannot be placed (the worker reports why)."""
    try:
        win = place_window(clip["frame_numbers"], clip["onset"], clip["apex"], clip["offset"], window, pad)
    except ValueError:
        return None
    return source_fingerprint(clip["frames"], win)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays -> Python values, so tasks pickle small and rows write cleanly."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_prepare(
    clips: pd.DataFrame, cache_dir: str | Path, *, dataset: str, root: str | Path, window: int = 64,
    face_size: int | None = None, margin: float = 0.15, cropped: bool = False, apex_rule: str = "annotated",
    pad: str = "symmetric", workers: int = 2, progress: bool = True,
) -> PrepareResult:  # fmt: skip
    """Prepare (or find) the cache of ``clips`` and say what was done; see ``prepare_cache``."""
    _check_clip_table(clips)
    if Path(cache_dir).exists() and not Path(cache_dir).is_dir():
        raise PrepareError(f"{cache_dir}: not a folder (the parent folder of caches)")
    settings = cache_settings(
        clips, dataset=dataset, root=root, apex_rule=apex_rule, cropped=cropped,
        window=window, face_size=face_size, margin=margin, pad=pad,
    )  # fmt: skip
    path = cache_path_for(cache_dir, settings)
    result = PrepareResult(path=path, clips=len(clips))
    clip_dir = path / "clips"
    tasks, stale = [], []
    for clip in clips.to_dict("records"):
        plain = {name: _plain(clip[name]) for name in CLIP_COLUMNS}
        plain["frames"] = [str(p) for p in plain["frames"]]
        out_file = clip_dir / f"{plain['clip_key']}.npy"
        sources = _task_sources(plain, settings["window"], settings.get("pad", "symmetric"))
        if out_file.exists() and (sources is None or _cached_sources(out_file) != sources):
            stale.append(out_file)
        tasks.append({"clip": plain, "settings": settings, "out_file": str(out_file), "sources": sources})
    if (path / "index.csv").is_file() and not stale:
        result.reused = len(clips)
        result.was_complete = True
        return result
    (path / "index.csv").unlink(missing_ok=True)  # incomplete until the changed clips are made again
    for out_file in stale:
        out_file.unlink()
        sources_file(out_file).unlink(missing_ok=True)
    result.recomputed = sorted(p.stem for p in stale)
    clip_dir.mkdir(parents=True, exist_ok=True)
    for stray in clip_dir.glob(".*.tmp"):  # left by a killed writer; never a valid clip
        stray.unlink()
    settings_file = path / "settings.json"
    if not settings_file.is_file():
        write_json(settings_file, settings)
    result.reused = sum(Path(task["out_file"]).exists() for task in tasks)

    started = time.perf_counter()
    workers = max(1, min(int(workers), len(tasks)))
    outcomes = []
    with tqdm(total=len(tasks), desc=f"prepare {dataset}", unit="clip", disable=not progress) as bar:
        if workers == 1:
            for task in tasks:
                outcomes.append(_prepare_clip(task))
                bar.update()
        else:
            # Leaving the block terminates the workers, also on Ctrl-C: a clip cut short leaves only a
            # temporary file (atomic writes), removed by the next run, which makes that clip again.
            with Pool(workers, initializer=_ignore_sigint) as pool:
                for outcome in pool.imap(_prepare_clip, tasks):
                    outcomes.append(outcome)
                    bar.update()
    result.seconds = time.perf_counter() - started

    errors = [outcome["error"] for outcome in outcomes if outcome["error"]]
    if errors:
        raise PrepareError(f"{len(errors)} clip(s) could not be cached into {path}:\n  " + "\n  ".join(errors))
    for outcome in outcomes:
        result.frames += outcome["decoded"]
        if outcome["note"]:
            message = f"{outcome['row']['clip_key']}: {outcome['note']}"
            result.fallbacks.append(message)
            print(f"face detection fallback: {message}", file=sys.stderr)
    write_csv(path / "index.csv", pd.DataFrame([o["row"] for o in outcomes], columns=INDEX_COLUMNS))
    return result


def prepare_settings(cfg: Mapping) -> dict:
    """``run_prepare``'s settings from a resolved configuration (``data``, ``prepare``, ``split.protocol``),
    the one place that reads them: the command, notebook 01 and the positive controls all prepare alike."""
    data, prepare = cfg["data"], cfg["prepare"]
    return {
        "dataset": data["dataset"],
        "root": data["root"],
        "window": prepare["window"],
        "face_size": prepare["face_size"],
        "margin": prepare["margin"],
        "cropped": data["cropped"],
        "apex_rule": data["apex_rule"],
        "pad": pad_rule(prepare["pad"], cfg["split"]["protocol"]),
        "workers": prepare["workers"],
    }


def prepare_cache(clips: pd.DataFrame, cache_dir: str | Path, **settings) -> Path:
    """Crop, window and cache every clip of ``clips``; return the cache folder.

    ``clips`` is a clip table (``book/formats.md`` section 2); ``settings`` are
    ``run_prepare``'s (``dataset``, ``root``, ``window``, ``face_size`` (None: the
    paper's size for ``dataset``), ``margin``, ``cropped``, ``apex_rule``, ``pad``
    (the padding rule), ``workers``, ``progress``). Rerunning with the same settings does nothing.
    """
    return run_prepare(clips, cache_dir, **settings).path


INDEX_TEXT_COLUMNS = [
    "clip_key",
    "dataset",
    "subject",
    "clip",
    "source_file",
    "apex_source",
    "emotion",
    "detector",
    "cache_file",
]


def load_index(cache_path: str | Path) -> pd.DataFrame:
    """A complete cache's ``index.csv`` (subjects stay text, leading zeros kept)."""
    index_file = Path(cache_path) / "index.csv"
    if not index_file.is_file():
        raise FileNotFoundError(f"{index_file}: missing; {cache_path} is not a complete cache (run mlib prepare)")
    try:
        index = pd.read_csv(index_file, dtype={name: str for name in INDEX_TEXT_COLUMNS}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{index_file}: not a readable cache index ({str(exc).splitlines()[0]})") from None
    missing = [name for name in INDEX_COLUMNS if name not in index.columns]
    if missing:
        raise ValueError(f"{index_file}: lacks columns {missing}")
    return index


def load_clip(cache_path: str | Path, row_or_key: str | Mapping | pd.Series) -> np.ndarray:
    """One cached clip, uint8 ``(W, S, S, 3)`` RGB, by clip key or by an index row."""
    if isinstance(row_or_key, str):
        relative = f"clips/{row_or_key}.npy"
    else:
        relative = row_or_key["cache_file"]
    clip_file = Path(cache_path) / relative
    if not clip_file.is_file():
        raise FileNotFoundError(f"{clip_file}: no such cached clip")
    return np.load(clip_file, allow_pickle=False)
