"""Where the W-frame window of a clip lies, as positions in the clip's frame list.

The rule (the original code: a window centred on the apex, shifted to stay
inside onset..offset; short clips padded by repeating frames), made precise:

1. Annotated frame numbers are mapped to positions in the clip's frame list
   (frame numbers may have gaps): the apex to the position of the nearest frame
   number, the onset to the first frame numbered >= onset, the offset to the
   last frame numbered <= offset. Positions are clamped to the list.
2. A clip with at least W frames gets W real frames and no padding. The window
   is ``[apex - W // 2, apex - W // 2 + W - 1]`` (the apex is frame ``W // 2``
   of the window), shifted by the least amount that keeps it inside the bounds:
   onset..offset when that span holds at least W frames, else the whole clip
   (first..last frame).
3. A clip with fewer than W frames uses all its frames, padded by repeating its
   first frame ``pad_before`` times and its last frame ``pad_after`` times.
   Padding rule ``symmetric`` (``prepare.pad``): ``pad_before`` is chosen to put
   the apex as close to window frame W // 2 as the padding allows
   (``0 <= pad_before <= W - n``). Rule ``end``, the original's ``--pad_frames``
   (``make_videos_of_microexpression_in_slowfast_directory`` in
   ``MicroExpressionsCode/datasets/DatasetsUtils.py`` at 7b05a76:
   ``frames_list + [frames_list[-1]] * pad_number``): ``pad_before = 0`` and
   ``pad_after = W - n`` copies of the last frame, so the apex sits where it
   falls among the first n frames. ``prepare.pad: protocol`` takes ``end`` for
   the split protocols that follow the original (``kay2023``,
   ``kay2023-original``) and ``symmetric`` for ``half`` (``pad_rule``).

Reading a cached window back (:func:`window_frame_numbers`, :func:`window_position`)
uses only the cache index's ``window_start``, ``window_end`` (the first and last
real frame numbers), ``pad_before`` and ``pad_after``:

4. The real frames fill window positions ``pad_before .. W - pad_after - 1`` and
   are taken as evenly numbered from ``window_start`` to ``window_end`` (exact
   when the clip's numbering has no gaps); a padded position shows a copy of the
   first or last real frame.
5. Original frame N sits at the REAL frame whose number is nearest to N (the
   earlier one on a tie), never at a padded copy: by rule 3 the padding repeats
   a real frame, and the annotated apex is placed among the real frames. A frame
   number outside the window maps to its first or last real frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PAD_RULES = ("symmetric", "end")
"""How a clip shorter than the window is padded (rule 3)."""
PAD_SETTINGS = ("protocol", *PAD_RULES)
"""``prepare.pad`` values: a rule, or ``protocol`` (the split protocol's source decides, ``pad_rule``)."""
ORIGINAL_PROTOCOLS = ("kay2023", "kay2023-original")


def pad_rule(setting: str, protocol: str) -> str:
    """The padding rule of ``prepare.pad`` = ``setting`` under split protocol ``protocol`` (rule 3)."""
    if setting not in PAD_SETTINGS:
        raise ValueError(f"prepare.pad {setting!r}: expected one of {', '.join(PAD_SETTINGS)}")
    if setting != "protocol":
        return setting
    return "end" if protocol in ORIGINAL_PROTOCOLS else "symmetric"


@dataclass(frozen=True)
class Window:
    """A placed window: ``start``..``end`` are list positions of the first/last real frame."""

    start: int
    end: int
    pad_before: int
    pad_after: int
    onset_pos: int
    apex_pos: int
    offset_pos: int

    @property
    def positions(self) -> list[int]:
        """The W list positions read, padding included (first/last real frame repeated)."""
        real = list(range(self.start, self.end + 1))
        return [self.start] * self.pad_before + real + [self.end] * self.pad_after

    @property
    def length(self) -> int:
        return self.pad_before + (self.end - self.start + 1) + self.pad_after


def annotation_positions(frame_numbers: Sequence[int], onset: int, apex: int, offset: int) -> tuple[int, int, int]:
    """(onset, apex, offset) frame numbers -> positions in the frame list (rule 1)."""
    numbers = np.asarray(frame_numbers, dtype=np.int64)
    if numbers.size == 0:
        raise ValueError("a clip without frames has no window")
    if np.any(np.diff(numbers) <= 0):
        raise ValueError("frame numbers must be strictly increasing")
    last = numbers.size - 1
    onset_pos = min(int(np.searchsorted(numbers, onset, side="left")), last)
    offset_pos = max(int(np.searchsorted(numbers, offset, side="right")) - 1, 0)
    apex_pos = int(np.argmin(np.abs(numbers - apex)))
    return onset_pos, apex_pos, offset_pos


def place_window(
    frame_numbers: Sequence[int], onset: int, apex: int, offset: int, window: int, pad: str = "symmetric"
) -> Window:
    """Place a ``window``-frame window on a clip by the rules in this module's docstring (``pad``: rule 3)."""
    if window < 1:
        raise ValueError(f"window must be at least 1 frame, got {window}")
    if pad not in PAD_RULES:
        raise ValueError(f"padding rule {pad!r}: expected one of {', '.join(PAD_RULES)}")
    onset_pos, apex_pos, offset_pos = annotation_positions(frame_numbers, onset, apex, offset)
    n = len(frame_numbers)
    half = window // 2
    if n < window:
        pad_before = 0 if pad == "end" else min(max(half - apex_pos, 0), window - n)
        return Window(0, n - 1, pad_before, window - n - pad_before, onset_pos, apex_pos, offset_pos)
    if offset_pos - onset_pos + 1 >= window:
        low, high = onset_pos, offset_pos
    else:
        low, high = 0, n - 1
    start = min(max(apex_pos - half, low), high - window + 1)
    return Window(start, start + window - 1, 0, 0, onset_pos, apex_pos, offset_pos)


def window_frame_numbers(row: Mapping, width: int) -> np.ndarray:
    """The original frame number shown at each of the ``width`` positions of a cached window (rule 4).

    ``row`` is a cache index row (``window_start``, ``window_end``, ``pad_before``,
    ``pad_after``; ``clip_key`` names it in errors).
    """
    pad_before, pad_after = int(row["pad_before"]), int(row["pad_after"])
    start, end = int(row["window_start"]), int(row["window_end"])
    real = width - pad_before - pad_after
    if real < 1 or min(pad_before, pad_after) < 0:
        raise ValueError(
            f"clip {row.get('clip_key', '?')}: pad_before {pad_before} + pad_after {pad_after} "
            f"leave no real frame in a {width}-frame window (cache index)"
        )
    numbers = np.round(np.linspace(start, end, real)).astype(np.int64)
    return np.concatenate([np.full(pad_before, start), numbers, np.full(pad_after, end)])


def window_position(row: Mapping, width: int, frame_number: float) -> int:
    """Where original frame ``frame_number`` is in a cached ``width``-frame window (rule 5): a real frame's position."""
    numbers = window_frame_numbers(row, width)
    first, last = int(row["pad_before"]), width - int(row["pad_after"]) - 1
    return first + int(np.argmin(np.abs(numbers[first : last + 1] - float(frame_number))))
