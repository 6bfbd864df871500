"""The subject-disjoint ``open-set`` split protocol (``mlib split --protocol open-set``).

Subjects are divided into training subjects and unseen subjects, in ``folds``
folds over subjects: the subjects with two or more clips are put in a seeded
order and cut into ``folds`` groups; fold f's unseen subjects are group f, every
other subject trains. Training subjects' clips go to ``train`` and ``val``
(``val_size`` of them, stratified by subject as in ``half``; the network is
selected and the "unknown" threshold fixed on them). Of the unseen subjects, a
share ``never_enrolled`` is never enrolled (all their clips ``probe``: the
searches that should answer "unknown"); the others enrol with their first
``enrol_clips`` clips (seeded order, part ``enrol``) and are probed with the
rest (``probe``). An unseen subject with no clip left to probe after enrolment
is never enrolled. Subjects with a single clip are never-enrolled probes in every fold.

Parts: ``train, val, enrol, probe`` (no ``test``, no ``excluded``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlib.preprocess.splitting import SplitError, validation_keys

PARTS = ("train", "val", "enrol", "probe")


def open_set_split(
    clips: pd.DataFrame, *, seed: int = 42, fold: int = 0, folds: int = 3, enrol_clips: int = 2,
    never_enrolled: float = 0.25, val_size: float = 0.1,
) -> pd.DataFrame:  # fmt: skip
    """Fold ``fold`` of ``folds`` of the open-set protocol on ``clips`` (``clip_key, subject``):
    ``clip_key, subject, part, reason`` in ``clips``' order (see the module docstring)."""
    if not 0 <= fold < folds:
        raise ValueError(f"fold {fold} is not one of 0..{folds - 1}")
    table = clips[["clip_key", "subject"]].astype(str).reset_index(drop=True)
    counts = table["subject"].value_counts()
    rng = np.random.default_rng(seed)
    several = rng.permutation(sorted(counts[counts >= 2].index))
    if len(several) < folds:
        raise SplitError(f"{len(several)} subject(s) with two or more clips cannot make {folds} folds over subjects")
    unseen = set(np.array_split(several, folds)[fold])
    training = set(several) - unseen
    if len(training) < 2:
        raise SplitError(f"fold {fold} of {folds} leaves {len(training)} training subject(s); identification needs 2")

    fold_rng = np.random.default_rng([seed, fold])
    can_enrol = sorted(s for s in unseen if counts[s] > enrol_clips)
    n_never = max(math.ceil(never_enrolled * len(unseen)) - (len(unseen) - len(can_enrol)), 0)
    enrolled = set(fold_rng.permutation(can_enrol)[n_never:])
    if len(enrolled) < 2:
        raise SplitError(
            f"fold {fold}: {len(enrolled)} unseen subject(s) can be enrolled with {enrol_clips} clips and "
            f"keep a probe clip (never_enrolled {never_enrolled}); open-set identification needs 2"
        )

    part = pd.Series("probe", index=table.index)
    part[table["subject"].isin(training)] = "train"
    for subject in sorted(enrolled):
        rows = table.index[table["subject"] == subject]
        part[fold_rng.permutation(rows)[:enrol_clips]] = "enrol"
    pool = table[part == "train"]
    val = validation_keys(pool, math.ceil(val_size * len(pool)), seed, val_size) if val_size > 0 else set()
    part[table["clip_key"].isin(val)] = "val"
    return table.assign(part=part.values, reason="")


def open_set_metadata(
    split: pd.DataFrame, *, seed: int, fold: int, folds: int, enrol_clips: int, never_enrolled: float
) -> dict:
    """The sidecar of an open-set split: the settings, counts per part and who is in which role.

    Also the keys every split sidecar has (``mlib.preprocess.splits.split_metadata``), so ``mlib split`` reports it."""
    subjects = {p: sorted(set(split.loc[split["part"] == p, "subject"])) for p in PARTS}
    return {
        "protocol": "open-set",
        "seed": seed,
        "fold": fold,
        "folds": folds,
        "enrol_clips": enrol_clips,
        "never_enrolled_share": never_enrolled,
        "counts": {p: int((split["part"] == p).sum()) for p in (*PARTS, "test", "excluded")},
        "training_subjects": sorted(set(subjects["train"]) | set(subjects["val"])),
        "enrolled_subjects": subjects["enrol"],
        "never_enrolled_subjects": sorted(set(subjects["probe"]) - set(subjects["enrol"])),
        "excluded": {},
        "missing": [],
        "untrained_test_subjects": [],
        "untrained_test_clips": [],
        "accuracy_ceiling": float("nan"),
    }


def check_open_set_split(split: pd.DataFrame) -> None:
    """Raise ``SplitError`` unless every clip is in one known part and no subject is both trained and unseen."""
    unknown = sorted(set(split["part"]) - set(PARTS))
    if unknown:
        raise SplitError(f"open-set split: unknown part(s) {unknown}; expected {PARTS}")
    if split["clip_key"].duplicated().any():
        raise SplitError(
            f"open-set split: clip(s) in more than one row: {split.loc[split['clip_key'].duplicated(), 'clip_key'].tolist()[:5]}"
        )
    trained = set(split.loc[split["part"].isin(("train", "val")), "subject"])
    both = sorted(trained & set(split.loc[split["part"].isin(("enrol", "probe")), "subject"]))
    if both:
        raise SplitError(f"open-set split: subject(s) both trained on and unseen: {both}")


def write_open_set_splits(cache_path, *, seed: int, val_size: float, settings: dict) -> list:
    """Every fold of the open-set protocol of a prepared cache (``settings``: ``split.open_set``),
    each as ``<cache>/splits/open-set-fold<f>-seed<seed>.csv`` with its sidecar; returns the paths."""
    from mlib.core.io import write_csv, write_json
    from mlib.preprocess import load_index
    from mlib.preprocess.splitting import metadata_path, split_path

    index = load_index(cache_path)
    paths = []
    for fold in range(settings["folds"]):
        split = open_set_split(
            index,
            seed=seed,
            fold=fold,
            folds=settings["folds"],
            enrol_clips=settings["enrol_clips"],
            never_enrolled=settings["never_enrolled"],
            val_size=val_size,
        )
        check_open_set_split(split)
        path = split_path(cache_path, f"open-set-fold{fold}", seed)
        write_csv(path, split[["clip_key", "subject", "part"]])
        write_json(
            metadata_path(path),
            open_set_metadata(
                split,
                seed=seed,
                fold=fold,
                folds=settings["folds"],
                enrol_clips=settings["enrol_clips"],
                never_enrolled=settings["never_enrolled"],
            ),
        )
        paths.append(path)
    return paths


def unseen_corpus_split(
    clips: pd.DataFrame,
    *,
    seed: int = 42,
    fold: int = 0,
    folds: int = 3,
    enrol_clips: int = 2,
    never_enrolled: float = 0.25,
) -> pd.DataFrame:
    """Fold ``fold`` of a corpus whose every subject is unseen (people drawn after a run's training corpus,
    ``mlib.openset.unseen``): parts ``enrol`` and ``probe`` only.

    The subjects that can enrol (more than ``enrol_clips`` clips) are put in a seeded order; fold f's
    never-enrolled subjects are the next ``ceil(never_enrolled x unseen)`` of that order, cyclically from
    position f times that count (so the folds rotate who answers "unknown"); the others enrol ``enrol_clips``
    clips drawn per fold. Subjects with too few clips are never-enrolled probes in every fold."""
    if not 0 <= fold < folds:
        raise ValueError(f"fold {fold} is not one of 0..{folds - 1}")
    table = clips[["clip_key", "subject"]].astype(str).reset_index(drop=True)
    counts = table["subject"].value_counts()
    can_enrol = np.random.default_rng(seed).permutation(sorted(counts[counts > enrol_clips].index))
    n_never = max(math.ceil(never_enrolled * len(counts)) - (len(counts) - len(can_enrol)), 0)
    never = {can_enrol[(fold * n_never + i) % len(can_enrol)] for i in range(n_never)} if len(can_enrol) else set()
    enrolled = sorted(set(can_enrol) - never)
    if len(enrolled) < 2:
        raise SplitError(
            f"fold {fold}: {len(enrolled)} unseen subject(s) can be enrolled with {enrol_clips} clips and "
            f"keep a probe clip (never_enrolled {never_enrolled}); open-set identification needs 2"
        )
    fold_rng = np.random.default_rng([seed, fold])
    part = pd.Series("probe", index=table.index)
    for subject in enrolled:
        rows = table.index[table["subject"] == subject]
        part[fold_rng.permutation(rows)[:enrol_clips]] = "enrol"
    return table.assign(part=part.values, reason="")
