"""Positive controls: the generator's truth parameters identify subjects as far as motion_identity lets them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlib.core import config
from mlib.experiments import positive_controls
from mlib.synth import corpus_specs
from mlib.synth.layouts import write_corpus

SPLIT = {"protocol": "half", "test_size": 0.5, "val_size": 0.0, "seed": 42, "repeats": 3}


def _truth_rank1(knob: float, seed: int = 0) -> float:
    specs = corpus_specs(
        subjects=8,
        clips_per_subject=8,
        single_clip_subjects=1,
        short_clip_fraction=0.2,
        frame_size=(96, 128),
        fps=200,
        mode="motion-only",
        seed=seed,
        motion_identity=knob,
    )
    return positive_controls.truth_control(positive_controls.truth_from_specs(specs), SPLIT)["rank1"]


def test_truth_control_rises_with_motion_identity():
    """No habit: chance (1/8); full habit: near perfect; monotone in between."""
    found = [_truth_rank1(k) for k in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a <= b for a, b in zip(found, found[1:])), found
    assert found[0] < 0.3 and found[-1] >= 0.9, found


def test_written_truth_holds_what_the_specs_say(tmp_path):
    specs = corpus_specs(
        subjects=3,
        clips_per_subject=2,
        single_clip_subjects=0,
        short_clip_fraction=0.5,
        frame_size=(64, 80),
        fps=200,
        mode="twins",
        seed=3,
    )  # 3: a pair of twins and one more face
    write_corpus(tmp_path / "c", "casme2", specs, workers=1, progress=False)
    written = positive_controls.read_truth(tmp_path / "c")
    direct = positive_controls.truth_from_specs(specs)
    np.testing.assert_allclose(positive_controls.truth_features(written), positive_controls.truth_features(direct))
    assert (written["blink_starts"] == direct["blink_starts"]).all()


def test_unreadable_truth_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="synth_truth/truth.csv: no generator truth"):
        positive_controls.read_truth(tmp_path)
    (tmp_path / "synth_truth").mkdir()
    pd.DataFrame({"clip_key": ["a"], "subject": ["01"]}).to_csv(tmp_path / "synth_truth" / "truth.csv", index=False)
    with pytest.raises(ValueError, match=r"truth.csv: lacks column\(s\) \['regions'"):
        positive_controls.read_truth(tmp_path)


@pytest.mark.slow
def test_measure_writes_corpora_and_runs_both_controls(tmp_path, capsys):
    cfg = config.resolve(
        overrides={
            "synth": {
                "subjects": 3,
                "clips_per_subject": 4,
                "single_clip_subjects": 0,
                "frame_size": [64, 80],
                "short_clip_fraction": 1.0,
            },
            "prepare": {"face_size": 32, "window": 16},
            "split": {"val_size": 0.0},
        }
    )
    table = positive_controls.report(cfg, tmp_path, modes=("twins",), knob_values=(1.0,), workers=1)
    assert list(table["mode"]) == ["twins"] and table.loc[0, "motion_identity"] == 1.0
    for column in ("truth rank-1", "fhofo rank-1", "lbp-top-xtyt rank-1"):
        assert 0 <= table.loc[0, column] <= 1
    assert table.loc[0, "chance"] == pytest.approx(1 / 3)
    assert (tmp_path / "twins-1" / "corpus" / "synth_truth" / "truth.csv").is_file()
    assert "fhofo rank-1" in capsys.readouterr().out


def test_learnable_table_needs_no_rendering_and_follows_the_knob():
    """From specs alone: every mode draws the same movements (only faces differ), and the knob sets what is learnable."""
    cfg = config.resolve(overrides={"synth.subjects": 8, "synth.clips_per_subject": 8, "split.val_size": 0.0})
    table = positive_controls.learnable(cfg)
    assert len(table) == 9 and set(table["mode"]) == {"identity", "motion-only", "twins"}
    by_knob = table.groupby("motion_identity")["truth rank-1"]
    assert (by_knob.nunique() == 1).all()
    assert by_knob.first()[0.0] < 0.3 and by_knob.first()[1.0] >= 0.9
    shown = positive_controls.knob_table(table)
    assert list(shown.columns) == ["motion_identity", "identity", "motion-only", "twins", "chance"]
    assert shown["motion_identity"].tolist() == [0.0, 0.5, 1.0]
    assert shown.set_index("motion_identity").loc[1.0, "twins"] == by_knob.first()[1.0]


@pytest.mark.slow
def test_motion_features_read_the_motion_identity_knob(tmp_path):
    """Motion-only corpus: FHOFO (flow orientations only) identifies the subjects at knob 1, is near chance at 0,
    and rises in between; the faces, timings and noise are the same at every knob value."""
    cfg = config.resolve(
        overrides={
            "synth": {"subjects": 5, "clips_per_subject": 8, "single_clip_subjects": 0, "frame_size": [120, 160]},
            "prepare": {"face_size": 64},
            "split": {"val_size": 0.0},
        }
    )
    table = positive_controls.measure(cfg, tmp_path, modes=("motion-only",), workers=2).set_index("motion_identity")
    found = table["fhofo rank-1"]
    assert found[1.0] >= 0.8 and found[0.0] <= table["chance"][0.0] + 0.15, found
    assert found[0.0] <= found[0.5] <= found[1.0], found


def test_twins_identity_reads_a_run_within_each_face_group(tmp_path):
    """Four subjects in two pairs: the model finds each pair (appearance) but swaps the twins of pair 2."""
    specs = corpus_specs(
        subjects=4,
        clips_per_subject=1,
        single_clip_subjects=0,
        short_clip_fraction=0.0,
        frame_size=(96, 128),
        fps=200,
        mode="twins",
        seed=0,
    )
    truth = positive_controls.truth_from_specs(specs).assign(synth_subject=lambda t: t["subject"])
    subjects = list(truth["subject"])
    proba = np.array([[0.7, 0.2, 0.05, 0.05], [0.2, 0.7, 0.05, 0.05], [0.05, 0.05, 0.2, 0.7], [0.05, 0.05, 0.7, 0.2]])
    pd.DataFrame(
        {
            "clip_key": truth["clip_key"],
            "subject": subjects,
            "part": "test",
            **{f"p:{s}": proba[:, i] for i, s in enumerate(subjects)},
        }
    ).to_csv(tmp_path / "p.csv", index=False)
    assert positive_controls.face_groups(truth, 2) == dict(zip(subjects, ["1", "1", "2", "2"]))
    found = positive_controls.twins_identity(tmp_path / "p.csv", truth, 2)
    draws, within_draws = found.pop("draws"), found.pop("within_group_draws")
    assert found == {"rank1": 0.5, "chance": 0.25, "within_group_rank1": 0.5, "within_group_chance": 0.5}
    assert len(draws) == len(within_draws) == 2000 and 0 <= within_draws.min() <= within_draws.max() <= 1


def test_knob_table_adds_the_motion_feature_columns_of_the_motion_only_corpora():
    learnable = pd.DataFrame(
        {
            "mode": ["motion-only", "twins"] * 2,
            "motion_identity": [0.0, 0.0, 1.0, 1.0],
            "truth rank-1": [0.1, 0.2, 0.9, 1.0],
            "chance": [0.125] * 4,
        }
    )
    features = pd.DataFrame(
        {
            "mode": ["motion-only"] * 2,
            "motion_identity": [0.0, 1.0],
            "fhofo rank-1": [0.05, 0.85],
            "lbp-top-xtyt rank-1": [0.1, 0.4],
        }
    )
    shown = positive_controls.knob_table(learnable, features).set_index("motion_identity")
    assert list(shown.columns) == ["motion-only", "twins", "motion-only fhofo", "motion-only lbp-top-xtyt", "chance"]
    assert shown.loc[1.0, "motion-only fhofo"] == 0.85 and shown.loc[0.0, "motion-only lbp-top-xtyt"] == 0.1
    assert list(positive_controls.knob_table(learnable).columns) == [
        "motion_identity",
        "motion-only",
        "twins",
        "chance",
    ]


def test_twins_table_reads_every_run_of_a_twins_corpus_and_averages_its_splits(tmp_path):
    """Two split seeds of one variant on a twins corpus (pairs): the mean over seeds, overall and within pairs;
    a corpus without ``twins`` is left out."""
    specs = corpus_specs(
        subjects=4,
        clips_per_subject=1,
        single_clip_subjects=0,
        short_clip_fraction=0.0,
        frame_size=(96, 128),
        fps=200,
        mode="twins",
        seed=0,
    )
    write_corpus(tmp_path / "corpus", "casme2", specs, workers=1, progress=False)
    truth = positive_controls.read_truth(tmp_path / "corpus")
    subjects = list(truth["subject"])
    eye = np.eye(4)
    runs = {"seed0": eye, "seed1": eye[[1, 0, 3, 2]] * 0.6 + 0.1}  # seed 1 swaps the twins of both pairs
    for name, proba in runs.items():
        (tmp_path / name).mkdir()
        pd.DataFrame(
            {
                "clip_key": truth["clip_key"],
                "subject": subjects,
                "part": "test",
                **{f"p:{s}": proba[:, i] for i, s in enumerate(subjects)},
            }
        ).to_csv(tmp_path / name / "predictions.csv", index=False)
    table = pd.DataFrame(
        {
            "corpus": ["twins"] * 2 + ["other"],
            "variant": ["clip"] * 3,
            "run_dir": [str(tmp_path / "seed0"), str(tmp_path / "seed1"), str(tmp_path / "seed0")],
        }
    )
    corpora = {"twins": {"twins": {"truth": str(tmp_path / "corpus"), "twin_group": 2}}, "other": {}}
    found = positive_controls.twins_table(table, corpora)
    assert found.to_dict("records") == [
        {
            "corpus": "twins",
            "variant": "clip",
            "rank1": 0.5,
            "ci_low": 0.0,  # the seeds' draws pooled: seed 0 is always right, seed 1 always wrong
            "ci_high": 1.0,
            "chance": 0.25,
            "within_group_rank1": 0.5,
            "within_group_ci_low": 0.0,
            "within_group_ci_high": 1.0,
            "within_group_chance": 0.5,
        }
    ]
