"""PySlowFast's frame sampling (mlib.inputs.sampling), the input controls (mlib.inputs.variants) and
which frames each SlowFast pathway sees in training."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mlib.datasets.window import window_position
from mlib.inputs import InputPlan
from mlib.inputs.sampling import clip_span, fast_indices, original_slow_indices, slow_positions, start_range, view_start
from mlib.inputs.variants import DIFFERENCE_ZERO, frame_differences, shuffle_order

# -- a line-by-line transcription of facebookresearch/SlowFast 0f5d5323 (2021-08-24),
#    slowfast/datasets/decoder.py (get_start_end_idx, temporal_sampling, decode's tail)
#    and slowfast/datasets/utils.py (pack_pathway_output)


def _get_start_end_idx(video_size, clip_size, clip_idx, num_clips, use_offset=False):
    delta = max(video_size - clip_size, 0)
    if clip_idx == -1:
        start_idx = random.uniform(0, delta)
    else:
        if use_offset:
            if num_clips == 1:
                start_idx = math.floor(delta / 2)
            else:
                start_idx = clip_idx * math.floor(delta / (num_clips - 1))
        else:
            start_idx = delta * clip_idx / num_clips
    end_idx = start_idx + clip_size - 1
    return start_idx, end_idx


def _temporal_sampling(frames, start_idx, end_idx, num_samples):
    index = torch.linspace(start_idx, end_idx, num_samples)
    index = torch.clamp(index, 0, frames.shape[0] - 1).long()
    frames = torch.index_select(frames, 0, index)
    return frames


def _decode_tail(frames, sampling_rate, num_frames, clip_idx, num_clips, fps, target_fps=30):
    clip_sz = sampling_rate * num_frames / target_fps * fps
    start_idx, end_idx = _get_start_end_idx(frames.shape[0], clip_sz, clip_idx, num_clips)
    return _temporal_sampling(frames, start_idx, end_idx, num_frames)


def _pack_pathway_output(frames, alpha):  # frames: C x T x H x W
    fast_pathway = frames
    slow_pathway = torch.index_select(
        frames, 1, torch.linspace(0, frames.shape[1] - 1, frames.shape[1] // alpha).long()
    )
    return [slow_pathway, fast_pathway]


def _reference(window, num_frames, sampling_rate, alpha, clip_idx=0, num_clips=1, fps=200, target_fps=30):
    """Window positions of the (slow, fast) pathways: decode a 'video' whose frames are their own index."""
    video = torch.arange(window)
    fast = _decode_tail(video, sampling_rate, num_frames, clip_idx, num_clips, fps, target_fps)
    slow, fast = _pack_pathway_output(fast[None], alpha)
    return slow[0].numpy(), fast.numpy()[0]


def test_reference_derivation_of_the_original_64_frame_windows():
    span = clip_span(64, 2, 30, 200)
    assert span == pytest.approx(853.333, abs=1e-3)
    fast = fast_indices(64, 64, span, 0.0)
    assert fast.tolist() == [0, 13, 27, 40, 54] + [63] * 59
    slow = fast[slow_positions(64, 4)]
    assert slow.tolist() == [0, 54] + [63] * 14
    assert 32 not in fast  # the apex (window position 32) is never sampled
    plan = InputPlan(sampling="pyslowfast", frames=64, alpha=4)
    assert plan.positions(64).tolist() == fast.tolist()
    assert not plan.random_start(64)  # the span covers the window: start 0 in training too


SLOW_AT_ALPHA = {4: [0, 54] + [63] * 14, 8: [0] + [63] * 7, 16: [0, 63, 63, 63]}


@pytest.mark.parametrize("alpha", sorted(SLOW_AT_ALPHA))
def test_the_original_slow_pathway_at_alpha_4_8_16(alpha):
    slow_ref, _ = _reference(64, 64, 2, alpha)  # the transcribed decoder on the original's settings
    assert original_slow_indices(alpha).tolist() == slow_ref.tolist() == SLOW_AT_ALPHA[alpha]


def test_the_differences_page_shows_the_slow_pathway_positions():
    page = (Path(__file__).resolve().parents[1] / "book" / "differences.md").read_text()
    for alpha, positions in SLOW_AT_ALPHA.items():
        assert f"| {alpha} | {', '.join(map(str, positions))} | {len(set(positions))} |" in page


@pytest.mark.parametrize("window", [1, 7, 16, 30, 64, 100, 853, 854, 1200, 3000])
@pytest.mark.parametrize(
    "num_frames,sampling_rate,alpha,target_fps", [(64, 2, 4, 30), (32, 1, 8, 30), (16, 4, 4, 25), (8, 1, 2, 60)]
)
def test_general_formula_matches_the_transcribed_decoder(window, num_frames, sampling_rate, alpha, target_fps):
    span = clip_span(num_frames, sampling_rate, target_fps, 200)
    views = 10
    for view in range(views):
        slow_ref, fast_ref = _reference(window, num_frames, sampling_rate, alpha, view, views, 200, target_fps)
        fast = fast_indices(window, num_frames, span, view_start(window, span, view, views))
        assert fast.tolist() == fast_ref.tolist()
        assert fast[slow_positions(num_frames, alpha)].tolist() == slow_ref.tolist()


def test_train_time_random_start_stays_within_the_decoder_range():
    plan = InputPlan(sampling="pyslowfast", frames=8, alpha=2, sampling_rate=1, target_fps=60)  # span 26.7
    window = 100
    assert plan.random_start(window)
    delta = start_range(window, plan.span())
    generator = torch.Generator().manual_seed(0)
    rows = plan.batch_positions(window, ["a"] * 200, [50] * 200, True, generator).numpy()
    firsts = rows[:, 0]
    assert firsts.min() >= 0 and firsts.max() <= int(delta) and len(set(firsts)) > 20
    assert np.all(np.diff(rows, axis=1) >= 0) and np.all(rows[:, -1] - rows[:, 0] >= int(plan.span()) - 2)
    evaluation = plan.batch_positions(window, ["a"], [50], False, None).numpy()[0]
    assert evaluation.tolist() == fast_indices(window, 8, plan.span(), delta * 5 / 10).tolist()


# -- input controls


def _window(w=12, side=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(w, side, side, 3), dtype=np.uint8)


def _frame_ids(frames: np.ndarray, window: np.ndarray) -> list[int]:
    return [int(np.flatnonzero([np.array_equal(f, g) for g in window])[0]) for f in frames]


def test_static_variants_repeat_the_apex_or_first_frame():
    window = _window(12)
    row = {"pad_before": 2, "pad_after": 0, "window_start": 101, "window_end": 110}
    apex = window_position(row, 12, 104)
    assert apex == 5
    for kind, expected in (("static-apex", 5), ("static-first", 0)):
        frames = InputPlan(input=kind, frames=6, alpha=2).select(window, "k", apex)
        assert frames.shape == (6, 4, 4, 3)
        assert _frame_ids(frames, window) == [expected] * 6


def test_shuffled_permutes_the_sampled_frames_per_clip_and_seed():
    window = _window(12)
    plan = InputPlan(input="shuffled", frames=12, alpha=2, seed=3)
    a = _frame_ids(plan.select(window, "clip-a", 6), window)
    assert sorted(a) == list(range(12)) and a != list(range(12))
    assert _frame_ids(plan.select(window, "clip-a", 6), window) == a  # fixed across epochs and evaluation
    assert _frame_ids(plan.eval_frames(window, "clip-a", 6), window) == a
    assert _frame_ids(plan.select(window, "clip-b", 6), window) != a  # per clip
    other_seed = InputPlan(input="shuffled", frames=12, alpha=2, seed=4)
    assert _frame_ids(other_seed.select(window, "clip-a", 6), window) != a  # per seed
    assert shuffle_order("clip-a", 3, 12).tolist() == np.array(a).tolist()


def test_difference_input_removes_a_still_face_and_keeps_signed_motion():
    still = np.repeat(_window(1), 5, axis=0)
    assert np.all(frame_differences(still) == DIFFERENCE_ZERO)
    moving = np.zeros((4, 2, 2, 3), np.uint8) + np.array([10, 30, 25, 25], np.uint8)[:, None, None, None]
    diff = frame_differences(moving)[:, 0, 0, 0].astype(int) - DIFFERENCE_ZERO
    assert diff.tolist() == [20, 20, -5, 0]
    frames = InputPlan(input="difference", frames=4, alpha=2).select(moving, "k", 1)
    assert frames.shape == moving.shape and frames.dtype == np.uint8
    with pytest.raises(ValueError, match="at least 2 frames"):
        frame_differences(moving[:1])


def test_face_masked_input_hides_the_face_and_keeps_margins_and_frame_statistics():
    """A face (bright centre) on a tinted margin: the face is gone, the margin and its per-frame colour stay."""
    window = np.zeros((3, 32, 32, 3), np.uint8) + np.array([40, 60, 80], np.uint8)
    window[:, 8:24, 10:22] = 250  # the face box, margin 0.15 of it
    window[1] += 10  # a brighter frame
    masked = InputPlan(input="face-masked", frames=3, alpha=1, margin=0.15).select(window, "k", 1)
    assert masked.shape == window.shape and masked[:, 16, 16].tolist() == [[40, 60, 80], [50, 70, 90], [40, 60, 80]]
    assert (masked[:, 0, 0] == window[:, 0, 0]).all() and (masked[:, 31, 31] == window[:, 31, 31]).all()
    assert not (masked == 250).any()  # no pixel of the face is left
    assert InputPlan(input="face-masked").key() == {"sampling": "window", "input": "face-masked", "margin": 0.15}


def test_unknown_options_are_refused_with_their_key():
    with pytest.raises(ValueError, match="data.input='blur'"):
        InputPlan(input="blur")
    with pytest.raises(ValueError, match="data.sampling='every'"):
        InputPlan(sampling="every")


# -- what each pathway sees in training


class _Recorder(torch.nn.Module):
    """Stands in for pytorchvideo's network: records the [slow, fast] inputs' frame ids."""

    def __init__(self, classes):
        super().__init__()
        self.classes, self.seen = classes, []

    def forward(self, pathways):
        self.seen.append([_ids(p) for p in pathways])
        return torch.zeros(pathways[1].shape[0], self.classes)


def _ids(x: torch.Tensor) -> list[list[int]]:
    """Model input (B, 3, T, H, W) of frames painted with value 3 * id -> ids (B, T)."""
    from mlib.training.clips import MEAN, STD

    value = (x * STD + MEAN) * 255
    return torch.round(value.mean(dim=(1, 3, 4)) / 3).long().tolist()


def _painted_runner(tmp_path, data, train=None, frames=64):
    from tiny_caches import write_cache, write_split

    from mlib.core.config import resolve
    from mlib.training.clips import load_clip_table
    from mlib.training.plan import RunPlan
    from mlib.training.train import _Runner

    painted = (
        np.repeat(np.arange(64, dtype=np.uint8)[:, None, None, None] * 3, 32, axis=1)
        .repeat(32, axis=2)
        .repeat(3, axis=3)
    )
    cache = write_cache(tmp_path, {s: [painted] * 3 for s in ("01", "02")})
    split = write_split(cache, n_train=2, n_val=0)
    cfg = resolve(
        None,
        {
            "data": data,
            "model": {"frames": frames, "size": 32, "width": 8, "alpha": 4},
            "train": {"device": "cpu", "augment": False, **(train or {})},
            "run": {"cache": str(cache), "split": str(split)},
        },
    )
    runner = _Runner(RunPlan.of(cfg), load_clip_table(cache, split), torch.device("cpu"))
    runner.model.net = _Recorder(2)
    return runner


@pytest.mark.parametrize(
    "sampling,kind,fast,slow",
    [
        ("pyslowfast", "clip", [0, 13, 27, 40, 54] + [63] * 59, [0, 54] + [63] * 14),
        ("window", "clip", list(range(64)), list(range(0, 64, 4))),
        ("pyslowfast", "static-apex", [32] * 64, [32] * 16),
        ("window", "static-first", [0] * 64, [0] * 16),
    ],
)
def test_each_pathway_sees_the_planned_frames(tmp_path, sampling, kind, fast, slow):
    runner = _painted_runner(tmp_path, {"sampling": sampling, "input": kind})
    x, _ = runner.batch(np.array([0, 1]), False, None)
    runner.model(x)
    seen_slow, seen_fast = runner.model.net.seen[0]
    assert seen_fast == [fast, fast] and seen_slow == [slow, slow]


def test_training_draws_a_random_start_per_step_when_the_window_outlasts_the_span(tmp_path):
    # span = 1 x 16 / 200 x 200 = 16 frames of a 64-frame window: PySlowFast's random start applies
    runner = _painted_runner(
        tmp_path,
        {"sampling": "pyslowfast", "pyslowfast": {"sampling_rate": 1, "target_fps": 200.0}},
        {"hflip": False, "color_jitter": 0.0, "crop_scale": [1.0, 1.0]},
        frames=16,
    )
    generator = torch.Generator().manual_seed(0)
    starts = set()
    for _ in range(4):
        x, _ = runner.batch(np.array([0, 1]), True, generator)
        for row in _ids(x):
            assert row == list(range(row[0], row[0] + 16))  # 16 consecutive frames from a random start
            starts.add(row[0])
    assert len(starts) > 2 and max(starts) <= 48
    x, _ = runner.batch(np.array([0]), False, None)
    assert _ids(x)[0] == list(range(24, 40))  # evaluation: the middle test view, start 48 * 5 / 10
