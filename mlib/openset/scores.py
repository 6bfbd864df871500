"""Embeddings, galleries and cosine score matrices of an open-set split (compute only).

The embedding of a clip is what the identifier's classifier sees: the head's
input, the Slow and Fast pathways' last stages average-pooled over time and
space and concatenated (pytorchvideo's ``PoolConcatPathway``), taken with a
forward hook on ``model.classifier()`` while the run's own evaluation path
(:func:`mlib.training.train.predict`) runs. The hand-crafted baselines' embeddings are
their feature-set vectors (``mlib.experiments.baseline.feature_set_matrix``).

A subject's template is the mean of its enrolment clips' unit-length embeddings;
a score is the cosine similarity of a probe with a template. ``standardise``
first centres and scales every dimension by the training subjects' clips (as the
baseline SVM's ``StandardScaler`` does): histogram features share a large common
mass that otherwise makes every pair of clips look alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlib.openset.measures import open_set_measures, threshold_at_fmr, verification_pairs

TRAINING_PARTS = ("train", "val")


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def templates(x: np.ndarray, subjects: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """One unit-length template per subject (sorted): the mean of its clips' unit embeddings."""
    subjects = np.asarray(subjects, dtype=str)
    names = sorted(set(subjects))
    vectors = unit(x)
    return unit(np.stack([vectors[subjects == s].mean(axis=0) for s in names])), names


def cosine_scores(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Cosine similarity of every probe (row) with every template (column)."""
    return unit(probes) @ unit(gallery).T


def model_embeddings(
    model, clips, plan=None, index_rows: pd.DataFrame | None = None, batch_size: int = 8
) -> np.ndarray:
    """The head's input (both pathways pooled and concatenated) per clip, by the run's evaluation path."""
    from mlib.training.train import predict

    captured: list[np.ndarray] = []
    hook = model.classifier().register_forward_pre_hook(
        lambda _module, inputs: captured.append(inputs[0].detach().reshape(len(inputs[0]), -1).double().cpu().numpy())
    )
    try:
        predict(model, clips, plan, batch_size=batch_size, index_rows=index_rows)
    finally:
        hook.remove()
    return np.concatenate(captured) if captured else np.zeros((0, model.classifier().in_features))


def run_embeddings(run_dir: str | Path, clip_keys: Sequence[str], cache: str | Path | None = None) -> np.ndarray:
    """Embeddings of cached clips (by key) with a run's best model; ``cache`` defaults to the run's."""
    from mlib.training.train import load_run

    model, plan, _ = load_run(run_dir)
    return cache_embeddings(model, plan, Path(cache or plan.config["run"]["cache"]), clip_keys)


def cache_embeddings(model, plan, cache: str | Path, clip_keys: Sequence[str]) -> np.ndarray:
    """Embeddings of cached clips (by key) with a loaded model and its run's plan (``load_run``)."""
    from mlib.preprocess import load_clip, load_index

    rows = load_index(cache).set_index("clip_key", drop=False).loc[list(clip_keys)].reset_index(drop=True)
    clips = np.stack([load_clip(cache, row) for _, row in rows.iterrows()])
    return model_embeddings(model, clips, plan, rows)


def standardiser(x_training: np.ndarray):
    """``f(x)``: every dimension centred and scaled by the training subjects' clips (constant ones only centred)."""
    mean, std = x_training.mean(axis=0), x_training.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return lambda x: (np.asarray(x, dtype=np.float64) - mean) / std


def validation_impostor_scores(x: np.ndarray, split: pd.DataFrame) -> np.ndarray:
    """Impostor scores among the TRAINING subjects: validation clips against the other subjects'
    templates built from their training clips; the "unknown" threshold is fixed on these."""
    train, val = (split["part"] == "train").to_numpy(), (split["part"] == "val").to_numpy()
    if not val.any():
        raise ValueError("the split has no validation clips to fix a threshold on")
    gallery, names = templates(x[train], split.loc[train, "subject"])
    genuine, scores = verification_pairs(cosine_scores(x[val], gallery), split.loc[val, "subject"], names)
    return scores[~genuine]


def open_set_scores(x: np.ndarray, split: pd.DataFrame, *, standardise: bool = False) -> dict:
    """Score matrix of an open-set split from embeddings ``x`` (rows in ``split``'s order): probes x
    enrolled templates, with the probe and gallery subjects and the validation impostor scores."""
    if len(x) != len(split):
        raise ValueError(f"{len(x)} embeddings for {len(split)} split rows")
    if standardise:
        x = standardiser(x[split["part"].isin(TRAINING_PARTS).to_numpy()])(x)
    enrol, probe = (split["part"] == "enrol").to_numpy(), (split["part"] == "probe").to_numpy()
    gallery, names = templates(x[enrol], split.loc[enrol, "subject"])
    return {
        "scores": cosine_scores(x[probe], gallery),
        "probe_subjects": split.loc[probe, "subject"].to_numpy(str),
        "probe_keys": split.loc[probe, "clip_key"].to_numpy(str),
        "gallery_subjects": names,
        "validation_impostor": validation_impostor_scores(x, split),
    }


def evaluate(
    x: np.ndarray,
    split: pd.DataFrame,
    *,
    standardise: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    fmr: float = 0.01,
) -> dict:
    """Scores and measures (``mlib.openset.measures.open_set_measures``) of embeddings on a split, plus the
    "unknown" threshold at FMR ``fmr`` on the training subjects' validation scores."""
    scored = open_set_scores(x, split, standardise=standardise)
    out = open_set_measures(
        scored["scores"], scored["probe_subjects"], scored["gallery_subjects"], n_boot=n_boot, seed=seed
    )
    return {**scored, **out, "threshold": {"fmr": fmr, "value": threshold_at_fmr(scored["validation_impostor"], fmr)}}


def evaluate_run(run_dir: str | Path, split_file: str | Path, **kwargs) -> dict:
    """:func:`evaluate` on a run's embeddings of the split's clips (cache: the run's). Refused when the run
    trained on (or selected by) a subject the split calls unseen: those people are not new to it."""
    from mlib.core.config import load_yaml
    from mlib.preprocess.splits import load_split

    split = load_split(split_file)
    run_split_file = load_yaml(Path(run_dir) / "config.yaml")["run"]["split"]
    run_split = load_split(run_split_file)
    seen = set(run_split.loc[run_split["part"].isin(("train", "val", "test")), "subject"])
    leaked = sorted(seen & set(split.loc[split["part"].isin(("enrol", "probe")), "subject"]))
    if leaked:
        raise ValueError(
            f"{split_file}: unseen subject(s) {', '.join(leaked)} were trained on by run {run_dir} "
            f"(its split {run_split_file}); use the run's own open-set fold"
        )
    return evaluate(run_embeddings(run_dir, split["clip_key"]), split, **kwargs)


def evaluate_baseline(
    cache: str | Path, split_file: str | Path, features: str = "lbp-top", *, workers: int = 1, **kwargs
) -> dict:
    """:func:`evaluate` on a baseline feature set's vectors (standardised by the training subjects)."""
    from mlib.experiments.baseline import feature_set_matrix
    from mlib.preprocess.splits import load_split

    split = load_split(split_file)
    x, _ = feature_set_matrix(cache, list(split["clip_key"]), features, workers=workers, progress=False)
    return evaluate(x, split, standardise=True, **kwargs)
