"""The controls experiment (mlib.experiments.controls): the verdict rule on crafted tables, the table from real runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlib.core.config import resolve
from mlib.experiments import controls
from mlib.report import takeaways


def _summary(corpus="c", positive=np.nan, **variants):
    """variants: name=(rank1, ci_low, ci_high); chance 0.1, majority 0.15."""
    rows = [
        {
            "corpus": corpus,
            "variant": name,
            "rank1": r,
            "ci_low": lo,
            "ci_high": hi,
            "split_sd": np.nan,
            "splits": 1,
            "chance": 0.1,
            "majority": 0.15,
            "positive_control": positive,
        }
        for name, (r, lo, hi) in variants.items()
    ]
    return pd.DataFrame(rows)


AT_CHANCE = (0.12, 0.02, 0.25)


def test_static_that_reaches_the_clip_means_appearance_suffices():
    summary = _summary(
        clip=(0.9, 0.8, 0.97),
        **{"static-apex": (0.85, 0.74, 0.93)},
        shuffled=(0.88, 0.78, 0.95),
        difference=(0.6, 0.45, 0.72),
    )
    assert controls.motion_verdict(summary, "c").verdict == controls.APPEARANCE


def test_a_face_masked_input_that_reaches_the_clip_means_session_cues_suffice():
    masked = {"static-apex": (0.85, 0.74, 0.93), "face-masked": (0.8, 0.7, 0.9)}
    summary = _summary(clip=(0.9, 0.8, 0.97), difference=(0.6, 0.45, 0.72), **masked)
    verdict = controls.motion_verdict(summary, "c")
    assert verdict.verdict == controls.SESSION and verdict.numbers["session_cues"]
    masked["face-masked"] = AT_CHANCE  # the face is needed: the static rule decides
    assert controls.motion_verdict(_summary(clip=(0.9, 0.8, 0.97), **masked), "c").verdict == controls.APPEARANCE


def test_difference_above_chance_with_static_below_the_clip_means_motion():
    summary = _summary(clip=(0.9, 0.8, 0.97), **{"static-apex": (0.4, 0.28, 0.52)}, difference=(0.5, 0.35, 0.62))
    verdict = controls.motion_verdict(summary, "c")
    assert verdict.verdict == controls.MOTION and verdict.numbers["difference_identifies"]
    assert verdict.numbers["static_identifies"] == ["static-apex"] and not verdict.numbers["static_reaches_clip"]


def test_order_sensitivity_alone_means_motion():
    summary = _summary(
        clip=(0.7, 0.6, 0.8),
        shuffled=(0.3, 0.2, 0.4),
        difference=AT_CHANCE,
        **{"static-apex": AT_CHANCE, "static-first": AT_CHANCE},
    )
    verdict = controls.motion_verdict(summary, "c")
    assert verdict.verdict == controls.MOTION and verdict.numbers["order_matters"]


def test_an_interval_touching_the_majority_rate_does_not_identify():
    summary = _summary(clip=(0.4, 0.14, 0.6), difference=(0.3, 0.15, 0.45), shuffled=(0.3, 0.14, 0.45))
    assert controls.motion_verdict(summary, "c").verdict == controls.UNTESTED  # 0.15 is not above 0.15


def test_clip_identifies_without_separable_source():
    summary = _summary(
        clip=(0.6, 0.45, 0.75), shuffled=(0.55, 0.4, 0.7), difference=AT_CHANCE, **{"static-apex": AT_CHANCE}
    )
    assert controls.motion_verdict(summary, "c").verdict == controls.UNCLEAR


@pytest.mark.parametrize(
    "positive,expected", [(0.95, controls.MISSED), (0.5, controls.NOT_LEARNABLE), (np.nan, controls.UNTESTED)]
)
def test_negative_results_are_read_against_the_positive_control(positive, expected):
    summary = _summary(positive=positive, clip=AT_CHANCE, difference=AT_CHANCE, shuffled=AT_CHANCE)
    assert controls.motion_verdict(summary, "c").verdict == expected


def test_missing_clip_is_not_measured_and_verdicts_cover_every_corpus():
    summary = pd.concat(
        [_summary("a", difference=AT_CHANCE), _summary("b", clip=(0.9, 0.8, 0.97), difference=(0.5, 0.3, 0.6))]
    )
    table = controls.verdicts(summary)
    assert table.set_index("corpus")["verdict"].to_dict() == {"a": controls.NOT_MEASURED, "b": controls.MOTION}


def test_summarize_pools_the_split_seeds_into_one_interval(tmp_path):
    from crafted_predictions import write_predictions

    subjects = list(np.repeat(["a", "b", "c", "d"], 5))
    runs = [
        write_predictions(tmp_path / "r0", subjects, [s in "ab" for s in subjects]),  # rank-1 0.5
        write_predictions(tmp_path / "r1", subjects, [True] * 20),
    ]  # rank-1 1.0
    table = pd.DataFrame(
        [
            {
                "corpus": "c",
                "variant": "clip",
                "split": f"s{i}",
                "rank1": r,
                "ci_low": lo,
                "ci_high": hi,
                "chance": 0.25,
                "majority": m,
                "n_test": 20,
                "positive_control": np.nan,
                "run_dir": str(run),
            }
            for i, (r, lo, hi, m, run) in enumerate([(0.5, 0.0, 1.0, 0.2, runs[0]), (1.0, 1.0, 1.0, 0.1, runs[1])])
        ]
    )
    row = controls.summarize(table).iloc[0]
    assert row["rank1"] == pytest.approx(0.75) and row["splits"] == 2 and row["chance"] == pytest.approx(0.25)
    assert row["split_sd"] == pytest.approx(np.std([0.5, 1.0], ddof=1)) and row["majority"] == pytest.approx(0.15)
    # the mixture of the two seeds' draws: seed 1 is always 1.0, seed 0 draws k/4 right subjects
    assert (row["ci_low"], row["ci_high"]) == (0.0, 1.0)
    one = controls.summarize(table.iloc[[1]]).iloc[0]
    assert (one["ci_low"], one["ci_high"]) == (1.0, 1.0) and np.isnan(one["split_sd"])


@pytest.mark.parametrize(
    "motion_only_clip,expected", [((0.7, 0.55, 0.85), controls.CAN_LEARN), (AT_CHANCE, controls.CANNOT_TELL)]
)
def test_a_verdict_without_motion_is_read_against_the_model_on_motion_only(motion_only_clip, expected):
    """Twins: appearance suffices. Whether that says 'the model does not use movement' or 'cannot tell' depends
    on whether the same model identifies by movement on the motion-only corpus."""
    summary = pd.concat(
        [
            _summary("twins", clip=(0.9, 0.8, 0.97), **{"static-apex": (0.85, 0.74, 0.93)}, difference=AT_CHANCE),
            _summary("motion-only", positive=0.95, clip=motion_only_clip, difference=AT_CHANCE, shuffled=AT_CHANCE),
            _summary("identity", clip=(0.9, 0.8, 0.97), difference=(0.5, 0.3, 0.6)),
        ]
    )
    table = controls.verdicts(summary).set_index("corpus")
    assert table.at["twins", "verdict"] == controls.APPEARANCE and table.at["twins", "model_check"] == expected
    assert table.at["identity", "model_check"] == "" and table.at["motion-only", "model_check"] == ""
    assert f"twins: {controls.APPEARANCE}; {expected}." in takeaways.controls(table.reset_index())
    without = controls.verdicts(summary[summary["corpus"] != "motion-only"]).set_index("corpus")
    assert without.at["twins", "model_check"] == ""


@pytest.mark.parametrize(
    "learns,with_budget,expected",
    [
        (True, None, controls.CAN_LEARN),
        (True, False, controls.CAN_LEARN),
        (False, True, controls.LARGER_BUDGET),
        (False, False, controls.CANNOT_TELL),
        (False, None, controls.CANNOT_TELL),
        (None, True, ""),
    ],
)
def test_model_check_reads_the_budget_study_where_the_book_scale_learns_nothing(learns, with_budget, expected):
    """At chance on motion-only at the book's scale, the budget study decides between 'cannot tell' and 'rerun at
    the budget that learns'; where the book's scale learns, it is not needed; without motion-only, nothing."""
    assert controls.model_check(controls.APPEARANCE, "twins", learns, with_budget) == expected
    assert controls.model_check(controls.MOTION, "twins", learns, with_budget) == ""
    assert controls.model_check(controls.APPEARANCE, controls.MOTION_ONLY, learns, with_budget) == ""


def test_verdicts_pass_the_budget_study_to_every_corpus():
    """The study names its motion-only corpus after its database (casme2-motion-only): that is the model's check."""
    summary = pd.concat(
        [
            _summary("casme2-twins", clip=(0.9, 0.8, 0.97), **{"static-apex": (0.85, 0.74, 0.93)}),
            _summary("casme2-motion-only", positive=0.95, clip=AT_CHANCE),
        ]
    )
    table = controls.verdicts(summary, learns_with_budget=True).set_index("corpus")
    assert table.at["casme2-twins", "model_check"] == controls.LARGER_BUDGET
    assert table.at["casme2-motion-only", "model_check"] == ""
    assert controls.verdicts(summary).set_index("corpus").at["casme2-twins", "model_check"] == controls.CANNOT_TELL


def test_majority_rate_is_the_top_training_subjects_share_of_test(tmp_path):
    split = tmp_path / "split.csv"
    pd.DataFrame(
        {
            "clip_key": list("abcdefg"),
            "subject": ["01", "01", "02", "01", "02", "02", "02"],
            "part": ["train", "train", "train", "test", "test", "test", "val"],
        }
    ).to_csv(split, index=False)
    assert controls.majority_rate(split) == pytest.approx(1 / 3)


def test_variant_config_sets_only_the_data_option(tmp_path):
    cfg = resolve(None, {"model": {"alpha": 8}})
    one = controls.variant_config(cfg, "pyslowfast", "cache", "split.csv", tmp_path)
    two = controls.variant_config(cfg, "shuffled", "cache", "split.csv", tmp_path)
    assert (one["data"]["sampling"], one["data"]["input"]) == ("pyslowfast", "clip")
    assert (two["data"]["sampling"], two["data"]["input"]) == ("window", "shuffled")
    assert one["model"] == two["model"] == cfg["model"] and one["run"]["out"] == str(tmp_path)
    with pytest.raises(ValueError, match="variant 'blurred'"):
        controls.variant_config(cfg, "blurred", "cache", "split.csv", tmp_path)


@pytest.mark.usefixtures("one_torch_thread")
def test_run_controls_trains_each_variant_once_and_reuses_finished_runs(tmp_path, capsys):
    from tiny_caches import write_split, write_tiny_cache

    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=4)
    split = write_split(cache, n_train=2, n_val=0)
    cfg = resolve(
        None,
        {
            "model": {"frames": 8, "size": 32, "width": 8},
            "train": {"epochs": 1, "batch_size": 6, "device": "cpu", "warmup_epochs": 0},
        },
    )
    corpora = {
        "tiny": {"cache": str(cache), "split": str(split), "runs_dir": str(tmp_path / "runs"), "positive_control": 0.97}
    }
    table = controls.run_controls(cfg, corpora, tmp_path / "out", variants=["clip", "shuffled", "pyslowfast"])
    assert list(table["variant"]) == ["clip", "shuffled", "pyslowfast"] and table["run_dir"].nunique() == 3
    assert (
        (table["n_test"] == 6).all()
        and np.allclose(table["chance"], 1 / 3)
        and (table["positive_control"] == 0.97).all()
    )
    assert (tmp_path / "out" / "controls.csv").is_file()
    capsys.readouterr()
    again = controls.run_controls(cfg, corpora, None, variants=["clip", "shuffled", "pyslowfast"])
    assert capsys.readouterr().out.count("finished (metrics.json present); skipping") == 3
    pd.testing.assert_frame_equal(again, table)


def test_the_page_shows_the_summary_and_verdicts_in_words():
    summary = _summary(clip=(0.9, 0.8, 0.97), difference=(0.5, 0.3, 0.6))
    shown = controls.shown_summary(summary)
    assert not {"rank1", "ci_low", "ci_high", "split_sd", "positive_control"} & set(shown.columns)
    assert list(shown.columns[:4]) == [
        "corpus",
        "input",
        "test rank-1 (mean over split seeds)",
        "95 % interval (subjects, then clips; split seeds pooled)",
    ]
    assert shown.iloc[0, 3] == "[0.800, 0.970]"
    facts = controls.shown_verdicts(controls.verdicts(summary))
    assert "_" not in "".join(facts.columns) and facts.iloc[0]["verdict"] == controls.MOTION


def test_the_rule_reads_as_prose_without_roles_or_constant_names():
    from mlib.plots import rule_prose

    text = rule_prose(controls.motion_verdict)
    assert ":func:" not in text and "``" not in text and "POSITIVE_CONTROL_TARGET" not in text
    assert f"reaches {controls.POSITIVE_CONTROL_TARGET:g}" in text and "Returns" not in text


def test_every_outcome_of_the_rule_is_reached_by_the_crafted_tables_above():
    at_chance = {"clip": AT_CHANCE, "difference": AT_CHANCE, "shuffled": AT_CHANCE}
    crafted = [
        _summary(difference=AT_CHANCE),
        _summary(clip=(0.9, 0.8, 0.97), **{"static-apex": (0.85, 0.74, 0.93)}),
        _summary(clip=(0.9, 0.8, 0.97), **{"static-apex": (0.85, 0.74, 0.93), "face-masked": (0.8, 0.7, 0.9)}),
        _summary(clip=(0.9, 0.8, 0.97), difference=(0.5, 0.35, 0.62)),
        _summary(clip=(0.6, 0.45, 0.75), shuffled=(0.55, 0.4, 0.7), difference=AT_CHANCE),
        *(_summary(positive=positive, **at_chance) for positive in (0.95, 0.5, np.nan)),
    ]
    reached = {controls.motion_verdict(summary, "c").verdict for summary in crafted}
    assert reached == set(controls.motion_verdict.OUTCOMES)
