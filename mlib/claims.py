"""The paper's claims and this study's verdict on each: one named rule per claim.

Each rule takes the evidence as plain numbers (ours, with whether they come
from synthetic or real data, and the original code's own published outputs,
read by ``mlib.original``) and returns a :class:`Verdict`: one of
``VERDICTS``, the evidence in words and the book page that shows it. The
front page (notebook ``00-results``) shows ``study_claims``' table; the rules
are tested on crafted inputs in ``tests/test_claims.py``.

Order inside every rule: what the original's own files show comes first (a
claim they contradict stays contradicted whatever our data say); then our
evidence, where it can test the claim: accuracies on real faces cannot be
tested on synthetic data, the method's claims (what Grad-CAM looks at, what
voting adds) can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlib import controls, original, paper
from mlib.gradcam.summary import claim_verdict
from mlib.original import our_grid_picks
from mlib.results import baseline_runs, test_rank1

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
UNTESTABLE = "cannot be tested here"
CONTRADICTED = "contradicted by the original's own files"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, UNTESTABLE, CONTRADICTED)
ROUNDING = 5e-4  # the paper prints percentages with two decimals: closer than this is equal

# The book pages (relative to book/) that show each claim's evidence; {dataset} is the corpus's name.
PAGES = {
    "table2": "executed/08-original-grid.ipynb",
    "grid": "executed/04-grid-search-{dataset}.ipynb",
    "ensemble": "executed/05-ensemble-{dataset}.ipynb",
    "gradcam": "executed/06-gradcam-{dataset}.ipynb",
    "baseline": "executed/03-baseline-{dataset}.ipynb",
}


@dataclass(frozen=True)
class Verdict:
    key: str  # the claim's short name (a PAGES key), used in glue keys: verdict-<key>-<corpus>
    claim: str
    verdict: str
    evidence: str
    page: str


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _data(synthetic: bool) -> str:
    return "synthetic" if synthetic else "real"


def table2_accuracy(reported: float, original_scores: list[float] | None, ours: dict | None,
                    synthetic: bool, page: str = PAGES["table2"]) -> Verdict:
    """Table 2: "a single SlowFast reaches ``reported`` rank-1".

    Contradicted when the original's grid (``original_scores``, every run's
    test rank-1) holds at least two runs, ``reported`` is their best and the
    median run is below it: the number is the best of N chosen on the test
    set, not what one trained model is expected to reach. Otherwise ours
    (``rank1``, ``ci_low``, ``ci_high``) tests it on real data only: supported
    when our interval holds ``reported``.
    """
    claim = f"Table 2: a single SlowFast reaches {_pct(reported)} rank-1"
    if original_scores is not None and len(original_scores) >= 2:
        scores = pd.Series(original_scores, dtype=float)
        best, median = scores.max(), scores.median()
        if abs(best - reported) <= ROUNDING and median < reported - ROUNDING:
            return Verdict("table2", claim, CONTRADICTED,
                           f"the original's own grid: the number is the best of its {len(scores)} runs' test scores "
                           f"(median run {_pct(median)}), picked on the test set", page)
    if ours is None:
        return Verdict("table2", claim, UNTESTABLE, "no run of ours on this database", page)
    found = f"ours ({_data(synthetic)} data): {_pct(ours['rank1'])} [{_pct(ours['ci_low'])}, {_pct(ours['ci_high'])}]"
    if synthetic:
        return Verdict("table2", claim, UNTESTABLE, found + "; an accuracy on synthetic faces says nothing about real ones", page)
    inside = ours["ci_low"] - ROUNDING <= reported <= ours["ci_high"] + ROUNDING
    return Verdict("table2", claim, SUPPORTED if inside else NOT_SUPPORTED, found, page)


def grid_choice(table1_is_test_best: list[bool], ours: dict | None, synthetic: bool, page: str) -> Verdict:
    """"alpha and beta were chosen by grid search" (Table 1), read as: chosen on data held out from the test.

    ``table1_is_test_best``: per database of the original grid, whether Table
    1's setting is its best run on the TEST set. All true: the original's own
    files show the choice was the test set's. Otherwise ours (``val_pick`` and
    ``test_pick``: the test rank-1 of our validation-chosen and test-chosen
    configurations): supported when the validation choice reaches the test
    choice within rounding, not supported when it falls short.
    """
    claim = "alpha and beta chosen by grid search (Table 1)"
    if table1_is_test_best and all(table1_is_test_best):
        return Verdict("grid", claim, CONTRADICTED,
                       f"in the original's own grid, Table 1's setting is the best TEST run on all "
                       f"{len(table1_is_test_best)} databases: the grid search chose on the test set", page)
    if ours is None:
        return Verdict("grid", claim, UNTESTABLE, "no grid of ours", page)
    found = (f"ours ({_data(synthetic)} data): chosen on validation {_pct(ours['val_pick'])} on test, "
             f"best on test {_pct(ours['test_pick'])}")
    fair = ours["val_pick"] >= ours["test_pick"] - ROUNDING
    return Verdict("grid", claim, SUPPORTED if fair else NOT_SUPPORTED, found, page)


def ensemble_gain(original_ties: dict | None, ours: dict | None, synthetic: bool, page: str) -> Verdict:
    """Table 3: "the vote of the Adam and AdamW models beats both".

    ``original_ties`` is ``mlib.original.table3_ties``: contradicted when the
    vote's gain over the better member is no more than the clips the tie order
    decided and the vote's expectation over random class numberings does not
    beat the better member: the gain is the tie rule's, not the ensemble's.
    Otherwise ours (``vote``, ``best_member``, ``gain_ci_low``: the paired
    gain's 95 % interval's lower bound): supported when the interval is above 0.
    """
    claim = "Table 3: voting two models beats the better one"
    if original_ties is not None:
        n = original_ties["test clips"]
        expected = original_ties["expected vote over random numberings"]
        better = original_ties["better member"]
        gain = round((original_ties["vote"] - better) * n)
        if gain <= original_ties["won by the tie order"] and expected <= better + ROUNDING:
            return Verdict("ensemble", claim, CONTRADICTED,
                           f"the original's own fusion scores: the vote gains {gain} of {n} test clips, all decided by "
                           f"the tie order (its expectation over class numberings is {_pct(expected)}, "
                           f"the better member {_pct(better)})", page)
    if ours is None:
        return Verdict("ensemble", claim, UNTESTABLE, "no ensemble of ours", page)
    found = (f"ours ({_data(synthetic)} data): vote {_pct(ours['vote'])}, better member {_pct(ours['best_member'])}"
             + ("" if math.isnan(ours.get("gain_ci_low", math.nan)) else
                f", paired gain's interval from {_pct(ours['gain_ci_low'])}"))
    if math.isnan(ours.get("gain_ci_low", math.nan)):
        return Verdict("ensemble", claim, UNTESTABLE, found + "; no interval for the gain", page)
    return Verdict("ensemble", claim, SUPPORTED if ours["gain_ci_low"] > 0 else NOT_SUPPORTED, found, page)


def gradcam_claim(pathway_verdicts: dict[str, str], motion_verdict: str | None, synthetic: bool,
                  page: str) -> Verdict:
    """Grad-CAM (Figure 2): "the network uses the micro-movement".

    ``pathway_verdicts`` are ``mlib.gradcam.summary.claim_verdict``'s verdicts
    per pathway; ``motion_verdict`` is ``mlib.controls.motion_verdict``'s on
    the same corpus, or None. Not supported when the controls find that
    appearance suffices (one frame does as well as the clip) or no pathway's
    maps support the claim; supported when a pathway's maps do; cannot be
    tested when no pathway was measured.
    """

    claim = "Grad-CAM: the network uses the micro-movement"
    measured = {p: v for p, v in pathway_verdicts.items() if v != "is not measured for"}
    found = (f"ours ({_data(synthetic)} data), Grad-CAM maps: " + "; ".join(f"{p} pathway {v} the claim" for p, v in measured.items())
             + (f"; controls: {motion_verdict}" if motion_verdict else ""))
    if not measured:
        return Verdict("gradcam", claim, UNTESTABLE, "no Grad-CAM scores", page)
    if motion_verdict == controls.APPEARANCE:
        return Verdict("gradcam", claim, NOT_SUPPORTED, found, page)
    return Verdict("gradcam", claim, SUPPORTED if "supports" in measured.values() else NOT_SUPPORTED, found, page)


def outperforms_benchmark(paper_ours: dict[str, float], paper_benchmark: dict[str, float],
                          ours: dict | None, synthetic: bool, page: str) -> Verdict:
    """Table 4: "outperforms the benchmark [6]" (Saeed 2021).

    Not supported when the paper's own Table 4 puts its model below the
    benchmark on some database. Otherwise ours (``slowfast`` and ``baseline``,
    each a dict with ``ci_low``/``ci_high``, on the same real test clips):
    supported when our SlowFast's interval lies above the baseline's. Synthetic
    faces cannot test a comparison on real ones.
    """
    claim = "Table 4: outperforms the benchmark [6]"
    below = [db for db in paper_ours if paper_ours[db] < paper_benchmark.get(db, -1.0) - ROUNDING]
    if below:
        return Verdict("baseline", claim, NOT_SUPPORTED, "the paper's own Table 4: below the benchmark on "
                       + ", ".join(f"{paper.DATASET_NAMES[db]} ({_pct(paper_ours[db])} vs "
                                   f"{_pct(paper_benchmark[db])})" for db in below), page)
    if ours is None:
        return Verdict("baseline", claim, UNTESTABLE, "no baseline run of ours", page)
    found = (f"ours ({_data(synthetic)} data): SlowFast [{_pct(ours['slowfast']['ci_low'])}, "
             f"{_pct(ours['slowfast']['ci_high'])}], baseline [{_pct(ours['baseline']['ci_low'])}, "
             f"{_pct(ours['baseline']['ci_high'])}]")
    if synthetic:
        return Verdict("baseline", claim, UNTESTABLE, found + "; synthetic faces cannot test a comparison on real ones", page)
    above = ours["slowfast"]["ci_low"] > ours["baseline"]["ci_high"]
    return Verdict("baseline", claim, SUPPORTED if above else NOT_SUPPORTED, found, page)


# --- the evidence, read from the study's result files and the original's outputs ----------------------------


def _original_facts() -> dict:

    runs, pairs = original.load_runs(), original.load_fusion_pairs()
    scores = {db: group["test_rank1"].tolist() for db, group in runs.groupby("dataset")}
    test_best = []
    for db, group in runs.groupby("dataset"):
        setting = paper.TABLE1[db]
        best = group.loc[group["test_rank1"].idxmax()]
        test_best.append(bool(best["alpha"] == setting["alpha"] and best["beta_inv"] == setting["beta_inv"]))
    ties = original.table3_ties(runs, pairs)
    row = original.table3_pair_row(runs, pairs)
    ties |= {"vote": row["MacroMajorityVoteCombiner_accuracy"],
             "better member": max(row["SlowFast_0_accuracy"], row["SlowFast_1_accuracy"])}
    return {"scores": scores, "table1_is_test_best": test_best, "ties": ties}


def _our_grid(grid_dir: Path) -> dict | None:

    if not (grid_dir / "grid.csv").is_file():
        return None
    picks = our_grid_picks([grid_dir]).iloc[0]
    return {"val_pick": float(picks["validation pick (test)"]), "test_pick": float(picks["best test pick"])}


def _our_ensemble(ensemble_dir: Path) -> dict | None:
    selection = ensemble_dir / "selection.csv"
    if not selection.is_file():
        return None
    table = pd.read_csv(selection)
    chosen = table[table["choice"].str.contains("ensemble") & table["choice"].str.contains("validation")]
    single = table[table["choice"].str.contains("single") & table["choice"].str.contains("validation")]
    if chosen.empty or single.empty:
        return None
    pick = chosen.iloc[0]
    return {"vote": float(pick["test_rank1"]), "best_member": float(single.iloc[0]["test_rank1"]),
            "gain_ci_low": float(pick.get("gain_ci_low", math.nan))}


def _our_gradcam(gradcam_dir: Path, synthetic: bool) -> dict[str, str]:

    summary_file = gradcam_dir / "summary.csv"
    if not summary_file.is_file():
        return {}
    summary = pd.read_csv(summary_file)
    return {p: claim_verdict(summary, p, synthetic)["verdict"] for p in summary["pathway"].unique()}


def _controls_verdict(controls_dir: Path | None, corpus: str) -> str | None:

    table_file = None if controls_dir is None else controls_dir / "controls.csv"
    if table_file is None or not table_file.is_file():
        return None
    verdict = controls.motion_verdict(controls.summarize(pd.read_csv(table_file)), corpus)["verdict"]
    return None if verdict == controls.NOT_MEASURED else verdict


def _our_benchmark(paths: dict) -> dict | None:

    runs = baseline_runs(paths.get("baseline", ""))
    if "train" not in paths or not runs or not (Path(paths["train"]) / "metrics.json").is_file():
        return None
    best = max((test_rank1(run) for run in runs), key=lambda found: found["rank1"])
    return {"slowfast": test_rank1(paths["train"]), "baseline": best}


def study_claims(study) -> pd.DataFrame:
    """Every claim's verdict for every identity corpus of ``study`` (a ``StudyManifest``), one row each."""

    facts = _original_facts()
    pages = getattr(study, "pages", None) or {}
    controls_dir = Path(pages["controls"]) if "controls" in pages else None
    synthetic = study.synthetic
    rows = []
    for variant in (v for v in study.variants if v.mode == "identity"):
        paths, name, db = variant.paths, variant.name, paper.paper_dataset(variant.dataset)
        train = Path(paths.get("train", ""))
        ours = test_rank1(train) if (train / "metrics.json").is_file() else None
        found = [
            table2_accuracy(paper.TABLE2_RANK1[db], facts["scores"].get(db), ours, synthetic),
            grid_choice(facts["table1_is_test_best"], _our_grid(Path(paths.get("grid", ""))), synthetic,
                        PAGES["grid"].format(dataset=name)),
            ensemble_gain(facts["ties"], _our_ensemble(Path(paths.get("ensemble", ""))), synthetic,
                          PAGES["ensemble"].format(dataset=name)),
            gradcam_claim(_our_gradcam(Path(paths.get("gradcam", "")), synthetic),
                          _controls_verdict(controls_dir, name), synthetic, PAGES["gradcam"].format(dataset=name)),
            outperforms_benchmark(paper.TABLE4_OURS_RANK1, paper.BASELINE_SAEED2021_RANK1, _our_benchmark(paths),
                                  synthetic, PAGES["baseline"].format(dataset=name)),
        ]
        rows += [{"corpus": name, **vars(v)} for v in found]
    return pd.DataFrame(rows, columns=["corpus", "key", "claim", "verdict", "evidence", "page"])


CLAIM_LABELS = {
    "table2": "Table 2: the single-model accuracies",
    "grid": "alpha and beta chosen by grid search (Table 1)",
    "ensemble": "Table 3: the vote of two models beats both",
    "gradcam": "Grad-CAM: the network uses the micro-movement",
    "baseline": "Table 4: outperforms the benchmark [6]",
}
"""The front page's words for each claim (``Verdict.key``); a Verdict's own ``claim`` names its database's number."""


def combined_verdict(verdicts: dict[str, str]) -> str:
    """One claim's verdicts over corpora (``{corpus: verdict}``) in one phrase: the verdict when every corpus
    agrees, otherwise each corpus's (``"supported on casme2; not supported on samm"``); "no corpus" if none."""
    if not verdicts:
        return "no corpus"
    if len(set(verdicts.values())) == 1:
        return next(iter(verdicts.values()))
    return "; ".join(f"{verdict} on {corpus}" for corpus, verdict in verdicts.items())


def front_page_values(claims_table: pd.DataFrame) -> dict[str, str]:
    """The values the book's prose glues (``myst_nb.glue``).

    ``claims-checked``: how many claims; ``verdicts``: how many verdicts (one
    per claim and corpus); ``claims-<verdict>``: how many verdicts are each of
    ``VERDICTS``; ``verdict-<key>``: ``combined_verdict`` of a claim over the
    corpora (each corpus's own verdict is in ``front_page_table``).
    """
    values = {"claims-checked": str(claims_table["key"].nunique()), "verdicts": str(len(claims_table))}
    for verdict in VERDICTS:
        values["claims-" + verdict.split()[0].replace("'", "")] = str(int((claims_table["verdict"] == verdict).sum()))
    for key, rows in claims_table.groupby("key", sort=False):
        values[f"verdict-{key}"] = combined_verdict(dict(zip(rows["corpus"], rows["verdict"])))
    return values


def corpus_titles(study) -> dict[str, str]:
    """Column titles for ``front_page_table``: each identity corpus's database and whether it is synthetic."""
    kind = "synthetic" if study.synthetic else "real"
    return {v.name: f"{paper.DATASET_NAMES[paper.paper_dataset(v.dataset)]} ({kind}, corpus {v.name})"
            for v in study.variants if v.mode == "identity"}


def front_page_table(claims_table: pd.DataFrame, corpus_titles: dict[str, str] | None = None,
                     page_suffix: str = ".html") -> pd.DataFrame:
    """The front page's verdict table: one row per claim (``CLAIM_LABELS``), one column per corpus.

    Each cell is the verdict as an HTML link to the page that shows its
    evidence (``Verdict.page``, relative to ``book/``, with ``.ipynb`` replaced
    by ``page_suffix``), so the table works for any set of databases; render
    it with ``to_html(escape=False)``. ``corpus_titles`` names the columns
    (default: the corpus names).
    """
    import html

    titles = corpus_titles or {}
    rows = []
    for key, group in claims_table.groupby("key", sort=False):
        row = {"claim of the paper": CLAIM_LABELS.get(key, key)}
        for found in group.itertuples():
            target = html.escape(str(Path(found.page).with_suffix(page_suffix)))
            row[titles.get(found.corpus, found.corpus)] = (f'<a href="{target}" title="{html.escape(found.evidence)}">'
                                                           f"{html.escape(found.verdict)}</a>")
        rows.append(row)
    return pd.DataFrame(rows)
