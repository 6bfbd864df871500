"""Train / validation / test splits of a prepared cache (``mlib split``, ``book/formats.md`` section 4).

Protocols:

``half`` (the paper): subjects with fewer than two clips are excluded (part
``excluded``): they cannot be both trained and tested on. Of the rest,
``test_size`` (50 %) is the test part, stratified by subject with scikit-learn's
``train_test_split(stratify=...)``. With ``val_size`` > 0 that share of the
non-test clips becomes the validation part (see "validation" below). ``half``
is the protocol that guarantees every test subject has training clips.

``kay2023`` (the original code, re-implemented): what
``split_train_test_and_create_csv`` in ``MicroExpressionsCode/datasets/DatasetsUtils.py``
of ``KayTuval/PersonRecognition_using_Facial_MicroExpressions`` (commit
7b05a76f967174ab89765d3463ff915a349b5cac) does with the arguments of its
``main_dir/main.py`` (test_size 0.5, val_size 0.1, random_state 42,
min_samples 2): drop subjects with fewer than two clips, then
``train_test_split(test_size=0.5, random_state=seed, stratify=class id)``,
then ``train_test_split(rest, test_size=0.1 / (1 - 0.5), random_state=seed)``
WITHOUT stratification. The validation part is therefore a tenth of ALL clips
(``ceil(0.2 * n_rest)``; the original's files: CASME II 101/26/127, SAMM
60/16/77, SMIC 62/16/79), and a test subject can end up with no training clip:
``untrained_test_subjects`` lists them and ``accuracy_ceiling`` gives the
rank-1 that the split allows at most. Class ids are numbered as the original's
``classids.json`` (by clip count, ``value_counts`` order), because the
stratified split depends on the label order.

``kay2023-original``: the original's published split lists, shipped as package
data (``mlib/paper/reference/kay2023_original/``, provenance in its README): each
clip goes to the part the original file gives it, matched by subject and clip
name (the original's subject ids have no zero padding; they are mapped onto the
adapter's ids). Clips the cache holds and the lists lack (a real coding sheet has
more rows than the lists: CASME II sub04 ``EP12_01f``; SAMM the four single-clip
subjects and ``028_4_1``, ``032_3_1``; SMIC seven clips) go to a part of their
own, ``unlisted``, never trained, validated or tested on, and are reported by
name; a subject keeps its listed clips. Listed clips missing from the cache are
reported by ``original_missing``. A cache that holds none of the listed clips is
not the original's inventory: ``make_split`` stops with one line saying how it
differs (``inventory_difference``).

Validation in ``half``, stratified where possible: only subjects with at least
two non-test clips may give clips to validation (each must keep a training
clip). Their clips are split with ``train_test_split(stratify=subject)``.
Stratification is impossible when the validation part has fewer clips than
there are such subjects, or when the training part would (e.g. a subject with 3
clips: 1 test, then 2 left, 16 subjects but only 8 validation clips); then one
clip per subject is reserved for training (seeded) and the validation clips are
drawn uniformly from the others. A subject with 2 clips has 1 non-test clip and
therefore never validates. A ``val_size`` that asks for more validation clips
than that leaves (every subject keeps a training clip) is refused, naming
``split.val_size``, rather than quietly capped.

Guarantees, checked by ``check_split`` before any file is written: every clip
in exactly one part; for ``half``, every test and every validation subject has
training clips (the ``kay2023`` protocols report the ones that have none
instead). Each split file (named by ``split_path``, the test and validation shares in the
name) has a sidecar ``.json`` (``split_metadata``): the shares, counts,
excluded clips with their reasons, missing clips, untrained test subjects and
the accuracy ceiling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mlib.core.io import write_csv, write_json
from mlib.paper.original import original_split_list, split_list_path
from mlib.preprocess.open_set_split import open_set_split, write_open_set_splits
from mlib.preprocess.splitting import (
    KAY2023,
    UNTRAINED_ALLOWED,
    SplitError,
    metadata_path,
    split_path,
    split_sizes,
    validation_keys,
)

PROTOCOLS = ("half", "kay2023", "kay2023-original", "open-set")  # open-set: mlib.preprocess.open_set_split
PARTS = ("train", "val", "test", "excluded", "unlisted")
USED_PARTS = ("train", "val", "test")
TOO_FEW_CLIPS = "subject has fewer than two clips"
NOT_IN_ORIGINAL = "not in the original's split list"


def make_split(
    clips: pd.DataFrame, protocol: str = "half", *, test_size: float | None = None,
    val_size: float | None = None, seed: int = 42, dataset: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One split of ``clips`` (columns ``clip_key``, ``subject``; ``clip`` and ``dataset`` for
    ``kay2023-original``): ``clip_key, subject, part, reason``, in ``clips``' order.

    ``reason`` says why an ``excluded`` clip is not used (empty otherwise).
    ``test_size``/``val_size`` None take the protocol's values (half: 0.5 / 0;
    kay2023: 0.5 / 0.1, which it requires; kay2023-original: the original's files).
    ``dataset`` (kay2023-original only) defaults to the table's ``dataset`` column.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if protocol == "open-set":  # its own shares (mlib.preprocess.open_set_split)
        return _open_set_fold0(clips, seed, val_size)
    test_size, val_size = split_sizes(protocol, test_size, val_size)
    if protocol == "kay2023-original":
        return _original_split(clips, _dataset_of(clips, dataset))
    if not 0 < test_size < 1 or not 0 <= val_size < 1:
        raise ValueError(f"test_size must be in (0, 1) and val_size in [0, 1); got {test_size}, {val_size}")

    table = clips[["clip_key", "subject"]].astype(str).reset_index(drop=True)
    counts = table["subject"].value_counts()
    kept = table[table["subject"].isin(counts[counts >= 2].index)]
    if kept["subject"].nunique() < 2:
        raise SplitError(
            f"only {kept['subject'].nunique()} subject(s) with two or more clips; identification needs at least 2"
        )
    n_test = math.ceil(test_size * len(kept))
    if n_test < kept["subject"].nunique() or len(kept) - n_test < kept["subject"].nunique():
        raise SplitError(
            f"test_size {test_size} gives {n_test} test and {len(kept) - n_test} training clips for "
            f"{kept['subject'].nunique()} subjects: each part needs a clip of every subject"
        )
    if protocol == "kay2023":
        test, val = _kay2023(kept, seed)
    else:
        rest, test = train_test_split(kept, test_size=test_size, stratify=kept["subject"], random_state=seed)
        val = validation_keys(rest, math.ceil(val_size * len(rest)), seed, val_size) if val_size > 0 else set()

    part = pd.Series("train", index=table.index)
    part[~table.index.isin(kept.index)] = "excluded"
    part[table.index.isin(test.index)] = "test"
    part[table["clip_key"].isin(val)] = "val"
    reason = np.where(part == "excluded", TOO_FEW_CLIPS, "")
    return table.assign(part=part.values, reason=reason)


def _kay2023(kept: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, set[str]]:
    """The test rows and validation keys of the original's ``split_train_test_and_create_csv``
    (``MicroExpressionsCode/datasets/DatasetsUtils.py``, commit 7b05a76f967174ab89765d3463ff915a349b5cac).

    Labels are the original's class ids (``make_videos_of_microexpression_in_slowfast_directory``:
    subjects numbered in ``value_counts`` order), so the stratified test split orders classes as it did.
    """
    labels = kept["subject"].map(value_counts_class_ids(kept["subject"]))
    test_size, val_size = KAY2023["test_size"], KAY2023["val_size"]
    rest, test = train_test_split(kept, test_size=test_size, random_state=seed, stratify=labels)
    _, val = train_test_split(rest, test_size=val_size / (1 - test_size), random_state=seed)
    return test, set(val["clip_key"])


def value_counts_class_ids(subjects: pd.Series) -> dict[str, int]:
    """The original's class ids: ``{subject: i for i, subject in enumerate(df['Subject'].value_counts().index)}``
    (``show_subject_ranking`` and ``make_videos_of_microexpression_in_slowfast_directory`` in
    ``MicroExpressionsCode/datasets/DatasetsUtils.py``, commit 7b05a76f967174ab89765d3463ff915a349b5cac), over
    ``subjects`` (one entry per clip, in the table's order): most clips first, equal counts in the order pandas'
    ``value_counts`` leaves them."""
    return {str(subject): i for i, subject in enumerate(subjects.value_counts().index)}


def published_class_ids(dataset: str) -> dict[str, int]:
    """The original's own class ids of ``dataset`` (the ``class_id`` column of its split list, from its
    ``classids.json``), by adapter subject id."""
    listed = original_split_list(dataset)
    return {s: int(i) for s, i in zip(listed["subject"], listed["class_id"])}


def split_class_ids(split: pd.DataFrame, protocol: str, dataset: str | None = None) -> dict[str, int] | None:
    """The class ids the original would have given a split's used subjects (for the ``tie="original"`` vote):
    ``kay2023-original`` its published ids, ``kay2023`` the ``value_counts`` rule over the kept clips; None for
    ``half``. Only the order matters to the vote; subjects absent from the split keep their published gaps."""
    used = split.loc[split["part"].isin(USED_PARTS), "subject"]
    if protocol == "kay2023-original":
        published = published_class_ids(dataset)
        return {s: published[s] for s in sorted(set(used), key=published.get)}
    if protocol == "kay2023":
        return value_counts_class_ids(used.reset_index(drop=True))
    return None


def _open_set_fold0(clips: pd.DataFrame, seed: int, val_size: float | None) -> pd.DataFrame:
    """Fold 0 of the subject-disjoint protocol with the defaults' ``split.open_set`` settings."""
    from mlib.core.config import load_defaults

    split = load_defaults()["split"]
    return open_set_split(
        clips, seed=seed, val_size=split["val_size"] if val_size is None else val_size, **split["open_set"]
    )


def _write_open_set(cache_path: str | Path, seed: int, val_size: float | None, open_set: Mapping | None) -> list[Path]:
    """Every fold of the open-set protocol (``split.open_set.folds`` files, ``mlib.preprocess.open_set_split``)."""
    from mlib.core.config import load_defaults

    split = load_defaults()["split"]
    return write_open_set_splits(
        cache_path,
        seed=seed,
        val_size=split["val_size"] if val_size is None else val_size,
        settings=split["open_set"] if open_set is None else open_set,
    )


def _dataset_of(clips: pd.DataFrame, dataset: str | None) -> str:
    """The database whose original split list applies: ``dataset`` or the table's one ``dataset`` value."""
    if dataset is None:
        names = sorted(set(clips["dataset"].astype(str))) if "dataset" in clips.columns else []
        if len(names) != 1:
            raise ValueError(
                f"kay2023-original needs the clips of one database (a 'dataset' column); got {names or 'none'}"
            )
        dataset = names[0]
    if not split_list_path(dataset).is_file():
        raise ValueError(f"kay2023-original: no original split list for dataset {dataset!r} (casme2, samm, smic)")
    return dataset


def _original_split(clips: pd.DataFrame, dataset: str) -> pd.DataFrame:
    table = clips[["clip_key", "subject", "clip"]].astype(str).reset_index(drop=True)
    listed = original_split_list(dataset).set_index(["subject", "clip"])["part"]
    part = pd.Series([listed.get((s, c), "unlisted") for s, c in zip(table["subject"], table["clip"])])
    if not (part == "train").any() or not (part == "test").any():
        raise SplitError(f"kay2023-original: {inventory_difference(clips, dataset)}")
    reason = np.where(part == "unlisted", NOT_IN_ORIGINAL, "")
    return table[["clip_key", "subject"]].assign(part=part.values, reason=reason)


def inventory_difference(clips: pd.DataFrame, dataset: str) -> str:
    """One line: how ``clips`` differs from the original's ``dataset`` list (listed clips present, clips unlisted)."""
    listed = original_split_list(dataset)
    keys = set(zip(listed["subject"], listed["clip"]))
    present = [(s, c) for s, c in zip(clips["subject"].astype(str), clips["clip"].astype(str))]
    unlisted = [f"{s}/{c}" for s, c in present if (s, c) not in keys]
    found = len(present) - len(unlisted)
    example = f" (e.g. {', '.join(unlisted[:3])})" if unlisted else ""
    return (
        f"not the original's {dataset} inventory: {found} of its {len(keys)} listed clips present, "
        f"{len(unlisted)} clip(s) it does not list{example}; use protocol kay2023 or half for this corpus"
    )


def original_missing(clips: pd.DataFrame, dataset: str | None = None) -> list[str]:
    """Clips of the original's split list that ``clips`` lacks, as ``subject/clip`` (adapter ids)."""
    listed = original_split_list(_dataset_of(clips, dataset))
    present = set(zip(clips["subject"].astype(str), clips["clip"].astype(str)))
    return [f"{s}/{c}" for s, c in zip(listed["subject"], listed["clip"]) if (s, c) not in present]


def untrained_test_subjects(split: pd.DataFrame) -> list[str]:
    """Test subjects without a training clip: their test clips can never be identified."""
    trained = set(split.loc[split["part"] == "train", "subject"])
    return sorted(set(split.loc[split["part"] == "test", "subject"]) - trained)


def accuracy_ceiling(split: pd.DataFrame) -> float:
    """The highest test rank-1 the split allows: the share of test clips whose subject was trained on."""
    test = split[split["part"] == "test"]
    return (
        float(1 - test["subject"].isin(untrained_test_subjects(split)).sum() / len(test)) if len(test) else float("nan")
    )


def split_metadata(
    split: pd.DataFrame,
    protocol: str,
    seed: int,
    missing: list[str] = (),
    class_ids: dict[str, int] | None = None,
    test_size: float | None = None,
    val_size: float | None = None,
) -> dict:
    """What the split file's sidecar holds: the protocol's shares, counts, exclusions with reasons, unlisted
    and missing clips, the ceiling, and the original's class ids of the subjects (``split_class_ids``; None
    for ``half``)."""
    test_size, val_size = split_sizes(protocol, test_size, val_size)
    untrained = untrained_test_subjects(split)
    test = split[split["part"] == "test"]
    excluded = split[split["part"] == "excluded"]
    reasons = excluded["reason"] if "reason" in split.columns else pd.Series("", index=excluded.index)
    return {
        "protocol": protocol,
        "seed": seed,
        "test_size": test_size,
        "val_size": val_size,
        "counts": {p: int((split["part"] == p).sum()) for p in PARTS},
        "excluded": dict(zip(excluded["clip_key"], reasons)),
        "unlisted": split.loc[split["part"] == "unlisted", "clip_key"].tolist(),
        "missing": list(missing),
        "untrained_test_subjects": untrained,
        "untrained_test_clips": sorted(test.loc[test["subject"].isin(untrained), "clip_key"]),
        "accuracy_ceiling": accuracy_ceiling(split),
        "class_ids": class_ids,
    }


def check_split(split: pd.DataFrame, allow_untrained: bool = False) -> None:
    """Raise ``SplitError`` unless: known parts, no clip twice, every test/val subject has training
    clips (unless ``allow_untrained``: the kay2023 protocols, which report them instead)."""
    unknown = sorted(set(split["part"]) - set(PARTS))
    if unknown:
        raise SplitError(f"unknown part(s) {unknown}; expected {PARTS}")
    repeated = split["clip_key"][split["clip_key"].duplicated()].tolist()
    if repeated:
        raise SplitError(f"clip(s) in more than one row/part: {repeated[:5]}")
    trained = set(split.loc[split["part"] == "train", "subject"])
    for name in () if allow_untrained else ("test", "val"):
        untrained = sorted(set(split.loc[split["part"] == name, "subject"]) - trained)
        if untrained:
            raise SplitError(f"{name} subject(s) without training clips: {untrained}")
    excluded = set(split.loc[split["part"] == "excluded", "subject"])
    mixed = sorted(excluded & set(split.loc[split["part"] != "excluded", "subject"]))
    if mixed:
        raise SplitError(f"subject(s) both excluded and used: {mixed}")


def write_split(split: pd.DataFrame, path: str | Path, metadata: dict | None = None) -> Path:
    """Check the guarantees, then write ``clip_key, subject, part`` atomically, and ``metadata``
    (``split_metadata``) beside it as ``<name>.json``; its protocol decides which guarantees apply."""
    check_split(split, allow_untrained=(metadata or {}).get("protocol") in UNTRAINED_ALLOWED)
    write_csv(path, split[["clip_key", "subject", "part"]])
    if metadata is not None:
        write_json(metadata_path(path), metadata)
    return Path(path)


def write_splits(
    cache_path: str | Path, protocol: str = "half", *, test_size: float | None = None,
    val_size: float | None = None, seed: int = 42, repeats: int = 1, open_set: Mapping | None = None,
) -> list[Path]:  # fmt: skip
    """Split a prepared cache with seeds ``seed .. seed + repeats - 1``; returns the split files.

    ``kay2023-original`` is one fixed split (its seed only names the file); ``open-set`` writes one file per
    fold with the ``split.open_set`` settings ``open_set`` (None: the defaults')."""
    from mlib.core.config import check_value
    from mlib.preprocess import load_index

    check_value("split.repeats", repeats)
    if protocol == "open-set":
        if repeats != 1 or test_size is not None:
            raise ValueError(
                "open-set: its folds (split.open_set.folds) are the repeats; repeats must be 1 and test_size unset"
            )
        return _write_open_set(cache_path, seed, val_size, open_set)
    if protocol == "kay2023-original" and repeats != 1:
        raise ValueError(f"kay2023-original is the original's one split; repeats must be 1, got {repeats}")
    try:
        index = load_index(cache_path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SplitError(f"{Path(cache_path) / 'index.csv'}: not a readable index ({exc})") from exc
    dataset = _dataset_of(index, None) if protocol == "kay2023-original" else None
    missing = original_missing(index, dataset) if dataset else []
    paths = []
    for offset in range(repeats):
        split = make_split(index, protocol, test_size=test_size, val_size=val_size, seed=seed + offset)
        metadata = split_metadata(
            split, protocol, seed + offset, missing, split_class_ids(split, protocol, dataset), test_size, val_size
        )
        path = split_path(cache_path, protocol, seed + offset, test_size, val_size)
        paths.append(write_split(split, path, metadata))
    return paths


def untrained_allowed(split_file: str | Path) -> bool:
    """Whether a split file's sidecar names a protocol that may leave test subjects untrained (kay2023*)."""
    path = metadata_path(split_file)
    return path.is_file() and json.loads(path.read_text()).get("protocol") in UNTRAINED_ALLOWED


def load_split_metadata(split_file: str | Path) -> dict:
    """A split file's sidecar (``split_metadata``)."""
    path = metadata_path(split_file)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such split sidecar (rerun mlib split)")
    return json.loads(path.read_text())


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
    """Clips and subjects per part, in the order train, val, test, excluded (open-set: then enrol, probe)."""
    grouped = split.groupby("part").agg(clips=("clip_key", "size"), subjects=("subject", "nunique"))
    return grouped.reindex([p for p in (*PARTS, "enrol", "probe") if p in grouped.index])


def original_inventory(metadata: dict) -> dict:
    """A ``kay2023-original`` split's clips against the original's lists: listed, used, unlisted, missing."""
    counts = metadata["counts"]
    used = sum(counts.get(p, 0) for p in USED_PARTS)
    return {
        "listed": used + len(metadata["missing"]),
        "used": used,
        "unlisted": len(metadata.get("unlisted", [])),
        "missing": len(metadata["missing"]),
    }


def original_inventory_line(metadata: dict) -> str:
    """``original_inventory`` as the line ``mlib split`` prints."""
    return "original's lists: " + ", ".join(f"{k} {v}" for k, v in original_inventory(metadata).items())


def original_inventory_note(metadata: dict) -> str:
    """One sentence for a page: ``original_inventory`` and the unlisted and missing clips by name."""
    named = "; ".join(
        f"{what}: {', '.join(names)}"
        for what, names in (("unlisted", metadata.get("unlisted", [])), ("missing", metadata["missing"]))
        if names
    )
    return f"Against the original's split list, {original_inventory_line(metadata).split(': ', 1)[1]}" + (
        f" ({named})." if named else "."
    )


def split_report(split: pd.DataFrame, metadata: dict) -> str:
    """The lines ``mlib split`` prints: counts, exclusions by reason, missing clips, untrained test subjects."""
    lines = [split_counts(split).to_string()]
    if metadata["protocol"] == "open-set":
        return "\n".join(
            lines
            + [
                f"fold {metadata['fold']} of {metadata['folds']}: enrolled {', '.join(metadata['enrolled_subjects'])}; "
                f"never enrolled {', '.join(metadata['never_enrolled_subjects']) or 'none'}"
            ]
        )
    if metadata["protocol"] != "kay2023-original":
        excluded = sorted(set(split.loc[split["part"] == "excluded", "subject"]))
        lines.append(f"excluded subjects (fewer than two clips): {', '.join(excluded) if excluded else 'none'}")
    by_reason: dict[str, list[str]] = {}
    for key, reason in metadata["excluded"].items():
        by_reason.setdefault(reason, []).append(key)
    for reason, keys in by_reason.items():
        lines.append(f"excluded, {reason} ({len(keys)}): {', '.join(keys)}")
    if metadata["protocol"] == "kay2023-original":
        lines.append(original_inventory_line(metadata))
        for what, names in (
            ("unlisted (the sheet has them, the original's lists do not; never used)", metadata.get("unlisted", [])),
            ("listed by the original but missing here", metadata["missing"]),
        ):
            lines.append(f"{what} ({len(names)}): {', '.join(names) if names else 'none'}")
    untrained = metadata["untrained_test_subjects"]
    lines.append(
        f"test subjects without a training clip: {', '.join(untrained) if untrained else 'none'} "
        f"({len(metadata['untrained_test_clips'])} of {metadata['counts']['test']} test clips); "
        f"accuracy ceiling {metadata['accuracy_ceiling']:.1%}"
    )
    return "\n".join(lines)
