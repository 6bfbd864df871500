"""The hand-crafted baseline of the paper's Table 4 (Saeed 2021): LGBP, LBP-TOP and FHOFO features + a linear SVM.

Saeed (2021, Pattern Recognition Letters 143) identifies people from
micro-expression clips with appearance (LGBP on the apex frame) and dynamics
(LBP-TOP, FHOFO over the clip) descriptors and an SVM. This module computes
the three descriptors on the same cached clips and split files as SlowFast and
writes a run folder in the same format (``book/formats.md`` section 5), so the
ensemble and results tables treat a baseline run like any other run.

Descriptor settings (:class:`FeatureSettings`, recorded in ``config.yaml``):

* Every frame is converted to grey (OpenCV) and resized to ``side`` x ``side``
  (64) with area interpolation; the face is divided into a ``grid`` x ``grid``
  (4 x 4) grid of blocks. Histograms are L1-normalised per block.
* LBP: scikit-image uniform LBP, P = 8, R = 1 (10 codes: 0..8 uniform, 9 the
  non-uniform ones). Border pixels (within R of any edge, time included) are
  left out, since their neighbours lie outside the image.
* ``lbp_top`` (Zhao & Pietikäinen 2007): LBP codes on every XY slice (one per
  frame), every XT slice (one per row y) and every YT slice (one per column x)
  of the grey volume; per block, one histogram per plane. 4 x 4 x 3 x 10 = 480
  values.
* ``lgbp``: magnitudes of scikit-image Gabor filters on the apex frame,
  3 scales (frequencies 0.25, 0.125, 0.0625 cycles/pixel) x 4 orientations
  (0, 45, 90, 135 degrees), each magnitude rescaled to 0..255, then uniform LBP
  histograms per block: appearance only. 12 x 4 x 4 x 10 = 1920 values.
* ``fhofo`` (Happy & Routray 2017, fuzzy histogram of optical-flow
  orientations): OpenCV Farnebäck flow between consecutive frames; each flow
  vector votes for its orientation only (the magnitude is ignored, as in
  FHOFO, since micro-movement intensity varies between clips and people), with
  a triangular fuzzy membership split linearly between the two nearest of 8
  orientation bins centred on 0, 45, ..., 315 degrees. Angles are in image
  coordinates (x right, y down): 0 degrees = motion to the right, 90 = down.
  Vectors shorter than ``min_flow`` (0.02) pixels have no reliable orientation
  and do not vote; nor does a border of ``flow_border`` (4) pixels, where
  Farnebäck's estimates are unreliable (identical frames give flow of up to
  ~1 pixel there, under 0.02 inside). Votes are accumulated over all frame
  pairs per block.
  4 x 4 x 8 = 128 values.
* ``lbp-top-xtyt``: LBP-TOP's XT and YT planes alone (the XY plane is the
  frames' appearance), sliced from the cached LBP-TOP vector. 4 x 4 x 2 x bins.

What each feature set can see is in ``FEATURE_SEES`` (appearance,
appearance+motion, motion): a feature set is ``motion`` only when it is blind
to a still clip, i.e. gives every still clip the same vector whatever the face
(FHOFO: no flow, no votes). LBP-TOP's XT and YT planes are its motion part but
are not blind to a still clip: where nothing moves, an XT code still compares a
pixel with its left and right neighbours (its T neighbours equal it), so the
planes keep a 1-D texture of the face and count as ``appearance+motion``.
Motion descriptors still see appearance through how things move: sensor
noise makes flow along the face's edges, whose orientations FHOFO counts
(on the synthetic twins corpus with no movement habit FHOFO finds the face
groups, see ``mlib.experiments.positive_controls``).

Whether movement identifies the subjects is decided by
``motion_feature_verdict``: from motion-only feature sets against chance,
never from comparing descriptors that see appearance, and only where every
subject has the same face.

Classifier: ``StandardScaler`` then a linear ``SVC`` (``class_weight`` none).
C is chosen on the validation part (largest val rank-1, then rank-5, then the
smaller C) from ``C_GRID`` when the split has one, else C = 1; the model is
fitted on the train part only, like SlowFast. Probabilities: scikit-learn 1.9
deprecates ``SVC(probability=True)`` (libsvm's Platt scaling), and Platt's
one-vs-rest sigmoids need several clips per class, which the small databases do
not have (SAMM: ~2.4 training clips per subject). We use temperature scaling
(``CalibratedClassifierCV(method="temperature", ensemble=False)``): a single
parameter fitted on out-of-fold decisions of ``min(3, smallest class)``
stratified folds, which keeps the SVM's own ranking of the subjects. When a
subject has only one training clip no fold can hold it out, and the
probabilities are the softmax of the decision function (recorded as
calibration ``none`` in ``metrics.json``).

Features are computed once per clip and descriptor and kept in
``<cache>/features/<descriptor>-<hash>.npz`` (atomic; clips missing from it are
added), so every feature set and SVM setting reuses them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.special import softmax
from skimage.feature import local_binary_pattern
from skimage.filters import gabor_kernel
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from tqdm import tqdm

from mlib.core import io
from mlib.core.config import config_hash
from mlib.core.metrics import PROBA_PREFIX, predicted_labels, summarize
from mlib.core.verdict import Verdict, rule
from mlib.preprocess import load_clip, load_index, window_position

# Bump when a change to the code alters the descriptors, so cached features are not reused.
FEATURE_VERSION = 1

DESCRIPTORS = ("lgbp", "lbp_top", "fhofo")
"""The descriptors computed per clip and cached."""
LBP_TOP_PLANES = ("XY", "XT", "YT")
PLANE_PARTS = {"lbp_top_xtyt": ("lbp_top", ("XT", "YT"))}
"""Feature parts sliced from a cached descriptor: part -> (descriptor, LBP-TOP planes kept)."""
FEATURE_SETS = {
    "lgbp": ("lgbp",),
    "lbp-top": ("lbp_top",),
    "lbp-top-xtyt": ("lbp_top_xtyt",),
    "fhofo": ("fhofo",),
    "lbp-top+fhofo": ("lbp_top", "fhofo"),
    "all": ("lgbp", "lbp_top", "fhofo"),
}
"""Feature set -> its parts (descriptors or ``PLANE_PARTS``), concatenated in this order."""
APPEARANCE, BOTH, MOTION = "appearance", "appearance+motion", "motion"
FEATURE_SEES = {
    "lgbp": APPEARANCE,  # Gabor + LBP of the apex frame
    "lbp-top": BOTH,  # XY: each frame's texture; XT, YT: its change over time
    "lbp-top-xtyt": BOTH,  # the motion planes, but a still face leaves 1-D texture codes in them
    "fhofo": MOTION,  # flow orientations: a still clip gives no votes
    "lbp-top+fhofo": BOTH,
    "all": BOTH,
}
"""What each feature set can see (see the module docstring for the rule)."""
# scikit-image LBP methods and their number of codes for P points: "uniform" is the
# rotation-invariant uniform LBP (riu2: the count of set bits, P + 1 codes, plus one for
# all non-uniform patterns); "nri_uniform" keeps each uniform pattern's rotation (u2).
LBP_METHODS = {"uniform": lambda p: p + 2, "nri_uniform": lambda p: p * (p - 1) + 3}
CALIBRATION_FOLDS = 3
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
FIXED_C = 1.0
MODEL_NAME = "baseline-svm"


class BaselineError(ValueError):
    """Bad input to the baseline (unknown feature set, a clip too short for the descriptors)."""


@dataclass(frozen=True)
class FeatureSettings:
    """What shapes the descriptors (part of the feature-cache key and of config.yaml)."""

    side: int = 64
    grid: int = 4
    lbp_points: int = 8
    lbp_radius: int = 1
    lbp_method: str = "nri_uniform"  # LBP-TOP's 59 codes (Zhao & Pietikainen 2007); "uniform" merges mirrored
    #                                  patterns and so cannot tell opposite motion directions apart
    gabor_frequencies: tuple[float, ...] = (0.25, 0.125, 0.0625)
    gabor_orientations: int = 4
    flow_bins: int = 8
    min_flow: float = 0.02
    flow_border: int = 4

    def __post_init__(self):
        if self.lbp_method not in LBP_METHODS:
            raise BaselineError(f"lbp_method {self.lbp_method!r}: expected one of {sorted(LBP_METHODS)}")

    @property
    def lbp_bins(self) -> int:
        """Number of codes: P + 2 for rotation-invariant uniform, P (P - 1) + 3 for non-rotation-invariant."""
        return LBP_METHODS[self.lbp_method](self.lbp_points)


# ---------------------------------------------------------------- descriptors


def grey_frames(clip: np.ndarray, side: int) -> np.ndarray:
    """uint8 RGB ``(T, S, S, 3)`` (or one ``(S, S, 3)`` frame) -> uint8 grey ``(T, side, side)``."""
    clip = np.asarray(clip)
    if clip.ndim == 3:
        clip = clip[None]
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise BaselineError(f"expected uint8 RGB frames (T, S, S, 3), got {clip.dtype} {clip.shape}")
    return np.stack([
        cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (side, side), interpolation=cv2.INTER_AREA)
        for frame in clip
    ])  # fmt: skip


def block_ids(height: int, width: int, grid: int) -> np.ndarray:
    """``(height, width)`` map of block numbers 0..grid*grid-1, row-major, blocks as even as possible."""
    rows = np.repeat(np.arange(grid), [len(part) for part in np.array_split(np.arange(height), grid)])
    cols = np.repeat(np.arange(grid), [len(part) for part in np.array_split(np.arange(width), grid)])
    return rows[:, None] * grid + cols[None, :]


def block_histograms(codes: np.ndarray, ids: np.ndarray, n_blocks: int, n_bins: int, weights=None) -> np.ndarray:
    """Per-block L1-normalised histograms ``(n_blocks, n_bins)`` of integer ``codes`` (..., H, W)."""
    flat = (np.broadcast_to(ids, codes.shape) * n_bins + codes).ravel()
    counts = np.bincount(flat, weights=None if weights is None else np.ravel(weights), minlength=n_blocks * n_bins)
    counts = counts.reshape(n_blocks, n_bins).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _uniform_lbp(image: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    return local_binary_pattern(image, settings.lbp_points, settings.lbp_radius, method=settings.lbp_method).astype(
        np.int64
    )


def lbp_top_planes(grey: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """LBP-TOP histograms ``(blocks, 3, bins)`` (planes XY, XT, YT) of a grey volume ``(T, H, W)``."""
    r = settings.lbp_radius
    t, h, w = grey.shape
    if min(t, h, w) <= 2 * r:
        raise BaselineError(f"LBP-TOP needs more than {2 * r} frames and pixels per side, got a {grey.shape} volume")
    xy = np.stack([_uniform_lbp(frame, settings) for frame in grey])  # (T, H, W)
    xt = np.stack([_uniform_lbp(grey[:, y, :], settings) for y in range(h)], axis=1)  # (T, W) per row y
    yt = np.stack([_uniform_lbp(grey[:, :, x], settings) for x in range(w)], axis=2)  # (T, H) per column x
    inner = (slice(r, t - r), slice(r, h - r), slice(r, w - r))
    ids = block_ids(h - 2 * r, w - 2 * r, settings.grid)
    n_blocks = settings.grid**2
    return np.stack(
        [block_histograms(codes[inner], ids, n_blocks, settings.lbp_bins) for codes in (xy, xt, yt)], axis=1
    )


def lbp_top(clip: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """LBP-TOP feature vector of a uint8 RGB clip ``(T, S, S, 3)``: blocks x (XY, XT, YT) x uniform codes."""
    return lbp_top_planes(grey_frames(clip, settings.side), settings).ravel()


def gabor_magnitudes(image: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> list[np.ndarray]:
    """Gabor magnitude responses of a grey image, scales x orientations, each rescaled to uint8 0..255.

    The kernels are scikit-image's ``gabor_kernel`` (as ``skimage.filters.gabor``
    uses); OpenCV's ``filter2D`` applies them (with reflected borders, as
    ``gabor``) about a thousand times faster than ``gabor``'s direct convolution
    for the large low-frequency kernels. Correlation instead of convolution only
    flips the sign of the imaginary part, so the magnitudes are the same.
    """
    image = image.astype(np.float64) / 255.0
    responses = []
    for frequency in settings.gabor_frequencies:
        for k in range(settings.gabor_orientations):
            kernel = gabor_kernel(frequency, theta=k * math.pi / settings.gabor_orientations)
            real, imag = (
                cv2.filter2D(image, cv2.CV_64F, np.ascontiguousarray(part), borderType=cv2.BORDER_REFLECT)
                for part in (kernel.real, kernel.imag)
            )
            magnitude = np.hypot(real, imag)
            top = magnitude.max()
            scaled = magnitude * (255.0 / top) if top > 0 else magnitude
            responses.append(np.round(scaled).astype(np.uint8))
    return responses


def lgbp(apex_frame: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """LGBP feature vector of one uint8 RGB frame ``(S, S, 3)``: Gabor responses x blocks x uniform codes."""
    grey = grey_frames(apex_frame, settings.side)[0]
    r = settings.lbp_radius
    ids = block_ids(grey.shape[0] - 2 * r, grey.shape[1] - 2 * r, settings.grid)
    histograms = [
        block_histograms(_uniform_lbp(response, settings)[r:-r, r:-r], ids, settings.grid**2, settings.lbp_bins)
        for response in gabor_magnitudes(grey, settings)
    ]  # fmt: skip
    return np.stack(histograms).ravel()


def optical_flows(grey: np.ndarray) -> np.ndarray:
    """Farnebäck flow ``(T-1, H, W, 2)`` (dx, dy in pixels) between consecutive grey frames."""
    return np.stack([
        cv2.calcOpticalFlowFarneback(prev, nxt, None, pyr_scale=0.5, levels=3, winsize=9, iterations=3,
                                     poly_n=5, poly_sigma=1.1, flags=0)
        for prev, nxt in zip(grey[:-1], grey[1:])
    ])  # fmt: skip


def fuzzy_orientation_votes(
    flow: np.ndarray, bins: int, min_flow: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each flow vector's two neighbouring orientation bins and their triangular memberships.

    Returns ``(lower_bin, upper_bin, lower_weight, upper_weight)``, each shaped like the
    flow without its last axis; vectors shorter than ``min_flow`` get zero weight.
    """
    angle = np.mod(np.arctan2(flow[..., 1], flow[..., 0]), 2 * math.pi)
    position = angle / (2 * math.pi / bins)
    lower = np.floor(position)
    upper_weight = position - lower
    moving = np.hypot(flow[..., 0], flow[..., 1]) >= min_flow
    lower = lower.astype(np.int64) % bins
    return lower, (lower + 1) % bins, (1.0 - upper_weight) * moving, upper_weight * moving


def fhofo(clip: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """FHOFO feature vector of a uint8 RGB clip ``(T, S, S, 3)``: blocks x orientation bins (orientation only)."""
    grey = grey_frames(clip, settings.side)
    if len(grey) < 2:
        raise BaselineError(f"FHOFO needs at least 2 frames, got {len(grey)}")
    b = settings.flow_border
    flow = optical_flows(grey)[:, b : grey.shape[1] - b, b : grey.shape[2] - b]
    lower, upper, w_lower, w_upper = fuzzy_orientation_votes(flow, settings.flow_bins, settings.min_flow)
    ids = np.broadcast_to(block_ids(*flow.shape[1:3], settings.grid), lower.shape)
    n_blocks, bins = settings.grid**2, settings.flow_bins
    counts = np.bincount((ids * bins + lower).ravel(), weights=w_lower.ravel(), minlength=n_blocks * bins)
    counts += np.bincount((ids * bins + upper).ravel(), weights=w_upper.ravel(), minlength=n_blocks * bins)
    counts = counts.reshape(n_blocks, bins)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0).ravel()


# ---------------------------------------------------------------- clips and the feature cache


def clip_descriptors(clip: np.ndarray, apex: int, names: Sequence[str], settings: FeatureSettings) -> dict:
    """``{name: (vector, seconds)}`` for the requested descriptors of one clip."""
    out = {}
    for name in names:
        started = time.perf_counter()
        if name == "lgbp":
            vector = lgbp(clip[apex], settings)
        elif name == "lbp_top":
            vector = lbp_top(clip, settings)
        elif name == "fhofo":
            vector = fhofo(clip, settings)
        else:
            raise BaselineError(f"unknown descriptor {name!r}; known: {DESCRIPTORS}")
        out[name] = (vector.astype(np.float32), time.perf_counter() - started)
    return out


def descriptors_of(features: str) -> tuple[str, ...]:
    """The cached descriptors a feature set needs, in first-use order."""
    if features not in FEATURE_SETS:
        raise BaselineError(f"unknown feature set {features!r}; choose one of {sorted(FEATURE_SETS)}")
    names = [PLANE_PARTS[part][0] if part in PLANE_PARTS else part for part in FEATURE_SETS[features]]
    return tuple(dict.fromkeys(names))


def part_matrix(
    part: str, matrices: Mapping[str, np.ndarray], settings: FeatureSettings = FeatureSettings()
) -> np.ndarray:
    """One part of a feature set, ``(clips, dim)``: a descriptor's matrix, or its LBP-TOP planes in ``PLANE_PARTS``."""
    if part not in PLANE_PARTS:
        return matrices[part]
    descriptor, planes = PLANE_PARTS[part]
    volume = matrices[descriptor].reshape(
        len(matrices[descriptor]), settings.grid**2, len(LBP_TOP_PLANES), settings.lbp_bins
    )
    return volume[:, :, [LBP_TOP_PLANES.index(p) for p in planes]].reshape(len(volume), -1)


def feature_set_matrix(
    cache: str | Path, clip_keys: Sequence[str], features: str, *, settings: FeatureSettings = FeatureSettings(),
    workers: int = 2, progress: bool = True,
) -> tuple[np.ndarray, dict]:  # fmt: skip
    """A feature set's vectors ``(len(clip_keys), dim)`` float64 (its parts side by side) and the timings
    of :func:`compute_features`; the baseline SVM and the open-set scores (``mlib.openset``) share it."""
    matrices, timing = compute_features(cache, clip_keys, descriptors_of(features), settings=settings,
                                        workers=workers, progress=progress)  # fmt: skip
    x = np.concatenate([part_matrix(n, matrices, settings) for n in FEATURE_SETS[features]], axis=1)
    return x.astype(np.float64), timing


def _clip_task(cache: str, row: dict, names: tuple[str, ...], settings: FeatureSettings) -> tuple[str, dict]:
    clip = load_clip(cache, row)
    return row["clip_key"], clip_descriptors(clip, window_position(row, clip.shape[0], row["apex"]), names, settings)


def feature_file(cache: str | Path, name: str, settings: FeatureSettings) -> Path:
    """``<cache>/features/<descriptor>-<hash>.npz``; the hash covers the settings and FEATURE_VERSION."""
    key = config_hash({"descriptor": name, "settings": asdict(settings), "version": FEATURE_VERSION})
    return Path(cache) / "features" / f"{name.replace('_', '-')}-{key}.npz"


def _read_feature_file(path: Path) -> dict[str, tuple[np.ndarray, float]]:
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            return {
                key: (vector, float(sec))
                for key, vector, sec in zip(data["clip_keys"], data["features"], data["seconds"])
            }
    except (OSError, KeyError, ValueError) as exc:
        raise BaselineError(f"{path}: unreadable feature cache ({exc}); delete it to recompute") from exc


def _write_feature_file(path: Path, stored: dict[str, tuple[np.ndarray, float]]) -> None:
    keys = sorted(stored)
    with io.atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                clip_keys=np.array(keys, dtype=str),
                features=np.stack([stored[k][0] for k in keys]),
                seconds=np.array([stored[k][1] for k in keys]),
            )


def compute_features(
    cache: str | Path, clip_keys: Sequence[str], names: Sequence[str], *, settings: FeatureSettings = FeatureSettings(),
    workers: int = 2, progress: bool = True,
) -> tuple[dict[str, np.ndarray], dict]:  # fmt: skip
    """Descriptor matrices ``{name: (len(clip_keys), dim)}`` in ``clip_keys`` order, from the feature cache.

    Clips missing from a descriptor's cache file are computed (``workers``
    processes) and added to it. Also returns timings: mean seconds per clip of
    each descriptor (as measured when computed) and this call's wall time.
    """
    cache = Path(cache)
    unknown = [n for n in names if n not in DESCRIPTORS]
    if unknown:
        raise BaselineError(f"unknown descriptor(s) {unknown}; known: {DESCRIPTORS}")
    files = {name: feature_file(cache, name, settings) for name in names}
    stored = {name: _read_feature_file(path) for name, path in files.items()}
    missing = [k for k in clip_keys if any(k not in stored[n] for n in names)]
    started = time.perf_counter()
    if missing:
        rows = load_index(cache).set_index("clip_key", drop=False)
        absent = sorted(set(missing) - set(rows.index))
        if absent:
            raise BaselineError(f"{cache / 'index.csv'}: no row for clip(s) {absent[:5]}")
        records = [rows.loc[k].to_dict() for k in missing]
        jobs = Parallel(n_jobs=max(1, int(workers)), return_as="generator")(
            delayed(_clip_task)(str(cache), record, tuple(names), settings) for record in records
        )
        for key, found in tqdm(jobs, total=len(records), desc="baseline features", unit="clip", disable=not progress):
            for name, value in found.items():
                stored[name][key] = value
        for name in names:
            _write_feature_file(files[name], stored[name])
    matrices = {name: np.stack([stored[name][k][0] for k in clip_keys]) for name in names}
    timing = {
        "seconds_per_clip": {name: float(np.mean([stored[name][k][1] for k in clip_keys])) for name in names},
        "computed_clips": len(missing),
        "wall_seconds": time.perf_counter() - started,
        "workers": int(workers),
    }
    return matrices, timing


# ---------------------------------------------------------------- the classifier


def fit_svm(x: np.ndarray, y: np.ndarray, c: float, seed: int = 0) -> tuple[object, str]:
    """Fit StandardScaler + linear SVC on ``(x, y)`` with calibrated probabilities; return (model, calibration).

    Temperature scaling (``CalibratedClassifierCV(method="temperature",
    ensemble=False)``): one temperature for softmax(decision_function / T), fitted
    on out-of-fold decisions of ``min(3, smallest class size)`` stratified folds;
    the final SVM is fitted on all of ``(x, y)``, so the probabilities rank the
    classes exactly as the SVM's decision function does. When a subject has a
    single training clip no fold split can hold it out, and the probabilities are
    softmax(decision_function) with T = 1 (calibration ``none``).
    """
    svm = make_pipeline(StandardScaler(), SVC(kernel="linear", C=c))
    folds = min(CALIBRATION_FOLDS, int(np.unique(y, return_counts=True)[1].min()))
    if folds < 2:
        return svm.fit(x, y), "none"
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = CalibratedClassifierCV(svm, method="temperature", cv=splitter, ensemble=False)
    return model.fit(x, y), f"temperature ({folds}-fold)"


def svm_probabilities(model, calibration: str, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` in ``model.classes_`` order (see ``fit_svm``)."""
    if calibration != "none":
        return model.predict_proba(x)
    scores = model.decision_function(x)
    if scores.ndim == 1:  # two classes: a positive score favours classes_[1]
        scores = np.stack([-scores, scores], axis=1) / 2
    return softmax(scores, axis=1)


def _scores(model, calibration: str, x: np.ndarray, subjects: Sequence[str], classes: list[str], seed: int) -> dict:
    return summarize(list(subjects), svm_probabilities(model, calibration, x), classes, seed=seed)


def choose_c(
    train_x, train_y, val_x, val_y, classes: list[str], grid: Sequence[float] = C_GRID, seed: int = 0
) -> tuple[float, list[dict]]:
    """The C with the largest val rank-1 (then rank-5, then the smaller C), and every C's val scores."""
    search = []
    for c in grid:
        model, calibration = fit_svm(train_x, train_y, c, seed)
        found = _scores(model, calibration, val_x, val_y, classes, seed)
        search.append({"C": float(c), "val_rank1": found["rank1"], "val_rank5": found["rank5"]})
    best = max(search, key=lambda s: (s["val_rank1"], s["val_rank5"], -s["C"]))
    return best["C"], search


# ---------------------------------------------------------------- a run


def baseline_settings(
    cache: str | Path, split: str | Path, features: str, settings: FeatureSettings, seed: int
) -> dict:
    """The resolved settings written to config.yaml (and hashed into the run folder's name)."""
    if features not in FEATURE_SETS:
        raise BaselineError(f"unknown feature set {features!r}; choose one of {sorted(FEATURE_SETS)}")
    return {
        "model": MODEL_NAME,
        "baseline": {
            "features": features,
            "descriptors": list(FEATURE_SETS[features]),
            "feature_settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
            "feature_version": FEATURE_VERSION,
            "svm": {"kernel": "linear", "scaler": "standard", "probability": "temperature scaling (CalibratedClassifierCV), softmax of the decision function when a subject has one training clip",
                    "calibration_folds": CALIBRATION_FOLDS,
                    "class_weight": None, "c_grid": list(C_GRID), "fixed_c": FIXED_C, "seed": seed},
        },
        "run": {"cache": str(cache), "split": str(split)},
    }  # fmt: skip


def run_baseline(
    cache: str | Path, split: str | Path, out: str | Path, *, features: str = "all", workers: int = 2,
    progress: bool = True, name: str | None = None, settings: FeatureSettings = FeatureSettings(), seed: int = 0,
) -> Path:  # fmt: skip
    """Fit and evaluate the baseline on one cache and split; return the run folder.

    The folder is ``out/<name>``, by default ``baseline-<features>-<hash>`` with
    the hash over the baseline settings, the cache's settings.json and the split
    file's content. A folder holding ``metrics.json`` is finished and skipped.
    """
    from mlib.preprocess.cache_settings import read_cache_settings
    from mlib.training.clips import load_clip_table

    cfg = baseline_settings(cache, split, features, settings, seed)
    if name is None:
        key = config_hash({"baseline": cfg["baseline"], "cache_settings": read_cache_settings(cache),
                           "split": Path(split).read_text()})  # fmt: skip
        name = f"baseline-{features}-{key}"
    run_dir = Path(out) / name
    if (run_dir / "metrics.json").is_file():
        if progress:
            print(f"{run_dir}: finished (metrics.json present); skipping")
        return run_dir
    table = load_clip_table(cache, split)
    clips, classes = table.clips, table.classes
    x, timing = feature_set_matrix(
        cache, list(clips["clip_key"]), features, settings=settings, workers=workers, progress=progress
    )
    y = clips["subject"].to_numpy()
    parts = {part: (clips["part"] == part).to_numpy() for part in ("train", "val", "test")}
    if not parts["test"].any():
        raise BaselineError(f"{split}: no test clips")
    io.write_yaml(run_dir / "config.yaml", cfg)

    started = time.perf_counter()
    if parts["val"].any():
        c, search = choose_c(x[parts["train"]], y[parts["train"]], x[parts["val"]], y[parts["val"]], classes, seed=seed)
        selection = "val"
    else:
        c, search, selection = FIXED_C, [], "fixed"
    model, calibration = fit_svm(x[parts["train"]], y[parts["train"]], c, seed)
    fit_seconds = time.perf_counter() - started
    model_classes = [str(k) for k in model.classes_]
    if model_classes != classes:
        raise BaselineError(f"SVM classes {model_classes} differ from the split's training subjects {classes}")

    frames = []
    metrics = {"model": MODEL_NAME, "features": list(FEATURE_SETS[features]), "feature_set": features, "selection": selection,
               "C": c, "c_search": search, "calibration": calibration, "classes": classes, "feature_dim": int(x.shape[1]),
               "feature_timing": timing, "fit_seconds": fit_seconds}  # fmt: skip
    for part in ("val", "test"):
        rows = parts[part]
        keys, subjects = clips["clip_key"].to_numpy()[rows], y[rows]
        proba = svm_probabilities(model, calibration, x[rows]) if rows.any() else np.zeros((0, len(classes)))
        frame = pd.DataFrame({"clip_key": keys, "subject": subjects, "part": part,
                              "predicted": predicted_labels(proba, classes) if rows.any() else []})  # fmt: skip
        frames.append(pd.concat([frame, pd.DataFrame(proba, columns=[f"{PROBA_PREFIX}{k}" for k in classes])], axis=1))
        if rows.any():
            metrics[part] = summarize(list(subjects), proba, classes, seed=seed)
        else:
            metrics[part] = {"rank1": None, "rank5": None, "n_clips": 0, "n_subjects": 0}
    io.write_csv(run_dir / "predictions.csv", pd.concat(frames, ignore_index=True))
    io.write_json(run_dir / "metrics.json", metrics)
    if progress:
        print(f"{run_dir}: test rank-1 {metrics['test']['rank1']:.3f} on {metrics['test']['n_clips']} clips "
              f"({features}, C={c}, {selection})")  # fmt: skip
    return run_dir


def results_table(run_dirs: Sequence[str | Path]) -> pd.DataFrame:
    """One row per finished baseline run: feature set, what it sees (``kind``, from ``FEATURE_SEES``), test/val
    rank-1 (with its 95 % interval, subjects then clips), rank-5, C."""
    rows = []
    for run_dir in map(Path, run_dirs):
        metrics_file = run_dir / "metrics.json"
        if not metrics_file.is_file():
            raise BaselineError(f"{run_dir}: not a finished run (no metrics.json)")
        found = json.loads(metrics_file.read_text())
        if found.get("model") != MODEL_NAME:
            raise BaselineError(f"{metrics_file}: not a baseline run (model {found.get('model')!r})")
        test, val = found["test"], found["val"]
        rows.append({
            "features": found["feature_set"], "kind": FEATURE_SEES[found["feature_set"]],
            "test_rank1": test["rank1"], "test_ci_low": test["rank1_ci95"][0], "test_ci_high": test["rank1_ci95"][1],
            "test_rank5": test["rank5"], "val_rank1": val["rank1"], "chance": test["chance"],
            "test_clips": test["n_clips"], "C": found["C"], "selection": found["selection"],
            "calibration": found["calibration"], "feature_dim": found["feature_dim"],
            "seconds_per_clip": sum(found["feature_timing"]["seconds_per_clip"].values()), "run": str(run_dir),
        })  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- what the results say about motion


MOTION_OUTCOMES = ("motion identifies", "above chance, appearance not excluded", "undecided", "no motion features")


@rule(*MOTION_OUTCOMES)
def motion_feature_verdict(results: pd.DataFrame, *, appearance_shared: bool = False, page: str = "") -> Verdict:
    """What the baseline results say about whether movement identifies the subjects.

    ``results`` is ``results_table``'s output (columns ``features``,
    ``test_rank1``, ``test_ci_low``, ``test_ci_high``, ``chance``). Only feature
    sets that see motion alone (``FEATURE_SEES`` == ``motion``) are read, each
    against chance; descriptors that see appearance are never compared with
    each other or with motion ones (LBP-TOP beating LGBP says nothing about
    motion).

    * No motion-only feature set: nothing can be said about motion.
    * Every motion interval reaches chance: undecided. Features at chance do not
      show that movement carries no identity (the descriptor may not see it; a
      positive control tells which).
    * A motion interval wholly above chance: movement identifies the subjects
      only if ``appearance_shared`` (every subject has the same face, as in the
      synthetic motion-only corpus). Otherwise appearance is not excluded:
      a motion descriptor still sees the face through how noise moves along its
      edges (on the synthetic twins corpus with no movement habit, FHOFO finds
      the face groups; see ``mlib.experiments.positive_controls``).

    The evidence is the sentence; ``numbers["rows"]`` the motion feature sets' lines it rests on.
    """
    missing = {"features", "test_rank1", "test_ci_low", "test_ci_high", "chance"} - set(results.columns)
    if missing:
        raise BaselineError(f"motion_feature_verdict: the results table lacks column(s) {sorted(missing)}")
    unknown = sorted(set(results["features"]) - set(FEATURE_SEES))
    if unknown:
        raise BaselineError(f"motion_feature_verdict: unknown feature set(s) {unknown}; known: {sorted(FEATURE_SEES)}")
    motion = results[results["features"].map(FEATURE_SEES) == MOTION]
    if motion.empty:
        return Verdict(
            "no motion features",
            (
                "No motion-only feature set was run (motion-only: "
                + ", ".join(k for k, v in FEATURE_SEES.items() if v == MOTION)
                + "), so these results say nothing about whether movement identifies the subjects: the others see appearance."
            ),
            page,
        )
    lines = tuple(
        f"{r.features}: rank-1 {r.test_rank1:.3f} (95 % CI {r.test_ci_low:.3f}-{r.test_ci_high:.3f}), "
        f"chance {r.chance:.3f}"
        for r in motion.itertuples()
    )
    above = motion[motion["test_ci_low"] > motion["chance"]]
    if above.empty:
        return Verdict(
            "undecided",
            (
                "Cannot decide whether movement identifies the subjects: every motion-only feature set's interval "
                "reaches chance. Either the movement carries no identity here or these descriptors do not see it; "
                "only a positive control (a corpus where movement is known to identify) tells the two apart."
            ),
            page,
            {"rows": lines},
        )
    found = "; ".join(
        f"{r.features} {r.test_rank1:.3f} (95 % CI {r.test_ci_low:.3f}-{r.test_ci_high:.3f}) "
        f"against chance {r.chance:.3f}"
        for r in above.itertuples()
    )
    if appearance_shared:
        return Verdict(
            "motion identifies", f"Movement alone identifies the subjects above chance: {found}.", page, {"rows": lines}
        )
    return Verdict(
        "above chance, appearance not excluded",
        (
            f"Motion-only features identify the subjects above chance ({found}), but the subjects' faces differ and "
            "motion descriptors still see a face through how noise moves along its edges, so this does not show "
            "that movement identifies them; a control without movement identity (shuffled or static input) is needed."
        ),
        page,
        {"rows": lines},
    )


# ---------------------------------------------------------------- command line
