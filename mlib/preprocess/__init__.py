"""Preprocessing: clip table -> cached face windows (``mlib prepare``, ``book/formats.md`` section 3)."""

from mlib.datasets.window import Window, place_window, window_frame_numbers, window_position
from mlib.preprocess.cache import (
    FACE_SIZES,
    PrepareError,
    PrepareResult,
    load_clip,
    load_index,
    prepare_cache,
    run_prepare,
)
from mlib.preprocess.faces import detect_face, expand_box

__all__ = [
    "FACE_SIZES",
    "PrepareError",
    "PrepareResult",
    "Window",
    "detect_face",
    "expand_box",
    "load_clip",
    "load_index",
    "place_window",
    "prepare_cache",
    "run_prepare",
    "window_frame_numbers",
    "window_position",
]
