"""The claims' verdict rules on crafted evidence, and the claims table from a tiny study's files."""

import math

import pandas as pd

from mlib import claims, paper
from mlib.controls import APPEARANCE, MOTION

CI = {"rank1": 0.90, "ci_low": 0.85, "ci_high": 0.95}


def test_table2_best_of_n_on_test_is_contradicted_by_the_original_files():
    verdict = claims.table2_accuracy(0.90, [0.90, 0.70, 0.80], CI, synthetic=False)
    assert verdict.verdict == claims.CONTRADICTED and "best of its 3 runs" in verdict.evidence


def test_table2_median_equal_to_reported_is_not_a_contradiction():
    assert claims.table2_accuracy(0.90, [0.90, 0.90, 0.80], CI, synthetic=False).verdict == claims.SUPPORTED


def test_table2_on_real_data_follows_our_interval_and_synthetic_cannot_test():
    assert claims.table2_accuracy(0.99, None, CI, synthetic=False).verdict == claims.NOT_SUPPORTED
    assert claims.table2_accuracy(0.90, None, CI, synthetic=False).verdict == claims.SUPPORTED
    assert claims.table2_accuracy(0.90, None, CI, synthetic=True).verdict == claims.UNTESTABLE
    assert claims.table2_accuracy(0.90, None, None, synthetic=False).verdict == claims.UNTESTABLE


def test_grid_choice():
    assert claims.grid_choice([True, True], None, True, "p").verdict == claims.CONTRADICTED
    fair = {"val_pick": 0.8, "test_pick": 0.8}
    short = {"val_pick": 0.6, "test_pick": 0.8}
    assert claims.grid_choice([True, False], fair, True, "p").verdict == claims.SUPPORTED
    assert claims.grid_choice([], short, True, "p").verdict == claims.NOT_SUPPORTED
    assert claims.grid_choice([False], None, True, "p").verdict == claims.UNTESTABLE


def _ties(vote, better, won, expected, n=100):
    return {"test clips": n, "vote": vote, "better member": better, "won by the tie order": won,
            "expected vote over random numberings": expected}


def test_ensemble_gain_made_by_the_tie_order_is_contradicted():
    assert claims.ensemble_gain(_ties(0.95, 0.94, 3, 0.92), None, True, "p").verdict == claims.CONTRADICTED
    # a gain beyond what ties decided is not the tie rule's: ours decides
    ours = {"vote": 0.9, "best_member": 0.8, "gain_ci_low": 0.02}
    assert claims.ensemble_gain(_ties(0.99, 0.90, 3, 0.95), ours, True, "p").verdict == claims.SUPPORTED
    assert claims.ensemble_gain(None, ours | {"gain_ci_low": -0.01}, True, "p").verdict == claims.NOT_SUPPORTED
    assert claims.ensemble_gain(None, ours | {"gain_ci_low": math.nan}, True, "p").verdict == claims.UNTESTABLE


def test_gradcam_claim():
    assert claims.gradcam_claim({"slow": "supports"}, MOTION, True, "p").verdict == claims.SUPPORTED
    assert claims.gradcam_claim({"slow": "supports"}, APPEARANCE, True, "p").verdict == claims.NOT_SUPPORTED
    assert claims.gradcam_claim({"slow": "contradicts", "fast": "does not clearly support"}, None, True,
                                "p").verdict == claims.NOT_SUPPORTED
    assert claims.gradcam_claim({"slow": "is not measured for"}, None, True, "p").verdict == claims.UNTESTABLE


def test_outperforms_benchmark():
    ours = {"slowfast": {"ci_low": 0.8, "ci_high": 0.9}, "baseline": {"ci_low": 0.5, "ci_high": 0.6}}
    below = claims.outperforms_benchmark({"smic": 0.90}, {"smic": 0.95}, ours, False, "p")
    assert below.verdict == claims.NOT_SUPPORTED and "paper's own Table 4" in below.evidence
    assert claims.outperforms_benchmark({"smic": 0.96}, {"smic": 0.95}, ours, False, "p").verdict == claims.SUPPORTED
    assert claims.outperforms_benchmark({"smic": 0.96}, {"smic": 0.95}, ours, True, "p").verdict == claims.UNTESTABLE
    overlap = ours | {"baseline": {"ci_low": 0.7, "ci_high": 0.85}}
    assert claims.outperforms_benchmark({"smic": 0.96}, {"smic": 0.95}, overlap, False,
                                        "p").verdict == claims.NOT_SUPPORTED


def test_the_papers_own_numbers_give_the_expected_verdicts():
    """On the shipped original outputs and mlib.paper: Table 1 was the test set's pick, the vote's gain is the tie order's."""
    facts = claims._original_facts()
    assert claims.grid_choice(facts["table1_is_test_best"], None, True, "p").verdict == claims.CONTRADICTED
    assert claims.ensemble_gain(facts["ties"], None, True, "p").verdict == claims.CONTRADICTED
    assert claims.outperforms_benchmark(paper.TABLE4_OURS_RANK1, paper.BASELINE_SAEED2021_RANK1, None, True,
                                        "p").verdict == claims.NOT_SUPPORTED


def test_study_claims_on_a_manifest_without_result_files(tmp_path):
    from mlib.manifest import StudyManifest, Variant

    study = StudyManifest("tiny", "", "synthetic", {}, [Variant("casme2", str(tmp_path), paths={})])
    table = claims.study_claims(study)
    assert isinstance(table, pd.DataFrame) and len(table) == 5
    assert set(table["verdict"]) <= set(claims.VERDICTS)
    assert table.set_index("claim").filter(like="Table 2", axis=0)["verdict"].iloc[0] == claims.CONTRADICTED


def test_front_page_values_count_claims_by_verdict():
    import pandas as pd

    from mlib import claims

    table = pd.DataFrame({"corpus": ["casme2"] * 3 + ["samm"] * 3, "key": ["table2", "gradcam", "baseline"] * 2,
                          "claim": ["Table 2: x", "Grad-CAM: y", "Table 4: z", "Table 2: w", "Grad-CAM: y", "Table 4: z"],
                          "verdict": [claims.CONTRADICTED, claims.SUPPORTED, claims.CONTRADICTED,
                                      claims.CONTRADICTED, claims.NOT_SUPPORTED, claims.CONTRADICTED]})
    values = claims.front_page_values(table)
    assert values["claims-checked"] == "3" and values["verdicts"] == "6"
    assert values["claims-contradicted"] == "4" and values["claims-supported"] == "1"
    assert values["claims-not"] == "1" and values["claims-cannot"] == "0"
    assert values["verdict-table2"] == claims.CONTRADICTED
    assert values["verdict-gradcam"] == "supported on casme2; not supported on samm"


def test_combined_verdict():
    from mlib import claims

    assert claims.combined_verdict({}) == "no corpus"
    assert claims.combined_verdict({"casme2": claims.UNTESTABLE, "smic": claims.UNTESTABLE}) == claims.UNTESTABLE
    assert claims.combined_verdict({"smic": claims.SUPPORTED, "samm": claims.UNTESTABLE}) == \
        "supported on smic; cannot be tested here on samm"


def test_front_page_table_has_a_column_per_corpus_and_links_each_verdict():
    import pandas as pd

    from mlib import claims

    table = pd.DataFrame({"corpus": ["casme2", "casme2", "smic", "smic"], "key": ["grid", "gradcam"] * 2,
                          "claim": ["g", "c", "g", "c"], "evidence": ["e<1>", "e2", "e3", "e4"],
                          "verdict": [claims.SUPPORTED, claims.UNTESTABLE, claims.CONTRADICTED, claims.SUPPORTED],
                          "page": ["executed/04-grid-search-casme2.ipynb", "executed/06-gradcam-casme2.ipynb",
                                   "executed/04-grid-search-smic.ipynb", "executed/06-gradcam-smic.ipynb"]})
    front = claims.front_page_table(table, {"casme2": "CASME II", "smic": "SMIC"})
    assert list(front.columns) == ["claim of the paper", "CASME II", "SMIC"]
    assert list(front["claim of the paper"]) == [claims.CLAIM_LABELS["grid"], claims.CLAIM_LABELS["gradcam"]]
    assert front.loc[0, "SMIC"] == ('<a href="executed/04-grid-search-smic.html" title="e3">'
                                    "contradicted by the original&#x27;s own files</a>")
    assert 'title="e&lt;1&gt;"' in front.loc[0, "CASME II"]
