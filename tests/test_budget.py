"""The learning-budget study (mlib.experiments.budget): its verdict on crafted tables, one tiny sweep end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlib.core.config import ConfigError, resolve
from mlib.experiments import budget
from mlib.report import takeaways

CHANCE = 1 / 12


def _table(*runs):
    """runs: (label, rank1, ci_low, ci_high, minutes) on 8 clips per subject, chance 1/12."""
    return pd.DataFrame(
        [
            {
                "clips_per_subject": 8,
                "label": label,
                "input": "clip",
                "sampling": "window",
                "epochs": 12,
                "train_clips": 38,
                "rank1": r,
                "ci_low": lo,
                "ci_high": hi,
                "chance": CHANCE,
                "n_test": 48,
                "minutes": minutes,
                "run_dir": label,
            }
            for label, r, lo, hi, minutes in runs
        ],
        columns=budget.BUDGET_COLUMNS,
    )


AT_CHANCE = ("book scale", 0.10, 0.02, 0.20, 2.0)


CASES = [
    ([AT_CHANCE, ("long", 0.70, 0.55, 0.84, 12.0), ("longer", 0.72, 0.58, 0.86, 30.0)], budget.LEARNS, "long"),
    ([AT_CHANCE, ("long", 0.40, 0.25, 0.55, 12.0), ("longer", 0.72, 0.58, 0.86, 30.0)], budget.TOO_SLOW, "longer"),
    ([AT_CHANCE, ("long", 0.40, 0.25, 0.55, 12.0), ("wide interval", 0.65, 0.05, 0.9, 5.0)], budget.SOME, "long"),
    ([AT_CHANCE, ("slow", 0.35, 0.10, 0.60, 52.0)], budget.SOME, "slow"),
    ([AT_CHANCE, ("long", 0.15, 0.05, 0.3, 12.0)], budget.NOT_AT_CPU_SCALE, "long"),
]


@pytest.mark.parametrize("runs,verdict,best", CASES)
def test_the_verdict_names_whether_and_where_the_network_learns_a_movement_identity(runs, verdict, best):
    """Learning needs the interval above chance; the target needs the rank-1 within the CPU minutes."""
    found = budget.budget_verdict(_table(*runs), target=0.6, cpu_minutes=15)
    assert found.verdict == verdict and found.numbers["best"]["label"] == best
    assert budget.learns_beyond_book(_table(*runs), 0.6, 15) is (verdict in (budget.LEARNS, budget.TOO_SLOW))
    sentence = takeaways.motion_budget(found)
    assert verdict in sentence and f"{found.numbers['best']['rank1']:.3f}" in sentence


def test_every_outcome_of_the_rule_is_reached_by_the_crafted_tables():
    reached = {budget.budget_verdict(_table(*runs), 0.6, 15).verdict for runs, _, _ in CASES}
    assert reached | {budget.budget_verdict(_table(), 0.6, 15).verdict} == set(budget.budget_verdict.OUTCOMES)


def test_an_empty_study_is_not_measured():
    empty = _table()
    assert budget.budget_verdict(empty, 0.6, 15).verdict == budget.NOT_MEASURED
    assert budget.learns_beyond_book(empty, 0.6, 15) is None
    assert "no finished run" in takeaways.motion_budget(budget.budget_verdict(empty, 0.6, 15))


def test_the_corpus_axis_shares_the_studys_motion_only_corpus_at_its_own_size():
    cfg = resolve(None)
    assert budget.corpus_root(cfg, 8) == budget.Path("data/synthetic/casme2-motion-only")
    assert budget.corpus_root(cfg, 16) == budget.Path("data/synthetic/casme2-motion-only-16clips")


@pytest.mark.parametrize(
    "override,message",
    [
        ("budget.target=1.5", "budget.target"),
        ("budget.clips_per_subject=[1]", "budget.clips_per_subject"),
        ("budget.cpu_minutes=0", "budget.cpu_minutes"),
    ],
)
def test_bad_budget_settings_are_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve(None, [override])


@pytest.mark.usefixtures("one_torch_thread")
def test_a_tiny_sweep_writes_one_row_per_run_and_skips_what_the_grid_excludes(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "fixed: {train.epochs: 1}\nconfigurations:\n"
        "  - {label: clip, set: {data.input: clip}}\n  - {label: difference, set: {data.input: difference}}\n"
        "exclude:\n  - match: {synth.clips_per_subject: 3, data.input: clip}\n    reason: too slow\n"
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        f"study: {{roots: {{casme2: {tmp_path / 'data' / 'casme2'}}}}}\n"
        f"budget: {{grid: {grid}, clips_per_subject: [2, 3]}}\n"
        "synth: {subjects: 3, clips_per_subject: 2, single_clip_subjects: 0, frame_size: [120, 160]}\n"
        f"prepare: {{face_size: 48, workers: 1, cache_dir: {tmp_path / 'cache'}}}\n"
        "split: {val_size: 0}\n"
        "model: {width: 8, frames: 8, size: 32}\n"
        "train: {batch_size: 4, warmup_epochs: 0, device: cpu}\n"
    )
    cfg = resolve(profile)
    table = budget.run_budget(cfg, tmp_path / "out")
    assert list(zip(table["clips_per_subject"], table["label"])) == [(2, "clip"), (2, "difference"), (3, "difference")]
    assert (tmp_path / "data" / "casme2-motion-only-3clips").is_dir() and (tmp_path / "out" / "budget.csv").is_file()
    assert (table["n_test"] + table["train_clips"] == table["clips_per_subject"] * 3).all()
    assert np.allclose(table.loc[table["clips_per_subject"] == 2, "chance"], 1 / 3)  # one test clip per subject
    assert (table["ci_low"] <= table["rank1"]).all() and (table["minutes"] > 0).all()
    again = budget.run_budget(cfg, tmp_path / "out")  # every run found finished: the same table
    pd.testing.assert_frame_equal(again, table)


def test_the_rule_the_page_prints_names_every_verdict_in_words():
    from mlib.plots import rule_prose

    text = rule_prose(budget.budget_verdict)
    for verdict in (budget.LEARNS, budget.TOO_SLOW, budget.SOME, budget.NOT_AT_CPU_SCALE, budget.NOT_MEASURED):
        assert verdict.split(":")[0] in text, verdict
    assert "Returns" not in text and "``" not in text
