"""Input controls (``data.input``): altered clips that keep only appearance or only motion.

Every variant is built from the same cached window and the frame positions the
sampling chose (:mod:`mlib.inputs.sampling`), so it changes one thing at a time:

- ``clip``: the sampled frames, unaltered.
- ``static-apex``: the apex frame (window position ``mlib.datasets.window.window_position``, where
  :mod:`mlib.datasets.window` placed it) repeated T times: appearance only.
- ``static-first``: the window's first frame repeated T times: appearance only,
  from a frame before the movement (the onset side).
- ``shuffled``: the sampled frames in a random order, one permutation per clip,
  fixed by the seed and the clip's key (the same in every epoch and at
  evaluation): appearance and frame statistics, no temporal order.
- ``difference``: signed differences of consecutive window frames,
  ``d_t = x_t - x_{t-1}`` (``d_0 = x_1 - x_0``), stored as ``128 + d`` clipped to
  uint8, then sampled like the clip. A still face cancels, so appearance is
  largely removed; what remains is the brightness change a movement causes
  (roughly minus the image gradient times the displacement), so edges of moving
  parts still show some texture. Signed rather than absolute: the sign keeps the
  direction of a movement (an edge moving up or down), which an absolute value
  would fold together. Differences above 127 grey levels between consecutive
  frames (rare at 100-200 fps) are clipped. The frame pair is taken at the
  window's own rate, before sampling, so the differences are between neighbours.
- ``face-masked``: the clip with the face hidden: an ellipse over the face box
  (the crop's centre, inside ``prepare.margin``) filled with each frame's mean
  colour outside it. What is left is what is not the face: the crop's margins
  (background, hair, clothes) and each frame's brightness and colour, the cues a
  recording session leaves; a subject identified from it needs neither face nor
  movement of the face.
"""

from __future__ import annotations

import zlib

import numpy as np

INPUTS = ("clip", "static-apex", "static-first", "shuffled", "difference", "face-masked")
STATIC = ("static-apex", "static-first")
DIFFERENCE_ZERO = 128  # the uint8 value of "no change" in a difference frame
FACE_MASK_GROWTH = 1.1  # the masking ellipse is this much larger than the face box (a jittering head stays hidden)


def shuffle_order(clip_key: str, seed: int, frames: int) -> np.ndarray:
    """The permutation of ``frames`` positions for one clip: a function of (seed, clip key) only."""
    rng = np.random.default_rng([int(seed), zlib.crc32(clip_key.encode())])
    return rng.permutation(frames)


def frame_differences(window: np.ndarray) -> np.ndarray:
    """uint8 (W, S, S, 3) -> uint8 (W, S, S, 3) signed consecutive differences offset by 128 (W >= 2)."""
    if window.shape[0] < 2:
        raise ValueError(f"a difference input needs at least 2 frames, the window has {window.shape[0]}")
    signed = np.diff(window.astype(np.int16), axis=0)
    signed = np.concatenate([signed[:1], signed], axis=0)
    return np.clip(signed + DIFFERENCE_ZERO, 0, 255).astype(np.uint8)


def face_mask(side: int, margin: float) -> np.ndarray:
    """bool (side, side): the ellipse over the face box of a square crop that added ``margin`` of the box per side."""
    half = FACE_MASK_GROWTH * 0.5 * side / (1 + 2 * float(margin))
    ys, xs = np.mgrid[0:side, 0:side] + 0.5 - side / 2
    return (xs / half) ** 2 + (ys / (half * 1.15)) ** 2 <= 1  # a face is taller than wide


def mask_face(window: np.ndarray, margin: float) -> np.ndarray:
    """uint8 (W, S, S, 3) -> the same with the face ellipse filled by each frame's mean colour outside it."""
    mask = face_mask(window.shape[1], margin)
    masked = window.copy()
    masked[:, mask] = window[:, ~mask].mean(axis=1, keepdims=True).round().astype(np.uint8)
    return masked


def alter_positions(kind: str, positions: np.ndarray, *, apex: int, clip_key: str, seed: int) -> np.ndarray:
    """The window positions a variant shows, given the sampling's ``positions`` (length T)."""
    if kind in ("clip", "difference", "face-masked"):
        return positions
    if kind == "static-apex":
        return np.full_like(positions, apex)
    if kind == "static-first":
        return np.zeros_like(positions)
    if kind == "shuffled":
        return positions[shuffle_order(clip_key, seed, len(positions))]
    raise ValueError(f"data.input={kind!r}: expected one of {', '.join(INPUTS)}")
