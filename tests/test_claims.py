"""The claims' rules on crafted evidence (every declared outcome reached), the protocol facts of the
original's shipped files, and the front page's table."""

import math

import pandas as pd
import pytest

from mlib import paper
from mlib.paper import original
from mlib.report import claims

P = "page"
NAN = math.nan


def rank1(value, low, high, chance=0.1):
    return {"rank1": value, "ci_low": low, "ci_high": high, "chance": chance}


def gain(value, low, high, **more):
    return {"gain": value, "gain_ci_low": low, "gain_ci_high": high, "n_test": 80, **more}


def lifts(null, null_low, null_high):
    return {
        "lift_vs_null": null,
        "null_ci_low": null_low,
        "null_ci_high": null_high,
        "lift_vs_uniform": 2.0,
        "uniform_ci_low": 1.6,
        "uniform_ci_high": 2.4,
    }


def grid(val, low, high, best):
    return {"val_pick": val, "val_ci_low": low, "val_ci_high": high, "test_pick": best, "runs": 12}


def original_grid(settings):
    """A crafted original grid: (alpha, beta_inv, test rank-1) per run."""
    return pd.DataFrame(settings, columns=["alpha", "beta_inv", "test_rank1"])


def ties(vote, better, won=3, one_right=5, n=100):
    return {
        "test clips": n,
        "vote": vote,
        "better member": better,
        "won by the tie order": won,
        "exactly one right": one_right,
        "expected vote over random numberings": better - 0.01,
    }


TABLE1 = {"alpha": 4, "beta_inv": 8}
# Crafted evidence per rule: (arguments, the outcome it must give). The first case of each replication rule
# is a perfect replication, the second a clear failure.
CASES = {
    "table2_replication": [
        ((0.874, rank1(0.874, 0.80, 0.93), False, P), claims.REPRODUCED),
        ((0.874, rank1(0.30, 0.22, 0.38), False, P), claims.NOT_REPRODUCED),
        ((0.874, rank1(0.99, 0.97, 1.0), False, P), claims.REPRODUCED),  # above the paper's number
        ((0.874, rank1(0.874, 0.80, 0.93), True, P), claims.UNTESTABLE),
        ((0.874, None, False, P), claims.UNTESTABLE),
    ],
    "grid_replication": [
        ((grid(0.8, 0.7, 0.9, 0.8), P), claims.REPRODUCED),
        ((grid(0.4, 0.3, 0.5, 0.8), P), claims.NOT_REPRODUCED),
        ((grid(0.8, NAN, NAN, 0.8), P), claims.UNTESTABLE),
        ((None, P), claims.UNTESTABLE),
    ],
    "table3_replication": [
        ((gain(0.08, 0.03, 0.13, splits=3), gain(0.05, 0.01, 0.09), P), claims.REPRODUCED),
        ((gain(-0.10, -0.16, -0.04, splits=3), None, P), claims.NOT_REPRODUCED),
        ((gain(0.01, -0.02, 0.04, splits=1), None, P), claims.NOT_REPRODUCED),
        ((None, gain(0.05, 0.01, 0.09), P), claims.UNTESTABLE),
        ((gain(0.0, NAN, NAN, splits=1), None, P), claims.UNTESTABLE),
    ],
    "gradcam_replication": [
        (({"slow": lifts(1.1, 0.9, 1.3), "fast": lifts(3.0, 2.5, 3.5)}, P), claims.REPRODUCED),
        (({"slow": lifts(3.0, 2.5, 3.5), "fast": lifts(0.7, 0.6, 0.8)}, P), claims.NOT_REPRODUCED),
        (({"fast": lifts(1.0, 0.8, 1.2)}, P), claims.NOT_REPRODUCED),
        (({"slow": lifts(3.0, 2.5, 3.5)}, P), claims.UNTESTABLE),
        (({}, P), claims.UNTESTABLE),
    ],
    "outperforms_replication": [
        ((gain(0.20, 0.12, 0.28, baseline="LBP-TOP"), False, P), claims.REPRODUCED),
        ((gain(-0.20, -0.28, -0.12), False, P), claims.NOT_REPRODUCED),
        ((gain(0.02, -0.05, 0.09), False, P), claims.NOT_REPRODUCED),
        ((gain(0.20, 0.12, 0.28), True, P), claims.UNTESTABLE),
        ((None, False, P), claims.UNTESTABLE),
        (({"problem": "runs/a and baselines/b do not hold the same test clips"}, False, P), claims.UNTESTABLE),
    ],
    "table2_protocol": [
        ((0.90, [0.90, 0.70, 0.80], P), claims.SELECTED_ON_TEST),
        ((0.80, [0.90, 0.70, 0.80], P), claims.BELOW_BEST),
        ((0.90, [0.90], P), claims.ONE_RUN),
        ((0.95, [0.90, 0.70], P), claims.NOT_IN_GRID),
    ],
    "ceiling_protocol": [
        (({"untrained_subjects": ["19", "28", "33"], "ceiling": 0.935, "test": 77}, P), claims.CAPPED),
        (({"untrained_subjects": [], "ceiling": 1.0, "test": 77}, P), claims.UNCAPPED),
    ],
    "grid_protocol": [
        ((original_grid([(4, 8, 0.8), (4, 8, 0.9)]), TABLE1, P), claims.NOT_SEARCHED),
        ((original_grid([(4, 8, 0.9), (8, 8, 0.8)]), TABLE1, P), claims.TABLE1_TEST_BEST),
        ((original_grid([(4, 8, 0.7), (8, 8, 0.8)]), TABLE1, P), claims.TABLE1_NOT_BEST),
        ((original_grid([(2, 8, 0.7), (8, 8, 0.8)]), TABLE1, P), claims.TABLE1_ABSENT),
    ],
    "table3_protocol": [
        ((ties(0.95, 0.94), P), claims.TIE_ORDER_GAIN),
        ((ties(0.93, 0.94), P), claims.NO_GAIN),
        ((None, P), claims.NOT_REPORTED),
    ],
    "outperforms_protocol": [
        ((0.874, 0.7148, P), claims.ABOVE_BENCHMARK),
        ((0.9495, 0.9555, P), claims.BELOW_BENCHMARK),
    ],
}


@pytest.mark.parametrize("name", sorted(claims.RULES))
def test_every_declared_outcome_of_every_rule_is_reached(name):
    """Each rule's crafted cases give their expected outcome, and together they reach all it declares."""
    rule = claims.RULES[name]
    assert name in CASES, f"{name}: no crafted evidence"
    reached = set()
    for arguments, expected in CASES[name]:
        found = rule(*arguments)
        assert found.verdict == expected, (name, arguments, found)
        assert found.evidence and found.page == P
        reached.add(found.verdict)
    assert reached == set(rule.OUTCOMES), f"{name}: unreachable {set(rule.OUTCOMES) - reached}"


def test_every_crafted_case_names_a_rule_and_replication_rules_declare_the_three_outcomes():
    assert set(CASES) == set(claims.RULES)
    for name, rule in claims.RULES.items():
        if name.endswith("_replication"):
            assert rule.OUTCOMES == claims.OUTCOMES


def test_a_rule_refuses_an_outcome_it_did_not_declare():
    @claims.rule("yes")
    def crafted_rule():
        return claims.Verdict("no", "e", P)

    try:
        with pytest.raises(ValueError, match="crafted_rule returned 'no'"):
            crafted_rule()
    finally:
        claims.RULES.pop("crafted_rule")


def test_the_evidence_shows_both_lifts_and_the_pathway_that_decides():
    found = claims.gradcam_replication({"slow": lifts(1.1, 0.9, 1.3), "fast": lifts(3.0, 2.5, 3.5)}, P)
    assert "judged on the fast pathway" in found.evidence
    assert (
        "slow pathway: 1.10 [0.90, 1.30] times the permutation null, 2.00 [1.60, 2.40] times a uniform map"
        in found.evidence
    )


def test_table3_evidence_shows_the_pair_and_the_ensemble_chosen_on_validation():
    found = claims.table3_replication(gain(0.08, 0.03, 0.13, splits=3), gain(0.05, 0.01, 0.09), P)
    assert "the pair's vote +8.0 points [+3.0, +13.0] over 80 test clips and 3 split seed(s)" in found.evidence
    assert "the ensemble chosen on validation +5.0 points" in found.evidence


def test_protocol_facts_of_the_shipped_original_files():
    """The labels come from the files: best of N on test, the untrained ceiling, CASME II's unsearched grid,
    the tie order's clip, Table 4 per database."""
    runs = original.load_runs()
    for dataset in ("samm", "casme2", "smic"):
        facts = claims.protocol_facts(dataset)
        scores = runs.loc[runs["dataset"] == dataset, "test_rank1"]
        selection = facts["table2"][0]
        assert selection.verdict == claims.SELECTED_ON_TEST
        assert selection.evidence == (
            f"selected on test: best of {len(scores)} runs, median {100 * scores.median():.1f} %, rank 1"
        )
        assert all(fact.page == claims.PAGES["original"] for found in facts.values() for fact in found)
    samm, casme2, smic = (claims.protocol_facts(d) for d in ("samm", "casme2", "smic"))
    assert samm["table2"][1].evidence == "3 test subjects untrained, ceiling 93.5 %"
    assert casme2["table2"][1].verdict == claims.UNCAPPED
    assert casme2["grid"][0].evidence == "alpha and beta not searched: all 4 runs share alpha 4 / beta_inv 8"
    assert smic["grid"][0].verdict == claims.TABLE1_TEST_BEST
    assert smic["ensemble"][0].verdict == claims.TIE_ORDER_GAIN
    assert smic["ensemble"][0].evidence.startswith("tie order decided 1 clip: won 6 of the 7 clips")
    assert samm["ensemble"][0].verdict == claims.NOT_REPORTED
    assert smic["baseline"][0].verdict == claims.BELOW_BENCHMARK
    assert casme2["baseline"][0].verdict == samm["baseline"][0].verdict == claims.ABOVE_BENCHMARK


def test_study_claims_without_result_files_cannot_test_anything_but_shows_the_protocol(tmp_path):
    from mlib.report.manifest import Corpus, StudyManifest

    study = StudyManifest("tiny", "", "synthetic", {}, [Corpus("casme2", str(tmp_path), paths={})])
    table = claims.study_claims(study)
    replication = table[table["question"] == claims.REPLICATION]
    assert list(replication["key"]) == list(claims.CLAIM_LABELS)
    assert set(replication["verdict"]) == {claims.UNTESTABLE}
    protocol = table[table["question"] == claims.PROTOCOL].set_index("key")
    assert protocol.loc["grid", "verdict"] == claims.NOT_SEARCHED
    assert protocol.loc["baseline", "verdict"] == claims.ABOVE_BENCHMARK


def _table():
    return pd.DataFrame(
        {
            "corpus": ["casme2", "casme2", "casme2", "samm", "samm"],
            "key": ["grid", "grid", "gradcam", "grid", "gradcam"],
            "question": [
                claims.REPLICATION,
                claims.PROTOCOL,
                claims.REPLICATION,
                claims.REPLICATION,
                claims.REPLICATION,
            ],
            "verdict": [
                claims.REPRODUCED,
                claims.NOT_SEARCHED,
                claims.REPRODUCED,
                claims.UNTESTABLE,
                claims.NOT_REPRODUCED,
            ],
            "evidence": ["e<1>", "alpha and beta not searched", "e3", "e4", "e5"],
            "page": [
                "executed/04-grid-search-casme2.ipynb",
                "executed/08-original-grid.ipynb",
                "executed/06-gradcam-casme2.ipynb",
                "executed/04-grid-search-samm.ipynb",
                "executed/06-gradcam-samm.ipynb",
            ],
        }
    )


def test_front_page_values_count_replication_verdicts_only():
    values = claims.front_page_values(_table())
    assert values["claims-checked"] == "2" and values["verdicts"] == "4" and values["protocol-facts"] == "1"
    assert values["claims-reproduced"] == "2" and values["claims-not"] == "1" and values["claims-cannot"] == "1"
    assert values["verdict-grid"] == "reproduced on casme2; cannot be tested on this data on samm"
    assert values["verdict-gradcam"] == "reproduced on casme2; not reproduced on samm"


def test_combined_verdict():
    assert claims.combined_verdict({}) == "no corpus"
    assert claims.combined_verdict({"casme2": claims.UNTESTABLE, "smic": claims.UNTESTABLE}) == claims.UNTESTABLE


def test_front_page_table_has_a_replication_and_a_protocol_row_per_claim_and_a_column_per_corpus():
    front = claims.front_page_table(_table(), {"casme2": "CASME II", "samm": "SAMM"})
    assert list(front.columns) == ["claim of the paper", "question", "CASME II", "SAMM"]
    assert list(front["question"]) == [claims.REPLICATION, claims.PROTOCOL] * 2
    assert list(front["claim of the paper"][::2]) == [claims.CLAIM_LABELS["grid"], claims.CLAIM_LABELS["gradcam"]]
    assert front.loc[0, "CASME II"] == '<a href="executed/04-grid-search-casme2.html" title="e&lt;1&gt;">reproduced</a>'
    assert front.loc[1, "CASME II"] == (
        '<a href="executed/08-original-grid.html" title="alpha and beta not searched">'
        "not searched</a>: alpha and beta not searched"
    )
    assert front.loc[1, "SAMM"] == "–"


def test_no_replication_verdict_reads_the_papers_numbers_beyond_the_claim():
    """The replication rules depend on our evidence: the same paper number gives every outcome."""
    reached = {
        claims.table2_replication(paper.TABLE2_RANK1["casme2"], ours, False, P).verdict
        for ours in (rank1(0.874, 0.8, 0.93), rank1(0.3, 0.2, 0.4), None)
    }
    assert reached == set(claims.OUTCOMES)


def _predictions(run_dir, right, val_rank1, sure=0.9, unsure=0.9):
    """A run's predictions.csv over 4 validation and 40 test clips of subjects a and b, right on the test
    clips where ``right(i)``, with probability ``sure`` for its answer there and ``unsure`` elsewhere; and
    what its metrics.json holds."""
    from mlib.core import io

    rows = []
    for part, n in (("val", 4), ("test", 40)):
        for i in range(n):
            truth, correct = "ab"[i % 2], part == "val" or right(i)
            guess, p = (truth, sure) if correct else ("ab"[(i + 1) % 2], unsure)
            rows.append(
                {
                    "clip_key": f"{part}{i:02d}",
                    "subject": truth,
                    "part": part,
                    "p:a": p if guess == "a" else 1 - p,
                    "p:b": p if guess == "b" else 1 - p,
                }
            )
    io.write_csv(run_dir / "predictions.csv", pd.DataFrame(rows))
    return {"val": {"rank1": val_rank1}, "feature_set": run_dir.name}


def _pair(ensemble_dir, runs_dir, vote_follows_the_right_member):
    """table3-splits.csv of one split seed whose Adam and AdamW runs are each right on half the test clips;
    each is sure where it is right (the vote is then always right) or where it is wrong (always wrong)."""
    from mlib.core import io
    from mlib.experiments import solver_pair

    sure, unsure = (0.9, 0.6) if vote_follows_the_right_member else (0.6, 0.9)
    for solver, right in (("adam", lambda i: i < 20), ("adamw", lambda i: i >= 20)):
        io.write_json(runs_dir / solver / "metrics.json", _predictions(runs_dir / solver, right, 1.0, sure, unsure))
    gain_value = 0.5 if vote_follows_the_right_member else -0.5
    row = {
        "statistic": solver_pair.PER_SPLIT,
        "split": "seed42",
        "splits": 1,
        "n_test": 40,
        "adam_run": str(runs_dir / "adam"),
        "adamw_run": str(runs_dir / "adamw"),
        "vote_gain": gain_value,
        **{f"{model}_rank1": 0.5 for model in ("adam", "adamw")},
        "vote_rank1": 0.5 + gain_value,
    }
    frame = pd.DataFrame([row], columns=solver_pair.COLUMNS)
    io.write_csv(ensemble_dir / solver_pair.TABLE_FILE, pd.concat([frame, solver_pair.summary_rows(frame)]))


def _crafted_results(folder, rank1_value, vote_right, null_low, slowfast_right):
    """A corpus's result files as the pages write them: the Table 1 run's metrics and predictions, two
    baseline runs, the Table 1 pair over split seeds (table3-splits.csv and its runs), the validation-chosen
    ensemble's gain (gain.json), the Grad-CAM null table."""
    import json

    from mlib.core import io

    train, ensemble_dir, gradcam = folder / "train", folder / "ensemble", folder / "gradcam"
    _predictions(train, lambda i: i < slowfast_right * 40, 1.0)
    io.write_json(
        train / "metrics.json",
        {"test": {"rank1": rank1_value, "rank1_ci95": [rank1_value - 0.05, rank1_value + 0.05], "chance": 0.04}},
    )
    for features, val_rank1 in (("lbp-top", 0.75), ("lgbp", 0.5)):  # the validation choice: lbp-top, half right
        io.write_json(
            folder / "baseline" / features / "metrics.json",
            _predictions(folder / "baseline" / features, lambda i: i < 20, val_rank1),
        )
    _pair(ensemble_dir, folder / "runs", vote_right)
    (ensemble_dir / "gain.json").write_text(json.dumps(gain(0.02, -0.03, 0.07)))
    io.write_csv(
        gradcam / "null.csv",
        pd.DataFrame(
            [
                {"pathway": p, "region": "motion", "clips": 40, **lifts(null_low + 0.2, null_low, null_low + 0.4)}
                for p in ("slow", "fast")
            ]
        ),
    )
    return {
        "train": str(train),
        "ensemble": str(ensemble_dir),
        "gradcam": str(gradcam),
        "baseline": str(folder / "baseline"),
    }


@pytest.mark.parametrize(
    "evidence, expected",
    [
        ((paper.TABLE2_RANK1["casme2"], True, 1.2, 1.0), claims.REPRODUCED),  # a perfect replication
        ((0.2, False, 0.5, 0.1), claims.NOT_REPRODUCED),  # a clear failure
    ],
)
def test_study_claims_follow_the_result_files_of_a_real_run(tmp_path, evidence, expected):
    from mlib.report.manifest import Corpus, StudyManifest

    paths = _crafted_results(tmp_path, *evidence)
    study = StudyManifest("tiny", "", "real", {}, [Corpus("casme2", str(tmp_path), paths=paths)])
    table = claims.study_claims(study)
    verdicts = table[table["question"] == claims.REPLICATION].set_index("key")["verdict"]
    assert verdicts["table2"] == verdicts["ensemble"] == verdicts["gradcam"] == verdicts["baseline"] == expected
    assert verdicts["grid"] == claims.UNTESTABLE  # no grid
    evidence_of = table[table["question"] == claims.REPLICATION].set_index("key")["evidence"]
    assert "the ensemble chosen on validation +2.0 points" in evidence_of["ensemble"]
    assert "our SlowFast minus our baseline (lbp-top)" in evidence_of["baseline"]
    assert "(subjects, then clips; chance" in evidence_of["table2"]  # what the interval resamples, the one chance


def test_evidence_table_names_each_claim_in_words():
    shown = claims.evidence_table(_table())
    assert list(shown.columns) == ["claim of the paper", "corpus", "question", "outcome", "evidence", "page"]
    assert shown["claim of the paper"].iloc[0] == claims.CLAIM_LABELS["grid"]
    assert shown["outcome"].tolist() == _table()["verdict"].tolist()


def test_protocol_table_lists_every_fact_of_every_database():
    table = claims.protocol_table()
    assert list(table.columns) == ["database", "claim of the paper", "grade", "fact"]
    assert len(table) == sum(
        len(facts) for dataset in ("samm", "casme2", "smic") for facts in claims.protocol_facts(dataset).values()
    )
    assert set(table["database"]) == set(paper.DATASET_NAMES.values())
