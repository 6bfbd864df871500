"""A gallery of people a run never saw, and searching it with a clip (``mlib enroll``, ``mlib identify``).

A user's clip is a folder of frame images (sorted by the numbers in their names)
or a video file OpenCV can decode (mp4, avi). It has no annotation, so its apex
is taken as its middle frame and the window placed by the preparation rule
(:func:`mlib.preprocess.place_window`; a clip shorter than the window is padded
by repeating its first and last frames, as in preparation, and a note says so).
The face box is the run's cache's: Haar on the window's first frame, else on
the middle frame, widened by the cache's margin and resized to its face size;
where neither shows a face the clip is refused (preparation falls back to the
centre of the frame; a user's clip gets told instead). A cache of an
already-cropped release (``cropped``) takes the whole frame.

The gallery (``.npz``) holds every enrolled clip's embedding and subject, each
subject's template, the run it was made with (folder and checkpoint digest) and
that run's preprocessing, the "unknown" threshold: the lowest cosine score whose
false-match rate on the run's TRAINING subjects' validation clips (against the
other training subjects' templates) is at most the stated FMR, and the run's
frozen embedding (:mod:`mlib.openset.embedder`: ONNX run by OpenCV, for runs that
see the plain window). A gallery is searched only with the run and preprocessing
that made it (the run's config, cache settings and checkpoint digest are checked).

Speed (issue 22: under 2 s on a 2-core CPU at the default size, model loading
included): ``mlib identify`` imports neither torch nor scikit-learn when the
gallery holds a frozen embedding; torch, torchvision and pytorchvideo took about
3.5 s of the 8 s CPU the torch path needed, scikit-learn (via ``scores``) 1.5 s, the
forward pass 0.4 s (the first one 2 s). Measured on the reference machine's 2
cores at the default profile (a ``results/default/casme2`` run, a 64-frame
synthetic clip) with ``book/bench/identify.sh`` (``book/bench/identify.txt``,
7 runs): CPU (user+sys) 1.02 s median (0.96 to 1.05), against 8.30 s for the
torch path it replaces. The cores were shared with 4 other sessions (load
average 10 to 13), which stretched wall time to 3.6 s median (torch path: 23.9 s),
under ``nice`` too; on idle cores the wall time is near the CPU time. What is
left of the CPU second: imports, chiefly pandas and openpyxl (about 0.4 s of
0.54 s, pulled in by the ``mlib.preprocess`` and ``mlib.datasets`` package
``__init__`` files on the way to the face detector and the frame reader); reading
the 64 frames, Haar face detection (0.03 s: not the cost) and the crops 0.07 s;
the frozen embedding (resizes, ONNX parse, forward) 0.11 s. Rerun:
``book/bench/identify.sh RUN CLIP | tee book/bench/identify.txt``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FORMAT = "mlib-gallery-2"  # 2: templates and the frozen embedding stored


class GalleryError(ValueError):
    """Bad input to enroll/identify; ``exit_code`` tells scripts which kind."""

    exit_code = 1


class UnreadableClip(GalleryError):
    """A video OpenCV cannot open, or a folder without frames."""

    exit_code = 3


class NoFace(GalleryError):
    """No face on the window's first or middle frame."""

    exit_code = 4


class GalleryMismatch(GalleryError):
    """A gallery made by another run or with another preprocessing."""

    exit_code = 5


class EmptyGallery(GalleryError):
    """A gallery with no one enrolled."""

    exit_code = 6


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def read_frames(path: str | Path) -> list[np.ndarray]:
    """RGB frames of a frame folder or a video file."""
    import cv2

    from mlib.datasets.base import IMAGE_SUFFIX_PATTERN
    from mlib.datasets.frames import read_rgb

    path = Path(path)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if re.fullmatch(IMAGE_SUFFIX_PATTERN, p.suffix, re.IGNORECASE)),
            key=lambda p: _natural(p.name),
        )
        if not files:
            raise UnreadableClip(f"{path}: no frame images (jpg, png, bmp, tif) in this folder")
        return [read_rgb(f) for f in files]
    if not path.is_file():
        raise UnreadableClip(f"{path}: no such video file or frame folder")
    capture, frames = cv2.VideoCapture(str(path)), []
    while capture.isOpened():
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise UnreadableClip(f"{path}: OpenCV cannot open or decode this video")
    return frames


def run_preprocessing(cfg: dict) -> dict:
    """What turns a clip into the run's model input: the cache's window, face crop, and the model's sampling."""
    from mlib.preprocess.cache_settings import read_cache_settings

    cache = read_cache_settings(cfg["run"]["cache"])
    return {
        "window": int(cache["window"]),
        "face_size": int(cache["face_size"]),
        "margin": float(cache.get("margin", 0.15)),
        "cropped": bool(cache.get("cropped", False)),
        "frames": cfg["model"]["frames"],
        "size": cfg["model"]["size"],
        "sampling": cfg["data"]["sampling"],
        "input": cfg["data"]["input"],
    }


def face_window(path: str | Path, preprocessing: dict) -> tuple[np.ndarray, str, dict]:
    """The clip's uint8 ``(W, S, S, 3)`` face window by the run's preprocessing, a note ('' or padding), and
    its index row as a cache would hold it (frame numbers = positions, apex = the middle frame), which
    runs with another ``data.input`` or ``data.sampling`` need to pick their frames."""
    from mlib.preprocess import detect_face, expand_box, place_window
    from mlib.preprocess.faces import crop_resize

    frames = read_frames(path)
    n, width, side = len(frames), preprocessing["window"], preprocessing["face_size"]
    if len({f.shape for f in frames}) > 1:
        raise UnreadableClip(f"{path}: frames of different sizes")
    win = place_window(range(n), 0, n // 2, n - 1, width)
    if preprocessing["cropped"]:
        box = (0, 0, frames[0].shape[1], frames[0].shape[0])
    else:
        found = detect_face(frames[win.start]) or detect_face(frames[win.apex_pos])
        if found is None:
            raise NoFace(f"{path}: no face found on the window's first or middle frame")
        box = expand_box(found, preprocessing["margin"], frames[0].shape)
    clip = np.stack([crop_resize(frames[p], box, side) for p in win.positions])
    note = (
        ""
        if n >= width
        else (
            f"{path}: {n} frames, shorter than the {width}-frame window: padded by "
            f"repeating its first and last frames, as in preparation"
        )
    )
    row = {
        "clip_key": Path(path).name,
        "window_start": win.start,
        "window_end": win.end,
        "pad_before": win.pad_before,
        "pad_after": win.pad_after,
        "apex": win.apex_pos,
    }
    return clip, note, row


def checkpoint_digest(run_dir: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of the run's selected checkpoint: which trained network made a gallery."""
    digest = hashlib.sha256()
    with open(Path(run_dir) / "checkpoints" / "best.pt", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def write_gallery(
    path: str | Path,
    meta: dict,
    subjects: Sequence[str],
    clips: Sequence[str],
    embeddings: np.ndarray,
    frozen: dict | None = None,
) -> Path:
    """Write a gallery atomically (``np.savez``; text as unicode arrays, ``meta`` as JSON), with each subject's
    template (:func:`mlib.openset.scores.templates`) and the run's frozen embedding (``mlib.openset.embedder``),
    if any, so that ``mlib identify`` computes neither."""
    from mlib.core.io import atomic_path
    from mlib.openset.embedder import KEYS
    from mlib.openset.scores import templates

    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(subjects) or len(clips) != len(subjects):
        raise ValueError(
            f"{path}: {len(subjects)} subjects, {len(clips)} clips and embeddings {embeddings.shape} disagree"
        )
    vectors, names = templates(embeddings, subjects) if len(subjects) else (embeddings, [])
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                format=np.array(FORMAT),
                meta=np.array(json.dumps(meta, sort_keys=True)),
                subjects=np.array(list(subjects), dtype=str),
                clips=np.array(list(clips), dtype=str),
                embeddings=embeddings,
                templates=vectors,
                template_subjects=np.array(names, dtype=str),
                **{f"frozen_{key}": frozen[key] for key in (KEYS if frozen else ())},
            )
    return Path(path)


def read_gallery(path: str | Path) -> dict:
    """A gallery's ``meta``, ``subjects``, ``clips`` and ``embeddings``; refuses other files in one line."""
    path = Path(path)
    if not path.is_file():
        raise GalleryError(f"{path}: no such gallery (make one with mlib enroll)")
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                raise KeyError("format")
            frozen = {key.removeprefix("frozen_"): data[key] for key in data.files if key.startswith("frozen_")}
            return {
                "meta": json.loads(str(data["meta"])),
                "subjects": [str(s) for s in data["subjects"]],
                "clips": [str(c) for c in data["clips"]],
                "embeddings": data["embeddings"],
                "templates": data["templates"],
                "template_subjects": [str(s) for s in data["template_subjects"]],
                "frozen": frozen or None,
            }
    except (OSError, ValueError, KeyError) as exc:
        raise GalleryError(f"{path}: not a gallery written by mlib enroll ({exc})") from None


def check_same_run(path: str | Path, meta: dict, run_dir: str | Path, preprocessing: dict) -> None:
    """Refuse a gallery made by another run (folder or checkpoint) or another preprocessing, naming both."""
    run = str(Path(run_dir).resolve())
    digest = checkpoint_digest(run_dir)
    if meta["run"] != run or meta["checkpoint"] != digest:
        raise GalleryMismatch(
            f"{path}: made by run {meta['run']} (checkpoint {meta['checkpoint']}), "
            f"not by run {run} (checkpoint {digest})"
        )
    if meta["preprocessing"] != preprocessing:
        differ = sorted(
            k
            for k in set(meta["preprocessing"]) | set(preprocessing)
            if meta["preprocessing"].get(k) != preprocessing.get(k)
        )
        theirs = ", ".join(f"{k}={meta['preprocessing'].get(k)}" for k in differ)
        ours = ", ".join(f"{k}={preprocessing.get(k)}" for k in differ)
        raise GalleryMismatch(f"{path}: made with preprocessing {theirs}; run {run} now has {ours}")


def validation_threshold(model, plan, fmr: float) -> float:
    """The "unknown" threshold at ``fmr`` on the run's training subjects' validation scores."""
    from mlib.openset.measures import threshold_at_fmr
    from mlib.openset.scores import cache_embeddings, validation_impostor_scores
    from mlib.preprocess.splits import load_split

    run = plan.config["run"]
    split = load_split(run["split"])
    split = split[split["part"].isin(("train", "val"))].reset_index(drop=True)
    if not (split["part"] == "val").any():
        raise GalleryError(f"{run['split']}: no validation clips to fix the unknown threshold on")
    x = cache_embeddings(model, plan, run["cache"], split["clip_key"])
    return threshold_at_fmr(validation_impostor_scores(x, split), fmr)


def enroll(
    run_dir: str | Path, out: str | Path, entries: Sequence[tuple[str, str]], fmr: float = 0.01
) -> tuple[Path, list[str]]:
    """Add ``(subject, clip path)`` entries to gallery ``out`` (made if absent); returns it and the notes.
    A new gallery also keeps the run's frozen embedding (``mlib.openset.embedder``), checked on these clips."""
    import pandas as pd

    from mlib.openset.embedder import freeze
    from mlib.openset.scores import model_embeddings
    from mlib.training.train import load_run

    model, plan, _ = load_run(run_dir)
    preprocessing = run_preprocessing(plan.config)
    if Path(out).exists():
        gallery = read_gallery(out)
        check_same_run(out, gallery["meta"], run_dir, preprocessing)
    else:
        meta = {
            "run": str(Path(run_dir).resolve()),
            "checkpoint": checkpoint_digest(run_dir),
            "preprocessing": preprocessing,
            "fmr": fmr,
            "threshold": validation_threshold(model, plan, fmr),
        }
        gallery = {
            "meta": meta,
            "subjects": [],
            "clips": [],
            "embeddings": np.zeros((0, model.classifier().in_features)),
            "frozen": None,
        }
    windows, rows, notes = [], [], []
    for _, clip_path in entries:
        clip, note, row = face_window(clip_path, preprocessing)
        windows.append(clip)
        rows.append(row)
        notes += [note] if note else []
    windows = np.stack(windows)
    x = model_embeddings(model, windows, plan, pd.DataFrame(rows))
    frozen = gallery["frozen"] if gallery["subjects"] else freeze(model, plan, preprocessing, windows, x)
    if frozen is None:
        notes.append(
            f"{out}: run {run_dir} is searched through torch (its frames are not the plain window, or its "
            f"frozen embedding disagreed): mlib identify takes seconds more"
        )
    written = write_gallery(
        out,
        gallery["meta"],
        gallery["subjects"] + [s for s, _ in entries],
        gallery["clips"] + [str(Path(p).resolve()) for _, p in entries],
        np.concatenate([gallery["embeddings"], x]),
        frozen,
    )
    return written, notes


def probe_embedding(gallery: dict, run_dir: str | Path, clip: np.ndarray, row: dict) -> np.ndarray:
    """The ``(1, D)`` embedding of a face window: by the gallery's frozen embedding (numpy and OpenCV, no
    torch), else by the run's network through torch (:func:`mlib.openset.scores.model_embeddings`)."""
    if gallery["frozen"] is not None:
        from mlib.openset.embedder import embed

        return embed(gallery["frozen"], clip[None])
    import pandas as pd

    from mlib.openset.scores import model_embeddings
    from mlib.training.train import load_run

    model, plan, _ = load_run(run_dir)
    return model_embeddings(model, clip[None], plan, pd.DataFrame([row]))


def identify(gallery_path: str | Path, clip_path: str | Path, run_dir: str | Path | None = None) -> dict:
    """Search a gallery with a clip: candidates ranked by cosine score with the subjects' templates, the answer
    ("unknown" below the gallery's threshold), the threshold and any note. ``run_dir`` None: the gallery's own run."""
    from mlib.core.config import load_yaml

    gallery = read_gallery(gallery_path)
    if not gallery["subjects"]:
        raise EmptyGallery(f"{gallery_path}: empty gallery: no one is enrolled (use mlib enroll)")
    meta = gallery["meta"]
    run_dir = meta["run"] if run_dir is None else run_dir
    if not (Path(run_dir) / "checkpoints" / "best.pt").is_file():
        raise GalleryError(f"{gallery_path}: its run {run_dir} has no checkpoints/best.pt here")
    preprocessing = run_preprocessing(load_yaml(Path(run_dir) / "config.yaml"))
    check_same_run(gallery_path, meta, run_dir, preprocessing)
    clip, note, row = face_window(clip_path, preprocessing)
    probe = probe_embedding(gallery, run_dir, clip, row)[0]
    scores = gallery["templates"] @ (probe / np.linalg.norm(probe))  # templates are unit-length: cosine scores
    order = np.argsort(-scores, kind="stable")
    ranked = [(gallery["template_subjects"][i], float(scores[i])) for i in order]
    answer = ranked[0][0] if ranked[0][1] >= meta["threshold"] else "unknown"
    return {"ranked": ranked, "answer": answer, "threshold": meta["threshold"], "fmr": meta["fmr"], "note": note}
