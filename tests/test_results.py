"""The results summary reads runs' files and the paper's numbers, and labels each row's source."""

import json
from pathlib import Path

import pytest
from crafted_predictions import write_predictions

from mlib import paper
from mlib.core import metrics
from mlib.report import results, table2, table3
from mlib.report.manifest import StudyManifest

SUBJECTS = ["a", "a", "b", "b", "c", "c", "d", "d"]


def _run(folder, rank1, low=None, high=None, chance=0.25, **extra):
    """A finished run: metrics.json (whose interval the summary must not use: it recomputes the hierarchical
    one from predictions.csv) and 8 test clips of 4 subjects, the first ``8 * rank1`` right."""
    right = round(8 * rank1)
    write_predictions(folder, SUBJECTS, [i < right for i in range(8)])
    test = {"rank1": rank1, "rank1_ci95": [-1.0, -1.0], "chance": chance, "rank5": 1.0, "n_clips": 8, "n_subjects": 4}
    (folder / "metrics.json").write_text(json.dumps({"test": test, **extra}))
    return folder


def _hierarchical(rank1):
    """The interval the pages must show for a ``_run`` of ``rank1``, as text."""
    right = round(8 * rank1)
    low, high = metrics.percentile_interval(
        metrics.hierarchical_bootstrap_draws([i < right for i in range(8)], SUBJECTS)
    )
    return results.interval({"ci_low": low, "ci_high": high})


@pytest.fixture
def study(tmp_path):
    train = _run(tmp_path / "casme2" / "runs" / "abc", 0.5, 0.25, 0.75)
    _run(tmp_path / "casme2" / "baseline" / "baseline-lgbp-1", 0.875, 0.625, 1.0, feature_set="lgbp")
    motion = _run(tmp_path / "motion" / "runs" / "def", 0.25, 0.0, 0.5)
    manifest = tmp_path / "study.json"
    manifest.write_text(
        json.dumps(
            {
                "profile": "t",
                "data": "synthetic",
                "config": {},
                "corpora": [
                    {
                        "name": "casme2",
                        "dataset": "casme2",
                        "root": "r",
                        "mode": "identity",
                        "paths": {"train": str(train), "baseline": str(tmp_path / "casme2" / "baseline")},
                    },
                    {
                        "name": "casme2-motion-only",
                        "dataset": "casme2",
                        "root": "r2",
                        "mode": "motion-only",
                        "paths": {"train": str(motion)},
                    },
                ],
            }
        )
    )
    return StudyManifest.load(manifest)


def test_table2_sets_the_runs_beside_the_paper(study):
    table = table2.beside_ours(study, "casme2").set_index("model")
    assert table.loc["SlowFast, single model (Table 2)", "rank-1"] == results.percent(paper.TABLE2_RANK1["casme2"])
    assert table.loc["SlowFast, single model (Table 2)", "source"] == results.PAPER
    ours = table.loc["SlowFast, the paper's Table 1 configuration"]
    assert (ours["rank-1"], ours[results.CI], ours["source"]) == (
        "50.0 %",
        _hierarchical(0.5),
        "ours (synthetic casme2)",
    )
    assert results.CI == "95 % interval (subjects, then clips)"
    assert table.loc["baseline SVM on lgbp", "rank-1"] == "87.5 %"


def test_motion_only_table_has_both_corpora_with_chance(study):
    table = results.motion_only_table(study)
    assert list(table["corpus"]) == ["casme2", "casme2", "casme2-motion-only"]
    assert table.iloc[-1][["faces", "rank-1", results.CHANCE]].tolist() == ["one shared face", "25.0 %", "25.0 %"]


def test_headline_names_every_corpus_with_its_interval_and_chance(study):
    assert results.headline(study) == (
        f"50.0 % (95 % interval {_hierarchical(0.5)}, resampling subjects, then clips) on the synthetic casme2 corpus "
        f"(chance 25.0 %); 25.0 % (95 % interval {_hierarchical(0.25)}, resampling subjects, then clips) on the "
        "synthetic casme2-motion-only corpus (chance 25.0 %)"
    )
    assert _hierarchical(0.5) == "[0.0, 100.0]"  # two subjects right of four: the interval counts the subjects


def test_learnable_table_sets_the_positive_controls_beside_the_model(study, tmp_path):
    import pandas as pd

    _run(tmp_path / "motion" / "baseline" / "baseline-fhofo-1", 0.75, 0.5, 1.0, feature_set="fhofo")
    _run(tmp_path / "motion" / "baseline" / "baseline-lgbp-1", 0.5, 0.25, 0.75, feature_set="lgbp")
    study.corpora[1].paths["baseline"] = str(tmp_path / "motion" / "baseline")
    pd.DataFrame({"corpus": ["casme2-motion-only"] * 2, "positive_control": [1.0, 0.5], "chance": [0.25, 0.25]}).to_csv(
        tmp_path / "controls.csv", index=False
    )
    study.pages["controls"] = str(tmp_path)
    table = results.learnable_table(study)
    assert table[table["corpus"] == "casme2"]["rank-1"].tolist() == ["no generator truth", "50.0 %"]
    motion = table[table["corpus"] == "casme2-motion-only"].set_index("what")
    assert motion["rank-1"].tolist() == ["75.0 %", "75.0 %", "25.0 %"]  # truth mean over seeds, fhofo, SlowFast
    assert motion.index[1] == "baseline SVM on fhofo (motion only)" and "lgbp" not in " ".join(motion.index)
    assert motion.iloc[1][results.CI] == _hierarchical(0.75) and motion.iloc[0][results.CHANCE] == "25.0 %"


def test_unfinished_run_and_missing_manifest_are_named(study, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json: no study manifest"):
        StudyManifest.load(tmp_path / "nothing.json")
    with pytest.raises(FileNotFoundError, match="metrics.json: no metrics"):
        results.test_rank1(tmp_path / "missing-run")


def test_write_archive_keeps_tables_and_metrics_and_leaves_out_arrays_models_and_images(tmp_path):
    import zipfile

    from mlib.report.results import write_archive

    results = tmp_path / "results"
    for name in [
        "study.json",
        "casme2/runs/a/metrics.json",
        "casme2/runs/a/predictions.csv",
        "casme2/runs/a/config.yaml",
        "casme2/runs/a/checkpoints/last.pt",
        "casme2/gradcam/maps.npy",
        "casme2/gradcam/face.png",
        "casme2/preprocess/clip.mp4",
    ]:
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text("x")
    names = write_archive(results, tmp_path / "out" / "results.zip")
    with zipfile.ZipFile(tmp_path / "out" / "results.zip") as archive:
        assert sorted(archive.namelist()) == names
    assert names == [
        "casme2/runs/a/config.yaml",
        "casme2/runs/a/metrics.json",
        "casme2/runs/a/predictions.csv",
        "study.json",
    ]


def test_provenance_note_names_runs_and_a_hash_that_follows_the_configuration(tmp_path):
    from mlib.report.results import provenance_note

    for name, text in [("a", "lr: 1"), ("b", "lr: 1"), ("c", "lr: 2")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(text)
    notes = [provenance_note([tmp_path / name]) for name in "abc"]
    hashes = [note.split("configuration ")[1][:12] for note in notes]
    assert hashes[0] == hashes[1] != hashes[2] and str(tmp_path / "a") in notes[0]
    assert f"`{tmp_path / 'missing'}` (not found)" in provenance_note([tmp_path / "missing"])
    (tmp_path / "scores").mkdir()
    assert "(result folder, no configuration file of its own)" in provenance_note([tmp_path / "scores"])


def test_provenance_note_shows_paths_under_the_working_folder_relative(tmp_path, monkeypatch):
    (tmp_path / "results" / "run").mkdir(parents=True)
    (tmp_path / "results" / "run" / "config.yaml").write_text("a: 1")
    monkeypatch.chdir(tmp_path)
    assert results.provenance_note([tmp_path / "results" / "run"]).startswith("Made by: `results/run` (configuration ")


def _with_pages(study, tmp_path, **pages):
    """The fixture's manifest with study-level pages (``controls``) and the casme2 corpus's ensemble folder."""
    study.pages.update(pages)
    study.corpus("casme2").paths["ensemble"] = str(tmp_path / "casme2" / "ensemble")
    return study


def _controls_csv(folder, clip_rows):
    """controls.csv with ``clip_rows`` (rank1, ci_low, ci_high) of casme2's clip, one per split seed, and
    rows of another variant and corpus that the Table 2 spread must leave out."""
    import pandas as pd

    rows = [
        {
            "corpus": "casme2",
            "variant": "clip",
            "split": f"half-seed{42 + i}",
            "rank1": r,
            "ci_low": lo,
            "ci_high": hi,
            "run_dir": str(_run(folder / f"seed{i}", r)),
        }
        for i, (r, lo, hi) in enumerate(clip_rows)
    ]
    others = [("casme2", "shuffled"), ("casme2-twins", "clip")]
    rows += [
        {"corpus": corpus, "variant": variant, "split": "half-seed42", "rank1": 0.1, "ci_low": 0.0, "ci_high": 0.2}
        for corpus, variant in others
    ]
    pd.DataFrame(rows).to_csv(folder / "controls.csv", index=False)
    return str(folder)


TABLE1 = "SlowFast, the paper's Table 1 configuration"


def test_table2_says_one_split_without_repeated_seeds(study, tmp_path):
    table = table2.beside_ours(study, "casme2")
    assert (table["model"] == TABLE1).sum() == 1
    assert table["split seeds"].notna().all() and (table["split seeds"] != "").all()
    assert table.set_index("model").loc[TABLE1, "split seeds"] == "one split"
    _with_pages(study, tmp_path, controls=_controls_csv(tmp_path / "controls", [(0.5, 0.25, 0.75)]))
    again = table2.beside_ours(study, "casme2")
    assert (again["model"] == TABLE1).sum() == 1 and again.set_index("model").loc[TABLE1, "split seeds"] == "one split"


def test_table2_adds_the_mean_over_split_seeds_and_its_sd(study, tmp_path):
    import numpy as np

    seeds = [(0.5, 0.25, 0.75), (0.75, 0.5, 1.0), (0.625, 0.375, 0.875)]
    _with_pages(study, tmp_path, controls=_controls_csv(tmp_path / "controls", seeds))
    rows = table2.beside_ours(study, "casme2")
    rows = rows[rows["model"] == TABLE1]
    assert rows["split seeds"].tolist()[0] == "the first of 3 split seeds" and rows["rank-1"].tolist()[0] == "50.0 %"
    mean = rows.iloc[1]
    sd = np.sqrt(sum((r - 0.625) ** 2 for r, _, _ in seeds) / 2)
    draws = [metrics.hierarchical_bootstrap_draws([i < round(8 * r) for i in range(8)], SUBJECTS) for r, _, _ in seeds]
    pooled = dict(zip(("ci_low", "ci_high"), metrics.pooled_interval(draws)))
    assert (mean["rank-1"], mean[results.CI]) == ("62.5 %", results.interval(pooled))  # not the mean of the bounds
    assert mean[results.CI] != "[37.5, 87.5]"
    assert mean["split seeds"] == f"mean over 3 split seeds, sd {100 * sd:.1f} points"


def _pair_table(folder, per_split):
    """table3-splits.csv as mlib.experiments.solver_pair writes it, from per-split (adam, adamw, vote) rank-1s."""
    import pandas as pd

    from mlib.experiments import solver_pair

    rows = []
    for i, ranks in enumerate(per_split):
        runs = {
            f"{solver}_run": str(_run(folder / "runs" / f"{solver}-{i}", r))
            for solver, r in zip(("adam", "adamw"), ranks)
        }
        row = {"statistic": "per split", "split": f"s{i}", "splits": 1, "n_test": 8, **runs}
        for model, r in zip(("adam", "adamw", "vote"), ranks):
            row |= {f"{model}_rank1": r, f"{model}_ci_low": r - 0.25, f"{model}_ci_high": r + 0.125}
        rows.append(row | {"vote_gain": ranks[2] - max(ranks[:2])})
    frame = pd.DataFrame(rows, columns=solver_pair.COLUMNS)
    pd.concat([frame, solver_pair.summary_rows(frame)]).to_csv(folder / solver_pair.TABLE_FILE, index=False)


def test_table3_over_split_seeds_one_and_two(study, tmp_path):
    _with_pages(study, tmp_path)
    assert table3.beside_ours(study, "casme2")["source"].tolist() == [results.PAPER + ", SMIC"] * 3
    _pair_table(tmp_path / "casme2" / "ensemble", [(0.5, 0.625, 0.75)])
    one = table3.beside_ours(study, "casme2").iloc[3:].set_index("model")
    assert one["test rank-1"].tolist() == ["50.0 %", "62.5 %", "75.0 %", "12.5 %"]
    assert one.loc["adam", results.CI] == _hierarchical(0.5) and (one["split seeds"] == "one split").all()

    study.corpus("casme2").paths["ensemble"] = str(tmp_path / "two")
    _pair_table(tmp_path / "two", [(0.5, 0.625, 0.75), (0.75, 0.625, 0.5)])  # gains +12.5 and -25 points
    two = table3.beside_ours(study, "casme2").iloc[3:].set_index("model")
    assert two["test rank-1"].tolist() == ["62.5 %", "62.5 %", "62.5 %", "-6.2 %"]
    adam = [metrics.hierarchical_bootstrap_draws([i < round(8 * r) for i in range(8)], SUBJECTS) for r in (0.5, 0.75)]
    pooled = dict(zip(("ci_low", "ci_high"), metrics.pooled_interval(adam)))
    assert two.loc["adam", results.CI] == results.interval(pooled) and two[results.CI].str.startswith("[").all()
    sd = {
        "adam": 0.25 / 2**0.5,
        "adamw": 0.0,
        "hard vote of the two": 0.25 / 2**0.5,
        "vote minus the better member": 0.375 / 2**0.5,
    }
    assert two["split seeds"].to_dict() == {
        model: f"mean over 2 split seeds, sd {100 * value:.1f} points" for model, value in sd.items()
    }


def test_provenance_note_hashes_files_names_inputs_and_links_the_source_notebook(tmp_path):
    import yaml

    from mlib.report.results import REPOSITORY_URL, provenance_note

    split = tmp_path / "split.csv"
    split.write_text("clip,part\n")
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "grid-spec.yaml").write_text("seeds: [0]")
    note = provenance_note(
        [split, tmp_path / "grid"], source="notebooks/04-grid-search.py", inputs=["repo@abc:Output/x"]
    )
    assert f"`{split}` (content " in note and "not found" not in note
    assert "`repo@abc:Output/x`" in note
    assert note.endswith(
        f"Source: [notebooks/04-grid-search.py]({REPOSITORY_URL}/blob/HEAD/notebooks/04-grid-search.py)."
    )
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "_config.yml").read_text())
    assert REPOSITORY_URL == config["repository"]["url"]
    assert "Source" not in provenance_note([split])


def test_the_training_page_shows_both_intervals_labelled(tmp_path):
    run = _run(tmp_path / "run", 0.5)
    cells = results.both_intervals(run)
    assert cells == {
        "95 % interval (subjects, then clips)": _hierarchical(0.5),
        "95 % interval (test clips)": cells["95 % interval (test clips)"],
    }
    clip_low, clip_high = (float(x) for x in cells["95 % interval (test clips)"].strip("[]").split(","))
    assert 0 < clip_low < 50 < clip_high < 100  # the clip bootstrap is narrower than the subjects' [0, 100]


def test_the_prose_on_the_data_and_the_time_follows_the_study(study, tmp_path):
    import nbformat

    assert "synthetic" in results.data_source(study) and "casme2-motion-only" in results.data_source(study)
    study.data = "real"
    assert "synthetic" not in results.data_source(study) and "licensed databases" in results.data_source(study)
    assert results.execution_time(study) == "an unrecorded time"
    for name, seconds in [("a", 1500.0), ("b", 600.0)]:
        page = nbformat.v4.new_notebook(metadata={"papermill": {"duration": seconds}})
        nbformat.write(page, tmp_path / f"{name}.ipynb")
        study.executed.append(str(tmp_path / f"{name}.ipynb"))
    study.executed.append(str(tmp_path / "not-run-yet.ipynb"))
    assert results.execution_time(study) == "about 35 minutes"


def test_the_grid_rows_carry_the_interval_of_the_chosen_configurations_seeds(study, tmp_path):
    import pandas as pd

    from mlib.experiments import grid

    folder = tmp_path / "casme2" / "grid"
    rows = []
    for config_id, (lr, seed, val, test) in enumerate([(0.1, 0, 0.9, 0.25), (0.1, 1, 0.8, 0.5), (0.01, 0, 0.5, 0.75)]):
        run = _run(folder / f"run{config_id}", test)
        rows.append(
            {
                "config_id": config_id,
                "train.lr": lr,
                "train.seed": seed,
                "status": "done",
                "origin": "",
                "val_rank1": val,
                "val_rank5": 1.0,
                "test_rank1": test,
                "test_rank5": 1.0,
                "checkpoint_epoch": 1,
                "seconds": 1.0,
                "run_dir": run.name,
                "message": "",
            }
        )
    pd.DataFrame(rows).to_csv(folder / "grid.csv", index=False)
    study.corpus("casme2").paths["grid"] = str(folder)
    table = grid.load_grid_table(folder)
    assert table2.chosen_runs(table, grid.select_configuration(table, "val"), folder) == [
        folder / "run0",
        folder / "run1",
    ]
    shown = table2.beside_ours(study, "casme2")
    picked = shown[shown["model"].str.startswith("SlowFast, grid")].set_index("chosen by")[results.CI]
    seeds = [metrics.hierarchical_bootstrap_draws([i < round(8 * r) for i in range(8)], SUBJECTS) for r in (0.25, 0.5)]
    assert picked.iloc[0] == results.interval(dict(zip(("ci_low", "ci_high"), metrics.pooled_interval(seeds))))
    assert picked.iloc[1] == _hierarchical(0.75)  # the test pick: one seed


def test_the_claims_table_names_columns_in_words_and_links_the_evidence_page():
    import pandas as pd

    table = pd.DataFrame(
        [
            {
                "corpus": "casme2",
                "key": "table2",
                "claim": "rank-1 <90 %",
                "verdict": "reproduced",
                "evidence": "a & b",
                "page": "executed/02-train-casme2.ipynb",
            }
        ]
    )
    shown = results.claims_html(table)
    assert "table2" not in shown and ">key<" not in shown and "&lt;90 %" in shown and "a &amp; b" in shown
    assert '<a href="02-train-casme2.html">02-train-casme2</a>' in shown and "evidence page" in shown
    assert '<a href="executed/02-train-casme2.html">' in results.claims_html(table, here=".")
