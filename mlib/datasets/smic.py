"""SMIC-E (HS): ``SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01/image0123456.jpg`` + ``SMIC-HS-E_annotation.xlsx``.

Each clip folder is a long recording; the row gives the micro-expression inside
it. Columns, as read by a public MEGC-2019 loader (process_SMICHSE): Subject
(a number, 1), Filename (s1_ne_01), OnsetF, OffsetF, TotalMF1, Onset2F,
Offset2F, TotalMF2, Onset3F, Offset3F, TotalMF3, Emotion, FirstF, LastF,
TotalVL (first/last frame numbers and length of the long recording). There is
NO apex column: the apex is always ``(OnsetF + OffsetF) // 2``, the rule of
the original code (book/original-code.md), whatever apex rule is asked for.
Subject ids are padded to two digits like the ``s01`` folders.

Database-specific checks (``_check_row``): a row listing a second or third
micro-expression (Onset2F/Offset2F ...) -> warning, the clip uses the first
one (OnsetF..OffsetF), so one folder stays one clip and no frames are shared
between clips; FirstF/LastF that disagree with the frames on disk -> warning.
"""

from .base import Adapter, parse_frame

EMOTIONS = {"po": "positive", "ne": "negative", "sur": "surprise"}


def emotion_from_clip(clip: str) -> str:
    """``s1_ne_01`` -> ``negative``: SMIC names its folders after the emotion class."""
    parts = clip.split("_")
    return EMOTIONS.get(parts[1], "") if len(parts) >= 3 else ""


def _check_row(row, numbers: list[int], report) -> None:
    extra = [n for n in (2, 3) if parse_frame(row.get(f"Onset{n}F", "")) is not None]
    if extra:
        listed = ", ".join(f"Onset{n}F..Offset{n}F" for n in extra)
        report("warning", f"row also lists {listed}; the clip uses the first micro-expression (OnsetF..OffsetF)")
    first, last = parse_frame(row.get("FirstF", "")), parse_frame(row.get("LastF", ""))
    if first is not None and last is not None and (first, last) != (numbers[0], numbers[-1]):
        report("warning", f"FirstF..LastF {first}..{last} differ from the frames on disk {numbers[0]}..{numbers[-1]}")


ADAPTER = Adapter(
    name="smic",
    fps=100,
    annotation="SMIC-HS-E_annotation.xlsx",
    frames_dir="SMIC-E_raw image/HS_long/SMIC-HS-E",
    cropped_frames_dir="SMIC-E_raw image/HS_long/SMIC-HS-E",
    subject_width=2,
    subject_folder=lambda subject: f"s{subject}",
    frame_pattern=r"image(?P<number>\d+)",
    frame_example="image<N>.jpg",
    columns={"subject": "Subject", "clip": "Filename", "onset": "OnsetF", "offset": "OffsetF", "emotion": "Emotion"},
    has_apex=False,
    row_hook=_check_row,
    emotion_from_clip=emotion_from_clip,
)
