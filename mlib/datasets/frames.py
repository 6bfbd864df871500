"""Frame files: which names are frames of a layout, and decoding that refuses damaged files.

OpenCV's ``imread`` does not fail on a truncated JPEG: libjpeg fills the
missing rows with grey and prints "Premature end of JPEG file" naming no file,
so a half-copied frame would be cached without a word. ``read_frame`` therefore
reads the bytes itself and checks the container before decoding them with
``cv2.imdecode`` (the same decoder as ``imread``, so arrays are unchanged):

- an empty file is refused;
- a JPEG must start with the start-of-image marker ``FF D8`` and end with the
  end-of-image marker ``FF D9`` (trailing zero bytes, which some encoders pad
  with, are allowed); a truncated file has no end marker;
- a PNG must start with its signature and end with its ``IEND`` chunk;
- the decoder must return an image.

The check costs a read of bytes that decoding needs anyway (no second decode,
unlike PIL's ``verify``). Damage inside the entropy-coded data that leaves both
markers in place is not detected; a copy cut short, the common case, is.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"
PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


class FrameError(ValueError):
    """A frame file that cannot be used; the message starts with its path."""


def frame_damage(path: str | Path, data: bytes) -> str | None:
    """Why the bytes of frame ``path`` are not a complete image, or None when they look complete."""
    if not data:
        return "empty file (0 bytes)"
    suffix = Path(path).suffix.lower()
    if suffix in {".jpg", ".jpeg"}:
        if not data.startswith(JPEG_START):
            return "not a JPEG file (no start-of-image marker)"
        if not data.rstrip(b"\x00").endswith(JPEG_END):
            return "truncated JPEG (no end-of-image marker)"
    elif suffix == ".png":
        if not data.startswith(PNG_SIGNATURE):
            return "not a PNG file (no PNG signature)"
        if not data.endswith(PNG_END):
            return "truncated PNG (no IEND chunk)"
    return None


def read_frame(path: str | Path) -> np.ndarray:
    """One frame as a BGR uint8 array, as ``cv2.imread`` gives it; a damaged file raises ``FrameError``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FrameError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    damage = frame_damage(path, data)
    if damage is not None:
        raise FrameError(f"{path}: {damage}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{path}: cannot be decoded as an image")
    return image


def read_rgb(path: str | Path) -> np.ndarray:
    """One frame as an RGB uint8 array (see ``read_frame``)."""
    return cv2.cvtColor(read_frame(path), cv2.COLOR_BGR2RGB)


def first_damaged(paths: list[str]) -> tuple[str, str] | None:
    """``(path, problem)`` of the first frame of ``paths`` that cannot be decoded, or None."""
    for path in paths:
        try:
            read_frame(path)
        except FrameError as exc:
            return path, str(exc).removeprefix(f"{path}: ")
    return None
