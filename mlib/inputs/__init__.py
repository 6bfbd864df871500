"""What the model sees of a cached window: the frame sampling (``data.sampling``, :mod:`.sampling`)
and the input control (``data.input``, :mod:`.variants`), combined in one :class:`InputPlan`.

The plan answers, per clip, which window positions feed the Fast pathway (and,
for ``pyslowfast``, which of those feed the Slow pathway). Selections that do not
change between steps are applied once when the cache is read
(:meth:`InputPlan.select`); only PySlowFast's train-time random start, which
exists when a window is longer than the clip span, is drawn per batch
(:meth:`InputPlan.batch_positions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from mlib.datasets.window import window_position
from mlib.inputs.sampling import (
    SAMPLINGS,
    clip_span,
    fast_indices,
    slow_positions,
    start_range,
    view_start,
    window_indices,
)
from mlib.inputs.variants import INPUTS, STATIC, alter_positions, frame_differences, mask_face


@dataclass(frozen=True)
class InputPlan:
    """``sampling`` and ``input`` with the numbers they need (see the defaults tree's ``data`` section)."""

    sampling: str = "window"
    input: str = "clip"
    frames: int = 64
    alpha: int = 4
    seed: int = 0
    sampling_rate: int = 2
    target_fps: float = 30.0
    video_fps: float = 200.0
    test_views: int = 10
    margin: float = 0.15  # prepare.margin: where the face-masked input finds the face in the crop

    def __post_init__(self):
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"data.sampling={self.sampling!r}: expected one of {', '.join(SAMPLINGS)}")
        if self.input not in INPUTS:
            raise ValueError(f"data.input={self.input!r}: expected one of {', '.join(INPUTS)}")
        if self.sampling == "pyslowfast" and (
            self.sampling_rate < 1 or self.target_fps <= 0 or self.video_fps <= 0 or self.test_views < 1
        ):
            raise ValueError("data.pyslowfast: sampling_rate and test_views must be >= 1, the frame rates > 0")

    @classmethod
    def from_config(cls, cfg: Mapping) -> InputPlan:
        """The plan of a resolved config (configs written before these keys existed mean window/clip)."""
        data = cfg.get("data", {})
        pyslowfast = data.get("pyslowfast", {})
        return cls(
            sampling=data.get("sampling", "window"),
            input=data.get("input", "clip"),
            frames=int(cfg["model"]["frames"]),
            alpha=int(cfg["model"]["alpha"]),
            seed=int(cfg["train"]["seed"]),
            sampling_rate=int(pyslowfast.get("sampling_rate", 2)),
            target_fps=float(pyslowfast.get("target_fps", 30)),
            video_fps=float(pyslowfast.get("video_fps", 200)),
            test_views=int(pyslowfast.get("test_views", 10)),
            margin=float(cfg.get("prepare", {}).get("margin", 0.15)),
        )

    @property
    def is_default(self) -> bool:
        return self.sampling == "window" and self.input == "clip"

    def key(self) -> dict:
        """What of the plan shapes a run's result (part of its folder hash when not the default)."""
        key = {"sampling": self.sampling, "input": self.input}
        if self.input == "face-masked":
            key["margin"] = self.margin
        if self.sampling == "pyslowfast":
            key.update(
                sampling_rate=self.sampling_rate,
                target_fps=self.target_fps,
                video_fps=self.video_fps,
                test_views=self.test_views,
            )
        return key

    def span(self) -> float:
        return clip_span(self.frames, self.sampling_rate, self.target_fps, self.video_fps)

    def random_start(self, window: int) -> bool:
        """Whether training draws a start per step (PySlowFast with a window longer than the span)."""
        return self.sampling == "pyslowfast" and self.input not in STATIC and start_range(window, self.span()) > 0

    def positions(self, window: int, start: float | None = None) -> np.ndarray:
        """The sampling's T window positions; ``start`` = a PySlowFast start (default: the middle test view)."""
        if self.sampling == "window":
            return window_indices(window, self.frames)
        if start is None:
            start = view_start(window, self.span(), self.test_views // 2, self.test_views)
        return fast_indices(window, self.frames, self.span(), start)

    def clip_positions(self, window: int, clip_key: str, apex: int, start: float | None = None) -> np.ndarray:
        """Window positions one clip shows: the sampling's, then the input control's."""
        return alter_positions(self.input, self.positions(window, start), apex=apex, clip_key=clip_key, seed=self.seed)

    def source(self, array: np.ndarray) -> np.ndarray:
        """The window the positions index: the cached one, its frame differences, or its face masked."""
        if self.input == "face-masked":
            return mask_face(array, self.margin)
        return frame_differences(array) if self.input == "difference" else array

    def select(self, array: np.ndarray, clip_key: str, apex: int) -> np.ndarray:
        """Frames kept in memory for a cached uint8 (W, S, S, 3) window: the T shown frames (evaluation
        view), or the whole (altered) window when training draws random starts."""
        if self.random_start(len(array)):
            return self.source(array)
        return self.eval_frames(array, clip_key, apex)

    def eval_frames(self, array: np.ndarray, clip_key: str, apex: int) -> np.ndarray:
        """The T frames evaluation shows of a cached uint8 (W, S, S, 3) window."""
        return self.source(array)[self.clip_positions(len(array), clip_key, apex)]

    def batch_positions(
        self, window: int, clip_keys, apexes, train: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        """(B, T) positions into kept whole windows (only when :meth:`random_start`): a uniform start in
        ``[0, delta]`` per clip when training (``get_start_end_idx`` with clip_idx -1), else the test view."""
        delta = start_range(window, self.span())
        rows = []
        for key, apex in zip(clip_keys, apexes):
            start = float(torch.rand(1, generator=generator)) * delta if train else None
            rows.append(self.clip_positions(window, key, int(apex), start))
        return torch.as_tensor(np.stack(rows), dtype=torch.long)

    def slow_positions(self) -> np.ndarray | None:
        """Slow-pathway positions in the Fast input: PySlowFast's linspace, or None (the model's every alpha-th)."""
        return slow_positions(self.frames, self.alpha) if self.sampling == "pyslowfast" else None


def apex_positions(clips, window: int) -> np.ndarray:
    """Apex window position of each row of a clip table (cache index columns)."""
    return np.array([window_position(row, window, row["apex"]) for row in clips.to_dict("records")], dtype=np.int64)
