"""Face boxes: OpenCV's Haar cascade, the margin rule and the crop.

As in the original code, the face is detected once per clip and that one box
crops every frame of the window. Boxes are ``(x, y, w, h)`` in pixels of the
original frame.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml"

Box = tuple[int, int, int, int]


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + CASCADE_FILE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"{path}: OpenCV could not load the Haar cascade (opencv 4.x ships it; 5.x does not)")
    return cascade


def detect_face(image: np.ndarray) -> Box | None:
    """The largest frontal face the Haar cascade finds in an RGB image, or None.

    Faces smaller than an eighth of the frame's shorter side (at least 24 px)
    are ignored: in these databases the face fills much of the frame.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(gray.shape) // 8)
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda box: int(box[2]) * int(box[3]))
    return int(x), int(y), int(w), int(h)


def expand_box(box: Box, margin: float, frame_shape: tuple[int, ...]) -> Box:
    """Square box around ``box`` with ``margin`` x its longer side added on every side.

    The square keeps its centre unless that would leave the frame; it is then
    shifted inside, and shrunk to the frame's shorter side if larger, so the
    crop stays square (no distortion when resized) and inside the frame.
    """
    height, width = frame_shape[:2]
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + 2 * margin)))
    side = max(1, min(side, height, width))
    centre_x, centre_y = x + w / 2, y + h / 2
    left = int(round(centre_x - side / 2))
    top = int(round(centre_y - side / 2))
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return left, top, side, side


def centre_square(frame_shape: tuple[int, ...]) -> Box:
    """The largest centred square of a frame: the last-resort face box."""
    height, width = frame_shape[:2]
    side = min(height, width)
    return (width - side) // 2, (height - side) // 2, side, side


def crop_resize(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Cut ``box`` out of ``image`` and resize it to ``size`` x ``size`` (area interpolation)."""
    x, y, w, h = box
    patch = image[y : y + h, x : x + w]
    interpolation = cv2.INTER_AREA if min(w, h) >= size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interpolation)
