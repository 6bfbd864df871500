"""Which of a cached window's W frames feed the model: ``data.sampling: window | pyslowfast``.

``window`` (this study): ``T`` indices ``round(linspace(0, W - 1, T))`` spread over
the whole window; the Slow pathway gets every alpha-th of them.

``pyslowfast``: the indices the original code's models saw. The authors trained
with PySlowFast (their copy matches facebookresearch/SlowFast of August 2021; read
at commit 0f5d5323ae6cd750d4f890150fce37e8ac2aa887, 2021-08-24) on each 64-frame
window written as a 200 fps video. The arithmetic, from that commit:

- ``slowfast/datasets/decoder.py``, ``decode``: ``clip_sz = sampling_rate *
  num_frames / target_fps * fps``, the span of the video a clip covers at the
  source frame rate (DATA.TARGET_FPS default 30, ``slowfast/config/defaults.py``).
- ``get_start_end_idx(video_size, clip_size, clip_idx, num_clips)``: ``delta =
  max(video_size - clip_size, 0)``; training (clip_idx -1): ``start =
  random.uniform(0, delta)``; test view ``k`` of ``num_clips``
  (TEST.NUM_ENSEMBLE_VIEWS, default 10; DATA.USE_OFFSET_SAMPLING default False):
  ``start = delta * k / num_clips``; ``end = start + clip_size - 1``.
- ``temporal_sampling``: ``torch.linspace(start, end, num_frames)``, clamped to
  ``[0, video_size - 1]``, ``.long()`` (truncation).
- ``slowfast/datasets/utils.py``, ``pack_pathway_output``: the Slow pathway takes
  the Fast frames at positions ``torch.linspace(0, T - 1, T // ALPHA).long()``.

The original's config (KayTuval/PersonRecognition_using_Facial_MicroExpressions
at 7b05a76f967174ab89765d3463ff915a349b5cac,
``SlowFastCode/configs/SLOWFAST_8x8_R50_stepwise_multigrid_SMIC.yaml``, the other
databases' alike) sets NUM_FRAMES 64, SAMPLING_RATE 2 and no TARGET_FPS, so a clip
spans 64 x 2 / 30 x 200 = 853.3 frames of a 64-frame video: start 0, the Fast
pathway gets window positions [0, 13, 27, 40, 54] and then 63 fifty-nine times,
the Slow pathway (``original_slow_indices``) at alpha 4 [0, 54] and then 63
fourteen times, at alpha 8 [0] and 63 seven times, at alpha 16 (the paper's SMIC
and Table 3 models) [0, 63, 63, 63]: two distinct frames. The window's apex
(position 32) is never seen.

We follow the decode-everything path of ``decode`` (the sampled window is the
whole cached array). The original decoded selectively with PyAV (timestamps of
``start``..``end``, then ``linspace(0, clip_sz - 1, T)`` over what was decoded);
both give the same indices whenever the window is no longer than the span
(``delta = 0``), as for every window at the original's settings. Evaluation uses
one test view, the middle one (``k = views // 2``): all views coincide when
``delta = 0``, so it equals the original's average over views there.
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLINGS = ("window", "pyslowfast")
VIDEO_FPS = 200  # the original wrote every window as a 200 fps video (book/original-code.md)
TARGET_FPS = 30  # PySlowFast DATA.TARGET_FPS default; the original's configs leave it unset
TEST_VIEWS = 10  # PySlowFast TEST.NUM_ENSEMBLE_VIEWS default; the original's configs leave it unset


def window_indices(window: int, frames: int) -> np.ndarray:
    """This study's sampling: ``frames`` indices spread evenly over the window (both ends included)."""
    return np.round(np.linspace(0, window - 1, frames)).astype(np.int64)


def clip_span(frames: int, sampling_rate: int, target_fps: float = TARGET_FPS, video_fps: float = VIDEO_FPS) -> float:
    """PySlowFast's ``clip_sz``: how many source frames one clip of ``frames`` samples covers."""
    return sampling_rate * frames / target_fps * video_fps


def start_range(window: int, span: float) -> float:
    """``delta`` of ``get_start_end_idx``: the latest start; 0 when the span covers the whole window."""
    return max(window - span, 0)


def view_start(window: int, span: float, view: int, views: int = TEST_VIEWS) -> float:
    """Start of test view ``view`` of ``views`` (``delta * view / views``, no offset sampling)."""
    return start_range(window, span) * view / views


def fast_indices(window: int, frames: int, span: float, start: float = 0.0) -> np.ndarray:
    """``temporal_sampling`` for one clip: ``torch.linspace(start, start + span - 1, frames)`` clamped to
    the window and truncated (torch's own linspace, so float32 rounding matches the decoder's)."""
    points = torch.linspace(float(start), float(start) + span - 1, frames)
    return torch.clamp(points, 0, window - 1).long().numpy()


def slow_positions(frames: int, alpha: int) -> np.ndarray:
    """``pack_pathway_output``: positions in the Fast input that the Slow pathway takes."""
    return torch.linspace(0, frames - 1, frames // alpha).long().numpy()


def original_slow_indices(alpha: int, window: int = 64, frames: int = 64, sampling_rate: int = 2) -> np.ndarray:
    """The window positions the original's Slow pathway saw at ``alpha`` (its settings: 64-frame windows as
    200 fps videos, NUM_FRAMES 64, SAMPLING_RATE 2, TARGET_FPS 30; start 0 since the span covers the window)."""
    return fast_indices(window, frames, clip_span(frames, sampling_rate))[slow_positions(frames, alpha)]
