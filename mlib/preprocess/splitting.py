"""What every split protocol shares (``mlib.preprocess.splits``, ``mlib.preprocess.open_set_split``).

The error a broken split raises, the stratified validation draw (the rule is in
``splits``' docstring, "Validation in half"), and the split files' names and
sidecars: ``split_path`` is the one place that builds a split file's name.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

# The original's main_dir/main.py arguments (--test_size 0.5, --val_size 0.1).
KAY2023 = {"test_size": 0.5, "val_size": 0.1}
# Protocols that may leave test (or validation) subjects without a training clip: they report them.
UNTRAINED_ALLOWED = ("kay2023", "kay2023-original")


class SplitError(ValueError):
    """A split that breaks a guarantee (overlap, a test or val subject never trained on)."""


def validation_keys(pool: pd.DataFrame, n_val: int, seed: int, val_size: float) -> set[str]:
    """``n_val`` clip keys of ``pool`` for validation, stratified where possible (module docstring).

    A ``val_size`` that asks for more clips than can validate while every subject keeps a training clip
    is refused (``SplitError``), not quietly capped: the split would not be the one asked for."""
    counts = pool["subject"].value_counts()
    eligible = pool[pool["subject"].isin(counts[counts >= 2].index)]
    n_subjects = eligible["subject"].nunique()
    most = len(eligible) - n_subjects
    if n_val > most:
        raise SplitError(
            f"split.val_size {val_size}: asks for {n_val} of the {len(pool)} non-test clips, but only "
            f"{most} can validate while every subject keeps a training clip; lower --val-size "
            "(split.val_size; 0 = no validation part)"
        )
    if n_val >= n_subjects and len(eligible) - n_val >= n_subjects:
        _, val = train_test_split(eligible, test_size=n_val, stratify=eligible["subject"], random_state=seed)
        return set(val["clip_key"])
    rng = np.random.default_rng(seed)
    shuffled = eligible.iloc[rng.permutation(len(eligible))]
    reserved = shuffled.drop_duplicates("subject")  # one training clip per subject
    candidates = shuffled[~shuffled["clip_key"].isin(reserved["clip_key"])]
    return set(candidates["clip_key"].iloc[:n_val])


def metadata_path(split_file: str | Path) -> Path:
    """The sidecar of a split file: ``kay2023-seed42.csv`` -> ``kay2023-seed42.json``."""
    return Path(split_file).with_suffix(".json")


def split_sizes(protocol: str, test_size: float | None, val_size: float | None) -> tuple[float, float]:
    """The test and validation shares a protocol splits with: the kay2023 protocols' fixed ones (another
    value is refused), else the given ones (None: half's 0.5 and no validation part)."""
    if protocol in UNTRAINED_ALLOWED:
        for name, given in (("test_size", test_size), ("val_size", val_size)):
            if given is not None and not math.isclose(given, KAY2023[name]):
                raise ValueError(
                    f"{protocol} fixes {name} = {KAY2023[name]}; got {given} (use protocol half to vary it)"
                )
        return KAY2023["test_size"], KAY2023["val_size"]
    return 0.5 if test_size is None else float(test_size), 0.0 if val_size is None else float(val_size)


def split_path(
    cache_path: str | Path, protocol: str, seed: int, test_size: float | None = None, val_size: float | None = None
) -> Path:
    """The file ``mlib split`` writes, the one name every caller uses (study, notebooks, tests):
    ``half-test0.5-val0.1-seed42.csv``. The shares are in the name, so a split with other sizes never
    overwrites one a finished run was trained on; the other protocols fix theirs (``kay2023-seed42.csv``,
    ``open-set-fold0-seed42.csv``)."""
    if protocol != "half":
        return Path(cache_path) / "splits" / f"{protocol}-seed{seed}.csv"
    test, val = split_sizes(protocol, test_size, val_size)
    return Path(cache_path) / "splits" / f"{protocol}-test{test!r}-val{val!r}-seed{seed}.csv"
