"""What the original grid produced: facts computed from the original code's published outputs alone.

The data are the original repository's own output files, shipped as package
data in ``mlib/paper/reference/kay2023_original/`` (its README gives each file's
source): every grid run's test score (``runs.csv``), every pair's fusion
scores (``fusion-pairs.csv``) and the split lists (``split-<db>.csv``). Nothing
here trains; the page ``notebooks/08-original-grid.py`` shows these numbers.

Computed per database: the spread of test top-1 over the grid and where the
paper's Table 2 / Table 3 numbers rank in it; the rates the split lists fix
(always answering the subject with most training clips; the ceiling set by
test subjects without a training clip); what the two-model fusion did
(pusion's combiners on two crisp members, see ``pair_ties``); and how much
"best of N on test" inflates a number (``expected_best_of_n``,
``noise_best_of_n``), with our own grids' test pick, validation pick and
median beside it (``mlib.experiments.grid.grid_picks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mlib import paper
from mlib.core import metrics

REFERENCE_DIR = Path(__file__).resolve().parent / "reference" / "kay2023_original"
REPOSITORY = "KayTuval/PersonRecognition_using_Facial_MicroExpressions"
COMMIT = "7b05a76f967174ab89765d3463ff915a349b5cac"
ORIGINAL_NAMES = {"samm": "SAMM", "casme2": "CASME2", "smic": "SMIC"}  # our dataset key -> the original's name
SOURCES = {  # the original repository's files each shipped table was read from
    "runs": {
        "samm": "Output/SlowFast/2022-07-08_1100_SAMM/accuracy_scores.csv",
        "casme2": "Output/SlowFast/2022-08-29_0800_CASME2/accuracy_scores.csv",
        "smic": "Output/SlowFast/2022-08-23_1000_SMIC/accuracy_scores.csv",
    },
    "fusion": {
        "samm": "Output/Fusion/2022-07-08_1100_SAMM/accuracy_scores.csv",
        "casme2": "Output/Fusion/2022-08-29_0800_CASME2/accuracy_scores.csv",
        "smic": "Output/Fusion/2022-08-23_1000_SMIC/accuracy_scores.csv",
    },
    "split": {
        "samm": "Output/classes/2022-06-23_1300_SAMM_Split/SAMM/{train,val,test}.csv, classids.json",
        "casme2": "Output/classes/2022-08-29_0800_CASME2/CASME2/{train,val,test}.csv, classids.json",
        "smic": "Output/classes/2022-08-17_0800_SMIC_Split/SMIC/{train,val,test}.csv, classids.json",
    },
}
COMBINERS = (
    "CosineSimilarityCombiner",
    "MacroMajorityVoteCombiner",
    "MicroMajorityVoteCombiner",
    "SimpleAverageCombiner",
)


class OriginalDataError(ValueError):
    """A shipped reference file that is missing or lacks a column."""


def provenance(table: str, dataset: str) -> str:
    """``repository@commit:path`` of the original file a shipped table came from."""
    return f"{REPOSITORY}@{COMMIT[:7]}:{SOURCES[table][dataset]}"


def _read(name: str, columns: Sequence[str]) -> pd.DataFrame:
    path = REFERENCE_DIR / name
    if not path.is_file():
        raise OriginalDataError(f"{path}: missing (the package's shipped reference data)")
    frame = pd.read_csv(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise OriginalDataError(f"{path}: lacks columns {missing}")
    return frame


def _with_dataset(frame: pd.DataFrame) -> pd.DataFrame:
    keys = {name: key for key, name in ORIGINAL_NAMES.items()}
    return frame.assign(dataset=frame["database"].map(keys))


def load_runs() -> pd.DataFrame:
    """The original grid: one row per run (``runs.csv``), with our ``dataset`` key and top-1 as a fraction."""
    runs = _read(
        "runs.csv",
        ["database", "run_name", "alpha", "beta_inv", "batch", "lr", "opt", "top1_acc", "n_test", "n_correct_top1"],
    )
    return _with_dataset(runs).assign(test_rank1=lambda f: f["n_correct_top1"] / f["n_test"])


def load_fusion_pairs() -> pd.DataFrame:
    """Every unordered pair of grid runs and pusion's four combiners' test accuracy (``fusion-pairs.csv``)."""
    columns = [
        "database",
        "SlowFast_0_name",
        "SlowFast_1_name",
        "SlowFast_0_accuracy",
        "SlowFast_1_accuracy",
        *(f"{c}_accuracy" for c in COMBINERS),
    ]
    return _with_dataset(_read("fusion-pairs.csv", columns))


def load_split(dataset: str) -> pd.DataFrame:
    """The original split list of ``dataset``: ``subject, clip, part, class_id, class_name`` per clip."""
    if dataset not in ORIGINAL_NAMES:
        raise OriginalDataError(f"no original split for {dataset!r}; expected one of {', '.join(ORIGINAL_NAMES)}")
    split = _read(f"split-{dataset}.csv", ["subject", "clip", "part", "class_id", "class_name"])
    return split.astype({"subject": str})


def split_list_path(dataset: str) -> Path:
    """The shipped original split list of ``dataset`` (it may not exist: only casme2, samm, smic have one)."""
    return REFERENCE_DIR / f"split-{dataset}.csv"


def original_split_list(dataset: str) -> pd.DataFrame:
    """The original's split of ``dataset`` (``subject, clip, part, class_id, class_name``), subjects
    as the adapter's ids (``6`` -> ``006`` for SAMM). Provenance: ``mlib/paper/reference/kay2023_original/README.md``."""
    from mlib.datasets import DATASETS

    listed = pd.read_csv(split_list_path(dataset), dtype=str, keep_default_na=False)
    return listed.assign(subject=listed["subject"].map(DATASETS[dataset].subject_id))


def split_facts(split: pd.DataFrame) -> dict:
    """What a split list alone fixes about test top-1.

    ``majority_rate``: test accuracy of always answering the subject with the
    most training clips (ties: the first listed). ``ceiling``: the share of
    test clips whose subject has a training clip; a model trained on the
    training part can never name the others (the original validated on its
    validation part and trained on ``train.csv`` only). ``chance``: the study's
    one chance level (``mlib.core.metrics.chance_level``: max of 1/K over the split's
    subjects and the test majority rate).
    """
    parts = split["part"].value_counts()
    train, test = split[split["part"] == "train"], split[split["part"] == "test"]
    majority = train["subject"].value_counts(sort=False).idxmax()
    untrained = test[~test["subject"].isin(set(train["subject"]))]
    return {
        "train": int(parts.get("train", 0)),
        "val": int(parts.get("val", 0)),
        "test": len(test),
        "subjects": int(split["subject"].nunique()),
        "majority_subject": majority,
        "majority_rate": float((test["subject"] == majority).mean()),
        "untrained_subjects": sorted(untrained["subject"].unique().tolist()),
        "untrained_test_clips": len(untrained),
        "ceiling": 1 - len(untrained) / len(test),
        "chance": metrics.chance_level(test["subject"], sorted(split["subject"].unique())),
    }


def rank_in(value: float, scores: Sequence[float]) -> int:
    """1 + how many ``scores`` beat ``value`` by more than rounding (5e-4): its rank among them, best = 1."""
    return 1 + int(np.sum(np.asarray(scores, dtype=float) > value + 5e-4))


def grid_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per database: the grid's test top-1 spread, the split's rates, and the paper's Table 2 number's rank."""
    rows = []
    for dataset, group in runs.groupby("dataset", sort=False):
        scores = group["test_rank1"].to_numpy(float)
        facts = split_facts(load_split(dataset))
        reported = paper.TABLE2_RANK1[dataset]
        rows.append(
            {
                "database": paper.DATASET_NAMES[dataset],
                "runs": len(scores),
                "test clips": int(group["n_test"].iloc[0]),
                "min": scores.min(),
                "median": float(np.median(scores)),
                "max": scores.max(),
                "majority-class rate": facts["majority_rate"],
                "untrained test clips": facts["untrained_test_clips"],
                "ceiling": facts["ceiling"],
                "paper Table 2": reported,
                "rank of Table 2": f"{rank_in(reported, scores)} of {len(scores)}",
            }
        )
    return pd.DataFrame(rows)


def pair_ties(pairs: pd.DataFrame, n_test: int | Sequence[int]) -> pd.DataFrame:
    """Per pair, in clips: what the two-model fusion's tie order decided.

    pusion 0.2.0 on two crisp (one-hot) members: ``SimpleAverageCombiner``
    thresholds the mean at 0.5, so a 1-1 disagreement gives a row with two
    ones and the exact-match accuracy counts it wrong: its accuracy is the
    clips BOTH members got right. ``MacroMajorityVoteCombiner`` gives every
    disagreement to the higher class id (``mlib.experiments.ensemble.original_vote``), so
    it scores ``both_right`` plus the disagreements the higher-id member got
    right, out of ``one_right`` (exactly one member right). Over random class
    numberings each of those goes either way with probability 1/2, so the
    vote's expected accuracy is the members' mean. ``p_at_least`` is the
    chance of winning at least ``won_by_ties`` of ``one_right`` with fair,
    independent coins (independence holds when the disagreements involve
    different pairs of subjects; it is an approximation otherwise).
    """
    n = np.broadcast_to(np.asarray(n_test), len(pairs))
    clips = {
        c: np.rint(pairs[c].to_numpy(float) * n).astype(int)
        for c in (
            "SlowFast_0_accuracy",
            "SlowFast_1_accuracy",
            "SimpleAverageCombiner_accuracy",
            "MacroMajorityVoteCombiner_accuracy",
        )
    }
    first, second = clips["SlowFast_0_accuracy"], clips["SlowFast_1_accuracy"]
    both, vote = clips["SimpleAverageCombiner_accuracy"], clips["MacroMajorityVoteCombiner_accuracy"]
    one_right = first + second - 2 * both
    won = vote - both
    return pd.DataFrame(
        {
            "first": first,
            "second": second,
            "both_right": both,
            "one_right": one_right,
            "vote": vote,
            "won_by_ties": won,
            "expected_vote": (first + second) / 2,
            "p_at_least": stats.binom.sf(won - 1, one_right, 0.5),
            "n_test": n,
        },
        index=pairs.index,
    )


def pusion_identity_violations(pairs: pd.DataFrame, n_test: int | Sequence[int]) -> pd.DataFrame:
    """Pairs whose scores break what pusion's code implies for two crisp members (``pair_ties``).

    Cosine similarity of two members is symmetric, so the combiner returns
    the first member's output; the micro vote and the simple average both
    count only the clips both got right; the macro vote lies between
    ``both_right`` and ``both_right + one_right``. An empty result means the
    published numbers agree with the reading of pusion's code.
    """
    n = np.broadcast_to(np.asarray(n_test), len(pairs))
    ties = pair_ties(pairs, n)

    def clips(column: str) -> np.ndarray:
        return np.rint(pairs[column].to_numpy(float) * n).astype(int)

    broken = (
        (clips("CosineSimilarityCombiner_accuracy") != ties["first"].to_numpy())
        | (clips("MicroMajorityVoteCombiner_accuracy") != ties["both_right"].to_numpy())
        | (ties["both_right"] > np.minimum(ties["first"], ties["second"]))
        | (ties["won_by_ties"] < 0)
        | (ties["won_by_ties"] > ties["one_right"])
    )
    return pairs[broken.to_numpy()]


def _test_sizes(runs: pd.DataFrame) -> dict[str, int]:
    return runs.groupby("dataset")["n_test"].first().astype(int).to_dict()


def fusion_summary(runs: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per database: the pairs, the best macro vote (chosen on test) and its members, and how often a vote won."""
    sizes = _test_sizes(runs)
    rows = []
    for dataset, group in pairs.groupby("dataset", sort=False):
        ties = pair_ties(group, sizes[dataset])
        best = ties["vote"].idxmax()
        better = ties["vote"] > np.maximum(ties["first"], ties["second"])
        rows.append(
            {
                "database": paper.DATASET_NAMES[dataset],
                "pairs": len(group),
                "test clips": sizes[dataset],
                "best single run": runs.loc[runs["dataset"] == dataset, "test_rank1"].max(),
                "best macro vote (chosen on test)": ties.at[best, "vote"] / sizes[dataset],
                "its members": f"{ties.at[best, 'first'] / sizes[dataset]:.3f} / {ties.at[best, 'second'] / sizes[dataset]:.3f}",
                "pairs whose vote beats both members": f"{int(better.sum())} ({better.mean():.1%})",
                "median gain of the vote over the better member": float(
                    np.median((ties["vote"] - np.maximum(ties["first"], ties["second"])) / sizes[dataset])
                ),
            }
        )
    return pd.DataFrame(rows)


TWO_MEMBER_MEANING = {  # what each pusion 0.2.0 combiner amounts to on two one-hot members (pair_ties)
    "CosineSimilarityCombiner": "the first member's answer (the similarity is symmetric)",
    "MacroMajorityVoteCombiner": "the members' answer if they agree, else the higher class id",
    "MicroMajorityVoteCombiner": "right only where both members are right",
    "SimpleAverageCombiner": "right only where both members are right",
}


def _table3_match(runs: pd.DataFrame, pairs: pd.DataFrame) -> tuple[pd.Series, bool, pd.DataFrame]:
    """The SMIC pair of Table 1's setting trained with Adam and with AdamW, whether member 0 is Adam, all SMIC pairs."""
    setting = paper.TABLE1["smic"]
    smic = runs[
        (runs["dataset"] == "smic")
        & (runs["alpha"] == setting["alpha"])
        & (runs["beta_inv"] == setting["beta_inv"])
        & (runs["batch"] == setting["batch_size"])
        & np.isclose(runs["lr"], setting["lr"])
    ]
    names = {opt: smic.loc[smic["opt"] == opt, "run_name"] for opt in ("adam", "adamw")}
    if any(len(v) != 1 for v in names.values()):
        raise OriginalDataError(
            f"{REFERENCE_DIR / 'runs.csv'}: no single Adam and AdamW run with Table 1's SMIC setting"
        )
    smic_pairs = pairs[pairs["dataset"] == "smic"]
    members = smic_pairs[["SlowFast_0_name", "SlowFast_1_name"]]
    match = smic_pairs[members.isin([names["adam"].iloc[0], names["adamw"].iloc[0]]).all(axis=1)]
    if len(match) != 1:
        raise OriginalDataError(f"{REFERENCE_DIR / 'fusion-pairs.csv'}: the Table 3 pair is not listed once")
    return match.iloc[0], match.iloc[0]["SlowFast_0_name"] == names["adam"].iloc[0], smic_pairs


def table3_pair(runs: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3 pair (SMIC, Table 1's setting with Adam and with AdamW): each member and combiner.

    One row per member and per pusion combiner with its test top-1, the
    paper's Table 3 number where it reports one, and what the combiner
    amounts to on two one-hot members.
    """
    row, first_is_adam, _ = _table3_match(runs, pairs)
    order = ("adam", "adamw") if first_is_adam else ("adamw", "adam")
    table = [
        {
            "model": f"{opt} alone (member {i})",
            "test top-1": row[f"SlowFast_{i}_accuracy"],
            "paper Table 3": paper.TABLE3_RANK1[opt],
            "with two one-hot members": "",
        }
        for i, opt in enumerate(order)
    ]
    table += [
        {
            "model": combiner,
            "test top-1": row[f"{combiner}_accuracy"],
            "paper Table 3": paper.TABLE3_RANK1["ensemble"] if combiner == "MacroMajorityVoteCombiner" else np.nan,
            "with two one-hot members": TWO_MEMBER_MEANING[combiner],
        }
        for combiner in COMBINERS
    ]
    return pd.DataFrame(table)


def table3_ties(runs: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    """The Table 3 pair's macro vote: its rank among all SMIC pairs and what the tie order decided (``pair_ties``)."""
    row, _, smic_pairs = _table3_match(runs, pairs)
    n_test = _test_sizes(runs)["smic"]
    ties = pair_ties(row.to_frame().T, n_test).iloc[0]
    vote = "MacroMajorityVoteCombiner_accuracy"
    return {
        "rank among SMIC pairs": rank_in(row[vote], smic_pairs[vote]),
        "SMIC pairs": len(smic_pairs),
        "test clips": n_test,
        "both right": int(ties["both_right"]),
        "exactly one right": int(ties["one_right"]),
        "won by the tie order": int(ties["won_by_ties"]),
        "expected vote over random numberings": float(ties["expected_vote"]) / n_test,
        "chance of winning as many with fair coins": float(ties["p_at_least"]),
    }


def expected_best_of_n(scores: Sequence[float], n: int) -> float:
    """Expected maximum of ``n`` scores drawn with replacement from ``scores`` (exact, no sampling).

    With the scores sorted, the i-th smallest is the maximum with probability
    (i/M)^n - ((i-1)/M)^n. n = 1 gives the mean; growing n tends to the max.
    """
    values = np.sort(np.asarray(scores, dtype=float))
    if values.size == 0 or n < 1:
        raise ValueError(f"need scores and n >= 1, got {values.size} scores and n = {n}")
    share = np.arange(values.size + 1) / values.size
    return float(np.sum(values * np.diff(share**n)))


def noise_best_of_n(accuracy: float, n_test: int, n_runs: int) -> dict:
    """Best of ``n_runs`` test scores when every run has the same true ``accuracy`` (binomial test noise).

    Each run's correct clips ~ Binomial(n_test, accuracy), independently; the
    expected maximum is exact: sum over k of P(max >= k) = 1 - F(k - 1)^n.
    Runs that share one test set are correlated, so this is what noise alone
    can add when the runs are independent, the most it can add.
    """
    k = np.arange(1, n_test + 1)
    below = stats.binom.cdf(k - 1, n_test, accuracy)
    expected_max = float(np.sum(1 - below**n_runs)) / n_test
    median = float(stats.binom.median(n_test, accuracy)) / n_test
    return {
        "accuracy": accuracy,
        "n_test": n_test,
        "runs": n_runs,
        "median run": median,
        "expected best": expected_max,
        "inflation": expected_max - median,
    }


def best_of_n_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per database: the observed best and median, the expected best of N drawn from the grid's own scores,
    and what binomial noise alone gives N runs that all score the median."""
    rows = []
    for dataset, group in runs.groupby("dataset", sort=False):
        scores = group["test_rank1"].to_numpy(float)
        noise = noise_best_of_n(float(np.median(scores)), int(group["n_test"].iloc[0]), len(scores))
        rows.append(
            {
                "database": paper.DATASET_NAMES[dataset],
                "runs (N)": len(scores),
                "test clips": noise["n_test"],
                "median run": float(np.median(scores)),
                "best run (reported)": scores.max(),
                "expected best of N, drawn from the grid": expected_best_of_n(scores, len(scores)),
                "expected best of N, noise only at the median": noise["expected best"],
            }
        )
    return pd.DataFrame(rows)


def best_of_n_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Expected best of n = 1..N runs drawn from each database's N grid scores (long format)."""
    rows = [
        {
            "database": paper.DATASET_NAMES[dataset],
            "n": n,
            "grid runs": len(group),
            "expected best": expected_best_of_n(group["test_rank1"], n),
        }
        for dataset, group in runs.groupby("dataset", sort=False)
        for n in range(1, len(group) + 1)
    ]
    return pd.DataFrame(rows)


def table3_pair_row(runs: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """The Table 3 pair's row of ``fusion-pairs.csv``."""
    return _table3_match(runs, pairs)[0]
