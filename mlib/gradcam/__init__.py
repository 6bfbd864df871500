"""Grad-CAM for the SlowFast identifier: where and when the network looks (paper 4.6).

The paper shows Grad-CAM heat maps (its Figure 2) and says they sit where the
micro-movement is. This package computes the maps with the grad-cam package and
turns that sentence into numbers, organised like grad-cam itself:

- :mod:`~mlib.gradcam.maps`: the maps, one per SlowFast pathway;
- :mod:`~mlib.gradcam.scores`: localisation scores of a map and the permutation null;
- :mod:`~mlib.gradcam.truth`: the synthetic corpus's true moving regions in the model input;
- :mod:`~mlib.gradcam.summary`: tables over clips and the verdict on the paper's claim;
- :mod:`~mlib.gradcam.result`: the result folder (``book/formats.md`` section 6);
- :mod:`~mlib.gradcam.runner`: all of it for a finished run; :mod:`~mlib.commands.gradcam`: ``mlib gradcam``.

Figures are drawn by :mod:`mlib.plots.gradcam`; nothing here imports plotting.
"""

from mlib.gradcam.maps import PATHWAYS, cams_and_logits, compute_cams
from mlib.gradcam.result import CamResult, face_figure_dir, load_result, save_result
from mlib.gradcam.runner import TARGET_RULES, gradcam_for_run, model_frame_of, run_clips
from mlib.gradcam.scores import (
    TOP_PERCENT,
    clip_regions,
    frames_around,
    iou,
    localisation,
    motion_energy,
    permutation_null,
    score_clip,
    score_regions,
    top_region,
)
from mlib.gradcam.summary import claim_verdict, null_summary, summarize, summary_value
from mlib.gradcam.truth import synthetic_truth

__all__ = [
    "PATHWAYS",
    "TARGET_RULES",
    "TOP_PERCENT",
    "CamResult",
    "cams_and_logits",
    "claim_verdict",
    "clip_regions",
    "compute_cams",
    "face_figure_dir",
    "frames_around",
    "gradcam_for_run",
    "iou",
    "load_result",
    "localisation",
    "model_frame_of",
    "motion_energy",
    "null_summary",
    "permutation_null",
    "run_clips",
    "save_result",
    "score_clip",
    "score_regions",
    "summarize",
    "summary_value",
    "synthetic_truth",
    "top_region",
]
