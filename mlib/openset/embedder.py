"""A run's embedding of a face window, frozen for ``mlib identify``: numpy and OpenCV's DNN module, no torch.

``mlib identify`` answers in under 2 s on 2 CPU cores, model loading included (issue 22), and importing
torch, torchvision and pytorchvideo alone takes about 4 s there. So ``mlib enroll`` freezes what
:func:`mlib.openset.scores.model_embeddings` does to a window of a run that sees the plain window
(``data.input: clip``, ``data.sampling: window``) into arrays the gallery stores:

- ``positions``: the frames the run samples (:func:`mlib.training.clips.frame_indices`);
- ``resize_work`` and ``resize_model``: the two antialiased bilinear resizes of the evaluation path
  (cache side to working side, rounded to uint8 as :func:`mlib.training.clips.fit_clip` does; then to
  ``model.size``), each a matrix ``A`` with ``resize(X) = A X A^T``, taken from torch's own
  ``F.interpolate`` of the identity (the resize is linear and separable); empty where the path skips it;
- ``onnx``: the network from the normalised input to the head's input (both pathways pooled and
  concatenated), exported by ``torch.onnx.export``, with ``AdaptiveAvgPool3d(1)`` written as a mean
  (OpenCV's DNN does not pool 5-D tensors globally, it does reduce them).

:func:`embed` runs them with numpy and ``cv2.dnn``. :func:`freeze` checks that the frozen path gives the
torch path's embeddings of the clips it is given before it is stored.
"""

from __future__ import annotations

import numpy as np

KEYS = ("positions", "resize_work", "resize_model", "normalise", "onnx")
AGREEMENT = 1e-6  # largest 1 - cosine(frozen, torch) of an embedding that freeze accepts (a pixel rounded the
# other way in the first resize moves an embedding by about 1e-4 of its length)


def freezable(preprocessing: dict) -> bool:
    """Whether a run's frame choice is the plain window (the frozen path covers only that one)."""
    return preprocessing["sampling"] == "window" and preprocessing["input"] == "clip"


def resize_matrix(source: int, target: int) -> np.ndarray:
    """``A`` (target x source) with torch's antialiased bilinear ``resize(X) == A X A^T`` (float32 weights); empty
    if equal."""
    import torch
    import torch.nn.functional as F

    if source == target:
        return np.zeros((0, 0))
    eye = torch.eye(source)[None, None]  # float32: torch's own weights for float32 frames
    return F.interpolate(eye, size=(target, source), mode="bilinear", antialias=True, align_corners=False)[0, 0].numpy()


def _onnx_bytes(model, side: int) -> np.ndarray:
    """The model from its normalised input ``(1, 3, T, side, side)`` to the pathways' last feature maps (the
    head's pooling's inputs), as ONNX bytes; :func:`embed` pools them (OpenCV's DNN does not pool 5-D maps)."""
    import copy
    import io
    import warnings

    import torch
    from torch import nn

    class Pathways(nn.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        def forward(self, x):
            return tuple(self.network(x))

    network = copy.deepcopy(model).eval()
    pathways = len(network.net.blocks[-2].pool)
    network.net.blocks[-2], network.net.blocks[-1] = nn.Identity(), nn.Identity()  # stop at the pooling's input
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # the forward's shape checks are traced as constants (the frozen input has one shape) and the TorchScript
        # exporter is marked for removal (its successor needs onnxscript): neither is the user's business
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Pathways(network),
            (torch.zeros(1, 3, model.frames, side, side),),
            buffer,
            dynamo=False,
            input_names=["x"],
            output_names=[f"pathway{i}" for i in range(pathways)],
        )
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def freeze(model, plan, preprocessing: dict, windows: np.ndarray, expected: np.ndarray) -> dict | None:
    """The frozen embedding of a run (arrays by :data:`KEYS`), or None where the run's frame choice is not
    the plain window or the frozen path does not reproduce ``expected``, the torch path's embeddings of
    ``windows``."""
    from mlib.training.clips import MEAN, STD, frame_indices

    if not freezable(preprocessing):
        return None
    window, face = preprocessing["window"], preprocessing["face_size"]
    work = min(plan.working_size, face)
    frozen = {
        "positions": frame_indices(window, model.frames),
        "resize_work": resize_matrix(face, work),
        "resize_model": resize_matrix(work, model.size),
        "normalise": np.array([MEAN, STD], dtype=np.float32),
        "onnx": _onnx_bytes(model, model.size),
    }
    from mlib.openset.scores import unit

    got = embed(frozen, windows)
    agree = got.shape == expected.shape and bool(np.all(np.sum(unit(got) * unit(expected), axis=1) >= 1 - AGREEMENT))
    return frozen if agree else None


def _resize_axis(frames: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """``frames`` resized along ``axis`` by ``matrix`` as torch does it, so that the pixels round to the same
    uint8 values: each output a float32 running sum of its kernel's taps in order, each step a fused
    multiply-add (one rounding). A matrix product rounds some 30 of 570 000 pixels the other way."""
    taps = matrix != 0
    first = taps.argmax(axis=1)
    width = int((matrix.shape[1] - taps[:, ::-1].argmax(axis=1) - first).max())
    out = np.zeros(frames.shape[:axis] + (len(matrix),) + frames.shape[axis + 1 :], dtype=np.float32)
    shape = [1] * frames.ndim
    shape[axis] = len(matrix)
    for j in range(width):
        index = np.minimum(first + j, matrix.shape[1] - 1)
        weight = np.where(first + j < matrix.shape[1], matrix[np.arange(len(matrix)), index], 0).astype(np.float32)
        taps_j = np.take(frames, index, axis=axis).astype(np.float64) * weight.reshape(shape).astype(np.float64)
        out = (out + taps_j).astype(np.float32)
    return out


def _resize(frames: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(T, S, S, 3)`` float32 frames resized, width first then height, as torch's antialiased bilinear
    ``F.interpolate`` does (no-op for an empty ``matrix``)."""
    return frames if matrix.size == 0 else _resize_axis(_resize_axis(frames, matrix, 2), matrix, 1)


def embed(frozen: dict, windows: np.ndarray) -> np.ndarray:
    """Embeddings ``(N, D)`` float64 of uint8 face windows ``(N, W, S, S, 3)`` by a frozen run."""
    import cv2

    net = cv2.dnn.readNetFromONNX(np.ascontiguousarray(frozen["onnx"], dtype=np.uint8))
    net.enableFusion(False)  # OpenCV's fused Conv3D+Add is refused ("Conv3D does not support Conv+Add fusion")
    out = []
    for window in windows:
        frames = _resize(window[frozen["positions"]].astype(np.float32), frozen["resize_work"])
        frames = np.clip(np.round(frames), 0, 255) if frozen["resize_work"].size else frames
        frames = _resize(frames / np.float32(255), frozen["resize_model"])
        mean, std = frozen["normalise"]
        net.setInput(np.ascontiguousarray(((frames.transpose(3, 0, 1, 2) - mean) / std)[None]))
        maps = net.forward(sorted(net.getUnconnectedOutLayersNames()))
        out.append(np.concatenate([m.mean(axis=(2, 3, 4), dtype=np.float64).reshape(-1) for m in maps]))
    return np.stack(out)
