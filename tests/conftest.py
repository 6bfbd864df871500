"""Shared test fixtures: small clips of a real face photo written as JPEG frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

FRAME_SHAPE = (120, 160)  # height, width of fixture frames


def _face_patch() -> np.ndarray:
    """The astronaut's head (a real photo shipped with scikit-image), at half size: about 52 px face."""
    head = data.astronaut()[0:230, 80:320]
    return cv2.resize(head, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def write_face_frames(
    folder: Path, numbers, *, at=(20, 5), face=True, shape=FRAME_SHAPE, name="img{}.jpg"
) -> list[str]:
    """Write one JPEG per frame number: the face pasted at ``at`` (x, y) plus a small per-frame shift.

    ``face=False`` writes blank grey frames (no face for the detector).
    """
    folder.mkdir(parents=True, exist_ok=True)
    patch = _face_patch()
    paths = []
    for i, number in enumerate(numbers):
        frame = np.full((*shape, 3), 90, np.uint8)
        if face:
            x, y = at[0] + i % 3, at[1] + (i // 3) % 2
            h, w = min(patch.shape[0], shape[0] - y), min(patch.shape[1], shape[1] - x)
            frame[y : y + h, x : x + w] = patch[:h, :w]
        path = folder / name.format(number)
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        paths.append(str(path))
    return paths


@pytest.fixture
def make_clip(tmp_path):
    """Factory: ``make_clip(subject, clip, numbers, onset, apex, offset, **frame_options)`` -> a clip-table row."""

    def make(subject, clip, numbers, onset, apex, offset, dataset="casme2", **options):
        folder = tmp_path / "root" / f"sub{subject}" / clip
        numbers = list(numbers)
        return {
            "clip_key": f"{dataset}_{subject}_{clip}",
            "dataset": dataset,
            "subject": subject,
            "clip": clip,
            "frame_dir": str(folder),
            "frames": write_face_frames(folder, numbers, **options),
            "frame_numbers": numbers,
            "onset": onset,
            "apex": apex,
            "offset": offset,
            "apex_source": "annotated",
            "emotion": "happiness",
            "action_units": "",
            "fps": 200,
            "source_file": str(tmp_path / "root" / "annotation.xlsx"),
            "source_row": 2,
            "notes": "",
        }

    return make


@pytest.fixture
def torch_threads():
    """``torch_threads(n)`` sets torch's thread count for one test; the count is restored after it."""
    import torch

    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.fixture
def one_torch_thread(torch_threads):
    """Train on one thread: deterministic timing under load, and no oversubscription of 2 cores."""
    torch_threads(1)


@pytest.fixture(scope="session")
def mlib_kernel():
    """The Jupyter kernel ``mlib`` that papermill runs the notebooks with (``make setup`` registers it;
    a bare venv gets it registered here)."""
    import subprocess
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    if "mlib" not in KernelSpecManager().find_kernel_specs():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ipykernel",
                "install",
                "--sys-prefix",
                "--name",
                "mlib",
                "--display-name",
                "Python (mlib)",
            ],
            check=True,
        )
    return "mlib"
