"""Ensemble voting over the saved per-clip probabilities of finished runs.

Nothing is retrained: every member is a finished run folder (``book/formats.md``
section 5) and the ensemble reads its ``predictions.csv``. All members must
hold the same validation and test clips with the same true subjects and the
same class list; otherwise the ensemble is refused, naming the run folders.

Methods
-------
``hard``
    Majority vote of the members' predicted classes (each member's argmax).
    With TWO members a majority vote cannot outvote anyone: the two agree, or
    each class has one vote and the tie rule alone decides. Two tie rules:

    ``ours`` (the default): among the classes with the most votes, the one
    with the highest mean probability over the members wins; if that is tied
    too, the class that comes first in the class order (the order of the
    ``p:<subject>`` columns).

    ``original``: what the original code's fusion did (``original_vote``).
    It never looked at probabilities: each member's output became a one-hot
    argmax and the most frequent one-hot row won, ties to the row that
    ``numpy.unique`` sorts first, i.e. the HIGHER class id in the original's
    numbering (classes numbered by clip count: the published ids on a
    ``kay2023-original`` split, the original's ``value_counts`` rule on
    ``kay2023``; ``run_class_ids``). A
    1-1 disagreement of two models therefore goes to the subject with FEWER
    clips, whichever model was more confident; the paper's "majority vote of
    the two" (Table 3) is an identity-numbering rule, not a confidence rule.

    The scores returned rank classes by (votes, then the tie rule's order), so
    rank-5 is defined for hard votes too.
``soft``
    Mean of the members' probability vectors; argmax (first class on ties).
``weighted``
    Weighted mean of the probability vectors. Weights are given, or chosen on
    the VALIDATION part: every weight vector on a simplex grid of step 0.1 is
    tried and the best validation rank-1 wins (ties: the vector closest to
    equal weights, then the first found).

Searching ensembles of a grid (``search``) scores every set of one to
``max_size`` runs with every method on validation and test, then chooses on
validation rank-1. The test-picked set (the best test rank-1) is reported
beside it, labelled as what the original code reported: its numbers were the
best test accuracies across the grid (book/original-code.md), an optimistic
figure because the test set chose the model.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mlib.core import io, metrics

METHODS = ("hard", "soft", "weighted")
TIE_RULES = ("ours", "original")
PARTS = ("val", "test")
WEIGHT_STEP = 0.1
ENSEMBLES_COLUMNS = [
    "members",
    "size",
    "method",
    "weights",
    "val_rank1",
    "val_rank5",
    "test_rank1",
    "test_rank5",
    "test_ci_low",
    "test_ci_high",
    "n_val",
    "n_test",
]


class EnsembleError(ValueError):
    """Runs that cannot be combined (different clips, subjects or classes) or bad input."""


@dataclass
class RunPredictions:
    """One finished run's saved predictions: per part, clip keys, true subjects, probabilities."""

    run_dir: Path
    classes: list[str]
    clip_keys: dict[str, np.ndarray] = field(default_factory=dict)
    subjects: dict[str, list[str]] = field(default_factory=dict)
    probs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.run_dir.name


def load_predictions(run_dir: str | Path) -> RunPredictions:
    """Read a finished run's ``predictions.csv`` (``mlib.core.metrics.read_predictions``), sorted by clip key."""
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        raise EnsembleError(f"{run_dir}: not a finished run (no metrics.json)")
    run = None
    for part in PARTS:
        try:
            found = metrics.read_predictions(run_dir / "predictions.csv", part=part)
        except (FileNotFoundError, ValueError) as exc:
            raise EnsembleError(str(exc)) from exc
        if run is None:
            run = RunPredictions(run_dir=run_dir, classes=list(found.classes))
        order = np.argsort(np.asarray(found.clip_keys, dtype=str), kind="stable")
        run.clip_keys[part] = np.asarray(found.clip_keys, dtype=str)[order]
        run.subjects[part] = [found.y_true[i] for i in order]
        run.probs[part] = found.proba[order]
    if len(run.clip_keys["test"]) == 0:
        raise EnsembleError(f"{run_dir / 'predictions.csv'}: no test clips")
    return run


def check_compatible(runs: Sequence[RunPredictions]) -> None:
    """Refuse runs that do not share class lists, clips and true subjects, naming the folders."""
    if len(runs) < 1:
        raise EnsembleError("an ensemble needs at least one run")
    first = runs[0]
    for other in runs[1:]:
        pair = f"{first.run_dir} and {other.run_dir}"
        if other.classes != first.classes:
            raise EnsembleError(f"{pair} have different class lists: {first.classes} vs {other.classes}")
        for part in PARTS:
            if not np.array_equal(other.clip_keys[part], first.clip_keys[part]):
                only = sorted(set(first.clip_keys[part]) ^ set(other.clip_keys[part]))[:5]
                raise EnsembleError(f"{pair} do not hold the same {part} clips (e.g. {only})")
            if other.subjects[part] != first.subjects[part]:
                raise EnsembleError(f"{pair} disagree on the true subjects of their {part} clips")


def hard_vote(probs: Sequence[np.ndarray], tie: str = "ours", class_ids: Sequence[int] | None = None) -> np.ndarray:
    """Majority-vote scores (n_clips, n_classes); the highest score is the voted class.

    Each member votes for its argmax (first class on a tie within a member).
    Classes are ranked by votes, then by the tie rule (module docstring):
    ``ours`` by mean probability, then class order; ``original`` by the
    original's class id, higher first (``class_ids[i]`` is the id of column
    i). The score of a class is its position in that ranking (normalised to
    sum to one). The scores have no ties, so every metric reads the same
    winner whatever its own tie rule, and rank-5 is defined for hard votes.
    """
    if tie not in TIE_RULES:
        raise EnsembleError(f"unknown tie rule {tie!r}; expected one of {', '.join(TIE_RULES)}")
    stack = np.stack([np.asarray(p, dtype=float) for p in probs])
    n_clips, n_classes = stack.shape[1:]
    votes = np.zeros((n_clips, n_classes))
    for member in stack:
        votes += np.eye(n_classes)[member.argmax(axis=1)]
    if tie == "original":
        ids = _checked_ids(class_ids, n_classes)
        keys = (np.broadcast_to(ids, (n_clips, n_classes)), votes)
    else:
        later_first = np.broadcast_to(-np.arange(n_classes), (n_clips, n_classes))
        keys = (later_first, stack.mean(axis=0), votes)
    order = np.lexsort(keys, axis=-1)  # ascending: winner last
    position = np.argsort(order, axis=-1) + 1.0
    return position / position.sum(axis=1, keepdims=True)


def _checked_ids(class_ids: Sequence[int] | None, n_classes: int) -> np.ndarray:
    """``class_ids`` as an array, refused unless it numbers the ``n_classes`` classes 0..n-1."""
    if class_ids is None:
        raise EnsembleError("the original tie rule needs the original's class ids (original_class_ids)")
    ids = np.asarray(class_ids, dtype=int)
    if sorted(ids.tolist()) != list(range(n_classes)):
        raise EnsembleError(f"class ids {ids.tolist()}: need a numbering 0..{n_classes - 1} of the classes")
    return ids


def original_vote(probs: Sequence[np.ndarray], class_ids: Sequence[int]) -> np.ndarray:
    """The original's fused decision per clip, one-hot in OUR class order (n_clips, n_classes).

    A transcription of the original's fusion: ``load_results_and_predict``
    (``MicroExpressionsCode/model/utils.py``, KayTuval/PersonRecognition_using_
    Facial_MicroExpressions @ 7b05a76f967174ab89765d3463ff915a349b5cac) makes
    each model's output one-hot at its argmax, then pusion 0.2.0's
    ``MacroMajorityVoteCombiner.combine`` (``pusion/core/
    macro_majority_vote_combiner.py``) takes, per clip, ``np.unique(rows,
    axis=0, return_counts=True)`` of the members' one-hot rows (columns in the
    original's class-id order) and the row at ``np.argmax(counts)``: the most
    frequent row, ties to the row ``np.unique`` sorts first. Rows sort
    lexicographically, and the one-hot row of a higher id starts with more
    zeros, so it sorts first: ties go to the highest class id.
    ``hard_vote(..., tie="original")`` ranks classes the same way (a member's
    own exact probability ties aside: there its argmax takes our class order).
    """
    stack = np.stack([np.asarray(p, dtype=float) for p in probs])
    n_classes = stack.shape[2]
    ids = _checked_ids(class_ids, n_classes)
    column_of_id = np.argsort(ids)  # original column j holds our class column_of_id[j]
    one_hot = np.eye(n_classes)[stack[:, :, column_of_id].argmax(axis=2)]  # (members, clips, original ids)
    fused = np.zeros(stack.shape[1:])
    for clip in range(stack.shape[1]):
        rows, counts = np.unique(one_hot[:, clip], axis=0, return_counts=True)
        fused[clip, column_of_id] = rows[np.argmax(counts)]
    return fused


def original_class_ids(subjects: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """The original's class id of each of ``classes``: numbered by clip count, most clips first.

    The original wrote ``classids.json`` as ``{subject: i for i, subject in
    enumerate(df['Subject'].value_counts().index)}`` over all clips of the
    database (``make_videos_of_microexpression_in_slowfast_directory`` and
    ``show_subject_ranking`` in ``MicroExpressionsCode/datasets/DatasetsUtils.py``,
    KayTuval/PersonRecognition_using_Facial_MicroExpressions @ 7b05a76f967174ab89765d3463ff915a349b5cac):
    id 0 for the subject with the most clips. Equal counts fell to the order
    pandas' ``value_counts`` happened to leave them in (an unstable sort of its
    hash table), which the published ids do not follow by name; here they go
    to the subject seen first in ``subjects`` (one entry per clip), so the
    numbering is reproducible. A class without clips gets the last ids.
    """
    counts = pd.Series(list(subjects), dtype=object).value_counts(sort=False)
    first_seen = {s: i for i, s in reversed(list(enumerate(subjects)))}
    order = sorted(
        range(len(classes)), key=lambda i: (-counts.get(classes[i], 0), first_seen.get(classes[i], len(subjects)), i)
    )
    ids = np.empty(len(classes), dtype=int)
    ids[order] = np.arange(len(classes))
    return ids


def run_class_ids(run: RunPredictions) -> np.ndarray:
    """The original's numbering of a run's classes: the class ids its split's sidecar records
    (``mlib.preprocess.splits.split_class_ids``: the published ids on ``kay2023-original``, the original's
    ``value_counts`` rule on ``kay2023``), renumbered 0..n-1 in their order; without them (``half``),
    ``original_class_ids`` counted over its split file (``run.split`` in its config)."""
    from mlib.preprocess.splits import load_split, metadata_path

    config_file = run.run_dir / "config.yaml"
    split_file = (
        (yaml.safe_load(config_file.read_text()) or {}).get("run", {}).get("split") if config_file.is_file() else None
    )
    if not split_file:
        raise EnsembleError(f"{config_file}: no run.split to number the classes by clip count")
    recorded = _recorded_class_ids(metadata_path(split_file))
    if recorded is not None:
        unknown = sorted(set(run.classes) - set(recorded))
        if unknown:
            raise EnsembleError(f"{metadata_path(split_file)}: class_ids lack the run's class(es) {unknown[:5]}")
        ids = np.empty(len(run.classes), dtype=int)
        ids[np.argsort([recorded[c] for c in run.classes], kind="stable")] = np.arange(len(run.classes))
        return ids
    try:
        split = load_split(split_file)
    except (FileNotFoundError, ValueError) as exc:
        raise EnsembleError(str(exc)) from exc
    return original_class_ids(split["subject"].tolist(), run.classes)


def _recorded_class_ids(sidecar: Path) -> dict[str, int] | None:
    """The ``class_ids`` a split sidecar records, or None (no sidecar, or a protocol without them)."""
    if not sidecar.is_file():
        return None
    try:
        return json.loads(sidecar.read_text()).get("class_ids")
    except json.JSONDecodeError as exc:
        raise EnsembleError(f"{sidecar}: not valid JSON: {exc}") from exc


def tie_order_spread(
    runs: Sequence[RunPredictions],
    class_ids: Sequence[int],
    *,
    part: str = "test",
    numberings: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank-1 of one set of runs under each vote and tie rule, and under random class numberings.

    Rows (column ``rule``): ``original numbering`` (the original's tie rule
    with ``class_ids``), ``random numbering`` (``numberings`` uniformly random
    permutations of the ids, seeded), ``ours`` (votes, mean probability, class
    order), ``soft``, and each member alone. With two members the spread of
    the random numberings is what the tie order alone does to the accuracy.
    """
    check_compatible(runs)
    probs = [r.probs[part] for r in runs]
    truth = np.asarray(runs[0].subjects[part])
    classes = np.asarray(runs[0].classes)

    def rank1(scores: np.ndarray) -> float:
        return float(np.mean(classes[scores.argmax(axis=1)] == truth))

    rng = np.random.default_rng(seed)
    rows = [{"rule": f"member: {r.name}", "test_rank1": rank1(r.probs[part])} for r in runs]
    rows += [
        {"rule": "ours", "test_rank1": rank1(hard_vote(probs))},
        {"rule": "soft", "test_rank1": rank1(soft_vote(probs))},
        {"rule": "original numbering", "test_rank1": rank1(original_vote(probs, class_ids))},
    ]
    rows += [
        {"rule": "random numbering", "test_rank1": rank1(original_vote(probs, rng.permutation(len(classes))))}
        for _ in range(numberings)
    ]
    return pd.DataFrame(rows).assign(n_clips=len(truth)).rename(columns={"test_rank1": f"{part}_rank1"})


def tie_order_pair(
    grid_dir: str | Path, table: pd.DataFrame, table3_rows: pd.DataFrame, *, numberings: int = 200, seed: int = 0
) -> pd.DataFrame:
    """``tie_order_spread`` of a grid's Table 3 pair, numbered by its split file's clip counts.

    The pair is the first Adam/AdamW pair of ``table3_rows`` (``table3``) or,
    when the grid has none, the two single runs with the best validation
    rank-1 (``table``, ties: table order).
    """
    if not table3_rows.empty:
        first = table3_rows[table3_rows["pair"] == table3_rows["pair"].min()]
        names = first.loc[first["size"] == 1, "members"].tolist()
    else:
        singles = table[table["size"] == 1].assign(_order=range(int((table["size"] == 1).sum())))
        names = singles.sort_values(["val_rank1", "_order"], ascending=[False, True])["members"].head(2).tolist()
    if len(names) < 2:
        raise EnsembleError(f"{grid_dir}: fewer than two finished runs to vote")
    runs = [load_predictions(Path(grid_dir) / name) for name in names]
    return tie_order_spread(runs, run_class_ids(runs[0]), numberings=numberings, seed=seed)


def soft_vote(probs: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> np.ndarray:
    """(Weighted) mean of the members' probability matrices."""
    stack = np.stack([np.asarray(p, dtype=float) for p in probs])
    if weights is None:
        return stack.mean(axis=0)
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(stack),) or np.any(w < 0) or w.sum() <= 0:
        raise EnsembleError(f"weights {list(weights)}: need {len(stack)} non-negative weights with a positive sum")
    return np.tensordot(w / w.sum(), stack, axes=1)


def weight_grid(n_members: int, step: float = WEIGHT_STEP) -> np.ndarray:
    """All weight vectors with entries in multiples of ``step`` summing to one, each member > 0."""
    units = round(1 / step)
    rows = [c for c in itertools.product(range(1, units + 1), repeat=n_members) if sum(c) == units]
    return np.array(rows, dtype=float) / units


def choose_weights(
    val_probs: Sequence[np.ndarray], val_subjects: Sequence[str], classes: Sequence[str], step: float = WEIGHT_STEP
) -> np.ndarray:
    """The weights with the best validation rank-1 (ties: closest to equal weights, then first)."""
    candidates = weight_grid(len(val_probs), step)
    equal = np.full(len(val_probs), 1 / len(val_probs))
    best, best_key = equal, None
    for w in candidates:
        acc = metrics.rank_k(val_subjects, soft_vote(val_probs, w), classes, k=1)
        key = (acc, -float(np.abs(w - equal).sum()))
        if best_key is None or key > best_key:
            best, best_key = w, key
    return best


def combine(
    runs: Sequence[RunPredictions],
    method: str,
    weights: Sequence[float] | None = None,
    tie: str = "ours",
    class_ids: Sequence[int] | None = None,
) -> dict:
    """Vote the members' val and test probabilities; returns scores per part and the weights used.

    ``tie`` and ``class_ids`` choose the hard vote's tie rule (``hard_vote``).
    """
    if method not in METHODS:
        raise EnsembleError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    check_compatible(runs)
    if tie != "ours" and method != "hard":
        raise EnsembleError(f"the tie rule {tie!r} is a rule of the hard vote, not of {method!r}")
    if method == "hard":
        if weights is not None:
            raise EnsembleError("hard voting takes no weights")
        return {"weights": None, **{p: hard_vote([r.probs[p] for r in runs], tie, class_ids) for p in PARTS}}
    if method == "weighted" and weights is None:
        if len(runs[0].subjects["val"]) == 0:
            raise EnsembleError(f"{runs[0].run_dir}: no validation clips to choose weights on; give --weights")
        weights = choose_weights([r.probs["val"] for r in runs], runs[0].subjects["val"], runs[0].classes)
    if method == "soft" and weights is not None:
        raise EnsembleError("soft voting uses equal weights; use method 'weighted' to give weights")
    used = None if weights is None else [float(w) for w in np.asarray(weights, float) / np.sum(weights)]
    return {"weights": used, **{p: soft_vote([r.probs[p] for r in runs], weights) for p in PARTS}}


def evaluate(
    runs: Sequence[RunPredictions],
    method: str,
    weights: Sequence[float] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    tie: str = "ours",
    class_ids: Sequence[int] | None = None,
) -> dict:
    """One row of ``ensembles.csv`` for the ensemble of ``runs`` with ``method`` (and the hard vote's ``tie``)."""
    voted = combine(runs, method, weights, tie, class_ids)
    classes, val, test = runs[0].classes, runs[0].subjects["val"], runs[0].subjects["test"]
    low, high = metrics.hierarchical_rank1_ci(test, voted["test"], classes, n_boot=n_boot, seed=seed)
    return {
        "members": ";".join(r.name for r in runs),
        "size": len(runs),
        "method": method if len(runs) > 1 else "single",
        "weights": "" if voted["weights"] is None else ";".join(f"{w:.2f}" for w in voted["weights"]),
        "val_rank1": metrics.rank_k(val, voted["val"], classes, k=1),
        "val_rank5": metrics.rank_k(val, voted["val"], classes, k=5),
        "test_rank1": metrics.rank_k(test, voted["test"], classes, k=1),
        "test_rank5": metrics.rank_k(test, voted["test"], classes, k=5),
        "test_ci_low": low,
        "test_ci_high": high,
        "n_val": len(val),
        "n_test": len(test),
    }


def ensemble_table(
    run_dirs: Sequence[str | Path],
    method: str,
    weights: Sequence[float] | None = None,
    *,
    n_boot: int = 1000,
    tie: str = "ours",
) -> pd.DataFrame:
    """Each member alone, then their ensemble: the shape of the paper's Table 3.

    With ``tie="original"`` the classes are numbered as the original numbered
    them, by clip count in the first run's split file (``run_class_ids``).
    """
    if len(run_dirs) < 2:
        raise EnsembleError("an ensemble needs two or more runs")
    folders = [Path(d).resolve() for d in run_dirs]
    twice = next((d for d, f in zip(run_dirs, folders) if folders.count(f) > 1), None)
    if twice is not None:
        raise EnsembleError(f"--runs names {twice} more than once; a run cannot vote with itself")
    runs = [load_predictions(d) for d in run_dirs]
    check_compatible(runs)
    class_ids = run_class_ids(runs[0]) if tie == "original" else None
    rows = [evaluate([r], "soft", n_boot=n_boot) for r in runs]
    rows.append(evaluate(runs, method, weights, n_boot=n_boot, tie=tie, class_ids=class_ids))
    return pd.DataFrame(rows, columns=ENSEMBLES_COLUMNS)


def search(
    run_dirs: Sequence[str | Path],
    *,
    max_size: int = 3,
    methods: Iterable[str] = METHODS,
    candidates: int | None = 12,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """Score every set of 1..``max_size`` runs with every method (singles once, as ``single``).

    ``candidates`` keeps the best runs by VALIDATION rank-1 (ties: input order)
    so that a large grid does not explode combinatorially (162 runs give
    about 700 000 triples); None keeps all. Without validation clips the
    weighted vote is skipped (it has nothing to choose its weights on).
    """
    if max_size < 1:
        raise EnsembleError(f"max_size must be >= 1, got {max_size}")
    runs = [load_predictions(d) for d in run_dirs]
    if not runs:
        raise EnsembleError("no finished runs to search over")
    check_compatible(runs)
    if candidates is not None and len(runs) > candidates:
        val = [metrics.rank_k(r.subjects["val"], r.probs["val"], r.classes, k=1) for r in runs]
        order = sorted(range(len(runs)), key=lambda i: (-np.nan_to_num(val[i], nan=-1.0), i))
        runs = [runs[i] for i in sorted(order[:candidates])]
    if len(runs[0].subjects["val"]) == 0:  # nothing to choose weights on
        methods = [m for m in methods if m != "weighted"]
    rows = [evaluate([r], "soft", n_boot=n_boot) for r in runs]
    for size in range(2, max_size + 1):
        for members in itertools.combinations(runs, size):
            rows += [evaluate(list(members), m, n_boot=n_boot) for m in methods]
    return pd.DataFrame(rows, columns=ENSEMBLES_COLUMNS)


def pick(table: pd.DataFrame, by: str = "val") -> pd.Series:
    """The row a selection on ``by`` ("val" or "test") rank-1 chooses.

    Ties: the smaller ensemble, then the first row. The other part's accuracy
    never breaks a tie, so a validation pick never looks at the test part.
    """
    if by not in PARTS:
        raise EnsembleError(f"pick by 'val' or 'test', got {by!r}")
    column = f"{by}_rank1"
    valid = table[table[column].notna()]
    if valid.empty:
        raise EnsembleError(f"no ensemble has a {by} rank-1 to choose on")
    ordered = valid.assign(_order=range(len(valid))).sort_values(
        [column, "size", "_order"], ascending=[False, True, True]
    )
    return ordered.iloc[0].drop("_order")


def selection_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The validation pick and the test pick side by side, each labelled."""
    val_pick, test_pick = pick(table, "val"), pick(table, "test")
    best_single = pick(table[table["size"] == 1], "val")
    rows = [
        best_single.to_dict() | {"choice": "best single run, chosen on validation"},
        val_pick.to_dict() | {"choice": "ensemble chosen on validation (ours)"},
        test_pick.to_dict() | {"choice": "best test accuracy (what the original code reported; test set chose it)"},
    ]
    return pd.DataFrame(rows)[["choice", *ENSEMBLES_COLUMNS]]


def correct_clips(
    runs: Sequence[RunPredictions], method: str, weights: Sequence[float] | None = None, part: str = "test"
) -> np.ndarray:
    """Per clip of ``part`` (in clip-key order): did the ensemble (or single run) name the subject?"""
    scores = combine(runs, method if len(runs) > 1 else "soft", weights)[part]
    truth = np.asarray(runs[0].subjects[part])
    return np.asarray(metrics.predicted_labels(scores, runs[0].classes)) == truth


def paired_gain(
    ensemble_runs: Sequence[str | Path],
    method: str,
    single_run: str | Path,
    weights: Sequence[float] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """Test rank-1 of an ensemble minus that of one single run, with a paired bootstrap 95 % interval.

    Both are scored on the same test clips; each resample draws subjects, then
    their clips, with replacement (``mlib.core.metrics.paired_difference_draws``) and
    takes the difference on those clips, so the interval is of the gain itself,
    not of two separate accuracies.
    """
    members = [load_predictions(d) for d in ensemble_runs]
    single = load_predictions(single_run)
    check_compatible([*members, single])
    ours, theirs = correct_clips(members, method, weights), correct_clips([single], "soft")
    diff = ours.astype(float) - theirs.astype(float)
    low, high = metrics.percentile_interval(
        metrics.paired_difference_draws(ours, theirs, single.subjects["test"], n_boot, seed)
    )
    return {
        "gain": float(diff.mean()),
        "gain_ci_low": low,
        "gain_ci_high": high,
        "n_test": len(diff),
        "ensemble_test_rank1": float(ours.mean()),
        "single_test_rank1": float(theirs.mean()),
    }


GAIN_FILE = "gain.json"  # gain_of_pick's result, where the claims' rules read it


def gain_of_pick(
    grid_dir: str | Path, table: pd.DataFrame, by: str = "val", *, n_boot: int = 2000, out: str | Path | None = None
) -> dict:
    """The gain of the ensemble picked on ``by`` over the best single run picked on validation
    (written to ``out/gain.json`` when ``out`` is given)."""
    grid_dir = Path(grid_dir)
    chosen = pick(table, by)
    single = pick(table[table["size"] == 1], "val")
    weights = [float(w) for w in str(chosen["weights"]).split(";")] if chosen["method"] == "weighted" else None
    members = [grid_dir / m for m in str(chosen["members"]).split(";")]
    gain = paired_gain(
        members,
        str(chosen["method"]) if len(members) > 1 else "soft",
        grid_dir / single["members"],
        weights,
        n_boot=n_boot,
    )
    found = {"ensemble": chosen["members"], "method": chosen["method"], "single": single["members"], **gain}
    if out is not None:
        io.write_json(Path(out) / GAIN_FILE, found)
    return found


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


SOLVER_KEY = "train.optimizer"


def _pairing_key(cfg: dict) -> tuple:
    """What makes two runs the same experiment but for the solver: what names a run folder
    (``train.run_folder``: model, train identity, input plan, the cache and the split file), the solver
    left out. Paths compare resolved (against the working directory), so a run recorded with a
    relative ``run.cache`` pairs with one recorded with the absolute path (the grid reuses notebook 02's)."""
    from mlib.inputs import InputPlan
    from mlib.training.train import train_identity

    run = cfg.get("run") or {}
    train = {k: v for k, v in train_identity(cfg.get("train") or {}).items() if k != SOLVER_KEY.split(".")[1]}
    where = {k: str(Path(run[k]).resolve()) if run.get(k) else None for k in ("cache", "split")}
    return (
        repr(sorted(_flat({"model": cfg.get("model") or {}, "train": train}).items())),
        where["cache"],
        where["split"],
        repr(InputPlan.from_config(cfg).key()) if cfg.get("data") else None,
    )


def solver_pairs(
    run_dirs: Sequence[str | Path], solvers: tuple[str, str] = ("adam", "adamw")
) -> list[tuple[Path, Path]]:
    """Pairs of runs that differ ONLY in the solver (Table 3's experiment), by :func:`_pairing_key`."""
    keyed: dict[str, dict[tuple, Path]] = {s: {} for s in solvers}
    for run_dir in map(Path, run_dirs):
        config_file = run_dir / "config.yaml"
        if not config_file.is_file():
            continue
        cfg = yaml.safe_load(config_file.read_text()) or {}
        solver = (cfg.get("train") or {}).get(SOLVER_KEY.split(".")[1])
        if solver in keyed:
            keyed[solver].setdefault(_pairing_key(cfg), run_dir)
    first, second = keyed[solvers[0]], keyed[solvers[1]]
    return [(first[k], second[k]) for k in first if k in second]


def table3(run_dirs: Sequence[str | Path], *, n_boot: int = 1000) -> pd.DataFrame:
    """Adam alone, AdamW alone, and their hard and soft votes, for every Adam/AdamW pair."""
    frames = []
    for pair_id, (adam, adamw) in enumerate(solver_pairs(run_dirs)):
        runs = [load_predictions(adam), load_predictions(adamw)]
        check_compatible(runs)
        rows = [
            evaluate([runs[0]], "soft", n_boot=n_boot) | {"model": "adam"},
            evaluate([runs[1]], "soft", n_boot=n_boot) | {"model": "adamw"},
            evaluate(runs, "hard", n_boot=n_boot) | {"model": "hard vote of the two"},
            evaluate(runs, "soft", n_boot=n_boot) | {"model": "soft vote of the two"},
        ]
        frames.append(pd.DataFrame(rows).assign(pair=pair_id))
    if not frames:
        return pd.DataFrame(columns=["pair", "model", *ENSEMBLES_COLUMNS])
    return pd.concat(frames, ignore_index=True)[["pair", "model", *ENSEMBLES_COLUMNS]]


def finished_runs(grid_dir: str | Path) -> list[Path]:
    """The finished run folders listed in ``<grid_dir>/grid.csv`` (status ``done``), in table order."""
    grid_dir = Path(grid_dir)
    table_path = grid_dir / "grid.csv"
    if not table_path.is_file():
        raise EnsembleError(f"{table_path}: no grid table; run `mlib grid` first")
    table = pd.read_csv(table_path, dtype={"run_dir": str})
    done = table[table["status"] == "done"]
    return [grid_dir / d for d in dict.fromkeys(done["run_dir"])]


def search_grid(
    grid_dir: str | Path,
    out: str | Path,
    *,
    max_size: int = 3,
    methods: Iterable[str] = METHODS,
    candidates: int | None = 12,
    n_boot: int = 1000,
) -> dict[str, pd.DataFrame]:
    """Search a grid's finished runs; writes ``ensembles.csv``, ``selection.csv``, ``table3.csv`` to ``out``."""
    run_dirs = finished_runs(grid_dir)
    out = Path(out)
    results = {
        "ensembles": search(run_dirs, max_size=max_size, methods=methods, candidates=candidates, n_boot=n_boot),
        "table3": table3(run_dirs, n_boot=n_boot),
    }
    results["selection"] = selection_summary(results["ensembles"])
    for name, frame in results.items():
        io.write_csv(out / f"{name}.csv", frame)
    return results
