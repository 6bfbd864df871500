"""Ensemble voting over saved predictions: vote rules, tie rules, refusals, the search and the CLI."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlib.commands.cli import main as cli_main
from mlib.core import config, io
from mlib.experiments import ensemble

CLASSES = ["01", "02", "03"]


def write_run(
    run_dir: Path, probs_val, probs_test, subjects_val, subjects_test, *, classes=CLASSES, optimizer="adam", alpha=4
) -> Path:
    """A finished run folder in the contract's layout with hand-made probabilities."""
    rows = []
    for part, probs, subjects in (("val", probs_val, subjects_val), ("test", probs_test, subjects_test)):
        for i, (p, s) in enumerate(zip(probs, subjects)):
            row = {
                "clip_key": f"casme2_{s}_{part}{i}",
                "subject": s,
                "part": part,
                "predicted": classes[int(np.argmax(p))],
            }
            row |= {f"p:{c}": float(v) for c, v in zip(classes, p)}
            rows.append(row)
    io.write_csv(run_dir / "predictions.csv", pd.DataFrame(rows))
    cfg = config.resolve(overrides=[f"train.optimizer={optimizer}", f"model.alpha={alpha}"])
    io.write_yaml(run_dir / "config.yaml", cfg)
    io.write_json(run_dir / "metrics.json", {"val": {}, "test": {}, "selection": "val", "checkpoint_epoch": 1})
    return run_dir


def random_run(run_dir: Path, seed: int, n_val=6, n_test=12, **kwargs) -> Path:
    rng = np.random.default_rng(seed)
    subj_val = [CLASSES[i % 3] for i in range(n_val)]
    subj_test = [CLASSES[i % 3] for i in range(n_test)]
    pv = rng.dirichlet(np.ones(3), n_val)
    pt = rng.dirichlet(np.ones(3), n_test)
    return write_run(run_dir, pv, pt, subj_val, subj_test, **kwargs)


def test_hard_vote_majority_and_tie_rules():
    a = np.array(
        [
            [0.6, 0.3, 0.1],  # clip 0: votes 0
            [0.5, 0.4, 0.1],  # clip 1: votes 0
            [0.4, 0.3, 0.3],  # clip 2: votes 0
            [0.2, 0.2, 0.6],
        ]
    )  # clip 3: votes 2
    b = np.array(
        [
            [0.7, 0.2, 0.1],  # agrees
            [0.1, 0.6, 0.3],  # disagrees: 0 vs 1, mean p 0.30 vs 0.50 -> 1
            [0.3, 0.4, 0.3],  # disagrees: 0 vs 1, mean p 0.35 vs 0.35 -> class order -> 0
            [0.2, 0.2, 0.6],
        ]
    )
    c = np.array(
        [
            [0.1, 0.8, 0.1],  # minority vote for 1; majority 0 wins despite lower mean p
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.2, 0.2, 0.6],
        ]
    )
    assert ensemble.hard_vote([a, b]).argmax(axis=1).tolist() == [0, 1, 0, 2]
    three = ensemble.hard_vote([a, b, c])
    # clip 0: 0 has two votes, 1 has one (with the highest mean p) -> the majority wins.
    # clip 1: 1 has two votes (b, c). clip 2: three-way tie 0/1/2, mean p 0.267/0.267/0.467 -> 2.
    assert three.argmax(axis=1).tolist() == [0, 1, 2, 2]
    assert np.allclose(three.sum(axis=1), 1)


def test_hard_vote_ranks_classes_by_votes_then_mean_probability():
    a = np.array([[0.5, 0.45, 0.05]])
    b = np.array([[0.5, 0.05, 0.45]])
    c = np.array([[0.0, 0.9, 0.1]])
    scores = ensemble.hard_vote([a, b, c])[0]
    # votes: class 0 two, class 1 one; class 2 none
    assert list(np.argsort(-scores)) == [0, 1, 2]


def test_soft_and_weighted_vote():
    a = np.array([[0.6, 0.4, 0.0]])
    b = np.array([[0.0, 0.5, 0.5]])
    assert np.allclose(ensemble.soft_vote([a, b]), [[0.3, 0.45, 0.25]])
    assert np.allclose(ensemble.soft_vote([a, b], [3, 1]), [[0.45, 0.425, 0.125]])
    with pytest.raises(ensemble.EnsembleError, match="2 non-negative weights"):
        ensemble.soft_vote([a, b], [1, -1])


def test_weight_grid_and_choice_on_validation():
    grid = ensemble.weight_grid(3)
    assert np.allclose(grid.sum(axis=1), 1) and (grid > 0).all()
    good = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.05
    bad = np.eye(3)[[1, 2, 0, 1]] * 0.9 + 0.05
    truth = ["01", "02", "03", "01"]
    weights = ensemble.choose_weights([bad, good], truth, CLASSES)
    assert weights[1] > weights[0]
    # every weight vector gives the same accuracy -> the most nearly equal one wins
    assert np.allclose(ensemble.choose_weights([good, good], truth, CLASSES), [0.5, 0.5])


def test_ensemble_of_a_model_with_itself_equals_the_model(tmp_path):
    run = ensemble.load_predictions(random_run(tmp_path / "r", seed=3))
    for method in ("hard", "soft"):
        voted = ensemble.combine([run, run], method)
        assert (voted["test"].argmax(axis=1) == run.probs["test"].argmax(axis=1)).all()
    alone = ensemble.evaluate([run], "soft")
    for method in ("hard", "soft", "weighted"):
        both = ensemble.evaluate([run, run], method)
        assert both["test_rank1"] == alone["test_rank1"]
        assert both["val_rank1"] == alone["val_rank1"]


def test_evaluate_counts_correct_clips(tmp_path):
    eye = np.eye(3)
    run_dir = write_run(tmp_path / "r", eye[[0, 1]], eye[[0, 1, 1, 2]], ["01", "02"], ["01", "02", "03", "03"])
    row = ensemble.evaluate([ensemble.load_predictions(run_dir)], "soft", n_boot=200)
    assert row["val_rank1"] == 1.0
    assert row["test_rank1"] == 0.75
    assert row["test_ci_low"] <= 0.75 <= row["test_ci_high"]
    assert row["n_test"] == 4 and row["method"] == "single"


def test_mismatched_runs_are_refused_naming_the_folders(tmp_path):
    a = random_run(tmp_path / "a", seed=0)
    fewer = random_run(tmp_path / "fewer", seed=1, n_test=9)
    other_classes = write_run(
        tmp_path / "classes", np.eye(2)[[0, 1]], np.eye(2)[[0, 1]], ["01", "02"], ["01", "02"], classes=["01", "02"]
    )
    with pytest.raises(ensemble.EnsembleError, match=r"a and .*fewer do not hold the same test clips"):
        ensemble.ensemble_table([a, fewer], "soft")
    with pytest.raises(ensemble.EnsembleError, match=r"classes have different class lists"):
        ensemble.ensemble_table([a, other_classes], "hard")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    with pytest.raises(ensemble.EnsembleError, match="unfinished: not a finished run"):
        ensemble.load_predictions(unfinished)


def test_search_picks_on_validation_and_shows_the_test_pick(tmp_path):
    runs = [random_run(tmp_path / f"r{i}", seed=i) for i in range(4)]
    table = ensemble.search(runs, max_size=3, n_boot=100)
    singles = table[table["size"] == 1]
    assert len(singles) == 4 and len(table) == 4 + 3 * (6 + 4)
    val_pick, test_pick = ensemble.pick(table, "val"), ensemble.pick(table, "test")
    assert val_pick["val_rank1"] == table["val_rank1"].max()
    assert test_pick["test_rank1"] == table["test_rank1"].max()
    summary = ensemble.selection_summary(table)
    assert summary["choice"].str.contains("original code").sum() == 1
    # a capped search keeps the best runs by validation only
    capped = ensemble.search(runs, max_size=2, candidates=2, n_boot=50)
    kept = set(capped[capped["size"] == 1]["members"])
    best_two = set(singles.sort_values("val_rank1", ascending=False, kind="stable")["members"][:2])
    assert kept == best_two


def test_solver_pairs_differ_only_in_solver(tmp_path):
    adam = random_run(tmp_path / "adam", seed=0, optimizer="adam")
    adamw = random_run(tmp_path / "adamw", seed=1, optimizer="adamw")
    other = random_run(tmp_path / "adamw8", seed=2, optimizer="adamw", alpha=8)
    assert ensemble.solver_pairs([adam, adamw, other]) == [(adam, adamw)]
    table = ensemble.table3([adam, adamw, other], n_boot=50)
    assert table["model"].tolist() == ["adam", "adamw", "hard vote of the two", "soft vote of the two"]


def test_cli_writes_ensembles_csv(tmp_path, capsys):
    a, b = random_run(tmp_path / "a", seed=0), random_run(tmp_path / "b", seed=1)
    out = tmp_path / "out" / "ensembles.csv"
    assert (
        cli_main(["ensemble", "--runs", str(a), str(b), "--method", "hard", "--out", str(out), "--bootstrap", "50"])
        == 0
    )
    table = pd.read_csv(out, dtype={"members": str})
    assert table["members"].tolist() == ["a", "b", "a;b"]
    assert table["method"].tolist() == ["single", "single", "hard"]
    assert (
        cli_main(
            [
                "ensemble",
                "--runs",
                str(a),
                str(b),
                "--method",
                "weighted",
                "--weights",
                "3",
                "1",
                "--out",
                str(out),
                "--bootstrap",
                "50",
            ]
        )
        == 0
    )
    assert pd.read_csv(out)["weights"].tolist()[-1] == "0.75;0.25"
    assert cli_main(["ensemble", "--runs", str(a), str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "nope: not a finished run" in capsys.readouterr().err


def test_cli_searches_a_grid_folder(tmp_path):
    grid = tmp_path / "grid"
    names = []
    for i, opt in enumerate(["adam", "adamw", "adam"]):
        random_run(grid / f"run{i}", seed=i, optimizer=opt, alpha=4 if i < 2 else 8)
        names.append(f"run{i}")
    io.write_csv(
        grid / "grid.csv", pd.DataFrame({"run_dir": names + ["run9"], "status": ["done", "done", "done", "failed"]})
    )
    out = tmp_path / "ens"
    assert (
        cli_main(
            ["ensemble", "--grid", str(grid), "--search", "--max-size", "3", "--out", str(out), "--bootstrap", "50"]
        )
        == 0
    )
    table = pd.read_csv(out / "ensembles.csv")
    assert len(table) == 3 + 3 * (3 + 1)
    assert "run9" not in ";".join(table["members"])
    assert len(pd.read_csv(out / "table3.csv")) == 4
    assert len(pd.read_csv(out / "selection.csv")) == 3


def test_paired_gain_over_the_best_single_run(tmp_path):
    eye = np.eye(3)
    truth = ["01", "02", "03", "01"]
    # a is sure and right on clips 0-1, unsure and wrong on 2-3; b the other way round.
    # Their soft vote follows the sure member, so it is right on every clip.
    sure, unsure = [0.8, 0.1, 0.1], [0.3, 0.4, 0.3]
    a = write_run(tmp_path / "a", eye[[0, 1]], [sure, np.roll(sure, 1), unsure, unsure], ["01", "02"], truth)
    b = write_run(
        tmp_path / "b", eye[[0, 1]], [unsure, np.roll(unsure, -1), np.roll(sure, 2), sure], ["01", "02"], truth
    )
    gain = ensemble.paired_gain([a, b], "soft", a, n_boot=300)
    assert gain["single_test_rank1"] == 0.5 and gain["ensemble_test_rank1"] == 1.0
    assert gain["gain"] == 0.5 and gain["gain_ci_low"] <= 0.5 <= gain["gain_ci_high"]
    assert gain["gain_ci_low"] >= 0  # the ensemble is never worse on any clip
    table = ensemble.search([a, b], max_size=2, n_boot=50)
    picked = ensemble.gain_of_pick(tmp_path, table, "test", n_boot=50, out=tmp_path / "out")
    assert picked["ensemble"] == "a;b" and picked["gain"] == 0.5
    assert json.loads((tmp_path / "out" / ensemble.GAIN_FILE).read_text())["gain_ci_low"] == picked["gain_ci_low"]


@pytest.mark.parametrize("seed", range(5))
def test_two_members_vote_gain_never_exceeds_the_tie_order_and_averages_to_the_members_mean(seed):
    """The two-member property (book/method.md): with two members voting single answers the vote's gain over
    the better member is at most the disagreements the tie order decided for the vote, and over all class
    numberings the original's vote averages to the members' mean accuracy."""
    import itertools

    rng = np.random.default_rng(seed)
    n_clips, n_classes = 60, 4
    truth = rng.integers(0, n_classes, n_clips)
    members = [rng.dirichlet(np.ones(n_classes), n_clips) for _ in range(2)]
    answers = [m.argmax(axis=1) for m in members]
    right = [a == truth for a in answers]
    better = max(r.sum() for r in right)
    one_right = int((right[0] ^ right[1]).sum())
    votes = []
    for ids in itertools.permutations(range(n_classes)):
        for fused in (
            ensemble.original_vote(members, ids),
            ensemble.hard_vote(members, "original", ids),
            ensemble.hard_vote(members),
        ):
            correct = fused.argmax(axis=1) == truth
            won = int((correct & (right[0] ^ right[1])).sum())  # disagreements with one member right, won
            assert won <= one_right and correct.sum() - better <= won
        votes.append((ensemble.original_vote(members, ids).argmax(axis=1) == truth).sum())
    assert np.mean(votes) == pytest.approx((right[0].sum() + right[1].sum()) / 2)


# --- the original code's vote: one-hot rows, numpy.unique, class ids numbered by clip count ---------------------

REFERENCE = Path(__file__).resolve().parents[1] / "mlib" / "paper" / "reference" / "kay2023_original"


def test_numpy_unique_sorts_the_one_hot_row_of_the_higher_class_first():
    # what pusion's MacroMajorityVoteCombiner relies on: on a 1-1 tie np.argmax(counts) takes the first row
    rows, counts = np.unique(np.eye(4)[[0, 2]], axis=0, return_counts=True)
    assert counts.tolist() == [1, 1]
    assert rows[np.argmax(counts)].argmax() == 2


def test_original_vote_gives_a_disagreement_to_the_higher_class_id_whatever_the_confidence():
    a = np.array(
        [
            [0.98, 0.01, 0.01],  # clip 0: a very sure of class 0, b barely prefers class 2
            [0.10, 0.80, 0.10],  # clip 1: both say class 1
            [0.20, 0.41, 0.39],
        ]
    )  # clip 2: 1 vs 0
    b = np.array([[0.30, 0.30, 0.40], [0.10, 0.80, 0.10], [0.90, 0.05, 0.05]])
    assert ensemble.original_vote([a, b], [0, 1, 2]).argmax(axis=1).tolist() == [2, 1, 1]
    # renumber: our class 0 gets the highest id -> it now wins both disagreements
    assert ensemble.original_vote([a, b], [2, 0, 1]).argmax(axis=1).tolist() == [0, 1, 0]
    assert ensemble.hard_vote([a, b]).argmax(axis=1).tolist() == [0, 1, 0]  # ours: mean probability decides
    # three members: the majority wins over the id order (clip 0: 0 twice vs 2; clip 2: 0 twice vs 1)
    c = np.array([[0.9, 0.05, 0.05]] * 3)
    assert ensemble.original_vote([a, b, c], [0, 1, 2]).argmax(axis=1).tolist() == [0, 1, 0]


def test_hard_vote_with_the_original_tie_rule_picks_what_the_transcription_picks():
    rng = np.random.default_rng(3)
    for n_members in (2, 3, 4):
        probs = [rng.dirichlet(np.ones(5), 40) for _ in range(n_members)]
        ids = rng.permutation(5)
        scores = ensemble.hard_vote(probs, "original", ids)
        assert (scores.argmax(axis=1) == ensemble.original_vote(probs, ids).argmax(axis=1)).all()
        assert all(len(np.unique(row)) == 5 for row in scores)
    with pytest.raises(ensemble.EnsembleError, match="numbering 0..4"):
        ensemble.hard_vote(probs, "original", [0, 1, 2, 3, 3])
    with pytest.raises(ensemble.EnsembleError, match="unknown tie rule"):
        ensemble.hard_vote(probs, "coin")


def test_original_class_ids_number_by_clip_count_ties_by_first_appearance():
    subjects = ["b", "a", "c", "a", "c", "a", "d"]  # a 3 clips, c 2, b 1, d 1 (b seen first)
    assert ensemble.original_class_ids(subjects, ["a", "b", "c", "d", "e"]).tolist() == [0, 2, 1, 3, 4]


@pytest.mark.parametrize("database", ["casme2", "samm", "smic"])
def test_original_class_ids_agree_with_the_published_classids(database):
    split = pd.read_csv(REFERENCE / f"split-{database}.csv")
    published = split.drop_duplicates("class_name").set_index("class_name")["class_id"]
    classes = sorted(published.index)
    ours = pd.Series(ensemble.original_class_ids(split["class_name"].tolist(), classes), index=classes)
    counts = split["class_name"].value_counts()
    assert counts[published.sort_values().index].is_monotonic_decreasing  # the original numbered by count
    unique_count = counts[counts.map(counts.value_counts()) == 1].index
    assert (ours[unique_count] == published[unique_count]).all()  # equal counts: the order is the only freedom
    assert (counts[ours.sort_values().index].to_numpy() == counts[published.sort_values().index].to_numpy()).all()


def test_run_class_ids_take_the_published_ids_from_a_kay2023_original_split(tmp_path):
    from mlib.preprocess import splits

    published = pd.read_csv(REFERENCE / "split-casme2.csv", dtype=str)
    ids = {splits.original_split_list("casme2")["subject"][i]: int(c) for i, c in enumerate(published["class_id"])}
    chosen = sorted(ids)[:3]  # three of the original's subjects, renumbered 0..2 in the published order
    split_file = tmp_path / "kay2023-original-seed42.csv"
    io.write_csv(split_file, pd.DataFrame({"clip_key": ["k"], "subject": [chosen[0]], "part": ["train"]}))
    io.write_json(splits.metadata_path(split_file), {"protocol": "kay2023-original", "class_ids": ids})
    run_dir = write_run(
        tmp_path / "run", [[0.5, 0.3, 0.2]], [[0.5, 0.3, 0.2]], [chosen[0]], [chosen[0]], classes=chosen
    )
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg["run"]["split"] = str(split_file)
    io.write_yaml(run_dir / "config.yaml", cfg)
    expected = np.argsort(np.argsort([ids[c] for c in chosen]))
    assert ensemble.run_class_ids(ensemble.load_predictions(run_dir)).tolist() == expected.tolist()
    io.write_json(splits.metadata_path(split_file), {"protocol": "kay2023-original", "class_ids": {chosen[0]: 0}})
    with pytest.raises(ensemble.EnsembleError, match="class_ids lack"):
        ensemble.run_class_ids(ensemble.load_predictions(run_dir))


def test_tie_order_spread_of_a_pair(tmp_path):
    truth = ["01", "02", "03", "01"]
    a = write_run(
        tmp_path / "a",
        [[0.6, 0.2, 0.2]],
        [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.2, 0.7, 0.1]],
        ["01"],
        truth,
    )
    b = write_run(
        tmp_path / "b",
        [[0.6, 0.2, 0.2]],
        [[0.4, 0.1, 0.5], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]],
        ["01"],
        truth,
    )
    runs = [ensemble.load_predictions(a), ensemble.load_predictions(b)]
    # clip 0: a right (01) vs b (03); clip 1 both right; clip 2: b right (03) vs a (02); clip 3: both wrong
    spread = ensemble.tie_order_spread(runs, [2, 1, 0], numberings=60, seed=1)
    by_rule = spread.groupby("rule")["test_rank1"]
    assert by_rule.first()["original numbering"] == 0.5  # ids 01 > 02 > 03: clips 0 and 1 right
    assert by_rule.first()["ours"] == 0.75  # mean probability: 01 (0.65) on clip 0, 03 (0.55) on clip 2
    random = spread.loc[spread["rule"] == "random numbering", "test_rank1"]
    assert len(random) == 60 and set(random) <= {0.25, 0.5, 0.75}  # both-right 1 clip, either-right 3 clips
    assert random.nunique() == 3


def test_cli_votes_with_the_original_tie_rule_numbering_by_the_split(tmp_path):
    split = tmp_path / "split.csv"
    pd.DataFrame(
        {
            "clip_key": [f"k{i}" for i in range(6)],
            "subject": ["03", "03", "03", "02", "02", "01"],
            "part": ["train"] * 6,
        }
    ).to_csv(split, index=False)
    truth = ["01", "03"]
    a = write_run(tmp_path / "a", [[0.6, 0.2, 0.2]], [[0.9, 0.05, 0.05], [0.9, 0.05, 0.05]], ["01"], truth)
    b = write_run(tmp_path / "b", [[0.6, 0.2, 0.2]], [[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]], ["01"], truth)
    for run in (a, b):
        io.write_yaml(run / "config.yaml", config.resolve(overrides=[f"run.split={split}"]))
    out = tmp_path / "ensembles.csv"
    assert (
        cli_main(
            [
                "ensemble",
                "--runs",
                str(a),
                str(b),
                "--method",
                "hard",
                "--tie",
                "original",
                "--out",
                str(out),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    # ids by clip count: 03 -> 0, 02 -> 1, 01 -> 2; both disagreements go to 01
    assert pd.read_csv(out)["test_rank1"].tolist() == [0.5, 0.5, 0.5]
    assert (
        cli_main(["ensemble", "--runs", str(a), str(b), "--method", "hard", "--out", str(out), "--bootstrap", "20"])
        == 0
    )
    assert pd.read_csv(out)["test_rank1"].tolist()[-1] == 0.5
    assert (
        cli_main(["ensemble", "--runs", str(a), str(b), "--method", "soft", "--tie", "original", "--out", str(out)])
        == 2
    )


def test_tie_order_pair_takes_the_best_two_on_validation_without_a_solver_pair(tmp_path):
    from mlib.plots import experiments as plots

    split = tmp_path / "split.csv"
    pd.DataFrame(
        {"clip_key": [f"k{i}" for i in range(5)], "subject": ["01", "01", "02", "03", "03"], "part": ["train"] * 5}
    ).to_csv(split, index=False)
    grid = tmp_path / "grid"
    for seed in range(3):
        run = random_run(grid / f"run{seed}", seed=seed, alpha=seed + 1)
        io.write_yaml(run / "config.yaml", config.resolve(overrides=[f"run.split={split}", f"model.alpha={seed + 1}"]))
    runs = [grid / f"run{i}" for i in range(3)]
    table = ensemble.search(runs, max_size=1, n_boot=20)
    spread = ensemble.tie_order_pair(grid, table, ensemble.table3(runs, n_boot=20), numberings=30)
    best_two = table.sort_values("val_rank1", ascending=False, kind="stable")["members"].head(2)
    assert [r for r in spread["rule"] if r.startswith("member")] == [f"member: {m}" for m in best_two]
    assert (spread["rule"] == "random numbering").sum() == 30
    assert plots.tie_order_spread(spread).axes[0].get_xlabel().startswith("test rank1")


def test_solver_pairs_read_the_run_identity_not_how_the_paths_were_written(tmp_path, monkeypatch):
    """The issue-18 case: notebook 02's run records run.cache/run.split relative and run.name null, the grid's
    runs absolute paths and a name; they are still the Adam/AdamW pair, and another split is not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    relative, absolute = (
        {"cache": "cache", "split": "cache/split.csv"},
        {"cache": str(tmp_path / "cache"), "split": str(tmp_path / "cache/split.csv")},
    )
    adam = random_run(tmp_path / "adam", seed=0, optimizer="adam")
    adamw = random_run(tmp_path / "adamw", seed=1, optimizer="adamw")
    other_split = random_run(tmp_path / "adamw-other-split", seed=2, optimizer="adamw")
    for run_dir, run in (
        (adam, {**relative, "name": None}),
        (adamw, {**absolute, "name": "grid-7"}),
        (other_split, {**absolute, "split": str(tmp_path / "cache/split-43.csv")}),
    ):
        cfg = config.load_yaml(run_dir / "config.yaml")
        io.write_yaml(run_dir / "config.yaml", {**cfg, "run": {**cfg["run"], **run}})
    assert ensemble.solver_pairs([adam, other_split, adamw]) == [(adam, adamw)]
