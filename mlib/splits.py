"""Train / validation / test splits of a prepared cache (``mlib split``, ``book/formats.md`` section 4).

Protocols:

``half`` (the paper): subjects with fewer than two clips are excluded (part
``excluded``): they cannot be both trained and tested on. Of the rest,
``test_size`` (50 %) is the test part, stratified by subject with scikit-learn's
``train_test_split(stratify=...)``. With ``val_size`` > 0 that share of the
non-test clips becomes the validation part (see "validation" below).

``kay2023`` (the original code): test = 50 % stratified by subject
(``random_state`` = the seed, 42 by default), then validation taken from the
rest. Its published counts (SMIC 62/16/79, SAMM 60/16/77, CASME II 101/26/127)
show the validation part is 10 % of ALL clips (``ceil(0.1 * n)``, i.e. 20 % of
the non-test half), so ``val_size`` here is a share of all clips. Its test and
validation shares are fixed by the protocol.

Validation, stratified where possible: only subjects with at least two non-test
clips may give clips to validation (each must keep a training clip). Their
clips are split with ``train_test_split(stratify=subject)``. Stratification is
impossible when the validation part has fewer clips than there are such
subjects, or when the training part would (e.g. a subject with 3 clips: 1 test,
then 2 left, 16 subjects but only 8 validation clips); then one clip per
subject is reserved for training (seeded) and the validation clips are drawn
uniformly from the others. A subject with 2 clips has 1 non-test clip and
therefore never validates.

Guarantees, checked by ``check_split`` before any file is written: every clip
in exactly one part; every test and every validation subject has training clips.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mlib.io import write_csv

PROTOCOLS = ("half", "kay2023")
PARTS = ("train", "val", "test", "excluded")
KAY2023 = {"test_size": 0.5, "val_size": 0.1}


class SplitError(ValueError):
    """A split that breaks a guarantee (overlap, a test or val subject never trained on)."""


def _validation(pool: pd.DataFrame, n_val: int, seed: int) -> set[str]:
    """``n_val`` clip keys of ``pool`` for validation, stratified where possible (module docstring)."""
    counts = pool["subject"].value_counts()
    eligible = pool[pool["subject"].isin(counts[counts >= 2].index)]
    n_subjects = eligible["subject"].nunique()
    n_val = min(n_val, len(eligible) - n_subjects)
    if n_val <= 0:
        return set()
    if n_val >= n_subjects and len(eligible) - n_val >= n_subjects:
        _, val = train_test_split(eligible, test_size=n_val, stratify=eligible["subject"], random_state=seed)
        return set(val["clip_key"])
    rng = np.random.default_rng(seed)
    shuffled = eligible.iloc[rng.permutation(len(eligible))]
    reserved = shuffled.drop_duplicates("subject")  # one training clip per subject
    candidates = shuffled[~shuffled["clip_key"].isin(reserved["clip_key"])]
    return set(candidates["clip_key"].iloc[:n_val])


def make_split(
    clips: pd.DataFrame, protocol: str = "half", *, test_size: float | None = None,
    val_size: float | None = None, seed: int = 42,
) -> pd.DataFrame:  # fmt: skip
    """One split of ``clips`` (columns ``clip_key``, ``subject``): ``clip_key, subject, part``, in ``clips``' order.

    ``test_size``/``val_size`` None take the protocol's values (half: 0.5 / 0;
    kay2023: 0.5 / 0.1, which it requires).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if protocol == "kay2023":
        for name, given in (("test_size", test_size), ("val_size", val_size)):
            if given is not None and not math.isclose(given, KAY2023[name]):
                raise ValueError(f"kay2023 fixes {name} = {KAY2023[name]}; got {given} (use protocol half to vary it)")
        test_size, val_size = KAY2023["test_size"], KAY2023["val_size"]
    test_size = 0.5 if test_size is None else float(test_size)
    val_size = 0.0 if val_size is None else float(val_size)
    if not 0 < test_size < 1 or not 0 <= val_size < 1:
        raise ValueError(f"test_size must be in (0, 1) and val_size in [0, 1); got {test_size}, {val_size}")

    table = clips[["clip_key", "subject"]].astype(str).reset_index(drop=True)
    counts = table["subject"].value_counts()
    kept = table[table["subject"].isin(counts[counts >= 2].index)]
    if kept["subject"].nunique() < 2:
        raise SplitError(f"only {kept['subject'].nunique()} subject(s) with two or more clips; identification needs at least 2")
    n_test = math.ceil(test_size * len(kept))
    if n_test < kept["subject"].nunique() or len(kept) - n_test < kept["subject"].nunique():
        raise SplitError(
            f"test_size {test_size} gives {n_test} test and {len(kept) - n_test} training clips for "
            f"{kept['subject'].nunique()} subjects: each part needs a clip of every subject"
        )
    rest, test = train_test_split(kept, test_size=test_size, stratify=kept["subject"], random_state=seed)
    share_of = len(kept) if protocol == "kay2023" else len(rest)
    val = _validation(rest, math.ceil(val_size * share_of), seed) if val_size > 0 else set()

    part = pd.Series("train", index=table.index)
    part[~table.index.isin(kept.index)] = "excluded"
    part[table.index.isin(test.index)] = "test"
    part[table["clip_key"].isin(val)] = "val"
    return table.assign(part=part.values)


def check_split(split: pd.DataFrame) -> None:
    """Raise ``SplitError`` unless: known parts, no clip twice, every test/val subject has training clips."""
    unknown = sorted(set(split["part"]) - set(PARTS))
    if unknown:
        raise SplitError(f"unknown part(s) {unknown}; expected {PARTS}")
    repeated = split["clip_key"][split["clip_key"].duplicated()].tolist()
    if repeated:
        raise SplitError(f"clip(s) in more than one row/part: {repeated[:5]}")
    trained = set(split.loc[split["part"] == "train", "subject"])
    for name in ("test", "val"):
        untrained = sorted(set(split.loc[split["part"] == name, "subject"]) - trained)
        if untrained:
            raise SplitError(f"{name} subject(s) without training clips: {untrained}")
    excluded = set(split.loc[split["part"] == "excluded", "subject"])
    mixed = sorted(excluded & set(split.loc[split["part"] != "excluded", "subject"]))
    if mixed:
        raise SplitError(f"subject(s) both excluded and used: {mixed}")


def write_split(split: pd.DataFrame, path: str | Path) -> Path:
    """Check the guarantees, then write ``clip_key, subject, part`` atomically."""
    check_split(split)
    write_csv(path, split[["clip_key", "subject", "part"]])
    return Path(path)


def split_path(cache_path: str | Path, protocol: str, seed: int) -> Path:
    return Path(cache_path) / "splits" / f"{protocol}-seed{seed}.csv"


def write_splits(
    cache_path: str | Path, protocol: str = "half", *, test_size: float | None = None,
    val_size: float | None = None, seed: int = 42, repeats: int = 1,
) -> list[Path]:  # fmt: skip
    """Split a prepared cache with seeds ``seed .. seed + repeats - 1``; returns the split files."""
    from mlib.config import check_value
    from mlib.preprocess import load_index

    check_value("split.repeats", repeats)
    try:
        index = load_index(cache_path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SplitError(f"{Path(cache_path) / 'index.csv'}: not a readable index ({exc})") from exc
    paths = []
    for offset in range(repeats):
        split = make_split(index, protocol, test_size=test_size, val_size=val_size, seed=seed + offset)
        paths.append(write_split(split, split_path(cache_path, protocol, seed + offset)))
    return paths


def load_split(path: str | Path) -> pd.DataFrame:
    """A split file, subjects as text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such split file (run mlib split)")
    split = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("clip_key", "subject", "part") if c not in split.columns]
    if missing:
        raise ValueError(f"{path}: lacks columns {missing}")
    repeated = sorted(set(split.loc[split["clip_key"].duplicated(), "clip_key"]))
    if repeated:
        raise SplitError(f"{path}: names clip(s) more than once: {', '.join(repeated[:5])}")
    return split


def split_counts(split: pd.DataFrame) -> pd.DataFrame:
    """Clips and subjects per part, in the order train, val, test, excluded."""
    grouped = split.groupby("part").agg(clips=("clip_key", "size"), subjects=("subject", "nunique"))
    return grouped.reindex([p for p in PARTS if p in grouped.index])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mlib.config import load_defaults

    defaults = load_defaults()["split"]
    parser.add_argument("--cache", required=True, help="a prepared cache folder (holding index.csv)")
    parser.add_argument("--protocol", default=defaults["protocol"], choices=PROTOCOLS)
    parser.add_argument("--test-size", type=float, default=None, help=f"share of clips tested on (half: default {defaults['test_size']})")
    parser.add_argument("--val-size", type=float, default=None, help=f"validation share (half: of the non-test clips, default {defaults['val_size']})")
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    parser.add_argument("--repeats", type=int, default=defaults["repeats"], help="splits with seeds seed, seed + 1, ...")


def main(args: argparse.Namespace) -> int:
    from mlib.config import load_defaults

    from mlib.config import resolve

    given = {"protocol": args.protocol, "seed": args.seed, "repeats": args.repeats}
    given.update({k: v for k, v in (("test_size", args.test_size), ("val_size", args.val_size)) if v is not None})
    resolve(None, {"split": given})  # the flags are split.* keys: out-of-range values stop here
    defaults = load_defaults()["split"]
    test_size, val_size = args.test_size, args.val_size
    if args.protocol == "half":
        test_size = defaults["test_size"] if test_size is None else test_size
        val_size = defaults["val_size"] if val_size is None else val_size
    paths = write_splits(args.cache, args.protocol, test_size=test_size, val_size=val_size, seed=args.seed, repeats=args.repeats)
    for path in paths:
        split = load_split(path)
        print(path)
        print(split_counts(split).to_string())
        excluded = sorted(set(split.loc[split["part"] == "excluded", "subject"]))
        print(f"excluded subjects (fewer than two clips): {', '.join(excluded) if excluded else 'none'}")
    return 0
