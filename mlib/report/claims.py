"""The paper's claims, each asked two questions that are never mixed: one named rule per claim and question.

*Replication*: does our evidence reproduce the claim? Computed from this
study's runs only; its outcomes are ``OUTCOMES`` (reproduced, not reproduced,
cannot be tested on this data: an accuracy on synthetic faces says nothing
about real ones, while the method's claims, what voting adds and where
Grad-CAM looks, can be tested on any corpus).

*Protocol*: how the paper's number was obtained, read from the original
code's own published outputs (``mlib.paper.original``) as graded facts: each
protocol rule returns one grade from its declared outcomes and a short label
computed from the files ("selected on test: best of 26 runs, median 37.7 %,
rank 1").

Every rule returns a :class:`Verdict` (the outcome, the evidence in words, the
book page that shows it) and declares the outcomes it can return
(``rule.OUTCOMES``, registered in ``RULES``); ``tests/test_claims.py`` reaches
every declared outcome of every rule from crafted evidence. The rules take the
intervals and the chance level as fields of their evidence and never compute
one. The front page (notebook ``00-results``) shows ``study_claims``' table.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from mlib import paper
from mlib.core.verdict import Verdict
from mlib.core.verdict import rule as verdict_rule

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
UNTESTABLE = "cannot be tested on this data"
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, UNTESTABLE)  # every replication rule's outcomes
VERDICTS = OUTCOMES  # the name the book browser test reads the front page's verdicts by
REPLICATION, PROTOCOL = "replication (our runs)", "protocol (the original's files)"
ROUNDING = 5e-4  # the paper prints percentages with two decimals: closer than this is equal

# The book pages (relative to book/) that show each claim's evidence; {dataset} is the corpus's name.
PAGES = {
    "original": "executed/08-original-grid.ipynb",
    "table2": "executed/02-train-{dataset}.ipynb",
    "grid": "executed/04-grid-search-{dataset}.ipynb",
    "ensemble": "executed/05-ensemble-{dataset}.ipynb",
    "gradcam": "executed/06-gradcam-{dataset}.ipynb",
    "baseline": "executed/03-baseline-{dataset}.ipynb",
}

# The pathway the paper's Grad-CAM claim is about. The paper (section 4.6) says the network "has utilized
# the micro-expressions", and (section 1) that of SlowFast's two pathways the fast one "captures fine-grained
# motion information", the slow one "high-level semantic content": a claim about movement is the fast one's.
CLAIM_PATHWAY = "fast"


RULES: dict[str, Callable[..., Verdict]] = {}
rule = functools.partial(verdict_rule, registry=RULES)  # every claims rule is registered in RULES


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _points(value: float, low: float, high: float) -> str:
    return f"{100 * value:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"


def side_of(low: float, high: float, value: float = 0.0) -> str:
    """Where an interval lies against ``value``: "above", "below", "holds" it, or "none" (no interval)."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "none"
    return "above" if low > value else "below" if high < value else "holds"


def _gain(found: Mapping, what: str) -> str:
    return (
        f"{what} {_points(found['gain'], found['gain_ci_low'], found['gain_ci_high'])}"
        f" over {found.get('n_test', '?')} test clips"
        + (f" and {found['splits']} split seed(s)" if "splits" in found else "")
    )


# --- replication: our runs only -------------------------------------------------------------------------------


@rule(*OUTCOMES)
def table2_replication(reported: float, ours: Mapping | None, synthetic: bool, page: str) -> Verdict:
    """Table 2: "a single SlowFast reaches ``reported`` rank-1" on a real database.

    ``ours``: our Table 1 run's ``rank1``, ``ci_low``, ``ci_high`` (95 %;
    ``interval`` may say what it resamples) and ``chance``. Reproduced when
    our interval reaches ``reported`` (holds it or lies above); not reproduced
    when it lies below. Cannot be tested without a run or on synthetic faces.
    """
    if ours is None:
        return Verdict(UNTESTABLE, "no Table 1 run of ours on this corpus", page)
    found = (
        f"ours {_pct(ours['rank1'])} [{_pct(ours['ci_low'])}, {_pct(ours['ci_high'])}] "
        f"({ours.get('interval', '95 % interval')}; chance {_pct(ours['chance'])}), paper {_pct(reported)}"
    )
    if synthetic:
        return Verdict(UNTESTABLE, found + "; an accuracy on synthetic faces says nothing about real ones", page)
    side = side_of(ours["ci_low"], ours["ci_high"] + ROUNDING, reported)
    return Verdict(NOT_REPRODUCED if side in ("below", "none") else REPRODUCED, found, page)


@rule(*OUTCOMES)
def grid_replication(ours: Mapping | None, page: str) -> Verdict:
    """ "alpha and beta chosen by grid search" (Table 1), read as: a grid search chooses a setting that holds up.

    ``ours``: our grid's validation pick (``val_pick``: its test rank-1, with
    ``val_ci_low``/``val_ci_high``) and the best test run (``test_pick``),
    over ``runs`` runs. Reproduced when the best test run's rank-1 lies
    inside the validation pick's interval (the test set cannot tell choosing
    on validation from choosing on test); not reproduced when it lies above.
    """
    if ours is None:
        return Verdict(UNTESTABLE, "no grid of ours", page)
    found = (
        f"our grid ({ours['runs']} runs): chosen on validation {_pct(ours['val_pick'])} on test "
        f"[{_pct(ours['val_ci_low'])}, {_pct(ours['val_ci_high'])}], best test run {_pct(ours['test_pick'])}"
    )
    side = side_of(ours["val_ci_low"], ours["val_ci_high"] + ROUNDING, ours["test_pick"])
    if side == "none":
        return Verdict(UNTESTABLE, found + "; no interval for the validation pick", page)
    return Verdict(NOT_REPRODUCED if side == "below" else REPRODUCED, found, page)


@rule(*OUTCOMES)
def table3_replication(pair: Mapping | None, chosen: Mapping | None, page: str) -> Verdict:
    """Table 3: "the vote of two models (Adam, AdamW) beats the better one".

    ``pair``: our Table 1 pair's paired gain, vote minus the better member
    (``gain``, ``gain_ci_low``, ``gain_ci_high``: its 95 % interval over test
    clips and ``splits`` split seeds, ``n_test``); ``chosen``: the same for the
    ensemble chosen on validation against the single run chosen on validation,
    shown beside. Reproduced when the pair's interval lies above 0, not
    reproduced when it holds 0 or lies below; cannot be tested without the
    pair's gain and interval.
    """
    shown = ([] if pair is None else [_gain(pair, "the pair's vote")]) + (
        [] if chosen is None else [_gain(chosen, "the ensemble chosen on validation")]
    )
    side = "none" if pair is None else side_of(pair["gain_ci_low"], pair["gain_ci_high"])
    if side == "none":
        return Verdict(UNTESTABLE, "; ".join(["no paired gain of the Adam/AdamW pair", *shown]), page)
    return Verdict(REPRODUCED if side == "above" else NOT_REPRODUCED, "; ".join(shown), page)


@rule(*OUTCOMES)
def gradcam_replication(pathways: Mapping[str, Mapping], page: str, pathway: str = CLAIM_PATHWAY) -> Verdict:
    """Grad-CAM (Figure 2): "the network looks where the micro-movement is", on the ``pathway`` it concerns.

    ``pathways``: ``mlib.gradcam.claim_verdict``'s numbers per pathway (the median
    clip's lift on the moving region against the permutation null,
    ``lift_vs_null`` with ``null_ci_low``/``null_ci_high``, and against a
    uniform map, ``lift_vs_uniform`` with its interval). Reproduced when the
    claimed pathway's null interval lies above 1, not reproduced otherwise;
    cannot be tested when that pathway has no null interval. Every pathway is
    shown; only the claimed one decides.
    """

    def words(name: str, found: Mapping) -> str:
        return (
            f"{name} pathway: {found['lift_vs_null']:.2f} [{found['null_ci_low']:.2f}, "
            f"{found['null_ci_high']:.2f}] times the permutation null, {found['lift_vs_uniform']:.2f} "
            f"[{found['uniform_ci_low']:.2f}, {found['uniform_ci_high']:.2f}] times a uniform map"
        )

    shown = "; ".join(words(name, found) for name, found in pathways.items())
    claimed = pathways.get(pathway)
    side = "none" if claimed is None else side_of(claimed["null_ci_low"], claimed["null_ci_high"], 1.0)
    if side == "none":
        return Verdict(
            UNTESTABLE,
            f"no null lift with an interval for the {pathway} pathway" + (f"; {shown}" if shown else ""),
            page,
        )
    return Verdict(REPRODUCED if side == "above" else NOT_REPRODUCED, f"judged on the {pathway} pathway; {shown}", page)


@rule(*OUTCOMES)
def outperforms_replication(ours: Mapping | None, synthetic: bool, page: str) -> Verdict:
    """Table 4: "SlowFast outperforms the hand-crafted benchmark [6]" on a real database.

    ``ours``: our SlowFast's test rank-1 minus our baseline's (the feature set
    chosen on validation, named by ``baseline``) on the same test clips, with
    its paired 95 % interval (``gain``, ``gain_ci_low``, ``gain_ci_high``,
    ``n_test``). Reproduced when the interval lies above 0, not reproduced
    otherwise; cannot be tested without both runs, when they cannot be paired
    (``problem`` says why) or on synthetic faces.
    """
    if ours is None:
        return Verdict(UNTESTABLE, "no SlowFast and baseline run of ours on the same test clips", page)
    if "problem" in ours:
        return Verdict(UNTESTABLE, f"our SlowFast and baseline runs cannot be paired: {ours['problem']}", page)
    found = _gain(ours, f"our SlowFast minus our baseline ({ours.get('baseline', 'SVM')})")
    if synthetic:
        return Verdict(UNTESTABLE, found + "; synthetic faces cannot test a comparison on real ones", page)
    side = side_of(ours["gain_ci_low"], ours["gain_ci_high"])
    return Verdict(REPRODUCED if side == "above" else NOT_REPRODUCED, found, page)


# --- protocol: the original's files only ----------------------------------------------------------------------

SELECTED_ON_TEST, ONE_RUN, BELOW_BEST, NOT_IN_GRID = (
    "selected on test",
    "one run",
    "below the grid's best",
    "not in the grid",
)


@rule(SELECTED_ON_TEST, ONE_RUN, BELOW_BEST, NOT_IN_GRID)
def table2_protocol(reported: float, scores: Sequence[float], page: str) -> Verdict:
    """Where the paper's Table 2 number sits among the original grid's test scores (every run's test rank-1)."""
    values = pd.Series(list(scores), dtype=float)
    if values.empty or not ((values - reported).abs() <= ROUNDING).any():
        return Verdict(NOT_IN_GRID, f"no run of the original's {len(values)} gives {_pct(reported)}", page)
    rank = 1 + int((values > reported + ROUNDING).sum())
    facts = f"of {len(values)} runs, median {_pct(values.median())}, rank {rank}"
    if len(values) == 1:
        return Verdict(ONE_RUN, "the original's only run", page)
    if rank == 1:
        return Verdict(SELECTED_ON_TEST, f"selected on test: best {facts}", page)
    return Verdict(BELOW_BEST, f"not the best test run: {facts}", page)


CAPPED, UNCAPPED = "ceiling below 100 %", "every test subject trained"


@rule(CAPPED, UNCAPPED)
def ceiling_protocol(split: Mapping, page: str) -> Verdict:
    """What the original split list caps (``mlib.paper.original.split_facts``): test subjects without a training clip."""
    untrained = len(split["untrained_subjects"])
    if untrained == 0:
        return Verdict(UNCAPPED, f"every test subject has a training clip ({split['test']} test clips)", page)
    return Verdict(
        CAPPED,
        f"{untrained} test subject{'s' if untrained > 1 else ''} untrained, ceiling {_pct(split['ceiling'])}",
        page,
    )


NOT_SEARCHED, TABLE1_TEST_BEST, TABLE1_NOT_BEST, TABLE1_ABSENT = (
    "not searched",
    "selected on test",
    "not the test's pick",
    "not in the grid",
)


@rule(NOT_SEARCHED, TABLE1_TEST_BEST, TABLE1_NOT_BEST, TABLE1_ABSENT)
def grid_protocol(runs: pd.DataFrame, setting: Mapping, page: str) -> Verdict:
    """What the original grid (``alpha``, ``beta_inv``, ``test_rank1`` per run) shows about Table 1's ``setting``."""
    pairs = runs[["alpha", "beta_inv"]].drop_duplicates()
    if len(pairs) == 1:
        alpha, beta = pairs.iloc[0]
        return Verdict(
            NOT_SEARCHED,
            f"alpha and beta not searched: all {len(runs)} runs share alpha {alpha} / beta_inv {beta}",
            page,
        )
    named = f"Table 1's alpha {setting['alpha']} / beta_inv {setting['beta_inv']}"
    mine = runs[(runs["alpha"] == setting["alpha"]) & (runs["beta_inv"] == setting["beta_inv"])]
    if mine.empty:
        return Verdict(TABLE1_ABSENT, f"{named} is not among the {len(runs)} runs", page)
    rank = 1 + int((runs["test_rank1"] > mine["test_rank1"].max() + ROUNDING).sum())
    if rank == 1:
        return Verdict(TABLE1_TEST_BEST, f"selected on test: {named} is the best test run of {len(runs)}", page)
    return Verdict(TABLE1_NOT_BEST, f"{named}'s best run ranks {rank} of {len(runs)} on test", page)


NOT_REPORTED, TIE_ORDER_GAIN, NO_GAIN = "not reported", "gain decided by the tie order", "no gain"


@rule(NOT_REPORTED, TIE_ORDER_GAIN, NO_GAIN)
def table3_protocol(ties: Mapping | None, page: str) -> Verdict:
    """What the original's fusion scores show about the Table 3 vote (``mlib.paper.original.table3_ties`` with the
    pair's ``vote`` and ``better member``); with two members every gain is the tie order's (book/method.md)."""
    if ties is None:
        return Verdict(NOT_REPORTED, "the paper reports Table 3 for SMIC only", page)
    n = ties["test clips"]
    gain = round((ties["vote"] - ties["better member"]) * n)
    context = (
        f"won {ties['won by the tie order']} of the {ties['exactly one right']} clips where one member "
        f"was right; expected over class numberings {_pct(ties['expected vote over random numberings'])}, "
        f"better member {_pct(ties['better member'])}"
    )
    if gain <= 0:
        return Verdict(NO_GAIN, f"the vote gains nothing over the better member: {context}", page)
    return Verdict(TIE_ORDER_GAIN, f"tie order decided {gain} clip{'s' if gain > 1 else ''}: {context}", page)


ABOVE_BENCHMARK, BELOW_BENCHMARK = "above the benchmark", "below the benchmark"


@rule(ABOVE_BENCHMARK, BELOW_BENCHMARK)
def outperforms_protocol(ours: float, benchmark: float, page: str) -> Verdict:
    """The paper's own Table 4 on one database: its model (``ours``) against the benchmark [6]."""
    found = f"the paper's Table 4: {_pct(ours)} against [6]'s {_pct(benchmark)}"
    return Verdict(ABOVE_BENCHMARK if ours > benchmark + ROUNDING else BELOW_BENCHMARK, found, page)


# --- the evidence, read from the original's outputs and the study's result files ------------------------------


def _original_facts(dataset: str) -> dict:
    """The original's files on one database (``samm``, ``casme2``, ``smic``): grid, split and Table 3 pair."""
    from mlib.paper import original

    runs = original.load_runs()
    ties = None
    if dataset == "smic":
        pairs = original.load_fusion_pairs()
        row = original.table3_pair_row(runs, pairs)
        ties = original.table3_ties(runs, pairs) | {
            "vote": row["MacroMajorityVoteCombiner_accuracy"],
            "better member": max(row["SlowFast_0_accuracy"], row["SlowFast_1_accuracy"]),
        }
    return {
        "runs": runs[runs["dataset"] == dataset],
        "split": original.split_facts(original.load_split(dataset)),
        "ties": ties,
    }


def protocol_facts(dataset: str) -> dict[str, list[Verdict]]:
    """Every claim's protocol facts for one database of the paper, from the original's files."""
    facts, page = _original_facts(dataset), PAGES["original"]
    return {
        "table2": [
            table2_protocol(paper.TABLE2_RANK1[dataset], facts["runs"]["test_rank1"], page),
            ceiling_protocol(facts["split"], page),
        ],
        "grid": [grid_protocol(facts["runs"], paper.TABLE1[dataset], page)],
        "ensemble": [table3_protocol(facts["ties"], page)],
        "baseline": [
            outperforms_protocol(paper.TABLE4_OURS_RANK1[dataset], paper.BASELINE_SAEED2021_RANK1[dataset], page)
        ],
        "gradcam": [],
    }


def protocol_table(datasets: Sequence[str] = tuple(paper.DATASET_NAMES)) -> pd.DataFrame:
    """Every protocol fact of every database, one row each: the page the front page's protocol links open."""
    rows = [
        {
            "database": paper.DATASET_NAMES[dataset],
            "claim of the paper": CLAIM_LABELS[key],
            "grade": fact.verdict,
            "fact": fact.evidence,
        }
        for dataset in datasets
        for key, facts in protocol_facts(dataset).items()
        for fact in facts
    ]
    return pd.DataFrame(rows, columns=["database", "claim of the paper", "grade", "fact"])


def _our_table2(study, name: str) -> dict | None:
    """Our Table 1 run's test rank-1: over the split seeds where the controls page ran it on several (their
    pooled interval), else the one run's; both intervals resample subjects, then clips (``mlib.report.results``)."""
    from mlib.core import metrics
    from mlib.report import results, table2

    train = Path(study.corpus(name).paths.get("train", ""))
    if not (train / "metrics.json").is_file():
        return None
    seeds = table2.table1_over_splits(study, name)
    if len(seeds) > 1:
        found = results.over_split_seeds(seeds["run_dir"])
        return found | {"interval": f"{metrics.SUBJECTS_THEN_CLIPS}, pooled over {found['splits']} split seeds"}
    return results.test_rank1(train) | {"interval": metrics.SUBJECTS_THEN_CLIPS}


def _our_grid(grid_dir: Path) -> dict | None:
    from mlib.experiments.grid import load_grid_table
    from mlib.report.results import test_rank1

    if not (grid_dir / "grid.csv").is_file():
        return None
    done = load_grid_table(grid_dir)
    done = done[(done["status"] == "done") & done["val_rank1"].notna()]
    if done.empty:
        return None
    pick = done.loc[done["val_rank1"].idxmax()]
    run = grid_dir / str(pick["run_dir"])
    found = test_rank1(run) if (run / "metrics.json").is_file() else {"ci_low": math.nan, "ci_high": math.nan}
    return {
        "val_pick": float(pick["test_rank1"]),
        "val_ci_low": found["ci_low"],
        "val_ci_high": found["ci_high"],
        "test_pick": float(done["test_rank1"].max()),
        "runs": len(done),
    }


def _our_pair(ensemble_dir: Path) -> dict | None:
    """The Table 1 pair's vote gain over the better member, mean over split seeds, with the seeds' pooled
    paired interval (``solver_pair.pooled_intervals``, the one the results summary shows)."""
    from mlib.experiments import solver_pair

    table_file = ensemble_dir / solver_pair.TABLE_FILE
    if not table_file.is_file():
        return None
    table = pd.read_csv(table_file)
    mean = table[table["statistic"] == solver_pair.MEAN]
    if mean.empty:
        return None
    low, high = solver_pair.pooled_intervals(table)["vote_gain"]
    return {
        "gain": float(mean["vote_gain"].iloc[0]),
        "gain_ci_low": low,
        "gain_ci_high": high,
        "n_test": int(mean["n_test"].iloc[0]),
        "splits": int(mean["splits"].iloc[0]),
    }


def _our_chosen_ensemble(ensemble_dir: Path) -> dict | None:
    from mlib.experiments.ensemble import GAIN_FILE

    gain_file = ensemble_dir / GAIN_FILE
    return json.loads(gain_file.read_text()) if gain_file.is_file() else None


def _our_gradcam(gradcam_dir: Path, synthetic: bool) -> dict[str, dict]:
    from mlib.gradcam.summary import NOT_MEASURED, claim_verdict

    null_file = gradcam_dir / "null.csv"
    if not null_file.is_file():
        return {}
    null = pd.read_csv(null_file)
    found = {p: claim_verdict(null, p, synthetic) for p in null["pathway"].unique()}
    return {p: v.numbers for p, v in found.items() if v.verdict != NOT_MEASURED}


def _our_benchmark(paths: Mapping) -> dict | None:
    """Our SlowFast against our baseline (the feature set with the best validation rank-1) on the same clips."""
    from mlib.experiments.ensemble import EnsembleError, paired_gain
    from mlib.report.results import baseline_runs

    train, runs = Path(paths.get("train", "")), baseline_runs(paths.get("baseline", ""))
    if not runs or not (train / "metrics.json").is_file():
        return None
    metrics = {run: json.loads((run / "metrics.json").read_text()) for run in runs}
    best = max(runs, key=lambda run: (metrics[run].get("val") or {}).get("rank1") or -1.0)
    try:
        gain = paired_gain([train], "soft", best)
    except EnsembleError as problem:
        return {"problem": str(problem)}
    return gain | {"baseline": str(metrics[best].get("feature_set", best.name))}


def study_claims(study) -> pd.DataFrame:
    """Every claim's replication verdict and protocol facts for every identity corpus of ``study``
    (a ``StudyManifest``): one row per verdict or fact, ``question`` saying which."""
    synthetic = study.synthetic
    rows = []
    for variant in (v for v in study.corpora if v.mode == "identity"):
        paths, name, db = variant.paths, variant.name, paper.paper_dataset(variant.dataset)
        page = {key: value.format(dataset=name) for key, value in PAGES.items()}
        ensemble_dir = Path(paths.get("ensemble", ""))
        replication = {
            "table2": table2_replication(paper.TABLE2_RANK1[db], _our_table2(study, name), synthetic, page["table2"]),
            "grid": grid_replication(_our_grid(Path(paths.get("grid", ""))), page["grid"]),
            "ensemble": table3_replication(
                _our_pair(ensemble_dir), _our_chosen_ensemble(ensemble_dir), page["ensemble"]
            ),
            "gradcam": gradcam_replication(_our_gradcam(Path(paths.get("gradcam", "")), synthetic), page["gradcam"]),
            "baseline": outperforms_replication(_our_benchmark(paths), synthetic, page["baseline"]),
        }
        protocol = protocol_facts(db)
        for key, found in replication.items():
            rows.append({"corpus": name, "key": key, "question": REPLICATION, **vars(found)})
            rows += [{"corpus": name, "key": key, "question": PROTOCOL, **vars(fact)} for fact in protocol[key]]
    return pd.DataFrame(rows, columns=["corpus", "key", "question", "verdict", "evidence", "page"])


CLAIM_LABELS = {
    "table2": "Table 2: the single-model accuracies",
    "grid": "alpha and beta chosen by grid search (Table 1)",
    "ensemble": "Table 3: the vote of two models beats the better one",
    "gradcam": "Grad-CAM: the network looks where the face moves",
    "baseline": "Table 4: outperforms the benchmark [6]",
}
"""The front page's words for each claim (the ``key`` of ``study_claims``' rows)."""


def combined_verdict(verdicts: dict[str, str]) -> str:
    """One claim's verdicts over corpora (``{corpus: verdict}``) in one phrase: the verdict when every corpus
    agrees, otherwise each corpus's (``"reproduced on casme2; not reproduced on samm"``); "no corpus" if none."""
    if not verdicts:
        return "no corpus"
    if len(set(verdicts.values())) == 1:
        return next(iter(verdicts.values()))
    return "; ".join(f"{verdict} on {corpus}" for corpus, verdict in verdicts.items())


def front_page_values(claims_table: pd.DataFrame) -> dict[str, str]:
    """The values the book's prose glues (``myst_nb.glue``), from the replication rows.

    ``claims-checked``: how many claims; ``verdicts``: how many replication
    verdicts (one per claim and corpus); ``claims-<first word>``: how many are
    each of ``OUTCOMES`` (``claims-reproduced``, ``claims-not``,
    ``claims-cannot``); ``verdict-<key>``: ``combined_verdict`` of a claim over
    the corpora; ``protocol-facts``: how many protocol facts are shown.
    """
    replication = claims_table[claims_table["question"] == REPLICATION]
    values = {
        "claims-checked": str(claims_table["key"].nunique()),
        "verdicts": str(len(replication)),
        "protocol-facts": str(int((claims_table["question"] == PROTOCOL).sum())),
    }
    for outcome in OUTCOMES:
        values["claims-" + outcome.split()[0]] = str(int((replication["verdict"] == outcome).sum()))
    for key, rows in replication.groupby("key", sort=False):
        values[f"verdict-{key}"] = combined_verdict(dict(zip(rows["corpus"], rows["verdict"])))
    return values


def evidence_table(claims_table: pd.DataFrame) -> pd.DataFrame:
    """``study_claims``' rows for a reader: the claim in words instead of its key, the outcome, the evidence
    in full and the ``page`` that shows it (``mlib.report.results.claims_html`` makes it a link)."""
    return pd.DataFrame(
        {
            "claim of the paper": claims_table["key"].map(lambda key: CLAIM_LABELS.get(key, key)),
            "corpus": claims_table["corpus"],
            "question": claims_table["question"],
            "outcome": claims_table["verdict"],
            "evidence": claims_table["evidence"],
            "page": claims_table["page"],
        }
    )


def corpus_titles(study) -> dict[str, str]:
    """Column titles for ``front_page_table``: each identity corpus's database and whether it is synthetic."""
    kind = "synthetic" if study.synthetic else "real"
    return {
        v.name: f"{paper.DATASET_NAMES[paper.paper_dataset(v.dataset)]} ({kind}, corpus {v.name})"
        for v in study.corpora
        if v.mode == "identity"
    }


def _cell(rows: pd.DataFrame, page_suffix: str) -> str:
    """One cell: each row as its outcome linked to its page (evidence on hover), protocol labels in full."""
    parts = []
    for found in rows.itertuples():
        target = html.escape(str(Path(found.page).with_suffix(page_suffix)))
        link = f'<a href="{target}" title="{html.escape(found.evidence)}">{html.escape(found.verdict)}</a>'
        parts.append(link if found.question == REPLICATION else f"{link}: {html.escape(found.evidence)}")
    return "<br>".join(parts) if parts else "–"


def front_page_table(
    claims_table: pd.DataFrame, corpus_titles: dict[str, str] | None = None, page_suffix: str = ".html"
) -> pd.DataFrame:
    """The front page's table: per claim (``CLAIM_LABELS``) a replication row and a protocol row, one column
    per corpus.

    Each outcome is an HTML link to the page that shows its evidence
    (``page`` relative to ``book/``, ``.ipynb`` replaced by ``page_suffix``;
    the evidence in its title); a protocol fact shows its label after its
    grade. Render with ``to_html(escape=False)``. ``corpus_titles`` names the
    columns (default: the corpus names).
    """
    titles = corpus_titles or {}
    corpora = list(dict.fromkeys(claims_table["corpus"]))
    rows = []
    for key in dict.fromkeys(claims_table["key"]):
        for question in (REPLICATION, PROTOCOL):
            row = {"claim of the paper": CLAIM_LABELS.get(key, key), "question": question}
            for corpus in corpora:
                chosen = claims_table[
                    (claims_table["key"] == key)
                    & (claims_table["corpus"] == corpus)
                    & (claims_table["question"] == question)
                ]
                row[titles.get(corpus, corpus)] = _cell(chosen, page_suffix)
            rows.append(row)
    return pd.DataFrame(rows)
