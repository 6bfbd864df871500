"""The results summary reads runs' files and the paper's numbers, and labels each row's source."""

import json
from pathlib import Path

import pytest

from mlib import paper, results
from mlib.manifest import StudyManifest


def _run(folder, rank1, low, high, chance=0.25, **extra):
    folder.mkdir(parents=True)
    test = {"rank1": rank1, "rank1_ci95": [low, high], "chance": chance, "rank5": 1.0, "n_clips": 8, "n_subjects": 4}
    (folder / "metrics.json").write_text(json.dumps({"test": test, **extra}))
    return folder


@pytest.fixture
def study(tmp_path):
    train = _run(tmp_path / "casme2" / "runs" / "abc", 0.5, 0.25, 0.75)
    _run(tmp_path / "casme2" / "baseline" / "baseline-lgbp-1", 0.875, 0.625, 1.0, feature_set="lgbp")
    motion = _run(tmp_path / "motion" / "runs" / "def", 0.25, 0.0, 0.5)
    manifest = tmp_path / "study.json"
    manifest.write_text(json.dumps({"profile": "t", "data": "synthetic", "config": {}, "variants": [
        {"name": "casme2", "dataset": "casme2", "root": "r", "mode": "identity",
         "paths": {"train": str(train), "baseline": str(tmp_path / "casme2" / "baseline")}},
        {"name": "casme2-motion-only", "dataset": "casme2", "root": "r2", "mode": "motion-only",
         "paths": {"train": str(motion)}},
    ]}))
    return StudyManifest.load(manifest)


def test_single_dataset_table_sets_the_runs_beside_the_paper(study):
    table = results.single_dataset_table(study, "casme2").set_index("model")
    assert table.loc["SlowFast, single model (Table 2)", "rank-1"] == results.percent(paper.TABLE2_RANK1["casme2"])
    assert table.loc["SlowFast, single model (Table 2)", "source"] == results.PAPER
    ours = table.loc["SlowFast, the paper's Table 1 configuration"]
    assert (ours["rank-1"], ours["95 % CI"], ours["source"]) == ("50.0 %", "[25.0, 75.0]", "ours (synthetic casme2)")
    assert table.loc["baseline SVM on lgbp", "rank-1"] == "87.5 %"


def test_motion_only_table_has_both_corpora_with_chance(study):
    table = results.motion_only_table(study)
    assert list(table["corpus"]) == ["casme2", "casme2", "casme2-motion-only"]
    assert table.iloc[-1][["faces", "rank-1", "chance"]].tolist() == ["one shared face", "25.0 %", "25.0 %"]


def test_unfinished_run_and_missing_manifest_are_named(study, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json: no study manifest"):
        StudyManifest.load(tmp_path / "nothing.json")
    with pytest.raises(FileNotFoundError, match="metrics.json: no metrics"):
        results.test_rank1(tmp_path / "missing-run")


def test_write_archive_keeps_tables_and_metrics_and_leaves_out_arrays_models_and_images(tmp_path):
    import zipfile

    from mlib.results import write_archive

    results = tmp_path / "results"
    for name in ["study.json", "casme2/runs/a/metrics.json", "casme2/runs/a/predictions.csv",
                 "casme2/runs/a/config.yaml", "casme2/runs/a/checkpoints/last.pt", "casme2/gradcam/maps.npy",
                 "casme2/gradcam/face.png", "casme2/preprocess/clip.mp4"]:
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text("x")
    names = write_archive(results, tmp_path / "out" / "results.zip")
    with zipfile.ZipFile(tmp_path / "out" / "results.zip") as archive:
        assert sorted(archive.namelist()) == names
    assert names == ["casme2/runs/a/config.yaml", "casme2/runs/a/metrics.json", "casme2/runs/a/predictions.csv",
                     "study.json"]


def test_provenance_note_names_runs_and_a_hash_that_follows_the_configuration(tmp_path):
    from mlib.results import provenance_note

    for name, text in [("a", "lr: 1"), ("b", "lr: 1"), ("c", "lr: 2")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(text)
    notes = [provenance_note([tmp_path / name]) for name in "abc"]
    hashes = [note.split("configuration ")[1][:12] for note in notes]
    assert hashes[0] == hashes[1] != hashes[2] and str(tmp_path / "a") in notes[0]
    assert "no configuration file" in provenance_note([tmp_path / "missing"])



def test_provenance_note_hashes_files_names_inputs_and_links_the_source_notebook(tmp_path):
    import yaml

    from mlib.results import REPOSITORY_URL, provenance_note

    split = tmp_path / "split.csv"
    split.write_text("clip,part\n")
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "grid-spec.yaml").write_text("seeds: [0]")
    note = provenance_note([split, tmp_path / "grid"], source="notebooks/04-grid-search.py", inputs=["repo@abc:Output/x"])
    assert f"`{split}` (content " in note and "configuration no configuration file" not in note
    assert "`repo@abc:Output/x`" in note
    assert note.endswith(f"Source: [notebooks/04-grid-search.py]({REPOSITORY_URL}/blob/HEAD/notebooks/04-grid-search.py).")
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "_config.yml").read_text())
    assert REPOSITORY_URL == config["repository"]["url"]
    assert "Source" not in provenance_note([split])
