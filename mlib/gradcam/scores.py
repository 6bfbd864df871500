"""Localisation scores of a Grad-CAM map: how much of its mass sits where (and when) the face moves.

For a map ``cam`` (T, H, W) and a region (a pixel mask and/or a set of frames),
the share of CAM mass inside the region is ``sum(cam[region]) / sum(cam)``; a
uniform map would give the region's area share times its time share;
``lift = share / uniform`` (1 = no better than uniform). The regions
(:func:`clip_regions`):

- ``motion``: the top ``top_percent`` % (default 10 %) pixels of the clip's
  motion energy, the mean absolute difference of consecutive input frames
  (grey level, [0, 1]) over the window;
- ``apex``: the frames within +-``apex_half_window`` model frames of the apex
  (default T // 8: +-8 of 64 frames, 40 ms at 200 fps);
- on a synthetic corpus, ``truth``: the generator's moving-face-region mask mapped
  into the model input, and ``truth_time``: the frames where the generator's
  motion curve is at least half its peak. ``motion_truth_iou`` says how well the
  motion-energy region agrees with the true one.

Permutation null (:func:`permutation_null`). Grad-CAM maps lean toward the centre
of the frame and of the window, and so do the apex and most movement, so a lift
above 1 is expected without any attention to motion. The null scores each clip's
CAM against the regions of the OTHER clips of the same run (same database, same
window placement): ``null_share`` is the mean share over the other clips'
regions, ``null_lift = share / null_share`` (1 = the map finds its own clip's
movement no better than anyone else's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

TOP_PERCENT = 10.0

Regions = Mapping[str, tuple[np.ndarray | None, np.ndarray | None]]  # name -> (pixel mask (H, W), frames (T,))


def motion_energy(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Motion energy of a clip (T, H, W[, 3]) with values in [0, 1].

    Returns the map (H, W): mean absolute difference of consecutive grey frames,
    and the curve (T,): per frame t the mean absolute difference to frame t - 1
    (frame 0 gets 0).
    """
    frames = np.asarray(frames, dtype=np.float32)
    grey = frames.mean(axis=-1) if frames.ndim == 4 else frames
    if grey.ndim != 3 or len(grey) < 2:
        raise ValueError(f"frames: expected (T >= 2, H, W[, 3]), got shape {frames.shape}")
    diff = np.abs(np.diff(grey, axis=0))
    curve = np.concatenate([[0.0], diff.mean(axis=(1, 2))]).astype(np.float32)
    return diff.mean(axis=0), curve


def top_region(energy: np.ndarray, percent: float = TOP_PERCENT) -> np.ndarray:
    """Boolean mask of the ``percent`` % highest-energy pixels (at least one; ties broken by position)."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent={percent}: expected a value in (0, 100]")
    flat = np.asarray(energy, dtype=np.float64).ravel()
    count = max(1, int(round(flat.size * percent / 100.0)))
    order = np.argsort(-flat, kind="stable")[:count]
    mask = np.zeros(flat.size, dtype=bool)
    mask[order] = True
    return mask.reshape(np.shape(energy))


def frames_around(index: int, length: int, half_window: int) -> np.ndarray:
    """Boolean (length,) mask of the frames within +-``half_window`` of ``index`` (clipped to the clip)."""
    positions = np.arange(length)
    return np.abs(positions - int(index)) <= int(half_window)


def localisation(cam: np.ndarray, region: np.ndarray | None = None, frames: np.ndarray | None = None) -> dict:
    """Share of the CAM mass (T, H, W) inside ``region`` (H, W) and ``frames`` (T,), vs a uniform map.

    Returns ``{"share", "uniform", "lift"}``: ``uniform`` is the region's area
    share times the frames' time share (what a constant map would give) and
    ``lift = share / uniform``. A map without mass gives NaN share and lift.
    """
    cam = np.asarray(cam, dtype=np.float64)
    if cam.ndim != 3:
        raise ValueError(f"cam: expected (T, H, W), got shape {cam.shape}")
    length, height, width = cam.shape
    region = np.ones((height, width), bool) if region is None else np.asarray(region, bool)
    frames = np.ones(length, bool) if frames is None else np.asarray(frames, bool)
    if region.shape != (height, width) or frames.shape != (length,):
        raise ValueError(f"region {region.shape} / frames {frames.shape} do not match the CAM {cam.shape}")
    total = cam.sum()
    inside = cam[frames][:, region].sum()
    share = inside / total if total > 0 else float("nan")
    uniform = region.mean() * frames.mean()
    lift = share / uniform if uniform > 0 else float("nan")
    return {"share": float(share), "uniform": float(uniform), "lift": float(lift)}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (NaN when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def clip_regions(
    frames: np.ndarray,
    apex_index: int,
    *,
    top_percent: float = TOP_PERCENT,
    apex_half_window: int | None = None,
    truth_mask: np.ndarray | None = None,
    truth_curve: np.ndarray | None = None,
) -> dict[str, tuple[np.ndarray | None, np.ndarray | None]]:
    """The regions one clip is scored on (module docstring), from its input frames (T, H, W[, 3]) in [0, 1].

    Returns ``{name: (pixel mask (H, W) or None, frame mask (T,) or None)}`` for
    ``motion``, ``apex`` and, when the truth is given, ``truth`` and ``truth_time``
    (left out when the true curve is flat).
    """
    length = len(frames)
    half = max(1, length // 8) if apex_half_window is None else int(apex_half_window)
    energy_map, _ = motion_energy(frames)
    regions = {
        "motion": (top_region(energy_map, top_percent), None),
        "apex": (None, frames_around(apex_index, length, half)),
    }
    if truth_mask is not None:
        regions["truth"] = (np.asarray(truth_mask, bool), None)
    if truth_curve is not None:
        curve = np.asarray(truth_curve, dtype=np.float64)
        if curve.shape != (length,):
            raise ValueError(f"truth_curve: expected ({length},), got {curve.shape}")
        if curve.max() > 0:
            regions["truth_time"] = (None, curve >= 0.5 * curve.max())
    return regions


def score_regions(cam: np.ndarray, regions: Regions) -> dict:
    """``<region>_share``, ``<region>_uniform``, ``<region>_lift`` of one CAM (T, H, W) for each region,
    plus ``motion_truth_iou`` when both regions are present."""
    scores = {}
    if "motion" in regions and "truth" in regions:
        scores["motion_truth_iou"] = iou(regions["motion"][0], regions["truth"][0])
    for name, (region, frame_mask) in regions.items():
        for key, value in localisation(cam, region, frame_mask).items():
            scores[f"{name}_{key}"] = value
    return scores


def score_clip(cam: np.ndarray, frames: np.ndarray, apex_index: int, **options) -> dict:
    """All localisation scores of one clip's CAM (T, H, W) against its input frames (T, H, W[, 3]) in [0, 1]:
    :func:`score_regions` of :func:`clip_regions` (``options`` are its keyword arguments)."""
    return score_regions(cam, clip_regions(frames, apex_index, **options))


def permutation_null(cams: np.ndarray, regions: Sequence[Regions]) -> dict[str, np.ndarray]:
    """Each clip's CAM scored against the other clips' regions (module docstring).

    ``cams`` (N, T, H, W) and one :func:`clip_regions` dict per clip. Returns per
    region name present in at least two clips ``<name>_null_share`` and
    ``<name>_null_lift``, arrays (N,) that are NaN for clips without that region.
    Only purely spatial or purely temporal regions are supported (all of
    :func:`clip_regions`' are), so the N x N shares are two matrix products.
    """
    cams = np.asarray(cams, dtype=np.float64)
    if cams.ndim != 4 or len(cams) != len(regions):
        raise ValueError(f"cams {cams.shape} and {len(regions)} region sets: expected (N, T, H, W) and N")
    n = len(cams)
    total = cams.sum(axis=(1, 2, 3))
    safe = np.where(total > 0, total, np.nan)
    spatial = cams.sum(axis=1).reshape(n, -1) / safe[:, None]  # (N, H*W): each map's mass over pixels
    temporal = cams.sum(axis=(2, 3)) / safe[:, None]  # (N, T): its mass over frames
    out = {}
    for name in sorted({name for clip in regions for name in clip}):
        have = np.array([name in clip for clip in regions])
        if have.sum() < 2:
            continue
        masks = [regions[i][name] for i in np.flatnonzero(have)]
        if all(region is not None and frames is None for region, frames in masks):
            shares = spatial[have] @ np.stack([r.reshape(-1) for r, _ in masks]).astype(np.float64).T
        elif all(region is None and frames is not None for region, frames in masks):
            shares = temporal[have] @ np.stack([f for _, f in masks]).astype(np.float64).T
        else:
            raise ValueError(f"region {name!r}: the null needs a pixel mask or a frame set, not both")
        others = ~np.eye(len(shares), dtype=bool)
        null = np.where(others, shares, 0.0).sum(axis=1) / others.sum(axis=1)
        own = np.diag(shares)
        out[f"{name}_null_share"] = np.full(n, np.nan)
        out[f"{name}_null_lift"] = np.full(n, np.nan)
        out[f"{name}_null_share"][have] = null
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{name}_null_lift"][have] = np.where(null > 0, own / null, np.nan)
    return out
